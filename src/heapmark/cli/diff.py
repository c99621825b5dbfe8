"""``heapmark diff BASE.db NEW.db``: the change from one run to the other, by line."""

import os

from heapmark.cli.common import (
    UsageError,
    check_output_file,
    parse_int,
    result_file,
    run_of,
    say,
    snapshot_option,
    terminal_columns,
    write_stdout,
)
from heapmark.cli.options import VALUE, parse

OPTIONS = (
    (("-o", "--output"), "output", VALUE, None),
    (("--top",), "top", VALUE, None),
    (("--snapshot",), "snapshot", VALUE, None),
)


def main(args):
    from heapmark import _heapmark

    values, positional = parse(args, "diff", OPTIONS)
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
            raise UsageError(
                "cannot create output directory '%s': %s" % (output, exc.strerror or exc)
            ) from None
        html = os.path.join(output, result_file("DIFF_HTML"))
        check_output_file(html)
    try:
        text = _heapmark.diff(
            run_of(positional[0]), run_of(positional[1]), snapshot, top, terminal_columns(), html
        )
    except _heapmark.ProfileError:
        if created:
            os.rmdir(output)  # made for this diff, and still empty
        raise
    write_stdout(text.encode())
    if html:
        say("differential flamegraph and tables in %s" % html)
    return 0
