package elem

import (
	"fmt"

	"github.com/shmkit/shmkit/internal/errtext"
)

// A Typecode is one of Python's array/ctypes typecodes.
type Typecode byte

// The typecodes, with the C type each stands for on Linux x86-64 and arm64.
const (
	CodeChar      Typecode = 'c' // char
	CodeByte      Typecode = 'b' // signed char
	CodeUByte     Typecode = 'B' // unsigned char
	CodeWChar     Typecode = 'u' // wchar_t, UTF-32
	CodeShort     Typecode = 'h' // short
	CodeUShort    Typecode = 'H' // unsigned short
	CodeInt       Typecode = 'i' // int
	CodeUInt      Typecode = 'I' // unsigned int
	CodeLong      Typecode = 'l' // long
	CodeULong     Typecode = 'L' // unsigned long
	CodeLongLong  Typecode = 'q' // long long
	CodeULongLong Typecode = 'Q' // unsigned long long
	CodeFloat     Typecode = 'f' // float
	CodeDouble    Typecode = 'd' // double
)

type codeInfo struct {
	size  int
	ctype string
}

var codes = map[Typecode]codeInfo{
	CodeChar: {1, "char"}, CodeByte: {1, "signed char"}, CodeUByte: {1, "unsigned char"},
	CodeWChar: {4, "wchar_t"}, CodeShort: {2, "short"}, CodeUShort: {2, "unsigned short"},
	CodeInt: {4, "int"}, CodeUInt: {4, "unsigned int"}, CodeLong: {8, "long"},
	CodeULong: {8, "unsigned long"}, CodeLongLong: {8, "long long"},
	CodeULongLong: {8, "unsigned long long"}, CodeFloat: {4, "float"}, CodeDouble: {8, "double"},
}

// ParseTypecode checks a typecode character.
func ParseTypecode(c byte) (Typecode, error) {
	if _, ok := codes[Typecode(c)]; !ok {
		return 0, errtext.Errorf("%w: %q", ErrBadTypecode, rune(c))
	}
	return Typecode(c), nil
}

// Size is the element size in bytes, or 0 for an invalid typecode.
func (t Typecode) Size() int { return codes[t].size }

// CType is the C type the typecode stands for.
func (t Typecode) CType() string { return codes[t].ctype }

// IsFloat reports whether the typecode is f or d.
func (t Typecode) IsFloat() bool { return t == CodeFloat || t == CodeDouble }

// IsSigned reports whether the typecode is a signed integer (c counts as
// unsigned, as on Linux arm64 and as Python's bytes).
func (t Typecode) IsSigned() bool {
	switch t {
	case CodeByte, CodeShort, CodeInt, CodeLong, CodeLongLong, CodeWChar:
		return true
	}
	return false
}

func (t Typecode) String() string {
	if info, ok := codes[t]; ok {
		return fmt.Sprintf("'%c' (%s)", byte(t), info.ctype)
	}
	return fmt.Sprintf("typecode(%#x)", byte(t))
}

// Char is a C char, typecode c: one byte of a byte string.
type Char byte

// WChar is a C wchar_t on Linux, typecode u: one UTF-32 code point.
type WChar int32

// Long is a C long on 64-bit Linux, typecode l.
type Long int64

// ULong is a C unsigned long on 64-bit Linux, typecode L.
type ULong uint64
