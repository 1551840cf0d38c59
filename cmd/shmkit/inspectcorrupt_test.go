package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/dict"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// inspect of a segment whose dicts' heaps lie, whose list's array is
// longer than its room, whose dict names a heap that is gone and whose
// pool table is a header alone: every object is listed, the broken ones
// with an error; the command never panics.
func TestInspectCorruptDictsAndPoolTable(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	name := proctest.Name(t)
	seg, err := shm.Create(name, 1<<16)
	require.NoError(t, err)
	defer seg.Close()
	defer dict.UnlinkAll(seg)
	var h layout.DictHeap
	spoil := func(obj string, off int64, v uint64) { // writes v at off in obj's heap
		o, err := seg.Lookup(obj)
		require.NoError(t, err)
		heap := string(o.Bytes()[:bytes.IndexByte(o.Bytes(), 0)])
		f, err := os.OpenFile("/dev/shm/"+heap, os.O_RDWR, 0)
		require.NoError(t, err)
		defer f.Close()
		_, err = f.WriteAt(binary.LittleEndian.AppendUint64(nil, v), off)
		require.NoError(t, err)
	}
	for _, n := range []string{"count", "table", "gone"} {
		d, err := dict.New(seg, n)
		require.NoError(t, err)
		require.NoError(t, d.Set("a", int64(1)))
		require.NoError(t, d.Close())
	}
	l, err := dict.NewList(seg, "long")
	require.NoError(t, err)
	require.NoError(t, l.Append("x"))
	require.NoError(t, l.Close())
	spoil("count", int64(unsafe.Offsetof(h.Count)), 1<<62)
	spoil("table", int64(unsafe.Offsetof(h.Table)), 8)
	spoil("long", layout.DictHeapStart+24, 1000) // the array's len, past its cap
	d, err := dict.Open(seg, "gone")
	require.NoError(t, err)
	require.NoError(t, d.Unlink())
	require.NoError(t, d.Close())
	_, err = seg.Alloc(shm.Request{Name: "pool", Kind: shm.KindBytes, Length: uint64(layout.PoolSize)}, func(mem []byte) error {
		binary.LittleEndian.PutUint64(mem, layout.PoolMagic)
		return nil
	})
	require.NoError(t, err)

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"inspect", "--json", name}, &out, &errOut), errOut.String())
	got := map[string]objectInfo{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var in objectInfo
		require.NoError(t, json.Unmarshal([]byte(line), &in))
		got[in.Name] = in
	}
	require.Len(t, got, 5)
	assert.Contains(t, got["table"].Error, "corrupt")
	assert.Contains(t, got["gone"].Error, "no such file")
	assert.Nil(t, got["pool"].Pool)
	out.Reset()
	require.Equal(t, 0, run([]string{"inspect", name}, &out, &errOut), errOut.String())
	for _, n := range []string{"count", "table", "gone", "long", "pool"} {
		assert.Contains(t, out.String(), n)
	}
}
