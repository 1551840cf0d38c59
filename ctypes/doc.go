// Package ctypes provides typed values and arrays in shared memory, for the
// element types of Python's multiprocessing.sharedctypes (typecodes c, b, B,
// u, h, H, i, I, l, L, q, Q, f, d), found by name from any process.
//
// The model: a segment (package shm) holds named objects; each value or
// array records its typecode and length in the segment's directory, so C
// and Python read the same bytes with the same meaning; a view in this
// package is a typed window onto those bytes.
//
//	RawValue[T], RawArray[T]  no lock; every element access is atomic
//	Value[T], Array[T]        the raw object plus a lock: by default a robust
//	                          recursive mutex stored in the segment (Python's
//	                          RLock), shared by every process that opens it
//	CharArray, WCharArray     byte and UTF-32 strings with Python's rules
//	Object                    any value or array, type known at run time
//
// Python's `v.value += 1` is not atomic and loses updates between
// processes; here RawValue.Add is atomic, and Value.Update does a
// read-modify-write under the lock.
//
// Views alias shared memory and must not be used after their segment is
// closed: access faults (see shm.Segment).
package ctypes
