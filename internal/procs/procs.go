// Package procs answers whether a process still exists, which is how shmkit
// tells a dead peer from a slow one.
package procs

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// Alive reports whether a process (or thread) with this id exists and has
// not exited. A process we may not signal (EPERM) exists; a zombie (dead,
// not yet reaped by its parent) has exited. A reused id looks alive:
// callers that recover from death then wait rather than recover, never
// corrupt.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := unix.Kill(pid, 0)
	return (err == nil || errors.Is(err, unix.EPERM)) && !exited(pid)
}

// exited reports whether /proc says pid is a zombie or being reaped. The
// state is the first field after the command, which is in parentheses and
// may itself contain ") ".
func exited(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false // no /proc, or another namespace's: trust kill
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return false
	}
	state := stat[i+2]
	return state == 'Z' || state == 'X'
}

// PIDNamespace identifies this process's pid namespace: the low 32 bits of
// the inode of /proc/self/ns/pid, or 0 where /proc does not tell. A pid
// recorded with another namespace than ours cannot be judged by Alive.
func PIDNamespace() uint32 {
	nsOnce.Do(func() {
		var st unix.Stat_t
		if unix.Stat("/proc/self/ns/pid", &st) == nil {
			ns = uint32(st.Ino)
		}
	})
	return ns
}

var (
	nsOnce sync.Once
	ns     uint32
)
