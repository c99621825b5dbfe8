"""Ground truth: one allocation per native API, each at its own line.

A 40 MiB block is freed before the peak; at the peak every held block is
alive; before exit half of them are released (end.folded must not show them).
"""
import sys

import hmnative as n
from truth import here, write

MB = 1 << 20


def main(out):
    gone = n.alloc("malloc", 40 * MB); gone_line = here()
    n.release(gone)

    held = {}
    held["malloc"] = (n.alloc("malloc", 11 * MB), here())
    held["calloc"] = (n.alloc("calloc", 12 * MB), here())
    held["realloc"] = (n.alloc("realloc", 13 * MB), here())
    held["reallocarray"] = (n.alloc("reallocarray", 14 * MB), here())
    held["posix_memalign"] = (n.alloc("posix_memalign", 15 * MB), here())
    held["aligned_alloc"] = (n.alloc("aligned_alloc", 16 * MB), here())
    held["memalign"] = (n.alloc("memalign", 17 * MB), here())
    held["valloc"] = (n.alloc("valloc", 18 * MB), here())
    held["pvalloc"] = (n.alloc("pvalloc", 19 * MB), here())
    held["mmap"] = (n.alloc("mmap", 20 * MB), here())
    held["cxx_new"] = (n.alloc("cxx_new", 21 * MB), here())

    peak = {line: n.usable(h) for h, line in held.values()}
    released = ["malloc", "realloc", "posix_memalign", "memalign", "pvalloc", "cxx_new"]
    for api in released:
        n.release(held[api][0])
    end = {line: peak[line] for api, (h, line) in held.items() if api not in released}
    write(out, peak=peak, freed_before_peak=[gone_line],
          released=[held[api][1] for api in released], end=end,
          apis={api: line for api, (h, line) in held.items()})


main(sys.argv[1])
