// Package storetest is the conformance suite that every store.Store engine must pass, so that
// SQLite and PostgreSQL behave the same, field by field. An engine's test calls Run with a
// function that opens a fresh, empty, migrated store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openTestStore(t) })
//	}
//
// Every subtest opens its own store and runs in parallel with the others, so open must return
// an isolated store each time (its own database file or schema) and register its own cleanup.
// The store must run on the real clock: where the suite lets the store pick "now", it checks
// the time against the wall clock; everywhere else it gives explicit times.
//
// Behaviour the suite pins down beyond the interface's comments is written next to the test
// that pins it.
package storetest

import (
	"slices"
	"testing"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
)

// Open returns a fresh, empty, migrated store for one test.
type Open func(t *testing.T) store.Store

type test struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

// Run runs the whole suite against the engine that open returns.
func Run(t *testing.T, open Open) {
	t.Helper()
	group(t, open, "Store", storeTests)
	group(t, open, "Assistants", assistantTests)
	group(t, open, "Tokens", tokenTests)
	group(t, open, "Settings", settingsTests)
	group(t, open, "CreateConversations", createTests)
	group(t, open, "ExternalID", externalIDTests)
	group(t, open, "Conversation", getTests)
	group(t, open, "Events", eventTests)
	group(t, open, "AppendMessage", appendTests)
	group(t, open, "UpdateConversation", updateTests)
	group(t, open, "Concurrency", concurrencyTests)
	group(t, open, "DeleteConversation", deleteTests)
	group(t, open, "List", listTests)
	group(t, open, "Keyset", keysetTests)
	group(t, open, "RollupCount", rollupCountTests)
	group(t, open, "Search", searchTests)
	group(t, open, "EachConversation", eachTests)
	group(t, open, "MetadataKeys", metadataKeyTests)
	group(t, open, "Analytics", analyticsTests)
	group(t, open, "Analyses", analysisTests)
	group(t, open, "Isolation", isolationTests)
	group(t, open, "WidgetSessions", widgetTests)
	group(t, open, "Links", linkTests)
	group(t, open, "Channels", channelTests)
	group(t, open, "Webhooks", webhookTests)
	group(t, open, "ChangeLog", changeLogTests)
	group(t, open, "Sessions", sessionTests)
	group(t, open, "Idempotency", idempotencyTests)
}

func group(t *testing.T, open Open, name string, tests []test) {
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s := open(t)
				if s == nil {
					t.Fatal("open returned a nil store")
				}
				tc.fn(t, s)
			})
		}
	})
}

// ---- the store itself ----

var storeTests = []test{
	{"EngineAndPing", func(t *testing.T, s store.Store) {
		if e := s.Engine(); e != "sqlite" && e != "postgres" {
			t.Errorf("Engine = %q, want sqlite or postgres", e)
		}
		ok(t, "Ping", s.Ping(t.Context()))
	}},
}

// ---- assistants ----

