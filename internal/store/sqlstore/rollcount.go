package sqlstore

import (
	"context"
	"database/sql"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// rollupCount is the exact count of a list whose filters are all keys of the rollups (source,
// resolution status, sentiment, language, assignee type, flag), with or without a creation
// date range: the rollups' counts of the UTC days that lie wholly in the range, plus a count
// of the conversations of the partial days at its edges (at most two, each through the same
// conditions and indexes as the list's own). One statement adds them up, so the count is
// read from one snapshot, as a single count(*) is. A 30-day range reads a few rollup rows a
// day rather than every matching conversation.
//
// It reports false when the rollups cannot answer: another filter (words, topic, assignee id,
// last message dates, unread, terminated, metadata), a sentiment or language filter on the
// empty string (the rollups' "no value" of both), or a range that holds no whole day (the
// count of that range is already the cheap one).
func (s *Store) rollupCount(ctx context.Context, b *builder) (int64, bool, error) {
	f := b.filter
	if f == nil || slices.Contains(f.Sentiments, "") || slices.Contains(f.Languages, "") {
		return 0, false, nil
	}
	assistantID, _ := b.args[0].(string)
	// The filter's rollup keys alone must give the very conditions that b holds: then b has
	// no other filter, whatever filters the list may gain later.
	keys := cv.Filter{Sources: f.Sources, Statuses: f.Statuses, Sentiments: f.Sentiments, Languages: f.Languages,
		AssigneeTypes: f.AssigneeTypes, IsFlagged: f.IsFlagged, CreatedFrom: f.CreatedFrom, CreatedTo: f.CreatedTo}
	if !slices.Equal(s.filter(assistantID, &keys).where, b.where) {
		return 0, false, nil
	}
	// The whole days [first, end) of the range [from, to); an open end takes in every day on
	// its side.
	var first, end *int64
	var fromEdge, toEdge bool
	if f.CreatedFrom != nil {
		d, midnight := utcDay(*f.CreatedFrom)
		if fromEdge = !midnight; fromEdge {
			d++
		}
		first = &d
	}
	if f.CreatedTo != nil {
		d, midnight := utcDay(*f.CreatedTo)
		end, toEdge = &d, !midnight
	}
	if first != nil && end != nil && *first >= *end {
		return 0, false, nil
	}

	var sum summer
	if err := s.rollupSum(ctx, &sum, assistantID, f, first, end); err != nil {
		return 0, false, err
	}
	// The partial days: the list's own conditions with the range cut at the whole days'
	// midnights. [from, to) is then exactly the edges and the whole days between them (a
	// bound with a sub-microsecond part falls on the same side of a midnight whether the
	// engine truncates or rounds it).
	if fromEdge {
		edge := keys
		edge.CreatedTo = ptrTime(dayStart(*first))
		sum.count(s.filter(assistantID, &edge))
	}
	if toEdge {
		edge := keys
		edge.CreatedFrom = ptrTime(dayStart(*end))
		sum.count(s.filter(assistantID, &edge))
	}
	var n int64
	err := s.r.QueryRowContext(ctx, s.d.Rebind(`SELECT `+strings.Join(sum.terms, " + ")), sum.args...).Scan(&n)
	return n, err == nil, err
}

// maxListedDays is the most days a conversation_rollups read names one by one (see rollupSum);
// a longer range reads every row of its days.
const maxListedDays = 3660

// rollupSum adds to sum the rollups' count of the conversations that f's keys match among
// those created on days [first, end) (nil: open):
//   - with at most one key, from dimension_rollups: that key's rows, a few a day (with none,
//     the resolution status's, under which every conversation counts once);
//   - with more, from conversation_rollups, whose primary key leads with the day and then the
//     source: with a source filter the days are named one by one, so that each day is read
//     from that source's rows only (an open range runs from the assistant's first day to its
//     last); without one, the days are a range.
func (s *Store) rollupSum(ctx context.Context, sum *summer, assistantID string, f *cv.Filter, first, end *int64) error {
	type key struct {
		dim, col string
		values   []string
	}
	var keys []key
	for _, k := range []key{{cv.GroupSource, "r.source", f.Sources}, {cv.GroupResolutionStatus, "r.resolution_status", f.Statuses},
		{cv.GroupSentiment, "r.sentiment", f.Sentiments}, {cv.GroupLanguage, "r.language", f.Languages},
		{cv.GroupAssigneeType, "r.assignee_type", f.AssigneeTypes}} {
		if len(k.values) > 0 {
			keys = append(keys, k)
		}
	}
	if f.IsFlagged != nil {
		keys = append(keys, key{flaggedDimension, "r.is_flagged", []string{strconv.FormatBool(*f.IsFlagged)}})
	}
	// between is the condition of the days [lo, hi) (nil: open).
	between := func(lo, hi *int64) func(r *builder) {
		return func(r *builder) {
			if lo != nil {
				r.cond("r.day >= %s", r.arg(*lo))
			}
			if hi != nil {
				r.cond("r.day < %s", r.arg(*hi))
			}
		}
	}
	if len(keys) <= 1 {
		dim, values := cv.GroupResolutionStatus, []string(nil)
		if len(keys) == 1 {
			dim, values = keys[0].dim, keys[0].values
		}
		r := &builder{}
		r.cond("r.assistant_id = %s", r.arg(assistantID))
		r.cond("r.dimension = %s", r.arg(dim))
		between(first, end)(r)
		r.in("r.value", values)
		sum.add(`SELECT COALESCE(sum(r.conversations), 0) FROM dimension_rollups r WHERE `+strings.Join(r.where, " AND "), r.args)
		return nil
	}

	// One conversation_rollups read of the days that cond picks.
	term := func(cond func(r *builder)) {
		r := &builder{}
		r.cond("r.assistant_id = %s", r.arg(assistantID))
		cond(r)
		for _, k := range keys {
			if k.dim == flaggedDimension {
				r.boolean(k.col, f.IsFlagged)
			} else {
				r.in(k.col, k.values)
			}
		}
		sum.add(`SELECT COALESCE(sum(r.conversations), 0) FROM conversation_rollups r WHERE `+strings.Join(r.where, " AND "), r.args)
	}
	if len(f.Sources) == 0 {
		term(between(first, end))
		return nil
	}
	lo, hi := first, end
	if lo == nil || hi == nil || *hi-*lo > maxListedDays {
		// Only the days the assistant has rollups on are named; the range's days before and
		// after them are read as ranges (a conversation may be created on a new day meanwhile),
		// where there are no rows to read.
		var minDay, maxDay sql.NullInt64
		if err := s.r.QueryRowContext(ctx, s.q(`SELECT (SELECT min(day) FROM conversation_rollups WHERE assistant_id = $1),
 (SELECT max(day) FROM conversation_rollups WHERE assistant_id = $1)`), assistantID).Scan(&minDay, &maxDay); err != nil {
			return err
		}
		if minDay.Valid && (lo == nil || *lo < minDay.Int64) {
			lo = &minDay.Int64
		}
		if next := maxDay.Int64 + 1; maxDay.Valid && (hi == nil || *hi > next) {
			hi = &next
		}
		if !minDay.Valid || *hi <= *lo || *hi-*lo > maxListedDays {
			term(between(first, end))
			return nil
		}
		if lo != first {
			term(between(first, lo))
		}
		if hi != end {
			term(between(hi, end))
		}
	}
	term(func(r *builder) {
		ph := make([]string, 0, *hi-*lo)
		for d := *lo; d < *hi; d++ {
			ph = append(ph, r.arg(d))
		}
		r.cond("r.day IN (%s)", strings.Join(ph, ", "))
	})
	return nil
}

// summer builds one statement that adds up scalar queries, each written with its own
// placeholders from $1.
type summer struct {
	terms []string
	args  []any
}

var placeholder = regexp.MustCompile(`\$[0-9]+`)

// renumber shifts every numbered parameter of query ($n) by shift.
func renumber(query string, shift int) string {
	return placeholder.ReplaceAllStringFunc(query, func(p string) string {
		n, _ := strconv.Atoi(p[1:])
		return "$" + strconv.Itoa(n+shift)
	})
}

func (m *summer) add(query string, args []any) {
	m.terms = append(m.terms, "("+renumber(query, len(m.args))+")")
	m.args = append(m.args, args...)
}

// count adds the number of conversations that b's conditions match.
func (m *summer) count(b *builder) {
	m.add(`SELECT count(*) FROM conversations c WHERE `+strings.Join(b.where, " AND "), b.args)
}

// utcDay is the rollups' day of t (whole days since 1970-01-01 UTC, rounded down, as the
// triggers compute it from created_at), and whether t is that day's midnight.
func utcDay(t time.Time) (int64, bool) {
	sec := t.Unix()
	d := sec / 86400
	if sec%86400 < 0 {
		d--
	}
	return d, sec == d*86400 && t.Nanosecond() == 0
}

// dayStart is the midnight (UTC) that starts rollup day d.
func dayStart(d int64) time.Time { return time.Unix(d*86400, 0).UTC() }

func ptrTime(t time.Time) *time.Time { return &t }
