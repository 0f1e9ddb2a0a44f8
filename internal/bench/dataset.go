package bench

import (
	"bufio"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/demo"
	"github.com/parleyhq/parley/internal/search"
)

// Dataset is a generated data set: an NDJSON file of conversations, one a line, as the import
// API takes them, and the facts about it that the benchmark checks answers against.
type Dataset struct {
	Path  string // the NDJSON file
	Facts Facts
}

// Facts are what the benchmark knows about a data set without asking the server.
type Facts struct {
	Version       int
	Seed          int64
	Conversations int
	Messages      int64
	Bytes         int64
	End, Start    time.Time
	// CreatedBySource holds each source's conversations' created_at (Unix µs), sorted, for the
	// exact count of a filtered list.
	CreatedBySource map[string][]int64
	// Words are the text queries by kind ("rare", "medium", "common", "order"), each with the
	// exact number of conversations it matches.
	Words map[string][]WordQuery
}

// WordQuery is a text query with the number of conversations it must find.
type WordQuery struct {
	Query string
	Count int64
}

// factsVersion changes when the facts or the NDJSON change meaning, so old caches are redone.
const factsVersion = 3

// Kinds of text query and the share of conversations each aims at.
var wordTargets = []struct {
	kind   string
	target float64
}{{"rare", 0.0002}, {"medium", 0.01}, {"common", 0.2}}

// wordsPerKind is how many queries each text kind rotates through.
const wordsPerKind = 3

// sampleSize is how many conversations choose the words: the first ones of the seed, which
// are also the first ones of every larger set of that seed.
const sampleSize = 20000

// PostWord is the only word of the messages the benchmark posts: no chosen query matches it.
const PostWord = "zqxprobe"

// DatasetOptions choose a data set.
type DatasetOptions struct {
	Seed          int64
	Conversations int
	End           time.Time
	Span          time.Duration
	// Dir caches generated sets (file names carry the options); "" uses a temporary folder
	// that the caller removes.
	Dir      string
	Progress func(done, total int)
}

func (o DatasetOptions) name() string {
	return fmt.Sprintf("demo-s%d-n%d-e%s-d%dh", o.Seed, o.Conversations, o.End.UTC().Format("20060102"), int64(o.Span/time.Hour))
}

