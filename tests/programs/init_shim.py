"""Ground truth for heap walks while a class's __init__ runs.

On 3.13 a specialised call of a class with a Python __init__ pushes a shim
frame under __init__'s, whose globals and builtins are left as whatever the
interpreter's data stack held there (census/roots.c, frame_is_shim).  Here
the data stack is first filled with another call's frame links and bytecode
addresses, for make() functions of 0 to 11 locals (so that the shim lands at
every offset into them), then a walk runs with __init__ on the stack:

- argv[2] == "census": heapmark.heap() inside __init__; the census must count
  every Probe made, the one being initialised too (the shim holds it);
- otherwise (under heapmark run --kinds-time 100): __init__ makes a
  bytearray 1.3 times the last one at one line and spins until a kinds walk
  has had time to run; the bytes kept at that line are bytearrays."""
import sys
import time

from truth import here, write

MAKERS = 12
KEPT = []
CENSUS = len(sys.argv) > 2 and sys.argv[2] == "census"


class Probe:
    def __init__(self, size):
        if size < 0:
            return  # warming up: the call gets specialised
        if CENSUS:
            import heapmark

            census = heapmark.heap()
            self.seen = dict((kind, count) for count, _, kind, _, _ in census.rows()).get(
                "__main__.Probe", 0
            )
            return
        self.data = bytearray(size); Probe.line = here()  # noqa: E702
        end = time.perf_counter() + 0.15
        while time.perf_counter() < end:
            pass


def inner(a, b, c, d, e, f, g, h):
    return a


def main(out):
    namespace = {"inner": inner, "Probe": Probe}
    seen = []
    size = 4 << 20
    for m in range(MAKERS):
        body = "".join("    v%d = None\n" % i for i in range(m))
        exec("def make(size):\n%s    return Probe(size)\n" % body, namespace)
        exec("def prime():\n    return inner(1, 2, 3, 4, 5, 6, 7, 8)\n", namespace)
        make, prime = namespace["make"], namespace["prime"]
        for _ in range(3):
            make(-1)
        prime()
        size = size * 13 // 10
        probe = make(size)
        if CENSUS:
            KEPT.append(probe)  # each Probe is kept: the census counts all
            seen.append(probe.seen)
        else:
            KEPT[:] = [probe]  # only the newest: each one makes a new high
    if CENSUS:
        write(out, seen=seen)
    else:
        write(out, line=Probe.line, size=size)


main(sys.argv[1])
