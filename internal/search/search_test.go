package search

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// terms builds Terms from space-separated parts per term; the last term is the prefix term.
func terms(ts ...string) []Term {
	var out []Term
	for _, t := range ts {
		out = append(out, Term{Parts: strings.Split(t, " ")})
	}
	if len(out) > 0 {
		out[len(out)-1].Prefix = true
	}
	return out
}

func TestParse(t *testing.T) {
	const id = "0b6f3a4e-9c1d-4f2a-8e7b-5d4c3b2a1f00"
	tests := []struct {
		name string
		raw  string
		want Query // Raw is filled in from raw
	}{
		{"empty", "", Query{}},
		{"white space", " \t\n ", Query{}},
		{"punctuation only", "-- ?! ...", Query{}},
		{"hash alone", "#", Query{}},
		{"uuid", id, Query{UUID: id}},
		{"uuid upper case", strings.ToUpper(id), Query{UUID: id}},
		{"uuid surrounded by spaces", "  " + id + "\n", Query{UUID: id}},
		{"near uuid 35 chars", id[:35], Query{Terms: terms("0b6f3a4e 9c1d 4f2a 8e7b 5d4c3b2a1f0")}},
		{"near uuid bad hex", "0b6f3a4e-9c1d-4f2a-8e7b-5d4c3b2a1fzz",
			Query{Terms: terms("0b6f3a4e 9c1d 4f2a 8e7b 5d4c3b2a1fzz")}},
		{"near uuid misplaced hyphen", "0b6f3a4e9-c1d-4f2a-8e7b-5d4c3b2a1f00",
			Query{Terms: terms("0b6f3a4e9 c1d 4f2a 8e7b 5d4c3b2a1f00")}},
		{"uuid among words", "see " + id, Query{Terms: terms("see", "0b6f3a4e 9c1d 4f2a 8e7b 5d4c3b2a1f00")}},
		{"ord", "42", Query{Ord: 42, Terms: terms("42")}},
		{"ord hash", "#42", Query{Ord: 42, Terms: terms("42")}},
		{"ord leading zeros", "0012345", Query{Ord: 12345, Terms: terms("0012345")}},
		{"ord max int64", "#9223372036854775807", Query{Ord: 9223372036854775807, Terms: terms("9223372036854775807")}},
		{"ord overflow", "99999999999999999999", Query{Terms: terms("99999999999999999999")}},
		{"ord overflow by one", "9223372036854775808", Query{Terms: terms("9223372036854775808")}},
		{"ord zero", "0", Query{Terms: terms("0")}},
		{"ord negative", "-5", Query{Terms: terms("5")}},
		{"ord plus", "+5", Query{Terms: terms("5")}},
		{"ord double hash", "##5", Query{Terms: terms("5")}},
		{"ord with space", "# 42", Query{Terms: terms("42")}},
		{"ord fullwidth digits", "４２", Query{Terms: terms("42")}},
		{"ord and word", "42 apples", Query{Terms: terms("42", "apples")}},
		{"order number", "ORD-0012345", Query{Terms: terms("ord 0012345")}},
		{"order number lower", "ord-0012345", Query{Terms: terms("ord 0012345")}},
		{"words", "Café  au LAIT", Query{Terms: terms("cafe", "au", "lait")}},
		{"email", "john.doe@example.com", Query{Terms: terms("john doe example com")}},
		{"punctuation words skipped", "hello - world !", Query{Terms: terms("hello", "world")}},
		{"cjk", "東京 駅", Query{Terms: terms("東 京", "駅")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want.Raw = tt.raw
			got := Parse(tt.raw)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q) =\n\t%#v\nwant\n\t%#v", tt.raw, got, tt.want)
			}
			if got.IsEmpty() != (tt.want.UUID == "" && tt.want.Ord == 0 && len(tt.want.Terms) == 0) {
				t.Errorf("Parse(%q).IsEmpty() = %v", tt.raw, got.IsEmpty())
			}
		})
	}
}

