"""A crashing program still leaves its profile (issue 17): SIGSEGV, SIGBUS,
SIGILL, SIGFPE and SIGABRT raised in C code (tests/native/hmcrash.c), from
the main thread and from a native thread, in a followed child, early in a
run, under faulthandler, and inside heapmark's own code.

Truth (tests/programs/crashes.py): 24 blocks of 1 MiB held at the crash at
one line, 40 MiB allocated and freed before it at the next.  The profile of
the crash is a sampled estimate (SAMPLED_TOLERANCE); `heapmark run` must die
of the program's signal."""

import os
import re
import signal
import sqlite3
import subprocess
import sysconfig

import pytest
from conftest import NATIVE, PROGRAMS, SAMPLED_TOLERANCE, SEED, assert_close, run_heapmark

MB = 1 << 20
SIGNALS = {
    "segv": signal.SIGSEGV,
    "bus": signal.SIGBUS,
    "ill": signal.SIGILL,
    "fpe": signal.SIGFPE,
    "abrt": signal.SIGABRT,
}


def line_of(program, text):
    with open(os.path.join(PROGRAMS, program)) as f:
        return next(i for i, line in enumerate(f, 1) if text in line)


HELD_LINE = line_of("crashes.py", "24 MiB held at the crash")
FREED_LINE = line_of("crashes.py", "gone before the crash")
CRASH_LINE = line_of("crashes.py", "hmcrash.crash(")


@pytest.fixture(scope="module")
def crash_dir(tmp_path_factory):
    """The programs and the hmcrash extension built for this interpreter."""
    work = tmp_path_factory.mktemp("crash")
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    include = sysconfig.get_paths()["include"]
    subprocess.check_call(
        ["gcc", "-shared", "-fPIC", "-O0", "-Wall", "-Werror", "-I" + include]
        + [os.path.join(NATIVE, "hmcrash.c"), "-o", str(work / ("hmcrash" + suffix)), "-lpthread"]
    )
    for name in ("crashes.py", "crash_child.py"):
        with open(os.path.join(PROGRAMS, name)) as f:
            (work / name).write_text(f.read())
    return work


def crash_run(work, out, args, env=None):
    """heapmark run on a crashing program: (returncode, stderr, meta, db path)."""
    rc, _, err = run_heapmark(
        ["run", "--seed", SEED, "-o", out] + args, cwd=work, env=env, check_rc=None, timeout=120
    )
    path = work / out / "profile.db"
    meta = {}
    if path.exists():
        db = sqlite3.connect(path)
        meta = dict(db.execute("select key, value from meta"))
        db.close()
    return rc, err, meta, path


def snapshot_by_line(path, snapshot, file_end):
    """{line: bytes} in snapshot, self values at frames of the file."""
    db = sqlite3.connect(path)
    rows = db.execute(
        "select f.line, sum(v.bytes) from node_values v join snapshots s on s.id = v.snapshot "
        "join nodes n on n.id = v.node join frame_text f on f.id = n.frame "
        "where s.name = ? and f.file like ? group by f.line",
        (snapshot, "%" + file_end),
    ).fetchall()
    db.close()
    return dict(rows)


def subtree_bytes_at_line(path, snapshot, file_end, line):
    """Bytes at snapshot under the frames at file_end:line (what they and
    their callees hold), each node counted once."""
    db = sqlite3.connect(path)
    (total,) = db.execute(
        """with recursive under(id) as (
               select n.id from nodes n join frame_text f on f.id = n.frame
               where f.file like ? and f.line = ?
               union select n.id from nodes n join under u on n.parent = u.id)
           select coalesce(sum(v.bytes), 0) from node_values v
           join snapshots s on s.id = v.snapshot
           where s.name = ? and v.node in (select id from under)""",
        ("%" + file_end, line, snapshot),
    ).fetchone()
    db.close()
    return total


@pytest.mark.parametrize("where", ["main", "thread"])
@pytest.mark.parametrize("kind", sorted(SIGNALS))
def test_each_fatal_signal_leaves_the_profile_of_its_moment(crash_dir, kind, where):
    out = "out-%s-%s" % (kind, where)
    rc, err, meta, path = crash_run(crash_dir, out, ["crashes.py", kind, where])
    sig = SIGNALS[kind]
    # heapmark run dies of the program's signal, as the program did.
    assert rc == -sig, err
    assert meta["status"] == "crashed: %s" % signal.Signals(sig).name
    assert int(meta["crash_signal"]) == sig
    held = subtree_bytes_at_line(path, "end", "crashes.py", HELD_LINE)
    assert_close(held, 24 * MB, SAMPLED_TOLERANCE, "the blocks held at the crash")
    assert subtree_bytes_at_line(path, "end", "crashes.py", FREED_LINE) < 2 * MB
    assert_close(
        subtree_bytes_at_line(path, "peak", "crashes.py", FREED_LINE),
        40 * MB,
        SAMPLED_TOLERANCE,
        "the freed block at the peak",
    )
    # The crashed thread's stack: the main thread's runs through the call's
    # line; a native thread has no Python frame.
    if where == "main":
        assert meta["crash_function"] == "<module>" and int(meta["crash_line"]) == CRASH_LINE
    else:
        assert "crashes.py" not in meta["crash_file"]
    # The words: the crash and its moment, the held line among the top lines.
    assert "the program crashed (%s)" % signal.Signals(sig).name in err
    if where == "main":
        assert "crashes.py:%d" % CRASH_LINE in err
    _, report, _ = run_heapmark(["report", out + "/profile.db"], cwd=crash_dir)
    assert "the program crashed" in report and "at the crash" in report
    assert (crash_dir / out / "report.html").exists()


