"""Loading libshmkit, the project's C library, and declaring its API.

The library is found, in order: at $SHMKIT_LIBRARY; next to this package
(built by ``pip install``); or compiled from the C sources in ``_c/`` with
the machine's C compiler ($CC, else ``cc``) into a cache directory, once per
version of the sources.
"""

import ctypes
import glob
import hashlib
import os
import subprocess
import sys
import tempfile

_HERE = os.path.dirname(os.path.abspath(__file__))
_SOURCES = [os.path.join(_HERE, "_c", "shmkit.c"), os.path.join(_HERE, "_c", "shmkit.h")]


class Segment(ctypes.Structure):
    _fields_ = [
        ("base", ctypes.c_void_p),
        ("size", ctypes.c_uint64),
        ("dir_capacity", ctypes.c_uint32),
        ("fd", ctypes.c_int),
        ("owned", ctypes.c_int),
    ]


class Object(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char * 64),
        ("kind", ctypes.c_uint32),
        ("typecode", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("count", ctypes.c_uint64),
        ("offset", ctypes.c_uint64),
        ("length", ctypes.c_uint64),
        ("param0", ctypes.c_uint64),
        ("param1", ctypes.c_uint64),
        ("data", ctypes.c_void_p),
        ("lock", ctypes.c_void_p),
        ("desc", ctypes.c_void_p),
        ("elem_size", ctypes.c_uint64),
    ]


