/* test_pubsub.c - unit tests for io/pubsub: glob patterns, the registry
 * with a recording delivery callback, then the RESP side over a real
 * RESP server on 127.0.0.1 (kernel-chosen port): Redis's reply bytes for
 * SUBSCRIBE & co, messages pushed to subscribers, and a subscriber that
 * does not read being dropped at its output limit while others keep
 * getting their messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rsm/err.h"
#include "rsm/pubsub.h"
#include "rsm/resp_server.h"

/* ===================================================================
 * Glob patterns
 * =================================================================== */

static bool m(const char *pat, const char *s)
{
    return rsm_pubsub_match(pat, strlen(pat), s, strlen(s));
}

static void test_glob_basics(void **state)
{
    assert_true(m("*", ""));
    assert_true(m("*", "+switch-master"));
    assert_true(m("+switch-master", "+switch-master"));
    assert_false(m("+switch-master", "+switch-maste"));
    assert_false(m("+switch-master", "+switch-masterx"));
    assert_true(m("+*", "+sdown"));
    assert_false(m("+*", "-sdown"));
    assert_true(m("*down", "-odown"));
    assert_true(m("?sdown", "+sdown"));
    assert_false(m("?sdown", "sdown"));
    assert_true(m("+s*-m*r", "+switch-master"));
    assert_true(m("a*b*c", "aXbYbZc"));
    assert_false(m("a*b*c", "aXbYbZ"));
    assert_true(m("**a**", "bab"));
    assert_false(m("", "a"));
    assert_true(m("", ""));
    /* case-sensitive, like Redis's PSUBSCRIBE */
    assert_false(m("+SDOWN", "+sdown"));
}

static void test_glob_classes_and_escapes(void **state)
{
    assert_true(m("[+-]sdown", "-sdown"));
    assert_true(m("[+-]sdown", "+sdown"));
    assert_false(m("[+-]sdown", "xsdown"));
    assert_true(m("[^+]sdown", "-sdown"));
    assert_false(m("[^+]sdown", "+sdown"));
    assert_true(m("h[a-c]llo", "hbllo"));
    assert_true(m("h[c-a]llo", "hbllo")); /* reversed range */
    assert_false(m("h[a-c]llo", "hdllo"));
    assert_true(m("h[\\]]llo", "h]llo"));
    assert_true(m("a\\*b", "a*b"));
    assert_false(m("a\\*b", "aXb"));
    assert_true(m("a\\?", "a?"));
    assert_true(m("a\\", "a\\")); /* a trailing backslash is itself */
    /* an unterminated class runs to the end of the pattern */
    assert_true(m("a[bc", "ab"));
    assert_false(m("a[bc", "ad"));
    /* binary safe */
    assert_true(rsm_pubsub_match("a?c", 3, "a\0c", 3));
}

static void test_glob_hostile_pattern_is_fast(void **state)
{
    char pat[2001], s[4001];

    /* "*a*a*a...*b" against "aaaa...": a recursive matcher explodes */
    for (int i = 0; i < 1000; i++) {
        pat[2 * i] = '*';
        pat[2 * i + 1] = 'a';
    }
    pat[2000] = '\0';
    pat[1999] = 'b';
    memset(s, 'a', 4000);
    s[4000] = '\0';
    assert_false(m(pat, s));
}

/* ===================================================================
 * Registry
 * =================================================================== */

struct delivery {
    void *owner;
    char pattern[32];
    char channel[32];
    char msg[64];
};

struct rec {
    struct delivery d[64];
    size_t n;
    struct rsm_pubsub_sub *free_on_delivery[2]; /* freed by the callback */
};

static void record(void *arg, void *owner, const char *pattern, size_t plen,
                   const char *channel, size_t clen, const char *msg,
                   size_t mlen)
{
    struct rec *r = arg;
    struct delivery *d = &r->d[r->n++];

    assert_true(r->n <= 64);
    d->owner = owner;
    snprintf(d->pattern, sizeof d->pattern, "%.*s", (int)plen,
             pattern ? pattern : "");
    snprintf(d->channel, sizeof d->channel, "%.*s", (int)clen, channel);
    snprintf(d->msg, sizeof d->msg, "%.*s", (int)mlen, msg);
    for (int i = 0; i < 2; i++) {
        if (r->free_on_delivery[i] != NULL) {
            rsm_pubsub_sub_free(r->free_on_delivery[i]);
            r->free_on_delivery[i] = NULL;
        }
    }
}

