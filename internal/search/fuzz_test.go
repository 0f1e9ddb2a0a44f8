package search

import (
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzSeeds = []string{
	"",
	" ",
	"#",
	"#42",
	"42",
	"0012345",
	"-5",
	"99999999999999999999",
	"0b6f3a4e-9c1d-4f2a-8e7b-5d4c3b2a1f00",
	"0B6F3A4E-9C1D-4F2A-8E7B-5D4C3B2A1F00",
	"0b6f3a4e-9c1d-4f2a-8e7b-5d4c3b2a1f0",
	"ORD-0012345",
	"ord-0012345 shipped",
	"john.doe@example.com",
	"Café CAFE cafe\u0301",
	"Zürich Straße İstanbul ılık",
	"\"quoted\" 'single' back\\slash",
	"a\"b c'd e\\f",
	"AND OR NOT NEAR * ^ : ( ) -",
	"東京タワー ありがとう 한국어 สวัสดี",
	"ﬁ ① ² ½ ㎏ ＡＢＣ",
	"\xff\xfe invalid \xc3",
	"a\x00b",
	strings.Repeat("w ", 40),
	strings.Repeat("x", 600),
	strings.Repeat("é", 300),
	"\u0301\u0301a\u0308",
	"\ufdfa",
}

func FuzzNormalize(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if again := Normalize(n); again != n {
			t.Fatalf("not idempotent: Normalize(%q) = %q, Normalize(%q) = %q", s, n, n, again)
		}
		if err := checkNormal(n); err != "" {
			t.Fatalf("Normalize(%q) = %q: %s", s, n, err)
		}
		if utf8.ValidString(s) {
			if want := normalizeNFKD(s); n != want {
				t.Fatalf("Normalize(%q) = %q, reference NFKD gives %q", s, n, want)
			}
		}
		if toks := Tokens(s); strings.Join(toks, " ") != n || (n == "") != (toks == nil) {
			t.Fatalf("Tokens(%q) = %q, Normalize = %q", s, toks, n)
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q := Parse(raw)
		if q.Raw != raw {
			t.Fatalf("Raw = %q, want %q", q.Raw, raw)
		}
		if len(q.Terms) > MaxTerms {
			t.Fatalf("%d terms", len(q.Terms))
		}
		if q.UUID != "" && (q.Ord != 0 || len(q.Terms) > 0) {
			t.Fatalf("UUID query with more: %#v", q)
		}
		if q.Ord < 0 {
			t.Fatalf("Ord = %d", q.Ord)
		}
		for i, term := range q.Terms {
			if len(term.Parts) == 0 {
				t.Fatalf("term %d has no parts", i)
			}
			if term.Prefix != (i == len(q.Terms)-1) {
				t.Fatalf("term %d: Prefix = %v", i, term.Prefix)
			}
			for _, p := range term.Parts {
				if p == "" || Normalize(p) != p || strings.Contains(p, " ") {
					t.Fatalf("part %q is not a normalized token", p)
				}
			}
		}

		fts := q.FTS5()
		if (fts == "") != (len(q.Terms) == 0) {
			t.Fatalf("FTS5() = %q for %d terms", fts, len(q.Terms))
		}
		if err := checkFTS5(fts); err != "" {
			t.Fatalf("FTS5() = %s: %s", fts, err)
		}
		ts := q.TSQuery()
		if (ts == "") != (len(q.Terms) == 0) {
			t.Fatalf("TSQuery() = %q for %d terms", ts, len(q.Terms))
		}
		if err := checkTSQuery(ts); err != "" {
			t.Fatalf("TSQuery() = %s: %s", ts, err)
		}
	})
}

// checkFTS5 returns what is wrong with an FTS5() expression, or "": outside the quoted
// phrases there must only be " AND " and "*" after a phrase.
func checkFTS5(s string) string {
	if strings.Count(s, `"`)%2 != 0 {
		return "odd number of quotes"
	}
	for i := 0; i < len(s); {
		if s[i] != '"' {
			return "expected a phrase"
		}
		// Scan the phrase; "" inside it is an escaped quote.
		j := i + 1
		for {
			k := strings.IndexByte(s[j:], '"')
			if k < 0 {
				return "unterminated phrase"
			}
			j += k + 1
			if j < len(s) && s[j] == '"' {
				j++
				continue
			}
			break
		}
		if j-i == 2 {
			return "empty phrase"
		}
		i = j
		if i < len(s) && s[i] == '*' {
			i++
		}
		if i == len(s) {
			break
		}
		if !strings.HasPrefix(s[i:], " AND ") {
			return "expected AND"
		}
		i += len(" AND ")
	}
	return ""
}

// checkTSQuery returns what is wrong with a TSQuery() string, or "": every quote must belong to a
// non-empty quoted lexeme, and outside lexemes only operators, parentheses and spaces may appear.
func checkTSQuery(s string) string {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			j, n := i+1, 0
			for ; j < len(s); j++ {
				if s[j] == '\\' {
					j++
					n++
					continue
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						j++
						n++
						continue
					}
					break
				}
				n++
			}
			if j >= len(s) {
				return "unterminated lexeme"
			}
			if n == 0 {
				return "empty lexeme"
			}
			i = j
		case '(':
			depth++
		case ')':
			if depth--; depth < 0 {
				return "unbalanced parentheses"
			}
		case ' ', '&', '<', '-', '>', ':', '*':
		default:
			return "unexpected character outside a lexeme"
		}
	}
	if depth != 0 {
		return "unbalanced parentheses"
	}
	return ""
}

func TestCheckers(t *testing.T) {
	for s, bad := range map[string]bool{
		`"a"`: false, `"a"* AND "b c"`: false, `"a""b"`: false,
		`"a`: true, `""`: true, `"a" OR "b"`: true, `a`: true, `"a" AND`: true,
	} {
		if got := checkFTS5(s) != ""; got != bad {
			t.Errorf("checkFTS5(%s) bad = %v", s, got)
		}
	}
	for s, bad := range map[string]bool{
		`'a'`: false, `('a' <-> 'b':*) & 'c'`: false, `'a''b'`: false, `'a\'b'`: false,
		`'a`: true, `''`: true, `'a' & b`: true, `('a'`: true, `'a\'`: true,
	} {
		if got := checkTSQuery(s) != ""; got != bad {
			t.Errorf("checkTSQuery(%s) bad = %v", s, got)
		}
	}
}
