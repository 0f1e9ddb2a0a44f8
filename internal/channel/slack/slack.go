// Package slack connects a Slack app (Events API) to Parley: the Request URL that Slack calls
// with each event, and the Sender that answers through chat.postMessage.
//
// Every request is checked against X-Slack-Signature (v0: HMAC-SHA256 of
// "v0:<timestamp>:<raw body>" with the app's signing secret) and refused when its
// X-Slack-Request-Timestamp is more than five minutes away from now, before the body is
// parsed. A direct message channel is one conversation (external_id: the channel id); in a
// public or private channel, each top-level message starts a conversation for its thread
// (external_id: "<channel>:<thread ts>") and the replies in that thread, the visitor's and
// ours, go into it. A message's external_id is "<channel>:<ts>", so Slack's retries
// (X-Slack-Retry-Num, same event_id) store nothing twice.
package slack

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/channel"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/settings"
)

// Pattern is the Request URL's route.
const Pattern = "POST /channels/slack/{assistant_id}"

// Request headers.
const (
	SignatureHeader = "X-Slack-Signature"
	TimestampHeader = "X-Slack-Request-Timestamp"
	RetryNumHeader  = "X-Slack-Retry-Num"
)

// ReplayWindow is how far a request's timestamp may be from now.
const ReplayWindow = 5 * time.Minute

// Handler is the Events API Request URL.
type Handler struct{ o channel.Options }

// NewHandler returns the Request URL handler.
func NewHandler(o channel.Options) *Handler { return &Handler{o: o.WithDefaults()} }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	assistantID := r.PathValue("assistant_id")
	st, err := channel.LoadSettings(r.Context(), h.o.Store, assistantID)
	if err != nil {
		h.o.Fail(w, r, cv.SourceSlack, err)
		return
	}
	sl := st.Channels.Slack
	if sl == nil || sl.SigningSecret == "" {
		channel.NotFound(w)
		return
	}
	if r.Header.Get(SignatureHeader) == "" || r.Header.Get(TimestampHeader) == "" {
		channel.Unauthorized(w, "Missing "+SignatureHeader+" or "+TimestampHeader+".")
		return
	}
	body, err := channel.ReadBody(w, r, h.o.MaxBodyBytes)
	if err != nil {
		h.o.Fail(w, r, cv.SourceSlack, err)
		return
	}
	if err := Verify(sl.SigningSecret, r.Header, body, h.o.Now()); err != nil {
		channel.Unauthorized(w, err.Error())
		return
	}
	res, err := Parse(body, h.o.Now())
	if err != nil {
		channel.WriteError(w, http.StatusBadRequest, api.CodeBadRequest, "The body is not a Slack Events API request: "+err.Error())
		return
	}
	if res.Challenge != nil {
		channel.WriteJSON(w, http.StatusOK, map[string]string{"challenge": *res.Challenge})
		return
	}
	if n := r.Header.Get(RetryNumHeader); n != "" {
		h.o.Logger.Info("slack retry", "assistant", assistantID, "retry", n, "reason", r.Header.Get("X-Slack-Retry-Reason"))
	}
	if err := h.o.Apply(r.Context(), cv.SourceSlack, assistantID, st, res.Actions); err != nil {
		h.o.Fail(w, r, cv.SourceSlack, err)
		return
	}
	channel.OK(w)
}

// Verify checks a request's v0 signature and its timestamp against now.
func Verify(signingSecret string, h http.Header, body []byte, now time.Time) error {
	ts := h.Get(TimestampHeader)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("Malformed " + TimestampHeader + ".")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > ReplayWindow || d < -ReplayWindow {
		return errors.New("Stale " + TimestampHeader + ": more than five minutes from now.")
	}
	got, ok := strings.CutPrefix(h.Get(SignatureHeader), "v0=")
	sig, herr := hex.DecodeString(got)
	if !ok || herr != nil {
		return errors.New("Malformed " + SignatureHeader + ".")
	}
	if !hmac.Equal(sig, Sign(signingSecret, ts, body)) {
		return errors.New("Wrong " + SignatureHeader + ".")
	}
	return nil
}

// Sign returns the v0 HMAC of a request (without the "v0=" prefix and hex encoding).
func Sign(signingSecret, timestamp string, body []byte) []byte {
	mac := hmac.New(sha256.New, []byte(signingSecret))
	mac.Write([]byte("v0:" + timestamp + ":"))
	mac.Write(body)
	return mac.Sum(nil)
}

