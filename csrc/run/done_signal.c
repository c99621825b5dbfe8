/*
 * done_signal.c - telling heapmark run that the final profile is written.
 *
 * Owns: the write end of a pipe heapmark run creates before it starts the
 * program and names in HEAPMARK_DONE_FD.  Once the process heapmark run
 * started has written its final profile, and no other process joined the
 * run (no child profile to merge), it writes one byte, 'F', and closes the
 * pipe: heapmark run renders the reports while the interpreter tears down
 * (freeing every object, unmapping the heap: 10 ms or more for a program
 * of any size, and seconds for a big heap), instead of after.  Any other
 * ending (the process execs, dies before the write, or the run had child
 * processes) closes the pipe with nothing written, or the kernel does at
 * exit: heapmark run reads end-of-file and waits for the exit, as it always
 * did.  heapmark run still waits for the exit before it prints anything, so
 * the program's last output comes before heapmark's summary.
 * Must never: block (the pipe is empty and has room for the one byte),
 * leave the descriptor to a forked child (whose exit would then hold
 * heapmark run's end-of-file back) or to an exec'd program, or write to or
 * close a descriptor the program has reused: a program may close every
 * descriptor it did not open (a daemon does) and get the number back for a
 * file of its own, so the pipe is known by its inode, not its number.
 */
#include "run/done_signal.h"
#include "common/contract.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int done_fd = -1;
static dev_t done_dev;
static ino_t done_ino;

/* done_fd is still the pipe heapmark run gave, not a number reused. */
static bool still_the_pipe(void)
{
    struct stat st;
    return done_fd >= 0 && fstat(done_fd, &st) == 0 && S_ISFIFO(st.st_mode) &&
           st.st_dev == done_dev && st.st_ino == done_ino;
}

void hm_done_signal_take(void)
{
    const char *text = getenv(hm_env_name(HM_ENV_DONE_FD));
    if (!text || !*text)
        return;
    char *end;
    long fd = strtol(text, &end, 10);
    struct stat st;
    /* Only a pipe: a number inherited from elsewhere must not be written. */
    if (*end || fd < 3 || fd > 65535 || fstat((int)fd, &st) != 0 || !S_ISFIFO(st.st_mode))
        return;
    int flags = fcntl((int)fd, F_GETFD);
    if (flags < 0 || fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC) != 0)
        return;
    done_fd = (int)fd;
    done_dev = st.st_dev;
    done_ino = st.st_ino;
}

void hm_done_signal_forget(void)
{
    if (still_the_pipe())
        close(done_fd);
    done_fd = -1;
}

void hm_done_signal_send(bool reports_may_start)
{
    if (reports_may_start && still_the_pipe()) {
        ssize_t written = write(done_fd, "F", 1);
        (void)written; /* heapmark run gone: nothing to tell */
    }
    hm_done_signal_forget();
}
