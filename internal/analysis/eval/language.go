package eval

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

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
	// Errors, when not nil, receives each held-out error as a tab-separated line: "sentence"
	// or "words" (the first two words), the label, the answer ("" for none), the text.
	Errors io.Writer
}

// LanguageReport holds the figures of Language. Accuracies are fractions (0..1).
type LanguageReport struct {
	Dir       string
	Samples   int // sentences measured
	Languages int
	// Shipped model on these sentences. On the development set this is a fitted figure (the
	// shipped model was trained on it); on other data it is the honest one.
	Sentence, TwoWords float64
	// K-fold cross-validation: a model trained the shipped way on the other folds of these
	// sentences, measured on the held-out fold. On the development set this is the honest one.
	Folds                  int
	CVSamples              int // sentences measured held out
	CVSentence, CVTwoWords float64
	WorstCV                []LangAcc // lowest per-language CV sentence accuracies
	Confusions             []string  // most frequent CV sentence confusions, "bs>hr: 110"
	Elapsed                time.Duration
}

// LangAcc is a per-language accuracy.
type LangAcc struct {
	Lang     string
	Accuracy float64
}

// TwoWords makes the two-word sample of a sentence (see textutil.FirstWords).
func TwoWords(s string) string { return textutil.FirstWords(s, 2) }

// Language measures language identification on a folder of <code>.txt files (one sentence a
// line): accuracy on whole sentences and on their first two words.
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
	var ok1, ok2 int
	for i, s := range samples {
		langs[s.Lang] = true
		if i%opt.Every != 0 {
			continue
		}
		r.Samples++
		if m.Detect(s.Text) == s.Lang {
			ok1++
		}
		if m.Detect(TwoWords(s.Text)) == s.Lang {
			ok2++
		}
	}
	r.Languages = len(langs)
	r.Sentence = frac(ok1, r.Samples)
	r.TwoWords = frac(ok2, r.Samples)
	if !opt.SkipCV && opt.Folds > 1 {
		r.Folds = opt.Folds
		per := map[string][2]int{}
		conf := map[string]int{}
		var c1, c2, n int
		for k := 0; k < opt.Folds; k++ {
			var train []language.Sample
			for i, s := range samples {
				if i%opt.Folds != k {
					train = append(train, s)
				}
			}
			fm := language.Train(train, language.TrainOptions{})
			for i, s := range samples {
				if i%opt.Folds != k || (i/opt.Folds)%opt.Every != 0 {
					continue
				}
				n++
				pl := per[s.Lang]
				pl[1]++
				if got := fm.Detect(s.Text); got == s.Lang {
					c1++
					pl[0]++
				} else {
					conf[s.Lang+">"+orNone(got)]++
					writeError(opt.Errors, "sentence", s.Lang, got, s.Text)
				}
				per[s.Lang] = pl
				if got := fm.Detect(TwoWords(s.Text)); got == s.Lang {
					c2++
				} else {
					writeError(opt.Errors, "words", s.Lang, got, TwoWords(s.Text))
				}
			}
		}
		r.CVSamples = n
		r.CVSentence, r.CVTwoWords = frac(c1, n), frac(c2, n)
		for l, v := range per {
			r.WorstCV = append(r.WorstCV, LangAcc{l, frac(v[0], v[1])})
		}
		sort.Slice(r.WorstCV, func(i, j int) bool {
			if r.WorstCV[i].Accuracy != r.WorstCV[j].Accuracy {
				return r.WorstCV[i].Accuracy < r.WorstCV[j].Accuracy
			}
			return r.WorstCV[i].Lang < r.WorstCV[j].Lang
		})
		if len(r.WorstCV) > 8 {
			r.WorstCV = r.WorstCV[:8]
		}
		r.Confusions = topCounts(conf, 10)
	}
	r.Elapsed = time.Since(t0)
	return r, nil
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
	fmt.Fprintf(&b, "  shipped model      sentences %6.2f%%   two words %6.2f%%   (fitted if these are the development sentences)\n", 100*r.Sentence, 100*r.TwoWords)
	if r.Folds > 1 {
		fmt.Fprintf(&b, "  %d-fold held-out    sentences %6.2f%%   two words %6.2f%%   (targets: >= 99%% and >= 90%%)\n", r.Folds, 100*r.CVSentence, 100*r.CVTwoWords)
		var w []string
		for _, x := range r.WorstCV {
			w = append(w, fmt.Sprintf("%s %.1f%%", x.Lang, 100*x.Accuracy))
		}
		fmt.Fprintf(&b, "  weakest (held-out): %s\n", strings.Join(w, ", "))
		fmt.Fprintf(&b, "  confusions (held-out): %s\n", strings.Join(r.Confusions, ", "))
	}
	fmt.Fprintf(&b, "  two words = the first two whitespace tokens; for Chinese/Japanese/Thai text without spaces, the first four characters\n")
	fmt.Fprintf(&b, "  took %s\n", r.Elapsed.Round(time.Millisecond))
	return b.String()
}
