"""The files `heapmark run` writes: profile.db, peak.svg, peak/end.folded, peak.txt.

The reports are views of the profile: the folded stacks must sum to the
profile's snapshot totals, the SVG must be valid XML with program text
escaped, and `heapmark report` must regenerate the same files.
"""

import json
import os
import re
import sqlite3
import xml.etree.ElementTree as ET

import pytest

from conftest import folded_lines, run_heapmark

PROGRAM = '''
def load_table():
    rows = [bytearray(1000) for _ in range(20000)]
    return rows


def build_index(rows):
    return {i: str(i) * 10 for i in range(len(rows))}


def main():
    rows = load_table()
    index = build_index(rows)
    blob = bytearray(25_000_000)
    return rows, index, blob


kept = main()
'''

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module", params=["exact", "sampled"])
def results(request, tmp_path_factory):
    d = tmp_path_factory.mktemp("reports")
    (d / "app.py").write_text(PROGRAM)
    mode = ["--exact"] if request.param == "exact" else ["--seed", "3"]
    run_heapmark(["run", "-q", "-o", str(d / "out")] + mode + ["app.py"], d)
    return d / "out"


def snapshot_total(profile, name):
    con = sqlite3.connect(str(profile))
    (total,) = con.execute(
        "select sum(v.bytes) from node_values v join snapshots s on s.id = v.snapshot "
        "where s.name = ?",
        (name,),
    ).fetchone()
    return total


def test_folded_stacks(results):
    for name in ("peak", "end"):
        stacks = folded_lines(results / (name + ".folded"))
        assert stacks, name
        for stack in stacks:
            for frame in stack.split(";"):
                assert re.fullmatch(r"\[[^\]]+\]|.+ \(.+:-?\d+\)", frame), frame
        # The folded file is a lossless view of the snapshot.
        assert sum(stacks.values()) == snapshot_total(results / "profile.db", name)
    peak = folded_lines(results / "peak.folded")
    blob = [s for s in peak if s.endswith("main (%s:14)" % (results.parent / "app.py"))]
    assert len(blob) == 1 and s_root_first(blob[0])


def s_root_first(stack):
    return stack.split(";")[0].startswith("<module> (")


def test_exact_mode_adds_up(results):
    con = sqlite3.connect(str(results / "profile.db"))
    meta = dict(con.execute("select key, value from meta"))
    if meta["mode"] != "exact":
        pytest.skip("sums of estimates are not exact")
    assert snapshot_total(results / "profile.db", "peak") == meta["peak_bytes"]
    assert snapshot_total(results / "profile.db", "end") == meta["end_bytes"]


def test_svg_flamegraph(results):
    tree = ET.parse(str(results / "peak.svg"))
    root = tree.getroot()
    assert root.tag == SVG + "svg"
    frames = root.findall(".//%sg[@class='f']" % SVG)
    assert len(frames) > 5
    labels = [g.get("data-l") for g in frames]
    # Frames are labelled "function (file:line)" plus the source line text.
    assert any(l.startswith("main (app.py:14)") and "bytearray(25_000_000)" in l for l in labels)
    assert any(l.startswith("load_table (app.py:3)") for l in labels)
    # Tooltips give bytes, MiB/KiB and the share of the graph, and a count.
    titles = [g.find(SVG + "title").text for g in frames]
    blob = [t for t in titles if t.startswith("main (") and ":14)" in t][0]
    assert re.search(r"MiB \([\d,]+ bytes\), [\d.]+% of this graph, .*allocation", blob)
    # Root at the top: deeper frames have larger y.
    ys = {int(g.get("data-d")): float(g.find(SVG + "rect").get("y")) for g in frames}
    assert all(ys[d] < ys[d + 1] for d in range(max(ys)))
    # Child widths never exceed their parent's.
    width = {(int(g.get("data-x")), int(g.get("data-d"))): int(g.get("data-w")) for g in frames}
    assert max(width.values()) == width[(0, 0)]
    script = root.find(SVG + "script")
    assert (
        script is not None and "function zoom" in script.text and "function search" in script.text
    )


def test_peak_text_report(results):
    text = (results / "peak.txt").read_text()
    assert "peak tracked:" in text and "peak RSS:" in text
    assert "Top lines at the peak" in text and "Top stacks at the peak" in text
    assert "main (app.py:14)" in text
    assert "blob = bytearray(25_000_000)" in text
    if "sampled" in text:
        assert "estimates" in text


