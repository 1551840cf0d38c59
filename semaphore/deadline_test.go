package semaphore_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/semaphore"
)

// A timed acquire on a semaphore nobody releases, with another process
// spinning on the same CPU: it gives up near its deadline. Its spin had
// yielded the CPU 16 times before looking at the clock, each yield a time
// slice of the busy process, and returned about 24 ms late.
func TestAcquireTimeoutOnBusyCPU(t *testing.T) {
	seg, _ := proctest.Segment(t, 1<<16)
	s, err := semaphore.New(seg, "s", 0)
	require.NoError(t, err)
	proctest.OneBusyCPU(t)
	for _, d := range []time.Duration{0, time.Millisecond} {
		late := proctest.Late(d, func() {
			ok, err := s.AcquireTimeout(d)
			require.NoError(t, err)
			require.False(t, ok)
		})
		require.Less(t, late, 10*time.Millisecond, "timeout %v: late by %v (median)", d, late)
	}
}
