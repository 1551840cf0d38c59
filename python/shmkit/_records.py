"""Records: values, arrays and channels whose elements are C structs
(typecode 'T'). Each such object carries its layout (struct
shmkit_struct_desc and its fields); from it this module builds a numpy
dtype, or a ctypes.Structure when numpy is not installed, and back."""

import collections
import ctypes
import errno
import itertools

from . import _errors
from . import _native as n

STRUCT = "T"

Field = collections.namedtuple("Field", "name typecode offset count")
Layout = collections.namedtuple("Layout", "type_name size align fields")

_CTYPE = {"c": ctypes.c_char, "b": ctypes.c_int8, "B": ctypes.c_uint8, "h": ctypes.c_int16,
          "H": ctypes.c_uint16, "i": ctypes.c_int32, "I": ctypes.c_uint32, "l": ctypes.c_int64,
          "L": ctypes.c_uint64, "q": ctypes.c_int64, "Q": ctypes.c_uint64, "f": ctypes.c_float,
          "d": ctypes.c_double, "u": ctypes.c_uint32}
_NUMPY = {"c": "S1", "b": "i1", "B": "u1", "h": "<i2", "H": "<u2", "i": "<i4", "I": "<u4", "l": "<i8",
          "L": "<u8", "q": "<i8", "Q": "<u8", "f": "<f4", "d": "<f8", "u": "<U1"}
# A numpy base type (kind, itemsize) back to its typecode.
_FROM_NUMPY = {("i", 1): "b", ("u", 1): "B", ("i", 2): "h", ("u", 2): "H", ("i", 4): "i", ("u", 4): "I",
               ("i", 8): "q", ("u", 8): "Q", ("f", 4): "f", ("f", 8): "d", ("S", 1): "c", ("U", 4): "u"}
# ctypes types back to typecodes (c_long is c_int64 here, so 'q' stands for both).
_FROM_CTYPE = {t: tc for tc, t in _CTYPE.items() if tc not in "lLu"}
_FROM_CTYPE[ctypes.c_wchar] = "u"


def numpy():
    """The numpy module, or None if it is not installed."""
    try:
        import numpy as np
    except ImportError:
        return None
    return np


def _desc_buffer(fields):
    class Desc(ctypes.Structure):
        _fields_ = [("desc", n.StructDesc), ("fields", n.Field * fields)]
    return Desc()


def layout_of(o):
    """The layout of a looked-up object of typecode 'T', read from a private
    copy of its description that the C library made and checked (another
    process may be changing the segment's while it is read). CorruptError
    if the copy is not valid or describes records of another size than the
    lookup found."""
    what = "record description of %r" % o.name.decode("utf-8", "replace")
    for fields in (16, n.FIELDS_MAX):
        buf = _desc_buffer(fields)
        rc = n.lib.shmkit_object_desc(ctypes.byref(o), ctypes.byref(buf), ctypes.sizeof(buf))
        if rc != errno.ERANGE:
            break
    _errors.check(rc, what)
    d = buf.desc
    fields = [Field(r.name.decode("utf-8"), chr(r.typecode), r.offset, r.count) for r in buf.fields[:d.fields]]
    return Layout(d.type_name.decode("utf-8", "replace"), d.size, d.align, fields)


def dtype(layout):
    """The numpy dtype of a layout: names, formats, offsets and itemsize."""
    np = numpy()
    formats = [_NUMPY[f.typecode] if f.count == 1 else (_NUMPY[f.typecode], (f.count,)) for f in layout.fields]
    try:
        return np.dtype({"names": [f.name for f in layout.fields], "formats": formats,
                         "offsets": [f.offset for f in layout.fields], "itemsize": layout.size})
    except (TypeError, ValueError) as e:
        raise _errors.CorruptError("record %s: numpy refuses its layout: %s" % (layout.type_name, e)) from None


def _ctypes_name_ok(name):
    """Whether ctypes can hold a field of that name as an attribute: not a
    name ctypes or Python give a meaning (_fields_, __init__, _objects)."""
    return not (name.startswith("_") and name.endswith("_")) and name not in ("_objects", "_b_needsfree_")


def structure(layout):
    """A ctypes.Structure subclass with the layout's fields (dotted names
    are attribute names: getattr(rec, "Pos.X")) and padding where no field is."""
    names = {f.name for f in layout.fields}
    for name in names:
        if not _ctypes_name_ok(name):
            raise _errors.CorruptError("record %s: field %r cannot be a ctypes attribute (numpy reads it)"
                                       % (layout.type_name, name))
    pads = ("_pad%d" % i for i in itertools.count())
    fields, at = [], 0
    for f in sorted(layout.fields, key=lambda f: f.offset):
        if f.offset < at:
            raise _errors.CorruptError("record %s: field %r overlaps the one before" % (layout.type_name, f.name))
        if f.offset > at:
            fields.append((next(p for p in pads if p not in names), ctypes.c_uint8 * (f.offset - at)))
        t = _CTYPE[f.typecode]
        fields.append((f.name, t if f.count == 1 else t * f.count))
        at = f.offset + ctypes.sizeof(t) * f.count
    if at < layout.size:
        fields.append((next(p for p in pads if p not in names), ctypes.c_uint8 * (layout.size - at)))
    try:
        cls = type(layout.type_name or "Record", (ctypes.Structure,), {"_fields_": fields})
    except (TypeError, ValueError, AttributeError) as e:
        raise _errors.CorruptError("record %s: ctypes refuses its layout: %s" % (layout.type_name, e)) from None
    if ctypes.sizeof(cls) != layout.size:
        raise _errors.CorruptError("record %s: %d bytes as a ctypes.Structure, %d in the segment" % (
            layout.type_name, ctypes.sizeof(cls), layout.size))
    return cls


