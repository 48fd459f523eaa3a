/* resp_server.c - a generic RESP server on libuv (see resp_server.h): the
 * listener, the clients' lifecycle, reading requests (through the parser
 * of resp_parser.c) and writing replies (built with resp_reply.c) in
 * request order, back-pressure and the idle timeout. */
#include "resp_int.h"
#include "rsm/err.h"
#include "rsm/log.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUTPUT_PAUSE   (256 * 1024) /* stop reading requests above this */
#define LISTEN_BACKLOG 511

/* One uv_write of the bytes of one or more replies. */
struct out_write {
    uv_write_t req;
    struct rsm_resp_client *c;
    size_t len;
    char data[];
};

void rsm_resp_limits_default(struct rsm_resp_limits *l)
{
    l->max_request_bytes = 1024 * 1024;
    l->max_args = 1024;
    l->max_clients = 1000;
    l->max_output_bytes = 32 * 1024 * 1024;
    l->max_pending = 1024;
    l->idle_timeout_ms = 0;
    l->tls = NULL;
}

static void resp__process(struct rsm_resp_client *c);
static void resp__client_close(struct rsm_resp_client *c);

/* --- output ---------------------------------------------------------- */

static void resp__on_write(uv_write_t *req, int status)
{
    struct out_write *w = (struct out_write *)req;
    struct rsm_resp_client *c = w->c;

    assert(c->writes > 0);
    c->writes--;
    free(w);
    if (c->closing)
        return;
    if (status < 0) {
        rsm_log(RSM_LOG_DEBUG, "api-client-write-failed", "peer=%s err=%s",
                c->sock.peer, uv_strerror(status));
        resp__client_close(c);
        return;
    }
    if (c->close_written && c->writes == 0) {
        resp__client_close(c);
        return;
    }
    resp__process(c);
}

/* Write every complete reply at the head of the queue, in one uv_write. */
static void resp__flush(struct rsm_resp_client *c)
{
    struct rsm_resp_reply *r;
    struct out_write *w;
    size_t total = 0, off = 0;
    uv_buf_t b;

    if (c->closing || c->close_written || c->head == NULL || !c->head->done)
        return;
    for (r = c->head; r != NULL && r->done; r = r->next)
        total += r->len;
    w = malloc(sizeof *w + total);
    if (w == NULL) {
        resp__client_close(c);
        return;
    }
    while (c->head != NULL && c->head->done && !c->close_written) {
        r = c->head;
        memcpy(w->data + off, r->buf, r->len);
        off += r->len;
        c->head = r->next;
        if (c->head == NULL)
            c->tail = NULL;
        assert(c->n_pending > 0);
        c->n_pending--;
        if (r->close_after) /* nothing after a closing reply is sent */
            c->draining = c->close_written = true;
        resp__reply_free(r);
    }
    assert(off <= total);
    w->c = c;
    w->len = off;
    b = uv_buf_init(w->data, (unsigned)off);
    if (c->writes == 0) {
        /* Nothing queued: write now. Most replies leave at once, which
         * spares libuv's write request and the epoll changes it makes. */
        int n = rsm_listener_conn_try_write(&c->sock, &b, 1);
        if (n == (int)off) {
            free(w);
            if (c->close_written)
                resp__client_close(c);
            return;
        }
        if (n < 0 && n != UV_EAGAIN && n != UV_ENOSYS) {
            free(w);
            resp__client_close(c);
            return;
        }
        if (n > 0)
            b = uv_buf_init(w->data + n, (unsigned)(off - (size_t)n));
    }
    if (rsm_listener_conn_write(&c->sock, &w->req, &b, 1, resp__on_write) !=
        0) {
        free(w);
        resp__client_close(c);
        return;
    }
    c->writes++;
    if (rsm_listener_conn_write_queue_size(&c->sock) >
        (c->output_limit ? c->output_limit : c->srv->limits.max_output_bytes)) {
        rsm_log(RSM_LOG_WARN, "api-client-dropped",
                "peer=%s reason=output-limit", c->sock.peer);
        resp__client_close(c);
    }
}

void rsm_resp_reply_end(struct rsm_resp_reply *r)
{
    struct rsm_resp_client *c = r->client;

    if (c == NULL) {
        resp__reply_free(r);
        return;
    }
    resp__reply_complete(r);
    if (r->len == 0 || r->oom) { /* even the error could not be built */
        resp__client_close(c);
        return;
    }
    resp__flush(c);
    resp__process(c);
}

struct rsm_resp_reply *rsm_resp_client_push(struct rsm_resp_client *c)
{
    if (c->closing || c->draining)
        return NULL;
    return resp__reply_new(c);
}

/* --- input ----------------------------------------------------------- */

static void resp__on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct rsm_resp_client *c = h->data;

    (void)hint;
    *buf = uv_buf_init(c->srv->rbuf, sizeof c->srv->rbuf);
}

