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

// MaxPID is the largest id the kernel gives a process or thread (its
// PID_MAX_LIMIT less one: pid_max cannot be set higher). The C library
// keeps the same bound.
const MaxPID = 1<<22 - 1

// Possible reports whether id, as read from a segment, can name a process
// or thread at all: 1..MaxPID. Any other id is a corrupt word, held by
// nobody. kill(2) would read 0xFFFFFFFF as -1, every process we may signal,
// and say it exists.
func Possible(id uint32) bool { return id >= 1 && id <= MaxPID }

// Alive reports whether a process (or thread) with this id exists and has
// not exited. An id that no process can have is not alive. A process we
// may not signal (EPERM) exists; a zombie (dead, not yet reaped by its
// parent) has exited. A reused id looks alive: callers that recover from
// death then wait rather than recover, never corrupt.
func Alive(pid int) bool {
	if pid <= 0 || pid > MaxPID {
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

// ParentOf returns the parent of process pid, from /proc (which any user
// may read), or 0 if /proc does not say.
func ParentOf(pid int) int {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := bytes.Fields(stat[i+1:]) // state, ppid, ...
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(string(f[1]))
	return ppid
}

// ProcessOf returns the process that thread tid belongs to, from /proc, or
// 0 if /proc does not say.
func ProcessOf(tid int) int {
	status, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return 0
	}
	for line := range bytes.Lines(status) {
		if rest, ok := bytes.CutPrefix(line, []byte("Tgid:")); ok {
			pid, _ := strconv.Atoi(string(bytes.TrimSpace(rest)))
			return pid
		}
	}
	return 0
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
