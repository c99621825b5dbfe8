"""Libraries with allocators of their own (issue 13).

pyarrow's default pool (mimalloc or jemalloc, linked into libarrow) reaches
the system only through mmaps of whole arenas; heapmark run points it at
malloc (ARROW_DEFAULT_MEMORY_POOL=system) unless --keep-allocators is given
or the variable is set already, and the profile says which
(docs/performance.md, "Libraries with their own allocators").
"""

import json
import sqlite3

import pytest

from conftest import (
    EXACT_TOLERANCE,
    SAMPLED_TOLERANCE,
    assert_close,
    line_bytes,
    profile_program,
    report_json,
    run_heapmark,
)

pytest.importorskip("pyarrow")

MODES = [pytest.param(True, id="exact"), pytest.param(False, id="sampled")]


def meta(out, *keys):
    db = sqlite3.connect(str(out / "profile.db"))
    try:
        rows = dict(db.execute("select key, value from meta"))
    finally:
        db.close()
    return tuple(rows.get(k) for k in keys)


@pytest.mark.parametrize("exact", MODES)
def test_pyarrow_table_at_its_line_through_malloc(workdir, native_ext, exact):
    truth, report, out = profile_program(workdir, native_ext, "arrow_table", exact)
    # heapmark run set the variable, and pyarrow took it.
    assert truth["environment"] == "system" and truth["backend"] == "system"
    assert truth["rows"] == 6_000_000
    ((line, expected),) = truth["peak"].items()
    assert expected >= 48_000_000
    got = line_bytes(report, "arrow_table.py", line)
    assert_close(got, expected, EXACT_TOLERANCE if exact else SAMPLED_TOLERANCE, "Table")
    assert meta(out, "arrow_memory_pool", "allocators", "own_allocators") == (
        "system",
        "set",
        "pyarrow",
    )
    assert report["arrow_memory_pool"] == "system" and report["allocators"] == "set"
    text = (out / "peak.txt").read_text()
    assert (
        "allocators:      pyarrow's memory pool is malloc (ARROW_DEFAULT_MEMORY_POOL=system, "
        "set by heapmark run; --keep-allocators keeps pyarrow's own)\n" in text
    )


@pytest.mark.parametrize("exact", MODES)
def test_keep_allocators_keeps_pyarrows_pool(workdir, native_ext, exact):
    truth, report, out = profile_program(
        workdir, native_ext, "arrow_table", exact, extra_args=["--keep-allocators"]
    )
    assert truth["environment"] is None and truth["backend"] in ("mimalloc", "jemalloc")
    ((line, expected),) = truth["peak"].items()
    assert meta(out, "arrow_memory_pool", "allocators", "own_allocators") == (
        "",
        "kept",
        "pyarrow",
    )
    # The pool's arenas are seen whole, when they are mapped: the first casts
    # (a few bytes in the pool) get a whole arena, more than a MiB; with the
    # Table's line the two hold at least the Table's buffers.
    assert truth["warm_bytes"] < 1024
    warm = line_bytes(report, "arrow_table.py", truth["warm_line"])
    assert warm >= 1024 * 1024
    assert warm + line_bytes(report, "arrow_table.py", line) >= expected
    assert (
        "allocators:      pyarrow's own memory pool (mimalloc or jemalloc, kept by "
        in (out / "peak.txt").read_text()
    )


def test_the_callers_pool_is_left_alone(workdir, native_ext):
    _, _, err = run_heapmark(
        ["run", "-o", "res", "--exact", "arrow_table.py", "truth.json"],
        cwd=workdir,
        env={"ARROW_DEFAULT_MEMORY_POOL": "jemalloc", "PYTHONPATH": native_ext},
    )
    truth = json.loads((workdir / "truth.json").read_text())
    assert truth["environment"] == "jemalloc" and truth["backend"] == "jemalloc"
    assert meta(workdir / "res", "arrow_memory_pool", "allocators") == ("jemalloc", "caller")
    assert (
        "heapmark: pyarrow's own memory pool (ARROW_DEFAULT_MEMORY_POOL=jemalloc) is seen at "
        "arena granularity, by its mmaps\n" in err
    )


def test_no_allocator_line_without_such_a_library(workdir):
    (workdir / "plain.py").write_text("import os\nprint(os.environ['ARROW_DEFAULT_MEMORY_POOL'])\n")
    _, out, err = run_heapmark(["run", "-o", "res", "plain.py"], cwd=workdir)
    # The variable is in the program's environment (and its children's),
    # but nothing is said of allocators that were never loaded.
    assert out == "system\n"
    assert meta(workdir / "res", "arrow_memory_pool", "allocators", "own_allocators") == (
        "system",
        "set",
        "",
    )
    assert "allocators" not in err and "pyarrow" not in err
    assert "allocators:" not in (workdir / "res" / "peak.txt").read_text()
    report = report_json(workdir / "res" / "profile.db", workdir)
    assert report["own_allocators"] == ""
