//go:build !cgo

package semaphore_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/shmkit/shmkit/semaphore"
)

// Without cgo nothing pretends to work: every constructor says why.
func TestNoCgo(t *testing.T) {
	seg, _ := newSeg(t)
	_, err := semaphore.New(seg, "s", 1)
	assert.ErrorIs(t, err, semaphore.ErrNoCgo)
	_, err = semaphore.NewBounded(seg, "b", 1)
	assert.ErrorIs(t, err, semaphore.ErrNoCgo)
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
	assert.Len(t, objs, 1, "only the test's own counters: nothing half-made was published")
}
