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

// Linear is the learned part of the English scorer.
//
// The score is a linear regression over hashed word and word-pair features plus VADER's scores,
// blended with VADER's compound score (A). A second regression predicts the strength of the
// sentiment (the absolute rating).
//
// The label comes from a three-class (multinomial) logistic model over the same hashed
// features and dense inputs (see nClass: VADER's scores, counts of VADER's positive and negative
// words, punctuation, and the two regressions' outputs), with class biases B tuned on inner
// out-of-fold predictions. Its weights are stored relative to the negative class: C[h][0] is
// neutral's, C[h][1] positive's.
type Linear struct {
	W          map[uint64]float32
	Dense      [nDense]float64 // see nDense
	A          float64         // blended = linear + A * compound
	WI         map[uint64]float32
	DenseI     [nDense]float64 // strength model; |compound| instead of compound
	TInt, TMid float64         // unused since the three-class model (PLSE3); kept for the struct's users

	C      map[uint64][2]float32
	DenseC [2][nClass]float64
	B      [2]float64 // class biases (neutral, positive) added to the logits
}

// Example is one rated text for training: Y is the human rating on -1..1, Group the data set
// it comes from (the blend and thresholds are tuned for the mean over groups).
type Example struct {
	Text  string
	Y     float64
	Group int
	Doc   string // the document it comes from, if known: a document's examples share a fold
}

// TrainOptions tune training; zero values are the defaults used for the shipped model.
type TrainOptions struct {
	Epochs     int     // default 8
	LR         float64 // AdaGrad rate, default 0.02
	L2         float64 // default 1e-4
	MinCount   int     // regressions: use features seen in at least this many documents (default 2)
	Seed       int64   // default 1
	InnerFolds int     // folds for tuning A and the class biases, and for the stacked regressions (default 5)

	ClassEpochs   int     // three-class model: epochs (default 8)
	ClassLR       float64 // AdaGrad rate (default 0.03)
	ClassL2       float64 // default 1e-3
	ClassMinCount int     // three-class model: the same (default 3)
	Soft          float64 // soft class targets: width on the -4..4 scale of the rating (default 0.15; < 0: one-hot)
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
	if o.ClassEpochs == 0 {
		o.ClassEpochs = 8
	}
	if o.ClassLR == 0 {
		o.ClassLR = 0.03
	}
	if o.ClassMinCount == 0 {
		o.ClassMinCount = 3
	}
	if o.Soft == 0 {
		o.Soft = 0.15
	}
	if o.ClassL2 == 0 {
		o.ClassL2 = 1e-3
	}
}

// nDense is the number of dense inputs: bias, VADER compound, positive, negative and neutral
// shares, length (tokens / 30, at most 2).
const nDense = 6

// prepared is an example with its features interned.
type prepared struct {
	feats []int32
	dense [nDense]float64
	x     [nClass]float64 // the class model's dense inputs; the regressions' slots are filled in training
	y     float64
	group int
	doc   uint64 // hash of Example.Doc, 0 if none
}

// fold returns the fold (of k) of an example at position pos of its list: its document's, or
// by position. Inner folds (within a training set) draw documents apart from the outer ones.
func (p *prepared) fold(pos, k int, inner bool) int {
	if p.doc != 0 {
		h := p.doc
		if inner {
			h = (h * 0x9E3779B97F4A7C15) >> 17
		}
		return int(h % uint64(k))
	}
	return pos % k
}

type corpus struct {
	ex     []prepared
	hashes []uint64
}

