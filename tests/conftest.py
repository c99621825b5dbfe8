"""Shared fixtures: run heapmark through its real command line on ground-truth
programs, and read what it reports.

The suite runs inside one interpreter's virtual environment with heapmark
installed (tests/run-all does this for CPython 3.9 to 3.13); `heapmark` is the
console script next to sys.executable.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(HERE, "programs")
NATIVE = os.path.join(HERE, "native")
HEAPMARK = os.path.join(os.path.dirname(sys.executable), "heapmark")

# Tolerances the issue sets: exact mode within 3%, sampled mode within 15%.
EXACT_TOLERANCE = 0.03
SAMPLED_TOLERANCE = 0.15
SEED = "7"  # sampled runs are seeded, so a failure reproduces


# tests/run-asan: `heapmark run` comes from the UBSan build (HMTEST_RECORDER)
# and everything else from the ASan build, with ASan's runtime preloaded.
RECORDER = os.environ.get("HMTEST_RECORDER")
ASAN_PRELOAD = os.environ.get("HMTEST_PRELOAD")


def heapmark_command(args, env):
    if RECORDER and args and args[0] == "run":
        if env.get("LD_PRELOAD") == ASAN_PRELOAD:
            del env["LD_PRELOAD"]
        return [RECORDER] + list(args)
    if ASAN_PRELOAD:
        env["LD_PRELOAD"] = ASAN_PRELOAD
    return [HEAPMARK] + list(args)


def run_heapmark(args, cwd, env=None, check_rc=0, stdin=None, timeout=300):
    full_env = dict(os.environ)
    full_env.update(env or {})
    command = heapmark_command(args, full_env)
    proc = subprocess.run(
        command,
        cwd=cwd,
        env=full_env,
        input=stdin,
        capture_output=True,
        timeout=timeout,
    )
    out, err = proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")
    if check_rc is not None and proc.returncode != check_rc:
        raise AssertionError(
            "heapmark %s exited %d, expected %d\nstdout:\n%s\nstderr:\n%s"
            % (" ".join(args), proc.returncode, check_rc, out, err)
        )
    return proc.returncode, out, err


def shared_library(out, sources, flags=()):
    """gcc -shared: tests/native/SOURCES into OUT."""
    paths = [os.path.join(NATIVE, src) for src in sources]
    subprocess.check_call(
        ["gcc", "-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-o", str(out)] + paths + list(flags)
    )


@pytest.fixture(scope="session")
def native_ext(tmp_path_factory):
    """Builds the hmnative test extension for this interpreter; returns its directory."""
    build = tmp_path_factory.mktemp("hmnative")
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    include = sysconfig.get_paths()["include"]
    objects = []
    for src, compiler in (("hmnative.c", "gcc"), ("hmnative_cxx.cpp", "g++")):
        obj = str(build / (src + ".o"))
        subprocess.check_call(
            [
                compiler,
                "-c",
                "-fPIC",
                "-O1",
                "-Wall",
                "-Werror",
                "-I" + include,
                os.path.join(NATIVE, src),
                "-o",
                obj,
            ]
        )
        objects.append(obj)
    subprocess.check_call(
        ["g++", "-shared", "-o", str(build / ("hmnative" + suffix))]
        + objects
        + ["-lpthread", "-ldl"]
    )
    # A C extension for --native, built as extensions are (-O2, no frame
    # pointers) but with line tables (-g).
    subprocess.check_call(
        ["gcc", "-shared", "-fPIC", "-O2", "-g", "-Wall", "-Werror", "-I" + include]
        + [os.path.join(NATIVE, "hmchain.c"), "-o", str(build / ("hmchain" + suffix))]
        + ["-lpthread"]
    )
    # A library to preload whose constructor starts a thread (hmearly.c).
    shared_library(build / "hmearly.so", ["hmearly.c"], ["-lpthread"])
    # Libraries that reach glibc's allocator around the preload (hmdl.c);
    # libhmdl_runpath.so is found only through libhmdl.so's RUNPATH.
    dl = build / "dl"
    dl.mkdir()
    shared_library(dl / "libhmdl_target.so", ["hmdl_target.c"])
    shared_library(dl / "libhmdl_runpath.so", ["hmdl_target.c"])
    shared_library(
        dl / "libhmdl.so",
        ["hmdl.c"],
        ["-L" + str(dl), "-lhmdl_target", "-Wl,-rpath,$ORIGIN", "-Wl,--enable-new-dtags", "-ldl"],
    )
    shared_library(dl / "libhmdl_deep.so", ["hmdl.c"], ["-DHMDL_DEEP"])
    return str(build)


@pytest.fixture
def workdir(tmp_path, native_ext):
    """A directory holding the ground-truth programs, with hmnative importable."""
    for name in os.listdir(PROGRAMS):
        if name.endswith(".py"):
            shutil.copy(os.path.join(PROGRAMS, name), tmp_path / name)
    return tmp_path


def program_env(native_ext):
    path = native_ext + os.pathsep + PROGRAMS
    return {"PYTHONPATH": path, "PYTHONHASHSEED": "0"}


def profile_program(workdir, native_ext, program, exact, extra_args=(), program_args=()):
    """Runs a ground-truth program under heapmark; returns (truth, report, outdir)."""
    out = workdir / ("out-exact" if exact else "out-sampled")
    truth_file = workdir / (program + (".exact" if exact else ".sampled") + ".json")
    mode = ["--exact"] if exact else ["--seed", SEED]
    run_heapmark(
        ["run", "-q", "-o", str(out)]
        + mode
        + list(extra_args)
        + [program + ".py", str(truth_file)]
        + list(program_args),
        cwd=workdir,
        env=program_env(native_ext),
    )
    with open(truth_file) as f:
        truth = json.load(f)
    return truth, report_json(out / "profile.db", workdir), out


def report_json(profile, cwd):
    _, out, _ = run_heapmark(["report", str(profile), "--json", "--top", "100000"], cwd=cwd)
    return json.loads(out)


def line_bytes(report, filename, line, table="top"):
    """Bytes heapmark credits to (file, line) at the peak."""
    for entry in report[table]:
        if os.path.basename(entry["file"]) == filename and entry["line"] == int(line):
            return entry["bytes"]
    return 0


def assert_one_line_error(rc, err, *fragments):
    """heapmark's way to refuse: exit 2 and one line on stderr, no traceback."""
    assert rc == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("heapmark: error: "), err
    for fragment in fragments:
        assert fragment in lines[0]


def assert_close(actual, expected, tolerance, what):
    assert expected > 0, what
    error = abs(actual - expected) / expected
    assert error <= tolerance, "%s: heapmark %d bytes, truth %d bytes, error %.1f%% > %.0f%%" % (
        what,
        actual,
        expected,
        100 * error,
        100 * tolerance,
    )


def folded_lines(path):
    """{stack: bytes} from a folded-stacks file."""
    stacks = {}
    with open(path) as f:
        for row in f:
            stack, _, value = row.rstrip("\n").rpartition(" ")
            stacks[stack] = stacks.get(stack, 0) + int(value)
    return stacks


def folded_bytes_at(path, filename, line):
    """Bytes in a folded file whose stack passes through filename:line."""
    needle = "%s:%d)" % (filename, line)
    total = 0
    for stack, value in folded_lines(path).items():
        if any(frame.endswith(needle) for frame in stack.split(";")):
            total += value
    return total
