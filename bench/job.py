"""What profiling a job of 9 processes costs: a parent and a Pool(8).

    python3 bench/job.py --python VENV_PYTHON [--before OTHER_VENV_PYTHON
        --before-commit COMMIT] [--rounds 7] [--scale 1] [--write-docs]
    python3 bench/job.py --from-json bench/results/job-issue16.json [--write-docs]

The program is bench/workloads/job_pool.py: the parent starts
``multiprocessing.Pool(8)`` and each worker builds and drops dicts and keeps
growing batches of small objects, up to a peak of its own (worker i's
batches are 1 + i/8 times worker 0's), so the sum of the 9 processes reaches
a new high many times while they run (about 2-3 s of wall time plain on the
2-core bench machine).  Configurations, each a fresh process:

  plain                  ``python job_pool.py``;
  heapmark               ``heapmark run -q -o OUT job_pool.py``: the default,
                         which follows the workers, so the run is a job: 9
                         profiles, the combined timeline and the job-peak
                         candidates (csrc/run/job.c);
  heapmark --no-follow   only the parent profiled, the workers run plain;
  heapmark (before)      with ``--before``: ``heapmark run`` of another
                         build (in its own venv, on the same CPython), the
                         commit before the job view (a34ac13^): it follows
                         the workers too, but keeps no job table, combined
                         timeline or candidates.  heapmark / heapmark
                         (before) is what the job view itself costs.

For each round (``--rounds``, 9) the configurations run in a shuffled order
(random.Random(--seed)), after one unmeasured warm-up run of each.  From each
run: wall time (perf_counter around the command: start-up, the program and,
for heapmark, its exit work, writing the profiles and merging them into
report.html) and CPU time, user + system of the command and every process it
waited for (resource.getrusage(RUSAGE_CHILDREN) deltas: the pool's workers
are joined by the parent, so they count).  Every ratio is paired, a
configuration's run over the other's in the same round, then the median over
rounds.  The machine is shared: before each run the 1-minute load average,
and during it the CPU the rest of the machine used (busy jiffies of
/proc/stat minus the run's own rusage, plus steal), as bench/pyperformance.py
measures them.  From each heapmark run's profiles: the combined samples (the
distinct times of job_timeline in profile.db), job_peak_generation (how many
combined highs, each a round of candidate copies), the nodes each process
copies (rows of ``nodes``), and the sizes of profile.db and of the
profile-PID.db files.

**The monitor threads** (``--probe-runs``, 7 of each, after the rounds, with
``--before``): heapmark and heapmark (before) again, in alternation, while
the driver reads every 20 ms the CPU time (``/proc/PID/task/TID/schedstat``,
nanoseconds) of each thread of the run's processes, keeping the last value
seen.  A worker's threads are its main thread and heapmark's monitor; the
parent's monitor is its first thread after the main one (heapmark starts it
before the program runs, so before the pool's threads).  Their difference
between the two builds is the job view's work on the monitor side: the
watcher's sums and combined timeline in the parent, the publishing and the
candidate copies everywhere.  The last <= 20 ms of a thread (its process's
exit) is not seen.  The polling (a listing of /proc and a few dozen small
reads every 20 ms) is the driver's, whose CPU no run counts, and happens in
these runs only.

Raw runs go to ``--json`` (bench/results/job-issue16.json); ``--from-json``
renders the tables again without running anything; ``--write-docs`` writes
them to docs/performance.md, section "## A job of 9 processes (issue 16)".
Standard library only.
"""

import argparse
import glob
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

from docs_section import print_and_write
from run import cpu_jiffies, git_commit

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DOC = os.path.join(ROOT, "docs", "performance.md")
SECTION = "## A job of 9 processes (issue 16)"
JSON_DEFAULT = os.path.join(HERE, "results", "job-issue16.json")
SCRIPT = os.path.join(HERE, "workloads", "job_pool.py")
WORKERS = 8
TIMEOUT = 600  # s: a run that takes longer is a hang

