package sqlstore_test

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/demo"
	"github.com/parleyhq/parley/internal/store/enginetest"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/sqlite"
	"github.com/parleyhq/parley/internal/store/sqlstore"
)

// TestCountersBackfill checks that migration 00040 computes the analytics counters of
// existing conversations exactly as the store keeps them for new events: the counts before
// the migration is undone and those after it runs again are the same.
func TestCountersBackfill(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		t.Parallel()
		st := open(t).(*sqlstore.Store)
		ctx := t.Context()
		a, err := st.CreateAssistant(ctx, "backfill")
		if err != nil {
			t.Fatal(err)
		}
		convs := demoConversations(t, 7, 60, time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC), 20*24*time.Hour)
		link := cv.NewLink{ID: "Lbackfill0000000000001", URL: "https://example.com/"}
		convs[3].Messages = append(convs[3].Messages, cv.NewMessage{Author: cv.AuthorAI, Content: "see the link", Links: []cv.NewLink{link}})
		created, err := st.CreateConversations(ctx, a.ID, convs)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := st.ClickLink(ctx, link.ID); err != nil {
				t.Fatal(err)
			}
		}
		op := "op-1"
		for _, c := range created[:5] {
			if _, err := st.UpdateConversation(ctx, a.ID, c.Conversation.ID, 0, func(c *cv.Conversation) ([]cv.Log, error) {
				p := cv.Patch{Assignee: &cv.Assignee{Type: cv.AssigneeOperator, ID: &op}}
				return p.Apply(c, cv.Actor{Type: "system"}), nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		for i, c := range created[10:30] {
			sentiment, topic, lang := []string{"positive", "neutral", "negative"}[i%3], []string{"Returns", "Shipping"}[i%2], "en"
			if _, err := st.SaveAnalysis(ctx, a.ID, c.Conversation.ID, cv.Analysis{Sentiment: &sentiment, Topic: &topic, Language: &lang, IsFlagged: i%4 == 0}); err != nil {
				t.Fatal(err)
			}
		}
		// Answered by each rollup, and by the conversations.
		queries := []cv.AnalyticsQuery{{GroupBy: []string{cv.GroupDay, cv.GroupSource}}, {GroupBy: []string{cv.GroupWeek, cv.GroupTopic}},
			{GroupBy: []string{cv.GroupSentiment, cv.GroupAssigneeType}}, {GroupBy: []string{cv.GroupLanguage}, Filter: cv.Filter{HasUnread: &[]bool{true}[0]}}}
		var before []cv.Analytics
		for _, q := range queries {
			a, err := st.Analytics(ctx, a.ID, q)
			if err != nil {
				t.Fatal(err)
			}
			before = append(before, a)
		}
		if before[0].Total.HandedOff < 5 || before[0].Total.TrackedLinkClicks != 2 || before[0].Total.Flagged != 5 {
			t.Fatalf("the store does not keep the counters: %+v", before[0].Total)
		}
		p := migrations(t, st)
		if _, err := p.DownTo(ctx, 39); err != nil {
			t.Fatalf("undo migration 00040: %v", err)
		}
		if hasColumn(t, st.DB(), "link_clicks") {
			t.Fatal("the counters are still there after the down migration")
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("redo migration 00040: %v", err)
		}
		for j, q := range queries {
			after, err := st.Analytics(ctx, a.ID, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(after.Groups) != len(before[j].Groups) || after.Total != before[j].Total {
				t.Fatalf("%v: after the backfill %+v (%d groups), before %+v (%d groups)", q.GroupBy, after.Total, len(after.Groups), before[j].Total, len(before[j].Groups))
			}
			for i := range after.Groups {
				if after.Groups[i].Counts != before[j].Groups[i].Counts || keyText(after.Groups[i].Key) != keyText(before[j].Groups[i].Key) {
					t.Errorf("%v group %d: after the backfill %+v, before %+v", q.GroupBy, i, after.Groups[i], before[j].Groups[i])
				}
			}
		}
	})
}

// migrations is the goose provider of st's engine.
func migrations(t *testing.T, st *sqlstore.Store) *goose.Provider {
	t.Helper()
	var p *goose.Provider
	var err error
	if st.Engine() == "sqlite" {
		p, err = sqlite.Migrations(st.DB())
	} else {
		p, err = postgres.Migrations(st.DB())
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// demoConversations generates n valid demo conversations ending at end.
func demoConversations(t *testing.T, seed int64, n int, end time.Time, span time.Duration) []cv.NewConversation {
	t.Helper()
	convs := demo.Generate(seed, n, end, span)
	for i := range convs {
		if err := convs[i].Validate(); err != nil {
			t.Fatal(err)
		}
	}
	return convs
}

func hasColumn(t *testing.T, db *sql.DB, col string) bool {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "SELECT * FROM conversations LIMIT 0")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cols {
		if c == col {
			return true
		}
	}
	return false
}

func keyText(key []*string) string {
	var out []string
	for _, k := range key {
		if k == nil {
			out = append(out, "<none>")
		} else {
			out = append(out, *k)
		}
	}
	return fmt.Sprint(out)
}
