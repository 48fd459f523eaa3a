/* test_tls_session.c - unit tests for net/tls_session: a client and a
 * server session talking through memory only (each one's output is put
 * into the other), with certificates made at run time
 * (tests/support/test_pki.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsm/err.h"
#include "rsm/tls.h"
#include "rsm/tls_session.h"
#include "test_pki.h"

#define path test_pki_path

static int setup(void **state)
{
    (void)state;
    if (test_pki_setup() != 0)
        return -1;
    test_pki_cert("agent-1", "ca", 2, "DNS:agent-1,IP:127.0.0.1");
    test_pki_cert("agent-2", "ca", 2, "DNS:agent-2,IP:127.0.0.2");
    test_pki_cert("stranger", "ca2", 2, "DNS:agent-1,IP:127.0.0.1");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return test_pki_teardown();
}

static struct rsm_tls *ctx(enum rsm_tls_side side, const char *name,
                           const char *ca, enum rsm_tls_auth_clients auth)
{
    char crt[64], key[64], cafile[64], msg[RSM_ERRMSG_SIZE];
    struct rsm_tls_config cfg = {.side = side, .auth_clients = auth};
    struct rsm_tls *t = NULL;

    if (name != NULL) {
        snprintf(crt, sizeof crt, "%s.crt", name);
        snprintf(key, sizeof key, "%s.key", name);
        cfg.cert_file = strdup(path(crt));
        cfg.key_file = strdup(path(key));
    }
    snprintf(cafile, sizeof cafile, "%s.crt", ca);
    cfg.ca_file = strdup(path(cafile));
    if (rsm_tls_create(&cfg, &t, msg, sizeof msg) != 0)
        fail_msg("context: %s", msg);
    free((char *)cfg.cert_file);
    free((char *)cfg.key_file);
    free((char *)cfg.ca_file);
    return t;
}

/* Move a's output into b; true if there was some. */
static bool pass(struct rsm_tls_session *a, struct rsm_tls_session *b)
{
    char *buf;
    size_t n;

    assert_int_equal(rsm_tls_session_output(a, &buf, &n), 0);
    if (n == 0)
        return false;
    assert_int_equal(rsm_tls_session_put(b, buf, n), 0);
    free(buf);
    return true;
}

/* Read s until it wants more; the plaintext into got (cap bytes), the
 * last result returned. */
static ssize_t drain(struct rsm_tls_session *s, char *got, size_t cap,
                     size_t *have, char *why, size_t why_size)
{
    ssize_t n;

    for (;;) {
        n = rsm_tls_session_read(s, got + *have, cap - *have, why, why_size);
        if (n <= 0)
            return n;
        *have += (size_t)n;
    }
}

struct pair {
    struct rsm_tls_session *c, *s;
    ssize_t c_last, s_last;
    char c_why[RSM_ERRMSG_SIZE], s_why[RSM_ERRMSG_SIZE];
    char c_got[256], s_got[256];
    size_t c_have, s_have;
};

/* Shuttle bytes both ways until neither side has output. */
static void run(struct pair *p)
{
    for (int round = 0; round < 20; round++) {
        bool moved = pass(p->c, p->s);

        p->s_last = drain(p->s, p->s_got, sizeof p->s_got, &p->s_have, p->s_why,
                          sizeof p->s_why);
        moved = pass(p->s, p->c) || moved;
        p->c_last = drain(p->c, p->c_got, sizeof p->c_got, &p->c_have, p->c_why,
                          sizeof p->c_why);
        if (!moved)
            return;
    }
    fail_msg("sessions still talking after 20 rounds");
}

static void pair_open(struct pair *p, struct rsm_tls *client,
                      struct rsm_tls *server, const char *host)
{
    memset(p, 0, sizeof *p);
    assert_int_equal(rsm_tls_session_new(client, host, &p->c), 0);
    assert_int_equal(rsm_tls_session_new(server, NULL, &p->s), 0);
    run(p);
}

static void pair_close(struct pair *p)
{
    rsm_tls_session_free(p->c);
    rsm_tls_session_free(p->s);
}

