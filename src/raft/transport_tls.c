/* transport_tls.c - Raft over mutual TLS (transport.h): one pump per
 * connection between the TCP socket and one end of a socketpair, whose
 * other end is the stream the handshake and then libraft read and write.
 * libraft never sees TLS:
 *
 *   TCP --ciphertext--> session --plaintext--> pipe (ours) ~ pipe (raft's)
 *   pipe (ours) --plaintext--> session --ciphertext--> TCP
 *
 * The TLS handshake runs first; the pump reads its pipe end only once it
 * is done (what the other side wrote before waits in the socketpair).
 * Then transport__hs_tls_ready() lets the handshake of transport_hs.c go
 * on inside TLS. A pump ends when either side ends: the TCP connection
 * (EOF, error, the peer's close_notify, a TLS failure) or the pipe (the
 * handshake aborted, or libraft closed its stream); then it sends a
 * close_notify (best effort) and closes both handles.
 *
 * Flow control: when one side's writes queue more than PUMP_HIGH bytes,
 * the pump stops reading the other side until they drain below PUMP_LOW.
 *
 * Lifetime: allocated by transport__pump_start(), linked in im->pumps,
 * freed once both handles are closed; close() of the transport closes
 * every pump and waits for them. */
#include "transport_int.h"

#include "rsm/err.h"
#include "rsm/log.h"
#include "rsm/tls.h"
#include "rsm/tls_session.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PUMP_READ_SIZE 65536
#define PUMP_HIGH      (4u << 20)
#define PUMP_LOW       (1u << 20)

struct pump {
    uv_pipe_t pipe; /* our end of the socketpair; first: the handle
                       is the pump */
    struct impl *im;
    struct hs *hs; /* the handshake that owns the other end, while
                      attached */
    uv_tcp_t *tcp; /* raft_malloc'd (it was the handshake's) */
    struct rsm_tls_session *s;
    unsigned open; /* of tcp and pipe */
    bool ready;    /* TLS handshake done */
    bool closing;
    bool tcp_paused;           /* reading tcp stopped: the pipe is backed up */
    bool pipe_paused;          /* reading the pipe stopped: tcp is backed up */
    char why[RSM_ERRMSG_SIZE]; /* why it ended, if it failed */
    struct pump *prev, *next;
};

/* One write of a pump, to either side. */
struct pump_write {
    uv_write_t req;
    struct pump *p;
    char *buf;
};

/* Reads of every pump share one buffer: each is consumed at once, on the
 * loop thread. */
static char pump__rbuf[PUMP_READ_SIZE];

static void pump__close(struct pump *p);
static void pump__resume(struct pump *p);

static void pump__alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(pump__rbuf, sizeof pump__rbuf);
}

static void pump__written(uv_write_t *req, int status)
{
    struct pump_write *w = (struct pump_write *)req;
    struct pump *p = w->p;

    free(w->buf);
    free(w);
    if (p->closing)
        return;
    if (status != 0) {
        snprintf(p->why, sizeof p->why, "write: %s", uv_strerror(status));
        pump__close(p);
        return;
    }
    pump__resume(p);
}

/* Write buf (malloc'd, len bytes; taken either way) on dst. 0 or a libuv
 * error. */
static int pump__write(struct pump *p, uv_stream_t *dst, char *buf, size_t len)
{
    struct pump_write *w = malloc(sizeof *w);
    uv_buf_t b = uv_buf_init(buf, (unsigned)len);
    int rv;

    if (w == NULL) {
        free(buf);
        return UV_ENOMEM;
    }
    w->p = p;
    w->buf = buf;
    rv = uv_write(&w->req, dst, &b, 1, pump__written);
    if (rv != 0) {
        free(buf);
        free(w);
    }
    return rv;
}

/* Send what the session has for the TCP side. 0 or a libuv error. */
static int pump__flush(struct pump *p)
{
    char *buf;
    size_t n;

    if (rsm_tls_session_output(p->s, &buf, &n) != 0)
        return UV_ENOMEM;
    if (n == 0)
        return 0;
    return pump__write(p, (uv_stream_t *)p->tcp, buf, n);
}

static size_t pump__queued(const void *stream)
{
    return uv_stream_get_write_queue_size((const uv_stream_t *)stream);
}

