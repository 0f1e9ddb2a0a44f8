package whatsapp_test

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/apitest"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/channeltest"
	"github.com/parleyhq/parley/internal/channel/whatsapp"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

const (
	appSecret   = "wa-app-secret"
	verifyToken = "wa-verify-token"
	accessToken = "EAAG-test-access-token"
	phoneID     = "1122334455667" // the fixtures' business number
)

type env struct {
	*channeltest.Env
	fake *channeltest.Fake
}

func start(t *testing.T, open enginetest.Opener, answer func(n int, r channeltest.Request) (int, string)) *env {
	t.Helper()
	fake := channeltest.NewFake(t, answer)
	e := channeltest.Start(t, open, channel.Options{}, func(o channel.Options) map[string]http.Handler {
		return map[string]http.Handler{whatsapp.Pattern: whatsapp.NewHandler(o)}
	}, whatsapp.NewSender(nil))
	return &env{Env: e, fake: fake}
}

// tenant is a new assistant with the WhatsApp channel; phone, when given, is its
// phone_number_id (without it, notifications of any number are taken).
func (e *env) tenant(phone ...string) apitest.Tenant {
	tn := e.NewTenant("whatsapp")
	cfg := map[string]any{"app_secret": appSecret, "verify_token": verifyToken, "access_token": accessToken, "api_base_url": e.fake.URL}
	if len(phone) > 0 {
		cfg["phone_number_id"] = phone[0]
	}
	e.Configure(tn, map[string]any{"whatsapp": cfg})
	return tn
}

func sign(body []byte) string { return "sha256=" + hex.EncodeToString(whatsapp.Sign(appSecret, body)) }

func (e *env) send(tn apitest.Tenant, body []byte) apitest.Response {
	e.T.Helper()
	return e.Post("/channels/whatsapp/"+tn.ID, body, whatsapp.SignatureHeader, sign(body), "Content-Type", "application/json")
}

// cases reads every case of every payload file: "file/case" -> body.
func cases(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	for _, rel := range channeltest.Files(t, "whatsapp-pywa", "*.json") {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(channeltest.Payload(t, rel), &m); err != nil {
			t.Fatal(err)
		}
		for name, body := range m {
			out[strings.TrimSuffix(filepath.Base(rel), ".json")+"/"+name] = body
		}
	}
	return out
}

// body returns one case.
func body(t testing.TB, name string) []byte {
	b, ok := cases(t)[name]
	if !ok {
		t.Fatalf("no case %s", name)
	}
	return b
}

// firstMessage rewrites the first message of a notification.
func firstMessage(t testing.TB, b []byte, edit func(m map[string]any)) []byte {
	return channeltest.Rewrite(t, b, func(n map[string]any) {
		v := n["entry"].([]any)[0].(map[string]any)["changes"].([]any)[0].(map[string]any)["value"].(map[string]any)
		edit(v["messages"].([]any)[0].(map[string]any))
	})
}

