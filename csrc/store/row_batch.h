/*
 * row_batch.h - rows inserted many to a statement (row_batch.c).
 *
 * Owns: the multi-row INSERT statements the writer fills one cell at a time.
 * Must never: keep a text cell's pointer past hm_batch_end (texts are bound
 * SQLITE_STATIC: they must live until the batch is flushed).
 */
#ifndef HM_ROW_BATCH_H
#define HM_ROW_BATCH_H

#include "common/common.h"

#include <sqlite3.h>

#define HM_BATCH_ROWS 32 /* rows a statement inserts */
#define HM_BATCH_MAX_COLS 8

typedef struct {
    int type; /* SQLITE_NULL, SQLITE_INTEGER, SQLITE_FLOAT or SQLITE_TEXT */
    int64_t i;
    double r;
    const char *s;
} hm_batch_cell;

typedef struct {
    sqlite3 *db;
    const char *table;
    int ncols;
    int ncells; /* cells of the current batch */
    sqlite3_stmt *full;
    bool failed;
    hm_batch_cell cells[HM_BATCH_ROWS * HM_BATCH_MAX_COLS];
} hm_row_batch;

/* False if ncols is out of range.  A statement that cannot be prepared (when
 * the first full batch, or the last one, is inserted) fails the batch:
 * hm_batch_end says so, and sqlite3_errmsg why. */
bool hm_batch_begin(hm_row_batch *b, sqlite3 *db, const char *table, int ncols);
void hm_batch_int(hm_row_batch *b, int64_t v);
void hm_batch_real(hm_row_batch *b, double v);
void hm_batch_text(hm_row_batch *b, const char *s);
void hm_batch_null(hm_row_batch *b);
/* After a row's ncols cells: inserts a full batch.  An error is kept: the
 * rows after it are not inserted, and hm_batch_end says so. */
void hm_batch_row_done(hm_row_batch *b);
/* Inserts what is left and finalizes; false on an error (then or before). */
bool hm_batch_end(hm_row_batch *b);

#endif
