/* http.c - the HTTP server (see http.h for the contract): accepts clients
 * from an rsm_listener (listener.h) and runs one protocol core
 * (http_conn.c) per client, writing what it produces, closing the client
 * when it is done, and closing clients past their request deadline. */
#include "rsm/http.h"
#include "rsm/err.h"
#include "http_int.h"
#include "listener.h"
#include "rsm/log.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LISTEN_BACKLOG 128
#define READ_BUF_SIZE  16384

struct client {
    struct rsm_http_server *srv;
    struct rsm_listener_conn sock; /* sock.tcp.data is the client */
    uv_shutdown_t shutdown;
    struct rsm_http_conn *conn;
    uint64_t deadline; /* loop time the current request must end by */
    uint64_t seen;     /* requests answered when the deadline was set */
    unsigned writes;   /* uv_write requests in flight */
    bool closing, shutting_down;
};

struct write_req {
    uv_write_t req;
    struct client *c;
    char *data;
};

struct rsm_http_server {
    uv_loop_t *loop;
    struct rsm_listener listener; /* and its set of clients */
    uv_timer_t sweep;
    struct rsm_http_limits limits;
    rsm_http_handler handler;
    void *arg;
    struct rsm_listener_stop stop; /* counts the listener and the timer */
};

static void http__server_maybe_free(struct rsm_http_server *s)
{
    if (rsm_listener_stop_done(&s->stop, &s->listener))
        free(s);
}

static void http__on_client_closed(uv_handle_t *h)
{
    struct client *c = h->data;
    struct rsm_http_server *s = c->srv;

    rsm_listener_release(&s->listener, &c->sock);
    rsm_http_conn_free(c->conn);
    free(c);
    http__server_maybe_free(s);
}

static void http__client_close(struct client *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_close((uv_handle_t *)&c->sock.tcp, http__on_client_closed);
}

static void http__on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    http__client_close(req->data);
}

/* Once a done client has written everything: FIN, then close. Reading
 * goes on (and is discarded) meanwhile, so that unread request bytes do
 * not turn our close into a reset that loses the response. */
static void http__maybe_finish(struct client *c)
{
    if (c->closing || c->shutting_down || c->writes > 0 ||
        !rsm_http_conn_done(c->conn))
        return;
    c->shutting_down = true;
    c->shutdown.data = c;
    if (rsm_listener_conn_shutdown(&c->sock, &c->shutdown, http__on_shutdown) !=
        0)
        http__client_close(c);
}

static void http__on_write(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    struct client *c = w->c;

    free(w->data);
    free(w);
    assert(c->writes > 0);
    c->writes--;
    if (status != 0) {
        http__client_close(c);
        return;
    }
    http__maybe_finish(c);
}

/* Write what the conn produced. */
static void http__flush(struct client *c)
{
    struct write_req *w;
    uv_buf_t b;
    char *data;
    size_t len;

    rsm_http_conn_take_output(c->conn, &data, &len);
    if (data == NULL)
        return;
    if (rsm_listener_conn_write_queue_size(&c->sock) + len >
        c->srv->limits.max_output_bytes) {
        rsm_log(RSM_LOG_WARN, "http-client-dropped",
                "peer=%s reason=output-limit", c->sock.peer);
        free(data);
        http__client_close(c);
        return;
    }
    w = malloc(sizeof *w);
    if (w == NULL) {
        free(data);
        http__client_close(c);
        return;
    }
    w->c = c;
    w->data = data;
    b = uv_buf_init(data, (unsigned)len);
    if (rsm_listener_conn_write(&c->sock, &w->req, &b, 1, http__on_write) !=
        0) {
        free(data);
        free(w);
        http__client_close(c);
        return;
    }
    c->writes++;
}

static void http__on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)h;
    (void)hint;
    buf->base = malloc(READ_BUF_SIZE);
    buf->len = buf->base ? READ_BUF_SIZE : 0;
}

static void http__on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct client *c = st->data;

    if (c->closing || nread == 0) {
        free(buf->base);
        return;
    }
    if (nread < 0) {
        free(buf->base);
        if (nread != UV_EOF) {
            http__client_close(c);
            return;
        }
        rsm_http_conn_eof(c->conn);
        uv_read_stop(st);
        if (c->writes == 0 && !c->shutting_down)
            http__client_close(c); /* nothing left to say */
        return;
    }
    if (rsm_http_conn_feed(c->conn, buf->base, (size_t)nread) != 0) {
        free(buf->base);
        http__client_close(c);
        return;
    }
    free(buf->base);
    if (rsm_http_conn_requests(c->conn) != c->seen) {
        c->seen = rsm_http_conn_requests(c->conn);
        c->deadline = uv_now(c->srv->loop) + c->srv->limits.request_timeout_ms;
    }
    http__flush(c);
    if (!c->closing)
        http__maybe_finish(c);
}

