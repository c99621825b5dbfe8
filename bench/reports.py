"""Report generation on a large call tree: how long ``heapmark report`` takes
and how big report.html gets for a profile of 100,000+ call-tree nodes.

usage: python bench/reports.py [--python PY] [--reps N] [--levels L] [--workdir DIR] [--browser]

Records tests/programs/many_stacks.py once with ``heapmark run --exact``
(10 ** L allocating stacks; L = 5 gives about 136,000 nodes with the
interpreter's own start-up), then times ``heapmark report PROFILE -o DIR``
--reps times (wall clock, CLI start-up included, every report rendered:
report.html, peak.svg, the folded stacks and peak.txt) and prints the
median, with the size of each report.  Also renders report.html with no
pruning (--html-min-bytes 0) to show what pruning saves.  With --browser
(Selenium and Debian's chromium and chromium-driver), also the time headless
Chromium takes to open each page and run its script (median of --reps).
Targets: under 2 s and a report.html under 5 MB.
"""

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "..", "tests", "programs", "many_stacks.py")
MiB = 1 << 20


def heapmark(python, *args, cwd):
    command = [os.path.join(os.path.dirname(os.path.abspath(python)), "heapmark")] + list(args)
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def timed_report(python, profile, out, extra=()):
    started = time.perf_counter()
    heapmark(python, "report", profile, "-o", out, *extra, cwd=os.path.dirname(profile))
    return time.perf_counter() - started


def browser_load_times(pages, reps):
    """{page: median seconds from navigation to the page's script done}."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1600"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    try:
        result = {}
        for page in pages:
            times = []
            for _ in range(reps + 1):
                started = time.perf_counter()
                driver.get("file://" + os.path.abspath(page))  # returns after the load event
                assert driver.execute_script("return !!window.heapmarkReport")
                times.append(time.perf_counter() - started)
                driver.get("about:blank")
            result[page] = statistics.median(times[1:])
        return result
    finally:
        driver.quit()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter with heapmark installed (its heapmark is used)",
    )
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--levels", type=int, default=5)
    parser.add_argument("--workdir", default=None)
    parser.add_argument(
        "--browser", action="store_true", help="also time opening the pages in headless Chromium"
    )
    args = parser.parse_args()
    work = args.workdir or tempfile.mkdtemp(prefix="heapmark-bench-reports-")
    os.makedirs(work, exist_ok=True)
    run_dir = os.path.join(work, "run")
    heapmark(
        args.python,
        "run",
        "-q",
        "--exact",
        "-o",
        run_dir,
        os.path.abspath(PROGRAM),
        str(args.levels),
        cwd=work,
    )
    profile = os.path.join(run_dir, "profile.db")
    nodes = sqlite3.connect(profile).execute("select count(*) from nodes").fetchone()[0]

    out = os.path.join(work, "report")
    timed_report(args.python, profile, out)  # warm the page cache
    times = [timed_report(args.python, profile, out) for _ in range(args.reps)]
    full = os.path.join(work, "unpruned")
    full_time = timed_report(args.python, profile, full, ["--html-min-bytes", "0"])

    print(
        "heapmark report on a profile of %d call-tree nodes (%.1f MiB profile.db)"
        % (nodes, os.path.getsize(profile) / MiB)
    )
    print(
        "  report time: median %.3f s over %d runs (min %.3f, max %.3f), all reports"
        % (statistics.median(times), len(times), min(times), max(times))
    )
    for name in ("report.html", "peak.svg", "peak.folded", "end.folded", "peak.txt"):
        print("  %-12s %8.2f MiB" % (name, os.path.getsize(os.path.join(out, name)) / MiB))
    print(
        "  report.html without pruning (--html-min-bytes 0): %.2f MiB, report time %.3f s"
        % (os.path.getsize(os.path.join(full, "report.html")) / MiB, full_time)
    )
    if args.browser:
        pages = [os.path.join(out, "report.html"), os.path.join(full, "report.html")]
        loads = browser_load_times(pages, args.reps)
        print(
            "  opening in headless Chromium (median of %d): report.html %.3f s, without "
            "pruning %.3f s" % (args.reps, loads[pages[0]], loads[pages[1]])
        )
    ok = (
        statistics.median(times) < 2 and os.path.getsize(os.path.join(out, "report.html")) < 5 * MiB
    )
    print("  targets (under 2 s, report.html under 5 MB): %s" % ("met" if ok else "MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
