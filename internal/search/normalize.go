package search

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxTokenRunes is the longest token, in runes, that Normalize emits; longer tokens are
// truncated. It keeps pathological input (a base64 blob, a long URL) from producing huge index
// entries, and it is far below PostgreSQL's 2047-byte lexeme limit.
const MaxTokenRunes = 64

// asciiFold maps an ASCII byte to the byte it contributes to a token (lower-cased letters and
// digits), or to 0 when it separates tokens.
var asciiFold = func() (t [utf8.RuneSelf]byte) {
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c
	}
	for c := byte('a'); c <= 'z'; c++ {
		t[c] = c
		t[c-'a'+'A'] = c
	}
	return t
}()

// Normalize returns the indexed form of text: its words as plain lower-case tokens separated by
// single spaces, with no leading or trailing space. Both database engines index exactly this
// form, and queries are normalized the same way, so that SQLite FTS5 and PostgreSQL agree.
//
// The text is decomposed (Unicode NFKD: "ﬁ" is "fi", "①" is "1", "Ａ" is "A", and a Hangul
// syllable is its jamo), combining marks (category Mn: accents and other diacritics) are dropped
// and letters are lower-cased; "ß" becomes "ss", the dotless "ı" becomes "i" and the final "ς"
// becomes "σ". Tokens are made of letters, decimal digits and letter-like numbers (Nl); every
// other rune separates tokens, so "ORD-0012345" is "ord 0012345" and "john.doe@example.com" is
// "john doe example com". Scripts written without spaces between words (Han, Hiragana,
// Katakana, Thai, Lao, Khmer, Myanmar) yield one token per rune, so that any sequence of them
// can be found as a phrase. Tokens longer than MaxTokenRunes runes are truncated.
//
// Invalid UTF-8 separates tokens like any other non-letter; the result is always valid UTF-8.
// Normalize is idempotent: Normalize(Normalize(s)) == Normalize(s), and already normalized
// ASCII text is returned without copying.
func Normalize(text string) string {
	if isNormalASCII(text) {
		return text
	}
	n := newNormalizer(len(text))
	n.write(text)
	s := string(n.buf)
	n.free()
	return s
}

// Tokens returns the tokens of Normalize(text), or nil when there are none.
func Tokens(text string) []string {
	s := Normalize(text)
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

// isNormalASCII reports whether s is already normalized and pure ASCII: tokens of [a-z0-9],
// at most MaxTokenRunes long, separated by single spaces. It lets Normalize return such text
// (for instance text that was normalized before) without copying it.
func isNormalASCII(s string) bool {
	run := 0 // length of the current token; 0 right after a space
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ':
			if run == 0 {
				return false // leading or double space
			}
			run = 0
		case c < utf8.RuneSelf && c != 0 && asciiFold[c] == c:
			if run++; run > MaxTokenRunes {
				return false
			}
		default:
			return false
		}
	}
	return run > 0 || s == ""
}

// normalizer accumulates the normalized form of a text.
type normalizer struct {
	buf     []byte // the output
	inToken bool   // the last rune written belongs to a token that may continue
	runes   int    // runes in the current token
}

var normalizerPool = sync.Pool{New: func() any { return new(normalizer) }}

func newNormalizer(size int) *normalizer {
	n := normalizerPool.Get().(*normalizer)
	if cap(n.buf) < size+8 {
		n.buf = make([]byte, 0, size+size/8+8)
	}
	n.buf = n.buf[:0]
	n.inToken, n.runes = false, 0
	return n
}

// free returns n to the pool unless its buffer grew too large to keep around.
func (n *normalizer) free() {
	if cap(n.buf) > 64<<10 {
		return
	}
	normalizerPool.Put(n)
}

// write normalizes s and appends it to the output.
//
// Rather than running NFKD over the text, write decomposes one rune at a time and skips the
// canonical reordering of combining marks. That gives the same tokens: reordering only moves
// runes with a non-zero combining class among each other, and those are all marks, which are
// either dropped (Mn) or separators (Mc, Me), so their order is irrelevant. TestNormalizeNFKD
// checks this against the norm package.
func (n *normalizer) write(s string) {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				n.inToken = false // invalid UTF-8
			} else {
				n.writeDecomposed(r, s[i:i+size])
			}
			i += size
			continue
		}
		if asciiFold[c] == 0 {
			n.inToken = false
			i++
			continue
		}
		// A run of ASCII letters and digits, kept in locals for speed.
		n.startToken()
		buf, runes := n.buf, n.runes
		for ; i < len(s); i++ {
			f := s[i]
			if f >= utf8.RuneSelf {
				break
			}
			if f = asciiFold[f]; f == 0 {
				break
			}
			if runes < MaxTokenRunes {
				buf = append(buf, f)
				runes++
			}
		}
		n.buf, n.runes = buf, runes
	}
}

