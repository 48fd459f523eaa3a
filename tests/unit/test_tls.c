/* test_tls.c - unit tests for net/tls: the TLS client context of the links
 * to Redis, and its errors at start (each names the file). The
 * certificates are made at run time with the openssl CLI in a temp dir:
 * no key is committed. */
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

static char dir[64];

/* dir/name */
static const char *path(const char *name)
{
    static char buf[4][128];
    static unsigned next;
    char *p = buf[next++ % 4];

    snprintf(p, sizeof buf[0], "%s/%s", dir, name);
    return p;
}

static void run(const char *cmd)
{
    char buf[1024];

    snprintf(buf, sizeof buf, "cd %s && %s >/dev/null 2>&1", dir, cmd);
    assert_int_equal(system(buf), 0);
}

/* name.crt/name.key signed by the CA, valid for `days` (negative: expired
 * since) */
static void make_cert(const char *name, int days)
{
    char cmd[512];

    snprintf(cmd, sizeof cmd,
             "openssl req -newkey rsa:2048 -nodes -subj /CN=%s -keyout "
             "%s.key -out %s.csr && openssl x509 -req -in %s.csr -CA ca.crt "
             "-CAkey ca.key -CAcreateserial -days %d -out %s.crt",
             name, name, name, name, days, name);
    run(cmd);
}

static int setup(void **state)
{
    FILE *f;

    (void)state;
    snprintf(dir, sizeof dir, "/tmp/rsm-test-tls-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=ca "
        "-keyout ca.key -out ca.crt");
    make_cert("client", 2);
    make_cert("other", 2);
    make_cert("old", -1);
    f = fopen(path("junk.pem"), "w");
    if (f == NULL)
        return -1;
    fputs("not a certificate\n", f);
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
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
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
