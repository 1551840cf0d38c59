package interop_test

import (
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/dict"
	"github.com/shmkit/shmkit/internal/cbind"
	"github.com/shmkit/shmkit/internal/objects"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// dump is a dict's items as the peers print them: "tag:hexkey=tag:hexvalue",
// sorted.
func dump(t *testing.T, d *dict.Dict) []string {
	var lines []string
	require.NoError(t, d.Range(func(k, v any) bool {
		lines = append(lines, encodeLine(k)+"="+encodeLine(v))
		return true
	}))
	slices.Sort(lines)
	return lines
}

// encodeLine is one side of a dump line, from the documented encoding.
func encodeLine(v any) string {
	tag, b := 0, []byte(nil)
	switch x := v.(type) {
	case nil:
	case bool:
		tag, b = 1, []byte{0}
		if x {
			b[0] = 1
		}
	case int64:
		tag = 2
		for i := range 8 {
			b = append(b, byte(uint64(x)>>(8*i)))
		}
	case float64:
		return fmt.Sprintf("3:%s", hex.EncodeToString(leFloat(x)))
	case string:
		tag, b = 4, []byte(x)
	case []byte:
		tag, b = 5, x
	case dict.Pickled:
		tag, b = 6, x
	}
	return fmt.Sprintf("%d:%s", tag, hex.EncodeToString(b))
}

// TestDictShared: Go, C and Python share one dict and one list by name.
// Each peer prints the dict's bytes exactly as Go encodes them, adds an
// entry Go reads back typed, and all three count d["year"] at once with
// no lock of their own; the total is exact.
func TestDictShared(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	d, err := dict.New(seg, "d")
	require.NoError(t, err)
	defer func() { d.Unlink(); d.Close() }()
	l, err := dict.NewList(seg, "d-list")
	require.NoError(t, err)
	defer func() { l.Unlink(); l.Close() }()
	for k, v := range map[any]any{int64(1): "1", "2": int64(2), 0.25: nil, true: []byte{1, 2}, "year": int64(2000), "é": -1.5} {
		require.NoError(t, d.Set(k, v))
	}
	for _, p := range peers {
		want := dump(t, d)
		lines := strings.Split(runPeer(t, p, "dict", name, "d", p.name, "0"), "\n")
		end := slices.Index(lines, "end")
		require.GreaterOrEqual(t, end, 0, "%s printed %q", p.name, lines)
		got := slices.Clone(lines[:end])
		slices.Sort(got)
		assert.Equal(t, want, got, "%s reads the bytes Go wrote", p.name)
		if p.name == "Python" {
			assert.Contains(t, lines, "repr 'year' 2000")
			assert.Contains(t, lines, "repr True b'\\x01\\x02'")
			assert.Contains(t, lines, "repr 'é' -1.5")
			assert.Contains(t, lines, "repr 0.25 None")
			assert.Contains(t, lines, "repr 'from-C' 42", "Python reads C's int")
		}
	}
	m, err := dict.OpenMap[string, int64](seg, "d")
	require.NoError(t, err)
	defer m.Close()
	v, _, err := m.Get("from-C")
	require.NoError(t, err)
	assert.Equal(t, int64(42), v)
	f, _, err := d.Get("from-Python")
	require.NoError(t, err)
	assert.Equal(t, 0.5, f)
	pk, _, err := d.Get("pickled-Python")
	require.NoError(t, err)
	assert.IsType(t, dict.Pickled{}, pk, "Go sees a pickle as bytes marked as such")

	// The counter, from three languages at once.
	const adds = 3000
	var wg sync.WaitGroup
	for _, p := range peers {
		wg.Go(func() { runPeer(t, p, "dict", name, "d", p.name, fmt.Sprint(adds)) })
	}
	for range adds {
		_, err := m.Update("year", func(old int64, ok bool) int64 { return old + 1 })
		require.NoError(t, err)
	}
	wg.Wait()
	year, _, err := m.Get("year")
	require.NoError(t, err)
	assert.Equal(t, int64(2000+3*adds), year)
	items, err := l.Items()
	require.NoError(t, err)
	assert.ElementsMatch(t, []any{"C", "Python", "C", "Python"}, items)
}

// TestDictPeerKilledHoldingLock: a C or Python writer dies holding the
// dict's lock; Go's next write repairs the dict and every key is intact.
func TestDictPeerKilledHoldingLock(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	eachPeer(t, func(t *testing.T, p peer) {
		seg, name := proctest.Segment(t, 1<<16)
		d, err := dict.New(seg, "d")
		require.NoError(t, err)
		defer func() { d.Unlink(); d.Close() }()
		for i := range 100 {
			require.NoError(t, d.Set(i, fmt.Sprint(i)))
		}
		r := start(t, p, "dict-hold", name, "d")
		r.expect(t, "locked")
		require.NoError(t, r.cmd.Process.Signal(syscall.SIGKILL))
		r.cmd.Wait()
		require.NoError(t, d.Set("after", true))
		st, err := d.Stats()
		require.NoError(t, err)
		assert.Equal(t, uint64(1), st.Recoveries)
		assert.Equal(t, 101, st.Len)
		for i := range 100 {
			v, ok, err := d.Get(i)
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, fmt.Sprint(i), v)
		}
	})
}

