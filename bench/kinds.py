"""What kinds at the peak cost: heapmark run with and without its walks of
the heap, on the bench workloads, the bundled demo and the G-code parser of
the advice tests.

    python3 bench/kinds.py --python VENV_PYTHON [--reps 5] [--scale 0.5] [--write-docs]

Configurations, run in alternation (plain, --no-kinds, default, --kinds-time
100, plain, ...) so that a change of machine load hits them all alike:

  plain          the workload alone;
  no kinds       ``heapmark run -q --seed 7 --no-kinds``;
  kinds (10%)    ``heapmark run -q --seed 7``: the default, walks within 10%
                 of the run's time (plus 50 ms);
  kinds (100%)   ``--kinds-time 100``: a walk at every 1.25x of memory.

Each ratio is paired: one configuration's wall time over the no-kinds time
of the same round (what the walks add to heapmark), then the median over
rounds.  From each default profile: the walk kept for the peak (its time,
its length, and how much of the peak was allocated when it ran).
"""

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from statistics import median

from docs_section import write_section

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKLOADS = ["alloc_heavy", "object_parsing", "numpy_pipeline", "threaded_alloc", "pyperf_suite"]
EXTRA = {
    "demo": (os.path.join(ROOT, "examples", "demo.py"), []),
    "gcode": (os.path.join(ROOT, "tests", "programs", "gcode.py"), ["/dev/null", "plain"]),
}
DOC = os.path.join(ROOT, "docs", "performance.md")
SECTION = "## Kinds at the peak (issue 12)"
CONFIGS = {
    "plain": None,
    "no kinds": ["--no-kinds"],
    "kinds (10%)": [],
    "kinds (100%)": ["--kinds-time", "100"],
}


def say(message):
    sys.stderr.write("bench kinds: %s\n" % message)


def timed(cmd, cwd, env):
    started = time.perf_counter()
    subprocess.run(
        cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - started


def peak_walk(profile):
    """(at_s, seconds, share of the peak walked) of the walk kept for the peak."""
    db = sqlite3.connect(profile)
    try:
        walk = db.execute("select at_s, seconds, tracked_bytes from kind_walks where snapshot=1")
        walk = walk.fetchone()
        peak = db.execute("select value from meta where key='peak_bytes'").fetchone()[0]
    finally:
        db.close()
    if walk is None:
        return None
    return walk[0], walk[1], walk[2] / float(peak)


def run(args, scratch):
    heapmark = os.path.join(os.path.dirname(args.python), "heapmark")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tests", "programs"))
    programs = [
        (n, os.path.join(HERE, "workloads", n + ".py"), ["--scale", str(args.scale)])
        for n in args.workloads
    ] + [(n, path, extra) for n, (path, extra) in EXTRA.items()]
    rows = []
    for name, script, extra in programs:
        times, walks = {}, {}
        for rep in range(args.reps):
            for config, flags in CONFIGS.items():
                out = os.path.join(scratch, "%s-%d-%s" % (name, rep, config.split()[0]))
                if flags is None:
                    cmd = [args.python, script] + extra
                else:
                    cmd = [heapmark, "run", "-q", "--seed", "7", "-o", out] + flags
                    cmd += [script] + extra
                times.setdefault(config, []).append(timed(cmd, scratch, env))
                if flags is not None and config != "no kinds":
                    walk = peak_walk(os.path.join(out, "profile.db"))
                    walks.setdefault(config, []).append(walk)
                shutil.rmtree(out, ignore_errors=True)
        base = times["no kinds"]
        ratios = {
            c: median([t / b for t, b in zip(ts, base)])
            for c, ts in times.items()
            if c.startswith("kinds")
        }
        plain = median([t / p for t, p in zip(times["no kinds"], times["plain"])])
        rows.append((name, median(times["plain"]), plain, ratios, walks))
        say(
            "%s: plain %.2f s, heapmark x%.3f; kinds %s"
            % (
                name,
                median(times["plain"]),
                plain,
                ", ".join("%s x%.3f" % kv for kv in ratios.items()),
            )
        )
    return rows


def walk_cell(walks):
    got = [w for w in walks if w]
    if not got:
        return "none"
    return "%.0f%% of the peak, %.0f ms" % (
        100 * median([w[2] for w in got]),
        1000 * median([w[1] for w in got]),
    )


def render(rows, args):
    python = subprocess.run(
        [args.python, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    lines = [
        SECTION,
        "",
        "Written by `make bench-kinds` (bench/kinds.py): CPython %s, %d rounds, workloads at "
        "--scale %g, configurations in alternation. The ratios are paired wall times over "
        "heapmark run --no-kinds in the same round (what the walks add), medians over rounds; "
        "the walk columns are the walk kept for the peak in the same runs (how much of the peak "
        "was allocated when it ran, and how long it paused the program)."
        % (python, args.reps, args.scale),
        "",
        "| program | plain | heapmark --no-kinds / plain | kinds 10% / no kinds | walk kept (10%) "
        "| kinds 100% / no kinds | walk kept (100%) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, plain_s, plain_ratio, ratios, walks in rows:
        lines.append(
            "| %s | %.2f s | %.3f | %.3f | %s | %.3f | %s |"
            % (
                name,
                plain_s,
                plain_ratio,
                ratios["kinds (10%)"],
                walk_cell(walks["kinds (10%)"]),
                ratios["kinds (100%)"],
                walk_cell(walks["kinds (100%)"]),
            )
        )
    lines.append("")
    return "\n".join(lines)


def write_docs(text):
    write_section(DOC, SECTION, text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", required=True)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument("--workloads", nargs="*", default=WORKLOADS)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    args.python = os.path.abspath(args.python)  # the runs' working directory is a scratch one
    scratch = tempfile.mkdtemp(prefix="heapmark-bench-kinds-")
    try:
        rows = run(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    text = render(rows, args)
    print(text)
    if args.write_docs:
        write_docs(text)
        say("wrote %s" % DOC)


if __name__ == "__main__":
    main()