var assistantTests = []test{
	{"CreateAndGet", func(t *testing.T, s store.Store) {
		w := startWindow()
		a, err := s.CreateAssistant(t.Context(), "Support bot")
		w.close()
		ok(t, "CreateAssistant", err)
		checkUUID(t, "ID", a.ID)
		if a.Name != "Support bot" {
			t.Errorf("Name = %q, want %q", a.Name, "Support bot")
		}
		w.check(t, "CreatedAt", a.CreatedAt)

		got, err := s.Assistant(t.Context(), a.ID)
		ok(t, "Assistant", err)
		if got.ID != a.ID || got.Name != a.Name {
			t.Errorf("Assistant = %+v, want %+v", got, a)
		}
		sameTime(t, "Assistant.CreatedAt", got.CreatedAt, a.CreatedAt)
	}},
	{"UnknownIsNotFound", func(t *testing.T, s store.Store) {
		newAssistant(t, s)
		_, err := s.Assistant(t.Context(), newUUID())
		wantErr(t, "Assistant(random uuid)", err, cv.ErrNotFound)
	}},
	{"MalformedIDIsNotFound", func(t *testing.T, s store.Store) {
		newAssistant(t, s)
		for _, id := range malformedIDs {
			_, err := s.Assistant(t.Context(), id)
			wantErr(t, "Assistant("+id+")", err, cv.ErrNotFound)
		}
	}},
	{"ListOldestFirst", func(t *testing.T, s store.Store) {
		list, err := s.Assistants(t.Context())
		ok(t, "Assistants", err)
		if len(list) != 0 {
			t.Fatalf("a fresh store has %d assistants, want 0", len(list))
		}
		var want []string
		for _, name := range []string{"first", "second", "third"} {
			a, err := s.CreateAssistant(t.Context(), name)
			ok(t, "CreateAssistant", err)
			want = append(want, a.ID)
			time.Sleep(2 * time.Millisecond) // distinct created_at, so "oldest" is well defined
		}
		list, err = s.Assistants(t.Context())
		ok(t, "Assistants", err)
		var got []string
		for _, a := range list {
			got = append(got, a.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("Assistants = %v, want %v (oldest first)", got, want)
		}
		if len(list) == 3 && (list[0].Name != "first" || list[2].Name != "third") {
			t.Errorf("Assistants names = %q, %q, %q", list[0].Name, list[1].Name, list[2].Name)
		}
	}},
}

// ---- tokens ----

// newToken is a token as the CLI makes it, with times that have a sub-microsecond part (under
// half a microsecond, so that rounding and truncating stores agree) to check precision.
func newToken(assistantID, name string, scope cv.Scope) cv.Token {
	created := at(-24*time.Hour + 123456*time.Microsecond + 400*time.Nanosecond)
	return cv.Token{
		ID:          newUUID(),
		AssistantID: assistantID,
		Name:        name,
		Scope:       scope,
		Hash:        randomHash(),
		CreatedAt:   created,
		ExpiresAt:   created.Add(52 * 7 * 24 * time.Hour),
	}
}

func sameToken(t *testing.T, what string, got, want cv.Token) {
	t.Helper()
	if got.ID != want.ID || got.AssistantID != want.AssistantID || got.Name != want.Name || got.Scope != want.Scope {
		t.Errorf("%s = {%s %s %q %s}, want {%s %s %q %s}", what, got.ID, got.AssistantID, got.Name, got.Scope,
			want.ID, want.AssistantID, want.Name, want.Scope)
	}
	if string(got.Hash) != string(want.Hash) {
		t.Errorf("%s.Hash = %x, want %x", what, got.Hash, want.Hash)
	}
	sameTime(t, what+".CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, what+".ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	sameTimePtr(t, what+".RevokedAt", got.RevokedAt, want.RevokedAt)
	sameTimePtr(t, what+".LastUsedAt", got.LastUsedAt, want.LastUsedAt)
}

var tokenTests = []test{
	{"CreateAndFindByHash", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		tok := newToken(a.ID, "ci", cv.ScopeWrite)
		ok(t, "CreateToken", s.CreateToken(t.Context(), tok))
		got, err := s.TokenByHash(t.Context(), tok.Hash)
		ok(t, "TokenByHash", err)
		sameToken(t, "TokenByHash", got, tok)

		ro := newToken(a.ID, "dashboard", cv.ScopeRead)
		ok(t, "CreateToken", s.CreateToken(t.Context(), ro))
		got, err = s.TokenByHash(t.Context(), ro.Hash)
		ok(t, "TokenByHash", err)
		sameToken(t, "TokenByHash(read token)", got, ro)
	}},
	{"UnknownHashIsNotFound", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		ok(t, "CreateToken", s.CreateToken(t.Context(), newToken(a.ID, "ci", cv.ScopeWrite)))
		_, err := s.TokenByHash(t.Context(), randomHash())
		wantErr(t, "TokenByHash(unknown)", err, cv.ErrNotFound)
		_, err = s.TokenByHash(t.Context(), []byte{})
		wantErr(t, "TokenByHash(empty)", err, cv.ErrNotFound)
	}},
	{"DuplicateHashIsRefused", func(t *testing.T, s store.Store) {
		// Two tokens with one hash would make authentication ambiguous.
		a := newAssistant(t, s)
		tok := newToken(a.ID, "ci", cv.ScopeWrite)
		ok(t, "CreateToken", s.CreateToken(t.Context(), tok))
		dup := newToken(a.ID, "copy", cv.ScopeRead)
		dup.Hash = tok.Hash
		if err := s.CreateToken(t.Context(), dup); err == nil {
			t.Errorf("CreateToken with an existing hash: error = nil, want an error")
		}
		got, err := s.TokenByHash(t.Context(), tok.Hash)
		ok(t, "TokenByHash", err)
		sameToken(t, "TokenByHash after refused duplicate", got, tok)
	}},
	{"ListPerAssistant", func(t *testing.T, s store.Store) {
		a, b := newAssistant(t, s), newAssistant(t, s)
		t1, t2 := newToken(a.ID, "one", cv.ScopeWrite), newToken(a.ID, "two", cv.ScopeRead)
		t3 := newToken(b.ID, "three", cv.ScopeWrite)
		for _, tok := range []cv.Token{t1, t2, t3} {
			ok(t, "CreateToken", s.CreateToken(t.Context(), tok))
		}
		listA, err := s.Tokens(t.Context(), a.ID)
		ok(t, "Tokens(A)", err)
		byID := map[string]cv.Token{}
		for _, tok := range listA {
			byID[tok.ID] = tok
		}
		if len(listA) != 2 || len(byID) != 2 {
			t.Fatalf("Tokens(A) has %d tokens, want 2", len(listA))
		}
		sameToken(t, "Tokens(A)[one]", byID[t1.ID], t1)
		sameToken(t, "Tokens(A)[two]", byID[t2.ID], t2)
		listB, err := s.Tokens(t.Context(), b.ID)
		ok(t, "Tokens(B)", err)
		if len(listB) != 1 {
			t.Fatalf("Tokens(B) has %d tokens, want 1", len(listB))
		}
		sameToken(t, "Tokens(B)[0]", listB[0], t3)

		c := newAssistant(t, s)
		listC, err := s.Tokens(t.Context(), c.ID)
		ok(t, "Tokens(no tokens)", err)
		if len(listC) != 0 {
			t.Errorf("Tokens of an assistant without tokens has %d", len(listC))
		}
	}},
	{"Revoke", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		tok, other := newToken(a.ID, "ci", cv.ScopeWrite), newToken(a.ID, "other", cv.ScopeWrite)
		ok(t, "CreateToken", s.CreateToken(t.Context(), tok))
		ok(t, "CreateToken", s.CreateToken(t.Context(), other))
		when := at(time.Hour + 7*time.Microsecond)
		ok(t, "RevokeToken", s.RevokeToken(t.Context(), tok.ID, when))
		got, err := s.TokenByHash(t.Context(), tok.Hash)
		ok(t, "TokenByHash(revoked)", err) // a revoked token is still found: the caller decides
		tok.RevokedAt = &when
		sameToken(t, "revoked token", got, tok)
		if got.Usable(at(2 * time.Hour)) {
			t.Errorf("revoked token is Usable")
		}
		list, err := s.Tokens(t.Context(), a.ID)
		ok(t, "Tokens", err)
		for _, l := range list {
			if l.ID == tok.ID {
				sameTimePtr(t, "Tokens: RevokedAt", l.RevokedAt, &when)
			}
		}
		got, err = s.TokenByHash(t.Context(), other.Hash)
		ok(t, "TokenByHash(other)", err)
		sameToken(t, "the other token", got, other)
	}},
	{"RevokeUnknownIsNotFound", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		ok(t, "CreateToken", s.CreateToken(t.Context(), newToken(a.ID, "ci", cv.ScopeWrite)))
		wantErr(t, "RevokeToken(random uuid)", s.RevokeToken(t.Context(), newUUID(), at(0)), cv.ErrNotFound)
		// Decided: every lookup by an id that cannot exist is ErrNotFound, tokens included.
		for _, id := range malformedIDs {
			wantErr(t, "RevokeToken("+id+")", s.RevokeToken(t.Context(), id, at(0)), cv.ErrNotFound)
		}
	}},
	{"Touch", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		tok := newToken(a.ID, "ci", cv.ScopeWrite)
		ok(t, "CreateToken", s.CreateToken(t.Context(), tok))
		first, second := at(time.Hour), at(2*time.Hour+5*time.Microsecond)
		ok(t, "TouchToken", s.TouchToken(t.Context(), tok.ID, first))
		got, err := s.TokenByHash(t.Context(), tok.Hash)
		ok(t, "TokenByHash", err)
		sameTimePtr(t, "LastUsedAt", got.LastUsedAt, &first)
		if got.RevokedAt != nil {
			t.Errorf("TouchToken set RevokedAt")
		}
		ok(t, "TouchToken", s.TouchToken(t.Context(), tok.ID, second))
		got, err = s.TokenByHash(t.Context(), tok.Hash)
		ok(t, "TokenByHash", err)
		sameTimePtr(t, "LastUsedAt after a second touch", got.LastUsedAt, &second)
	}},
}

