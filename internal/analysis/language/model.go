package language

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/analysis/textutil"
)

// Model is a multinomial Naive Bayes model over character 2- to 4-grams of words (with their
// boundaries) and whole words, with per-language log-probabilities, plus the shipped n-gram
// table's log-likelihood (weight NgramW on texts over 32 characters, shortNgramW on shorter ones)
// and per-language biases for texts over 32 characters. Feature strings are kept only as 64-bit
// hashes.
type Model struct {
	Langs    []string  // ISO 639-1 codes
	totals   []float64 // feature count per language
	vocab    float64
	alpha    float64
	wordW    float64
	index    table // feature hash -> offset<<8 | count into entries
	entries  []entry
	unseen   []float32 // log-probability of a feature a language never saw
	scriptOf []scriptSet
	ngramW   float64 // weight of the n-gram table's log-likelihood; 0: not used
	ngrams   *ngramScorer
	bias     []float32 // per language, for texts longer than shortRunes (bias.go); nil: none
}

type entry struct {
	lang uint8
	lp   float32
}

// Sample is one labelled text for training.
type Sample struct {
	Lang string
	Text string
}

// TrainOptions tune training; zero values take the defaults used for the shipped model.
type TrainOptions struct {
	Alpha    float64 // additive smoothing, default 0.01
	WordW    float64 // weight of whole-word features against character n-grams, default 5
	MinCount int     // drop features seen fewer than this many times in all, default 2
	// NgramW weighs the shipped n-gram table (large-corpus character 1- to 5-gram frequencies,
	// not from the training samples) against the sentences' model, default 0.8; < 0: not used.
	NgramW float64
	// The per-language biases (bias.go): perceptron epochs (default 10; < 0: no biases),
	// learning rate (default 0.2), inner folds (default 3).
	BiasEpochs int
	BiasRate   float64
	BiasFolds  int
}

func (o *TrainOptions) defaults() {
	if o.Alpha == 0 {
		o.Alpha = 0.01
	}
	if o.WordW == 0 {
		o.WordW = 5
	}
	if o.MinCount == 0 {
		o.MinCount = 2
	}
	if o.NgramW == 0 {
		o.NgramW = 0.8
	}
	if o.BiasEpochs == 0 {
		o.BiasEpochs = 10
	}
	if o.BiasRate == 0 {
		o.BiasRate = 0.2
	}
	if o.BiasFolds == 0 {
		o.BiasFolds = 3
	}
}

const fnvOffset = 14695981039346656037
const fnvPrime = 1099511628211

func fnvRune(h uint64, r rune) uint64 {
	var buf [4]byte
	n := utf8.EncodeRune(buf[:], r)
	for i := 0; i < n; i++ {
		h ^= uint64(buf[i])
		h *= fnvPrime
	}
	return h
}

const wordSeed = fnvOffset ^ 0x5bd1e995

// features calls fn for every feature of text with its weight class (true: word feature).
func features(text string, fn func(h uint64, word bool)) {
	var rs []rune
	for _, w := range textutil.Words(strings.ToLower(text)) {
		rs = rs[:0]
		rs = append(rs, ' ')
		letters := 0
		for _, r := range w {
			if unicode.IsDigit(r) {
				continue
			}
			rs = append(rs, r)
			letters++
		}
		if letters == 0 {
			continue
		}
		rs = append(rs, ' ')
		if letters <= 25 {
			h := uint64(wordSeed)
			for _, r := range rs[1 : len(rs)-1] {
				h = fnvRune(h, r)
			}
			fn(h, true)
		}
		for i := range rs {
			h := uint64(fnvOffset)
			for n := 1; n <= 4 && i+n <= len(rs); n++ {
				h = fnvRune(h, rs[i+n-1])
				if n == 1 {
					continue // single letters say little and touch every language's entry
				}
				fn(h, false)
			}
		}
	}
}

// Train builds a model from samples.
func Train(samples []Sample, opt TrainOptions) *Model { return trainAll(samples, opt).compile(false) }

// TrainEncoded trains like Train and writes the model's compact form to w (this is how the
// shipped model is generated).
func TrainEncoded(samples []Sample, opt TrainOptions, w io.Writer) error {
	return trainAll(samples, opt).encode(w)
}

