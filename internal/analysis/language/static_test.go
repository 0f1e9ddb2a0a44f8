package language

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestShippedModelOutsideHeap loads the shipped model in a process of its own and reads the
// Go heap in use: its tables (about 48 MB) are outside the heap (staticSlice), so that they
// do not raise the collector's heap goal. In the heap it reads about 55 MB.
func TestShippedModelOutsideHeap(t *testing.T) {
	if os.Getenv("PARLEY_LANGUAGE_HEAP_CHILD") == "1" {
		if Default().Detect("Where is my order? It should have arrived yesterday.") != "en" {
			fmt.Println("detect failed")
			return
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Printf("heap-in-use %d\n", ms.HeapInuse)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestShippedModelOutsideHeap$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PARLEY_LANGUAGE_HEAP_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	_, after, ok := strings.Cut(string(out), "heap-in-use ")
	if !ok {
		t.Fatalf("child printed no heap figure:\n%s", out)
	}
	n, err := strconv.ParseInt(strings.Fields(after)[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Go heap in use with the shipped model loaded: %.1f MB", float64(n)/(1<<20))
	if runtime.GOOS == "linux" && n > 6<<20 {
		t.Errorf("Go heap in use %.1f MB with the shipped model loaded, want its tables outside the heap (under 6 MB)", float64(n)/(1<<20))
	}
}