// PrepareDataset generates the data set, or reuses the cached one with the same options.
func PrepareDataset(o DatasetOptions) (*Dataset, error) {
	if o.Conversations <= 0 {
		return nil, errors.New("bench: --conversations must be positive")
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(o.Dir, o.name()+".ndjson")
	factsPath := filepath.Join(o.Dir, o.name()+".facts")
	if d, err := loadCached(path, factsPath); err == nil {
		return d, nil
	}
	words, err := chooseWords(o)
	if err != nil {
		return nil, err
	}
	facts, err := generate(o, path, words)
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	f, err := os.Create(factsPath + ".tmp")
	if err != nil {
		return nil, err
	}
	if err := gob.NewEncoder(f).Encode(facts); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(factsPath+".tmp", factsPath); err != nil {
		return nil, err
	}
	return &Dataset{Path: path, Facts: *facts}, nil
}

func loadCached(path, factsPath string) (*Dataset, error) {
	f, err := os.Open(factsPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var facts Facts
	if err := gob.NewDecoder(bufio.NewReader(f)).Decode(&facts); err != nil {
		return nil, err
	}
	if facts.Version != factsVersion {
		return nil, errors.New("old cache")
	}
	st, err := os.Stat(path)
	if err != nil || st.Size() != facts.Bytes {
		return nil, errors.New("incomplete cache")
	}
	return &Dataset{Path: path, Facts: facts}, nil
}

func newGenerator(o DatasetOptions) *demo.Generator {
	g := demo.NewGenerator(o.Seed, o.End, o.Span)
	g.MinMessages, g.MaxMessages = 2, 30
	return g
}

// doc is a conversation's indexed text as the store indexes it: the visitor fields, and the
// messages one after the other.
type doc struct{ meta, body []string }

func docOf(c *cv.NewConversation, d *doc) {
	var parts []string
	for _, p := range []*string{c.VisitorName, c.VisitorEmail, c.VisitorPhoneNumber, c.VisitorLabel} {
		if p != nil {
			parts = append(parts, *p)
		}
	}
	d.meta = strings.Fields(search.Normalize(strings.Join(parts, " ")))
	d.body = d.body[:0]
	for i := range c.Messages {
		d.body = append(d.body, strings.Fields(search.Normalize(c.Messages[i].Content))...)
	}
}

// matches reports whether the conversation's text matches q's terms the way the store's
// search does: every term somewhere in the visitor fields or in the messages, a term's parts
// next to each other, the last part of the prefix term as a prefix.
func (d *doc) matches(q *search.Query) bool {
	for _, t := range q.Terms {
		if !termIn(t, d.meta) && !termIn(t, d.body) {
			return false
		}
	}
	return len(q.Terms) > 0
}

func termIn(t search.Term, toks []string) bool {
	n := len(t.Parts)
	for i := 0; i+n <= len(toks); i++ {
		ok := true
		for j, p := range t.Parts {
			if j == n-1 && t.Prefix {
				ok = strings.HasPrefix(toks[i+j], p)
			} else {
				ok = toks[i+j] == p
			}
			if !ok {
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func isWord(s string) bool {
	if len(s) < 4 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// chooseWords picks the text queries from the first conversations of the seed: for each kind
// the words whose share of conversations is nearest its target, and order numbers (ORD-…) of
// the rare kind as they appear in messages.
func chooseWords(o DatasetOptions) (map[string][]string, error) {
	g := newGenerator(o)
	n := min(o.Conversations, sampleSize)
	df := map[string]int{}
	var orders []string
	var d doc
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		c := g.Next()
		docOf(&c, &d)
		clear(seen)
		for _, toks := range [][]string{d.meta, d.body} {
			for j, t := range toks {
				if isWord(t) && !seen[t] {
					seen[t] = true
					df[t]++
				}
				// An order number of the rare kind (ORD-01xxxxx and up) from every 97th
				// conversation.
				if t == "ord" && j+1 < len(toks) && i%97 == 0 && len(orders) < 2*wordsPerKind+4 {
					if num := toks[j+1]; len(num) == 7 && num >= "0100000" && !slices.Contains(orders, "ORD-"+num) {
						orders = append(orders, "ORD-"+num)
					}
				}
			}
		}
	}
	words := map[string][]string{}
	type cand struct {
		w    string
		dist float64
	}
	used := map[string]bool{}
	for _, k := range wordTargets {
		var cands []cand
		for w, c := range df {
			if c < 2 || strings.HasPrefix(PostWord, w) || strings.HasPrefix(w, "zqx") {
				continue
			}
			cands = append(cands, cand{w, math.Abs(math.Log(float64(c)/float64(n)) - math.Log(k.target))})
		}
		sort.Slice(cands, func(i, j int) bool {
			if cands[i].dist != cands[j].dist {
				return cands[i].dist < cands[j].dist
			}
			return cands[i].w < cands[j].w
		})
		for _, c := range cands {
			if len(words[k.kind]) == wordsPerKind {
				break
			}
			// A word that starts another chosen word would find it too: keep kinds apart.
			clash := false
			for u := range used {
				if strings.HasPrefix(u, c.w) || strings.HasPrefix(c.w, u) {
					clash = true
				}
			}
			if !clash {
				used[c.w] = true
				words[k.kind] = append(words[k.kind], c.w)
			}
		}
	}
	if len(orders) == 0 {
		return nil, errors.New("bench: the data set has no order numbers to search for")
	}
	words["order"] = orders
	return words, nil
}

// generate writes the NDJSON file and gathers the facts, counting exactly what every chosen
// query must find.
func generate(o DatasetOptions, path string, words map[string][]string) (*Facts, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	facts := &Facts{Version: factsVersion, Seed: o.Seed, Conversations: o.Conversations, End: o.End.UTC(), Start: o.End.Add(-o.Span).UTC(),
		CreatedBySource: map[string][]int64{}, Words: map[string][]WordQuery{}}
	type pq struct {
		kind string
		i    int
		q    search.Query
	}
	var queries []pq
	for _, kind := range slices.Sorted(maps.Keys(words)) {
		for _, s := range words[kind] {
			facts.Words[kind] = append(facts.Words[kind], WordQuery{Query: s})
			queries = append(queries, pq{kind, len(facts.Words[kind]) - 1, search.Parse(s)})
		}
	}
	g := newGenerator(o)
	var d doc
	for i := 0; i < o.Conversations; i++ {
		c := g.Next()
		if err := enc.Encode(&c); err != nil {
			return nil, err
		}
		facts.Messages += int64(len(c.Messages))
		facts.CreatedBySource[c.Source] = append(facts.CreatedBySource[c.Source], c.CreatedAt.UnixMicro())
		docOf(&c, &d)
		for _, q := range queries {
			if d.matches(&q.q) {
				facts.Words[q.kind][q.i].Count++
			}
		}
		if o.Progress != nil && (i+1)%1000 == 0 {
			o.Progress(i+1, o.Conversations)
		}
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	facts.Bytes = st.Size()
	for _, v := range facts.CreatedBySource {
		slices.Sort(v)
	}
	return facts, f.Close()
}

// CountCreated is the number of conversations of source created in [from, to).
func (f *Facts) CountCreated(source string, from, to time.Time) int64 {
	v := f.CreatedBySource[source]
	a, _ := slices.BinarySearch(v, from.UnixMicro())
	b, _ := slices.BinarySearch(v, to.UnixMicro())
	return int64(b - a)
}
