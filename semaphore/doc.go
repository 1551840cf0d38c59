// Package semaphore provides process-shared synchronisation in shmkit
// segments: counting and bounded semaphores, POSIX named semaphores, robust
// mutexes (plain and recursive), condition variables, events and barriers —
// Python's multiprocessing.synchronize, made robust and found by name.
//
// Every object lives in a segment (package shm) under a name, created by a
// New function and attached to by the matching Open function from any
// process — Go, or C and Python through the layout in cgo/shmkit.h.
//
// What it costs. Semaphores are atomics on the shared memory, and a free
// Mutex is locked and unlocked in Go, so neither calls C on its fast path.
// A waiter watches the shared word for a few microseconds before it sleeps.
// A goroutine blocked in Acquire, Lock or Wait sleeps in the kernel
// (pthread_mutex_clocklock, sem_clockwait for named semaphores, or a futex) and
// occupies one OS thread while it does. At most SetMaxBlockedThreads threads
// (default 1024) block at once per process; further waiters park as
// goroutines and take turns, so 10,000 waiting goroutines do not exhaust the
// runtime's threads. Waits run in slices of at most 250 ms (10 ms with a
// cancellable context), so cancellation takes effect within 10 ms and the
// cost of an idle waiter is a few wake-ups a second. Every timeout runs on
// CLOCK_MONOTONIC.
//
// Robustness. A Mutex whose holder dies is handed to the next locker with
// ErrOwnerDead; see Mutex. Python's locks and Boost's cannot do this.
package semaphore
