"""One source for each contract: csrc/common/contract.h.

The HEAPMARK_* environment variables and the names of a results directory
are written once, in contract.h's X-macro tables; the C files, the module's
ENVIRONMENT / RESULT_FILES / RESULT_SERIES tuples, the command line and
docs/environment.md all agree with it, and no other file spells them.
"""

import ast
import os
import re
import subprocess
import sys

import pytest

from conftest import assert_one_line_error, run_heapmark
from heapmark.cli import options

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)
CSRC = os.path.join(ROOT, "csrc")
CONTRACT = os.path.join(CSRC, "common", "contract.h")
CLI = os.path.join(ROOT, "src", "heapmark")

C_TOKEN = re.compile(r'//[^\n]*|/\*.*?\*/|"((?:\\.|[^"\\\n])*)"|\'(?:\\.|[^\'\\\n])*\'', re.S)
C_STRING = r'"((?:\\.|[^"\\])*)"'


def unescape(text):
    return text.encode().decode("unicode_escape")


def contract_table(macro, columns):
    """The rows of contract.h's `#define macro(X)` as tuples of str."""
    text = open(CONTRACT, encoding="utf-8").read()
    start = text.index("#define %s(X)" % macro)
    body = []
    for line in text[start:].splitlines():
        body.append(line.rstrip().rstrip("\\"))
        if not line.rstrip().endswith("\\"):
            break
    body = " ".join(body)[len("#define %s(X)" % macro) :]
    cell = {"id": r"(\w+)", "str": C_STRING}
    row = r"X\(\s*" + r",\s*".join(cell[c] for c in columns) + r"\s*\)"
    rows = [
        tuple(unescape(v) if c == "str" else v for c, v in zip(columns, m))
        for m in re.findall(row, body)
    ]
    assert len(rows) == body.count("X("), "a row of %s not understood" % macro
    return rows


ENVIRONMENT = contract_table("HM_ENVIRONMENT", ("id", "str", "id", "str"))
RESULT_FILES = contract_table("HM_RESULT_FILES", ("id", "str", "id", "str"))
RESULT_SERIES = contract_table("HM_RESULT_SERIES", ("id", "str", "str", "id", "str"))
WATCH_FILES = contract_table("HM_WATCH_FILES", ("id", "str", "id", "str"))


def c_strings(path):
    """The string literals of a C file, outside comments and the module's
    method table (its docstrings are prose)."""
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"static PyMethodDef \w+\[\] = \{.*?\n\};", "", text, flags=re.S)
    return [unescape(m.group(1)) for m in C_TOKEN.finditer(text) if m.group(1) is not None]


def c_sources():
    for folder, _, names in os.walk(CSRC):
        for name in sorted(names):
            if name.endswith((".c", ".h")):
                yield os.path.join(folder, name)


