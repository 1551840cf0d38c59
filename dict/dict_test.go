package dict_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/dict"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

func TestDictOperations(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, _ := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "d")
	values := map[any]any{
		int64(1): "1", "2": int64(2), 0.25: nil, true: false, "bytes": []byte{0, 1, 2},
		"": "", "big": strings.Repeat("x", 100000), int64(-5): 3.5, "pickled": dict.Pickled("\x80\x04N."),
	}
	for k, v := range values {
		require.NoError(t, d.Set(k, v))
	}
	n, err := d.Len()
	require.NoError(t, err)
	assert.Equal(t, len(values), n)
	for k, v := range values {
		got, ok, err := d.Get(k)
		require.NoError(t, err)
		assert.True(t, ok, "%v", k)
		assert.Equal(t, v, got, "%v", k)
	}
	_, ok, err := d.Get(int64(2))
	require.NoError(t, err)
	assert.False(t, ok, "the int 2 is not the str \"2\"")
	_, ok, err = d.Get(1.0)
	require.NoError(t, err)
	assert.False(t, ok, "the float 1.0 is not the int 1")

	seen := map[any]bool{}
	require.NoError(t, d.Range(func(k, v any) bool {
		if b, isBytes := k.([]byte); isBytes {
			k = string(b)
		}
		seen[fmt.Sprint(k)] = true
		return true
	}))
	assert.Len(t, seen, len(values))

	deleted, err := d.Delete(int64(1))
	require.NoError(t, err)
	assert.True(t, deleted)
	deleted, err = d.Delete(int64(1))
	require.NoError(t, err)
	assert.False(t, deleted)

	actual, loaded, err := d.LoadOrStore("2", "other")
	require.NoError(t, err)
	assert.True(t, loaded)
	assert.Equal(t, int64(2), actual)
	actual, loaded, err = d.LoadOrStore("new", "v")
	require.NoError(t, err)
	assert.False(t, loaded)
	assert.Equal(t, "v", actual)

	swapped, err := d.CompareAndSwap("2", int64(3), int64(4))
	require.NoError(t, err)
	assert.False(t, swapped)
	swapped, err = d.CompareAndSwap("2", int64(2), int64(4))
	require.NoError(t, err)
	assert.True(t, swapped)

	got, err := d.Update("2", func(old any, ok bool) (any, error) { return old.(int64) * 10, nil })
	require.NoError(t, err)
	assert.Equal(t, int64(40), got)
	sum, err := d.Add("2", 2)
	require.NoError(t, err)
	assert.Equal(t, int64(42), sum)
	_, err = d.Add("new", 1)
	assert.ErrorIs(t, err, dict.ErrNotInt)
	assert.ErrorIs(t, d.Set(struct{}{}, 1), dict.ErrType)

	require.NoError(t, d.Clear())
	n, err = d.Len()
	require.NoError(t, err)
	assert.Zero(t, n)
	_, ok, err = d.Get("2")
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestMapTyped(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, _ := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "m")
	m, err := dict.OpenMap[string, int64](seg, "m")
	require.NoError(t, err)
	defer m.Close()
	for i := range 1000 {
		require.NoError(t, m.Set("k"+strconv.Itoa(i), int64(i)))
	}
	v, ok, err := m.Get("k999")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, int64(999), v)
	total := int64(0)
	require.NoError(t, m.Range(func(k string, v int64) bool { total += v; return true }))
	assert.Equal(t, int64(999*1000/2), total)

	// Another type in the same dict is ErrType for this V.
	require.NoError(t, d.Set("s", "text"))
	_, _, err = m.Get("s")
	assert.ErrorIs(t, err, dict.ErrType)

	type ID uint16
	ints, err := dict.NewMap[ID, []byte](seg, "ints")
	require.NoError(t, err)
	defer func() { ints.Unlink(); ints.Close() }()
	require.NoError(t, ints.Set(7, []byte("seven")))
	b, ok, err := ints.Get(7)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, []byte("seven"), b)
	// The same key, read through the dynamic form, is the int64 7.
	dyn, err := dict.Open(seg, "ints")
	require.NoError(t, err)
	defer dyn.Close()
	x, ok, err := dyn.Get(7)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, []byte("seven"), x)

	f, err := dict.NewMap[[]byte, float64](seg, "floats")
	require.NoError(t, err)
	defer func() { f.Unlink(); f.Close() }()
	require.NoError(t, f.Set([]byte{1, 2}, 2.5))
	fv, _, err := f.Get([]byte{1, 2})
	require.NoError(t, err)
	assert.Equal(t, 2.5, fv)
}

