package segment

import (
	"testing"
	"unsafe"

	"github.com/shmkit/shmkit/internal/layout"
)

// FuzzParse feeds arbitrary bytes to the header and directory validation that
// Open uses, and to lookup and allocation over whatever passes: none of them
// may panic or touch memory outside the bytes, whatever the bytes say.
func FuzzParse(f *testing.F) {
	valid := func(capacity uint32, objects int) []byte {
		b := make([]byte, 16384)
		h := layout.HeaderOf(b)
		h.Version, h.HeaderSize, h.SegmentSize, h.DirCapacity = layout.Version, uint32(layout.HeaderSize), uint64(len(b)), capacity
		cur := layout.DataStart(capacity)
		for i := range objects {
			e := layout.EntryOf(b, uint32(i))
			copy(e.Name[:], []byte{'o', byte('a' + i)})
			e.Kind, e.Offset, e.Length = layout.KindBytes, cur, 64
			e.State.Store(layout.EntryReady)
			cur += 64
		}
		h.DirCount.Store(uint32(objects))
		h.AllocCursor.Store(cur)
		h.Magic.Store(layout.Magic)
		return b
	}
	f.Add(valid(4, 0))
	f.Add(valid(4, 3))
	f.Add(valid(16, 16))
	f.Add([]byte("SHMKIT\x00\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		// Copy into 8-byte-aligned memory, as a mapping would be.
		words := make([]uint64, len(data)/8+1)
		b := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8)[:len(data)]
		copy(b, data)
		g, err := parseHeader(b, int64(len(b)))
		if err != nil {
			return
		}
		objs, err := g.entries(b)
		if err != nil {
			return
		}
		for _, o := range objs {
			if o.Offset < g.dataStart || o.Offset+o.Length > uint64(len(b)) || len(o.mem) != int(o.Length) {
				t.Fatalf("object %q at %d+%d escapes %d bytes", o.Name, o.Offset, o.Length, len(b))
			}
		}
		s := &Segment{name: "/fuzz", mem: b, geo: g}
		if len(objs) > 0 {
			if _, err := s.Lookup(objs[0].Name); err != nil {
				t.Fatalf("lookup of a listed object: %v", err)
			}
		}
	})
}