static int setup_registry(void **state)
{
    struct rsm_pubsub *ps = NULL;

    assert_int_equal(rsm_pubsub_create(&ps), 0);
    *state = ps;
    return 0;
}

static int teardown_registry(void **state)
{
    rsm_pubsub_free(*state);
    return 0;
}

static int sub(struct rsm_pubsub_sub *s, bool pattern, const char *name,
               bool *added)
{
    return rsm_pubsub_subscribe(s, pattern, name, strlen(name), added);
}

static size_t publish(struct rsm_pubsub *ps, const char *ch, const char *msg,
                      struct rec *r)
{
    return rsm_pubsub_publish(ps, ch, strlen(ch), msg, strlen(msg), record, r);
}

static void test_subscribe_counts(void **state)
{
    struct rsm_pubsub *ps = *state;
    struct rsm_pubsub_sub *a = rsm_pubsub_sub_create(ps, (void *)1);
    bool added;
    size_t len;

    assert_non_null(a);
    assert_ptr_equal(rsm_pubsub_sub_owner(a), (void *)1);
    assert_int_equal(rsm_pubsub_subscribers(ps), 0);
    assert_int_equal(sub(a, false, "+sdown", &added), 0);
    assert_true(added);
    assert_int_equal(sub(a, false, "+sdown", &added), 0);
    assert_false(added); /* once only */
    assert_int_equal(sub(a, true, "+sdown", &added), 0);
    assert_true(added); /* a pattern of the same name is another one */
    assert_int_equal(sub(a, false, "-sdown", NULL), 0);
    assert_int_equal(rsm_pubsub_count(a), 3);
    assert_int_equal(rsm_pubsub_n(a, false), 2);
    assert_int_equal(rsm_pubsub_n(a, true), 1);
    assert_string_equal(rsm_pubsub_name(a, false, 1, &len), "-sdown");
    assert_int_equal(len, 6);
    assert_int_equal(rsm_pubsub_subscribers(ps), 1);
    assert_true(rsm_pubsub_unsubscribe(a, false, "+sdown", 6));
    assert_false(rsm_pubsub_unsubscribe(a, false, "+sdown", 6));
    assert_false(rsm_pubsub_unsubscribe(a, false, "+odown", 6));
    assert_int_equal(rsm_pubsub_count(a), 2);
    assert_string_equal(rsm_pubsub_name(a, false, 0, &len), "-sdown");
    assert_true(rsm_pubsub_unsubscribe(a, false, "-sdown", 6));
    assert_true(rsm_pubsub_unsubscribe(a, true, "+sdown", 6));
    assert_int_equal(rsm_pubsub_count(a), 0);
    assert_int_equal(rsm_pubsub_subscribers(ps), 0);
    rsm_pubsub_sub_free(a);
}

static void test_subscribe_limits(void **state)
{
    struct rsm_pubsub *ps = *state;
    struct rsm_pubsub_sub *a = rsm_pubsub_sub_create(ps, NULL);
    char name[RSM_PUBSUB_NAME_MAX + 2];
    bool added = true;

    memset(name, 'x', sizeof name);
    assert_int_equal(
        rsm_pubsub_subscribe(a, false, name, RSM_PUBSUB_NAME_MAX + 1, &added),
        RSM_ERANGE);
    assert_false(added);
    assert_int_equal(
        rsm_pubsub_subscribe(a, false, name, RSM_PUBSUB_NAME_MAX, NULL), 0);
    for (int i = 1; i < RSM_PUBSUB_MAX_PER_SUB; i++) {
        snprintf(name, sizeof name, "ch%d", i);
        assert_int_equal(sub(a, i % 2 == 0, name, NULL), 0);
    }
    assert_int_equal(rsm_pubsub_count(a), RSM_PUBSUB_MAX_PER_SUB);
    assert_int_equal(sub(a, false, "one-more", NULL), RSM_ERANGE);
    assert_int_equal(sub(a, false, "ch1", &added), 0); /* already in */
    assert_false(added);
    assert_int_equal(rsm_pubsub_count(a), RSM_PUBSUB_MAX_PER_SUB);
    rsm_pubsub_sub_free(a);
}

