// Package fence gives a single-producer, single-consumer protocol between
// processes its two kinds of ordering: cheap release stores on the path
// every message takes, and a heavy barrier, paid only by a side about to
// sleep, that orders those stores for it.
//
// A side that publishes with Store and then looks for sleepers with a plain
// load can see no sleeper while its own store is still in its CPU's store
// buffer; the sleeper, which announced itself and then looked for the
// store, would then sleep through it. A full fence per message prevents
// that, but waits for the store buffer to drain, and so for every cache line
// the message touched to arrive: several times the cost of the message. So
// the sleeper fences instead: after announcing itself and before its last
// look, it calls Heavy, which (membarrier(2), MEMBARRIER_CMD_GLOBAL_EXPEDITED)
// makes every running thread of every process that called Register execute
// a full barrier. A publisher's load that missed the announcement then came
// before that barrier, so its store is visible to the last look.
//
// Both sides must Register before they publish; Available reports whether
// this kernel and its sandbox allow it.
package fence

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// membarrier(2) commands (linux/membarrier.h).
const (
	cmdQuery                   = 0
	cmdGlobalExpedited         = 1 << 1
	cmdRegisterGlobalExpedited = 1 << 2
	membarrierMinimum          = cmdGlobalExpedited | cmdRegisterGlobalExpedited
)

var register = sync.OnceValue(func() error {
	cmds, _, errno := unix.Syscall(unix.SYS_MEMBARRIER, cmdQuery, 0, 0)
	if errno != 0 {
		return errno
	}
	if cmds&membarrierMinimum != membarrierMinimum {
		return unix.ENOSYS
	}
	if _, _, errno := unix.Syscall(unix.SYS_MEMBARRIER, cmdRegisterGlobalExpedited, 0, 0); errno != 0 {
		return errno
	}
	return nil
})

// Register enrols this process for Heavy barriers; it is idempotent. It
// fails where membarrier(2) is missing or refused.
func Register() error { return register() }

// Heavy makes every running thread of every registered process execute a
// full memory barrier before it returns. The caller must have registered.
func Heavy() error {
	for {
		_, _, errno := unix.Syscall(unix.SYS_MEMBARRIER, cmdGlobalExpedited, 0, 0)
		if errno != unix.EINTR {
			if errno != 0 {
				return errno
			}
			return nil
		}
	}
}

// Store stores v in *p with release ordering (see Store64). It relies on
// atomic.Uint64 being its value alone, which fence_test checks.
func Store(p *atomic.Uint64, v uint64) { Store64((*uint64)(unsafe.Pointer(p)), v) }

// StorePair is Store(p1, v1), if first, then Store(p2, v2), in that order,
// in one call.
func StorePair(p1 *atomic.Uint64, v1 uint64, p2 *atomic.Uint64, v2 uint64, first bool) {
	storePair((*uint64)(unsafe.Pointer(p1)), v1, (*uint64)(unsafe.Pointer(p2)), v2, first)
}
