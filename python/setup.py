"""Builds libshmkit (shmkit/_c/shmkit.c, the project's C library) into the
package, where shmkit/_native.py finds it. It is a plain shared library
loaded with ctypes, not a Python extension module."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("shmkit._libshmkit", sources=["shmkit/_c/shmkit.c"], libraries=["pthread"],
                             depends=["shmkit/_c/shmkit.h"])])
