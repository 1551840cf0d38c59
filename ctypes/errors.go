package ctypes

import "errors"

// Errors returned by this package, usable with errors.Is. Lookups that fail
// return package shm's errors (shm.ErrObjectNotFound, shm.ErrObjectExists,
// shm.ErrKindMismatch, …); a lock whose holder died returns semaphore's.
var (
	// ErrBadTypecode: a typecode is not one of c, b, B, u, h, H, i, I, l, L, q, Q, f or d.
	ErrBadTypecode = errors.New("ctypes: bad typecode (must be one of c, b, B, u, h, H, i, I, l, L, q, Q, f or d)")
	// ErrTypeMismatch: the object holds another element type than the one asked for.
	ErrTypeMismatch = errors.New("ctypes: element type mismatch")
	// ErrNegativeLength: an array length below zero.
	ErrNegativeLength = errors.New("ctypes: negative array length")
	// ErrTooLong: a value longer than the char array that should hold it.
	ErrTooLong = errors.New("ctypes: value too long for the array")
	// ErrUnsupportedType: a record type with a field that has no fixed
	// meaning in shared memory (int, bool, a pointer, a string, ...).
	ErrUnsupportedType = errors.New("ctypes: type cannot be shared as a record")
	// ErrNoLock: the object was opened or made without a lock.
	ErrNoLock = errors.New("ctypes: object has no lock")
)
