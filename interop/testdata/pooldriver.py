"""A Python program driving a shmkit.Pool of Go or C workers, for
interop/pool_test.go: pooldriver.py MODE POOL-NAME WORKER-COMMAND...
Each mode prints lines the Go test compares."""
import os
import signal
import sys
import time

import shmkit

mode, name, command = sys.argv[1], sys.argv[2], sys.argv[3:]


def busy_worker(pool):
    """The pid of a worker running a task, having finished one."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for slot, pid, state, gen, done, code in pool.workers():
            if state == "busy" and done > 0:
                return pid
        time.sleep(0.001)
    raise SystemExit("no worker got busy")


def outcomes(it):
    """Every result of an imap, an exception standing for a failed task."""
    out = []
    while True:
        try:
            out.append(next(it))
        except StopIteration:
            return out
        except shmkit.PoolError as e:
            out.append(e)


def joined(pool):
    pool.close()
    pool.join()
    left = [f for f in os.listdir("/dev/shm") if f.startswith(name)]
    print("joined, segments left:", left)


if mode == "go-basic":
    with shmkit.Pool(2, command=command, name=name) as p:
        print("types", p.tasks["go.double"], p.tasks["go.stats"], p.tasks["go.greet"], p.tasks["go.bytes"])
        print("map", p.map("go.double", range(1000), chunksize=7) == [2 * x for x in range(1000)])
        print("map default chunks", p.map("go.double", range(-50, 50)) == [2 * x for x in range(-50, 50)])
        print("imap", list(p.imap("go.double", iter(range(300)), chunksize=3)) == [2 * x for x in range(300)])
        print("imap_unordered", sorted(p.imap_unordered("go.double", range(300))) == [2 * x for x in range(300)])
        print("stats", p.apply("go.stats", ([1.5, 2.5, 3.0],)), p.map("go.stats", [[], [4.0]]))
        print("greet", p.apply("go.greet", ("wörld",)), "bytes", p.apply("go.bytes", (b"abc",)))
        try:
            p.map("go.fail", range(1, 20))
        except shmkit.TaskError as e:
            print("map raises the first failure:", e.index, e.text)
        got = outcomes(p.imap("go.fail", range(5, 10)))
        print("imap goes on past failures:", [g if isinstance(g, int) else g.text for g in got])
        errs, vals = [], []
        p.apply_async("go.panic", (13,), callback=vals.append, error_callback=errs.append).wait()
        print("panic:", type(errs[0]).__name__, errs[0].panicked, "unlucky 13" in errs[0].text, vals)
        r = p.apply_async("go.double", (21,), callback=vals.append, error_callback=errs.append)
        print("apply_async:", r.get(timeout=60), vals, r.successful())
        r = p.map_async("go.double", [1, 2, 3], callback=vals.append)
        r.wait()
        print("map_async:", r.get(), vals[-1])
        for call, args in (("go.nosuch", (1,)), ("go.double", ("x",)), ("go.double", (2 ** 70,))):
            try:
                p.apply(call, args)
            except (ValueError, TypeError, shmkit.TaskError) as e:
                print("refused:", call, type(e).__name__)
            except Exception as e:  # struct.error
                print("refused:", call, type(e).__name__)
        print("after all that", p.map("go.double", [5, 6]))
        joined(p)

elif mode == "c-basic":
    with shmkit.Pool(2, command=command, name=name) as p:
        print("types", p.tasks["c.square"], p.tasks["c.sum"], p.tasks["c.reverse"])
        print("map", list(p.map("c.square", [0.5, 1.5, 3.0])), p.apply("c.sum", ([1.0, 2.0, 4.5],)),
              p.apply("c.reverse", (b"shmkit",)))
        try:
            p.apply("c.refuse", (2,))
        except shmkit.TaskError as e:
            print("refused:", e.text)
        joined(p)

elif mode == "c-init":  # a C worker's initializer with its initargs; one that fails
    with shmkit.Pool(2, command=command, name=name, initializer="c.factor", initargs=(3,)) as p:
        print("scaled", p.map("c.scale", [0.5, 1.5, 3.0]))
        joined(p)
    with shmkit.Pool(2, command=command, name=name + "-bad", initializer="c.factor", initargs=("x",)) as p:
        try:
            p.map("c.scale", [1.0])
        except shmkit.WorkerStartError as e:
            print("bad initargs:", type(e).__name__)
    try:
        shmkit.Pool(2, command=command, name=name + "-missing", initializer="c.missing")
    except ValueError as e:
        print("unknown initializer:", "c.missing" in str(e))

elif mode == "kill":  # a worker killed mid-map: its task is run again
    with shmkit.Pool(2, command=command, name=name) as p:
        r = p.map_async("go.slow", range(600), chunksize=1)
        pid = busy_worker(p)
        os.kill(pid, signal.SIGKILL)
        out = r.get(timeout=120)
        print("killed a worker mid-map; every result right:", out == [2 * x for x in range(600)])
        gens = max(w[3] for w in p.workers())
        print("replaced:", gens > 2, "killed pid serving:", pid in [w[1] for w in p.workers()])
        joined(p)

elif mode == "die":  # a task that kills its worker, every time
    for retries in (0, 1):
        with shmkit.Pool(2, command=command, name="%s-%d" % (name, retries), retries=retries) as p:
            got = outcomes(p.imap("go.die", range(1000), chunksize=10))
            bad = [i for i, g in enumerate(got) if not isinstance(g, int)]
            e = got[500]
            right = all(got[i] == 2 * i for i in range(1000) if i != 500)
            print("retries=%d: failed %s, %s, signal %d, attempts %d, pid named %s, others right %s"
                  % (retries, bad, type(e).__name__, -e.exitcode, e.attempts, e.pid > 0 and str(e.pid) in str(e),
                     right))
            print("pool still serves:", p.map("go.double", [1, 2]))
            p.close()
            p.join()

elif mode == "terminate":
    with shmkit.Pool(2, command=command, name=name) as p:
        r = p.map_async("go.slow", range(5000), chunksize=1)
        busy_worker(p)
        start = time.monotonic()
        p.terminate()
        try:
            r.get(timeout=60)
        except shmkit.TerminatedError:
            print("terminated: the map's result is TerminatedError")
        print("terminate took under 10 s:", time.monotonic() - start < 10)
        print("workers exited:", all(w[2] == "exited" for w in p.workers()) or p.workers() == [])
        try:
            p.map("go.double", [1])
        except ValueError as e:
            print("after terminate:", e)

elif mode == "lifecycle":  # initializer, maxtasksperchild, workers that cannot start
    with shmkit.Pool(2, command=command, name=name, initializer="go.suffix", initargs=["!"],
                     maxtasksperchild=2) as p:
        print(p.map("go.greet", ["a", "b", "c", "d", "e", "f"], chunksize=1))
        print("replaced after 2 chunks each:", max(w[3] for w in p.workers()) > 2)
        joined(p)
    try:
        shmkit.Pool(1, command=command, name=name, initializer="go.nosuch")
    except ValueError as e:
        print("unknown initializer:", type(e).__name__)
    with shmkit.Pool(2, command=command, name=name, initializer="go.failinit") as p:
        try:
            p.map("go.double", range(10))
        except shmkit.WorkerStartError as e:
            print("failing initializer:", type(e).__name__, "status 4" in str(e))

elif mode == "soak":  # random SIGKILLs of busy workers while maps run
    import random
    import threading
    for retries in (0, 1):
        with shmkit.Pool(3, command=command, name="%s-%d" % (name, retries), retries=retries) as p:
            killed, stop, rng = set(), threading.Event(), random.Random(retries)

            def killer():
                while len(killed) < 20 and not stop.wait(rng.uniform(0.05, 0.2)):
                    busy = [w[1] for w in p.workers() if w[2] == "busy" and w[1] > 0]
                    if busy:
                        pid = rng.choice(busy)
                        killed.add(pid)
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except ProcessLookupError:
                            pass  # it had just exited

            t = threading.Thread(target=killer)
            t.start()
            total = right = died = wrong = 0
            for chunk in (1, 5, 20, 1):
                got = outcomes(p.imap("go.slow", range(2500), chunksize=chunk))
                total += len(got)
                for i, g in enumerate(got):
                    if isinstance(g, shmkit.WorkerDiedError) and g.pid in killed:
                        died += 1
                    elif g == 2 * i:
                        right += 1
                    else:
                        wrong += 1
            stop.set()
            t.join()
            print("retries=%d: %d tasks, %d right, %d failed naming a killed worker, %d wrong, %d kills"
                  % (retries, total, right, died, wrong, len(killed)))
            p.close()
            p.join()

else:
    raise SystemExit("unknown mode " + mode)
