"""The exceptions of shmkit, and the one place C return codes become them."""

import errno
import os

from . import _native as n


class ShmkitError(Exception):
    """Base of every error that is shmkit's own."""


class NotShmkitError(ShmkitError, ValueError):
    """The segment exists but is not a shmkit segment."""


class VersionError(ShmkitError, ValueError):
    """The segment has a layout version this package does not read."""


class CorruptError(ShmkitError, ValueError):
    """The segment contradicts itself; nothing was read from it."""


class ObjectNotFoundError(ShmkitError, KeyError):
    """No object of that name is in the segment."""


class ObjectExistsError(ShmkitError, FileExistsError):
    """An object of that name is already in the segment."""


class KindMismatchError(ShmkitError, TypeError):
    """The object is of another kind or typecode than asked for."""


class OwnerDeadError(ShmkitError, RuntimeError):
    """The mutex's holder died holding it. The caller now holds it: repair
    what it guards, call consistent(), then release()."""


class NotRecoverableError(ShmkitError, RuntimeError):
    """The mutex was released after its owner died without consistent();
    it can never be locked again."""


class ChannelEndedError(ShmkitError, BrokenPipeError):
    """Send on a channel that end() ended, or a second end()."""


# The former name, kept so that code written against it still catches the
# same exception.
ChannelClosedError = ChannelEndedError


class PeerDeadError(ShmkitError, ConnectionResetError):
    """Every process on the other side of the channel died."""


class ReadOnlyError(ShmkitError, PermissionError):
    """The segment was attached read-only and the operation would write."""


class NoSpaceError(ShmkitError, OSError):
    """/dev/shm is full (ENOSPC): a dict or list could not grow; what it
    held is intact."""


def check(rc, what):
    """Raise the exception for a C return code; 0 returns None."""
    if rc == 0:
        return
    msg = "%s: %s" % (what, n.lib.shmkit_strerror(rc).decode())
    table = {
        errno.ENOENT: None,
        n.ENOTSHMKIT: NotShmkitError,
        n.EVERSION: VersionError,
        n.ECORRUPT: CorruptError,
        n.EKIND: KindMismatchError,
        errno.EOWNERDEAD: OwnerDeadError,
        errno.ENOTRECOVERABLE: NotRecoverableError,
        n.EENDED: ChannelEndedError,
        n.EPEERDEAD: PeerDeadError,
        n.EREADONLY: ReadOnlyError,
        n.EEOF: EOFError,
        errno.ETIMEDOUT: TimeoutError,
        n.ETOOLARGE: ValueError,
        n.ESHORTBUF: ValueError,
        errno.EINVAL: ValueError,
        errno.ENOSPC: NoSpaceError,
    }
    if rc in table and table[rc] is not None:
        cls = table[rc]
        if issubclass(cls, OSError):
            raise cls(rc, msg)
        raise cls(msg)
    raise OSError(rc, "%s: %s" % (what, os.strerror(rc)))


class KeyCollisionError(ShmkitError, ValueError):
    """A shared dict holds keys that are one key in a Python dict (1, 1.0
    and True, stored apart by type and bytes): dict(d), d.copy() and
    d.keys() raise it rather than keep one of their values."""


class BusyError(ShmkitError, OSError):
    """errno EBUSY: a read-only reader of a dict or list found a slot left
    half-written by a writer that died; the next writable attach's write
    repairs it (Go: dict.ErrBusy)."""
