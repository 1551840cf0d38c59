package elem

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/shmkit/shmkit/internal/errtext"
	"github.com/shmkit/shmkit/internal/layout"
	"github.com/shmkit/shmkit/shm"
)

// A Layout describes a record: a Go struct of fixed-size fields, as C lays
// it out. It is stored in every object that holds records (typecode T), so
// that C, Python and numpy can read the fields, and so that opening with a
// different struct fails with ErrTypeMismatch naming the field.
type Layout struct {
	TypeName string // the creator's name for the type; informative only
	Size     int    // bytes per record
	Align    int
	Fields   []Field // the leaves, in offset order
}

// A Field is one leaf of a record. A nested struct is flattened with dotted
// names ("Pos.X"), an array of structs with indexed ones ("Pts[1].X"); an
// array of scalars is one field with its Count. A field's name is its Go
// name, or the name in its `shmkit:"name"` tag. Blank (_) fields are padding
// and have no entry.
type Field struct {
	Name     string
	Typecode Typecode
	Offset   int
	Count    int // 1 for a scalar
}

// CodeStruct is the typecode of objects that hold records.
const CodeStruct Typecode = layout.TypecodeStruct

// namedScalars are the element types whose typecode is not their kind's.
var namedScalars = map[reflect.Type]Typecode{
	reflect.TypeFor[Char](): CodeChar, reflect.TypeFor[WChar](): CodeWChar,
	reflect.TypeFor[Long](): CodeLong, reflect.TypeFor[ULong](): CodeULong,
}

var kindCodes = map[reflect.Kind]Typecode{
	reflect.Int8: CodeByte, reflect.Uint8: CodeUByte, reflect.Int16: CodeShort, reflect.Uint16: CodeUShort,
	reflect.Int32: CodeInt, reflect.Uint32: CodeUInt, reflect.Int64: CodeLongLong, reflect.Uint64: CodeULongLong,
	reflect.Float32: CodeFloat, reflect.Float64: CodeDouble,
}

// scalarCode is t's typecode if t is one of the element types.
func scalarCode(t reflect.Type) (Typecode, bool) {
	if c, ok := namedScalars[t]; ok {
		return c, true
	}
	c, ok := kindCodes[t.Kind()]
	return c, ok
}

var layouts sync.Map // reflect.Type -> layoutResult

type layoutResult struct {
	l   Layout
	err error
}

// LayoutOf describes T, a struct whose fields are element types (int8 …
// float64, Char, WChar, Long, ULong), nested structs and fixed arrays of
// them. Anything else — int, bool, pointers, strings, slices, maps,
// interfaces — has no fixed meaning in another process and is refused with
// ErrUnsupportedType naming the field.
func LayoutOf[T any]() (Layout, error) { return layoutOf(reflect.TypeFor[T]()) }

func layoutOf(t reflect.Type) (Layout, error) {
	if r, ok := layouts.Load(t); ok {
		return r.(layoutResult).l, r.(layoutResult).err
	}
	l, err := describe(t)
	layouts.Store(t, layoutResult{l, err})
	return l, err
}

func describe(t reflect.Type) (Layout, error) {
	if t.Kind() != reflect.Struct {
		return Layout{}, errtext.Errorf("ctypes: %w: %v is not a struct", ErrUnsupportedType, t)
	}
	l := Layout{TypeName: t.Name(), Size: int(t.Size()), Align: t.Align()}
	if len(l.TypeName) >= len(layout.StructDesc{}.TypeName) {
		l.TypeName = l.TypeName[:len(layout.StructDesc{}.TypeName)-1]
	}
	for !utf8.ValidString(l.TypeName) {
		l.TypeName = l.TypeName[:len(l.TypeName)-1]
	}
	if l.Size == 0 {
		return Layout{}, errtext.Errorf("ctypes: %w: %v has no fields", ErrUnsupportedType, t)
	}
	if err := l.add(t, "", 0); err != nil {
		return Layout{}, errtext.Errorf("ctypes: %w: %v.%v", ErrUnsupportedType, t, err)
	}
	if len(l.Fields) == 0 || len(l.Fields) > layout.FieldsMax {
		return Layout{}, errtext.Errorf("ctypes: %w: %v has %d fields (1..%d)", ErrUnsupportedType, t, len(l.Fields), layout.FieldsMax)
	}
	seen := make(map[string]bool, len(l.Fields))
	for _, f := range l.Fields {
		if seen[f.Name] {
			return Layout{}, errtext.Errorf("ctypes: %w: %v has two fields named %q; rename one with a `shmkit:\"name\"` tag",
				ErrUnsupportedType, t, f.Name)
		}
		seen[f.Name] = true
	}
	return l, nil
}