// Hangul syllables decompose algorithmically into conjoining jamo (Unicode §3.12); the norm
// package tables do not list them.
const (
	hangulBase   = 0xAC00
	hangulCount  = 11172
	hangulLBase  = 0x1100
	hangulVBase  = 0x1161
	hangulTBase  = 0x11A7
	hangulTCount = 28
	hangulNCount = 588
)

// writeDecomposed writes the NFKD decomposition of r, a non-ASCII rune encoded as enc.
func (n *normalizer) writeDecomposed(r rune, enc string) {
	if 0x4E00 <= r && r <= 0x9FFF {
		// CJK Unified Ideographs, the bulk of Chinese and Japanese text: letters without
		// decomposition or case, each a token.
		n.inToken = false
		n.appendTokenRune(r)
		n.inToken = false
		return
	}
	if r-hangulBase >= 0 && r-hangulBase < hangulCount {
		si := r - hangulBase
		n.writeRune(hangulLBase + si/hangulNCount)
		n.writeRune(hangulVBase + si%hangulNCount/hangulTCount)
		if t := si % hangulTCount; t != 0 {
			n.writeRune(hangulTBase + t)
		}
		return
	}
	if d := norm.NFKD.PropertiesString(enc).Decomposition(); d != nil {
		for _, r := range string(d) {
			n.writeRune(r)
		}
		return
	}
	n.writeRune(r)
}

// writeRune writes one rune of NFKD-decomposed text.
func (n *normalizer) writeRune(r rune) {
	switch {
	case r < utf8.RuneSelf:
		if f := asciiFold[r]; f != 0 {
			n.appendTokenRune(rune(f))
		} else {
			n.inToken = false
		}
	case unicode.Is(unicode.Mn, r):
		// Combining marks vanish without splitting the word they belong to.
	case r == 'ß' || r == 'ẞ':
		n.appendTokenRune('s')
		n.appendTokenRune('s')
	case r == 'ı':
		n.appendTokenRune('i')
	case r == 'ς':
		n.appendTokenRune('σ') // SQLite folds the final sigma; PostgreSQL does not.
	case isTokenRune(r):
		r = unicode.ToLower(r)
		if isUnspaced(r) {
			n.inToken = false
			n.appendTokenRune(r)
			n.inToken = false
		} else {
			n.appendTokenRune(r)
		}
	default:
		n.inToken = false
	}
}

// startToken begins a token unless one is in progress.
func (n *normalizer) startToken() {
	if !n.inToken {
		if len(n.buf) > 0 {
			n.buf = append(n.buf, ' ')
		}
		n.inToken = true
		n.runes = 0
	}
}

// appendTokenRune appends r, a letter or digit, to the current token.
func (n *normalizer) appendTokenRune(r rune) {
	n.startToken()
	if n.runes < MaxTokenRunes {
		n.buf = utf8.AppendRune(n.buf, r)
		n.runes++
	}
}

// isTokenRune reports whether r, a rune of NFKD-decomposed text, belongs to a token: it is a
// letter, a decimal digit or a letter-like number (Nl, such as Ⅻ's decomposition or 〇).
//
// Other numbers (No) that survive NFKD (⓫, ௰, ৴) separate tokens: PostgreSQL's parser does
// not consider them word characters while SQLite's unicode61 does, so leaving them out is what
// keeps both engines in agreement. The common ones ("²", "①", "½") decompose to digits first.
func isTokenRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Nl, r)
}

// unspacedScripts are written without spaces between words; each of their letters is a token.
var unspacedScripts = []*unicode.RangeTable{
	unicode.Han, unicode.Hiragana, unicode.Katakana,
	unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar,
}

// isUnspaced reports whether r belongs to one of the unspacedScripts.
func isUnspaced(r rune) bool {
	return r >= 0x0E00 && unicode.In(r, unspacedScripts...)
}
