package api

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/search"
)

// maxListValues bounds the values of one comma-list filter.
const maxListValues = 32

// parsePaging reads limit and offset: limit defaults to 20 and larger values are clamped to
// 100 (the response says the limit used); negative or non-integer values are refused.
func parsePaging(q url.Values) (limit, offset int, err *apiError) {
	limit = cv.DefaultLimit
	if v := q.Get("limit"); v != "" {
		n, e := strconv.Atoi(v)
		if e != nil || n < 1 {
			return 0, 0, badParam("limit", "must be a whole number from 1 to %d", cv.MaxLimit)
		}
		limit = min(n, cv.MaxLimit)
	}
	if v := q.Get("offset"); v != "" {
		n, e := strconv.Atoi(v)
		if e != nil || n < 0 {
			return 0, 0, badParam("offset", "must be a whole number, 0 or more")
		}
		offset = n
	}
	return limit, offset, nil
}

// enumList reads a comma list of values that must all be among allowed.
func enumList(q url.Values, name string, allowed []string) ([]string, *apiError) {
	vals, err := list(q, name)
	if err != nil {
		return nil, err
	}
	for _, v := range vals {
		if !cv.Contains(allowed, v) {
			return nil, badParam(name, "unknown value %q: expected one of %s", v, strings.Join(allowed, ", "))
		}
	}
	return vals, nil
}

// list reads a comma list of free values (repeating the parameter works too).
func list(q url.Values, name string) ([]string, *apiError) {
	var out []string
	for _, raw := range q[name] {
		for _, v := range strings.Split(raw, ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
	}
	if len(out) > maxListValues {
		return nil, badParam(name, "at most %d values", maxListValues)
	}
	return out, nil
}

func boolParam(q url.Values, name string) (*bool, *apiError) {
	v := q.Get(name)
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, badParam(name, "must be true or false")
	}
	return &b, nil
}

// dateParam reads a date filter: YYYY-MM-DD or an RFC 3339 date-time. Start bounds are
// inclusive; an end bound given as a date includes that whole day, one given as a date-time
// includes that instant. The result is the bound of a half-open range.
func dateParam(q url.Values, name string, end bool) (*time.Time, *apiError) {
	v := q.Get(name)
	if v == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return &t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return nil, badParam(name, "must be a date (YYYY-MM-DD) or an RFC 3339 date-time, got %q", truncate(v, 64))
	}
	// Times are stored to the microsecond. An end includes its instant: the bound is the next
	// microsecond, exclusive. A start with a fraction of a microsecond begins at the next one:
	// the databases would drop the fraction and take in the microsecond before it.
	t = t.UTC()
	if end {
		t = t.Add(time.Microsecond).Truncate(time.Microsecond)
	} else {
		t = t.Add(time.Microsecond - 1).Truncate(time.Microsecond)
	}
	return &t, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// metadataPrefix starts the extension filter metadata.<key>=<value>.
const metadataPrefix = "metadata."

