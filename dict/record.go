package dict

import (
	"bytes"
	"fmt"
	"unsafe"

	"github.com/shmkit/shmkit/internal/elem"
	"github.com/shmkit/shmkit/shm"
)

// A Record is a record value as Dict reads and writes it: a C struct whose
// Layout (ctypes.Layout: the fields, their typecodes and offsets) is
// stored with it, so that C and Python read its fields. Data is the
// record's bytes, Layout.Size of them. Python reads one as a numpy
// structured scalar, or a ctypes.Structure without numpy.
type Record struct {
	Layout elem.Layout
	Data   []byte
}

// encodeRecord is a record value's bytes: its description, then its data.
func encodeRecord(desc, data []byte) []byte {
	b := make([]byte, 0, len(desc)+len(data))
	return append(append(b, desc...), data...)
}

// decodeRecord checks a stored record value: a valid description, then
// exactly one record's bytes.
func decodeRecord(b []byte) (Record, error) {
	l, n, err := elem.ParseDesc(b)
	if err != nil {
		return Record{}, err
	}
	if len(b)-n != l.Size {
		return Record{}, fmt.Errorf("%w: a record of %d bytes after its description, which says %d", shm.ErrCorrupt, len(b)-n, l.Size)
	}
	return Record{Layout: l, Data: append([]byte{}, b[n:]...)}, nil
}

// A RecordMap is a shared dict whose values are records of type R, a
// struct of the element types (int8 … float64, ctypes.Char, WChar, Long,
// ULong, nested structs and fixed arrays of them: what ctypes.LayoutOf
// accepts). Each value is stored with R's layout (tag RECORD of the
// encoding): a Python process reads it as a numpy structured scalar or a
// ctypes.Structure, C as a struct shmkit_struct_desc and the bytes. A
// stored value that is not a record of R's layout is ErrType, naming the
// field that differs. Safe for concurrent use.
type RecordMap[K Key, R any] struct {
	c      *handle
	layout elem.Layout
	desc   []byte // layout's description, as stored before every value
}

func recordMap[K Key, R any](c *handle, err error) (*RecordMap[K, R], error) {
	if err != nil {
		return nil, err
	}
	l, err := elem.LayoutOf[R]()
	if err != nil {
		c.close()
		return nil, fmt.Errorf("%w: %w", ErrType, err)
	}
	return &RecordMap[K, R]{c: c, layout: l, desc: l.DescBytes()}, nil
}

// NewRecordMap makes an empty dict named name in seg, for records of R.
func NewRecordMap[K Key, R any](seg *shm.Segment, name string) (*RecordMap[K, R], error) {
	if _, err := elem.LayoutOf[R](); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrType, err)
	}
	return recordMap[K, R](create(seg, name, false))
}

// OpenRecordMap opens the dict named name in seg as a RecordMap.
func OpenRecordMap[K Key, R any](seg *shm.Segment, name string) (*RecordMap[K, R], error) {
	return recordMap[K, R](open(seg, name, false))
}

// Layout is R's layout, as stored with every value.
func (m *RecordMap[K, R]) Layout() elem.Layout { return m.layout }

// Close releases this process's mapping; the dict stays.
func (m *RecordMap[K, R]) Close() error { return m.c.close() }

// Unlink removes the dict's heap file (see Dict.Unlink).
func (m *RecordMap[K, R]) Unlink() error { return m.c.unlink() }

// Stats reports the map's size and space.
func (m *RecordMap[K, R]) Stats() (Stats, error) { return m.c.stats() }

// bytesOf is r's memory: R holds fixed-size fields only (LayoutOf checked).
func bytesOf[R any](r *R) []byte { return unsafe.Slice((*byte)(unsafe.Pointer(r)), unsafe.Sizeof(*r)) }

func (m *RecordMap[K, R]) encode(r *R) []byte { return encodeRecord(m.desc, bytesOf(r)) }

// decode reads a stored value as an R: quickly if its description is
// byte for byte R's, else by comparing the layouts field by field.
func (m *RecordMap[K, R]) decode(tag int, b []byte) (R, error) {
	var r R
	if tag != tagRecord {
		return r, fmt.Errorf("%w: a stored value of tag %d is not a record", ErrType, tag)
	}
	if !bytes.HasPrefix(b, m.desc) || len(b)-len(m.desc) != len(bytesOf(&r)) {
		rec, err := decodeRecord(b)
		if err != nil {
			return r, err
		}
		if err := elem.Match(m.layout, rec.Layout); err != nil {
			return r, fmt.Errorf("%w: %w", ErrType, err)
		}
		copy(bytesOf(&r), rec.Data)
		return r, nil
	}
	copy(bytesOf(&r), b[len(m.desc):])
	return r, nil
}

// Get returns the key's record and whether it has one.
func (m *RecordMap[K, R]) Get(k K) (R, bool, error) {
	var s [8]byte
	var r R
	kt, kb, err := encodeKey(k, &s)
	if err != nil {
		return r, false, err
	}
	ok, err := m.c.getRaw(kt, kb, func(tag int, b []byte) (err error) { r, err = m.decode(tag, b); return })
	return r, ok && err == nil, err
}

// Set stores r under k.
func (m *RecordMap[K, R]) Set(k K, r R) error {
	var s [8]byte
	kt, kb, err := encodeKey(k, &s)
	if err != nil {
		return err
	}
	return m.c.set(kt, kb, tagRecord, m.encode(&r))
}

// Delete removes k and reports whether it had a value.
func (m *RecordMap[K, R]) Delete(k K) (bool, error) {
	var s [8]byte
	kt, kb, err := encodeKey(k, &s)
	if err != nil {
		return false, err
	}
	return m.c.delete(kt, kb)
}

// Len is the number of keys.
func (m *RecordMap[K, R]) Len() (int, error) { return m.c.length() }

// Clear removes every key.
func (m *RecordMap[K, R]) Clear() error { return m.c.clear() }

// Update sets k to fn(old, ok) atomically (see Dict.Update) and returns
// what it stored: fn changes the record in place.
func (m *RecordMap[K, R]) Update(k K, fn func(r *R, ok bool)) (R, error) {
	var s [8]byte
	var stored R
	kt, kb, err := encodeKey(k, &s)
	if err != nil {
		return stored, err
	}
	err = m.c.update(kt, kb, func(tag int, b []byte, ok bool) (int, []byte, error) {
		var r R
		if ok {
			if r, err = m.decode(tag, b); err != nil {
				return 0, nil, err
			}
		}
		fn(&r, ok)
		stored = r
		return tagRecord, m.encode(&r), nil
	})
	if err != nil {
		var zero R
		return zero, err // stored was not stored
	}
	return stored, nil
}

// Range calls fn for each key and record until fn returns false (see
// Dict.Range).
func (m *RecordMap[K, R]) Range(fn func(k K, r R) bool) error {
	return m.c.each(func(kt int, kb []byte, vt int, vb []byte) (bool, error) {
		k, err := decodeAs[K](kt, kb)
		if err != nil {
			return false, err
		}
		r, err := m.decode(vt, vb)
		if err != nil {
			return false, err
		}
		return fn(k, r), nil
	})
}
