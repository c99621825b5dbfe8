/*
 * text.c - the text reports: peak.txt, the end-of-run summary, what
 * `heapmark report` prints on a terminal, and the JSON summary.
 *
 * Owns: the layout of the tables people read in a terminal or a file, and
 * the machine-readable summary's fields.
 * Must never: present an estimate as exact: in sampled mode every
 * per-line figure is marked as an estimate; the totals are exact.
 */
#include "report/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOP_LINES 30
#define TOP_STACKS 10

static void process_lines(hm_buf *b, const hm_profile *p, const char *prefix);

/* "[process PID: ...]", the frame under which process i's tree hangs. */
static const char *process_label(const hm_profile *p, size_t i)
{
    char want[32];
    snprintf(want, sizeof want, "[process %d:", p->processes[i].pid);
    for (uint32_t c = p->nodes[0].first_child; c != HM_NONE; c = p->nodes[c].next_sibling)
        if (strncmp(p->frames[p->nodes[c].frame].function, want, strlen(want)) == 0)
            return p->frames[p->nodes[c].frame].function;
    return "[process]";
}

static void job_lines(hm_buf *b, const hm_profile *p, const char *prefix, size_t top);

/* What the end snapshot is the moment of. */
static const char *end_moment(const hm_profile *p)
{
    const char *status = hm_profile_meta(p, "status");
    return strcmp(status, "tracked") == 0         ? "the stop"
           : strncmp(status, "crashed: ", 9) == 0 ? "the crash"
                                                  : "exit";
}

static double pct(int64_t part, int64_t whole)
{
    return whole > 0 ? 100.0 * (double)part / (double)whole : 0.0;
}

const char *hm_report_ending(const hm_profile *p, char *buf, size_t size)
{
    const char *status = hm_profile_meta(p, "status");
    if (!status[0] || strcmp(status, "exit") == 0)
        return NULL;
    if (strcmp(status, "tracked") == 0)
        snprintf(buf, size,
                 "tracked in-process (heapmark.track(), start() or attach), from the start "
                 "to the stop: memory allocated before the start is not counted");
    else if (strcmp(status, "checkpoint") == 0)
        snprintf(buf, size,
                 "the program ended without a final profile (killed?): these "
                 "figures are from its last checkpoint, %.1f s into the run",
                 hm_profile_meta_real(p, "duration_s"));
    else if (strcmp(status, "snapshot") == 0)
        snprintf(buf, size, "a snapshot taken %.1f s into the run, while the program went on",
                 hm_profile_meta_real(p, "duration_s"));
    else if (strcmp(status, "out of memory") == 0) {
        const char *function = hm_profile_meta(p, "oom_function");
        int n = snprintf(buf, size, "out-of-memory report: %s", hm_profile_meta(p, "oom_reason"));
        if (function[0] && n > 0 && (size_t)n < size)
            snprintf(buf + n, size - (size_t)n, "; the allocation of %lld bytes at %s (%s:%lld)",
                     (long long)hm_profile_meta_int(p, "oom_bytes"), function,
                     hm_short_path(p, hm_profile_meta(p, "oom_file")),
                     (long long)hm_profile_meta_int(p, "oom_line"));
    } else if (strncmp(status, "crashed: ", 9) == 0) {
        const char *function = hm_profile_meta(p, "crash_function");
        int n = snprintf(buf, size, "the program crashed (%s)", status + 9);
        if (function[0] && n > 0 && (size_t)n < size)
            n += snprintf(buf + n, size - (size_t)n, " at %s (%s:%lld)", function,
                          hm_short_path(p, hm_profile_meta(p, "crash_file")),
                          (long long)hm_profile_meta_int(p, "crash_line"));
        /* Where the program's own code was, if the crash was deeper. */
        bool innermost = true;
        for (uint32_t node = p->crash_node; node != 0 && node < p->nnodes;
             node = p->nodes[node].parent) {
            const hm_pframe *f = &p->frames[p->nodes[node].frame];
            if (f->pseudo || hm_file_is_library(f->file) || f->library) {
                innermost = false;
                continue;
            }
            if (!innermost && n > 0 && (size_t)n < size)
                n += snprintf(buf + n, size - (size_t)n, ", called from %s (%s:%d)", f->function,
                              hm_short_path(p, f->file), f->line);
            break;
        }
        if (n > 0 && (size_t)n < size)
            snprintf(buf + n, size - (size_t)n,
                     "; the profile is of that moment, %.2f s into the run",
                     hm_profile_meta_real(p, "duration_s"));
    } else if (strcmp(status, "os._exit") == 0)
        snprintf(buf, size, "the program ended with os._exit(); the profile was written then");
    else
        snprintf(buf, size, "the program ended by %s; the profile was written before it did",
                 status);
    return buf;
}

