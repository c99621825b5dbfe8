"""report.html: the interactive report, tested in a real browser.

The page is opened in headless Chromium (Debian's chromium and
chromium-driver, driven by Selenium) and used as a person would: it must
load without console errors, show the ground-truth program's peak line,
search, zoom, switch snapshots, sort its table, draw the timeline and show
a ground-truth program's kinds at the peak.  The data the page embeds is
checked against the profile: pruning folds small nodes into "other" nodes
whose bytes, and kinds, add up exactly.  Tests that need the
browser are skipped, saying why, where it cannot be started; the others
always run.
"""

import json
import os
import re
import shutil
import sqlite3
import sys
import time

import pytest

from conftest import PROGRAMS, assert_one_line_error, run_heapmark
from report_data import page_data

HERE = os.path.dirname(os.path.abspath(__file__))
ARTIFACTS = os.path.join(os.path.dirname(HERE), "build", "test-artifacts")
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
MiB = 1 << 20

PROGRAM = '''\
def keep_some():
    return bytearray(6_000_000)


def hold_blob():
    blob = bytearray(50_000_000)
    return blob


def churn():
    for _ in range(30):
        piece = bytearray(1_000_000)
        del piece


def main():
    kept = keep_some()
    blob = hold_blob()
    del blob
    churn()
    return kept


kept = main()
'''
BLOB_LINE = PROGRAM.splitlines().index("    blob = bytearray(50_000_000)") + 1
KEEP_LINE = 2
CHURN_LINE = PROGRAM.splitlines().index("        piece = bytearray(1_000_000)") + 1


def size_text(n):
    """As the page and the C reports print sizes."""
    v, unit = float(n), 0
    while v >= 1024 and unit < 4:
        v /= 1024
        unit += 1
    return "%d B" % n if unit == 0 else "%.1f %s" % (v, ["B", "KiB", "MiB", "GiB", "TiB"][unit])


# ---- the browser ------------------------------------------------------------------------


def _start_browser():
    """A headless Chromium, or the reason there is none."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None, "selenium is not installed (tests/run-all installs it from PyPI)"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            return None, "%s is missing (apt-get install chromium chromium-driver)" % path
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1600",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER)), None
    except Exception as exc:  # the browser would not start: say why
        return None, "Chromium did not start: %s" % str(exc).strip().splitlines()[0]


@pytest.fixture(scope="module")
def browser():
    driver, reason = _start_browser()
    if driver is None:
        pytest.skip(reason)
    yield driver
    driver.quit()


class Page:
    """report.html open in the browser."""

    def __init__(self, driver, path):
        self.d = driver
        driver.get_log("browser")  # forget what earlier pages said
        started = time.monotonic()
        driver.get("file://" + os.path.abspath(str(path)))
        self.load_seconds = time.monotonic() - started
        self.log = driver.get_log("browser")

    def errors(self):
        return [e for e in self.log + self.d.get_log("browser") if e["level"] == "SEVERE"]

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def by_id(self, element_id):
        return self.d.find_element("id", element_id)

    def frames(self):
        return self.js("return window.heapmarkReport.drawnFrames()")

    def frame(self, label_start, min_bytes=1):
        found = [
            f
            for f in self.frames()
            if f["label"].startswith(label_start) and f["bytes"] >= min_bytes
        ]
        assert found, "no frame %r drawn: %s" % (label_start, [f["label"] for f in self.frames()])
        return found[0]

    def point_at(self, element, x, y):
        """Moves the mouse to (x, y) in element's CSS pixels."""
        from selenium.webdriver.common.action_chains import ActionChains

        self.js("arguments[0].scrollIntoView({block: 'center'})", element)
        rect = element.rect
        ActionChains(self.d).move_to_element_with_offset(
            element, int(x - rect["width"] / 2), int(y - rect["height"] / 2)
        ).perform()

    def click_at(self, element, x, y):
        from selenium.webdriver.common.action_chains import ActionChains

        self.point_at(element, x, y)
        ActionChains(self.d).click().perform()

    def hover_frame(self, frame):
        self.point_at(self.by_id("flame"), frame["x"] + min(frame["w"] / 2, 40), frame["y"] + 9)
        return self.by_id("flame-tip").text

    def screenshot(self, name):
        os.makedirs(ARTIFACTS, exist_ok=True)
        path = os.path.join(ARTIFACTS, "%s-py%d.%d.png" % ((name,) + sys.version_info[:2]))
        height = self.js("return document.documentElement.scrollHeight")
        self.d.set_window_size(1280, min(max(height, 800), 8000))
        self.d.save_screenshot(path)
        self.d.set_window_size(1280, 1600)
        return path


# ---- a ground-truth run ------------------------------------------------------------------


@pytest.fixture(scope="module")
def peak_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("html")
    (d / "app.py").write_text(PROGRAM)
    run_heapmark(["run", "-q", "-o", str(d / "out"), "--seed", "5", "app.py"], d)
    return d / "out"


def test_run_writes_a_self_contained_page(peak_run):
    html = (peak_run / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    # Nothing from the network: no URL to load, and a policy that forbids it.
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)
    assert "default-src 'none'" in html and "connect-src" not in html
    assert html.count("<script") == 2
    data = page_data(peak_run / "report.html")
    con = sqlite3.connect(str(peak_run / "profile.db"))
    meta = dict(con.execute("select key, value from meta"))
    for key in ("peak_bytes", "peak_rss_bytes", "end_bytes", "sample_rate"):
        assert data["meta"][key] == meta[key], key
    assert data["meta"]["mode"] == "sampled" and data["meta"]["exact"] is False
    assert data["meta"]["command"] == "python app.py"


