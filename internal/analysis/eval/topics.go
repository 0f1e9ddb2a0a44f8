package eval

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/analysis/topic"
	"github.com/parleyhq/parley/internal/settings"
)

// TopicOptions tune Topics.
type TopicOptions struct {
	Examples int   // examples per topic (default 10)
	Draws    int   // random draws of the examples (default 10)
	Seed     int64 // first seed (default 1)
	// Field to use as the topic: "category" (default) or "intent".
	Field string
}

// TopicReport holds the figures of Topics.
type TopicReport struct {
	File               string
	Topics, Rows       int
	Examples, Draws    int
	Mean, Min, Max     float64 // accuracy over the draws on rows not among the examples
	TrainTime, RowTime time.Duration
	WorstTopics        []LangAcc
	Elapsed            time.Duration
}

// Topics measures topic classification: for each draw, every topic (category) gets Examples
// random utterances as its examples (name = the category, no description), and the classifier
// is measured on all the other utterances.
func Topics(path string, opt TopicOptions) (*TopicReport, error) {
	t0 := time.Now()
	rows, err := ReadSupportCSV(path)
	if err != nil {
		return nil, err
	}
	if opt.Examples <= 0 {
		opt.Examples = 10
	}
	if opt.Draws <= 0 {
		opt.Draws = 10
	}
	if opt.Seed == 0 {
		opt.Seed = 1
	}
	label := func(r SupportRow) string {
		if opt.Field == "intent" {
			return r.Intent
		}
		return r.Category
	}
	by := map[string][]int{}
	var names []string
	for i, r := range rows {
		l := label(r)
		if l == "" {
			continue
		}
		if _, ok := by[l]; !ok {
			names = append(names, l)
		}
		by[l] = append(by[l], i)
	}
	sort.Strings(names)
	rep := &TopicReport{File: path, Topics: len(names), Rows: len(rows), Examples: opt.Examples, Draws: opt.Draws, Min: 1}
	perOK := map[string]int{}
	perN := map[string]int{}
	var trainTime, rowTime time.Duration
	var nrows int
	for d := 0; d < opt.Draws; d++ {
		rng := rand.New(rand.NewSource(opt.Seed + int64(d)))
		used := map[int]bool{}
		var topics []settings.Topic
		for _, n := range names {
			idx := append([]int(nil), by[n]...)
			rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
			k := opt.Examples
			if k > len(idx) {
				k = len(idx)
			}
			t := settings.Topic{Name: n}
			for _, i := range idx[:k] {
				t.Examples = append(t.Examples, rows[i].Text)
				used[i] = true
			}
			topics = append(topics, t)
		}
		t1 := time.Now()
		c := topic.Train(topics)
		trainTime += time.Since(t1)
		ok, n := 0, 0
		t1 = time.Now()
		for i, r := range rows {
			l := label(r)
			if used[i] || l == "" {
				continue
			}
			n++
			perN[l]++
			if got, _ := c.Classify(r.Text); got == l {
				ok++
				perOK[l]++
			}
		}
		rowTime += time.Since(t1)
		nrows += n
		acc := frac(ok, n)
		rep.Mean += acc / float64(opt.Draws)
		if acc < rep.Min {
			rep.Min = acc
		}
		if acc > rep.Max {
			rep.Max = acc
		}
	}
	rep.TrainTime = trainTime / time.Duration(opt.Draws)
	if nrows > 0 {
		rep.RowTime = rowTime / time.Duration(nrows)
	}
	for _, n := range names {
		rep.WorstTopics = append(rep.WorstTopics, LangAcc{n, frac(perOK[n], perN[n])})
	}
	sort.Slice(rep.WorstTopics, func(i, j int) bool { return rep.WorstTopics[i].Accuracy < rep.WorstTopics[j].Accuracy })
	if len(rep.WorstTopics) > 5 {
		rep.WorstTopics = rep.WorstTopics[:5]
	}
	rep.Elapsed = time.Since(t0)
	return rep, nil
}

// String prints the report.
func (r *TopicReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "topics: %s\n", r.File)
	fmt.Fprintf(&b, "  %d topics, %d utterances, %d examples a topic, %d random draws\n", r.Topics, r.Rows, r.Examples, r.Draws)
	fmt.Fprintf(&b, "  accuracy on utterances not among the examples: mean %.2f%%, min %.2f%%, max %.2f%%  (target: >= 85%%)\n", 100*r.Mean, 100*r.Min, 100*r.Max)
	var w []string
	for _, x := range r.WorstTopics {
		w = append(w, fmt.Sprintf("%s %.1f%%", x.Lang, 100*x.Accuracy))
	}
	fmt.Fprintf(&b, "  weakest topics: %s\n", strings.Join(w, ", "))
	fmt.Fprintf(&b, "  training %s a topic list, classifying %s an utterance; took %s\n", r.TrainTime.Round(time.Microsecond), r.RowTime.Round(time.Microsecond), r.Elapsed.Round(time.Millisecond))
	return b.String()
}
