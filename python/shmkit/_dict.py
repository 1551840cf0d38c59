"""Shared dicts and lists: seg.dict(name), seg.list(name), seg.new_dict(name),
seg.new_list(name). The C library holds the one implementation; this module
encodes Python values in the tagged encoding every language reads
(shmkit.h: SHMKIT_TAG_*)."""

import collections.abc
import ctypes
import errno
import io
import operator
import os
import pickle
import struct
import threading

from . import _errors
from . import _native as n
from . import _records

NONE, BOOL, INT, FLOAT, STR, BYTES, PICKLE, RECORD = range(8)
ABSENT = 255
_Q = struct.Struct("<q")
_D = struct.Struct("<d")
_pack_q, _unpack_q = _Q.pack, _Q.unpack_from
_INT_MIN, _INT_MAX = -(1 << 63), (1 << 63) - 1
_UINT64_MAX = (1 << 64) - 1
_TRUE, _FALSE = b"\x01", b"\x00"


class Pickled:
    """A stored pickle this process cannot unpickle (bytes that are not a
    pickle, or of a class it lacks), as a dict key: its bytes, as Go's
    dict.Pickled, so that iterating the dict goes on and the key is still
    found and deleted by it."""

    __slots__ = ("data",)

    def __init__(self, data):
        self.data = bytes(data)

    def __eq__(self, other):
        return type(other) is Pickled and other.data == self.data

    def __hash__(self):
        return hash((Pickled, self.data))

    def __repr__(self):
        return "shmkit.Pickled(%r)" % (self.data,)


def encode(v):
    """v as (tag, bytes). A ctypes.Structure or numpy structured scalar is a
    RECORD; int beyond int64 and every other type is pickled."""
    t = type(v)
    if t is str:
        try:
            return STR, v.encode()
        except UnicodeEncodeError:
            return _encode_escaped(v)
    elif t is int:
        if -(1 << 63) <= v < (1 << 63):
            return INT, _Q.pack(v)
    elif t is float:
        return FLOAT, _D.pack(v)
    elif t is bool:
        return BOOL, _TRUE if v else _FALSE
    elif v is None:
        return NONE, b""
    elif t is bytes:
        return BYTES, v
    elif t is Pickled:
        return PICKLE, v.data
    elif t in (bytearray, memoryview):
        return BYTES, bytes(v)
    elif isinstance(v, ctypes.Structure):
        return RECORD, _record_desc(t) + bytes(v)
    elif t.__module__ == "numpy" and getattr(getattr(v, "dtype", None), "names", None):
        if getattr(v, "shape", ()) == ():  # a structured scalar, not an array of records
            return RECORD, _record_desc(v.dtype) + v.tobytes()
    return PICKLE, pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL)


def _encode_escaped(v):
    """A str with lone surrogates: STR with the bytes surrogateescape gives
    if decoding them gives v back (a string read from bytes that are not
    UTF-8, as Go may store), so that it finds the same key; else pickled,
    as two strings must not share bytes ("\\udcc3\\udca9" is not "é")."""
    try:
        b = v.encode("utf-8", "surrogateescape")
        if b.decode("utf-8", "surrogateescape") == v:
            return STR, b
    except UnicodeError:
        pass
    return PICKLE, pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL)


def encode_key(k):
    """encode for a key: TypeError if k is unhashable, as a dict's key; a
    pickled key's bytes depend on its value alone (_key_pickle)."""
    if type(k) is int and _INT_MIN <= k <= _INT_MAX:  # the common key in line: one call, as encode
        return INT, _pack_q(k)
    t, b = encode(k)
    if t == RECORD:
        raise TypeError("a record is a value, never a key: %s" % type(k).__name__)
    if t == PICKLE and type(k) is not int and type(k) is not Pickled:
        hash(k)
        seen = {}
        k = _canonical(k, seen)
        b = _key_pickle(k, any(t is frozenset for t, _ in seen))
    return t, b


def _legacy_key(k):
    """How the build before surrogateescape keys stored the str k, if it
    stores k otherwise now: a str with lone surrogates that surrogateescape
    encodes was pickled then, and a heap outlives a build in /dev/shm."""
    if type(k) is not str or k.isascii():
        return None
    try:
        k.encode()
        return None
    except UnicodeEncodeError:
        pass
    t, _ = _encode_escaped(k)
    return (PICKLE, _key_pickle(k, False)) if t == STR else None