func at(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

type want struct {
	id, content, attachments string
	at                       int64
}

// fixtures are the visitor's messages among the cases, and what each becomes.
var fixtures = map[string]want{
	"message/text": {"wamid.xyzxyz", "Body Text", "", 1697043223},
	"message/image": {"wamid.xyzxyz", "", `[{"type":"image","name":null,"size":null,"mime_type":"image/jpeg","file_id":"65463453"}]`,
		1697043379},
	"message/media_with_url": {"wamid.xyzxyz", "", `[{"type":"image","name":null,"size":null,"mime_type":"image/jpeg","file_id":"65463453",
		"url":"https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=65463453&source=webhook&ext=487r9re&hash=heiwchueowbcew-dnedcw"}]`, 1697043379},
	"message/video": {"wamid.xyzxyz", "caption", `[{"type":"video","name":null,"size":null,"mime_type":"video/mp4","file_id":"765756756"}]`,
		1697044362},
	"message/document": {"wamid.xyzxyz", "caption", `[{"type":"document","name":"filename.pdf","size":null,"mime_type":"application/pdf",
		"file_id":"1234567890987654321"}]`, 1697043666},
	"message/audio": {"wamid.xyzxyz", "", `[{"type":"audio","name":null,"size":null,"mime_type":"audio/ogg; codecs=opus",
		"file_id":"1234567890987654321"}]`, 1697043509},
	"message/voice": {"wamid.xyzxyz", "", `[{"type":"voice","name":null,"size":null,"mime_type":"audio/ogg; codecs=opus",
		"file_id":"1234567890987654321"}]`, 1697043473},
	"message/static_sticker": {"wamid.xyzxyz", "", `[{"type":"sticker","name":null,"size":null,"mime_type":"image/webp",
		"file_id":"1234567890987654321"}]`, 1697043760},
	"message/animated_sticker": {"wamid.xyzxyz", "", `[{"type":"sticker","name":null,"size":null,"mime_type":"image/webp",
		"file_id":"1234567890987654321"}]`, 1697043785},
	"message/current_location": {"wamid.xyzxyz", "", `[{"type":"location","name":null,"size":null,"mime_type":null,
		"latitude":12.25089,"longitude":43.90539}]`, 1697044557},
	"message/chosen_location": {"wamid.xyzxyz", "", `[{"type":"location","name":"Facebook HQ","size":null,"mime_type":null,
		"url":"https://maps.google.com/?cid=2000000000000000000","latitude":37.4611978,"longitude":-122.2164385,
		"address":"1 Hacker Way, Menlo Park, CA 94025"}]`, 1697044557},
	"message/contacts": {"wamid.xyzxyz", "", `[{"type":"contact","name":"Chandler Bing","size":null,"mime_type":null,"phone":"+1 555-555-5555"},
		{"type":"contact","name":"Monica","size":null,"mime_type":null,"phone":"+1 666-666-6666"},
		{"type":"contact","name":"Rachel Green","size":null,"mime_type":null,"phone":"+1 777-777-7777"}]`, 1697044621},
	"message/order": {"wamid.xyzxyz", "", `[{"type":"order","name":null,"size":null,"mime_type":null,"details":{"catalog_id":"354160437058781",
		"text":"","product_items":[{"product_retailer_id":"HAMBURGER","quantity":3,"item_price":30,"currency":"ILS"},
		{"product_retailer_id":"FRENCH_FRIES","quantity":2,"item_price":35,"currency":"ILS"},
		{"product_retailer_id":"SODA","quantity":2,"item_price":10,"currency":"ILS"}]}}]`, 1697044668},
	"message/unsupported":                         {"wamid.xyzxyz", "", `[{"type":"unsupported","name":null,"size":null,"mime_type":null}]`, 1697044706},
	"message/unsupported_with_type":               {"wamid.xyzxyz", "", `[{"type":"unsupported","name":"pool","size":null,"mime_type":null}]`, 1697044706},
	"message/reply":                               {"wamid.xyzxyz", "replied text", "", 1697044746},
	"message/forwarded":                           {"wamid.xyzxyz", "forwarded text", "", 1697044815},
	"message/forwarded_many_times":                {"wamid.xyzxyz", "text forwarded many times", "", 1697044968},
	"message/referral":                            {"wamid.ID", "BODY", "", 1697045000},
	"callback_button/button":                      {"wamid.xyzxyz", "title", "", 1698266730},
	"callback_button/quick_reply":                 {"wamid.xsidjw", "title", "", 1698269027},
	"callback_button/quick_reply_without_context": {"wamid.xsidjx", "title", "", 1698269027},
	"callback_selection/callback":                 {"wamid.zyzxyz", "title", "", 1698266905},
	"callback_selection/description":              {"wamid.zyzxyz", "title", "", 1698266905},
	"flow_completion/completion": {"wamid.wegrchytvwcggt==", "Sent", `[{"type":"form_response","name":"flow","size":null,"mime_type":null,
		"details":{"comment_text":"Comment Text","delivery_rating":"4","flow_token":"AQAAAAACS5FpgQ_cAAAAAD0QI3s.","purchase_rating":"2",
		"recommend_radio":"0","cs_rating":"0"}}]`, 1702502473},
	"flow_completion/without_flow_token": {"wamid.wegrchytvwcggt==", "Sent", `[{"type":"form_response","name":"flow","size":null,"mime_type":null,
		"details":{"comment_text":"Comment Text","delivery_rating":"4","purchase_rating":"2","recommend_radio":"0","cs_rating":"0"}}]`, 1702502473},
}

func person(msgs ...channeltest.WantMessage) channeltest.Want {
	return channeltest.Want{Source: "whatsapp", ConversationExternalID: "972987654321", VisitorName: channeltest.S("Test Name"),
		VisitorPhoneNumber: channeltest.S("+972987654321"), Messages: msgs}
}

// TestFixtures sends every case of every payload file, signed, each to its own assistant:
// the visitor's messages become the expected conversation and message, field by field; the
// rest (reactions, statuses of unknown chats, edits of unknown messages, account, template,
// call and preference updates, business echoes, system notices) are acknowledged and store
// nothing.
func TestFixtures(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, nil)
		all := cases(t)
		for name, b := range all {
			t.Run(name, func(t *testing.T) {
				e.T = t
				tn := e.tenant()
				if r := e.send(tn, b); r.Status != http.StatusOK {
					t.Fatalf("status %d: %s", r.Status, r.Body)
				}
				w, ok := fixtures[name]
				if !ok {
					e.NothingStored(tn)
					return
				}
				e.Check(tn, person(channeltest.WantMessage{ExternalID: w.id, Content: w.content, Attachments: w.attachments, CreatedAt: at(w.at)}))
			})
		}
		e.T = t
		for name := range fixtures {
			if _, ok := all[name]; !ok {
				t.Errorf("case %s was not sent", name)
			}
		}
		if len(all) < 60 {
			t.Errorf("only %d cases", len(all))
		}
	})
}

