// Package cgo is the one package of shmkit that imports "C".
//
// It holds shmkit.h, the byte-for-byte layout of a segment that C and Python
// programs compile against, and thin wrappers over the C library's
// process-shared primitives (sem_t, pthread_mutex_t) operating on pointers
// into a mapped segment.
//
// Built with CGO_ENABLED=0 the wrappers are absent and every operation that
// needs them returns ErrNoCgo; nothing pretends to work.
package cgo
