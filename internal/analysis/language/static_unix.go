//go:build unix

package language

import (
	"syscall"
	"unsafe"
)

// staticSlice returns a zeroed slice of n Ts, with capacity n, for tables that live as long as
// the process (the shipped models): in memory mapped from the system rather than the Go heap,
// so that the collector neither scans them nor counts them when it sets the next heap goal.
// With GOGC at 100 the heap may grow to twice what is live before a collection; 48 MB of
// models in the heap let it grow by 48 MB more than the server's own work needs. T must hold
// no pointers. Pages never written cost no memory.
func staticSlice[T any](n int) []T {
	var zero T
	size := int(unsafe.Sizeof(zero)) * n
	if n == 0 || size == 0 {
		return make([]T, n)
	}
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]T, n)
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n)
}
