package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store/enginetest"
	"github.com/parleyhq/parley/internal/store/sqlite"
	"github.com/parleyhq/parley/internal/store/sqlstore"
)

// ScaleEnv sets the number of conversations TestAnalyticsScale loads (it is skipped without).
const ScaleEnv = "PARLEY_ANALYTICS_SCALE"

// TestAnalyticsScale times the analytics queries a dashboard makes on a large assistant: N
// conversations (PARLEY_ANALYTICS_SCALE, for example 1000000) spread over a year, written
// straight into the table with SQL (with rows as wide as real ones: title, last message,
// metadata and analysis), next to another assistant with a tenth as many. It reports the
// median of 11 runs of each query, and fails above PARLEY_ANALYTICS_P50_MS (default 200).
func TestAnalyticsScale(t *testing.T) {
	size, _ := strconv.Atoi(os.Getenv(ScaleEnv))
	if size <= 0 {
		t.Skipf("set %s to the number of conversations to run this", ScaleEnv)
	}
	limit := 200 * time.Millisecond
	if v, err := strconv.Atoi(os.Getenv("PARLEY_ANALYTICS_P50_MS")); err == nil {
		limit = time.Duration(v) * time.Millisecond
	}
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		ctx := context.Background()
		var st *sqlstore.Store
		// PARLEY_ANALYTICS_SCALE_DIR keeps the SQLite database between runs.
		if dir := os.Getenv("PARLEY_ANALYTICS_SCALE_DIR"); dir != "" && t.Name() == "TestAnalyticsScale/sqlite" {
			var err error
			if st, err = sqlite.Open(ctx, dir, nil); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
		} else {
			st = open(t).(*sqlstore.Store)
		}
		list, err := st.Assistants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var a cv.Assistant
		if len(list) == 2 {
			a = list[0]
		} else {
			if a, err = st.CreateAssistant(ctx, "big"); err != nil {
				t.Fatal(err)
			}
			other, err := st.CreateAssistant(ctx, "small")
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if st.Engine() == "postgres" {
				// Row triggers that update the same rows (rollups, the assistant's count) a
				// million times in one statement would keep a million row versions: load
				// without them, then fill the rollups as the migration does.
				exec(t, st, `ALTER TABLE conversations DISABLE TRIGGER USER`)
			}
			fill(t, st, a.ID, 1, size)
			fill(t, st, other.ID, size+1, size+size/10)
			if st.Engine() == "postgres" {
				for _, q := range rollupBackfill(t, "../postgres/migrations/00040_analytics_counters.sql") {
					exec(t, st, q)
				}
				exec(t, st, `ALTER TABLE conversations ENABLE TRIGGER USER`)
				exec(t, st, `UPDATE assistants a SET conversation_count = (SELECT count(*) FROM conversations c WHERE c.assistant_id = a.id)`)
				exec(t, st, `VACUUM ANALYZE conversation_rollups`)
				exec(t, st, `VACUUM ANALYZE dimension_rollups`)
			}
			t.Logf("%s: loaded %d conversations in %s", st.Engine(), size+size/10, time.Since(start).Round(time.Millisecond))
		}

		end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		month := end.AddDate(0, -1, 0)
		ams, _ := time.LoadLocation("Europe/Amsterdam")
		// The rollup answers the first ones; the last read the conversations (a filter or a
		// time zone the rollup does not have), and are reported but not held to the limit.
		queries := []struct {
			name     string
			q        cv.AnalyticsQuery
			fallback bool
		}{
			{"total", cv.AnalyticsQuery{}, false},
			{"day", cv.AnalyticsQuery{GroupBy: []string{cv.GroupDay}}, false},
			{"week", cv.AnalyticsQuery{GroupBy: []string{cv.GroupWeek}}, false},
			{"month x source", cv.AnalyticsQuery{GroupBy: []string{cv.GroupMonth, cv.GroupSource}}, false},
			{"day x source", cv.AnalyticsQuery{GroupBy: []string{cv.GroupDay, cv.GroupSource}}, false},
			{"sentiment", cv.AnalyticsQuery{GroupBy: []string{cv.GroupSentiment}}, false},
			{"month x topic", cv.AnalyticsQuery{GroupBy: []string{cv.GroupMonth, cv.GroupTopic}}, false},
			{"topic, two topics", cv.AnalyticsQuery{GroupBy: []string{cv.GroupTopic}, Filter: cv.Filter{Topics: []string{"Returns", "Billing"}}}, false},
			{"day, last 30 days", cv.AnalyticsQuery{GroupBy: []string{cv.GroupDay}, Filter: cv.Filter{CreatedFrom: &month, CreatedTo: &end}}, false},
			{"language, widget, open", cv.AnalyticsQuery{GroupBy: []string{cv.GroupLanguage}, Filter: cv.Filter{Sources: []string{"widget"}, Statuses: []string{"open"}}}, false},
			{"sentiment x assignee", cv.AnalyticsQuery{GroupBy: []string{cv.GroupSentiment, cv.GroupAssigneeType}}, false},
			{"week x sentiment, widget, 30 d", cv.AnalyticsQuery{GroupBy: []string{cv.GroupWeek, cv.GroupSentiment}, Filter: cv.Filter{Sources: []string{"widget"}, CreatedFrom: &month, CreatedTo: &end}}, false},
			{"topic x assignee", cv.AnalyticsQuery{GroupBy: []string{cv.GroupTopic, cv.GroupAssigneeType}}, true},
			{"day in Amsterdam", cv.AnalyticsQuery{GroupBy: []string{cv.GroupDay}, Location: ams}, true},
			{"source, metadata filter", cv.AnalyticsQuery{GroupBy: []string{cv.GroupSource}, Filter: cv.Filter{Metadata: map[string]string{"plan": "pro"}}}, true},
			{"week, unread, 30 days", cv.AnalyticsQuery{GroupBy: []string{cv.GroupWeek}, Filter: cv.Filter{HasUnread: ptrTo(true), CreatedFrom: &month, CreatedTo: &end}}, true},
		}
		var report []string
		for _, q := range queries {
			var runs, cpus []time.Duration
			var res cv.Analytics
			n := 11
			if q.fallback {
				n = 3
			}
			for range n {
				t0, c0 := time.Now(), cpuTime()
				res, err = st.Analytics(ctx, a.ID, q.q)
				runs, cpus = append(runs, time.Since(t0)), append(cpus, cpuTime()-c0)
				if err != nil {
					t.Fatal(err)
				}
			}
			slices.Sort(runs)
			slices.Sort(cpus)
			p50 := runs[len(runs)/2]
			if q.fallback {
				q.name += " (scan)"
			}
			report = append(report, fmt.Sprintf("%-31s p50 %7.1f ms  max %7.1f ms  (this process's CPU p50 %7.1f ms)  %5d groups  %d conversations", q.name,
				ms(p50), ms(runs[len(runs)-1]), ms(cpus[len(cpus)/2]), len(res.Groups), res.Total.Conversations))
			t.Log(report[len(report)-1])
			if q.name == "total" && res.Total.Conversations != int64(size) {
				t.Errorf("total: %d conversations, want %d", res.Total.Conversations, size)
			}
			if p50 > limit && !q.fallback {
				t.Errorf("%s: p50 %s over %s", q.name, p50, limit)
			}
		}
		var rollups, dims int64
		if err := st.DB().QueryRowContext(ctx, `SELECT (SELECT count(*) FROM conversation_rollups), (SELECT count(*) FROM dimension_rollups)`).Scan(&rollups, &dims); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s, %d conversations (rollup rows: %d by every dimension but the topic, %d by one dimension):\n%s",
			st.Engine(), size, rollups, dims, strings.Join(report, "\n"))
	})
}

