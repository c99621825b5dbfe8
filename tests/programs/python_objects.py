"""Ground truth: a large bytearray, 400k small tuples, 200k class instances.

Expected sizes: sys.getsizeof, rounded to pymalloc's 16-byte classes for
small objects.  Instances are also measured with tracemalloc (run with
--tracemalloc), because on 3.11+ getsizeof misses an instance's attribute
values (cpython#128762).
"""
import sys

from truth import block, here, write


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y


KEPT = []   # still allocated at exit


def main(out, use_tracemalloc):
    if use_tracemalloc:
        import tracemalloc
        tracemalloc.start(1)
    blob = bytearray(60_000_000); blob_line = here()
    tuples = [(i & 0xFF, None) for i in range(400_000)]; tuples_line = here()
    points = [Point(i & 0xFF, i & 0x7F) for i in range(200_000)]; points_line = here()

    peak = {}
    if use_tracemalloc:
        snapshot = tracemalloc.take_snapshot()
        tracemalloc.stop()
        for trace in snapshot.traces:
            frame = trace.traceback[0]
            if frame.filename == __file__:
                peak[frame.lineno] = peak.get(frame.lineno, 0) + block(trace.size)
    else:
        peak[blob_line] = sys.getsizeof(blob)
        peak[tuples_line] = sum(block(sys.getsizeof(t)) for t in tuples) + sys.getsizeof(tuples)
    del points
    KEPT.append(blob)
    write(out, peak=peak, lines={"blob": blob_line, "tuples": tuples_line,
                                 "points": points_line},
          end={blob_line: sys.getsizeof(blob)}, released=[points_line])


main(sys.argv[1], "--tracemalloc" in sys.argv)