static void resp__on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct rsm_resp_client *c = s->data;

    if (nread == 0)
        return;
    if (nread < 0) {
        if (nread != UV_EOF)
            rsm_log(RSM_LOG_DEBUG, "api-client-read-failed", "peer=%s err=%s",
                    c->sock.peer, uv_strerror((int)nread));
        resp__client_close(c);
        return;
    }
    c->last_active = uv_now(c->srv->loop);
    if (rsm_resp_parser_feed(c->parser, buf->base, (size_t)nread) != 0) {
        resp__client_close(c);
        return;
    }
    resp__process(c);
}

static bool resp__may_take_requests(const struct rsm_resp_client *c)
{
    return !c->closing && !c->draining &&
           c->n_pending < c->srv->limits.max_pending &&
           rsm_listener_conn_write_queue_size(&c->sock) <= OUTPUT_PAUSE;
}

static void resp__update_reading(struct rsm_resp_client *c)
{
    bool want = resp__may_take_requests(c);

    if (c->closing || want == c->reading)
        return;
    if (want) {
        if (rsm_listener_conn_read_start(&c->sock, resp__on_alloc,
                                         resp__on_read) != 0) {
            resp__client_close(c);
            return;
        }
    } else {
        rsm_listener_conn_read_stop(&c->sock);
    }
    c->reading = want;
}

/* A request the parser refused: answer the error, then close. */
static void resp__protocol_error(struct rsm_resp_client *c, const char *msg)
{
    struct rsm_resp_reply *r = resp__reply_new(c);

    rsm_log(RSM_LOG_DEBUG, "api-client-protocol-error", "peer=%s",
            c->sock.peer);
    if (r == NULL) {
        resp__client_close(c);
        return;
    }
    rsm_resp_add_errorf(r, "ERR %s", msg);
    r->close_after = true;
    resp__reply_complete(r);
    c->draining = true;
    resp__flush(c);
}

static void resp__dispatch(struct rsm_resp_client *c,
                           const struct rsm_resp_request *req)
{
    struct rsm_resp_server *s = c->srv;
    struct rsm_resp_reply *r = resp__reply_new(c);

    if (r == NULL) {
        resp__client_close(c);
        return;
    }
    if (s->h.on_request(s->h.arg, c, r, req) == RSM_RESP_DONE) {
        if (r->client == NULL) { /* client closed by the handler */
            resp__reply_free(r);
            return;
        }
        resp__reply_complete(r);
    }
    resp__flush(c);
}

/* Answer every complete request while the client may take more. */
static void resp__process(struct rsm_resp_client *c)
{
    struct rsm_resp_request req;
    char err[RSM_ERRMSG_SIZE];
    int rv;

    if (c->in_process || c->closing)
        return;
    c->in_process = true;
    while (resp__may_take_requests(c)) {
        rv = rsm_resp_parser_next(c->parser, &req, err, sizeof err);
        if (rv == RSM_ETRUNC)
            break;
        if (rv != 0) {
            resp__protocol_error(c, err);
            break;
        }
        resp__dispatch(c, &req);
    }
    c->in_process = false;
    if (c->close_written && c->writes == 0)
        resp__client_close(c);
    else
        resp__update_reading(c);
}

/* --- client lifecycle ------------------------------------------------ */

static void resp__server_maybe_free(struct rsm_resp_server *s)
{
    if (rsm_listener_stop_done(&s->stop, &s->listener))
        free(s);
}

static void resp__on_client_closed(uv_handle_t *h)
{
    struct rsm_resp_client *c = h->data;
    struct rsm_resp_server *s = c->srv;

    rsm_listener_release(&s->listener, &c->sock);
    rsm_resp_parser_free(c->parser);
    free(c);
    resp__server_maybe_free(s);
}

/* Replies already complete are ours to free; pending ones belong to their
 * handler and become orphans. */
static void resp__orphan_replies(struct rsm_resp_client *c)
{
    struct rsm_resp_reply *r = c->head, *next;

    for (; r != NULL; r = next) {
        next = r->next;
        r->next = NULL;
        if (r->done)
            resp__reply_free(r);
        else
            r->client = NULL;
    }
    c->head = c->tail = NULL;
    c->n_pending = 0;
}

static void resp__client_close(struct rsm_resp_client *c)
{
    struct rsm_resp_server *s = c->srv;

    if (c->closing)
        return;
    c->closing = true;
    if (s->h.on_close)
        s->h.on_close(s->h.arg, c);
    resp__orphan_replies(c);
    uv_close((uv_handle_t *)&c->sock.tcp, resp__on_client_closed);
}

void rsm_resp_client_close(struct rsm_resp_client *c)
{
    resp__client_close(c);
}

/* Beyond max_clients (the listener has logged it): one error reply, then
 * close. */
static void resp__refuse(struct rsm_resp_client *c)
{
    struct rsm_resp_reply *r = resp__reply_new(c);

    if (r == NULL) {
        resp__client_close(c);
        return;
    }
    rsm_resp_add_error(r, "ERR max number of clients reached");
    r->close_after = true;
    resp__reply_complete(r);
    c->draining = true;
    resp__flush(c);
}

