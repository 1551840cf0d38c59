// Package embed describes a robust mutex that lives inside another object,
// such as the recursive mutex beside a locked ctypes value. Package
// semaphore defines its RMutex from Mutex, so package ctypes converts a
// *Mutex it fills in to a *semaphore.RMutex: a plain import of both
// packages, with nothing for semaphore to export or to set at start-up.
package embed

import (
	"fmt"

	"github.com/shmkit/shmkit/internal/cbind"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/shm"
)

// A Mutex is a robust, process-shared pthread mutex in a segment, as
// package semaphore holds one: semaphore's mutexCore and RMutex are defined
// from it.
type Mutex struct {
	Label     string // its name, used in errors
	M         *layout.Mutex
	Seg       *shm.Segment
	Recursive bool
}

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
	return &Mutex{Label: name, M: layout.At[layout.Mutex](mem, 0), Seg: seg, Recursive: true}, nil
}
