"""Memory reached around the preload (run/dl_hooks.c): ctypes handles on
libc, dlsym(RTLD_NEXT) and dlvsym, glibc's internal __libc_malloc, and a
library loaded with RTLD_DEEPBIND, each credited at its line in both modes
(tests/programs/dl_routes.py computes what each line holds)."""

import pytest

from conftest import (
    EXACT_TOLERANCE,
    SAMPLED_TOLERANCE,
    assert_close,
    folded_bytes_at,
    line_bytes,
    profile_program,
)

MODES = [pytest.param(True, id="exact"), pytest.param(False, id="sampled")]


@pytest.mark.parametrize("exact", MODES)
def test_every_route_around_the_preload_is_counted(workdir, native_ext, exact):
    truth, report, out = profile_program(workdir, native_ext, "dl_routes", exact)
    tolerance = EXACT_TOLERANCE if exact else SAMPLED_TOLERANCE
    apis = {line: api for api, line in truth["apis"].items()}
    for line, expected in truth["peak"].items():
        got = line_bytes(report, "dl_routes.py", line)
        assert_close(got, expected, tolerance, "%s at line %s" % (apis[int(line)], line))
    # Freed through the same handle before the peak: not held there.
    for line in truth["freed_before_peak"]:
        assert line_bytes(report, "dl_routes.py", line) < 1024 * 1024
    # The peak total holds all of them (15 blocks, 11 to 25 MiB: 270 MiB).
    assert report["peak_bytes"] >= sum(truth["peak"].values())
    # Released through their own routes before exit (free by dlsym(RTLD_NEXT),
    # by the deep-bound library, by another handle): gone from the end.
    for line in truth["released"]:
        assert folded_bytes_at(out / "end.folded", "dl_routes.py", line) < 1024 * 1024
    for line, expected in truth["end"].items():
        got = folded_bytes_at(out / "end.folded", "dl_routes.py", int(line))
        assert_close(got, expected, tolerance, "end: line %s" % line)


def test_lookups_of_other_names_keep_the_callers_answer(workdir, native_ext):
    """dlsym(RTLD_NEXT) searches after the library that asks, and dlopen of a
    bare name searches that library's RUNPATH: the hooks hand over with a
    jump, so the loader still sees the library as the caller."""
    truth, _, _ = profile_program(workdir, native_ext, "dl_routes", False)
    assert truth["next_finds_dependency"] == 1
    assert truth["opens_by_runpath"] == 1


@pytest.mark.parametrize("exact", MODES)
def test_extensions_around_the_preload(workdir, native_ext, exact):
    """A C extension that takes malloc by dlsym(RTLD_NEXT), and one imported
    with RTLD_DEEPBIND (sys.setdlopenflags): both credited at their lines."""
    truth, report, _ = profile_program(workdir, native_ext, "dl_extensions", exact)
    tolerance = EXACT_TOLERANCE if exact else SAMPLED_TOLERANCE
    for name, line in truth["lines"].items():
        got = line_bytes(report, "dl_extensions.py", line)
        assert_close(got, truth["peak"][str(line)], tolerance, "%s at line %d" % (name, line))
