"""shmkit: typed values, arrays, semaphores, robust mutexes and channels in
named POSIX shared memory, shared with Go and C programs by name.

    import shmkit
    seg = shmkit.attach("sim")           # made by a Go, C or Python process
    a = seg.array("samples")             # a memoryview of the shared array
    with seg.mutex("lock"):
        a[0] += 1
    for msg in seg.channel("results"):   # until the channel is closed
        print(sum(msg))

This package never unlinks a segment on its own: only unlink() does.
"""

from ._errors import (BusyError, ChannelClosedError, ChannelEndedError, CorruptError, KeyCollisionError,
                      KindMismatchError, NoSpaceError,
                      NotRecoverableError,
                      NotShmkitError, ObjectExistsError, ObjectNotFoundError, OwnerDeadError,
                      PeerDeadError, ReadOnlyError, ShmkitError, VersionError)
from ._segment import (TYPECODES, Channel, ObjectInfo, RawSegment, Record, Segment, Value, attach, attach_raw, create,
                       unlink)
from ._dict import Pickled, SharedDict, SharedList
from ._pool import serve_pool
from ._pooldrive import Pool, PoolError, TaskError, TerminatedError, TooLargeError, WorkerDiedError, WorkerStartError
from ._pipe import Connection
from ._queue import Queue
from ._sync import Barrier, Condition, Event, Mutex, NamedSemaphore, Semaphore, named_semaphore, unlink_named_semaphore

__all__ = [
    "serve_pool", "Pool", "PoolError", "TaskError", "TerminatedError", "TooLargeError", "WorkerDiedError", "WorkerStartError", "attach", "attach_raw", "create", "unlink", "Segment", "RawSegment", "Value", "Record", "Channel", "Semaphore",
    "Mutex", "Connection", "Queue", "Event", "Condition", "Barrier", "NamedSemaphore", "named_semaphore", "unlink_named_semaphore", "ObjectInfo", "ReadOnlyError",
    "TYPECODES", "ShmkitError", "NotShmkitError", "VersionError", "CorruptError", "ObjectNotFoundError",
    "ObjectExistsError", "KindMismatchError", "OwnerDeadError", "NotRecoverableError",
    "ChannelEndedError", "ChannelClosedError", "PeerDeadError", "NoSpaceError", "KeyCollisionError", "BusyError", "Pickled", "SharedDict", "SharedList",
]
__version__ = "0.1.0"
