package dict

import (
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/shmkit/shmkit/internal/cbind"
	"github.com/shmkit/shmkit/internal/layout"
)

// A dict's Get reads the heap in Go, without a cgo call, by the C
// library's protocol (dict_find in cgo/shmkit.c; docs/design.md, Readers):
// gen even, the table, each probed slot's seq even, its hash and ref, the
// item's header and key, the value copied; then the slot's seq and gen
// unchanged, or the whole read is thrown away and made again. Whatever
// only the C library may settle goes to it, which keeps its semantics: an
// offset past what this process has mapped (C maps more), a seqlock still
// moving after a few looks (C spins, then reads under the writer lock and
// repairs what a dead writer left), anything that looks corrupt (C says
// ErrCorrupt). Nothing is read past the mapping.
//
// Only on amd64: its loads are not reordered with other loads, so the
// plain loads of the key and value complete before the atomic load of seq
// that validates them, as C's acquire fence makes sure elsewhere. Go has
// no such fence; other architectures read through C.
const goReads = runtime.GOARCH == "amd64"

// readLooks is how many times a Go read is tried before the C library's.
const readLooks = 4

// heapView is this process's mapping of a dict's heap, as its C handle
// holds it: a reservation that never moves, mapped from its start.
type heapView struct {
	base   unsafe.Pointer // nil: every read goes through C
	mapped *uint64        // bytes mapped from base: the C handle's count, which only grows
}

const (
	offGen      = uint64(unsafe.Offsetof(layout.DictHeap{}.Gen))
	offTable    = uint64(unsafe.Offsetof(layout.DictHeap{}.Table))
	blockHeader = uint64(unsafe.Sizeof(layout.DictBlock{}))
	slotSize    = uint64(unsafe.Sizeof(layout.DictSlot{}))
	tableSlots  = 32 // a table block's slots start after its header, cap and a zero word
)

// What one read found.
type outcome uint8

const (
	hit      outcome = iota // the value, copied
	miss                    // no such key
	tooShort                // the value, which did not fit: its tag and length only
	again                   // a writer got in the way
	askC                    // for the C library to settle
	faulted                 // the mapping faulted: the file was cut short under it
)

func newView(h cbind.DictHandle) heapView {
	if !goReads || h.Kind() != layout.KindDict {
		return heapView{}
	}
	base, mapped := h.Mapping()
	return heapView{base: base, mapped: mapped}
}

func (v heapView) word(off uint64) *uint64 { return (*uint64)(unsafe.Add(v.base, uintptr(off))) }

func (v heapView) bytes(off, n uint64) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(v.base, uintptr(off))), n)
}

// span reports whether [off, off+n) lies in the heap's blocks and in what
// this process has mapped (dict_span, without mapping more).
func span(off, n, mapped uint64) bool {
	return off >= layout.DictHeapStart && off%8 == 0 && n <= layout.DictHeapMax && off <= layout.DictHeapMax-n &&
		off+n <= mapped
}

// validKey is what the C library accepts as a key (dict_check_key).
func validKey(tag int, key []byte) bool {
	switch tag {
	case tagNone:
		return len(key) == 0
	case tagBool:
		return len(key) == 1 && key[0] <= 1
	case tagInt, tagFloat:
		return len(key) == 8
	case tagStr, tagBytes, tagPickle:
		return len(key) <= layout.DictKeyMax
	}
	return false
}

// find reads the key once (dict_find): its value into buf if it fits.
func (v heapView) find(ktag int, key []byte, hash uint64, buf []byte) (int, int, outcome) {
	mapped := atomic.LoadUint64(v.mapped)
	gen := v.word(offGen)
	g := atomic.LoadUint64(gen)
	if g&1 != 0 {
		return 0, 0, again
	}
	tag, n, o := v.probe(ktag, key, hash, buf, mapped)
	if o != again && atomic.LoadUint64(gen) != g {
		return 0, 0, again
	}
	return tag, n, o
}

// guardedFind is find with a memory fault turned into the outcome
// faulted, not the end of the program: a process that can write the heap
// file may cut it short under this process's mapping, and a library
// process never dies from a fault in a file it did not write.
func (v heapView) guardedFind(ktag int, key []byte, hash uint64, buf []byte) (tag, n int, o outcome) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if _, fault := r.(interface{ Addr() uintptr }); !fault {
				panic(r)
			}
			tag, n, o = 0, 0, faulted
		}
	}()
	return v.find(ktag, key, hash, buf)
}