const char *hm_report_allocators(const hm_profile *p, char *buf, size_t size)
{
    const char *loaded = hm_profile_meta(p, "own_allocators");
    if (!loaded[0])
        return NULL;
    hm_buf b = {0};
    if (strstr(loaded, "pyarrow")) {
        const char *pool = hm_profile_meta(p, "arrow_memory_pool");
        const char *by = hm_profile_meta(p, "allocators");
        if (strcmp(pool, "system") == 0)
            hm_buf_printf(&b,
                          "pyarrow's memory pool is malloc (ARROW_DEFAULT_MEMORY_POOL=system%s)",
                          strcmp(by, "set") == 0 ? ", set by heapmark run; --keep-allocators keeps "
                                                   "pyarrow's own"
                                                 : "");
        else
            hm_buf_printf(&b, "pyarrow's own memory pool (%s%s%s) is seen at arena granularity%s",
                          pool[0] ? "ARROW_DEFAULT_MEMORY_POOL=" : "mimalloc or jemalloc", pool,
                          strcmp(by, "kept") == 0 ? ", kept by --keep-allocators" : "",
                          strstr(loaded, "polars") ? "" : ", by its mmaps");
    }
    if (strstr(loaded, "polars"))
        hm_buf_printf(&b, "%spolars' jemalloc is seen at arena granularity, by its mmaps",
                      b.len ? "; " : "");
    snprintf(buf, size, "%s", b.data ? b.data : "");
    hm_buf_free(&b);
    return buf;
}

static void header(hm_buf *b, const hm_profile *p)
{
    char note[1024];
    if (hm_report_ending(p, note, sizeof note))
        hm_buf_printf(b, "note:            %s\n", note);
    hm_buf_puts(b, "command:         ");
    hm_buf_puts(b, hm_profile_meta(p, "command"));
    hm_buf_puts(b, "\npython:          ");
    const char *py = hm_profile_meta(p, "python");
    hm_buf_putn(b, py, strcspn(py, "\n"));
    hm_buf_puts(b, "\nmode:            ");
    hm_report_mode(b, p);
    hm_buf_puts(b, "\npeak tracked:    ");
    hm_buf_bytes(b, hm_profile_meta_int(p, "peak_bytes"));
    hm_buf_printf(b, " (%lld bytes) at %.2f s\n", (long long)hm_profile_meta_int(p, "peak_bytes"),
                  hm_profile_meta_real(p, "peak_at_s"));
    hm_buf_puts(b, "peak RSS:        ");
    hm_buf_bytes(b, hm_profile_meta_int(p, "peak_rss_bytes"));
    hm_buf_puts(b, "\nstill allocated: ");
    hm_buf_bytes(b, hm_profile_meta_int(p, "end_bytes"));
    hm_buf_printf(b, " at %s\nrun time:        %.2f s\n", end_moment(p),
                  hm_profile_meta_real(p, "duration_s"));
    hm_buf_puts(b, "heapmark tables: ");
    hm_buf_bytes(b, hm_profile_meta_int(p, "heapmark_overhead_bytes"));
    hm_buf_puts(b, " (outside the tracked heap)\n");
    if (hm_report_allocators(p, note, sizeof note))
        hm_buf_printf(b, "allocators:      %s\n", note);
    if (p->nprocesses > 1) {
        hm_buf_printf(b,
                      "\nprocesses:       %zu; the figures above are the main process's, "
                      "the tables below\n                 add each child at its own "
                      "peak:\n",
                      p->nprocesses);
        process_lines(b, p, "                ");
    }
    if (p->njob_processes) {
        hm_buf_puts(b, "\n");
        job_lines(b, p, "", 5);
    }
}

