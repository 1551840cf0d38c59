package shm

import (
	"io/fs"
	"time"
)

// DefaultCapacity is the number of directory entries of a segment created
// without WithCapacity.
const DefaultCapacity = 64

// MaxCapacity bounds WithCapacity.
const MaxCapacity = 1 << 20

// Option configures Create, Open and OpenRaw.
type Option func(*options)

type options struct {
	mode     fs.FileMode
	capacity int
	readOnly bool
	// allocWait bounds Alloc's wait for another process's allocation.
	allocWait time.Duration
}

func collect(opts []Option) options {
	o := options{mode: 0o600, capacity: DefaultCapacity, allocWait: DefaultAllocWait}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithMode sets the permission bits of a new segment (default 0600). They
// are set exactly, whatever the process umask.
func WithMode(perm fs.FileMode) Option {
	return func(o *options) { o.mode = perm.Perm() }
}

// WithCapacity sets how many named objects a new segment's directory holds
// (default DefaultCapacity, at most MaxCapacity). Each entry takes 128 bytes.
func WithCapacity(entries int) Option {
	return func(o *options) { o.capacity = entries }
}

// ReadOnly maps the segment PROT_READ: reads work, every operation that
// would write returns ErrReadOnly, and a raw write through Bytes faults.
func ReadOnly() Option {
	return func(o *options) { o.readOnly = true }
}

// WithAllocWait sets how long Alloc (and so every constructor of an object)
// waits for another process's allocation before failing with ErrBusy
// (default DefaultAllocWait); 0 waits for as long as it takes.
// AllocContext waits until its context ends as well.
func WithAllocWait(d time.Duration) Option {
	return func(o *options) { o.allocWait = max(d, 0) }
}