static void pump__handle_closed(uv_handle_t *h)
{
    struct pump *p = h->data;
    struct impl *im = p->im;

    assert(p->open > 0);
    if (--p->open > 0)
        return;
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        im->pumps = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    assert(im->n_pumps > 0);
    im->n_pumps--;
    rsm_tls_session_free(p->s);
    raft_free(p->tcp);
    free(p);
    transport__maybe_closed(im);
}

/* End the pump (once): tell an attached handshake still waiting for TLS,
 * send a close_notify, close both handles. */
static void pump__close(struct pump *p)
{
    struct hs *hs = p->hs;

    if (p->closing)
        return;
    p->closing = true;
    if (hs != NULL) {
        p->hs = NULL;
        hs->pump = NULL;
        if (!p->ready)
            transport__hs_tls_failed(
                hs, p->why[0] != '\0' ? p->why : "connection closed");
        /* Once ready, the handshake sees its stream end instead. */
    }
    rsm_tls_session_shutdown(p->s);
    (void)pump__flush(p);
    uv_close((uv_handle_t *)p->tcp, pump__handle_closed);
    uv_close((uv_handle_t *)&p->pipe, pump__handle_closed);
}

static void pump__on_pipe_read(uv_stream_t *st, ssize_t nread,
                               const uv_buf_t *buf);
static void pump__on_tcp_read(uv_stream_t *st, ssize_t nread,
                              const uv_buf_t *buf);

/* Reading stopped for flow control: start again once the queue that
 * stopped it has drained. */
static void pump__resume(struct pump *p)
{
    if (p->tcp_paused && pump__queued(&p->pipe) < PUMP_LOW) {
        p->tcp_paused = false;
        uv_read_start((uv_stream_t *)p->tcp, pump__alloc, pump__on_tcp_read);
    }
    if (p->pipe_paused && pump__queued(p->tcp) < PUMP_LOW) {
        p->pipe_paused = false;
        uv_read_start((uv_stream_t *)&p->pipe, pump__alloc, pump__on_pipe_read);
    }
}

/* Plaintext from the handshake or libraft: encrypt it to the TCP side. */
static void pump__on_pipe_read(uv_stream_t *st, ssize_t nread,
                               const uv_buf_t *buf)
{
    struct pump *p = st->data;

    if (p->closing || nread == 0)
        return;
    if (nread < 0) { /* the other end closed: done */
        pump__close(p);
        return;
    }
    if (rsm_tls_session_write(p->s, buf->base, (size_t)nread) != 0 ||
        pump__flush(p) != 0) {
        snprintf(p->why, sizeof p->why, "cannot write on the connection");
        pump__close(p);
        return;
    }
    if (pump__queued(p->tcp) > PUMP_HIGH) {
        uv_read_stop((uv_stream_t *)&p->pipe);
        p->pipe_paused = true;
    }
}

/* The TLS handshake is done: read the pipe from now on, and let the
 * handshake go on. */
static void pump__ready(struct pump *p)
{
    p->ready = true;
    if (uv_read_start((uv_stream_t *)&p->pipe, pump__alloc,
                      pump__on_pipe_read) != 0) {
        snprintf(p->why, sizeof p->why, "cannot read the socketpair");
        pump__close(p);
        return;
    }
    if (p->hs != NULL)
        transport__hs_tls_ready(p->hs);
}

