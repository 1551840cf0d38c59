//go:build cgo && linux && amd64

package robust

import "unsafe"

// threadPointer returns the thread pointer (%fs:0 on amd64, the x86-64 TLS
// ABI): an identity of the OS thread that costs no system call.
func threadPointer() uintptr

// LockPlain is glibc's robust lock of a free mutex m for the calling
// thread, which it finds in table (internal/cbind/robust.c's; nil: none),
// if m's __kind is kind; see robust.go.
//
//go:noescape
func LockPlain(m, table unsafe.Pointer, kind Kind) Code

// UnlockPlain is glibc's robust unlock of m by the calling thread, which it
// finds in table, if m's __kind is kind and the thread holds m at one level
// in the plain state; see robust.go.
//
//go:noescape
func UnlockPlain(m, table unsafe.Pointer, kind Kind) Code
