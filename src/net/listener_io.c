/* listener_io.c - reads and writes of an accepted connection (listener.h):
 * libuv's own calls in plaintext; with TLS, the connection's session
 * (rsm/tls_session.h) between the socket and the owner's callbacks.
 *
 *   socket --lio__on_read--> session --owner's alloc_cb/read_cb
 *   owner's write --session--> ciphertext --uv_write--> socket
 *
 * Handshake records and alerts go out through the same writes, with no
 * owner callback. */
#include "listener.h"

#include "rsm/err.h"
#include "rsm/tls_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ciphertext is read into one buffer: it goes into the session at once,
 * before the next read of any connection on this (single) loop thread. */
#define LIO_READ_SIZE 65536
static char lio__rbuf[LIO_READ_SIZE];

/* One uv_write of ciphertext; user is the owner's request (NULL: the
 * session's own records). */
struct lio_write {
    uv_write_t req;
    uv_write_t *user;
    uv_write_cb cb;
    char *buf;
};

static struct rsm_listener_conn *lio__conn(uv_stream_t *st)
{
    return (struct rsm_listener_conn *)st; /* tcp is the first member */
}

static void lio__written(uv_write_t *req, int status)
{
    struct lio_write *w = (struct lio_write *)req;

    free(w->buf);
    if (w->cb != NULL)
        w->cb(w->user, status);
    free(w);
}

/* Send whatever the session has to send, on behalf of user/cb (both NULL:
 * the session's own records); cb then runs once it is written. 0 or a
 * libuv error (cb will not run). */
static int lio__send(struct rsm_listener_conn *c, uv_write_t *user,
                     uv_write_cb cb)
{
    struct lio_write *w;
    uv_buf_t b;
    size_t n;
    char *buf;
    int rv;

    if (rsm_tls_session_output(c->tls, &buf, &n) != 0)
        return UV_ENOMEM;
    if (n == 0 && cb == NULL)
        return 0;
    w = calloc(1, sizeof *w);
    if (w == NULL) {
        free(buf);
        return UV_ENOMEM;
    }
    w->user = user;
    w->cb = cb;
    w->buf = buf;
    if (user != NULL)
        user->handle = (uv_stream_t *)&c->tcp;
    b = uv_buf_init(buf != NULL ? buf : "", (unsigned)n);
    rv = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, lio__written);
    if (rv != 0) {
        free(buf);
        free(w);
    }
    return rv;
}

static void lio__alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(lio__rbuf, sizeof lio__rbuf);
}

/* Hand the owner everything the session can decrypt now. */
static void lio__deliver(struct rsm_listener_conn *c)
{
    uv_stream_t *st = (uv_stream_t *)&c->tcp;
    char why[RSM_ERRMSG_SIZE];
    uv_buf_t b;
    ssize_t n;

    for (;;) {
        if (uv_is_closing((uv_handle_t *)st))
            return;
        b = uv_buf_init(NULL, 0);
        c->alloc_cb((uv_handle_t *)st, LIO_READ_SIZE, &b);
        if (b.base == NULL || b.len == 0) {
            c->read_cb(st, UV_ENOBUFS, &b);
            return;
        }
        n = rsm_tls_session_read(c->tls, b.base, b.len, why, sizeof why);
        if (n > 0) {
            c->read_cb(st, n, &b);
            continue;
        }
        if (lio__send(c, NULL, NULL) != 0 && n == 0) {
            snprintf(why, sizeof why, "cannot send: out of memory");
            n = RSM_TLS_FAILED;
        }
        if (n == 0) {
            c->read_cb(st, 0, &b); /* nothing yet: the owner frees b */
            return;
        }
        if (n == RSM_TLS_CLOSED) {
            c->read_cb(st, UV_EOF, &b);
            return;
        }
        rsm_listener_tls_failed(c->owner, c->peer, why);
        c->read_cb(st, UV_EPROTO, &b);
        return;
    }
}

static void lio__on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct rsm_listener_conn *c = lio__conn(st);
    uv_buf_t none = uv_buf_init(NULL, 0);

    if (nread < 0) {
        c->read_cb(st, nread, &none);
        return;
    }
    if (nread == 0)
        return;
    if (rsm_tls_session_put(c->tls, buf->base, (size_t)nread) != 0) {
        c->read_cb(st, UV_ENOBUFS, &none);
        return;
    }
    lio__deliver(c);
}

int rsm_listener_conn_read_start(struct rsm_listener_conn *c,
                                 uv_alloc_cb alloc_cb, uv_read_cb read_cb)
{
    if (c->tls == NULL)
        return uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
    c->alloc_cb = alloc_cb;
    c->read_cb = read_cb;
    return uv_read_start((uv_stream_t *)&c->tcp, lio__alloc, lio__on_read);
}

int rsm_listener_conn_read_stop(struct rsm_listener_conn *c)
{
    return uv_read_stop((uv_stream_t *)&c->tcp);
}

int rsm_listener_conn_write(struct rsm_listener_conn *c, uv_write_t *req,
                            const uv_buf_t bufs[], unsigned nbufs,
                            uv_write_cb cb)
{
    if (c->tls == NULL)
        return uv_write(req, (uv_stream_t *)&c->tcp, bufs, nbufs, cb);
    if (!rsm_tls_session_established(c->tls))
        return UV_ENOTCONN;
    for (unsigned i = 0; i < nbufs; i++) {
        int rv = rsm_tls_session_write(c->tls, bufs[i].base, bufs[i].len);

        if (rv != 0)
            return rv == RSM_ENOMEM ? UV_ENOMEM : UV_EPROTO;
    }
    return lio__send(c, req, cb);
}

int rsm_listener_conn_try_write(struct rsm_listener_conn *c,
                                const uv_buf_t bufs[], unsigned nbufs)
{
    if (c->tls != NULL)
        return UV_EAGAIN;
    return uv_try_write((uv_stream_t *)&c->tcp, bufs, nbufs);
}

size_t rsm_listener_conn_write_queue_size(const struct rsm_listener_conn *c)
{
    return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp);
}

int rsm_listener_conn_shutdown(struct rsm_listener_conn *c, uv_shutdown_t *req,
                               uv_shutdown_cb cb)
{
    if (c->tls != NULL) {
        rsm_tls_session_shutdown(c->tls);
        (void)lio__send(c, NULL, NULL); /* best effort */
    }
    return uv_shutdown(req, (uv_stream_t *)&c->tcp, cb);
}