func (s *Scorer) prepare(examples []Example) *corpus {
	c := &corpus{}
	ids := map[uint64]int32{}
	for _, e := range examples {
		t := tokens(e.Text)
		p := prepared{y: e.Y, group: e.Group, dense: s.vaderDenseTokens(e.Text, t)}
		if e.Doc != "" {
			p.doc = fnv(seedUni, e.Doc) | 1
		}
		p.x = s.classDense(e.Text, t, p.dense, 0, 0)
		for _, h := range featuresTokens(t) {
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
	count := docCount(c, idx)
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
				if count[f] < o.MinCount {
					continue // seen in one document only: it would learn its examples by heart
				}
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

// tuneBlend picks A, the weight of VADER's compound in the score, for the best mean Pearson r
// over groups, from out-of-fold (gated) predictions of c's idx.
func tuneBlend(c *corpus, idx []int, pred []float64) (a float64) {
	groups := groupsOf(c, idx)
	bestR := math.Inf(-1)
	for _, cand := range []float64{0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6} {
		var sum float64
		for _, g := range groups {
			var xs, ys []float64
			for k, i := range idx {
				if c.ex[i].group == g {
					xs = append(xs, pred[k]+cand*c.ex[i].dense[1])
					ys = append(ys, c.ex[i].y)
				}
			}
			sum += Pearson(xs, ys)
		}
		if sum > bestR {
			bestR, a = sum, cand
		}
	}
	return a
}

func groupsOf(c *corpus, idx []int) []int {
	seen := map[int]bool{}
	var out []int
	for _, i := range idx {
		if g := c.ex[i].group; !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	sort.Ints(out)
	return out
}

func vaderLabel(compound float64) int {
	switch {
	case compound >= 0.05:
		return 1
	case compound <= -0.05:
		return -1
	}
	return 0
}

// tuneBias picks the class biases (neutral, positive; negative's is 0) for the best worst-group
// gain in 3-class accuracy over VADER's own labels (compound beyond ±0.05), so that no kind of
// text is sacrificed for another, from out-of-fold logits z of c's idx.
func tuneBias(c *corpus, idx []int, z [][2]float64) (b [2]float64) {
	groups := groupsOf(c, idx)
	gi := map[int]int{}
	for k, g := range groups {
		gi[g] = k
	}
	n := make([]int, len(groups))
	vok := make([]int, len(groups))
	for _, i := range idx {
		g := gi[c.ex[i].group]
		n[g]++
		if vaderLabel(c.ex[i].dense[1]) == classOf(c.ex[i].y) {
			vok[g]++
		}
	}
	best := math.Inf(-1)
	ok := make([]int, len(groups))
	for b0 := -20; b0 <= 20; b0++ {
		for b1 := -10; b1 <= 10; b1++ {
			cand := [2]float64{float64(b0) / 10, float64(b1) / 10}
			clear(ok)
			for k, i := range idx {
				if classLabel(z[k], cand, c.ex[i].dense) == classOf(c.ex[i].y) {
					ok[gi[c.ex[i].group]]++
				}
			}
			worst, mean := math.Inf(1), 0.0
			for g := range groups {
				gain := float64(ok[g]-vok[g]) / float64(n[g])
				worst = math.Min(worst, gain)
				mean += gain / float64(len(groups))
			}
			if obj := worst + 0.01*mean; obj > best+1e-12 {
				best, b = obj, cand
			}
		}
	}
	return b
}

// classLabel is the label (-1, 0, 1) of logits z (neutral's and positive's, relative to
// negative's) with biases b; a text in which VADER finds no sentiment word is neutral (see
// gate).
func classLabel(z, b [2]float64, dense [nDense]float64) int {
	if dense[1] == 0 {
		return 0
	}
	neu, pos := z[0]+b[0], z[1]+b[1]
	switch {
	case pos > 0 && pos >= neu:
		return 1
	case neu >= 0:
		return 0
	}
	return -1
}

// classWeights is the three-class model being fitted: per class (negative, neutral, positive)
// weights of the interned features and of the dense inputs.
type classWeights struct {
	w     [3][]float64
	dense [3][nClass]float64
}

func (w *classWeights) logits(p *prepared, x *[nClass]float64) (z [3]float64) {
	norm := 1 / math.Sqrt(float64(len(p.feats))+1)
	for c := range z {
		for j, d := range x {
			z[c] += w.dense[c][j] * d
		}
		for _, f := range p.feats {
			z[c] += w.w[c][f] * norm
		}
	}
	return z
}

// rel returns neutral's and positive's logits relative to negative's.
func rel(z [3]float64) [2]float64 { return [2]float64{z[1] - z[0], z[2] - z[0]} }

// withStack returns p's class inputs with the regressions' outputs st (score, strength).
func withStack(p *prepared, st [2]float64) [nClass]float64 {
	x := p.x
	x[nDense+8], x[nDense+9] = st[0], st[1]
	return x
}

// docCount returns for each feature the number of documents among idx it is seen in (an
// example without a document is one of its own).
func docCount(c *corpus, idx []int) []int {
	count := make([]int, len(c.hashes))
	seen := map[[2]uint64]bool{}
	for _, i := range idx {
		p := &c.ex[i]
		for _, f := range p.feats {
			if p.doc != 0 {
				k := [2]uint64{p.doc, uint64(f)}
				if seen[k] {
					continue
				}
				seen[k] = true
			}
			count[f]++
		}
	}
	return count
}

// fitClass trains the three-class model on the examples idx of c (AdaGrad, softmax loss, L2)
// with the regressions' outputs st (indexed like c.ex). A group with fewer examples than the
// largest is repeated ceil(largest / size) times, so that the near-binary reviews do not drown
// the editorials, where neutral is the largest class.
func fitClass(c *corpus, idx []int, st [][2]float64, o TrainOptions) *classWeights {
	w := &classWeights{}
	var g2 [3][]float64
	var dg [3][nClass]float64
	for k := range w.w {
		w.w[k] = make([]float64, len(c.hashes))
		g2[k] = make([]float64, len(c.hashes))
	}
	count := docCount(c, idx)
	size := map[int]int{}
	largest := 0
	for _, i := range idx {
		size[c.ex[i].group]++
		largest = max(largest, size[c.ex[i].group])
	}
	var order []int
	for _, i := range idx {
		n := size[c.ex[i].group]
		for r := 0; r < (largest+n-1)/n; r++ {
			order = append(order, i)
		}
	}
	rng := rand.New(rand.NewSource(o.Seed))
	for ep := 0; ep < o.ClassEpochs; ep++ {
		rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		for _, i := range order {
			p := &c.ex[i]
			x := withStack(p, st[i])
			z := w.logits(p, &x)
			mz := math.Max(z[0], math.Max(z[1], z[2]))
			var e [3]float64
			sum := 0.0
			for k := range z {
				e[k] = math.Exp(z[k] - mz)
				sum += e[k]
			}
			norm := 1 / math.Sqrt(float64(len(p.feats))+1)
			tgt := target(p.y, o.Soft)
			for k := range z {
				gr := e[k]/sum - tgt[k]
				for j, d := range x {
					g := gr * d
					dg[k][j] += g * g
					if dg[k][j] > 0 {
						w.dense[k][j] -= o.ClassLR * g / math.Sqrt(dg[k][j])
					}
				}
				for _, f := range p.feats {
					if count[f] < o.ClassMinCount {
						continue // a rare word would only learn its examples by heart
					}
					g := gr*norm + o.ClassL2*w.w[k][f]
					g2[k][f] += g * g
					if g2[k][f] > 0 {
						w.w[k][f] -= o.ClassLR * g / math.Sqrt(g2[k][f])
					}
				}
			}
		}
	}
	return w
}

// target returns the class target (negative, neutral, positive) of rating y (-1..1): with
// soft > 0 logistic around the borders ±0.5 on the -4..4 scale (the rating is a mean of a few
// people's: a mean of 0.45 is nearly as positive as one of 0.55), else one-hot.
func target(y, soft float64) [3]float64 {
	if soft <= 0 {
		var t [3]float64
		t[classOf(y)+1] = 1
		return t
	}
	y *= 4
	pos := 1 / (1 + math.Exp(-(y-0.5)/soft))
	neg := 1 / (1 + math.Exp(-(-0.5-y)/soft))
	return [3]float64{neg, 1 - pos - neg, pos}
}

// train fits the regressions and the three-class model on idx. The regressions' out-of-fold
// outputs (inner folds of idx) tune the blend A and are the class model's inputs in training;
// the class model's own inner out-of-fold logits tune the class biases.
func train(c *corpus, idx []int, o TrainOptions) *Linear {
	K := o.InnerFolds
	pred := make([]float64, len(idx))
	st := make([][2]float64, len(c.ex))
	for k := 0; k < K; k++ {
		var tr []int
		for j, i := range idx {
			if c.ex[i].fold(j, K, true) != k {
				tr = append(tr, i)
			}
		}
		w := fit(c, tr, o, false)
		wi := fit(c, tr, o, true)
		for j, i := range idx {
			if c.ex[i].fold(j, K, true) == k {
				p := &c.ex[i]
				st[i] = [2]float64{w.predict(p, false), wi.predict(p, true)}
				pred[j], _ = gate(st[i][0], st[i][1], p.dense)
			}
		}
	}
	m := &Linear{}
	m.A = tuneBlend(c, idx, pred)
	z := make([][2]float64, len(idx))
	for k := 0; k < K; k++ {
		var tr []int
		for j, i := range idx {
			if c.ex[i].fold(j, K, true) != k {
				tr = append(tr, i)
			}
		}
		cw := fitClass(c, tr, st, o)
		for j, i := range idx {
			if c.ex[i].fold(j, K, true) == k {
				x := withStack(&c.ex[i], st[i])
				z[j] = rel(cw.logits(&c.ex[i], &x))
			}
		}
	}
	m.B = tuneBias(c, idx, z)

	count := docCount(c, idx)
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
	cw := fitClass(c, idx, st, o)
	m.C = map[uint64][2]float32{}
	for f := range c.hashes {
		r := [2]float32{float32(cw.w[1][f] - cw.w[0][f]), float32(cw.w[2][f] - cw.w[0][f])}
		if count[f] >= max(o.MinCount, o.ClassMinCount) && r != [2]float32{} {
			m.C[c.hashes[f]] = r
		}
	}
	for j := 0; j < nClass; j++ {
		m.DenseC[0][j] = cw.dense[1][j] - cw.dense[0][j]
		m.DenseC[1][j] = cw.dense[2][j] - cw.dense[0][j]
	}
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
	putF := func(f float64) { put(math.Float64bits(f)) }
	bw.WriteString(modelMagic)
	for _, d := range m.Dense {
		putF(d)
	}
	for _, d := range m.DenseI {
		putF(d)
	}
	putF(m.A)
	putF(m.TInt)
	putF(m.TMid)
	for _, row := range m.DenseC {
		for _, d := range row {
			putF(d)
		}
	}
	putF(m.B[0])
	putF(m.B[1])
	for _, mw := range []map[uint64]float32{m.W, m.WI} {
		var prev uint64
		put(uint64(len(mw)))
		for _, k := range sortedKeys(mw) {
			put(k - prev)
			prev = k
			put(uint64(math.Float32bits(mw[k])))
		}
	}
	var prev uint64
	put(uint64(len(m.C)))
	for _, k := range sortedKeys(m.C) {
		put(k - prev)
		prev = k
		put(uint64(math.Float32bits(m.C[k][0])))
		put(uint64(math.Float32bits(m.C[k][1])))
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return zw.Close()
}

const modelMagic = "PLSE3"

func sortedKeys[V any](m map[uint64]V) []uint64 {
	keys := make([]uint64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

// DecodeLinear reads a model written by Encode.
func DecodeLinear(data []byte) (*Linear, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(zr)
	magic := make([]byte, len(modelMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != modelMagic {
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
	getF := func() float64 { return math.Float64frombits(get()) }
	getF32 := func() float32 { return math.Float32frombits(uint32(get())) }
	m := &Linear{}
	for j := range m.Dense {
		m.Dense[j] = getF()
	}
	for j := range m.DenseI {
		m.DenseI[j] = getF()
	}
	m.A, m.TInt, m.TMid = getF(), getF(), getF()
	for r := range m.DenseC {
		for j := range m.DenseC[r] {
			m.DenseC[r][j] = getF()
		}
	}
	m.B[0], m.B[1] = getF(), getF()
	size := func() int {
		n := int(get())
		if rerr != nil || n > 1<<24 {
			rerr = errors.New("sentiment: bad model")
			return 0
		}
		return n
	}
	for _, mw := range []*map[uint64]float32{&m.W, &m.WI} {
		n := size()
		*mw = make(map[uint64]float32, n)
		var prev uint64
		for i := 0; i < n && rerr == nil; i++ {
			k := prev + get()
			prev = k
			(*mw)[k] = getF32()
		}
	}
	n := size()
	m.C = make(map[uint64][2]float32, n)
	var prev uint64
	for i := 0; i < n && rerr == nil; i++ {
		k := prev + get()
		prev = k
		a := getF32()
		m.C[k] = [2]float32{a, getF32()}
	}
	return m, rerr
}

// judge returns the blended score, the class logits (neutral's and positive's relative to
// negative's, biases included) and the class label (-1, 0, 1) of a text with its tokens and
// VADER scores.
func (m *Linear) judge(s *Scorer, text string, t []string, dense [nDense]float64) (score float64, z [2]float64, lab int) {
	f := featuresTokens(t)
	norm := 1 / math.Sqrt(float64(len(f))+1)
	var strength float64
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
	x := s.classDense(text, t, dense, score, strength)
	z = m.B
	for r := range z {
		for j, d := range x {
			z[r] += m.DenseC[r][j] * d
		}
	}
	for _, h := range f {
		c := m.C[h]
		z[0] += float64(c[0]) * norm
		z[1] += float64(c[1]) * norm
	}
	score, _ = gate(score+m.A*dense[1], strength, dense)
	lab = classLabel(z, [2]float64{}, dense)
	if math.Abs(dense[1]) >= strongCompound && lab == -vaderLabel(dense[1]) {
		lab = vaderLabel(dense[1]) // see strongCompound
	}
	return agree(score, lab), z, lab
}

// strongCompound: when VADER's compound is at least this strong, the label does not take the
// opposite polarity. The learned words come from movie reviews and editorials, where "pretty",
// "movie" or "I don't know" lean negative; without this, "That was pretty awesome." (compound
// 0.81) and a quarter of the positive tweets that the model reads against VADER came out
// negative. Cost, 10-fold held out: movie snippets 66.7% -> 63.8% (VADER 54.4%), editorials
// unchanged (61.1%); trained on one development set and measured on the other, 54.8% -> 55.7%
// on the editorials (VADER 55.6%), movie snippets unchanged (53.0%). See docs/analysis.md.
const strongCompound = 0.5

// agree returns score, or 0 when its sign contradicts the label (a few percent of texts, near
// the border: the label and the score come from different models).
func agree(score float64, lab int) float64 {
	if float64(lab)*score < 0 {
		return 0
	}
	return score
}

// GateScore and GateStrength are the factors applied to the learned score and strength of a
// text in which VADER finds no sentiment word (and such a text is labelled neutral, unless a
// support phrase says otherwise): the learned words come from reviews and editorials, and
// without lexicon evidence a support question ("how do I reset my password?") should read as
// neutral.
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
