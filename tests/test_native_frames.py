"""--native: the C frames between the Python line that called into an
extension and the allocation, in every report and export
(tests/native/hmchain.c: a malloc three C calls down, built -O2 without
frame pointers, so the unwind reads the call-frame information)."""

import sqlite3

import pytest

from conftest import (
    EXACT_TOLERANCE,
    SAMPLED_TOLERANCE,
    assert_close,
    folded_lines,
    line_bytes,
    profile_program,
    run_heapmark,
)
from report_data import decode_pprof, page_data, page_stacks

MODES = [pytest.param(True, id="exact"), pytest.param(False, id="sampled")]
CHAIN = ["allocate", "chain_level1", "chain_level2", "chain_level3"]


def function(frame):
    """'name (file:line)' -> name"""
    return frame.rsplit(" (", 1)[0]


def native_tail(stack, python_frame):
    """The functions after python_frame (a 'file:line)' suffix) in a folded stack."""
    frames = stack.split(";")
    for i, frame in enumerate(frames):
        if frame.endswith(python_frame):
            return [function(f) for f in frames[i + 1 :]]
    return None


@pytest.mark.parametrize("exact", MODES)
def test_the_c_chain_hangs_under_the_calling_line(workdir, native_ext, exact):
    truth, report, out = profile_program(
        workdir, native_ext, "native_chain", exact, extra_args=["--native"]
    )
    line = truth["lines"]["chain"]
    expected = truth["peak"][str(line)]
    tolerance = EXACT_TOLERANCE if exact else SAMPLED_TOLERANCE
    # peak.folded: ...;main (native_chain.py:L);allocate;chain_level1;2;3
    under = {
        tuple(native_tail(stack, "native_chain.py:%d)" % line)): value
        for stack, value in folded_lines(out / "peak.folded").items()
        if native_tail(stack, "native_chain.py:%d)" % line) is not None
    }
    assert tuple(CHAIN) in under, under
    assert_close(under[tuple(CHAIN)], expected, tolerance, "the C chain in peak.folded")
    # The frames carry the C file and line (the extension has line tables).
    chain_stack = next(s for s in folded_lines(out / "peak.folded") if "chain_level3" in s)
    assert "hmchain.c:" in chain_stack.split(";")[-1]
    # The line is still the Python line: top lines credit it, not a C line.
    assert_close(line_bytes(report, "native_chain.py", line), expected, tolerance, "top line")
    # The interpreter's own frames are hidden: nothing between the line and
    # the extension's entry point, and no loader frames under Python code.
    assert not any("_PyEval" in s or "__libc_start" in s for s in folded_lines(out / "peak.folded"))
    # The profile says so, and lists the native frames with their object.
    db = sqlite3.connect(str(out / "profile.db"))
    assert db.execute("SELECT value FROM meta WHERE key='native_stacks'").fetchone() == (1,)
    libraries = dict(
        db.execute(
            "SELECT s.text, l.text FROM native_frames n JOIN frames f ON f.id = n.frame "
            "JOIN strings s ON s.id = f.function JOIN strings l ON l.id = n.library"
        ).fetchall()
    )
    assert libraries["chain_level2"].endswith(".so") and "hmchain" in libraries["chain_level2"]


