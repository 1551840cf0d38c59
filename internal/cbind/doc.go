// Package cbind is shmkit's binding to its C library (cgo/shmkit.c, the
// library C and Python programs use), and the
// one package of shmkit that imports "C", apart from the benchmark's C
// workers. It holds thin wrappers over the process-shared primitives that
// need glibc (pthread_mutex_t in a mapped segment, named sem_t, the barrier's
// lock), robust.c, the per-thread table package internal/robust uses, and
// the compiled layout that tests compare with package internal/layout.
//
// Built with CGO_ENABLED=0 the wrappers are absent and every operation that
// needs them returns ErrNoCgo; nothing pretends to work.
//
// shmkit.c and shmkit.h here are copies of cgo/'s, made by go generate
// (internal/gen, which also writes the Python package's copies and the
// constants made from shmkit.h): the go command tracks the C files of a
// package's own directory only, so a change to cgo/ would otherwise not
// rebuild this package. internal/gen's test and CI fail while a generated
// file is out of date.
package cbind

//go:generate go run ../gen
