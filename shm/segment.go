package shm

import (
	"context"
	"iter"
	"time"

	"github.com/shmkit/shmkit/internal/segment"
)

// A Segment is a named POSIX shared memory segment mapped into this process.
//
// A shmkit segment (from Create or Open) starts with a self-describing header
// and a directory of named objects; a raw segment (from OpenRaw) is just
// bytes. A Segment is safe for concurrent use by several goroutines. Close
// may be called while other goroutines are blocked on the segment's objects:
// they are woken and return ErrClosed. A call that starts while Close runs
// may still fault, as may a view used after Close.
//
// After Close the address range stays reserved with no access allowed, so a
// view that outlives its segment faults instead of silently reading
// whatever the address space holds next; the memory itself is released.
// Ranges are never unmapped: a later mapping of the same segment reuses its
// range (the stale view then sees its own segment), and so, once closed
// ranges that fit hold more than twice what this process has open, does a
// mapping of another segment, the range closed longest ago first (a view
// kept past that Close then sees the new segment). So the address space
// follows the most that was open at once, however many names come and go,
// and the views of the segments closed last keep faulting (docs/design.md).
type Segment segment.Segment

// core is the segment's machinery, which every method here calls.
func (s *Segment) core() *segment.Segment { return (*segment.Segment)(s) }

func wrap(s *segment.Segment, err error) (*Segment, error) {
	return (*Segment)(s), err
}

// Create makes a new shmkit segment of size bytes (header and directory
// included) and maps it read-write. The name must not exist: otherwise the
// error satisfies errors.Is(err, fs.ErrExist).
//
// The segment is written in full under an anonymous file and only then given
// its name, so a concurrent Open never sees it half-initialised.
func Create(name string, size int, opts ...CreateOption) (*Segment, error) {
	return wrap(segment.Create(name, size, opts...))
}

// Open attaches to an existing shmkit segment by name. The header and every
// directory entry are validated before anything is returned: a segment that
// is not shmkit's gives ErrNotShmkit, an unknown layout ErrVersion, and one
// whose header or directory contradicts itself or the file ErrCorrupt.
func Open(name string, opts ...OpenOption) (*Segment, error) {
	return wrap(segment.Open(name, opts...))
}

// OpenRaw attaches to any POSIX shared memory segment, shmkit's or not (one
// made by Python's SharedMemory or by shm_open in C), and exposes its bytes
// through Bytes. The header is neither read nor trusted; Objects and
// directory operations return ErrNotShmkit.
func OpenRaw(name string, opts ...OpenOption) (*Segment, error) {
	return wrap(segment.OpenRaw(name, opts...))
}

// Unlink removes the named segment (shm_unlink); processes that have it
// mapped keep using it.
func Unlink(name string) error { return segment.Unlink(name) }

// PosixName returns the canonical POSIX name of a segment ("/foo") for a
// user's name ("foo" or "/foo"), exactly as Python's SharedMemory maps them.
func PosixName(name string) (string, error) { return segment.PosixName(name) }

// Name returns the segment's POSIX name, with its leading slash ("/foo").
func (s *Segment) Name() string { return s.core().Name() }

// Size returns the size of the mapping in bytes.
func (s *Segment) Size() int { return s.core().Size() }

// ReadOnly reports whether the segment was attached read-only.
func (s *Segment) ReadOnly() bool { return s.core().ReadOnly() }

// Raw reports whether the segment was attached with OpenRaw.
func (s *Segment) Raw() bool { return s.core().Raw() }

// Closed reports whether Close was called.
func (s *Segment) Closed() bool { return s.core().Closed() }

// Bytes returns the whole mapping, header included, or nil once closed.
// The slice aliases shared memory that other processes may change at any
// time, and must not be used after Close.
func (s *Segment) Bytes() []byte { return s.core().Bytes() }

// CreatorPID returns the pid of the process that created the segment, or 0
// for a raw segment.
func (s *Segment) CreatorPID() int { return s.core().CreatorPID() }

