"""The timeline: tracked memory and RSS over time, the collector's runs with
tracked bytes before and after, and the program's phases (heapmark.phase),
stored in the profile (docs/profile-format.md)."""

import os
import sqlite3
import subprocess
import sys
import textwrap

from conftest import ASAN_PRELOAD, assert_close, assert_one_line_error, run_heapmark

MB = 1 << 20


def run_program(workdir, source, *options):
    (workdir / "prog.py").write_text(textwrap.dedent(source))
    run_heapmark(["run", "-q", "-o", "out"] + list(options) + ["prog.py"], workdir)
    db = sqlite3.connect(str(workdir / "out" / "profile.db"))
    meta = dict(db.execute("SELECT key, value FROM meta"))
    return db, meta


def test_phases_nest_and_end_where_the_program_says(workdir):
    db, meta = run_program(
        workdir,
        """\
        import time
        import heapmark
        with heapmark.phase("load"):
            time.sleep(0.05)
        heapmark.phase("compute")          # ends at the next phase at depth 0
        time.sleep(0.05)
        with heapmark.phase("report"):
            heapmark.phase("a")
            time.sleep(0.02)
            heapmark.phase("b")            # ends a; b ends with report
            time.sleep(0.02)
        heapmark.phase("tail")             # still open at the end
    """,
    )
    rows = db.execute("SELECT name, t_start, t_end, depth FROM phases ORDER BY rowid").fetchall()
    assert [(r[0], r[3]) for r in rows] == [
        ("load", 0),
        ("compute", 0),
        ("report", 0),
        ("a", 1),
        ("b", 1),
        ("tail", 0),
    ]
    phase = {r[0]: r for r in rows}
    assert phase["load"][2] - phase["load"][1] >= 0.05
    assert phase["compute"][2] == phase["report"][1]
    assert phase["a"][2] == phase["b"][1]
    assert phase["b"][2] == phase["report"][2]
    assert phase["tail"][2] is None
    assert 0 <= phase["load"][1] < phase["tail"][1] <= float(meta["duration_s"])
    assert meta["phases_dropped"] == 0


def test_timeline_follows_tracked_memory_and_rss(workdir):
    db, meta = run_program(
        workdir,
        """\
        import time
        time.sleep(0.1)
        block = bytearray(b"x") * (100 << 20)      # touched: in RSS too
        time.sleep(0.3)
        del block
        time.sleep(0.3)
    """,
    )
    points = db.execute("SELECT t, tracked, rss FROM timeline ORDER BY rowid").fetchall()
    times = [p[0] for p in points]
    assert times == sorted(times) and times[-1] <= float(meta["duration_s"])
    # Every 10 ms over about 0.7 s (longer on a loaded machine); the last one
    # is taken as recording stops.
    assert 20 <= len(points) <= float(meta["duration_s"]) / 0.010 + 2, len(points)
    base = points[0][1]
    top = max(points, key=lambda p: p[1])
    assert_close(top[1] - base, 100 * MB, 0.05, "tracked growth on the timeline")
    assert top[1] <= meta["peak_bytes"]
    assert max(p[2] for p in points) - points[0][2] >= 90 * MB, "RSS missed the touched block"
    held = [p[0] for p in points if p[1] > top[1] - 90 * MB]
    assert held[-1] - held[0] >= 0.15, "the block was held for 0.3 s"
    assert points[-1][1] < top[1] - 90 * MB, "the freed block is still on the timeline"
    assert float(meta["timeline_interval_s"]) == 0.01


def test_collector_runs_with_the_memory_they_freed(workdir):
    db, meta = run_program(
        workdir,
        """\
        import gc
        gc.disable()
        for _ in range(3):
            a, b = [bytearray(10 << 20)], []
            a.append(b); b.append(a)              # a cycle holding 10 MiB
            del a, b
            gc.collect()
    """,
    )
    runs = db.execute(
        "SELECT t_start, t_end, generation, tracked_before, tracked_after "
        "FROM gc_runs WHERE generation = 2 ORDER BY t_start"
    ).fetchall()
    assert len(runs) >= 3
    freed = sorted(r[3] - r[4] for r in runs)[-3:]
    for f in freed:
        assert_close(f, 10 * MB, 0.02, "bytes a collection freed")
    assert all(r[0] <= r[1] for r in runs)
    assert meta["gc_collections"] >= 3
    assert 0 < float(meta["gc_seconds"]) <= float(meta["duration_s"])


