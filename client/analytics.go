package client

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// AnalyticsService answers aggregate counts for dashboards. Get it from Client.Analytics.
type AnalyticsService struct{ c *Client }

// Dimensions to group by.
const (
	GroupDay              = "day"   // creation date
	GroupWeek             = "week"  // ISO week of creation, named by its Monday
	GroupMonth            = "month" // creation month, "2026-01"
	GroupSentiment        = "sentiment"
	GroupTopic            = "topic"
	GroupSource           = "source"
	GroupLanguage         = "language"
	GroupAssigneeType     = "assignee_type"
	GroupResolutionStatus = "resolution_status"
)

// AnalyticsOptions are the conversations to count (every list filter), up to two dimensions
// to group them by (two make a matrix; none gives only the total), and the IANA time zone of
// day, week and month buckets ("" is UTC).
type AnalyticsOptions struct {
	Filter
	GroupBy []string
	TZ      string
}

// Counts are the numbers of a group or of the total. HandedOff counts conversations a human
// was asked for or took part in (or that a human operator holds now); Flagged those the
// analysis flagged. The shares are of Conversations (0 when there are none).
type Counts struct {
	Conversations           int64   `json:"conversations"`
	Messages                int64   `json:"messages"`
	MessagesPerConversation float64 `json:"messages_per_conversation"`
	HandedOff               int64   `json:"handed_off"`
	HandoffShare            float64 `json:"handoff_share"`
	Flagged                 int64   `json:"flagged"`
	FlaggedShare            float64 `json:"flagged_share"`
	TrackedLinkClicks       int64   `json:"tracked_link_clicks"`
}

// Group is the counts of conversations that share a key: a value per dimension, nil where
// they have none (no sentiment before the analysis, say).
type Group struct {
	Key map[string]*string `json:"key"`
	Counts
}

// KeyOf returns the group's value of one dimension ("" when it has none).
func (g Group) KeyOf(dimension string) string {
	if v := g.Key[dimension]; v != nil {
		return *v
	}
	return ""
}

// Analytics is an answer: groups ordered by key (times ascending, values in byte order, no
// value last) and the total over all matching conversations.
type Analytics struct {
	GroupBy []string `json:"group_by"`
	TZ      string   `json:"tz"`
	Groups  []Group  `json:"groups"`
	Total   Counts   `json:"total"`
}

// Get counts the conversations that match opts.
func (s *AnalyticsService) Get(ctx context.Context, opts AnalyticsOptions) (*Analytics, error) {
	q := url.Values{}
	opts.Filter.values(q)
	if len(opts.GroupBy) > 0 {
		q.Set("group_by", strings.Join(opts.GroupBy, ","))
	}
	if opts.TZ != "" {
		q.Set("tz", opts.TZ)
	}
	var out Analytics
	if _, err := s.c.call(ctx, request{method: http.MethodGet, path: apiPrefix + "/analytics", query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
