/*
 * advice.c - what to change, with the saving each change would bring,
 * computed from the profile's own numbers.
 *
 * Owns: the patterns looked for (instances of a class with a __dict__ held
 * in numbers, lists of floats, strings repeating other strings' texts, a
 * line whose memory was temporary, free arena space kept after the peak), the predicted saving of each, and their
 * text and JSON.
 * Must never: advise without the evidence in this profile, give a saving it
 * cannot compute from it, or present a prediction as a measurement.  Every
 * piece of advice names what it was computed from.
 *
 * Sizes: pymalloc serves blocks of up to 512 bytes in 16-byte classes; an
 * object with __slots__ and no __weakref__ is a GC header (16), an object
 * header (16) and a pointer per slot, on every CPython 3.9-3.13; an
 * array.array('d') holds 8 bytes per item.
 */
#include "report/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_SAVING (1 << 20) /* and MIN_SHARE of the peak */
#define MIN_SHARE 0.02
#define SPIKE_SHARE 0.10
#define SPIKE_WITHIN 0.25 /* of the time the program ran after its peak */
#define FREE_SPACE_MIN (16 << 20)

static int64_t block_of(int64_t size)
{
    return size <= 512 ? (size + 15) & ~15 : size;
}

static const char *class_name(const char *kind)
{
    const char *dot = strrchr(kind, '.');
    return dot ? dot + 1 : kind;
}

/* The frame (credited as a program line) holding most of kind's count or
 * bytes in the walk. */
static uint32_t main_line(const hm_profile *p, const uint32_t *credited, int walk, const char *kind,
                          bool by_count)
{
    const hm_kind_walk_data *w = &p->kinds[walk];
    int64_t *per_frame = calloc(p->nframes + 1, sizeof *per_frame);
    uint32_t best = HM_NONE;
    if (!per_frame)
        return best;
    for (size_t i = 0; i < w->nrows; i++) {
        const hm_node_kind *r = &w->rows[i];
        if (strcmp(r->kind, kind) != 0)
            continue;
        uint32_t f = credited[r->node];
        per_frame[f] += by_count ? r->count : r->bytes;
        if (best == HM_NONE || per_frame[f] > per_frame[best])
            best = f;
    }
    free(per_frame);
    return best;
}

static bool worth_it(const hm_profile *p, int64_t saving)
{
    return saving >= MIN_SAVING &&
           (double)saving >= MIN_SHARE * (double)p->snapshot_total[HM_SNAP_PEAK - 1];
}

static void add(hm_advice_list *l, const hm_advice *a)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        hm_advice *grown = realloc(l->items, cap * sizeof *grown);
        if (!grown)
            return;
        l->items = grown;
        l->cap = cap;
    }
    l->items[l->n++] = *a;
}

/* Instances of a class with a __dict__ -> __slots__. */
static void advise_slots(const hm_profile *p, const uint32_t *credited, int walk,
                         const hm_kind_total *kinds, size_t nkinds, hm_advice_list *out)
{
    for (size_t i = 0; i < nkinds; i++) {
        const hm_kind_total *k = &kinds[i];
        if (k->attributes <= 0 || k->count <= 0)
            continue;
        char dict_kind[512];
        snprintf(dict_kind, sizeof dict_kind, "dict of %s", k->kind);
        int64_t dicts = 0;
        for (size_t j = 0; j < nkinds; j++)
            if (strcmp(kinds[j].kind, dict_kind) == 0)
                dicts = kinds[j].bytes;
        double attributes = (double)k->attributes / (double)k->count;
        int64_t slots = (int64_t)(attributes + 0.5);
        int64_t slotted = k->count * block_of(32 + 8 * slots);
        int64_t now = k->bytes + dicts;
        hm_advice a = {HM_ADVICE_SLOTS, k->kind, main_line(p, credited, walk, k->kind, true)};
        a.count = k->count;
        a.attributes = attributes;
        a.current = now;
        a.predicted = slotted;
        a.saving = now - slotted;
        if (a.frame != HM_NONE && worth_it(p, a.saving))
            add(out, &a);
    }
}

/* Lists of floats -> array.array('d') or numpy: per line, the float-only
 * lists made there and the floats made there with them. */
