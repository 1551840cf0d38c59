"""The Python side of the interop tests: the same commands as peer.c, on
the shmkit package, printing the same lines."""

import array
import ctypes
import os
import signal
import sys

import shmkit

TYPECODES = "cbBhHiIlLqQfdu"


def as_number(tc, v):
    return v[0] if tc == "c" else ord(v) if tc == "u" else v


def bumped(tc, v):
    if tc == "c":
        return bytes([(v[0] + 1) % 256])
    if tc == "u":
        return chr(ord(v) + 1)
    return v * 2 if tc in "fd" else v + 1


def fmt(tc, v):
    return "%g" % v if tc in "fd" else "%d" % v


def values(seg):
    for tc in TYPECODES:
        v = seg.value("v_" + tc, tc)
        with v.get_lock():  # recursive: .value takes it again
            x = v.value
            print("%s=%s" % (tc, fmt(tc, as_number(tc, x))))
            v.value = bumped(tc, x)
        v.release()


def array_cmd(seg, name):
    a = seg.array(name, "d")
    total = 0.0
    for i in range(len(a)):
        total += a[i]
        a[i] = a[i] * 2 + 1
    print("count=%d sum=%.0f" % (len(a), total))
    a.release()


def sem_wait(seg, name):
    s = seg.semaphore(name)
    print("waiting", flush=True)
    s.acquire()
    print("acquired")


def sem_post(seg, name):
    seg.semaphore(name).release()
    print("released")


def event_wait(seg, name):
    e = seg.event(name)
    print("waiting", flush=True)
    assert e.wait(60)
    print("set")


def event_set(seg, name):
    seg.event(name).set()
    print("set")


def barrier(seg, name):
    b = seg.barrier(name)
    print("arriving", flush=True)
    b.wait(60)
    print("passed")


def cond(seg, mutex, name, flag, notify):
    """Under mutex, wait on the condition until the int32 value flag is
    non-zero; or set it and wake every waiter."""
    c = seg.condition(name, seg.mutex(mutex))
    f = seg.value(flag, "i")
    with c:
        if notify:
            f.value = 1
            c.notify_all()
            print("notified")
        else:
            print("waiting", flush=True)
            assert c.wait_for(lambda: f.value != 0, 60)
            print("woken")
    f.release()


def pipe_echo(seg, name):
    """Serve end 1 of pipe name: each message comes back reversed until
    the other end closes."""
    count = 0
    with seg.pipe(name, 1) as conn:
        while True:
            try:
                msg = conn.recv_bytes()
            except EOFError:
                break
            conn.send_bytes(msg[::-1])
            count += 1
    print("echoed=%d" % count)


def queue_echo(seg, src, dst):
    """Take every message of queue src until it ends, put each reversed
    on queue dst, then end dst."""
    q_in, q_out = seg.queue(src), seg.queue(dst)
    q_out.register(True)
    count = 0
    while True:
        try:
            msg = q_in.get_bytes()
        except EOFError:
            break
        q_out.put_bytes(msg[::-1])
        count += 1
    q_out.end()
    q_in.close()
    q_out.close()
    print("echoed=%d" % count)


def mutex_hold(seg, name):
    seg.mutex(name).acquire()
    print("locked", flush=True)
    while True:
        signal.pause()  # until killed


def mutex_lock(seg, name):
    m = seg.mutex(name)
    try:
        m.acquire()
    except shmkit.OwnerDeadError:
        print("ownerdead")
        m.consistent()
    m.release()
    print("ok")


def send(seg, name, count, length, join=False):
    """Send count messages; with join, wait until each is marked done."""
    ch = seg.channel(name, "d")
    total = 0.0
    for k in range(count):
        msg = array.array("d", range(k * length, (k + 1) * length))
        total += sum(msg)
        ch.send(msg)
    if join:
        ch.join()
        print("joined")
    ch.end()
    print("sent=%d sum=%.0f" % (count, total))


def recv(seg, name, done=False):
    """Receive until the end; with done, mark each message done."""
    ch = seg.channel(name, "d")
    count, total, inorder = 0, 0.0, True
    for msg in ch:
        n = len(msg)
        inorder &= all(msg[j] == count * n + j for j in range(n))
        total += sum(msg)
        count += 1
        if done:
            ch.task_done()
    print("received=%d sum=%.0f order=%s" % (count, total, "ok" if inorder else "wrong"))


