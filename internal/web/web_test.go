package web_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store/enginetest"
	"github.com/parleyhq/parley/internal/web"
)

const pw = "correct horse battery"

func strp(s string) *string { return &s }

func TestSignIn(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, web.Options{})
		op := e.operator(e.A.ID, cv.RoleOperator, "Ada Lovelace", pw)

		// Signed out: pages send the browser to sign in, other requests are refused.
		b := e.browser()
		p := b.get("/a/" + e.A.ID + "/inbox")
		wantStatus(t, "signed-out inbox", p, http.StatusSeeOther)
		if loc := p.Header.Get("Location"); !strings.HasPrefix(loc, "/signin?next=") {
			t.Errorf("signed-out inbox redirects to %q, want /signin?next=...", loc)
		}
		wantStatus(t, "signed-out root", b.get("/"), http.StatusSeeOther)
		wantStatus(t, "signed-out live", b.do("GET", "/a/"+e.A.ID+"/live", nil, "Accept", "text/event-stream"), http.StatusUnauthorized)

		// A wrong password and an unknown email get the same answer.
		wrong := b.signIn(op.Email, "not the password")
		unknown := b.signIn("nobody@example.com", pw)
		wantStatus(t, "wrong password", wrong, http.StatusUnauthorized)
		wantStatus(t, "unknown email", unknown, http.StatusUnauthorized)
		for _, p := range []page{wrong, unknown} {
			if !strings.Contains(p.Body, "The email or password is not right.") {
				t.Errorf("a failed sign-in does not give the one generic message: %s", p.Body)
			}
		}

		p = b.signIn(strings.ToUpper(op.Email), pw)
		wantStatus(t, "sign in", p, http.StatusSeeOther)
		if loc := p.Header.Get("Location"); loc != "/a/"+e.A.ID+"/inbox" {
			t.Errorf("sign-in lands on %q, want the inbox of assistant A", loc)
		}
		var cookie string
		for _, c := range p.Header.Values("Set-Cookie") {
			if strings.HasPrefix(c, "parley_session=") {
				cookie = c
			}
		}
		for _, want := range []string{"HttpOnly", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(cookie, want) {
				t.Errorf("session cookie %q lacks %s", cookie, want)
			}
		}
		if strings.Contains(cookie, "Secure") {
			t.Errorf("session cookie %q is Secure over plain HTTP", cookie)
		}
		wantStatus(t, "inbox", b.get("/a/"+e.A.ID+"/inbox"), http.StatusOK)

		// Sign out: the cookie no longer opens anything.
		old := b.c.Jar.Cookies(mustURL(t, e.URL))
		wantStatus(t, "sign out", b.post("/signout", nil), http.StatusSeeOther)
		wantStatus(t, "inbox after sign-out", b.get("/a/"+e.A.ID+"/inbox"), http.StatusSeeOther)
		replay := e.browser()
		replay.c.Jar.SetCookies(mustURL(t, e.URL), old)
		wantStatus(t, "old cookie after sign-out", replay.get("/a/"+e.A.ID+"/inbox"), http.StatusSeeOther)
	})
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSecureCookieBehindHTTPS(t *testing.T) {
	e := start(t, enginetest.SQLite, web.Options{PublicURL: "https://parley.example.com"})
	op := e.operator(e.A.ID, cv.RoleOperator, "Ada", pw)
	p := e.browser().signIn(op.Email, pw)
	wantStatus(t, "sign in", p, http.StatusSeeOther)
	c := strings.Join(p.Header.Values("Set-Cookie"), "\n")
	if !strings.Contains(c, "__Host-parley_session=") || !strings.Contains(c, "Secure") {
		t.Errorf("with an https public URL the session cookie is not a Secure __Host- cookie: %s", c)
	}
}

