"""Tool configurations for bench/run.py: heapmark and the peers it is compared
with, and the adapters that read each tool's results (see run.py's docstring
for what is measured).  Standard library only; the peers' own Python APIs are
used only in subprocesses on the bench interpreter.
"""

import json
import os
import re
import subprocess

# ---- tools -------------------------------------------------------------------
#
# A tool configuration is data: a command template and the name of an adapter
# that knows where the tool puts its results, how to re-render its reports and
# how to read per-line bytes at the peak.  Placeholders: {python} (the bench
# interpreter), {bindir} (its bin/ directory, where console scripts live),
# {out} (a fresh, empty results directory, also the command's working
# directory), {script} (the workload); ``--truth FILE`` and the workload's own
# arguments are appended, so a tool that needs a separator before the
# program's arguments ends its template with it.  Optional: "label" (the name
# shown in the tables) and "check", a command that must succeed for the tool to
# be measured (a peer that is not installed is skipped with a note rather than
# failing every run).  An adapter (ADAPTERS, constructed with the bench
# interpreter's bin/ directory and the interpreter) has result_files(out) ->
# paths, rerender(out, scratch) -> command or None (the driver times it, with
# cwd=out), and line_bytes(out) -> ({(realpath, line): bytes at the peak} or
# None, {summary numbers, "peak_bytes" among them}).
#
# Peers (issue #4), and where their per-line bytes at the peak come from:
#   memray       high-water-mark records of its capture file (memray's own
#                reader, in a subprocess on the bench interpreter), each
#                credited to its stack's innermost program line;
#   fil          the folded stacks of peak-memory.prof, likewise;
#   tracemalloc  none: it keeps the size of its peak, not a snapshot of it;
#   scalene      its JSON profile's per-line "n_peak_mb" (its own attribution
#                and its own notion of a line's peak, see the docstring).
# The peers' Python APIs are only used in subprocesses on {python}: the driver
# itself needs nothing but the standard library.

HEAPMARK_RUN = ["{bindir}/heapmark", "run", "-q", "-o", "{out}"]
MEMRAY_RUN = ["{bindir}/memray", "run", "-q", "-f", "-o", "{out}/capture.bin"]

# tracemalloc has no command-line runner that saves anything, so this one
# (passed with -c, after the template is expanded: no braces in it) runs the
# workload as ``python SCRIPT ARGS`` would, and at exit dumps a snapshot of
# what is still traced and the size of the peak.  argv: OUT SCRIPT ARGS...
TRACEMALLOC_RUNNER = r"""
import json, os, runpy, sys, tracemalloc
out, script = sys.argv[1], sys.argv[2]
sys.argv = [script] + sys.argv[3:]
sys.path[0] = os.path.dirname(os.path.abspath(script))
tracemalloc.start(25)
try:
    runpy.run_path(script, run_name="__main__")
finally:
    current, peak = tracemalloc.get_traced_memory()
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()
    snapshot.dump(os.path.join(out, "snapshot.tracemalloc"))
    with open(os.path.join(out, "tracemalloc.json"), "w") as f:
        json.dump(dict(peak_bytes=peak, current_bytes=current, frames=25), f)
"""

TOOLS = {
    "plain": {"run": ["{python}", "{script}"], "adapter": None},
    "heapmark": {
        "run": HEAPMARK_RUN + ["{script}"],
        "adapter": "heapmark",
        "label": "heapmark (default rate)",
    },
    "heapmark --exact": {"run": HEAPMARK_RUN + ["--exact", "{script}"], "adapter": "heapmark"},
    # (the --sample-rate configurations of --rates come here)
    "memray": {
        "run": MEMRAY_RUN + ["{script}"],
        "adapter": "memray",
        "check": ["{bindir}/memray", "--version"],
    },
    "memray --trace-python-allocators": {
        "run": MEMRAY_RUN + ["--trace-python-allocators", "{script}"],
        "adapter": "memray",
        "check": ["{bindir}/memray", "--version"],
    },
    "fil": {
        "run": ["{bindir}/fil-profile", "-o", "{out}", "--no-browser", "run", "{script}"],
        "adapter": "fil",
        "check": ["{bindir}/fil-profile", "--version"],
    },
    "tracemalloc": {
        "run": ["{python}", "-c", TRACEMALLOC_RUNNER, "{out}", "{script}"],
        "adapter": "tracemalloc",
        "label": "tracemalloc (25 frames)",
    },
    "scalene": {
        "run": [
            "{python}",
            "-m",
            "scalene",
            "run",
            "-o",
            "{out}/profile.json",
            "--memory",
            "{script}",
            "---",
        ],
        "adapter": "scalene",
        "check": ["{python}", "-c", "import scalene"],
    },
}


