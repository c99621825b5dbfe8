/*
 * watch.c - the live files of a profiled process, for `heapmark top PID`
 * (see watch.h).
 *
 * Owns: the live files' directory (one per user, mode 0700, see
 * common/contract.h), making and removing this process's files, the format
 * of PID.live (written and read here only), and the answer to a request: a
 * fresh PID.live, and a fresh PID.db unless the last one was written too
 * recently - after a write that took d seconds, the next waits
 * max(WATCH_MIN_INTERVAL_S, 9 d), so that the writes never take more than a
 * tenth of the monitor's time, whoever asks how often.
 * Must never: touch the allocation path or the program's threads: requests
 * are served by the monitor thread, and cost the program what a checkpoint
 * costs it, one copy of the tables under the recorder lock (capture.c);
 * write a file nobody asked for but the two made at start; trust a
 * directory that is not the user's alone; or leave the files behind at the
 * end of a run that ends normally.
 *
 * PID.live, text, renamed into place (a reader never sees half of it):
 *   heapmark-live 1
 *   pid PID / start TICKS (field 22 of /proc/PID/stat: a pid used again
 *   does not match) / seq N / now_seq N / now_ms MS / t S / tracked B /
 *   peak B / rss B / peak_rss B / profile PATH / command TEXT, a line each
 *   timeline N, then N lines "t tracked rss"
 */
#include "run/watch.h"
#include "common/contract.h"
#include "hotpath/totals.h"
#include "run/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WATCH_MIN_INTERVAL_S 1.0
#define WATCH_FORMAT "heapmark-live 1"

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static int owner;   /* the pid whose files exist; 0: none (atomic) */
static bool armed;  /* a run is on: make the files */
static bool failed; /* could not make them: not again until re-armed */
static char dir[4096];
static int request_fd = -1; /* the monitor thread's */
static unsigned long long start_ticks, seq, now_seq;
static double now_ms;
static struct timespec next_now; /* no PID.db before this */

static void file_path(char *out, size_t size, const char *d, int pid, hm_watch_file_id id)
{
    snprintf(out, size, "%s/%d%s", d, pid, hm_watch_file(id));
}

/* The user's alone: a directory (not a link), owned by uid, mode 0700. */
static bool safe_dir(const char *d, uid_t uid)
{
    struct stat st;
    return lstat(d, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid && (st.st_mode & 077) == 0;
}

/* The candidates for uid: under $XDG_RUNTIME_DIR (ours only), under
 * /run/user/UID (where it usually is), then /tmp/heapmark-UID.  Returns how
 * many, at most 3. */
static int candidate_dirs(char out[3][4096], uid_t uid)
{
    int n = 0;
    const char *runtime = getenv("XDG_RUNTIME_DIR");
    if (runtime && runtime[0] == '/' && uid == geteuid())
        snprintf(out[n++], 4096, "%s/%s", runtime, hm_watch_file(HM_WATCH_DIR));
    snprintf(out[n], 4096, "/run/user/%u/%s", (unsigned)uid, hm_watch_file(HM_WATCH_DIR));
    if (n == 0 || strcmp(out[0], out[n]) != 0)
        n++;
    snprintf(out[n++], 4096, "%s%u", hm_watch_file(HM_WATCH_TMP_DIR), (unsigned)uid);
    return n;
}

/* Field 3 (state) and 22 (start time, clock ticks) of /proc/PID/stat. */
static bool process_stat(int pid, char *state, unsigned long long *ticks)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command may hold spaces and ')' */
    if (!p || p[1] != ' ')
        return false;
    *state = p[2];
    p += 2;
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    *ticks = p ? strtoull(p, NULL, 10) : 0;
    return p != NULL;
}

static int64_t current_rss(void)
{
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *p = strchr(buf, ' '); /* size, then resident, in pages */
    return p ? strtoll(p + 1, NULL, 10) * sysconf(_SC_PAGESIZE) : 0;
}

