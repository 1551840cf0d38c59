// Package embed describes a robust mutex that lives inside another object,
// such as the recursive mutex beside a locked ctypes value. Package
// semaphore defines its RMutex from Mutex, so package ctypes converts a
// *Mutex it fills in to a *semaphore.RMutex: a plain import of both
// packages, with nothing for semaphore to export or to set at start-up.
package embed

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/shmkit/shmkit/internal/cbind"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/race"
	"github.com/shmkit/shmkit/internal/robust"
	"github.com/shmkit/shmkit/internal/segment"
	"github.com/shmkit/shmkit/shm"
)

// A Mutex is a robust, process-shared pthread mutex in a segment, as
// package semaphore holds one: semaphore's RMutex is defined from it, and
// its Mutex points to one. Its fields are unexported, so that a user of
// semaphore's types reaches none of them.
type Mutex struct {
	label     string // its name, used in errors
	m         *layout.Mutex
	seg       *shm.Segment
	recursive bool
	kind      robust.Kind // the __kind LockFree and UnlockHeld expect
}

// New describes the mutex m, named label, in seg.
func New(label string, m *layout.Mutex, seg *shm.Segment, recursive bool) *Mutex {
	return &Mutex{label: label, m: m, seg: seg, recursive: recursive, kind: robust.KindOf(recursive)}
}

// core is the segment's machinery. Spelt here, not as objects.Core, so
// that the compiler, seeing package segment imported, inlines its one-load
// RefusesWrites into the fast paths below.
func (mu *Mutex) core() *segment.Segment { return (*segment.Segment)(mu.seg) }

// LockFree takes the mutex if it is free, in Go, and reports whether it
// did; the goroutine is then wired to its thread (runtime.LockOSThread),
// since the mutex is on that thread's robust list until UnlockHeld. On
// false nothing is held or wired, and the caller takes package semaphore's
// full path, which handles every other case and gives the errors.
func (mu *Mutex) LockFree() bool {
	if mu.core().RefusesWrites() {
		return false
	}
	m := unsafe.Pointer(mu.m)
	runtime.LockOSThread()
	c := robust.LockPlain(m, robust.Table(), mu.kind)
	if c == robust.Taken {
		race.Acquire()
		return true
	}
	robust.Settle(m, c)
	runtime.UnlockOSThread()
	return false
}

// UnlockHeld releases the mutex if this thread holds it at one level in
// the plain state, and unwires the goroutine; on false nothing changed and
// the caller takes the full path.
func (mu *Mutex) UnlockHeld() bool {
	if mu.core().RefusesWrites() {
		return false
	}
	race.Release()
	m := unsafe.Pointer(mu.m)
	switch robust.UnlockPlain(m, robust.Table(), mu.kind) {
	case robust.Released:
	case robust.ReleasedWake:
		robust.Wake(m)
	default:
		return false
	}
	runtime.UnlockOSThread()
	return true
}

// Label is the mutex's name, used in errors.
func (mu *Mutex) Label() string { return mu.label }

// Mutex is the pthread_mutex_t.
func (mu *Mutex) Mutex() *layout.Mutex { return mu.m }

// Segment is the segment the mutex lives in.
func (mu *Mutex) Segment() *shm.Segment { return mu.seg }

// Recursive reports whether the mutex is recursive.
func (mu *Mutex) Recursive() bool { return mu.recursive }

// InitRMutex initialises a recursive robust mutex in mem (at least 64
// bytes, not in use) that belongs to another object.
func InitRMutex(mem []byte) error {
	if len(mem) < layout.SlotSize {
		return fmt.Errorf("%w: %d bytes for a mutex", shm.ErrInvalidSize, len(mem))
	}
	if !cbind.Available {
		return cbind.ErrNoCgo
	}
	return cbind.MutexInit(layout.At[layout.Mutex](mem, 0), true)
}

// RMutex returns the recursive mutex InitRMutex made in mem, inside seg;
// name is used in its errors. The caller converts it to *semaphore.RMutex.
func RMutex(seg *shm.Segment, name string, mem []byte) (*Mutex, error) {
	if len(mem) < layout.SlotSize {
		return nil, fmt.Errorf("%w: %d bytes for a mutex", shm.ErrCorrupt, len(mem))
	}
	return New(name, layout.At[layout.Mutex](mem, 0), seg, true), nil
}
