//go:build cgo && linux && amd64

package robust

import "unsafe"

// threadPointer returns the thread pointer (%fs:0 on amd64, the x86-64 TLS
// ABI): an identity of the OS thread that costs no system call.
func threadPointer() uintptr

// lockCurrent is glibc's robust lock of a free mutex m for the calling
// thread, which it finds in table (internal/cbind/robust.c's), if m's __kind is kind:
// one of the lock* results.
//
//go:noescape
func lockCurrent(m, table unsafe.Pointer, kind int32) uint32

// unlockCurrent is glibc's robust unlock of m by the calling thread, which
// it finds in table, if m's __kind is kind and the thread holds m at one
// level in the plain state: one of the unlock* results.
//
//go:noescape
func unlockCurrent(m, table unsafe.Pointer, kind int32) uint32
