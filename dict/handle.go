package dict

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/shmkit/shmkit/internal/cbind"
	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/internal/objects"
	"github.com/shmkit/shmkit/internal/segment"
	"github.com/shmkit/shmkit/shm"
)

// handle is what Dict, Map and List share: the C library's handle on the
// heap, and a copy of the segment's reference so Unlink works after the
// segment is closed.
type handle struct {
	// users counts the calls in flight, Go reads of the heap too, plus
	// closing once Close was called: the last of them to leave releases h.
	// Not a lock Close waits on, so that a call made from a Range's
	// function while another goroutine closes is ErrClosed, not a deadlock.
	users    atomic.Int64
	released atomic.Bool
	h        cbind.DictHandle
	view     heapView // the heap as h maps it, for reading (and adding) in Go
	readonly bool     // h may not write: Add goes to C, which says so
	ref      []byte
	name     string
}

// closing is the bit of handle.users that Close sets.
const closing = 1 << 62

func kindOf(list bool) shm.Kind {
	if list {
		return shm.KindList
	}
	return shm.KindDict
}

func create(seg *shm.Segment, name string, list bool) (*handle, error) {
	if err := objects.Core(seg).Writable(); err != nil {
		return nil, errtext.Errorf("dict: new %q: %w", name, err)
	}
	prefix := strings.TrimPrefix(seg.Name(), "/")
	var mode uint32 // whoever may open the segment may open its dicts
	if fi, err := os.Stat("/dev/shm/" + prefix); err == nil {
		mode = uint32(fi.Mode().Perm())
	}
	r := segment.Request{Name: name, Kind: kindOf(list), Length: uint64(len(layout.DictRef{}.HeapName) + 64)}
	obj, err := objects.Core(seg).Alloc(r, func(mem []byte) error {
		return wrap(name, "new", cbind.DictInit(mem, prefix, name, list, mode))
	})
	if err != nil {
		return nil, err
	}
	return attach(seg, obj, name)
}

func open(seg *shm.Segment, name string, list bool) (*handle, error) {
	obj, err := objects.Core(seg).LookupKind(name, kindOf(list))
	if err != nil {
		return nil, err
	}
	return attach(seg, obj, name)
}

func attach(seg *shm.Segment, obj shm.Object, name string) (*handle, error) {
	mem := obj.Bytes()
	ref := append([]byte{}, mem...)
	h, err := cbind.DictAttach(ref, seg.ReadOnly())
	if err != nil {
		return nil, wrap(name, "open", err)
	}
	return &handle{h: h, view: newView(h), readonly: seg.ReadOnly(), ref: ref, name: name}, nil
}

// enter takes the handle for one call; leave with c.leave.
func (c *handle) enter() error {
	if c.users.Add(1)&closing != 0 {
		c.leave()
		return ErrClosed
	}
	return nil
}

// leave ends a call; the last one out after Close releases the handle.
func (c *handle) leave() {
	if c.users.Add(-1) == closing {
		c.release()
	}
}

func (c *handle) release() {
	if c.released.CompareAndSwap(false, true) {
		c.h.Close()
	}
}

// close refuses new calls at once and releases the handle when the calls
// in flight have left (now, if there are none).
func (c *handle) close() error {
	for {
		u := c.users.Load()
		if u&closing != 0 {
			return ErrClosed
		}
		if c.users.CompareAndSwap(u, u|closing) {
			if u == 0 {
				c.release()
			}
			return nil
		}
	}
}

func (c *handle) unlink() error { return wrap(c.name, "unlink", cbind.DictUnlink(c.ref)) }

// wrap turns the C library's errno into the package's errors.
func wrap(name, op string, err error) error {
	if err == nil {
		return nil // before e, which escapes: no allocation on success
	}
	var e syscall.Errno
	if !errors.As(err, &e) {
		return err
	}
	var sentinel error
	switch e {
	case syscall.EUCLEAN:
		sentinel = shm.ErrCorrupt
	case syscall.EPROTO:
		sentinel = shm.ErrNotShmkit
	case syscall.EPROTONOSUPPORT:
		sentinel = shm.ErrVersion
	case syscall.ENOSPC:
		sentinel = shm.ErrNoSpace
	case syscall.EBADF:
		sentinel = shm.ErrReadOnly
	case syscall.EMEDIUMTYPE:
		sentinel = ErrNotInt
	case syscall.EOVERFLOW:
		sentinel = ErrOverflow
	case syscall.EBUSY:
		sentinel = ErrBusy
	case syscall.ERANGE:
		sentinel = ErrIndex
	case syscall.EINVAL:
		sentinel = ErrTooLarge
	default:
		return fmt.Errorf("dict: %s %q: %w", op, name, e)
	}
	return errtext.Errorf("dict: %s %q: %w (%w)", op, name, sentinel, e)
}

