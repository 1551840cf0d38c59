//go:build cgo

package cbind

/*
#include <stdlib.h>
#include "shmkit.h"

// These copy their keys and values in and out and keep none of them, and
// never call Go: the caller's buffers may stay on its stack.
#cgo noescape shmkit_dict_get
#cgo nocallback shmkit_dict_get
#cgo noescape shmkit_dict_delete
#cgo nocallback shmkit_dict_delete
#cgo noescape shmkit_dict_load_or_store
#cgo nocallback shmkit_dict_load_or_store
#cgo noescape shmkit_dict_cas
#cgo nocallback shmkit_dict_cas
#cgo noescape shmkit_dict_next
#cgo nocallback shmkit_dict_next
#cgo noescape shmkit_list_get
#cgo nocallback shmkit_list_get
#cgo noescape shmkit_list_set
#cgo nocallback shmkit_list_set
#cgo noescape shmkit_list_insert
#cgo nocallback shmkit_list_insert
#cgo noescape shmkit_list_pop
#cgo nocallback shmkit_list_pop

// The sum comes back in the result, not through a pointer, so that Go
// need not put a variable on its heap for C to write into; the key comes
// as a Go string, which cgo passes without checking it for Go pointers
// (a string holds none), a check that cost as much as the add.
struct cbind_add { int rc; int64_t sum; };
static inline struct cbind_add cbind_dict_add(struct shmkit_dict *d, int ktag, _GoString_ key, int64_t delta) {
	struct cbind_add r = {0, 0};
	r.rc = shmkit_dict_add(d, ktag, _GoStringPtr(key), _GoStringLen(key), delta, &r.sum);
	return r;
}

// A set copies the key and value and keeps neither; both come as Go
// strings, so that cgo neither checks them for Go pointers nor moves a
// caller's scratch value to the heap.
static inline int cbind_dict_set(struct shmkit_dict *d, int ktag, _GoString_ key, int vtag, _GoString_ val) {
	return shmkit_dict_set(d, ktag, _GoStringPtr(key), _GoStringLen(key), vtag, _GoStringPtr(val), _GoStringLen(val));
}
#cgo noescape cbind_dict_set
#cgo nocallback cbind_dict_set

struct cbind_mapping { const void *base; const uint64_t *mapped; };
static inline struct cbind_mapping cbind_dict_mapping(struct shmkit_dict *d) {
	struct cbind_mapping m;
	shmkit_dict_mapping(d, &m.base, &m.mapped);
	return m;
}
*/
import "C"

import (
	"syscall"
	"unsafe"
)

// A DictHandle is the C library's handle on a dict or list (struct
// shmkit_dict): its own mapping of the heap file, independent of the
// segment's mapping. The methods are safe for concurrent use until Close.
type DictHandle struct{ p *C.struct_shmkit_dict }

// ShortBuf is the errno of an operation whose value did not fit the buffer.
const ShortBuf = syscall.ENOBUFS

// goString is b as a string for C, which copies it before it returns.
func goString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func ptr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

// DictInit writes a new dict (or list) reference into mem, which must be
// zeroed memory of a segment's new object, creating its heap file named
// after prefix and name, with file mode mode (0: 0600).
func DictInit(mem []byte, prefix, name string, list bool, mode uint32) error {
	cp, cn := C.CString(prefix), C.CString(name)
	defer C.free(unsafe.Pointer(cp))
	defer C.free(unsafe.Pointer(cn))
	l := 0
	if list {
		l = 1
	}
	return errno(C.shmkit_dict_init(ptr(mem), C.uint64_t(len(mem)), cp, cn, C.int(l), C.unsigned(mode)))
}

// DictAttach opens the heap of the reference in mem.
func DictAttach(mem []byte, readonly bool) (DictHandle, error) {
	var p *C.struct_shmkit_dict
	ro := 0
	if readonly {
		ro = 1
	}
	if rc := C.shmkit_dict_attach(ptr(mem), C.uint64_t(len(mem)), C.int(ro), &p); rc != 0 {
		return DictHandle{}, syscall.Errno(rc)
	}
	return DictHandle{p}, nil
}

