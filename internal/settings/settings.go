// Package settings holds what an assistant configures (SPEC 1b): the document behind
// GET/PATCH /v1/api_core/settings, its validation, and the compiled forms other parts use.
package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// Topic is one entry of the assistant's topic list.
type Topic struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Examples    []string `json:"examples"`
}

// Settings is an assistant's configuration. Keys that later features add live here too; an
// unknown key is refused, so that a typo never silently does nothing.
type Settings struct {
	Topics           []Topic         `json:"topics"`
	AutoResolveAfter *Duration       `json:"auto_resolve_after"`
	LinkTracking     bool            `json:"link_tracking"`
	MetadataSchema   json.RawMessage `json:"metadata_schema"`
	HandoffKeywords  []string        `json:"handoff_keywords"`
	RatingActive     *bool           `json:"rating_active"`
	Channels         Channels        `json:"channels"`
	LLM              *LLM            `json:"llm"` // nil: the offline analyzers only
}

// Duration is a Go duration written as a string ("24h", "90m").
type Duration struct{ time.Duration }

// MarshalJSON writes the duration as Go does, without the trailing zero units ("24h", not
// "24h0m0s").
func (d Duration) MarshalJSON() ([]byte, error) {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return json.Marshal(s)
}

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`must be a duration such as "24h" or null`)
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return errors.New(`must be a positive duration such as "24h" or "30m"`)
	}
	d.Duration = v
	return nil
}

// Defaults returns the settings of a new assistant.
func Defaults() Settings {
	t := true
	return Settings{Topics: []Topic{}, HandoffKeywords: []string{}, RatingActive: &t}
}

