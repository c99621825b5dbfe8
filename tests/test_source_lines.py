"""heapmark report --lines FILE.py: a source file line by line, against
ground truth (sizes from sys.getsizeof and pymalloc's 16-byte classes), in
exact mode and in the default sampled mode."""

import json
import textwrap

import pytest
from conftest import (
    EXACT_TOLERANCE,
    SAMPLED_TOLERANCE,
    SEED,
    assert_close,
    assert_one_line_error,
    run_heapmark,
)

MB = 1 << 20

PROGRAM = textwrap.dedent(
    """\
    import json, sys


    def floats(n):
        return [float(i) for i in range(n)]


    def nested(depth):
        if depth == 0:
            return []
        return [bytearray(2 << 20)] + nested(depth - 1)


    def build():
        blob = bytearray(24 << 20)
        values = floats(200_000)
        chain = nested(5)
        return blob, values, chain


    held = build()
    block = lambda size: (size + 15) & ~15
    truth = {
        "blob": sys.getsizeof(held[0]),
        "floats": block(sys.getsizeof(1.0)) * 200_000 + sys.getsizeof(held[1]),
        "chain": sum(sys.getsizeof(b) for b in held[2]),
    }
    with open(sys.argv[1], "w") as f:
        json.dump(truth, f)
    """
)
# Lines of PROGRAM.
FLOATS, NESTED, BLOB, VALUES, CHAIN, HELD = 5, 11, 15, 16, 17, 21


@pytest.fixture(scope="module", params=["exact", "sampled"])
def profiled(request, tmp_path_factory):
    work = tmp_path_factory.mktemp("lines-" + request.param)
    (work / "prog.py").write_text(PROGRAM)
    mode = ["--exact"] if request.param == "exact" else ["--seed", SEED, "--sample-rate", "16K"]
    run_heapmark(["run", "-q", "-o", "out"] + mode + ["prog.py", "truth.json"], cwd=work)
    with open(work / "truth.json") as f:
        truth = json.load(f)
    tolerance = EXACT_TOLERANCE if request.param == "exact" else SAMPLED_TOLERANCE
    return work, truth, tolerance, request.param


def lines_json(work, file="prog.py"):
    _, out, _ = run_heapmark(["report", "out/profile.db", "--lines", file, "--json"], cwd=work)
    report = json.loads(out)
    return report, {row["line"]: row for row in report["lines"]}


def test_each_line_holds_what_it_allocated_with_its_callees(profiled):
    work, truth, tolerance, mode = profiled
    report, rows = lines_json(work)
    assert report["exact"] == (mode == "exact")
    assert_close(rows[BLOB]["peak_bytes"], truth["blob"], tolerance, "the bytearray at line 15")
    assert_close(rows[FLOATS]["peak_bytes"], truth["floats"], tolerance, "floats at line 5")
    # Line 16 calls floats(): it holds what floats() allocated.
    assert_close(rows[VALUES]["peak_bytes"], truth["floats"], tolerance, "floats() via line 16")
    # nested() recurses through line 11 five times: each bytearray counts
    # once (10 MiB), not once per level the line is on the stack (30 MiB).
    assert_close(rows[NESTED]["peak_bytes"], truth["chain"], tolerance, "the recursion's line 11")
    assert_close(rows[CHAIN]["peak_bytes"], truth["chain"], tolerance, "nested() via line 17")
    held = truth["blob"] + truth["floats"] + truth["chain"]
    assert_close(rows[HELD]["peak_bytes"], held, tolerance, "everything via line 21")
    assert rows[BLOB]["source"] == "    blob = bytearray(24 << 20)"
    functions = {f["function"]: f for f in report["functions"]}
    assert_close(functions["build"]["peak_bytes"], held, tolerance, "build()")
    assert (functions["build"]["first_line"], functions["build"]["last_line"]) == (BLOB, CHAIN)
    firsts = [f["first_line"] for f in report["functions"]]
    assert firsts == sorted(firsts) and report["functions"][0]["function"] == "<module>"
    if mode == "exact":
        # Line 15: the bytearray object and its buffer, and sometimes one
        # more: a collection the allocation triggers runs there, and the
        # interpreter allocates the info it passes to gc.callbacks (seen in
        # about one run in four).  Line 5: 200,000 floats, the ints range()
        # made beyond the 257 cached ones (freed at once, but allocated all
        # the same), and the list with its growth.
        assert rows[BLOB]["allocations"] in (2, 3)
        made = 200_000 + (200_000 - 257)
        assert made < rows[FLOATS]["allocations"] <= made + 200


