"""Out of memory: heapmark notices the process about to run out - over
--memory-limit, near the cgroup's limit (v2 and v1), MemAvailable or
RLIMIT_AS, or when an allocation fails - and writes an out-of-memory report
naming the line that crossed the line, once, without changing what the
program does.  A program under 70% of its limit never triggers it.

The cgroup and /proc/meminfo budgets are read from a fake tree
(HEAPMARK_ROOT) in which the program itself plays the kernel (grow.py).
"""

import json
import os
import subprocess
import sys

import pytest

from conftest import (
    EXACT_TOLERANCE,
    assert_close,
    heapmark_command,
    line_bytes,
    report_json,
    run_heapmark,
)

MB = 1 << 20


def grow(workdir, args, env=None, rlimit_mb=None, options=()):
    command = (
        ["run", "--exact", "-o", "out"]
        + list(options)
        + ["grow.py", "truth.json"]
        + [str(a) for a in args]
    )
    if rlimit_mb:
        # heapmark run, and so the program, under an address-space limit.
        full = dict(os.environ, **(env or {}))
        wrapped = heapmark_command(command, full)
        code = (
            "import os, resource, sys; l = %d << 20; "
            "resource.setrlimit(resource.RLIMIT_AS, (l, l)); os.execv(sys.argv[1], sys.argv[1:])"
            % rlimit_mb
        )
        proc = subprocess.run(
            [sys.executable, "-c", code] + wrapped,
            cwd=workdir,
            env=full,
            capture_output=True,
            timeout=300,
        )
        rc, out, err = proc.returncode, proc.stdout.decode(), proc.stderr.decode()
        assert rc == 0, err
    else:
        rc, out, err = run_heapmark(command, workdir, env=env)
    truth = json.loads((workdir / "truth.json").read_text())
    return truth, out, err


def oom_report(workdir):
    found = [n for n in os.listdir(workdir / "out") if n.startswith("out-of-memory-")]
    if not found:
        return None
    assert len(found) == 1
    directory = workdir / "out" / found[0]
    assert {"profile.db", "peak.txt", "peak.svg"} <= set(os.listdir(directory))
    report = report_json(directory / "profile.db", workdir)
    assert report["status"] == "out of memory"
    return report


def assert_no_alarm(workdir, err):
    assert oom_report(workdir) is None
    assert "out of memory" not in err


def assert_alarm(workdir, truth, err, reason, line=None):
    report = oom_report(workdir)
    assert report is not None, err
    assert reason in report["oom_reason"]
    assert report["oom_line"] == (line or truth["line"])
    assert os.path.basename(report["oom_file"]) == "grow.py"
    assert report["oom_function"] == "main"
    alarms = [l for l in err.splitlines() if "out of memory" in l]
    assert len(alarms) == 1 and alarms[0].startswith("heapmark: out of memory (")
    # Written once; the final profile is still the program's whole run.
    final = report_json(workdir / "out" / "profile.db", workdir)
    assert final["status"] == "exit"
    return report


def fake_tree(root, cgroup=None, stat="", meminfo_mb=(1 << 20, 1 << 20)):
    """/proc/self/cgroup, /proc/meminfo and a cgroup directory under root."""
    (root / "proc" / "self").mkdir(parents=True)
    total, avail = meminfo_mb
    (root / "proc" / "meminfo").write_text(
        "MemTotal: %d kB\nMemAvailable: %d kB\n" % (total * 1024, avail * 1024)
    )
    if cgroup == 2:
        (root / "proc" / "self" / "cgroup").write_text("0::/job.slice\n")
        directory = root / "sys" / "fs" / "cgroup" / "job.slice"
        directory.mkdir(parents=True)
        (directory / "memory.max").write_text("%d\n" % (100 * MB))
        usage = directory / "memory.current"
    elif cgroup == 1:
        (root / "proc" / "self" / "cgroup").write_text(
            "12:cpu,cpuacct:/job\n5:memory:/job\n1:name=systemd:/job\n"
        )
        directory = root / "sys" / "fs" / "cgroup" / "memory" / "job"
        directory.mkdir(parents=True)
        (directory / "memory.limit_in_bytes").write_text("%d\n" % (100 * MB))
        usage = directory / "memory.usage_in_bytes"
    else:
        (root / "proc" / "self" / "cgroup").write_text("0::/\n")
        return None
    (directory / "memory.stat").write_text(stat)
    return usage


def test_memory_limit_names_the_crossing_line(workdir):
    truth, out, err = grow(workdir, [50, 250], options=["--memory-limit", "200MB"])
    assert out == "held 250 MB\n"  # the program went on as it would
    report = assert_alarm(workdir, truth, err, "over --memory-limit 209715200")
    # What was allocated then: the block that crossed 200 MB is in it.
    block = truth["held"] // 5
    assert report["peak_bytes"] > 200 * MB >= report["peak_bytes"] - block
    assert_close(
        line_bytes(report, "grow.py", truth["line"]),
        4 * block,
        EXACT_TOLERANCE,
        "the four blocks held when the limit was crossed",
    )


def test_memory_limit_no_alarm_under_70_percent(workdir):
    truth, out, err = grow(workdir, [10, 130], options=["--memory-limit", "200MB"])
    assert out == "held 130 MB\n"
    assert_no_alarm(workdir, err)


