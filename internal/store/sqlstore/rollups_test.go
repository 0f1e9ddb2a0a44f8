package sqlstore_test

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store/enginetest"
	"github.com/parleyhq/parley/internal/store/sqlstore"
)

// TestRollupsAfterWrites checks the rollups that the triggers keep through the writes of a
// conversation's life (messages, handoffs, link clicks, analyses, status and assignee changes,
// edits, deletion) against the rollups computed from scratch (migration 00040 undone and run
// again): row for row, the same.
func TestRollupsAfterWrites(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		t.Parallel()
		st := open(t).(*sqlstore.Store)
		ctx := t.Context()
		a, err := st.CreateAssistant(ctx, "rollups")
		if err != nil {
			t.Fatal(err)
		}
		convs := demoConversations(t, 11, 24, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), 10*24*time.Hour)
		created, err := st.CreateConversations(ctx, a.ID, convs)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, len(created))
		for i, c := range created {
			ids[i] = c.Conversation.ID
		}
		requested := cv.HandoffRequested
		for i, id := range ids {
			msgs := []cv.NewMessage{
				{Author: cv.AuthorVisitor, Content: fmt.Sprintf("question %d", i)},
				{Author: cv.AuthorAI, Content: "an answer"},
			}
			switch i % 4 {
			case 1:
				msgs = append(msgs, cv.NewMessage{Author: cv.AuthorOperator, Content: "a human here"})
			case 2:
				msgs = append(msgs, cv.NewMessage{Author: cv.AuthorVisitor, Content: "a human please", HandoffState: &requested})
			case 3:
				link := cv.NewLink{ID: fmt.Sprintf("Lrollups%014d", i), URL: "https://example.com/"}
				msgs = append(msgs, cv.NewMessage{Author: cv.AuthorAI, Content: "see the link", Links: []cv.NewLink{link}})
			}
			for _, m := range msgs {
				if err := m.Validate(""); err != nil {
					t.Fatal(err)
				}
				if _, _, err := st.AppendMessage(ctx, a.ID, id, m); err != nil {
					t.Fatal(err)
				}
			}
			if i%4 == 3 {
				if _, err := st.ClickLink(ctx, fmt.Sprintf("Lrollups%014d", i)); err != nil {
					t.Fatal(err)
				}
			}
		}
		op := "op-7"
		for i, id := range ids[:12] {
			if _, err := st.UpdateConversation(ctx, a.ID, id, 0, func(c *cv.Conversation) ([]cv.Log, error) {
				p := cv.Patch{}
				if i%2 == 0 {
					p.Assignee = &cv.Assignee{Type: cv.AssigneeOperator, ID: &op}
				} else {
					s := cv.StatusResolved
					p.ResolutionStatus = &s
				}
				return p.Apply(c, cv.Actor{Type: "system"}), nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		for i, id := range ids[6:18] {
			sentiment, topic, lang := []string{"positive", "negative"}[i%2], []string{"Billing", "Shipping", "Returns"}[i%3], "de"
			if _, err := st.SaveAnalysis(ctx, a.ID, id, cv.Analysis{Sentiment: &sentiment, Topic: &topic, Language: &lang, IsFlagged: i%3 == 0}); err != nil {
				t.Fatal(err)
			}
		}
		// Messages after the analyses and the status changes (a resolved one reopens).
		for _, id := range ids[4:16] {
			if _, _, err := st.AppendMessage(ctx, a.ID, id, cv.NewMessage{Author: cv.AuthorVisitor, Content: "one more thing", SourcesGenerated: []byte("[]"), Attachments: []byte("[]")}); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.DeleteConversation(ctx, a.ID, ids[20]); err != nil {
			t.Fatal(err)
		}

		kept := rollupRows(t, st.DB())
		if len(kept) == 0 {
			t.Fatal("no rollup rows")
		}
		p := migrations(t, st)
		if _, err := p.DownTo(ctx, 39); err != nil {
			t.Fatalf("undo migration 00040: %v", err)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("redo migration 00040: %v", err)
		}
		rebuilt := rollupRows(t, st.DB())
		if !slices.Equal(kept, rebuilt) {
			t.Errorf("the rollups kept by the triggers differ from those computed again:\nkept:\n%s\nrebuilt:\n%s",
				strings.Join(kept, "\n"), strings.Join(rebuilt, "\n"))
		}
	})
}

// rollupRows lists both rollup tables' rows that count something, in key order, as text.
func rollupRows(t *testing.T, db *sql.DB) []string {
	t.Helper()
	var out []string
	for _, q := range []string{
		`SELECT 'c', assistant_id, day, source || '/' || sentiment || '/' || language || '/' || assignee_type || '/' || resolution_status,
 CASE WHEN is_flagged THEN 1 ELSE 0 END, conversations, messages, handed_off, link_clicks
 FROM conversation_rollups WHERE conversations <> 0 OR messages <> 0 OR handed_off <> 0 OR link_clicks <> 0
 ORDER BY assistant_id, day, source, sentiment, language, assignee_type, resolution_status, is_flagged`,
		`SELECT 'd', assistant_id, day, dimension || '/' || value, flagged, conversations, messages, handed_off, link_clicks
 FROM dimension_rollups WHERE conversations <> 0 OR messages <> 0 OR handed_off <> 0 OR flagged <> 0 OR link_clicks <> 0
 ORDER BY assistant_id, dimension, day, value`,
	} {
		rows, err := db.QueryContext(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var table, assistant, key string
			var day, flagged, convs, msgs, handed, clicks int64
			if err := rows.Scan(&table, &assistant, &day, &key, &flagged, &convs, &msgs, &handed, &clicks); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s %s %d %s flagged=%d conversations=%d messages=%d handed_off=%d link_clicks=%d",
				table, assistant, day, key, flagged, convs, msgs, handed, clicks))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return out
}
