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

Nothing here asserts on time: it measures.  Standard library only; run it
with the interpreter that has heapmark (and numpy) installed:

    python3.11 -m venv build/bench-venv
    build/bench-venv/bin/pip install . numpy     # again after engine changes
    build/bench-venv/bin/python bench/run.py --reps 7 --write-docs

``--write-docs`` replaces the part of docs/performance.md between the
``<!-- bench:begin -->`` and ``<!-- bench:end -->`` markers.  Raw results go
to bench/results/<date>/results.json (not versioned).
"""
import argparse
import datetime
import json
import os
import platform
import re
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
# with a matching class in ADAPTERS.

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


def measure(python, cmd, cwd, errpath):
    done = subprocess.run([python, "-c", WRAPPER, json.dumps([cmd, cwd, errpath])],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


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
    record = {"workload": workload["name"], "config": tool_name, "rep": rep,
              "busy_before": wait_quiet(args)}
    record.update(measure(args.python, cmd, out, errpath))
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
        t0 = time.perf_counter()
        done = subprocess.run(adapter.rerender(out, render_dir), cwd=out,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        record["report_s"] = time.perf_counter() - t0
        if done.returncode != 0:
            record["report_error"] = done.stderr.strip()[-2000:]
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
                    "rel_error": (got - item["bytes"]) / item["bytes"]}
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
    probe = ("import sys, platform\n"
             "try:\n import numpy; nv = numpy.__version__\n"
             "except ImportError:\n nv = None\n"
             "try:\n import heapmark; hv = heapmark.__version__\n"
             "except ImportError:\n hv = None\n"
             "print(platform.python_version()); print(nv); print(hv)")
    out = subprocess.run([python, "-c", probe], capture_output=True, text=True).stdout.split()
    if len(out) == 3:
        info["python"], info["numpy"], info["heapmark"] = out
    try:
        rev = subprocess.run(["git", "--no-optional-locks", "-C", ROOT, "rev-parse", "--short",
                              "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "--no-optional-locks", "-C", ROOT, "status",
                                "--porcelain", "--", "csrc", "src"],
                               capture_output=True, text=True).stdout.strip()
        info["commit"] = rev + (" + uncommitted changes in csrc/ or src/" if dirty else "")
    except OSError:
        info["commit"] = None
    return info


def cpu_busy(window=0.3):
    """Fraction of all cores busy (any process) over a short window; the
    driver calls it between runs, when none of its own commands is running."""
    def snap():
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        return sum(values), values[3] + values[4]   # total, idle + iowait
    try:
        t0, i0 = snap()
        time.sleep(window)
        t1, i1 = snap()
    except (OSError, ValueError, IndexError):
        return None
    return 1.0 - (i1 - i0) / (t1 - t0) if t1 > t0 else None


def wait_quiet(args):
    """Before a measured run: wait (up to --wait-quiet s) while other processes
    keep the machine busy; returns the last busy fraction seen."""
    deadline = time.time() + args.wait_quiet
    busy = cpu_busy()
    warned = False
    while busy is not None and busy > args.max_busy and time.time() < deadline:
        if not warned:
            say("  machine busy (%.0f%% of all cores); waiting up to %.0f s"
                % (100 * busy, deadline - time.time()))
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
                acc = {}
                for r in ok:
                    for line, a in r.get("accuracy", {}).items():
                        acc.setdefault(line, []).append(a["rel_error"])
                if acc:
                    row["accuracy"] = {
                        line: {"median_abs": median([abs(e) for e in errs]),
                               "worst": max(errs, key=abs),
                               "mean": statistics.fmean(errs), "n": len(errs)}
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
               "heapmark %s (commit %s)."
               % (m["date"], m["cpu"], m["cores"], m["ram_gib"] or 0, m["kernel"],
                  m.get("python"), m.get("numpy"), m.get("heapmark"), m.get("commit")))
    out.append("")
    out.append("%d repetitions per configuration, run in alternation (plain, then each "
               "configuration in turn, repeated); %s warm-up run(s) per workload not counted. "
               "Load average %s at the start, %s at the end; %.0f s in all."
               % (meta["reps"], meta["warmup"], meta["load_start"], meta["load_end"],
                  meta["elapsed_s"]))
    busy = meta.get("busy_before")
    if busy:
        out.append("Other processes kept a median %.0f%% (at most %.0f%%) of the CPUs busy "
                   "in the 0.3 s before each run." % (100 * busy[0], 100 * busy[1]))
    out.append("")
    out.append("Rerun: `make bench`, i.e. `%s`." % meta["command"])
    out.append("")
    out.append("Columns: *wall* is the median end-to-end time in seconds (min-max over the "
               "repetitions in brackets), *ratio* is median / plain median; *CPU ratio* the "
               "same for user+system CPU time; *peak RSS* is ru_maxrss of the profiled "
               "process; *files* the size of everything the run wrote (profile.db and "
               "reports); *report* the median time of `heapmark report PROFILE -o DIR` "
               "(re-rendering all reports, CLI start-up included); *accuracy* the relative "
               "error of the bytes reported for the known lines at the peak: the largest "
               "per-line median |error|, then the worst single line in any repetition.")
    for wname, rows in table.items():
        out.append("")
        out.append("### %s" % wname)
        out.append("")
        out.append("| configuration | wall s | ratio | CPU ratio | peak RSS MiB | RSS ratio | "
                   "files KiB | report s | accuracy: median / worst |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for name in tools:
            r = rows.get(name, {})
            label = tools[name].get("label", name)
            if not r.get("runs"):
                out.append("| %s | failed (%d runs) | | | | | | | |" % (label, r.get("failed", 0)))
                continue
            acc = r.get("accuracy")
            if acc:
                med = max(a["median_abs"] for a in acc.values())
                worst = max((a["worst"] for a in acc.values()), key=abs)
                acc_text = "%s / %s" % (pct(med), spct(worst))
            else:
                acc_text = "-"
            fail = " (%d failed)" % r["failed"] if r.get("failed") else ""
            out.append("| %s%s | %.2f (%.2f-%.2f) | %.2fx | %.2fx | %.0f | %.2fx | %s | %s | %s |"
                       % (label, fail, r["wall_s"], r["wall_min"], r["wall_max"],
                          r.get("wall_ratio", 0), r.get("cpu_ratio", 0), r["rss_mib"],
                          r.get("rss_ratio", 0),
                          "%.0f" % r["result_kib"] if "result_kib" in r else "-",
                          "%.2f" % r["report_s"] if "report_s" in r else "-", acc_text))
        names = []
        for r in rows.values():
            for line in r.get("accuracy", {}):
                if line not in names:
                    names.append(line)
        if names:
            out.append("")
            out.append("Accuracy per known line (%s): median |error| / worst error over the "
                       "repetitions; expected bytes at the peak in the header."
                       % wname)
            out.append("")
            expected = meta["expected"].get(wname, {})
            out.append("| configuration | " + " | ".join(
                "%s (%.1f MiB)" % (n, expected.get(n, 0) / (1 << 20)) for n in names) + " |")
            out.append("|---|" + "---:|" * len(names))
            for name in tools:
                acc = rows.get(name, {}).get("accuracy")
                if not acc:
                    continue
                cells = ["%s / %s" % (pct(acc[n]["median_abs"]), spct(acc[n]["worst"]))
                         if n in acc else "-" for n in names]
                out.append("| %s | %s |" % (tools[name].get("label", name), " | ".join(cells)))
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
contains the peak; the accuracy columns compare heapmark's bytes for those
lines at the peak with the truth.  The default mode samples (mean interval
`--sample-rate`, 64 KiB by default); `--exact` records every allocation.
These are measurements on one machine, not guarantees; nothing in the
benchmark asserts on time.  The machine below has 2 cores and is shared, so
read differences of a few percent with care.

To rerun: create the bench venv once (see the docstring of `bench/run.py`),
reinstall heapmark into it after changing the engine, then `make bench`.
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
                        help="unmeasured runs of every configuration first (default 1)")
    parser.add_argument("--rates", default=DEFAULT_RATES,
                        help="extra heapmark sample rates (default %s; '' for none)"
                        % DEFAULT_RATES)
    parser.add_argument("--only", help="comma-separated configuration names to run "
                        "(plain is always run)")
    parser.add_argument("--workloads", help="comma-separated workload names (default: all)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter for the workloads and tools (default: this one)")
    parser.add_argument("--write-docs", action="store_true",
                        help="update the results section of docs/performance.md")
    parser.add_argument("--results", default=os.path.join(HERE, "results"),
                        help="where to put results.json (default bench/results/)")
    parser.add_argument("--keep", action="store_true", help="keep every run's output files")
    parser.add_argument("--max-busy", type=float, default=0.15,
                        help="before each run, wait while more than this fraction of all "
                        "cores is busy with other processes (default 0.15)")
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
            "command": "%s bench/run.py --reps %d --write-docs"
            % (os.path.relpath(args.python, ROOT) if args.python.startswith(ROOT)
               else args.python, args.reps)}
    say("heapmark bench: %d workload(s) x %d configuration(s) x %d repetition(s); load %s"
        % (len(workloads), len(tools), args.reps, meta["load_start"]))

    started = time.time()
    scratch = tempfile.mkdtemp(prefix="heapmark-bench-")
    records = []
    try:
        for i in range(args.warmup):
            for w in workloads:
                for name, tool in tools.items():
                    say("warm-up %d: %s / %s" % (i + 1, w["name"], name))
                    run_once(args, name, tool, w, -1 - i, scratch, adapters)
        for rep in range(args.reps):
            for w in workloads:
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
    busy = [r["busy_before"] for r in records if r.get("busy_before") is not None]
    meta["busy_before"] = [median(busy), max(busy)] if busy else None
    meta["expected"] = {}
    for r in records:
        for line, a in r.get("accuracy", {}).items():
            meta["expected"].setdefault(r["workload"], {})[line] = a["expected"]
    table = summarise(records, tools, workloads)
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
