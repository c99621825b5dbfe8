/*
 * malloc_hooks.c - interposed malloc family, mmap family and pthread_create
 * (the exits, exec and posix_spawn are run/process_hooks.c's).
 *
 * Owns: the exported symbols that LD_PRELOAD puts in front of libc's, and
 * the decision, per call, of who accounts for it:
 *   - hm_tls.guard set: heapmark itself is running; forward untouched;
 *   - hm_tls.in_arena: pymalloc's arena allocator; python_hooks.c accounts it;
 *   - hm_tls.in_pyalloc: inside a Python allocator call; frees of the object
 *     being freed are counted here, allocations are handed to python_hooks.c,
 *     which knows whether they are the Python object or pymalloc bookkeeping;
 *   - otherwise an ordinary native event (recorder.h).
 * Must never: lock on the unsampled path, call Python, or do bookkeeping for
 * a free after the real free (another thread may get the address at once).
 *
 * Forwarding goes to glibc's __libc_* entry points, which need no dlsym and
 * work before any constructor ran; mmap and friends go to the next
 * definition (dlsym RTLD_NEXT) or, before that is known, the system call.
 * What each path counts, and why, is docs/native-memory.md.
 */
#include "hotpath/malloc_hooks.h"
#include "hotpath/call_tree.h"
#include "hotpath/known_blocks.h"
#include "hotpath/recorder.h"
#include "hotpath/threads.h"
#include "hotpath/waiting_calls.h"

#include "common/elf_symbols.h"

#include <dlfcn.h>
#include <malloc.h>
#include <stdlib.h>
#include <errno.h>
#include <linux/magic.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);
extern void *__sbrk(intptr_t);

typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);
typedef int (*munmap_fn)(void *, size_t);
typedef void *(*mremap_fn)(void *, size_t, size_t, int, ...);
typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

/* glibc's own __libc_memalign: a sanitizer runtime interposes the global
 * name, so the run looks it up in libc (until then, the global one). */
static void *(*libc_memalign)(size_t, size_t);

static HM_FAST_PATH void *aligned(size_t alignment, size_t size)
{
    return libc_memalign ? libc_memalign(alignment, size) : __libc_memalign(alignment, size);
}

static mmap_fn real_mmap;
static munmap_fn real_munmap;
static mremap_fn real_mremap;
static pthread_create_fn real_pthread_create;

void hm_hooks_resolve_from_libc(void)
{
    void *libc = dlopen("libc.so.6", RTLD_NOLOAD | RTLD_LAZY);
    if (!libc)
        return;
    real_mmap = (mmap_fn)hm_lookup(libc, "mmap");
    real_munmap = (munmap_fn)hm_lookup(libc, "munmap");
    real_mremap = (mremap_fn)hm_lookup(libc, "mremap");
    libc_memalign = (void *(*)(size_t, size_t))hm_lookup(libc, "__libc_memalign");
    /* glibc before 2.34 keeps it in libpthread: the global definition. */
    real_pthread_create = (pthread_create_fn)hm_lookup(libc, "pthread_create");
    if (!real_pthread_create)
        real_pthread_create = (pthread_create_fn)hm_lookup(RTLD_DEFAULT, "pthread_create");
}

void hm_hooks_resolve(void)
{
    real_mmap = (mmap_fn)hm_lookup(RTLD_NEXT, "mmap");
    real_munmap = (munmap_fn)hm_lookup(RTLD_NEXT, "munmap");
    real_mremap = (mremap_fn)hm_lookup(RTLD_NEXT, "mremap");
    real_pthread_create = (pthread_create_fn)hm_lookup(RTLD_NEXT, "pthread_create");
    void *libc = dlopen("libc.so.6", RTLD_NOLOAD | RTLD_LAZY);
    if (libc)
        libc_memalign = (void *(*)(size_t, size_t))hm_lookup(libc, "__libc_memalign");
}

/* ---- malloc family ---------------------------------------------------- */

