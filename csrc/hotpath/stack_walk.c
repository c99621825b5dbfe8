/*
 * stack_walk.c - reading the current thread's Python stack from inside a hook.
 *
 * Owns: the per-version frame walk, the code descriptor table, the
 * (code, instruction) -> frame cache and the per-thread prefix cache.
 * Must never: call Python API that allocates (PyEval_GetFrame and
 * PyFrame_GetBack materialise frame objects; PyUnicode_AsUTF8 caches an
 * encoding), take a reference, or hold a pointer to a code object past its
 * deallocation (descriptors copy the names out; the code's allocation is
 * marked in the live table so its free retires the descriptor).
 *
 * Why a thread's stack is safe to read without the GIL: only the thread
 * itself pushes and pops its frames, and a thread inside malloc is not
 * executing bytecode.  A thread running C code with the GIL released keeps
 * its frame chain, which is how numpy work gets the Python line that called
 * it.  Interpreter shutdown frees daemon threads' states while they may
 * still run C code, so walks stop before that (hm_pystack_stop, called from
 * the atexit hook, which runs before finalisation starts) and never start
 * while the runtime reports finalisation.
 */
#include <Python.h>
#if PY_VERSION_HEX >= 0x030b0000
#    ifndef Py_BUILD_CORE
#        define Py_BUILD_CORE 1
#    endif
#    include <internal/pycore_frame.h>
#endif
#include <frameobject.h>

#include "common/pyframes.h"
#include "hotpath/stack_walk.h"
#include "hotpath/call_tree.h"
#include "common/hashmap.h"
#include "hotpath/live_table.h"
#include "common/ownmem.h"
#include "hotpath/python_hooks.h"
#include "hotpath/threads.h"
#include "hotpath/waiting_calls.h"

#include <string.h>

/* Weak for the same reason as in _heapmark.c: the library must load into any
 * process the preload reaches. */
#pragma weak PyCode_Type

static hm_code *codes;
static uint32_t code_count;
static size_t code_cap;
static hm_map code_index;        /* code object address -> descriptor */
static hm_map instr_index;       /* (descriptor << 32 | instruction) -> frame */
static uint64_t code_generation; /* bumped when a descriptor retires */
static uint32_t pseudo_frames[HM_PSEUDO_COUNT];
static bool stacks_enabled = true;

static const char *const pseudo_names[HM_PSEUDO_COUNT] = {
    [HM_PSEUDO_PYMALLOC_FREE] = "[pymalloc free space]",
    [HM_PSEUDO_NO_PYTHON] = "[no Python frame]",
    [HM_PSEUDO_THREAD] = "[thread]",
    [HM_PSEUDO_TRUNCATED] = "[stack truncated]",
    [HM_PSEUDO_STARTUP] = "[before profiling started]",
};

static uint32_t new_code(void)
{
    if (!hm_own_grow((void **)&codes, &code_cap, code_count, sizeof *codes, (size_t)code_count + 1,
                     1024))
        return HM_NONE;
    return code_count++;
}

bool hm_pystack_init(void)
{
    if (code_count)
        return true;
    if (new_code() != 0) /* id 0 is never used: keeps map keys non-zero */
        return false;
    for (int i = 0; i < HM_PSEUDO_COUNT; i++) {
        uint32_t id = new_code();
        if (id == HM_NONE)
            return false;
        codes[id] = (hm_code){NULL, pseudo_names[i], "", 0};
        pseudo_frames[i] = hm_frame_intern(id, 0);
        if (pseudo_frames[i] == HM_NONE)
            return false;
    }
    return true;
}

uint32_t hm_native_code(uintptr_t ip)
{
    uint32_t id = new_code();
    if (id != HM_NONE)
        codes[id] = (hm_code){.function = "", .file = "", .native_ip = ip};
    return id;
}

uint32_t hm_pseudo_frame(hm_pseudo which)
{
    return pseudo_frames[which];
}
uint32_t hm_code_count(void)
{
    return code_count;
}
const hm_code *hm_code_get(uint32_t id)
{
    return &codes[id];
}

