// Package analysis reads a conversation and says what a support team wants to know about it,
// offline and without any network service: per-message sentiment and language, and for the
// conversation its sentiment, topic, AI-assessed resolution, flags with a readable reason, a
// title, its main language and key words.
//
// Each analyzer lives in its own package behind a small interface (sentiment.Judge,
// language.Detector, topic.Classifier, the flags functions); Analyzer puts them together. An
// optional Refiner (for example an LLM client) may refine the offline result; its errors and
// timeouts leave the offline result in place.
package analysis

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/analysis/flags"
	"github.com/parleyhq/parley/internal/analysis/language"
	"github.com/parleyhq/parley/internal/analysis/sentiment"
	"github.com/parleyhq/parley/internal/analysis/topic"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/settings"
)

// DefaultIdleAfter is how long a conversation must have been quiet before "the visitor left"
// (resolution) and "left unanswered" (flag) apply, when Input.IdleAfter is zero.
const DefaultIdleAfter = 30 * time.Minute

// Message is one message of the conversation, oldest first.
type Message struct {
	Author     string // conversation.AuthorVisitor, AuthorAI or AuthorOperator
	Content    string
	CreatedAt  time.Time
	HasSources bool // the assistant's answer cited sources (sources_generated non-empty)
}

// Input is what Analyze reads.
type Input struct {
	Messages        []Message
	Topics          []settings.Topic // the assistant's topic list; empty: derive a label
	HandoffKeywords []string         // the assistant's own handoff keywords
	Now             time.Time        // zero: time.Now()
	IdleAfter       time.Duration    // zero: DefaultIdleAfter
}

// MessageInsight is the message_insights document of one message; nil fields mean "could not
// judge" and are written as JSON null.
type MessageInsight struct {
	Sentiment *string  `json:"sentiment"`
	Score     *float64 `json:"score"`
	Language  *string  `json:"language"`
}

// Sentiment is a conversation's sentiment: a label and a score in -1..1.
type Sentiment struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// Flag kinds, strongest first.
const (
	FlagHumanRequested = "human_requested"
	FlagAbusive        = "abusive_language"
	FlagComplaint      = "complaint"
	FlagCouldNotAnswer = "could_not_answer"
	FlagUnanswered     = "unanswered"
	// FlagOther is a flag the language-model provider raised with its own reason.
	FlagOther = "other"
)

// FlagRank orders flag kinds, strongest first.
var FlagRank = map[string]int{FlagHumanRequested: 0, FlagAbusive: 1, FlagComplaint: 2, FlagCouldNotAnswer: 3, FlagUnanswered: 4, FlagOther: 5}

// SortFlags orders flags strongest first (stable).
func SortFlags(fl []Flag) {
	sort.SliceStable(fl, func(i, j int) bool { return FlagRank[fl[i].Kind] < FlagRank[fl[j].Kind] })
}

