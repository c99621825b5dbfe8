"""The heap census (issue 6): heapmark.heap(), setref(), sizeof() and
`heapmark census`.

Populations are made after setref() so that the census holds exactly them
(plus what the test itself creates); expected sizes come from sys.getsizeof
and, for what getsizeof does not see (3.11+ inline attribute values, and
dicts), from tracemalloc's count of the bytes actually allocated.
"""

import json
import os
import re
import sys
import tracemalloc

import pytest

import heapmark
from conftest import assert_one_line_error, run_heapmark

# The census runs inside this process.  tests/run-asan's ASan leg installs an
# engine built with AddressSanitizer, which loads only where ASan's runtime is
# preloaded; that leg runs this file again in such a process.
ASAN_BUILD = os.environ.get("HMTEST_PRELOAD")
pytestmark = pytest.mark.skipif(
    bool(ASAN_BUILD) and "libasan" not in os.environ.get("LD_PRELOAD", ""),
    reason="the ASan-built engine needs ASan's runtime preloaded (run-asan runs this "
    "file again so)",
)

PY311 = sys.version_info >= (3, 11)
OWN = "%s.%%s" % __name__  # kind names of the classes defined here


class Line:
    def __init__(self, a, b, c, d, e, f):
        self.a = a
        self.b = b
        self.c = c
        self.d = d
        self.e = e
        self.f = f


class SlotLine:
    __slots__ = ("a", "b", "c", "d", "e", "f")

    def __init__(self, a, b, c, d, e, f):
        self.a = a
        self.b = b
        self.c = c
        self.d = d
        self.e = e
        self.f = f


class Node:
    __slots__ = ("next",)

    def __init__(self, next):
        self.next = next


VALUES = ("x", 1.5, None, (), 7, "y")  # shared: instances own no attribute value


@pytest.fixture
def relative():
    """A reference point: heap() then sees what the test creates."""
    heapmark.setref()
    yield
    heapmark.setref(clear=True)


def row(census, kind):
    for count, size, name, _, _ in census.rows():
        if name == kind:
            return count, size
    return 0, 0


def allocated_per_instance(cls, n=2000, touch_dict=False):
    """Bytes allocated per instance of cls (tracemalloc), in the steady state
    (3.11 gives a class's first instances larger value arrays)."""
    warm = [cls(*VALUES) for _ in range(100)]
    del warm
    keep = [None] * n
    positions = list(range(n))  # ints made before tracing starts
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in positions:
            keep[i] = cls(*VALUES)
            if touch_dict:
                keep[i].__dict__  # noqa: B018 (materialises the dict)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return (after - before) // n


def test_instances_with_a_dict_count_their_attribute_storage(relative):
    per_instance = allocated_per_instance(Line)
    objs = [Line(*VALUES) for _ in range(100000)]
    census = heapmark.heap()
    count, size = row(census, OWN % "Line")
    assert count == 100000
    getsizeof = sum(sys.getsizeof(o) for o in objs)
    if PY311:
        # Values inline, no dict: charged to the instance, as allocated
        # (tracemalloc's average over 2000 instances, in whole bytes).
        assert row(census, "dict of " + OWN % "Line") == (0, 0)
        assert abs(size - 100000 * per_instance) < 100000
        assert size > getsizeof
    else:
        assert size == getsizeof
        dicts = row(census, "dict of " + OWN % "Line")
        assert dicts == (100000, sum(sys.getsizeof(o.__dict__) for o in objs))
        # getsizeof of a split dict counts its values' full capacity.
        assert abs(size + dicts[1] - 100000 * per_instance) <= 0.02 * (size + dicts[1])


def test_slots_have_no_dict_cost_and_a_smaller_total(relative):
    per_plain = allocated_per_instance(Line)
    objs = [SlotLine(*VALUES) for _ in range(100000)]
    census = heapmark.heap()
    count, size = row(census, OWN % "SlotLine")
    assert (count, size) == (100000, sum(sys.getsizeof(o) for o in objs))
    assert size == 100000 * allocated_per_instance(SlotLine)
    assert row(census, "dict of " + OWN % "SlotLine") == (0, 0)
    assert size < 100000 * per_plain


def test_materialised_dicts_add_up_to_what_was_allocated(relative):
    warm = [Line(*VALUES) for _ in range(100)]
    for o in warm:
        o.__dict__  # noqa: B018 (materialises the dict)
    del warm, o
    objs = [None] * 20000
    positions = list(range(20000))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in positions:
            objs[i] = Line(*VALUES)
            objs[i].__dict__  # noqa: B018 (materialises the dict)
        allocated = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    census = heapmark.heap()
    count, size = row(census, OWN % "Line")
    dcount, dsize = row(census, "dict of " + OWN % "Line")
    assert count == dcount == 20000
    # A dict made from values counts its values' pointers, not the few bytes
    # of insertion order before them: within 0.5% of what was allocated.
    assert abs((size + dsize) - allocated) <= allocated * 0.005, (size, dsize, allocated)


