/* test_groupconf.c - unit tests for core/groupconf: SENTINEL SET's
 * options and values (Sentinel's error texts), the options refused and
 * why (auth-pass is never echoed), the range rules of an entry, merging,
 * and the overlay on the agent's flags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rsm/detector.h"
#include "rsm/err.h"
#include "rsm/groupconf.h"
#include "rsm/planner.h"

static void parse_ok(struct rsm_group_settings *s, const char *opt,
                     const char *val)
{
    char err[RSM_ERRMSG_SIZE] = "";

    if (rsm_groupconf_parse(s, opt, val, err, sizeof err) != 0)
        fail_msg("%s %s: %s", opt, val, err);
}

static void parse_fails(const char *opt, const char *val, int code,
                        const char *msg)
{
    struct rsm_group_settings s = {0}, none = {0};
    char err[RSM_ERRMSG_SIZE] = "";

    assert_int_equal(rsm_groupconf_parse(&s, opt, val, err, sizeof err), code);
    if (strstr(err, msg) != err)
        fail_msg("%s %s: '%s', want '%s...'", opt, val, err, msg);
    assert_true(rsm_groupconf_equal(&s, &none)); /* nothing set */
}

static void test_parse_each_option(void **state)
{
    struct rsm_group_settings s = {0};

    parse_ok(&s, "down-after-milliseconds", "2000");
    parse_ok(&s, "QUORUM", "2");
    parse_ok(&s, "failover-timeout", "180000");
    parse_ok(&s, "Parallel-Syncs", "3");
    assert_int_equal(s.down_after_ms, 2000);
    assert_int_equal(s.quorum, 2);
    assert_int_equal(s.failover_timeout_ms, 180000);
    assert_int_equal(s.parallel_syncs, 3);
    /* the bounds are allowed */
    parse_ok(&s, "down-after-milliseconds", "1");
    parse_ok(&s, "failover-timeout", "86400000");
    parse_ok(&s, "quorum", "16");
    parse_ok(&s, "parallel-syncs", "16");
    assert_int_equal(s.down_after_ms, 1);
    assert_int_equal(s.quorum, 16);
}

/* Sentinel's texts: "Invalid argument" for a bad value, "Unknown option"
 * for an option it does not have either. */
static void test_bad_values_and_unknown_options(void **state)
{
    static const char *const bad[] = {
        "0",  "-1", "abc", "",         "12x",
        " 5", "+5", "1e3", "86400001", "99999999999999999999",
    };

    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char want[128];
        snprintf(want, sizeof want,
                 "Invalid argument '%s' for SENTINEL SET "
                 "'down-after-milliseconds'",
                 bad[i]);
        parse_fails("down-after-milliseconds", bad[i], RSM_EINVAL, want);
    }
    parse_fails("quorum", "17", RSM_EINVAL,
                "Invalid argument '17' for SENTINEL SET 'quorum'");
    parse_fails("parallel-syncs", "0", RSM_EINVAL,
                "Invalid argument '0' for SENTINEL SET 'parallel-syncs'");
    parse_fails("failover-timeout", "-5", RSM_EINVAL,
                "Invalid argument '-5' for SENTINEL SET 'failover-timeout'");
    parse_fails("nosuchopt", "1", RSM_ENOTFOUND,
                "Unknown option or number of arguments for SENTINEL SET "
                "'nosuchopt'");
}

/* Refused with why and what to use instead; the value (a password) is
 * never in the text. */
static void test_refused_options(void **state)
{
    struct rsm_group_settings s = {0};
    char err[RSM_ERRMSG_SIZE];

    assert_int_equal(
        rsm_groupconf_parse(&s, "auth-pass", "s3cr3t", err, sizeof err),
        RSM_EREJECTED);
    assert_non_null(strstr(err, "--redis-password-file"));
    assert_null(strstr(err, "s3cr3t"));
    assert_int_equal(
        rsm_groupconf_parse(&s, "AUTH-USER", "bob", err, sizeof err),
        RSM_EREJECTED);
    assert_non_null(strstr(err, "--redis-user"));
    assert_int_equal(
        rsm_groupconf_parse(&s, "notification-script", "/x", err, sizeof err),
        RSM_EREJECTED);
    assert_non_null(strstr(err, "--on-failover"));
    assert_int_equal(rsm_groupconf_parse(&s, "client-reconfig-script", "/x",
                                         err, sizeof err),
                     RSM_EREJECTED);
    assert_int_equal(
        rsm_groupconf_parse(&s, "rename-command", "CONFIG", err, sizeof err),
        RSM_EREJECTED);
    assert_int_equal(rsm_groupconf_parse(&s, "master-reboot-down-after-period",
                                         "0", err, sizeof err),
                     RSM_EREJECTED);
}

