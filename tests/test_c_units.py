"""The C unit tests of the data structures whose bugs would be silent (node
values at the peak, the live table and its filter, the sampler's weights, the
interner, the string buffer, the pipe that says the final profile is
written): tests/c/, built and run by `make test-c` under
ASan and UBSan.  Run here too, so that the pytest suite covers them."""

import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)
TESTS = ["node_values", "live_table", "sampler", "intern", "strbuf", "done_signal"]


@pytest.mark.skipif(
    not shutil.which("cc") or not shutil.which("make"), reason="no C compiler or make"
)
def test_c_unit_tests_pass():
    # Not under the suite's own preloads (tests/run-asan): the tests bring theirs.
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS")}
    proc = subprocess.run(
        ["make", "-s", "test-c"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    passed = dict(re.findall(r"test_(\w+): (\d+) checks passed", proc.stdout))
    assert sorted(passed) == sorted(TESTS), proc.stdout
    assert all(int(n) >= 20 for n in passed.values()), passed


def test_every_c_test_is_run():
    names = sorted(
        n[len("test_") : -2]
        for n in os.listdir(os.path.join(ROOT, "tests", "c"))
        if n.startswith("test_") and n.endswith(".c")
    )
    assert names == sorted(TESTS)
    with open(os.path.join(ROOT, "Makefile")) as f:
        makefile = f.read()
    assert "C_TESTS = " + " ".join(TESTS) in makefile
