package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/apitest"
)

// metaOf reads a conversation's metadata through GET .../metadata, checking that the detail's
// client_metadata says the same.
func metaOf(t testing.TB, e *apitest.Env, id string) any {
	t.Helper()
	r := call(t, e, 200, "GET", metadata(id), e.A.Read, nil)
	m := obj(t, r)
	keysAre(t, "metadata body", m, "metadata")
	d := detail(t, e, e.A.Read, id)
	if cm := d["client_metadata"]; cm != nil || len(m["metadata"].(map[string]any)) > 0 {
		equalJSON(t, "client_metadata", cm, m["metadata"])
	}
	if want := fmt.Sprintf(`"%d"`, num(t, d, "version")); r.Header.Get("ETag") != want {
		t.Errorf("metadata ETag %q, detail version %s", r.Header.Get("ETag"), want)
	}
	return m["metadata"]
}

// metadataLogs returns the metadata log events of a conversation as "keys" details.
func metadataLogs(t testing.TB, e *apitest.Env, id string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, it := range timeline(t, e, e.A.Read, id).Items {
		data := it["data"].(map[string]any)
		if it["type"] == "log" && data["kind"] == "metadata" {
			checkShape(t, "metadata log", data, logShape)
			out = append(out, data)
		}
	}
	return out
}

func TestMetadataWrites(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		id := str(t, create(t, e, e.A.Write, map[string]any{"source": "widget"}), "id")
		equalJSON(t, "no metadata", obj(t, call(t, e, 200, "GET", metadata(id), e.A.Read, nil)), map[string]any{"metadata": map[string]any{}})
		if d := detail(t, e, e.A.Read, id); d["client_metadata"] != nil {
			t.Errorf("client_metadata of a new conversation: %v", d["client_metadata"])
		}
		actor := map[string]any{"type": "api_token", "id": tokenID(t, e, e.A.Write), "name": "write_all test"}

		steps := []struct {
			method string
			body   string
			want   string
			keys   []string // the changed keys logged; nil: no log
		}{
			{"POST", `{"a": 1, "b": {"x": 1}}`, `{"a": 1, "b": {"x": 1}}`, []string{"a", "b"}},
			{"POST", `{"c": "z"}`, `{"a": 1, "b": {"x": 1}, "c": "z"}`, []string{"c"}},
			{"POST", `{"b": {"y": 2}}`, `{"a": 1, "b": {"y": 2}, "c": "z"}`, []string{"b"}}, // POST sets whole top-level keys
			{"POST", `{"a": 1}`, `{"a": 1, "b": {"y": 2}, "c": "z"}`, nil},                  // unchanged: no log
			{"PUT", `{"only": true, "c": "z"}`, `{"only": true, "c": "z"}`, []string{"a", "b", "only"}},
			{"PATCH", `{"only": null, "n": {"deep": {"x": 1}, "list": [1, 2]}}`, `{"c": "z", "n": {"deep": {"x": 1}, "list": [1, 2]}}`, []string{"n", "only"}},
			{"PATCH", `{"n": {"deep": {"y": 2}, "z": 3, "list": [3]}}`, `{"c": "z", "n": {"deep": {"x": 1, "y": 2}, "z": 3, "list": [3]}}`, []string{"n"}},
			{"PATCH", `{"n": {"deep": null}, "missing": null}`, `{"c": "z", "n": {"z": 3, "list": [3]}}`, []string{"n"}},
			{"PATCH", `{}`, `{"c": "z", "n": {"z": 3, "list": [3]}}`, nil},
			{"PATCH", `{"c": {"now": "an object"}}`, `{"c": {"now": "an object"}, "n": {"z": 3, "list": [3]}}`, []string{"c"}},
			{"PUT", `{}`, `{}`, []string{"c", "n"}},
		}
		var wantLogs [][]string
		version := num(t, detail(t, e, e.A.Read, id), "version")
		for i, s := range steps {
			r := call(t, e, 200, s.method, metadata(id), e.A.Write, s.body)
			if s.keys != nil {
				version++ // a change makes a new version; no change, none
			}
			if want := fmt.Sprintf(`"%d"`, version); r.Header.Get("ETag") != want {
				t.Errorf("step %d: ETag %q, want %q", i, r.Header.Get("ETag"), want)
			}
			want := map[string]any{"metadata": mustJSON(t, s.want)}
			equalJSON(t, fmt.Sprintf("step %d: %s %s", i, s.method, s.body), obj(t, r), want)
			equalJSON(t, fmt.Sprintf("step %d: GET", i), metaOf(t, e, id), want["metadata"])
			if s.keys != nil {
				wantLogs = append(wantLogs, s.keys)
			}
			logs := metadataLogs(t, e, id)
			if len(logs) != len(wantLogs) {
				t.Fatalf("step %d: %d metadata logs, want %d", i, len(logs), len(wantLogs))
			}
			if s.keys != nil {
				l := logs[len(logs)-1]
				equalJSON(t, fmt.Sprintf("step %d: log", i), map[string]any{"kind": l["kind"], "actor": l["actor"], "content": l["content"], "details": l["details"]},
					map[string]any{"kind": "metadata", "actor": actor, "content": "Metadata updated: " + strings.Join(s.keys, ", "), "details": map[string]any{"keys": s.keys}})
			}
		}
	})
}

