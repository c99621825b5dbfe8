"""heapmark's overhead on pyperformance's benchmark scripts, paired with plain runs.

Code nobody here wrote: the pyperformance suite's own scripts, each run
plain and under each tool, in alternation.

    python3 bench/pyperformance.py --python VENV_PYTHON [--rounds 3]
        [--benchmarks richards,go,...] [--tools heapmark,memray,...]
        [--instructions richards,float,...] [--write-docs]
    python3 bench/pyperformance.py --python VENV_PYTHON --calibrate
    python3 bench/pyperformance.py --from-json build/bench-pyperformance.json [--write-docs]

The scripts are pyperformance's (``pyperformance/data-files/benchmarks/
bm_NAME/run_benchmark.py`` in the bench venv, found by importing
pyperformance there), run as pyperf's worker runs them, one process and no
workers of its own::

    python run_benchmark.py --worker -l LOOPS -n 3 -w 1 -o RESULT.json [ARGS]

with LOOPS fixed per benchmark (BENCHMARKS below, filled from
``--calibrate``: one value takes 0.15-0.3 s, a plain process about 1 s) and
the arguments pyperformance's manifest gives (pickle_pure_python is bm_pickle
with ``--pure-python pickle``).  A script with several sub-benchmarks
(logging, xml_etree) runs them all.  Under a tool, the same command follows
the tool's template from bench/tools.py (TOOLS: heapmark, heapmark --exact,
memray, memray --trace-python-allocators and fil by default; ``--tools``
chooses, scalene and tracemalloc among them).  A peer that is not installed
(its "check" fails) is skipped with a note; a run that fails shows as failed,
with its stderr (memray cannot run pickle_pure_python and
unpickle_pure_python: see KNOWN_FAILURES).

**Time.** For each round (``--rounds``, 3) and each benchmark, plain and every
tool run in a shuffled order (random.Random(--seed)), each a fresh
subprocess, and from each run two times:

  wall          the whole process, perf_counter around it: start-up, the
                benchmark, and for a tool its own start-up and exit work
                (heapmark writes its profile and reports then);
  benchmarked   the sum of the values pyperf wrote (times loops and inner
                loops: seconds in the timed loops, warm-ups excluded): the
                code under test in its steady state, without start-up or the
                tool's exit work.

Each ratio is paired: a tool's time over the plain run of the same benchmark
in the same round, then the median over rounds; over the benchmarks, the
geometric mean and the worst.  The machine is shared (2 cores): before each
run the 1-minute load average, and during it the CPU time the rest of the
machine used (busy jiffies of /proc/stat minus the run's own rusage), both
reported as median and range.

**Instructions** (``--instructions``, a subset): valgrind --tool=callgrind
--separate-threads=yes --trace-children=yes of ``-l L -n 1 -w 0`` (L so that
a plain run is about 0.3 s), plain, heapmark and heapmark --exact, the last
two with ``--checkpoint 0 --seed 7``: checkpoints are time-driven, and under
callgrind, about 60x slower, a run would write 60x as many.  Only the
process that ran the script counts (heapmark's CLI, which starts it, does
not); of its threads, the one running ``monitor_main`` is heapmark's own
monitor (timeline samples: time-driven too, so inflated under callgrind),
counted apart; the program's other threads give the ratio.  At most
``--jobs`` (2) callgrind runs at a time; PYTHONHASHSEED=0.

bench/workloads/deep_churn.py (small objects made 12 Python frames deep:
exact mode's worst case) runs in both, with plain, heapmark, heapmark
--exact and memray --trace-python-allocators; it is not in the summaries.

Raw runs go to ``--json`` (build/bench-pyperformance.json); ``--from-json``
renders the tables again from such a file without running anything;
``--write-docs`` writes them to docs/performance.md, section
"## pyperformance (issue 15)".  Standard library only.
"""

import argparse
import json
import math
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from churn import instructions
from docs_section import print_and_write
from run import available, cpu_jiffies, expand, git_commit
from tools import TOOLS

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DOC = os.path.join(ROOT, "docs", "performance.md")
SECTION = "## pyperformance (issue 15)"
JSON_DEFAULT = os.path.join(ROOT, "build", "bench-pyperformance.json")
TIMEOUT = 900  # s: a run that takes longer is a hang, reported as such

