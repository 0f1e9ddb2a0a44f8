package eval

import (
	"fmt"
	"hash/fnv"
	"io"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/parleyhq/parley/internal/analysis/language"
	"github.com/parleyhq/parley/internal/analysis/textutil"
)

// LanguageOptions tune Language.
type LanguageOptions struct {
	// Folds for the cross-validated figure (default 5; 0 or 1 with SkipCV skips it).
	Folds int
	// SkipCV leaves out the cross-validated figures (then only the shipped model is measured).
	SkipCV bool
	// Every measures every n-th sentence only (default 1: all), to run quickly.
	Every int
	// Model to measure as "shipped" (default language.Default()).
	Model *language.Model
	// Errors, when not nil, receives each held-out error (the shipped model's errors when
	// SkipCV) as a tab-separated line: "sentence", "words" (the first two words) or "pair" (a
	// word pair, see WordPair), the label, the answer ("" for none), the text.
	Errors io.Writer
}

// LanguageReport holds the figures of Language. Accuracies are fractions (0..1).
type LanguageReport struct {
	Dir       string
	Samples   int // sentences measured
	Pairs     int // of which with a word pair (see WordPair)
	Languages int
	// Shipped model on these sentences. On the development set this is a fitted figure (the
	// shipped model was trained on it); on other data it is the honest one.
	Sentence, TwoWords, WordPairs float64
	Median                        float64 // median of the per-language sentence accuracies
	// K-fold cross-validation: a model trained the shipped way on the other folds of these
	// sentences, measured on the held-out fold. On the development set this is the honest one.
	// Each fold is a contiguous block of each language's lines, not every k-th line: lingua's
	// files, which the development set comes from, are sorted alphabetically, and interleaved
	// folds share the openings of their sentences with the training folds.
	Folds                               int
	CVSamples, CVPairs                  int // sentences and word pairs measured held out
	CVSentence, CVTwoWords, CVWordPairs float64
	WorstCV                             []LangAcc // lowest per-language CV sentence accuracies
	MedianCV                            float64   // median of the per-language CV sentence accuracies
	Confusions                          []string  // most frequent CV sentence confusions, "bs>hr: 110"
	Elapsed                             time.Duration
}

// LangAcc is a per-language accuracy.
type LangAcc struct {
	Lang     string
	Accuracy float64
}

// TwoWords makes the two-word sample of a sentence (see textutil.FirstWords).
func TwoWords(s string) string { return textutil.FirstWords(s, 2) }

// WordPair makes a word pair of a sentence the way lingua's word-pair test sets were made (its
// files hold, from the same corpora's sentences, two lowercased words of at least five letters,
// mostly neighbours once shorter words are left out): of the sentence's words of at least five
// letters, lowercased, two neighbours at a position chosen by a hash of the sentence. "" when
// the sentence has fewer than two such words (always so in Chinese, Japanese and Thai, written
// without spaces).
func WordPair(s string) string {
	var words []string
	for _, w := range textutil.Words(strings.ToLower(s)) {
		letters := 0
		ok := true
		for _, r := range w {
			switch {
			case unicode.IsLetter(r):
				letters++
			case unicode.IsMark(r):
			default:
				ok = false
			}
		}
		if ok && letters >= 5 && !textutil.IsNoSpaceScript([]rune(w)[0]) {
			words = append(words, w)
		}
	}
	if len(words) < 2 {
		return ""
	}
	h := fnv.New32a()
	h.Write([]byte(s))
	i := int(h.Sum32() % uint32(len(words)-1))
	return words[i] + " " + words[i+1]
}

// Language measures language identification on a folder of <code>.txt files (one sentence a
// line): accuracy on whole sentences, on their first two words and on word pairs (WordPair).
func Language(dir string, opt LanguageOptions) (*LanguageReport, error) {
	t0 := time.Now()
	samples, err := language.ReadSentences(dir)
	if err != nil {
		return nil, err
	}
	if opt.Every < 1 {
		opt.Every = 1
	}
	if opt.Folds == 0 {
		opt.Folds = 5
	}
	m := opt.Model
	if m == nil {
		m = language.Default()
	}
	r := &LanguageReport{Dir: dir}
	langs := map[string]bool{}
	shipped := tally{per: map[string][2]int{}}
	var shippedErrors io.Writer
	if opt.SkipCV || opt.Folds < 2 {
		shippedErrors = opt.Errors
	}
	for i, s := range samples {
		langs[s.Lang] = true
		if i%opt.Every == 0 {
			shipped.measure(m, s, shippedErrors)
		}
	}
	r.Languages = len(langs)
	r.Samples, r.Pairs = shipped.n, shipped.np
	r.Sentence, r.TwoWords, r.WordPairs = shipped.rates()
	r.Median = median(shipped.per)
	if !opt.SkipCV && opt.Folds > 1 {
		r.Folds = opt.Folds
		// fold[i]: the block of its language's lines that sentence i falls in.
		fold := make([]int, len(samples))
		pos := make([]int, len(samples))
		lines := map[string]int{}
		for i, s := range samples {
			pos[i] = lines[s.Lang]
			lines[s.Lang]++
		}
		for i, s := range samples {
			fold[i] = pos[i] * opt.Folds / lines[s.Lang]
		}
		var cv tally
		cv.per = map[string][2]int{}
		cv.conf = map[string]int{}
		for k := 0; k < opt.Folds; k++ {
			var train []language.Sample
			for i, s := range samples {
				if fold[i] != k {
					train = append(train, s)
				}
			}
			fm := language.Train(train, language.TrainOptions{})
			for i, s := range samples {
				if fold[i] == k && pos[i]%opt.Every == 0 {
					cv.measure(fm, s, opt.Errors)
				}
			}
		}
		r.CVSamples, r.CVPairs = cv.n, cv.np
		r.CVSentence, r.CVTwoWords, r.CVWordPairs = cv.rates()
		for l, v := range cv.per {
			r.WorstCV = append(r.WorstCV, LangAcc{l, frac(v[0], v[1])})
		}
		sort.Slice(r.WorstCV, func(i, j int) bool {
			if r.WorstCV[i].Accuracy != r.WorstCV[j].Accuracy {
				return r.WorstCV[i].Accuracy < r.WorstCV[j].Accuracy
			}
			return r.WorstCV[i].Lang < r.WorstCV[j].Lang
		})
		r.MedianCV = median(cv.per)
		if len(r.WorstCV) > 8 {
			r.WorstCV = r.WorstCV[:8]
		}
		r.Confusions = topCounts(cv.conf, 10)
	}
	r.Elapsed = time.Since(t0)
	return r, nil
}

