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
	"time"

	"github.com/parleyhq/parley/internal/analysis"
	"github.com/parleyhq/parley/internal/analysis/llm"
	cv "github.com/parleyhq/parley/internal/conversation"
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

	breakers breakers
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

// Handle is the job handler of store.JobAnalyze.
func (p *Pipeline) Handle(ctx context.Context, j store.Job) error {
	err := p.Analyze(ctx, j.AssistantID, j.Key)
	if errors.Is(err, cv.ErrNotFound) {
		return nil // deleted since
	}
	return err
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
	c, err := p.Store.Conversation(ctx, assistantID, conversationID)
	if err != nil {
		return err
	}
	events, err := p.messages(ctx, assistantID, c)
	if err != nil {
		return err
	}
	doc, err := p.Store.Settings(ctx, assistantID)
	if err != nil {
		return err
	}
	st, err := settings.Parse(doc)
	if err != nil {
		return err
	}
	now := p.now()
	in := analysis.Input{Topics: st.Topics, HandoffKeywords: st.HandoffKeywords, Now: now}
	for _, e := range events {
		in.Messages = append(in.Messages, analysis.Message{
			Author: e.Message.Author, Content: e.Message.Content, CreatedAt: e.CreatedAt,
			HasSources: len(e.Message.SourcesGenerated) > 2, // more than "[]"
		})
	}
	r := p.analyze(ctx, assistantID, conversationID, st.LLM, in)

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
	if a.Unified, err = json.Marshal(u); err != nil {
		return err
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
			return err
		}
		a.MessageInsights[e.ID] = b
	}
	if _, err := p.Store.SaveAnalysis(ctx, assistantID, conversationID, a); err != nil {
		return err
	}
	// Whether the visitor "left" (resolved) or was "left unanswered" (flagged) depends on time
	// passing: look again once the conversation has been quiet long enough.
	if idle := c.LastMessageAt.Add(analysis.DefaultIdleAfter); idle.After(now) {
		return p.Store.EnqueueJob(ctx, store.NewJob{Kind: store.JobAnalyze, Key: c.ID, AssistantID: assistantID,
			RunAt: idle.Add(time.Second), Deadline: idle.Add(time.Minute)})
	}
	return nil
}

// analyze runs the offline analyzers and, when the assistant configured one, its language-model
// provider within the configured timeout; when the provider fails the offline result stands.
func (p *Pipeline) analyze(ctx context.Context, assistantID, conversationID string, cfg *settings.LLM, in analysis.Input) analysis.Result {
	if !cfg.On() {
		return p.Analyzer.AnalyzeContext(ctx, in)
	}
	r := p.Analyzer.Analyze(in)
	key := breakerKey(assistantID, cfg)
	if p.breakers.open(key, time.Now()) {
		p.log().Debug("language model skipped after repeated failures, offline analysis kept", "assistant", assistantID, "conversation", conversationID)
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
