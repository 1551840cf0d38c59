"""Tests of the shmkit package on its own: python3 -m unittest (from python/)."""

import array
import ctypes
import fcntl
import itertools
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import shmkit  # noqa: E402

_names = itertools.count()


def _zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in "ZX"
    except OSError:
        return True


def _asleep(seg, what):
    """Whether a wait of kind what is counted in: the channel's or the
    semaphore's sleeper count, or the mutex's sleeper bit (docs/layout.md)."""
    name, at, mask = {"recv": ("ch", 196, 0xFFFF), "acquire": ("sem", 4, 0xFFFFFFFF),
                      "lock": ("mu", 0, 0x80000000)}[what]
    o = seg._lookup(name)
    return int.from_bytes(seg._mm[o.offset + at:o.offset + at + 4], "little") & mask != 0


class SegmentTest(unittest.TestCase):
    def setUp(self):
        self.name = "shmkit-pytest-%d-%d" % (os.getpid(), next(_names))
        self.seg = shmkit.create(self.name, 1 << 20)
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        self.seg.close()
        try:
            shmkit.unlink(self.name)
        except FileNotFoundError:
            pass

    def fork(self, body):
        """Start body() in a forked child; return its pid."""
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                body()
                code = 0
            finally:
                os._exit(code)
        return pid

    def child(self, body):
        """Run body() in a forked child; return its exit status."""
        _, status = os.waitpid(self.fork(body), 0)
        return status


class TestSegments(SegmentTest):
    def test_attach_sees_objects(self):
        self.seg.new_array("a", "i", range(5))
        self.seg.new_semaphore("s", 2)
        with shmkit.attach(self.name) as other:
            names = [(o.name, o.kind, o.typecode) for o in other.objects()]
        self.assertEqual(names, [("a", "array", "i"), ("s", "semaphore", None)])

    def test_errors(self):
        with self.assertRaises(FileNotFoundError):
            shmkit.attach("shmkit-pytest-missing-%d" % os.getpid())
        with self.assertRaises(FileExistsError):
            shmkit.create(self.name, 1 << 20)
        with self.assertRaises(ValueError):
            shmkit.create("shmkit-pytest-small-%d" % os.getpid(), 100)
        with self.assertRaises(ValueError):
            shmkit.attach("a/b")
        with self.assertRaises(shmkit.ObjectNotFoundError):
            self.seg.array("nope")
        self.seg.new_value("v", "d", 1.0).release()
        with self.assertRaises(shmkit.KindMismatchError):
            self.seg.array("v")
        with self.assertRaises(shmkit.KindMismatchError):
            self.seg.value("v", "i")
        with self.assertRaises(shmkit.ObjectExistsError):
            self.seg.new_value("v", "d")
        with self.assertRaises(ValueError):
            self.seg.new_value("w", "z")

    def test_not_shmkit(self):
        name = "shmkit-pytest-foreign-%d" % os.getpid()
        fd = os.open("/dev/shm/" + name, os.O_CREAT | os.O_RDWR, 0o600)
        self.addCleanup(os.unlink, "/dev/shm/" + name)
        os.write(fd, b"x" * 16384)
        os.close(fd)
        with self.assertRaises(shmkit.NotShmkitError):
            shmkit.attach(name)

    def test_corrupt(self):
        view = memoryview(self.seg._mm)
        view[24:28] = (1 << 30).to_bytes(4, "little")  # a directory too large
        view.release()
        with self.assertRaises(shmkit.CorruptError):
            shmkit.attach(self.name)

    def test_never_unlinks(self):
        status = self.child(lambda: shmkit.attach(self.name).close())
        self.assertEqual(status, 0)
        shmkit.attach(self.name).close()  # still there

    def test_with_block_exception_not_masked(self):
        # A view still alive when the block raises: the block's own
        # exception comes out, not the BufferError of closing.
        self.seg.new_array("a", "i", [1, 2, 3])
        with self.assertRaises(ValueError):
            with shmkit.attach(self.name) as seg:
                view = seg.array("a")
                raise ValueError("the block's own")
        view.release()
        # Without an exception the block ends cleanly too; the view keeps
        # the mapping until it is released (see TestWithBlock).
        with shmkit.attach(self.name) as seg:
            view = seg.array("a")
        self.assertTrue(seg.closed)
        view.release()

    def test_close_with_views_alive(self):
        a = self.seg.new_array("a", "d", 3)
        with self.assertRaises(BufferError):
            self.seg.close()
        a.release()
        self.seg.close()
        self.assertTrue(self.seg.closed)


class TestValuesAndArrays(SegmentTest):
    def test_every_typecode(self):
        samples = {"c": b"x", "b": -5, "B": 200, "h": -300, "H": 60000, "i": -70000, "I": 4000000000,
                   "l": -5000000000000, "L": 10 ** 19, "q": -9 * 10 ** 18, "Q": 18 * 10 ** 18, "f": 1.5,
                   "d": -2.25, "u": "é"}
        self.assertEqual(set(samples), set(shmkit.TYPECODES))
        for tc, x in samples.items():
            v = self.seg.new_value("v_" + tc, tc, x)
            self.assertEqual(v.value, x, tc)
            other = shmkit.attach(self.name)
            w = other.value("v_" + tc, tc)
            self.assertEqual(w.value, x, tc)
            w.release()
            v.release()
            other.close()

    def test_array_shared_with_child(self):
        a = self.seg.new_array("a", "d", [float(i) for i in range(10)])

        def negate():
            with shmkit.attach(self.name) as seg:
                b = seg.array("a")
                for i in range(len(b)):
                    b[i] = -b[i]
                b.release()
        self.assertEqual(self.child(negate), 0)
        self.assertEqual(a.tolist(), [-float(i) for i in range(10)])
        a.release()

    def test_locked_counter(self):
        v = self.seg.new_value("n", "i", 0)

        def work():
            with shmkit.attach(self.name) as seg:
                n = seg.value("n")
                for _ in range(1000):
                    with n.get_lock():
                        n.value += 1
                n.release()
        pids = []
        for _ in range(4):
            pid = os.fork()
            if pid == 0:
                try:
                    work()
                finally:
                    os._exit(0)
            pids.append(pid)
        for pid in pids:
            os.waitpid(pid, 0)
        self.assertEqual(v.value, 4000)
        v.release()

    def test_char_array(self):
        a = self.seg.new_array("s", "c", b"hello")
        self.assertEqual(a.tobytes(), b"hello")
        a[0] = b"j"
        self.assertEqual(a.tobytes(), b"jello")
        a.release()

    def test_ndarray(self):
        try:
            import numpy  # noqa: F401
        except ImportError:
            self.skipTest("numpy not installed")
        self.seg.new_array("a", "d", range(4)).release()
        n = self.seg.ndarray("a")
        n *= 2
        del n
        a = self.seg.array("a")
        self.assertEqual(a.tolist(), [0.0, 2.0, 4.0, 6.0])
        a.release()