PLAIN, HEAPMARK, NO_FOLLOW, BEFORE = (
    "plain",
    "heapmark",
    "heapmark --no-follow",
    "heapmark (before)",
)
# (numerator, denominator, what the ratio says)
RATIOS = [
    (HEAPMARK, PLAIN, "heapmark, following the 8 workers (the job view)"),
    (NO_FOLLOW, PLAIN, "heapmark --no-follow: the parent only"),
    (HEAPMARK, NO_FOLLOW, "what following the 8 workers with the job view costs"),
    (BEFORE, PLAIN, "the build before the job view, following the workers"),
    (HEAPMARK, BEFORE, "**job view cost**: the job view itself"),
]


def say(message):
    sys.stderr.write("bench job: %s\n" % message)
    sys.stderr.flush()


def median(values):
    return statistics.median(values) if values else None


def version_of(python):
    done = subprocess.run(
        [
            python,
            "-c",
            "import sys; from importlib import metadata; "
            "print(sys.version.split()[0], metadata.version('heapmark'))",
        ],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
    )
    if done.returncode != 0:
        raise SystemExit(
            "bench job: heapmark is not installed for %s: %s" % (python, done.stderr.strip())
        )
    return done.stdout.split()


# ---- the runs -------------------------------------------------------------------


def commands(args):
    """{configuration: command template ({out} for the results directory)}."""
    heapmark = [os.path.join(os.path.dirname(args.python), "heapmark"), "run", "-q", "-o", "{out}"]
    script = [SCRIPT, "--scale", str(args.scale), "--workers", str(WORKERS)]
    configs = {
        PLAIN: [args.python] + script,
        HEAPMARK: heapmark + script,
        NO_FOLLOW: heapmark + ["--no-follow"] + script,
    }
    if args.before:
        before = os.path.join(os.path.dirname(args.before), "heapmark")
        configs[BEFORE] = [before, "run", "-q", "-o", "{out}"] + script
    return configs


def profile_facts(out):
    """What the profiles of a heapmark run hold: sizes, combined samples,
    combined highs, nodes."""
    main = os.path.join(out, "profile.db")
    if not os.path.exists(main):
        return {}
    children = sorted(glob.glob(os.path.join(out, "profile-*.db")))
    facts = {
        "main_bytes": os.path.getsize(main),
        "children": len(children),
        "children_bytes": sum(os.path.getsize(f) for f in children),
        "results_bytes": sum(
            os.path.getsize(os.path.join(out, f))
            for f in os.listdir(out)
            if os.path.isfile(os.path.join(out, f))
        ),
    }
    db = sqlite3.connect("file:%s?mode=ro" % main, uri=True)
    try:
        meta = dict(db.execute("SELECT key, value FROM meta"))
        for key in ("job_peak_generation", "job_peak_bytes", "job_peak_at_s", "job_interval_s"):
            facts[key] = meta.get(key)
        facts["peak_bytes"] = meta.get("peak_bytes")
        facts["duration_s"] = meta.get("duration_s")
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        if "job_timeline" in tables:
            facts["job_samples"], facts["job_rows"] = db.execute(
                "SELECT COUNT(DISTINCT t), COUNT(*) FROM job_timeline"
            ).fetchone()
            facts["job_processes"] = db.execute("SELECT COUNT(*) FROM job_processes").fetchone()[0]
        facts["main_nodes"] = db.execute("SELECT COUNT(*) FROM nodes").fetchone()[0]
    finally:
        db.close()
    nodes, generations = [], []
    for f in children:
        db = sqlite3.connect("file:%s?mode=ro" % f, uri=True)
        try:
            nodes.append(db.execute("SELECT COUNT(*) FROM nodes").fetchone()[0])
            row = db.execute(
                "SELECT value FROM meta WHERE key = 'job_candidate_generation'"
            ).fetchone()
            generations.append(row[0] if row else None)
        finally:
            db.close()
    facts["children_nodes"] = nodes
    facts["children_candidate_generation"] = generations
    return facts


