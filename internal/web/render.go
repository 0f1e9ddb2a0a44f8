package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
)

// RenderInbox renders the inbox page of assistant aid for operator operatorID with the inbox's
// query parameters q, as a signed-in request would get it, into w: the server-side work of a
// page view (the store's queries and the template), without the session check. Benchmarks
// call it (BenchmarkInboxRender; cmd/parley-bench against a loaded database).
func (h *Handler) RenderInbox(ctx context.Context, w io.Writer, aid, operatorID string, q url.Values) error {
	a, err := h.store.Assistant(ctx, aid)
	if err != nil {
		return err
	}
	op, err := h.store.Operator(ctx, aid, operatorID)
	if err != nil {
		return err
	}
	u := &who{operator: op, assistant: a, role: op.Role, csrf: "benchmark"}
	rec := httptest.NewRecorder()
	r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/a/"+aid+"/inbox?"+q.Encode(), nil)
	h.inbox(rec, r, u)
	if rec.Code != http.StatusOK {
		return &renderError{status: rec.Code}
	}
	_, err = w.Write(rec.Body.Bytes())
	return err
}

type renderError struct{ status int }

func (e *renderError) Error() string {
	return "inbox rendered with status " + http.StatusText(e.status)
}