class TestSync(SegmentTest):
    def test_semaphore(self):
        s = self.seg.new_semaphore("s", 1)
        self.assertTrue(s.acquire())
        self.assertFalse(s.acquire(block=False))
        self.assertFalse(s.acquire(timeout=0.05))
        s.release()
        with s:
            self.assertEqual(s.get_value(), 0)
        self.assertEqual(s.get_value(), 1)

    def test_bounded_semaphore(self):
        s = self.seg.new_semaphore("s", 1, bounded=True)
        with self.assertRaises(ValueError):
            s.release()

    def test_scribbled_semaphore(self):
        s = self.seg.new_semaphore("s", 1)
        o = self.seg._lookup("s")
        pid = os.fork()
        if pid == 0:  # another process writes garbage over the semaphore's words
            try:
                with open("/dev/shm/" + self.name, "r+b") as f:
                    f.seek(o.offset)
                    f.write(b"\xff" * 16)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        for call in (lambda: s.acquire(), lambda: s.acquire(timeout=0.01), s.release, s.get_value):
            with self.assertRaises(shmkit.CorruptError):
                call()

    def test_lowered_cursor(self):
        self.seg.new_array("live", "i", [7, 7, 7])
        hdr = self.seg._lookup("live")
        pid = os.fork()
        if pid == 0:  # a hostile process lowers the allocation cursor to the live array
            try:
                with open("/dev/shm/" + self.name, "r+b") as f:
                    f.seek(32)
                    f.write(hdr.offset.to_bytes(8, "little"))
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        with self.assertRaises(shmkit.CorruptError):
            self.seg.new_array("new", "i", [1, 2, 3])
        self.assertEqual(list(self.seg.array("live")), [7, 7, 7])

    def test_reader_flock_cannot_block_alloc(self):
        # A process that may only read could take the flock that serialised
        # allocation (layout version 2) and stall every writer. It holds one
        # here, in a child whose file is open read-only, while we allocate.
        r, w = os.pipe()
        hold, release = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                with open("/dev/shm/" + self.name, "rb") as f:
                    fcntl.flock(f, fcntl.LOCK_EX)
                    os.write(w, b"x")
                    os.read(hold, 1)  # until killed below
            finally:
                os._exit(0)
        try:
            self.assertEqual(os.read(r, 1), b"x")
            done = []
            t = threading.Thread(target=lambda: done.append(self.seg.new_array("after", "i", [1])), daemon=True)
            t.start()
            t.join(60)
            self.assertTrue(done, "new_array blocked by a reader's flock")
        finally:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            for fd in (r, w, hold, release):
                os.close(fd)

    def test_truncation_racing_attach(self):
        # A file flipping between 0 bytes and a valid header killed attach()
        # with SIGBUS (it read the header through the mapping). A child
        # flips it while another attaches in a loop; every attach either
        # works or raises a clean error.
        for i in range(8):
            self.seg.new_array("a%d" % i, "i", 4)
        path = "/dev/shm/" + self.name
        with open(path, "rb") as f:
            meta = f.read(16 << 10)
        size = self.seg.size
        flipper = os.fork()
        if flipper == 0:
            try:
                fd = os.open(path, os.O_RDWR)
                while True:
                    os.ftruncate(fd, 0)
                    os.ftruncate(fd, size)
                    os.pwrite(fd, meta, 0)
            finally:
                os._exit(0)
        try:
            def attach_loop():
                for _ in range(2000):
                    try:
                        shmkit.attach(self.name).close()
                    except (shmkit.ShmkitError, ValueError, OSError):
                        pass
            self.assertEqual(self.child(attach_loop), 0, "attach must survive the flipping")
        finally:
            os.kill(flipper, signal.SIGKILL)
            os.waitpid(flipper, 0)

    def test_non_utf8_name_is_corrupt(self):
        self.seg.new_array("a", "i", [1])
        pid = os.fork()
        if pid == 0:  # a hostile process spoils the first entry's name
            try:
                with open("/dev/shm/" + self.name, "r+b") as f:
                    f.seek(128)
                    f.write(b"\xff")
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        with self.assertRaises(shmkit.CorruptError):  # not UnicodeDecodeError
            self.seg.objects()

    def test_semaphore_woken_by_child(self):
        s = self.seg.new_semaphore("s", 0)
        pid = os.fork()
        if pid == 0:
            try:
                with shmkit.attach(self.name) as seg:
                    seg.semaphore("s").release()
            finally:
                os._exit(0)
        self.assertTrue(s.acquire(timeout=60))
        os.waitpid(pid, 0)

    def test_mutex_owner_dead(self):
        m = self.seg.new_mutex("m")

        def die_holding():
            with shmkit.attach(self.name) as seg:
                seg.mutex("m").acquire()
                os.kill(os.getpid(), signal.SIGKILL)
        status = self.child(die_holding)
        self.assertTrue(os.WIFSIGNALED(status))
        with self.assertRaises(shmkit.OwnerDeadError):
            m.acquire()
        m.consistent()
        m.release()
        with m:
            pass

    def test_mutex_not_recoverable(self):
        m = self.seg.new_mutex("m")
        self.child(lambda: (shmkit.attach(self.name).mutex("m").acquire(), os.kill(os.getpid(), signal.SIGKILL)))
        with self.assertRaises(shmkit.OwnerDeadError):
            m.acquire()
        m.release()  # without consistent()
        with self.assertRaises(shmkit.NotRecoverableError):
            m.acquire()
        with self.assertRaises(shmkit.NotRecoverableError):
            m.acquire(block=False)

    def test_mutex_timeout(self):
        m = self.seg.new_mutex("m")
        m.acquire()
        with self.assertRaises(RuntimeError):  # error-checking: not recursive
            m.acquire()
        m.release()
        with self.assertRaises(RuntimeError):
            m.release()


