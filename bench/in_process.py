"""In-process tracking against heapmark run, on the same workloads in the same run.

    python3 bench/in_process.py --python VENV_PYTHON [--reps 5] [--scale 0.5] [--write-docs]

Configurations, run in alternation (plain, run, in-process, after stop,
plain, ...) so that a change of machine load hits them all alike:

  plain        the workload alone;
  heapmark run ``heapmark run -q --seed 7 -o OUT workload.py`` (default sampling,
               reports written at exit);
  in-process   a runner that calls ``heapmark.track(OUT, seed=7)`` (default
               sampling, reports written at the stop), runs the workload with
               runpy, and stops;
  after stop   a runner that tracks an empty span (start, stop), then runs the
               workload: the cost that remains once tracking is switched off,
               which must be none.

Wall time is measured around the whole process, interpreter start-up
included.  Each ratio is paired: one configuration's time over the plain time
of the same round, then the median over rounds.  Instruction counts
(valgrind --tool=callgrind, of the program's thread only, which machine load
does not distort) are taken for plain, heapmark imported, heapmark run,
in-process and after stop on a small-object churn loop.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from statistics import median

from churn import CHURN, instructions
from docs_section import write_section

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKLOADS = ["alloc_heavy", "object_parsing", "numpy_pipeline", "threaded_alloc", "pyperf_suite"]
DOC = os.path.join(ROOT, "docs", "performance.md")
SECTION = "## In-process tracking (issue 11)"

RUNNER = """\
import os, runpy, sys
mode, out, script = sys.argv[1], sys.argv[2], sys.argv[3]
sys.argv = [script] + sys.argv[4:]
sys.path[0] = os.path.dirname(script)  # as `python script` has it
import heapmark
if mode == "after-stop":
    heapmark.track(out, seed=7, reports=False)._stop()
    runpy.run_path(script, run_name="__main__")
else:
    with heapmark.track(out, seed=7):
        runpy.run_path(script, run_name="__main__")
"""


CHURN_N = 100_000

CHURN_RUNNER = """\
import sys
mode, out = sys.argv[1], sys.argv[2]
code = compile(open(sys.argv[3]).read(), sys.argv[3], "exec")
if mode == "plain":
    exec(code, {"__name__": "__main__"})
else:
    import heapmark
    if mode == "imported":
        # What track() brings in (json, re, threading, ...), never started:
        # the collector has the same objects to traverse as after a stop.
        import heapmark.tracking, heapmark._heapmark, heapmark.cli.common

        exec(code, {"__name__": "__main__"})
    elif mode == "after-stop":
        heapmark.track(out, seed=7, reports=False)._stop()
        exec(code, {"__name__": "__main__"})
    else:
        with heapmark.track(out, seed=7, reports=False):
            exec(code, {"__name__": "__main__"})
"""


def say(message):
    sys.stderr.write("bench in-process: %s\n" % message)


def commands(python, heapmark, runner, script, out, scale):
    args = ["--scale", str(scale)]
    return {
        "plain": [python, script] + args,
        "heapmark run": [heapmark, "run", "-q", "--seed", "7", "-o", out + "-run", script] + args,
        "in-process": [python, runner, "track", out + "-track", script] + args,
        "after stop": [python, runner, "after-stop", out + "-after", script] + args,
    }


def timed(cmd, cwd):
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def wall_clock(args, scratch):
    runner = os.path.join(scratch, "runner.py")
    with open(runner, "w") as f:
        f.write(RUNNER)
    heapmark = os.path.join(os.path.dirname(args.python), "heapmark")
    rows = []
    for name in args.workloads:
        script = os.path.join(HERE, "workloads", name + ".py")
        times = {}
        for rep in range(args.reps):
            out = os.path.join(scratch, "%s-%d" % (name, rep))
            for config, cmd in commands(
                args.python, heapmark, runner, script, out, args.scale
            ).items():
                times.setdefault(config, []).append(timed(cmd, HERE))
            for path in os.listdir(scratch):
                if path.startswith("%s-%d" % (name, rep)):
                    shutil.rmtree(os.path.join(scratch, path), ignore_errors=True)
        plain = times["plain"]
        ratios = {
            c: median([t / p for t, p in zip(ts, plain)]) for c, ts in times.items() if c != "plain"
        }
        rows.append((name, median(plain), {c: median(ts) for c, ts in times.items()}, ratios))
        say(
            "%s: plain %.2f s; %s"
            % (name, median(plain), ", ".join("%s x%.3f" % kv for kv in ratios.items()))
        )
    return rows


def workload_counts(scratch, runner):
    """Instructions of the main thread of each process that ran the runner
    (callgrind.out.PID-01): heapmark's monitor thread ticks by the clock, and
    valgrind's slowdown, which load changes, would change its count."""
    counts = []
    for name in os.listdir(scratch):
        if name.startswith("callgrind.out.") and name.endswith("-01"):
            path = os.path.join(scratch, name)
            with open(path) as f:
                head = f.read(4096)
            if runner in head and "heapmark run" not in head:
                counts.append(instructions(path))
    if not counts:
        raise SystemExit("bench in-process: no callgrind output names %s" % runner)
    return counts


