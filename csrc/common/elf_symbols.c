/*
 * elf_symbols.c - symbol lookup in a loaded object's ELF tables (see
 * elf_symbols.h).
 *
 * Owns: the walk over loaded objects to find one by file name, and the
 * GNU hash lookup (the ELF gABI's DT_GNU_HASH: a Bloom filter, buckets,
 * then a chain of hashes whose low bit ends the chain); of the versions of
 * a name it takes the default one (the version index without the hidden
 * bit), as dlsym does.
 * Must never: allocate or call into the loader beyond dl_iterate_phdr:
 * the first caller may be the dlsym hook, before any constructor ran, or a
 * constructor that runs inside dlopen with the loader lock held.
 */
#include "common/elf_symbols.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <string.h>

typedef struct {
    const char *soname;
    const char *symbol;
    void *found;
} lookup;

static uint32_t gnu_hash(const char *s)
{
    uint32_t h = 5381;
    for (; *s; s++)
        h = h * 33 + (unsigned char)*s;
    return h;
}

static uintptr_t dynamic_address(const struct dl_phdr_info *info, ElfW(Addr) value)
{
    /* glibc stores these already relocated; other loaders may not. */
    return value < info->dlpi_addr ? value + info->dlpi_addr : value;
}

static bool named(const char *path, const char *soname)
{
    size_t n = strlen(path), m = strlen(soname);
    return n >= m && strcmp(path + n - m, soname) == 0 && (n == m || path[n - m - 1] == '/');
}

static void *find_in(const struct dl_phdr_info *info, const char *symbol)
{
    const ElfW(Dyn) *dyn = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    if (!dyn)
        return NULL;
    const ElfW(Sym) *symtab = NULL;
    const char *strtab = NULL;
    const uint32_t *hash = NULL;
    const ElfW(Half) *versym = NULL;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_SYMTAB: symtab = (const ElfW(Sym) *)dynamic_address(info, dyn->d_un.d_ptr); break;
        case DT_STRTAB: strtab = (const char *)dynamic_address(info, dyn->d_un.d_ptr); break;
        case DT_GNU_HASH: hash = (const uint32_t *)dynamic_address(info, dyn->d_un.d_ptr); break;
        case DT_VERSYM: versym = (const ElfW(Half) *)dynamic_address(info, dyn->d_un.d_ptr); break;
        default: break;
        }
    }
    if (!symtab || !strtab || !hash)
        return NULL;
    uint32_t nbuckets = hash[0], symoffset = hash[1], bloom_words = hash[2];
    if (nbuckets == 0)
        return NULL;
    const uint32_t *buckets = (const uint32_t *)((const ElfW(Addr) *)(hash + 4) + bloom_words);
    const uint32_t *chain = buckets + nbuckets;
    uint32_t h = gnu_hash(symbol);
    uint32_t i = buckets[h % nbuckets];
    if (i < symoffset)
        return NULL;
    void *any = NULL;
    for (;; i++) {
        uint32_t ch = chain[i - symoffset];
        const ElfW(Sym) *s = &symtab[i];
        if ((ch | 1) == (h | 1) && s->st_shndx != SHN_UNDEF && s->st_value != 0 &&
            strcmp(strtab + s->st_name, symbol) == 0) {
            void *address = (void *)(info->dlpi_addr + s->st_value);
            if (!versym || !(versym[i] & 0x8000))
                return address; /* the default version */
            any = address;
        }
        if (ch & 1)
            break;
    }
    return any;
}

static int visit(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    lookup *l = data;
    if (!info->dlpi_name || !named(info->dlpi_name, l->soname))
        return 0;
    l->found = find_in(info, l->symbol);
    return 1;
}

void *hm_elf_symbol(const char *soname, const char *symbol)
{
    lookup l = {soname, symbol, NULL};
    dl_iterate_phdr(visit, &l);
    return l.found;
}

/* Resolved on first use, from any thread: every thread finds the same
 * address, so the race is benign. */
static void *loader_symbol(void **cache, const char *symbol)
{
    void *f = __atomic_load_n(cache, __ATOMIC_RELAXED);
    if (!f) {
        f = hm_elf_symbol("libc.so.6", symbol);
        if (!f)
            f = hm_elf_symbol("libdl.so.2", symbol);
        __atomic_store_n(cache, f, __ATOMIC_RELAXED);
    }
    return f;
}

static void *dlsym_cache, *dlvsym_cache, *dlopen_cache;

void *(*hm_real_dlsym(void))(void *, const char *)
{
    return (void *(*)(void *, const char *))loader_symbol(&dlsym_cache, "dlsym");
}

void *(*hm_real_dlvsym(void))(void *, const char *, const char *)
{
    return (void *(*)(void *, const char *, const char *))loader_symbol(&dlvsym_cache, "dlvsym");
}

void *(*hm_real_dlopen(void))(const char *, int)
{
    return (void *(*)(const char *, int))loader_symbol(&dlopen_cache, "dlopen");
}

void *hm_lookup(void *handle, const char *name)
{
    void *(*real)(void *, const char *) = hm_real_dlsym();
    return real ? real(handle, name) : NULL;
}
