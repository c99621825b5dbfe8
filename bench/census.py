"""Census benchmark (issue 6): heapmark.heap() against guppy3's hpy().heap()
on a heap of about 5 million objects, each in its own subprocess.

Standard library only.  Usage: python3 bench/census.py [--python PY]
[--objects N] [--runs K] [--write-docs]; `make bench-census` runs it with
build/bench-venv, where guppy3 is installed.  Reports medians of K runs,
the totals of both tools and the visited set's bytes per object.
Not a test: nothing here asserts on time.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.join(HERE, "..", "docs", "performance.md")
BEGIN, END = "<!-- census:begin -->", "<!-- census:end -->"

# The heap: 1/5 instances with 6 attributes, their values (floats, str),
# tuples and small lists: about N objects in all, plus the interpreter's.
WORKLOAD = r'''
import gc, json, sys, time
N = int(sys.argv[2])
class Rec:
    def __init__(self, i):
        self.a = i; self.b = float(i); self.c = "r%d" % i
        self.d = (i, i); self.e = [i]; self.f = None
recs = [Rec(i) for i in range(N // 6)]
# guppy3 reads every instance's __dict__, which on 3.11+ creates it; made
# here first, both tools measure the same heap.
for r in recs:
    r.__dict__
gc.collect()
tool = sys.argv[1]
t0 = time.perf_counter()
if tool == "heapmark":
    import heapmark
    h = heapmark.heap()
    elapsed = time.perf_counter() - t0
    stats = h.stats()
    out = {"count": h.count, "size": h.size, "seconds": elapsed,
           "set_bytes": stats["visited_set_bytes"], "visited": stats["visited"],
           "getsizeof_size": h.size - stats["beyond_getsizeof"]}
else:
    from guppy import hpy
    h = hpy().heap()
    elapsed = time.perf_counter() - t0
    out = {"count": h.count, "size": h.size, "seconds": elapsed}
print(json.dumps(out))
'''


def run(python, tool, objects):
    proc = subprocess.run(
        [python, "-c", WORKLOAD, tool, str(objects)],
        capture_output=True,
        timeout=1800,
    )
    if proc.returncode != 0:
        raise SystemExit("census bench: %s failed: %s" % (tool, proc.stderr.decode()[-2000:]))
    return json.loads(proc.stdout.decode().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--objects", type=int, default=5000000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()
    results = {"heapmark": [], "guppy3": []}
    for _ in range(args.runs):  # alternating, so drift hits both
        for tool in results:
            results[tool].append(run(args.python, tool, args.objects))
    hm, gp = results["heapmark"], results["guppy3"]
    t_hm = statistics.median(r["seconds"] for r in hm)
    t_gp = statistics.median(r["seconds"] for r in gp)
    version = (
        subprocess.run(
            [args.python, "-c", "import sys; print(sys.version.split()[0])"], stdout=subprocess.PIPE
        )
        .stdout.decode()
        .strip()
    )
    last_hm, last_gp = hm[-1], gp[-1]
    lines = [
        "Heap of %s objects (`bench/census.py`, CPython %s, medians of %d runs each, "
        "alternating):" % (format(last_hm["count"], ","), version, args.runs),
        "",
        "| | heapmark `heap()` | guppy3 `hpy().heap()` |",
        "|---|---|---|",
        "| time | %.2f s | %.2f s |" % (t_hm, t_gp),
        "| objects | %s | %s |" % (format(last_hm["count"], ","), format(last_gp["count"], ",")),
        "| total size | %s bytes | %s bytes |"
        % (format(last_hm["size"], ","), format(last_gp["size"], ",")),
        "| total of `sys.getsizeof` | %s bytes | (the same: guppy3's sizes are getsizeof's) |"
        % format(last_hm["getsizeof_size"], ","),
        "",
        "- speed: heapmark is %.1fx faster" % (t_gp / t_hm),
        "- totals: objects differ by %.2f%%; bytes by %.2f%% on the same basis "
        "(`sys.getsizeof`), by %.2f%% counting what getsizeof leaves out (the values "
        "arrays' prefixes and inline values, see docs/census.md)"
        % (
            100.0 * abs(last_hm["count"] - last_gp["count"]) / last_gp["count"],
            100.0 * abs(last_hm["getsizeof_size"] - last_gp["size"]) / last_gp["size"],
            100.0 * abs(last_hm["size"] - last_gp["size"]) / last_gp["size"],
        ),
        "- visited set: %s bytes for %s objects visited: %.1f bytes per object"
        % (
            format(last_hm["set_bytes"], ","),
            format(last_hm["visited"], ","),
            last_hm["set_bytes"] / last_hm["visited"],
        ),
    ]
    text = "\n".join(lines)
    print(text)
    if args.write_docs:
        with open(DOCS) as f:
            doc = f.read()
        block = BEGIN + "\n" + text + "\n" + END
        if BEGIN in doc:
            head, rest = doc.split(BEGIN, 1)
            doc = head + block + rest.split(END, 1)[1]
        else:
            doc = doc.rstrip("\n") + "\n\n## Heap census\n\n" + block + "\n"
        with open(DOCS, "w") as f:
            f.write(doc)


if __name__ == "__main__":
    main()
