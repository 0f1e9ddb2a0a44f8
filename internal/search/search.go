// Package search parses the `query` parameter of the conversation list into what it can mean
// (a conversation or event UUID, an order number, words of text) and turns text into the
// normalized form that both database engines index, so that SQLite and PostgreSQL find exactly
// the same conversations.
package search

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Query is a parsed `query` parameter. Several parts may be set at once: "42" is both an order
// number and a word to look for in the text.
type Query struct {
	// Raw is the parameter as given.
	Raw string
	// UUID is set when the whole query is a UUID (lower-cased canonical form).
	UUID string
	// Ord is set (>0) when the whole query is an order number such as "42" or "#42".
	Ord int64
	// Terms are the words to find in the text; every term must match (AND). Empty when the
	// query is a UUID or has no letters or digits.
	Terms []Term
}

// Term is one whitespace-separated word of the query after normalization. A word written with
// punctuation inside ("ORD-0012345") has several parts that must appear next to each other in
// that order; Prefix is set on the last term of the query, whose last part also matches as a
// prefix.
type Term struct {
	Parts  []string
	Prefix bool
}

// IsEmpty reports whether the query asks for nothing.
func (q Query) IsEmpty() bool { return q.UUID == "" && q.Ord == 0 && len(q.Terms) == 0 }

// Limits of Parse.
const (
	// MaxQueryBytes is the longest query Parse looks at; the rest is ignored.
	MaxQueryBytes = 512
	// MaxTerms is the most terms a query keeps; further words are ignored.
	MaxTerms = 16
)

// Parse interprets a `query` parameter. It never fails: anything that is not a UUID or an
// order number is text, and a query without letters or digits is empty (see Query.IsEmpty).
//
// Surrounding white space is ignored and only the first MaxQueryBytes bytes are considered
// (cut at a rune boundary). A query that is exactly a UUID (36 characters with hyphens, any
// case) sets only UUID. A query that is exactly a positive decimal number that fits an int64,
// optionally preceded by "#" ("42", "#42", "0012345"), sets Ord and is also searched as text.
// Unless the query is a UUID, each white-space-separated word becomes a Term whose Parts are its Tokens; words
// without tokens are skipped, at most MaxTerms terms are kept, and the last one kept is a
// prefix term.
func Parse(raw string) Query {
	q := Query{Raw: raw}
	s := truncate(strings.TrimSpace(raw), MaxQueryBytes)
	if id, ok := parseUUID(s); ok {
		q.UUID = id
		return q
	}
	q.Ord = parseOrd(s)
	for word := range strings.FieldsSeq(s) {
		if len(q.Terms) == MaxTerms {
			break
		}
		if parts := Tokens(word); parts != nil {
			q.Terms = append(q.Terms, Term{Parts: parts})
		}
	}
	if len(q.Terms) > 0 {
		q.Terms[len(q.Terms)-1].Prefix = true
	}
	return q
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	// Back up over at most utf8.UTFMax-1 continuation bytes to the start of the rune that
	// straddles the limit; invalid input may have no rune start nearby, then cut at n.
	for j := n; j > n-utf8.UTFMax && j > 0; j-- {
		if utf8.RuneStart(s[j]) {
			i = j
			break
		}
	}
	return strings.TrimRightFunc(s[:i], unicode.IsSpace)
}

// parseUUID reports whether s is a UUID in the 8-4-4-4-12 hexadecimal form, and returns it in
// lower case.
func parseUUID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	b := []byte(s)
	for i, c := range b {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", false
			}
			continue
		}
		switch {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
		case 'A' <= c && c <= 'F':
			b[i] = c + 'a' - 'A'
		default:
			return "", false
		}
	}
	return string(b), true
}

// parseOrd returns the order number that s is ("42", "#42", "0012345"), or 0 when s is not a
// positive decimal number that fits an int64.
func parseOrd(s string) int64 {
	s = strings.TrimPrefix(s, "#")
	if s == "" {
		return 0
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0 // overflow
		}
		n = n*10 + d
	}
	return n
}

