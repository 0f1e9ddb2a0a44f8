// Package language identifies the language of a message (ISO 639-1) and the main language of
// a conversation, offline, behind a script filter: a compact Naive Bayes model over character
// n-grams and words trained on the development sentences (model.bin.gz), plus a table of the
// commonest character 1- to 5-grams of each of the 75 languages in large corpora, derived from
// lingua-go's models (ngrams.bin.gz). Both ship inside the binary.
package language

import (
	_ "embed"
	"math"
	"sync"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/analysis/textutil"
)

// Detector identifies the language of a text. Detect returns an ISO 639-1 code, or "" when the
// text is too short or in no language the detector knows.
type Detector interface {
	Detect(text string) string
}

// The n-gram table first: the model's biases are learnt with it.
//go:generate sh -c "cd ../tools/langbench && go run ./ngrams -out ../../language/ngrams.bin.gz"
//go:generate go run ./internal/genmodel

//go:embed model.bin.gz
var shippedModel []byte

var (
	defaultOnce  sync.Once
	defaultModel *Model
	defaultErr   error
)

// Default returns the shipped model, decoded on first use (about 1 s, 50 MB of heap).
func Default() *Model {
	defaultOnce.Do(func() {
		defaultModel, defaultErr = decode(shippedModel, true)
		if defaultErr != nil {
			panic(defaultErr)
		}
	})
	return defaultModel
}

// MinLetters is the number of letters below which Detect gives up (two for scripts written
// without spaces, where one character carries a word; one for a script that only one known
// language is written in, such as Greek or Hebrew).
const MinLetters = 3

// Detect implements Detector.
func (m *Model) Detect(text string) string {
	code, _ := m.DetectConfidence(text)
	return code
}

// DetectConfidence returns the language and the probability the model gives it against the
// runner-up (0.5..1; a Naive Bayes model is over-confident, treat it as a ranking).
func (m *Model) DetectConfidence(text string) (string, float64) {
	text = head(text, MaxBytes)
	var cbuf [128]int
	cands := m.candidates(text, cbuf[:0])
	switch len(cands) {
	case 0:
		return "", 0
	case 1:
		return m.Langs[cands[0]], 1
	}
	var buf [128]float64
	sc := buf[:0]
	if len(m.Langs) <= len(buf) {
		sc = buf[:len(m.Langs)]
	} else {
		sc = make([]float64, len(m.Langs))
	}
	if !m.baseScores(text, cands, sc) {
		return "", 0
	}
	if m.bias != nil && utf8.RuneCountInString(text) > shortRunes {
		for _, l := range cands {
			sc[l] += float64(m.bias[l])
		}
	}
	best, second := -1, -1
	for _, l := range cands {
		if best < 0 || sc[l] > sc[best] {
			best, second = l, best
		} else if second < 0 || sc[l] > sc[second] {
			second = l
		}
	}
	p := 1 / (1 + math.Exp(sc[second]-sc[best]))
	return m.Langs[best], p
}

// candidates appends to cands the languages written in the script of most of text's letters;
// none when the text has too few letters.
func (m *Model) candidates(text string, cands []int) []int {
	script, letters := dominantScript(text)
	min := MinLetters
	if script == sHan || script == sKana || script == sThai || script == sHangul {
		min = 2
	}
	if letters == 0 {
		return cands
	}
	for l := range m.Langs {
		if m.scriptOf[l]&script != 0 {
			cands = append(cands, l)
		}
	}
	if letters < min && len(cands) > 1 {
		return cands[:0] // a script of one language needs one letter; the others more
	}
	return cands
}

// shortNgramW weighs the n-gram table on texts of at most shortRunes characters, in place of
// the model's NgramW (0.8): with a few words the large corpora's counts are worth more against
// the 300 sentences a language that the Naive Bayes part learnt from. Chosen on contiguous
// held-out blocks of the development sentences (lingua-style word pairs 87.5% at 0.8, 87.8% at
// 1.3, 87.9% at 2; first two words 84.1%, 84.2%, 84.0%; sentences unchanged).
const shortNgramW = 1.3

// baseScores adds the Naive Bayes and n-gram table log-likelihoods of text to sc (the
// candidates' entries are meaningful); false when the model knows none of its features.
func (m *Model) baseScores(text string, cands []int, sc []float64) bool {
	known := m.scores(text, sc)
	if m.ngrams != nil {
		w := m.ngramW
		if utf8.RuneCountInString(text) <= shortRunes {
			w = shortNgramW
		}
		known += m.ngrams.score(text, cands, w, sc)
	}
	return known > 0
}

// MaxBytes is how much of a long text Detect reads (cut at a rune boundary).
const MaxBytes = 400

func head(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Text is one message for MostFrequent.
type Text struct {
	Content  string
	Language string // as detected; "" when unknown
}

// MostFrequent returns the language that carries most of the letters of texts, ignoring
// texts shorter than 12 letters (4 in scripts without spaces) unless no text is longer; ""
// when none has a language.
func MostFrequent(texts []Text) string {
	weights := map[string]int{}
	short := map[string]int{}
	for _, t := range texts {
		if t.Language == "" {
			continue
		}
		n := textutil.CountLetters(t.Content)
		min := 12
		for _, r := range t.Content {
			if textutil.IsNoSpaceScript(r) {
				min = 4
				break
			}
		}
		if n < min {
			short[t.Language] += n
			continue
		}
		weights[t.Language] += n
	}
	if len(weights) == 0 {
		weights = short
	}
	best, bw := "", 0
	for l, w := range weights {
		if w > bw || (w == bw && l < best) {
			best, bw = l, w
		}
	}
	return best
}
