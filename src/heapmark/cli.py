"""The ``heapmark`` command: ``run`` a program under the profiler, ``report``
on a stored profile, ``export`` it to other tools' formats, ``diff`` two.

This is the thin Python skin: it parses options, prepares the environment
that makes the profiled interpreter load the C engine (LD_PRELOAD) and the
boot module (PYTHONPATH), waits for the program, and asks the engine to
render the reports.  Every message goes to stderr, prefixed ``heapmark: ``;
bad input ends with one line and exit status 2.
"""
import os
import sys
import time

try:
    import _signal as signal     # what `signal` wraps, without its 3 ms of enum set-up
except ImportError:              # pragma: no cover - other implementations
    import signal

import heapmark

# Imported lazily where used (json), or not at all (re, subprocess): every
# millisecond of start-up is paid by every profiled run.

DEFAULT_SAMPLE_RATE = 64 * 1024   # bytes; chosen by bench/ (docs/performance.md)

USAGE = """\
usage: heapmark run [options] script.py [args...]
       heapmark run [options] -m module [args...]
       heapmark run [options] -c code [args...]
       heapmark report PROFILE.db [-o DIR] [--json] [--top N]
       heapmark census [--top N] [--json FILE] script.py | -m module | -c code [args...]
       heapmark export PROFILE.db --format FORMAT [--snapshot SNAPSHOT] [-o FILE]
       heapmark diff BASE.db NEW.db [-o DIR] [--top N] [--snapshot SNAPSHOT]

heapmark run options:
  -o, --output DIR      write the results into DIR (default:
                        heapmark-results/<timestamp>-<pid>/)
  --exact               record every allocation (slower; exact per-line figures)
  --sample-rate BYTES   mean bytes between samples (default 64KiB; suffixes K, M, G)
  --seed N              seed for the sampler, for repeatable runs
  --checkpoint SECONDS  write the profile every SECONDS while the program runs,
                        so that a killed program leaves one (default 5; 0: never)
  --memory-limit SIZE   write an out-of-memory report when tracked memory
                        goes beyond SIZE (e.g. 2G), as heapmark does near
                        the cgroup's limit or when memory runs out
  --timeline-interval MS
                        sample tracked memory and RSS for the timeline every
                        MS milliseconds (default 10; doubled as needed to keep
                        at most 4096 points; 0: no timeline)
  --no-follow           profile only this process, not its forked or spawned
                        children (multiprocessing)
  --follow-exec         also profile every program it starts with exec
                        (subprocess), not only multiprocessing's children
  --top N               lines in the summary printed at exit (default 5)
  --html-min-bytes SIZE report.html folds call-tree nodes smaller than SIZE
                        (bytes, 64K, or a share of each snapshot such as 0.1%)
                        into an "other" node per caller (default: 0.01%,
                        raised until at most 30,000 nodes remain; 0: keep all)
  -q, --quiet           print no summary at exit

heapmark report options:
  -o, --output DIR      write the reports into DIR (default: next to the profile)
  --json                print a machine-readable summary on stdout instead
  --top N               lines in the table printed on stdout (default 10)
  --html-min-bytes SIZE as for heapmark run

heapmark export options:
  --format FORMAT       folded, pprof (gzipped profile.proto for go tool pprof),
                        speedscope or json (the whole tree); guessed from -o's
                        name (.folded, .pb.gz, .speedscope.json, .json) if absent
  --snapshot SNAPSHOT   peak (default), end or allocated; json holds all three
  -o, --output FILE     where to write (default -, stdout)

heapmark diff options (the change from BASE to NEW, by line, on stdout):
  -o, --output DIR      also write DIR/diff.html: a differential flamegraph
                        and the tables
  --top N               lines in each table (default 10)
  --snapshot SNAPSHOT   peak (default), end or allocated

A run's main profile.db brings its child processes' profile-PID.db along
(report, export and diff show them under a [process PID: ...] frame each).

heapmark census options (runs the program in this interpreter, then prints
the census of the objects still alive, Heapy's table, on stdout):
  --top N               rows in the table (default 10; 0: all)
  --json FILE           also write the census as JSON to FILE

Results: profile.db (SQLite, see docs/profile-format.md), report.html
(flamegraph, top lines, timeline: open it in a browser), peak.svg
(flamegraph), peak.txt, peak.folded and end.folded (folded stacks).
"""


