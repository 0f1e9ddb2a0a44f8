package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// countEvent keeps the analytics counters on the conversation's row for a new event, in the
// event's transaction (the migration 00040 backfilled them for older events).
func (s *Store) countEvent(ctx context.Context, tx *sql.Tx, c *cv.Conversation, ev *cv.Event) error {
	col := eventCounter(ev)
	if col == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, s.q(`UPDATE conversations SET `+col+` = `+col+` + 1 WHERE rid = $1`), c.RowID)
	return err
}

// eventCounter is the conversation's counter column that ev counts in ("" for none).
func eventCounter(ev *cv.Event) string {
	switch {
	case ev.TrackedLink != nil:
		return "link_clicks"
	case cv.ShowsHuman(ev):
		return "handoff_count"
	}
	return ""
}

// Time buckets: the SQL groups creation times by UTC day, or, for another time zone, by UTC
// quarter hour (every zone's offset has been a whole number of quarter hours since the 1970s),
// and Go folds those into the zone's days, weeks and months.
const (
	dayMicros     = int64(24 * time.Hour / time.Microsecond)
	quarterMicros = int64(15 * time.Minute / time.Microsecond)
	// bucketShift moves every time to a positive number before the integer division, which
	// truncates towards zero on both engines; it is a multiple of both bucket sizes.
	bucketShift = dayMicros * 1_000_000
)

// groupColumns are the columns of the dimensions that are not times, on conversations (c)
// and on conversation_rollups (r, where an empty string stands for no value).
var groupColumns = map[string][2]string{
	cv.GroupSentiment:        {"c.sentiment", "NULLIF(r.sentiment, '')"},
	cv.GroupTopic:            {"c.topic", ""}, // only in dimension_rollups
	cv.GroupSource:           {"c.source", "r.source"},
	cv.GroupLanguage:         {"c.most_frequent_language", "NULLIF(r.language, '')"},
	cv.GroupAssigneeType:     {"c.assignee_type", "r.assignee_type"},
	cv.GroupResolutionStatus: {"c.resolution_status", "r.resolution_status"},
}

// Analytics counts conversations with one GROUP BY: over a rollup when one holds every filter
// and dimension of the query (see rollupQuery; its rows are days times values, far fewer than
// conversations), else over the conversations themselves, whose counters (message_count,
// handoff_count, link_clicks) mean that no event is read either way.
func (s *Store) Analytics(ctx context.Context, assistantID string, q cv.AnalyticsQuery) (cv.Analytics, error) {
	out := cv.Analytics{Groups: []cv.Group{}}
	if !validID(assistantID) {
		return out, cv.ErrNotFound
	}
	if len(q.GroupBy) > cv.MaxGroupBy {
		return out, fmt.Errorf("sqlstore: at most %d dimensions", cv.MaxGroupBy)
	}
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	for i, g := range q.GroupBy {
		if slices.Contains(q.GroupBy[:i], g) {
			return out, fmt.Errorf("sqlstore: dimension %q twice", g)
		}
		if _, ok := groupColumns[g]; !ok && !cv.IsTimeGroup(g) {
			return out, fmt.Errorf("sqlstore: unknown dimension %q", g)
		}
	}
	query, args, bucket := s.rollupQuery(assistantID, &q)
	if query == "" {
		query, args, bucket = s.scanQuery(assistantID, &q, loc)
	}
	keys := q.GroupBy
	rows, err := s.r.QueryContext(ctx, s.d.Rebind(query), args...)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	// Quarter hours fold into days, days into weeks and months: merge rows by their final key.
	merged := map[string]int{}
	raw := make([]any, len(keys))
	for rows.Next() {
		var n cv.Counts
		dest := make([]any, 0, len(keys)+5)
		for i, g := range q.GroupBy {
			if cv.IsTimeGroup(g) {
				raw[i] = new(int64)
			} else {
				raw[i] = new(sql.NullString)
			}
			dest = append(dest, raw[i])
		}
		dest = append(dest, &n.Conversations, &n.Messages, &n.HandedOff, &n.Flagged, &n.TrackedLinkClicks)
		if err := rows.Scan(dest...); err != nil {
			return out, err
		}
		if len(keys) == 0 {
			out.Total = n
			continue
		}
		key := make([]*string, len(keys))
		for i, g := range q.GroupBy {
			switch v := raw[i].(type) {
			case *int64:
				k := timeKey(g, time.UnixMicro(*v*bucket).In(loc))
				key[i] = &k
			case *sql.NullString:
				if v.Valid {
					k := v.String
					key[i] = &k
				}
			}
		}
		id := groupID(key)
		if j, ok := merged[id]; ok {
			out.Groups[j].Add(n)
		} else {
			merged[id] = len(out.Groups)
			out.Groups = append(out.Groups, cv.Group{Key: key, Counts: n})
		}
		out.Total.Add(n)
	}
	if err := rows.Err(); err != nil {
		return out, err
	}
	slices.SortFunc(out.Groups, func(a, b cv.Group) int {
		for i := range a.Key {
			if c := compareKey(a.Key[i], b.Key[i]); c != 0 {
				return c
			}
		}
		return 0
	})
	return out, nil
}