// DictUnlink removes the heap file of the reference in mem.
func DictUnlink(mem []byte) error { return errno(C.shmkit_dict_unlink(ptr(mem), C.uint64_t(len(mem)))) }

// Close releases the handle's mapping; the handle must not be used again.
func (d DictHandle) Close() { C.shmkit_dict_close(d.p) }

// Mapping is what a reader of the heap in Go needs: the start of the
// handle's reservation and the C library's count of the bytes mapped from
// it, which only grows (load it with sync/atomic; past it nothing may be
// read). Both stay valid until Close.
func (d DictHandle) Mapping() (base unsafe.Pointer, mapped *uint64) {
	m := C.cbind_dict_mapping(d.p)
	return unsafe.Pointer(m.base), (*uint64)(unsafe.Pointer(m.mapped))
}

// Kind is the handle's kind: layout.KindDict or layout.KindList.
func (d DictHandle) Kind() uint16 { return uint16(C.shmkit_dict_kind(d.p)) }

// DictHash is the C library's hash of a key, for tests of a port of it.
func DictHash(tag int, key []byte) uint64 {
	return uint64(C.shmkit_dict_test_hash(C.int(tag), ptr(key), C.uint64_t(len(key))))
}

// Get copies the key's value into buf: its tag and length; ShortBuf with
// the length if it does not fit.
func (d DictHandle) Get(ktag int, key, buf []byte) (int, int, error) {
	var tag C.int
	var n C.uint64_t
	rc := C.shmkit_dict_get(d.p, C.int(ktag), ptr(key), C.uint64_t(len(key)), &tag, ptr(buf), C.uint64_t(len(buf)), &n)
	return int(tag), int(n), errno(rc)
}

// Set stores the value under the key.
func (d DictHandle) Set(ktag int, key []byte, vtag int, val []byte) error {
	return errno(C.cbind_dict_set(d.p, C.int(ktag), goString(key), C.int(vtag), goString(val)))
}

// Delete removes the key; ENOENT if it has no value.
func (d DictHandle) Delete(ktag int, key []byte) error {
	return errno(C.shmkit_dict_delete(d.p, C.int(ktag), ptr(key), C.uint64_t(len(key))))
}

// LoadOrStore stores the value unless the key has one, which it copies into buf.
func (d DictHandle) LoadOrStore(ktag int, key []byte, vtag int, val, buf []byte) (loaded bool, tag, n int, err error) {
	var l, t C.int
	var nn C.uint64_t
	rc := C.shmkit_dict_load_or_store(d.p, C.int(ktag), ptr(key), C.uint64_t(len(key)), C.int(vtag), ptr(val),
		C.uint64_t(len(val)), &l, &t, ptr(buf), C.uint64_t(len(buf)), &nn)
	return l != 0, int(t), int(nn), errno(rc)
}

// CompareAndSwap replaces otag/old (TagAbsent: no value) with ntag/nval (TagAbsent: delete).
func (d DictHandle) CompareAndSwap(ktag int, key []byte, otag int, old []byte, ntag int, nval []byte) (bool, error) {
	var s C.int
	rc := C.shmkit_dict_cas(d.p, C.int(ktag), ptr(key), C.uint64_t(len(key)), C.int(otag), ptr(old), C.uint64_t(len(old)),
		C.int(ntag), ptr(nval), C.uint64_t(len(nval)), &s)
	return s != 0, errno(rc)
}

// Add adds delta to the key's integer value (absent: 0) and returns the sum.
func (d DictHandle) Add(ktag int, key []byte, delta int64) (int64, error) {
	r := C.cbind_dict_add(d.p, C.int(ktag), unsafe.String(unsafe.SliceData(key), len(key)), C.int64_t(delta))
	return int64(r.sum), errno(r.rc)
}