func TestParseIsEmpty(t *testing.T) {
	for _, raw := range []string{"", "   ", "\t\n", "#", "-", "...", "?!#@", "— · —", "😀", "\u0301"} {
		if q := Parse(raw); !q.IsEmpty() {
			t.Errorf("Parse(%q) = %#v, want empty", raw, q)
		}
	}
	for _, raw := range []string{"a", "#1", "0b6f3a4e-9c1d-4f2a-8e7b-5d4c3b2a1f00", "é"} {
		if q := Parse(raw); q.IsEmpty() {
			t.Errorf("Parse(%q) is empty", raw)
		}
	}
}

func TestParseTermCap(t *testing.T) {
	var words []string
	for i := range 20 {
		words = append(words, fmt.Sprintf("w%d", i))
	}
	raw := strings.Join(words, " - ") // the dashes have no tokens and do not count
	q := Parse(raw)
	if len(q.Terms) != MaxTerms {
		t.Fatalf("Parse(%q) has %d terms, want %d", raw, len(q.Terms), MaxTerms)
	}
	for i, term := range q.Terms {
		if want := []string{words[i]}; !reflect.DeepEqual(term.Parts, want) {
			t.Errorf("term %d = %q, want %q", i, term.Parts, want)
		}
		if term.Prefix != (i == MaxTerms-1) {
			t.Errorf("term %d: Prefix = %v", i, term.Prefix)
		}
	}
	if q.Raw != raw {
		t.Errorf("Raw = %q, want the query as given", q.Raw)
	}
}

