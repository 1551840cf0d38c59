package dict

// The encoding every language shares (shmkit.h's SHMKIT_TAG_*): each key
// and value is a tag and bytes.
//
//	NONE    0  no bytes                          Go nil       Python None
//	BOOL    1  1 byte, 0 or 1 (others refused)   bool         bool
//	INT     2  int64, 8 bytes little-endian     int64        int (else pickled)
//	FLOAT   3  binary64, 8 bytes little-endian  float64      float
//	STR     4  UTF-8                             string       str
//	BYTES   5  any bytes                         []byte       bytes
//	PICKLE  6  a Python pickle                   Pickled      any other object
//	RECORD  7  a record: its description         Record,      numpy structured
//	           (struct shmkit_struct_desc and    RecordMap's  scalar, or a
//	           its field records, as a record    R            ctypes.Structure
//	           object carries), then the record
//
// RECORD is a value only, never a key; the C library refuses one whose
// description is not valid or whose length is not the description's plus
// one record. Keys are equal when tag and bytes are.

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"unsafe"

	"github.com/shmkit/shmkit/internal/elem"
	"github.com/shmkit/shmkit/internal/layout"
)

// Tags of the encoding (shmkit.h's SHMKIT_TAG_*).
const (
	tagNone   = layout.TagNone
	tagBool   = layout.TagBool
	tagInt    = layout.TagInt
	tagFloat  = layout.TagFloat
	tagStr    = layout.TagStr
	tagBytes  = layout.TagBytes
	tagPickle = layout.TagPickle
	tagRecord = layout.TagRecord
	tagAbsent = layout.TagAbsent
)

// Pickled is a Python object stored pickled: Go keeps its bytes.
type Pickled []byte

// stringBytes is s's bytes without a copy: the C library only reads keys
// and values passed to it, and nothing here writes them.
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

func intBytes(v int64) []byte { return binary.LittleEndian.AppendUint64(make([]byte, 0, 8), uint64(v)) }

// encode gives v's tag and bytes. Unsigned integers are stored as int64
// (a uint64 above MaxInt64 reads back as a negative int64 elsewhere).
func encode(v any) (int, []byte, error) {
	switch x := v.(type) {
	case nil:
		return tagNone, nil, nil
	case string:
		return tagStr, stringBytes(x), nil
	case []byte:
		if x == nil {
			x = []byte{}
		}
		return tagBytes, x, nil
	case Pickled:
		return tagPickle, []byte(x), nil
	case Record:
		desc := x.Layout.DescBytes()
		if _, _, err := elem.ParseDesc(desc); err != nil {
			return 0, nil, fmt.Errorf("%w: %w", ErrType, err)
		}
		if len(x.Data) != x.Layout.Size {
			return 0, nil, fmt.Errorf("%w: a record of %d bytes, its layout's size %d", ErrType, len(x.Data), x.Layout.Size)
		}
		return tagRecord, encodeRecord(desc, x.Data), nil
	case int64:
		return tagInt, intBytes(x), nil
	case int:
		return tagInt, intBytes(int64(x)), nil
	case float64:
		return tagFloat, binary.LittleEndian.AppendUint64(nil, math.Float64bits(x)), nil
	case bool:
		if x {
			return tagBool, []byte{1}, nil
		}
		return tagBool, []byte{0}, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return tagStr, []byte(rv.String()), nil
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return tagBytes, rv.Bytes(), nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return tagInt, intBytes(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return tagInt, intBytes(int64(rv.Uint())), nil
	case reflect.Float32, reflect.Float64:
		return tagFloat, binary.LittleEndian.AppendUint64(nil, math.Float64bits(rv.Float())), nil
	case reflect.Bool:
		return encode(rv.Bool())
	}
	return 0, nil, fmt.Errorf("%w: %T", ErrType, v)
}

// decode is the Go value of a tag and bytes: nil, bool, int64, float64,
// string, []byte, Pickled or Record.
func decode(tag int, b []byte) (any, error) {
	switch tag {
	case tagNone:
		return nil, nil
	case tagBool:
		if len(b) == 1 && b[0] <= 1 {
			return b[0] == 1, nil
		}
	case tagInt:
		if len(b) == 8 {
			return int64(binary.LittleEndian.Uint64(b)), nil
		}
	case tagFloat:
		if len(b) == 8 {
			return math.Float64frombits(binary.LittleEndian.Uint64(b)), nil
		}
	case tagStr:
		return string(b), nil
	case tagBytes:
		return append([]byte{}, b...), nil
	case tagPickle:
		return Pickled(append([]byte{}, b...)), nil
	case tagRecord:
		return decodeRecord(b)
	}
	return nil, fmt.Errorf("%w: tag %d with %d bytes", ErrType, tag, len(b))
}

// decodeAs converts a decoded value into a T, as a typed Map reads it.
func decodeAs[T any](tag int, b []byte) (T, error) {
	var zero T
	switch p := any(&zero).(type) {
	case *string:
		if tag == tagStr || tag == tagBytes {
			*p = string(b)
			return zero, nil
		}
	case *[]byte:
		if tag == tagBytes || tag == tagStr || tag == tagPickle {
			*p = append([]byte{}, b...)
			return zero, nil
		}
	case *int64:
		if tag == tagInt && len(b) == 8 {
			*p = int64(binary.LittleEndian.Uint64(b))
			return zero, nil
		}
	case *float64:
		if tag == tagFloat && len(b) == 8 {
			*p = math.Float64frombits(binary.LittleEndian.Uint64(b))
			return zero, nil
		}
	}
	return decodeOther[T](tag, b)
}

// decodeOther is decodeAs for the other types, by reflection: apart, so
// that decodeAs's result need not live on the heap.
func decodeOther[T any](tag int, b []byte) (T, error) {
	var zero T
	v, err := decode(tag, b)
	if err != nil {
		return zero, err
	}
	rv := reflect.ValueOf(&zero).Elem()
	switch rv.Kind() {
	case reflect.String:
		if s, ok := v.(string); ok {
			rv.SetString(s)
			return zero, nil
		}
		if bs, ok := v.([]byte); ok {
			rv.SetString(string(bs))
			return zero, nil
		}
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			switch x := v.(type) {
			case []byte:
				rv.SetBytes(x)
				return zero, nil
			case Pickled:
				rv.SetBytes(x)
				return zero, nil
			case string:
				rv.SetBytes([]byte(x))
				return zero, nil
			}
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if i, ok := v.(int64); ok && !rv.OverflowInt(i) {
			rv.SetInt(i)
			return zero, nil
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if i, ok := v.(int64); ok && (rv.Kind() == reflect.Uint64 || rv.Kind() == reflect.Uint || rv.Kind() == reflect.Uintptr || (i >= 0 && !rv.OverflowUint(uint64(i)))) {
			rv.SetUint(uint64(i))
			return zero, nil
		}
	case reflect.Float32, reflect.Float64:
		switch x := v.(type) {
		case float64:
			if rv.OverflowFloat(x) { // past a float32's range; infinities are not
				break
			}
			rv.SetFloat(x)
			return zero, nil
		case int64:
			rv.SetFloat(float64(x))
			return zero, nil
		}
	case reflect.Bool:
		if x, ok := v.(bool); ok {
			rv.SetBool(x)
			return zero, nil
		}
	case reflect.Interface:
		if v == nil {
			return zero, nil
		}
		if reflect.TypeOf(v).AssignableTo(rv.Type()) {
			rv.Set(reflect.ValueOf(v))
			return zero, nil
		}
	}
	return zero, fmt.Errorf("%w: a stored %T cannot be read as %T", ErrType, v, zero)
}
