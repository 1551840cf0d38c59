package semaphore_test

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/internal/cbind"
	"github.com/shmkit/shmkit/internal/embed"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

// closeKinds are the waits that Close must end: each blocks for good
// unless Close ends it, once without and once with a timeout.
var closeKinds = []string{"sem", "mutex", "event", "cond", "barrier"}

// helperCloseWhileWaiting opens segment args[0], starts a wait of kind
// args[1] (with a minute's timeout if args[2] is "timeout") in a goroutine,
// closes the segment once the wait is counted in, and prints how the wait
// ended: "closed" for an error wrapping shm.ErrClosed. The parent holds the
// mutex.
func helperCloseWhileWaiting(args []string) int {
	seg := proctest.OpenSegment(args[0])
	timed := args[2] == "timeout"
	raw := func(name string) []byte {
		obj, err := seg.Lookup(name)
		if err != nil {
			panic(err)
		}
		return obj.Bytes()
	}
	var wait func() error
	var asleep func() bool
	switch args[1] {
	case "sem":
		s, err := semaphore.Open(seg, "sem")
		if err != nil {
			return proctest.Fail("%v", err)
		}
		wait = func() error {
			if timed {
				_, err := s.AcquireTimeout(time.Minute)
				return err
			}
			return s.Acquire()
		}
		w := &layout.At[layout.Semaphore](raw("sem"), 0).Waiters
		asleep = func() bool { return w.Load() > 0 }
	case "mutex":
		m, err := semaphore.OpenMutex(seg, "mu-"+args[2]) // one per form: a sleeper's mark outlives it
		if err != nil {
			return proctest.Fail("%v", err)
		}
		wait = func() error {
			if timed {
				_, err := m.LockTimeout(time.Minute)
				return err
			}
			return m.Lock()
		}
		lock := layout.At[layout.Mutex](raw("mu-"+args[2]), 0)
		asleep = func() bool { return embed.StateOf(lock).Waiters }
	case "event":
		e, err := semaphore.OpenEvent(seg, "ev")
		if err != nil {
			return proctest.Fail("%v", err)
		}
		wait = func() error {
			if timed {
				_, err := e.WaitTimeout(time.Minute)
				return err
			}
			return e.Wait()
		}
		w := &layout.At[layout.Event](raw("ev"), 0).Waiters
		asleep = func() bool { return w.Load() > 0 }
	case "cond":
		m, err := semaphore.OpenRMutex(seg, "cmu-"+args[2]) // one per form, checked free after each
		if err != nil {
			return proctest.Fail("%v", err)
		}
		c, err := semaphore.OpenCond(seg, "cv-"+args[2], m)
		if err != nil {
			return proctest.Fail("%v", err)
		}
		wait = func() error {
			if err := m.Lock(); err != nil {
				return err
			}
			if timed {
				_, err = c.WaitTimeout(time.Minute)
			} else {
				err = c.Wait()
			}
			return err
		}
		w := &layout.At[layout.Cond](raw("cv-"+args[2]), 0).Waiters
		asleep = func() bool { return w.Load() > 0 }
	case "barrier":
		b, err := semaphore.OpenBarrier(seg, "bar")
		if err != nil {
			return proctest.Fail("%v", err)
		}
		wait = func() error {
			var err error
			if timed {
				_, err = b.WaitTimeout(time.Minute)
			} else {
				_, err = b.Wait()
			}
			return err
		}
		st := layout.At[layout.Barrier](raw("bar"), 0)
		asleep = func() bool { return atomic.LoadUint32(&st.Count) > 0 }
	}
	return proctest.CloseWhileWaiting(seg, wait, asleep)
}