// parseListParams reads every parameter of the conversation list into a filter.
func parseListParams(q url.Values) (cv.Filter, *apiError) {
	var f cv.Filter
	var err *apiError
	if f.Limit, f.Offset, err = parsePaging(q); err != nil {
		return f, err
	}
	if v := q.Get("query"); v != "" {
		if len(v) > 1024 {
			return f, badParam("query", "at most 1024 bytes")
		}
		f.Query = search.Parse(v)
	}
	enums := []struct {
		name    string
		allowed []string
		dst     *[]string
	}{
		{"assignee_type", cv.AssigneeTypes, &f.AssigneeTypes},
		{"source", cv.Sources, &f.Sources},
		{"resolution_status", cv.Statuses, &f.Statuses},
		{"sentiment", cv.Sentiments, &f.Sentiments},
	}
	for _, e := range enums {
		if *e.dst, err = enumList(q, e.name, e.allowed); err != nil {
			return f, err
		}
	}
	frees := []struct {
		name string
		dst  *[]string
	}{{"most_frequent_language", &f.Languages}, {"topic", &f.Topics}, {"assignee_id", &f.AssigneeIDs}}
	for _, e := range frees {
		if *e.dst, err = list(q, e.name); err != nil {
			return f, err
		}
	}
	dates := []struct {
		name string
		end  bool
		dst  **time.Time
	}{
		{"created_timestamp_start_date", false, &f.CreatedFrom},
		{"created_timestamp_end_date", true, &f.CreatedTo},
		{"last_message_at_start_date", false, &f.LastFrom},
		{"last_message_at_end_date", true, &f.LastTo},
	}
	for _, d := range dates {
		if *d.dst, err = dateParam(q, d.name, d.end); err != nil {
			return f, err
		}
	}
	bools := []struct {
		name string
		dst  **bool
	}{{"is_flagged", &f.IsFlagged}, {"has_unread_messages", &f.HasUnread}, {"terminated", &f.Terminated}}
	for _, b := range bools {
		if *b.dst, err = boolParam(q, b.name); err != nil {
			return f, err
		}
	}
	for name, vals := range q {
		key, ok := strings.CutPrefix(name, metadataPrefix)
		if !ok {
			continue
		}
		if key == "" || len(key) > cv.MaxMetadataKey {
			return f, badParam(name, "metadata keys are 1 to %d bytes", cv.MaxMetadataKey)
		}
		if f.Metadata == nil {
			f.Metadata = map[string]string{}
		}
		if len(f.Metadata) >= 8 {
			return f, badParam(name, "at most 8 metadata filters")
		}
		f.Metadata[key] = vals[0]
	}
	if f.Sort, f.Desc, err = parseSort(q.Get("sort")); err != nil {
		return f, err
	}
	if v := q.Get("cursor"); v != "" {
		c, ok := decodeCursor(v)
		if !ok || c.Sort != f.Sort || c.Desc != f.Desc {
			return f, badParam("cursor", "is not a cursor of this list and sort order")
		}
		f.Cursor = &c
	}
	return f, nil
}

// parseSort reads sort: a key, with a leading "-" for descending. The default is the
// reference's order, newest last_message_at first.
func parseSort(v string) (string, bool, *apiError) {
	if v == "" {
		return cv.SortLastMessageAt, true, nil
	}
	key, desc := strings.CutPrefix(v, "-")
	switch key {
	case cv.SortLastMessageAt, cv.SortCreatedAt, cv.SortOrd:
		return key, desc, nil
	}
	return "", false, badParam("sort", "must be one of last_message_at, created_at, ord, each optionally with a leading -")
}

func encodeCursor(c *cv.Cursor) *string {
	if c == nil {
		return nil
	}
	b, _ := json.Marshal(c)
	s := base64.RawURLEncoding.EncodeToString(b)
	return &s
}

func decodeCursor(s string) (cv.Cursor, bool) {
	var c cv.Cursor
	if len(s) > 256 {
		return c, false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, false
	}
	if err := json.Unmarshal(b, &c); err != nil || c.Sort == "" {
		return c, false
	}
	return c, true
}

// parseEventParams reads the timeline's parameters: paging and the extension type filter.
func parseEventParams(q url.Values) (cv.EventFilter, int, *apiError) {
	var f cv.EventFilter
	var err *apiError
	if f.Limit, f.Offset, err = parsePaging(q); err != nil {
		return f, 0, err
	}
	if f.Types, err = enumList(q, "type", cv.EventTypes); err != nil {
		return f, 0, err
	}
	if v := q.Get("after_ord"); v != "" {
		n, e := strconv.ParseInt(v, 10, 64)
		if e != nil || n < 0 {
			return f, 0, badParam("after_ord", "must be a whole number, 0 or more")
		}
		f.AfterOrd = &n
	}
	return f, f.Limit, nil
}
