"""``heapmark top PID``: a live view of a process heapmark profiles.

The engine does the work (csrc/run/watch.c): the profiled process's monitor
thread keeps a small live file (tracked, peak, RSS, a timeline, its
profile's path) and answers a request, a byte down a FIFO, with a fresh one
and a profile of what it holds now, which the module turns into the table
of top lines.  This module asks once per refresh, waits for the answer and
draws it: with curses on a terminal, or once as text (``--once``).
"""

import os
import sys
import time

from heapmark.cli.common import UsageError, parse_int, parse_seconds, process_id, say
from heapmark.cli.options import FLAG, VALUE, parse

MIN_INTERVAL = 0.5
ANSWER_WAIT = 5.0  # seconds to wait for the monitor thread's answer
MIN_COLUMNS, MIN_ROWS = 40, 10
BARS = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"
ASCII_BARS = "_.-:=+*#"


OPTIONS = (
    (
        ("--interval",),
        "interval",
        VALUE,
        lambda text, name: parse_seconds(text, name, MIN_INTERVAL),
    ),
    (("--top",), "top", VALUE, lambda text, name: parse_int(text, name, 1)),
    (("--once",), "once", FLAG, True),
)

DEFAULTS = {"interval": 2.0, "top": None, "once": False}


class Ended(Exception):
    """The watched process ended, or its run did: the message says which."""


