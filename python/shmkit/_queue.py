"""Queues of any picklable object of any size: multiprocessing.Queue, and
the same object as Go's queue.Queue (package queue).

A message longer than one slot of the queue's channel crosses as parts,
each with an 8-byte header (flags, then the whole message's length, both
little-endian uint32). Senders hold the queue's send mutex over the parts
of one message and receivers its receive mutex, so parts never
interleave; a first part always begins a message, and parts that follow
no first part are dropped: they are what a killed process left.
"""

import ctypes
import errno
import pickle
import queue as _stdqueue
import struct

from . import _errors
from ._sync import _deadline
from . import _native as n

_HEADER = struct.Struct("<II")
_FIRST, _LAST = 1, 2
# How long a get inside a message waits for its next part before it looks
# whether the message's sender is still sending it (seconds).
_ORPHAN_CHECK = 0.1


def _names(name):
    return name, name + ".send", name + ".recv", name + ".max", name + ".len"


def create(seg, name, slots, slot_bytes, max_message):
    """Make the objects of queue name (Go's queue.New)."""
    if slot_bytes <= _HEADER.size:
        raise ValueError("queue %r: slots of %d bytes hold no part of a message (at least %d)"
                         % (name, slot_bytes, _HEADER.size + 1))
    if not 0 <= max_message <= 2**32 - 1:
        raise ValueError("queue %r: a limit of %d bytes (at most 4 GiB-1)" % (name, max_message))
    ch, send, recv, limit, queued = _names(name)
    # Refuse before making anything: a queue made in part would hold its
    # name, and the segment's space, for good.
    for obj in (send, recv, limit, queued):
        n.name_bytes(obj, "object (of queue %r)" % name)  # ValueError if too long
        try:
            seg._lookup(obj)
        except _errors.ObjectNotFoundError:
            continue
        raise _errors.ObjectExistsError(errno.EEXIST, "queue %r: object %r exists" % (name, obj))
    # The C library makes the five objects, after it found room for all of
    # them: running out part-way would leave the first ones behind.
    seg._check_open()
    seg._created(n.lib.shmkit_new_queue(ctypes.byref(seg._c), n.name_bytes(ch, "object"),
                                        n.unsigned(slots, 32, "slots"), n.unsigned(slot_bytes, 32, "slot_bytes"),
                                        max_message), name)


def _locked(mutex, block, timeout):
    """Take mutex; a holder that died leaves nothing to repair (see above)."""
    try:
        return mutex.acquire(block, timeout)
    except _errors.OwnerDeadError:
        mutex.consistent()
        return True


