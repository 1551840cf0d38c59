package dict_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/dict"
	"github.com/shmkit/shmkit/internal/elem"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// result is a row of a results table: a record of the element types.
type result struct {
	Job    int32
	Status ctypes.Char
	_      [3]byte
	Score  float64
	Hist   [4]uint16
}

// otherResult has the same size as result and another field where Score is.
type otherResult struct {
	Job    int32
	Status ctypes.Char
	_      [3]byte
	Count  int64
	Hist   [4]uint16
}

// helperRecords stores result records "job<i>" for i in [0, args[2]) in
// dict args[1], then doubles each one's Score with Update.
func helperRecords(args []string) int {
	seg := proctest.OpenSegment(args[0])
	defer seg.Close()
	m, err := dict.OpenRecordMap[string, result](seg, args[1])
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	defer m.Close()
	n, _ := strconv.Atoi(args[2])
	for i := range n {
		r := result{Job: int32(i), Status: 'd', Score: float64(i) / 4, Hist: [4]uint16{uint16(i), 1, 2, 3}}
		if err := m.Set("job"+strconv.Itoa(i), r); err != nil {
			return proctest.Fail("set: %v", err)
		}
	}
	for i := range n {
		if _, err := m.Update("job"+strconv.Itoa(i), func(r *result, ok bool) { r.Score *= 2 }); err != nil {
			return proctest.Fail("update: %v", err)
		}
	}
	return 0
}

// Records written by another process read back field for field, typed
// (RecordMap) and dynamic (Dict's Record, with the layout); a struct of
// another layout is refused naming the field.
func TestRecordMap(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	m, err := dict.NewRecordMap[string, result](seg, "results")
	require.NoError(t, err)
	t.Cleanup(func() { m.Unlink(); m.Close() })
	proctest.Output(t, "dict-records", name, "results", "100")
	n, err := m.Len()
	require.NoError(t, err)
	assert.Equal(t, 100, n)
	for i := range 100 {
		r, ok, err := m.Get("job" + strconv.Itoa(i))
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, result{Job: int32(i), Status: 'd', Score: float64(i) / 2, Hist: [4]uint16{uint16(i), 1, 2, 3}}, r)
	}
	seen := 0
	require.NoError(t, m.Range(func(k string, r result) bool { seen++; return r.Status == 'd' }))
	assert.Equal(t, 100, seen)

	d, err := dict.Open(seg, "results")
	require.NoError(t, err)
	defer d.Close()
	v, ok, err := d.Get("job3")
	require.NoError(t, err)
	require.True(t, ok)
	rec, isRecord := v.(dict.Record)
	require.True(t, isRecord, "%T", v)
	assert.Equal(t, m.Layout(), rec.Layout)
	assert.Len(t, rec.Data, 24)
	// A Record written through Dict reads back through the RecordMap.
	require.NoError(t, d.Set("copy", rec))
	r, ok, err := m.Get("copy")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, int32(3), r.Job)

	other, err := dict.OpenRecordMap[string, otherResult](seg, "results")
	require.NoError(t, err)
	defer other.Close()
	_, _, err = other.Get("job1")
	assert.ErrorIs(t, err, dict.ErrType)
	assert.ErrorContains(t, err, "Count")
	require.NoError(t, d.Set("text", "not a record"))
	_, _, err = m.Get("text")
	assert.ErrorIs(t, err, dict.ErrType)

	// Bad records never reach the heap.
	bad := rec
	bad.Data = rec.Data[:5]
	assert.ErrorIs(t, d.Set("bad", bad), dict.ErrType)
	bad = rec
	bad.Layout.Fields = append([]ctypes.Field{}, rec.Layout.Fields...)
	bad.Layout.Fields[1].Offset = 1000
	assert.ErrorIs(t, d.Set("bad", bad), dict.ErrType)
	_, err = dict.NewRecordMap[string, struct{ S string }](seg, "strings")
	assert.True(t, errors.Is(err, dict.ErrType), "%v", err)
	_, err = seg.Lookup("strings")
	assert.ErrorIs(t, err, shm.ErrObjectNotFound, "a refused RecordMap leaves nothing behind")
}

// A record is a value, never a key: every Dict method given one as a key
// is ErrType and changes nothing. It was ErrTooLarge, from the C
// library's EINVAL.
func TestRecordKeyIsErrType(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, _ := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "d")
	require.NoError(t, d.Set("a", int64(1)))
	l, err := elem.LayoutOf[result]()
	require.NoError(t, err)
	r := dict.Record{Layout: l, Data: make([]byte, l.Size)}
	_, _, errGet := d.Get(r)
	_, errDelete := d.Delete(r)
	_, _, errLoad := d.LoadOrStore(r, 1)
	_, errCAS := d.CompareAndSwap(r, 1, 2)
	_, errUpdate := d.Update(r, func(any, bool) (any, error) { return 1, nil })
	_, errAdd := d.Add(r, 1)
	for what, err := range map[string]error{"set": d.Set(r, 1), "get": errGet, "delete": errDelete,
		"load or store": errLoad, "compare and swap": errCAS, "update": errUpdate, "add": errAdd} {
		assert.ErrorIs(t, err, dict.ErrType, what)
		assert.NotErrorIs(t, err, dict.ErrTooLarge, what)
	}
	n, err := d.Len()
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	require.NoError(t, d.Set("rec", r), "a record is a value")
}