class UsageError(Exception):
    """Bad command line or environment: one line, exit status 2."""


def say(message):
    sys.stderr.write("heapmark: %s\n" % message)
    sys.stderr.flush()


SIZE_SUFFIXES = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_size(text, option):
    """'65536', '64K', '64KiB', '1m', '2GB' -> bytes."""
    word = text.strip().lower()
    for unit in ("ib", "b"):
        if word.endswith(unit) and word[:-len(unit)][-1:] in "kmg":
            word = word[:-len(unit)]
            break
    digits = word.rstrip("kmg")
    suffix = word[len(digits):]
    if not digits.strip().isdigit() or suffix not in SIZE_SUFFIXES:
        raise UsageError("%s expects a number of bytes such as 65536 or 64K, not '%s'"
                         % (option, text))
    value = int(digits) * SIZE_SUFFIXES[suffix]
    if value < 1:
        raise UsageError("%s must be at least 1 byte" % option)
    return value


def parse_int(text, option, minimum=0):
    try:
        value = int(text)
    except ValueError:
        raise UsageError("%s expects an integer, not '%s'" % (option, text)) from None
    if value < minimum:
        raise UsageError("%s must be at least %d" % (option, minimum))
    return value


def parse_html_min(text, option):
    """--html-min-bytes: 'auto', a size ('0', '64K') or a share ('0.1%') ->
    (min_bytes, min_share) as write_reports takes them (-1: not given)."""
    word = text.strip()
    if word == "auto":
        return (-1, -1.0)
    if word.endswith("%"):
        try:
            percent = float(word[:-1])
        except ValueError:
            percent = -1.0
        if not 0 <= percent <= 100:
            raise UsageError("%s expects a share between 0%% and 100%%, not '%s'"
                             % (option, text))
        return (-1, percent / 100)
    if word == "0":
        return (0, -1.0)
    return (parse_size(word, option), -1.0)


def take_value(args, i, option):
    if i + 1 >= len(args):
        raise UsageError("option %s needs a value" % option)
    return args[i + 1]


def split_option(arg):
    """'--output=DIR' -> ('--output', 'DIR'); '--exact' -> ('--exact', None)."""
    if arg.startswith("--") and "=" in arg:
        name, value = arg.split("=", 1)
        return name, value
    return arg, None


# ---- heapmark run ------------------------------------------------------------

def parse_run(args):
    opts = {"output": None, "exact": False, "rate": DEFAULT_SAMPLE_RATE, "seed": 0,
            "top": 5, "quiet": False, "checkpoint": 5, "follow": "fork,spawn",
            "memory_limit": 0, "timeline": 10, "html_min": (-1, -1.0)}
    i = 0
    while i < len(args):
        arg = args[i]
        name, inline = split_option(arg)

        def value():
            nonlocal i
            if inline is not None:
                return inline
            v = take_value(args, i, name)
            i += 1
            return v

        if name in ("-h", "--help"):
            sys.stdout.write(USAGE)
            raise SystemExit(0)
        if name in ("-o", "--output"):
            opts["output"] = value()
        elif name == "--exact":
            opts["exact"] = True
        elif name == "--sample-rate":
            opts["rate"] = parse_size(value(), name)
        elif name == "--seed":
            opts["seed"] = parse_int(value(), name)
        elif name == "--checkpoint":
            opts["checkpoint"] = parse_int(value(), name)
        elif name == "--memory-limit":
            opts["memory_limit"] = parse_size(value(), name)
        elif name == "--timeline-interval":
            opts["timeline"] = parse_int(value(), name)
            if opts["timeline"] > 60000:
                raise UsageError("--timeline-interval: at most 60000 ms")
        elif name == "--no-follow":
            opts["follow"] = "none"
        elif name == "--follow-exec":
            opts["follow"] = "fork,spawn,exec"
        elif name == "--top":
            opts["top"] = parse_int(value(), name)
        elif name == "--html-min-bytes":
            opts["html_min"] = parse_html_min(value(), name)
        elif name in ("-q", "--quiet"):
            opts["quiet"] = True
        elif name == "-m":
            return opts, ["-m", value()] + args[i + 1:]
        elif name == "-c":
            return opts, ["-c", value()] + args[i + 1:]
        elif name == "--":
            if i + 1 >= len(args):
                raise UsageError("nothing to run after '--'")
            return opts, check_script(args[i + 1:])
        elif arg.startswith("-") and arg != "-":
            raise UsageError("unknown option '%s' for heapmark run (see heapmark --help)" % arg)
        else:
            return opts, check_script(args[i:])
        i += 1
    raise UsageError("nothing to run: give a script, -m module or -c code (see heapmark --help)")


