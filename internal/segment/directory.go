package segment

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"runtime/debug"
	"slices"
	"unicode/utf8"

	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/internal/layout"
)

// maxObjectName is the longest object name, in bytes.
const maxObjectName = layout.NameMax

// Kind says what an object in the directory is.
type Kind uint16

// Object kinds, as in shmkit.h.
const (
	KindBytes     = Kind(layout.KindBytes)
	KindValue     = Kind(layout.KindValue)
	KindArray     = Kind(layout.KindArray)
	KindSemaphore = Kind(layout.KindSemaphore)
	KindBounded   = Kind(layout.KindBounded)
	KindMutex     = Kind(layout.KindMutex)
	KindRMutex    = Kind(layout.KindRMutex)
	KindCond      = Kind(layout.KindCond)
	KindEvent     = Kind(layout.KindEvent)
	KindBarrier   = Kind(layout.KindBarrier)
	KindChannel   = Kind(layout.KindChannel)
	KindDict      = Kind(layout.KindDict)
	KindList      = Kind(layout.KindList)
)

var kindNames = map[Kind]string{
	KindBytes: "bytes", KindValue: "value", KindArray: "array",
	KindSemaphore: "semaphore", KindBounded: "bounded-semaphore",
	KindMutex: "mutex", KindRMutex: "rmutex", KindCond: "cond",
	KindEvent: "event", KindBarrier: "barrier", KindChannel: "channel",
	KindDict: "dict", KindList: "list",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", uint16(k))
}

// Object describes one published directory entry, after validation.
type Object struct {
	Name     string
	Kind     Kind
	Typecode byte  // Python typecode character, or 0
	Flags    uint8 // layout flags (FlagLocked)
	Count    uint64
	Offset   uint64
	Length   uint64
	Param0   uint64
	Param1   uint64
	Desc     uint64 // typecode 'T': its record description, from Offset

	mem []byte // the object's bytes inside the mapping
}

// String says what the object is, where, and how long: array "xs" ('d' ×
// 3): 64 bytes at offset 8320. It is what %v and %+v print; its memory is
// never printed.
func (o Object) String() string {
	what := fmt.Sprintf("%s %q", o.Kind, o.Name)
	if o.Typecode != 0 {
		what += fmt.Sprintf(" (%q × %d)", rune(o.Typecode), o.Count)
	}
	return fmt.Sprintf("%s: %d bytes at offset %d", what, o.Length, o.Offset)
}

// GoString is %#v: the exported fields, without the memory.
func (o Object) GoString() string {
	return fmt.Sprintf("shm.Object{Name:%q, Kind:%#x, Typecode:%#x, Flags:%#x, Count:%#x, Offset:%#x, Length:%#x, Param0:%#x, Param1:%#x, Desc:%#x}",
		o.Name, uint16(o.Kind), o.Typecode, o.Flags, o.Count, o.Offset, o.Length, o.Param0, o.Param1, o.Desc)
}

// FlagLocked marks a value or array followed by its own recursive mutex.
const FlagLocked = layout.FlagLocked

// Bytes returns the object's memory inside the mapping. It aliases shared
// memory and must not be used after the segment is closed.
func (o Object) Bytes() []byte { return o.mem }

// Request describes an object to allocate.
type Request struct {
	Name     string
	Kind     Kind
	Typecode byte
	Flags    uint8
	Count    uint64
	Length   uint64 // bytes; rounded up to 64
	Param0   uint64
	Param1   uint64
	Desc     uint64 // typecode 'T': where init writes the record description
}

// geometry is what the header says about the segment, checked once at attach
// and trusted afterwards (later writes to the header are not believed).
type geometry struct {
	size      uint64
	capacity  uint32
	dataStart uint64
}