def test_page_shows_search_zoom_snapshots_and_table(peak_run, browser):
    page = Page(browser, peak_run / "report.html")
    assert page.errors() == []
    data = page_data(peak_run / "report.html")
    label = "hold_blob (app.py:%d)" % BLOB_LINE
    blob = page.frame(label, 50_000_000)
    canvas_width = page.by_id("flame").rect["width"]
    assert blob["w"] > 0.6 * canvas_width  # about 50 of 57 MB at the peak

    # Sampled mode: the page says which numbers are estimates.
    estimates = page.by_id("estimates").text
    assert "estimates from samples every 64.0 KiB" in estimates
    assert "Exact: peak tracked" in estimates
    assert "sampled" in page.by_id("meta").text

    # The tooltip: the line, its source, bytes, share of the peak, count.
    tip = page.hover_frame(blob)
    assert label in tip and "blob = bytearray(50_000_000)" in tip
    assert size_text(blob["bytes"]) in tip and "% of the peak" in tip
    assert re.search(r"\n(\u2248 )?\d+ allocations?\n", tip), tip
    page.screenshot("report-html-peak")

    # Search: highlighted frames and their summed bytes.
    search = page.by_id("search")
    search.send_keys("hold_blob")
    result = page.by_id("search-result").text
    assert result.startswith("1 frame match: \u2248 %s, " % size_text(blob["bytes"])), result
    assert "of the peak" in result
    assert [f["label"] for f in page.frames() if f["matched"]] == [label]
    search.clear()
    search.send_keys("app.py")
    # Nested matches count once: everything under the <module> (app.py:...) lines.
    modules = sum(f["bytes"] for f in page.frames() if f["label"].startswith("<module> (app.py:"))
    assert size_text(modules) in page.by_id("search-result").text
    search.clear()
    page.js("arguments[0].dispatchEvent(new Event('input'))", search)
    assert page.by_id("search-result").text == ""

    # Click to zoom: the breadcrumb shows the path; "all" zooms back out.
    page.click_at(page.by_id("flame"), blob["x"] + 20, blob["y"] + 9)
    crumbs = page.d.find_elements("css selector", "#breadcrumb button")
    assert [c.text for c in crumbs][0] == "all"
    assert crumbs[-1].text == label and crumbs[-1].get_attribute("aria-current") == "true"
    assert page.js("return window.heapmarkReport.state().zoom") == label
    zoomed = page.frame(label)
    assert zoomed["x"] == 0 and abs(zoomed["w"] - canvas_width) < 1
    assert page.by_id("reset").is_enabled()
    crumbs[0].click()
    assert len(page.d.find_elements("css selector", "#breadcrumb button")) == 1
    assert not page.by_id("reset").is_enabled()

    # Flame (root at the bottom) and icicle (root at the top).
    root_y = page.frame("all")["y"]
    assert root_y == max(f["y"] for f in page.frames())
    page.by_id("orientation").click()
    assert page.frame("all")["y"] == 0
    page.by_id("orientation").click()

    # End: the blob was freed, keep_some's 6 MB remained.
    page.d.find_element("css selector", "button.snap[data-snap='end']").click()
    assert page.js("return window.heapmarkReport.state().snapshot") == "end"
    labels = [f["label"] for f in page.frames()]
    assert not any(l.startswith("hold_blob") for l in labels)
    keep = page.frame("keep_some (app.py:%d)" % KEEP_LINE, 6_000_000)
    assert keep["bytes"] < 6_100_000
    assert "still allocated when recording ended" in page.by_id("snapshot-caption").text
    # Allocated: churn's thirty 1 MB pieces, freed since, and the blob.
    page.d.find_element("css selector", "button.snap[data-snap='allocated']").click()
    churn = page.frame("churn (app.py:", 30_000_000)
    assert churn["bytes"] < 31_000_000
    page.frame(label, 50_000_000)
    page.d.find_element("css selector", "button.snap[data-snap='peak']").click()

    # The table: self bytes by default, sortable by every column.
    def column(key):
        return page.js(
            "var key = arguments[0];"
            "return Array.from(document.querySelectorAll('#top tbody tr'))"
            ".map(function (r) { return Number(r.dataset[key]); })",
            key,
        )

    first = page.d.find_element("css selector", "#top tbody tr td .label").text
    assert first == label
    selfs = column("self")
    assert selfs == sorted(selfs, reverse=True) and selfs[0] == blob["bytes"]
    total_header = page.d.find_element("css selector", "#top th[data-key='total'] button")
    total_header.click()
    totals = column("total")
    assert totals == sorted(totals, reverse=True) and totals[0] > selfs[0]
    assert (
        page.d.find_element("css selector", "#top th[data-key='total']").get_attribute("aria-sort")
        == "descending"
    )
    total_header.click()
    ascending = column("total")  # the first rows shown: the smallest now
    assert ascending == sorted(ascending) and ascending[0] <= totals[-1]
    page.d.find_element("css selector", "#top th[data-key='label'] button").click()
    assert page.js(
        "var n = Array.from(document.querySelectorAll('#top tbody tr td .label'))"
        ".map(function (e) { return e.textContent; });"
        "return n.length > 3 && n.every(function (s, i) {"
        "  return i === 0 || n[i - 1].localeCompare(s) <= 0; })"
    )
    assert (
        page.d.find_element("css selector", "#top th[data-key='label']").get_attribute("aria-sort")
        == "ascending"
    )
    page.d.find_element("css selector", "button.table-kind[data-kind='functions']").click()
    functions = page.js(
        "return Array.from(document.querySelectorAll('#top tbody tr td .label'))"
        ".map(function (e) { return e.textContent; })"
    )
    assert "hold_blob (app.py)" in functions
    assert len(data["functions"]["peak"]) > 0
    assert page.errors() == []


def timeline_rows(profile):
    """Timeline, GC runs and phases as the engine writes them, shaped around
    the profile's own peak: (points, gc_runs, phases)."""
    con = sqlite3.connect(str(profile))
    meta = dict(con.execute("select key, value from meta"))
    con.close()
    d, p, peak = meta["duration_s"], meta["peak_at_s"], meta["peak_bytes"]
    points = []
    for k in range(201):
        t = d * k / 200
        if abs(t - p) < d / 100:
            continue  # the peak's own point alone under the mouse there
        tracked = int(peak * max(0.05, 1 - abs(t - p) / max(d, 1e-9)))
        points.append((t, tracked, tracked + 5 * MiB))
    points.append((p, peak, peak + 6 * MiB))
    points.sort()
    gc_runs = [
        (d * 0.1, d * 0.11, 0, 1000, 900),
        (d * 0.5, d * 0.52, 1, 5000, 4000),
        (d * 0.9, d * 0.94, 2, 9000, 1000),
    ]
    phases = [
        ("load", 0.0, min(d, p + 0.1 * d), 0),
        ("parse", max(0.0, p - 0.05 * d), min(d, p + 0.05 * d), 1),
        ("save", min(d, p + 0.1 * d), None, 0),
    ]
    return points, gc_runs, phases


