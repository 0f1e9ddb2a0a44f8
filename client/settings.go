package client

import (
	"context"
	"encoding/json"
	"net/http"
)

// SettingsService reads and changes the assistant's settings. Get it from Client.Settings.
type SettingsService struct{ c *Client }

// Settings are an assistant's settings. Secrets are never shown (only whether they are set).
// Raw holds the whole document, with the keys this client does not name.
type Settings struct {
	Topics           []Topic         `json:"topics"`
	AutoResolveAfter *string         `json:"auto_resolve_after"` // a duration such as "24h"
	LinkTracking     bool            `json:"link_tracking"`
	MetadataSchema   json.RawMessage `json:"metadata_schema"`
	HandoffKeywords  []string        `json:"handoff_keywords"`
	RatingActive     *bool           `json:"rating_active"`
	Channels         json.RawMessage `json:"channels"`
	// LLM is the analysis' language-model provider (nil: the offline analyzers only).
	LLM *LLMSettings    `json:"llm"`
	Raw json.RawMessage `json:"-"`
}

// LLMSettings are the analysis' OpenAI-compatible language-model provider as reads show it:
// the API key is write-only (set it with Patch, as "api_key"), APIKeySet stands for it.
type LLMSettings struct {
	BaseURL   string `json:"base_url"`
	Model     string `json:"model"`
	APIKeySet bool   `json:"api_key_set"`
	TimeoutMS *int   `json:"timeout_ms"` // nil: the server's default
	Enabled   bool   `json:"enabled"`
}

func (s *Settings) UnmarshalJSON(b []byte) error {
	type plain Settings
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*s = Settings(p)
	s.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// Topic is one entry of the assistant's topic list.
type Topic struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Examples    []string `json:"examples"`
}

// Get returns the settings.
func (s *SettingsService) Get(ctx context.Context) (*Settings, error) {
	var out Settings
	if _, err := s.c.call(ctx, request{method: http.MethodGet, path: apiPrefix + "/settings"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Patch changes the settings with a JSON Merge Patch (write_all): patch is any value that
// encodes as a JSON object, usually a map[string]any, where a nil value resets its key.
// Invalid settings are a 422 *Error naming the key, and nothing changes.
func (s *SettingsService) Patch(ctx context.Context, patch any, opts ...WriteOption) (*Settings, error) {
	var out Settings
	r := request{method: http.MethodPatch, path: apiPrefix + "/settings", body: patch, contentType: "application/merge-patch+json", opts: opts}
	if _, err := s.c.call(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// OperatorsService lists the assistant's human operators. Get it from Client.Operators.
type OperatorsService struct{ c *Client }

// List returns the assistant's operators.
func (s *OperatorsService) List(ctx context.Context) ([]Operator, error) {
	var out struct {
		Items []Operator `json:"items"`
	}
	if _, err := s.c.call(ctx, request{method: http.MethodGet, path: apiPrefix + "/operators"}, &out); err != nil {
		return nil, err
	}
	if out.Items == nil {
		out.Items = []Operator{}
	}
	return out.Items, nil
}