def size(n):
    """Bytes as the engine's reports write them: '45.2 MiB'."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return "%d B" % n if unit == "B" else "%.1f %s" % (n, unit)
        n /= 1024.0
    return ""  # pragma: no cover


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(c) for c in f.read().split()]
    except (OSError, ValueError):
        return []


class Watch:
    """One watched process: its last state, and the table of its last profile."""

    def __init__(self, pid):
        from heapmark import _heapmark

        self.module = _heapmark
        self.pid = pid
        self.state = None
        self.table = None  # ((now_seq, top, columns), text)
        self.late = False  # the last answer did not come in time

    def read(self):
        status, state = self.module._watch_read(self.pid)
        if status == "unreadable":
            raise UsageError(state)
        return status, state

    def ended(self):
        """Why there is nothing more to watch, once there was."""
        deadline = time.monotonic() + 2
        while alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.05)  # the live files go a moment before the process does
        if alive(self.pid):
            return Ended("process %d is no longer profiled (its run stopped)" % self.pid)
        return Ended("process %d ended" % self.pid)

    def refresh(self):
        """Asks for fresh files and waits for them (at most ANSWER_WAIT)."""
        seq = self.state["seq"]
        if not self.module._watch_request(self.pid):
            raise self.ended()
        deadline = time.monotonic() + ANSWER_WAIT
        while True:
            status, state = self.read()
            if status != "ok":
                raise self.ended()
            if state["seq"] > seq or time.monotonic() > deadline:
                self.late = state["seq"] <= seq
                self.state = state
                return
            time.sleep(0.02)

    def top_lines(self, top, columns):
        key = (self.state["now_seq"], top, columns)
        if self.state["now_seq"] == 0:
            return ["(no profile of the program yet)"]
        if not self.table or self.table[0] != key:
            try:
                text = self.module._watch_now(self.state["now_profile"], top, columns)
            except self.module.ProfileError as exc:
                if self.table:  # replaced as it was read: keep the last one
                    return self.table[1]
                return ["(profile not readable: %s)" % exc]
            self.table = (key, text.rstrip("\n").split("\n"))
        return self.table[1]


def find(pid):
    """The Watch of pid, or of the program `heapmark run` (pid) runs."""
    watch = Watch(pid)
    status, watch.state = watch.read()
    if status == "ok":
        return watch
    if status == "ended" and not os.path.exists("/proc/%d" % pid):
        raise UsageError("no process %d" % pid)
    for child in children(pid):
        watch = Watch(child)
        status, watch.state = watch.read()
        if status == "ok":
            say("process %d runs the profiled program: watching it, process %d" % (pid, child))
            return watch
    raise UsageError(
        "process %d is not profiled by heapmark: start it with `heapmark run script.py`, "
        "or attach to it with `heapmark attach %d`" % (pid, pid)
    )


def sparkline(points, width, bars):
    """The tracked bytes of points as width bars at most (each the maximum of its share)."""
    values = [tracked for _, tracked, _ in points]
    if not values or width < 1:
        return ""
    if len(values) > width:
        values = [
            max(values[i * len(values) // width : (i + 1) * len(values) // width] or [0])
            for i in range(width)
        ]
    top = max(values) or 1
    return "".join(bars[min(len(bars) - 1, v * len(bars) // (top + 1))] for v in values)


def frame(watch, columns, rows, top, bars, footer="   q quits"):
    """The screen as lines of text, each at most columns wide."""
    s = watch.state
    lines = [
        "heapmark top %d: %s" % (watch.pid, s["command"]),
        "tracked %s   peak %s   RSS %s   peak RSS %s   at %.1f s"
        % (size(s["tracked"]), size(s["peak"]), size(s["rss"]), size(s["peak_rss"]), s["t"]),
    ]
    points = s["timeline"]
    if points:
        label = "tracked, 0-%.0f s: " % points[-1][0]
        lines.append(label + sparkline(points, columns - len(label), bars))
    else:
        lines.append("no timeline (heapmark run --timeline-interval 0)")
    lines.append("")
    if top is None:
        top = max(1, (rows - len(lines) - 5) // 2)  # a table row takes two lines
    lines += watch.top_lines(top, columns)
    lines.append("")
    note = " (the program did not answer in time: figures as they were)" if watch.late else ""
    lines.append("profile %s%s%s" % (s["profile"], footer, note))
    return [line[:columns] for line in lines]


def bars_for_terminal():
    import locale

    encoding = locale.getpreferredencoding(False).lower().replace("-", "")
    return BARS if encoding == "utf8" else ASCII_BARS


def main(args):
    opts, positional = parse(
        args,
        "top",
        OPTIONS,
        DEFAULTS,
        max_positional=1,
        too_many="heapmark top takes one process id, got '%s' too",
    )
    watch = find(process_id(positional, "top", "heapmark top needs a process id: heapmark top PID"))
    if opts["once"]:
        try:
            watch.refresh()
        except Ended as exc:
            say(str(exc))
            return 0
        columns = max(MIN_COLUMNS, int(os.environ.get("COLUMNS") or 100))
        sys.stdout.write("\n".join(frame(watch, columns, 0, opts["top"] or 10, BARS, "")) + "\n")
        return 0
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("heapmark top draws on a terminal: give it one, or use --once")
    import curses
    import locale

    locale.setlocale(locale.LC_ALL, "")
    bars = bars_for_terminal()
    try:
        ended = curses.wrapper(screen, watch, opts, bars)
    except KeyboardInterrupt:
        ended = None
    if ended:
        say(str(ended))
    return 0


def screen(stdscr, watch, opts, bars):
    """The interactive loop; returns Ended when the process did, None on q."""
    import curses

    curses.curs_set(0)
    stdscr.timeout(100)
    due = 0.0
    while True:
        now = time.monotonic()
        if now >= due:
            try:
                watch.refresh()
            except Ended as exc:
                return exc
            due = time.monotonic() + opts["interval"]
            draw(stdscr, watch, opts, bars)
        key = stdscr.getch()
        if key in (ord("q"), ord("Q")):
            return None
        if key == curses.KEY_RESIZE or resized(stdscr):
            draw(stdscr, watch, opts, bars)


def resized(stdscr):
    """Whether the terminal's size changed (and curses now knows it): not
    every terminal's SIGWINCH reaches curses as KEY_RESIZE."""
    import curses

    try:
        columns, rows = os.get_terminal_size(sys.stdout.fileno())
    except OSError:
        return False
    if (rows, columns) == stdscr.getmaxyx():
        return False
    curses.resizeterm(rows, columns)
    return True


def draw(stdscr, watch, opts, bars):
    import curses

    rows, columns = stdscr.getmaxyx()
    stdscr.erase()
    if rows < MIN_ROWS or columns < MIN_COLUMNS:
        lines = ["terminal too small:", "%dx%d at least" % (MIN_COLUMNS, MIN_ROWS), "q quits"]
    else:
        lines = frame(watch, columns - 1, rows, opts["top"], bars)[:rows]
    for y, line in enumerate(lines[:rows]):
        try:
            stdscr.addstr(y, 0, line[: max(columns - 1, 0)])
        except curses.error:
            pass  # the last cell of the screen
    stdscr.refresh()
