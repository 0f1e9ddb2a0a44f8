package eval

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/analysis/flags"
)

// FlagsOptions tune Flags.
type FlagsOptions struct {
	// HumanIntents ask for a person (recall is measured on the first); default
	// contact_human_agent. NeutralIntents are left out of both counts; default
	// contact_customer_service.
	HumanIntents   []string
	NeutralIntents []string
	Keywords       []string // extra handoff keywords
	Misses         int      // how many missed / wrongly flagged utterances to list (default 8)
}

// FlagsReport holds the figures of Flags.
type FlagsReport struct {
	File                    string
	HumanRows, Caught       int
	OtherRows, FalseFlagged int
	Recall, FalseRate       float64
	WorstIntents            []LangAcc // intents with the highest false-flag rate
	Missed, Wrong           []string
	Elapsed                 time.Duration
}

// Flags measures handoff-request detection on the support CSV: recall on the utterances of
// the human-asking intents and the share of utterances of the other intents (but the neutral
// ones) that are flagged.
func Flags(path string, opt FlagsOptions) (*FlagsReport, error) {
	t0 := time.Now()
	rows, err := ReadSupportCSV(path)
	if err != nil {
		return nil, err
	}
	if len(opt.HumanIntents) == 0 {
		opt.HumanIntents = []string{"contact_human_agent"}
	}
	if opt.NeutralIntents == nil {
		opt.NeutralIntents = []string{"contact_customer_service"}
	}
	if opt.Misses == 0 {
		opt.Misses = 8
	}
	in := func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	}
	r := &FlagsReport{File: path}
	perN, perF := map[string]int{}, map[string]int{}
	for _, row := range rows {
		if row.Intent == "" {
			return nil, fmt.Errorf("%s: the flags evaluation needs an intent column", path)
		}
		flagged := flags.IsHandoffRequest(row.Text, opt.Keywords)
		switch {
		case in(opt.HumanIntents, row.Intent):
			r.HumanRows++
			if flagged {
				r.Caught++
			} else if len(r.Missed) < opt.Misses {
				r.Missed = append(r.Missed, row.Text)
			}
		case in(opt.NeutralIntents, row.Intent):
		default:
			r.OtherRows++
			perN[row.Intent]++
			if flagged {
				r.FalseFlagged++
				perF[row.Intent]++
				if len(r.Wrong) < opt.Misses {
					r.Wrong = append(r.Wrong, row.Intent+": "+row.Text)
				}
			}
		}
	}
	r.Recall = frac(r.Caught, r.HumanRows)
	r.FalseRate = frac(r.FalseFlagged, r.OtherRows)
	for k, n := range perN {
		if perF[k] > 0 {
			r.WorstIntents = append(r.WorstIntents, LangAcc{k, frac(perF[k], n)})
		}
	}
	sort.Slice(r.WorstIntents, func(i, j int) bool { return r.WorstIntents[i].Accuracy > r.WorstIntents[j].Accuracy })
	r.Elapsed = time.Since(t0)
	return r, nil
}

// String prints the report.
func (r *FlagsReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "handoff requests (visitor asked for a human): %s\n", r.File)
	fmt.Fprintf(&b, "  recall on human-agent requests: %d/%d = %.2f%%  (target: >= 90%%)\n", r.Caught, r.HumanRows, 100*r.Recall)
	fmt.Fprintf(&b, "  other intents flagged: %d/%d = %.2f%%  (target: <= 5%%)\n", r.FalseFlagged, r.OtherRows, 100*r.FalseRate)
	var w []string
	for _, x := range r.WorstIntents {
		w = append(w, fmt.Sprintf("%s %.1f%%", x.Lang, 100*x.Accuracy))
	}
	if len(w) > 0 {
		fmt.Fprintf(&b, "  intents with flags: %s\n", strings.Join(w, ", "))
	}
	for _, s := range r.Missed {
		fmt.Fprintf(&b, "  missed: %q\n", s)
	}
	for _, s := range r.Wrong {
		fmt.Fprintf(&b, "  flagged: %q\n", s)
	}
	fmt.Fprintf(&b, "  took %s\n", r.Elapsed.Round(time.Millisecond))
	return b.String()
}
