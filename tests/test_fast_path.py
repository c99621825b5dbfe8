"""The Python allocator hooks' fast path (python_hooks.c) against their general
path: under `heapmark run` at a rate above 512 bytes small objects go through the
fast wrappers; at a rate of 512 bytes or less their allocations take the
general path (a 512-byte object may then be recorded whole), and in exact
mode every allocation does.  Totals are exact in every mode, so the three
must agree on the same program to the byte, up to what differs between runs
of the program itself (the test compares two default runs for that), and
the kept population must be where the truth says in each.
"""

import json

from conftest import PROGRAMS, assert_close, line_bytes, program_env, report_json, run_heapmark

KEPT_LINE = 30  # kept = [("k", i, ...) for i in range(n)]


def run_mode(workdir, native_ext, name, args):
    out = workdir / name
    truth = workdir / (name + ".json")
    run_heapmark(
        ["run", "-q", "--no-kinds", "--checkpoint", "0", "-o", str(out)]
        + args
        + [PROGRAMS + "/fast_path.py", str(truth)],
        cwd=workdir,
        env=program_env(native_ext),
    )
    with open(truth) as f:
        return json.load(f), report_json(out / "profile.db", workdir)


def test_fast_and_general_paths_count_the_same_bytes(workdir, native_ext):
    runs = {
        # 16 KiB: still above 512 bytes, and some 500 samples of the kept
        # population, so the 15% tolerance is three standard deviations.
        "fast": ["--sample-rate", "16K", "--seed", "3"],
        "fast-again": ["--sample-rate", "16K", "--seed", "4"],
        "general": ["--sample-rate", "512", "--seed", "3"],
        "exact": ["--exact"],
    }
    results = {name: run_mode(workdir, native_ext, name, args) for name, args in runs.items()}
    truth = results["fast"][0]["kept_bytes"]
    assert truth > 4_000_000
    # The program's own run-to-run spread (two fast runs), plus 64 KiB.
    spread = {
        key: abs(results["fast"][1][key] - results["fast-again"][1][key]) + 65536
        for key in ("peak_bytes", "end_bytes", "peak_pymalloc_free_bytes")
    }
    for name in ("general", "exact"):
        for key, allowed in spread.items():
            got, want = results[name][1][key], results["fast"][1][key]
            assert abs(got - want) <= allowed, "%s %s: %d, fast path %d (allowed %d)" % (
                name,
                key,
                got,
                want,
                allowed,
            )
    kept = {name: line_bytes(r, "fast_path.py", KEPT_LINE) for name, (_, r) in results.items()}
    for name, got in kept.items():
        tolerance = 0.03 if name == "exact" else 0.15
        what = "%s: the kept population at line %d (all runs: %s)" % (name, KEPT_LINE, kept)
        assert_close(got, truth, tolerance, what)
