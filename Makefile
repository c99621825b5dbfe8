# Developer tasks.  The README's test command is `make test`.
PYTHON ?= python3
# For the C unit tests: each test's sources are named by a variable of its own.
.SECONDEXPANSION:

.PHONY: build test test-c test-all test-one test-asan lint format bench bench-census bench-reports bench-in-process bench-kinds bench-allocators bench-pytest-plugin asan clean bench-native bench-pyperformance bench-job

build:            ## compile the engine in place (src/heapmark/_heapmark*.so)
	$(PYTHON) setup.py -q build_ext --inplace

test: lint test-c ## everything CI runs: lint, C unit tests, the suite on CPython 3.9-3.13, then under the sanitizers
	tests/run-all
	tests/run-asan

# The C unit tests (tests/c/): one program per data structure, linked with
# the sources it tests (and what they need), under ASan and UBSan.
C_TEST_FLAGS = -std=gnu11 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -D_GNU_SOURCE -Icsrc -Wall -Wextra -Wno-unused-parameter
C_TESTS = node_values live_table sampler intern strbuf done_signal
C_TEST_SOURCES_node_values = csrc/hotpath/node_values.c csrc/common/ownmem.c
C_TEST_SOURCES_live_table = csrc/hotpath/live_table.c csrc/common/hashmap.c csrc/common/ownmem.c
C_TEST_SOURCES_sampler = csrc/hotpath/sampler.c
C_TEST_SOURCES_intern = csrc/common/intern.c csrc/common/hashmap.c csrc/common/ownmem.c
C_TEST_SOURCES_strbuf = csrc/common/strbuf.c
C_TEST_SOURCES_done_signal = csrc/run/done_signal.c

build/c-tests/test_%: tests/c/test_%.c tests/c/check.h $$(C_TEST_SOURCES_$$*) $$(wildcard csrc/*/*.h)
	@mkdir -p build/c-tests
	$(CC) $(C_TEST_FLAGS) -o $@ $< $(C_TEST_SOURCES_$*) -lm

test-c: $(C_TESTS:%=build/c-tests/test_%)  ## the C unit tests of the data structures (tests/c/)
	@status=0; for t in $^; do ASAN_OPTIONS=detect_leaks=1 $$t || status=1; done; exit $$status

# The style is checked, never applied, by `make lint`; `make format` applies it.
# clang-format is Debian's (14 on bookworm: versions format differently);
# ruff is pinned and installed into its own venv.
LINT_VENV = build/lint-venv
RUFF_VERSION = 0.17.6
C_SOURCES = $$(find csrc tests/c -name '*.[ch]' 2>/dev/null | sort)

$(LINT_VENV)/bin/ruff:
	$(PYTHON) -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/python -m pip install -q --disable-pip-version-check ruff==$(RUFF_VERSION)

lint: $(LINT_VENV)/bin/ruff  ## C and Python style: clang-format and ruff (lint and format), checked
	@if command -v clang-format >/dev/null; then \
	    echo "clang-format --dry-run --Werror csrc/ tests/c/"; clang-format --dry-run --Werror $(C_SOURCES); \
	elif [ -n "$$CI" ]; then \
	    echo "heapmark lint: clang-format is not installed (apt-get install clang-format)" >&2; exit 2; \
	else \
	    echo "heapmark lint: C style not checked: clang-format is not installed (apt-get install clang-format; CI checks it)" >&2; \
	fi
	$(LINT_VENV)/bin/ruff check .
	$(LINT_VENV)/bin/ruff format --check .

format: $(LINT_VENV)/bin/ruff  ## apply the style that make lint checks
	clang-format -i $(C_SOURCES)
	$(LINT_VENV)/bin/ruff check --fix .
	$(LINT_VENV)/bin/ruff format .

test-all:         ## the suite on CPython 3.9-3.13 only
	tests/run-all

test-one:         ## the suite on one interpreter: make test-one PY=3.11
	HEAPMARK_PYTHONS="$$(ls -d $$(pyenv root)/versions/$(PY).*/bin/python3 | sort -V | tail -n 1)" tests/run-all

BENCH_VENV = build/bench-venv

bench:            ## overhead, memory and accuracy; writes docs/performance.md
	[ -x $(BENCH_VENV)/bin/python ] || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check numpy
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check memray filprofiler scalene \
	    || echo "heapmark bench: a peer tool did not install; the benchmark skips it with a note"
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps .
	$(PYTHON) bench/run.py --write-docs --python $(BENCH_VENV)/bin/python

bench-census:     ## heap census against guppy3 on 5M objects; writes docs/performance.md
	[ -x $(BENCH_VENV)/bin/python ] || python3.11 -m venv $(BENCH_VENV) || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check guppy3 numpy
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps .
	nice -n 19 $(PYTHON) bench/census.py --write-docs --python $(BENCH_VENV)/bin/python

bench-reports:    ## heapmark report's time and report.html's size on a 100,000+ node profile
	[ -x $(BENCH_VENV)/bin/python ] || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check selenium
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps .
	$(BENCH_VENV)/bin/python bench/reports.py --python $(BENCH_VENV)/bin/python \
	    $(if $(wildcard /usr/bin/chromedriver),--browser,)

