"""Endings: the profile and reports are complete however the program ends,
its exit status or signal death is what it would have been, a checkpoint
survives SIGKILL, and SIGUSR2 writes a snapshot while the program runs."""

import json
import os
import signal
import subprocess
import time

import pytest

from conftest import (
    EXACT_TOLERANCE,
    assert_close,
    heapmark_command,
    line_bytes,
    program_env,
    report_json,
)

REPORTS = {"profile.db", "peak.svg", "peak.txt", "peak.folded", "end.folded"}


def start(workdir, native_ext, how, extra=()):
    env = dict(os.environ, **program_env(native_ext))
    command = heapmark_command(
        ["run", "-q", "--exact", "-o", "out"] + list(extra) + ["endings.py", "truth.json", how], env
    )
    # A session of its own: the test can signal the group as a terminal would.
    # SIGINT at its default action, as a shell gives a foreground job: the
    # suite may itself run as a background job, which ignores SIGINT.
    return subprocess.Popen(
        command,
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def wait_for(path, timeout=30):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        assert time.monotonic() < deadline, "%s never appeared" % path
        time.sleep(0.02)


def finish(proc):
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out.decode(), err.decode()


def check_profile(workdir, status, profile="out/profile.db"):
    truth = json.loads((workdir / "truth.json").read_text())
    report = report_json(workdir / profile, workdir)
    assert report["status"] == status
    assert report["pid"] == truth["pid"]
    assert_close(
        line_bytes(report, "endings.py", truth["line"]),
        truth["bytes"],
        EXACT_TOLERANCE,
        "the held block after '%s'" % status,
    )
    return report


@pytest.mark.parametrize(
    "how, returncode, status",
    [
        ("normal", 0, "exit"),
        ("exception", 1, "exit"),
        ("sys.exit", 3, "exit"),
        ("os._exit", 4, "os._exit"),
        ("exec", 5, "exec"),  # the profile is written before the process becomes sh
        ("self-SIGINT", -signal.SIGINT, "exit"),  # KeyboardInterrupt, then death by SIGINT
        ("self-SIGTERM", -signal.SIGTERM, "signal SIGTERM"),
    ],
)
def test_program_ends_itself(workdir, native_ext, how, returncode, status):
    rc, out, err = finish(start(workdir, native_ext, how))
    assert rc == returncode, err
    assert out.startswith("holding\n")
    assert REPORTS <= set(os.listdir(workdir / "out"))
    check_profile(workdir, status)


def test_ctrl_c_reaches_the_program(workdir, native_ext):
    proc = start(workdir, native_ext, "wait")
    wait_for(workdir / "truth.json")
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    rc, out, err = finish(proc)
    assert rc == -signal.SIGINT
    assert "KeyboardInterrupt" in err and "ended normally" not in out
    assert REPORTS <= set(os.listdir(workdir / "out"))
    check_profile(workdir, "exit")


def test_sigterm_to_heapmark_is_forwarded(workdir, native_ext):
    proc = start(workdir, native_ext, "wait")
    wait_for(workdir / "truth.json")
    proc.send_signal(signal.SIGTERM)  # to heapmark, which passes it on
    rc, out, err = finish(proc)
    assert rc == -signal.SIGTERM
    assert "ended normally" not in out
    assert REPORTS <= set(os.listdir(workdir / "out"))
    check_profile(workdir, "signal SIGTERM")


def test_checkpoint_survives_sigkill(workdir, native_ext):
    proc = start(workdir, native_ext, "wait", ["--checkpoint", "1"])
    wait_for(workdir / "truth.json")
    wait_for(workdir / "out" / "profile.db")  # the first checkpoint, a second in
    time.sleep(1.2)  # and one written after the block was held
    os.kill(json.loads((workdir / "truth.json").read_text())["pid"], signal.SIGKILL)
    rc, _, err = finish(proc)
    assert rc == -signal.SIGKILL
    assert "killed by SIGKILL" in err and "last checkpoint" in err
    report = check_profile(workdir, "checkpoint")
    assert report["duration_s"] >= 1.0
    assert not [n for n in os.listdir(workdir / "out") if n.endswith((".tmp", "-journal"))]


def test_sigusr2_writes_a_snapshot(workdir, native_ext):
    proc = start(workdir, native_ext, "wait")
    wait_for(workdir / "truth.json")
    pid = json.loads((workdir / "truth.json").read_text())["pid"]
    proc.send_signal(signal.SIGUSR2)  # heapmark forwards it too
    snapshot = workdir / "out" / ("snapshot-%d-1" % pid)
    wait_for(snapshot / "peak.txt")
    (workdir / "go").write_text("")
    rc, out, err = finish(proc)
    assert rc == 0 and out.endswith("ended normally\n")
    assert "snapshot written to" in err
    assert {"profile.db", "peak.svg", "peak.txt"} <= set(os.listdir(snapshot))
    check_profile(workdir, "snapshot", "out/snapshot-%d-1/profile.db" % pid)
    check_profile(workdir, "exit")