def python_strings(path):
    """(line, text) of the string constants of a Python file, less docstrings
    and the usage text (prose)."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    prose = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                prose.add(id(first.value))
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", "") == "USAGE" for t in node.targets
        ):
            prose.add(id(node.value))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose
    ]


def python_sources():
    for folder, _, names in os.walk(CLI):
        for name in sorted(names):
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def test_the_tables_hold_what_heapmark_uses():
    names = {name for _, name, _, _ in ENVIRONMENT}
    assert {
        "HEAPMARK_PROFILE",
        "HEAPMARK_RATE",
        "HEAPMARK_PARENT",
        "HEAPMARK_ROOT",
        "HEAPMARK_TIMELINE_MS",
        "HEAPMARK_FUZZ_SEED",
        "HEAPMARK_TEST_OOM_REPORT_DELAY_MS",
        "HEAPMARK_DONE_FD",
    } <= names
    assert len(names) == len(ENVIRONMENT) == 24
    assert all(name.startswith("HEAPMARK_") for name in names)
    assert {kind for _, _, kind, _ in ENVIRONMENT} == {"RUN", "CHILD", "CALLER", "TOOLING"}
    assert ("PROFILE", "profile.db", "PROFILE") == RESULT_FILES[0][:3]
    assert [name for _, name, kind, _ in RESULT_FILES if kind == "REPORT"] == [
        "peak.svg",
        "peak.folded",
        "end.folded",
        "peak.txt",
        "report.html",
    ]
    assert ("CHILD_PROFILE", "profile-", ".db", "FILE") == RESULT_SERIES[0][:4]


def test_module_tuples_are_contract_h():
    # In a process of its own: under tests/run-asan the engine is an ASan
    # build, which loads only where libasan is preloaded (HMTEST_PRELOAD).
    import subprocess, sys  # noqa: E401

    env = dict(os.environ)
    if os.environ.get("HMTEST_PRELOAD"):
        env["LD_PRELOAD"] = os.environ["HMTEST_PRELOAD"]
    code = (
        "from heapmark import _heapmark as m; "
        "print(repr((m.ENVIRONMENT, m.RESULT_FILES, m.RESULT_SERIES, m.WATCH_FILES)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert eval(out) == (
        tuple(ENVIRONMENT),
        tuple(RESULT_FILES),
        tuple(RESULT_SERIES),
        tuple(WATCH_FILES),
    )


def test_no_c_file_spells_an_environment_variable():
    found = []
    for path in c_sources():
        if os.path.samefile(path, CONTRACT):
            continue
        found += [
            "%s: %r" % (os.path.relpath(path, ROOT), s) for s in c_strings(path) if "HEAPMARK_" in s
        ]
    assert found == [], "HEAPMARK_ names outside common/contract.h:\n" + "\n".join(found)


def test_no_c_file_spells_a_result_file():
    names = [name for _, name, _, _ in RESULT_FILES]
    prefixes = [p for _, p, _, _, _ in RESULT_SERIES if p]
    found = []
    for path in c_sources():
        if os.path.samefile(path, CONTRACT) or "/html/" in path:
            continue
        for s in c_strings(path):
            words = re.findall(r"[\w.%-]+", s)
            if any(w in names for w in words) or any(
                w.startswith(p) for w in words for p in prefixes
            ):
                found.append("%s: %r" % (os.path.relpath(path, ROOT), s))
    assert found == [], "result names outside common/contract.h:\n" + "\n".join(found)


def test_the_command_line_spells_none_of_them():
    names = [name for _, name, _, _ in RESULT_FILES]
    prefixes = [p for _, p, _, _, _ in RESULT_SERIES if p]
    found = []
    for path in python_sources():
        for line, s in python_strings(path):
            words = re.findall(r"[\w.%-]+", s)
            if (
                "HEAPMARK_" in s
                or any(w in names for w in words)
                or any(w.startswith(p) for w in words for p in prefixes)
            ):
                found.append("%s:%d: %r" % (os.path.relpath(path, ROOT), line, s))
    assert found == [], "contract names spelled in src/heapmark:\n" + "\n".join(found)


def test_the_scans_see_a_literal(tmp_path):
    """The scanners above find what they look for (so that their silence means something)."""
    c = tmp_path / "x.c"
    c.write_text(
        '/* "HEAPMARK_A" */ const char *s = "HEAPMARK_B=%s", *t = "a/peak.svg";\n'
        'static PyMethodDef m[] = {\n    {"f", f, 0, "writes peak.svg"},\n};\n'
    )
    assert c_strings(str(c)) == ["HEAPMARK_B=%s", "a/peak.svg"]
    py = tmp_path / "x.py"
    py.write_text('"""doc HEAPMARK_A"""\nUSAGE = "profile.db"\nx = "HEAPMARK_B"\n')
    assert python_strings(str(py)) == [(3, "HEAPMARK_B")]


def test_docs_list_every_variable():
    """docs/environment.md's table is the table: names, kinds and meanings."""
    text = open(os.path.join(ROOT, "docs", "environment.md"), encoding="utf-8").read()
    rows = re.findall(r"^\| `(HEAPMARK_\w+)` \| (\w+) \| (.*) \|$", text, re.M)
    assert [(n, k, m.replace("\\|", "|")) for n, k, m in rows] == [
        (name, kind, meaning) for _, name, kind, meaning in ENVIRONMENT
    ]
    for kind in {kind for _, _, kind, _ in ENVIRONMENT}:
        assert "- **%s**: " % kind in text
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    assert "docs/environment.md" in readme and "contract.h" in readme


