package telegram_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/apitest"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/channeltest"
	"github.com/parleyhq/parley/internal/channel/telegram"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

const (
	secret   = "s3cr3t-token_for-tests"
	botToken = "123456:ABC-test-token"
)

// sent is when the fixtures' messages were sent (their "date").
var sent = time.Unix(1441645532, 0).UTC()

type env struct {
	*channeltest.Env
	fake *channeltest.Fake
}

func start(t *testing.T, open enginetest.Opener, answer func(n int, r channeltest.Request) (int, string), opts ...channel.Options) *env {
	t.Helper()
	fake := channeltest.NewFake(t, answer)
	var o channel.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	e := channeltest.Start(t, open, o, func(o channel.Options) map[string]http.Handler {
		return map[string]http.Handler{telegram.Pattern: telegram.NewHandler(o)}
	}, telegram.NewSender(nil))
	return &env{Env: e, fake: fake}
}

// tenant is a new assistant with its Telegram bot configured.
func (e *env) tenant() apitest.Tenant {
	tn := e.NewTenant("telegram")
	e.Configure(tn, map[string]any{"telegram": map[string]any{"bot_token": botToken, "secret_token": secret, "api_base_url": e.fake.URL}})
	return tn
}

func (e *env) send(tn apitest.Tenant, body []byte) apitest.Response {
	e.T.Helper()
	return e.Post("/channels/telegram/"+tn.ID, body, telegram.SecretHeader, secret)
}

// person is the fixtures' sender.
func person(t *testing.T, name, label string, msgs ...channeltest.WantMessage) channeltest.Want {
	return channeltest.Want{Source: "telegram", ConversationExternalID: "1111111", VisitorName: channeltest.S(name),
		VisitorLabel: channeltest.S(label), Messages: msgs}
}

// fixtures are the message-bearing updates and what each becomes.
var fixtures = map[string]struct {
	content, attachments string
	name, label          string
}{
	"message_text.json":              {"/start", "", "Test Firstname Test Lastname", "@Testusername"},
	"message_text_minimal.json":      {"/start", "", "Test Test Lastname", "@Test"},
	"message_entities.json":          {"Bold and italics", "", "Test Firstname Test Lastname", "@Testusername"},
	"message_forwarded.json":         {"/start", "", "Test Firstname Test Lastname", "@Testusername"},
	"message_forwarded_channel.json": {"/start", "", "Test Firstname Test Lastname", "@Testusername"},
	"message_reply.json":             {"/start", "", "Test Firstname Test Lastname", "@Testusername"},
	"message_audio.json": {"", `[{"type":"audio","name":"Test music file","size":3897500,"mime_type":"audio/mpeg",
		"file_id":"AwADBAADbXXXXXXXXXXXGBdhD2l6_XX","duration":243}]`, "Test Firstname Test Lastname", "@Testusername"},
	"message_voice.json": {"", `[{"type":"voice","name":null,"size":23000,"mime_type":"audio/ogg",
		"file_id":"AwADBAADbXXXXXXXXXXXGBdhD2l6_XX","duration":5}]`, "Test Firstname Test Lastname", "@Testusername"},
	"message_document.json": {"", `[{"type":"document","name":"Testfile.pdf","size":536392,"mime_type":"application/pdf",
		"file_id":"AwADBAADbXXXXXXXXXXXGBdhD2l6_XX"}]`, "Test Firstname Test Lastname", "@Testusername"},
}

// TestFixtures sends every real Update, each to its own assistant: the message-bearing ones
// become the expected conversation and message, field by field; the others are acknowledged
// and store nothing.
func TestFixtures(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, nil)
		for _, rel := range channeltest.Files(t, "telegram", "*.json") {
			name := filepath.Base(rel)
			t.Run(name, func(t *testing.T) {
				e.T = t
				tn := e.tenant()
				r := e.send(tn, channeltest.Payload(t, rel))
				if r.Status != http.StatusOK {
					t.Fatalf("status %d: %s", r.Status, r.Body)
				}
				f, isMessage := fixtures[name]
				if !isMessage {
					e.NothingStored(tn)
					return
				}
				e.Check(tn, person(t, f.name, f.label, channeltest.WantMessage{
					ExternalID: "1111111:1365", Content: f.content, Attachments: f.attachments, CreatedAt: sent}))
			})
		}
		e.T = t
		if e.fake.Calls() != 0 {
			t.Errorf("visitor messages were sent back to Telegram: %d calls", e.fake.Calls())
		}
	})
}

