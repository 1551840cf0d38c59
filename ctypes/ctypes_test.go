package ctypes_test

import (
	"io"
	"math"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

func newSeg(t testing.TB) (*shm.Segment, string) {
	t.Helper()
	return proctest.Segment(t, 16<<20, shm.WithCapacity(128))
}

// sampleCase runs one typecode through the parent and a child process.
type sampleCase interface {
	code() ctypes.Typecode
	create(seg *shm.Segment) error
	write(seg *shm.Segment) error
	check(t *testing.T, seg *shm.Segment)
}

// sample is a value of T that does not fit a narrower type, or is
// negative, so that a wrong size or sign shows.
type sample[T ctypes.Elem] struct{ x, step T }

func (s sample[T]) code() ctypes.Typecode { return ctypes.TypecodeOf[T]() }

func (s sample[T]) create(seg *shm.Segment) error {
	if _, err := ctypes.NewValue[T](seg, "v", 0); err != nil {
		return err
	}
	_, err := ctypes.NewArray[T](seg, "a", 5)
	return err
}

func (s sample[T]) write(seg *shm.Segment) error {
	v, err := ctypes.OpenValue[T](seg, "v")
	if err != nil {
		return err
	}
	if err := v.Set(s.x); err != nil {
		return err
	}
	v.Raw().Add(s.step)
	a, err := ctypes.OpenArray[T](seg, "a")
	if err != nil {
		return err
	}
	for i := range a.Len() {
		if err := a.Set(i, s.x); err != nil {
			return err
		}
	}
	return nil
}

func (s sample[T]) check(t *testing.T, seg *shm.Segment) {
	v, err := ctypes.OpenValue[T](seg, "v")
	require.NoError(t, err)
	got, err := v.Get()
	require.NoError(t, err)
	assert.Equal(t, s.x+s.step, got)
	a, err := ctypes.OpenRawArray[T](seg, "a")
	require.NoError(t, err)
	for i := range a.Len() {
		assert.Equal(t, s.x, a.At(i))
	}
	obj, err := ctypes.OpenObject(seg, "a")
	require.NoError(t, err)
	assert.Equal(t, s.code(), obj.Typecode)
	assert.Equal(t, 5, obj.Len())
	assert.True(t, obj.Locked)
	if s.code().IsFloat() {
		assert.Equal(t, float64(s.x), obj.Float64(2))
	} else if s.code().IsSigned() {
		assert.Equal(t, int64(s.x), obj.Int64(2))
	} else {
		assert.Equal(t, uint64(s.x), obj.Uint64(2))
	}
}

var samples = []sampleCase{
	sample[ctypes.Char]{'x', 1},
	sample[int8]{-100, 1},
	sample[uint8]{250, 5},
	sample[ctypes.WChar]{'é', 1},
	sample[int16]{-30000, 1},
	sample[uint16]{65000, 500},
	sample[int32]{-2_000_000_000, 1},
	sample[uint32]{4_000_000_000, 1},
	sample[ctypes.Long]{-1 << 40, 1},
	sample[ctypes.ULong]{1 << 63, 1},
	sample[int64]{math.MinInt64 + 1, -1},
	sample[uint64]{math.MaxUint64 - 1, 1},
	sample[float32]{-1.5, 0.25},
	sample[float64]{math.Pi, 1e-9},
}

// Go form of CPython's _TestValue and _TestArray: a child writes, the
// parent sees, for every typecode.
func TestEveryTypecodeAcrossProcesses(t *testing.T) {
	proctest.NeedCgo(t, "a locked Value or Array (its lock is a pthread mutex)")
	seen := map[ctypes.Typecode]bool{}
	for _, s := range samples {
		t.Run(string(rune(s.code())), func(t *testing.T) {
			seg, name := newSeg(t)
			require.NoError(t, s.create(seg))
			proctest.Output(t, "write", name, string(rune(s.code())))
			s.check(t, seg)
		})
		seen[s.code()] = true
	}
	assert.Len(t, seen, 14, "every typecode once")
}

func TestTypecodes(t *testing.T) {
	sizes := map[byte]int{'c': 1, 'b': 1, 'B': 1, 'u': 4, 'h': 2, 'H': 2, 'i': 4, 'I': 4, 'l': 8, 'L': 8, 'q': 8, 'Q': 8, 'f': 4, 'd': 8}
	for c, size := range sizes {
		tc, err := ctypes.ParseTypecode(c)
		require.NoError(t, err)
		assert.Equal(t, size, tc.Size(), "%c", c)
		assert.Contains(t, tc.String(), "'"+string(rune(c))+"'")
	}
	_, err := ctypes.ParseTypecode('x')
	require.ErrorIs(t, err, ctypes.ErrBadTypecode)
	assert.Contains(t, err.Error(), "c, b, B, u, h, H, i, I, l, L, q, Q, f or d")
	assert.Equal(t, "'d' (double)", ctypes.CodeDouble.String())
	assert.Equal(t, ctypes.CodeWChar, ctypes.TypecodeOf[ctypes.WChar]())
	assert.Equal(t, ctypes.CodeInt, ctypes.TypecodeOf[int32]())
	assert.Equal(t, ctypes.CodeUByte, ctypes.TypecodeOf[byte]())
	assert.Equal(t, ctypes.CodeChar, ctypes.TypecodeOf[ctypes.Char]())
}

func TestOpenErrors(t *testing.T) {
	seg, _ := newSeg(t)
	_, err := ctypes.NewRawValue[float64](seg, "d", 1)
	require.NoError(t, err)
	_, err = ctypes.OpenRawValue[int64](seg, "d")
	require.ErrorIs(t, err, ctypes.ErrTypeMismatch)
	assert.Contains(t, err.Error(), "'d' (double), not 'q' (long long)")
	_, err = ctypes.OpenRawArray[float64](seg, "d")
	assert.ErrorIs(t, err, shm.ErrKindMismatch, "a value is not an array")
	_, err = ctypes.NewRawValue[float64](seg, "d", 2)
	assert.ErrorIs(t, err, shm.ErrObjectExists)
	_, err = ctypes.OpenValue[float64](seg, "missing")
	assert.ErrorIs(t, err, shm.ErrObjectNotFound)
	_, err = ctypes.NewRawArray[int32](seg, "neg", -1)
	assert.ErrorIs(t, err, ctypes.ErrNegativeLength)
	_, err = ctypes.NewRawArray[int32](seg, "huge", math.MaxInt)
	assert.ErrorIs(t, err, shm.ErrInvalidSize)
	empty, err := ctypes.NewRawArray[int32](seg, "empty", 0)
	require.NoError(t, err, "Python allows RawArray('i', 0)")
	assert.Equal(t, 0, empty.Len())

	_, err = ctypes.OpenValue[float64](seg, "d")
	assert.ErrorIs(t, err, ctypes.ErrNoLock, "a raw value has no lock to open it with")
	raw, err := ctypes.OpenValue[float64](seg, "d", ctypes.WithoutLock())
	require.NoError(t, err)
	assert.Nil(t, raw.GetLock(), "a raw value has no lock")
	assert.ErrorIs(t, raw.Lock(), ctypes.ErrNoLock)
	_, err = raw.Get()
	assert.ErrorIs(t, err, ctypes.ErrNoLock)
	_, err = ctypes.OpenObject(seg, "nope")
	assert.ErrorIs(t, err, shm.ErrObjectNotFound)
}

// A hostile count in the directory is caught before any view is made.
func TestCorruptDescriptor(t *testing.T) {
	seg, name := newSeg(t)
	_, err := ctypes.NewRawArray[int64](seg, "a", 8) // 64 bytes
	require.NoError(t, err)
	objs, err := seg.Objects()
	require.NoError(t, err)
	raw, err := shm.OpenRaw(name)
	require.NoError(t, err)
	defer raw.Close()
	// Entry 0's count (offset 128+72) claims far more elements than fit,
	// including a count whose byte size overflows.
	for _, count := range []uint64{9, 1 << 61, math.MaxUint64} {
		for i := range 8 {
			raw.Bytes()[128+72+i] = byte(count >> (8 * i))
		}
		_, err = ctypes.OpenRawArray[int64](seg, "a")
		assert.ErrorIs(t, err, shm.ErrCorrupt, "count %d", count)
		_, err = ctypes.OpenObject(seg, "a")
		assert.ErrorIs(t, err, shm.ErrCorrupt, "count %d", count)
	}
	assert.Equal(t, uint64(8), objs[0].Count)
}

func TestArraysFromSizeAreZeroed(t *testing.T) {
	proctest.NeedCgo(t, "a locked Value or Array (its lock is a pthread mutex)")
	seg, _ := newSeg(t)
	a, err := ctypes.NewRawArray[float64](seg, "z", 1000)
	require.NoError(t, err)
	for _, x := range a.Slice() {
		require.Zero(t, x)
	}
	b, err := ctypes.NewArrayFrom(seg, "r", []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	require.NoError(t, err)
	assert.Equal(t, 10, b.Len())
	got := make([]int32, 10)
	assert.Equal(t, 10, b.Raw().CopyTo(got))
	assert.Equal(t, []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, got)
	assert.Equal(t, 3, b.Raw().CopyFrom([]int32{-1, -2, -3}))
	v, err := b.At(2)
	require.NoError(t, err)
	assert.Equal(t, int32(-3), v)
	assert.Panics(t, func() { b.Raw().At(10) }, "out of range panics like a slice")
	assert.Panics(t, func() { b.Set(-1, 0) })
}

// CPython's prefix-sum test: a child changes the array in place.
func TestPrefixSumByChild(t *testing.T) {
	proctest.NeedCgo(t, "a locked Value or Array (its lock is a pthread mutex)")
	seg, name := newSeg(t)
	init := make([]int64, 100)
	for i := range init {
		init[i] = int64(i)
	}
	a, err := ctypes.NewArrayFrom(seg, "a", init)
	require.NoError(t, err)
	proctest.Output(t, "prefixsum", name)
	sum := int64(0)
	for i := range init {
		sum += int64(i)
		v, err := a.At(i)
		require.NoError(t, err)
		require.Equal(t, sum, v, "element %d", i)
	}
}

// The seeds' counter: 5 processes x 1000 increments, exact both ways.
func TestCounterFiveProcesses(t *testing.T) {
	proctest.NeedCgo(t, "a locked Value or Array (its lock is a pthread mutex)")
	for _, mode := range []string{"lock", "atomic"} {
		t.Run(mode, func(t *testing.T) {
			seg, name := newSeg(t)
			v, err := ctypes.NewValue[int32](seg, "n", 0)
			require.NoError(t, err)
			var wg sync.WaitGroup
			for range 5 {
				wg.Add(1)
				go func() { defer wg.Done(); proctest.Output(t, "count", name, mode, "1000") }()
			}
			wg.Wait()
			got, err := v.Get()
			require.NoError(t, err)
			assert.Equal(t, int32(5000), got)
		})
	}
}

func TestCharArrays(t *testing.T) {
	seg, _ := newSeg(t)
	c, err := ctypes.NewCharArray(seg, "c", 5)
	require.NoError(t, err)
	require.NoError(t, c.SetValue([]byte("hello")), "exactly the length is allowed")
	assert.Equal(t, "hello", string(c.Value()))
	require.NoError(t, c.SetValue([]byte("hi")))
	assert.Equal(t, "hi", string(c.Value()))
	assert.Equal(t, "hi\x00lo", string(c.Raw()), "raw keeps what follows the NUL")
	assert.ErrorIs(t, c.SetValue([]byte("toolong")), ctypes.ErrTooLong)
	assert.ErrorIs(t, c.SetRaw([]byte("toolong")), ctypes.ErrTooLong)
	require.NoError(t, c.SetRaw([]byte("ab")))
	assert.Equal(t, "ab\x00lo", string(c.Raw()))
	again, err := ctypes.OpenCharArray(seg, "c")
	require.NoError(t, err)
	assert.Equal(t, "ab", string(again.Value()))

	w, err := ctypes.NewWCharArray(seg, "w", 4)
	require.NoError(t, err)
	require.NoError(t, w.SetValue("héé!"))
	assert.Equal(t, "héé!", w.Value())
	require.NoError(t, w.SetValue("ő"))
	assert.Equal(t, "ő", w.Value())
	assert.ErrorIs(t, w.SetValue("12345"), ctypes.ErrTooLong)
	_, err = ctypes.OpenWCharArray(seg, "c")
	assert.ErrorIs(t, err, ctypes.ErrTypeMismatch)
}

func TestAtomicsEverySize(t *testing.T) {
	seg, _ := newSeg(t)
	// Neighbouring sub-word elements must not disturb each other.
	a, err := ctypes.NewRawArray[int8](seg, "b", 8)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				a.Add(i, 1)
			}
		}()
	}
	wg.Wait()
	for i := range 8 {
		assert.Equal(t, int8(1000%256-256), a.At(i), "element %d wrapped like C", i)
	}
	h, err := ctypes.NewRawValue[uint16](seg, "h", 7)
	require.NoError(t, err)
	assert.True(t, h.CompareAndSwap(7, 9))
	assert.False(t, h.CompareAndSwap(7, 10))
	assert.Equal(t, uint16(9), h.Swap(65535))
	assert.Equal(t, uint16(0), h.Add(1), "wraps")
	i32, err := ctypes.NewRawValue[int32](seg, "i32", math.MaxInt32)
	require.NoError(t, err)
	assert.Equal(t, int32(math.MinInt32), i32.Add(1), "wraps")
	assert.Equal(t, int32(math.MaxInt32), i32.Add(-1), "wraps back")
	u64, err := ctypes.NewRawValue[uint64](seg, "u64", 5)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), u64.Add(math.MaxUint64-2), "adds modulo 2^64")
	l, err := ctypes.NewRawArray[ctypes.Long](seg, "l", 2)
	require.NoError(t, err)
	assert.Equal(t, ctypes.Long(-3), l.Add(1, -3))
	f, err := ctypes.NewRawValue[float64](seg, "f", 0)
	require.NoError(t, err)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				f.Add(0.5)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 2000.0, f.Load(), "atomic float add loses nothing")
	*f.Ptr() = 1
	assert.Equal(t, 1.0, f.Load())
}

