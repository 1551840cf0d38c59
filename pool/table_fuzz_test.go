package pool

import (
	"errors"
	"strconv"
	"testing"

	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// FuzzWorkerTable writes arbitrary bytes over a pool's worker table, as a
// foreign driver or a hostile process could, in objects of lengths
// from one byte to a few rows, then reads it as Inspect (shmkit inspect) and a
// starting worker (openRow) do. Each gives a state, ErrNotPool or ErrVersion and stays
// inside the object; nothing panics.
func FuzzWorkerTable(f *testing.F) {
	image := func(workers uint32, rows int) []byte {
		b := make([]byte, layout.PoolTableSize(rows))
		h, _ := layout.PoolTable(b, 0)
		h.Magic.Store(layout.PoolMagic)
		h.Workers, h.Version = workers, layout.PoolVersion
		return b
	}
	f.Add(image(2, 2), uint8(1))
	f.Add(image(3, 2), uint8(2))
	f.Add(image(1<<31, 1), uint8(0))
	f.Add(image(^uint32(0), 4), uint8(3))
	f.Add(image(0, 1), uint8(0))
	f.Add([]byte{}, uint8(0))
	f.Add(image(2, 2)[:layout.PoolSize-1], uint8(0))
	// One segment per length of the table object; fuzz workers are
	// killed, not ended, so each name is dropped once its object is made.
	var segs []*shm.Segment
	for i, n := range []int{1, 64, layout.PoolSize - 1, layout.PoolSize, layout.PoolTableSize(1) - 1,
		layout.PoolTableSize(1), layout.PoolTableSize(2), layout.PoolTableSize(4) + 7} {
		seg, err := shm.Create(proctest.Name(f)+"-"+strconv.Itoa(i), 1<<14)
		if err != nil {
			f.Fatal(err)
		}
		defer seg.Close()
		if err := seg.Unlink(); err != nil {
			f.Fatal(err)
		}
		if _, err := seg.Alloc(shm.Request{Name: tableName, Kind: shm.KindBytes, Length: uint64(n)}, nil); err != nil {
			f.Fatal(err)
		}
		segs = append(segs, seg)
	}
	f.Fuzz(func(t *testing.T, data []byte, slot uint8) {
		for _, s := range segs {
			obj, err := s.Lookup(tableName)
			if err != nil {
				t.Fatal(err)
			}
			mem := obj.Bytes()
			clear(mem)
			copy(mem, data)
			st, err := Inspect(s)
			if err != nil {
				if !errors.Is(err, ErrNotPool) && !errors.Is(err, ErrVersion) {
					t.Errorf("%d bytes: Inspect: %v", len(mem), err)
				}
				continue
			}
			if layout.PoolTableSize(len(st.Workers)) > len(mem) {
				t.Errorf("%d bytes: %d workers", len(mem), len(st.Workers))
			}
			if _, rows, err := table(s); err != nil || len(rows) != len(st.Workers) {
				t.Errorf("%d bytes: table: %d rows, %v", len(mem), len(rows), err)
			} else if int(slot) < len(rows) {
				rows[slot].Done.Add(1) // a worker's row is inside the object
			}
		}
	})
}
