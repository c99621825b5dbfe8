"""``heapmark run``: the program under the profiler.

It prepares the environment that makes the profiled interpreter load the C
engine (LD_PRELOAD) and the boot module (PYTHONPATH), with the variables of
common/contract.h's HM_ENVIRONMENT, waits for the program, and asks the
engine to render the reports: as soon as the program's engine says its
final profile is written (run/done_signal.c), while the interpreter tears
down, though nothing is printed before the program has exited.  Every
millisecond of start-up is paid by every profiled run: nothing here imports
argparse, re, json or subprocess.
"""

import os
import sys
import time

try:
    import _signal as signal  # what `signal` wraps, without its 3 ms of enum set-up
except ImportError:  # pragma: no cover - other implementations
    import signal

import heapmark
from heapmark.cli.common import (
    UsageError,
    env_name,
    env_names,
    parse_html_min,
    parse_int,
    parse_size,
    result_file,
    result_files,
    result_list,
    result_series,
    run_profiles,
    say,
)
from heapmark.cli.options import FLAG, VALUE, parse

DEFAULT_SAMPLE_RATE = 64 * 1024  # bytes; chosen by bench/ (docs/performance.md)


def parse_timeline(text, option):
    value = parse_int(text, option)
    if value > 60000:
        raise UsageError("--timeline-interval: at most 60000 ms")
    return value


def parse_kinds_time(text, option):
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        value = -1.0
    if not 0 <= value <= 100:
        raise UsageError("%s: a percentage from 0 to 100, not '%s'" % (option, text))
    return value


OPTIONS = (
    (("-o", "--output"), "output", VALUE, None),
    (("--exact",), "exact", FLAG, True),
    (("--sample-rate",), "rate", VALUE, parse_size),
    (("--seed",), "seed", VALUE, parse_int),
    (("--checkpoint",), "checkpoint", VALUE, parse_int),
    (("--memory-limit",), "memory_limit", VALUE, parse_size),
    (("--timeline-interval",), "timeline", VALUE, parse_timeline),
    (("--no-follow",), "follow", FLAG, "none"),
    (("--follow-exec",), "follow", FLAG, "fork,spawn,exec"),
    (("--top",), "top", VALUE, parse_int),
    (("--html-min-bytes",), "html_min", VALUE, parse_html_min),
    (("--no-kinds",), "kinds", FLAG, 0.0),
    (("--kinds-time",), "kinds", VALUE, parse_kinds_time),
    (("--native",), "native", FLAG, True),
    (("--keep-allocators",), "keep_allocators", FLAG, True),
    (("-q", "--quiet"), "quiet", FLAG, True),
)

DEFAULTS = {
    "output": None,
    "exact": False,
    "rate": DEFAULT_SAMPLE_RATE,
    "seed": 0,
    "top": 5,
    "quiet": False,
    "checkpoint": 5,
    "follow": "fork,spawn",
    "memory_limit": 0,
    "timeline": 10,
    "html_min": (-1, -1.0),
    "kinds": 1.0,
    "native": False,
    "keep_allocators": False,
}

# pyarrow's documented switch from its own pool (mimalloc or jemalloc, whose
# arenas heapmark sees only as mmaps of up to 1 GiB) to malloc, which heapmark
# sees block by block: docs/performance.md, "Libraries with their own allocators".
ARROW_POOL = "ARROW_DEFAULT_MEMORY_POOL"


def parse_run(args):
    return parse(args, "run", OPTIONS, DEFAULTS, program=True)


def remove_results(directory):
    """Results of an earlier run in directory, so that none is taken for this one's."""
    earlier = result_files("PROFILE", "REPORT")
    prefix, suffix = result_series("CHILD_PROFILE")
    directories = (result_series("SNAPSHOT")[0], result_series("OUT_OF_MEMORY")[0])
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if name in earlier or (name.startswith(prefix) and name.endswith(suffix)):
            os.remove(path)
        elif name.startswith(directories) and os.path.isdir(path):
            import shutil  # only here: importing it costs every run 2 ms

            shutil.rmtree(path)


def prepare_output(requested):
    """Creates the results directory (or checks it) before the program runs, and
    removes results of an earlier run there, so that they cannot be taken for
    this run's."""
    default = result_file("DEFAULT_DIR")
    if requested is not None:
        directory = requested
    else:
        directory = os.path.join(default, time.strftime("%Y%m%d-%H%M%S"))
    try:
        os.makedirs(requested or default, exist_ok=True)
        probe_dir = requested or default
        probe = os.path.join(probe_dir, "%s%d" % (result_series("WRITE_TEST")[0], os.getpid()))
        with open(probe, "w"):
            pass
        os.remove(probe)
        if requested is not None:
            remove_results(requested)
    except FileExistsError:
        raise UsageError(
            "cannot use '%s' as the output directory: it is a file" % (requested or default)
        ) from None
    except OSError as exc:
        raise UsageError(
            "cannot write to output directory '%s': %s" % (requested or default, exc.strerror)
        ) from None
    return directory


