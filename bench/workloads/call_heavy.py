"""Call-heavy workload with few allocations, for bench/run.py.

Most of the time goes into Python calls, not into the allocator: a profiler
that costs something per call (or per line) rather than per allocation shows
it here.

Setup: a complete binary tree of TREE_DEPTH levels (about 16,000 small
``__slots__`` nodes, 1 MB) is built once and kept to the end.

Phase 1 (most of the run time), repeated ROUNDS times: a doubly recursive
Fibonacci, recursive walks of the tree (sum, height, leaf count),
method calls on small objects (a state machine stepping through its states,
polymorphic ``area()`` calls on a few shapes), and generators (a recursive
``yield from`` walk of the top of the tree and a counting generator).  The
numbers involved are mostly small cached ints, so allocation is rare:
generator objects and the occasional int above 256.

Phase 2 (the peak): a table of half a million entries (4 MB of pointers) is
filled by more calls, and a 16 MiB bytes object is allocated last, so that
the peak of tracked memory is clearly that moment: phase 1 holds nothing
beyond the tree.

With ``--truth FILE`` the script writes the bytes each marked line (a
``# truth:NAME`` comment) holds at the peak, as JSON, with the blocks they
are made of ([size, count] pairs).  Convention: objects of 512 bytes or less
come from pymalloc and are counted at their 16-byte size class
(sys.getsizeof rounded up to 16); larger blocks at their requested size.
The list object of the table (56 bytes, maybe from a free list) is left
out; its pointer array is counted.

Usage: python call_heavy.py [--scale F] [--truth FILE]
"""
import sys

import _truth

ROUNDS = 56           # phase 1 rounds at --scale 1 (about 2.5 s on the bench machine)
FIB_N = 25            # argument of the recursive Fibonacci, per round
TREE_DEPTH = 14       # levels of the tree: 2**14 - 1 nodes
WALKS = 6             # walks of each kind over the tree, per round
STEPS = 40_000        # state machine steps and area() calls, per round
N_TABLE = 500_000     # entries of the table held at the peak
BALLAST = 16 << 20    # bytes of the last allocation before the peak


# ---- recursion -----------------------------------------------------------------

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


class Node:
    __slots__ = ("left", "right", "value")

    def __init__(self, left, right, value):
        self.left = left
        self.right = right
        self.value = value


def build_tree(depth):
    if depth == 0:
        return None
    left = build_tree(depth - 1)
    right = build_tree(depth - 1)
    return Node(left, right, depth)  # truth:tree_nodes


def tree_sum(node):
    if node is None:
        return 0
    return (node.value + tree_sum(node.left) + tree_sum(node.right)) & 0xFF


def tree_height(node):
    if node is None:
        return 0
    return 1 + max(tree_height(node.left), tree_height(node.right))


def tree_leaves(node):
    if node.left is None:
        return 1
    return tree_leaves(node.left) + tree_leaves(node.right)


# ---- method calls on small objects ----------------------------------------

class Machine:
    """A small state machine: every step is a few method calls."""
    __slots__ = ("state", "ticks", "errors")

    def __init__(self):
        self.state = 0
        self.ticks = 0
        self.errors = 0

    def accepts(self, symbol):
        return (self.state + symbol) % 3 != 0

    def advance(self, symbol):
        self.state = (self.state * 7 + symbol) & 0x3F
        self.ticks = (self.ticks + 1) & 0xFF

    def reject(self):
        self.errors = (self.errors + 1) & 0xFF
        self.state = 0

    def step(self, symbol):
        if self.accepts(symbol):
            self.advance(symbol)
        else:
            self.reject()
        return self.state


class Square:
    __slots__ = ("side",)

    def __init__(self, side):
        self.side = side

    def area(self):
        return self.side * self.side


class Rect:
    __slots__ = ("w", "h")

    def __init__(self, w, h):
        self.w = w
        self.h = h

    def area(self):
        return self.w * self.h


class Triangle:
    __slots__ = ("base", "height")

    def __init__(self, base, height):
        self.base = base
        self.height = height

    def area(self):
        return self.base * self.height // 2


# ---- generators --------------------------------------------------------------

def walk(node, depth):
    """Values of the top `depth` levels, in order (a generator per node)."""
    if node is None or depth == 0:
        return
    yield from walk(node.left, depth - 1)
    yield node.value
    yield from walk(node.right, depth - 1)


def countdown(n):
    while n:
        yield n & 0x7F
        n -= 1


# ---- phases --------------------------------------------------------------------

def one_round(tree, machine, shapes, r):
    acc = fib(FIB_N)
    for _ in range(WALKS):
        acc += tree_sum(tree) + tree_height(tree) + tree_leaves(tree)
    symbols = (1, 2, 3, 5, 8, 13)
    for k in range(STEPS):
        machine.step(symbols[k % 6])
        acc += shapes[k & 3].area() & 0xF
    acc += machine.state + machine.ticks + machine.errors
    for v in walk(tree, 9):
        acc ^= v
    acc += max(countdown(STEPS + r))
    return acc


def churn(rounds, tree):
    machine = Machine()
    shapes = [Square(3), Rect(2, 5), Triangle(4, 6), Square(7)]
    acc = 0
    for r in range(rounds):
        acc += one_round(tree, machine, shapes, r)
    return acc


def build_known():
    held = {}
    table = [None] * N_TABLE  # truth:table
    for k in range(N_TABLE):
        table[k] = fib(k & 7)        # small ints, cached: nothing allocated
    held["table"] = table
    held["ballast"] = bytes(BALLAST)  # truth:ballast
    return held


def main():
    args = _truth.arguments(__doc__)

    tree = build_tree(TREE_DEPTH)
    acc = churn(max(1, int(ROUNDS * args.scale)), tree)
    held = build_known()
    if args.truth:
        gs = sys.getsizeof
        expected = {
            "tree_nodes": [[_truth.pym(gs(tree)), 2 ** TREE_DEPTH - 1]],
            "table": [[_truth.pym(gs(held["table"]) - gs([])), 1]],
            "ballast": [[_truth.pym(gs(held["ballast"])), 1]],
        }
    acc += sum(held["table"][:100])
    del held
    acc += churn(1, tree)   # a little more work after the peak

    if args.truth:
        _truth.write(args.truth, "call_heavy", __file__, expected)
    print("call_heavy checksum %d" % acc)


if __name__ == "__main__":
    main()