static void resp__on_connection(void *arg, struct rsm_listener *l)
{
    struct rsm_resp_server *s = arg;
    struct rsm_resp_client *c;
    int rv;

    c = calloc(1, sizeof *c);
    if (c == NULL)
        return; /* the connection stays in the backlog */
    if (rsm_resp_parser_create(&s->limits, &c->parser) != 0) {
        free(c);
        return;
    }
    c->srv = s;
    rv = rsm_listener_accept(l, &c->sock, c);
    if (rv == RSM_EIO) {
        c->closing = true; /* never connected: no on_close */
        uv_close((uv_handle_t *)&c->sock.tcp, resp__on_client_closed);
        return;
    }
    c->last_active = uv_now(s->loop);
    if (rv == RSM_EBUSY) {
        resp__refuse(c);
        return;
    }
    if (s->h.on_connect)
        s->h.on_connect(s->h.arg, c);
    resp__update_reading(c);
}

void rsm_resp_client_set_data(struct rsm_resp_client *c, void *data)
{
    c->data = data;
}

void *rsm_resp_client_data(const struct rsm_resp_client *c)
{
    return c->data;
}

const char *rsm_resp_client_peer(const struct rsm_resp_client *c)
{
    return c->sock.peer;
}

void rsm_resp_client_set_idle_exempt(struct rsm_resp_client *c, bool on)
{
    c->idle_exempt = on;
}

void rsm_resp_client_set_output_limit(struct rsm_resp_client *c,
                                      size_t max_bytes)
{
    c->output_limit = max_bytes;
}

/* --- idle timeout ---------------------------------------------------- */

static void resp__on_idle_timer(uv_timer_t *t)
{
    struct rsm_resp_server *s = t->data;
    uint64_t now = uv_now(s->loop);
    struct rsm_listener_conn *k;

    for (k = rsm_listener_first(&s->listener); k != NULL; k = k->next) {
        struct rsm_resp_client *c = k->tcp.data;
        if (c->closing || c->idle_exempt || c->n_pending > 0)
            continue;
        if (now - c->last_active >= s->limits.idle_timeout_ms) {
            rsm_log(RSM_LOG_DEBUG, "api-client-idle-closed", "peer=%s",
                    c->sock.peer);
            resp__client_close(c);
        }
    }
}

/* --- listening ------------------------------------------------------- */

static void resp__on_listener_closed(void *arg)
{
    struct rsm_resp_server *s = arg;

    if (rsm_listener_stop_closed(&s->stop, &s->listener))
        free(s);
}

static void resp__on_timer_closed(uv_handle_t *h)
{
    resp__on_listener_closed(h->data);
}

int rsm_resp_server_start(uv_loop_t *loop, const struct rsm_addr *bind,
                          const struct rsm_resp_limits *limits,
                          const struct rsm_resp_handlers *handlers,
                          struct rsm_resp_server **out, char *errmsg,
                          size_t errlen)
{
    struct rsm_listener_config lc;
    struct rsm_resp_server *s;
    int rv;

    assert(handlers != NULL && handlers->on_request != NULL);
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return rsm_errf(RSM_ENOMEM, errmsg, errlen, "out of memory");
    s->loop = loop;
    s->h = *handlers;
    if (limits)
        s->limits = *limits;
    else
        rsm_resp_limits_default(&s->limits);
    lc.bind = bind;
    lc.backlog = LISTEN_BACKLOG;
    lc.max_conns = s->limits.max_clients;
    lc.log_prefix = "api";
    lc.tls = s->limits.tls;
    rv = rsm_listener_start(&s->listener, loop, &lc, resp__on_connection, s,
                            errmsg, errlen);
    if (rv != 0) {
        free(s);
        return rv;
    }
    s->stop.open_handles = 1;
    if (s->limits.idle_timeout_ms > 0) {
        uint64_t every =
            s->limits.idle_timeout_ms < 1000 ? s->limits.idle_timeout_ms : 1000;
        uv_timer_init(loop, &s->idle_timer);
        s->idle_timer.data = s;
        s->idle_timer_on = true;
        s->stop.open_handles++;
        uv_timer_start(&s->idle_timer, resp__on_idle_timer, every, every);
    }
    *out = s;
    return 0;
}

uint16_t rsm_resp_server_port(const struct rsm_resp_server *s)
{
    return rsm_listener_port(&s->listener);
}

unsigned rsm_resp_server_clients(const struct rsm_resp_server *s)
{
    return rsm_listener_conns(&s->listener);
}

void rsm_resp_server_stop(struct rsm_resp_server *s, rsm_resp_server_stop_cb cb,
                          void *arg)
{
    struct rsm_listener_conn *k;

    rsm_listener_stop_begin(&s->stop, &s->listener, cb, arg,
                            resp__on_listener_closed, s);
    if (s->idle_timer_on)
        uv_close((uv_handle_t *)&s->idle_timer, resp__on_timer_closed);
    for (k = rsm_listener_first(&s->listener); k != NULL; k = k->next)
        resp__client_close(k->tcp.data);
}