def engine_path():
    from heapmark import _heapmark

    return _heapmark.__file__


def child_environment(opts, profile_template, command):
    """The program's environment: the caller's, less the engine's variables
    (RUN and CHILD in common/contract.h; csrc/run/engine.c reads them and
    removes them before the program starts), plus this run's."""
    env = dict(os.environ)
    boot = os.path.join(os.path.dirname(os.path.abspath(heapmark.__file__)), "_boot")
    for name in env_names("RUN", "CHILD"):
        env.pop(name, None)
    if "LD_PRELOAD" in env:
        env[env_name("PRELOAD")] = env["LD_PRELOAD"]
        env["LD_PRELOAD"] = engine_path() + (":" + env["LD_PRELOAD"] if env["LD_PRELOAD"] else "")
    else:
        env["LD_PRELOAD"] = engine_path()
    if "PYTHONPATH" in env:
        env[env_name("PYTHONPATH")] = env["PYTHONPATH"]
        env["PYTHONPATH"] = boot + (os.pathsep + env["PYTHONPATH"] if env["PYTHONPATH"] else "")
    else:
        env["PYTHONPATH"] = boot
    env[env_name("PROFILE")] = profile_template
    env[env_name("RATE")] = "1" if opts["exact"] else str(opts["rate"])
    env[env_name("SEED")] = str(opts["seed"])
    env[env_name("CHECKPOINT")] = str(opts["checkpoint"])
    env[env_name("FOLLOW")] = opts["follow"]
    env[env_name("BOOT")] = boot
    if opts["memory_limit"]:
        env[env_name("MEMORY_LIMIT")] = str(opts["memory_limit"])
    env[env_name("TIMELINE_MS")] = str(opts["timeline"])
    env[env_name("KINDS")] = repr(opts["kinds"])
    env[env_name("NATIVE")] = "1" if opts["native"] else "0"
    if ARROW_POOL in env:
        env[env_name("ALLOCATORS")] = "caller"
    elif opts["keep_allocators"]:
        env[env_name("ALLOCATORS")] = "kept"
    else:
        env[ARROW_POOL] = "system"
        env[env_name("ALLOCATORS")] = "set"
    env[env_name("COMMAND")] = command
    return env


SAFE_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-")


def display_command(target):
    """The command as a shell would need it typed."""
    words = ["python"] + target
    return " ".join(
        w if w and set(w) <= SAFE_WORD else "'%s'" % w.replace("'", "'\\''") for w in words
    )


def start_program(target, env):
    """Starts the program; its pid, and the read end of the pipe on which its
    engine says its final profile is written (run/done_signal.c), or None."""
    try:
        done_read, done_write = os.pipe()
        os.set_inheritable(done_write, True)
        env[env_name("DONE_FD")] = str(done_write)
    except OSError:
        done_read = done_write = None
    try:
        pid = os.posix_spawn(sys.executable, [sys.executable] + target, env)
    except OSError as exc:
        raise UsageError("cannot start %s: %s" % (sys.executable, exc.strerror)) from None
    finally:
        if done_write is not None:
            os.close(done_write)
    return pid, done_read


def profile_is_final(pid, done_read):
    """Waits until the program's engine says its final profile is written
    (True), or the program ends without saying so (False); closes done_read.
    The program's own exit is watched too (a pidfd), so that a process
    holding a copy of the pipe cannot keep heapmark waiting after the
    program has ended."""
    try:
        import select

        exited = os.pidfd_open(pid)
    except (ImportError, AttributeError, OSError):  # before Linux 5.3: wait for the exit
        os.close(done_read)
        return False
    try:
        ready, _, _ = select.select([done_read, exited], [], [])
        return done_read in ready and os.read(done_read, 1) == b"F"
    finally:
        os.close(exited)
        os.close(done_read)