func TestSignInRateLimit(t *testing.T) {
	e := start(t, enginetest.SQLite, web.Options{SignInLimits: web.SignInLimits{
		PerIPEvery: time.Hour, PerIPBurst: 6, PerEmailEvery: time.Hour, PerEmailBurst: 3}})
	op := e.operator(e.A.ID, cv.RoleOperator, "Ada", pw)
	b := e.browser()
	for i := range 3 {
		wantStatus(t, "attempt "+itoa(i+1), b.signIn(op.Email, "wrong password!"), http.StatusUnauthorized)
	}
	// The email's bucket is empty: even the right password waits.
	p := b.signIn(op.Email, pw)
	wantStatus(t, "4th attempt for one email", p, http.StatusTooManyRequests)
	if p.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	if strings.Contains(p.Body, "password is not right") {
		t.Error("the 429 page says whether the password was right")
	}
	// Other emails from the same address, until the address's bucket is empty too.
	wantStatus(t, "other email", b.signIn("x@example.com", pw), http.StatusUnauthorized)
	wantStatus(t, "other email", b.signIn("y@example.com", pw), http.StatusUnauthorized)
	wantStatus(t, "7th attempt from one address", b.signIn("z@example.com", pw), http.StatusTooManyRequests)
}

func TestSessionExpiry(t *testing.T) {
	e := start(t, enginetest.SQLite, web.Options{IdleTimeout: 12 * time.Hour, MaxAge: 7 * 24 * time.Hour})
	op := e.operator(e.A.ID, cv.RoleOperator, "Ada", pw)
	inbox := "/a/" + e.A.ID + "/inbox"

	idle := e.browser()
	idle.mustSignIn(op.Email, pw)
	busy := e.browser()
	busy.mustSignIn(op.Email, pw)
	// The busy browser is used every 6 hours for 6 days: never idle for 12 hours.
	for range 24 {
		e.clock.advance(6 * time.Hour)
		wantStatus(t, "busy session", busy.get(inbox), http.StatusOK)
	}
	wantStatus(t, "idle session after 6 days", idle.get(inbox), http.StatusSeeOther)
	// Past 7 days the busy one ends too.
	e.clock.advance(25 * time.Hour)
	wantStatus(t, "busy session after 7 days", busy.get(inbox), http.StatusSeeOther)
}

func TestCSRF(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, web.Options{})
		op := e.operator(e.A.ID, cv.RoleAdmin, "Ada", pw)
		c := e.conversation(e.A.ID, cv.NewConversation{Source: cv.SourceWidget, Messages: []cv.NewMessage{{Author: cv.AuthorVisitor, Content: "hi"}}})
		b := e.browser()
		b.mustSignIn(op.Email, pw)
		path := "/a/" + e.A.ID + "/c/" + c.ID + "/resolve"
		form := url.Values{"version": {itoa(int(c.Version))}}
		wantStatus(t, "POST without a CSRF token", b.do("POST", path, form), http.StatusForbidden)
		bad := url.Values{"version": {itoa(int(c.Version))}, "_csrf": {"forged"}}
		wantStatus(t, "POST with a wrong CSRF token", b.do("POST", path, bad), http.StatusForbidden)
		good := url.Values{"version": {itoa(int(c.Version))}, "_csrf": {b.csrf}}
		wantStatus(t, "POST from another site", b.do("POST", path, good, "Origin", "https://evil.example"), http.StatusForbidden)
		wantStatus(t, "POST cross-site by fetch metadata", b.do("POST", path, good, "Sec-Fetch-Site", "cross-site"), http.StatusForbidden)
		wantStatus(t, "settings POST without a token", b.do("POST", "/a/"+e.A.ID+"/settings/token-create", url.Values{"name": {"x"}, "scope": {"read_all"}}), http.StatusForbidden)
		wantStatus(t, "sign-out without a token", b.do("POST", "/signout", url.Values{}), http.StatusForbidden)
		if got, _ := e.Store.Conversation(context.Background(), e.A.ID, c.ID); got.ResolutionStatus != cv.StatusOpen {
			t.Fatal("a refused POST changed the conversation")
		}
		wantStatus(t, "POST with the token", b.do("POST", path, good, "Origin", e.URL, "Sec-Fetch-Site", "same-origin"), http.StatusSeeOther)
		if got, _ := e.Store.Conversation(context.Background(), e.A.ID, c.ID); got.ResolutionStatus != cv.StatusResolved {
			t.Fatal("the POST with the token did not resolve the conversation")
		}
		// The sign-in form has its own token.
		wantStatus(t, "sign-in without the form token", e.browser().do("POST", "/signin", url.Values{"email": {op.Email}, "password": {pw}}), http.StatusForbidden)
	})
}