static void test_publish_channels_and_patterns(void **state)
{
    struct rsm_pubsub *ps = *state;
    struct rsm_pubsub_sub *a = rsm_pubsub_sub_create(ps, (void *)1);
    struct rsm_pubsub_sub *b = rsm_pubsub_sub_create(ps, (void *)2);
    struct rsm_pubsub_sub *c = rsm_pubsub_sub_create(ps, (void *)3);
    struct rec r = {0};

    sub(a, false, "+switch-master", NULL);
    sub(b, true, "*", NULL);
    sub(b, true, "+s*", NULL);
    sub(b, false, "+switch-master", NULL);
    sub(c, false, "+sdown", NULL);
    assert_int_equal(publish(ps, "+switch-master", "g 1 2 3 4", &r), 4);
    assert_int_equal(r.n, 4);
    /* subscribers in creation order; a subscriber's channel first */
    assert_ptr_equal(r.d[0].owner, (void *)1);
    assert_string_equal(r.d[0].pattern, "");
    assert_string_equal(r.d[0].channel, "+switch-master");
    assert_string_equal(r.d[0].msg, "g 1 2 3 4");
    assert_ptr_equal(r.d[1].owner, (void *)2);
    assert_string_equal(r.d[1].pattern, "");
    assert_string_equal(r.d[2].pattern, "*");
    assert_string_equal(r.d[3].pattern, "+s*");
    r.n = 0;
    assert_int_equal(publish(ps, "-odown", "master g 1 2", &r), 1);
    assert_string_equal(r.d[0].pattern, "*");
    r.n = 0;
    rsm_pubsub_sub_free(b);
    assert_int_equal(publish(ps, "-odown", "x", &r), 0);
    assert_int_equal(publish(ps, "+sdown", "x", &r), 1);
    assert_ptr_equal(r.d[0].owner, (void *)3);
    rsm_pubsub_sub_free(a);
    rsm_pubsub_sub_free(c);
}

static void test_free_during_publish(void **state)
{
    struct rsm_pubsub *ps = *state;
    struct rsm_pubsub_sub *a = rsm_pubsub_sub_create(ps, (void *)1);
    struct rsm_pubsub_sub *b = rsm_pubsub_sub_create(ps, (void *)2);
    struct rsm_pubsub_sub *c = rsm_pubsub_sub_create(ps, (void *)3);
    struct rec r = {0};

    sub(a, true, "*", NULL);
    sub(a, true, "e*", NULL); /* a's second match: a is gone by then */
    sub(b, false, "ev", NULL);
    sub(c, false, "ev", NULL);
    /* the first delivery (to a) frees a itself and b */
    r.free_on_delivery[0] = a;
    r.free_on_delivery[1] = b;
    assert_int_equal(publish(ps, "ev", "m", &r), 2);
    assert_ptr_equal(r.d[0].owner, (void *)1);
    assert_ptr_equal(r.d[1].owner, (void *)3);
    assert_int_equal(rsm_pubsub_subscribers(ps), 1);
    r.n = 0;
    assert_int_equal(publish(ps, "ev", "m", &r), 1);
    rsm_pubsub_sub_free(c);
    /* freeing twice (NULL) is harmless */
    rsm_pubsub_sub_free(NULL);
}

static void test_free_registry_with_subscribers(void **state)
{
    struct rsm_pubsub *ps = *state;
    struct rsm_pubsub_sub *a = rsm_pubsub_sub_create(ps, NULL);

    sub(a, false, "x", NULL);
    sub(a, true, "y*", NULL);
    (void)rsm_pubsub_sub_create(ps, NULL);
    /* teardown frees both (checked by valgrind/ASan runs) */
}

/* ===================================================================
 * RESP, over a real server
 * =================================================================== */

struct fx {
    uv_loop_t loop;
    struct rsm_resp_server *srv;
    struct rsm_pubsub *ps;
    uint16_t port;
    size_t output_limit; /* per subscriber, 0 = server default */
    bool stopped;
};

