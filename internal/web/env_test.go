package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/apitest"
	"github.com/parleyhq/parley/internal/auth"
	"github.com/parleyhq/parley/internal/changefeed"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/server"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/enginetest"
	"github.com/parleyhq/parley/internal/web"
)

// env is a whole Parley server with the dashboard mounted, on a fresh store.
type env struct {
	*apitest.Env
	t     *testing.T
	clock *clock
}

// clock is a controllable time for session expiry.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// start runs the server with the dashboard (opt.Now is the env's clock).
func start(t *testing.T, open enginetest.Opener, opt web.Options) *env {
	t.Helper()
	c := &clock{}
	opt.Now = c.now
	feed := changefeed.New()
	opt.Changes = feed
	if opt.Poll == 0 {
		opt.Poll = 100 * time.Millisecond
	}
	done := make(chan struct{})
	opt.Done = done
	e := apitest.StartServer(t, open, func(st store.Store, u string) server.Config {
		if cs, ok := st.(interface{ SetChangeNotify(func(string)) }); ok {
			cs.SetChangeNotify(feed.Notify)
		}
		return server.Config{Mounts: web.New(st, opt).Routes()}
	})
	// Registered after the server's own cleanup, so it runs first: live streams end before the
	// server waits for its connections to close.
	t.Cleanup(func() { close(done) })
	return &env{Env: e, t: t, clock: c}
}

// operator creates an operator of assistant aid with a password.
func (e *env) operator(aid, role, name, password string) cv.Operator {
	e.t.Helper()
	ctx := context.Background()
	hash, err := auth.HashPassword(password)
	if err != nil {
		e.t.Fatal(err)
	}
	email := strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.com"
	op, err := e.Store.OperatorByEmail(ctx, email)
	if err != nil {
		if op, err = e.Store.CreateOperator(ctx, name, email, hash); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := e.Store.AddMembership(ctx, op.ID, aid, role); err != nil {
		e.t.Fatal(err)
	}
	return op
}

// conversation creates a conversation of assistant aid through the store.
func (e *env) conversation(aid string, n cv.NewConversation) cv.Conversation {
	e.t.Helper()
	if err := n.Validate(); err != nil {
		e.t.Fatal(err)
	}
	res, err := e.Store.CreateConversations(context.Background(), aid, []cv.NewConversation{n})
	if err != nil {
		e.t.Fatal(err)
	}
	return res[0].Conversation
}

// browser is a cookie-keeping HTTP client that does not follow redirects.
type browser struct {
	e    *env
	c    *http.Client
	csrf string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	Status int
	Header http.Header
	Body   string
}

func (b *browser) do(method, path string, form url.Values, header ...string) page {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.URL+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "text/html")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	p := page{Status: res.StatusCode, Header: res.Header, Body: string(out)}
	if m := csrfRE.FindStringSubmatch(p.Body); m != nil {
		b.csrf = m[1]
	}
	return p
}

var (
	csrfRE    = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)
	tokenRE   = regexp.MustCompile(`name="token" value="([^"]+)"`)
	hrefRE    = regexp.MustCompile(`href="(/a/[^"]+/c/[^"]+)"`)
	versionRE = regexp.MustCompile(`name="version" value="(\d+)"`)
)

func (b *browser) get(path string) page { return b.do("GET", path, nil) }

// post sends a form with the page's CSRF token.
func (b *browser) post(path string, form url.Values) page {
	if form == nil {
		form = url.Values{}
	}
	form.Set("_csrf", b.csrf)
	return b.do("POST", path, form)
}

// signIn fills in the sign-in form.
func (b *browser) signIn(email, password string) page {
	b.e.t.Helper()
	p := b.get("/signin")
	m := tokenRE.FindStringSubmatch(p.Body)
	if m == nil {
		b.e.t.Fatalf("the sign-in page has no form token: %s", p.Body)
	}
	return b.do("POST", "/signin", url.Values{"email": {email}, "password": {password}, "token": {m[1]}})
}

// mustSignIn signs in and loads the landing page (for its CSRF token).
func (b *browser) mustSignIn(email, password string) {
	b.e.t.Helper()
	p := b.signIn(email, password)
	if p.Status != http.StatusSeeOther {
		b.e.t.Fatalf("sign in: status %d: %s", p.Status, p.Body)
	}
	if l := b.get(p.Header.Get("Location")); l.Status != http.StatusOK {
		b.e.t.Fatalf("landing page %s: %d", p.Header.Get("Location"), l.Status)
	}
}

func wantStatus(t *testing.T, what string, p page, want int) {
	t.Helper()
	if p.Status != want {
		body := p.Body
		if len(body) > 600 {
			body = body[:600]
		}
		t.Fatalf("%s: status %d, want %d: %s", what, p.Status, want, body)
	}
}
