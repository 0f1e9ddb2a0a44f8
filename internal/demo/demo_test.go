package demo

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/conversation"
)

var (
	testEnd  = time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC)
	testSpan = 60 * 24 * time.Hour
)

func TestGenerateValid(t *testing.T) {
	convs := Generate(1, 2000, testEnd, testSpan)
	if len(convs) != 2000 {
		t.Fatalf("got %d conversations", len(convs))
	}
	end := testEnd.Truncate(time.Microsecond)
	email := regexp.MustCompile(`^[a-z0-9._]+@example\.(com|org|net)$`)
	phone := regexp.MustCompile(`^\+(1[0-9]{3}55501[0-9]{2}|447700900[0-9]{3})$`)
	order := regexp.MustCompile(`ORD-[0-9]{7}\b`)
	orders := map[string]int{}
	var welcome, operator, sources, attachments, emails, names int
	for i := range convs {
		c := &convs[i]
		if err := c.Validate(); err != nil {
			t.Fatalf("conversation %d: %v\n%+v", i, err, c)
		}
		if n := len(c.Messages); n < 2 || n > 12 {
			t.Errorf("conversation %d has %d messages", i, n)
		}
		if c.CreatedAt == nil || !c.CreatedAt.Equal(*c.Messages[0].CreatedAt) {
			t.Errorf("conversation %d: created_at %v is not its first message's time", i, c.CreatedAt)
		}
		if i > 0 && c.CreatedAt.Before(*convs[i-1].CreatedAt) {
			t.Errorf("conversation %d is older than the one before", i)
		}
		if c.CreatedAt.Before(end.Add(-testSpan)) {
			t.Errorf("conversation %d starts at %v, before the span", i, c.CreatedAt)
		}
		if c.VisitorEmail != nil {
			emails++
			if !email.MatchString(*c.VisitorEmail) {
				t.Errorf("conversation %d: email %q", i, *c.VisitorEmail)
			}
		}
		if c.VisitorName != nil {
			names++
		}
		if (c.Source == conversation.SourceWhatsApp) != (c.VisitorPhoneNumber != nil) {
			t.Errorf("conversation %d: source %s with phone %v", i, c.Source, c.VisitorPhoneNumber)
		} else if c.VisitorPhoneNumber != nil && !phone.MatchString(*c.VisitorPhoneNumber) {
			t.Errorf("conversation %d: phone %q", i, *c.VisitorPhoneNumber)
		}
		if c.URL != nil && !strings.HasPrefix(*c.URL, "https://shop.example.com/") {
			t.Errorf("conversation %d: url %q", i, *c.URL)
		}
		channel := c.Source != conversation.SourceWidget && c.Source != conversation.SourceAPI
		if channel && c.ExternalID == nil {
			t.Errorf("conversation %d on %s has no external_id", i, c.Source)
		}
		var last time.Time
		for j, m := range c.Messages {
			at := *m.CreatedAt
			if at.Location() != time.UTC || at.Nanosecond()%1000 != 0 || !at.After(last) || at.After(end) {
				t.Errorf("conversation %d message %d: time %v (previous %v)", i, j, at, last)
			}
			last = at
			if strings.ContainsAny(m.Content, "{}") || m.Content == "" {
				t.Errorf("conversation %d message %d: content %q", i, j, m.Content)
			}
			if channel != (m.ExternalID != nil) {
				t.Errorf("conversation %d message %d on %s: external_id %v", i, j, c.Source, m.ExternalID)
			}
			if m.IsWelcome {
				welcome++
				if j != 0 || m.Author != conversation.AuthorAI {
					t.Errorf("conversation %d: welcome message %d by %s", i, j, m.Author)
				}
			}
			if m.Author == conversation.AuthorOperator {
				operator++
			}
			if string(m.SourcesGenerated) != "[]" {
				sources++
			}
			if string(m.Attachments) != "[]" {
				attachments++
				var a []map[string]any
				if err := json.Unmarshal(m.Attachments, &a); err != nil || len(a) != 1 || a[0]["size"] == nil ||
					!strings.HasPrefix(a[0]["url"].(string), "https://files.example.com/") {
					t.Errorf("conversation %d message %d: attachments %s", i, j, m.Attachments)
				}
			}
		}
		seen := map[string]bool{}
		for _, m := range c.Messages {
			for _, o := range order.FindAllString(m.Content, -1) {
				if !seen[o] {
					seen[o] = true
					orders[o]++
				}
			}
		}
	}
	repeated := 0
	for _, n := range orders {
		if n > 2 {
			repeated++
		}
	}
	t.Logf("welcome %d, operator messages %d, with sources %d, with attachments %d, names %d, emails %d, distinct orders %d (%d mentioned often)",
		welcome, operator, sources, attachments, names, emails, len(orders), repeated)
	if welcome == 0 || operator == 0 || sources == 0 || attachments == 0 || repeated == 0 || repeated > len(orders)/4 {
		t.Error("a feature is missing from the sample")
	}
	if emails < 700 || emails > 1300 || names < 1400 {
		t.Errorf("%d names and %d emails in 2000 conversations", names, emails)
	}
}

