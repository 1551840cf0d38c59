package elem

import "errors"

// Errors of this package, which package ctypes gives its users under the
// same names.
var (
	// ErrBadTypecode: a typecode is not one of c, b, B, u, h, H, i, I, l, L, q, Q, f or d.
	ErrBadTypecode = errors.New("ctypes: bad typecode (must be one of c, b, B, u, h, H, i, I, l, L, q, Q, f or d)")
	// ErrTypeMismatch: the object holds another element type than the one asked for.
	ErrTypeMismatch = errors.New("ctypes: element type mismatch")
	// ErrUnsupportedType: a record type with a field that has no fixed
	// meaning in shared memory (int, bool, a pointer, a string, ...).
	ErrUnsupportedType = errors.New("ctypes: type cannot be shared as a record")
)
