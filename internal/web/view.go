package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// view is what every page template gets.
type view struct {
	Title string
	Who   *who
	// Nav names the active section of the navigation.
	Nav  string
	Data any
	// Live names the live behaviour app.js gives the page ("inbox", "conversation").
	Live string
	// Flash is a one-line notice shown at the top (saved, signed out, ...).
	Flash string
	Error string
}

// page is one parsed page: the layout, the shared partials and the page's own template.
type page struct{ t *template.Template }

var pageNames = []string{"signin", "inbox", "conversation", "analytics", "settings", "error"}

func parsePages() map[string]*page {
	out := map[string]*page{}
	for _, name := range pageNames {
		t := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS,
			"templates/layout.html", "templates/partials.html", "templates/"+name+".html"))
		out[name] = &page{t: t}
	}
	return out
}

// render writes a whole page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	var buf bytes.Buffer
	if err := h.pages[name].t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		h.log.Error("render page", "page", name, "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fragment renders one named template of a page (for live updates).
func (h *Handler) fragment(name, tmpl string, data any) (template.HTML, error) {
	var buf bytes.Buffer
	if err := h.pages[name].t.ExecuteTemplate(&buf, tmpl, data); err != nil {
		return "", err
	}
	return template.HTML(buf.String()), nil
}

type errorData struct {
	Status  int
	Heading string
	Message string
}

func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, u *who, status int, heading, msg string) {
	if !acceptsHTML(r) {
		http.Error(w, msg, status)
		return
	}
	h.render(w, r, status, "error", &view{Title: heading, Who: u, Data: errorData{status, heading, msg}})
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, u *who) {
	h.errorPage(w, r, u, http.StatusNotFound, "Not found", "There is nothing here, or it is not yours to see.")
}

func (h *Handler) forbidden(w http.ResponseWriter, r *http.Request, u *who) {
	h.errorPage(w, r, u, http.StatusForbidden, "Request refused",
		"This form could not be checked (it may have expired, or come from another site). Go back, reload the page and try again.")
}

// fail answers an unexpected error: details to the log, a plain page to the person.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, cv.ErrNotFound) {
		h.notFound(w, r, nil)
		return
	}
	if r.Context().Err() != nil {
		return
	}
	h.log.Error("dashboard request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	h.errorPage(w, r, nil, http.StatusInternalServerError, "Something went wrong", "The server could not do this. Please try again in a moment.")
}

// ---- static files ----

// assetVersion changes whenever a static file does: pages link to /assets/...?v=<it>, so that
// browsers may cache the files for long.
var assetVersion = func() string {
	h := sha256.New()
	_ = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := staticFS.ReadFile(p)
			h.Write([]byte(p))
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}()

func serveStatic(w http.ResponseWriter, r *http.Request) {
	name := path.Clean("/" + r.PathValue("file"))
	b, err := staticFS.ReadFile("static" + name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	etag := `"` + assetVersion + `"`
	w.Header().Set("ETag", etag)
	if r.URL.Query().Get("v") == assetVersion {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(b)
}

// ---- template helpers ----

var funcs = template.FuncMap{
	"asset": func(name string) string { return "/assets/" + name + "?v=" + assetVersion },
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"when":  func(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 UTC") },
	"ago":   ago,
	"deref": func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	},
	"clip":  clip,
	"label": label,
	"pct": func(f float64) string {
		return fmt.Sprintf("%.0f%%", f*100)
	},
	"plural": func(n int64, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	},
	"list4":  func() []visitorField { return visitorFieldList },
	"list3":  func() []string { return []string{"operator-add", "operator-role", "operator-remove"} },
	"deref2": func(b *bool) bool { return b != nil && *b },
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	},
}

// ago is a relative time as people say it ("just now", "5 min ago", "3 days ago"); app.js
// keeps it current from the <time> element's datetime.
func ago(t time.Time) string { return agoAt(t, time.Now()) }

func agoAt(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 45*time.Second:
		return "just now"
	case d < 90*time.Minute:
		return fmt.Sprintf("%d min ago", max(1, int(d.Round(time.Minute)/time.Minute)))
	case d < 36*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Round(time.Hour)/time.Hour))
	case d < 60*24*time.Hour:
		return fmt.Sprintf("%d days ago", int(d.Round(24*time.Hour)/(24*time.Hour)))
	}
	return t.UTC().Format("2 Jan 2006")
}

// clip shortens s to at most n characters, on a word boundary when one is near.
func clip(n int, s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n]
	if i := strings.LastIndexByte(string(r), ' '); i > len(string(r))*2/3 {
		return string(r)[:i] + "…"
	}
	return string(r) + "…"
}

// label turns an enum value into words: "human_operator" -> "Human operator".
func label(s string) string {
	switch s {
	case "":
		return "None"
	case cv.AssigneeAI:
		return "AI assistant"
	case cv.AssigneeOperator:
		return "Operator"
	case "api":
		return "API"
	case "whatsapp":
		return "WhatsApp"
	case "sms":
		return "SMS"
	}
	s = strings.ReplaceAll(s, "_", " ")
	return strings.ToUpper(s[:1]) + s[1:]
}

type visitorField struct{ Name, Label, Type string }

var visitorFieldList = []visitorField{
	{"visitor_name", "Name", "text"}, {"visitor_email", "Email", "email"},
	{"visitor_phone_number", "Phone", "tel"}, {"visitor_label", "Label", "text"},
}
