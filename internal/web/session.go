package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/parleyhq/parley/internal/auth"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/ratelimit"
	"github.com/parleyhq/parley/internal/store"
)

// Cookie names. Over TLS the session cookie takes the __Host- prefix, which browsers only
// accept when it is Secure, host-only and for the whole site.
const (
	sessionCookie       = "parley_session"
	secureSessionCookie = "__Host-parley_session"
	signInCookie        = "parley_signin"
	csrfField           = "_csrf"
	csrfHeader          = "X-CSRF-Token"
)

// who is the signed-in operator of a request, and the assistant it is about.
type who struct {
	session     store.Session
	operator    cv.Operator
	csrf        string
	memberships []store.Membership
	// assistant and role are set on routes under /a/{aid}/.
	assistant cv.Assistant
	role      string
}

func (u *who) admin() bool { return u.role == cv.RoleAdmin }

// actor attributes the operator's changes to them in log events and the change log.
func (u *who) actor() cv.Actor {
	id, name := u.operator.ID, u.operator.Name
	return cv.Actor{Type: cv.AuthorOperator, ID: &id, Name: &name}
}

// secure reports whether cookies must be Secure: the request came over TLS, or the public URL
// is https (TLS ends at a proxy in front of Parley).
func (h *Handler) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(h.opt.PublicURL, "https://")
}

func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// csrfToken is a session's CSRF token: derived from the session's secret, which only the
// browser holds (in an HttpOnly cookie), so a page of another site can neither read nor
// compute it, and nothing about it needs storing.
func csrfToken(secret string) string {
	sum := sha256.Sum256([]byte("parley-dashboard-csrf\x00" + secret))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func equalSecret(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// sessionSecret reads the session cookie.
func sessionSecret(r *http.Request) string {
	for _, name := range []string{secureSessionCookie, sessionCookie} {
		if c, err := r.Cookie(name); err == nil && c.Value != "" && len(c.Value) <= 128 {
			return c.Value
		}
	}
	return ""
}

func (h *Handler) setSessionCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	name := sessionCookie
	if h.secure(r) {
		name = secureSessionCookie
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: h.secure(r), SameSite: http.SameSiteLaxMode})
}

// authenticate finds the request's session: nil when there is none, or it has ended.
func (h *Handler) authenticate(r *http.Request) (*who, error) {
	secret := sessionSecret(r)
	if secret == "" {
		return nil, nil
	}
	sess, op, err := h.store.SessionByHash(r.Context(), hashSecret(secret))
	if errors.Is(err, cv.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := h.now()
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= h.opt.IdleTimeout {
		return nil, nil
	}
	if now.Sub(sess.LastSeenAt) > time.Minute {
		if last, ok := h.touched.Load(sess.ID); !ok || now.Sub(last.(time.Time)) > time.Minute {
			h.touched.Store(sess.ID, now)
			if err := h.store.TouchSession(r.Context(), sess.ID, now); err != nil && !errors.Is(err, cv.ErrNotFound) {
				h.log.Warn("record session use", "err", err)
			}
		}
	}
	ms, err := h.store.Memberships(r.Context(), op.ID)
	if err != nil {
		return nil, err
	}
	return &who{session: sess, operator: op, csrf: csrfToken(secret), memberships: ms}, nil
}

type whoHandler func(w http.ResponseWriter, r *http.Request, u *who)

// member wraps a handler that needs a signed-in operator: pages send a signed-out browser to
// sign in, other requests get 401. Every state-changing request must pass the CSRF checks.
// With withAssistant, the {aid} of the path must be one of the operator's assistants: any
// other is answered like a missing one (404), never 403.
func (h *Handler) member(withAssistant bool, fn whoHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		u, err := h.authenticate(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !sameOrigin(r) || u == nil || !equalSecret(csrfValue(r), u.csrf) {
				h.forbidden(w, r, u)
				return
			}
		}
		if u == nil {
			if r.Method == http.MethodGet && acceptsHTML(r) {
				http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "Sign in first.", http.StatusUnauthorized)
			return
		}
		if withAssistant {
			aid := r.PathValue("aid")
			i := slices.IndexFunc(u.memberships, func(m store.Membership) bool { return m.Assistant.ID == aid })
			if i < 0 {
				h.notFound(w, r, u)
				return
			}
			u.assistant, u.role = u.memberships[i].Assistant, u.memberships[i].Role
		}
		fn(w, r, u)
	})
}