/* text on one line: newlines become spaces. */
static void put_line(FILE *f, const char *key, const char *text)
{
    fprintf(f, "%s ", key);
    for (const char *c = text; *c; c++)
        fputc(*c == '\n' || *c == '\r' ? ' ' : *c, f);
    fputc('\n', f);
}

/* Writes PID.live.  Caller holds the mutex and owns the files. */
static void write_state_locked(void)
{
    char path[4200], tmp[4300];
    file_path(path, sizeof path, dir, owner, HM_WATCH_STATE);
    snprintf(tmp, sizeof tmp, "%s%s", path, hm_series_suffix(HM_SERIES_TEMPORARY));
    FILE *f = fopen(tmp, "we");
    if (!f)
        return;
    static hm_tl_point points[HM_WATCH_POINTS];
    size_t n = hm_timeline_overview(points, HM_WATCH_POINTS);
    struct rusage ru;
    int64_t peak_rss = getrusage(RUSAGE_SELF, &ru) == 0 ? (int64_t)ru.ru_maxrss * 1024 : 0;
    const char *profile, *command;
    hm_engine_names(&profile, &command);
    fprintf(f, "%s\npid %d\nstart %llu\nseq %llu\nnow_seq %llu\nnow_ms %.3f\nt %.3f\n",
            WATCH_FORMAT, owner, start_ticks, seq, now_seq, now_ms, hm_timeline_now());
    fprintf(f, "tracked %lld\npeak %lld\nrss %lld\npeak_rss %lld\n",
            (long long)__atomic_load_n(&hm_totals.tracked, __ATOMIC_RELAXED),
            (long long)__atomic_load_n(&hm_totals.peak, __ATOMIC_RELAXED), (long long)current_rss(),
            (long long)peak_rss);
    put_line(f, "profile", profile);
    put_line(f, "command", command);
    fprintf(f, "timeline %zu\n", n);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%.3f %lld %lld\n", points[i].t, (long long)points[i].tracked,
                (long long)points[i].rss);
    bool ok = fflush(f) == 0 && !ferror(f);
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0)
        unlink(tmp);
}

static void remove_files(const char *d, int pid)
{
    char path[4200], tmp[4300];
    for (int id = HM_WATCH_STATE; id < HM_WATCH_COUNT; id++) {
        file_path(path, sizeof path, d, pid, (hm_watch_file_id)id);
        unlink(path);
        snprintf(tmp, sizeof tmp, "%s%s", path, hm_series_suffix(HM_SERIES_TEMPORARY));
        unlink(tmp);
    }
}

/* Makes the directory and this process's FIFO and PID.live.  Caller holds
 * the mutex. */
static void open_locked(int pid)
{
    char candidates[3][4096], fifo[4200];
    int n = candidate_dirs(candidates, geteuid());
    const char *why = "no directory";
    for (int i = 0; i < n && request_fd < 0; i++) {
        mkdir(candidates[i], 0700);
        if (!safe_dir(candidates[i], geteuid())) {
            why = "not a directory of this user's alone (mode 0700)";
            continue;
        }
        file_path(fifo, sizeof fifo, candidates[i], pid, HM_WATCH_REQUEST);
        unlink(fifo);
        /* Read and write: the FIFO never sees its last writer go (no
         * endless POLLHUP), and a write never blocks the writer. */
        if (mkfifo(fifo, 0600) == 0 &&
            (request_fd = open(fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC)) >= 0) {
            snprintf(dir, sizeof dir, "%s", candidates[i]);
        } else {
            why = strerror(errno);
            unlink(fifo);
        }
    }
    char state;
    if (request_fd < 0 || !process_stat(pid, &state, &start_ticks)) {
        if (request_fd >= 0)
            close(request_fd);
        request_fd = -1;
        failed = true;
        fprintf(stderr, "heapmark: no live view for heapmark top: %s: %s\n", candidates[n - 1],
                why);
        return;
    }
    owner = pid;
    seq = now_seq = 0;
    now_ms = 0;
    next_now = (struct timespec){0, 0};
    write_state_locked();
}

