"""Hostile input and hostile places: damaged profiles (a fuzzer over a
thousand cases, and the real command line over a sample of them), output
directories that cannot be written, and a disk that fills up.  What must
hold: a clear one-line error and exit status 2, or complete reports - never a
crash, a hang, a traceback, invalid output, or a half-written file."""

import json
import os
import random
import sqlite3
import subprocess
import sys

import pytest

from conftest import ASAN_PRELOAD, HERE, assert_one_line_error, run_heapmark

sys.path.insert(0, HERE)
import fuzz_profiles  # noqa: E402  (tests/fuzz_profiles.py)

# Seeded per interpreter, so that five interpreters try five sets of cases;
# HEAPMARK_FUZZ_CASES / HEAPMARK_FUZZ_SEED replay or widen a run.
FUZZ_CASES = int(os.environ.get("HEAPMARK_FUZZ_CASES", "1000"))
FUZZ_SEED = int(os.environ.get("HEAPMARK_FUZZ_SEED", str(100 + sys.version_info[1])))

PROGRAM = """
import threading
def worker(n):
    held.append([str(i) * 4 for i in range(n)])
held = []
threads = [threading.Thread(target=worker, args=(20000 * (k + 1),)) for k in range(3)]
for t in threads:
    t.start()
for t in threads:
    t.join()
blob = bytearray(3_000_000)
print("done")
"""


@pytest.fixture(scope="module")
def small_profile(tmp_path_factory):
    """A small real profile (threads, many stacks) to damage."""
    d = tmp_path_factory.mktemp("hostile")
    (d / "p.py").write_text(PROGRAM)
    run_heapmark(
        ["run", "-q", "--sample-rate", "4K", "--seed", "3", "-o", str(d / "out"), "p.py"], d
    )
    return d / "out" / "profile.db"


JOB_PROGRAM = """
import multiprocessing
def work(n):
    return len([str(i) * 4 for i in range(n)])
if __name__ == "__main__":
    with multiprocessing.get_context("fork").Pool(2) as pool:
        print(pool.map(work, [20000, 40000]))
"""


@pytest.fixture(scope="module")
def job_profile(tmp_path_factory):
    """A profile of three processes: job tables and job-peak snapshots."""
    d = tmp_path_factory.mktemp("hostile-job")
    (d / "p.py").write_text(JOB_PROGRAM)
    run_heapmark(
        ["run", "-q", "--sample-rate", "4K", "--seed", "3", "-o", str(d / "out"), "p.py"], d
    )
    db = sqlite3.connect(d / "out" / "profile.db")
    assert db.execute("select count(*) from job_processes").fetchone()[0] == 3
    assert db.execute("select count(*) from snapshots where name = 'job-peak'").fetchone() == (1,)
    db.close()
    return d / "out" / "profile.db"


def run_fuzzer(profile, workdir, *args):
    """tests/fuzz_profiles.py in a process of its own (a crash kills only it)."""
    env = dict(os.environ)
    if ASAN_PRELOAD:
        env["LD_PRELOAD"] = ASAN_PRELOAD
    return subprocess.run(
        [sys.executable, os.path.join(HERE, "fuzz_profiles.py"), str(profile), str(workdir)]
        + list(args),
        env=env,
        capture_output=True,
        timeout=900,
    )


@pytest.mark.parametrize("which", ["single", "job"])
def test_fuzzed_profiles_are_refused_or_reported(tmp_path, small_profile, job_profile, which):
    small_profile = small_profile if which == "single" else job_profile
    proc = run_fuzzer(small_profile, tmp_path, str(FUZZ_CASES), str(FUZZ_SEED))
    err = proc.stderr.decode(errors="replace")
    if proc.returncode != 0:
        cases = [line for line in err.splitlines() if line.startswith("case ")]
        pytest.fail(
            "the fuzzer died (exit %d) on %s, seed %d; replay with "
            "HEAPMARK_FUZZ_SEED=%d HEAPMARK_FUZZ_CASES=N\n%s"
            % (
                proc.returncode,
                cases[-1] if cases else "no case",
                FUZZ_SEED,
                FUZZ_SEED,
                err[-3000:],
            )
        )
    summary = json.loads(proc.stdout)
    assert summary["cases"] == FUZZ_CASES
    # The damage reached the reader both ways: refused files and files whose
    # damage missed what the reader uses (rendered in full).
    assert summary["outcomes"]["refused"] > FUZZ_CASES // 10, summary
    assert summary["outcomes"]["ok"] > FUZZ_CASES // 10, summary


