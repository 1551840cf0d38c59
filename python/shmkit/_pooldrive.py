"""A process pool driven from Python whose workers are another program:
a Go program's registered tasks (package pool), a C program serving
shmkit_pool_main, or Python serving serve_pool. The protocol is the one
the Go driver speaks (cgo/shmkit.h, "A process pool"); values cross as the
program's task list says, never pickled (docs/interop.md)."""

import array
import atexit
import collections
import errno
import ctypes
import functools
import itertools
import json
import os
import signal
import struct
import subprocess
import sys
import threading
import traceback
import weakref

from . import _errors
from . import _h
from . import _native as n
from ._segment import create, unlink

ROLE_ENV, WORKER_ROLE, TASKS_ROLE = _h.POOL_ROLE_ENV, _h.POOL_WORKER_ROLE, _h.POOL_TASKS_ROLE

_HEADER, _ROW = 128, 64
_STARTING, _IDLE, _BUSY, _EXITED = _h.POOL_STARTING, _h.POOL_IDLE, _h.POOL_BUSY, _h.POOL_EXITED
_OK, _ERROR, _PANIC, _TOOLARGE = _h.POOL_OK, _h.POOL_ERROR, _h.POOL_PANIC, _h.POOL_TOOLARGE
# Offsets in the table's header and rows (struct shmkit_pool, _worker).
_H_CLOSED, _H_QUEUED, _H_INFLIGHT, _H_DONE, _H_FAILED, _H_RETRIED, _H_STARTS = 16, 24, 32, 40, 48, 56, 64
_R_PID, _R_STATE, _R_GEN, _R_TASK, _R_DONE, _R_EXIT, _R_ITEM = 0, 4, 8, 16, 24, 32, 36
# struct shmkit_channel.head: how far the receiver has taken (0 until its first message).
_CHAN_HEAD = 128


class PoolError(_errors.ShmkitError):
    """Base of the pool's errors."""


class TaskError(PoolError):
    """A task failed in its worker: it returned an error (or raised), or
    panicked (panicked is True; the worker was replaced). text is the
    worker's message; index the task's place in its call."""

    def __init__(self, text, panicked=False, index=None):
        super().__init__(text)
        self.text, self.panicked, self.index = text, panicked, index


class TooLargeError(TaskError):
    """A task's result (or its error's message) was longer than the pool's
    messages hold: max_message. Known by its answer's status, never by its
    words."""


class WorkerDiedError(PoolError):
    """The worker running the task died, as many times as the pool's
    retries allow: pid, name (PoolWorker-N), exitcode (as Popen's: -N for
    signal N) and attempts (how many workers died running it)."""

    def __init__(self, pid, name, exitcode, attempts, broke_protocol=False):
        self.pid, self.name, self.exitcode, self.attempts = pid, name, exitcode, attempts
        self.broke_protocol = broke_protocol
        if exitcode < 0:
            how = "signal %d (%s)" % (-exitcode, _signame(-exitcode))
        else:
            how = "exit status %d" % exitcode
        why = ", killed by the pool for answering out of turn," if broke_protocol else ""
        super().__init__("pool: worker %s (pid %d)%s died of %s running the task (%d attempts)"
                         % (name, pid, why, how, attempts))


class WorkerStartError(PoolError):
    """Workers keep exiting before they serve a task (a bad command or
    initializer): the pool stops starting them."""


class TerminatedError(PoolError):
    """terminate() stopped the task before it had a result."""


def _signame(sig):
    try:
        return signal.Signals(sig).name
    except ValueError:
        return "signal %d" % sig


# -- values: how each kind of task input and result crosses (docs/interop.md)

_KIND = {c: "int" for c in "bhiq"}
_KIND.update({c: "uint" for c in "BHIQ"})
_KIND.update({"f": "float", "d": "float", "?": "bool", "e": "float"})
_NATIVE_SAME = {"l": "q", "L": "Q", "n": "q", "N": "Q"}  # 8-byte codes of 64-bit Linux


