// Package shmkit is typed inter-process communication over named POSIX
// shared memory, for Go processes and the C and Python processes beside
// them. This package holds only this overview; the API is in its
// subpackages.
//
// The model: a segment is a file in /dev/shm, found by name. It holds a
// directory of named objects, each with its kind, element type and place.
// A process opens the segment, looks an object up by name, and gets a
// view: a typed window onto the object's bytes, used in place. Nothing is
// copied or serialised between processes, and a C or Python process sees
// the same bytes with the same meaning (the layout is cgo/shmkit.h).
//
//	shm        segments: Create, Open, the directory (Alloc, Lookup, Objects)
//	ctypes     values and arrays of the 14 Python typecodes, raw or locked
//	channel    a bounded message queue between any number of processes
//	semaphore  semaphores, robust mutexes, Cond, Event, Barrier
//	process    starting workers: this program re-executed, Python's Process
//	pool       a process pool (Python's Pool) that loses no task when a worker dies
//	bench      the cross-process workloads W1-W6 and their baselines
//	cmd/shmkit bench, ls, inspect, rm, clean
//
// Coming from Python's multiprocessing (the README's table, in full):
//
//	multiprocessing                      shmkit
//	Process(target=f, args=...)          process.Start("f", args...) with process.Main first in main
//	Value('d', 0.0)                      ctypes.NewValue[float64](seg, "x", 0)
//	Value('i', 0, lock=False), RawValue  ctypes.NewRawValue[int32](seg, "x", 0)
//	Array('i', range(10))                ctypes.NewArrayFrom(seg, "a", []int32{...})
//	RawArray('d', n)                     ctypes.NewRawArray[float64](seg, "a", n)
//	Value(Point), Array(Point, n)        ctypes.NewStructValue(seg, "p", Point{}),
//	of a ctypes.Structure                ctypes.NewStructArray[Point](seg, "a", n): locked
//	                                     (WithoutLock() for raw); Python's seg.records("a")
//	                                     is a numpy structured array
//	a Queue of records                   channel.New[Point](seg, "q", slots, maxLen); Python's
//	                                     recv() returns a numpy structured array
//	v.value += 1 under v.get_lock()      v.Update(func(x T) T { return x + 1 })
//	                                     or atomically: v.Raw().Add(1)
//	Lock(), RLock()                      semaphore.NewMutex, semaphore.NewRMutex (robust)
//	Semaphore(n), BoundedSemaphore(n)    semaphore.New, semaphore.NewBounded
//	Event(), Condition(), Barrier(n)     semaphore.NewEvent, NewCond, NewBarrier
//	Queue(maxsize), a sentinel           channel.New[T](seg, "q", maxsize, maxLen); End() for
//	                                     the end, which receivers see as io.EOF; Close() lets
//	                                     go of a handle only, as Queue.close()
//	JoinableQueue(), task_done(), join() channel.New[T](..., channel.WithJoinable()), TaskDone(),
//	                                     Join() / JoinTimeout / JoinContext
//	Pipe()                               two channels, one each way
//	Pool(n, initializer, maxtasksperchild)  pool.New(pool.WithWorkers(n), pool.WithInitializer(...), ...)
//	pool.map(f, xs), imap, apply_async   pool.Map(ctx, p, f, xs), pool.Imap, pool.ApplyAsync (f from pool.Register)
//	shared_memory.SharedMemory(name)     shm.Open(name), shm.OpenRaw(name)
//	passing objects to the child         the child opens them by name: shm.Open, then
//	                                     ctypes.OpenValue, channel.Open, ...
//
// Python's programs can use the same objects by name through the package
// in python/; C programs through cgo/shmkit.c.
package shmkit