// TestOneChat sends every message-bearing update to one assistant, each with its own
// update_id and message_id (the fixtures share them), and each twice (Telegram redelivers
// until it gets a 200): one conversation for the chat, one message per update.
func TestOneChat(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, nil)
		tn := e.tenant()
		var want []channeltest.WantMessage
		i := 0
		for _, rel := range channeltest.Files(t, "telegram", "message_*.json") {
			f, ok := fixtures[filepath.Base(rel)]
			if !ok || f.name != "Test Firstname Test Lastname" {
				continue // the minimal fixture names its sender differently
			}
			i++
			body := channeltest.Rewrite(t, channeltest.Payload(t, rel), func(m map[string]any) {
				m["update_id"] = 20000 + i
				channeltest.Obj(t, m, "message")["message_id"] = 5000 + i
			})
			for range 2 {
				if r := e.send(tn, body); r.Status != http.StatusOK {
					t.Fatalf("%s: status %d: %s", rel, r.Status, r.Body)
				}
			}
			want = append(want, channeltest.WantMessage{ExternalID: "1111111:" + itoa(5000+i), Content: f.content, Attachments: f.attachments, CreatedAt: sent})
		}
		if len(want) < 7 {
			t.Fatalf("only %d fixtures sent", len(want))
		}
		e.Check(tn, person(t, "Test Firstname Test Lastname", "@Testusername", want...))
	})
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestEdit: an edited_message replaces the text; a message_edited log event keeps the old
// one. The same edit again changes nothing.
func TestEdit(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, nil)
		tn := e.tenant()
		e.send(tn, channeltest.Payload(t, "telegram/message_text.json"))
		edit := channeltest.Rewrite(t, channeltest.Payload(t, "telegram/edited_message.json"), func(m map[string]any) { m["update_id"] = 10001 })
		for range 2 {
			if r := e.send(tn, edit); r.Status != http.StatusOK {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
		}
		id := e.Check(tn, person(t, "Test Firstname Test Lastname", "@Testusername",
			channeltest.WantMessage{ExternalID: "1111111:1365", Content: "Edited text", CreatedAt: sent}))
		logs := e.Logs(tn, id, "message_edited")
		if len(logs) != 1 {
			t.Fatalf("%d message_edited logs, want 1", len(logs))
		}
		d := logs[0]["details"].(map[string]any)
		if d["from"] != "/start" || d["to"] != "Edited text" || d["message_id"] == nil {
			t.Errorf("message_edited details = %v", d)
		}
		if a := logs[0]["actor"].(map[string]any); a["type"] != "visitor" || a["name"] != "Test Firstname Test Lastname" {
			t.Errorf("message_edited actor = %v", a)
		}
		// Found by search with the new text only.
		var page struct{ Count int }
		e.Must(http.StatusOK, "GET", "/v1/api_core/conversations?query=edited", tn.Read, nil).JSON(t, &page)
		if page.Count != 1 {
			t.Errorf("query=edited finds %d conversations, want 1", page.Count)
		}
	})
}