func TestCallersLock(t *testing.T) {
	proctest.NeedCgo(t, "a caller's semaphore.Mutex (pthread)")
	seg, _ := newSeg(t)
	mu, err := semaphore.NewMutex(seg, "mu")
	require.NoError(t, err)
	v, err := ctypes.NewValue[int64](seg, "v", 1, ctypes.WithLock(mu))
	require.NoError(t, err)
	assert.Same(t, semaphore.Locker(mu), v.GetLock())
	_, err = v.Update(func(x int64) int64 { return x * 10 })
	require.NoError(t, err)
	_, err = ctypes.OpenValue[int64](seg, "v")
	assert.ErrorIs(t, err, ctypes.ErrNoLock, "the caller's lock is not recorded in the segment")
	withMu, err := ctypes.OpenValue[int64](seg, "v", ctypes.WithLock(mu))
	require.NoError(t, err)
	got, err := withMu.Get()
	require.NoError(t, err)
	assert.Equal(t, int64(10), got)

	none, err := ctypes.NewArray[int32](seg, "none", 3, ctypes.WithoutLock())
	require.NoError(t, err)
	assert.ErrorIs(t, none.Set(0, 1), ctypes.ErrNoLock)
	none.Raw().Set(0, 1)

	// The default lock is recursive, like Python's RLock.
	r, err := ctypes.NewValue[int32](seg, "r", 0)
	require.NoError(t, err)
	require.NoError(t, r.Lock())
	require.NoError(t, r.Set(5), "Set takes the lock again inside Lock")
	require.NoError(t, r.Unlock())
	assert.Equal(t, int32(5), r.Raw().Load())
}