static void size_cell(hm_buf *b, int64_t bytes, int width);

typedef struct {
    int pid;
    int64_t tracked;
} job_share;

static int by_share_desc(const void *a, const void *b)
{
    const job_share *x = a, *y = b;
    return x->tracked != y->tracked ? (x->tracked < y->tracked ? 1 : -1) : x->pid - y->pid;
}

/* The label of the job's process pid: its tree's, else its command. */
static void job_process_label(hm_buf *b, const hm_profile *p, int pid)
{
    for (size_t i = 0; i < p->nprocesses; i++)
        if (p->processes[i].pid == pid && p->nprocesses > 1) { /* labels exist when merged */
            hm_buf_puts(b, process_label(p, i));
            return;
        }
    for (size_t i = 0; i < p->njob_processes; i++)
        if (p->job_processes[i].pid == pid) {
            hm_buf_printf(b, "[process %d: %.60s]", pid, p->job_processes[i].command);
            return;
        }
    hm_buf_printf(b, "[process %d]", pid);
}

/* A run of several processes: the job's combined peak, each process's share
 * of it (the sample at job_peak_at_s), and the lines holding most of it. */
static void job_lines(hm_buf *b, const hm_profile *p, const char *prefix, size_t top)
{
    if (p->njob_processes == 0 || p->njob_samples == 0)
        return;
    double at = hm_profile_meta_real(p, "job_peak_at_s");
    int64_t peak = hm_profile_meta_int(p, "job_peak_bytes");
    /* The sample at the peak (the nearest, against a damaged file): samples
     * are by time, so the first row of the nearest time starts its group. */
    size_t first = 0;
    for (size_t i = 1; i < p->njob_samples; i++)
        if (fabs(p->job_samples[i].t - at) < fabs(p->job_samples[first].t - at))
            first = i;
    double t = p->job_samples[first].t;
    size_t n = 0;
    while (first + n < p->njob_samples && p->job_samples[first + n].t == t)
        n++;
    job_share *shares = calloc(n + 1, sizeof *shares);
    if (!shares)
        return;
    for (size_t i = 0; i < n; i++)
        shares[i] = (job_share){p->job_samples[first + i].pid, p->job_samples[first + i].tracked};
    qsort(shares, n, sizeof *shares, by_share_desc);
    hm_buf_printf(b, "%sthe job's combined peak: ", prefix);
    hm_buf_bytes(b, peak);
    hm_buf_printf(b,
                  " tracked at %.2f s in %zu live process%s of %zu (sampled every %.0f ms); "
                  "each one's share:\n",
                  at, n, n == 1 ? "" : "es", p->njob_processes,
                  1000 * hm_profile_meta_real(p, "job_interval_s"));
    for (size_t i = 0; i < n; i++) {
        hm_buf_printf(b, "%s  ", prefix);
        size_cell(b, shares[i].tracked, 10);
        hm_buf_printf(b, " %5.1f%%  ", pct(shares[i].tracked, peak));
        job_process_label(b, p, shares[i].pid);
        hm_buf_puts(b, "\n");
    }
    free(shares);
    if (!hm_profile_has_snapshot(p, HM_SNAP_JOB_PEAK) || top == 0)
        return;
    hm_line_total *lines = calloc(top, sizeof *lines);
    size_t nl =
        lines ? hm_profile_top_lines(p, HM_SNAP_JOB_PEAK, HM_BY_PROGRAM_LINE, lines, top) : 0;
    hm_buf_printf(b, "%stop %zu lines at the job's peak, all processes%s:\n", prefix, nl,
                  hm_profile_is_exact(p) ? "" : " (estimated from samples)");
    for (size_t i = 0; i < nl; i++) {
        hm_buf_printf(b, "%s  ", prefix);
        size_cell(b, lines[i].bytes, 10);
        hm_buf_printf(b, " %5.1f%%  ", pct(lines[i].bytes, peak));
        hm_frame_label(b, p, lines[i].frame, true);
        hm_buf_puts(b, "\n");
    }
    free(lines);
}