# name: (directory under data-files/benchmarks, extra arguments, loops for the
# timed runs, loops for the callgrind runs).  Loops from --calibrate
# (pyperformance 1.14.0, CPython 3.11, this machine): a value takes 0.15-0.3 s
# in the timed runs (-n 3 -w 1: 4 values), a callgrind run's loops about 0.3 s.
BENCHMARKS = {
    "richards": ("bm_richards", [], 5, 7),
    "raytrace": ("bm_raytrace", [], 1, 1),
    "deltablue": ("bm_deltablue", [], 63, 85),
    "chaos": ("bm_chaos", [], 3, 4),
    "go": ("bm_go", [], 2, 2),
    "nbody": ("bm_nbody", [], 3, 4),
    "float": ("bm_float", [], 3, 4),
    "json_dumps": ("bm_json_dumps", [], 18, 25),
    "json_loads": ("bm_json_loads", [], 550, 760),
    "pickle_pure_python": ("bm_pickle", ["--pure-python", "pickle"], 40, 55),
    "unpickle_pure_python": ("bm_pickle", ["--pure-python", "unpickle"], 50, 68),
    "regex_compile": ("bm_regex_compile", [], 2, 3),
    "hexiom": ("bm_hexiom", [], 37, 50),
    "nqueens": ("bm_nqueens", [], 3, 3),
    "spectral_norm": ("bm_spectral_norm", [], 2, 3),
    "logging": ("bm_logging", [], 1700, 2300),
    "xml_etree": ("bm_xml_etree", [], 1, 1),
    "sqlite_synth": ("bm_sqlite_synth", [], 100000, 140000),
    "deepcopy": ("bm_deepcopy", [], 580, 780),
    "fannkuch": ("bm_fannkuch", [], 1, 1),
    "generators": ("bm_generators", [], 5, 6),
    "coroutines": ("bm_coroutines", [], 9, 12),
    "unpack_sequence": ("bm_unpack_sequence", [], 16000, 21000),
    "pyflate": ("bm_pyflate", [], 1, 1),
}
VALUES, WARMUPS = 3, 1  # pyperf's -n and -w in the timed runs

# Not a pyperformance script: bench/workloads/deep_churn.py, with its
# iterations for the timed runs (about 1 s plain) and for callgrind.
DEEP = "deep_churn"
DEEP_SCRIPT = os.path.join(HERE, "workloads", "deep_churn.py")
DEEP_N, DEEP_N_CALLGRIND = 3_600_000, 1_000_000
DEEP_TOOLS = ["heapmark", "heapmark --exact", "memray --trace-python-allocators"]

DEFAULT_TOOLS = [
    "heapmark",
    "heapmark --exact",
    "memray",
    "memray --trace-python-allocators",
    "fil",
]
DEFAULT_INSTRUCTIONS = [
    "richards",
    "raytrace",
    "float",
    "nbody",
    "go",
    "deltablue",
    "json_dumps",
    "pickle_pure_python",
    "regex_compile",
    "hexiom",
]
CALLGRIND_CONFIGS = ["plain", "heapmark", "heapmark --exact"]
CALLGRIND_HEAPMARK = ["--checkpoint", "0", "--seed", "7"]
MONITOR = "monitor_main"  # heapmark's own thread (csrc/run/monitor.c)

# Targets (docs/performance.md): checked against the numbers, never assumed.
TARGET_DEFAULT_GEOMEAN, TARGET_DEFAULT_WORST = 1.05, 1.15
TARGET_EXACT_GEOMEAN, TARGET_DEEP_EXACT = 2.0, 3.0

CALIBRATE_VALUE_S, CALIBRATE_CALLGRIND_S = 0.22, 0.3

# Failures understood, by a piece of their last line of stderr: said in the
# section next to the error.
KNOWN_FAILURES = {
    "Unexpected C accelerators for pickle": "`memray run` and `fil-profile run` run the "
    "script with runpy in their own process, which has imported pickle, with its C "
    "accelerator, by then; bm_pickle's `--pure-python` blocks `_pickle` only before the "
    "first import, and refuses to run on the accelerated module. heapmark starts the "
    "script in a fresh interpreter",
}

PROBE = r"""
import json, os, sys
import pyperformance, pyperf
from importlib import metadata
def version(dist):
    try:
        return metadata.version(dist)
    except Exception:
        return None
print(json.dumps({
    "benchmarks_dir": os.path.join(os.path.dirname(pyperformance.__file__),
                                   "data-files", "benchmarks"),
    "python": sys.version.split()[0],
    "pyperformance": pyperformance.__version__,
    "pyperf": pyperf.__version__,
    "heapmark": version("heapmark"),
    "memray": version("memray"),
    "fil": version("filprofiler"),
    "scalene": version("scalene"),
}))
"""


def say(message):
    sys.stderr.write("bench pyperformance: %s\n" % message)
    sys.stderr.flush()


def median(values):
    return statistics.median(values) if values else None


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def probe(python):
    """Where the scripts are, and the versions of what runs them."""
    done = subprocess.run(
        [python, "-c", PROBE],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),  # not bench/, where this file would be `pyperformance`
    )
    if done.returncode != 0:
        raise SystemExit(
            "bench pyperformance: pyperformance is not installed for %s "
            "(pip install pyperformance pyperf): %s" % (python, done.stderr.strip()[-500:])
        )
    return json.loads(done.stdout)


# ---- the commands ---------------------------------------------------------------


def script_of(info, name):
    if name == DEEP:
        return DEEP_SCRIPT
    return os.path.join(info["benchmarks_dir"], BENCHMARKS[name][0], "run_benchmark.py")


def program_args(name, result, loops=None, values=VALUES, warmups=WARMUPS):
    """The script's own arguments (after the script in every template)."""
    if name == DEEP:
        n = DEEP_N if loops is None else loops
        return ["-n", str(n), "-o", result]
    _, extra, timed_loops, _ = BENCHMARKS[name]
    return [
        "--worker",
        "-l",
        str(timed_loops if loops is None else loops),
        "-n",
        str(values),
        "-w",
        str(warmups),
        "-o",
        result,
    ] + extra


