/* test_listener.c - unit tests for io/listener with real sockets on
 * 127.0.0.1 (ports chosen by the kernel). The clients are plain blocking
 * sockets: a connect to a listening loopback socket completes at once
 * (the kernel queues it), then the test runs the loop until the listener
 * has handed the connection to the owner below. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "rsm/err.h"
#include "listener.h"

#define MAXC 8

/* ===================================================================
 * An owner: accepts every connection into a handle of its own
 * =================================================================== */

struct conn {
    struct rsm_listener_conn sock;
    struct owner *o;
    int accept_rv; /* what rsm_listener_accept returned */
};

struct owner {
    uv_loop_t loop;
    struct rsm_listener l;
    struct conn conns[MAXC];
    unsigned n;        /* connections handed over */
    unsigned released; /* handles closed and released */
    bool closed;       /* the listener's close callback ran */
};

static void on_conn_closed(uv_handle_t *h)
{
    struct conn *c = h->data;

    assert_ptr_equal(h, &c->sock.tcp);
    rsm_listener_release(&c->o->l, &c->sock);
    c->o->released++;
}

static void on_connection(void *arg, struct rsm_listener *l)
{
    struct owner *o = arg;
    struct conn *c;

    assert_ptr_equal(l, &o->l);
    assert_true(o->n < MAXC);
    c = &o->conns[o->n++];
    c->o = o;
    c->accept_rv = rsm_listener_accept(l, &c->sock, c);
    assert_ptr_equal(c->sock.tcp.data, c);
    assert_ptr_equal(rsm_listener_first(l), &c->sock); /* newest first */
}

static void on_listener_closed(void *arg)
{
    struct owner *o = arg;

    o->closed = true;
}

static struct rsm_addr loopback(uint16_t port)
{
    struct rsm_addr a;

    memset(&a, 0, sizeof a);
    snprintf(a.host, sizeof a.host, "127.0.0.1");
    a.port = port; /* 0 is allowed here: the kernel picks one */
    return a;
}

static int start(struct owner *o, const struct rsm_addr *bind,
                 unsigned max_conns, char *err, size_t errlen)
{
    struct rsm_listener_config cfg = {.bind = bind,
                                      .backlog = 16,
                                      .max_conns = max_conns,
                                      .log_prefix = "test"};

    return rsm_listener_start(&o->l, &o->loop, &cfg, on_connection, o, err,
                              errlen);
}

/* A fresh owner listening on 127.0.0.1, port chosen by the kernel. */
static struct owner *owner_new(unsigned max_conns)
{
    struct owner *o = calloc(1, sizeof *o);
    struct rsm_addr a = loopback(0);
    char err[RSM_ERRMSG_SIZE];

    assert_non_null(o);
    assert_int_equal(uv_loop_init(&o->loop), 0);
    if (start(o, &a, max_conns, err, sizeof err) != 0)
        fail_msg("start: %s", err);
    assert_int_not_equal(rsm_listener_port(&o->l), 0);
    return o;
}

