"""`heapmark run` leaves the program as it was, and bad input gets one line.

The program must see the same sys.argv, __main__, stdin, stdout and exit
status with and without heapmark; heapmark's own words go to stderr with the
prefix `heapmark: `; bad input ends with exit status 2 and no traceback.
"""

import os
import random
import sqlite3
import subprocess
import sys

import pytest

from conftest import RECORDER, assert_one_line_error, heapmark_command, run_heapmark

INTROSPECT = r'''
import os, sys
data = sys.stdin.read()
print("argv", sys.argv)
print("name", __name__, "spec", __spec__.name if __spec__ else None)
print("file", os.path.basename(__file__) if "__file__" in globals() else None)
print("main is this module", sys.modules["__main__"] is sys.modules[__name__])
print("path0", os.path.realpath(sys.path[0]) if sys.path[0] else repr(sys.path[0]))
print("path has heapmark boot", any(p.endswith("_boot") for p in sys.path))
print("preload", os.environ.get("LD_PRELOAD"), "pythonpath", os.environ.get("PYTHONPATH"))
print("engine variables", sorted(k for k in os.environ if k in (
    "HEAPMARK_PROFILE", "HEAPMARK_RATE", "HEAPMARK_SEED", "HEAPMARK_COMMAND",
    "HEAPMARK_PRELOAD", "HEAPMARK_PYTHONPATH", "HEAPMARK_CHECKPOINT", "HEAPMARK_FOLLOW",
    "HEAPMARK_BOOT", "HEAPMARK_PARENT")))
print("other variables", sorted(k for k in os.environ if k.startswith("HMUSER")))
print("sitecustomize", getattr(sys.modules.get("sitecustomize"), "MARK", None))
print("stdin", repr(data))
'''


def plain(args, cwd, stdin=b""):
    proc = subprocess.run(
        [sys.executable] + args,
        cwd=cwd,
        input=stdin,
        capture_output=True,
    )
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def heapmark_lines(err):
    return [l for l in err.splitlines() if l.startswith("heapmark: ")]


def program_lines(err):
    return [l for l in err.splitlines() if not l.startswith("heapmark: ")]


@pytest.fixture
def progdir(tmp_path):
    (tmp_path / "prog.py").write_text(INTROSPECT)
    (tmp_path / "mymod.py").write_text(INTROSPECT)
    return tmp_path


@pytest.mark.parametrize(
    "target",
    [
        pytest.param(["prog.py", "a", "--b", "-c"], id="script"),
        pytest.param(["-m", "mymod", "x", "-o"], id="module"),
        pytest.param(["-c", INTROSPECT, "arg1"], id="code"),
    ],
)
def test_program_sees_what_it_would_without_heapmark(progdir, target):
    env = {"PYTHONPATH": "/nonexistent/user/path", "HMUSER_SETTING": "kept"}
    rc, expected, _ = plain(target, progdir, stdin=b"some input\n")
    run_env = dict(os.environ, **env)
    proc = subprocess.run(
        heapmark_command(["run", "-o", str(progdir / "out")] + target, run_env),
        cwd=progdir,
        input=b"some input\n",
        capture_output=True,
        env=run_env,
    )
    plain_env = subprocess.run(
        [sys.executable] + target,
        cwd=progdir,
        input=b"some input\n",
        stdout=subprocess.PIPE,
        env=dict(os.environ, **env),
    )
    assert proc.returncode == rc == 0
    assert proc.stdout.decode() == plain_env.stdout.decode()
    assert "path has heapmark boot False" in proc.stdout.decode()
    assert "engine variables []" in proc.stdout.decode()
    assert "other variables ['HMUSER_SETTING']" in proc.stdout.decode()
    assert (progdir / "out" / "profile.db").exists()
    for line in proc.stderr.decode().splitlines():
        assert line.startswith("heapmark: "), line


def test_users_own_sitecustomize_still_runs(progdir):
    site = progdir / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("MARK = 'user sitecustomize ran'\n")
    env = {"PYTHONPATH": str(site)}
    _, out, _ = run_heapmark(["run", "-q", "-o", str(progdir / "out"), "prog.py"], progdir, env=env)
    assert "sitecustomize user sitecustomize ran" in out
    assert "pythonpath %s" % site in out


def test_existing_ld_preload_is_restored_for_the_program(progdir):
    lib = subprocess.check_output(["gcc", "-print-file-name=libgcc_s.so.1"]).decode().strip()
    _, out, _ = run_heapmark(
        ["run", "-q", "-o", str(progdir / "out"), "prog.py"], progdir, env={"LD_PRELOAD": lib}
    )
    assert "preload %s " % lib in out


@pytest.mark.parametrize(
    "code, status",
    [
        ("print('fine')", 0),
        ("raise ValueError('boom')", 1),
        ("import sys; sys.exit(3)", 3),
        ("import sys; sys.exit('message to stderr')", 1),
    ],
)
def test_exit_status_and_traceback_pass_through(tmp_path, code, status):
    (tmp_path / "p.py").write_text(code + "\n")
    rc_plain, out_plain, err_plain = plain(["p.py"], tmp_path)
    rc, out, err = run_heapmark(
        ["run", "-o", str(tmp_path / "out"), "p.py"], tmp_path, check_rc=None
    )
    assert rc == rc_plain == status
    assert out == out_plain
    assert program_lines(err) == err_plain.splitlines()
    assert (tmp_path / "out" / "profile.db").exists()