class _Frozen(tuple):
    """An array field of a read-only record: a copy that refuses writes."""

    def __setitem__(self, i, v):
        raise _errors.ReadOnlyError("the segment is attached read-only")


def _frozen(v):
    return _Frozen(v) if isinstance(v, ctypes.Array) else v  # a char array is bytes already


def _read_only(cls, count):
    """count records of structure cls, copied, whose writes raise
    ReadOnlyError, as Go's writes to a read-only attach do."""
    def refuse(self, *args):
        raise _errors.ReadOnlyError("the segment is attached read-only: these records are a copy, taken when read")
    ns = {"__setattr__": refuse, "__slots__": ()}
    for name, t in cls._fields_:
        if issubclass(t, ctypes.Array):
            ns[name] = property(lambda self, d=cls.__dict__[name]: _frozen(d.__get__(self, type(self))))
    record = type(cls.__name__, (cls,), ns)
    return type("ReadOnlyRecords", (record * count,), {"__setitem__": refuse})


def view(mem, layout, count, readonly=False):
    """count records over the buffer mem, in place: a numpy structured
    array (read-only if mem is), or a ctypes array of structure(layout)
    without numpy. ctypes cannot view read-only memory: with readonly it
    gives a copy whose writes raise ReadOnlyError."""
    np = numpy()
    if np is not None:
        return np.frombuffer(mem, dtype=dtype(layout), count=count)
    cls = structure(layout)
    if readonly:
        return _read_only(cls, count).from_buffer_copy(mem)
    return (cls * count).from_buffer(mem)


def _join(path, name):
    return name if not path else path + "." + name


def _numpy_leaves(t, path, base, out):
    """Appends the leaves of numpy dtype t, at base, as Fields."""
    if t.names:
        for name in t.names:
            sub, off = t.fields[name][:2]
            _numpy_leaves(sub, _join(path, name), base + off, out)
    elif t.shape:
        count = 1
        for d in t.shape:
            count *= d
        if t.base.names:
            for i in range(count):
                _numpy_leaves(t.base, "%s[%d]" % (path, i), base + i * t.base.itemsize, out)
        else:
            out.append(Field(path, _numpy_code(t.base), base, count))
    else:
        out.append(Field(path, _numpy_code(t), base, 1))


def _ctypes_leaves(t, path, base, out):
    """Appends the leaves of ctypes type t, at base, as Fields."""
    if isinstance(t, type) and issubclass(t, ctypes.Structure):
        for f in t._fields_:
            _ctypes_leaves(f[1], _join(path, f[0]), base + getattr(t, f[0]).offset, out)
    elif isinstance(t, type) and issubclass(t, ctypes.Array):
        if t._type_ in _FROM_CTYPE:
            out.append(Field(path, _FROM_CTYPE[t._type_], base, t._length_))
        else:
            for i in range(t._length_):
                _ctypes_leaves(t._type_, "%s[%d]" % (path, i), base + i * ctypes.sizeof(t._type_), out)
    elif t in _FROM_CTYPE:
        out.append(Field(path, _FROM_CTYPE[t], base, 1))
    else:
        raise TypeError("record field %s: %r has no typecode" % (path, t))


def _numpy_code(t):
    code = _FROM_NUMPY.get((t.kind, t.itemsize))
    if code is None:
        raise TypeError("numpy type %s has no typecode" % t)
    return code


def layout_from(t):
    """The layout of a numpy structured dtype or a ctypes.Structure class."""
    np = numpy()
    out = []
    if isinstance(t, type) and issubclass(t, ctypes.Structure):
        size, align, name = ctypes.sizeof(t), ctypes.alignment(t), t.__name__
        _ctypes_leaves(t, "", 0, out)
    elif np is not None:
        t = np.dtype(t)
        if not t.names:
            raise TypeError("%s is not a structured dtype" % t)
        size, align, name = t.itemsize, max(t.alignment, 1), "record"
        _numpy_leaves(t, "", 0, out)
    else:
        raise TypeError("a record type is a ctypes.Structure (or, with numpy, a structured dtype), not %r" % (t,))
    return Layout(name[:47], size, align, sorted(out, key=lambda f: f.offset))


def encode(layout):
    """The layout as a struct shmkit_struct_desc and its fields, in a ctypes
    buffer for the C library (which checks it)."""
    class Desc(ctypes.Structure):
        _fields_ = [("desc", n.StructDesc), ("fields", n.Field * len(layout.fields))]
    d = Desc()
    d.desc.type_name = layout.type_name.encode()[:47]
    d.desc.size, d.desc.align, d.desc.fields = layout.size, layout.align, len(layout.fields)
    for rec, f in zip(d.fields, layout.fields):
        if len(f.name.encode()) > 47:
            raise ValueError("record field name %r is longer than 47 bytes" % f.name)
        rec.name = f.name.encode()
        rec.offset, rec.count, rec.typecode = f.offset, f.count, ord(f.typecode)
    return d
