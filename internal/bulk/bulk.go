// Package bulk copies large messages between private and shared memory.
package bulk

import "github.com/shmkit/shmkit/internal/cbind"

// MaxMove is the largest copy made in Go; larger ones go to the C
// library's memcpy. Go cannot preempt a goroutine inside the string move,
// so a stop-the-world waits for the rest of one (about 60 µs for 1 MiB
// here, as for Go's own copy of that size); a goroutine inside a cgo call
// does not hold one up, and at these sizes the call's cost is lost in the
// copy's.
const MaxMove = 1 << 20

// Copy copies min(len(dst), len(src)) bytes from src to dst, which must
// not overlap. Up to MaxMove bytes on amd64 it is one REP MOVSB, or on
// Intel processors with AVX2 a loop of 32-byte vector moves (vectorMoves).
// On processors with fast string moves (ERMS) the string move writes whole
// cache lines without first reading them, so lines that a peer's cache
// holds are not fetched from it, which is what made C's memcpy faster than
// Go's copy into a ring the receiver has just read on an AMD machine. It
// runs in Go, so such a copy makes no cgo call, which the runtime's sysmon
// would take the processor from.
func Copy(dst, src []byte) {
	n := min(len(dst), len(src))
	switch {
	case n == 0:
	case n > MaxMove:
		cbind.Copy(dst[:n], src[:n])
	default:
		copyBytes(dst[:n], src[:n])
	}
}
