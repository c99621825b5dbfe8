"""numpy/pandas-style pipeline workload for bench/run.py.

Phase 1 (most of the run time): three columns of 3 million values (24 MB
each) and, in a loop, the kind of work a dataframe pipeline does: column
arithmetic with its temporaries, a z-score, a filter, a group-by sum
(bincount), a cumulative sum, reductions.  Few Python objects are made; the
memory is in a handful of large native buffers.

Phase 2 (the peak): a feature matrix (96 MB), a z-scored column, 2000 small
per-chunk copies (8 KB each, below the sampling interval, so they are really
sampled) and finally a 32 MB array are allocated and held together with the
input columns; that is well above anything phase 1 holds at once (about
170 MB against 260 MB here), so the peak is in phase 2.

With ``--truth FILE`` the script writes the bytes each marked line (a
``# truth:NAME`` comment) holds at the peak, as JSON, with the blocks they
are made of ([size, count] pairs): sys.getsizeof of the arrays it keeps (data plus the ndarray header, whose 16-byte dimension
buffer numpy may serve from its own cache; that is 0.2% of a chunk at most),
plus the list holding the chunks.

Usage: python numpy_pipeline.py [--scale F] [--truth FILE]
"""
import sys

import numpy as np

import _truth

N = 3_000_000         # rows; one float64 column is 24 MB
ITERS = 24            # phase 1 iterations at --scale 1 (about 2.5 s on the bench machine)
GROUPS = 64
CHUNK = 1_000         # rows per chunk copy in phase 2 (8 KB of data)
N_CHUNKS = 2_000


def array_blocks(a):
    """[[size, count], ...] of an array that owns its data: data and header."""
    return [[a.nbytes, 1], [_truth.pym(sys.getsizeof(a) - a.nbytes), 1]]


def pipeline(price, qty, store, iters):
    acc = 0.0
    for it in range(iters):
        value = price * qty
        dev = (value - value.mean()) / value.std()
        mask = np.abs(dev) < 2.0
        kept = value[mask]
        totals = np.bincount(store[mask], weights=kept, minlength=GROUPS)
        counts = np.bincount(store, minlength=GROUPS)
        means = totals / np.maximum(counts, 1)
        running = np.cumsum(kept)
        acc += float(running[-1]) / len(kept) + float(means.max()) - float(means.min())
        acc += float(np.sqrt(np.square(price - price.mean()).sum()))
        discounted = np.where(qty > 500, price * 0.9, price)
        acc += float(discounted.sum()) * 1e-6 + it
        del value, dev, mask, kept, running, discounted
    return acc


def main():
    args = _truth.arguments(__doc__)

    rng = np.random.default_rng(42)
    price = rng.random(N) * 100.0  # truth:price
    qty = rng.integers(1, 1000, size=N)  # truth:qty
    store = rng.integers(0, GROUPS, size=N)

    acc = pipeline(price, qty, store, max(1, int(ITERS * args.scale)))

    features = np.empty((N, 4))  # truth:features
    features[:, 0] = price
    features[:, 1] = qty
    np.multiply(price, qty, out=features[:, 2])
    np.log1p(price, out=features[:, 3])
    zscore = (price - price.mean()) / price.std()  # truth:zscore
    chunks = [price[i * CHUNK:(i + 1) * CHUNK].copy() for i in range(N_CHUNKS)]  # truth:chunks
    ballast = np.ones(4 << 20)  # truth:ballast
    acc += float(features[:, 2].sum() + zscore[:10].sum() + chunks[-1][0] + ballast[-1])

    if args.truth:
        # All chunks have the same size, so one stands for all.
        chunk_data, chunk_header = array_blocks(chunks[0])
        expected = {
            "price": array_blocks(price),
            "qty": array_blocks(qty),
            "features": array_blocks(features),
            "zscore": array_blocks(zscore),
            "chunks": [[chunk_data[0], len(chunks)], [chunk_header[0], len(chunks)],
                       [_truth.pym(sys.getsizeof(chunks) - sys.getsizeof([])), 1]],
            "ballast": array_blocks(ballast),
        }
    del features, zscore, chunks, ballast
    acc += pipeline(price, qty, store, 1)   # a little work after the peak

    if args.truth:
        _truth.write(args.truth, "numpy_pipeline", __file__, expected)
    print("numpy_pipeline checksum %.6g" % acc)


if __name__ == "__main__":
    main()