// TestRefused: requests that fail the check, or have nowhere to go, store nothing.
func TestRefused(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, nil)
		tn := e.tenant()
		body := channeltest.Payload(t, "telegram/message_text.json")
		unconfigured := e.NewTenant("no telegram")
		e.Configure(unconfigured, map[string]any{"telegram": map[string]any{"bot_token": botToken}}) // no secret_token
		big := []byte(`{"update_id":1,"message":{"message_id":1,"chat":{"id":1},"text":"` + strings.Repeat("x", 1<<20) + `"}}`)
		for _, c := range []struct {
			name   string
			path   string
			body   []byte
			header []string
			status int
			code   string
		}{
			{"wrong secret", "/channels/telegram/" + tn.ID, body, []string{telegram.SecretHeader, secret + "x"}, 401, "PERMISSION_DENIED"},
			{"missing secret", "/channels/telegram/" + tn.ID, body, nil, 401, "PERMISSION_DENIED"},
			{"empty secret", "/channels/telegram/" + tn.ID, body, []string{telegram.SecretHeader, ""}, 401, "PERMISSION_DENIED"},
			{"unknown assistant", "/channels/telegram/0190a0a0-0000-7000-8000-000000000000", body, []string{telegram.SecretHeader, secret}, 404, "NOT_FOUND"},
			{"malformed assistant id", "/channels/telegram/nope", body, []string{telegram.SecretHeader, secret}, 404, "NOT_FOUND"},
			{"channel not configured", "/channels/telegram/" + unconfigured.ID, body, []string{telegram.SecretHeader, secret}, 404, "NOT_FOUND"},
			{"oversized body", "/channels/telegram/" + tn.ID, big, []string{telegram.SecretHeader, secret}, 413, "REQUEST_TOO_LARGE"},
			{"not JSON", "/channels/telegram/" + tn.ID, []byte("hello"), []string{telegram.SecretHeader, secret}, 400, "BAD_REQUEST"},
		} {
			r := e.Post(c.path, c.body, c.header...)
			if r.Status != c.status {
				t.Errorf("%s: status %d, want %d: %s", c.name, r.Status, c.status, r.Body)
				continue
			}
			var env struct {
				Errors map[string][]struct{ Code string } `json:"errors"`
			}
			r.JSON(t, &env)
			if len(env.Errors["root"]) != 1 || env.Errors["root"][0].Code != c.code {
				t.Errorf("%s: body %s, want the envelope with %s", c.name, r.Body, c.code)
			}
		}
		if r := e.Do("GET", "/channels/telegram/"+tn.ID, "", nil); r.Status != http.StatusMethodNotAllowed {
			t.Errorf("GET: status %d, want 405", r.Status)
		}
		e.NothingStored(tn)
		e.NothingStored(unconfigured)
	})
}

// TestTerminated: a chat whose conversation was terminated starts a new conversation with
// the visitor's next message.
func TestTerminated(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, nil)
		tn := e.tenant()
		e.send(tn, channeltest.Payload(t, "telegram/message_text.json"))
		first := e.Conversations(tn)[0]["id"].(string)
		e.Must(http.StatusOK, "PATCH", "/v1/api_core/conversations/"+first, tn.Write, map[string]any{"terminated": true})
		next := channeltest.Rewrite(t, channeltest.Payload(t, "telegram/message_entities.json"), func(m map[string]any) {
			m["update_id"] = 10002
			channeltest.Obj(t, m, "message")["message_id"] = 1366
		})
		e.send(tn, next)
		items := e.Conversations(tn)
		if len(items) != 2 || items[0]["id"] != first || items[0]["terminated"] != true || items[1]["terminated"] != false {
			t.Fatalf("after a message to a terminated chat: %v", items)
		}
		if got := items[1]["last_message_content"]; got != "Bold and italics" {
			t.Errorf("new conversation's last message %v", got)
		}
		c, err := e.Store.ConversationByExternalID(t.Context(), tn.ID, "telegram", "1111111")
		if err != nil || c.ID != items[1]["id"] {
			t.Errorf("the chat is held by %v (%v), want the new conversation", c.ID, err)
		}
	})
}

// TestHandoff: with the API's handoff hook, a visitor asking for a human on Telegram moves
// the conversation to the queue.
func TestHandoff(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		hook := func(text string, keywords []string) bool {
			for _, k := range keywords {
				if strings.Contains(strings.ToLower(text), k) {
					return true
				}
			}
			return false
		}
		e := start(t, open, nil, channel.Options{RequestsHuman: hook})
		tn := e.tenant()
		e.Must(http.StatusOK, "PATCH", "/v1/api_core/settings", tn.Write, map[string]any{"handoff_keywords": []string{"human"}})
		body := channeltest.Rewrite(t, channeltest.Payload(t, "telegram/message_text.json"), func(m map[string]any) {
			channeltest.Obj(t, m, "message")["text"] = "I want a HUMAN please"
		})
		e.send(tn, body)
		c := e.Conversations(tn)[0]
		if a := c["assignee"].(map[string]any); a["type"] != "unassigned" {
			t.Errorf("assignee %v, want unassigned", a)
		}
		ev := e.Events(tn, c["id"].(string))
		if ev[0]["data"].(map[string]any)["handoff_state"] != "requested" {
			t.Errorf("handoff_state %v, want requested", ev[0]["data"])
		}
	})
}

