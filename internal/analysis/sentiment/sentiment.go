// Package sentiment scores the sentiment of a message: a label (positive, neutral, negative)
// and a score in -1..1. English text gets VADER (github.com/jonreiter/govader) with support-
// domain words, blended with a linear model over words and word pairs that was trained on the
// development sets of human-rated snippets (cross-validated figures in docs/analysis.md).
// German, French and Spanish get a small hand-written lexicon with negation and intensifiers.
// Other languages get nil: no guess.
package sentiment

import (
	_ "embed"
	"math"
	"strings"
	"sync"
	"unicode"

	"github.com/jonreiter/govader"
)

// Labels.
const (
	Positive = "positive"
	Neutral  = "neutral"
	Negative = "negative"
)

// Result is a judged sentiment.
type Result struct {
	Label string  `json:"sentiment"`
	Score float64 `json:"score"` // -1..1
}

// Judge scores a text in a language (ISO 639-1, "" when unknown); nil means it cannot judge.
type Judge interface {
	Score(text, lang string) *Result
}

//go:generate go run ./internal/genmodel

//go:embed en_model.bin.gz
var shippedModel []byte

// Scorer implements Judge. It is safe for concurrent use.
type Scorer struct {
	vader *govader.SentimentIntensityAnalyzer
	model *Linear
}

var (
	defaultOnce sync.Once
	defaultS    *Scorer
)

// Default returns the scorer with the shipped model (built once).
func Default() *Scorer {
	defaultOnce.Do(func() {
		m, err := DecodeLinear(shippedModel)
		if err != nil {
			panic(err)
		}
		defaultS = New(m)
	})
	return defaultS
}

// New returns a scorer with the given learned model (nil: VADER and the domain words only).
func New(m *Linear) *Scorer {
	v := govader.NewSentimentIntensityAnalyzer()
	for w, x := range supportLexicon {
		v.Lexicon[w] = x
	}
	return &Scorer{vader: v, model: m}
}

// supportLexicon adds support-chat words VADER lacks (valence on VADER's -4..4 scale).
var supportLexicon = map[string]float64{
	"unhelpful": -1.8, "garbage": -2.0, "rubbish": -2.0, "overcharged": -2.0, "scammed": -2.7,
	"unresponsive": -1.6, "unreachable": -1.2, "refund": -0.4, "refunded": 0.6, "glitch": -1.2,
	"buggy": -1.6, "laggy": -1.3, "unusable": -2.2, "crashes": -1.6, "crashed": -1.6, "crashing": -1.6,
	"frustrating": -2.0, "infuriating": -2.6, "unacceptable": -2.2, "appalling": -2.5, "ripoff": -2.5,
	"resolved": 1.0, "fixed": 0.8, "sorted": 0.6, "lifesaver": 2.5,
}

// supportPhrases adjust the blended score (-1..1 scale) for phrases of support chats.
var supportPhrases = []struct {
	p string
	v float64
}{
	{"still waiting", -0.35}, {"still haven't", -0.3}, {"still not", -0.25}, {"still no", -0.25},
	{"doesn't work", -0.35}, {"does not work", -0.35}, {"don't work", -0.3}, {"not working", -0.35},
	{"isn't working", -0.35}, {"stopped working", -0.4}, {"never arrived", -0.4}, {"never received", -0.4},
	{"not received", -0.3}, {"haven't received", -0.3}, {"no response", -0.3}, {"no reply", -0.3},
	{"waste of time", -0.45}, {"waste of money", -0.45}, {"charged twice", -0.35}, {"double charged", -0.35},
	{"want my money back", -0.4}, {"cancel my", -0.1}, {"not happy", -0.35}, {"very disappointed", -0.2},
	{"it works", 0.3}, {"works now", 0.35}, {"working now", 0.35}, {"that worked", 0.35}, {"that helped", 0.35},
	{"problem solved", 0.4}, {"all good", 0.3}, {"thank you", 0.15}, {"perfect, thanks", 0.2},
}

func (s *Scorer) vaderDense(text string) [nDense]float64 {
	return s.vaderDenseTokens(text, tokens(text))
}

