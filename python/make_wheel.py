"""The package's build backend (PEP 517, named in pyproject.toml), written
with the standard library only, so that

    pip install --no-index ./python

works where no package index is reachable: pip needs nothing to build it.
The wheel holds the Python package, the C library's source, and
libshmkit.so compiled with cc when there is one (else it is compiled on
first import, into the user's cache). Run as a script it writes the wheel:

    python3 make_wheel.py [DIR]        # default DIR: dist
"""

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
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


def library():
    """libshmkit.so compiled from the package's C source, or None without a
    C compiler."""
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        return None
    tmp = tempfile.mkdtemp()
    try:
        out = os.path.join(tmp, "libshmkit.so")
        src = os.path.join(HERE, "shmkit", "_c", "shmkit.c")
        subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", out, src, "-lpthread"], check=True)
        with open(out, "rb") as f:
            return f.read()
    finally:
        shutil.rmtree(tmp)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    v = version()
    dist = "shmkit-%s.dist-info" % v
    lib = library()
    tag = "py3-none-" + sysconfig.get_platform().replace("-", "_").replace(".", "_") if lib else "py3-none-any"
    with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    meta = {
        dist + "/METADATA": ("Metadata-Version: 2.1\nName: shmkit\nVersion: %s\n"
                             "Summary: Typed values, arrays, semaphores, robust mutexes and channels in named "
                             "POSIX shared memory, shared with Go and C by name\n"
                             "Requires-Python: >=3.8\nLicense: MIT\nProvides-Extra: numpy\n"
                             "Requires-Dist: numpy; extra == \"numpy\"\n"
                             "Description-Content-Type: text/markdown\n\n%s" % (v, readme)).encode(),
        dist + "/WHEEL": ("Wheel-Version: 1.0\nGenerator: shmkit make_wheel.py\nRoot-Is-Purelib: %s\nTag: %s\n"
                          % ("false" if lib else "true", tag)).encode(),
        dist + "/top_level.txt": b"shmkit\n",
    }
    content = list(files())
    if lib:
        content.append(("shmkit/_libshmkit.so", lib))
    os.makedirs(wheel_directory, exist_ok=True)
    name = "shmkit-%s-%s.whl" % (v, tag)
    records = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in content + sorted(meta.items()):
            z.writestr(path, data)
            records.append(record_line(path, data))
        records.append(dist + "/RECORD,,")
        z.writestr(dist + "/RECORD", "\n".join(records) + "\n")
    return name


def build_sdist(sdist_directory, config_settings=None):
    base = "shmkit-%s" % version()
    name = base + ".tar.gz"
    os.makedirs(sdist_directory, exist_ok=True)
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz", dereference=True) as t:
        for f in ("pyproject.toml", "make_wheel.py", "README.md"):
            t.add(os.path.join(HERE, f), arcname=base + "/" + f)
        for path, _ in files():
            t.add(os.path.join(HERE, path), arcname=base + "/" + path)
    return name


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


if __name__ == "__main__":
    print(os.path.join(sys.argv[1] if len(sys.argv) > 1 else "dist",
                       build_wheel(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "dist"))))
