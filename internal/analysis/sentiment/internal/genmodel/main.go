// Command genmodel trains the shipped English sentiment model on the development sets in
// <repo>/../shared/testdata/sentiment (id<TAB>mean rating -4..4<TAB>text) and writes
// en_model.bin.gz beside the sentiment package. Run it with go generate.
package main

import (
	"flag"
	"log"
	"os"
	"path/filepath"

	"github.com/parleyhq/parley/internal/analysis/sentiment"
	"github.com/parleyhq/parley/internal/analysis/textutil/testdata"
)

func main() {
	out := flag.String("out", "en_model.bin.gz", "output file")
	flag.Parse()
	files := flag.Args()
	if len(files) == 0 {
		root, err := testdata.Shared()
		if err != nil {
			log.Fatal(err)
		}
		files = []string{
			filepath.Join(root, "sentiment", "movieReviewSnippets_GroundTruth.txt"),
			filepath.Join(root, "sentiment", "nytEditorialSnippets_GroundTruth.txt"),
		}
	}
	var ex []sentiment.Example
	for g, f := range files {
		rows, err := sentiment.ReadRatings(f)
		if err != nil {
			log.Fatal(err)
		}
		for _, r := range rows {
			ex = append(ex, sentiment.Example{Text: r.Text, Y: r.Rating / 4, Group: g, Doc: r.Document()})
		}
	}
	m := sentiment.New(nil).Train(ex, sentiment.TrainOptions{})
	fh, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Encode(fh); err != nil {
		log.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		log.Fatal(err)
	}
	log.Printf("%d examples, %d features (class model %d), A=%.2f, class biases neutral %.1f positive %.1f -> %s", len(ex), len(m.W), len(m.C), m.A, m.B[0], m.B[1], *out)
}
