package slack_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/apitest"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/channeltest"
	"github.com/parleyhq/parley/internal/channel/slack"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

const (
	signingSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	botToken      = "xoxb-test-token"
)

type env struct {
	*channeltest.Env
	fake *channeltest.Fake
	now  func() time.Time
}

func start(t *testing.T, open enginetest.Opener, answer func(n int, r channeltest.Request) (int, string), opts ...channel.Options) *env {
	t.Helper()
	fake := channeltest.NewFake(t, answer)
	var o channel.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	e := channeltest.Start(t, open, o, func(o channel.Options) map[string]http.Handler {
		return map[string]http.Handler{slack.Pattern: slack.NewHandler(o)}
	}, slack.NewSender(nil))
	return &env{Env: e, fake: fake, now: now}
}

func (e *env) tenant() apitest.Tenant {
	tn := e.NewTenant("slack")
	e.Configure(tn, map[string]any{"slack": map[string]any{"signing_secret": signingSecret, "bot_token": botToken, "api_base_url": e.fake.URL}})
	return tn
}

// signed returns the headers Slack sends with body at the given time.
func signed(body []byte, at time.Time) []string {
	ts := strconv.FormatInt(at.Unix(), 10)
	return []string{slack.TimestampHeader, ts, slack.SignatureHeader, "v0=" + hex.EncodeToString(slack.Sign(signingSecret, ts, body)),
		"Content-Type", "application/json"}
}

func (e *env) send(tn apitest.Tenant, body []byte, extra ...string) apitest.Response {
	e.T.Helper()
	return e.Post("/channels/slack/"+tn.ID, body, append(signed(body, e.now()), extra...)...)
}

