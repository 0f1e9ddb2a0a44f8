package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/analysis/llm"
	"github.com/parleyhq/parley/internal/analysis/llm/llmtest"
	"github.com/parleyhq/parley/internal/analysis/pipeline"
	"github.com/parleyhq/parley/internal/apitest"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

const llmKey = "sk-pipeline-5e4d3c2b1a"

// syncBuffer is a log sink safe for the job workers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func unifiedOf(t *testing.T, c cv.Conversation) map[string]any {
	t.Helper()
	var u map[string]any
	if err := json.Unmarshal(c.UnifiedAnalysis, &u); err != nil {
		t.Fatalf("unified_analysis %s: %v", c.UnifiedAnalysis, err)
	}
	return u
}

// TestAssistantLLM: an assistant whose settings name a provider gets its title, topic and
// summary; another assistant is analysed offline and never reaches the provider; a failing or
// slow provider leaves the offline result, within the timeout, and the key stays out of the logs.
func TestAssistantLLM(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		ctx := context.Background()
		st := open(t)
		var mode sync.Map // conversation text marker -> reply
		fake := llmtest.New(t, func(req llm.ChatRequest) llmtest.Reply {
			user := req.Messages[len(req.Messages)-1].Content
			var rep llmtest.Reply
			mode.Range(func(k, v any) bool {
				if strings.Contains(user, k.(string)) {
					rep = v.(llmtest.Reply)
					return false
				}
				return true
			})
			return rep
		})
		mode.Store("GOOD", llmtest.Content(map[string]any{"title": "Parcel arrived damaged", "topic": "shipping", "is_flagged": false, "flag_reason": nil,
			"summary": "A parcel arrived damaged; a refund was asked for."}))
		mode.Store("DOWN", llmtest.Reply{Status: 500, Body: `{"error": "boom"}`})
		mode.Store("SLOW", llmtest.Reply{Delay: 10 * time.Second, Content: `{"title": "Too late"}`})

		a, _ := st.CreateAssistant(ctx, "with llm")
		b, _ := st.CreateAssistant(ctx, "offline")
		if err := st.SaveSettings(ctx, a.ID, json.RawMessage(`{"topics": [{"name": "Shipping"}, {"name": "Billing"}],
			"llm": {"base_url": "`+fake.BaseURL()+`", "model": "fake-1", "api_key": "`+llmKey+`", "timeout_ms": 300}}`)); err != nil {
			t.Fatal(err)
		}
		var logs syncBuffer
		p := &pipeline.Pipeline{Store: st, Analyzer: shared(), Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
		msgs := func(marker string) []cv.NewMessage {
			return []cv.NewMessage{{Author: "visitor", Content: "Hello, my parcel arrived broken, I'd like a refund (" + marker + ")"}}
		}
		convs := create(t, st, a.ID, cv.NewConversation{Source: "widget", Messages: msgs("GOOD")}, cv.NewConversation{Source: "widget", Messages: msgs("DOWN")},
			cv.NewConversation{Source: "widget", Messages: msgs("SLOW")})
		other := create(t, st, b.ID, cv.NewConversation{Source: "widget", Messages: msgs("GOOD")})[0]

		for _, c := range append(convs, other) {
			start := time.Now()
			if err := p.Analyze(ctx, c.AssistantID, c.ID); err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("analysis took %s with a 300 ms provider timeout", took)
			}
		}
		get := func(c cv.Conversation) (cv.Conversation, map[string]any) {
			got, err := st.Conversation(ctx, c.AssistantID, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got, unifiedOf(t, got)
		}
		good, u := get(convs[0])
		if good.Title == nil || *good.Title != "Parcel arrived damaged" || u["title"] != "Parcel arrived damaged" || u["topic"] != "Shipping" ||
			u["summary"] != "A parcel arrived damaged; a refund was asked for." || good.Topic == nil || *good.Topic != "Shipping" {
			t.Errorf("provider's answer not used: title %v %s", good.Title, good.UnifiedAnalysis)
		}
		for _, c := range append(convs[1:], other) {
			got, u := get(c)
			if got.Title == nil || *got.Title == "" || *got.Title == "Too late" || u["summary"] != nil {
				t.Errorf("offline result expected: title %v %s", got.Title, got.UnifiedAnalysis)
			}
			if _, ok := u["summary"]; !ok {
				t.Errorf("summary key missing: %s", got.UnifiedAnalysis)
			}
		}
		reqs := fake.Requests()
		if len(reqs) != 3 {
			t.Errorf("%d provider requests, want 3 (the offline assistant never asks)", len(reqs))
		}
		for _, r := range reqs {
			if r.Authorization != "Bearer "+llmKey || r.Body.Model != "fake-1" {
				t.Errorf("request authorization %q model %q", r.Authorization, r.Body.Model)
			}
		}
		l := logs.String()
		if strings.Count(l, "language model failed") != 2 || !strings.Contains(l, "HTTP 500") || !strings.Contains(l, "deadline exceeded") {
			t.Errorf("fallbacks not logged: %s", l)
		}
		if strings.Contains(l, llmKey) || strings.Contains(l, "parcel arrived broken") {
			t.Errorf("logs show the key or the conversation: %s", l)
		}

		// Disabled: the offline analyzers only.
		if err := st.SaveSettings(ctx, a.ID, json.RawMessage(`{"llm": {"base_url": "`+fake.BaseURL()+`", "model": "fake-1", "enabled": false}}`)); err != nil {
			t.Fatal(err)
		}
		if err := p.Analyze(ctx, a.ID, convs[0].ID); err != nil {
			t.Fatal(err)
		}
		if got, u := get(convs[0]); len(fake.Requests()) != 3 || u["summary"] != nil || *got.Title == "Parcel arrived damaged" {
			t.Errorf("disabled provider used: %s", got.UnifiedAnalysis)
		}
	})
}

