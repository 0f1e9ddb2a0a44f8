// Command split makes, from lingua's full language test data and parley's development
// sentences, the test sets that no parley model has seen: lingua's sentences that are not in the
// development files, and lingua's word pairs whose two words occur together only in such
// sentences (a pair that no sentence holds, as in Chinese and Japanese, whose pairs are two
// random characters, is left out: it cannot be placed).
//
// lingua-go's repository keeps the data in cmd/language-testdata (sentences/, word-pairs/, one
// <code>.txt file a language); the development files are its first 300 sentences a language.
//
//	go run ./split -lingua <lingua-go>/cmd/language-testdata -dev ../../../../../shared/testdata/langid/sentences -out /tmp/unseen
//	parley eval language --quick --file /tmp/unseen/sentences
//	parley eval language --quick --file /tmp/unseen/word-pairs
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
)

func lines(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out, nil
}

// words returns the set of s's lowercased runs of letters and marks.
func words(s string) map[string]bool {
	set := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsMark(r)
	}) {
		set[w] = true
	}
	return set
}

func main() {
	lingua := flag.String("lingua", "", "lingua's language-testdata folder (with sentences/ and word-pairs/)")
	dev := flag.String("dev", "../../../../../shared/testdata/langid/sentences", "the development sentences")
	out := flag.String("out", "", "output folder: sentences/ and word-pairs/ are written in it")
	flag.Parse()
	if *lingua == "" || *out == "" {
		log.Fatal("-lingua and -out are required")
	}
	files, err := filepath.Glob(filepath.Join(*lingua, "sentences", "*.txt"))
	if err != nil || len(files) == 0 {
		log.Fatalf("no sentence files in %s/sentences", *lingua)
	}
	sort.Strings(files)
	for _, d := range []string{"sentences", "word-pairs"} {
		if err := os.MkdirAll(filepath.Join(*out, d), 0o755); err != nil {
			log.Fatal(err)
		}
	}
	var nSent, nPairs, nDevPairs, nUnplaced int
	for _, f := range files {
		name := filepath.Base(f)
		all, err := lines(f)
		if err != nil {
			log.Fatal(err)
		}
		devLines, err := lines(filepath.Join(*dev, name))
		if err != nil {
			log.Fatal(err)
		}
		inDev := map[string]bool{}
		for _, l := range devLines {
			inDev[l] = true
		}
		var unseen []string
		sets := make([]map[string]bool, len(all))
		for i, l := range all {
			sets[i] = words(l)
			if !inDev[l] {
				unseen = append(unseen, l)
			}
		}
		pairs, err := lines(filepath.Join(*lingua, "word-pairs", name))
		if err != nil && !os.IsNotExist(err) {
			log.Fatal(err)
		}
		var kept []string
		for _, p := range pairs {
			w := strings.Fields(strings.ToLower(p))
			if len(w) != 2 {
				continue
			}
			found, seen := false, false
			for i, set := range sets {
				if set[w[0]] && set[w[1]] {
					found = true
					seen = seen || inDev[all[i]]
				}
			}
			switch {
			case !found:
				nUnplaced++
			case seen:
				nDevPairs++
			default:
				kept = append(kept, p)
			}
		}
		for dir, ls := range map[string][]string{"sentences": unseen, "word-pairs": kept} {
			if len(ls) == 0 {
				continue
			}
			if err := os.WriteFile(filepath.Join(*out, dir, name), []byte(strings.Join(ls, "\n")+"\n"), 0o644); err != nil {
				log.Fatal(err)
			}
		}
		nSent += len(unseen)
		nPairs += len(kept)
	}
	fmt.Fprintf(os.Stderr, "%d sentences not in the development files; %d word pairs from them only (%d from development sentences and %d that no sentence holds left out)\n", nSent, nPairs, nDevPairs, nUnplaced)
}
