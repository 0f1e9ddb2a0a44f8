package api

import (
	"net/url"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// ParseListFilter reads the conversation list's query parameters (every reference filter and
// extension, paging, sort, cursor) into a filter, exactly as GET /v1/api_core/conversations
// does. Other front ends (the dashboard) use it so that their filters mean the same.
func ParseListFilter(q url.Values) (cv.Filter, error) {
	f, err := parseListParams(q)
	if err != nil {
		return f, err
	}
	return f, nil
}

// EncodeCursor is the next_cursor value of a page.
func EncodeCursor(c *cv.Cursor) string {
	if s := encodeCursor(c); s != nil {
		return *s
	}
	return ""
}
