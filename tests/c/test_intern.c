/*
 * test_intern.c - the interner (common/intern.c) against a model: a list of
 * the keys added, searched by brute force.
 */
#include "check.h"
#include "common/intern.h"

#include <stdlib.h>
#include <string.h>

#define KEYS 20000

static char *model[KEYS];
static size_t model_len[KEYS];

static void random_keys(void)
{
    hm_intern t = {0};
    uint32_t nmodel = 0;
    char key[600];
    for (int i = 0; i < 3 * KEYS; i++) {
        /* Few distinct lengths and letters: many repeats and near misses. */
        size_t len = (size_t)(check_random() % 8);
        if (check_random() % 100 == 0)
            len = 300 + (size_t)(check_random() % 290); /* a long key now and then */
        for (size_t j = 0; j < len; j++)
            key[j] = (char)('a' + check_random() % 3);
        int32_t found = -1;
        for (uint32_t m = 0; m < nmodel; m++)
            if (model_len[m] == len && memcmp(model[m], key, len) == 0)
                found = (int32_t)m;
        bool added = false;
        uint32_t id = hm_intern_put(&t, key, len, &added);
        if (found >= 0) {
            CHECK(!added);
            CHECK_EQ_I64(id, found);
        } else if (nmodel < KEYS) {
            CHECK(added);
            CHECK_EQ_I64(id, nmodel);
            model[nmodel] = malloc(len + 1);
            memcpy(model[nmodel], key, len);
            model_len[nmodel++] = len;
        }
    }
    CHECK_EQ_I64(t.count, nmodel);
    for (uint32_t m = 0; m < nmodel; m++) {
        size_t len = 0;
        const char *k = hm_intern_key(&t, m, &len);
        CHECK_EQ_I64(len, model_len[m]);
        CHECK(memcmp(k, model[m], len) == 0);
        free(model[m]);
    }
    hm_intern_free(&t);
}

static void texts(void)
{
    hm_intern t = {0};
    bool added;
    uint32_t a = hm_intern_text(&t, "load", &added);
    CHECK(added);
    uint32_t b = hm_intern_text(&t, "load_more", &added);
    CHECK(added && a != b);
    CHECK_EQ_I64(hm_intern_text(&t, "load", &added), a);
    CHECK(!added);
    uint32_t empty = hm_intern_text(&t, "", &added);
    CHECK(added && empty != a && empty != b);
    hm_intern_free(&t);
}

int main(int argc, char **argv)
{
    (void)argc;
    random_keys();
    texts();
    return check_summary(argv[0]);
}
