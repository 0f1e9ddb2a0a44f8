package llm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/analysis"
	"github.com/parleyhq/parley/internal/analysis/llm"
	"github.com/parleyhq/parley/internal/analysis/llm/llmtest"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/settings"
)

const key = "sk-test-9f8e7d6c5b4a"

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func input() analysis.Input {
	return analysis.Input{
		Topics: []settings.Topic{{Name: "Billing", Description: "invoices, refunds"}, {Name: "Shipping"}},
		Messages: []analysis.Message{
			{Author: cv.AuthorVisitor, Content: "Hi, I was charged twice for order ORD-0012345.", CreatedAt: t0},
			{Author: cv.AuthorAI, Content: "I'm sorry to hear that. Let me check.", CreatedAt: t0.Add(time.Minute)},
			{Author: cv.AuthorVisitor, Content: "Can a colleague of yours take over please?", CreatedAt: t0.Add(2 * time.Minute)},
		},
		Now: t0.Add(3 * time.Minute),
	}
}

// offline is what the offline analyzers might have said.
func offline() analysis.Result {
	return analysis.Result{
		Messages: make([]analysis.MessageInsight, 3), Sentiment: &analysis.Sentiment{Label: "neutral"},
		Topic: "Shipping", TopicFromList: true, ResolutionStatus: analysis.ResolutionOpen,
		Title: "I was charged twice for order ORD-0012345", Keywords: []string{"charged twice"},
	}
}

var good = map[string]any{
	"title": "Double charge on order ORD-0012345", "topic": "billing", "is_flagged": true,
	"flag_reason": "human_requested", "summary": "The visitor was charged twice and asked for a person.",
}

func refiner(s *llmtest.Server) *llm.Refiner {
	return &llm.Refiner{Config: llm.Config{BaseURL: s.BaseURL(), Model: "test-model", APIKey: key}}
}

