/*
 * merge.c - one view of the profiles of a run's processes.
 *
 * Owns: renumbering each part's frames and nodes into one tree under a
 * "[process PID: ...]" frame per part; the values stay each process's own
 * (a child's peak is its peak, not the value at the parent's), but for
 * job-peak: there a part counts only if its candidate is of the main
 * profile's job_peak_generation (it was alive at the combined peak and
 * answered it; run/job.c), so that snapshot is the job's one moment.
 * Must never: copy the parts' strings (the merged profile borrows them and
 * owns only its arrays and the process labels).
 */
#include "store/profile.h"

#include "common/hashmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Frames equal in (function, file, line) across parts become one, so that a
 * line is ranked once however many processes ran it. */
typedef struct {
    uint32_t *slots; /* merged frame + 1, 0 = empty */
    size_t mask;
} frame_index;

static uint64_t frame_key(const hm_pframe *f)
{
    return hm_hash_text(f->function) ^ (hm_hash_text(f->file) * 31) ^ (uint64_t)(uint32_t)f->line;
}

static bool same_frame(const hm_pframe *a, const hm_pframe *b)
{
    return a->line == b->line && a->pseudo == b->pseudo && strcmp(a->function, b->function) == 0 &&
           strcmp(a->file, b->file) == 0;
}

/* The merged id of f, adding it to out's frames if new. */
static uint32_t merged_frame(frame_index *ix, hm_profile *out, const hm_pframe *f)
{
    size_t i = (size_t)frame_key(f) & ix->mask;
    while (ix->slots[i]) {
        if (same_frame(&out->frames[ix->slots[i] - 1], f))
            return ix->slots[i] - 1;
        i = (i + 1) & ix->mask;
    }
    out->frames[out->nframes] = *f;
    ix->slots[i] = (uint32_t)++out->nframes;
    return ix->slots[i] - 1;
}

/* Each process's kinds, on its nodes in the merged tree (parts follow
 * each other after the root, as above); the walk times are the main
 * process's. */
static bool merge_kinds(const hm_profile *parts, size_t n, hm_profile *out)
{
    for (int s = 0; s < 2; s++) {
        size_t rows = 0;
        for (size_t k = 0; k < n; k++)
            rows += parts[k].kinds[s].nrows;
        out->kinds[s] = parts[0].kinds[s];
        out->kinds[s].rows = NULL;
        out->kinds[s].nrows = 0;
        for (size_t k = 1; k < n; k++)
            out->kinds[s].present |= parts[k].kinds[s].present;
        if (!rows)
            continue;
        if (!(out->kinds[s].rows = malloc(rows * sizeof *out->kinds[s].rows)))
            return false;
        size_t node_base = 1;
        for (size_t k = 0; k < n; k++) {
            for (size_t i = 0; i < parts[k].kinds[s].nrows; i++) {
                hm_node_kind row = parts[k].kinds[s].rows[i];
                row.node += (uint32_t)node_base;
                out->kinds[s].rows[out->kinds[s].nrows++] = row;
            }
            node_base += parts[k].nnodes;
        }
    }
    return true;
}

/* The command of the run's process pid, or NULL if it is not in the run. */
static const char *command_of(const hm_profile *parts, size_t n, int pid)
{
    for (size_t k = 0; pid && k < n; k++)
        if (parts[k].processes[0].pid == pid)
            return parts[k].processes[0].command;
    return NULL;
}

/* What process k is, in a few words, for its frame.  A child with its
 * parent's command line was forked (from the main process, a fork server or
 * any other); one started anew is named by what it runs. */
static void describe(const hm_profile *parts, size_t n, size_t k, char *out, size_t size)
{
    const hm_process *proc = &parts[k].processes[0];
    const char *parent_command = command_of(parts, n, proc->parent_pid);
    const char *what = proc->command;
    if (k == 0)
        what = "main";
    else if (parent_command && strcmp(parent_command, proc->command) == 0)
        what = NULL;
    else if (strstr(proc->command, "--multiprocessing-fork"))
        what = "multiprocessing spawn worker";
    else if (strstr(proc->command, "multiprocessing.forkserver"))
        what = "multiprocessing fork server";
    if (what)
        snprintf(out, size, "[process %d: %.80s]", proc->pid, what);
    else
        snprintf(out, size, "[process %d: forked from %d]", proc->pid, proc->parent_pid);
}

/* Whether part k's job-peak values are of the run's combined peak. */
static bool at_job_peak(const hm_profile *parts, size_t k)
{
    const char *wanted = hm_profile_meta(&parts[0], "job_peak_generation");
    return parts[0].njob_processes > 0 && wanted[0] &&
           strcmp(hm_profile_meta(&parts[k], "job_candidate_generation"), wanted) == 0;
}

