package api

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/settings"
)

func (s *Server) getMetadata(w http.ResponseWriter, r *http.Request, p principal) error {
	id, err := conversationID(r)
	if err != nil {
		return err
	}
	c, err := s.store.Conversation(r.Context(), p.assistantID(), id)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(c.Version))
	writeJSON(w, http.StatusOK, metadataBody(c.ClientMetadata))
	return nil
}

func metadataBody(m map[string]any) map[string]any {
	if m == nil {
		m = map[string]any{}
	}
	return map[string]any{"metadata": m}
}

// writeMetadata changes metadata: POST merges keys, PUT replaces, PATCH is a JSON Merge Patch.
// The body is the metadata object itself. The result must keep to the limits and the
// assistant's schema; a change adds a log event.
func (s *Server) writeMetadata(op cv.MetadataOp) handler {
	return func(w http.ResponseWriter, r *http.Request, p principal) error {
		id, err := conversationID(r)
		if err != nil {
			return err
		}
		version, err := ifMatch(r)
		if err != nil {
			return err
		}
		var body map[string]any
		if err := decodeBody(r, &body); err != nil {
			return err
		}
		if body == nil {
			return badParam("body", "must be a JSON object")
		}
		schema, err := s.metadataSchema(r, p)
		if err != nil {
			return err
		}
		c, err := s.store.UpdateConversation(r.Context(), p.assistantID(), id, version, func(c *cv.Conversation) ([]cv.Log, error) {
			next, err := cv.ApplyMetadata(c.ClientMetadata, op, body)
			if err != nil {
				return nil, err
			}
			if err := settings.CheckMetadata(schema, next); err != nil {
				return nil, err
			}
			changed := cv.ChangedKeys(c.ClientMetadata, next)
			c.ClientMetadata = next
			if len(changed) == 0 {
				return nil, nil
			}
			return []cv.Log{cv.MetadataLog(p.actor(), changed)}, nil
		})
		if err != nil {
			return err
		}
		w.Header().Set("ETag", etag(c.Version))
		writeJSON(w, http.StatusOK, metadataBody(c.ClientMetadata))
		return nil
	}
}

// checkMetadataSchema validates metadata of a new conversation against the schema.
func (s *Server) checkMetadataSchema(r *http.Request, p principal, m map[string]any) error {
	schema, err := s.metadataSchema(r, p)
	if err != nil {
		return err
	}
	return settings.CheckMetadata(schema, m)
}

// schemaCache keeps each assistant's compiled metadata schema, recompiled when the schema
// document changes.
type schemaCache struct {
	mu sync.Mutex
	m  map[string]cachedSchema
}

type cachedSchema struct {
	doc    string
	schema *jsonschema.Schema
}

func (s *Server) metadataSchema(r *http.Request, p principal) (*jsonschema.Schema, error) {
	st, err := s.settingsFor(r, p)
	if err != nil || len(st.MetadataSchema) == 0 {
		return nil, err
	}
	key := string(st.MetadataSchema)
	s.schemas.mu.Lock()
	defer s.schemas.mu.Unlock()
	if c, ok := s.schemas.m[p.assistantID()]; ok && c.doc == key {
		return c.schema, nil
	}
	schema, err := settings.CompileSchema(st.MetadataSchema)
	if err != nil {
		return nil, err
	}
	if s.schemas.m == nil {
		s.schemas.m = map[string]cachedSchema{}
	}
	s.schemas.m[p.assistantID()] = cachedSchema{doc: key, schema: schema}
	return schema, nil
}

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request, p principal) error {
	doc, err := s.store.Settings(r.Context(), p.assistantID())
	if err != nil {
		return err
	}
	st, err := settings.Parse(doc)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, json.RawMessage(st.Public()))
	return nil
}

// patchSettings applies a JSON Merge Patch; invalid settings are 422 naming the key, and
// nothing changes.
func (s *Server) patchSettings(w http.ResponseWriter, r *http.Request, p principal) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	var probe map[string]any
	if err := decodeJSON(b, &probe); err != nil {
		return err
	}
	doc, err := s.store.Settings(r.Context(), p.assistantID())
	if err != nil {
		return err
	}
	st, err := settings.Patch(doc, b)
	if err != nil {
		return err
	}
	if err := s.store.SaveSettings(r.Context(), p.assistantID(), st.Marshal()); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, json.RawMessage(st.Public()))
	return nil
}

// newLineScanner reads NDJSON lines of up to maxLine bytes.
func newLineScanner(r io.Reader, maxLine int) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	sc.Split(bufio.ScanLines)
	return sc
}
