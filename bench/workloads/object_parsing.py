"""Object-heavy parsing workload for bench/run.py.

Two text formats are generated in memory and parsed into one object per
line: CSV rows (``id,name,city,qty,price``) become instances of ``Row``, a
class with ``__slots__``, and key=value log lines (``ts=... level=...
user=... path=... status=... ms=...``) become instances of ``Event``, a plain
class whose attributes live in a ``__dict__`` (split-table values).  The
parsers split each line into fresh strings; the string fields an object keeps
(name and city, level, user and path) stay alive with it, numbers are
converted on lines of their own.

Phase 1 (most of the run time): batches of a few thousand lines of each
format are generated, parsed, aggregated (counts by city and level, sums)
and dropped.  A batch holds about 5 MB at once.

Phase 2 (the peak): one text of each format (N_KNOWN lines) is generated and
parsed, and the texts, the lists of objects, the objects and their strings
are all kept alive together; then a 32 MiB bytes object is allocated last,
so that the peak of tracked memory is clearly that moment (the largest
transient of phase 2, the list of lines that ``str.split`` returns while a
text is parsed, is about 9 MB, and it is freed before the ballast).

With ``--truth FILE`` the script writes the bytes each marked line (a
``# truth:NAME`` comment) holds at the peak, as JSON, with the blocks they
are made of ([size, count] pairs).  Convention: objects of 512 bytes or less
come from pymalloc and are counted at their 16-byte size class
(sys.getsizeof rounded up to 16); larger blocks at their requested size.
Every string kept is at least two characters long (one-character strings
are shared singletons) and is counted once per object that holds it.  An
``Event`` is two blocks, both made on the line that calls the class: the
object (sys.getsizeof: the object and its GC and dict pre-header) and its
attribute values array, whose size follows from the usable size of the
class's shared keys (read off sys.getsizeof of a probe instance's
``__dict__``).  That is the layout of CPython 3.11, where this was checked
(3.12 should keep it): the array is a prefix of usable+2 bytes rounded up to 8,
then one pointer per usable slot.  From 3.13 the values are inline in the
object; the script then counts the object alone (unchecked).  The list
objects themselves (56 bytes, from a free list) are left out; their pointer
arrays, made by ``[None] * n``, are counted.

Usage: python object_parsing.py [--scale F] [--truth FILE]
"""
import sys

import _truth

ROUNDS = 110          # phase 1 batches at --scale 1 (about 2.5 s on the bench machine)
BATCH = 5_000         # lines per format and batch in phase 1
N_KNOWN = 60_000      # lines per format parsed and kept in phase 2
BALLAST = 32 << 20    # bytes of the last allocation before the peak

FIRST = ["ada", "alan", "barbara", "claude", "donald", "edsger", "frances", "grace",
         "john", "ken", "leslie", "margaret", "niklaus", "radia", "tony", "yukihiro"]
LAST = ["lovelace", "turing", "liskov", "shannon", "knuth", "dijkstra", "allen", "hopper",
        "backus", "thompson", "lamport", "hamilton", "wirth", "perlman", "hoare"]
CITIES = ["amsterdam", "berlin", "cairo", "delhi", "edinburgh", "florence", "geneva",
          "helsinki", "istanbul", "jakarta", "kyoto", "lagos", "madrid", "nairobi", "oslo"]
LEVELS = ["DEBUG", "INFO", "INFO", "INFO", "WARN", "ERROR"]
ROUTES = ["/api/v1/items/", "/api/v1/users/", "/api/v2/orders/", "/static/img/", "/health/"]


class Row:
    __slots__ = ("ident", "name", "city", "qty", "price")

    def __init__(self, ident, name, city, qty, price):
        self.ident = ident
        self.name = name
        self.city = city
        self.qty = qty
        self.price = price


class Event:
    def __init__(self, ts, level, user, path, status, ms):
        self.ts = ts
        self.level = level
        self.user = user
        self.path = path
        self.status = status
        self.ms = ms


# ---- the text formats --------------------------------------------------------

def csv_lines(start, n):
    for i in range(start, start + n):
        yield "%d,%s_%s,%s,%d,%d.%02d" % (
            1_000_000 + i, FIRST[i % 16], LAST[(i * 7) % 15], CITIES[(i * 11) % 15],
            i % 97, (i * 37) % 500, i % 100)


def log_lines(start, n):
    for i in range(start, start + n):
        yield "ts=%d level=%s user=u%06d path=%s%d status=%d ms=%d.%d" % (
            1_700_000_000 + i * 3, LEVELS[(i * 5) % 6], (i * 7919) % 250_000,
            ROUTES[i % 5], (i * 104_729) % 1_000_003, 200 if i % 11 else 404,
            (i * 13) % 900, i % 10)