/* What malloc_usable_size returns, read from glibc's chunk header: the size
 * word before the block holds the chunk size with flags in its low 3 bits;
 * the usable part is the chunk less its 8-byte header, or less 16 for a
 * chunk that is its own mmap (flag 2).  Read directly because a sanitizer
 * runtime or another preloaded allocator may interpose malloc_usable_size
 * itself; hm_hooks_check_usable_size verifies the layout at start-up.
 * Where glibc's functions are not glibc's own (valgrind redirects them to
 * its allocator, and its blocks have no such header) heapmark asks
 * malloc_usable_size instead: slower, but true. */
enum { SIZES_UNKNOWN, SIZES_FROM_HEADER, SIZES_ASKED };
static int size_source = SIZES_UNKNOWN;

/* Out of line, once: decided at the first block, before the start-up check
 * can run - reading a header valgrind did not write is already an error.
 * getenv neither allocates nor locks; valgrind puts its own libraries in
 * front of LD_PRELOAD. */
static __attribute__((noinline)) int decide_size_source(void)
{
    const char *preload = getenv("LD_PRELOAD");
    int source = preload && strstr(preload, "/vgpreload_") ? SIZES_ASKED : SIZES_FROM_HEADER;
    __atomic_store_n(&size_source, source, __ATOMIC_RELAXED);
    return source;
}

void hm_hooks_read_environment(void)
{
    if (size_source == SIZES_UNKNOWN)
        decide_size_source();
}

static inline HM_FAST_PATH size_t usable_size(const void *p)
{
    int source = __atomic_load_n(&size_source, __ATOMIC_RELAXED);
    if (HM_UNLIKELY(source != SIZES_FROM_HEADER) &&
        (source == SIZES_ASKED || decide_size_source() == SIZES_ASKED))
        return malloc_usable_size((void *)p);
    size_t head = ((const size_t *)p)[-1];
    return (head & ~(size_t)7) - ((head & 2) ? 16 : 8);
}

static const size_t probe_sizes[] = {1, 24, 100, 1000, 70000, 300000, 5u << 20};

/* Whether usable_size agrees with libc's malloc_usable_size for blocks of
 * every probe size (exact), or libc's gives at least the size asked for. */
static bool usable_sizes_agree(size_t (*libc_usable)(void *), bool exact)
{
    bool ok = true;
    for (size_t i = 0; i < HM_ARRAY_LEN(probe_sizes); i++) {
        size_t n = probe_sizes[i];
        void *p = __libc_malloc(n);
        void *q = aligned(4096, n);
        if (exact) {
            ok &= !p || usable_size(p) == libc_usable(p);
            ok &= !q || usable_size(q) == libc_usable(q);
        } else {
            ok &= !p || libc_usable(p) >= n;
            ok &= !q || libc_usable(q) >= n;
        }
        __libc_free(p);
        __libc_free(q);
    }
    return ok;
}

bool hm_hooks_check_usable_size(void)
{
    void *libc = dlopen("libc.so.6", RTLD_NOLOAD | RTLD_LAZY);
    size_t (*libc_usable)(void *) =
        libc ? (size_t(*)(void *))hm_lookup(libc, "malloc_usable_size") : NULL;
    if (!libc_usable)
        return false;
    if (size_source != SIZES_ASKED && usable_sizes_agree(libc_usable, true)) {
        size_source = SIZES_FROM_HEADER;
        return true;
    }
    if (!usable_sizes_agree(libc_usable, false))
        return false;
    size_source = SIZES_ASKED;
    return true;
}

/* Out of line: an allocation of `size` bytes failed; the caller still gets
 * its NULL. */
static __attribute__((noinline)) void on_failure(size_t size)
{
    if (size && !hm_tls.guard)
        hm_alarm_allocation_failed(size);
}

static inline HM_FAST_PATH void on_alloc(void *p)
{
    hm_tls_t *t = &hm_tls;
    if (HM_UNLIKELY(t->guard | t->in_arena) || !p)
        return;
    hm_known_add(p);
    size_t usable = usable_size(p);
    if (t->in_pyalloc && t->nested_count < HM_MAX_NESTED) {
        t->nested[t->nested_count++] = (hm_nested_alloc){p, usable};
        return;
    }
    hm_account_alloc(p, usable);
}

