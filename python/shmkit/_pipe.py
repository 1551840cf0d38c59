"""Pipes: multiprocessing.Pipe's connections over a pair of shmkit
channels, the same objects as Go's channel.NewPipe and OpenPipe."""

import pickle
from multiprocessing import BufferTooShort

from . import _errors


def channel_name(name, end):
    """The channel that carries the messages to end of pipe name."""
    return "%s.%d" % (name, end)


class Connection:
    """One end (0 or 1) of a pipe, as multiprocessing.connection.Connection:
    send/recv pickled objects, send_bytes/recv_bytes/recv_bytes_into, poll
    and close. Closing an end ends the stream it sends on: the other end
    reads what was sent, then EOFError. A one-way pipe's end 0 only
    receives and its end 1 only sends (Pipe(duplex=False) gives (r, w))."""

    def __init__(self, seg, name, end):
        if end not in (0, 1):
            raise ValueError("pipe %r has ends 0 and 1, not %r" % (name, end))
        self.name = name
        self.end = end
        self._in = self._open(seg, channel_name(name, end), end == 0, sender=False)
        self._out = self._open(seg, channel_name(name, 1 - end), end == 1, sender=True)
        self._ahead = None  # a message (or EOFError) that poll() received ahead
        self.closed = False

    @staticmethod
    def _open(seg, channel, required, sender):
        try:
            ch = seg.channel(channel, "B")
        except _errors.ObjectNotFoundError:
            if required:
                raise
            return None
        ch.register(sender)
        return ch

    @property
    def readable(self):
        return self._in is not None

    @property
    def writable(self):
        return self._out is not None

    def _check(self, op, ch):
        if self.closed:
            raise OSError("pipe %r end %d is closed" % (self.name, self.end))
        if ch is None:
            raise OSError("pipe %r end %d is one-way and cannot %s" % (self.name, self.end, op))
        return ch

    def send_bytes(self, buf, offset=0, size=None):
        """Send buf[offset:offset+size] as one message (at most the pipe's
        maxlen bytes; ValueError otherwise)."""
        ch = self._check("send", self._out)
        mv = memoryview(buf).cast("B")
        if offset < 0 or offset > len(mv):
            raise ValueError("offset %d out of range" % offset)
        if size is None:
            size = len(mv) - offset
        if size < 0 or offset + size > len(mv):
            raise ValueError("size %d out of range" % size)
        ch.send(mv[offset:offset + size])

    def send(self, obj):
        """Send a picklable object."""
        self.send_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))

    def _next(self, timeout=None):
        if self._ahead is not None:
            msg, self._ahead = self._ahead, None
        else:
            ch = self._check("receive", self._in)
            try:
                msg = bytes(ch.recv_array(timeout))
            except EOFError as e:
                msg = e
        if isinstance(msg, EOFError):
            raise EOFError("pipe %r: the other end closed" % self.name)
        return msg

    def recv_bytes(self, maxlength=None):
        """The next message as bytes; EOFError once the other end closed
        and everything it sent was read."""
        self._check("receive", self._in)
        if maxlength is not None and maxlength < 0:
            raise ValueError("negative maxlength")  # before taking anything, as multiprocessing
        msg = self._next()
        if maxlength is not None and len(msg) > maxlength:
            self._ahead = msg  # refused, not lost: the next receive gets it
            raise OSError("pipe %r: message of %d bytes, more than maxlength %d" % (self.name, len(msg), maxlength))
        return msg

    def recv_bytes_into(self, buf, offset=0):
        """Receive the next message into buf at offset; return its length.
        BufferTooShort (holding the message) if it does not fit."""
        mv = memoryview(buf).cast("B")
        if mv.readonly:  # before taking the message, as a bad offset: it would be lost
            raise TypeError("recv_bytes_into: the buffer is read-only")
        if offset < 0 or offset > len(mv):  # before taking the message: a bad offset loses nothing
            raise ValueError("offset %d out of range" % offset)
        msg = self._next()
        if len(msg) > len(mv) - offset:
            raise BufferTooShort(msg)
        mv[offset:offset + len(msg)] = msg
        return len(msg)

    def recv(self):
        """The next object sent with send()."""
        return pickle.loads(self.recv_bytes())

    def poll(self, timeout=0.0):
        """Whether a message, or the end of the stream, is ready to read,
        waiting up to timeout seconds (None: as long as it takes)."""
        ch = self._check("receive", self._in)
        if self._ahead is not None:
            return True
        try:
            self._ahead = bytes(ch.recv_array(timeout))
        except EOFError as e:
            self._ahead = e
        except TimeoutError:
            return False
        return True

    def expect_peer(self, pid):
        """Name the process that will open the other end, before it runs
        (Go's Conn.ExpectPeer): if it dies, even before it opens its end, a
        recv() or send() waiting for it raises PeerDeadError."""
        if self._in is not None:
            self._check("expect", self._in).expect_sender(pid)
        if self._out is not None:
            self._check("expect", self._out).expect_receiver(pid)

    def fileno(self):
        raise OSError("a shmkit pipe has no file descriptor")

    def close(self):
        """End the stream this end sends on, and let go of its channels."""
        if self.closed:
            return
        self.closed = True
        if self._out is not None:
            try:
                self._out.end()
            except _errors.ChannelEndedError:
                pass
            self._out.close()
        if self._in is not None:
            self._in.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<shmkit.Connection %r end %d%s>" % (self.name, self.end, " closed" if self.closed else "")
