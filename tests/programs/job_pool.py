"""A parent and a pool of 4 workers whose memory peaks at different moments:
worker A alone, then worker B alone, then C and D together (the job's
combined peak), the parent holding its own block throughout.  Writes the
truth (pids, sizes) as JSON to argv[1]; argv[2], if given, is the start
method (fork by default)."""
import json
import multiprocessing
import sys
import time

import heapmark

MB = 1 << 20
SIZES = {"A": 30 * MB, "B": 40 * MB, "C": 50 * MB, "D": 60 * MB}
HOLD_S = 0.4


def init(barrier):
    global BARRIER
    BARRIER = barrier


def task(name):
    import os

    BARRIER.wait()  # all four running: four distinct workers
    for phase in ("A", "B", "CD"):
        if name in phase:
            block = bytearray(SIZES[name])  # a worker's block
            time.sleep(HOLD_S)
            del block
        BARRIER.wait()
    return name, os.getpid()


def main():
    context = multiprocessing.get_context(sys.argv[2] if len(sys.argv) > 2 else "fork")
    barrier = context.Barrier(4)
    with context.Pool(4, initializer=init, initargs=(barrier,)) as pool:
        held = bytearray(20 * MB)  # the parent's block
        with heapmark.phase("workers"):
            pids = dict(pool.map(task, ["A", "B", "C", "D"], chunksize=1))
        del held
    with open(sys.argv[1], "w") as f:
        json.dump({"pids": pids, "sizes": SIZES, "parent": 20 * MB}, f)


if __name__ == "__main__":
    main()
