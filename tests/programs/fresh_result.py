"""Ground truth for the walk at a new high: one call makes the peak's block
and takes several monitor ticks (memset of 160 MB), so the walk is asked
for while it runs, and the interpreter's first chance to run it is right
after the call returns, its result still on the value stack (where no walk
can see it).  The walk must wait until it is stored: the line's bytes are a
bytes object, not native.  argv[2], if given: how many times (each a new
high, each kept)."""
import sys
import time

from truth import here, write

SIZE = 160_000_000


def spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def main(out, times):
    kept = []
    for i in range(times):
        blob = b"x".ljust(SIZE * (i + 1)); line = here()  # noqa: E702
        kept.append(blob)
        spin(0.2)
    write(out, line=line, sizes=[len(b) for b in kept])


main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1)
