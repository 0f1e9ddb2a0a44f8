package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/search"
	"github.com/parleyhq/parley/internal/wire"
)

func (s *Server) listConversations(w http.ResponseWriter, r *http.Request, p principal) error {
	f, perr := parseListParams(r.URL.Query())
	if perr != nil {
		return perr
	}
	page, err := s.store.Conversations(r.Context(), p.assistantID(), f)
	if err != nil {
		return err
	}
	out := wire.List[wire.Item]{Items: make([]wire.Item, len(page.Items)), Offset: f.Offset, Limit: f.Limit, Count: page.Count, NextCursor: encodeCursor(page.NextCursor)}
	if f.Cursor != nil {
		out.Offset = 0
	}
	for i := range page.Items {
		out.Items[i] = wire.NewItem(&page.Items[i])
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// conversationID reads the {id} path value; anything but a UUID cannot exist, so it is a 404.
func conversationID(r *http.Request) (string, error) {
	q := search.Parse(r.PathValue("id"))
	if q.UUID == "" || len(r.PathValue("id")) != 36 {
		return "", errNotFound
	}
	return q.UUID, nil
}

func (s *Server) getConversation(w http.ResponseWriter, r *http.Request, p principal) error {
	id, err := conversationID(r)
	if err != nil {
		return err
	}
	c, err := s.store.Conversation(r.Context(), p.assistantID(), id)
	if err != nil {
		return err
	}
	writeDetail(w, http.StatusOK, &c)
	return nil
}

func writeDetail(w http.ResponseWriter, status int, c *cv.Conversation) {
	w.Header().Set("ETag", etag(c.Version))
	writeJSON(w, status, wire.NewDetail(c))
}

func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// ifMatch reads If-Match: the version a write expects (0 when absent or "*").
func ifMatch(r *http.Request) (int64, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" || v == "*" {
		return 0, nil
	}
	v = strings.TrimPrefix(v, "W/")
	n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64)
	if err != nil || n <= 0 {
		return 0, badParam("If-Match", "must be an ETag of this API, such as \"3\"")
	}
	return n, nil
}

// decodeBody decodes a JSON request body into dst. Syntax errors are 400 naming the body; a
// value of the wrong type is 422 naming the field; unknown fields are ignored.
func decodeBody(r *http.Request, dst any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	return decodeJSON(b, dst)
}

func decodeJSON(b []byte, dst any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return badParam("body", "a JSON body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	err := dec.Decode(dst)
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		if dec.More() {
			return badParam("body", "the body must hold one JSON value")
		}
		return nil
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return badParam("body", "expected a JSON object")
		}
		// encoding/json leaves out the index of a field inside an array.
		if path, _, ok := fieldPath(b, reflect.TypeOf(dst)); ok && path != "" {
			field = path
		}
		return invalid(field, "must be %s, not %s", kindName(te.Type.Kind().String()), te.Value)
	default:
		var se *json.SyntaxError
		if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
			return badParam("body", "invalid JSON: %v", err)
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		// Errors of a field's own decoder (times) name no field in encoding/json: find it.
		if path, want, ok := fieldPath(b, reflect.TypeOf(dst)); ok && path != "" {
			if want == timeType {
				return invalid(path, "must be an RFC 3339 date-time such as \"2026-01-15T10:30:00Z\"")
			}
			return invalid(path, "%v", err)
		}
		return invalid("body", "%v", err)
	}
}

func kindName(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	}
	if strings.Contains(k, "int") || strings.Contains(k, "float") {
		return "a number"
	}
	return k
}

func (s *Server) createConversation(w http.ResponseWriter, r *http.Request, p principal) error {
	var n cv.NewConversation
	if err := decodeBody(r, &n); err != nil {
		return err
	}
	if err := s.validateNew(r, p, &n); err != nil {
		return err
	}
	if err := s.trackLinks(r, p, n.Messages); err != nil {
		return err
	}
	res, err := s.store.CreateConversations(r.Context(), p.assistantID(), []cv.NewConversation{n})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res[0].Created {
		status = http.StatusCreated
	}
	writeDetail(w, status, &res[0].Conversation)
	return nil
}

// validateNew checks a new conversation, including its metadata against the schema.
func (s *Server) validateNew(r *http.Request, p principal, n *cv.NewConversation) error {
	if err := n.Validate(); err != nil {
		return err
	}
	if err := s.markHandoffs(r, p, n.Messages); err != nil {
		return err
	}
	if n.ClientMetadata != nil {
		return cv.InClientMetadata(s.checkMetadataSchema(r, p, n.ClientMetadata))
	}
	return nil
}