def test_docs_list_the_live_files():
    """docs/profile-format.md's table of heapmark top's live files is the table."""
    text = open(os.path.join(ROOT, "docs", "profile-format.md"), encoding="utf-8").read()
    rows = re.findall(r"^\| `([^`]+)` \| (DIR|FILE|FIFO) \| (.*) \|$", text, re.M)
    assert rows == [(name, kind, meaning) for _, name, kind, meaning in WATCH_FILES]
    assert [i for i, _, _, _ in WATCH_FILES] == ["DIR", "TMP_DIR", "STATE", "REQUEST", "NOW"]


def test_readme_lists_the_result_files():
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    for _, name, kind, _ in RESULT_FILES:
        if kind in ("PROFILE", "REPORT"):
            assert "| `%s`" % name in readme or "`, `%s`" % name in readme, name


def test_the_engine_removes_its_variables_and_keeps_the_rest(tmp_path):
    """RUN, CHILD and CALLER variables never reach the program; TOOLING ones do."""
    (tmp_path / "show.py").write_text(
        "import os\nprint(sorted(k for k in os.environ if k.startswith('HEAPMARK_')))\n"
    )
    env = {"HEAPMARK_ROOT": "", "HEAPMARK_PARENT": "1", "HEAPMARK_FUZZ_SEED": "5"}
    _, out, _ = run_heapmark(["run", "-q", "-o", "res", "show.py"], cwd=tmp_path, env=env)
    assert out.strip() == "['HEAPMARK_FUZZ_SEED']"
    assert sorted(os.listdir(tmp_path / "res")) == sorted(
        name for _, name, kind, _ in RESULT_FILES if kind in ("PROFILE", "REPORT")
    )


@pytest.mark.parametrize(
    "command, args",
    [
        ("run", ["--no-such", "x.py"]),
        ("report", ["--no-such", "p.db"]),
        ("census", ["--no-such=1"]),
        ("export", ["p.db", "-z"]),
        ("diff", ["a", "--top=3", "--x"]),
    ],
)
def test_unknown_option(tmp_path, command, args):
    rc, out, err = run_heapmark([command] + args, cwd=tmp_path, check_rc=None)
    bad = next(a for a in args if a.startswith("-") and not a.startswith("--top"))
    assert_one_line_error(rc, err)
    assert err == "heapmark: error: unknown option '%s' for heapmark %s (see heapmark --help)\n" % (
        bad,
        command,
    )
    assert out == "" and os.listdir(tmp_path) == []


TABLE = (
    (("-o", "--output"), "output", options.VALUE, None),
    (("--top",), "top", options.VALUE, lambda text, name: int(text)),
    (("-q", "--quiet"), "quiet", options.FLAG, True),
)


def test_parser_reads_the_table():
    opts, rest = options.parse(
        ["a", "--top", "3", "-q", "--output=d", "-", "-o", "e"], "x", TABLE, {"quiet": False}
    )
    assert opts == {"top": 3, "quiet": True, "output": "e"} and rest == ["a", "-"]
    opts, rest = options.parse(["--top=7", "-m", "mod", "--top", "9"], "x", TABLE, program=True)
    assert opts == {"top": 7} and rest == ["-m", "mod", "--top", "9"]


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        (["--top"], {}, "option --top needs a value"),
        (["--bad"], {}, "unknown option '--bad' for heapmark x (see heapmark --help)"),
        (["a", "b"], {"max_positional": 1, "too_many": "one, not '%s'"}, "one, not 'b'"),
        (
            [],
            {"program": True},
            "nothing to run: give a script, -m module or -c code (see heapmark --help)",
        ),
        (["--"], {"program": True}, "nothing to run after '--'"),
    ],
)
def test_parser_errors(args, kwargs, message):
    with pytest.raises(options.UsageError) as info:
        options.parse(args, "x", TABLE, **kwargs)
    assert str(info.value) == message


def test_run_path_imports_no_argparse():
    code = "import sys, heapmark.cli.run; print('argparse' in sys.modules, 'json' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.split() == ["False", "False"]
