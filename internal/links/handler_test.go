package links_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/apitest"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/links"
	"github.com/parleyhq/parley/internal/server"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

// start runs the API with tracked links on a fresh store; the public URL is the server's own.
func start(t *testing.T, open enginetest.Opener) *apitest.Env {
	return apitest.StartServer(t, open, func(st store.Store, u string) server.Config {
		return server.Config{API: api.Config{PublicURL: u}, Mounts: map[string]http.Handler{links.Pattern: links.NewHandler(st, nil)}}
	})
}

// noFollow is a client that shows redirects instead of following them.
var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func get(t *testing.T, rawURL string, header ...string) *http.Response {
	t.Helper()
	return request(t, "GET", rawURL, header...)
}

func request(t *testing.T, method, rawURL string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

type event struct {
	Type string         `json:"type"`
	Data map[string]any `json:"data"`
}

func timeline(t *testing.T, e *apitest.Env, id string) []event {
	t.Helper()
	var page struct{ Items []event }
	e.Must(http.StatusOK, "GET", "/v1/api_core/conversations/"+id+"/events?limit=100", e.A.Read, nil).JSON(t, &page)
	return page.Items
}

func post(t *testing.T, e *apitest.Env, id, author, content string) map[string]any {
	t.Helper()
	return e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations/"+id+"/messages", e.A.Write, map[string]any{"author": author, "content": content}).Map(t)
}

// trackedIDs returns the link ids in content.
func trackedIDs(e *apitest.Env, content string) []string {
	var ids []string
	for _, f := range strings.Fields(content) {
		if id, ok := strings.CutPrefix(f, e.URL+links.Path); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

func TestRewriteThroughTheAPI(t *testing.T) {
	t.Parallel()
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open)
		const text = "see https://example.com/a?x=1 now"
		c := e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations", e.A.Write, map[string]any{"source": "api"}).Map(t)
		id := c["id"].(string)

		// Off (the default): nothing is rewritten.
		if m := post(t, e, id, "ai_assistant", text); m["content"] != text {
			t.Errorf("with link_tracking off: %v", m["content"])
		}
		e.Must(http.StatusOK, "PATCH", "/v1/api_core/settings", e.A.Write, `{"link_tracking": true}`)
		// On: the assistant's and operators' links are; the visitor's are not.
		for _, author := range []string{"ai_assistant", "human_operator"} {
			m := post(t, e, id, author, text)
			ids := trackedIDs(e, m["content"].(string))
			if len(ids) != 1 || !links.ValidID(ids[0]) || m["content"] != "see "+e.URL+"/l/"+ids[0]+" now" {
				t.Errorf("%s message with link_tracking on = %q", author, m["content"])
				continue
			}
			l, err := e.Store.Link(context.Background(), ids[0])
			if err != nil || l.URL != "https://example.com/a?x=1" || l.MessageID != m["id"] || l.ConversationID != id || l.AssistantID != e.A.ID {
				t.Errorf("stored link = %+v, %v", l, err)
			}
		}
		if m := post(t, e, id, "visitor", text); m["content"] != text {
			t.Errorf("visitor message rewritten: %v", m["content"])
		}
		// Initial messages of a new conversation too.
		c2 := e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations", e.A.Write, map[string]any{"source": "widget", "messages": []any{
			map[string]any{"author": "visitor", "content": "link? https://a.example/"},
			map[string]any{"author": "ai_assistant", "content": "here: https://b.example/"},
		}}).Map(t)
		evs := timeline(t, e, c2["id"].(string))
		if evs[0].Data["content"] != "link? https://a.example/" || len(trackedIDs(e, evs[1].Data["content"].(string))) != 1 {
			t.Errorf("initial messages = %v / %v", evs[0].Data["content"], evs[1].Data["content"])
		}
		// Another assistant's settings are its own.
		cb := e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations", e.B.Write, map[string]any{"source": "api"}).Map(t)
		mb := e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations/"+cb["id"].(string)+"/messages", e.B.Write,
			map[string]any{"author": "ai_assistant", "content": text}).Map(t)
		if mb["content"] != text {
			t.Errorf("B (tracking off) rewrote: %v", mb["content"])
		}
	})
}

