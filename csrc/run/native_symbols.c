/*
 * native_symbols.c - naming native frames with elfutils' libdwfl (see
 * native_symbols.h).
 *
 * Owns: a Dwfl session over this process's own mappings (as /proc/self/maps
 * lists them when the profile is written), loaded privately with dlopen so
 * that a run without --native never maps libdw; and the cache from return
 * address to name, whose strings live until exit (a capture's code
 * descriptors point at them).
 * Must never: name an address by the instruction after a call: a return
 * address is looked up one byte back, inside the call, so that the line is
 * the call's and a call that ends a function is not named after the next.
 *
 * Why libdwfl: it reads .symtab as well as .dynsym (a C extension's static
 * functions are not exported), the DWARF line tables for file:line, and
 * separate debug files where Debian's -dbg/-dbgsym packages put them.
 * A library unloaded before the profile is written can no longer be named;
 * its frames keep their address.
 */
#include "run/native_symbols.h"
#include "common/hashmap.h"
#include "common/elf_symbols.h"

#if __has_include(<elfutils/libdwfl.h>)
#    include <elfutils/libdwfl.h>
#    define HAVE_LIBDWFL 1
#else
/* Built without elfutils' headers (Debian's libdw-dev): frames are named
 * from the dynamic symbol tables alone (dladdr), with no file:line. */
#    define HAVE_LIBDWFL 0
typedef struct Dwfl Dwfl;
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const char *function, *file, *library;
    int32_t line;
} native_name;

#if HAVE_LIBDWFL
static struct {
    bool tried, loaded;
    __typeof__(dwfl_begin) *begin;
    __typeof__(dwfl_end) *end;
    __typeof__(dwfl_linux_proc_report) *proc_report;
    __typeof__(dwfl_report_begin) *report_begin;
    __typeof__(dwfl_report_end) *report_end;
    __typeof__(dwfl_addrmodule) *addrmodule;
    __typeof__(dwfl_module_addrinfo) *addrinfo;
    __typeof__(dwfl_module_getsrc) *getsrc;
    __typeof__(dwfl_lineinfo) *lineinfo;
    __typeof__(dwfl_module_info) *module_info;
    Dwfl_Callbacks callbacks;
} dw;

#endif

static char *(*demangle)(const char *, char *, size_t *, int *);
static native_name *names;
static size_t name_count, name_cap;
static hm_map name_of_address; /* return address -> index into names */

#if HAVE_LIBDWFL
#    define RESOLVE(field, symbol) \
        ok &= (dw.field = (__typeof__(dw.field))hm_lookup(lib, symbol)) != NULL

static bool load_libdw(void)
{
    if (dw.tried)
        return dw.loaded;
    dw.tried = true;
    void *lib = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return false;
    bool ok = true;
    RESOLVE(begin, "dwfl_begin");
    RESOLVE(end, "dwfl_end");
    RESOLVE(proc_report, "dwfl_linux_proc_report");
    RESOLVE(report_begin, "dwfl_report_begin");
    RESOLVE(report_end, "dwfl_report_end");
    RESOLVE(addrmodule, "dwfl_addrmodule");
    RESOLVE(addrinfo, "dwfl_module_addrinfo");
    RESOLVE(getsrc, "dwfl_module_getsrc");
    RESOLVE(lineinfo, "dwfl_lineinfo");
    RESOLVE(module_info, "dwfl_module_info");
    void *find_elf = hm_lookup(lib, "dwfl_linux_proc_find_elf");
    void *find_debuginfo = hm_lookup(lib, "dwfl_standard_find_debuginfo");
    if (!ok || !find_elf || !find_debuginfo)
        return false;
    dw.callbacks.find_elf = (__typeof__(dw.callbacks.find_elf))find_elf;
    dw.callbacks.find_debuginfo = (__typeof__(dw.callbacks.find_debuginfo))find_debuginfo;
    dw.loaded = true;
    return true;
}

#endif

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static const char *function_name(const char *symbol)
{
    if (demangle && symbol[0] == '_' && symbol[1] == 'Z') {
        int status = -1;
        char *plain = demangle(symbol, NULL, NULL, &status);
        if (status == 0 && plain)
            return plain; /* kept: the cache's strings live until exit */
        free(plain);
    }
    return strdup(symbol);
}