@pytest.mark.parametrize(
    "version, reason", [(2, "the cgroup's memory.max"), (1, "the cgroup's memory limit")]
)
@pytest.mark.parametrize("peak_mb", [100, 55])
def test_cgroup_limit(workdir, tmp_path, version, reason, peak_mb):
    """A 100 MB cgroup whose usage is 10 MB plus what the program holds; v1's
    usage also counts 50 MB of page cache, which the kernel would reclaim."""
    root = tmp_path / "root"
    stat = (
        "anon 0\nfile 0\nshmem 0\n"
        if version == 2
        else "total_cache %d\ntotal_shmem 0\ntotal_inactive_file %d\n" % (50 * MB, 30 * MB)
    )
    usage = fake_tree(root, cgroup=version, stat=stat)
    base = 10 if version == 2 else 60
    usage.write_text("%d\n" % (base * MB))
    truth, out, err = grow(
        workdir,
        [5, peak_mb, "--usage", usage, base, "--pause", "0.08"],
        env={"HEAPMARK_ROOT": str(root)},
    )
    if peak_mb == 55:  # 65% of the limit
        assert_no_alarm(workdir, err)
    else:
        report = assert_alarm(workdir, truth, err, reason)
        # Crossed near 90% of 100 MB: 80 MB held plus the 10 MB the cgroup had.
        assert_close(
            line_bytes(report, "grow.py", truth["line"]),
            80 * MB,
            0.1,
            "held when the cgroup was nearly full",
        )


@pytest.mark.parametrize("peak_mb", [120, 60])
def test_memavailable(workdir, tmp_path, peak_mb):
    """A 1 GB machine with 180 MB available before the program grows: the alarm
    goes off when less than 100 MB would be left."""
    root = tmp_path / "root"
    fake_tree(root, meminfo_mb=(1024, 180))
    truth, out, err = grow(
        workdir,
        [5, peak_mb, "--available", root / "proc" / "meminfo", 1024, 180, "--pause", "0.08"],
        env={"HEAPMARK_ROOT": str(root)},
    )
    if peak_mb == 60:
        assert_no_alarm(workdir, err)
    else:
        report = assert_alarm(workdir, truth, err, "MemAvailable")
        assert_close(
            line_bytes(report, "grow.py", truth["line"]),
            80 * MB,
            0.1,
            "held when the machine was nearly out",
        )


@pytest.mark.parametrize("until", [93, 68])
def test_address_space_limit(workdir, until):
    """Under a 500 MB RLIMIT_AS, growing to 93% of it raises the alarm (at 90%);
    growing to 68% does not."""
    truth, out, err = grow(
        workdir, [10, 10000, "--until-vm", until, "--pause", "0.08"], rlimit_mb=500
    )
    assert truth["vm_percent"] >= until
    if until == 68:
        assert_no_alarm(workdir, err)
    else:
        assert_alarm(workdir, truth, err, "the address-space limit (RLIMIT_AS)")


def test_failed_allocation(workdir):
    """An allocation the address-space limit refuses: the report names it, and
    the program still gets its MemoryError."""
    truth, out, err = grow(workdir, [20, 200, "--too-big", 1000], rlimit_mb=400)
    assert out == "MemoryError raised\nheld 200 MB\n"
    report = assert_alarm(
        workdir, truth, err, "an allocation of 1048576001 bytes failed", line=truth["failed"]
    )
    assert report["oom_bytes"] == 1000 * MB + 1


REPORT_DELAY_MS = 4000  # how long the monitor holds the report back (a test knob)


def test_allocation_returns_before_the_report_is_written(workdir):
    """The allocation that crosses the line only notes the report (a copy of
    the tables); the monitor thread writes it.  With the writer held back
    REPORT_DELAY_MS, the crossing allocation returns before the report exists,
    within that bound, and the report, written while the program still runs,
    holds the tables as they stood at the crossing, not as they stand later."""
    truth, out, err = grow(
        workdir,
        [50, 250, "--watch", "out", "--wait-report", 60],
        options=["--memory-limit", "200MB"],
        env={"HEAPMARK_TEST_OOM_REPORT_DELAY_MS": str(REPORT_DELAY_MS)},
    )
    report = assert_alarm(workdir, truth, err, "over --memory-limit 209715200")
    block = truth["held"] // 5
    held_at_crossing = line_bytes(report, "grow.py", truth["line"])
    assert_close(held_at_crossing, 4 * block, EXACT_TOLERANCE, "four blocks at the crossing")
    crossing = 3  # the fourth block crossed 200 MB
    # No report when any step returned, the crossing one included...
    assert truth["report_after_step"] == [False] * 5
    assert truth["step_seconds"][crossing] < REPORT_DELAY_MS / 1000
    # ...and then one, written while the program waited for it.
    assert truth["report_waited"] is not None
    assert out == "held 250 MB\n"


def test_report_held_back_is_written_at_exit(workdir):
    """A program that ends before the monitor writes the noted report: the
    end of the run writes it, once, before the final profile."""
    truth, out, err = grow(
        workdir,
        [50, 250],
        options=["--memory-limit", "200MB"],
        env={"HEAPMARK_TEST_OOM_REPORT_DELAY_MS": "60000"},
    )
    report = assert_alarm(workdir, truth, err, "over --memory-limit 209715200")
    block = truth["held"] // 5
    assert_close(
        line_bytes(report, "grow.py", truth["line"]),
        4 * block,
        EXACT_TOLERANCE,
        "the four blocks held when the limit was crossed",
    )
    assert report["end_bytes"] < 5 * block  # not the fifth block, allocated later