static enum rsm_resp_status handler(void *arg, struct rsm_resp_client *c,
                                    struct rsm_resp_reply *r,
                                    const struct rsm_resp_request *req)
{
    struct fx *f = arg;
    struct rsm_pubsub_sub *s = rsm_resp_client_data(c);

    if (strcasecmp(req->argv[0], "PUBLISH") == 0 && req->argc == 3) {
        rsm_resp_add_int(r,
                         (long long)rsm_pubsub_publish(
                             f->ps, req->argv[1], req->argvlen[1], req->argv[2],
                             req->argvlen[2], rsm_pubsub_deliver_resp, NULL));
        return RSM_RESP_DONE;
    }
    if (rsm_pubsub_command(s, r, req) != 0)
        rsm_resp_add_error(r, "ERR wrong number of arguments");
    return RSM_RESP_DONE;
}

static void on_connect(void *arg, struct rsm_resp_client *c)
{
    struct fx *f = arg;
    struct rsm_pubsub_sub *s = rsm_pubsub_sub_create(f->ps, c);

    assert_non_null(s);
    rsm_resp_client_set_data(c, s);
    rsm_resp_client_set_output_limit(c, f->output_limit);
}

static void on_close(void *arg, struct rsm_resp_client *c)
{
    rsm_pubsub_sub_free(rsm_resp_client_data(c));
}

static int setup_server(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    struct rsm_addr a = {.host = "127.0.0.1", .port = 0};
    struct rsm_resp_handlers h = {handler, on_connect, on_close, f};
    char err[RSM_ERRMSG_SIZE];

    assert_non_null(f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(rsm_pubsub_create(&f->ps), 0);
    assert_int_equal(
        rsm_resp_server_start(&f->loop, &a, NULL, &h, &f->srv, err, sizeof err),
        0);
    f->port = rsm_resp_server_port(f->srv);
    *state = f;
    return 0;
}

static void on_stopped(void *arg)
{
    ((struct fx *)arg)->stopped = true;
}

static int teardown_server(void **state)
{
    struct fx *f = *state;

    rsm_resp_server_stop(f->srv, on_stopped, f);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_true(f->stopped);
    assert_int_equal(rsm_pubsub_subscribers(f->ps), 0);
    rsm_pubsub_free(f->ps);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
    return 0;
}

static int cli_connect(struct fx *f)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    a.sin_port = htons(f->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void cli_sends(int fd, const char *s)
{
    size_t n = strlen(s);

    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        s += w;
        n -= (size_t)w;
    }
}

/* Run the loop and read exactly strlen(expected) bytes (3 s at most). */
static void cli_expect(struct fx *f, int fd, const char *expected)
{
    size_t want = strlen(expected), got = 0;
    char *buf = malloc(want + 1);

    assert_non_null(buf);
    for (int i = 0; i < 3000 && got < want; i++) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        uv_run(&f->loop, UV_RUN_NOWAIT);
        if (poll(&pfd, 1, 1) == 1) {
            ssize_t n = recv(fd, buf + got, want - got, MSG_DONTWAIT);
            if (n == 0)
                break;
            if (n > 0)
                got += (size_t)n;
        }
    }
    buf[got] = '\0';
    assert_string_equal(buf, expected);
    free(buf);
}

static void test_resp_subscribe_replies(void **state)
{
    struct fx *f = *state;
    int fd = cli_connect(f);

    cli_sends(fd, "SUBSCRIBE +sdown -sdown +sdown\r\n");
    cli_expect(f, fd,
               "*3\r\n$9\r\nsubscribe\r\n$6\r\n+sdown\r\n:1\r\n"
               "*3\r\n$9\r\nsubscribe\r\n$6\r\n-sdown\r\n:2\r\n"
               "*3\r\n$9\r\nsubscribe\r\n$6\r\n+sdown\r\n:2\r\n");
    cli_sends(fd, "PSUBSCRIBE *\r\n");
    cli_expect(f, fd, "*3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:3\r\n");
    cli_sends(fd, "UNSUBSCRIBE nosuch\r\n");
    cli_expect(f, fd, "*3\r\n$11\r\nunsubscribe\r\n$6\r\nnosuch\r\n:3\r\n");
    /* without arguments: every channel, in subscription order */
    cli_sends(fd, "UNSUBSCRIBE\r\n");
    cli_expect(f, fd,
               "*3\r\n$11\r\nunsubscribe\r\n$6\r\n+sdown\r\n:2\r\n"
               "*3\r\n$11\r\nunsubscribe\r\n$6\r\n-sdown\r\n:1\r\n");
    cli_sends(fd, "UNSUBSCRIBE\r\n");
    cli_expect(f, fd, "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:1\r\n");
    cli_sends(fd, "PUNSUBSCRIBE\r\n");
    cli_expect(f, fd, "*3\r\n$12\r\npunsubscribe\r\n$1\r\n*\r\n:0\r\n");
    cli_sends(fd, "PUNSUBSCRIBE\r\n");
    cli_expect(f, fd, "*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n");
    cli_sends(fd, "SUBSCRIBE\r\n");
    cli_expect(f, fd, "-ERR wrong number of arguments\r\n");
    close(fd);
}

