package dict

import "errors"

// Errors returned by this package, usable with errors.Is. Corrupt
// segments and heaps are shm.ErrCorrupt, a full /dev/shm shm.ErrNoSpace,
// writes through a read-only attach shm.ErrReadOnly.
var (
	// ErrType: a key or value of a Go type the encoding has no tag for, a
	// Record as a key, or a stored value that a typed Map cannot hold in
	// its V.
	ErrType = errors.New("dict: unsupported type")
	// ErrTooLarge: a key over 1 MiB or a value over 1 GiB encoded.
	ErrTooLarge = errors.New("dict: key or value too large")
	// ErrNotInt: Add on a value that is not an integer.
	ErrNotInt = errors.New("dict: value is not an integer")
	// ErrOverflow: Add whose sum does not fit an int64; the value is unchanged.
	ErrOverflow = errors.New("dict: integer overflow")
	// ErrIndex: a list index out of range.
	ErrIndex = errors.New("dict: list index out of range")
	// ErrClosed: the handle was closed.
	ErrClosed = errors.New("dict: closed")
	// ErrBusy: a read-only reader found a slot left half-written by a
	// writer that is gone, which only a writable attach can repair; or a
	// writer waited 30 s for the writer lock, held by a live process.
	ErrBusy = errors.New("dict: a half-written slot awaits repair by a writer, or the writer lock stays held")
)
