"""`heapmark export` (pprof, speedscope, folded, JSON tree) and the terminal
report of `heapmark report`.

Every export is a view of the profile: its values must add up to the
snapshot's node values as stored in profile.db, and the known allocation of
the ground-truth program must appear at its line with its size.
"""

import json
import os
import re
import shutil
import sqlite3
import subprocess

import pytest

from conftest import (
    EXACT_TOLERANCE,
    SAMPLED_TOLERANCE,
    assert_close,
    assert_one_line_error,
    folded_lines,
    run_heapmark,
)
from report_data import decode_pprof

BLOB = 30_000_000
ROWS = 20_000
PROGRAM = '''\
def load_table():
    return [bytearray(1000) for _ in range(%d)]


def make_blob():
    return bytearray(%d)


def main():
    rows = load_table()
    blob = make_blob()
    del blob
    return rows


kept = main()
''' % (ROWS, BLOB)
BLOB_LINE = 6  # return bytearray(BLOB)
ROWS_LINE = 2


@pytest.fixture(scope="module", params=["exact", "sampled"])
def run(request, tmp_path_factory):
    d = tmp_path_factory.mktemp("exports-" + request.param)
    (d / "app.py").write_text(PROGRAM)
    mode = ["--exact"] if request.param == "exact" else ["--seed", "5"]
    run_heapmark(["run", "-q", "-o", str(d / "out")] + mode + ["app.py"], d)
    return d


def tolerance(run):
    return EXACT_TOLERANCE if "exact" in str(run) else SAMPLED_TOLERANCE


def node_total(profile, snapshot):
    """Sum of the snapshot's node values, straight from profile.db."""
    con = sqlite3.connect(str(profile))
    (total,) = con.execute(
        "select coalesce(sum(v.bytes), 0) from node_values v join snapshots s "
        "on s.id = v.snapshot where s.name = ?",
        (snapshot,),
    ).fetchone()
    (count,) = con.execute(
        "select coalesce(sum(v.count), 0) from node_values v join snapshots s "
        "on s.id = v.snapshot where s.name = ?",
        (snapshot,),
    ).fetchone()
    return total, count


def export(run, fmt, *extra, name=None):
    out = run / (name or ("export." + fmt))
    run_heapmark(["export", "out/profile.db", "--format", fmt, "-o", str(out)] + list(extra), run)
    return out


# ---- pprof --------------------------------------------------------------------


def test_pprof_decodes_to_the_snapshot(run):
    out = export(run, "pprof")
    assert out.read_bytes()[:2] == b"\x1f\x8b"  # gzip
    strings, types, samples, scalars, comments = decode_pprof(out)
    assert strings[0] == ""
    assert types == [
        ("alloc_objects", "count"),
        ("alloc_space", "bytes"),
        ("inuse_objects", "count"),
        ("inuse_space", "bytes"),
    ]
    assert strings[scalars[14]] == "inuse_space"
    # Every value is a node's own: the sums are the snapshots' node totals.
    sums = [sum(values[k] for _, values in samples) for k in range(4)]
    alloc_bytes, alloc_count = node_total(run / "out" / "profile.db", "allocated")
    peak_bytes, peak_count = node_total(run / "out" / "profile.db", "peak")
    assert sums == [alloc_count, alloc_bytes, peak_count, peak_bytes]
    # The blob at its line, leaf first, called from main and <module>.
    blob = [
        (stack, values)
        for stack, values in samples
        if stack and stack[0][0] == "make_blob" and stack[0][2] == BLOB_LINE
    ]
    assert len(blob) == 1
    stack, values = blob[0]
    assert [frame[0] for frame in stack[:3]] == ["make_blob", "main", "<module>"]
    assert os.path.basename(stack[0][1]) == "app.py"
    assert_close(values[3], BLOB, tolerance(run), "inuse_space of make_blob")
    assert_close(values[1], BLOB, tolerance(run), "alloc_space of make_blob")
    assert any("estimates" in c for c in comments) == ("sampled" in str(run))
    assert scalars[12] == (1 if "exact" in str(run) else 64 * 1024)  # period: the sample rate


