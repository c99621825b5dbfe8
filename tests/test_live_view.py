"""heapmark top PID: the live view of a process heapmark run profiles.

The program (programs/live_grow.py) holds 8 MiB more at one line each time
the test asks it on stdin.  The live view runs in a real terminal - a tmux
pane - and the tests read what the screen shows: the program's name, its
line holding the memory, a tracked total that follows the program's growth;
q quits and the program goes on, its stdout untouched.  Every wait is for
something to show (a condition), never for an amount of time.
"""

import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import PROGRAMS, assert_one_line_error, heapmark_command, run_heapmark

STEP_MB = 8
LINE = next(
    i
    for i, text in enumerate(open(os.path.join(PROGRAMS, "live_grow.py")), 1)
    if "# the live view's line" in text
)
LABEL = "hold (live_grow.py:%d)" % LINE
WAIT = float(
    os.environ.get('HMTEST_WAIT', 60)
)  # seconds before a condition that never comes fails the test


def wait_until(what, condition):
    deadline = time.monotonic() + WAIT
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("still waiting for %s" % what)
        time.sleep(0.05)


class Program:
    """live_grow.py under `heapmark run --exact`, fed on stdin."""

    def __init__(self, tmp_path):
        shutil.copy(os.path.join(PROGRAMS, "live_grow.py"), tmp_path / "live_grow.py")
        self.out = tmp_path / "stdout.txt"
        env = dict(os.environ)
        command = heapmark_command(
            ["run", "-q", "--exact", "-o", "res", "live_grow.py", str(STEP_MB)], env
        )
        with open(self.out, "wb") as out:
            self.proc = subprocess.Popen(
                command, cwd=tmp_path, env=env, stdin=subprocess.PIPE, stdout=out
            )
        ready = wait_until("the program", lambda: re.match(r"ready (\d+)\n", self.stdout()))
        self.pid = int(ready.group(1))
        self.steps = 0

    def stdout(self):
        return self.out.read_text()

    def grow(self, steps=1):
        for _ in range(steps):
            self.proc.stdin.write(b"grow\n")
            self.steps += 1
        self.proc.stdin.flush()
        held = "held %d MiB\n" % (self.steps * STEP_MB)
        wait_until(held, lambda: self.stdout().endswith(held))

    def end(self):
        self.proc.stdin.write(b"exit\n")
        self.proc.stdin.close()
        return self.proc.wait(WAIT)

    def expected_stdout(self):
        held = "".join("held %d MiB\n" % ((i + 1) * STEP_MB) for i in range(self.steps))
        return "ready %d\n%s" % (self.pid, held)


@pytest.fixture
def program(tmp_path):
    p = Program(tmp_path)
    yield p
    if p.proc.poll() is None:
        p.proc.kill()
        p.proc.wait()


class Terminal:
    """A tmux server of the test's own (a socket in tmp_path) and one pane."""

    def __init__(self, tmp_path):
        if not shutil.which("tmux"):
            pytest.skip("tmux is not installed (apt-get install tmux)")
        self.socket = str(tmp_path / "tmux.sock")
        conf = tmp_path / "tmux.conf"
        conf.write_text("")
        # In the foreground (-D), not as a daemon: daemon() wants a real
        # /dev/null, which some sandboxes lack.
        self.server = subprocess.Popen(
            ["tmux", "-D", "-S", self.socket, "-f", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until("the tmux server", lambda: os.path.exists(self.socket))

    def tmux(self, *args):
        return subprocess.run(
            ["tmux", "-S", self.socket] + list(args), check=True, capture_output=True, text=True
        ).stdout

    def start(self, command, columns=110, rows=40):
        # The pane stays once the command ends, with its exit status shown.
        shell = "%s; echo top-exit=$?; exec sleep 600" % " ".join(command)
        self.tmux(
            "new-session", "-d", "-s", "t", "-x", str(columns), "-y", str(rows), "sh", "-c", shell
        )

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "t")

    def wait_for(self, what, condition):
        try:
            return wait_until(what, lambda: condition(self.screen()))
        except AssertionError as exc:
            raise AssertionError("%s; the screen:\n%s" % (exc, self.screen())) from None

    def close(self):
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True)
        try:
            self.server.wait(10)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()


@pytest.fixture
def terminal(tmp_path):
    t = Terminal(tmp_path)
    yield t
    t.close()


def heapmark_top(args):
    """The command line of heapmark top in the pane (the tmux server has the
    test's environment; under tests/run-asan, the sanitizer's preload too)."""
    env = dict(os.environ)
    command = heapmark_command(["top"] + args, env)
    preload = ["LD_PRELOAD=" + env["LD_PRELOAD"]] if env.get("LD_PRELOAD") else []
    return ["env", "LC_ALL=C.UTF-8"] + preload + command


MIB = {"B": 1 / (1 << 20), "KiB": 1 / 1024, "MiB": 1, "GiB": 1024}


def tracked_mib(screen):
    """The tracked total the screen shows, in MiB (None if it shows none)."""
    m = re.search(r"^tracked ([\d.]+) (B|KiB|MiB|GiB) ", screen, re.M)
    return float(m.group(1)) * MIB[m.group(2)] if m else None


def line_mib(screen):
    """What the program's line holds, in MiB, as the table shows it (or None)."""
    row = r"^ *([\d.]+) (B|KiB|MiB|GiB) +[\d.]+%% +([\d,]+)  %s$" % re.escape(LABEL)
    m = re.search(row, screen, re.M)
    return float(m.group(1)) * MIB[m.group(2)] if m else None