// Len is the number of keys, or a list's length.
func (d DictHandle) Len() (int, error) {
	var n C.uint64_t
	rc := C.shmkit_dict_len(d.p, &n)
	return int(n), errno(rc)
}

// Clear removes every key or item.
func (d DictHandle) Clear() error { return errno(C.shmkit_dict_clear(d.p)) }

// A DictCursor walks a dict's items (shmkit_dict_next).
type DictCursor struct {
	pos, gen C.uint64_t
}

// Next copies the next item's key and value; restarted reports that the
// table was replaced and the walk began again. ENOENT at the end; ShortBuf
// with the lengths if either does not fit (the cursor stays).
func (d DictHandle) Next(c *DictCursor, kbuf, vbuf []byte) (ktag, klen, vtag, vlen int, restarted bool, err error) {
	var r, kt, vt C.int
	var kl, vl C.uint64_t
	rc := C.shmkit_dict_next(d.p, &c.pos, &c.gen, &r, &kt, ptr(kbuf), C.uint64_t(len(kbuf)), &kl, &vt, ptr(vbuf),
		C.uint64_t(len(vbuf)), &vl)
	return int(kt), int(kl), int(vt), int(vl), r != 0, errno(rc)
}

// DictStats is struct shmkit_dict_stats.
type DictStats struct {
	Count, Slots, HeapSize, Used, Recoveries uint64
}

// Stats reports the sizes of the dict or list.
func (d DictHandle) Stats() DictStats {
	var s C.struct_shmkit_dict_stats
	C.shmkit_dict_stats(d.p, &s)
	return DictStats{uint64(s.count), uint64(s.slots), uint64(s.heap_size), uint64(s.used), uint64(s.recoveries)}
}

// ListGet copies item i into buf; ERANGE past the end.
func (d DictHandle) ListGet(i int, buf []byte) (int, int, error) {
	var tag C.int
	var n C.uint64_t
	rc := C.shmkit_list_get(d.p, C.uint64_t(i), &tag, ptr(buf), C.uint64_t(len(buf)), &n)
	return int(tag), int(n), errno(rc)
}

// ListSet replaces item i.
func (d DictHandle) ListSet(i int, vtag int, val []byte) error {
	return errno(C.shmkit_list_set(d.p, C.uint64_t(i), C.int(vtag), ptr(val), C.uint64_t(len(val))))
}

// ListInsert inserts before item i (i >= len appends).
func (d DictHandle) ListInsert(i int, vtag int, val []byte) error {
	return errno(C.shmkit_list_insert(d.p, C.uint64_t(i), C.int(vtag), ptr(val), C.uint64_t(len(val))))
}

// ListPop removes item i, copying it into buf (nil buf: dropped).
func (d DictHandle) ListPop(i int, buf []byte) (int, int, error) {
	var tag C.int
	var n C.uint64_t
	var bp unsafe.Pointer
	if len(buf) > 0 {
		bp = unsafe.Pointer(&buf[0])
	}
	rc := C.shmkit_list_pop(d.p, C.uint64_t(i), &tag, bp, C.uint64_t(len(buf)), &n)
	return int(tag), int(n), errno(rc)
}

// ListReverse reverses the list in one step.
func (d DictHandle) ListReverse() error { return errno(C.shmkit_list_reverse(d.p)) }

// DictTestLock takes the writer lock and keeps it: for tests of a writer
// killed while holding it.
func (d DictHandle) DictTestLock() error { return errno(C.shmkit_dict_test_lock(d.p)) }

// DictTestOverwrite sets key's INT value in place and stops as a writer
// killed inside would (stage 1: seqlock odd, half written; stage 2: done
// but not noted done), keeping the lock.
func (d DictHandle) DictTestOverwrite(ktag int, key []byte, val int64, stage int) error {
	return errno(C.shmkit_dict_test_overwrite(d.p, C.int(ktag), ptr(key), C.uint64_t(len(key)), C.int64_t(val), C.int(stage)))
}