def test_floats_strings_and_dicts(relative):
    floats = [float(i) + 0.5 for i in range(200000)]
    strings = ["s%d" % i * 3 for i in range(50000)]
    dicts = {i: {"k": i} for i in range(1000, 11000)}
    census = heapmark.heap()
    count, size = row(census, "float")
    assert 200000 <= count < 200010 and size == count * sys.getsizeof(1.5)
    assert row(census, "str") == (50000, sum(sys.getsizeof(s) for s in strings))
    inner = sum(sys.getsizeof(d) for d in dicts.values())
    count, size = row(census, "dict (no owner)")
    assert 10001 <= count < 10050 and size >= inner + sys.getsizeof(dicts)
    index = [kind for _, _, kind, _, _ in census.rows()].index("dict (no owner)")
    found = {id(d) for d in census[index].objects()}
    assert all(id(d) in found for d in dicts.values()) and id(dicts) in found
    assert row(census, "int")[0] == 10000
    count, size = row(census, "list")
    assert count >= 2 and size >= sys.getsizeof(floats) + sys.getsizeof(strings)


def test_each_object_once_and_sizes_are_getsizeof():
    census = heapmark.heap()
    objs = census.objects()
    assert len(objs) == census.count == len({id(o) for o in objs})
    assert census.size == sum(size for _, size, _, _, _ in census.rows())
    differ = {}
    for o in objs:
        try:
            expected = sys.getsizeof(o)
        except Exception:
            continue
        if heapmark.sizeof(o, deep=False) != expected:
            differ[type(o).__name__] = differ.get(type(o).__name__, 0) + 1
    assert differ == {}
    assert census.stats()["python_sizeof"] == 0


def test_untracked_objects_are_found():
    """str, int, float and bytes are not tracked by the collector."""
    import gc

    marker = "census-marker-%d" % id(object())
    number = 1234567.25
    assert not gc.is_tracked(marker) and not gc.is_tracked(number)
    ids = {id(o) for o in heapmark.heap().objects()}
    assert id(marker) in ids and id(number) in ids


def test_a_million_long_chain_does_not_overflow_the_stack(relative):
    head = None
    for _ in range(1000000):
        head = Node(head)
    census = heapmark.heap()
    assert row(census, OWN % "Node") == (1000000, 1000000 * sys.getsizeof(head))


def test_setref_shows_only_new_objects(relative):
    objs = [Line(*VALUES) for _ in range(10000)]
    census = heapmark.heap()
    assert row(census, OWN % "Line")[0] == 10000
    assert row(census, "dict of " + OWN % "Line")[0] == (0 if PY311 else 10000)
    assert row(census, "types.CodeType") == (0, 0)
    assert census.count < 10000 * 2 + 100
    del objs


def test_census_results_and_heapmark_are_left_out():
    first = heapmark.heap()
    doomed = [Line(*VALUES) for _ in range(5000)]
    held = heapmark.heap()
    assert row(held, OWN % "Line")[0] >= 5000
    del doomed  # now only `held` keeps them alive
    second = heapmark.heap()
    assert row(second, OWN % "Line")[0] == row(first, OWN % "Line")[0]
    for _count, _size, kind, _, module in second.rows():
        assert not kind.startswith("heapmark"), kind
        assert not module.startswith("heapmark"), (kind, module)
    modules = {
        getattr(o, "__name__", None) for o in second.objects() if type(o).__name__ == "module"
    }
    assert "heapmark.census" not in modules and "heapmark._heapmark" not in modules
    assert "json" in modules


def test_no_dict_is_created(relative):
    objs = [Line(*VALUES) for _ in range(1000)]
    first = row(heapmark.heap(), OWN % "Line")
    again = heapmark.heap()
    assert row(again, OWN % "Line") == first
    assert row(again, "dict of " + OWN % "Line")[0] == (0 if PY311 else 1000)
    del objs


HEADER = " Index  Count   %     Size   % Cumulative  % Kind (class / dict of class)"
ROW = re.compile(
    r"^( {0,5}\d{1,6}) ([ \d]{6}) ([ \d]{3}) ([ \d]{8}) ([ \d]{3}) ([ \d]{9}) ([ \d]{3}) (.+)$"
)


