/*
 * engine.h - one profiling run inside the profiled process.
 *
 * Owns: start-up from the environment heapmark run prepared, the end of the
 * run (stop recording, write the profile), and what the Python module needs
 * to know about the run.
 * Must never: include report code (the module layer hands it a renderer,
 * used only by heapmark's own monitor thread or at the end of the run,
 * never on the program's allocation path), or write a file from inside an
 * allocation (the out-of-memory report is noted there, written later), or write a profile from a process other than the one
 * that started the run.
 */
#ifndef HM_ENGINE_H
#define HM_ENGINE_H

#include "common/common.h"
#include "store/schema.h" /* hm_run_info: what a run tells the profile */

/* Renders the reports of the profile at profile_path into dir.  The module
 * (pymodule/_heapmark.c) registers one when it is imported; until then
 * hm_engine_render says that no renderer is there. */
typedef bool (*hm_report_renderer)(const char *profile_path, const char *dir, char *err,
                                   size_t errlen);
void hm_engine_set_renderer(hm_report_renderer render);
bool hm_engine_render(const char *profile_path, const char *dir, char *err, size_t errlen);

/* True in the process heapmark run configured (not in a fork that stopped). */
bool hm_engine_configured(void);
/* True where the engine's state says this process profiles: also in the
 * child of a vfork, which shares that state before it execs. */
bool hm_engine_profiling(void);
/* Called by the Python module once the interpreter is running (GIL held):
 * checks, starts the monitor thread.  Returns the PYTHONPATH the program had
 * before heapmark run (or NULL). */
const char *hm_engine_python_ready(bool *pool_layout_ok);
/* Stops recording and writes the final profile; later calls do nothing.
 * reason: how the run ended ("exit", "os._exit", "signal SIGTERM", ...).
 * False, with err filled, if the profile could not be written. */
bool hm_engine_finish(const char *reason, char *err, size_t errlen);
/* The process is about to exec: writes the profile as it stands, status
 * 'exec' (recording goes on, in case the exec fails).  Only in a process
 * that started profiling itself: not in the child of a vfork, which borrows
 * this process's memory, nor in a forked child, which is about to become
 * another program. */
void hm_engine_before_exec(void);
/* Python's at-fork hook in a child (GIL held): restarts the monitor thread. */
void hm_engine_after_fork_in_child(void);
/* Writes the profile as it stands to path, recording goes on: NULL, the
 * run's own profile (the monitor's periodic checkpoint, status "checkpoint":
 * after a SIGKILL the last one is what remains); or the live profile
 * `heapmark top` asks for (run/watch.c).  Nothing once the run finished. */
bool hm_engine_write_copy(const char *path, const char *status, char *err, size_t errlen);
/* The run's profile path and command line, for the live files. */
void hm_engine_names(const char **profile, const char **command);
/* Writes the profile as it stands into a new snapshot directory next to it
 * (kill -USR2); its path is returned in path. */
bool hm_engine_snapshot(char *path, size_t size, char *err, size_t errlen);
/* The out-of-memory report, in two halves (engine.c says why).  Note: in
 * the thread whose allocation crossed the line or failed - the reason, bytes
 * (0: none), the reserve heapmark released (for the message), and a copy of
 * the tables with that thread's stack; once per run, no file, no SQLite, no
 * report.  Write: from the monitor thread - the profile into
 * out-of-memory-PID/ next to the main one, its reports, a line on stderr;
 * the end of the run writes it first if the monitor has not. */
void hm_engine_note_out_of_memory(const char *reason, int64_t bytes, size_t released);
void hm_engine_write_out_of_memory(void);

/* ---- a run started inside a running interpreter (run/in_process.c) ----
 * True where heapmark run's preload started the engine. */
bool hm_engine_preloaded(void);
/* Starts a run that writes profile_path: every table and total from zero,
 * recording on.  The hooks are the caller's to install.  False with err
 * filled if the engine cannot run here. */
bool hm_engine_begin_in_process(const char *profile_path, uint64_t sample_rate, uint64_t seed,
                                unsigned checkpoint_seconds, char *err, size_t errlen);
void hm_engine_note_pool_layout(bool ok);
/* The end of an in-process run: stops recording and writes the profile.
 * HM_END_WRITTEN (figures in *info: totals, duration), HM_END_NOT_OURS (a
 * forked child of the process that started: nothing written) or
 * HM_END_FAILED (err filled). */
enum { HM_END_WRITTEN, HM_END_NOT_OURS, HM_END_FAILED };
int hm_engine_end_in_process(hm_run_info *info, char *err, size_t errlen);
/* Ends an in-process run that could not start: nothing written. */
void hm_engine_abandon_in_process(void);

#endif