// Closing a segment while other goroutines wait on its objects killed the
// process with SIGSEGV: the waits woke in unmapped memory. Close now wakes
// them, waits for them to leave, and they return ErrClosed.
func TestCloseWhileWaiting(t *testing.T) {
	seg, name := newSeg(t)
	_, err := semaphore.New(seg, "sem", 0)
	require.NoError(t, err)
	_, err = semaphore.NewEvent(seg, "ev")
	require.NoError(t, err)
	needsCgo := map[string]bool{"mutex": true, "cond": true, "barrier": true} // pthread mutexes and the barrier's lock
	if cbind.Available {
		var held []*semaphore.Mutex
		for _, form := range []string{"plain", "timeout"} {
			mu, err := semaphore.NewMutex(seg, "mu-"+form)
			require.NoError(t, err)
			held = append(held, mu)
		}
		for _, form := range []string{"plain", "timeout"} {
			cmu, err := semaphore.NewRMutex(seg, "cmu-"+form)
			require.NoError(t, err)
			_, err = semaphore.NewCond(seg, "cv-"+form, cmu)
			require.NoError(t, err)
		}
		_, err = semaphore.NewBarrier(seg, "bar", 2)
		require.NoError(t, err)
		for _, mu := range held {
			require.NoError(t, mu.Lock())
			defer mu.Unlock()
		}
	}
	for _, kind := range closeKinds {
		for _, form := range []string{"plain", "timeout"} {
			t.Run(kind+"/"+form, func(t *testing.T) {
				if needsCgo[kind] {
					proctest.NeedCgo(t, "a "+kind)
				}
				out := proctest.Output(t, "closewhile", name, kind, form)
				assert.Equal(t, "closed", out)
				if kind == "cond" { // the wait that Close ended released the mutex
					cmu, err := semaphore.OpenRMutex(seg, "cmu-"+form)
					require.NoError(t, err)
					locked, err := cmu.TryLock()
					if locked {
						assert.NoError(t, cmu.Unlock())
					}
					assert.True(t, locked && err == nil, "the helper left the Cond's mutex held: TryLock %v, %v", locked, err)
				}
			})
			if kind == "barrier" && cbind.Available { // the helper's arrival stays counted: start again
				b, err := semaphore.OpenBarrier(seg, "bar")
				require.NoError(t, err)
				require.NoError(t, b.Reset())
			}
		}
	}
}

// condCloseRounds bounds TestCloseDuringCondWaitReleasesMutex by rounds,
// not time: each round closes once, at whatever point the wait has reached.
const condCloseRounds = 2000

// openCondPair opens mutex "cl-"+kind (kind "mutex" or "rmutex") and the
// Cond "cv-"+kind made with it.
func openCondPair(seg *shm.Segment, kind string) (semaphore.CondLocker, *semaphore.Cond, error) {
	var l semaphore.CondLocker
	var err error
	if kind == "rmutex" {
		l, err = semaphore.OpenRMutex(seg, "cl-"+kind)
	} else {
		l, err = semaphore.OpenMutex(seg, "cl-"+kind)
	}
	if err != nil {
		return nil, nil, err
	}
	c, err := semaphore.OpenCond(seg, "cv-"+kind, l)
	return l, c, err
}

// helperCloseCondRounds repeats, args[2] times, on segment args[0]: open the
// segment, start a goroutine that locks mutex kind args[1] and waits on its
// Cond, close the segment as soon as the wait counts itself in, and check,
// through a mapping of its own, that the mutex is free again. It prints
// "released" if it always was, else the round that left it held.
func helperCloseCondRounds(args []string) int {
	name, kind := args[0], args[1]
	rounds, err := strconv.Atoi(args[2])
	if err != nil {
		return proctest.Fail("rounds: %v", err)
	}
	// The closer and the waiter run in parallel even with GOMAXPROCS=1 set
	// for the tests: the window is a few instructions wide.
	runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0)))
	keep := proctest.OpenSegment(name)
	defer keep.Close()
	probe, _, err := openCondPair(keep, kind)
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	for round := range rounds {
		seg := proctest.OpenSegment(name)
		l, c, err := openCondPair(seg, kind)
		if err != nil {
			return proctest.Fail("open: %v", err)
		}
		obj, err := seg.Lookup("cv-" + kind)
		if err != nil {
			return proctest.Fail("lookup: %v", err)
		}
		waiters := &layout.At[layout.Cond](obj.Bytes(), 0).Waiters
		done := make(chan error, 1)
		go func() {
			if err := l.Lock(); err != nil {
				done <- err
				return
			}
			done <- c.Wait()
		}()
		// Close as soon as the wait counts itself in, so that it lands
		// anywhere from the release of the mutex to the sleep.
		for waiters.Load() == 0 {
			runtime.Gosched() // observing state, not synchronising
		}
		if err := seg.Close(); err != nil {
			return proctest.Fail("close: %v", err)
		}
		if err := <-done; !errors.Is(err, shm.ErrClosed) {
			fmt.Printf("round %d: the wait ended with %v\n", round, err)
			return 0
		}
		locked, err := probe.(interface{ TryLock() (bool, error) }).TryLock()
		if !locked || err != nil {
			fmt.Printf("round %d: the mutex was left held (TryLock %v, %v)\n", round, locked, err)
			return 0
		}
		if err := probe.Unlock(); err != nil {
			return proctest.Fail("unlock: %v", err)
		}
	}
	fmt.Println("released")
	return 0
}

