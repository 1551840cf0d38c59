package shm

import (
	"io/fs"
	"time"

	"github.com/shmkit/shmkit/internal/segment"
)

// DefaultCapacity is the number of directory entries of a segment created
// without WithCapacity, unless the segment is small: then the directory
// takes at most a quarter of it (at least one entry).
const DefaultCapacity = 64

// MaxCapacity bounds WithCapacity.
const MaxCapacity = 1 << 20

// DefaultAllocWait is how long Alloc waits for another process's
// allocation to end before it gives up with ErrBusy (WithAllocWait).
const DefaultAllocWait = 30 * time.Second

// SizeFor is the size of a segment that, made with Create's defaults, holds
// objects of the given lengths in bytes (each rounded up to 64), directory
// included. For more than DefaultCapacity objects, create it
// WithCapacity(len(lengths)).
func SizeFor(lengths ...uint64) int { return segment.SizeFor(lengths...) }

// CreateOption configures Create: WithMode, WithCapacity and the options
// of type Option. Open does not take them, so a create-only option given
// to Open is a compile error rather than a silent no-op.
type CreateOption = segment.CreateOption

// OpenOption configures Open and OpenRaw: WithReadOnly and the options of
// type Option.
type OpenOption = segment.OpenOption

// Option is an option that Create, Open and OpenRaw all take
// (WithAllocWait).
type Option = segment.Option

// WithMode sets the permission bits of a new segment (default 0600). They
// are set exactly, whatever the process umask.
func WithMode(perm fs.FileMode) CreateOption { return segment.WithMode(perm) }

// WithCapacity sets how many named objects a new segment's directory holds
// (default DefaultCapacity, fewer for a small segment; at most MaxCapacity).
// Each entry takes 128 bytes.
func WithCapacity(entries int) CreateOption { return segment.WithCapacity(entries) }

// WithReadOnly maps the segment PROT_READ: reads work, every operation
// that would write returns ErrReadOnly, and a raw write through Bytes
// faults.
func WithReadOnly() OpenOption { return segment.WithReadOnly() }

// WithAllocWait sets how long Alloc (and so every constructor of an object)
// waits for another process's allocation before failing with ErrBusy
// (default DefaultAllocWait); 0 waits for as long as it takes.
// AllocContext waits until its context ends as well.
func WithAllocWait(d time.Duration) Option { return segment.WithAllocWait(d) }