func TestTenancy(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, web.Options{})
		op := e.operator(e.A.ID, cv.RoleAdmin, "Ada", pw)
		mine := e.conversation(e.A.ID, cv.NewConversation{Source: cv.SourceWidget, VisitorName: strp("Mine")})
		theirs := e.conversation(e.B.ID, cv.NewConversation{Source: cv.SourceWidget, VisitorName: strp("Theirs")})
		b := e.browser()
		b.mustSignIn(op.Email, pw)
		wantStatus(t, "own conversation", b.get("/a/"+e.A.ID+"/c/"+mine.ID), http.StatusOK)
		for _, path := range []string{
			"/a/" + e.B.ID + "/c/" + theirs.ID, // B's, under B
			"/a/" + e.A.ID + "/c/" + theirs.ID, // B's, under A
			"/a/" + e.B.ID + "/inbox", "/a/" + e.B.ID + "/analytics", "/a/" + e.B.ID + "/settings",
			"/a/" + e.B.ID + "/export?format=csv", "/a/" + e.A.ID + "/c/not-a-uuid",
		} {
			wantStatus(t, path, b.get(path), http.StatusNotFound)
		}
		form := url.Values{"version": {itoa(int(theirs.Version))}}
		wantStatus(t, "resolve B's conversation", b.post("/a/"+e.A.ID+"/c/"+theirs.ID+"/resolve", form), http.StatusNotFound)
		wantStatus(t, "resolve B's conversation under B", b.post("/a/"+e.B.ID+"/c/"+theirs.ID+"/resolve", form), http.StatusNotFound)
		if got, _ := e.Store.Conversation(context.Background(), e.B.ID, theirs.ID); got.ResolutionStatus != cv.StatusOpen {
			t.Fatal("an operator of A changed B's conversation")
		}
		if p := b.get("/a/" + e.A.ID + "/inbox?view=all"); strings.Contains(p.Body, "Theirs") || !strings.Contains(p.Body, "Mine") {
			t.Error("the inbox of A does not list exactly A's conversations")
		}
	})
}

func TestAdminOnlySettings(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, web.Options{})
		admin := e.operator(e.A.ID, cv.RoleAdmin, "Ada", pw)
		plain := e.operator(e.A.ID, cv.RoleOperator, "Bob", pw)
		ob := e.browser()
		ob.mustSignIn(plain.Email, pw)
		settings := "/a/" + e.A.ID + "/settings"
		wantStatus(t, "operator opens settings", ob.get(settings), http.StatusNotFound)
		wantStatus(t, "operator creates a token", ob.post(settings+"/token-create", url.Values{"name": {"x"}, "scope": {"write_all"}}), http.StatusNotFound)
		if p := ob.get("/a/" + e.A.ID + "/inbox"); strings.Contains(p.Body, `/settings"`) {
			t.Error("an operator's navigation links to settings")
		}
		ab := e.browser()
		ab.mustSignIn(admin.Email, pw)
		wantStatus(t, "admin opens settings", ab.get(settings), http.StatusOK)
		// A token is shown once, on the answer to its creation.
		p := ab.post(settings+"/token-create", url.Values{"name": {"CRM sync"}, "scope": {"read_all"}})
		wantStatus(t, "admin creates a token", p, http.StatusOK)
		i := strings.Index(p.Body, `id="secret-value">`)
		if i < 0 {
			t.Fatalf("the new token is not shown: %s", p.Body)
		}
		secret := p.Body[i+len(`id="secret-value">`):]
		secret = secret[:strings.Index(secret, "<")]
		e.Must(http.StatusOK, "GET", "/v1/api_core/conversations", secret, nil)
		if strings.Contains(ab.get(settings).Body, secret) {
			t.Error("the token's secret is shown again")
		}
		// Settings saved from the form are what the API reads; a bad value names its field.
		form := url.Values{"topic_name": {"Billing", ""}, "topic_description": {"Invoices", ""}, "topic_examples": {"refund\ninvoice", ""},
			"handoff_keywords": {"human\nagent"}, "auto_resolve_after": {"24h"}, "link_tracking": {"on"}, "rating_active": {"on"}}
		wantStatus(t, "save settings", ab.post(settings+"/general", form), http.StatusSeeOther)
		got := e.Must(http.StatusOK, "GET", "/v1/api_core/settings", e.A.Read, nil).Map(t)
		if got["auto_resolve_after"] != "24h" || got["link_tracking"] != true || len(got["topics"].([]any)) != 1 {
			t.Errorf("settings after the form: %v", got)
		}
		form.Set("auto_resolve_after", "soon")
		p = ab.post(settings+"/general", form)
		wantStatus(t, "bad auto-resolve", p, http.StatusUnprocessableEntity)
		if !strings.Contains(p.Body, `id="s-auto-error"`) {
			t.Error("the error is not shown next to the auto-resolve field")
		}
		// Operators: an admin adds one, who can then sign in; an operator of another
		// assistant keeps their password.
		wantStatus(t, "add operator", ab.post(settings+"/operator-add", url.Values{"name": {"Cy"}, "email": {"cy@example.com"}, "role": {"operator"}, "password": {"a good long password"}}), http.StatusSeeOther)
		e.browser().mustSignIn("cy@example.com", "a good long password")
		other := e.operator(e.B.ID, cv.RoleOperator, "Dee", pw)
		wantStatus(t, "add an existing person", ab.post(settings+"/operator-add", url.Values{"name": {"Dee"}, "email": {other.Email}, "role": {"operator"}, "password": {"attacker password"}}), http.StatusSeeOther)
		if p := e.browser().signIn(other.Email, "attacker password"); p.Status != http.StatusUnauthorized {
			t.Error("an admin of A changed the password of an operator of B")
		}
	})
}

