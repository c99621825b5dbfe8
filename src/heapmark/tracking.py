"""In-process tracking: heapmark.track(), heapmark.start() and heapmark.stop().

The engine (heapmark._heapmark, csrc/run/in_process.c) does the work: it
clears its tables, installs the Python allocator hooks and redirects every
loaded object's malloc-family relocations to its hooks, and puts them back at
the stop.  This module only picks the directory, parses the options, keeps
the one tracker that may be active, and reads the results back.

    with heapmark.track("results", exact=False, sample_rate="64K") as t:
        df = load_and_join()
    t.peak_bytes, t.end_bytes, t.top(5), t.profile
"""

import atexit
import json
import os
import sys
import threading

DEFAULT_SAMPLE_RATE = 65536
CHECKPOINT_SECONDS = 5

_lock = threading.Lock()
_active = None  # the Tracker started and not yet stopped
_noted_under_run = False


def _engine():
    from heapmark import _heapmark

    return _heapmark


def _error(message):
    return _engine().TrackingError(message)


def _parse_rate(sample_rate, exact):
    if exact:
        return 1
    if isinstance(sample_rate, bool):
        raise _error("sample_rate must be a number of bytes such as 65536 or '64K'")
    if isinstance(sample_rate, int):
        if sample_rate < 1:
            raise _error("sample_rate must be at least 1 byte")
        return sample_rate
    from heapmark.cli.common import UsageError, parse_size

    try:
        return parse_size(str(sample_rate), "sample_rate")
    except UsageError as e:
        raise _error(str(e)) from None


def _parse_kinds(kinds):
    """True: walks for kinds may take 10% of the span's time (a span is short
    and looked at on purpose; heapmark run's default is 1%, to be left on);
    False: none; a number: that percent."""
    if kinds is True:
        return 10.0
    if kinds is False or kinds is None:
        return 0.0
    if isinstance(kinds, (int, float)) and 0 <= kinds <= 100:
        return float(kinds)
    raise _error("kinds must be True, False or a percent of the span's time (0-100)")


def _prepare_directory(directory):
    """The directory, made if needed and checked writable: a profile that
    cannot be written must fail now, not at the stop."""
    from heapmark.cli.common import result_file, result_series

    if directory is None:
        directory = result_file("DEFAULT_DIR")
    directory = os.path.abspath(os.fspath(directory))
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as e:
        raise _error("cannot create %s: %s" % (directory, e.strerror or e)) from None
    if not os.path.isdir(directory):
        raise _error("%s is not a directory" % directory)
    probe = os.path.join(directory, "%s%d" % (result_series("WRITE_TEST")[0], os.getpid()))
    try:
        with open(probe, "w"):
            pass
        os.unlink(probe)
    except OSError as e:
        raise _error("cannot write in %s: %s" % (directory, e.strerror or e)) from None
    return directory


def _caller():
    """'file:line' of the code that called into this module, for messages."""
    frame = sys._getframe(1)
    here = os.path.dirname(os.path.abspath(__file__))
    while frame and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == here:
        frame = frame.f_back
    return "%s:%d" % (frame.f_code.co_filename, frame.f_lineno) if frame else "?"


