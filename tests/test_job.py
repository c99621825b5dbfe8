"""A run of several processes as one job (issue 16): the combined timeline,
the job's peak and each process's share of it, and the job-peak snapshot,
against a parent and a 4-worker pool whose blocks are known
(tests/programs/job_pool.py: A 30 MiB alone, then B 40 MiB alone, then C
50 MiB and D 60 MiB together, the parent holding 20 MiB throughout).

Truth: the blocks' sizes, and each process's own total when it holds
nothing of the test's (a worker's while another one's block peaks).  Totals are exact, so shares
are asserted within 1 MiB (bytearray headers, a pool's bookkeeping); the
job-peak snapshot's lines are sampled estimates (SAMPLED_TOLERANCE)."""

import json
import os
import re
import sqlite3

import pytest
from conftest import (
    PROGRAMS,
    SAMPLED_TOLERANCE,
    SEED,
    assert_close,
    assert_one_line_error,
    run_heapmark,
)

MB = 1 << 20
PROGRAM = os.path.join(PROGRAMS, "job_pool.py")
WORKER_LINE = "job_pool.py:29"  # block = bytearray(SIZES[name])
PARENT_LINE = "job_pool.py:40"  # held = bytearray(20 * MB)


@pytest.fixture(scope="module", params=["fork", "spawn"])
def job(request, tmp_path_factory):
    work = tmp_path_factory.mktemp("job-" + request.param)
    _, _, err = run_heapmark(
        ["run", "--seed", SEED, "-o", "out", PROGRAM, "truth.json", request.param], cwd=work
    )
    with open(work / "truth.json") as f:
        truth = json.load(f)
    db = sqlite3.connect(work / "out" / "profile.db")
    meta = dict(db.execute("select key, value from meta"))
    samples = db.execute("select t, pid, tracked from job_timeline order by t, pid").fetchall()
    processes = db.execute(
        "select pid, parent_pid, t_start, t_end, command from job_processes"
    ).fetchall()
    phases = db.execute("select name, t_start, t_end from phases").fetchall()
    db.close()
    return work, truth, meta, samples, processes, phases, err


def by_pid(samples):
    series = {}
    for t, pid, tracked in samples:
        series.setdefault(pid, []).append((t, tracked))
    return series


def test_the_job_peak_and_each_process_share(job):
    work, truth, meta, samples, processes, phases, _ = job
    pids = {name: int(pid) for name, pid in truth["pids"].items()}
    main_pid = int(meta["pid"])
    # The pool's workers and the parent; with spawn, on some versions, also
    # the fork that became multiprocessing's resource tracker (profiled until
    # its exec, not after), which holds nothing at the job's peak.
    ours = set(pids.values()) | {main_pid}
    assert ours <= {pid for pid, _, _, _, _ in processes}
    others = {pid for pid, _, _, _, _ in processes} - ours
    assert all(t_end is not None and t_end >= t_start for _, _, t_start, t_end, _ in processes)
    series = by_pid(samples)

    # What each worker holds of its own: its total at the last sample of
    # another worker's block (A's for C and D, D's for A and B), when every
    # process has published since the phase began; the parent's at its end
    # (the first process's last sample is taken as it stops).
    def at_top_of(name):
        top = max(tracked for _, tracked in series[pids[name]])
        t_top = max(t for t, tracked in series[pids[name]] if tracked == top)
        return {pid: tracked for t, pid, tracked in samples if t == t_top}

    base = {main_pid: series[main_pid][-1][1]}
    base.update({pids[n]: at_top_of("A")[pids[n]] for n in "CD"})
    base.update({pids[n]: at_top_of("D")[pids[n]] for n in "AB"})
    peak_at = float(meta["job_peak_at_s"])
    peak = int(meta["job_peak_bytes"])
    shares = {pid: tracked for t, pid, tracked in samples if t == peak_at}
    assert set(shares) == ours and not others & set(shares)
    # The peak is one of the samples, and the largest sum of them all.
    assert sum(shares.values()) == peak
    sums = {}
    for t, _, tracked in samples:
        sums[t] = sums.get(t, 0) + tracked
    assert max(sums.values()) == peak
    # C and D hold their blocks, A and B have let theirs go, the parent holds its own.
    assert abs(shares[pids["C"]] - base[pids["C"]] - truth["sizes"]["C"]) < MB
    assert abs(shares[pids["D"]] - base[pids["D"]] - truth["sizes"]["D"]) < MB
    assert shares[pids["A"]] - base[pids["A"]] < MB
    assert shares[pids["B"]] - base[pids["B"]] < MB
    assert abs(shares[main_pid] - base[main_pid] - truth["parent"]) < 3 * MB
    # A and B peaked alone, earlier, each at its block.
    for name in "AB":
        t_max, top = max(series[pids[name]], key=lambda s: s[1])
        assert abs(top - base[pids[name]] - truth["sizes"][name]) < MB
        assert t_max < peak_at
    # The peak falls in the parent's phase around the pool's work (same clock).
    ((start, end),) = [(s, e) for name, s, e in phases if name == "workers"]
    assert start < peak_at < end
    assert float(meta["job_interval_s"]) == pytest.approx(0.01)
    assert not (work / "out" / ".heapmark-job").exists()


def folded(work, snapshot):
    _, out, _ = run_heapmark(
        ["export", "out/profile.db", "--format", "folded", "--snapshot", snapshot], cwd=work
    )
    return [line.rsplit(" ", 1) for line in out.splitlines()]


def bytes_at(stacks, pid, line):
    """Bytes under [process pid: ...] whose innermost frame is at line."""
    return sum(
        int(n)
        for stack, n in stacks
        if stack.startswith("[process %d:" % pid) and stack.rsplit(";", 1)[-1].endswith(line + ")")
    )