// holdDict takes dict args[1]'s writer lock, says so, and waits to be killed.
func holdDict(args []string) int {
	seg := proctest.OpenSegment(args[0])
	obj, err := objects.Core(seg).LookupKind(args[1], shm.KindDict)
	if err != nil {
		return proctest.Fail("lookup: %v", err)
	}
	h, err := cbind.DictAttach(obj.Bytes(), false)
	if err != nil {
		return proctest.Fail("attach: %v", err)
	}
	if err := h.DictTestLock(); err != nil {
		return proctest.Fail("lock: %v", err)
	}
	os.Stdout.WriteString("locked\n")
	for {
		time.Sleep(time.Hour)
	}
}

// TestDictGoKilledHoldingLock: a Go process dies holding the dict's lock;
// the C or Python peer's next write repairs it.
func TestDictGoKilledHoldingLock(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	eachPeer(t, func(t *testing.T, p peer) {
		seg, name := proctest.Segment(t, 1<<16)
		d, err := dict.New(seg, "d")
		require.NoError(t, err)
		defer func() { d.Unlink(); d.Close() }()
		l, err := dict.NewList(seg, "d-list")
		require.NoError(t, err)
		defer func() { l.Unlink(); l.Close() }()
		require.NoError(t, d.Set("year", int64(2000)))
		cmd := proctest.Command(t, "holddict", name, "d")
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		buf := make([]byte, 7)
		_, err = io.ReadFull(out, buf)
		require.NoError(t, err)
		require.Equal(t, "locked\n", string(buf))
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		cmd.Wait()
		runPeer(t, p, "dict", name, "d", p.name, "10")
		st, err := d.Stats()
		require.NoError(t, err)
		assert.Equal(t, uint64(1), st.Recoveries, "the peer repaired")
		year, _, err := d.Get("year")
		require.NoError(t, err)
		assert.Equal(t, int64(2010), year)
	})
}

func runPeer(t *testing.T, p peer, args ...string) string {
	out, err := p.command(t, args...).Output()
	require.NoError(t, err, "%s %v: %s", p.name, args, out)
	return strings.TrimSpace(string(out))
}

func leFloat(f float64) []byte {
	var b []byte
	bits := math.Float64bits(f)
	for i := range 8 {
		b = append(b, byte(bits>>(8*i)))
	}
	return b
}

// jobResult is a record of the element types, as a results table holds.
type jobResult struct {
	Job    int32
	Status ctypes.Char
	_      [3]byte
	Score  float64
	Hist   [4]uint16
}

// TestDictRecords: a record Go stores in a RecordMap is read field by field
// by C (from its description) and Python (a ctypes.Structure or numpy
// scalar); each changes it and stores it back, and Go reads their records
// typed.
func TestDictRecords(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	m, err := dict.NewRecordMap[string, jobResult](seg, "results")
	require.NoError(t, err)
	defer func() { m.Unlink(); m.Close() }()
	want := jobResult{Job: 7, Status: 'x', Score: 1.25, Hist: [4]uint16{1, 2, 3, 65535}}
	require.NoError(t, m.Set("r", want))
	eachPeer(t, func(t *testing.T, p peer) {
		out := runPeer(t, p, "dict-record", name, "results", "r", p.name)
		got, ok, err := m.Get("r-" + p.name)
		require.NoError(t, err)
		require.True(t, ok)
		changed := want
		changed.Job += 1000
		switch p.name {
		case "C":
			assert.Equal(t, "size 24 fields 4\nfield Job i 0 1\nfield Status c 4 1\nfield Score d 8 1\nfield Hist H 16 4", out)
		case "Python":
			assert.Equal(t, "Job=7 Status=b'x' Score=1.25 Hist=[1, 2, 3, 65535]", out)
			changed.Score *= 2
		}
		assert.Equal(t, changed, got)
	})
}
