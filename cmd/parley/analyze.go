package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/parleyhq/parley/internal/analysis"
	"github.com/parleyhq/parley/internal/analysis/eval"
	"github.com/parleyhq/parley/internal/analysis/pipeline"
	cv "github.com/parleyhq/parley/internal/conversation"
)

// cmdAnalyze re-runs the analysis of stored conversations (after the topics changed, say),
// in this process, with a progress bar on a terminal.
func cmdAnalyze(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("analyze", stderr)
	var db dbFlags
	db.register(fs)
	assistant := fs.String("assistant", "", "only this assistant's conversations (default: every assistant)")
	since := fs.String("since", "", "only conversations with messages since this date (YYYY-MM-DD or RFC 3339)")
	all := fs.Bool("all", false, "every conversation (required when neither --assistant nor --since narrows the run)")
	workers := fs.Int("workers", 2, "conversations analysed at once")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	var from *time.Time
	if *since != "" {
		t, err := time.Parse(time.DateOnly, *since)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, *since); err != nil {
				return usageError{"analyze: --since must be YYYY-MM-DD or RFC 3339"}
			}
		}
		from = &t
	}
	if *assistant == "" && from == nil && !*all {
		return usageError{"analyze: say --assistant ID, --since DATE or --all"}
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	var assistants []cv.Assistant
	if *assistant != "" {
		a, err := st.Assistant(ctx, *assistant)
		if err != nil {
			return fmt.Errorf("analyze: assistant %q: %w", *assistant, err)
		}
		assistants = []cv.Assistant{a}
	} else if assistants, err = st.Assistants(ctx); err != nil {
		return err
	}
	filter := cv.Filter{LastFrom: from, Sort: cv.SortOrd, Limit: cv.MaxLimit}
	total := int64(0)
	for _, a := range assistants {
		f := filter
		f.Limit = 1
		page, err := st.Conversations(ctx, a.ID, f)
		if err != nil {
			return err
		}
		total += page.Count
	}
	bar := newBar(total, "analysing", stderr)
	p := &pipeline.Pipeline{Store: st, Analyzer: analysis.New()}
	var done, failed atomic.Int64
	type item struct{ assistant, id string }
	work := make(chan item)
	var wg sync.WaitGroup
	for range max(1, *workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				if err := p.Analyze(ctx, it.assistant, it.id); err != nil && ctx.Err() == nil {
					failed.Add(1)
					fmt.Fprintf(stderr, "analyze %s: %v\n", it.id, err)
				}
				done.Add(1)
				_ = bar.Add(1)
			}
		}()
	}
	err = func() error {
		defer close(work)
		for _, a := range assistants {
			f := filter
			for {
				page, err := st.Conversations(ctx, a.ID, f)
				if err != nil {
					return err
				}
				for _, c := range page.Items {
					select {
					case work <- item{a.ID, c.ID}:
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				if page.NextCursor == nil {
					break
				}
				f.Cursor = page.NextCursor
			}
		}
		return nil
	}()
	wg.Wait()
	_ = bar.Finish()
	fmt.Fprintf(stdout, "analysed %d conversations (%d failed)\n", done.Load()-failed.Load(), failed.Load())
	if err != nil {
		return err
	}
	if failed.Load() > 0 {
		return fmt.Errorf("analyze: %d conversations failed", failed.Load())
	}
	return nil
}

// newBar is a progress bar on a terminal, and plain lines every 10% elsewhere.
func newBar(total int64, what string, w io.Writer) *progressbar.ProgressBar {
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return progressbar.NewOptions64(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(what),
				progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionThrottle(100*time.Millisecond))
		}
	}
	return progressbar.NewOptions64(total, progressbar.OptionSetWriter(io.Discard))
}

// cmdEval measures an analyzer on labelled files of the formats in the shared test data.
func cmdEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageError{"usage: parley eval sentiment|language|topics|flags --file PATH"}
	}
	what := args[0]
	fs := newFlagSet("eval "+what, stderr)
	var files multiFlag
	fs.Var(&files, "file", "the labelled data (repeat for several sentiment files; a folder of <iso>.txt files for language)")
	quick := fs.Bool("quick", false, "skip cross-validation (sentiment, language) and measure only the shipped models")
	errorsTo := fs.String("errors", "", "language: also write the held-out errors (with --quick, the shipped model's) to this file (tab-separated: sentence, words or pair; label; answer; text)")
	if err := parse(fs, args[1:], 0); err != nil {
		return err
	}
	if len(files) == 0 {
		return usageError{"eval: --file is required"}
	}
	var report fmt.Stringer
	var err error
	switch what {
	case "sentiment":
		report, err = eval.Sentiment(files, eval.SentimentOptions{SkipCV: *quick})
	case "language":
		report, err = evalLanguage(files[0], *quick, *errorsTo)
	case "topics":
		report, err = eval.Topics(files[0], eval.TopicOptions{})
	case "flags":
		report, err = eval.Flags(files[0], eval.FlagsOptions{})
	default:
		return usageError{fmt.Sprintf("eval: unknown analyzer %q (sentiment, language, topics, flags)", what)}
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, report.String())
	return nil
}

// evalLanguage runs eval.Language, writing its held-out errors to errorsTo unless it is "".
func evalLanguage(dir string, quick bool, errorsTo string) (*eval.LanguageReport, error) {
	opt := eval.LanguageOptions{SkipCV: quick}
	if errorsTo == "" {
		return eval.Language(dir, opt)
	}
	f, err := os.Create(errorsTo)
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriter(f)
	opt.Errors = w
	report, err := eval.Language(dir, opt)
	return report, errors.Join(err, w.Flush(), f.Close())
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