// Flag is one reason to look at a conversation.
type Flag struct {
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

// Resolution statuses (AI-assessed; separate from the operator-set status).
const (
	ResolutionOpen     = cv.StatusOpen
	ResolutionResolved = cv.StatusResolved
)

// Result is what Analyze says.
type Result struct {
	Messages             []MessageInsight // one per input message, same order
	Sentiment            *Sentiment       // nil when no visitor message could be judged
	Topic                string           // a topic name from the list, or a derived label ("" when nothing to go on)
	TopicFromList        bool             // Topic is one of Input.Topics
	ResolutionStatus     string           // "open" or "resolved"
	IsFlagged            bool
	FlagReason           *string  // the strongest flag's reason; nil when not flagged
	Flags                []Flag   // all flags, strongest first
	Title                string   // <= 60 characters; "" only when there is no visitor message
	MostFrequentLanguage *string  // ISO 639-1 of the visitor's messages; nil when unknown
	Keywords             []string // key words and phrases of the conversation, best first
	Summary              *string  // a short summary; only a Refiner writes one, nil otherwise
}

// UnifiedAnalysis is the unified_analysis document.
type UnifiedAnalysis struct {
	Sentiment        *string   `json:"sentiment"`
	ResolutionStatus string    `json:"resolution_status"`
	Topic            *string   `json:"topic"`
	IsFlagged        bool      `json:"is_flagged"`
	FlagReason       *string   `json:"flag_reason"`
	AnalyzedAt       time.Time `json:"analyzed_at"`
}

// Unified returns the unified_analysis document of r.
func (r Result) Unified(analyzedAt time.Time) UnifiedAnalysis {
	u := UnifiedAnalysis{ResolutionStatus: r.ResolutionStatus, IsFlagged: r.IsFlagged, FlagReason: r.FlagReason, AnalyzedAt: analyzedAt.UTC()}
	if r.Sentiment != nil {
		u.Sentiment = &r.Sentiment.Label
	}
	if r.Topic != "" {
		u.Topic = &r.Topic
	}
	return u
}

// Refiner is the seam for an optional provider (an LLM, see package analysis/llm) that refines
// the offline result: title, topic, flags, summary. It must return quickly or honour ctx; on
// error the offline result stands. Its Flags are what counts: Refine derives IsFlagged and
// FlagReason from them.
type Refiner interface {
	Refine(ctx context.Context, in Input, offline Result) (Result, error)
}

// Analyzer puts the analyzers together. The zero value is not usable; call New. It is safe
// for concurrent use.
type Analyzer struct {
	Language  language.Detector
	Sentiment sentiment.Judge
	Topics    *topic.Cache
	// Refiner, when set, refines results in AnalyzeContext within RefineTimeout (default 10 s).
	Refiner       Refiner
	RefineTimeout time.Duration
	// Memo remembers the per-message judgements (language, sentiment, signals) of recently seen
	// texts: a conversation is analysed again after every burst of messages, and assistants
	// repeat themselves. nil: no memo.
	Memo *Memo
}

// Memo is a bounded cache of per-message judgements keyed by a hash of the text (and the
// handoff keywords). Safe for concurrent use; when full it starts afresh.
type Memo struct {
	Max int // entries (default 50,000: about 10 MB)
	mu  sync.RWMutex
	m   map[[2]uint64]judged
}

type judged struct {
	lang string
	sent *sentiment.Result
	sig  flags.Signals
}

func memoKey(text string, keywords []string) [2]uint64 {
	h1, h2 := uint64(14695981039346656037), uint64(0x9e3779b97f4a7c15)
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			h1 = (h1 ^ uint64(s[i])) * 1099511628211
			h2 = (h2 ^ uint64(s[i])) * 0x100000001b3f
		}
		h1, h2 = h1^0xff, h2^0xff
	}
	add(text)
	for _, k := range keywords {
		add(k)
	}
	return [2]uint64{h1, h2}
}

func (m *Memo) get(k [2]uint64) (judged, bool) {
	if m == nil {
		return judged{}, false
	}
	m.mu.RLock()
	j, ok := m.m[k]
	m.mu.RUnlock()
	return j, ok
}

func (m *Memo) put(k [2]uint64, j judged) {
	if m == nil {
		return
	}
	max := m.Max
	if max <= 0 {
		max = 50000
	}
	m.mu.Lock()
	if m.m == nil || len(m.m) >= max {
		m.m = make(map[[2]uint64]judged, 1024)
	}
	m.m[k] = j
	m.mu.Unlock()
}

// New returns an Analyzer with the shipped models (loaded here: about 0.5 s).
func New() *Analyzer {
	return &Analyzer{Language: language.Default(), Sentiment: sentiment.Default(), Topics: &topic.Cache{Max: 256}, Memo: &Memo{}}
}

// IsHandoffRequest reports whether a visitor message asks for a human, in the common
// languages or by one of the assistant's extraKeywords (whole words and phrases, accent- and
// case-insensitive). The inbox calls it on every visitor message.
func IsHandoffRequest(text string, extraKeywords []string) bool {
	return flags.IsHandoffRequest(text, extraKeywords)
}

// AnalyzeContext is Analyze followed by the Analyzer's Refiner, if any.
func (a *Analyzer) AnalyzeContext(ctx context.Context, in Input) Result {
	r := a.Analyze(in)
	if a.Refiner == nil {
		return r
	}
	r, _ = Refine(ctx, a.Refiner, a.RefineTimeout, in, r)
	return r
}

