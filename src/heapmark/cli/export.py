"""``heapmark export PROFILE.db --format FORMAT``: the profile for other tools."""

import sys

from heapmark.cli.common import UsageError, check_output_file, run_of, snapshot_option, write_stdout
from heapmark.cli.options import VALUE, parse

EXPORT_FORMATS = ("folded", "pprof", "speedscope", "json")
EXPORT_SUFFIXES = (
    (".pb.gz", "pprof"),
    (".pprof", "pprof"),
    (".pb", "pprof"),
    (".speedscope.json", "speedscope"),
    (".json", "json"),
    (".folded", "folded"),
)

OPTIONS = (
    (("--format",), "format", VALUE, None),
    (("--snapshot",), "snapshot", VALUE, None),
    (("-o", "--output"), "output", VALUE, None),
)


def main(args):
    from heapmark import _heapmark

    values, positional = parse(args, "export", OPTIONS)
    if len(positional) != 1:
        raise UsageError(
            "heapmark export takes one profile: heapmark export PROFILE.db --format FORMAT -o FILE"
        )
    output = values.get("output", "-")
    fmt = values.get("format")
    if fmt is None:
        fmt = next((f for suffix, f in EXPORT_SUFFIXES if output.endswith(suffix)), None)
        if fmt is None:
            raise UsageError("heapmark export needs --format: folded, pprof, speedscope or json")
    if fmt not in EXPORT_FORMATS:
        raise UsageError(
            "unknown export format '%s': expected folded, pprof, speedscope or json" % fmt
        )
    snapshot = snapshot_option(values)
    if fmt == "json" and "snapshot" in values:
        raise UsageError(
            "--snapshot does not apply to --format json: the JSON tree holds every snapshot"
        )
    if output == "-":
        if fmt == "pprof" and sys.stdout.isatty():
            raise UsageError("pprof output is gzipped binary: give -o FILE or redirect stdout")
        write_stdout(_heapmark.export(run_of(positional[0]), fmt, snapshot, None))
    else:
        check_output_file(output)
        _heapmark.export(run_of(positional[0]), fmt, snapshot, output)
    return 0
