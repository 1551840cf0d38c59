package ctypes_test

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/proctest"
)

// Object.Bytes is for a tool that does not know the element type and
// still copies, compares or hashes an object's elements: exactly the
// elements' bytes (no lock, no record description), live, and for a
// record's field only that field's.
func TestObjectBytes(t *testing.T) {
	proctest.NeedCgo(t, "a locked Array (its lock is a pthread mutex)")
	seg, _ := newSeg(t)
	a, err := ctypes.NewArrayFrom(seg, "a", []int32{1, -2})
	require.NoError(t, err)
	o, err := ctypes.OpenObject(seg, "a")
	require.NoError(t, err)
	require.True(t, o.Locked)
	b := o.Bytes()
	require.Len(t, b, 8, "two int32s, without the lock beside them")
	assert.Equal(t, []int32{1, -2}, []int32{int32(binary.LittleEndian.Uint32(b)), int32(binary.LittleEndian.Uint32(b[4:]))})
	require.NoError(t, a.Set(1, 7))
	assert.Equal(t, uint32(7), binary.LittleEndian.Uint32(o.Bytes()[4:]), "a live view")

	type pair struct{ A, B int64 }
	_, err = ctypes.NewStructArrayFrom(seg, "p", []pair{{1, 2}, {3, 4}})
	require.NoError(t, err)
	po, err := ctypes.OpenObject(seg, "p")
	require.NoError(t, err)
	require.Len(t, po.Bytes(), 32, "two records, without the lock or the description")
	f := po.Field(1, po.Layout.Fields[1])
	assert.Equal(t, uint64(4), binary.LittleEndian.Uint64(f.Bytes()))
	assert.Len(t, f.Bytes(), 8)
}
