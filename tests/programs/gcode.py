"""Ground truth for advice: a G-code viewer's parser, as in the story of a
file that took 244 MB.  One object per line of G-code, with 8 attributes,
one of them a tuple of 3 floats; a list of (line number, object) tuples; and
the raw coordinates of every move kept in a list of floats.

argv[2] picks the version: "plain", "slots" (the class gets __slots__),
"array" (the coordinates go into an array.array('d')) or "intern" (the
command each line starts with, split from its text, is interned)."""
import sys
from array import array

from truth import here, write

VARIANT = sys.argv[2] if len(sys.argv) > 2 else "plain"
N = 60_000


def command_of(text):
    """The command a line starts with: a new str per line, unless interned."""
    command = text.split(" ", 1)[0]
    return sys.intern(command) if VARIANT == "intern" else command


class Line:
    def __init__(self, number, text):
        self.number = number
        self.text = text
        self.command = command_of(text)
        self.x = number * 0.5
        self.y = number * 0.25
        self.z = 0.3
        self.feed = 1500 + number
        self.pos = (number * 0.5, number * 0.25, 0.3)


if VARIANT == "slots":
    class Line:  # noqa: F811 - the same class, with __slots__
        __slots__ = ("number", "text", "command", "x", "y", "z", "feed", "pos")

        def __init__(self, number, text):
            self.number = number
            self.text = text
            self.command = command_of(text)
            self.x = number * 0.5
            self.y = number * 0.25
            self.z = 0.3
            self.feed = 1500 + number
            self.pos = (number * 0.5, number * 0.25, 0.3)


def parse(source):
    lines = [Line(i, text) for i, text in enumerate(source)]; made = here()
    by_number = [(line.number, line) for line in lines]
    return lines, by_number, made


def coordinates(n):
    if VARIANT == "array":
        values = array("d", [0.0]) * n; line = here()
        for i in range(n):
            values[i] = i * 0.001
        return values, line
    values = [i * 0.001 for i in range(n)]; line = here()
    return values, line


def main(out):
    source = ["G1 X%d Y%d" % (i, i) for i in range(N)]
    parsed, by_number, made = parse(source)
    coords, coords_line = coordinates(1_500_000)
    # The split is two lines below command_of's def (its docstring between).
    write(out, made=made, coords=coords_line, command=command_of.__code__.co_firstlineno + 2)
    return parsed, by_number, coords


KEPT = main(sys.argv[1])