// fill writes conversations from..to (row numbers) of one assistant with SQL.
func fill(t *testing.T, st *sqlstore.Store, assistantID string, from, to int) {
	t.Helper()
	ctx := context.Background()
	const year = 365 * 24 * 3600
	endUnix := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	// Columns as expressions of the row number n.
	cols := []struct{ name, sqlite, pg string }{
		{"id", "printf('%08x-0000-4000-8000-%012x', " + strconv.Itoa(from) + ", n)", "(lpad(to_hex(" + strconv.Itoa(from) + "), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid"},
		{"assistant_id", "'" + assistantID + "'", "'" + assistantID + "'::uuid"},
		{"ord", "n", "n"},
		{"created_at", fmt.Sprintf("(%d - (n * 7919) %% %d) * 1000000", endUnix, year), fmt.Sprintf("to_timestamp(%d - (n * 7919) %% %d)", endUnix, year)},
		{"updated_at", fmt.Sprintf("(%d - (n * 7919) %% %d + 600) * 1000000", endUnix, year), fmt.Sprintf("to_timestamp(%d - (n * 7919) %% %d + 600)", endUnix, year)},
		{"last_message_at", fmt.Sprintf("(%d - (n * 7919) %% %d + 600) * 1000000", endUnix, year), fmt.Sprintf("to_timestamp(%d - (n * 7919) %% %d + 600)", endUnix, year)},
		{"title", "'Question about order ORD-' || n", "'Question about order ORD-' || n"},
		{"source", cases(pct(7919, 997), "widget:60", "whatsapp:85", "telegram:95", "slack:99", "api"), ""},
		{"terminated", "n % 5 = 0", ""},
		{"resolution_status", cases(pct(49979687, 967), "resolved:70", "open"), ""},
		{"has_unread_messages", "n % 7 = 0", ""},
		{"last_message_content", "'Thanks, your parcel with tracking number 1Z' || n || ' is on its way and should arrive within two to three working days. Anything else?'", ""},
		{"most_frequent_language", cases(pct(15485863, 977), "en:70", "de:82", "fr:90", "es:95", "nl:98", "it"), ""},
		{"assignee_type", cases(pct(32452843, 971), "ai_assistant:85", "human_operator:95", "unassigned"), ""},
		{"visitor_name", "'Visitor ' || n", ""},
		{"visitor_email", "'visitor' || n || '@example.com'", ""},
		{"client_metadata", `'{"customer_id": ' || n || ', "plan": "pro", "region": "eu", "locale": "en"}'`, ""},
		{"unified_analysis", `'{"sentiment": "neutral", "resolution_status": "resolved", "topic": "Shipping", "is_flagged": false, "flag_reason": null, "summary": "The visitor asked where their parcel is; the assistant gave the tracking link and the expected delivery date.", "keywords": ["parcel", "tracking", "delivery"]}'`, ""},
		{"sentiment", cases(pct(104729, 991), "neutral:55", "positive:80", "negative:95", ""), ""},
		{"topic", cases(pct(1299709, 983), "Shipping:30", "Returns:50", "Billing:62", "Account:72", "Product question:80", "Order status:86", "Discounts:90", "Complaint:93", "Warranty:95", "Payment failed:97", "Gift cards:98", "Other"), ""},
		{"is_flagged", pct(67867967, 953) + " < 6", ""},
		{"version", "1", ""},
		{"event_count", "8", ""},
		{"message_count", "2 + (n * 17) % 20", ""},
		{"handoff_count", "CASE WHEN n % 9 = 0 THEN 2 ELSE 0 END", ""},
		{"link_clicks", "CASE WHEN n % 11 = 0 THEN n % 3 ELSE 0 END", ""},
	}
	var names, exprs []string
	for _, c := range cols {
		names = append(names, c.name)
		e := c.sqlite
		if st.Engine() == "postgres" && c.pg != "" {
			e = c.pg
		}
		if st.Engine() == "postgres" && strings.HasSuffix(c.name, "_metadata") || c.name == "unified_analysis" && st.Engine() == "postgres" {
			e = "(" + e + ")::jsonb"
		}
		exprs = append(exprs, e)
	}
	var query string
	if st.Engine() == "postgres" {
		query = fmt.Sprintf(`INSERT INTO conversations (%s) SELECT %s FROM generate_series(%d::bigint, %d::bigint) AS n`, strings.Join(names, ", "), strings.Join(exprs, ", "), from, to)
	} else {
		query = fmt.Sprintf(`WITH RECURSIVE s(n) AS (SELECT %d UNION ALL SELECT n + 1 FROM s WHERE n < %d) INSERT INTO conversations (%s) SELECT %s FROM s`,
			from, to, strings.Join(names, ", "), strings.Join(exprs, ", "))
	}
	if _, err := st.DB().ExecContext(ctx, query); err != nil {
		t.Fatalf("fill: %v", err)
	}
	analyze := "ANALYZE"
	if st.Engine() == "postgres" {
		analyze = "VACUUM ANALYZE conversations"
	}
	if _, err := st.DB().ExecContext(ctx, analyze); err != nil {
		t.Fatalf("analyze: %v", err)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// cpuTime is the CPU time this process has used (SQLite runs inside it; PostgreSQL does not).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pct is a share from 0 to 99 that looks random in n: primes keep the columns independent.
func pct(prime, mod int) string { return fmt.Sprintf("(((n * %d) %% %d) * 100 / %d)", prime, mod, mod) }

// cases picks a value by share: "value:upto" for all but the last ("" is NULL), as in real data
// where a few values are common and many rare.
func cases(share string, values ...string) string {
	var sb strings.Builder
	sb.WriteString("CASE")
	lit := func(v string) string {
		if v == "" {
			return "NULL"
		}
		return "'" + v + "'"
	}
	for _, v := range values[:len(values)-1] {
		name, upto, _ := strings.Cut(v, ":")
		fmt.Fprintf(&sb, " WHEN %s < %s THEN %s", share, upto, lit(name))
	}
	fmt.Fprintf(&sb, " ELSE %s END", lit(values[len(values)-1]))
	return sb.String()
}

func ptrTo[T any](v T) *T { return &v }

func exec(t *testing.T, st *sqlstore.Store, q string) {
	t.Helper()
	if _, err := st.DB().ExecContext(context.Background(), q); err != nil {
		t.Fatalf("%.80s: %v", q, err)
	}
}

// rollupBackfill returns the statements of a migration that fill the rollups from the
// conversations.
func rollupBackfill(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, stmt := range strings.Split(string(b), ";") {
		stmt = strings.TrimSpace(stmt)
		if strings.HasPrefix(stmt, "INSERT INTO conversation_rollups") || strings.HasPrefix(stmt, "INSERT INTO dimension_rollups") {
			if !strings.Contains(stmt, "$$") && strings.Contains(stmt, "FROM conversations") {
				out = append(out, stmt)
			}
		}
	}
	if len(out) != 2 {
		t.Fatalf("%s: found %d rollup backfills, want 2", path, len(out))
	}
	return out
}
