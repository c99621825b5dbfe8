"""heapmark's pytest plugin (src/heapmark/pytest_plugin.py), through pytest
itself: each case runs a small test file in a pytest subprocess (pytester),
as a user's suite would with heapmark installed."""

import os
import re
import sqlite3

import pytest
from conftest import ASAN_PRELOAD

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.skipif(
    bool(ASAN_PRELOAD), reason="in-process tracking forwards to glibc's malloc, not ASan's"
)

TESTS = '''
import unittest

import pytest

kept = []
_cache = {}


def remember(key):
    if key not in _cache:
        _cache[key] = bytearray(6 << 20)
    return _cache[key]


@pytest.mark.limit_memory("10 MB")
def test_under_its_limit():
    data = bytearray(2 << 20)
    assert len(data) == 2 << 20


@pytest.mark.limit_memory("10 MB")
def test_over_its_limit():
    floats = [float(i) for i in range(1_000_000)]
    assert len(floats) == 1_000_000


@pytest.mark.limit_leaks("1 MB")
def test_leaks():
    kept.append(bytearray(5 << 20))


@pytest.mark.limit_leaks("1 MB", warmup=1)
def test_cache_filled_by_the_warm_up():
    remember("warm")


@pytest.mark.limit_leaks("1 MB", ignore=("remember",))
def test_cache_ignored():
    remember("ignored")


class TestInAClass(unittest.TestCase):
    @pytest.mark.limit_memory("1 MB")
    def test_unittest_over_its_limit(self):
        self.data = bytearray(4 << 20)
'''


def line_of(text, fragment):
    return next(i + 1 for i, line in enumerate(text.splitlines()) if fragment in line)


@pytest.fixture
def suite(pytester):
    pytester.makepyfile(test_memory=TESTS)
    return pytester


def outcomes(result):
    return {
        m.group(2).split("::")[-1]: m.group(1)
        for m in re.finditer(r"^(PASSED|FAILED)\S* (\S+)", result.stdout.str(), re.M)
    }


def test_limits_pass_and_fail_with_the_line_named(suite):
    written = (suite.path / "test_memory.py").read_text()
    result = suite.runpytest_subprocess("-rA", "-p", "no:cacheprovider")
    got = outcomes(result)
    assert got == {
        "test_under_its_limit": "PASSED",
        "test_over_its_limit": "FAILED",
        "test_leaks": "FAILED",
        "test_cache_filled_by_the_warm_up": "PASSED",
        "test_cache_ignored": "PASSED",
        "test_unittest_over_its_limit": "FAILED",
    }, result.stdout.str()
    out = result.stdout.str()
    # The peak (1M floats and their list: about 38.6 MiB), the limit, the line
    # and its source; the totals are exact, the lines estimated.
    peak = re.search(r"the test's call peaked at ([\d.]+) MiB, above its limit of 10.0 MiB", out)
    assert peak and 35 <= float(peak.group(1)) <= 42, out
    floats_line = line_of(written, "floats = [float(i)")
    # (the function is <listcomp> before 3.12, which inlines comprehensions)
    assert re.search(r"\(\S*test_memory.py:%d\)" % floats_line, out), out
    assert "floats = [float(i) for i in range(1_000_000)]" in out
    assert "kinds: " in out and "float" in out
    # The leak: 5 MiB at the line that kept it.
    leak = re.search(
        r"the test's call left ([\d.]+) MiB allocated, above its limit of 1.0 MiB", out
    )
    assert leak and 4.9 <= float(leak.group(1)) <= 5.2, out
    kept_line = line_of(written, "kept.append(bytearray")
    assert re.search(r"test_leaks \(\S*test_memory.py:%d\)" % kept_line, out), out
    # A unittest.TestCase method's call is tracked as a function's is.
    assert re.search(r"peaked at 4.0 MiB, above its limit of 1.0 MiB", out), out
    # Each failure names its profile, which heapmark's reports read.
    profile = re.search(r"^profile: (\S+profile.db)$", out, re.M).group(1)
    assert sqlite3.connect(profile).execute("SELECT count(*) FROM nodes").fetchone()[0] > 1


def test_heapmark_lists_the_highest_peaks_and_keeps_profiles(suite, tmp_path):
    keep = tmp_path / "profiles"
    result = suite.runpytest_subprocess("--heapmark-dir", str(keep), "-p", "no:cacheprovider")
    out = result.stdout.str()
    assert "heapmark: the tests with the highest peaks" in out
    summary = out.split("heapmark: the tests with the highest peaks", 1)[1]
    listed = re.findall(r"^\s*[\d.]+ [KMG]?i?B\s+test_memory.py::(\w+)$", summary, re.M)
    # Highest first: the floats (38 MiB), the cache (6 MiB), the leak (5 MiB).
    assert listed[:3] == ["test_over_its_limit", "test_cache_ignored", "test_leaks"], summary
    names = sorted(os.listdir(keep))
    assert "test_memory.py_test_over_its_limit" in names and len(names) == 6, names
    db = keep / "test_memory.py_test_over_its_limit" / "profile.db"
    peak = sqlite3.connect(str(db)).execute("SELECT value FROM meta WHERE key='peak_bytes'")
    assert 35 << 20 <= peak.fetchone()[0] <= 42 << 20


def test_inert_unless_asked(pytester):
    """No option, no mark: the engine is not even loaded."""
    pytester.makepyfile(
        """
        import sys

        def test_not_asking():
            data = bytearray(1 << 20)
            assert "heapmark._heapmark" not in sys.modules
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == 0, result.stdout.str()
    assert "heapmark:" not in result.stdout.str() + result.stderr.str()


def test_bad_limit_is_a_usage_error(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.limit_memory("lots")
        def test_x():
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret != 0
    assert (
        "limit_memory: expected a size such as 24 MB" in result.stderr.str() + result.stdout.str()
    )


def test_xdist_workers_track_their_own_tests(suite):
    pytest.importorskip("xdist")
    result = suite.runpytest_subprocess("-n", "2", "--heapmark", "-p", "no:cacheprovider")
    out = result.stdout.str()
    assert re.search(r"3 failed, 3 passed", out), out
    summary = out.split("heapmark: the tests with the highest peaks", 1)[1]
    assert re.search(r"^\s*[\d.]+ MiB\s+test_memory.py::test_over_its_limit$", summary, re.M)
    assert "above its limit of 10.0 MiB" in out
