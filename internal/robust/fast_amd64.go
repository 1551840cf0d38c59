//go:build cgo && linux && amd64

package robust

import "unsafe"

// threadPointer returns the thread pointer (%fs:0 on amd64, the x86-64 TLS
// ABI): an identity of the OS thread that costs no system call.
func threadPointer() uintptr

// lockFast is glibc's robust lock of a free mutex m for thread tid whose
// robust list head is head: 0 locked; 1 the lock word was not 0, nothing
// changed; 2 the mutex was not recoverable and was released again; 3 the
// same, and waiters must be woken.
//
//go:noescape
func lockFast(m unsafe.Pointer, head uintptr, tid uint32) uint32

// unlockFast is glibc's robust unlock of m, held by the calling thread
// whose list head is head. It returns the old lock word, so the caller can
// wake a waiter.
//
//go:noescape
func unlockFast(m unsafe.Pointer, head uintptr) uint32
