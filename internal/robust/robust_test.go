package robust_test

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/shmkit/shmkit/internal/cbind"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/proctest"
	"github.com/shmkit/shmkit/internal/robust"
	"github.com/shmkit/shmkit/shm"
)

func TestMain(m *testing.M) {
	proctest.Main(m, map[string]proctest.Helper{"mixed": helperMixed})
}

const mutexes = 8

// newMutexes makes a segment with mutexes error-checking robust mutexes,
// the even ones recursive, in one bytes object "m".
func newMutexes(t *testing.T) (*shm.Segment, string, []unsafe.Pointer) {
	if !robust.Enabled() {
		t.Skip("the Go path is not available on this platform")
	}
	seg, name := proctest.Segment(t, 1<<16)
	obj, err := seg.Alloc(shm.Request{Name: "m", Kind: shm.KindBytes, Length: 64 * mutexes}, func(mem []byte) error {
		for i := range mutexes {
			if err := cbind.MutexInit(mx(unsafe.Pointer(&mem[64*i])), i%2 == 0); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)
	return seg, name, pointers(obj.Bytes())
}

func pointers(mem []byte) []unsafe.Pointer {
	ms := make([]unsafe.Pointer, mutexes)
	for i := range ms {
		ms[i] = unsafe.Pointer(&mem[64*i])
	}
	return ms
}

// The order helperMixed locks and unlocks in, and with whose code: the
// thread's robust list is changed by Go and by glibc in turn, and each
// unlocks mutexes the other locked. Left held: 0, 3, 4, 7.
var (
	lockByGo   = []bool{true, false, true, false, true, false, true, false}
	unlockSeq  = []int{2, 1, 5, 6}
	unlockByGo = []bool{true, true, false, false}
	stillHeld  = map[int]bool{0: true, 3: true, 4: true, 7: true}
)

// helperMixed locks every mutex of segment args[0] on one thread, half
// with Go's path and half with glibc's, unlocks some of them crosswise,
// says "locked", and waits to be killed.
func helperMixed(args []string) int {
	seg := proctest.OpenSegment(args[0])
	obj, err := seg.Lookup("m")
	if err != nil {
		return proctest.Fail("lookup: %v", err)
	}
	ms := pointers(obj.Bytes())
	runtime.LockOSThread()
	for i, m := range ms {
		if lockByGo[i] {
			if r := robust.TryLock(m, i%2 == 0); r != robust.Locked {
				return proctest.Fail("Go lock %d: %v", i, r)
			}
		} else if err := cbind.MutexLock(mx(m)); err != nil {
			return proctest.Fail("C lock %d: %v", i, err)
		}
	}
	for k, i := range unlockSeq {
		if unlockByGo[k] {
			if !robust.Unlock(ms[i], i%2 == 0) {
				return proctest.Fail("Go unlock %d refused", i)
			}
		} else if err := cbind.MutexUnlock(mx(ms[i])); err != nil {
			return proctest.Fail("C unlock %d: %v", i, err)
		}
	}
	fmt.Println("locked")
	bufio.NewReader(os.Stdin).ReadString('\n')
	return 0
}

// A process killed while holding mutexes that Go and glibc linked into its
// robust list in turn: the kernel marks exactly the held ones owner-dead,
// so Go and glibc kept one consistent list.
func TestMixedListSurvivesKill(t *testing.T) {
	_, name, ms := newMutexes(t)
	cmd := proctest.Command(t, "mixed", name)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked\n", line)
	require.NoError(t, cmd.Process.Kill())
	cmd.Wait()

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for i, m := range ms {
		err := cbind.MutexTryLock(mx(m))
		if stillHeld[i] {
			require.ErrorIs(t, err, syscall.EOWNERDEAD, "mutex %d was held", i)
			require.NoError(t, cbind.MutexConsistent(mx(m)))
		} else {
			require.NoError(t, err, "mutex %d was released", i)
		}
		require.True(t, robust.Unlock(m, i%2 == 0), "mutex %d: Go unlocks what glibc locked", i)
	}
}

// A goroutine that ends while wired to its thread ends the thread; a mutex
// it took by the Go path is then owner-dead, as with glibc. (The process's
// main thread is never ended, only parked: a goroutine that finds itself
// there keeps it, so that the next one gets another thread.)
func TestThreadExitMarksOwnerDead(t *testing.T) {
	_, _, ms := newMutexes(t)
	release := make(chan struct{})
	defer close(release)
	const onMain = robust.Result(-1)
	result := onMain
	for result == onMain {
		done := make(chan robust.Result)
		go func() {
			runtime.LockOSThread() // never unwired: the thread exits with the goroutine
			if unix.Gettid() == unix.Getpid() {
				done <- onMain
				<-release // hold the main thread until the test ends
				return
			}
			done <- robust.TryLock(ms[1], false)
		}()
		result = <-done
	}
	require.Equal(t, robust.Locked, result)
	deadline := time.Now().Add(time.Minute)
	for robust.Word(ms[1])&0x40000000 == 0 { // FUTEX_OWNER_DIED: the thread is gone
		require.True(t, time.Now().Before(deadline), "the kernel never marked the mutex")
		runtime.Gosched()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	assert.Equal(t, robust.Other, robust.TryLock(ms[1], false), "a dead owner is glibc's case")
	require.ErrorIs(t, cbind.MutexTryLock(mx(ms[1])), syscall.EOWNERDEAD)
	require.NoError(t, cbind.MutexConsistent(mx(ms[1])))
	require.True(t, robust.Unlock(ms[1], false))
}

// Threads come and go, and glibc reuses their descriptors, so a new thread
// can have an old one's thread pointer. Each must still lock with its own
// thread id.
func TestReusedThreadsLockWithTheirOwnID(t *testing.T) {
	_, _, ms := newMutexes(t)
	for i := range 200 {
		errc := make(chan error)
		go func() {
			runtime.LockOSThread() // the thread exits with the goroutine
			if r := robust.TryLock(ms[0], true); r != robust.Locked {
				errc <- fmt.Errorf("round %d: %v", i, r)
				return
			}
			w, tid := robust.Word(ms[0]), uint32(unix.Gettid())
			if !robust.Unlock(ms[0], true) {
				errc <- fmt.Errorf("round %d: unlock refused", i)
				return
			}
			if w != tid {
				errc <- fmt.Errorf("round %d: locked as thread %d, is %d", i, w, tid)
				return
			}
			errc <- nil
		}()
		require.NoError(t, <-errc)
	}
}

// A recursive mutex counts its levels the same way in Go and glibc.
func TestRecursiveLevels(t *testing.T) {
	_, _, ms := newMutexes(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	m := ms[2]
	require.Equal(t, robust.Locked, robust.TryLock(m, true))
	require.Equal(t, robust.Other, robust.TryLock(m, true), "a second level is glibc's")
	require.NoError(t, cbind.MutexLock(mx(m)))
	require.True(t, robust.Unlock(m, true))
	require.NoError(t, cbind.MutexUnlock(mx(m)))
	require.ErrorIs(t, cbind.MutexUnlock(mx(m)), syscall.EPERM, "both levels were released")
	assert.False(t, robust.Unlock(m, true), "nothing to release")
	assert.False(t, robust.Unlock(ms[3], false), "the kind must match")
}

// mx is a mutex pointer as package cbind takes it.
func mx(p unsafe.Pointer) *layout.Mutex { return (*layout.Mutex)(p) }

// TestPlainWithoutTable: LockPlain and UnlockPlain take nothing without a
// thread table (the Go path off), even for a mutex whose __kind is 0 as a
// zeroed or foreign one's is, rather than look the thread up in no table.
func TestPlainWithoutTable(t *testing.T) {
	var m [64]byte
	p := unsafe.Pointer(&m[0])
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	assert.NotEqual(t, robust.Taken, robust.LockPlain(p, nil, 0))
	assert.NotEqual(t, robust.Released, robust.UnlockPlain(p, nil, 0))
	assert.Equal(t, [64]byte{}, m, "nothing written")
}