def check_script(target):
    script = target[0]
    if script != "-" and not os.path.exists(script):
        raise UsageError("cannot open script '%s': No such file or directory" % script)
    if script != "-" and not script.endswith(".py"):
        # `heapmark run python script.py`, as one would type for memray's
        # peers: the interpreter is an ELF executable, not a script.
        try:
            with open(script, "rb") as f:
                binary = f.read(4) == b"\x7fELF"
        except OSError:
            binary = False
        if binary:
            raise UsageError("'%s' is a program, not a Python script: heapmark run runs the "
                             "script itself, under %s (heapmark run script.py)"
                             % (script, sys.executable))
    return target


RESULT_FILES = ("profile.db", "peak.svg", "peak.folded", "end.folded", "peak.txt", "report.html")


def run_profiles(directory):
    """The profiles a run left in directory: the main process's, then its
    children's (profile-PID.db) by pid."""
    main = os.path.join(directory, "profile.db")
    children = []
    try:
        names = os.listdir(directory)
    except OSError:
        names = []
    for name in names:
        pid = name[len("profile-"):-len(".db")]
        if name.startswith("profile-") and name.endswith(".db") and pid.isdigit():
            children.append((int(pid), os.path.join(directory, name)))
    return ([main] if os.path.exists(main) else []) + [path for _, path in sorted(children)]


def remove_results(directory):
    """Results of an earlier run in directory, so that none is taken for this one's."""
    import shutil
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if name in RESULT_FILES or (name.startswith("profile-") and name.endswith(".db")):
            os.remove(path)
        elif name.startswith(("snapshot-", "out-of-memory-")) and os.path.isdir(path):
            shutil.rmtree(path)


def prepare_output(requested):
    """Creates the results directory (or checks it) before the program runs, and
    removes results of an earlier run there, so that they cannot be taken for
    this run's."""
    if requested is not None:
        directory = requested
    else:
        directory = os.path.join("heapmark-results", time.strftime("%Y%m%d-%H%M%S"))
    try:
        os.makedirs(requested or "heapmark-results", exist_ok=True)
        probe_dir = requested or "heapmark-results"
        probe = os.path.join(probe_dir, ".heapmark-write-test-%d" % os.getpid())
        with open(probe, "w"):
            pass
        os.remove(probe)
        if requested is not None:
            remove_results(requested)
    except FileExistsError:
        raise UsageError("cannot use '%s' as the output directory: it is a file"
                         % (requested or "heapmark-results")) from None
    except OSError as exc:
        raise UsageError("cannot write to output directory '%s': %s"
                         % (requested or "heapmark-results", exc.strerror)) from None
    return directory


def engine_path():
    from heapmark import _heapmark
    return _heapmark.__file__


# The engine's variables (csrc/engine.c reads them and removes them before
# the program starts); nothing else in the environment is touched.
ENGINE_VARIABLES = ("HEAPMARK_PROFILE", "HEAPMARK_RATE", "HEAPMARK_SEED", "HEAPMARK_COMMAND",
                    "HEAPMARK_PRELOAD", "HEAPMARK_PYTHONPATH", "HEAPMARK_CHECKPOINT",
                    "HEAPMARK_FOLLOW", "HEAPMARK_BOOT", "HEAPMARK_PARENT",
                    "HEAPMARK_MEMORY_LIMIT", "HEAPMARK_TIMELINE_MS")