static void advise_arrays(const hm_profile *p, const uint32_t *credited, int walk,
                          hm_advice_list *out)
{
    const hm_kind_walk_data *w = &p->kinds[walk];
    hm_advice *per_frame = calloc(p->nframes + 1, sizeof *per_frame);
    if (!per_frame)
        return;
    int64_t *floats = calloc(p->nframes + 1, sizeof *floats);
    for (size_t i = 0; floats && i < w->nrows; i++) {
        const hm_node_kind *r = &w->rows[i];
        uint32_t f = credited[r->node];
        if (r->float_items > 0) {
            per_frame[f].count += r->float_items;
            per_frame[f].current += r->bytes;
        } else if (strcmp(r->kind, "float") == 0) {
            floats[f] += r->bytes;
        }
    }
    for (uint32_t f = 0; floats && f < p->nframes; f++) {
        hm_advice *a = &per_frame[f];
        if (a->count <= 0)
            continue;
        /* The floats those lists hold, where they were made on the same line. */
        int64_t held = floats[f] < a->count * block_of(24) ? floats[f] : a->count * block_of(24);
        a->type = HM_ADVICE_ARRAY;
        a->kind = "list";
        a->frame = f;
        a->current += held;
        a->predicted = 8 * a->count;
        a->saving = a->current - a->predicted;
        if (worth_it(p, a->saving))
            add(out, a);
    }
    free(floats);
    free(per_frame);
}

/* Seconds after the peak until tracked memory first fell by drop, from
 * the timeline; negative if it never did (or there is no timeline). */
static double seconds_to_fall(const hm_profile *p, int64_t drop)
{
    double at = hm_profile_meta_real(p, "peak_at_s");
    int64_t peak = p->snapshot_total[HM_SNAP_PEAK - 1];
    for (size_t i = 0; i < p->ntimeline; i++)
        if (p->timeline[i].t > at && p->timeline[i].tracked <= peak - drop)
            return p->timeline[i].t - at;
    return -1;
}

/* Strings made at a line whose texts other str objects hold too: one
 * object per text (sys.intern, a categorical) keeps 1/copies of them. */
static void advise_interning(const hm_profile *p, const uint32_t *credited, int walk,
                             hm_advice_list *out)
{
    const hm_kind_walk_data *w = &p->kinds[walk];
    hm_advice *per_frame = calloc(p->nframes + 1, sizeof *per_frame);
    for (size_t i = 0; per_frame && i < w->nrows; i++) {
        const hm_node_kind *r = &w->rows[i];
        if (strcmp(r->kind, "str") != 0)
            continue;
        hm_advice *a = &per_frame[credited[r->node]];
        a->count += r->count;
        a->current += r->bytes;
        a->saving += r->duplicate_bytes;
    }
    for (uint32_t f = 0; per_frame && f < p->nframes; f++) {
        hm_advice *a = &per_frame[f];
        if (!worth_it(p, a->saving))
            continue;
        a->type = HM_ADVICE_INTERN;
        a->kind = "str";
        a->frame = f;
        a->predicted = a->current - a->saving;
        add(out, a);
    }
    free(per_frame);
}

/* A line that held much at the peak and nothing at the end, whose memory
 * went soon after the peak while the program went on: a temporary, not
 * data kept until the program ended. */
static void advise_spikes(const hm_profile *p, hm_advice_list *out)
{
    double after_peak =
        hm_profile_meta_real(p, "duration_s") - hm_profile_meta_real(p, "peak_at_s");
    hm_line_total lines[8];
    size_t n = hm_profile_top_lines(p, HM_SNAP_PEAK, HM_BY_PROGRAM_LINE, lines, 8);
    uint32_t *credited = hm_profile_credited_frames(p, HM_BY_PROGRAM_LINE);
    int64_t *at_end = credited ? calloc(p->nframes + 1, sizeof *at_end) : NULL;
    for (size_t node = 1; at_end && node < p->nnodes; node++)
        at_end[credited[node]] += p->self[HM_SNAP_END - 1][node].bytes;
    int64_t peak = p->snapshot_total[HM_SNAP_PEAK - 1];
    for (size_t i = 0; at_end && i < n; i++) {
        const hm_pframe *f = &p->frames[lines[i].frame];
        if (f->pseudo || (double)lines[i].bytes < SPIKE_SHARE * (double)peak ||
            at_end[lines[i].frame] > lines[i].bytes / 10)
            continue;
        double fell = seconds_to_fall(p, lines[i].bytes * 9 / 10);
        if (fell < 0 || fell > SPIKE_WITHIN * after_peak)
            continue;
        hm_advice a = {HM_ADVICE_TEMPORARY, NULL, lines[i].frame};
        a.current = lines[i].bytes;
        a.predicted = at_end[lines[i].frame];
        a.saving = lines[i].bytes;
        a.attributes = fell; /* seconds, for the text */
        add(out, &a);
    }
    free(at_end);
    free(credited);
}

