// Package textutil holds the text helpers the analyzers share: accent and case folding,
// word splitting, greeting and stop-word lists.
package textutil

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Fold lower-cases s and removes combining marks (accents), so that "Démo" and "demo" compare
// equal. Characters of scripts without case pass through. A few letters that do not decompose
// are mapped by hand (ß, ø, æ, œ, ł, đ, ı).
func Fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			// keep the marks of scripts whose vowels are marks (Devanagari and friends) and
			// the Japanese voicing marks (ペ is not ヘ)
			if r >= 0x0900 && r <= 0x0DFF || r == 0x3099 || r == 0x309A {
				b.WriteRune(r)
			}
			continue
		}
		switch r {
		case 'ß':
			b.WriteString("ss")
			continue
		case 'ø', 'Ø':
			r = 'o'
		case 'æ', 'Æ':
			b.WriteString("ae")
			continue
		case 'œ', 'Œ':
			b.WriteString("oe")
			continue
		case 'ł', 'Ł':
			r = 'l'
		case 'đ', 'Đ':
			r = 'd'
		case 'ı':
			r = 'i'
		case '’', '‘', '`', '´':
			r = '\''
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return norm.NFC.String(b.String())
}

// IsWordRune reports whether r belongs inside a word.
func IsWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)
}

// Words splits s into words: runs of letters, digits and marks; an apostrophe inside a word is
// kept ("don't", "l'homme" stays one token). s is not folded.
func Words(s string) []string {
	var out []string
	start := -1
	prevApos := false
	for i, r := range s {
		if IsWordRune(r) {
			if start < 0 {
				start = i
			}
			prevApos = false
			continue
		}
		if (r == '\'' || r == '’') && start >= 0 && !prevApos {
			prevApos = true
			continue
		}
		if start >= 0 {
			w := s[start:i]
			if prevApos {
				w = strings.TrimRight(w, "'’")
			}
			out = append(out, w)
			start = -1
		}
		prevApos = false
	}
	if start >= 0 {
		out = append(out, strings.TrimRight(s[start:], "'’"))
	}
	return out
}

// FoldedWords is Words(Fold(s)).
func FoldedWords(s string) []string { return Words(Fold(s)) }

// IsNoSpaceScript reports whether r belongs to a script written without spaces between words
// (Chinese, Japanese, Thai, Lao, Khmer, Myanmar).
func IsNoSpaceScript(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar)
}

// CountLetters returns the number of letters in s.
func CountLetters(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n
}

// FirstWords returns the first n words of s as a person would count them: the first n
// whitespace-separated tokens; when the first token is mostly written in a script without
// spaces (Chinese, Japanese, Thai) and is longer than 2n runes, its first 2n runes instead
// (two "words" of Chinese or Japanese are about four characters).
func FirstWords(s string, n int) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	r := []rune(f[0])
	ns := 0
	for _, x := range r {
		if IsNoSpaceScript(x) {
			ns++
		}
	}
	if ns*2 > len(r) && len(r) > 2*n {
		return string(r[:2*n])
	}
	if len(f) > n {
		f = f[:n]
	}
	return strings.Join(f, " ")
}