// TestOneChat sends every visitor message to one assistant, each with its own wamid (the
// cases share one) and twice (Meta redelivers until it gets a 200): one conversation, one
// message per case, in order.
func TestOneChat(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, nil)
		tn := e.tenant(phoneID)
		names := make([]string, 0, len(fixtures))
		for name := range fixtures {
			names = append(names, name)
		}
		// In the order they were sent, as they would arrive.
		slices.SortFunc(names, func(a, b string) int {
			if d := fixtures[a].at - fixtures[b].at; d != 0 {
				return int(d)
			}
			return strings.Compare(a, b)
		})
		var msgs []channeltest.WantMessage
		for i, name := range names {
			id := "wamid.case" + string(rune('A'+i))
			b := firstMessage(t, body(t, name), func(m map[string]any) { m["id"] = id })
			for range 2 {
				if r := e.send(tn, b); r.Status != 200 {
					t.Fatalf("%s: status %d: %s", name, r.Status, r.Body)
				}
			}
			w := fixtures[name]
			msgs = append(msgs, channeltest.WantMessage{ExternalID: id, Content: w.content, Attachments: w.attachments, CreatedAt: at(w.at)})
		}
		e.Check(tn, person(msgs...))
	})
}

// TestStatuses: delivery statuses of the messages sent to a visitor become delivery_status
// log events in the visitor's conversation (failed: delivery_failed with WhatsApp's error),
// once each however often Meta sends them.
func TestStatuses(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, nil)
		tn := e.tenant(phoneID)
		e.send(tn, body(t, "message/text"))
		for range 2 {
			for _, name := range []string{"sent", "delivered", "read", "played", "failed", "with_tracker", "group"} {
				if r := e.send(tn, body(t, "message_status/"+name)); r.Status != 200 {
					t.Fatalf("%s: status %d: %s", name, r.Status, r.Body)
				}
			}
		}
		id := e.Conversations(tn)[0]["id"].(string)
		var statuses []string
		for _, l := range e.Logs(tn, id, "delivery_status") {
			d := l["details"].(map[string]any)
			if d["platform_message_id"] != "wamid.xyzxyz" || l["actor"].(map[string]any)["type"] != "system" {
				t.Errorf("delivery_status %v", l)
			}
			statuses = append(statuses, d["status"].(string))
		}
		if !slices.Equal(statuses, []string{"sent", "delivered", "read", "played"}) {
			t.Errorf("delivery_status logs for %v, want sent, delivered, read, played (once each)", statuses)
		}
		failed := e.Logs(tn, id, "delivery_failed")
		if len(failed) != 1 {
			t.Fatalf("%d delivery_failed logs, want 1", len(failed))
		}
		d := failed[0]["details"].(map[string]any)
		if d["status"] != "failed" || !strings.Contains(d["error"].(string), "part of an experiment") ||
			!strings.Contains(failed[0]["content"].(string), "User's number is part of an experiment") {
			t.Errorf("delivery_failed %v", failed[0])
		}
	})
}

