package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
)

// ---- analyses ----

// analysisOf is a made-up analysis of conversation c, different for each i, with insights
// for every message but the first.
func analysisOf(t *testing.T, s store.Store, assistantID string, c cv.Conversation, i int) cv.Analysis {
	t.Helper()
	sentiment, topic, lang := []string{"positive", "neutral", "negative"}[i%3], fmt.Sprintf("Topic %d", i%2), []string{"en", "de"}[i%2]
	a := cv.Analysis{
		Unified:   raw(fmt.Sprintf(`{"sentiment": %q, "topic": %q, "is_flagged": %v, "title": "Title %d"}`, sentiment, topic, i%2 == 0, i)),
		Sentiment: ptr(sentiment), Topic: ptr(topic), Language: ptr(lang), IsFlagged: i%2 == 0,
		Title: ptr(fmt.Sprintf("Title %d", i)), MessageInsights: map[string]json.RawMessage{},
	}
	for k, e := range allEvents(t, s, assistantID, c.ID) {
		if k > 0 && e.Message != nil {
			a.MessageInsights[e.ID] = raw(fmt.Sprintf(`{"sentiment": %q, "score": 0.%d, "language": %q}`, sentiment, k, lang))
		}
	}
	return a
}

// analysed is what a read shows of a conversation's analysis.
type analysed struct {
	Unified                any
	Sentiment, Topic, Lang *string
	Title                  *string
	Flagged                bool
	Version                int64
	Insights               []any
	FoundByTitle           bool
}

func readAnalysed(t *testing.T, s store.Store, assistantID string, c cv.Conversation) analysed {
	t.Helper()
	got := mustGet(t, s, assistantID, c.ID)
	out := analysed{Sentiment: got.Sentiment, Topic: got.Topic, Lang: got.MostFrequentLanguage, Title: got.Title, Flagged: got.IsFlagged, Version: got.Version}
	if len(got.UnifiedAnalysis) > 0 {
		out.Unified = normJSON(t, got.UnifiedAnalysis)
	}
	for _, e := range allEvents(t, s, assistantID, c.ID) {
		if e.Message == nil {
			continue
		}
		if len(e.Message.MessageInsights) == 0 || string(e.Message.MessageInsights) == "null" {
			out.Insights = append(out.Insights, nil)
		} else {
			out.Insights = append(out.Insights, normJSON(t, e.Message.MessageInsights))
		}
	}
	if got.Title != nil {
		for _, id := range listIDs(t, s, assistantID, cv.Filter{Query: query(`"` + *got.Title + `"`)}) {
			out.FoundByTitle = out.FoundByTitle || id == c.ID
		}
	}
	return out
}