// A process killed while holding a Value's lock: the next locker is told,
// and the value keeps working.
func TestValueLockHolderKilled(t *testing.T) {
	proctest.NeedCgo(t, "a locked Value or Array (its lock is a pthread mutex)")
	seg, name := newSeg(t)
	v, err := ctypes.NewValue[int32](seg, "n", 41)
	require.NoError(t, err)
	cmd := proctest.Command(t, "holdlock", name)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	defer stdin.Close()
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line := make([]byte, 7)
	_, err = io.ReadFull(out, line)
	require.NoError(t, err)
	require.Equal(t, "locked\n", string(line))
	require.NoError(t, cmd.Process.Kill())
	require.Error(t, cmd.Wait())

	got, err := v.Update(func(x int32) int32 { return x + 1 })
	assert.ErrorIs(t, err, semaphore.ErrOwnerDead, "the death is reported")
	assert.Equal(t, int32(42), got, "and the update still happened")
	got, err = v.Get()
	require.NoError(t, err, "repaired: the lock works again")
	assert.Equal(t, int32(42), got)
}

// OpenArray of an array made without a lock returned a handle whose every
// call failed with "object has no lock"; the error now comes at Open.
func TestOpenArrayWithoutLockFailsAtOpen(t *testing.T) {
	proctest.NeedCgo(t, "a locked Value or Array (its lock is a pthread mutex)")
	seg, name := newSeg(t)
	_, err := ctypes.NewArray[int32](seg, "bare", 4, ctypes.WithoutLock())
	require.NoError(t, err)
	_, err = ctypes.NewArray[int32](seg, "locked", 4)
	require.NoError(t, err)
	assert.Equal(t, "no lock", proctest.Output(t, "openarray", name, "bare"))
	assert.Equal(t, "ok", proctest.Output(t, "openarray", name, "locked"))
	a, err := ctypes.OpenArray[int32](seg, "bare", ctypes.WithoutLock())
	require.NoError(t, err, "asking for no lock is fine")
	assert.Equal(t, 4, a.Len())
}