// ---- the Events API body, as far as Parley reads it ----

type envelope struct {
	Type           string `json:"type"`
	Challenge      string `json:"challenge"`
	EventID        string `json:"event_id"`
	Event          *event `json:"event"`
	Authorizations []struct {
		UserID string `json:"user_id"`
		IsBot  bool   `json:"is_bot"`
	} `json:"authorizations"`
}

type event struct {
	Type        string `json:"type"`
	Subtype     string `json:"subtype"`
	Channel     string `json:"channel"`
	ChannelType string `json:"channel_type"`
	User        string `json:"user"`
	BotID       string `json:"bot_id"`
	Text        string `json:"text"`
	TS          string `json:"ts"`
	ThreadTS    string `json:"thread_ts"`
	DeletedTS   string `json:"deleted_ts"`
	UserProfile *struct {
		RealName    string `json:"real_name"`
		DisplayName string `json:"display_name"`
		Name        string `json:"name"`
	} `json:"user_profile"`
	Files           []file `json:"files"`
	Message         *event `json:"message"`
	PreviousMessage *event `json:"previous_message"`
}

type file struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Title      string `json:"title"`
	Mimetype   string `json:"mimetype"`
	Size       int64  `json:"size"`
	URLPrivate string `json:"url_private"`
}

// Result is what a body asks for: the url_verification challenge to echo, or actions.
type Result struct {
	Challenge *string
	Actions   []channel.Action
}

// Parse turns an Events API body into what Parley does with it. now bounds message times.
func Parse(body []byte, now time.Time) (Result, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] != '{' {
		// Slash commands and interactivity payloads are form-encoded; this URL serves events.
		if q, err := url.ParseQuery(string(trimmed)); err == nil && (q.Has("command") || q.Has("payload")) {
			return Result{Actions: []channel.Action{channel.Ignored("a slash command or interactivity payload, not an event")}}, nil
		}
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return Result{}, errors.New("not a JSON object")
	}
	switch env.Type {
	case "url_verification":
		return Result{Challenge: &env.Challenge}, nil
	case "event_callback":
	case "":
		return Result{}, errors.New("no type")
	default:
		return Result{Actions: []channel.Action{channel.Ignored("%s request", env.Type)}}, nil
	}
	e := env.Event
	if e == nil {
		return Result{Actions: []channel.Action{channel.Ignored("event_callback without an event")}}, nil
	}
	ignore := func(format string, args ...any) (Result, error) {
		return Result{Actions: []channel.Action{channel.Ignored(format, args...)}}, nil
	}
	if e.Type != "message" && e.Type != "app_mention" {
		return ignore("%s event is not a message", e.Type)
	}
	if e.BotID != "" || e.Subtype == "bot_message" {
		return ignore("a bot's message")
	}
	switch e.Subtype {
	case "", "thread_broadcast", "file_share", "me_message":
	case "message_changed":
		return Result{Actions: []channel.Action{edit(e)}}, nil
	case "message_deleted":
		return Result{Actions: []channel.Action{deletion(e)}}, nil
	default:
		return ignore("message subtype %s", e.Subtype)
	}
	for _, a := range env.Authorizations {
		if a.IsBot && a.UserID != "" && a.UserID == e.User {
			return ignore("the app's own message")
		}
	}
	if e.Channel == "" || e.TS == "" || e.User == "" {
		return ignore("%s without a channel, ts or user", e.Type)
	}
	chatID := e.Channel
	if !isDM(e) {
		root := e.ThreadTS
		if root == "" {
			root = e.TS
		}
		chatID = e.Channel + ":" + root
	}
	var name *string
	if p := e.UserProfile; p != nil {
		for _, n := range []string{p.RealName, p.DisplayName, p.Name} {
			if n != "" {
				name = channel.Short(n)
				break
			}
		}
	}
	conv := cv.NewConversation{Source: cv.SourceSlack, ExternalID: &chatID, VisitorName: name, VisitorLabel: channel.Short(e.User)}
	return Result{Actions: []channel.Action{channel.VisitorMessage(conv, e.Channel+":"+e.TS, e.Text, attachments(e.Files), channel.At(tsSeconds(e.TS), now))}}, nil
}

