/* test_globalconf.c - unit tests for core/globalconf: SENTINEL CONFIG GET
 * (Sentinel's order, glob patterns, case, sentinel-pass never shown) and
 * SET (what is accepted, refused with why, Sentinel's error texts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "rsm/err.h"
#include "rsm/globalconf.h"

static struct rsm_globalconf conf(void)
{
    struct rsm_globalconf c;

    memset(&c, 0, sizeof c);
    assert_int_equal(rsm_addr_parse("10.1.2.3:26379", &c.announce, NULL, 0), 0);
    c.agents_password = true;
    c.log_level = RSM_GLOBALCONF_LOG_INFO;
    return c;
}

static void test_get_every_parameter_in_order(void **state)
{
    struct rsm_globalconf c = conf();
    struct rsm_globalconf_pair p[RSM_GLOBALCONF_PARAMS];
    static const char *const want[][2] = {
        {"resolve-hostnames", "yes"}, {"announce-hostnames", "yes"},
        {"announce-ip", "10.1.2.3"},  {"announce-port", "26379"},
        {"sentinel-user", ""},        {"sentinel-pass", "(hidden)"},
        {"loglevel", "notice"},
    };

    assert_int_equal(rsm_globalconf_get(&c, "*", p), 7);
    for (size_t i = 0; i < 7; i++) {
        assert_string_equal(p[i].name, want[i][0]);
        assert_string_equal(p[i].value, want[i][1]);
    }
}

static void test_get_patterns(void **state)
{
    struct rsm_globalconf c = conf();
    struct rsm_globalconf_pair p[RSM_GLOBALCONF_PARAMS];

    assert_int_equal(rsm_globalconf_get(&c, "announce-*", p), 3);
    assert_string_equal(p[2].name, "announce-port");
    assert_int_equal(rsm_globalconf_get(&c, "LOGLEVEL", p), 1);
    assert_int_equal(rsm_globalconf_get(&c, "sentinel-?ass", p), 1);
    assert_int_equal(rsm_globalconf_get(&c, "nosuch", p), 0);
    /* not known yet, no password, the other levels */
    memset(&c.announce, 0, sizeof c.announce);
    c.agents_password = false;
    c.log_level = RSM_GLOBALCONF_LOG_ERROR;
    assert_int_equal(rsm_globalconf_get(&c, "*", p), 7);
    assert_string_equal(p[2].value, "");
    assert_string_equal(p[3].value, "0");
    assert_string_equal(p[5].value, "");
    assert_string_equal(p[6].value, "nothing");
}

static int set(const char *param, const char *value,
               enum rsm_globalconf_action *a, enum rsm_globalconf_loglevel *l,
               char *err)
{
    return rsm_globalconf_set(param, value, a, l, err, RSM_ERRMSG_SIZE);
}

static void test_set(void **state)
{
    enum rsm_globalconf_action a;
    enum rsm_globalconf_loglevel l = RSM_GLOBALCONF_LOG_INFO;
    char err[RSM_ERRMSG_SIZE];

    assert_int_equal(set("loglevel", "WARNING", &a, &l, err), 0);
    assert_int_equal(a, RSM_GLOBALCONF_SET_LOGLEVEL);
    assert_int_equal(l, RSM_GLOBALCONF_LOG_WARN);
    assert_int_equal(set("loglevel", "verbose", &a, &l, err), 0);
    assert_int_equal(l, RSM_GLOBALCONF_LOG_DEBUG);
    assert_int_equal(set("loglevel", "loud", &a, &l, err), RSM_EINVAL);
    assert_string_equal(err, "Invalid value 'loud' to SENTINEL CONFIG SET "
                             "'loglevel'");
    assert_int_equal(set("resolve-hostnames", "YES", &a, &l, err), 0);
    assert_int_equal(a, RSM_GLOBALCONF_KEEP);
    assert_int_equal(set("announce-hostnames", "no", &a, &l, err),
                     RSM_EREJECTED);
    assert_int_equal(set("resolve-hostnames", "maybe", &a, &l, err),
                     RSM_EINVAL);
    assert_int_equal(set("announce-port", "1234", &a, &l, err), RSM_EREJECTED);
    assert_non_null(strstr(err, "--advertise-api"));
    assert_int_equal(set("sentinel-pass", "s3cr3t", &a, &l, err),
                     RSM_EREJECTED);
    assert_non_null(strstr(err, "--requirepass-file"));
    assert_null(strstr(err, "s3cr3t"));
    assert_int_equal(set("nosuch", "1", &a, &l, err), RSM_ENOTFOUND);
    assert_string_equal(err,
                        "Invalid argument 'nosuch' to SENTINEL CONFIG SET");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_every_parameter_in_order),
        cmocka_unit_test(test_get_patterns),
        cmocka_unit_test(test_set),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
