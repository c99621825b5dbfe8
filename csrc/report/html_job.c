/*
 * html_job.c - report.html's part of a run of several processes: the job.
 *
 * Owns: the "job" object of the page's data, written only for a profile
 * with job tables (a run of one process's page has none): the job's
 * processes (one layer each for the largest, the rest summed into one),
 * its samples thinned for drawing (each stretch kept as its sample with the
 * largest sum, so the combined peak survives) with every layer's tracked
 * bytes at each, the combined peak and each layer's share at its sample,
 * the sampling interval, and every process's phases on the job's clock.
 * Must never: present a thinned or summed series as complete (the page is
 * told how many samples and processes there were), or put a process's
 * phases on any clock but the job's (its part's start on that clock added).
 */
#include "report/html.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Processes drawn as layers of their own; the rest become one layer. */
#define PAGE_JOB_LAYERS 32
#define PAGE_JOB_PHASES 5000

typedef struct {
    const hm_profile *p;
    size_t nlayers;   /* layers drawn: kept processes, then "other" if any */
    size_t nkept;     /* processes with a layer of their own */
    size_t *layer_of; /* job process -> layer */
    size_t *proc_of;  /* kept layer -> job process */
    size_t *group;    /* sample groups (one time each): first row; [ngroups] = end */
    size_t ngroups;
    hm_html_weighted *by; /* pids sorted, index = job process (weight unused) */
} job_view;

static int by_pid(const void *a, const void *b)
{
    const hm_html_weighted *x = a, *y = b;
    return (x->weight > y->weight) - (x->weight < y->weight);
}

/* The layer of the process with this pid; the "other" layer for a pid the
 * job's process table does not name. */
static size_t layer_of_pid(const job_view *v, int pid)
{
    size_t lo = 0, hi = v->p->njob_processes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->by[mid].weight < (double)pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < v->p->njob_processes && v->by[lo].weight == (double)pid)
        return v->layer_of[v->by[lo].index];
    return v->nkept; /* the "other" layer, made for it below */
}

/* The profile of each process (its phases, its start on the job clock):
 * the parts of a merged view, else the (main) profile itself. */
static const hm_profile *part_at(const hm_profile *p, size_t k)
{
    return p->parts ? &((const hm_profile *)p->parts)[k] : p;
}

static int64_t add_capped(int64_t a, int64_t b)
{
    int64_t s;
    return __builtin_add_overflow(a, b, &s) ? INT64_MAX : s;
}

/* Layers: the PAGE_JOB_LAYERS processes that held most at any sample, in
 * the order they started; the rest (and samples of unnamed pids) summed. */
static bool plan_layers(job_view *v)
{
    const hm_profile *p = v->p;
    size_t n = p->njob_processes;
    v->layer_of = malloc((n + 1) * sizeof *v->layer_of);
    v->proc_of = malloc((n + 1) * sizeof *v->proc_of);
    v->by = malloc((n + 1) * sizeof *v->by);
    hm_html_weighted *most = malloc((n + 1) * sizeof *most);
    v->group = malloc((p->njob_samples + 1) * sizeof *v->group);
    bool ok = v->layer_of && v->proc_of && v->by && most && v->group;
    if (ok) {
        for (size_t i = 0; i < n; i++) {
            v->by[i] = (hm_html_weighted){(double)p->job_processes[i].pid, i};
            most[i] = (hm_html_weighted){0, i};
        }
        qsort(v->by, n, sizeof *v->by, by_pid);
        v->nkept = n; /* for now every process has its own layer */
        for (size_t i = 0; i < n; i++)
            v->layer_of[i] = i;
        bool unnamed = false;
        for (size_t r = 0; r < p->njob_samples; r++) {
            const hm_job_sample *s = &p->job_samples[r];
            size_t k = layer_of_pid(v, s->pid);
            if (k == n)
                unnamed = true;
            else if ((double)s->tracked > most[k].weight)
                most[k].weight = (double)s->tracked;
            if (r == 0 || s->t != p->job_samples[r - 1].t)
                v->group[v->ngroups++] = r;
        }
        v->group[v->ngroups] = p->njob_samples;
        for (size_t k = 0; k < (p->parts ? p->nparts : 1); k++)
            unnamed = unnamed || layer_of_pid(v, part_at(p, k)->processes[0].pid) == n;
        v->nkept = hm_html_keep_heaviest(most, n, PAGE_JOB_LAYERS);
        for (size_t i = 0; i < n; i++)
            v->layer_of[i] = v->nkept;
        for (size_t k = 0; k < v->nkept; k++) {
            v->proc_of[k] = most[k].index;
            v->layer_of[most[k].index] = k;
        }
        v->nlayers = v->nkept + (v->nkept < n || unnamed);
    }
    free(most);
    return ok;
}

