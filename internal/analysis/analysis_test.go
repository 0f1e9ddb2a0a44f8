package analysis

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/settings"
)

var (
	testOnce sync.Once
	testA    *Analyzer
)

func analyzer() *Analyzer {
	testOnce.Do(func() { testA = New() })
	return testA
}

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func conv(parts ...string) []Message {
	var out []Message
	for i := 0; i+1 < len(parts); i += 2 {
		a := cv.AuthorVisitor
		switch parts[i] {
		case "ai":
			a = cv.AuthorAI
		case "op":
			a = cv.AuthorOperator
		}
		out = append(out, Message{Author: a, Content: parts[i+1], CreatedAt: t0.Add(time.Duration(i) * time.Minute)})
	}
	return out
}

func TestAnalyzeResolvedByThanks(t *testing.T) {
	r := analyzer().Analyze(Input{Now: t0.Add(10 * time.Minute), Messages: conv(
		"v", "Hi! How do I reset my password? I forgot it.",
		"ai", "Go to Settings > Security and click 'Reset password'. You will get an email.",
		"v", "That worked, thanks a lot!",
	)})
	if r.ResolutionStatus != ResolutionResolved {
		t.Errorf("resolution = %s", r.ResolutionStatus)
	}
	if r.IsFlagged || r.FlagReason != nil {
		t.Errorf("flags = %+v", r.Flags)
	}
	if r.Title != "How do I reset my password?" {
		t.Errorf("title = %q", r.Title)
	}
	if r.MostFrequentLanguage == nil || *r.MostFrequentLanguage != "en" {
		t.Errorf("language = %v", r.MostFrequentLanguage)
	}
	if r.Sentiment == nil || r.Sentiment.Label != "positive" {
		t.Errorf("sentiment = %+v", r.Sentiment)
	}
	if !strings.Contains(strings.ToLower(r.Topic), "password") {
		t.Errorf("derived topic = %q", r.Topic)
	}
	if len(r.Messages) != 3 || r.Messages[0].Language == nil || *r.Messages[0].Language != "en" {
		t.Fatalf("insights = %+v", r.Messages)
	}
	b, _ := json.Marshal(r.Messages[2])
	if !strings.Contains(string(b), `"sentiment":"positive"`) || !strings.Contains(string(b), `"language":"en"`) {
		t.Errorf("insight json = %s", b)
	}
	t.Logf("keywords %v topic %q", r.Keywords, r.Topic)
}

func TestAnalyzeFlagsStrongestFirst(t *testing.T) {
	r := analyzer().Analyze(Input{Now: t0.Add(3 * time.Hour), Messages: conv(
		"v", "My order #12345 still hasn't arrived, this is ridiculous",
		"ai", "I'm sorry, I don't know where your order is.",
		"v", "This is useless. I want to talk to a real person!",
	)})
	if !r.IsFlagged || r.Flags[0].Kind != FlagHumanRequested {
		t.Fatalf("flags = %+v", r.Flags)
	}
	kinds := []string{}
	for _, f := range r.Flags {
		kinds = append(kinds, f.Kind)
	}
	want := []string{FlagHumanRequested, FlagComplaint, FlagCouldNotAnswer, FlagUnanswered}
	if strings.Join(kinds, ",") != strings.Join(want, ",") {
		t.Errorf("kinds = %v, want %v", kinds, want)
	}
	if r.ResolutionStatus != ResolutionOpen {
		t.Errorf("resolution = %s", r.ResolutionStatus)
	}
	if r.Sentiment == nil || r.Sentiment.Label != "negative" {
		t.Errorf("sentiment = %+v", r.Sentiment)
	}
	if !strings.HasPrefix(*r.FlagReason, "Visitor asked for a human") {
		t.Errorf("reason = %q", *r.FlagReason)
	}
}

func TestAnalyzeAbusive(t *testing.T) {
	r := analyzer().Analyze(Input{Now: t0.Add(time.Minute), Messages: conv(
		"v", "where is my fucking refund you idiots",
		"ai", "Refunds take 5 to 7 business days after we receive the item.",
	)})
	if len(r.Flags) == 0 || r.Flags[0].Kind != FlagAbusive {
		t.Fatalf("flags = %+v", r.Flags)
	}
}