func TestActionsAndConflict(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, web.Options{})
		op := e.operator(e.A.ID, cv.RoleOperator, "Ada", pw)
		c := e.conversation(e.A.ID, cv.NewConversation{Source: cv.SourceTelegram, ExternalID: strp("chat-1"),
			Messages: []cv.NewMessage{{Author: cv.AuthorVisitor, Content: "I need a human please"}}})
		b := e.browser()
		b.mustSignIn(op.Email, pw)
		base := "/a/" + e.A.ID + "/c/" + c.ID
		version := func() string { return versionRE.FindStringSubmatch(b.get(base).Body)[1] }

		wantStatus(t, "take over", b.post(base+"/assign", url.Values{"version": {version()}}), http.StatusSeeOther)
		wantStatus(t, "reply", b.post(base+"/reply", url.Values{"version": {version()}, "content": {"Hello, Ada here."}}), http.StatusSeeOther)
		stale := version()
		wantStatus(t, "resolve", b.post(base+"/resolve", url.Values{"version": {stale}}), http.StatusSeeOther)
		d := e.Must(http.StatusOK, "GET", "/v1/api_core/conversations/"+c.ID+"/", e.A.Read, nil).Map(t)
		as := d["assignee"].(map[string]any)
		if as["type"] != "human_operator" || as["id"] != op.ID || d["resolution_status"] != "resolved" || d["last_message_content"] != "Hello, Ada here." {
			t.Errorf("the API after take over, reply, resolve: %v", d)
		}
		evs := e.Must(http.StatusOK, "GET", "/v1/api_core/conversations/"+c.ID+"/events?type=log", e.A.Read, nil).Map(t)["items"].([]any)
		var actorOK bool
		for _, ev := range evs {
			data := ev.(map[string]any)["data"].(map[string]any)
			if a := data["actor"].(map[string]any); data["kind"] == "resolution" && a["type"] == "human_operator" && a["id"] == op.ID {
				actorOK = true
			}
		}
		if !actorOK {
			t.Errorf("no resolution log event by the operator: %v", evs)
		}

		// A change made with a stale version is refused, shown, and keeps the draft.
		p := b.post(base+"/reopen", url.Values{"version": {"1"}})
		wantStatus(t, "stale reopen", p, http.StatusConflict)
		if !strings.Contains(p.Body, "Someone else changed this conversation") {
			t.Error("the conflict is not explained")
		}
		p = b.post(base+"/reply", url.Values{"version": {stale}, "content": {"My unsent draft"}})
		wantStatus(t, "stale reply", p, http.StatusConflict)
		if !strings.Contains(p.Body, "My unsent draft") {
			t.Error("the draft is lost after a conflict")
		}
		if got, _ := e.Store.Conversation(context.Background(), e.A.ID, c.ID); got.ResolutionStatus != cv.StatusResolved || got.LastMessageContent != "Hello, Ada here." {
			t.Fatal("a stale change was applied")
		}

		// Metadata against a schema: the error names the field.
		e.Must(http.StatusOK, "PATCH", "/v1/api_core/settings", e.A.Write, `{"metadata_schema": {"type": "object", "properties": {"plan": {"type": "string"}}}}`)
		p = b.post(base+"/metadata", url.Values{"version": {version()}, "metadata": {`{"plan": 3}`}})
		wantStatus(t, "metadata against the schema", p, http.StatusUnprocessableEntity)
		if !strings.Contains(p.Body, `id="meta-error"`) || !strings.Contains(p.Body, "plan") {
			t.Errorf("the schema error is not shown next to the metadata: %s", p.Body)
		}
		wantStatus(t, "metadata", b.post(base+"/metadata", url.Values{"version": {version()}, "metadata": {`{"plan": "pro"}`}}), http.StatusSeeOther)
		wantStatus(t, "visitor", b.post(base+"/visitor", url.Values{"version": {version()}, "visitor_name": {"Jo"}, "visitor_email": {"jo@example.com"}}), http.StatusSeeOther)
		got, _ := e.Store.Conversation(context.Background(), e.A.ID, c.ID)
		if got.ClientMetadata["plan"] != "pro" || got.VisitorName == nil || *got.VisitorName != "Jo" {
			t.Errorf("metadata %v, visitor name %v", got.ClientMetadata, got.VisitorName)
		}
		// The reply goes out on the channel: a deliver job is queued.
		stats, _ := e.Store.JobStats(context.Background())
		if stats["deliver"]["pending"] == 0 && stats["deliver"]["running"] == 0 {
			t.Errorf("no deliver job for the operator's reply: %v", stats)
		}
	})
}