func TestList(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, _ := proctest.Segment(t, 1<<16)
	l := newList(t, seg, "l")
	for i := range 10 {
		require.NoError(t, l.Append(int64(i)))
	}
	require.NoError(t, l.Reverse())
	items, err := l.Items()
	require.NoError(t, err)
	assert.Equal(t, []any{int64(9), int64(8), int64(7), int64(6), int64(5), int64(4), int64(3), int64(2), int64(1), int64(0)}, items)
	require.NoError(t, l.Insert(1, "x"))
	require.NoError(t, l.Set(0, 1.5))
	v, err := l.Pop(2)
	require.NoError(t, err)
	assert.Equal(t, int64(8), v)
	v, err = l.Pop(9)
	require.NoError(t, err)
	assert.Equal(t, int64(0), v)
	require.NoError(t, l.Extend("a", []byte("b"), nil))
	items, err = l.Items()
	require.NoError(t, err)
	assert.Equal(t, []any{1.5, "x", int64(7), int64(6), int64(5), int64(4), int64(3), int64(2), int64(1), "a", []byte("b"), nil}, items)
	_, err = l.Get(12)
	assert.ErrorIs(t, err, dict.ErrIndex)
	assert.ErrorIs(t, l.Set(12, 1), dict.ErrIndex)
	_, err = l.Pop(-1)
	assert.ErrorIs(t, err, dict.ErrIndex)
	require.NoError(t, l.Clear())
	n, err := l.Len()
	require.NoError(t, err)
	assert.Zero(t, n)
	// A list is not a dict.
	_, err = dict.Open(seg, "l")
	assert.ErrorIs(t, err, shm.ErrKindMismatch)
}

// Another process's writes grow the heap many times over; a handle opened
// before sees every key.
func TestGrowthSeenByEveryProcess(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "grow")
	before, err := d.Stats()
	require.NoError(t, err)
	proctest.Output(t, "dict-fill", name, "grow", "0", "30000")
	proctest.Output(t, "dict-fill", name, "grow", "30000", "60000")
	after, err := d.Stats()
	require.NoError(t, err)
	assert.Greater(t, after.HeapBytes, 8*before.HeapBytes, "the heap grew")
	for i := range 60000 {
		v, ok, err := d.Get("k" + strconv.Itoa(i))
		require.NoError(t, err)
		require.True(t, ok, "k%d", i)
		require.Equal(t, int64(i), v)
	}
	n, err := d.Len()
	require.NoError(t, err)
	assert.Equal(t, 60000, n)
	t.Logf("60,000 keys: heap %d bytes (%.0f per key), in blocks %d (%.0f per key), %d slots",
		after.HeapBytes, float64(after.HeapBytes)/60000, after.UsedBytes, float64(after.UsedBytes)/60000, after.Slots)
}

// Deleted and overwritten values' space is used again: a dict rewritten
// many times stays the size of one round.
func TestSpaceReused(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, _ := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "reuse")
	round := func(r int) {
		for i := range 2000 {
			require.NoError(t, d.Set("k"+strconv.Itoa(i), strings.Repeat("v", 100+r%3)))
		}
		for i := 0; i < 2000; i += 2 {
			_, err := d.Delete("k" + strconv.Itoa(i))
			require.NoError(t, err)
		}
	}
	round(0)
	first, err := d.Stats()
	require.NoError(t, err)
	for r := 1; r < 50; r++ {
		round(r)
	}
	last, err := d.Stats()
	require.NoError(t, err)
	assert.LessOrEqual(t, last.HeapBytes, 2*first.HeapBytes, "50 rounds in the room of one or two")
}

// The seed program: five processes doing d["year"] += 1, with no lock of
// their own; the total is exact.
func TestFiveProcessesIncrementYear(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	for _, how := range []string{"add", "update"} {
		t.Run(how, func(t *testing.T) {
			seg, name := proctest.Segment(t, 1<<16)
			newDict(t, seg, "d")
			m, err := dict.OpenMap[string, int64](seg, "d")
			require.NoError(t, err)
			defer m.Close()
			require.NoError(t, m.Set("year", 2000))
			var wg sync.WaitGroup
			goAdds := make([]string, 5)
			for i := range 5 {
				wg.Go(func() { goAdds[i] = proctest.Output(t, "dict-year", name, "d", "2000", how) })
			}
			wg.Wait()
			year, _, err := m.Get("year")
			require.NoError(t, err)
			assert.Equal(t, int64(2000+5*2000), year)
			if how == "add" && dict.GoAddsPossible {
				for _, n := range goAdds { // each process made adds in Go, the rest in C
					assert.NotEqual(t, "0", n)
				}
			}
			t.Logf("adds made in Go by each process: %v", goAdds)
		})
	}
}

// A writer that dies holding the lock: the next writer repairs the dict
// and goes on, and so do lock-free readers.
func TestWriterDiesHoldingLock(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "d")
	require.NoError(t, d.Set("a", int64(1)))
	proctest.Output(t, "dict-diehold", name, "d")
	v, ok, err := d.Get("a")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, int64(1), v)
	require.NoError(t, d.Set("b", int64(2)))
	st, err := d.Stats()
	require.NoError(t, err)
	assert.Equal(t, uint64(1), st.Recoveries)
	n, err := d.Len()
	require.NoError(t, err)
	assert.Equal(t, 2, n)
}