func TestParseLengthCap(t *testing.T) {
	// 511 ASCII bytes then a 2-byte rune straddling the limit: it is dropped, not split.
	raw := strings.Repeat("a", 511) + "é" + "zzz"
	q := Parse(raw)
	if len(q.Terms) != 1 || len(q.Terms[0].Parts) != 1 {
		t.Fatalf("Parse: %#v", q.Terms)
	}
	// The single word is truncated to 511 bytes, then to MaxTokenRunes runes by Normalize.
	if got, want := q.Terms[0].Parts[0], strings.Repeat("a", MaxTokenRunes); got != want {
		t.Errorf("part = %q, want %q", got, want)
	}

	// Words beyond the first MaxQueryBytes bytes are ignored.
	raw = strings.Repeat("x ", MaxQueryBytes/2-1) + "y " + "z"
	for _, term := range Parse(raw).Terms {
		if term.Parts[0] == "z" {
			t.Errorf("a word after %d bytes was kept", MaxQueryBytes)
		}
	}

	// A UUID after leading spaces beyond the limit is still found: spaces are trimmed first.
	id := "0b6f3a4e-9c1d-4f2a-8e7b-5d4c3b2a1f00"
	if q := Parse(strings.Repeat(" ", 1000) + id); q.UUID != id {
		t.Errorf("UUID after long white space not found: %#v", q)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abc", 3, "abc"},
		{"abcd", 3, "abc"},
		{"aé", 2, "a"},     // é is 2 bytes
		{"a東", 3, "a"},     // 東 is 3 bytes
		{"a東", 4, "a東"},    //
		{"a😀b", 4, "a"},    // 😀 is 4 bytes
		{"ab cd", 3, "ab"}, // trailing space trimmed
		{"\xff\xff\xff\xff\xff", 2, "\xff\xff"},
		{"a\x80\x80\x80\x80\x80", 4, "a\x80\x80\x80"}, // no rune start nearby: cut at n
	}
	for _, tt := range tests {
		if got := truncate(tt.s, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestFTS5AndTSQuery(t *testing.T) {
	tests := []struct {
		raw     string
		fts5    string
		tsquery string
	}{
		{"", "", ""},
		{"!!!", "", ""},
		{"0b6f3a4e-9c1d-4f2a-8e7b-5d4c3b2a1f00", "", ""},
		{"hello", `"hello"*`, `'hello':*`},
		{"Hello World", `"hello" AND "world"*`, `'hello' & 'world':*`},
		{"ORD-0012345", `"ord 0012345"*`, `('ord' <-> '0012345':*)`},
		{"#42", `"42"*`, `'42':*`},
		{"ORD-0012345 shipped", `"ord 0012345" AND "shipped"*`, `('ord' <-> '0012345') & 'shipped':*`},
		{"john.doe@example.com", `"john doe example com"*`,
			`('john' <-> 'doe' <-> 'example' <-> 'com':*)`},
		{"Crème brûlée", `"creme" AND "brulee"*`, `'creme' & 'brulee':*`},
		{"and OR not NEAR", `"and" AND "or" AND "not" AND "near"*`, `'and' & 'or' & 'not' & 'near':*`},
		{"東京 駅", `"東 京" AND "駅"*`, `('東' <-> '京') & '駅':*`},
	}
	for _, tt := range tests {
		q := Parse(tt.raw)
		if got := q.FTS5(); got != tt.fts5 {
			t.Errorf("Parse(%q).FTS5() = %s, want %s", tt.raw, got, tt.fts5)
		}
		if got := q.TSQuery(); got != tt.tsquery {
			t.Errorf("Parse(%q).TSQuery() = %s, want %s", tt.raw, got, tt.tsquery)
		}
	}
}

func TestFTS5Expanded(t *testing.T) {
	tests := []struct {
		raw    string
		words  []string
		prefix string
		want   string
	}{
		{"nothing", []string{"nothing", "nothingness"}, "nothing", `("nothing" OR "nothingness")`},
		{"ORD-00123", []string{"0012345"}, "00123", `("ord 0012345")`},
		{"refund not", []string{"not", "nothing"}, "not", `"refund" AND ("not" OR "nothing")`},
		{"#42", []string{"42", "420"}, "42", `("42" OR "420")`},
	}
	for _, tt := range tests {
		q := Parse(tt.raw)
		if got := q.PrefixPart(); got != tt.prefix {
			t.Errorf("Parse(%q).PrefixPart() = %q, want %q", tt.raw, got, tt.prefix)
		}
		if got := q.FTS5Expanded(tt.words); got != tt.want {
			t.Errorf("Parse(%q).FTS5Expanded(%q) = %s, want %s", tt.raw, tt.words, got, tt.want)
		}
	}
	byHand := Query{Terms: []Term{{Parts: []string{"a"}}, {Parts: []string{"", `e\f`, ""}, Prefix: true}}}
	if got, want := byHand.FTS5Expanded([]string{"e", "ef"}), `"a" AND ("e" OR "ef")`; got != want {
		t.Errorf("by hand: FTS5Expanded = %s, want %s", got, want)
	}
	if (Query{}).PrefixPart() != "" {
		t.Error("empty query has a prefix part")
	}
}

// TestQueryByHand covers queries that Parse does not produce: quotes, backslashes and empty
// parts or terms must still give well-formed expressions.
func TestQueryByHand(t *testing.T) {
	q := Query{Terms: []Term{
		{Parts: []string{`a"b`, `c'd`}},
		{Parts: []string{""}},
		{},
		{Parts: []string{"", `e\f`, ""}, Prefix: true},
	}}
	if got, want := q.FTS5(), `"a""b c'd" AND "e\f"*`; got != want {
		t.Errorf("FTS5() = %s, want %s", got, want)
	}
	if got, want := q.TSQuery(), `('a"b' <-> 'c''d') & 'e\\f':*`; got != want {
		t.Errorf("TSQuery() = %s, want %s", got, want)
	}
	empty := Query{Terms: []Term{{}, {Parts: []string{""}, Prefix: true}}}
	if empty.FTS5() != "" || empty.TSQuery() != "" {
		t.Errorf("terms without parts: FTS5() = %q, TSQuery() = %q", empty.FTS5(), empty.TSQuery())
	}
}

func ExampleParse() {
	q := Parse("ORD-0012345 Zürich")
	fmt.Println(q.FTS5())
	fmt.Println(q.TSQuery())

	q = Parse("#42")
	fmt.Println(q.Ord, q.FTS5())
	// Output:
	// "ord 0012345" AND "zurich"*
	// ('ord' <-> '0012345') & 'zurich':*
	// 42 "42"*
}

func ExampleNormalize() {
	fmt.Println(Normalize("Re: Commande ORD-0012345 — livrée à Zürich?"))
	// Output: re commande ord 0012345 livree a zurich
}
