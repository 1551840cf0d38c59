package cbind

import (
	"errors"
	"unsafe"
)

// ErrNoCgo: the program was built with CGO_ENABLED=0, and the operation
// needs the C library's process-shared primitives.
var ErrNoCgo = errors.New("shmkit: built without cgo; mutexes, barriers, locked values and named semaphores need CGO_ENABLED=1")

// A NamedSem is a named POSIX semaphore opened with NamedOpen (a sem_t * that
// sem_open mapped; Go never looks inside it).
type NamedSem struct{ p unsafe.Pointer }