/* Each layer's tracked bytes in sample group g, and their sum. */
static double group_values(const job_view *v, size_t g, int64_t *values)
{
    for (size_t k = 0; k < v->nlayers; k++)
        values[k] = 0;
    double sum = 0;
    for (size_t r = v->group[g]; r < v->group[g + 1]; r++) {
        const hm_job_sample *s = &v->p->job_samples[r];
        size_t k = layer_of_pid(v, s->pid);
        values[k] = add_capped(values[k], s->tracked);
        sum += (double)s->tracked;
    }
    return sum;
}

/* A process's label: its frame in the merged tree ("[process PID: ...]"),
 * or else its pid. */
static void process_label(const hm_profile *p, int pid, char *out, size_t size)
{
    for (uint32_t c = p->merged ? p->nodes[0].first_child : HM_NONE; c != HM_NONE;
         c = p->nodes[c].next_sibling) {
        const hm_pframe *f = &p->frames[p->nodes[c].frame];
        int got;
        if (!f->file[0] && sscanf(f->function, "[process %d:", &got) == 1 && got == pid) {
            snprintf(out, size, "%s", f->function);
            return;
        }
    }
    snprintf(out, size, "[process %d]", pid);
}

static void put_time_or_null(hm_buf *b, double t)
{
    if (t < 0)
        hm_buf_puts(b, "null");
    else
        hm_buf_printf(b, "%.6f", t);
}

static void put_processes(hm_buf *b, const job_view *v)
{
    const hm_profile *p = v->p;
    hm_buf_puts(b, "\"processes\":[");
    for (size_t k = 0; k < v->nkept; k++) {
        const hm_job_proc *jp = &p->job_processes[v->proc_of[k]];
        char label[192];
        process_label(p, jp->pid, label, sizeof label);
        hm_buf_printf(b, "%s{\"pid\":%d,\"parent_pid\":%d,\"label\":", k ? "," : "", jp->pid,
                      jp->parent_pid);
        hm_html_json_text(b, label);
        hm_buf_puts(b, ",\"command\":");
        hm_html_json_text(b, jp->command);
        hm_buf_printf(b, ",\"t_start\":%.6f,\"t_end\":", jp->t_start);
        put_time_or_null(b, jp->t_end);
        hm_buf_puts(b, ",\"others\":0}");
    }
    if (v->nlayers > v->nkept) {
        /* The rest as one: from the first start to the last end. */
        size_t others = 0;
        double t0 = -1, t1 = 0;
        for (size_t i = 0; i < p->njob_processes; i++) {
            const hm_job_proc *jp = &p->job_processes[i];
            if (v->layer_of[i] != v->nkept)
                continue;
            others++;
            t0 = t0 < 0 || jp->t_start < t0 ? jp->t_start : t0;
            t1 = t1 < 0 || jp->t_end < 0 ? -1 : jp->t_end > t1 ? jp->t_end : t1;
        }
        char label[64];
        if (others)
            snprintf(label, sizeof label, "[%zu other process%s]", others, others == 1 ? "" : "es");
        else
            snprintf(label, sizeof label, "[processes the job's table does not name]");
        hm_buf_puts(b, v->nkept ? ",{\"pid\":0,\"parent_pid\":0,\"label\":"
                                : "{\"pid\":0,\"parent_pid\":0,\"label\":");
        hm_html_json_text(b, label);
        hm_buf_printf(b, ",\"command\":\"\",\"t_start\":%.6f,\"t_end\":", t0 < 0 ? 0 : t0);
        put_time_or_null(b, t1);
        hm_buf_printf(b, ",\"others\":%zu}", others);
    }
    hm_buf_puts(b, "]");
}

