"""``heapmark census``: the program runs in this interpreter, then the census
of the objects it left alive (Heapy's table) is printed on stdout."""

import os
import sys

from heapmark.cli.common import UsageError, check_writable, parse_int
from heapmark.cli.options import VALUE, parse

OPTIONS = (
    (("--top",), "top", VALUE, parse_int),
    (("--json",), "json", VALUE, None),
)

DEFAULTS = {"top": 10, "json": None}


def main(args):
    """Runs the program here, in a fresh __main__, then prints the census of
    what it left alive.  heapmark's own modules, frames and the launcher's
    __main__ are left out by the engine (hide)."""
    opts, target = parse(args, "census", OPTIONS, DEFAULTS, program=True)
    if opts["json"] is not None:
        check_writable(opts["json"])
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
        main.__dict__.update(
            {"__file__": filename, "__builtins__": __builtins__, "__cached__": None}
        )
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