// admin wraps a handler only an assistant's admins may use; to others it does not exist.
func (h *Handler) admin(fn whoHandler) http.Handler {
	return h.member(true, func(w http.ResponseWriter, r *http.Request, u *who) {
		if !u.admin() {
			h.notFound(w, r, u)
			return
		}
		fn(w, r, u)
	})
}

func csrfValue(r *http.Request) string {
	if v := r.Header.Get(csrfHeader); v != "" {
		return v
	}
	return r.PostFormValue(csrfField)
}

// sameOrigin refuses requests a browser says came from another site: Sec-Fetch-Site other
// than same-origin (or none: typed by the person), or an Origin that is not this server's.
// (A request with neither header still needs the CSRF token.)
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && origin != "null" && strings.EqualFold(u.Host, r.Host)
}

func acceptsHTML(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return a == "" || strings.Contains(a, "text/html") || strings.Contains(a, "*/*")
}

// securityHeaders keep pages from being framed, sniffed or cached, and confine scripts,
// styles and connections to this server.
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// ---- sign-in and sign-out ----

// signInData is the sign-in page.
type signInData struct {
	Next, Email, Error, Token string
}

func (h *Handler) signInPage(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	if u, err := h.authenticate(r); err == nil && u != nil {
		http.Redirect(w, r, h.landing(u, r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	h.renderSignIn(w, r, http.StatusOK, signInData{Next: r.URL.Query().Get("next")})
}

// renderSignIn renders the sign-in form with a fresh pre-session token: a cookie and the same
// value in the form (a double submit), so that another site cannot sign a browser in.
func (h *Handler) renderSignIn(w http.ResponseWriter, r *http.Request, status int, d signInData) {
	d.Token = newSecret()
	http.SetCookie(w, &http.Cookie{Name: signInCookie, Value: d.Token, Path: "/signin", MaxAge: 3600, HttpOnly: true,
		Secure: h.secure(r), SameSite: http.SameSiteStrictMode})
	h.render(w, r, status, "signin", &view{Title: "Sign in", Data: d})
}

// errSignIn is the one answer to a wrong email or password: it never says which part was wrong.
const errSignIn = "The email or password is not right."

var (
	dummyHashOnce sync.Once
	dummyHash     string
)

// checkDummy spends the time of a password check when there is no operator to check, so that
// the answer's timing does not tell whether an email is known.
func checkDummy(password string) {
	dummyHashOnce.Do(func() { dummyHash, _ = auth.HashPassword("parley-dummy-password-for-timing") })
	_, _ = auth.CheckPassword(dummyHash, password)
}

func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	password := r.PostFormValue("password")
	d := signInData{Next: r.PostFormValue("next"), Email: email}
	pre, _ := r.Cookie(signInCookie)
	if !sameOrigin(r) || pre == nil || !equalSecret(pre.Value, r.PostFormValue("token")) {
		d.Error = "The sign-in form has expired. Please try again."
		h.renderSignIn(w, r, http.StatusForbidden, d)
		return
	}
	now := h.now()
	if ok, wait := h.perIP.Allow(ratelimit.ClientAddr(r), now); !ok {
		h.tooMany(w, r, d, wait)
		return
	}
	if email != "" {
		if ok, wait := h.perMail.Allow(email, now); !ok {
			h.tooMany(w, r, d, wait)
			return
		}
	}
	if len(password) > 1024 {
		password = password[:1024]
	}
	select {
	case h.hashing <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	op, err := h.store.OperatorByEmail(r.Context(), email)
	good := false
	switch {
	case err == nil && op.PasswordHash != "":
		good, _ = auth.CheckPassword(op.PasswordHash, password)
	case err == nil || errors.Is(err, cv.ErrNotFound):
		checkDummy(password)
		err = nil
	}
	<-h.hashing
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !good {
		d.Error = errSignIn
		h.renderSignIn(w, r, http.StatusUnauthorized, d)
		return
	}
	// A new session on every sign-in (an old cookie is never promoted).
	if old := sessionSecret(r); old != "" {
		if sess, _, err := h.store.SessionByHash(r.Context(), hashSecret(old)); err == nil {
			_ = h.store.DeleteSession(r.Context(), sess.ID)
		}
	}
	secret := newSecret()
	at := now.UTC().Truncate(time.Microsecond)
	sess := store.Session{ID: uuid.Must(uuid.NewV7()).String(), OperatorID: op.ID, Hash: hashSecret(secret),
		CreatedAt: at, LastSeenAt: at, ExpiresAt: at.Add(h.opt.MaxAge)}
	if err := h.store.CreateSession(r.Context(), sess); err != nil {
		h.fail(w, r, err)
		return
	}
	h.setSessionCookie(w, r, secret, int(h.opt.MaxAge/time.Second))
	http.SetCookie(w, &http.Cookie{Name: signInCookie, Value: "", Path: "/signin", MaxAge: -1, HttpOnly: true, Secure: h.secure(r)})
	h.log.Info("dashboard sign-in", "operator", op.ID)
	ms, err := h.store.Memberships(r.Context(), op.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, h.landing(&who{operator: op, memberships: ms}, d.Next), http.StatusSeeOther)
}

func (h *Handler) tooMany(w http.ResponseWriter, r *http.Request, d signInData, wait time.Duration) {
	secs := int(wait.Seconds() + 0.999)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	d.Error = "Too many sign-in attempts. Please wait " + strconv.Itoa(secs) + " seconds and try again."
	h.renderSignIn(w, r, http.StatusTooManyRequests, d)
}

// landing is where a signed-in operator goes: next when it is a path of this site, else the
// inbox of their first assistant.
func (h *Handler) landing(u *who, next string) string {
	if strings.HasPrefix(next, "/") && !strings.HasPrefix(next, "//") && !strings.HasPrefix(next, "/\\") && !strings.HasPrefix(next, "/signin") {
		return next
	}
	if len(u.memberships) == 0 {
		return "/signin?none=1"
	}
	return "/a/" + u.memberships[0].Assistant.ID + "/inbox"
}

func (h *Handler) signOut(w http.ResponseWriter, r *http.Request, u *who) {
	if err := h.store.DeleteSession(r.Context(), u.session.ID); err != nil && !errors.Is(err, cv.ErrNotFound) {
		h.fail(w, r, err)
		return
	}
	h.setSessionCookie(w, r, "", -1)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// home sends a browser to its inbox, or to sign in.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	u, err := h.authenticate(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if u == nil {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, h.landing(u, ""), http.StatusSeeOther)
}

func (h *Handler) assistantHome(w http.ResponseWriter, r *http.Request, u *who) {
	http.Redirect(w, r, "/a/"+u.assistant.ID+"/inbox", http.StatusSeeOther)
}

// switchAssistant opens another of the operator's assistants (the switcher's form).
func (h *Handler) switchAssistant(w http.ResponseWriter, r *http.Request, u *who) {
	aid := r.URL.Query().Get("a")
	for _, m := range u.memberships {
		if m.Assistant.ID == aid {
			http.Redirect(w, r, "/a/"+aid+"/inbox", http.StatusSeeOther)
			return
		}
	}
	h.notFound(w, r, u)
}

// Template accessors.

func (u *who) CSRF() string                   { return u.csrf }
func (u *who) Name() string                   { return u.operator.Name }
func (u *who) Email() string                  { return u.operator.Email }
func (u *who) AID() string                    { return u.assistant.ID }
func (u *who) AssistantName() string          { return u.assistant.Name }
func (u *who) IsAdmin() bool                  { return u.admin() }
func (u *who) Assistants() []store.Membership { return u.memberships }
