"""Ground truth: numpy arrays alive together at the peak, one freed before it."""
import sys

import numpy as np

from truth import here, write


KEPT = []   # still allocated at exit


def main(out):
    a = np.ones(6_000_000); a_line = here()                       # 48 MB
    b = np.full(4_000_000, 2.0); b_line = here()                  # 32 MB
    c = np.zeros(2_500_000); c_line = here()                      # 20 MB, freed
    c[:] = 1.0
    del c
    d = np.empty(8_000_000, dtype=np.int64); d_line = here()      # 64 MB
    d.fill(3)
    peak = {a_line: a.nbytes, b_line: b.nbytes, d_line: d.nbytes}
    del b
    KEPT.extend([a, d])
    write(out, peak=peak, freed_before_peak=[c_line], end={a_line: a.nbytes, d_line: d.nbytes},
          released=[b_line])


main(sys.argv[1])
