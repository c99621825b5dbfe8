"""`heapmark diff BASE.db NEW.db`: the change by line on stdout and in
diff.html, trees matched by path, program text escaped, bad input refused.
"""

import base64
import html
import os
import re
import shutil
import xml.etree.ElementTree as ET

import pytest

from conftest import EXACT_TOLERANCE, assert_close, assert_one_line_error, run_heapmark

EXTRA = 50_000_000
PROGRAM = '''\
import sys


def load_table():
    return [bytearray(1000) for _ in range(20000)]


def grow(extra):
    return bytearray(10_000_000 + extra)


def shrink(extra):
    return bytearray(40_000_000 - extra // 2)


def main():
    extra = int(sys.argv[1])
    return load_table(), grow(extra), shrink(extra)


kept = main()
'''
GROW_LINE, SHRINK_LINE, TABLE_LINE = 9, 13, 5
UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same program run from two checkouts, the new one allocating 50 MB
    more at GROW_LINE and 25 MB less at SHRINK_LINE."""
    d = tmp_path_factory.mktemp("diff")
    for name, extra in (("base", 0), ("new", EXTRA)):
        (d / name).mkdir()
        (d / name / "prog.py").write_text(PROGRAM)
        run_heapmark(["run", "-q", "--exact", "-o", "out", "prog.py", str(extra)], d / name)
    return d


def parse_size(text):
    number, unit = text.split()
    return float(number) * UNITS[unit]


def text_rows(out):
    """{(label, section): change in bytes} from the tables diff prints."""
    rows, section = {}, None
    for line in out.splitlines():
        if line.startswith("biggest increases"):
            section = "increases"
        elif line.startswith("biggest decreases"):
            section = "decreases"
        m = re.match(r"\s*([+-]?[\d.]+ (?:B|KiB|MiB|GiB))\s+.*?(?:B|KiB|MiB|GiB)\s{2}(\S.*)$", line)
        if section and m:
            rows[(m.group(2), section)] = parse_size(m.group(1).lstrip("+"))
    return rows


def test_the_grown_line_on_stdout(runs):
    _, out, err = run_heapmark(
        ["diff", "base/out/profile.db", "new/out/profile.db"], runs, env={"COLUMNS": "120"}
    )
    assert err == ""
    rows = text_rows(out)
    assert_close(
        rows[("grow (prog.py:%d)" % GROW_LINE, "increases")],
        EXTRA,
        EXACT_TOLERANCE,
        "the grown line's change",
    )
    assert_close(
        -rows[("shrink (prog.py:%d)" % SHRINK_LINE, "decreases")],
        EXTRA // 2,
        EXACT_TOLERANCE,
        "the shrunk line's change",
    )
    # The runs come from two directories: lines still match by path, so the
    # unchanged table is not reported as gone from one and new in the other.
    table = [v for (label, _), v in rows.items() if label.startswith("load_table")]
    assert all(abs(v) < 0.01 * 20_000_000 for v in table), rows
    assert "per-line figures are exact in both runs" in out
    total = re.search(r"^change: ([+-][\d.]+ \w+)", out, re.M).group(1)
    assert_close(parse_size(total.lstrip("+")), EXTRA // 2, EXACT_TOLERANCE, "total change")


def test_reversed_diff_shows_a_decrease(runs):
    _, out, _ = run_heapmark(
        ["diff", "new/out/profile.db", "base/out/profile.db", "--top", "3"],
        runs,
        env={"COLUMNS": "120"},
    )
    rows = text_rows(out)
    assert_close(
        -rows[("grow (prog.py:%d)" % GROW_LINE, "decreases")],
        EXTRA,
        EXACT_TOLERANCE,
        "the line that shrank back",
    )
    assert sum(1 for _, section in rows if section == "decreases") <= 3


@pytest.mark.parametrize("columns", [60, 200])
def test_diff_fits_the_terminal(runs, columns):
    _, out, _ = run_heapmark(
        ["diff", "base/out/profile.db", "new/out/profile.db"], runs, env={"COLUMNS": str(columns)}
    )
    assert all(len(l) <= columns for l in out.splitlines())
    assert "grow (prog.py:%d)" % GROW_LINE in out


def test_diff_html(runs):
    out = runs / "report"
    _, _, err = run_heapmark(
        ["diff", "base/out/profile.db", "new/out/profile.db", "-o", str(out)], runs
    )
    assert err.strip() == "heapmark: differential flamegraph and tables in %s" % (out / "diff.html")
    page = (out / "diff.html").read_text()
    assert (
        "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
        and "https://" not in page
    )
    row = re.search(
        r'<tr data-function="grow" data-file="([^"]*)" data-line="%d">'
        r'<td class="grew" data-bytes="(-?\d+)">\+([\d.]+ MiB)</td>' % GROW_LINE,
        page,
    )
    assert row, page[:3000]
    assert os.path.basename(html.unescape(row.group(1))) == "prog.py"
    assert_close(int(row.group(2)), EXTRA, EXACT_TOLERANCE, "diff.html's grown line")
    assert_close(parse_size(row.group(3)), EXTRA, EXACT_TOLERANCE, "diff.html's shown change")
    shrink = re.search(r'data-line="%d"><td class="shrank" data-bytes="(-\d+)"' % SHRINK_LINE, page)
    assert_close(-int(shrink.group(1)), EXTRA // 2, EXACT_TOLERANCE, "diff.html's shrunk line")
    # Two flamegraphs: the new run's and the base run's, coloured by change.
    graphs = [
        ET.fromstring(base64.b64decode(g))
        for g in re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', page)
    ]
    assert len(graphs) == 2
    for graph, grown_width in zip(graphs, (10_000_000 + EXTRA, 10_000_000)):
        frames = {g.get("data-l"): g for g in graph.iter(SVG + "g") if g.get("class") == "f"}
        grow = [g for l, g in frames.items() if l.startswith("grow (prog.py:%d)" % GROW_LINE)]
        assert len(grow) == 1
        assert_close(int(grow[0].get("data-w")), grown_width, EXACT_TOLERANCE, "frame width")
        fill = grow[0].find(SVG + "rect").get("fill")
        red, green, blue = map(int, re.findall(r"\d+", fill))
        assert red > 200 and green < 100 and blue < 100, fill  # grew: red
        shrink = [g for l, g in frames.items() if l.startswith("shrink (")][0]
        red, green, blue = map(int, re.findall(r"\d+", shrink.find(SVG + "rect").get("fill")))
        assert blue > 200 and red < 200, (red, green, blue)  # shrank: blue
        assert "base 9.5 MiB, new 57.2 MiB: +47.7 MiB" in grow[0].find(SVG + "title").text


def test_sampled_runs_are_called_estimates(runs, tmp_path):
    shutil.copy(runs / "new" / "prog.py", tmp_path / "prog.py")
    run_heapmark(["run", "-q", "--seed", "2", "-o", "out", "prog.py", str(EXTRA)], tmp_path)
    _, out, _ = run_heapmark(
        ["diff", str(runs / "base" / "out" / "profile.db"), "out/profile.db"],
        tmp_path,
        env={"COLUMNS": "300"},
    )
    assert "per-line figures are estimated (base: exact; new: samples every 64.0 KiB)" in out
    # Allocations larger than the sample rate are recorded at their size.
    assert_close(
        text_rows(out)[("grow (prog.py:%d)" % GROW_LINE, "increases")],
        EXTRA,
        EXACT_TOLERANCE,
        "sampled grown line",
    )


HOSTILE = '''\
import sys
def f():
    return bytearray(int(sys.argv[1]))  # </script><b>&amp;
x = f()
'''


def test_program_text_is_escaped(tmp_path):
    # A file whose path reads x<script>alert(1)</script>".py
    folder = tmp_path / "x<script>alert(1)<"
    folder.mkdir()
    name = 'script>".py'
    (folder / name).write_text(HOSTILE)
    for out, size in (("a", 1_000_000), ("b", 9_000_000)):
        run_heapmark(["run", "-q", "--exact", "-o", out, str(folder / name), str(size)], tmp_path)
    shown = 'x<script>alert(1)</script>".py'
    _, text, _ = run_heapmark(
        ["diff", "a/profile.db", "b/profile.db", "-o", "d"], tmp_path, env={"COLUMNS": "200"}
    )
    assert "f (%s:3)" % shown in text
    page = (tmp_path / "d" / "diff.html").read_text()
    assert "<script>" not in page and "<b>" not in page and "alert(1)</script>" not in page
    assert "f (%s:3)" % html.escape(shown) in page
    assert "# &lt;/script&gt;&lt;b&gt;&amp;amp;" in page
    for encoded in re.findall(r'base64,([A-Za-z0-9+/=]+)"', page):
        svg = base64.b64decode(encoded).decode()
        assert "<script>alert" not in svg and "<b>" not in svg
        labels = [g.get("data-l") or "" for g in ET.fromstring(svg).iter(SVG + "g")]
        assert any(shown in l and "# </script><b>&amp;" in l for l in labels)
    for fmt in ("json", "speedscope"):
        _, raw, _ = run_heapmark(["export", "b/profile.db", "--format", fmt], tmp_path)
        assert "<script>" not in raw and "</script>" not in raw
        assert str(folder / name) in raw.replace("\\u003c", "<").replace('\\"', '"')


def test_bad_input_gets_one_line(runs, tmp_path):
    good = str(runs / "base" / "out" / "profile.db")
    data = (runs / "base" / "out" / "profile.db").read_bytes()
    (tmp_path / "empty.db").write_bytes(b"")
    (tmp_path / "truncated.db").write_bytes(data[: len(data) // 2])
    corrupt = bytearray(data)
    corrupt[0:16] = b"SQLite format 2\0"
    (tmp_path / "corrupt.db").write_bytes(bytes(corrupt))
    (tmp_path / "a-file").write_text("")
    for bad in ("empty.db", "truncated.db", "corrupt.db", "missing.db"):
        for args in ([bad, good], [good, bad]):
            rc, out, err = run_heapmark(["diff"] + args + ["-o", "d"], tmp_path, check_rc=None)
            assert_one_line_error(rc, err, bad)
            assert out == ""
            assert not (tmp_path / "d").exists()
    cases = [
        (["-o", "a-file"], "cannot create output directory"),
        (["-o", "a-file/below"], "cannot create output directory"),
        (["--snapshot", "middle"], "unknown snapshot"),
        (["--top", "many"], "--top"),
        (["--colour"], "unknown option"),
    ]
    for extra, fragment in cases:
        rc, out, err = run_heapmark(["diff", good, good] + extra, tmp_path, check_rc=None)
        assert_one_line_error(rc, err, fragment)
    rc, _, err = run_heapmark(["diff", good], tmp_path, check_rc=None)
    assert_one_line_error(rc, err, "two profiles")
    (tmp_path / "d" / "diff.html").mkdir(parents=True)
    rc, _, err = run_heapmark(["diff", good, good, "-o", "d"], tmp_path, check_rc=None)
    assert_one_line_error(rc, err, "directory")
