package client

import (
	"context"
	"encoding/json"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ConversationsService reads and writes conversations. Get it from Client.Conversations.
type ConversationsService struct{ c *Client }

// Filter selects conversations: every list filter of the API. Empty fields do not filter;
// list fields match any of their values. Filters combine (all must hold).
type Filter struct {
	// Query finds conversations by id or event id, by order number ("42" or "#42"), or by
	// words of their messages, title, visitor name, email, phone or label.
	Query              string
	AssigneeTypes      []string // ai_assistant, human_operator, unassigned
	AssigneeIDs        []string
	Sources            []string
	ResolutionStatuses []string // open, resolved
	Languages          []string // most_frequent_language, such as "en"
	Sentiments         []string // positive, neutral, negative
	Topics             []string
	// Date bounds: "YYYY-MM-DD" or an RFC 3339 date-time (see Date and Instant). Starts are
	// inclusive; an end given as a date includes that whole day (UTC), one given as a
	// date-time includes that instant.
	CreatedStart      string
	CreatedEnd        string
	LastMessageStart  string
	LastMessageEnd    string
	IsFlagged         *bool
	HasUnreadMessages *bool
	Terminated        *bool
	// Metadata matches conversations whose metadata key has the value as text
	// (metadata.<key>=<value>): "pro", "12", "true".
	Metadata map[string]string
}

// Date is a date bound for a Filter: t's date in UTC.
func Date(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// Instant is a date-time bound for a Filter.
func Instant(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Sort orders of lists and exports; the default is SortLastMessageDesc.
const (
	SortLastMessageDesc = "-last_message_at"
	SortLastMessage     = "last_message_at"
	SortCreatedDesc     = "-created_at"
	SortCreated         = "created_at"
	SortOrdDesc         = "-ord"
	SortOrd             = "ord"
)

func (f Filter) values(q url.Values) {
	set := func(name, v string) {
		if v != "" {
			q.Set(name, v)
		}
	}
	list := func(name string, vs []string) {
		if len(vs) > 0 {
			q.Set(name, strings.Join(vs, ","))
		}
	}
	boolean := func(name string, b *bool) {
		if b != nil {
			q.Set(name, strconv.FormatBool(*b))
		}
	}
	set("query", f.Query)
	list("assignee_type", f.AssigneeTypes)
	list("assignee_id", f.AssigneeIDs)
	list("source", f.Sources)
	list("resolution_status", f.ResolutionStatuses)
	list("most_frequent_language", f.Languages)
	list("sentiment", f.Sentiments)
	list("topic", f.Topics)
	set("created_timestamp_start_date", f.CreatedStart)
	set("created_timestamp_end_date", f.CreatedEnd)
	set("last_message_at_start_date", f.LastMessageStart)
	set("last_message_at_end_date", f.LastMessageEnd)
	boolean("is_flagged", f.IsFlagged)
	boolean("has_unread_messages", f.HasUnreadMessages)
	boolean("terminated", f.Terminated)
	for k, v := range f.Metadata {
		q.Set("metadata."+k, v)
	}
}

// ListOptions are a list's filters, order and page.
type ListOptions struct {
	Filter
	// Sort is one of the Sort constants ("" is the default, newest last message first).
	Sort string
	// Limit is the page size (server default 20, at most 100); Offset skips matches.
	Limit  int
	Offset int
	// Cursor continues a keyset walk: a previous page's NextCursor (with the same Sort).
	Cursor string
}

func (o ListOptions) values() url.Values {
	q := url.Values{}
	o.Filter.values(q)
	if o.Sort != "" {
		q.Set("sort", o.Sort)
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Offset > 0 {
		q.Set("offset", strconv.Itoa(o.Offset))
	}
	if o.Cursor != "" {
		q.Set("cursor", o.Cursor)
	}
	return q
}

// List returns one page of conversations.
func (s *ConversationsService) List(ctx context.Context, opts ListOptions) (*ConversationList, error) {
	var out ConversationList
	_, err := s.c.call(ctx, request{method: http.MethodGet, path: apiPrefix + "/conversations", query: opts.values()}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// All yields every conversation that matches opts, page by page with keyset cursors (pages of
// opts.Limit, 100 by default; opts.Offset and opts.Cursor are where it starts). It stops at
// the first error, which it yields.
func (s *ConversationsService) All(ctx context.Context, opts ListOptions) iter.Seq2[Conversation, error] {
	return func(yield func(Conversation, error) bool) {
		if opts.Limit <= 0 {
			opts.Limit = 100
		}
		for {
			page, err := s.List(ctx, opts)
			if err != nil {
				yield(Conversation{}, err)
				return
			}
			for _, c := range page.Items {
				if !yield(c, nil) {
					return
				}
			}
			if page.NextCursor == nil || len(page.Items) == 0 {
				return
			}
			opts.Cursor, opts.Offset = *page.NextCursor, 0
		}
	}
}

func conversationPath(id string) string { return apiPrefix + "/conversations/" + escape(id) }

// Get returns one conversation's detail.
func (s *ConversationsService) Get(ctx context.Context, id string) (*ConversationDetail, error) {
	var out ConversationDetail
	if _, err := s.c.call(ctx, request{method: http.MethodGet, path: conversationPath(id) + "/"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Create creates a conversation (write_all). When n.ExternalID names a conversation of that
// source that exists already, its new messages are appended instead and created is false.
func (s *ConversationsService) Create(ctx context.Context, n NewConversation, opts ...WriteOption) (c *ConversationDetail, created bool, err error) {
	var out ConversationDetail
	res, err := s.c.call(ctx, request{method: http.MethodPost, path: apiPrefix + "/conversations", body: n, opts: opts}, &out)
	if err != nil {
		return nil, false, err
	}
	return &out, res.StatusCode == http.StatusCreated, nil
}

// Update changes a conversation (write_all): assignee, resolution, termination, title,
// visitor fields, the unread marker.
func (s *ConversationsService) Update(ctx context.Context, id string, p ConversationPatch, opts ...WriteOption) (*ConversationDetail, error) {
	var out ConversationDetail
	if _, err := s.c.call(ctx, request{method: http.MethodPatch, path: conversationPath(id) + "/", body: p, opts: opts}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Delete removes a conversation with everything derived from it (write_all).
func (s *ConversationsService) Delete(ctx context.Context, id string, opts ...WriteOption) error {
	_, err := s.c.call(ctx, request{method: http.MethodDelete, path: conversationPath(id) + "/", opts: opts}, nil)
	return err
}

// EventOptions select a page of a timeline.
type EventOptions struct {
	Types  []string // message, tracked_link, log; none: all
	Limit  int      // server default 20, at most 100
	Offset int
	// AfterOrd continues after the event with that ord (a page's NextCursor).
	AfterOrd *int64
}

// Events returns one page of a conversation's timeline, oldest first.
func (s *ConversationsService) Events(ctx context.Context, id string, opts EventOptions) (*EventList, error) {
	q := url.Values{}
	if len(opts.Types) > 0 {
		q.Set("type", strings.Join(opts.Types, ","))
	}
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	if opts.Offset > 0 {
		q.Set("offset", strconv.Itoa(opts.Offset))
	}
	if opts.AfterOrd != nil {
		q.Set("after_ord", strconv.FormatInt(*opts.AfterOrd, 10))
	}
	var out EventList
	if _, err := s.c.call(ctx, request{method: http.MethodGet, path: conversationPath(id) + "/events/", query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AllEvents yields a conversation's whole timeline (of the given types; none: all), oldest
// first, in pages of 100. It stops at the first error, which it yields.
func (s *ConversationsService) AllEvents(ctx context.Context, id string, types ...string) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		opts := EventOptions{Types: types, Limit: 100}
		for {
			page, err := s.Events(ctx, id, opts)
			if err != nil {
				yield(Event{}, err)
				return
			}
			for _, e := range page.Items {
				if !yield(e, nil) {
					return
				}
			}
			if len(page.Items) < opts.Limit {
				return
			}
			last := page.Items[len(page.Items)-1].Ord
			opts.AfterOrd = &last
		}
	}
}

// AppendMessage adds a message to a conversation (write_all). A message whose ExternalID the
// conversation has already is not added again: the stored one comes back, with created false.
func (s *ConversationsService) AppendMessage(ctx context.Context, id string, m NewMessage, opts ...WriteOption) (ev *MessageEvent, created bool, err error) {
	var out MessageEvent
	res, err := s.c.call(ctx, request{method: http.MethodPost, path: conversationPath(id) + "/messages", body: m, opts: opts}, &out)
	if err != nil {
		return nil, false, err
	}
	return &out, res.StatusCode == http.StatusCreated, nil
}

// SetFeedback sets the visitor's feedback on one message (write_all): rating "positive" or
// "negative", and an optional comment.
func (s *ConversationsService) SetFeedback(ctx context.Context, id, messageID, rating string, comment *string, opts ...WriteOption) (*MessageEvent, error) {
	var out MessageEvent
	body := map[string]any{"rating": rating, "comment": comment}
	_, err := s.c.call(ctx, request{method: http.MethodPut, path: conversationPath(id) + "/messages/" + escape(messageID) + "/feedback", body: body, opts: opts}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Rate stores the visitor's rating of a conversation (write_all): a score from 1 to 5 and an
// optional comment. It is a 409 CONFLICT *Error while the assistant does not collect ratings.
func (s *ConversationsService) Rate(ctx context.Context, id string, score int, comment *string, opts ...WriteOption) (*ConversationDetail, error) {
	var out ConversationDetail
	body := map[string]any{"score": score, "comment": comment}
	if _, err := s.c.call(ctx, request{method: http.MethodPost, path: conversationPath(id) + "/rating", body: body, opts: opts}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Metadata returns a conversation's metadata ({} when none) and its version.
func (s *ConversationsService) Metadata(ctx context.Context, id string) (*Metadata, error) {
	return s.metadata(ctx, http.MethodGet, id, nil, nil)
}

// SetMetadata sets the given keys, keeping the others (POST, write_all).
func (s *ConversationsService) SetMetadata(ctx context.Context, id string, keys map[string]any, opts ...WriteOption) (*Metadata, error) {
	return s.metadata(ctx, http.MethodPost, id, keys, opts)
}

// ReplaceMetadata replaces the whole metadata object (PUT, write_all).
func (s *ConversationsService) ReplaceMetadata(ctx context.Context, id string, m map[string]any, opts ...WriteOption) (*Metadata, error) {
	return s.metadata(ctx, http.MethodPut, id, m, opts)
}

// PatchMetadata applies a JSON Merge Patch (RFC 7396) to the metadata (PATCH, write_all): a
// nil value deletes its key, objects merge.
func (s *ConversationsService) PatchMetadata(ctx context.Context, id string, patch map[string]any, opts ...WriteOption) (*Metadata, error) {
	return s.metadata(ctx, http.MethodPatch, id, patch, opts)
}

func (s *ConversationsService) metadata(ctx context.Context, method, id string, body map[string]any, opts []WriteOption) (*Metadata, error) {
	r := request{method: method, path: conversationPath(id) + "/metadata", opts: opts}
	if method != http.MethodGet {
		if body == nil {
			body = map[string]any{}
		}
		r.body = body
		if method == http.MethodPatch {
			r.contentType = "application/merge-patch+json"
		}
	}
	var out Metadata
	res, err := s.c.call(ctx, r, &out)
	if err != nil {
		return nil, err
	}
	out.Version = versionOf(res.Header)
	if out.Metadata == nil {
		out.Metadata = map[string]any{}
	}
	return &out, nil
}

// Import stores conversations from NDJSON (one NewConversation object a line; write_all).
// Bad lines are reported in the result and do not stop the good ones.
func (s *ConversationsService) Import(ctx context.Context, ndjson io.Reader, opts ...WriteOption) (*ImportResult, error) {
	var out ImportResult
	_, err := s.c.call(ctx, request{method: http.MethodPost, path: apiPrefix + "/import", body: ndjson, contentType: "application/x-ndjson", opts: opts}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ImportConversations imports conversations, encoding them as NDJSON while they are sent.
func (s *ConversationsService) ImportConversations(ctx context.Context, convs []NewConversation, opts ...WriteOption) (*ImportResult, error) {
	pr, pw := io.Pipe()
	go func() {
		enc := json.NewEncoder(pw)
		for i := range convs {
			if err := enc.Encode(&convs[i]); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.Close()
	}()
	defer pr.Close()
	return s.Import(ctx, pr, opts...)
}
