package language

import (
	"math"
	"math/rand/v2"
	"unicode/utf8"
)

// Per-language biases added to the scores of longer texts. Close languages are not confused
// symmetrically (held out, Bosnian sentences are read as Croatian twice as often as the reverse,
// Malay as Indonesian four times as often as the reverse); a bias evens that out. So that the
// biases correct real mistakes, and not the few the model makes on sentences it was trained on,
// they are learnt (averaged perceptron) on scores from inner folds: each training sentence scored
// by a model trained without it. On short texts (at most shortRunes characters) biases learnt
// the same way did not help held out (85.8% against 86.0% on two words), so they get none.

// shortRunes: texts of at most this many characters get no bias.
const shortRunes = 32

type biasExample struct {
	label  int // index into cands
	cands  []uint8
	scores []float32
}

// trainBias learns raw.bias from samples (raw was trained on them with opt).
func trainBias(samples []Sample, opt TrainOptions, raw *rawModel) {
	L := len(raw.langs)
	langIdx := map[string]int{}
	for i, l := range raw.langs {
		langIdx[l] = i
	}
	var ex []biasExample
	K := opt.BiasFolds
	sc := make([]float64, L)
	var cands []int
	for k := 0; k < K; k++ {
		var sub []Sample
		for i, s := range samples {
			if i%K != k {
				sub = append(sub, s)
			}
		}
		inner := train(sub, opt)
		if len(inner.langs) != L {
			return // a language with too few sentences for the inner folds
		}
		m := inner.compile(false)
		for i, s := range samples {
			t := head(s.Text, MaxBytes)
			if i%K != k || utf8.RuneCountInString(t) <= shortRunes {
				continue
			}
			cands = m.candidates(t, cands[:0])
			if len(cands) < 2 {
				continue
			}
			for _, l := range cands {
				sc[l] = 0
			}
			if !m.baseScores(t, cands, sc) {
				continue
			}
			e := biasExample{label: -1}
			for j, l := range cands {
				if l == langIdx[s.Lang] {
					e.label = j
				}
				e.cands = append(e.cands, uint8(l))
				e.scores = append(e.scores, float32(sc[l]))
			}
			if e.label >= 0 {
				ex = append(ex, e)
			}
		}
	}
	w, u := make([]float64, L), make([]float64, L)
	c := 1.0
	rate := opt.BiasRate
	rng := rand.New(rand.NewPCG(7, 11))
	for ep := 0; ep < opt.BiasEpochs; ep++ {
		rng.Shuffle(len(ex), func(i, j int) { ex[i], ex[j] = ex[j], ex[i] })
		for _, e := range ex {
			y := int(e.cands[e.label])
			sy := float64(e.scores[e.label]) + w[y]
			pred, best := -1, math.Inf(-1)
			for j, l := range e.cands {
				if j == e.label {
					continue
				}
				if v := float64(e.scores[j]) + w[l]; v > best {
					pred, best = int(l), v
				}
			}
			if sy <= best {
				w[y] += rate
				w[pred] -= rate
				u[y] += c * rate
				u[pred] -= c * rate
			}
			c++
		}
	}
	raw.bias = make([]float32, L)
	for l := range w {
		raw.bias[l] = float32(w[l] - u[l]/c)
	}
}
