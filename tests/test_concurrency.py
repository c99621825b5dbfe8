"""Threads: correct totals and no deadlock with many threads allocating and
freeing at once, threads heapmark did not see start, allocation in
thread-local destructors, and threads still allocating at shutdown."""

import os

import pytest

from conftest import (
    SAMPLED_TOLERANCE,
    assert_close,
    folded_bytes_at,
    folded_lines,
    profile_program,
    run_heapmark,
)


THREADS = 16  # churning threads in tests/programs/many_threads.py


@pytest.mark.parametrize(
    "exact", [pytest.param(True, id="exact"), pytest.param(False, id="sampled")]
)
def test_sixteen_threads_churning(workdir, native_ext, exact):
    # Sampled at 8 KiB: the 6.4 MB kept then make ~780 samples, so the 15%
    # tolerance is four standard deviations (at 64 KiB it would be 1.5).
    truth, report, out = profile_program(
        workdir,
        native_ext,
        "many_threads",
        exact,
        extra_args=[] if exact else ["--sample-rate", "8K"],
        program_args=["--daemons"],
    )
    churn, tls = truth["lines"]["churn"], truth["lines"]["tls"]
    end = folded_lines(out / "end.folded")
    # What is still allocated at exit adds up, stack by stack, to the total
    # (which is exact in both modes; the stacks are estimates when sampled).
    if exact:
        # Exact means exact with 18 threads racing, at the peak and at the end.
        assert sum(end.values()) == report["end_bytes"]
        assert sum(folded_lines(out / "peak.folded").values()) == report["peak_bytes"]
    else:
        assert_close(sum(end.values()), report["end_bytes"], SAMPLED_TOLERANCE, "end stacks")
    assert report["status"] == "exit"
    churned = folded_bytes_at(out / "end.folded", "many_threads.py", churn)
    if exact:
        # 16 x 200k mallocs and frees, racing: every byte still held is
        # counted, and nothing else but whole argument tuples kept in the
        # tuple free list (64 bytes each; at most one per thread).
        extra = churned - truth["end"][str(churn)]
        tuples = truth["args_tuple"]
        assert extra % tuples == 0 and 0 <= extra <= THREADS * tuples, (churned, truth)
        # The block a thread-local destructor made after its thread's start
        # routine returned is credited to the line that started the thread.
        assert folded_bytes_at(out / "end.folded", "many_threads.py", tls) == truth["end"][str(tls)]
        # The thread started through a pthread_create looked up by dlsym.
        looked_up = truth["lines"]["looked_up"]
        held = folded_bytes_at(out / "end.folded", "many_threads.py", looked_up)
        assert held == truth["end"][str(looked_up)]
    else:
        assert_close(churned, truth["end"][str(churn)], SAMPLED_TOLERANCE, "16 churning threads")
    # The end total is exact: what the program is known to hold, plus the
    # interpreter's own memory (modules, pymalloc free space: 4-6 MiB).
    known = sum(truth["end"].values())
    assert known <= report["end_bytes"] <= known + 8 * 2**20


EARLY = """
import ctypes
lib = ctypes.CDLL(None)
lib.hmearly_allocate.restype = ctypes.c_size_t
lib.hmearly_allocate.argtypes = [ctypes.c_size_t]
print(lib.hmearly_allocate(5_000_000))
"""


def test_thread_started_before_heapmark(tmp_path, native_ext):
    """A preloaded library's constructor starts a thread before heapmark's
    constructor has run; what that thread allocates later is still counted,
    and credited to the ctypes call that waits for it (with the GIL
    released), under [thread]."""
    (tmp_path / "early.py").write_text(EARLY)
    _, out, _ = run_heapmark(
        ["run", "-q", "--exact", "-o", str(tmp_path / "out"), "early.py"],
        tmp_path,
        env={"LD_PRELOAD": os.path.join(native_ext, "hmearly.so")},
    )
    kept = int(out)
    assert kept >= 5_000_000
    end = folded_lines(tmp_path / "out" / "end.folded")
    waiting = sum(v for stack, v in end.items() if stack.endswith("early.py:6);[thread]"))
    assert kept <= waiting <= kept + 64 * 1024, end