static void test_mutual_handshake_and_data(void **state)
{
    struct rsm_tls *cl = ctx(RSM_TLS_CLIENT, "agent-1", "ca", 0);
    struct rsm_tls *sv = ctx(RSM_TLS_SERVER, "agent-2", "ca", RSM_TLS_AUTH_YES);
    char subject[128];
    struct pair p;

    (void)state;
    pair_open(&p, cl, sv, "agent-2");
    assert_true(rsm_tls_session_established(p.c));
    assert_true(rsm_tls_session_established(p.s));
    assert_int_equal(rsm_tls_session_write(p.c, "PING\r\n", 6), 0);
    run(&p);
    assert_int_equal(p.s_have, 6);
    assert_memory_equal(p.s_got, "PING\r\n", 6);
    assert_int_equal(rsm_tls_session_write(p.s, "+PONG\r\n", 7), 0);
    run(&p);
    assert_int_equal(p.c_have, 7);
    /* Each side knows who the other is. */
    assert_true(rsm_tls_session_peer_is(p.s, "agent-1"));
    assert_true(rsm_tls_session_peer_is(p.s, "127.0.0.1"));
    assert_false(rsm_tls_session_peer_is(p.s, "agent-2"));
    assert_false(rsm_tls_session_peer_is(p.s, "127.0.0.2"));
    assert_true(rsm_tls_session_peer_is(p.c, "127.0.0.2"));
    rsm_tls_session_peer_subject(p.s, subject, sizeof subject);
    assert_non_null(strstr(subject, "CN=agent-1"));
    /* close_notify ends the other side's session. */
    rsm_tls_session_shutdown(p.c);
    run(&p);
    assert_int_equal(p.s_last, RSM_TLS_CLOSED);
    pair_close(&p);
    rsm_tls_free(cl);
    rsm_tls_free(sv);
}

static void test_server_of_another_name_is_refused(void **state)
{
    struct rsm_tls *cl = ctx(RSM_TLS_CLIENT, NULL, "ca", 0);
    struct rsm_tls *sv = ctx(RSM_TLS_SERVER, "agent-2", "ca", RSM_TLS_AUTH_NO);
    struct pair p;

    (void)state;
    pair_open(&p, cl, sv, "agent-3");
    assert_int_equal(p.c_last, RSM_TLS_FAILED);
    assert_false(rsm_tls_session_established(p.c));
    assert_non_null(strstr(p.c_why, "certificate verify failed"));
    pair_close(&p);
    /* By IP too. */
    pair_open(&p, cl, sv, "127.0.0.9");
    assert_int_equal(p.c_last, RSM_TLS_FAILED);
    pair_close(&p);
    /* The right name passes, also without a client certificate here. */
    pair_open(&p, cl, sv, "agent-2");
    assert_true(rsm_tls_session_established(p.c));
    assert_false(rsm_tls_session_peer_is(p.s, "agent-1"));
    pair_close(&p);
    rsm_tls_free(cl);
    rsm_tls_free(sv);
}

static void test_certificate_of_another_ca_is_refused(void **state)
{
    struct rsm_tls *cl = ctx(RSM_TLS_CLIENT, "stranger", "ca", 0);
    struct rsm_tls *sv = ctx(RSM_TLS_SERVER, "agent-2", "ca", RSM_TLS_AUTH_YES);
    struct rsm_tls *cl2 = ctx(RSM_TLS_CLIENT, "agent-1", "ca2", 0);
    struct pair p;

    (void)state;
    /* A client from another CA: the server refuses it. */
    pair_open(&p, cl, sv, "agent-2");
    assert_int_equal(p.s_last, RSM_TLS_FAILED);
    assert_non_null(strstr(p.s_why, "certificate"));
    assert_false(rsm_tls_session_established(p.s));
    pair_close(&p);
    /* A client that trusts another CA: it refuses the server. */
    pair_open(&p, cl2, sv, "agent-2");
    assert_int_equal(p.c_last, RSM_TLS_FAILED);
    if (strstr(p.c_why, "certificate verify failed") == NULL)
        fail_msg("client: %s", p.c_why);
    pair_close(&p);
    rsm_tls_free(cl);
    rsm_tls_free(cl2);
    rsm_tls_free(sv);
}

