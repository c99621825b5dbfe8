"""Feeds corrupted copies of a good profile to heapmark's reader and reports.

usage: python fuzz_profiles.py GOOD.db WORKDIR CASES SEED
       python fuzz_profiles.py GOOD.db WORKDIR text-columns

Run by tests/test_hostile.py in a process of its own: a crash kills only this
process, and the last "case N" line on stderr says which one.  Each case must
either load and render completely (damage can miss everything the reader
uses) or be refused with heapmark's one-line ProfileError naming the file;
SIGALRM ends a case that hangs.  Half the cases damage the file's bytes (what
a bad disk or a cut copy does), half change its rows with SQL (damage SQLite
cannot see: values out of range, missing or duplicate rows, wrong types).
Prints a JSON summary on stdout.  The text-columns form puts invalid UTF-8
(a surrogate's bytes) in every row of one text column at a time, in every
table: what a report shows must still be valid UTF-8, whichever table the
text comes from.
"""

import json
import os
import random
import shutil
import signal
import sqlite3
import sys
from xml.etree import ElementTree

_heapmark = None  # imported by main(): test_hostile imports this file for its damage
# functions, in a process that may not be able to load the engine

PER_CASE_SECONDS = 20

WEIRD_VALUES = [
    -1,
    0,
    1,
    2,
    255,
    2**31 - 1,
    2**31,
    2**32,
    2**63 - 1,
    -(2**63),
    3.5,
    -1e300,
    "",
    "x" * 5000,
    "\udcff".encode("utf-8", "surrogatepass"),
    b"\x00\xff\xfe",
    None,
    "0",
    "-5",
    "1e999",
    "nan",
]