bool hm_profile_merge(hm_profile *parts, size_t n, hm_profile *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    /* The merged root adds the parts' roots up: it must fit as they did. */
    for (int s = 0; s < HM_SNAP_COUNT; s++) {
        int64_t bytes = 0, count = 0, total = 0;
        for (size_t k = 0; k < n; k++)
            if (__builtin_add_overflow(bytes, parts[k].total[s][0].bytes, &bytes) ||
                __builtin_add_overflow(count, parts[k].total[s][0].count, &count) ||
                __builtin_add_overflow(total, parts[k].snapshot_total[s], &total)) {
                snprintf(err, errlen,
                         "'%s' is not a readable heapmark profile: its values are "
                         "too large to add up with the run's other profiles",
                         parts[k].path);
                return false;
            }
    }
    out->merged = true;
    size_t nframes = n, nnodes = 1;
    for (size_t k = 0; k < n; k++) {
        nframes += parts[k].nframes;
        nnodes += parts[k].nnodes;
    }
    out->strings = calloc(n, sizeof *out->strings);
    out->frames = calloc(nframes, sizeof *out->frames);
    out->nodes = calloc(nnodes, sizeof *out->nodes);
    out->processes = calloc(n, sizeof *out->processes);
    bool ok = out->strings && out->frames && out->nodes && out->processes;
    for (int s = 0; ok && s < HM_SNAP_COUNT; s++) {
        out->self[s] = calloc(nnodes, sizeof(hm_value));
        out->total[s] = calloc(nnodes, sizeof(hm_value));
        ok = out->self[s] && out->total[s];
    }
    if (!ok) {
        snprintf(err, errlen, "out of memory merging %zu profiles", n);
        hm_profile_free(out);
        return false;
    }
    frame_index ix = {NULL, 0};
    size_t slots = 16;
    while (slots < nframes * 2)
        slots *= 2;
    ix.slots = calloc(slots, sizeof *ix.slots);
    ix.mask = slots - 1;
    uint32_t *frame_map = NULL;
    if (!ix.slots) {
        snprintf(err, errlen, "out of memory merging %zu profiles", n);
        hm_profile_free(out);
        return false;
    }
    out->nodes[0] = (hm_pnode){HM_NONE, HM_NONE, HM_NONE, HM_NONE, 0};
    size_t node_base = 1;
    for (size_t k = 0; k < n; k++) {
        const hm_profile *part = &parts[k];
        out->processes[k] = part->processes[0];
        char label[160];
        describe(parts, n, k, label, sizeof label);
        out->strings[k] = strdup(label);
        free(frame_map);
        frame_map = malloc((part->nframes + 1) * sizeof *frame_map);
        if (!out->strings[k] || !frame_map) {
            snprintf(err, errlen, "out of memory merging %zu profiles", n);
            free(ix.slots);
            free(frame_map);
            hm_profile_free(out);
            return false;
        }
        out->nstrings = k + 1;
        for (size_t f = 0; f < part->nframes; f++)
            frame_map[f] = merged_frame(&ix, out, &part->frames[f]);
        hm_pframe process = {out->strings[k], "", "", NULL, 0, true};
        uint32_t process_frame = merged_frame(&ix, out, &process);
        /* The part's root becomes its process node; the rest follow it. */
        for (size_t i = 0; i < part->nnodes; i++) {
            hm_pnode *node = &out->nodes[node_base + i];
            const hm_pnode *src = &part->nodes[i];
            if (i == 0) {
                *node = (hm_pnode){0, process_frame, HM_NONE, HM_NONE, 1};
            } else {
                *node = (hm_pnode){(uint32_t)(node_base + src->parent), frame_map[src->frame],
                                   HM_NONE, HM_NONE, src->depth + 1};
            }
            for (int s = 0; s < HM_SNAP_COUNT; s++)
                out->self[s][node_base + i] = part->self[s][i];
        }
        bool in_job_peak = at_job_peak(parts, k);
        if (!in_job_peak)
            for (size_t i = 0; i < part->nnodes; i++)
                out->self[HM_SNAP_JOB_PEAK - 1][node_base + i] = (hm_value){0, 0};
        for (int s = 0; s < HM_SNAP_COUNT; s++)
            if (s != HM_SNAP_JOB_PEAK - 1 || in_job_peak)
                out->snapshot_total[s] += part->snapshot_total[s];
        node_base += part->nnodes;
    }
    free(ix.slots);
    free(frame_map);
    out->nnodes = nnodes;
    out->nprocesses = n;
    out->meta = parts[0].meta;
    out->nmeta = parts[0].nmeta;
    /* The run's timeline is the main process's (it sees the run from start to end). */
    out->timeline = parts[0].timeline;
    out->ntimeline = parts[0].ntimeline;
    out->gc_runs = parts[0].gc_runs;
    out->ngc_runs = parts[0].ngc_runs;
    out->phases = parts[0].phases;
    out->nphases = parts[0].nphases;
    out->job_processes = parts[0].job_processes;
    out->njob_processes = parts[0].njob_processes;
    out->job_samples = parts[0].job_samples;
    out->njob_samples = parts[0].njob_samples;
    out->job_peak = parts[0].job_peak;
    out->crash_node = parts[0].crash_node ? parts[0].crash_node + 1 : 0; /* part 0's nodes from 1 */
    out->parts = (const struct hm_profile_s *)parts;
    out->nparts = n;
    out->path = parts[0].path;
    if (!merge_kinds(parts, n, out)) {
        snprintf(err, errlen, "out of memory merging %zu profiles", n);
        hm_profile_free(out);
        return false;
    }
    if (!hm_profile_index(out)) {
        snprintf(err, errlen, "out of memory merging %zu profiles", n);
        hm_profile_free(out);
        return false;
    }
    return true;
}
