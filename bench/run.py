"""heapmark benchmark driver: overhead and accuracy against plain Python and peers.

Runs every workload in bench/workloads/ plain and under every tool
configuration, in alternation (plain, tool 1, tool 2, ..., plain, tool 1, ...),
``--reps`` times, and reports medians and ratios to plain of:

  wall time     end to end, measured by a fresh wrapper process around the
                command (for heapmark this includes its own start-up and the
                reports it writes at exit: what a user waits for);
  CPU time      user + system of all the processes the wrapper waited for;
  peak RSS      getrusage(RUSAGE_CHILDREN).ru_maxrss in that wrapper, i.e. the
                largest of the processes it waited for (the profiled
                grandchild of ``heapmark run``);
  result files  total size of what the tool wrote;
  report time   ``heapmark report PROFILE -o DIR``, re-rendering the reports
                (CLI start-up included), timed outside the run; for the peers
                their own renderer (see below), none for Fil;
  accuracy      each workload, given ``--truth FILE``, writes the bytes a few
                of its lines hold at the peak; these are compared with the
                tool's per-line figures (``heapmark report --json``, ``top``)
                and the relative error is reported per line and configuration
                (median and worst over the repetitions).

Configurations: ``plain``; ``heapmark`` (sampling at the default rate),
``heapmark --exact`` and ``heapmark --sample-rate R`` for each of ``--rates``;
and the peers, run as their documents say, with their default settings:

  memray        ``memray run -q -f -o OUT/capture.bin SCRIPT``; report time is
                ``memray flamegraph`` (the HTML flame graph of the peak); bytes
                per line from memray's own reader (FileReader, high-water-mark
                records: the allocations alive at memray's peak), in a
                subprocess on the bench interpreter.  Without
                ``--trace-python-allocators`` memray sees pymalloc's 1 MiB
                arenas, not objects, and credits each arena to the line that
                made pymalloc ask for it;
  memray --trace-python-allocators
                the same, with every pymalloc allocation recorded;
  fil           ``fil-profile -o OUT --no-browser run SCRIPT``; Fil writes its
                reports (flame graphs, HTML) at exit, in a timestamped
                directory, and has no separate renderer; bytes per line from
                its peak-memory.prof (folded stacks of the allocations alive
                at its peak);
  tracemalloc   a runner (TRACEMALLOC_RUNNER below) that starts
                tracemalloc with 25 frames, runs the workload with runpy and
                dumps a snapshot at exit; report time is loading that dump and
                printing the top 50 lines.  tracemalloc cannot snapshot its
                peak, only its size (get_traced_memory), so it has no
                accuracy figures;
  scalene       ``python -m scalene run -o OUT/profile.json --memory SCRIPT
                ---`` (CPU and memory; scalene 2.x has no memory-only mode
                and writes JSON without opening a browser); report time is
                ``scalene view --html``; bytes per line are scalene's own
                per-line "peak" (n_peak_mb): the largest footprint scalene's
                sampling (1 MiB window) credited to the line at any time, not
                what the line holds at the program's peak.

For memray and Fil, whose records carry a stack, each stack's bytes go to the
innermost frame of the program's own code (not ``<frozen ...>``, site- or
dist-packages or the standard library), else to the innermost frame: the rule
heapmark uses for its ``top`` lines, so that all tools are read alike.  A peer
that is not installed for ``--python`` is skipped, with a note in the
results; one that fails shows as failed runs, with its error.

One workload at a time: an unmeasured warm-up round, then the repetitions.
The machine may be shared: before each run the driver waits (up to
``--wait-quiet`` s) for the CPUs to be idle, and repeats a run during which
other processes used more than ``--max-busy`` cores; how much that happened
is reported with the results.

Nothing here asserts on time: it measures.  Standard library only; the
driver runs on any Python 3, the workloads and tools on ``--python``
(default: build/bench-venv/bin/python when it exists), an interpreter with
heapmark and numpy installed:

    python3.11 -m venv build/bench-venv
    build/bench-venv/bin/pip install . numpy     # again after engine changes
    make bench                  # = python3 bench/run.py --write-docs

The peers are optional: ``build/bench-venv/bin/pip install memray filprofiler
scalene`` to measure them too.

``--write-docs`` replaces the part of docs/performance.md between the
``<!-- bench:begin -->`` and ``<!-- bench:end -->`` markers.  Raw results go
to bench/results/<date>/results.json (not versioned).
"""

