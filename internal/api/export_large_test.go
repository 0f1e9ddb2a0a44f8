package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/apitest"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/demo"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

// generate writes n demo conversations (a third with metadata) of
// one assistant straight into the store (one message each), in big batches.
func generate(t testing.TB, st store.Store, assistantID string, seed int64, n int) {
	t.Helper()
	g := demo.NewGenerator(seed, time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), 90*24*time.Hour)
	g.MinMessages, g.MaxMessages = 1, 1
	const batchSize = 2500
	batch := make([]cv.NewConversation, 0, batchSize)
	for i := range n {
		c := g.Next()
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		batch = append(batch, c)
		if len(batch) == batchSize || i == n-1 {
			if _, err := st.CreateConversations(context.Background(), assistantID, batch); err != nil {
				t.Fatal(err)
			}
			clear(batch)
			batch = batch[:0]
		}
	}
}

// streamStats is what one export cost.
type streamStats struct {
	rows, bytes    int64
	peakHeapGrowth uint64 // peak HeapInuse during the stream over HeapInuse before it
	allocPerRow    float64
	took           time.Duration
}

func (s streamStats) String() string {
	return fmt.Sprintf("%d rows, %.1f MB in %s (%.0f rows/s); peak heap growth %.1f MB; %.0f bytes allocated per row",
		s.rows, float64(s.bytes)/1e6, s.took.Round(time.Millisecond), float64(s.rows)/s.took.Seconds(),
		float64(s.peakHeapGrowth)/1e6, s.allocPerRow)
}

// measureExport streams an export and discards it, sampling the heap (server and client share
// this process) every few milliseconds.
func measureExport(t *testing.T, e *apitest.Env, token, query string) streamStats {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(3 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			}
		}
	})
	start := time.Now()
	req, _ := http.NewRequest("GET", e.URL+exportP+"?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("export: %d", res.StatusCode)
	}
	var st streamStats
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		st.bytes += int64(n)
		st.rows += int64(bytes.Count(buf[:n], []byte{'\n'}))
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	res.Body.Close()
	st.took = time.Since(start)
	close(stop)
	wg.Wait()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if peak > before.HeapInuse {
		st.peakHeapGrowth = peak - before.HeapInuse
	}
	st.allocPerRow = float64(after.TotalAlloc-before.TotalAlloc) / float64(max(st.rows, 1))
	return st
}

// TestExportLarge exports 100,000 conversations: memory stays flat (the same peak as for
// 10,000), and the CSV parses back to the rows the list endpoint answers.
func TestExportLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("exports 100,000 conversations")
	}
	// Not parallel: the heap of this process is what it measures.
	st := enginetest.SQLite(t)
	e := apitest.Start(t, func(testing.TB) store.Store { return st }, nil)
	const big, small = 100_000, 10_000
	start := time.Now()
	generate(t, st, e.A.ID, 1, big)
	generate(t, st, e.B.ID, 2, small)
	t.Logf("generated %d conversations in %s", big+small, time.Since(start).Round(time.Millisecond))

	smallCSV := measureExport(t, e, e.B.Read, "format=csv")
	bigCSV := measureExport(t, e, e.A.Read, "format=csv")
	bigNDJSON := measureExport(t, e, e.A.Read, "format=ndjson")
	t.Logf("CSV of 10,000:     %s", smallCSV)
	t.Logf("CSV of 100,000:    %s", bigCSV)
	t.Logf("NDJSON of 100,000: %s", bigNDJSON)
	if smallCSV.rows != small+1 || bigCSV.rows < big+1 || bigNDJSON.rows != big {
		t.Errorf("rows: %d, %d, %d", smallCSV.rows, bigCSV.rows, bigNDJSON.rows)
	}
	const bound = 64 << 20
	for _, s := range []streamStats{smallCSV, bigCSV, bigNDJSON} {
		if s.peakHeapGrowth > bound {
			t.Errorf("the heap grew by %.1f MB during an export of %d rows; the bound is %d MB", float64(s.peakHeapGrowth)/1e6, s.rows, bound>>20)
		}
	}
	// Ten times the rows, not ten times the memory.
	if bigCSV.peakHeapGrowth > 2*smallCSV.peakHeapGrowth+16<<20 {
		t.Errorf("peak heap growth scales with the rows: %.1f MB for 10,000, %.1f MB for 100,000",
			float64(smallCSV.peakHeapGrowth)/1e6, float64(bigCSV.peakHeapGrowth)/1e6)
	}

	// The CSV parses back to the list's rows: every id in the list's order, and a sample
	// cell by cell against the detail endpoint.
	req, _ := http.NewRequest("GET", e.URL+exportP+"?format=csv&sort=ord", nil)
	req.Header.Set("Authorization", "Bearer "+e.A.Read)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	rd := csv.NewReader(res.Body)
	rd.ReuseRecord = true
	header, err := rd.Read()
	if err != nil {
		t.Fatal(err)
	}
	header = slices.Clone(header)
	var keys []string
	for _, h := range header {
		if k, ok := strings.CutPrefix(h, "metadata."); ok {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		t.Errorf("no metadata columns in %v", header)
	}
	ids := make([]string, 0, big)
	sample := map[string][]string{}
	for i := 0; ; i++ {
		rec, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("row %d: %v", i+1, err)
		}
		if len(rec) != len(header) {
			t.Fatalf("row %d has %d cells, the header %d", i+1, len(rec), len(header))
		}
		ids = append(ids, rec[0])
		if i%997 == 0 {
			sample[rec[0]] = slices.Clone(rec)
		}
	}
	start = time.Now()
	var listed []string
	for _, it := range listAll(t, e, e.A.Read, q("sort", "ord")) {
		listed = append(listed, it["id"].(string))
	}
	t.Logf("walked the list (%d conversations) in %s", len(listed), time.Since(start).Round(time.Millisecond))
	if !slices.Equal(ids, listed) {
		t.Errorf("the CSV has %d ids, the list %d; they differ", len(ids), len(listed))
	}
	crlf := strings.NewReplacer("\r\n", "\n")
	for id, rec := range sample {
		want := expectedCells(detail(t, e, e.A.Read, id), keys)
		for j := range want {
			if w := crlf.Replace(want[j]); rec[j] != w {
				t.Errorf("%s column %s: %q, want %q", id, header[j], rec[j], w)
			}
		}
	}
	if len(sample) < 100 {
		t.Errorf("only %d sampled rows", len(sample))
	}
}
