// Package whatsapp connects a WhatsApp Cloud API number to Parley: the webhook (its GET
// subscription handshake and the POSTed notifications) and the Sender that answers through
// the messages endpoint.
//
// A notification is checked against X-Hub-Signature-256 ("sha256=" + hex HMAC-SHA256 of the
// raw body with the app secret) before it is parsed. One conversation per sender (external_id:
// the sender's wa_id, its phone number without "+"); a message's external_id is its wamid, so
// Meta's retries store nothing twice. Delivery statuses of our replies (sent, delivered,
// read, failed) become log events in the recipient's conversation.
package whatsapp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/channel"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/settings"
)

// Pattern is the webhook's route (GET: the handshake; POST: notifications).
const Pattern = "/channels/whatsapp/{assistant_id}"

// SignatureHeader carries the body's signature.
const SignatureHeader = "X-Hub-Signature-256"

// Handler is the webhook.
type Handler struct{ o channel.Options }

// NewHandler returns the webhook handler.
func NewHandler(o channel.Options) *Handler { return &Handler{o: o.WithDefaults()} }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		channel.WriteError(w, http.StatusMethodNotAllowed, api.CodeMethodNotAllowed, "Method "+r.Method+" is not allowed here; allowed: GET, POST.")
		return
	}
	assistantID := r.PathValue("assistant_id")
	st, err := channel.LoadSettings(r.Context(), h.o.Store, assistantID)
	if err != nil {
		h.o.Fail(w, r, cv.SourceWhatsApp, err)
		return
	}
	wa := st.Channels.WhatsApp
	if r.Method == http.MethodGet {
		h.handshake(w, r, wa)
		return
	}
	if wa == nil || wa.AppSecret == "" {
		channel.NotFound(w)
		return
	}
	if r.Header.Get(SignatureHeader) == "" {
		channel.Unauthorized(w, "Missing "+SignatureHeader+".")
		return
	}
	body, err := channel.ReadBody(w, r, h.o.MaxBodyBytes)
	if err != nil {
		h.o.Fail(w, r, cv.SourceWhatsApp, err)
		return
	}
	if !Verify(wa.AppSecret, r.Header.Get(SignatureHeader), body) {
		channel.Unauthorized(w, "Wrong "+SignatureHeader+".")
		return
	}
	actions, err := Parse(body, wa.PhoneNumberID, h.o.Now())
	if err != nil {
		channel.WriteError(w, http.StatusBadRequest, api.CodeBadRequest, "The body is not a WhatsApp webhook notification: "+err.Error())
		return
	}
	if err := h.o.Apply(r.Context(), cv.SourceWhatsApp, assistantID, st, actions); err != nil {
		h.o.Fail(w, r, cv.SourceWhatsApp, err)
		return
	}
	channel.OK(w)
}

