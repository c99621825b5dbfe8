"""Markdown for bench/run.py's results: the tables and the text around them,
and their place in docs/performance.md (between the bench markers).
"""

import os

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.join(os.path.dirname(HERE), "docs", "performance.md")
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

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
    out.append(
        "Measured %s on %s (%d cores), %.1f GiB RAM, Linux %s, Python %s, numpy %s; "
        "heapmark %s, engine built %s; source tree at commit %s."
        % (
            m["date"],
            m["cpu"],
            m["cores"],
            m["ram_gib"] or 0,
            m["kernel"],
            m.get("python"),
            m.get("numpy"),
            m.get("heapmark"),
            m.get("engine_built"),
            m.get("commit"),
        )
    )
    if m.get("peers"):
        out.append("Peers: %s." % ", ".join("%s %s" % kv for kv in sorted(m["peers"].items())))
    if m.get("engine_stale"):
        out.append("")
        out.append(
            "**Warning:** these sources are newer than the engine measured: %s."
            % ", ".join(m["engine_stale"])
        )
    out.append("")
    out.append(
        "%d repetitions per configuration, one workload after the other, each run in "
        "alternation (plain, then each configuration in turn, repeated) after %s "
        "unmeasured warm-up round(s). "
        "Load average %s at the start, %s at the end; %.0f s in all."
        % (meta["reps"], meta["warmup"], meta["load_start"], meta["load_end"], meta["elapsed_s"])
    )
    for name, where in sorted(meta.get("slow", {}).items()):
        out.append(
            "%s took more than %.0fx plain in the warm-up of %s, so it was measured "
            "%d time(s) there, its warm-up run included (no paired ratio)."
            % (
                tools[name].get("label", name) if name in tools else name,
                meta["slow_ratio"],
                ", ".join(where),
                meta["slow_reps"],
            )
        )
    others = meta.get("others_cores")
    if others:
        out.append(
            "Other processes (and the hypervisor) used a median %.2f cores, at most "
            "%.2f, during the measured runs; %d run(s) were repeated because they "
            "used more than %.2f, %d kept although they did."
            % (others[0], others[1], meta["repeated"], meta["max_busy"], meta["disturbed"])
        )
    fixed = meta.get("fixed_cost_s")
    if fixed:
        out.append("")
        out.append(
            "Fixed cost, the median wall time on an empty script (start-up, and for "
            "the profilers their CLI, set-up and the reports they write at exit): %s."
            % ", ".join("%s %.3f s" % (tools[n].get("label", n), t) for n, t in fixed.items())
        )
    skipped = meta.get("skipped")
    if skipped:
        out.append("")
        out.append(
            "Not measured: %s." % "; ".join("%s: %s" % (n, why) for n, why in skipped.items())
        )
    out.append("")
    out.append("Rerun: `make bench`, i.e. `%s`." % meta["command"])
    out.append("")
    out.append(
        "Columns: *wall* is the median end-to-end time in seconds (min-max over the "
        "repetitions in brackets), *ratio* is median / plain median, *paired ratio* the "
        "median over repetitions of time / time of the plain run of the same "
        "repetition; *CPU ratio* is median / plain median for user+system CPU time; "
        "*peak RSS* is ru_maxrss of the profiled "
        "process; *files* the size of everything the run wrote (profile.db and "
        "reports; the peers' capture, profile or snapshot files and the reports they "
        "write at exit); *report* the median time of `heapmark report PROFILE -o DIR` "
        "(re-rendering all reports, CLI start-up included), for memray of `memray "
        "flamegraph`, for scalene of `scalene view --html`, for tracemalloc of "
        "loading the snapshot and printing its top 50 lines (Fil renders at exit "
        "only); *accuracy* the relative "
        "error of the bytes reported for the known lines at the peak: the largest "
        "per-line median |error|, then the worst single line in any repetition "
        "(memray and Fil: the allocations alive at their peak, credited to the "
        "innermost line of the program's own code; scalene: its per-line peak; "
        "tracemalloc keeps no snapshot of its peak, hence no figures)."
    )
    for wname, rows in table.items():
        out.append("")
        out.append("### %s" % wname)
        out.append("")
        out.append(
            "| configuration | wall s | ratio | paired ratio | CPU ratio | peak RSS MiB | "
            "RSS ratio | files KiB | report s | accuracy: median / worst |"
        )
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        failures = []
        for name in tools:
            r = rows.get(name, {})
            label = tools[name].get("label", name)
            if r.get("error"):
                failures.append("%s: %s" % (label, r["error"]))
            if not r.get("runs"):
                out.append(
                    "| %s | failed (%d runs) | | | | | | | | |" % (label, r.get("failed", 0))
                )
                continue
            acc = r.get("accuracy")
            if acc:
                med = max(a["median_abs"] for a in acc.values())
                worst = max((a["worst"] for a in acc.values()), key=abs)
                acc_text = "%s / %s" % (pct(med), spct(worst))
            else:
                acc_text = "-"
            fail = " (%d failed)" % r["failed"] if r.get("failed") else ""
            paired = r.get("paired_wall_ratio")
            out.append(
                "| %s%s | %.2f (%.2f-%.2f) | %.2fx | %s | %.2fx | %.0f | %.2fx | %s | %s "
                "| %s |"
                % (
                    label,
                    fail,
                    r["wall_s"],
                    r["wall_min"],
                    r["wall_max"],
                    r.get("wall_ratio", 0),
                    "%.2fx" % paired if paired else "-",
                    r.get("cpu_ratio", 0),
                    r["rss_mib"],
                    r.get("rss_ratio", 0),
                    "%.0f" % r["result_kib"] if "result_kib" in r else "-",
                    "%.2f" % r["report_s"] if r.get("report_s") is not None else "-",
                    acc_text,
                )
            )
        if failures:
            out.append("")
            out.append("Failed: %s." % "; ".join("`%s`" % f.replace("`", "'") for f in failures))
        names = []
        for r in rows.values():
            for line in r.get("accuracy", {}):
                if line not in names:
                    names.append(line)
        if names:
            out.append("")
            out.append(
                "Accuracy per known line (%s): median |error| / worst error over the "
                "repetitions, and σ, the relative standard deviation that sampling "
                "alone gives for that line (about sqrt(R/B) for B bytes in blocks much "
                "smaller than the interval R; blocks of R bytes or more are recorded "
                "exactly).  Expected bytes at the peak in the header." % wname
            )
            out.append("")
            expected = meta["expected"].get(wname, {})
            out.append(
                "| configuration | "
                + " | ".join("%s (%.1f MiB)" % (n, expected.get(n, 0) / (1 << 20)) for n in names)
                + " |"
            )
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
                    cells.append(
                        "%s / %s%s"
                        % (
                            pct(acc[n]["median_abs"]),
                            spct(acc[n]["worst"]),
                            " (σ %s)" % pct(sd) if sd and sd >= 0.0005 else "",
                        )
                    )
                out.append("| %s | %s |" % (tools[name].get("label", name), " | ".join(cells)))
    check = meta.get("sampling_check")
    if check:
        out.append("")
        out.append("### Sampling check")
        out.append("")
        out.append(
            "Over every known line of both workloads for which σ is at least 0.5%: "
            "the mean signed error (bias) and the root mean square of error / σ, "
            "which is about 1 when the estimates are unbiased and exactly as "
            "precise as sampling allows (larger means extra error)."
        )
        out.append("")
        out.append(
            "| configuration | interval | line-runs | median \\|error\\| | mean error | "
            "rms(error / σ) |"
        )
        out.append("|---|---:|---:|---:|---:|---:|")
        for name in tools:
            c = check.get(name)
            if not c:
                continue
            out.append(
                "| %s | %s | %d | %s | %s | %.2f |"
                % (
                    tools[name].get("label", name),
                    "%d KiB" % (c["rate"] // 1024) if c.get("rate") else "?",
                    c["n"],
                    pct(c["median_abs_error"]),
                    spct(c["mean_error"]),
                    c["rms_z"],
                )
            )
    return "\n".join(out) + "\n"


INTRO = """# Performance

Measured by `bench/run.py` (`make bench`); the prose around the tables is
kept by hand in docs/performance.md.
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
