"""Multi-threaded allocation workload for bench/run.py.

Eight threads, of three kinds:

* threads 0-3 ("objects"): pure Python, building lists, dicts and strings;
  they hold the GIL while they allocate, so they take turns;
* threads 4-5 ("numpy"): numpy arrays; numpy drops the GIL for the
  arithmetic, so these run next to the Python threads;
* threads 6-7 ("native"): native memory with the GIL released: malloc,
  memset, calloc and free of libc called through ctypes, whose foreign calls
  release the GIL for their whole duration, allocation included.

Phase 1 (most of the run time): every thread allocates and frees in a loop
(a thread holds at most 8 MB at once).  A barrier then waits for all of
them.

Phase 2 (the peak): each thread allocates a known amount, which depends on
its index, on one line of its thread function (the marked lines below, one
per kind of allocation), and waits at the barrier again: once all eight
threads and the main thread are there, every thread holds its memory at the
same moment.  The main thread then allocates a 32 MiB bytes object last, so
that this is clearly the peak of tracked memory (the threads hold about
140 MB; in phase 1 the eight threads together never hold more than about
35 MB at once), computes the truth, and lets the threads free their memory
and finish.

With ``--truth FILE`` the script writes the bytes each marked line (a
``# truth:NAME`` comment) holds at the peak, summed over the threads that
run it, as JSON, with the blocks they are made of ([size, count] pairs).
Convention: objects of 512 bytes or less come from pymalloc and are counted
at their 16-byte size class (sys.getsizeof rounded up to 16); larger blocks
at their requested size.  Counted: the strings, the fresh ints (above 256;
smaller ones are cached) that enumerate hands out, the pointer arrays of the
lists and the hash tables of the dicts; numpy arrays as data plus the
ndarray header (sys.getsizeof, as in numpy_pipeline.py); native blocks at
the size asked of malloc, plus the Python int that holds the address the
ctypes call returns.  Left out: the list and dict objects themselves, which
CPython may hand out from its free lists.

Usage: python threaded_alloc.py [--scale F] [--truth FILE]
"""
import ctypes
import sys
import threading

import numpy as np

import _truth

ROUNDS = 60           # phase 1 rounds per thread at --scale 1 (about 2.5 s on the bench machine)
N_THREADS = 8
OBJECT_THREADS = range(0, 4)
NUMPY_THREADS = range(4, 6)
NATIVE_THREADS = range(6, 8)
N_NAMES = 60_000      # strings held by object thread 0; thread i holds N_NAMES * (i + 1)
NUMPY_MB = 12         # MiB held by numpy thread 4; thread i holds NUMPY_MB + 4 * (i - 4)
NATIVE_MB = 10        # MiB held by native thread 6; thread i holds NATIVE_MB + 6 * (i - 6)
BALLAST = 32 << 20    # bytes of the last allocation before the peak

libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.calloc.restype = ctypes.c_void_p
libc.calloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
libc.free.restype = None
libc.free.argtypes = [ctypes.c_void_p]


# ---- the threads ---------------------------------------------------------------

def objects_thread(idx, rounds, barrier, release, held):
    acc = 0
    for r in range(rounds * 2):
        recs = [{"id": k, "name": "r%d-%d-%d" % (idx, r, k), "vals": [k, r, idx]}
                for k in range(4_000)]
        blob = "|".join(rec["name"] for rec in recs)
        parts = blob.split("|")
        lookup = {p: len(p) for p in parts}
        acc += sum(lookup.values()) + len(recs)
        del recs, blob, parts, lookup
    barrier.wait()                       # everybody is done churning
    names = ["t%d-%010d" % (idx, k) for k in range(N_NAMES * (idx + 1))]  # truth:thread_strings
    index = {name: k for k, name in enumerate(names)}  # truth:thread_dicts
    held[idx] = (names, index)
    barrier.wait()                       # everybody holds its memory: the peak
    release.wait()
    del names, index
    held[idx] = acc


