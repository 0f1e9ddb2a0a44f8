package eval

import (
	"bytes"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/analysis/textutil/testdata"
)

func shared(t testing.TB, parts ...string) string {
	t.Helper()
	root, err := testdata.Shared()
	if err != nil {
		t.Skipf("shared testdata not found: %v", err)
	}
	return filepath.Join(append([]string{root}, parts...)...)
}

// TestLanguage checks language identification on the 75-language development sentences (every
// second sentence measured; every sixth in -short mode; the models train on all folds). The
// issue's targets (99% on sentences, 90% on two words, held-out) are not met; the floors below
// are a little under what the shipped method reaches held-out (98.2% and 86.0% on all
// sentences), so that a regression fails. See docs/analysis.md.
func TestLanguage(t *testing.T) {
	t.Parallel()
	var errs bytes.Buffer
	opt := LanguageOptions{Folds: 5, Every: 2, Errors: &errs}
	if testing.Short() {
		opt.Every = 6
	}
	r, err := Language(shared(t, "langid", "sentences"), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + r.String())
	// The errors written are the held-out misses, one line each.
	kinds := map[string]int{}
	for _, line := range strings.Split(strings.TrimSuffix(errs.String(), "\n"), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 || len(f[1]) != 2 || f[1] == f[2] || f[3] == "" {
			t.Fatalf("error line %q: want kind, label, another answer, text", line)
		}
		kinds[f[0]]++
	}
	misses := func(acc float64) int { return int(math.Round((1 - acc) * float64(r.CVSamples))) }
	if kinds["sentence"] != misses(r.CVSentence) || kinds["words"] != misses(r.CVTwoWords) || len(kinds) != 2 {
		t.Errorf("error lines %v, want %d sentence and %d words", kinds, misses(r.CVSentence), misses(r.CVTwoWords))
	}
	if r.Languages != 75 {
		t.Errorf("%d languages", r.Languages)
	}
	floor := func(name string, got, min float64) {
		if got < min {
			t.Errorf("%s = %.2f%%, want >= %.2f%%", name, 100*got, 100*min)
		}
	}
	floor("held-out sentence accuracy", r.CVSentence, 0.975)
	floor("held-out two-word accuracy", r.CVTwoWords, 0.84)
	floor("shipped model, sentences (fitted)", r.Sentence, 0.99)
	floor("shipped model, two words (fitted)", r.TwoWords, 0.90)
}
