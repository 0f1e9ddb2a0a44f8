package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/browsertest/bidi"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store/enginetest"
	"github.com/parleyhq/parley/internal/web"
)

// firefoxPath is Debian's Firefox ESR, which .ci/run installs.
const firefoxPath = bidi.FirefoxPath

// pageErrorsJS reports to the console, where the test collects them, what a page must never
// do: break its Content-Security-Policy (an inline style or script the browser refuses).
const pageErrorsJS = `() => {
	document.addEventListener("securitypolicyviolation", (e) => {
		console.error("Content-Security-Policy violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber);
	});
}`

// sidewaysJS measures how wide the page is against its viewport and names the elements that
// stick out on the right (outside the containers that scroll on their own).
const sidewaysJS = `(() => {
	const vw = document.documentElement.clientWidth;
	const name = (el) => el.tagName.toLowerCase() + (el.getAttribute("id") ? "#" + el.getAttribute("id") : "") +
		(el.getAttribute("class") ? "." + el.getAttribute("class").trim().split(/\s+/).join(".") : "");
	const wide = [...document.querySelectorAll("body *")].filter((el) => {
		const b = el.getBoundingClientRect();
		return b.width > 0 && b.right > vw + 1 && !el.closest(".sr-only, .svgwrap, .tabs ul, .table-wrap");
	}).slice(0, 8).map((el) => name(el) + " right=" + Math.round(el.getBoundingClientRect().right));
	return {Doc: document.documentElement.scrollWidth, Body: document.body.scrollWidth, Viewport: vw, Wide: wide};
})()`

// sideways is what sidewaysJS finds.
type sideways struct {
	Doc, Body, Viewport int
	Wide                []string
}

