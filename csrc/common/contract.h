/*
 * contract.h - the names heapmark's processes and its users agree on: the
 * environment variables, the files of a results directory, and the live
 * files heapmark top reads.
 *
 * Owns: the one table of every HEAPMARK_* environment variable (who sets it,
 * what it means), the one table of the names written into a results
 * directory, and the one table of a profiled process's live files.  The
 * engine (run/), the reports (report/labels.c), the module
 * (pymodule/_heapmark.c exports them as ENVIRONMENT, RESULT_FILES,
 * RESULT_SERIES and WATCH_FILES) and the command line (src/heapmark/cli/)
 * all take the names from here; docs/environment.md lists the variables,
 * docs/profile-format.md the live files, and tests/test_contract.py checks
 * that every one agrees with this file.
 * Must never: hold code that allocates, locks or calls anything: it is
 * constants and one inline lookup, safe anywhere (the hot path included).
 */
#ifndef HM_CONTRACT_H
#define HM_CONTRACT_H

/*
 * Who sets a variable:
 *   RUN      heapmark run, for the engine in the program it starts; the engine
 *            removes it at start-up (and follow.c sets it again for a followed
 *            exec'd child)
 *   CHILD    the engine, for a child it follows; heapmark run removes an
 *            inherited one, the engine removes it at start-up
 *   CALLER   the user or the tests, for the engine; passed through by heapmark
 *            run, removed by the engine at start-up
 *   TOOLING  the user, for the build or the test suite; heapmark itself never
 *            reads it
 */
#define HM_ENV_PREFIX "HEAPMARK_"

#define HM_ENVIRONMENT(X)                                                                       \
    X(PROFILE, "HEAPMARK_PROFILE", RUN, "path of the profile to write; \"%p\" becomes the pid") \
    X(RATE, "HEAPMARK_RATE", RUN, "mean bytes between samples; 1 records every allocation")     \
    X(SEED, "HEAPMARK_SEED", RUN, "the sampler's seed (0: from addresses)")                     \
    X(COMMAND, "HEAPMARK_COMMAND", RUN, "the command line, for the reports (empty: read argv)") \
    X(PRELOAD, "HEAPMARK_PRELOAD", RUN, "LD_PRELOAD as it was before heapmark run")             \
    X(PYTHONPATH, "HEAPMARK_PYTHONPATH", RUN,                                                   \
      "PYTHONPATH as it was before heapmark run (restored by the boot module)")                 \
    X(CHECKPOINT, "HEAPMARK_CHECKPOINT", RUN, "seconds between checkpoints (0: none)")          \
    X(FOLLOW, "HEAPMARK_FOLLOW", RUN,                                                           \
      "child processes to profile: fork, spawn, exec, comma-separated (none: only this one)")   \
    X(BOOT, "HEAPMARK_BOOT", RUN, "directory of the boot module (for spawned children)")        \
    X(MEMORY_LIMIT, "HEAPMARK_MEMORY_LIMIT", RUN,                                               \
      "tracked bytes beyond which to write an out-of-memory report (--memory-limit)")           \
    X(TIMELINE_MS, "HEAPMARK_TIMELINE_MS", RUN,                                                 \
      "first interval of the timeline's samples, in ms (0: no timeline)")                       \
    X(KINDS, "HEAPMARK_KINDS", RUN,                                                             \
      "percent of the run's time walks of the heap for kinds may take (--kinds-time; 0: none)") \
    X(NATIVE, "HEAPMARK_NATIVE", RUN,                                                           \
      "1: record the native (C/C++) stack of recorded allocations too (--native)")              \
    X(ALLOCATORS, "HEAPMARK_ALLOCATORS", RUN,                                                   \
      "ARROW_DEFAULT_MEMORY_POOL: set (to system), kept (--keep-allocators) or caller's")       \
    X(DONE_FD, "HEAPMARK_DONE_FD", RUN,                                                         \
      "a pipe the program writes F to when its final profile is written (run/done_signal.c)")   \
    X(PARENT, "HEAPMARK_PARENT", CHILD, "pid of the process that started this one")             \
    X(ROOT, "HEAPMARK_ROOT", CALLER,                                                            \
      "(tests) a directory standing for / when reading /proc and /sys/fs/cgroup")               \
    X(TEST_OOM_REPORT_DELAY_MS, "HEAPMARK_TEST_OOM_REPORT_DELAY_MS", CALLER,                    \
      "(tests) milliseconds the monitor holds the out-of-memory report back")                   \
    X(TEST_CRASH_IN_HEAPMARK, "HEAPMARK_TEST_CRASH_IN_HEAPMARK", CALLER,                        \
      "(tests) milliseconds after which heapmark's own thread dies of SIGSEGV (run/crash.c)")   \
    X(CFLAGS, "HEAPMARK_CFLAGS", TOOLING, "extra compiler flags for setup.py's build")          \
    X(LDFLAGS, "HEAPMARK_LDFLAGS", TOOLING, "extra linker flags for setup.py's build")          \
    X(PYTHONS, "HEAPMARK_PYTHONS", TOOLING,                                                     \
      "the interpreters tests/run-all runs the suite on (default: CPython 3.9-3.13)")           \
    X(FUZZ_CASES, "HEAPMARK_FUZZ_CASES", TOOLING,                                               \
      "damaged profiles tests/test_hostile.py tries (default 1000)")                            \
    X(FUZZ_SEED, "HEAPMARK_FUZZ_SEED", TOOLING, "seed of tests/test_hostile.py's damage")