// nested returns {"k": {"k": ... 1}} with depth levels of objects under the top-level key.
func nested(depth int) any {
	var v any = 1
	for range depth {
		v = map[string]any{"k": v}
	}
	return v
}

func manyKeys(n int) map[string]any {
	m := map[string]any{}
	for i := range n {
		m[fmt.Sprintf("key%03d", i)] = i
	}
	return m
}

func TestMetadataLimits(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		id := str(t, create(t, e, e.A.Write, map[string]any{"source": "widget", "client_metadata": map[string]any{"keep": "me"}}), "id")
		before := detail(t, e, e.A.Read, id)

		// At the limits: accepted.
		call(t, e, 200, "PUT", metadata(id)+"/", e.A.Write, manyKeys(100))
		call(t, e, 200, "PUT", metadata(id), e.A.Write, map[string]any{"deep": nested(5)})
		call(t, e, 200, "PUT", metadata(id), e.A.Write, map[string]any{"big": strings.Repeat("x", 16<<10-20)})
		call(t, e, 200, "PUT", metadata(id), e.A.Write, map[string]any{"keep": "me"})
		before = detail(t, e, e.A.Read, id)
		eventsBefore := timeline(t, e, e.A.Read, id).Count

		cases := []struct {
			method string
			body   any
			key    string
		}{
			{"POST", manyKeys(101), "metadata"},
			{"PUT", manyKeys(101), "metadata"},
			{"PATCH", manyKeys(100), "metadata"}, // 100 new keys and "keep" make 101
			{"POST", map[string]any{"deep": nested(6)}, "deep"},
			{"PATCH", map[string]any{"keep": nested(6)}, "keep"},
			{"PUT", map[string]any{"arr": []any{[]any{[]any{[]any{[]any{[]any{1}}}}}}}, "arr"},
			{"POST", map[string]any{"big": strings.Repeat("x", 16<<10)}, "metadata"},
			{"PUT", map[string]any{"": 1}, "metadata"},
			{"POST", map[string]any{strings.Repeat("k", 129): 1}, strings.Repeat("k", 129)},
		}
		for _, c := range cases {
			wantError(t, e.Do(c.method, metadata(id), e.A.Write, c.body), 422, c.key, "VALIDATION_ERROR")
		}
		// Not an object: a bad body.
		for _, body := range []string{`[1]`, `null`, `"x"`, `{"a":`, ``} {
			wantError(t, e.Do("POST", metadata(id), e.A.Write, body), 400, "body", "BAD_REQUEST")
		}
		// Nothing changed.
		equalJSON(t, "detail after refused writes", detail(t, e, e.A.Read, id), before)
		if n := timeline(t, e, e.A.Read, id).Count; n != eventsBefore {
			t.Errorf("events after refused writes: %d, want %d", n, eventsBefore)
		}

		// The same limits hold for client_metadata in a create.
		for _, c := range []struct {
			meta any
			key  string
		}{
			{manyKeys(101), "client_metadata"},
			{map[string]any{"deep": nested(6)}, "client_metadata.deep"},
			{map[string]any{"": 1}, "client_metadata"},
			{map[string]any{"big": strings.Repeat("x", 16<<10)}, "client_metadata"},
			{"not an object", "client_metadata"},
		} {
			wantError(t, e.Do("POST", convs, e.A.Write, map[string]any{"source": "api", "client_metadata": c.meta}), 422, c.key, "VALIDATION_ERROR")
		}
		if p := list(t, e, e.A.Read, nil); p.Count != 1 {
			t.Errorf("refused creates stored %d conversations", p.Count-1)
		}
	})
}