def test_text_layout_names_the_mode_and_every_source_line(profiled):
    work, truth, _, mode = profiled
    _, out, err = run_heapmark(["report", "out/profile.db", "--lines", "prog.py"], cwd=work)
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == "File: prog.py"
    assert ("exact (every allocation recorded)" in lines[1]) == (mode == "exact")
    assert ("unbiased estimates" in lines[1]) == (mode == "sampled")
    header = next(i for i, line in enumerate(lines) if line.startswith("Line #"))
    assert " ".join(lines[header].split()) == (
        "Line # At peak Allocated Allocations Kinds Line Contents"
    )
    assert lines[header - 2].startswith("Kinds: what those bytes were, from a walk of the heap")
    source = PROGRAM.splitlines()
    listing = lines[header + 2 : header + 2 + len(source)]
    # Every line of the file, in order, its text after the figures.
    for number, (row, text) in enumerate(zip(listing, source), start=1):
        assert row.startswith("%6d " % number) and row.endswith(text), (number, row)
    blob_row = listing[BLOB - 1]
    assert "24.0 MiB" in blob_row or mode == "sampled"
    assert any(line.startswith("build (15-17)") for line in lines), out


def test_file_by_path_suffix_and_by_absolute_path(profiled):
    work, _, _, _ = profiled
    by_name, _ = lines_json(work)
    by_path, _ = lines_json(work, str(work / "prog.py"))
    by_dot, _ = lines_json(work, "./prog.py")
    assert by_name == by_path == by_dot


def test_bad_lines_requests_are_one_line_errors(profiled):
    work, _, _, _ = profiled
    rc, _, err = run_heapmark(
        ["report", "out/profile.db", "--lines", "other.py"], cwd=work, check_rc=None
    )
    assert_one_line_error(
        rc, err, "no allocation in this profile was made in 'other.py'", "prog.py"
    )
    rc, _, err = run_heapmark(
        ["report", "out/profile.db", "--lines", "prog.py", "-o", "x"], cwd=work, check_rc=None
    )
    assert_one_line_error(rc, err, "--lines prints to stdout")
    rc, _, err = run_heapmark(["report", "out/profile.db", "--lines"], cwd=work, check_rc=None)
    assert_one_line_error(rc, err, "--lines")


def test_source_is_the_profiled_file_not_another_of_the_same_name(profiled):
    """From a folder with another prog.py, --lines prog.py matches the
    profiled prog.py by its name, and shows that file's text."""
    work, _, _, _ = profiled
    other = work / "other"
    other.mkdir(exist_ok=True)
    (other / "prog.py").write_text("# not the program\n" * 30)
    _, out, _ = run_heapmark(
        ["report", str(work / "out" / "profile.db"), "--lines", "prog.py"], cwd=other
    )
    row = next(line for line in out.splitlines() if line.startswith("%6d " % BLOB))
    assert row.endswith("    blob = bytearray(24 << 20)"), row
    assert "not the program" not in out


def test_a_line_number_far_beyond_the_file_costs_one_row(profiled, tmp_path):
    """Generated code (or a damaged profile) can name line 2**31 - 1: the
    line views show it as one more row, after the file's own lines, and
    report.html renders (a dense array by line number needed 80 GB)."""
    import shutil
    import sqlite3

    work, truth, tolerance, _ = profiled
    far = 2**31 - 1
    shutil.copy(work / "out" / "profile.db", tmp_path / "far.db")
    shutil.copy(work / "prog.py", tmp_path / "prog.py")
    con = sqlite3.connect(tmp_path / "far.db")
    moved = con.execute(
        "update frames set line = ? where line = ? and file in "
        "(select id from strings where text like '%prog.py')",
        (far, BLOB),
    ).rowcount
    con.commit()
    con.close()
    assert moved >= 1
    _, out, _ = run_heapmark(["report", "far.db", "--lines", "prog.py", "--json"], cwd=tmp_path)
    rows = {row["line"]: row for row in json.loads(out)["lines"]}
    assert BLOB not in rows
    assert_close(rows[far]["peak_bytes"], truth["blob"], tolerance, "the bytearray, moved")
    assert_close(rows[FLOATS]["peak_bytes"], truth["floats"], tolerance, "floats at line 5")
    _, text, _ = run_heapmark(["report", "far.db", "--lines", "prog.py"], cwd=tmp_path)
    numbered = [int(line.split()[0]) for line in text.splitlines() if line[:6].strip().isdigit()]
    assert numbered[: len(PROGRAM.splitlines())] == list(range(1, len(PROGRAM.splitlines()) + 1))
    assert far in numbered[len(PROGRAM.splitlines()) :]
    run_heapmark(["report", "far.db", "-o", "reports"], cwd=tmp_path)
    html = (tmp_path / "reports" / "report.html").read_text()
    assert "[%d," % far in html