class TestParity(SegmentTest):
    def test_read_only_attach(self):
        self.seg.new_array("a", "i", [1, 2, 3])
        self.seg.new_value("v", "q", 7)
        self.seg.new_semaphore("s", 1)
        self.seg.new_mutex("m")
        self.seg.new_channel("ch", "d", 2, 4)
        self.seg.new_channel("jq", "d", 2, 4, joinable=True)
        ro = shmkit.attach(self.name, readonly=True)
        try:
            self.assertTrue(ro.readonly)
            a = ro.array("a")
            self.assertEqual(list(a), [1, 2, 3])
            with self.assertRaises(TypeError):
                a[0] = 9  # a read-only view
            a.release()
            v = ro.value("v")
            self.assertEqual(v.value, 7)  # read without the lock: a reader cannot take it
            for call in (lambda: setattr(v, "value", 8), lambda: v.add(1), lambda: ro.semaphore("s").acquire(),
                         lambda: ro.semaphore("s").release(), lambda: ro.mutex("m").acquire(),
                         lambda: ro.channel("ch").send([1.0]), lambda: ro.channel("ch").recv(timeout=0),
                         lambda: ro.channel("ch").end(), lambda: ro.channel("ch").register(True),
                         lambda: ro.channel("jq").task_done(), lambda: ro.channel("jq").join(timeout=0),
                         lambda: ro.new_array("b", "i", 2)):
                with self.assertRaises(shmkit.ReadOnlyError):
                    call()
            self.assertEqual(len(ro.channel("ch")), 0)
            v.release()
        finally:
            ro.close()

    def test_attach_raw(self):
        with shmkit.attach_raw(self.name) as raw:
            self.assertEqual(raw.size, self.seg.size)
            self.assertEqual(bytes(raw.buf[:6]), b"SHMKIT")
        path = "/dev/shm/shmkit-pytest-raw-%d" % os.getpid()
        with open(path, "wb") as f:
            f.write(b"not shmkit")
        try:
            with shmkit.attach_raw(os.path.basename(path), readonly=True) as raw:
                self.assertEqual(bytes(raw.buf), b"not shmkit")
            with self.assertRaises(shmkit.NotShmkitError):
                shmkit.attach(os.path.basename(path))
        finally:
            os.unlink(path)

    def test_python_shared_memory_caveat(self):
        # Python's own SharedMemory, attached to a shmkit segment, registers
        # it with the resource tracker, which unlinks it when the attaching
        # process exits: the segment is gone for everyone. Unregistering it
        # (before 3.13) or track=False (from 3.13) keeps it.
        script = (
            "import sys\n"
            "from multiprocessing import shared_memory, resource_tracker\n"
            "fix = sys.argv[2] == 'fix'\n"
            "if fix and sys.version_info >= (3, 13):\n"
            "    shm = shared_memory.SharedMemory(name=sys.argv[1], track=False)\n"
            "else:\n"
            "    shm = shared_memory.SharedMemory(name=sys.argv[1])\n"
            "    if fix:\n"
            "        resource_tracker.unregister(shm._name, 'shared_memory')\n"
            "shm.close()\n"
            "print(resource_tracker._resource_tracker._pid or 0)\n")
        for mode, survives in (("bare", False), ("fix", True)):
            name = "%s-%s" % (self.name, mode)
            shmkit.create(name, 1 << 16).close()
            try:
                out = subprocess.run([sys.executable, "-c", script, name, mode], check=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
                tracker = int(out.strip() or 0)
                while tracker and os.path.exists("/proc/%d" % tracker) and not _zombie(tracker):
                    time.sleep(0.01)  # the tracker unlinks as it exits: wait for that
                self.assertEqual(os.path.exists("/dev/shm/" + name), survives, mode)
            finally:
                if os.path.exists("/dev/shm/" + name):
                    shmkit.unlink(name)

    def test_named_semaphore(self):
        name = "/shmkit-pytest-sem-%d" % os.getpid()
        sem = shmkit.named_semaphore(name, create=True, value=1, mode=0o640)
        try:
            self.assertEqual(os.stat("/dev/shm/sem." + name[1:]).st_mode & 0o777, 0o640)
            with self.assertRaises(FileExistsError):
                shmkit.named_semaphore(name, create=True)
            other = shmkit.named_semaphore(name)
            self.assertTrue(other.acquire(timeout=1))
            self.assertFalse(sem.acquire(block=False))
            self.assertFalse(sem.acquire(timeout=0.05))
            other.release()
            self.assertEqual(sem.get_value(), 1)
            other.close()
            with self.assertRaises(ValueError):
                other.release()
        finally:
            sem.close()
            shmkit.unlink_named_semaphore(name)
        with self.assertRaises(FileNotFoundError):
            shmkit.named_semaphore(name)

    def test_named_semaphore_too_short(self):
        """A file named as a semaphore but shorter than one is CorruptError
        at open; before, the process died of SIGBUS at its first use."""
        name = "/shmkit-pytest-shortsem-%d" % os.getpid()
        path = "/dev/shm/sem." + name[1:]
        try:
            for size in (0, 7):
                with open(path, "wb") as f:
                    f.write(b"\0" * size)

                def opener():
                    try:
                        shmkit.named_semaphore(name).get_value()
                    except shmkit.CorruptError:
                        os._exit(7)
                status = self.child(opener)
                self.assertTrue(os.WIFEXITED(status), "died of signal %d" % os.WTERMSIG(status))
                self.assertEqual(os.WEXITSTATUS(status), 7)
        finally:
            os.unlink(path)

    def test_scribbled_named_semaphore(self):
        """A named semaphore's file overwritten with what glibc never leaves
        there (a value past SEM_VALUE_MAX, a bad futex flag word) is
        CorruptError to each call of a process that has it open, which lives
        on; before, glibc aborted the process (SIGABRT) at its release, after
        get_value gave -1."""
        name = "/shmkit-pytest-scribsem-%d" % os.getpid()
        path = "/dev/shm/sem." + name[1:]
        s = shmkit.named_semaphore(name, create=True, value=1)
        self.addCleanup(shmkit.unlink_named_semaphore, name)
        self.addCleanup(s.close)
        for pattern in (b"\xff" * 32, b"\0\0\0\x80\0\0\0\0\0\0\0\0",
                        b"\1\0\0\0\1\0\0\0\xff\xff\xff\xff"):
            with open(path, "r+b") as f:
                f.write(pattern)

            def user():
                calls = (s.get_value, lambda: s.acquire(False), lambda: s.acquire(timeout=0.01), s.release)
                corrupt = 0
                for call in calls:
                    try:
                        call()
                    except shmkit.CorruptError:
                        corrupt += 1
                os._exit(corrupt)
            status = self.child(user)
            self.assertTrue(os.WIFEXITED(status), "died of signal %d" % os.WTERMSIG(status))
            self.assertEqual(os.WEXITSTATUS(status), 4, pattern)

    def test_atomic_add_across_processes(self):
        # Go's RawValue.Add and this add() are one atomic instruction on the
        # same word: no update is lost, as with v.value += 1 it would be.
        v = self.seg.new_value("n", "q", 0, lock=False)
        f = self.seg.new_value("x", "d", 0.0, lock=False)
        pids = []
        for _ in range(3):
            pid = os.fork()
            if pid == 0:
                try:
                    seg = shmkit.attach(self.name)
                    n, x = seg.value("n"), seg.value("x")
                    for _ in range(2000):
                        n.add(1)
                        x.add(0.5)
                    n.release()
                    x.release()
                    seg.close()
                finally:
                    os._exit(0)
            pids.append(pid)
        for pid in pids:
            self.assertEqual(os.waitpid(pid, 0)[1], 0)
        self.assertEqual(v.value, 6000)
        self.assertEqual(f.value, 3000.0)
        self.assertEqual(v.swap(6000), 6000)
        self.assertTrue(v.compare_and_swap(6000, -1))
        self.assertFalse(v.compare_and_swap(6000, 5))
        self.assertEqual(v.value, -1)
        self.assertEqual(self.seg.new_value("b", "b", 127, lock=False).add(1), -128)  # wraps as in C and Go
        with self.assertRaises(TypeError):
            self.seg.new_value("c", "c", b"x", lock=False).add(1)
        v.release()
        f.release()


class TestWithBlock(SegmentTest):
    """Views still alive at the end of a with block never make it fail."""

    def test_views_outlive_the_block(self):
        self.seg.new_value("v", "d", 1.5)
        self.seg.new_array("a", "i", [1, 2, 3])
        self.seg.new_records("r", Vec, 2)
        with shmkit.attach(self.name) as seg:
            v = seg.value("v")
            a = seg.array("a")
            r = seg.records("r")
            v.value = 2.5
            a[0] = 7
        self.assertTrue(seg.closed)
        self.assertEqual(a.tolist(), [7, 2, 3])  # the mapping is still there for them
        self.assertEqual(self.seg.value("v").value, 2.5)
        with self.assertRaises(ValueError):
            seg.array("a")  # but the segment is closed for anything new
        a.release()
        v.release()
        if hasattr(r, "release"):
            r.release()

    def test_the_blocks_exception_goes_on(self):
        self.seg.new_array("a", "i", [1])
        with self.assertRaises(KeyError):
            with shmkit.attach(self.name) as seg:
                a = seg.array("a")
                raise KeyError("mine")
        self.assertTrue(seg.closed)
        a.release()

    def test_close_still_refuses(self):
        self.seg.new_array("a", "i", [1])
        seg = shmkit.attach(self.name)
        a = seg.array("a")
        with self.assertRaises(BufferError):
            seg.close()
        a.release()
        seg.close()


class TestPipe(SegmentTest):
    """multiprocessing.Pipe's Connection over a shmkit pipe."""

    def test_refused_receive_loses_nothing(self):
        """recv_bytes_into a read-only buffer is TypeError and recv_bytes
        with a maxlength shorter than the message OSError, and the message
        stays for the next receive. Before, both took it and dropped it: a
        receive after them waited for ever."""
        a = self.seg.new_pipe("p", slots=4, maxlen=64)
        b = self.seg.pipe("p", 1)
        a.send_bytes(b"first")
        with self.assertRaises(TypeError):
            b.recv_bytes_into(b"0123456789")
        with self.assertRaises(OSError):
            b.recv_bytes(maxlength=2)
        buf = bytearray(10)
        self.assertEqual(b.recv_bytes_into(buf, 1), 5)
        self.assertEqual(bytes(buf[1:6]), b"first")
        self.assertFalse(b.poll(0))

    def test_adder_across_processes(self):
        client = self.seg.new_pipe("adder")

        def server():
            with self.seg.pipe("adder", 1) as conn:
                while True:
                    try:
                        x, y = conn.recv()
                    except EOFError:
                        break
                    conn.send(x + y)
        pid = self.fork(server)
        client.send((3, 4))
        self.assertEqual(client.recv(), 7)
        client.send(("Hello", "World"))
        self.assertEqual(client.recv(), "HelloWorld")
        client.close()
        self.assertEqual(os.waitpid(pid, 0)[1], 0)

    def test_poll_bytes_and_eof(self):
        a = self.seg.new_pipe("p", slots=2, maxlen=64)
        b = self.seg.pipe("p", 1)
        self.assertFalse(a.poll())
        self.assertFalse(a.poll(0.01))
        b.send_bytes(b"xhello", 1)
        self.assertTrue(a.poll(None))
        self.assertTrue(a.poll())  # still there
        with self.assertRaises(multiprocessing.BufferTooShort) as short:
            a.recv_bytes_into(bytearray(3))
        self.assertEqual(short.exception.args[0], b"hello")  # taken, as multiprocessing does
        b.send_bytes(b"hello")
        buf = bytearray(8)
        self.assertEqual(a.recv_bytes_into(buf, 1), 5)
        self.assertEqual(bytes(buf), b"\0hello\0\0")
        with self.assertRaises(ValueError):
            b.send_bytes(b"x" * 65)  # longer than the pipe's maxlen
        b.close()
        self.assertTrue(a.poll(60))
        with self.assertRaises(EOFError):
            a.recv()
        a.close()

    def test_bad_arguments_lose_no_message(self):
        """A bad offset or maxlength is a ValueError before anything is
        taken, as in multiprocessing: the message sent from another
        process is still the next one read (it used to be dropped)."""
        a = self.seg.new_pipe("p")

        def sender():
            with self.seg.pipe("p", 1) as b:
                b.send_bytes(b"hello")
        self.assertEqual(self.child(sender), 0)
        buf = bytearray(8)
        for offset in (-1, 9, 100):
            with self.assertRaises(ValueError):
                a.recv_bytes_into(buf, offset)
        with self.assertRaises(ValueError):
            a.recv_bytes(-1)
        self.assertEqual(a.recv_bytes(), b"hello")
        a.close()

    def test_peer_dies_before_opening(self):
        """A process named with expect_peer that dies before it opens its
        end makes recv() and a blocked send() raise PeerDeadError, as Go's
        Conn.ExpectPeer does; before, Python had no way to name it and
        recv() waited for good."""
        a = self.seg.new_pipe("p", slots=1, maxlen=64)
        peer = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"])
        try:
            a.expect_peer(peer.pid)
            with self.assertRaises(shmkit.PeerDeadError):
                a.recv()
            a.send_bytes(b"fills the one slot")
            with self.assertRaises(shmkit.PeerDeadError):
                a.send_bytes(b"waits for a reader")
        finally:
            self.assertEqual(peer.wait(), 3)
        a.close()

    def test_one_way(self):
        r = self.seg.new_pipe("p", duplex=False)
        w = self.seg.pipe("p", 1)
        self.assertFalse(r.writable)
        self.assertFalse(w.readable)
        with self.assertRaises(OSError):
            r.send(1)
        with self.assertRaises(OSError):
            w.recv()
        w.send([1, 2])
        self.assertEqual(r.recv(), [1, 2])
        with self.assertRaises(ValueError):
            self.seg.pipe("p", 2)
        r.close()
        w.close()


class TestQueue(SegmentTest):
    """multiprocessing.Queue: picklable objects of any size."""

    def test_objects_of_any_size_across_processes(self):
        q = self.seg.new_queue("q", slots=4, slot_bytes=128, max_message=1 << 16)
        q.register(True)  # this process ends the queue after its producers exit
        objs = [None, 1, "x" * 3000, {"k": list(range(500))}, b"\0" * 10000, (1.5, "é")]

        def producer():
            pq = self.seg.queue("q")
            for o in objs:
                pq.put(o)
        pids = [self.fork(producer) for _ in range(2)]
        got = [q.get(timeout=60) for _ in range(2 * len(objs))]
        for pid in pids:
            self.assertEqual(os.waitpid(pid, 0)[1], 0)
        self.assertEqual(sorted(map(repr, got)), sorted(map(repr, objs * 2)))
        self.assertTrue(q.empty())
        q.end()
        with self.assertRaises(EOFError):
            q.get()
        q.close()

    def test_full_empty_and_limits(self):
        import queue as stdqueue
        q = self.seg.new_queue("q", slots=2, slot_bytes=32, max_message=100)
        with self.assertRaises(stdqueue.Empty):
            q.get_nowait()
        with self.assertRaises(stdqueue.Empty):
            q.get(timeout=0.01)
        q.put_bytes(b"a")
        with self.assertRaises(stdqueue.Full):
            q.put_bytes(b"b" * 30, block=False)  # two parts, one slot free: nothing sent
        self.assertEqual(q.qsize(), 1)
        q.put_bytes(b"c")
        self.assertTrue(q.full())
        with self.assertRaises(stdqueue.Full):
            q.put_bytes(b"d", timeout=0.01)
        with self.assertRaises(ValueError):
            q.put_bytes(b"e" * 101)
        self.assertEqual([q.get_bytes(), q.get_bytes()], [b"a", b"c"])
        for bad in (dict(slot_bytes=8), dict(max_message=2**32), dict(max_message=-1)):
            with self.assertRaises(ValueError):
                self.seg.new_queue("bad", **bad)
        q.close()


    def test_expected_peer_dies_before_opening(self):
        """A process named with expect_sender (expect_receiver) that dies
        before it opens the queue makes get() (a put() on a full queue)
        raise PeerDeadError, as Go's ExpectSender does; before, Python had
        no way to name it and get() waited for good."""
        q = self.seg.new_queue("q", slots=1, slot_bytes=64, max_message=100)
        peer = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"])
        try:
            q.expect_sender(peer.pid)
            with self.assertRaises(shmkit.PeerDeadError):
                q.get()
            out = self.seg.new_queue("out", slots=1, slot_bytes=64, max_message=100)
            out.put(1)  # this process has never received from it: its one receiver is the dead one
            out.expect_receiver(peer.pid)
            with self.assertRaises(shmkit.PeerDeadError):
                out.put(2)
        finally:
            self.assertEqual(peer.wait(), 3)
        self.assertEqual(out.qsize(), 1)
        q.close()
        out.close()

    def test_hostile_limit(self):
        """A queue whose limit word was overwritten past 4 GiB-1 is
        CorruptError when another process opens it, as in Go."""
        self.seg.new_queue("q", slots=4, slot_bytes=64, max_message=100).close()
        lim = self.seg.value("q.max", "Q")
        for v in (2**32, 2**63, 2**64 - 1):
            lim.value = v

            def opener():
                try:
                    self.seg.queue("q")
                except shmkit.CorruptError:
                    os._exit(7)
            self.assertEqual(os.WEXITSTATUS(self.child(opener)), 7, v)
        lim.release()

    def test_closed_handle_refuses(self):
        """put and get on a closed handle raise ValueError, as
        multiprocessing.Queue's do, and nothing reaches the queue (another
        process finds it empty); before, put sent the message."""
        import queue as stdqueue
        q = self.seg.new_queue("q", slots=4, slot_bytes=64, max_message=100)
        q.close()
        q.close()  # a second close is nothing, as in multiprocessing
        for call in (lambda: q.put(1), lambda: q.put_bytes(b"x"), lambda: q.get(False), lambda: q.get_bytes(timeout=1),
                     q.qsize, q.empty, q.full):
            with self.assertRaises(ValueError):
                call()

        def other():
            try:
                self.seg.queue("q").get_nowait()
            except stdqueue.Empty:
                os._exit(7)
        self.assertEqual(os.WEXITSTATUS(self.child(other)), 7)

    def test_sender_killed_inside_a_message_then_end(self):
        """A sender killed inside a long message, then end(): get raises
        EOFError, not CorruptError (nothing was damaged)."""
        q = self.seg.new_queue("q", slots=4, slot_bytes=64, max_message=10_000)
        pid = self.fork(lambda: self.seg.queue("q").put_bytes(b"x" * 10_000))
        while len(q._ch) < q._ch.slots:
            self.assertFalse(_zombie(pid))
            time.sleep(0.001)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        q.end()
        with self.assertRaises(EOFError) as cm:
            q.get(timeout=60)
        self.assertNotIsInstance(cm.exception, shmkit.CorruptError)
        q.close()

    def test_refused_queue_creates_nothing(self):
        """A new_queue refused for a name whose derived names are too long,
        or one of which is taken, leaves no object behind (another process
        lists them); before, the channel stayed and held the name."""
        long = "q" * 60  # fits; long + ".send" does not
        with self.assertRaises(ValueError):
            self.seg.new_queue(long, slots=4, slot_bytes=64, max_message=100)
        self.seg.new_value("taken.len", "q", 0, lock=False).release()
        with self.assertRaises(shmkit.ObjectExistsError):
            self.seg.new_queue("taken", slots=4, slot_bytes=64, max_message=100)
        r, w = os.pipe()

        def lister():
            os.write(w, repr(sorted(o.name for o in shmkit.attach(self.name).objects())).encode())
        self.assertEqual(self.child(lister), 0)
        os.close(w)
        with os.fdopen(r) as f:
            self.assertEqual(f.read(), repr(["taken.len"]))
        self.seg.new_queue(long[:58], slots=4, slot_bytes=64, max_message=100).close()

    def test_queue_out_of_room_creates_nothing(self):
        """A new_queue that finds room for only some of its five objects, in
        the data area or the directory, raises NoSpaceError and leaves none
        of them (another process lists an empty segment); before, the first
        objects stayed, holding the name and the space."""
        self.seg.new_queue("q", slots=4, slot_bytes=64, max_message=100).close()
        lengths = [o.length for o in self.seg.objects()]
        self.assertEqual(len(lengths), 5)
        data_start = (128 + 5 * 128 + 63) // 64 * 64  # header, 5 entries of 128 bytes
        for k in range(1, 5):
            for size, capacity in ((data_start + sum(lengths[:k + 1]) - 64, 5),  # 64 bytes short of one more
                                   (1 << 16, k)):  # entries for k
                name = "%s-room%d-%d" % (self.name, k, capacity)
                seg = shmkit.create(name, size, capacity=capacity)
                self.addCleanup(shmkit.unlink, name)
                self.addCleanup(seg.close)
                with self.assertRaises(shmkit.NoSpaceError, msg="room for %d" % k):
                    seg.new_queue("q", slots=4, slot_bytes=64, max_message=100)
                r, w = os.pipe()

                def lister():
                    os.write(w, repr([o.name for o in shmkit.attach(name).objects()]).encode())
                self.assertEqual(self.child(lister), 0)
                os.close(w)
                with os.fdopen(r) as f:
                    self.assertEqual(f.read(), "[]", "room for %d objects, capacity %d" % (k, capacity))
        name = self.name + "-exact"
        seg = shmkit.create(name, data_start + sum(lengths), capacity=5)
        self.addCleanup(shmkit.unlink, name)
        self.addCleanup(seg.close)
        seg.new_queue("q", slots=4, slot_bytes=64, max_message=100).close()

    def test_pipe_refused_creates_nothing(self):
        """A two-way new_pipe that finds room for only one of its channels,
        or NAME.1 taken, raises and leaves no channel (another process lists
        them); before, NAME.0 stayed."""
        self.seg.new_pipe("p", slots=4, maxlen=64).close()
        length = [o.length for o in self.seg.objects() if o.name == "p.0"][0]
        data_start = (128 + 2 * 128 + 63) // 64 * 64  # header, 2 entries of 128 bytes
        cases = [(data_start + 2 * length - 64, 2, shmkit.NoSpaceError),  # 64 bytes short of the second
                 (1 << 16, 1, shmkit.NoSpaceError),  # one entry
                 (1 << 16, 4, shmkit.ObjectExistsError)]  # p.1 taken
        for size, capacity, error in cases:
            name = "%s-pipe%d" % (self.name, capacity)
            seg = shmkit.create(name, size, capacity=capacity)
            self.addCleanup(shmkit.unlink, name)
            self.addCleanup(seg.close)
            if error is shmkit.ObjectExistsError:
                seg.new_value("p.1", "q", 0, lock=False).release()
            with self.assertRaises(error):
                seg.new_pipe("p", slots=4, maxlen=64)
            r, w = os.pipe()

            def lister():
                os.write(w, repr([o.name for o in shmkit.attach(name).objects()]).encode())
            self.assertEqual(self.child(lister), 0)
            os.close(w)
            with os.fdopen(r) as f:
                left = f.read()
            self.assertEqual(left, repr(["p.1"] if error is shmkit.ObjectExistsError else []), capacity)

    def test_sender_killed_inside_a_message_nothing_after(self):
        """A get that took the first parts of a message whose sender was
        killed, with no message after it, gives up at its timeout (it used
        to wait for the rest forever), and the next message arrives whole."""
        import queue as stdqueue
        q = self.seg.new_queue("q", slots=4, slot_bytes=64, max_message=10_000)
        q.register(True)  # this process stays a live sender: no peer-death error
        pid = self.fork(lambda: self.seg.queue("q").put_bytes(b"x" * 10_000))
        while len(q._ch) < q._ch.slots:  # it waits inside its message, the ring full
            self.assertFalse(_zombie(pid))
            time.sleep(0.001)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        outcome = []

        def get():
            try:
                outcome.append(q.get_bytes(timeout=0.05))
            except stdqueue.Empty:
                outcome.append("empty")
        t = threading.Thread(target=get, daemon=True)
        t.start()
        t.join(30)
        self.assertFalse(t.is_alive(), "get still waits for the rest of a dead sender's message")
        self.assertEqual(outcome, ["empty"])
        self.assertEqual(len(q._ch), 0)
        q.put_bytes(b"next")
        self.assertEqual(q.get_bytes(timeout=60), b"next")
        q.close()

class TestEventBarrierCondition(SegmentTest):
    """multiprocessing's Event, Barrier and Condition, across forked processes."""

    def test_event(self):
        e = self.seg.new_event("e")
        self.assertFalse(e.is_set())
        self.assertFalse(e.wait(0.01))
        seen = self.seg.new_semaphore("seen", 0)
        pid = self.fork(lambda: (self.seg.event("e").wait(60) or os._exit(3), seen.release()))
        self.assertTrue(e.wait(0) is False)
        e.set()
        self.assertTrue(seen.acquire(timeout=60))
        self.assertEqual(os.waitpid(pid, 0)[1], 0)
        self.assertTrue(e.wait())
        e.clear()
        self.assertFalse(e.is_set())
        with self.assertRaises(shmkit.KindMismatchError):
            self.seg.barrier("e")
        for bad in ("a\x00b", "", "x" * 64):
            with self.assertRaises(ValueError):
                self.seg.new_event(bad)

    def test_barrier(self):
        b = self.seg.new_barrier("b", 3)
        self.assertEqual(b.parties, 3)
        pids = [self.fork(lambda: self.seg.barrier("b").wait(60)) for _ in range(2)]
        index = b.wait(60)
        self.assertIn(index, (0, 1, 2))
        for pid in pids:
            self.assertEqual(os.waitpid(pid, 0)[1], 0)
        self.assertEqual(b.n_waiting, 0)
        with self.assertRaises(threading.BrokenBarrierError):
            b.wait(0.01)  # alone: times out and breaks it
        self.assertTrue(b.broken)
        with self.assertRaises(threading.BrokenBarrierError):
            b.wait()
        b.reset()
        self.assertFalse(b.broken)
        for bad in (0, -1, 2**31, 1.5, True):
            with self.assertRaises(ValueError):
                self.seg.new_barrier("bad", bad)

    def test_condition(self):
        m = self.seg.new_rmutex("m") if hasattr(self.seg, "new_rmutex") else self.seg.new_mutex("m", recursive=True)
        c = self.seg.new_condition("c", m)
        flag = self.seg.new_value("flag", "i", 0, lock=False)
        with self.assertRaises(RuntimeError):
            c.wait(0)  # not holding the mutex
        for wake in (c.notify, c.notify_all):  # as multiprocessing's: only under the mutex
            with self.assertRaises(RuntimeError):
                wake()
        with c:
            with c:  # a recursive mutex held twice is released whole while waiting
                self.assertFalse(c.wait(0.01))

        def notifier():
            cc = self.seg.condition("c", self.seg.mutex("m"))
            with cc:
                self.seg.value("flag").value = 1
                cc.notify_all()
        with c:
            pid = self.fork(notifier)
            self.assertTrue(c.wait_for(lambda: flag.value == 1, 60))
        self.assertEqual(os.waitpid(pid, 0)[1], 0)
        with self.assertRaises(TypeError):
            self.seg.new_condition("c2", object())
        flag.release()


class TestChannel(SegmentTest):
    def _in_child(self, scenario):
        """Run scenario in a forked child, so that a crash fails the test
        instead of the run; it returns a list of what went wrong."""
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                problems = scenario()
                os.write(w, ("\n".join(problems) or "ok").encode())
            except BaseException as e:  # noqa: B036 - report anything
                os.write(w, ("raised %r" % e).encode())
            finally:
                os._exit(0)
        os.close(w)
        out = b""
        while True:
            chunk = os.read(r, 4096)
            if not chunk:
                break
            out += chunk
        os.close(r)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(status, 0, "the child died: %s" % out.decode())
        self.assertEqual(out.decode(), "ok")

    def test_closed_handle_refuses(self):
        """Every call on a closed channel handle but len() raises
        ValueError, as Go's give ErrClosed, and nothing it was asked to send
        reaches the channel (another process finds it empty); before, send
        after close() went through. A second close is nothing."""
        ch = self.seg.new_channel("ch", "d", 4, 4)
        ch.close()
        ch.close()
        for call in (lambda: ch.send([1.0]), lambda: ch.recv(timeout=0), lambda: ch.recv_into(bytearray(32)),
                     ch.end, lambda: ch.task_done(), lambda: ch.join(0), lambda: ch.register(True), lambda: ch.expect_sender(os.getpid())):
            with self.assertRaises(ValueError):
                call()

        self.assertEqual(len(ch), 0)

        def other():
            other = self.seg.channel("ch")
            return [] if len(other) == 0 else ["%d messages reached the channel" % len(other)]
        self._in_child(other)

    def test_close_while_waiting(self):
        # close() while another thread waited in recv or acquire died of
        # SIGSEGV: the wait woke in unmapped memory. The wait now raises
        # ValueError ("closed"), and close() returns once it has.
        self.seg.new_channel("ch", "d", 2, 4)
        self.seg.new_semaphore("sem", 0)
        self.seg.new_mutex("mu")
        held = self.seg.mutex("mu")
        held.acquire()  # by this process: the child waits for it
        name = self.name

        def scenario():
            problems = []
            for what in ("recv", "acquire", "lock"):
                seg = shmkit.attach(name)
                ch, sem, mu = seg.channel("ch"), seg.semaphore("sem"), seg.mutex("mu")
                call = {"recv": ch.recv, "acquire": sem.acquire, "lock": mu.acquire}[what]
                outcome = []

                def wait():
                    try:
                        call()
                        outcome.append("returned")
                    except ValueError as e:
                        outcome.append("closed" if "closed" in str(e) else repr(e))
                    except BaseException as e:  # noqa: B036
                        outcome.append(repr(e))
                t = threading.Thread(target=wait)
                t.start()
                while not outcome and not _asleep(seg, what):
                    time.sleep(0.001)  # observing state, not synchronising
                seg.close()
                t.join(60)
                if outcome != ["closed"]:
                    problems.append("%s: %s" % (what, outcome))
            return problems
        try:
            self._in_child(scenario)
        finally:
            held.release()

    def test_calls_after_close(self):
        # These read unmapped memory after close() and died of SIGSEGV.
        self.seg.new_channel("ch", "d", 2, 4)
        self.seg.new_semaphore("sem", 1)
        name = self.name

        def scenario():
            seg = shmkit.attach(name)
            ch, sem = seg.channel("ch"), seg.semaphore("sem")
            seg.close()
            problems = []
            for what, call in (("len", lambda: len(ch)), ("register", lambda: ch.register(True)),
                               ("close", ch.close), ("get_value", sem.get_value)):
                try:
                    call()
                    problems.append(what + " returned")
                except ValueError:
                    pass
            for obj in (ch, sem):
                if "closed" not in repr(obj):
                    problems.append("repr %s" % repr(obj))
            return problems
        self._in_child(scenario)

    def test_send_recv_close(self):
        ch = self.seg.new_channel("ch", "d", 4, 8)
        ch.send([1, 2, 3])
        ch.send(array.array("d", [4.5]))
        ch.send(memoryview(array.array("d", [5.0, 6.0])))
        self.assertEqual(len(ch), 3)
        self.assertEqual(ch.recv(), [1.0, 2.0, 3.0])
        self.assertEqual(ch.recv_array(), array.array("d", [4.5]))
        buf = array.array("d", bytes(64))
        self.assertEqual(ch.recv_into(buf), 2)
        self.assertEqual(buf[:2].tolist(), [5.0, 6.0])
        with self.assertRaises(TimeoutError):
            ch.recv(timeout=0.05)
        with self.assertRaises(TimeoutError):
            ch.recv(timeout=0)
        ch.send([7])
        ch.close()  # lets go of this handle only: the stream goes on
        ch = self.seg.channel("ch")
        ch.send([8])
        ch.end()
        self.assertEqual(list(ch), [[7.0], [8.0]])
        with self.assertRaises(EOFError):
            ch.recv()
        with self.assertRaises(shmkit.ChannelEndedError):
            ch.send([1])
        with self.assertRaises(shmkit.ChannelEndedError):
            ch.end()
        with self.assertRaises(shmkit.ChannelClosedError):  # the former name still catches it
            ch.send([1])

    def test_joinable(self):
        ch = self.seg.new_channel("jq", "i", 4, 1, joinable=True)
        name = self.name
        for k in range(3):
            ch.send([k])
        self.assertFalse(ch.join(timeout=0.05))
        pid = os.fork()
        if pid == 0:  # the consumer of the seed's JoinableQueue program
            try:
                with shmkit.attach(name) as seg:
                    q = seg.channel("jq")
                    for _ in range(3):
                        q.recv()
                        q.task_done()
            finally:
                os._exit(0)
        self.assertTrue(ch.join(timeout=60))
        self.assertEqual(os.waitpid(pid, 0)[1], 0)
        with self.assertRaises(ValueError):
            ch.task_done()
        with self.assertRaises(TypeError):
            self.seg.new_channel("plain", "i", 2, 1).task_done()

    def test_send_says_what_is_wrong(self):
        # A strided buffer was refused with "channel 'd' carries 'd', not a
        # buffer of 'd'", and a str on a 'c' channel with a complaint about
        # typecode 'B', which the caller never used. Each refusal now says
        # what is wrong in the caller's terms, and sends nothing.
        d = self.seg.new_channel("d", "d", 2, 8)
        c = self.seg.new_channel("c", "c", 2, 8)
        i = self.seg.new_channel("i", "i", 2, 8)
        strided = [memoryview(array.array("d", range(8)))[::2]]
        if numpy is not None:
            strided.append(numpy.arange(8.0)[::2])
        for data in strided:
            with self.assertRaises(TypeError) as e:
                d.send(data)
            self.assertEqual(str(e.exception), "channel 'd' carries double ('d'): the buffer is not contiguous "
                             "(a strided view such as a[::2]); send a contiguous copy")
        with self.assertRaises(TypeError) as e:
            c.send("text")
        self.assertEqual(str(e.exception), "channel 'c' carries char ('c'): send bytes, not str (encode it first)")
        with self.assertRaises(TypeError) as e:
            i.send("text")
        self.assertEqual(str(e.exception), "channel 'i' carries int ('i'): send numbers or a buffer, not str")
        with self.assertRaises(TypeError) as e:
            d.send(array.array("f", [1.0]))
        self.assertEqual(str(e.exception), "channel 'd' carries double ('d'), not a buffer of float ('f')")
        with self.assertRaises(TypeError) as e:
            i.send([1.5])
        self.assertEqual(str(e.exception), "channel 'i' carries int ('i'): 'float' object cannot be interpreted as an integer")
        for ch in (d, c, i):
            self.assertEqual(len(ch), 0, "nothing was sent")
        d.send(array.array("d", [1, 2]))
        self.assertEqual(d.recv(), [1.0, 2.0])
        c.send(b"ok")
        self.assertEqual(c.recv(), b"ok")

    def test_expected_peer_dies_before_opening(self):
        # A peer that fails before it opens the channel is never recorded:
        # without naming it, nothing tells the receiver it is gone.
        ch = self.seg.new_channel("ex", "d", 1, 1)
        ch.register(False)
        peer = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"])
        try:
            with self.assertRaises(TimeoutError):
                ch.recv(timeout=0.5)
            ch.expect_sender(peer.pid)
            with self.assertRaises(shmkit.PeerDeadError):
                ch.recv(timeout=60)
            out = self.seg.new_channel("ex-out", "d", 1, 1)
            out.send([1.0])  # a full channel, its expected receiver dead
            out.expect_receiver(peer.pid)
            with self.assertRaises(shmkit.PeerDeadError):
                out.send([2.0], timeout=60)
            for bad in (0, -1, 2**31, "1"):
                with self.assertRaises(ValueError):
                    ch.expect_sender(bad)
        finally:
            self.assertEqual(peer.wait(), 3)

    def test_bad_messages(self):
        ch = self.seg.new_channel("ch", "i", 2, 3)
        with self.assertRaises(ValueError):
            ch.send([1, 2, 3, 4])
        with self.assertRaises(TypeError):
            ch.send(array.array("d", [1.0]))
        ch.send([1, 2, 3])
        with self.assertRaises(ValueError):
            ch.recv_into(array.array("i", [0]))  # too short: stays queued
        self.assertEqual(ch.recv(), [1, 2, 3])
        ch.send([])
        self.assertEqual(ch.recv(), [])

    def test_values_across_processes(self):
        """A forked child sends 0, 1, 2, ... as one-value messages with
        send_values, in runs of 1 to 97, and now and then a two-value
        message with send (so that laps end in skip records), over a ring
        of 8 slots; this process takes them with recv_values_into, the
        two-value messages with recv, every one once and in order."""
        count = 100000
        ch = self.seg.new_channel("ch", "d", 8, 2, spsc=True)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                seg = shmkit.attach(self.name)
                out = seg.channel("ch")
                k, run = 0, 0
                while k < count:
                    if run % 17 == 5:
                        out.send([float(k), -1.0])
                        k += 1
                    else:
                        m = min(1 + run * 31 % 97, count - k)
                        if out.send_values(array.array("d", range(k, k + m))) != m:
                            os._exit(3)
                        k += m
                    run += 1
                out.end()
                code = 0
            finally:
                os._exit(code)
        buf = array.array("d", bytes(8 * 300))
        want, calls = 0, 0
        while True:
            try:
                got = ch.recv_values_into(memoryview(buf)[:1 + calls % 300], timeout=30)
            except EOFError:
                break
            except ValueError:
                self.assertEqual(ch.recv(), [float(want), -1.0])
                want += 1
                continue
            finally:
                calls += 1
            self.assertEqual(buf[:got].tolist(), [float(v) for v in range(want, want + got)])
            want += got
        self.assertEqual(want, count)
        self.assertEqual(os.waitpid(pid, 0)[1], 0)

    def test_values_other_lengths(self):
        """recv_values takes one-value messages only: a longer one ends the
        batch and stays for recv (ValueError if it comes first); an empty
        one is taken and ends the batch ([] if it comes first)."""
        for spsc in (True, False):
            ch = self.seg.new_channel("ch%d" % spsc, "i", 8, 3, spsc=spsc)
            for m in ([1], [2], [3, 4], [5], [], [6]):
                ch.send(m)
            self.assertEqual(ch.recv_values(10), [1, 2])
            with self.assertRaises(ValueError):
                ch.recv_values(10)
            self.assertEqual(ch.recv(), [3, 4])
            self.assertEqual(ch.recv_values(10), [5], "the empty message after it is taken")
            self.assertEqual(ch.recv_values(10), [6])
            ch.send([])
            ch.send([7])
            self.assertEqual(ch.recv_values(10), [], "an empty message first")
            self.assertEqual(ch.recv_values(10), [7])
            self.assertEqual(ch.recv_values(0), [])

    def test_values_types_and_limits(self):
        """send_values takes a list or a buffer of the channel's type; a
        Python int that does not fit, a wrong buffer, a bad count, are
        errors and send nothing; values of every width cross whole."""
        for tc, vals in (("b", [-128, -1, 0, 127]), ("H", [0, 1, 65535]), ("f", [-1.5, 0.0, 3.25]),
                         ("q", [-2**63, 0, 2**63 - 1]), ("c", b"xyz")):
            ch = self.seg.new_channel("t" + tc, tc, 4, 1, spsc=True)
            for lap in range(5):  # laps of a small ring
                self.assertEqual(ch.send_values(vals), len(vals))
                got = ch.recv_values(10)
                self.assertEqual(got, vals if tc != "c" else b"xyz", "%s lap %d" % (tc, lap))
        ch = self.seg.new_channel("small", "b", 8, 1, spsc=True)
        with self.assertRaises(OverflowError):
            ch.send_values([1, 300])
        with self.assertRaises(TypeError):
            ch.send_values(array.array("d", [1.0]))
        with self.assertRaises(ValueError):
            ch.recv_values(-1)
        self.assertEqual(len(ch), 0, "nothing sent")

    def test_values_joinable(self):
        """On a joinable channel recv_values takes one message a call, so
        that an empty message is never taken unseen after values: one
        task_done per call, and join() returns. Before, [1], [] and [2]
        came as [1] and [2], and join() waited for the empty message's."""
        ch = self.seg.new_channel("j", "q", 8, 1, spsc=True, joinable=True)
        for m in ([1], [], [2]):
            ch.send(m)
        got = []
        while len(ch):
            got.append(ch.recv_values(10))
            ch.task_done()
        self.assertEqual(got, [[1], [], [2]])
        self.assertTrue(ch.join(timeout=1))

    def test_values_misaligned_head(self):
        """A consumer position that is no multiple of 8, stored by another
        process, is CorruptError for senders and receivers that take the
        ring after it, and nothing is written outside the ring; before, the
        sender wrote its skip record's 8 bytes over the ring's last 3 and
        the next object's first 5."""
        ch = self.seg.new_channel("h", "q", 1, 1, spsc=True)
        after = self.seg.new_array("after", "B", 64, lock=False)
        head = ctypes.c_uint64.from_address(ch._ch.h + 128)  # struct shmkit_channel's head
        head.value = ch._ch.cap - 3
        before = bytes(after[:])
        for call in (lambda: ch.send_values([0x1111111111111111]), lambda: ch.send([1]),
                     lambda: ch.recv_values(4, timeout=0), lambda: ch.recv(timeout=0)):
            with self.assertRaises(shmkit.CorruptError):
                call()
        self.assertEqual(bytes(after[:]), before, "nothing written past the ring")

    def test_close_on_a_read_only_attach(self):
        """close() of a channel's and a queue's handle on a read-only attach
        lets go of it, and the segment then closes; before, both raised
        ReadOnlyError, and the queue's left a view that kept the segment
        from closing (BufferError)."""
        self.seg.new_channel("ch", "d", 4, 1)
        self.seg.new_queue("q")
        ro = shmkit.attach(self.name, readonly=True)
        ch, q = ro.channel("ch"), ro.queue("q")
        ch.close()
        q.close()
        with self.assertRaises(ValueError):
            ch.recv(timeout=0)
        ro.close()

    def test_values_timeouts_and_end(self):
        """A full ring: send_values with timeout=0 returns how many it
        sent, TimeoutError if none; an empty one: recv_values times out;
        after end, ChannelEndedError, and the values queued, then EOF."""
        ch = self.seg.new_channel("ch", "d", 1, 1, spsc=True)
        sent = ch.send_values([float(v) for v in range(100)], timeout=0)
        self.assertGreater(sent, 0)
        self.assertLess(sent, 100)
        with self.assertRaises(TimeoutError):
            ch.send_values([1.0], timeout=0)
        self.assertEqual(ch.recv_values(200), [float(v) for v in range(sent)])
        with self.assertRaises(TimeoutError):
            ch.recv_values(10, timeout=0.01)
        self.assertEqual(ch.send_values([7.0, 8.0]), 2)
        ch.end()
        with self.assertRaises(shmkit.ChannelEndedError) as ended:
            ch.send_values([9.0])
        self.assertEqual(ended.exception.sent, 0)
        self.assertEqual(ch.recv_values(10), [7.0, 8.0])
        with self.assertRaises(EOFError):
            ch.recv_values(10)

    def test_full_channel_times_out(self):
        ch = self.seg.new_channel("ch", "q", 1, 1)
        ch.send([1])
        with self.assertRaises(TimeoutError):
            ch.send([2], timeout=0.05)

    def test_between_processes(self):
        ch = self.seg.new_channel("ch", "d", 8, 100)
        ch.register(sender=False)

        def produce():
            with shmkit.attach(self.name) as seg:
                out = seg.channel("ch")
                for k in range(500):
                    out.send([float(k)] * 100)
                out.end()
        pid = os.fork()
        if pid == 0:
            try:
                produce()
            finally:
                os._exit(0)
        got = [msg[0] for msg in ch]
        os.waitpid(pid, 0)
        self.assertEqual(got, [float(k) for k in range(500)])

    def test_sender_died(self):
        ch = self.seg.new_channel("ch", "d", 2, 1)

        def send_and_die():
            with shmkit.attach(self.name) as seg:
                seg.channel("ch").register(sender=True)
        self.assertEqual(self.child(send_and_die), 0)
        with self.assertRaises(shmkit.PeerDeadError):
            ch.recv(timeout=30)


if __name__ == "__main__":
    unittest.main()


try:
    import numpy
except ImportError:
    numpy = None


class Vec(ctypes.Structure):
    _fields_ = [("x", ctypes.c_double), ("y", ctypes.c_double)]


class Particle(ctypes.Structure):
    _fields_ = [("pos", Vec), ("id", ctypes.c_int64), ("kind", ctypes.c_uint8), ("w", ctypes.c_float * 3)]


class TestRecords(SegmentTest):
    """Records (typecode 'T'): arrays, values and channels of C structs."""

    def test_layout_from_a_structure(self):
        del_me = self.seg.new_records("p", Particle, 4)
        del del_me
        lay = self.seg.layout("p")
        self.assertEqual((lay.type_name, lay.size, lay.align), ("Particle", 40, 8))
        self.assertEqual([tuple(f) for f in lay.fields], [("pos.x", "d", 0, 1), ("pos.y", "d", 8, 1),
                                                          ("id", "q", 16, 1), ("kind", "B", 24, 1),
                                                          ("w", "f", 28, 3)])

    def test_records_are_shared_in_place(self):
        recs = self.seg.new_records("p", Particle, 3)
        with self.seg.get_lock("p"):
            if numpy is not None:
                recs["id"] = [7, 8, 9]
                recs["w"][1] = [1.5, 2.5, 3.5]
            else:
                for i, r in enumerate(recs):
                    r.id = 7 + i
                recs[1].w[:] = [1.5, 2.5, 3.5]

        def child():
            with shmkit.attach(self.name) as seg:
                got = seg.records("p")
                ids = [int(r["id"] if numpy is not None else r.id) for r in got]
                assert ids == [7, 8, 9], ids
                w = got["w"][1].tolist() if numpy is not None else list(got[1].w)
                assert w == [1.5, 2.5, 3.5], w
                with seg.get_lock("p"):
                    if numpy is not None:
                        got["pos.x"] += 1
                    else:
                        for r in got:
                            setattr(r, "pos.x", getattr(r, "pos.x") + 1)
                        del r
                del got  # views must go before the segment closes
        self.assertEqual(self.child(child), 0)
        xs = recs["pos.x"].tolist() if numpy is not None else [getattr(r, "pos.x") for r in recs]
        self.assertEqual(xs, [1.0, 1.0, 1.0])
        del recs

    def test_a_record_is_a_value_of_point(self):
        init = Particle()
        init.id, init.w[2] = 5, 0.5
        rec = self.seg.new_records("v", Particle, bytes(init), value=True)
        self.assertIsInstance(rec, shmkit.Record)
        self.assertEqual((rec.id, rec.w, rec["pos.x"]), (5, [0.0, 0.0, 0.5], 0.0))

        def child():  # three processes add under the record's lock
            with shmkit.attach(self.name) as seg:
                r = seg.record("v")
                for _ in range(200):
                    with r.get_lock():
                        r.id += 1
                        r["pos.x"] = r["pos.x"] + 1
                r.release()
        pids = [self.fork(child) for _ in range(3)]
        for pid in pids:
            self.assertEqual(os.waitpid(pid, 0)[1], 0)
        self.assertEqual((rec.id, rec["pos.x"]), (605, 600.0))

        copy = rec.value
        rec.value = {"kind": 9, "w": [1, 2, 3]}
        self.assertEqual((copy.kind, list(copy.w)), (0, [0.0, 0.0, 0.5]))  # a copy, not a view
        self.assertEqual((rec.kind, rec.w, rec.id), (9, [1.0, 2.0, 3.0], 605))
        copy.id = -1
        rec.value = copy
        self.assertEqual((rec.id, rec.kind), (-1, 0))
        with self.assertRaises(AttributeError):
            rec.mass
        with self.assertRaises(AttributeError):
            rec.mass = 1
        with self.assertRaises(TypeError):
            rec.value = b"short"
        self.assertIn("id=-1", repr(rec))
        with shmkit.attach(self.name, readonly=True) as ro:
            r = ro.record("v")
            self.assertEqual(r.id, -1)
            with self.assertRaises(shmkit.ReadOnlyError):
                r.id = 1
            r.release()
        with self.assertRaises(shmkit.KindMismatchError):
            self.seg.new_records("a", Particle, 2)
            self.seg.record("a")
        rec.release()

    def test_record_channel(self):
        ch = self.seg.new_record_channel("ch", Particle, 4, 2)
        msg = (Particle * 2)()
        msg[0].id, msg[1].id, msg[1].kind = 1, 2, 3
        ch.send(msg)
        got = ch.recv()
        if numpy is not None:
            self.assertEqual(got["id"].tolist(), [1, 2])
            self.assertEqual(int(got["kind"][1]), 3)
            ch.send(got[::-1].copy())
            self.assertEqual(ch.recv()["id"].tolist(), [2, 1])
        else:
            self.assertEqual([r.id for r in got], [1, 2])
        with self.assertRaises(TypeError):
            ch.send(b"\0" * 7)

    @unittest.skipIf(numpy is None, "numpy is not installed")
    def test_records_from_a_dtype(self):
        dt = numpy.dtype([("t", "<f8"), ("xyz", "<f4", (3,)), ("n", "<i4")], align=True)
        recs = self.seg.new_records("a", dt, numpy.zeros(5, dtype=dt))
        self.assertEqual(len(recs), 5)
        self.assertEqual(self.seg.layout("a").size, dt.itemsize)
        recs["xyz"][4] = [1, 2, 3]
        self.assertEqual(self.seg.records("a")["xyz"][4].tolist(), [1.0, 2.0, 3.0])
        del recs

    def test_records_refuse_other_kinds(self):
        self.seg.new_array("f", "d", 3)
        with self.assertRaises(shmkit.KindMismatchError):
            self.seg.records("f")
        with self.assertRaises(TypeError):
            self.seg.new_records("b", ctypes.c_double, 3)
        class Boolish(ctypes.Structure):
            _fields_ = [("b", ctypes.c_bool)]
        with self.assertRaises(TypeError):
            self.seg.new_records("c", Boolish, 1)


def _write_desc(mm, at, size, align, fields):
    """Writes a record description (struct shmkit_struct_desc and its
    fields, cgo/shmkit.h) at offset at of mapping mm, as a hostile process
    could: fields are (name, typecode, offset, count)."""
    import struct
    b = bytearray(64 + 64 * len(fields))
    b[0:7] = b"hostile"
    struct.pack_into("<III", b, 48, size, align, len(fields))
    for i, (name, tc, off, count) in enumerate(fields):
        r = 64 + 64 * i
        b[r:r + len(name)] = name.encode()
        struct.pack_into("<IIB", b, r + 48, off, count, ord(tc))
    mm[at:at + len(b)] = bytes(b)


class Wide(ctypes.Structure):
    _fields_ = [(c, ctypes.c_double) for c in "abcdefgh"]


class TestHostileRecords(SegmentTest):
    """Record descriptions that a hostile process wrote: each reader gets
    CorruptError, never another exception, a layout the check refuses, or
    a read outside the segment."""

    def _desc_at(self, name):
        o = self.seg._lookup(name)
        return o.offset + o.desc - o.data

    def test_hostile_descriptions(self):
        self.seg.new_records("r", Wide, 2, lock=False)
        at = self._desc_at("r")
        saved = bytes(self.seg._mm[at:at + 64 * 9])
        cases = {
            "float64 misaligned in the second record": (41, 1, [("x", "d", 0, 1)]),
            "int32 misaligned in the second record": (42, 2, [("x", "i", 0, 1)]),
            "duplicate names": (16, 8, [("x", "d", 0, 1), ("x", "d", 8, 1)]),
            "duplicate names apart": (24, 8, [("x", "d", 0, 1), ("y", "d", 8, 1), ("x", "q", 16, 1)]),
            "a name ctypes gives a meaning": (8, 8, [("_fields_", "d", 0, 1)]),
            "a dunder name": (8, 8, [("__class__", "d", 0, 1)]),
        }
        if numpy is not None:
            del cases["a name ctypes gives a meaning"], cases["a dunder name"]  # numpy reads them
        for what, (size, align, fields) in cases.items():
            with self.subTest(what):
                _write_desc(self.seg._mm, at, size, align, fields)
                for call in (lambda: self.seg.records("r"), lambda: self.seg.layout("r")):
                    try:
                        got = call()
                    except shmkit.CorruptError:
                        continue
                    if what.startswith("a ") and not isinstance(got, tuple):
                        self.fail("%s: records() gave %r" % (what, got))
                    if isinstance(got, tuple):  # a layout: only names ctypes cannot hold pass the check
                        self.assertTrue(what.startswith("a "), "%s: layout %r" % (what, got))
        self.seg._mm[at:at + len(saved)] = saved
        self.assertEqual(len(self.seg.records("r")), 2)

    def test_description_changed_while_read(self):
        """A co-tenant flips the field count (2 or 4096, more than the
        segment holds) and a typecode ('d' or 'X') while records() and
        layout() read the description: each call gives the layout the check
        passed, or CorruptError."""
        self.seg.new_records("r", Vec, 4, lock=False)
        stop = self.seg.new_value("stop", "B", 0, lock=False)  # opened now: lookups fail while it flips
        want = self.seg.layout("r")
        at = self._desc_at("r")
        ready_r, ready_w = os.pipe()
        parent = os.getpid()

        def flipper():
            os.close(ready_r)
            with shmkit.attach(self.name) as seg:
                flag = seg.value("stop")
                mm = seg._mm
                os.write(ready_w, b"x")
                i = 0
                while flag.value == 0 and os.getppid() == parent:
                    i += 1
                    # Half the time valid; else 4098 fields (0x1002, more than SHMKIT_FIELDS_MAX
                    # and than the segment holds) or typecode 'X'.
                    mm[at + 57] = 0x10 if i & 3 == 0 else 0
                    mm[at + 64 + 56] = ord("X") if i & 3 == 1 else ord("d")
                mm[at + 57], mm[at + 64 + 56] = 0, ord("d")
                flag.release()
        pid = self.fork(flipper)
        os.close(ready_w)
        self.assertEqual(os.read(ready_r, 1), b"x")
        os.close(ready_r)
        ok = refused = calls = 0
        try:
            while calls < 4000 or (refused < 50 and calls < 200000):
                calls += 1
                try:
                    if calls & 1:
                        self.assertEqual(self.seg.layout("r"), want)
                    else:
                        recs = self.seg.records("r")
                        self.assertEqual(len(recs), 4)
                        del recs
                    ok += 1
                except shmkit.CorruptError:
                    refused += 1
        finally:
            stop.value = 1
            _, status = os.waitpid(pid, 0)
            stop.release()
        self.assertEqual(status, 0)
        self.assertEqual(ok + refused, calls)
        self.assertGreater(refused, 0)
        self.assertEqual(self.seg.layout("r"), want)
        print("\n%d calls while a co-tenant flipped the description: %d read, %d CorruptError"
              % (calls, ok, refused), file=sys.stderr)


class TestInputChecks(SegmentTest):
    """Integers that C receives and names are checked as Go checks them,
    never wrapped or cut at a NUL."""

    def test_infinite_and_nan_timeouts(self):
        """timeout=float('inf') waits as long as it takes, as None does;
        NaN is a ValueError that names the timeout. Before, inf raised
        OverflowError (cannot convert float infinity to integer) from a
        queue's get, a pipe's poll and a named semaphore's acquire, even
        with what they wait for ready, and NaN a ValueError about
        converting to an integer."""
        inf, nan = float("inf"), float("nan")
        q = self.seg.new_queue("q", slots=4, slot_bytes=64, max_message=100)
        a = self.seg.new_pipe("p", slots=4, maxlen=64)
        b = self.seg.pipe("p", 1)
        s = self.seg.new_semaphore("s", 0)
        e = self.seg.new_event("e")
        bar = self.seg.new_barrier("b", 1)
        sem = "/shmkit-pytest-ns-%d" % os.getpid()
        ns = shmkit.named_semaphore(sem, create=True, value=0)
        self.addCleanup(shmkit.unlink_named_semaphore, sem)
        self.addCleanup(ns.close)
        waits = {
            "queue get": lambda t: q.get(timeout=t),
            "queue put": lambda t: q.put(1, timeout=t),
            "pipe poll": lambda t: b.poll(t),
            "semaphore": lambda t: s.acquire(timeout=t),
            "named semaphore": lambda t: ns.acquire(timeout=t),
            "event": lambda t: e.wait(t),
            "barrier": lambda t: bar.wait(t),
        }
        for what, wait in waits.items():
            with self.assertRaisesRegex(ValueError, "timeout", msg=what):
                wait(nan)
        q.put(7)
        a.send_bytes(b"x")
        s.release()
        ns.release()
        e.set()
        self.assertEqual(q.get(timeout=inf), 7)
        q.put(8, timeout=inf)
        self.assertTrue(b.poll(inf))
        self.assertTrue(s.acquire(timeout=inf))
        self.assertTrue(ns.acquire(timeout=inf))
        self.assertTrue(e.wait(inf))
        self.assertEqual(bar.wait(inf), 0)
        m = self.seg.new_mutex("m")
        c = self.seg.new_condition("c", m)
        with m:
            with self.assertRaisesRegex(ValueError, "timeout"):
                c.wait(nan)
            self.assertTrue(c.wait_for(lambda: True, inf))

    def test_integers_out_of_range(self):
        other = "shmkit-pytest-%d-big" % os.getpid()
        for call in (lambda: shmkit.create(other, 1 << 20, capacity=2 ** 32),
                     lambda: shmkit.create(other, 2 ** 64),
                     lambda: shmkit.create(other, 1 << 20, mode=2 ** 32),
                     lambda: self.seg.new_array("a", "d", 2 ** 64),
                     lambda: self.seg.new_records("r", Vec, 2 ** 64),
                     lambda: self.seg.new_semaphore("s", 2 ** 32),
                     lambda: self.seg.new_channel("c", "d", 2 ** 32 + 4, 1),
                     lambda: self.seg.new_channel("c", "d", 4, 2 ** 32 + 1),
                     lambda: self.seg.new_record_channel("c", Vec, 4, 2 ** 32 + 1)):
            with self.assertRaises(OverflowError):
                call()
        self.assertFalse(os.path.exists("/dev/shm/" + other))
        self.assertEqual(self.seg.objects(), [])
        v = self.seg.new_value("v", "B", 250, lock=False)
        for call in (lambda: v.add(256), lambda: v.add(-129), lambda: v.swap(256), lambda: v.swap(-1),
                     lambda: v.compare_and_swap(250, 2 ** 64)):
            with self.assertRaises(OverflowError):
                call()
        self.assertEqual(v.value, 250)
        self.assertEqual(v.add(-1), 249)  # a delta of the other signedness wraps, as in Go
        self.assertEqual(v.add(255), 248)
        v.release()
        ch = self.seg.new_channel("ch", "d", 2, 2)
        for call in (lambda: ch.recv(timeout=-3e10), lambda: ch.join(timeout=-3e10)):
            with self.assertRaises(ValueError):  # its deadline in ns, wrapped, lay two centuries ahead
                call()

    def test_names_as_go_checks_them(self):
        # Segment names: shm.PosixName.
        for bad in ("a\x00b", "", "/", "//a", "a/b", ".", "..", "/..", "x" * 256, "\udc80", b"a", None):
            with self.subTest(segment=bad):
                with self.assertRaises(ValueError):
                    shmkit.create(bad, 1 << 16)
                with self.assertRaises(ValueError):
                    shmkit.attach(bad)
                with self.assertRaises(ValueError):
                    shmkit.unlink(bad)
        self.assertEqual(shmkit.attach("/" + self.name).name, "/" + self.name)
        # Object names: shm's checkObjectName.
        for bad in ("a\x00b", "", "x" * 64, "\udc80", b"a", None):
            with self.subTest(object=bad):
                for call in (lambda: self.seg.new_array(bad, "i", 1), lambda: self.seg.new_value(bad, "i"),
                             lambda: self.seg.new_semaphore(bad), lambda: self.seg.new_mutex(bad),
                             lambda: self.seg.new_channel(bad, "d", 2, 2), lambda: self.seg.new_records(bad, Vec),
                             lambda: self.seg.new_record_channel(bad, Vec, 2, 2), lambda: self.seg.array(bad)):
                    with self.assertRaises(ValueError):
                        call()
        self.assertEqual(self.seg.objects(), [])
        self.seg.new_array("x" * 63, "i", 1).release()
        self.seg.new_array("é/. ", "i", 1).release()
        self.assertEqual(sorted(o.name for o in self.seg.objects()), ["x" * 63, "é/. "])

    def test_read_only_records_refuse_writes(self):
        self.seg.new_records("p", Particle, 2)
        recs = self.seg.records("p")
        recs[1].id, recs[1].w[2] = 7, 0.5
        del recs
        with shmkit.attach(self.name, readonly=True) as ro:
            got = ro.records("p")
            if numpy is not None:
                self.assertEqual(int(got["id"][1]), 7)
                with self.assertRaises(ValueError):  # numpy's read-only array
                    got["id"][1] = 8
            else:
                self.assertEqual((got[1].id, list(got[1].w)), (7, [0.0, 0.0, 0.5]))
                for call in (lambda: setattr(got[1], "id", 8), lambda: got[1].w.__setitem__(0, 1.0),
                             lambda: got.__setitem__(0, Particle())):
                    with self.assertRaises(shmkit.ReadOnlyError):
                        call()
            del got
        self.assertEqual(self.seg.records("p")[1].id, 7)


class BusyCPUTest(unittest.TestCase):
    """Timed waits in the C library with another process spinning on the
    same CPU. Their spin yielded the CPU every fourth look from the 64th
    without looking at the clock; each yield gave the busy process a time
    slice, and a 1 ms timeout came back about 24 ms late."""

    def setUp(self):
        self.name = "shmkit-pytest-%d-%d" % (os.getpid(), next(_names))
        self.seg = shmkit.create(self.name, 1 << 20)
        self.addCleanup(shmkit.unlink, self.name)
        self.addCleanup(self.seg.close)
        was = os.sched_getaffinity(0)
        cpu = {min(was)}
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"],
                                preexec_fn=lambda: os.sched_setaffinity(0, cpu))
        self.addCleanup(os.sched_setaffinity, 0, was)
        self.addCleanup(busy.wait)
        self.addCleanup(busy.kill)
        os.sched_setaffinity(0, cpu)

    def late(self, op, timeout):
        """The median of five tries of how late op gave up after timeout."""
        late = []
        for _ in range(5):
            start = time.monotonic()
            op()
            late.append(time.monotonic() - start - timeout)
        return sorted(late)[2]

    def test_semaphore_acquire_timeout(self):
        s = self.seg.new_semaphore("s", 0)
        for timeout in (0, 0.001):
            late = self.late(lambda: self.assertFalse(s.acquire(timeout=timeout)), timeout)
            self.assertLess(late, 0.01, "timeout %s: late by %.1f ms" % (timeout, late * 1e3))

    def test_channel_timeouts(self):
        for spsc in (False, True):
            ch = self.seg.new_channel("c%d" % spsc, "d", 1, 1, spsc=spsc)

            def recv():
                with self.assertRaises(TimeoutError):
                    ch.recv(timeout=0.001)
            late = self.late(recv, 0.001)
            self.assertLess(late, 0.01, "spsc=%s recv: late by %.1f ms" % (spsc, late * 1e3))