/* One line per process after the first, for a run of several. */
static void process_lines(hm_buf *b, const hm_profile *p, const char *prefix)
{
    for (size_t i = 1; i < p->nprocesses; i++) {
        const hm_process *proc = &p->processes[i];
        /* The process's node is the root's child carrying its label. */
        const char *label = process_label(p, i);
        hm_buf_printf(b, "%s  %s peak ", prefix, label);
        hm_buf_bytes(b, proc->peak_bytes);
        hm_buf_puts(b, ", peak RSS ");
        hm_buf_bytes(b, proc->peak_rss_bytes);
        hm_buf_printf(b, ", run time %.2f s", proc->duration_s);
        if (proc->status[0] && strcmp(proc->status, "exit") != 0)
            hm_buf_printf(b, ", ended by %s", proc->status);
        hm_buf_puts(b, "\n");
    }
}

static void size_cell(hm_buf *b, int64_t bytes, int width)
{
    hm_buf cell = {0};
    hm_buf_bytes(&cell, bytes);
    hm_buf_printf(b, "%*s", width, cell.data ? cell.data : "");
    hm_buf_free(&cell);
}

static void top_lines_table(hm_buf *b, const hm_profile *p, int snapshot, hm_line_key key,
                            size_t max)
{
    hm_line_total *lines = calloc(max, sizeof *lines);
    if (!lines)
        return;
    size_t n = hm_profile_top_lines(p, snapshot, key, lines, max);
    int64_t total = p->total[snapshot - 1][0].bytes;
    int walk = hm_kinds_walk_for(p, snapshot);
    uint32_t *credited = walk >= 0 ? hm_profile_credited_frames(p, key) : NULL;
    hm_buf_printf(b, "%10s %6s %10s  %s\n", "bytes", "%", "count", "line");
    for (size_t i = 0; i < n; i++) {
        const hm_pframe *f = &p->frames[lines[i].frame];
        size_cell(b, lines[i].bytes, 10);
        hm_buf_printf(b, " %5.1f%% %10lld  ", pct(lines[i].bytes, total),
                      (long long)lines[i].count);
        hm_frame_label(b, p, lines[i].frame, true);
        if (f->source[0])
            hm_buf_printf(b, "\n%30s%s", "", f->source);
        if (credited) {
            hm_buf kinds = {0};
            if (hm_kinds_inline(&kinds, p, walk, credited, lines[i].frame, 4))
                hm_buf_printf(b, "\n%30skinds: %s", "", kinds.data);
            else if (!f->pseudo)
                hm_buf_printf(b, "\n%30skinds: none of its blocks was live at the walk", "");
            hm_buf_free(&kinds);
        }
        hm_buf_puts(b, "\n");
    }
    if (n == 0)
        hm_buf_puts(b, "  (nothing recorded)\n");
    free(credited);
    free(lines);
}