func TestGenerateDeterministic(t *testing.T) {
	a := Generate(7, 300, testEnd, testSpan)
	b := Generate(7, 300, testEnd, testSpan)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave different conversations")
	}
	if c := Generate(8, 300, testEnd, testSpan); reflect.DeepEqual(a, c) {
		t.Fatal("different seeds gave the same conversations")
	}
	if len(Generate(1, 0, testEnd, testSpan)) != 0 || len(Generate(1, -1, testEnd, testSpan)) != 0 {
		t.Fatal("no conversations were asked for")
	}
}

func TestCoverage(t *testing.T) {
	g := NewGenerator(1, testEnd, testSpan)
	g.MinMessages, g.MaxMessages = 2, 12
	sources, languages, scenes := map[string]int{}, map[string]int{}, map[int]int{}
	for range 2000 {
		c := g.Next()
		sources[c.Source]++
		languages[langs[g.lastLang].code]++
		scenes[g.lastScene]++
	}
	for _, s := range []string{"widget", "whatsapp", "telegram", "slack", "api"} {
		if sources[s] == 0 {
			t.Errorf("no %s conversation", s)
		}
	}
	if sources["widget"] < sources["whatsapp"] || sources["whatsapp"] < sources["telegram"] || sources["telegram"] < sources["api"] {
		t.Errorf("sources are not in the expected order: %v", sources)
	}
	for _, L := range langs {
		if languages[L.code] == 0 {
			t.Errorf("no conversation in %s", L.code)
		}
	}
	if languages["en"] < 800 {
		t.Errorf("English should dominate: %v", languages)
	}
	for sc := range numScenarios {
		if scenes[sc] == 0 {
			t.Errorf("no conversation for scenario %d", sc)
		}
	}
	t.Logf("sources %v\nlanguages %v", sources, languages)
}

// Every template of every language renders without leftovers, and each language has its own text.
func TestLanguages(t *testing.T) {
	for _, want := range []struct{ code, text string }{{"de", "Rückerstattung"}, {"fr", "commande"}, {"es", "¿dónde está mi pedido"},
		{"pl", "zamówienie"}, {"pt", "pedido"}, {"it", "ordine"}, {"nl", "bestelling"}, {"en", "order"}} {
		found := false
		for _, L := range langs {
			if L.code != want.code {
				continue
			}
			for _, s := range L.scripts {
				for _, part := range s {
					for _, x := range part {
						found = found || strings.Contains(strings.ToLower(x), strings.ToLower(want.text))
					}
				}
			}
		}
		if !found {
			t.Errorf("%s: no script mentions %q", want.code, want.text)
		}
	}
}

func TestGeneratorOptionsAndIDs(t *testing.T) {
	g := NewGenerator(3, testEnd, time.Hour)
	g.MinMessages, g.MaxMessages = 30, 30
	for range 200 {
		if c := g.Next(); len(c.Messages) != 30 || c.Validate() != nil {
			t.Fatalf("got %d messages, want 30", len(c.Messages))
		}
	}
	g.MinMessages, g.MaxMessages = 1, 1
	for range 200 {
		if c := g.Next(); len(c.Messages) != 1 || c.Messages[0].Author != conversation.AuthorVisitor || c.Validate() != nil {
			t.Fatalf("got %+v, want one visitor message", c.Messages)
		}
	}
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	g = NewGenerator(4, testEnd, 24*time.Hour)
	seen := make(map[string]bool, n)
	for range n {
		c := g.Next()
		if c.ExternalID == nil {
			continue
		}
		key := c.Source + " " + *c.ExternalID
		if seen[key] {
			t.Fatalf("external_id %s repeats", key)
		}
		seen[key] = true
		ids := map[string]bool{}
		for _, m := range c.Messages {
			if m.ExternalID != nil && ids[*m.ExternalID] {
				t.Fatalf("message external_id %s repeats in %s", *m.ExternalID, key)
			} else if m.ExternalID != nil {
				ids[*m.ExternalID] = true
			}
		}
	}
}

func BenchmarkGenerator(b *testing.B) {
	g := NewGenerator(1, testEnd, 365*24*time.Hour)
	msgs := 0
	b.ReportAllocs()
	for b.Loop() {
		msgs += len(g.Next().Messages)
	}
	b.ReportMetric(float64(msgs)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(msgs)/float64(b.N), "msgs/conv")
}