// trainAll trains the Naive Bayes model and then its biases.
func trainAll(samples []Sample, opt TrainOptions) *rawModel {
	opt.defaults()
	raw := train(samples, opt)
	if opt.BiasEpochs > 0 {
		trainBias(samples, opt, raw)
	}
	return raw
}

func train(samples []Sample, opt TrainOptions) *rawModel {
	opt.defaults()
	langIdx := map[string]int{}
	var langs []string
	for _, s := range samples {
		if _, ok := langIdx[s.Lang]; !ok {
			langIdx[s.Lang] = -1
			langs = append(langs, s.Lang)
		}
	}
	sort.Strings(langs)
	for i, l := range langs {
		langIdx[l] = i
	}
	L := len(langs)
	feat := map[uint64]int32{}
	var counts []uint32 // feature*L + lang
	for _, s := range samples {
		li := langIdx[s.Lang]
		features(s.Text, func(h uint64, _ bool) {
			id, ok := feat[h]
			if !ok {
				id = int32(len(feat))
				feat[h] = id
				counts = append(counts, make([]uint32, L)...)
			}
			counts[int(id)*L+li]++
		})
	}
	raw := rawModel{langs: langs, alpha: opt.Alpha, wordW: opt.WordW, ngramW: math.Max(opt.NgramW, 0), totals: make([]float64, L)}
	for h, id := range feat {
		row := counts[int(id)*L : int(id)*L+L]
		var t uint32
		for _, c := range row {
			t += c
		}
		if int(t) < opt.MinCount {
			continue
		}
		f := rawFeature{hash: h}
		for l, c := range row {
			if c > 0 {
				f.langs = append(f.langs, uint8(l))
				f.counts = append(f.counts, c)
				raw.totals[l] += float64(c)
			}
		}
		raw.feats = append(raw.feats, f)
	}
	sort.Slice(raw.feats, func(i, j int) bool { return raw.feats[i].hash < raw.feats[j].hash })
	return &raw
}

type rawFeature struct {
	hash   uint64
	langs  []uint8
	counts []uint32
}

type rawModel struct {
	langs  []string
	totals []float64
	alpha  float64
	wordW  float64
	ngramW float64
	feats  []rawFeature
	bias   []float32
}

// compile builds the model of r; static puts its tables outside the Go heap (staticSlice), for
// the shipped model, which is never freed.
func (r *rawModel) compile(static bool) *Model {
	L := len(r.langs)
	m := &Model{Langs: r.langs, totals: r.totals, vocab: float64(len(r.feats)), alpha: r.alpha, wordW: r.wordW, ngramW: r.ngramW}
	if r.ngramW > 0 {
		m.ngrams = newNgramScorer(defaultNgrams(), r.langs)
	}
	m.unseen = make([]float32, L)
	den := make([]float64, L)
	for l := 0; l < L; l++ {
		den[l] = r.totals[l] + r.alpha*m.vocab
		m.unseen[l] = float32(math.Log(r.alpha / den[l]))
	}
	m.index = newTable(len(r.feats), static)
	n := 0
	for _, f := range r.feats {
		n += len(f.langs)
	}
	m.entries = newSlice[entry](n, static)[:0]
	for _, f := range r.feats {
		off := uint32(len(m.entries))
		k := len(f.langs)
		if k > 255 {
			k = 255
		}
		for i := 0; i < k; i++ {
			l := f.langs[i]
			lp := math.Log((float64(f.counts[i])+r.alpha)/den[l]) - float64(m.unseen[l])
			m.entries = append(m.entries, entry{lang: l, lp: float32(lp)})
		}
		m.index.put(f.hash, off<<8|uint32(k))
	}
	m.scriptOf = make([]scriptSet, L)
	for l, code := range r.langs {
		m.scriptOf[l] = scriptsOf(code)
	}
	m.bias = r.bias
	return m
}

// scores adds the log-likelihood of text under each language to sc (len(Langs)) and returns
// the number of features the model knew.
func (m *Model) scores(text string, sc []float64) int {
	known := 0
	var base float64
	features(text, func(h uint64, word bool) {
		v, ok := m.index.get(h)
		if !ok {
			return
		}
		known++
		w := 1.0
		if word {
			w = m.wordW
		}
		base += w
		off, k := v>>8, v&0xff
		for _, e := range m.entries[off : off+k] {
			sc[e.lang] += w * float64(e.lp)
		}
	})
	for l := range sc {
		sc[l] += base * float64(m.unseen[l])
	}
	return known
}

