/*
 * relocations.c - redirecting loaded objects' calls into the hooks (see
 * relocations.h).
 *
 * Owns: one pass over the loaded objects (dl_iterate_phdr) that reads each
 * object's dynamic section, and for every GLOB_DAT or JUMP_SLOT relocation
 * of a hooked name swaps the slot between glibc's function and the hook; the
 * table of slots changed and what they held; and the dlopen hook that runs
 * the pass again for what a dlopen brought in.
 * Must never: call dlsym inside dl_iterate_phdr's callback (it holds the
 * loader's object list; dlsym takes the loader lock, which dlopen takes
 * first: the names are resolved before the pass), allocate from the tracked
 * heap (the table comes from ownmem), or leave a RELRO page writable.
 *
 * Which slots: a slot that holds glibc's function, or, for a JUMP_SLOT not
 * yet bound (lazy binding: it points into the object's own PLT), one whose
 * name the global scope resolves to glibc's.  A slot bound to anything else
 * belongs to another allocator and stays; the object is counted as foreign.
 * Function pointers a program copied before the start (a slot's value read
 * into a variable) go on calling glibc directly: in-process tracking does
 * not see those calls.  Objects loaded by dlmopen into another namespace
 * are not redirected.
 */
#include "run/relocations.h"
#include "run/dl_hooks.h"
#include "hotpath/gil_hooks.h"
#include "hotpath/recorder.h"
#include "hotpath/malloc_hooks.h"
#include "common/ownmem.h"
#include "hotpath/threads.h"

#include "common/elf_symbols.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_TARGETS 32
#define PAGE ((uintptr_t)4096)

typedef struct {
    const char *name;
    void *hook;
    void *real;    /* glibc's own */
    void *global;  /* what the global scope binds the name to */
    size_t length; /* of name: most relocations are told apart without strcmp */
} target;

typedef struct {
    uintptr_t *slot;
    uintptr_t original;
} saved_slot;

static target targets[MAX_TARGETS];
static size_t ntargets;
/* The first letters of the targets' names: most imported names start with
 * none of them and are passed over without a comparison. */
static bool first_letters[256];
static char own_path[4096];
static saved_slot *saved;
static size_t nsaved, saved_cap;
static size_t foreign_objects;
static int redirecting; /* atomic: objects loaded now are redirected */
/* The library was preloaded: the global scope binds the names to the hooks
 * already, and a pass only finds what a RTLD_DEEPBIND load bound to glibc. */
static bool preloaded;
static pthread_mutex_t pass_mutex = PTHREAD_MUTEX_INITIALIZER;
static void *(*real_dlopen)(const char *, int);

static void *hook_dlopen(const char *file, int mode);

enum { PASS_REDIRECT, PASS_RESTORE };

static const target *target_named(const char *name)
{
    size_t length = strlen(name);
    for (size_t i = 0; i < ntargets; i++)
        if (targets[i].length == length && targets[i].name[0] == name[0] &&
            memcmp(targets[i].name, name, length) == 0)
            return &targets[i];
    return NULL;
}

static void add_target(void *libc, const char *name, void *hook)
{
    if (ntargets == MAX_TARGETS)
        return;
    void *real = libc ? hm_lookup(libc, name) : NULL;
    void *global = hm_lookup(RTLD_DEFAULT, name);
    targets[ntargets++] = (target){name, hook, real ? real : global, global, strlen(name)};
    first_letters[(unsigned char)name[0]] = true;
}

/* A pass another thread was making when the process forked left the
 * mutex held in the child, which goes on with the forking thread alone. */
static void reinit_after_fork(void)
{
    pthread_mutex_init(&pass_mutex, NULL);
}

/* The names, resolved once (outside any pass: see the header comment); a
 * pass may follow, so the fork handler is in place from here on, for a
 * preloaded process's passes as for an in-process start's. */
static bool resolve_targets(char *err, size_t errlen)
{
    static bool fork_handler;
    if (ntargets)
        return true;
    if (!fork_handler) {
        pthread_atfork(NULL, NULL, reinit_after_fork);
        fork_handler = true;
    }
    void *libc = dlopen("libc.so.6", RTLD_NOLOAD | RTLD_LAZY);
    if (!libc) {
        snprintf(err, errlen, "in-process tracking needs glibc (libc.so.6 is not loaded)");
        return false;
    }
    for (size_t i = 0; i < hm_native_hook_count; i++)
        add_target(libc, hm_native_hooks[i].name, hm_native_hooks[i].hook);
    for (size_t i = 0; i < hm_dl_hook_count; i++)
        add_target(libc, hm_dl_hook_names[i], hm_dl_hook_addresses[i]);
    if (hm_gil_hooks_resolve())
        for (size_t i = 0; i < hm_gil_hook_count; i++)
            add_target(libc, hm_gil_hooks[i].name, hm_gil_hooks[i].hook);
    add_target(libc, "dlopen", (void *)hook_dlopen);
    real_dlopen = (void *(*)(const char *, int))target_named("dlopen")->real;
    const target *m = target_named("malloc");
    preloaded = m->global == m->hook;
    if (!m->real || (m->global != m->real && !preloaded)) {
        Dl_info info;
        const char *where = m->global && dladdr(m->global, &info) && info.dli_fname
                                ? info.dli_fname
                                : "an unknown object";
        snprintf(err, errlen,
                 "this process's malloc comes from %s, not glibc: in-process tracking "
                 "forwards to glibc's allocator; use heapmark run instead",
                 where);
        ntargets = 0;
        return false;
    }
    Dl_info self;
    if (dladdr((void *)resolve_targets, &self) && self.dli_fname)
        snprintf(own_path, sizeof own_path, "%s", self.dli_fname);
    return true;
}

