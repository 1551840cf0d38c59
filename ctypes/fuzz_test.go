package ctypes_test

import (
	"encoding/binary"
	"testing"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// FuzzObjectDescriptor writes arbitrary kind, typecode, flags, count and
// length into a value's directory entry, and an arbitrary record
// description (size, align and one field's typecode, offset and count)
// into an array of records, as a hostile process could; then it opens
// both typed and untyped and reads every element and every field of every
// record they claim to have. Either the open fails with an error or every
// read stays inside the segment, aligned: nothing panics.
func FuzzObjectDescriptor(f *testing.F) {
	proctest.NeedCgo(f, "a locked Value or Array (its lock is a pthread mutex)")
	type record struct {
		size, align uint32
		code        byte
		off, count  uint32
	}
	valid := record{64, 8, 'd', 8, 7}
	seeds := []struct {
		kind            uint16
		typecode, flags byte
		count, length   uint64
		rec             record
	}{
		{3, 'q', 0, 8, 64, valid}, {3, 'q', 1, 8, 128, valid}, {2, 'd', 0, 1, 64, record{16, 4, 'i', 4, 3}},
		{3, 'h', 1, 1 << 62, 64, record{1, 1, 'c', 0, 1}}, {3, 'x', 0, 0, 0, record{0, 0, 'T', 0, 0}},
	}
	for _, s := range seeds {
		f.Add(s.kind, s.typecode, s.flags, s.count, s.length, s.rec.size, s.rec.align, s.rec.code, s.rec.off, s.rec.count)
	}
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
	if _, err := ctypes.NewStructArray[wide](seg, "r", 2, ctypes.WithoutLock()); err != nil {
		f.Fatal(err)
	}
	r, err := seg.Lookup("r")
	if err != nil {
		f.Fatal(err)
	}
	mem := seg.Bytes()
	entry := mem[128:256] // directory entry 0 (cgo/shmkit.h)
	desc := r.Bytes()[r.Desc:]
	// Restore everything between inputs: the target is the descriptor,
	// and a lock overlapping data would otherwise carry scribbled mutex
	// bytes into the next input (see docs/reliability.md).
	pristine := append([]byte(nil), mem...)
	f.Fuzz(func(t *testing.T, kind uint16, typecode, flags byte, count, length uint64,
		size, align uint32, code byte, off, n uint32) {
		copy(mem, pristine)
		writeDesc(desc, size, align, []rawField{{"x", code, off, n}, {"y", 'B', 0, 1}})
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
		if o, err := ctypes.OpenObject(seg, "r"); err == nil {
			for i := range o.Len() {
				for _, f := range o.Layout.Fields {
					v := o.Field(i, f)
					for j := range v.Len() {
						v.Float64(j)
					}
				}
			}
		}
		if a, err := ctypes.OpenStructArray[wide](seg, "r", ctypes.WithoutLock()); err == nil {
			for i := range a.Len() {
				a.At(i)
			}
		}
	})
}
