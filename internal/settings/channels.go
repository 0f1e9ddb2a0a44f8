package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strings"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// Channels configures how each platform reaches this assistant. Secrets are write-only: the
// API shows `"<name>_set": true` in their place, and ignores those markers when they are sent
// back, so a client can PATCH what it read.
type Channels struct {
	Telegram *Telegram `json:"telegram,omitempty"`
	Slack    *Slack    `json:"slack,omitempty"`
	WhatsApp *WhatsApp `json:"whatsapp,omitempty"`
	Widget   *Widget   `json:"widget,omitempty"`
}

// Telegram is a Telegram bot (Bot API): replies go to {api_base_url}/bot{bot_token}/sendMessage.
type Telegram struct {
	BotToken    string `json:"bot_token,omitempty" secret:"true"`
	SecretToken string `json:"secret_token,omitempty" secret:"true"`
	APIBaseURL  string `json:"api_base_url,omitempty"`
}

// Slack is a Slack app (Events API): replies go to {api_base_url}/chat.postMessage.
type Slack struct {
	SigningSecret string `json:"signing_secret,omitempty" secret:"true"`
	BotToken      string `json:"bot_token,omitempty" secret:"true"`
	APIBaseURL    string `json:"api_base_url,omitempty"`
}

// WhatsApp is a WhatsApp Cloud API number: replies go to {api_base_url}/{phone_number_id}/messages.
type WhatsApp struct {
	AppSecret     string `json:"app_secret,omitempty" secret:"true"`
	VerifyToken   string `json:"verify_token,omitempty" secret:"true"`
	AccessToken   string `json:"access_token,omitempty" secret:"true"`
	PhoneNumberID string `json:"phone_number_id,omitempty"`
	APIBaseURL    string `json:"api_base_url,omitempty"`
}

// Widget is the web chat widget.
type Widget struct {
	// AllowedOrigins lists the sites (scheme://host[:port]) that may embed the widget; empty
	// allows any.
	AllowedOrigins []string `json:"allowed_origins"`
}

// Default platform API base URLs.
const (
	DefaultTelegramAPI = "https://api.telegram.org"
	DefaultSlackAPI    = "https://slack.com/api"
	DefaultWhatsAppAPI = "https://graph.facebook.com/v21.0"
)

// secretKeys names the secret fields of each channel, as in JSON.
var secretKeys = map[string][]string{
	"telegram": {"bot_token", "secret_token"},
	"slack":    {"signing_secret", "bot_token"},
	"whatsapp": {"app_secret", "verify_token", "access_token"},
}

// strictDecode decodes raw into dst refusing unknown keys, naming the key in the error.
func strictDecode(field string, raw json.RawMessage, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		msg := err.Error()
		if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
			return cv.Invalid(field+"."+strings.Trim(name, `"`), "unknown setting")
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return cv.Invalid(field+"."+te.Field, "has the wrong type")
		}
		return cv.Invalid(field, "has the wrong type")
	}
	return nil
}

// parseChannels reads the channels object, dropping the *_set markers the API shows.
func parseChannels(raw json.RawMessage) (Channels, error) {
	var c Channels
	var m map[string]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return c, cv.Invalid("channels", "must be an object of channel objects")
	}
	for name, fields := range m {
		for k := range fields {
			if strings.HasSuffix(k, "_set") {
				delete(fields, k)
			}
		}
		b, _ := json.Marshal(fields)
		var dst any
		switch name {
		case "telegram":
			c.Telegram = &Telegram{}
			dst = c.Telegram
		case "slack":
			c.Slack = &Slack{}
			dst = c.Slack
		case "whatsapp":
			c.WhatsApp = &WhatsApp{}
			dst = c.WhatsApp
		case "widget":
			c.Widget = &Widget{}
			dst = c.Widget
		default:
			return c, cv.Invalid("channels."+name, "unknown channel (telegram, slack, whatsapp, widget)")
		}
		if err := strictDecode("channels."+name, b, dst); err != nil {
			return c, err
		}
	}
	return c, c.validate()
}

func (c *Channels) validate() error {
	for field, u := range map[string]string{
		"channels.telegram.api_base_url": apiBase(c.Telegram), "channels.slack.api_base_url": apiBaseSlack(c.Slack),
		"channels.whatsapp.api_base_url": apiBaseWhatsApp(c.WhatsApp),
	} {
		if u == "" {
			continue
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return cv.Invalid(field, "must be an http(s) URL")
		}
	}
	if c.Widget != nil {
		for i, o := range c.Widget.AllowedOrigins {
			p, err := url.Parse(o)
			if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || (p.Path != "" && p.Path != "/") {
				return cv.Invalid("channels.widget.allowed_origins", "entry %d must be an origin such as https://shop.example.com", i)
			}
		}
	}
	return nil
}

func apiBase(t *Telegram) string {
	if t == nil {
		return ""
	}
	return t.APIBaseURL
}

func apiBaseSlack(s *Slack) string {
	if s == nil {
		return ""
	}
	return s.APIBaseURL
}

func apiBaseWhatsApp(w *WhatsApp) string {
	if w == nil {
		return ""
	}
	return w.APIBaseURL
}

// redactChannels replaces every secret in a channels object (as a generic JSON map) by a
// "<name>_set": true marker.
func redactChannels(m map[string]any) {
	for name, keys := range secretKeys {
		ch, ok := m[name].(map[string]any)
		if !ok {
			continue
		}
		for _, k := range keys {
			v, _ := ch[k].(string)
			delete(ch, k)
			ch[k+"_set"] = v != ""
		}
	}
}
