/* test_ctl_tlsflags.c - unit tests for rsmctl's TLS flags
 * (src/ctl/tlsflags.c, compiled into this test as is, since the ctl
 * sources are not in a library): flags, variables, the checks and the
 * client context. Certificates are made at run time (test_pki.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../../src/ctl/tlsflags.c"
#include "test_pki.h"

static int setup(void **state)
{
    (void)state;
    unsetenv("RSM_TLS");
    unsetenv("RSM_TLS_CACERT");
    unsetenv("RSM_TLS_CERT");
    unsetenv("RSM_TLS_KEY");
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    if (test_pki_setup() != 0)
        return -1;
    test_pki_cert("client", "ca", 2, NULL);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    return test_pki_teardown();
}

static void test_off_by_default(void **state)
{
    struct tlsflags t = {0};
    char err[256];

    (void)state;
    assert_int_equal(tlsflags_option(&t, 'a', "x"), RSM_ENOTFOUND);
    assert_int_equal(tlsflags_finish(&t, err, sizeof err), 0);
    assert_false(t.on);
    assert_null(t.ctx);
}

static void test_file_flag_needs_tls(void **state)
{
    struct tlsflags t = {0};
    char err[256];

    (void)state;
    assert_int_equal(tlsflags_option(&t, TLSFLAGS_OPT_CACERT, "ca.crt"), 0);
    assert_int_equal(tlsflags_finish(&t, err, sizeof err), RSM_EINVAL);
    assert_non_null(strstr(err, "need --tls"));
    assert_null(t.ctx);
}

static void test_tls_with_a_ca(void **state)
{
    struct tlsflags t = {0};
    char err[256];

    (void)state;
    assert_int_equal(tlsflags_option(&t, TLSFLAGS_OPT_TLS, NULL), 0);
    assert_int_equal(
        tlsflags_option(&t, TLSFLAGS_OPT_CACERT, test_pki_path("ca.crt")), 0);
    assert_int_equal(tlsflags_finish(&t, err, sizeof err), 0);
    assert_non_null(t.ctx);
    assert_int_equal(rsm_tls_side(t.ctx), RSM_TLS_CLIENT);
    tlsflags_free(&t);
    assert_null(t.ctx);
    tlsflags_free(&t); /* twice: nothing */
}

static void test_client_certificate(void **state)
{
    struct tlsflags t = {0};
    char err[256];

    (void)state;
    tlsflags_option(&t, TLSFLAGS_OPT_TLS, NULL);
    tlsflags_option(&t, TLSFLAGS_OPT_CERT, test_pki_path("client.crt"));
    assert_int_equal(tlsflags_finish(&t, err, sizeof err), RSM_EINVAL);
    assert_non_null(strstr(err, "without a key"));
    tlsflags_option(&t, TLSFLAGS_OPT_KEY, test_pki_path("client.key"));
    assert_int_equal(tlsflags_finish(&t, err, sizeof err), 0);
    assert_non_null(t.ctx);
    tlsflags_free(&t);
}

static void test_variables(void **state)
{
    struct tlsflags t = {0};
    char err[256];

    (void)state;
    /* files from the variables are read only with TLS on */
    setenv("RSM_TLS_CACERT", "/nonexistent/ca.crt", 1);
    assert_int_equal(tlsflags_finish(&t, err, sizeof err), 0);
    assert_null(t.ctx);
    setenv("RSM_TLS", "yes", 1);
    assert_int_equal(tlsflags_finish(&t, err, sizeof err), RSM_EINVAL);
    assert_true(t.on);
    assert_non_null(strstr(err, "/nonexistent/ca.crt"));
    /* a flag wins over its variable */
    memset(&t, 0, sizeof t);
    tlsflags_option(&t, TLSFLAGS_OPT_CACERT, test_pki_path("ca.crt"));
    assert_int_equal(tlsflags_finish(&t, err, sizeof err), 0);
    assert_non_null(t.ctx);
    tlsflags_free(&t);
    setenv("RSM_TLS", "maybe", 1);
    memset(&t, 0, sizeof t);
    assert_int_equal(tlsflags_finish(&t, err, sizeof err), RSM_EINVAL);
    assert_non_null(strstr(err, "RSM_TLS: 'maybe' is not a boolean"));
    setenv("RSM_TLS", "off", 1);
    assert_int_equal(tlsflags_finish(&t, err, sizeof err), 0);
    assert_false(t.on);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_off_by_default, setup),
        cmocka_unit_test_setup(test_file_flag_needs_tls, setup),
        cmocka_unit_test_setup(test_tls_with_a_ca, setup),
        cmocka_unit_test_setup(test_client_certificate, setup),
        cmocka_unit_test_setup(test_variables, setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