static void test_check_ranges(void **state)
{
    struct rsm_group_settings s = {0};
    char err[RSM_ERRMSG_SIZE];

    assert_int_equal(rsm_groupconf_check(&s, false, err, sizeof err), 0);
    assert_int_equal(rsm_groupconf_check(&s, true, err, sizeof err),
                     RSM_EINVAL);
    assert_string_equal(err, "settings: none set");
    s.quorum = 3;
    assert_int_equal(rsm_groupconf_check(&s, true, err, sizeof err), 0);
    s.down_after_ms = -1;
    assert_int_equal(rsm_groupconf_check(&s, true, err, sizeof err),
                     RSM_EINVAL);
    assert_non_null(strstr(err, "down_after_ms: -1"));
    s.down_after_ms = RSM_GROUPCONF_MS_MAX + 1;
    assert_int_equal(rsm_groupconf_check(&s, true, err, sizeof err),
                     RSM_EINVAL);
    s.down_after_ms = 0;
    s.failover_timeout_ms = -7;
    assert_int_equal(rsm_groupconf_check(&s, false, err, sizeof err),
                     RSM_EINVAL);
    assert_non_null(strstr(err, "failover_timeout_ms"));
    s.failover_timeout_ms = 0;
    s.quorum = 17;
    assert_int_equal(rsm_groupconf_check(&s, false, err, sizeof err),
                     RSM_EINVAL);
    s.quorum = 0;
    s.parallel_syncs = 17;
    assert_int_equal(rsm_groupconf_check(&s, false, err, sizeof err),
                     RSM_EINVAL);
    assert_non_null(strstr(err, "parallel_syncs: 17"));
}

static void test_merge_keeps_what_is_not_set(void **state)
{
    struct rsm_group_settings g = {.down_after_ms = 5000, .quorum = 2};
    struct rsm_group_settings e = {.quorum = 3, .parallel_syncs = 2};

    rsm_groupconf_merge(&g, &e);
    assert_int_equal(g.down_after_ms, 5000);
    assert_int_equal(g.quorum, 3);
    assert_int_equal(g.failover_timeout_ms, 0);
    assert_int_equal(g.parallel_syncs, 2);
}

/* The group's settings win over the flags; what it does not set keeps
 * the flag's value. */
static void test_apply_overlays_the_flags(void **state)
{
    struct rsm_detector_config dc;
    struct rsm_planner_config pc;
    struct rsm_group_settings none = {0};
    struct rsm_group_settings s = {.down_after_ms = 20000,
                                   .failover_timeout_ms = 9000};

    rsm_detector_config_init(&dc);
    rsm_planner_config_init(&pc);
    dc.down_after_ms = pc.down_after_ms = 1000;
    dc.quorum = 0;
    rsm_groupconf_apply(&none, &dc, &pc);
    assert_int_equal(dc.down_after_ms, 1000);
    assert_int_equal(pc.failover_timeout_ms, 60000);
    rsm_groupconf_apply(&s, &dc, &pc);
    assert_int_equal(dc.down_after_ms, 20000);
    assert_int_equal(pc.down_after_ms, 20000);
    assert_int_equal(dc.quorum, 0); /* majority, as the flag said */
    assert_int_equal(pc.failover_timeout_ms, 9000);
    assert_int_equal(pc.parallel_syncs, 1);
    s.quorum = 1;
    s.parallel_syncs = 4;
    rsm_groupconf_apply(&s, &dc, NULL);
    assert_int_equal(dc.quorum, 1);
    rsm_groupconf_apply(&s, NULL, &pc);
    assert_int_equal(pc.parallel_syncs, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_each_option),
        cmocka_unit_test(test_bad_values_and_unknown_options),
        cmocka_unit_test(test_refused_options),
        cmocka_unit_test(test_check_ranges),
        cmocka_unit_test(test_merge_keeps_what_is_not_set),
        cmocka_unit_test(test_apply_overlays_the_flags),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