def add_baseline(bindir):
    """Tools for the heapmark of another venv (its own Python runs the script:
    the same CPython build, other site-packages); their names."""
    names = []
    for name, flags in (("heapmark (before)", []), ("heapmark --exact (before)", ["--exact"])):
        run = [os.path.join(bindir, "heapmark"), "run", "-q", "-o", "{out}"] + flags + ["{script}"]
        TOOLS[name] = {"run": run, "adapter": "heapmark", "check": [run[0], "--help"]}
        DEEP_TOOLS.append(name)
        names.append(name)
    return names


def with_flags(template, flags):
    """A tool's template with flags of its own just before the script."""
    i = template.index("{script}")
    return template[:i] + flags + template[i:]


def command(args, tool, script, out, arguments, flags=()):
    template = TOOLS[tool]["run"]
    if flags:
        template = with_flags(template, list(flags))
    return (
        expand(template, python=args.python, bindir=args.bindir, out=out, script=script) + arguments
    )


def read_result(path):
    """Seconds in pyperf's timed loops: every value of every run of every
    (sub-)benchmark, times its loops and inner loops; and the values' count."""
    with open(path) as f:
        data = json.load(f)
    common = data.get("metadata", {})
    total, count = 0.0, 0
    for bench in data["benchmarks"]:
        bench_meta = dict(common, **bench.get("metadata", {}))
        for run in bench["runs"]:
            meta = dict(bench_meta, **run.get("metadata", {}))
            scale = meta.get("loops", 1) * meta.get("inner_loops", 1)
            for value in run.get("values", []):
                total += value * scale
                count += 1
    return total, count


# ---- timed runs -----------------------------------------------------------------


def timed_run(args, info, name, tool, scratch, rnd):
    """One run of benchmark name, plain or under tool: a record."""
    out = os.path.join(scratch, "%s-%d-%s" % (name, rnd, tool.replace(" ", "_")))
    os.makedirs(out)
    result = os.path.join(out, "pyperf-result.json")
    cmd = command(args, tool, script_of(info, name), out, program_args(name, result))
    record = {"benchmark": name, "tool": tool, "round": rnd, "load": os.getloadavg()[0]}
    own0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0, steal0 = cpu_jiffies()
    started = time.perf_counter()
    try:
        done = subprocess.run(cmd, cwd=out, capture_output=True, text=True, timeout=TIMEOUT)
        rc, stderr = done.returncode, done.stderr
    except subprocess.TimeoutExpired as exc:
        tail = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr
        rc, stderr = "timeout", "no end after %d s\n%s" % (TIMEOUT, tail or "")
    wall = time.perf_counter() - started
    busy1, steal1 = cpu_jiffies()
    own1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (own1.ru_utime + own1.ru_stime) - (own0.ru_utime + own0.ru_stime)
    record["wall"] = wall
    record["cpu"] = own
    record["others_cores"] = max(0.0, (busy1 - busy0 - own + steal1 - steal0) / wall)
    if rc == 0:
        try:
            record["benchmarked"], record["values"] = read_result(result)
        except (OSError, ValueError, KeyError) as exc:
            rc, stderr = "no result", "%s: %s\n%s" % (type(exc).__name__, exc, stderr)
    if rc != 0:
        record["error"] = "exit status %s: %s" % (rc, stderr.strip()[-3000:])
        say("  %s under %s: FAILED (%s)\n%s" % (name, tool, rc, stderr.strip()[-1500:]))
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
    return record


def timed(args, info, tools, scratch):
    rng = random.Random(args.seed)
    records = []
    names = args.benchmarks + ([DEEP] if args.deep else [])
    for rnd in range(args.rounds):
        for name in names:
            configs = ["plain"] + [t for t in tools if name != DEEP or t in DEEP_TOOLS]
            rng.shuffle(configs)
            line = []
            for tool in configs:
                rec = timed_run(args, info, name, tool, scratch, rnd)
                records.append(rec)
                line.append(
                    "%s %s" % (tool, "failed" if "error" in rec else "%.2f s" % rec["wall"])
                )
            say("round %d/%d %s: %s" % (rnd + 1, args.rounds, name, ", ".join(line)))
    return records


# ---- instruction counts ---------------------------------------------------------


