"""The Python workers of examples/poolnumpy: started by the Go pool, they
serve np.moments, np.sort and np.which with numpy (or plain Python)."""
import math
import struct
import sys

import shmkit

try:
    import numpy
except ImportError:
    numpy = None


def moments(data):
    if numpy is not None:
        xs = numpy.frombuffer(data, dtype="<f8")  # the message's bytes, not copied
        return struct.pack("<2d", xs.mean(), xs.std())
    xs = [x for (x,) in struct.iter_unpack("<d", data)]
    mean = math.fsum(xs) / len(xs)
    return struct.pack("<2d", mean, math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / len(xs)))


def sort(data):
    if numpy is not None:
        return numpy.sort(numpy.frombuffer(data, dtype="<f8")).tobytes()
    xs = sorted(x for (x,) in struct.iter_unpack("<d", data))
    return struct.pack("<%dd" % len(xs), *xs)


def which(data):
    return ("numpy " + numpy.__version__ if numpy is not None else "plain Python").encode()


sys.exit(shmkit.serve_pool({"np.moments": moments, "np.sort": sort, "np.which": which}))
