// Package wire is the JSON form of Parley's objects as clients see them: the API's responses,
// webhook bodies, exports and the live stream all render through it, so they never disagree.
package wire

import (
	"encoding/json"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// Time is a timestamp: RFC 3339 in UTC with a Z suffix, as in the reference.
type Time time.Time

func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(time.RFC3339Nano) + `"`), nil
}

// At is t as a wire time.
func At(t time.Time) Time { return Time(t) }

// TimePtr is t as a wire time, or nil.
func TimePtr(t *time.Time) *Time {
	if t == nil {
		return nil
	}
	v := Time(*t)
	return &v
}

// Item is a conversation in a list, with exactly the reference's fields and JSON
// types: title and most_frequent_language are strings there (not nullable), so they are ""
// until the analysis sets them.
type Item struct {
	ID                   string      `json:"id"`
	Ord                  int64       `json:"ord"`
	CreatedAt            Time        `json:"created_at"`
	LastMessageAt        Time        `json:"last_message_at"`
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

// Detail is the detail object: every list field plus the reference's detail
// fields, and the extension field version (the ETag's value).
type Detail struct {
	Item
	URL                  *string         `json:"url"`
	ClientMetadata       map[string]any  `json:"client_metadata"`
	LastVisitorMessageAt *Time           `json:"last_visitor_message_at"`
	UnifiedAnalysis      json.RawMessage `json:"unified_analysis"`
	Version              int64           `json:"version"`
	Rating               *Rating         `json:"rating"`
}

type Rating struct {
	Score     int     `json:"score"`
	Comment   *string `json:"comment"`
	CreatedAt Time    `json:"created_at"`
}

func NewItem(c *cv.Conversation) Item {
	return Item{
		ID: c.ID, Ord: c.Ord, CreatedAt: At(c.CreatedAt), LastMessageAt: At(c.LastMessageAt), Title: deref(c.Title),
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

func NewDetail(c *cv.Conversation) Detail {
	d := Detail{
		Item: NewItem(c), URL: c.URL, ClientMetadata: c.ClientMetadata,
		LastVisitorMessageAt: TimePtr(c.LastVisitorMessageAt), UnifiedAnalysis: c.UnifiedAnalysis, Version: c.Version,
	}
	if c.Rating != nil {
		d.Rating = &Rating{Score: c.Rating.Score, Comment: c.Rating.Comment, CreatedAt: At(c.Rating.CreatedAt)}
	}
	if len(d.UnifiedAnalysis) == 0 {
		d.UnifiedAnalysis = json.RawMessage("null")
	}
	return d
}

// List is the reference's list envelope plus the extension next_cursor.
type List[T any] struct {
	Items      []T     `json:"items"`
	Offset     int     `json:"offset"`
	Limit      int     `json:"limit"`
	Count      int64   `json:"count"`
	NextCursor *string `json:"next_cursor"`
}

// Event is one timeline entry: {"type", "data"}.
type Event struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

type EventHead struct {
	ID        string `json:"id"`
	Ord       int64  `json:"ord"`
	CreatedAt Time   `json:"created_at"`
}

type MessageData struct {
	EventHead
	cv.Message
}

type LogData struct {
	EventHead
	cv.Log
}

type TrackedLinkData struct {
	EventHead
	cv.TrackedLink
}

func NewEvent(e *cv.Event) Event {
	head := EventHead{ID: e.ID, Ord: e.Ord, CreatedAt: At(e.CreatedAt)}
	switch {
	case e.Message != nil:
		return Event{Type: e.Type, Data: MessageData{head, normalMessage(*e.Message)}}
	case e.Log != nil:
		l := *e.Log
		if l.Details == nil {
			l.Details = map[string]any{}
		}
		return Event{Type: e.Type, Data: LogData{head, l}}
	case e.TrackedLink != nil:
		return Event{Type: e.Type, Data: TrackedLinkData{head, *e.TrackedLink}}
	}
	return Event{Type: e.Type, Data: head}
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
