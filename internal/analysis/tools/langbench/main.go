// Command langbench measures the language identifiers parley considered and did not ship —
// lingua-go (all languages or a subset, high or low accuracy mode, preloaded or lazy) and
// whatlanggo — on a folder of <code>.txt sentence files, with the process's peak RSS. It is a
// separate module so that parley's own build does not pull their models in. Its ./ngrams command
// builds the n-gram table that parley does ship, from lingua-go's models (see ngrams/main.go).
//
//	cd internal/analysis/tools/langbench && go run . -dir ../../../../../shared/testdata/langid/sentences -engine lingua-high
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/abadojack/whatlanggo"
	"github.com/pemistahl/lingua-go"
)

func rss() string {
	b, _ := os.ReadFile("/proc/self/status")
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS") || strings.HasPrefix(l, "VmHWM") {
			out = append(out, strings.Join(strings.Fields(l), " "))
		}
	}
	return strings.Join(out, ", ")
}

func isNoSpace(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar)
}

// twoWords is textutil.FirstWords(s, 2), copied to keep this module standalone.
func twoWords(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	r := []rune(f[0])
	ns := 0
	for _, x := range r {
		if isNoSpace(x) {
			ns++
		}
	}
	if ns*2 > len(r) && len(r) > 4 {
		return string(r[:4])
	}
	if len(f) > 2 {
		f = f[:2]
	}
	return strings.Join(f, " ")
}

// subset: the languages a support desk meets most (25).
var subset = []lingua.Language{lingua.English, lingua.Spanish, lingua.French, lingua.German, lingua.Portuguese, lingua.Italian,
	lingua.Dutch, lingua.Russian, lingua.Ukrainian, lingua.Polish, lingua.Turkish, lingua.Arabic, lingua.Hindi, lingua.Chinese,
	lingua.Japanese, lingua.Korean, lingua.Swedish, lingua.Danish, lingua.Bokmal, lingua.Finnish, lingua.Czech, lingua.Greek,
	lingua.Romanian, lingua.Hungarian, lingua.Indonesian}

func main() {
	dir := flag.String("dir", "../../../../../shared/testdata/langid/sentences", "sentence folder")
	engine := flag.String("engine", "lingua-high", "lingua-high, lingua-low, whatlang")
	sub := flag.Bool("subset", false, "lingua: 25 common languages only (sentences of other languages are then skipped)")
	lazy := flag.Bool("lazy", false, "lingua: load models lazily instead of preloading")
	every := flag.Int("every", 1, "measure every n-th sentence")
	errorsFile := flag.String("errors", "", "instead: read the held-out errors that `parley eval language --errors F` wrote, and count how many this engine reads as the label, as parley's answer, or neither")
	flag.Parse()
	fmt.Printf("start: %s\n", rss())
	var detect func(string) string
	keep := map[string]bool{}
	t0 := time.Now()
	switch *engine {
	case "whatlang":
		detect = func(s string) string { return whatlanggo.DetectLang(s).Iso6391() }
	default:
		var b lingua.LanguageDetectorBuilder
		if *sub {
			b = lingua.NewLanguageDetectorBuilder().FromLanguages(subset...)
			for _, l := range subset {
				keep[strings.ToLower(l.IsoCode639_1().String())] = true
			}
		} else {
			b = lingua.NewLanguageDetectorBuilder().FromAllLanguages()
		}
		if *engine == "lingua-low" {
			b = b.WithLowAccuracyMode()
		}
		if !*lazy {
			b = b.WithPreloadedLanguageModels()
		}
		d := b.Build()
		detect = func(s string) string {
			l, ok := d.DetectLanguageOf(s)
			if !ok {
				return ""
			}
			return strings.ToLower(l.IsoCode639_1().String())
		}
	}
	runtime.GC()
	fmt.Printf("built in %s: %s\n", time.Since(t0).Round(time.Millisecond), rss())
	if *errorsFile != "" {
		crossCheck(*errorsFile, detect)
		return
	}
	files, _ := filepath.Glob(filepath.Join(*dir, "*.txt"))
	n, ok1, ok2 := 0, 0, 0
	t0 = time.Now()
	for _, f := range files {
		code := strings.TrimSuffix(filepath.Base(f), ".txt")
		if len(keep) > 0 && !keep[code] {
			continue
		}
		fh, err := os.Open(f)
		if err != nil {
			panic(err)
		}
		sc := bufio.NewScanner(fh)
		i := 0
		for sc.Scan() {
			i++
			if (i-1)%*every != 0 {
				continue
			}
			s := sc.Text()
			n++
			if detect(s) == code {
				ok1++
			}
			if detect(twoWords(s)) == code {
				ok2++
			}
		}
		fh.Close()
	}
	d := time.Since(t0)
	fmt.Printf("%s subset=%v lazy=%v: %d sentences, sentences %.2f%%, two words %.2f%%, %.0f detections/s\n",
		*engine, *sub, *lazy, n, 100*float64(ok1)/float64(n), 100*float64(ok2)/float64(n), float64(2*n)/d.Seconds())
	fmt.Printf("after: %s\n", rss())
}

// crossCheck reads parley's held-out errors (kind, label, parley's answer, text; tab-separated)
// and prints, per kind and for the commonest confusions of whole sentences, how many this
// engine reads as the label, as parley's answer, or as neither: errors whose text another
// detector also reads as parley did are candidates for doubtful labels.
func crossCheck(file string, detect func(string) string) {
	type tally struct{ n, label, ours, neither int }
	add := func(t *tally, label, ours, got string) {
		t.n++
		switch got {
		case label:
			t.label++
		case ours:
			t.ours++
		default:
			t.neither++
		}
	}
	f, err := os.Open(file)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	kinds := map[string]*tally{}
	pairs := map[string]*tally{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		p := strings.SplitN(sc.Text(), "\t", 4)
		if len(p) != 4 {
			continue
		}
		got := detect(p[3])
		if kinds[p[0]] == nil {
			kinds[p[0]] = &tally{}
		}
		add(kinds[p[0]], p[1], p[2], got)
		if p[0] == "sentence" {
			k := p[1] + ">" + p[2]
			if pairs[k] == nil {
				pairs[k] = &tally{}
			}
			add(pairs[k], p[1], p[2], got)
		}
	}
	line := func(name string, t *tally) {
		fmt.Printf("%-10s %5d  as the label %5d  as parley %5d  neither %5d\n", name, t.n, t.label, t.ours, t.neither)
	}
	for _, k := range []string{"sentence", "words"} {
		if kinds[k] != nil {
			line(k, kinds[k])
		}
	}
	keys := make([]string, 0, len(pairs))
	for k := range pairs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if pairs[keys[i]].n != pairs[keys[j]].n {
			return pairs[keys[i]].n > pairs[keys[j]].n
		}
		return keys[i] < keys[j]
	})
	for i, k := range keys {
		if i == 15 {
			break
		}
		line(k, pairs[k])
	}
}