def one_run(args, config, template, scratch, rnd):
    out = os.path.join(scratch, "%s-%s" % (rnd, config.replace(" ", "_").strip("()")))
    os.makedirs(out)
    cmd = [part.format(out=out) for part in template]
    record = {"config": config, "round": rnd, "load": os.getloadavg()[0]}
    own0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0, steal0 = cpu_jiffies()
    started = time.perf_counter()
    try:
        done = subprocess.run(cmd, cwd=out, capture_output=True, text=True, timeout=TIMEOUT)
        rc, stderr = done.returncode, done.stderr
    except subprocess.TimeoutExpired:
        rc, stderr = "timeout", "no end after %d s" % TIMEOUT
    wall = time.perf_counter() - started
    busy1, steal1 = cpu_jiffies()
    own1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    user = own1.ru_utime - own0.ru_utime
    system = own1.ru_stime - own0.ru_stime
    record.update(wall=wall, cpu=user + system, user=user, system=system)
    record["others_cores"] = max(0.0, (busy1 - busy0 - user - system + steal1 - steal0) / wall)
    if rc != 0:
        record["error"] = "exit status %s: %s" % (rc, stderr.strip()[-3000:])
        say("  %s: FAILED (%s)\n%s" % (config, rc, stderr.strip()[-1500:]))
    elif config != PLAIN:
        record["profile"] = profile_facts(out)
    shutil.rmtree(out, ignore_errors=True)
    return record


def timed(args, configs, scratch):
    rng = random.Random(args.seed)
    names = list(configs)
    for _ in range(args.warmups):
        for config in names:
            one_run(args, config, configs[config], scratch, "warmup")
    say("warm-up done")
    records = []
    for rnd in range(args.rounds):
        order = names[:]
        rng.shuffle(order)
        line = []
        for config in order:
            rec = one_run(args, config, configs[config], scratch, rnd)
            records.append(rec)
            line.append(
                "%s %s"
                % (
                    config,
                    "failed"
                    if "error" in rec
                    else "%.2f s (cpu %.2f s)" % (rec["wall"], rec["cpu"]),
                )
            )
        say("round %d/%d: %s" % (rnd + 1, args.rounds, ", ".join(line)))
    return records


# ---- the monitor threads --------------------------------------------------------

POLL_S = 0.02


def ppid_of(pid):
    with open("/proc/%d/stat" % pid) as f:
        text = f.read()
    return int(text[text.rindex(")") + 2 :].split()[1])


def thread_times(pid):
    """{tid: ns on a CPU} of pid's threads."""
    times = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return times
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                times[int(tid)] = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return times


def probe_run(config, template, scratch, n):
    """One run with its threads' CPU read every POLL_S: the monitors' CPU."""
    out = os.path.join(scratch, "probe-%d-%s" % (n, config.replace(" ", "_").strip("()")))
    os.makedirs(out)
    cmd = [part.format(out=out) for part in template]
    family = {}  # pid -> ppid, the run's processes
    times = {}  # pid -> {tid: last ns seen}
    load = os.getloadavg()[0]
    own0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(os.path.join(out, "stderr"), "w+") as err:
        proc = subprocess.Popen(cmd, cwd=out, stdout=subprocess.DEVNULL, stderr=err)
        family[proc.pid] = 0
        while proc.poll() is None:
            pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
            for pid in pids:
                if pid > proc.pid and pid not in family:
                    try:
                        ppid = ppid_of(pid)
                    except (OSError, ValueError, IndexError):
                        continue
                    if ppid in family:
                        family[pid] = ppid
            for pid in family:
                for tid, ns in thread_times(pid).items():
                    times.setdefault(pid, {})[tid] = ns
            time.sleep(POLL_S)
        err.seek(0)
        stderr = err.read()
    own1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (own1.ru_utime + own1.ru_stime) - (own0.ru_utime + own0.ru_stime)
    record = {"config": config, "probe": n, "cpu": cpu, "load": load}
    if proc.returncode != 0:
        record["error"] = "exit status %s: %s" % (proc.returncode, stderr.strip()[-3000:])
        say("  probe %s: FAILED\n%s" % (config, stderr.strip()[-1500:]))
        shutil.rmtree(out, ignore_errors=True)
        return record
    programs = [p for p, pp in family.items() if pp == proc.pid]
    if len(programs) != 1:
        record["error"] = "%d processes under heapmark's CLI" % len(programs)
        return record
    program = programs[0]
    workers = [p for p, pp in family.items() if pp == program]
    parent = times.get(program, {})
    parent_threads = sorted(t for t in parent if t != program)
    record.update(
        cli_ns=sum(times.get(proc.pid, {}).values()),
        parent_main_ns=parent.get(program),
        parent_monitor_ns=parent[parent_threads[0]] if parent_threads else None,
        parent_other_ns=sum(parent[t] for t in parent_threads[1:]),
        workers=len(workers),
        workers_main_ns=[times.get(w, {}).get(w) for w in workers],
        workers_monitor_ns=[
            sum(ns for t, ns in times.get(w, {}).items() if t != w) for w in workers
        ],
        workers_threads=[len(times.get(w, {})) for w in workers],
        profile=profile_facts(out),
    )
    shutil.rmtree(out, ignore_errors=True)
    return record