def child_environment(opts, profile_template, command):
    env = dict(os.environ)
    boot = os.path.join(os.path.dirname(os.path.abspath(heapmark.__file__)), "_boot")
    for name in ENGINE_VARIABLES:
        env.pop(name, None)
    if "LD_PRELOAD" in env:
        env["HEAPMARK_PRELOAD"] = env["LD_PRELOAD"]
        env["LD_PRELOAD"] = engine_path() + (":" + env["LD_PRELOAD"] if env["LD_PRELOAD"] else "")
    else:
        env["LD_PRELOAD"] = engine_path()
    if "PYTHONPATH" in env:
        env["HEAPMARK_PYTHONPATH"] = env["PYTHONPATH"]
        env["PYTHONPATH"] = boot + (os.pathsep + env["PYTHONPATH"] if env["PYTHONPATH"] else "")
    else:
        env["PYTHONPATH"] = boot
    env["HEAPMARK_PROFILE"] = profile_template
    env["HEAPMARK_RATE"] = "1" if opts["exact"] else str(opts["rate"])
    env["HEAPMARK_SEED"] = str(opts["seed"])
    env["HEAPMARK_CHECKPOINT"] = str(opts["checkpoint"])
    env["HEAPMARK_FOLLOW"] = opts["follow"]
    env["HEAPMARK_BOOT"] = boot
    if opts["memory_limit"]:
        env["HEAPMARK_MEMORY_LIMIT"] = str(opts["memory_limit"])
    env["HEAPMARK_TIMELINE_MS"] = str(opts["timeline"])
    env["HEAPMARK_COMMAND"] = command
    return env


SAFE_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-")


def display_command(target):
    """The command as a shell would need it typed."""
    words = ["python"] + target
    return " ".join(w if w and set(w) <= SAFE_WORD else "'%s'" % w.replace("'", "'\\''")
                    for w in words)


def wait_forwarding_signals(pid):
    """Waits for the program; returns its exit code, or -N if signal N killed
    it.  Ctrl-C reaches it directly (same process group); signals sent to
    heapmark itself are passed on."""
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
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def cmd_run(args):
    opts, target = parse_run(args)
    allocator = os.environ.get("PYTHONMALLOC", "")
    if allocator and allocator not in ("malloc", "malloc_debug"):
        say("note: PYTHONMALLOC=%s replaces heapmark's Python allocator hooks while the "
            "interpreter starts; objects allocated before the program starts are counted "
            "per arena" % allocator)
    directory = prepare_output(opts["output"])
    if opts["output"] is None:
        template = directory + "-%p"
    else:
        template = directory
    env = child_environment(opts, os.path.abspath(os.path.join(template, "profile.db")),
                            display_command(target))
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        pid = os.posix_spawn(sys.executable, [sys.executable] + target, env)
    except OSError as exc:
        raise UsageError("cannot start %s: %s" % (sys.executable, exc.strerror)) from None
    if opts["output"] is None:
        directory = template.replace("%p", str(pid))
        os.makedirs(directory, exist_ok=True)
    returncode = wait_forwarding_signals(pid)
    complete = finish_run(directory, opts, returncode)
    if returncode == 0 and not complete:
        return 2        # the program succeeded; heapmark did not (said why)
    if returncode < 0:
        # Die of the same signal, so that callers see what the program did.
        sys.stderr.flush()
        if -returncode != signal.SIGKILL:
            signal.signal(-returncode, signal.SIG_DFL)
        os.kill(os.getpid(), -returncode)
        return 128 - returncode
    return returncode


