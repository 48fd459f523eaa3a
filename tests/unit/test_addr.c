/* test_addr.c - unit tests for core/addr. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "rsm/addr.h"
#include "rsm/err.h"

static void test_parse_ipv4(void **state)
{
    struct rsm_addr a;
    char err[RSM_ERRMSG_SIZE];

    assert_int_equal(rsm_addr_parse("127.0.0.1:6379", &a, err, sizeof err), 0);
    assert_string_equal(a.host, "127.0.0.1");
    assert_int_equal(a.port, 6379);
}

static void test_parse_name_and_v6(void **state)
{
    struct rsm_addr a;
    char buf[RSM_ADDR_STRLEN];

    assert_int_equal(rsm_addr_parse("redis-0.redis.ns.svc:7000", &a, NULL, 0),
                     0);
    assert_string_equal(a.host, "redis-0.redis.ns.svc");
    assert_int_equal(rsm_addr_parse("[::1]:6380", &a, NULL, 0), 0);
    assert_string_equal(a.host, "::1");
    assert_string_equal(rsm_addr_format(&a, buf, sizeof buf), "[::1]:6380");
}

/* Found by fuzz_flags: what is formatted parses back to the same address
 * (a bracketed host without ':' used to be accepted and then written back
 * without its brackets). */
static void test_format_parses_back(void **state)
{
    static const char *const good[] = {
        "[fe80::1%eth0]:6379",
        "[::ffff:10.0.0.1]:1",
        "10.0.0.1:65535",
        "Redis-0.redis_svc:7",
    };
    struct rsm_addr a, b;
    char buf[RSM_ADDR_STRLEN];

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(rsm_addr_parse(good[i], &a, NULL, 0), 0);
        rsm_addr_format(&a, buf, sizeof buf);
        assert_string_equal(buf, good[i]);
        assert_int_equal(rsm_addr_parse(buf, &b, NULL, 0), 0);
        assert_string_equal(a.host, b.host);
        assert_int_equal(a.port, b.port);
    }
}

static void test_parse_errors(void **state)
{
    static const char *const bad[] = {
        "",          "host",      "host:",    ":6379",
        "h:0",       "h:65536",   "h:12a",    "h:-1",
        "::1:6379",  "[::1:6379", "a b:6379", "h:99999999999999999999",
        "[::1]6379", "[]:6379",   "[a%b]:7",  "[redis]:6379",
    };
    struct rsm_addr a;
    char err[RSM_ERRMSG_SIZE];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(rsm_addr_parse(bad[i], &a, err, sizeof err),
                         RSM_EINVAL);
        assert_true(strlen(err) > 0);
    }
}

static void test_equal_and_compare(void **state)
{
    struct rsm_addr a, b;

    assert_int_equal(rsm_addr_set(&a, "Host", 1, NULL, 0), 0);
    assert_int_equal(rsm_addr_set(&b, "host", 1, NULL, 0), 0);
    assert_true(rsm_addr_equal(&a, &b));
    assert_int_equal(rsm_addr_compare(&a, &b), 0);
    b.port = 2;
    assert_false(rsm_addr_equal(&a, &b));
    assert_true(rsm_addr_compare(&a, &b) < 0);
    assert_int_equal(rsm_addr_set(&a, "", 1, NULL, 0), RSM_EINVAL);
    assert_int_equal(rsm_addr_set(&a, "h", 70000, NULL, 0), RSM_EINVAL);
}

static void test_strerror_total(void **state)
{
    for (int i = 0; i < RSM_E_COUNT; i++)
        assert_string_not_equal(rsm_strerror(i), "unknown error");
    assert_string_equal(rsm_strerror(-1), "unknown error");
    assert_string_equal(rsm_strerror(RSM_E_COUNT), "unknown error");
}

static void test_is_set_and_format_or(void **state)
{
    struct rsm_addr a = {0};
    char buf[RSM_ADDR_STRLEN];

    (void)state;
    assert_false(rsm_addr_is_set(&a));
    assert_string_equal(rsm_addr_format_or(&a, buf, sizeof buf, "none"),
                        "none");
    snprintf(a.host, sizeof a.host, "10.0.0.1");
    assert_false(rsm_addr_is_set(&a)); /* a host without a port */
    a.port = 6379;
    assert_true(rsm_addr_is_set(&a));
    assert_string_equal(rsm_addr_format_or(&a, buf, sizeof buf, "none"),
                        "10.0.0.1:6379");
    a.host[0] = '\0';
    assert_false(rsm_addr_is_set(&a)); /* a port without a host */
}

static void test_member_id_parse(void **state)
{
    uint64_t id = 7;

    (void)state;
    assert_int_equal(rsm_member_id_parse("12", 2, &id), 0);
    assert_int_equal(id, 12);
    assert_int_equal(rsm_member_id_parse("3=x", 1, &id), 0);
    assert_int_equal(id, 3);
    assert_int_equal(rsm_member_id_parse("18446744073709551615", 20, &id), 0);
    assert_true(id == UINT64_MAX);
    id = 7;
    assert_int_equal(rsm_member_id_parse("18446744073709551616", 20, &id),
                     RSM_EINVAL);
    assert_int_equal(rsm_member_id_parse("0", 1, &id), RSM_EINVAL);
    assert_int_equal(rsm_member_id_parse("", 0, &id), RSM_EINVAL);
    assert_int_equal(rsm_member_id_parse("-1", 2, &id), RSM_EINVAL);
    assert_int_equal(rsm_member_id_parse("+1", 2, &id), RSM_EINVAL);
    assert_int_equal(rsm_member_id_parse("1 ", 2, &id), RSM_EINVAL);
    assert_int_equal(id, 7); /* untouched on error */
}

/* A port alone, its errors named as the caller says. */
static void test_parse_port_names_what(void **state)
{
    uint16_t port = 7;
    char err[RSM_ERRMSG_SIZE];

    (void)state;
    assert_int_equal(
        rsm_addr_parse_port("6380", "API port", &port, err, sizeof err), 0);
    assert_int_equal(port, 6380);
    assert_int_equal(
        rsm_addr_parse_port("", "API port", &port, err, sizeof err),
        RSM_EINVAL);
    assert_string_equal(err, "missing API port");
    assert_int_equal(
        rsm_addr_parse_port("6x", "API port", &port, err, sizeof err),
        RSM_EINVAL);
    assert_string_equal(err, "API port '6x' is not a number");
    assert_int_equal(
        rsm_addr_parse_port("65536", "port", &port, err, sizeof err),
        RSM_EINVAL);
    assert_string_equal(err, "port '65536' out of range 1-65535");
    assert_int_equal(rsm_addr_parse_port("0", "port", &port, err, sizeof err),
                     RSM_EINVAL);
    assert_int_equal(port, 6380); /* untouched on error */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ipv4),
        cmocka_unit_test(test_parse_name_and_v6),
        cmocka_unit_test(test_format_parses_back),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_equal_and_compare),
        cmocka_unit_test(test_strerror_total),
        cmocka_unit_test(test_is_set_and_format_or),
        cmocka_unit_test(test_member_id_parse),
        cmocka_unit_test(test_parse_port_names_what),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