// tally counts a model's answers on sentences, their first two words and their word pairs.
type tally struct {
	n, np, ok1, ok2, ok3 int
	per                  map[string][2]int // when not nil: per language, sentences right and measured
	conf                 map[string]int    // when not nil: sentence confusions, "bs>hr"
}

func (t *tally) measure(m *language.Model, s language.Sample, errs io.Writer) {
	t.n++
	got := m.Detect(s.Text)
	if got == s.Lang {
		t.ok1++
	} else {
		writeError(errs, "sentence", s.Lang, got, s.Text)
		if t.conf != nil {
			t.conf[s.Lang+">"+orNone(got)]++
		}
	}
	if t.per != nil {
		pl := t.per[s.Lang]
		pl[1]++
		if got == s.Lang {
			pl[0]++
		}
		t.per[s.Lang] = pl
	}
	two := TwoWords(s.Text)
	if got := m.Detect(two); got == s.Lang {
		t.ok2++
	} else {
		writeError(errs, "words", s.Lang, got, two)
	}
	if pair := WordPair(s.Text); pair != "" {
		t.np++
		if got := m.Detect(pair); got == s.Lang {
			t.ok3++
		} else {
			writeError(errs, "pair", s.Lang, got, pair)
		}
	}
}

// median returns the median of the per-language accuracies in per (right, measured).
func median(per map[string][2]int) float64 {
	var acc []float64
	for _, v := range per {
		acc = append(acc, frac(v[0], v[1]))
	}
	if len(acc) == 0 {
		return 0
	}
	sort.Float64s(acc)
	return (acc[(len(acc)-1)/2] + acc[len(acc)/2]) / 2
}

func (t *tally) rates() (sentence, twoWords, pairs float64) {
	return frac(t.ok1, t.n), frac(t.ok2, t.n), frac(t.ok3, t.np)
}

func writeError(w io.Writer, kind, label, got, text string) {
	if w != nil {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", kind, label, got, strings.ReplaceAll(text, "\t", " "))
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func frac(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func topCounts(m map[string]int, n int) []string {
	type kv struct {
		k string
		v int
	}
	var all []kv
	for k, v := range m {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].v != all[j].v {
			return all[i].v > all[j].v
		}
		return all[i].k < all[j].k
	})
	var out []string
	for i := 0; i < len(all) && i < n; i++ {
		out = append(out, fmt.Sprintf("%s: %d", all[i].k, all[i].v))
	}
	return out
}

// String prints the report.
func (r *LanguageReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "language identification: %s\n", r.Dir)
	fmt.Fprintf(&b, "  %d sentences measured, %d languages\n", r.Samples, r.Languages)
	fmt.Fprintf(&b, "  shipped model      sentences %6.2f%%   two words %6.2f%%   word pairs %6.2f%% of %d   (fitted if these are the development sentences)\n", 100*r.Sentence, 100*r.TwoWords, 100*r.WordPairs, r.Pairs)
	fmt.Fprintf(&b, "  shipped model, sentences, median of the languages' accuracies: %.2f%%\n", 100*r.Median)
	if r.Folds > 1 {
		fmt.Fprintf(&b, "  %d-fold held-out    sentences %6.2f%%   two words %6.2f%%   word pairs %6.2f%% of %d   (targets: >= 99%% and >= 90%%)\n", r.Folds, 100*r.CVSentence, 100*r.CVTwoWords, 100*r.CVWordPairs, r.CVPairs)
		fmt.Fprintf(&b, "  held-out sentences, median of the languages' accuracies: %.2f%%\n", 100*r.MedianCV)
		var w []string
		for _, x := range r.WorstCV {
			w = append(w, fmt.Sprintf("%s %.1f%%", x.Lang, 100*x.Accuracy))
		}
		fmt.Fprintf(&b, "  weakest (held-out): %s\n", strings.Join(w, ", "))
		fmt.Fprintf(&b, "  confusions (held-out): %s\n", strings.Join(r.Confusions, ", "))
	}
	fmt.Fprintf(&b, "  two words = the first two whitespace tokens; for Chinese/Japanese/Thai text without spaces, the first four characters\n")
	fmt.Fprintf(&b, "  word pairs = two neighbouring words of 5+ letters, lowercased, as in lingua's word-pair sets (none in Chinese/Japanese/Thai)\n")
	fmt.Fprintf(&b, "  took %s\n", r.Elapsed.Round(time.Millisecond))
	return b.String()
}
