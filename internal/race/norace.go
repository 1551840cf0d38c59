//go:build !race

// Package race tells the race detector about synchronisation it cannot see.
package race

// Acquire marks, for the race detector, that a lock or a semaphore unit
// was taken through shared memory.
func Acquire() {}

// Release marks that one is about to be given back.
func Release() {}
