/*
 * test_live_table.c - the live table and its filter (hotpath/live_table.c)
 * against a model: an array of the blocks recorded, searched by brute force.
 * The filter's promise is checked on every recorded block: it never says
 * "certainly not" for a block that is recorded.
 */
#include "check.h"
#include "hotpath/live_table.h"

#include <stdlib.h>

#define OPERATIONS 300000
#define ADDRESSES 60000

typedef struct {
    uintptr_t ptr;
    uint64_t size;
    uint32_t node;
    bool live;
} model_block;

static model_block model[ADDRESSES];

static uintptr_t address(uint32_t i)
{
    return 0x7f0000000000ull + (uintptr_t)i * 48; /* aligned like malloc's blocks */
}

static void random_operations(void)
{
    CHECK(hm_live_init(false));
    size_t live = 0;
    for (int i = 0; i < OPERATIONS; i++) {
        uint32_t a = (uint32_t)(check_random() % ADDRESSES);
        model_block *m = &model[a];
        m->ptr = address(a);
        hm_live_block got;
        if (!m->live && check_random() % 3) {
            m->size = check_random() % 100000 + 1;
            m->node = (uint32_t)(check_random() % 1000);
            CHECK(hm_live_insert(m->ptr, m->size, m->node));
            m->live = true;
            live++;
        } else if (m->live) {
            CHECK(hm_live_maybe((const void *)m->ptr));
            CHECK(hm_live_take(m->ptr, &got));
            CHECK_EQ_I64(got.ptr, m->ptr);
            CHECK_EQ_I64(got.size, m->size);
            CHECK_EQ_I64(got.node, m->node);
            m->live = false;
            live--;
            if (check_random() % 10 == 0) { /* a realloc that failed puts it back */
                CHECK(hm_live_restore(&got));
                m->live = true;
                live++;
            }
        } else {
            CHECK(!hm_live_take(m->ptr, &got));
        }
        CHECK_EQ_I64(hm_live_count(), live);
    }
    unsigned missed = 0;
    for (uint32_t a = 0; a < ADDRESSES; a++)
        if (model[a].live)
            missed += !hm_live_maybe((const void *)model[a].ptr);
    CHECK_EQ_I64(missed, 0);
    /* Empty it: every record comes out once, with its values. */
    for (uint32_t a = 0; a < ADDRESSES; a++) {
        hm_live_block got;
        if (model[a].live) {
            CHECK(hm_live_take(model[a].ptr, &got));
            CHECK_EQ_I64(got.size, model[a].size);
            CHECK(!hm_live_take(model[a].ptr, &got));
        }
    }
    CHECK_EQ_I64(hm_live_count(), 0);
}

int main(int argc, char **argv)
{
    (void)argc;
    random_operations();
    return check_summary(argv[0]);
}
