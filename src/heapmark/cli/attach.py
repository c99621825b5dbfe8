"""``heapmark attach PID``: tracking inside a Python process that is running
already, then its reports; ``heapmark attach --census PID``: its census.

The process is reached with gdb (heapmark.cli.inject); inside it, the
bootstrap below loads heapmark and calls heapmark.attach_target, which
starts and stops the same in-process tracking as heapmark.start() and
heapmark.stop() (docs/in-process.md).  The process writes profile.db; this
command renders the reports from it, as heapmark run does, so that the
process spends no time on them.  See docs/attach.md.
"""

import os
import shutil
import signal
import sys
import tempfile
import time

from heapmark.cli.common import (
    UsageError,
    check_writable,
    parse_html_min,
    parse_int,
    parse_seconds,
    parse_size,
    process_id,
    result_list,
    say,
    write_stdout,
)
from heapmark.cli.inject import SUPPORTED, InjectionError, Target, check_target, find_gdb, inject
from heapmark.cli.options import FLAG, VALUE, parse

DEFAULT_SAMPLE_RATE = 64 * 1024

# How long a queued injection may wait for the process to reach its next
# bytecode (a main thread busy in one long C call, say) before giving up.
ANSWER_TIMEOUT_S = 30.0
WAITING_NOTE_S = 2.0


OPTIONS = (
    (("-o", "--output"), "output", VALUE, None),
    (("--duration",), "duration", VALUE, parse_seconds),
    (("--exact",), "exact", FLAG, True),
    (("--sample-rate",), "rate", VALUE, parse_size),
    (("--seed",), "seed", VALUE, parse_int),
    (("--top",), "top", VALUE, parse_int),
    (("--html-min-bytes",), "html_min", VALUE, parse_html_min),
    (("-q", "--quiet"), "quiet", FLAG, True),
    (("--census",), "census", FLAG, True),
    (("--json",), "json", VALUE, None),
)

DEFAULTS = {
    "output": None,
    "duration": None,
    "exact": False,
    "rate": DEFAULT_SAMPLE_RATE,
    "seed": 0,
    "top": None,
    "html_min": (-1, -1.0),
    "quiet": False,
    "census": False,
    "json": None,
}

TRACKING_ONLY = ("output", "duration", "exact", "rate", "seed", "html_min", "quiet")

# Runs inside the process (PAGE_CODE in heapmark.cli.inject wraps it), in
# whatever Python that is, so it checks the version before anything else and
# keeps to syntax every Python reads.  It loads heapmark from this
# installation (without touching sys.path) when the process's interpreter
# can load this installation's engine, else the process's own heapmark.
BOOTSTRAP = r'''
def _heapmark_attach(params):
    import os
    import sys

    status = params["status"]

    def answer(result):
        try:
            import json

            partial = status + ".partial"
            with open(partial, "w") as f:
                json.dump(result, f)
            os.rename(partial, status)
        except BaseException:
            pass

    if not os.path.isdir(os.path.dirname(status)):
        return  # heapmark attach gave up waiting and took its directory away
    try:
        version = "%d.%d.%d" % tuple(sys.version_info[:3])
        if not (3, 9) <= tuple(sys.version_info[:2]) <= (3, 13):
            answer({"error": "version", "python": version, "executable": sys.executable})
            return
        if "heapmark" not in sys.modules:
            import importlib.machinery

            if params["suffix"] in importlib.machinery.EXTENSION_SUFFIXES:
                import importlib.util

                package = params["package"]
                spec = importlib.util.spec_from_file_location(
                    "heapmark",
                    os.path.join(package, "__init__.py"),
                    submodule_search_locations=[package],
                )
                module = importlib.util.module_from_spec(spec)
                sys.modules["heapmark"] = module
                try:
                    spec.loader.exec_module(module)
                except BaseException:
                    del sys.modules["heapmark"]
                    raise
            else:
                try:
                    import heapmark  # noqa: F401  the process's own
                except ImportError:
                    answer({"error": "mismatch", "python": version, "executable": sys.executable})
                    return
        from heapmark import attach_target

        answer(getattr(attach_target, params["action"])(params))
    except BaseException as exc:
        answer({"error": "failed", "message": "%s: %s" % (type(exc).__name__, exc)})


_heapmark_attach(@PARAMS@)
'''


