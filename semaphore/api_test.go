package semaphore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/internal/embed"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/semaphore"
	"github.com/shmkit/shmkit/shm"
)

// helperCondSignal adds 1 to counter 0 under mutex "mu" and broadcasts on
// cond "cv".
func helperCondSignal(args []string) int {
	seg := openSeg(args[0])
	mu, err := semaphore.OpenMutex(seg, "mu")
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	cv, err := semaphore.OpenCond(seg, "cv", mu)
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	if err := mu.Lock(); err != nil {
		return proctest.Fail("lock: %v", err)
	}
	counters(seg)[0].Add(1)
	cv.Broadcast()
	return exitErr(mu.Unlock())
}

// Every blocking call of the package has a Context form, Cond's Wait too:
// an ended context returns ctx.Err() with the mutex held again, and a
// Broadcast from another process wakes it. Locker gives the mutex to code
// that was handed only the Cond, as sync.Cond's L does.
func TestCondWaitContextAndLocker(t *testing.T) {
	proctest.NeedCgo(t, "a Mutex (a pthread mutex)")
	seg, name := newSeg(t)
	mu, err := semaphore.NewMutex(seg, "mu")
	require.NoError(t, err)
	cv, err := semaphore.NewCond(seg, "cv", mu)
	require.NoError(t, err)
	assert.Same(t, semaphore.CondLocker(mu), cv.Locker())

	require.NoError(t, cv.Locker().(*semaphore.Mutex).Lock())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, cv.WaitContext(ctx), context.DeadlineExceeded)
	ok, err := mu.TryLock()
	assert.ErrorIs(t, err, semaphore.ErrDeadlock, "the mutex is held again after the wait")
	assert.False(t, ok)

	// The helper needs the mutex to broadcast, so it can do so only once
	// this Wait has released it: no wake is lost.
	cmd := proctest.Command(t, "condsignal", name)
	require.NoError(t, cmd.Start())
	for counters(seg)[0].Load() == 0 {
		require.NoError(t, cv.WaitContext(context.Background()))
	}
	require.NoError(t, mu.Unlock())
	require.NoError(t, cmd.Wait())
}

// A Semaphore names itself, as every handle of shmkit does, for the
// caller's errors and logs; the name is the object's, from any process.
func TestSemaphoreName(t *testing.T) {
	seg, _ := newSeg(t)
	s, err := semaphore.New(seg, "slots", 2)
	require.NoError(t, err)
	assert.Equal(t, "slots", s.Name())
	o, err := semaphore.Open(seg, "slots")
	require.NoError(t, err)
	assert.Equal(t, "slots", o.Name())
}

// embed.InspectCond counts the waits on a Cond without its mutex (for shmkit
// inspect): one in another process, then none once it has been woken.
func TestInspectCond(t *testing.T) {
	proctest.NeedCgo(t, "a Mutex (a pthread mutex)")
	seg, name := newSeg(t)
	mu, err := semaphore.NewMutex(seg, "mu")
	require.NoError(t, err)
	cv, err := semaphore.NewCond(seg, "cv", mu)
	require.NoError(t, err)
	st, err := embed.InspectCond(seg, "cv")
	require.NoError(t, err)
	assert.Equal(t, 0, st.Waiters)

	cmd := proctest.Command(t, "cond", name, "1")
	require.NoError(t, cmd.Start())
	c := counters(seg)
	for c[2].Load() == 0 {
		time.Sleep(time.Millisecond) // observing state, not synchronising
	}
	// The helper counted itself (under the mutex) before it waits, and it
	// counts itself a waiter before it releases the mutex: once we hold
	// the mutex, it is waiting.
	require.NoError(t, mu.Lock())
	st, err = embed.InspectCond(seg, "cv")
	require.NoError(t, err)
	assert.Equal(t, 1, st.Waiters)
	c[0].Add(1)
	cv.Broadcast()
	require.NoError(t, mu.Unlock())
	require.NoError(t, cmd.Wait())
	st, err = embed.InspectCond(seg, "cv")
	require.NoError(t, err)
	assert.Equal(t, 0, st.Waiters)

	_, err = embed.InspectCond(seg, "mu")
	assert.ErrorIs(t, err, shm.ErrKindMismatch)
}
