package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
)

// ---- the exact count of a list filtered on the analytics keys ----

// A list filtered only on what the analytics rollups key on (source, resolution status,
// sentiment, language, assignee type, flag) and a creation date range may be counted from
// daily summaries for the range's whole UTC days plus a count of the partial days at its
// edges. The suite checks that count against the conversations themselves around midnights
// (conversations at midnight and a microsecond either side, bounds likewise), for open, empty
// and one-day ranges, and after conversations move between keys or go.

// countRow is what the suite knows of a conversation: the fields those filters read.
type countRow struct {
	id, source, status, assignee string
	created                      time.Time
	sentiment, language          *string
	flagged                      bool
}

// matches reports whether f selects r. A bound's sub-microsecond part (under half a
// microsecond, so that truncating and rounding stores agree) is dropped, as stores keep
// microseconds.
func (r *countRow) matches(f *cv.Filter) bool {
	in := func(values []string, v *string) bool {
		return len(values) == 0 || v != nil && slices.Contains(values, *v)
	}
	return in(f.Sources, &r.source) && in(f.Statuses, &r.status) && in(f.AssigneeTypes, &r.assignee) &&
		in(f.Sentiments, r.sentiment) && in(f.Languages, r.language) &&
		(f.IsFlagged == nil || *f.IsFlagged == r.flagged) &&
		(f.CreatedFrom == nil || !r.created.Before(f.CreatedFrom.Truncate(time.Microsecond))) &&
		(f.CreatedTo == nil || r.created.Before(f.CreatedTo.Truncate(time.Microsecond)))
}

// showCountFilter names f's filters for a failure message.
func showCountFilter(f *cv.Filter) string {
	var parts []string
	for _, p := range []struct {
		name   string
		values []string
	}{{"source", f.Sources}, {"status", f.Statuses}, {"assignee", f.AssigneeTypes}, {"sentiment", f.Sentiments}, {"language", f.Languages}} {
		if p.values != nil {
			parts = append(parts, fmt.Sprintf("%s=%q", p.name, p.values))
		}
	}
	if f.IsFlagged != nil {
		parts = append(parts, fmt.Sprintf("flagged=%v", *f.IsFlagged))
	}
	for _, b := range []struct {
		name string
		t    *time.Time
	}{{"from", f.CreatedFrom}, {"to", f.CreatedTo}} {
		if b.t != nil {
			parts = append(parts, b.name+"="+b.t.UTC().Format(time.RFC3339Nano))
		}
	}
	return "{" + strings.Join(parts, " ") + "}"
}

