"""The Python side of examples/pythongo: a pool of Go workers.

    python3 driver.py PATH-TO-THE-GO-PROGRAM
"""
import os
import sys

import shmkit

try:
    import numpy
except ImportError:
    numpy = None

go_program = sys.argv[1]
name = os.environ.get("EXAMPLE_POOL_NAME", "example-pythongo-%d" % os.getpid())

with shmkit.Pool(2, command=[go_program], name=name) as pool:
    print("tasks:", ", ".join("%s %s -> %s" % (k, *v) for k, v in sorted(pool.tasks.items())))

    steps = pool.map("collatz", range(1, 10001), chunksize=500)
    best = max(range(len(steps)), key=steps.__getitem__)
    print("collatz: longest below 10001 starts at %d, %d steps" % (best + 1, steps[best]))
    print("map agrees with Python:", steps[:10] == [0, 1, 7, 2, 5, 8, 16, 3, 19, 6])

    for s in pool.imap("shout", ["hello", "pool"]):
        print("imap:", s)

    samples = [[1.0, 2.0, 3.0], [10.0, -4.0], [0.5]]
    print("stats:", pool.map("stats", samples))
    print("imap_unordered means, sorted:", sorted(mean for mean, lo, hi in pool.imap_unordered("stats", samples)))

    got, failed = [], []
    r = pool.apply_async("collatz", (27,), callback=got.append)
    bad = pool.apply_async("collatz", (0,), error_callback=failed.append)
    r.wait()
    bad.wait()
    print("apply_async(collatz, 27): %s; error_callback: %s" % (got, failed[0].text))

    if numpy is not None:
        v = numpy.linspace(0, 1, 5)
        print("numpy in, array out:", numpy.frombuffer(pool.apply("scale", (v,)), dtype=numpy.float64).tolist())
    else:
        print("numpy in, array out:", list(pool.apply("scale", ([0.0, 0.25, 0.5, 0.75, 1.0],))))
    pool.close()
    pool.join()
print("pool done")
