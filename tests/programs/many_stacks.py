"""A call tree of more than 100,000 distinct stacks, for the size and speed
of report.html (tests/test_html_report.py, bench/reports.py).

argv: [LEVELS]  (default 5)

walk(i, 0) descends LEVELS levels, each from one of ten call lines chosen by
a digit of i, and the last level allocates from one of ten lines: 10 ** LEVELS
distinct allocating stacks, 111,111 call-tree nodes for LEVELS = 5.  Most
keep a few hundred bytes; every 97th a few thousand, so the tree has both
the wide frames a flamegraph draws and a crowd of small ones it must fold.
"""
import sys

LEVELS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
LAST = LEVELS - 1
keep = []


def allocate(i, d):
    size = 2000 + i % 3000 if i % 97 == 0 else 30 + i % 200
    if d == 0:
        keep.append(bytearray(size))
    elif d == 1:
        keep.append(bytearray(size))
    elif d == 2:
        keep.append(bytearray(size))
    elif d == 3:
        keep.append(bytearray(size))
    elif d == 4:
        keep.append(bytearray(size))
    elif d == 5:
        keep.append(bytearray(size))
    elif d == 6:
        keep.append(bytearray(size))
    elif d == 7:
        keep.append(bytearray(size))
    elif d == 8:
        keep.append(bytearray(size))
    else:
        keep.append(bytearray(size))


def walk(i, level):
    d = (i // 10 ** level) % 10
    if level == LAST:
        allocate(i, d)
    elif d == 0:
        walk(i, level + 1)
    elif d == 1:
        walk(i, level + 1)
    elif d == 2:
        walk(i, level + 1)
    elif d == 3:
        walk(i, level + 1)
    elif d == 4:
        walk(i, level + 1)
    elif d == 5:
        walk(i, level + 1)
    elif d == 6:
        walk(i, level + 1)
    elif d == 7:
        walk(i, level + 1)
    elif d == 8:
        walk(i, level + 1)
    else:
        walk(i, level + 1)


for i in range(10 ** LEVELS):
    walk(i, 0)
