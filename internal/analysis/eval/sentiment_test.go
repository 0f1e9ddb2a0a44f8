package eval

import (
	"strings"
	"testing"
)

// TestSentiment checks the English scorer against VADER on the two development sets, with
// 5-fold cross-validation (3 inner folds; 3 outer in -short mode) to keep the suite quick;
// `parley eval sentiment` reports the 10-fold figures of docs/analysis.md. The targets are
// asserted as they stand: r above VADER's on every set and at least 0.65 on the movie review
// snippets, 3-class accuracy at least 5 points above VADER's on every set.
func TestSentiment(t *testing.T) {
	t.Parallel()
	opt := SentimentOptions{Folds: 5, InnerFolds: 3}
	if testing.Short() {
		opt.Folds = 3
	}
	r, err := Sentiment([]string{
		shared(t, "sentiment", "movieReviewSnippets_GroundTruth.txt"),
		shared(t, "sentiment", "nytEditorialSnippets_GroundTruth.txt"),
	}, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + r.String())
	for _, s := range r.Sets {
		if s.CVR <= s.VaderR {
			t.Errorf("%s: held-out r %.3f does not beat VADER's %.3f", s.File, s.CVR, s.VaderR)
		}
		if strings.Contains(s.File, "movie") && s.CVR < 0.65 {
			t.Errorf("movie snippets: held-out r %.3f < 0.65", s.CVR)
		}
		if s.CVAcc < s.VaderAcc+0.05 {
			t.Errorf("%s: held-out accuracy %.2f%% < VADER %.2f%% + 5", s.File, 100*s.CVAcc, 100*s.VaderAcc)
		}
	}
}
