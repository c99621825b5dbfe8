/*
 * tables.c - a census as text (Heapy's table, to the character) and
 * as JSON.
 *
 * Owns: guppy3's layout: "Partition of a set of N objects. Total size = S
 * bytes.", the column line, rows as '%6d %6d %3d %8d %3d %9d %3d ' then the
 * kind (wrapped at 100 columns under the kind column, as textwrap does), ten
 * rows then "<N more rows. Type e.g. '_.more' to view.>" (or all eleven
 * when exactly one would be left), percentages rounded as '%.0f' rounds;
 * the difference table "Summary of difference operation (A-B)."; JSON.
 * Must never: compute what the census holds (it renders hm_census_view), or
 * touch Python objects.
 */
#include "census/census.h"

#include <stdlib.h>
#include <string.h>

#define LINE_LENGTH 100

static int percent(uint64_t part, uint64_t whole)
{
    char text[64];
    snprintf(text, sizeof text, "%.0f", (double)part * 100.0 / (double)whole);
    return atoi(text);
}

/* prefix + name, broken at spaces (or inside a word too long for a line)
 * so that no line passes LINE_LENGTH, continuation lines indented to the
 * name's column. */
static void wrapped(hm_buf *b, const char *prefix, const char *name)
{
    size_t indent = strlen(prefix);
    hm_buf_puts(b, prefix);
    if (indent + strlen(name) <= LINE_LENGTH) {
        hm_buf_puts(b, name);
        hm_buf_puts(b, "\n");
        return;
    }
    size_t col = indent, room = LINE_LENGTH > indent ? LINE_LENGTH - indent : 1;
    bool line_empty = true;
    const char *p = name;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (!len)
            break;
        size_t need = len + (line_empty ? 0 : 1);
        if (col + need > LINE_LENGTH && !line_empty) {
            hm_buf_puts(b, "\n");
            hm_buf_printf(b, "%*s", (int)indent, "");
            col = indent;
            line_empty = true;
            need = len;
        }
        while (len > room) { /* a word longer than a whole line */
            hm_buf_putn(b, p, room);
            p += room;
            len -= room;
            hm_buf_puts(b, "\n");
            hm_buf_printf(b, "%*s", (int)indent, "");
        }
        if (!line_empty)
            hm_buf_puts(b, " ");
        hm_buf_putn(b, p, len);
        col += need;
        line_empty = false;
        p += len;
    }
    hm_buf_puts(b, "\n");
}

/* Rows [start, ...) with Heapy's paging: max rows, or all of them when only
 * one more would remain.  Returns the row after the last one shown. */
static size_t paged_rows(hm_buf *b, size_t start, size_t nrows, size_t max,
                         void (*row)(hm_buf *, const void *, size_t), const void *ctx)
{
    size_t i = start;
    for (; i < nrows; i++) {
        if (max && i - start >= max && i + 1 < nrows) {
            hm_buf_printf(b, "<%zu more rows. Type e.g. '_.more' to view.>\n", nrows - i);
            break;
        }
        row(b, ctx, i);
    }
    return i;
}

/* Heapy ends its text with rstrip(). */
static void rstrip_from(hm_buf *b, size_t from)
{
    while (b->len > from && (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == ' '))
        b->data[--b->len] = '\0';
}

static void census_row(hm_buf *b, const void *ctx, size_t i)
{
    const hm_census_view *v = ctx;
    uint64_t cumulative = 0;
    for (size_t j = 0; j <= i; j++)
        cumulative += v->rows[j].size;
    const hm_row *r = &v->rows[i];
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%6zu %6llu %3d %8llu %3d %9llu %3d ", i,
             (unsigned long long)r->count, percent(r->count, v->count), (unsigned long long)r->size,
             v->size ? percent(r->size, v->size) : 0, (unsigned long long)cumulative,
             v->size ? percent(cumulative, v->size) : 0);
    wrapped(b, prefix, v->kinds->items[r->kind].name);
}

size_t hm_census_table(hm_buf *b, const hm_census_view *v, size_t start, size_t max,
                       bool with_label)
{
    size_t from = b->len;
    if (with_label)
        hm_buf_printf(b, "Partition of a set of %llu object%s. Total size = %llu bytes.\n",
                      (unsigned long long)v->count, v->count == 1 ? "" : "s",
                      (unsigned long long)v->size);
    size_t next = start;
    if (start < v->nrows) {
        if (v->count || v->size)
            hm_buf_printf(b, " Index  Count   %%     Size   %% Cumulative  %% %s\n",
                          hm_kinds_header(v->kinds->by));
        next = paged_rows(b, start, v->nrows, max, census_row, v);
    }
    rstrip_from(b, from);
    return next;
}

/* ---- difference -------------------------------------------------------- */

typedef struct {
    const char *name;
    int64_t count, size;
} diff_row;

typedef struct {
    diff_row *rows;
    size_t n;
    uint64_t b_size;
} diff_table;

static void percent_of_b(char *out, size_t len, int64_t size, uint64_t b_size)
{
    if (b_size)
        snprintf(out, len, "%9.3g", (double)size * 100.0 / (double)b_size);
    else
        snprintf(out, len, "   (n.a.)");
}

