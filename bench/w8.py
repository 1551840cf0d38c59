"""W8's Python rows: shmkit's seg.dict, and multiprocessing's Manager().dict()
as its users write it (the seed's d[k] += 1 under a Manager Lock).

Usage: python3 w8.py PKGDIR ROW OP TARGET ARGS...
  ROW dict: TARGET is the segment holding the dict "d"; ROW manager: unused.
  OP and ARGS as in kv/w8.h: set N BATCH: time N sets of new keys, then
  check them; get N KEYS BATCH: fill KEYS keys, then time N gets; add N:
  N increments of "counter"; read: the counter. BATCH is not used here.
  ROW manager OP count N: two processes of N/2 locked increments each.

Like the other workers it prints "ready", waits for "go" on stdin, works,
and prints "done <ns> <sum> <bytes>" (set, get, count; it times itself)
or "done <value>" (add, read; the caller times add). PKGDIR, if not
empty, is where the shmkit package is.
"""

import multiprocessing
import os
import sys
import time


def key(i):
    """Key i of every W8 row (bench/kv/w8.h)."""
    return "key%d" % ((i * 2654435761) & 0xFFFFFFFF)


def ready():
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    if sys.stdin.readline() != "go\n":
        sys.exit(3)


def done(*fields):
    sys.stdout.write("done %s\n" % " ".join(str(int(f)) for f in fields))
    sys.stdout.flush()


def check(d, ks, n):
    """Sum of d[ks[j % len(ks)]] for j < n, each checked."""
    total, nkeys = 0, len(ks)
    for j in range(n):
        i = j % nkeys
        v = d[ks[i]]
        if v != i:
            raise SystemExit("key %d holds %r" % (i, v))
        total += v
    return total


def set_and_get(op, d, n, nkeys, held, fill):
    if op == "set":
        ks = [key(i) for i in range(n)]
        before = held()
        ready()
        t0 = time.perf_counter_ns()
        for i, k in enumerate(ks):
            d[k] = i
        t1 = time.perf_counter_ns()
        grown = held() - before
        done(t1 - t0, check(fill(ks, False), ks, n), grown)
    else:
        ks = [key(i) for i in range(nkeys)]
        d = fill(ks, True)
        ready()
        t0 = time.perf_counter_ns()
        total = check(d, ks, n)
        done(time.perf_counter_ns() - t0, total, 0)


def dict_row(pkgdir, op, segname, n, nkeys):
    if pkgdir:
        sys.path.insert(0, pkgdir)
    import shmkit
    seg = shmkit.attach(segname)
    d = seg.dict("d")

    def fill(ks, store):
        if store:
            for i, k in enumerate(ks):
                d[k] = i
        return d

    if op in ("set", "get"):
        set_and_get(op, d, n, nkeys, lambda: d.stats()["heap_bytes"], fill)
    elif op == "add":
        ready()
        v = 0
        for _ in range(n):
            v = d.add("counter")
        done(v)
    elif op == "read":
        ready()
        done(d["counter"])
    else:
        raise SystemExit("w8.py: unknown op " + op)
    d.close()
    seg.close()


def resident(pid):
    """Resident bytes of process pid."""
    with open("/proc/%d/statm" % pid) as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def increment(d, lock, n, go):
    go.wait()
    for _ in range(n):
        with lock:
            d["counter"] += 1


def manager_row(op, n, nkeys):
    with multiprocessing.Manager() as m:
        d = m.dict()
        server = m._process.pid  # the manager's server process holds the dict

        def fill(ks, store):
            if store:  # one round trip: the fill is not what is timed
                d.update(zip(ks, range(len(ks))))
                return d
            return d.copy()  # the check reads one local copy

        if op in ("set", "get"):
            set_and_get(op, d, n, nkeys, lambda: resident(server), fill)
        elif op == "count":
            lock = m.Lock()
            d["counter"] = 0
            go = multiprocessing.Barrier(3)
            procs = [multiprocessing.Process(target=increment, args=(d, lock, n // 2, go)) for _ in range(2)]
            for p in procs:
                p.start()
            ready()
            go.wait()
            t0 = time.perf_counter_ns()
            for p in procs:
                p.join()
            t1 = time.perf_counter_ns()
            if any(p.exitcode for p in procs):
                raise SystemExit("an incrementing process failed")
            done(t1 - t0, d["counter"], 0)
        else:
            raise SystemExit("w8.py: unknown op " + op)


def main():
    pkgdir, row, op, target = sys.argv[1:5]
    nums = [int(a) for a in sys.argv[5:]] + [0, 0]
    n, nkeys = nums[0], nums[1] if op == "get" else 0
    if row == "dict":
        dict_row(pkgdir, op, target, n, nkeys)
    elif row == "manager":
        manager_row(op, n, nkeys)
    else:
        raise SystemExit("w8.py: unknown row " + row)


if __name__ == "__main__":
    main()
