// Package channeltest is what the channel adapters' tests share: the real webhook payloads
// from ../shared/testdata/webhooks, a Parley server with the channel routes and the delivery
// runner, a local fake of a platform's API, and readers of what the API then shows.
package channeltest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/apitest"
	"github.com/parleyhq/parley/internal/channel"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

// Root returns the repository root: the nearest folder above the working directory that
// holds go.mod.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Webhooks returns the folder of the real webhook payloads: <root>/../shared/testdata/webhooks.
func Webhooks(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(Root(t), "..", "shared", "testdata", "webhooks")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the shared webhook payloads are missing: %v", err)
	}
	return dir
}

// Payload reads one payload file, by its path under the webhooks folder.
func Payload(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Webhooks(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Files lists the payload files of one platform's folder matching pattern (e.g. "*.json").
func Files(t testing.TB, platform, pattern string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(Webhooks(t), platform, pattern))
	if err != nil || len(names) == 0 {
		t.Fatalf("no %s payloads in %s (%v)", pattern, platform, err)
	}
	for i, n := range names {
		names[i] = filepath.Join(platform, filepath.Base(n))
	}
	return names
}

// MaxAttempts is how often the test runner tries a delivery before it gives up.
const MaxAttempts = 6

// Env is a Parley server with channel routes and a delivery runner.
type Env struct {
	*apitest.Env
}

// Start runs a server whose Mounts come from mounts (given the channel options on the
// server's store and opts) and whose job runner delivers replies with senders, retrying
// after a few milliseconds instead of seconds, MaxAttempts times.
func Start(t testing.TB, open enginetest.Opener, opts channel.Options, mounts func(o channel.Options) map[string]http.Handler, senders ...channel.Sender) *Env {
	t.Helper()
	e := apitest.StartWith(t, open, apitest.Config{
		Mounts: func(st store.Store) map[string]http.Handler {
			o := opts
			o.Store = st
			return mounts(o)
		},
		Jobs: func(st store.Store, r *jobs.Runner) {
			channel.NewDeliverer(st, nil, senders...).Register(r)
		},
		JobOptions: jobs.Options{Poll: 10 * time.Millisecond, MaxAttempts: MaxAttempts, Backoff: func(int) time.Duration { return 20 * time.Millisecond }},
	})
	return &Env{Env: e}
}

// Configure sets the tenant's channels settings through the API.
func (e *Env) Configure(tn apitest.Tenant, channels map[string]any) {
	e.T.Helper()
	e.Must(http.StatusOK, "PATCH", "/v1/api_core/settings", tn.Write, map[string]any{"channels": channels})
}

// Conversations lists the tenant's conversations (the API's items, oldest ord first).
func (e *Env) Conversations(tn apitest.Tenant) []map[string]any {
	e.T.Helper()
	var page struct {
		Items []map[string]any `json:"items"`
	}
	e.Must(http.StatusOK, "GET", "/v1/api_core/conversations?limit=100&sort=ord", tn.Read, nil).JSON(e.T, &page)
	return page.Items
}

// Detail reads one conversation's detail.
func (e *Env) Detail(tn apitest.Tenant, id string) map[string]any {
	e.T.Helper()
	return e.Must(http.StatusOK, "GET", "/v1/api_core/conversations/"+id, tn.Read, nil).Map(e.T)
}

// Events reads a conversation's timeline (the API's items).
func (e *Env) Events(tn apitest.Tenant, id string) []map[string]any {
	e.T.Helper()
	var page struct {
		Items []map[string]any `json:"items"`
	}
	e.Must(http.StatusOK, "GET", "/v1/api_core/conversations/"+id+"/events?limit=100", tn.Read, nil).JSON(e.T, &page)
	return page.Items
}

// CountConversations counts the tenant's conversations in the store.
func (e *Env) CountConversations(tn apitest.Tenant) int {
	e.T.Helper()
	return len(e.Conversations(tn))
}

// Post sends a webhook request and returns the answer.
func (e *Env) Post(path string, body []byte, header ...string) apitest.Response {
	e.T.Helper()
	return e.Do("POST", path, "", body, header...)
}

// Eventually waits (up to 10 s) for cond.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---- a fake platform API ----

// Request is one call the fake received.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   map[string]any
}

// Fake is a local stand-in for a platform's API: it records every call and answers with
// Answer (default 200 {"ok": true}).
type Fake struct {
	URL string
	mu  sync.Mutex
	got []Request
	// Answer decides the n-th (from 0) answer.
	answer func(n int, r Request) (int, string)
}

// NewFake starts a fake answering with answer (nil: always 200 {"ok":true}).
func NewFake(t testing.TB, answer func(n int, r Request) (int, string)) *Fake {
	f := &Fake{answer: answer}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone()}
		_ = json.Unmarshal(b, &req.Body)
		f.mu.Lock()
		n := len(f.got)
		f.got = append(f.got, req)
		f.mu.Unlock()
		status, body := http.StatusOK, `{"ok":true}`
		if f.answer != nil {
			status, body = f.answer(n, req)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(hs.Close)
	f.URL = hs.URL
	return f
}

// Requests returns the calls so far.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.got...)
}

// Calls counts the calls so far.
func (f *Fake) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.got)
}

// ---- expectations ----

