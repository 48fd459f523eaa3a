/* test_http.c - unit tests for io/http: the protocol core fed bytes
 * directly, then the server with real sockets on 127.0.0.1 (a port chosen
 * by the kernel). The test drives the loop itself (UV_RUN_NOWAIT between
 * polls of the client socket), so the handler and the test share one
 * thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rsm/err.h"
#include "rsm/http.h"

/* The handler of every test: /hello answers "hi <query>", /big a body of
 * big_len bytes, anything else 404. Records what it saw. */
struct seen {
    unsigned calls;
    char path[256], query[256], method[8];
    size_t big_len;
};

static void handler(void *arg, const struct rsm_http_request *req,
                    struct rsm_http_response *resp)
{
    struct seen *s = arg;
    char body[300];

    s->calls++;
    snprintf(s->path, sizeof s->path, "%s", req->path);
    snprintf(s->query, sizeof s->query, "%s", req->query);
    snprintf(s->method, sizeof s->method, "%s", req->method);
    if (strcmp(req->path, "/hello") == 0) {
        snprintf(body, sizeof body, "hi %s\n", req->query);
        rsm_http_response_text(resp, 200, body);
    } else if (strcmp(req->path, "/big") == 0) {
        resp->body = malloc(s->big_len);
        assert_non_null(resp->body);
        memset(resp->body, 'x', s->big_len);
        resp->body_len = s->big_len;
    } else {
        rsm_http_response_text(resp, 404, "not found\n");
    }
}

/* ===================================================================
 * Protocol core
 * =================================================================== */

struct fixture {
    struct seen seen;
    struct rsm_http_limits limits;
    struct rsm_http_conn *conn;
    char *out;
    size_t out_len;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    rsm_http_limits_default(&f->limits);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    rsm_http_conn_free(f->conn);
    free(f->out);
    free(f);
    return 0;
}

static void conn_new(struct fixture *f)
{
    assert_int_equal(
        rsm_http_conn_create(&f->limits, handler, &f->seen, &f->conn), 0);
}

/* Feed text (all at once, or one byte at a time) and collect the output. */
static const char *feed(struct fixture *f, const char *text, bool bytewise)
{
    size_t n = strlen(text);
    char *buf;
    size_t len;

    if (f->conn == NULL)
        conn_new(f);
    if (bytewise) {
        for (size_t i = 0; i < n; i++)
            assert_int_equal(rsm_http_conn_feed(f->conn, text + i, 1), 0);
    } else {
        assert_int_equal(rsm_http_conn_feed(f->conn, text, n), 0);
    }
    rsm_http_conn_take_output(f->conn, &buf, &len);
    free(f->out);
    f->out = malloc(len + 1);
    if (len)
        memcpy(f->out, buf, len);
    f->out[len] = '\0';
    f->out_len = len;
    free(buf);
    return f->out;
}