// isDM reports whether the event is in a direct message (or group DM, or the app's Messages
// tab): one conversation for the whole channel.
func isDM(e *event) bool {
	switch e.ChannelType {
	case "im", "mpim", "app_home":
		return true
	case "":
		return strings.HasPrefix(e.Channel, "D")
	}
	return false
}

func edit(e *event) channel.Action {
	m := e.Message
	if m == nil || m.TS == "" || e.Channel == "" {
		return channel.Ignored("message_changed without the message")
	}
	if m.BotID != "" || m.Subtype == "bot_message" {
		return channel.Ignored("a bot's message changed")
	}
	if m.Subtype == "tombstone" {
		return channel.Ignored("a thread's first message was replaced by a tombstone")
	}
	return channel.Action{Kind: channel.Edit, MessageExternalID: e.Channel + ":" + m.TS, Content: m.Text, Actor: channel.Visitor(nil)}
}

func deletion(e *event) channel.Action {
	ts := e.DeletedTS
	if ts == "" && e.PreviousMessage != nil {
		ts = e.PreviousMessage.TS
	}
	if ts == "" || e.Channel == "" {
		return channel.Ignored("message_deleted without the message")
	}
	return channel.Action{Kind: channel.Delete, MessageExternalID: e.Channel + ":" + ts, Actor: channel.Visitor(nil)}
}

func tsSeconds(ts string) float64 {
	f, err := strconv.ParseFloat(ts, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

func attachments(files []file) []channel.Attachment {
	var out []channel.Attachment
	for _, f := range files {
		if f.ID == "" && f.URLPrivate == "" {
			continue
		}
		typ := "document"
		for _, k := range []string{"image", "video", "audio"} {
			if strings.HasPrefix(f.Mimetype, k+"/") {
				typ = k
			}
		}
		name := f.Name
		if name == "" {
			name = f.Title
		}
		out = append(out, channel.Attachment{Type: typ, Name: channel.Str(name), Size: channel.Size(f.Size), MimeType: channel.Str(f.Mimetype),
			FileID: f.ID, URL: f.URLPrivate})
	}
	return out
}

// ---- replies ----

// Sender sends replies with chat.postMessage.
type Sender struct{ Client *http.Client }

// NewSender returns a Sender on client (nil: channel.DefaultClient).
func NewSender(client *http.Client) Sender { return Sender{Client: client} }

// Source is slack.
func (Sender) Source() string { return cv.SourceSlack }

// transient are Slack's "ok": false errors worth retrying.
var transient = map[string]bool{"ratelimited": true, "service_unavailable": true, "internal_error": true, "fatal_error": true, "request_timeout": true}

// Send posts text into the conversation's DM, or its thread.
func (s Sender) Send(ctx context.Context, c *cv.Conversation, ch settings.Channels, text string) error {
	sl := ch.Slack
	if sl == nil || sl.BotToken == "" && sl.SigningSecret == "" {
		return channel.ErrNotConfigured
	}
	if sl.BotToken == "" {
		return jobs.Permanent(errors.New("slack: the bot_token is not set"))
	}
	if c.ExternalID == nil {
		return jobs.Permanent(errors.New("slack: the conversation is no longer linked to a channel"))
	}
	channelID, threadTS, _ := strings.Cut(*c.ExternalID, ":")
	body := map[string]any{"channel": channelID, "text": text}
	if threadTS != "" {
		body["thread_ts"] = threadTS
	}
	base := sl.APIBaseURL
	if base == "" {
		base = settings.DefaultSlackAPI
	}
	status, rb, err := channel.PostJSON(ctx, s.Client, strings.TrimRight(base, "/")+"/chat.postMessage", sl.BotToken, body)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return channel.Refused(cv.SourceSlack, status, channel.Trim(rb))
	}
	var res struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(rb, &res); err != nil {
		return &channel.PlatformError{Source: cv.SourceSlack, Status: status, Message: "unreadable answer: " + channel.Trim(rb)}
	}
	if res.OK {
		return nil
	}
	err = &channel.PlatformError{Source: cv.SourceSlack, Message: fmt.Sprintf("chat.postMessage: %s", res.Error)}
	if transient[res.Error] {
		return err
	}
	return jobs.Permanent(err)
}
