package storetest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"slices"
	"testing"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/search"
	"github.com/parleyhq/parley/internal/store"
)

// base is the origin of every explicit time in the suite: well in the past, in UTC, with no
// sub-microsecond part.
var base = time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)

// at returns base+d.
func at(d time.Duration) time.Time { return base.Add(d) }

// tp returns a pointer to base+d.
func tp(d time.Duration) *time.Time { t := at(d); return &t }

func ptr[T any](v T) *T { return &v }

// actor is who makes the suite's updates.
var actor = cv.Actor{Type: "api_token", ID: ptr("tok-suite"), Name: ptr("Suite token")}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// checkUUID fails unless s is a canonical lower-case UUID.
func checkUUID(t *testing.T, what, s string) {
	t.Helper()
	if !uuidRE.MatchString(s) {
		t.Errorf("%s = %q, want a lower-case canonical UUID", what, s)
	}
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// randomHash returns 32 random bytes, the size of a SHA-256 token hash.
func randomHash() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

// malformedIDs are ids that cannot exist; every lookup by them is ErrNotFound.
var malformedIDs = []string{
	"",
	"nope",
	"42",
	"00000000-0000-0000-0000-00000000000g",
	"00000000000000000000000000000000x",
	"'; DROP TABLE conversations; --",
}

// wantErr fails unless errors.Is(err, target).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error = %v, want %v", what, err, target)
	}
}

// ok fails the test at once when err is not nil.
func ok(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// sameTime compares times at microsecond precision.
func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Truncate(time.Microsecond).Equal(want.Truncate(time.Microsecond)) {
		t.Errorf("%s = %s, want %s", what, got.UTC().Format(time.RFC3339Nano), want.UTC().Format(time.RFC3339Nano))
	}
}

// sameTimePtr compares optional times at microsecond precision.
func sameTimePtr(t *testing.T, what string, got, want *time.Time) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil:
		t.Errorf("%s = nil, want %s", what, want.UTC().Format(time.RFC3339Nano))
	case want == nil:
		t.Errorf("%s = %s, want nil", what, got.UTC().Format(time.RFC3339Nano))
	default:
		sameTime(t, what, *got, *want)
	}
}

// window brackets a call that lets the store read its clock: the store's "now" must fall
// between Start and End. A second of slack on each side allows for rounding; the suite's own
// explicit times are a year or more in the past, so the check still tells them apart.
type window struct{ Start, End time.Time }

func startWindow() window { return window{Start: time.Now()} }

func (w *window) close() { w.End = time.Now() }

func (w window) check(t *testing.T, what string, got time.Time) {
	t.Helper()
	if got.Before(w.Start.Add(-time.Second)) || got.After(w.End.Add(time.Second)) {
		t.Errorf("%s = %s, want the store's now (between %s and %s)", what,
			got.UTC().Format(time.RFC3339Nano), w.Start.UTC().Format(time.RFC3339Nano), w.End.UTC().Format(time.RFC3339Nano))
	}
}

// samePtr compares optional strings.
func samePtr(t *testing.T, what string, got, want *string) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil:
		t.Errorf("%s = nil, want %q", what, *want)
	case want == nil:
		t.Errorf("%s = %q, want nil", what, *got)
	case *got != *want:
		t.Errorf("%s = %q, want %q", what, *got, *want)
	}
}

// normJSON turns v into its decoded JSON form (maps, []any, float64, string, bool, nil), so
// that values can be compared whatever bytes or Go types carried them. An empty RawMessage is
// JSON null.
func normJSON(t *testing.T, v any) any {
	t.Helper()
	var b []byte
	switch x := v.(type) {
	case json.RawMessage:
		if len(x) == 0 {
			return nil
		}
		b = x
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatalf("marshal %#v: %v", v, err)
		}
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	return out
}

// sameJSON compares two values as decoded JSON.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, w := normJSON(t, got), normJSON(t, want)
	if !reflect.DeepEqual(g, w) {
		gb, _ := json.Marshal(g)
		wb, _ := json.Marshal(w)
		t.Errorf("%s = %s, want %s", what, gb, wb)
	}
}