static unsigned count(const char *hay, const char *needle)
{
    unsigned n = 0;

    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void assert_status(const char *out, int status)
{
    char line[64];

    snprintf(line, sizeof line, "HTTP/1.1 %d ", status);
    if (strncmp(out, line, strlen(line)) != 0)
        fail_msg("expected status %d, got: %.80s", status, out);
}

static void test_get_keeps_alive(void **state)
{
    struct fixture *f = *state;
    const char *out = feed(
        f, "GET /hello?x=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n", false);

    assert_status(out, 200);
    assert_non_null(strstr(out, "Content-Length: 7\r\n"));
    assert_non_null(strstr(out, "Connection: keep-alive\r\n"));
    assert_non_null(strstr(out, "\r\n\r\nhi x=1\n"));
    assert_string_equal(f->seen.path, "/hello");
    assert_string_equal(f->seen.query, "x=1");
    assert_string_equal(f->seen.method, "GET");
    assert_false(rsm_http_conn_done(f->conn));
    assert_false(rsm_http_conn_in_request(f->conn));
}

static void test_byte_by_byte_and_in_request(void **state)
{
    struct fixture *f = *state;
    const char *out;

    out = feed(f, "GET /hel", true);
    assert_string_equal(out, "");
    assert_true(rsm_http_conn_in_request(f->conn));
    assert_int_equal(f->seen.calls, 0);
    out = feed(f, "lo HTTP/1.1\r\nHost: a\r\n\r\n", true);
    assert_status(out, 200);
    assert_int_equal(f->seen.calls, 1);
    assert_false(rsm_http_conn_in_request(f->conn));
}

static void test_head_has_no_body(void **state)
{
    struct fixture *f = *state;
    const char *out = feed(f, "HEAD /hello HTTP/1.1\r\nHost: a\r\n\r\n", false);

    assert_status(out, 200);
    assert_non_null(strstr(out, "Content-Length: 4\r\n"));
    /* nothing after the blank line */
    assert_string_equal(strstr(out, "\r\n\r\n"), "\r\n\r\n");
    assert_string_equal(f->seen.method, "HEAD");
}

static void test_pipelined_in_order(void **state)
{
    struct fixture *f = *state;
    const char *out = feed(f,
                           "GET /hello?a HTTP/1.1\r\nHost: a\r\n\r\n"
                           "GET /nope HTTP/1.1\r\nHost: a\r\n\r\n"
                           "GET /hello?c HTTP/1.1\r\nHost: a\r\n\r\n",
                           false);
    const char *a = strstr(out, "hi a"), *b = strstr(out, "404 Not Found"),
               *c = strstr(out, "hi c");

    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_true(a < b && b < c);
    assert_int_equal(rsm_http_conn_requests(f->conn), 3);
}

static void test_other_methods_get_405(void **state)
{
    struct fixture *f = *state;
    const char *out = feed(f,
                           "POST /hello HTTP/1.1\r\nHost: a\r\n"
                           "Content-Length: 3\r\n\r\nabc"
                           "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n",
                           false);

    assert_status(out, 405);
    assert_non_null(strstr(out, "Allow: GET, HEAD\r\n"));
    assert_int_equal(f->seen.calls, 1); /* only the GET reached it */
    assert_non_null(strstr(out, "hi "));
}

static void test_garbage_is_400_and_done(void **state)
{
    struct fixture *f = *state;
    const char *out = feed(f, "HELLO THERE\r\n\r\n", false);

    assert_status(out, 400);
    assert_non_null(strstr(out, "Connection: close\r\n"));
    assert_true(rsm_http_conn_done(f->conn));
    assert_int_equal(f->seen.calls, 0);
    /* nothing more is served */
    out = feed(f, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n", false);
    assert_string_equal(out, "");
    assert_int_equal(f->seen.calls, 0);
}

static void test_bad_requests_are_400(void **state)
{
    static const char *const bad[] = {
        "GET /hello HTTP/1.1\r\nHost a\r\n\r\n",  /* no colon */
        "GET /hello HTTP/9.x\r\n\r\n",            /* version */
        "GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n",  /* escape */
        "GET /a%00b HTTP/1.1\r\nHost: a\r\n\r\n", /* NUL */
        "GET /hello HTTP/1.1\r\nContent-Length: x\r\n\r\n",
        "GET /hello HTTP/1.1\r\nContent-Length: 1\r\n"
        "Transfer-Encoding: chunked\r\n\r\n", /* smuggling */
        "GET /hello HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
        "Upgrade: websocket\r\n\r\n", /* upgrade */
        "CONNECT a:1 HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET hello HTTP/1.1\r\nHost: a\r\n\r\n", /* no slash */
    };
    struct fixture *f = *state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *out;

        rsm_http_conn_free(f->conn);
        f->conn = NULL;
        out = feed(f, bad[i], false);
        if (strncmp(out, "HTTP/1.1 400 ", 13) != 0)
            fail_msg("request %zu: %.60s", i, out);
        assert_true(rsm_http_conn_done(f->conn));
    }
    assert_int_equal(f->seen.calls, 0);
}

static void test_limits(void **state)
{
    struct fixture *f = *state;
    char req[4096];
    const char *out;

    f->limits.max_url_bytes = 32;
    f->limits.max_headers = 3;
    f->limits.max_header_bytes = 200;
    f->limits.max_body_bytes = 4;

    snprintf(req, sizeof req, "GET /%040d HTTP/1.1\r\n\r\n", 0);
    out = feed(f, req, true);
    assert_status(out, 414);
    assert_true(rsm_http_conn_done(f->conn));

    rsm_http_conn_free(f->conn);
    f->conn = NULL;
    out = feed(f, "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
               false);
    assert_status(out, 431);

    rsm_http_conn_free(f->conn);
    f->conn = NULL;
    snprintf(req, sizeof req, "GET / HTTP/1.1\r\nA: %0300d\r\n\r\n", 0);
    out = feed(f, req, false);
    assert_status(out, 431);

    rsm_http_conn_free(f->conn);
    f->conn = NULL;
    out =
        feed(f, "GET /hello HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde", false);
    assert_status(out, 413);

    rsm_http_conn_free(f->conn);
    f->conn = NULL;
    out = feed(f,
               "GET /hello HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
               "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
               false);
    assert_status(out, 413);
    assert_int_equal(f->seen.calls, 0);

    /* within every limit */
    rsm_http_conn_free(f->conn);
    f->conn = NULL;
    out =
        feed(f, "GET /hello HTTP/1.1\r\nA: 1\r\nContent-Length: 4\r\n\r\nabcd",
             false);
    assert_status(out, 200);
}

static void test_close_rules(void **state)
{
    struct fixture *f = *state;
    const char *out;

    out = feed(f,
               "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n"
               "GET /hello HTTP/1.1\r\n\r\n",
               false);
    assert_int_equal(count(out, "HTTP/1.1 "), 1);
    assert_non_null(strstr(out, "Connection: close\r\n"));
    assert_true(rsm_http_conn_done(f->conn));
    assert_int_equal(f->seen.calls, 1);

    rsm_http_conn_free(f->conn);
    f->conn = NULL;
    out = feed(f, "GET /hello HTTP/1.0\r\n\r\n", false);
    assert_status(out, 200);
    assert_true(rsm_http_conn_done(f->conn));

    rsm_http_conn_free(f->conn);
    f->conn = NULL;
    out =
        feed(f, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", false);
    assert_false(rsm_http_conn_done(f->conn));
    rsm_http_conn_eof(f->conn);
    assert_true(rsm_http_conn_done(f->conn));
}

static void test_absolute_form_and_decoding(void **state)
{
    struct fixture *f = *state;
    const char *out =
        feed(f, "GET http://example:80/h%65llo?q=%41 HTTP/1.1\r\n\r\n", false);

    assert_status(out, 200);
    assert_string_equal(f->seen.path, "/hello");
    assert_string_equal(f->seen.query, "q=%41"); /* the query is raw */
}

static void test_output_limit_ends_connection(void **state)
{
    struct fixture *f = *state;
    const char *out;

    f->limits.max_output_bytes = 1000;
    f->seen.big_len = 600;
    out = feed(f,
               "GET /big HTTP/1.1\r\n\r\nGET /big HTTP/1.1\r\n\r\n"
               "GET /big HTTP/1.1\r\n\r\n",
               false);
    assert_true(rsm_http_conn_done(f->conn));
    assert_int_equal(f->seen.calls, 2); /* the third was never served */
    assert_true(f->out_len > 1000);
    (void)out;
}

/* ===================================================================
 * Server with real sockets
 * =================================================================== */

struct srv_fixture {
    uv_loop_t loop;
    struct seen seen;
    struct rsm_http_server *srv;
    bool stopped;
};

static void stopped_cb(void *arg)
{
    ((struct srv_fixture *)arg)->stopped = true;
}

static struct srv_fixture *srv_start(const struct rsm_http_limits *l)
{
    struct srv_fixture *f = calloc(1, sizeof *f);
    struct rsm_addr bind;
    char err[RSM_ERRMSG_SIZE];

    assert_int_equal(uv_loop_init(&f->loop), 0);
    memset(&bind, 0, sizeof bind);
    strcpy(bind.host, "127.0.0.1"); /* port 0: the kernel picks */
    assert_int_equal(rsm_http_server_start(&f->loop, &bind, l, handler,
                                           &f->seen, &f->srv, err, sizeof err),
                     0);
    assert_true(rsm_http_server_port(f->srv) > 0);
    return f;
}

static void srv_stop(struct srv_fixture *f)
{
    rsm_http_server_stop(f->srv, stopped_cb, f);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_true(f->stopped);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
}

static int connect_to(struct srv_fixture *f)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(rsm_http_server_port(f->srv));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

static void send_all(int fd, const char *s)
{
    assert_int_equal(send(fd, s, strlen(s), 0), (ssize_t)strlen(s));
}

/* Run the loop and read from fd until `until` appears in what was read,
 * the peer closes (returns with *closed), or timeout_ms passes. */
static size_t pump(struct srv_fixture *f, int fd, char *buf, size_t cap,
                   const char *until, bool *closed, int timeout_ms)
{
    size_t len = 0;
    uint64_t end = uv_hrtime() / 1000000 + (uint64_t)timeout_ms;

    *closed = false;
    buf[0] = '\0';
    while (uv_hrtime() / 1000000 < end) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t n;

        uv_run(&f->loop, UV_RUN_NOWAIT);
        if (poll(&p, 1, 5) <= 0)
            continue;
        n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
            *closed = true;
            break;
        }
        if (n > 0) {
            len += (size_t)n;
            buf[len] = '\0';
            if (until != NULL && strstr(buf, until) != NULL)
                break;
        }
    }
    return len;
}

