package sentiment

import (
	"strings"
	"unicode"
)

var negators = map[string]bool{
	"not": true, "no": true, "never": true, "n't": true, "nothing": true, "neither": true, "nor": true,
	"without": true, "hardly": true, "none": true, "nobody": true, "cannot": true, "barely": true, "nowhere": true,
}

// tokens lower-cases s and splits it into words (keeping apostrophes, splitting "n't" off)
// and the punctuation that ends a negation's scope.
func tokens(s string) []string {
	s = strings.ToLower(s)
	s = strings.ReplaceAll(s, "’", "'")
	s = strings.ReplaceAll(s, "n't", " n't")
	var out []string
	start := -1
	for i, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			out = append(out, s[start:i])
			start = -1
		}
		switch r {
		case '.', ',', ';', ':', '!', '?':
			out = append(out, string(r))
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

func fnv(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

const (
	seedUni = 14695981039346656037
	seedNeg = seedUni ^ 0x2545F4914F6CDD1D
	seedBi  = seedUni ^ 0x9E3779B97F4A7C15
)

// features returns the hashed features of an English text: words (marked when they follow a
// negation in the same clause) and word pairs.
func features(s string) []uint64 {
	t := tokens(s)
	out := make([]uint64, 0, 2*len(t))
	neg := false
	prev := "<s>"
	for _, w := range t {
		if len(w) == 1 && strings.ContainsAny(w, ".,;:!?") {
			neg = false
			prev = w
			continue
		}
		if neg {
			out = append(out, fnv(seedNeg, w))
		} else {
			out = append(out, fnv(seedUni, w))
		}
		out = append(out, fnv(fnv(seedBi, prev), "_"+w))
		if negators[w] {
			neg = true
		}
		prev = w
	}
	return out
}
