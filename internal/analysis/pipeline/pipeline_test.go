package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/analysis"
	"github.com/parleyhq/parley/internal/analysis/pipeline"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/demo"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

var (
	analyzerOnce sync.Once
	analyzer     *analysis.Analyzer
)

func shared() *analysis.Analyzer {
	analyzerOnce.Do(func() { analyzer = analysis.New() })
	return analyzer
}

func create(t *testing.T, st store.Store, assistantID string, convs ...cv.NewConversation) []cv.Conversation {
	t.Helper()
	for i := range convs {
		if err := convs[i].Validate(); err != nil {
			t.Fatal(err)
		}
	}
	res, err := st.CreateConversations(context.Background(), assistantID, convs)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]cv.Conversation, len(res))
	for i, r := range res {
		out[i] = r.Conversation
	}
	return out
}

func waitFor(t *testing.T, what string, limit time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAnalysedWithoutAsking: a conversation written to the store gets its analysis from the
// background jobs, in every place the reference names.
func TestAnalysedWithoutAsking(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		st := open(t)
		a, _ := st.CreateAssistant(ctx, "a")
		r := jobs.New(st, jobs.Options{Poll: 20 * time.Millisecond})
		r.Handle(store.JobAnalyze, (&pipeline.Pipeline{Store: st, Analyzer: shared()}).Handle)
		if ws, ok := st.(interface{ SetJobNotify(func()) }); ok {
			ws.SetJobNotify(r.Wake)
		}
		go r.Run(ctx)

		c := create(t, st, a.ID, cv.NewConversation{Source: "widget", Messages: []cv.NewMessage{
			{Author: "ai_assistant", Content: "Hello! How can I help you today?", IsWelcome: true},
			{Author: "visitor", Content: "My order ORD-0012345 arrived broken and I am really disappointed. I want a refund."},
		}})[0]
		var got cv.Conversation
		waitFor(t, "analysis", 10*time.Second, func() bool {
			got, _ = st.Conversation(ctx, a.ID, c.ID)
			return got.UnifiedAnalysis != nil
		})
		var u map[string]any
		if err := json.Unmarshal(got.UnifiedAnalysis, &u); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"sentiment", "resolution_status", "topic", "is_flagged", "flag_reason", "analyzed_at"} {
			if _, ok := u[k]; !ok {
				t.Errorf("unified_analysis lacks %s: %v", k, u)
			}
		}
		if u["sentiment"] != "negative" || got.Sentiment == nil || *got.Sentiment != "negative" {
			t.Errorf("sentiment %v / %v, want negative", u["sentiment"], got.Sentiment)
		}
		if got.MostFrequentLanguage == nil || *got.MostFrequentLanguage != "en" {
			t.Errorf("language %v", got.MostFrequentLanguage)
		}
		if got.Title == nil || *got.Title == "" || len(*got.Title) > 60*4 {
			t.Errorf("title %v", got.Title)
		}
		ev, _ := st.Events(ctx, a.ID, c.ID, cv.EventFilter{})
		for _, e := range ev.Items {
			var mi map[string]any
			if err := json.Unmarshal(e.Message.MessageInsights, &mi); err != nil || mi == nil {
				t.Fatalf("message %d insights %s", e.Ord, e.Message.MessageInsights)
			}
			if _, ok := mi["language"]; !ok {
				t.Errorf("message %d insights %v", e.Ord, mi)
			}
		}
		if got.Version != c.Version {
			t.Errorf("analysis changed the version %d -> %d", c.Version, got.Version)
		}
		// Filters see the analysis.
		page, err := st.Conversations(ctx, a.ID, cv.Filter{Sentiments: []string{"negative"}, Languages: []string{"en"}})
		if err != nil || page.Count != 1 {
			t.Fatalf("filters on analysis: %d %v", page.Count, err)
		}
		// A title someone set by hand survives the next analysis.
		title := "Broken parcel, refund"
		if _, err := st.UpdateConversation(ctx, a.ID, c.ID, 0, func(c *cv.Conversation) ([]cv.Log, error) { c.Title = &title; return nil, nil }); err != nil {
			t.Fatal(err)
		}
		before := got.UnifiedAnalysis
		if _, _, err := st.AppendMessage(ctx, a.ID, c.ID, cv.NewMessage{Author: "ai_assistant", Content: "I'm sorry! I've started your refund."}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "re-analysis", 10*time.Second, func() bool {
			got, _ = st.Conversation(ctx, a.ID, c.ID)
			return string(got.UnifiedAnalysis) != string(before)
		})
		if got.Title == nil || *got.Title != title {
			t.Errorf("hand-set title replaced by %v", got.Title)
		}
	})
}

// TestBacklogSurvivesCrash: a worker dies in the middle of a backlog (its jobs stay claimed);
// a new process finishes the backlog: nothing is skipped and nothing is left.
func TestBacklogSurvivesCrash(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		st := open(t)
		ctx := context.Background()
		a, _ := st.CreateAssistant(ctx, "a")
		const n = 60
		// Conversations that ended hours ago: no later "idle" re-analysis is due.
		convs := create(t, st, a.ID, demo.Generate(7, n, time.Now().Add(-2*time.Hour), 24*time.Hour)...)
		p := &pipeline.Pipeline{Store: st, Analyzer: shared()}

		// The first process dies after a handful of jobs: its handler blocks forever on the
		// jobs it holds, as a killed process would never complete them.
		crashed := make(chan struct{})
		var done atomic.Int32
		ctx1, kill := context.WithCancel(ctx)
		r1 := jobs.New(st, jobs.Options{Workers: 2, Poll: 10 * time.Millisecond, Lease: 2 * time.Second})
		r1.Handle(store.JobAnalyze, func(ctx context.Context, j store.Job) error {
			if done.Add(1) > 10 {
				<-crashed
				return errors.New("killed")
			}
			return p.Handle(ctx, j)
		})
		go r1.Run(ctx1)
		waitFor(t, "first jobs", 30*time.Second, func() bool { return done.Load() >= 12 }) // 10 done, 2 stuck in the dying workers
		kill()

		// The second process takes over, including the jobs the first still holds once their
		// lease runs out.
		ctx2, stop := context.WithCancel(ctx)
		defer stop()
		r2 := jobs.New(st, jobs.Options{Workers: 2, Poll: 10 * time.Millisecond, Lease: 2 * time.Second})
		r2.Handle(store.JobAnalyze, p.Handle)
		go r2.Run(ctx2)
		waitFor(t, "backlog", 120*time.Second, func() bool {
			s, _ := st.JobStats(ctx)
			return s[store.JobAnalyze]["pending"] == 0 && s[store.JobAnalyze]["running"] == 0 && s[store.JobAnalyze]["failed"] == 0
		})
		close(crashed)
		for _, c := range convs {
			got, err := st.Conversation(ctx, a.ID, c.ID)
			if err != nil || got.UnifiedAnalysis == nil {
				t.Fatalf("conversation %d not analysed (%v)", c.Ord, err)
			}
		}
	})
}
