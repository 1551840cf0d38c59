package dict

import "unsafe"

// storeOverwrite makes dict_overwrite_to's stores in its order (see
// overwrite_amd64.s): undo_val (the word after note) = was, *note = noted,
// *seq = q+1, the 8 bytes at val = sum, *seq = q+2, *note = 0. In
// assembly, since Go would merge the two stores to seq (and to the note)
// unless they were atomic, and its atomic stores are full fences
// (XCHG), each costing more than the whole add's other stores.
//
//go:noescape
func storeOverwrite(note *uint64, seq *uint32, val unsafe.Pointer, noted, was, sum uint64, q uint32)
