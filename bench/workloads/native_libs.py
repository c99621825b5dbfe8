"""Native-heavy workload for bench/run.py and bench/native.py: code nobody
here wrote, allocating from C.

Phase 1 (most of the run time), each step in a library's C code:

* ``sqlite3``: an in-memory database of 40,000 rows built with executemany,
  an index, a GROUP BY and an ORDER BY over a text column (libsqlite3's
  pages, its sorter and its statements: malloc from deep C stacks);
* ``zlib``, ``bz2`` and ``lzma``: text compressed and decompressed (the
  codecs' state and windows, malloc'd by libz, libbz2 and liblzma);
* ``json`` and ``pickle``: documents encoded and decoded by the C
  accelerators (_json, _pickle: Python objects allocated from C);
* ``numpy``: sort, argsort, unique and a matrix product (numpy's and
  OpenBLAS's buffers).

Phase 2 (the peak): decompressed blobs (zlib), pickled documents, a sorted
array and a 24 MiB bytes object last, all held together, well above what
phase 1 holds at once (the database is closed before), so the peak is
there.

With ``--truth FILE`` the script writes the bytes each marked line (a
``# truth:NAME`` comment) holds at the peak, as JSON, with the blocks they
are made of ([size, count] pairs): ``sys.getsizeof`` of each bytes object
(all above pymalloc's 512 bytes, so blocks of their requested size) and
``nbytes`` plus the header of the array.

Usage: python native_libs.py [--scale F] [--truth FILE]
"""

import bz2
import json
import lzma
import pickle
import sqlite3
import sys
import zlib

import numpy as np

import _truth

ROUNDS = 4  # phase 1 rounds at --scale 1 (about 2.5 s on the bench machine)
ROWS = 40_000  # sqlite rows per round
N_BLOBS = 400  # decompressed blobs held at the peak
BLOB_LINES = 400  # text lines per blob (about 24 KB)
N_PICKLES = 2_000  # pickled documents held at the peak
SORTED = 2_000_000  # float64 values of the sorted array at the peak (16 MB)
BALLAST = 24 << 20  # bytes of the last allocation before the peak (more than `values`)


def text(seed, lines):
    return "".join(
        "%d,user%05d,%s,%.3f\n"
        % (i, (i * 7919 + seed) % 50_000, "abcdefgh"[i % 8] * (i % 13), i * 0.5)
        for i in range(lines)
    ).encode()


def document(i):
    return {
        "id": i,
        "name": "item-%d" % i,
        "tags": ["t%d" % (i % 17), "x"],
        "values": [i * 0.25, i + 1, None, True],
        "nested": {"k": "v" * (i % 40)},
    }


def sqlite_round(seed):
    db = sqlite3.connect(":memory:")
    db.execute("create table t(id integer primary key, user text, amount real, note text)")
    db.executemany(
        "insert into t(user, amount, note) values (?, ?, ?)",
        (("user%05d" % ((i * 7919 + seed) % 5_000), i * 0.5, "n" * (i % 50)) for i in range(ROWS)),
    )
    db.execute("create index t_user on t(user)")
    groups = db.execute("select user, count(*), sum(amount) from t group by user").fetchall()
    ordered = db.execute("select note, user from t order by note desc, user limit 2000").fetchall()
    total = db.execute("select sum(length(note)) from t where user > 'user02500'").fetchone()[0]
    db.close()
    return len(groups) + len(ordered) + total


def codec_round(seed):
    data = text(seed, 3_000)
    acc = 0
    # lzma's default preset reserves a 94 MB dictionary: preset 1 (1 MiB) keeps
    # phase 1 below the peak of phase 2.
    for compress, decompress in (
        (zlib.compress, zlib.decompress),
        (bz2.compress, bz2.decompress),
        (lambda d: lzma.compress(d, preset=1), lzma.decompress),
    ):
        packed = compress(data)
        acc += len(packed) + len(decompress(packed))
    for level in (1, 6, 9):
        acc += len(zlib.decompress(zlib.compress(data, level)))
    return acc


def serial_round(seed):
    docs = [document(i + seed) for i in range(3_000)]
    encoded = json.dumps(docs)
    back = json.loads(encoded)
    pickled = pickle.dumps(back, protocol=pickle.HIGHEST_PROTOCOL)
    return len(encoded) + len(pickle.loads(pickled))


def numpy_round(seed):
    rng = np.random.default_rng(seed)
    values = rng.random(400_000)
    keys = rng.integers(0, 10_000, size=400_000)
    m = rng.random((200, 200))
    acc = float(np.sort(values)[-1]) + float(np.argsort(keys)[0])
    acc += float(len(np.unique(keys))) + float((m @ m).trace())
    return acc


def main():
    args = _truth.arguments(__doc__)
    acc = 0.0
    for r in range(max(1, int(ROUNDS * args.scale))):
        acc += sqlite_round(r) + codec_round(r) + serial_round(r) + numpy_round(r)

    packed = [zlib.compress(text(i, BLOB_LINES)) for i in range(N_BLOBS)]
    blobs = [zlib.decompress(p) for p in packed]  # truth:blobs
    padded = [document(i) | {"pad": "p" * 600} for i in range(N_PICKLES)]
    pickles = [pickle.dumps(d) for d in padded]  # truth:pickles
    del padded
    values = np.random.default_rng(7).random(SORTED)
    ordered = np.sort(values)  # truth:ordered
    del values
    ballast = bytes(BALLAST)  # truth:ballast
    acc += len(blobs[-1]) + len(pickles[-1]) + float(ordered[0]) + len(ballast)

    if args.truth:
        expected = {
            "blobs": [[sys.getsizeof(b), 1] for b in blobs],
            "pickles": [[sys.getsizeof(p), 1] for p in pickles],
            "ordered": [
                [ordered.nbytes, 1],
                [_truth.pym(sys.getsizeof(ordered) - ordered.nbytes), 1],
            ],
            "ballast": [[sys.getsizeof(ballast), 1]],
        }
    del blobs, pickles, ordered, ballast
    if args.truth:
        _truth.write(args.truth, "native_libs", __file__, expected)
    print("native_libs checksum %.6g" % acc)


if __name__ == "__main__":
    main()