def callgrind_run(args, info, name, config, scratch):
    """Instructions of the process that ran the script: its program threads
    and heapmark's monitor thread, apart."""
    work = os.path.join(scratch, "cg-%s-%s" % (name, config.replace(" ", "_")))
    os.makedirs(work)
    out = os.path.join(work, "out")
    os.makedirs(out)
    script = script_of(info, name)
    loops = DEEP_N_CALLGRIND if name == DEEP else BENCHMARKS[name][3]
    arguments = program_args(name, os.path.join(work, "result.json"), loops, values=1, warmups=0)
    flags = CALLGRIND_HEAPMARK if config != "plain" else ()
    cmd = [
        "valgrind",
        "--tool=callgrind",
        "--separate-threads=yes",
        "--trace-children=yes",
        "--callgrind-out-file=" + os.path.join(work, "callgrind.out.%p"),
    ] + command(args, config, script, out, arguments, flags)
    record = {"benchmark": name, "config": config, "loops": loops}
    started = time.perf_counter()
    try:
        done = subprocess.run(
            cmd,
            cwd=work,
            capture_output=True,
            text=True,
            timeout=6 * TIMEOUT,
            env=dict(os.environ, PYTHONHASHSEED="0"),
        )
    except subprocess.TimeoutExpired:
        record["error"] = "no end after %d s" % (6 * TIMEOUT)
        return record
    record["seconds"] = time.perf_counter() - started
    if done.returncode != 0:
        record["error"] = "exit status %d: %s" % (done.returncode, done.stderr.strip()[-3000:])
        return record
    # callgrind.out.PID-TID, one a thread (and an empty callgrind.out.PID):
    # grouped by process.
    processes = {}
    for f in os.listdir(work):
        pid, _, tid = f[len("callgrind.out.") :].partition("-")
        if f.startswith("callgrind.out.") and tid:
            processes.setdefault(pid, []).append(os.path.join(work, f))
    found = []
    for files in processes.values():
        with open(sorted(files)[0], errors="replace") as f:
            head = f.read(4096)
        cmd_line = next((l for l in head.splitlines() if l.startswith("cmd:")), "")
        if script not in cmd_line or "heapmark run" in cmd_line or "heapmark/cli" in cmd_line:
            continue
        program, monitor = 0, 0
        for path in files:
            with open(path, errors="replace") as f:
                is_monitor = MONITOR in f.read()
            if is_monitor:
                monitor += instructions(path)
            else:
                program += instructions(path)
        found.append((program, monitor, len(files)))
    if not found:
        record["error"] = "no callgrind output of a process whose command names %s" % script
        return record
    # One process runs the script; should a helper name it too, the largest is it.
    program, monitor, threads = max(found)
    record.update(program=program, monitor=monitor, threads=threads, processes=len(found))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return record


def counted(args, info, scratch):
    if not shutil.which("valgrind"):
        say("valgrind is not installed: no instruction counts")
        return []
    names = args.instructions + ([DEEP] if args.deep else [])
    jobs = [(name, config) for name in names for config in CALLGRIND_CONFIGS]
    records = []

    def one(job):
        rec = callgrind_run(args, info, job[0], job[1], scratch)
        if "error" in rec:
            say("  callgrind %s %s: FAILED: %s" % (job[0], job[1], rec["error"][-1500:]))
        else:
            say(
                "callgrind %s %s: {:,} instructions (heapmark's thread {:,}), %.0f s".format(
                    rec["program"], rec["monitor"]
                )
                % (job[0], job[1], rec["seconds"])
            )
        return rec

    with ThreadPoolExecutor(max_workers=max(1, min(2, args.jobs))) as pool:
        records = list(pool.map(one, jobs))
    return records


# ---- calibration ----------------------------------------------------------------


def calibrate(args, info, scratch):
    """Seconds per loop of each benchmark (all its sub-benchmarks), plain, and
    the loops that give a value of CALIBRATE_VALUE_S and a callgrind run of
    CALIBRATE_CALLGRIND_S."""
    print("| benchmark | s per loop | loops (timed) | loops (callgrind) |")
    print("|---|---:|---:|---:|")
    table = {}
    for name in args.benchmarks:
        loops = 1
        while True:
            result = os.path.join(scratch, "calibrate-%s-%d.json" % (name, loops))
            cmd = [args.python, script_of(info, name)] + program_args(
                name, result, loops, values=3, warmups=1
            )
            done = subprocess.run(cmd, cwd=scratch, capture_output=True, text=True)
            if done.returncode != 0:
                say("%s: FAILED: %s" % (name, done.stderr.strip()[-1500:]))
                break
            total, count = read_result(result)
            per_loop = total / count / loops * _subs(result)
            if per_loop * loops >= 0.05:
                break
            loops = max(loops * 2, math.ceil(0.1 / max(per_loop, 1e-9)))
        if done.returncode != 0:
            continue
        timed_loops = two_digits(CALIBRATE_VALUE_S / per_loop)
        cg_loops = two_digits(CALIBRATE_CALLGRIND_S / per_loop)
        table[name] = (timed_loops, cg_loops)
        print("| %s | %.6f | %d | %d |" % (name, per_loop, timed_loops, cg_loops))
        sys.stdout.flush()
    print("\nBENCHMARKS = {")
    for name, (timed_loops, cg_loops) in table.items():
        directory, extra, _, _ = BENCHMARKS[name]
        print(
            '    "%s": ("%s", %s, %d, %d),'
            % (name, directory, json.dumps(extra), timed_loops, cg_loops)
        )
    print("}")


def two_digits(loops):
    """loops rounded to two significant digits, at least 1."""
    if loops < 1:
        return 1
    step = 10 ** max(0, int(math.floor(math.log10(loops))) - 1)
    return max(1, int(round(loops / step)) * step)