class Session:
    """One heapmark attach: the process, gdb, a private directory for the
    process's answers, and Ctrl-C held back while code runs in the process."""

    def __init__(self, target, gdb):
        from heapmark import _heapmark

        self.target = target
        self.gdb = gdb
        self.workdir = tempfile.mkdtemp(prefix="heapmark-attach-")
        share_with(target, self.workdir)
        engine = os.path.abspath(_heapmark.__file__)
        self.package = os.path.dirname(engine)
        self.suffix = os.path.basename(engine)[len("_heapmark") :]
        self.stop_requested = False
        self.queued_page = None  # a page a queued injection left mapped

    def close(self):
        shutil.rmtree(self.workdir, ignore_errors=True)

    def request_stop(self, signum, frame):
        self.stop_requested = True

    def run(self, action, **params):
        """Runs heapmark.attach_target.<action>(params) in the process; its answer."""
        status = os.path.join(self.workdir, action + ".json")
        params.update(
            action=action,
            status=status,
            package=self.package,
            suffix=self.suffix,
            attacher=os.getpid(),
        )
        source = BOOTSTRAP.replace("@PARAMS@", repr(params))
        unmap, self.queued_page = self.queued_page, None
        try:
            injection = inject(self.gdb, self.target, source, unmap)
        except InjectionError as exc:
            raise UsageError(str(exc)) from None
        if injection.route == "queued":
            self.queued_page = injection.page
            return self.wait_for(status)
        answer = read_answer(status)
        if answer is None:
            raise UsageError(
                "process %d ran heapmark's code but left no answer in %s: does it see "
                "the same /tmp (another container, systemd's PrivateTmp)?"
                % (self.target.pid, self.workdir)
            )
        return answer

    def wait_for(self, status):
        """The answer of a queued injection, which runs when the process's
        main thread next runs a bytecode."""
        started = time.monotonic()
        noted = False
        while True:
            answer = read_answer(status)
            if answer is not None:
                return answer
            if not self.target.alive():
                raise UsageError("process %d ended before it ran heapmark's code" % self.target.pid)
            waited = time.monotonic() - started
            if waited > ANSWER_TIMEOUT_S:
                # Taking the directory away cancels the queued code: it
                # checks for it first.
                self.close()
                raise UsageError(
                    "process %d ran no Python code for %.0f s after the injection (its "
                    "main thread is busy in C code, waits on a lock, or is stopped): "
                    "nothing was done in it" % (self.target.pid, waited)
                )
            if waited > WAITING_NOTE_S and not noted:
                say(
                    "waiting for process %d to run Python code (its main thread is in C "
                    "code, or waits on a lock)" % self.target.pid
                )
                noted = True
            time.sleep(0.01)


def read_answer(path):
    import json

    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def share_with(target, path):
    """A directory made by root for a process of another user: the process
    must write into it."""
    if os.geteuid() == 0 and target.uid != 0:
        os.chown(path, target.uid, target.gid)


def refuse(target, answer):
    """The process's answer as one line, when it is not a success."""
    kind = answer.get("error")
    if kind == "version":
        raise UsageError(
            "process %s runs Python %s; heapmark supports CPython %d.%d to %d.%d"
            % ((target.describe(), answer["python"]) + SUPPORTED[0] + SUPPORTED[1])
        )
    if kind == "mismatch":
        raise UsageError(
            "process %d runs CPython %s (%s), and this heapmark's engine is built for "
            "CPython %d.%d (%s): install heapmark into the process's Python "
            "('%s -m pip install heapmark') and run that heapmark attach"
            % (
                target.pid,
                answer["python"],
                answer["executable"],
                sys.version_info[0],
                sys.version_info[1],
                sys.executable,
                answer["executable"],
            )
        )
    raise UsageError(answer.get("message") or "process %d: %s" % (target.pid, kind))


