package storetest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
)

// Searches whose words are in many conversations: engines read such pages differently from
// pages of a few matches (walking the sort order and checking each conversation, rather than
// sorting the matches), so the suite checks both against what the conversations hold, with
// another assistant's conversations in the same index.
func init() {
	searchTests = append(searchTests, test{"ManyMatches", func(t *testing.T, s store.Store) {
		const n = 1100
		a, other := newAssistant(t, s), newAssistant(t, s)
		in := make([]cv.NewConversation, n)
		words := func(i int) string {
			text := "alpha"
			if i%3 == 0 {
				text += " beta"
			}
			if i%250 == 7 {
				text += " gamma"
			}
			if i%28 == 5 {
				// About 40: between the sorted and the walked pages of engines that read the
				// matches' ids out (√1150 and 1150/25 on PostgreSQL).
				text += " delta"
			}
			// A hundred words with one start: "kw" starts more words than an engine may
			// restate a prefix as, "kw1" eleven of them.
			text += fmt.Sprintf(" kw%d", i%100)
			// A number, for queries that are also order numbers.
			text += fmt.Sprintf(" %d", (i*37)%1200)
			return text
		}
		for i := range in {
			// Creation order, last-message order and order number all differ.
			at := time.Duration((i*7919)%n) * time.Minute
			in[i] = cv.NewConversation{Source: cv.SourceWidget, CreatedAt: tp(time.Duration(i) * time.Second),
				Messages: []cv.NewMessage{msg(cv.AuthorVisitor, words(i), at), msg(cv.AuthorAI, "noted", at+time.Second)}}
		}
		created := createBatch(t, s, a.ID, in...)
		createBatch(t, s, other.ID, in[:50]...) // the same words in another assistant's index
		// check lists f and pages it by cursor against the model: the conversations that match
		// (by their index in created) in f's order. It returns them, sorted.
		check := func(what string, f cv.Filter, match func(i int, c cv.Conversation) bool) []cv.Conversation {
			t.Helper()
			var exp []cv.Conversation
			for i, r := range created {
				if match(i, r.Conversation) {
					exp = append(exp, r.Conversation)
				}
			}
			slices.SortFunc(exp, func(x, y cv.Conversation) int {
				kx, ky := cv.SortKey(&x, f.Sort), cv.SortKey(&y, f.Sort)
				if kx == ky {
					kx, ky = x.RowID, y.RowID
				}
				if f.Desc {
					kx, ky = ky, kx
				}
				return compareInt(kx, ky)
			})
			p := mustList(t, s, a.ID, f)
			if p.Count != int64(len(exp)) {
				t.Errorf("%s: Count = %d, want %d", what, p.Count, len(exp))
			}
			sameIDs(t, what+", first page", ids(p.Items), ids(exp[:min(f.Limit, len(exp))]), nil)
			if p.NextCursor != nil {
				f.Cursor = p.NextCursor
				p2 := mustList(t, s, a.ID, f)
				sameIDs(t, what+", second page", ids(p2.Items), ids(exp[f.Limit:min(2*f.Limit, len(exp))]), nil)
			}
			return exp
		}
		hasPrefix := func(i int, w string) bool {
			return slices.ContainsFunc(strings.Fields(words(i)), func(x string) bool { return strings.HasPrefix(x, w) })
		}
		// A word, and the start of one (the last word of a query is also a prefix).
		for _, w := range []string{"alpha", "beta", "gamma", "delta", "alp", "bet", "kw", "kw1", "kw42"} {
			for _, sort := range []string{cv.SortLastMessageAt, cv.SortCreatedAt, cv.SortOrd} {
				for _, desc := range []bool{true, false} {
					what := fmt.Sprintf("%q by %s desc=%v", w, sort, desc)
					f := cv.Filter{Query: query(w), Sort: sort, Desc: desc, Limit: 20}
					exp := check(what, f, func(i int, _ cv.Conversation) bool { return hasPrefix(i, w) })
					if sort == cv.SortLastMessageAt && desc {
						p3 := mustList(t, s, a.ID, cv.Filter{Query: query(w), Sort: sort, Desc: desc, Limit: 20, Offset: 300})
						sameIDs(t, what+", offset 300", ids(p3.Items), ids(exp[min(300, len(exp)):min(320, len(exp))]), nil)
					}
				}
			}
		}

		// Queries that are order numbers as well as words (the conversation with that number,
		// and those with a word that starts with it), and words with filters: engines that read
		// the ids of few matches out page them differently.
		for _, num := range []string{"12", "#12", "7", "1"} {
			ord, _ := strconv.ParseInt(strings.TrimPrefix(num, "#"), 10, 64)
			for _, sort := range []string{cv.SortLastMessageAt, cv.SortOrd} {
				f := cv.Filter{Query: query(num), Sort: sort, Desc: sort == cv.SortLastMessageAt, Limit: 7}
				check(fmt.Sprintf("%q by %s", num, sort), f, func(i int, c cv.Conversation) bool {
					return c.Ord == ord || hasPrefix(i, strings.TrimPrefix(num, "#"))
				})
			}
			f := cv.Filter{Query: query(num), CreatedTo: tp(600 * time.Second), Limit: 5}
			check(fmt.Sprintf("%q created in the first 600 s", num), f, func(i int, c cv.Conversation) bool {
				return i < 600 && (c.Ord == ord || hasPrefix(i, strings.TrimPrefix(num, "#")))
			})
		}
		for _, end := range []time.Duration{900, 1050} {
			f := cv.Filter{Query: query("alpha"), CreatedTo: tp(end * time.Second), Limit: 20}
			check(fmt.Sprintf("alpha created in the first %d s", end), f, func(i int, _ cv.Conversation) bool { return i < int(end) })
		}
		if p := mustList(t, s, a.ID, cv.Filter{Query: query(created[3].Conversation.ID), Limit: 20}); p.Count != 1 || len(p.Items) != 1 || p.Items[0].ID != created[3].Conversation.ID {
			t.Errorf("query by conversation id: Count %d with %d items, want that conversation", p.Count, len(p.Items))
		}

		// With a filter too, and in the other assistant's list.
		p := mustList(t, s, a.ID, cv.Filter{Query: query("alpha"), CreatedTo: tp(100 * time.Second), Limit: 5})
		if p.Count != 100 || len(p.Items) != 5 {
			t.Errorf("alpha created in the first 100 s: Count %d with %d items, want 100 with 5", p.Count, len(p.Items))
		}
		if p := mustList(t, s, other.ID, cv.Filter{Query: query("alpha"), Limit: 20}); p.Count != 50 || len(p.Items) != 20 {
			t.Errorf("the other assistant's alpha: Count %d with %d items, want 50 with 20", p.Count, len(p.Items))
		}
	}})
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
