//go:build !(cgo && linux && amd64)

package robust

import "unsafe"

// Without the assembly for this platform every call takes the C path.

type threadInfo struct {
	head uintptr
	tid  uint32
}

func initialise()                 {}
func lookup() (threadInfo, bool)  { return threadInfo{}, false }
func current() (threadInfo, bool) { return threadInfo{}, false }
func table() unsafe.Pointer       { return nil }

// LockPlain and UnlockPlain: see robust.go.
func LockPlain(unsafe.Pointer, unsafe.Pointer, Kind) Code   { return lockMissed }
func UnlockPlain(unsafe.Pointer, unsafe.Pointer, Kind) Code { return unlockMissed }
