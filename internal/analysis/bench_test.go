package analysis

import (
	"testing"
)

// BenchmarkAnalyze analyses conversations of 8 messages on all cores (b.RunParallel); the
// conversations/s metric is the figure of docs/analysis.md.
func BenchmarkAnalyze(b *testing.B) {
	b.Run("cold", func(b *testing.B) { benchAnalyze(b, false) })
	b.Run("memo", func(b *testing.B) { benchAnalyze(b, true) })
}

// benchAnalyze: cold has no per-message memo (every message judged afresh: the honest
// figure for new text); memo has the default memo, as conversations analysed again after
// each burst of messages see it.
func benchAnalyze(b *testing.B, memo bool) {
	a := New()
	if !memo {
		a.Memo = nil
	}
	ins := SampleInputs(500)
	a.Analyze(ins[0]) // train the topic model once, as the cache would
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			a.Analyze(ins[i%len(ins)])
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conversations/s")
}

func BenchmarkIsHandoffRequest(b *testing.B) {
	for i := 0; i < b.N; i++ {
		IsHandoffRequest("Hi, I ordered a jacket last week and it still hasn't arrived, can I talk to someone?", nil)
	}
}
