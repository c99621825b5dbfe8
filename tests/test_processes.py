"""fork and multiprocessing: children profiled under their own pid in the
same results directory, each at its own peak; the parent's reports break the
run down by process; --no-follow; programs started with exec followed only
with --follow-exec, and otherwise left without heapmark's preload."""

import json
import os

import pytest

from conftest import (
    EXACT_TOLERANCE,
    assert_close,
    folded_lines,
    line_bytes,
    program_env,
    report_json,
    run_heapmark,
)


def process_frames(folded):
    """{pid: bytes} summed under each "[process PID: ...]" root frame."""
    out = {}
    for stack, value in folded_lines(folded).items():
        root = stack.split(";", 1)[0]
        assert root.startswith("[process "), root
        pid = int(root[len("[process ") :].split(":", 1)[0])
        out[pid] = out.get(pid, 0) + value
    return out


def bytes_through(folded, pid, filename, line):
    needle = "%s:%d)" % (filename, line)
    return sum(
        v
        for stack, v in folded_lines(folded).items()
        if stack.startswith("[process %d:" % pid)
        and any(f.endswith(needle) for f in stack.split(";"))
    )


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_pool_children_each_at_their_own_peak(workdir, native_ext, method):
    out = workdir / "out"
    run_heapmark(
        ["run", "-q", "--exact", "-o", str(out), "processes.py", "truth.json", method],
        cwd=workdir,
        env=program_env(native_ext),
        timeout=120,
    )
    truth = json.loads((workdir / "truth.json").read_text())
    child_line, parent_line = truth["lines"]["child"], truth["lines"]["parent"]
    merged = report_json(out / "profile.db", workdir)
    by_pid = {p["pid"]: p for p in merged["processes"]}
    main_pid = truth["parent"]["pid"]
    assert merged["processes"][0]["pid"] == main_pid
    # The fork server is a process of the run too (its children are forked from it).
    assert len(by_pid) == 4 + (method == "forkserver")

    for pid, size in truth["children"].items():
        pid = int(pid)
        own = out / ("profile-%d.db" % pid)
        assert own.exists(), "no profile for child %d" % pid
        child = report_json(own, workdir)
        # Each child's profile holds its own peak, at the line that made it.
        assert_close(
            line_bytes(child, "processes.py", child_line),
            size,
            EXACT_TOLERANCE,
            "%s child %d at its peak" % (method, pid),
        )
        assert child["peak_bytes"] >= size
        assert by_pid[pid]["peak_bytes"] == child["peak_bytes"]
        assert by_pid[pid]["status"] in ("exit", "os._exit", "signal SIGTERM")
        # The merged flamegraph shows it under the child's own root frame.
        assert_close(
            bytes_through(out / "peak.folded", pid, "processes.py", child_line),
            size,
            EXACT_TOLERANCE,
            "%s child %d in the merged report" % (method, pid),
        )
    assert_close(
        bytes_through(out / "peak.folded", main_pid, "processes.py", parent_line),
        truth["parent"]["bytes"],
        EXACT_TOLERANCE,
        "the parent's own block",
    )
    # Each process's frame adds up to that process's own peak.
    for pid, total in process_frames(out / "peak.folded").items():
        assert total == by_pid[pid]["peak_bytes"]
    assert not [n for n in os.listdir(out) if n.endswith((".tmp", "-journal"))]


def test_no_follow_profiles_only_the_parent(workdir, native_ext):
    out = workdir / "out"
    run_heapmark(
        [
            "run",
            "-q",
            "--exact",
            "--no-follow",
            "-o",
            str(out),
            "processes.py",
            "truth.json",
            "fork",
        ],
        cwd=workdir,
        env=program_env(native_ext),
        timeout=120,
    )
    assert sorted(n for n in os.listdir(out) if n.endswith(".db")) == ["profile.db"]
    report = report_json(out / "profile.db", workdir)
    assert [p["pid"] for p in report["processes"]] == [
        json.loads((workdir / "truth.json").read_text())["parent"]["pid"]
    ]
    assert "[process" not in (out / "peak.folded").read_text()


EXECS = r'''
import os, subprocess, sys
subprocess.run(["/bin/echo", "echo ran"], check=True)
subprocess.run(["sh", "-c", "echo shell ran"], check=True)
subprocess.run([sys.executable, "-c", """
import os
held = bytearray(30_000_000)
print("child sees", repr(os.environ.get("LD_PRELOAD")),
      sorted(k for k in os.environ if k.startswith("HEAPMARK")))
"""], check=True)
# posix_spawn execs inside glibc, out of the exec hook's sight (subprocess
# uses it itself from 3.13 on).
pid = os.posix_spawn(sys.executable, [sys.executable, "-c", "held = bytearray(20_000_000)"],
                     os.environ)
os.waitpid(pid, 0)
'''


@pytest.mark.parametrize("follow_exec", [False, True], ids=["default", "follow-exec"])
def test_exec_followed_only_when_asked(tmp_path, follow_exec):
    (tmp_path / "p.py").write_text(EXECS)
    out = tmp_path / "out"
    _, stdout, _ = run_heapmark(
        ["run", "-q", "--exact", "-o", str(out)]
        + (["--follow-exec"] if follow_exec else [])
        + ["p.py"],
        cwd=tmp_path,
        env={"LD_PRELOAD": ""},
    )
    # The programs run as they would: a followed Python child restores its
    # environment before its own code runs.
    assert stdout == "echo ran\nshell ran\nchild sees '' []\n"
    children = [n for n in os.listdir(out) if n.startswith("profile-")]
    if not follow_exec:
        assert children == []
        return
    # The two Python children; echo and sh are not Python.
    assert len(children) == 2
    held = sorted(
        max(line_bytes(report_json(out / c, tmp_path), "<string>", line) for line in (1, 3))
        for c in children
    )
    assert_close(held[0], 20_000_000, EXACT_TOLERANCE, "the posix_spawn'ed child's bytearray")
    assert_close(held[1], 30_000_000, EXACT_TOLERANCE, "the exec'd child's bytearray")
    merged = report_json(out / "profile.db", tmp_path)
    assert len(merged["processes"]) == 3