class _Codec:
    """Encodes values for one type code of a task list, and decodes them."""

    def __init__(self, code):
        self.code = code
        self.takes_one = True  # False for a struct: a tuple of its fields
        self.fixed = None  # a single value's size in bytes, if it has one
        self.answer_row = None
        if code in ("bytes", "binary"):
            self.encode, self.decode = self._bytes, bytes
        elif code == "str":
            self.encode = self._str
            self.decode = lambda b: bytes(b).decode("utf-8", "surrogateescape")
        elif code.startswith("<"):
            s = struct.Struct(code)
            single = len(s.unpack(bytes(s.size))) == 1
            self._s, self._single = s, single
            self.takes_one = single
            if single:  # one value of fixed size: whole chunks at once (see _encode, _handle)
                self.fixed = s.size
                self.answer_row = struct.Struct("<BI" + code[1:])
            self.encode = s.pack if single else self._plain
            self.decode = (lambda b: s.unpack(b)[0]) if single else s.unpack
        elif code.startswith("[]<"):
            s = struct.Struct(code[2:])
            if s.size == 0:
                raise ValueError("pool: slices of empty values (%r) cannot cross" % code)
            self._s = s
            self._single = len(s.unpack(bytes(s.size))) == 1
            fmt = code[3:]
            self._array = fmt if len(fmt) == 1 and fmt in "bBhHiIqQfd" and array.array(fmt).itemsize == s.size \
                else None
            self.encode, self.decode = self._slice, self._unslice
        else:
            raise ValueError("pool: a type this package cannot encode: %r" % code)

    def _bytes(self, v):
        if isinstance(v, str):
            raise TypeError("takes bytes, not str (encode it first)")
        return memoryview(v).tobytes()

    def _str(self, v):
        if not isinstance(v, str):
            raise TypeError("takes a str, not %s" % type(v).__name__)
        return v.encode("utf-8", "surrogateescape")

    def _plain(self, v):
        return self._s.pack(v) if self._single else self._s.pack(*v)

    def _slice(self, v):
        s = self._s
        try:
            mv = memoryview(v)
        except TypeError:
            mv = None
        if mv is not None:  # a buffer: numpy array, array.array, memoryview
            fmt = mv.format.lstrip("@=<")
            fmt = _NATIVE_SAME.get(fmt, fmt) if mv.itemsize == 8 else fmt
            want = self.code[3:]
            if mv.itemsize != s.size or (len(want) == 1 and _KIND.get(fmt) != _KIND.get(want)):
                raise TypeError("takes elements %r of %d bytes, not a buffer of %r of %d"
                                % (want, s.size, mv.format, mv.itemsize))
            return mv.tobytes()
        if self._single:
            return b"".join(s.pack(x) for x in v)
        return b"".join(s.pack(*x) for x in v)

    def _unslice(self, b):
        if len(b) % self._s.size:
            raise PoolError("pool: a result of %d bytes is not whole elements of %d" % (len(b), self._s.size))
        if self._array is not None:
            a = array.array(self._array)
            a.frombytes(b)
            if sys.byteorder != "little":
                a.byteswap()
            return a
        if self._single:
            return [t[0] for t in self._s.iter_unpack(b)]
        return list(self._s.iter_unpack(b))


def list_tasks(command, env=None, timeout=60):
    """Ask a worker program for its tasks: {name: (in, out)} and its
    initializers. Runs it once with SHMKIT_PROCESS=shmkit.pool.tasks, which
    a Go program (process.Dispatch), a C worker (shmkit_pool_main) and
    serve_pool answer with a JSON line."""
    e = dict(os.environ if env is None else env)
    e[ROLE_ENV] = TASKS_ROLE
    try:
        out = subprocess.run(list(command), env=e, stdout=subprocess.PIPE, timeout=timeout, check=True).stdout
        listing = json.loads(out.splitlines()[-1])
        tasks = {t["name"]: (t["in"], t["out"]) for t in listing["tasks"]}
    except (OSError, subprocess.SubprocessError, ValueError, IndexError, KeyError, TypeError) as err:
        raise PoolError("pool: %s did not list its tasks (%s); is it a pool worker program, calling "
                        "process.Dispatch first in main? Else pass tasks={name: (in, out)}" % (command[0], err)) \
            from None
    return tasks, listing.get("inits") or []


# -- the messages (wire.go)

def _task_message(cid, name, items, fixed=None):
    head = struct.pack("<QIHH", cid, len(items), len(name), 0) + name
    if fixed is not None and items:  # every item fixed bytes long: one join
        prefix = struct.pack("<I", fixed)
        return bytearray(head + prefix + prefix.join(items))
    parts = [head]
    for it in items:
        parts.append(struct.pack("<I", len(it)))
        parts.append(it)
    return bytearray(b"".join(parts))


def _fast_answers(msg, count, row, size):
    """The results of a message whose every answer is OK and size bytes,
    decoded by row ("<BI" and the value) in one pass; None otherwise."""
    if len(msg) - 16 != count * row.size:
        return None
    rows = list(row.iter_unpack(msg[16:]))
    if any(r[0] != _OK or r[1] != size for r in rows):
        return None
    return [r[2] for r in rows]


def _parse_result(msg):
    cid, count = struct.unpack_from("<QI", msg, 0)
    at, answers = 16, []
    if count > (len(msg) - 16) // 5:
        raise ValueError("%d results in %d bytes" % (count, len(msg)))
    for _ in range(count):
        status, ln = struct.unpack_from("<BI", msg, at)
        if status > _TOOLARGE or at + 5 + ln > len(msg):
            raise ValueError("result malformed")
        answers.append((status, bytes(msg[at + 5:at + 5 + ln])))
        at += 5 + ln
    return cid, answers


# -- calls

class _Job:
    """One call's tasks; answer(i, ok, value) gets each task's outcome."""

    def __init__(self, codecs, answer):
        self.lock = threading.Lock()
        self.decode, self.answer = codecs[1].decode, answer
        self.in_size, self.row, self.size = codecs[0].fixed, codecs[1].answer_row, codecs[1].fixed
        self.left, self.open, self.stop, self.complete = 0, True, False, False
        self.done = threading.Event()
        self.finish = None  # called once, when done
        self.answer_block = None  # answer_block(first, values): many OK answers at once, if set

    def add(self, k):
        with self.lock:
            self.left += k

    def deliver(self, i, status, data):
        """A worker's answer: status _OK with data, else an error."""
        if status == _OK:
            try:
                value, ok = self.decode(data), True
            except Exception as e:
                value, ok = TaskError("pool: result of task %d: %s" % (i, e), index=i), False
        elif status == _TOOLARGE:
            value, ok = TooLargeError(bytes(data).decode("utf-8", "replace"), False, i), False
        else:
            value, ok = TaskError(bytes(data).decode("utf-8", "replace"), status == _PANIC, i), False
        self.settle(i, ok, value)

    def deliver_block(self, first, values):
        """OK answers of tasks first, first+1, ... already decoded."""
        with self.lock:
            if not self.stop:
                if self.answer_block is not None:
                    self.answer_block(first, values)
                else:
                    for k, v in enumerate(values):
                        self.answer(first + k, True, v)
            self.left -= len(values)
            done = self._check()
        if done:
            self._finished()

    def settle(self, i, ok, value):
        with self.lock:
            if not self.stop:
                self.answer(i, ok, value)
            self.left -= 1
            done = self._check()
        if done:
            self._finished()

    def seal(self):
        with self.lock:
            self.open = False
            done = self._check()
        if done:
            self._finished()

    def _check(self):
        if not self.open and self.left == 0 and not self.complete:
            self.complete = True
            return True
        return False

    def _finished(self):
        """Run the callbacks, then mark the result ready (as multiprocessing)."""
        try:
            if self.finish is not None:
                self.finish()
        except Exception:
            traceback.print_exc()
        finally:
            self.done.set()


