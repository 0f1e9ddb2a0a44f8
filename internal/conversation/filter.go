package conversation

import (
	"time"

	"github.com/parleyhq/parley/internal/search"
)

// Sort keys of the conversation list.
const (
	SortLastMessageAt = "last_message_at"
	SortCreatedAt     = "created_at"
	SortOrd           = "ord"
)

// Paging limits.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// Filter selects and orders conversations of one assistant. Empty slices and nil pointers do
// not filter. Time bounds are half-open: From inclusive, To exclusive.
type Filter struct {
	Query         search.Query
	AssigneeTypes []string
	AssigneeIDs   []string
	Sources       []string
	Statuses      []string
	Languages     []string
	Sentiments    []string
	Topics        []string
	CreatedFrom   *time.Time
	CreatedTo     *time.Time
	LastFrom      *time.Time
	LastTo        *time.Time
	IsFlagged     *bool
	HasUnread     *bool
	Terminated    *bool
	Metadata      map[string]string // metadata.<key>=<value>: the value as text

	Sort string // one of the Sort* keys; "" is last_message_at
	Desc bool

	Limit  int
	Offset int
	// Cursor continues a keyset walk where a previous page ended; Offset is then ignored.
	Cursor *Cursor
}

// Cursor is the position after the last item of a page in a keyset walk.
type Cursor struct {
	Sort  string `json:"s"`
	Desc  bool   `json:"d"`
	Key   int64  `json:"k"` // the sort key: unix microseconds, or ord
	RowID int64  `json:"r"`
}

// ConversationPage is one page of a list.
type ConversationPage struct {
	Items      []Conversation
	Count      int64
	NextCursor *Cursor
}

// EventFilter selects a page of one conversation's timeline, oldest first.
type EventFilter struct {
	Types  []string
	Limit  int
	Offset int
	// AfterOrd continues a keyset walk after the event with that ord.
	AfterOrd *int64
}

// EventPage is one page of a timeline.
type EventPage struct {
	Items []Event
	Count int64
}

// SortKey returns the value of c on the sort key.
func SortKey(c *Conversation, sort string) int64 {
	switch sort {
	case SortCreatedAt:
		return c.CreatedAt.UnixMicro()
	case SortOrd:
		return c.Ord
	}
	return c.LastMessageAt.UnixMicro()
}
