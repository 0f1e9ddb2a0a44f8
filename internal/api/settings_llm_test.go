package api_test

import (
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/apitest"
)

// settings.llm: validated, the key write-only, null removes it; bad values are 422 in the error
// envelope naming the key, and nothing changes.
func TestSettingsLLM(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		const key = "sk-api-test-77aa88bb"
		if got := obj(t, call(t, e, 200, "GET", settingP, e.A.Read, nil)); got["llm"] != nil {
			t.Fatalf("default llm %v", got["llm"])
		}
		r := call(t, e, 200, "PATCH", settingP, e.A.Write, map[string]any{"llm": map[string]any{
			"base_url": "http://127.0.0.1:11434/v1/", "model": "llama3.1:8b", "api_key": key}})
		want := mustJSON(t, `{"llm": {"base_url": "http://127.0.0.1:11434/v1", "model": "llama3.1:8b", "api_key_set": true, "timeout_ms": 10000, "enabled": true}}`)
		read := call(t, e, 200, "GET", settingP, e.A.Read, nil)
		for _, r := range []apitest.Response{r, read} {
			if strings.Contains(string(r.Body), key) {
				t.Fatalf("the key is shown: %s", r.Body)
			}
			equalJSON(t, "llm", obj(t, r)["llm"], want["llm"])
		}
		stored, err := e.Store.Settings(t.Context(), e.A.ID)
		if err != nil || !strings.Contains(string(stored), key) {
			t.Fatalf("the key is not stored: %v", err)
		}

		// Sending back what was read keeps the key.
		call(t, e, 200, "PATCH", settingP, e.A.Write, read.Body)
		if stored, _ := e.Store.Settings(t.Context(), e.A.ID); !strings.Contains(string(stored), key) {
			t.Fatal("the key was lost in a round trip")
		}
		before := obj(t, call(t, e, 200, "GET", settingP, e.A.Read, nil))

		for _, c := range []struct {
			patch any
			field string
		}{
			{map[string]any{"llm": "http://x"}, "llm"},
			{map[string]any{"llm": map[string]any{"base_url": "ftp://files.example/v1"}}, "llm.base_url"},
			{map[string]any{"llm": map[string]any{"base_url": "https://me:pw@api.example/v1"}}, "llm.base_url"},
			{map[string]any{"llm": map[string]any{"base_url": ""}}, "llm.base_url"},
			{map[string]any{"llm": map[string]any{"model": ""}}, "llm.model"},
			{map[string]any{"llm": map[string]any{"timeout_ms": 10}}, "llm.timeout_ms"},
			{map[string]any{"llm": map[string]any{"timeout_ms": 600000}}, "llm.timeout_ms"},
			{map[string]any{"llm": map[string]any{"timeout_ms": "10s"}}, "llm.timeout_ms"},
			{map[string]any{"llm": map[string]any{"api_key": "a\nb"}}, "llm.api_key"},
			{map[string]any{"llm": map[string]any{"temperature": 0.2}}, "llm.temperature"},
		} {
			wantError(t, e.Do("PATCH", settingP, e.A.Write, c.patch), 422, c.field, "VALIDATION_ERROR")
		}
		equalJSON(t, "after refused patches", obj(t, call(t, e, 200, "GET", settingP, e.A.Read, nil)), before)
		// A new provider needs a base URL and a model (A's patches merged into what it has).
		wantError(t, e.Do("PATCH", settingP, e.B.Write, map[string]any{"llm": map[string]any{"model": "m"}}), 422, "llm.base_url", "VALIDATION_ERROR")
		wantError(t, e.Do("PATCH", settingP, e.B.Write, map[string]any{"llm": map[string]any{"base_url": "https://api.example/v1"}}), 422, "llm.model", "VALIDATION_ERROR")
		if got := obj(t, call(t, e, 200, "GET", settingP, e.B.Read, nil)); got["llm"] != nil {
			t.Errorf("B's llm %v", got["llm"])
		}

		// "api_key": null removes the key; "llm": null the provider.
		got := obj(t, call(t, e, 200, "PATCH", settingP, e.A.Write, map[string]any{"llm": map[string]any{"api_key": nil, "enabled": false}}))
		equalJSON(t, "without the key", got["llm"], mustJSON(t, `{"base_url": "http://127.0.0.1:11434/v1", "model": "llama3.1:8b", "api_key_set": false, "timeout_ms": 10000, "enabled": false}`))
		if got := obj(t, call(t, e, 200, "PATCH", settingP, e.A.Write, map[string]any{"llm": nil})); got["llm"] != nil {
			t.Errorf("llm after null: %v", got["llm"])
		}
		if stored, _ := e.Store.Settings(t.Context(), e.A.ID); strings.Contains(string(stored), key) {
			t.Error("the key is still stored")
		}
	})
}