func TestAnalyzeAnsweredAndLeft(t *testing.T) {
	msgs := conv(
		"v", "What are your opening hours on Sunday?",
		"ai", "We are open from 10:00 to 16:00 on Sundays.",
	)
	msgs[1].HasSources = true
	a := analyzer()
	if r := a.Analyze(Input{Now: t0.Add(5 * time.Minute), Messages: msgs}); r.ResolutionStatus != ResolutionOpen {
		t.Errorf("fresh: resolution = %s", r.ResolutionStatus)
	}
	r := a.Analyze(Input{Now: t0.Add(2 * time.Hour), Messages: msgs})
	if r.ResolutionStatus != ResolutionResolved {
		t.Errorf("idle: resolution = %s", r.ResolutionStatus)
	}
	if r.IsFlagged {
		t.Errorf("flags = %+v", r.Flags)
	}
	// the answer was "I don't know": not resolved, flagged
	msgs[1] = Message{Author: cv.AuthorAI, Content: "I'm not sure, I don't have that information.", CreatedAt: msgs[1].CreatedAt}
	r = a.Analyze(Input{Now: t0.Add(2 * time.Hour), Messages: msgs})
	if r.ResolutionStatus != ResolutionOpen || len(r.Flags) == 0 || r.Flags[0].Kind != FlagCouldNotAnswer {
		t.Errorf("could not answer: %s %+v", r.ResolutionStatus, r.Flags)
	}
}

func TestAnalyzeUnanswered(t *testing.T) {
	r := analyzer().Analyze(Input{Now: t0.Add(45 * time.Minute), IdleAfter: 30 * time.Minute, Messages: conv(
		"v", "Do you ship to Norway?",
	)})
	if len(r.Flags) != 1 || r.Flags[0].Kind != FlagUnanswered {
		t.Fatalf("flags = %+v", r.Flags)
	}
	if r.ResolutionStatus != ResolutionOpen {
		t.Errorf("resolution = %s", r.ResolutionStatus)
	}
}

func TestAnalyzeTopicsFromList(t *testing.T) {
	topics := []settings.Topic{
		{Name: "Billing", Description: "invoices, charges, payment methods", Examples: []string{"I was charged twice", "where is my invoice", "can I pay with PayPal"}},
		{Name: "Shipping", Description: "delivery times and tracking", Examples: []string{"where is my package", "how long does delivery take", "track my order"}},
		{Name: "Account", Description: "login, password, profile", Examples: []string{"I can't log in", "reset my password", "change my email address"}},
	}
	a := analyzer()
	for text, want := range map[string]string{
		"Hello, my parcel hasn't arrived yet, can you track it?": "Shipping",
		"I think you charged my card two times this month":       "Billing",
		"I forgot my password and cannot log into my account":    "Account",
	} {
		r := a.Analyze(Input{Now: t0, Messages: conv("v", text), Topics: topics})
		if r.Topic != want || !r.TopicFromList {
			t.Errorf("%q: topic = %q (%v), want %q", text, r.Topic, r.TopicFromList, want)
		}
	}
}

