"""Ground truth: a pyarrow Table built from numpy arrays at one line.  Both
columns are casts (int64 -> int32, float64 -> float32), so that their
buffers are made by pyarrow's memory pool, whichever it is."""
import os
import sys

import numpy as np
import pyarrow as pa

from truth import here, write


def main(out):
    pool = pa.default_memory_pool()
    keys = np.arange(6_000_000, dtype=np.int64)
    values = np.linspace(0.0, 1.0, 6_000_000)
    i32, f32 = pa.int32(), pa.float32()
    first = pa.array(keys[:2], i32), pa.array(values[:2], f32); warm_line = here()  # imports
    before = pool.bytes_allocated()
    table = pa.table({"k": pa.array(keys, i32), "v": pa.array(values, f32)}); line = here()
    made = pool.bytes_allocated() - before                            # 48 MB, in the pool
    write(out, peak={line: made}, warm_line=warm_line, warm_bytes=before, warm_rows=len(first[0]),
          backend=pool.backend_name, rows=table.num_rows,
          environment=os.environ.get("ARROW_DEFAULT_MEMORY_POOL"))


main(sys.argv[1])