// wrap puts a bare inner event (the inner_* fixtures) into an event_callback envelope.
func wrap(t testing.TB, inner []byte, eventID string) []byte {
	t.Helper()
	var ev json.RawMessage = inner
	b, err := json.Marshal(map[string]any{"token": "XXYYZZ", "team_id": "T123ABC456", "api_app_id": "A123ABC456", "event": ev,
		"type": "event_callback", "event_id": eventID, "event_time": 1355517523})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// docsExample repairs the docs' message.channels example: its comment lines dropped and the
// trailing comma upstream left in it removed.
func docsExample(t testing.TB) []byte {
	var lines []string
	for _, l := range strings.Split(string(channeltest.Payload(t, "slack/docs_message_channels_example.docs-slack-dev.txt")), "\n") {
		if !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	s := strings.Replace(strings.Join(lines, "\n"), `"is_enterprise_install": false,        }`, `"is_enterprise_install": false }`, 1)
	if !json.Valid([]byte(s)) {
		t.Fatal("the docs example is still not JSON after the repair")
	}
	return []byte(s)
}

// bodies are every fixture as Slack would POST it, by name.
func bodies(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	for _, rel := range channeltest.Files(t, "slack", "*") {
		name := filepath.Base(rel)
		b := channeltest.Payload(t, rel)
		switch {
		case name == "README.txt" || name == "signing_test_vector.python-slack-sdk.json":
		case strings.HasPrefix(name, "inner_") || strings.HasPrefix(name, "spec_event_"):
			out[name] = wrap(t, b, "Ev"+strings.TrimSuffix(name, ".json"))
		case strings.HasPrefix(name, "spec_wrapper_"):
			var list []json.RawMessage
			if err := json.Unmarshal(b, &list); err != nil {
				t.Fatal(err)
			}
			for i, item := range list {
				out[fmt.Sprintf("%s[%d]", name, i)] = item
			}
		case strings.HasPrefix(name, "docs_"):
			out[name+" (raw)"] = b
			out[name+" (repaired)"] = docsExample(t)
		default:
			out[name] = b
		}
	}
	return out
}

func at(ts string) time.Time {
	sec, frac, _ := strings.Cut(ts, ".")
	s, _ := strconv.ParseInt(sec, 10, 64)
	us, _ := strconv.ParseInt(frac, 10, 64)
	return time.Unix(s, us*1000).UTC()
}

func msg(channelID, ts, content string) channeltest.WantMessage {
	return channeltest.WantMessage{ExternalID: channelID + ":" + ts, Content: content, CreatedAt: at(ts)}
}

// fixtures are the message-bearing bodies and what each becomes.
var fixtures = map[string]channeltest.Want{
	"event_callback_message_im.slack-go.json": {Source: "slack", ConversationExternalID: "D024BE91L", VisitorLabel: channeltest.S("U2147483697"),
		Messages: []channeltest.WantMessage{msg("D024BE91L", "1355517523.000005", "Hello, I need help with something.")}},
	"event_callback_message_channel.slack-go.json": {Source: "slack", ConversationExternalID: "C024BE91L:1355517523.000005", VisitorLabel: channeltest.S("U2147483697"),
		Messages: []channeltest.WantMessage{msg("C024BE91L", "1355517523.000005", "Hello everyone, I need help with something.")}},
	"inner_message.slack-go.json": {Source: "slack", ConversationExternalID: "G024BE91L:1355517523.000005", VisitorLabel: channeltest.S("U2147483697"),
		Messages: []channeltest.WantMessage{msg("G024BE91L", "1355517523.000005", "Live long and prospect.")}},
	"inner_app_mention.slack-go.json": {Source: "slack", ConversationExternalID: "C0LAN2Q65:1515449522.000016", VisitorLabel: channeltest.S("U061F7AUR"),
		Messages: []channeltest.WantMessage{msg("C0LAN2Q65", "1515449522.000016", "<@U0LAN0Z89> is it everything a river should be?")}},
	"inner_thread_broadcast.slack-go.json": {Source: "slack", ConversationExternalID: "C123ABC456:1673464730.703009", VisitorLabel: channeltest.S("U123ABC456"),
		Messages: []channeltest.WantMessage{msg("C123ABC456", "1673464745.620769", "broadcasting this reply")}},
	"spec_event_x_example_message.slack-api-specs.json": {Source: "slack", ConversationExternalID: "D0PNCRP9N", VisitorLabel: channeltest.S("U061F7AUR"),
		Messages: []channeltest.WantMessage{msg("D0PNCRP9N", "1525215129.000001", "How many cats did we herd yesterday?")}},
	"docs_message_channels_example.docs-slack-dev.txt (repaired)": {Source: "slack", ConversationExternalID: "C123ABC456:1355517523.000005", VisitorLabel: channeltest.S("U123ABC456"),
		Messages: []channeltest.WantMessage{msg("C123ABC456", "1355517523.000005", "Live long and prospect.")}},
}

// TestFixtures sends every real body, signed, each to its own assistant.
func TestFixtures(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, nil)
		all := bodies(t)
		for name, body := range all {
			t.Run(name, func(t *testing.T) {
				e.T = t
				tn := e.tenant()
				r := e.send(tn, body)
				switch {
				case name == "url_verification.slack-go.json":
					if r.Status != 200 || r.Map(t)["challenge"] != "aljdsflaji3jj" {
						t.Errorf("url_verification: %d %s, want 200 with the challenge", r.Status, r.Body)
					}
				case strings.HasSuffix(name, "(raw)"):
					if r.Status != http.StatusBadRequest {
						t.Errorf("invalid JSON: status %d, want 400: %s", r.Status, r.Body)
					}
				case r.Status != http.StatusOK:
					t.Fatalf("status %d: %s", r.Status, r.Body)
				}
				if want, ok := fixtures[name]; ok {
					e.Check(tn, want)
				} else {
					e.NothingStored(tn)
				}
			})
		}
		e.T = t
		for name := range fixtures {
			if _, ok := all[name]; !ok {
				t.Errorf("fixture %s was not sent", name)
			}
		}
		if e.fake.Calls() != 0 {
			t.Errorf("visitor messages were sent back to Slack: %d calls", e.fake.Calls())
		}
	})
}

