package widget_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/parleyhq/parley/internal/channel/widget"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

// chromiumPath is Debian's chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// inCI reports whether the tests run in CI, where a missing browser is a failure.
func inCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "false" && v != "0"
}

// browser starts a headless Chromium for t, or skips (fails in CI) when there is none.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if inCI() {
			t.Fatalf("%s is missing: CI must install it (apt-get install chromium; see .ci/run)", chromiumPath)
		}
		t.Skipf("%s is missing: install Debian's chromium (apt-get install -y chromium) to run the browser test", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1200, 800),
	}
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	return ctx
}

// in returns a JS path into the widget's shadow root.
func in(selector string) string {
	return `document.querySelector("#parley-widget").shadowRoot.querySelector(` + fmt.Sprintf("%q", selector) + `)`
}

// TestBrowser drives the widget in a real headless Chromium: a host page on one origin loads
// widget.js from Parley on another; the visitor writes; the API sees the conversation; an
// operator's reply (with a tracked link) appears live; the link is clicked and recorded; the
// messages are back after a reload.
func TestBrowser(t *testing.T) {
	e := start(t, enginetest.SQLite, widget.Options{Poll: 100 * time.Millisecond})
	ctx := browser(t) // after the servers: its cleanup (closing the browser) runs before theirs

	// The target of the operator's link, on a third origin.
	var mu sync.Mutex
	var hits []*url.URL
	targetSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/returns" {
			mu.Lock()
			hits = append(hits, r.URL)
			mu.Unlock()
		}
		fmt.Fprint(w, "<!doctype html><title>Returns</title><h1>Returns policy</h1>")
	}))
	t.Cleanup(targetSrv.Close)

	// The customer's site: a page that embeds the widget with one script tag.
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/shop/pricing" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>Pricing</h1><p>Plans and prices.</p>
<script src="%s/widget.js" data-assistant="%s" data-title="Shop support"></script></body></html>`, e.URL, e.A.ID)
	}))
	t.Cleanup(host.Close)
	page := host.URL + "/shop/pricing?plan=pro"
	e.settings(e.A, fmt.Sprintf(`{"channels": {"widget": {"allowed_origins": [%q]}}, "link_tracking": true}`, host.URL))

	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(js string) string {
		t.Helper()
		out, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("evaluate %s: %v", js, err)
		}
		return out
	}
	// Polls run on an interval, not on animation frames, which a background tab does not get.
	poll := func(js string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))
	}
	waitFor := func(what, js string) {
		t.Helper()
		run("wait for "+what, poll(js))
	}

	run("open the host page", chromedp.Navigate(page))
	waitFor("the launcher", in(".launch"))
	if got := eval(in(".launch") + `.getAttribute("aria-label")`); got != "Open chat" {
		t.Errorf("launcher label = %q", got)
	}
	run("open the chat", chromedp.Click(chromedp.JSPath(in(".launch"))))
	waitFor("the dialog", `!`+in(".panel")+`.hidden`)
	if got := eval(`document.querySelector("#parley-widget").shadowRoot.activeElement.id`); got != "p-name" {
		t.Errorf("focus after opening is on %q, want the name field", got)
	}
	if got := eval(in(".panel") + `.getAttribute("role") + " " + ` + in(".launch") + `.getAttribute("aria-expanded")`); got != "dialog true" {
		t.Errorf("dialog role and launcher state = %q", got)
	}

	// The visitor gives a name, types a message and presses Enter.
	run("type",
		chromedp.SendKeys(chromedp.JSPath(in("#p-name")), "Ada"),
		chromedp.SendKeys(chromedp.JSPath(in("#p-msg")), "Hello from the browser"+kb.Enter),
	)
	waitFor("the sent message", in("li.visitor")+` && `+in("li.visitor")+`.textContent.includes("Hello from the browser")`)
	if got := eval(in("#p-msg") + `.value`); got != "" {
		t.Errorf("message box after sending = %q", got)
	}

	// The API lists the conversation: source widget, the host page's URL, the visitor's name.
	list := e.Must(http.StatusOK, "GET", "/v1/api_core/conversations?source=widget", e.A.Read, nil).Map(t)
	items := list["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("widget conversations = %v", list)
	}
	id := items[0].(map[string]any)["id"].(string)
	c := e.Must(http.StatusOK, "GET", "/v1/api_core/conversations/"+id, e.A.Read, nil).Map(t)
	if c["source"] != "widget" || c["url"] != page || c["visitor_name"] != "Ada" || c["last_message_content"] != "Hello from the browser" {
		t.Errorf("conversation = source %v, url %v, visitor %v, last %v", c["source"], c["url"], c["visitor_name"], c["last_message_content"])
	}

	// An operator replies through the API, with a link: it appears without a reload.
	reply := e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations/"+id+"/messages", e.A.Write, map[string]any{
		"author": "human_operator", "content": "Our returns policy: " + targetSrv.URL + "/returns?lang=en",
	}).Map(t)
	waitFor("the operator's reply", in("li.agent")+` && `+in("li.agent")+`.textContent.includes("Our returns policy")`)
	href := eval(in("li.agent a") + `.href`)
	if !strings.HasPrefix(href, e.URL+"/l/") {
		t.Errorf("the reply's link = %q, want a tracked link on %s", href, e.URL)
	}

	shots, err := os.MkdirTemp("", "parley-widget-screenshot-")
	if err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shot := filepath.Join(shots, "widget.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the widget: %s", shot)

	// The visitor clicks the link: a new tab lands on the target, with UTM parameters, and the
	// click is a tracked_link event.
	tabs := chromedp.WaitNewTarget(ctx, func(info *target.Info) bool { return info.Type == "page" })
	run("click the link", chromedp.Click(chromedp.JSPath(in("li.agent a"))))
	var tab target.ID
	select {
	case tab = <-tabs:
	case <-time.After(15 * time.Second):
		t.Fatal("the link opened no tab")
	}
	tctx, cancelTab := chromedp.NewContext(ctx, chromedp.WithTargetID(tab))
	defer cancelTab()
	if err := chromedp.Do(tctx, poll(`location.host === `+fmt.Sprintf("%q", strings.TrimPrefix(targetSrv.URL, "http://")))); err != nil {
		t.Fatalf("the new tab: %v", err)
	}
	landed, err := chromedp.Run(tctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(tctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	lu, _ := url.Parse(landed)
	if lu.Path != "/returns" || lu.Query().Get("lang") != "en" || lu.Query().Get("utm_source") != "parley" || lu.Query().Get("utm_medium") != "widget" || title != "Returns" {
		t.Errorf("landed on %s (%q)", landed, title)
	}
	mu.Lock()
	if len(hits) != 1 || hits[0].Query().Get("utm_source") != "parley" || hits[0].Query().Get("utm_medium") != "widget" {
		t.Errorf("the target received %v", hits)
	}
	mu.Unlock()
	var tl struct {
		Items []struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
	}
	e.Must(http.StatusOK, "GET", "/v1/api_core/conversations/"+id+"/events", e.A.Read, nil).JSON(t, &tl)
	last := tl.Items[len(tl.Items)-1]
	if last.Type != "tracked_link" || last.Data["message_id"] != reply["id"] || last.Data["url"] != targetSrv.URL+"/returns?lang=en" ||
		!strings.HasSuffix(href, "/l/"+fmt.Sprint(last.Data["link_id"])) {
		t.Errorf("last event = %+v, want the click of %s", last, href)
	}

	// Keyboard: Esc closes the dialog and gives the focus back to the launcher.
	run("press Esc", chromedp.SendKeys(chromedp.JSPath(in("#p-msg")), kb.Escape))
	waitFor("the dialog to close", in(".panel")+`.hidden`)
	if got := eval(`document.querySelector("#parley-widget").shadowRoot.activeElement.className`); got != "launch" {
		t.Errorf("focus after Esc is on %q, want the launcher", got)
	}

	// After a reload the conversation is still there (the session is in localStorage).
	run("reload", chromedp.Reload())
	waitFor("the launcher after the reload", in(".launch"))
	run("open the chat again", chromedp.Click(chromedp.JSPath(in(".launch"))))
	waitFor("the history", in("ol")+`.children.length === 2`)
	if got := eval(in("ol") + `.textContent`); !strings.Contains(got, "Hello from the browser") || !strings.Contains(got, "Our returns policy") {
		t.Errorf("messages after the reload = %q", got)
	}
	if got := eval(in(".pre") + `.hidden ? "hidden" : "shown"`); got != "hidden" {
		t.Errorf("the pre-chat fields are %s for a returning visitor", got)
	}
	// ...and a reply still comes live.
	e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations/"+id+"/messages", e.A.Write, map[string]any{"author": "human_operator", "content": "Anything else?"})
	waitFor("a reply after the reload", in("ol")+`.textContent.includes("Anything else?")`)
}
