"""What heapmark's pytest plugin costs a real test suite: more-itertools'
own tests (from its source distribution on PyPI, code nobody here wrote),
run plain (the plugin disabled with -p no:heapmark), with the plugin idle
(installed, nothing asked), and with --heapmark (every test's call tracked),
in alternation; medians over rounds and paired ratios against the plain run
of the same round.

    python bench/pytest_plugin.py --python build/bench-venv/bin/python [--rounds 5] [--write-docs]
"""

import argparse
import glob
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from statistics import median

from docs_section import write_section

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PACKAGE = "more-itertools==10.5.0"
CONFIGS = {
    "plain": ["-p", "no:heapmark"],
    "plugin idle": [],
    "--heapmark": ["--heapmark"],
}


def say(message):
    sys.stderr.write("bench pytest-plugin: %s\n" % message)


def fetch_suite(python, scratch):
    """more-itertools' source distribution, unpacked: its tests/ directory."""
    subprocess.run(
        [python, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:"]
        + [PACKAGE, "-d", scratch],
        check=True,
    )
    (archive,) = glob.glob(os.path.join(scratch, "more[-_]itertools-*.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(scratch)
    (source,) = [
        d for d in glob.glob(os.path.join(scratch, "more[-_]itertools-*")) if os.path.isdir(d)
    ]
    return source


def run_suite(python, source, extra):
    started = time.perf_counter()
    proc = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"] + extra,
        cwd=source,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    m = re.search(r"(\d+) passed", proc.stdout)
    if proc.returncode not in (0, 1) or not m:
        raise SystemExit("bench pytest-plugin: the suite failed:\n" + proc.stdout[-2000:])
    return elapsed, int(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()
    args.python = os.path.abspath(args.python)  # the suite runs in its own directory
    with tempfile.TemporaryDirectory(prefix="heapmark-bench-plugin-") as scratch:
        source = fetch_suite(args.python, scratch)
        times = {name: [] for name in CONFIGS}
        tests = None
        loads = []
        run_suite(args.python, source, CONFIGS["plain"])  # warm-up: bytecode, page cache
        for r in range(args.rounds):
            order = list(CONFIGS) if r % 2 == 0 else list(reversed(CONFIGS))
            for name in order:
                elapsed, tests = run_suite(args.python, source, CONFIGS[name])
                times[name].append(elapsed)
                loads.append(os.getloadavg()[0])
            say(
                "round %d: %s"
                % (r + 1, ", ".join("%s %.2f s" % (n, times[n][-1]) for n in CONFIGS))
            )
    version = subprocess.run(
        [args.python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    rows = []
    for name in CONFIGS:
        ratio = median(t / p for t, p in zip(times[name], times["plain"]))
        rows.append("| %s | %.2f | %.3f |" % (name, median(times[name]), ratio))
    text = "\n".join(
        [
            "## The pytest plugin (issue 14)",
            "",
            "Written by `make bench-pytest-plugin` (bench/pytest_plugin.py): %s's own test "
            "suite (%d tests, from its source distribution on PyPI) on CPython %s, %d rounds, "
            "configurations in alternation; medians, and paired ratios against the plain run of "
            "the same round. The machine's 1-minute load average during the runs: median %.2f "
            "(max %.2f) on its 2 cores."
            % (PACKAGE, tests, version, args.rounds, median(loads), max(loads)),
            "",
            "| configuration | wall time (s) | / plain |",
            "|---|---:|---:|",
        ]
        + rows
        + [
            "",
            "*plain* runs with the plugin disabled (`-p no:heapmark`); *plugin idle* is a plain "
            "`pytest` with heapmark installed: the plugin is loaded but no test asks for it, and "
            "the engine is not even imported; *--heapmark* tracks every test's call (sampled) "
            "and prints the highest peaks at the end.",
            "",
        ]
    )
    print(text)
    if args.write_docs:
        write_section(
            os.path.join(ROOT, "docs", "performance.md"), "## The pytest plugin (issue 14)", text
        )


if __name__ == "__main__":
    main()
