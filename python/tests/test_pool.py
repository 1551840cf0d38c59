"""Tests of shmkit.Pool, the pool driven from Python, with workers that are
Python programs serving serve_pool (Go and C workers: interop/pool_test.go).
python3 -m unittest (from python/)."""

import itertools
import os
import signal
import struct
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import shmkit  # noqa: E402

_names = itertools.count()

WORKER = r'''
import os, signal, struct, sys, time
import shmkit

def square(b):
    (x,) = struct.unpack("<d", b)
    return struct.pack("<d", x * x)

def slow(b):
    time.sleep(0.001)
    return square(b)

def die(b):
    if struct.unpack("<d", b)[0] == 50:
        os.kill(os.getpid(), signal.SIGKILL)
    return square(b)

def refuse(b):
    raise ValueError("refused")

def count(b):
    return 8  # not bytes: bytes(8) would be eight zero bytes, a float of 0.0

def big(b):
    return bytes(4096)

SCRIBBLE = """
import struct, sys
import shmkit
way, name, slot = sys.argv[1], sys.argv[2], int(sys.argv[3])
with shmkit.attach(name) as seg:
    o = seg._lookup("pool", "bytes")
    mem = memoryview(seg._mm)[o.offset:o.offset + o.length]
    at = 128 + 64 * slot
    if way == "idle":
        struct.pack_into("<IxxxxQ", mem, at + 4, 1, 2**64 - 1)  # state IDLE, task none
        struct.pack_into("<I", mem, at + 36, 2**32 - 1)
    elif way == "starting":
        struct.pack_into("<I", mem, at + 4, 0)  # STARTING
        struct.pack_into("<Q", mem, at + 24, 0)  # nothing done
    elif way == "baditem":
        struct.pack_into("<I", mem, at + 36, 2**32 - 1)
    mem.release()
"""

def scribble(b):
    # Another process rewrites this worker's row, then it dies; each run
    # is a line in the file; from the fifth on it gives up and answers.
    import subprocess
    way, runs = b.decode().split("|")
    with open(runs, "a") as f:
        f.write("run\n")
    with open(runs) as f:
        if len(f.readlines()) >= 5:
            return b"gave up"
    subprocess.run([sys.executable, "-c", SCRIBBLE, way.split("-")[0], sys.argv[1], sys.argv[2]], check=True)
    if way.endswith("-exit"):  # of itself, as a failing initializer does
        os._exit(3)
    os.kill(os.getpid(), signal.SIGKILL)

def mimic(b):
    raise ValueError("pool: task input or result longer than the pool's message size")

def boom(args):
    raise RuntimeError("initializer refuses")

sys.exit(shmkit.serve_pool({"sq": square, "slow": slow, "die": die, "refuse": refuse, "raw": bytes, "count": count,
                            "big": big, "mimic": mimic, "scribble": scribble},
                           types={"sq": ("<d", "<d"), "slow": ("<d", "<d"), "die": ("<d", "<d"), "refuse": ("<d", "<d"),
                                  "count": ("<d", "<d")},
                           initializers={"boom": boom}))
'''


