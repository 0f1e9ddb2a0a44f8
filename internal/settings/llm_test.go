package settings

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
)

func TestLLMDefaultsAndBounds(t *testing.T) {
	s, err := Parse(json.RawMessage(`{"llm": {"base_url": "http://127.0.0.1:11434/v1/", "model": " llama3.1 "}}`))
	if err != nil {
		t.Fatal(err)
	}
	l := s.LLM
	if !l.On() || l.Timeout() != 10*time.Second || l.BaseURL != "http://127.0.0.1:11434/v1" || l.Model != "llama3.1" || l.APIKey != "" {
		t.Errorf("llm %+v", l)
	}
	if s, _ := Parse(json.RawMessage(`{"llm": null}`)); s.LLM != nil || s.LLM.On() {
		t.Error("null llm is set")
	}
	if s, _ := Parse(json.RawMessage(`{"llm": {"base_url": "https://x.example", "model": "m", "enabled": false, "timeout_ms": 60000}}`)); s.LLM.On() || s.LLM.Timeout() != time.Minute {
		t.Errorf("disabled llm %+v", s.LLM)
	}

	for _, c := range []struct{ doc, field string }{
		{`{"llm": "http://x"}`, "llm"},
		{`{"llm": []}`, "llm"},
		{`{"llm": {"model": "m"}}`, "llm.base_url"},
		{`{"llm": {"base_url": "ftp://x.example/v1", "model": "m"}}`, "llm.base_url"},
		{`{"llm": {"base_url": "x.example/v1", "model": "m"}}`, "llm.base_url"},
		{`{"llm": {"base_url": "http://", "model": "m"}}`, "llm.base_url"},
		{`{"llm": {"base_url": "http://:8080/v1", "model": "m"}}`, "llm.base_url"},
		{`{"llm": {"base_url": "https://user:pw@x.example/v1", "model": "m"}}`, "llm.base_url"},
		{`{"llm": {"base_url": "https://x.example/v1?key=abc", "model": "m"}}`, "llm.base_url"},
		{`{"llm": {"base_url": "https://x.example/v1#a", "model": "m"}}`, "llm.base_url"},
		{`{"llm": {"base_url": 5, "model": "m"}}`, "llm.base_url"},
		{`{"llm": {"base_url": "https://x.example"}}`, "llm.model"},
		{`{"llm": {"base_url": "https://x.example", "model": "  "}}`, "llm.model"},
		{`{"llm": {"base_url": "https://x.example", "model": "a\nb"}}`, "llm.model"},
		{`{"llm": {"base_url": "https://x.example", "model": "m", "api_key": "sk-1\r\nX-Evil: 1"}}`, "llm.api_key"},
		{`{"llm": {"base_url": "https://x.example", "model": "m", "api_key": " sk-1"}}`, "llm.api_key"},
		{`{"llm": {"base_url": "https://x.example", "model": "m", "timeout_ms": 99}}`, "llm.timeout_ms"},
		{`{"llm": {"base_url": "https://x.example", "model": "m", "timeout_ms": 60001}}`, "llm.timeout_ms"},
		{`{"llm": {"base_url": "https://x.example", "model": "m", "timeout_ms": 0}}`, "llm.timeout_ms"},
		{`{"llm": {"base_url": "https://x.example", "model": "m", "timeout_ms": 1.5}}`, "llm.timeout_ms"},
		{`{"llm": {"base_url": "https://x.example", "model": "m", "timeout_ms": "10s"}}`, "llm.timeout_ms"},
		{`{"llm": {"base_url": "https://x.example", "model": "m", "enabled": "yes"}}`, "llm.enabled"},
		{`{"llm": {"base_url": "https://x.example", "model": "m", "temperature": 1}}`, "llm.temperature"},
	} {
		_, err := Parse(json.RawMessage(c.doc))
		var ve *cv.ValidationError
		if !errors.As(err, &ve) || ve.Field != c.field {
			t.Errorf("%s: %v, want a validation error of %s", c.doc, err, c.field)
		}
	}
}

// The key is write-only: stored, never shown; a client may PATCH back what it read; null
// removes the key, or the whole provider.
func TestLLMKeyWriteOnly(t *testing.T) {
	s, err := Patch(nil, json.RawMessage(`{"llm": {"base_url": "https://api.example/v1", "model": "m", "api_key": "sk-secret", "timeout_ms": 2500}}`))
	if err != nil {
		t.Fatal(err)
	}
	stored := s.Marshal()
	pub := s.Public()
	if !strings.Contains(string(stored), "sk-secret") {
		t.Fatalf("stored without the key: %s", stored)
	}
	if strings.Contains(string(pub), "sk-secret") || !strings.Contains(string(pub), `"api_key_set":true`) {
		t.Fatalf("public %s", pub)
	}
	var doc struct{ LLM map[string]any }
	_ = json.Unmarshal(pub, &doc)
	if len(doc.LLM) != 5 || doc.LLM["timeout_ms"] != 2500.0 || doc.LLM["enabled"] != true || doc.LLM["model"] != "m" || doc.LLM["base_url"] != "https://api.example/v1" {
		t.Errorf("public llm %v", doc.LLM)
	}
	// Round trip: what was read, sent back.
	s2, err := Patch(stored, pub)
	if err != nil || s2.LLM.APIKey != "sk-secret" {
		t.Fatalf("after a round trip: %+v %v", s2.LLM, err)
	}
	// A partial change keeps the rest.
	s3, err := Patch(s2.Marshal(), json.RawMessage(`{"llm": {"model": "m2", "enabled": false}}`))
	if err != nil || s3.LLM.APIKey != "sk-secret" || s3.LLM.Model != "m2" || s3.LLM.On() || s3.LLM.Timeout() != 2500*time.Millisecond {
		t.Fatalf("partial change: %+v %v", s3.LLM, err)
	}
	s4, err := Patch(s3.Marshal(), json.RawMessage(`{"llm": {"api_key": null, "timeout_ms": null, "enabled": null}}`))
	if err != nil || s4.LLM.APIKey != "" || s4.LLM.Timeout() != DefaultLLMTimeout || !s4.LLM.On() || !strings.Contains(string(s4.Public()), `"api_key_set":false`) {
		t.Fatalf("key removed: %+v %v", s4.LLM, err)
	}
	s5, err := Patch(s4.Marshal(), json.RawMessage(`{"llm": null}`))
	if err != nil || s5.LLM != nil || !strings.Contains(string(s5.Public()), `"llm":null`) {
		t.Fatalf("removed: %+v %v %s", s5.LLM, err, s5.Public())
	}
	// Defaults show the key as null.
	if !strings.Contains(string(Defaults().Public()), `"llm":null`) {
		t.Errorf("defaults %s", Defaults().Public())
	}
}
