package segment

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

// CreateOption configures Create: WithMode, WithCapacity and the options
// of type Option. Open does not take them, so a create-only option given
// to Open is a compile error rather than a silent no-op.
type CreateOption interface{ applyCreate(*options) }

// OpenOption configures Open and OpenRaw: WithReadOnly and the options of
// type Option.
type OpenOption interface{ applyOpen(*options) }

// Option is an option that Create, Open and OpenRaw all take
// (WithAllocWait).
type Option func(*options)

func (f Option) applyCreate(o *options) { f(o) }
func (f Option) applyOpen(o *options)   { f(o) }

// createOnly and openOnly are the options that mean something to one side.
type createOnly func(*options)

func (f createOnly) applyCreate(o *options) { f(o) }

type openOnly func(*options)

func (f openOnly) applyOpen(o *options) { f(o) }

type options struct {
	mode        fs.FileMode
	capacity    int
	capacitySet bool // WithCapacity was given
	readOnly    bool
	// allocWait bounds Alloc's wait for another process's allocation.
	allocWait time.Duration
}

func defaults() options { return options{mode: 0o600, allocWait: DefaultAllocWait} }

func collectCreate(opts []CreateOption) options {
	o := defaults()
	for _, opt := range opts {
		opt.applyCreate(&o)
	}
	return o
}

func collectOpen(opts []OpenOption) options {
	o := defaults()
	for _, opt := range opts {
		opt.applyOpen(&o)
	}
	return o
}

// WithMode sets the permission bits of a new segment (default 0600). They
// are set exactly, whatever the process umask.
func WithMode(perm fs.FileMode) CreateOption {
	return createOnly(func(o *options) { o.mode = perm.Perm() })
}

// WithCapacity sets how many named objects a new segment's directory holds
// (default DefaultCapacity, fewer for a small segment; at most MaxCapacity).
// Each entry takes 128 bytes.
func WithCapacity(entries int) CreateOption {
	return createOnly(func(o *options) { o.capacity, o.capacitySet = entries, true })
}

// WithReadOnly maps the segment PROT_READ: reads work, every operation
// that would write returns ErrReadOnly, and a raw write through Bytes
// faults.
func WithReadOnly() OpenOption {
	return openOnly(func(o *options) { o.readOnly = true })
}

// WithAllocWait sets how long Alloc (and so every constructor of an object)
// waits for another process's allocation before failing with ErrBusy
// (default DefaultAllocWait); 0 waits for as long as it takes.
// AllocContext waits until its context ends as well.
func WithAllocWait(d time.Duration) Option {
	return func(o *options) { o.allocWait = max(d, 0) }
}