class StructDesc(ctypes.Structure):
    """struct shmkit_struct_desc: a record's layout; Field records follow."""
    _fields_ = [
        ("type_name", ctypes.c_char * 48),
        ("size", ctypes.c_uint32),
        ("align", ctypes.c_uint32),
        ("fields", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
    ]


class Field(ctypes.Structure):
    """struct shmkit_field: one leaf of a record."""
    _fields_ = [
        ("name", ctypes.c_char * 48),
        ("offset", ctypes.c_uint32),
        ("count", ctypes.c_uint32),
        ("typecode", ctypes.c_uint8),
        ("reserved", ctypes.c_uint8 * 7),
    ]


class Chan(ctypes.Structure):
    _fields_ = [
        ("h", ctypes.c_void_p),
        ("slots_base", ctypes.c_void_p),
        ("slots", ctypes.c_uint64),
        ("stride", ctypes.c_uint64),
        ("max_len", ctypes.c_uint32),
        ("elem_size", ctypes.c_uint32),
        ("pid", ctypes.c_uint32),
        ("send_registered", ctypes.c_int),
        ("recv_registered", ctypes.c_int),
        ("spsc", ctypes.c_int),
        ("cap", ctypes.c_uint64),
        ("token", ctypes.c_uint64),
        ("tail", ctypes.c_uint64),
        ("head_seen", ctypes.c_uint64),
        ("head", ctypes.c_uint64),
        ("send_leased", ctypes.c_int),
        ("recv_leased", ctypes.c_int),
        ("eof", ctypes.c_int),
        ("recv_stale", ctypes.c_uint32),
        ("send_stale", ctypes.c_uint32),
        ("joinable", ctypes.c_int),
        ("readonly", ctypes.c_int),
    ]


class DictStats(ctypes.Structure):
    _fields_ = [(f, ctypes.c_uint64) for f in ("count", "slots", "heap_size", "used", "recoveries")]


def _cache_dir():
    if os.environ.get("SHMKIT_CACHE"):
        return os.environ["SHMKIT_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "shmkit")


def _build():
    """Compile the C sources into the cache, once per version of them."""
    digest = hashlib.sha256()
    for path in _SOURCES:
        with open(path, "rb") as f:
            digest.update(f.read())
    target = os.path.join(_cache_dir(), "libshmkit-%s.so" % digest.hexdigest()[:16])
    if os.path.exists(target):
        return target
    os.makedirs(os.path.dirname(target), exist_ok=True)
    cc = os.environ.get("CC", "cc")
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=os.path.dirname(target))
    os.close(fd)
    try:
        cmd = [cc, "-O2", "-shared", "-fPIC", "-o", tmp, _SOURCES[0], "-lpthread"]
        res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if res.returncode != 0:
            raise ImportError("shmkit: building libshmkit failed: %s\n%s"
                              % (" ".join(cmd), res.stdout.decode(errors="replace")))
        os.replace(tmp, target)  # atomic: concurrent builders agree
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _find():
    if os.environ.get("SHMKIT_LIBRARY"):
        return os.environ["SHMKIT_LIBRARY"]
    built = sorted(glob.glob(os.path.join(_HERE, "_libshmkit*.so")))
    if built:
        return built[0]
    if all(os.path.exists(p) for p in _SOURCES):
        return _build()
    raise ImportError("shmkit: libshmkit not found: set SHMKIT_LIBRARY, or install with pip, "
                      "or keep the C sources in %s" % os.path.join(_HERE, "_c"))


def _declare(lib):
    P = ctypes.POINTER
    c_int, c_u32, c_u64, c_i64 = ctypes.c_int, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_int64
    vp, cp = ctypes.c_void_p, ctypes.c_char_p
    sigs = {
        "shmkit_attach": (c_int, [cp, c_int, P(Segment)]),
        "shmkit_create": (c_int, [cp, c_u64, c_u32, ctypes.c_uint, P(Segment)]),
        "shmkit_check": (c_int, [vp, c_u64, c_int, P(Segment)]),
        "shmkit_detach": (c_int, [P(Segment)]),
        "shmkit_unlink": (c_int, [cp]),
        "shmkit_typecode_size": (ctypes.c_uint, [c_int]),
        "shmkit_struct_size": (c_u64, [vp]),
        "shmkit_object_desc": (c_int, [P(Object), vp, c_u64]),
        "shmkit_check_name": (c_int, [cp, c_u64, c_int]),
        "shmkit_new_struct_elems": (c_int, [P(Segment), cp, vp, c_u64, c_int, c_int, vp, P(Object)]),
        "shmkit_new_struct_channel": (c_int, [P(Segment), cp, vp, c_u32, c_u32, ctypes.c_uint, P(Object)]),
        "shmkit_elem_add": (c_int, [vp, c_int, vp, vp]),
        "shmkit_elem_cas": (c_int, [vp, c_int, vp, vp, P(c_int)]),
        "shmkit_elem_swap": (c_int, [vp, c_int, vp, vp]),
        "shmkit_nsem_open": (c_int, [cp, c_int, ctypes.c_uint, ctypes.c_uint, P(vp)]),
        "shmkit_nsem_close": (c_int, [vp]),
        "shmkit_nsem_unlink": (c_int, [cp]),
        "shmkit_nsem_trywait": (c_int, [vp]),
        "shmkit_nsem_timedwait": (c_int, [vp, c_i64]),
        "shmkit_nsem_post": (c_int, [vp]),
        "shmkit_nsem_getvalue": (c_int, [vp, P(c_int)]),
        "shmkit_object_slots": (c_u32, [P(Segment)]),
        "shmkit_object_at": (c_int, [P(Segment), c_u32, P(Object)]),
        "shmkit_lookup": (c_int, [P(Segment), cp, c_u32, c_int, P(Object)]),
        "shmkit_new_elems": (c_int, [P(Segment), cp, c_int, c_u64, c_int, c_int, vp, P(Object)]),
        "shmkit_new_semaphore": (c_int, [P(Segment), cp, ctypes.c_uint, c_int, P(Object)]),
        "shmkit_new_mutex": (c_int, [P(Segment), cp, c_int, P(Object)]),
        "shmkit_new_channel": (c_int, [P(Segment), cp, c_int, c_u32, c_u32, P(Object)]),
        "shmkit_new_spsc_channel": (c_int, [P(Segment), cp, c_int, c_u32, c_u32, P(Object)]),
        "shmkit_new_channel_flags": (c_int, [P(Segment), cp, c_int, c_u32, c_u32, ctypes.c_uint, P(Object)]),
        "shmkit_new_queue": (c_int, [P(Segment), cp, c_u32, c_u32, ctypes.c_uint64]),
        "shmkit_new_pipe": (c_int, [P(Segment), cp, c_int, c_u32, c_u32, c_int]),
        "shmkit_chan_task_done": (c_int, [P(Chan)]),
        "shmkit_chan_join": (c_int, [P(Chan), c_i64]),
        "shmkit_now_ns": (c_i64, []),
        "shmkit_strerror": (cp, [c_int]),
        "shmkit_api_sizes": (None, [P(c_u64)]),
        "shmkit_sem_wait": (c_int, [vp]),
        "shmkit_sem_trywait": (c_int, [vp]),
        "shmkit_sem_timedwait": (c_int, [vp, c_i64]),
        "shmkit_sem_post": (c_int, [vp]),
        "shmkit_sem_getvalue": (c_int, [vp, P(c_int)]),
        "shmkit_mutex_lock": (c_int, [vp]),
        "shmkit_mutex_trylock": (c_int, [vp]),
        "shmkit_mutex_timedlock": (c_int, [vp, c_i64]),
        "shmkit_mutex_unlock": (c_int, [vp]),
        "shmkit_mutex_consistent": (c_int, [vp]),
        "shmkit_chan_open": (c_int, [P(Segment), cp, c_int, P(Chan)]),
        "shmkit_chan_send": (c_int, [P(Chan), vp, c_u32, c_i64]),
        "shmkit_chan_recv": (c_int, [P(Chan), vp, c_u32, P(c_u32), c_i64]),
        "shmkit_chan_send_values": (c_int, [P(Chan), vp, c_u64, P(c_u64), c_i64]),
        "shmkit_chan_recv_values": (c_int, [P(Chan), vp, c_u64, P(c_u64), c_i64]),
        "shmkit_chan_end": (c_int, [P(Chan)]),
        "shmkit_chan_register": (c_int, [P(Chan), c_int]),
        "shmkit_chan_expect": (c_int, [P(Chan), c_int, ctypes.c_int32]),
        "shmkit_chan_close": (None, [P(Chan)]),
        "shmkit_chan_len": (c_u64, [P(Chan)]),
        "shmkit_new_cond": (c_int, [P(Segment), cp, P(Object)]),
        "shmkit_new_event": (c_int, [P(Segment), cp, P(Object)]),
        "shmkit_new_barrier": (c_int, [P(Segment), cp, c_u32, P(Object)]),
        "shmkit_event_set": (c_int, [vp]),
        "shmkit_event_clear": (None, [vp]),
        "shmkit_event_is_set": (c_int, [vp]),
        "shmkit_event_wait": (c_int, [vp, c_i64]),
        "shmkit_cond_enter": (c_u32, [vp]),
        "shmkit_cond_leave": (None, [vp]),
        "shmkit_cond_notify": (c_int, [vp, c_int]),
        "shmkit_barrier_arrive": (c_int, [vp, P(c_u32), P(c_u32)]),
        "shmkit_barrier_outcome": (c_int, [vp, c_u32]),
        "shmkit_barrier_timeout": (c_int, [vp, c_u32]),
        "shmkit_barrier_abort": (c_int, [vp]),
        "shmkit_barrier_reset": (c_int, [vp]),
        "shmkit_futex_wait": (c_int, [vp, c_u32, c_i64]),
        "shmkit_load32": (c_u32, [vp]),
        "shmkit_new_dict": (c_int, [P(Segment), cp, cp, c_int, P(Object)]),
        "shmkit_dict_attach": (c_int, [vp, c_u64, c_int, P(vp)]),
        "shmkit_dict_close": (None, [vp]),
        "shmkit_dict_unlink": (c_int, [vp, c_u64]),
        "shmkit_dict_get": (c_int, [vp, c_int, cp, c_u64, P(c_int), vp, c_u64, P(c_u64)]),
        "shmkit_dict_set": (c_int, [vp, c_int, cp, c_u64, c_int, cp, c_u64]),
        "shmkit_dict_delete": (c_int, [vp, c_int, cp, c_u64]),
        "shmkit_dict_load_or_store": (c_int, [vp, c_int, cp, c_u64, c_int, cp, c_u64, P(c_int), P(c_int), vp,
                                              c_u64, P(c_u64)]),
        "shmkit_dict_cas": (c_int, [vp, c_int, cp, c_u64, c_int, cp, c_u64, c_int, cp, c_u64, P(c_int)]),
        "shmkit_dict_add": (c_int, [vp, c_int, cp, c_u64, c_i64, P(c_i64)]),
        "shmkit_dict_len": (c_int, [vp, P(c_u64)]),
        "shmkit_dict_clear": (c_int, [vp]),
        "shmkit_dict_next": (c_int, [vp, P(c_u64), P(c_u64), P(c_int), P(c_int), vp, c_u64, P(c_u64), P(c_int),
                                     vp, c_u64, P(c_u64)]),
        "shmkit_dict_stats": (c_int, [vp, P(DictStats)]),
        "shmkit_list_len": (c_int, [vp, P(c_u64)]),
        "shmkit_list_get": (c_int, [vp, c_u64, P(c_int), vp, c_u64, P(c_u64)]),
        "shmkit_list_set": (c_int, [vp, c_u64, c_int, cp, c_u64]),
        "shmkit_list_append": (c_int, [vp, c_int, cp, c_u64]),
        "shmkit_list_insert": (c_int, [vp, c_u64, c_int, cp, c_u64]),
        "shmkit_list_pop": (c_int, [vp, c_u64, P(c_int), vp, c_u64, P(c_u64)]),
        "shmkit_list_pop_if": (c_int, [vp, c_u64, c_int, cp, c_u64, P(c_int)]),
        "shmkit_list_reverse": (c_int, [vp]),
        "shmkit_list_get_end": (c_int, [vp, c_u64, P(c_int), vp, c_u64, P(c_u64)]),
        "shmkit_list_set_end": (c_int, [vp, c_u64, c_int, cp, c_u64]),
        "shmkit_list_insert_end": (c_int, [vp, c_u64, c_int, cp, c_u64]),
        "shmkit_list_pop_end": (c_int, [vp, c_u64, P(c_int), vp, c_u64, P(c_u64)]),
        "shmkit_dict_test_lock": (c_int, [vp]),
        "shmkit_new_pool": (c_int, [P(Segment), cp, c_u32, ctypes.c_int32, P(Object)]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    sizes = (c_u64 * 3)()
    lib.shmkit_api_sizes(sizes)
    mine = (ctypes.sizeof(Segment), ctypes.sizeof(Object), ctypes.sizeof(Chan))
    if tuple(sizes) != mine:
        raise ImportError("shmkit: %s disagrees with this package: struct sizes %s, expected %s"
                          % (lib._name, tuple(sizes), mine))
    return lib


lib = _declare(ctypes.CDLL(_find(), use_errno=False))

# errno values the C library returns, by meaning (shmkit.h, by way of _h).
from ._h import (ECORRUPT, EENDED, EEOF, EINUSE, EKIND, ENOTSHMKIT,  # noqa: E402,F401
                 EPEERDEAD, EREADONLY, ESHORTBUF, ETOOLARGE, EVERSION)


FIELDS_MAX = 4096  # SHMKIT_FIELDS_MAX


def unsigned(value, bits, what):
    """value, an int that C receives as an unsigned integer of bits bits:
    OverflowError outside 0 .. 2**bits - 1, where ctypes would wrap it."""
    if not isinstance(value, int):
        raise TypeError("%s must be an int, not %r" % (what, value))
    if not 0 <= value < 1 << bits:
        raise OverflowError("%s %d is out of range 0..%d" % (what, value, (1 << bits) - 1))
    return value


def name_bytes(name, what, segment=False):
    """name as the C library receives it, checked by Go's rules
    (shmkit_check_name: shm.PosixName for a segment, the object directory's
    rule otherwise); ValueError if they refuse it."""
    try:
        b = name.encode("utf-8") if isinstance(name, str) else None
    except UnicodeEncodeError:
        b = None
    if b is None or lib.shmkit_check_name(b, len(b), 0 if segment else 1) != 0:
        raise ValueError("bad %s name %r" % (what, name))
    return b


if sys.byteorder != "little":  # the layout is little-endian
    raise ImportError("shmkit: the segment layout is little-endian")