void hm_pystack_stop(void)
{
    stacks_enabled = false;
}

void hm_pystack_restart(void)
{
    /* The live table that marked code objects was cleared: forget which
     * descriptor stands for which address (new ones are made on demand), so
     * that a code object freed unseen cannot lend its name to another. */
    hm_map_free(&code_index);
    hm_map_free(&instr_index);
    code_generation++;
    stacks_enabled = true;
}

void hm_code_freed(uintptr_t ptr)
{
    uint32_t id = hm_map_get(&code_index, (uint64_t)ptr);
    if (id != HM_NONE && id < code_count && codes[id].ptr == (const void *)ptr) {
        codes[id].ptr = NULL;
        code_generation++;
    }
}

/* UTF-8 copy of a str into ownmem without any Python API call. */
static const char *copy_str(PyObject *s)
{
    if (!s || !PyUnicode_Check(s))
        return "?";
    Py_ssize_t len = PyUnicode_GET_LENGTH(s);
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    if (len > 4096)
        len = 4096;
    char *out = hm_own_bump((size_t)len * 4 + 1);
    if (!out)
        return "?";
    char *o = out;
    for (Py_ssize_t i = 0; i < len; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c < 0x80) {
            *o++ = (char)c;
        } else if (c < 0x800) {
            *o++ = (char)(0xC0 | (c >> 6));
            *o++ = (char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            if (c >= 0xD800 && c <= 0xDFFF)
                c = 0xFFFD; /* lone surrogate (surrogateescape'd file name) */
            *o++ = (char)(0xE0 | (c >> 12));
            *o++ = (char)(0x80 | ((c >> 6) & 0x3F));
            *o++ = (char)(0x80 | (c & 0x3F));
        } else {
            *o++ = (char)(0xF0 | (c >> 18));
            *o++ = (char)(0x80 | ((c >> 12) & 0x3F));
            *o++ = (char)(0x80 | ((c >> 6) & 0x3F));
            *o++ = (char)(0x80 | (c & 0x3F));
        }
    }
    *o = '\0';
    return out;
}

static uint32_t code_descriptor(PyCodeObject *co)
{
#if PY_VERSION_HEX >= 0x030b0000
    PyObject *name = co->co_qualname;
#else
    PyObject *name = co->co_name;
#endif
    uint32_t id = hm_map_get(&code_index, (uint64_t)(uintptr_t)co);
    if (id != HM_NONE && codes[id].ptr == co) {
        if (codes[id].name_obj == name && codes[id].file_obj == co->co_filename &&
            codes[id].first_line == co->co_firstlineno)
            return id;
        /* Another code object at a freed one's address, whose free heapmark
         * did not see (it went past the hooks, as while PYTHONMALLOC's
         * allocator stands in for them at start-up): retire the old one. */
        codes[id].ptr = NULL;
        code_generation++;
    }
    id = new_code();
    if (id == HM_NONE)
        return HM_NONE;
    codes[id] = (hm_code){co,   copy_str(name), copy_str(co->co_filename), co->co_firstlineno,
                          name, co->co_filename};
    if (!hm_map_put(&code_index, (uint64_t)(uintptr_t)co, id))
        return HM_NONE;
    /* When this allocation is freed the descriptor retires, so a new code
     * object at the same address gets its own descriptor.  Code objects carry
     * no GC header or pre-header on 3.9-3.13, so the object's address is the
     * allocation's. */
    if (!PyType_IS_GC(Py_TYPE(co)))
        hm_pyhooks_mark_code(co);
    return id;
}

static uint32_t frame_for(PyCodeObject *co, int32_t instr)
{
    uint32_t code = code_descriptor(co);
    if (code == HM_NONE)
        return HM_NONE;
    uint64_t key = ((uint64_t)code << 32) | (uint32_t)instr;
    uint32_t frame = hm_map_get(&instr_index, key);
    if (frame != HM_NONE)
        return frame;
#if PY_VERSION_HEX >= 0x030a0000
    int byte_offset = instr < 0 ? -1 : instr * (int)sizeof(_Py_CODEUNIT);
#else
    int byte_offset = instr;
#endif
    int line = PyCode_Addr2Line(co, byte_offset);
    frame = hm_frame_intern(code, line);
    if (frame != HM_NONE)
        hm_map_put(&instr_index, key, frame);
    return frame;
}