// parseHeader validates the header at the start of b, a mapping of a file of
// fileSize bytes. It is the one place where a header is checked.
func parseHeader(b []byte, fileSize int64) (geometry, error) {
	if len(b) < layout.HeaderSize {
		return geometry{}, errtext.Errorf("%w: %d bytes, smaller than a header", ErrNotShmkit, len(b))
	}
	h := layout.HeaderOf(b)
	if m := h.Magic.Load(); m != layout.Magic {
		return geometry{}, errtext.Errorf("%w: magic %#x", ErrNotShmkit, m)
	}
	if h.Version != layout.Version {
		return geometry{}, errtext.Errorf("%w: %d, this build reads %d", ErrVersion, h.Version, layout.Version)
	}
	g := geometry{size: h.SegmentSize, capacity: h.DirCapacity}
	switch {
	case h.HeaderSize != uint32(layout.HeaderSize):
		return geometry{}, errtext.Errorf("%w: header size %d, expected %d", ErrCorrupt, h.HeaderSize, layout.HeaderSize)
	case fileSize < 0 || h.SegmentSize != uint64(fileSize) || uint64(len(b)) != uint64(fileSize):
		return geometry{}, errtext.Errorf("%w: header says %d bytes, the file has %d", ErrCorrupt, h.SegmentSize, fileSize)
	case h.Flags != 0:
		return geometry{}, errtext.Errorf("%w: unknown header flags %#x", ErrCorrupt, h.Flags)
	case h.DirCapacity > MaxCapacity:
		return geometry{}, errtext.Errorf("%w: directory capacity %d", ErrCorrupt, h.DirCapacity)
	}
	g.dataStart = layout.DataStart(g.capacity)
	if g.dataStart > g.size {
		return geometry{}, errtext.Errorf("%w: a directory of %d entries does not fit in %d bytes", ErrCorrupt, g.capacity, g.size)
	}
	if _, err := g.count(b); err != nil {
		return geometry{}, err
	}
	if _, err := g.cursor(b); err != nil {
		return geometry{}, err
	}
	return g, nil
}

// count loads the number of published entries and checks it.
func (g geometry) count(b []byte) (uint32, error) {
	n := layout.HeaderOf(b).DirCount.Load()
	if n > g.capacity {
		return 0, errtext.Errorf("%w: %d directory entries, capacity %d", ErrCorrupt, n, g.capacity)
	}
	return n, nil
}

// cursor loads the allocation cursor and checks it.
func (g geometry) cursor(b []byte) (uint64, error) {
	c := layout.HeaderOf(b).AllocCursor.Load()
	if c < g.dataStart || c > g.size || c%layout.Align != 0 {
		return 0, errtext.Errorf("%w: allocation cursor %d outside %d..%d", ErrCorrupt, c, g.dataStart, g.size)
	}
	return c, nil
}

// entry reads directory slot i. ok is false when the slot is not published;
// an error means it is published but contradicts the segment.
func (g geometry) entry(b []byte, i uint32) (obj Object, ok bool, err error) {
	e := layout.EntryOf(b, i)
	if e.State.Load() != layout.EntryReady {
		return Object{}, false, nil
	}
	name, terminated := layout.CString(e.Name[:])
	if !terminated || len(name) == 0 || !utf8.Valid(name) {
		return Object{}, false, errtext.Errorf("%w: directory entry %d has a bad name", ErrCorrupt, i)
	}
	obj = Object{
		Name: string(name), Kind: Kind(e.Kind), Typecode: e.Typecode, Flags: e.Flags,
		Count: e.Count, Offset: e.Offset, Length: e.Length, Param0: e.Param0, Param1: e.Param1, Desc: e.Desc,
	}
	end := obj.Offset + obj.Length
	if obj.Offset < g.dataStart || obj.Offset%layout.Align != 0 || obj.Length == 0 ||
		end < obj.Offset || end > g.size {
		return Object{}, false, errtext.Errorf("%w: object %q at %d+%d outside the data area %d..%d",
			ErrCorrupt, obj.Name, obj.Offset, obj.Length, g.dataStart, g.size)
	}
	obj.mem = b[obj.Offset:end:end]
	return obj, true, nil
}

// entries returns every published entry, checking that no two overlap.
func (g geometry) entries(b []byte) ([]Object, error) {
	n, err := g.count(b)
	if err != nil {
		return nil, err
	}
	objs := make([]Object, 0, n)
	for i := range n {
		obj, ok, err := g.entry(b, i)
		if err != nil {
			return nil, err
		}
		if ok {
			objs = append(objs, obj)
		}
	}
	byOffset := slices.Clone(objs)
	slices.SortFunc(byOffset, func(a, b Object) int { return cmp.Compare(a.Offset, b.Offset) })
	for i := 1; i < len(byOffset); i++ {
		if prev := byOffset[i-1]; prev.Offset+prev.Length > byOffset[i].Offset {
			return nil, errtext.Errorf("%w: objects %q and %q overlap", ErrCorrupt, prev.Name, byOffset[i].Name)
		}
	}
	return objs, nil
}

// usable reports why the directory cannot be used, if it cannot.
func (s *Segment) usable() error {
	switch {
	case s.closed.Load():
		return ErrClosed
	case s.raw:
		return errtext.Errorf("%w: attached with OpenRaw", ErrNotShmkit)
	}
	return nil
}

