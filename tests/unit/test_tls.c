/* test_tls.c - unit tests for net/tls: the TLS contexts, and their errors
 * at start (each names the file). The certificates are made at run time
 * (tests/support/test_pki.h): no key is committed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rsm/err.h"
#include "rsm/tls.h"
#include "test_pki.h"

#define path test_pki_path

static int setup(void **state)
{
    FILE *f;

    (void)state;
    if (test_pki_setup() != 0)
        return -1;
    test_pki_cert("client", "ca", 2, NULL);
    test_pki_cert("other", "ca", 2, NULL);
    test_pki_cert("old", "ca", -1, NULL);
    f = fopen(path("junk.pem"), "w");
    if (f == NULL)
        return -1;
    fputs("not a certificate\n", f);
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return test_pki_teardown();
}

/* rsm_tls_create(cfg) fails with RSM_EINVAL and a message holding want */
static void assert_fails(const struct rsm_tls_config *cfg, const char *want)
{
    struct rsm_tls *t = NULL;
    char msg[RSM_ERRMSG_SIZE];

    assert_int_equal(rsm_tls_create(cfg, &t, msg, sizeof msg), RSM_EINVAL);
    assert_null(t);
    if (strstr(msg, want) == NULL)
        fail_msg("'%s' not in '%s'", want, msg);
}

static void test_good_files_make_a_context(void **state)
{
    struct rsm_tls_config cfg = {.cert_file = path("client.crt"),
                                 .key_file = path("client.key"),
                                 .ca_file = path("ca.crt"),
                                 .protocols = "TLSv1.2 TLSv1.3"};
    struct rsm_tls *t = NULL;
    char msg[RSM_ERRMSG_SIZE];

    (void)state;
    assert_int_equal(rsm_tls_create(&cfg, &t, msg, sizeof msg), 0);
    assert_non_null(t);
    assert_non_null(rsm_tls_ctx(t));
    rsm_tls_free(t);
}

static void test_no_files_uses_the_system_trust(void **state)
{
    struct rsm_tls_config cfg = {0};
    struct rsm_tls *t = NULL;
    char msg[RSM_ERRMSG_SIZE];

    (void)state;
    assert_int_equal(rsm_tls_create(&cfg, &t, msg, sizeof msg), 0);
    rsm_tls_free(t);
}

static void test_missing_file_is_named(void **state)
{
    struct rsm_tls_config cfg = {.cert_file = path("client.crt"),
                                 .key_file = path("missing.key")};
    struct rsm_tls_config ca = {.ca_file = path("missing-ca.crt")};

    (void)state;
    assert_fails(&cfg, "missing.key: No such file");
    assert_fails(&ca, "missing-ca.crt: No such file");
}

static void test_garbage_pem_is_named(void **state)
{
    struct rsm_tls_config cert = {.cert_file = path("junk.pem"),
                                  .key_file = path("client.key")};
    struct rsm_tls_config key = {.cert_file = path("client.crt"),
                                 .key_file = path("junk.pem")};
    struct rsm_tls_config ca = {.ca_file = path("junk.pem")};

    (void)state;
    assert_fails(&cert, "tls cert file");
    assert_fails(&cert, "junk.pem: not a PEM certificate");
    assert_fails(&key, "junk.pem: not a PEM private key");
    assert_fails(&ca, "junk.pem: no PEM certificate");
}

static void test_key_of_another_cert_is_refused(void **state)
{
    struct rsm_tls_config cfg = {.cert_file = path("client.crt"),
                                 .key_file = path("other.key")};

    (void)state;
    assert_fails(&cfg, "other.key does not match");
}

static void test_expired_cert_is_refused(void **state)
{
    struct rsm_tls_config cfg = {.cert_file = path("old.crt"),
                                 .key_file = path("old.key")};

    (void)state;
    assert_fails(&cfg, "old.crt: certificate expired");
}

static void test_cert_and_key_go_together(void **state)
{
    struct rsm_tls_config cert = {.cert_file = path("client.crt")};
    struct rsm_tls_config key = {.key_file = path("client.key")};

    (void)state;
    assert_fails(&cert, "without a key file");
    assert_fails(&key, "without a certificate file");
}

static void test_a_server_needs_a_certificate(void **state)
{
    struct rsm_tls_config cfg = {.side = RSM_TLS_SERVER,
                                 .ca_file = path("ca.crt")};

    (void)state;
    assert_fails(&cfg, "needs --tls-cert-file");
}

static void test_reload_keeps_the_old_context_on_error(void **state)
{
    struct rsm_tls_config cfg = {.side = RSM_TLS_SERVER,
                                 .cert_file = path("live.crt"),
                                 .key_file = path("live.key"),
                                 .ca_file = path("ca.crt")};
    struct rsm_tls *t = NULL;
    char msg[RSM_ERRMSG_SIZE];
    void *before, *after;

    (void)state;
    test_pki_run("cp client.crt live.crt && cp client.key live.key");
    assert_int_equal(rsm_tls_create(&cfg, &t, msg, sizeof msg), 0);
    before = rsm_tls_ctx(t);
    test_pki_run("cp junk.pem live.crt");
    assert_int_equal(rsm_tls_reload(t, msg, sizeof msg), RSM_EINVAL);
    assert_non_null(strstr(msg, "live.crt: not a PEM certificate"));
    assert_ptr_equal(rsm_tls_ctx(t), before);
    test_pki_run("cp old.crt live.crt && cp old.key live.key");
    assert_int_equal(rsm_tls_reload(t, msg, sizeof msg), RSM_EINVAL);
    assert_non_null(strstr(msg, "live.crt: certificate expired"));
    assert_ptr_equal(rsm_tls_ctx(t), before);
    test_pki_run("cp other.crt live.crt && cp other.key live.key");
    assert_int_equal(rsm_tls_reload(t, msg, sizeof msg), 0);
    after = rsm_tls_ctx(t);
    assert_ptr_not_equal(after, NULL);
    assert_int_equal(rsm_tls_side(t), RSM_TLS_SERVER);
    rsm_tls_free(t);
}

static void test_bad_protocols_and_suites(void **state)
{
    struct rsm_tls_config proto = {.protocols = "TLSv1.2 SSLv3"};
    struct rsm_tls_config none = {.protocols = " , "};
    struct rsm_tls_config suites = {.ciphersuites = "NO_SUCH_SUITE"};

    (void)state;
    assert_fails(&proto, "unknown 'SSLv3'");
    assert_fails(&none, "none given");
    assert_fails(&suites, "NO_SUCH_SUITE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_files_make_a_context),
        cmocka_unit_test(test_no_files_uses_the_system_trust),
        cmocka_unit_test(test_missing_file_is_named),
        cmocka_unit_test(test_garbage_pem_is_named),
        cmocka_unit_test(test_key_of_another_cert_is_refused),
        cmocka_unit_test(test_expired_cert_is_refused),
        cmocka_unit_test(test_cert_and_key_go_together),
        cmocka_unit_test(test_bad_protocols_and_suites),
        cmocka_unit_test(test_a_server_needs_a_certificate),
        cmocka_unit_test(test_reload_keeps_the_old_context_on_error),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
