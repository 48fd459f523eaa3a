/* test_hook.c - unit tests for io/hook: real /bin/sh hooks on a private
 * loop. A hook gets its arguments and exactly the environment of
 * hook_env.h (read back from /proc/<pid>/environ, which the shell cannot
 * add to), is killed at its timeout, a program that cannot start is
 * reported; stopping waits for the hooks still running, its callback runs
 * from the loop, and every handle is closed (uv_loop_close() returns 0). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rsm/err.h"
#include "rsm/hook.h"
#include "rsm/log.h"

struct fixture {
    uv_loop_t loop;
    char dir[64];   /* a temp dir for the scripts and what they write */
    char out[128];  /* dir/out: the hook's environment, one per line */
    char args[128]; /* dir/args: its arguments */
    struct rsm_hook_config cfg;
    struct rsm_hook_event ev;
    struct rsm_hook *h;
    int stopped; /* stop callbacks run */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    if (f == NULL || uv_loop_init(&f->loop) != 0)
        return -1;
    strcpy(f->dir, "/tmp/rsm-test-hook-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->out, sizeof f->out, "%s/out", f->dir);
    snprintf(f->args, sizeof f->args, "%s/args", f->dir);
    rsm_hook_config_init(&f->cfg);
    f->ev.group = "g";
    f->ev.epoch = 3;
    strcpy(f->ev.old_master.host, "127.0.0.1");
    f->ev.old_master.port = 7000;
    strcpy(f->ev.new_master.host, "127.0.0.1");
    f->ev.new_master.port = 7001;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char path[192];
    const char *files[] = {"out", "args", "hook.sh"};

    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", f->dir, files[i]);
        unlink(path);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Write dir/hook.sh with `body` after the #! line; cfg.path is it. */
static void script(struct fixture *f, const char *body)
{
    FILE *fp;

    snprintf(f->cfg.path, sizeof f->cfg.path, "%s/hook.sh", f->dir);
    fp = fopen(f->cfg.path, "w");
    assert_non_null(fp);
    fprintf(fp, "#!/bin/sh\n%s\n", body);
    fclose(fp);
    assert_int_equal(chmod(f->cfg.path, 0700), 0);
}

/* The hook writes its arguments, then its environment as it got it. */
static void dumping_script(struct fixture *f)
{
    char body[1024];

    snprintf(body, sizeof body,
             "echo \"$@\" > %s\n"
             "tr '\\000' '\\n' < /proc/$$/environ > %s.tmp\n"
             "mv %s.tmp %s",
             f->args, f->out, f->out, f->out);
    script(f, body);
}

static void start(struct fixture *f)
{
    char err[RSM_ERRMSG_SIZE];

    assert_int_equal(rsm_hook_start(&f->loop, &f->cfg, &f->h, err, sizeof err),
                     0);
}

static void stopped_cb(void *arg)
{
    struct fixture *f = arg;

    f->stopped++;
}

/* Stop the runner, run the loop dry, check that it closed everything. */
static void stop_and_close(struct fixture *f)
{
    rsm_hook_stop(f->h, stopped_cb, f);
    assert_int_equal(f->stopped, 0); /* from the loop, never inline */
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(f->stopped, 1);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* Run the loop until no hook runs (or a few seconds pass). */
static void wait_hooks(struct fixture *f)
{
    for (int i = 0; i < 500 && rsm_hook_running(f->h) > 0; i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(10000);
    }
    uv_run(&f->loop, UV_RUN_NOWAIT); /* close callbacks */
    assert_int_equal(rsm_hook_running(f->h), 0);
}

static char *slurp(const char *path)
{
    static char buf[8192];
    FILE *fp = fopen(path, "r");
    size_t n;

    if (fp == NULL)
        fail_msg("%s: %s", path, strerror(errno));
    n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

/* ------------------------------------------------------------------------
 * Tests
 * ---------------------------------------------------------------------- */

static void test_hook_gets_arguments_and_a_clean_environment(void **state)
{
    struct fixture *f = *state;
    char err[RSM_ERRMSG_SIZE], want[4096];
    const char *env;

    setenv("RSM_REDIS_PASSWORD", "unit-redis-s3cret", 1);
    setenv("RSM_REQUIREPASS", "unit-api-s3cret", 1);
    setenv("RSM_TEST_HOOK_LISTED", "listed-value", 1);
    setenv("RSM_TEST_HOOK_UNLISTED", "unlisted-value", 1);
    assert_int_equal(
        rsm_hook_env_add(&f->cfg.env, "RSM_TEST_HOOK_LISTED", err, sizeof err),
        0);
    dumping_script(f);
    start(f);
    assert_int_equal(rsm_hook_run(f->h, &f->ev), 0);
    assert_int_equal(rsm_hook_running(f->h), 1);
    wait_hooks(f);
    assert_string_equal(slurp(f->args), "g 3 127.0.0.1:7000 127.0.0.1:7001\n");
    env = slurp(f->out);
    snprintf(want, sizeof want,
             "RSM_GROUP=g\nRSM_EPOCH=3\nRSM_OLD_MASTER=127.0.0.1:7000\n"
             "RSM_NEW_MASTER=127.0.0.1:7001\nPATH=%s\n"
             "RSM_TEST_HOOK_LISTED=listed-value\n",
             getenv("PATH") ? getenv("PATH") : RSM_HOOK_DEFAULT_PATH);
    assert_string_equal(env, want);
    assert_null(strstr(env, "s3cret"));
    assert_null(strstr(env, "unlisted"));
    stop_and_close(f);
    unsetenv("RSM_REDIS_PASSWORD");
    unsetenv("RSM_REQUIREPASS");
    unsetenv("RSM_TEST_HOOK_LISTED");
    unsetenv("RSM_TEST_HOOK_UNLISTED");
}

static void test_no_program_runs_nothing(void **state)
{
    struct fixture *f = *state;

    start(f);
    assert_int_equal(rsm_hook_run(f->h, &f->ev), 0);
    assert_int_equal(rsm_hook_running(f->h), 0);
    stop_and_close(f);
}

static void test_program_that_cannot_start_is_reported(void **state)
{
    struct fixture *f = *state;

    snprintf(f->cfg.path, sizeof f->cfg.path, "%s/missing", f->dir);
    start(f);
    assert_int_equal(rsm_hook_run(f->h, &f->ev), RSM_EIO);
    assert_int_equal(rsm_hook_running(f->h), 0);
    stop_and_close(f);
}

static void test_hook_that_hangs_is_killed_at_its_timeout(void **state)
{
    struct fixture *f = *state;
    uint64_t t0;

    script(f, "exec sleep 30");
    f->cfg.timeout_ms = 100;
    start(f);
    t0 = uv_hrtime();
    assert_int_equal(rsm_hook_run(f->h, &f->ev), 0);
    wait_hooks(f);
    assert_true(uv_hrtime() - t0 < 3000000000ull);
    stop_and_close(f);
}

static void test_several_hooks_run_side_by_side(void **state)
{
    struct fixture *f = *state;

    script(f, "sleep 0.2");
    start(f);
    for (int i = 0; i < 3; i++)
        assert_int_equal(rsm_hook_run(f->h, &f->ev), 0);
    assert_int_equal(rsm_hook_running(f->h), 3);
    wait_hooks(f);
    stop_and_close(f);
}

/* The stop callback runs only after the hook is gone: SIGTERM ends it. */
static void test_stop_waits_for_a_running_hook(void **state)
{
    struct fixture *f = *state;
    uint64_t t0;

    script(f, "exec sleep 30");
    start(f);
    assert_int_equal(rsm_hook_run(f->h, &f->ev), 0);
    t0 = uv_hrtime();
    rsm_hook_stop(f->h, stopped_cb, f);
    assert_int_equal(f->stopped, 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(f->stopped, 1);
    assert_true(uv_hrtime() - t0 < 3000000000ull); /* not the 30 s */
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* A hook that ignores SIGTERM holds the stop until its timeout kills it. */
static void test_stop_waits_for_a_hook_ignoring_sigterm(void **state)
{
    struct fixture *f = *state;
    uint64_t t0;

    script(f, "trap '' TERM\nexec sleep 30");
    f->cfg.timeout_ms = 300;
    start(f);
    assert_int_equal(rsm_hook_run(f->h, &f->ev), 0);
    usleep(100000); /* let the shell set its trap */
    t0 = uv_hrtime();
    rsm_hook_stop(f->h, stopped_cb, f);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(f->stopped, 1);
    assert_true(uv_hrtime() - t0 >= 100000000ull); /* held until killed */
    assert_true(uv_hrtime() - t0 < 3000000000ull);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_hook_gets_arguments_and_a_clean_environment),
        T(test_no_program_runs_nothing),
        T(test_program_that_cannot_start_is_reported),
        T(test_hook_that_hangs_is_killed_at_its_timeout),
        T(test_several_hooks_run_side_by_side),
        T(test_stop_waits_for_a_running_hook),
        T(test_stop_waits_for_a_hook_ignoring_sigterm),
#undef T
    };

    rsm_log_setup(RSM_LOG_ERROR, RSM_LOG_LOGFMT);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