func TestMetadataSchema(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		id := str(t, createJohn(t, e, e.A.Write), "id") // metadata {"userId": 12}
		schema := map[string]any{
			"type": "object",
			"properties": map[string]any{
				"userId":  map[string]any{"type": "integer"},
				"plan":    map[string]any{"type": "string", "enum": []any{"free", "pro"}},
				"address": map[string]any{"type": "object", "properties": map[string]any{"zip": map[string]any{"type": "string"}}},
			},
			"required": []any{"userId"},
		}
		call(t, e, 200, "PATCH", settingP, e.A.Write, map[string]any{"metadata_schema": schema})
		before := detail(t, e, e.A.Read, id)
		eventsBefore := timeline(t, e, e.A.Read, id).Count

		cases := []struct {
			method, body, key string
		}{
			{"POST", `{"userId": "12"}`, "userId"},                 // wrong type
			{"PATCH", `{"userId": 1.5}`, "userId"},                 // wrong type
			{"PUT", `{"plan": "pro"}`, "userId"},                   // a required property missing
			{"PATCH", `{"userId": null}`, "userId"},                // ... removed
			{"POST", `{"plan": "gold"}`, "plan"},                   // not in the enum
			{"POST", `{"address": {"zip": 12345}}`, "address.zip"}, // nested
		}
		for _, c := range cases {
			msg := wantError(t, e.Do(c.method, metadata(id), e.A.Write, c.body), 422, c.key, "VALIDATION_ERROR")
			if !strings.Contains(msg, "schema") {
				t.Errorf("%s %s: message %q does not mention the schema", c.method, c.body, msg)
			}
		}
		equalJSON(t, "detail after refused writes", detail(t, e, e.A.Read, id), before)
		if n := timeline(t, e, e.A.Read, id).Count; n != eventsBefore {
			t.Errorf("events after refused writes: %d, want %d", n, eventsBefore)
		}

		// Writes that keep to the schema pass.
		equalJSON(t, "valid write", obj(t, call(t, e, 200, "POST", metadata(id), e.A.Write, `{"plan": "pro", "extra": [1]}`)),
			mustJSON(t, `{"metadata": {"userId": 12, "plan": "pro", "extra": [1]}}`))

		// A create is held to the schema too.
		for _, c := range []struct {
			meta map[string]any
			key  string
		}{
			{map[string]any{"userId": "x"}, "client_metadata.userId"},
			{map[string]any{"plan": "pro"}, "client_metadata.userId"},
		} {
			wantError(t, e.Do("POST", convs, e.A.Write, map[string]any{"source": "api", "client_metadata": c.meta}), 422, c.key, "VALIDATION_ERROR")
		}
		create(t, e, e.A.Write, map[string]any{"source": "api", "client_metadata": map[string]any{"userId": 7}})

		// Another assistant has no schema.
		idB := str(t, create(t, e, e.B.Write, map[string]any{"source": "api", "client_metadata": map[string]any{"userId": "free text"}}), "id")
		call(t, e, 200, "PUT", metadata(idB), e.B.Write, `{"plan": "gold"}`)

		// Removing the schema lifts it.
		call(t, e, 200, "PATCH", settingP, e.A.Write, map[string]any{"metadata_schema": nil})
		call(t, e, 200, "PUT", metadata(id), e.A.Write, `{"plan": "gold"}`)
	})
}