/* Arena space free at the end, kept by the process. */
static void advise_free_space(const hm_profile *p, hm_advice_list *out)
{
    int64_t free_end = 0;
    for (size_t node = 1; node < p->nnodes; node++) {
        const hm_pframe *f = &p->frames[p->nodes[node].frame];
        if (f->pseudo && strcmp(f->function, "[pymalloc free space]") == 0)
            free_end += p->self[HM_SNAP_END - 1][node].bytes;
    }
    int64_t end = p->snapshot_total[HM_SNAP_END - 1];
    if (free_end < FREE_SPACE_MIN || (double)free_end < 0.25 * (double)end)
        return;
    hm_advice a = {HM_ADVICE_FREE_SPACE, NULL, HM_NONE};
    a.current = free_end;
    a.saving = free_end;
    add(out, &a);
}

static int by_saving(const void *x, const void *y)
{
    const hm_advice *a = x, *b = y;
    return a->saving != b->saving ? (a->saving < b->saving ? 1 : -1) : (a->type > b->type);
}

bool hm_advise(const hm_profile *p, hm_advice_list *out)
{
    memset(out, 0, sizeof *out);
    int walk = hm_kinds_walk_for(p, HM_SNAP_PEAK);
    if (walk >= 0) {
        uint32_t *credited = hm_profile_credited_frames(p, HM_BY_PROGRAM_LINE);
        hm_kind_total *kinds = calloc(4096, sizeof *kinds);
        int64_t total;
        size_t n = kinds ? hm_profile_kinds(p, walk, NULL, HM_NONE, kinds, 4096, &total) : 0;
        if (credited) {
            advise_slots(p, credited, walk, kinds, n, out);
            advise_arrays(p, credited, walk, out);
            advise_interning(p, credited, walk, out);
        }
        free(kinds);
        free(credited);
    }
    advise_spikes(p, out);
    advise_free_space(p, out);
    if (out->n)
        qsort(out->items, out->n, sizeof *out->items, by_saving);
    return true;
}

