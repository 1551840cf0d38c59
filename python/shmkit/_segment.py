"""Segments, values, arrays and channels."""

import array as _array
import collections
import ctypes
import errno
import contextlib
import mmap
import os
import stat
import threading

from . import _dict
from . import _errors
from . import _native as n
from . import _h
from . import _pipe
from . import _queue
from . import _records
from . import _sync
from ._sync import Barrier, Condition, Event, Mutex, Semaphore

KINDS = {_h.KIND_BYTES: "bytes", _h.KIND_VALUE: "value", _h.KIND_ARRAY: "array",
         _h.KIND_SEMAPHORE: "semaphore", _h.KIND_BOUNDED: "bounded-semaphore", _h.KIND_MUTEX: "mutex",
         _h.KIND_RMUTEX: "rmutex", _h.KIND_COND: "cond", _h.KIND_EVENT: "event",
         _h.KIND_BARRIER: "barrier", _h.KIND_CHANNEL: "channel",
         _h.KIND_DICT: "dict", _h.KIND_LIST: "list"}
_KIND = {v: k for k, v in KINDS.items()}
_LOCKED = _h.FLAG_LOCKED
_SPSC = _h.FLAG_SPSC
_JOINABLE = _h.FLAG_JOINABLE

TYPECODES = "cbBhHiIlLqQfdu"
# memoryview / array formats per typecode: 'u' (wchar_t, UTF-32) is seen as
# code points ('I'); 'c' is a byte.
_FORMAT = {tc: tc for tc in TYPECODES}
_FORMAT["u"] = "I"
_ARRAY_CODE = dict(_FORMAT, c="B")
_SAME = {"l": "q", "L": "Q", "q": "q", "Q": "Q"}
_NOT_CONTIGUOUS = "the buffer is not contiguous (a strided view such as a[::2]); send a contiguous copy"
# The C type of each typecode, for messages.
_C_TYPE = {"c": "char", "b": "signed char", "B": "unsigned char", "h": "short", "H": "unsigned short",
           "i": "int", "I": "unsigned int", "l": "long", "L": "unsigned long", "q": "long long",
           "Q": "unsigned long long", "f": "float", "d": "double", "u": "wchar_t"}

ObjectInfo = collections.namedtuple("ObjectInfo", "name kind typecode count length locked")


def _typecode(tc):
    if not isinstance(tc, str) or len(tc) != 1 or tc not in TYPECODES:
        raise ValueError("bad typecode %r: one of %s" % (tc, TYPECODES))
    return tc


def _posix(name):
    """The POSIX name ("/foo") of a segment name ("foo" or "/foo") by Go's
    rules (shm.PosixName); ValueError if they refuse it."""
    n.name_bytes(name, "segment", segment=True)
    return name if name.startswith("/") else "/" + name


def _to_python(tc, v):
    return chr(v) if tc == "u" else v  # a 'c' view already gives bytes


def _from_python(tc, v):
    """v as the view of typecode tc stores it."""
    if tc == "c" and not (isinstance(v, (bytes, bytearray)) and len(v) == 1):
        raise TypeError("a 'c' element is one byte, not %r" % (v,))
    if tc == "u":
        if not (isinstance(v, str) and len(v) == 1):
            raise TypeError("a 'u' element is one character, not %r" % (v,))
        return ord(v)
    return v


def _initial(tc, items):
    """items as an array.array to copy into a new object."""
    if tc == "c":
        return _array.array("B", b"".join(_from_python(tc, v) for v in items))
    return _array.array(_ARRAY_CODE[tc], [_from_python(tc, v) for v in items])


def attach(name, readonly=False):
    """Attach to the shmkit segment name ("foo" or "/foo"), read-write, or
    with readonly=True read-only: what a process with read permission alone
    can do. On a read-only segment every call that would write raises
    ReadOnlyError, and locked values are read without their lock.

    Raises FileNotFoundError if there is none, NotShmkitError if it is not a
    shmkit segment, CorruptError if it contradicts itself. The segment is
    never unlinked by this package unless you call unlink().
    """
    fd, mm = _map(name, readonly)
    try:
        return Segment(_posix(name), fd, mm, readonly)
    except BaseException:
        if not mm.closed:  # Segment closes both when its check fails
            mm.close()
            os.close(fd)
        raise