// The kill soak: four writer processes on 10,000 keys, SIGKILLed at
// random and replaced. Afterwards every key holds a value some writer
// wrote for it, each counter is exact up to the increments its killed
// writers were inside, and nothing hangs.
func TestKillSoak(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "soak")
	const writers = 4
	rounds := 40
	if testing.Short() {
		rounds = 10
	}
	acked := make([]int64, writers)
	kills := make([]int64, writers)
	r := rand.New(rand.NewPCG(1, 2))
	type run struct {
		done chan struct{}
		n    int64
	}
	start := func(w int) (*os.Process, *run) {
		cmd := proctest.Command(t, "dict-soak", name, "soak", strconv.Itoa(w))
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		rn := &run{done: make(chan struct{})}
		go func() {
			defer close(rn.done)
			buf := make([]byte, 4096)
			for {
				k, err := out.Read(buf)
				rn.n += int64(strings.Count(string(buf[:k]), "+"))
				if err != nil {
					cmd.Wait()
					return
				}
			}
		}()
		return cmd.Process, rn
	}
	procs := make([]*os.Process, writers)
	runs := make([]*run, writers)
	for w := range writers {
		procs[w], runs[w] = start(w)
	}
	for range rounds {
		time.Sleep(time.Duration(5+r.IntN(40)) * time.Millisecond) // how long the victim runs, not synchronisation
		w := r.IntN(writers)
		require.NoError(t, procs[w].Signal(syscall.SIGKILL))
		<-runs[w].done
		acked[w] += runs[w].n
		kills[w]++
		procs[w], runs[w] = start(w)
	}
	for w := range writers {
		require.NoError(t, procs[w].Signal(syscall.SIGKILL))
		<-runs[w].done
		acked[w] += runs[w].n
		kills[w]++
	}
	keys, counters := 0, 0
	require.NoError(t, d.Range(func(k, v any) bool {
		key := k.(string)
		if strings.HasPrefix(key, "c") {
			counters++
			w, _ := strconv.Atoi(key[1:])
			n := v.(int64)
			assert.GreaterOrEqual(t, n, acked[w], "counter %s", key)
			assert.LessOrEqual(t, n, acked[w]+kills[w], "counter %s", key)
			t.Logf("counter %s = %d: %d acknowledged, %d kills", key, n, acked[w], kills[w])
			return true
		}
		keys++
		s, ok := v.(string)
		parts := strings.SplitN(s, ":", 3)
		if assert.True(t, ok && len(parts) == 3, "key %s holds %q", key, v) {
			assert.True(t, strings.HasPrefix(parts[2], key) && strings.Trim(parts[2][len(key):], "\x00") == "",
				"key %s holds another key's value %q", key, s)
		}
		return true
	}))
	st, err := d.Stats()
	require.NoError(t, err)
	n, err := d.Len()
	require.NoError(t, err)
	assert.Equal(t, keys+counters, n, "Len counts what Range sees")
	t.Logf("%d kills, %d keys, %d repairs, heap %d bytes", rounds+writers, keys, st.Recoveries, st.HeapBytes)
}

// A segment's reference or a heap full of hostile bytes gives
// shm.ErrCorrupt (or a value), never a crash or a hang.
func TestHostileHeap(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, _ := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "h")
	for i := range 300 {
		require.NoError(t, d.Set("k"+strconv.Itoa(i), strings.Repeat("v", i%40)))
	}
	path := "/dev/shm/" + dict.HeapName(d)
	clean, err := os.ReadFile(path)
	require.NoError(t, err)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	r := rand.New(rand.NewPCG(3, 4))
	used := 64 << 10
	corrupt := 0
	for round := range 300 {
		_, err := f.WriteAt(clean, 0)
		require.NoError(t, err)
		for range 1 + r.IntN(8) {
			var off int
			switch round % 3 {
			case 0: // the header's words
				off = r.IntN(56) // up to the writer lock (64..127), trusted as any robust mutex is
			default:
				off = 2048 + r.IntN(used-2048)
			}
			junk := make([]byte, 1+r.IntN(8))
			for i := range junk {
				junk[i] = byte(r.Uint32())
			}
			if r.IntN(2) == 0 {
				junk[0] |= 1 // odd seqlocks, huge sizes
			}
			_, err := f.WriteAt(junk, int64(off))
			require.NoError(t, err)
		}
		h, err := dict.Open(seg, "h")
		if err != nil {
			if !errors.Is(err, shm.ErrCorrupt) && !errors.Is(err, shm.ErrNotShmkit) && !errors.Is(err, shm.ErrVersion) {
				t.Errorf("round %d: open: %v", round, err)
			}
			corrupt++
			continue
		}
		var errs []error
		for i := range 20 {
			_, _, err := h.Get("k" + strconv.Itoa(i*13))
			errs = append(errs, err)
		}
		errs = append(errs, h.Range(func(k, v any) bool { return true }))
		errs = append(errs, h.Set("new", "value"))
		_, err = h.Delete("k1")
		errs = append(errs, err)
		for _, err := range errs {
			if err != nil {
				if !errors.Is(err, shm.ErrCorrupt) && !errors.Is(err, dict.ErrType) && !errors.Is(err, shm.ErrNoSpace) {
					t.Errorf("round %d: %v", round, err)
				}
				corrupt++
			}
		}
		h.Close()
	}
	t.Logf("300 rounds of hostile bytes: %d operations reported corruption", corrupt)
	// The reference in the segment, too.
	obj, err := seg.Lookup("h")
	require.NoError(t, err)
	ref := obj.Bytes()
	saved := append([]byte{}, ref...)
	copy(ref, "../../etc/passwd\x00")
	_, err = dict.Open(seg, "h")
	assert.ErrorIs(t, err, shm.ErrCorrupt)
	copy(ref, saved)
	_, err = f.WriteAt(clean, 0)
	require.NoError(t, err)
}