class AsyncResult:
    """The result of map_async or apply_async, as multiprocessing's."""

    def __init__(self, job, result):
        self._job, self._result = job, result

    def ready(self):
        return self._job.done.is_set()

    def wait(self, timeout=None):
        self._job.done.wait(timeout)

    def successful(self):
        if not self.ready():
            raise ValueError("result is not ready")
        return self._result()[0]

    def get(self, timeout=None):
        """The result, or the task's exception raised; TimeoutError if it
        is not there within timeout seconds."""
        if not self._job.done.wait(timeout):
            raise TimeoutError("pool: the result is not ready")
        ok, value = self._result()
        if not ok:
            raise value
        return value


class _Chunk:
    __slots__ = ("id", "name", "job", "first", "items", "answered", "attempts")

    def __init__(self, name, job, first, items, attempts=0):
        self.id, self.name, self.job, self.first, self.items = 0, name, job, first, items
        self.answered, self.attempts = 0, attempts


class _Worker:
    def __init__(self, slot, gen, seg_name):
        self.slot, self.gen, self.seg_name = slot, gen, seg_name
        self.seg = self.tasks = self.results = self.proc = self.thread = None
        self.inflight = collections.deque()
        self.sent, self.ending, self.dead, self.broke = 0, False, False, False
        self.answered, self.panicked = 0, False  # answers it gave; one was a panic's (it leaves then)


def _die_with_parent(parent):
    """In the child before exec: SIGKILL when the thread that started it
    (the pool's spawner, which lives as long as the pool) goes."""
    _prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)


_prctl = ctypes.CDLL(None, use_errno=True).prctl