/* Whether the native block [p, p + usable) holds the Python object being
 * freed (equal addresses, or inside under PYTHONMALLOC's debug wrapper). */
static inline HM_FAST_PATH bool holds_py_freeing(const hm_tls_t *t, const void *p, size_t usable)
{
    return t->py_freeing && (uintptr_t)t->py_freeing - (uintptr_t)p < usable;
}

/* A block allocated before an in-process start (known_blocks.h) is released
 * with no bytes counted; its record, if it has one (a code object's
 * marker), still goes. */
static inline HM_FAST_PATH void on_free(void *p)
{
    hm_tls_t *t = &hm_tls;
    size_t usable = usable_size(p);
    size_t counted = HM_LIKELY(hm_known_take(p)) ? usable : 0;
    if (holds_py_freeing(t, p, usable)) {
        /* The block of a Python object being freed: its record, if any, is
         * under the object's address (inside the block, under a debug
         * wrapper). */
        t->py_released = HM_RELEASED_RAW;
        hm_account_free(t->py_freeing, counted);
    } else {
        hm_account_free(p, counted);
    }
}

HM_EXPORT HM_FAST_PATH void *malloc(size_t size)
{
    void *p = __libc_malloc(size);
    if (HM_UNLIKELY(!p))
        on_failure(size);
    on_alloc(p);
    return p;
}

HM_EXPORT HM_FAST_PATH void *calloc(size_t n, size_t size)
{
    void *p = __libc_calloc(n, size);
    if (HM_UNLIKELY(!p))
        on_failure(n * size);
    on_alloc(p);
    return p;
}

HM_EXPORT HM_FAST_PATH void free(void *p)
{
    if (!p)
        return;
    hm_tls_t *t = &hm_tls;
    if (HM_LIKELY(!(t->guard | t->in_arena)))
        on_free(p);
    __libc_free(p);
}

HM_EXPORT HM_FAST_PATH void *realloc(void *p, size_t size)
{
    if (!p)
        return malloc(size);
    hm_tls_t *t = &hm_tls;
    if (HM_UNLIKELY(t->guard | t->in_arena))
        return __libc_realloc(p, size);
    /* Bookkeeping first: a moved block's old address is free for others the
     * moment realloc returns.  On failure the old block is put back. */
    size_t usable = usable_size(p);
    bool object = holds_py_freeing(t, p, usable);
    bool known = hm_known_take(p);
    size_t old = known ? usable : 0;
    void *recorded_as = object ? t->py_freeing : p; /* see on_free */
    hm_taken taken;
    bool locked = hm_recording() && hm_live_maybe(recorded_as);
    if (locked)
        hm_record_take(recorded_as, old, &taken);
    void *q = __libc_realloc(p, size);
    if (!q && size != 0) {
        if (locked)
            hm_record_restore(&taken);
        if (known)
            hm_known_add(p);
        on_failure(size);
        return NULL;
    }
    if (object)
        t->py_released = HM_RELEASED_RAW;
    if (!locked)
        hm_tracked_add(-(int64_t)old);
    on_alloc(q);
    return q;
}

HM_EXPORT HM_FAST_PATH void *reallocarray(void *p, size_t n, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, bytes);
}

HM_EXPORT HM_FAST_PATH void *memalign(size_t alignment, size_t size)
{
    void *p = aligned(alignment, size);
    if (HM_UNLIKELY(!p))
        on_failure(size);
    on_alloc(p);
    return p;
}

HM_EXPORT HM_FAST_PATH void *aligned_alloc(size_t alignment, size_t size)
{
    if (alignment == 0 || (alignment & (alignment - 1))) {
        errno = EINVAL;
        return NULL;
    }
    return memalign(alignment, size);
}