static int32_t position_lasti(PyCodeObject *co, uintptr_t pos)
{
#if PY_VERSION_HEX >= 0x030b0000
    return hm_position_lasti(co, pos);
#else
    (void)co;
    return (int32_t)pos;
#endif
}

/* The child of `parent` for the frame of co at pos: from the thread's memo
 * when the same call was seen under the same parent (a loop allocating at a
 * few lines asks for the same few children), else from the code and frame
 * tables and the tree.  HM_NONE when out of memory. */
static uint32_t child_for(struct hm_thread *th, uint32_t parent, PyCodeObject *co, uintptr_t pos)
{
    if (th->memo_generation != code_generation) {
        memset(th->memo, 0, sizeof th->memo);
        th->memo_generation = code_generation;
    }
    hm_child_memo *m =
        &th->memo[(((uintptr_t)co >> 4) ^ (pos >> 1) ^ ((uintptr_t)parent * 0x9E37u)) &
                  (HM_CHILD_MEMO - 1)];
    if (m->code == co && m->pos == pos && m->parent == parent)
        return m->child;
    uint32_t frame = frame_for(co, position_lasti(co, pos));
    uint32_t child = frame == HM_NONE ? HM_NONE : hm_tree_child(parent, frame);
    if (child != HM_NONE)
        *m = (hm_child_memo){co, pos, parent, child};
    return child;
}

static bool runtime_finalizing(void)
{
#if PY_VERSION_HEX >= 0x030d0000
    return Py_IsFinalizing();
#else
    return _Py_IsFinalizing();
#endif
}

/* Whether (code, pos), met at index n of a walk (leaf first), is the frame
 * cached at the same depth if the stack is as deep as last time (`cached`
 * frames); *j: that depth, root first (past the root if none). */
static inline bool seen_before(const struct hm_thread *th, uint32_t n, const void *code,
                               uintptr_t pos, uint32_t cached, uint32_t *j)
{
    *j = cached - 1 - n; /* wraps past the root: no cached frame there */
    return *j < cached && th->cache[*j].code == code && th->cache[*j].pos == pos;
}

/* Fills th->walk_* leaf first; returns the number of frames.  *diverge is
 * lowered to the first depth, root first, where a frame differs from the
 * cached one at the same depth (see seen_before).
 *
 * A frame that matches is known to run code and to be complete: the cache
 * holds only such frames, and both follow from its code and position (a
 * frame is incomplete while its position is before its code's first
 * traceable instruction; an entry frame's code never runs), so only the
 * others are tested. */
static uint32_t walk(struct hm_thread *th, PyThreadState *ts, bool *truncated, uint32_t cached,
                     uint32_t *diverge)
{
    uint32_t n = 0, j;
#if PY_VERSION_HEX >= 0x030b0000
    for (_PyInterpreterFrame *f = hm_innermost_frame(ts); f; f = f->previous) {
        const void *code = hm_frame_code(f);
        uintptr_t pos = hm_frame_position(f);
        if (!seen_before(th, n, code, pos, cached, &j)) {
            if (!hm_frame_runs_code(f) || _PyFrame_IsIncomplete(f))
                continue;
            if (j < cached)
                *diverge = j;
        }
        if (n == HM_MAX_DEPTH) {
            *truncated = true;
            break;
        }
        th->walk_code[n] = code;
        th->walk_pos[n] = pos;
        n++;
    }
#else
    for (PyFrameObject *f = ts->frame; f; f = f->f_back) {
        if (n == HM_MAX_DEPTH) {
            *truncated = true;
            break;
        }
        uintptr_t pos = (uintptr_t)(uint32_t)f->f_lasti;
        if (!seen_before(th, n, f->f_code, pos, cached, &j) && j < cached)
            *diverge = j;
        th->walk_code[n] = f->f_code;
        th->walk_pos[n] = pos;
        n++;
    }
#endif
    return n;
}