// TestReplies: operator and assistant messages written through the API reach Telegram's
// sendMessage for the right chat with the bot's token; failures are retried without losing
// or repeating the reply; a refusal is recorded as delivery_failed.
func TestReplies(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, nil)
		tn := e.tenant()
		e.send(tn, channeltest.Payload(t, "telegram/message_text.json"))
		id := e.Conversations(tn)[0]["id"].(string)
		reply := func(author, text string) {
			e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations/"+id+"/messages", tn.Write, map[string]any{"author": author, "content": text})
		}
		check := func(r channeltest.Request, text string) {
			t.Helper()
			if r.Method != "POST" || r.Path != "/bot"+botToken+"/sendMessage" {
				t.Errorf("call %s %s, want POST /bot<token>/sendMessage", r.Method, r.Path)
			}
			if r.Body["chat_id"] != float64(1111111) || r.Body["text"] != text {
				t.Errorf("call body %v, want chat_id 1111111 and %q", r.Body, text)
			}
		}

		reply("human_operator", "Hello from support")
		channeltest.Eventually(t, "the operator's reply", func() bool { return e.fake.Calls() == 1 })
		check(e.fake.Requests()[0], "Hello from support")
		reply("ai_assistant", "And hello from the assistant")
		channeltest.Eventually(t, "the assistant's reply", func() bool { return e.fake.Calls() == 2 })
		check(e.fake.Requests()[1], "And hello from the assistant")

		// Telegram failing twice, then back: the reply arrives once.
		flaky := channeltest.NewFake(t, func(n int, r channeltest.Request) (int, string) {
			if n < 2 {
				return 500, `{"ok":false,"error_code":500,"description":"Internal Server Error"}`
			}
			return 200, `{"ok":true,"result":{"message_id":2}}`
		})
		e.Configure(tn, map[string]any{"telegram": map[string]any{"api_base_url": flaky.URL}})
		reply("human_operator", "Are you still there?")
		channeltest.Eventually(t, "the retried reply", func() bool { return flaky.Calls() == 3 })
		waitJobsDone(t, e.Store)
		if flaky.Calls() != 3 {
			t.Errorf("flaky Telegram got %d calls, want 3 (two failures, one success)", flaky.Calls())
		}
		for _, r := range flaky.Requests() {
			check(r, "Are you still there?")
		}
		if logs := e.Logs(tn, id, "delivery_failed"); len(logs) != 0 {
			t.Errorf("delivery_failed after a recovered delivery: %v", logs)
		}

		// Telegram refusing: no retry, a delivery_failed log with Telegram's reason.
		refusing := channeltest.NewFake(t, func(int, channeltest.Request) (int, string) {
			return 400, `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`
		})
		e.Configure(tn, map[string]any{"telegram": map[string]any{"api_base_url": refusing.URL}})
		reply("human_operator", "Hello?")
		channeltest.Eventually(t, "delivery_failed", func() bool { return len(e.Logs(tn, id, "delivery_failed")) == 1 })
		l := e.Logs(tn, id, "delivery_failed")[0]
		d := l["details"].(map[string]any)
		if !strings.Contains(d["error"].(string), "chat not found") || d["channel"] != "telegram" || d["message_id"] == nil {
			t.Errorf("delivery_failed details %v", d)
		}
		if a := l["actor"].(map[string]any); a["type"] != "system" {
			t.Errorf("delivery_failed actor %v, want system", a)
		}
		if strings.Contains(l["content"].(string), botToken) || strings.Contains(d["error"].(string), botToken) {
			t.Errorf("the bot token leaked into the log event: %v", l)
		}
		waitJobsDone(t, e.Store)
		if refusing.Calls() != 1 {
			t.Errorf("a refused reply was tried %d times, want 1", refusing.Calls())
		}

		// Telegram down for good: every attempt is made, then a delivery_failed log.
		down := channeltest.NewFake(t, func(int, channeltest.Request) (int, string) {
			return 502, `<html>Bad Gateway</html>`
		})
		e.Configure(tn, map[string]any{"telegram": map[string]any{"api_base_url": down.URL}})
		reply("human_operator", "Anyone?")
		channeltest.Eventually(t, "the second delivery_failed", func() bool { return len(e.Logs(tn, id, "delivery_failed")) == 2 })
		waitJobsDone(t, e.Store)
		if down.Calls() != channeltest.MaxAttempts {
			t.Errorf("a reply to a Telegram that is down was tried %d times, want %d", down.Calls(), channeltest.MaxAttempts)
		}
		d = e.Logs(tn, id, "delivery_failed")[1]["details"].(map[string]any)
		if !strings.Contains(d["error"].(string), "HTTP 502") || d["attempts"] != float64(channeltest.MaxAttempts) {
			t.Errorf("delivery_failed details after the last attempt %v", d)
		}
	})
}