def csv_text(start, n):
    return "\n".join(csv_lines(start, n))  # truth:csv_text


def log_text(start, n):
    return "\n".join(log_lines(start, n))  # truth:log_text


# ---- the parsers ----------------------------------------------------------------

def parse_csv(text):
    lines = text.split("\n")
    rows = [None] * len(lines)  # truth:row_list
    for i, line in enumerate(lines):
        ident, name, city, qty, price = line.split(",")  # truth:row_strings
        ident = int(ident)
        qty = int(qty)
        price = float(price)
        rows[i] = Row(ident, name, city, qty, price)  # truth:row_objects
    return rows


def parse_log(text):
    lines = text.split("\n")
    events = [None] * len(lines)  # truth:event_list
    for i, line in enumerate(lines):
        ts, level, user, path, status, ms = [f[f.index("=") + 1:] for f in line.split(" ")]  # truth:event_strings
        ts = int(ts)
        status = int(status)
        ms = float(ms)
        events[i] = Event(ts, level, user, path, status, ms)  # truth:event_objects
    return events


# ---- phase 1: churn ----------------------------------------------------------

def summarize(rows, events):
    by_city = {}
    for r in rows:
        by_city[r.city] = by_city.get(r.city, 0) + r.qty
    by_level = {}
    slow = 0.0
    for e in events:
        by_level[e.level] = by_level.get(e.level, 0) + 1
        if e.status != 200 or e.ms > 800.0:
            slow += e.ms
    users = {e.user for e in events}
    total = sum(r.price for r in rows)
    return len(by_city) + len(by_level) + len(users) + int(total + slow) % 1000


def churn(rounds):
    acc = 0
    for r in range(rounds):
        rows = parse_csv(csv_text(r * BATCH, BATCH))
        events = parse_log(log_text(r * BATCH, BATCH))
        acc += summarize(rows, events)
        del rows, events
    return acc


# ---- phase 2: known allocations held at the peak ---------------------------

def build_known():
    held = {}
    held["csv"] = csv_text(0, N_KNOWN)
    held["log"] = log_text(0, N_KNOWN)
    held["rows"] = parse_csv(held["csv"])
    held["events"] = parse_log(held["log"])
    held["ballast"] = bytes(BALLAST)
    return held


def values_block():
    """Bytes of an Event's attribute values array (see the module docstring)."""
    probe = Event(0, "", "", "", 0, 0.0)
    if sys.version_info >= (3, 13):
        return None   # inline in the object
    usable = (sys.getsizeof(probe.__dict__) - sys.getsizeof({})) // 8
    return _truth.pym((usable + 2 + 7) // 8 * 8 + 8 * usable)


def truth(held):
    """Expected blocks per marked line, from sys.getsizeof: {name: [[size, count], ...]}."""
    gs = sys.getsizeof
    empty_list = gs([])
    rows, events = held["rows"], held["events"]

    def strings(objs, attrs):
        sizes = {}
        for o in objs:
            for a in attrs:
                s = _truth.pym(gs(getattr(o, a)))
                sizes[s] = sizes.get(s, 0) + 1
        return sorted([size, n] for size, n in sizes.items())

    event_blocks = [[_truth.pym(gs(events[0])), len(events)]]
    values = values_block()
    if values is not None:
        event_blocks.append([values, len(events)])
    return {
        "csv_text": [[_truth.pym(gs(held["csv"])), 1]],
        "log_text": [[_truth.pym(gs(held["log"])), 1]],
        "row_list": [[_truth.pym(gs(rows) - empty_list), 1]],
        "row_strings": strings(rows, ("name", "city")),
        "row_objects": [[_truth.pym(gs(rows[0])), len(rows)]],
        "event_list": [[_truth.pym(gs(events) - empty_list), 1]],
        "event_strings": strings(events, ("level", "user", "path")),
        "event_objects": event_blocks,
    }


def main():
    args = _truth.arguments(__doc__)

    acc = churn(max(1, int(ROUNDS * args.scale)))
    held = build_known()
    expected = truth(held) if args.truth else None
    acc += len(held["rows"]) + len(held["events"])
    del held
    acc += churn(2)   # a little more churn after the peak

    if args.truth:
        _truth.write(args.truth, "object_parsing", __file__, expected)
    print("object_parsing checksum %d" % acc)


if __name__ == "__main__":
    main()