typedef enum { HM_ENV_RUN, HM_ENV_CHILD, HM_ENV_CALLER, HM_ENV_TOOLING } hm_env_kind;

#define HM_ENV_ENUM_ROW(id, name, kind, meaning) HM_ENV_##id,
typedef enum { HM_ENVIRONMENT(HM_ENV_ENUM_ROW) HM_ENV_COUNT } hm_env;
#undef HM_ENV_ENUM_ROW

static inline const char *hm_env_name(hm_env id)
{
#define HM_ENV_NAME_ROW(id, name, kind, meaning) name,
    static const char *const names[] = {HM_ENVIRONMENT(HM_ENV_NAME_ROW)};
#undef HM_ENV_NAME_ROW
    return names[id];
}

static inline hm_env_kind hm_env_kind_of(hm_env id)
{
#define HM_ENV_KIND_ROW(id, name, kind, meaning) HM_ENV_##kind,
    static const hm_env_kind kinds[] = {HM_ENVIRONMENT(HM_ENV_KIND_ROW)};
#undef HM_ENV_KIND_ROW
    return kinds[id];
}

/*
 * The names in a results directory.  Kinds:
 *   PROFILE  the profile itself
 *   REPORT   rendered from the profile (heapmark run, heapmark report,
 *            out-of-memory and snapshot directories)
 *   DIFF     written by heapmark diff -o DIR
 *   DEFAULT  the directory results go under without -o
 * heapmark run removes the PROFILE and REPORT files (and the series below,
 * but TEMPORARY and WRITE_TEST) of an earlier run from the directory it is
 * given.
 */
#define HM_RESULT_FILES(X)                                                                   \
    X(PROFILE, "profile.db", PROFILE, "the profile: SQLite, docs/profile-format.md")         \
    X(PEAK_SVG, "peak.svg", REPORT, "flamegraph of what was allocated at the peak")          \
    X(PEAK_FOLDED, "peak.folded", REPORT, "folded stacks at the peak")                       \
    X(END_FOLDED, "end.folded", REPORT, "folded stacks of what was still allocated at exit") \
    X(PEAK_TXT, "peak.txt", REPORT, "the top lines and the top stacks at the peak")          \
    X(REPORT_HTML, "report.html", REPORT, "the interactive report")                          \
    X(DIFF_HTML, "diff.html", DIFF, "heapmark diff's differential flamegraphs and tables")   \
    X(DEFAULT_DIR, "heapmark-results", DEFAULT,                                              \
      "where results go without -o: heapmark-results/<timestamp>-<pid>/")                    \
    X(JOB_TABLE, ".heapmark-job", JOB,                                                       \
      "the run's processes' shared totals while it runs (run/job.c), removed at its end")

/* Names made of a prefix, a number (a pid, ...) and a suffix.  Kinds: FILE,
 * DIR (a directory holding a profile.db and its reports), TEMPORARY (a file
 * being written, renamed to its name once complete: the prefix is the name). */
