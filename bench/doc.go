// Package bench runs shmkit's cross-process workloads W1–W8 beside their
// baselines, on the same processes and the same data, and checks what
// crossed.
//
//	W1  stream of 100,000-float64 messages; the consumer copies each out   msgs/s, MB/s
//	W2  stream of 1-float64 messages                                       msgs/s
//	W3  ping-pong of one float64                                           round trip ns
//	W4  the seed's FloatChannel (one slot, blocking), 1 and 100,000 elems   msgs/s
//	W5  5 processes add 1 to one shared counter, under its lock or atomically   ops/s
//	W6  two processes hand a semaphore back and forth                      round trip ns
//	W7  a pool of 2 worker processes (package pool): a 100,000 tiny tasks   tasks/s
//	    in order, b tasks over 1 MiB float64 arrays, c a worker killed       tasks/s
//	    mid-map (the time from the kill until the map returns)              ns
//	W8  a shared dict of 100,000 string keys: set, get, and 2 processes
//	    adding 1 to one key                                   ops/s, bytes/key
//
// Every implementation runs in worker processes: this program re-executed
// (see Worker), or python3 for the seed's programs. Workers set up, say
// "ready", wait for "go", work, and report a checksum; the time between
// "go" and the last report is what is measured, so process start-up is
// not. The C implementations are loops written in C (native.c) over the
// project's C library, entered with one cgo call per worker. W8's set and
// get workers time themselves (w8.go), so that each can read back what it
// stored after its timed loop.
//
// W7 times maps: each row starts its pool and warms it, then times one
// map of the count's tasks and checks every result. shmkit's pools run
// here, with this program's copies as workers (the tasks are registered
// in pool.go); Python's in python3 pool.py; the C pool is cpool/cpool.c,
// built with cc on first use; the floor is goroutines in this process.
package bench
