package links

import (
	"net/url"
	"strings"
)

// WithUTM returns target with utm_source=parley and utm_medium=medium added to its query,
// keeping the existing parameters as written and the fragment; a utm parameter that is already
// there is not added again.
func WithUTM(target, medium string) string {
	rest, frag, hasFrag := strings.Cut(target, "#")
	path, query, _ := strings.Cut(rest, "?")
	present, _ := url.ParseQuery(query)
	var add []string
	if !present.Has("utm_source") {
		add = append(add, "utm_source=parley")
	}
	if !present.Has("utm_medium") && medium != "" {
		add = append(add, "utm_medium="+url.QueryEscape(medium))
	}
	if len(add) > 0 {
		if query != "" && !strings.HasSuffix(query, "&") {
			query += "&"
		}
		query += strings.Join(add, "&")
	}
	out := path
	if query != "" {
		out += "?" + query
	}
	if hasFrag {
		out += "#" + frag
	}
	return out
}
