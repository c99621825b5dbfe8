/*
 * native_stack.c - native frames under the Python stack (see native_stack.h).
 *
 * Owns: the configured unwinder and code ranges, the filter over a raw
 * unwind, and the return address -> frame index.
 * Must never: call the unwinder with the recorder lock held (libunwind
 * reads the loader's object list under the loader's lock, which a thread
 * inside dlopen holds while it allocates and so may wait for ours), or keep
 * a frame for an address it was not given.
 */
#include "hotpath/native_stack.h"
#include "hotpath/call_tree.h"
#include "hotpath/stack_walk.h"
#include "common/hashmap.h"

#define MAX_RANGES 16

hm_unwind_fn hm_native_unwinder;
static hm_code_range own_ranges[MAX_RANGES], interpreter_ranges[MAX_RANGES];
static hm_code_range eval_range; /* _PyEval_EvalFrameDefault */
static size_t own_count, interpreter_count;
static hm_map frame_of_address; /* return address -> frame */

void hm_native_configure(hm_unwind_fn unwinder, const hm_code_range *own, size_t nown,
                         const hm_code_range *interpreter, size_t ninterpreter,
                         hm_code_range eval_loop)
{
    eval_range = eval_loop;
    own_count = nown < MAX_RANGES ? nown : MAX_RANGES;
    interpreter_count = ninterpreter < MAX_RANGES ? ninterpreter : MAX_RANGES;
    for (size_t i = 0; i < own_count; i++)
        own_ranges[i] = own[i];
    for (size_t i = 0; i < interpreter_count; i++)
        interpreter_ranges[i] = interpreter[i];
    __atomic_store_n(&hm_native_unwinder, unwinder, __ATOMIC_RELEASE);
}

static bool in_ranges(const hm_code_range *r, size_t n, uintptr_t ip)
{
    for (size_t i = 0; i < n; i++)
        if (ip - r[i].lo < r[i].hi - r[i].lo)
            return true;
    return false;
}

/* The kept frames of raw[0..n), innermost first, into ips; *settled: the
 * unwind reached where the kept frames end (the eval loop, or the
 * interpreter above kept frames), so that a deeper unwind would change
 * nothing. */
static int keep_frames(void *const *raw, int n, uintptr_t *ips, bool *settled)
{
    int kept = 0;
    bool skipped_interpreter = false; /* interpreter frames inside the kept ones */
    *settled = true;
    for (int i = 0; i < n && kept < HM_NATIVE_MAX; i++) {
        uintptr_t ip = (uintptr_t)raw[i];
        if (in_ranges(own_ranges, own_count, ip))
            continue;
        if (in_ranges(&eval_range, 1, ip))
            return kept;
        if (in_ranges(interpreter_ranges, interpreter_count, ip)) {
            if (kept)
                return kept; /* the interpreter called the kept frames */
            skipped_interpreter = true;
            continue;
        }
        ips[kept++] = ip;
    }
    *settled = kept == HM_NATIVE_MAX;
    /* The stack's outermost frames, with the interpreter between them and
     * the allocation: main()'s callers in libc, below an allocation of the
     * interpreter's own.  A native thread's stack has no interpreter frame. */
    return skipped_interpreter ? 0 : kept;
}

int hm_native_unwind(uintptr_t *ips)
{
    hm_unwind_fn unwind = __atomic_load_n(&hm_native_unwinder, __ATOMIC_ACQUIRE);
    if (!unwind)
        return 0;
    /* Most unwinds meet the eval loop within a few dozen frames, while the
     * whole C stack of a deep Python program is longer (on 3.9 and 3.10
     * every Python call nests C frames): a short unwind first, and the
     * long one only when the short one did not settle. */
    void *raw[HM_NATIVE_RAW];
    bool settled;
    int n = unwind(raw, HM_NATIVE_SHORT);
    int kept = keep_frames(raw, n, ips, &settled);
    if (settled || n < HM_NATIVE_SHORT)
        return kept;
    n = unwind(raw, HM_NATIVE_RAW);
    return keep_frames(raw, n, ips, &settled);
}

static uint32_t frame_for(uintptr_t ip)
{
    uint32_t frame = hm_map_get(&frame_of_address, (uint64_t)ip);
    if (frame != HM_NONE)
        return frame;
    uint32_t code = hm_native_code(ip);
    frame = code == HM_NONE ? HM_NONE : hm_frame_intern(code, 0);
    if (frame != HM_NONE && !hm_map_put(&frame_of_address, (uint64_t)ip, frame))
        return HM_NONE;
    return frame;
}

uint32_t hm_native_extend(uint32_t node, const uintptr_t *ips, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        uint32_t frame = frame_for(ips[i]);
        uint32_t child = frame == HM_NONE ? HM_NONE : hm_tree_child(node, frame);
        if (child == HM_NONE)
            break;
        node = child;
    }
    return node;
}