/* The samples, thinned by buckets of consecutive ones, each kept as its
 * sample with the largest sum: "t" and "tracked" (per layer, per sample). */
static bool put_samples(hm_buf *b, const job_view *v, size_t max_points)
{
    size_t n = v->ngroups, buckets = n > max_points ? max_points : n;
    int64_t *values = malloc((v->nlayers + 1) * sizeof *values);
    hm_buf *cols = calloc(v->nlayers + 1, sizeof *cols);
    hm_buf t = {0};
    bool ok = values && cols;
    for (size_t k = 0; ok && k < buckets; k++) {
        size_t lo = k * n / buckets, hi = (k + 1) * n / buckets, best = lo;
        double best_sum = -1;
        for (size_t g = lo; g < hi; g++) {
            double sum = group_values(v, g, values);
            if (sum > best_sum) {
                best_sum = sum;
                best = g;
            }
        }
        group_values(v, best, values);
        const char *sep = k ? "," : "";
        hm_buf_printf(&t, "%s%.4f", sep, v->p->job_samples[v->group[best]].t);
        for (size_t l = 0; l < v->nlayers; l++) {
            hm_buf_putn(&cols[l], ",", k > 0);
            hm_buf_int(&cols[l], values[l]);
        }
    }
    if (ok) {
        hm_buf_puts(b, "\"t\":[");
        hm_buf_putn(b, t.data ? t.data : "", t.len);
        hm_buf_puts(b, "],\"tracked\":[");
        for (size_t l = 0; l < v->nlayers; l++) {
            hm_buf_puts(b, l ? ",[" : "[");
            hm_buf_putn(b, cols[l].data ? cols[l].data : "", cols[l].len);
            hm_buf_puts(b, "]");
            ok = ok && !cols[l].failed;
            hm_buf_free(&cols[l]);
        }
        hm_buf_puts(b, "]");
    }
    ok = ok && !t.failed;
    hm_buf_free(&t);
    free(cols);
    free(values);
    return ok;
}

/* "peak": the combined peak as the watcher marked it, and each layer's
 * bytes at that sample (the one at job_peak_at_s; without it, the sample
 * with the largest sum, and its sum). */
static bool put_peak(hm_buf *b, const job_view *v)
{
    const hm_profile *p = v->p;
    double at =
        hm_profile_meta(p, "job_peak_at_s")[0] ? hm_profile_meta_real(p, "job_peak_at_s") : NAN;
    size_t best = 0;
    double best_sum = -1, best_gap = INFINITY;
    int64_t *values = malloc((v->nlayers + 1) * sizeof *values);
    if (!values)
        return false;
    for (size_t g = 0; g < v->ngroups; g++) {
        double sum = group_values(v, g, values);
        double gap = isfinite(at) ? fabs(p->job_samples[v->group[g]].t - at) : 0;
        if (gap < best_gap || (gap == best_gap && sum > best_sum)) {
            best = g;
            best_gap = gap;
            best_sum = sum;
        }
    }
    double sample_t = v->ngroups ? p->job_samples[v->group[best]].t : 0;
    int64_t bytes = 0;
    for (size_t l = 0; l < v->nlayers; l++)
        values[l] = 0;
    if (v->ngroups)
        group_values(v, best, values);
    for (size_t l = 0; l < v->nlayers; l++)
        bytes = add_capped(bytes, values[l]);
    if (isfinite(at))
        bytes = hm_profile_meta_int(p, "job_peak_bytes");
    hm_buf_printf(b,
                  "\"peak\":{\"bytes\":%lld,\"at_s\":%.6f,\"generation\":%lld,"
                  "\"sample_t\":%.6f,\"shares\":[",
                  (long long)bytes, isfinite(at) ? at : sample_t,
                  (long long)hm_profile_meta_int(p, "job_peak_generation"), sample_t);
    for (size_t l = 0; l < v->nlayers; l++) {
        hm_buf_putn(b, ",", l > 0);
        hm_buf_int(b, values[l]);
    }
    hm_buf_puts(b, "]}");
    free(values);
    return true;
}

