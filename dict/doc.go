// Package dict is a shared dict and a shared list in shmkit segments: what
// Python's Manager().dict() and Manager().list() give, without a server
// process. Go, C and Python processes open the same dict by name.
//
// A dict's storage is a heap file of its own in /dev/shm, named after the
// segment and the dict, which grows as keys are added; every attached
// process maps the growth. Writers serialise on a robust process-shared
// mutex; readers take no lock. A writer killed at any instruction leaves
// every key with its old or its new value, and the next writer repairs the
// rest (docs/design.md).
//
// Keys and values are encoded once for every language (encoding.go):
// int64, float64, string (any bytes, UTF-8 expected; Python reads others
// with surrogateescape, docs/interop.md), []byte, bool, nil, Python's pickled
// objects (read as Pickled bytes here) and, as values, records: a struct
// of the element types stored with its layout, which Python reads as a
// numpy structured scalar or a ctypes.Structure. Keys are equal when their
// type and bytes are: the int key 1 and the float key 1.0 are two keys.
//
// Map[K, V] is the typed form for string, []byte and integer keys;
// RecordMap[K, R] the typed form whose values are records of R; Dict takes
// and returns any (a record as a Record); List is the sequence. A full
// /dev/shm is shm.ErrNoSpace, and loses nothing stored. The heap file
// outlives the segment's name: Unlink removes it.
package dict
