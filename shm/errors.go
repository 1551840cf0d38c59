package shm

import "github.com/shmkit/shmkit/internal/segment"

// Errors returned by this package, usable with errors.Is. Failures of the
// operating system are returned as *fs.PathError naming the operation and the
// segment, so errors.Is(err, fs.ErrExist) and fs.ErrNotExist work as for files.
var (
	// ErrInvalidName: a segment or object name is empty, too long, or holds a '/' or NUL.
	ErrInvalidName = segment.ErrInvalidName
	// ErrInvalidSize: a size is zero, negative, or too small for the header and directory.
	ErrInvalidSize = segment.ErrInvalidSize
	// ErrNotShmkit: the segment exists but does not start with a shmkit header.
	ErrNotShmkit = segment.ErrNotShmkit
	// ErrVersion: the segment was written with a layout version this build does not know.
	ErrVersion = segment.ErrVersion
	// ErrCorrupt: the header or directory contradicts itself or the file.
	ErrCorrupt = segment.ErrCorrupt
	// ErrNoSpace: the segment's data area or its directory is full.
	ErrNoSpace = segment.ErrNoSpace
	// ErrObjectExists: an object of that name is already in the directory.
	ErrObjectExists = segment.ErrObjectExists
	// ErrObjectNotFound: no object of that name is in the directory.
	ErrObjectNotFound = segment.ErrObjectNotFound
	// ErrKindMismatch: the named object is of another kind than the one asked for.
	ErrKindMismatch = segment.ErrKindMismatch
	// ErrReadOnly: the segment was attached read-only and the operation would write.
	ErrReadOnly = segment.ErrReadOnly
	// ErrBusy: another live process has held the allocation lock longer than
	// the segment's allocation wait (WithAllocWait), or an allocation's init
	// allocates in the same segment.
	ErrBusy = segment.ErrBusy
	// ErrClosed: the segment was closed.
	ErrClosed = segment.ErrClosed
)
