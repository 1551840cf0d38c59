package ctypes_test

import (
	"encoding/binary"
	"testing"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// FuzzObjectDescriptor writes arbitrary kind, typecode, flags, count and
// length into a value's directory entry, as a hostile process could, then
// opens it typed and untyped and reads every element it claims to have.
// Either the open fails or every element read stays inside the segment.
func FuzzObjectDescriptor(f *testing.F) {
	proctest.NeedCgo(f, "a locked Value or Array (its lock is a pthread mutex)")
	f.Add(uint16(3), byte('q'), byte(0), uint64(8), uint64(64))
	f.Add(uint16(3), byte('q'), byte(1), uint64(8), uint64(128))
	f.Add(uint16(2), byte('d'), byte(0), uint64(1), uint64(64))
	f.Add(uint16(3), byte('h'), byte(1), uint64(1<<62), uint64(64))
	f.Add(uint16(3), byte('x'), byte(0), uint64(0), uint64(0))
	name := proctest.Name(f)
	seg, err := shm.Create(name, 1<<16, shm.WithCapacity(4))
	if err != nil {
		f.Fatal(err)
	}
	defer seg.Close()
	if err := seg.Unlink(); err != nil { // fuzz workers are killed: drop the name now
		f.Fatal(err)
	}
	if _, err := ctypes.NewArray[int64](seg, "a", 8); err != nil {
		f.Fatal(err)
	}
	mem := seg.Bytes()
	entry := mem[128:256] // directory entry 0 (cgo/shmkit.h)
	// Restore everything between inputs: the target is the descriptor,
	// and a lock overlapping data would otherwise carry scribbled mutex
	// bytes into the next input (see docs/reliability.md).
	pristine := append([]byte(nil), mem...)
	f.Fuzz(func(t *testing.T, kind uint16, typecode, flags byte, count, length uint64) {
		copy(mem, pristine)
		binary.LittleEndian.PutUint16(entry[68:], kind)
		entry[70], entry[71] = typecode, flags
		binary.LittleEndian.PutUint64(entry[72:], count)
		binary.LittleEndian.PutUint64(entry[88:], length)
		if o, err := ctypes.OpenObject(seg, "a"); err == nil {
			for i := range o.Len() {
				o.Float64(i)
			}
		}
		if a, err := ctypes.OpenRawArray[int64](seg, "a"); err == nil {
			sum := int64(0)
			for _, v := range a.Slice() {
				sum += v
			}
			_ = sum
		}
		if a, err := ctypes.OpenArray[int16](seg, "a"); err == nil && a.Len() > 0 {
			a.Raw().Set(a.Len()-1, 1) // without the lock, which may overlap the data
		}
	})
}
