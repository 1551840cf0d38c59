"""Tests of seg.dict and seg.list: python3 -m unittest (from python/)."""

import collections.abc
import itertools
import os
import pickle
import traceback
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import shmkit  # noqa: E402

_names = itertools.count()
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class DictTest(unittest.TestCase):
    def setUp(self):
        self.name = "shmkit-pytest-dict-%d-%d" % (os.getpid(), next(_names))
        self.seg = shmkit.create(self.name, 1 << 16)
        self.addCleanup(self._cleanup)
        self.opened = []

    def _cleanup(self):
        for o in self.opened:
            o.unlink()
            o.close()
        self.seg.close()
        shmkit.unlink(self.name)

    def new_dict(self, name="d", initial=()):
        d = self.seg.new_dict(name, initial)
        self.opened.append(d)
        return d

    def new_list(self, name="l", initial=()):
        lst = self.seg.new_list(name, initial)
        self.opened.append(lst)
        return lst

    def run_children(self, n, body):
        """body(i) in n forked children at once; each must exit 0."""
        pids = []
        for i in range(n):
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    body(i)
                    code = 0
                except BaseException:
                    traceback.print_exc()  # the parent sees only the exit status
                finally:
                    os._exit(code)
            pids.append(pid)
        for pid in pids:
            self.assertEqual(os.waitpid(pid, 0)[1], 0)

    def test_mapping(self):
        d = self.new_dict(initial={1: "1", "2": 2, 0.25: None})
        self.assertIsInstance(d, collections.abc.MutableMapping)
        d[b"raw"] = b"\x00\xff"
        d[True] = False
        d["big"] = "é" * 100000
        d["huge int"] = 1 << 70            # beyond int64: pickled
        d[(1, 2)] = {"nested": [1, 2]}     # any other object: pickled
        d[-1] = 1.5
        self.assertEqual(d[1], "1")
        self.assertEqual(d["2"], 2)
        self.assertIsNone(d[0.25])
        self.assertEqual(d[b"raw"], b"\x00\xff")
        self.assertIs(d[True], False)
        self.assertEqual(d["big"], "é" * 100000)
        self.assertEqual(d["huge int"], 1 << 70)
        self.assertEqual(d[(1, 2)], {"nested": [1, 2]})
        self.assertEqual(len(d), 9)
        self.assertNotIn(1.0, d)           # keys compare by type and bytes
        self.assertNotIn(2, d)
        with self.assertRaises(KeyError):
            d["missing"]
        self.assertEqual(d.get("missing", 7), 7)
        del d[1]
        with self.assertRaises(KeyError):
            del d[1]
        self.assertEqual(sorted(map(repr, d)), sorted(map(repr, [
            "2", 0.25, b"raw", True, "big", "huge int", (1, 2), -1])))
        self.assertEqual(d.setdefault("2", 5), 2)
        self.assertEqual(d.setdefault("new", 5), 5)
        self.assertFalse(d.compare_and_swap("new", 4, 6))
        self.assertTrue(d.compare_and_swap("new", 5, 6))
        self.assertEqual(d.update_key("new", lambda v: v * 7), 42)
        self.assertEqual(d.update_key("fresh", lambda v: v + 1, 0), 1)
        self.assertEqual(d.add("fresh", 41), 42)
        with self.assertRaises(TypeError):
            d.add("big", 1)
        # past int64 is an error that changes nothing, never a wrapped sum
        d["edge"] = (1 << 63) - 1
        with self.assertRaises(OverflowError):
            d.add("edge", 1)
        with self.assertRaises(OverflowError):
            d.add("edge", 1 << 70)
        with self.assertRaises(OverflowError):
            d.add("edge", -(1 << 64))
        self.assertEqual(d["edge"], (1 << 63) - 1)
        self.assertEqual(d.add("edge", -(1 << 62)), (1 << 63) - 1 - (1 << 62))
        d.clear()
        self.assertEqual(len(d), 0)
        self.assertEqual(d.items(), [])

    def test_fast_paths_edges(self):
        """get, set and add's one-call paths: lone surrogates, values past
        the read buffer, big deltas, a closed handle."""
        d = self.new_dict()
        d["\udc80"] = "lone \ud800"
        self.assertEqual(d["\udc80"], "lone \ud800")
        d["grow"] = b"x" * 5000
        self.assertEqual(d["grow"], b"x" * 5000)
        self.assertEqual(d["grow"], b"x" * 5000)
        d["minmax"] = -(1 << 63)
        self.assertEqual(d["minmax"], -(1 << 63))
        d["b"] = True
        self.assertIs(d["b"], True)
        self.assertEqual(d.add("n", 1 << 40), 1 << 40)
        self.assertEqual(d.add("n", -(1 << 40) + 1), 1)
        with self.assertRaises(TypeError):
            d.add("grow")
        d.close()
        with self.assertRaises(ValueError):
            d["grow"]
        with self.assertRaises(ValueError):
            d["grow"] = 1
        with self.assertRaises(ValueError):
            d.add("n")

    def test_strings_not_utf8_from_a_foreign_writer(self):
        """A child process stores keys and values tagged STR whose bytes are
        not UTF-8 through the C library: every reader here still iterates,
        looks up and deletes them (they read with surrogateescape, one lone
        surrogate per bad byte). Iterating raised UnicodeDecodeError."""
        d = self.new_dict(initial={"good": 1})
        from shmkit import _dict, _native
        bad = [b"\xff", b"a\xc3(", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"x\x00\xfe"]

        def write(i):
            with shmkit.attach(self.name) as seg, seg.dict("d") as dd:
                for k in bad:
                    v = k + b"!"
                    self.assertEqual(_native.lib.shmkit_dict_set(dd._c.h, _dict.STR, k, len(k), _dict.STR, v, len(v)), 0)
        self.run_children(1, write)
        want = {k.decode("utf-8", "surrogateescape"): (k + b"!").decode("utf-8", "surrogateescape") for k in bad}
        want["good"] = 1
        self.assertEqual(dict(d.items()), want)
        self.assertEqual(sorted(d), sorted(want))
        for k, v in want.items():
            self.assertEqual(d[k], v)
            self.assertIn(k, d)
        for k in list(want)[:3]:
            del d[k]
            del want[k]
        self.assertEqual(d.copy(), want)
        # A string that is not the reading of any bytes keeps its own key:
        # "\udcc3\udca9" is not "é", and "\ud800" has no bytes at all.
        d["é"], d["\udcc3\udca9"], d["\ud800"] = 1, 2, 3
        self.assertEqual((d["é"], d["\udcc3\udca9"], d["\ud800"]), (1, 2, 3))
        self.assertEqual(_dict.encode("\udcc3\udca9")[0], _dict.PICKLE)
        self.assertEqual(_dict.encode("a\udcff"), (_dict.STR, b"a\xff"))

    def test_value_that_does_not_unpickle(self):
        """A foreign writer stores PICKLE values of garbage bytes, of a
        FRAME longer than memory, and of a module this process lacks: each
        read is shmkit.CorruptError (a ValueError) naming why, chained to
        pickle's own error, and the other keys read. They raised pickle's
        UnpicklingError, OverflowError or ModuleNotFoundError."""
        from shmkit import _dict, _native
        d = self.new_dict(initial={"good": 1})
        bad = {"garbage": b"\x80\x05zz", "frame": b"\x80\x04\x95\xff\xff\xff\xff\xff\xff\xff\xff.",
               "module": b"\x80\x04\x8c\x08nomodule\x94\x8c\x01X\x94\x93\x94."}

        def write(i):
            with shmkit.attach(self.name) as seg, seg.dict("d") as dd:
                for k, v in bad.items():
                    kb = k.encode()
                    self.assertEqual(_native.lib.shmkit_dict_set(dd._c.h, _dict.STR, kb, len(kb), _dict.PICKLE, v,
                                                                 len(v)), 0)
        self.run_children(1, write)
        for k in bad:
            with self.assertRaises(shmkit.CorruptError, msg=k) as cm:
                d[k]
            self.assertIsNotNone(cm.exception.__cause__)
            self.assertRaises(shmkit.CorruptError, d.pop, k)
            self.assertIn(k, d, "pop raised and kept the key")
        self.assertRaises(shmkit.CorruptError, d.items)
        self.assertEqual(d["good"], 1)
        self.assertEqual(sorted(d), ["frame", "garbage", "good", "module"])

    def test_list_pop_of_a_value_that_does_not_unpickle(self):
        """pop() and pop(0) of a list item a foreign writer stored as a
        PICKLE of garbage are CorruptError and the item stays where it was.
        C removed the item, then Python failed to decode it: it was lost."""
        from shmkit import _dict, _native
        lst = self.new_list(initial=[1, 2])

        def write(i):
            with shmkit.attach(self.name) as seg, seg.list("l") as ll:
                for at in (0, 3):
                    self.assertEqual(_native.lib.shmkit_list_insert(ll._c.h, at, _dict.PICKLE, b"\x80\x05zz", 4), 0)
        self.run_children(1, write)
        for i in (-1, 0, 3, -4):
            self.assertRaises(shmkit.CorruptError, lst.pop, i)
            self.assertEqual(len(lst), 4, "pop(%d)" % i)
            self.assertEqual((lst[1], lst[2]), (1, 2), "pop(%d)" % i)
            self.assertEqual([lst._item(j) for j in (0, 3)], [(_dict.PICKLE, b"\x80\x05zz")] * 2)
        self.assertEqual(lst.pop(1), 1)

    def test_bool_byte_other_than_0_or_1(self):
        """A foreign writer's BOOL key or value whose byte is not 0 or 1 is
        refused by the C library (EINVAL), nothing stored; a scribbled one
        reads as CorruptError. A BOOL key of byte 7 was stored: Python
        iterated it as True, which d[True] did not find, so dict(d) raised
        KeyError; Go and Python read a value of 2 as true."""
        import errno
        from shmkit import _dict, _native
        d = self.new_dict(initial={"a": 1})
        lst = self.new_list(initial=[1])
        got = []

        def write(i):
            with shmkit.attach(self.name) as seg, seg.dict("d") as dd, seg.list("l") as ll:
                lib = _native.lib
                rcs = [lib.shmkit_dict_set(dd._c.h, _dict.BOOL, b"\x07", 1, _dict.INT, b"\0" * 8, 8),
                       lib.shmkit_dict_set(dd._c.h, _dict.STR, b"k", 1, _dict.BOOL, b"\x02", 1),
                       lib.shmkit_dict_cas(dd._c.h, _dict.STR, b"a", 1, _dict.ABSENT, b"", 0, _dict.BOOL, b"\xff", 1,
                                           None),
                       lib.shmkit_list_append(ll._c.h, _dict.BOOL, b"\x02", 1),
                       lib.shmkit_list_set(ll._c.h, 0, _dict.BOOL, b"\x02", 1)]
                if rcs != [errno.EINVAL] * len(rcs):
                    raise AssertionError(rcs)
        self.run_children(1, write)
        self.assertEqual(dict(d), {"a": 1})
        self.assertEqual(list(lst), [1])
        self.assertRaises(shmkit.CorruptError, _dict.decode, _dict.BOOL, b"\x02")
        self.assertIs(_dict.decode(_dict.BOOL, b"\x01"), True)

    def _scribble_bools(self, obj, byte):
        """Sets the byte of every BOOL value in obj's heap to byte, as a
        foreign writer could; how many it set."""
        from shmkit import _dict
        heap = "/dev/shm/" + obj._c._ref[:192].split(b"\0")[0].decode()
        with open(heap, "r+b") as f:
            data = bytearray(f.read())
            cursor, off, found = int.from_bytes(data[32:40], "little"), 2048, 0
            while off + 16 <= cursor:
                size, klen, vlen = (int.from_bytes(data[off + a:off + a + 4], "little") for a in (0, 8, 12))
                if data[off + 4] == 1 and data[off + 6] == _dict.BOOL and vlen == 1:
                    f.seek(off + 16 + klen)
                    f.write(bytes([byte]))
                    found += 1
                off += size
        return found

    def test_list_pop_of_a_scribbled_bool(self):
        """A BOOL item of byte 7 (scribbled) popped by another process, by
        pop(), pop(1) and pop(-2): CorruptError alone, and the item stays
        where it was. C removed it, then refused to put it back (a BOOL byte
        other than 0 or 1 is EINVAL), so it was lost and the caller got
        the CorruptError with a ValueError raised while handling it."""
        lst = self.new_list(initial=[1, True, 3, False])
        self.assertEqual(self._scribble_bools(lst, 7), 2)

        def pop(i):
            with shmkit.attach(self.name) as seg, seg.list("l") as ll:
                for j in (-1, 1, -3):
                    try:
                        ll.pop(j)
                    except shmkit.CorruptError as e:
                        if e.__context__ is not None:
                            raise AssertionError("a second exception: %r" % e.__context__)
                    else:
                        raise AssertionError("pop(%d) returned" % j)
        self.run_children(1, pop)
        self.assertEqual(len(lst), 4)
        self.assertEqual((lst[0], lst[2]), (1, 3))
        self.assertEqual(self._scribble_bools(lst, 1), 2)  # the two items are where they were
        self.assertEqual(list(lst), [1, True, 3, True])
        self._scribble_bools(lst, 7)
        del lst[1]  # del drops the value unread: a scribbled item can still be removed
        del lst[-1]
        self.assertEqual(list(lst), [1, 3])

    def test_keys_stored_pickled_by_the_build_before_surrogateescape(self):
        """A str key with lone surrogates that surrogateescape encodes
        ("\udcff", "a\udce9b") is stored as STR bytes now; the build before
        pickled it, and a heap lives on in /dev/shm across builds. A process
        writes such keys as that build did; another finds them by the str:
        in, get, [], setdefault, assignment (in place, no second key),
        add, compare_and_swap, pop and del; compare_and_swap also matches
        such a str stored as a value that way. Before, each missed (KeyError)
        though iteration gave the key, and assignment made a second key."""
        from shmkit import _dict, _native
        d = self.new_dict()
        keys = ["\udcff", "a\udce9b", "\udcc3\udca9"]  # the last is pickled by both builds

        def write_old(i):
            with shmkit.attach(self.name) as seg, seg.dict("d") as dd:
                for j, k in enumerate(keys):
                    kb = pickle.dumps(k, protocol=pickle.HIGHEST_PROTOCOL)
                    v = _dict.encode(j)[1]
                    self.assertEqual(_native.lib.shmkit_dict_set(dd._c.h, _dict.PICKLE, kb, len(kb), _dict.INT, v, 8), 0)
                vb = pickle.dumps(keys[0], protocol=pickle.HIGHEST_PROTOCOL)  # a value, as that build stored it
                self.assertEqual(_native.lib.shmkit_dict_set(dd._c.h, _dict.STR, b"v", 1, _dict.PICKLE, vb, len(vb)), 0)

        def use(i):
            with shmkit.attach(self.name) as seg, seg.dict("d") as dd:
                for j, k in enumerate(keys):
                    self.assertIn(k, dd)
                    self.assertEqual((dd[k], dd.get(k), dd.setdefault(k, 9)), (j, j, j))
                    dd[k] = 10 + j
                    self.assertEqual(dd.add(k, 1), 11 + j)
                    self.assertTrue(dd.compare_and_swap(k, 11 + j, 20 + j))
                self.assertTrue(dd.compare_and_swap("v", keys[0], 5))
                del dd["v"]
                self.assertEqual(len(dd), 3)
                self.assertEqual(sorted(dd.items()), sorted((k, 20 + j) for j, k in enumerate(keys)))
                self.assertEqual(dd.pop(keys[0]), 20)
                del dd[keys[1]]
                self.assertEqual(dict(dd), {keys[2]: 22})
        self.run_children(1, write_old)
        self.run_children(1, use)
        self.assertEqual(dict(d), {keys[2]: 22})

    def test_list_index_by_dunder_index(self):
        """An index that is not an int but has __index__ (a numpy integer),
        as a list takes it: lst[i], lst[i] = v, del lst[i], lst.pop(i), in
        another process. They raised TypeError (insert alone took it);
        a float or str index is still TypeError and changes nothing."""
        lst = self.new_list(initial=[0, 1, 2, 3, 4])

        class Index:
            def __init__(self, i):
                self.i = i

            def __index__(self):
                return self.i

        def use(_):
            with shmkit.attach(self.name) as seg, seg.list("l") as ll:
                self.assertEqual((ll[Index(1)], ll[Index(-1)]), (1, 4))
                ll[Index(0)] = 10
                del ll[Index(1)]
                self.assertEqual(ll.pop(Index(-2)), 3)
                for bad in (1.0, "1", None):
                    self.assertRaises(TypeError, ll.__getitem__, bad)
                    self.assertRaises(TypeError, ll.pop, bad)
        self.run_children(1, use)
        self.assertEqual(list(lst), [10, 2, 4])

    def test_list_extended_by_itself(self):
        """lst.extend(lst) and lst += lst in another process double the
        list, as a list's do. extend appended while it iterated the list
        itself, so it never ended: it filled /dev/shm (25 MB in the 3 s
        before an alarm stopped it)."""
        lst = self.new_list(initial=[1, "a"])

        def extend(i):
            signal.alarm(5)
            with shmkit.attach(self.name) as seg, seg.list("l") as ll, seg.list("l") as other:
                ll.extend(ll)
                ll += ll
                ll.extend(other)  # another handle on the same list
            signal.alarm(0)
        self.run_children(1, extend)
        self.assertEqual(list(lst), [1, "a"] * 8)

    def test_wrong_types_against_a_shared_list_or_dict(self):
        """A shared list compares as a list: unequal to 5, None and a tuple,
        equal to a list or shared list of equal items; a shared dict or
        list stored as a value is TypeError naming it, nothing stored.
        lst == 5 raised TypeError, lst == (1, 2) was True, and storing one
        raised ctypes' ValueError about pointers."""
        lst = self.new_list(initial=[1, 2])
        d = self.new_dict(initial={"a": 1})

        def use(i):
            with shmkit.attach(self.name) as seg, seg.list("l") as ll, seg.dict("d") as dd:
                self.assertEqual((ll == 5, ll == None, ll != 5, ll == (1, 2), ll == [1, 2], ll == ll),  # noqa: E711
                                 (False, False, True, False, True, True))
                for store in (lambda: dd.__setitem__("x", ll), lambda: ll.append(dd), lambda: dd.setdefault("y", [dd])):
                    with self.assertRaisesRegex(TypeError, "not picklable"):
                        store()
        self.run_children(1, use)
        self.assertEqual((list(lst), dict(d)), ([1, 2], {"a": 1}))

    def test_key_that_does_not_unpickle(self):
        """A foreign writer stores a PICKLE key whose bytes do not unpickle
        here (garbage, or a class this process lacks): iteration, items(),
        keys() and popitem() give it as shmkit.Pickled (its bytes, as Go's
        dict.Pickled), which finds and deletes it. One such key made every
        iteration of the dict raise UnpicklingError."""
        d = self.new_dict(initial={"good": 1})
        from shmkit import _dict, _native
        bad = [b"\x80\x05zz", b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x07nomodule\x94\x8c\x01X\x94\x93\x94."]

        def write(i):
            with shmkit.attach(self.name) as seg, seg.dict("d") as dd:
                for j, k in enumerate(bad):
                    v = _dict.encode(j)[1]
                    self.assertEqual(_native.lib.shmkit_dict_set(dd._c.h, _dict.PICKLE, k, len(k), _dict.INT, v, 8), 0)
        self.run_children(1, write)
        want = {shmkit.Pickled(k): j for j, k in enumerate(bad)}
        want["good"] = 1
        self.assertEqual(dict(d.items()), want)
        self.assertEqual(d.copy(), want)
        self.assertEqual(set(d), set(want))
        self.assertEqual(d[shmkit.Pickled(bad[0])], 0)
        self.assertNotIn(shmkit.Pickled(b"other"), d)
        self.assertNotEqual(shmkit.Pickled(b"x"), b"x")
        del d[shmkit.Pickled(bad[1])]
        self.assertEqual(len(d), 2)
        got = {d.popitem()[0], d.popitem()[0]}
        self.assertEqual(got, {"good", shmkit.Pickled(bad[0])})

    def test_records(self):
        """A ctypes.Structure (or numpy structured scalar) is stored as a
        RECORD with its layout and reads back field for field, in this
        process and in another; the C library refuses a malformed one."""
        import ctypes
        from shmkit import _dict

        class Point(ctypes.Structure):
            _fields_ = [("x", ctypes.c_double), ("y", ctypes.c_double), ("id", ctypes.c_int32),
                        ("tag", ctypes.c_char * 4)]
        def field(r, name):  # numpy structured scalars are indexed, ctypes structures have attributes
            if not hasattr(r, "dtype"):
                return getattr(r, name)
            v = r[name]
            return v.tobytes().rstrip(b"\0") if name == "tag" else v  # char[4]: 4 S1 in numpy
        d = self.new_dict()
        d["p"] = Point(1.5, -2.5, 7, b"ab")
        got = d["p"]
        self.assertEqual(tuple(field(got, k) for k in ("x", "y", "id", "tag")), (1.5, -2.5, 7, b"ab"))
        self.assertEqual(got.dtype.itemsize if hasattr(got, "dtype") else ctypes.sizeof(got), ctypes.sizeof(Point))
        name = self.name

        def child(i):
            with shmkit.attach(name) as seg, seg.dict("d") as dd:
                p = dd["p"]
                if hasattr(p, "dtype"):
                    p["id"] += 100 + i
                else:
                    p.id += 100 + i
                dd["from-child"] = p
        self.run_children(1, child)
        self.assertEqual(field(d["from-child"], "id"), 107)
        self.assertEqual(field(d["from-child"], "x"), 1.5)
        self.assertEqual(_dict.encode(d["from-child"])[1][:-ctypes.sizeof(Point)],
                         _dict.encode(Point())[1][:-ctypes.sizeof(Point)], "stored back with the layout it came with")
        tag, raw = _dict.encode(Point(0, 0, 1, b""))
        self.assertEqual(tag, _dict.RECORD)
        for bad in (raw[:-1], raw + b"x", b"\0" * 64 + raw[64:], raw[:40]):
            with self.assertRaises(ValueError):
                d._c._check(_dict._store(d._c.h, _dict.STR, b"bad", 3, _dict.RECORD, bad, len(bad)), "set")
        self.assertNotIn("bad", d)

    def test_other_process_sees_growth(self):
        d = self.new_dict()
        name = self.name

        def fill(i):
            with shmkit.attach(name) as seg:
                with seg.dict("d") as dd:
                    for k in range(i * 20000, (i + 1) * 20000):
                        dd["k%d" % k] = k
        self.run_children(2, fill)
        self.assertEqual(len(d), 40000)
        for k in range(0, 40000, 997):
            self.assertEqual(d["k%d" % k], k)
        self.assertEqual(sum(v for _, v in d.items()), sum(range(40000)))

    def test_five_processes_count_year(self):
        d = self.new_dict(initial={"year": 2000})
        name = self.name

        def count(i):
            with shmkit.attach(name) as seg:
                with seg.dict("d") as dd:
                    for _ in range(500):
                        if i % 2:
                            dd.add("year")
                        else:
                            dd.update_key("year", lambda y: y + 1)
        self.run_children(5, count)
        self.assertEqual(d["year"], 2000 + 5 * 500)

    def test_writer_killed_holding_lock(self):
        d = self.new_dict(initial={"a": 1})
        pid = os.fork()
        if pid == 0:
            from shmkit import _native
            rc = _native.lib.shmkit_dict_test_lock(d._c.h)
            os.kill(os.getpid(), signal.SIGKILL) if rc == 0 else os._exit(1)
        os.waitpid(pid, 0)
        d["b"] = 2
        self.assertEqual(dict(d.items()), {"a": 1, "b": 2})
        self.assertEqual(d.stats()["recoveries"], 1)

    def test_writer_killed_mid_write_read_only_reader(self):
        """A writer dies inside an in-place write of "n" (its seqlock odd,
        half the bytes written: shmkit_dict_test_overwrite's stage 1). A
        read-only reader's d["n"] is shmkit.BusyError (an OSError, EBUSY)
        and every other key reads; the next writable attach repairs it and
        "n" reads its old value. The reader got a bare OSError."""
        import ctypes
        import errno
        from shmkit import _native
        d = self.new_dict(initial={"n": 5, "m": 6})

        def die(i):
            with shmkit.attach(self.name) as seg, seg.dict("d") as dd:
                f = _native.lib.shmkit_dict_test_overwrite
                f.restype, f.argtypes = ctypes.c_int, [ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p,
                                                        ctypes.c_uint64, ctypes.c_int64, ctypes.c_int]
                if f(dd._c.h, 4, b"n", 1, 1 << 40, 1) != 0:
                    raise AssertionError("overwrite")
                os.kill(os.getpid(), signal.SIGKILL)
        pid = os.fork()
        if pid == 0:
            try:
                die(0)
            finally:
                os._exit(1)
        self.assertEqual(os.waitpid(pid, 0)[1], signal.SIGKILL)

        def read_only(i):
            with shmkit.attach(self.name, readonly=True) as seg, seg.dict("d") as rd:
                self.assertEqual(rd["m"], 6)
                with self.assertRaises(shmkit.BusyError) as cm:
                    rd["n"]
                self.assertEqual(cm.exception.errno, errno.EBUSY)
        self.run_children(1, read_only)
        d["other"] = 1  # a write repairs
        self.assertEqual(d["n"], 5)

    def test_hostile_list_heap_from_the_end(self):
        """A list heap scribbled by another process: its length past its
        room, an item's reference past the heap, at the array itself, at 0,
        unaligned. Every call counting from the end (lst[-k], lst[-k] = v,
        del, pop, insert) in a child process is CorruptError or IndexError,
        never a fault; the items untouched still read."""
        cases = [(24, 1 << 40), (24, (1 << 64) - 1), (48, None), (48, "table"), (48, 0), (48, 8 * 3 + 1),
                 (40, 1 << 63)]
        for n_case, (where, value) in enumerate(cases):
            name = "l%d" % n_case
            lst = self.new_list(name, initial=["a", 1, 2.5])
            heap = "/dev/shm/" + lst._c._ref[:192].split(b"\0")[0].decode()
            with open(heap, "r+b") as f:
                f.seek(40)
                table = int.from_bytes(f.read(8), "little")
                value = {None: os.path.getsize(heap) + 4096, "table": table}.get(value, value)
                f.seek(table + where)
                f.write(value.to_bytes(8, "little"))

            def hit(i):
                with shmkit.attach(self.name) as seg, seg.list(name) as ll:
                    for call in (lambda: ll[-1], lambda: ll[-2], lambda: ll.__setitem__(-1, "x"), ll.pop,
                                 lambda: ll.__delitem__(-2), lambda: ll.insert(-1, "y"), lambda: ll.insert(-5, "z"),
                                 ll.reverse, lambda: ll[-3]):
                        try:
                            call()
                        except (shmkit.CorruptError, IndexError):
                            pass
            self.run_children(1, hit)
            read = 0
            for i in range(-3, 0):
                try:
                    lst[i]
                    read += 1
                except (shmkit.CorruptError, IndexError):
                    pass
            if where == 40:  # one reference scribbled: the others still read
                self.assertGreaterEqual(read, 1, "case %d" % n_case)

    def test_list_writer_killed_holding_lock(self):
        """A list's writer dies holding its lock: the next insert(-1, x),
        lst[-1] = v and pop() from another process repair it and act."""
        lst = self.new_list(initial=[1, 2])
        pid = os.fork()
        if pid == 0:
            from shmkit import _native
            rc = _native.lib.shmkit_dict_test_lock(lst._c.h)
            os.kill(os.getpid(), signal.SIGKILL) if rc == 0 else os._exit(1)
        self.assertEqual(os.waitpid(pid, 0)[1], signal.SIGKILL)

        def write(i):
            signal.alarm(30)
            with shmkit.attach(self.name) as seg, seg.list("l") as ll:
                ll.insert(-1, 3)
                ll[-1] = 4
                if ll.pop() != 4:
                    raise AssertionError(list(ll))
        self.run_children(1, write)
        self.assertEqual(list(lst), [1, 3])
        self.assertEqual(lst.stats()["recoveries"], 1)

    @staticmethod
    def _free_lock(heap):
        fd = os.open(heap, os.O_RDWR)
        try:
            os.pwrite(fd, bytes(48), 64)  # a free mutex is zeros: the writer lock freed
        finally:
            os.close(fd)

    def test_scribbled_writer_lock(self):
        """A writer lock no protocol step leaves (a holder id above the
        kernel's, the waiters bit alone, a holder that is not alive and not
        marked dead, glibc's kind field changed to priority-inheritance or
        junk) is CorruptError to a writer in another process at once, and
        the dict still reads. Before: a 30 s wait then BusyError, glibc's
        assertion aborting the process, or ValueError('Invalid argument')."""
        import struct
        if os.uname().machine not in ("x86_64", "aarch64"):
            self.skipTest("glibc's pthread_mutex_t is laid out for amd64 and arm64 here")
        dead = subprocess.Popen(["true"])
        dead.wait()  # reaped: no thread has this id now
        cases = [[(0, struct.pack("<I", 0x3ffffff))], [(0, struct.pack("<I", 0x80000000))],
                 [(0, struct.pack("<I", dead.pid))], [(16, struct.pack("<I", 0x32)), (0, struct.pack("<I", dead.pid))],
                 [(16, struct.pack("<I", 0xffffffff))], [(0, b"\xff" * 40)]]
        children = []
        for i, pokes in enumerate(cases):
            obj = self.new_dict("w%d" % i) if i % 2 else self.new_list("w%d" % i)
            obj.append(1) if i % 2 == 0 else obj.__setitem__("a", 1)
            heap = "/dev/shm/" + obj._c._ref[:192].split(b"\0")[0].decode()
            with open(heap, "r+b") as f:
                for off, b in pokes:
                    f.seek(64 + off)
                    f.write(b)
            self.addCleanup(self._free_lock, heap)
            code = ("import shmkit\ns = shmkit.attach(%r)\nh = s.%s(%r)\ntry:\n    h.%s\n    print('ok')\n"
                    "except shmkit.CorruptError:\n    print('corrupt')\nexcept BaseException as e:\n    print(repr(e))\n"
                    % (self.name, "dict" if i % 2 else "list", "w%d" % i, "__setitem__('b', 2)" if i % 2 else "append(2)"))
            children.append(subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                             stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONPATH=_ROOT)))
        outs = []
        for p in children:
            try:
                out, _ = p.communicate(timeout=10)  # a holder that cannot come back is not waited for (30 s)
            except subprocess.TimeoutExpired:
                p.kill()
                out, _ = p.communicate()
            outs.append(out.decode().strip())
        self.assertEqual(outs, ["corrupt"] * len(cases))
        self.assertEqual(self.opened[1]["a"], 1)
        self.assertEqual(self.opened[0][0], 1)

    def test_scribbled_heaps(self):
        """1-3 runs of 1-8 random bytes written anywhere in a dict's or a
        list's heap but its writer lock (a peer that scribbles a pthread
        mutex is not survived: reliability.md), 150 heaps from a fixed seed;
        a child process then calls every method. Each call returns or raises
        a shmkit error, KeyError, IndexError, or remove's ValueError; no
        child faults or hangs (SIGALRM after 30 s). Found a pickled value's
        UnpicklingError and OverflowError (test_value_that_does_not_unpickle)."""
        import random
        rng = random.Random(20261206)
        values = ["s", "é\udcff", 7, -2.5, True, None, b"\x00\xff", (1, "t"), 1 << 70]
        for r in range(150):
            kind = rng.choice(("dict", "list"))
            name = "o%d" % r
            if r % 40 == 0 and r:
                for o in self.opened:
                    o.unlink()
                    o.close()
                self.opened = []
                self.seg.close()
                shmkit.unlink(self.name)
                self.seg = shmkit.create(self.name, 1 << 16)
            if kind == "dict":
                obj = self.new_dict(name)
                for i, v in enumerate(values):
                    obj[rng.choice((i, "k%d" % i, i + 0.5))] = v
            else:
                obj = self.new_list(name, values)
            heap = "/dev/shm/" + obj._c._ref[:192].split(b"\0")[0].decode()
            with open(heap, "r+b") as f:
                cursor = int.from_bytes(f.read(40)[32:40], "little")
                for _ in range(rng.randrange(1, 4)):
                    while True:
                        off = rng.randrange(0, cursor)
                        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))
                        if off + len(junk) <= 64 or off >= 112:  # struct shmkit_dict_heap.lock
                            break
                    f.seek(off)
                    f.write(junk)

            def hit(i):
                signal.alarm(30)
                try:
                    seg = shmkit.attach(self.name)
                    h = seg.dict(name) if kind == "dict" else seg.list(name)
                except shmkit.ShmkitError:
                    return
                if kind == "dict":
                    calls = [lambda: list(h), h.items, h.values, lambda: len(h), h.copy, lambda: h.get("k1"),
                             lambda: h.__setitem__("new", 1), lambda: h.pop("k2", None), h.popitem,
                             lambda: h.add("n"), lambda: h.setdefault(3, 4), lambda: h.update_key("k3", str),
                             lambda: h.compare_and_swap("k4", True, 1), lambda: h.__delitem__(5), h.stats, h.clear]
                else:
                    calls = [lambda: list(h), lambda: len(h), lambda: h[-1], lambda: h[2], lambda: h.insert(-2, 1),
                             h.pop, lambda: h.pop(0), lambda: h.remove(7), h.reverse, lambda: h.__setitem__(-3, 0),
                             lambda: h[::-1], lambda: h.append(2), h.stats, h.clear]
                for call in calls:
                    try:
                        call()
                    except (shmkit.ShmkitError, KeyError, IndexError):
                        pass
                    except ValueError as e:
                        if "not in list" not in str(e):
                            raise
                h.close()
                seg.close()
            self.run_children(1, hit)

    def test_lying_count(self):
        """A heap whose count says more keys than it can hold: len() and
        every write raise CorruptError (len() raised OverflowError, a write
        looped for ever); the keys still read."""
        d = self.new_dict(initial={"a": 1, "b": 2})
        heap = "/dev/shm/" + d._c._ref[:192].split(b"\0")[0].decode()
        with open(heap, "r+b") as f:
            f.seek(48)  # struct shmkit_dict_heap.count
            f.write((1 << 63).to_bytes(8, "little"))
        self.assertRaises(shmkit.CorruptError, len, d)
        with self.assertRaises(shmkit.CorruptError):
            d["c"] = 3
        self.assertEqual(d["a"], 1)

    def test_popitem_with_a_lying_count(self):
        """A heap whose count says more keys than it holds (another process
        scribbled it): popitem() takes each key, then KeyError. It retried
        while len() was not 0, for ever (the child is killed by SIGALRM
        after 30 s if it hangs)."""
        d = self.new_dict(initial={"a": 1, "b": 2})
        heap = "/dev/shm/" + d._c._ref[:192].split(b"\0")[0].decode()
        with open(heap, "r+b") as f:
            f.seek(48)  # struct shmkit_dict_heap.count
            f.write((7).to_bytes(8, "little"))

        def pop_all(i):
            signal.alarm(30)
            with shmkit.attach(self.name) as seg, seg.dict("d") as dd:
                got = {dd.popitem(), dd.popitem()}
                if got != {("a", 1), ("b", 2)}:
                    raise AssertionError(got)
                with self.assertRaises(KeyError):
                    dd.popitem()
        self.run_children(1, pop_all)

    def test_value_of_wrong_length_is_corrupt(self):
        """An int, float, bool or None value whose stored length is not its
        type's (another process scribbled the heap) is CorruptError on every
        read. An int or float was read as 8 bytes of the buffer whatever its
        length (a stale number), a bool of 0 bytes as True."""
        values = {"int-key": 12345, "float-key": 2.5, "bool-key": False, "none-key": None}
        d = self.new_dict(initial=values)
        heap = "/dev/shm/" + d._c._ref[:192].split(b"\0")[0].decode()
        with open(heap, "r+b") as f:
            data = f.read()
            for key, vlen in (("int-key", 3), ("float-key", 0), ("bool-key", 0), ("none-key", 1)):
                at = data.find(key.encode()) - 16  # struct shmkit_dict_block before the key
                self.assertEqual(int.from_bytes(data[at + 8:at + 12], "little"), len(key))
                f.seek(at + 12)  # val_len
                f.write(vlen.to_bytes(4, "little"))
        d["fresh"] = 7  # the buffer now holds another number
        for key in values:
            with self.assertRaises(shmkit.CorruptError, msg=key):
                d[key]
            with self.assertRaises(shmkit.CorruptError, msg=key):
                d.get(key)
        with self.assertRaises(shmkit.CorruptError):
            d.items()
        self.assertEqual(d["fresh"], 7)

    def test_close_while_other_threads_read(self):
        """close() while other threads of the process read and write: their
        calls return or raise ValueError (closed), the process lives. The
        C handle was closed under calls in flight (ctypes lets go of the
        GIL), and the process died of SIGSEGV in 30 of 30 runs."""
        self.new_dict(initial={"k%d" % i: "v" * 300 for i in range(200)})
        self.new_list(initial=range(100))
        seg = self.seg

        def work(i):
            shared = seg.dict("d") if i % 2 == 0 else seg.list("l")
            started = threading.Barrier(3)

            def use():
                started.wait()
                try:
                    while True:
                        for j in range(100):
                            if i % 2 == 0:
                                shared["k%d" % j]
                                shared.pop("absent", None)
                            else:
                                shared[j] = shared[j]
                except ValueError:
                    pass
            threads = [threading.Thread(target=use) for _ in range(2)]
            for t in threads:
                t.start()
            started.wait()
            shared.close()
            for t in threads:
                t.join()
            with self.assertRaises(ValueError):
                len(shared)
        for _ in range(5):
            self.run_children(4, work)

    def test_full_tmpfs(self):
        """A full /dev/shm is NoSpaceError (an OSError of errno ENOSPC),
        never a signal, and loses nothing: in a forked child with a mount
        namespace of its own and a 1 MiB tmpfs on /dev/shm (root only)."""
        import ctypes
        import errno
        libc = ctypes.CDLL(None, use_errno=True)
        clone_newns, ms_rec, ms_private = 0x20000, 0x4000, 0x40000
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                if (libc.unshare(clone_newns) != 0
                        or libc.mount(b"none", b"/", None, ms_rec | ms_private, None) != 0
                        or libc.mount(b"tmpfs", b"/dev/shm", b"tmpfs", 0, b"size=1m") != 0):
                    code = 3
                    return
                seg = shmkit.create("nospace", 1 << 16)
                d = seg.new_dict("full")
                value = "." * 1500
                stored = 0
                try:
                    while True:
                        d["k%d" % stored] = value + str(stored)
                        stored += 1
                except shmkit.NoSpaceError as e:
                    assert e.errno == errno.ENOSPC and isinstance(e, OSError), e
                assert stored > 100, stored
                assert len(d) == stored
                assert "k%d" % stored not in d
                for i in range(stored):
                    assert d["k%d" % i] == value + str(i), i
                try:
                    seg.new_list("second")
                    raise AssertionError("a new list on a full tmpfs")
                except shmkit.NoSpaceError:
                    pass
                for i in range(10):
                    del d["k%d" % i]
                for i in range(5):
                    d["again%d" % i] = value
                assert len(d) == stored - 5
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        status = os.waitpid(pid, 0)[1]
        self.assertFalse(os.WIFSIGNALED(status), "killed by signal %d" % os.WTERMSIG(status))
        if os.WEXITSTATUS(status) == 3:
            self.skipTest("no mount namespace and tmpfs here (root only)")
        self.assertEqual(os.WEXITSTATUS(status), 0)

    def test_list(self):
        lst = self.new_list(initial=range(10))
        self.assertIsInstance(lst, collections.abc.MutableSequence)
        lst.reverse()
        self.assertEqual(list(lst), list(range(9, -1, -1)))
        lst.insert(1, "x")
        lst[0] = 1.5
        self.assertEqual(lst.pop(), 0)
        self.assertEqual(lst.pop(2), 8)
        self.assertEqual(lst[-1], 1)
        del lst[0]
        lst.extend([None, b"b"])
        self.assertEqual(list(lst), ["x", 7, 6, 5, 4, 3, 2, 1, None, b"b"])
        self.assertEqual(lst[1:3], [7, 6])
        with self.assertRaises(IndexError):
            lst[10]
        with self.assertRaises(IndexError):
            lst[10] = 1
        self.assertEqual(len(lst), 10)
        lst.clear()
        self.assertEqual(list(lst), [])
        with self.assertRaises(shmkit.KindMismatchError):
            self.seg.dict("l")

    def test_list_index_past_uint64(self):
        """An index of 2**64 or more is out of range, as in a list: ctypes
        cut it to 64 bits, so del lst[2**64] removed item 0."""
        lst = self.new_list(initial=[10, 11, 12])
        for i in (2**64, 2**64 + 1, 2**65 + 2, 2**200):
            with self.assertRaises(IndexError):
                lst[i]
            with self.assertRaises(IndexError):
                lst[i] = 99
            with self.assertRaises(IndexError):
                del lst[i]
            with self.assertRaises(IndexError):
                lst.pop(i)
            self.assertEqual(list(lst), [10, 11, 12], "index %d" % i)
        lst.insert(2**64 + 1, 13)          # past the end appends, as list.insert
        self.assertEqual(list(lst), [10, 11, 12, 13])
        lst.insert(-2**70, 9)              # before the start prepends
        self.assertEqual(list(lst), [9, 10, 11, 12, 13])
        for bad in (1.5, None, "1"):
            with self.assertRaises(TypeError):
                lst.insert(bad, 0)
        self.assertEqual(list(lst), [9, 10, 11, 12, 13])

    def test_concurrent_pops_from_the_end(self):
        """pop() and lst[-1] in processes that pop at once: an IndexError
        only when the list is empty. They took len() then used len() - 1,
        an index another process's pop could have taken meanwhile."""
        n = 6000
        self.new_list(initial=range(n))
        self.new_list("out")
        name = self.name

        def work(i):
            with shmkit.attach(name) as seg:
                with seg.list("l") as ll, seg.list("out") as out:
                    while True:
                        try:
                            ll[-1]
                            out.append(ll.pop())
                        except IndexError:
                            left = len(ll)  # only pops happen: the list shrinks
                            if left:
                                raise AssertionError("IndexError with %d items left" % left)
                            return
        self.run_children(3, work)
        with self.seg.list("out") as out:
            self.assertEqual(sorted(out), list(range(n)))

    def test_negative_indexes_as_a_list(self):
        """Each negative index, at and past the start, does what it does to
        a Python list, kept beside the shared one."""
        import random
        rng = random.Random(7)
        lst, model = self.new_list(initial=range(5)), list(range(5))
        for step in range(3000):
            i = -rng.randrange(0, len(model) + 3) if rng.random() < 0.9 else -(1 << rng.choice((40, 62, 63)))
            op = rng.randrange(5)
            for target in (lst, model):
                try:
                    if op == 0:
                        target.insert(i, step)
                        got = None
                    elif op == 1:
                        got = target.pop(i) if len(model) > 3 else None
                    elif op == 2:
                        got = target[i]
                    elif op == 3:
                        target[i] = step
                        got = None
                    else:
                        del target[i]
                        got = None
                except IndexError:
                    got = IndexError
                if target is lst:
                    mine = got
            self.assertEqual(mine, got, "step %d: op %d at %d" % (step, op, i))
            self.assertEqual(list(lst), model, "step %d: op %d at %d" % (step, op, i))

    def test_negative_indexes_while_others_insert_and_pop(self):
        """insert(-1, x), lst[-1], lst[-1] = v and pop(-2) count from the end
        of the list as it is when they act: "END" stays last while one
        process inserts before it and another pops from the front. They
        counted from a len() taken in a call before, so an item landed
        after "END", or the item read or popped was not the one asked."""
        filler, inserts = 4000, 1500
        self.new_list(initial=["f"] * filler + ["END"])
        name = self.name

        def work(i):
            with shmkit.attach(name) as seg, seg.list("l") as ll:
                for j in range(inserts):
                    if i == 0:
                        ll.insert(-1, j)
                    elif i == 1:
                        ll.pop(0)
                        ll.pop(0)
                    else:
                        if ll[-1] != "END":
                            raise AssertionError("lst[-1] read %r" % (ll[-1],))
                        ll[-1] = "END"
                        ll.insert(-1, "tmp")
                        got = ll.pop(-2)
                        if got not in ("tmp", "f") and not isinstance(got, int):
                            raise AssertionError("pop(-2) took %r" % (got,))
        self.run_children(3, work)
        with self.seg.list("l") as ll:
            items = list(ll)
        self.assertEqual(items[-1], "END")
        self.assertEqual(items.count("END"), 1)
        self.assertEqual(len(items), filler + 1 + inserts - 2 * inserts)

    def test_keys_equal_in_python_but_stored_apart(self):
        """1, 1.0 and True are three keys of a shared dict (type and bytes),
        as another process may store them, but one key of a Python dict:
        dict(d), d.copy() and keys() raise KeyCollisionError naming them
        rather than keep one value and drop the others unseen; items() and
        iteration give every pair; == with a dict is False. dict(d) and
        copy() kept one of the three values."""
        d = self.new_dict()

        def write(i):
            with shmkit.attach(self.name) as seg, seg.dict("d") as dd:
                dd[1], dd[1.0], dd[True], dd["x"] = "int", "float", "bool", 0
        self.run_children(1, write)
        self.assertEqual((d[1], d[1.0], d[True]), ("int", "float", "bool"))
        self.assertEqual(sorted(map(repr, d.items())), ["('x', 0)", "(1, 'int')", "(1.0, 'float')", "(True, 'bool')"])
        self.assertEqual(len(list(d)), 4)
        for f in (dict, lambda m: m.copy(), lambda m: m.keys()):
            with self.assertRaises(shmkit.KeyCollisionError) as cm:
                f(d)
            self.assertIsInstance(cm.exception, ValueError)
            self.assertIn("1.0", str(cm.exception))
        self.assertNotEqual(d, {1: "int", "x": 0})
        self.assertNotEqual(d, {1: "bool", "x": 0})
        self.assertIn("1.0: 'float'", repr(d))
        del d[1.0], d[True]
        self.assertEqual(dict(d), {1: "int", "x": 0})
        self.assertEqual(d, {1: "int", "x": 0})
        self.assertEqual(d, {1.0: "int", "x": 0}, "a Python dict's key 1.0 is its key 1")

    def test_pickled_keys_are_one_key_per_value(self):
        """A pickled key is the same key whichever equal object, and
        whichever process, stores it; an unhashable key is TypeError, as in
        a dict. Pickle wrote an equal str twice or as a reference to the
        first copy, by identity, and a frozenset in its hash order, which
        differs between interpreters; a list or dict key was stored."""
        d = self.new_dict()
        abc = "".join(["ab", "c"])                 # equal to "abc", another object
        d[("abc", "abc")] = 1
        d[frozenset("abcdefgh")] = 2
        d[(("x", "y"), ("x", "y"), frozenset({"p", "q"}), b"z", b"z")] = 3
        self.assertEqual(d[("abc", abc)], 1)
        self.assertEqual(d[(("x", "y"), tuple(["x", "y"]), frozenset({"q", "p"}), b"z", bytes(b"z"[:]))], 3)
        script = (
            "import sys; sys.path.insert(0, %r); import shmkit\n"
            "with shmkit.attach(%r) as seg, seg.dict('d') as d:\n"
            "    print(d.get(('abc', ''.join(['a', 'bc']))), d.get(frozenset('hgfedcba')), sorted(map(repr, d)))\n"
        ) % (os.path.dirname(os.path.dirname(os.path.abspath(__file__))), self.name)
        for seed in ("1", "2", "3"):
            env = dict(os.environ, PYTHONHASHSEED=seed)
            out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
            self.assertTrue(out.stdout.startswith("1 2 "), "PYTHONHASHSEED=%s: %s" % (seed, out.stdout))
        import ctypes

        class Point(ctypes.Structure):
            _fields_ = [("x", ctypes.c_double)]
        for bad in ([1, 2], {"a": 1}, {1, 2}, (1, [2]), Point(1.5)):  # a record: a value only
            with self.assertRaises(TypeError):
                d[bad] = 1
            with self.assertRaises(TypeError):
                bad in d
            with self.assertRaises(TypeError):
                d.setdefault(bad, 1)
        self.assertEqual(len(d), 3)
        d["list value"] = [1, 2]                    # values may be anything
        self.assertEqual(d["list value"], [1, 2])

    def test_concurrent_pop_and_popitem(self):
        """pop(key, default) and popitem() in processes that pop the same
        keys at once: each value popped by one of them exactly once, no
        KeyError while keys are left. They were MutableMapping's, a get and
        then a del: the loser's del raised KeyError despite the default, and
        a value set between the two was deleted unseen."""
        n = 3000
        self.new_dict(initial={"k%d" % i: i for i in range(n)})
        self.new_list("out")
        name = self.name

        def work(i):
            with shmkit.attach(name) as seg:
                with seg.dict("d") as dd, seg.list("out") as out:
                    for j in range(n // 2):
                        v = dd.pop("k%d" % j, None)
                        if v is not None:
                            out.append(v)
                    while True:
                        try:
                            k, v = dd.popitem()
                        except KeyError:
                            left = len(dd)  # only pops happen: the dict shrinks
                            if left:
                                raise AssertionError("popitem: KeyError with %d keys left" % left)
                            return
                        self.assertEqual(k, "k%d" % v)
                        out.append(v)
        self.run_children(3, work)
        with self.seg.list("out") as out:
            self.assertEqual(sorted(out), list(range(n)))
        d = self.opened[0]
        with self.assertRaises(KeyError):
            d.pop("k1")
        self.assertEqual(d.pop("k1", "none"), "none")
        d["k1"] = b"v"
        self.assertEqual(d.pop("k1"), b"v")
        with self.assertRaises(KeyError):
            d.popitem()

    def test_remove_while_another_process_inserts(self):
        """remove(v) while another process inserts at the front: v is the
        item removed, nothing else. It was MutableSequence's, index(v) and
        then del at that index: an insert in between shifted v on, and the
        item before it was deleted instead."""
        n = 2000
        self.new_list(initial=range(n))
        name = self.name

        def work(i):
            with shmkit.attach(name) as seg:
                with seg.list("l") as ll:
                    for v in range(n):
                        if i == 0 and v % 2:
                            ll.remove(v)
                        elif i == 1:
                            ll.insert(0, -1 - v)
        self.run_children(2, work)
        with self.seg.list("l") as ll:
            got = sorted(ll)
            self.assertEqual(got, list(range(-n, 0)) + list(range(0, n, 2)))
            with self.assertRaises(ValueError):
                ll.remove(1)
            ll.remove(2.0)                  # equal as in a list, though stored as an int
            self.assertNotIn(2, list(ll))
            self.assertEqual(len(ll), len(got) - 1)

    def test_read_only_refuses_every_write(self):
        """Every method that writes, through a read-only attach, is
        ReadOnlyError and changes nothing, whether or not it would."""
        d = self.new_dict(initial={"a": 1})
        lst = self.new_list(initial=[1, 2, 3])
        with shmkit.attach(self.name, readonly=True) as ro:
            with ro.dict("d") as rd, ro.list("l") as rl:
                self.assertEqual((rd["a"], list(rl)), (1, [1, 2, 3]))
                calls = [
                    lambda: rd.__setitem__("b", 1), lambda: rd.__setitem__("a", 1), lambda: rd.__delitem__("a"),
                    lambda: rd.__delitem__("missing"), rd.clear, lambda: rd.setdefault("a", 2),
                    lambda: rd.setdefault("new", 2), lambda: rd.compare_and_swap("a", 1, 2),
                    lambda: rd.compare_and_swap("a", 5, 2), lambda: rd.update_key("a", lambda v: v + 1),
                    lambda: rd.add("a"), lambda: rd.add("a", 2**40), lambda: rd.pop("a"), rd.popitem,
                    lambda: rd.update({"x": 1}),
                    lambda: rl.__setitem__(0, 5), lambda: rl.__delitem__(0), lambda: rl.__delitem__(slice(0, 2)),
                    lambda: rl.insert(0, 1), lambda: rl.append(1), lambda: rl.extend([1]), rl.pop,
                    lambda: rl.pop(0), rl.reverse, rl.clear, lambda: rl.remove(2), lambda: rl.__iadd__([1]),
                    lambda: rl.__setitem__(-1, 5), lambda: rl.__delitem__(-3), lambda: rl.insert(-1, 1),
                    lambda: rl.insert(-(1 << 70), 1), lambda: rl.pop(-2),
                ]
                for i, call in enumerate(calls):
                    with self.assertRaises(shmkit.ReadOnlyError, msg="call %d" % i):
                        call()
        self.assertEqual(dict(d.items()), {"a": 1})
        self.assertEqual(list(lst), [1, 2, 3])

    def test_slices_and_reversed_while_another_process_pops(self):
        """lst[:], lst[::-1] and reversed(lst) while another process pops
        from the end: what is left, never IndexError (a list's slices do not
        raise). They took len(), then read each index, and the index of an
        item popped in between raised IndexError."""
        n = 3000
        lst = self.new_list(initial=range(n))
        name = self.name
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                with shmkit.attach(name) as seg, seg.list("l") as ll:
                    while len(ll):
                        ll.pop()
                code = 0
            finally:
                os._exit(code)
        try:
            reads = 0
            while len(lst):
                front = lst[:]
                self.assertEqual(front, list(range(len(front))))
                for how, got in (("[::-1]", lst[::-1]), ("reversed", list(reversed(lst)))):
                    # Read downwards while the top is popped: items read
                    # before their pop, descending (the popper may empty
                    # the list before the read reaches 0).
                    self.assertEqual(got, sorted(set(got), reverse=True), how)
                    self.assertTrue(set(got) <= set(range(n)), how)
                odd = lst[1::2]
                self.assertEqual(odd, list(range(1, 2 * len(odd), 2)))
                reads += 1
        finally:
            self.assertEqual(os.waitpid(pid, 0)[1], 0)
        self.assertGreater(reads, 0)

    def test_bad_initial_makes_nothing(self):
        """new_dict and new_list whose initial items cannot be stored raise
        and make nothing: the name is free for another try. They made the
        object and its heap file, stored what came before the bad item and
        raised: the next try was ObjectExistsError."""
        unpicklable = lambda: 0  # noqa: E731
        bad_items = (TypeError, AttributeError, pickle.PicklingError)
        for bad in ({"a": 1, "b": unpicklable}, [("a", 1), ([1], 2)]):
            with self.assertRaises(bad_items):
                self.seg.new_dict("d", bad)
        with self.assertRaises(bad_items):
            self.seg.new_list("l", iter([1, unpicklable]))
        self.assertEqual(len(self.seg.objects()), 0)
        d = self.new_dict(initial=[("a", 1), (True, 2), (1, 3)])  # pairs as given: three keys
        self.assertEqual((len(d), d["a"], d[True], d[1]), (3, 1, 2, 3))
        lst = self.new_list(initial=iter([1, 2]))
        self.assertEqual(list(lst), [1, 2])

    def test_pool_fills_list(self):
        lst = self.new_list()
        name = self.name

        def work(i):
            with shmkit.attach(name) as seg:
                with seg.list("l") as ll:
                    for k in range(100):
                        ll.append(i * 100 + k)
        self.run_children(4, work)
        self.assertEqual(sorted(lst), list(range(400)))

    def test_speed_is_reported(self):
        """Not an assertion of speed (the machine is shared): a figure."""
        d = self.new_dict()
        t = time.perf_counter()
        for k in range(20000):
            d[k] = k
        t1 = time.perf_counter()
        for k in range(20000):
            d[k]
        t2 = time.perf_counter()
        for _ in range(20000):
            d.add("c")
        t3 = time.perf_counter()
        self.assertEqual(d["c"], 20000)
        sys.stderr.write("\nseg.dict: set %.0f/s, get %.0f/s, add %.0f/s " % (
            20000 / (t1 - t), 20000 / (t2 - t1), 20000 / (t3 - t2)))


if __name__ == "__main__":
    unittest.main()
