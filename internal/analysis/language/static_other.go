//go:build !unix

package language

// staticSlice returns a zeroed slice of n Ts (see static_unix.go; here in the Go heap).
func staticSlice[T any](n int) []T { return make([]T, n) }