def _subs(result):
    """How many sub-benchmarks a pyperf result holds."""
    with open(result) as f:
        return len(json.load(f)["benchmarks"])


# ---- summaries and tables -------------------------------------------------------


def paired(records, key):
    """{benchmark: {tool: median over rounds of tool / plain}}, and
    {benchmark: median plain} for key ("wall" or "benchmarked")."""
    plain = {
        (r["benchmark"], r["round"]): r[key]
        for r in records
        if r["tool"] == "plain" and "error" not in r
    }
    ratios, failed = {}, {}
    for r in records:
        if r["tool"] == "plain":
            continue
        cell = ratios.setdefault(r["benchmark"], {}).setdefault(r["tool"], [])
        if "error" in r:
            failed.setdefault(r["benchmark"], {}).setdefault(r["tool"], 0)
            failed[r["benchmark"]][r["tool"]] += 1
        elif (r["benchmark"], r["round"]) in plain:
            cell.append(r[key] / plain[(r["benchmark"], r["round"])])
    medians = {b: {t: median(v) for t, v in by.items() if v} for b, by in ratios.items()}
    plains = {}
    for (b, _), v in plain.items():
        plains.setdefault(b, []).append(v)
    return medians, {b: median(v) for b, v in plains.items()}, failed


def summary(medians, tool, names):
    """(geomean, (worst ratio, its benchmark), benchmarks counted) of tool."""
    vals = [(medians[b][tool], b) for b in names if tool in medians.get(b, {})]
    if not vals:
        return None, None, 0
    return geomean([v for v, _ in vals]), max(vals), len(vals)


def x(v):
    return "%.3fx" % v if v is not None else "-"


def time_table(records, key, tools, names, unit_note):
    medians, plains, failed = paired(records, key)
    lines = [
        "| benchmark | plain (%s) | %s |" % (unit_note, " | ".join(label(t) for t in tools)),
        "|---|---:|" + "---:|" * len(tools),
    ]
    rows = [b for b in names if b in plains or b in medians]
    deep_line = None
    for b in rows:
        cells = []
        for t in tools:
            v = medians.get(b, {}).get(t)
            f = failed.get(b, {}).get(t)
            if v is None:
                cells.append("failed" if f else "-")
            else:
                cells.append(x(v) + (" (%d failed)" % f if f else ""))
        plain = "%.2f s" % plains[b] if b in plains else "failed"
        line = "| %s | %s | %s |" % (row_name(b), plain, " | ".join(cells))
        if b == DEEP:
            deep_line = line
        else:
            lines.append(line)
    pyperf_rows = [b for b in rows if b != DEEP]
    geo, worst = [], []
    for t in tools:
        g, w, n = summary(medians, t, pyperf_rows)
        more = "" if n == len(pyperf_rows) else " (%d of %d)" % (n, len(pyperf_rows))
        geo.append(x(g) + more)
        worst.append("%s %s" % (x(w[0]), w[1]) if w else "-")
    lines.append("| **geometric mean** | | %s |" % " | ".join(geo))
    lines.append("| **worst** | | %s |" % " | ".join(worst))
    if deep_line:
        lines.append(deep_line)
    return lines, medians


def label(tool):
    return "`%s`" % tool


def row_name(name):
    return "%s (not in the summaries)" % name if name == DEEP else name


def instruction_rows(cg):
    """{benchmark: {config: record}} of the successful callgrind runs."""
    by = {}
    for r in cg:
        if "error" not in r:
            by.setdefault(r["benchmark"], {})[r["config"]] = r
    return by