class Pool:
    """A pool of worker processes running another program's tasks:

        with shmkit.Pool(2, command=["./mygoprog"]) as p:
            p.map("double", range(10))      # [0, 2, 4, ...]

    command is the worker program and its first arguments: a Go program
    whose main calls process.Dispatch first and whose tasks are registered
    with pool.Register, or a C program calling shmkit_pool_main. Tasks are
    named by the names they were registered under. Their inputs and results
    cross as the program's task list says (tasks=None asks the program; or
    give {name: (in, out)} type codes, see docs/interop.md): ints, floats,
    bools, tuples for structs, str, bytes, and sequences or buffers (numpy
    arrays) for slices, which come back as array.array.

    processes (default os.cpu_count()), initializer and initargs (a name the
    program registered with pool.RegisterInit, and string arguments),
    maxtasksperchild: as multiprocessing.Pool. A task's error is its own
    TaskError. A worker that dies is replaced; the task it was running is
    run again up to retries times (default 1), then fails with
    WorkerDiedError naming the worker's pid and signal; every other task is
    unaffected. Workers die with this process. name names the pool's
    segment (default shmkit-pypool-<pid>-<n>).
    """

    _seq = itertools.count(1)

    def __init__(self, processes=None, command=None, tasks=None, initializer=None, initargs=(),
                 maxtasksperchild=None, retries=1, name=None, max_message=64 << 10, window=64, env=None):
        if not command:
            raise ValueError("pool: command, the worker program, is required")
        if processes is None:
            processes = os.cpu_count() or 1
        if processes < 1 or retries < 0 or (maxtasksperchild is not None and maxtasksperchild < 1) \
                or max_message < 256 or window < 1:
            raise ValueError("pool: bad options: %r processes, %r retries, maxtasksperchild %r, messages of %r"
                             % (processes, retries, maxtasksperchild, max_message))
        # C takes these as uint32_t: ctypes would wrap a larger int silently.
        n.unsigned(processes, 32, "processes")
        n.unsigned(max_message, 32, "max_message")
        n.unsigned(window, 32, "window")
        self._command = [os.fspath(c) for c in command]
        self._env = dict(os.environ if env is None else env)
        inits = None
        if tasks is None:
            tasks, inits = list_tasks(self._command, self._env)
        if initializer is not None and inits is not None and initializer not in inits:
            raise ValueError("pool: %s registered no initializer %r (it has %s)"
                             % (self._command[0], initializer, inits))
        self.tasks = dict(tasks)
        self._codecs = {}
        self._init = [] if initializer is None else [initializer] + [str(a) for a in initargs]
        self._processes, self._retries, self._maxtasks = processes, retries, maxtasksperchild or 0
        self._max_message, self._window = max_message, window
        self.name = name or "shmkit-pypool-%d-%d" % (os.getpid(), next(Pool._seq))

        self._lock = threading.Lock()
        self._cv = threading.Condition(self._lock)
        self._pending = collections.deque()
        self._outstanding = 0
        self._next_id = 0
        self._closed = self._terminated = self._released = False
        self._feeders = weakref.WeakSet()  # imaps still reading their input
        self._broken = None
        self._start_fails = 0
        self._starts = 0  # workers started: the last one's generation
        self._live = set()
        self._threads = []
        self._spawns = collections.deque()
        self._spawn_cv = threading.Condition()
        self._spawner = threading.Thread(target=self._spawn_loop, name="shmkit-pool-spawner", daemon=True)

        self._seg = create(self.name, 64 << 10)
        try:
            o = n.Object()
            _errors.check(n.lib.shmkit_new_pool(ctypes.byref(self._seg._c), b"pool", processes, os.getpid(),
                                                ctypes.byref(o)), "%s: pool table" % self.name)
            self._table = memoryview(self._seg._mm)[o.offset:o.offset + _HEADER + processes * _ROW]
            self._spawner.start()
            atexit.register(self.terminate)  # as multiprocessing's: a pool left running ends with the program
            for slot in range(processes):
                self._start(slot)
        except BaseException:
            self.terminate()
            raise

    # -- the table

    def _add(self, off, delta):
        (v,) = struct.unpack_from("<Q", self._table, off)
        struct.pack_into("<Q", self._table, off, (v + delta) % (1 << 64))

    def _row(self, slot, off, fmt, value=None):
        at = _HEADER + slot * _ROW + off
        if value is None:
            return struct.unpack_from(fmt, self._table, at)[0]
        struct.pack_into(fmt, self._table, at, value)

    def workers(self):
        """Each slot's worker: (slot, pid, state, generation, chunks done, exitcode)."""
        with self._lock:
            if self._released:
                return []
            names = {_STARTING: "starting", _IDLE: "idle", _BUSY: "busy", _EXITED: "exited"}
            return [(s, self._row(s, _R_PID, "<i"), names.get(self._row(s, _R_STATE, "<I"), "?"),
                     self._row(s, _R_GEN, "<Q"), self._row(s, _R_DONE, "<Q"), self._row(s, _R_EXIT, "<i"))
                    for s in range(self._processes)]

    # -- workers

    def _spawn_loop(self):
        while True:
            with self._spawn_cv:
                while not self._spawns:
                    self._spawn_cv.wait()
                req = self._spawns.popleft()
            if req is None:
                return
            args, env, box, done = req
            try:
                box.append(subprocess.Popen(args, env=env, preexec_fn=functools.partial(_die_with_parent, os.getpid())))
            except BaseException as e:
                box.append(e)
            done.set()

    def _popen(self, args, env):
        box, done = [], threading.Event()
        with self._spawn_cv:
            self._spawns.append((args, env, box, done))
            self._spawn_cv.notify()
        done.wait()
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]

    def _start(self, slot):
        with self._lock:
            # Its generation names its segment: the pool's own count, not
            # the table's, which any process that maps the segment may rewrite.
            self._starts += 1
            gen = self._starts
            self._add(_H_STARTS, 1)
        w = _Worker(slot, gen, "%s-w%d" % (self.name, gen))
        ring = 576 + (self._window + 2) * (self._max_message + 64)
        w.seg = create(w.seg_name, 2 * ring + (64 << 10), 4)
        try:
            for ch in ("tasks", "results"):
                try:
                    c = w.seg.new_channel(ch, "B", self._window, self._max_message, spsc=True)
                except OSError:  # no membarrier: the any-to-any ring
                    c = w.seg.new_channel(ch, "B", self._window, self._max_message)
                setattr(w, ch, c)
            w.tasks.register(True)
            w.results.register(False)
            for off, fmt, v in ((_R_STATE, "<I", _STARTING), (_R_PID, "<i", 0), (_R_TASK, "<Q", 0),
                                (_R_ITEM, "<I", 0), (_R_DONE, "<Q", 0), (_R_EXIT, "<i", 0), (_R_GEN, "<Q", gen)):
                self._row(slot, off, fmt, v)
            env = dict(self._env)
            env.update({ROLE_ENV: WORKER_ROLE, "SHMKIT_PROCESS_NAME": "PoolWorker-%d" % gen,
                        "SHMKIT_PROCESS_INDEX": str(slot)})
            w.proc = self._popen(self._command + [self.name, str(slot), w.seg_name] + self._init, env)
        except BaseException:
            self._release_worker(w)
            raise
        self._row(slot, _R_PID, "<i", w.proc.pid)
        w.tasks.expect_receiver(w.proc.pid)
        w.results.expect_sender(w.proc.pid)
        w.thread = threading.Thread(target=self._collect, args=(w,), name="shmkit-pool-w%d" % gen, daemon=True)
        with self._lock:
            self._live.add(w)
            self._threads.append(w.thread)
            if self._terminated:
                w.proc.kill()
            self._refill(w)
        w.thread.start()

    def _release_worker(self, w):
        for ch in (w.tasks, w.results):
            if ch is not None:
                ch.close()
        w.tasks = w.results = None
        if w.seg is not None:
            w.seg.close()
            try:
                unlink(w.seg_name)
            except FileNotFoundError:
                pass
            w.seg = None

    def _limit(self):
        return min(self._window, 1 + len(self._pending) // self._processes)

    def _refill(self, w):
        """Send w chunks while it has room, and end its tasks when it must
        leave (self._lock held, so chunks reach the ring in inflight's order)."""
        if w.dead or w.ending:
            return
        if self._pending and len(w.inflight) <= self._limit() // 2:
            k = self._limit() - len(w.inflight)
            if self._maxtasks:
                k = min(k, self._maxtasks - w.sent)
            sent = 0
            while sent < k and self._pending:  # a stopped call's chunks are dropped, not counted
                c = self._pending.popleft()
                self._add(_H_QUEUED, -len(c.items))
                if c.job.stop:
                    self._drop(c)
                    continue
                sent += 1
                w.inflight.append(c)
                w.sent += 1
                self._add(_H_INFLIGHT, len(c.items))
                # The C call itself: the worker's segment stays mapped until
                # its collector, which this lock orders after, releases it.
                msg = _task_message(c.id, c.name, c.items, c.job.in_size)
                if n.lib.shmkit_chan_send(ctypes.byref(w.tasks._ch), (ctypes.c_char * len(msg)).from_buffer(msg),
                                          len(msg), 0) != 0:
                    break  # it died (the ring never fills): its collector puts the chunks back
        if (self._maxtasks and w.sent >= self._maxtasks) or (self._closed and self._outstanding == 0):
            w.ending = True
            try:
                w.tasks.end()
            except OSError:
                pass

    def _refill_all(self):
        for w in list(self._live):
            self._refill(w)

    def _drop(self, c):
        for i in range(c.answered, len(c.items)):
            c.job.settle(c.first + i, False, TerminatedError("pool: the call gave up on this task"))
        self._outstanding -= 1
        self._cv.notify_all()

    def _collect(self, w):
        buf = bytearray(w.results.maxlen)
        cbuf, got, rx = (ctypes.c_char * len(buf)).from_buffer(buf), ctypes.c_uint32(), ctypes.byref(w.results._ch)
        recv, now = n.lib.shmkit_chan_recv, n.lib.shmkit_now_ns
        while True:
            # The C call itself, as this thread alone uses the channel and
            # releases its segment; every 50 ms, look whether it exited.
            rc = recv(rx, cbuf, len(buf), ctypes.byref(got), now() + 50_000_000)
            if rc == errno.ETIMEDOUT:
                if w.proc.poll() is not None:
                    break
                continue
            if rc != 0:
                break  # it died without a word (EPEERDEAD), or ended
            k = got.value
            if not self._handle(w, memoryview(buf)[:k]):
                w.broke = True  # its chunk at the head is blamed, as if it had died running it
                w.proc.kill()
                break
            with self._lock:
                self._refill(w)
        w.proc.wait()
        while recv(rx, cbuf, len(buf), ctypes.byref(got), 0) == 0:  # what it sent before it died
            if not self._handle(w, memoryview(buf)[:got.value]):
                break
        self._exited(w)

    def _handle(self, w, msg):
        """Deliver a result message: its answers are for the head chunk's
        tasks from the first unanswered on, and may go on into the chunks
        sent after it, in order. False if it answers out of turn."""
        values = None
        try:
            cid, count = struct.unpack_from("<QI", msg, 0)
            # Which chunks it answers: only this thread takes chunks off,
            # and _refill only adds them at the end.
            pieces, left, i = [], count, 0
            while left and i < len(w.inflight):
                c = w.inflight[i]
                i += 1
                k = min(left, len(c.items) - c.answered)
                pieces.append((c, c.answered, k))
                left -= k
            if left or not w.inflight or w.inflight[0].id != cid:
                sys.stderr.write("pool: worker %d: result for chunk %d out of turn\n" % (w.proc.pid, cid))
                return False
            job = w.inflight[0].job
            if job.row is not None and all(c.job is job for c, _, _ in pieces):
                values = _fast_answers(msg, count, job.row, job.size)
            answers = [(_OK, None)] * count if values is not None else _parse_result(msg)[1]
        except (ValueError, struct.error) as e:
            sys.stderr.write("pool: worker %d: a malformed result (%s)\n" % (w.proc.pid, e))
            return False
        with self._lock:
            w.answered += count
            if values is None:  # else every answer is OK
                w.panicked = w.panicked or any(a[0] == _PANIC for a in answers)
            popped = False
            for c, _, k in pieces:
                c.answered += k
                if c.answered == len(c.items):
                    w.inflight.popleft()
                    self._outstanding -= 1
                    popped = True
            if popped:
                self._cv.notify_all()
                if self._closed and self._outstanding == 0:
                    self._refill_all()  # every worker may leave now
            ok = sum(1 for a in answers if a[0] == _OK)
            self._add(_H_INFLIGHT, -len(answers))
            self._add(_H_DONE, ok)
            self._add(_H_FAILED, len(answers) - ok)
        at = 0
        for c, first, k in pieces:
            if values is not None:
                c.job.deliver_block(c.first + first, values[at:at + k])
            else:
                for j, (status, data) in enumerate(answers[at:at + k]):
                    c.job.deliver(c.first + first + j, status, data)
            at += k
        return True

    def _piece(self, c, lo, hi, attempts):
        if lo == c.answered and hi == len(c.items) and attempts == c.attempts:
            c.items, c.first, c.answered = c.items[lo:], c.first + lo, 0
            return c
        self._next_id += 1
        self._outstanding += 1
        p = _Chunk(c.name, c.job, c.first + lo, c.items[lo:hi], attempts)
        p.id = self._next_id
        return p

    def _exited(self, w):
        code = w.proc.returncode
        # The row is a hint: any process that maps the pool's segment may
        # rewrite it. It may say which task the worker was running, and
        # that it died in its initializer, but not that no task is to blame.
        state, running = self._row(w.slot, _R_STATE, "<I"), self._row(w.slot, _R_TASK, "<Q")
        item = self._row(w.slot, _R_ITEM, "<I")
        failed, orphaned = [], []
        with self._lock:
            self._row(w.slot, _R_EXIT, "<i", code)
            self._row(w.slot, _R_STATE, "<I", _EXITED)
            w.dead = True
            self._live.discard(w)
            # Never answered, never took a task from its ring, and its row
            # says starting: it failed to start (told to leave or not: with
            # maxtasksperchild=1 it is told at once), and such failures in a
            # row break the pool. Its tasks are not to blame if it exited of
            # itself (a failing initializer); killed by a signal, the row's
            # word does not spare a task its retry. A worker takes tasks only
            # after its initializer, so one that took any had started.
            took = ctypes.c_uint64.from_address(w.tasks._ch.h + _CHAN_HEAD).value != 0
            start_failed = state == _STARTING and w.answered == 0 and not took
            if start_failed:
                self._start_fails += 1
            else:
                self._start_fails = 0
            # A worker that dies holding tasks costs one of them a retry: the
            # one its row names, if it names one not yet answered, else the
            # first not answered (always, if it broke the protocol). Only one
            # that left after a panic's answer, or failed to start, does not.
            blame = None
            if w.inflight and not self._terminated and not w.panicked and not (start_failed and code >= 0):
                blame, item_at = w.inflight[0], w.inflight[0].answered
                if not w.broke and state == _BUSY:
                    for c in w.inflight:
                        if c.id == running and c.answered <= item < len(c.items):
                            blame, item_at = c, item
                            break
            back = []
            for c in w.inflight:
                self._add(_H_INFLIGHT, -(len(c.items) - c.answered))
                if self._terminated:
                    failed.append(c)
                    continue
                if c is not blame:  # those before it ran, their results lost; those after never ran
                    back.append(self._piece(c, c.answered, len(c.items), c.attempts))
                    continue
                item = item_at
                # The task it was running is to blame; those before it ran but
                # their results died with it, those after never ran.
                if item > c.answered:
                    back.append(self._piece(c, c.answered, item, c.attempts))
                culprit = self._piece(c, item, item + 1, c.attempts + 1)
                if culprit.attempts > self._retries:
                    failed.append(culprit)
                else:
                    self._add(_H_RETRIED, 1)
                    back.append(culprit)
                if item + 1 < len(c.items):
                    back.append(self._piece(c, item + 1, len(c.items), c.attempts))
                self._outstanding -= 1
            w.inflight.clear()
            for c in back:
                self._add(_H_QUEUED, len(c.items))
            self._pending.extendleft(reversed(back))
            if self._start_fails >= max(3, self._processes) and self._broken is None:
                self._broken = WorkerStartError("pool: workers exit before serving a task; the last, pid %d, "
                                                "with status %d" % (w.proc.pid, code))
            if self._broken is not None:
                orphaned = list(self._pending)
                self._pending.clear()
            replace = not self._terminated and self._broken is None and not (self._closed and self._outstanding == 0)
            self._cv.notify_all()
        name = "PoolWorker-%d" % w.gen
        for c in failed:
            err = TerminatedError("pool: terminated") if self._terminated else None
            self._fail(c, lambda i: err or WorkerDiedError(w.proc.pid, name, code, c.attempts, w.broke))
        for c in orphaned:
            self._fail(c, lambda i: self._broken)
        self._release_worker(w)
        if replace:
            try:
                self._start(w.slot)
            except Exception as e:
                with self._lock:
                    if self._broken is None:
                        self._broken = e
                    lost = list(self._pending)
                    self._pending.clear()
                for c in lost:
                    self._fail(c, lambda i: e)
        with self._lock:  # the others may have room for what came back
            self._refill_all()

    def _fail(self, c, err):
        for i in range(c.answered, len(c.items)):
            c.job.settle(c.first + i, False, err(i))
        with self._lock:
            self._add(_H_FAILED, len(c.items) - c.answered)
            self._outstanding -= 1
            self._cv.notify_all()
            if self._closed and self._outstanding == 0:
                self._refill_all()

    # -- submitting

    def _codec(self, func):
        if not isinstance(func, str):
            raise TypeError("pool: name a task of the worker program (a str), not %r" % (func,))
        try:
            return self._codecs[func]
        except KeyError:
            pass
        if func not in self.tasks:
            raise ValueError("pool: %s has no task %r (it has %s)" % (self._command[0], func, sorted(self.tasks)))
        if len(func.encode()) > 0xFFFF:  # a task message's u16 holds its length
            raise ValueError("pool: a task name of %d bytes, more than 65535" % len(func.encode()))
        c = self._codecs[func] = tuple(_Codec(t) for t in self.tasks[func])
        return c

    def _encode(self, func, codec, first, values):
        if codec.fixed is not None and 16 + len(func) + 4 + codec.fixed <= self._max_message:
            try:
                return [codec.encode(v) for v in values]
            except Exception:
                pass  # the loop below says which and why
        items = []
        for k, v in enumerate(values):
            try:
                b = codec.encode(v)
            except (TypeError, ValueError, struct.error, OverflowError) as e:
                raise type(e)("pool: task %r, input %d (%r): %s" % (func, first + k, v, e)) from None
            if 16 + len(func) + 4 + len(b) > self._max_message:
                raise ValueError("pool: task %r, input %d: %d bytes, more than a message holds (%d)"
                                 % (func, first + k, len(b), self._max_message))
            items.append(b)
        return items

    def _submit(self, func, job, first, items, size, feeding=False):
        """Queue items (encoded) as chunks of at most size tasks that fit a message."""
        name = func.encode()
        chunks, at = [], 0
        fixed = job.in_size
        if fixed is not None:  # every item the same size: chunks by arithmetic
            step = max(1, min(size, (self._max_message - 16 - len(name)) // (4 + fixed)))
            chunks = [_Chunk(name, job, first + at, items[at:at + step]) for at in range(0, len(items), step)]
            at = len(items)
        while at < len(items):
            room, k = self._max_message - 16 - len(name), 0
            while at + k < len(items) and k < size and 4 + len(items[at + k]) <= room:
                room -= 4 + len(items[at + k])
                k += 1
            chunks.append(_Chunk(name, job, first + at, items[at:at + k]))
            at += k
        with self._lock:
            if (self._closed and not feeding) or self._terminated:
                raise ValueError("Pool not running")
            if self._broken is not None:
                raise self._broken
            job.add(len(items))
            for c in chunks:
                self._next_id += 1
                c.id = self._next_id
            self._pending.extend(chunks)
            self._add(_H_QUEUED, len(items))
            self._outstanding += len(chunks)
            self._refill_all()

    def _chunksize(self, count, chunksize):
        if chunksize is None:
            chunksize, extra = divmod(count, self._processes * 4)
            chunksize += 1 if extra else 0
        if chunksize < 1:
            chunksize = 1
        return chunksize

    def map_async(self, func, iterable, chunksize=None, callback=None, error_callback=None):
        """map in the background; callback gets the list of results, or
        error_callback the first failed task's exception."""
        values = list(iterable)
        codec_in, codec_out = self._codec(func)
        items = self._encode(func, codec_in, 0, values)
        out = [None] * len(values)
        errors = []

        def answer(i, ok, value):
            if ok:
                out[i] = value
            else:
                errors.append((i, value))

        job = _Job((codec_in, codec_out), answer)

        def answer_block(first, vals):
            out[first:first + len(vals)] = vals

        job.answer_block = answer_block

        def result():
            if errors:
                return False, min(errors, key=lambda e: e[0])[1]
            return True, out

        def finish():
            ok, value = result()
            if ok and callback is not None:
                callback(value)
            elif not ok and error_callback is not None:
                error_callback(value)

        job.finish = finish
        self._submit(func, job, 0, items, self._chunksize(len(items), chunksize))
        job.seal()
        return AsyncResult(job, result)

    def map(self, func, iterable, chunksize=None):
        """The results of func on each value, in order (multiprocessing's
        map). A failed task raises its exception (the first in order);
        imap yields the others."""
        return self.map_async(func, iterable, chunksize).get()

    def starmap(self, func, iterable, chunksize=None):
        """map for a task whose input is a struct: each value a tuple of its fields."""
        return self.map(func, (tuple(v) for v in iterable), chunksize)

    def apply_async(self, func, args=(), kwds=None, callback=None, error_callback=None):
        """Run func on one input in a worker: args is (input,), or a
        struct's fields. callback gets the result, error_callback the
        exception; they run on one of the pool's threads."""
        if kwds:
            raise TypeError("pool: a task takes no keyword arguments")
        codec_in, codec_out = self._codec(func)
        args = tuple(args)
        value = args[0] if codec_in.takes_one else args
        items = self._encode(func, codec_in, 0, [value])
        box = []
        job = _Job((codec_in, codec_out), lambda i, ok, v: box.append((ok, v)))

        def finish():
            ok, v = box[0]
            if ok and callback is not None:
                callback(v)
            elif not ok and error_callback is not None:
                error_callback(v)

        job.finish = finish
        self._submit(func, job, 0, items, 1)
        job.seal()
        return AsyncResult(job, lambda: box[0])

    def apply(self, func, args=(), kwds=None):
        return self.apply_async(func, args, kwds).get()

    def imap(self, func, iterable, chunksize=1):
        """An iterator of the results in input order, reading iterable
        lazily (a few chunks ahead of what was taken). A failed task raises
        its exception at its place; iterating on goes on with the next."""
        return _Imap(self, func, iterable, chunksize, True)

    def imap_unordered(self, func, iterable, chunksize=1):
        """imap, each result as soon as it is there."""
        return _Imap(self, func, iterable, chunksize, False)

    # -- the end

    def close(self):
        """No more tasks; those given still run. join() waits for them."""
        with self._lock:
            if self._released:
                return
            self._closed = True
            struct.pack_into("<I", self._table, _H_CLOSED, 1)
            self._refill_all()

    def join(self):
        """Wait until every task has its result and every worker has
        exited, then remove the pool's segments. close() first. An imap
        still reading its input has the rest read here, as
        multiprocessing's does, so join does not wait for its consumer."""
        with self._lock:
            if not self._closed:
                raise ValueError("Pool is still running")
            feeders = [] if self._terminated else list(self._feeders)
        for it in feeders:
            it._feed_rest()
        self._wait_workers()
        self._release()

    def terminate(self):
        """Kill the workers now; every task without a result fails with
        TerminatedError. Removes the pool's segments."""
        with self._lock:
            if self._released:
                return
            self._closed = self._terminated = True
            if hasattr(self, "_table"):
                struct.pack_into("<I", self._table, _H_CLOSED, 1)
            lost = list(self._pending)
            self._pending.clear()
            procs = [w.proc for w in self._live if w.proc is not None]
            self._cv.notify_all()
        for c in lost:
            self._fail(c, lambda i: TerminatedError("pool: terminated"))
        for p in procs:
            try:
                p.kill()
            except OSError:
                pass
        self._wait_workers()
        self._release()

    def _wait_workers(self):
        while True:
            with self._lock:
                threads = [t for t in self._threads if t.is_alive()]
                if not threads:
                    return
            for t in threads:
                if t is not threading.current_thread():
                    t.join()

    def _release(self):
        with self._lock:
            if self._released:
                return
            self._released = True
        atexit.unregister(self.terminate)
        with self._spawn_cv:
            self._spawns.append(None)
            self._spawn_cv.notify()
        if self._spawner.is_alive():
            self._spawner.join()
        if hasattr(self, "_table"):
            self._table.release()
        self._seg.close()
        try:
            unlink(self.name)
        except FileNotFoundError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.terminate()  # as multiprocessing's Pool

    def __repr__(self):
        state = "terminated" if self._terminated else "closed" if self._closed else "running"
        return "<shmkit.Pool %s of %d workers running %s, %s>" % (self.name, self._processes, self._command[0], state)


def _weak(method):
    """method, called while its object lives."""
    ref = weakref.WeakMethod(method)

    def call(*args):
        m = ref()
        if m is not None:
            m(*args)
    return call


class _Imap:
    """imap and imap_unordered's iterator."""

    def __init__(self, pool, func, iterable, chunksize, ordered):
        self._pool, self._func = pool, func
        self._in, self._out = pool._codec(func)
        self._it = iter(iterable)
        self._size = max(1, min(chunksize, sys.maxsize))  # islice takes no more: the whole input, then
        self._ordered = ordered
        self._ready = {}
        self._queue = collections.deque()
        self._cv = threading.Condition()
        self._read = self._taken = 0
        self._feeding = True
        self._ahead = 2 * pool._processes * pool._window * self._size
        # The job holds the iterator weakly: dropped, it is closed (__del__),
        # not kept alive by its own queued chunks with its input half read.
        self._job = _Job((self._in, self._out), _weak(self._answer))
        self._job.answer_block = _weak(self._answer_block)
        with pool._lock:
            if pool._closed:
                raise ValueError("Pool not running")
            pool._outstanding += 1  # join waits for the input's end
            pool._feeders.add(self)
        self._feed_lock = threading.Lock()  # the input is read by __next__, or by join
        self._counted = True

    def _answer(self, i, ok, value):
        with self._cv:
            if self._ordered:
                self._ready[i] = (ok, value)
            else:
                self._queue.append((ok, value))
            self._cv.notify()

    def _answer_block(self, first, values):
        with self._cv:
            if self._ordered:
                self._ready.update(zip(range(first, first + len(values)), ((True, v) for v in values)))
            else:
                self._queue.extend((True, v) for v in values)
            self._cv.notify()

    def _fed(self):
        p = self._pool
        with p._lock:  # once, though close() and join's reading may both get here
            if self._counted:
                self._counted = False
                p._outstanding -= 1
                p._cv.notify_all()
                if p._closed and p._outstanding == 0:
                    p._refill_all()

    def __iter__(self):
        return self

    def _feed_once(self):
        batch = list(itertools.islice(self._it, self._size))
        if len(batch) < self._size:
            self._feeding = False
        if batch:
            self._queue_batch(batch)
        if not self._feeding:
            self._job.seal()
            self._fed()

    def _feed_rest(self):
        with self._feed_lock:
            while self._feeding:
                self._feed_once()

    def __next__(self):
        with self._feed_lock:
            while self._feeding and self._read - self._taken < self._ahead:
                self._feed_once()
        with self._cv:
            while True:
                if self._ordered and self._taken in self._ready:
                    ok, value = self._ready.pop(self._taken)
                    break
                if not self._ordered and self._queue:
                    ok, value = self._queue.popleft()
                    break
                if not self._feeding and self._taken == self._read:
                    raise StopIteration
                self._cv.wait()
        self._taken += 1
        if not ok:
            raise value
        return value

    def _queue_batch(self, batch):
        """Queue batch; an input that cannot be encoded is its task's
        error, raised at its place, as a failed task's is."""
        p, first = self._pool, self._read
        try:
            runs = [(first, p._encode(self._func, self._in, first, batch), self._size)]
        except (TypeError, ValueError, struct.error, OverflowError):
            runs = []
            for k, v in enumerate(batch):  # one by one, to find the bad ones
                try:
                    runs.append((first + k, p._encode(self._func, self._in, first + k, [v]), 1))
                except (TypeError, ValueError, struct.error, OverflowError) as e:
                    runs.append((first + k, e, 1))
        for at, items, size in runs:
            if isinstance(items, Exception):
                self._job.add(1)
                self._job.settle(at, False, items)
            else:
                p._submit(self._func, self._job, at, items, size, feeding=True)
        self._read += len(batch)

    def close(self):
        """Stop: the input is read no further, answers still due are dropped."""
        with self._job.lock:
            self._job.stop = True
        self._feeding = False
        self._fed()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
