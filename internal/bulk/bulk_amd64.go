package bulk

import "unsafe"

// step is the most one string move copies: between moves, Go may preempt
// the goroutine (it cannot inside one), so a stop-the-world waits for at
// most one step's copy, tens of microseconds.
const step = 1 << 20

func copyBytes(dst, src []byte) {
	for len(dst) > step {
		moveString(unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[0]), step)
		dst, src = dst[step:], src[step:]
	}
	moveString(unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[0]), uintptr(len(dst)))
}

//go:noescape
func moveString(dst, src unsafe.Pointer, n uintptr)