/* Ciphertext from the peer: decrypt it to the pipe. */
static void pump__on_tcp_read(uv_stream_t *st, ssize_t nread,
                              const uv_buf_t *buf)
{
    struct pump *p = st->data;
    char *plain;
    ssize_t n;

    if (p->closing || nread == 0)
        return;
    if (nread < 0) {
        snprintf(p->why, sizeof p->why, "%s",
                 nread == UV_EOF ? "connection closed by the peer"
                                 : uv_strerror((int)nread));
        pump__close(p);
        return;
    }
    if (rsm_tls_session_put(p->s, buf->base, (size_t)nread) != 0) {
        snprintf(p->why, sizeof p->why, "out of memory");
        pump__close(p);
        return;
    }
    for (;;) {
        n = rsm_tls_session_read(p->s, pump__rbuf, sizeof pump__rbuf, p->why,
                                 sizeof p->why);
        if (n <= 0)
            break;
        plain = malloc((size_t)n);
        if (plain == NULL) {
            snprintf(p->why, sizeof p->why, "out of memory");
            pump__close(p);
            return;
        }
        memcpy(plain, pump__rbuf, (size_t)n);
        if (pump__write(p, (uv_stream_t *)&p->pipe, plain, (size_t)n) != 0) {
            snprintf(p->why, sizeof p->why, "cannot write the socketpair");
            pump__close(p);
            return;
        }
    }
    if (n == RSM_TLS_CLOSED)
        snprintf(p->why, sizeof p->why, "the peer ended TLS (close_notify)");
    if (pump__flush(p) != 0 || n < 0) {
        if (p->why[0] == '\0')
            snprintf(p->why, sizeof p->why, "cannot write on the connection");
        p->im->stats.tls_failed += n == RSM_TLS_FAILED;
        pump__close(p);
        return;
    }
    if (!p->ready && rsm_tls_session_established(p->s)) {
        pump__ready(p);
        if (p->closing)
            return;
    }
    if (pump__queued(&p->pipe) > PUMP_HIGH) {
        uv_read_stop((uv_stream_t *)p->tcp);
        p->tcp_paused = true;
    }
}

/* Close callbacks of a pump that never started. */
static void pump__raft_end_closed(uv_handle_t *h)
{
    raft_free(h);
}

static void pump__unstarted_closed(uv_handle_t *h)
{
    free(h); /* the pump: its pipe is its first member */
}

int transport__pump_start(struct hs *hs, const char *peer_host)
{
    struct impl *im = hs->im;
    struct rsm_tls *ctx = hs->out != NULL ? im->tls_client : im->tls_server;
    struct pump *p = calloc(1, sizeof *p);
    uv_pipe_t *theirs = raft_malloc(sizeof *theirs);
    int fds[2] = {-1, -1}, rv = UV_ENOMEM;

    if (p == NULL || theirs == NULL)
        goto err;
    if (rsm_tls_session_new(ctx, peer_host, &p->s) != 0)
        goto err;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
        rv = UV_EMFILE;
        goto err;
    }
    uv_pipe_init(im->loop, theirs, 0);
    uv_pipe_init(im->loop, &p->pipe, 0);
    rv = uv_pipe_open(theirs, fds[0]);
    if (rv != 0)
        close(fds[0]); /* else the handle owns it */
    if (uv_pipe_open(&p->pipe, fds[1]) != 0) {
        close(fds[1]);
        rv = UV_EIO;
    }
    if (rv != 0) { /* both handles are initialised: close them */
        rsm_tls_session_free(p->s);
        p->s = NULL;
        uv_close((uv_handle_t *)theirs, pump__raft_end_closed);
        uv_close((uv_handle_t *)&p->pipe, pump__unstarted_closed);
        return UV_EIO;
    }
    p->im = im;
    p->tcp = hs->tcp;
    p->tcp->data = p;
    p->pipe.data = p;
    p->open = 2;
    p->hs = hs;
    hs->pump = p;
    hs->tcp = NULL;
    hs->stream = (uv_stream_t *)theirs;
    theirs->data = hs;
    p->next = im->pumps;
    if (im->pumps != NULL)
        im->pumps->prev = p;
    im->pumps = p;
    im->n_pumps++;
    if (uv_read_start((uv_stream_t *)p->tcp, pump__alloc, pump__on_tcp_read) !=
            0 ||
        pump__flush(p) != 0) { /* a client's ClientHello */
        snprintf(p->why, sizeof p->why, "cannot use the connection");
        pump__close(p); /* hs hears it now: it is inside its start */
    }
    return 0;

err:
    if (p != NULL)
        rsm_tls_session_free(p->s);
    free(p);
    raft_free(theirs);
    return rv;
}

void transport__pump_detach(struct hs *hs)
{
    if (hs->pump != NULL) {
        hs->pump->hs = NULL;
        hs->pump = NULL;
    }
}

bool transport__pump_peer_is(const struct hs *hs, const char *host)
{
    return hs->pump != NULL && rsm_tls_session_peer_is(hs->pump->s, host);
}

void transport__pumps_close(struct impl *im)
{
    struct pump *p = im->pumps;

    while (p != NULL) {
        struct pump *next = p->next; /* p stays linked until closed */

        pump__close(p);
        p = next;
    }
}
