"""Shared by the workloads: where the marked lines are, and writing the truth.

A workload marks each line whose allocations it knows with a trailing
``# truth:NAME`` comment; ``write(...)`` records, per name, that line and the
blocks (size, count) it holds at the peak, for bench/run.py to compare with
what a tool reports.
"""
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