static void test_auth_clients_modes(void **state)
{
    struct rsm_tls *anon = ctx(RSM_TLS_CLIENT, NULL, "ca", 0);
    struct rsm_tls *yes =
        ctx(RSM_TLS_SERVER, "agent-2", "ca", RSM_TLS_AUTH_YES);
    struct rsm_tls *opt =
        ctx(RSM_TLS_SERVER, "agent-2", "ca", RSM_TLS_AUTH_OPTIONAL);
    struct pair p;

    (void)state;
    pair_open(&p, anon, yes, "agent-2");
    assert_int_equal(p.s_last, RSM_TLS_FAILED);
    assert_non_null(strstr(p.s_why, "certificate"));
    pair_close(&p);
    pair_open(&p, anon, opt, "agent-2");
    assert_true(rsm_tls_session_established(p.s));
    assert_true(rsm_tls_session_established(p.c));
    pair_close(&p);
    rsm_tls_free(anon);
    rsm_tls_free(yes);
    rsm_tls_free(opt);
}

static void test_plaintext_on_a_tls_server_fails_cleanly(void **state)
{
    struct rsm_tls *sv = ctx(RSM_TLS_SERVER, "agent-2", "ca", RSM_TLS_AUTH_NO);
    struct rsm_tls_session *s;
    static const char ping[] = "*1\r\n$4\r\nPING\r\n";
    char out[64], why[RSM_ERRMSG_SIZE];

    (void)state;
    assert_int_equal(rsm_tls_session_new(sv, NULL, &s), 0);
    assert_int_equal(rsm_tls_session_put(s, ping, sizeof ping - 1), 0);
    assert_int_equal(rsm_tls_session_read(s, out, sizeof out, why, sizeof why),
                     RSM_TLS_FAILED);
    assert_true(why[0] != '\0');
    /* And stays failed. */
    assert_int_equal(rsm_tls_session_read(s, out, sizeof out, why, sizeof why),
                     RSM_TLS_FAILED);
    assert_int_equal(rsm_tls_session_write(s, "x", 1), RSM_EPROTO);
    rsm_tls_session_free(s);
    rsm_tls_free(sv);
}

static void test_reload_serves_the_new_certificate(void **state)
{
    struct rsm_tls_config cfg = {.side = RSM_TLS_SERVER,
                                 .auth_clients = RSM_TLS_AUTH_NO,
                                 .cert_file = path("live.crt"),
                                 .key_file = path("live.key"),
                                 .ca_file = path("ca.crt")};
    struct rsm_tls *cl = ctx(RSM_TLS_CLIENT, NULL, "ca", 0);
    struct rsm_tls *sv = NULL;
    struct pair old, p;
    char msg[RSM_ERRMSG_SIZE];

    (void)state;
    test_pki_run("cp agent-1.crt live.crt && cp agent-1.key live.key");
    assert_int_equal(rsm_tls_create(&cfg, &sv, msg, sizeof msg), 0);
    pair_open(&old, cl, sv, "agent-1");
    assert_true(rsm_tls_session_established(old.c));
    test_pki_run("cp agent-2.crt live.crt && cp agent-2.key live.key");
    assert_int_equal(rsm_tls_reload(sv, msg, sizeof msg), 0);
    pair_open(&p, cl, sv, "agent-2");
    assert_true(rsm_tls_session_established(p.c));
    pair_close(&p);
    pair_open(&p, cl, sv, "agent-1");
    assert_int_equal(p.c_last, RSM_TLS_FAILED);
    pair_close(&p);
    /* The session made before the reload still works. */
    assert_int_equal(rsm_tls_session_write(old.c, "hi", 2), 0);
    run(&old);
    assert_int_equal(old.s_have, 2);
    pair_close(&old);
    rsm_tls_free(sv);
    rsm_tls_free(cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mutual_handshake_and_data),
        cmocka_unit_test(test_server_of_another_name_is_refused),
        cmocka_unit_test(test_certificate_of_another_ca_is_refused),
        cmocka_unit_test(test_auth_clients_modes),
        cmocka_unit_test(test_plaintext_on_a_tls_server_fails_cleanly),
        cmocka_unit_test(test_reload_serves_the_new_certificate),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
