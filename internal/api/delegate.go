package api

import (
	"context"
	"net/http"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// delegateKey carries the token a front end of this process vouches for (see ServeAs). It is
// unexported: nothing outside this package can put one in a request's context.
type delegateKey struct{}

// ServeAs serves r as the API does for a caller holding token t, without a bearer token: for
// front ends of this process that sign people in some other way (the dashboard serves its
// operators' CSV and NDJSON exports through it, so that no API token ever reaches a page).
// t is not stored; its ID keys the rate limits, its scope is checked as usual, and the
// caller's changes are attributed to it.
func (s *Server) ServeAs(w http.ResponseWriter, r *http.Request, t cv.Token) {
	s.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), delegateKey{}, t)))
}
