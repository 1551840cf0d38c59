//go:build race

package race

import "sync/atomic"

// The race detector does not model atomics on memory outside the Go heap,
// such as a shared mapping, nor anything done in assembly or another
// process. Every release writes, and every acquire reads, one atomic word
// in the heap, which it models as a release and an acquire: what a lock or
// a semaphore hands on in this process is then ordered for the receiver, as
// cgo calls are ordered among themselves.
var raceToken atomic.Uint64

// Acquire marks, for the race detector, that a lock or a semaphore unit
// was taken through shared memory.
func Acquire() { raceToken.Load() }

// Release marks that one is about to be given back.
func Release() { raceToken.Add(1) }