class Tracker:
    """One tracked span: its options while it runs, its results once stopped.

    After the stop:
      peak_bytes  exact peak of the memory allocated during the span and
                  still held (native heap, mappings, Python objects)
      end_bytes   what of it was still allocated at the stop
      duration_s, peak_at_s  seconds from the start
      profile     path of the profile.db (the same SQLite profile as
                  ``heapmark run`` writes: every report, export and diff
                  reads it); None under ``heapmark run`` or in a forked child
      directory   where the profile and the reports are
      top(n)      the n lines that held the most memory at the peak
    """

    def __init__(self, directory, exact, sample_rate, seed, reports, kinds=True):
        self.directory = directory
        self._kinds = _parse_kinds(kinds)
        self.exact = bool(exact)
        self._rate = sample_rate
        self._seed = seed
        self._reports = reports
        self.sample_rate = 1 if exact else None
        self.profile = None
        self.peak_bytes = None
        self.end_bytes = None
        self.duration_s = None
        self.peak_at_s = None
        self.overhead_bytes = None
        self.started_at = None
        self.running = False
        self._phase = None

    # -- the span ------------------------------------------------------------

    def _start(self):
        global _active, _noted_under_run
        engine = _engine()
        state = engine._track_state()
        self.started_at = _caller()
        if state["preloaded"]:
            # heapmark run profiles the whole process already: the span
            # becomes a phase on its timeline, and the figures are the run's.
            if not _noted_under_run:
                sys.stderr.write(
                    "heapmark: heapmark run is profiling this process already; "
                    "track() marks a phase on its timeline instead\n"
                )
                _noted_under_run = True
            from heapmark import phase

            self._phase = phase("heapmark.track")
            self._phase.__enter__()
            self.running = True
            return self
        rate = _parse_rate(self._rate, self.exact)
        self.sample_rate = rate
        with _lock:
            if _active is not None:
                raise _error(
                    "heapmark is tracking already (started at %s); stop it first, "
                    "or use one track() at a time" % _active.started_at
                )
            directory = _prepare_directory(self.directory)
            from heapmark.cli.common import result_file

            profile = os.path.join(directory, result_file("PROFILE"))
            engine._track_start(
                profile, rate, int(self._seed or 0), CHECKPOINT_SECONDS, self._kinds
            )
            self.directory = directory
            self.running = True
            _active = self
        self._pending_profile = profile
        return self

    def _stop(self):
        global _active
        if self._phase is not None:
            self._phase.__exit__(None, None, None)
            self._phase = None
            self.running = False
            return self
        with _lock:
            if _active is not self:
                raise _error("this tracker is not running")
            _active = None
            self.running = False
            status, figures = _engine()._track_stop()
        if status != "written":
            sys.stderr.write(
                "heapmark: tracking started in another process (this one is a "
                "forked child); nothing written here\n"
            )
            return self
        self.profile = self._pending_profile
        for name, value in figures.items():
            setattr(self, name, value)
        if self._reports:
            self.write_reports()
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.running:
            self._stop()
        return False

    # -- results -------------------------------------------------------------

    def _profile_or_raise(self):
        if self.running:
            raise _error("the tracker is still running: its results come at the stop")
        if self.profile is None:
            raise _error("this tracker wrote no profile (under heapmark run, or a forked child)")
        return self.profile

    def write_reports(self, directory=None):
        """Renders the reports heapmark run writes (report.html, peak.svg,
        peak.txt, ...) into directory (default: the tracker's)."""
        engine = _engine()
        engine.write_reports(self._profile_or_raise(), directory or self.directory)
        return directory or self.directory

    def top(self, n=5):
        """The n lines holding the most memory at the peak: a list of dicts
        with function, file, line, bytes, share (of the peak), source."""
        report = json.loads(_engine().summary_json(self._profile_or_raise(), int(n)))
        return report["top"][: int(n)]

    def lines(self, file, text=False):
        """One source file line by line, as ``heapmark report --lines``
        computes it: a dict with "lines" (line, peak_bytes, allocated_bytes,
        allocations, source; only lines that allocated or held memory, their
        callees included) and "functions"; with text=True, the text that
        ``heapmark report --lines`` prints."""
        engine = _engine()
        try:
            out = engine.source_lines(self._profile_or_raise(), file, not text)
        except engine.ProfileError as e:
            raise _error(str(e)) from None
        return out if text else json.loads(out)

    def summary(self, n=5):
        """The text summary ``heapmark report`` prints."""
        return _engine().summary(self._profile_or_raise(), int(n))

    def __repr__(self):
        if self.running:
            return "<heapmark.Tracker running since %s>" % self.started_at
        if self.peak_bytes is None:
            return "<heapmark.Tracker, no profile>"
        return "<heapmark.Tracker peak %d bytes, end %d bytes, %s>" % (
            self.peak_bytes,
            self.end_bytes,
            self.profile,
        )


def track(
    directory=None, exact=False, sample_rate=DEFAULT_SAMPLE_RATE, seed=0, reports=True, kinds=True
):
    """Tracks the memory allocated inside a ``with`` block (results in
    ``directory``, by default heapmark-results/ in the current directory)::

        with heapmark.track("results") as t:
            work()
        print(t.peak_bytes, t.top(5))

    exact: record every allocation (slower); otherwise one sample per
    ``sample_rate`` bytes allocated on average (per-line figures are
    unbiased estimates; totals are exact either way).  seed: a fixed seed
    makes sampling repeatable.  reports: render report.html and the others
    into the directory at the stop.  kinds: walk the heap to tell the peak's
    bytes by kind of object (False for many short spans: a walk pauses the
    program for tens of nanoseconds per object, docs/kinds.md).
    """
    return Tracker(directory, exact, sample_rate, seed, reports, kinds)._start()


def start(
    directory=None, exact=False, sample_rate=DEFAULT_SAMPLE_RATE, seed=0, reports=True, kinds=True
):
    """Starts tracking, for code that cannot use ``with``; returns the
    Tracker that heapmark.stop() stops."""
    return track(directory, exact, sample_rate, seed, reports, kinds)


def stop():
    """Stops the tracking heapmark.start() began; returns its Tracker."""
    tracker = _active
    if tracker is None:
        raise _error("heapmark.stop(): nothing is being tracked (heapmark.start() was not called)")
    return tracker._stop()


def active():
    """The running Tracker, or None."""
    return _active


@atexit.register
def _stop_at_exit():
    # A start without a stop: the profile is written as the program ends.
    if _active is not None:
        try:
            _active._stop()
        except Exception as e:  # never a traceback at exit
            sys.stderr.write("heapmark: error: %s\n" % e)