def _map(name, readonly):
    path = _posix(name)
    # O_NONBLOCK: a FIFO planted under the name must not hang the open.
    flags = (os.O_RDONLY if readonly else os.O_RDWR) | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    fd = os.open("/dev/shm" + path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size <= 0:
            raise _errors.NotShmkitError("%s: not a regular, non-empty file" % path)
        prot = mmap.PROT_READ if readonly else mmap.PROT_READ | mmap.PROT_WRITE
        return fd, mmap.mmap(fd, st.st_size, mmap.MAP_SHARED, prot)
    except BaseException:
        os.close(fd)
        raise


class RawSegment:
    """Any POSIX shared memory segment, shmkit's or not (one made by
    Python's SharedMemory or by shm_open in C), as bytes: .buf is a
    memoryview of it. Unlike SharedMemory it registers nothing with the
    resource tracker, so the segment is never unlinked behind your back."""

    def __init__(self, name, readonly=False):
        self.name = _posix(name)
        fd, self._mm = _map(name, readonly)
        os.close(fd)
        self.readonly = readonly
        self.size = len(self._mm)
        self.buf = memoryview(self._mm)

    def close(self):
        """Unmap it; views of .buf must be released first (BufferError)."""
        if self._mm is not None:
            self.buf.release()
            self._mm.close()
            self._mm = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def attach_raw(name, readonly=False):
    """Map any POSIX segment (see RawSegment)."""
    return RawSegment(name, readonly)


class _ReadOnlyAnchor:
    """The address of a read-only mapping, from the buffer protocol
    (ctypes.from_buffer wants a writable one); holding the buffer pins the
    mapping, as the writable anchor does."""

    class _View(ctypes.Structure):
        _fields_ = [("buf", ctypes.c_void_p), ("obj", ctypes.c_void_p), ("len", ctypes.c_ssize_t),
                    ("itemsize", ctypes.c_ssize_t), ("readonly", ctypes.c_int), ("ndim", ctypes.c_int),
                    ("format", ctypes.c_char_p), ("shape", ctypes.c_void_p), ("strides", ctypes.c_void_p),
                    ("suboffsets", ctypes.c_void_p), ("internal", ctypes.c_void_p)]

    def __init__(self, mm):
        self._view = self._View()
        get = ctypes.pythonapi.PyObject_GetBuffer
        get.argtypes = [ctypes.py_object, ctypes.POINTER(self._View), ctypes.c_int]
        if get(mm, ctypes.byref(self._view), 0) != 0:
            raise BufferError("cannot pin the mapping")
        self.address = self._view.buf

    def release(self):
        if self._view is not None:
            rel = ctypes.pythonapi.PyBuffer_Release
            rel.argtypes = [ctypes.POINTER(self._View)]
            rel(ctypes.byref(self._view))
            self._view = None


def create(name, size, capacity=0, mode=0o600):
    """Create a new segment of size bytes with room for capacity objects
    (0: 64, or what a quarter of a small segment holds, as Go's Create).

    Raises FileExistsError if the name is taken. The caller owns it: call
    unlink() when it is no longer wanted.
    """
    seg = n.Segment()
    path = _posix(name)
    rc = n.lib.shmkit_create(path.encode(), n.unsigned(size, 64, "segment size"),
                             n.unsigned(capacity, 32, "capacity"), n.unsigned(mode, 32, "mode"), ctypes.byref(seg))
    if rc == errno.EEXIST:
        raise FileExistsError(rc, os.strerror(rc), path)
    if rc == errno.EINVAL:
        raise ValueError("create %s: bad size %d or capacity %d" % (path, size, capacity))
    _errors.check(rc, "create %s" % path)
    n.lib.shmkit_detach(ctypes.byref(seg))
    return attach(path)


def unlink(name):
    """Remove the segment's name; processes attached keep their mappings."""
    path = _posix(name)
    rc = n.lib.shmkit_unlink(path.encode())
    if rc == errno.ENOENT:
        raise FileNotFoundError(rc, os.strerror(rc), path)
    _errors.check(rc, "unlink %s" % path)


class Segment:
    """An attached shmkit segment: find objects in it by name."""

    def __init__(self, path, fd, mm, readonly=False):
        self.name = path
        self.size = len(mm)
        self.readonly = readonly
        self._fd = fd
        self._mm = mm
        self._anchor = self._pin()
        self._c = n.Segment()
        # Calls blocked in C on this segment's memory, which close() waits for.
        self._busy = 0
        self._closing = False
        self._cv = threading.Condition()
        rc = n.lib.shmkit_check(self._address(), self.size, fd, ctypes.byref(self._c))
        if rc != 0:
            self.close()
            _errors.check(rc, "attach %s" % path)
        if readonly:
            self._c.fd = -1  # the C library then refuses to allocate

    def _pin(self):
        """Pin the mapping (close() fails while views exist) and keep its address."""
        return _ReadOnlyAnchor(self._mm) if self.readonly else ctypes.c_char.from_buffer(self._mm)

    def _address(self):
        if self.readonly:
            return self._anchor.address
        return ctypes.addressof(self._anchor)

    # -- lifetime

    def close(self):
        """Unmap the segment. Raises BufferError while memoryviews of it
        are alive (release them first), and RuntimeError while this process
        holds one of its mutexes."""
        if self._mm is None:
            return
        if _sync.holding(self):
            raise RuntimeError("segment %s: a mutex in it is held by this process; release it first" % self.name)
        with self._cv:  # calls blocked in other threads see it at their next slice and leave
            self._closing = True
            self._cv.wait_for(lambda: self._busy == 0)
        try:
            self._unmap()
        except BaseException:
            with self._cv:
                self._closing = False
            raise

    def _unmap(self):
        anchor, self._anchor = self._anchor, None
        if self.readonly:
            anchor.release()
        del anchor
        try:
            self._mm.close()
        except BufferError:
            self._anchor = self._pin()
            raise BufferError("segment %s: memoryviews of it are still alive; release them first" % self.name)
        os.close(self._fd)
        self._mm = None

    @property
    def closed(self):
        return self._mm is None

    def unlink(self):
        unlink(self.name)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        """Close the segment. Views still alive (memoryviews, values, records,
        numpy arrays) never make the block fail: the segment is closed for
        every other use, and its mapping stays until the last of them is
        released (release(), or del for a numpy array), so they never read
        unmapped memory. If the block is leaving with an exception, that
        exception goes on: a mutex still held leaves the close for later
        instead of replacing it; without one, it raises RuntimeError."""
        try:
            self.close()
        except BufferError:
            self._unmap_when_released()
        except RuntimeError:
            if exc_type is None:
                raise

    def _unmap_when_released(self):
        """Drop this segment's hold on its mapping; the views still alive
        keep the mmap object, which unmaps when the last of them goes."""
        anchor, self._anchor = self._anchor, None
        if self.readonly:
            anchor.release()
        del anchor
        os.close(self._fd)
        self._mm = None
        with self._cv:
            self._closing = False

    def __repr__(self):
        return "<shmkit.Segment %s size=%d%s>" % (self.name, self.size, " closed" if self.closed else "")

    def _check_open(self):
        if self._mm is None or self._closing:
            raise ValueError("segment %s is closed" % self.name)

    def _check_writable(self):
        self._check_open()
        if self.readonly:
            raise _errors.ReadOnlyError("segment %s is attached read-only" % self.name)

    @contextlib.contextmanager
    def _hold(self):
        """Keep the segment mapped while a call blocks on it in slices, each
        beginning with _check_open: close() waits for the call to leave."""
        with self._cv:
            self._check_open()
            self._busy += 1
        try:
            yield
        finally:
            with self._cv:
                self._busy -= 1
                self._cv.notify_all()

    # -- the directory

    def objects(self):
        """Every object in the segment, as ObjectInfo tuples."""
        self._check_open()
        out = []
        o = n.Object()
        for i in range(n.lib.shmkit_object_slots(ctypes.byref(self._c))):
            rc = n.lib.shmkit_object_at(ctypes.byref(self._c), i, ctypes.byref(o))
            if rc == errno.ENOENT:
                continue
            _errors.check(rc, "%s: directory entry %d" % (self.name, i))
            out.append(ObjectInfo(o.name.decode(), KINDS.get(o.kind, "kind(%d)" % o.kind),
                                  chr(o.typecode) if o.typecode else None, o.count, o.length,
                                  bool(o.flags & _LOCKED)))
        return out

    def _lookup(self, name, kind=None, typecode=None):
        self._check_open()
        cname = n.name_bytes(name, "object")
        o = n.Object()
        rc = n.lib.shmkit_lookup(ctypes.byref(self._c), cname, _KIND[kind] if kind else 0,
                                 ord(typecode) if typecode else 0, ctypes.byref(o))
        if rc == errno.ENOENT:
            raise _errors.ObjectNotFoundError(name)
        if rc == n.EKIND:
            o2 = n.Object()
            n.lib.shmkit_lookup(ctypes.byref(self._c), cname, 0, 0, ctypes.byref(o2))
            raise _errors.KindMismatchError("%s: %r is a %s of %r; asked for kind %s%s" % (
                self.name, name, KINDS.get(o2.kind, o2.kind), chr(o2.typecode) if o2.typecode else None,
                kind, ", typecode %r" % typecode if typecode else ""))
        _errors.check(rc, "%s: %r" % (self.name, name))
        return o

    def _view(self, o):
        tc = chr(o.typecode)
        if tc == _records.STRUCT:
            return self._records(o)
        size = n.lib.shmkit_typecode_size(o.typecode)
        return memoryview(self._mm)[o.offset:o.offset + o.count * size].cast(_FORMAT[tc])

    def _records(self, o):
        mem = memoryview(self._mm)[o.offset:o.offset + o.count * o.elem_size]
        return _records.view(mem, _records.layout_of(o), o.count, self.readonly)

    # -- records (typecode 'T')

    def records(self, name):
        """The records of value or array name, in place: a numpy structured
        array, or without numpy a ctypes array of a ctypes.Structure. Writes
        are seen by every process at once; hold get_lock(name) to change a
        record whole. On a read-only attach without numpy they are a copy
        taken now, whose writes raise ReadOnlyError. CorruptError if the
        description is not one every language can read."""
        o = self._lookup(name, typecode=_records.STRUCT)
        if o.kind not in (2, 3):
            raise _errors.KindMismatchError("%s: %r is a %s, not a value or array" % (self.name, name, KINDS.get(o.kind)))
        return self._records(o)

    def record(self, name):
        """The value of records name as a Record: Python's Value(Point),
        whose fields are attributes read and written under its lock."""
        o = self._lookup(name, "value", _records.STRUCT)
        return Record(self, o)

    def layout(self, name):
        """The record layout of value, array or channel name: a Layout of
        (type_name, size, align, fields), each Field (name, typecode,
        offset, count)."""
        return _records.layout_of(self._lookup(name, typecode=_records.STRUCT))

    def new_records(self, name, rectype, size_or_initializer=1, lock=True, value=False):
        """Create an array (or, with value=True, a value) of records of
        rectype, a ctypes.Structure subclass or a numpy structured dtype:
        Python's Array(Point, n), or Value(Point). Returns records(name),
        or for a value record(name)."""
        self._check_writable()
        cname = n.name_bytes(name, "object")
        layout = _records.layout_from(rectype)
        desc = _records.encode(layout)
        init = None
        if isinstance(size_or_initializer, int):
            count = size_or_initializer
        else:
            init = bytes(memoryview(size_or_initializer).cast("B"))
            count = len(init) // layout.size
            if count * layout.size != len(init):
                raise ValueError("initializer of %d bytes is not a whole number of %d-byte records" % (len(init), layout.size))
        if count < 0 or (value and count != 1):
            raise ValueError("bad record count %d" % count)
        o = n.Object()
        rc = n.lib.shmkit_new_struct_elems(ctypes.byref(self._c), cname, ctypes.byref(desc),
                                           n.unsigned(count, 64, "record count"),
                                           not value, bool(lock), init, ctypes.byref(o))
        if rc == errno.EINVAL:
            raise ValueError("%s: record layout of %r refused: %r" % (self.name, name, layout))
        self._created(rc, name)
        return Record(self, o) if value else self._records(o)

    def _lock(self, o):
        return Mutex(self, o.name.decode() + " lock", o.lock) if o.lock else None

    # -- opening objects

    def array(self, name, typecode=None):
        """The array name as a memoryview of its elements, in place: writes
        are seen by every process at once. 'u' arrays are code points."""
        return self._view(self._lookup(name, "array", typecode))

    def ndarray(self, name, typecode=None):
        """The array name as a numpy array over the shared memory."""
        import numpy
        o = self._lookup(name, "array", typecode)
        tc = chr(o.typecode)
        dtype = {"c": "S1", "u": "U1"}.get(tc, _FORMAT[tc])
        return numpy.frombuffer(memoryview(self._mm)[o.offset:o.offset + o.count * n.lib.shmkit_typecode_size(o.typecode)],
                                dtype=dtype)

    def value(self, name, typecode=None):
        """The value name, with a .value property (taking its lock, if it
        has one, as multiprocessing.Value does)."""
        o = self._lookup(name, "value", typecode)
        return Value(name, chr(o.typecode), self._view(o), self._lock(o), self, o.data)

    def get_lock(self, name):
        """The recursive mutex of a value or array created with a lock."""
        o = self._lookup(name)
        if o.kind not in (2, 3) or not o.lock:
            raise _errors.KindMismatchError("%s: %r has no lock" % (self.name, name))
        return self._lock(o)

    def semaphore(self, name):
        o = self._lookup(name)
        if o.kind not in (4, 5):
            raise _errors.KindMismatchError("%s: %r is a %s, not a semaphore" % (self.name, name, KINDS.get(o.kind)))
        return Semaphore(self, o)

    def mutex(self, name):
        o = self._lookup(name)
        if o.kind not in (6, 7):
            raise _errors.KindMismatchError("%s: %r is a %s, not a mutex" % (self.name, name, KINDS.get(o.kind)))
        return Mutex(self, name, o.data)

    def _sync_object(self, name, kind, what):
        o = self._lookup(name)
        if o.kind != kind:
            raise _errors.KindMismatchError("%s: %r is a %s, not %s" % (self.name, name, KINDS.get(o.kind), what))
        return o

    def event(self, name):
        """The event name (multiprocessing.Event; Go's semaphore.Event)."""
        return Event(self, self._sync_object(name, _h.KIND_EVENT, "an event"))

    def condition(self, name, lock):
        """The condition variable name, used with lock, the shmkit Mutex every
        party uses with it (multiprocessing.Condition; Go's semaphore.Cond)."""
        return Condition(self, self._sync_object(name, _h.KIND_COND, "a condition"), lock)

    def barrier(self, name, timeout=None):
        """The barrier name (multiprocessing.Barrier; Go's semaphore.Barrier);
        timeout is the default of wait()."""
        return Barrier(self, self._sync_object(name, _h.KIND_BARRIER, "a barrier"), timeout)

    def channel(self, name, typecode=None):
        return Channel(self, self._lookup(name, "channel", typecode))

    def dict(self, name):
        """The shared dict name (a collections.abc.MutableMapping)."""
        return _dict.SharedDict(self, name)

    def list(self, name):
        """The shared list name (a collections.abc.MutableSequence)."""
        return _dict.SharedList(self, name)

    # -- creating objects

    def _created(self, rc, name):
        if rc == errno.EEXIST:
            raise _errors.ObjectExistsError(rc, "%s: object %r exists" % (self.name, name))
        if rc == errno.ENOSPC:
            raise _errors.NoSpaceError(rc, "%s: no space for %r" % (self.name, name))
        _errors.check(rc, "%s: create %r" % (self.name, name))

    def new_array(self, name, typecode, size_or_initializer, lock=True):
        """Create an array, like multiprocessing.Array(typecode, ...)."""
        self._check_writable()
        cname = n.name_bytes(name, "object")
        tc = _typecode(typecode)
        if isinstance(size_or_initializer, int):
            count, init = size_or_initializer, None
        else:
            if tc == "c" and isinstance(size_or_initializer, (bytes, bytearray)):
                size_or_initializer = [bytes([b]) for b in size_or_initializer]
            init = _initial(tc, size_or_initializer)
            count = len(init)
        if count < 0:
            raise ValueError("negative array size %d" % count)
        o = n.Object()
        rc = n.lib.shmkit_new_elems(ctypes.byref(self._c), cname, ord(tc), n.unsigned(count, 64, "array size"), 1,
                                    bool(lock),
                                    init.buffer_info()[0] if init is not None and count else None, ctypes.byref(o))
        self._created(rc, name)
        return self._view(o)

    def new_value(self, name, typecode, value=0, lock=True):
        """Create a value, like multiprocessing.Value(typecode, value)."""
        self._check_writable()
        cname = n.name_bytes(name, "object")
        tc = _typecode(typecode)
        if value == 0 and tc in "cu":
            value = b"\0" if tc == "c" else "\0"
        init = _initial(tc, [value])
        o = n.Object()
        rc = n.lib.shmkit_new_elems(ctypes.byref(self._c), cname, ord(tc), 1, 0, bool(lock),
                                    init.buffer_info()[0], ctypes.byref(o))
        self._created(rc, name)
        return Value(name, tc, self._view(o), self._lock(o), self, o.data)

    def new_semaphore(self, name, value=1, bounded=False):
        self._check_writable()
        cname = n.name_bytes(name, "object")
        o = n.Object()
        if isinstance(value, int) and value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        self._created(n.lib.shmkit_new_semaphore(ctypes.byref(self._c), cname, n.unsigned(value, 32, "semaphore value"),
                                                 bool(bounded),
                                                 ctypes.byref(o)), name)
        return Semaphore(self, o)

    def new_mutex(self, name, recursive=False):
        self._check_writable()
        cname = n.name_bytes(name, "object")
        o = n.Object()
        self._created(n.lib.shmkit_new_mutex(ctypes.byref(self._c), cname, bool(recursive),
                                             ctypes.byref(o)), name)
        return Mutex(self, name, o.data)

    def new_pipe(self, name, slots=8, maxlen=16384, duplex=True):
        """Create a pipe (multiprocessing.Pipe) whose directions each queue up
        to slots messages of up to maxlen bytes, and return its end 0; the
        other end is pipe(name, 1), here or in another process."""
        self._check_writable()
        n.name_bytes(_pipe.channel_name(name, 1), "object (of pipe %r)" % name)  # ValueError if too long
        # The C library checks that both channels can be made before it
        # makes the first: a pipe made in part would hold its name for good.
        self._created(n.lib.shmkit_new_pipe(ctypes.byref(self._c), name.encode(), ord("B"),
                                            n.unsigned(slots, 32, "slots"), n.unsigned(maxlen, 32, "maxlen"),
                                            bool(duplex)),
                      "%s or %s" % (_pipe.channel_name(name, 0), _pipe.channel_name(name, 1)))
        return _pipe.Connection(self, name, 0)

    def pipe(self, name, end):
        """End 0 or 1 of the pipe name (Go's channel.OpenPipe)."""
        return _pipe.Connection(self, name, end)

    def new_queue(self, name, slots=64, slot_bytes=1024, max_message=1 << 20):
        """Create a queue of picklable objects (multiprocessing.Queue) of any
        size up to max_message bytes pickled, in slots slots of slot_bytes
        bytes; a longer object takes several slots (Go's queue.New)."""
        self._check_writable()
        _queue.create(self, name, slots, slot_bytes, max_message)
        return _queue.Queue(self, name)

    def queue(self, name):
        """The queue name (Go's queue.Open)."""
        return _queue.Queue(self, name)

    def new_event(self, name):
        """Create a clear event (multiprocessing.Event())."""
        self._check_writable()
        o = n.Object()
        self._created(n.lib.shmkit_new_event(ctypes.byref(self._c), n.name_bytes(name, "object"), ctypes.byref(o)), name)
        return Event(self, o)

    def new_condition(self, name, lock):
        """Create a condition variable used with lock, a shmkit Mutex of this
        segment (multiprocessing.Condition(lock))."""
        self._check_writable()
        o = n.Object()
        if not isinstance(lock, Mutex):
            raise TypeError("condition %r needs a shmkit Mutex, not %r" % (name, lock))
        self._created(n.lib.shmkit_new_cond(ctypes.byref(self._c), n.name_bytes(name, "object"), ctypes.byref(o)), name)
        return Condition(self, o, lock)

    def new_barrier(self, name, parties, timeout=None):
        """Create a barrier for parties processes (multiprocessing.Barrier(parties));
        timeout is the default of wait()."""
        self._check_writable()
        if not isinstance(parties, int) or isinstance(parties, bool) or not 1 <= parties <= 2**31 - 1:
            raise ValueError("barrier %r: parties must be an int from 1 to 2**31-1, not %r" % (name, parties))
        o = n.Object()
        self._created(n.lib.shmkit_new_barrier(ctypes.byref(self._c), n.name_bytes(name, "object"), parties, ctypes.byref(o)), name)
        return Barrier(self, o, timeout)
    def _new_dict(self, name, is_list):
        self._check_writable()
        o = n.Object()
        prefix = self.name.lstrip("/").encode()
        self._created(n.lib.shmkit_new_dict(ctypes.byref(self._c), name.encode(), prefix, int(is_list),
                                            ctypes.byref(o)), name)

    def new_dict(self, name, initial=()):
        """A new shared dict, like Manager().dict(initial); its storage is a
        file of its own in /dev/shm, removed by its unlink(). An initial
        key or value that cannot be stored raises before anything is made."""
        items = _dict.encode_items(initial, pairs=True)
        self._new_dict(name, False)
        d = _dict.SharedDict(self, name)
        d._store_encoded(items)
        return d

    def new_list(self, name, initial=()):
        """A new shared list, like Manager().list(initial)."""
        values = _dict.encode_items(initial, pairs=False)
        self._new_dict(name, True)
        lst = _dict.SharedList(self, name)
        lst._append_encoded(values)
        return lst

    def new_record_channel(self, name, rectype, slots, max_len, spsc=False, joinable=False):
        """A channel of messages of up to max_len records of rectype (a
        ctypes.Structure subclass or a numpy structured dtype); otherwise as
        new_channel."""
        self._check_writable()
        cname = n.name_bytes(name, "object")
        desc = _records.encode(_records.layout_from(rectype))
        o = n.Object()
        flags = (_SPSC if spsc else 0) | (_JOINABLE if joinable else 0)
        rc = n.lib.shmkit_new_struct_channel(ctypes.byref(self._c), cname, ctypes.byref(desc),
                                             n.unsigned(slots, 32, "slots"), n.unsigned(max_len, 32, "max_len"),
                                             flags, ctypes.byref(o))
        self._created(rc, name)
        return Channel(self, o)

    def new_channel(self, name, typecode, slots, max_len, spsc=False, joinable=False):
        """A channel of slots messages of up to max_len elements; with spsc,
        for one sender and one receiver at a time (see channel.SPSC in Go);
        with joinable, counting unfinished messages for task_done() and
        join(), as multiprocessing.JoinableQueue."""
        self._check_writable()
        cname = n.name_bytes(name, "object")
        tc = _typecode(typecode)
        o = n.Object()
        flags = (_SPSC if spsc else 0) | (_JOINABLE if joinable else 0)
        self._created(n.lib.shmkit_new_channel_flags(ctypes.byref(self._c), cname, ord(tc),
                                                     n.unsigned(slots, 32, "slots"), n.unsigned(max_len, 32, "max_len"),
                                                     flags, ctypes.byref(o)), name)
        return Channel(self, o)


# The C type of an element of each typecode, for the atomic updates.
_CTYPE = {"b": ctypes.c_int8, "B": ctypes.c_uint8, "h": ctypes.c_int16, "H": ctypes.c_uint16,
          "i": ctypes.c_int32, "I": ctypes.c_uint32, "l": ctypes.c_int64, "L": ctypes.c_uint64,
          "q": ctypes.c_int64, "Q": ctypes.c_uint64, "f": ctypes.c_float, "d": ctypes.c_double}


def _holding(lock, seg, f):
    """f(), holding lock if there is one; a read-only attach cannot lock, so
    its reads go without (its writes are refused before they get here)."""
    if lock is None or seg.readonly:
        return f()
    with lock:
        return f()


class Value:
    """One shared element. .value reads and writes it (under its lock if it
    has one); get_lock() returns that lock. add(), swap() and
    compare_and_swap() are atomic with or without the lock, as Go's
    RawValue.Add, Swap and CompareAndSwap, and agree with them; .value += 1 is not atomic unless
    done holding get_lock()."""

    def __init__(self, name, typecode, view, lock, seg=None, addr=None):
        self.name = name
        self.typecode = typecode
        self._view = view
        self._lock = lock
        self._seg = seg
        self._addr = addr

    def _atomic(self, what):
        if self.typecode not in _CTYPE:
            raise TypeError("value %r: %s needs a numeric typecode, not %r" % (self.name, what, self.typecode))
        self._seg._check_writable()
        return _CTYPE[self.typecode]

    def _c(self, t, v, what, delta=False):
        """v as C type t: OverflowError for an integer outside t's range,
        where ctypes would wrap it. A delta may also be given in the other
        signedness (add(-1) to an unsigned value subtracts one)."""
        if t in (ctypes.c_float, ctypes.c_double) or not isinstance(v, int):
            return t(v)
        bits = 8 * ctypes.sizeof(t)
        signed = t(-1).value < 0
        lo = -(1 << (bits - 1)) if signed or delta else 0
        hi = (1 << bits) - 1 if not signed or delta else (1 << (bits - 1)) - 1
        if not lo <= v <= hi:
            raise OverflowError("value %r: %s %d is out of range %d..%d for typecode %r" % (
                self.name, what, v, lo, hi, self.typecode))
        return t(v)

    def add(self, delta):
        """Atomically add delta and return the new value (integers wrap
        around as in C; floats are added by compare-and-swap)."""
        t = self._atomic("add")
        d, out = self._c(t, delta, "delta", delta=True), t()
        _errors.check(n.lib.shmkit_elem_add(self._addr, ord(self.typecode), ctypes.byref(d), ctypes.byref(out)),
                      "value %r" % self.name)
        return out.value

    def swap(self, new):
        """Atomically store new and return the old value."""
        t = self._atomic("swap")
        nv, old = self._c(t, new, "new value"), t()
        _errors.check(n.lib.shmkit_elem_swap(self._addr, ord(self.typecode), ctypes.byref(nv), ctypes.byref(old)),
                      "value %r" % self.name)
        return old.value

    def compare_and_swap(self, old, new):
        """Atomically store new if the value is old (bit patterns compared,
        as in Go); return whether it did."""
        t = self._atomic("compare_and_swap")
        o, nv, swapped = self._c(t, old, "old value"), self._c(t, new, "new value"), ctypes.c_int()
        _errors.check(n.lib.shmkit_elem_cas(self._addr, ord(self.typecode), ctypes.byref(o), ctypes.byref(nv),
                                            ctypes.byref(swapped)), "value %r" % self.name)
        return bool(swapped.value)

    @property
    def value(self):
        return _holding(self._lock, self._seg, lambda: _to_python(self.typecode, self._view[0]))

    @value.setter
    def value(self, v):
        self._seg._check_writable()
        v = _from_python(self.typecode, v)
        _holding(self._lock, self._seg, lambda: self._view.__setitem__(0, v))

    def get_lock(self):
        if self._lock is None:
            raise AttributeError("value %r was created without a lock" % self.name)
        return self._lock

    def release(self):
        """Let go of the memoryview, so the segment can be closed."""
        self._view.release()

    def __repr__(self):
        return "<shmkit.Value %r %r>" % (self.name, self.value)


class Record:
    """One shared record, as multiprocessing's Value(Point) is: each field
    is an attribute (rec.x; rec["pos.x"] for a nested one), read and written
    under the record's lock if it has one. .value is a copy of the whole
    record, a ctypes.Structure, taken under the lock; assigning .value a
    record of the same layout (a ctypes.Structure, a numpy record, bytes)
    or a dict of fields writes it under the lock. get_obj() is the record
    in place, for changes made holding get_lock()."""

    def __init__(self, seg, o):
        layout = _records.layout_of(o)
        cls = _records.structure(layout)
        mem = memoryview(seg._mm)[o.offset:o.offset + o.elem_size]
        object.__setattr__(self, "name", o.name.decode())
        object.__setattr__(self, "layout", layout)
        object.__setattr__(self, "_seg", seg)
        object.__setattr__(self, "_lock", seg._lock(o))
        object.__setattr__(self, "_fields", {f.name for f in layout.fields})
        object.__setattr__(self, "_mem", mem)
        if seg.readonly:  # from_buffer wants a writable buffer: read copies
            object.__setattr__(self, "_obj", None)
            object.__setattr__(self, "_cls", cls)
        else:
            object.__setattr__(self, "_obj", cls.from_buffer(mem))

    def _locked(self, f):
        return _holding(self._lock, self._seg, f)

    def get_obj(self):
        if self._obj is None:
            return self._cls.from_buffer_copy(self._mem)
        return self._obj

    def get_lock(self):
        if self._lock is None:
            raise AttributeError("record %r was created without a lock" % self.name)
        return self._lock

    def _field(self, name):
        if name not in self._fields:
            raise AttributeError("record %r has no field %r (it has %s)" % (
                self.name, name, ", ".join(f.name for f in self.layout.fields)))
        v = getattr(self.get_obj(), name)
        return list(v) if isinstance(v, ctypes.Array) else v

    def _set_field(self, name, v):
        if name not in self._fields:
            raise AttributeError("record %r has no field %r" % (self.name, name))
        self._seg._check_writable()
        obj = self._obj
        if isinstance(getattr(obj, name), ctypes.Array):
            self._locked(lambda: getattr(obj, name).__setitem__(slice(None), v))
        else:
            self._locked(lambda: setattr(obj, name, v))

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self._locked(lambda: self._field(name))

    def __setattr__(self, name, v):
        if name == "value":  # the property, not a field
            object.__setattr__(self, name, v)
        else:
            self._set_field(name, v)

    def __getitem__(self, name):
        return self._locked(lambda: self._field(name))

    __setitem__ = __setattr__

    @property
    def value(self):
        obj = self.get_obj()
        return self._locked(lambda: type(obj).from_buffer_copy(obj))

    @value.setter
    def value(self, v):
        self._seg._check_writable()
        if isinstance(v, dict):
            def write():
                for k, x in v.items():
                    self._set_field(k, x)
            self._locked(write)
            return
        b = memoryview(v).tobytes()
        if len(b) != self.layout.size:
            raise TypeError("record %r is %d bytes; %d given" % (self.name, self.layout.size, len(b)))
        self._locked(lambda: self._mem.__setitem__(slice(None), b))

    def release(self):
        """Let go of the record's memory, so the segment can be closed."""
        object.__setattr__(self, "_obj", None)
        self._mem.release()

    def __repr__(self):
        return "<shmkit.Record %r %s>" % (self.name, ", ".join(
            "%s=%r" % (f.name, self._field(f.name)) for f in self.layout.fields))


# Channel waits run in slices so that signal handlers run between them; a
# slice is long enough for the C side to notice peers that died.
_CHAN_SLICE_NS = 500_000_000


def _anchor(buf):
    """A ctypes object whose address holds buf's bytes: a writable buffer
    itself, anything else copied."""
    if isinstance(buf, memoryview) and not buf.readonly:
        return ctypes.c_char.from_buffer(buf.cast("B"))
    data = bytes(buf)
    return ctypes.create_string_buffer(data, len(data))


class Channel:
    """A bounded message channel between processes, found by name.

    send() takes a list, or any buffer of the channel's element type
    (array.array, memoryview, numpy array); recv() returns a list (bytes for
    'c', str for 'u'). After end(), receivers get what is queued, then
    EOFError; close() lets go of this handle only. Iterating receives until then.
    """

    def __init__(self, seg, o):
        self._seg = seg
        self.name = o.name.decode()
        self.typecode = chr(o.typecode)
        self._ch = n.Chan()
        _errors.check(n.lib.shmkit_chan_open(ctypes.byref(seg._c), o.name, o.typecode, ctypes.byref(self._ch)),
                      "%s: channel %r" % (seg.name, self.name))
        self.maxlen = self._ch.max_len
        self.slots = self._ch.slots
        self._size = self._ch.elem_size
        self.layout = _records.layout_of(o) if self.typecode == _records.STRUCT else None
        self._closed = False

    def _check_closed(self):
        if self._closed:
            raise ValueError("channel %r: this handle is closed" % self.name)  # Go's ErrClosed

    def __len__(self):
        self._seg._check_open()  # a closed handle still reads, as Go's Len
        return n.lib.shmkit_chan_len(ctypes.byref(self._ch))

    def _elements(self, data):
        """data as a contiguous buffer of elements, and its length. Each
        refusal says what the channel carries and what is wrong with data."""
        tc = self.typecode
        if tc == _records.STRUCT:  # any contiguous buffer of whole records
            carries = "channel %r carries %d-byte records" % (self.name, self._size)
            try:
                mv = memoryview(data)
            except TypeError:
                raise TypeError("%s: send a buffer of them (a ctypes array, a numpy array), not %s"
                                % (carries, type(data).__name__)) from None
            if not mv.c_contiguous:
                raise TypeError("%s: %s" % (carries, _NOT_CONTIGUOUS))
            if mv.nbytes % self._size:
                raise TypeError("%s: a buffer of %d bytes is not a whole number of them" % (carries, mv.nbytes))
            return mv.cast("B"), mv.nbytes // self._size
        carries = "channel %r carries %s (%r)" % (self.name, _C_TYPE[tc], tc)
        if tc == "u" and isinstance(data, str):
            data = [ord(c) for c in data]
        elif tc == "c" and isinstance(data, (bytes, bytearray)):
            return data, len(data)
        elif isinstance(data, str):
            raise TypeError("%s: send %s, not str" % (carries, "bytes" if tc == "c" else "numbers or a buffer")
                            + (" (encode it first)" if tc == "c" else ""))
        try:
            mv = memoryview(data)
        except TypeError:
            try:
                mv = memoryview(_array.array(_ARRAY_CODE[tc], data))
            except (TypeError, OverflowError) as e:
                raise type(e)("%s: %s" % (carries, e)) from None
        if not mv.c_contiguous:
            raise TypeError("%s: %s" % (carries, _NOT_CONTIGUOUS))
        fmt = mv.format.lstrip("@=<")
        ok = fmt == _ARRAY_CODE[tc] or _SAME.get(fmt, fmt) == _SAME.get(_ARRAY_CODE[tc]) or (
            tc == "c" and fmt in "cbB")
        if mv.itemsize != self._size or not ok:
            given = "%s (%r)" % (_C_TYPE[fmt], fmt) if fmt in _C_TYPE else "format %r" % mv.format
            raise TypeError("%s, not a buffer of %s" % (carries, given))
        return mv, mv.nbytes // self._size

    def _wait(self, call, timeout):
        """call(until) until it is done, in slices; TimeoutError after
        timeout seconds (0: try once)."""
        def checked(until):
            self._seg._check_open()
            return call(until)
        with self._seg._hold():
            if timeout == 0:
                rc = checked(0)  # SHMKIT_NOWAIT: EAGAIN if it must wait
            else:
                # ValueError for a negative timeout, whose deadline ctypes could wrap into the future
                rc = _sync.sliced(checked, _sync._deadline(timeout), _CHAN_SLICE_NS)
        if rc in (errno.EAGAIN, errno.ETIMEDOUT):
            raise TimeoutError(errno.ETIMEDOUT, "channel %r: timed out" % self.name)
        return rc

    def send(self, data, timeout=None):
        """Send data as one message, waiting while the channel is full (up
        to timeout seconds: TimeoutError). ChannelEndedError after end;
        ValueError if longer than maxlen."""
        self._check_closed()
        self._seg._check_writable()
        buf, count = self._elements(data)
        if count > self.maxlen:
            raise ValueError("channel %r: message of %d elements, at most %d" % (self.name, count, self.maxlen))
        anchor = _anchor(buf) if count else None  # kept alive until the call returns
        addr = ctypes.addressof(anchor) if count else None
        rc = self._wait(lambda until: n.lib.shmkit_chan_send(ctypes.byref(self._ch), addr, count, until), timeout)
        _errors.check(rc, "channel %r" % self.name)

    def send_values(self, data, timeout=None):
        """Send each element of data (a list, or a buffer of the channel's
        element type) as a message of its own, as many send([x]) calls
        would, in runs published together; return how many were sent. A
        timeout (TimeoutError) or an error leaves the values before it
        sent: a timeout after some were sent returns their number, and an
        error (ChannelEndedError, PeerDeadError, ...) carries it as .sent."""
        self._check_closed()
        self._seg._check_writable()
        buf, count = self._elements(data)
        if count == 0:
            return 0
        anchor = _anchor(buf)  # kept alive until the calls return
        addr, done, sent = ctypes.addressof(anchor), 0, ctypes.c_uint64()

        def call(until):
            nonlocal done
            rc = n.lib.shmkit_chan_send_values(ctypes.byref(self._ch), addr + done * self._size, count - done,
                                               ctypes.byref(sent), until)
            done += sent.value
            return rc
        try:
            rc = self._wait(call, timeout)
            _errors.check(rc, "channel %r" % self.name)
        except TimeoutError:
            if done:
                return done
            raise
        except (_errors.ShmkitError, OSError) as e:  # ChannelEndedError, PeerDeadError, ...: how many went first
            e.sent = done
            raise
        return done

    def recv_values_into(self, buffer, timeout=None):
        """Receive into a writable buffer every one-element message that is
        queued, as many as it holds, waiting for the first (up to timeout
        seconds: TimeoutError); return how many. A longer message ends the
        batch and stays queued for recv() (ValueError if it is the first);
        an empty one is taken and ends the batch (0 if it was the first).
        On a joinable channel it takes one message a call: one task_done()
        is owed per call."""
        mv = self._receive_buffer(buffer, "recv_values_into")
        cap = mv.nbytes // self._size
        if cap == 0:
            return 0
        got = ctypes.c_uint64()
        addr = ctypes.addressof(ctypes.c_char.from_buffer(mv))
        rc = self._wait(lambda until: n.lib.shmkit_chan_recv_values(ctypes.byref(self._ch), addr, cap,
                                                                    ctypes.byref(got), until), timeout)
        if rc == n.ESHORTBUF:
            raise ValueError("channel %r: the next message is not one value" % self.name)
        _errors.check(rc, "channel %r" % self.name)
        return got.value

    def recv_values(self, max_values, timeout=None):
        """Receive up to max_values one-element messages, every one queued,
        waiting for the first; return them as recv() returns a message (a
        list; bytes for 'c', str for 'u'; records for a record channel)."""
        if not isinstance(max_values, int) or isinstance(max_values, bool) or max_values < 0:
            raise ValueError("channel %r: max_values must be an int >= 0, not %r" % (self.name, max_values))
        return self._as_message(self._filled(max_values, lambda buf: self.recv_values_into(buf, timeout)))

    def recv_into(self, buffer, timeout=None):
        """Receive the next message into a writable buffer; return its
        number of elements."""
        mv = self._receive_buffer(buffer, "recv_into")
        cap = min(mv.nbytes // self._size, 0xFFFFFFFF)  # C takes a uint32_t; more would wrap
        got = ctypes.c_uint32()
        anchor = ctypes.c_char.from_buffer(mv) if mv.nbytes else None
        addr = ctypes.addressof(anchor) if anchor is not None else None
        rc = self._wait(lambda until: n.lib.shmkit_chan_recv(ctypes.byref(self._ch), addr, cap, ctypes.byref(got),
                                                             until), timeout)
        if rc == n.ESHORTBUF:
            raise ValueError("channel %r: message of %d elements, buffer holds %d" % (self.name, got.value, cap))
        _errors.check(rc, "channel %r" % self.name)
        return got.value

    def recv_array(self, timeout=None):
        """Receive the next message as an array.array; a record channel's
        as records (see records())."""
        return self._filled(self.maxlen, lambda buf: self.recv_into(buf, timeout))

    def recv(self, timeout=None):
        """Receive the next message, waiting while the channel is empty (up
        to timeout seconds: TimeoutError). EOFError once it is closed and
        drained; PeerDeadError if every sender died without closing it."""
        return self._as_message(self.recv_array(timeout))

    def _receive_buffer(self, buffer, what):
        """buffer as bytes to receive into, once the handle and the segment
        may be written (receiving moves the channel's head)."""
        self._check_closed()
        self._seg._check_writable()
        mv = memoryview(buffer).cast("B")
        if mv.readonly:
            raise TypeError("%s needs a writable buffer" % what)
        return mv

    def _filled(self, count, into):
        """A buffer of count elements that into(buffer) fills, returning how
        many it wrote: an array.array cut to them, or records."""
        if self.layout is not None:
            buf = bytearray(count * self._size)
            return _records.view(buf, self.layout, into(buf))
        buf = _array.array(_ARRAY_CODE[self.typecode], bytes(count * self._size))
        del buf[into(buf):]
        return buf

    def _as_message(self, a):
        """What _filled gave, as recv() returns a message: a list; bytes for
        'c', str for 'u'; a record channel's records as they are."""
        if self.layout is not None:  # a numpy structured array, or ctypes records
            return a
        if self.typecode == "c":
            return a.tobytes()
        if self.typecode == "u":
            return "".join(map(chr, a))
        return a.tolist()

    def end(self):
        """End the stream for every process: sends fail with
        ChannelEndedError, receivers get what is queued, then EOFError."""
        self._check_closed()
        self._seg._check_writable()
        rc = n.lib.shmkit_chan_end(ctypes.byref(self._ch))
        if rc == n.EENDED:
            raise _errors.ChannelEndedError(rc, "channel %r: already ended" % self.name)
        _errors.check(rc, "channel %r" % self.name)

    def close(self):
        """Let go of this handle, as multiprocessing's Queue.close() does:
        the stream goes on for everyone (end() ends it). On a
        single-producer channel the sides this handle holds are given back,
        so another handle may take them at once. Later calls on this
        handle raise ValueError; a second close() does nothing."""
        if self._closed:
            return
        self._seg._check_open()
        self._closed = True
        if not self._seg.readonly:  # a read-only handle holds no side: nothing to give back
            n.lib.shmkit_chan_close(ctypes.byref(self._ch))

    def task_done(self):
        """Mark one received message handled (a joinable channel only), as
        JoinableQueue.task_done: ValueError if called more times than
        messages were received."""
        self._check_closed()
        self._seg._check_writable()
        rc = n.lib.shmkit_chan_task_done(ctypes.byref(self._ch))
        if rc == errno.EINVAL:
            raise ValueError("task_done() called too many times")
        if rc == errno.ENOTSUP:
            raise TypeError("channel %r is not joinable" % self.name)
        _errors.check(rc, "channel %r" % self.name)

    def join(self, timeout=None):
        """Wait until every message sent has been received and marked done;
        False if timeout seconds passed first. A message whose receiver died
        before task_done() stays unfinished: only the timeout ends the wait
        then. PeerDeadError if messages are queued and every receiver died."""
        self._check_closed()
        try:
            rc = self._wait(lambda until: n.lib.shmkit_chan_join(ctypes.byref(self._ch), until), timeout)
        except TimeoutError:
            return False
        if rc == errno.ENOTSUP:
            raise TypeError("channel %r is not joinable" % self.name)
        _errors.check(rc, "channel %r" % self.name)
        return True

    def register(self, sender):
        """Record this process as a sender (or receiver) now, not at its
        first send (recv); see the Go package's RegisterSender."""
        self._check_closed()
        self._seg._check_writable()
        _errors.check(n.lib.shmkit_chan_register(ctypes.byref(self._ch), bool(sender)), "channel %r" % self.name)

    def expect_sender(self, pid):
        """Record process pid as a sender before it runs: a program this one
        started (subprocess.Popen(...).pid). If it dies, whether or not it
        ever opened the channel, a blocked recv() raises PeerDeadError
        once every recorded sender is dead, instead of waiting for good."""
        self._expect(pid, True)

    def expect_receiver(self, pid):
        """Record process pid as a receiver before it runs; see
        expect_sender. A send() blocked on a full channel, or a join() with
        messages queued, then raises PeerDeadError once it has died."""
        self._expect(pid, False)

    def _expect(self, pid, sender):
        self._check_closed()
        self._seg._check_writable()
        if not isinstance(pid, int) or not 0 < pid < 2**31:
            raise ValueError("channel %r: %r is not a process id" % (self.name, pid))
        _errors.check(n.lib.shmkit_chan_expect(ctypes.byref(self._ch), sender, pid), "channel %r" % self.name)

    def __iter__(self):
        while True:
            try:
                yield self.recv()
            except EOFError:
                return

    def __repr__(self):
        if self._seg.closed:
            return "<shmkit.Channel %r of %r, closed segment>" % (self.name, self.typecode)
        if self._closed:
            return "<shmkit.Channel %r of %r, closed handle>" % (self.name, self.typecode)
        return "<shmkit.Channel %r of %r, %d/%d>" % (self.name, self.typecode, len(self), self.slots)