/* Nodes with the largest self bytes, each printed with its whole stack. */
static void top_stacks(hm_buf *b, const hm_profile *p, int snapshot, size_t max)
{
    const hm_value *self = p->self[snapshot - 1];
    int64_t total = p->total[snapshot - 1][0].bytes;
    uint32_t *best = calloc(max, sizeof *best);
    uint32_t *chain = malloc((p->nnodes + 1) * sizeof *chain);
    if (!best || !chain) {
        free(best);
        free(chain);
        return;
    }
    size_t have = 0;
    for (uint32_t n = 1; n < p->nnodes; n++) {
        if (self[n].bytes <= 0)
            continue;
        if (have < max)
            best[have++] = n;
        else if (self[n].bytes > self[best[max - 1]].bytes)
            best[max - 1] = n;
        else
            continue;
        for (size_t k = have - 1; k > 0 && self[best[k - 1]].bytes < self[best[k]].bytes; k--) {
            uint32_t tmp = best[k - 1];
            best[k - 1] = best[k];
            best[k] = tmp;
        }
    }
    for (size_t i = 0; i < have; i++) {
        hm_buf_printf(b, "#%zu  ", i + 1);
        size_cell(b, self[best[i]].bytes, 0);
        hm_buf_printf(b, "  %.1f%%  %lld allocations\n", pct(self[best[i]].bytes, total),
                      (long long)self[best[i]].count);
        size_t depth = 0;
        for (uint32_t k = best[i]; k != 0; k = p->nodes[k].parent)
            chain[depth++] = k;
        while (depth--) {
            const hm_pframe *f = &p->frames[p->nodes[chain[depth]].frame];
            hm_buf_puts(b, "    ");
            hm_frame_label(b, p, p->nodes[chain[depth]].frame, true);
            if (f->source[0])
                hm_buf_printf(b, "    %s", f->source);
            hm_buf_puts(b, "\n");
        }
        hm_buf_puts(b, "\n");
    }
    free(best);
    free(chain);
}

/* The advice, under a title, if there is any. */
static void advice_section(hm_buf *b, const hm_profile *p, const char *title)
{
    hm_advice_list advice;
    hm_advise(p, &advice);
    if (advice.n) {
        hm_buf_puts(b, title);
        hm_advice_text(b, p, &advice);
    }
    hm_advice_free(&advice);
}

bool hm_report_text(const hm_profile *p, const char *path, char *err, size_t errlen)
{
    hm_buf b = {0};
    hm_buf_puts(&b, "heapmark: memory at the peak\n\n");
    header(&b, p);
    hm_buf_puts(&b, "\nTop lines at the peak: bytes allocated by each line of the program "
                    "and everything it called\nin libraries and C code (the innermost line "
                    "of the program's own code is credited)\n\n");
    top_lines_table(&b, p, HM_SNAP_PEAK, HM_BY_PROGRAM_LINE, TOP_LINES);
    int walk = hm_kinds_walk_for(p, HM_SNAP_PEAK);
    if (walk >= 0) {
        hm_buf_puts(&b, "\nKinds at the peak: what the recorded blocks were, ");
        hm_kinds_walk_note(&b, p, walk);
        hm_buf_puts(&b, " (a line's kinds above are shares of its bytes at that walk)\n\n");
        hm_kinds_table(&b, p, walk, TOP_LINES, 0);
    }
    advice_section(&b, p, "\nWhat to change: predicted savings, computed from this profile\n\n");
    hm_buf_puts(&b, hm_profile_meta_int(p, "native_stacks")
                        ? "\nTop allocation sites at the peak: the innermost frame, library and C "
                          "code included (--native)\n\n"
                        : "\nTop allocation sites at the peak: the innermost Python frame, "
                          "library code included\n\n");
    top_lines_table(&b, p, HM_SNAP_PEAK, HM_BY_INNERMOST, TOP_LINES);
    hm_buf_puts(&b, "\nTop stacks at the peak\n\n");
    top_stacks(&b, p, HM_SNAP_PEAK, TOP_STACKS);
    bool ok = hm_buf_write_file(&b, path, err, errlen);
    hm_buf_free(&b);
    return ok;
}

