package widget

import (
	"bytes"
	"encoding/json"
	"net/mail"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// startRequest is the body of POST /widget/{assistant_id}/sessions: the optional pre-chat
// fields and the page the visitor is on.
type startRequest struct {
	Name  *string `json:"name"`
	Email *string `json:"email"`
	URL   *string `json:"url"`
}

// messageRequest is the body of POST /widget/{assistant_id}/messages. There is no author: a
// widget message is always the visitor's.
type messageRequest struct {
	Content string `json:"content"`
}

// bodyError is a client mistake in a body, naming the field ("body" for the whole).
type bodyError struct {
	Field, Message string
	Syntax         bool // 400 rather than 422
}

func (e *bodyError) Error() string { return e.Field + ": " + e.Message }

// decodeObject decodes one JSON object into dst; unknown fields are ignored.
func decodeObject(b []byte, dst any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return &bodyError{Field: "body", Message: "a JSON object is required", Syntax: true}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		if ok := asTypeError(err, &te); ok && te.Field != "" {
			return &bodyError{Field: te.Field, Message: "has the wrong type"}
		}
		return &bodyError{Field: "body", Message: "must be a JSON object", Syntax: true}
	}
	if dec.More() {
		return &bodyError{Field: "body", Message: "must hold one JSON object", Syntax: true}
	}
	return nil
}

func asTypeError(err error, te **json.UnmarshalTypeError) bool {
	t, ok := err.(*json.UnmarshalTypeError)
	if ok {
		*te = t
	}
	return ok
}

// parseStart reads and checks a session start. Name and email are trimmed (empty means not
// given); a page URL that is not http(s) is dropped rather than refused, since the visitor
// did not type it.
func parseStart(b []byte) (cv.NewConversation, error) {
	var req startRequest
	if err := decodeObject(b, &req); err != nil {
		return cv.NewConversation{}, err
	}
	n := cv.NewConversation{Source: cv.SourceWidget}
	if v := clean(req.Name); v != nil {
		if len(*v) > MaxNameBytes || !utf8.ValidString(*v) || hasControl(*v) {
			return n, &bodyError{Field: "name", Message: "must be text of at most 200 bytes"}
		}
		n.VisitorName = v
	}
	if v := clean(req.Email); v != nil {
		if !validEmail(*v) {
			return n, &bodyError{Field: "email", Message: "must be an email address such as ada@example.com"}
		}
		n.VisitorEmail = v
	}
	if v := clean(req.URL); v != nil && pageURL(*v) {
		n.URL = v
	}
	return n, nil
}

// parseMessage reads a visitor's message: non-blank text of at most MaxMessageBytes.
func parseMessage(b []byte) (string, error) {
	var req messageRequest
	if err := decodeObject(b, &req); err != nil {
		return "", err
	}
	if !utf8.ValidString(req.Content) {
		return "", &bodyError{Field: "content", Message: "must be valid UTF-8"}
	}
	if strings.TrimSpace(req.Content) == "" {
		return "", &bodyError{Field: "content", Message: "is required"}
	}
	if len(req.Content) > MaxMessageBytes {
		return "", &bodyError{Field: "content", Message: "must be at most 8192 bytes"}
	}
	return req.Content, nil
}

func clean(p *string) *string {
	if p == nil {
		return nil
	}
	v := strings.TrimSpace(*p)
	if v == "" {
		return nil
	}
	return &v
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

func validEmail(s string) bool {
	if len(s) > MaxEmailBytes || !utf8.ValidString(s) || hasControl(s) || strings.ContainsAny(s, " <>") {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}

func pageURL(s string) bool {
	if len(s) > cv.MaxURLBytes || !utf8.ValidString(s) {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