def probed(args, configs, scratch):
    names = [c for c in (HEAPMARK, BEFORE) if c in configs]
    records = []
    for n in range(args.probe_runs):
        for config in names if n % 2 == 0 else names[::-1]:
            rec = probe_run(config, configs[config], scratch, n)
            records.append(rec)
            if "error" not in rec:
                say(
                    "probe %d/%d %s: monitors %.1f ms (parent) + %.1f ms (%d workers)"
                    % (
                        n + 1,
                        args.probe_runs,
                        config,
                        (rec["parent_monitor_ns"] or 0) / 1e6,
                        sum(rec["workers_monitor_ns"]) / 1e6,
                        rec["workers"],
                    )
                )
    return records


# ---- tables ---------------------------------------------------------------------


def by_round(records, config, key):
    return {r["round"]: r[key] for r in records if r["config"] == config and "error" not in r}


def spread(values, fmt):
    values = sorted(v for v in values if v is not None)
    if not values:
        return "-"
    return (fmt + " (" + fmt + "-" + fmt + ")") % (median(values), values[0], values[-1])


def paired(records, num, den, key):
    a, b = by_round(records, num, key), by_round(records, den, key)
    return [a[r] / b[r] for r in sorted(a) if r in b]


def x(values):
    """median (range) of paired ratios."""
    if not values:
        return "-"
    return "%.3fx (%.3f-%.3f)" % (median(values), min(values), max(values))


def disturbed(records, limit=0.5):
    """(pairs, pairs whose two runs saw other processes' CPU differ by more
    than limit cores), over the pairs of the ratios shown."""
    others = {(r["config"], r["round"]): r["others_cores"] for r in records}
    pairs = [
        abs(others[(num, rnd)] - others[(den, rnd)])
        for num, den, _ in RATIOS
        for (config, rnd) in list(others)
        if config == num and (den, rnd) in others
    ]
    return len(pairs), sum(1 for d in pairs if d > limit)


def mib(n):
    return "%.2f MiB" % (n / (1 << 20)) if n is not None else "-"


