"""The jobs of bench/native_allocators.py: a pyarrow job and a polars job
over the same data, each writing its own figures as JSON.

    python allocator_jobs.py {arrow,polars} ROWS OUT.json

Both build a table of three columns from numpy arrays (int64 keys and two
float64 columns; ROWS * 24 bytes), keep the rows whose value is above 0.3,
and sort those by key and weight.  The numpy arrays stay alive to the end,
so the job's own peak is known:

  arrow   the numpy arrays plus the pool's highest bytes
          (default_memory_pool().max_memory(); total_allocated_bytes() is
          what the pool holds at the end);
  polars  no allocator counter: the numpy arrays plus the frames' sizes
          (estimated_size(); the DataFrame shares the numpy buffers), and
          RSS before the job's data and at its highest.

Everything the job allocates for its data is made by the function job_*
(its name and lines are reported with the figures); the libraries are
imported before it runs.
"""

import inspect
import json
import resource
import sys

import numpy as np


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def columns(rows):
    rng = np.random.default_rng(7)
    return rng.integers(0, 1000, rows), rng.random(rows), rng.random(rows)


def job_arrow(rows, pa, pc):
    pool = pa.default_memory_pool()
    before = rss()
    key, value, weight = columns(rows)
    # int32 keys and float32 weights are copies made in the pool; values are
    # shared with numpy.
    table = pa.table(
        {
            "key": pa.array(key, type=pa.int32()),
            "value": pa.array(value),
            "weight": pa.array(weight, type=pa.float32()),
        }
    )
    kept = table.filter(pc.greater(table["value"], 0.3))
    ordered = kept.sort_by([("key", "ascending"), ("weight", "descending")])
    numpy_bytes = key.nbytes + value.nbytes + weight.nbytes
    return {
        "backend": pool.backend_name,
        "numpy_bytes": numpy_bytes,
        "pool_max_bytes": pool.max_memory(),
        "total_allocated_bytes": pa.total_allocated_bytes(),
        "own_peak_bytes": numpy_bytes + pool.max_memory(),
        "rss_before": before,
        "rows_kept": ordered.num_rows,
    }


def job_polars(rows, pl):
    before = rss()
    key, value, weight = columns(rows)
    frame = pl.DataFrame({"key": key.astype(np.int32), "value": value, "weight": weight})
    kept = frame.filter(pl.col("value") > 0.3)
    ordered = kept.sort(["key", "weight"], descending=[False, True])
    numpy_bytes = key.nbytes + value.nbytes + weight.nbytes
    frames = frame.estimated_size() + kept.estimated_size() + ordered.estimated_size()
    return {
        "backend": "jemalloc (linked in)",
        "numpy_bytes": numpy_bytes,
        "frames_bytes": frames,
        # The int32 key column is a copy; the float columns are numpy's.
        "own_peak_bytes": numpy_bytes + frames - value.nbytes - weight.nbytes,
        "rss_before": before,
        "rows_kept": ordered.height,
    }


def main():
    which, rows, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    # Imported here, so that the job's lines hold only the job's data.
    if which == "arrow":
        import pyarrow
        import pyarrow.compute

        job, figures = job_arrow, job_arrow(rows, pyarrow, pyarrow.compute)
    else:
        import polars

        job, figures = job_polars, job_polars(rows, polars)
    lines, first = inspect.getsourcelines(job)
    figures["job_lines"] = [first, first + len(lines) - 1]
    figures["job_function"] = job.__name__
    figures["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with open(out, "w") as f:
        json.dump(figures, f)


if __name__ == "__main__":
    main()
