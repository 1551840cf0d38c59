"""Process-shared semaphores and robust mutexes."""

import contextlib
import ctypes
import errno
import os
import threading

from . import _errors
from . import _h
from . import _native as n

# Blocking waits run in slices so that Ctrl-C (KeyboardInterrupt) and other
# signal handlers get to run between them.
_SLICE_NS = 100_000_000


def _deadline(timeout):
    """The monotonic deadline in ns of a wait of timeout seconds; None
    (and float('inf')) is as long as it takes."""
    if timeout is None:
        return None
    if timeout != timeout:  # NaN: it is no length of time
        raise ValueError("timeout must be a number of seconds, not nan")
    if timeout < 0:
        raise ValueError("timeout must be non-negative")
    if timeout == float("inf"):
        return None
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
    """"/foo" for "foo" or "/foo", by the rules of segment names."""
    n.name_bytes(name, "semaphore", segment=True)
    return name if name.startswith("/") else "/" + name


class NamedSemaphore:
    """A POSIX named semaphore (sem_open), the kind Python's multiprocessing
    and C open by name, and Go's semaphore.OpenNamed. Not in a segment: it
    lives until unlink_named_semaphore() and its last close()."""

    def __init__(self, name, create=False, value=1, mode=0o600):
        self.name = _sem_name(name)
        sem = ctypes.c_void_p()
        rc = n.lib.shmkit_nsem_open(self.name.encode(), bool(create), n.unsigned(mode, 32, "mode"),
                                    n.unsigned(value, 32, "semaphore value"), ctypes.byref(sem))
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


class Event:
    """A process-shared event, found by name: multiprocessing.Event, and the
    same object as Go's semaphore.Event and C's shmkit_event_*."""

    def __init__(self, seg, obj):
        self._seg = seg
        self.name = obj.name.decode()
        self._ptr = obj.data

    def is_set(self):
        self._seg._check_open()
        return bool(n.lib.shmkit_event_is_set(self._ptr))

    def set(self):
        self._seg._check_writable()
        _errors.check(n.lib.shmkit_event_set(self._ptr), "event %r" % self.name)

    def clear(self):
        self._seg._check_writable()
        n.lib.shmkit_event_clear(self._ptr)

    def wait(self, timeout=None):
        """Wait until the flag is set, or timeout seconds pass; return the flag."""
        self._seg._check_writable()  # a waiter counts itself in
        if n.lib.shmkit_event_is_set(self._ptr):
            return True

        def slice_(until):
            self._seg._check_open()
            return n.lib.shmkit_event_wait(self._ptr, until)
        with self._seg._hold():
            rc = sliced(slice_, _deadline(timeout))
        if rc == errno.ETIMEDOUT:
            return False
        _errors.check(rc, "event %r" % self.name)
        return True

    def __repr__(self):
        if self._seg.closed:
            return "<shmkit.Event %r, closed segment>" % self.name
        return "<shmkit.Event %r %s>" % (self.name, "set" if self.is_set() else "clear")


def _sleep_until_changed(seg, word_ptr, expected, deadline):
    """Sleep (in slices) while the 32-bit word at word_ptr holds expected;
    True once it moved, False at the deadline."""
    word = word_ptr

    def slice_(until):
        seg._check_open()
        if n.lib.shmkit_load32(word) != expected:
            return 0
        rc = n.lib.shmkit_futex_wait(word, expected, until)
        if rc == 0 and n.lib.shmkit_load32(word) == expected:
            return errno.ETIMEDOUT if n.lib.shmkit_now_ns() >= until else errno.EAGAIN
        return rc
    while True:
        rc = sliced(slice_, deadline)
        if rc != errno.EAGAIN:  # a wake that left the word as it was: look again
            break
    if rc == errno.ETIMEDOUT:
        return False
    _errors.check(rc, "wait")
    return True