def test_table_matches_heapys_format():
    census = heapmark.heap()
    lines = str(census).splitlines()
    assert lines[0] == "Partition of a set of %d objects. Total size = %d bytes." % (
        census.count,
        census.size,
    )
    assert lines[1] == HEADER
    rows = census.rows()
    assert len(rows) > 11
    cumulative = 0
    for i, line in enumerate(lines[2:12]):
        m = ROW.match(line)
        assert m, line
        count, size, kind = rows[i][0], rows[i][1], rows[i][2]
        cumulative += size
        assert [int(g) for g in m.groups()[:7]] == [
            i,
            count,
            int("%.0f" % (count * 100.0 / census.count)),
            size,
            int("%.0f" % (size * 100.0 / census.size)),
            cumulative,
            int("%.0f" % (cumulative * 100.0 / census.size)),
        ]
        assert m.group(8) == kind
    assert lines[12] == "<%d more rows. Type e.g. '_.more' to view.>" % (len(rows) - 10)
    assert len(lines) == 13
    sizes = [size for _, size, _, _, _ in rows]
    assert sizes == sorted(sizes, reverse=True)
    more = str(census.more).splitlines()
    assert more[0] == HEADER and more[1].split()[0] == "10"
    assert str(census.more.more).splitlines()[1].split()[0] == "20"
    assert repr(census) == str(census)


def test_row_of_eleven_shows_all_eleven_and_top_option():
    census = heapmark.heap()
    text = census.table(top=len(census) - 1)
    assert "more rows" not in text
    assert [l for l in text.splitlines() if re.match(r"^ *\d+ ", l)][-1].split()[0] == str(
        len(census) - 1
    )
    assert len(census.table(top=3).splitlines()) == 6


def test_rows_views_and_json(relative):
    objs = [Line(*VALUES) for _ in range(3000)]
    census = heapmark.heap()
    index = [kind for _, _, kind, _, _ in census.rows()].index(OWN % "Line")
    only = census[index]
    assert (only.count, only.size) == row(census, OWN % "Line")
    assert str(only).splitlines()[2].endswith(" " + OWN % "Line")
    assert all(isinstance(o, Line) for o in only.objects())
    bytype = census.bytype
    assert str(bytype).splitlines()[1].endswith("% Type")
    dict_total = sum(c for c, _, k, _, _ in census.rows() if k.startswith("dict"))
    assert row(bytype, "dict")[0] == dict_total
    bymodule = census.bymodule
    assert str(bymodule).splitlines()[1].endswith("% Module")
    assert row(bymodule, __name__)[0] >= 3000
    assert (bymodule.count, bymodule.size) == (census.count, census.size)
    data = json.loads(census.to_json())
    assert (data["count"], data["size"]) == (census.count, census.size)
    assert sum(r["size"] for r in data["rows"]) == census.size
    first = data["rows"][0]
    assert set(first) == {"index", "count", "size", "cumulative", "kind", "type", "module"}
    assert data["python"].startswith("%d.%d" % sys.version_info[:2])
    del objs


def test_diff_layout(relative):
    before = heapmark.heap()
    objs = [Line(*VALUES) for _ in range(3000)]
    after = heapmark.heap()
    lines = after.diff(before).splitlines()
    assert lines[:2] == ["Summary of difference operation (A-B).", "        Count     Size"]
    assert lines[2] == "  A    %6d %8d" % (after.count, after.size)
    assert lines[3] == "  B    %6d %8d" % (before.count, before.size)
    dsize = after.size - before.size
    assert lines[4] == "  A-B  %6d %8d  = %9.3g %% of B" % (
        after.count - before.count,
        dsize,
        dsize * 100.0 / before.size,
    )
    assert lines[6] == "Differences by kind, largest absolute size diffs first."
    assert lines[7] == " Index  Count     Size  Cumulative  % of B Kind (class / dict of class)"
    mine = [l for l in lines[8:] if l.split()[-1] == OWN % "Line" and " dict of " not in l]
    assert len(mine) == 1 and mine[0].split()[1:3] == ["3000", str(row(after, OWN % "Line")[1])]
    assert lines[8].split()[0] == "0"
    del objs


def test_sizeof():
    floats = [float(i) + 0.25 for i in range(1000)]
    assert heapmark.sizeof(floats, deep=False) == sys.getsizeof(floats)
    assert heapmark.sizeof(floats) == sys.getsizeof(floats) + 1000 * sys.getsizeof(0.25)
    shared = [floats[0]] * 100
    assert heapmark.sizeof(shared) == sys.getsizeof(shared) + sys.getsizeof(0.25)
    nested = [[1.5, 2.5], [3.5]]
    assert heapmark.sizeof(nested, limit=1) == sum(
        sys.getsizeof(x) for x in (nested, nested[0], nested[1])
    )
    assert heapmark.sizeof(nested, limit=0) == sys.getsizeof(nested)
    obj = SlotLine(*VALUES)
    expected = sys.getsizeof(obj) + sum(
        sys.getsizeof(v) for v in {id(v): v for v in VALUES}.values()
    )
    assert heapmark.sizeof(obj) == expected  # the class is not walked
    assert heapmark.sizeof(obj, ignore=()) > expected + sys.getsizeof(SlotLine)
    assert heapmark.sizeof(obj, ignore=(str, type)) == expected - sys.getsizeof(
        "x"
    ) - sys.getsizeof("y")
    with pytest.raises(TypeError):
        heapmark.sizeof(obj, ignore=(1,))


