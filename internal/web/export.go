package web

import (
	"net/http"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// export downloads the current list as CSV or NDJSON through the API's own export, on behalf of
// the signed-in operator: the API serves it for a read-only token that exists only for this
// request (it is never stored, and no token reaches the page). The filters are the list API's
// parameters, as the inbox links them.
func (h *Handler) export(w http.ResponseWriter, r *http.Request, u *who) {
	q := r.URL.Query()
	q.Del("limit")
	q.Del("cursor")
	q.Del("offset")
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/v1/api_core/conversations/export"
	r2.URL.RawPath = ""
	r2.URL.RawQuery = q.Encode()
	r2.RequestURI = r2.URL.RequestURI()
	r2.Header.Del("Authorization")
	name := u.operator.Name + " (dashboard)"
	h.api.ServeAs(w, r2, cv.Token{ID: "dashboard-session-" + u.session.ID, AssistantID: u.assistant.ID, Name: name, Scope: cv.ScopeRead})
}
