package flags

import (
	"strings"
	"unicode"

	"github.com/parleyhq/parley/internal/analysis/textutil"
)

// A term is a word or phrase in folded form (lower case, no accents). A word ending in "*"
// matches any word it begins; "~" before a word of five letters or more lets one typo
// (an edit or a swap of neighbours) through.
type term []string

func parseTerms(list ...string) []term {
	var out []term
	for _, s := range list {
		t := term(strings.Fields(textutil.Fold(s)))
		if len(t) > 0 {
			out = append(out, t)
		}
	}
	return out
}

func wordMatches(pat, w string) bool {
	if pat == w {
		return true
	}
	if strings.HasSuffix(pat, "*") {
		return strings.HasPrefix(w, pat[:len(pat)-1])
	}
	if strings.HasPrefix(pat, "~") {
		p := pat[1:]
		d := len(w) - len(p)
		return w == p || (len(w) >= 5 && d >= -1 && d <= 1 && oneEdit(p, w))
	}
	return false
}

// matchAt returns the length of term t at position i of words, or 0.
func (t term) matchAt(words []string, i int) int {
	if i+len(t) > len(words) {
		return 0
	}
	for k, p := range t {
		if !wordMatches(p, words[i+k]) {
			return 0
		}
	}
	return len(t)
}

type span struct{ start, end int }

// termSet indexes terms by their first word: exact first words in a map, the rest (prefix and
// typo-tolerant first words) in a list.
type termSet struct {
	byFirst map[string][]term
	other   []term
}

func newTermSet(terms []term) termSet {
	s := termSet{byFirst: map[string][]term{}}
	for _, t := range terms {
		if f := t[0]; strings.HasSuffix(f, "*") || strings.HasPrefix(f, "~") {
			s.other = append(s.other, t)
		} else {
			s.byFirst[f] = append(s.byFirst[f], t)
		}
	}
	return s
}

func (s *termSet) each(words []string, i int, fn func(n int) bool) bool {
	for _, t := range s.byFirst[words[i]] {
		if n := t.matchAt(words, i); n > 0 && fn(n) {
			return true
		}
	}
	for _, t := range s.other {
		if n := t.matchAt(words, i); n > 0 && fn(n) {
			return true
		}
	}
	return false
}

// find returns the spans where any of the terms occurs in words.
func (s *termSet) find(words []string) []span {
	var out []span
	for i := range words {
		s.each(words, i, func(n int) bool {
			out = append(out, span{i, i + n})
			return false
		})
	}
	return out
}

func (s *termSet) containsAny(words []string) bool {
	for i := range words {
		if s.each(words, i, func(int) bool { return true }) {
			return true
		}
	}
	return false
}

// oneEdit reports whether a and b are one insertion, deletion, substitution or swap of
// neighbouring letters apart (a != b).
func oneEdit(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	la, lb := len(ra), len(rb)
	if la-lb > 1 || lb-la > 1 {
		return false
	}
	i := 0
	for i < la && i < lb && ra[i] == rb[i] {
		i++
	}
	if i == la && i == lb {
		return false
	}
	switch {
	case la == lb:
		if string(ra[i+1:]) == string(rb[i+1:]) {
			return true
		}
		return i+1 < la && ra[i] == rb[i+1] && ra[i+1] == rb[i] && string(ra[i+2:]) == string(rb[i+2:])
	case la > lb:
		return string(ra[i+1:]) == string(rb[i:])
	default:
		return string(ra[i:]) == string(rb[i+1:])
	}
}

// clauses splits folded text into clauses of words at sentence punctuation and line breaks.
func clauses(folded string) [][]string {
	parts := strings.FieldsFunc(folded, func(r rune) bool {
		switch r {
		case '.', '!', '?', ';', '\n', '。', '！', '？', '؟', '|':
			return true
		}
		return false
	})
	var out [][]string
	for _, p := range parts {
		if w := textutil.Words(p); len(w) > 0 {
			out = append(out, w)
		}
	}
	return out
}

// containsPhrase reports whether the folded text holds phrase p on word boundaries, or (for
// phrases in scripts without spaces, and Korean, where particles stick to nouns) anywhere.
func containsPhrase(folded, p string) bool {
	if p == "" {
		return false
	}
	noSpace := false
	for _, r := range p {
		if textutil.IsNoSpaceScript(r) || unicode.Is(unicode.Hangul, r) {
			noSpace = true
			break
		}
	}
	if noSpace {
		return strings.Contains(folded, p)
	}
	for off := 0; ; {
		i := strings.Index(folded[off:], p)
		if i < 0 {
			return false
		}
		i += off
		j := i + len(p)
		if boundaryBefore(folded, i) && boundaryAfter(folded, j) {
			return true
		}
		off = i + 1
	}
}

func boundaryBefore(s string, i int) bool {
	if i == 0 {
		return true
	}
	r := lastRune(s[:i])
	return !textutil.IsWordRune(r)
}

func boundaryAfter(s string, j int) bool {
	if j >= len(s) {
		return true
	}
	for _, r := range s[j:] {
		return !textutil.IsWordRune(r)
	}
	return true
}

func lastRune(s string) rune {
	var last rune
	for _, r := range s {
		last = r
	}
	return last
}