void hm_report_summary(const hm_profile *p, size_t top, hm_buf *out)
{
    hm_buf_puts(out, "heapmark: peak tracked memory ");
    hm_buf_bytes(out, hm_profile_meta_int(p, "peak_bytes"));
    hm_buf_printf(out, " at %.2f s, peak RSS ", hm_profile_meta_real(p, "peak_at_s"));
    hm_buf_bytes(out, hm_profile_meta_int(p, "peak_rss_bytes"));
    hm_buf_printf(out, ", run time %.2f s\n", hm_profile_meta_real(p, "duration_s"));
    char note[1024];
    if (hm_report_ending(p, note, sizeof note))
        hm_buf_printf(out, "heapmark: %s\n", note);
    if (hm_report_allocators(p, note, sizeof note))
        hm_buf_printf(out, "heapmark: %s\n", note);
    if (p->nprocesses > 1) {
        hm_buf_printf(out, "heapmark: %zu child process%s, each at its own peak:\n",
                      p->nprocesses - 1, p->nprocesses == 2 ? "" : "es");
        process_lines(out, p, "heapmark:");
    }
    job_lines(out, p, "heapmark: ", 3);
    hm_line_total *lines = calloc(top ? top : 1, sizeof *lines);
    size_t n = lines ? hm_profile_top_lines(p, HM_SNAP_PEAK, HM_BY_PROGRAM_LINE, lines, top) : 0;
    if (hm_profile_is_exact(p)) {
        hm_buf_printf(out, "heapmark: top %zu lines at the peak:\n", n);
    } else {
        hm_buf_printf(out, "heapmark: top %zu lines at the peak (estimated from samples every ", n);
        hm_buf_bytes(out, hm_profile_meta_int(p, "sample_rate"));
        hm_buf_puts(out, "):\n");
    }
    /* The exact peak; with several processes, the sum of their own peaks. */
    int64_t peak = p->snapshot_total[HM_SNAP_PEAK - 1];
    for (size_t i = 0; i < n; i++) {
        hm_buf_puts(out, "heapmark: ");
        size_cell(out, lines[i].bytes, 10);
        hm_buf_printf(out, " %5.1f%%  ", pct(lines[i].bytes, peak));
        hm_frame_label(out, p, lines[i].frame, true);
        hm_buf_puts(out, "\n");
    }
    free(lines);
    int walk = hm_kinds_walk_for(p, HM_SNAP_PEAK);
    hm_buf kinds = {0};
    if (walk >= 0 && hm_kinds_inline(&kinds, p, walk, NULL, HM_NONE, 4))
        hm_buf_printf(out, "heapmark: kinds near the peak (heap walk at %.2f s): %s\n",
                      p->kinds[walk].at_s, kinds.data);
    hm_buf_free(&kinds);
}

/* The table of a terminal: size, share of the snapshot's total, count (if
 * there is room), then the line in what is left. */
static void terminal_table(const hm_profile *p, int snapshot, const hm_line_total *lines, size_t n,
                           size_t columns, hm_buf *out)
{
    bool with_count = columns >= 64;
    size_t fixed = 10 + 7 + (with_count ? 11 : 0) + 2;
    size_t room = columns > fixed + 12 ? columns - fixed : 12;
    hm_buf_printf(out, "%10s %6s", "size", "%");
    if (with_count)
        hm_buf_printf(out, " %10s", "count");
    hm_buf_puts(out, "  line\n");
    int64_t whole = p->snapshot_total[snapshot - 1];
    hm_buf cell = {0};
    for (size_t i = 0; i < n; i++) {
        size_cell(out, lines[i].bytes, 10);
        hm_buf_printf(out, " %5.1f%%", pct(lines[i].bytes, whole));
        if (with_count) {
            cell.len = 0;
            hm_buf_grouped(&cell, lines[i].count);
            hm_buf_printf(out, " %10s", cell.data ? cell.data : "");
        }
        hm_buf_puts(out, "  ");
        hm_frame_table_cell(out, p, lines[i].frame, fixed, room);
    }
    if (n == 0)
        hm_buf_puts(out, "  (nothing recorded)\n");
    hm_buf_free(&cell);
}

void hm_report_now(const hm_profile *p, size_t top, size_t columns, hm_buf *out)
{
    hm_line_total *lines = calloc(top ? top : 1, sizeof *lines);
    size_t n = lines ? hm_profile_top_lines(p, HM_SNAP_END, HM_BY_PROGRAM_LINE, lines, top) : 0;
    hm_buf head = {0};
    hm_buf_printf(&head, "top %zu lines holding memory now, %.1f s into the run", n,
                  hm_profile_meta_real(p, "duration_s"));
    if (hm_profile_is_exact(p)) {
        hm_buf_puts(&head, " (exact):");
    } else {
        hm_buf_puts(&head, " (estimated from samples every ");
        hm_buf_bytes(&head, hm_profile_meta_int(p, "sample_rate"));
        hm_buf_puts(&head, "):");
    }
    hm_buf_wrap(out, head.data ? head.data : "", columns, "    ");
    hm_buf_free(&head);
    terminal_table(p, HM_SNAP_END, lines, n, columns, out);
    free(lines);
}

