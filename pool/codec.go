package pool

import (
	"encoding"
	"fmt"
	"reflect"
	"unsafe"
)

// A codec turns a task's input or output into the bytes that cross and
// back. Which one a type gets is decided once, when the task is registered.
type codec[T any] struct {
	enc func(b []byte, v T) ([]byte, error)
	dec func(b []byte) (T, error)
	// size, if not 0, says that every value encodes as its own memory,
	// size bytes: a slice of them is already its encoding, end to end.
	size int
}

// codecFor picks T's encoding: []byte and string as they are; plain
// values (numbers, bools, arrays and structs of them, nothing that points)
// as their memory; slices of plain values as their elements' memory; any
// other type that implements encoding.BinaryMarshaler, with
// BinaryUnmarshaler on its pointer, through those.
func codecFor[T any]() (codec[T], error) {
	if c, ok := refCodec[T](); ok { // an ArrayRef: only the reference crosses (ref.go)
		return c, nil
	}
	t := reflect.TypeFor[T]()
	if t.Implements(reflect.TypeFor[encoding.BinaryMarshaler]()) &&
		reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.BinaryUnmarshaler]()) {
		return codec[T]{
			enc: func(b []byte, v T) ([]byte, error) {
				m, err := any(v).(encoding.BinaryMarshaler).MarshalBinary()
				return append(b, m...), err
			},
			dec: func(b []byte) (T, error) {
				var v T
				err := any(&v).(encoding.BinaryUnmarshaler).UnmarshalBinary(b)
				return v, err
			},
		}, nil
	}
	switch {
	case t.Kind() == reflect.String:
		return codec[T]{
			enc: func(b []byte, v T) ([]byte, error) { return append(b, *(*string)(unsafe.Pointer(&v))...), nil },
			dec: func(b []byte) (T, error) {
				var v T
				*(*string)(unsafe.Pointer(&v)) = string(b)
				return v, nil
			},
		}, nil
	case plain(t):
		size := int(t.Size())
		return codec[T]{
			enc: func(b []byte, v T) ([]byte, error) {
				return append(b, unsafe.Slice((*byte)(unsafe.Pointer(&v)), size)...), nil
			},
			dec: func(b []byte) (T, error) {
				var v T
				if len(b) != size {
					return v, fmt.Errorf("%w: %d bytes for a %v of %d", ErrProtocol, len(b), t, size)
				}
				copy(unsafe.Slice((*byte)(unsafe.Pointer(&v)), size), b)
				return v, nil
			},
			size: size,
		}, nil
	case t.Kind() == reflect.Slice && plain(t.Elem()):
		esize := int(t.Elem().Size())
		return codec[T]{
			enc: func(b []byte, v T) ([]byte, error) {
				rv := reflect.ValueOf(v)
				if rv.Len() == 0 || esize == 0 {
					return b, nil
				}
				return append(b, unsafe.Slice((*byte)(rv.UnsafePointer()), rv.Len()*esize)...), nil
			},
			dec: func(b []byte) (T, error) {
				var zero T
				if esize == 0 || len(b)%esize != 0 {
					if len(b) == 0 {
						return zero, nil
					}
					return zero, fmt.Errorf("%w: %d bytes for elements of %d", ErrProtocol, len(b), esize)
				}
				n := len(b) / esize
				rv := reflect.MakeSlice(t, n, n)
				if n > 0 {
					copy(unsafe.Slice((*byte)(rv.UnsafePointer()), len(b)), b)
				}
				return rv.Interface().(T), nil
			},
		}, nil
	}
	return codec[T]{}, fmt.Errorf("%w: %v (use []byte, a string, numbers, arrays and structs of them, slices of those, or an encoding.BinaryMarshaler)", ErrUnsupportedType, t)
}

// plain reports whether a value of t is all of its memory: no pointers,
// no padding that means anything, the same in every process of this
// program.
func plain(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return plain(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !plain(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}
