package ctypes

import (
	"fmt"
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
		return 0, fmt.Errorf("%w: %q", ErrBadTypecode, rune(c))
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

// Elem is the set of element types, one for each typecode:
//
//	c Char    b int8     B uint8    u WChar
//	h int16   H uint16   i int32    I uint32
//	l Long    L ULong    q int64    Q uint64
//	f float32 d float64
//
// Python wraps integers that do not fit (Value('B', -1) is 255); Go rejects
// such constants at compile time and wraps only in conversions, so
// uint8(x) is how to get Python's result from a wider x.
type Elem interface {
	Char | int8 | uint8 | WChar | int16 | uint16 | int32 | uint32 |
		Long | ULong | int64 | uint64 | float32 | float64
}

// TypecodeOf returns the typecode of element type T.
func TypecodeOf[T Elem]() Typecode {
	var zero T
	switch any(zero).(type) {
	case Char:
		return CodeChar
	case int8:
		return CodeByte
	case uint8:
		return CodeUByte
	case WChar:
		return CodeWChar
	case int16:
		return CodeShort
	case uint16:
		return CodeUShort
	case int32:
		return CodeInt
	case uint32:
		return CodeUInt
	case Long:
		return CodeLong
	case ULong:
		return CodeULong
	case int64:
		return CodeLongLong
	case uint64:
		return CodeULongLong
	case float32:
		return CodeFloat
	default:
		return CodeDouble
	}
}

// isFloat reports whether T is float32 or float64.
func isFloat[T Elem]() bool {
	// Arithmetic, not a type switch: each shape's instance folds it to a
	// constant, where a type switch would consult the generic dictionary
	// on every call.
	var half T = 1
	half /= 2
	return half != 0
}
