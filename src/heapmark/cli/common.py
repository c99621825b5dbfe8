"""What the subcommands of ``heapmark`` share: the usage text, the one-line
error, value parsers, the profiles of a run, output to stdout, and the names
of common/contract.h (environment variables, result files) as the engine
module exports them.
"""

import os
import sys


USAGE = """\
usage: heapmark run [options] script.py [args...]
       heapmark run [options] -m module [args...]
       heapmark run [options] -c code [args...]
       heapmark report PROFILE.db [-o DIR] [--json] [--top N]
       heapmark report PROFILE.db --lines FILE.py [--json]
       heapmark census [--top N] [--json FILE] script.py | -m module | -c code [args...]
       heapmark attach [options] PID
       heapmark attach --census [--top N] [--json FILE] PID
       heapmark export PROFILE.db --format FORMAT [--snapshot SNAPSHOT] [-o FILE]
       heapmark diff BASE.db NEW.db [-o DIR] [--top N] [--snapshot SNAPSHOT]
       heapmark top PID [--interval SECONDS] [--top N] [--once]

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
  --kinds-time PCT      share of the run's time heapmark may spend walking the
                        heap to tell the peak's bytes by kind of object
                        (default 1; more puts the walk kept nearer the peak)
  --no-kinds            no walks, no kinds (--kinds-time 0)
  --native              record the C/C++ call stack of each recorded allocation
                        too, under the Python line that called into native
                        code (needs libunwind8 and libdw1)
  --keep-allocators     keep pyarrow's own memory pool (jemalloc or mimalloc,
                        seen only by its mmaps) instead of setting
                        ARROW_DEFAULT_MEMORY_POOL=system (heapmark's default
                        unless the variable is set already)
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
  --lines FILE.py       print FILE.py line by line with what each line held at
                        the peak, allocated in all, and how many allocations
                        it made (what it called included), then its functions;
                        with --json, as JSON

heapmark export options:
  --format FORMAT       folded, pprof (gzipped profile.proto for go tool pprof),
                        speedscope or json (the whole tree); guessed from -o's
                        name (.folded, .pb.gz, .speedscope.json, .json) if absent
  --snapshot SNAPSHOT   peak (default), end, allocated or job-peak (a run of
                        several processes: what each held at their combined
                        peak); json holds them all
  -o, --output FILE     where to write (default -, stdout)

heapmark diff options (the change from BASE to NEW, by line, on stdout):
  -o, --output DIR      also write DIR/diff.html: a differential flamegraph
                        and the tables
  --top N               lines in each table (default 10)
  --snapshot SNAPSHOT   peak (default), end, allocated or job-peak

A run's main profile.db brings its child processes' profile-PID.db along
(report, export and diff show them under a [process PID: ...] frame each).

heapmark top PID (a live view of a process heapmark run profiles, or one
heapmark attach attached to: tracked memory and RSS, a timeline, and the
lines holding memory now; q quits, the program goes on):
  --interval SECONDS    time between refreshes (default 2, at least 0.5)
  --top N               lines in the table (default: as many as fit)
  --once                print one frame as text and exit (for scripts)

heapmark census options (runs the program in this interpreter, then prints
the census of the objects still alive, Heapy's table, on stdout):
  --top N               rows in the table (default 10; 0: all)
  --json FILE           also write the census as JSON to FILE

heapmark attach options (tracking inside a running Python process of the same
user, through gdb; its reports on stop; the process goes on unchanged):
  --duration SECONDS    stop after SECONDS (default: at Ctrl-C)
  -o, --output DIR      as for heapmark run (default:
                        heapmark-results/<timestamp>-<pid>/, pid the process's)
  --exact, --sample-rate BYTES, --seed N, --top N, --html-min-bytes SIZE, -q
                        as for heapmark run
  --census              print the census of the process's live objects instead
                        (with --top N and --json FILE as for heapmark census)

Results: profile.db (SQLite, see docs/profile-format.md), report.html
(flamegraph, top lines, timeline: open it in a browser), peak.svg
(flamegraph), peak.txt, peak.folded and end.folded (folded stacks).
"""


class UsageError(Exception):
    """Bad command line or environment: one line, exit status 2."""


def say(message):
    sys.stderr.write("heapmark: %s\n" % message)
    sys.stderr.flush()


# ---- common/contract.h, through the module (imported when first needed) -------


def _contract():
    from heapmark import _heapmark

    return _heapmark


def env_name(ident):
    """The environment variable HM_ENV_<ident>: env_name("PROFILE") -> "HEAPMARK_PROFILE"."""
    return next(name for i, name, _, _ in _contract().ENVIRONMENT if i == ident)


