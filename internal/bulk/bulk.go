// Package bulk copies large messages between private and shared memory.
package bulk

// Copy copies min(len(dst), len(src)) bytes from src to dst, which must
// not overlap. On amd64 it is one REP MOVSB: on processors with fast
// string moves (ERMS) that writes whole cache lines without first
// reading them, so lines that a peer's cache holds are not fetched from
// it, which is what makes C's memcpy faster than Go's copy into a ring
// the receiver has just read. It runs in Go, so a long copy holds no cgo
// call that the runtime would take its processor away from.
func Copy(dst, src []byte) {
	if n := min(len(dst), len(src)); n > 0 {
		copyBytes(dst[:n], src[:n])
	}
}