// TestSigningVector: Slack's published test vector passes the verifier at its time, and
// fails a moment outside the replay window or with any byte changed; sent over HTTP at that
// time, the (form-encoded slash command) body is accepted and ignored.
func TestSigningVector(t *testing.T) {
	var v struct {
		Secret    string `json:"signing_secret"`
		Timestamp string `json:"x_slack_request_timestamp"`
		Body      string `json:"body"`
		Signature string `json:"x_slack_signature"`
	}
	if err := json.Unmarshal(channeltest.Payload(t, "slack/signing_test_vector.python-slack-sdk.json"), &v); err != nil {
		t.Fatal(err)
	}
	sec, _ := strconv.ParseInt(v.Timestamp, 10, 64)
	when := time.Unix(sec, 0)
	h := http.Header{}
	h.Set(slack.TimestampHeader, v.Timestamp)
	h.Set(slack.SignatureHeader, v.Signature)
	if err := slack.Verify(v.Secret, h, []byte(v.Body), when.Add(30*time.Second)); err != nil {
		t.Fatalf("the published vector fails: %v", err)
	}
	if got := "v0=" + hex.EncodeToString(slack.Sign(v.Secret, v.Timestamp, []byte(v.Body))); got != v.Signature {
		t.Errorf("Sign = %s, want %s", got, v.Signature)
	}
	for name, check := range map[string]func() error{
		"6 minutes later":   func() error { return slack.Verify(v.Secret, h, []byte(v.Body), when.Add(6*time.Minute)) },
		"6 minutes earlier": func() error { return slack.Verify(v.Secret, h, []byte(v.Body), when.Add(-6*time.Minute)) },
		"body changed":      func() error { return slack.Verify(v.Secret, h, []byte(v.Body+" "), when) },
		"other secret":      func() error { return slack.Verify(v.Secret+"x", h, []byte(v.Body), when) },
	} {
		if check() == nil {
			t.Errorf("%s: verified", name)
		}
	}

	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, nil, channel.Options{Now: func() time.Time { return when.Add(time.Second) }})
		tn := e.NewTenant("vector")
		e.Configure(tn, map[string]any{"slack": map[string]any{"signing_secret": v.Secret}})
		r := e.Post("/channels/slack/"+tn.ID, []byte(v.Body), slack.TimestampHeader, v.Timestamp, slack.SignatureHeader, v.Signature,
			"Content-Type", "application/x-www-form-urlencoded")
		if r.Status != http.StatusOK {
			t.Errorf("the vector over HTTP: status %d: %s", r.Status, r.Body)
		}
		e.NothingStored(tn)
	})
}

// TestRefused: requests that fail the check, or have nowhere to go, store nothing.
func TestRefused(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, nil)
		tn := e.tenant()
		unconfigured := e.NewTenant("no slack")
		body := channeltest.Payload(t, "slack/event_callback_message_im.slack-go.json")
		now := time.Now()
		good := signed(body, now)
		withHeader := func(k, v string) []string {
			out := append([]string(nil), good...)
			for i := 0; i+1 < len(out); i += 2 {
				if out[i] == k {
					out[i+1] = v
				}
			}
			return out
		}
		stale := signed(body, now.Add(-6*time.Minute))
		future := signed(body, now.Add(6*time.Minute))
		big := []byte(`{"type":"event_callback","event":{"type":"message","text":"` + strings.Repeat("x", 1<<20) + `"}}`)
		path := "/channels/slack/" + tn.ID
		for _, c := range []struct {
			name   string
			path   string
			body   []byte
			header []string
			status int
		}{
			{"wrong signature", path, body, withHeader(slack.SignatureHeader, "v0="+strings.Repeat("ab", 32)), 401},
			{"malformed signature", path, body, withHeader(slack.SignatureHeader, "v1=zz"), 401},
			{"signature of another body", path, append(bytes.Clone(body), ' '), good, 401},
			{"missing signature", path, body, []string{slack.TimestampHeader, good[1]}, 401},
			{"missing timestamp", path, body, []string{slack.SignatureHeader, good[3]}, 401},
			{"stale timestamp", path, body, stale, 401},
			{"timestamp from the future", path, body, future, 401},
			{"timestamp changed after signing", path, body, withHeader(slack.TimestampHeader, strconv.FormatInt(now.Unix()+1, 10)), 401},
			{"unknown assistant", "/channels/slack/0190a0a0-0000-7000-8000-000000000000", body, good, 404},
			{"channel not configured", "/channels/slack/" + unconfigured.ID, body, good, 404},
			{"oversized body", path, big, signed(big, now), 413},
		} {
			if r := e.Post(c.path, c.body, c.header...); r.Status != c.status {
				t.Errorf("%s: status %d, want %d: %s", c.name, r.Status, c.status, r.Body)
			}
		}
		e.NothingStored(tn)
		e.NothingStored(unconfigured)
	})
}