def numpy_thread(idx, rounds, barrier, release, held):
    acc = 0.0
    n = 256 * 1024                       # 2 MiB of float64
    for r in range(rounds * 5):
        a = np.ones(n) * (r + 1)
        b = np.sqrt(a + 1.0)
        c = np.sort(b[::-1])
        acc += float(c[0] + b.sum())
        del a, b, c
    barrier.wait()
    arr = np.ones((NUMPY_MB + 4 * (idx - 4)) << 17)  # truth:thread_numpy
    held[idx] = arr
    barrier.wait()
    release.wait()
    del arr
    held[idx] = acc


def native_thread(idx, rounds, barrier, release, held):
    acc = 0
    sizes = [64 << 10, 1 << 20, 3 << 20, 200, 5000]
    for r in range(rounds * 20):
        blocks = []
        for s in sizes:
            p = libc.malloc(s + r)
            ctypes.memset(p, r & 0xFF, s + r)
            blocks.append(p)
        q = libc.calloc(1024, 1024)
        acc += ctypes.string_at(q, 1)[0] + ctypes.string_at(blocks[1], 1)[0]
        libc.free(q)
        for p in blocks:
            libc.free(p)
    barrier.wait()
    size = (NATIVE_MB + 6 * (idx - 6)) << 20
    ptr = libc.malloc(size)  # truth:thread_native
    ctypes.memset(ptr, 0x5A, size)
    held[idx] = (ptr, size)
    barrier.wait()
    release.wait()
    libc.free(ptr)
    held[idx] = acc


# ---- truth -------------------------------------------------------------------------

def truth(held):
    """Expected blocks per marked line, from sys.getsizeof: {name: [[size, count], ...]}."""
    gs = sys.getsizeof
    strings, dicts, arrays, native = {}, [], [], []

    def add(table, size, n=1):
        table[size] = table.get(size, 0) + n

    for i in OBJECT_THREADS:
        names, index = held[i]
        for s in names:            # all the same length within a thread
            add(strings, _truth.pym(gs(s)))
        add(strings, _truth.pym(gs(names) - gs([])))
        dicts.append([_truth.pym(gs(index) - gs({})), 1])
        # enumerate's ints 0..n-1: those above 256 are fresh, all below 2**30
        n = len(names)
        dicts.append([_truth.pym(gs(n - 1)), max(0, n - 257)])
    for i in NUMPY_THREADS:
        a = held[i]
        arrays += [[a.nbytes, 1], [_truth.pym(gs(a) - a.nbytes), 1]]
    for i in NATIVE_THREADS:
        ptr, size = held[i]
        native += [[size, 1], [_truth.pym(gs(ptr)), 1]]
    return {
        "thread_strings": sorted([size, n] for size, n in strings.items()),
        "thread_dicts": dicts,
        "thread_numpy": arrays,
        "thread_native": native,
    }


def main():
    args = _truth.arguments(__doc__)

    rounds = max(1, int(ROUNDS * args.scale))
    barrier = threading.Barrier(N_THREADS + 1)
    release = threading.Event()
    held = {}
    threads = []
    for i in range(N_THREADS):
        target = (objects_thread if i in OBJECT_THREADS else
                  numpy_thread if i in NUMPY_THREADS else native_thread)
        threads.append(threading.Thread(target=target, name="worker-%d" % i,
                                         args=(i, rounds, barrier, release, held)))
    for t in threads:
        t.start()
    barrier.wait()        # phase 1 over
    barrier.wait()        # every thread holds its known memory
    ballast = bytes(BALLAST)  # truth:ballast
    expected = truth(held) if args.truth else None
    if expected is not None:
        expected["ballast"] = [[_truth.pym(sys.getsizeof(ballast)), 1]]
    del ballast
    release.set()
    for t in threads:
        t.join()

    if args.truth:
        _truth.write(args.truth, "threaded_alloc", __file__, expected)
    print("threaded_alloc checksum %d" % sum(int(held[i]) for i in range(N_THREADS)))


if __name__ == "__main__":
    main()
