"""The seed programs' Python, run as baselines of the workloads.

Usage: python3 seed.py stream|pingpong|counter|sem COUNT ELEMS
Prints "<elapsed ns> <checksum>". Worker processes are started first and
wait at a barrier, so the time covers the work, not the start-up.

The FloatChannel is the seed's, with one fix: its send() assigned
self.buffer_len = nitems, replacing the shared Value by a local int, so
the receiving process never saw a length; it now sets .value.
"""

import multiprocessing
import sys
import time


class FloatChannel(object):
    def __init__(self, maxsize):
        self.buffer = multiprocessing.RawArray('d', maxsize)
        self.buffer_len = multiprocessing.Value('i')
        self.empty = multiprocessing.Semaphore(1)
        self.full = multiprocessing.Semaphore(0)

    def send(self, values):
        self.empty.acquire()
        nitems = len(values)
        self.buffer_len.value = nitems   # the fix: the seed wrote self.buffer_len = nitems
        self.buffer[:nitems] = values
        self.full.release()

    def recv(self):
        self.full.acquire()
        values = self.buffer[:self.buffer_len.value]
        self.empty.release()
        return values


def consume(count, ch, go, result):
    go.wait()
    total = 0.0
    for _ in range(count):
        values = ch.recv()
        total += values[0] + values[-1]
    result.value = total


def stream(count, elems):
    ch = FloatChannel(elems)
    go = multiprocessing.Barrier(2)
    result = multiprocessing.Value('d')
    p = multiprocessing.Process(target=consume, args=(count, ch, go, result))
    p.start()
    values = [0.0] * elems
    go.wait()
    t0 = time.perf_counter_ns()
    for k in range(count):
        values[0] = values[-1] = float(k)
        ch.send(values)
    p.join()
    return time.perf_counter_ns() - t0, int(result.value)


def pong(count, conn, go):
    go.wait()
    for _ in range(count):
        conn.send(conn.recv() + 1)


def pingpong(count, _):
    a, b = multiprocessing.Pipe()
    go = multiprocessing.Barrier(2)
    p = multiprocessing.Process(target=pong, args=(count, b, go))
    p.start()
    go.wait()
    t0 = time.perf_counter_ns()
    total = 0.0
    for k in range(count):
        a.send(float(k))
        total += a.recv()
    elapsed = time.perf_counter_ns() - t0
    p.join()
    return elapsed, int(total)


def add(k, counter, go):
    go.wait()
    for _ in range(k):
        with counter.get_lock():
            counter.value += 1


def counter(count, _):
    procs = 5
    value = multiprocessing.Value('q', 0)
    go = multiprocessing.Barrier(procs + 1)
    ps = [multiprocessing.Process(target=add, args=(count // procs, value, go)) for _ in range(procs)]
    for p in ps:
        p.start()
    go.wait()
    t0 = time.perf_counter_ns()
    for p in ps:
        p.join()
    return time.perf_counter_ns() - t0, value.value


def sem_pong(count, a, b, go):
    go.wait()
    for _ in range(count):
        a.acquire()
        b.release()


def sem(count, _):
    a, b = multiprocessing.Semaphore(0), multiprocessing.Semaphore(0)
    go = multiprocessing.Barrier(2)
    p = multiprocessing.Process(target=sem_pong, args=(count, a, b, go))
    p.start()
    go.wait()
    t0 = time.perf_counter_ns()
    for _ in range(count):
        a.release()
        b.acquire()
    elapsed = time.perf_counter_ns() - t0
    p.join()
    return elapsed, count


if __name__ == '__main__':
    workload, count, elems = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    elapsed, checksum = {"stream": stream, "pingpong": pingpong, "counter": counter, "sem": sem}[workload](count, elems)
    print(elapsed, checksum)