// Refine asks ref to refine the offline result within timeout (default 10 s). When ref errs,
// or does not answer in time, Refine returns the offline result and the error. What ref says is
// kept within the result's bounds: a title of at most MaxTitle characters, flags strongest
// first with is_flagged and flag_reason following them, and the offline per-message insights.
func Refine(ctx context.Context, ref Refiner, timeout time.Duration, in Input, offline Result) (Result, error) {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rr, err := ref.Refine(ctx, in, offline)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return offline, err
	}
	if utf8.RuneCountInString(rr.Title) > MaxTitle {
		rr.Title = cut(rr.Title, MaxTitle)
	}
	if rr.Title == "" {
		rr.Title = offline.Title
	}
	if len(rr.Messages) != len(offline.Messages) {
		rr.Messages = offline.Messages
	}
	SortFlags(rr.Flags)
	rr.IsFlagged, rr.FlagReason = len(rr.Flags) > 0, nil
	if rr.IsFlagged {
		reason := rr.Flags[0].Reason
		rr.FlagReason = &reason
	}
	return rr, nil
}

func isVisitor(m Message) bool { return m.Author == cv.AuthorVisitor }

// Analyze reads a conversation.
func (a *Analyzer) Analyze(in Input) Result {
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	idle := in.IdleAfter
	if idle <= 0 {
		idle = DefaultIdleAfter
	}
	msgs := in.Messages
	r := Result{Messages: make([]MessageInsight, len(msgs)), ResolutionStatus: ResolutionOpen}
	langs := make([]string, len(msgs))
	scores := make([]*sentiment.Result, len(msgs))
	sig := make([]flags.Signals, len(msgs))
	var texts []language.Text
	for i, m := range msgs {
		if strings.TrimSpace(m.Content) == "" {
			continue
		}
		key := memoKey(m.Content, in.HandoffKeywords)
		j, ok := a.Memo.get(key)
		if !ok {
			j.lang = a.Language.Detect(m.Content)
			j.sent = a.Sentiment.Score(m.Content, j.lang)
			j.sig = flags.Read(m.Content, in.HandoffKeywords)
			a.Memo.put(key, j)
		}
		l := j.lang
		langs[i], sig[i] = l, j.sig
		if l != "" {
			r.Messages[i].Language = &langs[i]
		}
		if s := j.sent; s != nil {
			scores[i] = s
			lab, sc := s.Label, s.Score
			r.Messages[i].Sentiment, r.Messages[i].Score = &lab, &sc
		}
		if isVisitor(m) {
			texts = append(texts, language.Text{Content: m.Content, Language: l})
		}
	}
	if l := language.MostFrequent(texts); l != "" {
		r.MostFrequentLanguage = &l
	}
	r.Sentiment = conversationSentiment(msgs, scores)

	// topic, key words, title
	visitorText := visitorTexts(msgs)
	phrases := keyPhrases(msgs)
	r.Keywords = keywords(phrases, 6)
	if len(in.Topics) > 0 && len(visitorText) > 0 {
		c := a.Topics.Get(in.Topics)
		if name, _ := c.Classify(strings.Join(visitorText, "\n")); name != "" {
			r.Topic, r.TopicFromList = name, true
		}
	}
	if r.Topic == "" {
		r.Topic = deriveLabel(msgs, phrases, langOrEmpty(r.MostFrequentLanguage))
	}
	r.Title = title(msgs, r.Topic)

	r.Flags = a.flags(msgs, sig, scores, now, idle)
	if len(r.Flags) > 0 {
		r.IsFlagged = true
		reason := r.Flags[0].Reason
		r.FlagReason = &reason
	}
	r.ResolutionStatus = resolution(msgs, sig, scores, now, idle)
	return r
}