class Condition:
    """A process-shared condition variable used with a shmkit Mutex:
    multiprocessing.Condition(lock), and the same object as Go's
    semaphore.Cond. wait() releases the mutex (every level of a recursive
    one) and takes it again before it returns, also on timeout; as with
    every condition, re-check the predicate after a wake (wait_for does)."""

    def __init__(self, seg, obj, lock):
        if not isinstance(lock, Mutex):
            raise TypeError("condition %r needs a shmkit Mutex, not %r" % (obj.name.decode(), lock))
        self._seg = seg
        self.name = obj.name.decode()
        self._ptr = obj.data
        self._lock = lock

    def acquire(self, block=True, timeout=None):
        return self._lock.acquire(block, timeout)

    def release(self):
        self._lock.release()

    def __enter__(self):
        self._lock.acquire()
        return self

    def __exit__(self, *exc):
        self._lock.release()

    def wait(self, timeout=None):
        """Wait for notify() or notify_all(); False if timeout seconds passed first."""
        self._seg._check_writable()
        _, levels = _held.get(id(self._lock), (None, 0))
        if levels == 0:
            raise RuntimeError("condition %r: wait() without holding its mutex %r" % (self.name, self._lock.name))
        deadline = _deadline(timeout)
        seq = n.lib.shmkit_cond_enter(self._ptr)
        try:
            for _ in range(levels):
                self._lock.release()
            with self._seg._hold():
                woken = _sleep_until_changed(self._seg, self._ptr, seq, deadline)
        finally:
            n.lib.shmkit_cond_leave(self._ptr)
            for _ in range(levels - _held.get(id(self._lock), (None, 0))[1]):
                self._lock.acquire()  # OwnerDeadError propagates with the mutex held
        return woken

    def wait_for(self, predicate, timeout=None):
        """Wait until predicate() is true, or timeout seconds pass; return its last value."""
        deadline = _deadline(timeout)
        result = predicate()
        while not result:
            left = None
            if deadline is not None:
                left = (deadline - n.lib.shmkit_now_ns()) / 1e9
                if left <= 0:
                    break
            self.wait(left)
            result = predicate()
        return result

    def notify(self, n_=1):
        """Wake up to n_ waiters; as multiprocessing's and threading's, only
        while this process holds the condition's mutex (RuntimeError)."""
        self._seg._check_writable()
        if _held.get(id(self._lock), (None, 0))[1] == 0:
            raise RuntimeError("condition %r: notify() without holding its mutex %r" % (self.name, self._lock.name))
        if n_ < 0:
            raise ValueError("notify(%d): n must be non-negative" % n_)
        if n_:
            _errors.check(n.lib.shmkit_cond_notify(self._ptr, min(n_, 2**31 - 1)), "condition %r" % self.name)

    def notify_all(self):
        self.notify(2**31 - 1)

    def __repr__(self):
        return "<shmkit.Condition %r on %r>" % (self.name, self._lock.name)


class Barrier:
    """A process-shared barrier, found by name: multiprocessing.Barrier, and
    the same object as Go's semaphore.Barrier. wait() returns this party's
    arrival index; a wait that times out breaks the barrier, and every
    waiter then raises threading.BrokenBarrierError until reset()."""

    def __init__(self, seg, obj, timeout=None):
        self._seg = seg
        self.name = obj.name.decode()
        self._ptr = obj.data
        self.timeout = timeout

    @property
    def parties(self):
        self._seg._check_open()
        return n.lib.shmkit_load32(self._ptr + _BarrierState.parties.offset)

    @property
    def n_waiting(self):
        self._seg._check_open()
        return n.lib.shmkit_load32(self._ptr + _BarrierState.count.offset)

    @property
    def broken(self):
        self._seg._check_open()
        return n.lib.shmkit_load32(self._ptr + _BarrierState.broken.offset) != 0

    def wait(self, timeout=None):
        self._seg._check_writable()
        if timeout is None:
            timeout = self.timeout
        deadline = _deadline(timeout)
        index, gen = ctypes.c_uint32(), ctypes.c_uint32()
        self._check(n.lib.shmkit_barrier_arrive(self._ptr, ctypes.byref(index), ctypes.byref(gen)))
        if index.value == self.parties - 1:
            return index.value  # the last arrival tripped it
        gen_ptr = self._ptr + _BarrierState.gen.offset
        with self._seg._hold():
            done = _sleep_until_changed(self._seg, gen_ptr, gen.value, deadline)
        if done:
            self._check(n.lib.shmkit_barrier_outcome(self._ptr, gen.value))
        elif n.lib.shmkit_barrier_timeout(self._ptr, gen.value) != 0:
            raise threading.BrokenBarrierError("barrier %r: timed out, now broken" % self.name)
        return index.value

    def _check(self, rc):
        if rc == errno.ESHUTDOWN:
            raise threading.BrokenBarrierError("barrier %r is broken" % self.name)
        _errors.check(rc, "barrier %r" % self.name)

    def abort(self):
        self._seg._check_writable()
        self._check(n.lib.shmkit_barrier_abort(self._ptr))

    def reset(self):
        self._seg._check_writable()
        self._check(n.lib.shmkit_barrier_reset(self._ptr))

    def __repr__(self):
        if self._seg.closed:
            return "<shmkit.Barrier %r, closed segment>" % self.name
        return "<shmkit.Barrier %r waiters=%d/%d>" % (self.name, self.n_waiting, self.parties)


class _BarrierState(ctypes.Structure):
    """struct shmkit_barrier past its mutex (shmkit.h)."""
    _fields_ = [("lock", ctypes.c_uint8 * 64), ("gen", ctypes.c_uint32), ("parties", ctypes.c_uint32),
                ("count", ctypes.c_uint32), ("broken", ctypes.c_uint32), ("broken_gen", ctypes.c_uint32),
                ("reserved", ctypes.c_uint8 * 44)]
