// Package segment is the machinery of package shm: mapping, validating
// and closing a segment, its directory and its allocation lock. Package shm
// is its user API; shmkit's other packages reach the rest (Writable,
// LookupKind, Populate, Drain, the full Request) here, converting a
// *shm.Segment with (*segment.Segment)(seg).
package segment

import (
	"errors"
	"io/fs"
	"os"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/internal/hold"
	"github.com/shmkit/shmkit/internal/layout"
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
// mapping of another segment, the range closed longest ago first (a view kept past
// that Close then sees the new segment). So the address space follows the
// most that was open at once, however many names come and go, and the
// views of the segments closed last keep faulting (docs/design.md).
type Segment struct {
	name     string // canonical POSIX name, "/foo"
	file     *os.File
	mem      []byte
	fileID   fileID // the file's identity, for its guard (guards.go)
	reserved int    // bytes of address space the mapping occupies
	readOnly bool
	raw      bool
	geo      geometry // trusted copy of the header, checked once at attach

	gate      *allocGate // this process's allocators of the file queue here (alloclock.go); nil if read-only or raw
	allocWait time.Duration
	closed    atomic.Bool
	done      chan struct{} // closed when Close begins
	noWrites  atomic.Bool   // read-only or closed: the one load a hot write path makes
	drain     hold.Drain    // the calls blocked on the memory, which Close waits for
}

// Create makes a new shmkit segment of size bytes (header and directory
// included) and maps it read-write. The name must not exist: otherwise the
// error satisfies errors.Is(err, fs.ErrExist).
//
// The segment is written in full under an anonymous file and only then given
// its name, so a concurrent Open never sees it half-initialised.
func Create(name string, size int, opts ...CreateOption) (*Segment, error) {
	pname, err := PosixName(name)
	if err != nil {
		return nil, err
	}
	o := collectCreate(opts)
	if !o.capacitySet {
		o.capacity = autoCapacity(size)
	}
	if o.capacity < 0 || o.capacity > MaxCapacity {
		return nil, errtext.Errorf("%w: directory capacity %d outside 0..%d", ErrInvalidSize, o.capacity, MaxCapacity)
	}
	dataStart := layout.DataStart(uint32(o.capacity))
	if size <= 0 || uint64(size) < dataStart {
		return nil, errtext.Errorf("%w: %d bytes; a segment with %d directory entries needs at least %d",
			ErrInvalidSize, size, o.capacity, dataStart)
	}

	// O_TMPFILE gives a file with no name; linking it is the O_EXCL step.
	f, err := os.OpenFile(Dir, os.O_RDWR|unix.O_TMPFILE|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, &fs.PathError{Op: "shm create", Path: pname, Err: unwrapErrno(err)}
	}
	fd := int(f.Fd())
	fail := func(op string, err error) (*Segment, error) {
		f.Close()
		return nil, &fs.PathError{Op: op, Path: pname, Err: err}
	}
	if err := unix.Fchmod(fd, uint32(o.mode)); err != nil {
		return fail("shm chmod", err)
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		return fail("shm truncate", err)
	}
	if err := reserveSpace(fd, int64(size)); err != nil {
		return fail("shm allocate", err)
	}
	mem, id, reserved, err := mapFile(f, size, true)
	if err != nil {
		return fail("shm mmap", unwrapErrno(err))
	}
	h := layout.HeaderOf(mem)
	h.Version = layout.Version
	h.HeaderSize = uint32(layout.HeaderSize)
	h.SegmentSize = uint64(size)
	h.DirCapacity = uint32(o.capacity)
	h.CreatorPID = int32(os.Getpid())
	h.CreatedNs = time.Now().UnixNano()
	h.AllocCursor.Store(dataStart)
	h.Magic.Store(layout.Magic)

	proc := "/proc/self/fd/" + strconv.Itoa(fd)
	if err := unix.Linkat(unix.AT_FDCWD, proc, unix.AT_FDCWD, path(pname), unix.AT_SYMLINK_FOLLOW); err != nil {
		unmapGuarded(mem, id, reserved) // nobody has seen it
		return fail("shm create", err)
	}
	if named := mapByName(pname, id, mem); named != nil {
		f.Close()
		f = named
	}
	geo, err := parseHeader(mem, int64(size))
	if err != nil { // cannot happen: we just wrote it
		unmapGuarded(mem, id, reserved)
		f.Close()
		return nil, err
	}
	return &Segment{name: pname, file: f, mem: mem, fileID: id, reserved: reserved, geo: geo,
		gate: gateOf(id), allocWait: o.allocWait, done: make(chan struct{})}, nil
}

// mapByName maps the file again through its new name, over mem, so that
// /proc/PID/maps and lsof show the creator's mapping by its name rather than
// as the deleted anonymous file (anon: its identity). It returns the file
// opened by name, or nil if the name no longer leads to the same file
// (someone replaced it at once) or the remapping failed, leaving mem as it
// was.
func mapByName(pname string, anon fileID, mem []byte) *os.File {
	named, err := os.OpenFile(path(pname), os.O_RDWR|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil
	}
	if id, err := identify(named); err == nil && id == anon {
		_, err := unix.MmapPtr(int(named.Fd()), 0, unsafe.Pointer(unsafe.SliceData(mem)), uintptr(len(mem)),
			unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_FIXED)
		if err == nil {
			return named
		}
	}
	named.Close()
	return nil
}

// Open attaches to an existing shmkit segment by name. The header and every
// directory entry are validated before anything is returned: a segment that
// is not shmkit's gives ErrNotShmkit, an unknown layout ErrVersion, and one
// whose header or directory contradicts itself or the file ErrCorrupt.
func Open(name string, opts ...OpenOption) (*Segment, error) {
	s, err := attach(name, collectOpen(opts), false)
	if err != nil {
		return nil, err
	}
	geo, err := parseHeaderGuarded(s.mem, int64(len(s.mem)))
	if err == nil {
		s.geo = geo
		_, err = s.objects()
	}
	if err != nil {
		s.release()
		return nil, errtext.Errorf("shm: open %s: %w", s.name, err)
	}
	return s, nil
}

// OpenRaw attaches to any POSIX shared memory segment, shmkit's or not (one
// made by Python's SharedMemory or by shm_open in C), and exposes its bytes
// through Bytes. The header is neither read nor trusted; Objects and
// directory operations return ErrNotShmkit.
func OpenRaw(name string, opts ...OpenOption) (*Segment, error) {
	return attach(name, collectOpen(opts), true)
}

func attach(name string, o options, raw bool) (*Segment, error) {
	pname, err := PosixName(name)
	if err != nil {
		return nil, err
	}
	flag := os.O_RDWR
	if o.readOnly {
		flag = os.O_RDONLY
	}
	// O_NONBLOCK: a FIFO planted under the name must not hang the open.
	f, err := os.OpenFile(path(pname), flag|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "shm open", Path: pname, Err: unwrapErrno(err)}
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, &fs.PathError{Op: "shm stat", Path: pname, Err: unwrapErrno(err)}
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, errtext.Errorf("shm: open %s: %w: not a regular file", pname, ErrNotShmkit)
	}
	size := fi.Size()
	if size == 0 || size > int64(^uint(0)>>1) {
		f.Close()
		if raw {
			return nil, errtext.Errorf("shm: open %s: %w: segment is %d bytes", pname, ErrInvalidSize, size)
		}
		return nil, errtext.Errorf("shm: open %s: %w: segment is %d bytes", pname, ErrNotShmkit, size)
	}
	mem, id, reserved, err := mapFile(f, int(size), !o.readOnly)
	if err != nil {
		f.Close()
		return nil, &fs.PathError{Op: "shm mmap", Path: pname, Err: unwrapErrno(err)}
	}
	s := &Segment{name: pname, file: f, mem: mem, fileID: id, reserved: reserved, readOnly: o.readOnly, raw: raw,
		allocWait: o.allocWait, done: make(chan struct{})}
	if !raw && !o.readOnly {
		s.gate = gateOf(id)
	}
	s.noWrites.Store(o.readOnly)
	return s, nil
}