func langOrEmpty(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func visitorTexts(msgs []Message) []string {
	var out []string
	for _, m := range msgs {
		if isVisitor(m) && strings.TrimSpace(m.Content) != "" {
			out = append(out, m.Content)
		}
	}
	return out
}

// conversationSentiment is the recency-weighted mean of the visitor's judged messages: the
// score is the mean score; the label follows the mean of the labels (-1, 0, 1) beyond ±1/3.
func conversationSentiment(msgs []Message, scores []*sentiment.Result) *Sentiment {
	var ws, ss, ls float64
	n := 0
	for i, m := range msgs {
		if !isVisitor(m) || scores[i] == nil {
			continue
		}
		n++
		w := 1 + float64(n)/2 // later messages say more about how it ended
		ws += w
		ss += w * scores[i].Score
		switch scores[i].Label {
		case sentiment.Positive:
			ls += w
		case sentiment.Negative:
			ls -= w
		}
	}
	if n == 0 {
		return nil
	}
	s := &Sentiment{Label: sentiment.Neutral, Score: float64(int(ss/ws*1000)) / 1000}
	switch v := ls / ws; {
	case v > 1.0/3:
		s.Label = sentiment.Positive
	case v < -1.0/3:
		s.Label = sentiment.Negative
	}
	return s
}

// StrongNegative is the message score at or below which a visitor message counts as strongly
// negative (a flag).
const StrongNegative = -0.5

func quote(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return "\u201c" + cut(s, 60) + "\u201d"
}

func (a *Analyzer) flags(msgs []Message, sig []flags.Signals, scores []*sentiment.Result, now time.Time, idle time.Duration) []Flag {
	var out []Flag
	seen := map[string]bool{}
	add := func(kind, reason string) {
		if !seen[kind] {
			seen[kind] = true
			out = append(out, Flag{kind, reason})
		}
	}
	for i, m := range msgs {
		if !isVisitor(m) || strings.TrimSpace(m.Content) == "" {
			continue
		}
		if sig[i].HandoffRequest {
			add(FlagHumanRequested, "Visitor asked for a human: "+quote(m.Content))
		}
		if sig[i].Abusive {
			add(FlagAbusive, "Abusive language from the visitor")
		}
		if sig[i].Complaint {
			add(FlagComplaint, "Visitor complained: "+quote(m.Content))
		} else if scores[i] != nil && scores[i].Score <= StrongNegative {
			add(FlagComplaint, "Strong negative sentiment: "+quote(m.Content))
		}
	}
	for i, m := range msgs {
		if m.Author == cv.AuthorAI && !m.HasSources && sig[i].CannotAnswer {
			add(FlagCouldNotAnswer, "The assistant could not answer: "+quote(m.Content))
			break
		}
	}
	if n := len(msgs); n > 0 && isVisitor(msgs[n-1]) && now.Sub(msgs[n-1].CreatedAt) >= idle {
		add(FlagUnanswered, "Visitor message left unanswered for "+roundDuration(now.Sub(msgs[n-1].CreatedAt)))
	}
	SortFlags(out)
	return out
}

func roundDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return itoa(int(d/(24*time.Hour))) + " days"
	case d >= 2*time.Hour:
		return itoa(int(d/time.Hour)) + " hours"
	case d >= 2*time.Minute:
		return itoa(int(d/time.Minute)) + " minutes"
	}
	return "a minute"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// resolution: "resolved" when the visitor's last message thanks or confirms (and neither
// complains nor asks for a human), or when the assistant side answered last, the conversation
// has been idle for idle, and the visitor's last message was no complaint, request for a
// human, or strongly negative, and the answer was not an admission that it could not answer.
func resolution(msgs []Message, sig []flags.Signals, scores []*sentiment.Result, now time.Time, idle time.Duration) string {
	lastV := -1
	for i := len(msgs) - 1; i >= 0; i-- {
		if isVisitor(msgs[i]) && strings.TrimSpace(msgs[i].Content) != "" {
			lastV = i
			break
		}
	}
	if lastV < 0 {
		return ResolutionOpen
	}
	v := sig[lastV]
	unhappy := v.Complaint || v.HandoffRequest || v.Abusive || (scores[lastV] != nil && scores[lastV].Score <= StrongNegative)
	if unhappy {
		return ResolutionOpen
	}
	if v.Thanks {
		return ResolutionResolved
	}
	last := msgs[len(msgs)-1]
	if lastV == len(msgs)-1 || now.Sub(last.CreatedAt) < idle {
		return ResolutionOpen
	}
	// the assistant side spoke last and the visitor left
	for i := lastV + 1; i < len(msgs); i++ {
		if m := msgs[i]; m.Author == cv.AuthorAI && !m.HasSources && sig[i].CannotAnswer {
			return ResolutionOpen
		}
	}
	return ResolutionResolved
}
