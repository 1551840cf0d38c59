package ctypes_test

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/elem"
	"github.com/shmkit/shmkit/shm"
)

// wide is a record of eight float64 fields, 64 bytes: room for hostile
// descriptions of up to eight fields and records of up to 64 bytes.
type wide struct{ A, B, C, D, E, F, G, H float64 }

// rawField is one field record as a hostile process writes it.
type rawField struct {
	name   string
	code   byte
	offset uint32
	count  uint32
}

// writeDesc writes a description of records of size bytes into mem, the
// description's place in its object (cgo/shmkit.h, struct shmkit_struct_desc).
func writeDesc(mem []byte, size, align uint32, fields []rawField) {
	clear(mem)
	copy(mem, "hostile")
	binary.LittleEndian.PutUint32(mem[48:], size)
	binary.LittleEndian.PutUint32(mem[52:], align)
	binary.LittleEndian.PutUint32(mem[56:], uint32(len(fields)))
	for i, f := range fields {
		r := mem[64+64*i:]
		copy(r[:47], f.name)
		binary.LittleEndian.PutUint32(r[48:], f.offset)
		binary.LittleEndian.PutUint32(r[52:], f.count)
		r[56] = f.code
	}
}

// A description that the per-field checks pass but that no process can
// read safely is ErrCorrupt for every Go reader, never a panic: a field
// aligned in the first record and misaligned in every later one (the
// record's size is no multiple of the field's); two fields of one name
// (numpy and ctypes cannot make a type of them); fields that overlap or
// are out of offset order (a ctypes.Structure cannot hold them).
func TestHostileRecordDescription(t *testing.T) {
	seg, _ := newSeg(t)
	_, err := ctypes.NewStructArray[wide](seg, "a", 2, ctypes.WithoutLock())
	require.NoError(t, err)
	obj, err := seg.Lookup("a")
	require.NoError(t, err)
	desc := obj.Bytes()[obj.Desc:]
	saved := append([]byte(nil), desc...)
	for _, c := range []struct {
		name        string
		size, align uint32
		fields      []rawField
	}{
		{"float64 in 41-byte records", 41, 1, []rawField{{"x", 'd', 0, 1}}},
		{"int32 in 42-byte records", 42, 2, []rawField{{"x", 'i', 0, 1}}},
		{"uint32 in 6-byte records", 6, 2, []rawField{{"x", 'i', 0, 1}, {"c", 'H', 4, 1}}},
		{"float64 pair in 20-byte records", 20, 4, []rawField{{"x", 'd', 0, 2}, {"n", 'i', 16, 1}}},
		{"duplicate name", 16, 8, []rawField{{"x", 'd', 0, 1}, {"x", 'd', 8, 1}}},
		{"duplicate name apart", 24, 8, []rawField{{"x", 'd', 0, 1}, {"y", 'd', 8, 1}, {"x", 'q', 16, 1}}},
		{"overlapping fields", 16, 8, []rawField{{"x", 'd', 0, 2}, {"y", 'd', 8, 1}}},
		{"out of offset order", 16, 8, []rawField{{"y", 'd', 8, 1}, {"x", 'd', 0, 1}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			writeDesc(desc, c.size, c.align, c.fields)
			defer copy(desc, saved)
			o, err := ctypes.OpenObject(seg, "a")
			if err == nil { // the reads that panicked
				for i := range o.Len() {
					for _, f := range o.Layout.Fields {
						o.Field(i, f).Float64(0)
					}
				}
			}
			assert.ErrorIs(t, err, shm.ErrCorrupt)
			_, err = ctypes.OpenStructArray[wide](seg, "a", ctypes.WithoutLock())
			assert.ErrorIs(t, err, shm.ErrCorrupt)
			_, err = elem.RecordLayout(obj, 0)
			assert.ErrorIs(t, err, shm.ErrCorrupt)
		})
	}
	o, err := ctypes.OpenObject(seg, "a")
	require.NoError(t, err)
	assert.Equal(t, 2, o.Len())
}

// A record type whose tags give two fields one name cannot be described.
func TestRecordWithDuplicateFieldNames(t *testing.T) {
	type twice struct {
		A float64 `shmkit:"x"`
		B float64 `shmkit:"x"`
	}
	_, err := ctypes.LayoutOf[twice]()
	assert.ErrorIs(t, err, ctypes.ErrUnsupportedType)
}