// TestEditAndDelete: an edit replaces the text, keeping the old one in a log event; a
// revoke adds a message_deleted log event and keeps the text.
func TestEditAndDelete(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, nil)
		tn := e.tenant()
		const original = "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA="
		e.send(tn, firstMessage(t, body(t, "message/text"), func(m map[string]any) { m["id"] = original }))
		e.send(tn, firstMessage(t, body(t, "message/forwarded"), func(m map[string]any) { m["id"] = "<ORIGINAL_WHATSAPP_MESSAGE_ID>" }))
		for range 2 {
			for _, name := range []string{"edited_message/image", "deleted_message/revoke"} {
				if r := e.send(tn, body(t, name)); r.Status != 200 {
					t.Fatalf("%s: status %d: %s", name, r.Status, r.Body)
				}
			}
		}
		id := e.Check(tn, person(
			channeltest.WantMessage{ExternalID: original, Content: "Updated image caption", CreatedAt: at(1697043223)},
			channeltest.WantMessage{ExternalID: "<ORIGINAL_WHATSAPP_MESSAGE_ID>", Content: "forwarded text", CreatedAt: at(1697044815)}))
		edits := e.Logs(tn, id, "message_edited")
		if len(edits) != 1 || edits[0]["details"].(map[string]any)["from"] != "Body Text" {
			t.Errorf("message_edited logs %v", edits)
		}
		dels := e.Logs(tn, id, "message_deleted")
		if len(dels) != 1 || dels[0]["details"].(map[string]any)["content"] != "forwarded text" {
			t.Errorf("message_deleted logs %v", dels)
		}
	})
}

// TestHandshake: Meta's GET subscription check echoes hub.challenge for our verify token.
func TestHandshake(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, nil)
		tn := e.tenant()
		unconfigured := e.NewTenant("no whatsapp")
		get := func(id string, q url.Values) apitest.Response {
			return e.Do("GET", "/channels/whatsapp/"+id+"?"+q.Encode(), "", nil)
		}
		q := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {verifyToken}, "hub.challenge": {"1158201444"}}
		r := get(tn.ID, q)
		if r.Status != 200 || string(r.Body) != "1158201444" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("handshake: %d %q %s", r.Status, r.Body, r.Header.Get("Content-Type"))
		}
		for _, c := range []struct {
			name   string
			id     string
			q      url.Values
			status int
		}{
			{"wrong token", tn.ID, url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"nope"}, "hub.challenge": {"1"}}, 401},
			{"no token", tn.ID, url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"1"}}, 401},
			{"wrong mode", tn.ID, url.Values{"hub.mode": {"unsubscribe"}, "hub.verify_token": {verifyToken}, "hub.challenge": {"1"}}, 400},
			{"no challenge", tn.ID, url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {verifyToken}}, 400},
			{"unknown assistant", "0190a0a0-0000-7000-8000-000000000000", q, 404},
			{"not configured", unconfigured.ID, q, 404},
		} {
			if r := get(c.id, c.q); r.Status != c.status || strings.Contains(string(r.Body), "1158201444") {
				t.Errorf("%s: status %d, want %d: %s", c.name, r.Status, c.status, r.Body)
			}
		}
		if r := e.Do("PUT", "/channels/whatsapp/"+tn.ID, "", nil); r.Status != http.StatusMethodNotAllowed {
			t.Errorf("PUT: status %d, want 405", r.Status)
		}
	})
}

// TestRefused: notifications that fail the check, or have nowhere to go, store nothing.
func TestRefused(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, nil)
		tn := e.tenant()
		unconfigured := e.NewTenant("no whatsapp")
		otherNumber := e.tenant("999999999")
		b := body(t, "message/text")
		big := []byte(`{"object":"whatsapp_business_account","entry":[],"x":"` + strings.Repeat("x", 1<<20) + `"}`)
		path := "/channels/whatsapp/" + tn.ID
		for _, c := range []struct {
			name   string
			path   string
			body   []byte
			header []string
			status int
		}{
			{"wrong signature", path, b, []string{whatsapp.SignatureHeader, "sha256=" + strings.Repeat("00", 32)}, 401},
			{"signature of another body", path, b, []string{whatsapp.SignatureHeader, sign(append([]byte(" "), b...))}, 401},
			{"sha1 signature", path, b, []string{whatsapp.SignatureHeader, "sha1=" + strings.Repeat("00", 20)}, 401},
			{"missing signature", path, b, nil, 401},
			{"unknown assistant", "/channels/whatsapp/0190a0a0-0000-7000-8000-000000000000", b, []string{whatsapp.SignatureHeader, sign(b)}, 404},
			{"not configured", "/channels/whatsapp/" + unconfigured.ID, b, []string{whatsapp.SignatureHeader, sign(b)}, 404},
			{"oversized body", path, big, []string{whatsapp.SignatureHeader, sign(big)}, 413},
			{"not JSON", path, []byte("x"), []string{whatsapp.SignatureHeader, sign([]byte("x"))}, 400},
		} {
			if r := e.Post(c.path, c.body, c.header...); r.Status != c.status {
				t.Errorf("%s: status %d, want %d: %s", c.name, r.Status, c.status, r.Body)
			}
		}
		// Another number of the same Meta app: acknowledged, not ours.
		if r := e.send(otherNumber, b); r.Status != 200 {
			t.Errorf("another number: status %d", r.Status)
		}
		e.NothingStored(tn)
		e.NothingStored(unconfigured)
		e.NothingStored(otherNumber)
	})
}

