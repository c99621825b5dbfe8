/*
 * crash.c - a crashing program still leaves its profile.
 *
 * A crash in native code (an extension overrunning a buffer, abort() on a
 * library's own out-of-memory path, SIGBUS on a truncated mapped file) is
 * when people want to know what held the memory.  On SIGSEGV, SIGBUS,
 * SIGILL, SIGFPE and SIGABRT, on any thread:
 *
 *   1. the handler (on the alternate stack where the thread has one: the
 *      main thread's is set here, so a stack overflow there is covered)
 *      notes the signal and, if it can take the recorder lock at once and
 *      the thread was not in heapmark's own code, the thread's stack node;
 *   2. it wakes heapmark's monitor thread (one byte down a pipe) and waits
 *      for it on another pipe, at most CRASH_WAIT_MS: the monitor stops
 *      recording and writes the final profile, status "crashed: SIGSEGV";
 *   3. it puts back the action the signal had before heapmark (the default,
 *      or the program's own handler) and lets the signal go on: a fault the
 *      kernel raised is raised again by the faulting instruction when the
 *      handler returns, a signal sent by raise()/abort()/kill is re-sent.
 *      The program's own handlers (faulthandler, installed after heapmark,
 *      chains to it) run, a core dump is made where enabled, and the process
 *      dies of the same signal.
 *
 * A crash inside heapmark's own code (the thread's guard is up: it may hold
 * the recorder lock the write needs, or be the monitor thread itself) is not
 * waited for: the handler says so on stderr and the signal goes on at once,
 * leaving the last checkpoint.  A write that does not finish in time (a
 * crash with malloc's lock held by the dead thread) is given up on the same
 * way.  So nothing here can hang the program.
 *
 * Owns: the five handlers, the actions they replaced, the main thread's
 * alternate stack, and the crash note.
 * Must never: call anything but async-signal-safe functions from a handler,
 * besides the stack walk under a lock taken without waiting; or wait for the
 * monitor without a bound.
 */
#include "run/crash.h"
#include "hotpath/recorder.h"
#include "hotpath/stack_walk.h"
#include "hotpath/threads.h"
#include "run/engine.h"
#include "run/monitor.h"

#include <dlfcn.h>
#include <link.h>
#include <stdbool.h>
#include <errno.h>
#include <signal.h>
#include <ucontext.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CRASH_WAIT_MS 10000
#define ALT_STACK_SIZE (64 * 1024)

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
#define NFATAL (sizeof fatal_signals / sizeof *fatal_signals)

static struct sigaction previous[NFATAL];
static int crash_signal; /* the first crash's signal */
static uint32_t crash_node = HM_NONE;
static int crashing; /* atomic: a thread is handling a crash */

const char *hm_crash_signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGABRT: return "SIGABRT";
    default: return "a fatal signal";
    }
}

int hm_crash_signal(void)
{
    return __atomic_load_n(&crash_signal, __ATOMIC_ACQUIRE);
}

uint32_t hm_crash_node(void)
{
    return crash_node;
}

/* Where heapmark's library is loaded, [engine_base, engine_end): a fault
 * with the guard up may be in code heapmark called (a type's tp_traverse
 * in a kinds walk, the allocator under a hook), and the note says which. */
static uintptr_t engine_base, engine_end;

static int find_engine_end(struct dl_phdr_info *info, size_t size, void *unused)
{
    (void)size;
    (void)unused;
    if (info->dlpi_addr != engine_base)
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t end = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
        if (ph->p_type == PT_LOAD && end > engine_end)
            engine_end = end;
    }
    return 1;
}

/* "0x..." of v into out (at least 19 bytes), async-signal-safely. */
static const char *hex(uintptr_t v, char *out)
{
    char digits[16];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v && n < 16);
    out[0] = '0';
    out[1] = 'x';
    for (int i = 0; i < n; i++)
        out[2 + i] = digits[n - 1 - i];
    out[2 + n] = '\0';
    return out;
}

static void say(const char *a, const char *b, const char *c)
{
    /* write(2) only: stdio is not async-signal-safe. */
    (void)!write(STDERR_FILENO, a, strlen(a));
    (void)!write(STDERR_FILENO, b, strlen(b));
    (void)!write(STDERR_FILENO, c, strlen(c));
}