def test_go_tool_pprof_reads_the_export(run):
    go = shutil.which("go")
    if go is None:
        pytest.skip("go is not installed (Debian's golang-go; .ci/run installs it)")
    out = export(run, "pprof")
    proc = subprocess.run(
        [go, "tool", "pprof", "-top", "-unit=B", str(out)],
        capture_output=True,
        timeout=300,
    )
    text = proc.stdout.decode() + proc.stderr.decode()
    assert proc.returncode == 0, text
    assert "Type: inuse_space" in text
    rows = [l.split() for l in text.splitlines() if re.match(r"\s*\d+B\s", l)]
    # The peak's largest function comes first, with its bytes.
    assert rows[0][-1] == "make_blob", text
    assert_close(int(rows[0][0][:-1]), BLOB, tolerance(run), "go tool pprof's make_blob")
    names = [r[-1] for r in rows]
    # The list comprehension: a function of its own before 3.12 (PEP 709).
    assert {"load_table.<locals>.<listcomp>", "<listcomp>", "load_table"} & set(names), text
    # The other sample types are there too.
    proc = subprocess.run(
        [go, "tool", "pprof", "-top", "-sample_index=alloc_space", str(out)],
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == 0 and "Type: alloc_space" in proc.stdout.decode()


def test_pprof_of_everything_allocated(run):
    out = export(run, "pprof", "--snapshot", "allocated", name="alloc.pb.gz")
    strings, types, samples, scalars, _ = decode_pprof(out)
    assert types == [("alloc_objects", "count"), ("alloc_space", "bytes")]
    assert strings[scalars[14]] == "alloc_space"
    alloc_bytes, _ = node_total(run / "out" / "profile.db", "allocated")
    assert sum(values[1] for _, values in samples) == alloc_bytes


# ---- speedscope ---------------------------------------------------------------

# Required fields and types of https://www.speedscope.app/file-format-schema.json
# (FileFormat.File, FileFormat.Frame, FileFormat.SampledProfile).
SPEEDSCOPE_FILE = {"$schema": str, "profiles": list, "shared": dict}
SPEEDSCOPE_FRAME = {"name": str}
SPEEDSCOPE_FRAME_OPTIONAL = {"file": str, "line": (int, float), "col": (int, float)}
SPEEDSCOPE_SAMPLED = {
    "type": str,
    "name": str,
    "unit": str,
    "startValue": (int, float),
    "endValue": (int, float),
    "samples": list,
    "weights": list,
}


def check_fields(obj, required, optional=None):
    for key, kind in required.items():
        assert key in obj, key
        assert isinstance(obj[key], kind), (key, obj[key])
    for key, kind in (optional or {}).items():
        if key in obj:
            assert isinstance(obj[key], kind), (key, obj[key])


def test_speedscope_follows_the_schema(run):
    out = export(run, "speedscope", name="peak.speedscope.json")
    doc = json.loads(out.read_text())
    check_fields(doc, SPEEDSCOPE_FILE, {"name": str, "exporter": str, "activeProfileIndex": int})
    assert doc["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    assert doc["exporter"].startswith("heapmark ")
    frames = doc["shared"]["frames"]
    for frame in frames:
        check_fields(frame, SPEEDSCOPE_FRAME, SPEEDSCOPE_FRAME_OPTIONAL)
    (profile,) = doc["profiles"]
    check_fields(profile, SPEEDSCOPE_SAMPLED)
    assert profile["type"] == "sampled" and profile["unit"] == "bytes"
    assert len(profile["samples"]) == len(profile["weights"])
    assert all(0 <= i < len(frames) for stack in profile["samples"] for i in stack)
    # The weights are the peak's node values.
    peak_bytes, _ = node_total(run / "out" / "profile.db", "peak")
    assert sum(profile["weights"]) == peak_bytes == profile["endValue"]
    # Stacks are root first; the blob is a leaf at its line.
    blob = [
        w
        for stack, w in zip(profile["samples"], profile["weights"])
        if frames[stack[-1]]["name"] == "make_blob" and frames[stack[-1]].get("line") == BLOB_LINE
    ]
    assert len(blob) == 1
    assert_close(blob[0], BLOB, tolerance(run), "speedscope weight of make_blob")
    first = [frames[stack[0]]["name"] for stack in profile["samples"]]
    assert "make_blob" not in first and "<module>" in first
    assert ("estimated" in profile["name"]) == ("sampled" in str(run))


# ---- folded and JSON ----------------------------------------------------------


@pytest.mark.parametrize("snapshot", ["peak", "end", "allocated"])
def test_folded_round_trips(run, snapshot):
    out = export(run, "folded", "--snapshot", snapshot, name=snapshot + ".export.folded")
    stacks = folded_lines(out)
    assert sum(stacks.values()) == node_total(run / "out" / "profile.db", snapshot)[0]
    if snapshot != "allocated":
        # The same file `heapmark run` wrote.
        assert out.read_bytes() == (run / "out" / (snapshot + ".folded")).read_bytes()
    blob = sum(
        v
        for s, v in stacks.items()
        if s.endswith("make_blob (%s:%d)" % (run / "app.py", BLOB_LINE))
    )
    if snapshot == "end":
        assert blob == 0  # freed before the end
    else:
        assert_close(blob, BLOB, tolerance(run), "folded make_blob at the " + snapshot)


def test_stdout_export_equals_the_file(run):
    _, text, err = run_heapmark(["export", "out/profile.db", "--format", "folded"], run)
    assert err == ""
    assert text == (run / "out" / "peak.folded").read_text()
    _, text, _ = run_heapmark(["export", "out/profile.db", "--format", "json", "-o", "-"], run)
    assert json.loads(text)["format"] == "heapmark-tree"


def test_json_tree_adds_up(run):
    out = export(run, "json", name="tree.json")
    doc = json.loads(out.read_text())
    assert doc["format"] == "heapmark-tree" and doc["format_version"] == 1
    con = sqlite3.connect(str(run / "out" / "profile.db"))
    meta = dict(con.execute("select key, value from meta"))
    assert doc["meta"]["peak_bytes"] == meta["peak_bytes"]
    assert doc["meta"]["command"] == "python app.py"
    assert doc["estimated"] == (meta["mode"] == "sampled")
    snapshots = {s["name"]: s for s in doc["snapshots"]}
    for name, total in con.execute("select name, total_bytes from snapshots"):
        assert snapshots[name]["total_bytes"] == total
    nodes, frames = doc["nodes"], doc["frames"]
    assert nodes[0]["parent"] is None and nodes[0]["frame"] is None
    children = {}
    for node in nodes[1:]:
        assert node["parent"] < node["id"]
        children.setdefault(node["parent"], []).append(node)
    for name in ("peak", "end", "allocated"):
        # Totals are self plus the children's totals, and the root's total
        # is the sum of every self value: the snapshot's node total.
        for node in nodes:
            kids = children.get(node["id"], [])
            for k in (0, 1):
                assert node["total"][name][k] == node["self"][name][k] + sum(
                    c["total"][name][k] for c in kids
                )
        assert nodes[0]["total"][name][0] == sum(n["self"][name][0] for n in nodes)
        assert list(node_total(run / "out" / "profile.db", name)) == nodes[0]["total"][name]
        assert snapshots[name]["tree_bytes"] == nodes[0]["total"][name][0]
    blob = [
        n
        for n in nodes
        if n["frame"] is not None
        and frames[n["frame"]]["function"] == "make_blob"
        and frames[n["frame"]]["line"] == BLOB_LINE
    ]
    assert len(blob) == 1
    assert frames[blob[0]["frame"]]["source"] == "return bytearray(%d)" % BLOB
    assert_close(blob[0]["self"]["peak"][0], BLOB, tolerance(run), "JSON make_blob at the peak")
    assert blob[0]["self"]["end"] == [0, 0]


def test_format_from_the_file_name(run):
    run_heapmark(["export", "out/profile.db", "-o", "guess.pb.gz"], run)
    run_heapmark(["export", "out/profile.db", "-o", "guess.speedscope.json"], run)
    run_heapmark(["export", "out/profile.db", "-o", "guess.json"], run)
    assert (run / "guess.pb.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert "$schema" in json.loads((run / "guess.speedscope.json").read_text())
    assert json.loads((run / "guess.json").read_text())["format"] == "heapmark-tree"


# ---- a run of several processes ----------------------------------------------

FORKING = '''\
import os
parent = bytearray(10_000_000)
pid = os.fork()
if pid == 0:
    child = bytearray(25_000_000)
    os._exit(0)
os.waitpid(pid, 0)
'''


def test_a_run_of_several_processes_exports_merged(tmp_path):
    (tmp_path / "fork.py").write_text(FORKING)
    run_heapmark(["run", "-q", "--exact", "-o", "out", "fork.py"], tmp_path)
    assert len(list((tmp_path / "out").glob("profile-*.db"))) == 1
    _, text, _ = run_heapmark(["export", "out/profile.db", "--format", "json"], tmp_path)
    doc = json.loads(text)
    assert len(doc["processes"]) == 2
    roots = [doc["frames"][n["frame"]]["function"] for n in doc["nodes"] if n["parent"] == 0]
    assert len(roots) == 2 and all(r.startswith("[process ") for r in roots)
    _, folded, _ = run_heapmark(["export", "out/profile.db", "--format", "folded"], tmp_path)
    child = sum(
        int(l.rpartition(" ")[2])
        for l in folded.splitlines()
        if l.startswith("[process %d:" % doc["processes"][1]["pid"]) and "fork.py:5)" in l
    )
    assert_close(child, 25_000_000, EXACT_TOLERANCE, "the child's line in the merged export")


# ---- bad input ----------------------------------------------------------------


def damaged_profiles(run, d):
    good = (run / "out" / "profile.db").read_bytes()
    (d / "empty.db").write_bytes(b"")
    (d / "truncated.db").write_bytes(good[: len(good) // 3])
    corrupt = bytearray(good)
    for i in range(100, len(corrupt), 97):
        corrupt[i] ^= 0x5A
    (d / "corrupt.db").write_bytes(bytes(corrupt))
    (d / "text.db").write_text("not a profile\n")
    return ["empty.db", "truncated.db", "corrupt.db", "text.db", "missing.db"]


def test_bad_profiles_get_one_line(run, tmp_path):
    for name in damaged_profiles(run, tmp_path):
        for fmt in ("pprof", "json"):
            rc, out, err = run_heapmark(
                ["export", name, "--format", fmt, "-o", "x.out"], tmp_path, check_rc=None
            )
            assert_one_line_error(rc, err, name)
            assert not (tmp_path / "x.out").exists() and not (tmp_path / "x.out.tmp").exists()


def test_bad_arguments_get_one_line(run, tmp_path):
    profile = str(run / "out" / "profile.db")
    (tmp_path / "a-file").write_text("")
    cases = [
        (["--format", "svgz", "-o", "x"], "unknown export format"),
        (["--format", "json", "--snapshot", "peak"], "--snapshot"),
        (["--format", "folded", "--snapshot", "middle"], "unknown snapshot"),
        (["-o", "x.unknown"], "--format"),
        (["--format", "folded", "-o", str(tmp_path / "a-file" / "x.folded")], "cannot write"),
        (["--format", "folded", "-o", str(tmp_path)], "directory"),
        (["--format", "pprof", "-o", "/proc/version"], "cannot write"),
    ]
    for args, fragment in cases:
        rc, _, err = run_heapmark(["export", profile] + args, tmp_path, check_rc=None)
        assert_one_line_error(rc, err, fragment)
    rc, _, err = run_heapmark(["export"], tmp_path, check_rc=None)
    assert_one_line_error(rc, err, "one profile")
    assert sorted(os.listdir(tmp_path)) == ["a-file"]


# ---- the terminal report ------------------------------------------------------

LONG = '''\
def a_function_with_a_rather_long_name_to_see_how_the_table_fits():
    return bytearray(40_000_000)


def second():
    return [bytearray(100) for _ in range(100_000)]


def third():
    return bytearray(5_000_000)


kept = a_function_with_a_rather_long_name_to_see_how_the_table_fits(), second(), third()
'''


@pytest.fixture(scope="module")
def long_names(tmp_path_factory):
    d = tmp_path_factory.mktemp("terminal")
    sub = d / "a_directory_with_a_long_name" / "and_another_one_below_it"
    sub.mkdir(parents=True)
    (sub / "program_with_a_long_file_name.py").write_text(LONG)
    run_heapmark(
        ["run", "-q", "--seed", "3", "-o", "out", str(sub / "program_with_a_long_file_name.py")], d
    )
    return d


@pytest.mark.parametrize("columns", [60, 200])
def test_terminal_report_fits(long_names, columns):
    _, out, err = run_heapmark(
        ["report", "out/profile.db", "--top", "3"], long_names, env={"COLUMNS": str(columns)}
    )
    lines = out.splitlines()
    assert all(len(l) <= columns for l in lines), "\n".join(l for l in lines if len(l) > columns)
    assert "peak tracked memory" in out
    assert "top 3 lines at the peak (estimated from samples every 64.0 KiB):" in " ".join(
        l.strip() for l in lines
    )
    header = [i for i, l in enumerate(lines) if l.split()[:2] == ["size", "%"]]
    assert len(header) == 1
    table = lines[header[0] + 1 :]
    table = table[: table.index("")] if "" in table else table  # the kinds follow
    rows = [l for l in table if re.match(r"\s*\d+(\.\d)? (B|KiB|MiB)\s", l)]
    assert len(rows) == 3
    # Sizes in human units: the 40 MB line first.
    assert re.match(r"\s*3[78]\.\d MiB\s", rows[0]), rows[0]
    name = "a_function_with_a_rather_long_name_to_see_how_the_table_fits"
    if columns == 200:
        assert (
            "%s (a_directory_with_a_long_name/and_another_one_below_it/"
            "program_with_a_long_file_name.py:2)" % name
        ) in rows[0]
        assert "return bytearray(40_000_000)" in out
    else:
        # Cut to fit: the path gives way first, then the function; the
        # file name's end and the line number stay.
        assert name[:15] in rows[0] and "file_name.py:2)" in rows[0] and "..." in rows[0]
    assert err.startswith("heapmark: reports written to")


def test_terminal_report_top_n(long_names):
    _, out, _ = run_heapmark(
        ["report", "out/profile.db", "--top", "1"], long_names, env={"COLUMNS": "100"}
    )
    top = out.split("kinds at the peak")[0]  # the kinds table follows the lines
    rows = [l for l in top.splitlines() if re.match(r"\s*\d+(\.\d)? (B|KiB|MiB)\s+\d", l)]
    assert len(rows) == 1 and "top 1 lines at the peak" in out
