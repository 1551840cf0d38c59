package layout

import "sync/atomic"

// SlotSize is the room a pthread_mutex_t has in an object: a whole cache
// line, whatever its size on this platform.
const SlotSize = 64

// Semaphore is struct shmkit_semaphore, plain or bounded.
type Semaphore struct {
	Value    atomic.Uint32 // futex
	Waiters  atomic.Uint32
	Bound    uint32 // the most Value may be; read once, at attach
	Reserved [52]byte
}

// Mutex is struct shmkit_mutex.
type Mutex struct {
	Mutex [SlotSize]byte // pthread_mutex_t, robust
}

// Cond is struct shmkit_cond.
type Cond struct {
	Seq      atomic.Uint32 // futex
	Waiters  atomic.Uint32
	Reserved [56]byte
}

// Event is struct shmkit_event.
type Event struct {
	Flag     atomic.Uint32 // futex
	Waiters  atomic.Uint32
	Reserved [56]byte
}

// Barrier is struct shmkit_barrier. Only Gen is read outside its lock.
type Barrier struct {
	Lock      [SlotSize]byte // pthread_mutex_t, robust
	Gen       atomic.Uint32  // futex
	Parties   uint32
	Count     uint32
	Broken    uint32
	BrokenGen uint32
	Reserved  [44]byte
}