@pytest.mark.parametrize("where", ["main", "thread"])
def test_a_stack_overflow_in_c_is_covered(crash_dir, where):
    """The handler runs on heapmark's alternate stack (the main thread's, or
    the one each thread the program starts gets): the thread's own is used
    up."""
    out = "out-overflow-" + where
    rc, err, meta, path = crash_run(crash_dir, out, ["crashes.py", "overflow", where])
    assert rc == -signal.SIGSEGV, err
    assert meta["status"] == "crashed: SIGSEGV"
    if where == "main":
        assert int(meta["crash_line"]) == CRASH_LINE
    held = subtree_bytes_at_line(path, "end", "crashes.py", HELD_LINE)
    assert_close(held, 24 * MB, SAMPLED_TOLERANCE, "the blocks held at the crash")


def test_faulthandler_still_prints_its_traceback(crash_dir):
    rc, err, meta, path = crash_run(
        crash_dir, "out-fh", ["crashes.py", "segv", "main", "0", "faulthandler"]
    )
    assert rc == -signal.SIGSEGV
    assert "Fatal Python error: Segmentation fault" in err
    assert 'crashes.py", line %d' % CRASH_LINE in err
    assert meta["status"] == "crashed: SIGSEGV"
    held = subtree_bytes_at_line(path, "end", "crashes.py", HELD_LINE)
    assert_close(held, 24 * MB, SAMPLED_TOLERANCE, "the blocks held at the crash")


def test_a_crash_right_at_the_start(crash_dir):
    """About 0.1 s in: the first thing the program does."""
    rc, err, meta, path = crash_run(
        crash_dir,
        "out-early",
        ["-c", "import hmcrash; x = bytearray(8 << 20); hmcrash.crash('segv')"],
    )
    assert rc == -signal.SIGSEGV, err
    assert meta["status"] == "crashed: SIGSEGV"
    assert float(meta["duration_s"]) < 2
    assert_close(
        sum(snapshot_by_line(path, "end", "<string>").values()),
        8 * MB,
        SAMPLED_TOLERANCE,
        "the block at the crash",
    )


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_crashing_child_leaves_its_profile(crash_dir, method):
    out = "out-child-" + method
    rc, proc_out, err = run_heapmark(
        ["run", "--seed", SEED, "-o", out, "crash_child.py", method], cwd=crash_dir, timeout=120
    )
    assert rc == 0 and "child exit code -11" in proc_out, err
    children = [n for n in os.listdir(crash_dir / out) if n.startswith("profile-")]
    assert len(children) == 1, children
    db = sqlite3.connect(crash_dir / out / children[0])
    meta = dict(db.execute("select key, value from meta"))
    db.close()
    assert meta["status"] == "crashed: SIGSEGV"
    held = subtree_bytes_at_line(
        crash_dir / out / children[0],
        "end",
        "crash_child.py",
        line_of("crash_child.py", "the child's 16 MiB"),
    )
    assert_close(held, 16 * MB, SAMPLED_TOLERANCE, "the child's blocks at its crash")
    # The run's report shows the child ended by its crash.
    assert "ended by crashed: SIGSEGV" in err


def test_a_crash_inside_heapmark_does_not_hang(crash_dir):
    """Holding heapmark's lock (the write would need it): the signal goes on
    at once, the last checkpoint is what remains."""
    code = (
        "import time; x = bytearray(8 << 20); time.sleep(1.5); "
        "from heapmark import _heapmark; _heapmark._crash_holding_lock()"
    )
    rc, err, meta, _ = crash_run(crash_dir, "out-own", ["--checkpoint", "1", "-c", code])
    assert rc == -signal.SIGSEGV
    assert "inside heapmark's own code: no profile of the crash is written" in err
    # Where, as an offset into heapmark's library (a fault in code heapmark
    # called, a tp_traverse say, is named as outside it).
    where = r"\(please report: at 0x[0-9a-f]{1,7} in _heapmark, address 0x[0-9a-f]+\)"
    assert re.search(where, err), err
    assert meta["status"] == "checkpoint"


def test_a_crash_of_heapmarks_own_thread(crash_dir):
    """heapmark's monitor thread faults (HEAPMARK_TEST_CRASH_IN_HEAPMARK):
    the process dies of it, nothing waits, the last checkpoint remains."""
    env = dict(os.environ, HEAPMARK_TEST_CRASH_IN_HEAPMARK="1500")
    rc, err, meta, _ = crash_run(
        crash_dir,
        "out-monitor",
        ["--checkpoint", "1", "-c", "import time; x = bytearray(8 << 20); time.sleep(30)"],
        env=env,
    )
    assert rc == -signal.SIGSEGV
    assert meta["status"] == "checkpoint"
    assert float(meta["duration_s"]) < 5


def test_the_profile_of_a_crash_reads_as_one(crash_dir):
    """export takes a crashed profile like any other."""
    rc, err, meta, path = crash_run(crash_dir, "out-json", ["crashes.py", "abrt", "main"])
    assert rc == -signal.SIGABRT
    _, out, _ = run_heapmark(
        ["export", "out-json/profile.db", "--format", "folded", "--snapshot", "end"],
        cwd=crash_dir,
    )
    assert "crashes.py:%d" % HELD_LINE in out