#define HM_RESULT_SERIES(X)                                                                     \
    X(CHILD_PROFILE, "profile-", ".db", FILE, "a child process's profile: profile-PID.db")      \
    X(SNAPSHOT, "snapshot-", "", DIR,                                                           \
      "SIGUSR2's snapshot while the program runs: snapshot-PID-N/")                             \
    X(OUT_OF_MEMORY, "out-of-memory-", "", DIR, "the out-of-memory report: out-of-memory-PID/") \
    X(TEMPORARY, "", ".tmp", TEMPORARY, "a profile or report being written: NAME.tmp")          \
    X(WRITE_TEST, ".heapmark-write-test-", "", FILE,                                            \
      "heapmark run's probe that the output directory is writable: .heapmark-write-test-PID")

/*
 * The live files of a running profiled process, which `heapmark top PID`
 * reads (run/watch.c).  They live in one directory per user: DIR under
 * $XDG_RUNTIME_DIR when it is set, else TMP_DIR followed by the uid; each
 * file is named by the process's pid and a suffix.  Kinds: DIR, FILE, FIFO.
 */
#define HM_WATCH_FILES(X)                                                                         \
    X(DIR, "heapmark", DIR, "the live files' directory under $XDG_RUNTIME_DIR: mode 0700")        \
    X(TMP_DIR, "/tmp/heapmark-", DIR, "the live files' directory without it: /tmp/heapmark-UID")  \
    X(STATE, ".live", FILE,                                                                       \
      "PID.live: tracked, peak, RSS, a timeline, the profile's path (text, renamed into place)")  \
    X(REQUEST, ".request", FIFO,                                                                  \
      "PID.request: a byte written here asks the monitor thread for a fresh PID.live and PID.db") \
    X(NOW, ".db", FILE, "PID.db: a profile written on request; its end snapshot is now")

#define HM_RESULT_ENUM_ROW(id, name, kind, meaning) HM_RESULT_##id,
typedef enum { HM_RESULT_FILES(HM_RESULT_ENUM_ROW) HM_RESULT_COUNT } hm_result_file_id;
#undef HM_RESULT_ENUM_ROW

#define HM_SERIES_ENUM_ROW(id, prefix, suffix, kind, meaning) HM_SERIES_##id,
typedef enum { HM_RESULT_SERIES(HM_SERIES_ENUM_ROW) HM_SERIES_COUNT } hm_result_series_id;
#undef HM_SERIES_ENUM_ROW

#define HM_WATCH_ENUM_ROW(id, name, kind, meaning) HM_WATCH_##id,
typedef enum { HM_WATCH_FILES(HM_WATCH_ENUM_ROW) HM_WATCH_COUNT } hm_watch_file_id;
#undef HM_WATCH_ENUM_ROW

static inline const char *hm_watch_file(hm_watch_file_id id)
{
#define HM_WATCH_NAME_ROW(id, name, kind, meaning) name,
    static const char *const names[] = {HM_WATCH_FILES(HM_WATCH_NAME_ROW)};
#undef HM_WATCH_NAME_ROW
    return names[id];
}

static inline const char *hm_result_file(hm_result_file_id id)
{
#define HM_RESULT_NAME_ROW(id, name, kind, meaning) name,
    static const char *const names[] = {HM_RESULT_FILES(HM_RESULT_NAME_ROW)};
#undef HM_RESULT_NAME_ROW
    return names[id];
}

static inline const char *hm_series_prefix(hm_result_series_id id)
{
#define HM_SERIES_PREFIX_ROW(id, prefix, suffix, kind, meaning) prefix,
    static const char *const prefixes[] = {HM_RESULT_SERIES(HM_SERIES_PREFIX_ROW)};
#undef HM_SERIES_PREFIX_ROW
    return prefixes[id];
}

static inline const char *hm_series_suffix(hm_result_series_id id)
{
#define HM_SERIES_SUFFIX_ROW(id, prefix, suffix, kind, meaning) suffix,
    static const char *const suffixes[] = {HM_RESULT_SERIES(HM_SERIES_SUFFIX_ROW)};
#undef HM_SERIES_SUFFIX_ROW
    return suffixes[id];
}

#endif
