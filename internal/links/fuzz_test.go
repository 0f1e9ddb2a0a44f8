package links

import (
	"net/url"
	"strings"
	"testing"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// FuzzValidID: the id parser of GET /l/{id} never panics, and accepts only ids of NewID's shape.
func FuzzValidID(f *testing.F) {
	for _, s := range []string{NewID(), "", "AAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAB", "../x", "%00", strings.Repeat("_", 22)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidID(s) {
			return
		}
		if len(s) != IDLen {
			t.Fatalf("accepted %q of length %d", s, len(s))
		}
		b, err := idEncoding.DecodeString(s)
		if err != nil || idEncoding.EncodeToString(b) != s {
			t.Fatalf("accepted %q, which is not canonical base64url", s)
		}
	})
}

// FuzzRewrite: rewriting a message (text written by an assistant or operator) never panics;
// every link is a trackable http(s) URL; putting the targets back gives the original text.
func FuzzRewrite(f *testing.F) {
	for _, s := range []string{
		"see https://example.com/a?b=1.", "(http://x.example/p)", "https://", "HTTPS://A.example/b_(c)]",
		"https://a.example/ https://a.example/", "text\x00https://a.example/\x7f", "https://[::1]:80/x", "http://%zz/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		m := cv.NewMessage{Author: cv.AuthorAI, Content: content}
		Rewrite(base, &m)
		restored := m.Content
		for _, l := range m.Links {
			if !Trackable(l.URL) || !ValidID(l.ID) {
				t.Fatalf("link %+v is not a trackable URL with a valid id", l)
			}
			restored = strings.ReplaceAll(restored, base+Path+l.ID, l.URL)
		}
		if restored != content {
			t.Fatalf("restoring the targets of %q gives %q", content, restored)
		}
	})
}

// FuzzWithUTM: adding UTM parameters to any stored target keeps its other parameters and
// fragment, and leaves exactly one utm_source.
func FuzzWithUTM(f *testing.F) {
	for _, s := range []string{"https://example.com", "https://e.example/?a=1#f", "https://e.example/?utm_source=x", "https://e.example/?%zz&a"} {
		f.Add(s, "widget")
	}
	f.Fuzz(func(t *testing.T, target, medium string) {
		if !Trackable(target) {
			return
		}
		out := WithUTM(target, medium)
		if !strings.HasPrefix(out, strings.SplitN(strings.SplitN(target, "#", 2)[0], "?", 2)[0]) {
			t.Fatalf("WithUTM(%q) = %q changed the part before the query", target, out)
		}
		if _, frag, ok := strings.Cut(target, "#"); ok && !strings.HasSuffix(out, "#"+frag) {
			t.Fatalf("WithUTM(%q) = %q lost the fragment", target, out)
		}
		u, err := url.Parse(out)
		if err != nil {
			return // the target's own query was malformed; it stays so
		}
		before, _ := url.ParseQuery(strings.SplitN(strings.SplitN(target+"?", "?", 2)[1], "#", 2)[0])
		q, err := url.ParseQuery(u.RawQuery)
		want := max(1, len(before["utm_source"]))
		if err == nil && len(q["utm_source"]) != want {
			t.Fatalf("WithUTM(%q) = %q has utm_source %v, want %d", target, out, q["utm_source"], want)
		}
	})
}
