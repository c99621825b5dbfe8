"""The profile's schema has one source, csrc/store/schema.sql: the profiles
heapmark writes have exactly its tables and columns, and docs/profile-format.md
describes every one of them with its type, and nothing else."""

import os
import re
import sqlite3

from conftest import run_heapmark

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)
SCHEMA_SQL = os.path.join(ROOT, "csrc", "store", "schema.sql")
DOC = os.path.join(ROOT, "docs", "profile-format.md")
HEADING = re.compile(r"^#{2,4} (?:View )?`(\w+)`", re.M)
COLUMNS_HEADER = "| column | type | meaning |"


def columns_of(db):
    """{table or view: [(column, type as the doc writes it)]} of a database."""
    tables = {}
    for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
        "AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ):
        info = db.execute("PRAGMA table_info(%s)" % name).fetchall()
        keys = sum(1 for row in info if row[5])
        columns = []
        for _, column, declared, notnull, _, pk in info:
            kind = declared or "any"
            if pk and keys == 1:
                kind += " PRIMARY KEY"
            elif notnull:
                kind += " NOT NULL"
            columns.append((column, kind))
        tables[name] = columns
    return tables


def schema():
    db = sqlite3.connect(":memory:")
    with open(SCHEMA_SQL) as f:
        db.executescript(f.read())
    identity = (
        db.execute("PRAGMA application_id").fetchone()[0],
        db.execute("PRAGMA user_version").fetchone()[0],
    )
    return columns_of(db), identity


def documented(text):
    """{table: [(column, type)]} from the column tables under each heading."""
    tables = {}
    headings = list(HEADING.finditer(text))
    for i, heading in enumerate(headings):
        section = text[heading.end() : headings[i + 1].start() if i + 1 < len(headings) else None]
        if COLUMNS_HEADER not in section:
            continue
        rows = section[section.index(COLUMNS_HEADER) :].split("\n\n")[0].splitlines()[2:]
        tables[heading.group(1)] = [
            tuple(cell.strip().strip("`") for cell in row.split("|")[1:3]) for row in rows
        ]
    return tables


def differences(schema_tables, doc_tables):
    found = []
    for name in sorted(set(schema_tables) | set(doc_tables)):
        if name not in doc_tables:
            found.append("%s: in schema.sql, not documented" % name)
        elif name not in schema_tables:
            found.append("%s: documented, not in schema.sql" % name)
        elif schema_tables[name] != doc_tables[name]:
            found.append(
                "%s: schema.sql has %s, the doc %s" % (name, schema_tables[name], doc_tables[name])
            )
    return found


def test_the_doc_describes_every_column_of_schema_sql():
    tables, _ = schema()
    assert {
        "meta",
        "strings",
        "frames",
        "nodes",
        "snapshots",
        "node_values",
        "timeline",
        "gc_runs",
        "phases",
        "kind_walks",
        "node_kinds",
        "native_frames",
        "job_processes",
        "job_timeline",
        "frame_text",
    } == set(tables)
    assert ("bytes", "INTEGER NOT NULL") in tables["node_values"]
    with open(DOC) as f:
        assert differences(tables, documented(f.read())) == []


def test_the_comparison_sees_a_missing_or_retyped_column():
    tables, _ = schema()
    with open(DOC) as f:
        text = f.read()
    dropped = text.replace("| `rss` | INTEGER NOT NULL |", "", 1)
    assert dropped != text
    assert any(d.startswith("timeline:") for d in differences(tables, documented(dropped)))
    retyped = text.replace("| `at_s` | REAL |", "| `at_s` | INTEGER |", 1)
    assert retyped != text
    assert any(d.startswith("snapshots:") for d in differences(tables, documented(retyped)))


def test_identity_matches_the_doc():
    _, (application_id, version) = schema()
    assert application_id == 0x484D4B31
    with open(DOC) as f:
        text = f.read()
    assert "`PRAGMA application_id = 0x%X`" % application_id in text
    assert "`PRAGMA user_version = %d`" % version in text


def test_a_written_profile_has_exactly_the_schema(tmp_path):
    (tmp_path / "small.py").write_text("data = [bytes(1000) for _ in range(1000)]\n")
    run_heapmark(["run", "-q", "-o", "out", "small.py"], tmp_path)
    db = sqlite3.connect(str(tmp_path / "out" / "profile.db"))
    tables, (application_id, version) = schema()
    assert columns_of(db) == tables
    assert (
        db.execute("PRAGMA application_id").fetchone()[0],
        db.execute("PRAGMA user_version").fetchone()[0],
    ) == (application_id, version)
    # Every meta key the writer wrote is one the doc explains.
    with open(DOC) as f:
        text = f.read()
    keys = {k for (k,) in db.execute("SELECT key FROM meta")}
    assert {"status", "peak_bytes", "end_bytes", "format_version"} <= keys
    assert [k for k in sorted(keys) if "`%s`" % k not in text] == []
