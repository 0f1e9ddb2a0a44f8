// Command genmodel trains the shipped language model from the development sentences in
// <repo>/../shared/testdata/langid/sentences (one file per ISO 639-1 code, a sentence a line)
// and writes model.bin.gz beside the language package. Run it with go generate, which first
// rebuilds ngrams.bin.gz: the model's biases are learnt with the n-gram table embedded when this
// command was built.
package main

import (
	"flag"
	"log"
	"os"

	"github.com/parleyhq/parley/internal/analysis/language"
	"github.com/parleyhq/parley/internal/analysis/textutil/testdata"
)

func main() {
	dir := flag.String("dir", "", "sentences folder (default <repo>/../shared/testdata/langid/sentences)")
	out := flag.String("out", "model.bin.gz", "output file")
	flag.Parse()
	if *dir == "" {
		root, err := testdata.Shared()
		if err != nil {
			log.Fatal(err)
		}
		*dir = root + "/langid/sentences"
	}
	samples, err := language.ReadSentences(*dir)
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	if err := language.TrainEncoded(samples, language.TrainOptions{}, f); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	st, _ := os.Stat(*out)
	log.Printf("%d samples -> %s (%d bytes)", len(samples), *out, st.Size())
}