HM_EXPORT HM_FAST_PATH int posix_memalign(void **out, size_t alignment, size_t size)
{
    if (alignment % sizeof(void *) || (alignment & (alignment - 1)) || alignment == 0)
        return EINVAL;
    int saved_errno = errno;
    void *p = aligned(alignment, size);
    if (!p) {
        on_failure(size);
        errno = saved_errno;
        return ENOMEM;
    }
    on_alloc(p);
    *out = p;
    return 0;
}

HM_EXPORT HM_FAST_PATH void *valloc(size_t size)
{
    void *p = __libc_valloc(size);
    on_alloc(p);
    return p;
}

HM_EXPORT HM_FAST_PATH void *pvalloc(size_t size)
{
    void *p = __libc_pvalloc(size);
    on_alloc(p);
    return p;
}

/* ---- mmap family ------------------------------------------------------- */

#define PAGE_ROUND(n) (((n) + 4095) & ~(size_t)4095)

static HM_FAST_PATH bool tracked_mapping(int prot, int flags)
{
    /* Anonymous memory the program can use; PROT_NONE reservations hold no
     * memory and are left out. */
    return (flags & MAP_ANONYMOUS) && prot != PROT_NONE;
}

/* Whether fd is a regular file whose pages are RAM and nothing else: tmpfs
 * (memfd_create, shm_open and /dev/shm, a tmpfs /tmp), hugetlbfs, ramfs.
 * A device node (/dev/zero, a GPU's or a frame buffer's) lives on devtmpfs
 * but maps the device, hence the regular-file check.  Two system calls: only
 * a writable shared mapping of a file comes here, which is rare; errno is
 * the program's and stays as mmap left it. */
static __attribute__((noinline)) bool file_in_memory(int fd)
{
    int saved_errno = errno;
    struct stat st;
    struct statfs fs;
    bool in_memory =
        syscall(SYS_fstat, fd, &st) == 0 && S_ISREG(st.st_mode) &&
        syscall(SYS_fstatfs, fd, &fs) == 0 &&
        (fs.f_type == TMPFS_MAGIC || fs.f_type == HUGETLBFS_MAGIC || fs.f_type == RAMFS_MAGIC);
    errno = saved_errno;
    return in_memory;
}

/* A writable MAP_SHARED mapping of a file in memory is counted at its length,
 * as an anonymous mapping is: it is memory the program works in (the kernel
 * backs MAP_SHARED | MAP_ANONYMOUS with the same shmem files).  Each mapping
 * counts, so the same memfd mapped twice writable counts twice.  Not counted:
 * read-only views (the memory is the file's, filled by whoever wrote it),
 * mappings of files on disk (page cache the kernel writes back and drops),
 * and MAP_PRIVATE file mappings (what they hold is the pages the program
 * wrote since, which only the kernel knows). */
static HM_FAST_PATH bool shared_memory_mapping(int prot, int flags, int fd)
{
    return fd >= 0 && !(flags & MAP_ANONYMOUS) && (flags & MAP_TYPE) != MAP_PRIVATE &&
           (prot & PROT_WRITE) && file_in_memory(fd);
}

static HM_FAST_PATH void *call_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    if (real_mmap)
        return real_mmap(addr, len, prot, flags, fd, off);
    long r = syscall(SYS_mmap, addr, len, prot, flags, fd, off);
    return (r < 0 && r > -4096) ? MAP_FAILED : (void *)r;
}

static HM_FAST_PATH bool mmap_is_ours(void)
{
    hm_tls_t *t = &hm_tls;
    return !(t->guard | t->in_arena);
}

HM_EXPORT HM_FAST_PATH void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    if (!mmap_is_ours())
        return call_mmap(addr, len, prot, flags, fd, off);
    if (flags & MAP_FIXED) {
        /* A fixed mapping replaces whatever was there. */
        hm_record_unmap((uintptr_t)addr, PAGE_ROUND(len));
    }
    void *p = call_mmap(addr, len, prot, flags, fd, off);
    if (p == MAP_FAILED && tracked_mapping(prot, flags))
        on_failure(len);
    if (p != MAP_FAILED &&
        (tracked_mapping(prot, flags) || HM_UNLIKELY(shared_memory_mapping(prot, flags, fd))))
        hm_record_map((uintptr_t)p, PAGE_ROUND(len));
    return p;
}