/* Run the loop until n connections were handed over (or fail). */
static void run_until_handed(struct owner *o, unsigned n)
{
    for (int i = 0; i < 2000 && o->n < n; i++) {
        uv_run(&o->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    assert_int_equal(o->n, n);
}

static void close_conn(struct owner *o, unsigned i)
{
    uv_close((uv_handle_t *)&o->conns[i].sock.tcp, on_conn_closed);
}

/* Close the listener and every connection still open, run the loop dry:
 * nothing may be left on it. */
static void owner_free(struct owner *o)
{
    rsm_listener_close(&o->l, on_listener_closed, o);
    for (unsigned i = 0; i < o->n; i++) {
        if (!uv_is_closing((uv_handle_t *)&o->conns[i].sock.tcp))
            close_conn(o, i);
    }
    assert_int_equal(uv_run(&o->loop, UV_RUN_DEFAULT), 0);
    assert_true(o->closed);
    assert_int_equal(o->released, o->n);
    assert_int_equal(rsm_listener_conns(&o->l), 0);
    assert_null(rsm_listener_first(&o->l));
    assert_int_equal(uv_loop_close(&o->loop), 0);
    free(o);
}

/* A blocking client connected to port, with a 2 s receive timeout. */
static int client(uint16_t port)
{
    struct sockaddr_in sa;
    struct timeval tv = {.tv_sec = 2};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* "127.0.0.1:<port>" of the client's own end. */
static void local_name(int fd, char *buf, size_t len)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;

    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    snprintf(buf, len, "127.0.0.1:%u", ntohs(sa.sin_port));
}

/* The server side closed: EOF (or a reset) rather than a timeout. */
static void assert_closed_by_server(int fd)
{
    char b[16];
    ssize_t n = recv(fd, b, sizeof b, 0);

    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        fail_msg("connection still open");
    assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
}

/* ===================================================================
 * Tests
 * =================================================================== */

static void test_accept_names_the_peer_and_counts(void **state)
{
    struct owner *o = owner_new(4);
    int fd = client(rsm_listener_port(&o->l));
    char want[64], b[8];

    (void)state;
    run_until_handed(o, 1);
    assert_int_equal(o->conns[0].accept_rv, 0);
    local_name(fd, want, sizeof want);
    assert_string_equal(o->conns[0].sock.peer, want);
    assert_int_equal(rsm_listener_conns(&o->l), 1);
    /* the accepted handle is a working stream */
    assert_int_equal(uv_try_write((uv_stream_t *)&o->conns[0].sock.tcp,
                                  &(uv_buf_t){.base = "hi", .len = 2}, 1),
                     2);
    assert_int_equal(recv(fd, b, sizeof b, 0), 2);
    assert_memory_equal(b, "hi", 2);
    /* released when the owner's handle has closed */
    close_conn(o, 0);
    uv_run(&o->loop, UV_RUN_NOWAIT);
    assert_int_equal(o->released, 1);
    assert_int_equal(rsm_listener_conns(&o->l), 0);
    assert_closed_by_server(fd);
    close(fd);
    owner_free(o);
}

static void test_beyond_the_limit_is_refused_then_admitted_again(void **state)
{
    struct owner *o = owner_new(1);
    uint16_t port = rsm_listener_port(&o->l);
    int a = client(port), b, c;

    (void)state;
    run_until_handed(o, 1);
    assert_int_equal(o->conns[0].accept_rv, 0);
    b = client(port);
    run_until_handed(o, 2);
    /* accepted so that the owner can say why, but over the limit */
    assert_int_equal(o->conns[1].accept_rv, RSM_EBUSY);
    assert_string_not_equal(o->conns[1].sock.peer, "?");
    assert_int_equal(rsm_listener_conns(&o->l), 2);
    /* both are in the set, newest first */
    assert_ptr_equal(rsm_listener_first(&o->l), &o->conns[1].sock);
    assert_ptr_equal(o->conns[1].sock.next, &o->conns[0].sock);
    assert_null(o->conns[0].sock.next);
    /* the owner closes it, as the servers do: the client sees it go */
    close_conn(o, 1);
    uv_run(&o->loop, UV_RUN_NOWAIT);
    assert_closed_by_server(b);
    assert_int_equal(rsm_listener_conns(&o->l), 1);
    assert_ptr_equal(rsm_listener_first(&o->l), &o->conns[0].sock);
    assert_null(o->conns[0].sock.next);
    /* still full while the first one stays */
    c = client(port);
    run_until_handed(o, 3);
    assert_int_equal(o->conns[2].accept_rv, RSM_EBUSY);
    close_conn(o, 2);
    close_conn(o, 0);
    uv_run(&o->loop, UV_RUN_NOWAIT);
    assert_int_equal(rsm_listener_conns(&o->l), 0);
    close(c);
    /* room again */
    c = client(port);
    run_until_handed(o, 4);
    assert_int_equal(o->conns[3].accept_rv, 0);
    close(a);
    close(b);
    close(c);
    owner_free(o);
}

static void test_bind_in_use_leaves_nothing_open(void **state)
{
    struct owner *o = owner_new(4);
    struct owner *o2 = calloc(1, sizeof *o2);
    struct rsm_addr a = loopback(rsm_listener_port(&o->l));
    char err[RSM_ERRMSG_SIZE], want[64];

    (void)state;
    assert_non_null(o2);
    assert_int_equal(uv_loop_init(&o2->loop), 0);
    assert_int_equal(start(o2, &a, 4, err, sizeof err), RSM_EIO);
    snprintf(want, sizeof want, "listen 127.0.0.1:%u: ", a.port);
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, "in use"));
    assert_int_equal(uv_run(&o2->loop, UV_RUN_NOWAIT), 0);
    assert_int_equal(uv_loop_close(&o2->loop), 0);
    free(o2);
    owner_free(o);
}

