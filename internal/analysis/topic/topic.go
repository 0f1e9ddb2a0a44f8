// Package topic assigns a conversation to one of the assistant's topics, learning from the
// topics' names, descriptions and examples (TF-IDF over words, word pairs and character
// n-grams, nearest centroid), or derives a short label from its key phrases when the assistant
// has no topics.
package topic

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"sort"
	"strings"
	"sync"

	"github.com/parleyhq/parley/internal/analysis/textutil"
	"github.com/parleyhq/parley/internal/settings"
)

// vector is a sparse L2-normalised vector over hashed features.
type vector map[uint64]float64

// Classifier picks the topic closest to a text. It is immutable and safe for concurrent use.
type Classifier struct {
	names     []string
	centroids []vector
	idf       map[uint64]float64
	defIDF    float64
}

// Options tune training; zero values are the defaults.
type Options struct {
	CharWeight float64 // weight of the character n-gram block against the word block, default 1
}

func fnv(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

const (
	seedWord  = 14695981039346656037
	seedPair  = seedWord ^ 0x9e3779b97f4a7c15
	seedChars = seedWord ^ 0x7f4a7c159e3779b9
)

// terms returns the raw term counts of text in two blocks: words and word pairs, character
// 3- to 5-grams of words.
func terms(text string) (words, chars map[uint64]float64) {
	words, chars = map[uint64]float64{}, map[uint64]float64{}
	ws := textutil.FoldedWords(text)
	prev := ""
	for _, w := range ws {
		words[fnv(seedWord, w)]++
		if prev != "" {
			words[fnv(fnv(seedPair, prev), " "+w)]++
		}
		prev = w
		rs := []rune(" " + w + " ")
		for n := 3; n <= 5; n++ {
			for i := 0; i+n <= len(rs); i++ {
				chars[fnv(seedChars, string(rs[i:i+n]))]++
			}
		}
	}
	return words, chars
}

type doc struct {
	topic        int
	words, chars map[uint64]float64
}

// Train builds a classifier from topics. Each topic's name and description count as one more
// example. Topics without any text are kept but can only win when they are alone.
func Train(topics []settings.Topic, opt ...Options) *Classifier {
	o := Options{CharWeight: 1}
	if len(opt) > 0 && opt[0].CharWeight > 0 {
		o = opt[0]
	}
	c := &Classifier{}
	var docs []doc
	for i, t := range topics {
		c.names = append(c.names, t.Name)
		texts := append([]string{strings.TrimSpace(t.Name + ". " + t.Description)}, t.Examples...)
		for _, x := range texts {
			if strings.TrimSpace(x) == "" {
				continue
			}
			w, ch := terms(x)
			docs = append(docs, doc{i, w, ch})
		}
	}
	df := map[uint64]float64{}
	for _, d := range docs {
		for h := range d.words {
			df[h]++
		}
		for h := range d.chars {
			df[h]++
		}
	}
	N := float64(len(docs))
	c.idf = make(map[uint64]float64, len(df))
	for h, n := range df {
		c.idf[h] = math.Log((1+N)/(1+n)) + 1
	}
	c.defIDF = math.Log(1+N) + 1
	c.centroids = make([]vector, len(topics))
	for i := range c.centroids {
		c.centroids[i] = vector{}
	}
	for _, d := range docs {
		v := c.vectorize(d.words, d.chars, o.CharWeight)
		for h, x := range v {
			c.centroids[d.topic][h] += x
		}
	}
	for _, v := range c.centroids {
		normalize(v)
	}
	return c
}

func (c *Classifier) vectorize(words, chars map[uint64]float64, charW float64) vector {
	v := make(vector, len(words)+len(chars))
	add := func(m map[uint64]float64, w float64) {
		var s float64
		tmp := make(map[uint64]float64, len(m))
		for h, n := range m {
			idf, ok := c.idf[h]
			if !ok {
				continue // unseen in training: cannot match any centroid
			}
			x := (1 + math.Log(n)) * idf
			tmp[h] = x
			s += x * x
		}
		if s == 0 {
			return
		}
		s = math.Sqrt(s)
		for h, x := range tmp {
			v[h] += w * x / s
		}
	}
	add(words, 1)
	add(chars, charW)
	return v
}

func normalize(v vector) {
	var s float64
	for _, x := range v {
		s += x * x
	}
	if s == 0 {
		return
	}
	s = math.Sqrt(s)
	for h := range v {
		v[h] /= s
	}
}

// Scored is a topic with its cosine similarity to the text.
type Scored struct {
	Name  string
	Score float64
}

// Rank returns the topics by similarity to text, best first.
func (c *Classifier) Rank(text string) []Scored {
	w, ch := terms(text)
	q := c.vectorize(w, ch, 1)
	normalize(q)
	out := make([]Scored, len(c.names))
	for i, cen := range c.centroids {
		var s float64
		for h, x := range q {
			s += x * cen[h]
		}
		out[i] = Scored{c.names[i], s}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out
}

// Classify returns the best topic and its similarity (0..1); "" when the text shares nothing
// with any topic or there are no topics.
func (c *Classifier) Classify(text string) (string, float64) {
	if len(c.names) == 0 {
		return "", 0
	}
	r := c.Rank(text)
	if r[0].Score <= 0 {
		return "", 0
	}
	return r[0].Name, r[0].Score
}

// Key returns a hash of a topic list: the cache key of its trained classifier.
func Key(topics []settings.Topic) [32]byte {
	h := sha256.New()
	put := func(s string) {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(len(s)))
		h.Write(b[:])
		h.Write([]byte(s))
	}
	for _, t := range topics {
		put(t.Name)
		put(t.Description)
		put(string(rune(len(t.Examples))))
		for _, e := range t.Examples {
			put(e)
		}
	}
	var k [32]byte
	copy(k[:], h.Sum(nil))
	return k
}

// Cache keeps trained classifiers by topic-list hash (at most Max, the least recently used
// leave first). Safe for concurrent use.
type Cache struct {
	Max  int
	mu   sync.Mutex
	m    map[[32]byte]*cacheEntry
	tick uint64
}

type cacheEntry struct {
	c    *Classifier
	used uint64
}

// Get returns the classifier for topics, training it on first use.
func (cc *Cache) Get(topics []settings.Topic) *Classifier {
	k := Key(topics)
	cc.mu.Lock()
	if cc.m == nil {
		cc.m = map[[32]byte]*cacheEntry{}
	}
	cc.tick++
	if e, ok := cc.m[k]; ok {
		e.used = cc.tick
		cc.mu.Unlock()
		return e.c
	}
	cc.mu.Unlock()
	c := Train(topics)
	cc.mu.Lock()
	defer cc.mu.Unlock()
	max := cc.Max
	if max <= 0 {
		max = 256
	}
	for len(cc.m) >= max {
		var oldK [32]byte
		var oldT uint64 = math.MaxUint64
		for kk, e := range cc.m {
			if e.used < oldT {
				oldK, oldT = kk, e.used
			}
		}
		delete(cc.m, oldK)
	}
	cc.m[k] = &cacheEntry{c: c, used: cc.tick}
	return c
}