// Drain counts the calls blocked on the segment's memory, which Close
// wakes and waits for before it unmaps. It is for shmkit's own packages
// (its type is internal): a Recv, a Lock, an Acquire counts itself in
// before it sleeps on the memory.
func (s *Segment) Drain() *hold.Drain { return &s.drain }

// Name returns the segment's POSIX name, with its leading slash ("/foo").
func (s *Segment) Name() string { return s.name }

// Size returns the size of the mapping in bytes.
func (s *Segment) Size() int { return len(s.mem) }

// ReadOnly reports whether the segment was attached read-only.
func (s *Segment) ReadOnly() bool { return s.readOnly }

// Raw reports whether the segment was attached with OpenRaw.
func (s *Segment) Raw() bool { return s.raw }

// Bytes returns the whole mapping, header included, or nil once closed. The
// slice aliases shared memory that other processes may change at any time,
// and must not be used after Close.
func (s *Segment) Bytes() []byte {
	if s.closed.Load() {
		return nil
	}
	return s.mem
}

// CreatorPID returns the pid of the process that created the segment, or 0
// for a raw segment.
func (s *Segment) CreatorPID() int {
	if s.raw || s.closed.Load() {
		return 0
	}
	return int(layout.HeaderOf(s.mem).CreatorPID)
}

