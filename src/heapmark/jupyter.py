"""The Jupyter magics: ``%load_ext heapmark``, then ``%%heapmark`` on a cell.

    %%heapmark [--exact] [--sample-rate 64K] [--seed N] [-o DIR] [--top N]
               [--lines] [--census] [--no-flamegraph]

runs the cell under in-process tracking (heapmark.track) in the ordinary
kernel and shows, inline: the peak and end totals, the cell's top lines at
the peak (as ``cell [N] line L`` with their source text), and report.html's
flamegraph and table, embedded and still self-contained.  ``--lines`` adds
every line of the cell with what it held at the peak, allocated in all and
how many allocations it made (``heapmark report --lines``).  ``--census`` adds
the census of the objects the cell created and left alive;
``%heapmark_census [--top N]`` prints the census of the whole heap.

The cell is compiled from a copy of its source saved in the results
directory (cell-N.py), so that the profile can show each line's text and a
traceback still points at the cell's lines.
"""

import html
import os
import shlex

OPTIONS_HELP = (
    "%%heapmark [--exact] [--sample-rate BYTES] [--seed N] [-o DIR] [--top N] "
    "[--lines] [--census] [--no-flamegraph]"
)


def _usage_error(message):
    from IPython.core.error import UsageError

    return UsageError("heapmark: %s (usage: %s)" % (message, OPTIONS_HELP))


def parse_cell_options(line):
    """The magic's options, from its line, as a dict."""
    options = {
        "exact": False,
        "sample_rate": 65536,
        "seed": 0,
        "directory": None,
        "top": 10,
        "census": False,
        "lines": False,
        "flamegraph": True,
    }
    try:
        words = shlex.split(line)
    except ValueError as e:
        raise _usage_error(str(e)) from None
    i = 0
    while i < len(words):
        word, value = words[i], None
        if word.startswith("--") and "=" in word:
            word, value = word.split("=", 1)
        flags = {
            "--exact": "exact",
            "--census": "census",
            "--lines": "lines",
            "--no-flamegraph": "flamegraph",
        }
        if word in flags and value is None:
            key = flags[word]
            options[key] = word != "--no-flamegraph"
            i += 1
            continue
        if word not in ("--sample-rate", "--seed", "-o", "--output", "--top"):
            raise _usage_error("unknown option '%s'" % word)
        if value is None:
            if i + 1 >= len(words):
                raise _usage_error("%s needs a value" % word)
            value = words[i + 1]
            i += 1
        i += 1
        if word == "--sample-rate":
            from heapmark.cli.common import UsageError, parse_size

            try:
                options["sample_rate"] = parse_size(value, word)
            except UsageError as e:
                raise _usage_error(str(e)) from None
        elif word in ("-o", "--output"):
            options["directory"] = value
        else:
            if not value.isdigit():
                raise _usage_error("%s expects a whole number, not '%s'" % (word, value))
            options["seed" if word == "--seed" else "top"] = int(value)
    return options


def _size(n):
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(n) >= scale:
            return "%.1f %s" % (n / scale, unit)
    return "%d B" % n