// meta decodes a JSON object the way the API does (numbers become float64).
func meta(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("meta %s: %v", s, err)
	}
	return m
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

// msg is a message by author with content, at base+d when d is given.
func msg(author, content string, d ...time.Duration) cv.NewMessage {
	m := cv.NewMessage{Author: author, Content: content}
	if len(d) > 0 {
		m.CreatedAt = tp(d[0])
	}
	return m
}

// withExt returns m with a message external_id.
func withExt(m cv.NewMessage, ext string) cv.NewMessage {
	m.ExternalID = ptr(ext)
	return m
}

// newAssistant creates an assistant.
func newAssistant(t *testing.T, s store.Store) cv.Assistant {
	t.Helper()
	a, err := s.CreateAssistant(t.Context(), "assistant "+newUUID()[:8])
	ok(t, "CreateAssistant", err)
	return a
}

// createBatch validates and stores conversations.
func createBatch(t *testing.T, s store.Store, assistantID string, in ...cv.NewConversation) []store.Created {
	t.Helper()
	for i := range in {
		if err := in[i].Validate(); err != nil {
			t.Fatalf("suite bug: NewConversation %d does not validate: %v", i, err)
		}
	}
	out, err := s.CreateConversations(t.Context(), assistantID, in)
	ok(t, "CreateConversations", err)
	if len(out) != len(in) {
		t.Fatalf("CreateConversations returned %d results for %d conversations", len(out), len(in))
	}
	return out
}

// upsert stores one conversation and returns the outcome.
func upsert(t *testing.T, s store.Store, assistantID string, nc cv.NewConversation) store.Created {
	t.Helper()
	return createBatch(t, s, assistantID, nc)[0]
}

// mustCreate stores one conversation that must be new.
func mustCreate(t *testing.T, s store.Store, assistantID string, nc cv.NewConversation) cv.Conversation {
	t.Helper()
	r := upsert(t, s, assistantID, nc)
	if !r.Created {
		t.Fatalf("CreateConversations: Created = false for a new conversation")
	}
	return r.Conversation
}

// simple creates a widget conversation with the given messages.
func simple(t *testing.T, s store.Store, assistantID string, msgs ...cv.NewMessage) cv.Conversation {
	t.Helper()
	return mustCreate(t, s, assistantID, cv.NewConversation{Source: cv.SourceWidget, Messages: msgs})
}

// mustGet reads a conversation that must exist.
func mustGet(t *testing.T, s store.Store, assistantID, id string) cv.Conversation {
	t.Helper()
	c, err := s.Conversation(t.Context(), assistantID, id)
	ok(t, "Conversation", err)
	return c
}

// mustAppend validates and appends a message that must be new.
func mustAppend(t *testing.T, s store.Store, assistantID, conversationID string, m cv.NewMessage) cv.Event {
	t.Helper()
	if err := m.Validate(""); err != nil {
		t.Fatalf("suite bug: NewMessage does not validate: %v", err)
	}
	e, created, err := s.AppendMessage(t.Context(), assistantID, conversationID, m)
	ok(t, "AppendMessage", err)
	if !created {
		t.Fatalf("AppendMessage: created = false for a new message")
	}
	return e
}

// mustEvents reads a page of a timeline.
func mustEvents(t *testing.T, s store.Store, assistantID, conversationID string, f cv.EventFilter) cv.EventPage {
	t.Helper()
	p, err := s.Events(t.Context(), assistantID, conversationID, f)
	ok(t, "Events", err)
	return p
}

// allEvents reads a whole timeline (the suite's timelines are shorter than MaxLimit).
func allEvents(t *testing.T, s store.Store, assistantID, conversationID string) []cv.Event {
	t.Helper()
	p := mustEvents(t, s, assistantID, conversationID, cv.EventFilter{Limit: cv.MaxLimit})
	if p.Count != int64(len(p.Items)) {
		t.Errorf("Events: Count = %d with %d items on a single page", p.Count, len(p.Items))
	}
	return p.Items
}

