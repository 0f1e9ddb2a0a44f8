package api_test

import (
	"testing"

	"github.com/parleyhq/parley/internal/apitest"
)

// defaultSettings are the settings of a new assistant: every key, with its default.
const defaultSettings = `{
	"topics": [], "auto_resolve_after": null, "link_tracking": false, "metadata_schema": null,
	"handoff_keywords": [], "rating_active": true
}`

func TestSettings(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		get := func() map[string]any { return obj(t, call(t, e, 200, "GET", settingP, e.A.Read, nil)) }
		want := mustJSON(t, defaultSettings)
		got := get()
		equalJSON(t, "defaults", got, want)
		equalJSON(t, "defaults with a slash", obj(t, call(t, e, 200, "GET", settingP+"/", e.A.Read, nil)), want)

		// PATCH is a merge patch: each answer and the next GET show the whole document.
		steps := []struct{ patch, set string }{
			{`{"link_tracking": true}`, `{"link_tracking": true}`},
			{`{"auto_resolve_after": "24h"}`, `{"auto_resolve_after": "24h0m0s"}`},
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
		equalJSON(t, "B's settings", obj(t, call(t, e, 200, "GET", settingP, e.B.Read, nil)), mustJSON(t, defaultSettings))
	})
}