def finish_run(directory, opts, returncode):
    """Writes the reports; False if the run's final profile is missing."""
    from heapmark import _heapmark
    profiles = run_profiles(directory)
    if not profiles or not profiles[0].endswith(os.sep + "profile.db"):
        if returncode < 0:
            say("no profile was written: the program was killed before its first checkpoint")
        else:
            # The engine said why (a full disk, say), if it had the chance.
            say("error: no profile was written to %s/" % directory)
        return False
    try:
        summary, status, duration = _heapmark.write_reports(profiles, directory, opts["top"],
                                                            0, *opts["html_min"])
        if not opts["quiet"]:
            sys.stderr.write(summary)
    except _heapmark.ProfileError as exc:
        say("error: %s" % exc)
        return False
    complete = status != "checkpoint"
    if not complete and returncode >= 0:
        say("error: the final profile could not be written: the reports show the last "
            "checkpoint, %.1f s into the run" % duration)
    if returncode == -signal.SIGKILL:
        # Said even with -q: the reports are not of the program's last moment.
        say("the program was killed by SIGKILL (kill -9, or the kernel's out-of-memory "
            "killer): the reports show %s, %.1f s into the run"
            % ("its last checkpoint" if status == "checkpoint" else "its profile", duration))
    if not opts["quiet"]:
        say("results in %s/ (report.html, peak.svg, peak.txt, profile.db)" % directory)
        for name in sorted(os.listdir(directory)):
            if name.startswith("out-of-memory-"):
                say("out-of-memory report in %s/" % os.path.join(directory, name))
    return complete


# ---- heapmark report ------------------------------------------------------

def cmd_report(args):
    from heapmark import _heapmark
    profile = None
    output = None
    as_json = False
    top = 10
    html_min = (-1, -1.0)
    i = 0
    while i < len(args):
        name, inline = split_option(args[i])
        if name in ("-h", "--help"):
            sys.stdout.write(USAGE)
            return 0
        if name in ("-o", "--output", "--top", "--html-min-bytes"):
            v = inline if inline is not None else take_value(args, i, name)
            i += inline is None
            if name == "--top":
                top = parse_int(v, name)
            elif name == "--html-min-bytes":
                html_min = parse_html_min(v, name)
            else:
                output = v
        elif name == "--json":
            as_json = True
        elif name.startswith("-") and name != "-":
            raise UsageError("unknown option '%s' for heapmark report (see heapmark --help)"
                             % args[i])
        elif profile is None:
            profile = args[i]
        else:
            raise UsageError("heapmark report takes one profile, got '%s' too" % args[i])
        i += 1
    if profile is None:
        raise UsageError("heapmark report needs a profile: heapmark report PROFILE.db")
    profiles = run_of(profile)
    if as_json:
        import json
        text = _heapmark.summary_json(profiles, top)
        sys.stdout.write(json.dumps(json.loads(text), indent=2) + "\n")
        return 0
    directory = output if output is not None else (os.path.dirname(profile) or ".")
    if output is not None:
        try:
            os.makedirs(output, exist_ok=True)
        except OSError as exc:
            raise UsageError("cannot create output directory '%s': %s"
                             % (output, exc.strerror)) from None
    try:
        text, _, _ = _heapmark.write_reports(profiles, directory, top, terminal_columns(),
                                             *html_min)
    except _heapmark.ProfileError as exc:
        raise UsageError(str(exc)) from None
    write_stdout(text.encode())
    say("reports written to %s/ (report.html, peak.svg, peak.txt, peak.folded, end.folded)"
        % directory)
    return 0


# ---- heapmark census --------------------------------------------------------

def parse_census(args):
    opts = {"top": 10, "json": None}
    i = 0
    while i < len(args):
        arg = args[i]
        name, inline = split_option(arg)
        if name in ("-h", "--help"):
            sys.stdout.write(USAGE)
            raise SystemExit(0)
        if name in ("--top", "--json"):
            v = inline if inline is not None else take_value(args, i, name)
            i += inline is None
            if name == "--top":
                opts["top"] = parse_int(v, name)
            else:
                opts["json"] = v
        elif name in ("-c", "-m"):
            return opts, [name, take_value(args, i, name)] + args[i + 2:]
        elif name == "--":
            if i + 1 >= len(args):
                raise UsageError("nothing to run after '--'")
            return opts, check_script(args[i + 1:])
        elif arg.startswith("-") and arg != "-":
            raise UsageError("unknown option '%s' for heapmark census (see heapmark --help)" % arg)
        else:
            return opts, check_script(args[i:])
        i += 1
    raise UsageError("nothing to run: give a script, -m module or -c code (see heapmark --help)")