// counts are the aggregates both queries select after the keys.
const countColumns = `count(*), COALESCE(sum(c.message_count), 0),
 COALESCE(sum(CASE WHEN c.handoff_count > 0 OR c.assignee_type = 'human_operator' THEN 1 ELSE 0 END), 0),
 COALESCE(sum(CASE WHEN c.is_flagged THEN 1 ELSE 0 END), 0), COALESCE(sum(c.link_clicks), 0)`

const rollupCountColumns = `COALESCE(sum(r.conversations), 0), COALESCE(sum(r.messages), 0), COALESCE(sum(r.handed_off), 0),
 COALESCE(sum(CASE WHEN r.is_flagged THEN r.conversations ELSE 0 END), 0), COALESCE(sum(r.link_clicks), 0)`

const dimensionCountColumns = `COALESCE(sum(r.conversations), 0), COALESCE(sum(r.messages), 0), COALESCE(sum(r.handed_off), 0),
 COALESCE(sum(r.flagged), 0), COALESCE(sum(r.link_clicks), 0)`

// groupBy is the GROUP BY clause of n keys (none: no clause).
func groupBy(n int, having string) string {
	if n == 0 {
		return ""
	}
	nums := make([]string, n)
	for i := range nums {
		nums[i] = fmt.Sprint(i + 1)
	}
	return " GROUP BY " + strings.Join(nums, ", ") + having
}

// scanQuery counts the matching conversations themselves: any filter, any time zone.
func (s *Store) scanQuery(assistantID string, q *cv.AnalyticsQuery, loc *time.Location) (string, []any, int64) {
	bucket := dayMicros
	if loc != time.UTC {
		bucket = quarterMicros
	}
	var keys []string
	for _, g := range q.GroupBy {
		if cv.IsTimeGroup(g) {
			keys = append(keys, fmt.Sprintf("((%s + %d) / %d - %d)", s.d.EpochMicros("c.created_at"), bucketShift, bucket, bucketShift/bucket))
		} else {
			// Not read in order: SQLite, without statistics, took an index led by the
			// grouped column to skip the sort and dropped the filter's index (grouping by
			// topic or assignee type among open conversations read all of them).
			keys = append(keys, s.d.Unordered(groupColumns[g][0]))
		}
	}
	b := s.filter(assistantID, &q.Filter)
	sel := append(keys, countColumns)
	return `SELECT ` + strings.Join(sel, ", ") + ` FROM conversations c WHERE ` + strings.Join(b.where, " AND ") + groupBy(len(keys), ""), b.args, bucket
}

