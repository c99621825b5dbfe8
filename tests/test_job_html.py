"""report.html for a run of several processes: the job.

tests/programs/job_pool.py is run through the real command line: a parent
holding 20 MiB and a pool of four workers, A holding 30 MiB alone, then B
40 MiB alone, then C 50 MiB and D 60 MiB together (the combined peak).  The
page's data must hold the job: its five processes, their samples, and the
combined peak with each process's share at it, right within the sampling
resolution; in headless Chromium the timeline must draw one band per
process with the peak marked, and the job-peak snapshot must show C's and
D's blocks but not A's.  A run of one process's page must have no job at
all.  Tests that need the browser are skipped, saying why, where it cannot
be started (test_html_report.py's browser fixture).
"""

import json
import os
import re
import sqlite3

import pytest

from conftest import PROGRAMS, SAMPLED_TOLERANCE, run_heapmark
from report_data import page_data
from test_html_report import Page, browser, size_text  # noqa: F401 (browser: a fixture)

MiB = 1 << 20
TOLERANCE = 3 * MiB  # the resolution: one sample, each process's latest tick
JOB_POOL = os.path.join(PROGRAMS, "job_pool.py")
with open(JOB_POOL, encoding="utf-8") as _f:
    BLOCK_LINE = 1 + [i for i, line in enumerate(_f) if "bytearray(SIZES[name])" in line][0]
# "task (FILE:LINE)", the file as the page shortens it (here a whole path).
BLOCK_LABEL = re.compile(r"task \(\S*job_pool\.py:%d\)$" % BLOCK_LINE)


@pytest.fixture(scope="module")
def job_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("job")
    run_heapmark(["run", "-q", "-o", str(d / "out"), JOB_POOL, str(d / "truth.json")], d)
    truth = json.loads((d / "truth.json").read_text())
    data = page_data(d / "out" / "report.html")
    return d / "out", truth, data


def layer_of(job, pid):
    return [p["pid"] for p in job["processes"]].index(pid)


