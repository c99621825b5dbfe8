"""A long-running program for heapmark attach: it holds MARKERS instances of
Marker from the start, then loops forever allocating known sizes at known
lines (marked "# line: NAME" for the tests), one iteration every PERIOD
seconds, printing a heartbeat on stdout with what heapmark's engine says of
itself in this process (tracking, and how many relocations point at its
hooks), so that a test sees the program go on and the hooks go.

usage: long_running.py [busy] [contended] [exit-after TICKS]
  busy: no sleep, the main thread never waits in a system call
  contended: a second thread spins too, so that the main thread is often
    waiting for the GIL, inside CPython's handover of it
  exit-after: return from main after TICKS iterations (atexit handlers run)
"""

import sys
import threading
import time

BIG = 8 << 20  # one native buffer, held for the iteration
SMALL = 1000  # bytes objects of SMALL bytes, COUNT of them
COUNT = 4000
MARKERS = 1234
PERIOD = 0.05


class Marker:
    def __init__(self, n):
        self.n = n


markers = [Marker(i) for i in range(MARKERS)]


def engine_state():
    engine = sys.modules.get("heapmark._heapmark")
    if engine is None:
        return "tracking=none"
    state = engine._track_state()
    return "tracking=%s slots=%d" % (state["tracking"], state["redirected_slots"])


def iteration():
    big = bytearray(BIG)  # line: big
    small = [bytes(SMALL) for _ in range(COUNT)]  # line: small
    return len(big) + len(small)


def spin():
    while True:
        sum(range(1000))


def main():
    if "contended" in sys.argv:
        threading.Thread(target=spin, daemon=True).start()
    busy = "busy" in sys.argv
    last = int(sys.argv[sys.argv.index("exit-after") + 1]) if "exit-after" in sys.argv else 0
    tick = 0
    while not last or tick < last:
        iteration()
        tick += 1
        if tick % (50 if busy else 4) == 0:
            print("tick %d %s" % (tick, engine_state()), flush=True)
        if not busy:
            time.sleep(PERIOD)


main()
