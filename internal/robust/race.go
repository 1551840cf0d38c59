//go:build race

package robust

import "sync/atomic"

// The race detector cannot see the lock word change in assembly, nor in
// another process. Every unlock here writes, and every lock reads, one
// atomic word, which it models as a release and an acquire: what a lock
// hands to the next holder in this process is then ordered for it, as cgo
// calls are ordered among themselves.
var raceToken atomic.Uint64

// RaceAcquire marks, for the race detector, that a mutex was taken.
func RaceAcquire() { raceToken.Load() }

// RaceRelease marks that a mutex is about to be released.
func RaceRelease() { raceToken.Add(1) }
