// Package interop holds the tests in which Go, C and Python processes share
// one segment: every object kind, both directions, through the C library
// (cgo/shmkit.c) and the Python package (python/shmkit). It has no API.
package interop
