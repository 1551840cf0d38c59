"""seg.dict beside multiprocessing's Manager().dict() in one run: set and
get of distinct str keys with int values, and a counter incremented by 2
processes (d.add for seg.dict; d[k] += 1 under a Manager Lock for the
Manager). Medians of interleaved rounds; prints ops/s and the ratios.

    python3 bench_dict.py [rounds]
"""

import multiprocessing as mp
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import shmkit  # noqa: E402

MANAGER_KEYS, SHMKIT_KEYS = 20000, 100000
MANAGER_INCS, SHMKIT_INCS = 2000, 50000


def rate(n, fn):
    t = time.perf_counter()
    fn()
    return n / (time.perf_counter() - t)


def manager_counter(d, lock, n):
    for _ in range(n):
        with lock:
            d["c"] += 1


def shmkit_counter(seg_name, n):
    with shmkit.attach(seg_name) as seg, seg.dict("d") as d:
        for _ in range(n):
            d.add("c")


def counter(target, args, n):
    procs = [mp.Process(target=target, args=args + (n,)) for _ in range(2)]
    t = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    return 2 * n / (time.perf_counter() - t)


def manager_round(m):
    d, lock = m.dict(), m.Lock()
    keys = ["k%d" % i for i in range(MANAGER_KEYS)]

    def put():
        for i, k in enumerate(keys):
            d[k] = i

    def get():
        for k in keys:
            d[k]
    r = {"set": rate(len(keys), put), "get": rate(len(keys), get)}
    d["c"] = 0
    r["counter"] = counter(manager_counter, (d, lock), MANAGER_INCS)
    assert d["c"] == 2 * MANAGER_INCS
    return r


def shmkit_round(seg_name):
    with shmkit.attach(seg_name) as seg:
        d = seg.new_dict("d")
        try:
            keys = ["k%d" % i for i in range(SHMKIT_KEYS)]

            def put():
                for i, k in enumerate(keys):
                    d[k] = i

            def get():
                for k in keys:
                    d[k]
            r = {"set": rate(len(keys), put), "get": rate(len(keys), get)}
            r["counter"] = counter(shmkit_counter, (seg_name,), SHMKIT_INCS)
            assert d["c"] == 2 * SHMKIT_INCS
            return r
        finally:
            d.unlink()
            d.close()


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    results = {"manager": [], "seg.dict": []}
    with mp.Manager() as m:
        for r in range(rounds):
            name = "shmkit-bench-dict-%d-%d" % (os.getpid(), r)
            seg = shmkit.create(name, 1 << 16)
            try:
                results["seg.dict"].append(shmkit_round(name))
            finally:
                seg.close()
                shmkit.unlink(name)
            results["manager"].append(manager_round(m))
    med = {impl: {op: statistics.median(x[op] for x in rs) for op in ("set", "get", "counter")}
           for impl, rs in results.items()}
    for impl, ops in med.items():
        print("%-9s set %10.0f/s  get %10.0f/s  counter %10.0f/s" % (impl, ops["set"], ops["get"], ops["counter"]))
    print("ratio     set %9.1fx   get %9.1fx   counter %9.1fx" % tuple(
        med["seg.dict"][op] / med["manager"][op] for op in ("set", "get", "counter")))


if __name__ == "__main__":
    main()