// add appends the leaves of a value of type t at offset off named path.
func (l *Layout) add(t reflect.Type, path string, off int) error {
	if c, ok := scalarCode(t); ok {
		return l.leaf(path, c, off, 1)
	}
	switch t.Kind() {
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Name == "_" {
				continue // padding
			}
			name := f.Name
			if tag, ok := f.Tag.Lookup("shmkit"); ok && tag != "" {
				name = tag
			}
			if path != "" {
				name = path + "." + name
			}
			if err := l.add(f.Type, name, off+int(f.Offset)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Array:
		if c, ok := scalarCode(t.Elem()); ok && t.Len() > 0 {
			return l.leaf(path, c, off, t.Len())
		}
		for i := range t.Len() {
			if err := l.add(t.Elem(), fmt.Sprintf("%s[%d]", path, i), off+i*int(t.Elem().Size())); err != nil {
				return err
			}
		}
		return nil
	case reflect.Int, reflect.Uint, reflect.Uintptr:
		return errtext.Errorf("%s: %v has no fixed size across platforms; use int64 or int32", path, t)
	}
	return errtext.Errorf("%s: %v has no meaning in another process", path, t)
}

func (l *Layout) leaf(name string, c Typecode, off, count int) error {
	if len(name) > layout.FieldNameMax {
		return errtext.Errorf("%s: the name is longer than %d bytes; shorten it with a `shmkit:\"name\"` tag", name, layout.FieldNameMax)
	}
	l.Fields = append(l.Fields, Field{Name: name, Typecode: c, Offset: off, Count: count})
	return nil
}

// descBytes is the description as stored in an object: a StructDesc, then
// the fields.
func (l Layout) descBytes() []byte {
	d := layout.StructDesc{Size: uint32(l.Size), Align: uint32(l.Align), Fields: uint32(len(l.Fields))}
	copy(d.TypeName[:], l.TypeName)
	b := make([]byte, descSize+len(l.Fields)*fieldSize)
	*layout.At[layout.StructDesc](b, 0) = d
	for i, f := range l.Fields {
		r := layout.At[layout.Field](b, uint64(descSize+i*fieldSize))
		copy(r.Name[:], f.Name)
		r.Offset, r.Count, r.Typecode = uint32(f.Offset), uint32(f.Count), byte(f.Typecode)
	}
	return b
}

var (
	descSize  = int(reflect.TypeFor[layout.StructDesc]().Size())
	fieldSize = int(reflect.TypeFor[layout.Field]().Size())
)

// DescribedBy appends l's record description to an object of length
// bytes that is being made: it returns the object's new length and where the
// description starts (segment.Request's Length and Desc), and fill, which
// writes the description into the object's memory. Package channel uses it.
func DescribedBy(l Layout, length uint64) (newLength, desc uint64, fill func(mem []byte)) {
	desc, _ = layout.AlignUp(length)
	b := l.descBytes()
	return desc + uint64(len(b)), desc, func(mem []byte) { copy(mem[desc:], b) }
}

// RecordLayout reads and checks the description of an object of typecode
// T, which must start at or after end: the end of the object's data and
// lock, or of its ring. The segment is not trusted: anything out of place
// is shm.ErrCorrupt. A caller that learns where the data ends only from
// the layout's size reads it with end 0, then checks DescribedAfter.
func RecordLayout(obj shm.Object, end uint64) (Layout, error) {
	bad := func(why string, args ...any) (Layout, error) { return Layout{}, badDesc(obj, why, args...) }
	mem := obj.Bytes()
	if obj.Typecode != byte(CodeStruct) {
		return bad("typecode %q is not T", rune(obj.Typecode))
	}
	if err := DescribedAfter(obj, end); err != nil {
		return Layout{}, err
	}
	if obj.Desc == 0 || obj.Desc%layout.Align != 0 || obj.Desc > uint64(len(mem)) || uint64(len(mem))-obj.Desc < uint64(descSize) {
		return bad("at %d, outside the object's %d bytes", obj.Desc, len(mem))
	}
	l, _, err := parseDesc(mem[obj.Desc:], func(why string, args ...any) error { return badDesc(obj, why, args...) })
	return l, err
}

// ParseDesc reads and checks a record description at the start of b (a
// copy no other process changes, any alignment): the layout, and the bytes
// the description takes. Anything out of place is shm.ErrCorrupt.
func ParseDesc(b []byte) (Layout, int, error) {
	return parseDesc(b, func(why string, args ...any) error {
		return fmt.Errorf("%w: record description: %s", shm.ErrCorrupt, fmt.Sprintf(why, args...))
	})
}

// DescBytes is the description as stored: a StructDesc, then the fields.
func (l Layout) DescBytes() []byte { return l.descBytes() }

func parseDesc(mem []byte, badErr func(why string, args ...any) error) (Layout, int, error) {
	bad := func(why string, args ...any) (Layout, int, error) { return Layout{}, 0, badErr(why, args...) }
	if len(mem) < descSize {
		return bad("%d bytes, fewer than a description's %d", len(mem), descSize)
	}
	// Copy it out first: another process could change it while it is read.
	room := uint64(len(mem))
	var d layout.StructDesc
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&d)), descSize), mem)
	name, ok := layout.CString(d.TypeName[:])
	if !ok {
		return bad("unterminated type name")
	}
	l := Layout{TypeName: string(name), Size: int(d.Size), Align: int(d.Align)}
	switch {
	case d.Size == 0 || d.Align == 0 || d.Align > 8 || d.Align&(d.Align-1) != 0 || d.Size%d.Align != 0:
		return bad("size %d, align %d", d.Size, d.Align)
	case d.Fields == 0 || d.Fields > layout.FieldsMax || (room-uint64(descSize))/uint64(fieldSize) < uint64(d.Fields):
		return bad("%d fields", d.Fields)
	}
	names := make(map[string]bool, d.Fields)
	var prevEnd uint64 // where the field before ends: fields are in offset order and apart
	for i := range int(d.Fields) {
		var r layout.Field
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&r)), fieldSize), mem[descSize+i*fieldSize:])
		fname, ok := layout.CString(r.Name[:])
		c := Typecode(r.Typecode)
		switch {
		case !ok || len(fname) == 0 || !utf8.Valid(fname):
			return bad("field %d has a bad name", i)
		case names[string(fname)]:
			return bad("two fields are named %q", fname)
		case c.Size() == 0 || r.Count == 0 || int(r.Offset)%c.Size() != 0 ||
			uint64(r.Offset)+uint64(r.Count)*uint64(c.Size()) > uint64(d.Size):
			return bad("field %q: typecode %q, %d at %d in %d bytes", fname, rune(r.Typecode), r.Count, r.Offset, d.Size)
		case d.Size%uint32(c.Size()) != 0:
			// Aligned in the first record, misaligned in the next.
			return bad("field %q: %d-byte elements in records of %d bytes", fname, c.Size(), d.Size)
		case uint64(r.Offset) < prevEnd:
			return bad("field %q at %d: before the end of the field before it, at %d", fname, r.Offset, prevEnd)
		}
		names[string(fname)] = true
		prevEnd = uint64(r.Offset) + uint64(r.Count)*uint64(c.Size())
		l.Fields = append(l.Fields, Field{Name: string(fname), Typecode: c, Offset: int(r.Offset), Count: int(r.Count)})
	}
	return l, descSize + int(d.Fields)*fieldSize, nil
}