// TestRetries: Slack's retries (X-Slack-Retry-Num, same event_id) store one message; the
// same message delivered as app_mention and as message, too.
func TestRetries(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, nil)
		tn := e.tenant()
		body := channeltest.Payload(t, "slack/event_callback_message_im.slack-go.json")
		for i, extra := range [][]string{nil, {slack.RetryNumHeader, "1", "X-Slack-Retry-Reason", "http_timeout"}, {slack.RetryNumHeader, "2"}} {
			if r := e.send(tn, body, extra...); r.Status != 200 {
				t.Fatalf("attempt %d: status %d: %s", i, r.Status, r.Body)
			}
		}
		e.Check(tn, fixtures["event_callback_message_im.slack-go.json"])
	})
}

// TestThreads: a channel message starts a conversation for its thread, the visitor's replies
// in the thread join it, a new top-level message starts another; replies go back into the
// thread, and into the DM without a thread.
func TestThreads(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, nil)
		tn := e.tenant()
		inner := func(ts, threadTS, text string) []byte {
			ev := map[string]any{"type": "message", "channel": "C0SUPPORT", "channel_type": "channel", "user": "U0VISITOR", "text": text, "ts": ts,
				"user_profile": map[string]any{"real_name": "Ada Lovelace", "display_name": "ada"},
				"files": []any{map[string]any{"id": "F0001", "name": "invoice.pdf", "title": "Invoice", "mimetype": "application/pdf",
					"size": 1234, "url_private": "https://files.slack.com/files-pri/T1-F0001/invoice.pdf"}}}
			if threadTS != "" {
				ev["thread_ts"] = threadTS
			}
			b, _ := json.Marshal(ev)
			return wrap(t, b, "Ev"+ts)
		}
		for _, b := range [][]byte{inner("1700000000.000100", "", "My invoice is wrong"), inner("1700000050.000200", "1700000000.000100", "It says 2 items"),
			inner("1700000100.000300", "", "Another question")} {
			if r := e.send(tn, b); r.Status != 200 {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
		}
		items := e.Conversations(tn)
		if len(items) != 2 {
			t.Fatalf("%d conversations, want 2 (one per thread)", len(items))
		}
		thread := items[0]["id"].(string)
		events := e.Events(tn, thread)
		if len(events) != 2 || items[0]["visitor_name"] != "Ada Lovelace" || items[0]["visitor_label"] != "U0VISITOR" {
			t.Fatalf("thread conversation %v with %d events", items[0], len(events))
		}
		var atts []map[string]any
		b, _ := json.Marshal(events[0]["data"].(map[string]any)["attachments"])
		_ = json.Unmarshal(b, &atts)
		if len(atts) != 1 || atts[0]["type"] != "document" || atts[0]["name"] != "invoice.pdf" || atts[0]["size"] != float64(1234) ||
			atts[0]["mime_type"] != "application/pdf" || atts[0]["file_id"] != "F0001" || !strings.HasPrefix(atts[0]["url"].(string), "https://files.slack.com/") {
			t.Errorf("attachments %v", atts)
		}

		e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations/"+thread+"/messages", tn.Write, map[string]any{"author": "human_operator", "content": "Let me check"})
		channeltest.Eventually(t, "the reply in the thread", func() bool { return e.fake.Calls() == 1 })
		r := e.fake.Requests()[0]
		if r.Path != "/chat.postMessage" || r.Header.Get("Authorization") != "Bearer "+botToken ||
			r.Body["channel"] != "C0SUPPORT" || r.Body["thread_ts"] != "1700000000.000100" || r.Body["text"] != "Let me check" {
			t.Errorf("chat.postMessage call %s %v %v", r.Path, r.Header.Get("Authorization"), r.Body)
		}

		// A DM: one conversation, replies without a thread.
		e.send(tn, channeltest.Payload(t, "slack/event_callback_message_im.slack-go.json"))
		dm, err := e.Store.ConversationByExternalID(t.Context(), tn.ID, "slack", "D024BE91L")
		if err != nil {
			t.Fatal(err)
		}
		e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations/"+dm.ID+"/messages", tn.Write, map[string]any{"author": "ai_assistant", "content": "Hi!"})
		channeltest.Eventually(t, "the reply in the DM", func() bool { return e.fake.Calls() == 2 })
		r = e.fake.Requests()[1]
		if _, threaded := r.Body["thread_ts"]; r.Body["channel"] != "D024BE91L" || threaded || r.Body["text"] != "Hi!" {
			t.Errorf("DM reply body %v", r.Body)
		}
	})
}

