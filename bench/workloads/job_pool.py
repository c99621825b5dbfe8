"""A job of 9 processes for bench/job.py: a parent and a Pool(8) whose
workers do allocation-heavy Python work, each up to a peak of its own.

The parent holds a list of small objects, starts ``multiprocessing.Pool(8)``
and maps one task to each worker (a barrier makes them 8 distinct
processes).  A worker runs STEPS steps; at each it builds and drops a
throw-away batch of dicts (churn), then keeps a batch of objects, each a
small class instance with a dict and a str, that grows step by step; every
third step it drops the older half of what it keeps (a sawtooth whose teeth
rise).  Worker i's batches are (1 + i/8) times worker 0's, so each worker
peaks at a size of its own, and the sum of the 9 processes climbs to a new
high again and again while they run: the job view's candidate copies happen
many times.  Plain, about 2-3 s of wall time on a 2-core machine.

Usage: python job_pool.py [--scale S] [--workers N]
"""

import argparse
import multiprocessing

STEPS = 24
UNIT = 2200  # objects kept per step by worker 0, at --scale 1
CHURN = 6000  # dicts built and dropped per step


class Item:
    def __init__(self, i, tag):
        self.i = i
        self.tag = tag
        self.attrs = {"n": i, "sq": i * i}


def init(barrier):
    global BARRIER
    BARRIER = barrier


def task(job):
    import os

    index, workers, scale = job
    BARRIER.wait()  # every worker has its task: N distinct processes
    factor = 1.0 + index / workers
    kept = []
    high = 0
    for step in range(STEPS):
        batch = [{"k": i, "v": "c%d" % i, "l": [i, i]} for i in range(int(CHURN * scale))]
        del batch
        n = int(UNIT * scale * factor * (1 + step / 4))
        kept.append([Item(i, "w%d-%d" % (index, i)) for i in range(n)])
        high = max(high, sum(len(b) for b in kept))
        if step % 3 == 2:
            del kept[: len(kept) // 2]
    return index, os.getpid(), high


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    held = [(i, "p%d" % i) for i in range(50_000)]
    barrier = multiprocessing.Barrier(args.workers)
    with multiprocessing.Pool(args.workers, initializer=init, initargs=(barrier,)) as pool:
        jobs = [(i, args.workers, args.scale) for i in range(args.workers)]
        done = pool.map(task, jobs, chunksize=1)
    pids = {pid for _, pid, _ in done}
    assert len(pids) == args.workers, "a worker ran two tasks"
    del held


if __name__ == "__main__":
    main()