def damage_bytes(data, rng):
    """One of several kinds of byte-level damage; returns (kind, bytes)."""
    data = bytearray(data)
    kind = rng.choice(
        ["flip", "flip-header", "truncate", "zero-range", "copy-page", "random-tail", "swap-pages"]
    )
    page = 4096
    pages = max(1, len(data) // page)
    if kind == "flip":
        for _ in range(rng.randint(1, 64)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif kind == "flip-header":
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(100)] = rng.randrange(256)
    elif kind == "truncate":
        del data[rng.randrange(1, len(data)) :]
    elif kind == "zero-range":
        start = rng.randrange(len(data))
        data[start : start + rng.randint(1, 3 * page)] = bytes(
            min(len(data) - start, rng.randint(1, 3 * page))
        )
    elif kind == "copy-page":
        a, b = rng.randrange(pages), rng.randrange(pages)
        data[b * page : (b + 1) * page] = data[a * page : (a + 1) * page]
    elif kind == "random-tail":
        start = rng.randrange(len(data))
        data[start:] = rng.randbytes(len(data) - start)
    elif kind == "swap-pages":
        a, b = rng.randrange(pages), rng.randrange(pages)
        pa, pb = data[a * page : (a + 1) * page], data[b * page : (b + 1) * page]
        data[a * page : a * page + len(pb)], data[b * page : b * page + len(pa)] = pb, pa
    return kind, bytes(data)


def damage_rows(path, rng):
    """Changes the profile's rows in place; returns the kind of change."""
    con = sqlite3.connect(path)
    # Rows picked by the seeded generator (SQLite's random() cannot be seeded),
    # so that a failing case can be replayed.
    con.create_function("picked", 1, lambda rows: rng.randrange(max(1, rows)) < 2)
    tables = [t for (t,) in con.execute("select name from sqlite_master where type='table'")]
    table = rng.choice(tables)
    columns = [c[1] for c in con.execute("pragma table_info(%s)" % table)]
    rows = con.execute("select count(*) from %s" % table).fetchone()[0]
    kind = rng.choice(["set", "set", "set", "delete", "duplicate", "drop", "pragma"])
    if kind == "set" and rows:
        column = rng.choice(columns)
        value = rng.choice(WEIRD_VALUES + [rng.randint(-10, rows + 10)])
        # A few rows at random (some tables have no rowid to pick them by).
        try:
            con.execute("update %s set %s = ? where picked(?)" % (table, column), (value, rows))
        except (sqlite3.IntegrityError, sqlite3.OperationalError):
            pass  # the column's type or a key refuses the value
        kind = "set %s.%s" % (table, column)
    elif kind == "delete" and rows:
        con.execute("delete from %s where picked(?)" % table, (rows,))
        kind = "delete from %s" % table
    elif kind == "duplicate" and rows:
        try:
            con.execute(
                "insert into %s select * from %s where picked(?) limit 1" % (table, table), (rows,)
            )
        except (sqlite3.IntegrityError, sqlite3.OperationalError):
            pass
        kind = "duplicate in %s" % table
    elif kind == "drop":
        con.execute("drop table %s" % table)
        kind = "drop %s" % table
    else:
        con.execute(
            "pragma %s = %d"
            % (rng.choice(["user_version", "application_id"]), rng.choice([0, 1, 2, -1, 2**31 - 1]))
        )
        kind = "pragma"
    con.commit()
    con.close()
    return kind


def check_case(path, out_dir, others):
    """'ok' or 'refused'; raises AssertionError on anything else."""
    try:
        text = _heapmark.summary_json(others + [path], 10)
        _heapmark.write_reports(others + [path], out_dir, 10)
    except _heapmark.ProfileError as exc:
        message = str(exc)
        assert "\n" not in message and path in message, message
        return "refused"
    # What the reports say must still be valid JSON (no NaN), XML and UTF-8.
    summary = json.loads(text, parse_constant=lambda c: reject("JSON constant " + c))
    assert isinstance(summary["peak_bytes"], int)
    ElementTree.parse(os.path.join(out_dir, "peak.svg"))
    with open(os.path.join(out_dir, "report.html"), encoding="utf-8") as f:
        page = f.read()
    data = page.split('<script type="application/json" id="heapmark-data">', 1)[1]
    data = json.loads(
        data.split("</script>", 1)[0], parse_constant=lambda c: reject("JSON constant " + c)
    )
    assert len(data["tree"]["parent"]) >= 1 and page.count("<script") == 2
    for name in ("peak.txt", "peak.folded", "end.folded"):
        with open(os.path.join(out_dir, name), encoding="utf-8") as f:
            f.read()
    return "ok"


def reject(what):
    raise AssertionError("invalid output: %s" % what)


def text_columns(good, workdir):
    global _heapmark
    from heapmark import _heapmark

    con = sqlite3.connect(good)
    columns = [
        (table, column)
        for (table,) in con.execute("select name from sqlite_master where type='table'")
        for (_, column, *_) in con.execute("pragma table_info(%s)" % table)
        if con.execute(
            "select count(*) from %s where typeof(%s) = 'text'" % (table, column)
        ).fetchone()[0]
    ]
    con.close()
    path = os.path.join(workdir, "case.db")
    out_dir = os.path.join(workdir, "reports")
    os.makedirs(out_dir, exist_ok=True)
    outcomes = {}
    for table, column in columns:
        shutil.copyfile(good, path)
        con = sqlite3.connect(path)
        # A prefix keeps the rows distinct where the column is a key.
        con.execute(
            "update %s set %s = cast(? || %s as text)" % (table, column, column),
            (WEIRD_VALUES[14],),
        )
        con.commit()
        con.close()
        sys.stderr.write("case: %s.%s\n" % (table, column))
        sys.stderr.flush()
        outcomes["%s.%s" % (table, column)] = check_case(path, out_dir, [])
    json.dump(outcomes, sys.stdout)


def main(good, workdir, cases, seed):
    global _heapmark
    from heapmark import _heapmark

    rng = random.Random(seed)
    data = open(good, "rb").read()
    path = os.path.join(workdir, "case.db")
    out_dir = os.path.join(workdir, "reports")
    os.makedirs(out_dir, exist_ok=True)
    outcomes = {"ok": 0, "refused": 0}
    kinds = {}
    for i in range(cases):
        if i % 2 == 0:
            kind, damaged = damage_bytes(data, rng)
            with open(path, "wb") as f:
                f.write(damaged)
        else:
            shutil.copyfile(good, path)
            kind = damage_rows(path, rng)
        # Every tenth case is the child of a run whose main profile is sound.
        others = [good] if i % 10 == 9 else []
        sys.stderr.write("case %d: %s%s\n" % (i, kind, " (as a child)" if others else ""))
        sys.stderr.flush()
        signal.alarm(PER_CASE_SECONDS)
        outcome = check_case(path, out_dir, others)
        signal.alarm(0)
        outcomes[outcome] += 1
        kinds[kind.split(" ")[0]] = kinds.get(kind.split(" ")[0], 0) + 1
    json.dump({"cases": cases, "outcomes": outcomes, "kinds": kinds}, sys.stdout)


if __name__ == "__main__":
    if sys.argv[3] == "text-columns":
        text_columns(sys.argv[1], sys.argv[2])
    else:
        main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