def _canonical(k, seen):
    """k with one object for each equal str, bytes, tuple and frozenset in
    it: pickle writes an object met again as a reference to the first, so
    by identity, and two equal keys pickled differently."""
    t = type(k)
    if t is str or t is bytes:
        return seen.setdefault((t, k), k)
    if t is tuple or t is frozenset:
        items = t(_canonical(x, seen) for x in k)
        return seen.setdefault((t, t(_ident(x) for x in items)), items)
    return k


def _ident(x):
    # What tells x from every other value in _canonical's keys: the object
    # itself for those _canonical made one of, the exact bits of a float.
    t = type(x)
    if t in (str, bytes, tuple, frozenset):
        return id(x)
    if t is float:
        return t, x.hex()
    if t in (int, bool) or x is None:
        return t, x
    return id(x)


class _KeyPickler(pickle._Pickler):
    """The pure-Python pickler (which writes the bytes the C one does),
    writing a frozenset's items sorted by their own pickles, not in hash
    order, which changes with each interpreter's hash seed. The C pickler
    lets no one change how it writes a frozenset."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_frozenset(self, obj):
        if self.proto < 4:
            self.save_reduce(frozenset, (sorted(obj, key=_key_pickle),), obj=obj)
            return
        self.write(pickle.MARK)
        for item in sorted(obj, key=_key_pickle):
            self.save(item)
        if id(obj) in self.memo:  # an item held obj: refer to it
            self.write(pickle.POP_MARK + self.get(self.memo[id(obj)][0]))
            return
        self.write(pickle.FROZENSET)
        self.memoize(obj)

    dispatch[frozenset] = save_frozenset


def _key_pickle(k, sets=True):
    if not sets:
        return pickle.dumps(k, protocol=pickle.HIGHEST_PROTOCOL)
    f = io.BytesIO()
    _KeyPickler(f, protocol=pickle.HIGHEST_PROTOCOL).dump(k)
    return f.getvalue()


_descs = {}      # a ctypes.Structure class or numpy dtype -> its description's bytes
_readers = {}    # a description's bytes -> a function from a record's bytes to its value


def _record_desc(t):
    """The description stored before a record of type t (a ctypes.Structure
    class or a numpy structured dtype), as a record object carries it."""
    d = _descs.get(t)
    if d is None:
        d = _descs[t] = bytes(_records.encode(_records.layout_from(t)))
    return d


def _record_reader(b):
    """The number of description bytes at the start of b, a RECORD value,
    and the function that makes the value of the record after it: a numpy
    structured scalar, or a ctypes.Structure without numpy. The C library
    checks the description (CorruptError if it is not valid)."""
    head = n.StructDesc.from_buffer_copy(b[:ctypes.sizeof(n.StructDesc)]) if len(b) >= 64 else None
    if head is None or not 0 < head.fields <= n.FIELDS_MAX:
        raise _errors.CorruptError("a record value without a valid description")
    size = ctypes.sizeof(n.StructDesc) + head.fields * ctypes.sizeof(n.Field)
    desc = bytes(b[:size])
    got = _readers.get(desc)
    if got is not None:
        return size, got
    buf = ctypes.create_string_buffer(desc, len(desc))
    if len(b) < size or n.lib.shmkit_struct_size(buf) != head.size:
        raise _errors.CorruptError("a record value without a valid description")
    fields = (n.Field * head.fields).from_buffer_copy(desc, ctypes.sizeof(n.StructDesc))
    layout = _records.Layout(head.type_name.decode("utf-8", "replace"), head.size, head.align,
                             [_records.Field(f.name.decode(), chr(f.typecode), f.offset, f.count) for f in fields])
    np = _records.numpy()
    if np is not None:
        t = _records.dtype(layout)
        reader = lambda data: np.frombuffer(bytearray(data), dtype=t)[0]  # noqa: E731 (writable, as ctypes')
    else:
        t = _records.structure(layout)
        reader = t.from_buffer_copy
    _descs[t] = desc  # stored back as it came, without the padding fields ctypes needs
    if len(_readers) < 256:
        _readers[desc] = reader
    return size, reader


def _decode_record(b):
    size, reader = _record_reader(b)
    data = b[size:]
    if len(data) != n.StructDesc.from_buffer_copy(b[:64]).size:
        raise _errors.CorruptError("a record value of %d bytes after its description" % len(data))
    return reader(data)


# The length each fixed-size tag's bytes must have.
_FIXED = {NONE: 0, BOOL: 1, INT: 8, FLOAT: 8}
_INT8 = 8 << 8 | INT  # shmkit_dict_lookup's result for an int


def decode(tag, b):
    if _FIXED.get(tag, len(b)) != len(b):
        raise _errors.CorruptError("a value of tag %d with %d bytes" % (tag, len(b)))
    if tag == INT:
        return _Q.unpack(b)[0]
    if tag == STR:
        return b.decode("utf-8", "surrogateescape")
    if tag == FLOAT:
        return _D.unpack(b)[0]
    if tag == BYTES:
        return b
    if tag == BOOL:
        if b == _TRUE:
            return True
        if b == _FALSE:
            return False
        raise _errors.CorruptError("a bool of byte %r" % b)
    if tag == NONE:
        return None
    if tag == PICKLE:
        try:
            return pickle.loads(b)
        except Exception as e:  # bytes that are not a pickle, or of a class this process lacks
            raise _errors.CorruptError("a pickled value that does not unpickle here: %s: %s"
                                       % (type(e).__name__, e)) from e
    if tag == RECORD:
        return _decode_record(b)
    raise _errors.CorruptError("unknown tag %d" % tag)


def decode_key(tag, b):
    """decode for a stored key: a pickle that does not load here is
    Pickled, so that one foreign key does not stop a walk of the dict."""
    if tag == PICKLE:
        try:
            return pickle.loads(b)
        except Exception:
            return Pickled(b)
    return decode(tag, b)


def decode_from(tag, size, buf):
    """decode of the first size bytes of buf (a ctypes buffer), reading
    numbers in place rather than through a bytes copy."""
    if tag == INT and size == 8:
        return _Q.unpack_from(buf)[0]
    if tag == STR:
        return buf[:size].decode("utf-8", "surrogateescape")
    if tag == FLOAT and size == 8:
        return _D.unpack_from(buf)[0]
    return decode(tag, buf[:size])


def encode_items(initial, pairs):
    """The encoded keys and values of initial (pairs: a mapping, or pairs
    as dict.update takes; else values, as list.extend takes), all encoded
    before a new dict or list is made, so that a bad one makes nothing."""
    if not pairs:
        return [encode(v) for v in initial]
    if hasattr(initial, "keys"):  # a mapping, as dict.update takes it
        items = [(k, initial[k]) for k in initial.keys()]
    else:
        items = [(k, v) for k, v in initial]
    return [encode_key(k) + encode(v) for k, v in items]


class _Buffers(threading.local):
    """Per-thread buffers for values read out (ctypes calls drop the GIL)."""

    def __init__(self):
        self.tag = ctypes.c_int()
        self.len = ctypes.c_uint64()
        self.sum = ctypes.c_int64()
        self.sum_ref = ctypes.byref(self.sum)
        self.resize(256)

    def resize(self, size):
        self.size = size
        self.buf = ctypes.create_string_buffer(size)
        self.tag_ref = ctypes.byref(self.tag)
        self.len_ref = ctypes.byref(self.len)


class _Handle:
    """The C library's handle (struct shmkit_dict *) on a dict or list."""

    def __init__(self, seg, name, kind):
        self.name = name
        self._h = ctypes.c_void_p()
        o = seg._lookup(name, kind)
        self._check(n.lib.shmkit_dict_attach(o.data, o.length, int(seg.readonly), ctypes.byref(self._h)), "open")
        self._ref = ctypes.string_at(o.data, o.length)  # for unlink after the segment is closed
        self._b = _Buffers()

    def _check(self, rc, what):
        if rc == n.EKIND and what in ("add",):
            raise TypeError("%s: %r holds a value that is not an int" % (self.name, what))
        if rc == errno.EBADF:
            raise _errors.ReadOnlyError("dict %s is attached read-only" % self.name)
        if rc == errno.ENOSPC:
            raise _errors.NoSpaceError(rc, "dict %s: no space left in /dev/shm to grow" % self.name)
        if rc == errno.EBUSY:
            raise _errors.BusyError(rc, "dict %s: %s: a half-written slot awaits repair by a writable attach, "
                                    "or another process held the writer lock 30 s" % (self.name, what))
        _errors.check(rc, "dict %s: %s" % (self.name, what))

    @property
    def h(self):
        if not self._h:
            raise ValueError("dict %s is closed" % self.name)
        return self._h

    def read(self, call, what):
        """call(buf, cap, tag_ref, len_ref) -> rc, retried with a bigger
        buffer if the value did not fit; (tag, bytes), or None for ENOENT."""
        b = self._b
        while True:
            rc = call(b.buf, b.size, b.tag_ref, b.len_ref)
            if rc == n.ESHORTBUF:
                b.resize(b.len.value + b.len.value // 4)
                continue
            if rc == errno.ENOENT:
                return None
            self._check(rc, what)
            return b.tag.value, ctypes.string_at(b.buf, b.len.value)

    def lookup(self, kt, kb):
        """The value of the key kt/kb as (tag, size, buffer), or None: one
        ctypes call, and the value left in this thread's buffer."""
        b = self._b
        buf = b.buf
        try:
            r = _lookup(self.h, kt, kb, len(kb), buf, b.size)
        except ctypes.ArgumentError:
            raise ValueError("dict %s: key of %d bytes is too large" % (self.name, len(kb))) from None
        if r >= 0:
            return r & 255, r >> 8, buf
        if r == -errno.ENOENT:
            return None
        if r == -n.ESHORTBUF:
            b.resize(max(2 * b.size, _Q.unpack_from(b.buf)[0]))
            return self.lookup(kt, kb)
        self._check(-r, "get")

    def close(self):
        if self._h:
            n.lib.shmkit_dict_close(self._h)
            self._h = ctypes.c_void_p()

    def closed(self):
        """A closed handle on the same object (unlink still works), to hold
        in this one's place: this one is closed by __del__ when the last
        call in flight on it, in any thread, lets go of it. Every call holds
        its handle for as long as C runs (ctypes lets go of the GIL)."""
        c = object.__new__(_Handle)
        c.name, c._h, c._ref, c._b = self.name, ctypes.c_void_p(), self._ref, self._b
        return c

    def unlink(self):
        buf = ctypes.create_string_buffer(self._ref, len(self._ref))
        self._check(n.lib.shmkit_dict_unlink(buf, len(self._ref)), "unlink")

    def stats(self):
        s = n.DictStats()
        n.lib.shmkit_dict_stats(self.h, ctypes.byref(s))
        return {"len": s.count, "slots": s.slots, "heap_bytes": s.heap_size, "used_bytes": s.used,
                "recoveries": s.recoveries}

    def __del__(self):
        self.close()


# get and set, the calls that count, go through entry points whose every
# argument is a pointer or a C int (shmkit.h), called without argtypes:
# ctypes then passes the handle, bytes, buffer and small ints as they are,
# which costs half of a call that converts each argument. A length that
# does not fit a C int raises ctypes.ArgumentError, turned into ValueError.
_lookup = n.lib.shmkit_dict_lookup
_lookup.restype = ctypes.c_int64
_store = n.lib.shmkit_dict_store
_store.restype = ctypes.c_int
_add_int = n.lib.shmkit_dict_add_int
_add_int.restype = ctypes.c_int


class _Shared:
    """What a shared dict and a shared list have alike: a handle on the
    object named name of seg, its lifetime and its statistics."""

    _kind = None

    def __init__(self, seg, name):
        self._c = _Handle(seg, name, self._kind)
        self.name = name

    def close(self):
        """Release this process's mapping (once calls other threads have in
        flight return); the object stays. Calls after it raise ValueError."""
        self._c = self._c.closed()

    def unlink(self):
        """Remove the object's storage file: who has it open keeps it."""
        self._c.unlink()

    def stats(self):
        return self._c.stats()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __reduce__(self):
        # A handle is this process's mapping: pickled (as a value stored in
        # a dict or list) it was ctypes' ValueError about pointers.
        raise TypeError("a shared %s is not picklable: store or send its name, %r, and open it there"
                        % (self._kind, self.name))


class SharedDict(_Shared, collections.abc.MutableMapping):
    """A dict in shared memory, opened by name by Go, C and Python processes:
    Manager().dict() without the server. Keys and values are int, float, str,
    bytes, bool and None, which every language reads back the same; a value
    may also be a record (a ctypes.Structure instance or a numpy structured
    scalar), stored with its layout so that Go (dict.RecordMap, dict.Record)
    and C read its fields, and read back as a numpy structured scalar, or a
    ctypes.Structure without numpy. Any other object is stored pickled (Go
    sees bytes). Keys are equal when type and bytes are: 1, 1.0 and True are
    three keys here (dict(d), copy() and keys() raise KeyCollisionError
    when they meet two such keys, rather than keep one value); equal pickled keys are pickled to equal bytes in every
    process, and an unhashable key is TypeError, as in a dict.

    Each operation is atomic. For a read-modify-write use update_key(key, fn)
    or add(key, delta), not d[k] += 1 (a get, then a set). A full /dev/shm
    raises NoSpaceError (an OSError, errno ENOSPC) and changes nothing."""

    _kind = "dict"

    def _key(self, key):
        """encode_key(key), or the key's encoding by the build before if
        the dict holds it so (_legacy_key): found, replaced and deleted by
        the str, and not stored a second time. (A process of that build
        storing the key while this one does may still make two.)"""
        kt, kb = encode_key(key)
        if kt == STR and type(key) is str and not key.isascii():
            old = _legacy_key(key)
            if old is not None and self._c.lookup(*old) is not None:
                return old
        return kt, kb

    def _get(self, key):
        """(tag, bytes) of key's value, or None if it has none."""
        kt, kb = self._key(key)
        got = self._c.lookup(kt, kb)
        if got is None:
            return None
        tag, size, buf = got
        return tag, buf[:size]

    def __getitem__(self, key):
        # The common case in line: a str key, a value that fits the buffer.
        if type(key) is str:
            try:
                kt, kb = STR, key.encode()
            except UnicodeEncodeError:
                kt, kb = self._key(key)
        else:
            kt, kb = encode_key(key)
        c = self._c
        b = c._b
        buf = b.buf
        try:
            r = _lookup(c._h, kt, kb, len(kb), buf, b.size)
        except ctypes.ArgumentError:
            r = -errno.EINVAL
        if r >= 0:
            if r == _INT8:
                return _unpack_q(buf)[0]
            return decode_from(r & 255, r >> 8, buf)
        got = c.lookup(kt, kb)
        if got is None:
            raise KeyError(key)
        return decode_from(*got)

    def get(self, key, default=None):
        kt, kb = self._key(key)
        got = self._c.lookup(kt, kb)
        return default if got is None else decode_from(*got)

    def __contains__(self, key):
        kt, kb = self._key(key)
        return self._c.lookup(kt, kb) is not None

    def __setitem__(self, key, value):
        # encode in line for the common str key and int or str value.
        if type(key) is str:
            try:
                kt, kb = STR, key.encode()
            except UnicodeEncodeError:
                kt, kb = self._key(key)
        else:
            kt, kb = encode_key(key)
        t = type(value)
        if t is int and _INT_MIN <= value <= _INT_MAX:
            vt, vb = INT, _pack_q(value)
        elif t is str:
            try:
                vt, vb = STR, value.encode()
            except UnicodeEncodeError:
                vt, vb = encode(value)
        else:
            vt, vb = encode(value)
        c = self._c
        try:
            rc = _store(c._h, kt, kb, len(kb), vt, vb, len(vb))
        except ctypes.ArgumentError:
            raise ValueError("dict %s: value of %d bytes is too large" % (self.name, len(vb))) from None
        if rc:
            c.h  # closed: ValueError
            c._check(rc, "set")

    def _store_encoded(self, items):
        """Store items: (key tag, key bytes, value tag, value bytes) each."""
        for kt, kb, vt, vb in items:
            self._c._check(n.lib.shmkit_dict_set(self._c.h, kt, kb, len(kb), vt, vb, len(vb)), "set")

    def __delitem__(self, key):
        kt, kb = self._key(key)
        c = self._c
        rc = n.lib.shmkit_dict_delete(c.h, kt, kb, len(kb))
        if rc == errno.ENOENT:
            raise KeyError(key)
        c._check(rc, "delete")

    def __len__(self):
        v = ctypes.c_uint64()
        self._c._check(n.lib.shmkit_dict_len(self._c.h, ctypes.byref(v)), "len")
        return v.value

    def clear(self):
        self._c._check(n.lib.shmkit_dict_clear(self._c.h), "clear")

    def setdefault(self, key, default=None):
        """The key's value, storing default first if it has none (atomic)."""
        kt, kb = self._key(key)
        vt, vb = encode(default)
        loaded = ctypes.c_int()
        got = self._c.read(lambda buf, cap, tag, ln: n.lib.shmkit_dict_load_or_store(
            self._c.h, kt, kb, len(kb), vt, vb, len(vb), ctypes.byref(loaded), tag, buf, cap, ln), "setdefault")
        return decode(*got) if loaded.value else default

    def compare_and_swap(self, key, old, new):
        """Store new if key's value is old (same type and bytes); True if it did."""
        kt, kb = self._key(key)
        ot, ob = encode(old)
        nt, nb = encode(new)
        swapped = ctypes.c_int()
        self._c._check(n.lib.shmkit_dict_cas(self._c.h, kt, kb, len(kb), ot, ob, len(ob), nt, nb, len(nb),
                                             ctypes.byref(swapped)), "compare_and_swap")
        legacy = None if swapped.value else _legacy_key(old)  # old as the build before stored it
        if legacy is not None:
            ot, ob = legacy
            self._c._check(n.lib.shmkit_dict_cas(self._c.h, kt, kb, len(kb), ot, ob, len(ob), nt, nb, len(nb),
                                                 ctypes.byref(swapped)), "compare_and_swap")
        return bool(swapped.value)

    def update_key(self, key, fn, default=None):
        """Set key to fn(old) atomically, old being its value or default;
        fn runs again if another process changed the value meanwhile.
        Returns the value stored."""
        kt, kb = self._key(key)
        swapped = ctypes.c_int()
        while True:
            got = self._get(key)
            old = default if got is None else decode(*got)
            ot, ob = (ABSENT, b"") if got is None else got
            new = fn(old)
            nt, nb = encode(new)
            self._c._check(n.lib.shmkit_dict_cas(self._c.h, kt, kb, len(kb), ot, ob, len(ob), nt, nb, len(nb),
                                                 ctypes.byref(swapped)), "update_key")
            if swapped.value:
                return new

    _missing = object()

    def _delete_if(self, kt, kb, got):
        """Delete the key kt/kb if its value is still got (tag, bytes)."""
        swapped = ctypes.c_int()
        self._c._check(n.lib.shmkit_dict_cas(self._c.h, kt, kb, len(kb), got[0], got[1], len(got[1]), ABSENT, b"",
                                             0, ctypes.byref(swapped)), "pop")
        return swapped.value

    def pop(self, key, default=_missing):
        """Remove key and return its value (default, or KeyError, if it has
        none), atomically: a value set meanwhile is not removed unseen."""
        kt, kb = self._key(key)
        while True:
            got = self._c.lookup(kt, kb)
            if got is None:
                if default is self._missing:
                    raise KeyError(key)
                return default
            tag, size, buf = got
            got = tag, buf[:size]
            value = decode(*got)  # before the delete: a value that does not decode stays
            if self._delete_if(kt, kb, got):
                return value

    def popitem(self):
        """Remove some (key, value) and return it, atomically; KeyError if
        the dict is empty."""
        while True:
            seen = False
            for (kt, kb), got in self._walk(raw=True):
                seen = True
                item = decode_key(kt, kb), decode(*got)  # before the delete, as pop
                if self._delete_if(kt, kb, got):  # the key's bytes as stored, whoever wrote them
                    return item
            # Empty as the walk found it, not by len(): a count another
            # process scribbled would have it retry for ever.
            if not seen:
                raise KeyError("popitem(): dictionary is empty")

    def add(self, key, delta=1):
        """key's int value += delta (none counts as 0) under the writer lock;
        returns the new value. The seed's d["year"] += 1, atomic."""
        kt, kb = self._key(key)
        c = self._c
        b = c._b
        if type(delta) is int and -(1 << 31) <= delta < (1 << 31):
            rc = _add_int(c.h, kt, kb, len(kb), delta, b.sum_ref)
        else:
            delta = operator.index(delta)
            if not -(1 << 63) <= delta < (1 << 63):
                raise OverflowError("%s.add(%r, %d): the delta does not fit an int64" % (self.name, key, delta))
            rc = n.lib.shmkit_dict_add(c.h, kt, kb, len(kb), delta, b.sum_ref)
        if rc == n.EKIND:
            raise TypeError("%s[%r] is not an int" % (self.name, key))
        if rc == errno.EOVERFLOW:
            raise OverflowError("%s[%r] + %d does not fit an int64; the value is unchanged" % (self.name, key, delta))
        if rc:
            c._check(rc, "add")
        return b.sum.value

    def _walk(self, raw=False):
        """(key, value) pairs, the value as (tag, bytes), the key too if
        raw; a key present throughout is seen once."""
        c = self._c
        pos, gen, restarted = ctypes.c_uint64(), ctypes.c_uint64(), ctypes.c_int()
        kt, vt, kl, vl = ctypes.c_int(), ctypes.c_int(), ctypes.c_uint64(), ctypes.c_uint64()
        kcap, vcap = 64, 256
        kbuf, vbuf = ctypes.create_string_buffer(kcap), ctypes.create_string_buffer(vcap)
        seen = set()
        while True:
            rc = n.lib.shmkit_dict_next(c.h, ctypes.byref(pos), ctypes.byref(gen), ctypes.byref(restarted),
                                        ctypes.byref(kt), kbuf, kcap, ctypes.byref(kl), ctypes.byref(vt), vbuf, vcap,
                                        ctypes.byref(vl))
            if rc == n.ESHORTBUF:
                kcap, vcap = max(kcap, kl.value), max(vcap, vl.value)
                kbuf, vbuf = ctypes.create_string_buffer(kcap), ctypes.create_string_buffer(vcap)
                continue
            if rc == errno.ENOENT:
                return
            c._check(rc, "iterate")
            kb = kbuf.raw[:kl.value]
            ident = (kt.value, kb)
            if ident in seen:
                continue
            seen.add(ident)
            yield ident if raw else decode_key(kt.value, kb), (vt.value, vbuf.raw[:vl.value])

    def __iter__(self):
        for k, _ in self._walk():
            yield k

    def items(self):
        """A list of (key, value) pairs, each read atomically."""
        return [(k, decode(*v)) for k, v in self._walk()]

    def keys(self):
        """A list of the keys; KeyCollisionError if two of them are one key
        in a Python dict (so dict(d), which reads keys(), keeps no value
        less than the shared dict holds)."""
        keys = [k for k, _ in self._walk()]
        _check_distinct(self.name, keys)
        return keys

    def values(self):
        return [decode(*v) for _, v in self._walk()]

    def copy(self):
        """A dict of the items; KeyCollisionError as keys()."""
        items = self.items()
        _check_distinct(self.name, [k for k, _ in items])
        return dict(items)

    def __eq__(self, other):
        # Each stored key looked up in other: a dict cannot equal a shared
        # dict holding both 1 and 1.0, which it would hold as one key.
        if not isinstance(other, collections.abc.Mapping):
            return NotImplemented
        items = self.items()
        if len(items) != len(other):
            return False
        missing = object()
        for k, v in items:
            try:
                w = other.get(k, missing)
            except TypeError:
                return False
            if w is missing or not (w is v or w == v):
                return False
        return True

    __hash__ = None

    def __repr__(self):
        return "<SharedDict %r {%s}>" % (self.name, ", ".join("%r: %r" % kv for kv in self.items()))


def _check_distinct(name, keys):
    """KeyCollisionError if keys holds two keys a Python dict takes as one."""
    try:
        if len(set(keys)) == len(keys):
            return
    except TypeError:  # a foreign writer's unhashable pickled key: no dict holds it either
        raise TypeError("dict %s holds an unhashable key" % name) from None
    first, same = {}, []
    for k in keys:
        if k in first:
            same.append("%r and %r" % (first[k], k))
        else:
            first[k] = k
    raise _errors.KeyCollisionError("dict %s: keys a Python dict takes as one: %s" % (name, "; ".join(same)))


class SharedList(_Shared, collections.abc.MutableSequence):
    """A list in shared memory, as Manager().list(): the values SharedDict
    holds. Each of append, insert, item assignment, pop, remove, reverse and
    clear is atomic (insert and reverse build the new list aside and publish
    it in one step; a negative index is counted from the end by C, under
    the list's lock); extend and deleting a slice are a series of them, so
    another process may see them half done, and reading a slice or
    reversed() is a series of reads (an item removed meanwhile is left
    out). Slice assignment and sort are not supported."""

    _kind = "list"

    def __len__(self):
        v = ctypes.c_uint64()
        self._c._check(n.lib.shmkit_list_len(self._c.h, ctypes.byref(v)), "len")
        return v.value

    @staticmethod
    def _index(i):
        """i as C takes it, and whether it counts from the end: a negative
        i is -i items from the end, counted by C under the list's lock (a
        len() taken before may be out of date when the call acts)."""
        if not isinstance(i, int):
            try:
                i = operator.index(i)  # a numpy integer, as a list takes it
            except TypeError:
                raise TypeError("list indices must be integers or slices, not %s" % type(i).__name__) from None
        # ctypes would cut an index of 2**64 or more to its low 64 bits: C
        # takes UINT64_MAX as past the end, or before the start.
        if i < 0:
            return min(-i, _UINT64_MAX), True
        return min(i, _UINT64_MAX), False

    def __getitem__(self, i):
        if isinstance(i, slice):
            # Item by item, as of len() first: an item another process
            # removed meanwhile is left out, never IndexError.
            got = (self._item(j) for j in range(*i.indices(len(self))))
            return [decode(*g) for g in got if g is not None]
        return self._take(n.lib.shmkit_list_get, n.lib.shmkit_list_get_end, i, "get", "list index out of range")

    def _fetch(self, fetch, j, op):
        """Item j (an index C takes) by fetch (shmkit_list_get or _pop), as
        stored, (tag, bytes), or None past the end."""
        rc_box = []

        def one(buf, cap, tag, ln):
            rc = fetch(self._c.h, j, tag, buf, cap, ln)
            rc_box.append(rc)
            return 0 if rc == errno.ERANGE else rc
        got = self._c.read(one, op)
        return None if rc_box[-1] == errno.ERANGE else got

    def _take(self, fetch, fetch_end, i, op, out_of_range):
        # Reads item i by fetch (shmkit_list_get or _pop; fetch_end for a
        # negative i) and decodes it.
        j, end = self._index(i)
        got = self._fetch(fetch_end if end else fetch, j, op)
        if got is None:
            raise IndexError(out_of_range)
        return decode(*got)

    def __setitem__(self, i, value):
        if isinstance(i, slice):
            raise TypeError("slice assignment is not supported by SharedList")
        j, end = self._index(i)
        vt, vb = encode(value)
        c = self._c
        rc = (n.lib.shmkit_list_set_end if end else n.lib.shmkit_list_set)(c.h, j, vt, vb, len(vb))
        if rc == errno.ERANGE:
            raise IndexError("list assignment index out of range")
        self._c._check(rc, "set")

    def __delitem__(self, i):
        if isinstance(i, slice):
            for j in sorted(range(*i.indices(len(self))), reverse=True):
                del self[j]
            return
        j, end = self._index(i)
        c = self._c
        rc = (n.lib.shmkit_list_pop_end if end else n.lib.shmkit_list_pop)(c.h, j, None, None, 0, None)
        if rc == errno.ERANGE:
            raise IndexError("list assignment index out of range")
        self._c._check(rc, "delete")

    def insert(self, i, value):
        """Insert value before item i; a negative i counts from the end as
        the list is when C inserts, under its lock."""
        j, end = self._index(operator.index(i))
        vt, vb = encode(value)
        c = self._c
        c._check((n.lib.shmkit_list_insert_end if end else n.lib.shmkit_list_insert)(c.h, j, vt, vb, len(vb)), "insert")

    def _append_encoded(self, values):
        for vt, vb in values:
            self._c._check(n.lib.shmkit_list_append(self._c.h, vt, vb, len(vb)), "append")

    def append(self, value):
        vt, vb = encode(value)
        self._c._check(n.lib.shmkit_list_append(self._c.h, vt, vb, len(vb)), "append")

    def extend(self, values):
        if isinstance(values, SharedList):
            # As a list: its items once, not those appended meanwhile, which
            # another handle on the same list (or this one) would also read.
            values = list(values)
        for v in values:
            self.append(v)

    def pop(self, i=-1):
        j, end = self._index(i)
        got = self._fetch(n.lib.shmkit_list_pop_end if end else n.lib.shmkit_list_pop, j, "pop")
        if got is None:
            raise IndexError("pop index out of range")
        try:
            return decode(*got)
        except Exception as e:
            # Put back what does not decode here (a pickle of a class this
            # process lacks; C refuses to pop a value no writer may store),
            # where it was: the item after it is now k - 1 from the end.
            c = self._c
            rc = (n.lib.shmkit_list_insert_end if end else n.lib.shmkit_list_insert)(
                c.h, j - 1 if end else j, got[0], got[1], len(got[1]))
            if rc:
                raise _errors.CorruptError("list %s: pop: %s; putting the item back failed (%s), it is lost"
                                           % (self.name, e, os.strerror(rc))) from e
            raise

    def _item(self, i):
        """Item i as stored, (tag, bytes), or None past the end."""
        return self._fetch(n.lib.shmkit_list_get, i, "get")

    def remove(self, value):
        """Remove the first item equal to value (ValueError if none). The
        item removed is one read equal to value: if another process moved
        or changed it before the removal, the search starts again."""
        popped = ctypes.c_int()
        while True:
            i = 0
            while True:
                got = self._item(i)
                if got is None:
                    raise ValueError("list.remove(x): x not in list")
                v = decode(*got)
                if v is value or v == value:
                    break
                i += 1
            c = self._c
            rc = n.lib.shmkit_list_pop_if(c.h, i, got[0], got[1], len(got[1]), ctypes.byref(popped))
            if rc != errno.ERANGE:  # ERANGE: the list got shorter meanwhile
                c._check(rc, "remove")
            if popped.value:
                return

    def reverse(self):
        self._c._check(n.lib.shmkit_list_reverse(self._c.h), "reverse")

    def clear(self):
        self._c._check(n.lib.shmkit_dict_clear(self._c.h), "clear")

    def __reversed__(self):
        i = len(self) - 1
        while i >= 0:
            got = self._item(i)  # None: removed meanwhile
            if got is not None:
                yield decode(*got)
            i -= 1

    def __iter__(self):
        i = 0
        while True:
            try:
                yield self[i]
            except IndexError:
                return
            i += 1

    def __eq__(self, other):
        # As a list: equal to a list or shared list of equal items, unequal
        # to anything else (a tuple, 5), never an error.
        if not isinstance(other, (list, SharedList)):
            return NotImplemented
        return list(self) == list(other)

    def __repr__(self):
        return "<SharedList %r %r>" % (self.name, list(self))
