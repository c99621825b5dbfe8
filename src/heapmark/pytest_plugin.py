"""heapmark's pytest plugin: memory limits on tests, and which tests peak.

Registered through the ``pytest11`` entry point, so installing heapmark is
enough; it does nothing unless asked:

    pytest --heapmark                 track every test's call; at the end, the
                                      tests with the highest peaks and their
                                      top lines
    pytest --heapmark-dir DIR         ... and keep one profile per test in DIR
    @pytest.mark.limit_memory("24 MB")
                                      fail the test if its call's peak goes
                                      above 24 MiB
    @pytest.mark.limit_leaks("1 MB", warmup=1, ignore=("functools.py",))
                                      fail the test if its call leaves more
                                      than 1 MiB allocated

Each tracked call is a ``heapmark.track()`` span (the in-process engine:
csrc/run/in_process.c): sampled by default (``--heapmark-exact`` records
every allocation), native memory included.  Peaks and leaks are exact totals
in either mode; the lines named are estimates when sampled.  Fixtures' set-up
and tear-down are outside the span.  The limits use binary units: 1 MB is
1,048,576 bytes, as heapmark's reports count.
"""

import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile

import pytest

UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.I)
TOP_LINES = 5


def parse_limit(value, mark):
    """24, '24 MB', '1.5GiB', '512K' -> bytes (binary units)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    m = SIZE.match(str(value))
    if not m:
        raise pytest.UsageError(
            "%s: expected a size such as 24 MB, 512K or 1048576, not %r" % (mark, value)
        )
    return int(float(m.group(1)) * UNITS[m.group(2).lower()])


def size_text(n):
    value, unit = float(n), 0
    while abs(value) >= 1024 and unit < 4:
        value /= 1024
        unit += 1
    return "%d B" % n if unit == 0 else "%.1f %s" % (value, ["B", "KiB", "MiB", "GiB", "TiB"][unit])


def pytest_addoption(parser):
    group = parser.getgroup("heapmark", "memory profiling with heapmark")
    group.addoption(
        "--heapmark",
        action="store_true",
        help="track the memory of every test's call; list the tests with the highest peaks",
    )
    group.addoption(
        "--heapmark-dir",
        metavar="DIR",
        help="keep one heapmark profile per test in DIR (implies --heapmark)",
    )
    group.addoption(
        "--heapmark-exact",
        action="store_true",
        help="record every allocation (exact per-line figures; slower)",
    )
    group.addoption(
        "--heapmark-top",
        type=int,
        default=5,
        metavar="N",
        help="tests listed in the summary at the end (default 5)",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "limit_memory(size): fail the test if the peak of the memory its call allocated "
        "(Python and native, tracked by heapmark) goes above size, such as '24 MB'",
    )
    config.addinivalue_line(
        "markers",
        "limit_leaks(size, warmup=0, ignore=()): fail the test if its call leaves more than "
        "size allocated; warmup calls first (not tracked); ignore: stack parts (file names, "
        "functions) whose memory is a cache by design",
    )
    if config.getoption("--heapmark") or config.getoption("--heapmark-dir"):
        _start_tracking(config)


def pytest_collection_modifyitems(config, items):
    # Nothing of heapmark's exists in a session whose tests ask for nothing
    # (an in-process census or leak check of a test would see it).
    if not config.pluginmanager.has_plugin("heapmark-tests") and any(
        item.get_closest_marker("limit_memory") or item.get_closest_marker("limit_leaks")
        for item in items
    ):
        _start_tracking(config)


def _start_tracking(config):
    tests = HeapmarkTests(config)
    config.pluginmanager.register(tests, "heapmark-tests")
    config.pluginmanager.register(CallTracking(tests), "heapmark-call-tracking")


class Limits:
    """What one test asked for."""

    def __init__(self, item):
        memory = item.get_closest_marker("limit_memory")
        leaks = item.get_closest_marker("limit_leaks")
        self.memory = parse_limit(_only_arg(memory), "limit_memory") if memory else None
        self.leaks = parse_limit(_only_arg(leaks), "limit_leaks") if leaks else None
        self.warmup = int(leaks.kwargs.get("warmup", 0)) if leaks else 0
        ignore = leaks.kwargs.get("ignore", ()) if leaks else ()
        self.ignore = (ignore,) if isinstance(ignore, str) else tuple(ignore)

    def any(self):
        return self.memory is not None or self.leaks is not None


def _only_arg(mark):
    if len(mark.args) != 1:
        raise pytest.UsageError("%s takes one size, such as %s('24 MB')" % (mark.name, mark.name))
    return mark.args[0]


class HeapmarkTests:
    def __init__(self, config):
        self.config = config
        self.directory = config.getoption("--heapmark-dir")
        self.every_test = bool(config.getoption("--heapmark") or self.directory)
        self.exact = config.getoption("--heapmark-exact")
        self.peaks = []  # (peak_bytes, nodeid, top lines), from this process or xdist workers
        self.scratch = None

    # -- the call ------------------------------------------------------------
    # The span wraps the call phase (pytest_runtest_call), so it covers plain
    # test functions and unittest.TestCase methods alike; a limit broken is
    # reported by turning the call's report into a failure (makereport), which
    # every pytest and pluggy version supports.

    def runtest_call(self, item):
        limits = Limits(item)
        if not (limits.any() or self.every_test):
            yield
            return
        import heapmark

        for _ in range(limits.warmup):
            item.runtest()
        directory = self._directory_for(item)
        # Kinds (what the memory is) only for a test with a limit, whose failure
        # shows them: a walk of the heap per test would cost every test tens of
        # milliseconds in a large process.
        tracker = heapmark.track(directory, exact=self.exact, reports=False, kinds=limits.any())
        try:
            outcome = yield
        finally:
            tracker.__exit__(None, None, None)
        if outcome.excinfo is None:
            item._heapmark_failure = self._check(item, tracker, limits, directory)

    def runtest_makereport(self, item, call):
        outcome = yield
        failure = getattr(item, "_heapmark_failure", None)
        if call.when == "call" and failure:
            report = outcome.get_result()
            report.outcome = "failed"
            report.longrepr = failure
            item._heapmark_failure = None

    def _directory_for(self, item):
        if self.directory:
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid).strip("_")[:200]
            return os.path.join(self.directory, name or "test")
        if self.scratch is None:
            self.scratch = tempfile.mkdtemp(prefix="heapmark-pytest-")
        return tempfile.mkdtemp(dir=self.scratch)

    def _check(self, item, tracker, limits, directory):
        if tracker.profile is None:  # under heapmark run: the span was a phase
            _note_once(
                "heapmark: this process is profiled by heapmark run: the tests' memory limits "
                "are not checked (their spans are phases of that run)"
            )
            return None
        top = tracker.top(TOP_LINES)
        if self.every_test:
            item.user_properties.append(
                ("heapmark", json.dumps({"peak": tracker.peak_bytes, "top": top[:3]}))
            )
        failure = None
        if limits.memory is not None and tracker.peak_bytes > limits.memory:
            failure = self._memory_failure(tracker, limits.memory, top)
        elif limits.leaks is not None:
            leaked, ignored = self._leaked(tracker, limits.ignore)
            if leaked > limits.leaks:
                failure = self._leak_failure(tracker, limits, leaked, ignored)
        if not (self.directory or failure):
            shutil.rmtree(directory, ignore_errors=True)
        return failure and failure + "\nprofile: %s" % tracker.profile

    def _estimates(self, tracker):
        if self.exact:
            return "exact"
        return "estimated from samples every %s" % size_text(tracker.sample_rate)

    def _memory_failure(self, tracker, limit, top):
        lines = [
            "heapmark: the test's call peaked at %s, above its limit of %s "
            "(memory allocated during the call and held at the peak, Python and native)"
            % (size_text(tracker.peak_bytes), size_text(limit)),
            "top lines at the peak (%s):" % self._estimates(tracker),
        ]
        lines.extend(_line_rows(top, tracker.peak_bytes))
        return "\n".join(lines)

    def _leaked(self, tracker, ignore):
        """Bytes the call left allocated, less pymalloc's free space (arena
        room no object holds) and less the stacks that match `ignore`."""
        with sqlite3.connect("file:%s?mode=ro" % tracker.profile, uri=True) as db:
            row = db.execute(
                "SELECT value FROM meta WHERE key='end_pymalloc_free_bytes'"
            ).fetchone()
        leaked = tracker.end_bytes - (int(row[0]) if row else 0)
        ignored = 0
        if ignore:
            for stack, value in _end_stacks(tracker.profile):
                if any(part in stack for part in ignore):
                    ignored += value
        return max(leaked - ignored, 0), ignored

    def _leak_failure(self, tracker, limits, leaked, ignored):
        lines = [
            "heapmark: the test's call left %s allocated, above its limit of %s"
            % (size_text(leaked), size_text(limits.leaks))
            + (" (after %d warm-up call%s)" % (limits.warmup, "s" * (limits.warmup > 1)))
            * bool(limits.warmup)
            + (" (%s ignored: %s)" % (size_text(ignored), ", ".join(limits.ignore)))
            * bool(limits.ignore),
            "largest stacks still allocated at the end of the call (%s):"
            % self._estimates(tracker),
        ]
        stacks = sorted(_end_stacks(tracker.profile), key=lambda sv: -sv[1])
        shown = 0
        for stack, value in stacks:
            if any(part in stack for part in limits.ignore) or stack.startswith("[pymalloc"):
                continue
            lines.append("  %10s  %s" % (size_text(value), _program_frame(stack)))
            shown += 1
            if shown == TOP_LINES:
                break
        return "\n".join(lines)

    # -- the summary -----------------------------------------------------------

    def pytest_runtest_logreport(self, report):
        if report.when != "call":
            return
        for name, value in getattr(report, "user_properties", ()):
            if name == "heapmark":
                data = json.loads(value)
                self.peaks.append((data["peak"], report.nodeid, data["top"]))

    def pytest_terminal_summary(self, terminalreporter):
        if not self.every_test or not self.peaks:
            return
        n = self.config.getoption("--heapmark-top")
        tr = terminalreporter
        tr.section("heapmark: the tests with the highest peaks")
        for peak, nodeid, top in sorted(self.peaks, key=lambda p: (-p[0], p[1]))[:n]:
            tr.write_line("%10s  %s" % (size_text(peak), nodeid))
            for row in _line_rows(top, peak):
                tr.write_line("  " + row)
        if self.directory:
            from heapmark.cli.common import result_file

            tr.write_line(
                "profiles: %s/<test>/%s (heapmark report reads them)"
                % (self.directory, result_file("PROFILE"))
            )

    def pytest_unconfigure(self, config):
        # The profiles of tests over their limits stay (their failure names them).
        if self.scratch and not os.listdir(self.scratch):
            os.rmdir(self.scratch)


class CallTracking:
    """The hooks around each test's call, registered with HeapmarkTests only
    once a collected test asks (or --heapmark): a hook wrapper is a generator
    alive during every call."""

    def __init__(self, tests):
        self.tests = tests

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        yield from self.tests.runtest_call(item)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        yield from self.tests.runtest_makereport(item, call)


def _line_rows(top, peak):
    """Rows of a table of top lines (Tracker.top()), shares of `peak`."""
    rows = []
    for entry in top:
        share = 100.0 * entry["bytes"] / peak if peak else 0.0
        rows.append(
            "%10s  %3.0f%%  %s (%s:%d)"
            % (size_text(entry["bytes"]), share, entry["function"], entry["file"], entry["line"])
        )
        if entry.get("source"):
            rows.append("                   %s" % entry["source"])
        kinds = entry.get("kinds") or []
        total = sum(k["bytes"] for k in kinds)
        if total:
            rows.append(
                "                   kinds: "
                + ", ".join(
                    "%.0f%% %s" % (100.0 * k["bytes"] / total, k["kind"]) for k in kinds[:3]
                )
            )
    return rows


LIBRARY_MARKERS = ("/site-packages/", "/dist-packages/", "/lib/python3", "(<frozen")


def _program_frame(stack):
    """The innermost frame of a folded stack in the program's own code (the
    frame a report credits), else the innermost."""
    frames = stack.split(";")
    for frame in reversed(frames):
        if not frame.startswith("[") and not any(m in frame for m in LIBRARY_MARKERS):
            return frame
    return frames[-1]


def _end_stacks(profile):
    from heapmark import _heapmark

    text = _heapmark.export(profile, "folded", "end", None).decode("utf-8", "replace")
    for line in text.splitlines():
        stack, _, value = line.rpartition(" ")
        if stack and value.isdigit():
            yield stack, int(value)


_noted = set()


def _note_once(message):
    if message not in _noted:
        _noted.add(message)
        sys.stderr.write(message + "\n")