static int slot_of(int sig)
{
    for (size_t i = 0; i < NFATAL; i++)
        if (fatal_signals[i] == sig)
            return (int)i;
    return -1;
}

/* The profile of this moment, if it can be had without risk of a hang.
 * pc: where the fault was, for the report of a crash in heapmark's code. */
static void record_crash(int sig, uintptr_t pc, uintptr_t address)
{
    const char *name = hm_crash_signal_name(sig);
    if (hm_tls.guard) {
        char a[24], b[24];
        bool in_engine = pc >= engine_base && pc < engine_end;
        say("heapmark: the program crashed (", name,
            ") inside heapmark's own code: no profile of the crash is written; the last "
            "checkpoint remains (please report: at ");
        say(hex(in_engine ? pc - engine_base : pc, a),
            in_engine ? " in _heapmark" : ", outside _heapmark, in code it called", ", address ");
        say(hex(address, b), ")\n", "");
        return;
    }
    if (hm_trylock()) {
        crash_node = hm_recording() ? hm_stack_node() : HM_NONE;
        hm_unlock();
    }
    __atomic_store_n(&crash_signal, sig, __ATOMIC_RELEASE);
    switch (hm_monitor_write_for_crash(CRASH_WAIT_MS)) {
    case HM_CRASH_WRITTEN: break;
    case HM_CRASH_NO_MONITOR:
        say("heapmark: the program crashed (", name,
            ") before heapmark's thread started: no profile is written\n");
        break;
    default:
        say("heapmark: the program crashed (", name,
            "); its profile could not be written within 10 s (the crashed thread may hold "
            "a lock the writer needs): the last checkpoint remains\n");
        break;
    }
}

static void on_fatal_signal(int sig, siginfo_t *info, void *context)
{
    int saved = errno;
    uintptr_t pc = context ? (uintptr_t)((ucontext_t *)context)->uc_mcontext.gregs[REG_RIP] : 0;
    int slot = slot_of(sig);
    /* One crash is recorded; a second thread crashing meanwhile, or the
     * same one again, goes straight on to the signal's own action. */
    if (__atomic_exchange_n(&crashing, 1, __ATOMIC_ACQ_REL) == 0 && hm_engine_configured() &&
        hm_engine_profiling())
        record_crash(sig, pc, info ? (uintptr_t)info->si_addr : 0);
    if (slot >= 0)
        sigaction(sig, &previous[slot], NULL);
    else
        signal(sig, SIG_DFL);
    /* A fault the kernel raised comes back when the instruction runs again
     * (after this returns, under the action just put back); one that was
     * sent (raise, abort, kill, faulthandler re-raising) must be sent again. */
    if (!info || info->si_code <= 0)
        raise(sig);
    errno = saved;
}

static void alternate_stack(void)
{
    stack_t current;
    if (sigaltstack(NULL, &current) == 0 && !(current.ss_flags & SS_DISABLE))
        return; /* the program's own */
    /* heapmark's memory: the guard keeps the mmap hook from counting it. */
    hm_tls.guard++;
    void *stack =
        mmap(NULL, ALT_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    stack_t ss = {.ss_sp = stack, .ss_size = ALT_STACK_SIZE, .ss_flags = 0};
    if (stack != MAP_FAILED && sigaltstack(&ss, NULL) != 0)
        munmap(stack, ALT_STACK_SIZE);
    hm_tls.guard--;
}

void hm_crash_install(void)
{
    Dl_info self;
    if (dladdr((void *)hm_crash_install, &self) && self.dli_fbase)
        engine_base = (uintptr_t)self.dli_fbase;
    if (engine_base)
        dl_iterate_phdr(find_engine_end, NULL);
    alternate_stack();
    for (size_t i = 0; i < NFATAL; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_fatal_signal;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        sigaction(fatal_signals[i], &sa, &previous[i]);
    }
}

void hm_crash_disown(void)
{
    for (size_t i = 0; i < NFATAL; i++) {
        /* Ours still there means ours was installed, over previous[i]. */
        struct sigaction now;
        if (sigaction(fatal_signals[i], NULL, &now) == 0 && (now.sa_flags & SA_SIGINFO) &&
            now.sa_sigaction == on_fatal_signal)
            sigaction(fatal_signals[i], &previous[i], NULL);
    }
}
