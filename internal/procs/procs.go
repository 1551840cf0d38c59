// Package procs answers whether a process still exists, which is how shmkit
// tells a dead peer from a slow one.
package procs

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Alive reports whether a process (or thread) with this id exists. A
// process we may not signal (EPERM) exists. A reused id looks alive: callers
// that recover from death then wait rather than recover, never corrupt.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}
