package bulk

import "unsafe"

func copyBytes(dst, src []byte) {
	moveString(unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[0]), uintptr(len(dst)))
}

//go:noescape
func moveString(dst, src unsafe.Pointer, n uintptr)