def instruction_table(cg, names):
    by = instruction_rows(cg)
    lines = [
        "| benchmark | loops | plain instructions | heapmark | `--exact` "
        "| heapmark's thread, % of plain (default / `--exact`) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    ratios = {"heapmark": {}, "heapmark --exact": {}}
    deep_line = None
    for b in names:
        row = by.get(b, {})
        plain = row.get("plain")
        if not plain:
            line = "| %s | | failed | | | |" % row_name(b)
        else:
            cells, threads = [], []
            for config in ("heapmark", "heapmark --exact"):
                rec = row.get(config)
                if rec:
                    ratios[config][b] = rec["program"] / plain["program"]
                    cells.append(x(ratios[config][b]))
                    threads.append("%.1f%%" % (100.0 * rec["monitor"] / plain["program"]))
                else:
                    cells.append("failed")
                    threads.append("-")
            line = "| %s | %s | {:,} | %s | %s | %s |".format(plain["program"]) % (
                row_name(b),
                "`-n` %d" % plain["loops"] if b == DEEP else plain["loops"],
                cells[0],
                cells[1],
                " / ".join(threads),
            )
        if b == DEEP:
            deep_line = line
        else:
            lines.append(line)
    cells = []
    for config in ("heapmark", "heapmark --exact"):
        vals = [(v, b) for b, v in ratios[config].items() if b != DEEP]
        cells.append(
            (x(geomean([v for v, _ in vals])), "%s %s" % (x(max(vals)[0]), max(vals)[1]))
            if vals
            else ("-", "-")
        )
    lines.append("| **geometric mean** | | | %s | %s | |" % (cells[0][0], cells[1][0]))
    lines.append("| **worst** | | | %s | %s | |" % (cells[0][1], cells[1][1]))
    if deep_line:
        lines.append(deep_line)
    for r in cg:
        if "error" in r:
            lines += [
                "",
                "callgrind of %s under %s failed: %s"
                % (r["benchmark"], r["config"], r["error"].splitlines()[0][:300]),
            ]
    return lines, ratios


def verdict(ok):
    return "**met**" if ok else "**not met**"


def default_target(what, g, w):
    """The default mode's two targets on one measure: geometric mean g, worst
    (ratio, benchmark) w."""
    return (
        "heapmark default, %s: geometric mean %s (target <= %.2fx: %s), worst %s on %s "
        "(target <= %.2fx: %s)"
        % (
            what,
            x(g),
            TARGET_DEFAULT_GEOMEAN,
            verdict(g <= TARGET_DEFAULT_GEOMEAN),
            x(w[0]),
            w[1],
            TARGET_DEFAULT_WORST,
            verdict(w[0] <= TARGET_DEFAULT_WORST),
        )
    )


def targets(wall, instr, names):
    """The targets, each met or not, from the measured numbers."""
    pyperf_rows = [b for b in names if b != DEEP]
    text = []
    g, w, n = summary(wall, "heapmark", pyperf_rows)
    if g is not None:
        text.append(
            default_target("wall", g, w)
            + ("" if n == len(pyperf_rows) else " over %d of %d benchmarks" % (n, len(pyperf_rows)))
        )
    vals = [(v, b) for b, v in instr.get("heapmark", {}).items() if b != DEEP]
    if vals:
        text.append(default_target("instructions", geomean([v for v, _ in vals]), max(vals)))
    peer = "memray --trace-python-allocators"
    both = [
        (b, wall[b]["heapmark --exact"], wall[b][peer])
        for b in pyperf_rows
        if "heapmark --exact" in wall.get(b, {}) and peer in wall.get(b, {})
    ]
    if both:
        above = [(b, e, m) for b, e, m in both if e >= m]
        margin = max(e / m for _, e, m in both)
        text.append(
            "`--exact` below `%s` on every benchmark (wall): %s, %s%s"
            % (
                peer,
                verdict(not above),
                "at or above it on %s"
                % ", ".join("%s (%s vs %s)" % (b, x(e), x(m)) for b, e, m in above)
                if above
                else "`--exact`'s ratio at most %.2f of memray's" % margin,
                ""
                if len(both) == len(pyperf_rows)
                else " (on the %d of %d benchmarks both ran)" % (len(both), len(pyperf_rows)),
            )
        )
    g, _, n = summary(wall, "heapmark --exact", pyperf_rows)
    if g is not None:
        text.append(
            "`--exact`, wall: geometric mean %s (target <= %.1fx: %s)"
            % (x(g), TARGET_EXACT_GEOMEAN, verdict(g <= TARGET_EXACT_GEOMEAN))
        )
    vals = [v for b, v in instr.get("heapmark --exact", {}).items() if b != DEEP]
    if vals:
        g = geomean(vals)
        text.append(
            "`--exact`, instructions: geometric mean %s (target <= %.1fx: %s)"
            % (x(g), TARGET_EXACT_GEOMEAN, verdict(g <= TARGET_EXACT_GEOMEAN))
        )
    deep = []
    v = wall.get(DEEP, {}).get("heapmark --exact")
    if v is not None:
        deep.append("wall %s (%s)" % (x(v), verdict(v <= TARGET_DEEP_EXACT)))
    v = instr.get("heapmark --exact", {}).get(DEEP)
    if v is not None:
        deep.append("instructions %s (%s)" % (x(v), verdict(v <= TARGET_DEEP_EXACT)))
    if deep:
        text.append(
            "deep_churn `--exact` (target <= %.1fx): %s" % (TARGET_DEEP_EXACT, ", ".join(deep))
        )
    return text


def failures(records):
    """Lines naming the runs that failed, grouped by the last line of their
    stderr (the exception, usually), with what is known of it."""
    by = {}
    for r in records:
        if "error" in r:
            # The last line that is not a tool's own note (fil prints where
            # it wrote its report after the program's traceback).
            tail = [
                l
                for l in r["error"].splitlines()
                if l.strip() and not l.startswith(("=fil-profile=", "[memray]"))
            ]
            why = tail[-1].strip()[:300] if tail else "?"
            group = by.setdefault(why, {"benchmarks": [], "tools": [], "runs": 0})
            for key, value in (("benchmarks", r["benchmark"]), ("tools", r["tool"])):
                if value not in group[key]:
                    group[key].append(value)
            group["runs"] += 1
    if not by:
        return []
    lines = ["", "Failed runs:", ""]
    for why, group in by.items():
        known = [text for mark, text in KNOWN_FAILURES.items() if mark in why]
        lines.append(
            "- %s under %s (%d runs): `%s`%s"
            % (
                ", ".join(group["benchmarks"]),
                ", ".join(label(t) for t in group["tools"]),
                group["runs"],
                why,
                ": " + known[0] + "." if known else "",
            )
        )
    return lines


def disturbed(records, limit=0.5):
    """(pairs, pairs whose two runs saw other processes' CPU differ by more
    than limit cores): how much the load could have moved a paired ratio."""
    plain = {
        (r["benchmark"], r["round"]): r["others_cores"] for r in records if r["tool"] == "plain"
    }
    pairs = [
        abs(r["others_cores"] - plain[(r["benchmark"], r["round"])])
        for r in records
        if r["tool"] != "plain" and (r["benchmark"], r["round"]) in plain
    ]
    return len(pairs), sum(1 for d in pairs if d > limit)


def spread(values, fmt):
    values = sorted(v for v in values if v is not None)
    if not values:
        return "-"
    return (fmt + " (" + fmt + "-" + fmt + ")") % (median(values), values[0], values[-1])


def render(saved):
    meta, records, cg = saved["meta"], saved["runs"], saved.get("instructions", [])
    tools = [t for t in meta["tools"] if any(r["tool"] == t for r in records)]
    names = meta["benchmarks"] + ([DEEP] if meta.get("deep") else [])
    v = meta["versions"]
    peers = ", ".join("%s %s" % (k, v[k]) for k in ("memray", "fil", "scalene") if v.get(k))
    loops = ", ".join("%s %d" % (b, meta["loops"][b]) for b in meta["benchmarks"])
    lines = [
        SECTION,
        "",
        "heapmark's cost on code nobody here wrote: pyperformance's own benchmark scripts, "
        "run as pyperf's worker runs them (one process: `run_benchmark.py --worker -l LOOPS "
        "-n %d -w %d -o RESULT.json`, plus the arguments of pyperformance's manifest), "
        "plain and under each tool in a shuffled order, %d round(s); every ratio is paired "
        "(a tool's run over the plain run of the same benchmark in the same round), the "
        "median over rounds. bench/pyperformance.py has the details."
        % (meta["values"], meta["warmups"], meta["rounds"]),
        "",
        "To rerun: `make bench-pyperformance` (creates build/bench-venv, installs "
        "pyperformance, pyperf, memray, filprofiler and this heapmark into it, runs "
        "`python3 bench/pyperformance.py --write-docs --python build/bench-venv/bin/python`; "
        "this run took %.0f minutes). The raw runs are in %s; `python3 bench/pyperformance.py "
        "--from-json FILE --write-docs` renders this section from them again."
        % (meta["took_s"] / 60, meta.get("json_name", "build/bench-pyperformance.json")),
        "",
        "What ran: pyperformance %s (pyperf %s), CPython %s, heapmark %s (commit %s), %s; "
        "%d round(s), %d values after %d warm-up per run, loops per benchmark: %s%s. "
        "Skipped: %s."
        % (
            v["pyperformance"],
            v["pyperf"],
            v["python"],
            v.get("heapmark"),
            meta["commit"],
            peers or "no peer",
            meta["rounds"],
            meta["values"],
            meta["warmups"],
            loops,
            "; %s: `bench/workloads/deep_churn.py -n %d`" % (DEEP, meta["deep_n"])
            if meta.get("deep")
            else "",
            "; ".join("%s (%s)" % kv for kv in meta.get("skipped", {}).items()) or "nothing",
        ),
        "",
    ]
    loads = [r["load"] for r in records]
    others = [r["others_cores"] for r in records]
    lines += [
        "The machine (%s cores, shared) during the runs: 1-minute load average before each "
        "run %s, CPU other processes used during a run %s cores (median (range) over %d runs); "
        "in %d of %d pairs the other processes' CPU differed by more than half a core between "
        "the tool's run and its plain run (such pairs move a ratio by several percent, "
        "either way; the instruction counts do not move)."
        % (
            meta.get("cores", "?"),
            spread(loads, "%.2f"),
            spread(others, "%.2f"),
            len(records),
            disturbed(records)[1],
            disturbed(records)[0],
        ),
        "",
        "**Wall time** of the whole process (start-up, the benchmark and the tool's exit work: "
        "heapmark writes its profile and reports then), paired ratio to plain:",
        "",
    ]
    wall_lines, wall = time_table(records, "wall", tools, names, "wall")
    lines += wall_lines
    lines += [
        "",
        "**Benchmarked time**: the seconds pyperf timed (its values times loops, warm-ups "
        "excluded; for deep_churn the loop's own time): the code under test in its steady "
        "state, without start-up or the tool's exit work. Paired ratio to plain:",
        "",
    ]
    bm_lines, _ = time_table(records, "benchmarked", tools, names, "benchmarked")
    lines += bm_lines
    lines += failures(records)
    instr = {}
    if cg:
        cg_names = meta["instructions"] + ([DEEP] if meta.get("deep") else [])
        lines += [
            "",
            "**Instructions** (valgrind --tool=callgrind --separate-threads=yes "
            "--trace-children=yes; machine load does not change them) of the process that ran "
            "the script, `-l L -n 1 -w 0` (L: a plain run of about 0.3 s; deep_churn `-n %d`), "
            "PYTHONHASHSEED=0, heapmark with `--checkpoint 0 --seed 7`: checkpoints are "
            "time-driven, and under callgrind, some 60x slower, a run would write 60x as many. "
            "The ratios count the program's threads; heapmark's own monitor thread (the one "
            "running `%s`: timeline samples, also time-driven and so inflated under "
            "callgrind) is the last column, as a share of the plain run's instructions. The "
            "walks of the heap for kinds run on the program's thread within their default "
            "share of the run's time, which callgrind slows alike." % (DEEP_N_CALLGRIND, MONITOR),
            "",
        ]
        instr_lines, instr = instruction_table(cg, cg_names)
        lines += instr_lines
    lines += [
        "",
        "**Targets**, from the numbers above:",
        "",
    ]
    lines += ["- " + t for t in targets(wall, instr, names)]
    lines.append("")
    return "\n".join(lines)


# ---- main -----------------------------------------------------------------------


def names_list(text, known, what):
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(
            "bench pyperformance: unknown %s: %s (have: %s)"
            % (what, ", ".join(unknown), ", ".join(known))
        )
    return names


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--python",
        default=os.path.join(ROOT, "build", "bench-venv", "bin", "python"),
        help="python of the bench venv (pyperformance, heapmark, the peers)",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=15, help="of the shuffled order")
    parser.add_argument(
        "--benchmarks", default=",".join(BENCHMARKS), help="comma-separated (default: all)"
    )
    parser.add_argument(
        "--tools",
        default=",".join(DEFAULT_TOOLS),
        help="configurations of bench/tools.py, comma-separated (default: %(default)s)",
    )
    parser.add_argument(
        "--instructions",
        default=",".join(DEFAULT_INSTRUCTIONS),
        help="benchmarks to count instructions of, comma-separated; '' for none",
    )
    parser.add_argument("--no-deep", dest="deep", action="store_false", help="skip deep_churn")
    parser.add_argument(
        "--baseline",
        metavar="VENV_PYTHON",
        help="also time the heapmark installed for this interpreter (another commit's build, "
        "in a venv of its own with pyperf) as 'heapmark (before)' and "
        "'heapmark --exact (before)'",
    )
    parser.add_argument("--jobs", type=int, default=2, help="callgrind runs at a time (<= 2)")
    parser.add_argument(
        "--calibrate", action="store_true", help="print suggested loops, run nothing else"
    )
    parser.add_argument("--json", default=JSON_DEFAULT, help="raw runs (default: %(default)s)")
    parser.add_argument(
        "--from-json", metavar="FILE", help="render the tables from FILE, run nothing"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)

    if args.from_json:
        with open(args.from_json) as f:
            saved = json.load(f)
        saved["meta"]["json_name"] = shown_path(args.from_json)
        return output(args, saved)

    args.python = os.path.abspath(args.python)
    args.bindir = os.path.dirname(args.python)
    args.benchmarks = names_list(args.benchmarks, list(BENCHMARKS), "benchmark(s)")
    args.instructions = names_list(args.instructions, list(BENCHMARKS), "benchmark(s)")
    wanted = names_list(args.tools, [t for t in TOOLS if t != "plain"], "tool(s)")
    if args.baseline:
        wanted += add_baseline(os.path.dirname(os.path.abspath(args.baseline)))
    info = probe(args.python)
    scratch = tempfile.mkdtemp(prefix="heapmark-bench-pyperformance-")
    try:
        if args.calibrate:
            calibrate(args, info, scratch)
            return 0
        tools, skipped = available(args, {t: TOOLS[t] for t in wanted})
        for tool, why in skipped.items():
            say("%s skipped: %s" % (tool, why))
        commit = git_commit()  # the tree the runs start from
        started = time.perf_counter()
        records = timed(args, info, list(tools), scratch)
        cg = counted(args, info, scratch)
        took = time.perf_counter() - started
    finally:
        if args.keep:
            say("scratch kept in %s" % scratch)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    say("took %.0f s" % took)
    saved = {
        "meta": {
            "versions": info,
            "commit": commit,
            "cores": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d %H:%M %Z"),
            "rounds": args.rounds,
            "seed": args.seed,
            "values": VALUES,
            "warmups": WARMUPS,
            "benchmarks": args.benchmarks,
            "loops": {b: BENCHMARKS[b][2] for b in args.benchmarks},
            "instructions": args.instructions,
            "callgrind_loops": {b: BENCHMARKS[b][3] for b in args.instructions},
            "deep": args.deep,
            "deep_n": DEEP_N,
            "tools": list(tools),
            "skipped": skipped,
            "took_s": took,
        },
        "runs": records,
        "instructions": cg,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(saved, f, indent=1)
    say("raw runs in %s" % args.json)
    saved["meta"]["json_name"] = shown_path(args.json)
    return output(args, saved)


def shown_path(path):
    """path relative to the tree when it is inside it."""
    path = os.path.abspath(path)
    inside = path.startswith(ROOT + os.sep)
    return os.path.relpath(path, ROOT) if inside else path


def output(args, saved):
    print_and_write(render(saved), args.write_docs, DOC, SECTION)
    return 0


if __name__ == "__main__":
    sys.exit(main())
