// Package pipeline runs the analyzers on stored conversations: it is the handler of the
// `analyze` jobs that every new message enqueues (coalesced per conversation), and the engine
// of `parley analyze`. It reads the conversation, its messages and the assistant's settings,
// runs the offline analyzers (refined by the assistant's language-model provider when its
// settings name one: settings.llm), and saves the result without changing the conversation's
// version.
package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/analysis"
	"github.com/parleyhq/parley/internal/analysis/llm"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/settings"
	"github.com/parleyhq/parley/internal/store"
)

// MaxMessages bounds how many of a conversation's messages are read (the newest ones).
const MaxMessages = 500

// Pipeline analyses conversations of a store.
type Pipeline struct {
	Store    store.Store
	Analyzer *analysis.Analyzer
	Now      func() time.Time
	// LLMClient sends the requests to the assistants' language-model providers; nil: the llm
	// package's client. Redirects are never followed.
	LLMClient *http.Client
	// Logger hears when a provider fails and the offline result is kept (never the key or the
	// conversation); nil: slog.Default().
	Logger *slog.Logger
	// LLMCooldown is how long a provider that failed BreakerFailures times in a row is skipped
	// (the offline result is saved meanwhile); 0: DefaultBreakerCooldown.
	LLMCooldown time.Duration

	// LLMParallel bounds the requests to language-model providers waited for at once
	// (0: DefaultLLMParallel).
	LLMParallel int

	breakers   breakers
	slotsOnce  sync.Once
	slots      chan struct{} // GOMAXPROCS
	yieldSlot  chan struct{} // 1, while ingestion runs
	yield      sync.Mutex    // one batch at a time while ingestion runs
	lastIngest func() time.Time
	llmOnce    sync.Once
	llmSlots   chan struct{}
}

// DefaultLLMParallel is the default of Pipeline.LLMParallel.
const DefaultLLMParallel = 4

func (p *Pipeline) llmParallel() chan struct{} {
	p.llmOnce.Do(func() {
		n := p.LLMParallel
		if n <= 0 {
			n = DefaultLLMParallel
		}
		p.llmSlots = make(chan struct{}, n)
	})
	return p.llmSlots
}

func (p *Pipeline) log() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.Default()
}

