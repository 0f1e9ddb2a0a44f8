package api_test

import (
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/apitest"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

// defaultSettings are the defaults of the settings a new assistant has (other keys, such as
// channels, may be present too).
const defaultSettings = `{
	"topics": [], "auto_resolve_after": null, "link_tracking": false, "metadata_schema": null,
	"handoff_keywords": [], "rating_active": true, "channels": {}
}`

func TestSettings(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		get := func() map[string]any { return obj(t, call(t, e, 200, "GET", settingP, e.A.Read, nil)) }
		want := get()
		defaults := maps.Clone(want)
		for k, v := range mustJSON(t, defaultSettings) {
			equalJSON(t, "default "+k, want[k], v)
		}
		equalJSON(t, "defaults with a slash", obj(t, call(t, e, 200, "GET", settingP+"/", e.A.Read, nil)), want)

		// PATCH is a merge patch: each answer and the next GET show the whole document.
		steps := []struct{ patch, set string }{
			{`{"link_tracking": true}`, `{"link_tracking": true}`},
			{`{"auto_resolve_after": "24h"}`, `{"auto_resolve_after": "24h"}`},
			{`{"handoff_keywords": ["human", "agent"], "rating_active": false}`, `{"handoff_keywords": ["human", "agent"], "rating_active": false}`},
			{`{"topics": [{"name": "Billing", "description": "invoices"}]}`, `{"topics": [{"name": "Billing", "description": "invoices", "examples": []}]}`},
			{`{"metadata_schema": {"type": "object"}}`, `{"metadata_schema": {"type": "object"}}`},
			{`{"auto_resolve_after": null, "metadata_schema": null}`, `{"auto_resolve_after": null, "metadata_schema": null}`},
			{`{}`, `{}`},
			// null removes a key: it is back to its default.
			{`{"link_tracking": null, "rating_active": null, "handoff_keywords": null}`, `{"link_tracking": false, "rating_active": true, "handoff_keywords": []}`},
			{`{"link_tracking": true}`, `{"link_tracking": true}`},
		}
		for _, s := range steps {
			for k, v := range mustJSON(t, s.set) {
				want[k] = v
			}
			equalJSON(t, "PATCH "+s.patch, obj(t, call(t, e, 200, "PATCH", settingP, e.A.Write, s.patch)), want)
			equalJSON(t, "GET after "+s.patch, get(), want)
		}

		// Refused: 422 naming the key, and nothing changes.
		for _, c := range []struct{ patch, key string }{
			{`{"colour": "blue"}`, "colour"},
			{`{"link_tracking": true, "colour": "blue"}`, "colour"},
			{`{"link_tracking": "yes"}`, "link_tracking"},
			{`{"auto_resolve_after": "soon"}`, "auto_resolve_after"},
			{`{"auto_resolve_after": 3600}`, "auto_resolve_after"},
			{`{"auto_resolve_after": "-1h"}`, "auto_resolve_after"},
			{`{"topics": "billing"}`, "topics"},
			{`{"topics": [{"name": ""}]}`, "topics[0].name"},
			{`{"topics": [{"name": "A"}, {"name": "a"}]}`, "topics[1].name"},
			{`{"handoff_keywords": [1]}`, "handoff_keywords"},
			{`{"metadata_schema": {"type": 5}}`, "metadata_schema"},
			{`{"rating_active": "no"}`, "rating_active"},
		} {
			wantError(t, e.Do("PATCH", settingP, e.A.Write, c.patch), 422, c.key, "VALIDATION_ERROR")
		}
		for _, body := range []string{`[]`, `"x"`, `{`, ``} {
			wantError(t, e.Do("PATCH", settingP, e.A.Write, body), 400, "body", "BAD_REQUEST")
		}
		equalJSON(t, "after refused patches", get(), want)

		// The other assistant still has the defaults.
		equalJSON(t, "B's settings", obj(t, call(t, e, 200, "GET", settingP, e.B.Read, nil)), defaults)
	})
}

// Channel secrets are write-only: reads show only that they are set, and a client may send back
// what it read without wiping them.
func TestSettingsSecretsWriteOnly(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := apitest.Start(t, open, nil)
		r := e.Must(http.StatusOK, "PATCH", "/v1/api_core/settings", e.A.Write, map[string]any{"channels": map[string]any{
			"telegram": map[string]any{"bot_token": "123:abc", "secret_token": "s3cret", "api_base_url": "http://127.0.0.1:9"},
		}})
		if strings.Contains(string(r.Body), "123:abc") || strings.Contains(string(r.Body), "s3cret") {
			t.Fatalf("secret shown: %s", r.Body)
		}
		got := e.Must(http.StatusOK, "GET", "/v1/api_core/settings", e.A.Read, nil)
		var doc map[string]any
		got.JSON(t, &doc)
		tg := doc["channels"].(map[string]any)["telegram"].(map[string]any)
		if tg["bot_token_set"] != true || tg["secret_token_set"] != true || tg["api_base_url"] != "http://127.0.0.1:9" || tg["bot_token"] != nil {
			t.Fatalf("telegram settings as read: %v", tg)
		}
		// Round trip: PATCH back what was read; the secrets stay.
		e.Must(http.StatusOK, "PATCH", "/v1/api_core/settings", e.A.Write, got.Body)
		stored, err := e.Store.Settings(t.Context(), e.A.ID)
		if err != nil || !strings.Contains(string(stored), "123:abc") {
			t.Fatalf("secret lost after a round trip: %s %v", stored, err)
		}
		r = e.Must(http.StatusUnprocessableEntity, "PATCH", "/v1/api_core/settings", e.A.Write, map[string]any{"channels": map[string]any{"telegram": map[string]any{"bot_tokn": "x"}}})
		if !strings.Contains(string(r.Body), "channels.telegram.bot_tokn") {
			t.Fatalf("unknown channel key not named: %s", r.Body)
		}
	})
}
