package eval

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/jonreiter/govader"

	"github.com/parleyhq/parley/internal/analysis/sentiment"
)

// SentimentOptions tune Sentiment.
type SentimentOptions struct {
	Folds      int  // cross-validation folds (default 10)
	InnerFolds int  // folds that tune the blend inside each training (default 5, as shipped)
	SkipCV     bool // measure only VADER and the shipped model
	Scorer     *sentiment.Scorer
}

// SentimentSet holds the figures of one file. Accuracies are 3-class (human mean < -0.5
// negative, > 0.5 positive, else neutral); VADER's labels use its usual ±0.05 thresholds.
type SentimentSet struct {
	File                 string
	N                    int
	VaderR, VaderAcc     float64
	ShippedR, ShippedAcc float64 // shipped model: fitted if the file is a development set
	CVR, CVAcc           float64 // held-out: trained on the other folds of all given files
	ClassShare           [3]float64
}

// SentimentReport holds the figures of Sentiment.
type SentimentReport struct {
	Sets    []SentimentSet
	Folds   int
	Elapsed time.Duration
}

func class(y float64) int {
	switch {
	case y > 0.5:
		return 1
	case y < -0.5:
		return -1
	}
	return 0
}

func labelInt(s string) int {
	switch s {
	case sentiment.Positive:
		return 1
	case sentiment.Negative:
		return -1
	}
	return 0
}

// Sentiment measures sentiment on files of id<TAB>mean rating (-4..4)<TAB>text: Pearson r with
// the human mean and 3-class accuracy, for VADER (baseline), the shipped scorer, and the
// shipped training method under k-fold cross-validation over all the files together (each file
// is a group whose mean figure the blend is tuned for). Snippets whose ids name their document
// (document_sentence, as in the editorial snippets) are kept with their document's other
// snippets in one fold, so that a test fold's articles are new to its model; the others are
// dealt round the folds by position.
func Sentiment(paths []string, opt SentimentOptions) (*SentimentReport, error) {
	t0 := time.Now()
	if opt.Folds == 0 {
		opt.Folds = 10
	}
	s := opt.Scorer
	if s == nil {
		s = sentiment.Default()
	}
	vader := govader.NewSentimentIntensityAnalyzer()
	rep := &SentimentReport{}
	var all []sentiment.Example
	var fileOf []int
	for g, p := range paths {
		rows, err := sentiment.ReadRatings(p)
		if err != nil {
			return nil, err
		}
		set := SentimentSet{File: p, N: len(rows)}
		var ys, vs, ss []float64
		var vok, sok int
		for _, r := range rows {
			ys = append(ys, r.Rating)
			v := vader.PolarityScores(r.Text).Compound
			vs = append(vs, v)
			vl := 0
			if v >= 0.05 {
				vl = 1
			} else if v <= -0.05 {
				vl = -1
			}
			if vl == class(r.Rating) {
				vok++
			}
			res := s.English(r.Text)
			ss = append(ss, res.Score)
			if labelInt(res.Label) == class(r.Rating) {
				sok++
			}
			set.ClassShare[class(r.Rating)+1]++
			all = append(all, sentiment.Example{Text: r.Text, Y: r.Rating / 4, Group: g, Doc: r.Document()})
			fileOf = append(fileOf, g)
		}
		for i := range set.ClassShare {
			set.ClassShare[i] /= float64(len(rows))
		}
		set.VaderR, set.VaderAcc = sentiment.Pearson(vs, ys), frac(vok, len(rows))
		set.ShippedR, set.ShippedAcc = sentiment.Pearson(ss, ys), frac(sok, len(rows))
		rep.Sets = append(rep.Sets, set)
	}
	if !opt.SkipCV && opt.Folds > 1 {
		rep.Folds = opt.Folds
		scores, labels := s.CrossValidate(all, opt.Folds, sentiment.TrainOptions{InnerFolds: opt.InnerFolds})
		for g := range rep.Sets {
			var xs, ys []float64
			ok := 0
			for i, e := range all {
				if fileOf[i] != g {
					continue
				}
				xs = append(xs, scores[i])
				ys = append(ys, e.Y)
				if labels[i] == class(e.Y*4) {
					ok++
				}
			}
			rep.Sets[g].CVR = sentiment.Pearson(xs, ys)
			rep.Sets[g].CVAcc = frac(ok, len(xs))
		}
	}
	rep.Elapsed = time.Since(t0)
	return rep, nil
}

// String prints the report.
func (r *SentimentReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sentiment (Pearson r with the human mean; 3-class accuracy, human mean < -0.5 negative, > 0.5 positive)\n")
	for _, s := range r.Sets {
		fmt.Fprintf(&b, "  %s: %d texts (negative %.0f%%, neutral %.0f%%, positive %.0f%%)\n", filepath.Base(s.File), s.N, 100*s.ClassShare[0], 100*s.ClassShare[1], 100*s.ClassShare[2])
		fmt.Fprintf(&b, "    VADER (baseline)         r %.3f   accuracy %6.2f%%\n", s.VaderR, 100*s.VaderAcc)
		if r.Folds > 1 {
			fmt.Fprintf(&b, "    parley, %2d-fold held-out r %.3f   accuracy %6.2f%%   (r %+.3f, accuracy %+.2f points over VADER)\n", r.Folds, s.CVR, 100*s.CVAcc, s.CVR-s.VaderR, 100*(s.CVAcc-s.VaderAcc))
		}
		fmt.Fprintf(&b, "    parley, shipped model    r %.3f   accuracy %6.2f%%   (fitted if this is a development set)\n", s.ShippedR, 100*s.ShippedAcc)
	}
	fmt.Fprintf(&b, "  targets: beat VADER's r on every set, r >= 0.65 on movie review snippets, accuracy >= VADER + 5 points\n")
	fmt.Fprintf(&b, "  took %s\n", r.Elapsed.Round(time.Millisecond))
	return b.String()
}