func TestGoodAnswerUsed(t *testing.T) {
	s := llmtest.New(t, func(llm.ChatRequest) llmtest.Reply { return llmtest.Content(good) })
	r, err := analysis.Refine(context.Background(), refiner(s), time.Second, input(), offline())
	if err != nil {
		t.Fatal(err)
	}
	if r.Title != good["title"] || r.Topic != "Billing" || !r.TopicFromList {
		t.Errorf("title %q topic %q (from list %v)", r.Title, r.Topic, r.TopicFromList)
	}
	if !r.IsFlagged || len(r.Flags) != 1 || r.Flags[0].Kind != analysis.FlagHumanRequested || r.FlagReason == nil || *r.FlagReason != r.Flags[0].Reason {
		t.Errorf("flags %+v reason %v", r.Flags, r.FlagReason)
	}
	if r.Summary == nil || *r.Summary != good["summary"] {
		t.Errorf("summary %v", r.Summary)
	}
	// What stays offline.
	if r.Sentiment.Label != "neutral" || r.ResolutionStatus != analysis.ResolutionOpen || len(r.Messages) != 3 || r.Keywords[0] != "charged twice" {
		t.Errorf("offline fields changed: %+v", r)
	}

	// The request: one POST to {base}/chat/completions, OpenAI-compatible, the key as a bearer
	// token, the conversation, the topics and the offline result in it.
	reqs := s.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	q := reqs[0]
	if q.Path != "/v1/chat/completions" || q.Authorization != "Bearer "+key {
		t.Errorf("path %q authorization %q", q.Path, q.Authorization)
	}
	var raw map[string]any
	if err := json.Unmarshal(q.Raw, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["model"] != "test-model" || raw["temperature"] != 0.0 || !reflect.DeepEqual(raw["response_format"], map[string]any{"type": "json_object"}) {
		t.Errorf("request %s", q.Raw)
	}
	if len(q.Body.Messages) != 2 || q.Body.Messages[0].Role != "system" || q.Body.Messages[1].Role != "user" {
		t.Fatalf("messages %+v", q.Body.Messages)
	}
	user := q.Body.Messages[1].Content
	for _, want := range []string{"ORD-0012345", "colleague of yours", `"name":"Billing"`, `"offline"`, "I was charged twice for order"} {
		if !strings.Contains(user, want) {
			t.Errorf("user message lacks %q: %s", want, user)
		}
	}
	if strings.Contains(user, key) || strings.Contains(q.Body.Messages[0].Content, key) {
		t.Error("the key is in the prompt")
	}
}

// Each bad answer leaves the offline result in place: the whole of it when the answer is
// unusable, the one field when only that field is wrong.
func TestFallbacks(t *testing.T) {
	off := offline()
	long := strings.Repeat("Very long title ", 5)
	for _, c := range []struct {
		name  string
		reply llmtest.Reply
		err   bool
		check func(t *testing.T, r analysis.Result)
	}{
		{name: "invalid JSON", reply: llmtest.Reply{Content: `{"title": "Double charge",`}, err: true},
		{name: "prose", reply: llmtest.Reply{Content: `Sure! The title is "Double charge".`}, err: true},
		{name: "two objects", reply: llmtest.Reply{Content: `{"title": "A"} {"title": "B"}`}, err: true},
		{name: "HTTP 500", reply: llmtest.Reply{Status: 500, Content: `{"title": "Double charge"}`}, err: true},
		{name: "HTTP 429", reply: llmtest.Reply{Status: 429, Body: `{"error": {"message": "slow down"}}`}, err: true},
		{name: "not a completion", reply: llmtest.Reply{Body: `{"title": "Double charge"}`}, err: true},
		{name: "no content", reply: llmtest.Reply{Body: `{"choices": [{"message": {"role": "assistant", "content": null, "refusal": "no"}}]}`}, err: true},
		{name: "too large", reply: llmtest.Reply{Body: `{"choices": [], "pad": "` + strings.Repeat("x", llm.MaxResponseBytes) + `"}`}, err: true},
		{name: "slow", reply: llmtest.Reply{Delay: 3 * time.Second, Content: `{"title": "Double charge"}`}, err: true},
		{name: "wrong topic", reply: llmtest.Content(map[string]any{"title": "Double charge", "topic": "Refunds"}), check: func(t *testing.T, r analysis.Result) {
			if r.Topic != off.Topic || !r.TopicFromList || r.Title != "Double charge" {
				t.Errorf("topic %q title %q", r.Topic, r.Title)
			}
		}},
		{name: "over-long title", reply: llmtest.Content(map[string]any{"title": long, "topic": "Billing"}), check: func(t *testing.T, r analysis.Result) {
			if r.Title != off.Title || r.Topic != "Billing" {
				t.Errorf("title %q topic %q", r.Title, r.Topic)
			}
		}},
		{name: "wrong types", reply: llmtest.Content(map[string]any{"title": 5, "topic": []string{"Billing"}, "is_flagged": "yes", "summary": false}), check: func(t *testing.T, r analysis.Result) {
			if !reflect.DeepEqual(r, off) {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "flag without reason", reply: llmtest.Content(map[string]any{"is_flagged": true, "flag_reason": nil}), check: func(t *testing.T, r analysis.Result) {
			if r.IsFlagged || len(r.Flags) != 0 {
				t.Errorf("flags %+v", r.Flags)
			}
		}},
		{name: "over-long summary and reason", reply: llmtest.Content(map[string]any{"is_flagged": true, "flag_reason": strings.Repeat("bad ", 60), "summary": strings.Repeat("word ", 120)}), check: func(t *testing.T, r analysis.Result) {
			if r.IsFlagged || r.Summary != nil {
				t.Errorf("flags %+v summary %v", r.Flags, r.Summary)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := llmtest.New(t, func(llm.ChatRequest) llmtest.Reply { return c.reply })
			start := time.Now()
			r, err := analysis.Refine(context.Background(), refiner(s), 300*time.Millisecond, input(), off)
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("took %s with a 300ms timeout", took)
			}
			if c.err {
				if err == nil {
					t.Fatal("no error")
				}
				if strings.Contains(err.Error(), key) {
					t.Errorf("the key is in the error: %v", err)
				}
				if !reflect.DeepEqual(r, off) {
					t.Errorf("not the offline result: %+v", r)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, r)
		})
	}
}

func TestSlowAnswerIsDeadline(t *testing.T) {
	s := llmtest.New(t, func(llm.ChatRequest) llmtest.Reply { return llmtest.Reply{Delay: 5 * time.Second, Content: `{}`} })
	_, err := analysis.Refine(context.Background(), refiner(s), 100*time.Millisecond, input(), offline())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

// The model raises flags; it does not clear those the offline rules raised, and the strongest
// stays first.
func TestFlagsOnlyAdded(t *testing.T) {
	off := offline()
	reason := "Visitor complained: “charged twice”"
	off.Flags = []analysis.Flag{{Kind: analysis.FlagComplaint, Reason: reason}}
	off.IsFlagged, off.FlagReason = true, &reason
	in := input()
	for _, c := range []struct {
		answer string
		kinds  []string
	}{
		{`{"is_flagged": false, "flag_reason": null}`, []string{"complaint"}},
		{`{"is_flagged": true, "flag_reason": "complaint"}`, []string{"complaint"}},
		{`{"is_flagged": true, "flag_reason": "Human_Requested"}`, []string{"human_requested", "complaint"}},
		{`{"is_flagged": true, "flag_reason": "Threatens to cancel the contract"}`, []string{"complaint", "other"}},
		{`{"is_flagged": true, "flag_reason": "unanswered"}`, []string{"complaint"}},
	} {
		r, refused, err := llm.Apply(c.answer, in, off)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, f := range r.Flags {
			kinds = append(kinds, f.Kind)
		}
		if !reflect.DeepEqual(kinds, c.kinds) || !r.IsFlagged || *r.FlagReason != r.Flags[0].Reason {
			t.Errorf("%s: kinds %v reason %v (refused %v)", c.answer, kinds, *r.FlagReason, refused)
		}
	}
	if len(off.Flags) != 1 {
		t.Errorf("the offline flags were changed: %+v", off.Flags)
	}
	// A fenced answer and a free topic label without a topic list.
	in.Topics = nil
	r, _, err := llm.Apply("```json\n{\"topic\": \"Double  charge\\n\", \"title\": \"Charged twice\"}\n```", in, offline())
	if err != nil || r.Topic != "Double charge" || r.TopicFromList || r.Title != "Charged twice" {
		t.Errorf("fenced: %q %v %q %v", r.Topic, r.TopicFromList, r.Title, err)
	}
}

// The key and the conversation never reach the logs, whatever the provider answers.
func TestKeyNotLogged(t *testing.T) {
	var logs bytes.Buffer
	n := 0
	s := llmtest.New(t, func(llm.ChatRequest) llmtest.Reply {
		n++
		if n == 1 {
			return llmtest.Content(map[string]any{"title": strings.Repeat("x", 70), "topic": "Nope", "summary": "fine"})
		}
		return llmtest.Reply{Status: 401, Body: `{"error": {"message": "Incorrect API key provided: ` + key + `"}}`}
	})
	ref := refiner(s)
	ref.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if _, err := ref.Refine(context.Background(), input(), offline()); err != nil {
		t.Fatal(err)
	}
	_, err := ref.Refine(context.Background(), input(), offline())
	if err == nil || strings.Contains(err.Error(), key) || strings.Contains(err.Error(), "Incorrect") {
		t.Errorf("error %v", err)
	}
	if !strings.Contains(logs.String(), "title: longer than 60") || !strings.Contains(logs.String(), "topic: not one of") {
		t.Errorf("refusals not logged: %s", logs.String())
	}
	for _, secret := range []string{key, "ORD-0012345", "xxxxxxxx"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs show %q: %s", secret, logs.String())
		}
	}
}

// Redirects are not followed: the key goes to the configured URL only.
func TestNoRedirect(t *testing.T) {
	other := llmtest.New(t, func(llm.ChatRequest) llmtest.Reply { return llmtest.Content(good) })
	hop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/v1/chat/completions", http.StatusTemporaryRedirect)
	}))
	defer hop.Close()
	ref := &llm.Refiner{Config: llm.Config{BaseURL: hop.URL + "/v1", Model: "m", APIKey: key}, Client: hop.Client()}
	if _, err := ref.Refine(context.Background(), input(), offline()); err == nil || !strings.Contains(err.Error(), "307") {
		t.Errorf("err = %v", err)
	}
	if len(other.Requests()) != 0 {
		t.Error("the redirect was followed")
	}
}

// A long conversation is sent bounded: the first messages and the newest, each cut.
func TestRequestBounded(t *testing.T) {
	in := input()
	in.Messages = nil
	for i := range 300 {
		in.Messages = append(in.Messages, analysis.Message{Author: cv.AuthorVisitor, Content: "message " + strings.Repeat("ü", 3000) + " #" + string(rune('A'+i%26))})
	}
	in.Messages[0].Content = "FIRST " + in.Messages[0].Content
	in.Messages[299].Content = "LAST " + strings.Repeat("word ", 10)
	req := llm.Request("m", in, offline())
	user := req.Messages[1].Content
	if n := utf8.RuneCountInString(user); n > llm.MaxPromptChars+llm.MaxMessages*100+2000 {
		t.Errorf("user message of %d characters", n)
	}
	var doc struct {
		Omitted      int `json:"omitted_messages"`
		Conversation []struct{ Content string }
	}
	if err := json.Unmarshal([]byte(user), &doc); err != nil {
		t.Fatal(err)
	}
	conv := doc.Conversation
	if len(conv) < 3 || len(conv) > llm.MaxMessages || doc.Omitted != 300-len(conv) {
		t.Fatalf("%d messages sent, %d omitted", len(conv), doc.Omitted)
	}
	if !strings.HasPrefix(conv[0].Content, "FIRST") || !strings.HasPrefix(conv[len(conv)-1].Content, "LAST") {
		t.Errorf("first %.10q last %.10q", conv[0].Content, conv[len(conv)-1].Content)
	}
	for _, m := range conv {
		if utf8.RuneCountInString(m.Content) > llm.MaxMessageChars {
			t.Errorf("message of %d characters", utf8.RuneCountInString(m.Content))
		}
	}
}

// FuzzApply: whatever the model says, the result stays within bounds and keeps the offline
// rules' flags.
func FuzzApply(f *testing.F) {
	b, _ := json.Marshal(good)
	for _, s := range []string{string(b), `{}`, `null`, `[]`, `{"title": "` + strings.Repeat("é", 61) + `"}`, "```json\n{\"topic\":\"Shipping\"}\n```",
		`{"is_flagged": true, "flag_reason": "complaint"}`, `{"title": "\u0000\u202e x", "summary": "a\nb"}`, `{"topic": "BILLING "}`} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, content string, withTopics bool) {
		in := input()
		if !withTopics {
			in.Topics = nil
		}
		off := offline()
		reason := "Visitor complained"
		off.Flags = []analysis.Flag{{Kind: analysis.FlagComplaint, Reason: reason}}
		off.IsFlagged, off.FlagReason = true, &reason
		r, _, err := llm.Apply(content, in, off)
		if err != nil {
			if !reflect.DeepEqual(r, off) {
				t.Fatalf("error %v but changed result", err)
			}
			return
		}
		if n := utf8.RuneCountInString(r.Title); n == 0 || n > analysis.MaxTitle || strings.ContainsAny(r.Title, "\n\r\t\x00") {
			t.Fatalf("title %q", r.Title)
		}
		if withTopics {
			ok := false
			for _, tp := range in.Topics {
				ok = ok || tp.Name == r.Topic
			}
			if !ok || !r.TopicFromList {
				t.Fatalf("topic %q not from the list", r.Topic)
			}
		} else if n := utf8.RuneCountInString(r.Topic); n == 0 || n > llm.MaxLabel {
			t.Fatalf("topic %q", r.Topic)
		}
		if r.Summary != nil && (utf8.RuneCountInString(*r.Summary) > llm.MaxSummary || *r.Summary == "") {
			t.Fatalf("summary %q", *r.Summary)
		}
		if !r.IsFlagged || r.Flags[0].Kind != analysis.FlagComplaint && analysis.FlagRank[r.Flags[0].Kind] > analysis.FlagRank[analysis.FlagComplaint] || *r.FlagReason != r.Flags[0].Reason {
			t.Fatalf("flags %+v", r.Flags)
		}
		for _, fl := range r.Flags {
			if utf8.RuneCountInString(fl.Reason) > llm.MaxFlagReason || fl.Reason == "" {
				t.Fatalf("flag %+v", fl)
			}
		}
		if len(r.Messages) != 3 || r.Sentiment != off.Sentiment || r.ResolutionStatus != off.ResolutionStatus {
			t.Fatal("offline-only fields changed")
		}
	})
}