def test_report_regenerates_the_same_files(results, tmp_path):
    run_heapmark(["report", str(results / "profile.db"), "-o", str(tmp_path)], tmp_path)
    for name in ("peak.svg", "peak.folded", "end.folded", "peak.txt", "report.html"):
        assert (tmp_path / name).read_bytes() == (results / name).read_bytes(), name


def test_report_json(results, tmp_path):
    _, out, _ = run_heapmark(["report", str(results / "profile.db"), "--json"], tmp_path)
    data = json.loads(out)
    con = sqlite3.connect(str(results / "profile.db"))
    meta = dict(con.execute("select key, value from meta"))
    for key in ("peak_bytes", "peak_rss_bytes", "sample_rate", "end_bytes", "pid"):
        assert data[key] == meta[key], key
    assert data["mode"] == meta["mode"]
    assert abs(data["duration_s"] - meta["duration_s"]) < 1e-3
    assert data["python"].split()[0] == meta["python"].split()[0]
    assert data["command"] == "python app.py"
    assert data["estimated"] == (meta["mode"] == "sampled")
    top = data["top"][0]
    assert set(top) >= {"function", "file", "line", "bytes"}
    assert top["function"] == "main" and top["line"] == 14
    assert os.path.basename(top["file"]) == "app.py"


def test_report_prints_a_summary(results, tmp_path):
    _, out, err = run_heapmark(
        ["report", str(results / "profile.db"), "-o", str(tmp_path)], tmp_path
    )
    assert "peak tracked memory" in out and "main (app.py:14)" in out
    assert err.startswith("heapmark: reports written to")


def test_program_text_is_escaped(tmp_path):
    name = 'we<ird>&"q\'<script>.py'
    (tmp_path / name).write_text(
        "def f():\n    return bytearray(20_000_000)  # <b>&amp;\nx = f()\n"
    )
    run_heapmark(["run", "-q", "-o", str(tmp_path / "out"), name], tmp_path)
    root = ET.parse(str(tmp_path / "out" / "peak.svg")).getroot()
    labels = [g.get("data-l") for g in root.iter(SVG + "g")]
    assert any(name in (l or "") and "# <b>&amp;" in l for l in labels)
    raw = (tmp_path / "out" / "peak.svg").read_text()
    assert "<script>.py" not in raw and "<b>" not in raw
    folded = folded_lines(tmp_path / "out" / "peak.folded")
    assert any(name in stack for stack in folded)


def test_store_schema(results):
    con = sqlite3.connect(str(results / "profile.db"))
    assert con.execute("pragma application_id").fetchone()[0] == 0x484D4B31
    assert con.execute("pragma user_version").fetchone()[0] == 1
    meta = dict(con.execute("select key, value from meta"))
    for key in (
        "command",
        "pid",
        "python",
        "start_unix",
        "duration_s",
        "mode",
        "sample_rate",
        "peak_bytes",
        "peak_at_s",
        "peak_rss_bytes",
        "end_bytes",
        "heapmark_overhead_bytes",
    ):
        assert key in meta, key
    assert meta["peak_bytes"] >= meta["end_bytes"] > 0
    assert 0 <= meta["peak_at_s"] <= meta["duration_s"]
    assert meta["heapmark_overhead_bytes"] > 0
    # Parents precede children; node 0 is the only root.
    bad = con.execute(
        "select count(*) from nodes where id > 0 and (parent is null or parent >= id)"
    ).fetchone()[0]
    assert bad == 0
    names = [r[0] for r in con.execute("select name from snapshots order by id")]
    assert names == ["peak", "end", "allocated"]
    free = con.execute(
        "select v.bytes from node_values v join nodes n on n.id = v.node "
        "join frame_text f on f.id = n.frame "
        "where f.function = '[pymalloc free space]' and v.snapshot = 1"
    ).fetchone()
    assert free is not None and free[0] >= 0
    # The view resolves strings.
    row = con.execute(
        "select function, line, source from frame_text where function = 'load_table'"
    ).fetchone()
    assert row == ("load_table", 3, "rows = [bytearray(1000) for _ in range(20000)]")
