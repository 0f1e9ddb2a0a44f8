// Package telegram connects a Telegram bot (Bot API) to Parley: the webhook that Telegram
// calls with each Update, and the Sender that answers through sendMessage.
//
// Telegram does not sign bodies; the secret_token given to setWebhook comes back in the
// X-Telegram-Bot-Api-Secret-Token header of every call, and is checked (in constant time)
// before the body is read. One conversation per Telegram chat (external_id: the chat id);
// each message's external_id is "<chat id>:<message id>", so a redelivered update stores
// nothing twice.
package telegram

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/channel"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/settings"
)

// Pattern is the webhook's route.
const Pattern = "POST /channels/telegram/{assistant_id}"

// SecretHeader carries the setWebhook secret_token.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// Handler is the webhook.
type Handler struct{ o channel.Options }

// NewHandler returns the webhook handler.
func NewHandler(o channel.Options) *Handler { return &Handler{o: o.WithDefaults()} }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	assistantID := r.PathValue("assistant_id")
	st, err := channel.LoadSettings(r.Context(), h.o.Store, assistantID)
	if err != nil {
		h.o.Fail(w, r, cv.SourceTelegram, err)
		return
	}
	tg := st.Channels.Telegram
	if tg == nil || tg.SecretToken == "" {
		channel.NotFound(w)
		return
	}
	if !sameSecret(r.Header.Get(SecretHeader), tg.SecretToken) {
		channel.Unauthorized(w, "Missing or wrong "+SecretHeader+".")
		return
	}
	body, err := channel.ReadBody(w, r, h.o.MaxBodyBytes)
	if err != nil {
		h.o.Fail(w, r, cv.SourceTelegram, err)
		return
	}
	actions, err := Parse(body, h.o.Now())
	if err != nil {
		channel.WriteError(w, http.StatusBadRequest, api.CodeBadRequest, "The body is not a Telegram Update: "+err.Error())
		return
	}
	if err := h.o.Apply(r.Context(), cv.SourceTelegram, assistantID, st, actions); err != nil {
		h.o.Fail(w, r, cv.SourceTelegram, err)
		return
	}
	channel.OK(w)
}

