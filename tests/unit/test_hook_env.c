/* test_hook_env.c - unit tests for core/hook_env: the --hook-env list (what
 * is accepted, what is refused and why, a refused list left unchanged) and
 * the environment built for the hook from a given environment: the event,
 * PATH, the listed variables, and never a secret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsm/err.h"
#include "rsm/hook_env.h"

/* The agent's environment in the tests: secrets, a few ordinary
 * variables, PATH. */
static char *agent_env[] = {
    "HOME=/root",
    "RSM_REDIS_PASSWORD=redis-s3cret",
    "RSM_REQUIREPASS=api-s3cret",
    "RSM_CLUSTER_SECRET=raft-s3cret",
    "RSM_REDIS_PASSWORD_FILE=/run/secrets/redis/password",
    "PATHOLOGY=not the path",
    "PATH=/opt/bin:/usr/bin",
    "KUBERNETES_SERVICE_HOST=10.0.0.1",
    "EMPTY=",
    "NOEQUALS",
    "KUBERNETES_SERVICE_HOST=10.9.9.9", /* a second entry: not used */
    NULL,
};

struct fixture {
    struct rsm_hook_env_list list;
    struct rsm_hook_event ev;
    char **envp;
    char err[RSM_ERRMSG_SIZE];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    if (f == NULL)
        return -1;
    f->ev.group = "cache";
    f->ev.epoch = 7;
    strcpy(f->ev.old_master.host, "10.0.0.5");
    f->ev.old_master.port = 6379;
    strcpy(f->ev.new_master.host, "redis-1.redis.ns.svc");
    f->ev.new_master.port = 6380;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    free(f->envp);
    free(f);
    return 0;
}

