"""Build of the C engine: one extension that is both the Python module
heapmark._heapmark and the library `heapmark run` preloads."""
import glob
import os

from setuptools import Extension, setup

VERSION = "0.1.0"
HERE = os.path.dirname(os.path.abspath(__file__))

# Extra flags (tests/run-asan builds from its own copy of the tree with them:
# setuptools would otherwise reuse objects built without them).
extra = os.environ.get("HEAPMARK_CFLAGS", "").split()
extra_link = os.environ.get("HEAPMARK_LDFLAGS", "").split()

engine = Extension(
    "heapmark._heapmark",
    sources=sorted(glob.glob(os.path.join("csrc", "*.c"))),
    depends=sorted(glob.glob(os.path.join("csrc", "*.h"))),
    include_dirs=["csrc"],
    libraries=["sqlite3", "z", "m", "dl", "pthread"],
    define_macros=[("HM_VERSION", '"%s"' % VERSION), ("_GNU_SOURCE", "1")],
    extra_compile_args=[
        "-std=gnu11",
        "-O2",
        "-fvisibility=hidden",
        "-ftls-model=initial-exec",
        "-fno-semantic-interposition",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter",
        "-Wno-missing-field-initializers",
    ]
    + extra,
    # A soname: valgrind replaces the malloc of objects without one (its
    # "somalloc" default), which would take the engine's hooks away.
    extra_link_args=["-Wl,-z,nodelete", "-Wl,-soname,libheapmark-engine.so"] + extra_link,
)


setup(ext_modules=[engine])