// handshake answers Meta's subscription check: hub.mode=subscribe with our verify token
// gets hub.challenge back, as plain text.
func (h *Handler) handshake(w http.ResponseWriter, r *http.Request, wa *settings.WhatsApp) {
	if wa == nil || wa.VerifyToken == "" {
		channel.NotFound(w)
		return
	}
	q := r.URL.Query()
	if q.Get("hub.mode") != "subscribe" || q.Get("hub.challenge") == "" {
		channel.WriteError(w, http.StatusBadRequest, api.CodeBadRequest, "Expected hub.mode=subscribe with hub.verify_token and hub.challenge.")
		return
	}
	g, want := sha256.Sum256([]byte(q.Get("hub.verify_token"))), sha256.Sum256([]byte(wa.VerifyToken))
	if subtle.ConstantTimeCompare(g[:], want[:]) != 1 {
		channel.Unauthorized(w, "Wrong hub.verify_token.")
		return
	}
	challenge := q.Get("hub.challenge")
	if len(challenge) > 1024 {
		channel.WriteError(w, http.StatusBadRequest, api.CodeBadRequest, "hub.challenge is too long.")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write([]byte(challenge))
}

// Verify checks a body's X-Hub-Signature-256 value.
func Verify(appSecret, header string, body []byte) bool {
	got, ok := strings.CutPrefix(header, "sha256=")
	sig, err := hex.DecodeString(got)
	if !ok || err != nil {
		return false
	}
	return hmac.Equal(sig, Sign(appSecret, body))
}

// Sign returns the HMAC-SHA256 of body with the app secret.
func Sign(appSecret string, body []byte) []byte {
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return mac.Sum(nil)
}

// ---- the notification, as far as Parley reads it ----

type notification struct {
	Object string `json:"object"`
	Entry  []struct {
		Changes []struct {
			Field string `json:"field"`
			Value value  `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

type value struct {
	Metadata struct {
		PhoneNumberID string `json:"phone_number_id"`
	} `json:"metadata"`
	Contacts []struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
		WaID string `json:"wa_id"`
	} `json:"contacts"`
	Messages []message `json:"messages"`
	Statuses []status  `json:"statuses"`
}

type media struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
	URL      string `json:"url"`
	Voice    bool   `json:"voice"`
}

type apiError struct {
	Code      int    `json:"code"`
	Title     string `json:"title"`
	Message   string `json:"message"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

type message struct {
	From      string `json:"from"`
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"`
	Type      string `json:"type"`
	Text      *struct {
		Body string `json:"body"`
	} `json:"text"`
	Image    *media `json:"image"`
	Video    *media `json:"video"`
	Document *media `json:"document"`
	Audio    *media `json:"audio"`
	Sticker  *media `json:"sticker"`
	Location *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
		Name      string  `json:"name"`
		Address   string  `json:"address"`
		URL       string  `json:"url"`
	} `json:"location"`
	Contacts []struct {
		Name struct {
			FormattedName string `json:"formatted_name"`
		} `json:"name"`
		Phones []struct {
			Phone string `json:"phone"`
		} `json:"phones"`
	} `json:"contacts"`
	Interactive *struct {
		Type        string `json:"type"`
		ButtonReply *struct {
			Title string `json:"title"`
		} `json:"button_reply"`
		ListReply *struct {
			Title       string `json:"title"`
			Description string `json:"description"`
		} `json:"list_reply"`
		NfmReply *struct {
			ResponseJSON string `json:"response_json"`
			Body         string `json:"body"`
			Name         string `json:"name"`
		} `json:"nfm_reply"`
	} `json:"interactive"`
	Button *struct {
		Text string `json:"text"`
	} `json:"button"`
	Order *struct {
		Text string `json:"text"`
	} `json:"order"`
	RawOrder    json.RawMessage `json:"-"`
	Unsupported *struct {
		Type string `json:"type"`
	} `json:"unsupported"`
	Edit *struct {
		OriginalMessageID string   `json:"original_message_id"`
		Message           *message `json:"message"`
	} `json:"edit"`
	Revoke *struct {
		OriginalMessageID string `json:"original_message_id"`
	} `json:"revoke"`
	System *struct {
		Type string `json:"type"`
	} `json:"system"`
}

type status struct {
	ID            string     `json:"id"`
	Status        string     `json:"status"`
	Timestamp     string     `json:"timestamp"`
	RecipientID   string     `json:"recipient_id"`
	RecipientType string     `json:"recipient_type"`
	Errors        []apiError `json:"errors"`
}

// Parse turns a notification into what Parley does with it. phoneNumberID, when set, is the
// assistant's number: changes for other numbers of the same Meta app are not ours. now
// bounds message times.
func Parse(body []byte, phoneNumberID string, now time.Time) ([]channel.Action, error) {
	var n notification
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, errors.New("not a notification object")
	}
	if n.Object != "whatsapp_business_account" {
		return []channel.Action{channel.Ignored("notification for object %q", n.Object)}, nil
	}
	var out []channel.Action
	for _, e := range n.Entry {
		for _, ch := range e.Changes {
			v := &ch.Value
			switch {
			case ch.Field != "messages":
				out = append(out, channel.Ignored("%s notification", ch.Field))
			case phoneNumberID != "" && v.Metadata.PhoneNumberID != "" && v.Metadata.PhoneNumberID != phoneNumberID:
				out = append(out, channel.Ignored("notification for another phone number (%s)", v.Metadata.PhoneNumberID))
			case len(v.Messages) == 0 && len(v.Statuses) == 0:
				out = append(out, channel.Ignored("messages notification without messages or statuses"))
			default:
				for i := range v.Messages {
					out = append(out, v.message(&v.Messages[i], now))
				}
				for i := range v.Statuses {
					out = append(out, statusAction(&v.Statuses[i]))
				}
			}
		}
	}
	if len(out) == 0 {
		out = append(out, channel.Ignored("notification without changes"))
	}
	return out, nil
}

// visitor returns the sender's profile name from the notification's contacts.
func (v *value) visitor(waID string) *string {
	for _, c := range v.Contacts {
		if c.WaID == waID || len(v.Contacts) == 1 {
			return channel.Short(c.Profile.Name)
		}
	}
	return nil
}

func (v *value) message(m *message, now time.Time) channel.Action {
	if m.From == "" || m.ID == "" {
		return channel.Ignored("%s message without a sender or an id", m.Type)
	}
	name := v.visitor(m.From)
	switch m.Type {
	case "edit":
		if m.Edit == nil || m.Edit.OriginalMessageID == "" || m.Edit.Message == nil {
			return channel.Ignored("edit without the original message")
		}
		text, _, _ := content(m.Edit.Message)
		if text == "" {
			return channel.Ignored("edit without text")
		}
		return channel.Action{Kind: channel.Edit, MessageExternalID: m.Edit.OriginalMessageID, Content: text, Actor: channel.Visitor(name)}
	case "revoke":
		if m.Revoke == nil || m.Revoke.OriginalMessageID == "" {
			return channel.Ignored("revoke without the original message")
		}
		return channel.Action{Kind: channel.Delete, MessageExternalID: m.Revoke.OriginalMessageID, Actor: channel.Visitor(name)}
	}
	text, atts, ignore := content(m)
	if ignore != "" {
		return channel.Ignored("%s", ignore)
	}
	from := m.From
	conv := cv.NewConversation{Source: cv.SourceWhatsApp, ExternalID: &from, VisitorName: name, VisitorPhoneNumber: phone(from)}
	sec, _ := strconv.ParseFloat(m.Timestamp, 64)
	return channel.VisitorMessage(conv, m.ID, text, atts, channel.At(sec, now))
}

// phone is a wa_id as an E.164 number.
func phone(waID string) *string {
	for _, r := range waID {
		if r < '0' || r > '9' {
			return nil
		}
	}
	return channel.Short("+" + waID)
}

// content is a message's text and attachments, or why it is not a visitor's message.
func content(m *message) (string, []channel.Attachment, string) {
	mediaAtt := func(typ string, md *media, name string) []channel.Attachment {
		if md == nil {
			return nil
		}
		return []channel.Attachment{{Type: typ, Name: channel.Str(name), MimeType: channel.Str(md.MimeType), FileID: md.ID, URL: md.URL}}
	}
	switch m.Type {
	case "text":
		if m.Text == nil {
			return "", nil, "text message without text"
		}
		return m.Text.Body, nil, ""
	case "image", "video", "document", "audio", "sticker":
		md := map[string]*media{"image": m.Image, "video": m.Video, "document": m.Document, "audio": m.Audio, "sticker": m.Sticker}[m.Type]
		if md == nil || md.ID == "" && md.URL == "" {
			return "", nil, m.Type + " message without the media"
		}
		typ := m.Type
		if typ == "audio" && md.Voice {
			typ = "voice"
		}
		return md.Caption, mediaAtt(typ, md, md.Filename), ""
	case "location":
		l := m.Location
		if l == nil {
			return "", nil, "location message without the location"
		}
		return "", []channel.Attachment{{Type: "location", Name: channel.Str(l.Name), Address: l.Address, URL: l.URL,
			Latitude: channel.Num(l.Latitude), Longitude: channel.Num(l.Longitude)}}, ""
	case "contacts":
		var atts []channel.Attachment
		for _, c := range m.Contacts {
			a := channel.Attachment{Type: "contact", Name: channel.Str(c.Name.FormattedName)}
			if len(c.Phones) > 0 {
				a.Phone = c.Phones[0].Phone
			}
			atts = append(atts, a)
		}
		if len(atts) == 0 {
			return "", nil, "contacts message without contacts"
		}
		return "", atts, ""
	case "interactive":
		in := m.Interactive
		switch {
		case in == nil:
			return "", nil, "interactive message without content (WhatsApp reported an error)"
		case in.ButtonReply != nil:
			return in.ButtonReply.Title, nil, ""
		case in.ListReply != nil:
			return in.ListReply.Title, nil, ""
		case in.NfmReply != nil:
			a := channel.Attachment{Type: "form_response", Name: channel.Str(in.NfmReply.Name)}
			if json.Valid([]byte(in.NfmReply.ResponseJSON)) {
				a.Details = json.RawMessage(in.NfmReply.ResponseJSON)
			}
			return in.NfmReply.Body, []channel.Attachment{a}, ""
		}
		return "", nil, fmt.Sprintf("interactive %s reply", in.Type)
	case "button":
		if m.Button == nil {
			return "", nil, "button message without the button"
		}
		return m.Button.Text, nil, ""
	case "order":
		if m.Order == nil {
			return "", nil, "order message without the order"
		}
		return m.Order.Text, []channel.Attachment{{Type: "order", Details: m.RawOrder}}, ""
	case "unsupported":
		name := ""
		if m.Unsupported != nil {
			name = m.Unsupported.Type
		}
		return "", []channel.Attachment{{Type: "unsupported", Name: channel.Str(name)}}, ""
	case "reaction":
		return "", nil, "a reaction"
	case "system":
		kind := ""
		if m.System != nil {
			kind = m.System.Type
		}
		return "", nil, "system notice " + kind
	}
	return "", nil, fmt.Sprintf("message type %q", m.Type)
}

// UnmarshalJSON keeps an order's own JSON beside the parsed fields.
func (m *message) UnmarshalJSON(b []byte) error {
	type plain message
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	var raw struct {
		Order json.RawMessage `json:"order"`
	}
	_ = json.Unmarshal(b, &raw)
	*m = message(p)
	if len(raw.Order) > 0 && string(raw.Order) != "null" {
		m.RawOrder = raw.Order
	}
	return nil
}

func statusAction(s *status) channel.Action {
	if s.ID == "" || s.Status == "" || s.RecipientID == "" {
		return channel.Ignored("status without a message, status or recipient")
	}
	if s.RecipientType != "" && s.RecipientType != "individual" {
		return channel.Ignored("status of a %s message", s.RecipientType)
	}
	details := map[string]any{"platform_message_id": s.ID, "status": s.Status, "channel": cv.SourceWhatsApp}
	if sec, err := strconv.ParseInt(s.Timestamp, 10, 64); err == nil && sec > 0 {
		details["timestamp"] = time.Unix(sec, 0).UTC().Format(time.RFC3339)
	}
	l := cv.Log{Kind: cv.LogDelivery, Actor: cv.Actor{Type: "system"}, Content: "WhatsApp: message " + s.Status, Details: details}
	if s.Status == "failed" {
		l.Kind = cv.LogDeliveryErr
		var msgs []string
		var errs []map[string]any
		for _, e := range s.Errors {
			text := e.Title
			if e.ErrorData.Details != "" {
				text += ": " + e.ErrorData.Details
			}
			msgs = append(msgs, text)
			errs = append(errs, map[string]any{"code": e.Code, "title": e.Title, "details": e.ErrorData.Details})
		}
		l.Content = "WhatsApp could not deliver a message"
		if len(msgs) > 0 {
			l.Content += ": " + strings.Join(msgs, "; ")
			details["errors"] = errs
			details["error"] = strings.Join(msgs, "; ")
		}
	}
	return channel.Action{Kind: channel.Log, ConversationExternalID: s.RecipientID, Log: l, LogExternalID: "status:" + s.ID + ":" + s.Status}
}

// ---- replies ----

// Sender sends replies with the Cloud API's messages endpoint.
type Sender struct{ Client *http.Client }

// NewSender returns a Sender on client (nil: channel.DefaultClient).
func NewSender(client *http.Client) Sender { return Sender{Client: client} }

// Source is whatsapp.
func (Sender) Source() string { return cv.SourceWhatsApp }

// rateLimited are Cloud API error codes worth retrying.
var rateLimited = map[int]bool{4: true, 80007: true, 130429: true, 131048: true, 131056: true, 133016: true}

// Send posts text to the conversation's sender.
func (s Sender) Send(ctx context.Context, c *cv.Conversation, ch settings.Channels, text string) error {
	wa := ch.WhatsApp
	if wa == nil || wa.AccessToken == "" && wa.AppSecret == "" {
		return channel.ErrNotConfigured
	}
	if wa.AccessToken == "" || wa.PhoneNumberID == "" {
		return jobs.Permanent(errors.New("whatsapp: the access_token or phone_number_id is not set"))
	}
	if c.ExternalID == nil {
		return jobs.Permanent(errors.New("whatsapp: the conversation is no longer linked to a sender"))
	}
	base := wa.APIBaseURL
	if base == "" {
		base = settings.DefaultWhatsAppAPI
	}
	url := strings.TrimRight(base, "/") + "/" + wa.PhoneNumberID + "/messages"
	body := map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual", "to": *c.ExternalID,
		"type": "text", "text": map[string]any{"body": text}}
	status, rb, err := channel.PostJSON(ctx, s.Client, url, wa.AccessToken, body)
	if err != nil {
		return err
	}
	if status >= 200 && status < 300 {
		return nil
	}
	var res struct {
		Error struct {
			Message   string `json:"message"`
			Code      int    `json:"code"`
			ErrorData struct {
				Details string `json:"details"`
			} `json:"error_data"`
		} `json:"error"`
	}
	msg := channel.Trim(rb)
	if json.Unmarshal(rb, &res) == nil && res.Error.Message != "" {
		msg = fmt.Sprintf("%s (code %d)", res.Error.Message, res.Error.Code)
		if res.Error.ErrorData.Details != "" {
			msg += ": " + res.Error.ErrorData.Details
		}
		if rateLimited[res.Error.Code] {
			status = http.StatusTooManyRequests
		}
	}
	return channel.Refused(cv.SourceWhatsApp, status, msg)
}