// probe walks the table from the key's slot, as dict_find does: every way
// past a slot is checked against its seqlock too, since an item replaced
// meanwhile may have been freed and its block reused for another key.
func (v heapView) probe(ktag int, key []byte, hash uint64, buf []byte, mapped uint64) (int, int, outcome) {
	t, slots, ok := v.table(mapped)
	if !ok {
		return 0, 0, askC
	}
	h32 := uint32(hash >> 32)
	mask := slots - 1
	for looked, i := uint64(0), uint64(h32)&mask; looked < slots; looked, i = looked+1, (i+1)&mask {
		s := v.slot(t, i)
		q := atomic.LoadUint32(&s.Seq)
		if q&1 != 0 {
			return 0, 0, again
		}
		ref := atomic.LoadUint64(&s.Ref)
		if ref == layout.SlotEmpty || ref == layout.SlotTomb || atomic.LoadUint32(&s.Hash) != h32 {
			if atomic.LoadUint32(&s.Seq) != q {
				return 0, 0, again
			}
			if ref == layout.SlotEmpty {
				return 0, 0, miss
			}
			continue
		}
		tag, n, o := v.item(ref, ktag, key, buf, mapped)
		if atomic.LoadUint32(&s.Seq) != q {
			return 0, 0, again
		}
		if o != miss {
			return tag, n, o
		}
	}
	return 0, 0, miss
}

// table is the dict's table (dict_table_at): its offset and slots; ok
// false for what only C may settle (past the mapping, not a table).
func (v heapView) table(mapped uint64) (t, slots uint64, ok bool) {
	t = atomic.LoadUint64(v.word(offTable))
	if !span(t, tableSlots, mapped) {
		return 0, 0, false
	}
	head := atomic.LoadUint64(v.word(t)) // size, then type (little-endian)
	size, typ := head&0xffffffff, uint8(head>>32)
	slots = atomic.LoadUint64(v.word(t + 16))
	if typ != layout.BlockTable || slots == 0 || slots > 1<<32 || slots&(slots-1) != 0 ||
		tableSlots+slots*slotSize > size || !span(t, size, mapped) {
		return 0, 0, false
	}
	return t, slots, true
}

// slot is slot i of the table at t.
func (v heapView) slot(t, i uint64) *layout.DictSlot {
	return (*layout.DictSlot)(unsafe.Add(v.base, uintptr(t+tableSlots+i*slotSize)))
}

// itemValue is dict_item_at and key_equal: the offset of the value of the
// item at ref if its key is key (hit), with its tag and length; miss if
// its key is another; askC if the item is past the mapping or corrupt.
func (v heapView) itemValue(ref uint64, ktag int, key []byte, mapped uint64) (uint64, int, uint64, outcome) {
	if !span(ref, blockHeader, mapped) {
		return 0, 0, 0, askC
	}
	head := atomic.LoadUint64(v.word(ref))     // size, type, key tag, value tag
	lens := atomic.LoadUint64(v.word(ref + 8)) // key length, value length
	size, typ, kt, vt := head&0xffffffff, uint8(head>>32), int(uint8(head>>40)), int(uint8(head>>48))
	klen, vlen := lens&0xffffffff, lens>>32
	if typ != layout.BlockItem || size < blockHeader || size%8 != 0 || klen > layout.DictKeyMax ||
		vlen > layout.DictValueMax || blockHeader+klen+vlen > size || kt > tagRecord || vt > tagRecord ||
		!span(ref, size, mapped) {
		return 0, 0, 0, askC
	}
	if kt != ktag || klen != uint64(len(key)) || string(v.bytes(ref+blockHeader, klen)) != string(key) {
		return 0, 0, 0, miss
	}
	return ref + blockHeader + klen, vt, vlen, hit
}

// item reads the item at ref (dict_item_at, key_equal, out_copy): miss if
// its key is another, else its value.
func (v heapView) item(ref uint64, ktag int, key, buf []byte, mapped uint64) (int, int, outcome) {
	val, vt, vlen, o := v.itemValue(ref, ktag, key, mapped)
	if o != hit {
		return 0, 0, o
	}
	if vlen > uint64(len(buf)) {
		return vt, int(vlen), tooShort
	}
	copy(buf, v.bytes(val, vlen))
	return vt, int(vlen), hit
}

// get copies the key's value into buf as cbind's Get does (its tag and
// length; ENOENT; ShortBuf with the length), in Go when it can. The
// caller has entered c, so the mapping stays.
func (c *handle) get(kt int, kb, buf []byte) (int, int, error) {
	if c.view.base != nil && validKey(kt, kb) {
		hash := keyHash(kt, kb)
		for range readLooks {
			tag, n, o := c.view.guardedFind(kt, kb, hash, buf)
			switch o {
			case faulted:
				return 0, 0, syscall.EUCLEAN
			case hit:
				return tag, n, nil
			case miss:
				return 0, 0, syscall.ENOENT
			case tooShort:
				return tag, n, cbind.ShortBuf
			}
			if o == askC {
				break
			}
		}
	}
	return c.h.Get(kt, kb, buf)
}
