"""``heapmark report PROFILE.db``: the reports again, and the top lines on stdout."""

import os
import sys

from heapmark.cli.common import (
    UsageError,
    parse_html_min,
    parse_int,
    result_list,
    run_of,
    say,
    terminal_columns,
    write_stdout,
)
from heapmark.cli.options import FLAG, VALUE, parse

OPTIONS = (
    (("-o", "--output"), "output", VALUE, None),
    (("--json",), "json", FLAG, True),
    (("--top",), "top", VALUE, parse_int),
    (("--html-min-bytes",), "html_min", VALUE, parse_html_min),
    (("--lines",), "lines", VALUE, None),
)

DEFAULTS = {"output": None, "json": False, "top": 10, "html_min": (-1, -1.0), "lines": None}


def main(args):
    from heapmark import _heapmark

    opts, positional = parse(
        args,
        "report",
        OPTIONS,
        DEFAULTS,
        max_positional=1,
        too_many="heapmark report takes one profile, got '%s' too",
    )
    if not positional:
        raise UsageError("heapmark report needs a profile: heapmark report PROFILE.db")
    profile, output, top = positional[0], opts["output"], opts["top"]
    profiles = run_of(profile)
    if opts["lines"] is not None:
        if output is not None:
            raise UsageError("--lines prints to stdout: it takes no -o")
        try:
            text = _heapmark.source_lines(profiles, opts["lines"], opts["json"])
        except _heapmark.ProfileError as exc:
            raise UsageError(str(exc)) from None
        write_stdout(text.encode())
        return 0
    if opts["json"]:
        import json

        text = _heapmark.summary_json(profiles, top)
        sys.stdout.write(json.dumps(json.loads(text), indent=2) + "\n")
        return 0
    directory = output if output is not None else (os.path.dirname(profile) or ".")
    if output is not None:
        try:
            os.makedirs(output, exist_ok=True)
        except OSError as exc:
            raise UsageError(
                "cannot create output directory '%s': %s" % (output, exc.strerror)
            ) from None
    try:
        text, _, _ = _heapmark.write_reports(
            profiles, directory, top, terminal_columns(), *opts["html_min"]
        )
    except _heapmark.ProfileError as exc:
        raise UsageError(str(exc)) from None
    write_stdout(text.encode())
    say(
        "reports written to %s/ (%s)"
        % (
            directory,
            result_list("REPORT_HTML", "PEAK_SVG", "PEAK_TXT", "PEAK_FOLDED", "END_FOLDED"),
        )
    )
    return 0
