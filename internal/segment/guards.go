package segment

import (
	"math/bits"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A closed segment's address range stays reserved as an inaccessible
// (PROT_NONE) guard, so that a view kept past Close faults rather than read
// whatever a later mmap puts there. Guards are reused, so that the address
// space follows the most that was open at once, however many names come
// and go:
//
//   - A new mapping reserves a range of a power of two bytes (classSize)
//     and maps the file at its start; the rest stays PROT_NONE.
//   - Mapping a file again reuses that file's own guard, if one is big
//     enough: a stale view then sees its own segment, never another's.
//   - Otherwise closed ranges big enough for the new mapping are kept for
//     their own files while they hold at most twice the bytes of the open
//     mappings and the new one; beyond that, the smallest, oldest of them is
//     given to the new mapping. A view kept past the Close of that oldest segment then
//     reads the new segment instead of faulting: the price of the bound.
//
// A new range is reserved only when the free guards that fit hold at most
// twice what is open: so the reservation stays within a few times the most
// that was open at once (three ranges for one segment at a time), never
// growing with the names. Nothing is ever unmapped, so a stale view
// never reads the Go heap or another library's memory. See docs/design.md.

// fileID identifies a segment's file.
type fileID struct{ dev, ino uint64 }

type guard struct {
	addr unsafe.Pointer // outside the Go heap
	size int
	file fileID // the file last mapped here
	age  uint64 // when it was freed: lower is older
}

var guards struct {
	sync.Mutex
	free      []guard
	openBytes int    // bytes reserved by open mappings
	clock     uint64 // counts frees, for age
}

func identify(f *os.File) (fileID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fileID{}, err
	}
	return fileID{uint64(st.Dev), st.Ino}, nil
}

// classSize is the size of the range reserved for a mapping of size bytes:
// the next power of two, so that closed ranges fit later segments of
// other sizes; beyond 2^40 just the pages.
func classSize(size int) int {
	page := os.Getpagesize()
	pages := (size + page - 1) &^ (page - 1)
	if pages > 1<<40 {
		return pages
	}
	return 1 << bits.Len(uint(pages-1))
}

// takeGuard removes and returns a free guard for a mapping of file id of
// size bytes: the smallest of the file's own that fits; else, once the free
// guards that fit hold more than twice what the open mappings and this one
// would, the smallest that fits, the oldest of those. ok is false when a
// new range is to be reserved.
func takeGuard(id fileID, size int) (g guard, ok bool) {
	guards.Lock()
	defer guards.Unlock()
	best, fitting := -1, 0
	for i, c := range guards.free {
		if c.size < size {
			continue
		}
		fitting += c.size
		if c.file == id && (best < 0 || c.size < guards.free[best].size) {
			best = i
		}
	}
	if best < 0 && fitting > 2*(guards.openBytes+classSize(size)) {
		for i, c := range guards.free {
			if c.size < size {
				continue
			}
			if b := guards.free[max(best, 0)]; best < 0 || c.size < b.size || c.size == b.size && c.age < b.age {
				best = i
			}
		}
	}
	if best < 0 {
		return guard{}, false
	}
	g = guards.free[best]
	guards.free = append(guards.free[:best], guards.free[best+1:]...)
	guards.openBytes += g.size
	return g, true
}

// putGuard frees guard g; the range must be PROT_NONE already.
func putGuard(g guard) {
	guards.Lock()
	defer guards.Unlock()
	guards.openBytes -= g.size
	guards.clock++
	g.age = guards.clock
	guards.free = append(guards.free, g)
}

// mapFile maps size bytes of f, shared, writable or not, at the start of a
// guard (takeGuard) or of a new reserved range. reserved is the length of
// the range the mapping occupies.
func mapFile(f *os.File, size int, writable bool) (mem []byte, id fileID, reserved int, err error) {
	if id, err = identify(f); err != nil {
		return nil, fileID{}, 0, err
	}
	prot := unix.PROT_READ
	if writable {
		prot |= unix.PROT_WRITE
	}
	g, ok := takeGuard(id, size)
	if !ok {
		class := classSize(size)
		p, err := unix.MmapPtr(-1, 0, nil, uintptr(class), unix.PROT_NONE,
			unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
		if err != nil {
			return nil, fileID{}, 0, err
		}
		g = guard{addr: p, size: class}
		guards.Lock()
		guards.openBytes += class
		guards.Unlock()
	}
	p, err := unix.MmapPtr(int(f.Fd()), 0, g.addr, uintptr(size), prot, unix.MAP_SHARED|unix.MAP_FIXED)
	if err != nil {
		// A failed MAP_FIXED may have unmapped the range: guard it again.
		if reserve(g.addr, g.size) == nil {
			putGuard(g)
		} else {
			guards.Lock()
			guards.openBytes -= g.size
			guards.Unlock()
		}
		return nil, fileID{}, 0, err
	}
	return unsafe.Slice((*byte)(p), size), id, g.size, nil
}

// unmapGuarded turns the reserved range starting at mem into a free guard
// of file id.
func unmapGuarded(mem []byte, id fileID, reserved int) error {
	addr := unsafe.Pointer(unsafe.SliceData(mem))
	if err := reserve(addr, reserved); err != nil {
		guards.Lock()
		guards.openBytes -= reserved
		guards.Unlock()
		return err
	}
	putGuard(guard{addr: addr, size: reserved, file: id})
	return nil
}

// reserve makes size bytes at addr an inaccessible anonymous mapping.
func reserve(addr unsafe.Pointer, size int) error {
	_, err := unix.MmapPtr(-1, 0, addr, uintptr(size), unix.PROT_NONE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED|unix.MAP_NORESERVE)
	return err
}
