"""Memory safety under valgrind: `heapmark run` and the program it profiles
(pymalloc on, threads, a fork, an anonymous mapping) run under memcheck
with no error in any process, and the profile is still right.  The only
suppressions (valgrind-python.supp) are for CPython 3.9's pymalloc reading
its own pool headers by design.

valgrind replaces the malloc of every library that defines one unless told
not to (--soname-synonyms=somalloc=nouserintercepts): heapmark's hooks then
stay in place and forward to the C library's malloc, which is valgrind's.
The engine sees valgrind's libraries in LD_PRELOAD and asks
malloc_usable_size for block sizes instead of reading glibc's chunk headers.
"""

import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import (
    ASAN_PRELOAD,
    EXACT_TOLERANCE,
    HERE,
    RECORDER,
    assert_close,
    line_bytes,
    report_json,
)

SMOKE = """
import mmap, os, threading
held = [bytearray(1000 + i) for i in range(2000)]
big = bytearray(5_000_000)
def work():
    global more
    more = [str(i) * 5 for i in range(20000)]
t = threading.Thread(target=work)
t.start()
t.join()
pid = os.fork()
if pid == 0:
    child = bytearray(3_000_000)
    os._exit(0)
os.waitpid(pid, 0)
area = mmap.mmap(-1, 2 << 20)
area.write(b"x" * (2 << 20))
print("smoke ok")
"""

pytestmark = [
    pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed"),
    pytest.mark.skipif(
        bool(ASAN_PRELOAD or RECORDER), reason="valgrind and the sanitizers cannot share a process"
    ),
]


def test_run_under_valgrind_is_clean(tmp_path):
    (tmp_path / "smoke.py").write_text(SMOKE)
    command = [
        "valgrind",
        "--trace-children=yes",
        "--soname-synonyms=somalloc=nouserintercepts",
        "--suppressions=" + os.path.join(HERE, "valgrind-python.supp"),
        "--error-exitcode=99",
        sys.executable,
        "-m",
        "heapmark",
        "run",
        "--exact",
        "-o",
        "out",
        "smoke.py",
    ]
    proc = subprocess.run(command, cwd=tmp_path, capture_output=True, timeout=600)
    log = proc.stderr.decode(errors="replace")
    assert proc.returncode == 0, log[-4000:]
    assert proc.stdout == b"smoke ok\n"
    summaries = re.findall(r"==(\d+)== ERROR SUMMARY: (\d+) errors", log)
    # heapmark run, the program and its forked child, each checked.
    assert len(summaries) == 3, log[-4000:]
    assert all(errors == "0" for _, errors in summaries), log[-4000:]
    # Sizes come from valgrind's malloc_usable_size (the size asked for).  The
    # report adds up both processes, and the forked child holds copies.
    report = report_json(tmp_path / "out" / "profile.db", tmp_path)
    assert_close(line_bytes(report, "smoke.py", 4), 2 * 5_000_000, EXACT_TOLERANCE, "big")
    held = sum(sys.getsizeof(bytearray(1000 + i)) for i in range(2000))
    assert_close(line_bytes(report, "smoke.py", 3), 2 * held, EXACT_TOLERANCE, "held")
    children = [n for n in os.listdir(tmp_path / "out") if n.startswith("profile-")]
    assert len(children) == 1
    child = report_json(tmp_path / "out" / children[0], tmp_path)
    assert child["status"] == "os._exit"
    assert_close(line_bytes(child, "smoke.py", 13), 3_000_000, EXACT_TOLERANCE, "child")
