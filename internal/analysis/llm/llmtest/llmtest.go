// Package llmtest is a local fake of an OpenAI-compatible chat-completions provider, for tests:
// it records what it was asked and answers as the test says.
package llmtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/analysis/llm"
)

// Reply is how the fake answers one request.
type Reply struct {
	Status  int           // 0: 200
	Content string        // the assistant message's content (the model's JSON answer)
	Body    string        // when set, the whole response body instead of a completion around Content
	Delay   time.Duration // wait this long first (or until the client gives up)
}

// Request is a request the fake received.
type Request struct {
	Path          string
	Authorization string
	Body          llm.ChatRequest
	Raw           []byte
}

// Server is the fake provider; its URL plus "/v1" is a base URL.
type Server struct {
	*httptest.Server
	answer func(llm.ChatRequest) Reply
	mu     sync.Mutex
	reqs   []Request
}

// New starts a fake provider that answers every request with answer's reply; it stops when
// the test ends.
func New(t testing.TB, answer func(llm.ChatRequest) Reply) *Server {
	s := &Server{answer: answer}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Content returns a reply with the model answer v encoded as JSON.
func Content(v any) Reply {
	b, _ := json.Marshal(v)
	return Reply{Content: string(b)}
}

// BaseURL is the base URL to configure: requests then go to /v1/chat/completions.
func (s *Server) BaseURL() string { return s.URL + "/v1" }

// Requests returns what the fake was asked so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	req := Request{Path: r.URL.Path, Authorization: r.Header.Get("Authorization"), Raw: raw}
	_ = json.Unmarshal(raw, &req.Body)
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		http.Error(w, `{"error": {"message": "not found"}}`, http.StatusNotFound)
		return
	}
	rep := s.answer(req.Body)
	if rep.Delay > 0 {
		select {
		case <-time.After(rep.Delay):
		case <-r.Context().Done():
			return
		}
	}
	body := rep.Body
	if body == "" {
		b, _ := json.Marshal(map[string]any{
			"id": "chatcmpl-test", "object": "chat.completion", "model": req.Body.Model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": rep.Content}}},
		})
		body = string(b)
	}
	w.Header().Set("Content-Type", "application/json")
	if rep.Status != 0 {
		w.WriteHeader(rep.Status)
	}
	_, _ = io.WriteString(w, body)
}