def heapmark_rate_tool(rate):
    return {"run": HEAPMARK_RUN + ["--sample-rate", rate, "{script}"], "adapter": "heapmark"}


def all_files(out):
    """Every file under out, recursively (the peers write subdirectories)."""
    return sorted(os.path.join(d, f) for d, _, files in os.walk(out) for f in files)


def is_library(path):
    """Not the program's own code: the test heapmark applies to its frames."""
    return (
        path.startswith("<")
        or "/site-packages/" in path
        or "/dist-packages/" in path
        or "/lib/python3" in path
    )


def program_lines(stacks):
    """{(realpath, line): bytes} from (frames, bytes) pairs, frames as (file,
    line) innermost first: each stack's bytes go to its innermost frame in the
    program's own code, else to its innermost frame, as heapmark credits
    its ``top`` lines."""
    lines = {}
    for frames, nbytes in stacks:
        if not frames:
            continue
        own = [f for f in frames if not is_library(f[0])]
        path, line = own[0] if own else frames[0]
        if not path.startswith("<"):
            path = os.path.realpath(path)
        key = (path, int(line))
        lines[key] = lines.get(key, 0) + nbytes
    return lines


class HeapmarkAdapter:
    """heapmark: results in {out}/ (profile.db and reports)."""

    def __init__(self, bindir, python):
        self.exe = os.path.join(bindir, "heapmark")

    def result_files(self, out):
        return [os.path.join(out, f) for f in sorted(os.listdir(out))]

    def rerender(self, out, scratch):
        """Command that re-renders the reports (timed by the driver)."""
        return [self.exe, "report", os.path.join(out, "profile.db"), "-o", scratch]

    def line_bytes(self, out):
        """{(realpath, line): bytes at the peak} and a few summary numbers."""
        text = subprocess.run(
            [self.exe, "report", os.path.join(out, "profile.db"), "--json", "--top", "100000"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        summary = json.loads(text)
        lines = {}
        for entry in summary.get("top", []):
            if not entry.get("file"):
                continue
            key = (os.path.realpath(entry["file"]), entry["line"])
            lines[key] = lines.get(key, 0) + entry["bytes"]
        extra = {
            k: summary.get(k)
            for k in (
                "peak_bytes",
                "peak_rss_bytes",
                "peak_at_s",
                "duration_s",
                "heapmark_overhead_bytes",
                "mode",
                "sample_rate",
            )
        }
        return lines, extra


# Run with the bench interpreter: the allocations alive at memray's peak
# (merged across threads), with their Python stacks, and the capture's
# metadata, as JSON.  argv: CAPTURE
MEMRAY_READER = r"""
import json, sys
import memray
reader = memray.FileReader(sys.argv[1])
stacks = []
for record in reader.get_high_watermark_allocation_records(merge_threads=True):
    frames = [[filename, lineno] for function, filename, lineno in record.stack_trace()]
    stacks.append([frames, record.size])
meta = reader.metadata
json.dump({"stacks": stacks, "peak_bytes": meta.peak_memory,
           "duration_s": (meta.end_time - meta.start_time).total_seconds(),
           "total_allocations": meta.total_allocations,
           "trace_python_allocators": meta.trace_python_allocators}, sys.stdout)
"""


class MemrayAdapter:
    """memray: {out}/capture.bin; reports are rendered from it afterwards."""

    def __init__(self, bindir, python):
        self.exe = os.path.join(bindir, "memray")
        self.python = python

    def result_files(self, out):
        return all_files(out)

    def rerender(self, out, scratch):
        """The flame graph of the peak, memray's default report."""
        return [
            self.exe,
            "flamegraph",
            "-f",
            "-o",
            os.path.join(scratch, "flame.html"),
            os.path.join(out, "capture.bin"),
        ]

    def line_bytes(self, out):
        text = subprocess.run(
            [self.python, "-c", MEMRAY_READER, os.path.join(out, "capture.bin")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        data = json.loads(text)
        extra = {
            k: data[k]
            for k in ("peak_bytes", "duration_s", "total_allocations", "trace_python_allocators")
        }
        return program_lines(data["stacks"]), extra


class FilAdapter:
    """Fil: {out}/<timestamp>/ with peak-memory.prof, two SVG flame graphs and
    index.html, all written at exit (there is no separate report step)."""

    FRAME = re.compile(r"^(.*):(\d+) \((.*)\)$")

    def __init__(self, bindir, python):
        pass

    def result_files(self, out):
        return all_files(out)

    def rerender(self, out, scratch):
        return None

    def line_bytes(self, out):
        profs = [p for p in all_files(out) if os.path.basename(p) == "peak-memory.prof"]
        if not profs:
            raise ValueError("no peak-memory.prof under %s" % out)
        # Folded stacks, one a line: "FILE:LINE (FUNCTION);...;FILE:LINE
        # (FUNCTION) BYTES", outermost frame first; "[No Python stack]" and
        # the like for memory allocated outside any Python frame.
        stacks = []
        with open(profs[-1]) as f:
            for text in f:
                text = text.rstrip("\n")
                if not text.strip():
                    continue
                folded, nbytes = text.rsplit(" ", 1)
                frames = []
                for part in folded.split(";"):
                    m = self.FRAME.match(part)
                    if m:
                        frames.append((m.group(1), int(m.group(2))))
                stacks.append((frames[::-1], int(nbytes)))
        return program_lines(stacks), {"peak_bytes": sum(b for _, b in stacks)}


class TracemallocAdapter:
    """tracemalloc: {out}/snapshot.tracemalloc (at exit) and tracemalloc.json."""

    TOP = (
        "import sys, tracemalloc\n"
        "for stat in tracemalloc.Snapshot.load(sys.argv[1]).statistics('lineno')[:50]:\n"
        "    print(stat)\n"
    )

    def __init__(self, bindir, python):
        self.python = python

    def result_files(self, out):
        return all_files(out)

    def rerender(self, out, scratch):
        """Load the dump and print the top 50 lines."""
        return [self.python, "-c", self.TOP, os.path.join(out, "snapshot.tracemalloc")]

    def line_bytes(self, out):
        with open(os.path.join(out, "tracemalloc.json")) as f:
            return None, json.load(f)


class ScaleneAdapter:
    """scalene: {out}/profile.json; ``scalene view --html`` renders it."""

    def __init__(self, bindir, python):
        self.python = python

    def result_files(self, out):
        return all_files(out)

    def rerender(self, out, scratch):
        # scalene view writes scalene-profile.html in its working directory.
        return [
            "sh",
            "-c",
            'cd "$1" && exec "$2" -m scalene view --html "$3"',
            "sh",
            scratch,
            self.python,
            os.path.join(out, "profile.json"),
        ]

    def line_bytes(self, out):
        with open(os.path.join(out, "profile.json")) as f:
            profile = json.load(f)
        if not profile.get("files"):
            raise ValueError(
                "scalene wrote no per-file profile (keys: %s)"
                % (", ".join(sorted(profile)) or "none")
            )
        lines = {}
        for path, data in profile["files"].items():
            for entry in data.get("lines", []):
                if entry.get("n_peak_mb"):
                    key = (os.path.realpath(path), entry["lineno"])
                    lines[key] = lines.get(key, 0) + round(entry["n_peak_mb"] * (1 << 20))
        extra = {
            "peak_bytes": round(profile.get("max_footprint_mb", 0) * (1 << 20)),
            "duration_s": profile.get("elapsed_time_sec"),
        }
        return lines, extra


ADAPTERS = {
    "heapmark": HeapmarkAdapter,
    "memray": MemrayAdapter,
    "fil": FilAdapter,
    "tracemalloc": TracemallocAdapter,
    "scalene": ScaleneAdapter,
}