// A writer killed while reversing a list leaves it reversed or not, never
// half.
func TestListReverseKilled(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	l := newList(t, seg, "l")
	for i := range 1000 {
		require.NoError(t, l.Append(int64(i)))
	}
	for range 5 {
		cmd := proctest.Command(t, "dict-reverse", name, "l")
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		buf := make([]byte, 6)
		_, err = out.Read(buf)
		require.NoError(t, err)
		time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond) // how long it reverses, not synchronisation
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		cmd.Wait()
		items, err := l.Items()
		require.NoError(t, err)
		require.Len(t, items, 1000)
		first := items[0].(int64)
		require.True(t, first == 0 || first == 999)
		for i, v := range items {
			want := int64(i)
			if first == 999 {
				want = int64(999 - i)
			}
			require.Equal(t, want, v)
		}
	}
}

// A read-only attach reads without the lock and refuses writes; keys and
// values past the limits are refused whole.
func TestReadOnlyAndLimits(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "d")
	require.NoError(t, d.Set("a", int64(1)))
	assert.ErrorIs(t, d.Set(strings.Repeat("k", 1<<20+1), 1), dict.ErrTooLarge)
	n, err := d.Len()
	require.NoError(t, err)
	assert.Equal(t, 1, n, "nothing stored")

	ro, err := shm.Open(name, shm.WithReadOnly())
	require.NoError(t, err)
	defer ro.Close()
	r, err := dict.Open(ro, "d")
	require.NoError(t, err)
	defer r.Close()
	v, ok, err := r.Get("a")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, int64(1), v)
	assert.ErrorIs(t, r.Set("b", 2), shm.ErrReadOnly)
	_, err = r.Add("a", 1)
	assert.ErrorIs(t, err, shm.ErrReadOnly)
}

// UnlinkAll removes every dict's and list's heap file, which unlinking the
// segment alone leaves behind.
func TestUnlinkAll(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, _ := proctest.Segment(t, 1<<16)
	d, err := dict.New(seg, "d")
	require.NoError(t, err)
	defer d.Close()
	l, err := dict.NewList(seg, "l")
	require.NoError(t, err)
	defer l.Close()
	heap := "/dev/shm/" + dict.HeapName(d)
	_, err = os.Stat(heap)
	require.NoError(t, err)
	require.NoError(t, dict.UnlinkAll(seg))
	_, err = os.Stat(heap)
	assert.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, d.Set("still", "usable"), "who has it open keeps it")
	require.NoError(t, dict.UnlinkAll(seg), "twice is fine")
}

// TestUnlinkAllSparesFilesAHostileDictNames: UnlinkAll removes only files
// that open as a dict's or list's own heap. A segment whose dict names
// another file as its heap (here a segment of this test's, as another
// program's could be) must not make it remove that file; the file is
// named in the error, and a real heap is still removed.
func TestUnlinkAllSparesFilesAHostileDictNames(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	_, victim := proctest.Segment(t, 1<<16)
	seg, _ := proctest.Segment(t, 1<<16)
	hostile, err := dict.New(seg, "hostile")
	require.NoError(t, err)
	real, err := dict.New(seg, "real")
	require.NoError(t, err)
	heap := "/dev/shm/" + dict.HeapName(real)
	require.NoError(t, hostile.Unlink()) // its own heap goes: only the victim is named now
	require.NoError(t, hostile.Close())
	require.NoError(t, real.Close())
	o, err := seg.Lookup("hostile")
	require.NoError(t, err)
	ref := o.Bytes()
	clear(ref[:len(dict.HeapName(real))])
	copy(ref, victim)

	for range 2 {
		err = dict.UnlinkAll(seg)
		assert.ErrorContains(t, err, `"hostile"`, "the dict whose heap is left alone is named")
		_, err = os.Stat("/dev/shm/" + victim)
		assert.NoError(t, err, "UnlinkAll removed a file a hostile dict named")
		_, err = os.Stat(heap)
		assert.ErrorIs(t, err, os.ErrNotExist, "UnlinkAll left a real dict's heap")
	}
}

