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
	"time"
	"unsafe"
)

// W8's shmkit row from C: w8native.c's loops over the C library's dict,
// one cgo call per loop.

func init() {
	register(roleCDictSet, cDictSet)
	register(roleCDictGet, cDictGet)
	register(roleCDictAdd, cDictAdd)
}

// openNative opens segment args[0]'s dict with keys ahead for nkeys.
func openNative(segname string, nkeys int) (*C.struct_w8_native, error) {
	name := C.CString(segname)
	defer C.free(unsafe.Pointer(name))
	w := (*C.struct_w8_native)(C.calloc(1, C.size_t(unsafe.Sizeof(C.struct_w8_native{}))))
	if rc := C.w8_native_open(name, C.long(nkeys), w); rc != 0 {
		C.free(unsafe.Pointer(w))
		return nil, nativeErr(rc)
	}
	return w, nil
}

func closeNative(w *C.struct_w8_native) {
	C.w8_native_close(w)
	C.free(unsafe.Pointer(w))
}

func nativeErr(rc C.int) error {
	if rc == -1 {
		return fmt.Errorf("%w: a key read back with another value", ErrChecksum)
	}
	return fmt.Errorf("native worker: %w", syscall.Errno(rc))
}

// cDictSet: args segment count batch.
func cDictSet(args []string, ready func()) (string, error) {
	n, err := ints(args, 1)
	if err != nil {
		return "", err
	}
	w, err := openNative(args[0], n[0])
	if err != nil {
		return "", err
	}
	defer closeNative(w)
	before := C.w8_native_heap(w)
	ready()
	var ns, unused, sum C.longlong
	if rc := C.w8_native_set(w, &ns); rc != 0 {
		return "", nativeErr(rc)
	}
	grown := C.w8_native_heap(w) - before
	if rc := C.w8_native_get(w, C.long(n[0]), &unused, &sum); rc != 0 {
		return "", nativeErr(rc)
	}
	return report(time.Duration(ns), int64(sum), int64(grown)), nil
}

// cDictGet: args segment count keys batch.
func cDictGet(args []string, ready func()) (string, error) {
	n, err := ints(args, 1)
	if err != nil {
		return "", err
	}
	w, err := openNative(args[0], n[1])
	if err != nil {
		return "", err
	}
	defer closeNative(w)
	var ns, sum C.longlong
	if rc := C.w8_native_set(w, &ns); rc != 0 {
		return "", nativeErr(rc)
	}
	ready()
	if rc := C.w8_native_get(w, C.long(n[0]), &ns, &sum); rc != 0 {
		return "", nativeErr(rc)
	}
	return report(time.Duration(ns), int64(sum), 0), nil
}

// cDictAdd: args segment count.
func cDictAdd(args []string, ready func()) (string, error) {
	n, err := ints(args, 1)
	if err != nil {
		return "", err
	}
	w, err := openNative(args[0], 0)
	if err != nil {
		return "", err
	}
	defer closeNative(w)
	ready()
	var v C.longlong
	if rc := C.w8_native_add(w, C.long(n[0]), &v); rc != 0 {
		return "", nativeErr(rc)
	}
	return fmt.Sprint(int64(v)), nil
}