// Objects lists the published objects in directory order.
func (s *Segment) Objects() ([]Object, error) {
	if err := s.usable(); err != nil {
		return nil, errtext.Errorf("shm: objects of %s: %w", s.name, err)
	}
	return s.objects()
}

// All ranges over the published objects, in directory order:
//
//	for obj, err := range seg.All() {
//		if err != nil { ... } // the directory could not be read: the last pair
//		fmt.Println(obj.Name, obj.Kind)
//	}
func (s *Segment) All() iter.Seq2[Object, error] {
	return func(yield func(Object, error) bool) {
		objs, err := s.Objects()
		if err != nil {
			yield(Object{}, err)
			return
		}
		for _, o := range objs {
			if !yield(o, nil) {
				return
			}
		}
	}
}

func (s *Segment) objects() (objs []Object, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer faultIsCorrupt(&err)
	objs, err = s.geo.entries(s.mem)
	if err != nil {
		return nil, errtext.Errorf("shm: objects of %s: %w", s.name, err)
	}
	return objs, nil
}

// Lookup finds a published object by name.
func (s *Segment) Lookup(name string) (_ Object, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer faultIsCorrupt(&err)
	if err := s.usable(); err != nil {
		return Object{}, errtext.Errorf("shm: lookup %q in %s: %w", name, s.name, err)
	}
	n, err := s.geo.count(s.mem)
	if err != nil {
		return Object{}, errtext.Errorf("shm: lookup %q in %s: %w", name, s.name, err)
	}
	for i := range n {
		obj, ok, err := s.geo.entry(s.mem, i)
		if err != nil {
			return Object{}, errtext.Errorf("shm: lookup %q in %s: %w", name, s.name, err)
		}
		if ok && obj.Name == name {
			return obj, nil
		}
	}
	return Object{}, errtext.Errorf("shm: lookup %q in %s: %w", name, s.name, ErrObjectNotFound)
}

// LookupKind finds a published object by name and checks its kind.
func (s *Segment) LookupKind(name string, kind Kind) (Object, error) {
	obj, err := s.Lookup(name)
	if err != nil {
		return Object{}, err
	}
	if obj.Kind != kind {
		return Object{}, errtext.Errorf("shm: %q in %s: %w: it is of kind %v, not %v", name, s.name, ErrKindMismatch, obj.Kind, kind)
	}
	return obj, nil
}

// Alloc carves a new named object out of the segment, calls init on its
// (zeroed) memory, and only then publishes it, so no process ever finds the
// object before init has returned. If init fails, nothing is published (the
// bytes stay reserved). Allocation is serialised across threads, handles
// and processes by the lock word in the segment's header; a holder that
// died is taken over, and a live one is waited for at most the segment's
// allocation wait (ErrBusy). init must not allocate in the same segment
// (ErrBusy), nor close it (Close waits for Alloc to return). Close while
// Alloc waits ends it with ErrClosed.
func (s *Segment) Alloc(r Request, init func(mem []byte) error) (Object, error) {
	return s.AllocContext(context.Background(), r, init)
}

