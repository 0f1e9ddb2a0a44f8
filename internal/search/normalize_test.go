package search

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func TestNormalize(t *testing.T) {
	long := strings.Repeat("a", 100)
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"spaces", " \t\n ", ""},
		{"punctuation only", "-- ... !? #", ""},
		{"already normal", "hello world 42", "hello world 42"},
		{"case", "Hello WORLD", "hello world"},
		{"accent composed", "Café", "cafe"},
		{"accent upper", "CAFÉ", "cafe"},
		{"accent decomposed", "cafe\u0301", "cafe"},
		{"umlaut", "Zürich", "zurich"},
		{"many diacritics", "Ångström Łódź naïve crème brûlée", "angstrom łodz naive creme brulee"},
		{"sharp s", "Straße", "strasse"},
		{"capital sharp s", "STRAẞE", "strasse"},
		{"turkish dotted capital I", "İstanbul", "istanbul"},
		{"turkish dotless i", "ılık", "ilik"},
		{"compatibility", "ﬁle ① ²", "file 1 2"},
		{"fullwidth", "ＡＢＣ１２３", "abc123"},
		{"greek", "Ελλάδα", "ελλαδα"},
		{"greek final sigma", "λόγος ΛΟΓΟΣ", "λογοσ λογοσ"},
		{"numbers", "Ⅻ ½ ⓫ ௰ 〇 ٤٢", "xii 1 2 〇 ٤٢"},
		{"cyrillic", "Москва Ёлка", "москва елка"},
		{"punctuated order number", "ORD-0012345", "ord 0012345"},
		{"tracking number", "1Z999AA1/0123-4567", "1z999aa1 0123 4567"},
		{"email", "john.doe@example.com", "john doe example com"},
		{"url", "https://example.com/a?b=c", "https example com a b c"},
		{"apostrophe", "don't", "don t"},
		{"collapse separators", "  a,, b\t\n c  ", "a b c"},
		{"emoji separates", "a😀b", "a b"},
		{"han", "東京タワー", "東 京 タ ワ ー"},
		{"han mixed", "abc東京def", "abc 東 京 def"},
		{"hiragana", "ありがとう", "あ り か と う"}, // the voicing mark is a combining mark
		{"halfwidth katakana", "ｶﾞ", "カ"},
		{"hangul stays one word", "한국", "\u1112\u1161\u11ab\u1100\u116e\u11a8"},
		{"thai", "สวัสดี", "ส ว ส ด"},
		{"invalid utf-8", "ab\xffcd\xc3", "ab cd"},
		{"long token", long + " b", long[:MaxTokenRunes] + " b"},
		{"long non-ascii token", strings.Repeat("é", 70), strings.Repeat("e", MaxTokenRunes)},
		{"long ascii already lower", strings.Repeat("x", 65), strings.Repeat("x", 64)},
		{"nul", "a\x00b", "a b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Normalize(tt.in); got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeAlike(t *testing.T) {
	groups := [][]string{
		{"Café", "CAFE", "café", "cafe\u0301", "ＣＡＦＥ"},
		{"Zürich", "ZURICH", "zu\u0308rich"},
		{"ORD-0012345", "ord 0012345", "ord_0012345", "Ord.0012345"},
	}
	for _, g := range groups {
		want := Normalize(g[0])
		for _, s := range g[1:] {
			if got := Normalize(s); got != want {
				t.Errorf("Normalize(%q) = %q, want %q like Normalize(%q)", s, got, want, g[0])
			}
		}
	}
}

