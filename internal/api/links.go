package api

import (
	"net/http"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/links"
)

// trackLinks rewrites the links of the assistant's and operators' messages to tracked links
// when the assistant has link tracking on (SPEC 5). It runs before the store sees the messages:
// the store keeps the links with their message (see package links).
func (s *Server) trackLinks(r *http.Request, p principal, msgs []cv.NewMessage) error {
	need := false
	for i := range msgs {
		need = need || links.Tracks(msgs[i].Author)
	}
	if !need {
		return nil
	}
	st, err := s.settingsFor(r, p)
	if err != nil || !st.LinkTracking {
		return err
	}
	base := s.publicURL(r)
	for i := range msgs {
		links.Track(true, base, &msgs[i])
	}
	return nil
}

// publicURL is the address the outside world reaches this server on: Config.PublicURL, or
// (when the server is embedded without one, as in tests) the scheme and host of the request.
func (s *Server) publicURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