static bool left_alone(const char *name)
{
    static const char *const skipped[] = {"ld-linux", "linux-vdso",  "libasan",  "libtsan",
                                          "libubsan", "libclang_rt", "vgpreload"};
    if (own_path[0] && strcmp(name, own_path) == 0)
        return true;
    for (size_t i = 0; i < HM_ARRAY_LEN(skipped); i++)
        if (strstr(name, skipped[i]))
            return true;
    return false;
}

/* The part of an object that glibc made read-only after relocation, in
 * whole pages (glibc rounds the end down: a partial last page stays
 * writable). */
typedef struct {
    uintptr_t lo, hi;             /* RELRO pages */
    uintptr_t image_lo, image_hi; /* the object's loaded segments */
} object_ranges;

static void write_slot(const object_ranges *r, uintptr_t *slot, uintptr_t value)
{
    uintptr_t page = (uintptr_t)slot & ~(PAGE - 1);
    bool protected_page = page >= r->lo && page < r->hi;
    if (protected_page && mprotect((void *)page, PAGE, PROT_READ | PROT_WRITE) != 0)
        return;
    __atomic_store_n(slot, value, __ATOMIC_RELEASE);
    if (protected_page)
        mprotect((void *)page, PAGE, PROT_READ);
}

static uintptr_t original_of(uintptr_t *slot, const target *t)
{
    for (size_t i = 0; i < nsaved; i++)
        if (saved[i].slot == slot)
            return saved[i].original;
    return (uintptr_t)t->real;
}

static void remember(uintptr_t *slot, uintptr_t original)
{
    for (size_t i = 0; i < nsaved; i++)
        if (saved[i].slot == slot) {
            saved[i].original = original; /* an object unloaded, another loaded there */
            return;
        }
    if (hm_own_grow((void **)&saved, &saved_cap, nsaved, sizeof *saved, nsaved + 1, 256))
        saved[nsaved++] = (saved_slot){slot, original};
}

typedef struct {
    int pass;
    size_t changed;
    size_t index, skip;          /* objects visited, and those known from the last pass */
    unsigned long long unloaded; /* the loader's count of objects unloaded */
} pass_state;

/* Where a preloaded process's passes left off: the loader lists objects in
 * load order, so while none was unloaded only those past the count are new
 * (a pass runs after every import of an extension module). */
static size_t objects_passed;
static unsigned long long unloaded_passed;

/* One slot of one object.  Returns whether the object is bound elsewhere. */
static bool visit_slot(pass_state *ps, const object_ranges *r, uintptr_t *slot, unsigned type,
                       const target *t)
{
    uintptr_t value = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (ps->pass == PASS_RESTORE) {
        if (value == (uintptr_t)t->hook) {
            write_slot(r, slot, original_of(slot, t));
            ps->changed++;
        }
        return false;
    }
    if (value == (uintptr_t)t->hook)
        return false;
    /* An unbound slot would bind to what the global scope gives, or, in an
     * object loaded with RTLD_DEEPBIND, to glibc's. */
    bool unbound = type == R_X86_64_JUMP_SLOT && value >= r->image_lo && value < r->image_hi;
    if (value == (uintptr_t)t->real || (unbound && (t->global == t->real || preloaded))) {
        remember(slot, value);
        write_slot(r, slot, (uintptr_t)t->hook);
        ps->changed++;
        return false;
    }
    return true;
}

static uintptr_t dynamic_address(const struct dl_phdr_info *info, ElfW(Addr) value)
{
    /* glibc stores these already relocated; other loaders may not. */
    return value < info->dlpi_addr ? value + info->dlpi_addr : value;
}

static void visit_relocations(pass_state *ps, const struct dl_phdr_info *info,
                              const object_ranges *r, const ElfW(Rela) * rela, size_t bytes,
                              const ElfW(Sym) * symtab, const char *strtab, bool *foreign)
{
    for (size_t i = 0; i < bytes / sizeof *rela; i++) {
        unsigned type = (unsigned)ELF64_R_TYPE(rela[i].r_info);
        if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT)
            continue;
        const char *name = strtab + symtab[ELF64_R_SYM(rela[i].r_info)].st_name;
        if (!first_letters[(unsigned char)name[0]])
            continue;
        const target *t = target_named(name);
        if (t && t->real)
            *foreign |=
                visit_slot(ps, r, (uintptr_t *)(info->dlpi_addr + rela[i].r_offset), type, t);
    }
}

