"""The small-object churn loop whose instructions the benchmarks count with
callgrind (bench/instructions.py, in_process.py, native.py): N instances of
a two-attribute class, every 50th kept; N is the program's last argument.
Each benchmark writes CHURN into its scratch directory and runs it."""

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
