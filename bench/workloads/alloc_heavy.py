"""Allocation-heavy pure Python workload for bench/run.py.

Phase 1 (most of the run time): dicts, tuples, strings and lists built and
dropped in loops, and a recursion 50 frames deep that allocates at every
level.  Nothing survives a round, so this phase only churns the allocator.

Phase 2 (the peak): a few data structures of known size are built and all
kept alive together, then an 8 MiB bytes object is allocated last so that the
peak of tracked memory is clearly the moment when all of them are alive; then
everything is dropped.  Their sizes are far larger than anything phase 1 holds
at once (a few MiB), so the peak is in phase 2.

With ``--truth FILE`` the script writes the bytes each marked line (a
``# truth:NAME`` comment) holds at the peak, as JSON, with the blocks they
are made of ([size, count] pairs; the driver derives the error that sampling
alone should give from them).  Convention: objects of
512 bytes or less come from pymalloc and are counted at their 16-byte size
class (sys.getsizeof rounded up to 16); larger blocks at their requested size
(glibc rounds mmap-backed blocks up to a page, under 4 KiB per block, which is
below 0.1% of every line here).  The few objects that CPython may hand out
from a free list (the list objects themselves, 64 bytes each) are left out.

Usage: python alloc_heavy.py [--scale F] [--truth FILE]
"""
import sys

import _truth

ROUNDS = 1000         # phase 1 rounds at --scale 1 (about 2.4 s on the bench machine)
N_KNOWN = 200_000     # objects per known line in phase 2
DEPTH = 50            # recursion depth, both phases
PER_LEVEL = 4_000     # objects kept per recursion level in phase 2
BALLAST = 8 << 20     # bytes of the last allocation before the peak


# ---- phase 1: churn ----------------------------------------------------------

def build_records(n, salt):
    records = []
    for i in range(n):
        name = "user-%d-%d" % (salt, i)
        records.append({"id": i, "name": name, "score": i * 1.5 + salt,
                        "tags": [name[:6], str(i), "x"], "pos": (i, -i, salt)})
    return records


def transform(records):
    pairs = [(r["name"], r["id"], r["score"]) for r in records]
    text = ",".join(p[0] for p in pairs)
    parts = text.split(",")
    index = {p: i for i, p in enumerate(parts)}
    upper = [s.upper() + "!" for s in parts if len(s) > 3]
    grouped = {}
    for name, ident, score in pairs:
        grouped.setdefault(ident % 17, []).append((name, score))
    return len(index) + len(upper) + sum(len(v) for v in grouped.values())


def churn_deep(depth, salt):
    """Recursion DEPTH frames deep; every frame allocates and drops."""
    local = {"depth": depth, "salt": salt, "items": [(depth, k) for k in range(20)]}
    label = "frame-%d-%d" % (depth, salt) * 3
    if depth == 0:
        return len(label) + len(local["items"])
    result = churn_deep(depth - 1, salt)
    local["items"].append(label)
    return result + len(local["items"])


def churn(rounds):
    acc = 0
    for r in range(rounds):
        records = build_records(1500, r)
        acc += transform(records)
        del records
        for k in range(10):
            acc += churn_deep(DEPTH, r * 10 + k)
    return acc


# ---- phase 2: known allocations held at the peak ---------------------------

class Rec:
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a = a
        self.b = b


class Leaf:
    __slots__ = ("level", "ref")

    def __init__(self, level, ref):
        self.level = level
        self.ref = ref


def descend(depth, keep):
    """Recursion DEPTH frames deep; every frame keeps PER_LEVEL leaves."""
    if depth == 0:
        return
    keep.append([Leaf(None, None) for _ in range(PER_LEVEL)])  # truth:deep_leaves
    descend(depth - 1, keep)


def build_known():
    held = {}
    held["names"] = ["item-%08d" % k for k in range(N_KNOWN)]  # truth:strings
    # Drain the 3-tuple free list (at most 2000 entries) so that every tuple
    # on the marked line below is a fresh allocation.
    held["drain"] = [(k, k, k) for k in range(4_000)]
    held["rows"] = [(k, None, None) for k in range(N_KNOWN)]  # truth:tuples_ints
    recs = [None] * N_KNOWN  # truth:pointer_array
    for k in range(N_KNOWN):
        recs[k] = Rec(None, None)  # truth:instances
    held["recs"] = recs
    keep = []
    descend(DEPTH, keep)
    held["deep"] = keep
    held["ballast"] = bytes(BALLAST)  # truth:ballast_bytes
    return held


def truth(held):
    """Expected blocks per marked line, from sys.getsizeof: {name: [[size, count], ...]}."""
    gs = sys.getsizeof
    empty_list = gs([])
    names, rows, recs, deep = held["names"], held["rows"], held["recs"], held["deep"]
    # All names have the same length, all ints on the tuples line are >= 257
    # (smaller ones are cached) and below 2**30, so one of each stands for all.
    ints_made = sum(1 for k in range(N_KNOWN) if k > 256)
    leaves = [[_truth.pym(gs(level[0])), len(level)] for level in deep]
    leaves += [[_truth.pym(gs(level) - empty_list), 1] for level in deep]
    # the list of levels is appended to on that line too
    leaves.append([_truth.pym(gs(deep) - empty_list), 1])
    return {
        "strings": [[_truth.pym(gs(names[0])), N_KNOWN], [_truth.pym(gs(names) - empty_list), 1]],
        "tuples_ints": [[_truth.pym(gs(rows[0])), N_KNOWN], [_truth.pym(gs(rows[-1][0])), ints_made],
                        [_truth.pym(gs(rows) - empty_list), 1]],
        "pointer_array": [[_truth.pym(gs(recs) - empty_list), 1]],
        "instances": [[_truth.pym(gs(recs[0])), N_KNOWN]],
        "deep_leaves": leaves,
        "ballast_bytes": [[_truth.pym(gs(held["ballast"])), 1]],
    }


def main():
    args = _truth.arguments(__doc__)

    acc = churn(max(1, int(ROUNDS * args.scale)))
    held = build_known()
    expected = truth(held) if args.truth else None
    del held
    acc += churn(2)   # a little more churn after the peak

    if args.truth:
        _truth.write(args.truth, "alloc_heavy", __file__, expected)
    print("alloc_heavy checksum %d" % acc)


if __name__ == "__main__":
    main()
