package ctypes

import (
	"bytes"
	"slices"

	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/shm"
)

// A CharArray is an array of C chars (typecode c) read and written as a
// byte string, with Python's rules: Value is the bytes before the first NUL,
// Raw is every byte, and a value as long as the array is allowed (it then
// has no NUL) while a longer one is ErrTooLong.
type CharArray struct{ *RawArray[Char] }

// NewCharArray creates a zeroed char array of n bytes.
func NewCharArray(seg *shm.Segment, name string, n int) (CharArray, error) {
	a, err := NewRawArray[Char](seg, name, n)
	return CharArray{a}, err
}

// OpenCharArray attaches to a char array.
func OpenCharArray(seg *shm.Segment, name string) (CharArray, error) {
	a, err := OpenRawArray[Char](seg, name)
	return CharArray{a}, err
}

func (c CharArray) bytes() []byte {
	c.e.read()
	s := c.Slice()
	if len(s) == 0 {
		return nil
	}
	return unsafeBytes(s)
}

// Value returns a copy of the bytes before the first NUL.
func (c CharArray) Value() []byte {
	b := c.bytes()
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return slices.Clone(b)
}

// Raw returns a copy of every byte.
func (c CharArray) Raw() []byte { return slices.Clone(c.bytes()) }

// SetValue stores v and, if v is shorter than the array, a NUL after it.
func (c CharArray) SetValue(v []byte) error {
	if err := c.e.writable(); err != nil {
		return err
	}
	b := c.bytes()
	if len(v) > len(b) {
		return errtext.Errorf("ctypes: %q: %w: %d bytes into %d", c.Name(), ErrTooLong, len(v), len(b))
	}
	n := copy(b, v)
	if n < len(b) {
		b[n] = 0
	}
	return nil
}

// SetRaw stores v at the start of the array, leaving the bytes after it.
func (c CharArray) SetRaw(v []byte) error {
	if err := c.e.writable(); err != nil {
		return err
	}
	b := c.bytes()
	if len(v) > len(b) {
		return errtext.Errorf("ctypes: %q: %w: %d bytes into %d", c.Name(), ErrTooLong, len(v), len(b))
	}
	copy(b, v)
	return nil
}

// A WCharArray is an array of wchar_t (typecode u), read and written as a
// Go string of UTF-32 code points, with the rules of CharArray.
type WCharArray struct{ *RawArray[WChar] }

// NewWCharArray creates a zeroed array of n wide characters.
func NewWCharArray(seg *shm.Segment, name string, n int) (WCharArray, error) {
	a, err := NewRawArray[WChar](seg, name, n)
	return WCharArray{a}, err
}

// OpenWCharArray attaches to a wide character array.
func OpenWCharArray(seg *shm.Segment, name string) (WCharArray, error) {
	a, err := OpenRawArray[WChar](seg, name)
	return WCharArray{a}, err
}

// Value returns the characters before the first NUL.
func (w WCharArray) Value() string {
	var r []rune
	for i := range w.Len() {
		c := w.At(i)
		if c == 0 {
			break
		}
		r = append(r, rune(c))
	}
	return string(r)
}

// SetValue stores s and, if shorter than the array, a NUL after it.
func (w WCharArray) SetValue(s string) error {
	if err := w.e.writable(); err != nil {
		return err
	}
	r := []rune(s)
	if len(r) > w.Len() {
		return errtext.Errorf("ctypes: %q: %w: %d characters into %d", w.Name(), ErrTooLong, len(r), w.Len())
	}
	for i, c := range r {
		w.Set(i, WChar(c))
	}
	if len(r) < w.Len() {
		w.Set(len(r), 0)
	}
	return nil
}