class Queue:
    """A queue of picklable objects between processes, found by name, as
    multiprocessing.Queue: put/get (raising queue.Full and queue.Empty),
    put_nowait/get_nowait, qsize/empty/full, close; put_bytes/get_bytes
    for raw bytes, which Go reads and writes as []byte. A put or get that
    has moved the first part of a message finishes it whatever the timeout,
    so a message is never left half sent or half taken: a timeout bounds the
    wait for room for the first part, and a put without blocking sends only
    if every part fits at once."""

    def __init__(self, seg, name):
        ch, send, recv, limit, queued = _names(name)
        self.name = name
        self._seg = seg
        self._ch = seg.channel(ch, "B")
        self._send = seg.mutex(send)
        self._recv = seg.mutex(recv)
        lim = seg.value(limit, "Q")
        self.max_message = lim.value
        lim.release()
        if self.max_message > 2**32 - 1:  # more than create() makes, or a header can say
            raise _errors.CorruptError("queue %r has a limit of %d bytes (at most 4 GiB-1)" % (name, self.max_message))
        self._queued = seg.value(queued, "q")
        if self._ch.maxlen <= _HEADER.size:
            raise _errors.CorruptError("queue %r has slots of %d bytes" % (name, self._ch.maxlen))
        self._part = bytearray(self._ch.maxlen)
        self._closed = False

    def _check_closed(self):
        if self._closed:
            raise ValueError("queue %r: this handle is closed" % self.name)  # as multiprocessing.Queue

    # -- bytes

    def put_bytes(self, data, block=True, timeout=None):
        self._check_closed()
        data = memoryview(data).cast("B")
        if len(data) > self.max_message:
            raise ValueError("queue %r: message of %d bytes, at most %d" % (self.name, len(data), self.max_message))
        deadline = _deadline(timeout)
        room = self._ch.maxlen - _HEADER.size
        parts = max(1, -(-len(data) // room))
        if not _locked(self._send, block, timeout):
            raise _stdqueue.Full
        try:
            # Without blocking, every part must fit now (holding the send
            # lock, only receivers change the count, and they free slots).
            if not block and parts > self._ch.slots - len(self._ch):
                raise _stdqueue.Full
            flags, first = _FIRST, True
            while first or len(data):
                k = min(room, len(data))
                if k == len(data):
                    flags |= _LAST
                part = _HEADER.pack(flags, len(data)) + bytes(data[:k])
                try:
                    self._ch.send(part, self._left(block, deadline) if first else None)
                except TimeoutError:
                    raise _stdqueue.Full from None
                data, flags, first = data[k:], 0, False
        finally:
            self._send.release()
        self._queued.add(1)

    def _left(self, block, deadline):
        if not block:
            return 0
        if deadline is None:
            return None
        return max(0.0, (deadline - n.lib.shmkit_now_ns()) / 1e9)

    def get_bytes(self, block=True, timeout=None):
        self._check_closed()
        deadline = _deadline(timeout)
        if not _locked(self._recv, block, timeout):
            raise _stdqueue.Empty
        try:
            assembled, total = None, 0
            while True:
                # EOFError passes through, inside a message too: its sender
                # died, or end() cut it off; nothing was damaged.
                try:
                    if assembled is None:
                        k = self._ch.recv_into(self._part, self._left(block, deadline))
                    else:
                        k = self._ch.recv_into(self._part, _ORPHAN_CHECK)
                except TimeoutError:
                    if assembled is None:
                        raise _stdqueue.Empty from None
                    if self._orphaned():
                        assembled = None  # its sender died inside it: drop it, wait for the next
                    continue
                if k < _HEADER.size:
                    raise _errors.CorruptError("queue %r: a part of %d bytes" % (self.name, k))
                flags, size = _HEADER.unpack_from(self._part)
                if flags & _FIRST:
                    if size > self.max_message:
                        raise _errors.CorruptError("queue %r: a message of %d bytes, limit %d"
                                                   % (self.name, size, self.max_message))
                    assembled, total = bytearray(), size
                elif assembled is None:
                    continue  # the rest of a message whose receiver died
                if len(assembled) + k - _HEADER.size > total:
                    raise _errors.CorruptError("queue %r: parts longer than their message of %d bytes"
                                               % (self.name, total))
                assembled += self._part[_HEADER.size:k]
                if flags & _LAST:
                    if len(assembled) != total:
                        raise _errors.CorruptError("queue %r: a message of %d bytes ended after %d"
                                                   % (self.name, total, len(assembled)))
                    self._queued.add(-1)
                    return bytes(assembled)
        finally:
            self._recv.release()

    def _orphaned(self):
        """Whether the message being assembled can never be finished: no
        sender is inside a message (the send lock is free, or its holder
        died) and no part is queued. A live sender holds the send lock from
        a message's first part to its last, and this getter the receive
        lock, so nothing can add to the message once that is seen."""
        if not _locked(self._send, False, None):
            return False
        try:
            return len(self._ch) == 0
        finally:
            self._send.release()

    # -- objects

    def put(self, obj, block=True, timeout=None):
        """Put a picklable object; queue.Full if no room came in time."""
        self.put_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), block, timeout)

    def get(self, block=True, timeout=None):
        """Get the next object; queue.Empty if none came in time, EOFError
        after end() once drained."""
        return pickle.loads(self.get_bytes(block, timeout))

    def put_nowait(self, obj):
        self.put(obj, False)

    def get_nowait(self):
        return self.get(False)

    def qsize(self):
        """How many whole messages are queued (approximate, as in multiprocessing)."""
        self._check_closed()
        return max(self._queued.value, 0)

    def empty(self):
        return self.qsize() == 0

    def full(self):
        self._check_closed()
        return len(self._ch) >= self._ch.slots

    def register(self, sender):
        """Record this process as a sender (or receiver) now; see Go's RegisterSender."""
        self._check_closed()
        self._ch.register(sender)

    def expect_sender(self, pid):
        """Name process pid as a sender before it runs (Go's ExpectSender):
        if it dies, even before it opens the queue, a get() waiting for it
        raises PeerDeadError once every recorded sender is dead."""
        self._check_closed()
        self._ch.expect_sender(pid)

    def expect_receiver(self, pid):
        """Name process pid as a receiver before it runs; a put() waiting
        for room then raises PeerDeadError once it has died."""
        self._check_closed()
        self._ch.expect_receiver(pid)

    def end(self):
        """End the queue for every process: puts fail with ChannelEndedError,
        gets return what is queued, then raise EOFError."""
        self._check_closed()
        self._ch.end()

    def close(self):
        """Let go of this handle (multiprocessing's close()); the queue goes
        on for others. Later calls on this handle raise ValueError."""
        if self._closed:
            return
        self._closed = True
        self._ch.close()
        self._queued.release()

    def __repr__(self):
        if self._closed:
            return "<shmkit.Queue %r, closed handle>" % self.name
        return "<shmkit.Queue %r %d queued>" % (self.name, self.qsize())
