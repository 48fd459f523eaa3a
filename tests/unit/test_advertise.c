/* test_advertise.c - unit tests for io/advertise: the address an agent
 * advertises by default, from its bind address (rsm_advertise_default).
 * The loop around it (proposing, RSM ADVERTISE to the leader) is covered
 * by the cluster and integration tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "rsm/advertise.h"

#define FALLBACK "rsm-1.rsm.default.svc" /* the host of its --peers entry */

/* The default for a bind of host:port, out filled with junk first. */
static struct rsm_addr default_for(const char *host, uint16_t port)
{
    struct rsm_addr bind, out;

    memset(&bind, 0, sizeof bind);
    snprintf(bind.host, sizeof bind.host, "%s", host);
    bind.port = port;
    memset(&out, 0x5a, sizeof out);
    rsm_advertise_default(&bind, FALLBACK, &out);
    return out;
}

static void test_wildcard_binds_take_the_fallback_host(void **state)
{
    static const char *const wild[] = {"0.0.0.0", "", "::", "[::]"};

    (void)state;
    for (size_t i = 0; i < sizeof wild / sizeof wild[0]; i++) {
        struct rsm_addr out = default_for(wild[i], 7000 + (uint16_t)i);

        if (strcmp(out.host, FALLBACK) != 0)
            fail_msg("bind '%s' advertised as '%s'", wild[i], out.host);
        assert_int_equal(out.port, 7000 + i);
    }
}

static void test_specific_host_is_kept(void **state)
{
    static const char *const hosts[] = {
        "10.0.0.7", "127.0.0.1", "::1", "fe80::1", "rsm-2.rsm.default.svc",
        "0.0.0.1", /* not the wildcard, however close */
    };

    (void)state;
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        struct rsm_addr out = default_for(hosts[i], 7001);

        assert_string_equal(out.host, hosts[i]);
        assert_int_equal(out.port, 7001);
    }
}

/* The fallback is copied whole, the longest host name included. */
static void test_long_fallback_host_fits(void **state)
{
    struct rsm_addr bind, out;
    char longest[RSM_HOST_MAX];

    (void)state;
    memset(longest, 'h', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    memset(&bind, 0, sizeof bind);
    snprintf(bind.host, sizeof bind.host, "0.0.0.0");
    bind.port = 9000;
    rsm_advertise_default(&bind, longest, &out);
    assert_string_equal(out.host, longest);
    assert_int_equal(out.port, 9000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wildcard_binds_take_the_fallback_host),
        cmocka_unit_test(test_specific_host_is_kept),
        cmocka_unit_test(test_long_fallback_host_fits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
