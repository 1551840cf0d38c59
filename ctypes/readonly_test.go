package ctypes_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/channel"
	"github.com/shmkit/shmkit/ctypes"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

// Writes through a read-only attach killed the process with SIGSEGV (21 of
// 22 writing calls). Each now returns, or panics with, an error wrapping
// shm.ErrReadOnly; reads keep working. The calls run in a helper process,
// which a fault would kill.
func TestReadOnlyWritesNeverFault(t *testing.T) {
	proctest.NeedCgo(t, "a locked Value or Array (its lock is a pthread mutex)")
	seg, name := newSeg(t)
	_, err := ctypes.NewRawValue[int64](seg, "rv", 7)
	require.NoError(t, err)
	_, err = ctypes.NewRawArray[int32](seg, "ra", 4)
	require.NoError(t, err)
	_, err = ctypes.NewValue[int64](seg, "v", 1)
	require.NoError(t, err)
	_, err = ctypes.NewCharArray(seg, "c", 8)
	require.NoError(t, err)
	_, err = semaphore.New(seg, "s", 1)
	require.NoError(t, err)
	_, err = semaphore.NewMutex(seg, "m")
	require.NoError(t, err)
	mu, err := semaphore.NewRMutex(seg, "rm")
	require.NoError(t, err)
	_, err = semaphore.NewEvent(seg, "e")
	require.NoError(t, err)
	_, err = semaphore.NewCond(seg, "cv", mu)
	require.NoError(t, err)
	_, err = semaphore.NewBarrier(seg, "br", 2)
	require.NoError(t, err)
	for _, kind := range []string{"any", "spsc"} {
		var opts []channel.Option
		if kind == "spsc" {
			opts = append(opts, channel.WithSPSC())
		}
		ch, err := channel.New[float64](seg, kind, 4, 2, opts...)
		require.NoError(t, err)
		require.NoError(t, ch.Send([]float64{1, 2}))
	}

	out := proctest.Output(t, "readonly", name, "readonly")
	lines := strings.Split(out, "\n")
	assert.Len(t, lines, 30)
	for _, line := range lines {
		assert.True(t, strings.HasSuffix(line, ": refused") || strings.HasSuffix(line, ": read ok"), line)
	}

	// After Close every call is refused, reads too, where they used to fault.
	out = proctest.Output(t, "readonly", name, "closed")
	lines = strings.Split(out, "\n")
	assert.Len(t, lines, 30)
	for _, line := range lines {
		assert.True(t, strings.HasSuffix(line, ": refused"), line)
	}
}

// helperReadOnly attaches segment args[0] read-only (args[1] "readonly"),
// or read-write and then closes it ("closed"), and tries every writing call
// and some reads, printing "NAME: refused" for each refused (by an error or
// panic wrapping shm.ErrReadOnly, or shm.ErrClosed) and "NAME: read ok" for
// each read that worked.
func helperReadOnly(args []string) int {
	var opts []shm.OpenOption
	refusal := shm.ErrClosed
	if args[1] == "readonly" {
		opts, refusal = append(opts, shm.WithReadOnly()), shm.ErrReadOnly
	}
	seg, err := shm.Open(args[0], opts...)
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	try := func(what string, f func() error) {
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					err, _ = p.(error)
					if err == nil {
						err = fmt.Errorf("panic %v", p)
					}
				}
			}()
			err = f()
		}()
		switch {
		case errors.Is(err, refusal):
			fmt.Printf("%s: refused\n", what)
		case err == nil && strings.HasPrefix(what, "read "):
			fmt.Printf("%s: read ok\n", what)
		default:
			fmt.Printf("%s: %v\n", what, err)
		}
	}
	rv, _ := ctypes.OpenRawValue[int64](seg, "rv")
	ra, _ := ctypes.OpenRawArray[int32](seg, "ra")
	v, _ := ctypes.OpenValue[int64](seg, "v")
	c, _ := ctypes.OpenCharArray(seg, "c")
	s, _ := semaphore.Open(seg, "s")
	m, _ := semaphore.OpenMutex(seg, "m")
	rm, _ := semaphore.OpenRMutex(seg, "rm")
	e, _ := semaphore.OpenEvent(seg, "e")
	cv, _ := semaphore.OpenCond(seg, "cv", rm)
	br, _ := semaphore.OpenBarrier(seg, "br")
	any, _ := channel.Open[float64](seg, "any")
	sp, _ := channel.Open[float64](seg, "spsc")
	buf := make([]float64, 2)
	if refusal == shm.ErrClosed {
		if err := seg.Close(); err != nil {
			return proctest.Fail("close: %v", err)
		}
	}
	try("read value", func() error { _ = rv.Load(); return nil })
	try("read array", func() error { _ = ra.At(0); return nil })
	try("read array out", func() error { ra.CopyTo(make([]int32, 4)); return nil })
	try("read channel length", func() error { _ = any.Len(); return nil })
	try("read channel state", func() error { _ = sp.State(); return nil })
	try("RawValue.Store", func() error { rv.Store(1); return nil })
	try("RawValue.Add", func() error { rv.Add(1); return nil })
	try("RawArray.Set", func() error { ra.Set(0, 1); return nil })
	try("RawArray.CopyFrom", func() error { ra.CopyFrom([]int32{1}); return nil })
	try("Value.Set", func() error { return v.Set(2) })
	try("Value.Get (takes the lock)", func() error { _, err := v.Get(); return err })
	try("CharArray.SetValue", func() error { return c.SetValue([]byte("x")) })
	try("read semaphore", func() error { _, err := s.Value(); return err })
	try("Semaphore.TryAcquire", func() error { _, err := s.TryAcquire(); return err })
	try("Semaphore.Release", func() error { return s.Release() })
	try("Mutex.TryLock", func() error { _, err := m.TryLock(); return err })
	try("Mutex.Lock", func() error { return m.Lock() })
	try("RMutex.Lock", func() error { return rm.Lock() })
	try("Event.Set", func() error { e.Set(); return nil })
	try("Event.Clear", func() error { e.Clear(); return nil })
	try("Event.Wait", func() error { return e.Wait() })
	try("Cond.Signal", func() error { cv.Signal(); return nil })
	try("Barrier.Wait", func() error { _, err := br.Wait(); return err })
	try("Barrier.Abort", func() error { return br.Abort() })
	for name, ch := range map[string]*channel.Channel[float64]{"any": any, "spsc": sp} {
		try(name+" Send", func() error { return ch.Send(buf) })
		try(name+" TryRecv", func() error { _, _, err := ch.TryRecv(buf); return err })
		try(name+" End", func() error { return ch.End() })
	}
	return 0
}