/* [{"pid": ..., ...}, ...]: the processes a (merged) profile holds. */
void hm_report_terminal(const hm_profile *p, size_t top, size_t columns, hm_buf *out)
{
    hm_buf text = {0};
    hm_buf_puts(&text, "peak tracked memory ");
    hm_buf_bytes(&text, hm_profile_meta_int(p, "peak_bytes"));
    hm_buf_printf(&text, " at %.2f s, peak RSS ", hm_profile_meta_real(p, "peak_at_s"));
    hm_buf_bytes(&text, hm_profile_meta_int(p, "peak_rss_bytes"));
    hm_buf_printf(&text, ", run time %.2f s\nstill allocated at %s ",
                  hm_profile_meta_real(p, "duration_s"), end_moment(p));
    hm_buf_bytes(&text, hm_profile_meta_int(p, "end_bytes"));
    char note[1024];
    if (hm_report_ending(p, note, sizeof note))
        hm_buf_printf(&text, "\nnote: %s", note);
    if (hm_report_allocators(p, note, sizeof note))
        hm_buf_printf(&text, "\n%s", note);
    if (p->nprocesses > 1) {
        hm_buf_printf(&text, "\n%zu child process%s, each at its own peak:\n", p->nprocesses - 1,
                      p->nprocesses == 2 ? "" : "es");
        process_lines(&text, p, "");
    }
    job_lines(&text, p, "", 3);
    hm_line_total *lines = calloc(top ? top : 1, sizeof *lines);
    size_t n = lines ? hm_profile_top_lines(p, HM_SNAP_PEAK, HM_BY_PROGRAM_LINE, lines, top) : 0;
    hm_buf_printf(&text, "\n\ntop %zu lines at the peak", n);
    if (hm_profile_is_exact(p)) {
        hm_buf_puts(&text, " (exact):");
    } else {
        hm_buf_puts(&text, " (estimated from samples every ");
        hm_buf_bytes(&text, hm_profile_meta_int(p, "sample_rate"));
        hm_buf_puts(&text, "):");
    }
    /* Each line of the text above wrapped to the terminal. */
    hm_buf_wrap(out, text.data ? text.data : "", columns, "    ");
    hm_buf_free(&text);

    terminal_table(p, HM_SNAP_PEAK, lines, n, columns, out);
    free(lines);
    int walk = hm_kinds_walk_for(p, HM_SNAP_PEAK);
    if (walk >= 0) {
        hm_buf note = {0};
        hm_buf_puts(&note, "\nkinds at the peak, ");
        hm_kinds_walk_note(&note, p, walk);
        hm_buf_puts(&note, ":");
        hm_buf_wrap(out, note.data, columns, "    ");
        hm_buf_free(&note);
        hm_kinds_table(out, p, walk, 8, columns);
    }
    hm_buf advice = {0};
    advice_section(&advice, p, "\nwhat to change (predicted from this profile's numbers):\n");
    if (advice.len)
        hm_buf_wrap(out, advice.data, columns, "    ");
    hm_buf_free(&advice);
}