PROGRAM = """
class Record:
    def __init__(self, i):
        self.i = i
        self.name = "r%d" % i
records = [Record(i) for i in range(12345)]
print("made", len(records))
"""


def test_census_command(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(PROGRAM)
    rc, out, err = run_heapmark(
        ["census", "--json", str(tmp_path / "c.json"), str(script)], cwd=tmp_path
    )
    lines = out.splitlines()
    assert lines[0] == "made 12345"
    assert re.match(r"^Partition of a set of \d+ objects\. Total size = \d+ bytes\.$", lines[1])
    assert lines[2] == HEADER
    data = json.loads((tmp_path / "c.json").read_text())
    kinds = {r["kind"]: r for r in data["rows"]}
    assert kinds["__main__.Record"]["count"] == 12345
    assert ("dict of __main__.Record" in kinds) == (not PY311)
    assert not any(k.startswith("heapmark") for k in kinds)
    assert not any(r["module"].startswith("heapmark") for r in data["rows"])
    assert err == ""


def test_census_command_code_top_and_status(tmp_path):
    rc, out, err = run_heapmark(
        [
            "census",
            "--top",
            "3",
            "-c",
            "import sys; keep = [1.5 * i for i in range(50000)]; sys.exit(4)",
        ],
        cwd=tmp_path,
        check_rc=4,
    )
    lines = out.splitlines()
    assert len(lines) == 6 and lines[5].startswith("<")
    assert any(l.endswith(" float") and int(l.split()[1]) >= 50000 for l in lines[2:5])


def test_census_command_program_errors_are_the_programs(tmp_path):
    rc, out, err = run_heapmark(["census", "-c", "def f(:"], cwd=tmp_path, check_rc=1)
    assert "SyntaxError" in err and "heapmark" not in err
    rc, out, err = run_heapmark(["census", "-c", "1/0"], cwd=tmp_path, check_rc=1)
    assert err.splitlines()[-1] == "ZeroDivisionError: division by zero"
    assert "heapmark/cli" not in err and "cli.py" not in err
    assert out.startswith("Partition of a set of ")


def test_census_command_bad_input(tmp_path):
    rc, out, err = run_heapmark(["census", "missing.py"], cwd=tmp_path, check_rc=None)
    assert_one_line_error(rc, err, "missing.py")
    rc, out, err = run_heapmark(["census", "--bogus", "x.py"], cwd=tmp_path, check_rc=None)
    assert_one_line_error(rc, err, "--bogus")
    rc, out, err = run_heapmark(
        ["census", "--top", "many", "-c", "pass"], cwd=tmp_path, check_rc=None
    )
    assert_one_line_error(rc, err, "--top")
    rc, out, err = run_heapmark(["census"], cwd=tmp_path, check_rc=None)
    assert_one_line_error(rc, err, "nothing to run")


def test_census_under_heapmark_run(tmp_path):
    """The census also works inside a profiled program."""
    script = tmp_path / "p.py"
    script.write_text(
        "import heapmark\nxs = [float(i) for i in range(30000)]\n"
        "h = heapmark.heap()\nprint(dict((k, c) for c, s, k, t, m in h.rows())['float'] >= 30000)\n"
    )
    rc, out, err = run_heapmark(
        ["run", "-q", "-o", str(tmp_path / "out"), str(script)], cwd=tmp_path
    )
    assert out.strip() == "True"


def test_census_inside_a_classs_init(tmp_path):
    """On 3.13 a specialised call of a class runs __init__ above a shim frame
    whose globals and builtins are stale data-stack words; the census must
    not read them (it crashed with SIGSEGV or SIGBUS) and must still count
    the object being initialised, which only that frame and __init__ hold.
    tests/programs/init_shim.py puts frame links and bytecode addresses at
    every offset the shim can take."""
    import subprocess

    programs = os.path.join(os.path.dirname(__file__), "programs")
    truth = tmp_path / "t.json"
    proc = subprocess.run(
        [sys.executable, os.path.join(programs, "init_shim.py"), str(truth), "census"],
        env=dict(os.environ, PYTHONPATH=programs),
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    # The i-th census sees the i Probes kept before and the one being built.
    assert json.loads(truth.read_text())["seen"] == list(range(1, 13))