def add_timeline(profile, points=None, gc_runs=None, phases=None):
    """Writes the optional tables into a real profile, header untouched."""
    con = sqlite3.connect(str(profile))
    con.executescript("""
        CREATE TABLE IF NOT EXISTS timeline(t REAL NOT NULL, tracked INTEGER NOT NULL,
                                            rss INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS gc_runs(t_start REAL NOT NULL, t_end REAL NOT NULL,
            generation INTEGER NOT NULL, tracked_before INTEGER NOT NULL,
            tracked_after INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS phases(name TEXT NOT NULL, t_start REAL NOT NULL, t_end REAL,
                                          depth INTEGER NOT NULL);
        DELETE FROM timeline; DELETE FROM gc_runs; DELETE FROM phases;
    """)
    con.executemany("INSERT INTO timeline VALUES (?, ?, ?)", points or [])
    con.executemany("INSERT INTO gc_runs VALUES (?, ?, ?, ?, ?)", gc_runs or [])
    con.executemany("INSERT INTO phases VALUES (?, ?, ?, ?)", phases or [])
    con.commit()
    assert con.execute("pragma application_id").fetchone()[0] == 0x484D4B31
    assert con.execute("pragma user_version").fetchone()[0] == 1
    con.close()


def drop_timeline(profile):
    """A profile as heapmark wrote it before the timeline."""
    con = sqlite3.connect(str(profile))
    con.executescript(
        "DROP TABLE IF EXISTS timeline; DROP TABLE IF EXISTS gc_runs; DROP TABLE IF EXISTS phases;"
    )
    con.close()


@pytest.fixture
def timeline_profile(peak_run, tmp_path):
    profile = tmp_path / "profile.db"
    shutil.copy(peak_run / "profile.db", profile)
    points, gc_runs, phases = timeline_rows(profile)
    add_timeline(profile, points, gc_runs, phases)
    run_heapmark(["report", str(profile), "-o", str(tmp_path / "r")], tmp_path)
    return tmp_path / "r" / "report.html", points, gc_runs, phases


def test_source_files_view(peak_run, browser):
    """The page's "Source files": app.py line by line, the same figures as
    heapmark report --lines (both summed by source_lines.c)."""
    data = page_data(peak_run / "report.html")
    (app,) = [f for f in data["sources"] if f["file"] == "app.py"]
    assert data["sources_omitted"] == 0
    rows = {row[0]: row for row in app["lines"]}
    # The text the profile recorded at the run (stripped), not today's file.
    assert rows[BLOB_LINE][4] == "blob = bytearray(50_000_000)"
    _, out, _ = run_heapmark(
        ["report", str(peak_run / "profile.db"), "--lines", "app.py", "--json"],
        peak_run.parent,
    )
    lines = {row["line"]: row for row in json.loads(out)["lines"]}
    assert sorted(lines) == sorted(rows)
    for number, row in rows.items():
        expected = lines[number]
        assert row[1:4] == [
            expected["peak_bytes"],
            expected["allocated_bytes"],
            expected["allocations"],
        ], number
    # A 50 MB block is always sampled exactly (blocks of 64 KiB and more are).
    assert 50_000_000 <= rows[BLOB_LINE][1] <= 50_000_000 + 4096
    # The churn loop's 30 blocks of 1 MB, all freed before the peak.
    assert rows[CHURN_LINE][1] == 0 and 30_000_000 <= rows[CHURN_LINE][2] <= 30_000_000 + 30 * 4096

    page = Page(browser, peak_run / "report.html")
    assert page.errors() == []
    options = [o.text for o in page.d.find_elements("css selector", "#source-file option")]
    assert options[0].startswith("app.py — ")
    shown = {}
    for tr in page.d.find_elements("css selector", "#source tbody tr"):
        cells = [td.text for td in tr.find_elements("css selector", "td")]
        shown[int(cells[0])] = cells
    # Sampled: every per-line figure is marked as an estimate.
    assert shown[BLOB_LINE][1] == "\u2248 " + size_text(rows[BLOB_LINE][1])
    # Kinds at the peak's walk: the kept bytearray's buffer is the
    # bytearray's; the blob, freed at once, was gone before any walk.
    assert rows[KEEP_LINE][5] == shown[KEEP_LINE][4] == "100% bytearray"
    assert rows[BLOB_LINE][5] == shown[BLOB_LINE][4] == ""
    assert shown[BLOB_LINE][5].strip() == "blob = bytearray(50_000_000)"
    assert shown[CHURN_LINE][1] == "" and shown[CHURN_LINE][2].endswith(
        size_text(rows[CHURN_LINE][2])
    )
    caption = page.by_id("source-caption").text
    assert caption.startswith("app.py: ") and "estimates from samples" in caption
    page.js("arguments[0].scrollIntoView()", page.by_id("sources-section"))
    page.screenshot("report-html-sources")


def test_timeline_tables_reach_the_page(timeline_profile):
    html, points, gc_runs, phases = timeline_profile
    data = page_data(html)
    assert data["timeline"]["rows"] == len(points)
    assert data["timeline"]["tracked"] == [tracked for _, tracked, _ in points]
    assert data["timeline"]["rss"] == [rss for _, _, rss in points]
    assert [round(t, 4) for t in data["timeline"]["t"]] == [round(t, 4) for t, _, _ in points]
    assert data["gc"]["total"] == 3
    assert [g[2:] for g in data["gc"]["runs"]] == [list(g[2:]) for g in gc_runs]
    listed = {p[0]: p for p in data["phases"]["list"]}
    assert set(listed) == {"load", "parse", "save"}
    assert listed["parse"][3] == 1 and listed["save"][4] == 1  # depth; still open
    # A phase open at the end lasts until the run's end.
    assert listed["save"][2] == pytest.approx(data["meta"]["duration_s"], abs=1e-6)


def test_timeline_in_the_browser(timeline_profile, browser):
    html, points, gc_runs, phases = timeline_profile
    page = Page(browser, html)
    assert page.errors() == []
    assert not page.by_id("timeline-empty").is_displayed()
    rows = page.d.find_elements("css selector", "#phases tbody tr")
    names = [r.find_element("css selector", "td.name").text for r in rows]
    assert names == ["load", "parse", "save"]
    indent = [
        float(r.find_element("css selector", "td.name").value_of_css_property("padding-left")[:-2])
        for r in rows
    ]
    assert indent[1] > indent[0] == indent[2]  # parse is inside load
    assert "open at the end" in rows[2].text
    assert "3 GC runs" in page.by_id("timeline-counts").text
    # Hovering at the peak: tracked memory, RSS, the phases there, the peak.
    data = page_data(html)
    canvas = page.by_id("timeline")
    width = canvas.rect["width"]
    t_max = max([data["meta"]["duration_s"], points[-1][0]] + [g[1] for g in gc_runs])
    x = 76 + data["meta"]["peak_at_s"] / t_max * (width - 76 - 16)
    page.point_at(canvas, x, 60)
    tip = page.by_id("timeline-tip").text
    assert "tracked: %s" % size_text(data["meta"]["peak_bytes"]) in tip, tip
    assert "RSS: " in tip and "phase: load \u203a parse" in tip
    assert "peak: %s" % size_text(data["meta"]["peak_bytes"]) in tip
    # The phase lanes above the plot name the phase under the mouse.
    page.point_at(canvas, x, 2 + 17 + 8)
    assert page.by_id("timeline-tip").text.startswith("phase parse")
    page.screenshot("report-html-timeline")


