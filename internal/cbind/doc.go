// Package cbind is shmkit's binding to its C library (cgo/shmkit.c, the
// library C and Python programs use, compiled into this package), and the
// one package of shmkit that imports "C", apart from the benchmark's C
// workers. It holds thin wrappers over the process-shared primitives that
// need glibc (pthread_mutex_t in a mapped segment, named sem_t, the barrier's
// lock), robust.c, the per-thread table package internal/robust uses, and
// the compiled layout that tests compare with package internal/layout.
//
// Built with CGO_ENABLED=0 the wrappers are absent and every operation that
// needs them returns ErrNoCgo; nothing pretends to work.
package cbind