def send_values(seg, name, count):
    """Send 0 .. count-1 as one-value messages with send_values, in runs
    of 1 to 61, then end the stream."""
    ch = seg.channel(name, "d")
    k, run = 0, 0
    while k < count:
        m = min(1 + run * 13 % 61, count - k)
        if ch.send_values(array.array("d", range(k, k + m))) != m:
            raise SystemExit("send_values sent short")
        k, run = k + m, run + 1
    ch.end()
    print("sent=%d sum=%.0f" % (count, count * (count - 1) / 2))


def recv_values(seg, name):
    """Receive one-value messages with recv_values, up to 37 at a time,
    until the end."""
    ch = seg.channel(name, "d")
    count, total, inorder = 0, 0.0, True
    while True:
        try:
            vs = ch.recv_values(37)
        except EOFError:
            break
        inorder &= vs == [float(v) for v in range(count, count + len(vs))]
        total += sum(vs)
        count += len(vs)
    print("received=%d sum=%.0f order=%s" % (count, total, "ok" if inorder else "wrong"))


def attach(segname, name=None, tc=None):
    try:
        with shmkit.attach(segname) as seg:
            if name:
                seg.value(name, tc).release()
        print("ok")
    except (FileNotFoundError, shmkit.ObjectNotFoundError):
        print("notfound")
    except shmkit.NotShmkitError:
        print("notshmkit")
    except shmkit.VersionError:
        print("version")
    except shmkit.CorruptError:
        print("corrupt")
    except shmkit.KindMismatchError:
        print("kind")


def create(segname):
    with shmkit.create(segname, 1 << 20) as seg:
        for tc in TYPECODES:
            init = {"c": b"*", "u": "*", "f": 1.5, "d": 1.5}.get(tc, 42)
            seg.new_value("v_" + tc, tc, init).release()
        seg.new_array("array", "d", range(100)).release()
        seg.new_semaphore("sem", 3)
        seg.new_mutex("mutex")
        ch = seg.new_channel("chan", "d", 8, 4)
        for k in range(3):
            ch.send([k, k + 0.5])
        ch.end()
    print("created")


def field(rec, name):
    return rec[name] if not hasattr(rec, "_fields_") else getattr(rec, name)


def records(seg, name, chan):
    """As peer.c's records: the layout, sums over the array, then the
    channel's records until the end. Uses numpy if it is installed."""
    lay = seg.layout(name)
    line = "layout %s size=%d" % (lay.type_name, lay.size)
    for f in lay.fields:
        line += " %s:%s@%d" % (f.name, f.typecode, f.offset) + ("x%d" % f.count if f.count > 1 else "")
    print(line)
    recs = seg.records(name)
    with seg.get_lock(name):
        ids = sum(int(field(r, "ID")) for r in recs)
        energy = sum(float(field(r, "Energy")) for r in recs)
    print("records=%d ids=%d energy=%g" % (len(recs), ids, energy))
    del recs
    ch = seg.channel(chan)
    count = seqs = 0
    for msg in ch:
        for r in msg:
            seqs += int(field(r, "Seq"))
            count += 1
    print("events=%d seq=%d" % (count, seqs))


def descs(name, segnames):
    """As peer.c's descs: the records name in each segment, "ok" once every
    field of every record is read, else why not."""
    for segname in segnames:
        with shmkit.attach(segname) as seg:
            try:
                lay = seg.layout(name)
                recs = seg.records(name)
                for r in recs:
                    for f in lay.fields:
                        field(r, f.name)
                r = recs = None  # the views go before the segment closes
                print("ok")
            except shmkit.CorruptError:
                print("corrupt")


def names(kind, args):
    """As peer.c's names, through the package's own calls: the segment-name
    check of create, attach and unlink (a segment), or new_value in segment
    args[0] (an object), with each name, given in hex. A name that is not
    UTF-8 is no str, so it cannot be passed: "bad"."""
    seg = shmkit.attach(args.pop(0)) if kind != "segment" else None
    for h in args:
        try:
            name = bytes.fromhex(h).decode("utf-8")
            if seg is None:
                shmkit._segment._posix(name)
            else:
                seg.new_value(name, "i").release()
            print("ok")
        except ValueError:
            print("bad")
    if seg is not None:
        seg.close()


