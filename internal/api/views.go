package api

import (
	"encoding/json"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// Timestamps are RFC 3339 in UTC with a Z suffix, as in the reference.
type timestamp time.Time

func (t timestamp) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(time.RFC3339Nano) + `"`), nil
}

func ts(t time.Time) timestamp { return timestamp(t) }

func tsPtr(t *time.Time) *timestamp {
	if t == nil {
		return nil
	}
	v := timestamp(*t)
	return &v
}

// conversationItem is a conversation in a list, with exactly the reference's fields and JSON
// types: title and most_frequent_language are strings there (not nullable), so they are ""
// until the analysis sets them.
type conversationItem struct {
	ID                   string      `json:"id"`
	Ord                  int64       `json:"ord"`
	CreatedAt            timestamp   `json:"created_at"`
	LastMessageAt        timestamp   `json:"last_message_at"`
	Title                string      `json:"title"`
	Source               string      `json:"source"`
	Terminated           bool        `json:"terminated"`
	ResolutionStatus     string      `json:"resolution_status"`
	HasUnreadMessages    bool        `json:"has_unread_messages"`
	SupportsInboxControl bool        `json:"supports_inbox_control"`
	LastMessageContent   string      `json:"last_message_content"`
	MostFrequentLanguage string      `json:"most_frequent_language"`
	Assignee             cv.Assignee `json:"assignee"`
	VisitorName          *string     `json:"visitor_name"`
	VisitorEmail         *string     `json:"visitor_email"`
	VisitorPhoneNumber   *string     `json:"visitor_phone_number"`
	VisitorLabel         *string     `json:"visitor_label"`
}

// conversationDetail is the detail object: every list field plus the reference's detail
// fields, and the extension field version (the ETag's value).
type conversationDetail struct {
	conversationItem
	URL                  *string         `json:"url"`
	ClientMetadata       map[string]any  `json:"client_metadata"`
	LastVisitorMessageAt *timestamp      `json:"last_visitor_message_at"`
	UnifiedAnalysis      json.RawMessage `json:"unified_analysis"`
	Version              int64           `json:"version"`
	Rating               *ratingView     `json:"rating"`
}

type ratingView struct {
	Score     int       `json:"score"`
	Comment   *string   `json:"comment"`
	CreatedAt timestamp `json:"created_at"`
}

func itemView(c *cv.Conversation) conversationItem {
	return conversationItem{
		ID: c.ID, Ord: c.Ord, CreatedAt: ts(c.CreatedAt), LastMessageAt: ts(c.LastMessageAt), Title: deref(c.Title),
		Source: c.Source, Terminated: c.Terminated, ResolutionStatus: c.ResolutionStatus,
		HasUnreadMessages: c.HasUnreadMessages, SupportsInboxControl: cv.SupportsInboxControl(c.Source),
		LastMessageContent: c.LastMessageContent, MostFrequentLanguage: deref(c.MostFrequentLanguage), Assignee: c.Assignee,
		VisitorName: c.VisitorName, VisitorEmail: c.VisitorEmail, VisitorPhoneNumber: c.VisitorPhoneNumber,
		VisitorLabel: c.VisitorLabel,
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func detailView(c *cv.Conversation) conversationDetail {
	d := conversationDetail{
		conversationItem: itemView(c), URL: c.URL, ClientMetadata: c.ClientMetadata,
		LastVisitorMessageAt: tsPtr(c.LastVisitorMessageAt), UnifiedAnalysis: c.UnifiedAnalysis, Version: c.Version,
	}
	if c.Rating != nil {
		d.Rating = &ratingView{Score: c.Rating.Score, Comment: c.Rating.Comment, CreatedAt: ts(c.Rating.CreatedAt)}
	}
	if len(d.UnifiedAnalysis) == 0 {
		d.UnifiedAnalysis = json.RawMessage("null")
	}
	return d
}

// listPage is the reference's list envelope plus the extension next_cursor.
type listPage[T any] struct {
	Items      []T     `json:"items"`
	Offset     int     `json:"offset"`
	Limit      int     `json:"limit"`
	Count      int64   `json:"count"`
	NextCursor *string `json:"next_cursor"`
}

// eventItem is one timeline entry: {"type", "data"}.
type eventItem struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

type eventHead struct {
	ID        string    `json:"id"`
	Ord       int64     `json:"ord"`
	CreatedAt timestamp `json:"created_at"`
}

type messageData struct {
	eventHead
	cv.Message
}

type logData struct {
	eventHead
	cv.Log
}

type trackedLinkData struct {
	eventHead
	cv.TrackedLink
}

func eventView(e *cv.Event) eventItem {
	head := eventHead{ID: e.ID, Ord: e.Ord, CreatedAt: ts(e.CreatedAt)}
	switch {
	case e.Message != nil:
		return eventItem{Type: e.Type, Data: messageData{head, normalMessage(*e.Message)}}
	case e.Log != nil:
		l := *e.Log
		if l.Details == nil {
			l.Details = map[string]any{}
		}
		return eventItem{Type: e.Type, Data: logData{head, l}}
	case e.TrackedLink != nil:
		return eventItem{Type: e.Type, Data: trackedLinkData{head, *e.TrackedLink}}
	}
	return eventItem{Type: e.Type, Data: head}
}

// normalMessage makes sure every reference field has its documented JSON type.
func normalMessage(m cv.Message) cv.Message {
	for _, f := range []*json.RawMessage{&m.MessageInsights, &m.Feedback, &m.ClientMetadata} {
		if len(*f) == 0 {
			*f = json.RawMessage("null")
		}
	}
	for _, f := range []*json.RawMessage{&m.SourcesGenerated, &m.Attachments} {
		if len(*f) == 0 || string(*f) == "null" {
			*f = json.RawMessage("[]")
		}
	}
	return m
}
