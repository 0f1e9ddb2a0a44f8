package eval

import (
	"bytes"
	"math"
	"os"
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
// issue's target on sentences (99%, pooled) is not met held out; the floors below are a little
// under what the shipped method reaches held out on all sentences (98.07% on sentences, 84.15% on
// their first two words, 88.77% on word pairs), so that a regression fails. See docs/analysis.md.
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
	pairMisses := int(math.Round((1 - r.CVWordPairs) * float64(r.CVPairs)))
	if kinds["sentence"] != misses(r.CVSentence) || kinds["words"] != misses(r.CVTwoWords) || kinds["pair"] != pairMisses || len(kinds) != 3 {
		t.Errorf("error lines %v, want %d sentence, %d words and %d pair", kinds, misses(r.CVSentence), misses(r.CVTwoWords), pairMisses)
	}
	// Every language but Chinese, Japanese and Thai (no spaces) has word pairs in most sentences.
	if r.CVPairs < r.CVSamples*80/100 || r.CVPairs > r.CVSamples*97/100 {
		t.Errorf("%d word pairs from %d sentences", r.CVPairs, r.CVSamples)
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
	floor("held-out two-word accuracy", r.CVTwoWords, 0.83)
	floor("held-out word-pair accuracy", r.CVWordPairs, 0.875)
	floor("held-out median of the languages' sentence accuracies", r.MedianCV, 0.99)
	floor("shipped model, sentences (fitted)", r.Sentence, 0.99)
	floor("shipped model, two words (fitted)", r.TwoWords, 0.89)
	floor("shipped model, word pairs (fitted)", r.WordPairs, 0.93)
}

func TestWordPair(t *testing.T) {
	for in, want := range map[string][]string{
		// Words of five letters or more, lowercased; numbers, short words and words with digits
		// are left out; the pair is two neighbours of what is left.
		"Der Hund 2024 läuft schnell über die Straße": {"läuft schnell", "schnell straße"},
		"Zagreb je glavni grad Hrvatske.":             {"zagreb glavni", "glavni hrvatske"},
		"Ein Satz.":                                   {""},
		"東京は日本の首都です。":                                 {""},
		"":                                            {""},
		"Mbps3 fifty sixty":                           {"fifty sixty"},
	} {
		got := WordPair(in)
		ok := false
		for _, w := range want {
			ok = ok || got == w
		}
		if !ok {
			t.Errorf("WordPair(%q) = %q, want one of %q", in, got, want)
		}
		if WordPair(in) != got {
			t.Errorf("WordPair(%q) is not deterministic", in)
		}
	}
}

// TestLanguageQuickErrors: with SkipCV the shipped model's misses are written, on any folder of
// the same format (here one German sentence filed as English, one English sentence right).
func TestLanguageQuickErrors(t *testing.T) {
	dir := t.TempDir()
	text := "Der kleine Hund läuft jeden Morgen schnell über die große Straße.\nThe weather in London was unusually warm yesterday afternoon.\n"
	if err := os.WriteFile(filepath.Join(dir, "en.txt"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var errs bytes.Buffer
	r, err := Language(dir, LanguageOptions{SkipCV: true, Errors: &errs})
	if err != nil {
		t.Fatal(err)
	}
	if r.Samples != 2 || r.Sentence != 0.5 || r.Median != 0.5 || r.Folds != 0 {
		t.Errorf("samples %d, sentence %.2f, median %.2f, folds %d; want 2, 0.50, 0.50, 0", r.Samples, r.Sentence, r.Median, r.Folds)
	}
	lines := strings.Split(strings.TrimSuffix(errs.String(), "\n"), "\n")
	want := map[string]bool{
		"sentence\ten\tde\tDer kleine Hund läuft jeden Morgen schnell über die große Straße.": false,
	}
	for _, l := range lines {
		if _, ok := want[l]; ok {
			want[l] = true
		}
		if !strings.HasPrefix(l, "sentence\ten\tde\t") && !strings.HasPrefix(l, "words\ten\tde\t") && !strings.HasPrefix(l, "pair\ten\tde\t") {
			t.Errorf("error line %q", l)
		}
	}
	for l, seen := range want {
		if !seen {
			t.Errorf("missing error line %q in %q", l, errs.String())
		}
	}
}
