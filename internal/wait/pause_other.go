//go:build !amd64

package wait

// Pause tells the processor that the caller is spinning; here it does
// nothing.
func Pause() {}
