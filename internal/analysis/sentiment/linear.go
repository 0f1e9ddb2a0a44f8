package sentiment

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand"
	"sort"
)

// Linear is the learned part of the English scorer: a linear regression over hashed word and
// word-pair features plus VADER's scores, followed by a blend with VADER's compound score and
// two thresholds that turn the blended score into a label.
//
// The label comes from a second regression that predicts the strength of the sentiment (the
// absolute rating): below TInt the text is neutral, else positive when the score is above TMid.
type Linear struct {
	W          map[uint64]float32
	Dense      [nDense]float64 // see nDense
	A          float64         // blended = linear + A * compound
	WI         map[uint64]float32
	DenseI     [nDense]float64 // strength model; |compound| instead of compound
	TInt, TMid float64
}

// Example is one rated text for training: Y is the human rating on -1..1, Group the data set
// it comes from (the blend and thresholds are tuned for the mean over groups).
type Example struct {
	Text  string
	Y     float64
	Group int
}

// TrainOptions tune training; zero values are the defaults used for the shipped model.
type TrainOptions struct {
	Epochs     int     // default 8
	LR         float64 // AdaGrad rate, default 0.02
	L2         float64 // default 1e-4
	MinCount   int     // keep features seen at least this often (default 2)
	Seed       int64   // default 1
	InnerFolds int     // folds for tuning A and the thresholds (default 5)
}