def wait_forwarding_signals(pid, done_read=None, when_final=None):
    """Waits for the program; returns its exit code, or -N if signal N killed
    it.  Ctrl-C reaches it directly (same process group); signals sent to
    heapmark itself are passed on.  If the program's engine says its final
    profile is written before it exits, when_final() runs then, while the
    interpreter tears down."""
    forwarded = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)
    previous = {}

    def forward(signum, frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
    for s in forwarded:
        previous[s] = signal.signal(s, forward)
    try:
        if done_read is not None and profile_is_final(pid, done_read):
            when_final()
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


NATIVE_LIBRARIES = (("libunwind.so.8", "libunwind8"), ("libdw.so.1", "libdw1"))


def check_native_libraries():
    """--native loads libunwind (to unwind) and libdw (to name frames) into the
    program; say which is missing before the program starts."""
    import ctypes

    for soname, package in NATIVE_LIBRARIES:
        try:
            ctypes.CDLL(soname)
        except OSError:
            raise UsageError(
                "--native needs %s, which is not installed (on Debian: apt-get install %s)"
                % (soname, package)
            ) from None


def main(args):
    opts, target = parse_run(args)
    if opts["native"]:
        check_native_libraries()
    allocator = os.environ.get("PYTHONMALLOC", "")
    if allocator and allocator not in ("malloc", "malloc_debug"):
        say(
            "note: PYTHONMALLOC=%s replaces heapmark's Python allocator hooks while the "
            "interpreter starts; objects allocated before the program starts are counted "
            "per arena" % allocator
        )
    directory = prepare_output(opts["output"])
    if opts["output"] is None:
        template = directory + "-%p"
    else:
        template = directory
    env = child_environment(
        opts,
        os.path.abspath(os.path.join(template, result_file("PROFILE"))),
        display_command(target),
    )
    sys.stdout.flush()
    sys.stderr.flush()
    pid, done_read = start_program(target, env)
    if opts["output"] is None:
        directory = template.replace("%p", str(pid))
        os.makedirs(directory, exist_ok=True)
    try:
        # Loaded while the program runs (SQLite and all: about 1 ms), not
        # after; finish_run says what went wrong if it cannot be.
        from heapmark import _heapmark  # noqa: F401
    except ImportError:
        pass
    rendered = []

    def render_while_it_exits():
        try:
            rendered.append(render_reports(directory, opts))
        except Exception:  # noqa: BLE001 - rendered again after the exit, which says why
            pass

    returncode = wait_forwarding_signals(pid, done_read, render_while_it_exits)
    complete = finish_run(directory, opts, returncode, rendered[0] if rendered else None)
    if returncode == 0 and not complete:
        return 2  # the program succeeded; heapmark did not (said why)
    if returncode < 0:
        # Die of the same signal, so that callers see what the program did.
        sys.stderr.flush()
        if -returncode != signal.SIGKILL:
            signal.signal(-returncode, signal.SIG_DFL)
        # The program dumped core if it was to; heapmark run's own would be noise.
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.kill(os.getpid(), -returncode)
        return 128 - returncode
    return returncode


def render_reports(directory, opts):
    """Writes the reports, printing nothing: (summary, status, duration), or
    None if the run's final profile is missing, or the reader's error."""
    from heapmark import _heapmark

    profiles = run_profiles(directory)
    if not profiles or not profiles[0].endswith(os.sep + result_file("PROFILE")):
        return None
    try:
        return _heapmark.write_reports(profiles, directory, opts["top"], 0, *opts["html_min"])
    except _heapmark.ProfileError as exc:
        return exc


def finish_run(directory, opts, returncode, rendered=None):
    """Writes the reports (unless rendered, while the program exited, holds
    them) and prints the summary; False if the run's final profile is missing."""
    if rendered is None:
        rendered = render_reports(directory, opts)
    if rendered is None:
        if returncode < 0:
            say("no profile was written: the program was killed before its first checkpoint")
        else:
            # The engine said why (a full disk, say), if it had the chance.
            say("error: no profile was written to %s/" % directory)
        return False
    if isinstance(rendered, Exception):
        say("error: %s" % rendered)
        return False
    summary, status, duration = rendered
    if not opts["quiet"]:
        sys.stderr.write(summary)
    complete = status != "checkpoint"
    if not complete and returncode >= 0:
        say(
            "error: the final profile could not be written: the reports show the last "
            "checkpoint, %.1f s into the run" % duration
        )
    if returncode == -signal.SIGKILL:
        # Said even with -q: the reports are not of the program's last moment.
        say(
            "the program was killed by SIGKILL (kill -9, or the kernel's out-of-memory "
            "killer): the reports show %s, %.1f s into the run"
            % ("its last checkpoint" if status == "checkpoint" else "its profile", duration)
        )
    if not opts["quiet"]:
        say(
            "results in %s/ (%s)"
            % (directory, result_list("REPORT_HTML", "PEAK_SVG", "PEAK_TXT", "PROFILE"))
        )
        for name in sorted(os.listdir(directory)):
            if name.startswith(result_series("OUT_OF_MEMORY")[0]):
                say("out-of-memory report in %s/" % os.path.join(directory, name))
    return complete
