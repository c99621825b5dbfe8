"""What the instruction-count benchmarks share (bench/instructions.py,
in_process.py, native.py): the small-object churn loop they run under
callgrind (N instances of a two-attribute class, every 50th kept; N is the
program's last argument; each writes CHURN into its scratch directory), and
reading a callgrind output's total."""

CHURN = """\
class Item:
    def __init__(self, i):
        self.pair = (i, i + 1)
        self.name = "item-%d" % i

import sys
kept = []
for i in range(int(sys.argv[-1])):
    item = Item(i)
    if i % 50 == 0:
        kept.append(item)
"""


def instructions(out_file):
    """The total Ir of a callgrind output file ("summary:" or "totals:" line)."""
    with open(out_file) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise SystemExit("bench: no summary in callgrind output %s" % out_file)