// TestReplies: replies reach the messages endpoint of the assistant's number for the
// visitor's wa_id; a failing API (500 twice, then a rate limit) gets the reply once it
// recovers;
// a refusal is a delivery_failed log event.
func TestReplies(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, func(n int, r channeltest.Request) (int, string) {
			text, _ := r.Body["text"].(map[string]any)
			switch {
			case text["body"] == "refused":
				return 400, `{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,
					"error_data":{"messaging_product":"whatsapp","details":"Message failed to send because more than 24 hours have passed"}}}`
			case n < 2:
				return 500, `{"error":{"message":"An unknown error occurred","code":1}}`
			case n == 2:
				return 400, `{"error":{"message":"(#131056) (Business Account, Consumer Account) pair rate limit hit","code":131056}}`
			}
			return 200, `{"messaging_product":"whatsapp","contacts":[{"input":"972987654321","wa_id":"972987654321"}],"messages":[{"id":"wamid.reply"}]}`
		})
		tn := e.tenant(phoneID)
		e.send(tn, body(t, "message/text"))
		id := e.Conversations(tn)[0]["id"].(string)
		e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations/"+id+"/messages", tn.Write, map[string]any{"author": "human_operator", "content": "Hi from support"})
		channeltest.Eventually(t, "the retried reply", func() bool { return e.fake.Calls() == 4 })
		waitJobsDone(t, e.Store)
		if e.fake.Calls() != 4 || len(e.Logs(tn, id, "delivery_failed")) != 0 {
			t.Fatalf("%d calls, %d delivery_failed; want 4 and none", e.fake.Calls(), len(e.Logs(tn, id, "delivery_failed")))
		}
		r := e.fake.Requests()[3]
		wantBody := map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual", "to": "972987654321", "type": "text",
			"text": map[string]any{"body": "Hi from support"}}
		if r.Path != "/"+phoneID+"/messages" || r.Header.Get("Authorization") != "Bearer "+accessToken {
			t.Errorf("call %s with %q", r.Path, r.Header.Get("Authorization"))
		}
		if got, _ := json.Marshal(r.Body); string(got) != string(mustJSON(wantBody)) {
			t.Errorf("call body %s, want %s", got, mustJSON(wantBody))
		}

		e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations/"+id+"/messages", tn.Write, map[string]any{"author": "human_operator", "content": "refused"})
		channeltest.Eventually(t, "delivery_failed", func() bool { return len(e.Logs(tn, id, "delivery_failed")) == 1 })
		d := e.Logs(tn, id, "delivery_failed")[0]["details"].(map[string]any)
		if !strings.Contains(d["error"].(string), "131047") || !strings.Contains(d["error"].(string), "24 hours") {
			t.Errorf("delivery_failed details %v", d)
		}
		waitJobsDone(t, e.Store)
		if e.fake.Calls() != 5 {
			t.Errorf("%d calls, want 5 (a refusal is not retried)", e.fake.Calls())
		}
	})
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

func waitJobsDone(t *testing.T, st store.Store) {
	t.Helper()
	channeltest.Eventually(t, "deliver jobs to finish", func() bool {
		stats, err := st.JobStats(t.Context())
		return err == nil && stats[store.JobDeliver]["pending"] == 0 && stats[store.JobDeliver]["running"] == 0
	})
}