// TestEditAndDelete: message_changed replaces the text and keeps the old one in a log event;
// message_deleted adds a message_deleted log event and keeps the text, once per retry.
func TestEditAndDelete(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, nil)
		tn := e.tenant()
		e.send(tn, wrap(t, channeltest.Payload(t, "slack/inner_message.slack-go.json"), "Ev1"))
		changed := channeltest.Rewrite(t, channeltest.Payload(t, "slack/inner_message_changed.slack-go.json"), func(m map[string]any) {
			channeltest.Obj(t, m, "message")["text"] = "Live long and prosper."
		})
		deleted := []byte(`{"type":"message","subtype":"message_deleted","hidden":true,"channel":"G024BE91L","ts":"1358878755.000002",
			"deleted_ts":"1355517523.000005","event_ts":"1358878755.000002"}`)
		for range 2 {
			for _, b := range [][]byte{wrap(t, changed, "Ev2"), wrap(t, deleted, "Ev3")} {
				if r := e.send(tn, b); r.Status != 200 {
					t.Fatalf("status %d: %s", r.Status, r.Body)
				}
			}
		}
		want := fixtures["inner_message.slack-go.json"]
		want.Messages = []channeltest.WantMessage{msg("G024BE91L", "1355517523.000005", "Live long and prosper.")}
		id := e.Check(tn, want)
		edits := e.Logs(tn, id, "message_edited")
		if len(edits) != 1 || edits[0]["details"].(map[string]any)["from"] != "Live long and prospect." {
			t.Errorf("message_edited logs %v", edits)
		}
		dels := e.Logs(tn, id, "message_deleted")
		if len(dels) != 1 || dels[0]["details"].(map[string]any)["content"] != "Live long and prosper." {
			t.Errorf("message_deleted logs %v", dels)
		}
	})
}

// TestReplies: a failing Slack (500 twice, then "ok": false ratelimited) gets the reply once
// it recovers; a refusal ("ok": false with a lasting error) is a delivery_failed log event.
func TestReplies(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, func(n int, r channeltest.Request) (int, string) {
			switch {
			case r.Body["text"] == "refused":
				return 200, `{"ok":false,"error":"channel_not_found"}`
			case n < 2:
				return 500, `upstream error`
			case n == 2:
				return 200, `{"ok":false,"error":"ratelimited"}`
			}
			return 200, `{"ok":true,"channel":"D024BE91L","ts":"1.2"}`
		})
		tn := e.tenant()
		e.send(tn, channeltest.Payload(t, "slack/event_callback_message_im.slack-go.json"))
		id := e.Conversations(tn)[0]["id"].(string)
		e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations/"+id+"/messages", tn.Write, map[string]any{"author": "human_operator", "content": "Hello"})
		channeltest.Eventually(t, "the retried reply", func() bool { return e.fake.Calls() == 4 })
		waitJobsDone(t, e.Store)
		if e.fake.Calls() != 4 || len(e.Logs(tn, id, "delivery_failed")) != 0 {
			t.Fatalf("%d calls, %d delivery_failed; want 4 and none", e.fake.Calls(), len(e.Logs(tn, id, "delivery_failed")))
		}
		for _, r := range e.fake.Requests() {
			if r.Body["channel"] != "D024BE91L" || r.Body["text"] != "Hello" {
				t.Errorf("call body %v", r.Body)
			}
		}
		e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations/"+id+"/messages", tn.Write, map[string]any{"author": "human_operator", "content": "refused"})
		channeltest.Eventually(t, "delivery_failed", func() bool { return len(e.Logs(tn, id, "delivery_failed")) == 1 })
		d := e.Logs(tn, id, "delivery_failed")[0]["details"].(map[string]any)
		if !strings.Contains(d["error"].(string), "channel_not_found") {
			t.Errorf("delivery_failed details %v", d)
		}
		waitJobsDone(t, e.Store)
		if e.fake.Calls() != 5 {
			t.Errorf("%d calls, want 5 (a refusal is not retried)", e.fake.Calls())
		}
	})
}

func waitJobsDone(t *testing.T, st store.Store) {
	t.Helper()
	channeltest.Eventually(t, "deliver jobs to finish", func() bool {
		stats, err := st.JobStats(t.Context())
		return err == nil && stats[store.JobDeliver]["pending"] == 0 && stats[store.JobDeliver]["running"] == 0
	})
}