// FTS5 returns an SQLite FTS5 MATCH expression that finds q.Terms, or "" when there are none:
// each term is a phrase of its parts, the prefix term's phrase ends in "*" (its last part
// matches as a prefix), and all terms must match:
//
//	"ord 0012345" AND "shipped"*
//
// The expression expects a column indexed with Normalize; parts and terms that are empty are
// left out.
func (q Query) FTS5() string { return q.fts5(nil, false) }

// FTS5Expanded is FTS5 with the prefix term's last part replaced by each of words (the words
// of an index that start with it): the phrase for each word, ORed, matches what the prefix
// phrase matches in that index, and a match for one row is then a lookup of whole words
// rather than a merge of every word the prefix starts. Without a prefix term it is FTS5.
func (q Query) FTS5Expanded(words []string) string { return q.fts5(words, true) }

func (q Query) fts5(words []string, expand bool) string {
	var b strings.Builder
	for _, t := range q.Terms {
		if !t.hasParts() {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(" AND ")
		}
		if !t.Prefix || !expand {
			writePhrase(&b, t.Parts)
			if t.Prefix {
				b.WriteByte('*')
			}
			continue
		}
		last := len(t.Parts) - 1
		for t.Parts[last] == "" {
			last--
		}
		b.WriteByte('(')
		for j, w := range words {
			if j > 0 {
				b.WriteString(" OR ")
			}
			writePhrase(&b, append(t.Parts[:last:last], w))
		}
		b.WriteByte(')')
	}
	return b.String()
}

// writePhrase writes the non-empty parts as an FTS5 phrase.
func writePhrase(b *strings.Builder, parts []string) {
	b.WriteByte('"')
	first := true
	for _, p := range parts {
		if p == "" {
			continue
		}
		if !first {
			b.WriteByte(' ')
		}
		first = false
		// Parts from Parse hold only letters and digits; escape anyway, since a Query can be
		// built by hand.
		b.WriteString(strings.ReplaceAll(p, `"`, `""`))
	}
	b.WriteByte('"')
}

// PrefixPart is the last part of the prefix term, the start of the words that the prefix
// matches ("" when no term is a prefix).
func (q Query) PrefixPart() string {
	for _, t := range q.Terms {
		if t.Prefix {
			for j := len(t.Parts) - 1; j >= 0; j-- {
				if t.Parts[j] != "" {
					return t.Parts[j]
				}
			}
		}
	}
	return ""
}

// TSQuery returns a PostgreSQL tsquery for to_tsquery('simple', ...) that finds q.Terms, or ""
// when there are none: each part is a quoted lexeme, the parts of a term are a phrase (<->),
// the last part of the prefix term matches as a prefix (:*), and all terms must match (&):
//
//	('ord' <-> '0012345') & 'shipped':*
//
// The query expects a tsvector built with to_tsvector('simple', ...) over Normalize'd text;
// parts and terms that are empty are left out.
func (q Query) TSQuery() string {
	var b strings.Builder
	for _, t := range q.Terms {
		if !t.hasParts() {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(" & ")
		}
		n := 0
		for _, p := range t.Parts {
			if p != "" {
				n++
			}
		}
		if n > 1 {
			b.WriteByte('(')
		}
		i := 0
		for _, p := range t.Parts {
			if p == "" {
				continue
			}
			if i > 0 {
				b.WriteString(" <-> ")
			}
			writeLexeme(&b, p)
			if i++; i == n && t.Prefix {
				b.WriteString(":*")
			}
		}
		if n > 1 {
			b.WriteByte(')')
		}
	}
	return b.String()
}

// writeLexeme writes p as a quoted tsquery lexeme.
func writeLexeme(b *strings.Builder, p string) {
	b.WriteByte('\'')
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '\'':
			b.WriteString("''")
		case '\\':
			b.WriteString(`\\`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
}

// hasParts reports whether t has a non-empty part.
func (t Term) hasParts() bool {
	for _, p := range t.Parts {
		if p != "" {
			return true
		}
	}
	return false
}