static int diff_order(const void *pa, const void *pb)
{
    const diff_row *a = pa, *b = pb;
    int64_t sa = a->size < 0 ? -a->size : a->size, sb = b->size < 0 ? -b->size : b->size;
    if (sa != sb)
        return sa > sb ? -1 : 1;
    return strcmp(a->name, b->name);
}

static void diff_line(hm_buf *b, const void *ctx, size_t i)
{
    const diff_table *t = ctx;
    int64_t cumulative = 0;
    for (size_t j = 0; j <= i; j++)
        cumulative += t->rows[j].size;
    char pct[64], prefix[160];
    percent_of_b(pct, sizeof pct, cumulative, t->b_size);
    snprintf(prefix, sizeof prefix, "%6zu %6lld %8lld %9lld %s ", i, (long long)t->rows[i].count,
             (long long)t->rows[i].size, (long long)cumulative, pct);
    wrapped(b, prefix, t->rows[i].name);
}

static int by_name(const void *pa, const void *pb)
{
    return strcmp(((const diff_row *)pa)->name, ((const diff_row *)pb)->name);
}

void hm_census_diff(hm_buf *b, const hm_census_view *a, const hm_census_view *bv)
{
    size_t from = b->len;
    int64_t dcount = (int64_t)a->count - (int64_t)bv->count;
    int64_t dsize = (int64_t)a->size - (int64_t)bv->size;
    char pct[64];
    percent_of_b(pct, sizeof pct, dsize, bv->size);
    hm_buf_printf(b,
                  "Summary of difference operation (A-B).\n"
                  "        Count     Size\n"
                  "  A    %6llu %8llu\n"
                  "  B    %6llu %8llu\n"
                  "  A-B  %6lld %8lld  = %s %% of B\n",
                  (unsigned long long)a->count, (unsigned long long)a->size,
                  (unsigned long long)bv->count, (unsigned long long)bv->size, (long long)dcount,
                  (long long)dsize, pct);
    /* Rows of A positive, rows of B negative, merged by kind name. */
    size_t n = a->nrows + bv->nrows;
    diff_row *all = calloc(n ? n : 1, sizeof *all);
    if (!all) {
        b->failed = true;
        return;
    }
    for (size_t i = 0; i < a->nrows; i++)
        all[i] = (diff_row){a->kinds->items[a->rows[i].kind].name, (int64_t)a->rows[i].count,
                            (int64_t)a->rows[i].size};
    for (size_t i = 0; i < bv->nrows; i++)
        all[a->nrows + i] = (diff_row){bv->kinds->items[bv->rows[i].kind].name,
                                       -(int64_t)bv->rows[i].count, -(int64_t)bv->rows[i].size};
    qsort(all, n, sizeof *all, by_name);
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        diff_row r = all[i++];
        while (i < n && strcmp(all[i].name, r.name) == 0) {
            r.count += all[i].count;
            r.size += all[i].size;
            i++;
        }
        if (r.count || r.size)
            all[m++] = r;
    }
    qsort(all, m, sizeof *all, diff_order);
    if (dcount || dsize) {
        hm_buf_puts(b, "\nDifferences by kind, largest absolute size diffs first.\n");
        if (m) {
            hm_buf_printf(b, " Index  Count     Size  Cumulative  %% of B %s\n",
                          hm_kinds_header(a->kinds->by));
            diff_table t = {all, m, bv->size};
            paged_rows(b, 0, m, 10, diff_line, &t);
        }
    }
    free(all);
    rstrip_from(b, from);
}

/* ---- JSON -------------------------------------------------------------- */

void hm_census_json(hm_buf *b, const hm_census_view *v, const char *python)
{
    static const char *const by_names[] = {"kind", "type", "module"};
    hm_buf_printf(b, "{\"count\": %llu, \"size\": %llu, \"classifier\": \"%s\", \"python\": ",
                  (unsigned long long)v->count, (unsigned long long)v->size,
                  by_names[v->kinds->by]);
    hm_buf_json(b, python);
    hm_buf_puts(b, ", \"rows\": [");
    uint64_t cumulative = 0;
    for (size_t i = 0; i < v->nrows; i++) {
        const hm_row *r = &v->rows[i];
        const hm_kind *k = &v->kinds->items[r->kind];
        cumulative += r->size;
        hm_buf_printf(b,
                      "%s\n  {\"index\": %zu, \"count\": %llu, \"size\": %llu, "
                      "\"cumulative\": %llu, \"kind\": ",
                      i ? "," : "", i, (unsigned long long)r->count, (unsigned long long)r->size,
                      (unsigned long long)cumulative);
        hm_buf_json(b, k->name);
        hm_buf_puts(b, ", \"type\": ");
        hm_buf_json(b, k->type_name);
        hm_buf_puts(b, ", \"module\": ");
        hm_buf_json(b, k->module);
        hm_buf_puts(b, "}");
    }
    hm_buf_puts(b, v->nrows ? "\n]}\n" : "]}\n");
}