void hm_advice_free(hm_advice_list *l)
{
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* ---- text and JSON ---- */

static void line_of(hm_buf *b, const hm_profile *p, uint32_t frame)
{
    hm_frame_label(b, p, frame, true);
}

/* "16.4 MiB: 20.4 MiB less." */
static void predicted_and_saving(hm_buf *b, const hm_advice *a)
{
    hm_buf_bytes(b, a->predicted);
    hm_buf_puts(b, ": ");
    hm_buf_bytes(b, a->saving);
    hm_buf_puts(b, " less.");
}

void hm_advice_item_text(hm_buf *b, const hm_profile *p, const hm_advice *a)
{
    bool estimated = !hm_profile_is_exact(p);
    switch (a->type) {
    case HM_ADVICE_SLOTS:
        hm_buf_printf(b, "Give class %s __slots__: ", class_name(a->kind));
        hm_buf_grouped(b, a->count);
        hm_buf_printf(b, " %s objects%s (made at ", a->kind, estimated ? " (estimated)" : "");
        line_of(b, p, a->frame);
        hm_buf_puts(b, ") and their attributes took ");
        hm_buf_bytes(b, a->current);
        hm_buf_printf(b,
                      " at the walk; with __slots__ for their %.1f attributes they would "
                      "take about ",
                      a->attributes);
        predicted_and_saving(b, a);
        if (strncmp(hm_profile_meta(p, "python"), "3.1", 3) == 0 &&
            strncmp(hm_profile_meta(p, "python"), "3.10", 4) != 0)
            hm_buf_puts(b, " (This Python keeps attributes without a per-instance dict "
                           "already: the gain is what is left.)");
        break;
    case HM_ADVICE_ARRAY:
        hm_buf_puts(b, "Keep the floats of ");
        line_of(b, p, a->frame);
        hm_buf_puts(b, " in an array.array('d') or a numpy array instead of a list: ");
        hm_buf_grouped(b, a->count);
        hm_buf_printf(b, " floats%s in lists took ", estimated ? " (estimated)" : "");
        hm_buf_bytes(b, a->current);
        hm_buf_puts(b, " with the list slots at the walk; as 8-byte doubles, ");
        predicted_and_saving(b, a);
        break;
    case HM_ADVICE_TEMPORARY:
        line_of(b, p, a->frame);
        hm_buf_puts(b, " held ");
        hm_buf_bytes(b, a->current);
        hm_buf_printf(b,
                      " at the peak; %.2f s later memory had fallen by as much, and the line "
                      "held ",
                      a->attributes);
        hm_buf_bytes(b, a->predicted);
        hm_buf_puts(b, " at the end: a temporary. If it is a copy, a whole file read at once or "
                       "a serialised form, streaming it or releasing it before the peak lowers "
                       "the peak by up to ");
        hm_buf_bytes(b, a->saving);
        hm_buf_puts(b, ".");
        break;
    case HM_ADVICE_INTERN:
        hm_buf_puts(b, "Keep one str object per text for the strings of ");
        line_of(b, p, a->frame);
        hm_buf_puts(b, " (sys.intern(), or a pandas categorical): ");
        hm_buf_grouped(b, a->count);
        hm_buf_printf(b, " strings made there%s took ", estimated ? " (estimated)" : "");
        hm_buf_bytes(b, a->current);
        hm_buf_puts(b, " at the walk, and other str objects held the same texts; one of each "
                       "would take ");
        predicted_and_saving(b, a);
        break;
    case HM_ADVICE_FREE_SPACE:
        hm_buf_puts(b, "Pymalloc arenas held ");
        hm_buf_bytes(b, a->current);
        hm_buf_puts(b, " of free space at the end: small objects freed after the peak left "
                       "their arenas partly used, and the process keeps them. If the program "
                       "lives on after its peak, doing the peak's work in a child process "
                       "returns that memory when the child ends.");
        break;
    }
}

void hm_advice_text(hm_buf *b, const hm_profile *p, const hm_advice_list *l)
{
    int walk = hm_kinds_walk_for(p, HM_SNAP_PEAK);
    for (size_t i = 0; i < l->n; i++) {
        hm_buf_printf(b, "%zu. ", i + 1);
        hm_advice_item_text(b, p, &l->items[i]);
        hm_buf_puts(b, "\n");
    }
    if (l->n && walk >= 0) {
        hm_buf_puts(b, "(Class and list figures are ");
        hm_kinds_walk_note(b, p, walk);
        hm_buf_puts(b, ".)\n");
    }
}

const char *hm_advice_type_name(hm_advice_type type)
{
    static const char *const names[] = {"slots", "array", "temporary", "free_space", "intern"};
    return names[type];
}

void hm_advice_json(hm_buf *b, const hm_profile *p, const hm_advice_list *l)
{
    hm_buf_puts(b, "[");
    for (size_t i = 0; i < l->n; i++) {
        const hm_advice *a = &l->items[i];
        hm_buf_printf(b, "%s{\"type\": \"%s\", \"kind\": ", i ? ", " : "",
                      hm_advice_type_name(a->type));
        if (a->kind)
            hm_buf_json(b, a->kind);
        else
            hm_buf_puts(b, "null");
        if (a->frame != HM_NONE) {
            const hm_pframe *f = &p->frames[a->frame];
            hm_buf_puts(b, ", \"function\": ");
            hm_buf_json(b, f->function);
            hm_buf_puts(b, ", \"file\": ");
            hm_buf_json(b, f->file);
            hm_buf_printf(b, ", \"line\": %d", f->line);
        }
        hm_buf_printf(b,
                      ", \"count\": %lld, \"attributes\": %.3f, \"current_bytes\": %lld, "
                      "\"predicted_bytes\": %lld, \"saving_bytes\": %lld}",
                      (long long)a->count, a->attributes, (long long)a->current,
                      (long long)a->predicted, (long long)a->saving);
    }
    hm_buf_puts(b, "]");
}