// TestLLMTitleThroughTheAPI: a provider configured through the settings API; a conversation
// created through the API gets the provider's title and summary from the job queue; the key
// never shows in the settings.
func TestLLMTitleThroughTheAPI(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		fake := llmtest.New(t, func(req llm.ChatRequest) llmtest.Reply {
			return llmtest.Content(map[string]any{"title": "Refund for a broken parcel", "topic": "Returns", "is_flagged": true,
				"flag_reason": "Visitor threatens a chargeback", "summary": "Broken parcel; the visitor wants a refund."})
		})
		var logs syncBuffer
		log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		e := apitest.StartWith(t, open, apitest.Config{
			Jobs: func(st store.Store, r *jobs.Runner) {
				r.Handle(store.JobAnalyze, (&pipeline.Pipeline{Store: st, Analyzer: shared(), Logger: log}).Handle)
			},
			JobOptions: jobs.Options{Poll: 20 * time.Millisecond, Logger: log},
		})
		set := e.Must(http.StatusOK, "PATCH", "/v1/api_core/settings", e.A.Write, map[string]any{
			"topics": []any{map[string]any{"name": "Returns"}, map[string]any{"name": "Accounts"}},
			"llm":    map[string]any{"base_url": fake.BaseURL(), "model": "fake-1", "api_key": llmKey, "timeout_ms": 5000},
		})
		read := e.Must(http.StatusOK, "GET", "/v1/api_core/settings", e.A.Read, nil)
		for _, r := range []apitest.Response{set, read} {
			if strings.Contains(string(r.Body), llmKey) {
				t.Fatalf("the key is shown: %s", r.Body)
			}
			l := r.Map(t)["llm"].(map[string]any)
			if l["api_key_set"] != true || l["model"] != "fake-1" || l["base_url"] != fake.BaseURL() || l["timeout_ms"] != 5000.0 || l["enabled"] != true {
				t.Errorf("llm settings as read: %v", l)
			}
		}

		created := e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations", e.A.Write, map[string]any{"source": "widget", "messages": []any{
			map[string]any{"author": "visitor", "content": "My parcel arrived broken. I want my money back or I'll dispute the charge."},
		}}).Map(t)
		id, _ := created["id"].(string)
		var detail map[string]any
		waitFor(t, "the provider's title", 20*time.Second, func() bool {
			detail = e.Must(http.StatusOK, "GET", "/v1/api_core/conversations/"+id+"/", e.A.Read, nil).Map(t)
			return detail["title"] == "Refund for a broken parcel"
		})
		u, _ := detail["unified_analysis"].(map[string]any)
		if u["summary"] != "Broken parcel; the visitor wants a refund." || u["topic"] != "Returns" || u["is_flagged"] != true {
			t.Errorf("unified_analysis %v", u)
		}
		flags, _ := u["flags"].([]any)
		found := false
		for _, f := range flags {
			fm, _ := f.(map[string]any)
			found = found || (fm["kind"] == "other" && fm["reason"] == "Visitor threatens a chargeback")
		}
		if !found {
			t.Errorf("the provider's flag is missing: %v", flags)
		}
		reqs := fake.Requests()
		if len(reqs) == 0 || !strings.Contains(reqs[0].Body.Messages[1].Content, "dispute the charge") || reqs[0].Authorization != "Bearer "+llmKey {
			t.Errorf("provider requests %+v", reqs)
		}
		if strings.Contains(logs.String(), llmKey) {
			t.Errorf("the key is in the logs: %s", logs.String())
		}

		// null removes the provider: the next analysis is offline.
		if l := e.Must(http.StatusOK, "PATCH", "/v1/api_core/settings", e.A.Write, map[string]any{"llm": nil}).Map(t); l["llm"] != nil {
			t.Errorf("llm after null: %v", l["llm"])
		}
	})
}

