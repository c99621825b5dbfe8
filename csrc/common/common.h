/*
 * common.h - small definitions shared by every heapmark C module.
 *
 * This folder is what every layer may use: common.h, ownmem.c (memory mapped
 * outside the tracked heap), hashmap.c (open addressing over ownmem) and
 * pyframes.h are safe inside an allocation hook; strbuf.c and intern.c use
 * the ordinary heap and serve the store, the reports and the census.
 *
 * Owns: branch hints, symbol visibility, the thread-local storage model,
 * the ids every call tree shares.
 * Must never: include Python.h (hook modules are Python-agnostic) or declare state.
 */
#ifndef HM_COMMON_H
#define HM_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define HM_LIKELY(x) __builtin_expect(!!(x), 1)
#define HM_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Interposed libc symbols must be visible; everything else is hidden by
 * -fvisibility=hidden so the preloaded object exports nothing by accident. */
#define HM_EXPORT __attribute__((visibility("default")))

/* initial-exec TLS: a %fs-relative load, no __tls_get_addr call (which may
 * allocate) in hook paths.  The whole TLS block must stay small because a
 * dlopen'ed copy of this module draws on glibc's small static-TLS surplus. */
#define HM_TLS __thread __attribute__((tls_model("initial-exec")))

/* Node 0 is the root of every call tree, in the engine and in a loaded
 * profile; HM_NONE is the id of no node or frame. */
#define HM_ROOT 0u
#define HM_NONE UINT32_MAX

#define HM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The allocation fast path runs from the process's first malloc, before a
 * sanitizer runtime is initialised, so it is never instrumented (make asan
 * checks everything the fast path leads to once the run has started). */
#if defined(__SANITIZE_ADDRESS__)
#    define HM_FAST_PATH __attribute__((no_sanitize_address, no_sanitize("undefined")))
#else
#    define HM_FAST_PATH
#endif

#endif