@pytest.mark.parametrize("which", ["single", "job"])
def test_invalid_utf8_in_any_text_column_leaves_the_reports_valid(
    tmp_path, small_profile, job_profile, which
):
    """A surrogate's bytes in every row of one text column at a time (function
    and file names, meta values, phase names, the job's commands, ...): every
    report is still valid UTF-8, JSON and XML, or the file is refused."""
    profile = small_profile if which == "single" else job_profile
    proc = run_fuzzer(profile, tmp_path, "text-columns")
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-3000:]
    outcomes = json.loads(proc.stdout)
    assert outcomes["strings.text"] == "ok", outcomes
    if which == "job":
        assert outcomes["job_processes.command"] == "ok", outcomes
    # Text is shown, not a reason to refuse the profile, wherever it is.
    assert sum(o == "ok" for o in outcomes.values()) >= len(outcomes) - 2, outcomes


def test_a_control_byte_in_a_damaged_schema_stays_out_of_the_error(tmp_path, small_profile):
    """SQLite's message quotes names read from the file (here an index name
    whose 's' became a newline): the error is still one line."""
    data = small_profile.read_bytes()
    name = b"sqlite_autoindex_snapshots_1"
    assert name in data
    bad = tmp_path / "damaged.db"
    bad.write_bytes(data.replace(name, name.replace(b"shots", b"\nhots")))
    rc, stdout, err = run_heapmark(["report", str(bad)], tmp_path, check_rc=None)
    assert_one_line_error(rc, err, "damaged.db")
    assert "autoindex_snap?hots" in err, err


@pytest.mark.parametrize("case", range(12))
def test_command_line_on_damaged_profiles(tmp_path, small_profile, case):
    """The same damage through `heapmark report`: exit 0 with every report,
    or exit 2 with one line naming the file."""
    rng = random.Random(1000 + case)
    bad = tmp_path / "damaged.db"
    if case % 2 == 0:
        kind, data = fuzz_profiles.damage_bytes(small_profile.read_bytes(), rng)
        bad.write_bytes(data)
    else:
        bad.write_bytes(small_profile.read_bytes())
        kind = fuzz_profiles.damage_rows(str(bad), rng)
    out = tmp_path / "reports"
    rc, stdout, err = run_heapmark(["report", str(bad), "-o", str(out)], tmp_path, check_rc=None)
    if rc == 0:
        assert {"peak.svg", "peak.txt", "peak.folded", "end.folded"} <= set(os.listdir(out)), kind
        assert "Traceback" not in err
    else:
        assert_one_line_error(rc, err, "damaged.db")
        assert stdout == ""
        # Nothing half-written is left behind.
        assert not out.exists() or not [n for n in os.listdir(out) if n.endswith(".tmp")]


def test_unwritable_output_directories(tmp_path, small_profile):
    """Places no one can write, root included."""
    (tmp_path / "p.py").write_text("print('ran')\n")
    rc, out, err = run_heapmark(
        ["run", "-o", "/proc/heapmark-results", "p.py"], tmp_path, check_rc=None
    )
    assert_one_line_error(rc, err, "cannot write to output directory '/proc/heapmark-results'")
    assert out == ""  # refused before the program ran
    rc, out, err = run_heapmark(
        ["report", str(small_profile), "-o", "/proc/heapmark-reports"], tmp_path, check_rc=None
    )
    assert_one_line_error(rc, err, "/proc/heapmark-reports")


@pytest.fixture
def small_disk(tmp_path):
    """A 64 KiB tmpfs (needs root; skipped where mounting is not allowed)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
    )
    if proc.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here: %s" % proc.stderr.decode().strip())
    yield mount
    subprocess.run(["umount", str(mount)])


def test_disk_full_during_the_run(tmp_path, small_disk):
    """The program runs as it would; heapmark says the profile could not be
    written and why, and exits 2 (the program itself succeeded)."""
    (tmp_path / "p.py").write_text(PROGRAM)
    out = small_disk / "out"
    # Exact: a profile of a few hundred KiB, which cannot fit.
    rc, stdout, err = run_heapmark(
        ["run", "--exact", "-o", str(out), "p.py"], tmp_path, check_rc=None
    )
    assert stdout == "done\n"
    assert rc == 2, err
    assert "Traceback" not in err
    assert "heapmark: error: cannot write %s" % (out / "profile.db") in err
    assert "database or disk is full" in err
    assert "heapmark: error: no profile was written to %s/" % out in err
    assert [n for n in os.listdir(out) if n.endswith(".tmp")] == []


def test_disk_full_for_the_reports(tmp_path, small_disk, small_profile):
    out = small_disk / "reports"
    rc, _, err = run_heapmark(
        ["report", str(small_profile), "-o", str(out)], tmp_path, check_rc=None
    )
    assert_one_line_error(rc, err, "No space left on device")
    assert [n for n in os.listdir(out) if n.endswith(".tmp")] == []


def test_program_failing_keeps_its_status_when_the_disk_is_full(tmp_path, small_disk):
    (tmp_path / "p.py").write_text(PROGRAM + "raise SystemExit(7)\n")
    rc, _, err = run_heapmark(
        ["run", "--exact", "-o", str(small_disk / "out"), "p.py"], tmp_path, check_rc=None
    )
    assert rc == 7
    assert "database or disk is full" in err
