package client_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

// recorder is a transport that notes every request's method and path, and whether the server
// routed it (an answer of the API's catch-all, "No such endpoint" or a 405, is not).
type recorder struct {
	mu       sync.Mutex
	calls    []string
	unrouted []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	call := req.Method + " " + req.URL.Path
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call)
	if res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusMethodNotAllowed {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		res.Body = io.NopCloser(bytes.NewReader(b))
		if res.StatusCode == http.StatusMethodNotAllowed || strings.Contains(string(b), "No such endpoint") {
			r.unrouted = append(r.unrouted, call)
		}
	}
	return res, nil
}

// TestEveryRouteHasAMethod calls every method of the client once and checks that together
// they reach every operation of the API's OpenAPI document, and that the server routes each of
// their requests: an endpoint added to the API without a client method fails here.
func TestEveryRouteHasAMethod(t *testing.T) {
	ev := start(t, enginetest.SQLite, nil)
	rec := &recorder{}
	c, err := client.New(ev.e.URL, ev.e.A.Write, client.WithHTTPClient(&http.Client{Transport: rec}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	conv, _, err := c.Conversations.Create(ctx, client.NewConversation{Source: client.SourceAPI})
	if err != nil {
		t.Fatal(err)
	}
	msg, _, _ := c.Conversations.AppendMessage(ctx, conv.ID, client.NewMessage{Author: client.AuthorAI, Content: "hi"})
	c.Conversations.List(ctx, client.ListOptions{})
	c.Conversations.Get(ctx, conv.ID)
	c.Conversations.Update(ctx, conv.ID, client.ConversationPatch{Title: client.Set("t")})
	c.Conversations.Events(ctx, conv.ID, client.EventOptions{})
	c.Conversations.SetFeedback(ctx, conv.ID, msg.ID, "positive", nil)
	c.Conversations.Rate(ctx, conv.ID, 5, nil)
	c.Conversations.Metadata(ctx, conv.ID)
	c.Conversations.SetMetadata(ctx, conv.ID, map[string]any{"a": 1})
	c.Conversations.ReplaceMetadata(ctx, conv.ID, map[string]any{"a": 2})
	c.Conversations.PatchMetadata(ctx, conv.ID, map[string]any{"a": nil})
	c.Conversations.ImportConversations(ctx, []client.NewConversation{{Source: client.SourceAPI}})
	if body, err := c.Conversations.Export(ctx, client.ExportOptions{}); err == nil {
		body.Close()
	}
	c.Analytics.Get(ctx, client.AnalyticsOptions{})
	c.Settings.Get(ctx)
	c.Settings.Patch(ctx, map[string]any{})
	c.Operators.List(ctx)
	hook, err := c.Webhooks.Create(ctx, client.NewWebhook{URL: "http://127.0.0.1:9/hook"})
	if err != nil {
		t.Fatal(err)
	}
	c.Webhooks.List(ctx)
	c.Webhooks.Get(ctx, hook.ID)
	c.Webhooks.Update(ctx, hook.ID, client.WebhookPatch{Description: client.Ptr("d")})
	c.Webhooks.Deliveries(ctx, hook.ID, client.DeliveryOptions{})
	c.Webhooks.Redeliver(ctx, hook.ID, hook.ID) // no such delivery: the route's own 404
	c.Webhooks.Delete(ctx, hook.ID)
	for _, err := range c.Stream.Subscribe(ctx, client.StreamOptions{LastEventID: "0"}) {
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	c.Conversations.Delete(ctx, conv.ID)

	// The operations of the document.
	b, err := os.ReadFile("../internal/server/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\{[^}]+\}`)
	var missing []string
	ops := 0
	for path, item := range doc.Paths {
		if !strings.HasPrefix(path, "/v1/") {
			continue
		}
		pattern := regexp.QuoteMeta(param.ReplaceAllString(strings.TrimSuffix(path, "/"), "PARAM"))
		re := regexp.MustCompile("^" + strings.ReplaceAll(pattern, "PARAM", `[^/]+`) + "/?$")
		for method := range item {
			method = strings.ToUpper(method)
			if !slices.Contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, method) {
				continue
			}
			ops++
			if !slices.ContainsFunc(rec.calls, func(call string) bool {
				m, p, _ := strings.Cut(call, " ")
				return m == method && re.MatchString(p)
			}) {
				missing = append(missing, method+" "+path)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("no client method calls %d of the %d operations: %v", len(missing), ops, missing)
	}
	if ops < 25 {
		t.Errorf("the document has %d operations under /v1/", ops)
	}
	if len(rec.unrouted) > 0 {
		t.Errorf("the server has no route for %v", rec.unrouted)
	}
}
