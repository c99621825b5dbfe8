"""Ground truth: C extensions that reach glibc's allocator around the
preload: hmnative's malloc taken by dlsym(RTLD_NEXT, "malloc"), and hmchain
imported with RTLD_DEEPBIND (its malloc calls bind to glibc's first)."""
import os
import sys

import hmnative as n
from truth import here, write

MB = 1 << 20


def main(out):
    flags = sys.getdlopenflags()
    sys.setdlopenflags(flags | os.RTLD_DEEPBIND)
    import hmchain

    sys.setdlopenflags(flags)
    following = n.alloc("rtld_next", 26 * MB); next_line = here()
    deep = hmchain.allocate(27 * MB); deep_line = here()
    write(out, peak={next_line: n.usable(following), deep_line: deep},
          lines={"rtld_next": next_line, "deepbind": deep_line})


main(sys.argv[1])
