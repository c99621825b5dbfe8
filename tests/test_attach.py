"""heapmark attach: tracking and census inside a Python process that is
running already (tests/programs/long_running.py, started by each test),
through the real command and gdb, and its refusals."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from conftest import (
    ASAN_PRELOAD,
    EXACT_TOLERANCE,
    HEAPMARK,
    PROGRAMS,
    SAMPLED_TOLERANCE,
    assert_close,
    assert_one_line_error,
    line_bytes,
    report_json,
    run_heapmark,
)

pytestmark = [
    pytest.mark.skipif(
        bool(ASAN_PRELOAD), reason="in-process tracking forwards to glibc's malloc, not ASan's"
    ),
    pytest.mark.skipif(
        not any(
            os.access(os.path.join(d, "gdb"), os.X_OK)
            for d in os.environ.get("PATH", "").split(":")
        ),
        reason="heapmark attach needs gdb",
    ),
]

PROGRAM = os.path.join(PROGRAMS, "long_running.py")
BIG = 8 << 20
SMALL, COUNT, MARKERS = 1000, 4000, 1234
HEARTBEAT_WAIT_S = 60  # a generous bound on a loaded machine, never asserted on


def marked_line(name):
    with open(PROGRAM) as f:
        for number, text in enumerate(f, 1):
            if text.rstrip().endswith("# line: %s" % name):
                return number
    raise AssertionError("no '# line: %s' in %s" % (name, PROGRAM))


CHILDREN = []  # every Child started, for attach()'s failure messages


class Child:
    """long_running.py under a Python, its heartbeat read as it comes."""

    def __init__(self, args=(), python=sys.executable):
        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)
        env.pop("PYTHONPATH", None)
        self.proc = subprocess.Popen(
            [python, PROGRAM] + list(args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.pid = self.proc.pid
        CHILDREN.append(self)
        self.closed = False
        self.ticks = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.wait_ticks(1)

    def _read(self):
        for line in self.proc.stdout:
            self.ticks.append(line.decode().split())

    def wait_ticks(self, count):
        """Until count more heartbeats arrived after those already seen."""
        target = len(self.ticks) + count
        deadline = time.monotonic() + HEARTBEAT_WAIT_S
        while len(self.ticks) < target and self.proc.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError("no heartbeat from the program: %s" % self.ticks[-3:])
            time.sleep(0.02)
        return self.ticks[-1]

    def close(self):
        self.closed = True
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.reader.join()
        return self.proc.stderr.read().decode()


@pytest.fixture
def child():
    started = []

    def start(*args, **kw):
        started.append(Child(args, **kw))
        return started[-1]

    yield start
    for c in started:
        c.close()


def attach(args, cwd, **kw):
    try:
        return run_heapmark(["attach"] + [str(a) for a in args], cwd=cwd, **kw)
    except AssertionError as e:
        # A target that died: say how, with what it printed (a crash's
        # message or a fatal error is on its stderr).
        dead = [c for c in CHILDREN if not c.closed and c.proc.poll() is not None]
        if not dead:
            raise
        raise AssertionError(
            "%s\n%s"
            % (
                e,
                "\n".join(
                    "target %d exited %d; its stderr:\n%s" % (c.pid, c.proc.returncode, c.close())
                    for c in dead
                ),
            )
        ) from None


def assert_left_running(c):
    """Alive, its heartbeat going on, the engine saying it tracks nothing and
    no relocation points at heapmark's hooks."""
    last = c.wait_ticks(2)
    assert c.proc.poll() is None
    assert last[2:] == ["tracking=False", "slots=0"], last


def test_attach_tracks_a_running_process_and_leaves_it_running(tmp_path, child):
    c = child()
    out = tmp_path / "exact"
    _, _, err = attach([c.pid, "--duration", 1, "--exact", "-o", out], tmp_path)
    assert "heapmark: tracking process %d" % c.pid in err
    assert "left running" in err
    report = report_json(out / "profile.db", tmp_path)
    assert_close(
        line_bytes(report, "long_running.py", marked_line("big")), BIG, EXACT_TOLERANCE, "big"
    )
    small_truth = COUNT * sys.getsizeof(bytes(SMALL)) + sys.getsizeof([None] * COUNT)
    assert_close(
        line_bytes(report, "long_running.py", marked_line("small")),
        small_truth,
        EXACT_TOLERANCE,
        "small",
    )
    for name in ("report.html", "peak.svg", "peak.txt"):
        assert (out / name).stat().st_size > 0
    # While tracked the program saw the hooks; afterwards they are gone.
    assert any(t[2] == "tracking=True" and t[3] != "slots=0" for t in c.ticks if len(t) > 3)
    assert_left_running(c)
    # A second attach finds nothing tracking: sampled this time.
    out = tmp_path / "sampled"
    attach([c.pid, "--duration", 1, "--sample-rate", "16K", "-o", out, "-q"], tmp_path)
    report = report_json(out / "profile.db", tmp_path)
    assert report["sample_rate"] == 16384
    for name, truth in (("big", BIG), ("small", small_truth)):
        assert_close(
            line_bytes(report, "long_running.py", marked_line(name)),
            truth,
            SAMPLED_TOLERANCE,
            name,
        )
    assert_left_running(c)
    assert c.close() == ""  # nothing of heapmark's on the program's stderr