class CellResult:
    """What a %%heapmark cell shows: text for terminals and tests, HTML for
    the notebook (the same figures in both)."""

    def __init__(
        self, cell_number, source_path, tracker, top, census_text, flamegraph, listing=None
    ):
        self.cell_number = cell_number
        self.source_path = source_path
        self.tracker = tracker
        self.top = top
        self.census_text = census_text
        self.flamegraph = flamegraph
        # With --lines: [(line, figures or None, text)], and the text of
        # heapmark report --lines for the cell.
        self.listing, self.listing_text = listing or (None, None)

    def place(self, row):
        if os.path.abspath(row["file"]) == self.source_path:
            return "cell [%d] line %d" % (self.cell_number, row["line"])
        return "%s (%s:%d)" % (row["function"], row["file"], row["line"])

    def mode(self):
        t = self.tracker
        if t.exact:
            return "exact"
        return "sampled, one sample per %s allocated; per-line figures are estimates" % _size(
            t.sample_rate
        )

    def _repr_pretty_(self, p, cycle):
        p.text(self.text())

    def text(self):
        t = self.tracker
        lines = [
            "heapmark: cell [%d]: peak %s (%d bytes), still allocated at the end %s (%d bytes); %s"
            % (
                self.cell_number,
                _size(t.peak_bytes),
                t.peak_bytes,
                _size(t.end_bytes),
                t.end_bytes,
                self.mode(),
            )
        ]
        if self.top:
            lines.append("the cell's top lines at the peak:")
        for row in self.top:
            share = 100.0 * row["bytes"] / t.peak_bytes if t.peak_bytes else 0.0
            lines.append(
                "  %10s  %5.1f%%  %s  %s"
                % (_size(row["bytes"]), share, self.place(row), row.get("source", "").strip())
            )
        if self.listing is not None:
            lines.append("the cell line by line:")
            lines.append((self.listing_text or "no line of the cell allocated memory").rstrip())
        lines.append("profile: %s" % t.profile)
        if self.census_text:
            lines.append("objects the cell created and left alive:")
            lines.append(self.census_text.rstrip("\n"))
        return "\n".join(lines)

    def html(self):
        t = self.tracker
        e = html.escape
        rows = "".join(
            "<tr><td style='text-align:right'>%s</td><td style='text-align:right'>%.1f%%</td>"
            "<td>%s</td><td><code>%s</code></td></tr>"
            % (
                e(_size(row["bytes"])),
                100.0 * row["bytes"] / t.peak_bytes if t.peak_bytes else 0.0,
                e(self.place(row)),
                e(row.get("source", "").strip()),
            )
            for row in self.top
        )
        parts = [
            "<div class='heapmark-cell'>",
            "<p><b>heapmark</b>: cell [%d]: peak <b>%s</b> (%d bytes), still allocated at the end "
            "<b>%s</b> (%d bytes); %s</p>"
            % (
                self.cell_number,
                e(_size(t.peak_bytes)),
                t.peak_bytes,
                e(_size(t.end_bytes)),
                t.end_bytes,
                e(self.mode()),
            ),
        ]
        if rows:
            parts.append(
                "<table><thead><tr><th>held at the peak</th><th>share</th><th>line</th>"
                "<th>source</th></tr></thead><tbody>%s</tbody></table>" % rows
            )
        if self.listing:
            body = "".join(
                "<tr><td style='text-align:right'>%d</td><td style='text-align:right'>%s</td>"
                "<td style='text-align:right'>%s</td><td style='text-align:right'>%s</td>"
                "<td style='text-align:left'>%s</td>"
                "<td style='text-align:left'><pre style='margin:0'>%s</pre></td></tr>"
                % ((number,) + tuple(e(c) for c in _listing_cells(row)) + (e(text),))
                for number, row, text in self.listing
            )
            parts.append(
                "<p>the cell line by line (what each line's callees allocated included):</p>"
                "<table class='heapmark-lines'><thead><tr><th>line</th><th>at peak</th>"
                "<th>allocated</th><th>allocations</th><th>kinds</th><th>source</th></tr></thead>"
                "<tbody>%s</tbody></table>" % body
            )
        if self.census_text:
            parts.append(
                "<p>objects the cell created and left alive:</p>"
                "<pre style='font-family:monospace'>%s</pre>" % e(self.census_text)
            )
        if self.flamegraph:
            # report.html whole, as the frame's document: its own script and
            # stylesheet, allowed by its own Content-Security-Policy.
            parts.append(
                "<iframe class='heapmark-report' srcdoc=\"%s\" "
                "style='width:100%%;height:640px;border:1px solid #ccc'></iframe>"
                % e(self.flamegraph, quote=True)
            )
        parts.append("<p><small>profile: %s</small></p></div>" % e(t.profile))
        return "".join(parts)

    MIME_TYPE = "application/vnd.heapmark.cell+json"

    def figures(self):
        """The figures shown, as data (kept in the notebook's output too)."""
        t = self.tracker
        return {
            "cell": self.cell_number,
            "peak_bytes": t.peak_bytes,
            "end_bytes": t.end_bytes,
            "exact": t.exact,
            "sample_rate": t.sample_rate,
            "profile": t.profile,
            "top": [
                {"place": self.place(row), "bytes": row["bytes"], "source": row.get("source", "")}
                for row in self.top
            ],
            "census": self.census_text,
            "lines": [
                dict(row, line=number) for number, row, _ in self.listing or () if row is not None
            ],
        }

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {
            "text/plain": self.text(),
            "text/html": self.html(),
            self.MIME_TYPE: self.figures(),
        }


def _listing_cells(row):
    """At peak, allocated, allocations and kinds of a listed line, as shown
    ("" for 0)."""
    if row is None:
        return "", "", "", ""
    kinds = row.get("kinds") or {}
    total = sum(kinds.values())
    shown = sorted(kinds.items(), key=lambda kv: -kv[1])[:2]
    return (
        _size(row["peak_bytes"]) if row["peak_bytes"] else "",
        _size(row["allocated_bytes"]) if row["allocated_bytes"] else "",
        "{:,}".format(row["allocations"]) if row["allocations"] else "",
        ", ".join("%.0f%% %s" % (100.0 * b / total, k) for k, b in shown) if total else "",
    )


