// Package objects makes and attaches the typed objects of shmkit's
// packages: an object whose bytes begin with one of package layout's
// structs. Every New… and Open… of a primitive is one call here.
package objects

import (
	"fmt"
	"unsafe"

	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/segment"
	"github.com/shmkit/shmkit/shm"
)

// Core is seg's machinery (Writable, LookupKind, Populate, Drain, Alloc of
// a full Request): what shmkit's packages call beyond shm's user API.
func Core(seg *shm.Segment) *segment.Segment { return (*segment.Segment)(seg) }

// Make allocates an object as r asks (r.Length 0: the size of T), lets init
// fill in its T (and, for larger objects, the rest of mem) before the
// object is published, and returns it with its T.
func Make[T any](seg *shm.Segment, r segment.Request, init func(st *T, mem []byte) error) (shm.Object, *T, error) {
	if r.Length == 0 {
		var zero T
		r.Length = uint64(unsafe.Sizeof(zero))
	}
	obj, err := Core(seg).Alloc(r, func(mem []byte) error {
		if init == nil {
			return nil
		}
		st, err := layout.As[T](mem)
		if err != nil {
			return err
		}
		return init(st, mem)
	})
	if err != nil {
		return shm.Object{}, nil, err
	}
	st, err := As[T](obj)
	return obj, st, err
}

// Attach looks name up as an object of kind and returns it with its T.
func Attach[T any](seg *shm.Segment, name string, kind shm.Kind) (shm.Object, *T, error) {
	obj, err := Core(seg).LookupKind(name, kind)
	if err != nil {
		return shm.Object{}, nil, err
	}
	st, err := As[T](obj)
	return obj, st, err
}

// As is the T at the start of obj; an object too short for it, which only
// another process's writes can make, is shm.ErrCorrupt.
func As[T any](obj shm.Object) (*T, error) {
	st, err := layout.As[T](obj.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%w: %v %q: %w", shm.ErrCorrupt, obj.Kind, obj.Name, err)
	}
	return st, nil
}