def test_attach_to_a_busy_main_thread(tmp_path, child):
    # The main thread never waits: the code is queued for its next bytecode.
    c = child("busy")
    out = tmp_path / "res"
    attach([c.pid, "--duration", 1, "--exact", "-o", out], tmp_path)
    report = report_json(out / "profile.db", tmp_path)
    assert_close(
        line_bytes(report, "long_running.py", marked_line("big")), BIG, EXACT_TOLERANCE, "big"
    )
    assert_left_running(c)


def test_attach_while_threads_contend_for_the_gil(tmp_path, child):
    # The main thread is often stopped inside the GIL's handover, where code
    # run there and then would wait for the thread itself: each attach must
    # queue instead, and the program go on.
    c = child("busy", "contended")
    for attempt in range(4):
        out = tmp_path / ("res%d" % attempt)
        attach([c.pid, "--duration", 0.2, "-o", out, "-q"], tmp_path)
        assert report_json(out / "profile.db", tmp_path)["peak_bytes"] > 0
        assert_left_running(c)


def test_census_of_a_running_process(tmp_path, child):
    c = child()
    _, out, err = attach(["--census", c.pid, "--top", 0, "--json", tmp_path / "c.json"], tmp_path)
    assert out.startswith("Partition of a set of ")
    rows = [line.split() for line in out.splitlines()[2:]]
    marker = [row for row in rows if row[-1] == "__main__.Marker"]
    assert marker and int(marker[0][1]) == MARKERS, out
    with open(tmp_path / "c.json") as f:
        census = json.load(f)
    assert "Marker" in json.dumps(census)
    assert err == ""
    last = c.wait_ticks(2)
    assert c.proc.poll() is None and last[2:] == ["tracking=False", "slots=0"]


def test_ctrl_c_stops_the_tracking(tmp_path, child):
    c = child()
    out = tmp_path / "res"
    proc = subprocess.Popen(
        [HEAPMARK, "attach", str(c.pid), "-o", str(out)],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
    )
    seen = proc.stderr.readline().decode()
    assert seen.startswith("heapmark: tracking process %d" % c.pid) and "until Ctrl-C" in seen
    c.wait_ticks(2)
    proc.send_signal(signal.SIGINT)
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert "results in %s/" % out in err
    assert report_json(out / "profile.db", tmp_path)["peak_bytes"] >= BIG
    assert_left_running(c)


def test_process_ending_before_the_stop(tmp_path, child):
    c = child("exit-after", "30")
    out = tmp_path / "res"
    _, _, err = attach([c.pid, "-o", out], tmp_path)
    assert "process %d ended before the stop" % c.pid in err
    # Its exit wrote the profile (heapmark's atexit handler), and it is reported.
    assert "results in %s/" % out in err
    assert report_json(out / "profile.db", tmp_path)["peak_bytes"] >= BIG
    assert c.proc.wait(timeout=60) == 0


def test_a_process_tracked_already(tmp_path, child):
    c = child()
    first = subprocess.Popen(
        [HEAPMARK, "attach", str(c.pid), "-o", str(tmp_path / "first")],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
    )
    assert first.stderr.readline().decode().startswith("heapmark: tracking process")
    rc, _, err = attach([c.pid, "-o", tmp_path / "second"], tmp_path, check_rc=None)
    assert_one_line_error(
        rc, err, "heapmark is tracking already", "heapmark attach (process %d)" % first.pid
    )
    first.send_signal(signal.SIGINT)
    assert first.wait(timeout=120) == 0
    assert_left_running(c)


def other_python():
    """A CPython 3.9-3.13 of another version than this one, without heapmark."""
    root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
    for minor in (12, 13, 11, 10, 9):
        if minor == sys.version_info[1] or not root:
            continue
        versions = os.path.join(root, "versions")
        for name in sorted(os.listdir(versions)) if os.path.isdir(versions) else ():
            if name.startswith("3.%d." % minor):
                return os.path.join(versions, name, "bin", "python3"), "3.%d" % minor
    pytest.skip("no other CPython 3.9-3.13 under pyenv")