def watch_files(pid):
    """This user's live files of pid, wherever the engine put them."""
    uid = os.geteuid()
    dirs = ["/run/user/%d/heapmark" % uid, "/tmp/heapmark-%d" % uid]
    if os.environ.get("XDG_RUNTIME_DIR"):
        dirs.insert(0, os.path.join(os.environ["XDG_RUNTIME_DIR"], "heapmark"))
    found = []
    for d in dirs:
        if os.path.isdir(d):
            found += [os.path.join(d, n) for n in os.listdir(d) if n.split(".")[0] == str(pid)]
    return sorted(found)


def test_the_live_view_follows_the_program_and_q_leaves_it_running(program, terminal):
    program.grow(2)
    terminal.start(heapmark_top([str(program.pid), "--interval", "0.5"]))
    first = terminal.wait_for("the line holding 16 MiB", lambda s: line_mib(s) == 2 * STEP_MB and s)
    assert first.startswith("heapmark top %d: python live_grow.py %d\n" % (program.pid, STEP_MB))
    assert re.search(r"^ {30}held\.append\(bytearray\(step \* MB\)\)", first, re.M)  # its source
    assert re.search(r"^tracked, 0-\d+ s: \S+$", first, re.M)
    before = tracked_mib(first)
    assert before >= 2 * STEP_MB

    # The program grows: the same screen, refreshed, shows it.
    program.grow(3)
    later = terminal.wait_for("the line holding 40 MiB", lambda s: line_mib(s) == 5 * STEP_MB and s)
    assert tracked_mib(later) >= before + 3 * STEP_MB

    # A terminal too small says so, and the view comes back when it grows.
    terminal.tmux("resize-window", "-t", "t", "-x", "30", "-y", "6")
    terminal.wait_for("the too-small note", lambda s: "terminal too small:" in s)
    terminal.tmux("resize-window", "-t", "t", "-x", "110", "-y", "40")
    terminal.wait_for("the view again", lambda s: line_mib(s) == 5 * STEP_MB)

    # q quits, and nothing else happens to the program.
    terminal.tmux("send-keys", "-t", "t", "q")
    after = terminal.wait_for("top's exit", lambda s: "top-exit=" in s and s)
    assert "top-exit=0" in after and "heapmark: " not in after
    assert program.proc.poll() is None
    program.grow(1)  # it still answers, and its stdout is only its own
    assert program.stdout() == program.expected_stdout()
    assert program.end() == 0
    assert program.stdout() == program.expected_stdout() + "bye\n"
    assert watch_files(program.pid) == []  # the live files went with the run


def test_the_program_ending_while_watched(program, terminal):
    program.grow(1)
    terminal.start(heapmark_top([str(program.pid), "--interval", "0.5"]))
    terminal.wait_for("the view", lambda s: line_mib(s) == STEP_MB)
    assert program.end() == 0
    screen = terminal.wait_for("top's exit", lambda s: "top-exit=" in s and s)
    assert "heapmark: process %d ended\ntop-exit=0" % program.pid in screen
    assert watch_files(program.pid) == []


def test_once_from_heapmark_runs_pid(program, tmp_path):
    """--once prints one frame; heapmark run's own pid leads to its program."""
    program.grow(1)
    assert [os.path.basename(f) for f in watch_files(program.pid)] == [
        "%d.live" % program.pid,
        "%d.request" % program.pid,
    ]
    rc, out, err = run_heapmark(["top", str(program.proc.pid), "--once"], cwd=tmp_path)
    assert err == "heapmark: process %d runs the profiled program: watching it, process %d\n" % (
        program.proc.pid,
        program.pid,
    )
    assert out.startswith("heapmark top %d: python live_grow.py" % program.pid)
    assert line_mib(out) == STEP_MB
    assert "top 10 lines holding memory now" in out and " (exact):" in out
    assert tracked_mib(out) >= STEP_MB
    assert out.rstrip().endswith(str(tmp_path / "res" / "profile.db"))
    # The profile now sits next to the live file, and is a profile.
    assert sorted(os.path.basename(f) for f in watch_files(program.pid)) == [
        "%d.%s" % (program.pid, s) for s in ("db", "live", "request")
    ]
    assert program.end() == 0
    assert program.stdout() == program.expected_stdout() + "bye\n"


def test_errors(tmp_path):
    gone = subprocess.Popen(["true"])
    gone.wait()
    for args, fragment in (
        ([str(gone.pid)], "no process %d" % gone.pid),
        (
            [str(os.getpid()), "--once"],
            "process %d is not profiled by heapmark: start it" % os.getpid(),
        ),
        (["abc"], "heapmark top expects a process id, not 'abc'"),
        ([], "heapmark top needs a process id"),
        (["1", "2"], "heapmark top takes one process id, got '2' too"),
        (["1", "--interval", "0.1"], "--interval expects seconds, at least 0.5"),
        (["1", "--top", "0"], "--top must be at least 1"),
    ):
        rc, out, err = run_heapmark(["top"] + args, cwd=tmp_path, check_rc=None)
        assert_one_line_error(rc, err, fragment)
        assert out == ""
    rc, out, err = run_heapmark(["top", str(os.getpid())], cwd=tmp_path, check_rc=None)
    assert "heapmark attach %d" % os.getpid() in err


def test_no_terminal(program, tmp_path):
    rc, out, err = run_heapmark(["top", str(program.pid)], cwd=tmp_path, check_rc=None)
    assert_one_line_error(rc, err, "heapmark top draws on a terminal", "--once")
    assert program.end() == 0