def test_every_report_and_export_shows_the_c_frames(workdir, native_ext):
    truth, _, out = profile_program(
        workdir, native_ext, "native_chain", True, extra_args=["--native"]
    )
    line = truth["lines"]["chain"]
    # pprof: one sample's locations, leaf first, end with the chain and the line.
    pb = workdir / "peak.pb.gz"
    run_heapmark(["export", str(out / "profile.db"), "-o", str(pb)], cwd=workdir)
    _, _, samples, _, _ = decode_pprof(pb)
    chains = [
        (locations, values)
        for locations, values in samples
        if [loc[0] for loc in locations[:4]] == CHAIN[::-1]
    ]
    assert len(chains) == 1, [[loc[0] for loc in locs] for locs, _ in samples]
    locations, values = chains[0]
    assert locations[4][1].endswith("native_chain.py") and locations[4][2] == line
    assert_close(values[1], truth["peak"][str(line)], EXACT_TOLERANCE, "pprof's chain sample")
    # report.html: the page's tree has the path, under the line's function.
    stacks = page_stacks(page_data(out / "report.html"))
    assert any(path[-4:] == tuple(CHAIN) and path[-5] == "main" for path in stacks)
    # peak.txt lists the innermost frames too: the C function that allocated.
    assert "chain_level3" in (out / "peak.txt").read_text()
    # heapmark report --json's innermost table.
    _, text, _ = run_heapmark(["report", str(out / "profile.db")], cwd=workdir)
    assert "native_chain.py" in text


def test_without_native_no_c_frames(workdir, native_ext):
    _, _, out = profile_program(workdir, native_ext, "native_chain", False)
    assert not any("hmchain.c" in s for s in folded_lines(out / "peak.folded"))
    db = sqlite3.connect(str(out / "profile.db"))
    assert db.execute("SELECT count(*) FROM native_frames").fetchone() == (0,)
    assert db.execute("SELECT value FROM meta WHERE key='native_stacks'").fetchone() == (0,)


@pytest.mark.parametrize("exact", MODES)
def test_a_pool_threads_work_is_credited_to_the_waiting_call(workdir, native_ext, exact):
    """hmchain's pool thread starts when the module is imported and mallocs
    for a later call that waits for it with the GIL released: the memory is
    the waiting line's, not the import's (run/relocations.c sends the
    extension's PyEval_SaveThread to hotpath/gil_hooks.c)."""
    truth, _, out = profile_program(workdir, native_ext, "native_chain", exact)
    pool_line = truth["lines"]["pool"]
    tolerance = EXACT_TOLERANCE if exact else SAMPLED_TOLERANCE
    # Under the waiting line, marked as another thread's (the line's own
    # Python objects, the int it returns, are beside it).
    held = {
        stack: value
        for stack, value in folded_lines(out / "peak.folded").items()
        if "native_chain.py:%d);[thread]" % pool_line in stack
    }
    assert_close(sum(held.values()), truth["peak"][str(pool_line)], tolerance, "the pool's task")
    # The import line that started the thread holds none of it.
    import_line = next(
        i + 1
        for i, text in enumerate((workdir / "native_chain.py").read_text().splitlines())
        if text == "import hmchain"
    )
    started = sum(
        value
        for stack, value in folded_lines(out / "peak.folded").items()
        if "native_chain.py:%d)" % import_line in stack
    )
    assert started < 1024 * 1024


def test_cxx_frames_are_demangled(workdir, native_ext):
    """hmnative's C++ part allocates with new[]: libstdc++'s operator new is
    named as C++ names it, though libstdc++ is only in the extension's scope."""
    truth, _, out = profile_program(
        workdir, native_ext, "native_apis", True, extra_args=["--native"]
    )
    line = truth["apis"]["cxx_new"]
    tails = [
        native_tail(stack, "native_apis.py:%d)" % line)
        for stack in folded_lines(out / "peak.folded")
        if "native_apis.py:%d)" % line in stack
    ]
    assert any(
        tail and tail[-2:] == ["hm_cxx_new", "operator new(unsigned long)"] for tail in tails
    ), tails


def test_exact_totals_stay_exact_with_native_frames(workdir, native_ext):
    """The unwinder's own thread-local storage is allocated under heapmark's
    guard and freed, unguarded, as each of 18 threads ends: with --exact
    the stacks still add up to the exact totals to the byte."""
    _, report, out = profile_program(
        workdir, native_ext, "many_threads", True, extra_args=["--native"]
    )
    assert sum(folded_lines(out / "end.folded").values()) == report["end_bytes"]
    assert sum(folded_lines(out / "peak.folded").values()) == report["peak_bytes"]
