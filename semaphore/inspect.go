package semaphore

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

// MutexState is what a mutex looks like from outside, for tools: read
// without locking, so already stale when returned.
type MutexState struct {
	Held           bool
	OwnerPID       int  // the holder's process, 0 if unknown or free
	OwnerTID       int  // the holder's thread
	OwnerDead      bool // the holder died; the next Lock gets ErrOwnerDead
	NotRecoverable bool // unlocked after ErrOwnerDead without Consistent
	Waiters        bool
}

func (s MutexState) String() string {
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

// State describes the mutex without locking it.
func (mu mutexCore) State() MutexState {
	if mu.c.Segment().Closed() {
		return MutexState{}
	}
	lock := atomic.LoadUint32((*uint32)(unsafe.Pointer(mu.c.Mutex())))
	owner := int32(atomic.LoadUint32((*uint32)(unsafe.Add(unsafe.Pointer(mu.c.Mutex()), 8))))
	s := MutexState{Waiters: lock&futexWaiters != 0, OwnerDead: lock&futexOwnerDied != 0}
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

// CondState is what a Cond looks like from outside, for tools: read
// without its mutex, so already stale when returned.
type CondState struct {
	Waiters int // waits in progress
}

// InspectCond returns the state of the Cond named name in seg without
// opening it (which needs its mutex), for tools such as shmkit inspect.
func InspectCond(seg *shm.Segment, name string) (CondState, error) {
	_, st, err := objects.Attach[layout.Cond](seg, name, shm.KindCond)
	if err != nil {
		return CondState{}, err
	}
	return CondState{Waiters: int(st.Waiters.Load())}, nil
}
