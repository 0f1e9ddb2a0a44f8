package sentiment

import (
	"math"
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
func features(s string) []uint64 { return featuresTokens(tokens(s)) }

// featuresTokens is features of a text's tokens.
func featuresTokens(t []string) []uint64 {
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

func isPunct(w string) bool { return len(w) == 1 && strings.ContainsAny(w, ".,;:!?") }

// nClass is the number of dense inputs of the three-class model: the nDense VADER inputs,
// |compound|, VADER's positive and negative words (count / 3), its strongest positive and
// negative valence (/ 4), exclamation marks (at most 3, / 3), question marks (at most 2, / 2),
// the share of words with a digit or a capital (not first: names, figures: factual text), and
// the two regressions' outputs (score and strength before the blend and the gate).
const nClass = nDense + 10

func (s *Scorer) classDense(text string, t []string, d [nDense]float64, score, strength float64) [nClass]float64 {
	var pos, neg, mx, mn float64
	var words, excl, quest, marked float64
	for _, w := range t {
		switch {
		case w == "!":
			excl++
		case w == "?":
			quest++
		}
		if isPunct(w) {
			continue
		}
		words++
		if v, ok := s.vader.Lexicon[w]; ok {
			if v > 0 {
				pos++
			} else if v < 0 {
				neg++
			}
			mx = math.Max(mx, v)
			mn = math.Min(mn, v)
		}
	}
	for i, w := range strings.Fields(text) {
		if i > 0 && w[0] >= 'A' && w[0] <= 'Z' {
			marked++
		}
		if strings.ContainsAny(w, "0123456789") {
			marked++
		}
	}
	var x [nClass]float64
	copy(x[:], d[:])
	x[nDense] = math.Abs(d[1])
	x[nDense+1] = pos / 3
	x[nDense+2] = neg / 3
	x[nDense+3] = mx / 4
	x[nDense+4] = mn / 4
	x[nDense+5] = math.Min(excl, 3) / 3
	x[nDense+6] = math.Min(quest, 2) / 2
	x[nDense+7] = marked / math.Max(words, 1)
	x[nDense+8] = score
	x[nDense+9] = strength
	return x
}