void hm_json_processes(hm_buf *out, const hm_profile *p)
{
    hm_buf_puts(out, "[");
    for (size_t i = 0; i < p->nprocesses; i++) {
        const hm_process *proc = &p->processes[i];
        hm_buf_printf(out,
                      "%s{\"pid\": %d, \"parent_pid\": %d, \"peak_bytes\": %lld, "
                      "\"peak_rss_bytes\": %lld, \"end_bytes\": %lld, "
                      "\"duration_s\": %.6f, \"status\": ",
                      i ? ", " : "", proc->pid, proc->parent_pid, (long long)proc->peak_bytes,
                      (long long)proc->peak_rss_bytes, (long long)proc->end_bytes,
                      proc->duration_s);
        hm_buf_json(out, proc->status);
        hm_buf_puts(out, ", \"command\": ");
        hm_buf_json(out, proc->command);
        hm_buf_puts(out, ", \"profile\": ");
        hm_buf_json(out, proc->path);
        hm_buf_puts(out, "}");
    }
    hm_buf_puts(out, "]");
}

void hm_report_json(const hm_profile *p, size_t top, hm_buf *out)
{
    hm_buf_puts(out, "{\"profile\": ");
    hm_buf_json(out, p->path);
    static const char *const ints[] = {"peak_bytes",
                                       "peak_rss_bytes",
                                       "end_bytes",
                                       "sample_rate",
                                       "pid",
                                       "heapmark_overhead_bytes",
                                       "peak_pymalloc_free_bytes",
                                       "oom_bytes",
                                       "oom_line"};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        hm_buf_printf(out, ", \"%s\": %lld", ints[i], (long long)hm_profile_meta_int(p, ints[i]));
    static const char *const reals[] = {"peak_at_s", "duration_s", "start_unix"};
    for (size_t i = 0; i < sizeof reals / sizeof *reals; i++)
        hm_buf_printf(out, ", \"%s\": %.6f", reals[i], hm_profile_meta_real(p, reals[i]));
    static const char *const texts[] = {
        "mode",          "python",       "command",  "heapmark_version",  "status",
        "oom_reason",    "oom_function", "oom_file", "arrow_memory_pool", "allocators",
        "own_allocators"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        hm_buf_printf(out, ", \"%s\": ", texts[i]);
        hm_buf_json(out, hm_profile_meta(p, texts[i]));
    }
    hm_buf_printf(out, ", \"estimated\": %s", hm_profile_is_exact(p) ? "false" : "true");
    hm_buf_puts(out, ", \"processes\": ");
    hm_json_processes(out, p);
    static const struct {
        const char *name;
        hm_line_key key;
    } tables[] = {{"top", HM_BY_PROGRAM_LINE}, {"top_innermost", HM_BY_INNERMOST}};
    hm_buf_puts(out, ", \"kinds\": ");
    hm_kinds_walks_json(out, p);
    hm_advice_list advice;
    hm_advise(p, &advice);
    hm_buf_puts(out, ", \"advice\": ");
    hm_advice_json(out, p, &advice);
    hm_advice_free(&advice);
    int walk = hm_kinds_walk_for(p, HM_SNAP_PEAK);
    hm_line_total *lines = calloc(top ? top : 1, sizeof *lines);
    for (size_t t = 0; t < 2; t++) {
        hm_buf_printf(out, "%s\"%s\": [", ", ", tables[t].name);
        size_t n = lines ? hm_profile_top_lines(p, HM_SNAP_PEAK, tables[t].key, lines, top) : 0;
        uint32_t *credited = walk >= 0 ? hm_profile_credited_frames(p, tables[t].key) : NULL;
        for (size_t i = 0; i < n; i++) {
            const hm_pframe *f = &p->frames[lines[i].frame];
            hm_buf_puts(out, i ? ", {\"function\": " : "{\"function\": ");
            hm_buf_json(out, f->function);
            hm_buf_puts(out, ", \"file\": ");
            hm_buf_json(out, f->file);
            hm_buf_printf(out,
                          ", \"line\": %d, \"bytes\": %lld, \"count\": %lld, \"source\": ", f->line,
                          (long long)lines[i].bytes, (long long)lines[i].count);
            hm_buf_json(out, f->source);
            if (credited) {
                hm_buf_puts(out, ", \"kinds\": ");
                hm_kinds_json(out, p, credited, lines[i].frame, walk);
            }
            hm_buf_puts(out, "}");
        }
        hm_buf_puts(out, "]");
        free(credited);
    }
    free(lines);
    hm_buf_puts(out, "}");
}