// rollupQuery counts from a rollup when one can answer q exactly, else it returns an empty
// query. Both need every filter to be on a dimension of theirs, created_at bounds on UTC
// midnights, and UTC: dimension_rollups answers when the query is about at most one dimension
// besides time (grouped by, filtered on, or both), conversation_rollups when it is about
// several but not the topic.
func (s *Store) rollupQuery(assistantID string, q *cv.AnalyticsQuery) (string, []any, int64) {
	f := &q.Filter
	midnight := func(t *time.Time) bool { return t == nil || t.UTC().Truncate(24*time.Hour).Equal(*t) }
	if (q.Location != nil && q.Location != time.UTC) || !f.Query.IsEmpty() || len(f.AssigneeIDs) > 0 || f.LastFrom != nil || f.LastTo != nil ||
		f.HasUnread != nil || f.Terminated != nil || len(f.Metadata) > 0 || !midnight(f.CreatedFrom) || !midnight(f.CreatedTo) {
		return "", nil, 0
	}
	// The values each dimension is filtered on, and the dimensions the query is about.
	filters := map[string][]string{}
	for dim, values := range map[string][]string{cv.GroupSource: f.Sources, cv.GroupSentiment: f.Sentiments, cv.GroupTopic: f.Topics,
		cv.GroupLanguage: f.Languages, cv.GroupAssigneeType: f.AssigneeTypes, cv.GroupResolutionStatus: f.Statuses} {
		if slices.Contains(values, "") {
			return "", nil, 0 // '' is the rollups' "no value"
		}
		if len(values) > 0 {
			filters[dim] = values
		}
	}
	if f.IsFlagged != nil {
		filters[flaggedDimension] = []string{strconv.FormatBool(*f.IsFlagged)}
	}
	about := map[string]bool{}
	for dim := range filters {
		about[dim] = true
	}
	for _, g := range q.GroupBy {
		if !cv.IsTimeGroup(g) {
			about[g] = true
		}
	}
	b := &builder{}
	b.cond("r.assistant_id = %s", b.arg(assistantID))
	days := func() {
		if f.CreatedFrom != nil {
			b.cond("r.day >= %s", b.arg(f.CreatedFrom.Unix()/86400))
		}
		if f.CreatedTo != nil {
			b.cond("r.day < %s", b.arg(f.CreatedTo.Unix()/86400))
		}
	}
	var keys []string
	var table, counts string
	switch {
	case len(about) <= 1:
		table, counts = "dimension_rollups", dimensionCountColumns
		dim := cv.GroupResolutionStatus // any dimension counts every conversation once: the one with the fewest rows
		for d := range about {
			dim = d
		}
		b.cond("r.dimension = %s", b.arg(dim))
		b.in("r.value", filters[dim])
		days()
		for _, g := range q.GroupBy {
			if cv.IsTimeGroup(g) {
				keys = append(keys, "r.day")
			} else {
				keys = append(keys, "NULLIF(r.value, '')")
			}
		}
	case !about[cv.GroupTopic]:
		table, counts = "conversation_rollups", rollupCountColumns
		for _, in := range []struct{ col, dim string }{{"r.assignee_type", cv.GroupAssigneeType}, {"r.source", cv.GroupSource},
			{"r.resolution_status", cv.GroupResolutionStatus}, {"r.language", cv.GroupLanguage}, {"r.sentiment", cv.GroupSentiment}} {
			b.in(in.col, filters[in.dim])
		}
		b.boolean("r.is_flagged", f.IsFlagged)
		days()
		for _, g := range q.GroupBy {
			if cv.IsTimeGroup(g) {
				keys = append(keys, "r.day")
			} else {
				keys = append(keys, groupColumns[g][1])
			}
		}
	default:
		return "", nil, 0
	}
	sel := append(keys, counts)
	return `SELECT ` + strings.Join(sel, ", ") + ` FROM ` + table + ` r WHERE ` + strings.Join(b.where, " AND ") +
		groupBy(len(keys), " HAVING sum(r.conversations) <> 0"), b.args, dayMicros
}

// flaggedDimension is dimension_rollups' dimension of is_flagged ("true" or "false").
const flaggedDimension = "is_flagged"

// timeKey names the bucket of dimension g that holds the local time t.
func timeKey(g string, t time.Time) string {
	switch g {
	case cv.GroupWeek:
		monday := time.Date(t.Year(), t.Month(), t.Day(), 12, 0, 0, 0, time.UTC)
		monday = monday.AddDate(0, 0, -((int(monday.Weekday()) + 6) % 7))
		return monday.Format(time.DateOnly)
	case cv.GroupMonth:
		return t.Format("2006-01")
	}
	return t.Format(time.DateOnly)
}

func groupID(key []*string) string {
	var sb strings.Builder
	for _, k := range key {
		if k == nil {
			sb.WriteString("\x00n")
		} else {
			sb.WriteString("\x00s")
			sb.WriteString(*k)
		}
	}
	return sb.String()
}

// compareKey orders key values: strings in byte order, no value last.
func compareKey(a, b *string) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return cmp.Compare(*a, *b)
}
