package conversation

import (
	"time"
)

// Dimensions an analytics query groups conversations by.
const (
	GroupDay              = "day"   // created_at's date
	GroupWeek             = "week"  // created_at's ISO week, named by its Monday
	GroupMonth            = "month" // created_at's month
	GroupSentiment        = "sentiment"
	GroupTopic            = "topic"
	GroupSource           = "source"
	GroupLanguage         = "language" // most_frequent_language
	GroupAssigneeType     = "assignee_type"
	GroupResolutionStatus = "resolution_status"
)

// GroupBys lists the dimensions, in the order the documentation gives them.
var GroupBys = []string{GroupDay, GroupWeek, GroupMonth, GroupSentiment, GroupTopic, GroupSource, GroupLanguage, GroupAssigneeType, GroupResolutionStatus}

// MaxGroupBy is how many dimensions one query may combine (two make a matrix).
const MaxGroupBy = 2

// IsTimeGroup reports whether g buckets conversations by their creation time.
func IsTimeGroup(g string) bool { return g == GroupDay || g == GroupWeek || g == GroupMonth }

// AnalyticsQuery asks for counts of the conversations that match Filter (its paging, sort and
// cursor do not matter), grouped by up to MaxGroupBy dimensions (none: only the total).
type AnalyticsQuery struct {
	Filter  Filter
	GroupBy []string
	// Location is the time zone of day, week and month buckets; nil is UTC.
	Location *time.Location
}

// Counts are the numbers kept for a set of conversations.
//
// A conversation counts as handed off to a human when its timeline shows that a human was
// asked for or took part (a handoff log event or a message whose handoff_state is requested
// or accepted, or a message by a human operator), or when a human operator is its assignee
// now. It counts as flagged when its analysis flagged it (the is_flagged filter).
type Counts struct {
	Conversations     int64
	Messages          int64
	HandedOff         int64
	Flagged           int64
	TrackedLinkClicks int64
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Conversations += o.Conversations
	c.Messages += o.Messages
	c.HandedOff += o.HandedOff
	c.Flagged += o.Flagged
	c.TrackedLinkClicks += o.TrackedLinkClicks
}

// Group is the counts of the conversations that share one key: one value per dimension of
// the query, in its order; nil where conversations have no value (not analysed yet, say).
// Time keys are dates: "2026-01-15" for a day, the Monday "2026-01-12" for a week,
// "2026-01" for a month.
type Group struct {
	Key []*string
	Counts
}

// Analytics is the answer to an AnalyticsQuery: its groups, ordered by key (times ascending,
// other values in byte order, no value last), and the total over all of them.
type Analytics struct {
	Groups []Group
	Total  Counts
}

// ShowsHuman reports whether an event shows that a human was asked for or took part in its
// conversation: a handoff log event towards a human (handoff_state requested or accepted), a
// message whose handoff_state is requested or accepted, or a message by a human operator. The
// store counts these events for the analytics' handoff share.
func ShowsHuman(e *Event) bool {
	switch {
	case e.Log != nil:
		state, _ := e.Log.Details["handoff_state"].(string)
		return e.Log.Kind == LogHandoff && (state == HandoffRequested || state == HandoffAccepted)
	case e.Message != nil:
		m := e.Message
		return m.Author == AuthorOperator || m.HandoffState != nil && (*m.HandoffState == HandoffRequested || *m.HandoffState == HandoffAccepted)
	}
	return false
}
