package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/dict"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

type score struct {
	Job   int32
	Grade ctypes.Char
	_     [3]byte
	Mean  float64
	Hist  [3]int16
	_     [2]byte
}

// inspect shows a dict's length, load and space, and its first entries in
// Python's, Go's and C's notation; a list's too; records field by field.
func TestInspectDict(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	name := proctest.Name(t)
	seg, err := shm.Create(name, 1<<16)
	require.NoError(t, err)
	defer seg.Close()
	defer dict.UnlinkAll(seg)
	d, err := dict.New(seg, "d")
	require.NoError(t, err)
	defer d.Close()
	require.NoError(t, d.Set("it's", []byte{0, 0xff, 'a'}))
	require.NoError(t, d.Set(int64(1), 2.0))
	l, err := dict.NewList(seg, "l")
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, l.Append(nil))
	require.NoError(t, l.Append("x"))
	r, err := dict.NewRecordMap[string, score](seg, "r")
	require.NoError(t, err)
	defer r.Close()
	require.NoError(t, r.Set("a", score{Job: 7, Grade: 'b', Mean: 0.5, Hist: [3]int16{-1, 0, 1}}))

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"inspect", "--json", name}, &out, &errOut), errOut.String())
	got := map[string]objectInfo{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var in objectInfo
		require.NoError(t, json.Unmarshal([]byte(line), &in))
		got[in.Name] = in
	}
	dd := got["d"].Dict
	require.NotNil(t, dd)
	assert.Equal(t, 2, got["d"].Len)
	assert.Equal(t, 8, dd.Slots)
	assert.InDelta(t, 0.25, dd.Load, 1e-9)
	assert.Positive(t, dd.UsedBytes)
	assert.ElementsMatch(t, []string{`"it's": b'\x00\xffa'`, `1: 2.0`}, dd.Python)
	assert.ElementsMatch(t, []string{`"it's": []byte("\x00\xffa")`, `int64(1): float64(2)`}, dd.Go)
	assert.ElementsMatch(t, []string{`STR "it's": BYTES 3 {0x00, 0xff, 0x61}`, `INT 1: FLOAT 2`}, dd.C)
	assert.Equal(t, []string{"None", "'x'"}, got["l"].Dict.Python)
	assert.Equal(t, []string{"nil", `"x"`}, got["l"].Dict.Go)
	assert.Equal(t, []string{"NONE", `STR "x"`}, got["l"].Dict.C)
	assert.Equal(t, []string{`'a': (7, b'b', 0.5, [-1, 0, 1])`}, got["r"].Dict.Python)
	assert.Equal(t, []string{`"a": score{Job: 7, Grade: b'b', Mean: 0.5, Hist: [-1, 0, 1]}`}, got["r"].Dict.Go)
	assert.Equal(t, []string{`STR "a": RECORD struct score {.Job = 7, .Grade = b'b', .Mean = 0.5, .Hist = [-1, 0, 1]}`}, got["r"].Dict.C)

	out.Reset()
	require.Equal(t, 0, run([]string{"inspect", name}, &out, &errOut), errOut.String())
	assert.Contains(t, out.String(), "load 0.25 of 8 slots, heap 65536 bytes")
	assert.Contains(t, out.String(), `python [None, 'x'], go []any{nil, "x"}, c [NONE, STR "x"]`)
}

// TestRmSparesFilesAHostileDictNames: rm removes a segment's dict heaps,
// but only files that open as that dict's heap. A segment whose dict
// names another file as its heap (here a segment of this test's, as
// another program's could be) no longer makes rm, run in a process of
// its own, remove that file; a real heap is still removed.
func TestRmSparesFilesAHostileDictNames(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	_, victim := proctest.Segment(t, 1<<16)
	name := proctest.Name(t)
	seg, err := shm.Create(name, 1<<16)
	require.NoError(t, err)
	defer seg.Close()
	t.Cleanup(func() { shm.Unlink(name) })
	hostile, err := dict.New(seg, "hostile")
	require.NoError(t, err)
	real, err := dict.New(seg, "real")
	require.NoError(t, err)
	heap := "/dev/shm/" + heapName(t, seg, "real")
	t.Cleanup(func() { os.Remove(heap) })
	require.NoError(t, hostile.Unlink()) // its own heap goes: only the victim is named now
	require.NoError(t, hostile.Close())
	require.NoError(t, real.Close())
	o, err := seg.Lookup("hostile")
	require.NoError(t, err)
	var r layout.DictRef
	ref := o.Bytes()
	clear(ref[:len(r.HeapName)])
	copy(ref, victim)

	out, err := proctest.Command(t, "shmkit", "rm", "--json", name).Output()
	assert.Error(t, err, "rm says a heap was left alone (exit status 1)")
	assert.Contains(t, string(out), `"removed":true`)
	_, err = os.Stat("/dev/shm/" + victim)
	assert.NoError(t, err, "rm removed a file a hostile dict named")
	_, err = os.Stat(heap)
	assert.ErrorIs(t, err, fs.ErrNotExist, "rm left a real dict's heap")
	_, err = os.Stat("/dev/shm/" + name)
	assert.ErrorIs(t, err, fs.ErrNotExist, "rm left the segment")
}

// heapName is the file name dict obj of seg names as its heap.
func heapName(t *testing.T, seg *shm.Segment, obj string) string {
	o, err := seg.Lookup(obj)
	require.NoError(t, err)
	b := o.Bytes()
	return string(b[:bytes.IndexByte(b, 0)])
}
