"""Process-shared semaphores and robust mutexes."""

import contextlib
import ctypes
import errno
import os

from . import _errors
from . import _h
from . import _native as n

# Blocking waits run in slices so that Ctrl-C (KeyboardInterrupt) and other
# signal handlers get to run between them.
_SLICE_NS = 100_000_000


def _deadline(timeout):
    if timeout is None:
        return None
    if timeout < 0:
        raise ValueError("timeout must be non-negative")
    return n.lib.shmkit_now_ns() + int(timeout * 1e9)


def sliced(call, deadline, slice_ns=_SLICE_NS):
    """Call call(until) with deadlines at most slice_ns apart until it
    stops timing out or deadline (None: never) passes; return its last
    result."""
    while True:
        now = n.lib.shmkit_now_ns()
        until = now + slice_ns if deadline is None else min(deadline, now + slice_ns)
        rc = call(until)
        if rc != errno.ETIMEDOUT or (deadline is not None and until >= deadline):
            return rc


def _take(seg, ptr, try_op, busy, timed_op, block, timeout):
    """Take a semaphore or mutex: try_op once (busy: it is taken) or
    timed_op in slices. None if it gave up, else the C result. seg is the
    segment it lives in, or None for a named semaphore."""
    if seg is not None:
        seg._check_writable()  # taking a lock or a unit writes to it
    if not block:
        rc = try_op(ptr)
        return None if rc == busy else rc

    def slice_(until):
        if seg is not None:
            seg._check_open()  # close() in another thread: leave before it unmaps
        return timed_op(ptr, until)
    with seg._hold() if seg is not None else contextlib.nullcontext():
        rc = sliced(slice_, _deadline(timeout))
    return None if rc == errno.ETIMEDOUT else rc



class Semaphore:
    """A process-shared counting semaphore (or a bounded one), found by name.

    Like multiprocessing.Semaphore: acquire(block=True, timeout=None)
    returns True, or False when it gives up; release() adds one.
    """

    def __init__(self, seg, obj):
        self._seg = seg
        self.name = obj.name.decode()
        self.bounded = obj.kind == _h.KIND_BOUNDED
        self._ptr = obj.data

    def acquire(self, block=True, timeout=None):
        rc = _take(self._seg, self._ptr, n.lib.shmkit_sem_trywait, errno.EAGAIN, n.lib.shmkit_sem_timedwait,
                   block, timeout)
        if rc is None:
            return False
        _errors.check(rc, "semaphore %r" % self.name)
        return True

    def release(self):
        self._seg._check_writable()
        rc = n.lib.shmkit_sem_post(self._ptr)
        if rc == errno.ERANGE:
            raise ValueError("semaphore %r released too many times" % self.name)
        _errors.check(rc, "semaphore %r" % self.name)

    def get_value(self):
        self._seg._check_open()
        v = ctypes.c_int()
        _errors.check(n.lib.shmkit_sem_getvalue(self._ptr, ctypes.byref(v)), "semaphore %r" % self.name)
        return v.value

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()

    def __repr__(self):
        if self._seg.closed:
            return "<shmkit.Semaphore %r, closed segment>" % self.name
        return "<shmkit.Semaphore %r value=%d>" % (self.name, self.get_value())


# Mutexes this process holds, with how many times (a recursive one may be
# held more than once). A held mutex keeps its segment mapped: were the
# mapping dropped, the kernel could not mark the mutex owner-dead when this
# process dies, and every other process would wait for it forever.
_held = {}
os.register_at_fork(after_in_child=_held.clear)  # a child holds none of them


def holding(seg):
    """Whether this process holds a mutex that lives in seg."""
    return any(m._seg is seg for m, _ in _held.values())


