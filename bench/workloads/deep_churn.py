"""Small-object churn at the bottom of a deep Python stack, for
bench/pyperformance.py.

The program recurses DEPTH (12) Python frames deep, then, in the innermost
frame, loops N times building a dict, a tuple and a str each iteration and
keeping every 100th iteration's three objects in a list.  Nearly every
allocation is a small object made 12 frames down: what exact mode pays most
for (one record per allocation, each with a 12-frame stack), and what the
pyperformance scripts, whose stacks are shallower, show less of.

With ``-o FILE`` the loop's own time (perf_counter around it, without
start-up and imports) is written as pyperf-shaped JSON (one benchmark, one
run, one value, loops 1), so that the driver reads it as it reads the
pyperformance scripts' results.

Usage: python deep_churn.py [-n N] [-o FILE]
"""
import argparse
import json
import time

DEPTH = 12            # Python frames on the stack in the loop: <module>, main, descend..., churn
N = 3_600_000         # iterations (about 1 s plain on the bench machine)


def churn(n):
    kept = []
    for i in range(n):
        d = {"a": i, "b": i + 1}
        t = (i, d, "x")
        s = "item-%d" % i
        if i % 100 == 0:
            kept.append((d, t, s))
    return len(kept)


def descend(level, n):
    """level: this frame's depth (<module> is 1); churn runs at DEPTH."""
    if level < DEPTH - 1:
        return descend(level + 1, n)
    return churn(n)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=N, help="iterations (default %d)" % N)
    parser.add_argument("-o", metavar="FILE", help="write the loop's time here (pyperf JSON)")
    args = parser.parse_args()
    started = time.perf_counter()
    kept = descend(3, args.n)  # <module> is frame 1, main() 2
    elapsed = time.perf_counter() - started
    assert kept == (args.n + 99) // 100
    if args.o:
        with open(args.o, "w") as f:
            json.dump({"version": "1.0",
                       "metadata": {"name": "deep_churn", "loops": 1, "unit": "second"},
                       "benchmarks": [{"runs": [{"values": [elapsed]}]}]}, f)


if __name__ == "__main__":
    main()