def cmd_census(args):
    """Runs the program here, in a fresh __main__, then prints the census of
    what it left alive.  heapmark's own modules, frames and the launcher's
    __main__ are left out by the engine (hide)."""
    opts, target = parse_census(args)
    if opts["json"] is not None:
        try:
            with open(opts["json"], "a"):
                pass
        except OSError as exc:
            raise UsageError("cannot write '%s': %s" % (opts["json"], exc.strerror)) from None
    launcher = sys.modules.get("__main__")
    status = run_in_main(target)
    from heapmark import census
    sys.stdout.flush()
    result = census.heap(hide=(launcher,) if launcher is not None else ())
    sys.stdout.write(result.table(opts["top"]) + "\n")
    if opts["json"] is not None:
        with open(opts["json"], "w") as f:
            f.write(result.to_json())
    return status


def run_in_main(target):
    """Runs script, -c code or -m module as python would; returns its exit
    status.  Its own errors print their traceback (without heapmark's
    frames) and give status 1, as with python."""
    import types
    if target[0] == "-m":
        import runpy
        sys.argv = [target[1]] + target[2:]
        sys.path.insert(0, os.getcwd())
        run = lambda: runpy.run_module(target[1], run_name="__main__", alter_sys=True)
    else:
        if target[0] == "-c":
            source, filename = target[1], "<string>"
            sys.argv = ["-c"] + target[2:]
            sys.path.insert(0, "")
        else:
            filename = target[0]
            sys.argv = list(target)
            sys.path.insert(0, os.path.dirname(os.path.abspath(filename)))
            try:
                with open(filename, "rb") as f:
                    source = f.read()
            except OSError as exc:
                raise UsageError("cannot open script '%s': %s" % (filename, exc.strerror)) from None
        main = types.ModuleType("__main__")
        main.__dict__.update({"__file__": filename, "__builtins__": __builtins__,
                              "__cached__": None})
        if target[0] == "-c":
            del main.__file__
        sys.modules["__main__"] = main

        def run():
            exec(compile(source, filename, "exec"), main.__dict__)
    try:
        run()
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        sys.stderr.write("%s\n" % code)
        return 1
    except BaseException as exc:
        import traceback
        tb = exc.__traceback__
        # Leave out run_in_main's own frames: the traceback python would print.
        while tb is not None and tb.tb_frame.f_globals.get("__name__", "").startswith("heapmark"):
            tb = tb.tb_next
        traceback.print_exception(type(exc), exc, tb)
        return 130 if isinstance(exc, KeyboardInterrupt) else 1


def run_of(profile):
    """A run's main profile brings its children's (profile-PID.db) along."""
    if os.path.basename(profile) == "profile.db" and os.path.isfile(profile):
        return run_profiles(os.path.dirname(profile) or ".")
    return [profile]


def terminal_columns():
    """Width for tables on stdout: $COLUMNS, else the terminal's, else 80."""
    import shutil
    return max(shutil.get_terminal_size().columns, 20)


def write_stdout(data):
    try:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        # `heapmark ... | head`: the reader has what it wanted.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


SNAPSHOTS = ("peak", "end", "allocated")
EXPORT_FORMATS = ("folded", "pprof", "speedscope", "json")
EXPORT_SUFFIXES = ((".pb.gz", "pprof"), (".pprof", "pprof"), (".pb", "pprof"),
                   (".speedscope.json", "speedscope"), (".json", "json"), (".folded", "folded"))


def parse_command(args, command, options):
    """Positional arguments and {option: value} for export and diff."""
    values, positional = {}, []
    i = 0
    while i < len(args):
        name, inline = split_option(args[i])
        if name in ("-h", "--help"):
            sys.stdout.write(USAGE)
            raise SystemExit(0)
        if name in options:
            values[options[name]] = inline if inline is not None else take_value(args, i, name)
            i += inline is None
        elif name.startswith("-") and name != "-":
            raise UsageError("unknown option '%s' for heapmark %s (see heapmark --help)"
                             % (args[i], command))
        else:
            positional.append(args[i])
        i += 1
    return positional, values


