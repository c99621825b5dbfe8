"""The ``heapmark`` command: ``run`` a program under the profiler, ``report``
on a stored profile, ``export`` it to other tools' formats, ``diff`` two,
take the ``census`` of what a program leaves alive, ``attach`` to a
running Python process, watch a profiled process live (``top``).

This is the thin Python skin.  main() picks the subcommand; each is a module
of this package (run, report, census, export, diff, attach, top) that declares its options
as a table for options.parse; common holds what they share, among it the
names of common/contract.h (environment variables, result files).  Only the
subcommand asked for is imported.  Every message goes to stderr, prefixed
``heapmark: ``; bad input ends with one line and exit status 2.
"""

import os
import sys

import heapmark
from heapmark.cli.common import USAGE, UsageError, say

COMMANDS = ("run", "report", "census", "export", "diff", "attach", "top")


def main(argv=None):
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        if not args or args[0] in ("-h", "--help", "help"):
            sys.stdout.write(USAGE)
            return 0 if args else 2
        if args[0] in ("-V", "--version"):
            sys.stdout.write("heapmark %s\n" % heapmark.__version__)
            return 0
        if args[0] not in COMMANDS:
            raise UsageError(
                "unknown command '%s': expected run, report, export, diff, census, attach or top "
                "(see heapmark --help)" % args[0]
            )
        command = __import__("heapmark.cli." + args[0], fromlist=["main"])
        return command.main(args[1:])
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


def exit_now(code):
    """Ends the command with main()'s code, without the interpreter's teardown:
    freeing every module and object costs `heapmark run` some 8 million
    instructions (2-3 ms) after its work is written.  Everything the commands
    write is closed by then (files in `with` blocks, the engine's files in C);
    the two streams are flushed here.  A code that is not a number, or a
    stream that cannot be flushed (a closed pipe), takes sys.exit's way,
    which says so as Python would."""
    if isinstance(code, int) or code is None:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            sys.exit(code)
        os._exit(code or 0)
    sys.exit(code)