static void test_resp_messages_pushed(void **state)
{
    struct fx *f = *state;
    int a = cli_connect(f), b = cli_connect(f), pub = cli_connect(f);

    cli_sends(a, "SUBSCRIBE +switch-master\r\n");
    cli_expect(f, a,
               "*3\r\n$9\r\nsubscribe\r\n$14\r\n+switch-master\r\n:1\r\n");
    cli_sends(b, "PSUBSCRIBE +switch-*\r\n");
    cli_expect(f, b, "*3\r\n$10\r\npsubscribe\r\n$9\r\n+switch-*\r\n:1\r\n");
    cli_sends(pub,
              "PUBLISH +switch-master \"g 10.0.0.1 6379 10.0.0.2 6379\"\r\n");
    cli_expect(f, pub, ":2\r\n");
    cli_expect(f, a,
               "*3\r\n$7\r\nmessage\r\n$14\r\n+switch-master\r\n"
               "$29\r\ng 10.0.0.1 6379 10.0.0.2 6379\r\n");
    cli_expect(f, b,
               "*4\r\n$8\r\npmessage\r\n$9\r\n+switch-*\r\n"
               "$14\r\n+switch-master\r\n"
               "$29\r\ng 10.0.0.1 6379 10.0.0.2 6379\r\n");
    close(a);
    close(b);
    close(pub);
}

static bool subscribers_are(struct fx *f, size_t n)
{
    for (int i = 0; i < 3000 && rsm_pubsub_subscribers(f->ps) != n; i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    return rsm_pubsub_subscribers(f->ps) == n;
}

static void test_resp_slow_subscriber_dropped(void **state)
{
    struct fx *f = *state;
    char msg[1000];
    int slow, fast;
    size_t got = 0;

    f->output_limit = 64 * 1024;
    slow = cli_connect(f);
    fast = cli_connect(f);
    cli_sends(slow, "SUBSCRIBE ev\r\n");
    cli_sends(fast, "SUBSCRIBE ev\r\n");
    assert_true(subscribers_are(f, 2));
    cli_expect(f, fast, "*3\r\n$9\r\nsubscribe\r\n$2\r\nev\r\n:1\r\n");
    memset(msg, 'm', sizeof msg);
    /* the slow one never reads: once the kernel buffers are full its
     * queue grows past 64 KiB and it is dropped; the fast one reads */
    for (int i = 0; i < 40000 && rsm_pubsub_subscribers(f->ps) == 2; i++) {
        char buf[65536];
        ssize_t n;
        rsm_pubsub_publish(f->ps, "ev", 2, msg, sizeof msg,
                           rsm_pubsub_deliver_resp, NULL);
        uv_run(&f->loop, UV_RUN_NOWAIT);
        while ((n = recv(fast, buf, sizeof buf, MSG_DONTWAIT)) > 0)
            got += (size_t)n;
    }
    assert_true(subscribers_are(f, 1));
    assert_true(got > 0);
    close(slow);
    close(fast);
}

int main(void)
{
#define R(name)                                                                \
    cmocka_unit_test_setup_teardown(name, setup_registry, teardown_registry)
#define S(name)                                                                \
    cmocka_unit_test_setup_teardown(name, setup_server, teardown_server)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob_basics),
        cmocka_unit_test(test_glob_classes_and_escapes),
        cmocka_unit_test(test_glob_hostile_pattern_is_fast),
        R(test_subscribe_counts),
        R(test_subscribe_limits),
        R(test_publish_channels_and_patterns),
        R(test_free_during_publish),
        R(test_free_registry_with_subscribers),
        S(test_resp_subscribe_replies),
        S(test_resp_messages_pushed),
        S(test_resp_slow_subscriber_dropped),
    };
#undef R
#undef S
    return cmocka_run_group_tests(tests, NULL, NULL);
}