def snapshot_option(values):
    snapshot = values.get("snapshot", "peak")
    if snapshot not in SNAPSHOTS:
        raise UsageError("unknown snapshot '%s': expected peak, end or allocated" % snapshot)
    return snapshot


def check_output_file(path):
    if os.path.isdir(path):
        raise UsageError("cannot write '%s': it is a directory" % path)


# ---- heapmark export --------------------------------------------------------

def cmd_export(args):
    from heapmark import _heapmark
    positional, values = parse_command(
        args, "export", {"--format": "format", "--snapshot": "snapshot",
                         "-o": "output", "--output": "output"})
    if len(positional) != 1:
        raise UsageError("heapmark export takes one profile: heapmark export PROFILE.db "
                         "--format FORMAT -o FILE")
    output = values.get("output", "-")
    fmt = values.get("format")
    if fmt is None:
        fmt = next((f for suffix, f in EXPORT_SUFFIXES if output.endswith(suffix)), None)
        if fmt is None:
            raise UsageError("heapmark export needs --format: folded, pprof, speedscope or json")
    if fmt not in EXPORT_FORMATS:
        raise UsageError("unknown export format '%s': expected folded, pprof, speedscope or json"
                         % fmt)
    snapshot = snapshot_option(values)
    if fmt == "json" and "snapshot" in values:
        raise UsageError("--snapshot does not apply to --format json: the JSON tree holds "
                         "every snapshot")
    if output == "-":
        if fmt == "pprof" and sys.stdout.isatty():
            raise UsageError("pprof output is gzipped binary: give -o FILE or redirect stdout")
        write_stdout(_heapmark.export(run_of(positional[0]), fmt, snapshot, None))
    else:
        check_output_file(output)
        _heapmark.export(run_of(positional[0]), fmt, snapshot, output)
    return 0


# ---- heapmark diff ----------------------------------------------------------

def cmd_diff(args):
    from heapmark import _heapmark
    positional, values = parse_command(
        args, "diff", {"-o": "output", "--output": "output", "--top": "top",
                       "--snapshot": "snapshot"})
    if len(positional) != 2:
        raise UsageError("heapmark diff takes two profiles: heapmark diff BASE.db NEW.db [-o DIR]")
    top = parse_int(values.get("top", "10"), "--top")
    snapshot = snapshot_option(values)
    html = None
    output = values.get("output")
    created = output is not None and not os.path.exists(output)
    if output is not None:
        try:
            os.makedirs(output, exist_ok=True)
        except OSError as exc:
            raise UsageError("cannot create output directory '%s': %s"
                             % (output, exc.strerror or exc)) from None
        html = os.path.join(output, "diff.html")
        check_output_file(html)
    try:
        text = _heapmark.diff(run_of(positional[0]), run_of(positional[1]), snapshot, top,
                              terminal_columns(), html)
    except _heapmark.ProfileError:
        if created:
            os.rmdir(output)     # made for this diff, and still empty
        raise
    write_stdout(text.encode())
    if html:
        say("differential flamegraph and tables in %s" % html)
    return 0


def main(argv=None):
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        if not args or args[0] in ("-h", "--help", "help"):
            sys.stdout.write(USAGE)
            return 0 if args else 2
        if args[0] in ("-V", "--version"):
            sys.stdout.write("heapmark %s\n" % heapmark.__version__)
            return 0
        if args[0] == "run":
            return cmd_run(args[1:])
        if args[0] == "report":
            return cmd_report(args[1:])
        if args[0] == "census":
            return cmd_census(args[1:])
        if args[0] == "export":
            return cmd_export(args[1:])
        if args[0] == "diff":
            return cmd_diff(args[1:])
        raise UsageError("unknown command '%s': expected run, report, export, diff or census "
                         "(see heapmark --help)" % args[0])
    except UsageError as exc:
        say("error: %s" % exc)
        return 2
    except SystemExit as exc:
        return exc.code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the profile reader's errors, and anything unforeseen
        name = type(exc).__name__
        if name == "ProfileError":
            say("error: %s" % exc)
        else:
            say("internal error: %s: %s" % (name, exc))
        return 2