// sameSecret compares in constant time (hashing first, so that not even the length leaks).
func sameSecret(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return got != "" && subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// ---- the Update, as far as Parley reads it ----

type user struct {
	ID        int64  `json:"id"`
	IsBot     bool   `json:"is_bot"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Username  string `json:"username"`
}

type chat struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Title     string `json:"title"`
	Username  string `json:"username"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

type file struct {
	FileID    string  `json:"file_id"`
	FileName  string  `json:"file_name"`
	MimeType  string  `json:"mime_type"`
	FileSize  int64   `json:"file_size"`
	Duration  float64 `json:"duration"`
	Title     string  `json:"title"`
	Performer string  `json:"performer"`
	Emoji     string  `json:"emoji"`
	Width     int     `json:"width"`
	Height    int     `json:"height"`
}

type location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

type message struct {
	MessageID int64  `json:"message_id"`
	From      *user  `json:"from"`
	Chat      *chat  `json:"chat"`
	Date      int64  `json:"date"`
	Text      string `json:"text"`
	Caption   string `json:"caption"`

	Photo     []file    `json:"photo"`
	Audio     *file     `json:"audio"`
	Voice     *file     `json:"voice"`
	Document  *file     `json:"document"`
	Video     *file     `json:"video"`
	VideoNote *file     `json:"video_note"`
	Animation *file     `json:"animation"`
	Sticker   *file     `json:"sticker"`
	Location  *location `json:"location"`
	Venue     *struct {
		Location location `json:"location"`
		Title    string   `json:"title"`
		Address  string   `json:"address"`
	} `json:"venue"`
	Contact *struct {
		PhoneNumber string `json:"phone_number"`
		FirstName   string `json:"first_name"`
		LastName    string `json:"last_name"`
	} `json:"contact"`
}

// Parse turns an Update into what Parley does with it. now bounds message times.
func Parse(body []byte, now time.Time) ([]channel.Action, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, errors.New("not a JSON object")
	}
	if _, ok := raw["update_id"]; !ok {
		return nil, errors.New("no update_id")
	}
	kind := ""
	for _, k := range []string{"message", "edited_message"} {
		if v, ok := raw[k]; ok && !isNull(v) {
			kind = k
			break
		}
	}
	if kind == "" {
		keys := make([]string, 0, len(raw))
		for k := range raw {
			if k != "update_id" {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		return []channel.Action{channel.Ignored("update %s is not a message", strings.Join(keys, ","))}, nil
	}
	var m message
	if err := json.Unmarshal(raw[kind], &m); err != nil {
		return nil, errors.New(kind + ": " + err.Error())
	}
	if m.Chat == nil || m.MessageID == 0 {
		return []channel.Action{channel.Ignored("%s without a chat or a message_id", kind)}, nil
	}
	if m.From != nil && m.From.IsBot {
		return []channel.Action{channel.Ignored("%s from a bot", kind)}, nil
	}
	chatID := strconv.FormatInt(m.Chat.ID, 10)
	msgID := chatID + ":" + strconv.FormatInt(m.MessageID, 10)
	name, label := visitor(m.From, m.Chat)
	content := m.Text
	if content == "" {
		content = m.Caption
	}
	if kind == "edited_message" {
		if content == "" {
			return []channel.Action{channel.Ignored("edited_message without text (new media)")}, nil
		}
		return []channel.Action{{Kind: channel.Edit, MessageExternalID: msgID, Content: content, Actor: channel.Visitor(name)}}, nil
	}
	atts := attachments(&m)
	if content == "" && len(atts) == 0 {
		return []channel.Action{channel.Ignored("message without text or media (a service message)")}, nil
	}
	conv := cv.NewConversation{Source: cv.SourceTelegram, ExternalID: &chatID, VisitorName: name, VisitorLabel: label}
	return []channel.Action{channel.VisitorMessage(conv, msgID, content, atts, channel.At(float64(m.Date), now))}, nil
}

func isNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

// visitor names the person writing: the sender's profile name, else the chat's.
func visitor(from *user, c *chat) (name, label *string) {
	var first, last, username string
	if from != nil {
		first, last, username = from.FirstName, from.LastName, from.Username
	} else if c != nil {
		first, last, username = c.FirstName, c.LastName, c.Username
		if first == "" && last == "" {
			first = c.Title
		}
	}
	full := strings.TrimSpace(first + " " + last)
	if full == "" {
		full = username
	}
	name = channel.Short(full)
	if username != "" {
		label = channel.Short("@" + username)
	}
	return name, label
}

func attachments(m *message) []channel.Attachment {
	var out []channel.Attachment
	media := func(typ string, f *file, name string) {
		if f == nil || f.FileID == "" {
			return
		}
		a := channel.Attachment{Type: typ, Name: channel.Str(name), Size: channel.Size(f.FileSize), MimeType: channel.Str(f.MimeType), FileID: f.FileID}
		if f.Duration > 0 {
			a.Duration = channel.Num(f.Duration)
		}
		out = append(out, a)
	}
	if n := len(m.Photo); n > 0 {
		// Telegram sends every size of a photo, smallest first: keep the largest.
		media("image", &m.Photo[n-1], "")
	}
	if m.Audio != nil {
		name := m.Audio.FileName
		if name == "" {
			var parts []string
			for _, p := range []string{m.Audio.Performer, m.Audio.Title} {
				if p = strings.TrimSpace(p); p != "" {
					parts = append(parts, p)
				}
			}
			name = strings.Join(parts, " - ")
		}
		media("audio", m.Audio, name)
	}
	media("voice", m.Voice, "")
	if m.Document != nil {
		media("document", m.Document, m.Document.FileName)
	}
	if m.Video != nil {
		media("video", m.Video, m.Video.FileName)
	}
	media("video_note", m.VideoNote, "")
	if m.Animation != nil {
		media("animation", m.Animation, m.Animation.FileName)
	}
	if m.Sticker != nil {
		media("sticker", m.Sticker, m.Sticker.Emoji)
	}
	switch {
	case m.Venue != nil:
		out = append(out, channel.Attachment{Type: "location", Name: channel.Str(m.Venue.Title), Address: m.Venue.Address,
			Latitude: channel.Num(m.Venue.Location.Latitude), Longitude: channel.Num(m.Venue.Location.Longitude)})
	case m.Location != nil:
		out = append(out, channel.Attachment{Type: "location", Latitude: channel.Num(m.Location.Latitude), Longitude: channel.Num(m.Location.Longitude)})
	}
	if c := m.Contact; c != nil {
		out = append(out, channel.Attachment{Type: "contact", Name: channel.Str(strings.TrimSpace(c.FirstName + " " + c.LastName)), Phone: c.PhoneNumber})
	}
	return out
}

// ---- replies ----

// Sender sends replies with sendMessage.
type Sender struct{ Client *http.Client }

// NewSender returns a Sender on client (nil: channel.DefaultClient).
func NewSender(client *http.Client) Sender { return Sender{Client: client} }

// Source is telegram.
func (Sender) Source() string { return cv.SourceTelegram }

// Send posts text to the conversation's chat.
func (s Sender) Send(ctx context.Context, c *cv.Conversation, ch settings.Channels, text string) error {
	tg := ch.Telegram
	if tg == nil || tg.BotToken == "" && tg.SecretToken == "" {
		return channel.ErrNotConfigured
	}
	if tg.BotToken == "" {
		return jobs.Permanent(errors.New("telegram: the bot_token is not set"))
	}
	if c.ExternalID == nil {
		return jobs.Permanent(errors.New("telegram: the conversation is no longer linked to a chat"))
	}
	base := tg.APIBaseURL
	if base == "" {
		base = settings.DefaultTelegramAPI
	}
	var chatID any = *c.ExternalID
	if n, err := strconv.ParseInt(*c.ExternalID, 10, 64); err == nil {
		chatID = n
	}
	url := strings.TrimRight(base, "/") + "/bot" + tg.BotToken + "/sendMessage"
	status, body, err := channel.PostJSON(ctx, s.Client, url, "", map[string]any{"chat_id": chatID, "text": text})
	if err != nil {
		return channel.Redact(err, tg.BotToken)
	}
	var res struct {
		OK          bool   `json:"ok"`
		Description string `json:"description"`
	}
	_ = json.Unmarshal(body, &res)
	if status == http.StatusOK && res.OK {
		return nil
	}
	msg := res.Description
	if msg == "" {
		msg = channel.Trim(body)
	}
	if status == http.StatusOK {
		status = http.StatusBadGateway // "ok": false with 200: not Telegram's way; retry
	}
	return channel.Refused(cv.SourceTelegram, status, msg)
}