static void test_unresolvable_host(void **state)
{
    struct owner *o = calloc(1, sizeof *o);
    struct rsm_addr a = loopback(0);
    char err[RSM_ERRMSG_SIZE];

    (void)state;
    assert_non_null(o);
    snprintf(a.host, sizeof a.host, "no-such-host.invalid");
    assert_int_equal(uv_loop_init(&o->loop), 0);
    assert_int_equal(start(o, &a, 4, err, sizeof err), RSM_ERESOLVE);
    assert_non_null(strstr(err, "listen no-such-host.invalid:0: "));
    assert_int_equal(uv_loop_close(&o->loop), 0);
    free(o);
}

static void test_close_stops_listening(void **state)
{
    struct owner *o = owner_new(4);
    uint16_t port = rsm_listener_port(&o->l);
    struct sockaddr_in sa;
    int fd;

    (void)state;
    rsm_listener_close(&o->l, on_listener_closed, o);
    assert_false(o->closed); /* from the loop, not from the call */
    assert_int_equal(uv_run(&o->loop, UV_RUN_DEFAULT), 0);
    assert_true(o->closed);
    assert_int_equal(uv_loop_close(&o->loop), 0);
    /* the port is no longer listened on */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), -1);
    assert_int_equal(errno, ECONNREFUSED);
    close(fd);
    free(o);
}

static void on_stopped(void *arg)
{
    (*(unsigned *)arg)++;
}

/* The server stop helpers: done only once stopping, with every counted
 * handle closed and every connection released; the stop callback runs
 * once, when done. */
static void test_stop_waits_for_handles_and_connections(void **state)
{
    struct owner *o = owner_new(4);
    struct rsm_listener_stop st = {.open_handles = 1}; /* the listener */
    unsigned stopped = 0;
    int fd = client(rsm_listener_port(&o->l));

    (void)state;
    run_until_handed(o, 1);
    assert_false(rsm_listener_stop_done(&st, &o->l)); /* not stopping */
    rsm_listener_stop_begin(&st, &o->l, on_stopped, &stopped,
                            on_listener_closed, o);
    assert_true(st.stopping);
    assert_false(rsm_listener_stop_done(&st, &o->l)); /* handle open */
    assert_int_equal(uv_run(&o->loop, UV_RUN_DEFAULT), 0);
    assert_true(o->closed);
    /* the listener closed, a connection is still open */
    assert_false(rsm_listener_stop_closed(&st, &o->l));
    assert_int_equal(st.open_handles, 0);
    assert_int_equal(stopped, 0);
    close_conn(o, 0);
    assert_int_equal(uv_run(&o->loop, UV_RUN_DEFAULT), 0);
    assert_true(rsm_listener_stop_done(&st, &o->l));
    assert_int_equal(stopped, 1);
    assert_int_equal(uv_loop_close(&o->loop), 0);
    close(fd);
    free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_names_the_peer_and_counts),
        cmocka_unit_test(test_beyond_the_limit_is_refused_then_admitted_again),
        cmocka_unit_test(test_bind_in_use_leaves_nothing_open),
        cmocka_unit_test(test_unresolvable_host),
        cmocka_unit_test(test_close_stops_listening),
        cmocka_unit_test(test_stop_waits_for_handles_and_connections),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