static int visit_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    pass_state *ps = data;
    if (ps->index == 0) {
        ps->unloaded = info->dlpi_subs;
        bool same_list =
            preloaded && ps->pass == PASS_REDIRECT && info->dlpi_subs == unloaded_passed;
        ps->skip = same_list ? objects_passed : 0;
    }
    if (ps->index++ < ps->skip)
        return 0;
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    if (left_alone(name))
        return 0;
    object_ranges r = {0, 0, UINTPTR_MAX, 0};
    const ElfW(Dyn) *dyn = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_DYNAMIC)
            dyn = (const ElfW(Dyn) *)start;
        else if (ph->p_type == PT_GNU_RELRO) {
            r.lo = start & ~(PAGE - 1);
            r.hi = (start + ph->p_memsz) & ~(PAGE - 1);
        } else if (ph->p_type == PT_LOAD) {
            if (start < r.image_lo)
                r.image_lo = start;
            if (start + ph->p_memsz > r.image_hi)
                r.image_hi = start + ph->p_memsz;
        }
    }
    if (!dyn)
        return 0;
    const ElfW(Sym) *symtab = NULL;
    const char *strtab = NULL;
    const ElfW(Rela) *rela = NULL, *jmprel = NULL;
    size_t relasz = 0, pltrelsz = 0;
    bool plt_is_rela = true;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_SYMTAB: symtab = (const ElfW(Sym) *)dynamic_address(info, dyn->d_un.d_ptr); break;
        case DT_STRTAB: strtab = (const char *)dynamic_address(info, dyn->d_un.d_ptr); break;
        case DT_RELA: rela = (const ElfW(Rela) *)dynamic_address(info, dyn->d_un.d_ptr); break;
        case DT_RELASZ: relasz = dyn->d_un.d_val; break;
        case DT_JMPREL: jmprel = (const ElfW(Rela) *)dynamic_address(info, dyn->d_un.d_ptr); break;
        case DT_PLTRELSZ: pltrelsz = dyn->d_un.d_val; break;
        case DT_PLTREL: plt_is_rela = dyn->d_un.d_val == DT_RELA; break;
        default: break;
        }
    }
    if (!symtab || !strtab)
        return 0;
    bool foreign = false;
    if (rela)
        visit_relocations(ps, info, &r, rela, relasz, symtab, strtab, &foreign);
    if (jmprel && plt_is_rela)
        visit_relocations(ps, info, &r, jmprel, pltrelsz, symtab, strtab, &foreign);
    if (foreign && ps->pass == PASS_REDIRECT)
        foreign_objects++;
    return 0;
}

static size_t run_pass(int pass)
{
    pass_state ps = {pass, 0, 0, 0, 0};
    hm_tls.guard++;
    pthread_mutex_lock(&pass_mutex);
    if (pass == PASS_REDIRECT)
        foreign_objects = 0;
    dl_iterate_phdr(visit_object, &ps);
    objects_passed = ps.index;
    unloaded_passed = ps.unloaded;
    if (pass == PASS_RESTORE)
        nsaved = 0;
    pthread_mutex_unlock(&pass_mutex);
    hm_tls.guard--;
    return ps.changed;
}

static void *hook_dlopen(const char *file, int mode)
{
    void *handle = real_dlopen(file, mode);
    if (handle && __atomic_load_n(&redirecting, __ATOMIC_ACQUIRE))
        run_pass(PASS_REDIRECT);
    return handle;
}

bool hm_relocations_redirect(char *err, size_t errlen)
{
    if (!resolve_targets(err, errlen))
        return false;
    __atomic_store_n(&redirecting, 1, __ATOMIC_RELEASE);
    run_pass(PASS_REDIRECT);
    return true;
}

void hm_relocations_restore(void)
{
    __atomic_store_n(&redirecting, 0, __ATOMIC_RELEASE);
    run_pass(PASS_RESTORE);
}

void hm_relocations_after_load(void)
{
    if (__atomic_load_n(&redirecting, __ATOMIC_ACQUIRE)) {
        run_pass(PASS_REDIRECT); /* an in-process start's dlopen hook did it too */
        return;
    }
    char err[256];
    pthread_mutex_lock(&pass_mutex);
    bool ready = resolve_targets(err, sizeof err) && preloaded;
    pthread_mutex_unlock(&pass_mutex);
    if (ready)
        run_pass(PASS_REDIRECT);
}

/* The loader's count of objects loaded so far (dl_phdr_info.dlpi_adds). */
static int read_adds(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    *(unsigned long long *)data = info->dlpi_adds;
    return 1;
}

void hm_relocations_poll_loads(void)
{
    static unsigned long long seen;
    unsigned long long adds = 0;
    if (!hm_recording())
        return;
    dl_iterate_phdr(read_adds, &adds);
    if (adds != seen) {
        seen = adds;
        hm_relocations_after_load();
    }
}

size_t hm_relocations_redirected(void)
{
    return nsaved;
}

size_t hm_relocations_foreign(void)
{
    return foreign_objects;
}
