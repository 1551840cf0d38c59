// Package channel is a bounded message queue between processes: a ring of
// slots in a shared memory segment, found by name, for any number of
// producer and consumer processes. It is Python's multiprocessing.Queue
// without pickling, and the seeds' FloatChannel generalised to many slots.
//
// A message is up to MaxLen elements of one of the ctypes element types.
// Send and Recv copy; SendFunc and RecvFunc work in the slot itself. End
// ends the stream for every process, as close(ch) does: receivers get what
// is queued, then io.EOF. Close only lets go of one handle.
//
// What blocking costs. While the other side keeps up, Send and Recv touch
// only shared memory (a compare-and-swap on the slot). A side that must
// wait spins for a few microseconds, yielding the CPU now and then, then
// sleeps on a futex word in the channel; the other side's Send or Recv
// wakes it with one system call, made only when someone sleeps. A sleeping
// goroutine holds an OS thread, within the budget of
// semaphore.SetMaxBlockedThreads. Sleeps last at most 250 ms at a time, so
// a dead peer is noticed (ErrPeerDead) and a dead process's half-claimed
// slot is taken over. How the ring works: docs/channel.md.
package channel