// Created returns when the segment was created, or the zero time for a raw
// segment.
func (s *Segment) Created() time.Time {
	if s.raw || s.closed.Load() {
		return time.Time{}
	}
	return time.Unix(0, layout.HeaderOf(s.mem).CreatedNs)
}

// Populate maps the pages of o into this process's page tables now, so
// that the first pass over them takes no page faults (a few microseconds
// each): a queue's ring is written and read end to end, and its first lap
// would otherwise fault in every page on the hot path. It uses
// MADV_POPULATE_WRITE (MADV_POPULATE_READ on a read-only mapping), which
// reports a page it cannot map as an error, never as a signal. Kernels
// before 5.14 do not know the advice: the error then wraps
// errors.ErrUnsupported, and nothing else changes.
//
// Then it reads a word of each page. Under a hypervisor that keeps page
// tables of its own (shadow or paravirtual paging), the advice fills only
// the guest's, and the first access to each page still traps to the host:
// about 5 µs a page on the build machine, as much as the fault the advice
// saved. The read is atomic, so it may race with the ring's own traffic.
func (s *Segment) Populate(o Object) error {
	if s.closed.Load() {
		return errtext.Errorf("shm: populate %q: %w", o.Name, ErrClosed)
	}
	if o.Length == 0 || o.Offset+o.Length > uint64(len(s.mem)) || o.Offset+o.Length < o.Offset {
		return errtext.Errorf("shm: populate %q: %w: %d+%d outside the mapping", o.Name, ErrInvalidSize, o.Offset, o.Length)
	}
	page := uint64(os.Getpagesize())
	from, to := o.Offset&^(page-1), min((o.Offset+o.Length+page-1)&^(page-1), uint64(len(s.mem)))
	advice := unix.MADV_POPULATE_WRITE
	if s.readOnly {
		advice = unix.MADV_POPULATE_READ
	}
	switch err := unix.Madvise(s.mem[from:to], advice); {
	case err == unix.EINVAL:
		return errtext.Errorf("shm: populate %q: %w: %v", o.Name, errors.ErrUnsupported, err)
	case err == unix.EFAULT: // a page past the end of the file: it shrank under the mapping
		return errtext.Errorf("shm: populate %q: %w: the segment's file shrank under the mapping", o.Name, ErrCorrupt)
	case err != nil:
		return &fs.PathError{Op: "shm populate", Path: s.name, Err: err}
	}
	return touchPages(s.mem[from:to], int(page))
}