def test_a_python_of_another_version(tmp_path, child):
    python, version = other_python()
    c = child(python=python)
    rc, _, err = attach([c.pid, "-o", tmp_path / "res"], tmp_path, check_rc=None)
    assert_one_line_error(
        rc, err, "runs CPython %s" % version, "built for CPython %d.%d" % sys.version_info[:2]
    )
    assert_left_running_untouched(c)


def assert_left_running_untouched(c):
    last = c.wait_ticks(2)
    assert c.proc.poll() is None and last[2:] == ["tracking=none"], last


def test_refusals(tmp_path):
    sleeper = subprocess.Popen(["sleep", "300"])
    try:
        rc, _, err = attach([sleeper.pid], tmp_path, check_rc=None)
        assert_one_line_error(rc, err, "process %d (" % sleeper.pid, "is not a Python process")
    finally:
        sleeper.kill()
        sleeper.wait()
    # The pid of the sleep, now reaped.
    rc, _, err = attach([sleeper.pid], tmp_path, check_rc=None)
    assert_one_line_error(rc, err, "no process %d" % sleeper.pid)
    for args, fragment in (
        ([], "which process?"),
        (["abc"], "expects a process id, not 'abc'"),
        (["1", "2"], "one process id, not also '2'"),
        (["--census", "1", "--duration", "1"], "--census takes a census only"),
        (["1", "--duration", "0"], "--duration expects a number of seconds above 0"),
    ):
        rc, _, err = attach(args, tmp_path, check_rc=None)
        assert_one_line_error(rc, err, fragment)


def test_unsupported_python(tmp_path):
    root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
    versions = os.path.join(root, "versions") if root else ""
    old = [n for n in sorted(os.listdir(versions)) if n.startswith("3.8.")] if versions else []
    if not old:
        pytest.skip("no CPython 3.8 under pyenv")
    python = os.path.join(versions, old[-1], "bin", "python3")
    proc = subprocess.Popen(
        [python, "-c", "import time; print(1, flush=True); time.sleep(300)"], stdout=subprocess.PIPE
    )
    try:
        proc.stdout.readline()
        rc, _, err = attach([proc.pid], tmp_path, check_rc=None)
        assert_one_line_error(rc, err, "runs Python 3.8", "supports CPython 3.9 to 3.13")
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


def fake_gdb(directory, text):
    """A gdb that answers as the real one does when the kernel refuses ptrace."""
    directory.mkdir()
    gdb = directory / "gdb"
    gdb.write_text("#!/bin/sh\nprintf '%s\\n'\nexit 1\n" % text)
    gdb.chmod(0o755)
    return str(directory)


PTRACE_REFUSED = (
    "Could not attach to process.  If your uid matches the uid of the target\\n"
    "process, check the setting of /proc/sys/kernel/yama/ptrace_scope, or try\\n"
    "again as the root user.  For more details, see /etc/sysctl.d/10-ptrace.conf\\n"
    "ptrace: Operation not permitted."
)


@pytest.mark.parametrize(
    "scope, fragments",
    [
        ("1", ("kernel.yama.ptrace_scope is 1", "sysctl kernel.yama.ptrace_scope=0", "as root")),
        ("2", ("kernel.yama.ptrace_scope is 2", "as root")),
        ("3", ("kernel.yama.ptrace_scope is 3", "until the machine restarts")),
        ("0", ("--cap-add=SYS_PTRACE",)),
    ],
)
def test_ptrace_not_permitted(tmp_path, child, scope, fragments):
    c = child()
    root = tmp_path / "root"
    (root / "proc/sys/kernel/yama").mkdir(parents=True)
    (root / "proc/sys/kernel/yama/ptrace_scope").write_text(scope + "\n")
    path = fake_gdb(tmp_path / "bin", PTRACE_REFUSED) + os.pathsep + os.environ["PATH"]
    rc, _, err = attach(
        [c.pid], tmp_path, check_rc=None, env={"HEAPMARK_ROOT": str(root), "PATH": path}
    )
    assert_one_line_error(rc, err, "cannot attach to process %d" % c.pid, *fragments)
    assert_left_running_untouched(c)


def test_gdb_missing(tmp_path, child):
    c = child()
    empty = tmp_path / "empty"
    empty.mkdir()
    rc, _, err = attach([c.pid], tmp_path, check_rc=None, env={"PATH": str(empty)})
    assert_one_line_error(rc, err, "needs gdb", "apt-get install gdb")
    assert_left_running_untouched(c)
