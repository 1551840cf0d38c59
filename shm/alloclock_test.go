package shm_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/shm"
)

// helperFlockReadOnly opens segment args[0] for reading only, takes an
// exclusive flock on it, says so, and holds it until stdin closes.
func helperFlockReadOnly(args []string) int {
	f, err := os.Open("/dev/shm/" + args[0])
	if err != nil {
		return proctest.Fail("open: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return proctest.Fail("flock: %v", err)
	}
	fmt.Println("locked")
	io.ReadAll(os.Stdin)
	return 0
}

// helperStopInAlloc allocates object args[1] in segment args[0] and stops
// itself (SIGSTOP) inside the allocation, holding the allocation lock.
func helperStopInAlloc(args []string) int {
	seg := proctest.OpenSegment(args[0])
	_, err := seg.Alloc(shm.Request{Name: args[1], Kind: shm.KindBytes, Length: 64}, func([]byte) error {
		fmt.Println("allocating")
		os.Stdout.Sync()
		if err := syscall.Kill(os.Getpid(), syscall.SIGSTOP); err != nil {
			return err
		}
		// The stop may land only after Kill has returned: a helper that
		// left init then released the lock before it stopped. Never leave
		// init, so that it stops holding the lock; the test kills it.
		for {
			time.Sleep(time.Hour)
		}
	})
	return exitOn(err)
}

func exitOn(err error) int {
	if err != nil {
		return proctest.Fail("%v", err)
	}
	return 0
}

// allocWithin runs seg.Alloc of a new bytes object in a goroutine and fails
// t if it has not returned within a minute: a hang is the defect.
func allocWithin(t *testing.T, seg *shm.Segment, name string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := seg.Alloc(shm.Request{Name: name, Kind: shm.KindBytes, Length: 64}, nil)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatalf("Alloc of %q still blocked after a minute", name)
		return nil
	}
}

// A process with only read access could take the flock that serialised
// allocation and stall every Alloc for good. Read access now cannot block
// a writer.
func TestReadersCannotBlockAlloc(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<16)
	cmd := proctest.Command(t, "flockro", name)
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { in.Close(); cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked\n", line)
	assert.NoError(t, allocWithin(t, seg, "after-reader"))
}

// A stopped allocator holds the lock; waits for it end with the context
// or at the segment's bound, and once it is killed the next Alloc takes
// the lock over.
func TestStoppedAllocatorBoundsTheWait(t *testing.T) {
	seg, name := proctest.Segment(t, 1<<16)
	cmd := proctest.Command(t, "stopinalloc", name, "stuck")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "allocating\n", line)
	for deadline := time.Now().Add(time.Minute); !stopped(cmd.Process.Pid); {
		require.True(t, time.Now().Before(deadline), "the allocator never stopped")
		time.Sleep(time.Millisecond) // observing state, not synchronising
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = seg.AllocContext(ctx, shm.Request{Name: "a", Kind: shm.KindBytes, Length: 64}, nil)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	bounded, err := shm.Open(name, shm.WithAllocWait(50*time.Millisecond))
	require.NoError(t, err)
	defer bounded.Close()
	_, err = bounded.Alloc(shm.Request{Name: "b", Kind: shm.KindBytes, Length: 64}, nil)
	assert.ErrorIs(t, err, shm.ErrBusy)
	assert.Contains(t, err.Error(), fmt.Sprint(cmd.Process.Pid))

	require.NoError(t, cmd.Process.Kill())
	cmd.Wait()
	require.NoError(t, allocWithin(t, seg, "after-death"))
	_, err = seg.Lookup("stuck")
	assert.ErrorIs(t, err, shm.ErrObjectNotFound, "the dead allocator's object is never published")
}

func stopped(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'T'
}