// ---- settings ----

var settingsTests = []test{
	{"NewAssistantHasEmptyObject", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		doc, err := s.Settings(t.Context(), a.ID)
		ok(t, "Settings", err)
		sameJSON(t, "Settings", doc, map[string]any{})
	}},
	{"SaveAndRead", func(t *testing.T, s store.Store) {
		a, b := newAssistant(t, s), newAssistant(t, s)
		doc := raw(`{"topics": [{"name": "Billing", "description": "money", "examples": ["refund", "invoice"]}],
			"auto_resolve_after": "24h", "link_tracking": true, "metadata_schema": null,
			"llm": {"base_url": "http://localhost:1234/v1", "timeout_seconds": 30}}`)
		ok(t, "SaveSettings", s.SaveSettings(t.Context(), a.ID, doc))
		got, err := s.Settings(t.Context(), a.ID)
		ok(t, "Settings", err)
		sameJSON(t, "Settings", got, doc)

		// SaveSettings replaces the document: merging is the caller's business.
		doc2 := raw(`{"link_tracking": false}`)
		ok(t, "SaveSettings", s.SaveSettings(t.Context(), a.ID, doc2))
		got, err = s.Settings(t.Context(), a.ID)
		ok(t, "Settings", err)
		sameJSON(t, "Settings after a second save", got, doc2)

		other, err := s.Settings(t.Context(), b.ID)
		ok(t, "Settings(B)", err)
		sameJSON(t, "Settings of another assistant", other, map[string]any{})
	}},
	{"UnknownAssistantIsNotFound", func(t *testing.T, s store.Store) {
		newAssistant(t, s)
		for _, id := range append([]string{newUUID()}, malformedIDs...) {
			_, err := s.Settings(t.Context(), id)
			wantErr(t, "Settings("+id+")", err, cv.ErrNotFound)
			wantErr(t, "SaveSettings("+id+")", s.SaveSettings(t.Context(), id, raw(`{}`)), cv.ErrNotFound)
		}
	}},
}

