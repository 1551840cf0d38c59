// Package cgo is the one package of shmkit that imports "C".
//
// It holds shmkit.h, the byte-for-byte layout of a segment that C and Python
// programs compile against, thin wrappers over the C library's
// process-shared primitives (pthread_mutex_t in a mapped segment, named
// sem_t), and robust.c, the per-thread table package internal/robust uses.
//
// Built with CGO_ENABLED=0 the wrappers are absent and every operation that
// needs them returns ErrNoCgo; nothing pretends to work.
package cgo
