//go:build !amd64

package bulk

import "unsafe"

// PrefetchForWrite does nothing here (see the amd64 version).
func PrefetchForWrite(p unsafe.Pointer, lines int) {}

func copyBytes(dst, src []byte) { copy(dst, src) }
