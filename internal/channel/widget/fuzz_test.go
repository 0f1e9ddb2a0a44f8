package widget

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseStart: the session start body (anything a browser, or anyone, posts) never panics,
// and what it accepts is a valid widget conversation.
func FuzzParseStart(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"name": " Ada ", "email": "ada@example.com", "url": "https://shop.example/p?x=1"}`,
		`{"email": "Ada <ada@example.com>"}`, `{"url": "javascript:alert(1)"}`, `{"name": null}`, `[]`, `{"name": "\u0000"}`, `{"a":1}{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := parseStart(b)
		if err != nil {
			return
		}
		if err := n.Validate(); err != nil {
			t.Fatalf("parseStart accepted %q, which does not validate: %v", b, err)
		}
		if n.Source != "widget" || len(n.Messages) != 0 || n.ExternalID != nil {
			t.Fatalf("parseStart(%q) = %+v", b, n)
		}
		if n.VisitorEmail != nil && !strings.Contains(*n.VisitorEmail, "@") {
			t.Fatalf("accepted email %q", *n.VisitorEmail)
		}
		if n.URL != nil && !pageURL(*n.URL) {
			t.Fatalf("accepted url %q", *n.URL)
		}
	})
}

// FuzzParseMessage: a visitor's message body never panics; what it accepts is non-blank UTF-8
// within the limit.
func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{`{"content": "hi"}`, `{"content": "  "}`, `{"content": 1}`, `{"content": "\ud800"}`, `{"author": "human_operator", "content": "x"}`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseMessage(b)
		if err != nil {
			return
		}
		if strings.TrimSpace(c) == "" || !utf8.ValidString(c) || len(c) > MaxMessageBytes {
			t.Fatalf("parseMessage(%q) accepted %q", b, c)
		}
	})
}

// FuzzOrigin: an Origin header is matched against the allowed list without panicking, and is
// allowed only when it is, normalized, one of the list.
func FuzzOrigin(f *testing.F) {
	for _, s := range []string{"https://shop.example", "HTTPS://SHOP.EXAMPLE:443", "null", "", "https://shop.example.evil", "https://shop.example/path", "http://[::1]:80"} {
		f.Add(s)
	}
	allowed := []string{"https://shop.example", "http://localhost:3000"}
	f.Fuzz(func(t *testing.T, origin string) {
		ok := originAllowed(allowed, origin)
		n := normalOrigin(origin)
		if ok != (n == "https://shop.example" || n == "http://localhost:3000") {
			t.Fatalf("originAllowed(%q) = %v with normal form %q", origin, ok, n)
		}
		if !originAllowed(nil, origin) {
			t.Fatal("an empty list refused an origin")
		}
	})
}
