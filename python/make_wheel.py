"""Build a wheel of the shmkit package with the standard library only, so
that it installs where no package index is reachable:

    python3 make_wheel.py [DIR]        # writes DIR/shmkit-VERSION-py3-none-any.whl (default: dist)
    pip install --no-index DIR/shmkit-VERSION-py3-none-any.whl

The wheel holds the Python package and the C library's source; libshmkit is
compiled with cc on first import, into the user's cache (or set
SHMKIT_LIBRARY to a built libshmkit.so)."""

import base64
import hashlib
import os
import re
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))


def version():
    with open(os.path.join(HERE, "pyproject.toml")) as f:
        return re.search(r'^version = "([^"]+)"', f.read(), re.M).group(1)


def files():
    """(path in the wheel, bytes) of the package, symlinks followed."""
    pkg = os.path.join(HERE, "shmkit")
    for root, dirs, names in os.walk(pkg):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            if name.endswith((".py", ".c", ".h")):
                path = os.path.join(root, name)
                with open(path, "rb") as f:
                    yield os.path.relpath(path, HERE), f.read()


def record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (path, digest, len(data))


def main(out):
    v = version()
    dist = "shmkit-%s.dist-info" % v
    with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    meta = {
        dist + "/METADATA": ("Metadata-Version: 2.1\nName: shmkit\nVersion: %s\n"
                             "Summary: Typed values, arrays, semaphores, robust mutexes and channels in named "
                             "POSIX shared memory, shared with Go and C by name\n"
                             "Requires-Python: >=3.8\nLicense: MIT\nProvides-Extra: numpy\n"
                             "Requires-Dist: numpy; extra == \"numpy\"\n"
                             "Description-Content-Type: text/markdown\n\n%s" % (v, readme)).encode(),
        dist + "/WHEEL": b"Wheel-Version: 1.0\nGenerator: shmkit make_wheel.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        dist + "/top_level.txt": b"shmkit\n",
    }
    os.makedirs(out, exist_ok=True)
    wheel = os.path.join(out, "shmkit-%s-py3-none-any.whl" % v)
    records = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in list(files()) + sorted(meta.items()):
            z.writestr(path, data)
            records.append(record_line(path, data))
        records.append(dist + "/RECORD,,")
        z.writestr(dist + "/RECORD", "\n".join(records) + "\n")
    print(wheel)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "dist"))
