// Package pool is a process pool over shared memory: Python's
// multiprocessing.Pool, with failures that stay with the task they hit.
//
// Workers are copies of the program (package process), so the program
// calls process.Main or process.Dispatch first thing in main, and the
// functions they run are registered by name at package level, where every
// copy registers them too:
//
//	var double = pool.Register("double", func(x int) (int, error) { return 2 * x, nil })
//
//	func main() {
//		process.Dispatch()
//		p, err := pool.New(pool.WithWorkers(4))
//		out, err := pool.Map(ctx, p, double, []int{1, 2, 3}) // [2 4 6]
//		p.Close()
//		p.Join()
//	}
//
// Map, MapAsync, Imap, ImapUnordered, Apply and ApplyAsync cover Python's
// calls; Close, Join and Terminate its end. Inputs and results cross
// without pickling: []byte, strings, numbers and structs of them as their
// memory, slices of those, or a type's MarshalBinary bytes.
// Large arrays cross by reference: an ArrayRef names elements of a shared
// array (ctypes), a worker maps its segment once and reads them in place,
// and only the names and the range travel:
//
//	var sum = pool.Register("sum", func(r pool.ArrayRef[float64]) (float64, error) { ... r.Slice() ... })
//	part, err := pool.Ref[float64](seg, "xs", off, n)
//
// Failure is per task. A task's error or panic is that task's *TaskError
// (a worker that panicked is replaced). A worker that dies is replaced:
// the task it was running is run again, up to WithRetries times (default
// 1), then fails with a *WorkerError naming the worker's pid and signal
// or exit status; the tasks queued for it go to the others. Workers die
// with the pool's process (a parent-death signal). The protocol and the
// rules are in docs/design.md; the worker table, which shmkit's tools and
// other languages read, is in cgo/shmkit.h.
package pool