// ---- isolation ----

var isolationTests = []test{
	{"EveryReadIsPerAssistant", func(t *testing.T, s store.Store) {
		a, b := newAssistant(t, s), newAssistant(t, s)
		ca := mustCreate(t, s, a.ID, cv.NewConversation{
			Source: cv.SourceWidget, VisitorName: ptr("Alice"), ExternalID: ptr("shared-ext"),
			ClientMetadata: meta(t, `{"plan": "gold"}`),
			Messages:       []cv.NewMessage{msg(cv.AuthorVisitor, "secret of assistant A", 0)},
		})
		patch(t, s, a.ID, ca.ID, 0, cv.Patch{ResolutionStatus: ptr(cv.StatusResolved)})
		ca = mustGet(t, s, a.ID, ca.ID)
		eventsA := allEvents(t, s, a.ID, ca.ID)
		ok(t, "CreateToken", s.CreateToken(t.Context(), newToken(a.ID, "a", cv.ScopeWrite)))
		ok(t, "SaveSettings", s.SaveSettings(t.Context(), a.ID, raw(`{"link_tracking": true}`)))

		ctx := t.Context()
		_, err := s.Conversation(ctx, b.ID, ca.ID)
		wantErr(t, "B: Conversation(A's)", err, cv.ErrNotFound)
		_, err = s.Events(ctx, b.ID, ca.ID, cv.EventFilter{Limit: 10})
		wantErr(t, "B: Events(A's)", err, cv.ErrNotFound)

		for name, f := range map[string]cv.Filter{
			"all":          {Limit: 100},
			"by uuid":      {Limit: 100, Query: query(ca.ID)},
			"by event id":  {Limit: 100, Query: query(eventsA[0].ID)},
			"by ord":       {Limit: 100, Query: query("#1")},
			"by text":      {Limit: 100, Query: query("secret")},
			"by name":      {Limit: 100, Query: query("Alice")},
			"by metadata":  {Limit: 100, Metadata: map[string]string{"plan": "gold"}},
			"by status":    {Limit: 100, Statuses: []string{cv.StatusResolved}},
			"by source":    {Limit: 100, Sources: []string{cv.SourceWidget}},
			"by unread":    {Limit: 100, HasUnread: ptr(true)},
			"by created":   {Limit: 100, CreatedFrom: tp(-time.Hour)},
			"by assignee":  {Limit: 100, AssigneeTypes: []string{cv.AssigneeAI}},
			"by flag":      {Limit: 100, IsFlagged: ptr(false)},
			"sorted ord":   {Limit: 100, Sort: cv.SortOrd},
			"sorted first": {Limit: 1, Desc: true},
		} {
			p, err := s.Conversations(ctx, b.ID, f)
			ok(t, "B: Conversations "+name, err)
			if p.Count != 0 || len(p.Items) != 0 {
				t.Errorf("B: Conversations %s = %d items, count %d; want none of A's", name, len(p.Items), p.Count)
			}
		}

		toks, err := s.Tokens(ctx, b.ID)
		ok(t, "B: Tokens", err)
		if len(toks) != 0 {
			t.Errorf("B: Tokens lists %d tokens of A", len(toks))
		}
		doc, err := s.Settings(ctx, b.ID)
		ok(t, "B: Settings", err)
		sameJSON(t, "B: Settings", doc, map[string]any{})

		// Writes through B's id reach nothing of A's.
		m := msg(cv.AuthorVisitor, "intrusion")
		ok(t, "validate", m.Validate(""))
		_, _, err = s.AppendMessage(ctx, b.ID, ca.ID, m)
		wantErr(t, "B: AppendMessage(A's)", err, cv.ErrNotFound)
		called := false
		_, err = s.UpdateConversation(ctx, b.ID, ca.ID, 0, func(c *cv.Conversation) ([]cv.Log, error) {
			called = true
			c.Terminated = true
			return nil, nil
		})
		wantErr(t, "B: UpdateConversation(A's)", err, cv.ErrNotFound)
		if called {
			t.Errorf("B: UpdateConversation called fn with A's conversation")
		}
		wantErr(t, "B: DeleteConversation(A's)", s.DeleteConversation(ctx, b.ID, ca.ID), cv.ErrNotFound)

		// B's own conversation with the same external_id is B's, not A's.
		cb := upsert(t, s, b.ID, cv.NewConversation{Source: cv.SourceWidget, ExternalID: ptr("shared-ext")})
		if !cb.Created || cb.Conversation.ID == ca.ID {
			t.Errorf("B: external_id of A: Created = %v, id = %s (A's is %s); want a new conversation", cb.Created, cb.Conversation.ID, ca.ID)
		}
		if cb.Conversation.Ord != 1 {
			t.Errorf("B's first conversation has ord %d, want 1", cb.Conversation.Ord)
		}

		sameConversation(t, "A's conversation after B's attempts", mustGet(t, s, a.ID, ca.ID), ca)
		if got := allEvents(t, s, a.ID, ca.ID); len(got) != len(eventsA) {
			t.Errorf("A's timeline has %d events after B's attempts, want %d", len(got), len(eventsA))
		}
		listA := listIDs(t, s, a.ID, cv.Filter{})
		sameIDs(t, "A: Conversations", listA, []string{ca.ID}, nil)

	}},
}
