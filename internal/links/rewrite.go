package links

import (
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// Limits of what is rewritten: longer URLs and links past the first MaxPerMessage distinct ones
// are left as they are.
const (
	MaxURLBytes   = 2048
	MaxPerMessage = 50
)

// candidate finds what may be a URL: http:// or https:// up to the next space, quote or angle
// bracket. trimURL then takes trailing punctuation off.
var candidate = regexp.MustCompile(`(?i)https?://[^\s<>"'\x60\x00-\x1f\x7f]+`)

// Path is the route prefix of tracked links on this server.
const Path = "/l/"

// Tracks reports whether a message of author is rewritten when the assistant tracks links:
// the assistant's and operators' messages are; visitors' are not.
func Tracks(author string) bool {
	return author == cv.AuthorAI || author == cv.AuthorOperator
}

// Track rewrites m's links when link tracking is on and m is by the assistant or an operator;
// publicURL is the address the outside world reaches this server on.
func Track(on bool, publicURL string, m *cv.NewMessage) {
	if on && Tracks(m.Author) {
		Rewrite(publicURL, m)
	}
}

// Rewrite replaces every http(s) URL in m.Content by publicURL/l/{id} and adds the links to
// m.Links for the store to keep with the message. One URL written twice in a message is one
// link. URLs that already point to this server's tracked links are left alone.
func Rewrite(publicURL string, m *cv.NewMessage) {
	base := strings.TrimRight(publicURL, "/")
	own := base + Path
	ids := map[string]string{} // target -> id, within this message
	var b strings.Builder
	last := 0
	for _, loc := range candidate.FindAllStringIndex(m.Content, -1) {
		start, end := loc[0], loc[1]
		if start < last {
			continue
		}
		raw := trimURL(m.Content[start:end])
		if !Trackable(raw) || strings.HasPrefix(raw, own) {
			continue
		}
		id, ok := ids[raw]
		if !ok {
			if len(ids) == MaxPerMessage {
				break
			}
			id = NewID()
			ids[raw] = id
			m.Links = append(m.Links, cv.NewLink{ID: id, URL: raw})
		}
		b.WriteString(m.Content[last:start])
		b.WriteString(own + id)
		last = start + len(raw)
	}
	if last == 0 {
		return
	}
	b.WriteString(m.Content[last:])
	m.Content = b.String()
}

// Trackable reports whether raw is a URL that may become a tracked link: absolute http or
// https with a host, valid UTF-8, at most MaxURLBytes.
func Trackable(raw string) bool {
	if len(raw) > MaxURLBytes || !utf8.ValidString(raw) {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return false
	}
	s := strings.ToLower(u.Scheme)
	return s == "http" || s == "https"
}

// trimURL takes off what ends a sentence rather than the URL: trailing punctuation, and
// closing brackets that have no opening one in the URL (a link in parentheses or Markdown).
func trimURL(s string) string {
	for len(s) > 0 {
		c := s[len(s)-1]
		switch c {
		case '.', ',', ';', ':', '!', '?', '*', '_', '~':
			s = s[:len(s)-1]
			continue
		case ')', ']', '}':
			open := map[byte]byte{')': '(', ']': '[', '}': '{'}[c]
			if strings.Count(s, string(open)) < strings.Count(s, string(c)) {
				s = s[:len(s)-1]
				continue
			}
		}
		return s
	}
	return s
}