// AllocContext is Alloc giving up, with ctx.Err(), when ctx ends while
// another allocation holds the lock.
func (s *Segment) AllocContext(ctx context.Context, r Request, init func(mem []byte) error) (Object, error) {
	fail := func(err error) (Object, error) {
		return Object{}, errtext.Errorf("shm: alloc %q in %s: %w", r.Name, s.name, err)
	}
	if err := s.usable(); err != nil {
		return fail(err)
	}
	if s.readOnly {
		return fail(ErrReadOnly)
	}
	if err := checkObjectName(r.Name); err != nil {
		return fail(err)
	}
	length, ok := layout.AlignUp(r.Length)
	if r.Length == 0 || !ok {
		return fail(errtext.Errorf("%w: object of %d bytes", ErrInvalidSize, r.Length))
	}

	// Counted in, the mapping stays until we leave: Close waits.
	if !s.drain.Enter() {
		return fail(ErrClosed)
	}
	defer s.drain.Leave()
	tid, err := s.enterAlloc(ctx)
	if err != nil {
		return fail(err)
	}
	defer s.leaveAlloc()
	if err := s.lockAlloc(ctx, tid); err != nil {
		return fail(err)
	}
	defer s.unlockAlloc()

	n, err := s.geo.count(s.mem)
	if err != nil {
		return fail(err)
	}
	var used uint64 // the end of the last published object
	for i := range n {
		obj, ok, err := s.geo.entry(s.mem, i)
		if err != nil {
			return fail(err)
		}
		if ok && obj.Name == r.Name {
			return fail(ErrObjectExists)
		}
		if ok {
			used = max(used, obj.Offset+obj.Length)
		}
	}
	h := layout.HeaderOf(s.mem)
	// A process that died between publishing an entry and counting it left
	// a complete entry behind: count it and move on.
	for n < s.geo.capacity {
		e := layout.EntryOf(s.mem, n)
		if e.State.Load() == layout.EntryEmpty {
			break
		}
		obj, ok, err := s.geo.entry(s.mem, n)
		if !ok || err != nil {
			return fail(errtext.Errorf("%w: directory slot %d is neither empty nor valid", ErrCorrupt, n))
		}
		used = max(used, obj.Offset+obj.Length)
		n++
		h.DirCount.Store(n)
	}
	if n == s.geo.capacity {
		return fail(errtext.Errorf("%w: directory full (%d entries)", ErrNoSpace, n))
	}
	cur, err := s.geo.cursor(s.mem)
	if err != nil {
		return fail(err)
	}
	if cur < used { // handing it out would overwrite a live object
		return fail(errtext.Errorf("%w: allocation cursor %d is below the end of an object, %d", ErrCorrupt, cur, used))
	}
	if length > s.geo.size-cur {
		return fail(errtext.Errorf("%w: %d bytes wanted, %d free", ErrNoSpace, length, s.geo.size-cur))
	}
	// Move the cursor first: if we die below, the bytes are lost, never
	// handed out twice. Memory past the cursor is still zero from ftruncate.
	h.AllocCursor.Store(cur + length)
	e := layout.EntryOf(s.mem, n)
	*e = layout.Entry{
		Kind: uint16(r.Kind), Typecode: r.Typecode, Flags: r.Flags, Count: r.Count,
		Offset: cur, Length: length, Param0: r.Param0, Param1: r.Param1, Desc: r.Desc,
	}
	copy(e.Name[:], r.Name)
	mem := s.mem[cur : cur+length : cur+length]
	if init != nil {
		if err := init(mem); err != nil {
			return fail(err)
		}
	}
	e.State.Store(layout.EntryReady)
	h.DirCount.Store(n + 1)
	obj, _, err := s.geo.entry(s.mem, n)
	if err != nil {
		return fail(err)
	}
	return obj, nil
}

// Room is nil if objects of the given lengths (each rounded up to 64)
// would all fit now, in the data area and in the directory, and an error
// wrapping ErrNoSpace if not. A maker of several objects asks it before
// making the first, so that running out of room part-way leaves nothing;
// it is a snapshot (an allocation made meanwhile may take the room).
func (s *Segment) Room(lengths ...uint64) error {
	fail := func(err error) error { return errtext.Errorf("shm: room in %s: %w", s.name, err) }
	if err := s.usable(); err != nil {
		return fail(err)
	}
	if !s.drain.Enter() {
		return fail(ErrClosed)
	}
	defer s.drain.Leave()
	var need uint64
	for _, l := range lengths {
		a, ok := layout.AlignUp(l)
		if !ok || a > s.geo.size-need {
			return fail(errtext.Errorf("%w: %d objects need more than the segment's %d bytes", ErrNoSpace, len(lengths), s.geo.size))
		}
		need += a
	}
	n, err := s.geo.count(s.mem)
	if err != nil {
		return fail(err)
	}
	for n < s.geo.capacity && layout.EntryOf(s.mem, n).State.Load() != layout.EntryEmpty {
		n++ // published but not yet counted: taken all the same
	}
	if free := s.geo.capacity - n; uint64(free) < uint64(len(lengths)) {
		return fail(errtext.Errorf("%w: %d objects, %d directory entries free", ErrNoSpace, len(lengths), free))
	}
	cur, err := s.geo.cursor(s.mem)
	if err != nil {
		return fail(err)
	}
	if need > s.geo.size-cur {
		return fail(errtext.Errorf("%w: %d bytes wanted, %d free", ErrNoSpace, need, s.geo.size-cur))
	}
	return nil
}

// Closed reports whether Close was called.
func (s *Segment) Closed() bool { return s.closed.Load() }

// RefusesWrites reports whether Writable would return an error, in one
// load, for the hot paths of raw writes.
func (s *Segment) RefusesWrites() bool { return s.noWrites.Load() }

// Writable says whether the objects in the segment may be written now:
// ErrClosed once it is closed, ErrReadOnly if it was attached read-only,
// else nil. Every operation of shmkit's objects that writes to the segment
// asks it first, so that a read-only attach gives an error, never a fault.
func (s *Segment) Writable() error {
	switch {
	case s.closed.Load():
		return ErrClosed
	case s.readOnly:
		return ErrReadOnly
	}
	return nil
}
