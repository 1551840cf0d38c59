"""W7's Python baselines: multiprocessing.Pool and ProcessPoolExecutor as
their users call them (package bench runs this script).

    python3 pool.py KIND COUNT WORKERS [TIMEOUT]

W7a and W7b print "NANOSECONDS CHECKSUM": the time of the map alone, its
pool started and warm, and a checksum of what it returned. W7c prints
"NANOSECONDS CORRECT ERRORS STATUS": from the kill to the map's return.
The workers are forked, so that they inherit the shared memory and the
flags made before the pool."""

import array
import concurrent.futures
import multiprocessing as mp
import os
import signal
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import shared_memory

ELEMS = 1 << 17  # float64 in 1 MiB
ARRAYS = 64
ctx = mp.get_context("fork")


def double(x):
    return 2 * x


def weighted(out):
    return sum(i * r for i, r in enumerate(out))


def total(a):
    return sum(a)


SHM_VIEW = None  # the SharedMemory's float64, inherited by the workers


def total_at(k):
    return sum(SHM_VIEW[k * ELEMS:(k + 1) * ELEMS])


def array_sum(k):
    """What sum() gives for array k, whose element j is k * ELEMS + j."""
    return k * ELEMS * ELEMS + ELEMS * (ELEMS - 1) // 2


FLAG = ctx.RawValue("i", 0)
KILLED_AT = ctx.RawValue("q", 0)
KILL_AT = ctx.RawValue("q", -1)


def double_or_die(x):
    """2x, except that the task KILL_AT kills its worker, once."""
    if x == KILL_AT.value and FLAG.value == 0:
        FLAG.value = 1
        KILLED_AT.value = time.monotonic_ns()
        os.kill(os.getpid(), signal.SIGKILL)
    return 2 * x


def timed(f):
    t0 = time.perf_counter_ns()
    r = f()
    return time.perf_counter_ns() - t0, r


def w7a(kind, n, workers):
    xs = range(n)
    if kind == "ppe":
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx) as ex:
            list(ex.map(double, range(4 * workers)))  # every worker started
            ns, out = timed(lambda: list(ex.map(double, xs)))
        return ns, weighted(out)
    with ctx.Pool(workers) as pool:
        pool.map(double, range(4 * workers))
        if kind == "map1":
            ns, out = timed(lambda: pool.map(double, xs, chunksize=1))
        elif kind == "map":
            ns, out = timed(lambda: pool.map(double, xs))
        elif kind == "imapu1":
            ns, out = timed(lambda: list(pool.imap_unordered(double, xs, chunksize=1)))
            return ns, sum(out)
        else:
            raise SystemExit("unknown kind " + kind)
    return ns, weighted(out)


def w7b(kind, n, workers):
    global SHM_VIEW
    used = min(n, ARRAYS)
    if kind == "pickle":
        arrays = [array.array("d", range(k * ELEMS, (k + 1) * ELEMS)) for k in range(used)]
        with ctx.Pool(workers) as pool:
            pool.map(total, arrays[:1], chunksize=1)
            ns, out = timed(lambda: pool.map(total, [arrays[i % used] for i in range(n)], chunksize=1))
    elif kind == "shm":
        shm = shared_memory.SharedMemory(create=True, size=used * ELEMS * 8)
        try:
            SHM_VIEW = shm.buf.cast("d")
            for k in range(used):
                SHM_VIEW[k * ELEMS:(k + 1) * ELEMS] = array.array("d", range(k * ELEMS, (k + 1) * ELEMS))
            with ctx.Pool(workers) as pool:
                pool.map(total_at, [i % used for i in range(2 * used)], chunksize=1)  # pages mapped in
                ns, out = timed(lambda: pool.map(total_at, [i % used for i in range(n)], chunksize=1))
            SHM_VIEW.release()
        finally:
            shm.close()
            shm.unlink()
    else:
        raise SystemExit("unknown kind " + kind)
    bad = sum(1 for i, s in enumerate(out) if s != array_sum(i % used))
    return ns, -bad if bad else int(sum(out))


def w7c(kind, n, workers, timeout):
    KILL_AT.value = n // 2
    if kind == "map":
        pool = ctx.Pool(workers)
        pool.map(double, range(4 * workers))
        r = pool.map_async(double_or_die, range(n))
        try:
            out = r.get(timeout)
            correct = sum(1 for i, v in enumerate(out) if v == 2 * i)
            status = "returned"
        except mp.TimeoutError:
            correct, status = 0, "hung"
        end = time.monotonic_ns()
        pool.terminate()
        pool.join()
        return end - KILLED_AT.value, correct, n - correct, status
    if kind == "ppe":
        correct, status = 0, "returned"
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx) as ex:
            list(ex.map(double, range(4 * workers)))
            try:
                for i, v in enumerate(ex.map(double_or_die, range(n))):
                    if v != 2 * i:
                        status = "wrong"
                        break
                    correct += 1
            except BrokenProcessPool:
                status = "broken"
            end = time.monotonic_ns()
        return end - KILLED_AT.value, correct, n - correct, status
    raise SystemExit("unknown kind " + kind)


def main():
    kind, n, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    group, _, kind = kind.partition("-")
    if group == "w7a":
        print(*w7a(kind, n, workers))
    elif group == "w7b":
        print(*w7b(kind, n, workers))
    elif group == "w7c":
        print(*w7c(kind, n, workers, float(sys.argv[4]) if len(sys.argv) > 4 else 10.0))
    else:
        raise SystemExit("unknown kind " + sys.argv[1])


if __name__ == "__main__":
    main()