// bufs holds read buffers: most values fit 256 bytes.
var bufs = sync.Pool{New: func() any { b := make([]byte, 256); return &b }}

// read calls get with a buffer, again with a larger one if the value did
// not fit, then use with the value's tag and bytes (valid during use only).
func read(get func(buf []byte) (tag, n int, err error), use func(tag int, b []byte) error) error {
	bp := bufs.Get().(*[]byte)
	defer bufs.Put(bp)
	for {
		tag, n, err := get(*bp)
		if errors.Is(err, cbind.ShortBuf) {
			*bp = make([]byte, n+n/4)
			continue
		}
		if err != nil {
			return err
		}
		return use(tag, (*bp)[:n])
	}
}

// Stats describes a dict or list for inspection.
type Stats struct {
	Len        int    // keys, or the list's length
	Slots      int    // the table's slots (dict) or the array's room (list)
	HeapBytes  int64  // the heap file's size
	UsedBytes  int64  // bytes of blocks in use, headers included
	Recoveries uint64 // times a killed writer's work was repaired
}

func (c *handle) stats() (Stats, error) {
	if err := c.enter(); err != nil {
		return Stats{}, err
	}
	defer c.leave()
	s := c.h.Stats()
	return Stats{Len: int(s.Count), Slots: int(s.Slots), HeapBytes: int64(s.HeapSize), UsedBytes: int64(s.Used), Recoveries: s.Recoveries}, nil
}

// UnlinkAll removes the heap files of every dict and list in seg: what to
// call before unlinking a segment that holds them (shmkit rm does). Each
// file is removed only if it belongs to the segment file's owner and opens
// as that object's own heap: a damaged or hostile segment may name any
// file of /dev/shm as a heap (a heap's name and id can be read off a
// listing), and such a file is left alone, with an error naming the
// object. A heap already gone is no error.
func UnlinkAll(seg *shm.Segment) error {
	objs, err := seg.Objects()
	if err != nil {
		return err
	}
	owner, err := ownerOf(strings.TrimPrefix(seg.Name(), "/"))
	if err != nil {
		return err
	}
	var errs []error
	for _, o := range objs {
		if o.Kind != shm.KindDict && o.Kind != shm.KindList {
			continue
		}
		switch uid, err := ownerOf(heapFile(o.Bytes())); {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("dict: %q: its heap is not removed: %w", o.Name, err))
			continue
		case uid != owner:
			errs = append(errs, fmt.Errorf("dict: %q: its heap is not removed: %w: it belongs to user %d, the segment to %d",
				o.Name, fs.ErrPermission, uid, owner))
			continue
		}
		var h interface {
			Unlink() error
			Close() error
		}
		var err error
		switch o.Kind {
		case shm.KindDict:
			h, err = Open(seg, o.Name)
		case shm.KindList:
			h, err = OpenList(seg, o.Name)
		}
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			errs = append(errs, fmt.Errorf("dict: %q: its heap is not removed: %w", o.Name, err))
		default:
			errs = append(errs, h.Unlink(), h.Close())
		}
	}
	return errors.Join(errs...)
}

// heapFile is the file a dict or list reference names as its heap, a name
// in shm.Dir (not checked here: ownerOf of a bad name finds nothing).
func heapFile(ref []byte) string {
	n := ref[:min(len(ref), len(layout.DictRef{}.HeapName))]
	if i := bytes.IndexByte(n, 0); i >= 0 {
		n = n[:i]
	}
	return string(n)
}

// ownerOf is the user that owns the file name in shm.Dir.
func ownerOf(name string) (uint32, error) {
	if name == "" || strings.ContainsRune(name, '/') {
		return 0, fs.ErrNotExist
	}
	fi, err := os.Lstat(filepath.Join(shm.Dir, name))
	if err != nil {
		return 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("%w: %s is not a plain file", shm.ErrCorrupt, name)
	}
	return st.Uid, nil
}