func (s *Scorer) vaderDenseTokens(text string, t []string) [nDense]float64 {
	v := s.vader.PolarityScores(text)
	n := float64(len(t))
	return [nDense]float64{1, v.Compound, v.Positive, v.Negative, v.Neutral, math.Min(n, 60) / 30}
}

// Support phrases move the three-class model's logits by phraseLogit per unit of their value
// (towards their sign, away from neutral); in a text without a VADER word they decide the label
// when their values add up to phraseMin at least.
const (
	phraseLogit = 4.0
	phraseMin   = 0.2
)

// English scores English text.
func (s *Scorer) English(text string) *Result {
	t := tokens(text)
	d := s.vaderDenseTokens(text, t)
	var (
		v   float64
		z   [2]float64
		lab int
	)
	if s.model != nil {
		v, z, lab = s.model.judge(s, text, t, d)
	} else {
		v = d[1] / 2
		lab = vaderLabel(d[1])
	}
	low := strings.ToLower(strings.ReplaceAll(text, "’", "'"))
	var ps, pa float64
	for _, p := range supportPhrases {
		if strings.Contains(low, p.p) {
			ps += p.v
			pa += math.Abs(p.v)
		}
	}
	if pa > 0 {
		v += ps
		switch {
		case s.model == nil || d[1] == 0:
			// VADER's label, or no VADER word: the phrases decide.
			lab = 0
			if math.Abs(v) >= 0.05 && (s.model == nil || pa >= phraseMin) {
				lab = int(math.Copysign(1, v))
			}
		default:
			z[0] += phraseLogit * (ps - pa)
			z[1] += 2 * phraseLogit * ps
			lab = classLabel(z, [2]float64{}, d)
		}
	}
	if s.model != nil {
		v = agree(v, lab)
	}
	return &Result{Label: labelName(lab), Score: clamp(v)}
}

func labelName(c int) string {
	switch c {
	case 1:
		return Positive
	case -1:
		return Negative
	}
	return Neutral
}

func clamp(v float64) float64 {
	v = math.Round(v*1000) / 1000
	return math.Max(-1, math.Min(1, v))
}

// Score implements Judge: English, German, French and Spanish; for text of unknown language,
// English when its letters are all ASCII; else nil.
func (s *Scorer) Score(text, lang string) *Result {
	if strings.TrimSpace(text) == "" {
		return nil
	}
	switch lang {
	case "en":
		return s.English(text)
	case "de", "fr", "es":
		return lexiconScore(text, lang)
	case "":
		letters := 0
		for _, r := range text {
			if unicode.IsLetter(r) {
				if r > unicode.MaxASCII {
					return nil
				}
				letters++
			}
		}
		if letters == 0 && !hasEmoji(text) {
			return nil
		}
		return s.English(text)
	}
	return nil
}

func hasEmoji(s string) bool {
	for _, r := range s {
		if r >= 0x1F300 && r <= 0x1FAFF || r >= 0x2600 && r <= 0x27BF {
			return true
		}
	}
	return false
}

// Train fits a model on examples (the shipped one was fitted on both development sets).
func (s *Scorer) Train(examples []Example, opt TrainOptions) *Linear {
	opt.defaults()
	c := s.prepare(examples)
	idx := make([]int, len(c.ex))
	for i := range idx {
		idx[i] = i
	}
	return train(c, idx, opt)
}

// CrossValidate returns out-of-fold blended scores and labels (-1, 0, 1) for examples: each
// fold is scored by a model trained (and tuned, by inner folds) on the other folds only.
// Example i is in fold i % folds, or with all the examples of its document (Example.Doc).
func (s *Scorer) CrossValidate(examples []Example, folds int, opt TrainOptions) (scores []float64, labels []int) {
	opt.defaults()
	c := s.prepare(examples)
	scores = make([]float64, len(examples))
	labels = make([]int, len(examples))
	for k := 0; k < folds; k++ {
		var idx []int
		for i := range c.ex {
			if c.ex[i].fold(i, folds, false) != k {
				idx = append(idx, i)
			}
		}
		m := train(c, idx, opt)
		for i := range examples {
			if c.ex[i].fold(i, folds, false) == k {
				scores[i], _, labels[i] = m.judge(s, examples[i].Text, tokens(examples[i].Text), c.ex[i].dense)
			}
		}
	}
	return scores, labels
}
