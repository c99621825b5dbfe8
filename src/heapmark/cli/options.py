"""The one option parser of the ``heapmark`` subcommands.

Each subcommand declares its options as a table of rows
``(names, key, action, argument)``:

- ``FLAG``: the option takes no value; ``opts[key] = argument``
  (``--exact=x`` counts as ``--exact``);
- ``VALUE``: the option takes a value, ``--name VALUE`` or ``--name=VALUE``;
  ``opts[key] = argument(value, name)``, or the text itself when argument is
  None.  A converter raises UsageError on a bad value, as it is met.

``-h``/``--help`` prints the usage and exits 0; an unknown option is one
line (``heapmark: error: unknown option ...``) and exit status 2.  A
program's command line (``heapmark run``, ``heapmark census``) ends the
options at the script, ``-m module``, ``-c code`` or ``--``.
"""

import sys

from heapmark.cli.common import USAGE, UsageError, check_script

FLAG = "flag"
VALUE = "value"


def split_option(arg):
    """'--output=DIR' -> ('--output', 'DIR'); '--exact' -> ('--exact', None)."""
    if arg.startswith("--") and "=" in arg:
        name, value = arg.split("=", 1)
        return name, value
    return arg, None


def take_value(args, i, option):
    if i + 1 >= len(args):
        raise UsageError("option %s needs a value" % option)
    return args[i + 1]


def parse(args, command, table, defaults=(), program=False, max_positional=None, too_many=None):
    """-> (opts, rest): rest is the program's command line (program=True,
    ['-m', module, ...], ['-c', code, ...] or [script, ...]) or the
    positional arguments.  Beyond max_positional, too_many % argument is the
    error."""
    rows = {name: row for row in table for name in row[0]}
    opts = dict(defaults)
    positional = []
    i = 0
    while i < len(args):
        arg = args[i]
        name, inline = split_option(arg)
        if name in ("-h", "--help"):
            sys.stdout.write(USAGE)
            raise SystemExit(0)
        row = rows.get(name)
        if row is not None:
            _, key, action, argument = row
            if action == FLAG:
                opts[key] = argument
            else:
                if inline is None:
                    inline = take_value(args, i, name)
                    i += 1
                opts[key] = argument(inline, name) if argument else inline
        elif program and name in ("-m", "-c"):
            return opts, [name, take_value(args, i, name)] + args[i + 2 :]
        elif program and name == "--":
            if i + 1 >= len(args):
                raise UsageError("nothing to run after '--'")
            return opts, check_script(args[i + 1 :])
        elif arg.startswith("-") and arg != "-":
            raise UsageError(
                "unknown option '%s' for heapmark %s (see heapmark --help)" % (arg, command)
            )
        elif program:
            return opts, check_script(args[i:])
        elif max_positional is not None and len(positional) == max_positional:
            raise UsageError(too_many % arg)
        else:
            positional.append(arg)
        i += 1
    if program:
        raise UsageError(
            "nothing to run: give a script, -m module or -c code (see heapmark --help)"
        )
    return opts, positional
