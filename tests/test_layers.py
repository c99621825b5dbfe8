"""The layers of csrc/ as the includes show them.

Each folder of csrc/ is a layer (csrc/pymodule/pymodule.h walks them in the
order an allocation flows through them).  What a layer may include says what
it may call: the hot path runs inside the program's malloc, so it may reach
only what is safe there; reports run on the ordinary heap of the heapmark
process and see a profile only through the store's read side; the run never
renders a report.  A new include that crosses a line fails here, with the
file, the line and the rule.
"""

import os
import re

import pytest

CSRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "csrc")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

# Headers of common/ that are safe inside an allocation hook: no ordinary
# heap, no locks (strbuf and intern use malloc: reports and the census only).
HOOK_SAFE_COMMON = {
    "common/common.h",
    "common/ownmem.h",
    "common/hashmap.h",
    "common/pyframes.h",
    "common/contract.h",
    "common/elf_symbols.h",
}
# Headers setup.py writes into build/generated/, and the one folder that may
# include each: the page's assets, the profile's schema.
GENERATED = {"report_html_assets.h": "report", "store_schema_sql.h": "store"}

# folder -> (what its files may include, why)
RULES = {
    "common": (
        lambda h: h.startswith("common/"),
        "common/ is the bottom layer: it includes only itself",
    ),
    "hotpath": (
        lambda h: h.startswith("hotpath/") or h in HOOK_SAFE_COMMON,
        "hot-path files include only hot-path headers and the hook-safe part of common/",
    ),
    "store": (
        lambda h: h.startswith(("store/", "common/")) or GENERATED.get(h) == "store",
        "the store's files include only store/ and common/ (reports include its headers)",
    ),
    "run": (
        lambda h: not h.startswith(("report/", "census/", "pymodule/")),
        "the run (engine, monitor, budgets) includes no report, census or module header",
    ),
    "report": (
        lambda h: (
            h.startswith(("report/", "store/schema.h", "store/profile.h", "common/"))
            or GENERATED.get(h) == "report"
        ),
        "report files include only the store's schema and profile headers, report/ and common/",
    ),
    "census": (
        lambda h: h.startswith(("census/", "common/")),
        "the census includes only census/ and common/",
    ),
    "pymodule": (lambda h: True, "the module is the top layer"),
}

# The store's writer is the one file of store/ that reads what the run
# captured: its input types are the run's.
EXCEPTIONS = {
    "store/writer.c": lambda h: h in ("run/capture.h", "run/timeline.h", "run/job.h"),
    "store/job_tables.c": lambda h: h == "run/job.h",
}


# Crossings still being removed (none now).  The list may only shrink: a
# crossing not in it fails, and so does an entry that no longer crosses.
KNOWN_CROSSINGS = set()


def sources():
    for folder in sorted(os.listdir(CSRC)):
        path = os.path.join(CSRC, folder)
        if not os.path.isdir(path):
            continue
        for name in sorted(os.listdir(path)):
            if name.endswith((".c", ".h")):
                yield folder, "%s/%s" % (folder, name)


def test_every_folder_has_a_rule():
    folders = {f for f, _ in sources()}
    assert folders, "no C sources found under %s" % CSRC
    assert folders <= set(RULES), "folders without a layer rule: %s" % sorted(folders - set(RULES))
    assert not [n for n in os.listdir(CSRC) if n.endswith((".c", ".h"))], (
        "C files directly under csrc/: every file belongs to a layer"
    )


def test_includes_respect_the_layers():
    broken, known = [], set()
    for folder, rel in sources():
        allowed, why = RULES[folder]
        extra = EXCEPTIONS.get(rel, lambda h: False)
        text = open(os.path.join(CSRC, rel), encoding="utf-8").read()
        for m in INCLUDE.finditer(text):
            header = m.group(1)
            line = text.count("\n", 0, m.start()) + 1
            if header not in GENERATED and not os.path.exists(os.path.join(CSRC, header)):
                broken.append(
                    "%s:%d includes %s, which does not exist (name the folder)"
                    % (rel, line, header)
                )
            elif (rel, header) in KNOWN_CROSSINGS:
                known.add((rel, header))
            elif not (allowed(header) or extra(header)):
                broken.append("%s:%d includes %s: %s" % (rel, line, header, why))
    assert not broken, "\n".join(broken)
    gone = KNOWN_CROSSINGS - known
    assert not gone, "no longer crossing, delete from KNOWN_CROSSINGS: %s" % sorted(gone)
    for rel, header in KNOWN_CROSSINGS:
        assert not RULES[rel.split("/")[0]][0](header), "%s -> %s is allowed anyway" % (rel, header)


def test_the_rules_catch_a_crossing():
    # The check itself must be able to fail: the includes that issue 10 found
    # crossing the lines are refused by the rules above.
    assert not RULES["hotpath"][0]("run/out_of_memory.h")
    assert not RULES["hotpath"][0]("common/strbuf.h")
    assert not RULES["run"][0]("report/report.h")
    assert not RULES["report"][0]("hotpath/call_tree.h")
    assert not RULES["store"][0]("run/engine.h")
    assert not RULES["census"][0]("pymodule/pymodule.h")


@pytest.mark.parametrize("folder,rel", list(sources()))
def test_each_file_says_what_it_owns(folder, rel):
    text = open(os.path.join(CSRC, rel), encoding="utf-8").read()
    header = text.split("*/", 1)[0]
    assert text.startswith("/*") and "Owns" in header and "Must never" in header, (
        "%s: its opening comment must say what it Owns and what it Must never do" % rel
    )
    lines = text.count("\n")
    assert lines <= 820, "%s has %d lines: split it by concern (at most about 800)" % (rel, lines)