// touchPages reads the first word of each page of mem; a file that another
// process truncated under the mapping is ErrCorrupt, not a fault.
func touchPages(mem []byte, page int) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer faultIsCorrupt(&err)
	for off := 0; off < len(mem); off += page {
		atomic.LoadUint32((*uint32)(unsafe.Pointer(&mem[off])))
	}
	return nil
}

// Close detaches the segment from this process; the segment itself lives on
// until it is unlinked and every process has closed it. Views into it must
// not be used afterwards: they fault (see Segment). Calls blocked on the
// segment's objects in other goroutines (a Recv, a Lock, an Acquire, ...)
// are woken and return ErrClosed; Close returns once they have left. A
// second Close returns ErrClosed.
func (s *Segment) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return errtext.Errorf("shm: close %s: %w", s.name, ErrClosed)
	}
	s.noWrites.Store(true)
	close(s.done)
	s.drain.Close()
	return s.release()
}

// release replaces the mapping with a guard of the same range (guards.go)
// and closes the file.
func (s *Segment) release() error {
	var errs []error
	if s.gate != nil {
		dropGate(s.fileID, s.gate)
	}
	if len(s.mem) > 0 {
		if err := unmapGuarded(s.mem, s.fileID, s.reserved); err != nil {
			errs = append(errs, &fs.PathError{Op: "shm unmap", Path: s.name, Err: err})
		}
	}
	if err := s.file.Close(); err != nil {
		errs = append(errs, &fs.PathError{Op: "shm close", Path: s.name, Err: unwrapErrno(err)})
	}
	return errors.Join(errs...)
}

// Unlink removes the segment's name; processes that have it mapped keep
// using it, and a new Open of the name fails with fs.ErrNotExist. Unlinking
// twice is an error satisfying errors.Is(err, fs.ErrNotExist), as in Python.
func (s *Segment) Unlink() error { return Unlink(s.name) }

// Unlink removes the named segment (shm_unlink).
func Unlink(name string) error {
	pname, err := PosixName(name)
	if err != nil {
		return err
	}
	if err := unix.Unlink(path(pname)); err != nil {
		return &fs.PathError{Op: "shm unlink", Path: pname, Err: err}
	}
	return nil
}

// unwrapErrno returns the errno inside an *os.PathError, so our own PathError
// names the segment rather than the file.
func unwrapErrno(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// faultIsCorrupt, deferred by a reader of a segment's metadata (with
// debug.SetPanicOnFault on), turns the fault of reading past the end of a
// file that another process truncated under the mapping into ErrCorrupt.
// It must be deferred in the function that reads, since SetPanicOnFault
// applies to the calling goroutine.
func faultIsCorrupt(err *error) {
	if r := recover(); r != nil {
		if f, ok := r.(interface{ Addr() uintptr }); ok && f != nil {
			*err = errtext.Errorf("%w: the segment's file shrank under the reader", ErrCorrupt)
			return
		}
		panic(r)
	}
}

// parseHeaderGuarded is parseHeader with a fault reported as ErrCorrupt.
func parseHeaderGuarded(mem []byte, size int64) (g geometry, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer faultIsCorrupt(&err)
	return parseHeader(mem, size)
}

// reserveSpace allocates every page of a new segment now, so that a full
// /dev/shm is ENOSPC from Create rather than SIGBUS at some later write. A
// file system without fallocate keeps the old behaviour.
func reserveSpace(fd int, size int64) error {
	for {
		err := unix.Fallocate(fd, 0, 0, size)
		switch err {
		case nil, unix.EOPNOTSUPP:
			return nil
		case unix.EINTR:
			continue
		}
		return err
	}
}
