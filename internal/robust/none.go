//go:build !(cgo && linux && amd64)

package robust

import "unsafe"

// Without the assembly for this platform every call takes the C path.

type threadInfo struct {
	head uintptr
	tid  uint32
}

func initialise()                                     {}
func lookup() (threadInfo, bool)                      { return threadInfo{}, false }
func current() (threadInfo, bool)                     { return threadInfo{}, false }
func lockFast(unsafe.Pointer, uintptr, uint32) uint32 { return 1 }
func unlockFast(unsafe.Pointer, uintptr) uint32       { return 0 }
