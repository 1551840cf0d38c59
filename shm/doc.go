// Package shm creates and attaches named POSIX shared memory segments that
// describe themselves: a header, then a directory of named objects, then
// the objects.
//
// A segment is made once (Create), found by name from any process (Open),
// and outlives every process until it is unlinked (Unlink). Objects are
// carved out of it with Alloc, which initialises an object before anyone
// can find it, and found with Lookup; packages ctypes, channel and
// semaphore build their typed objects on these. Everything read from a
// segment is validated before it is trusted: a segment that is not
// shmkit's, from an unknown layout version, or inconsistent gives
// ErrNotShmkit, ErrVersion or ErrCorrupt, never a crash.
//
// OpenRaw attaches to any POSIX segment (one from Python's SharedMemory,
// say) as plain bytes.
package shm