func TestTokens(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" -- ", nil},
		{"ORD-0012345", []string{"ord", "0012345"}},
		{"john.doe@example.com", []string{"john", "doe", "example", "com"}},
		{"Crème brûlée", []string{"creme", "brulee"}},
		{"東京", []string{"東", "京"}},
	}
	for _, tt := range tests {
		if got := Tokens(tt.in); !slices.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("Tokens(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestNormalizeEveryRune checks the invariants of Normalize on every single rune, alone and
// between letters, which fuzzing would only sample.
func TestNormalizeEveryRune(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		for _, s := range []string{string(r), "a" + string(r) + "b", string(r) + string(r)} {
			n := Normalize(s)
			if err := checkNormal(n); err != "" {
				t.Fatalf("Normalize(%q) = %q: %s", s, n, err)
			}
			if again := Normalize(n); again != n {
				t.Fatalf("Normalize(%q) = %q, but Normalize(%q) = %q", s, n, n, again)
			}
		}
	}
}

// checkNormal returns what is wrong with s as output of Normalize, or "".
func checkNormal(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "invalid UTF-8"
	case strings.HasPrefix(s, " "), strings.HasSuffix(s, " "):
		return "leading or trailing space"
	case strings.Contains(s, "  "):
		return "double space"
	}
	if s == "" {
		return ""
	}
	for tok := range strings.SplitSeq(s, " ") {
		if utf8.RuneCountInString(tok) > MaxTokenRunes {
			return "token too long"
		}
		for _, r := range tok {
			if r < utf8.RuneSelf && (r == 0 || asciiFold[r] != byte(r)) {
				return "unexpected ASCII character"
			}
		}
	}
	return ""
}

func TestNormalizeASCIINoAlloc(t *testing.T) {
	s := "already normalized text 42"
	if n := testing.AllocsPerRun(100, func() { _ = Normalize(s) }); n != 0 {
		t.Errorf("Normalize of normalized text allocates %v times", n)
	}
}

var sink string

func BenchmarkNormalize(b *testing.B) {
	inputs := []struct{ name, text string }{
		{"ascii", "Hi! My order ORD-0012345 hasn't arrived yet; tracking 1Z999AA10123456784. " +
			"Could you check, please? Thanks, John (john.doe@example.com)"},
		{"normalized", "hi my order ord 0012345 hasn t arrived yet tracking 1z999aa10123456784 " +
			"could you check please thanks john john doe example com"},
		{"latin accents", "Bonjour, ma commande n'est pas arrivée ; pourriez-vous vérifier ? Merci, " +
			"Zoë Müller — Straße 12, Zürich"},
		{"japanese", "ご注文番号ORD-0012345の商品がまだ届いていません。確認していただけますか？"},
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.text)))
			b.ReportAllocs()
			for b.Loop() {
				sink = Normalize(in.text)
			}
		})
	}
}

// normalizeNFKD is a straightforward reference implementation of Normalize that runs the whole
// text through norm.NFKD, to check the rune-at-a-time decomposition of Normalize.
func normalizeNFKD(text string) string {
	var toks []string
	var tok []rune
	flush := func() {
		if len(tok) > 0 {
			toks = append(toks, string(tok[:min(len(tok), MaxTokenRunes)]))
			tok = tok[:0]
		}
	}
	for _, r := range norm.NFKD.String(text) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case r == 'ß' || r == 'ẞ':
			tok = append(tok, 's', 's')
		case r == 'ı':
			tok = append(tok, 'i')
		case r == 'ς':
			tok = append(tok, 'σ')
		case unicode.IsLetter(r) || unicode.In(r, unicode.Nd, unicode.Nl):
			r = unicode.ToLower(r)
			if isUnspaced(r) {
				flush()
				tok = append(tok, r)
				flush()
			} else {
				tok = append(tok, r)
			}
		default:
			flush()
		}
	}
	flush()
	return strings.Join(toks, " ")
}

func TestNormalizeNFKD(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	for r := rune(0x80); r <= utf8.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		// Alone, after a letter, and followed by combining marks of different classes in
		// non-canonical order (and a spacing mark), which NFKD reorders.
		for _, s := range []string{string(r), "a" + string(r), string(r) + "\u0301\u0327\u093e\u05b0b"} {
			if got, want := Normalize(s), normalizeNFKD(s); got != want {
				t.Fatalf("Normalize(%q) = %q, reference NFKD gives %q", s, got, want)
			}
		}
	}
}