func (o *TrainOptions) defaults() {
	if o.Epochs == 0 {
		o.Epochs = 8
	}
	if o.LR == 0 {
		o.LR = 0.02
	}
	if o.L2 == 0 {
		o.L2 = 1e-4
	}
	if o.MinCount == 0 {
		o.MinCount = 2
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.InnerFolds == 0 {
		o.InnerFolds = 5
	}
}

// nDense is the number of dense inputs: bias, VADER compound, positive, negative and neutral
// shares, length (tokens / 30, at most 2).
const nDense = 6

// prepared is an example with its features interned.
type prepared struct {
	feats []int32
	dense [nDense]float64
	y     float64
	group int
}

type corpus struct {
	ex     []prepared
	hashes []uint64
}

func (s *Scorer) prepare(examples []Example) *corpus {
	c := &corpus{}
	ids := map[uint64]int32{}
	for _, e := range examples {
		p := prepared{y: e.Y, group: e.Group, dense: s.vaderDense(e.Text)}
		for _, h := range features(e.Text) {
			id, ok := ids[h]
			if !ok {
				id = int32(len(c.hashes))
				ids[h] = id
				c.hashes = append(c.hashes, h)
			}
			p.feats = append(p.feats, id)
		}
		c.ex = append(c.ex, p)
	}
	return c
}

type weights struct {
	w     []float64
	dense [nDense]float64
}

func (w *weights) predict(p *prepared, strength bool) float64 {
	d := p.dense
	if strength {
		d[1] = math.Abs(d[1])
	}
	return w.predictDense(p, d)
}

func (w *weights) predictDense(p *prepared, dense [nDense]float64) float64 {
	v := 0.0
	for j, d := range dense {
		v += w.dense[j] * d
	}
	norm := 1 / math.Sqrt(float64(len(p.feats))+1)
	for _, f := range p.feats {
		v += w.w[f] * norm
	}
	return v
}

// fit trains the regression on the examples idx of c (AdaGrad, squared loss, L2).
func fit(c *corpus, idx []int, o TrainOptions, strength bool) *weights {
	w := &weights{w: make([]float64, len(c.hashes))}
	g2 := make([]float64, len(c.hashes))
	var dg [nDense]float64
	order := append([]int(nil), idx...)
	rng := rand.New(rand.NewSource(o.Seed))
	for ep := 0; ep < o.Epochs; ep++ {
		rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		for _, i := range order {
			p := &c.ex[i]
			dense, y := p.dense, p.y
			if strength {
				dense[1], y = math.Abs(dense[1]), math.Abs(y)
			}
			gr := w.predictDense(p, dense) - y
			for j, d := range dense {
				g := gr * d
				dg[j] += g * g
				if dg[j] > 0 {
					w.dense[j] -= o.LR * g / math.Sqrt(dg[j])
				}
			}
			norm := 1 / math.Sqrt(float64(len(p.feats))+1)
			for _, f := range p.feats {
				g := gr*norm + o.L2*w.w[f]
				g2[f] += g * g
				if g2[f] > 0 {
					w.w[f] -= o.LR * g / math.Sqrt(g2[f])
				}
			}
		}
	}
	return w
}

func classOf(y float64) int {
	switch {
	case y > 0.125: // 0.5 on the -4..4 scale
		return 1
	case y < -0.125:
		return -1
	}
	return 0
}

func label(score, strength, tint, tmid float64) int {
	switch {
	case strength < tint:
		return 0
	case score > tmid:
		return 1
	}
	return -1
}

// tune picks A (best mean Pearson r over groups) and the thresholds (best worst-group gain in
// 3-class accuracy over VADER) from out-of-fold predictions (score, strength) of c's idx.
func tune(c *corpus, idx []int, pred, str []float64) (a, tint, tmid float64) {
	groups := map[int]bool{}
	for _, i := range idx {
		groups[c.ex[i].group] = true
	}
	blend := func(k int, a float64) float64 { return pred[k] + a*c.ex[idx[k]].dense[1] }
	bestR := math.Inf(-1)
	for _, cand := range []float64{0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6} {
		var sum float64
		for g := range groups {
			var xs, ys []float64
			for k, i := range idx {
				if c.ex[i].group == g {
					xs = append(xs, blend(k, cand))
					ys = append(ys, c.ex[i].y)
				}
			}
			sum += Pearson(xs, ys)
		}
		if sum > bestR {
			bestR, a = sum, cand
		}
	}
	// Thresholds: the best worst-group gain in accuracy over VADER's own labels (compound
	// beyond ±0.05), so that no kind of text is sacrificed for another.
	vaderAcc := map[int]float64{}
	for g := range groups {
		ok, n := 0, 0
		for _, i := range idx {
			if c.ex[i].group != g {
				continue
			}
			n++
			v, vl := c.ex[i].dense[1], 0
			if v >= 0.05 {
				vl = 1
			} else if v <= -0.05 {
				vl = -1
			}
			if vl == classOf(c.ex[i].y) {
				ok++
			}
		}
		vaderAcc[g] = float64(ok) / float64(n)
	}
	best := math.Inf(-1)
	for ti := 0; ti <= 60; ti++ {
		for tm := -10; tm <= 10; tm++ {
			t1, t2 := float64(ti)/100, float64(tm)/100
			worst, mean := math.Inf(1), 0.0
			for g := range groups {
				ok, n := 0, 0
				for k, i := range idx {
					if c.ex[i].group != g {
						continue
					}
					n++
					if label(blend(k, a), str[k], t1, t2) == classOf(c.ex[i].y) {
						ok++
					}
				}
				gain := float64(ok)/float64(n) - vaderAcc[g]
				worst = math.Min(worst, gain)
				mean += gain / float64(len(groups))
			}
			if obj := worst + 0.01*mean; obj > best+1e-12 {
				best, tint, tmid = obj, t1, t2
			}
		}
	}
	return a, tint, tmid
}

// train fits the regressions on idx and tunes the blend on inner out-of-fold predictions.
func train(c *corpus, idx []int, o TrainOptions) *Linear {
	pred := make([]float64, len(idx))
	str := make([]float64, len(idx))
	for k := 0; k < o.InnerFolds; k++ {
		var tr []int
		for j, i := range idx {
			if j%o.InnerFolds != k {
				tr = append(tr, i)
			}
		}
		w := fit(c, tr, o, false)
		wi := fit(c, tr, o, true)
		for j, i := range idx {
			if j%o.InnerFolds == k {
				pred[j], str[j] = gate(w.predict(&c.ex[i], false), wi.predict(&c.ex[i], true), c.ex[i].dense)
			}
		}
	}
	m := &Linear{}
	m.A, m.TInt, m.TMid = tune(c, idx, pred, str)
	count := make([]int, len(c.hashes))
	for _, i := range idx {
		for _, f := range c.ex[i].feats {
			count[f]++
		}
	}
	keep := func(w *weights) map[uint64]float32 {
		out := map[uint64]float32{}
		for f, x := range w.w {
			if count[f] >= o.MinCount && x != 0 {
				out[c.hashes[f]] = float32(x)
			}
		}
		return out
	}
	w := fit(c, idx, o, false)
	m.Dense, m.W = w.dense, keep(w)
	wi := fit(c, idx, o, true)
	m.DenseI, m.WI = wi.dense, keep(wi)
	return m
}

// Pearson returns the correlation coefficient of x and y (0 when undefined).
func Pearson(x, y []float64) float64 {
	n := float64(len(x))
	if n < 2 {
		return 0
	}
	var sx, sy, sxx, syy, sxy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
		sxx += x[i] * x[i]
		syy += y[i] * y[i]
		sxy += x[i] * y[i]
	}
	d := math.Sqrt((sxx - sx*sx/n) * (syy - sy*sy/n))
	if d == 0 {
		return 0
	}
	return (sxy - sx*sy/n) / d
}