var analysisTests = []test{
	// Batches saved at once, by several goroutines (or server processes), of different
	// conversations whose counts move between the same rollup rows (three days, three
	// sentiments), each batch meeting the days in another order: none fails, none waits for
	// ever, and the analytics add up.
	{"ConcurrentBatches", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		const workers, per, rounds = 6, 6, 10
		convs := make([][]cv.Conversation, workers)
		for i := range workers * per {
			w := i % workers
			day := time.Duration((i/workers)%3) * 24 * time.Hour
			if w%2 == 1 {
				day = time.Duration(2-(i/workers)%3) * 24 * time.Hour
			}
			convs[w] = append(convs[w], mustCreate(t, s, a.ID, cv.NewConversation{Source: cv.SourceWidget, CreatedAt: tp(day),
				Messages: []cv.NewMessage{msg(cv.AuthorVisitor, "hello", day)}}))
		}
		errs := make(chan error, workers)
		for w := range workers {
			go func() {
				for r := range rounds {
					var in []store.AnalysisSave
					for k, c := range convs[w] {
						sentiment := []string{"positive", "neutral", "negative"}[(k+r)%3]
						in = append(in, store.AnalysisSave{AssistantID: a.ID, ConversationID: c.ID,
							Analysis: cv.Analysis{Sentiment: &sentiment, Topic: ptr(sentiment + " things")}})
					}
					res, err := s.SaveAnalyses(t.Context(), in)
					if err == nil {
						err = errors.Join(res...)
					}
					if err != nil {
						errs <- fmt.Errorf("worker %d round %d: %w", w, r, err)
						return
					}
				}
				errs <- nil
			}()
		}
		for range workers {
			select {
			case err := <-errs:
				ok(t, "SaveAnalyses", err)
			case <-time.After(60 * time.Second):
				t.Fatal("concurrent SaveAnalyses did not finish within a minute")
			}
		}
		want := map[string]int64{}
		for _, cs := range convs {
			for _, c := range cs {
				want[*mustGet(t, s, a.ID, c.ID).Sentiment]++
			}
		}
		res, err := s.Analytics(t.Context(), a.ID, cv.AnalyticsQuery{GroupBy: []string{"sentiment"}})
		ok(t, "Analytics", err)
		got := map[string]int64{}
		for _, g := range res.Groups {
			if g.Key[0] != nil && g.Conversations != 0 {
				got[*g.Key[0]] = g.Conversations
			}
		}
		sameJSON(t, "conversations by sentiment, analytics against the conversations", got, want)
	}},
	// SaveAnalyses writes, for each conversation, what SaveAnalysis writes.
	{"BatchSameAsOne", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		const n = 5
		var one, many []cv.Conversation
		for i := range 2 * n {
			c := simple(t, s, a.ID, msg(cv.AuthorAI, "Hello! How can I help?", 0), msg(cv.AuthorVisitor, fmt.Sprintf("Where is my order %d?", i), time.Minute),
				msg(cv.AuthorAI, "Let me check.", 2*time.Minute))
			if i < n {
				one = append(one, c)
			} else {
				many = append(many, c)
			}
		}
		var in []store.AnalysisSave
		for i := range n {
			_, err := s.SaveAnalysis(t.Context(), a.ID, one[i].ID, analysisOf(t, s, a.ID, one[i], i))
			ok(t, "SaveAnalysis", err)
			in = append(in, store.AnalysisSave{AssistantID: a.ID, ConversationID: many[i].ID, Analysis: analysisOf(t, s, a.ID, many[i], i)})
		}
		errs, err := s.SaveAnalyses(t.Context(), in)
		ok(t, "SaveAnalyses", err)
		if len(errs) != n {
			t.Fatalf("SaveAnalyses: %d results for %d analyses", len(errs), n)
		}
		for i := range n {
			ok(t, fmt.Sprintf("SaveAnalyses[%d]", i), errs[i])
			want, got := readAnalysed(t, s, a.ID, one[i]), readAnalysed(t, s, a.ID, many[i])
			if got.Version != many[i].Version {
				t.Errorf("conversation %d: version %d after the analysis, want %d (unchanged)", i, got.Version, many[i].Version)
			}
			if !got.FoundByTitle {
				t.Errorf("conversation %d: not found by its new title %v", i, *got.Title)
			}
			got.Version, want.Version = 0, 0
			sameJSON(t, fmt.Sprintf("conversation %d", i), got, want)
		}
	}},
	// A deleted conversation, another assistant's and a malformed id are skipped with
	// ErrNotFound; a title set by hand stays; the follow-up jobs are enqueued.
	{"BatchSkipsAndKeeps", func(t *testing.T, s store.Store) {
		a, b := newAssistant(t, s), newAssistant(t, s)
		mk := func(assistantID string) cv.Conversation {
			return simple(t, s, assistantID, msg(cv.AuthorVisitor, "My parcel never arrived", 0), msg(cv.AuthorAI, "Sorry to hear that.", time.Minute))
		}
		kept, gone, byHand, other := mk(a.ID), mk(a.ID), mk(a.ID), mk(b.ID)
		ok(t, "DeleteConversation", s.DeleteConversation(t.Context(), a.ID, gone.ID))
		_, err := s.UpdateConversation(t.Context(), a.ID, byHand.ID, 0, func(c *cv.Conversation) ([]cv.Log, error) {
			return (&cv.Patch{Title: ptr(ptr("Set by hand"))}).Apply(c, actor), nil
		})
		ok(t, "UpdateConversation", err)
		then := func(key string) *store.NewJob {
			return &store.NewJob{Kind: "analysis-suite", Key: key, AssistantID: a.ID, RunAt: time.Now().Add(time.Hour)}
		}
		in := []store.AnalysisSave{
			{AssistantID: a.ID, ConversationID: kept.ID, Analysis: analysisOf(t, s, a.ID, kept, 0), Then: then(kept.ID)},
			{AssistantID: a.ID, ConversationID: gone.ID, Analysis: analysisOf(t, s, a.ID, kept, 1), Then: then(gone.ID)},
			{AssistantID: a.ID, ConversationID: byHand.ID, Analysis: analysisOf(t, s, a.ID, byHand, 2), Then: then(byHand.ID)},
			{AssistantID: a.ID, ConversationID: other.ID, Analysis: analysisOf(t, s, b.ID, other, 3)},
			{AssistantID: a.ID, ConversationID: "not-an-id", Analysis: analysisOf(t, s, a.ID, kept, 4)},
		}
		errs, err := s.SaveAnalyses(t.Context(), in)
		ok(t, "SaveAnalyses", err)
		for i, want := range []error{nil, cv.ErrNotFound, nil, cv.ErrNotFound, cv.ErrNotFound} {
			if want == nil {
				ok(t, fmt.Sprintf("SaveAnalyses[%d]", i), errs[i])
			} else {
				wantErr(t, fmt.Sprintf("SaveAnalyses[%d]", i), errs[i], want)
			}
		}
		if got := mustGet(t, s, a.ID, kept.ID); got.Title == nil || *got.Title != "Title 0" || got.Sentiment == nil || *got.Sentiment != "positive" {
			t.Errorf("analysed conversation: title %v, sentiment %v", got.Title, got.Sentiment)
		}
		got := mustGet(t, s, a.ID, byHand.ID)
		if got.Title == nil || *got.Title != "Set by hand" {
			t.Errorf("title set by hand: %v after the analysis", got.Title)
		}
		if got.Topic == nil || *got.Topic != "Topic 0" {
			t.Errorf("topic of the conversation titled by hand: %v, want Topic 0", got.Topic)
		}
		if o := mustGet(t, s, b.ID, other.ID); o.UnifiedAnalysis != nil || o.Sentiment != nil {
			t.Errorf("another assistant's conversation was analysed: %s", o.UnifiedAnalysis)
		}
		stats, err := s.JobStats(t.Context())
		ok(t, "JobStats", err)
		if n := stats["analysis-suite"]["pending"]; n != 2 {
			t.Errorf("%d follow-up jobs pending, want 2 (not the deleted conversation's)", n)
		}
		// Nothing to save is no error.
		errs, err = s.SaveAnalyses(t.Context(), nil)
		ok(t, "SaveAnalyses(nil)", err)
		if len(errs) != 0 {
			t.Errorf("SaveAnalyses(nil) = %v", errs)
		}
	}},
	// ConversationsForAnalysis reads the conversations of ids with their messages, only those,
	// oldest first; the conversations of more than maxMessages come without them.
	{"ConversationsForAnalysis", func(t *testing.T, s store.Store) {
		a, b := newAssistant(t, s), newAssistant(t, s)
		short := simple(t, s, a.ID, msg(cv.AuthorVisitor, "one", 0), msg(cv.AuthorAI, "two", time.Minute))
		_, err := s.UpdateConversation(t.Context(), a.ID, short.ID, 0, func(c *cv.Conversation) ([]cv.Log, error) {
			return (&cv.Patch{Title: ptr(ptr("A log event between the messages"))}).Apply(c, actor), nil
		})
		ok(t, "UpdateConversation", err)
		mustAppend(t, s, a.ID, short.ID, msg(cv.AuthorVisitor, "three", 2*time.Minute))
		long := simple(t, s, a.ID, msg(cv.AuthorVisitor, "1", 0), msg(cv.AuthorAI, "2", time.Minute), msg(cv.AuthorVisitor, "3", 2*time.Minute),
			msg(cv.AuthorAI, "4", 3*time.Minute))
		empty := simple(t, s, a.ID)
		other := simple(t, s, b.ID, msg(cv.AuthorVisitor, "not yours", 0))
		got, err := s.ConversationsForAnalysis(t.Context(), a.ID, []string{short.ID, long.ID, empty.ID, other.ID, "nope", short.ID, newUUID()}, 3)
		ok(t, "ConversationsForAnalysis", err)
		byID := map[string]store.ConversationMessages{}
		for _, cm := range got {
			byID[cm.Conversation.ID] = cm
		}
		if len(got) != 3 || len(byID) != 3 {
			t.Fatalf("ConversationsForAnalysis: %d conversations (%d distinct), want 3", len(got), len(byID))
		}
		sameConversation(t, "short", byID[short.ID].Conversation, mustGet(t, s, a.ID, short.ID))
		var texts []string
		for _, e := range byID[short.ID].Messages {
			if e.Message == nil || e.ConversationID != short.ID {
				t.Fatalf("short: event %+v", e)
			}
			texts = append(texts, e.Message.Content)
		}
		sameJSON(t, "short: messages", texts, []string{"one", "two", "three"})
		all := allEvents(t, s, a.ID, short.ID)
		if e := byID[short.ID].Messages[2]; e.ID != all[len(all)-1].ID || e.Ord != all[len(all)-1].Ord || !e.CreatedAt.Equal(all[len(all)-1].CreatedAt) {
			t.Errorf("short: last message %+v, want %+v", e, all[len(all)-1])
		}
		if m := byID[long.ID].Messages; m != nil {
			t.Errorf("long (4 messages, at most 3): %d messages read, want none (nil)", len(m))
		}
		if m := byID[empty.ID].Messages; m == nil || len(m) != 0 {
			t.Errorf("empty: messages %v, want an empty list", m)
		}
		got, err = s.ConversationsForAnalysis(t.Context(), a.ID, nil, 3)
		ok(t, "ConversationsForAnalysis(none)", err)
		if len(got) != 0 {
			t.Errorf("ConversationsForAnalysis(none) = %v", got)
		}
	}},
}
