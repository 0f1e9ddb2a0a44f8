package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/apitest"
	"github.com/parleyhq/parley/internal/auth"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

// Paths of the API.
const (
	convs    = "/v1/api_core/conversations"
	importP  = "/v1/api_core/import"
	settingP = "/v1/api_core/settings"
)

func conv(id string) string     { return convs + "/" + id + "/" }
func events(id string) string   { return convs + "/" + id + "/events/" }
func messages(id string) string { return convs + "/" + id + "/messages" }
func metadata(id string) string { return convs + "/" + id + "/metadata" }

// each runs fn in parallel on every engine, each run with a fresh server.
func each(t *testing.T, fn func(t *testing.T, e *apitest.Env)) {
	t.Helper()
	t.Parallel()
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		t.Parallel()
		fn(t, apitest.Start(t, open, nil))
	})
}

// call sends a request and fails t unless the answer has status want. No request of these
// tests may ever get a 500.
func call(t testing.TB, e *apitest.Env, want int, method, path, token string, body any, header ...string) apitest.Response {
	t.Helper()
	r := e.Do(method, path, token, body, header...)
	if r.Status >= 500 {
		t.Fatalf("%s %s: server error %d: %s", method, path, r.Status, r.Body)
	}
	if r.Status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r
}

// obj decodes a response body as a JSON object.
func obj(t testing.TB, r apitest.Response) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object (%v): %s", err, r.Body)
	}
	return m
}

// wantError checks that r is the error envelope with exactly one key, key, holding one error
// of code code with a message; it returns the message.
func wantError(t testing.TB, r apitest.Response, status int, key, code string) string {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var env map[string]map[string][]map[string]any
	if err := json.Unmarshal(r.Body, &env); err != nil {
		t.Fatalf("not the error envelope (%v): %s", err, r.Body)
	}
	if len(env) != 1 || env["errors"] == nil {
		t.Fatalf("envelope keys: %s", r.Body)
	}
	errs := env["errors"]
	if len(errs) != 1 || len(errs[key]) != 1 {
		t.Fatalf("errors: want one under %q, got %s", key, r.Body)
	}
	item := errs[key][0]
	keysAre(t, "error item", item, "message", "code")
	if item["code"] != code {
		t.Errorf("code %v, want %s: %s", item["code"], code, r.Body)
	}
	msg, _ := item["message"].(string)
	if msg == "" {
		t.Errorf("empty message: %s", r.Body)
	}
	return msg
}

// keysAre checks that m has exactly the given keys.
func keysAre(t testing.TB, what string, m map[string]any, keys ...string) {
	t.Helper()
	got := slices.Sorted(maps.Keys(m))
	want := slices.Sorted(slices.Values(keys))
	if !slices.Equal(got, want) {
		t.Errorf("%s keys:\n got  %v\n want %v", what, got, want)
	}
}

// Field types of a shape: JSON kinds, "time" for an RFC 3339 UTC string ending in Z, and
// alternatives joined by "|".
type shape map[string]string

// referenceItem is a list item: the reference's keys and JSON types.
var referenceItem = shape{
	"id": "string", "ord": "number", "created_at": "time", "last_message_at": "time", "title": "string",
	"source": "string", "terminated": "bool", "resolution_status": "string", "has_unread_messages": "bool",
	"supports_inbox_control": "bool", "last_message_content": "string", "most_frequent_language": "string",
	"assignee": "object", "visitor_name": "string|null", "visitor_email": "string|null",
	"visitor_phone_number": "string|null", "visitor_label": "string|null",
}

// referenceDetail is the detail object: the list item plus the detail fields and the
// extension version. last_visitor_message_at is a string in the reference; a conversation
// without any visitor message has no such time, and Parley says null then.
var referenceDetail = func() shape {
	s := shape{"url": "string|null", "client_metadata": "object|null", "last_visitor_message_at": "time|null",
		"unified_analysis": "object|null", "version": "number", "rating": "object|null"}
	for k, v := range referenceItem {
		s[k] = v
	}
	return s
}()

// referenceMessage is the data of a message event.
var referenceMessage = shape{
	"id": "string", "ord": "number", "created_at": "time", "content": "string", "author": "string",
	"handoff_state": "string|null", "message_insights": "object|null", "feedback": "object|null",
	"client_metadata": "object|null", "sources_generated": "array", "is_welcome": "bool", "attachments": "array",
}

// logShape is the data of a log event.
var logShape = shape{"id": "string", "ord": "number", "created_at": "time", "kind": "string", "actor": "object", "content": "string", "details": "object"}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64, json.Number:
		return "number"
	case bool:
		return "bool"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

