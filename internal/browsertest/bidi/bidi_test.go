package bidi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/browsertest/bidi"
)

func TestRemoteValueGo(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"type":"undefined"}`, `null`},
		{`{"type":"null"}`, `null`},
		{`{"type":"string","value":"a\"b"}`, `"a\"b"`},
		{`{"type":"number","value":12.5}`, `12.5`},
		{`{"type":"number","value":"NaN"}`, `"NaN"`},
		{`{"type":"number","value":"-0"}`, `"-0"`},
		{`{"type":"boolean","value":true}`, `true`},
		{`{"type":"bigint","value":"123"}`, `"123"`},
		{`{"type":"array","value":[{"type":"number","value":1},{"type":"string","value":"x"}]}`, `[1,"x"]`},
		{`{"type":"object","value":[["a",{"type":"number","value":1}],["b",{"type":"array","value":[]}]]}`, `{"a":1,"b":[]}`},
		{`{"type":"map","value":[[{"type":"number","value":2},{"type":"boolean","value":false}]]}`, `{"2":false}`},
		{`{"type":"node","sharedId":"x"}`, `"[node]"`},
	} {
		var v bidi.RemoteValue
		if err := json.Unmarshal([]byte(c.in), &v); err != nil {
			t.Fatal(err)
		}
		x, err := v.Go()
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		got, _ := json.Marshal(x)
		if string(got) != c.want {
			t.Errorf("%s: got %s, want %s", c.in, got, c.want)
		}
	}
}

func inCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "false" && v != "0"
}

// TestFirefox drives a small page: evaluate, fill, click, keys, viewport, screenshot, events.
func TestFirefox(t *testing.T) {
	if _, err := os.Stat(bidi.FirefoxPath); err != nil {
		if inCI() {
			t.Fatalf("%s is missing: CI must install it (apt-get install -y firefox-esr; see .ci/run)", bidi.FirefoxPath)
		}
		t.Skipf("%s is missing: install Debian's firefox-esr to run the Firefox tests", bidi.FirefoxPath)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/":
			fmt.Fprint(w, `<!doctype html><title>t</title><form action="/done" method="get">
<input id="q" name="q" aria-label="Query"><button id="go" type="submit">Go</button></form>
<a id="link" href="/done?q=link">link</a>
<script>console.error("logged " + 1 + 1)</script>`)
		case "/csp":
			w.Header().Set("Content-Security-Policy", "style-src 'self'")
			fmt.Fprint(w, `<!doctype html><title>csp</title><p style="color: red">inline style</p>`)
		case "/done":
			fmt.Fprintf(w, `<!doctype html><title>done</title><p id="got">%s</p>`, r.URL.Query().Get("q"))
		}
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := bidi.Start(ctx, bidi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	}()
	logs := make(chan string, 10)
	b.OnEvent(func(method string, params json.RawMessage) {
		if method == "log.entryAdded" {
			var e struct{ Text string }
			json.Unmarshal(params, &e)
			logs <- e.Text
		}
	})
	if err := b.Subscribe(ctx, "log.entryAdded"); err != nil {
		t.Fatal(err)
	}
	p, err := b.Page(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetViewport(ctx, 390, 700); err != nil {
		t.Fatal(err)
	}
	if err := p.Navigate(ctx, srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	select {
	case l := <-logs:
		if l != "logged 11" {
			t.Errorf("log entry %q", l)
		}
	case <-time.After(10 * time.Second):
		t.Error("no log.entryAdded event for console.error")
	}
	var got struct {
		W     int    `json:"w"`
		Title string `json:"title"`
	}
	if err := p.Eval(ctx, `({w: innerWidth, title: document.title})`, &got); err != nil {
		t.Fatal(err)
	}
	if got.W != 390 || got.Title != "t" {
		t.Errorf("viewport and title: %+v", got)
	}
	if n, err := p.ByRole(ctx, "textbox", "Query"); err != nil || len(n) != 1 {
		t.Errorf("the textbox named Query by its accessible role and name: %d found (%v)", len(n), err)
	}
	if n, err := p.ByRole(ctx, "textbox", "Nothing"); err != nil || len(n) != 0 {
		t.Errorf("a textbox named Nothing: %d found (%v)", len(n), err)
	}
	var se *bidi.ScriptError
	if err := p.Eval(ctx, `nope.nope`, nil); !asScriptError(err, &se) {
		t.Errorf("a thrown error: %v", err)
	}

	// Keyboard: Tab reaches the field, typing fills it, Enter submits.
	if err := p.Keys(ctx, bidi.KeyTab); err != nil {
		t.Fatal(err)
	}
	var id string
	if err := p.Eval(ctx, `document.activeElement.id`, &id); err != nil || id != "q" {
		t.Fatalf("after Tab the focus is on %q (%v)", id, err)
	}
	var focused bool
	if err := p.Eval(ctx, `document.hasFocus() && document.activeElement.matches(":focus-visible")`, &focused); err != nil || !focused {
		t.Errorf("the page has no focus or the field does not match :focus-visible (%v)", err)
	}
	if err := p.MarkDocument(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Type(ctx, "héllo wörld"); err != nil {
		t.Fatal(err)
	}
	if err := p.Keys(ctx, bidi.KeyEnter); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitNewDocument(ctx, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	waitAnswer(ctx, t, p)
	var text string
	if err := p.Eval(ctx, `document.querySelector("#got").textContent`, &text); err != nil || text != "héllo wörld" {
		t.Errorf("typed and submitted %q (%v)", text, err)
	}

	// Fill and click.
	if err := p.Navigate(ctx, srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	if err := p.Fill(ctx, "#q", "clicked"); err != nil {
		t.Fatal(err)
	}
	p.MarkDocument(ctx)
	if err := p.Click(ctx, "#go"); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitNewDocument(ctx, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	waitAnswer(ctx, t, p)
	if err := p.Eval(ctx, `document.querySelector("#got").textContent`, &text); err != nil || text != "clicked" {
		t.Errorf("filled and clicked %q (%v)", text, err)
	}
	if _, err := p.Element(ctx, "#missing"); err == nil {
		t.Error("a missing element was found")
	}

	// A preload script runs before the page's own content: here it reports CSP violations.
	if err := b.AddPreloadScript(ctx, `() => document.addEventListener("securitypolicyviolation", (e) => console.error("violated " + e.violatedDirective))`); err != nil {
		t.Fatal(err)
	}
	if err := p.Navigate(ctx, srv.URL+"/csp"); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
wait:
	for {
		select {
		case l := <-logs:
			if strings.HasPrefix(l, "violated style-src") {
				break wait
			}
		case <-deadline:
			t.Error("the preload script reported no CSP violation")
			break wait
		}
	}

	png, err := p.Screenshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("the screenshot is not a PNG: % x", png[:min(8, len(png))])
	}
}

func asScriptError(err error, se **bidi.ScriptError) bool {
	e, ok := err.(*bidi.ScriptError)
	*se = e
	return ok
}

// waitAnswer waits for the form's answer page (#got), not another document met on the way to
// it: Firefox has reported such a document as the new one, once after Enter and once after a
// click.
func waitAnswer(ctx context.Context, t *testing.T, p *bidi.Page) {
	t.Helper()
	if err := p.WaitTrue(ctx, `document.querySelector("#got")`, 10*time.Second); err != nil {
		var url string
		_ = p.Eval(ctx, `document.URL`, &url)
		t.Fatalf("the submitted form's answer did not come (at %s): %v", url, err)
	}
}