func TestAnalyzeOtherLanguages(t *testing.T) {
	a := analyzer()
	cases := []struct {
		text, lang, sentiment string
		human                 bool
	}{
		{"Hola, quiero hablar con una persona, el producto llegó roto y estoy muy enfadado", "es", "negative", true},
		{"Bonjour, je voudrais parler à un conseiller s'il vous plaît", "fr", "", true},
		{"Guten Tag, ich möchte mit einem Mitarbeiter sprechen", "de", "", true},
		{"Vielen Dank, das hat super funktioniert!", "de", "positive", false},
		{"Здравствуйте, соедините меня с оператором", "ru", "", true},
		{"我要转人工客服", "zh", "", true},
		{"注文した商品がまだ届きません。オペレーターと話したいです。", "ja", "", true},
	}
	for _, c := range cases {
		r := a.Analyze(Input{Now: t0, Messages: conv("v", c.text)})
		if r.MostFrequentLanguage == nil || *r.MostFrequentLanguage != c.lang {
			t.Errorf("%q: language = %v, want %s", c.text, r.MostFrequentLanguage, c.lang)
		}
		if c.sentiment != "" && (r.Messages[0].Sentiment == nil || *r.Messages[0].Sentiment != c.sentiment) {
			t.Errorf("%q: sentiment = %v, want %s", c.text, r.Messages[0].Sentiment, c.sentiment)
		}
		if got := len(r.Flags) > 0 && r.Flags[0].Kind == FlagHumanRequested; got != c.human {
			t.Errorf("%q: human requested = %v", c.text, got)
		}
		if r.Title == "" || utf8.RuneCountInString(r.Title) > MaxTitle {
			t.Errorf("%q: title = %q", c.text, r.Title)
		}
		t.Logf("%s title %q topic %q", c.lang, r.Title, r.Topic)
	}
	// a language it cannot judge: no sentiment rather than a guess
	r := a.Analyze(Input{Now: t0, Messages: conv("v", "Dziękuję bardzo, wszystko działa świetnie")})
	if r.Messages[0].Sentiment != nil || r.Sentiment != nil {
		t.Errorf("polish sentiment = %v", r.Messages[0].Sentiment)
	}
}

func TestTitle(t *testing.T) {
	cases := []struct {
		msgs []Message
		want string
	}{
		{conv("v", "Hi there! Quick question: can I change the delivery address of order 1234 after it has shipped to the warehouse in Rotterdam?"), "Can I change the delivery address of order 1234 after it…"},
		{conv("v", "hello", "ai", "Hi! How can I help?", "v", "my invoice is wrong"), "My invoice is wrong"},
		{conv("v", "Hi Anna, I need help. The app crashes when I upload a photo."), "The app crashes when I upload a photo."},
		{conv("v", "Hola, buenos días. ¿Cómo puedo cancelar mi suscripción?"), "¿Cómo puedo cancelar mi suscripción?"},
		{conv("v", "hi"), "Hi"},
	}
	for _, c := range cases {
		got := title(c.msgs, "")
		if got != c.want {
			t.Errorf("title = %q, want %q", got, c.want)
		}
		if utf8.RuneCountInString(got) > MaxTitle {
			t.Errorf("title %q is %d long", got, utf8.RuneCountInString(got))
		}
	}
	if got := title(conv("ai", "Welcome!"), ""); got != "" {
		t.Errorf("no visitor: %q", got)
	}
}

func TestIsHandoffRequestKeywords(t *testing.T) {
	if !IsHandoffRequest("Can I get the ESCALATION team?", []string{"escalation team"}) {
		t.Error("keyword")
	}
	if IsHandoffRequest("the escalations teammate", []string{"escalation team"}) {
		t.Error("keyword must match whole words")
	}
	if !IsHandoffRequest("quiero hablar con un agente", nil) || !IsHandoffRequest("Kundenservice: ich will einen Menschen!", nil) {
		t.Error("default phrases")
	}
	for _, s := range []string{"How do I reset my password?", "I want to cancel my order", "Where is my refund?", "The agent of change", "Can someone tell me the opening hours?"} {
		if IsHandoffRequest(s, nil) {
			t.Errorf("%q flagged", s)
		}
	}
}

func TestUnifiedJSON(t *testing.T) {
	r := analyzer().Analyze(Input{Now: t0, Messages: conv("v", "Thanks, all good now!")})
	b, err := json.Marshal(r.Unified(t0))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"sentiment":"positive"`, `"resolution_status":"resolved"`, `"is_flagged":false`, `"flag_reason":null`, `"analyzed_at":"2026-03-01T10:00:00Z"`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("%s lacks %s", b, k)
		}
	}
}

func TestConcurrent(t *testing.T) {
	a := analyzer()
	in := Input{Now: t0, Messages: conv("v", "I want a refund for my broken headphones", "ai", "I'm sorry to hear that. Please send us the order number.")}
	want := a.Analyze(in)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				got := a.Analyze(in)
				if got.Title != want.Title || got.Topic != want.Topic || got.ResolutionStatus != want.ResolutionStatus {
					t.Error("results differ under concurrency")
					return
				}
			}
		}()
	}
	wg.Wait()
}
