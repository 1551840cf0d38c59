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
//	channel    a bounded message queue between any number of processes; Pipe
//	queue      Python's Queue: byte messages of any length up to a limit
//	semaphore  semaphores, robust mutexes, Cond, Event, Barrier
//	dict       shared dicts and lists (Python's Manager().dict() and .list())
//	process    starting workers: this program re-executed, Python's Process
//	pool       a process pool (Python's Pool) that loses no task when a worker dies
//	bench      the cross-process workloads W1-W8 and their baselines
//	cmd/shmkit bench, ls, inspect, rm, clean
//
// Coming from Python's multiprocessing: one row for each row of the
// README's table, which adds the C and Python names and the details.
//
//	multiprocessing                      shmkit
//	Process(target=f, args=...)          process.Start("f", args...) with process.Main first in main
//	Value('d', 0.0), RawValue('i', 0)    ctypes.NewValue[float64](seg, "x", 0), ctypes.NewRawValue[int32]
//	Array('i', range(10)), RawArray      ctypes.NewArrayFrom(seg, "a", []int32{...}), ctypes.NewRawArray
//	Value(Point), Array(Point, n)        ctypes.NewStructValue(seg, "p", Point{}),
//	of a ctypes.Structure                ctypes.NewStructArray[Point](seg, "a", n): locked
//	                                     (WithoutLock() for raw); Python's seg.records("a")
//	                                     is a numpy structured array
//	a Queue of records                   channel.New[Point](seg, "q", slots, maxLen); Python's
//	                                     recv() returns a numpy structured array
//	with v.get_lock(): v.value += 1      v.Update(func(x T) T { return x + 1 })
//	                                     or atomically: v.Raw().Add(1)
//	Lock(), RLock()                      semaphore.NewMutex, semaphore.NewRMutex (robust)
//	Semaphore(n), Event(), Barrier(n),   semaphore.New, NewEvent, NewBarrier, NewCond
//	Condition(lock)
//	Queue() of any object                queue.New(seg, "q", slots, slotBytes, maxMessage)
//	Queue() of numbers, a sentinel       channel.New[T](seg, "q", maxsize, maxLen); End() for
//	                                     the end, which receivers see as io.EOF; Close() lets
//	                                     go of a handle only, as Queue.close()
//	JoinableQueue(), task_done(), join() channel.New[T](..., channel.WithJoinable()), TaskDone(),
//	                                     Join() / JoinTimeout / JoinContext
//	Manager().dict(), d["k"] += 1        dict.New(seg, "d") or dict.NewMap[K, V]; Add, Update
//	Manager().list(), l.reverse()        dict.NewList(seg, "l"), Append, Insert, Pop, Reverse
//	Pipe(), Pipe(duplex=False)           channel.NewPipe[T](seg, "p", slots, maxLen) (end 0),
//	                                     channel.OpenPipe[T](seg, "p", 1); channel.WithOneWay()
//	Pool(n, initializer, maxtasksperchild)  pool.New(pool.WithWorkers(n), pool.WithInitializer(...), ...)
//	pool.map(f, xs), map_async, imap,    pool.Map(ctx, p, f, xs), pool.MapAsync, pool.Imap,
//	imap_unordered                       pool.ImapUnordered (f from pool.Register)
//	apply_async(f, args, callback), get  pool.ApplyAsync(ctx, p, f, in, callback), r.Get(ctx)
//	close(), join(), terminate()         p.Close(), p.Join(), p.Terminate()
//	current_process().name, exitcode,    process.Name(), p.ExitCode(), p.Alive(),
//	is_alive(), daemon=True              process.Process{Daemon: true}
//	shared_memory.SharedMemory(name)     shm.Open(name), shm.OpenRaw(name)
//	passing objects to the child         the child opens them by name: shm.Open, then
//	                                     ctypes.OpenValue, channel.Open, ...
//
// Python's programs can use the same objects by name through the package
// in python/; C programs through cgo/shmkit.c.
package shmkit