def listing_of(tracker, source_path, cell):
    """Every line of the cell with its figures (None where it allocated
    nothing): [(line, {peak_bytes, allocated_bytes, allocations}, text)],
    and the text heapmark report --lines prints for the cell's file (None
    when no line of the cell allocated anything)."""
    import heapmark

    try:
        found, text = tracker.lines(source_path)["lines"], tracker.lines(source_path, text=True)
    except heapmark.TrackingError:
        found, text = [], None
    rows = {}
    for row in found:
        keys = ("peak_bytes", "allocated_bytes", "allocations", "kinds")
        rows[row["line"]] = {k: row[k] for k in keys if k in row}
    listing = [(i, rows.get(i), line) for i, line in enumerate(cell.splitlines(), start=1)]
    return listing, text


def lines_of(rows, n, source_path):
    """The cell's lines among the report's rows (one per function and line),
    merged per line: a cell line running a comprehension holds memory in two
    functions.  (What IPython's own frames hold is left to the report.)"""
    merged = {}
    for row in rows:
        if os.path.abspath(row["file"]) != source_path:
            continue
        key = row["line"]
        if key in merged:
            merged[key]["bytes"] += row["bytes"]
        else:
            merged[key] = dict(row)
    return sorted(merged.values(), key=lambda r: -r["bytes"])[:n]


def cell_number(shell):
    """N of the cell running now, as its In [N] shows.  IPython 9 counts the
    cell before it runs and IPython 8 after, but both store the cell's input
    first, at index N of the raw input history."""
    history = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None)
    return len(history) - 1 if history else shell.execution_count


def run_cell(shell, line, cell):
    """The body of %%heapmark: returns the CellResult it displayed."""
    import heapmark
    from heapmark.cli.common import result_file

    options = parse_cell_options(line)
    number = cell_number(shell)
    directory = options["directory"] or os.path.join(result_file("DEFAULT_DIR"), "cell-%d" % number)
    directory = os.path.abspath(directory)
    try:
        os.makedirs(directory, exist_ok=True)
        source_path = os.path.join(directory, "cell-%d.py" % number)
        with open(source_path, "w", encoding="utf-8") as f:
            f.write(cell)
    except OSError as e:
        raise _usage_error("cannot write in %s: %s" % (directory, e.strerror or e)) from None
    code = compile(cell, source_path, "exec")
    if options["census"]:
        heapmark.setref()
    try:
        tracker = heapmark.track(
            directory,
            exact=options["exact"],
            sample_rate=options["sample_rate"],
            seed=options["seed"],
        )
    except heapmark.TrackingError as e:
        if options["census"]:
            heapmark.setref(clear=True)
        raise _usage_error(str(e)) from None
    try:
        with tracker:
            exec(code, shell.user_ns)
    finally:
        census_text = None
        if options["census"]:
            census_text = str(heapmark.heap().table(options["top"]))
            heapmark.setref(clear=True)
    if tracker.profile is None:
        return None
    top = lines_of(tracker.top(options["top"] * 4 + 10), options["top"], source_path)
    flamegraph = None
    if options["flamegraph"]:
        with open(os.path.join(directory, result_file("REPORT_HTML")), encoding="utf-8") as f:
            flamegraph = f.read()
    listing = listing_of(tracker, source_path, cell) if options["lines"] else None
    result = CellResult(number, source_path, tracker, top, census_text, flamegraph, listing)
    from IPython.display import display

    display(result)
    return result


def census_line(shell, line):
    """%heapmark_census [--top N]: the census of every live object."""
    import heapmark

    words = shlex.split(line)
    top = 10
    if words[:1] == ["--top"] and len(words) == 2 and words[1].isdigit():
        top = int(words[1])
    elif words:
        from IPython.core.error import UsageError

        raise UsageError("heapmark: usage: %heapmark_census [--top N]")
    print(heapmark.heap().table(top))


def load_ipython_extension(ipython):
    from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

    @magics_class
    class HeapmarkMagics(Magics):
        @cell_magic("heapmark")
        def heapmark_cell(self, line, cell):
            """Runs the cell under heapmark's in-process tracking; options:
            --exact, --sample-rate BYTES, --seed N, -o DIR, --top N, --lines,
            --census, --no-flamegraph (see heapmark.jupyter)."""
            run_cell(self.shell, line, cell)

        @line_magic("heapmark_census")
        def heapmark_census(self, line):
            """Prints the census of the live objects (heapmark.heap())."""
            census_line(self.shell, line)

    ipython.register_magics(HeapmarkMagics)
