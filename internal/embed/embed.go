// Package embed lets package ctypes place a recursive robust mutex inside a
// value or array it lays out, without that being part of package
// semaphore's API: semaphore fills in the functions at start-up.
package embed

import "github.com/shmkit/shmkit/shm"

var (
	// InitRMutex initialises a recursive robust mutex in mem (at least 64
	// bytes, not in use).
	InitRMutex func(mem []byte) error
	// RMutex returns the mutex InitRMutex made in mem, inside seg, as a
	// *semaphore.RMutex; name is used in its errors.
	RMutex func(seg *shm.Segment, name string, mem []byte) (any, error)
)
