package dict

import (
	"sync/atomic"

	"github.com/shmkit/shmkit/internal/cbind"
)

// HoldLock takes d's writer lock and keeps it, as a writer killed holding
// it would.
func HoldLock(d *Dict) error { return d.c.h.DictTestLock() }

// HeapName is the file in /dev/shm that holds d's storage.
func HeapName(d *Dict) string { return heapFile(d.c.ref) }

// DieOverwriting sets key's integer value in place and stops where a
// writer killed inside would (stage 1: half the bytes written, seqlock
// odd; stage 2: written, the undo note not yet cleared), keeping the lock.
func DieOverwriting(d *Dict, key string, v int64, stage int) error {
	kt, kb, err := encode(key)
	if err != nil {
		return err
	}
	return d.c.h.DictTestOverwrite(kt, kb, v, stage)
}

// GoRead looks key up once by the Go reader alone, as Get's first looks
// do (up to readLooks while writers get in the way), and says how it
// ended: "hit" (with the value), "miss", "short", "again" or "askC".
func GoRead(d *Dict, key any) (any, string, error) {
	kt, kb, err := encode(key)
	if err != nil {
		return nil, "", err
	}
	c := d.c
	if err := c.enter(); err != nil {
		return nil, "", err
	}
	defer c.leave()
	if c.view.base == nil {
		return nil, "askC", nil
	}
	bp := bufs.Get().(*[]byte)
	defer bufs.Put(bp)
	if len(*bp) < 20<<10 {
		*bp = make([]byte, 20<<10)
	}
	buf := *bp
	for range readLooks {
		tag, n, o := c.view.find(kt, kb, keyHash(kt, kb), buf)
		switch o {
		case hit:
			v, err := decode(tag, buf[:n])
			return v, "hit", err
		case miss:
			return nil, "miss", nil
		case tooShort:
			return nil, "short", nil
		case askC:
			return nil, "askC", nil
		}
	}
	return nil, "again", nil
}

// GoReads reports whether this build reads dicts in Go.
const GoReads = goReads

// AttachHeap opens the dict (or list) whose reference is ref, a copy of a
// struct shmkit_dict_ref, as Open does with the segment's own.
func AttachHeap(ref []byte, readonly bool) (*Dict, *List, error) {
	h, err := cbind.DictAttach(ref, readonly)
	if err != nil {
		return nil, nil, wrap("heap", "open", err)
	}
	c := &handle{h: h, view: newView(h), readonly: readonly, ref: append([]byte{}, ref...), name: "heap"}
	return &Dict{c}, &List{c}, nil
}

// ListHeapName is the file in /dev/shm that holds l's storage.
func ListHeapName(l *List) string { return HeapName(&Dict{l.c}) }

// HoldListLock takes l's writer lock and keeps it, as a writer killed
// holding it would.
func HoldListLock(l *List) error { return l.c.h.DictTestLock() }

// goAdds counts the adds this process made in Go (not through C).
var goAdds atomic.Int64

func init() { goAddHook = func() { goAdds.Add(1) } }

// GoAdds is how many adds this process has made in Go so far.
func GoAdds() int64 { return goAdds.Load() }

// GoAddsPossible reports whether this build may add in Go.
const GoAddsPossible = goReads

// CAdd adds through the C library's shmkit_dict_add alone, as a C or
// Python process does.
func CAdd(d *Dict, key string, delta int64) (int64, error) {
	kt, kb, err := encode(key)
	if err != nil {
		return 0, err
	}
	if err := d.c.enter(); err != nil {
		return 0, err
	}
	defer d.c.leave()
	n, err := d.c.h.Add(kt, kb, delta)
	return n, wrap(d.c.name, "add", err)
}