class Mutex:
    """A robust, process-shared mutex, found by name.

    If its holder dies holding it, the next acquire() takes it and raises
    OwnerDeadError; repair what it guards, call consistent(), and release().
    Releasing without consistent() makes it unusable for everyone
    (NotRecoverableError). ``with m:`` propagates OwnerDeadError with the
    mutex held, so use acquire() where a holder may die.
    """

    def __init__(self, seg, name, ptr):
        self._seg = seg
        self.name = name
        self._ptr = ptr

    def acquire(self, block=True, timeout=None):
        rc = _take(self._seg, self._ptr, n.lib.shmkit_mutex_trylock, errno.EBUSY, n.lib.shmkit_mutex_timedlock,
                   block, timeout)
        if rc is None:
            return False
        if rc in (0, errno.EOWNERDEAD):  # held either way
            _, count = _held.get(id(self), (self, 0))
            _held[id(self)] = (self, count + 1)
        if rc == errno.EDEADLK:
            raise RuntimeError("mutex %r is already held by this thread" % self.name)
        _errors.check(rc, "mutex %r" % self.name)
        return True

    def release(self):
        self._seg._check_writable()
        rc = n.lib.shmkit_mutex_unlock(self._ptr)
        if rc == errno.EPERM:
            raise RuntimeError("mutex %r released by a thread that does not hold it" % self.name)
        _errors.check(rc, "mutex %r" % self.name)
        _, count = _held.pop(id(self), (self, 1))
        if count > 1:
            _held[id(self)] = (self, count - 1)

    def consistent(self):
        """Mark the state the mutex guards as repaired after OwnerDeadError."""
        self._seg._check_writable()
        _errors.check(n.lib.shmkit_mutex_consistent(self._ptr), "mutex %r" % self.name)

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()

    def __repr__(self):
        return "<shmkit.Mutex %r>" % self.name


def _sem_name(name):
    if not isinstance(name, str) or not name.strip("/") or "/" in name.strip("/"):
        raise ValueError("bad semaphore name %r" % (name,))
    return "/" + name.lstrip("/")


class NamedSemaphore:
    """A POSIX named semaphore (sem_open), the kind Python's multiprocessing
    and C open by name, and Go's semaphore.OpenNamed. Not in a segment: it
    lives until unlink_named_semaphore() and its last close()."""

    def __init__(self, name, create=False, value=1, mode=0o600):
        self.name = _sem_name(name)
        sem = ctypes.c_void_p()
        rc = n.lib.shmkit_nsem_open(self.name.encode(), bool(create), mode, value, ctypes.byref(sem))
        if rc == errno.ENOENT:
            raise FileNotFoundError(rc, os.strerror(rc), self.name)
        if rc == errno.EEXIST:
            raise FileExistsError(rc, os.strerror(rc), self.name)
        _errors.check(rc, "named semaphore %s" % self.name)
        self._sem = sem

    def _ptr(self):
        if self._sem is None:
            raise ValueError("named semaphore %s is closed" % self.name)
        return self._sem

    def acquire(self, block=True, timeout=None):
        rc = _take(None, self._ptr(), n.lib.shmkit_nsem_trywait, errno.EAGAIN, n.lib.shmkit_nsem_timedwait,
                   block, timeout)
        if rc is None:
            return False
        _errors.check(rc, "named semaphore %s" % self.name)
        return True

    def release(self):
        _errors.check(n.lib.shmkit_nsem_post(self._ptr()), "named semaphore %s" % self.name)

    def get_value(self):
        v = ctypes.c_int()
        _errors.check(n.lib.shmkit_nsem_getvalue(self._ptr(), ctypes.byref(v)), "named semaphore %s" % self.name)
        return v.value

    def close(self):
        if self._sem is not None:
            sem, self._sem = self._sem, None
            _errors.check(n.lib.shmkit_nsem_close(sem), "named semaphore %s" % self.name)

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()

    def __repr__(self):
        if self._sem is None:
            return "<shmkit.NamedSemaphore %s closed>" % self.name
        return "<shmkit.NamedSemaphore %s value=%d>" % (self.name, self.get_value())


def named_semaphore(name, create=False, value=1, mode=0o600):
    """Open the named semaphore name, or with create make it (FileExistsError
    if it exists) with value and permission bits mode."""
    return NamedSemaphore(name, create, value, mode)


def unlink_named_semaphore(name):
    """Remove a named semaphore's name (sem_unlink)."""
    name = _sem_name(name)
    rc = n.lib.shmkit_nsem_unlink(name.encode())
    if rc == errno.ENOENT:
        raise FileNotFoundError(rc, os.strerror(rc), name)
    _errors.check(rc, "named semaphore %s" % name)
