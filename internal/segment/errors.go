package segment

import "errors"

// Errors of package shm, which it returns, usable with errors.Is. Failures of the
// operating system are returned as *fs.PathError naming the operation and the
// segment, so errors.Is(err, fs.ErrExist) and fs.ErrNotExist work as for files.
var (
	// ErrInvalidName: a segment or object name is empty, too long, or holds a '/' or NUL.
	ErrInvalidName = errors.New("shm: invalid name")
	// ErrInvalidSize: a size is zero, negative, or too small for the header and directory.
	ErrInvalidSize = errors.New("shm: invalid size")
	// ErrNotShmkit: the segment exists but does not start with a shmkit header.
	ErrNotShmkit = errors.New("shm: not a shmkit segment")
	// ErrVersion: the segment was written with a layout version this build does not know.
	ErrVersion = errors.New("shm: unknown layout version")
	// ErrCorrupt: the header or directory contradicts itself or the file.
	ErrCorrupt = errors.New("shm: corrupt segment")
	// ErrNoSpace: the segment's data area or its directory is full.
	ErrNoSpace = errors.New("shm: no space left in segment")
	// ErrObjectExists: an object of that name is already in the directory.
	ErrObjectExists = errors.New("shm: object already exists")
	// ErrObjectNotFound: no object of that name is in the directory.
	ErrObjectNotFound = errors.New("shm: object not found")
	// ErrKindMismatch: the named object is of another kind than the one asked for.
	ErrKindMismatch = errors.New("shm: object is of another kind")
	// ErrReadOnly: the segment was attached read-only and the operation would write.
	ErrReadOnly = errors.New("shm: segment is read-only")
	// ErrBusy: another live process has held the allocation lock longer than
	// the segment's allocation wait (WithAllocWait), or an allocation's init
	// allocates in the same segment.
	ErrBusy = errors.New("shm: allocation lock busy")
	// ErrClosed: the segment was closed.
	ErrClosed = errors.New("shm: segment is closed")
)
