//go:build !cgo

package semaphore_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/semaphore"
)

// Without cgo the semaphores in a segment work (they are atomics and a
// futex); everything built on pthread mutexes or sem_open says why not.
func TestNoCgo(t *testing.T) {
	seg, _ := newSeg(t)
	s, err := semaphore.New(seg, "s", 1)
	require.NoError(t, err)
	require.NoError(t, s.Acquire())
	require.NoError(t, s.Release())
	b, err := semaphore.NewBounded(seg, "b", 1)
	require.NoError(t, err)
	assert.ErrorIs(t, b.Release(), semaphore.ErrTooManyReleases)
	_, err = semaphore.NewMutex(seg, "m")
	assert.ErrorIs(t, err, semaphore.ErrNoCgo)
	_, err = semaphore.NewRMutex(seg, "r")
	assert.ErrorIs(t, err, semaphore.ErrNoCgo)
	_, err = semaphore.NewBarrier(seg, "br", 2)
	assert.ErrorIs(t, err, semaphore.ErrNoCgo)
	_, err = semaphore.CreateNamed(t.Name(), 1)
	assert.ErrorIs(t, err, semaphore.ErrNoCgo)
	assert.Equal(t, "shmkit: built without cgo; mutexes, barriers, locked values and named semaphores need CGO_ENABLED=1", semaphore.ErrNoCgo.Error())

	// Event is an atomic and a futex: it works.
	ev, err := semaphore.NewEvent(seg, "ev")
	require.NoError(t, err)
	ok, err := ev.WaitTimeout(time.Millisecond)
	require.NoError(t, err)
	assert.False(t, ok)
	ev.Set()
	ok, err = ev.WaitTimeout(time.Minute)
	require.NoError(t, err)
	assert.True(t, ok)
	objs, err := seg.Objects()
	assert.NoError(t, err)
	assert.Len(t, objs, 4, "the counters, the two semaphores and the event: nothing half-made was published")
}
