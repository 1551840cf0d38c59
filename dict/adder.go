package dict

import (
	"encoding/binary"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/shmkit/shmkit/internal/cbind"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/race"
	"github.com/shmkit/shmkit/internal/robust"
)

// A dict's Add of a key that holds an 8-byte int runs in Go, without a
// cgo call, as the C library's shmkit_dict_add does it (dict_write,
// dict_locked_table, dict_slot_for, dict_overwrite_to in cgo/shmkit.c),
// store for store: a counter's process then comes back to the lock tens of
// nanoseconds sooner, and keeps it and the lines it writes for runs of
// adds instead of handing them to the other process at each one. The
// writer lock is taken by glibc's robust-list protocol (package robust),
// so a process killed anywhere in here leaves what C's repair
// (dict_repair, dict_undo) puts right. Anything else — a held lock (C
// waits), an owner that died (C repairs), a key missing or of another
// type, a table C would grow first, an offset past this process's mapping
// (C maps more), anything that looks corrupt (C says ErrCorrupt) — is
// found before the first store, and the lock is given back and C's add
// called, which decides it. amd64 only (its stores are seen in program
// order, as C's release stores there compile to plain moves).

const (
	offSize      = uint64(unsafe.Offsetof(layout.DictHeap{}.Size))
	offCursor    = uint64(unsafe.Offsetof(layout.DictHeap{}.Cursor))
	offCount     = uint64(unsafe.Offsetof(layout.DictHeap{}.Count))
	offLock      = uint64(unsafe.Offsetof(layout.DictHeap{}.Lock))
	offUndoNote  = uint64(unsafe.Offsetof(layout.DictHeap{}.UndoNote))
	offUndoVal   = uint64(unsafe.Offsetof(layout.DictHeap{}.UndoVal))
	offTombstone = uint64(unsafe.Offsetof(layout.DictHeap{}.Tombstones))
)

// storeOverwrite finds undo_val in the word after undo_note.
var _ = [1]struct{}{}[offUndoVal-offUndoNote-8]

// goAddHook, if set (by tests), is called after each add made in Go.
var goAddHook func()

// goAdd adds delta to the key's int in Go if it can: ok false means
// nothing was written and nothing is held, and C's add must be called.
// The caller has entered c, so the mapping stays.
func (c *handle) goAdd(kt int, kb []byte, delta int64) (sum int64, ok bool) {
	if c.view.base == nil || c.readonly || !robust.Enabled() || !validKey(kt, kb) {
		return 0, false
	}
	v := c.view
	if atomic.LoadUint64(v.mapped) < layout.DictHeapStart {
		return 0, false
	}
	hash := keyHash(kt, kb)
	m := unsafe.Add(v.base, uintptr(offLock))
	runtime.LockOSThread() // the mutex is on this thread's robust list while held
	if robust.TryLock(m, false) != robust.Locked {
		runtime.UnlockOSThread()
		return 0, false
	}
	race.Acquire()
	sum, ok = v.addLocked(kt, kb, uint32(hash>>32), delta)
	race.Release()
	if !robust.Unlock(m, false) {
		cbind.MutexUnlock((*layout.Mutex)(m)) // glibc's unlock, on the same thread
	}
	runtime.UnlockOSThread()
	if ok && goAddHook != nil {
		goAddHook()
	}
	return sum, ok
}

// addLocked is dict_write's OP_ADD with the writer lock held, for a key
// whose value is an int overwritten in place; false before any store for
// every other case.
func (v heapView) addLocked(kt int, kb []byte, h32 uint32, delta int64) (int64, bool) {
	mapped := atomic.LoadUint64(v.mapped)
	// dict_lock: the heap's size and cursor, mapped up to size.
	size := atomic.LoadUint64(v.word(offSize))
	cursor := *v.word(offCursor)
	if size < layout.DictHeapStart || size > layout.DictHeapMax || cursor > size || cursor < layout.DictHeapStart ||
		cursor%8 != 0 || size > mapped {
		return 0, false
	}
	// dict_locked_table(adding): the table, not to be grown first.
	t, slots, ok := v.table(mapped)
	if !ok {
		return 0, false
	}
	count, tombs := *v.word(offCount), *v.word(offTombstone)
	if count > slots || tombs > slots-count || (count+tombs+1)*5 > slots*4 {
		return 0, false
	}
	// dict_slot_for: the key's slot, its item's value.
	mask := slots - 1
	for looked, i := uint64(0), uint64(h32)&mask; looked < slots; looked, i = looked+1, (i+1)&mask {
		s := v.slot(t, i)
		ref := s.Ref
		if ref == layout.SlotEmpty {
			return 0, false // a new key: C stores a new item
		}
		if ref == layout.SlotTomb || s.Hash != h32 {
			continue
		}
		val, vt, vlen, o := v.itemValue(ref, kt, kb, mapped)
		if o == askC {
			return 0, false
		}
		if o == miss {
			continue
		}
		if vt != tagInt || vlen != 8 || atomic.LoadUint32(&s.Seq)&1 != 0 {
			return 0, false // C says ErrNotInt, or evens a scribbled seq (slot_seq)
		}
		p := unsafe.Add(v.base, uintptr(val))
		was := int64(binary.LittleEndian.Uint64(unsafe.Slice((*byte)(p), 8)))
		sum := was + delta
		if (delta > 0 && sum < was) || (delta < 0 && sum > was) {
			return 0, false // past int64: C says ErrOverflow
		}
		v.overwrite(s, i, p, uint64(was), uint64(sum))
		return sum, true
	}
	return 0, false
}

// overwrite is dict_overwrite_to for the 8-byte int at p in slot i (s),
// from was to sum: the old bytes and the slot noted in the lock's line,
// seq odd, the sum stored, seq even, the note cleared, in that order
// (storeOverwrite).
func (v heapView) overwrite(s *layout.DictSlot, i uint64, p unsafe.Pointer, was, sum uint64) {
	q := atomic.LoadUint32(&s.Seq)
	storeOverwrite(v.word(offUndoNote), &s.Seq, p, uint64(q)<<32|(i+1), was, sum, q)
}