// checkOrds fails unless the events have exactly the ords want, in that order.
func checkOrds(t *testing.T, what string, events []cv.Event, want ...int64) {
	t.Helper()
	got := make([]int64, len(events))
	for i, e := range events {
		got[i] = e.Ord
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: ords = %v, want %v", what, got, want)
	}
}

// seq returns from, from+1, ..., to.
func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// mustList lists conversations.
func mustList(t *testing.T, s store.Store, assistantID string, f cv.Filter) cv.ConversationPage {
	t.Helper()
	p, err := s.Conversations(t.Context(), assistantID, f)
	ok(t, "Conversations", err)
	return p
}

// listIDs lists the matches of f. Without a limit it asks for MaxLimit (more than any test
// makes) and checks that Count agrees with the items.
func listIDs(t *testing.T, s store.Store, assistantID string, f cv.Filter) []string {
	t.Helper()
	whole := f.Limit == 0 && f.Offset == 0 && f.Cursor == nil
	if f.Limit == 0 {
		f.Limit = cv.MaxLimit
	}
	p := mustList(t, s, assistantID, f)
	if whole && p.Count != int64(len(p.Items)) {
		t.Errorf("Conversations: Count = %d, but a page of %d holds %d items", p.Count, f.Limit, len(p.Items))
	}
	return ids(p.Items)
}

func ids(cs []cv.Conversation) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// sameIDs compares id lists in order.
func sameIDs(t *testing.T, what string, got, want []string, names map[string]string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, nameAll(got, names), nameAll(want, names))
	}
}

// sameIDSet compares id lists as sets.
func sameIDSet(t *testing.T, what string, got, want []string, names map[string]string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Errorf("%s = %v, want %v (any order)", what, nameAll(got, names), nameAll(want, names))
	}
}

func nameAll(ids []string, names map[string]string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		if n, ok := names[id]; ok {
			out[i] = n
		} else {
			out[i] = id
		}
	}
	return out
}

// patch updates a conversation with p (attributed to actor) and returns the result.
func patch(t *testing.T, s store.Store, assistantID, id string, ifVersion int64, p cv.Patch) cv.Conversation {
	t.Helper()
	if err := p.Validate(); err != nil {
		t.Fatalf("suite bug: Patch does not validate: %v", err)
	}
	c, err := s.UpdateConversation(t.Context(), assistantID, id, ifVersion, func(c *cv.Conversation) ([]cv.Log, error) {
		return p.Apply(c, actor), nil
	})
	ok(t, "UpdateConversation", err)
	return c
}

// setMetadata changes a conversation's metadata as the metadata endpoints do.
func setMetadata(t *testing.T, s store.Store, assistantID, id string, op cv.MetadataOp, body map[string]any) cv.Conversation {
	t.Helper()
	c, err := s.UpdateConversation(t.Context(), assistantID, id, 0, func(c *cv.Conversation) ([]cv.Log, error) {
		next, err := cv.ApplyMetadata(c.ClientMetadata, op, body)
		if err != nil {
			return nil, err
		}
		changed := cv.ChangedKeys(c.ClientMetadata, next)
		c.ClientMetadata = next
		return []cv.Log{cv.MetadataLog(actor, changed)}, nil
	})
	ok(t, "UpdateConversation (metadata)", err)
	return c
}

// query parses a search query.
func query(raw string) search.Query { return search.Parse(raw) }