def test_job_peak_snapshot_holds_what_each_process_held_then(job):
    work, truth, meta, _, _, _, _ = job
    pids = {name: int(pid) for name, pid in truth["pids"].items()}
    main_pid = int(meta["pid"])
    at_job_peak = folded(work, "job-peak")
    for name in "CD":
        assert_close(
            bytes_at(at_job_peak, pids[name], WORKER_LINE),
            truth["sizes"][name],
            SAMPLED_TOLERANCE,
            "worker %s's block at the job's peak" % name,
        )
    for name in "AB":
        assert bytes_at(at_job_peak, pids[name], WORKER_LINE) < MB
    assert_close(
        bytes_at(at_job_peak, main_pid, PARENT_LINE),
        truth["parent"],
        SAMPLED_TOLERANCE,
        "the parent's block at the job's peak",
    )
    # Beside it, each process's own peak: A's and B's blocks are there.
    at_own_peaks = folded(work, "peak")
    for name in "ABCD":
        assert_close(
            bytes_at(at_own_peaks, pids[name], WORKER_LINE),
            truth["sizes"][name],
            SAMPLED_TOLERANCE,
            "worker %s's block at its own peak" % name,
        )


def test_the_job_in_words(job):
    work, truth, meta, _, _, _, err = job
    pids = {name: int(pid) for name, pid in truth["pids"].items()}
    for text in (err, run_heapmark(["report", "out/profile.db"], cwd=work)[1]):
        lines = text.splitlines()
        (head,) = [i for i, line in enumerate(lines) if "the job's combined peak:" in line]
        words = " ".join(lines[head : head + 2])
        assert re.search(r"in 5 live processes of [56] ", words), words
        shares = [line for line in lines[head + 1 :] if "[process " in line][:5]
        # Largest first: D, then C.
        assert "[process %d:" % pids["D"] in shares[0]
        assert "[process %d:" % pids["C"] in shares[1]
    assert any(
        WORKER_LINE in line
        for line in err.splitlines()[head:]
        if "top" not in line and "MiB" in line
    )
    diff = run_heapmark(
        ["diff", "out/profile.db", "out/profile.db", "--snapshot", "job-peak"], cwd=work
    )[1]
    assert "at the job's combined peak" in diff


def test_a_single_process_run_is_unchanged(tmp_path):
    run_heapmark(["run", "-q", "-o", "out", "-c", "x = bytearray(10 ** 7)"], cwd=tmp_path)
    db = sqlite3.connect(tmp_path / "out" / "profile.db")
    assert db.execute("select count(*) from meta where key like 'job%'").fetchone() == (0,)
    assert db.execute("select count(*) from job_processes").fetchone() == (0,)
    assert db.execute("select count(*) from job_timeline").fetchone() == (0,)
    assert [n for (n,) in db.execute("select name from snapshots order by id")] == [
        "peak",
        "end",
        "allocated",
    ]
    db.close()
    _, out, _ = run_heapmark(["report", "out/profile.db"], cwd=tmp_path)
    assert "job" not in out
    _, out, _ = run_heapmark(["export", "out/profile.db", "--format", "json"], cwd=tmp_path)
    assert [s["name"] for s in json.loads(out)["snapshots"]] == ["peak", "end", "allocated"]
    rc, _, err = run_heapmark(
        ["export", "out/profile.db", "--format", "folded", "--snapshot", "job-peak"],
        cwd=tmp_path,
        check_rc=None,
    )
    assert_one_line_error(rc, err, "has no job-peak snapshot", "of one process")
    rc, _, err = run_heapmark(
        ["export", "out/profile.db", "--format", "folded", "--snapshot", "job-pea"],
        cwd=tmp_path,
        check_rc=None,
    )
    assert_one_line_error(rc, err, "unknown snapshot 'job-pea'", "job-peak")
    assert not (tmp_path / "out" / ".heapmark-job").exists()


def test_a_block_handed_over_is_never_counted_twice(tmp_path):
    """Two workers hand a 50 MiB block back and forth 60 times with no pause
    (tests/programs/job_handover.py): no moment holds both blocks, so no
    sample, and not the job's peak, may sum to two.  Each process's total is
    read in its own memory at the sample (job.c); totals published at each
    process's own tick made the peak two blocks in 2 of 3 runs."""
    run_heapmark(
        ["run", "-q", "-o", "out", os.path.join(PROGRAMS, "job_handover.py")], cwd=tmp_path
    )
    db = sqlite3.connect(tmp_path / "out" / "profile.db")
    meta = dict(db.execute("select key, value from meta"))
    series = by_pid(db.execute("select t, pid, tracked from job_timeline order by t").fetchall())
    sums = {}
    for t, _, tracked in db.execute("select t, pid, tracked from job_timeline"):
        sums[t] = sums.get(t, 0) + tracked
    db.close()
    main_pid = int(meta["pid"])
    workers = [pid for pid in series if pid != main_pid]
    assert len(workers) == 2, series.keys()
    block = 50 * MB
    floor = {pid: min(v for _, v in values) for pid, values in series.items()}
    # Each worker's block is seen: it holds one at some sample.
    for pid in workers:
        assert max(v for _, v in series[pid]) - floor[pid] > block - MB
    # ... but never both at one sample.
    held = {}
    for pid in workers:
        for t, v in series[pid]:
            if v - floor[pid] > block // 2:
                held[t] = held.get(t, 0) + 1
    assert max(held.values()) == 1, sorted(t for t, n in held.items() if n > 1)
    peak = int(meta["job_peak_bytes"])
    assert peak == max(sums.values())
    # The peak is one block above what the three processes hold besides (the
    # parent grows by about 2 MiB after its first sample).
    assert block - MB < peak - sum(floor.values()) < block + 6 * MB, (peak, floor)
