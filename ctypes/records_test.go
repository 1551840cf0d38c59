package ctypes_test

import (
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

type vec3 struct{ X, Y, Z float64 }

// particle is the records' test type: nested structs, arrays of scalars and
// of structs, every width, a tag, a named element type and padding.
type particle struct {
	Pos    vec3
	Vel    [3]float32
	ID     int64
	Kind   ctypes.Char `shmkit:"kind"`
	_      [3]byte
	Charge int32
	Hist   [2]struct{ T uint16 }
	Energy float64
}

func TestLayoutOfARecord(t *testing.T) {
	l, err := ctypes.LayoutOf[particle]()
	require.NoError(t, err)
	assert.Equal(t, 72, l.Size)
	assert.Equal(t, 8, l.Align)
	assert.Equal(t, "particle", l.TypeName)
	field := func(name string, c ctypes.Typecode, off, n int) ctypes.Field {
		return ctypes.Field{Name: name, Typecode: c, Offset: off, Count: n}
	}
	assert.Equal(t, []ctypes.Field{
		field("Pos.X", 'd', 0, 1), field("Pos.Y", 'd', 8, 1), field("Pos.Z", 'd', 16, 1),
		field("Vel", 'f', 24, 3), field("ID", 'q', 40, 1), field("kind", 'c', 48, 1), field("Charge", 'i', 52, 1),
		field("Hist[0].T", 'H', 56, 1), field("Hist[1].T", 'H', 58, 1), field("Energy", 'd', 64, 1),
	}, l.Fields)
	assert.Contains(t, l.String(), "float Vel[3];")
}

func TestRecordsRefuseTypesWithoutFixedMeaning(t *testing.T) {
	seg, _ := newSeg(t)
	type withInt struct{ A, N int }
	type withString struct{ S string }
	type withPointer struct{ P *int64 }
	type withSlice struct{ S []float64 }
	type withMap struct{ M map[int64]int64 }
	type withBool struct{ B bool }
	type withAny struct{ V any }
	type nested struct{ In struct{ P *byte } }
	check := func(err error, field string) {
		t.Helper()
		require.ErrorIs(t, err, ctypes.ErrUnsupportedType)
		assert.Contains(t, err.Error(), field)
	}
	_, err := ctypes.NewStructValue(seg, "a", withInt{})
	check(err, "A: int")
	_, err = ctypes.NewStructValue(seg, "b", withString{})
	check(err, "S: string")
	_, err = ctypes.NewStructArray[withPointer](seg, "c", 2)
	check(err, "P: *int64")
	_, err = ctypes.NewStructArray[withSlice](seg, "d", 2)
	check(err, "S: []float64")
	_, err = ctypes.NewStructValue(seg, "e", withMap{})
	check(err, "M: map")
	_, err = ctypes.NewStructValue(seg, "f", withBool{})
	check(err, "B: bool")
	_, err = ctypes.NewStructValue(seg, "g", withAny{})
	check(err, "V: interface")
	_, err = ctypes.NewStructValue(seg, "h", nested{})
	check(err, "In.P")
	_, err = ctypes.NewStructValue(seg, "i", 3.0)
	check(err, "float64 is not a struct")
	type long struct {
		AVeryLongFieldNameThatGoesOnAndOnAndOnAndOnAndOn int64
	}
	_, err = ctypes.NewStructValue(seg, "j", long{})
	check(err, "shmkit:")
	objs, err := seg.Objects()
	require.NoError(t, err)
	assert.Empty(t, objs, "nothing was made")
}

func TestRecordOfAnotherLayoutIsAMismatch(t *testing.T) {
	proctest.NeedCgo(t, "a locked Value or Array (its lock is a pthread mutex)")
	seg, _ := newSeg(t)
	_, err := ctypes.NewStructArray[particle](seg, "p", 4)
	require.NoError(t, err)

	type renamed struct {
		Pos    vec3
		Vel    [3]float32
		ID     int64
		Sort   ctypes.Char
		_      [3]byte
		Charge int32
		Hist   [2]struct{ T uint16 }
		Energy float64
	}
	_, err = ctypes.OpenStructArray[renamed](seg, "p")
	require.ErrorIs(t, err, ctypes.ErrTypeMismatch)
	assert.Contains(t, err.Error(), "field 5 is Sort (c at 48) in renamed, kind (c at 48)")

	type narrower struct {
		Pos vec3
		Vel [3]float64
	}
	_, err = ctypes.OpenStructArray[narrower](seg, "p")
	require.ErrorIs(t, err, ctypes.ErrTypeMismatch)
	assert.Contains(t, err.Error(), "field Vel is 3×d at 24")

	_, err = ctypes.OpenStructValue[particle](seg, "p")
	require.ErrorIs(t, err, shm.ErrKindMismatch)
	_, err = ctypes.OpenArray[float64](seg, "p")
	require.ErrorIs(t, err, ctypes.ErrTypeMismatch)

	_, err = ctypes.NewArray[float64](seg, "f", 9)
	require.NoError(t, err)
	_, err = ctypes.OpenStructArray[particle](seg, "f")
	require.ErrorIs(t, err, ctypes.ErrTypeMismatch)

	a, err := ctypes.OpenStructArray[particle](seg, "p")
	require.NoError(t, err)
	assert.Equal(t, 4, a.Len())
}

// A corrupt description is ErrCorrupt for the opener, never a fault.
func TestCorruptRecordDescription(t *testing.T) {
	proctest.NeedCgo(t, "a locked Value or Array (its lock is a pthread mutex)")
	seg, _ := newSeg(t)
	_, err := ctypes.NewStructValue(seg, "v", particle{ID: 7})
	require.NoError(t, err)
	obj, err := seg.Lookup("v")
	require.NoError(t, err)
	mem := obj.Bytes()
	desc := int(obj.Desc)
	for _, c := range []struct {
		name string
		off  int
		val  byte
	}{
		{"size zero", desc + 48, 0}, {"align 3", desc + 52, 3}, {"no fields", desc + 56, 0},
		{"many fields", desc + 57, 0xFF}, {"field past size", desc + 64 + 48, 250},
		{"bad field typecode", desc + 64 + 56, 'T'}, {"empty field name", desc + 64, 0},
	} {
		saved := append([]byte(nil), mem[desc:]...)
		if c.name == "size zero" {
			mem[c.off+1] = 0
		}
		mem[c.off] = c.val
		_, err := ctypes.OpenStructValue[particle](seg, "v")
		assert.ErrorIs(t, err, shm.ErrCorrupt, c.name)
		_, err = ctypes.OpenObject(seg, "v") // as tools open it
		assert.ErrorIs(t, err, shm.ErrCorrupt, c.name)
		copy(mem[desc:], saved)
	}
	v, err := ctypes.OpenStructValue[particle](seg, "v")
	require.NoError(t, err)
	p, err := v.Get()
	require.NoError(t, err)
	assert.Equal(t, int64(7), p.ID)
	o, err := ctypes.OpenObject(seg, "v")
	require.NoError(t, err)
	require.NotNil(t, o.Layout)
	assert.Equal(t, v.Layout(), *o.Layout)
	assert.Equal(t, 1, o.Len())
	for _, f := range o.Layout.Fields {
		if f.Name == "ID" {
			assert.Equal(t, int64(7), o.Field(0, f).Int64(0))
		}
	}
}

// entryNamed is the directory entry of the object name, for tests that
// scribble on it.
func entryNamed(t *testing.T, seg *shm.Segment, name string) *layout.Entry {
	mem := seg.Bytes()
	for i := range layout.HeaderOf(mem).DirCapacity {
		if e := layout.EntryOf(mem, i); string(e.Name[:len(name)+1]) == name+"\x00" {
			return e
		}
	}
	t.Fatalf("no entry %q", name)
	return nil
}

// A description that points into the data or the ring is corrupt, for the
// typed opens and for the tools, which learn the record size from the
// description before they know where the data ends.
func TestRecordDescriptionInsideTheData(t *testing.T) {
	proctest.NeedCgo(t, "a locked Value or Array (its lock is a pthread mutex)")
	seg, _ := newSeg(t)
	_, err := ctypes.NewStructArray[particle](seg, "a", 8)
	require.NoError(t, err)
	_, err = channel.New[particle](seg, "ch", 4, 2)
	require.NoError(t, err)
	for _, name := range []string{"a", "ch"} {
		// A copy of the valid description, 64 bytes into the object.
		obj, err := seg.Lookup(name)
		require.NoError(t, err)
		mem := obj.Bytes()
		saved := append([]byte(nil), mem...)
		copy(mem[64:], saved[obj.Desc:])
		e := entryNamed(t, seg, name)
		e.Desc = 64
		if name == "a" {
			_, err = ctypes.OpenStructArray[particle](seg, name)
			assert.ErrorIs(t, err, shm.ErrCorrupt)
			_, err = ctypes.OpenObject(seg, name)
			assert.ErrorIs(t, err, shm.ErrCorrupt)
		} else {
			_, err = channel.Open[particle](seg, name)
			assert.ErrorIs(t, err, shm.ErrCorrupt)
			_, err = channel.Inspect(seg, name)
			assert.ErrorIs(t, err, shm.ErrCorrupt)
		}
		e.Desc = obj.Desc
		copy(mem, saved)
	}
	_, err = ctypes.OpenObject(seg, "a")
	assert.NoError(t, err)
	_, err = channel.Inspect(seg, "ch")
	assert.NoError(t, err)
}

// helperParticles adds 1 to every record's ID and Energy args[1] times,
// one record at a time under the array's lock.
func helperParticles(args []string) int {
	seg := openSeg(args[0])
	a, err := ctypes.OpenStructArray[particle](seg, "p")
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	k, _ := strconv.Atoi(args[1])
	for range k {
		for i := range a.Len() {
			err := a.Update(func(r []particle) { r[i].ID++; r[i].Energy += 1; r[i].Vel[2] -= 1 })
			if err != nil {
				return proctest.Fail("update: %v", err)
			}
		}
	}
	return 0
}

// Records are shared between processes: four processes update the same
// array under its lock, and every update is counted.
func TestStructArrayAcrossProcesses(t *testing.T) {
	proctest.NeedCgo(t, "a locked Value or Array (its lock is a pthread mutex)")
	seg, name := newSeg(t)
	init := make([]particle, 8)
	for i := range init {
		init[i] = particle{Pos: vec3{float64(i), 0, 0}, Kind: 'e', Charge: -1}
	}
	a, err := ctypes.NewStructArrayFrom(seg, "p", init)
	require.NoError(t, err)
	const procs, k = 4, 200
	var wg sync.WaitGroup
	for range procs {
		wg.Add(1)
		go func() { defer wg.Done(); proctest.Output(t, "particles", name, strconv.Itoa(k)) }()
	}
	wg.Wait()
	for i := range a.Len() {
		p, err := a.At(i)
		require.NoError(t, err)
		assert.Equal(t, particle{Pos: vec3{float64(i), 0, 0}, Kind: 'e', Charge: -1, ID: procs * k,
			Energy: procs * k, Vel: [3]float32{0, 0, -procs * k}}, p)
	}
}

func TestStructValue(t *testing.T) {
	proctest.NeedCgo(t, "a locked Value or Array (its lock is a pthread mutex)")
	seg, _ := newSeg(t)
	v, err := ctypes.NewStructValue(seg, "v", particle{ID: 1})
	require.NoError(t, err)
	require.NoError(t, v.Update(func(p *particle) { p.ID += 41; p.Hist[1].T = 9 }))
	w, err := ctypes.OpenStructValue[particle](seg, "v")
	require.NoError(t, err)
	p, err := w.Get()
	require.NoError(t, err)
	assert.Equal(t, int64(42), p.ID)
	assert.Equal(t, uint16(9), w.Ptr().Hist[1].T)
	require.NoError(t, w.Set(particle{ID: 5}))
	p, _ = v.Get()
	assert.Equal(t, particle{ID: 5}, p)
	assert.Equal(t, v.Layout(), w.Layout())

	raw, err := ctypes.NewStructValue(seg, "raw", vec3{1, 2, 3}, ctypes.WithoutLock())
	require.NoError(t, err)
	x, err := raw.Get()
	require.NoError(t, err)
	assert.Equal(t, vec3{1, 2, 3}, x)
	require.ErrorIs(t, raw.Lock(), ctypes.ErrNoLock)
	_, err = ctypes.OpenStructValue[vec3](seg, "raw")
	require.ErrorIs(t, err, ctypes.ErrNoLock)

	ro, err := shm.Open(seg.Name(), shm.WithReadOnly())
	require.NoError(t, err)
	defer ro.Close()
	r, err := ctypes.OpenStructValue[vec3](ro, "raw", ctypes.WithoutLock())
	require.NoError(t, err)
	require.ErrorIs(t, r.Set(vec3{}), shm.ErrReadOnly)
	x, err = r.Get()
	require.NoError(t, err)
	assert.Equal(t, vec3{1, 2, 3}, x)
}
