//go:build !amd64

package dict

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"
)

// storeOverwrite: see overwrite_amd64.go. Not called off amd64 (goReads is
// false there); kept so that the package builds everywhere.
func storeOverwrite(note *uint64, seq *uint32, val unsafe.Pointer, noted, was, sum uint64, q uint32) {
	atomic.StoreUint64((*uint64)(unsafe.Add(unsafe.Pointer(note), 8)), was)
	atomic.StoreUint64(note, noted)
	atomic.StoreUint32(seq, q+1)
	binary.LittleEndian.PutUint64(unsafe.Slice((*byte)(val), 8), sum)
	atomic.StoreUint32(seq, q+2)
	atomic.StoreUint64(note, 0)
}