func TestClick(t *testing.T) {
	t.Parallel()
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open)
		e.Must(http.StatusOK, "PATCH", "/v1/api_core/settings", e.A.Write, `{"link_tracking": true}`)
		c := e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations", e.A.Write, map[string]any{"source": "telegram"}).Map(t)
		id := c["id"].(string)
		const target = "https://shop.example/p?ref=chat&utm_source=newsletter#size"
		m := post(t, e, id, "human_operator", "Try "+target)
		lid := trackedIDs(e, m["content"].(string))[0]
		before := e.Must(http.StatusOK, "GET", "/v1/api_core/conversations/"+id, e.A.Read, nil)

		// A click: 302 to the target with utm_medium added (utm_source was there), and an event.
		res := get(t, e.URL+"/l/"+lid+"?url=https://evil.example/")
		loc := res.Header.Get("Location")
		if res.StatusCode != http.StatusFound || loc != "https://shop.example/p?ref=chat&utm_source=newsletter&utm_medium=telegram#size" {
			t.Fatalf("click: %d Location %q", res.StatusCode, loc)
		}
		evs := timeline(t, e, id)
		last := evs[len(evs)-1]
		if last.Type != "tracked_link" || last.Data["link_id"] != lid || last.Data["message_id"] != m["id"] || last.Data["url"] != target {
			t.Errorf("last event = %+v", last)
		}
		if last.Data["ord"] != float64(len(evs)) || last.Data["id"] == nil || last.Data["created_at"] == nil {
			t.Errorf("tracked_link event head = %v", last.Data)
		}
		after := e.Must(http.StatusOK, "GET", "/v1/api_core/conversations/"+id, e.A.Read, nil)
		if after.Header.Get("ETag") != before.Header.Get("ETag") {
			t.Errorf("ETag %s -> %s: a click is no change of the conversation", before.Header.Get("ETag"), after.Header.Get("ETag"))
		}
		changes, err := e.Store.Changes(context.Background(), e.A.ID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if ch := changes[len(changes)-1]; ch.Type != cv.ChangeTrackedLinkClicked || ch.EventID == nil || *ch.EventID != last.Data["id"] {
			t.Errorf("last change = %+v, want tracked_link.clicked naming the event", ch)
		}

		// The same client again at once, a HEAD, a link preview bot: redirected, not recorded.
		n := len(evs)
		for _, r := range []*http.Response{
			get(t, e.URL+"/l/"+lid), request(t, "HEAD", e.URL+"/l/"+lid),
			get(t, e.URL+"/l/"+lid, "User-Agent", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"),
		} {
			if r.StatusCode != http.StatusFound || r.Header.Get("Location") != loc {
				t.Errorf("%s: %d %q", r.Request.Method, r.StatusCode, r.Header.Get("Location"))
			}
		}
		if got := len(timeline(t, e, id)); got != n {
			t.Errorf("%d events after repeats and previews, want %d", got, n)
		}

		// Unknown, altered, malformed ids: a plain 404 page, never a redirect.
		alter := []byte(lid)
		alter[5] ^= 1
		bad := []string{
			"/l/" + links.NewID(), "/l/" + string(alter), "/l/" + lid + "x", "/l/" + lid[:21], "/l/", "/l/..%2F..%2Fetc",
			"/l/https:%2F%2Fevil.example", "/l/" + lid + "%00",
		}
		if up := strings.ToUpper(lid); up != lid {
			bad = append(bad, "/l/"+up)
		}
		for _, p := range bad {
			r := get(t, e.URL+p)
			if r.StatusCode != http.StatusNotFound || r.Header.Get("Location") != "" {
				t.Errorf("GET %s: %d Location %q, want 404", p, r.StatusCode, r.Header.Get("Location"))
			}
		}
		if got := len(timeline(t, e, id)); got != n {
			t.Errorf("%d events after bad ids, want %d", got, n)
		}

		// A link of a deleted conversation is gone.
		e.Must(http.StatusNoContent, "DELETE", "/v1/api_core/conversations/"+id, e.A.Write, nil)
		if r := get(t, e.URL+"/l/"+lid); r.StatusCode != http.StatusNotFound {
			t.Errorf("link of a deleted conversation: %d", r.StatusCode)
		}
	})
}

func TestClickMedium(t *testing.T) {
	t.Parallel()
	e := start(t, enginetest.SQLite)
	e.Must(http.StatusOK, "PATCH", "/v1/api_core/settings", e.A.Write, `{"link_tracking": true}`)
	for _, source := range []string{"widget", "api", "whatsapp"} {
		c := e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations", e.A.Write, map[string]any{"source": source}).Map(t)
		m := post(t, e, c["id"].(string), "ai_assistant", "https://example.com/x")
		lid := trackedIDs(e, m["content"].(string))[0]
		u, _ := url.Parse(get(t, e.URL+"/l/"+lid).Header.Get("Location"))
		if q := u.Query(); q.Get("utm_source") != "parley" || q.Get("utm_medium") != source || u.Host != "example.com" || u.Path != "/x" {
			t.Errorf("%s: redirected to %s", source, u)
		}
	}
}
