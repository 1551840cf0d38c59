package shm_test

import (
	"encoding/binary"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// Offsets into the header and entry 0 (see cgo/shmkit.h).
const (
	offVersion  = 8
	offHdrSize  = 12
	offSegSize  = 16
	offCapacity = 24
	offCount    = 28
	offCursor   = 32
	offFlags    = 44
	entry0      = 128
	offName     = entry0 + 0
	offState    = entry0 + 64
	offOffset   = entry0 + 80
	offLength   = entry0 + 88
)

// corrupted builds a valid two-object segment, lets damage rewrite its bytes
// through a raw mapping, and returns the error Open gives.
func corrupted(t *testing.T, damage func(b []byte)) error {
	t.Helper()
	name := proctest.Name(t)
	seg, err := shm.Create(name, 1<<16, shm.WithCapacity(4))
	require.NoError(t, err)
	for _, n := range []string{"a", "b"} {
		_, err := seg.Alloc(shm.Request{Name: n, Kind: shm.KindBytes, Length: 64}, nil)
		require.NoError(t, err)
	}
	require.NoError(t, seg.Close())
	raw, err := shm.OpenRaw(name)
	require.NoError(t, err)
	damage(raw.Bytes())
	require.NoError(t, raw.Close())
	s, err := shm.Open(name)
	if err == nil {
		s.Close()
	}
	return err
}

func put32(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }
func put64(b []byte, off int, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }

func TestHostileSegments(t *testing.T) {
	dataStart := layout.DataStart(4)
	cases := []struct {
		name   string
		damage func(b []byte)
		want   error
	}{
		{"magic", func(b []byte) { b[0] ^= 0xff }, shm.ErrNotShmkit},
		{"version", func(b []byte) { put32(b, offVersion, 99) }, shm.ErrVersion},
		{"version 1 (sem_t semaphores)", func(b []byte) { put32(b, offVersion, 1) }, shm.ErrVersion},
		{"version 2 (sleepers counted without a generation)", func(b []byte) { put32(b, offVersion, 2) }, shm.ErrVersion},
		{"header size", func(b []byte) { put32(b, offHdrSize, 64) }, shm.ErrCorrupt},
		{"segment size larger", func(b []byte) { put64(b, offSegSize, 1<<40) }, shm.ErrCorrupt},
		{"segment size smaller", func(b []byte) { put64(b, offSegSize, 4096) }, shm.ErrCorrupt},
		{"flags", func(b []byte) { put32(b, offFlags, 1) }, shm.ErrCorrupt},
		{"capacity beyond file", func(b []byte) { put32(b, offCapacity, 1<<20) }, shm.ErrCorrupt},
		{"count beyond capacity", func(b []byte) { put32(b, offCount, 5) }, shm.ErrCorrupt},
		{"cursor beyond file", func(b []byte) { put64(b, offCursor, 1<<17) }, shm.ErrCorrupt},
		{"cursor inside directory", func(b []byte) { put64(b, offCursor, 128) }, shm.ErrCorrupt},
		{"cursor unaligned", func(b []byte) { put64(b, offCursor, dataStart+200) }, shm.ErrCorrupt},
		{"entry beyond file", func(b []byte) { put64(b, offOffset, 1<<16) }, shm.ErrCorrupt},
		{"entry overflows", func(b []byte) { put64(b, offLength, ^uint64(0)-63) }, shm.ErrCorrupt},
		{"entry over header", func(b []byte) { put64(b, offOffset, 0) }, shm.ErrCorrupt},
		{"entry in directory", func(b []byte) { put64(b, offOffset, 128) }, shm.ErrCorrupt},
		{"entry unaligned", func(b []byte) { put64(b, offOffset, dataStart+8) }, shm.ErrCorrupt},
		{"entry empty", func(b []byte) { put64(b, offLength, 0) }, shm.ErrCorrupt},
		{"entries overlap", func(b []byte) { put64(b, offLength, 128) }, shm.ErrCorrupt},
		{"name without NUL", func(b []byte) {
			for i := range 64 {
				b[offName+i] = 'x'
			}
		}, shm.ErrCorrupt},
		{"empty name", func(b []byte) { b[offName] = 0 }, shm.ErrCorrupt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.ErrorIs(t, corrupted(t, c.damage), c.want)
		})
	}
	// An unpublished entry is ignored, not an error.
	assert.NoError(t, corrupted(t, func(b []byte) { put32(b, offState, 0) }))
}

// Another process truncates a segment we have mapped: our views past the
// new end fault (SIGBUS) rather than read anything; a new Open refuses it.
func TestTruncatedWhileMapped(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<16)
	obj, err := seg.Alloc(shm.Request{Name: "big", Kind: shm.KindBytes, Length: 32 << 10}, nil)
	require.NoError(t, err)
	view := obj.Bytes()
	require.NoError(t, os.Truncate("/dev/shm/"+name, 4096))
	assert.True(t, faults(func() { sink = view[len(view)-1] }), "past the end: SIGBUS, turned into a panic here")
	_, err = shm.Open(name)
	assert.ErrorIs(t, err, shm.ErrCorrupt)
}

func TestTruncatedSegmentIsCorrupt(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<16)
	require.NoError(t, seg.Close())
	require.NoError(t, os.Truncate("/dev/shm/"+name, 1<<15))
	_, err := shm.Open(name)
	assert.ErrorIs(t, err, shm.ErrCorrupt)
}

// A process that published an entry but died before counting it left a
// complete object behind: the next allocator counts it instead of
// overwriting it.
func TestAllocAdoptsUncountedEntry(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<16, shm.WithCapacity(4))
	for _, n := range []string{"a", "b"} {
		_, err := seg.Alloc(shm.Request{Name: n, Kind: shm.KindBytes, Length: 64}, nil)
		require.NoError(t, err)
	}
	put32(seg.Bytes(), offCount, 1) // "b" is published but not counted
	_, err := seg.Lookup("b")
	require.ErrorIs(t, err, shm.ErrObjectNotFound)
	_, err = seg.Alloc(shm.Request{Name: "c", Kind: shm.KindBytes, Length: 64}, nil)
	require.NoError(t, err)
	other, err := shm.Open(name)
	require.NoError(t, err)
	defer other.Close()
	objs, err := other.Objects()
	require.NoError(t, err)
	require.Len(t, objs, 3)
	assert.Equal(t, "b", objs[1].Name)
}