// Parse decodes a stored or patched settings document strictly, naming the offending key in a
// *conversation.ValidationError.
func Parse(doc json.RawMessage) (Settings, error) {
	s := Defaults()
	if len(bytes.TrimSpace(doc)) == 0 {
		return s, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(doc, &raw); err != nil {
		return s, cv.Invalid("settings", "must be a JSON object")
	}
	known := map[string]any{
		"topics": &s.Topics, "auto_resolve_after": &s.AutoResolveAfter, "link_tracking": &s.LinkTracking,
		"metadata_schema": &s.MetadataSchema, "handoff_keywords": &s.HandoffKeywords, "rating_active": &s.RatingActive,
	}
	for k, v := range raw {
		if k == "channels" {
			if string(v) == "null" {
				continue
			}
			var err error
			if s.Channels, err = parseChannels(v); err != nil {
				return s, err
			}
			continue
		}
		if k == "llm" {
			if string(v) == "null" {
				continue
			}
			var err error
			if s.LLM, err = parseLLM(v); err != nil {
				return s, err
			}
			continue
		}
		dst, ok := known[k]
		if !ok {
			return s, cv.Invalid(k, "unknown setting")
		}
		if err := json.Unmarshal(v, dst); err != nil {
			msg := "has the wrong type"
			var te *json.UnmarshalTypeError
			if !errors.As(err, &te) {
				msg = err.Error()
			}
			return s, cv.Invalid(k, "%s", msg)
		}
	}
	return s, s.validate()
}

func (s *Settings) validate() error {
	if s.Topics == nil {
		s.Topics = []Topic{}
	}
	if s.HandoffKeywords == nil {
		s.HandoffKeywords = []string{}
	}
	if s.RatingActive == nil {
		t := true
		s.RatingActive = &t
	}
	if len(s.Topics) > 200 {
		return cv.Invalid("topics", "at most 200 topics")
	}
	seen := map[string]bool{}
	for i, t := range s.Topics {
		name := strings.TrimSpace(t.Name)
		if name == "" || len(name) > 100 {
			return cv.Invalid(fmt.Sprintf("topics[%d].name", i), "is required, at most 100 bytes")
		}
		if seen[strings.ToLower(name)] {
			return cv.Invalid(fmt.Sprintf("topics[%d].name", i), "%q appears twice", name)
		}
		seen[strings.ToLower(name)] = true
		if len(t.Examples) > 500 {
			return cv.Invalid(fmt.Sprintf("topics[%d].examples", i), "at most 500 examples")
		}
		if s.Topics[i].Examples == nil {
			s.Topics[i].Examples = []string{}
		}
	}
	if len(s.HandoffKeywords) > 500 {
		return cv.Invalid("handoff_keywords", "at most 500 keywords")
	}
	if len(s.MetadataSchema) > 0 && string(s.MetadataSchema) != "null" {
		if _, err := CompileSchema(s.MetadataSchema); err != nil {
			return cv.Invalid("metadata_schema", "is not a valid JSON Schema: %v", err)
		}
	} else {
		s.MetadataSchema = nil
	}
	return nil
}

// Marshal encodes settings as stored, secrets included (every key present).
func (s Settings) Marshal() json.RawMessage {
	b, _ := json.Marshal(s.doc())
	return b
}

// Public encodes settings as the API shows them: secrets replaced by "<name>_set" markers.
func (s Settings) Public() json.RawMessage {
	doc := s.doc()
	var ch map[string]any
	b, _ := json.Marshal(s.Channels)
	_ = json.Unmarshal(b, &ch)
	redactChannels(ch)
	doc["channels"] = ch
	doc["llm"] = s.LLM.public()
	out, _ := json.Marshal(doc)
	return out
}

func (s Settings) doc() map[string]any {
	out := map[string]any{
		"topics": s.Topics, "auto_resolve_after": s.AutoResolveAfter, "link_tracking": s.LinkTracking,
		"metadata_schema": s.MetadataSchema, "handoff_keywords": s.HandoffKeywords, "rating_active": s.RatingActive,
		"channels": s.Channels, "llm": s.LLM,
	}
	if s.MetadataSchema == nil {
		out["metadata_schema"] = nil
	}
	return out
}

// Patch applies a JSON Merge Patch to the stored document and returns the new settings.
func Patch(stored json.RawMessage, patch json.RawMessage) (Settings, error) {
	var p map[string]any
	dec := json.NewDecoder(bytes.NewReader(patch))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return Settings{}, cv.Invalid("settings", "the body must be a JSON object (a JSON Merge Patch)")
	}
	var cur map[string]any
	dec = json.NewDecoder(bytes.NewReader(stored))
	dec.UseNumber()
	if len(bytes.TrimSpace(stored)) > 0 {
		if err := dec.Decode(&cur); err != nil {
			return Settings{}, err
		}
	}
	if cur == nil {
		cur = map[string]any{} // nothing stored yet
	}
	merged := cv.MergePatch(cur, p)
	b, err := json.Marshal(merged)
	if err != nil {
		return Settings{}, err
	}
	return Parse(b)
}

// CompileSchema compiles a metadata JSON Schema (draft 2020-12 unless it says otherwise).
// Remote references are not fetched.
func CompileSchema(doc json.RawMessage) (*jsonschema.Schema, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	if err := c.AddResource("metadata.json", v); err != nil {
		return nil, err
	}
	return c.Compile("metadata.json")
}

type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("remote schema %s is not loaded", url)
}

// CheckMetadata validates metadata against the schema, naming the offending key.
func CheckMetadata(schema *jsonschema.Schema, m map[string]any) error {
	if schema == nil {
		return nil
	}
	b, _ := json.Marshal(m)
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	err = schema.Validate(v)
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	leaf := ve
	for len(leaf.Causes) > 0 {
		leaf = leaf.Causes[0]
	}
	field := "metadata"
	if req, ok := leaf.ErrorKind.(*kind.Required); ok && len(req.Missing) > 0 {
		field = strings.Join(append(append([]string{}, leaf.InstanceLocation...), req.Missing[0]), ".")
	} else if len(leaf.InstanceLocation) > 0 {
		field = strings.Join(leaf.InstanceLocation, ".")
	} else if len(ve.InstanceLocation) > 0 {
		field = strings.Join(ve.InstanceLocation, ".")
	}
	return cv.Invalid(field, "does not match the metadata schema: %s", leafMessage(leaf))
}

func leafMessage(e *jsonschema.ValidationError) string {
	msg := e.ErrorKind.LocalizedString(message.NewPrinter(language.English))
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return msg
}
