/*
 * test_done_signal.c - the pipe that tells heapmark run the final profile is
 * written (run/done_signal.c): one byte when the reports may start, nothing
 * otherwise, and never a write to, or a close of, a descriptor that is not
 * the pipe it was given.
 */
#include "check.h"
#include "common/contract.h"
#include "run/done_signal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void give(int fd)
{
    char text[16];
    snprintf(text, sizeof text, "%d", fd);
    setenv(hm_env_name(HM_ENV_DONE_FD), text, 1);
}

static int is_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

/* A pipe handed to the engine as heapmark run hands it. */
static void given_pipe(int p[2])
{
    CHECK(pipe(p) == 0);
    give(p[1]);
    hm_done_signal_take();
}

/* What the read end holds: 'F', 0 for end-of-file, -1 for still open. */
static int read_end(int fd)
{
    fcntl(fd, F_SETFL, O_NONBLOCK);
    char c;
    ssize_t n = read(fd, &c, 1);
    return n == 1 ? c : n == 0 ? 0 : -1;
}

/* The engine's end is closed with nothing written. */
static void expect_closed_unsaid(int p[2])
{
    CHECK(!is_open(p[1]));
    CHECK_EQ_I64(read_end(p[0]), 0);
    close(p[0]);
}

static void test_says_done_once_and_closes(void)
{
    int p[2];
    given_pipe(p);
    CHECK(fcntl(p[1], F_GETFD) & FD_CLOEXEC); /* not for an exec'd program */
    hm_done_signal_send(true);
    CHECK(!is_open(p[1]));
    CHECK_EQ_I64(read_end(p[0]), 'F');
    CHECK_EQ_I64(read_end(p[0]), 0);
    hm_done_signal_send(true); /* nothing left to send or close */
    close(p[0]);
}

static void test_a_run_of_several_processes_says_nothing(void)
{
    int p[2];
    given_pipe(p);
    hm_done_signal_send(false);
    expect_closed_unsaid(p);
}

static void test_a_forked_child_lets_go(void)
{
    int p[2];
    given_pipe(p);
    hm_done_signal_forget();
    expect_closed_unsaid(p);
}

/* The program closed the pipe and got its number back for a file. */
static void test_a_reused_number_is_left_alone(void)
{
    int p[2];
    given_pipe(p);
    FILE *f = tmpfile();
    CHECK(f != NULL);
    CHECK(dup2(fileno(f), p[1]) == p[1]);
    hm_done_signal_send(true);
    CHECK(is_open(p[1]));
    CHECK_EQ_I64(lseek(p[1], 0, SEEK_END), 0);
    /* Another pipe at the same number is not the one given either. */
    int q[2];
    CHECK(pipe(q) == 0);
    give(p[1]);
    hm_done_signal_take();
    CHECK(dup2(q[1], p[1]) == p[1]);
    hm_done_signal_send(true);
    CHECK(is_open(p[1]));
    CHECK_EQ_I64(read_end(q[0]), -1);
    close(p[1]);
    close(q[0]);
    close(q[1]);
    fclose(f);
    close(p[0]);
}

static void test_only_a_pipe_is_taken(void)
{
    FILE *f = tmpfile();
    CHECK(f != NULL);
    give(fileno(f));
    hm_done_signal_take();
    hm_done_signal_send(true);
    CHECK(is_open(fileno(f)));
    CHECK_EQ_I64(lseek(fileno(f), 0, SEEK_END), 0);
    int p[2];
    CHECK(pipe(p) == 0);
    char text[16];
    snprintf(text, sizeof text, "%dx", p[1]);
    setenv(hm_env_name(HM_ENV_DONE_FD), text, 1);
    hm_done_signal_take();
    hm_done_signal_send(true);
    CHECK(is_open(p[1]));
    CHECK_EQ_I64(read_end(p[0]), -1);
    unsetenv(hm_env_name(HM_ENV_DONE_FD));
    hm_done_signal_take();
    hm_done_signal_send(true);
    CHECK(is_open(p[1]));
    close(p[0]);
    close(p[1]);
    fclose(f);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_says_done_once_and_closes();
    test_a_run_of_several_processes_says_nothing();
    test_a_forked_child_lets_go();
    test_a_reused_number_is_left_alone();
    test_only_a_pipe_is_taken();
    return check_summary(argv[0]);
}
