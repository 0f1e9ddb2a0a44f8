package api

import (
	"net/url"
	"slices"
	"testing"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// FuzzListParams feeds raw query strings to the list's and the timeline's parameter parsers:
// they never panic, an error is always a 400 BAD_REQUEST naming a parameter that was given,
// and what they accept is within bounds. A cursor the list hands out for an accepted query is
// accepted back.
func FuzzListParams(f *testing.F) {
	for _, s := range []string{
		"", "limit=10&resolution_status=open", "limit=abc", "limit=500&offset=3", "offset=-1", "limit=0",
		"source=slack,widget&source=telegram", "assignee_type=unassigned,human_operator", "sentiment=angry",
		"created_timestamp_start_date=2026-01-15&created_timestamp_end_date=2026-01-15T10:30:00%2B01:00",
		"last_message_at_end_date=2026-13-40", "most_frequent_language=en,pl", "is_flagged=true&terminated=0",
		"has_unread_messages=maybe", "metadata.plan=pro&metadata.userId=12", "metadata.=x", "metadata.a%22b=1",
		"sort=-ord", "sort=--ord", "sort=created_at&cursor=eyJzIjoiY3JlYXRlZF9hdCIsImQiOmZhbHNlLCJrIjoxLCJyIjoyfQ",
		"cursor=%%%", "query=%2342", "query=ORD-0012345", "type=log,message&after_ord=3", "after_ord=-2", "a=%zz&limit=5",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		// The server reads r.URL.Query(), which keeps what parses and drops the rest.
		q, _ := url.ParseQuery(raw)

		check := func(what string, err *apiError) {
			t.Helper()
			if err == nil {
				return
			}
			if err.Status != 400 || err.Code != CodeBadRequest || err.Message == "" {
				t.Fatalf("%s(%q): %+v, want a 400 BAD_REQUEST with a message", what, raw, err)
			}
			if _, given := q[err.Field]; !given || err.Field == "" {
				t.Fatalf("%s(%q): error names %q, which is not a parameter given", what, raw, err.Field)
			}
		}

		flt, err := parseListParams(q)
		check("parseListParams", err)
		if err == nil {
			if flt.Limit < 1 || flt.Limit > cv.MaxLimit || flt.Offset < 0 {
				t.Fatalf("%q: limit %d offset %d", raw, flt.Limit, flt.Offset)
			}
			if !slices.Contains([]string{cv.SortLastMessageAt, cv.SortCreatedAt, cv.SortOrd}, flt.Sort) {
				t.Fatalf("%q: sort %q", raw, flt.Sort)
			}
			if c := flt.Cursor; c != nil && (c.Sort != flt.Sort || c.Desc != flt.Desc) {
				t.Fatalf("%q: cursor %+v for sort %s desc %v", raw, c, flt.Sort, flt.Desc)
			}
			for _, vals := range [][]string{flt.Sources, flt.AssigneeTypes, flt.Statuses, flt.Sentiments} {
				for _, v := range vals {
					if v == "" {
						t.Fatalf("%q: an empty enum value", raw)
					}
				}
			}
			next := encodeCursor(&cv.Cursor{Sort: flt.Sort, Desc: flt.Desc, Key: 1, RowID: 2})
			q2 := url.Values{}
			for k, v := range q {
				q2[k] = v
			}
			q2.Set("cursor", *next)
			if _, err := parseListParams(q2); err != nil {
				t.Fatalf("%q: the list's own next_cursor is refused: %+v", raw, err)
			}
		}

		ef, limit, err := parseEventParams(q)
		check("parseEventParams", err)
		if err == nil && (limit < 1 || limit > cv.MaxLimit || ef.Offset < 0 || (ef.AfterOrd != nil && *ef.AfterOrd < 0)) {
			t.Fatalf("%q: events limit %d offset %d", raw, limit, ef.Offset)
		}
	})
}