// Encode writes the model in its compact binary form (gzip of varint-coded features).
func (r *rawModel) encode(w io.Writer) error {
	zw, _ := gzip.NewWriterLevel(w, gzip.BestCompression)
	bw := bufio.NewWriter(zw)
	put := func(v uint64) {
		var b [binary.MaxVarintLen64]byte
		bw.Write(b[:binary.PutUvarint(b[:], v)])
	}
	bw.WriteString("PLID3")
	put(uint64(len(r.langs)))
	for i, l := range r.langs {
		put(uint64(len(l)))
		bw.WriteString(l)
		put(uint64(r.totals[i]))
	}
	put(math.Float64bits(r.alpha))
	put(math.Float64bits(r.wordW))
	put(math.Float64bits(r.ngramW))
	put(uint64(len(r.feats)))
	var prev uint64
	for _, f := range r.feats {
		put(f.hash - prev)
		prev = f.hash
		put(uint64(len(f.langs)))
		for i := range f.langs {
			put(uint64(f.langs[i]))
			put(uint64(f.counts[i]))
		}
	}
	put(uint64(len(r.bias)))
	for _, v := range r.bias {
		put(uint64(math.Float32bits(v)))
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return zw.Close()
}

// decode reads a model that encode wrote; static: for the process's lifetime (see compile).
func decode(data []byte, static bool) (*Model, error) {
	mr, magic, err := openModel(data, "model", "PLID3", "PLID2")
	if err != nil {
		return nil, err
	}
	br, get := mr.br, mr.uvarint
	r := rawModel{}
	nl := int(get())
	if nl > 255 {
		return nil, fmt.Errorf("language: %d languages", nl)
	}
	for i := 0; i < nl && mr.err == nil; i++ {
		b := make([]byte, get())
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, err
		}
		r.langs = append(r.langs, string(b))
		r.totals = append(r.totals, float64(get()))
	}
	r.alpha = math.Float64frombits(get())
	r.wordW = math.Float64frombits(get())
	r.ngramW = math.Float64frombits(get())
	nf := int(get())
	r.feats = make([]rawFeature, 0, nf)
	var prev uint64
	for i := 0; i < nf && mr.err == nil; i++ {
		f := rawFeature{hash: prev + get()}
		prev = f.hash
		k := int(get())
		f.langs = make([]uint8, k)
		f.counts = make([]uint32, k)
		for j := 0; j < k; j++ {
			f.langs[j] = uint8(get())
			f.counts[j] = uint32(get())
		}
		r.feats = append(r.feats, f)
	}
	if magic == "PLID3" {
		if n := int(get()); n == nl {
			r.bias = make([]float32, n)
			for l := range r.bias {
				r.bias[l] = math.Float32frombits(uint32(get()))
			}
		} else if n != 0 {
			return nil, errors.New("language: model: bad biases")
		}
	}
	if mr.err != nil {
		return nil, fmt.Errorf("language: model: %w", mr.err)
	}
	return r.compile(static), nil
}

func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h
}

// modelReader reads a model file after its header: unsigned varints and raw bytes from br.
// The first varint that cannot be read sets err, which the decoder checks as it goes.
type modelReader struct {
	br  *bufio.Reader
	err error
}

// openModel opens a gzip-compressed model file whose first five bytes are one of magics (what
// names the file in the error) and returns its reader and the magic found.
func openModel(data []byte, what string, magics ...string) (*modelReader, string, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, "", err
	}
	br := bufio.NewReader(zr)
	magic := make([]byte, 5)
	if _, err := io.ReadFull(br, magic); err != nil || !slices.Contains(magics, string(magic)) {
		return nil, "", errors.New("language: bad " + what + " header")
	}
	return &modelReader{br: br}, string(magic), nil
}

func (m *modelReader) uvarint() uint64 {
	v, err := binary.ReadUvarint(m.br)
	if err != nil && m.err == nil {
		m.err = err
	}
	return v
}