def env_names(*kinds):
    """The variables set by kinds (RUN, CHILD, CALLER, TOOLING), in the table's order."""
    return tuple(name for _, name, kind, _ in _contract().ENVIRONMENT if kind in kinds)


def result_file(ident):
    """The name of HM_RESULT_<ident> in a results directory: "PROFILE" -> "profile.db"."""
    return next(name for i, name, _, _ in _contract().RESULT_FILES if i == ident)


def result_files(*kinds):
    return tuple(name for _, name, kind, _ in _contract().RESULT_FILES if kind in kinds)


def result_series(ident):
    """(prefix, suffix) of the names HM_SERIES_<ident>: "CHILD_PROFILE" -> ("profile-", ".db")."""
    return next((p, s) for i, p, s, _, _ in _contract().RESULT_SERIES if i == ident)


def result_list(*idents):
    """'report.html, peak.svg, ...' for messages."""
    return ", ".join(result_file(i) for i in idents)


# ---- values ----------------------------------------------------------------

SIZE_SUFFIXES = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_size(text, option):
    """'65536', '64K', '64KiB', '1m', '2GB' -> bytes."""
    word = text.strip().lower()
    for unit in ("ib", "b"):
        if word.endswith(unit) and word[: -len(unit)][-1:] in "kmg":
            word = word[: -len(unit)]
            break
    digits = word.rstrip("kmg")
    suffix = word[len(digits) :]
    if not digits.strip().isdigit() or suffix not in SIZE_SUFFIXES:
        raise UsageError(
            "%s expects a number of bytes such as 65536 or 64K, not '%s'" % (option, text)
        )
    value = int(digits) * SIZE_SUFFIXES[suffix]
    if value < 1:
        raise UsageError("%s must be at least 1 byte" % option)
    return value


def check_writable(path):
    """A file the command will write: refused now, in one line, rather than
    after the work (opened for appending, so nothing in it is lost)."""
    try:
        with open(path, "a"):
            pass
    except OSError as exc:
        raise UsageError("cannot write '%s': %s" % (path, exc.strerror)) from None


def parse_seconds(text, option, at_least=None):
    """A number of seconds: above 0, or at least `at_least`."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if at_least is None and not value > 0:
        raise UsageError("%s expects a number of seconds above 0, not '%s'" % (option, text))
    if at_least is not None and not value >= at_least:
        raise UsageError("%s expects seconds, at least %g, not '%s'" % (option, at_least, text))
    return value


def process_id(positional, command, missing):
    """The one positional argument of `heapmark attach` and `heapmark top`."""
    if not positional:
        raise UsageError(missing)
    if not positional[0].isdigit() or int(positional[0]) < 1:
        raise UsageError("heapmark %s expects a process id, not '%s'" % (command, positional[0]))
    return int(positional[0])


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
            raise UsageError("%s expects a share between 0%% and 100%%, not '%s'" % (option, text))
        return (-1, percent / 100)
    if word == "0":
        return (0, -1.0)
    return (parse_size(word, option), -1.0)


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
            raise UsageError(
                "'%s' is a program, not a Python script: heapmark run runs the "
                "script itself, under %s (heapmark run script.py)" % (script, sys.executable)
            )
    return target


# ---- profiles and output ---------------------------------------------------


def run_profiles(directory):
    """The profiles a run left in directory: the main process's, then its
    children's (profile-PID.db) by pid."""
    main = os.path.join(directory, result_file("PROFILE"))
    prefix, suffix = result_series("CHILD_PROFILE")
    children = []
    try:
        names = os.listdir(directory)
    except OSError:
        names = []
    for name in names:
        pid = name[len(prefix) : -len(suffix)]
        if name.startswith(prefix) and name.endswith(suffix) and pid.isdigit():
            children.append((int(pid), os.path.join(directory, name)))
    return ([main] if os.path.exists(main) else []) + [path for _, path in sorted(children)]


def run_of(profile):
    """A run's main profile brings its children's (profile-PID.db) along."""
    if os.path.basename(profile) == result_file("PROFILE") and os.path.isfile(profile):
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


SNAPSHOTS = ("peak", "end", "allocated", "job-peak")


def snapshot_option(values):
    snapshot = values.get("snapshot", "peak")
    if snapshot not in SNAPSHOTS:
        raise UsageError(
            "unknown snapshot '%s': expected peak, end, allocated or job-peak" % snapshot
        )
    return snapshot


def check_output_file(path):
    if os.path.isdir(path):
        raise UsageError("cannot write '%s': it is a directory" % path)
