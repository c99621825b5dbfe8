"""What heapmark top costs: the program it watches, and the monitor thread.

Runs a program under `heapmark run --exact --checkpoint 0` that first builds
tests/programs/many_stacks.py's call tree (111,111 nodes: a large profile),
then allocates and frees in a loop for SECONDS and prints how many rounds it
made - once unwatched, once with a watcher asking for fresh live files every
0.5 s (heapmark top --interval 0.5, through the same module calls).  Prints
the rounds of each (the program's cost), how long each PID.db took to write
(the monitor's), and the round trip of a request answered with PID.live alone.

usage: python bench/live_top.py [SECONDS] [REPEATS]
"""

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

from heapmark import _heapmark

HERE = os.path.dirname(os.path.abspath(__file__))
MANY_STACKS = os.path.join(HERE, os.pardir, "tests", "programs", "many_stacks.py")
PROGRAM = """
import sys, time
sys.argv = ["many_stacks.py", "5"]
exec(compile(open(%r).read(), "many_stacks.py", "exec"))
print("ready", flush=True)
rounds, end = 0, time.monotonic() + %f
while time.monotonic() < end:
    x = [bytearray(100) for _ in range(100)]
    del x
    rounds += 1
print("rounds", rounds, flush=True)
"""


def run(seconds, watched):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "p.py")
        with open(path, "w") as f:
            f.write(PROGRAM % (MANY_STACKS, seconds))
        heapmark = os.path.join(os.path.dirname(sys.executable), "heapmark")
        proc = subprocess.Popen(
            [heapmark, "run", "-q", "--exact", "--checkpoint", "0", "-o", d + "/res", path],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout.readline() == "ready\n"
        pid = int(open("/proc/%d/task/%d/children" % (proc.pid, proc.pid)).read().split()[0])
        writes, trips = [], []
        while watched and proc.poll() is None:
            status, state = _heapmark._watch_read(pid)
            if status != "ok":
                break
            start = time.monotonic()
            _heapmark._watch_request(pid)
            while True:
                status, new = _heapmark._watch_read(pid)
                if status != "ok" or new["seq"] > state["seq"]:
                    break
                time.sleep(0.001)
            if status != "ok":
                break
            if new["now_seq"] > state["now_seq"]:
                writes.append(new["now_ms"])
            else:
                trips.append((time.monotonic() - start) * 1000)
            time.sleep(0.5)
        out = proc.communicate()[0]
        return int(re.search(r"rounds (\d+)", out).group(1)), writes, trips


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 6
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    plain, watched, writes, trips = [], [], [], []
    for _ in range(repeats):
        plain.append(run(seconds, False)[0])
        rounds, w, t = run(seconds, True)
        watched.append(rounds)
        writes += w
        trips += t
    print("rounds unwatched: median %d %s" % (statistics.median(plain), plain))
    print("rounds watched every 0.5 s: median %d %s" % (statistics.median(watched), watched))
    print(
        "PID.db writes: %d, median %.1f ms, max %.1f ms"
        % (len(writes), statistics.median(writes), max(writes))
    )
    if trips:
        print(
            "requests answered with PID.live alone: %d, median round trip %.2f ms"
            % (len(trips), statistics.median(trips))
        )


main()