// DescribedAfter reports shm.ErrCorrupt unless the record description of
// obj starts at or after end, past its data and lock or its ring.
func DescribedAfter(obj shm.Object, end uint64) error {
	if obj.Desc < end {
		return badDesc(obj, "at %d, overlapping the object's first %d bytes of data", obj.Desc, end)
	}
	return nil
}

func badDesc(obj shm.Object, why string, args ...any) error {
	return errtext.Errorf("ctypes: %q: %w: record description: %s", obj.Name, shm.ErrCorrupt, fmt.Sprintf(why, args...))
}

// Match reports how got, an object's layout, differs from l: nil if they
// agree on size and on every field, else ErrTypeMismatch naming the first
// field that differs. Type names are not compared.
func Match(l, got Layout) error {
	mismatch := func(what string, args ...any) error {
		return errtext.Errorf("%w: %s", ErrTypeMismatch, fmt.Sprintf(what, args...))
	}
	for i := range max(len(l.Fields), len(got.Fields)) {
		switch {
		case i >= len(got.Fields):
			return mismatch("field %s is missing from the object's %s", l.Fields[i].Name, got.describe())
		case i >= len(l.Fields):
			return mismatch("the object's %s has field %s, which %s has not", got.describe(), got.Fields[i].Name, l.describe())
		case l.Fields[i].Name != got.Fields[i].Name:
			return mismatch("field %d is %s (%v) in %s, %s (%v) in the object's %s", i,
				l.Fields[i].Name, l.Fields[i], l.describe(), got.Fields[i].Name, got.Fields[i], got.describe())
		case l.Fields[i] != got.Fields[i]:
			return mismatch("field %s is %v in %s, %v in the object's %s",
				l.Fields[i].Name, l.Fields[i], l.describe(), got.Fields[i], got.describe())
		}
	}
	if l.Size != got.Size {
		return mismatch("%s is %d bytes, the object's %s %d", l.describe(), l.Size, got.describe(), got.Size)
	}
	return nil
}

