package ctypes

import (
	"errors"

	"github.com/shmkit/shmkit/internal/elem"
)

// Errors returned by this package, usable with errors.Is. Lookups that fail
// return package shm's errors (shm.ErrObjectNotFound, shm.ErrObjectExists,
// shm.ErrKindMismatch, …); a lock whose holder died returns semaphore's.
var (
	// ErrBadTypecode: a typecode is not one of c, b, B, u, h, H, i, I, l, L, q, Q, f or d.
	ErrBadTypecode = elem.ErrBadTypecode
	// ErrTypeMismatch: the object holds another element type than the one asked for.
	ErrTypeMismatch = elem.ErrTypeMismatch
	// ErrNegativeLength: an array length below zero.
	ErrNegativeLength = errors.New("ctypes: negative array length")
	// ErrTooLong: a value longer than the char array that should hold it.
	ErrTooLong = errors.New("ctypes: value too long for the array")
	// ErrUnsupportedType: a record type with a field that has no fixed
	// meaning in shared memory (int, bool, a pointer, a string, ...).
	ErrUnsupportedType = elem.ErrUnsupportedType
	// ErrNoLock: the object was opened or made without a lock.
	ErrNoLock = errors.New("ctypes: object has no lock")
)
