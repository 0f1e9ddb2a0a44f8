// Command ngrams turns lingua-go's n-gram models (github.com/pemistahl/lingua-go v1.4.0,
// Apache-2.0; character 1- to 5-grams of 75 languages counted on the Leipzig corpora) into the
// compact n-gram table that parley's language detector ships (internal/analysis/language,
// ngrams.bin.gz). For every language and n-gram order it keeps the -top most frequent n-grams
// by joint probability (lingua stores P(last letter | the letters before), so the joint one is
// the product along the prefixes) and writes them front-coded with their quantised
// -log(joint probability). It is run by `go generate ./internal/analysis/language`; it lives in
// this separate module so that parley's own go.mod does not depend on lingua-go.
//
//	cd internal/analysis/tools/langbench && go run ./ngrams -out ../../language/ngrams.bin.gz
package main

import (
	"archive/zip"
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/pemistahl/lingua-go/serialization"
	"google.golang.org/protobuf/proto"
)

var orderNames = []string{"unigram", "bigram", "trigram", "quadrigram", "fivegram"}

func main() {
	out := flag.String("out", "ngrams.bin.gz", "output file")
	dir := flag.String("models", "", "lingua-go's language-models folder (default: from the module cache via go list)")
	quant := flag.Float64("quant", 4, "resolution of the stored -log(p): round(-ln p * quant)")
	check := flag.String("check", "", "instead of writing the table, check a folder of <code>.txt sentences against lingua's full 5-gram lists (could lingua have been trained on them?)")
	tops := flag.String("top", "300,2500,15000,30000,30000", "n-grams kept per language for orders 1..5")
	flag.Parse()
	if *dir == "" {
		b, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/pemistahl/lingua-go").Output()
		if err != nil {
			log.Fatalf("go list lingua-go: %v", err)
		}
		*dir = filepath.Join(strings.TrimSpace(string(b)), "language-models")
	}
	if *check != "" {
		checkOverlap(*dir, *check)
		return
	}
	var top []int
	for _, s := range strings.Split(*tops, ",") {
		n, err := strconv.Atoi(s)
		if err != nil {
			log.Fatal(err)
		}
		top = append(top, n)
	}
	for len(top) < 5 {
		top = append(top, 0)
	}
	ents, err := os.ReadDir(*dir)
	if err != nil {
		log.Fatal(err)
	}
	var langs []string
	for _, e := range ents {
		if e.IsDir() {
			langs = append(langs, e.Name())
		}
	}
	sort.Strings(langs)
	type val struct {
		lang uint8
		q    uint32
	}
	table := map[string][]val{}
	for li, lang := range langs {
		joint := map[string]float64{}
		for o, name := range orderNames {
			probs, err := read(filepath.Join(*dir, lang, name+"s.pb.bin.zip"))
			if err != nil {
				if os.IsNotExist(err) {
					continue // Chinese and Japanese have unigrams only
				}
				log.Fatal(err)
			}
			type kv struct {
				g string
				p float64
			}
			var all []kv
			for g, p := range probs {
				if o > 0 {
					r := []rune(g)
					pp, ok := joint[string(r[:len(r)-1])]
					if !ok {
						continue
					}
					p *= pp
				}
				all = append(all, kv{g, p})
			}
			for _, x := range all {
				joint[x.g] = x.p
			}
			// Renormalise the order: the products above do not sum to one exactly.
			var sum float64
			for _, x := range all {
				sum += x.p
			}
			sort.Slice(all, func(i, j int) bool {
				if all[i].p != all[j].p {
					return all[i].p > all[j].p
				}
				return all[i].g < all[j].g
			})
			if len(all) > top[o] {
				all = all[:top[o]]
			}
			for _, x := range all {
				q := math.Round(-math.Log(x.p/sum) * *quant)
				table[x.g] = append(table[x.g], val{uint8(li), uint32(q)})
			}
		}
	}
	keys := make([]string, 0, len(table))
	entries := 0
	for g, v := range table {
		keys = append(keys, g)
		entries += len(v)
	}
	sort.Strings(keys)
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	bw := bufio.NewWriter(zw)
	put := func(v uint64) {
		var b [binary.MaxVarintLen64]byte
		bw.Write(b[:binary.PutUvarint(b[:], v)])
	}
	bw.WriteString("PLNG1")
	put(uint64(*quant))
	put(uint64(len(langs)))
	for _, l := range langs {
		put(uint64(len(l)))
		bw.WriteString(l)
	}
	put(uint64(len(keys)))
	prev := ""
	for _, g := range keys {
		c := 0
		for c < len(g) && c < len(prev) && g[c] == prev[c] {
			c++
		}
		put(uint64(c))
		put(uint64(len(g) - c))
		bw.WriteString(g[c:])
		prev = g
		v := table[g]
		put(uint64(len(v)))
		for _, x := range v {
			bw.WriteByte(x.lang)
			put(uint64(x.q))
		}
	}
	if err := bw.Flush(); err != nil {
		log.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	st, _ := os.Stat(*out)
	fmt.Fprintf(os.Stderr, "%d languages, %d n-grams, %d entries -> %s (%d bytes)\n", len(langs), len(keys), entries, *out, st.Size())
}

// read returns one lingua model file's n-grams with their stored probabilities.
func read(path string) (map[string]float64, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	if len(zr.File) != 1 {
		return nil, fmt.Errorf("%s: %d files", path, len(zr.File))
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, err
	}
	var m serialization.SerializableLanguageModel
	if err := proto.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string]float64{}
	for _, s := range m.NgramSets {
		for _, g := range s.Ngrams {
			out[g] = s.Probability
		}
	}
	return out, nil
}

// checkOverlap reports, per language, how many sentences have every 5-gram of letters (as
// lingua counts them: lowercased, letters of that language's alphabet) in lingua's full 5-gram
// list. A sentence with one 5-gram missing was certainly not in lingua's training text; the
// others may or may not have been.
func checkOverlap(models, sentences string) {
	files, err := filepath.Glob(filepath.Join(sentences, "*.txt"))
	if err != nil || len(files) == 0 {
		log.Fatalf("no sentences in %s", sentences)
	}
	var total, covered, skipped int
	for _, f := range files {
		lang := strings.TrimSuffix(filepath.Base(f), ".txt")
		five, err := read(filepath.Join(models, lang, "fivegrams.pb.bin.zip"))
		if err != nil {
			skipped++ // Chinese and Japanese: unigrams only
			continue
		}
		uni, err := read(filepath.Join(models, lang, "unigrams.pb.bin.zip"))
		if err != nil {
			log.Fatal(err)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			log.Fatal(err)
		}
		n, c := 0, 0
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if line == "" {
				continue
			}
			n++
			rs := []rune(strings.ToLower(line))
			all := true
			for i := 0; i+5 <= len(rs) && all; i++ {
				ok := true
				for _, r := range rs[i : i+5] {
					if _, in := uni[string(r)]; !in {
						ok = false
						break
					}
				}
				if ok {
					if _, in := five[string(rs[i:i+5])]; !in {
						all = false
					}
				}
			}
			if all {
				c++
			}
		}
		fmt.Printf("%s %d/%d sentences have all their 5-grams in lingua's list\n", lang, c, n)
		total += n
		covered += c
	}
	fmt.Printf("all: %d of %d sentences (%.1f%%) have every 5-gram in lingua's lists (the rest were certainly not in its training text); %d languages without 5-grams skipped\n", covered, total, 100*float64(covered)/float64(total), skipped)
}
