"""In-process tracking: heapmark.track(), start() and stop() in an interpreter
heapmark run did not launch, against ground truth and against heapmark run
on the same code (tests/programs/in_process.py)."""

import json
import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from conftest import (
    ASAN_PRELOAD,
    EXACT_TOLERANCE,
    SAMPLED_TOLERANCE,
    assert_close,
    line_bytes,
    program_env,
    report_json,
    run_heapmark,
)

MB = 1 << 20

pytestmark = pytest.mark.skipif(
    bool(ASAN_PRELOAD), reason="in-process tracking forwards to glibc's malloc, not ASan's"
)


def python(code_or_args, cwd, native_ext=None, check=True, timeout=300):
    """Runs this interpreter without any preload; returns (rc, stdout, stderr)."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if native_ext:
        env.update(program_env(native_ext))
    args = code_or_args if isinstance(code_or_args, list) else ["-c", code_or_args]
    proc = subprocess.run(
        [sys.executable] + args, cwd=cwd, env=env, capture_output=True, timeout=timeout
    )
    out, err = proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")
    if check and proc.returncode != 0:
        raise AssertionError(
            "python exited %d\nstdout:\n%s\nstderr:\n%s" % (proc.returncode, out, err)
        )
    return proc.returncode, out, err


def tracked_program(workdir, native_ext, mode):
    pytest.importorskip("numpy")
    out = workdir / ("truth-%s.json" % mode)
    results = workdir / ("results-%s" % mode)
    python(["in_process.py", str(out), mode, str(results)], workdir, native_ext)
    with open(out) as f:
        truth = json.load(f)
    return truth, report_json(results / "profile.db", workdir), results


@pytest.mark.parametrize("exact", [True, False], ids=["exact", "sampled"])
def test_in_process_matches_ground_truth(workdir, native_ext, exact):
    truth, report, results = tracked_program(workdir, native_ext, "exact" if exact else "sampled")
    tolerance = EXACT_TOLERANCE if exact else SAMPLED_TOLERANCE
    for name, line in truth["lines"].items():
        assert_close(
            line_bytes(report, "in_process.py", line),
            truth["peak"][str(line)],
            tolerance,
            "%s at in_process.py:%d" % (name, line),
        )
    held = sum(truth["peak"].values())
    figures = truth["figures"]
    # Exact totals in both modes.  60 MiB of numpy data and 300k floats
    # allocated before the start were freed during the span: had their frees
    # been counted, the end would be some 70 MiB lower than what is held.
    assert held <= figures["peak_bytes"] <= held + 6 * MB, figures
    assert held <= figures["end_bytes"] <= held + 6 * MB, figures
    assert report["peak_bytes"] == figures["peak_bytes"]
    # The Tracker's top lines are the report's.
    assert figures["top"][0]["line"] == truth["lines"]["native"]
    native_line = truth["lines"]["native"]
    assert figures["top"][0]["bytes"] == line_bytes(report, "in_process.py", native_line)
    names = set(os.listdir(results))
    assert {"profile.db", "report.html", "peak.svg", "peak.txt", "peak.folded"} <= names


def test_in_process_matches_heapmark_run(workdir, native_ext):
    truth, tracked, _ = tracked_program(workdir, native_ext, "exact")
    run_out = workdir / "run-results"
    run_heapmark(
        ["run", "-q", "--exact", "-o", str(run_out), "in_process.py"]
        + [str(workdir / "t.json"), "run", "-"],
        cwd=workdir,
        env=program_env(native_ext),
    )
    under_run = report_json(run_out / "profile.db", workdir)
    for name, line in truth["lines"].items():
        assert_close(
            line_bytes(tracked, "in_process.py", line),
            line_bytes(under_run, "in_process.py", line),
            EXACT_TOLERANCE,
            "%s at in_process.py:%d, in-process against heapmark run" % (name, line),
        )


def test_spans_restart_from_zero_and_stop_puts_everything_back(tmp_path):
    code = textwrap.dedent(
        """
        import json, heapmark
        from heapmark import _heapmark as engine
        MB = 1 << 20
        out = {}
        with heapmark.track("one", exact=True, reports=False) as one:
            out["slots_while_tracking"] = engine._track_state()["redirected_slots"]
            kept = bytearray(50 * MB)
        out["slots_after_stop"] = engine._track_state()["redirected_slots"]
        import _decimal  # an extension loaded between spans stays untouched
        out["slots_after_import"] = engine._track_state()["redirected_slots"]
        with heapmark.track("two", sample_rate="4K", seed=3, reports=False) as two:
            second = bytearray(10 * MB)
            del kept  # allocated in the first span: not this one's
        out["one"] = [one.peak_bytes, one.end_bytes]
        out["two"] = [two.peak_bytes, two.end_bytes]
        out["profiles"] = [one.profile, two.profile]
        print(json.dumps(out))
        """
    )
    _, stdout, err = python(code, tmp_path)
    out = json.loads(stdout)
    assert out["slots_while_tracking"] >= 5, out
    assert out["slots_after_stop"] == out["slots_after_import"] == 0
    assert 50 * MB <= out["one"][0] <= 51 * MB and 50 * MB <= out["one"][1] <= 51 * MB
    # The second span: its own 10 MiB, nothing of the first span's 50.
    assert 10 * MB <= out["two"][0] <= 11 * MB and 10 * MB <= out["two"][1] <= 11 * MB
    assert out["profiles"] == [str(tmp_path / name / "profile.db") for name in ("one", "two")]
    assert err == ""


def test_in_process_counts_the_break_and_shared_memory(tmp_path, native_ext):
    """hmnative, loaded before the start, moves the break and maps a memfd:
    its sbrk, brk and mmap slots point at the hooks for the span."""
    code = textwrap.dedent(
        """
        import json, heapmark, hmnative as n
        MB = 1 << 20
        with heapmark.track("span", exact=True, reports=False) as t:
            held = [n.alloc(api, size * MB) for api, size in (("sbrk", 30), ("brk", 10),
                                                              ("memfd", 20))]
        print(json.dumps({"end": t.end_bytes, "held": sum(n.usable(h) for h in held)}))
        """
    )
    _, stdout, _ = python(code, tmp_path, native_ext)
    out = json.loads(stdout)
    assert out["held"] == 60 * MB
    assert out["held"] <= out["end"] <= out["held"] + MB, out


def test_bad_use_raises_heapmarks_own_error(tmp_path):
    (tmp_path / "a-file").write_text("")
    code = textwrap.dedent(
        """
        import heapmark
        assert issubclass(heapmark.TrackingError, RuntimeError)
        def message(call):
            try:
                call()
            except heapmark.TrackingError as e:
                return str(e)
            raise SystemExit("no error from %r" % call)
        print(message(heapmark.stop))
        t = heapmark.start("ok", reports=False)
        print(message(lambda: heapmark.track("other")))
        heapmark.stop()
        print(message(heapmark.stop))
        print(message(lambda: heapmark.track("a-file/inside")))
        print(message(lambda: heapmark.track("x", sample_rate="lots")))
        print(message(t.top) if False else "still usable: %d" % (t.peak_bytes >= 0))
        print(message(lambda: t.lines("nope.py")))
        """
    )
    _, stdout, err = python(code, tmp_path)
    lines = stdout.splitlines()
    assert lines[0] == "heapmark.stop(): nothing is being tracked (heapmark.start() was not called)"
    assert lines[1].startswith("heapmark is tracking already (started at <string>:")
    assert lines[2].startswith("heapmark.stop(): nothing is being tracked")
    assert lines[3].startswith("cannot create ") and "a-file/inside" in lines[3]
    assert "sample_rate expects a number of bytes" in lines[4]
    assert lines[5] == "still usable: 1"
    assert lines[6].startswith("no allocation in this profile was made in 'nope.py'")
    assert err == ""
    assert not (tmp_path / "other").exists()


def test_fork_while_tracking_leaves_the_parents_profile_alone(tmp_path):
    code = textwrap.dedent(
        """
        import os, heapmark
        MB = 1 << 20
        with heapmark.track("results", exact=True) as t:
            kept = bytearray(20 * MB)
            pid = os.fork()
            if pid == 0:
                child = bytearray(70 * MB)   # the child's: not the parent's profile
        if pid == 0:
            print("child", t.profile)
            os._exit(0 if t.profile is None else 3)
        _, status = os.waitpid(pid, 0)
        print("parent", status >> 8, t.peak_bytes)
        """
    )
    _, stdout, err = python(code, tmp_path)
    lines = dict(line.split(" ", 1) for line in stdout.splitlines())
    assert lines["child"] == "None"
    code_, peak = lines["parent"].split()
    assert code_ == "0"
    assert 20 * MB <= int(peak) <= 21 * MB
    assert "(this one is a forked child); nothing written here" in err
    report = report_json(tmp_path / "results" / "profile.db", tmp_path)
    assert 20 * MB <= report["peak_bytes"] <= 21 * MB


def test_track_under_heapmark_run_marks_a_phase(tmp_path):
    (tmp_path / "prog.py").write_text(
        textwrap.dedent(
            """
            import heapmark
            with heapmark.track("inner") as t:
                data = bytearray(5 << 20)
            print("profile", t.profile, "peak", t.peak_bytes)
            """
        )
    )
    _, stdout, err = run_heapmark(["run", "-q", "-o", "out", "prog.py"], cwd=tmp_path)
    assert stdout.strip() == "profile None peak None"
    assert "heapmark: heapmark run is profiling this process already; track() marks a phase" in err
    assert not (tmp_path / "inner").exists()
    with sqlite3.connect(str(tmp_path / "out" / "profile.db")) as db:
        phases = [row[0] for row in db.execute("SELECT name FROM phases")]
    assert phases == ["heapmark.track"]


def test_start_without_stop_writes_at_exit(tmp_path):
    code = "import heapmark\nheapmark.start('results', exact=True)\nx = bytearray(8 << 20)\n"
    _, _, err = python(code, tmp_path)
    assert err == ""
    report = report_json(tmp_path / "results" / "profile.db", tmp_path)
    assert 8 * MB <= report["peak_bytes"] <= 9 * MB
    assert os.path.exists(tmp_path / "results" / "report.html")


def test_a_stopped_tracker_leaves_nothing_ticking(tmp_path):
    """After stop() the monitor thread is parked on its pipe: no timeline
    sample, budget read or checkpoint, so it is not woken in half a second
    (while tracking it wakes every 10 ms).  A new start wakes it again."""
    code = textwrap.dedent(
        """
        import os, time, heapmark
        def wakeups():
            counts = {}
            for tid in os.listdir("/proc/self/task"):
                if int(tid) == os.getpid():
                    continue
                with open("/proc/self/task/%s/status" % tid) as f:
                    for line in f:
                        if line.startswith("voluntary_ctxt_switches:"):
                            counts[tid] = int(line.split()[1])
            return counts
        def over_half_a_second():
            before = wakeups()
            time.sleep(0.5)
            after = wakeups()
            return [after[t] - before[t] for t in before]
        with heapmark.track("one", reports=False):
            tracking = over_half_a_second()
        stopped = over_half_a_second()
        with heapmark.track("two", reports=False) as t:
            again = over_half_a_second()
            data = bytearray(3 << 20)
        print(tracking, stopped, again, t.peak_bytes >= 3 << 20)
        """
    )
    _, stdout, err = python(code, tmp_path)
    tracking, stopped, again, peak_ok = stdout.split("] ")
    tracking, stopped, again = (json.loads(x + "]") for x in (tracking, stopped, again))
    assert len(tracking) == len(stopped) == len(again) == 1, stdout
    assert tracking[0] >= 10 and again[0] >= 10, stdout
    # At most the one poll already waiting when stop() parked the thread.
    assert stopped[0] <= 1, stdout
    assert peak_ok.strip() == "True" and err == ""


def test_in_process_sees_memory_reached_around_the_hooks(workdir, native_ext):
    """A ctypes handle on libc and a library loaded with RTLD_DEEPBIND inside
    track(): the lookups and the deep-bound library's slots are redirected as
    every other object's are."""
    code = textwrap.dedent(
        """
        import ctypes, json, os, sys
        import heapmark, hmnative
        dl = os.path.join(os.path.dirname(hmnative.__file__), "dl")
        with heapmark.track("results", exact=True, reports=False):
            libc = ctypes.CDLL("libc.so.6")
            libc.malloc.restype = ctypes.c_void_p
            libc.malloc_usable_size.argtypes = [ctypes.c_void_p]
            deep = ctypes.CDLL(os.path.join(dl, "libhmdl_deep.so"), mode=os.RTLD_DEEPBIND)
            deep.deep_alloc.restype = ctypes.c_void_p
            held = libc.malloc(30 << 20); held_line = sys._getframe().f_lineno
            deep_held = deep.deep_alloc(20 << 20); deep_line = sys._getframe().f_lineno
        print(json.dumps({held_line: libc.malloc_usable_size(held),
                          deep_line: libc.malloc_usable_size(deep_held)}))
        """
    )
    (workdir / "around.py").write_text(code)
    _, out, _ = python(["around.py"], workdir, native_ext)
    report = report_json(workdir / "results" / "profile.db", workdir)
    for line, expected in json.loads(out).items():
        got = line_bytes(report, "around.py", int(line))
        assert_close(got, expected, EXACT_TOLERANCE, "around.py:%s" % line)