/* The entries of envp, one "NAME=value" per line, in order. */
static char *joined(char **envp)
{
    static char buf[4096];
    size_t n = 0;

    buf[0] = '\0';
    for (; *envp != NULL; envp++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s\n", *envp);
    return buf;
}

static void add_ok(struct fixture *f, const char *text)
{
    assert_int_equal(rsm_hook_env_add(&f->list, text, f->err, sizeof f->err),
                     0);
}

/* Refused with RSM_EINVAL, a message holding `why`, the list unchanged. */
static void add_refused(struct fixture *f, const char *text, const char *why)
{
    struct rsm_hook_env_list before = f->list;

    f->err[0] = '\0';
    assert_int_equal(rsm_hook_env_add(&f->list, text, f->err, sizeof f->err),
                     RSM_EINVAL);
    if (strstr(f->err, why) == NULL)
        fail_msg("'%s': message '%s' lacks '%s'", text, f->err, why);
    assert_memory_equal(&before, &f->list, sizeof before);
}

/* ------------------------------------------------------------------------
 * The environment
 * ---------------------------------------------------------------------- */

static void test_without_a_list_the_hook_gets_the_event_and_path(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(rsm_hook_env_build(agent_env, &f->list, &f->ev, &f->envp),
                     0);
    assert_string_equal(joined(f->envp),
                        "RSM_GROUP=cache\n"
                        "RSM_EPOCH=7\n"
                        "RSM_OLD_MASTER=10.0.0.5:6379\n"
                        "RSM_NEW_MASTER=redis-1.redis.ns.svc:6380\n"
                        "PATH=/opt/bin:/usr/bin\n");
}

static void
test_listed_variables_follow_in_order_with_agent_values(void **state)
{
    struct fixture *f = *state;

    add_ok(f, "KUBERNETES_SERVICE_HOST,EMPTY");
    add_ok(f, "HOME");
    assert_int_equal(rsm_hook_env_build(agent_env, &f->list, &f->ev, &f->envp),
                     0);
    /* the first KUBERNETES_SERVICE_HOST counts, as for getenv */
    assert_string_equal(joined(f->envp),
                        "RSM_GROUP=cache\n"
                        "RSM_EPOCH=7\n"
                        "RSM_OLD_MASTER=10.0.0.5:6379\n"
                        "RSM_NEW_MASTER=redis-1.redis.ns.svc:6380\n"
                        "PATH=/opt/bin:/usr/bin\n"
                        "KUBERNETES_SERVICE_HOST=10.0.0.1\n"
                        "EMPTY=\n"
                        "HOME=/root\n");
}

static void test_listed_but_unset_variable_is_left_out(void **state)
{
    struct fixture *f = *state;

    add_ok(f, "NOT_SET, NOEQUALS , PATHOLOG");
    assert_int_equal(rsm_hook_env_build(agent_env, &f->list, &f->ev, &f->envp),
                     0);
    assert_null(strstr(joined(f->envp), "NOT_SET"));
    assert_null(strstr(joined(f->envp), "NOEQUALS"));
    assert_null(strstr(joined(f->envp), "PATHOLOG"));
}

static void test_no_path_in_the_agent_gives_the_default(void **state)
{
    struct fixture *f = *state;
    char *env[] = {"PATHOLOGY=x", "HOME=/root", NULL};

    assert_int_equal(rsm_hook_env_build(env, &f->list, &f->ev, &f->envp), 0);
    assert_non_null(
        strstr(joined(f->envp), "\nPATH=" RSM_HOOK_DEFAULT_PATH "\n"));
    free(f->envp);
    f->envp = NULL;
    /* an empty environment, or none at all */
    char *none[] = {NULL};
    assert_int_equal(rsm_hook_env_build(none, &f->list, &f->ev, &f->envp), 0);
    assert_string_equal(f->envp[4], "PATH=" RSM_HOOK_DEFAULT_PATH);
    assert_null(f->envp[5]);
    free(f->envp);
    f->envp = NULL;
    assert_int_equal(rsm_hook_env_build(NULL, &f->list, &f->ev, &f->envp), 0);
    assert_string_equal(f->envp[4], "PATH=" RSM_HOOK_DEFAULT_PATH);
}

/* A list that holds a secret anyway (filled by hand, not through
 * rsm_hook_env_add): the secret is still left out, and no secret value
 * appears anywhere in the environment. */
static void test_secrets_never_reach_the_hook_even_if_listed(void **state)
{
    struct fixture *f = *state;
    const char *forced[] = {"RSM_REDIS_PASSWORD",
                            "RSM_REQUIREPASS",
                            "RSM_CLUSTER_SECRET",
                            "RSM_GROUP",
                            "PATH",
                            "HOME"};
    char *all;

    for (size_t i = 0; i < sizeof forced / sizeof forced[0]; i++)
        strcpy(f->list.names[f->list.n++], forced[i]);
    assert_int_equal(rsm_hook_env_build(agent_env, &f->list, &f->ev, &f->envp),
                     0);
    all = joined(f->envp);
    assert_null(strstr(all, "s3cret"));
    assert_null(strstr(all, "RSM_REDIS_PASSWORD"));
    assert_null(strstr(all, "RSM_REQUIREPASS"));
    assert_null(strstr(all, "RSM_CLUSTER_SECRET"));
    /* the event and PATH once each; the harmless HOME passes */
    assert_string_equal(strstr(all, "PATH="), "PATH=/opt/bin:/usr/bin\n"
                                              "HOME=/root\n");
    assert_ptr_equal(strstr(all, "RSM_GROUP="), all);
    assert_null(strstr(all + 1, "RSM_GROUP="));
}

/* The secret file variables name a path: they may be listed. */
static void test_secret_file_path_may_be_listed(void **state)
{
    struct fixture *f = *state;

    add_ok(f, "RSM_REDIS_PASSWORD_FILE");
    assert_int_equal(rsm_hook_env_build(agent_env, &f->list, &f->ev, &f->envp),
                     0);
    assert_non_null(strstr(joined(f->envp), "\nRSM_REDIS_PASSWORD_FILE="
                                            "/run/secrets/redis/password\n"));
}

static void test_event_with_ipv6_and_big_epoch(void **state)
{
    struct fixture *f = *state;
    struct rsm_hook_event_text t;

    f->ev.epoch = UINT64_MAX;
    strcpy(f->ev.new_master.host, "::1");
    rsm_hook_event_format(&f->ev, &t);
    assert_string_equal(t.epoch, "18446744073709551615");
    assert_string_equal(t.new_master, "[::1]:6380");
    assert_string_equal(t.old_master, "10.0.0.5:6379");
}

/* ------------------------------------------------------------------------
 * The list
 * ---------------------------------------------------------------------- */

static void test_list_keeps_order_and_skips_duplicates_and_path(void **state)
{
    struct fixture *f = *state;

    add_ok(f, "B");
    add_ok(f, " A ,\tB,PATH, C_1");
    add_ok(f, "A");
    assert_int_equal(f->list.n, 3);
    assert_string_equal(f->list.names[0], "B");
    assert_string_equal(f->list.names[1], "A");
    assert_string_equal(f->list.names[2], "C_1");
}

static void test_secrets_are_refused_by_name(void **state)
{
    struct fixture *f = *state;

    add_ok(f, "HOME");
    add_refused(f, "RSM_REDIS_PASSWORD",
                "RSM_REDIS_PASSWORD holds a secret of the agent");
    add_refused(f, "LANG,RSM_REQUIREPASS", "RSM_REQUIREPASS holds a secret");
    add_refused(f, " RSM_CLUSTER_SECRET ", "RSM_CLUSTER_SECRET holds a secret");
    assert_true(rsm_hook_env_is_secret("RSM_REDIS_PASSWORD"));
    assert_true(rsm_hook_env_is_secret("RSM_REQUIREPASS"));
    assert_true(rsm_hook_env_is_secret("RSM_CLUSTER_SECRET"));
    assert_false(rsm_hook_env_is_secret("RSM_REDIS_PASSWORD_FILE"));
    assert_false(rsm_hook_env_is_secret("rsm_redis_password"));
    assert_false(rsm_hook_env_is_secret("HOME"));
}

static void test_event_variables_are_refused(void **state)
{
    struct fixture *f = *state;

    add_refused(f, "RSM_GROUP", "RSM_GROUP is set by the agent");
    add_refused(f, "RSM_EPOCH", "set by the agent");
    add_refused(f, "RSM_OLD_MASTER", "set by the agent");
    add_refused(f, "RSM_NEW_MASTER", "set by the agent");
}

static void test_bad_names_are_refused(void **state)
{
    struct fixture *f = *state;
    char longest[RSM_HOOK_ENV_NAME_MAX], too_long[RSM_HOOK_ENV_NAME_MAX + 10];

    add_refused(f, "", "empty variable name");
    add_refused(f, "A,,B", "empty variable name");
    add_refused(f, "A,", "empty variable name");
    add_refused(f, " ", "empty variable name");
    add_refused(f, "1ABC", "'1ABC' is not a variable name");
    add_refused(f, "A-B", "'A-B' is not a variable name");
    add_refused(f, "A=B", "'A=B' is not a variable name");
    add_refused(f, "A B", "'A B' is not a variable name");
    memset(too_long, 'X', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    add_refused(f, too_long, "is longer than 63");
    memset(longest, 'Y', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    add_ok(f, longest);
    assert_string_equal(f->list.names[0], longest);
}

static void test_more_than_the_maximum_is_refused(void **state)
{
    struct fixture *f = *state;
    char name[16];

    for (int i = 0; i < RSM_HOOK_ENV_MAX; i++) {
        snprintf(name, sizeof name, "V%d", i);
        add_ok(f, name);
    }
    add_ok(f, "V0,V1"); /* duplicates take no room */
    add_refused(f, "V0,EXTRA", "more than 32 variables");
    assert_int_equal(f->list.n, RSM_HOOK_ENV_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_without_a_list_the_hook_gets_the_event_and_path),
        T(test_listed_variables_follow_in_order_with_agent_values),
        T(test_listed_but_unset_variable_is_left_out),
        T(test_no_path_in_the_agent_gives_the_default),
        T(test_secrets_never_reach_the_hook_even_if_listed),
        T(test_secret_file_path_may_be_listed),
        T(test_event_with_ipv6_and_big_epoch),
        T(test_list_keeps_order_and_skips_duplicates_and_path),
        T(test_secrets_are_refused_by_name),
        T(test_event_variables_are_refused),
        T(test_bad_names_are_refused),
        T(test_more_than_the_maximum_is_refused),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