def test_profile_without_timeline(peak_run, tmp_path, browser):
    profile = tmp_path / "profile.db"
    shutil.copy(peak_run / "profile.db", profile)
    drop_timeline(profile)
    run_heapmark(["report", str(profile), "-o", str(tmp_path / "r")], tmp_path)
    data = page_data(tmp_path / "r" / "report.html")
    assert data["timeline"]["rows"] == 0 and data["phases"]["total"] == 0
    page = Page(browser, tmp_path / "r" / "report.html")
    assert page.errors() == []
    assert page.by_id("timeline-empty").is_displayed()
    assert "no timeline" in page.by_id("timeline-empty").text
    page.frame("hold_blob (app.py:%d)" % BLOB_LINE, 50_000_000)


def test_phases_marked_by_the_program(tmp_path, browser):
    (tmp_path / "phased.py").write_text(
        "import heapmark\n"
        "with heapmark.phase('load'):\n"
        "    data = [bytearray(1000) for _ in range(10000)]\n"
        "    with heapmark.phase('parse'):\n"
        "        parsed = bytearray(20_000_000)\n"
        "heapmark.phase('report')\n"
        "text = bytearray(5_000_000)\n"
    )
    run_heapmark(["run", "-q", "-o", str(tmp_path / "out"), "phased.py"], tmp_path)
    data = page_data(tmp_path / "out" / "report.html")
    listed = {p[0]: p for p in data["phases"]["list"]}
    assert set(listed) == {"load", "parse", "report"}
    assert listed["parse"][3] == 1 and listed["load"][3] == 0 and listed["report"][3] == 0
    assert listed["load"][1] <= listed["parse"][1] <= listed["parse"][2] <= listed["load"][2]
    assert listed["report"][1] >= listed["load"][2]
    assert data["timeline"]["rows"] > 0
    page = Page(browser, tmp_path / "out" / "report.html")
    assert page.errors() == []
    names = [e.text for e in page.d.find_elements("css selector", "#phases td.name")]
    assert names == ["load", "parse", "report"]


def test_a_peak_between_timeline_samples_is_drawn(tmp_path, browser):
    """A 50 MB spike far shorter than the 200 ms timeline interval: no sample
    sees it, but the chart's tracked line passes through the peak (its bytes
    are exact; its time comes from the coarse clock the hooks read).  The
    spike is an untouched anonymous mapping, held for microseconds: a
    bytearray's memset could last long enough on a loaded machine for a
    sample to catch it."""
    (tmp_path / "spike.py").write_text(
        "import mmap, time\ntime.sleep(0.25)\nm = mmap.mmap(-1, 50_000_000)\nm.close()\n"
        "time.sleep(0.25)\n"
    )
    run_heapmark(
        ["run", "-q", "--timeline-interval", "200", "-o", str(tmp_path / "out"), "spike.py"],
        tmp_path,
    )
    data = page_data(tmp_path / "out" / "report.html")
    peak, at = data["meta"]["peak_bytes"], data["meta"]["peak_at_s"]
    assert peak >= 50_000_000
    # The samples missed it: every sampled value is well below the peak.
    samples = data["timeline"]
    assert max(samples["tracked"]) < peak - 40_000_000, samples
    page = Page(browser, tmp_path / "out" / "report.html")
    assert page.errors() == []
    line = page.js("return window.heapmarkReport.trackedLine()")
    assert len(line["t"]) == len(samples["t"]) + 1
    k = line["v"].index(peak)
    assert line["t"][k] == at and line["t"] == sorted(line["t"])
    assert line["v"][:k] + line["v"][k + 1 :] == samples["tracked"]


# ---- kinds at the peak -------------------------------------------------------------------

KIND_ITEMS, KIND_FLOATS = 300_000, 500_000
# A class's name is program text too.
HOSTILE_KIND = "</script><img src=x onerror=alert(5)>"
KINDS_PROGRAM = '''\
import sys


class Item:
    __slots__ = ("pair",)

    def __init__(self, i):
        self.pair = (i, i + 1)


def make():
    return [Item(i) for i in range(%d)]


items = make()
floats = [float(i) for i in range(%d)]
Odd = type(%r, (), {"__slots__": ()})
odd = [Odd() for _ in range(50_000)]
print(sys.getsizeof(items[0]), sys.getsizeof(floats[0]))
''' % (KIND_ITEMS, KIND_FLOATS, HOSTILE_KIND)
ITEM_LINE = (
    KINDS_PROGRAM.splitlines().index("    return [Item(i) for i in range(%d)]" % KIND_ITEMS) + 1
)
FLOAT_LINE = (
    KINDS_PROGRAM.splitlines().index("floats = [float(i) for i in range(%d)]" % KIND_FLOATS) + 1
)


