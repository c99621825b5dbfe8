"""Ground truth: memory that reaches glibc's allocator around the preload.

Each held block is taken by another route than a call the dynamic linker
binds to heapmark: a ctypes handle on libc (three ways of naming it), the
malloc family looked up by dlsym(RTLD_NEXT) and dlvsym, glibc's internal
__libc_malloc, and a library loaded with RTLD_DEEPBIND.  A 40 MiB block is
freed before the peak; half the held blocks are released before exit.
"""
import ctypes
import ctypes.util
import os
import sys

import hmnative
from truth import here, write

MB = 1 << 20
DL = os.path.join(os.path.dirname(hmnative.__file__), "dl")


def typed(lib, name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype, f.argtypes = restype, list(argtypes)
    return f


def allocator(lib):
    """lib's malloc family, as ctypes hands it out."""
    v, n = ctypes.c_void_p, ctypes.c_size_t
    return {
        "malloc": typed(lib, "malloc", v, n),
        "calloc": typed(lib, "calloc", v, n, n),
        "realloc": typed(lib, "realloc", v, v, n),
        "reallocarray": typed(lib, "reallocarray", v, v, n, n),
        "memalign": typed(lib, "memalign", v, n, n),
        "valloc": typed(lib, "valloc", v, n),
        "pvalloc": typed(lib, "pvalloc", v, n),
        "aligned_alloc": typed(lib, "aligned_alloc", v, n, n),
        "free": typed(lib, "free", None, v),
        "usable": typed(lib, "malloc_usable_size", n, v),
        "mmap": typed(lib, "mmap", v, v, n, *[ctypes.c_int] * 3, ctypes.c_long),
        "munmap": typed(lib, "munmap", ctypes.c_int, v, n),
    }


def main(out):
    libc = allocator(ctypes.CDLL("libc.so.6"))
    everything = allocator(ctypes.CDLL(None))
    found = allocator(ctypes.CDLL(ctypes.util.find_library("c")))
    v, n = ctypes.c_void_p, ctypes.c_size_t
    hmdl = ctypes.CDLL(os.path.join(DL, "libhmdl.so"))
    next_alloc = typed(hmdl, "next_alloc", v, n)
    next_free = typed(hmdl, "next_free", None, v)
    versioned_alloc = typed(hmdl, "versioned_alloc", v, n)
    internal_name_alloc = typed(hmdl, "internal_name_alloc", v, n)
    deep = ctypes.CDLL(os.path.join(DL, "libhmdl_deep.so"), mode=os.RTLD_DEEPBIND | os.RTLD_LOCAL)
    deep_alloc = typed(deep, "deep_alloc", v, n)
    deep_free = typed(deep, "deep_free", None, v)

    gone = libc["malloc"](40 * MB); gone_line = here()
    libc["free"](gone)

    held = {}
    held["libc_handle"] = (libc["malloc"](11 * MB), here())
    held["global_handle"] = (everything["malloc"](12 * MB), here())
    held["find_library"] = (found["malloc"](13 * MB), here())
    held["calloc"] = (libc["calloc"](1, 14 * MB), here())
    small = libc["malloc"](100)
    held["realloc"] = (libc["realloc"](small, 15 * MB), here())
    held["reallocarray"] = (libc["reallocarray"](None, 16, MB), here())
    held["memalign"] = (libc["memalign"](4096, 17 * MB), here())
    held["valloc"] = (libc["valloc"](18 * MB), here())
    held["pvalloc"] = (libc["pvalloc"](19 * MB), here())
    held["aligned_alloc"] = (libc["aligned_alloc"](4096, 20 * MB), here())
    held["rtld_next"] = (next_alloc(21 * MB), here())
    held["dlvsym"] = (versioned_alloc(22 * MB), here())
    held["libc_internal_name"] = (internal_name_alloc(23 * MB), here())
    held["deepbind"] = (deep_alloc(24 * MB), here())
    held["mmap"] = (libc["mmap"](None, 25 * MB, 3, 0x22, -1, 0), here())

    peak = {}
    for api, (p, line) in held.items():
        assert p, api
        peak[line] = 25 * MB if api == "mmap" else libc["usable"](p)

    released = {"libc_handle": libc["free"], "find_library": found["free"],
                "rtld_next": next_free, "deepbind": deep_free, "valloc": everything["free"]}
    for api, release in released.items():
        release(held[api][0])
    libc["munmap"](held["mmap"][0], 25 * MB)
    gone_apis = list(released) + ["mmap"]
    end = {line: peak[line] for api, (p, line) in held.items() if api not in gone_apis}
    write(out, peak=peak, freed_before_peak=[gone_line],
          released=[held[api][1] for api in gone_apis], end=end,
          apis={api: line for api, (p, line) in held.items()},
          next_finds_dependency=typed(hmdl, "next_finds_dependency", ctypes.c_int)(),
          opens_by_runpath=typed(hmdl, "opens_by_runpath", ctypes.c_int)())


main(sys.argv[1])
