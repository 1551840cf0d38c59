package ctypes

import (
	"github.com/shmkit/shmkit/internal/elem"
)

// The typecodes and record layouts are package internal/elem's, which
// package channel shares without depending on ctypes' locks; the names
// below are the same types and values.

// A Typecode is one of Python's array/ctypes typecodes. Its methods: Size
// (bytes per element, 0 if invalid), CType (the C type), IsFloat, IsSigned
// (c counts as unsigned, as on Linux arm64 and as Python's bytes) and
// String.
type Typecode = elem.Typecode

// The typecodes, with the C type each stands for on Linux x86-64 and arm64.
const (
	CodeChar      = elem.CodeChar      // char
	CodeByte      = elem.CodeByte      // signed char
	CodeUByte     = elem.CodeUByte     // unsigned char
	CodeWChar     = elem.CodeWChar     // wchar_t, UTF-32
	CodeShort     = elem.CodeShort     // short
	CodeUShort    = elem.CodeUShort    // unsigned short
	CodeInt       = elem.CodeInt       // int
	CodeUInt      = elem.CodeUInt      // unsigned int
	CodeLong      = elem.CodeLong      // long
	CodeULong     = elem.CodeULong     // unsigned long
	CodeLongLong  = elem.CodeLongLong  // long long
	CodeULongLong = elem.CodeULongLong // unsigned long long
	CodeFloat     = elem.CodeFloat     // float
	CodeDouble    = elem.CodeDouble    // double

	// CodeStruct is the typecode of objects that hold records.
	CodeStruct = elem.CodeStruct
)

// ParseTypecode checks a typecode character.
func ParseTypecode(c byte) (Typecode, error) { return elem.ParseTypecode(c) }

// Char is a C char, typecode c: one byte of a byte string.
type Char = elem.Char

// WChar is a C wchar_t on Linux, typecode u: one UTF-32 code point.
type WChar = elem.WChar

// Long is a C long on 64-bit Linux, typecode l.
type Long = elem.Long

// ULong is a C unsigned long on 64-bit Linux, typecode L.
type ULong = elem.ULong

// A Layout describes a record: a Go struct of fixed-size fields, as C lays
// it out (TypeName, the creator's name for the type, informative only;
// Size, bytes per record; Align; Fields, the leaves in offset order). It
// is stored in every object that holds records (typecode T), so that C,
// Python and numpy can read the fields, and so that opening with a
// different struct fails with ErrTypeMismatch naming the field. String
// shows it as C would declare it.
type Layout = elem.Layout

// A Field is one leaf of a record (Name, Typecode, Offset, and Count, 1 for
// a scalar). A nested struct is flattened with dotted names ("Pos.X"), an
// array of structs with indexed ones ("Pts[1].X"); an array of scalars is
// one field with its Count. A field's name is its Go name, or the name in
// its `shmkit:"name"` tag. Blank (_) fields are padding and have no entry.
type Field = elem.Field

// LayoutOf describes T, a struct whose fields are element types (int8 …
// float64, Char, WChar, Long, ULong), nested structs and fixed arrays of
// them. Anything else — int, bool, pointers, strings, slices, maps,
// interfaces — has no fixed meaning in another process and is refused with
// ErrUnsupportedType naming the field.
func LayoutOf[T any]() (Layout, error) { return elem.LayoutOf[T]() }

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
