"""What ``heapmark run --native`` costs, next to memray ``--native``, and what
the default mode costs before and after issue 13 (native frames, dlsym hooks,
own allocators).

    python3 bench/native.py --python VENV_PYTHON --before BEFORE_VENV_PYTHON \
        [--rounds 5] [--warmup 1] [--scale 0.3] [--write-docs]

Configurations, run in alternation within each round (plain, before, default,
--native, ..., plain, ...) after unmeasured warm-up rounds, so that a change
of machine load hits them all alike:

  plain                    the workload alone;
  heapmark (before)        ``heapmark run -q --seed 7`` of the build of
                           --before (commit 1e217ce, before issue 13);
  heapmark                 the same, this tree's build (--python);
  heapmark --native        C/C++ frames of each sampled allocation;
  heapmark --exact         every allocation (for the cost per allocation of
                           the unwind: --exact --native against it);
  heapmark --exact --native
  memray                   ``memray run -q -f -o OUT/capture.bin``;
  memray --native
  memray --native --trace-python-allocators
                           memray's counterpart of --exact --native.

Each ratio is paired: a run's wall time over the plain run of the same round,
then the median over rounds.  Also, from each run: the CPU time of the run
and everything it waited for, the size of what the tool wrote (profile.db and
reports; memray's capture), the machine's load average and the CPU time other
processes used meanwhile.  For heapmark, the profile's ``duration_s`` (start
to end of recording): wall time minus it is start-up, writing the profile
(native frames are symbolised then, with libdwfl) and the reports; in exact
mode the profile's count of allocations gives the unwind's cost per
allocation ((--exact --native - --exact) recording time / allocations).
memray symbolises native frames when a report is made, not in the run: its
``memray flamegraph`` time is taken once per workload, in the last round.

Instruction counts (valgrind --tool=callgrind, of the program's main thread,
which machine load does not distort) on a small-object churn loop: plain,
the before build's default, and this build's default, --native, --exact and
--exact --native, each as the difference between runs of 2N and N
iterations, so that start-up and writing the profile cancel out.
"""

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

from churn import CHURN, instructions
from docs_section import print_and_write

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKLOADS = ["numpy_pipeline", "object_parsing", "native_libs", "pyperf_suite"]
DOC = os.path.join(ROOT, "docs", "performance.md")
SECTION = "## Native frames (issue 13)"
TIMEOUT = 900  # s: a run that takes longer is a hang, reported as such

HEAPMARK = ["run", "-q", "--seed", "7"]
# (name, tool, flags): tool is None (plain), "before", "heapmark" or "memray".
CONFIGS = [
    ("plain", None, []),
    ("heapmark (before)", "before", []),
    ("heapmark", "heapmark", []),
    ("heapmark --native", "heapmark", ["--native"]),
    ("heapmark --exact", "heapmark", ["--exact"]),
    ("heapmark --exact --native", "heapmark", ["--exact", "--native"]),
    ("memray", "memray", []),
    ("memray --native", "memray", ["--native"]),
    (
        "memray --native --trace-python-allocators",
        "memray",
        ["--native", "--trace-python-allocators"],
    ),
]

# Configurations compared with each other (paired by round): (a, b) gives a / b.
PAIRS = [
    ("heapmark", "heapmark (before)"),
    ("heapmark --native", "heapmark"),
    ("heapmark --exact --native", "heapmark --exact"),
    ("heapmark --native", "memray --native"),
    ("heapmark --exact --native", "memray --native --trace-python-allocators"),
]

CHURN_N = 30_000
# The walks of the heap for kinds run on the program's thread, as many as a
# share of the run's time allows: under valgrind, whose speed varies with
# the machine's load, their number (and the instructions they add) would
# too.  Their cost is measured apart (bench/kinds.py).
CALLGRIND_FLAGS = ["--no-kinds"]
CALLGRIND_CONFIGS = [
    ("plain", None, []),
    ("heapmark (before)", "before", []),
    ("heapmark", "heapmark", []),
    ("heapmark --native", "heapmark", ["--native"]),
    ("heapmark --exact", "heapmark", ["--exact"]),
    ("heapmark --exact --native", "heapmark", ["--exact", "--native"]),
]