// Want is the one conversation a tenant must have, field by field.
type Want struct {
	Source                 string
	ConversationExternalID string
	VisitorName            *string
	VisitorLabel           *string
	VisitorPhoneNumber     *string
	Messages               []WantMessage
}

// WantMessage is one visitor message of a Want, in timeline order.
type WantMessage struct {
	ExternalID  string
	Content     string
	Attachments string    // JSON array; "" is []
	CreatedAt   time.Time // zero: not checked
}

// S returns a pointer to s.
func S(s string) *string { return &s }

// Check fails unless the tenant has exactly the conversation w, as the API shows it and with
// the platform's ids in the store; it returns the conversation's id.
func (e *Env) Check(tn apitest.Tenant, w Want) string {
	t := e.T
	t.Helper()
	items := e.Conversations(tn)
	if len(items) != 1 {
		t.Fatalf("%d conversations, want 1: %v", len(items), items)
	}
	c := items[0]
	id, _ := c["id"].(string)
	same := func(what string, got, want any) {
		t.Helper()
		if !jsonEqual(got, want) {
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(want)
			t.Errorf("%s = %s, want %s", what, gb, wb)
		}
	}
	same("source", c["source"], w.Source)
	same("visitor_name", c["visitor_name"], w.VisitorName)
	same("visitor_label", c["visitor_label"], w.VisitorLabel)
	same("visitor_phone_number", c["visitor_phone_number"], w.VisitorPhoneNumber)
	same("visitor_email", c["visitor_email"], nil)
	same("supports_inbox_control", c["supports_inbox_control"], true)
	same("has_unread_messages", c["has_unread_messages"], len(w.Messages) > 0)
	same("terminated", c["terminated"], false)
	same("resolution_status", c["resolution_status"], "open")
	same("assignee", c["assignee"], map[string]any{"type": "ai_assistant"})
	if n := len(w.Messages); n > 0 {
		same("last_message_content", c["last_message_content"], w.Messages[n-1].Content)
	}
	stored, err := e.Store.Conversation(t.Context(), tn.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	same("external_id (store)", stored.ExternalID, w.ConversationExternalID)
	var messages []map[string]any
	for _, ev := range e.Events(tn, id) {
		if ev["type"] == "message" {
			messages = append(messages, ev["data"].(map[string]any))
		}
	}
	page, err := e.Store.Events(t.Context(), tn.ID, id, cvEventFilter())
	if err != nil {
		t.Fatal(err)
	}
	var exts []string
	for _, ev := range page.Items {
		if ev.Message != nil && ev.ExternalID != nil {
			exts = append(exts, *ev.ExternalID)
		}
	}
	if len(messages) != len(w.Messages) || len(exts) != len(w.Messages) {
		t.Fatalf("%d messages (%d with an external id), want %d: %v", len(messages), len(exts), len(w.Messages), messages)
	}
	for i, wm := range w.Messages {
		m := messages[i]
		p := "message " + wm.ExternalID + " "
		same(p+"external_id (store)", exts[i], wm.ExternalID)
		same(p+"content", m["content"], wm.Content)
		same(p+"author", m["author"], "visitor")
		same(p+"handoff_state", m["handoff_state"], nil)
		same(p+"is_welcome", m["is_welcome"], false)
		same(p+"sources_generated", m["sources_generated"], []any{})
		atts := wm.Attachments
		if atts == "" {
			atts = "[]"
		}
		same(p+"attachments", m["attachments"], json.RawMessage(atts))
		if !wm.CreatedAt.IsZero() {
			same(p+"created_at", m["created_at"], wm.CreatedAt.UTC().Format(time.RFC3339Nano))
		}
	}
	return id
}

// Logs returns the data of a conversation's log events of a kind.
func (e *Env) Logs(tn apitest.Tenant, id, kind string) []map[string]any {
	e.T.Helper()
	var out []map[string]any
	for _, ev := range e.Events(tn, id) {
		if d, _ := ev["data"].(map[string]any); ev["type"] == "log" && d["kind"] == kind {
			out = append(out, d)
		}
	}
	return out
}

// NothingStored fails unless the tenant has no conversation at all (read from the store).
func (e *Env) NothingStored(tn apitest.Tenant) {
	e.T.Helper()
	page, err := e.Store.Conversations(e.T.Context(), tn.ID, cvFilter())
	if err != nil {
		e.T.Fatal(err)
	}
	if page.Count != 0 || len(page.Items) != 0 {
		e.T.Errorf("%d conversations stored, want none", page.Count)
	}
}

func jsonEqual(a, b any) bool {
	norm := func(v any) any {
		bs, err := json.Marshal(v)
		if err != nil {
			return err.Error()
		}
		var out any
		_ = json.Unmarshal(bs, &out)
		return out
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// Rewrite decodes a JSON body, lets edit change it, and encodes it again (numbers kept as
// written).
func Rewrite(t testing.TB, body []byte, edit func(m map[string]any)) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Obj returns m[key] as an object (failing the test when it is not one).
func Obj(t testing.TB, m map[string]any, key string) map[string]any {
	t.Helper()
	v, ok := m[key].(map[string]any)
	if !ok {
		t.Fatalf("%s is not an object", key)
	}
	return v
}

func cvEventFilter() cv.EventFilter { return cv.EventFilter{Limit: cv.MaxLimit} }

func cvFilter() cv.Filter { return cv.Filter{Limit: 10} }