def test_summary_at_exit(tmp_path):
    (tmp_path / "p.py").write_text("big = bytearray(30_000_000)\n")
    _, _, err = run_heapmark(["run", "-o", str(tmp_path / "out"), "p.py"], tmp_path)
    lines = heapmark_lines(err)
    assert lines == err.splitlines()
    text = "\n".join(lines)
    assert "peak tracked memory" in text and "peak RSS" in text and "run time" in text
    assert "top 5 lines at the peak" in text
    assert "<module> (p.py:1)" in text
    assert "results in %s" % (tmp_path / "out") in text


def test_default_results_directory(tmp_path):
    (tmp_path / "p.py").write_text("x = [0] * 1000\n")
    env = dict(os.environ)
    proc = subprocess.Popen(heapmark_command(["run", "-q", "p.py"], env), cwd=tmp_path, env=env)
    assert proc.wait() == 0
    runs = os.listdir(tmp_path / "heapmark-results")
    assert len(runs) == 1
    stamp, _, pid = runs[0].rpartition("-")
    assert pid.isdigit() and len(stamp) == len("20260101-120000")
    produced = set(os.listdir(tmp_path / "heapmark-results" / runs[0]))
    assert {"profile.db", "peak.svg", "peak.folded", "end.folded", "peak.txt"} <= produced
    con = sqlite3.connect(str(tmp_path / "heapmark-results" / runs[0] / "profile.db"))
    assert dict(con.execute("select key, value from meta"))["pid"] == int(pid)


def test_python_dash_m_heapmark(tmp_path):
    (tmp_path / "p.py").write_text("print('hi')\n")
    python = os.path.join(os.path.dirname(RECORDER), "python") if RECORDER else sys.executable
    proc = subprocess.run(
        [python, "-m", "heapmark", "run", "-q", "-o", "out", "p.py"],
        cwd=tmp_path,
        capture_output=True,
    )
    assert proc.returncode == 0 and proc.stdout == b"hi\n"
    assert (tmp_path / "out" / "peak.svg").exists()


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["run", "missing.py"], "cannot open script 'missing.py'"),
        (["run", sys.executable, "p.py"], "is a program, not a Python script"),
        (["run", "--bogus", "p.py"], "unknown option '--bogus'"),
        (["run"], "nothing to run"),
        (["run", "--sample-rate", "lots", "p.py"], "--sample-rate expects a number"),
        (["run", "-o"], "option -o needs a value"),
        (["frobnicate"], "unknown command 'frobnicate'"),
        (["report"], "needs a profile"),
        (["report", "--bogus", "x.db"], "unknown option '--bogus'"),
    ],
)
def test_bad_command_lines(tmp_path, args, fragment):
    (tmp_path / "p.py").write_text("pass\n")
    rc, out, err = run_heapmark(args, tmp_path, check_rc=None)
    assert_one_line_error(rc, err, fragment)
    assert out == ""


def test_unwritable_output_directory(tmp_path):
    (tmp_path / "p.py").write_text("pass\n")
    (tmp_path / "afile").write_text("")
    rc, _, err = run_heapmark(
        ["run", "-o", str(tmp_path / "afile" / "out"), "p.py"], tmp_path, check_rc=None
    )
    assert_one_line_error(rc, err, "cannot write to output directory")


@pytest.fixture(scope="module")
def good_profile(tmp_path_factory):
    d = tmp_path_factory.mktemp("good")
    (d / "p.py").write_text("import json\nx = [str(i) for i in range(100000)]\n")
    run_heapmark(["run", "-q", "-o", str(d / "out"), "p.py"], d)
    return d / "out" / "profile.db"


def make_bad_profile(kind, good, path):
    data = good.read_bytes()
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is not a profile\n" * 100)
    elif kind == "random":
        path.write_bytes(random.Random(1).randbytes(8192))
    elif kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "corrupt":
        mangled = bytearray(data)
        rng = random.Random(2)
        for _ in range(200):
            mangled[rng.randrange(100, len(mangled))] = rng.randrange(256)
        path.write_bytes(bytes(mangled))
    elif kind == "other-sqlite":
        con = sqlite3.connect(str(path))
        con.execute("create table t(x)")
        con.commit()
        con.close()
    elif kind == "directory":
        path.mkdir()
    return path


@pytest.mark.parametrize(
    "kind",
    ["missing", "empty", "text", "random", "truncated", "corrupt", "other-sqlite", "directory"],
)
@pytest.mark.parametrize("json_output", [False, True], ids=["report", "json"])
def test_bad_profiles(tmp_path, good_profile, kind, json_output):
    bad = tmp_path / "bad.db"
    if kind != "missing":
        make_bad_profile(kind, good_profile, bad)
    args = ["report", str(bad)] + (["--json"] if json_output else ["-o", str(tmp_path / "r")])
    rc, out, err = run_heapmark(args, tmp_path, check_rc=None)
    if kind == "corrupt" and rc == 0:
        # Random damage can miss every page the reader uses: then the reports
        # must still be complete.
        return
    assert_one_line_error(rc, err, "bad.db")
    assert out == ""