/* The node of ts's Python stack, walked with th's scratch and prefix
 * cache; HM_NONE if ts has no Python frame.
 *
 * Consecutive records of a thread share most of their stack: the nodes of
 * the longest common prefix (root first) with the last walk are reused.
 * The walk itself compares each frame with the cached one at the same
 * depth, assuming the depth did not change (a loop allocating in one
 * function), so then no second pass is needed; the cost per frame is two
 * loads and two compares, and only the frames past the common prefix (the
 * leaf, mostly) are looked up, through the thread's memo. */
static uint32_t python_node(struct hm_thread *th, PyThreadState *ts)
{
    bool truncated = false;
    uint32_t cached = th->cache_generation == code_generation ? th->cache_depth : 0;
    uint32_t diverge = cached;
    uint32_t n = walk(th, ts, &truncated, cached, &diverge);
    if (n == 0)
        return HM_NONE;
    uint32_t root =
        truncated ? hm_tree_child(HM_ROOT, pseudo_frames[HM_PSEUDO_TRUNCATED]) : HM_ROOT;
    if (root == HM_NONE)
        return HM_ROOT;

    uint32_t same = 0;
    if (th->cache_root == root && cached) {
        if (n == cached) {
            same = diverge;
        } else {
            uint32_t limit = n < cached ? n : cached;
            while (same < limit && th->cache[same].code == th->walk_code[n - 1 - same] &&
                   th->cache[same].pos == th->walk_pos[n - 1 - same])
                same++;
        }
    }
    uint32_t node = same ? th->cache[same - 1].node : root;
    uint32_t depth = same;
    for (; depth < n; depth++) {
        PyCodeObject *co = (PyCodeObject *)th->walk_code[n - 1 - depth];
        uintptr_t pos = th->walk_pos[n - 1 - depth];
        uint32_t child = child_for(th, node, co, pos);
        if (child == HM_NONE)
            break; /* out of memory: attribute to the caller */
        node = child;
        th->cache[depth] = (hm_cached_frame){co, pos, node};
    }
    th->cache_depth = depth;
    th->cache_root = root;
    th->cache_generation = code_generation;
    return node;
}

/* A thread with no Python state (a native thread): the stack of the Python
 * thread waiting in the call that most likely handed it its work
 * (waiting_calls.h), with [thread] under it; HM_NONE if none waits. */
static uint32_t lent_node(struct hm_thread *th)
{
    hm_waiting_loan loan;
    if (!hm_waiting_borrow(&loan))
        return HM_NONE;
    uint32_t node = python_node(th, (PyThreadState *)loan.tstate);
    hm_waiting_return(&loan);
    if (node == HM_NONE)
        return HM_NONE;
    return hm_tree_child(node, pseudo_frames[HM_PSEUDO_THREAD]);
}

uint32_t hm_stack_node(void)
{
    struct hm_thread *th = hm_thread_current();
    if (!th)
        return HM_ROOT;
    PyThreadState *ts = NULL;
    bool walkable = stacks_enabled && !runtime_finalizing();
    if (walkable) {
#if PY_VERSION_HEX >= 0x030c0000
        /* A thread-local read on 3.12+: this thread's state while it holds
         * the GIL (NULL otherwise: then its gilstate one, detached). */
        ts = _PyThreadState_UncheckedGet();
        if (!ts)
#endif
            ts = PyGILState_GetThisThreadState();
    }
    uint32_t node = ts ? python_node(th, ts) : HM_NONE;
    if (node != HM_NONE)
        return node;
    if (!ts && walkable) {
        node = lent_node(th);
        if (node != HM_NONE)
            return node;
    }
    if (!th->base)
        th->base = hm_tree_child(HM_ROOT, pseudo_frames[HM_PSEUDO_NO_PYTHON]);
    return th->base == HM_NONE ? HM_ROOT : th->base;
}
