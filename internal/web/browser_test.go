package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleyhq/parley/internal/api"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/demo"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/enginetest"
	"github.com/parleyhq/parley/internal/web"
)

// chromiumPath is Debian's chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

func inCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "false" && v != "0"
}

// chromium starts a headless Chromium for t, or skips (fails in CI) when there is none.
func chromium(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if inCI() {
			t.Fatalf("%s is missing: CI must install it (apt-get install -y chromium; see .ci/run)", chromiumPath)
		}
		t.Skipf("%s is missing: install Debian's chromium (apt-get install -y chromium) to run the dashboard's browser test", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	return ctx
}

// seedDemo puts the demo data set in assistant aid, with an analysis on each conversation
// (the analyzers run in the server's job runner, which this test does not start).
func seedDemo(t *testing.T, st store.Store, aid string, n int) {
	t.Helper()
	ctx := context.Background()
	convs := demo.Generate(7, n, time.Now().UTC(), 20*24*time.Hour)
	for i := range convs {
		if err := convs[i].Validate(); err != nil {
			t.Fatal(err)
		}
	}
	res, err := st.CreateConversations(ctx, aid, convs)
	if err != nil {
		t.Fatal(err)
	}
	topics := []string{"Billing", "Shipping", "Returns", "Account", "Product question"}
	for i, r := range res {
		s, tp := cv.Sentiments[i%3], topics[i%len(topics)]
		flag := i%9 == 0
		u := map[string]any{"sentiment": s, "topic": tp, "is_flagged": flag, "resolution_status": "resolved"}
		if flag {
			u["flag_reason"] = "The visitor was unhappy"
		}
		b, _ := json.Marshal(u)
		if _, err := st.SaveAnalysis(ctx, aid, r.Conversation.ID, cv.Analysis{Unified: b, Sentiment: &s, Topic: &tp, IsFlagged: flag}); err != nil {
			t.Fatal(err)
		}
	}
}

// storeCount counts assistant aid's conversations that match list API parameters.
func storeCount(t *testing.T, st store.Store, aid string, q url.Values) int64 {
	t.Helper()
	f, err := api.ParseListFilter(q)
	if err != nil {
		t.Fatal(err)
	}
	f.Limit = 1
	page, err := st.Conversations(context.Background(), aid, f)
	if err != nil {
		t.Fatal(err)
	}
	return page.Count
}

// TestBrowser drives the dashboard in headless Chromium: sign in, the inbox and its counts,
// search and filters, a day of support on one conversation seen live by a second browser, the
// analytics charts, and the refusals. It writes screenshots of the main pages at laptop and
// phone widths to os.TempDir()/parley-screenshots.
func TestBrowser(t *testing.T) {
	ctx := chromium(t)
	e := start(t, enginetest.SQLite, web.Options{Poll: 200 * time.Millisecond})
	seedDemo(t, e.Store, e.A.ID, 120)
	op := e.operator(e.A.ID, cv.RoleAdmin, "Ada Lovelace", pw)
	shots := filepath.Join(os.TempDir(), "parley-screenshots")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	aid := e.A.ID
	in := e.URL + "/a/" + aid + "/inbox"

	began := time.Now()
	run := func(ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if testing.Verbose() {
			t.Logf("%6.1fs %s", time.Since(began).Seconds(), what)
		}
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(ctx context.Context, js string) string {
		t.Helper()
		out, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("evaluate %s: %v", js, err)
		}
		return out
	}
	num := func(ctx context.Context, js string) int64 {
		t.Helper()
		n, err := strconv.ParseInt(strings.TrimSpace(eval(ctx, js)), 10, 64)
		if err != nil {
			t.Fatalf("%s is not a number: %v", js, err)
		}
		return n
	}
	waitFor := func(ctx context.Context, what, js string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if eval(ctx, "String(!!("+js+"))") == "true" {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: %s did not become true within 15s", what, js)
	}
	shot := func(ctx context.Context, name string, width, height int64) {
		t.Helper()
		run(ctx, "viewport", chromedp.EmulateViewport(width, height))
		time.Sleep(150 * time.Millisecond)
		// At a phone's width nothing may make the page scroll sideways.
		var r sideways
		if err := json.Unmarshal([]byte(eval(ctx, "JSON.stringify("+sidewaysJS+")")), &r); err != nil {
			t.Fatal(err)
		}
		if r.Doc > r.Viewport || r.Body > r.Viewport {
			t.Errorf("%s: the page scrolls sideways (document %d px, body %d px, viewport %d px); too wide: %v", name, r.Doc, r.Body, r.Viewport, r.Wide)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	signIn := func(ctx context.Context) {
		t.Helper()
		run(ctx, "sign in", chromedp.Navigate(in), chromedp.WaitVisible("#email"))
		if loc := eval(ctx, "location.pathname"); loc != "/signin" {
			t.Fatalf("a signed-out browser is at %s, want /signin", loc)
		}
		run(ctx, "fill in the sign-in form",
			chromedp.SetValue("#email", op.Email), chromedp.SetValue("#password", pw),
			chromedp.Click(`button[type="submit"]`), chromedp.WaitVisible("#rows"))
	}

	// Sign in: the browser comes back to the inbox it asked for.
	signIn(ctx)
	if loc := eval(ctx, "location.pathname"); loc != "/a/"+aid+"/inbox" {
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
			got := num(ctx, `document.querySelector('[data-count="`+view+`"]').textContent`)
			if want := storeCount(t, e.Store, aid, q); got != want {
				t.Errorf("%s: the %s tab counts %d, the store %d", what, view, got, want)
			}
		}
	}
	checkCounts("first load")
	if n := num(ctx, `String(document.querySelectorAll("#rows li.row").length)`); n != web.PageSize {
		t.Errorf("the first page lists %d conversations, want %d", n, web.PageSize)
	}
	if !strings.Contains(eval(ctx, `document.querySelector("#rows").textContent`), "Positive") {
		t.Error("the rows show no sentiment badges")
	}
	shot(ctx, "inbox-laptop", 1280, 900)
	shot(ctx, "inbox-phone", 390, 844)
	run(ctx, "laptop", chromedp.EmulateViewport(1280, 900))

	// Search and a filter narrow the list, to the store's counts.
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
	eval(ctx, `document.querySelector("#f-query").value = `+strconv.Quote(word)+`; ""`)
	run(ctx, "search", chromedp.Click(`.searchbar button[type="submit"]`), chromedp.WaitVisible("#rows"))
	waitFor(ctx, "the search page", `location.search.includes("query=") && document.readyState === "complete"`)
	got, want := num(ctx, `document.querySelector("#count").textContent.split(" ")[0]`), storeCount(t, e.Store, aid, url.Values{"query": {word}})
	if got != want || want == 0 || want >= 120 {
		t.Errorf("searching %q: the inbox counts %d, the store %d (of 120)", word, got, want)
	}
	run(ctx, "filter", chromedp.Navigate(in+"?source=telegram&sentiment=negative"), chromedp.WaitVisible("#rows"))
	got, want = num(ctx, `document.querySelector("#count").textContent.split(" ")[0]`), storeCount(t, e.Store, aid, url.Values{"source": {"telegram"}, "sentiment": {"negative"}})
	if got != want || want >= 120 {
		t.Errorf("telegram and negative: the inbox counts %d, the store %d", got, want)
	}

	// Open a conversation of a channel that takes replies.
	run(ctx, "inbox", chromedp.Navigate(in+"?source=telegram"), chromedp.WaitVisible("#rows"))
	run(ctx, "open a conversation", chromedp.Click("#rows li.row a"), chromedp.WaitVisible("#timeline"))
	convPath := eval(ctx, "location.pathname")
	id := convPath[strings.LastIndex(convPath, "/")+1:]

	// A second browser, signed in on its own, watches the same conversation.
	ctx2, cancel2 := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancel2()
	signIn(ctx2)
	run(ctx2, "second browser opens the conversation", chromedp.Navigate(e.URL+convPath), chromedp.WaitVisible("#timeline"))
	waitFor(ctx2, "the live stream opens", `document.body.dataset.liveOpen`)
	ctx3, cancel3 := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancel3()
	run(ctx3, "a third browser on the inbox", chromedp.Navigate(in), chromedp.WaitVisible("#email"))

	// Take over, reply, resolve.
	run(ctx, "take over", chromedp.Click(`[data-action="assign"]`), chromedp.WaitVisible("#done"))
	if a := eval(ctx, `document.querySelector("#assignee").textContent`); a != "You" {
		t.Errorf("after taking over the assignee shows %q", a)
	}
	reply := "Hello from Ada, your parcel is on its way."
	// The page already shows a #done notice (of the take over): remove it, so that waiting for
	// one waits for the page the reply leads to.
	eval(ctx, `document.getElementById("done").remove(); ""`)
	run(ctx, "reply", chromedp.SetValue("#reply-text", reply), chromedp.Click(`#reply button[type="submit"]`), chromedp.WaitVisible("#done"))
	waitFor(ctx2, "the second browser sees the reply live", `[...document.querySelectorAll("#timeline .msg-human_operator .text")].some(e => e.textContent === `+strconv.Quote(reply)+`)`)
	shot(ctx, "conversation-laptop", 1280, 900)
	shot(ctx, "conversation-phone", 390, 844)
	run(ctx, "laptop", chromedp.EmulateViewport(1280, 900))
	eval(ctx, `document.getElementById("done").remove(); ""`)
	run(ctx, "resolve", chromedp.Click(`[data-action="resolve"]`), chromedp.WaitVisible("#done"))
	waitFor(ctx2, "the second browser sees the resolution live", `document.querySelector("#status").textContent === "Resolved"`)

	// The API agrees.
	d := e.Must(http.StatusOK, "GET", "/v1/api_core/conversations/"+id+"/", e.A.Read, nil).Map(t)
	if as := d["assignee"].(map[string]any); as["type"] != "human_operator" || as["id"] != op.ID || as["name"] != op.Name {
		t.Errorf("the API's assignee: %v", as)
	}
	if d["resolution_status"] != "resolved" || d["last_message_content"] != reply || d["has_unread_messages"] != false {
		t.Errorf("the API after take over, reply and resolve: %v", d)
	}
	// And so do the counts.
	run(ctx, "back to the inbox", chromedp.Navigate(in), chromedp.WaitVisible("#rows"))
	checkCounts("after resolving")

	// A signed-out browser is sent to sign in; a POST without the CSRF token is refused.
	run(ctx3, "signed-out conversation", chromedp.Navigate(e.URL+convPath), chromedp.WaitVisible("#email"))
	if loc := eval(ctx3, "location.pathname"); loc != "/signin" {
		t.Errorf("a signed-out browser opening a conversation is at %s", loc)
	}
	status, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(`+strconv.Quote(convPath+"/reopen")+`, {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "version=99"}).then(r => String(r.status))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if status != "403" {
		t.Errorf("a POST without the CSRF token: %s, want 403", status)
	}

	// Analytics draws its charts from the aggregates.
	from, to := time.Now().UTC().AddDate(0, 0, -20).Format(time.DateOnly), time.Now().UTC().Format(time.DateOnly)
	run(ctx, "analytics", chromedp.Navigate(e.URL+"/a/"+aid+"/analytics?from="+from+"&to="+to), chromedp.WaitVisible(`svg[data-chart="volume"]`))
	days := int64(21)
	if n := num(ctx, `String(document.querySelectorAll('svg[data-chart="volume"] g.bar').length)`); n != days {
		t.Errorf("the volume chart has %d bars, want %d (one a day)", n, days)
	}
	if n := num(ctx, `String(document.querySelectorAll('svg[data-chart="handoff"] .point').length)`); n != days {
		t.Errorf("the handoff chart has %d points, want %d", n, days)
	}
	f, _ := api.ParseListFilter(url.Values{"created_timestamp_start_date": {from}, "created_timestamp_end_date": {to}})
	agg, err := e.Store.Analytics(context.Background(), aid, cv.AnalyticsQuery{Filter: f, GroupBy: []string{cv.GroupTopic}})
	if err != nil {
		t.Fatal(err)
	}
	if n := num(ctx, `String(document.querySelectorAll('svg[data-chart="topics"] rect.bar').length)`); n != int64(min(10, len(agg.Groups))) {
		t.Errorf("the topics chart has %d bars, the aggregates %d groups", n, len(agg.Groups))
	}
	if n := num(ctx, `document.querySelector("#total-conversations").textContent`); n != agg.Total.Conversations {
		t.Errorf("analytics total %d, aggregates %d", n, agg.Total.Conversations)
	}
	var segs int64
	for _, g := range agg.Groups {
		segs += g.Conversations
	}
	if sum := num(ctx, `String([...document.querySelectorAll('svg[data-chart="volume"] g.bar')].reduce((s, g) => s + Number(g.dataset.total), 0))`); sum != segs {
		t.Errorf("the volume chart's bars add up to %d, the aggregates to %d", sum, segs)
	}
	href := eval(ctx, `document.querySelector('svg[data-chart="topics"] a').getAttribute("href")`)
	if !strings.Contains(href, "/inbox?") || !strings.Contains(href, "topic=") {
		t.Errorf("a topic bar links to %q, not to its list", href)
	}
	shot(ctx, "analytics-laptop", 1280, 900)
	shot(ctx, "analytics-phone", 390, 844)
	run(ctx, "laptop", chromedp.EmulateViewport(1280, 900))
	run(ctx, "settings", chromedp.Navigate(e.URL+"/a/"+aid+"/settings"), chromedp.WaitVisible("#general"))
	shot(ctx, "settings-laptop", 1280, 900)
	shot(ctx, "settings-phone", 390, 844)
	run(ctx3, "sign-in page", chromedp.Navigate(e.URL+"/signin"), chromedp.WaitVisible("#email"))
	shot(ctx3, "signin-phone", 390, 844)
	t.Logf("screenshots: %s", shots)
	fmt.Fprintln(os.Stderr, "dashboard screenshots:", shots)
}
