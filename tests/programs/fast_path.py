"""Ground truth for tests/test_fast_path.py: pymalloc traffic of every shape
the Python allocator hooks serve (malloc, calloc, realloc growing and
shrinking inside the pools and across the 512-byte line, frees of small and
large objects), with a known population kept to the end.

Writes JSON: the bytes the kept objects hold (sys.getsizeof rounded up to
16, pymalloc's classes; larger than 512 bytes at their size)."""

import json
import sys


def block(n):
    return (n + 15) & ~15 if n <= 512 else n


def churn(rounds):
    for i in range(rounds):
        d = {"a": i, "b": (i, i + 1)}
        s = "item-%d-%s" % (i, "x" * (i % 40))  # str building: reallocs
        grown = []
        for k in range(i % 70):  # a list's items array grows past 512 bytes
            grown.append(k)
        b = bytearray(i % 900)  # bytearray resizes: realloc within and out of the pools
        b.extend(b"y" * (i % 300))
        del d, s, grown, b


def keep(n):
    kept = [("k", i, "value-%06d" % i) for i in range(n)]
    size = block(sys.getsizeof(kept))
    for t in kept:
        size += block(sys.getsizeof(t)) + block(sys.getsizeof(t[2]))
        if t[1] > 256:  # ints up to 256 are the interpreter's own
            size += block(sys.getsizeof(t[1]))
    return kept, size


churn(60_000)
kept, kept_bytes = keep(50_000)
churn(20_000)
with open(sys.argv[1], "w") as f:
    json.dump({"kept_bytes": kept_bytes}, f)