func (l Layout) describe() string {
	if l.TypeName == "" {
		return "record"
	}
	return l.TypeName
}

// String shows a field as "q at 8" or "3×d at 16".
func (f Field) String() string {
	if f.Count == 1 {
		return fmt.Sprintf("%c at %d", f.Typecode, f.Offset)
	}
	return fmt.Sprintf("%d×%c at %d", f.Count, f.Typecode, f.Offset)
}

// String shows the layout as C would declare it.
func (l Layout) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "struct %s { ", l.describe())
	for _, f := range l.Fields {
		fmt.Fprintf(&b, "%s %s", f.Typecode.CType(), f.Name)
		if f.Count > 1 {
			fmt.Fprintf(&b, "[%d]", f.Count)
		}
		b.WriteString("; ")
	}
	fmt.Fprintf(&b, "} /* %d bytes */", l.Size)
	return b.String()
}

// ElemCode is the typecode, and for records the layout, of element type T:
// one of the element types, or a struct LayoutOf accepts. Package channel,
// whose Channel[T] carries either, uses it too.
func ElemCode[T any]() (Typecode, *Layout, error) {
	t := reflect.TypeFor[T]()
	if c, ok := scalarCode(t); ok {
		return c, nil, nil
	}
	l, err := layoutOf(t)
	if err != nil {
		return 0, nil, err
	}
	return CodeStruct, &l, nil
}