def base_of(job, pid, pids):
    """What a worker holds without its block: the median of its bytes over the
    samples at which every worker had published a total (each holds its
    block for less than a third of them; a first publication can be late)."""
    ks = [layer_of(job, p) for p in pids]
    values = sorted(
        job["tracked"][layer_of(job, pid)][i]
        for i in range(len(job["t"]))
        if all(job["tracked"][k][i] > 0 for k in ks)
    )
    assert len(values) > 20, values
    return values[len(values) // 2]


def test_job_in_the_page_data(job_run):
    out, truth, data = job_run
    job = data["job"]
    workers = truth["pids"]
    con = sqlite3.connect(str(out / "profile.db"))
    meta = dict(con.execute("select key, value from meta where key like 'job_%'"))
    rows = con.execute("select count(distinct t) from job_timeline").fetchone()[0]
    con.close()

    # Five processes: the parent first, then the workers, each with its
    # frame's label of the merged tree.
    assert job["processes_total"] == 5 and len(job["processes"]) == 5
    parent = job["processes"][0]
    assert parent["parent_pid"] == 0 and parent["pid"] == data["meta"]["pid"]
    assert {p["pid"] for p in job["processes"][1:]} == set(workers.values())
    for p in job["processes"]:
        assert p["label"].startswith("[process %d: " % p["pid"]), p
        assert p["others"] == 0 and p["t_end"] is not None and p["t_start"] <= p["t_end"]
    assert parent["label"] == "[process %d: main]" % parent["pid"]

    # The samples: every one of them (fewer than the page's 4000), a row of
    # bytes per process, and the interval they were taken at.
    assert job["samples"] == rows == len(job["t"]) and rows > 50
    assert all(len(values) == rows for values in job["tracked"])
    assert job["t"] == sorted(job["t"])
    assert job["interval_s"] == pytest.approx(meta["job_interval_s"]) == pytest.approx(0.01)

    # The peak: the watcher's, the sum of its sample, C and D holding their
    # blocks over what they held early on, A and B holding nothing more.
    peak = job["peak"]
    assert peak["bytes"] == meta["job_peak_bytes"]
    assert peak["at_s"] == pytest.approx(meta["job_peak_at_s"], abs=1e-6)
    assert peak["sample_t"] == pytest.approx(peak["at_s"], abs=1e-6)
    assert sum(peak["shares"]) == peak["bytes"]
    i = job["t"].index(min(job["t"], key=lambda t: abs(t - peak["sample_t"])))
    assert [values[i] for values in job["tracked"]] == peak["shares"]  # drawn as it was
    share, base = {}, {}
    for name, pid in workers.items():
        share[name] = peak["shares"][layer_of(job, pid)]
        base[name] = base_of(job, pid, workers.values())
    assert abs(share["C"] - base["C"] - 50 * MiB) < TOLERANCE, (share, base)
    assert abs(share["D"] - base["D"] - 60 * MiB) < TOLERANCE, (share, base)
    assert share["A"] < base["A"] + TOLERANCE and share["B"] < base["B"] + TOLERANCE
    assert peak["shares"][0] >= truth["parent"]  # the parent's block

    # The parent's phase, on the job's clock, around the peak.
    assert job["phases_total"] == 1
    (layer, name, t0, t1, depth, is_open) = job["phases"][0]
    assert (layer, name, depth, is_open) == (0, "workers", 0, 0)
    assert t0 < peak["at_s"] < t1 <= parent["t_end"]

    # The job-peak snapshot's arrays, beside the three others.
    snapshots = ["peak", "end", "allocated", "job-peak"]
    assert list(data["tree"]["total"]) == snapshots == list(data["tree"]["count"])
    assert list(data["lines"]) == snapshots == list(data["functions"])
    assert len(data["meta"]["snapshot_totals"]) == 4 == len(data["prune"]["min_bytes"])
    # What the processes held at the job peak, each as it kept it at its
    # next tick: about the peak's total (a sum of sampled estimates).
    assert (
        abs(data["meta"]["snapshot_totals"][3] - peak["bytes"]) < SAMPLED_TOLERANCE * peak["bytes"]
    )


def pixel(page, x, y):
    return page.js(
        "var c = document.getElementById('timeline');"
        "var r = window.devicePixelRatio || 1;"
        "return Array.from(c.getContext('2d').getImageData("
        "Math.round(arguments[0] * r), Math.round(arguments[1] * r), 1, 1).data);",
        x,
        y,
    )


def rgb(colour):
    return [int(colour[i : i + 2], 16) for i in (1, 3, 5)]


def test_job_timeline_in_the_browser(job_run, browser):  # noqa: F811
    out, truth, data = job_run
    job = data["job"]
    page = Page(browser, out / "report.html")
    assert page.errors() == []
    chart = page.js("return window.heapmarkReport.jobChart()")

    # One band per process, each in a colour of its own, with a legend.
    labels = [p["label"] for p in job["processes"]]
    assert [layer["label"] for layer in chart["layers"]] == labels
    assert len({layer["colour"] for layer in chart["layers"]}) == 5
    legend = [e.text for e in page.d.find_elements("css selector", "#timeline-legend .item")]
    assert legend[:5] == labels and "the job peak" in legend

    # The bands as drawn: at the peak's sample each band is its process's
    # bytes thick, in its colour (read back from the canvas).
    peak = job["peak"]
    checked = 0
    for k, layer in enumerate(chart["layers"]):
        band = page.js(
            "return window.heapmarkReport.jobBand(arguments[0], arguments[1])", k, peak["sample_t"]
        )
        assert band["bytes"] == peak["shares"][k]
        assert band["bottom"] > band["top"] or peak["shares"][k] == 0
        if band["bottom"] - band["top"] >= 6:
            got = pixel(page, band["x"] + 2, (band["top"] + band["bottom"]) / 2)
            assert got[:3] == rgb(layer["colour"]), (layer, band, got)
            checked += 1
    assert checked >= 3  # the parent's, C's and D's at least

    # The peak marked with its total and time, and the resolution said.
    assert chart["peakLabel"].startswith("job peak %s at " % size_text(peak["bytes"]))
    assert chart["resolution"] == "a sample every 10.0 ms"
    counts = page.by_id("timeline-counts").text
    assert "%d samples of the job\u2019s 5 processes, a sample every 10.0 ms" % job["samples"] in (
        counts
    )
    assert "job peak\n%s tracked by the run\u2019s 5 processes" % size_text(peak["bytes"]) in (
        page.by_id("meta").text
    )
    # The parent's phase, in its lane, in the table with its process.
    assert chart["lanes"] == 1
    row = page.d.find_element("css selector", "#phases tbody tr").text
    assert row.startswith("workers " + labels[0])

    # Pointing at the peak: the job's total and each process's bytes.
    canvas = page.by_id("timeline")
    band = page.js("return window.heapmarkReport.jobBand(0, arguments[0])", peak["sample_t"])
    page.point_at(canvas, band["x"], band["top"] - 10)
    tip = page.by_id("timeline-tip").text
    assert "the job %s tracked" % size_text(peak["bytes"]) in tip, tip
    for pid in truth["pids"].values():
        k = layer_of(job, pid)
        assert "%s: %s" % (labels[k], size_text(peak["shares"][k])) in tip, tip
    assert "phase: workers (%s)" % labels[0] in tip
    assert chart["peakLabel"] in tip
    page.screenshot("report-html-job-timeline")
    assert page.errors() == []


def process_of(frames, block):
    """The pid of the process frame a drawn frame lies under: the last one
    starting at or left of it (process frames sit side by side under the
    root, and a frame's x is its process's x plus what is left of it)."""
    starts = [
        (f["x"], int(f["label"].split()[1].rstrip(":")))
        for f in frames
        if f["label"].startswith("[process ") and f["x"] <= block["x"]
    ]
    assert starts, "no process frame above %s" % block
    return max(starts)[1]


def blocks_by_process(page):
    frames = page.frames()
    return {
        process_of(frames, f): f["bytes"]
        for f in frames
        if BLOCK_LABEL.match(f["label"]) and f["bytes"] >= 20 * MiB
    }


def test_job_peak_snapshot_in_the_browser(job_run, browser):  # noqa: F811
    out, truth, data = job_run
    pids = truth["pids"]
    page = Page(browser, out / "report.html")
    snaps = page.d.find_elements("css selector", "button.snap")
    assert [b.get_attribute("data-snap") for b in snaps] == ["peak", "end", "allocated", "job-peak"]
    # Each process at its own peak: every worker's block.
    assert set(blocks_by_process(page)) == set(pids.values())

    page.d.find_element("css selector", "button.snap[data-snap='job-peak']").click()
    assert page.js("return window.heapmarkReport.state().snapshot") == "job-peak"
    assert "at the job peak" in page.by_id("snapshot-caption").text
    held = blocks_by_process(page)
    assert set(held) == {pids["C"], pids["D"]}, held
    # Sampled mode: the blocks are estimates, 64 KiB a sample.
    assert abs(held[pids["C"]] - 50 * MiB) < 0.15 * 50 * MiB
    assert abs(held[pids["D"]] - 60 * MiB) < 0.15 * 60 * MiB
    # A and B, alive at the job peak, held no more than what they started with.
    for name in "AB":
        proc = page.frame("[process %d: " % pids[name])
        assert proc["bytes"] < 10 * MiB, proc
    # The table: the block's line holds C's and D's, not A's or B's.
    first = page.d.find_element("css selector", "#top tbody tr")
    assert BLOCK_LABEL.match(first.find_element("css selector", ".label").text)
    assert abs(float(first.get_attribute("data-self")) - 110 * MiB) < 0.15 * 110 * MiB
    assert "Kinds are known for the peak and the end only" in page.by_id("kinds-note").text
    page.screenshot("report-html-job-peak")
    assert page.errors() == []


def test_a_run_of_one_process_has_no_job(tmp_path, browser):  # noqa: F811
    (tmp_path / "one.py").write_text("import heapmark\nblock = bytearray(8_000_000)\n")
    run_heapmark(["run", "-q", "-o", str(tmp_path / "out"), "one.py"], tmp_path)
    data = page_data(tmp_path / "out" / "report.html")
    assert "job" not in data
    snapshots = ["peak", "end", "allocated"]
    assert list(data["tree"]["total"]) == snapshots == list(data["tree"]["count"])
    assert list(data["lines"]) == snapshots == list(data["functions"])
    assert len(data["meta"]["snapshot_totals"]) == 3 == len(data["prune"]["min_bytes"])
    page = Page(browser, tmp_path / "out" / "report.html")
    assert page.errors() == []
    snaps = page.d.find_elements("css selector", "button.snap")
    assert [b.get_attribute("data-snap") for b in snaps] == snapshots
    assert page.js("return window.heapmarkReport.jobChart()") is None
    assert "job peak" not in page.by_id("meta").text
    legend = [e.text for e in page.d.find_elements("css selector", "#timeline-legend .item")]
    assert legend[0] == "tracked memory (exact)" and "the peak" in legend