// sameConversation compares every field of two reads of one conversation.
func sameConversation(t *testing.T, what string, got, want cv.Conversation) {
	t.Helper()
	f := func(field string) string { return what + "." + field }
	if got.ID != want.ID {
		t.Errorf("%s = %q, want %q", f("ID"), got.ID, want.ID)
	}
	if got.AssistantID != want.AssistantID {
		t.Errorf("%s = %q, want %q", f("AssistantID"), got.AssistantID, want.AssistantID)
	}
	if got.Ord != want.Ord {
		t.Errorf("%s = %d, want %d", f("Ord"), got.Ord, want.Ord)
	}
	sameTime(t, f("CreatedAt"), got.CreatedAt, want.CreatedAt)
	sameTime(t, f("LastMessageAt"), got.LastMessageAt, want.LastMessageAt)
	samePtr(t, f("Title"), got.Title, want.Title)
	if got.Source != want.Source {
		t.Errorf("%s = %q, want %q", f("Source"), got.Source, want.Source)
	}
	if got.Terminated != want.Terminated {
		t.Errorf("%s = %v, want %v", f("Terminated"), got.Terminated, want.Terminated)
	}
	if got.ResolutionStatus != want.ResolutionStatus {
		t.Errorf("%s = %q, want %q", f("ResolutionStatus"), got.ResolutionStatus, want.ResolutionStatus)
	}
	if got.HasUnreadMessages != want.HasUnreadMessages {
		t.Errorf("%s = %v, want %v", f("HasUnreadMessages"), got.HasUnreadMessages, want.HasUnreadMessages)
	}
	if got.LastMessageContent != want.LastMessageContent {
		t.Errorf("%s = %q, want %q", f("LastMessageContent"), got.LastMessageContent, want.LastMessageContent)
	}
	samePtr(t, f("MostFrequentLanguage"), got.MostFrequentLanguage, want.MostFrequentLanguage)
	sameAssignee(t, f("Assignee"), got.Assignee, want.Assignee)
	samePtr(t, f("VisitorName"), got.VisitorName, want.VisitorName)
	samePtr(t, f("VisitorEmail"), got.VisitorEmail, want.VisitorEmail)
	samePtr(t, f("VisitorPhoneNumber"), got.VisitorPhoneNumber, want.VisitorPhoneNumber)
	samePtr(t, f("VisitorLabel"), got.VisitorLabel, want.VisitorLabel)
	samePtr(t, f("URL"), got.URL, want.URL)
	sameMetadata(t, f("ClientMetadata"), got.ClientMetadata, want.ClientMetadata)
	sameTimePtr(t, f("LastVisitorMessageAt"), got.LastVisitorMessageAt, want.LastVisitorMessageAt)
	sameJSON(t, f("UnifiedAnalysis"), got.UnifiedAnalysis, want.UnifiedAnalysis)
	samePtr(t, f("ExternalID"), got.ExternalID, want.ExternalID)
	if got.Version != want.Version {
		t.Errorf("%s = %d, want %d", f("Version"), got.Version, want.Version)
	}
	if got.EventCount != want.EventCount {
		t.Errorf("%s = %d, want %d", f("EventCount"), got.EventCount, want.EventCount)
	}
	if got.MessageCount != want.MessageCount {
		t.Errorf("%s = %d, want %d", f("MessageCount"), got.MessageCount, want.MessageCount)
	}
	samePtr(t, f("Sentiment"), got.Sentiment, want.Sentiment)
	samePtr(t, f("Topic"), got.Topic, want.Topic)
	if got.IsFlagged != want.IsFlagged {
		t.Errorf("%s = %v, want %v", f("IsFlagged"), got.IsFlagged, want.IsFlagged)
	}
}

// sameMetadata compares conversation metadata as JSON; no metadata may be nil or {}.
func sameMetadata(t *testing.T, what string, got, want map[string]any) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	sameJSON(t, what, got, want)
}

func sameAssignee(t *testing.T, what string, got, want cv.Assignee) {
	t.Helper()
	if got.Type != want.Type {
		t.Errorf("%s.Type = %q, want %q", what, got.Type, want.Type)
	}
	samePtr(t, what+".ID", got.ID, want.ID)
	samePtr(t, what+".Name", got.Name, want.Name)
}