HM_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return mmap(addr, len, prot, flags, fd, off);
}

HM_EXPORT HM_FAST_PATH int munmap(void *addr, size_t len)
{
    if (mmap_is_ours())
        hm_record_unmap((uintptr_t)addr, PAGE_ROUND(len));
    if (real_munmap)
        return real_munmap(addr, len);
    return (int)syscall(SYS_munmap, addr, len);
}

HM_EXPORT HM_FAST_PATH void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
    void *wanted = NULL;
    if (flags & MREMAP_FIXED) {
        va_list ap;
        va_start(ap, flags);
        wanted = va_arg(ap, void *);
        va_end(ap);
    }
    if (!real_mremap)
        hm_hooks_resolve();
    if (!mmap_is_ours() || !real_mremap)
        return real_mremap ? real_mremap(old, old_len, new_len, flags, wanted) : MAP_FAILED;
    void *p = real_mremap(old, old_len, new_len, flags, wanted);
    if (p == MAP_FAILED)
        return p;
    /* Treated as a free of the old range and a new mapping made here, as a
     * realloc is; only a range heapmark tracked stays tracked. */
    if (hm_record_unmap((uintptr_t)old, PAGE_ROUND(old_len)) > 0)
        hm_record_map((uintptr_t)p, PAGE_ROUND(new_len));
    return p;
}

/* ---- the program break ------------------------------------------------- */

/* Moving the break is counted as mapping or unmapping the bytes it moved
 * over, at the caller's stack: growth is memory the program asked the kernel
 * for, as with an anonymous mmap.  Only the program's own calls arrive here:
 * glibc's malloc grows and trims its main heap through an internal __sbrk
 * call that no interposed name sees, and those blocks are counted as
 * malloc's.  A shrink takes off only ranges heapmark counted (hm_maps), so
 * the break coming down over older memory changes nothing. */
static HM_FAST_PATH void break_moved(uintptr_t old_end, uintptr_t new_end)
{
    if (new_end > old_end)
        hm_record_map(old_end, new_end - old_end);
    else if (new_end < old_end)
        hm_record_unmap(new_end, old_end - new_end);
}

/* glibc's __sbrk is exported, as __libc_malloc is: no dlsym, and it works
 * before any constructor ran.  brk goes through it too: glibc's brk is only
 * reachable by a lookup, and sbrk by the difference is the same call (it
 * keeps glibc's record of the break, __curbrk, as brk does). */
HM_EXPORT HM_FAST_PATH void *sbrk(intptr_t increment)
{
    void *old = __sbrk(increment);
    if (old == (void *)-1 && increment > 0)
        on_failure((size_t)increment); /* the out-of-memory report, as for malloc */
    if (old != (void *)-1 && increment != 0 && mmap_is_ours())
        break_moved((uintptr_t)old, (uintptr_t)old + (uintptr_t)increment);
    return old;
}

HM_EXPORT HM_FAST_PATH int brk(void *end)
{
    void *old = __sbrk(0);
    if (old == (void *)-1 || __sbrk((intptr_t)((uintptr_t)end - (uintptr_t)old)) == (void *)-1)
        return -1;
    if (mmap_is_ours())
        break_moved((uintptr_t)old, (uintptr_t)end);
    return 0;
}

/* ---- threads ----------------------------------------------------------- */

typedef struct {
    void *(*start)(void *);
    void *arg;
    uint32_t base;
} thread_start;

/* The record goes back to the free list but stays this thread's: thread-local
 * destructors run after the start routine returns and may still allocate.
 * Sharing a record is safe (it is only used under the recorder lock and its
 * stack cache is checked against each walk); at worst such a late allocation
 * is credited to the base of the thread that took the record over. */
/* Each thread the program starts gets an alternate signal stack of its own
 * (heapmark's memory, not counted), so that a crash handler (run/crash.c)
 * can still run when the thread's stack overflowed. */