// TestUnlinkAllSparesAnotherUsersHeap: a reference that copies another
// dict's whole reference (its heap's name and id can be read off a
// listing of /dev/shm) opens that heap; UnlinkAll must still leave it when
// the heap belongs to another user than the segment. Needs root, to give
// the heap away.
func TestUnlinkAllSparesAnotherUsersHeap(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a file of another user's")
	}
	other, _ := proctest.Segment(t, 1<<16)
	victim, err := dict.New(other, "victim")
	require.NoError(t, err)
	defer victim.Close()
	heap := "/dev/shm/" + dict.HeapName(victim)
	require.NoError(t, os.Chown(heap, 4242, 4242))

	seg, _ := proctest.Segment(t, 1<<16)
	forged, err := dict.New(seg, "forged")
	require.NoError(t, err)
	require.NoError(t, forged.Unlink())
	require.NoError(t, forged.Close())
	from, err := other.Lookup("victim")
	require.NoError(t, err)
	to, err := seg.Lookup("forged")
	require.NoError(t, err)
	copy(to.Bytes(), from.Bytes())

	err = dict.UnlinkAll(seg)
	assert.ErrorContains(t, err, `"forged"`, "the dict whose heap is left alone is named")
	_, err = os.Stat(heap)
	assert.NoError(t, err, "UnlinkAll removed another user's heap")
	require.NoError(t, victim.Unlink())
}

// A dict's storage file gets its segment's mode, so whoever may open the
// segment may open the dict.
func TestHeapTakesSegmentMode(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, _ := proctest.Segment(t, 1<<16, shm.WithMode(0o640))
	d := newDict(t, seg, "d")
	fi, err := os.Stat("/dev/shm/" + dict.HeapName(d))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
}

// A writer killed in the middle of an integer overwritten in place: with
// its seqlock still odd the old value comes back, once the seqlock is
// even again the new one stays; readers never see half of each.
func TestOverwriteInPlaceKilled(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "d")
	for stage, want := range map[int]int64{1: 5, 2: -1} {
		require.NoError(t, d.Set("n", int64(5)))
		require.NoError(t, d.Set("other", "kept"))
		proctest.Output(t, "dict-halfway", name, "d", "-1", strconv.Itoa(stage))
		if dict.GoReads { // the Go reader leaves an odd seqlock to C, which repairs
			v, how, err := dict.GoRead(d, "n")
			require.NoError(t, err)
			if stage == 1 {
				assert.Equal(t, "again", how)
			} else {
				assert.Equal(t, "hit", how)
				assert.Equal(t, want, v)
			}
		}
		v, ok, err := d.Get("n") // a lock-free reader meets the odd seqlock and repairs
		require.NoError(t, err)
		assert.True(t, ok)
		assert.Equal(t, want, v, "stage %d", stage)
		v, _, err = d.Get("other")
		require.NoError(t, err)
		assert.Equal(t, "kept", v)
		before := dict.GoAdds()
		sum, err := d.Add("n", 1)
		require.NoError(t, err)
		assert.Equal(t, want+1, sum)
		if dict.GoAddsPossible && stage == 1 { // Get's C path repaired: the lock is free, the add made in Go
			assert.Equal(t, before+1, dict.GoAdds())
		} else if dict.GoAddsPossible { // the owner died: the Go add leaves the lock to C, which repairs
			assert.Equal(t, before, dict.GoAdds())
		}
	}
	st, err := d.Stats()
	require.NoError(t, err)
	assert.Equal(t, uint64(2), st.Recoveries)
}

// Two processes add to counters in place, note each add done in a key of
// their own and set an 8-byte pattern while they are SIGKILLed at random
// and replaced; a reader in this process watches. Each counter ends within
// the adds noted and those in flight at the kills (one per kill at most),
// never goes down, and no value is ever torn.
func TestAddInPlaceKillSoak(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "ctr")
	const adders = 2
	rounds := 60
	if testing.Short() {
		rounds = 15
	}
	kills := 0
	start := func() (*os.Process, chan struct{}) {
		cmd := proctest.Command(t, "dict-adder", name, "ctr")
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		_, err = io.ReadFull(out, make([]byte, len("ready\n")))
		require.NoError(t, err)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		return cmd.Process, done
	}
	stop := make(chan struct{})
	var reads int64
	readerDone := make(chan error, 1)
	go func() {
		last := map[string]int64{}
		for {
			select {
			case <-stop:
				readerDone <- nil
				return
			default:
			}
			for _, k := range []string{"n", "counter", "pat"} {
				v, ok, err := d.Get(k)
				if err != nil {
					readerDone <- err
					return
				}
				if !ok {
					continue
				}
				n := v.(int64)
				reads++
				if k == "pat" {
					if n != int64(0x0101010101010101*uint64(n&0xff)) {
						readerDone <- fmt.Errorf("pat torn: %#x", uint64(n))
						return
					}
					continue
				}
				if n < last[k] {
					readerDone <- fmt.Errorf("%s went down from %d to %d", k, last[k], n)
					return
				}
				last[k] = n
			}
		}
	}()
	r := rand.New(rand.NewPCG(3, 4))
	procs := make([]*os.Process, adders)
	exited := make([]chan struct{}, adders)
	for w := range adders {
		procs[w], exited[w] = start()
	}
	reap := func(w int) {
		require.NoError(t, procs[w].Signal(syscall.SIGKILL))
		<-exited[w]
		kills++
	}
	for range rounds {
		time.Sleep(time.Duration(2+r.IntN(20)) * time.Millisecond) // how long the victim runs, not synchronisation
		w := r.IntN(adders)
		reap(w)
		procs[w], exited[w] = start()
	}
	for w := range adders {
		reap(w)
	}
	close(stop)
	require.NoError(t, <-readerDone)
	acked := map[string]int64{}
	require.NoError(t, d.Range(func(k, v any) bool {
		switch key := k.(string); {
		case strings.HasPrefix(key, "an"):
			acked["n"] += v.(int64)
		case strings.HasPrefix(key, "ac"):
			acked["counter"] += v.(int64)
		case strings.HasPrefix(key, "go"):
			acked["go"] += v.(int64)
		}
		return true
	}))
	for _, k := range []string{"n", "counter"} {
		v, ok, err := d.Get(k)
		require.NoError(t, err)
		require.True(t, ok, k)
		n := v.(int64)
		assert.GreaterOrEqual(t, n, acked[k], "counter %s", k)
		assert.LessOrEqual(t, n, acked[k]+int64(kills), "counter %s", k)
		t.Logf("%s = %d: %d acknowledged, %d kills", k, n, acked[k], kills)
	}
	if dict.GoAddsPossible {
		assert.Positive(t, acked["go"], "adds made in Go")
	}
	st, err := d.Stats()
	require.NoError(t, err)
	t.Logf("%d reads, %d repairs, at least %d adds made in Go", reads, st.Recoveries, acked["go"])
}