// A Cond wait that Close ended returns ErrClosed without the mutex. When
// Close came between the wait counting itself in and releasing the mutex,
// the release failed as a write to a closed segment: the mutex stayed
// locked by the waiter's thread, and once the mapping was gone not even
// the kernel could mark it owner-dead at exit, so every other process's
// Lock hung for good.
func TestCloseDuringCondWaitReleasesMutex(t *testing.T) {
	proctest.NeedCgo(t, "a Cond's mutex")
	seg, name := newSeg(t)
	for _, kind := range []string{"mutex", "rmutex"} {
		var l semaphore.CondLocker
		var err error
		if kind == "rmutex" {
			l, err = semaphore.NewRMutex(seg, "cl-"+kind)
		} else {
			l, err = semaphore.NewMutex(seg, "cl-"+kind)
		}
		require.NoError(t, err)
		_, err = semaphore.NewCond(seg, "cv-"+kind, l)
		require.NoError(t, err)
	}
	for _, kind := range []string{"mutex", "rmutex"} {
		t.Run(kind, func(t *testing.T) {
			out := proctest.Output(t, "closecond", name, kind, strconv.Itoa(condCloseRounds))
			assert.Equal(t, "released", out)
		})
	}
}

// helperCloseBarrierRounds repeats, args[1] times, on segment args[0]: open
// the segment, start a goroutine that waits on barrier "bar2" (two
// parties), close the segment as soon as the arrival is counted, and reset
// the barrier through a mapping of its own. It prints "closed" if every
// wait ended with shm.ErrClosed.
func helperCloseBarrierRounds(args []string) int {
	rounds, err := strconv.Atoi(args[1])
	if err != nil {
		return proctest.Fail("rounds: %v", err)
	}
	runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))) // closer and waiter in parallel
	keep := proctest.OpenSegment(args[0])
	defer keep.Close()
	reset, err := semaphore.OpenBarrier(keep, "bar2")
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	for round := range rounds {
		seg := proctest.OpenSegment(args[0])
		b, err := semaphore.OpenBarrier(seg, "bar2")
		if err != nil {
			return proctest.Fail("open: %v", err)
		}
		obj, err := seg.Lookup("bar2")
		if err != nil {
			return proctest.Fail("lookup: %v", err)
		}
		st := layout.At[layout.Barrier](obj.Bytes(), 0)
		done := make(chan error, 1)
		go func() {
			_, err := b.Wait()
			done <- err
		}()
		for atomic.LoadUint32(&st.Count) == 0 {
			runtime.Gosched() // observing state, not synchronising
		}
		if err := seg.Close(); err != nil {
			return proctest.Fail("close: %v", err)
		}
		if err := <-done; !errors.Is(err, shm.ErrClosed) {
			fmt.Printf("round %d: the wait ended with %v\n", round, err)
			return 0
		}
		if err := reset.Reset(); err != nil {
			return proctest.Fail("reset: %v", err)
		}
	}
	fmt.Println("closed")
	return 0
}

// A Barrier wait that Close overtook right after its arrival was counted
// read the barrier's parties through the public Parties, which panics on a
// closed segment: the process died instead of the wait returning ErrClosed.
func TestCloseRightAfterBarrierArrival(t *testing.T) {
	proctest.NeedCgo(t, "a barrier")
	seg, name := newSeg(t)
	_, err := semaphore.NewBarrier(seg, "bar2", 2)
	require.NoError(t, err)
	out := proctest.Output(t, "closebar", name, strconv.Itoa(condCloseRounds))
	assert.Equal(t, "closed", out)
}
