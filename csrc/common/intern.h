/*
 * intern.h - dense ids for byte strings, for the reports and exports.
 *
 * Owns: a table that gives each distinct key (any bytes: a name, a
 * "function, file, line" tuple, a pair of ids) the id 0, 1, 2... in the
 * order keys first appear, and keeps a copy of every key.
 * Must never: be used inside a profiled process's hooks (it uses the
 * ordinary heap; the engine has its own maps in hashmap.h).
 */
#ifndef HM_INTERN_H
#define HM_INTERN_H

#include "common/common.h"

typedef struct {
    uint32_t *slots; /* id + 1; 0 = empty */
    size_t mask;
    char *bytes; /* every key, one after another */
    size_t nbytes, bytes_cap;
    size_t *offset; /* per id: where its key starts in bytes */
    uint32_t *length;
    uint32_t *hash;
    uint32_t count, cap;
} hm_intern;

/* The id of key, adding it if new (*added, when given, says which).
 * UINT32_MAX when memory runs out. */
uint32_t hm_intern_put(hm_intern *t, const void *key, size_t len, bool *added);
uint32_t hm_intern_text(hm_intern *t, const char *s, bool *added);
/* The key of id (not NUL-terminated unless it was added with its NUL). */
const char *hm_intern_key(const hm_intern *t, uint32_t id, size_t *len);
void hm_intern_free(hm_intern *t);

#endif