// Processes that add in Go and processes that add through the C library
// (as C and Python processes do) add to one key at once: the writer lock
// and the undo protocol are the same, so the total is exact.
func TestGoAndCAddersTogether(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "d")
	require.NoError(t, d.Set("year", int64(0)))
	hows := []string{"add", "cadd", "add", "cadd"}
	out := make([]string, len(hows))
	var wg sync.WaitGroup
	for i, how := range hows {
		wg.Go(func() { out[i] = proctest.Output(t, "dict-year", name, "d", "5000", how) })
	}
	wg.Wait()
	year, _, err := d.Get("year")
	require.NoError(t, err)
	assert.Equal(t, int64(len(hows)*5000), year)
	for i, how := range hows {
		if how == "cadd" {
			assert.Equal(t, "0", out[i])
		} else if dict.GoAddsPossible {
			assert.NotEqual(t, "0", out[i])
		}
	}
	t.Logf("adds made in Go by each process (%v): %v", hows, out)
}

// Add past int64's range is an error that changes nothing, from another
// process, through Go's add and C's: the sum wrapped to a negative count.
func TestAddOverflowIsAnError(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	for _, how := range []string{"add", "cadd"} {
		t.Run(how, func(t *testing.T) {
			seg, name := proctest.Segment(t, 1<<16)
			d := newDict(t, seg, "d")
			require.NoError(t, d.Set("year", int64(math.MaxInt64-1)))
			cmd := proctest.Command(t, "dict-year", name, "d", "2", how)
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			require.Error(t, err, "the second add past MaxInt64 succeeded: %s", out.String())
			assert.Contains(t, out.String(), "integer overflow")
			v, ok, err := d.Get("year")
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, int64(math.MaxInt64), v, "the first add counts, the second changes nothing")
			require.NoError(t, d.Set("low", int64(math.MinInt64)))
			_, err = d.Add("low", -1)
			require.ErrorIs(t, err, dict.ErrOverflow)
		})
	}
}

// A typed map's common operations leave nothing on the Go heap: the key
// and value reach C from the caller's stack.
func TestTypedOperationsAllocateNothing(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, _ := proctest.Segment(t, 1<<16)
	m, err := dict.NewMap[string, int64](seg, "m")
	require.NoError(t, err)
	t.Cleanup(func() { m.Unlink(); m.Close() })
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "key" + strconv.Itoa(i)
	}
	i := 0
	ops := map[string]func(){
		"Set": func() { require.NoError(t, m.Set(keys[i%len(keys)], int64(i))) },
		"Get": func() { _, _, err := m.Get(keys[i%len(keys)]); require.NoError(t, err) },
		"Delete": func() {
			_, err := m.Delete(keys[i%len(keys)])
			require.NoError(t, err)
		},
		"LoadOrStore": func() {
			_, _, err := m.LoadOrStore(keys[i%len(keys)], int64(i))
			require.NoError(t, err)
		},
		"CompareAndSwap": func() {
			_, err := m.CompareAndSwap(keys[i%len(keys)], int64(i), int64(i+1))
			require.NoError(t, err)
		},
	}
	for name, op := range ops {
		if allocs := testing.AllocsPerRun(2*len(keys), func() { op(); i++ }); allocs != 0 {
			t.Errorf("%s: %v allocations a call", name, allocs)
		}
	}
}

