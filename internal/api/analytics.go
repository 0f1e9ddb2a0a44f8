package api

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// AnalyticsCounts are the numbers of a group, or of the total, as the API answers them.
type AnalyticsCounts struct {
	Conversations           int64   `json:"conversations"`
	Messages                int64   `json:"messages"`
	MessagesPerConversation float64 `json:"messages_per_conversation"`
	HandedOff               int64   `json:"handed_off"`
	HandoffShare            float64 `json:"handoff_share"`
	Flagged                 int64   `json:"flagged"`
	FlaggedShare            float64 `json:"flagged_share"`
	TrackedLinkClicks       int64   `json:"tracked_link_clicks"`
}

// AnalyticsGroup is one group: its key (one entry per dimension, null where conversations
// have no value) and its counts.
type AnalyticsGroup struct {
	Key map[string]*string `json:"key"`
	AnalyticsCounts
}

// AnalyticsResponse is the answer of GET /v1/api_core/analytics.
type AnalyticsResponse struct {
	GroupBy []string         `json:"group_by"`
	TZ      string           `json:"tz"`
	Groups  []AnalyticsGroup `json:"groups"`
	Total   AnalyticsCounts  `json:"total"`
}

func analyticsCounts(c cv.Counts) AnalyticsCounts {
	out := AnalyticsCounts{Conversations: c.Conversations, Messages: c.Messages, HandedOff: c.HandedOff,
		Flagged: c.Flagged, TrackedLinkClicks: c.TrackedLinkClicks}
	if n := float64(c.Conversations); n > 0 {
		out.MessagesPerConversation = float64(c.Messages) / n
		out.HandoffShare = float64(c.HandedOff) / n
		out.FlaggedShare = float64(c.Flagged) / n
	}
	return out
}

// parseAnalyticsParams reads group_by (up to two dimensions, a comma list or repeated), tz,
// and every list filter. sort means nothing to counts and is ignored; paging is refused.
func parseAnalyticsParams(q url.Values) (cv.AnalyticsQuery, *apiError) {
	var aq cv.AnalyticsQuery
	if err := rejectPaging(q, "analytics"); err != nil {
		return aq, err
	}
	f, err := parseListParams(q)
	if err != nil {
		return aq, err
	}
	aq.Filter = f
	if aq.GroupBy, err = enumList(q, "group_by", cv.GroupBys); err != nil {
		return aq, err
	}
	if len(aq.GroupBy) > cv.MaxGroupBy {
		return aq, badParam("group_by", "at most %d dimensions (two make a matrix)", cv.MaxGroupBy)
	}
	for i, g := range aq.GroupBy {
		if slices.Contains(aq.GroupBy[:i], g) {
			return aq, badParam("group_by", "%s is given twice", g)
		}
	}
	if v := q.Get("tz"); v != "" {
		loc, e := time.LoadLocation(v)
		if e != nil || strings.HasPrefix(v, "Local") || len(v) > 64 {
			return aq, badParam("tz", "must be an IANA time zone such as Europe/Amsterdam or UTC, got %q", truncate(v, 64))
		}
		aq.Location = loc
		if utcAliases[v] {
			aq.Location = time.UTC // the same buckets, and the rollups can answer
		}
	}
	return aq, nil
}

// ParseAnalyticsQuery reads the analytics endpoint's query parameters as the endpoint does (the
// benchmark runs the same query on the store).
func ParseAnalyticsQuery(q url.Values) (cv.AnalyticsQuery, error) {
	aq, err := parseAnalyticsParams(q)
	if err != nil {
		return aq, err
	}
	return aq, nil
}

// utcAliases are the zone names that are UTC at every instant.
var utcAliases = map[string]bool{"Etc/UTC": true, "Etc/UCT": true, "UCT": true, "Etc/GMT": true, "GMT": true, "Etc/GMT0": true, "GMT0": true,
	"Etc/GMT+0": true, "Etc/GMT-0": true, "GMT+0": true, "GMT-0": true, "Etc/Universal": true, "Universal": true, "Etc/Zulu": true,
	"Zulu": true, "Etc/Greenwich": true, "Greenwich": true}

// analytics answers counts of the conversations that match the list's filters, grouped by up
// to two dimensions.
func (s *Server) analytics(w http.ResponseWriter, r *http.Request, p principal) error {
	aq, perr := parseAnalyticsParams(r.URL.Query())
	if perr != nil {
		return perr
	}
	res, err := s.store.Analytics(r.Context(), p.assistantID(), aq)
	if err != nil {
		return err
	}
	out := AnalyticsResponse{GroupBy: aq.GroupBy, TZ: "UTC", Groups: make([]AnalyticsGroup, len(res.Groups)), Total: analyticsCounts(res.Total)}
	if out.GroupBy == nil {
		out.GroupBy = []string{}
	}
	if aq.Location != nil {
		out.TZ = aq.Location.String()
	}
	for i, g := range res.Groups {
		key := make(map[string]*string, len(g.Key))
		for j, k := range g.Key {
			key[aq.GroupBy[j]] = k
		}
		out.Groups[i] = AnalyticsGroup{Key: key, AnalyticsCounts: analyticsCounts(g.Counts)}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