// firefox starts a headless Firefox for t, or skips (fails in CI) when there is none. Errors
// the pages log (uncaught exceptions, console.error, CSP violations) are gathered for
// pageErrors.
func firefox(t *testing.T) (context.Context, *bidi.Browser, *bidi.Page, func() []bidi.LogEntry) {
	t.Helper()
	if _, err := os.Stat(firefoxPath); err != nil {
		if inCI() {
			t.Fatalf("%s is missing: CI must install it (apt-get install -y firefox-esr; see .ci/run)", firefoxPath)
		}
		t.Skipf("%s is missing: install Debian's firefox-esr (apt-get install -y firefox-esr) to run the dashboard's Firefox test", firefoxPath)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	b, err := bidi.Start(ctx, bidi.Options{Path: firefoxPath})
	if err != nil {
		cancel()
		t.Fatalf("start %s: %v", firefoxPath, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("firefox's last lines on stderr:\n%s", b.Stderr())
		}
		if err := b.Close(); err != nil {
			t.Errorf("close firefox: %v", err)
		}
		cancel()
	})
	var mu sync.Mutex
	var errs []bidi.LogEntry
	b.OnEvent(func(method string, params json.RawMessage) {
		var e bidi.LogEntry
		if method != "log.entryAdded" || json.Unmarshal(params, &e) != nil || e.Level != "error" {
			return
		}
		mu.Lock()
		errs = append(errs, e)
		mu.Unlock()
	})
	if err := b.Subscribe(ctx, "log.entryAdded"); err != nil {
		t.Fatal(err)
	}
	if err := b.AddPreloadScript(ctx, pageErrorsJS); err != nil {
		t.Fatal(err)
	}
	p, err := b.Page(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, b, p, func() []bidi.LogEntry {
		mu.Lock()
		defer mu.Unlock()
		out := errs
		errs = nil
		return out
	}
}

// TestFirefox drives the dashboard in headless Firefox over WebDriver BiDi: sign in, the inbox
// and its counts, search, the keyboard path from the search field to a conversation, a
// conversation taken over, answered and resolved (with a visitor's message arriving live), the
// analytics charts, what screen readers are given (from Firefox's accessibility tree), no script
// errors or CSP violations, and every page at a phone's width without sideways scrolling. It writes
// screenshots named firefox-* beside TestBrowser's, in os.TempDir()/parley-screenshots.
func TestFirefox(t *testing.T) {
	ctx, _, p, pageErrors := firefox(t)
	e := start(t, enginetest.SQLite, web.Options{Poll: 200 * time.Millisecond})
	seedDemo(t, e.Store, e.A.ID, 120)
	op := e.operator(e.A.ID, cv.RoleAdmin, "Ada Lovelace", pw)
	shots := filepath.Join(os.TempDir(), "parley-screenshots")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	aid := e.A.ID
	in := e.URL + "/a/" + aid + "/inbox"
	const laptopW, laptopH, phoneW, phoneH = 1280, 900, 390, 844

	began := time.Now()
	step := func(what string) {
		t.Helper()
		if testing.Verbose() {
			t.Logf("%6.1fs %s", time.Since(began).Seconds(), what)
		}
		for _, le := range pageErrors() {
			t.Errorf("before %q the page logged an error: %s %s", what, le.Text, le.Where())
		}
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	str := func(js string) string {
		t.Helper()
		var s string
		must("evaluate "+js, p.Eval(ctx, "String("+js+")", &s))
		return s
	}
	num := func(js string) int64 {
		t.Helper()
		n, err := strconv.ParseInt(strings.TrimSpace(str(js)), 10, 64)
		if err != nil {
			t.Fatalf("%s is not a number: %v", js, err)
		}
		return n
	}
	waitFor := func(what, js string) {
		t.Helper()
		must(what, p.WaitTrue(ctx, js, 15*time.Second))
	}
	exists := func(sel string) string { return "document.querySelector(" + strconv.Quote(sel) + ")" }
	navigate := func(what, u, ready string) {
		t.Helper()
		step(what)
		must(what, p.Navigate(ctx, u))
		waitFor(what, exists(ready))
	}
	// follow does something that loads a new document and waits for it and for ready in it.
	follow := func(what, ready string, do func() error) {
		t.Helper()
		step(what)
		must(what, p.MarkDocument(ctx))
		must(what, do())
		must(what, p.WaitNewDocument(ctx, 15*time.Second))
		waitFor(what, exists(ready))
	}
	click := func(sel string) func() error { return func() error { return p.Click(ctx, sel) } }
	viewport := func(w, h int) {
		t.Helper()
		must("viewport", p.SetViewport(ctx, w, h))
		time.Sleep(150 * time.Millisecond) // let the layout settle
	}
	// noSideways fails when the page is wider than the viewport and names what sticks out.
	noSideways := func(what string) {
		t.Helper()
		var r sideways
		must("measure "+what, p.Eval(ctx, sidewaysJS, &r))
		if r.Doc > r.Viewport || r.Body > r.Viewport {
			t.Errorf("%s at %d px: the page scrolls sideways (document %d px, body %d px wide); too wide: %v", what, phoneW, r.Doc, r.Body, r.Wide)
		}
	}
	shot := func(name string, w, h int) {
		t.Helper()
		viewport(w, h)
		if w == phoneW {
			noSideways(name)
		}
		png, err := p.Screenshot(ctx)
		must("screenshot "+name, err)
		must("save "+name, os.WriteFile(filepath.Join(shots, "firefox-"+name+".png"), png, 0o644))
	}
	phoneAndLaptop := func(name string) {
		t.Helper()
		shot(name+"-laptop", laptopW, laptopH)
		shot(name+"-phone", phoneW, phoneH)
		viewport(laptopW, laptopH)
	}

	// Screen readers: what they announce comes from Firefox's accessibility tree, which the
	// test asks for elements by role and accessible name.
	named := func(role, name string) {
		t.Helper()
		n, err := p.ByRole(ctx, role, name)
		must("find the "+role+" "+strconv.Quote(name), err)
		if len(n) == 0 {
			t.Errorf("%s: no %s named %q for screen readers", str("location.pathname"), role, name)
		}
	}
	// labelled fails for visible form fields and buttons without a label or accessible name.
	labelled := func() {
		t.Helper()
		var bare []string
		must("find unlabelled fields", p.Eval(ctx, `[...document.querySelectorAll("input:not([type=hidden]), select, textarea, button")].filter((el) =>
			el.getClientRects().length && !(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby") && !(el.tagName === "BUTTON" && el.textContent.trim())
		).map((el) => el.outerHTML.slice(0, 120))`, &bare))
		if len(bare) > 0 {
			t.Errorf("%s: fields without a label: %v", str("location.pathname"), bare)
		}
	}

	// Signed out, the inbox sends the browser to sign in; it comes back to the inbox after.
	viewport(laptopW, laptopH)
	navigate("open the inbox signed out", in, "#email")
	if loc := str("location.pathname"); loc != "/signin" {
		t.Fatalf("a signed-out browser is at %s, want /signin", loc)
	}
	shot("signin-phone", phoneW, phoneH)
	viewport(laptopW, laptopH)
	step("fill in the sign-in form")
	must("email", p.Fill(ctx, "#email", op.Email))
	must("password", p.Fill(ctx, "#password", pw))
	follow("sign in", "#rows", click(`button[type="submit"]`))
	if loc := str("location.pathname"); loc != "/a/"+aid+"/inbox" {
		t.Fatalf("after sign-in the browser is at %s", loc)
	}

	// The inbox lists the demo data with the store's counts.
	counts := map[string]url.Values{
		"all": {}, "open": {"resolution_status": {"open"}}, "closed": {"resolution_status": {"resolved"}},
		"unassigned": {"resolution_status": {"open"}, "assignee_type": {"unassigned"}},
		"mine":       {"resolution_status": {"open"}, "assignee_id": {op.ID}},
	}
	checkCounts := func(what string) {
		t.Helper()
		for view, q := range counts {
			got := num(`document.querySelector('[data-count="` + view + `"]').textContent`)
			if want := storeCount(t, e.Store, aid, q); got != want {
				t.Errorf("%s: the %s tab counts %d, the store %d", what, view, got, want)
			}
		}
	}
	checkCounts("first load")
	if n := num(`document.querySelectorAll("#rows li.row").length`); n != web.PageSize {
		t.Errorf("the first page lists %d conversations, want %d", n, web.PageSize)
	}
	if !strings.Contains(str(`document.querySelector("#rows").textContent`), "Positive") {
		t.Error("the rows show no sentiment badges")
	}
	phoneAndLaptop("inbox")
	named("navigation", "Main")
	named("navigation", "Views")
	named("search", "Search and filter conversations")
	named("searchbox", "Search conversations")
	named("list", "Conversations")
	named("main", "")
	labelled()

	// At a phone's width the inbox is still usable: the search field and the rows fit the
	// screen and are big enough to tap.
	viewport(phoneW, phoneH)
	var fit struct{ Search, Row, Height float64 }
	must("measure the phone inbox", p.Eval(ctx, `({
		Search: document.querySelector("#f-query").getBoundingClientRect().right,
		Row: document.querySelector("#rows li.row a").getBoundingClientRect().right,
		Height: document.querySelector("#rows li.row a").getBoundingClientRect().height})`, &fit))
	if fit.Search > phoneW || fit.Row > phoneW || fit.Height < 40 {
		t.Errorf("at %d px the search field ends at %.0f px, the first row at %.0f px and is %.0f px tall", phoneW, fit.Search, fit.Row, fit.Height)
	}
	viewport(laptopW, laptopH)

	// Keyboard: from a fresh inbox, Tab goes to the skip link first, then on to the search
	// field and later to the first conversation, each with a visible focus ring; Enter opens it.
	navigate("a fresh inbox for the keyboard", in, "#rows")
	step("tab through the inbox")
	var path []string
	focused := func() string {
		return str(`(() => { const a = document.activeElement; return a.id ? "#" + a.id : a.matches("#rows li.row a") ? "row" : a.matches(".skip") ? "skip" : a.tagName.toLowerCase() + ":" + a.textContent.trim().slice(0, 20); })()`)
	}
	focusRing := func() string {
		return str(`getComputedStyle(document.activeElement).boxShadow`)
	}
	sawSearch := false
	for range 80 {
		must("Tab", p.Keys(ctx, bidi.KeyTab))
		f := focused()
		path = append(path, f)
		if len(path) == 1 && f != "skip" {
			t.Errorf("the first Tab focuses %s, not the skip link", f)
		}
		if f == "#f-query" {
			sawSearch = true
			if r := focusRing(); r == "none" {
				t.Error("the search field shows no focus ring")
			}
		}
		if f == "row" {
			break
		}
	}
	if !sawSearch || path[len(path)-1] != "row" {
		t.Fatalf("Tab does not reach the search field and then the first conversation: %v", path)
	}
	if r := focusRing(); r == "none" {
		t.Error("the focused conversation shows no focus ring")
	}
	if testing.Verbose() {
		t.Logf("Tab order to the first conversation: %v", path)
	}
	href := str(`document.activeElement.getAttribute("href")`)
	follow("Enter opens the conversation", "#timeline", func() error { return p.Keys(ctx, bidi.KeyEnter) })
	if loc := str("location.pathname"); loc != href {
		t.Errorf("Enter on the first conversation opened %s, want %s", loc, href)
	}
	// The skip link moves the focus to the content.
	must("Tab", p.Keys(ctx, bidi.KeyTab))
	if f := focused(); f != "skip" {
		t.Errorf("the first Tab on a conversation focuses %s, not the skip link", f)
	}
	must("Enter", p.Keys(ctx, bidi.KeyEnter))
	waitFor("the skip link moves the focus", `document.activeElement.id === "main"`)

	// Search narrows the list, to the store's count: typed, then Enter.
	word := ""
	for _, w := range []string{"order", "refund", "parcel", "password", "invoice", "bestelling", "Bestellung", "thanks"} {
		if n := storeCount(t, e.Store, aid, url.Values{"query": {w}}); n > 0 && n < 120 {
			word = w
			break
		}
	}
	if word == "" {
		t.Fatal("no search word narrows the demo data")
	}
	navigate("inbox", in, "#rows")
	step("type a search")
	must("type the search", p.Fill(ctx, "#f-query", word))
	follow("search", "#rows", func() error { return p.Keys(ctx, bidi.KeyEnter) })
	if q := str(`new URLSearchParams(location.search).get("query")`); q != word {
		t.Errorf("the search page's query is %q, want %q", q, word)
	}
	got, want := num(`document.querySelector("#count").textContent.split(" ")[0]`), storeCount(t, e.Store, aid, url.Values{"query": {word}})
	if got != want || want == 0 || want >= 120 {
		t.Errorf("searching %q: the inbox counts %d, the store %d (of 120)", word, got, want)
	}
	if n := num(`document.querySelectorAll("#rows li.row").length`); int64(n) != min(want, int64(web.PageSize)) {
		t.Errorf("searching %q lists %d rows, want %d", word, n, min(want, int64(web.PageSize)))
	}
	navigate("filter", in+"?source=telegram&sentiment=negative", "#rows")
	got, want = num(`document.querySelector("#count").textContent.split(" ")[0]`), storeCount(t, e.Store, aid, url.Values{"source": {"telegram"}, "sentiment": {"negative"}})
	if got != want || want >= 120 {
		t.Errorf("telegram and negative: the inbox counts %d, the store %d", got, want)
	}

	// Open a conversation of a channel that takes replies.
	navigate("inbox of telegram", in+"?source=telegram", "#rows")
	follow("open a conversation", "#timeline", click("#rows li.row a"))
	convPath := str("location.pathname")
	id := convPath[strings.LastIndex(convPath, "/")+1:]

	// A visitor's message arrives live, over Server-Sent Events.
	waitFor("the live stream opens", `document.body.dataset.liveOpen`)
	step("a visitor writes")
	visitorMsg := "Is my parcel coming today?"
	if r := e.Do("POST", "/v1/api_core/conversations/"+id+"/messages", e.A.Write, map[string]any{"author": "visitor", "content": visitorMsg}); r.Status >= 300 {
		t.Fatalf("append a visitor message: %d %s", r.Status, r.Body)
	}
	waitFor("the visitor's message appears live", `[...document.querySelectorAll("#timeline .msg-visitor .text")].some((e) => e.textContent === `+strconv.Quote(visitorMsg)+`)`)

	// Take over, reply, resolve.
	follow("take over", "#done", click(`[data-action="assign"]`))
	if a := str(`document.querySelector("#assignee").textContent`); a != "You" {
		t.Errorf("after taking over the assignee shows %q", a)
	}
	reply := "Hello from Ada, your parcel is on its way."
	step("type a reply")
	must("type the reply", p.Fill(ctx, "#reply-text", reply))
	follow("reply", "#done", click(`#reply button[type="submit"]`))
	if str(`[...document.querySelectorAll("#timeline .msg-human_operator .text")].some((e) => e.textContent === `+strconv.Quote(reply)+`)`) != "true" {
		t.Error("the reply is not in the timeline")
	}
	phoneAndLaptop("conversation")
	named("textbox", "Reply to "+str(`document.querySelector("#conv-head h1").firstChild.textContent.trim()`))
	named("button", "Send reply")
	named("button", "Resolve")
	named("complementary", "Conversation details")
	labelled()
	follow("resolve", "#done", click(`[data-action="resolve"]`))
	if s := str(`document.querySelector("#status").textContent`); s != "Resolved" {
		t.Errorf("after resolving the status shows %q", s)
	}

	// The API agrees.
	d := e.Must(http.StatusOK, "GET", "/v1/api_core/conversations/"+id+"/", e.A.Read, nil).Map(t)
	if as := d["assignee"].(map[string]any); as["type"] != "human_operator" || as["id"] != op.ID || as["name"] != op.Name {
		t.Errorf("the API's assignee: %v", as)
	}
	if d["resolution_status"] != "resolved" || d["last_message_content"] != reply {
		t.Errorf("the API after take over, reply and resolve: %v", d)
	}
	// And so do the counts.
	navigate("back to the inbox", in, "#rows")
	checkCounts("after resolving")

	// Analytics draws its charts from the aggregates, at a size a person can read.
	from, to := time.Now().UTC().AddDate(0, 0, -20).Format(time.DateOnly), time.Now().UTC().Format(time.DateOnly)
	navigate("analytics", e.URL+"/a/"+aid+"/analytics?from="+from+"&to="+to, `svg[data-chart="volume"]`)
	days := int64(21)
	if n := num(`document.querySelectorAll('svg[data-chart="volume"] g.bar').length`); n != days {
		t.Errorf("the volume chart has %d bars, want %d (one a day)", n, days)
	}
	if n := num(`document.querySelectorAll('svg[data-chart="handoff"] .point').length`); n != days {
		t.Errorf("the handoff chart has %d points, want %d", n, days)
	}
	f, _ := api.ParseListFilter(url.Values{"created_timestamp_start_date": {from}, "created_timestamp_end_date": {to}})
	agg, err := e.Store.Analytics(context.Background(), aid, cv.AnalyticsQuery{Filter: f, GroupBy: []string{cv.GroupTopic}})
	if err != nil {
		t.Fatal(err)
	}
	if n := num(`document.querySelectorAll('svg[data-chart="topics"] rect.bar').length`); n != int64(min(10, len(agg.Groups))) {
		t.Errorf("the topics chart has %d bars, the aggregates %d groups", n, len(agg.Groups))
	}
	if n := num(`document.querySelector("#total-conversations").textContent`); n != agg.Total.Conversations {
		t.Errorf("analytics total %d, aggregates %d", n, agg.Total.Conversations)
	}
	var segs int64
	for _, g := range agg.Groups {
		segs += g.Conversations
	}
	if sum := num(`[...document.querySelectorAll('svg[data-chart="volume"] g.bar')].reduce((s, g) => s + Number(g.dataset.total), 0)`); sum != segs {
		t.Errorf("the volume chart's bars add up to %d, the aggregates to %d", sum, segs)
	}
	checkDrawn := func(width int) {
		t.Helper()
		var drawn []struct {
			Chart                 string
			Width, Height, Aspect float64
			Marks                 int
		}
		must("measure the charts", p.Eval(ctx, `[...document.querySelectorAll("svg[data-chart]")].map((s) => {
			const b = s.getBoundingClientRect(), vb = s.viewBox.baseVal;
			const marks = [...s.querySelectorAll("rect, circle")].filter((m) => { const r = m.getBoundingClientRect(); return r.width > 0 && r.height > 0; }).length;
			return {Chart: s.dataset.chart, Width: b.width, Height: b.height, Aspect: vb.height / vb.width, Marks: marks};
		})`, &drawn))
		if len(drawn) < 3 {
			t.Errorf("the analytics page draws %d charts", len(drawn))
		}
		// Each chart fills its card's width and keeps its viewBox's proportions (height: auto).
		for _, c := range drawn {
			if c.Width < 200 || c.Width > float64(width) || c.Marks == 0 || math.Abs(c.Height-c.Width*c.Aspect) > 2 {
				t.Errorf("at %d px the %s chart is drawn %.0fx%.0f px (its viewBox wants a height of %.0f) with %d visible marks", width, c.Chart, c.Width, c.Height, c.Width*c.Aspect, c.Marks)
			}
		}
	}
	checkDrawn(laptopW)
	var titles []string
	must("chart titles", p.Eval(ctx, `[...document.querySelectorAll("svg[data-chart] > title")].map((t) => t.textContent)`, &titles))
	for _, title := range titles {
		named("image", title) // role="img": Firefox computes the role ARIA 1.3 calls image
	}
	labelled()
	shot("analytics-laptop", laptopW, laptopH)
	shot("analytics-phone", phoneW, phoneH)
	checkDrawn(phoneW)
	viewport(laptopW, laptopH)

	navigate("settings", e.URL+"/a/"+aid+"/settings", "#general")
	phoneAndLaptop("settings")
	labelled()
	step("done")
	t.Logf("screenshots: %s", shots)
	fmt.Fprintln(os.Stderr, "dashboard screenshots (Firefox):", shots)
}