#define THREAD_ALT_STACK (64 * 1024)

static void *alt_stack_open(void)
{
    void *p = call_mmap(NULL, THREAD_ALT_STACK, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    stack_t ss = {.ss_sp = p, .ss_size = THREAD_ALT_STACK, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) {
        syscall(SYS_munmap, p, THREAD_ALT_STACK);
        return NULL;
    }
    return p;
}

static void alt_stack_close(void *p)
{
    if (!p)
        return;
    stack_t ss = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
    syscall(SYS_munmap, p, THREAD_ALT_STACK);
}

static HM_FAST_PATH void thread_finished(void *alt_stack)
{
    hm_tls_t *t = &hm_tls;
    hm_waiting_thread_exit();
    if (t->thread) {
        hm_lock();
        hm_thread_release(t->thread);
        hm_unlock();
    }
    alt_stack_close(alt_stack);
}

static HM_FAST_PATH void *thread_trampoline(void *arg)
{
    thread_start s = *(thread_start *)arg;
    __libc_free(arg);
    if (s.base != HM_NONE) {
        hm_lock();
        struct hm_thread *th = hm_thread_current();
        if (th)
            th->base = s.base;
        hm_unlock();
    }
    void *result;
    pthread_cleanup_push(thread_finished, alt_stack_open());
    result = s.start(s.arg);
    pthread_cleanup_pop(1);
    return result;
}

HM_EXPORT HM_FAST_PATH int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                                          void *(*start)(void *), void *arg)
{
    if (!real_pthread_create)
        hm_hooks_resolve();
    if (!hm_recording() || hm_tls.guard)
        return real_pthread_create(thread, attr, start, arg);
    /* The start record comes from the real allocator, outside the tracked
     * totals: it is heapmark's, and freed by the new thread. */
    thread_start *s = __libc_malloc(sizeof *s);
    if (!s)
        return real_pthread_create(thread, attr, start, arg);
    *s = (thread_start){start, arg, hm_record_thread_base()};
    int rc = real_pthread_create(thread, attr, thread_trampoline, s);
    if (rc != 0)
        __libc_free(s);
    return rc;
}

/* ---- the hooks by name ------------------------------------------------- */

#define HIDDEN_ALIAS(name) \
    extern __typeof__(name) hm_hook_##name __attribute__((alias(#name), visibility("hidden")));
HIDDEN_ALIAS(malloc)
HIDDEN_ALIAS(calloc)
HIDDEN_ALIAS(realloc)
HIDDEN_ALIAS(reallocarray)
HIDDEN_ALIAS(free)
HIDDEN_ALIAS(memalign)
HIDDEN_ALIAS(aligned_alloc)
HIDDEN_ALIAS(posix_memalign)
HIDDEN_ALIAS(valloc)
HIDDEN_ALIAS(pvalloc)
HIDDEN_ALIAS(mmap)
HIDDEN_ALIAS(mmap64)
HIDDEN_ALIAS(munmap)
HIDDEN_ALIAS(mremap)
HIDDEN_ALIAS(sbrk)
HIDDEN_ALIAS(brk)
HIDDEN_ALIAS(pthread_create)
#undef HIDDEN_ALIAS

#define ENTRY(name)                   \
    {                                 \
#        name, (void *)hm_hook_##name \
    }
const hm_hook_entry hm_native_hooks[] = {
    ENTRY(malloc),         ENTRY(calloc),   ENTRY(realloc),       ENTRY(reallocarray),
    ENTRY(free),           ENTRY(memalign), ENTRY(aligned_alloc), ENTRY(posix_memalign),
    ENTRY(valloc),         ENTRY(pvalloc),  ENTRY(mmap),          ENTRY(mmap64),
    ENTRY(munmap),         ENTRY(mremap),   ENTRY(sbrk),          ENTRY(brk),
    ENTRY(pthread_create),
};
#undef ENTRY
const size_t hm_native_hook_count = HM_ARRAY_LEN(hm_native_hooks);
