package shm

import (
	"io/fs"
	"time"

	"github.com/shmkit/shmkit/internal/layout"
)

// DefaultCapacity is the number of directory entries of a segment created
// without WithCapacity, unless the segment is small: then the directory
// takes at most a quarter of it (at least one entry).
const DefaultCapacity = 64

// autoCapacity is the directory of a segment of size bytes made without
// WithCapacity.
func autoCapacity(size int) int {
	fits := (size/4 - layout.HeaderSize) / layout.EntrySize
	return max(1, min(DefaultCapacity, fits))
}

// SizeFor is the size of a segment that, made with Create's defaults, holds
// objects of the given lengths in bytes (each rounded up to 64), directory
// included. For more than DefaultCapacity objects, create it
// WithCapacity(len(lengths)).
func SizeFor(lengths ...uint64) int {
	var data uint64
	for _, l := range lengths {
		a, _ := layout.AlignUp(l)
		data += a
	}
	n := len(lengths)
	if n > DefaultCapacity {
		return int(layout.DataStart(uint32(n)) + data)
	}
	size := int(layout.DataStart(DefaultCapacity) + data)
	size = max(size, 4*(layout.HeaderSize+n*layout.EntrySize)) // room for n entries in a quarter
	for autoCapacity(size) < n || uint64(size)-layout.DataStart(uint32(autoCapacity(size))) < data {
		size += layout.EntrySize
	}
	return size
}

// MaxCapacity bounds WithCapacity.
const MaxCapacity = 1 << 20

// Option configures Create, Open and OpenRaw.
type Option func(*options)

type options struct {
	mode        fs.FileMode
	capacity    int
	capacitySet bool // WithCapacity was given
	readOnly    bool
	// allocWait bounds Alloc's wait for another process's allocation.
	allocWait time.Duration
}

func collect(opts []Option) options {
	o := options{mode: 0o600, allocWait: DefaultAllocWait}
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
// (default DefaultCapacity, fewer for a small segment; at most MaxCapacity).
// Each entry takes 128 bytes.
func WithCapacity(entries int) Option {
	return func(o *options) { o.capacity, o.capacitySet = entries, true }
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
