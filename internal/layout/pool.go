package layout

import (
	"sync/atomic"
	"unsafe"
)

// Pool constants (shmkit.h).
const (
	PoolMagic    uint64 = 0x4C4F4F50544B4853 // "SHKTPOOL" as little-endian
	PoolVersion  uint32 = 1                  // the protocol of the table and messages
	PoolStarting uint32 = 0
	PoolIdle     uint32 = 1
	PoolBusy     uint32 = 2
	PoolExited   uint32 = 3
	PoolOK       uint8  = 0
	PoolError    uint8  = 1
	PoolPanic    uint8  = 2
	PoolTooLarge uint8  = 3
)

// Pool is struct shmkit_pool, the header of a pool's worker table. Every
// field after creation is written by one process and read by others as a
// hint, so all are atomics.
type Pool struct {
	Magic     atomic.Uint64
	Workers   uint32
	ParentPID int32
	Closed    atomic.Uint32
	Version   uint32
	Queued    atomic.Uint64
	InFlight  atomic.Uint64
	Done      atomic.Uint64
	Failed    atomic.Uint64
	Retried   atomic.Uint64
	Starts    atomic.Uint64
	Reserved  [56]byte
}

// PoolWorker is struct shmkit_pool_worker, one row of the worker table.
type PoolWorker struct {
	PID        atomic.Int32
	State      atomic.Uint32
	Generation atomic.Uint64
	Task       atomic.Uint64
	Done       atomic.Uint64
	ExitCode   atomic.Int32
	Item       atomic.Uint32
	Reserved   [24]byte
}

// Sizes of the pool's structs.
const (
	PoolSize       = int(unsafe.Sizeof(Pool{}))
	PoolWorkerSize = int(unsafe.Sizeof(PoolWorker{}))
)

// PoolTableSize is the bytes a table of n workers takes.
func PoolTableSize(n int) int { return PoolSize + n*PoolWorkerSize }

// PoolTable views b, which must hold PoolTableSize(n) bytes and be 8-byte
// aligned, as a pool header and its n worker rows.
func PoolTable(b []byte, n int) (*Pool, []PoolWorker) {
	if n < 0 || len(b) < PoolTableSize(n) || uintptr(unsafe.Pointer(unsafe.SliceData(b)))%8 != 0 {
		panic("layout: pool table outside its object")
	}
	h := (*Pool)(unsafe.Pointer(unsafe.SliceData(b)))
	if n == 0 { // b may end with the header: there is no b[PoolSize]
		return h, nil
	}
	return h, unsafe.Slice((*PoolWorker)(unsafe.Pointer(&b[PoolSize])), n)
}