// Update's function may panic, call the same dict, or return a value the
// encoding has no tag for: the key keeps its value, nothing is left held,
// and Update returns only what it stored.
func TestUpdateFunctionMisbehaves(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, _ := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "d")
	require.NoError(t, d.Set("k", int64(1)))
	func() {
		defer func() { assert.Equal(t, "boom", recover()) }()
		d.Update("k", func(old any, ok bool) (any, error) { panic("boom") })
	}()
	require.NoError(t, d.Set("other", "x"), "a panicking Update left nothing held")
	got, err := d.Update("k", func(old any, ok bool) (any, error) {
		inner, err := d.Update("k2", func(any, bool) (any, error) { return "nested", nil })
		require.NoError(t, err)
		assert.Equal(t, "nested", inner)
		v, _, err := d.Get("k")
		require.NoError(t, err)
		return v.(int64) + old.(int64), nil
	})
	require.NoError(t, err)
	assert.Equal(t, int64(2), got)

	got, err = d.Update("k", func(old any, ok bool) (any, error) { return struct{}{}, nil })
	assert.ErrorIs(t, err, dict.ErrType)
	assert.Nil(t, got, "Update returned a value it did not store")
	v, _, err := d.Get("k")
	require.NoError(t, err)
	assert.Equal(t, int64(2), v)

	m, err := dict.OpenMap[string, int64](seg, "d")
	require.NoError(t, err)
	defer m.Close()
	func() {
		defer func() { assert.Equal(t, "boom", recover()) }()
		m.Update("k", func(old int64, ok bool) int64 { panic("boom") })
	}()
	n, err := m.Add("k", 1)
	require.NoError(t, err)
	assert.Equal(t, int64(3), n)
}

// Through a read-only attach every writing method of Dict, Map and List
// is shm.ErrReadOnly, whether or not it would change anything; after
// Close every method is ErrClosed and Unlink still works.
func TestEveryWriteReadOnlyEveryCallClosed(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "d")
	l := newList(t, seg, "l")
	require.NoError(t, d.Set("a", int64(1)))
	require.NoError(t, l.Extend(int64(1), int64(2)))
	ro, err := shm.Open(name, shm.WithReadOnly())
	require.NoError(t, err)
	defer ro.Close()
	rd, err := dict.Open(ro, "d")
	require.NoError(t, err)
	defer rd.Close()
	rm, err := dict.OpenMap[string, int64](ro, "d")
	require.NoError(t, err)
	defer rm.Close()
	rl, err := dict.OpenList(ro, "l")
	require.NoError(t, err)
	defer rl.Close()
	second := func(_ any, err error) error { return err }
	third := func(_, _ any, err error) error { return err }
	writes := map[string]error{
		"set":               rd.Set("b", 1),
		"set same":          rd.Set("a", int64(1)),
		"delete":            second(rd.Delete("a")),
		"delete missing":    second(rd.Delete("missing")),
		"clear":             rd.Clear(),
		"load or store":     third(rd.LoadOrStore("a", 2)),
		"load or store new": third(rd.LoadOrStore("new", 2)),
		"cas":               second(rd.CompareAndSwap("a", int64(1), int64(2))),
		"cas mismatch":      second(rd.CompareAndSwap("a", int64(5), int64(2))),
		"update":            second(rd.Update("a", func(old any, ok bool) (any, error) { return old, nil })),
		"add":               second(rd.Add("a", 1)),
		"add zero":          second(rd.Add("a", 0)),
		"map set":           rm.Set("a", 2),
		"map add":           second(rm.Add("a", 1)),
		"map update":        second(rm.Update("a", func(old int64, ok bool) int64 { return old + 1 })),
		"map clear":         rm.Clear(),
		"list set":          rl.Set(0, 5),
		"list set past end": rl.Set(9, 5),
		"list insert":       rl.Insert(0, 1),
		"list append":       rl.Append(1),
		"list extend":       rl.Extend(1, 2),
		"list pop":          second(rl.Pop(0)),
		"list pop past end": second(rl.Pop(9)),
		"list reverse":      rl.Reverse(),
		"list clear":        rl.Clear(),
	}
	for what, err := range writes {
		assert.ErrorIs(t, err, shm.ErrReadOnly, what)
	}
	v, _, err := d.Get("a")
	require.NoError(t, err)
	assert.Equal(t, int64(1), v)
	items, err := l.Items()
	require.NoError(t, err)
	assert.Equal(t, []any{int64(1), int64(2)}, items)

	c, err := dict.Open(seg, "d")
	require.NoError(t, err)
	require.NoError(t, c.Close())
	closed := map[string]error{
		"get":           third(c.Get("a")),
		"set":           c.Set("a", 1),
		"delete":        second(c.Delete("a")),
		"len":           second(c.Len()),
		"clear":         c.Clear(),
		"load or store": third(c.LoadOrStore("a", 1)),
		"cas":           second(c.CompareAndSwap("a", 1, 2)),
		"update":        second(c.Update("a", func(old any, ok bool) (any, error) { return 1, nil })),
		"add":           second(c.Add("a", 1)),
		"range":         c.Range(func(k, v any) bool { return true }),
		"stats":         second(c.Stats()),
		"close":         c.Close(),
	}
	for what, err := range closed {
		assert.ErrorIs(t, err, dict.ErrClosed, what)
	}
	n, err := d.Len()
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the other handle works on")
}