func (p *Pipeline) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Handle is the job handler of store.JobAnalyze, one job at a time (Register, with batches,
// is faster). A saved analysis completes its job in the same transaction: jobs.ErrCompleted.
func (p *Pipeline) Handle(ctx context.Context, j store.Job) error {
	return p.HandleBatch(ctx, []store.Job{j})[0]
}

// BatchSize is how many analysis jobs Register has the runner claim at once.
const BatchSize = 32

// Register makes p the handler of store.JobAnalyze on r, in batches of BatchSize, yielding to
// ingestion: while r is being woken by new work (see jobs.Runner.LastWake), the analysis runs
// one batch at a time on one core and then pauses IngestYield times as long as the batch took.
func (p *Pipeline) Register(r *jobs.Runner) {
	p.lastIngest = r.LastWake
	r.HandleBatch(store.JobAnalyze, BatchSize, p.HandleBatch)
}

// Ingestion first: while new work came in within IngestQuiet, the analysis takes at most about
// 1/(1+IngestYield) of one core (and of the writer), and catches up when ingestion pauses.
const (
	IngestQuiet = 500 * time.Millisecond
	IngestYield = 3
)

// HandleBatch is the batch handler of store.JobAnalyze: it reads and analyses the jobs'
// conversations in parallel (the offline analysis of GOMAXPROCS at once) and saves every
// analysis, and the later looks they ask for, in one transaction. A conversation deleted since
// is done.
func (p *Pipeline) HandleBatch(ctx context.Context, js []store.Job) []error {
	if p.lastIngest == nil || time.Since(p.lastIngest()) >= IngestQuiet {
		return p.handleBatch(ctx, js, p.parallel())
	}
	p.parallel() // makes yieldSlot
	p.yield.Lock()
	defer p.yield.Unlock()
	start := time.Now()
	errs := p.handleBatch(ctx, js, p.yieldSlot)
	pause := min(IngestYield*time.Since(start), time.Second)
	select {
	case <-time.After(pause):
	case <-ctx.Done():
	}
	return errs
}

func (p *Pipeline) handleBatch(ctx context.Context, js []store.Job, slots chan struct{}) []error {
	errs := make([]error, len(js))
	saves := make([]*store.AnalysisSave, len(js))
	// Per assistant of the batch: its settings, and its conversations with their messages, in
	// a few queries.
	type assistant struct {
		set   *settingsResult
		convs map[string]*store.ConversationMessages
		err   error
	}
	byAssistant := map[string]*assistant{}
	for _, j := range js {
		if byAssistant[j.AssistantID] != nil {
			continue
		}
		a := &assistant{set: p.settings(ctx, j.AssistantID), convs: map[string]*store.ConversationMessages{}}
		byAssistant[j.AssistantID] = a
		if a.err = a.set.err; a.err != nil {
			continue
		}
		var ids []string
		for _, k := range js {
			if k.AssistantID == j.AssistantID {
				ids = append(ids, k.Key)
			}
		}
		cms, err := p.Store.ConversationsForAnalysis(ctx, j.AssistantID, ids, MaxMessages)
		if a.err = err; err != nil {
			continue
		}
		for i := range cms {
			a.convs[cms[i].Conversation.ID] = &cms[i]
		}
	}
	var wg sync.WaitGroup
	for i, j := range js {
		a := byAssistant[j.AssistantID]
		cm := a.convs[j.Key]
		if a.err != nil || cm == nil {
			errs[i] = a.err // nil: deleted since, done
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			saves[i], errs[i] = p.prepare(ctx, j.AssistantID, cm, a.set.st, slots)
			if saves[i] != nil {
				saves[i].Done = j.ID
			}
		}()
	}
	wg.Wait()
	var in []store.AnalysisSave
	var at []int
	for i := range js {
		if errors.Is(errs[i], cv.ErrNotFound) {
			errs[i] = nil // deleted since
		}
		if saves[i] != nil && errs[i] == nil {
			in = append(in, *saves[i])
			at = append(at, i)
		}
	}
	if len(in) == 0 {
		return errs
	}
	// Batches save side by side: on PostgreSQL their messages and search documents are
	// written at once, and the store lets one at a time write conversation rows (whose
	// rollup rows two batches could otherwise lock in opposite orders); SQLite has one writer.
	res, err := p.Store.SaveAnalyses(ctx, in)
	for k, i := range at {
		switch {
		case err != nil:
			errs[i] = err
		case res[k] == nil:
			errs[i] = jobs.ErrCompleted // in the transaction that saved it
		case !errors.Is(res[k], cv.ErrNotFound):
			errs[i] = res[k]
		}
	}
	return errs
}

type settingsResult struct {
	st  settings.Settings
	err error
}

func (p *Pipeline) settings(ctx context.Context, assistantID string) *settingsResult {
	doc, err := p.Store.Settings(ctx, assistantID)
	if err != nil {
		return &settingsResult{err: err}
	}
	st, err := settings.Parse(doc)
	return &settingsResult{st: st, err: err}
}

// parallel bounds the conversations read and analysed at once (the CPU-bound part; waits
// for a language model do not count): GOMAXPROCS.
func (p *Pipeline) parallel() chan struct{} {
	p.slotsOnce.Do(func() {
		p.slots = make(chan struct{}, runtime.GOMAXPROCS(0))
		p.yieldSlot = make(chan struct{}, 1)
	})
	return p.slots
}

// unified is the unified_analysis document: the reference's keys plus extensions.
type unified struct {
	analysis.UnifiedAnalysis
	Title    string          `json:"title,omitempty"`
	Keywords []string        `json:"keywords"`
	Flags    []analysis.Flag `json:"flags"`
	Score    *float64        `json:"sentiment_score"`
	Summary  *string         `json:"summary"` // the language model's; null without one
}

// Analyze analyses one conversation now.
func (p *Pipeline) Analyze(ctx context.Context, assistantID, conversationID string) error {
	set := p.settings(ctx, assistantID)
	if set.err != nil {
		return set.err
	}
	cms, err := p.Store.ConversationsForAnalysis(ctx, assistantID, []string{conversationID}, MaxMessages)
	if err != nil {
		return err
	}
	if len(cms) == 0 {
		return cv.ErrNotFound
	}
	a, err := p.prepare(ctx, assistantID, &cms[0], set.st, p.parallel())
	if err != nil {
		return err
	}
	res, err := p.Store.SaveAnalyses(ctx, []store.AnalysisSave{*a})
	if err != nil {
		return err
	}
	return res[0]
}

// prepare analyses a conversation (reading its messages when cm lacks them) and returns what
// to save. It holds one of slots while it reads and analyses offline.
func (p *Pipeline) prepare(ctx context.Context, assistantID string, cm *store.ConversationMessages, st settings.Settings, slots chan struct{}) (*store.AnalysisSave, error) {
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	held := true
	release := func() {
		if held {
			<-slots
			held = false
		}
	}
	defer release()
	c, events := cm.Conversation, cm.Messages
	if events == nil {
		var err error
		if events, err = p.messages(ctx, assistantID, c); err != nil {
			return nil, err
		}
	}
	if len(events) > MaxMessages {
		events = events[len(events)-MaxMessages:]
	}
	conversationID := c.ID
	now := p.now()
	in := analysis.Input{Topics: st.Topics, HandoffKeywords: st.HandoffKeywords, Now: now}
	for _, e := range events {
		in.Messages = append(in.Messages, analysis.Message{
			Author: e.Message.Author, Content: e.Message.Content, CreatedAt: e.CreatedAt,
			HasSources: len(e.Message.SourcesGenerated) > 2, // more than "[]"
		})
	}
	r := p.analyze(ctx, assistantID, conversationID, st.LLM, in, release)
	release()

	u := unified{UnifiedAnalysis: r.Unified(now), Title: r.Title, Keywords: r.Keywords, Flags: r.Flags, Summary: r.Summary}
	if u.Keywords == nil {
		u.Keywords = []string{}
	}
	if u.Flags == nil {
		u.Flags = []analysis.Flag{}
	}
	if r.Sentiment != nil {
		u.Score = &r.Sentiment.Score
	}
	a := cv.Analysis{IsFlagged: r.IsFlagged, Language: r.MostFrequentLanguage, MessageInsights: map[string]json.RawMessage{}}
	var err error
	if a.Unified, err = json.Marshal(u); err != nil {
		return nil, err
	}
	a.Sentiment, a.Topic = u.Sentiment, u.Topic
	if r.Title != "" {
		a.Title = &r.Title
	}
	var prev struct {
		Title string `json:"title"`
	}
	if len(c.UnifiedAnalysis) > 0 && json.Unmarshal(c.UnifiedAnalysis, &prev) == nil && prev.Title != "" {
		a.PreviousTitle = &prev.Title
	}
	for i, e := range events {
		if len(e.Message.MessageInsights) > 0 && string(e.Message.MessageInsights) != "null" {
			continue // a message's own insights do not change
		}
		b, err := json.Marshal(r.Messages[i])
		if err != nil {
			return nil, err
		}
		a.MessageInsights[e.ID] = b
	}
	save := &store.AnalysisSave{AssistantID: assistantID, ConversationID: conversationID, Analysis: a}
	// Whether the visitor "left" (resolved) or was "left unanswered" (flagged) depends on time
	// passing: look again once the conversation has been quiet long enough.
	if idle := c.LastMessageAt.Add(analysis.DefaultIdleAfter); idle.After(now) {
		save.Then = &store.NewJob{Kind: store.JobAnalyze, Key: c.ID, AssistantID: assistantID,
			RunAt: idle.Add(time.Second), Deadline: idle.Add(time.Minute)}
	}
	return save, nil
}

// analyze runs the offline analyzers and, when the assistant configured one, its language-model
// provider within the configured timeout; when the provider fails the offline result stands.
// The offline part is CPU work: release (the parallel slot) is called before the wait for the
// provider, which may take a provider's whole timeout.
func (p *Pipeline) analyze(ctx context.Context, assistantID, conversationID string, cfg *settings.LLM, in analysis.Input, release func()) analysis.Result {
	if !cfg.On() {
		return p.Analyzer.AnalyzeContext(ctx, in)
	}
	r := p.Analyzer.Analyze(in)
	release()
	key := breakerKey(assistantID, cfg)
	if p.breakers.open(key, time.Now()) {
		p.log().Debug("language model skipped after repeated failures, offline analysis kept", "assistant", assistantID, "conversation", conversationID)
		return r
	}
	// A batch waits for its providers together; a provider's requests wait for a turn among
	// LLMParallel. One that could not finish before the job's lease runs out is not asked (the
	// conversation is looked at again after its next messages, or when it has been quiet).
	llmSlots := p.llmParallel()
	select {
	case llmSlots <- struct{}{}:
		defer func() { <-llmSlots }()
	case <-ctx.Done():
		return r
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < cfg.Timeout()+5*time.Second {
		p.log().Warn("language model skipped: the analysis job's lease would run out, offline analysis kept", "assistant", assistantID, "conversation", conversationID)
		return r
	}
	ref := &llm.Refiner{Config: llm.Config{BaseURL: cfg.BaseURL, Model: cfg.Model, APIKey: cfg.APIKey}, Client: p.LLMClient,
		Log: p.log().With("assistant", assistantID, "conversation", conversationID)}
	rr, err := analysis.Refine(ctx, ref, cfg.Timeout(), in, r)
	if err != nil && ctx.Err() != nil {
		return rr // shutting down or the job's lease ran out: not the provider's fault
	}
	cooldown := p.LLMCooldown
	if cooldown <= 0 {
		cooldown = DefaultBreakerCooldown
	}
	opened := p.breakers.done(key, err == nil, time.Now(), cooldown)
	if err != nil {
		p.log().Warn("language model failed, offline analysis kept", "assistant", assistantID, "conversation", conversationID,
			"model", cfg.Model, "error", err.Error())
	}
	if opened {
		p.log().Warn("language model failed repeatedly, skipped for a while", "assistant", assistantID, "model", cfg.Model,
			"failures", BreakerFailures, "skip", cooldown.String())
	}
	return rr
}

// messages reads the newest MaxMessages messages, oldest first.
func (p *Pipeline) messages(ctx context.Context, assistantID string, c cv.Conversation) ([]cv.Event, error) {
	var out []cv.Event
	f := cv.EventFilter{Types: []string{cv.EventMessage}, Limit: 200}
	if c.MessageCount > MaxMessages {
		// Skip the oldest: ords are shared with other events, so start a little early.
		after := max(0, c.EventCount-2*MaxMessages)
		f.AfterOrd = &after
	}
	for {
		page, err := p.Store.Events(ctx, assistantID, c.ID, f)
		if err != nil {
			return nil, err
		}
		for _, e := range page.Items {
			if e.Message != nil {
				out = append(out, e)
			}
		}
		if len(page.Items) < f.Limit {
			break
		}
		last := page.Items[len(page.Items)-1].Ord
		f.AfterOrd = &last
	}
	if len(out) > MaxMessages {
		out = out[len(out)-MaxMessages:]
	}
	return out, nil
}
