/* test_resp_server.c - unit tests for io/resp_server: the request parser
 * on its own, then the server with real sockets on 127.0.0.1 (a port
 * chosen by the kernel). The test drives the loop itself (UV_RUN_NOWAIT
 * between polls of the client socket), so handlers and the test share one
 * thread. */
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

#include <hiredis/hiredis.h> /* HIREDIS_MAJOR */

#include "rsm/err.h"
#include "rsm/resp_server.h"

/* ===================================================================
 * Parser alone
 * =================================================================== */

static struct rsm_resp_parser *parser_with(size_t max_req, unsigned max_args)
{
    struct rsm_resp_limits l;
    struct rsm_resp_parser *p = NULL;

    rsm_resp_limits_default(&l);
    l.max_request_bytes = max_req;
    l.max_args = max_args;
    assert_int_equal(rsm_resp_parser_create(&l, &p), 0);
    return p;
}

static void feed(struct rsm_resp_parser *p, const char *s)
{
    assert_int_equal(rsm_resp_parser_feed(p, s, strlen(s)), 0);
}

static void test_parser_byte_by_byte(void **state)
{
    const char req[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na\0b\r\n\r\n";
    struct rsm_resp_parser *p = parser_with(1024, 16);
    struct rsm_resp_request r;
    char err[RSM_ERRMSG_SIZE];

    for (size_t i = 0; i + 1 < sizeof req; i++) {
        assert_int_equal(rsm_resp_parser_next(p, &r, err, sizeof err),
                         RSM_ETRUNC);
        assert_int_equal(rsm_resp_parser_feed(p, req + i, 1), 0);
    }
    assert_int_equal(rsm_resp_parser_next(p, &r, err, sizeof err), 0);
    assert_int_equal(r.argc, 3);
    assert_string_equal(r.argv[0], "SET");
    assert_int_equal(r.argvlen[2], 5);
    assert_memory_equal(r.argv[2], "a\0b\r\n", 5);
    assert_int_equal(r.argv[2][5], '\0');
    assert_int_equal(rsm_resp_parser_next(p, &r, err, sizeof err), RSM_ETRUNC);
    rsm_resp_parser_free(p);
}

static void test_parser_inline_quotes_and_mixing(void **state)
{
    struct rsm_resp_parser *p = parser_with(1024, 16);
    struct rsm_resp_request r;
    char err[RSM_ERRMSG_SIZE];

    feed(p, "\r\n  set  \"a b\\x41\\n\" 'it\\'s'\r\n*1\r\n$4\r\nPING\r\nINFO "
            "raft\n*0\r\n*-1\r\n");
    assert_int_equal(rsm_resp_parser_next(p, &r, err, sizeof err), 0);
    assert_int_equal(r.argc, 3);
    assert_string_equal(r.argv[0], "set");
    assert_string_equal(r.argv[1], "a bA\n");
    assert_string_equal(r.argv[2], "it's");
    assert_int_equal(rsm_resp_parser_next(p, &r, err, sizeof err), 0);
    assert_int_equal(r.argc, 1);
    assert_string_equal(r.argv[0], "PING");
    assert_int_equal(rsm_resp_parser_next(p, &r, err, sizeof err), 0);
    assert_int_equal(r.argc, 2);
    assert_string_equal(r.argv[1], "raft");
    /* "*0" and "*-1" are skipped, like Redis does */
    assert_int_equal(rsm_resp_parser_next(p, &r, err, sizeof err), RSM_ETRUNC);
    rsm_resp_parser_free(p);
}

static void expect_parse_error(const char *input, size_t max_req,
                               unsigned max_args, int code, const char *msg)
{
    struct rsm_resp_parser *p = parser_with(max_req, max_args);
    struct rsm_resp_request r;
    char err[RSM_ERRMSG_SIZE] = "";

    feed(p, input);
    assert_int_equal(rsm_resp_parser_next(p, &r, err, sizeof err), code);
    assert_non_null(strstr(err, msg));
    /* the error is sticky */
    feed(p, "*1\r\n$4\r\nPING\r\n");
    assert_int_equal(rsm_resp_parser_next(p, &r, err, sizeof err), code);
    rsm_resp_parser_free(p);
}

static void test_parser_errors(void **state)
{
    expect_parse_error("*x\r\n", 1024, 16, RSM_EPROTO, "Protocol error");
    expect_parse_error("*17\r\n", 1024, 16, RSM_EPROTO,
                       "invalid multibulk length");
    expect_parse_error("*-2\r\n", 1024, 16, RSM_EPROTO, "Protocol error");
    expect_parse_error("*1\r\n*1\r\n$1\r\na\r\n", 1024, 16, RSM_EPROTO,
                       "expected '$', got '*'");
    expect_parse_error("*1\r\n:1\r\n", 1024, 16, RSM_EPROTO,
                       "expected '$', got ':'");
    expect_parse_error("*1\r\n+OK\r\n", 1024, 16, RSM_EPROTO,
                       "expected '$', got '+'");
#if HIREDIS_MAJOR >= 1
    /* hiredis 1.x reads RESP3: none of it is a request argument */
    expect_parse_error("*1\r\n%1\r\n$1\r\na\r\n$1\r\nb\r\n", 1024, 16,
                       RSM_EPROTO, "expected '$', got '%'");
    expect_parse_error("*1\r\n~1\r\n$1\r\na\r\n", 1024, 16, RSM_EPROTO,
                       "expected '$', got '~'");
    expect_parse_error("*1\r\n>1\r\n$1\r\na\r\n", 1024, 16, RSM_EPROTO,
                       "expected '$', got '>'");
    expect_parse_error("*1\r\n,1.5\r\n", 1024, 16, RSM_EPROTO,
                       "expected '$', got ','");
    expect_parse_error("*1\r\n#t\r\n", 1024, 16, RSM_EPROTO,
                       "expected '$', got '#'");
    expect_parse_error("*1\r\n_\r\n", 1024, 16, RSM_EPROTO,
                       "expected '$', got '_'");
    expect_parse_error("*1\r\n(12345678901234567890\r\n", 1024, 16, RSM_EPROTO,
                       "expected '$', got '('");
    expect_parse_error("*1\r\n=7\r\ntxt:abc\r\n", 1024, 16, RSM_EPROTO,
                       "expected '$', got '='");
#endif
    expect_parse_error("*1\r\n$-1\r\n", 1024, 16, RSM_EPROTO,
                       "invalid bulk length");
    expect_parse_error("*1\r\n$1a\r\n", 1024, 16, RSM_EPROTO, "Protocol error");
    expect_parse_error("set \"abc\n", 1024, 16, RSM_EPROTO,
                       "unbalanced quotes");
    expect_parse_error("set \"abc\"x\n", 1024, 16, RSM_EPROTO,
                       "unbalanced quotes");
    expect_parse_error("a b c d e\n", 1024, 4, RSM_ERANGE,
                       "invalid multibulk length");
    /* a bulk length far above the limit: refused once the bytes received
     * pass the limit, not after allocating it */
    expect_parse_error("*1\r\n$9223372036854775807\r\n"
                       "0123456789012345678901234567890123456789",
                       32, 16, RSM_ERANGE, "request larger than 32 bytes");
}

static void test_parser_size_limit_independent_of_chunking(void **state)
{
    char big[200];
    struct rsm_resp_parser *p;
    struct rsm_resp_request r;
    char err[RSM_ERRMSG_SIZE];

    /* 4 + 4+4 + 5+50+2 = 69 bytes */
    snprintf(big, sizeof big, "*2\r\n$2\r\nab\r\n$50\r\n%050d\r\n", 7);
    assert_int_equal(strlen(big), 69);
    p = parser_with(68, 16);
    feed(p, big); /* all at once */
    assert_int_equal(rsm_resp_parser_next(p, &r, err, sizeof err), RSM_ERANGE);
    rsm_resp_parser_free(p);
    p = parser_with(69, 16);
    feed(p, big);
    feed(p, big); /* two requests of exactly the limit */
    assert_int_equal(rsm_resp_parser_next(p, &r, err, sizeof err), 0);
    assert_int_equal(rsm_resp_parser_next(p, &r, err, sizeof err), 0);
    assert_int_equal(r.argvlen[1], 50);
    rsm_resp_parser_free(p);
    /* inline lines are capped too */
    p = parser_with(16, 16);
    feed(p, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_int_equal(rsm_resp_parser_next(p, &r, err, sizeof err), RSM_ERANGE);
    assert_non_null(strstr(err, "too big inline request"));
    rsm_resp_parser_free(p);
}

/* ===================================================================
 * Server with sockets
 * =================================================================== */

struct fx {
    uv_loop_t loop;
    struct rsm_resp_server *srv;
    struct rsm_resp_limits lim;
    uint16_t port;
    int n_connect, n_close, n_requests;
    struct rsm_resp_client *last_client;
    struct rsm_resp_reply *held; /* kept by HOLD */
    bool stopped;
};

struct delayed {
    uv_timer_t t;
    struct rsm_resp_reply *r;
    char tag[32];
};

static void on_delayed_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_delayed(uv_timer_t *t)
{
    struct delayed *d = t->data;

    rsm_resp_add_cstr(d->r, d->tag);
    rsm_resp_reply_end(d->r);
    uv_close((uv_handle_t *)t, on_delayed_closed);
}

static bool is(const struct rsm_resp_request *req, int i, const char *s)
{
    return req->argc > i && strcasecmp(req->argv[i], s) == 0;
}

/* PING, ECHO x, ARGC, QUIT, ASYNC ms tag, HOLD, STOP; anything else is
 * an error. */
static enum rsm_resp_status handler(void *arg, struct rsm_resp_client *c,
                                    struct rsm_resp_reply *r,
                                    const struct rsm_resp_request *req)
{
    struct fx *f = arg;

    f->n_requests++;
    if (is(req, 0, "PING")) {
        rsm_resp_add_status(r, "PONG");
    } else if (is(req, 0, "ECHO") && req->argc == 2) {
        rsm_resp_add_bulk(r, req->argv[1], req->argvlen[1]);
    } else if (is(req, 0, "ARGC")) {
        rsm_resp_add_int(r, req->argc);
    } else if (is(req, 0, "QUIT")) {
        rsm_resp_add_status(r, "OK");
        rsm_resp_reply_close_after(r);
    } else if (is(req, 0, "ASYNC") && req->argc == 3) {
        struct delayed *d = calloc(1, sizeof *d);
        assert_non_null(d);
        d->r = r;
        snprintf(d->tag, sizeof d->tag, "%s", req->argv[2]);
        uv_timer_init(&f->loop, &d->t);
        d->t.data = d;
        uv_timer_start(&d->t, on_delayed, strtoull(req->argv[1], NULL, 10), 0);
        return RSM_RESP_PENDING;
    } else if (is(req, 0, "HOLD")) {
        f->held = r;
        return RSM_RESP_PENDING;
    } else if (is(req, 0, "ARRAY")) {
        rsm_resp_add_array(r, 4);
        rsm_resp_add_int(r, -7);
        rsm_resp_add_null(r);
        rsm_resp_add_error(r, "ERR line\r\nbreak");
        rsm_resp_add_verbatim(r, "txt", "a:1\r\n", 5);
    } else {
        rsm_resp_add_errorf(r, "ERR unknown command '%s'", req->argv[0]);
    }
    (void)c;
    return RSM_RESP_DONE;
}

static void on_connect(void *arg, struct rsm_resp_client *c)
{
    struct fx *f = arg;

    f->n_connect++;
    f->last_client = c;
}

static void on_close(void *arg, struct rsm_resp_client *c)
{
    struct fx *f = arg;

    f->n_close++;
    if (f->last_client == c)
        f->last_client = NULL;
}

static void start_server(struct fx *f)
{
    struct rsm_addr a = {.host = "127.0.0.1", .port = 0};
    struct rsm_resp_handlers h = {handler, on_connect, on_close, f};
    char err[RSM_ERRMSG_SIZE];

    assert_int_equal(rsm_resp_server_start(&f->loop, &a, &f->lim, &h, &f->srv,
                                           err, sizeof err),
                     0);
    f->port = rsm_resp_server_port(f->srv);
    assert_true(f->port > 0);
}

static int setup_limits(void **state, size_t max_req, unsigned max_args,
                        unsigned max_clients, uint64_t idle_ms)
{
    struct fx *f = calloc(1, sizeof *f);

    assert_non_null(f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    rsm_resp_limits_default(&f->lim);
    f->lim.max_request_bytes = max_req;
    f->lim.max_args = max_args;
    f->lim.max_clients = max_clients;
    f->lim.idle_timeout_ms = idle_ms;
    start_server(f);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_limits(state, 4096, 64, 100, 0);
}

static int setup_small(void **state)
{
    return setup_limits(state, 1024, 8, 2, 0);
}

static int setup_idle(void **state)
{
    return setup_limits(state, 4096, 64, 100, 100);
}

static void on_stopped(void *arg)
{
    ((struct fx *)arg)->stopped = true;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    rsm_resp_server_stop(f->srv, on_stopped, f);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_true(f->stopped);
    if (f->held) /* an orphaned reply may be ended after the stop */
        rsm_resp_reply_end(f->held);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
    return 0;
}

/* --- a blocking-free test client ------------------------------------- */

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

static void cli_send(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        s += w;
        n -= (size_t)w;
    }
}

static void cli_sends(int fd, const char *s)
{
    cli_send(fd, s, strlen(s));
}

/* Run the loop and read until `want` bytes came, EOF, or 3 s passed.
 * Returns the bytes read (NUL-terminated in buf); *eof tells if the
 * server closed. */
static size_t cli_read(struct fx *f, int fd, char *buf, size_t want, bool *eof)
{
    size_t got = 0;

    *eof = false;
    for (int i = 0; i < 3000 && got < want && !*eof; i++) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        uv_run(&f->loop, UV_RUN_NOWAIT);
        if (poll(&pfd, 1, 1) == 1) {
            ssize_t n = recv(fd, buf + got, want - got, MSG_DONTWAIT);
            if (n > 0)
                got += (size_t)n;
            else if (n == 0 || (errno != EAGAIN && errno != EINTR))
                *eof = true;
        }
    }
    buf[got] = '\0';
    return got;
}

static void pump_ms(struct fx *f, int ms)
{
    for (int i = 0; i < ms; i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

/* Expect exactly these bytes ("" = nothing within 50 ms). */
static void cli_expect(struct fx *f, int fd, const char *expected)
{
    size_t n = strlen(expected);
    char *buf = malloc(n + 1), c;
    bool eof;

    assert_non_null(buf);
    if (n == 0) {
        pump_ms(f, 50);
        assert_int_equal(recv(fd, &c, 1, MSG_DONTWAIT), -1);
        assert_int_equal(errno, EAGAIN);
    }
    cli_read(f, fd, buf, n, &eof);
    assert_string_equal(buf, expected);
    free(buf);
}

/* Expect exactly `expected` and then the connection closed. */
static void cli_expect_close(struct fx *f, int fd, const char *expected)
{
    char buf[512];
    bool eof;

    assert_true(strlen(expected) < sizeof buf - 1);
    cli_read(f, fd, buf, sizeof buf - 1, &eof);
    assert_true(eof);
    assert_string_equal(buf, expected);
}

static void pump_until(struct fx *f, bool (*pred)(struct fx *))
{
    for (int i = 0; i < 3000 && !pred(f); i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    assert_true(pred(f));
}

static bool no_clients(struct fx *f)
{
    return rsm_resp_server_clients(f->srv) == 0;
}

/* --- scenarios --------------------------------------------------------- */

static void test_ping(void **state)
{
    struct fx *f = *state;
    int fd = cli_connect(f);

    cli_sends(fd, "*1\r\n$4\r\nPING\r\n");
    cli_expect(f, fd, "+PONG\r\n");
    cli_sends(fd, "*1\r\n$5\r\nARRAY\r\n");
    cli_expect(f, fd,
               "*4\r\n:-7\r\n$-1\r\n-ERR line  break\r\n$5\r\na:1\r\n"
               "\r\n");
    assert_int_equal(f->n_connect, 1);
    close(fd);
}

static void test_pipelining_answers_in_order(void **state)
{
    struct fx *f = *state;
    char req[64], rep[64], *all_req, *all_rep;
    size_t rl = 0, pl = 0;
    int fd = cli_connect(f);

    all_req = malloc(200 * 64);
    all_rep = malloc(200 * 64);
    for (int i = 0; i < 200; i++) {
        int n = snprintf(req, sizeof req, "*2\r\n$4\r\nECHO\r\n$%d\r\n%d\r\n",
                         snprintf(NULL, 0, "%d", i), i);
        memcpy(all_req + rl, req, (size_t)n);
        rl += (size_t)n;
        n = snprintf(rep, sizeof rep, "$%d\r\n%d\r\n",
                     snprintf(NULL, 0, "%d", i), i);
        memcpy(all_rep + pl, rep, (size_t)n);
        pl += (size_t)n;
    }
    all_rep[pl] = '\0';
    cli_send(fd, all_req, rl); /* all in one write */
    cli_expect(f, fd, all_rep);
    assert_int_equal(f->n_requests, 200);
    free(all_req);
    free(all_rep);
    close(fd);
}

static void test_inline_commands(void **state)
{
    struct fx *f = *state;
    int fd = cli_connect(f);

    cli_sends(fd, "PING\r\n");
    cli_expect(f, fd, "+PONG\r\n");
    cli_sends(fd, "echo \"a b\"\n");
    cli_expect(f, fd, "$3\r\na b\r\n");
    /* inline and arrays mixed in one write, both orders */
    cli_sends(fd, "PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nARGC x y\r\n"
                  "*1\r\n$4\r\nPING\r\n");
    cli_expect(f, fd, "+PONG\r\n$2\r\nhi\r\n:3\r\n+PONG\r\n");
    /* an inline line split across writes */
    cli_sends(fd, "EC");
    cli_expect(f, fd, "");
    cli_sends(fd, "HO split\r\n");
    cli_expect(f, fd, "$5\r\nsplit\r\n");
    close(fd);
}

static void test_protocol_error_closes_after_reply(void **state)
{
    struct fx *f = *state;
    int fd = cli_connect(f);

    /* the good request before the bad one is answered first */
    cli_sends(fd, "PING\r\n*1\r\n$x\r\nPING\r\n");
    cli_expect_close(f, fd,
                     "+PONG\r\n-ERR Protocol error: Bad bulk string "
                     "length\r\n");
    close(fd);
    fd = cli_connect(f);
    cli_sends(fd, "*2\r\n$4\r\nECHO\r\n*1\r\n$1\r\na\r\n");
    cli_expect_close(f, fd, "-ERR Protocol error: expected '$', got '*'\r\n");
    close(fd);
    fd = cli_connect(f);
    cli_sends(fd, "ECHO \"open\r\n");
    cli_expect_close(f, fd,
                     "-ERR Protocol error: unbalanced quotes in request\r\n");
    close(fd);
    pump_until(f, no_clients);
    /* the server still serves */
    fd = cli_connect(f);
    cli_sends(fd, "PING\r\n");
    cli_expect(f, fd, "+PONG\r\n");
    close(fd);
}

static void test_oversize_request_refused(void **state)
{
    struct fx *f = *state; /* max 1024 bytes, 8 args */
    char *big = malloc(2000);
    int fd = cli_connect(f);

    cli_sends(fd, "*2\r\n$4\r\nECHO\r\n$1500\r\n");
    memset(big, 'x', 1500);
    cli_send(fd, big, 1500);
    cli_expect_close(f, fd,
                     "-ERR Protocol error: request larger than 1024 "
                     "bytes\r\n");
    close(fd);
    fd = cli_connect(f);
    cli_sends(fd, "*9\r\n");
    cli_expect_close(f, fd,
                     "-ERR Protocol error: invalid multibulk length\r\n");
    close(fd);
    fd = cli_connect(f);
    memset(big, 'y', 1999);
    big[1999] = '\0';
    cli_sends(fd, big); /* an inline line without its end */
    cli_expect_close(f, fd, "-ERR Protocol error: too big inline request\r\n");
    close(fd);
    free(big);
}

static bool has_held(struct fx *f)
{
    return f->held != NULL;
}

static void test_client_disconnect_mid_request(void **state)
{
    struct fx *f = *state;
    int fd = cli_connect(f);

    /* half a request, then gone */
    cli_sends(fd, "*2\r\n$4\r\nECHO\r\n$10\r\nabc");
    cli_expect(f, fd, "");
    assert_int_equal(rsm_resp_server_clients(f->srv), 1);
    close(fd);
    pump_until(f, no_clients);
    assert_int_equal(f->n_close, 1);
    assert_int_equal(f->n_requests, 0);

    /* gone while its reply is pending: the reply is orphaned, ending it
     * later is harmless */
    fd = cli_connect(f);
    cli_sends(fd, "HOLD\r\nPING\r\n");
    pump_until(f, has_held);
    close(fd);
    pump_until(f, no_clients);
    assert_null(rsm_resp_reply_client(f->held));
    rsm_resp_add_status(f->held, "late");
    rsm_resp_reply_end(f->held);
    f->held = NULL;
    assert_int_equal(f->n_close, 2);
}

static void test_async_replies_keep_request_order(void **state)
{
    struct fx *f = *state;
    int fd = cli_connect(f);

    cli_sends(fd, "ASYNC 60 a\r\nASYNC 10 b\r\nPING\r\nASYNC 0 c\r\n"
                  "ECHO d\r\n");
    cli_expect(f, fd, "$1\r\na\r\n$1\r\nb\r\n+PONG\r\n$1\r\nc\r\n$1\r\nd\r\n");
    close(fd);
}

static bool one_client(struct fx *f)
{
    return rsm_resp_server_clients(f->srv) == 1;
}

static void test_max_clients(void **state)
{
    struct fx *f = *state; /* max 2 clients */
    int a = cli_connect(f), b = cli_connect(f), c;

    cli_sends(a, "PING\r\n");
    cli_expect(f, a, "+PONG\r\n");
    cli_sends(b, "PING\r\n");
    cli_expect(f, b, "+PONG\r\n");
    c = cli_connect(f);
    cli_expect_close(f, c, "-ERR max number of clients reached\r\n");
    close(c);
    close(a);
    pump_until(f, one_client);
    c = cli_connect(f); /* room again */
    cli_sends(c, "PING\r\n");
    cli_expect(f, c, "+PONG\r\n");
    close(c);
    close(b);
}

static void test_quit_closes_after_reply(void **state)
{
    struct fx *f = *state;
    int fd = cli_connect(f);

    cli_sends(fd, "ASYNC 20 x\r\nQUIT\r\nPING\r\n");
    cli_expect_close(f, fd, "$1\r\nx\r\n+OK\r\n");
    close(fd);
}

static bool has_client(struct fx *f)
{
    return f->last_client != NULL;
}

static void test_push_after_replies(void **state)
{
    struct fx *f = *state;
    struct rsm_resp_reply *r;
    int fd = cli_connect(f);

    cli_sends(fd, "PING\r\n");
    cli_expect(f, fd, "+PONG\r\n");
    pump_until(f, has_client);
    r = rsm_resp_client_push(f->last_client);
    assert_non_null(r);
    rsm_resp_add_array(r, 2);
    rsm_resp_add_cstr(r, "message");
    rsm_resp_add_cstr(r, "+switch-master");
    rsm_resp_reply_end(r);
    cli_expect(f, fd, "*2\r\n$7\r\nmessage\r\n$14\r\n+switch-master\r\n");
    close(fd);
}

static void test_idle_timeout(void **state)
{
    struct fx *f = *state; /* 100 ms */
    char buf[16];
    bool eof;
    int fd = cli_connect(f);

    cli_sends(fd, "PING\r\n");
    cli_expect(f, fd, "+PONG\r\n");
    cli_read(f, fd, buf, sizeof buf - 1, &eof);
    assert_true(eof);
    close(fd);
}

/* A client that pipelines far more than it reads: the server stops
 * reading its requests while output piles up, and resumes when the client
 * reads; nothing is lost or reordered. */
static void test_backpressure_keeps_every_reply(void **state)
{
    struct fx *f = *state;
    enum { N = 10000, VAL = 2000 };
    char hdr[64], rhdr[16], *req, *got;
    size_t req_len = 0, sent = 0, want, have = 0, one, rl;
    int fd, stalls = 0, small = 32 * 1024;
    struct sockaddr_in a = {.sin_family = AF_INET};

    /* a small receive buffer, so that the server's output piles up */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    assert_int_equal(
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    a.sin_port = htons(f->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);

    one = (size_t)snprintf(hdr, sizeof hdr, "*2\r\n$4\r\nECHO\r\n$%d\r\n", VAL);
    req = malloc((one + VAL + 2) * N);
    for (int i = 0; i < N; i++) {
        memcpy(req + req_len, hdr, one);
        memset(req + req_len + one, 'a' + i % 26, VAL);
        memcpy(req + req_len + one + VAL, "\r\n", 2);
        req_len += one + VAL + 2;
    }
    /* write without reading until the writes stall for 200 ms */
    while (sent < req_len && stalls < 200) {
        ssize_t w =
            send(fd, req + sent, req_len - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0)
            sent += (size_t)w, stalls = 0;
        else
            stalls++;
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    assert_true(sent < req_len); /* the server did push back */
    assert_true(f->n_requests < N);
    /* now read everything while sending the rest */
    rl = (size_t)snprintf(rhdr, sizeof rhdr, "$%d\r\n", VAL);
    want = (size_t)N * (rl + VAL + 2);
    got = malloc(want + 1);
    for (uint64_t end = uv_hrtime() + 20000000000ULL;
         have < want && uv_hrtime() < end;) {
        ssize_t n;
        if (sent < req_len) {
            n = send(fd, req + sent, req_len - sent,
                     MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0)
                sent += (size_t)n;
        }
        uv_run(&f->loop, UV_RUN_NOWAIT);
        n = recv(fd, got + have, want - have, MSG_DONTWAIT);
        if (n > 0)
            have += (size_t)n;
        else
            usleep(200);
    }
    assert_int_equal(have, want);
    for (int i = 0; i < N; i++) {
        const char *r = got + (size_t)i * (rl + VAL + 2);
        assert_memory_equal(r, rhdr, rl);
        assert_int_equal(r[rl], 'a' + i % 26);
        assert_int_equal(r[rl + VAL - 1], 'a' + i % 26);
    }
    assert_int_equal(f->n_requests, N);
    free(req);
    free(got);
    close(fd);
}

static void test_bind_in_use(void **state)
{
    struct fx *f = *state;
    struct rsm_addr a = {.host = "127.0.0.1", .port = f->port};
    struct rsm_resp_handlers h = {handler, NULL, NULL, f};
    struct rsm_resp_server *s2 = NULL;
    char err[RSM_ERRMSG_SIZE] = "";

    assert_int_equal(
        rsm_resp_server_start(&f->loop, &a, NULL, &h, &s2, err, sizeof err),
        RSM_EIO);
    assert_non_null(strstr(err, "127.0.0.1:"));
    assert_non_null(strstr(err, "in use"));
    snprintf(a.host, sizeof a.host, "no-such-host.invalid");
    assert_int_equal(
        rsm_resp_server_start(&f->loop, &a, NULL, &h, &s2, err, sizeof err),
        RSM_ERESOLVE);
    assert_non_null(strstr(err, "no-such-host.invalid"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser_byte_by_byte),
        cmocka_unit_test(test_parser_inline_quotes_and_mixing),
        cmocka_unit_test(test_parser_errors),
        cmocka_unit_test(test_parser_size_limit_independent_of_chunking),
        cmocka_unit_test_setup_teardown(test_ping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelining_answers_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_inline_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_error_closes_after_reply,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversize_request_refused,
                                        setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_client_disconnect_mid_request,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_replies_keep_request_order,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_clients, setup_small,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_quit_closes_after_reply, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_push_after_replies, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_idle_timeout, setup_idle,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_backpressure_keeps_every_reply,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_in_use, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
