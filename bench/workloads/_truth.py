"""Shared by the workloads: where the marked lines are, and writing the truth.

A workload marks each line whose allocations it knows with a trailing
``# truth:NAME`` comment; ``write(...)`` records, per name, that line and the
blocks (size, count) it holds at the peak, for bench/run.py to compare with
what a tool reports.
"""
import argparse
import json
import os


def marked_lines(path):
    """{name: line number} of the ``# truth:NAME`` lines of a source file."""
    lines = {}
    with open(path) as f:
        for number, text in enumerate(f, 1):
            if "# truth:" in text and not text.lstrip().startswith("#"):
                lines[text.split("# truth:")[1].split()[0]] = number
    return lines


def write(truth_file, workload, source, expected):
    """expected: {name: [(block size, count), ...]} at the peak."""
    path = os.path.abspath(source)
    lines = marked_lines(path)
    with open(truth_file, "w") as f:
        json.dump({"workload": workload,
                   "lines": [{"name": name, "file": path, "line": lines[name],
                              "bytes": sum(size * n for size, n in blocks),
                              "blocks": blocks} for name, blocks in expected.items()]},
                  f, indent=1)


def pym(nbytes):
    """Bytes a block of nbytes really takes: pymalloc size class up to 512."""
    return (nbytes + 15) & ~15 if nbytes <= 512 else nbytes


def arguments(doc):
    """Every workload's command line: --scale F and --truth FILE."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply the phase 1 work (calibration)")
    parser.add_argument("--truth", help="write the expected bytes per line here (JSON)")
    return parser.parse_args()