void hm_watch_arm(void)
{
    pthread_mutex_lock(&mutex);
    armed = true;
    failed = false;
    pthread_mutex_unlock(&mutex);
}

int hm_watch_fd(void)
{
    int pid = getpid();
    pthread_mutex_lock(&mutex);
    if (owner != pid && request_fd >= 0) {
        close(request_fd); /* closed since: the FIFO is gone */
        request_fd = -1;
    }
    if (armed && !failed && owner != pid)
        open_locked(pid);
    int fd = owner == pid ? request_fd : -1;
    pthread_mutex_unlock(&mutex);
    return fd;
}

static double seconds(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

void hm_watch_serve(void)
{
    char drain[256];
    int pid = getpid();
    pthread_mutex_lock(&mutex);
    while (request_fd >= 0 && read(request_fd, drain, sizeof drain) > 0)
        ;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool due = owner == pid && seconds(&next_now, &t0) >= 0;
    char path[4200];
    file_path(path, sizeof path, dir, pid, HM_WATCH_NOW);
    pthread_mutex_unlock(&mutex);
    if (due) {
        /* Not under the mutex: the final write (engine.c) holds the
         * engine's write lock, then takes this mutex to close. */
        char err[1024];
        bool ok = hm_engine_write_copy(path, "live", err, sizeof err);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double took = seconds(&t0, &t1), wait = 9 * took;
        if (wait < WATCH_MIN_INTERVAL_S)
            wait = WATCH_MIN_INTERVAL_S;
        pthread_mutex_lock(&mutex);
        if (owner != pid) {
            unlink(path); /* closed meanwhile (an exec): leave nothing */
        } else if (ok) {
            now_seq++;
            now_ms = took * 1000;
        }
        next_now = t1;
        next_now.tv_sec += (time_t)wait;
        next_now.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
        if (next_now.tv_nsec >= 1000000000) {
            next_now.tv_sec++;
            next_now.tv_nsec -= 1000000000;
        }
        pthread_mutex_unlock(&mutex);
        if (!ok && err[0])
            fprintf(stderr, "heapmark: live profile for heapmark top: %s\n", err);
    }
    pthread_mutex_lock(&mutex);
    if (owner == pid) {
        seq++;
        write_state_locked();
    }
    pthread_mutex_unlock(&mutex);
}

void hm_watch_close(void)
{
    int pid = getpid();
    /* Not locked first: a vfork child shares this memory and the parent's
     * monitor may hold the mutex; the files are never a child's. */
    if (__atomic_load_n(&owner, __ATOMIC_ACQUIRE) != pid)
        return;
    pthread_mutex_lock(&mutex);
    if (owner == pid) {
        remove_files(dir, pid);
        __atomic_store_n(&owner, 0, __ATOMIC_RELEASE);
    }
    armed = false;
    pthread_mutex_unlock(&mutex);
}

void hm_watch_forget(void)
{
    pthread_mutex_init(&mutex, NULL); /* a fork may have copied it held */
    if (request_fd >= 0)
        close(request_fd);
    request_fd = -1;
    owner = 0;
    armed = failed = false;
}

/* ---- in heapmark top --------------------------------------------------- */

/* Opens process pid's PID.live: the directory it is in, into d. */
static FILE *open_state(int pid, char *d, size_t size)
{
    char proc[64];
    struct stat st;
    snprintf(proc, sizeof proc, "/proc/%d", pid);
    if (stat(proc, &st) != 0)
        return NULL;
    char candidates[3][4096], path[4200];
    int n = candidate_dirs(candidates, st.st_uid);
    for (int i = 0; i < n; i++) {
        file_path(path, sizeof path, candidates[i], pid, HM_WATCH_STATE);
        FILE *f = safe_dir(candidates[i], st.st_uid) ? fopen(path, "re") : NULL;
        if (f) {
            snprintf(d, size, "%s", candidates[i]);
            return f;
        }
    }
    return NULL;
}

static void read_text(char *line, char *out, size_t size)
{
    line[strcspn(line, "\n")] = '\0';
    snprintf(out, size, "%s", line);
}

int hm_watch_read(int pid, hm_watch_state *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    err[0] = '\0';
    char state;
    unsigned long long ticks = 0, file_ticks = 0;
    if (pid <= 0 || !process_stat(pid, &state, &ticks) || state == 'Z' || state == 'X')
        return HM_WATCHED_ENDED;
    char d[4096], line[8192];
    FILE *f = open_state(pid, d, sizeof d);
    if (!f)
        return HM_WATCHED_NOT_PROFILED;
    bool ok = fgets(line, sizeof line, f) && strncmp(line, WATCH_FORMAT, strlen(WATCH_FORMAT)) == 0;
    size_t want = 0;
    while (ok && fgets(line, sizeof line, f)) {
        char *value = strchr(line, ' ');
        if (!value)
            continue;
        *value++ = '\0';
        if (strcmp(line, "pid") == 0)
            s->pid = atoi(value);
        else if (strcmp(line, "start") == 0)
            file_ticks = strtoull(value, NULL, 10);
        else if (strcmp(line, "seq") == 0)
            s->seq = strtoull(value, NULL, 10);
        else if (strcmp(line, "now_seq") == 0)
            s->now_seq = strtoull(value, NULL, 10);
        else if (strcmp(line, "now_ms") == 0)
            s->now_ms = strtod(value, NULL);
        else if (strcmp(line, "t") == 0)
            s->t = strtod(value, NULL);
        else if (strcmp(line, "tracked") == 0)
            s->tracked = strtoll(value, NULL, 10);
        else if (strcmp(line, "peak") == 0)
            s->peak = strtoll(value, NULL, 10);
        else if (strcmp(line, "rss") == 0)
            s->rss = strtoll(value, NULL, 10);
        else if (strcmp(line, "peak_rss") == 0)
            s->peak_rss = strtoll(value, NULL, 10);
        else if (strcmp(line, "profile") == 0)
            read_text(value, s->profile, sizeof s->profile);
        else if (strcmp(line, "command") == 0)
            read_text(value, s->command, sizeof s->command);
        else if (strcmp(line, "timeline") == 0) {
            want = strtoull(value, NULL, 10);
            break;
        }
    }
    for (size_t i = 0; ok && i < want && i < HM_WATCH_POINTS; i++) {
        long long tracked, rss;
        if (fscanf(f, "%lf %lld %lld", &s->points[i].t, &tracked, &rss) != 3)
            break;
        s->points[i].tracked = tracked;
        s->points[i].rss = rss;
        s->npoints = i + 1;
    }
    fclose(f);
    if (ok && (s->pid != pid || file_ticks != ticks)) {
        /* Left by an earlier process of that pid, killed before it could
         * remove them: not this one's. */
        remove_files(d, pid);
        return HM_WATCHED_NOT_PROFILED;
    }
    if (!ok) {
        snprintf(err, errlen, "%s/%d%s is not a live file of this heapmark version", d, pid,
                 hm_watch_file(HM_WATCH_STATE));
        return HM_WATCHED_UNREADABLE;
    }
    file_path(s->now_path, sizeof s->now_path, d, pid, HM_WATCH_NOW);
    return HM_WATCHED_OK;
}

bool hm_watch_request(int pid)
{
    char d[4096], path[4200];
    FILE *f = open_state(pid, d, sizeof d);
    if (!f)
        return false;
    fclose(f);
    file_path(path, sizeof path, d, pid, HM_WATCH_REQUEST);
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return false; /* ENXIO: nobody reads it */
    char byte = 'r';
    bool ok = write(fd, &byte, 1) == 1 || errno == EAGAIN; /* full: asked already */
    close(fd);
    return ok;
}
