"""Ground truth: a 3-process multiprocessing pool whose workers each hold a
different known size at their peak.  argv: truth.json start_method

A barrier keeps each worker on exactly one task, so worker k holds
SIZES[k] bytes (one bytearray) at its peak; the parent holds PARENT bytes.
"""
import multiprocessing as mp
import os
import sys

from truth import here, write

MB = 1 << 20
SIZES = [20 * MB, 40 * MB, 60 * MB]
PARENT = 10 * MB
barrier = None


def init(b):
    global barrier
    barrier = b


def task(k):
    barrier.wait()
    held = bytearray(SIZES[k]); line = here()
    barrier.wait()      # every worker holds its block at once
    return os.getpid(), sys.getsizeof(held), line


def main(out, method):
    ctx = mp.get_context(method)
    parent = bytearray(PARENT); parent_line = here()
    with ctx.Pool(3, initializer=init, initargs=(ctx.Barrier(3),)) as pool:
        results = pool.map(task, range(3), chunksize=1)
    write(out, children={str(pid): size for pid, size, _ in results},
          lines={"child": results[0][2], "parent": parent_line},
          parent={"pid": os.getpid(), "bytes": sys.getsizeof(parent)})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