def callgrind(args, scratch):
    if not shutil.which("valgrind"):
        say("valgrind is not installed: no instruction counts")
        return None
    script = os.path.join(scratch, "churn.py")
    runner = os.path.join(scratch, "churn_runner.py")
    with open(script, "w") as f:
        f.write(CHURN)
    with open(runner, "w") as f:
        f.write(CHURN_RUNNER)
    counts = {}
    heapmark = os.path.join(os.path.dirname(args.python), "heapmark")
    for config in ("plain", "imported", "run", "track", "after-stop"):
        # Twice, with N and 2N iterations: the difference is the loop's own
        # cost, without the start-up, the import of heapmark and the writing
        # of the profile, which are the same in both.
        total = []
        for n in (CHURN_N, 2 * CHURN_N):
            results = os.path.join(scratch, "cg-%s-%d" % (config, n))
            if config == "run":  # the profiled process only, not the command line's
                command = [heapmark, "run", "-q", "--seed", "7", "-o", results, runner, "plain"]
            else:
                command = [args.python, runner, config]
            for old in os.listdir(scratch):
                if old.startswith("callgrind.out."):
                    os.remove(os.path.join(scratch, old))
            subprocess.run(
                ["valgrind", "--tool=callgrind", "--trace-children=yes", "--separate-threads=yes"]
                + ["--callgrind-out-file=" + os.path.join(scratch, "callgrind.out.%p")]
                + command
                + [results, script, str(n)],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=dict(os.environ, PYTHONHASHSEED="0"),
            )
            total.append(max(workload_counts(scratch, runner)))
        counts[config] = total[1] - total[0]
        say("callgrind %s: %d per %d iterations" % (config, counts[config], CHURN_N))
    return counts


def render(rows, counts, args):
    lines = [
        SECTION,
        "",
        "`make bench-in-process` (bench/in_process.py) runs each workload plain, under",
        "`heapmark run`, under `heapmark.track()` in the same interpreter, and after a",
        "`track()` already stopped, in alternation, %d rounds, `--scale %s`. The"
        % (args.reps, args.scale),
        "ratios are paired: each round's time over the same round's plain time, then",
        "the median. Times include interpreter start-up, and for both heapmark",
        "configurations the reports written at the end. On this shared 2-core",
        "machine one round's times move by several percent either way (ratios below",
        "1 are that noise); the instruction counts after the table are the steadier",
        "measure.",
        "",
        "| workload | plain (s) | heapmark run | in-process | after stop |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, plain, _, ratios in rows:
        lines.append(
            "| %s | %.2f | x%.3f | x%.3f | x%.3f |"
            % (name, plain, ratios["heapmark run"], ratios["in-process"], ratios["after stop"])
        )
    if counts:
        p = counts["plain"]
        lines += [
            "",
            "Instructions (callgrind) of the program's thread over %d iterations of the" % CHURN_N,
            "small-object churn loop in bench/in_process.py (heapmark's monitor thread,",
            "which ticks by the clock, is left out), as the difference between runs of 2N and N",
            "iterations, so start-up, importing heapmark and writing the profile cancel",
            "out. The \"after stop\" row tracks an empty span first, then runs the loop:",
            "it is the cost left once tracking is switched off; \"imported\" imports",
            "heapmark and what `track()` imports, and never starts it.",
            "",
            "| configuration | instructions | ratio to plain |",
            "|---|---:|---:|",
            "| plain | {:,} | 1.0000 |".format(p),
            "| heapmark imported (and what `track()` imports), never started "
            "| {:,} | {:.4f} |".format(counts["imported"], counts["imported"] / p),
            "| `heapmark run` (default sampling) | {:,} | {:.4f} |".format(
                counts["run"], counts["run"] / p
            ),
            "| in-process (`track()` around the loop) | {:,} | {:.4f} |".format(
                counts["track"], counts["track"] / p
            ),
            "| after stop (`track()` stopped, then the loop) | {:,} | {:.4f} |".format(
                counts["after-stop"], counts["after-stop"] / p
            ),
            "",
            "After the stop the loop runs {:+,} instructions ({:+.3%}) against heapmark".format(
                counts["after-stop"] - counts["imported"],
                counts["after-stop"] / counts["imported"] - 1,
            ),
            "imported and never started. No function of heapmark's runs in the loop",
            "after the stop: the monitor thread is parked, and `callgrind_annotate` of",
            "the N and 2N runs shows the same heapmark counts in both.",
        ]
    lines.append("")
    return "\n".join(lines)


def write_docs(text):
    write_section(DOC, SECTION, text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", required=True, help="python of a venv with heapmark and numpy")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument("--workloads", nargs="+", default=WORKLOADS)
    parser.add_argument("--no-callgrind", action="store_true")
    parser.add_argument(
        "--no-wall-clock",
        action="store_true",
        help="instruction counts only (not with --write-docs)",
    )
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    args.python = os.path.abspath(args.python)
    if args.no_wall_clock and args.write_docs:
        parser.error("--write-docs needs the wall-clock table: drop --no-wall-clock")
    with tempfile.TemporaryDirectory() as scratch:
        rows = [] if args.no_wall_clock else wall_clock(args, scratch)
        counts = None if args.no_callgrind else callgrind(args, scratch)
    text = render(rows, counts, args)
    print(text)
    if args.write_docs:
        write_docs(text)
        say("written to %s" % os.path.relpath(DOC, ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