@pytest.fixture(scope="module")
def kinds_run(tmp_path_factory):
    """A run with walks of the heap, and what its two largest kinds hold:
    300,000 instances (with __slots__: one block each, no dict on any
    Python) and 500,000 floats, all kept to the end, so that the walk
    standing for the peak sees them all.  heapmark counts a small object at
    its 16-byte pymalloc size class."""
    d = tmp_path_factory.mktemp("kinds")
    (d / "kinds_app.py").write_text(KINDS_PROGRAM)
    _, out, _ = run_heapmark(
        ["run", "-q", "--kinds-time", "100", "--seed", "7", "-o", str(d / "out"), "kinds_app.py"],
        d,
    )
    item_size, float_size = (int(s) for s in out.split())
    known = {
        "__main__.Item": KIND_ITEMS * ((item_size + 15) // 16 * 16),
        "float": KIND_FLOATS * ((float_size + 15) // 16 * 16),
    }
    return d / "out", known


def expected_page_kinds(profile, data, snapshot):
    """{(page node, kind): [bytes, count]}: the profile's node_kinds rows
    moved onto the page as report.html must move them: a node on the page
    keeps its rows; a folded node, and everything under it, gives them to
    its caller's "other" node; a node with nothing in any snapshot (never
    folded) to its nearest ancestor on the page."""
    child, _, total = profile_tree(profile)
    parent = {nid: key[0] for key, nid in child.items()}
    tree, S = data["tree"], data["strings"]
    frames = [(S[f[0]], S[f[1]], f[3]) for f in data["frames"]]
    prof, on_page, other_of = [0] * len(tree["parent"]), {0: 0}, {}
    for i in range(1, len(tree["parent"])):
        par = i - tree["parent"][i]
        if tree["frame"][i] >= 0:
            prof[i] = child[(prof[par],) + frames[tree["frame"][i]]]
            on_page[prof[i]] = i
        else:
            other_of[prof[par]] = i

    def page_node(n):
        below = None
        while n not in on_page:
            n, below = parent[n], n
        if below is not None and any(total[s][below] != [0, 0] for s in total):
            return other_of[n]
        return on_page[n]

    con = sqlite3.connect(str(profile))
    moved = {}
    for node, kind, b, c in con.execute(
        "select k.node, s.text, k.bytes, k.count from node_kinds k"
        " join strings s on s.id = k.kind where k.snapshot = ?",
        (snapshot,),
    ):
        cell = moved.setdefault((page_node(node), kind), [0, 0])
        cell[0] += b
        cell[1] += c
    con.close()
    return moved


@pytest.mark.parametrize("min_bytes", [None, "1M"])
def test_kinds_reach_the_page_data(kinds_run, tmp_path, min_bytes):
    out, known = kinds_run
    html = out / "report.html"
    if min_bytes:  # most of the import machinery folded into "other" nodes
        run_heapmark(
            ["report", str(out / "profile.db"), "-o", str(tmp_path), "--html-min-bytes", min_bytes],
            tmp_path,
        )
        html = tmp_path / "report.html"
    data = page_data(html)
    if min_bytes:
        assert data["prune"]["other_nodes"] > 0
    for snapshot, name in ((1, "peak"), (2, "end")):
        walk = data["kinds"][name]
        assert walk["note"].startswith("from a walk of the heap at ")
        assert "estimates from the sampled blocks" in walk["note"]
        assert set(known) <= set(walk["names"])
        rows = walk["rows"]
        assert rows and all(0 <= r[0] < len(data["tree"]["parent"]) for r in rows)
        assert all(0 <= r[1] < len(walk["names"]) for r in rows)
        assert [r[0] for r in rows] == sorted(r[0] for r in rows)
        on_page = {(r[0], walk["names"][r[1]]): [r[2], r[3]] for r in rows}
        assert len(on_page) == len(rows)  # one row per page node and kind
        # Moved and summed to the byte and the object.
        assert on_page == expected_page_kinds(out / "profile.db", data, snapshot)
        # Names come largest first.
        by_name = [0] * len(walk["names"])
        for r in rows:
            by_name[r[1]] += r[2]
        assert by_name == sorted(by_name, reverse=True)
    # The lines of the table carry their kinds at the peak's and the end's
    # walks, not in the allocated snapshot, which no walk stands for.
    S, F = data["strings"], data["frames"]
    for name in ("peak", "end"):
        assert all(len(r) == 7 for r in data["lines"][name])
    assert all(len(r) == 5 for r in data["lines"]["allocated"])
    assert all(len(r) == 5 for table in data["functions"].values() for r in table)
    # The line's innermost frame (on 3.9-3.11 the comprehension's, under make's).
    item_line = max(
        (
            r
            for r in data["lines"]["peak"]
            if S[F[r[0]][1]].endswith("kinds_app.py") and F[r[0]][3] == ITEM_LINE
        ),
        key=lambda r: r[1],
    )
    names = data["kinds"]["peak"]["names"]
    assert names[item_line[6][0][0]] == "__main__.Item"
    assert item_line[5] >= sum(k[1] for k in item_line[6])


def kind_table(page):
    """The kinds table as shown: {kind: (bytes, the bytes cell's text)}."""
    rows = page.js(
        "return Array.from(document.querySelectorAll('#kinds tbody tr')).map(function (r) {"
        "  return [r.cells[3].textContent, Number(r.dataset.bytes), r.cells[0].textContent]; })"
    )
    return {kind: (b, text) for kind, b, text in rows}


def line_kinds(page, line):
    """The kinds cell of the table's row for kinds_app.py:line."""
    cells = page.js(
        "return Array.from(document.querySelectorAll('#top tbody tr')).map(function (r) {"
        "  var k = r.querySelector('td.kinds');"
        "  return [r.querySelector('.label').textContent, k ? k.textContent : null]; })"
    )
    # The innermost frame's row (on 3.9-3.11 the comprehension's, not the
    # module's that called it, which allocated nothing itself).
    found = [
        k for label, k in cells if label.endswith("(kinds_app.py:%d)" % line) and k != "\u2013"
    ]
    assert found, cells
    return found[0]


def test_kinds_in_the_browser(kinds_run, browser):
    out, known = kinds_run
    data = page_data(out / "report.html")
    page = Page(browser, out / "report.html")
    assert page.errors() == []

    # The table of kinds at the peak, under the walk's sentence.  The sizes
    # are estimates from samples every 64 KiB: 14.4 MB of instances is some
    # 220 samples, a standard error near 7%; 25% is beyond three of them
    # (and --seed makes the run repeatable).
    assert page.by_id("kinds-title").text == "Kinds at the peak"
    note = page.by_id("kinds-note").text
    assert (
        note.startswith("Kinds at the peak, from a walk of the heap at ")
        and "% of the peak" in note
    )
    shown = kind_table(page)
    for kind, expected in known.items():
        b, text = shown[kind]
        assert abs(b - expected) <= 0.25 * expected, (kind, b, expected)
        assert text == "\u2248 " + size_text(b)
    assert not page.by_id("kinds-empty").is_displayed()
    # A hostile class name is text, in the data and on the page.
    assert "__main__." + HOSTILE_KIND in shown
    assert (out / "report.html").read_text(encoding="utf-8").count("<script") == 2
    assert page.js("return document.images.length") == 0
    page.js("arguments[0].scrollIntoView()", page.by_id("kinds-section"))
    page.screenshot("report-html-kinds")

    # The table of top lines: the line creating the instances names them first.
    assert page.by_id("top-kinds").is_displayed()
    assert re.match(r"\d+% __main__\.Item(, |$)", line_kinds(page, ITEM_LINE))
    assert re.match(r"\d+% float(, |$)", line_kinds(page, FLOAT_LINE))

    # A subtree's kinds: the root's are all the walk's rows.
    report = "return window.heapmarkReport."
    rows = data["kinds"]["peak"]["rows"]
    names = data["kinds"]["peak"]["names"]
    root = page.js(report + "kindsOf(0)")
    expected = {}
    for r in rows:
        expected[names[r[1]]] = expected.get(names[r[1]], 0) + r[2]
    assert dict(root) == {k: b for k, b in expected.items() if b > 0}
    assert sum(b for _, b in root) == sum(r[2] for r in rows)
    assert [b for _, b in root] == sorted((b for _, b in root), reverse=True)
    # The floats' line calls no Python; the instances' line calls __init__,
    # whose tuples its subtree holds too.
    floats = page.frame("<module> (kinds_app.py:%d)" % FLOAT_LINE)
    assert page.js(report + "kindsOf(arguments[0])", floats["node"])[0][0] == "float"
    # The comprehension's frame: make's own from 3.12, its <listcomp>'s (the
    # innermost, last in the page's depth-first order) before.
    item = max(
        (f for f in page.frames() if f["label"].endswith("(kinds_app.py:%d)" % ITEM_LINE)),
        key=lambda f: f["node"],
    )
    below = dict(page.js(report + "kindsOf(arguments[0])", item["node"]))
    assert below["__main__.Item"] == shown["__main__.Item"][0] and "tuple" in below
    tip = page.hover_frame(item)
    assert "kinds at the walk of the heap" in tip and "__main__.Item" in tip

    # Colour by kind, and back.
    assert page.js(report + "colourMode()") == "code"
    button = page.by_id("colour-mode")
    assert button.text == "Colour: code" and not page.by_id("kind-legend").is_displayed()
    by_code = {f["node"]: f["fill"] for f in page.frames()}
    button.click()
    assert page.js(report + "colourMode()") == "kind" and button.text == "Colour: kind"
    by_kind = {f["node"]: f["fill"] for f in page.frames()}
    assert by_kind != by_code
    assert by_kind[floats["node"]] != by_kind[item["node"]]
    # Most of the instances' subtree is their tuples (64 bytes each, to 48).
    legend = page.by_id("kind-legend").text
    assert "tuple" in legend and "float" in legend
    page.screenshot("report-html-kind-colours")
    button.click()
    assert page.js(report + "colourMode()") == "code"
    assert {f["node"]: f["fill"] for f in page.frames()} == by_code

    # The end has its walk; everything allocated has none.
    page.d.find_element("css selector", "button.snap[data-snap='end']").click()
    assert page.by_id("kinds-title").text == "Kinds at the end"
    assert "float" in kind_table(page)
    page.d.find_element("css selector", "button.snap[data-snap='allocated']").click()
    assert "known for the peak and the end only" in page.by_id("kinds-note").text
    assert not page.by_id("kinds").is_displayed() and not page.by_id("top-kinds").is_displayed()
    assert page.js(report + "kindsOf(0)") == []
    page.d.find_element("css selector", "button.snap[data-snap='peak']").click()
    assert page.by_id("kinds").is_displayed()
    assert page.errors() == []


@pytest.mark.parametrize("how", ["--no-kinds", "tables dropped"])
def test_profile_without_kinds(kinds_run, tmp_path, browser, how):
    if how == "--no-kinds":
        (tmp_path / "app.py").write_text(PROGRAM)
        run_heapmark(["run", "-q", "--no-kinds", "-o", str(tmp_path / "r"), "app.py"], tmp_path)
    else:  # as heapmark wrote profiles before kinds
        profile = tmp_path / "profile.db"
        shutil.copy(kinds_run[0] / "profile.db", profile)
        con = sqlite3.connect(str(profile))
        con.executescript("DROP TABLE node_kinds; DROP TABLE kind_walks;")
        con.close()
        run_heapmark(["report", str(profile), "-o", str(tmp_path / "r")], tmp_path)
    data = page_data(tmp_path / "r" / "report.html")
    assert data["kinds"] == {"peak": None, "end": None}
    assert all(len(r) == 5 for table in data["lines"].values() for r in table)
    page = Page(browser, tmp_path / "r" / "report.html")
    assert page.errors() == []
    empty = page.by_id("kinds-empty")
    assert empty.is_displayed() and empty.text.startswith("This profile has no kinds")
    for hidden in ("kinds", "kinds-note", "colour-mode", "top-kinds", "kind-legend"):
        assert not page.by_id(hidden).is_displayed(), hidden
    assert page.js("return window.heapmarkReport.kindsOf(0)") == []
    assert page.errors() == []


# ---- program text is text ---------------------------------------------------------------

HOSTILE_NAME = 'we<ird>&"q\'<script>alert(1)<!--.py'
HOSTILE_SOURCE = (
    "x = bytearray(20_000_000)  # </script><script>alert(2)</script>"
    "<img src=x onerror=alert(3)>\u2028"
)


def test_program_text_is_shown_as_text(tmp_path, browser):
    (tmp_path / HOSTILE_NAME).write_text(
        "def f():\n    %s\n    return x\n\nkept = f()\n" % HOSTILE_SOURCE, encoding="utf-8"
    )
    run_heapmark(["run", "-q", "-o", str(tmp_path / "out"), HOSTILE_NAME], tmp_path)
    profile = tmp_path / "out" / "profile.db"
    add_timeline(
        profile,
        [(0.0, 0, 0), (0.01, 20_000_000, 30_000_000)],
        [],
        [("</script><script>alert(4)</script>", 0.0, None, 0)],
    )
    run_heapmark(["report", str(profile)], tmp_path)
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    # Only heapmark's two scripts; the program's text never closes one.
    assert html.count("<script") == 2 and html.count("</script>") == 2
    assert "alert(" in html and "<img" not in html

    from selenium.common.exceptions import NoAlertPresentException

    page = Page(browser, tmp_path / "out" / "report.html")
    with pytest.raises(NoAlertPresentException):
        page.d.switch_to.alert.text  # noqa: B018 (raises if no alert)
    assert page.errors() == []
    assert page.js("return document.scripts.length") == 2
    assert page.js("return document.images.length") == 0
    body = page.js("return document.body.innerText")
    assert HOSTILE_NAME in body
    assert "# </script><script>alert(2)</script><img src=x onerror=alert(3)>" in body
    assert "</script><script>alert(4)</script>" in body
    f = page.frame("f (%s:2)" % HOSTILE_NAME, 20_000_000)
    assert "alert(2)" in page.hover_frame(f)


# ---- size, pruning and totals on a profile of 100,000+ nodes ----------------------------


@pytest.fixture(scope="module")
def many_stacks(tmp_path_factory):
    d = tmp_path_factory.mktemp("many")
    shutil.copy(os.path.join(PROGRAMS, "many_stacks.py"), d / "many_stacks.py")
    run_heapmark(["run", "-q", "--exact", "-o", str(d / "out"), "many_stacks.py"], d)
    return d / "out"


def profile_tree(profile):
    """(children by (parent, function, file, line), self, total) from the file."""
    con = sqlite3.connect(str(profile))
    nodes = con.execute(
        "select n.id, n.parent, f.function, f.file, f.line from nodes n "
        "left join frame_text f on f.id = n.frame order by n.id"
    ).fetchall()
    child = {}
    parent = [0] * len(nodes)
    for nid, par, fn, file, line in nodes:
        if nid:
            child[(par, fn, file, line)] = nid
            parent[nid] = par
    self_ = {s: [[0, 0] for _ in nodes] for s in (1, 2, 3)}
    for snap, node, b, c in con.execute("select snapshot, node, bytes, count from node_values"):
        self_[snap][node] = [b, c]
    total = {s: [list(v) for v in self_[s]] for s in self_}
    for s in total:
        for nid in range(len(nodes) - 1, 0, -1):
            total[s][parent[nid]][0] += total[s][nid][0]
            total[s][parent[nid]][1] += total[s][nid][1]
    return child, self_, total


def check_page_tree(data, child, self_, total):
    """Every node on the page carries its profile node's exact totals, and
    each "other" node exactly what its parent's pruned children held."""
    tree = data["tree"]
    S = data["strings"]
    frames = [(S[f[0]], S[f[1]], f[3]) for f in data["frames"]]
    names = {1: "peak", 2: "end", 3: "allocated"}
    prof = [0] * len(tree["parent"])
    kept_children = {}
    for i in range(1, len(tree["parent"])):
        par = i - tree["parent"][i]
        assert 0 <= par < i
        if tree["frame"][i] >= 0:
            fn, file, line = frames[tree["frame"][i]]
            prof[i] = child[(prof[par], fn, file, line)]
            kept_children.setdefault(par, []).append(prof[i])
            for s, name in names.items():
                assert tree["total"][name][i] == total[s][prof[i]][0]
                assert tree["count"][name][i] == total[s][prof[i]][1]
    others = 0
    for i in range(1, len(tree["parent"])):
        if tree["frame"][i] < 0:
            others += 1
            par = i - tree["parent"][i]
            for s, name in names.items():
                for k in (0, 1):
                    held = (
                        total[s][prof[par]][k]
                        - self_[s][prof[par]][k]
                        - sum(total[s][c][k] for c in kept_children.get(par, []))
                    )
                    assert (tree["total"], tree["count"])[k][name][i] == held
    for s, name in names.items():
        assert tree["total"][name][0] == total[s][0][0]
    return others


def test_pruned_page_of_100k_nodes(many_stacks, tmp_path):
    child, self_, total = profile_tree(many_stacks / "profile.db")
    assert len(child) + 1 >= 100_000
    # heapmark run wrote it with the defaults; heapmark report gives the same.
    html = many_stacks / "report.html"
    assert os.path.getsize(html) < 5 * MiB
    run_heapmark(["report", str(many_stacks / "profile.db"), "-o", str(tmp_path)], tmp_path)
    assert (tmp_path / "report.html").read_bytes() == html.read_bytes()
    data = page_data(html)
    prune = data["prune"]
    assert prune["profile_nodes"] == len(child) + 1
    assert 0 < prune["page_nodes"] <= 30_000 and prune["other_nodes"] > 0
    assert check_page_tree(data, child, self_, total) == prune["other_nodes"]
    # Exact mode: the peak breakdown adds up to the exact peak.
    assert data["tree"]["total"]["peak"][0] == data["meta"]["peak_bytes"]
    # The table counts the whole tree, not the pruned one: allocate()'s ten
    # lines, each a leaf under 10,000 stacks, as the profile has them.
    S, F = data["strings"], data["frames"]
    table = {F[r[0]][3]: r[1:5] for r in data["lines"]["peak"] if S[F[r[0]][0]] == "allocate"}
    con = sqlite3.connect(str(many_stacks / "profile.db"))
    stored = {
        line: (b, c)
        for line, b, c in con.execute(
            "select f.line, sum(v.bytes), sum(v.count) from node_values v "
            "join nodes n on n.id = v.node"
            " join frame_text f on f.id = n.frame where f.function = 'allocate' and v.snapshot = 1"
            " group by f.line"
        )
    }
    assert set(table) <= set(stored)
    for line, (self_bytes, total_bytes, self_count, total_count) in table.items():
        assert self_bytes == total_bytes == stored[line][0]
        assert self_count == total_count == stored[line][1]
    # The ten keep.append lines: each leaf's object and its buffer.
    assert len([line for line in table if table[line][2] >= 2 * 10_000]) == 10
    # Kinds, when a walk ran, move with their nodes: thousands onto "other" nodes.
    walk = data["kinds"]["peak"]
    if walk:
        on_page = {(r[0], walk["names"][r[1]]): [r[2], r[3]] for r in walk["rows"]}
        assert on_page == expected_page_kinds(many_stacks / "profile.db", data, 1)
        assert any(data["tree"]["frame"][node] < 0 for node, _ in on_page)


@pytest.mark.parametrize("option", ["0", "64K", "1%"])
def test_html_min_bytes(many_stacks, tmp_path, option):
    run_heapmark(
        [
            "report",
            str(many_stacks / "profile.db"),
            "-o",
            str(tmp_path),
            "--html-min-bytes",
            option,
        ],
        tmp_path,
    )
    data = page_data(tmp_path / "report.html")
    child, self_, total = profile_tree(many_stacks / "profile.db")
    others = check_page_tree(data, child, self_, total)
    prune = data["prune"]
    if option == "0":
        assert prune["page_nodes"] == prune["profile_nodes"] and others == 0
    elif option == "64K":
        assert prune["min_bytes"] == [65536] * 3 and prune["share"] == 0
        assert 1 < prune["page_nodes"] < 1000 and others > 0
    else:
        assert prune["share"] == pytest.approx(0.01)
        peak = data["tree"]["total"]["peak"]
        for i in range(1, len(peak)):
            if data["tree"]["frame"][i] >= 0:
                assert (
                    max(
                        data["tree"]["total"][s][i] / max(1, data["tree"]["total"][s][0])
                        for s in ("peak", "end", "allocated")
                    )
                    >= 0.01 - 1e-9
                )


def test_large_page_in_the_browser(many_stacks, browser):
    page = Page(browser, many_stacks / "report.html")
    assert page.errors() == []
    drawn = page.frames()
    assert len(drawn) > 100
    assert any(f["label"].startswith("[other: ") for f in drawn)
    page.by_id("search").send_keys("allocate (")
    data = page_data(many_stacks / "report.html")
    S, tree = data["strings"], data["tree"]
    hits = [
        i
        for i, f in enumerate(tree["frame"])
        if f is not None and f >= 0 and S[data["frames"][f][0]] == "allocate"
    ]
    held = sum(tree["total"]["peak"][i] for i in hits)
    assert page.by_id("search-result").text.startswith(
        "%d frames match: %s, " % (len(hits), size_text(held))
    )
    page.screenshot("report-html-100k")
    print(
        "\nreport.html of %d nodes: loaded in %.2f s"
        % (page_data(many_stacks / "report.html")["prune"]["profile_nodes"], page.load_seconds)
    )


# ---- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["abc", "200%", "-5", "nan%", "1.5x"])
def test_bad_html_min_bytes(peak_run, tmp_path, option):
    rc, _, err = run_heapmark(
        ["report", str(peak_run / "profile.db"), "-o", str(tmp_path), "--html-min-bytes", option],
        tmp_path,
        check_rc=None,
    )
    assert_one_line_error(rc, err, "--html-min-bytes")
    assert not (tmp_path / "report.html").exists()


def damaged(kind, profile):
    """(points, gc_runs, phases) with one kind of damage; None: table altered."""
    points, gc_runs, phases = timeline_rows(profile)
    if kind == "t descending":
        points[5], points[6] = points[6], points[5]
        points[5] = (points[6][0] + 1, points[5][1], points[5][2])
    elif kind == "negative tracked":
        points[3] = (points[3][0], -1, points[3][2])
    elif kind == "t text":
        points[3] = ("soon", points[3][1], points[3][2])
    elif kind == "t infinite":
        points[-1] = (float("inf"), points[-1][1], points[-1][2])
    elif kind == "rss real":
        points[3] = (points[3][0], points[3][1], 1.5)
    elif kind == "gc generation":
        gc_runs[0] = gc_runs[0][:2] + (7,) + gc_runs[0][3:]
    elif kind == "gc ends before it starts":
        gc_runs[1] = (gc_runs[1][0], gc_runs[1][0] - 0.5) + gc_runs[1][2:]
    elif kind == "phase depth":
        phases[1] = phases[1][:3] + (-1,)
    elif kind == "phase ends before it starts":
        phases[0] = (phases[0][0], 1.0, 0.5, 0)
    elif kind == "too many rows":
        points = [(k * 1e-3, 1, 1) for k in range(100_001)]
    return points, gc_runs, phases


@pytest.mark.parametrize(
    "kind",
    [
        "t descending",
        "negative tracked",
        "t text",
        "t infinite",
        "rss real",
        "gc generation",
        "gc ends before it starts",
        "phase depth",
        "phase ends before it starts",
        "too many rows",
        "wrong columns",
    ],
)
def test_damaged_timeline_is_refused(peak_run, tmp_path, kind):
    bad = tmp_path / "bad.db"
    shutil.copy(peak_run / "profile.db", bad)
    if kind == "wrong columns":
        add_timeline(bad)
        con = sqlite3.connect(str(bad))
        con.executescript("DROP TABLE phases; CREATE TABLE phases(label TEXT, t REAL);")
        con.close()
    else:
        add_timeline(bad, *damaged(kind, bad))
    out = tmp_path / "r"
    rc, stdout, err = run_heapmark(["report", str(bad), "-o", str(out)], tmp_path, check_rc=None)
    assert_one_line_error(rc, err, "bad.db", "not a readable heapmark profile")
    assert stdout == ""
    assert not out.exists() or not os.listdir(out)
    rc, _, err = run_heapmark(["report", str(bad), "--json"], tmp_path, check_rc=None)
    assert_one_line_error(rc, err, "bad.db")


@pytest.mark.parametrize("kind", ["empty", "truncated", "corrupt"])
def test_bad_profile_leaves_no_page(peak_run, tmp_path, kind):
    data = (peak_run / "profile.db").read_bytes()
    bad = tmp_path / "bad.db"
    if kind == "empty":
        bad.write_bytes(b"")
    elif kind == "truncated":
        bad.write_bytes(data[: len(data) // 3])
    else:
        bad.write_bytes(data[:100] + bytes(len(data) - 100))
    out = tmp_path / "r"
    rc, _, err = run_heapmark(["report", str(bad), "-o", str(out)], tmp_path, check_rc=None)
    assert_one_line_error(rc, err, "bad.db")
    assert not (out / "report.html").exists() and not (out / "report.html.tmp").exists()


def test_what_to_change_on_the_page(tmp_path, browser):
    """The advice heapmark report prints, on the page, largest saving first."""
    (tmp_path / "many.py").write_text(
        "class Point:\n"
        "    def __init__(self, i):\n"
        "        self.x, self.y, self.z, self.w = i, i + 1, i + 2, i + 3\n"
        "\n"
        "points = [Point(i) for i in range(150_000)]\n"
        "coords = [i * 0.5 for i in range(600_000)]\n"
    )
    run_heapmark(
        ["run", "-q", "--exact", "--kinds-time", "100", "-o", str(tmp_path / "out"), "many.py"],
        tmp_path,
    )
    data = page_data(tmp_path / "out" / "report.html")
    _, text, _ = run_heapmark(["report", str(tmp_path / "out" / "profile.db"), "--json"], tmp_path)
    advice = json.loads(text)["advice"]
    assert {a["type"] for a in advice} >= {"slots", "array"}
    assert [a["type"] for a in data["advice"]["items"]] == [a["type"] for a in advice]
    page = Page(browser, tmp_path / "out" / "report.html")
    assert page.errors() == []
    assert page.by_id("advice-section").is_displayed()
    items = page.js("return [...document.querySelectorAll('#advice li')].map(l => l.textContent)")
    assert any(
        t.startswith("Give class Point __slots__: 150,000 __main__.Point objects") for t in items
    )
    assert any("many.py:6" in t and "array.array('d')" in t for t in items)
    savings = [a["saving"] for a in data["advice"]["items"]]
    assert savings == sorted(savings, reverse=True)
    assert page.by_id("advice-source").text.startswith("Class and list figures are from a walk")


def test_no_advice_section_without_advice(tmp_path, browser):
    (tmp_path / "p.py").write_text("x = bytes(5_000_000)\n")
    run_heapmark(["run", "-q", "-o", str(tmp_path / "out"), "p.py"], tmp_path)
    page = Page(browser, tmp_path / "out" / "report.html")
    assert page.errors() == []
    assert not page.by_id("advice-section").is_displayed()