// TestLLMBreaker: a provider that keeps failing is skipped for a while (the offline result is
// saved without waiting for it), then tried again; one success closes the breaker.
func TestLLMBreaker(t *testing.T) {
	ctx := context.Background()
	st := enginetest.SQLite(t) // the breaker is the pipeline's, not the store's
	var healthy atomic.Bool
	fake := llmtest.New(t, func(llm.ChatRequest) llmtest.Reply {
		if healthy.Load() {
			return llmtest.Content(map[string]any{"title": "Back again"})
		}
		return llmtest.Reply{Status: 503, Body: `{"error": "overloaded"}`}
	})
	a, _ := st.CreateAssistant(ctx, "a")
	if err := st.SaveSettings(ctx, a.ID, json.RawMessage(`{"llm": {"base_url": "`+fake.BaseURL()+`", "model": "m"}}`)); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	p := &pipeline.Pipeline{Store: st, Analyzer: shared(), Logger: slog.New(slog.NewTextHandler(&logs, nil)), LLMCooldown: 300 * time.Millisecond}
	c := create(t, st, a.ID, cv.NewConversation{Source: "widget", Messages: []cv.NewMessage{{Author: "visitor", Content: "Where is my parcel?"}}})[0]
	analyse := func() {
		t.Helper()
		if err := p.Analyze(ctx, a.ID, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	for range pipeline.BreakerFailures + 2 {
		analyse()
	}
	if n := len(fake.Requests()); n != pipeline.BreakerFailures {
		t.Errorf("%d requests while failing, want %d", n, pipeline.BreakerFailures)
	}
	if !strings.Contains(logs.String(), "skipped for a while") {
		t.Errorf("the breaker did not say it opened: %s", logs.String())
	}
	healthy.Store(true)
	time.Sleep(350 * time.Millisecond)
	analyse()
	analyse()
	if n := len(fake.Requests()); n != pipeline.BreakerFailures+2 {
		t.Errorf("%d requests after the cool-down, want %d", n, pipeline.BreakerFailures+2)
	}
	if got, _ := st.Conversation(ctx, a.ID, c.ID); got.Title == nil || *got.Title != "Back again" {
		t.Errorf("title %v", got.Title)
	}
}