var rollupCountTests = []test{
	{"AgreesWithTheConversations", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		const seed = 20250310
		rng := rand.New(rand.NewPCG(seed, 0))
		a, other := newAssistant(t, s), newAssistant(t, s)
		midnight := func(k int) time.Time { return time.Date(2025, 3, 10+k, 0, 0, 0, 0, time.UTC) }
		sources := []string{cv.SourceWidget, cv.SourceWhatsApp, cv.SourceTelegram, cv.SourceSlack}
		sentiments := []string{"positive", "neutral", "negative"}
		languages := []string{"en", "de", "fr"}
		pick := func(values []string) string { return values[rng.IntN(len(values))] }
		maybe := func(values []string) *string {
			if rng.IntN(4) == 0 {
				return nil
			}
			return ptr(pick(values))
		}

		// Conversations on the days -1 to 5: at each midnight and a microsecond either side,
		// and at random microseconds of each day.
		var times []time.Time
		for k := 0; k <= 6; k++ {
			times = append(times, midnight(k), midnight(k).Add(-time.Microsecond), midnight(k).Add(time.Microsecond))
		}
		for k := -1; k <= 5; k++ {
			for range 12 {
				times = append(times, midnight(k).Add(time.Duration(rng.Int64N(int64(24*time.Hour/time.Microsecond)))*time.Microsecond))
			}
		}
		in := make([]cv.NewConversation, len(times))
		for i, at := range times {
			in[i] = cv.NewConversation{Source: pick(sources), CreatedAt: ptr(at)}
		}
		// Another assistant's conversations on the same days and keys count for it alone.
		createBatch(t, s, other.ID, in[:40]...)
		rows := map[string]*countRow{}
		var order []string
		for i, r := range createBatch(t, s, a.ID, in...) {
			c := r.Conversation
			rows[c.ID] = &countRow{id: c.ID, source: in[i].Source, status: cv.StatusOpen, assignee: cv.AssigneeAI, created: times[i]}
			order = append(order, c.ID)
		}

		// Give them every combination of keys: analyses (no sentiment or no language for
		// some), resolutions and assignees.
		analyse := func(ids []string) {
			var saves []store.AnalysisSave
			for _, id := range ids {
				r := rows[id]
				r.sentiment, r.language, r.flagged = maybe(sentiments), maybe(languages), rng.IntN(3) == 0
				saves = append(saves, store.AnalysisSave{AssistantID: a.ID, ConversationID: id,
					Analysis: cv.Analysis{Sentiment: r.sentiment, Language: r.language, IsFlagged: r.flagged}})
			}
			errs, err := s.SaveAnalyses(ctx, saves)
			ok(t, "SaveAnalyses", err)
			for i, err := range errs {
				ok(t, fmt.Sprintf("SaveAnalyses[%d]", i), err)
			}
		}
		move := func(id string) {
			r := rows[id]
			var p cv.Patch
			switch rng.IntN(3) {
			case 0:
				r.status = pick(cv.Statuses)
				p.ResolutionStatus = ptr(r.status)
			case 1:
				r.assignee = pick(cv.AssigneeTypes)
				p.Assignee = &cv.Assignee{Type: r.assignee}
				if r.assignee == cv.AssigneeOperator {
					p.Assignee.ID, p.Assignee.Name = ptr("op-1"), ptr("Ann")
				}
			default:
				r.status, r.assignee = pick(cv.Statuses), pick(cv.AssigneeTypes)
				p.ResolutionStatus, p.Assignee = ptr(r.status), &cv.Assignee{Type: r.assignee}
				if r.assignee == cv.AssigneeOperator {
					p.Assignee.ID = ptr("op-2")
				}
			}
			patch(t, s, a.ID, id, 0, p)
		}
		var analysed []string
		for _, id := range order {
			if rng.IntN(5) != 0 {
				analysed = append(analysed, id)
			}
		}
		analyse(analysed)
		for _, id := range order {
			if rng.IntN(3) != 0 {
				move(id)
			}
		}

		// same checks the suite's knowledge against the store, so that the counts below are
		// compared with what the store holds.
		same := func(phase string) {
			t.Helper()
			got := each(t, s, a.ID, cv.Filter{})
			if len(got) != len(rows) {
				t.Fatalf("%s: the assistant has %d conversations, want %d", phase, len(got), len(rows))
			}
			for _, c := range got {
				r := rows[c.ID]
				if r == nil {
					t.Fatalf("%s: unknown conversation %s", phase, c.ID)
				}
				show := func(v *string) string {
					if v == nil {
						return "<none>"
					}
					return *v
				}
				g := fmt.Sprint(c.CreatedAt.UTC().Format(time.RFC3339Nano), c.Source, c.ResolutionStatus, c.Assignee.Type, show(c.Sentiment), show(c.MostFrequentLanguage), c.IsFlagged)
				w := fmt.Sprint(r.created.UTC().Format(time.RFC3339Nano), r.source, r.status, r.assignee, show(r.sentiment), show(r.language), r.flagged)
				if g != w {
					t.Fatalf("%s: conversation %s is %s, want %s", phase, c.ID, g, w)
				}
			}
		}
		check := func(phase string, f cv.Filter) {
			t.Helper()
			f.Limit = cv.MaxLimit
			want := 0
			for _, r := range rows {
				if r.matches(&f) {
					want++
				}
			}
			p := mustList(t, s, a.ID, f)
			if p.Count != int64(want) {
				t.Errorf("%s: %s: Count = %d, want %d", phase, showCountFilter(&f), p.Count, want)
			}
			if len(p.Items) != min(want, cv.MaxLimit) {
				t.Errorf("%s: %s: %d items, want %d", phase, showCountFilter(&f), len(p.Items), min(want, cv.MaxLimit))
			}
		}

		// bound is a creation bound near day k's midnight, or anywhere in that day.
		bound := func(k int) *time.Time {
			m := midnight(k)
			switch rng.IntN(8) {
			case 0, 1:
				return ptr(m)
			case 2:
				return ptr(m.Add(-time.Microsecond))
			case 3:
				return ptr(m.Add(time.Microsecond))
			case 4:
				return ptr(m.Add(300 * time.Nanosecond))
			case 5:
				return ptr(m.Add(-time.Microsecond + 300*time.Nanosecond))
			}
			return ptr(m.Add(time.Duration(rng.Int64N(int64(24*time.Hour/time.Microsecond))) * time.Microsecond))
		}
		// some is none, some or all of values, now and then with one that no conversation
		// has, or the empty string.
		some := func(values ...string) []string {
			if rng.IntN(5) < 3 {
				return nil
			}
			var out []string
			for _, v := range values {
				if rng.IntN(2) == 0 {
					out = append(out, v)
				}
			}
			if len(out) == 0 {
				out = append(out, values[0])
			}
			return out
		}
		random := func() cv.Filter {
			f := cv.Filter{
				Sources:       some(slices.Concat(sources, []string{"email"})...),
				Statuses:      some(cv.Statuses...),
				AssigneeTypes: some(cv.AssigneeTypes...),
				Sentiments:    some(slices.Concat(sentiments, []string{""})...),
				Languages:     some(slices.Concat(languages, []string{"it"})...),
			}
			if rng.IntN(4) == 0 {
				f.IsFlagged = ptr(rng.IntN(2) == 0)
			}
			from := rng.IntN(9) - 2
			if rng.IntN(5) != 0 {
				f.CreatedFrom = bound(from)
			}
			if rng.IntN(5) != 0 {
				switch rng.IntN(6) {
				case 0: // within a day, or empty
					f.CreatedTo = bound(from)
				case 1:
					f.CreatedTo = bound(from + 1)
				default:
					f.CreatedTo = bound(from + rng.IntN(8) - 1)
				}
			}
			return f
		}
		fixed := []cv.Filter{
			{},
			{Statuses: []string{cv.StatusOpen}},
			{CreatedFrom: ptr(midnight(1)), CreatedTo: ptr(midnight(4))},
			{CreatedFrom: ptr(midnight(1).Add(time.Microsecond)), CreatedTo: ptr(midnight(4).Add(-time.Microsecond))},
			{CreatedFrom: ptr(midnight(1).Add(-time.Microsecond)), CreatedTo: ptr(midnight(4).Add(time.Microsecond))},
			{Sources: []string{cv.SourceWhatsApp}, Statuses: []string{cv.StatusOpen}, CreatedFrom: ptr(midnight(0)), CreatedTo: ptr(midnight(5))},
			{Sources: []string{cv.SourceWhatsApp, cv.SourceSlack}, Sentiments: []string{"negative"}, CreatedFrom: ptr(midnight(0).Add(time.Hour)), CreatedTo: ptr(midnight(5).Add(time.Hour))},
			{Sources: []string{cv.SourceWidget}, Languages: []string{"en"}, CreatedFrom: ptr(midnight(2))},
			{Sources: []string{cv.SourceWidget}, AssigneeTypes: []string{cv.AssigneeAI}, CreatedTo: ptr(midnight(3).Add(time.Minute))},
			{Sources: []string{cv.SourceTelegram}, IsFlagged: ptr(true)},
			{Sentiments: []string{"positive", "neutral", "negative"}, Languages: []string{"en", "de", "fr"}},
			{IsFlagged: ptr(false), CreatedFrom: ptr(midnight(-1).Add(time.Microsecond)), CreatedTo: ptr(midnight(6).Add(time.Microsecond))},
			// One day, part of one, two partial days, none.
			{Statuses: []string{cv.StatusResolved}, CreatedFrom: ptr(midnight(2)), CreatedTo: ptr(midnight(3))},
			{Sources: []string{cv.SourceSlack}, Statuses: []string{cv.StatusResolved}, CreatedFrom: ptr(midnight(2).Add(time.Hour)), CreatedTo: ptr(midnight(2).Add(20 * time.Hour))},
			{Sources: []string{cv.SourceWidget}, Statuses: []string{cv.StatusOpen}, CreatedFrom: ptr(midnight(2).Add(-time.Hour)), CreatedTo: ptr(midnight(2).Add(time.Hour))},
			{Statuses: []string{cv.StatusOpen}, CreatedFrom: ptr(midnight(3)), CreatedTo: ptr(midnight(3))},
			{Statuses: []string{cv.StatusOpen}, CreatedFrom: ptr(midnight(4)), CreatedTo: ptr(midnight(2))},
			// Far beyond the conversations' days, on both sides.
			{Sources: []string{cv.SourceWhatsApp, cv.SourceWidget}, Statuses: []string{cv.StatusOpen},
				CreatedFrom: ptr(time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)), CreatedTo: ptr(time.Date(2090, 1, 1, 0, 0, 0, 0, time.UTC))},
			{Sources: []string{cv.SourceWhatsApp}, AssigneeTypes: []string{cv.AssigneeAI}, CreatedFrom: ptr(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))},
			{Sources: []string{cv.SourceWhatsApp}, AssigneeTypes: []string{cv.AssigneeAI}, CreatedTo: ptr(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))},
		}
		run := func(phase string, n int) {
			same(phase)
			for _, f := range fixed {
				check(phase, f)
			}
			for range n {
				check(phase, random())
			}
		}
		run("created", 300)

		// Conversations move between keys: resolved, reopened, reassigned, analysed again
		// (some to no sentiment or language, flagged or not).
		for _, id := range order {
			if rng.IntN(3) == 0 {
				move(id)
			}
		}
		var again []string
		for _, id := range order {
			if rng.IntN(4) == 0 {
				again = append(again, id)
			}
		}
		analyse(again)
		run("updated", 200)

		// Some go: at midnight, a microsecond before one, and others.
		gone := []string{order[0], order[4], order[len(order)-1], order[len(order)/2]}
		for _, id := range gone {
			ok(t, "DeleteConversation", s.DeleteConversation(ctx, a.ID, id))
			delete(rows, id)
		}
		run("deleted", 200)
		if t.Failed() {
			t.Logf("random filters from seed %d", seed)
		}
	}},
}