class PoolTest(unittest.TestCase):
    def setUp(self):
        self.name = "shmkit-pytest-pool-%d-%d" % (os.getpid(), next(_names))
        d = tempfile.mkdtemp()
        self.script = os.path.join(d, "worker.py")
        with open(self.script, "w") as f:
            f.write(WORKER)
        pkg = os.path.dirname(os.path.dirname(os.path.abspath(shmkit.__file__)))
        self.env = dict(os.environ, PYTHONPATH=pkg)

    def tearDown(self):
        left = [f for f in os.listdir("/dev/shm") if f.startswith(self.name)]
        self.assertEqual(left, [], "segments left behind")

    def pool(self, **kw):
        p = shmkit.Pool(2, command=[sys.executable, self.script], name=self.name, env=self.env, **kw)
        self.addCleanup(p.terminate)
        return p

    def busy(self, p):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for slot, pid, state, gen, done, code in p.workers():
                if state == "busy" and done > 0:
                    return pid
            time.sleep(0.001)
        self.fail("no worker got busy")

    def test_map_and_errors(self):
        p = self.pool()
        self.assertEqual(p.tasks["sq"], ("<d", "<d"))
        self.assertEqual(p.tasks["raw"], ("bytes", "bytes"))
        xs = [x + 0.5 for x in range(500)]
        self.assertEqual(p.map("sq", xs, chunksize=7), [x * x for x in xs])
        self.assertEqual(list(p.imap("sq", iter(xs[:20]))), [x * x for x in xs[:20]])
        self.assertEqual(p.apply("raw", (b"abc",)), b"abc")
        with self.assertRaises(shmkit.TaskError) as cm:
            p.apply("refuse", (1,))
        self.assertIn("ValueError: refused", cm.exception.text)
        with self.assertRaises(ValueError):
            p.apply("nosuch", (1,))
        with self.assertRaises(struct.error):
            p.apply("sq", ("x",))
        with self.assertRaises(TypeError):
            p.apply("raw", ("not bytes",))
        p.close()
        p.join()
        with self.assertRaises(ValueError):
            p.map("sq", [1])

    def test_result_too_large(self):
        # A result too long for a message is TooLargeError, known by its
        # answer's status; an error that only reads like it is a TaskError.
        p = self.pool(max_message=1024)
        with self.assertRaises(shmkit.TooLargeError):
            p.apply("big", (b"x",))
        with self.assertRaises(shmkit.TaskError) as cm:
            p.apply("mimic", (b"x",))
        self.assertNotIsInstance(cm.exception, shmkit.TooLargeError)
        self.assertEqual(p.map("raw", [b"a", b"b"]), [b"a", b"b"])
        p.close()
        p.join()

    def test_stopped_imap_then_map_with_maxtasksperchild(self):
        # A closed imap's chunks still queued are dropped as a worker is
        # refilled; they used to count against what the worker may take,
        # so a fresh worker allowed one chunk took a dropped one, sent
        # nothing, and no answer ever came to refill it: the map hung.
        p = shmkit.Pool(1, command=[sys.executable, self.script], name=self.name, env=self.env,
                        maxtasksperchild=1)
        self.addCleanup(p.terminate)
        it = p.imap("sq", range(40))
        self.assertEqual(next(it), 0)
        it.close()
        r = p.map_async("sq", [1.5, 2.5, 3.5], chunksize=1)
        self.assertEqual(r.get(timeout=60), [2.25, 6.25, 12.25])
        p.close()
        p.join()

    def test_scribbled_row_spares_no_retry(self):
        # Whatever another process writes in a worker's row, a task whose
        # worker dies under it uses up a retry, then fails.
        for way in ("idle", "starting", "baditem"):
            with self.subTest(way=way):
                p = shmkit.Pool(1, command=[sys.executable, self.script], name=self.name + way, env=self.env)
                try:
                    self.assertEqual(p.map("sq", [1.0, 2.0]), [1.0, 4.0])  # it has served
                    runs = os.path.join(tempfile.mkdtemp(), "runs")
                    with self.assertRaises(shmkit.WorkerDiedError) as cm:
                        p.apply("scribble", (("%s|%s" % (way, runs)).encode(),))
                    self.assertEqual(cm.exception.attempts, 2)
                    with open(runs) as f:
                        self.assertEqual(len(f.readlines()), 2)
                    self.assertEqual(p.map("sq", [3.0]), [9.0])
                    p.close()
                    p.join()
                finally:
                    p.terminate()

    def test_scribbled_starting_row_then_exit(self):
        # A row rewritten to STARTING under a task that makes its worker
        # exit of itself (status 3, no signal): the worker had taken the
        # task, so it did not fail to start. The task uses up its retry and
        # fails; the pool is not broken with WorkerStartError and serves on.
        p = shmkit.Pool(1, command=[sys.executable, self.script], name=self.name, env=self.env)
        try:
            runs = os.path.join(tempfile.mkdtemp(), "runs")
            with self.assertRaises(shmkit.WorkerDiedError) as cm:
                p.apply("scribble", (("starting-exit|%s" % runs).encode(),))
            self.assertEqual(cm.exception.attempts, 2)
            with open(runs) as f:
                self.assertEqual(len(f.readlines()), 2)
            self.assertEqual(p.map("sq", [3.0]), [9.0])
            p.close()
            p.join()
        finally:
            p.terminate()

    def test_processes_that_do_not_fit(self):
        # processes past what C's uint32_t holds: ctypes wrapped 2**32 + 1
        # to a table of 1 row while the pool went on starting workers for
        # every slot, leaving a segment for each. Run in a child process so
        # that, broken, it is killed, not left running.
        import subprocess
        code = ("import shmkit, sys\n"
                "try:\n"
                "    shmkit.Pool(2**32 + 1, command=[sys.executable, '-c', 'pass'], tasks={'x': ('<q', '<q')},\n"
                "                name=%r)\n"
                "except (OverflowError, ValueError) as e:\n"
                "    print('refused:', e)\n" % self.name)
        try:
            out = subprocess.run([sys.executable, "-c", code], env=self.env, capture_output=True, text=True,
                                 timeout=60)
        except subprocess.TimeoutExpired:
            out = None
        finally:
            for f in os.listdir("/dev/shm"):
                if f.startswith(self.name):  # what the broken pool left: its own segments
                    os.unlink(os.path.join("/dev/shm", f))
        self.assertIsNotNone(out, "the pool started workers past its table for a minute")
        self.assertIn("refused: processes", out.stdout, out.stderr)

    def test_corrupt_task_message_is_refused(self):
        # A task message whose last item says it is longer than the message:
        # the Python worker took the bytes there were and answered, where
        # Go's and C's refuse it. It must leave (the pool counts a death)
        # rather than run a task on input it never got whole.
        from shmkit import _pooldrive
        real = _pooldrive._task_message

        def lying(cid, name, items, fixed=None):
            msg = real(cid, name, items)
            if name == b"raw":
                struct.pack_into("<I", msg, len(msg) - len(items[-1]) - 4, len(items[-1]) + 100)
            return msg

        _pooldrive._task_message = lying
        self.addCleanup(setattr, _pooldrive, "_task_message", real)
        p = self.pool(retries=0)
        with self.assertRaises(shmkit.WorkerDiedError) as cm:
            p.apply("raw", (b"abc",))
        self.assertEqual(cm.exception.exitcode, 1)
        self.assertEqual(p.map("sq", [2.0]), [4.0])
        p.close()
        p.join()

    def test_task_name_too_long(self):
        # A name longer than a task message's u16 holds: packing it failed
        # only once its chunk was in flight, unsent, so the next call's
        # answer came "out of turn", its worker was killed and every start
        # after failed the same way. It is refused before anything is queued.
        long = "x" * 70000
        p = shmkit.Pool(1, command=[sys.executable, self.script], name=self.name, env=self.env,
                        tasks={long: ("bytes", "bytes"), "raw": ("bytes", "bytes")}, max_message=1 << 20)
        self.addCleanup(p.terminate)
        with self.assertRaises(ValueError):
            p.apply(long, (b"a",))
        self.assertEqual(p.apply("raw", (b"b",)), b"b")
        p.close()
        p.join()

    def test_maxtasksperchild_failing_initializer(self):
        # Each worker is told to leave as soon as it has its one chunk; one
        # told to leave never counted as failing to start, so the pool
        # started workers for good. It is WorkerStartError.
        p = self.pool(maxtasksperchild=1, initializer="boom")
        r = p.map_async("sq", [1.0, 2.0, 3.0], chunksize=1)
        with self.assertRaises(shmkit.WorkerStartError):
            r.get(timeout=60)
        p.close()
        p.join()

    def test_imap_chunksize_past_maxsize(self):
        # A chunk size no list can reach means the whole input as one
        # chunk; islice refused it, each next() and then join() raised its
        # ValueError for good, and only terminate() ended the pool.
        p = self.pool()
        self.assertEqual(list(p.imap("raw", iter([b"a", b"b", b"c"]), chunksize=2**70)), [b"a", b"b", b"c"])
        self.assertEqual(sorted(p.imap_unordered("raw", [b"d"], chunksize=2**70)), [b"d"])
        p.close()
        p.join()

    def test_scribbled_starts_count(self):
        # The table header's count of starts, set back by another process:
        # the replacement of a dead worker was named after a live one's
        # segment, and its start failed (file exists) for good.
        import subprocess
        p = self.pool()
        self.assertEqual(p.map("sq", [1.0, 2.0, 3.0, 4.0]), [1.0, 4.0, 9.0, 16.0])
        subprocess.run([sys.executable, "-c", "import struct, sys, shmkit\n"
                        "with shmkit.attach(sys.argv[1]) as seg:\n"
                        "    o = seg._lookup('pool', 'bytes')\n"
                        "    mem = memoryview(seg._mm)[o.offset:o.offset + o.length]\n"
                        "    struct.pack_into('<Q', mem, 64, 1)\n"
                        "    mem.release()\n", self.name], env=self.env, check=True)
        slot, pid, state, gen, done, code = p.workers()[0]
        self.assertEqual(gen, 1)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            w = p.workers()[0]
            if w[3] > 1 and w[2] == "idle":
                break
            time.sleep(0.001)
        self.assertEqual(p.map("sq", [5.0, 6.0]), [25.0, 36.0])
        p.close()
        p.join()

    def test_killed_worker_task_retried(self):
        p = self.pool()
        r = p.map_async("slow", range(400), chunksize=1)
        os.kill(self.busy(p), signal.SIGKILL)
        self.assertEqual(r.get(timeout=120), [float(x * x) for x in range(400)])
        p.close()
        p.join()

    def test_task_kills_worker_no_retries(self):
        p = self.pool(retries=0)
        results = []
        it = p.imap("die", range(100), chunksize=5)
        while True:
            try:
                results.append(next(it))
            except StopIteration:
                break
            except shmkit.WorkerDiedError as e:
                results.append(e)
        e = results[50]
        self.assertIsInstance(e, shmkit.WorkerDiedError)
        self.assertEqual((e.exitcode, e.attempts), (-signal.SIGKILL, 1))
        self.assertIn("pid %d" % e.pid, str(e))
        self.assertIn("SIGKILL", str(e))
        self.assertEqual([r for i, r in enumerate(results) if i != 50], [float(i * i) for i in range(100) if i != 50])
        p.close()
        p.join()

    def test_worker_breaking_the_protocol(self):
        # Every worker answers each chunk under another chunk's id: each is
        # killed, and its task fails once the retries are spent; the pool
        # does not go on replacing workers for the same task.
        rogue = os.path.join(os.path.dirname(self.script), "rogue.py")
        with open(rogue, "w") as f:
            # It never shows BUSY in its row either: the answer out of turn
            # is all that tells.
            f.write(WORKER.replace("sys.exit(", "import shmkit._pool as sp\n_r = sp._result\n"
                                   "sp._result = lambda cid, answers: _r(cid + 1000, answers)\n"
                                   "sp._Row.state = property(None, lambda row, v: row._i32.__setitem__(1, 1))\n"
                                   "sys.exit(", 1))
        p = shmkit.Pool(2, command=[sys.executable, rogue], name=self.name, env=self.env)
        self.addCleanup(p.terminate)
        with self.assertRaises(shmkit.WorkerDiedError) as cm:
            p.apply("sq", (3.0,))
        e = cm.exception
        self.assertTrue(e.broke_protocol)
        self.assertEqual(e.attempts, 2)
        self.assertIn("out of turn", str(e))
        self.assertLessEqual(max(w[3] for w in p.workers()), 4, "two starts for the task, and their replacements")
        p.terminate()

    def test_abandoned_imap_then_join(self):
        # An imap dropped half way is closed: its job referred back to it,
        # so dropping it freed nothing, the input was never read to its end
        # and join() waited for it for good.
        p = self.pool()
        it = p.imap("sq", range(100000))
        self.assertEqual([next(it), next(it)], [0.0, 1.0])
        del it
        self.assertEqual(p.map("sq", [3.0]), [9.0])
        p.close()
        joiner = threading.Thread(target=p.join, daemon=True)
        joiner.start()
        joiner.join(60)
        self.assertFalse(joiner.is_alive(), "join hung after an abandoned imap")

    def test_join_before_imap_is_consumed(self):
        # join() waited for an imap's consumer to read its input (for good,
        # if it reads after join, as multiprocessing allows).
        p = self.pool()
        it = p.imap("sq", range(10000))
        p.close()
        joiner = threading.Thread(target=p.join, daemon=True)
        joiner.start()
        joiner.join(60)
        self.assertFalse(joiner.is_alive(), "join waited for the imap's consumer")
        self.assertEqual(list(it), [float(x * x) for x in range(10000)])

    def test_imap_bad_input_fails_at_its_place(self):
        # An input that cannot be encoded is its task's error, at its
        # place; it was raised before the first result, and the results
        # after it moved up one place.
        p = self.pool()
        for chunksize in (1, 3):
            got = []
            it = p.imap("sq", [1.0, 2.0, "x", 4.0, 5.0], chunksize=chunksize)
            while True:
                try:
                    got.append(next(it))
                except StopIteration:
                    break
                except struct.error as e:
                    self.assertIn("input 2", str(e))
                    got.append("error")
            self.assertEqual(got, [1.0, 4.0, "error", 16.0, 25.0])
        p.close()
        p.join()

    def test_result_not_bytes(self):
        # A task that returns an int: bytes(8) made it eight zero bytes,
        # which crossed as the float 0.0.
        p = self.pool()
        with self.assertRaises(shmkit.TaskError) as cm:
            p.apply("count", (1.0,))
        self.assertIn("TypeError", cm.exception.text)
        p.close()
        p.join()

    def test_not_a_worker_program(self):
        for command in ([sys.executable, "-c", "pass"], [sys.executable, "-c", "print('{\"tasks\": 3}')"],
                        ["/nonexistent/shmkit-worker"]):
            with self.assertRaises(shmkit.PoolError):
                shmkit.Pool(1, command=command, name=self.name)

    def test_workers_that_never_serve(self):
        # A program that lists tasks but exits at once as a worker.
        with self.assertRaises(shmkit.WorkerStartError):
            p = shmkit.Pool(2, command=[sys.executable, "-c", "import sys; sys.exit(5)"], name=self.name,
                            tasks={"t": ("<q", "<q")})
            try:
                p.map("t", range(10))
            finally:
                p.terminate()


if __name__ == "__main__":
    unittest.main()