// Encode writes the model in its compact form (gzip).
func (m *Linear) Encode(w io.Writer) error {
	zw, _ := gzip.NewWriterLevel(w, gzip.BestCompression)
	bw := bufio.NewWriter(zw)
	put := func(v uint64) {
		var b [binary.MaxVarintLen64]byte
		bw.Write(b[:binary.PutUvarint(b[:], v)])
	}
	bw.WriteString("PLSE2")
	for _, d := range m.Dense {
		put(math.Float64bits(d))
	}
	for _, d := range m.DenseI {
		put(math.Float64bits(d))
	}
	put(math.Float64bits(m.A))
	put(math.Float64bits(m.TInt))
	put(math.Float64bits(m.TMid))
	for _, mw := range []map[uint64]float32{m.W, m.WI} {
		keys := make([]uint64, 0, len(mw))
		for k := range mw {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
		put(uint64(len(keys)))
		var prev uint64
		for _, k := range keys {
			put(k - prev)
			prev = k
			put(uint64(math.Float32bits(mw[k])))
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return zw.Close()
}

// DecodeLinear reads a model written by Encode.
func DecodeLinear(data []byte) (*Linear, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(zr)
	magic := make([]byte, 5)
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != "PLSE2" {
		return nil, errors.New("sentiment: bad model header")
	}
	var rerr error
	get := func() uint64 {
		v, err := binary.ReadUvarint(br)
		if err != nil && rerr == nil {
			rerr = err
		}
		return v
	}
	m := &Linear{}
	for j := range m.Dense {
		m.Dense[j] = math.Float64frombits(get())
	}
	for j := range m.DenseI {
		m.DenseI[j] = math.Float64frombits(get())
	}
	m.A = math.Float64frombits(get())
	m.TInt = math.Float64frombits(get())
	m.TMid = math.Float64frombits(get())
	for _, mw := range []*map[uint64]float32{&m.W, &m.WI} {
		n := int(get())
		if rerr != nil || n > 1<<24 {
			return nil, errors.New("sentiment: bad model")
		}
		*mw = make(map[uint64]float32, n)
		var prev uint64
		for i := 0; i < n && rerr == nil; i++ {
			k := prev + get()
			prev = k
			(*mw)[k] = math.Float32frombits(uint32(get()))
		}
	}
	return m, rerr
}

// score returns the blended score and the predicted strength of a text with the given VADER
// scores.
func (m *Linear) score(text string, dense [nDense]float64) (score, strength float64) {
	f := features(text)
	norm := 1 / math.Sqrt(float64(len(f))+1)
	for j, d := range dense {
		score += m.Dense[j] * d
		if j == 1 {
			d = math.Abs(d)
		}
		strength += m.DenseI[j] * d
	}
	for _, h := range f {
		score += float64(m.W[h]) * norm
		strength += float64(m.WI[h]) * norm
	}
	return gate(score+m.A*dense[1], strength, dense)
}

// GateScore and GateStrength are the factors applied to the learned score and strength of a
// text in which VADER finds no sentiment word (a zero strength makes it neutral): the learned words come from reviews and editorials, and without lexicon
// evidence a support question ("how do I reset my password?") should read as neutral.
const (
	GateScore    = 0.5
	GateStrength = 0.0
)

func gate(score, strength float64, dense [nDense]float64) (float64, float64) {
	if dense[1] == 0 {
		return score * GateScore, strength * GateStrength
	}
	return score, strength
}