// checkShape checks that m has exactly the keys of s, each of its type.
func checkShape(t testing.TB, what string, m map[string]any, s shape) {
	t.Helper()
	keysAre(t, what, m, slices.Collect(maps.Keys(s))...)
	for k, types := range s {
		v, ok := m[k]
		if !ok {
			continue
		}
		if !typeOK(v, types) {
			t.Errorf("%s.%s = %#v: want %s", what, k, v, types)
		}
	}
}

func typeOK(v any, types string) bool {
	for _, want := range strings.Split(types, "|") {
		if want == "time" {
			s, ok := v.(string)
			if !ok {
				continue
			}
			if _, err := time.Parse(time.RFC3339Nano, s); err == nil && strings.HasSuffix(s, "Z") {
				return true
			}
			continue
		}
		if kindOf(v) == want {
			return true
		}
	}
	return false
}

// page is a list response.
type page struct {
	Items      []map[string]any `json:"items"`
	Offset     int              `json:"offset"`
	Limit      int              `json:"limit"`
	Count      int              `json:"count"`
	NextCursor *string          `json:"next_cursor"`
}

func (p page) ids() []string {
	out := make([]string, len(p.Items))
	for i, it := range p.Items {
		out[i], _ = it["id"].(string)
	}
	return out
}

// list fetches the conversation list with the given query.
func list(t testing.TB, e *apitest.Env, token string, q url.Values) page {
	t.Helper()
	path := convs
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var p page
	call(t, e, 200, "GET", path, token, nil).JSON(t, &p)
	if p.Items == nil {
		t.Fatalf("GET %s: items is not an array", path)
	}
	return p
}

// q builds query values from name, value pairs.
func q(pairs ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		v.Add(pairs[i], pairs[i+1])
	}
	return v
}

// sameSet checks that got holds exactly the ids of want, in any order.
func sameSet(t testing.TB, what string, got, want []string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	sort.Strings(g)
	sort.Strings(w)
	if !slices.Equal(g, w) {
		t.Errorf("%s:\n got  %v\n want %v", what, got, want)
	}
}

// create posts a new conversation and returns its detail, expecting 201.
func create(t testing.TB, e *apitest.Env, token string, body map[string]any) map[string]any {
	t.Helper()
	return obj(t, call(t, e, 201, "POST", convs, token, body))
}

// detail fetches a conversation's detail.
func detail(t testing.TB, e *apitest.Env, token, id string) map[string]any {
	t.Helper()
	return obj(t, call(t, e, 200, "GET", conv(id), token, nil))
}

// timeline fetches all of a conversation's events (at most 100).
func timeline(t testing.TB, e *apitest.Env, token, id string) page {
	t.Helper()
	var p page
	call(t, e, 200, "GET", events(id)+"?limit=100", token, nil).JSON(t, &p)
	return p
}

// msg is a message of a create body.
func msg(author, content, at string) map[string]any {
	m := map[string]any{"author": author, "content": content}
	if at != "" {
		m["created_at"] = at
	}
	return m
}

// str reads a string field, failing when it is not one.
func str(t testing.TB, m map[string]any, key string) string {
	t.Helper()
	s, ok := m[key].(string)
	if !ok {
		t.Fatalf("%s = %#v, want a string", key, m[key])
	}
	return s
}

// num reads a number field as an int.
func num(t testing.TB, m map[string]any, key string) int {
	t.Helper()
	f, ok := m[key].(float64)
	if !ok {
		t.Fatalf("%s = %#v, want a number", key, m[key])
	}
	return int(f)
}

// equalJSON compares two values as JSON documents.
func equalJSON(t testing.TB, what string, got, want any) {
	t.Helper()
	norm := func(v any) any {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var out any
		_ = json.Unmarshal(b, &out)
		return out
	}
	g, w := norm(got), norm(want)
	if !reflect.DeepEqual(g, w) {
		gb, _ := json.Marshal(g)
		wb, _ := json.Marshal(w)
		t.Errorf("%s:\n got  %s\n want %s", what, gb, wb)
	}
}

// mustJSON decodes a JSON literal of a test.
func mustJSON(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("bad test JSON: %v", err)
	}
	return m
}

// tokenID finds the id of a token from its secret.
func tokenID(t testing.TB, e *apitest.Env, secret string) string {
	t.Helper()
	tok, err := e.Store.TokenByHash(context.Background(), auth.Hash(secret))
	if err != nil {
		t.Fatal(err)
	}
	return tok.ID
}
