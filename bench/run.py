"""heapmark benchmark driver: overhead and accuracy against plain Python.

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
                (CLI start-up included), timed outside the run;
  accuracy      each workload, given ``--truth FILE``, writes the bytes a few
                of its lines hold at the peak; these are compared with the
                tool's per-line figures (``heapmark report --json``, ``top``)
                and the relative error is reported per line and configuration
                (median and worst over the repetitions).

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

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKLOADS_DIR = os.path.join(HERE, "workloads")
DOCS = os.path.join(ROOT, "docs", "performance.md")
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

DEFAULT_RATES = "16K,32K,128K,256K,512K"

# ---- tools -------------------------------------------------------------------
#
# A tool configuration is data: a command template and the name of an adapter
# that knows where the tool puts its results, how to re-render its reports and
# how to read per-line bytes at the peak.  Placeholders: {python} (the bench
# interpreter), {bindir} (its bin/ directory, where console scripts live),
# {out} (a fresh, empty results directory), {script} (the workload); the
# workload's own arguments are appended.  Peers (issue #4) are added here, e.g.
#   "memray": {"run": ["{bindir}/memray", "run", "-q", "-o", "{out}/capture.bin",
#                      "{script}"], "adapter": "memray"}
# with a matching class in ADAPTERS.  An adapter has result_files(out) -> paths,
# rerender(out, scratch) -> command or None, and line_bytes(out) ->
# ({(realpath, line): bytes at the peak} or None, {summary numbers}).

HEAPMARK_RUN = ["{bindir}/heapmark", "run", "-q", "-o", "{out}"]

TOOLS = {
    "plain": {"run": ["{python}", "{script}"], "adapter": None},
    "heapmark": {"run": HEAPMARK_RUN + ["{script}"], "adapter": "heapmark",
                 "label": "heapmark (default rate)"},
    "heapmark --exact": {"run": HEAPMARK_RUN + ["--exact", "{script}"],
                         "adapter": "heapmark"},
}


def heapmark_rate_tool(rate):
    return {"run": HEAPMARK_RUN + ["--sample-rate", rate, "{script}"], "adapter": "heapmark"}


class HeapmarkAdapter:
    """heapmark: results in {out}/ (profile.db and reports)."""

    def __init__(self, bindir):
        self.exe = os.path.join(bindir, "heapmark")

    def result_files(self, out):
        return [os.path.join(out, f) for f in sorted(os.listdir(out))]

    def rerender(self, out, scratch):
        """Command that re-renders the reports (timed by the driver)."""
        return [self.exe, "report", os.path.join(out, "profile.db"), "-o", scratch]

    def line_bytes(self, out):
        """{(realpath, line): bytes at the peak} and a few summary numbers."""
        text = subprocess.run([self.exe, "report", os.path.join(out, "profile.db"),
                               "--json", "--top", "100000"],
                              capture_output=True, text=True, check=True).stdout
        summary = json.loads(text)
        lines = {}
        for entry in summary.get("top", []):
            if not entry.get("file"):
                continue
            key = (os.path.realpath(entry["file"]), entry["line"])
            lines[key] = lines.get(key, 0) + entry["bytes"]
        extra = {k: summary.get(k) for k in ("peak_bytes", "peak_rss_bytes", "peak_at_s",
                                             "duration_s", "heapmark_overhead_bytes", "mode",
                                             "sample_rate")}
        return lines, extra


ADAPTERS = {"heapmark": HeapmarkAdapter}

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


def cpu_jiffies():
    """(busy, steal) CPU time of the whole machine so far, in seconds."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    busy = v[0] + v[1] + v[2] + v[5] + v[6]          # user nice system irq softirq
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
    done = subprocess.run([python, "-c", WRAPPER, json.dumps([cmd, cwd, errpath])],
                          capture_output=True, text=True, check=True)
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
    cmd = expand(tool["run"], python=args.python, bindir=args.bindir, out=out,
                 script=workload["path"]) + ["--truth", truth_path] + workload["args"]
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
        say("  %s: other processes used %.2f cores during the run; repeating"
            % (tool_name, result["others_cores"]))
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
        done = subprocess.run(rerender or ["true"], cwd=out,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if rerender:
            record["report_s"] = time.perf_counter() - t0
        if done.returncode != 0:
            record["report_error"] = done.stderr.strip()[-2000:]
            say("  %s: heapmark report FAILED: %s" % (tool_name, record["report_error"][:200]))
        try:
            lines, extra = adapter.line_bytes(out)
        except (subprocess.CalledProcessError, ValueError) as exc:
            record["accuracy_error"] = str(exc)
            lines, extra = None, {}
        record["summary"] = extra
        if truth is not None and lines is not None:
            record["accuracy"] = {}
            for item in truth["lines"]:
                got = lines.get((os.path.realpath(item["file"]), item["line"]), 0)
                record["accuracy"][item["name"]] = {
                    "expected": item["bytes"], "measured": got,
                    "rel_error": (got - item["bytes"]) / item["bytes"],
                    "predicted_sd": predicted_sd(item.get("blocks"), item["bytes"],
                                                 extra.get("sample_rate"))}
        if not args.keep:
            shutil.rmtree(render_dir, ignore_errors=True)
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
    return record


# ---- the whole benchmark ---------------------------------------------------------

def say(message):
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def discover_workloads(selected):
    names = sorted(f[:-3] for f in os.listdir(WORKLOADS_DIR)
                   if f.endswith(".py") and not f.startswith("_"))
    if selected:
        unknown = [n for n in selected if n not in names]
        if unknown:
            raise SystemExit("unknown workload(s): %s (have: %s)"
                             % (", ".join(unknown), ", ".join(names)))
        names = [n for n in names if n in selected]
    return [{"name": n, "path": os.path.join(WORKLOADS_DIR, n + ".py"), "args": []}
            for n in names]


def default_python():
    venv = os.path.join(ROOT, "build", "bench-venv", "bin", "python")
    return venv if os.path.exists(venv) else sys.executable


def configurations(args):
    tools = dict(TOOLS)
    for rate in [r.strip() for r in args.rates.split(",") if r.strip()]:
        tools["heapmark --sample-rate %s" % rate] = heapmark_rate_tool(rate)
    if args.only:
        wanted = [w.strip() for w in args.only.split(",")]
        tools = {name: t for name, t in tools.items() if name == "plain" or name in wanted}
    return tools


def machine_info(python):
    info = {"cpu": "?", "cores": os.cpu_count(), "ram_gib": None,
            "kernel": platform.release(), "date": datetime.datetime.now().astimezone()
            .strftime("%Y-%m-%d %H:%M %Z")}
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
    probe = ("import sys, platform, os\n"
             "try:\n import numpy; nv = numpy.__version__\n"
             "except ImportError:\n nv = None\n"
             "try:\n from heapmark import _heapmark; import heapmark\n"
             " hv = heapmark.__version__; so = _heapmark.__file__\n"
             "except ImportError:\n hv = so = None\n"
             "print(platform.python_version()); print(nv); print(hv); print(so)")
    out = subprocess.run([python, "-c", probe], capture_output=True, text=True).stdout.split()
    if len(out) == 4:
        info["python"], info["numpy"], info["heapmark"], engine = out
        if os.path.exists(engine):
            built = os.path.getmtime(engine)
            info["engine_built"] = datetime.datetime.fromtimestamp(built).astimezone() \
                .strftime("%Y-%m-%d %H:%M %Z")
            newer = [os.path.relpath(os.path.join(d, f), ROOT)
                     for top in ("csrc", os.path.join("src", "heapmark"))
                     for d, _, files in os.walk(os.path.join(ROOT, top))
                     for f in files if f.endswith((".c", ".h", ".py"))
                     and os.path.getmtime(os.path.join(d, f)) > built]
            info["engine_stale"] = sorted(newer)
    try:
        git = ["git", "--no-optional-locks", "-C", ROOT]
        rev = subprocess.run(git + ["rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(git + ["status", "--porcelain", "--", "csrc", "src"],
                               capture_output=True, text=True).stdout.strip()
        info["commit"] = rev + (" + uncommitted changes in csrc/ or src/" if dirty else "")
    except OSError:
        info["commit"] = None
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
            say("  machine busy (%.2f cores in use); waiting up to %.0f s"
                % (busy, deadline - time.time()))
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
            cmd = expand(tool["run"], python=args.python, bindir=args.bindir, out=out,
                         script=empty)
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
            rates = {r["summary"].get("sample_rate") for r in records
                     if r["config"] == name and r.get("summary")}
            rows[name] = {"n": len(errs), "mean_error": statistics.fmean(errs),
                          "median_abs_error": median([abs(e) for e in errs]),
                          "rms_z": math.sqrt(statistics.fmean([z * z for z in zs])),
                          "mean_z": statistics.fmean(zs),
                          "rate": rates.pop() if len(rates) == 1 else None}
    return rows


def summarise(records, tools, workloads):
    """Per workload and configuration: medians, ratios, accuracy."""
    table = {}
    for w in workloads:
        rows = {}
        for name in tools:
            ok = [r for r in records if r["workload"] == w["name"] and r["config"] == name
                  and "error" not in r]
            failed = sum(1 for r in records if r["workload"] == w["name"]
                         and r["config"] == name and "error" in r)
            row = {"runs": len(ok), "failed": failed}
            if ok:
                walls = [r["wall_s"] for r in ok]
                row.update(wall_s=median(walls), wall_min=min(walls), wall_max=max(walls),
                           cpu_s=median([r["cpu_s"] for r in ok]),
                           rss_mib=median([r["maxrss_kib"] / 1024 for r in ok]))
                if any("result_bytes" in r for r in ok):
                    row["result_kib"] = median([r["result_bytes"] / 1024 for r in ok
                                                if "result_bytes" in r])
                    row["report_s"] = median([r["report_s"] for r in ok if "report_s" in r])
                    row["peak_mib"] = median([r["summary"]["peak_bytes"] / (1 << 20)
                                              for r in ok if r.get("summary", {})
                                              .get("peak_bytes") is not None] or [0])
                acc, sds = {}, {}
                for r in ok:
                    for line, a in r.get("accuracy", {}).items():
                        acc.setdefault(line, []).append(a["rel_error"])
                        if a.get("predicted_sd") is not None:
                            sds.setdefault(line, []).append(a["predicted_sd"])
                if acc:
                    row["accuracy"] = {
                        line: {"median_abs": median([abs(e) for e in errs]),
                               "worst": max(errs, key=abs),
                               "mean": statistics.fmean(errs), "n": len(errs),
                               "predicted_sd": median(sds[line]) if line in sds else None}
                        for line, errs in acc.items()}
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
                a = [r for r in records if r["workload"] == w["name"] and r["rep"] == rep
                     and r["config"] == name and "error" not in r]
                p = [r for r in records if r["workload"] == w["name"] and r["rep"] == rep
                     and r["config"] == "plain" and "error" not in r]
                if a and p:
                    pairs.append(a[0]["wall_s"] / p[0]["wall_s"])
            if pairs:
                row["paired_wall_ratio"] = median(pairs)
        table[w["name"]] = rows
    return table


# ---- output ----------------------------------------------------------------------

def pct(x):
    if x is None:
        return "-"
    return ("%.2f%%" if abs(x) < 0.01 else "%.1f%%") % (100 * x)


def spct(x):
    if x is None:
        return "-"
    return ("%+.2f%%" if abs(x) < 0.01 else "%+.1f%%") % (100 * x)


def render_markdown(meta, table, tools):
    m = meta["machine"]
    out = []
    out.append("Measured %s on %s (%d cores), %.1f GiB RAM, Linux %s, Python %s, numpy %s; "
               "heapmark %s, engine built %s; source tree at commit %s."
               % (m["date"], m["cpu"], m["cores"], m["ram_gib"] or 0, m["kernel"],
                  m.get("python"), m.get("numpy"), m.get("heapmark"), m.get("engine_built"),
                  m.get("commit")))
    if m.get("engine_stale"):
        out.append("")
        out.append("**Warning:** these sources are newer than the engine measured: %s."
                   % ", ".join(m["engine_stale"]))
    out.append("")
    out.append("%d repetitions per configuration, one workload after the other, each run in "
               "alternation (plain, then each configuration in turn, repeated) after %s "
               "unmeasured warm-up round(s). "
               "Load average %s at the start, %s at the end; %.0f s in all."
               % (meta["reps"], meta["warmup"], meta["load_start"], meta["load_end"],
                  meta["elapsed_s"]))
    others = meta.get("others_cores")
    if others:
        out.append("Other processes (and the hypervisor) used a median %.2f cores, at most "
                   "%.2f, during the measured runs; %d run(s) were repeated because they "
                   "used more than %.2f, %d kept although they did."
                   % (others[0], others[1], meta["repeated"], meta["max_busy"],
                      meta["disturbed"]))
    fixed = meta.get("fixed_cost_s")
    if fixed:
        out.append("")
        out.append("Fixed cost, the median wall time on an empty script (start-up, and for "
                   "heapmark its CLI, engine set-up and reports): %s."
                   % ", ".join("%s %.3f s" % (tools[n].get("label", n), t)
                               for n, t in fixed.items()))
    out.append("")
    out.append("Rerun: `make bench`, i.e. `%s`." % meta["command"])
    out.append("")
    out.append("Columns: *wall* is the median end-to-end time in seconds (min-max over the "
               "repetitions in brackets), *ratio* is median / plain median, *paired ratio* the "
               "median over repetitions of time / time of the plain run of the same "
               "repetition; *CPU ratio* is median / plain median for user+system CPU time; *peak RSS* is ru_maxrss of the profiled "
               "process; *files* the size of everything the run wrote (profile.db and "
               "reports); *report* the median time of `heapmark report PROFILE -o DIR` "
               "(re-rendering all reports, CLI start-up included); *accuracy* the relative "
               "error of the bytes reported for the known lines at the peak: the largest "
               "per-line median |error|, then the worst single line in any repetition.")
    for wname, rows in table.items():
        out.append("")
        out.append("### %s" % wname)
        out.append("")
        out.append("| configuration | wall s | ratio | paired ratio | CPU ratio | peak RSS MiB | "
                   "RSS ratio | files KiB | report s | accuracy: median / worst |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for name in tools:
            r = rows.get(name, {})
            label = tools[name].get("label", name)
            if not r.get("runs"):
                out.append("| %s | failed (%d runs) | | | | | | | | |"
                           % (label, r.get("failed", 0)))
                continue
            acc = r.get("accuracy")
            if acc:
                med = max(a["median_abs"] for a in acc.values())
                worst = max((a["worst"] for a in acc.values()), key=abs)
                acc_text = "%s / %s" % (pct(med), spct(worst))
            else:
                acc_text = "-"
            fail = " (%d failed)" % r["failed"] if r.get("failed") else ""
            out.append("| %s%s | %.2f (%.2f-%.2f) | %.2fx | %.2fx | %.2fx | %.0f | %.2fx | %s | %s "
                       "| %s |"
                       % (label, fail, r["wall_s"], r["wall_min"], r["wall_max"],
                          r.get("wall_ratio", 0), r.get("paired_wall_ratio", 0),
                          r.get("cpu_ratio", 0), r["rss_mib"],
                          r.get("rss_ratio", 0),
                          "%.0f" % r["result_kib"] if "result_kib" in r else "-",
                          "%.2f" % r["report_s"] if r.get("report_s") is not None else "-",
                          acc_text))
        names = []
        for r in rows.values():
            for line in r.get("accuracy", {}):
                if line not in names:
                    names.append(line)
        if names:
            out.append("")
            out.append("Accuracy per known line (%s): median |error| / worst error over the "
                       "repetitions, and σ, the relative standard deviation that sampling "
                       "alone gives for that line (about sqrt(R/B) for B bytes in blocks much "
                       "smaller than the interval R; blocks of R bytes or more are recorded "
                       "exactly).  Expected bytes at the peak in the header." % wname)
            out.append("")
            expected = meta["expected"].get(wname, {})
            out.append("| configuration | " + " | ".join(
                "%s (%.1f MiB)" % (n, expected.get(n, 0) / (1 << 20)) for n in names) + " |")
            out.append("|---|" + "---:|" * len(names))
            for name in tools:
                acc = rows.get(name, {}).get("accuracy")
                if not acc:
                    continue
                cells = []
                for n in names:
                    if n not in acc:
                        cells.append("-")
                        continue
                    sd = acc[n].get("predicted_sd")
                    cells.append("%s / %s%s" % (pct(acc[n]["median_abs"]), spct(acc[n]["worst"]),
                                                " (σ %s)" % pct(sd) if sd and sd >= 0.0005
                                                else ""))
                out.append("| %s | %s |" % (tools[name].get("label", name), " | ".join(cells)))
    check = meta.get("sampling_check")
    if check:
        out.append("")
        out.append("### Sampling check")
        out.append("")
        out.append("Over every known line of both workloads for which σ is at least 0.5%: "
                   "the mean signed error (bias) and the root mean square of error / σ, "
                   "which is about 1 when the estimates are unbiased and exactly as "
                   "precise as sampling allows (larger means extra error).")
        out.append("")
        out.append("| configuration | interval | line-runs | median \\|error\\| | mean error | "
                   "rms(error / σ) |")
        out.append("|---|---:|---:|---:|---:|---:|")
        for name in tools:
            c = check.get(name)
            if not c:
                continue
            out.append("| %s | %s | %d | %s | %s | %.2f |"
                       % (tools[name].get("label", name),
                          "%d KiB" % (c["rate"] // 1024) if c.get("rate") else "?", c["n"],
                          pct(c["median_abs_error"]), spct(c["mean_error"]), c["rms_z"]))
    return "\n".join(out) + "\n"


INTRO = """# Performance

How much heapmark costs (time, memory, disk) and how close its per-line figures
are to the truth, measured by `bench/run.py` on the workloads in
`bench/workloads/`:

- `alloc_heavy.py`: pure Python that builds and drops dicts, tuples, strings
  and lists in loops and recurses 50 frames deep, allocating in every frame;
- `numpy_pipeline.py`: a dataframe-style numpy pipeline over 24 MB columns,
  with arithmetic temporaries and reductions and few Python objects.

Each workload ends with a phase whose allocations are known exactly (sizes from
`sys.getsizeof`, small objects at their 16-byte pymalloc size class) and that
contains the peak; the accuracy tables compare heapmark's bytes for those
lines at the peak (`heapmark report --json`, `top`) with the truth.  The
default mode samples (mean interval `--sample-rate`, 64 KiB by default);
`--exact` records every allocation.  The rates sweep shows what a different
default would cost and give.

Every configuration runs in alternation with plain Python, each run in a fresh
wrapper process that reads the peak RSS of everything it waited for; runs
during which other processes used the CPU are repeated.  These are
measurements on one machine, not guarantees, and nothing in the benchmark
asserts on time.  The machine has 2 cores and is shared; the numpy workload
in particular varies by several percent from run to run (page faults on fresh
buffers), more than some of the differences it is meant to show, so compare
its ratios with its min-max ranges.

To rerun: create the bench venv once and reinstall heapmark into it after
changing the engine (the driver warns when the sources are newer than the
installed engine), then `make bench`:

    python3.11 -m venv build/bench-venv
    build/bench-venv/bin/pip install . numpy
    make bench                  # = python3 bench/run.py --write-docs
"""


def write_docs(markdown):
    block = "%s\n%s%s" % (BEGIN, markdown, END)
    if os.path.exists(DOCS):
        with open(DOCS) as f:
            text = f.read()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            tail = rest.split(END, 1)[1]
            text = head + block + tail
        else:
            text = text.rstrip("\n") + "\n\n## Results\n\n" + block + "\n"
    else:
        os.makedirs(os.path.dirname(DOCS), exist_ok=True)
        text = INTRO + "\n## Results\n\n" + block + "\n"
    with open(DOCS, "w") as f:
        f.write(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description="heapmark overhead and accuracy benchmark")
    parser.add_argument("--reps", type=int, default=7, help="repetitions (default 7)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="unmeasured rounds of every configuration before each workload's "
                        "repetitions (default 1)")
    parser.add_argument("--rates", default=DEFAULT_RATES,
                        help="extra heapmark sample rates (default %s; '' for none)"
                        % DEFAULT_RATES)
    parser.add_argument("--only", help="comma-separated configuration names to run "
                        "(plain is always run)")
    parser.add_argument("--workloads", help="comma-separated workload names (default: all)")
    parser.add_argument("--python", default=default_python(),
                        help="interpreter that has heapmark and numpy, for the workloads and "
                        "tools (default: build/bench-venv/bin/python if it exists, else this "
                        "one)")
    parser.add_argument("--write-docs", action="store_true",
                        help="update the results section of docs/performance.md")
    parser.add_argument("--results", default=os.path.join(HERE, "results"),
                        help="where to put results.json (default bench/results/)")
    parser.add_argument("--keep", action="store_true", help="keep every run's output files")
    parser.add_argument("--max-busy", type=float, default=0.15,
                        help="before each run, wait while more than this many cores are busy; "
                        "repeat a run during which other processes used more than this "
                        "many cores (default 0.15)")
    parser.add_argument("--retries", type=int, default=3,
                        help="repeat a run disturbed by other processes up to this many "
                        "times (default 3)")
    parser.add_argument("--wait-quiet", type=float, default=120,
                        help="longest wait for a quiet machine before a run, s (default 120)")
    args = parser.parse_args(argv)
    args.bindir = os.path.dirname(os.path.abspath(args.python))
    if args.reps < 1:
        parser.error("--reps must be at least 1")

    workloads = discover_workloads(args.workloads.split(",") if args.workloads else None)
    tools = configurations(args)
    adapters = {name: cls(args.bindir) for name, cls in ADAPTERS.items()}
    meta = {"machine": machine_info(args.python), "reps": args.reps, "warmup": args.warmup,
            "load_start": loadavg(), "configs": list(tools),
            "workloads": [w["name"] for w in workloads],
            "command": "python3 bench/run.py --write-docs%s%s"
            % ("" if args.reps == 7 else " --reps %d" % args.reps,
               "" if args.python == default_python() else " --python " + args.python)}
    say("heapmark bench: %d workload(s) x %d configuration(s) x %d repetition(s); load %s"
        % (len(workloads), len(tools), args.reps, meta["load_start"]))
    if meta["machine"].get("engine_stale"):
        say("warning: the heapmark in %s is older than %s; reinstall it to measure the "
            "current engine (%s -m pip install %s)"
            % (args.python, ", ".join(meta["machine"]["engine_stale"][:5]), args.python, ROOT))

    started = time.time()
    scratch = tempfile.mkdtemp(prefix="heapmark-bench-")
    records = []
    try:
        say("fixed cost: every configuration on an empty script")
        meta["fixed_cost_s"] = fixed_cost(args, tools, scratch)
        # One workload at a time, so that every run follows a run of the same
        # workload (the first ones after the switch are the unmeasured warm-up).
        for w in workloads:
            for i in range(args.warmup):
                for name, tool in tools.items():
                    say("warm-up %d: %s / %s" % (i + 1, w["name"], name))
                    run_once(args, name, tool, w, -1 - i, scratch, adapters)
            for rep in range(args.reps):
                say("rep %d/%d: %s (load %s)" % (rep + 1, args.reps, w["name"], loadavg()))
                for name, tool in tools.items():
                    rec = run_once(args, name, tool, w, rep, scratch, adapters)
                    records.append(rec)
                    if "error" not in rec:
                        say("  %-32s %6.2f s  %7.1f MiB" % (name, rec["wall_s"],
                                                            rec["maxrss_kib"] / 1024))
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
