"""heapmark run renders the reports while the program's interpreter tears
down, once the engine says the final profile is written (run/done_signal.c),
and still prints nothing before the program has exited."""

import os
import signal

from conftest import PROGRAMS, line_bytes, report_json, run_heapmark

PROGRAM = os.path.join(PROGRAMS, "slow_teardown.py")
BLOCK, CHILD_BLOCK = 40 * 1024 * 1024, 30 * 1024 * 1024


def line_of(text):
    with open(PROGRAM) as f:
        return next(n for n, line in enumerate(f, 1) if text in line)


BLOCK_LINE, CHILD_LINE = line_of("held = bytearray"), line_of("in_child = bytearray")


def test_reports_are_written_while_the_program_tears_down(tmp_path):
    rc, out, err = run_heapmark(["run", "-o", "out", PROGRAM, "out"], tmp_path)
    assert out == "slow_teardown: main done\n"
    # The program, tearing down, saw report.html: the reports did not wait
    # for its exit.
    assert "slow_teardown: report.html seen during teardown" in err
    # Its last words still come before heapmark's summary.
    lines = err.splitlines()
    said = lines.index("slow_teardown: report.html seen during teardown")
    summary = [i for i, line in enumerate(lines) if line.startswith("heapmark: peak tracked")]
    assert summary and summary[0] > said, err
    # And the reports are those of the final profile.
    report = report_json(tmp_path / "out" / "profile.db", tmp_path)
    assert report["status"] == "exit"
    held = line_bytes(report, "slow_teardown.py", BLOCK_LINE)
    assert abs(held - BLOCK) < 0.15 * BLOCK, held


def test_a_run_of_two_processes_waits_for_the_exit(tmp_path):
    """A forked child's profile is merged into the reports: with a second
    process in the run, the engine does not say "done", and the reports are
    written after the exit, with the child's part."""
    rc, out, err = run_heapmark(["run", "-o", "out", PROGRAM, "out", "fork"], tmp_path)
    assert "slow_teardown: report.html not seen during teardown" in err
    report = report_json(tmp_path / "out" / "profile.db", tmp_path)
    child = line_bytes(report, "slow_teardown.py", CHILD_LINE)
    assert abs(child - CHILD_BLOCK) < 0.15 * CHILD_BLOCK, child


def test_a_copy_of_the_pipe_does_not_keep_heapmark_waiting(tmp_path):
    """The program dies without a final profile while another process holds a
    copy of the pipe: heapmark watches the program's own exit, not only the
    pipe's end (the sleeper would otherwise hold it for 10 minutes)."""
    try:
        rc, out, err = run_heapmark(
            ["run", "-o", "out", PROGRAM, "out", "hold-pipes"],
            tmp_path,
            check_rc=-signal.SIGKILL,
            timeout=120,
        )
        assert "killed by SIGKILL" in err or "no profile was written" in err, err
    finally:
        pid_file = tmp_path / "sleeper.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
            except ProcessLookupError:
                pass
