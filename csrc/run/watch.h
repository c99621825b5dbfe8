/*
 * watch.h - the live files through which `heapmark top PID` watches a
 * profiled process (see watch.c).
 *
 * Owns: this process's live files (common/contract.h's HM_WATCH_FILES):
 * PID.live, what the process holds and has held, rewritten on request;
 * PID.request, the FIFO the requests come down; PID.db, a profile written
 * on request, whose end snapshot is what the process holds now.  And the
 * reading side, used by heapmark top in its own process.
 * Must never: be called from an allocation hook, or serve a request
 * anywhere but in the monitor thread.
 */
#ifndef HM_WATCH_H
#define HM_WATCH_H

#include "common/common.h"
#include "run/timeline.h"

#define HM_WATCH_POINTS 120 /* the timeline's points in PID.live */

/* ---- in the profiled process ---------------------------------------- */

/* A run starts (or resumes) in this process: the monitor thread makes the
 * files at its next turn.  Any thread. */
void hm_watch_arm(void);
/* The monitor thread, at each turn: makes the files if armed and not yet
 * made; the request FIFO's descriptor to poll, or -1. */
int hm_watch_fd(void);
/* The monitor thread, when that descriptor is readable: answers the
 * requests (one fresh PID.live; PID.db when its cost allows, see watch.c). */
void hm_watch_serve(void);
/* The run ends here (final profile written, an in-process stop, an exec):
 * removes this process's files; nothing makes them again until the next
 * hm_watch_arm.  Any thread of the process that made them; elsewhere
 * (a vfork child) nothing. */
void hm_watch_close(void);
/* In a forked child: the files are the parent's; forget them, close the
 * inherited descriptor. */
void hm_watch_forget(void);

/* ---- in heapmark top --------------------------------------------------- */

typedef struct {
    int pid;
    double t; /* seconds since the run started */
    int64_t tracked, peak, rss, peak_rss;
    uint64_t seq;     /* requests answered */
    uint64_t now_seq; /* PID.db written (0: not yet) */
    double now_ms;    /* how long the last PID.db took to write */
    char profile[4096];
    char command[1024];
    char now_path[4200]; /* PID.db */
    size_t npoints;
    hm_tl_point points[HM_WATCH_POINTS];
} hm_watch_state;

enum {
    HM_WATCHED_OK,
    HM_WATCHED_ENDED,        /* no such process (or a zombie) */
    HM_WATCHED_NOT_PROFILED, /* alive, but no live files of its own */
    HM_WATCHED_UNREADABLE,   /* err says why */
};
int hm_watch_read(int pid, hm_watch_state *s, char *err, size_t errlen);
/* Asks process pid for fresh files: false if nobody reads the requests. */
bool hm_watch_request(int pid);

#endif