func (s *Server) deleteConversation(w http.ResponseWriter, r *http.Request, p principal) error {
	id, err := conversationID(r)
	if err != nil {
		return err
	}
	if err := s.store.DeleteConversation(r.Context(), p.assistantID(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// patchBody reads a PATCH body into a domain patch. Visitor fields and the title may be null
// (cleared); the others may not.
func patchBody(b []byte) (cv.Patch, error) {
	var p cv.Patch
	var raw map[string]json.RawMessage
	if err := decodeJSON(b, &raw); err != nil {
		return p, err
	}
	field := func(name string, dst any) error {
		v, ok := raw[name]
		if !ok {
			return nil
		}
		if string(v) == "null" {
			return invalid(name, "may not be null")
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return invalid(name, "has the wrong type")
		}
		return nil
	}
	nullable := func(name string, dst ***string) error {
		v, ok := raw[name]
		if !ok {
			return nil
		}
		var s *string
		if err := json.Unmarshal(v, &s); err != nil {
			return invalid(name, "must be a string or null")
		}
		*dst = &s
		return nil
	}
	var status string
	var terminated, unread bool
	var assignee cv.Assignee
	steps := []error{
		field("resolution_status", &status), field("terminated", &terminated),
		field("has_unread_messages", &unread), field("assignee", &assignee),
		nullable("title", &p.Title), nullable("visitor_name", &p.VisitorName), nullable("visitor_email", &p.VisitorEmail),
		nullable("visitor_phone_number", &p.VisitorPhoneNumber), nullable("visitor_label", &p.VisitorLabel),
	}
	for _, err := range steps {
		if err != nil {
			return p, err
		}
	}
	if _, ok := raw["resolution_status"]; ok {
		p.ResolutionStatus = &status
	}
	if _, ok := raw["terminated"]; ok {
		p.Terminated = &terminated
	}
	if _, ok := raw["has_unread_messages"]; ok {
		p.HasUnreadMessages = &unread
	}
	if _, ok := raw["assignee"]; ok {
		p.Assignee = &assignee
	}
	return p, p.Validate()
}

func (s *Server) patchConversation(w http.ResponseWriter, r *http.Request, p principal) error {
	id, err := conversationID(r)
	if err != nil {
		return err
	}
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	patch, err := patchBody(b)
	if err != nil {
		return err
	}
	if err := s.resolveAssignee(r, p, patch.Assignee); err != nil {
		return err
	}
	c, err := s.store.UpdateConversation(r.Context(), p.assistantID(), id, version, func(c *cv.Conversation) ([]cv.Log, error) {
		return patch.Apply(c, p.actor()), nil
	})
	if err != nil {
		return err
	}
	writeDetail(w, http.StatusOK, &c)
	return nil
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, p principal) error {
	id, err := conversationID(r)
	if err != nil {
		return err
	}
	f, limit, perr := parseEventParams(r.URL.Query())
	if perr != nil {
		return perr
	}
	page, err := s.store.Events(r.Context(), p.assistantID(), id, f)
	if err != nil {
		return err
	}
	out := wire.List[wire.Event]{Items: make([]wire.Event, len(page.Items)), Offset: f.Offset, Limit: limit, Count: page.Count}
	for i := range page.Items {
		out.Items[i] = wire.NewEvent(&page.Items[i])
	}
	if n := len(page.Items); n == limit && n > 0 {
		next := strconv.FormatInt(page.Items[n-1].Ord, 10)
		out.NextCursor = &next
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) appendMessage(w http.ResponseWriter, r *http.Request, p principal) error {
	id, err := conversationID(r)
	if err != nil {
		return err
	}
	var m cv.NewMessage
	if err := decodeBody(r, &m); err != nil {
		return err
	}
	if err := m.Validate(""); err != nil {
		return err
	}
	one := []cv.NewMessage{m}
	if err := s.markHandoffs(r, p, one); err != nil {
		return err
	}
	if err := s.trackLinks(r, p, one); err != nil {
		return err
	}
	m = one[0]
	ev, created, err := s.store.AppendMessage(r.Context(), p.assistantID(), id, m)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, wire.NewEvent(&ev).Data)
	return nil
}

// importConversations reads NDJSON, one conversation a line, storing good lines in batches and
// reporting bad ones by line number.
func (s *Server) importConversations(w http.ResponseWriter, r *http.Request, p principal) error {
	type failure struct {
		Line  int    `json:"line"`
		Error string `json:"error"`
	}
	result := struct {
		Imported int       `json:"imported"`
		Failed   []failure `json:"failed"`
	}{Failed: []failure{}}
	const batchSize = 200
	var batch []cv.NewConversation
	var lines []int
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		res, err := s.store.CreateConversations(r.Context(), p.assistantID(), batch)
		if err != nil {
			return err
		}
		result.Imported += len(res)
		batch, lines = batch[:0], lines[:0]
		return nil
	}
	sc := newLineScanner(r.Body, int(s.cfg.MaxBodyBytes))
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var n cv.NewConversation
		err := decodeJSON(text, &n)
		if err == nil {
			err = s.validateNew(r, p, &n)
		}
		if err != nil {
			result.Failed = append(result.Failed, failure{Line: line, Error: describeError(err)})
			if len(result.Failed) > 10000 {
				return badParam("body", "more than 10000 lines failed; stopped at line %d", line)
			}
			continue
		}
		batch, lines = append(batch, n), append(lines, line)
		if len(batch) == batchSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return badParam("body", "line %d: %v", line+1, err)
	}
	if err := flush(); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, result)
	return nil
}

// describeError renders a client error as one line for the import report.
func describeError(err error) string {
	var ae *apiError
	var ve *cv.ValidationError
	switch {
	case errors.As(err, &ae):
		return fmt.Sprintf("%s: %s", ae.Field, ae.Message)
	case errors.As(err, &ve):
		return ve.Error()
	}
	return err.Error()
}