def test_long_runs_are_thinned_and_keep_their_spike(workdir):
    # 1 ms samples over about 7 s: the 4096-row table fills and is thinned
    # (the interval doubles) even if a busy machine delays many ticks; a
    # 30 ms spike in the middle must survive.
    db, meta = run_program(
        workdir,
        """\
        import time
        time.sleep(3.5)
        spike = bytearray(b"y") * (64 << 20)
        time.sleep(0.03)
        del spike
        time.sleep(3.5)
    """,
        "--timeline-interval",
        "1",
    )
    count = db.execute("SELECT count(*) FROM timeline").fetchone()[0]
    assert 2048 <= count <= 4096
    assert float(meta["timeline_interval_s"]) >= 0.002
    tracked = [r[0] for r in db.execute("SELECT tracked FROM timeline")]
    assert max(tracked) - min(tracked) >= 60 * MB


def test_interval_zero_records_phases_only(workdir):
    db, meta = run_program(
        workdir,
        """\
        import gc, heapmark
        with heapmark.phase("only"):
            gc.collect()
    """,
        "--timeline-interval",
        "0",
    )
    assert db.execute("SELECT count(*) FROM timeline").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM gc_runs").fetchone()[0] == 0
    assert db.execute("SELECT name FROM phases").fetchall() == [("only",)]


def test_a_forked_child_has_its_own_timeline(workdir):
    db, _ = run_program(
        workdir,
        """\
        import os, time, heapmark
        heapmark.phase("parent")
        pid = os.fork()
        if pid == 0:
            with heapmark.phase("child"):
                time.sleep(0.05)
            os._exit(0)
        os.waitpid(pid, 0)
    """,
    )
    assert [r[0] for r in db.execute("SELECT name FROM phases")] == ["parent"]
    children = list((workdir / "out").glob("profile-*.db"))
    assert len(children) == 1
    child = sqlite3.connect(str(children[0]))
    assert [r[0] for r in child.execute("SELECT name FROM phases")] == ["child"]
    t0 = child.execute("SELECT min(t) FROM timeline").fetchone()[0]
    assert t0 is not None and t0 >= 0


def test_an_unprofiled_child_marks_nothing(workdir):
    # --no-follow: the child's phases and collections go nowhere, and it must
    # not touch the parent's tables (or a mutex the fork copied).
    db, _ = run_program(
        workdir,
        """\
        import gc, os, heapmark
        with heapmark.phase("parent") as outer:
            pid = os.fork()
            if pid == 0:
                with heapmark.phase("child"):
                    gc.collect()
                os._exit(7)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 7
    """,
        "--no-follow",
    )
    assert [r[0] for r in db.execute("SELECT name FROM phases")] == ["parent"]
    assert list((workdir / "out").glob("profile-*.db")) == []


def test_phase_outside_heapmark_does_nothing(tmp_path):
    code = "import heapmark\nwith heapmark.phase('x') as p:\n    heapmark.phase('y')\nprint('ok')\n"
    env = dict(os.environ)
    if ASAN_PRELOAD:  # tests/run-asan: the ASan-built engine needs its runtime
        env["LD_PRELOAD"] = ASAN_PRELOAD
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert (out.returncode, out.stdout, out.stderr) == (0, "ok\n", "")


def test_bad_interval_is_one_line(workdir):
    (workdir / "prog.py").write_text("pass\n")
    for bad in ("soon", "-5", "99999999"):
        rc, _, err = run_heapmark(
            ["run", "--timeline-interval", bad, "prog.py"], workdir, check_rc=None
        )
        assert_one_line_error(rc, err, "--timeline-interval")