static void test_server_get_and_keepalive(void **state)
{
    struct srv_fixture *f = srv_start(NULL);
    char buf[4096];
    bool closed;
    int fd = connect_to(f);

    (void)state;
    send_all(fd, "GET /hello?one HTTP/1.1\r\nHost: x\r\n\r\n");
    pump(f, fd, buf, sizeof buf, "hi one\n", &closed, 2000);
    assert_false(closed);
    assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
    send_all(fd, "GET /hello?two HTTP/1.1\r\nHost: x\r\n\r\n");
    pump(f, fd, buf, sizeof buf, "hi two\n", &closed, 2000);
    assert_false(closed);
    assert_int_equal(f->seen.calls, 2);
    assert_int_equal(rsm_http_server_clients(f->srv), 1);
    close(fd);
    srv_stop(f);
}

static void test_server_bad_request_400_then_close(void **state)
{
    struct srv_fixture *f = srv_start(NULL);
    char buf[4096];
    bool closed;
    int fd = connect_to(f);

    (void)state;
    send_all(fd, "\x01\x02 nonsense\r\n\r\n");
    pump(f, fd, buf, sizeof buf, NULL, &closed, 2000);
    assert_true(closed);
    assert_non_null(strstr(buf, "HTTP/1.1 400 Bad Request\r\n"));
    assert_non_null(strstr(buf, "Connection: close\r\n"));
    close(fd);
    /* the server let go of the client */
    for (int i = 0; i < 100 && rsm_http_server_clients(f->srv) > 0; i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(rsm_http_server_clients(f->srv), 0);
    assert_int_equal(f->seen.calls, 0);
    srv_stop(f);
}

static void test_server_slow_client_times_out(void **state)
{
    struct rsm_http_limits l;
    struct srv_fixture *f;
    char buf[256];
    bool closed;
    int fd;
    uint64_t t0;

    (void)state;
    rsm_http_limits_default(&l);
    l.request_timeout_ms = 150;
    f = srv_start(&l);
    fd = connect_to(f);
    t0 = uv_hrtime();
    send_all(fd, "GET /hello HTTP/1.1\r\nHost"); /* never finished */
    pump(f, fd, buf, sizeof buf, NULL, &closed, 3000);
    assert_true(closed);
    /* uv_now() may run on a coarse clock (a few ms) */
    assert_true((uv_hrtime() - t0) / 1000000 >= 140);
    assert_string_equal(buf, ""); /* closed without an answer */
    close(fd);
    srv_stop(f);
}

static void test_server_max_clients_503(void **state)
{
    struct rsm_http_limits l;
    struct srv_fixture *f;
    char buf[1024];
    bool closed;
    int a, b;

    (void)state;
    rsm_http_limits_default(&l);
    l.max_clients = 1;
    f = srv_start(&l);
    a = connect_to(f);
    for (int i = 0; i < 50; i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
    b = connect_to(f);
    pump(f, b, buf, sizeof buf, NULL, &closed, 2000);
    assert_true(closed);
    assert_non_null(strstr(buf, "HTTP/1.1 503 "));
    /* the first one still works */
    send_all(a, "GET /hello HTTP/1.1\r\n\r\n");
    pump(f, a, buf, sizeof buf, "hi \n", &closed, 2000);
    assert_non_null(strstr(buf, "200 OK"));
    close(a);
    close(b);
    srv_stop(f);
}

static void test_server_stop_with_clients(void **state)
{
    struct srv_fixture *f = srv_start(NULL);
    char buf[256];
    bool closed;
    int a = connect_to(f), b = connect_to(f);

    (void)state;
    send_all(a, "GET /hel"); /* one in the middle of a request */
    for (int i = 0; i < 50; i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(rsm_http_server_clients(f->srv), 2);
    rsm_http_server_stop(f->srv, stopped_cb, f);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_true(f->stopped);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    /* both see the close */
    {
        struct pollfd p = {a, POLLIN, 0};
        assert_int_equal(poll(&p, 1, 1000), 1);
        assert_int_equal(recv(a, buf, sizeof buf, 0), 0);
    }
    (void)closed;
    close(a);
    close(b);
    free(f);
}

static void test_server_port_in_use(void **state)
{
    struct srv_fixture *f = srv_start(NULL);
    struct rsm_http_server *other = NULL;
    struct rsm_addr bind;
    char err[RSM_ERRMSG_SIZE], want[64];

    (void)state;
    snprintf(want, sizeof want, "127.0.0.1:%u", rsm_http_server_port(f->srv));
    assert_int_equal(rsm_addr_parse(want, &bind, err, sizeof err), 0);
    assert_int_equal(rsm_http_server_start(&f->loop, &bind, NULL, handler,
                                           &f->seen, &other, err, sizeof err),
                     RSM_EIO);
    assert_null(other);
    assert_non_null(strstr(err, want));
    assert_int_equal(
        rsm_addr_parse("no.such.host.invalid:1", &bind, err, sizeof err), 0);
    assert_int_equal(rsm_http_server_start(&f->loop, &bind, NULL, handler,
                                           &f->seen, &other, err, sizeof err),
                     RSM_ERESOLVE);
    srv_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_keeps_alive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_byte_by_byte_and_in_request, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_head_has_no_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_other_methods_get_405, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_garbage_is_400_and_done, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests_are_400, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absolute_form_and_decoding, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_output_limit_ends_connection,
                                        setup, teardown),
        cmocka_unit_test(test_server_get_and_keepalive),
        cmocka_unit_test(test_server_bad_request_400_then_close),
        cmocka_unit_test(test_server_slow_client_times_out),
        cmocka_unit_test(test_server_max_clients_503),
        cmocka_unit_test(test_server_stop_with_clients),
        cmocka_unit_test(test_server_port_in_use),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