/* "phases": [[layer, name, start, end, depth, open], ...] on the job clock,
 * the longest PAGE_JOB_PHASES of all; "phases_total". */
static bool put_phases(hm_buf *b, const job_view *v)
{
    const hm_profile *p = v->p;
    size_t nparts = p->parts ? p->nparts : 1, total = 0;
    for (size_t k = 0; k < nparts; k++)
        total += part_at(p, k)->nphases;
    hm_html_weighted *w = malloc((total + 1) * sizeof *w);
    size_t *part_of = malloc((total + 1) * sizeof *part_of);
    size_t *phase_of = malloc((total + 1) * sizeof *phase_of);
    bool ok = w && part_of && phase_of;
    for (size_t k = 0, i = 0; ok && k < nparts; k++)
        for (size_t j = 0; j < part_at(p, k)->nphases; j++, i++) {
            const hm_phase *ph = &part_at(p, k)->phases[j];
            w[i] = (hm_html_weighted){ph->t_end - ph->t_start, i};
            part_of[i] = k;
            phase_of[i] = j;
        }
    size_t kept = ok ? hm_html_keep_heaviest(w, total, PAGE_JOB_PHASES) : 0;
    hm_buf_puts(b, "\"phases\":[");
    for (size_t i = 0; i < kept; i++) {
        const hm_profile *part = part_at(p, part_of[w[i].index]);
        const hm_phase *ph = &part->phases[phase_of[w[i].index]];
        double start = hm_profile_meta_real(part, "job_start_s");
        start = isfinite(start) ? start : 0;
        hm_buf_printf(b, "%s[%zu,", i ? "," : "", layer_of_pid(v, part->processes[0].pid));
        hm_html_json_text(b, ph->name);
        hm_buf_printf(b, ",%.6f,%.6f,%d,%d]", start + ph->t_start, start + ph->t_end, ph->depth,
                      ph->open);
    }
    hm_buf_printf(b, "],\"phases_total\":%zu", total);
    free(w);
    free(part_of);
    free(phase_of);
    return ok;
}

bool hm_html_job(hm_buf *b, const hm_profile *p, size_t max_points)
{
    if (!p->njob_processes)
        return true;
    job_view v = {p, 0, 0, NULL, NULL, NULL, 0, NULL};
    bool ok = plan_layers(&v);
    if (ok) {
        double interval = hm_profile_meta_real(p, "job_interval_s");
        hm_buf_printf(b, ",\"job\":{\"interval_s\":%.6f,\"samples\":%zu,\"processes_total\":%zu,",
                      isfinite(interval) ? interval : 0.0, v.ngroups, p->njob_processes);
        put_processes(b, &v);
        hm_buf_puts(b, ",");
        ok = put_samples(b, &v, max_points);
        hm_buf_puts(b, ",");
        ok = ok && put_peak(b, &v);
        hm_buf_puts(b, ",");
        ok = ok && put_phases(b, &v);
        hm_buf_puts(b, "}");
    }
    free(v.layer_of);
    free(v.proc_of);
    free(v.group);
    free(v.by);
    return ok;
}
