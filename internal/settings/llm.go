package settings

import (
	"encoding/json"
	"net/url"
	"strings"
	"time"
	"unicode"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// LLM is an optional language-model provider for the analysis: an OpenAI-compatible
// chat-completions API (OpenAI, a local Ollama or vLLM server, ...). When set and enabled, the
// analysis asks it for the title, topic, flag and summary of each conversation, and keeps the
// offline analyzers' answer wherever it errs, is slow or says something invalid. The API key is
// write-only: reads show `"api_key_set"` in its place.
type LLM struct {
	BaseURL   string `json:"base_url"` // requests go to {base_url}/chat/completions
	Model     string `json:"model"`
	APIKey    string `json:"api_key,omitempty" secret:"true"` // sent as "Authorization: Bearer"
	TimeoutMS *int   `json:"timeout_ms"`                      // nil: DefaultLLMTimeout
	Enabled   *bool  `json:"enabled"`                         // nil: true
}

// Bounds of LLM.TimeoutMS. The upper bound stays well below the job queue's lease (2 minutes),
// so that a slow provider never makes a job look abandoned.
const (
	DefaultLLMTimeout = 10 * time.Second
	MinLLMTimeout     = 100 * time.Millisecond
	MaxLLMTimeout     = 60 * time.Second
)

// On reports whether the provider is configured and enabled.
func (l *LLM) On() bool { return l != nil && (l.Enabled == nil || *l.Enabled) }

// Timeout is how long one analysis may wait for the provider.
func (l *LLM) Timeout() time.Duration {
	if l == nil || l.TimeoutMS == nil {
		return DefaultLLMTimeout
	}
	return time.Duration(*l.TimeoutMS) * time.Millisecond
}

// parseLLM reads the llm object, dropping the api_key_set marker the API shows.
func parseLLM(raw json.RawMessage) (*LLM, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, cv.Invalid("llm", "must be an object {base_url, model, api_key, timeout_ms, enabled} or null")
	}
	delete(fields, "api_key_set")
	for k, v := range fields {
		if string(v) == "null" {
			delete(fields, k) // a null member is the member's default
		}
	}
	b, _ := json.Marshal(fields)
	l := &LLM{}
	if err := strictDecode("llm", b, l); err != nil {
		return nil, err
	}
	return l, l.validate()
}

func (l *LLM) validate() error {
	l.BaseURL = strings.TrimSpace(l.BaseURL)
	l.Model = strings.TrimSpace(l.Model)
	if l.BaseURL == "" {
		return cv.Invalid("llm.base_url", "is required: the provider's OpenAI-compatible API base URL, such as https://api.openai.com/v1")
	}
	p, err := url.Parse(l.BaseURL)
	switch {
	case err != nil || len(l.BaseURL) > 2000 || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.Hostname() == "":
		return cv.Invalid("llm.base_url", "must be an http(s) URL with a host, such as http://127.0.0.1:11434/v1")
	case p.User != nil:
		return cv.Invalid("llm.base_url", "must not carry a user name or password (put the key in api_key)")
	case p.RawQuery != "" || p.ForceQuery || p.Fragment != "":
		return cv.Invalid("llm.base_url", "must not have a query or fragment")
	}
	l.BaseURL = strings.TrimRight(l.BaseURL, "/")
	if l.Model == "" || len(l.Model) > 200 || hasControl(l.Model) {
		return cv.Invalid("llm.model", "is required, at most 200 bytes, one line")
	}
	if len(l.APIKey) > 4096 || hasControl(l.APIKey) || strings.TrimSpace(l.APIKey) != l.APIKey {
		return cv.Invalid("llm.api_key", "must be at most 4096 bytes, one line, without surrounding spaces")
	}
	if l.TimeoutMS == nil {
		ms := int(DefaultLLMTimeout / time.Millisecond)
		l.TimeoutMS = &ms
	}
	if t := l.Timeout(); t < MinLLMTimeout || t > MaxLLMTimeout {
		return cv.Invalid("llm.timeout_ms", "must be between %d and %d (milliseconds)", MinLLMTimeout.Milliseconds(), MaxLLMTimeout.Milliseconds())
	}
	if l.Enabled == nil {
		t := true
		l.Enabled = &t
	}
	return nil
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// public is the llm object as the API shows it: the key replaced by "api_key_set".
func (l *LLM) public() any {
	if l == nil {
		return nil
	}
	return map[string]any{
		"base_url": l.BaseURL, "model": l.Model, "api_key_set": l.APIKey != "", "timeout_ms": l.TimeoutMS, "enabled": l.On(),
	}
}