import argparse
import datetime
import json
import math
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from report import DOCS, render_markdown, write_docs
from tools import ADAPTERS, HEAPMARK_RUN, TOOLS, heapmark_rate_tool

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKLOADS_DIR = os.path.join(HERE, "workloads")

DEFAULT_RATES = "16K,32K,128K,256K,512K"

# ---- measuring one run -----------------------------------------------------------

# Runs in a fresh interpreter for every measurement so that RUSAGE_CHILDREN
# covers exactly the command and its descendants.
WRAPPER = r"""
import json, resource, subprocess, sys, time
cmd, cwd, errpath = json.loads(sys.argv[1])
with open(errpath, "w") as err:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=err)
    rc = proc.wait()
    wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall_s": wall, "rc": rc, "maxrss_kib": ru.ru_maxrss,
                  "cpu_s": ru.ru_utime + ru.ru_stime}))
"""


def git_commit():
    """The commit the tree is at, "+changes" if tracked files differ from it."""
    try:
        head = subprocess.run(
            ["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        return head + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "?"


def cpu_jiffies():
    """(busy, steal) CPU time of the whole machine so far, in seconds."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    busy = v[0] + v[1] + v[2] + v[5] + v[6]  # user nice system irq softirq
    steal = v[7] if len(v) > 7 else 0
    return busy / hz, steal / hz


def measure(python, cmd, cwd, errpath):
    """Runs cmd in a fresh wrapper; also estimates how much CPU the rest of the
    machine used meanwhile (busy time not spent by the wrapper and its
    descendants, plus time stolen by the hypervisor), in cores."""
    own0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        busy0, steal0 = cpu_jiffies()
    except (OSError, ValueError, IndexError):
        busy0 = None
    t0 = time.perf_counter()
    done = subprocess.run(
        [python, "-c", WRAPPER, json.dumps([cmd, cwd, errpath])],
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.perf_counter() - t0
    result = json.loads(done.stdout)
    own1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if busy0 is not None:
        busy1, steal1 = cpu_jiffies()
        own = (own1.ru_utime + own1.ru_stime) - (own0.ru_utime + own0.ru_stime)
        result["others_cores"] = max(0.0, (busy1 - busy0 - own + steal1 - steal0) / elapsed)
    return result


def expand(template, **values):
    return [part.format(**values) for part in template]


def run_once(args, tool_name, tool, workload, rep, scratch, adapters):
    """One measured run; returns a record (dict)."""
    tag = "%s-%s-%d" % (workload["name"], re.sub(r"\W+", "_", tool_name), rep)
    out = os.path.join(scratch, tag)
    os.makedirs(out)
    truth_path = os.path.join(scratch, tag + ".truth.json")
    errpath = os.path.join(scratch, tag + ".stderr")
    cmd = (
        expand(
            tool["run"], python=args.python, bindir=args.bindir, out=out, script=workload["path"]
        )
        + ["--truth", truth_path]
        + workload["args"]
    )
    record = {"workload": workload["name"], "config": tool_name, "rep": rep}
    # On a shared machine, a run during which other processes used more than
    # --max-busy of a core is repeated (up to --retries times); the timing of
    # the least disturbed attempt is kept, with the number of attempts (the
    # result files and accuracy are those of the last attempt).
    best = None
    for attempt in range(1 + max(0, args.retries)):
        busy = wait_quiet(args)
        for leftover in (out, truth_path):
            if os.path.isdir(leftover):
                shutil.rmtree(leftover)
                os.makedirs(leftover)
            elif os.path.exists(leftover):
                os.remove(leftover)
        result = measure(args.python, cmd, out, errpath)
        result["busy_before"] = busy
        result["attempts"] = attempt + 1
        if best is None or result.get("others_cores", 0) < best.get("others_cores", 0):
            best = result
        if result["rc"] != 0 or result.get("others_cores", 0) <= args.max_busy:
            best = result
            break
        say(
            "  %s: other processes used %.2f cores during the run; repeating"
            % (tool_name, result["others_cores"])
        )
    record.update(best)
    with open(errpath) as f:
        stderr = f.read()
    if record["rc"] != 0:
        record["error"] = "exit status %d: %s" % (record["rc"], stderr.strip()[-2000:])
        say("  %s: FAILED (%s)" % (tool_name, record["error"].splitlines()[0][:200]))
        return record
    truth = None
    if os.path.exists(truth_path):
        with open(truth_path) as f:
            truth = json.load(f)
    adapter = adapters.get(tool["adapter"]) if tool["adapter"] else None
    if adapter is not None:
        files = [p for p in adapter.result_files(out) if os.path.isfile(p)]
        files = [p for p in files if not p.endswith((".truth.json", ".stderr"))]
        record["result_bytes"] = sum(os.path.getsize(p) for p in files)
        render_dir = out + ".rerender"
        os.makedirs(render_dir)
        rerender = adapter.rerender(out, render_dir)
        t0 = time.perf_counter()
        done = subprocess.run(
            rerender or ["true"],
            cwd=out,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if rerender:
            record["report_s"] = time.perf_counter() - t0
        if done.returncode != 0:
            record["report_error"] = done.stderr.strip()[-2000:]
            say("  %s: report FAILED: %s" % (tool_name, record["report_error"][:200]))
        try:
            lines, extra = adapter.line_bytes(out)
        except (subprocess.CalledProcessError, ValueError, KeyError, OSError) as exc:
            record["accuracy_error"] = "%s: %s" % (type(exc).__name__, exc)
            if getattr(exc, "stderr", None):
                record["accuracy_error"] += ": " + exc.stderr.strip()[-1000:]
            say(
                "  %s: reading per-line bytes FAILED: %s"
                % (tool_name, record["accuracy_error"][:200])
            )
            lines, extra = None, {}
        record["summary"] = extra
        if truth is not None and lines is not None:
            record["accuracy"] = {}
            for item in truth["lines"]:
                got = lines.get((os.path.realpath(item["file"]), item["line"]), 0)
                record["accuracy"][item["name"]] = {
                    "expected": item["bytes"],
                    "measured": got,
                    "rel_error": (got - item["bytes"]) / item["bytes"],
                    "predicted_sd": predicted_sd(
                        item.get("blocks"), item["bytes"], extra.get("sample_rate")
                    ),
                }
        if not args.keep:
            shutil.rmtree(render_dir, ignore_errors=True)
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
    return record


# ---- the whole benchmark ---------------------------------------------------------


def say(message):
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


# Workloads of other benchmarks, without the --scale and --truth this driver
# passes: deep_churn.py is bench/pyperformance.py's.
NOT_HERE = {"deep_churn"}


def discover_workloads(selected):
    names = sorted(
        f[:-3]
        for f in os.listdir(WORKLOADS_DIR)
        if f.endswith(".py") and not f.startswith("_") and f[:-3] not in NOT_HERE
    )
    if selected:
        unknown = [n for n in selected if n not in names]
        if unknown:
            raise SystemExit(
                "unknown workload(s): %s (have: %s)" % (", ".join(unknown), ", ".join(names))
            )
        names = [n for n in names if n in selected]
    return [{"name": n, "path": os.path.join(WORKLOADS_DIR, n + ".py"), "args": []} for n in names]


def default_python():
    venv = os.path.join(ROOT, "build", "bench-venv", "bin", "python")
    return venv if os.path.exists(venv) else sys.executable


def configurations(args):
    """TOOLS in order, with the --rates configurations after the last heapmark
    one, restricted to --only (and plain)."""
    rates = {
        "heapmark --sample-rate %s" % rate: heapmark_rate_tool(rate)
        for rate in [r.strip() for r in args.rates.split(",") if r.strip()]
    }
    last = [name for name, t in TOOLS.items() if t["adapter"] == "heapmark"][-1]
    tools = {}
    for name, tool in TOOLS.items():
        tools[name] = tool
        if name == "heapmark" and getattr(args, "baseline", None):
            # Another build of heapmark (another commit's venv) in the same
            # alternation: a change's cost, paired run by run.
            bindir = os.path.dirname(os.path.abspath(args.baseline))
            tools["heapmark (baseline)"] = {
                "run": [os.path.join(bindir, "heapmark")] + HEAPMARK_RUN[1:] + ["{script}"],
                "adapter": "heapmark",
                "label": "heapmark (default rate), baseline build",
                "check": [os.path.join(bindir, "heapmark"), "--help"],
            }
        if name == last:
            tools.update(rates)
    if args.only:
        wanted = [w.strip() for w in args.only.split(",")]
        unknown = [w for w in wanted if w not in tools]
        if unknown:
            raise SystemExit(
                "unknown configuration(s): %s (have: %s)" % (", ".join(unknown), ", ".join(tools))
            )
        tools = {name: t for name, t in tools.items() if name == "plain" or name in wanted}
    return tools


def available(args, tools):
    """The configurations whose "check" command succeeds, and {name: why} for
    the others (a peer not installed for --python)."""
    kept, skipped = {}, {}
    for name, tool in tools.items():
        if tool.get("check"):
            cmd = expand(tool["check"], python=args.python, bindir=args.bindir)
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
                why = (
                    None
                    if done.returncode == 0
                    else "`%s` failed: %s"
                    % (
                        " ".join(cmd),
                        (done.stderr.strip().splitlines() or ["exit status %d" % done.returncode])[
                            -1
                        ],
                    )
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                why = "not installed (%s: %s)" % (cmd[0], getattr(exc, "strerror", None) or exc)
            if why:
                skipped[name] = why
                continue
        kept[name] = tool
    return kept, skipped


def machine_info(python):
    info = {
        "cpu": "?",
        "cores": os.cpu_count(),
        "ram_gib": None,
        "kernel": platform.release(),
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    info["ram_gib"] = int(line.split()[1]) / (1 << 20)
    except OSError:
        pass
    probe = (
        "import sys, platform, os\n"
        "try:\n import numpy; nv = numpy.__version__\n"
        "except ImportError:\n nv = None\n"
        "try:\n from heapmark import _heapmark; import heapmark\n"
        " hv = heapmark.__version__; so = _heapmark.__file__\n"
        "except ImportError:\n hv = so = None\n"
        "print(platform.python_version()); print(nv); print(hv); print(so)"
    )
    out = subprocess.run([python, "-c", probe], capture_output=True, text=True).stdout.split()
    if len(out) == 4:
        info["python"], info["numpy"], info["heapmark"], engine = out
        if os.path.exists(engine):
            built = os.path.getmtime(engine)
            info["engine_built"] = (
                datetime.datetime.fromtimestamp(built).astimezone().strftime("%Y-%m-%d %H:%M %Z")
            )
            newer = [
                os.path.relpath(os.path.join(d, f), ROOT)
                for top in ("csrc", os.path.join("src", "heapmark"))
                for d, _, files in os.walk(os.path.join(ROOT, top))
                for f in files
                if f.endswith((".c", ".h", ".py")) and os.path.getmtime(os.path.join(d, f)) > built
            ]
            info["engine_stale"] = sorted(newer)
    try:
        git = ["git", "--no-optional-locks", "-C", ROOT]
        rev = subprocess.run(
            git + ["rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            git + ["status", "--porcelain", "--", "csrc", "src"], capture_output=True, text=True
        ).stdout.strip()
        info["commit"] = rev + (" + uncommitted changes in csrc/ or src/" if dirty else "")
    except OSError:
        info["commit"] = None
    # Versions of the peers installed for that interpreter (distribution names).
    probe = (
        "import json\nfrom importlib import metadata\nv = {}\n"
        "for name in ('memray', 'filprofiler', 'scalene'):\n"
        " try:\n  v[name] = metadata.version(name)\n"
        " except metadata.PackageNotFoundError:\n  pass\n"
        "print(json.dumps(v))"
    )
    try:
        info["peers"] = json.loads(
            subprocess.run([python, "-c", probe], capture_output=True, text=True).stdout
        )
    except ValueError:
        info["peers"] = {}
    return info


def cpu_busy(window=0.3):
    """Cores kept busy (by anything, hypervisor steal included) over a short
    window; called between runs, when none of the driver's commands runs."""
    try:
        b0, s0 = cpu_jiffies()
        time.sleep(window)
        b1, s1 = cpu_jiffies()
    except (OSError, ValueError, IndexError):
        return None
    return max(0.0, (b1 - b0 + s1 - s0) / window)


def wait_quiet(args):
    """Before a measured run: wait (up to --wait-quiet s) while other processes
    keep the machine busy; returns the last busy fraction seen."""
    deadline = time.time() + args.wait_quiet
    busy = cpu_busy()
    warned = False
    while busy is not None and busy > args.max_busy and time.time() < deadline:
        if not warned:
            say(
                "  machine busy (%.2f cores in use); waiting up to %.0f s"
                % (busy, deadline - time.time())
            )
            warned = True
        time.sleep(2)
        busy = cpu_busy()
    return busy


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return f.read().split()[0]
    except OSError:
        return "?"


def median(values):
    return statistics.median(values) if values else None


def fixed_cost(args, tools, scratch, rounds=5):
    """Median wall time of each configuration on an empty script: start-up and
    exit cost (for heapmark: its CLI, the engine's set-up, the reports)."""
    empty = os.path.join(scratch, "empty.py")
    with open(empty, "w") as f:
        f.write("pass\n")
    times = {}
    for i in range(rounds):
        for name, tool in tools.items():
            out = os.path.join(scratch, "empty-%d-%s" % (i, re.sub(r"\W+", "_", name)))
            os.makedirs(out)
            cmd = expand(tool["run"], python=args.python, bindir=args.bindir, out=out, script=empty)
            result = measure(args.python, cmd, out, out + ".stderr")
            if result["rc"] == 0:
                times.setdefault(name, []).append(result["wall_s"])
    return {name: median(t) for name, t in times.items()}


def predicted_sd(blocks, total, rate):
    """Relative standard deviation that Poisson byte sampling at mean interval
    `rate` alone gives for a line made of `blocks` ([size, count] pairs): a
    block of size s is sampled with p = 1 - exp(-s/R) and then stands for s/p
    bytes, so it contributes s^2 (1-p)/p to the variance; blocks of R bytes or
    more are recorded exactly."""
    if not blocks or not rate or rate <= 1 or not total:
        return None if not blocks else 0.0
    var = 0.0
    for size, count in blocks:
        if 0 < size < rate:
            p = -math.expm1(-size / rate)
            var += count * size * size * (1 - p) / p
    return math.sqrt(var) / total


def sampling_check(records, tools):
    """Per configuration, over the lines sampling should blur by at least 0.5%:
    mean error (bias) and rms of error / predicted standard deviation
    (about 1 if the estimates are as precise as sampling allows)."""
    rows = {}
    for name in tools:
        errs, zs = [], []
        for r in records:
            if r["config"] != name or "error" in r:
                continue
            for a in r.get("accuracy", {}).values():
                sd = a.get("predicted_sd")
                if sd and sd >= 0.005:
                    errs.append(a["rel_error"])
                    zs.append(a["rel_error"] / sd)
        if errs:
            rates = {
                r["summary"].get("sample_rate")
                for r in records
                if r["config"] == name and r.get("summary")
            }
            rows[name] = {
                "n": len(errs),
                "mean_error": statistics.fmean(errs),
                "median_abs_error": median([abs(e) for e in errs]),
                "rms_z": math.sqrt(statistics.fmean([z * z for z in zs])),
                "mean_z": statistics.fmean(zs),
                "rate": rates.pop() if len(rates) == 1 else None,
            }
    return rows


def summarise(records, tools, workloads):
    """Per workload and configuration: medians, ratios, accuracy."""
    table = {}
    for w in workloads:
        rows = {}
        for name in tools:
            ok = [
                r
                for r in records
                if r["workload"] == w["name"] and r["config"] == name and "error" not in r
            ]
            failed = sum(
                1
                for r in records
                if r["workload"] == w["name"] and r["config"] == name and "error" in r
            )
            row = {"runs": len(ok), "failed": failed}
            errors = [
                r["error"]
                for r in records
                if r["workload"] == w["name"] and r["config"] == name and "error" in r
            ]
            if errors:
                # The last line of the first failure's stderr says most.
                row["error"] = errors[0].strip().splitlines()[-1][:300]
            if ok:
                walls = [r["wall_s"] for r in ok]
                row.update(
                    wall_s=median(walls),
                    wall_min=min(walls),
                    wall_max=max(walls),
                    cpu_s=median([r["cpu_s"] for r in ok]),
                    rss_mib=median([r["maxrss_kib"] / 1024 for r in ok]),
                )
                if any("result_bytes" in r for r in ok):
                    row["result_kib"] = median(
                        [r["result_bytes"] / 1024 for r in ok if "result_bytes" in r]
                    )
                    row["report_s"] = median([r["report_s"] for r in ok if "report_s" in r])
                    row["peak_mib"] = median(
                        [
                            r["summary"]["peak_bytes"] / (1 << 20)
                            for r in ok
                            if r.get("summary", {}).get("peak_bytes") is not None
                        ]
                        or [0]
                    )
                acc, sds = {}, {}
                for r in ok:
                    for line, a in r.get("accuracy", {}).items():
                        acc.setdefault(line, []).append(a["rel_error"])
                        if a.get("predicted_sd") is not None:
                            sds.setdefault(line, []).append(a["predicted_sd"])
                if acc:
                    row["accuracy"] = {
                        line: {
                            "median_abs": median([abs(e) for e in errs]),
                            "worst": max(errs, key=abs),
                            "mean": statistics.fmean(errs),
                            "n": len(errs),
                            "predicted_sd": median(sds[line]) if line in sds else None,
                        }
                        for line, errs in acc.items()
                    }
            rows[name] = row
        plain = rows.get("plain", {})
        for row in rows.values():
            if row.get("wall_s") and plain.get("wall_s"):
                row["wall_ratio"] = row["wall_s"] / plain["wall_s"]
                row["cpu_ratio"] = row["cpu_s"] / plain["cpu_s"]
                row["rss_ratio"] = row["rss_mib"] / plain["rss_mib"]
        # Paired ratios (each repetition against the plain run next to it).
        for name, row in rows.items():
            pairs = []
            for rep in {r["rep"] for r in records}:
                a = [
                    r
                    for r in records
                    if r["workload"] == w["name"]
                    and r["rep"] == rep
                    and r["config"] == name
                    and "error" not in r
                ]
                p = [
                    r
                    for r in records
                    if r["workload"] == w["name"]
                    and r["rep"] == rep
                    and r["config"] == "plain"
                    and "error" not in r
                ]
                if a and p:
                    pairs.append(a[0]["wall_s"] / p[0]["wall_s"])
            if pairs:
                row["paired_wall_ratio"] = median(pairs)
        table[w["name"]] = rows
    return table


def render_saved(args):
    """The tables of a saved run, rendered by the current report.py."""
    with open(args.render) as f:
        saved = json.load(f)
    meta = saved["meta"]
    args.rates = ",".join(
        name.split()[-1] for name in meta["configs"] if name.startswith("heapmark --sample-rate")
    )
    tools = {name: tool for name, tool in configurations(args).items() if name in meta["configs"]}
    markdown = render_markdown(meta, saved["table"], tools)
    sys.stdout.write(markdown)
    if args.write_docs:
        write_docs(markdown)
        say("updated %s" % os.path.relpath(DOCS))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description="heapmark overhead and accuracy benchmark")
    parser.add_argument("--reps", type=int, default=7, help="repetitions (default 7)")
    parser.add_argument(
        "--warmup",
        type=int,
        default=1,
        help="unmeasured rounds of every configuration before each workload's "
        "repetitions (default 1)",
    )
    parser.add_argument(
        "--rates",
        default=DEFAULT_RATES,
        help="extra heapmark sample rates (default %s; '' for none)" % DEFAULT_RATES,
    )
    parser.add_argument(
        "--only", help="comma-separated configuration names to run (plain is always run)"
    )
    parser.add_argument(
        "--baseline",
        metavar="PYTHON",
        help="also run the heapmark installed for this interpreter (another "
        "commit's build, in its own venv) as 'heapmark (baseline)'",
    )
    parser.add_argument("--workloads", help="comma-separated workload names (default: all)")
    parser.add_argument(
        "--python",
        default=default_python(),
        help="interpreter that has heapmark and numpy, for the workloads and "
        "tools (default: build/bench-venv/bin/python if it exists, else this "
        "one)",
    )
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="update the results section of docs/performance.md",
    )
    parser.add_argument(
        "--results",
        default=os.path.join(HERE, "results"),
        help="where to put results.json (default bench/results/)",
    )
    parser.add_argument("--keep", action="store_true", help="keep every run's output files")
    parser.add_argument(
        "--slow-ratio",
        type=float,
        default=8.0,
        help="a configuration slower than this many times plain in the "
        "warm-up is measured only --slow-reps times (default 8)",
    )
    parser.add_argument(
        "--slow-reps",
        type=int,
        default=1,
        help="measured runs of such a slow configuration, its warm-up included (default 1)",
    )
    parser.add_argument(
        "--max-busy",
        type=float,
        default=0.15,
        help="before each run, wait while more than this many cores are busy; "
        "repeat a run during which other processes used more than this "
        "many cores (default 0.15)",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=3,
        help="repeat a run disturbed by other processes up to this many times (default 3)",
    )
    parser.add_argument(
        "--render",
        metavar="RESULTS_JSON",
        help="run nothing: render the tables of a saved results.json again "
        "(with --write-docs, into docs/performance.md)",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=120,
        help="longest wait for a quiet machine before a run, s (default 120)",
    )
    args = parser.parse_args(argv)
    args.python = os.path.abspath(args.python) if os.sep in args.python else args.python
    args.bindir = os.path.dirname(os.path.abspath(args.python))
    if args.reps < 1:
        parser.error("--reps must be at least 1")

    if args.render:
        return render_saved(args)
    workloads = discover_workloads(args.workloads.split(",") if args.workloads else None)
    tools = configurations(args)
    tools, skipped = available(args, tools)
    for name, why in skipped.items():
        say("%s: skipped, %s" % (name, why))
    adapters = {name: cls(args.bindir, args.python) for name, cls in ADAPTERS.items()}
    meta = {
        "machine": machine_info(args.python),
        "reps": args.reps,
        "warmup": args.warmup,
        "load_start": loadavg(),
        "configs": list(tools),
        "skipped": skipped,
        "workloads": [w["name"] for w in workloads],
        "slow": {},
        "slow_ratio": args.slow_ratio,
        "slow_reps": args.slow_reps,
        "command": "python3 bench/run.py --write-docs%s%s"
        % (
            "" if args.reps == 7 else " --reps %d" % args.reps,
            "" if args.python == default_python() else " --python " + args.python,
        ),
    }
    say(
        "heapmark bench: %d workload(s) x %d configuration(s) x %d repetition(s); load %s"
        % (len(workloads), len(tools), args.reps, meta["load_start"])
    )
    if meta["machine"].get("engine_stale"):
        say(
            "warning: the heapmark in %s is older than %s; reinstall it to measure the "
            "current engine (%s -m pip install %s)"
            % (args.python, ", ".join(meta["machine"]["engine_stale"][:5]), args.python, ROOT)
        )

    started = time.time()
    scratch = tempfile.mkdtemp(prefix="heapmark-bench-")
    records = []
    try:
        say("fixed cost: every configuration on an empty script")
        meta["fixed_cost_s"] = fixed_cost(args, tools, scratch)
        # One workload at a time, so that every run follows a run of the same
        # workload (the first ones after the switch are the unmeasured warm-up).
        for w in workloads:
            # A configuration that takes more than --slow-ratio times plain
            # in the warm-up (tracemalloc: up to 100x) is measured only
            # --slow-reps times in all, its warm-up run counting as the
            # first: seven runs of several minutes each would tell no more.
            slow = {}
            for i in range(args.warmup):
                warm = {}
                for name, tool in tools.items():
                    say("warm-up %d: %s / %s" % (i + 1, w["name"], name))
                    warm[name] = run_once(args, name, tool, w, -1 - i, scratch, adapters)
                plain_s = warm.get("plain", {}).get("wall_s")
                for name, rec in warm.items():
                    if (
                        i == 0
                        and plain_s
                        and "error" not in rec
                        and rec["wall_s"] > args.slow_ratio * plain_s
                    ):
                        say(
                            "  %s: %.0fx plain; measured %d time(s) only"
                            % (name, rec["wall_s"] / plain_s, args.slow_reps)
                        )
                        slow[name] = rec
                        meta["slow"].setdefault(name, []).append(w["name"])
                        rec["slow"] = True
                        records.append(rec)
            for rep in range(args.reps):
                say("rep %d/%d: %s (load %s)" % (rep + 1, args.reps, w["name"], loadavg()))
                for name, tool in tools.items():
                    if name in slow and rep + 1 >= args.slow_reps:
                        continue
                    rec = run_once(args, name, tool, w, rep, scratch, adapters)
                    records.append(rec)
                    if "error" not in rec:
                        say(
                            "  %-32s %6.2f s  %7.1f MiB"
                            % (name, rec["wall_s"], rec["maxrss_kib"] / 1024)
                        )
    finally:
        if args.keep:
            say("run outputs kept in %s" % scratch)
        else:
            shutil.rmtree(scratch, ignore_errors=True)

    meta["load_end"] = loadavg()
    meta["elapsed_s"] = time.time() - started
    others = [r["others_cores"] for r in records if r.get("others_cores") is not None]
    meta["others_cores"] = [median(others), max(others)] if others else None
    meta["max_busy"] = args.max_busy
    meta["repeated"] = sum(r.get("attempts", 1) - 1 for r in records)
    meta["disturbed"] = sum(1 for r in records if r.get("others_cores", 0) > args.max_busy)
    meta["expected"] = {}
    for r in records:
        for line, a in r.get("accuracy", {}).items():
            meta["expected"].setdefault(r["workload"], {})[line] = a["expected"]
    table = summarise(records, tools, workloads)
    meta["sampling_check"] = sampling_check(records, tools)
    markdown = render_markdown(meta, table, tools)

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    os.makedirs(os.path.join(args.results, stamp), exist_ok=True)
    raw = os.path.join(args.results, stamp, "results.json")
    with open(raw, "w") as f:
        json.dump({"meta": meta, "table": table, "records": records}, f, indent=1)
    with open(os.path.join(args.results, stamp, "results.md"), "w") as f:
        f.write(markdown)
    sys.stdout.write(markdown)
    say("raw results: %s" % os.path.relpath(raw))
    if args.write_docs:
        write_docs(markdown)
        say("updated %s" % os.path.relpath(DOCS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
