package analysis

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

type refinerFunc func(ctx context.Context, in Input, r Result) (Result, error)

func (f refinerFunc) Refine(ctx context.Context, in Input, r Result) (Result, error) {
	return f(ctx, in, r)
}

func TestRefine(t *testing.T) {
	in := Input{Now: t0.Add(time.Hour), Messages: conv("v", "Where is my parcel? I want to speak to a human.", "ai", "Let me check.")}
	off := analyzer().Analyze(in)
	if !off.IsFlagged {
		t.Fatalf("offline flags %+v", off.Flags)
	}

	// Errors and slowness leave the offline result.
	for name, f := range map[string]refinerFunc{
		"error": func(context.Context, Input, Result) (Result, error) { return Result{Title: "x"}, errors.New("down") },
		"slow": func(ctx context.Context, _ Input, r Result) (Result, error) {
			<-ctx.Done()
			r.Title = "late"
			return r, nil
		},
	} {
		start := time.Now()
		r, err := Refine(context.Background(), f, 50*time.Millisecond, in, off)
		if err == nil || !reflect.DeepEqual(r, off) || time.Since(start) > 2*time.Second {
			t.Errorf("%s: %v %+v", name, err, r)
		}
	}

	// What a refiner says is kept within bounds: the title cut, flags strongest first with
	// flag_reason following them, the per-message insights offline.
	r, err := Refine(context.Background(), refinerFunc(func(_ context.Context, _ Input, r Result) (Result, error) {
		r.Title = strings.Repeat("Parcel ", 20)
		r.Messages = nil
		r.Flags = append([]Flag{{Kind: FlagOther, Reason: "Mentions a lawyer"}}, r.Flags...)
		r.IsFlagged, r.FlagReason = false, nil
		return r, nil
	}), time.Second, in, off)
	if err != nil {
		t.Fatal(err)
	}
	if utf8.RuneCountInString(r.Title) > MaxTitle || len(r.Messages) != len(off.Messages) {
		t.Errorf("title %q, %d insights", r.Title, len(r.Messages))
	}
	if !r.IsFlagged || r.Flags[len(r.Flags)-1].Kind != FlagOther || r.FlagReason == nil || *r.FlagReason != off.Flags[0].Reason {
		t.Errorf("flags %+v reason %v", r.Flags, r.FlagReason)
	}

	// The Analyzer's own Refiner runs in AnalyzeContext.
	a := *analyzer()
	a.Refiner = refinerFunc(func(_ context.Context, _ Input, r Result) (Result, error) { r.Title = "Refined"; return r, nil })
	if got := a.AnalyzeContext(context.Background(), in); got.Title != "Refined" {
		t.Errorf("AnalyzeContext title %q", got.Title)
	}
}