def say(message):
    sys.stderr.write("bench native: %s\n" % message)
    sys.stderr.flush()


def median(values):
    v = sorted(values)
    n = len(v)
    if not n:
        return None
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError):
        return None


def busy_seconds():
    """CPU time the whole machine has spent busy so far (user, nice, system,
    irq, softirq, steal), in seconds."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)) / os.sysconf(
        "SC_CLK_TCK"
    )


def dir_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def command(args, tool, flags, script, out, extra):
    if tool is None:
        return [args.python, script] + extra
    if tool == "memray":
        memray = os.path.join(os.path.dirname(args.python), "memray")
        return (
            [memray, "run", "-q", "-f", "-o", os.path.join(out, "capture.bin")]
            + flags
            + [script]
            + extra
        )
    python = args.before if tool == "before" else args.python
    heapmark = os.path.join(os.path.dirname(python), "heapmark")
    return [heapmark] + HEAPMARK + ["-o", out] + flags + [script] + extra


def profile_facts(profile):
    """duration_s, allocations (exact mode), native frames and their libraries."""
    db = sqlite3.connect(profile)
    try:
        meta = dict(db.execute("select key, value from meta"))
        facts = {"duration_s": meta.get("duration_s"), "mode": meta.get("mode")}
        if meta.get("mode") == "exact":
            facts["allocations"] = db.execute(
                "select sum(count) from node_values where snapshot = 3"
            ).fetchone()[0]
        tables = {r[0] for r in db.execute("select name from sqlite_master where type='table'")}
        if "native_frames" in tables:
            facts["native_frames"] = db.execute("select count(*) from native_frames").fetchone()[0]
            rows = db.execute(
                "select s.text, t.function from native_frames n "
                "join frame_text t on t.id = n.frame join strings s on s.id = n.library"
            ).fetchall()
            facts["libraries"] = sorted({os.path.basename(lib) for lib, _ in rows})
            facts["unnamed_frames"] = sum(1 for _, fn in rows if fn is None or "+0x" in str(fn))
    finally:
        db.close()
    return facts


def one_run(args, name, tool, flags, script, extra, out):
    cmd = command(args, tool, flags, script, out, extra)
    os.makedirs(out, exist_ok=True)
    load = loadavg()
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0 = busy_seconds()
    started = time.perf_counter()
    try:
        done = subprocess.run(
            cmd,
            cwd=out,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=TIMEOUT,
        )
        rc, err = done.returncode, done.stderr
    except subprocess.TimeoutExpired:
        rc, err = "timeout", "no end after %d s" % TIMEOUT
    wall = time.perf_counter() - started
    busy1 = busy_seconds()
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    record = {
        "config": name,
        "wall": wall,
        "cpu": cpu,
        "load": load,
        "others_cores": max(0.0, (busy1 - busy0 - cpu) / wall),
    }
    if rc != 0:
        record["error"] = "exit status %s: %s" % (rc, err.strip()[-1500:])
        say("  %s: FAILED: %s" % (name, record["error"][-300:]))
        return record
    if tool is not None:
        record["bytes"] = dir_bytes(out)
    if tool in ("heapmark", "before"):
        record.update(profile_facts(os.path.join(out, "profile.db")))
        record["after_recording"] = wall - record["duration_s"]
    return record


def memray_report_time(args, capture, scratch):
    memray = os.path.join(os.path.dirname(args.python), "memray")
    started = time.perf_counter()
    done = subprocess.run(
        [memray, "flamegraph", "-f", "-o", os.path.join(scratch, "flame.html"), capture],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=TIMEOUT,
    )
    took = time.perf_counter() - started
    if done.returncode != 0:
        say("  memray flamegraph FAILED: %s" % done.stderr.strip()[-300:])
        return None
    return took


def wall_clock(args, scratch):
    results = {}
    for workload in args.workloads:
        script = os.path.join(HERE, "workloads", workload + ".py")
        extra = ["--scale", str(args.scale)]
        records = []
        rounds = args.warmup + args.rounds
        for rnd in range(rounds):
            measured = rnd >= args.warmup
            say(
                "%s: %s %d (load %.2f)"
                % (
                    workload,
                    "round" if measured else "warm-up",
                    rnd - args.warmup + 1 if measured else rnd + 1,
                    loadavg() or 0,
                )
            )
            for name, tool, flags in CONFIGS:
                if name not in args.configs:
                    continue
                out = os.path.join(scratch, "%s-%d-%s" % (workload, rnd, name.replace(" ", "_")))
                rec = one_run(args, name, tool, flags, script, extra, out)
                rec["round"] = rnd - args.warmup
                if measured:
                    records.append(rec)
                    say("  %-45s %7.2f s" % (name, rec["wall"]))
                    if (
                        rnd == rounds - 1
                        and name == "memray --native"
                        and "error" not in rec
                        and not args.no_memray_report
                    ):
                        rec["report_s"] = memray_report_time(
                            args, os.path.join(out, "capture.bin"), scratch
                        )
                shutil.rmtree(out, ignore_errors=True)
        results[workload] = records
    return results


def summarise(records):
    """{config: {...}} medians over rounds, ratios paired with plain."""
    plain = {r["round"]: r["wall"] for r in records if r["config"] == "plain" and "error" not in r}
    by = {}
    for r in records:
        by.setdefault(r["config"], []).append(r)
    rows = {}
    for name, recs in by.items():
        ok = [r for r in recs if "error" not in r]
        row = {"runs": len(ok), "failed": len(recs) - len(ok)}
        if len(ok) < len(recs):
            row["error"] = [r["error"] for r in recs if "error" in r][0]
        if ok:
            row["wall"] = median([r["wall"] for r in ok])
            row["paired"] = median(
                [r["wall"] / plain[r["round"]] for r in ok if r["round"] in plain]
            )
            row["cpu"] = median([r["cpu"] for r in ok])
            for key in ("bytes", "after_recording", "duration_s", "allocations", "native_frames"):
                vals = [r[key] for r in ok if r.get(key) is not None]
                if vals:
                    row[key] = median(vals)
            libs = set()
            for r in ok:
                libs.update(r.get("libraries", []))
            if libs:
                row["libraries"] = sorted(libs)
            unnamed = [r["unnamed_frames"] for r in ok if "unnamed_frames" in r]
            if unnamed:
                row["unnamed_frames"] = median(unnamed)
            reports = [r["report_s"] for r in ok if r.get("report_s")]
            if reports:
                row["report_s"] = reports[0]
        rows[name] = row
    # The unwind's cost per allocation, from the exact runs of the same round.
    ex = {r["round"]: r for r in by.get("heapmark --exact", []) if "error" not in r}
    per = []
    for r in by.get("heapmark --exact --native", []):
        base = ex.get(r["round"])
        if "error" not in r and base and r.get("allocations"):
            per.append((r["duration_s"] - base["duration_s"]) / r["allocations"])
    if per:
        rows["heapmark --exact --native"]["unwind_us"] = 1e6 * median(per)
    # Configurations against each other, paired by round.
    walls = {(r["config"], r["round"]): r["wall"] for r in records if "error" not in r}
    ok = {(r["config"], r["round"]): r for r in records if "error" not in r}
    rows["pairs"], rows["diffs"] = {}, {}
    for a, b in PAIRS:
        ratios = [
            walls[(a, rnd)] / walls[(b, rnd)]
            for (name, rnd) in walls
            if name == a and (b, rnd) in walls
        ]
        if ratios:
            rows["pairs"][(a, b)] = median(ratios)
        # Where a heapmark configuration's extra time goes: recording
        # (duration_s) or the end of the run (after_recording).
        both = [
            (ok[(a, rnd)], ok[(b, rnd)])
            for (name, rnd) in ok
            if name == a and (b, rnd) in ok and "duration_s" in ok[(a, rnd)]
        ]
        both = [(x, y) for x, y in both if "duration_s" in y]
        if both:
            rows["diffs"][(a, b)] = (
                median([x["duration_s"] - y["duration_s"] for x, y in both]),
                median([x["after_recording"] - y["after_recording"] for x, y in both]),
            )
    loads = [r["load"] for r in records if r.get("load") is not None]
    others = [r["others_cores"] for r in records]
    return rows, (median(loads), min(loads), max(loads)) if loads else None, median(others)


# ---- instruction counts ---------------------------------------------------------


def main_thread_count(scratch, script):
    counts = []
    for name in os.listdir(scratch):
        if name.startswith("callgrind.out.") and name.endswith("-01"):
            path = os.path.join(scratch, name)
            with open(path) as f:
                head = f.read(4096)
            if script in head and "heapmark run" not in head and "heapmark/cli" not in head:
                counts.append(instructions(path))
    if not counts:
        raise SystemExit("bench native: no callgrind output names %s" % script)
    return max(counts)


def callgrind(args, scratch):
    if not shutil.which("valgrind"):
        say("valgrind is not installed: no instruction counts")
        return None
    script = os.path.join(scratch, "churn.py")
    with open(script, "w") as f:
        f.write(CHURN)
    counts = {}
    for name, tool, flags in CALLGRIND_CONFIGS:
        repeats = 1 if tool is None else args.callgrind_runs
        runs = []
        for _ in range(repeats):
            runs.append(callgrind_loop(args, scratch, script, tool, flags, name))
        counts[name] = {
            "instructions": sum(r[0] for r in runs) / len(runs),
            "runs": [r[0] for r in runs],
        }
        if runs[0][1] is not None:
            counts[name]["allocations"] = runs[0][1]
        say(
            "callgrind %s: %s instructions per %d iterations"
            % (name, " / ".join("%d" % r[0] for r in runs), args.churn)
        )
    return counts


def callgrind_loop(args, scratch, script, tool, flags, name):
    """(instructions, allocations recorded) of the loop: 2N runs minus N runs."""
    totals, allocs = [], []
    for n in (args.churn, 2 * args.churn):
        out = os.path.join(scratch, "cg-%s-%d" % (name.replace(" ", "_"), n))
        for old in os.listdir(scratch):
            if old.startswith("callgrind.out."):
                os.remove(os.path.join(scratch, old))
        cmd = command(args, tool, flags + CALLGRIND_FLAGS if tool else flags, script, out, [str(n)])
        subprocess.run(
            ["valgrind", "--tool=callgrind", "--trace-children=yes", "--separate-threads=yes"]
            + ["--callgrind-out-file=" + os.path.join(scratch, "callgrind.out.%p")]
            + cmd,
            cwd=scratch,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=dict(os.environ, PYTHONHASHSEED="0"),
            timeout=3 * TIMEOUT,
        )
        totals.append(main_thread_count(scratch, script))
        if tool is not None:
            allocs.append(profile_facts(os.path.join(out, "profile.db")).get("allocations"))
        shutil.rmtree(out, ignore_errors=True)
    if allocs and allocs[0] is not None:
        return totals[1] - totals[0], allocs[1] - allocs[0]
    return totals[1] - totals[0], None


# ---- the section ----------------------------------------------------------------


def ratio_cell(row):
    if not row or "paired" not in row:
        return "failed" if row and row.get("failed") else "-"
    cell = "%.2fx" % row["paired"]
    if row.get("failed"):
        cell += " (%d failed)" % row["failed"]
    return cell


def kib(row):
    return "%.0f" % (row["bytes"] / 1024) if row and "bytes" in row else "-"


def render(results, counts, args, versions):
    lines = [
        SECTION,
        "",
        "Written by `make bench-native` (bench/native.py): CPython %s, memray %s, %d rounds "
        "after %d warm-up round(s), workloads at `--scale %g`, the configurations in "
        "alternation within each round. Ratios are paired (each run's wall time over the "
        "plain run of the same round), medians over rounds; wall times include interpreter "
        "start-up and, for heapmark, writing the profile and its reports. heapmark runs "
        "with `--seed 7`. `before` is the build of commit %s (before issue 13), installed "
        "in a venv of its own; native_libs.py (new) is sqlite3, zlib/bz2/lzma, json, pickle "
        "and numpy doing the work in C. On this shared machine one round's times move by several "
        "percent either way (ratios below 1 are that noise); the instruction counts at the end "
        "are the steadier measure."
        % (
            versions["python"],
            versions["memray"],
            args.rounds,
            args.warmup,
            args.scale,
            args.before_commit,
        ),
        "",
    ]
    load_notes = []
    for workload, (_, load, others) in results.items():
        if load:
            load_notes.append(
                "%s %.2f (%.2f-%.2f), others %.2f cores"
                % (workload, load[0], load[1], load[2], others)
            )
    lines += [
        "The machine (2 cores, shared) while it ran: load average (1 min) at the start of "
        "each run, median (range), and the CPU other processes used during the runs, median: "
        + "; ".join(load_notes)
        + ".",
        "",
        "**Time**: paired ratio to plain.",
        "",
        "| workload | plain | heapmark (before) | heapmark | `--native` | `--exact` "
        "| `--exact --native` | memray | memray `--native` "
        "| memray `--native --trace-python-allocators` |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    names = [c[0] for c in CONFIGS]
    for workload, (rows, _, _) in results.items():
        plain = rows.get("plain", {})
        lines.append(
            "| %s | %.2f s | %s |"
            % (
                workload,
                plain.get("wall", float("nan")),
                " | ".join(ratio_cell(rows.get(n)) for n in names[1:]),
            )
        )
    lines += [
        "",
        "**Paired against each other**: one configuration's wall time over another's in "
        "the same round, median over rounds.",
        "",
        "| workload | heapmark / heapmark (before) | `--native` / heapmark "
        "| `--exact --native` / `--exact` | `--native` / memray `--native` "
        "| `--exact --native` / memray `--native --trace-python-allocators` "
        "| `--native` - heapmark: recording / end of run | `--exact --native` - `--exact`: "
        "recording / end of run |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for workload, (rows, _, _) in results.items():
        pairs, diffs = rows.get("pairs", {}), rows.get("diffs", {})
        cells = ["%.3f" % pairs[p] if p in pairs else "-" for p in PAIRS]
        for p in (PAIRS[1], PAIRS[2]):
            cells.append("%+.2f s / %+.2f s" % diffs[p] if p in diffs else "-")
        lines.append("| %s | %s |" % (workload, " | ".join(cells)))
    lines += [
        "",
        "**Files and the end of the run**: what each wrote (KiB: heapmark's profile.db and "
        "reports, memray's capture.bin); for heapmark, the seconds between the end of "
        "recording (the profile's `duration_s`) and the end of `heapmark run` (interpreter "
        "start-up, writing the profile - where `--native` symbolises its frames - and the "
        "reports); memray symbolises when a report is made: `memray flamegraph` of a "
        "`--native` capture, one run.",
        "",
        "| workload | heapmark KiB | `--native` KiB | `--exact` KiB | `--exact --native` KiB "
        "| memray `--native` KiB | memray `--native --trace-python-allocators` KiB "
        "| end of run: heapmark / `--native` / `--exact` / `--exact --native` "
        "| memray flamegraph |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for workload, (rows, _, _) in results.items():
        ends = " / ".join(
            "%.2f s" % rows[n]["after_recording"]
            if rows.get(n, {}).get("after_recording") is not None
            else "-"
            for n in (
                "heapmark",
                "heapmark --native",
                "heapmark --exact",
                "heapmark --exact --native",
            )
        )
        rep = rows.get("memray --native", {}).get("report_s")
        lines.append(
            "| %s | %s | %s | %s | %s | %s | %s | %s | %s |"
            % (
                workload,
                kib(rows.get("heapmark")),
                kib(rows.get("heapmark --native")),
                kib(rows.get("heapmark --exact")),
                kib(rows.get("heapmark --exact --native")),
                kib(rows.get("memray --native")),
                kib(rows.get("memray --native --trace-python-allocators")),
                ends,
                "%.2f s" % rep if rep else "-",
            )
        )
    lines += [
        "",
        "**The unwind per allocation** (exact mode, where every allocation is unwound): "
        "recording time (`duration_s`) of `--exact --native` minus `--exact` in the same "
        "round, over the allocations the profile counts; and what `--native` found.",
        "",
        "| workload | allocations (exact) | unwind per allocation "
        "| native frames (`--native` / `--exact --native`) "
        "| without a symbol | libraries |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for workload, (rows, _, _) in results.items():
        row = rows.get("heapmark --exact --native", {})
        sampled = rows.get("heapmark --native", {})
        libs = [lib for lib in row.get("libraries", []) if ".cpython-" not in lib]
        n_ext = len(row.get("libraries", [])) - len(libs)
        lines.append(
            "| %s | %s | %s | %s | %s | %s |"
            % (
                workload,
                "{:,}".format(int(row["allocations"])) if "allocations" in row else "-",
                "%.2f us" % row["unwind_us"] if "unwind_us" in row else "-",
                "%s / %s"
                % (
                    "%d" % sampled["native_frames"] if "native_frames" in sampled else "-",
                    "%d" % row["native_frames"] if "native_frames" in row else "-",
                ),
                "%d" % row["unnamed_frames"] if "unnamed_frames" in row else "-",
                "%d extension modules; %s" % (n_ext, ", ".join(libs) or "no other library"),
            )
        )
    if counts:
        p = counts["plain"]["instructions"]
        lines += [
            "",
            "**Instructions** (callgrind, the program's main thread; machine load does not "
            "change them) of %d iterations of the small-object churn loop in bench/native.py, "
            "as the difference between runs of %d and %d iterations, so that start-up and "
            "writing the profile cancel out; PYTHONHASHSEED=0, `--seed 7 --no-kinds` (the walks "
            "of the heap run on the program's thread as often as a share of the run's time "
            "allows, which valgrind's varying speed would vary)."
            % (args.churn, 2 * args.churn, args.churn),
            "",
            "| configuration | instructions (each run) | ratio to plain (mean) "
            "| allocations recorded | "
            "instructions per recorded allocation over the same mode without `--native` |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, _, _ in CALLGRIND_CONFIGS:
            c = counts.get(name)
            if not c:
                continue
            per = "-"
            base = {
                "heapmark --native": "heapmark",
                "heapmark --exact --native": "heapmark --exact",
            }
            if name in base and c.get("allocations") and base[name] in counts:
                per = "{:,.0f}".format(
                    (c["instructions"] - counts[base[name]]["instructions"]) / c["allocations"]
                )
            shown = " / ".join("{:,}".format(r) for r in c.get("runs", [c["instructions"]]))
            lines.append(
                "| %s | %s | {:.4f} | %s | %s |".format(c["instructions"] / p)
                % (
                    name,
                    shown,
                    "{:,}".format(c["allocations"]) if c.get("allocations") else "-",
                    per,
                )
            )
        if "heapmark (before)" in counts and "heapmark" in counts:
            b = counts["heapmark (before)"]["instructions"]
            a = counts["heapmark"]["instructions"]
            lines += [
                "",
                "Default mode, this build against the build before issue 13: {:+,.0f} instructions "
                "({:+.2%}) over the loop.".format(a - b, a / b - 1),
            ]
    lines += [""] + conclusions(results, counts)
    lines.append("")
    return "\n".join(lines)


def spread(values, fmt):
    values = sorted(v for v in values if v is not None)
    if not values:
        return "-"
    if len(values) == 1 or fmt % values[0] == fmt % values[-1]:
        return fmt % values[0]
    return (fmt + "-" + fmt) % (values[0], values[-1])


def conclusions(results, counts):
    """Plain-language reading of the tables, from the same numbers."""

    def pair(a, b):
        return [rows.get("pairs", {}).get((a, b)) for rows, _, _ in results.values()]

    def end_delta(a, b):
        out = []
        for rows, _, _ in results.values():
            x, y = rows.get(a, {}).get("after_recording"), rows.get(b, {}).get("after_recording")
            if x is not None and y is not None:
                out.append(x - y)
        return out

    unwind = [
        rows.get("heapmark --exact --native", {}).get("unwind_us")
        for rows, _, _ in results.values()
    ]

    def diff(a, b, k):
        return [
            rows.get("diffs", {}).get((a, b), (None, None))[k] for rows, _, _ in results.values()
        ]

    text = [
        "What the tables say:",
        "",
        "- **Sampled `--native`** against the default mode, paired: %s across the workloads. "
        "Most of it is a cost per run, not per allocation: the end of the run (symbolising "
        "the frames with libdwfl when the profile is written) takes %s s longer, recording "
        "%s s; on these 1 s runs that shows, on a longer run it is spread thinner. The "
        "profile and reports grow by the native frames' names."
        % (
            spread(pair("heapmark --native", "heapmark"), "%.2fx"),
            spread(diff("heapmark --native", "heapmark", 1), "%+.2f"),
            spread(diff("heapmark --native", "heapmark", 0), "%+.2f"),
        ),
        "- **The unwind per recorded allocation**: %s us of recording time per allocation "
        "in exact mode (`--exact --native` against `--exact`, every allocation unwound), "
        "%s paired in wall time; symbolising at the end adds %s s, more where more "
        "libraries' frames are seen (numpy's, sqlite's)."
        % (
            spread(unwind, "%.2f"),
            spread(pair("heapmark --exact --native", "heapmark --exact"), "%.2fx"),
            spread(diff("heapmark --exact --native", "heapmark --exact", 1), "%+.2f"),
        ),
    ]
    if counts and counts.get("heapmark --exact --native", {}).get("allocations"):
        c, b = counts["heapmark --exact --native"], counts["heapmark --exact"]
        text[-1] += (
            " In instructions, which load does not change: {:,.0f} per recorded allocation "
            "on the churn loop (callgrind), the unwinder walking the whole C stack, from "
            "the allocator to `main`, before the frames down to the eval loop are kept."
        ).format((c["instructions"] - b["instructions"]) / c["allocations"])
    text += [
        "- **Against memray `--native`**, which records every `malloc` (pymalloc's "
        "arenas, not its objects, unless `--trace-python-allocators`) where heapmark samples: "
        "heapmark `--native` / memray `--native` %s paired; heapmark `--exact --native` / "
        "memray `--native --trace-python-allocators` %s. memray writes its capture as it "
        "runs and symbolises when a report is made (the flamegraph column); heapmark "
        "symbolises and writes its reports at the end of the run, which its wall times "
        "include."
        % (
            spread(pair("heapmark --native", "memray --native"), "%.2f"),
            spread(
                pair("heapmark --exact --native", "memray --native --trace-python-allocators"),
                "%.2f",
            ),
        ),
        "- **The default mode before and after issue 13**: this build over the build of "
        "the commit before, paired: %s across the workloads."
        % spread(pair("heapmark", "heapmark (before)"), "%.3f"),
    ]
    if counts and "heapmark (before)" in counts and "heapmark" in counts:
        a = counts["heapmark"]["instructions"]
        bb = counts["heapmark (before)"]["instructions"]
        spreads = [
            (max(c["runs"]) - min(c["runs"])) / c["instructions"]
            for c in (counts["heapmark"], counts["heapmark (before)"])
            if len(c.get("runs", [])) > 1
        ]
        plain = counts["plain"]["instructions"]
        allocations = counts.get("heapmark --exact", {}).get("allocations")
        text[-1] += (
            " In instructions (means of the runs): {:+.2%} over the churn loop, {} "
            "{:+.1%} of heapmark's own instructions there{}."
        ).format(
            a / bb - 1,
            "{:+.1f} per allocation,".format((a - bb) / allocations) if allocations else "",
            (a - plain) / (bb - plain) - 1,
            "; runs of one build differ by up to {:.2%} (the sampler's seed is fixed, not "
            "the addresses heapmark's hash maps see)".format(max(spreads))
            if spreads
            else "",
        )
    return text


def versions_of(python):
    probe = (
        "import sys\n"
        "try:\n import memray; m = memray.__version__\n"
        "except Exception:\n m = '?'\n"
        "print(sys.version.split()[0], m)"
    )
    out = subprocess.run([python, "-c", probe], capture_output=True, text=True).stdout.split()
    return {"python": out[0] if out else "?", "memray": out[1] if len(out) > 1 else "?"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--python", required=True, help="python of the bench venv (this tree, memray)"
    )
    parser.add_argument(
        "--before", required=True, help="python of a venv with the build before issue 13"
    )
    parser.add_argument("--before-commit", default="1e217ce")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--scale", type=float, default=0.3)
    parser.add_argument("--workloads", nargs="+", default=WORKLOADS)
    parser.add_argument(
        "--configs",
        nargs="+",
        default=[c[0] for c in CONFIGS],
        help="a subset of the configurations",
    )
    parser.add_argument(
        "--churn", type=int, default=CHURN_N, help="iterations N of the callgrind loop (N and 2N)"
    )
    parser.add_argument(
        "--callgrind-runs",
        type=int,
        default=3,
        help="callgrind runs of each heapmark configuration (3): their spread is the noise",
    )
    parser.add_argument(
        "--wall-clock-from",
        metavar="RESULTS_JSON",
        help="take the wall-clock records from a saved --results file, measure the "
        "instruction counts only",
    )
    parser.add_argument("--no-callgrind", action="store_true")
    parser.add_argument("--no-memray-report", action="store_true")
    parser.add_argument("--results", help="also write the raw records here (JSON)")
    parser.add_argument(
        "--render",
        metavar="RESULTS_JSON",
        help="run nothing: render the section from a saved --results file",
    )
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    if args.render:
        with open(args.render) as f:
            saved = json.load(f)
        for key, value in saved.get("args", {}).items():
            setattr(args, key, value)
        versions = saved.get("versions") or versions_of(args.python)
        results = {w: summarise(recs) for w, recs in saved["records"].items()}
        text = render(results, saved.get("callgrind"), args, versions)
        print_and_write(text, args.write_docs, DOC, SECTION)
        return 0
    args.python = os.path.abspath(args.python)
    args.before = os.path.abspath(args.before)
    if "plain" not in args.configs:
        args.configs.insert(0, "plain")
    versions = versions_of(args.python)
    started = time.time()
    scratch = tempfile.mkdtemp(prefix="heapmark-bench-native-")
    try:
        if args.wall_clock_from:
            with open(args.wall_clock_from) as f:
                saved = json.load(f)
            raw = saved["records"]
            for key, value in saved.get("args", {}).items():
                if key not in ("churn", "callgrind_runs"):
                    setattr(args, key, value)
        else:
            raw = wall_clock(args, scratch)
        counts = None if args.no_callgrind else callgrind(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    say("took %.0f s" % (time.time() - started))
    results = {w: summarise(recs) for w, recs in raw.items()}
    if args.results:
        with open(args.results, "w") as f:
            json.dump(
                {
                    "records": raw,
                    "callgrind": counts,
                    "versions": versions,
                    "args": {
                        k: getattr(args, k)
                        for k in (
                            "rounds",
                            "warmup",
                            "scale",
                            "before_commit",
                            "churn",
                            "callgrind_runs",
                        )
                    },
                },
                f,
                indent=1,
            )
    print_and_write(render(results, counts, args, versions), args.write_docs, DOC, SECTION)
    return 0


if __name__ == "__main__":
    sys.exit(main())
