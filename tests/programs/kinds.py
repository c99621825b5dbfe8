"""Ground truth for kinds at the peak: each line holds objects of one known
kind, kept to the end (so the walk at the end is the peak's), sized
independently of heapmark with sys.getsizeof and pymalloc's 16-byte classes.

A second run (argv[2] == "spike") holds a list of floats for a second (long
enough for a walk), frees it, and ends small: the walk kept for the peak must
be the one that saw the floats."""

import sys
import time

import hmnative

from truth import block, here, write

try:
    import numpy
except ImportError:
    numpy = None


class Slotted:
    __slots__ = ("x", "y")

    def __init__(self, i):
        self.x = i
        self.y = i


class Line:
    def __init__(self, i):
        self.n = i
        self.text = "G1"
        self.pos = (0.5, 1.5, 2.5)


N_SLOTTED = 40_000
N_FLOATS = 150_000
N_LINES = 90_000  # enough samples at 4 KiB for a count within 15%
KEPT = []


def hold_for_a_walk(seconds):
    """A Python loop: its jumps are where the interpreter runs pending calls."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        pass


def main(out, variant):
    truth = {}
    if variant == "spike":
        big = [float(i) + 0.5 for i in range(1_000_000)]; line = here()
        truth["spike"] = {"line": line, "float": [1_000_000, 1_000_000 * block(sys.getsizeof(1.5))]}
        hold_for_a_walk(1.0)
        del big
        write(out, **truth)
        return
    slotted = [Slotted(i) for i in range(N_SLOTTED)]; line = here()
    # range() makes a new int for each i beyond the small ints (-5..256).
    new_ints = N_SLOTTED - 257
    truth["slotted"] = {
        "line": line,
        "__main__.Slotted": [N_SLOTTED, N_SLOTTED * block(sys.getsizeof(slotted[0]))],
        "int": [new_ints, new_ints * block(sys.getsizeof(N_SLOTTED))],
        "list": [0, block(sys.getsizeof(slotted) - sys.getsizeof([]))],
    }
    floats = [float(i) + 0.5 for i in range(N_FLOATS)]; line = here()
    truth["floats"] = {
        "line": line,
        "float": [N_FLOATS, N_FLOATS * block(sys.getsizeof(1.5))],
        # The list's item array: its capacity, as the list grew.
        "list": [0, block(sys.getsizeof(floats) - sys.getsizeof([]))],
    }
    lines = [Line(i) for i in range(N_LINES)]; line = here()
    truth["lines"] = {"line": line, "count": N_LINES}
    handle = hmnative.alloc("malloc", 3_000_000); line = here()
    truth["native"] = {"line": line, "native": [0, hmnative.usable(handle)]}
    if numpy is not None:
        array = numpy.ones(1_000_000); line = here()
        truth["numpy"] = {"line": line, "numpy.ndarray": [1, array.nbytes]}
        KEPT.append(array)
    KEPT.extend([slotted, floats, lines, handle])
    write(out, **truth)


main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "kept")