// helperListSoak is a writer of the list kill soak: forever it appends or
// inserts the item "w<id>:<pid>:<seq>" (printing "+item" once the call
// returned) or pops a random item (printing "-item").
func helperListSoak(args []string) int {
	return inList(args, func(l *dict.List) int {
		tag := "w" + args[2] + ":" + strconv.Itoa(os.Getpid()) + ":"
		r := rand.New(rand.NewPCG(uint64(os.Getpid()), 9))
		for seq := 0; ; seq++ {
			item := tag + strconv.Itoa(seq)
			n, err := l.Len()
			if err != nil {
				return proctest.Fail("len: %v", err)
			}
			switch x := r.IntN(10); {
			case x < 4 || n < 20:
				err = l.Append(item)
			case x < 7:
				err = l.Insert(r.IntN(n+1), item)
			default:
				var v any
				if v, err = l.Pop(r.IntN(n)); errors.Is(err, dict.ErrIndex) {
					err = nil // another writer popped meanwhile
				} else if err == nil {
					fmt.Println("-" + v.(string))
				}
				continue
			}
			if err != nil {
				return proctest.Fail("list soak: %v", err)
			}
			fmt.Println("+" + item)
		}
	})
}

// The list kill soak: three processes append, insert and pop, and are
// SIGKILLed at random and replaced. Afterwards no item is there twice,
// none that a pop returned is there, and the items acknowledged and not
// popped are there but for at most one per kill (a pop cut off before it
// could say so), and so are at most one unacknowledged item per kill.
func TestListKillSoak(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	l := newList(t, seg, "l")
	const writers = 3
	rounds := 12
	if testing.Short() { // the race run: fewer kills, each a fresh race-built process
		rounds = 4
	}
	var mu sync.Mutex
	added, popped := map[string]bool{}, map[string]bool{}
	start := func(w int) (*os.Process, chan struct{}) {
		cmd := proctest.Command(t, "dict-listsoak", name, "l", strconv.Itoa(w))
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				line := sc.Text()
				mu.Lock()
				switch line[0] {
				case '+':
					added[line[1:]] = true
				case '-':
					popped[line[1:]] = true
				}
				mu.Unlock()
			}
			cmd.Wait()
		}()
		return cmd.Process, done
	}
	procs := make([]*os.Process, writers)
	dones := make([]chan struct{}, writers)
	for w := range writers {
		procs[w], dones[w] = start(w)
	}
	r := rand.New(rand.NewPCG(5, 6))
	kill := func(w int) {
		require.NoError(t, procs[w].Signal(syscall.SIGKILL))
		<-dones[w]
	}
	for range rounds {
		time.Sleep(time.Duration(5+r.IntN(30)) * time.Millisecond) // how long the victim runs, not synchronisation
		w := r.IntN(writers)
		kill(w)
		procs[w], dones[w] = start(w)
	}
	for w := range writers {
		kill(w)
	}
	kills := rounds + writers
	items, err := l.Items()
	require.NoError(t, err)
	n, err := l.Len()
	require.NoError(t, err)
	assert.Equal(t, len(items), n)
	in := map[string]bool{}
	extra, missing := 0, 0
	for _, v := range items {
		s, ok := v.(string)
		require.True(t, ok, "item %v", v)
		assert.False(t, in[s], "%s is there twice", s)
		assert.False(t, popped[s], "%s was popped and is there", s)
		in[s] = true
		if !added[s] {
			extra++
		}
	}
	for s := range added {
		if !popped[s] && !in[s] {
			missing++
		}
	}
	assert.LessOrEqual(t, extra, kills, "items no call acknowledged")
	assert.LessOrEqual(t, missing, kills, "acknowledged items lost")
	st, err := l.Stats()
	require.NoError(t, err)
	t.Logf("%d kills: %d items, %d added, %d popped, %d unacknowledged, %d missing, %d repairs",
		kills, len(items), len(added), len(popped), extra, missing, st.Recoveries)
}

// helperFloat32 reads key args[2] of dict args[1] as a Map[string,
// float32] and prints what it got.
func helperFloat32(args []string) int {
	seg := proctest.OpenSegment(args[0])
	defer seg.Close()
	m, err := dict.OpenMap[string, float32](seg, args[1])
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	defer m.Close()
	v, ok, err := m.Get(args[2])
	fmt.Println(v, ok, errors.Is(err, dict.ErrType))
	return 0
}

// A stored float64 that a float32 cannot hold is ErrType to a
// Map[string, float32], as an int too large for an int8 is to a
// Map[string, int8]; infinities and NaN read as themselves. It read as
// +Inf.
func TestFloat32MapRefusesWhatItCannotHold(t *testing.T) {
	proctest.NeedCgo(t, "the shared dict (the C library)")
	seg, name := proctest.Segment(t, 1<<16)
	d := newDict(t, seg, "d")
	for k, v := range map[string]float64{"big": 1e300, "small": -1e39, "inf": math.Inf(-1), "one": 1.5} {
		require.NoError(t, d.Set(k, v))
	}
	for k, want := range map[string]string{"big": "0 false true", "small": "0 false true", "inf": "-Inf true false", "one": "1.5 true false"} {
		assert.Equal(t, want, proctest.Output(t, "dict-float32", name, "d", k), k)
	}
}