// checkMessageEvent checks a message event against the message it was made from; the
// message's created_at must be set, or when is the time the event must have.
func checkMessageEvent(t *testing.T, what string, e cv.Event, conversationID string, ord int64, m cv.NewMessage, when time.Time) {
	t.Helper()
	checkUUID(t, what+".ID", e.ID)
	if e.ConversationID != conversationID {
		t.Errorf("%s.ConversationID = %q, want %q", what, e.ConversationID, conversationID)
	}
	if e.Ord != ord {
		t.Errorf("%s.Ord = %d, want %d", what, e.Ord, ord)
	}
	if e.Type != cv.EventMessage {
		t.Errorf("%s.Type = %q, want %q", what, e.Type, cv.EventMessage)
	}
	sameTime(t, what+".CreatedAt", e.CreatedAt, when)
	samePtr(t, what+".ExternalID", e.ExternalID, m.ExternalID)
	if e.Log != nil || e.TrackedLink != nil {
		t.Errorf("%s: a message event has Log %v, TrackedLink %v; want both nil", what, e.Log, e.TrackedLink)
	}
	if e.Message == nil {
		t.Errorf("%s.Message = nil", what)
		return
	}
	got := e.Message
	if got.Content != m.Content {
		t.Errorf("%s.Content = %q, want %q", what, got.Content, m.Content)
	}
	if got.Author != m.Author {
		t.Errorf("%s.Author = %q, want %q", what, got.Author, m.Author)
	}
	if got.IsWelcome != m.IsWelcome {
		t.Errorf("%s.IsWelcome = %v, want %v", what, got.IsWelcome, m.IsWelcome)
	}
	samePtr(t, what+".HandoffState", got.HandoffState, m.HandoffState)
	sameJSON(t, what+".ClientMetadata", got.ClientMetadata, m.ClientMetadata)
	want := func(r json.RawMessage) json.RawMessage {
		if len(r) == 0 {
			return raw("[]")
		}
		return r
	}
	sameJSON(t, what+".SourcesGenerated", got.SourcesGenerated, want(m.SourcesGenerated))
	sameJSON(t, what+".Attachments", got.Attachments, want(m.Attachments))
	sameJSON(t, what+".MessageInsights", got.MessageInsights, nil)
	sameJSON(t, what+".Feedback", got.Feedback, nil)
}

// checkLogEvent checks a log event against the log it was made from.
func checkLogEvent(t *testing.T, what string, e cv.Event, conversationID string, ord int64, want cv.Log) {
	t.Helper()
	checkUUID(t, what+".ID", e.ID)
	if e.ConversationID != conversationID {
		t.Errorf("%s.ConversationID = %q, want %q", what, e.ConversationID, conversationID)
	}
	if e.Ord != ord {
		t.Errorf("%s.Ord = %d, want %d", what, e.Ord, ord)
	}
	if e.Type != cv.EventLog {
		t.Errorf("%s.Type = %q, want %q", what, e.Type, cv.EventLog)
	}
	if e.CreatedAt.IsZero() {
		t.Errorf("%s.CreatedAt is zero", what)
	}
	if e.Message != nil || e.TrackedLink != nil {
		t.Errorf("%s: a log event has Message %v, TrackedLink %v; want both nil", what, e.Message, e.TrackedLink)
	}
	if e.Log == nil {
		t.Errorf("%s.Log = nil", what)
		return
	}
	if e.Log.Kind != want.Kind {
		t.Errorf("%s.Kind = %q, want %q", what, e.Log.Kind, want.Kind)
	}
	if e.Log.Content != want.Content {
		t.Errorf("%s.Content = %q, want %q", what, e.Log.Content, want.Content)
	}
	sameJSON(t, what+".Actor", e.Log.Actor, want.Actor)
	sameJSON(t, what+".Details", e.Log.Details, want.Details)
}

// parallel runs fn(i) for i in [0, n) at once and waits for all of them.
func parallel(n int, fn func(i int)) {
	start := make(chan struct{})
	done := make(chan struct{}, n)
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			<-start
			fn(i)
		}()
	}
	close(start)
	for range n {
		<-done
	}
}
