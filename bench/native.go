//go:build cgo

package bench

/*
#cgo CFLAGS: -O2 -I${SRCDIR}/../cgo
#include <stdlib.h>
#include "native.h"
*/
import "C"

import (
	"fmt"
	"syscall"
	"unsafe"

	_ "github.com/shmkit/shmkit/internal/cbind" // links shmkit.c, which native.c calls
)

// The C workers: each parses its arguments in Go, then spends its whole
// run in one C call.
// cgoWorkers: this build has the C workers.
const cgoWorkers = true

var nativeRoles = map[Role]role{
	roleCStreamSend: func(args []string, ready func()) (string, error) {
		return named(args, ready, func(seg, name *C.char, n []int) (C.int, int64) {
			return C.native_stream_send(seg, name, C.long(n[0]), C.long(n[1])), 0
		})
	},
	roleCStreamRecv: func(args []string, ready func()) (string, error) {
		return named(args, ready, func(seg, name *C.char, n []int) (C.int, int64) {
			var s C.int64_t
			return C.native_stream_recv(seg, name, C.long(n[0]), C.long(n[1]), &s), int64(s)
		})
	},
	roleCPing: func(args []string, ready func()) (string, error) {
		return native(args, 1, ready, func(seg *C.char, n []int) (C.int, int64) {
			var s C.int64_t
			return C.native_ping(seg, C.long(n[0]), &s), int64(s)
		})
	},
	roleCPong: func(args []string, ready func()) (string, error) {
		return native(args, 1, ready, func(seg *C.char, n []int) (C.int, int64) {
			return C.native_pong(seg, C.long(n[0])), 0
		})
	},
	roleCFcSend: func(args []string, ready func()) (string, error) {
		return native(args, 2, ready, func(seg *C.char, n []int) (C.int, int64) {
			return C.native_fc_send(seg, C.long(n[0]), C.long(n[1])), 0
		})
	},
	roleCFcRecv: func(args []string, ready func()) (string, error) {
		return native(args, 2, ready, func(seg *C.char, n []int) (C.int, int64) {
			var s C.int64_t
			return C.native_fc_recv(seg, C.long(n[0]), C.long(n[1]), &s), int64(s)
		})
	},
	roleCFloorSend: func(args []string, ready func()) (string, error) {
		return named(args, ready, func(seg, name *C.char, n []int) (C.int, int64) {
			return C.floor_stream_send(seg, name, C.long(n[0]), C.long(n[1])), 0
		})
	},
	roleCFloorRecv: func(args []string, ready func()) (string, error) {
		return named(args, ready, func(seg, name *C.char, n []int) (C.int, int64) {
			var s C.int64_t
			return C.floor_stream_recv(seg, name, C.long(n[0]), C.long(n[1]), &s), int64(s)
		})
	},
	roleCBatchSend: func(args []string, ready func()) (string, error) {
		return named(args, ready, func(seg, name *C.char, n []int) (C.int, int64) {
			return C.floor_batch(seg, name, C.long(n[0]), nil), 0
		})
	},
	roleCBatchRecv: func(args []string, ready func()) (string, error) {
		return named(args, ready, func(seg, name *C.char, n []int) (C.int, int64) {
			var s C.int64_t
			return C.floor_batch(seg, name, C.long(n[0]), &s), int64(s)
		})
	},
	roleCFloorPing:   floorPingPong(true),
	roleCFloorPong:   floorPingPong(false),
	roleCCountLock:   nativeCount(true),
	roleCCountAtomic: nativeCount(false),
	roleCSemPing:     nativeSem(true),
	roleCSemPong:     nativeSem(false),
}

func init() {
	for r, f := range nativeRoles {
		register(r, f)
	}
}

func nativeCount(locked bool) role {
	return func(args []string, ready func()) (string, error) {
		return named(args, ready, func(seg, name *C.char, n []int) (C.int, int64) {
			l := C.int(0)
			if locked {
				l = 1
			}
			return C.native_count(seg, name, C.long(n[0]), l), 0
		})
	}
}

// floorRingHolds is how many messages of elems float64 the C floor's ring
// holds in a bytes object of length bytes, by floor.c's own rule.
func floorRingHolds(length uint64, elems int) int {
	return int(C.floor_ring_holds(C.uint64_t(length), C.long(elems)))
}

func floorPingPong(pinger bool) role {
	return func(args []string, ready func()) (string, error) {
		return named(args, ready, func(seg, name *C.char, n []int) (C.int, int64) {
			p := C.int(0)
			if pinger {
				p = 1
			}
			var s C.int64_t
			return C.floor_pingpong(seg, name, C.long(n[0]), p, &s), int64(s)
		})
	}
}

func nativeSem(pinger bool) role {
	return func(args []string, ready func()) (string, error) {
		return native(args, 1, ready, func(seg *C.char, n []int) (C.int, int64) {
			p := C.int(0)
			if pinger {
				p = 1
			}
			return C.native_sem_pingpong(seg, C.long(n[0]), p), int64(n[0])
		})
	}
}

// named is native for a role whose args[1] names its object and whose
// integers follow it: call gets the name as a C string.
func named(args []string, ready func(), call func(seg, name *C.char, n []int) (C.int, int64)) (string, error) {
	return native(args, 2, ready, func(seg *C.char, n []int) (C.int, int64) {
		name := C.CString(args[1])
		defer C.free(unsafe.Pointer(name))
		return call(seg, name, n)
	})
}

// native parses args[from:] as integers, waits for "go", and makes the
// call on segment args[0].
func native(args []string, from int, ready func(), call func(seg *C.char, n []int) (C.int, int64)) (string, error) {
	n, err := ints(args, from)
	if err != nil {
		return "", err
	}
	seg := C.CString(args[0])
	defer C.free(unsafe.Pointer(seg))
	ready()
	rc, s := call(seg, n)
	if rc != 0 {
		return "", fmt.Errorf("native worker: %w", syscall.Errno(rc))
	}
	return sum(s), nil
}
