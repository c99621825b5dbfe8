/*
 * row_batch.c - rows inserted many to a statement (see row_batch.h).
 *
 * Owns: building "INSERT INTO t VALUES(?,..),(?,..),..." for HM_BATCH_ROWS
 * rows and for the last, shorter batch, and binding buffered cells to them.
 * Why: a statement's step, reset and program start cost SQLite about as much
 * as the row itself; 32 rows to a statement nearly halve the instructions a
 * profile's write takes (12,000 rows: 69.7 M one to a statement, 36.7 M 32
 * to one), which the program pays at its exit.  The full batch's statement
 * is prepared when a table first fills one: most of a profile's tables hold
 * fewer rows, and parsing 32 rows of placeholders cost an empty run's write
 * 3 M instructions of its 8 M.
 * Must never: read a cell before the row that holds it is complete.
 */
#include "store/row_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "INSERT INTO table VALUES(?,?),(?,?)" for rows rows of ncols. */
static sqlite3_stmt *prepare(sqlite3 *db, const char *table, int ncols, int rows)
{
    size_t cap = 64 + strlen(table) + (size_t)rows * ((size_t)ncols * 2 + 3);
    char *sql = malloc(cap);
    if (!sql)
        return NULL;
    size_t n = (size_t)snprintf(sql, cap, "INSERT INTO %s VALUES", table);
    for (int r = 0; r < rows; r++) {
        sql[n++] = r ? ',' : ' ';
        sql[n++] = '(';
        for (int c = 0; c < ncols; c++) {
            if (c)
                sql[n++] = ',';
            sql[n++] = '?';
        }
        sql[n++] = ')';
    }
    sql[n] = '\0';
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, (int)n, &st, NULL) != SQLITE_OK)
        st = NULL;
    free(sql);
    return st;
}

bool hm_batch_begin(hm_row_batch *b, sqlite3 *db, const char *table, int ncols)
{
    b->db = db;
    b->table = table;
    b->ncols = ncols;
    b->ncells = 0;
    b->failed = ncols < 1 || ncols > HM_BATCH_MAX_COLS;
    b->full = NULL;
    return !b->failed;
}

static hm_batch_cell *next_cell(hm_row_batch *b)
{
    static hm_batch_cell spare; /* a cell past a row's end: the row is refused */
    if (b->ncells >= HM_BATCH_ROWS * b->ncols) {
        b->failed = true;
        return &spare;
    }
    return &b->cells[b->ncells++];
}

void hm_batch_int(hm_row_batch *b, int64_t v)
{
    hm_batch_cell *c = next_cell(b);
    c->type = SQLITE_INTEGER;
    c->i = v;
}

void hm_batch_real(hm_row_batch *b, double v)
{
    hm_batch_cell *c = next_cell(b);
    c->type = SQLITE_FLOAT;
    c->r = v;
}

void hm_batch_text(hm_row_batch *b, const char *s)
{
    hm_batch_cell *c = next_cell(b);
    c->type = SQLITE_TEXT;
    c->s = s;
}

void hm_batch_null(hm_row_batch *b)
{
    next_cell(b)->type = SQLITE_NULL;
}

/* Binds the buffered cells to st and steps it once. */
static bool insert(hm_row_batch *b, sqlite3_stmt *st)
{
    for (int k = 0; k < b->ncells; k++) {
        const hm_batch_cell *c = &b->cells[k];
        int rc = c->type == SQLITE_INTEGER ? sqlite3_bind_int64(st, k + 1, c->i)
                 : c->type == SQLITE_FLOAT ? sqlite3_bind_double(st, k + 1, c->r)
                 : c->type == SQLITE_TEXT  ? sqlite3_bind_text(st, k + 1, c->s, -1, SQLITE_STATIC)
                                           : sqlite3_bind_null(st, k + 1);
        if (rc != SQLITE_OK)
            return false;
    }
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_reset(st);
    b->ncells = 0;
    return ok;
}

void hm_batch_row_done(hm_row_batch *b)
{
    if (b->failed)
        return;
    if (b->ncells % b->ncols != 0)
        b->failed = true; /* a row of the wrong width */
    else if (b->ncells == HM_BATCH_ROWS * b->ncols) {
        if (!b->full)
            b->full = prepare(b->db, b->table, b->ncols, HM_BATCH_ROWS);
        if (!b->full || !insert(b, b->full))
            b->failed = true;
    }
}

bool hm_batch_end(hm_row_batch *b)
{
    if (!b->failed && b->ncells > 0) {
        sqlite3_stmt *last = prepare(b->db, b->table, b->ncols, b->ncells / b->ncols);
        if (!last || !insert(b, last))
            b->failed = true;
        sqlite3_finalize(last);
    }
    sqlite3_finalize(b->full);
    b->full = NULL;
    return !b->failed;
}
