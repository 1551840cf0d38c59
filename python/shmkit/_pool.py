"""A worker of a shmkit process pool (the Go package pool), serving Python
functions over the pool's protocol: cgo/shmkit.h, "A process pool"."""

import json
import os
import struct
import sys
import traceback

from . import _errors
from ._h import POOL_BUSY as BUSY, POOL_ERROR as ERROR, POOL_IDLE as IDLE, POOL_MAGIC, POOL_OK as OK
from ._h import POOL_TOOLARGE as TOOLARGE, POOL_VERSION
from ._segment import attach

POOL_HEADER = 128
POOL_ROW = 64


class _Row:
    """This worker's row of the pool's table. The parent reads it once the
    worker has exited, so plain stores do."""

    def __init__(self, seg, slot):
        o = seg._lookup("pool", "bytes")
        mem = memoryview(seg._mm)[o.offset:o.offset + o.length]
        if o.length < POOL_HEADER or struct.unpack_from("<Q", mem, 0)[0] != POOL_MAGIC:
            raise ValueError("%s: not a pool's worker table" % seg.name)
        version = struct.unpack_from("<I", mem, 20)[0]
        if version != POOL_VERSION:  # another build's protocol: its messages would be misread
            mem.release()
            raise _errors.VersionError("%s: a pool table of protocol version %d, this build's is %d"
                                       % (seg.name, version, POOL_VERSION))
        workers = struct.unpack_from("<I", mem, 8)[0]
        if not 0 <= slot < workers or POOL_HEADER + workers * POOL_ROW > o.length:
            raise ValueError("%s: no worker slot %d" % (seg.name, slot))
        row = mem[POOL_HEADER + slot * POOL_ROW:POOL_HEADER + (slot + 1) * POOL_ROW]
        self._i32, self._u64 = row.cast("i"), row.cast("Q")
        self._views = [self._i32, self._u64, row, mem]

    def release(self):
        for v in self._views:  # the segment cannot close while a view is exported
            v.release()

    pid = property(None, lambda self, v: self._i32.__setitem__(0, v))
    state = property(None, lambda self, v: self._i32.__setitem__(1, v))
    task = property(None, lambda self, v: self._u64.__setitem__(2, v))
    item = property(None, lambda self, v: self._i32.__setitem__(9, v))

    def finished(self):
        self._u64[3] += 1


def _parse(msg):
    """A task message's chunk id, function name and items; ValueError if
    any part of it lies past the message's end."""
    if len(msg) < 16:
        raise ValueError("task message of %d bytes" % len(msg))
    cid, count, name_len = struct.unpack_from("<QIH", msg, 0)
    at = 16 + name_len
    if at > len(msg) or count > (len(msg) - at) // 4:
        raise ValueError("task message of %d bytes: a name of %d bytes and %d items" % (len(msg), name_len, count))
    name = bytes(msg[16:at]).decode("utf-8", "surrogateescape")  # an unknown name is that task's error
    items = []
    for k in range(count):
        if at + 4 > len(msg):
            raise ValueError("task message: item %d past its end" % k)
        (n,) = struct.unpack_from("<I", msg, at)
        if at + 4 + n > len(msg):
            raise ValueError("task message: item %d past its end" % k)
        items.append(bytes(msg[at + 4:at + 4 + n]))
        at += 4 + n
    return cid, name, items


def _result(cid, answers):
    parts = [struct.pack("<QII", cid, len(answers), 0)]
    for status, data in answers:
        parts.append(struct.pack("<BI", status, len(data)))
        parts.append(data)
    return b"".join(parts)


def serve_pool(functions, initializers=None, argv=None, types=None):
    """Serve a Go pool started with pool.WithWorkerCommand: run
    functions[name](data) for each task, data and result being bytes (the
    Go side's encoding: struct.pack("<d", x) for a float64), until the pool
    lets this worker go. An exception is that task's error; the worker
    goes on. Returns the exit status for sys.exit.

    Started to list its tasks (SHMKIT_PROCESS=shmkit.pool.tasks, as
    shmkit.Pool asks), it prints them, each with the type codes that
    types={name: (in, out)} gives it, or "bytes"."""
    if os.environ.get("SHMKIT_PROCESS") == "shmkit.pool.tasks":
        types = types or {}
        listing = [{"name": k, "in": types.get(k, ("bytes", "bytes"))[0], "out": types.get(k, ("bytes", "bytes"))[1]}
                   for k in sorted(functions)]
        print(json.dumps({"tasks": listing, "inits": sorted(initializers or {})}), flush=True)
        return 0
    argv = sys.argv[1:] if argv is None else argv
    pool_name, slot, own = argv[0], int(argv[1]), argv[2]
    with attach(pool_name) as pseg, attach(own) as wseg:
        try:
            row = _Row(pseg, slot)
        except ValueError as e:  # not a table this build can serve (VersionError too): as Go's and C's, leave
            sys.stderr.write("pool worker: %s\n" % e)
            return 1
        tasks, results = wseg.channel("tasks"), wseg.channel("results")
        try:
            tasks.register(False)
            results.register(True)
            row.pid = os.getpid()
            if len(argv) > 3:
                (initializers or {})[argv[3]](argv[4:])
            row.state = IDLE
            buf = bytearray(tasks.maxlen)
            while True:
                try:
                    n = tasks.recv_into(buf)
                except EOFError:
                    return 0  # the pool let this worker go
                try:
                    cid, name, items = _parse(memoryview(buf)[:n])
                except ValueError as e:  # as a Go or C worker does: leave, run nothing of it
                    sys.stderr.write("pool worker: %s\n" % e)
                    return 1
                row.task, row.item, row.state = cid, 0, BUSY
                fn = functions.get(name)
                answers, size = [], 16
                for k, data in enumerate(items):
                    row.item = k
                    try:
                        if fn is None:
                            raise KeyError("pool: no task function registered under this name: %r" % name)
                        r = fn(data)
                        if isinstance(r, int):  # bytes(8) is eight zero bytes, not an answer
                            raise TypeError("pool: task %r returned %r, not bytes" % (name, r))
                        a = (OK, bytes(r))
                    except Exception:
                        a = (ERROR, traceback.format_exc().encode())
                    if 16 + 5 + len(a[1]) > results.maxlen:
                        a = (TOOLARGE, b"pool: task input or result longer than the pool's message size: "
                                       b"an answer of %d bytes" % len(a[1]))
                    if size + 5 + len(a[1]) > results.maxlen:
                        results.send(_result(cid, answers))
                        answers, size = [], 16
                    answers.append(a)
                    size += 5 + len(a[1])
                if answers:
                    results.send(_result(cid, answers))
                row.finished()
                row.state = IDLE
        finally:
            tasks.close()
            results.close()
            row.release()
