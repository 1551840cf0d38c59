//go:build !cgo

package semaphore_test

import (
	"testing"

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
	objs, err := seg.Objects()
	assert.NoError(t, err)
	assert.Len(t, objs, 3, "the counters and the two semaphores: nothing half-made was published")
}