def main(args):
    opts, positional = parse(
        args,
        "attach",
        OPTIONS,
        DEFAULTS,
        max_positional=1,
        too_many="heapmark attach takes one process id, not also '%s'",
    )
    pid = process_id(
        positional, "attach", "which process? heapmark attach PID (see heapmark --help)"
    )
    if opts["census"]:
        given = [key for key in TRACKING_ONLY if opts[key] != DEFAULTS[key]]
        if given:
            raise UsageError("--census takes a census only: it has no --%s" % given[0])
    elif opts["json"] is not None:
        raise UsageError("--json goes with --census (the tracking's JSON: heapmark report --json)")
    if pid == os.getpid() or pid == os.getppid():
        raise UsageError("heapmark attach cannot attach to itself or to its parent (%d)" % pid)
    target = Target(pid)
    check_target(target)
    session = Session(target, find_gdb())
    try:
        if opts["census"]:
            return take_census(session, opts)
        return track(session, opts)
    finally:
        session.close()


def take_census(session, opts):
    if opts["json"] is not None:
        check_writable(opts["json"])
    answer = session.run("census", top=10 if opts["top"] is None else opts["top"])
    if not answer.get("ok"):
        refuse(session.target, answer)
    write_stdout((answer["table"] + "\n").encode())
    if opts["json"] is not None:
        with open(opts["json"], "w") as f:
            f.write(answer["json"])
    return 0


def results_directory(requested, target):
    """Like heapmark run's: DIR, or heapmark-results/<timestamp>-<pid>/;
    absolute, since the process has a working directory of its own."""
    from heapmark.cli.run import prepare_output

    directory = prepare_output(requested)
    if requested is None:
        directory = "%s-%d" % (directory, target.pid)
        os.makedirs(directory, exist_ok=True)
    directory = os.path.abspath(directory)
    share_with(target, directory)
    return directory


def track(session, opts):
    target = session.target
    directory = results_directory(opts["output"], target)
    # Ctrl-C (and SIGTERM, SIGHUP) stop the tracking, but never in the middle
    # of an injection: they are noted and acted on between them.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, session.request_stop)
    answer = session.run(
        "start",
        directory=directory,
        exact=opts["exact"],
        rate=DEFAULT_SAMPLE_RATE if opts["rate"] is None else opts["rate"],
        seed=opts["seed"],
    )
    if not answer.get("ok"):
        refuse(target, answer)
    mode = (
        "every allocation"
        if opts["exact"]
        else "sampled every %s" % human_bytes(opts["rate"] or DEFAULT_SAMPLE_RATE)
    )
    span = (
        "for %g s (Ctrl-C stops sooner)" % opts["duration"] if opts["duration"] else "until Ctrl-C"
    )
    if not opts["quiet"]:
        say(
            "tracking process %d (%s, CPython %s), %s, %s"
            % (target.pid, answer["executable"], answer["python"], mode, span)
        )
    ended = wait(session, opts["duration"])
    stopped = None
    if not ended:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the stop must finish
        try:
            stopped = session.run("stop")
        except UsageError:
            if target.alive():
                raise
            ended = True
        if stopped is not None and not stopped.get("ok"):
            refuse(target, stopped)
    return report(session, opts, directory, answer["profile"], ended)


def wait(session, duration):
    """Until the duration, a stop signal, or the end of the process; True
    if the process ended."""
    deadline = None if duration is None else time.monotonic() + duration
    while not session.stop_requested:
        if not session.target.alive():
            return True
        if deadline is not None and time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    return False


def report(session, opts, directory, profile, ended):
    from heapmark import _heapmark

    pid = session.target.pid
    if ended:
        if not os.path.exists(profile):
            say(
                "process %d ended before the stop, and before its first checkpoint: "
                "no profile" % pid
            )
            return 2
        say("process %d ended before the stop: the reports show what it wrote last" % pid)
    top = 5 if opts["top"] is None else opts["top"]
    try:
        summary, status, duration = _heapmark.write_reports(
            [profile], directory, top, 0, *opts["html_min"]
        )
    except _heapmark.ProfileError as exc:
        raise UsageError(str(exc)) from None
    if ended and status == "checkpoint":
        say("(its last checkpoint, %.1f s into the tracking)" % duration)
    if not opts["quiet"]:
        sys.stderr.write(summary)
        say(
            "results in %s/ (%s)"
            % (directory, result_list("REPORT_HTML", "PEAK_SVG", "PEAK_TXT", "PROFILE"))
        )
        if not ended:
            say("process %d left running, heapmark's hooks removed" % pid)
    return 0


def human_bytes(n):
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return ("%d %s" if unit == "bytes" else "%.1f %s") % (n, unit)
        n /= 1024.0
    return "%d" % n