func TestInboxFiltersAndExport(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, web.Options{})
		op := e.operator(e.A.ID, cv.RoleOperator, "Ada", pw)
		e.conversation(e.A.ID, cv.NewConversation{Source: cv.SourceWidget, VisitorName: strp("Wanda"), ClientMetadata: map[string]any{"plan": "pro"},
			Messages: []cv.NewMessage{{Author: cv.AuthorVisitor, Content: "Where is order ORD-0012345?"}}})
		e.conversation(e.A.ID, cv.NewConversation{Source: cv.SourceSlack, Messages: []cv.NewMessage{{Author: cv.AuthorVisitor, Content: "hello"}}})
		b := e.browser()
		b.mustSignIn(op.Email, pw)
		in := "/a/" + e.A.ID + "/inbox"
		all := b.get(in)
		if !strings.Contains(all.Body, "Wanda") || !strings.Contains(all.Body, "Unknown visitor") || !strings.Contains(all.Body, `data-count="all">2<`) {
			t.Errorf("the inbox does not list both conversations with a count of 2")
		}
		for q, want := range map[string]int{"query=0012345": 1, "source=slack": 1, "meta_key=plan&meta_value=pro": 1, "metadata.plan=pro": 1, "view=closed": 0} {
			p := b.get(in + "?" + q)
			if n := len(hrefRE.FindAllString(p.Body, -1)); n != want {
				t.Errorf("%s lists %d conversations, want %d", q, n, want)
			}
		}
		wantStatus(t, "bad filter", b.get(in+"?source=fax"), http.StatusBadRequest)
		p := b.get("/a/" + e.A.ID + "/export?format=csv&source=widget")
		wantStatus(t, "export", p, http.StatusOK)
		rows, err := csv.NewReader(strings.NewReader(p.Body)).ReadAll()
		if err != nil || len(rows) != 2 || rows[0][0] != "id" {
			t.Errorf("export CSV: %v, %d rows: %q", err, len(rows), p.Body)
		}
	})
}

func TestLiveStream(t *testing.T) {
	e := start(t, enginetest.SQLite, web.Options{})
	op := e.operator(e.A.ID, cv.RoleOperator, "Ada", pw)
	b := e.browser()
	b.mustSignIn(op.Email, pw)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.URL+"/a/"+e.A.ID+"/live", nil)
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("live: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations", e.A.Write, `{"source": "widget", "messages": [{"author": "visitor", "content": "hi"}]}`)
	e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations", e.B.Write, `{"source": "widget", "messages": [{"author": "visitor", "content": "other tenant"}]}`)
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "data: ") {
			if !strings.Contains(line, `"type":"conversation.created"`) {
				t.Fatalf("first live change: %s", line)
			}
			return
		}
	}
	t.Fatalf("no change arrived: %v", sc.Err())
}

func itoa(n int) string { return strconv.Itoa(n) }
