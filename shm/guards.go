package shm

import (
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A closed segment's address range stays reserved as an inaccessible
// (PROT_NONE) guard, so that a view kept past Close faults rather than read
// whatever is mapped there next. Each guard remembers the file it held;
// mapping the same file again reuses it. So repeated Open/Close of one
// segment keeps the address space bounded, and a stale view can only ever
// see its own segment, never another's.

// fileID identifies a segment's file.
type fileID struct{ dev, ino uint64 }

type guard struct {
	addr unsafe.Pointer // outside the Go heap
	size int
}

var guards struct {
	sync.Mutex
	free map[fileID][]guard
}

func identify(f *os.File) (fileID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fileID{}, err
	}
	return fileID{uint64(st.Dev), st.Ino}, nil
}

// takeGuard removes and returns the smallest guard of file id that holds
// size bytes, if there is one.
func takeGuard(id fileID, size int) (guard, bool) {
	guards.Lock()
	defer guards.Unlock()
	list, best := guards.free[id], -1
	for i, g := range list {
		if g.size >= size && (best < 0 || g.size < list[best].size) {
			best = i
		}
	}
	if best < 0 {
		return guard{}, false
	}
	g := list[best]
	list[best] = list[len(list)-1]
	guards.free[id] = list[:len(list)-1]
	return g, true
}

func putGuard(id fileID, g guard) {
	guards.Lock()
	defer guards.Unlock()
	if guards.free == nil {
		guards.free = map[fileID][]guard{}
	}
	guards.free[id] = append(guards.free[id], g)
}

// mapFile maps size bytes of f, shared, writable or not: over a guard that
// an earlier mapping of the same file left, if one is big enough. reserved
// is the length of the range the mapping occupies.
func mapFile(f *os.File, size int, writable bool) (mem []byte, id fileID, reserved int, err error) {
	if id, err = identify(f); err != nil {
		return nil, fileID{}, 0, err
	}
	prot := unix.PROT_READ
	if writable {
		prot |= unix.PROT_WRITE
	}
	if g, ok := takeGuard(id, size); ok {
		p, err := unix.MmapPtr(int(f.Fd()), 0, g.addr, uintptr(size), prot, unix.MAP_SHARED|unix.MAP_FIXED)
		if err != nil {
			// A failed MAP_FIXED may have unmapped the range: guard it again.
			if reserve(g.addr, g.size) == nil {
				putGuard(id, g)
			}
			return nil, fileID{}, 0, err
		}
		return unsafe.Slice((*byte)(p), size), id, g.size, nil
	}
	mem, err = unix.Mmap(int(f.Fd()), 0, size, prot, unix.MAP_SHARED)
	return mem, id, size, err
}

// unmapGuarded turns the reserved range starting at mem into a guard of
// file id.
func unmapGuarded(mem []byte, id fileID, reserved int) error {
	addr := unsafe.Pointer(unsafe.SliceData(mem))
	if err := reserve(addr, reserved); err != nil {
		return err
	}
	putGuard(id, guard{addr, reserved})
	return nil
}

// reserve makes size bytes at addr an inaccessible anonymous mapping.
func reserve(addr unsafe.Pointer, size int) error {
	_, err := unix.MmapPtr(-1, 0, addr, uintptr(size), unix.PROT_NONE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED|unix.MAP_NORESERVE)
	return err
}