// Created returns when the segment was created, or the zero time for a raw
// segment.
func (s *Segment) Created() time.Time { return s.core().Created() }

// Close detaches the segment from this process; the segment itself lives
// on until it is unlinked and every process has closed it. Views into it
// must not be used afterwards: they fault (see Segment). Calls blocked on
// the segment's objects in other goroutines (a Recv, a Lock, an Acquire,
// ...) are woken and return ErrClosed; Close returns once they have left.
// A second Close returns ErrClosed.
func (s *Segment) Close() error { return s.core().Close() }

// Unlink removes the segment's name; processes that have it mapped keep
// using it, and a new Open of the name fails with fs.ErrNotExist. Unlinking
// twice is an error satisfying errors.Is(err, fs.ErrNotExist), as in
// Python.
func (s *Segment) Unlink() error { return s.core().Unlink() }

// Objects lists the published objects in directory order.
func (s *Segment) Objects() ([]Object, error) { return s.core().Objects() }

// All ranges over the published objects, in directory order:
//
//	for obj, err := range seg.All() {
//		if err != nil { ... } // the directory could not be read: the last pair
//		fmt.Println(obj.Name, obj.Kind)
//	}
func (s *Segment) All() iter.Seq2[Object, error] { return s.core().All() }

// Lookup finds a published object by name.
func (s *Segment) Lookup(name string) (Object, error) { return s.core().Lookup(name) }

// Alloc carves a new named object out of the segment, calls init on its
// (zeroed) memory, and only then publishes it, so no process ever finds the
// object before init has returned. If init fails, nothing is published (the
// bytes stay reserved). Allocation is serialised across threads, handles
// and processes by the lock word in the segment's header; a holder that
// died is taken over, and a live one is waited for at most the segment's
// allocation wait (ErrBusy). init must not allocate in the same segment
// (ErrBusy), nor close it (Close waits for Alloc to return). Close while
// Alloc waits ends it with ErrClosed.
func (s *Segment) Alloc(r Request, init func(mem []byte) error) (Object, error) {
	return s.core().Alloc(r.full(), init)
}

// AllocContext is Alloc giving up, with ctx.Err(), when ctx ends while
// another allocation holds the lock.
func (s *Segment) AllocContext(ctx context.Context, r Request, init func(mem []byte) error) (Object, error) {
	return s.core().AllocContext(ctx, r.full(), init)
}

// Request describes an object to allocate.
type Request struct {
	Name     string
	Kind     Kind
	Typecode byte   // Python typecode character, or 0
	Count    uint64 // elements, for tools; 0 for bytes
	Length   uint64 // bytes; rounded up to 64
}

func (r Request) full() segment.Request {
	return segment.Request{Name: r.Name, Kind: r.Kind, Typecode: r.Typecode, Count: r.Count, Length: r.Length}
}

// Object describes one published directory entry, after validation: its
// Name, Kind, Typecode, Count, Offset and Length in the segment, and the
// words its package keeps there (Flags, Param0, Param1, Desc). Bytes
// returns its memory inside the mapping, which must not be used after the
// segment is closed; String (what %v prints) says what it is and where.
type Object = segment.Object

// Kind says what an object in the directory is.
type Kind = segment.Kind

// Object kinds, as in shmkit.h.
const (
	KindBytes     = segment.KindBytes
	KindValue     = segment.KindValue
	KindArray     = segment.KindArray
	KindSemaphore = segment.KindSemaphore
	KindBounded   = segment.KindBounded
	KindMutex     = segment.KindMutex
	KindRMutex    = segment.KindRMutex
	KindCond      = segment.KindCond
	KindEvent     = segment.KindEvent
	KindBarrier   = segment.KindBarrier
	KindChannel   = segment.KindChannel
	KindDict      = segment.KindDict
	KindList      = segment.KindList
)

// Dir is where Linux keeps POSIX shared memory: shm_open("/foo") is the
// file Dir + "/foo".
const Dir = "/dev/shm"
