package embed

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/objects"
	"github.com/shmkit/shmkit/internal/procs"
	"github.com/shmkit/shmkit/shm"
)

// State is what a mutex looks like from outside, for tools (shmkit
// inspect): read without locking, so already stale when returned.
type State struct {
	Held           bool
	OwnerPID       int  // the holder's process, 0 if unknown or free
	OwnerTID       int  // the holder's thread
	OwnerDead      bool // the holder died; the next Lock gets ErrOwnerDead
	NotRecoverable bool // unlocked after ErrOwnerDead without Consistent
	Waiters        bool
}

func (s State) String() string {
	switch {
	case s.NotRecoverable:
		return "not recoverable"
	case s.OwnerDead:
		return "owner dead"
	case s.Held && s.OwnerPID != 0:
		return fmt.Sprintf("held by pid %d", s.OwnerPID)
	case s.Held:
		return fmt.Sprintf("held by thread %d", s.OwnerTID)
	}
	return "free"
}

// glibc's struct __pthread_mutex_s (x86-64 and arm64): __lock (the futex
// word: owner TID, FUTEX_WAITERS, FUTEX_OWNER_DIED) at 0, __owner at 8.
// Private to glibc, but unchanged for many years; read here only to
// describe a mutex, never to decide anything.
const (
	futexWaiters    = 0x80000000
	futexOwnerDied  = 0x40000000
	futexTIDMask    = 0x3fffffff
	ownerInconsist  = 0x7fffffff
	ownerNotRecover = 0x7ffffffe
)

// StateOf describes the mutex m without locking it; m must be in an open
// segment.
func StateOf(m *layout.Mutex) State {
	lock := atomic.LoadUint32((*uint32)(unsafe.Pointer(m)))
	owner := int32(atomic.LoadUint32((*uint32)(unsafe.Add(unsafe.Pointer(m), 8))))
	s := State{Waiters: lock&futexWaiters != 0, OwnerDead: lock&futexOwnerDied != 0}
	switch owner {
	case ownerNotRecover:
		s.NotRecoverable = true
		return s
	case ownerInconsist:
		s.OwnerDead = true
	}
	if tid := int(lock & futexTIDMask); tid != 0 {
		s.Held, s.OwnerTID = true, tid
		s.OwnerPID = processOfThread(tid)
		if s.OwnerPID == 0 && !s.OwnerDead {
			// The thread is gone and nobody has locked since: the
			// next Lock will report it.
			s.OwnerDead = !procs.Alive(tid)
		}
	}
	return s
}

// processOfThread returns the process a thread id belongs to, or 0.
func processOfThread(tid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Tgid:"); ok {
			pid, _ := strconv.Atoi(strings.TrimSpace(v))
			return pid
		}
	}
	return 0
}

// LockOffset is where a locked value's or array's mutex starts: after its
// dataBytes of data, rounded up to a slot.
func LockOffset(dataBytes uint64) uint64 {
	off, _ := layout.AlignUp(dataBytes)
	return off
}

// LockOf is the mutex of obj, a value or array with the locked flag whose
// data takes dataBytes; nil if it has none, or no room for one.
func LockOf(obj shm.Object, dataBytes uint64) *layout.Mutex {
	off := LockOffset(dataBytes)
	if obj.Flags&layout.FlagLocked == 0 || off > obj.Length || obj.Length-off < layout.SlotSize {
		return nil
	}
	return layout.At[layout.Mutex](obj.Bytes(), off)
}

// CondState is what a Cond looks like from outside, for tools (shmkit
// inspect): read without its mutex, so already stale when returned.
type CondState struct {
	Waiters int // waits in progress
}

// InspectCond returns the state of the Cond named name in seg without
// opening it (which needs its mutex).
func InspectCond(seg *shm.Segment, name string) (CondState, error) {
	_, st, err := objects.Attach[layout.Cond](seg, name, shm.KindCond)
	if err != nil {
		return CondState{}, err
	}
	return CondState{Waiters: int(st.Waiters.Load())}, nil
}

// InspectMutex returns the state of the mutex or recursive mutex (kind)
// named name in seg without opening it as a lock.
func InspectMutex(seg *shm.Segment, name string, kind shm.Kind) (State, error) {
	_, m, err := objects.Attach[layout.Mutex](seg, name, kind)
	if err != nil {
		return State{}, err
	}
	return StateOf(m), nil
}