def render(saved):
    meta, records = saved["meta"], saved["runs"]
    configs = [c for c in meta["configs"] if any(r["config"] == c for r in records)]
    ok = [r for r in records if "error" not in r]
    v = meta["versions"]
    pairs, moved = disturbed(ok)
    lines = [
        SECTION,
        "",
        "What profiling a job costs: bench/workloads/job_pool.py, a parent whose "
        "`multiprocessing.Pool(%d)` workers build and drop dicts and keep growing batches "
        "of small objects, each up to a peak of its own, so that the sum of the %d processes "
        "reaches a new combined high again and again. Each configuration is a fresh process, "
        "in a shuffled order, %d rounds after a warm-up run of each; CPU time is user + "
        "system of the command and all the processes it waited for (the workers included: "
        "`getrusage(RUSAGE_CHILDREN)` deltas); every ratio is paired (two runs of the same "
        "round), the median (range) over rounds. `heapmark (before)` is `heapmark run` of "
        "commit %s, the one before the job view (a34ac13): it follows the workers and "
        "writes their profiles too, but keeps no job table, combined timeline or job-peak "
        "candidates, so heapmark / heapmark (before) is what the job view itself costs. "
        "bench/job.py has the details."
        % (meta["workers"], meta["workers"] + 1, meta["rounds"], meta.get("before_commit", "-")),
        "",
        "To rerun: `make bench-job` (creates build/bench-venv with this heapmark and "
        "build/bench-before-%s with the commit before the job view, then runs `python3 "
        "bench/job.py --write-docs --python build/bench-venv/bin/python --before "
        "build/bench-before-%s/venv/bin/python --before-commit %s`; this run took %.0f "
        "minutes). The raw runs are in %s; `python3 bench/job.py --from-json FILE "
        "--write-docs` renders this section from them again."
        % (
            meta.get("before_commit", "COMMIT"),
            meta.get("before_commit", "COMMIT"),
            meta.get("before_commit", "COMMIT"),
            meta["took_s"] / 60,
            meta.get("json_name", "bench/results/job-issue16.json"),
        ),
        "",
        "What ran: CPython %s, heapmark %s (commit %s)%s, `job_pool.py --scale %g --workers "
        "%d`, %s, %s cores (shared)."
        % (
            v["python"],
            v["heapmark"],
            meta["commit"] + (": %s" % meta["commit_note"] if meta.get("commit_note") else ""),
            ", before: heapmark %s (commit %s)" % (v["before"], meta["before_commit"])
            if v.get("before")
            else "",
            meta["scale"],
            meta["workers"],
            meta["date"],
            meta.get("cores", "?"),
        ),
        "",
        "The machine during the runs: 1-minute load average before each run %s, CPU "
        "other processes used during a run %s cores (median (range) over %d runs); in %d "
        "of %d pairs the other processes' CPU differed by more than half a core between "
        "the two runs."
        % (
            spread([r["load"] for r in ok], "%.2f"),
            spread([r["others_cores"] for r in ok], "%.2f"),
            len(ok),
            moved,
            pairs,
        ),
        "",
        "| configuration | wall, median (range) | CPU, median (range) |",
        "|---|---:|---:|",
    ]
    for c in configs:
        lines.append(
            "| `%s` | %s | %s |"
            % (
                c,
                spread(by_round(records, c, "wall").values(), "%.2f s"),
                spread(by_round(records, c, "cpu").values(), "%.2f s"),
            )
        )
    lines += [
        "",
        "| paired ratio | wall | CPU | what it says |",
        "|---|---:|---:|---|",
    ]
    for num, den, what in RATIOS:
        if num in configs and den in configs:
            lines.append(
                "| `%s` / `%s` | %s | %s | %s |"
                % (
                    num,
                    den,
                    x(paired(records, num, den, "wall")),
                    x(paired(records, num, den, "cpu")),
                    what,
                )
            )
    lines += [
        "",
        "What the profiles held (median (range) over the runs):",
        "",
        "| configuration | combined samples | `job_peak_generation` (combined highs) "
        "| job peak | profile.db | profile-PID.db, sum (files) | nodes per worker |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for c in configs:
        facts = [r["profile"] for r in ok if r["config"] == c and r.get("profile")]
        if not facts:
            continue

        def col(key, fmt, facts=facts):
            values = [f.get(key) for f in facts if f.get(key) is not None]
            return spread(values, fmt) if values else "-"

        peaks = [f["job_peak_bytes"] for f in facts if f.get("job_peak_bytes") is not None]
        nodes = [n for f in facts for n in f.get("children_nodes", [])]
        files = [f.get("children", 0) for f in facts]
        lines.append(
            "| `%s` | %s | %s | %s | %s | %s (%s) | %s |"
            % (
                c,
                col("job_samples", "%d"),
                col("job_peak_generation", "%d"),
                "%s (%s-%s)" % (mib(median(peaks)), mib(min(peaks)), mib(max(peaks)))
                if peaks
                else "-",
                "%s" % mib(median([f["main_bytes"] for f in facts])),
                mib(median([f["children_bytes"] for f in facts])),
                "%d" % median(files),
                spread(nodes, "%d") if nodes else "-",
            )
        )
    lines += derived(saved)
    lines += probe_lines(saved)
    lines += interpretation(saved)
    lines.append("")
    return "\n".join(lines)


def derived(saved):
    """The paired CPU delta of heapmark over heapmark (before), in seconds."""
    records = saved["runs"]
    a, b = by_round(records, HEAPMARK, "cpu"), by_round(records, BEFORE, "cpu")
    deltas = [a[r] - b[r] for r in sorted(a) if r in b]
    if not deltas:
        return []
    return [
        "",
        "CPU of heapmark minus heapmark (before), same round: median %+.3f s (range %+.3f "
        "to %+.3f s), against a run's %.2f s: the whole runs' CPU moves by more than the "
        "job view costs, which the monitor threads show directly below."
        % (median(deltas), min(deltas), max(deltas), median(list(b.values()))),
    ]


# (label, the record's value in ms) of each role in a probe run
ROLES = [
    (
        "`heapmark run`'s own process (its start-up; after the program: the merged "
        "profile, report.html)",
        lambda r: r["cli_ns"] / 1e6,
    ),
    ("the parent: main thread", lambda r: r["parent_main_ns"] / 1e6),
    ("the parent: heapmark's monitor", lambda r: r["parent_monitor_ns"] / 1e6),
    ("the parent: the pool's 3 threads", lambda r: r["parent_other_ns"] / 1e6),
    ("8 workers: main threads, sum", lambda r: sum(r["workers_main_ns"]) / 1e6),
    ("8 workers: heapmark's monitors, sum", lambda r: sum(r["workers_monitor_ns"]) / 1e6),
    ("all (getrusage)", lambda r: r["cpu"] * 1e3),
]


def probe_lines(saved):
    probes = [r for r in saved.get("probes", []) if "error" not in r]
    runs = {c: [r for r in probes if r["config"] == c] for c in (HEAPMARK, BEFORE)}
    if not runs[HEAPMARK] or not runs[BEFORE]:
        return []
    lines = [
        "",
        "**The monitor threads**, read directly: %d more run(s) of each build after the "
        "rounds, in alternation, while the driver read every %d ms the CPU time of each "
        "thread of the run's processes (`/proc/PID/task/TID/schedstat`; the last value "
        "seen, so a thread's last <= %d ms are missing). CPU in ms, median (range) over the "
        "runs; the difference is paired (the two builds' runs of the same pair), the median "
        "(range) over the pairs:"
        % (saved["meta"].get("probe_runs", 0), round(1000 * POLL_S), round(1000 * POLL_S)),
        "",
        "| where | `heapmark` | `heapmark (before)` | difference |",
        "|---|---:|---:|---:|",
    ]
    pairs = {}
    for r in probes:
        pairs.setdefault(r["probe"], {})[r["config"]] = r
    pairs = [p for _, p in sorted(pairs.items()) if HEAPMARK in p and BEFORE in p]
    diff = {}
    for label, value in ROLES:
        cells = [spread([value(r) for r in runs[c]], "%.1f") for c in (HEAPMARK, BEFORE)]
        d = [value(p[HEAPMARK]) - value(p[BEFORE]) for p in pairs]
        diff[label] = median(d) if d else None
        lines.append(
            "| %s | %s | %s | %s |"
            % (
                label,
                cells[0],
                cells[1],
                "%+.1f (%+.1f to %+.1f)" % (median(d), min(d), max(d)) if d else "-",
            )
        )
    gens = [
        r["profile"]["job_peak_generation"]
        for r in runs[HEAPMARK]
        if r.get("profile", {}).get("job_peak_generation") is not None
    ]
    lines.append("| combined highs (`job_peak_generation`) | %s | - | |" % spread(gens, "%d"))
    if gens and pairs:
        parent, workers = diff[ROLES[2][0]], diff[ROLES[5][0]]
        both = [
            ROLES[2][1](p[HEAPMARK])
            + ROLES[5][1](p[HEAPMARK])
            - ROLES[2][1](p[BEFORE])
            - ROLES[5][1](p[BEFORE])
            for p in pairs
        ]
        g = median(gens)
        lines += [
            "",
            "The job view on the monitor side (median paired differences): %+.1f ms in "
            "the parent's monitor (the watcher: sums, combined timeline, its own "
            "candidates), %+.1f ms in the 8 workers' monitors, %+.1f ms in all 9 together "
            "(range %+.1f to %+.1f), over %d combined highs: %+.0f us per combined high in "
            "all the monitors, %+.1f us per combined high in each worker (its candidate "
            "copy, and its publishing at the ticks in between)."
            % (
                parent,
                workers,
                median(both),
                min(both),
                max(both),
                g,
                1000 * median(both) / g,
                1000 * workers / g / saved["meta"]["workers"],
            ),
        ]
    return lines


def interpretation(saved):
    text = saved["meta"].get("interpretation")
    return ["", text] if text else []


# ---- main -----------------------------------------------------------------------


def shown_path(path):
    path = os.path.abspath(path)
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path


def output(args, saved):
    print_and_write(render(saved), args.write_docs, DOC, SECTION)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--python",
        default=os.path.join(ROOT, "build", "bench-venv", "bin", "python"),
        help="python of the venv with the heapmark to measure",
    )
    parser.add_argument(
        "--before",
        metavar="VENV_PYTHON",
        help="python of a venv with the build before the job view: 'heapmark (before)'",
    )
    parser.add_argument("--before-commit", default="a34ac13^", help="what --before holds")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--warmups", type=int, default=1, help="unmeasured runs of each first")
    parser.add_argument(
        "--probe-runs",
        type=int,
        default=7,
        help="runs of heapmark and heapmark (before) with their threads' CPU read (0: none)",
    )
    parser.add_argument("--seed", type=int, default=16, help="of the shuffled order")
    parser.add_argument("--scale", type=float, default=1.0, help="job_pool.py --scale")
    parser.add_argument("--json", default=JSON_DEFAULT, help="raw runs (default: %(default)s)")
    parser.add_argument("--from-json", metavar="FILE", help="render from FILE, run nothing")
    parser.add_argument(
        "--interpretation-file",
        metavar="FILE",
        help="text (the section's closing paragraph) to keep in the JSON and render",
    )
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)

    if args.from_json:
        with open(args.from_json) as f:
            saved = json.load(f)
        if args.interpretation_file:
            with open(args.interpretation_file) as f:
                saved["meta"]["interpretation"] = " ".join(f.read().split())
            with open(args.from_json, "w") as f:
                json.dump(saved, f, indent=1)
        saved["meta"]["json_name"] = shown_path(args.from_json)
        return output(args, saved)

    args.python = os.path.abspath(args.python)
    python_version, version = version_of(args.python)
    versions = {"python": python_version, "heapmark": version}
    if args.before:
        args.before = os.path.abspath(args.before)
        before_python, versions["before"] = version_of(args.before)
        if before_python != python_version:
            say("the two venvs run different Pythons: %s and %s" % (python_version, before_python))
    configs = commands(args)
    commit = git_commit()
    scratch = tempfile.mkdtemp(prefix="heapmark-bench-job-")
    started = time.perf_counter()
    try:
        records = timed(args, configs, scratch)
        probes = probed(args, configs, scratch) if args.probe_runs else []
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    took = time.perf_counter() - started
    say("took %.0f s" % took)
    saved = {
        "meta": {
            "versions": versions,
            "commit": commit,
            "before_commit": args.before_commit if args.before else None,
            "cores": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d %H:%M %Z"),
            "rounds": args.rounds,
            "warmups": args.warmups,
            "seed": args.seed,
            "scale": args.scale,
            "workers": WORKERS,
            "configs": list(configs),
            "commands": {c: " ".join(t) for c, t in configs.items()},
            "probe_runs": args.probe_runs if BEFORE in configs else 0,
            "took_s": took,
        },
        "runs": records,
        "probes": probes,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(saved, f, indent=1)
    say("raw runs in %s" % args.json)
    saved["meta"]["json_name"] = shown_path(args.json)
    return output(args, saved)


if __name__ == "__main__":
    sys.exit(main())