/* Beyond max_clients (the listener has logged it): one 503, then close. */
static void http__refuse(struct client *c)
{
    static const char msg[] = "HTTP/1.1 503 Service Unavailable\r\n"
                              "Content-Type: text/plain; charset=utf-8\r\n"
                              "Content-Length: 20\r\nConnection: close\r\n\r\n"
                              "too many connections";
    rsm_http_conn_eof(c->conn); /* done: nothing will be served */
    if (http__conn_put_raw(c->conn, msg, sizeof msg - 1) != 0) {
        http__client_close(c);
        return;
    }
    http__flush(c);
    if (!c->closing)
        http__maybe_finish(c);
}

static void http__on_connection(void *arg, struct rsm_listener *l)
{
    struct rsm_http_server *s = arg;
    struct client *c;
    int rv;

    c = calloc(1, sizeof *c);
    if (c == NULL)
        return; /* stays in the backlog */
    if (rsm_http_conn_create(&s->limits, s->handler, s->arg, &c->conn) != 0) {
        free(c);
        return;
    }
    c->srv = s;
    rv = rsm_listener_accept(l, &c->sock, c);
    if (rv == RSM_EIO) {
        http__client_close(c);
        return;
    }
    c->deadline = uv_now(s->loop) + s->limits.request_timeout_ms;
    if (rsm_listener_conn_read_start(&c->sock, http__on_alloc, http__on_read) !=
        0) {
        http__client_close(c);
        return;
    }
    if (rv == RSM_EBUSY)
        http__refuse(c);
}

/* Close clients past their request deadline. */
static void http__on_sweep(uv_timer_t *t)
{
    struct rsm_http_server *s = t->data;
    uint64_t now = uv_now(s->loop);
    struct rsm_listener_conn *k;

    for (k = rsm_listener_first(&s->listener); k != NULL; k = k->next) {
        struct client *c = k->tcp.data;
        if (!c->closing && now >= c->deadline) {
            rsm_log(RSM_LOG_DEBUG, "http-client-timeout", "peer=%s",
                    c->sock.peer);
            http__client_close(c);
        }
    }
}

static void http__on_listener_closed(void *arg)
{
    struct rsm_http_server *s = arg;

    if (rsm_listener_stop_closed(&s->stop, &s->listener))
        free(s);
}

static void http__on_handle_closed(uv_handle_t *h)
{
    http__on_listener_closed(h->data);
}

int rsm_http_server_start(uv_loop_t *loop, const struct rsm_addr *bind,
                          const struct rsm_http_limits *limits,
                          rsm_http_handler handler, void *arg,
                          struct rsm_http_server **out, char *errmsg,
                          size_t errlen)
{
    struct rsm_listener_config lc;
    struct rsm_http_server *s;
    char why[RSM_ERRMSG_SIZE];
    uint64_t every;
    int rv;

    assert(handler != NULL);
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return rsm_errf(RSM_ENOMEM, errmsg, errlen, "out of memory");
    s->loop = loop;
    s->handler = handler;
    s->arg = arg;
    if (limits != NULL)
        s->limits = *limits;
    else
        rsm_http_limits_default(&s->limits);
    if (s->limits.request_timeout_ms == 0)
        s->limits.request_timeout_ms = UINT64_MAX / 2;
    lc.bind = bind;
    lc.backlog = LISTEN_BACKLOG;
    lc.max_conns = s->limits.max_clients;
    lc.log_prefix = "http";
    lc.tls = s->limits.tls;
    rv = rsm_listener_start(&s->listener, loop, &lc, http__on_connection, s,
                            why, sizeof why);
    if (rv != 0) {
        free(s);
        return rsm_errf(rv, errmsg, errlen, "http %s", why);
    }
    s->stop.open_handles = 1;
    every = s->limits.request_timeout_ms < 1000 ? s->limits.request_timeout_ms
                                                : 1000;
    uv_timer_init(loop, &s->sweep);
    s->sweep.data = s;
    s->stop.open_handles++;
    uv_timer_start(&s->sweep, http__on_sweep, every, every);
    *out = s;
    return 0;
}

uint16_t rsm_http_server_port(const struct rsm_http_server *s)
{
    return rsm_listener_port(&s->listener);
}

unsigned rsm_http_server_clients(const struct rsm_http_server *s)
{
    return rsm_listener_conns(&s->listener);
}

void rsm_http_server_stop(struct rsm_http_server *s, rsm_http_stop_cb cb,
                          void *arg)
{
    struct rsm_listener_conn *k;

    rsm_listener_stop_begin(&s->stop, &s->listener, cb, arg,
                            http__on_listener_closed, s);
    uv_close((uv_handle_t *)&s->sweep, http__on_handle_closed);
    for (k = rsm_listener_first(&s->listener); k != NULL; k = k->next)
        http__client_close(k->tcp.data);
}
