//go:build cgo

package cbind

/*
#include <stdint.h>
int shmkit_go_robust_register(uintptr_t tp);
void *shmkit_go_robust_table(void);
int shmkit_go_mutex_levels(void *m);
void shmkit_go_robust_layout(uint64_t out[9]);
int shmkit_go_robust_selftest(int32_t *kind_errorcheck, int32_t *kind_recursive);
*/
import "C"

import (
	"syscall"
	"unsafe"

	"github.com/shmkit/shmkit/internal/layout"
)

// RobustThreads is the table of threads robust.c keeps for package
// internal/robust (struct robust_thread[ROBUST_THREADS]).
func RobustThreads() unsafe.Pointer { return C.shmkit_go_robust_table() }

// MutexLevels is how many times the holder of recursive mutex m has locked
// it (glibc's __count); for the holder only.
func MutexLevels(m *layout.Mutex) int { return int(C.shmkit_go_mutex_levels(unsafe.Pointer(m))) }

// RobustRegister enters the calling thread, whose thread pointer is tp,
// into that table.
func RobustRegister(tp uintptr) error {
	if rc := C.shmkit_go_robust_register(C.uintptr_t(tp)); rc != 0 {
		return syscall.Errno(rc)
	}
	return nil
}

// RobustLayout returns the offsets of pthread_mutex_t's __lock, __count,
// __owner, __nusers, __kind, __list.__prev and __list.__next, of
// list_op_pending in struct robust_list_head, and the size of a table entry.
func RobustLayout() [9]uint64 {
	var out [9]C.uint64_t
	C.shmkit_go_robust_layout(&out[0])
	var r [9]uint64
	for i, v := range out {
		r[i] = uint64(v)
	}
	return r
}

// RobustSelfTest checks on the calling thread that glibc links robust
// mutexes as internal/robust expects, and returns the __kind values of an
// error-checking and a recursive robust process-shared mutex.
func RobustSelfTest() (kindErrorCheck, kindRecursive int32, err error) {
	var ke, kr C.int32_t
	if rc := C.shmkit_go_robust_selftest(&ke, &kr); rc != 0 {
		return 0, 0, syscall.Errno(rc)
	}
	return int32(ke), int32(kr), nil
}
