/* test_monitor.c - unit tests for io/monitor's configuration: --monitor
 * parsing into a group list that grows with what is configured, up to
 * RSM_MAX_GROUPS. (The monitor's probes and leader loop run against real
 * agents and Redis in tests/integration.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rsm/err.h"
#include "rsm/monitor.h"

/* "g<i>=127.0.0.1:<10000+3i>,...:<+1>,...:<+2>" */
static int add_group(struct rsm_monitor_config *cfg, unsigned i, char *err,
                     size_t errlen)
{
    char text[128];
    unsigned p = 10000 + 3 * (i % 18000);

    snprintf(text, sizeof text, "g%u=127.0.0.1:%u,127.0.0.1:%u,127.0.0.1:%u", i,
             p, p + 1, p + 2);
    return rsm_monitor_parse_group(cfg, text, err, errlen);
}

static void test_init_allocates_nothing(void **state)
{
    struct rsm_monitor_config cfg;

    (void)state;
    rsm_monitor_config_init(&cfg);
    assert_int_equal(cfg.n_groups, 0);
    assert_null(cfg.groups);
    assert_int_equal(cfg.probe_interval_ms, 100);
    /* no hook; when there is one: 30 s and no variable beyond its own */
    assert_string_equal(cfg.hook.path, "");
    assert_int_equal(cfg.hook.timeout_ms, 30000);
    assert_int_equal(cfg.hook.env.n, 0);
    rsm_monitor_config_free(&cfg);
    rsm_monitor_config_free(&cfg); /* twice is harmless */
    assert_null(cfg.groups);
}

static void test_groups_grow_past_the_old_limit(void **state)
{
    struct rsm_monitor_config cfg;
    char err[RSM_ERRMSG_SIZE] = "";

    (void)state;
    rsm_monitor_config_init(&cfg);
    for (unsigned i = 0; i < 334; i++)
        assert_int_equal(add_group(&cfg, i, err, sizeof err), 0);
    assert_int_equal(cfg.n_groups, 334);
    assert_true(cfg.cap_groups >= 334);
    /* every group kept what was parsed, in order, across reallocations */
    for (unsigned i = 0; i < 334; i++) {
        char name[16];
        snprintf(name, sizeof name, "g%u", i);
        assert_string_equal(cfg.groups[i].name, name);
        assert_int_equal(cfg.groups[i].n_addrs, 3);
        assert_int_equal(cfg.groups[i].addrs[2].port, 10000 + 3 * i + 2);
    }
    rsm_monitor_config_free(&cfg);
    assert_int_equal(cfg.n_groups, 0);
    assert_null(cfg.groups);
}

static void test_cap_is_refused_with_a_clear_message(void **state)
{
    struct rsm_monitor_config cfg;
    char err[RSM_ERRMSG_SIZE] = "", want[64];

    (void)state;
    rsm_monitor_config_init(&cfg);
    for (unsigned i = 0; i < RSM_MAX_GROUPS; i++)
        assert_int_equal(add_group(&cfg, i, err, sizeof err), 0);
    assert_int_equal(cfg.n_groups, RSM_MAX_GROUPS);
    assert_int_equal(add_group(&cfg, RSM_MAX_GROUPS, err, sizeof err),
                     RSM_EINVAL);
    snprintf(want, sizeof want, "more than %d groups", RSM_MAX_GROUPS);
    assert_non_null(strstr(err, want));
    assert_int_equal(cfg.n_groups, RSM_MAX_GROUPS); /* unchanged */
    assert_string_equal(cfg.groups[RSM_MAX_GROUPS - 1].name, "g4095");
    rsm_monitor_config_free(&cfg);
}

static void test_duplicate_group_leaves_list_unchanged(void **state)
{
    struct rsm_monitor_config cfg;
    char err[RSM_ERRMSG_SIZE] = "";

    (void)state;
    rsm_monitor_config_init(&cfg);
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(add_group(&cfg, i, err, sizeof err), 0);
    assert_int_equal(add_group(&cfg, 3, err, sizeof err), RSM_EINVAL);
    assert_non_null(strstr(err, "'g3' given twice"));
    assert_int_equal(cfg.n_groups, 5);
    assert_int_equal(
        rsm_monitor_parse_group(&cfg, "g9=127.0.0.1:1,nope", err, sizeof err),
        RSM_EINVAL);
    assert_int_equal(cfg.n_groups, 5);
    rsm_monitor_config_free(&cfg);
}

/* SENTINEL MONITOR names follow --monitor's rules. */
static void test_group_name_rules(void **state)
{
    char err[RSM_ERRMSG_SIZE] = "";
    char long_name[RSM_GROUP_NAME_MAX + 1];

    (void)state;
    assert_int_equal(rsm_monitor_check_group_name("mymaster", err, sizeof err),
                     0);
    assert_int_equal(rsm_monitor_check_group_name("", err, sizeof err),
                     RSM_EINVAL);
    assert_string_equal(err, "empty group name");
    assert_int_equal(rsm_monitor_check_group_name("my master", err, sizeof err),
                     RSM_EINVAL);
    assert_string_equal(err, "group name must be printable without spaces");
    memset(long_name, 'a', RSM_GROUP_NAME_MAX);
    long_name[RSM_GROUP_NAME_MAX] = '\0';
    assert_int_equal(rsm_monitor_check_group_name(long_name, err, sizeof err),
                     RSM_EINVAL);
    long_name[RSM_GROUP_NAME_MAX - 1] = '\0';
    assert_int_equal(rsm_monitor_check_group_name(long_name, err, sizeof err),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_allocates_nothing),
        cmocka_unit_test(test_groups_grow_past_the_old_limit),
        cmocka_unit_test(test_cap_is_refused_with_a_clear_message),
        cmocka_unit_test(test_duplicate_group_leaves_list_unchanged),
        cmocka_unit_test(test_group_name_rules),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