/* The name dladdr gives (exported symbols only), for a process without
 * libdw. */
static void name_by_dladdr(uintptr_t pc, native_name *n, const char **library, uintptr_t *start)
{
    Dl_info info;
    if (!dladdr((void *)pc, &info))
        return;
    *library = info.dli_fname;
    *start = (uintptr_t)info.dli_fbase;
    if (info.dli_sname)
        n->function = function_name(info.dli_sname);
}

static native_name name_address(Dwfl *session, uintptr_t ip)
{
    uintptr_t pc = ip - 1;
    native_name n = {NULL, NULL, NULL, 0};
    const char *library = NULL, *source = NULL;
    uintptr_t start = 0;
#if HAVE_LIBDWFL
    Dwfl_Module *module = session ? dw.addrmodule(session, pc) : NULL;
    if (module) {
        Dwarf_Addr low = 0;
        library = dw.module_info(module, NULL, &low, NULL, NULL, NULL, NULL, NULL);
        start = (uintptr_t)low;
        GElf_Off offset;
        GElf_Sym sym;
        const char *symbol = dw.addrinfo(module, pc, &offset, &sym, NULL, NULL, NULL);
        if (symbol)
            n.function = function_name(symbol);
        Dwfl_Line *line = dw.getsrc(module, pc);
        int lineno = 0;
        source = line ? dw.lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
        n.line = source ? lineno : 0;
    }
#else
    (void)session;
#endif
    if (!library)
        name_by_dladdr(pc, &n, &library, &start);
    n.library = strdup(library ? library : "");
    n.file =
        source ? strdup(source) : n.library; /* no line table: the object stands for the file */
    if (!n.function) {
        char buf[64];
        if (library)
            snprintf(buf, sizeof buf, "%.40s+0x%lx", base_name(library),
                     (unsigned long)(ip - start));
        else
            snprintf(buf, sizeof buf, "0x%lx", (unsigned long)ip);
        n.function = strdup(buf);
    }
    if (!n.function || !n.file || !n.library)
        n = (native_name){"?", "", "", 0};
    return n;
}

static const native_name *cached(Dwfl **session, bool *opened, uintptr_t ip)
{
    uint32_t i = hm_map_get(&name_of_address, (uint64_t)ip);
    if (i != HM_NONE)
        return &names[i];
    if (!*opened) {
        *opened = true;
        /* C++ names, when the program has libstdc++ loaded (often only in
         * an extension's local scope, so asked by name). */
        void *cxx = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_NOLOAD);
        demangle = (char *(*)(const char *, char *, size_t *, int *))hm_lookup(
            cxx ? cxx : RTLD_DEFAULT, "__cxa_demangle");
#if HAVE_LIBDWFL
        if (load_libdw()) {
            *session = dw.begin(&dw.callbacks);
            if (*session) {
                dw.report_begin(*session);
                if (dw.proc_report(*session, getpid()) != 0 ||
                    dw.report_end(*session, NULL, NULL) != 0) {
                    dw.end(*session);
                    *session = NULL;
                }
            }
        }
#endif
    }
    if (name_count == name_cap) {
        size_t cap = name_cap ? 2 * name_cap : 256;
        native_name *grown = realloc(names, cap * sizeof *grown);
        if (!grown)
            return NULL;
        names = grown;
        name_cap = cap;
    }
    names[name_count] = name_address(*session, ip);
    if (!hm_map_put(&name_of_address, (uint64_t)ip, (uint32_t)name_count))
        return NULL;
    return &names[name_count++];
}

void hm_native_symbolize(hm_capture *c)
{
    Dwfl *session = NULL;
    bool opened = false;
    for (uint32_t i = 0; i < c->ncodes; i++) {
        hm_code *code = &c->codes[i];
        if (!code->native_ip)
            continue;
        const native_name *n = cached(&session, &opened, code->native_ip);
        code->function = n ? n->function : "?";
        code->file = n ? n->file : "";
        code->library = n ? n->library : "";
        code->first_line = n ? n->line : 0;
    }
#if HAVE_LIBDWFL
    if (session)
        dw.end(session);
#endif
}