def dict_cmd(seg, name, peer, adds):
    """As peer.c's dict; Python also stores a pickled tuple under
    "pickled-PEER" and prints its decoded view as "repr KEY VALUE" lines."""
    from shmkit import _dict
    d, lst = seg.dict(name), seg.list(name + "-list")
    for k, (vt, vb) in d._walk():
        kt, kb = _dict.encode(k)
        print("%d:%s=%d:%s" % (kt, kb.hex(), vt, vb.hex()))
    print("end")
    for k, v in sorted(d.items(), key=repr):
        print("repr %r %r" % (k, v))
    d["from-" + peer] = 0.5
    d["pickled-" + peer] = (1, "two")
    for _ in range(adds):
        d.update_key("year", lambda y: y + 1)
    lst.append(peer)
    d.close()
    lst.close()


def dict_record(seg, name, key, peer):
    """As peer.c's dict-record, printing the record's fields as
    "NAME=VALUE" (ctypes.Structure, or numpy structured scalar), and
    doubling its Score too."""
    d = seg.dict(name)
    r = d[key]
    if hasattr(r, "dtype"):
        names, get = list(r.dtype.names), lambda k: r[k].tolist()
    else:
        names = [f[0] for f in r._fields_ if not f[0].startswith("_pad")]
        get = lambda k: list(getattr(r, k)) if isinstance(getattr(r, k), ctypes.Array) else getattr(r, k)  # noqa: E731
    print(" ".join("%s=%r" % (k, get(k)) for k in names))
    if hasattr(r, "dtype"):
        r["Job"] += 1000
        r["Score"] *= 2
    else:
        r.Job += 1000
        r.Score *= 2
    d[key + "-" + peer] = r
    d.close()


def dict_hold(seg, name):
    from shmkit import _native
    d = seg.dict(name)
    rc = _native.lib.shmkit_dict_test_lock(d._c.h)
    print("locked" if rc == 0 else "error %d" % rc, flush=True)
    while True:
        signal.pause()  # until killed


def main(argv):
    cmd, segname, args = argv[1], argv[2], argv[3:]
    if cmd == "names":
        return names(segname, args)
    if cmd == "descs":
        return descs(segname, args)
    if cmd == "attach":
        return attach(segname, *args)
    if cmd == "create":
        return create(segname)
    with shmkit.attach(segname) as seg:
        if cmd == "values":
            values(seg)
        elif cmd == "array":
            array_cmd(seg, args[0])
        elif cmd == "sem-wait":
            sem_wait(seg, args[0])
        elif cmd == "sem-post":
            sem_post(seg, args[0])
        elif cmd == "queue-echo":
            queue_echo(seg, args[0], args[1])
        elif cmd == "pipe-echo":
            pipe_echo(seg, args[0])
        elif cmd == "event-wait":
            event_wait(seg, args[0])
        elif cmd == "event-set":
            event_set(seg, args[0])
        elif cmd == "barrier":
            barrier(seg, args[0])
        elif cmd in ("cond-wait", "cond-notify"):
            cond(seg, args[0], args[1], args[2], cmd == "cond-notify")
        elif cmd == "mutex-hold":
            mutex_hold(seg, args[0])
        elif cmd == "mutex-lock":
            mutex_lock(seg, args[0])
        elif cmd in ("send", "send-join"):
            send(seg, args[0], int(args[1]), int(args[2]), cmd == "send-join")
        elif cmd == "send-values":
            send_values(seg, args[0], int(args[1]))
        elif cmd == "recv-values":
            recv_values(seg, args[0])
        elif cmd in ("recv", "recv-done"):
            recv(seg, args[0], cmd == "recv-done")
        elif cmd == "dict-hold":
            dict_hold(seg, args[0])
        elif cmd == "dict":
            dict_cmd(seg, args[0], args[1], int(args[2]))
        elif cmd == "dict-record":
            dict_record(seg, args[0], args[1], args[2])
        elif cmd == "records":
            records(seg, args[0], args[1])
        else:
            sys.exit("peer.py: unknown command " + cmd)


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)
    main(sys.argv)