// waitJobsDone waits until no deliver job is pending or running.
func waitJobsDone(t *testing.T, st store.Store) {
	t.Helper()
	channeltest.Eventually(t, "deliver jobs to finish", func() bool {
		stats, err := st.JobStats(t.Context())
		return err == nil && stats[store.JobDeliver]["pending"] == 0 && stats[store.JobDeliver]["running"] == 0
	})
}

// TestRepliesNotSent: messages that are not replies to send stay home: those of an assistant
// without the channel (telegram conversations written through the API), and history written
// with past times (an import). A channel set up without the bot token records why its
// replies fail.
func TestRepliesNotSent(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, nil)
		create := func(tn apitest.Tenant, ext string, msgs ...map[string]any) string {
			r := e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations", tn.Write,
				map[string]any{"source": "telegram", "external_id": ext, "messages": msgs})
			return r.Map(t)["id"].(string)
		}
		bare := e.NewTenant("no telegram")
		c1 := create(bare, "42", map[string]any{"author": "visitor", "content": "hi"}, map[string]any{"author": "ai_assistant", "content": "hello"})
		configured := e.tenant()
		c2 := create(configured, "43", map[string]any{"author": "visitor", "content": "hi", "created_at": "2020-01-01T10:00:00Z"},
			map[string]any{"author": "ai_assistant", "content": "old answer", "created_at": "2020-01-01T10:01:00Z"})
		noToken := e.NewTenant("secret only")
		e.Configure(noToken, map[string]any{"telegram": map[string]any{"secret_token": secret, "api_base_url": e.fake.URL}})
		e.send(noToken, channeltest.Payload(t, "telegram/message_text.json"))
		c3 := e.Conversations(noToken)[0]["id"].(string)
		e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations/"+c3+"/messages", noToken.Write, map[string]any{"author": "human_operator", "content": "hello"})
		channeltest.Eventually(t, "delivery_failed", func() bool { return len(e.Logs(noToken, c3, "delivery_failed")) == 1 })
		waitJobsDone(t, e.Store)
		if d := e.Logs(noToken, c3, "delivery_failed")[0]["details"].(map[string]any); !strings.Contains(d["error"].(string), "bot_token") {
			t.Errorf("delivery_failed details %v", d)
		}
		if e.fake.Calls() != 0 {
			t.Errorf("%d calls to Telegram, want none", e.fake.Calls())
		}
		if n := len(e.Logs(bare, c1, "delivery_failed")) + len(e.Logs(configured, c2, "delivery_failed")); n != 0 {
			t.Errorf("%d delivery_failed logs for messages that are not replies", n)
		}
		stats, _ := e.Store.JobStats(t.Context())
		if stats[store.JobDeliver]["failed"] != 1 {
			t.Errorf("deliver jobs %v, want exactly the one without a token failed", stats[store.JobDeliver])
		}
	})
}