bench-in-process: ## heapmark.track() beside heapmark run, and after a stop; writes docs/performance.md
	[ -x $(BENCH_VENV)/bin/python ] || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check numpy
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps .
	$(PYTHON) bench/in_process.py --write-docs --python $(BENCH_VENV)/bin/python

bench-kinds:      ## what the walks for kinds at the peak cost; writes docs/performance.md
	[ -x $(BENCH_VENV)/bin/python ] || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check numpy
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps .
	$(PYTHON) bench/kinds.py --write-docs --python $(BENCH_VENV)/bin/python

bench-allocators: ## pyarrow's and polars' own allocators against heapmark's figures; writes docs/performance.md
	[ -x $(BENCH_VENV)/bin/python ] || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check numpy pyarrow polars
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps .
	$(PYTHON) bench/native_allocators.py --write-docs --python $(BENCH_VENV)/bin/python

bench-pytest-plugin: ## what the pytest plugin costs a real suite (more-itertools' tests); writes docs/performance.md
	[ -x $(BENCH_VENV)/bin/python ] || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check pytest
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps .
	$(PYTHON) bench/pytest_plugin.py --write-docs --python $(BENCH_VENV)/bin/python

# The build before issue 13 (native frames), for the default mode's cost
# before and after it: exported from git, installed in a venv of its own.
BEFORE_NATIVE = 1e217ce
BENCH_BEFORE = build/bench-before-$(BEFORE_NATIVE)

bench-native:     ## heapmark run --native against memray --native, and the default mode before/after issue 13; writes docs/performance.md
	[ -x $(BENCH_VENV)/bin/python ] || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check numpy memray
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps .
	[ -x $(BENCH_BEFORE)/venv/bin/heapmark ] || { \
	    rm -rf $(BENCH_BEFORE) && mkdir -p $(BENCH_BEFORE)/src && \
	    git archive $(BEFORE_NATIVE) | tar -x -C $(BENCH_BEFORE)/src && \
	    $(BENCH_VENV)/bin/python -m venv $(BENCH_BEFORE)/venv && \
	    $(BENCH_BEFORE)/venv/bin/python -m pip install -q --disable-pip-version-check numpy && \
	    $(BENCH_BEFORE)/venv/bin/python -m pip install -q --disable-pip-version-check --no-deps ./$(BENCH_BEFORE)/src; }
	$(PYTHON) bench/native.py --write-docs --python $(BENCH_VENV)/bin/python \
	    --before $(BENCH_BEFORE)/venv/bin/python --before-commit $(BEFORE_NATIVE) $(NATIVE_ARGS)

# pyperformance's own scripts (pinned: bench/pyperformance.py's loop counts
# are calibrated for them); PYPERFORMANCE_ARGS passes options, e.g.
# PYPERFORMANCE_ARGS="--rounds 1 --tools heapmark,scalene".
PYPERFORMANCE = pyperformance==1.14.0

bench-pyperformance: ## overhead on pyperformance's benchmark scripts (wall, timed loops, instructions), paired with plain runs; writes docs/performance.md
	[ -x $(BENCH_VENV)/bin/python ] || python3.11 -m venv $(BENCH_VENV) || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check $(PYPERFORMANCE) pyperf
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check memray filprofiler \
	    || echo "heapmark bench: a peer tool did not install; the benchmark skips it with a note"
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps .
	$(PYTHON) bench/pyperformance.py --write-docs --python $(BENCH_VENV)/bin/python $(PYPERFORMANCE_ARGS)

# A job of 9 processes (issue 16): plain, heapmark (following the pool's
# workers: the job view), --no-follow, and the build before the job view
# (a34ac13^, exported from git into a venv of its own); JOB_ARGS passes
# options, e.g. JOB_ARGS="--rounds 5 --probe-runs 3".
BEFORE_JOB = da51265
BENCH_BEFORE_JOB = build/bench-before-$(BEFORE_JOB)

bench-job:        ## what profiling a parent and a Pool(8) costs, and what the job view itself costs (against the build before it); writes docs/performance.md
	[ -x $(BENCH_VENV)/bin/python ] || python3.11 -m venv $(BENCH_VENV) || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps .
	[ -x $(BENCH_BEFORE_JOB)/venv/bin/heapmark ] || { \
	    rm -rf $(BENCH_BEFORE_JOB) && mkdir -p $(BENCH_BEFORE_JOB)/src && \
	    git archive $(BEFORE_JOB) | tar -x -C $(BENCH_BEFORE_JOB)/src && \
	    $(BENCH_VENV)/bin/python -m venv $(BENCH_BEFORE_JOB)/venv && \
	    $(BENCH_BEFORE_JOB)/venv/bin/python -m pip install -q --disable-pip-version-check --no-deps ./$(BENCH_BEFORE_JOB)/src; }
	$(PYTHON) bench/job.py --write-docs --python $(BENCH_VENV)/bin/python \
	    --before $(BENCH_BEFORE_JOB)/venv/bin/python --before-commit $(BEFORE_JOB) $(JOB_ARGS)

test-asan:        ## the suite under UBSan (engine) and ASan (reader, reports, CLI); PY=3.11 by default
	tests/run-asan

asan: test-asan

clean:
	rm -rf build dist src/*.egg-info src/heapmark/*.so
