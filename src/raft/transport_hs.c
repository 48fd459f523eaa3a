/* transport_hs.c - the Raft transport with a secret (transport.h): our own
 * TCP on both sides and the raftauth.h handshake (HELLO, CHALLENGE, PROOF)
 * before the stream is handed to raft_uv, with the id and address the peer
 * proved. Every handshake has a deadline; a failure is counted, logged
 * (transport_authlog.c) and closes the connection, and nothing of it ever
 * reaches raft. */
#include "transport_int.h"
#include "rsm/err.h"
#include "rsm/log.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <errno.h>
#include <sys/random.h>

/* With a secret: a handshake, either side, not finished this long after
 * the TCP connection was established is abandoned. */
#define HANDSHAKE_TIMEOUT_MS 2000
/* Pending connections of the listening socket (raft_uv_tcp uses 1; peers
 * reconnect at once after a restart). */
#define LISTEN_BACKLOG 16
/* Incoming handshakes in progress at most; more are refused at once (a
 * group has at most RSM_MAX_AGENTS members, each dialling once). */
#define MAX_INCOMING 64

/* ---------------------------------------------------------------------------
 * Handshake I/O, both sides
 * ------------------------------------------------------------------------- */

/* Fill buf with n bytes from the kernel's random source (getrandom(2),
 * which blocks only before the pool is first initialised at boot).
 * false if it failed. */
static bool transport__random(unsigned char *buf, size_t n)
{
    while (n > 0) {
        ssize_t got = getrandom(buf, n, 0);

        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return false;
        buf += got;
        n -= (size_t)got;
    }
    return true;
}

static const char *transport__cluster_id(const struct impl *im)
{
    const char *id = im->cluster_id ? im->cluster_id(im->cluster_id_arg) : "";

    return id != NULL ? id : "";
}

static void transport__out_closed(struct hs *hs);
static void transport__in_closed(struct hs *hs);
static void transport__out_fail(struct hs *hs, enum rsm_raftauth_reason r,
                                const char *why);
static void transport__in_refuse(struct hs *hs, enum rsm_raftauth_reason r,
                                 const char *why);
static void transport__out_frame(struct hs *hs);
static void transport__in_frame(struct hs *hs);
static void transport__out_handover(struct hs *hs);
static void transport__in_handover(struct hs *hs);

static void transport__hs_handle_closed(uv_handle_t *h)
{
    struct hs *hs = h->data;

    if (h == (uv_handle_t *)hs->stream) {
        raft_free(h);
        hs->stream = NULL;
        hs->tcp = NULL;
    }
    assert(hs->open > 0);
    if (--hs->open > 0)
        return;
    if (hs->out != NULL)
        transport__out_closed(hs);
    else
        transport__in_closed(hs);
}

/* Initialise hs's two handles (hs->tcp allocated by the caller, and the
 * deadline timer) on im's loop; both are closed by transport__hs_abort(). */
static void transport__hs_open(struct impl *im, struct hs *hs)
{
    hs->im = im;
    uv_tcp_init(im->loop, hs->tcp);
    hs->tcp->data = hs;
    hs->stream = (uv_stream_t *)hs->tcp;
    uv_timer_init(im->loop, &hs->timer);
    hs->timer.data = hs;
    hs->open = 2;
}

/* Close our handles (once); transport__out_closed() / transport__in_closed()
 * run when both are closed. A read, connect or write callback that runs
 * meanwhile (with UV_ECANCELED) sees hs->aborting and returns. */
static void transport__hs_abort(struct hs *hs)
{
    if (hs->aborting)
        return;
    hs->aborting = true;
    transport__pump_detach(hs); /* it sees its pipe end close */
    uv_timer_stop(&hs->timer);
    if (hs->stream != NULL)
        uv_close((uv_handle_t *)hs->stream, transport__hs_handle_closed);
    uv_close((uv_handle_t *)&hs->timer, transport__hs_handle_closed);
}

/* The handshake is verified and done writing: take its stream (now the
 * caller's, for raft_uv) and close the rest (the timer). hs lives until
 * that closes. */
static uv_stream_t *transport__hs_release(struct hs *hs)
{
    uv_stream_t *s = hs->stream;

    assert(hs->verified && hs->n_writing == 0 && !hs->aborting);
    transport__pump_detach(hs); /* the pump serves raft_uv's stream now */
    hs->stream = NULL;
    hs->tcp = NULL;
    hs->open--;
    s->data = NULL;
    transport__hs_abort(hs);
    return s;
}

/* Tell the peer why, best effort (the socket closes right after): only
 * when it may be listening. */
static void transport__hs_send_error(struct hs *hs, enum rsm_raftauth_reason r)
{
    unsigned char msg[RSM_RAFTAUTH_HEADER_LEN + 1];
    uv_buf_t buf;

    if (r == RSM_RAFTAUTH_CLOSED || r == RSM_RAFTAUTH_REFUSED ||
        r == RSM_RAFTAUTH_TLS || hs->stream == NULL)
        return;
    buf = uv_buf_init((char *)msg, (unsigned)rsm_raftauth_error(r, msg));
    (void)uv_try_write(hs->stream, &buf, 1);
}

static void transport__hs_fail(struct hs *hs, enum rsm_raftauth_reason r,
                               const char *why)
{
    if (hs->out != NULL)
        transport__out_fail(hs, r, why);
    else
        transport__in_refuse(hs, r, why);
}

static void transport__hs_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct hs *hs = h->data;

    (void)suggested;
    buf->base = (char *)hs->rbuf + hs->have;
    buf->len = hs->need - hs->have;
}

/* Exactly one message: the header, then the length it announces. */
static void transport__hs_read(uv_stream_t *s, ssize_t nread,
                               const uv_buf_t *buf)
{
    struct hs *hs = s->data;
    enum rsm_raftauth_reason r;
    size_t total;

    (void)buf;
    if (nread == 0 || hs->aborting)
        return;
    if (nread < 0) {
        transport__hs_fail(hs, RSM_RAFTAUTH_CLOSED,
                           nread == UV_EOF ? NULL : uv_strerror((int)nread));
        return;
    }
    hs->have += (size_t)nread;
    if (hs->have < hs->need)
        return;
    if (hs->need == RSM_RAFTAUTH_HEADER_LEN) {
        r = rsm_raftauth_frame_len(hs->rbuf, &total);
        if (r != RSM_RAFTAUTH_OK) {
            transport__hs_fail(hs, r, NULL);
            return;
        }
        hs->need = total;
        if (hs->have < hs->need)
            return;
    }
    uv_read_stop(s);
    if (hs->out != NULL)
        transport__out_frame(hs);
    else
        transport__in_frame(hs);
}

static int transport__hs_read_next(struct hs *hs)
{
    hs->have = 0;
    hs->need = RSM_RAFTAUTH_HEADER_LEN;
    return uv_read_start(hs->stream, transport__hs_alloc, transport__hs_read);
}

static void transport__hs_written(uv_write_t *req, int status)
{
    struct hs *hs = req->data;

    hs->n_writing--;
    if (hs->aborting)
        return;
    if (status != 0) {
        transport__hs_fail(hs, RSM_RAFTAUTH_CLOSED, uv_strerror(status));
        return;
    }
    if (hs->verified && hs->n_writing == 0) {
        if (hs->out != NULL)
            transport__out_handover(hs);
        else
            transport__in_handover(hs);
    }
}

/* The buffer for the next message to write (at most two per side). */
static unsigned char *transport__hs_wbuf(struct hs *hs)
{
    assert(hs->n_writes < 2);
    return hs->wbuf[hs->n_writes];
}

/* Write len bytes of transport__hs_wbuf(). 0 or a libuv error. */
static int transport__hs_write(struct hs *hs, size_t len)
{
    uv_write_t *req = &hs->wreq[hs->n_writes];
    uv_buf_t buf = uv_buf_init((char *)hs->wbuf[hs->n_writes], (unsigned)len);
    int rv;

    rv = uv_write(req, hs->stream, &buf, 1, transport__hs_written);
    if (rv != 0)
        return rv;
    req->data = hs;
    hs->n_writes++;
    hs->n_writing++;
    return 0;
}

static void transport__hs_timeout(uv_timer_t *t)
{
    struct hs *hs = t->data;

    if (hs->aborting)
        return;
    if (hs->out != NULL && hs->sync_error)
        transport__out_fail(hs, RSM_RAFTAUTH_OK, "connect failed");
    else
        transport__hs_fail(hs, RSM_RAFTAUTH_TIMEOUT, NULL);
}

/* ---------------------------------------------------------------------------
 * Handshake, client side (our connect)
 * ------------------------------------------------------------------------- */

static void transport__out_closed(struct hs *hs)
{
    struct conn *c = hs->out;
    struct impl *im = c->im;

    if (!c->answered) /* aborted by close() */
        transport__answer(c, NULL, RAFT_CANCELED);
    transport__unlink_conn(im, c);
    free(c);
    transport__maybe_closed(im);
}

/* The connect failed: r is RSM_RAFTAUTH_OK for a TCP failure (why says
 * which), TIMEOUT, or the handshake's refusal. raft_uv hears
 * RAFT_NOCONNECTION now and retries later (resolving the name again). */
static void transport__out_fail(struct hs *hs, enum rsm_raftauth_reason r,
                                const char *why)
{
    struct conn *c = hs->out;
    struct impl *im = c->im;

    if (r == RSM_RAFTAUTH_OK || r == RSM_RAFTAUTH_TIMEOUT) {
        im->stats.connect_errors++;
        if (r == RSM_RAFTAUTH_TIMEOUT)
            rsm_log(RSM_LOG_DEBUG,
                    hs->step == HS_CONNECTING ? "raft-connect-timeout"
                                              : "raft-handshake-timeout",
                    "peer=%llu host=%s", (unsigned long long)c->id,
                    c->addr.host);
    } else {
        im->stats.auth_failed++;
        transport__log_auth_failure(hs, r, why);
        transport__hs_send_error(hs, r);
    }
    transport__hs_abort(hs);
    if (!c->answered)
        transport__answer(c, NULL, RAFT_NOCONNECTION);
}

/* Send HELLO (on the TCP connection, or inside TLS). */
static void transport__out_hello(struct hs *hs)
{
    struct impl *im = hs->im;
    unsigned char nonce[RSM_RAFTAUTH_NONCE_LEN];
    enum rsm_raftauth_reason r;
    size_t len;

    hs->step = HS_HELLO;
    if (!transport__random(nonce, sizeof nonce)) {
        rsm_log(RSM_LOG_ERROR, "raft-auth-random-failed", NULL);
        transport__out_fail(hs, RSM_RAFTAUTH_OK, "getrandom failed");
        return;
    }
    r = rsm_raftauth_client_hello(&hs->auth, hs->out->id,
                                  transport__cluster_id(im), im->self_addr,
                                  nonce, transport__hs_wbuf(hs), &len);
    if (r != RSM_RAFTAUTH_OK) {
        transport__out_fail(hs, r, hs->auth.detail);
        return;
    }
    if (transport__hs_write(hs, len) != 0 || transport__hs_read_next(hs) != 0)
        transport__out_fail(hs, RSM_RAFTAUTH_CLOSED, "cannot write or read");
}

static void transport__out_connected(uv_connect_t *req, int status)
{
    struct hs *hs = req->data;
    int rv;

    if (hs->aborting)
        return;
    if (status != 0) {
        transport__out_fail(hs, RSM_RAFTAUTH_OK, uv_strerror(status));
        return;
    }
    transport__set_user_timeout(hs->tcp);
    uv_timer_start(&hs->timer, transport__hs_timeout, HANDSHAKE_TIMEOUT_MS, 0);
    if (hs->im->tls_server == NULL) {
        transport__out_hello(hs);
        return;
    }
    /* TLS first: the server must be the host we dialled. */
    hs->step = HS_TLS;
    rv = transport__pump_start(hs, hs->out->addr.host);
    if (rv != 0)
        transport__out_fail(hs, RSM_RAFTAUTH_TLS, uv_strerror(rv));
}

void transport__hs_tls_ready(struct hs *hs)
{
    if (hs->aborting)
        return;
    if (hs->out != NULL) {
        transport__out_hello(hs);
        return;
    }
    hs->step = HS_HELLO;
    if (transport__hs_read_next(hs) != 0)
        transport__in_refuse(hs, RSM_RAFTAUTH_CLOSED, "cannot read");
}

void transport__hs_tls_failed(struct hs *hs, const char *why)
{
    if (hs->aborting)
        return;
    transport__hs_fail(hs, RSM_RAFTAUTH_TLS, why);
}

/* CHALLENGE (or ERROR) from the server. */
static void transport__out_frame(struct hs *hs)
{
    enum rsm_raftauth_reason r;
    size_t len;

    r = rsm_raftauth_client_proof(&hs->auth, hs->rbuf, hs->have,
                                  transport__hs_wbuf(hs), &len);
    if (r != RSM_RAFTAUTH_OK) {
        transport__out_fail(hs, r, hs->auth.detail);
        return;
    }
    hs->step = HS_PROOF;
    hs->verified = true;
    if (transport__hs_write(hs, len) != 0)
        transport__out_fail(hs, RSM_RAFTAUTH_CLOSED, "cannot write");
}

/* PROOF written: the stream is raft_uv's from now on. */
static void transport__out_handover(struct hs *hs)
{
    struct conn *c = hs->out; /* freed once the timer is closed */
    uv_stream_t *s = transport__hs_release(hs);

    transport__answer(c, s, 0);
}

/* Step 3 with a secret: connect to ip:port ourselves, with a deadline.
 * 0, or RAFT_NOMEM with nothing to undo. Every other failure is reported
 * to raft_uv from the loop (never from inside its connect call). */
int transport__auth_connect(struct conn *c, const char *ip)
{
    struct impl *im = c->im;
    struct hs *hs = &c->hs;
    struct sockaddr_in sa;
    int rv;

    hs->tcp = raft_malloc(sizeof *hs->tcp);
    if (hs->tcp == NULL)
        return RAFT_NOMEM;
    hs->out = c;
    c->auth_on = true;
    transport__hs_open(im, hs);
    snprintf(hs->ip, sizeof hs->ip, "%.15s", ip);
    snprintf(hs->peer, sizeof hs->peer, "%.15s:%u", ip, (unsigned)c->addr.port);
    rsm_raftauth_init(&hs->auth, im->secret, im->secret_len, im->self_id);
    hs->step = HS_CONNECTING;
    rv = uv_ip4_addr(ip, c->addr.port, &sa);
    if (rv == 0)
        rv = uv_tcp_connect(&hs->connect, hs->tcp, (const struct sockaddr *)&sa,
                            transport__out_connected);
    hs->connect.data = hs;
    hs->sync_error = rv != 0;
    uv_timer_start(&hs->timer, transport__hs_timeout,
                   rv != 0 ? 0 : CONNECT_TIMEOUT_MS, 0);
    return 0;
}

/* ---------------------------------------------------------------------------
 * Handshake, server side (accepted connections)
 * ------------------------------------------------------------------------- */

static void transport__in_closed(struct hs *hs)
{
    struct impl *im = hs->im;

    if (hs->prev != NULL)
        hs->prev->next = hs->next;
    else
        im->incoming = hs->next;
    if (hs->next != NULL)
        hs->next->prev = hs->prev;
    assert(im->n_incoming > 0);
    im->n_incoming--;
    free(hs);
    transport__maybe_closed(im);
}

/* Refuse the connection: counted, logged, closed. Nothing reached raft. */
static void transport__in_refuse(struct hs *hs, enum rsm_raftauth_reason r,
                                 const char *why)
{
    hs->im->stats.auth_refused++;
    transport__log_auth_failure(hs, r, why);
    transport__hs_send_error(hs, r);
    transport__hs_abort(hs);
}

/* With TLS: does the client's certificate name the host of the member
 * address it claims? If not, refused (and false). */
static bool transport__in_identity(struct hs *hs)
{
    struct rsm_addr claimed;
    char detail[640], text[RSM_RAFTAUTH_ADDR_MAX + 1];

    /* "host:raftport[/apiport]" (node.h): the host is what counts */
    snprintf(text, sizeof text, "%s", hs->auth.hello.address);
    text[strcspn(text, "/")] = '\0';
    if (rsm_addr_parse(text, &claimed, NULL, 0) != 0) {
        transport__in_refuse(hs, RSM_RAFTAUTH_MALFORMED,
                             "the address in HELLO does not parse");
        return false;
    }
    if (transport__pump_peer_is(hs, claimed.host))
        return true;
    snprintf(detail, sizeof detail,
             "member %llu claims address %s; its certificate does not name "
             "%s",
             (unsigned long long)hs->auth.hello.client_id,
             hs->auth.hello.address, claimed.host);
    transport__in_refuse(hs, RSM_RAFTAUTH_IDENTITY, detail);
    return false;
}

/* HELLO, then PROOF (or ERROR) from the client. */
static void transport__in_frame(struct hs *hs)
{
    unsigned char nonce[RSM_RAFTAUTH_NONCE_LEN];
    enum rsm_raftauth_reason r;
    size_t len;

    if (hs->step == HS_HELLO) {
        if (!transport__random(nonce, sizeof nonce)) {
            rsm_log(RSM_LOG_ERROR, "raft-auth-random-failed", NULL);
            transport__hs_abort(hs);
            return;
        }
        r = rsm_raftauth_server_challenge(
            &hs->auth, transport__cluster_id(hs->im), nonce, hs->rbuf, hs->have,
            transport__hs_wbuf(hs), &len);
        if (r != RSM_RAFTAUTH_OK) {
            transport__in_refuse(hs, r, hs->auth.detail);
            return;
        }
        /* With TLS the member it claims must be the one its certificate
         * names: said now, so that the client hears why (ERROR). */
        if (hs->im->tls_server != NULL && !transport__in_identity(hs))
            return;
        hs->step = HS_PROOF;
        if (transport__hs_write(hs, len) != 0 ||
            transport__hs_read_next(hs) != 0)
            transport__in_refuse(hs, RSM_RAFTAUTH_CLOSED,
                                 "cannot write or read");
        return;
    }
    r = rsm_raftauth_server_verify(&hs->auth, hs->rbuf, hs->have);
    if (r != RSM_RAFTAUTH_OK) {
        transport__in_refuse(hs, r, hs->auth.detail);
        return;
    }
    hs->verified = true;
    if (hs->n_writing == 0)
        transport__in_handover(hs);
}

/* PROOF checked and CHALLENGE written: the stream is raft_uv's, with the
 * id and address the peer proved. */
static void transport__in_handover(struct hs *hs)
{
    struct impl *im = hs->im;
    uv_stream_t *s = transport__hs_release(hs); /* hs lives on a while */

    im->stats.auth_accepted++;
    im->accept_cb(im->outer, hs->auth.hello.client_id, hs->auth.hello.address,
                  s);
}

static void transport__peer_name(struct hs *hs)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;

    snprintf(hs->ip, sizeof hs->ip, "?");
    snprintf(hs->peer, sizeof hs->peer, "?");
    if (uv_tcp_getpeername(hs->tcp, (struct sockaddr *)&ss, &len) != 0 ||
        ss.ss_family != AF_INET)
        return;
    uv_ip4_name((struct sockaddr_in *)&ss, hs->ip, sizeof hs->ip);
    snprintf(hs->peer, sizeof hs->peer, "%s:%u", hs->ip,
             (unsigned)ntohs(((struct sockaddr_in *)&ss)->sin_port));
}

static void transport__on_connection(uv_stream_t *listener, int status)
{
    struct impl *im = listener->data;
    struct hs *hs;

    if (status != 0 || im->closing) {
        rsm_log(RSM_LOG_WARN, "raft-accept-failed", "error=%s",
                status ? uv_strerror(status) : "closing");
        return;
    }
    hs = calloc(1, sizeof *hs);
    if (hs != NULL)
        hs->tcp = raft_malloc(sizeof *hs->tcp);
    if (hs == NULL || hs->tcp == NULL) {
        /* Not accepted: libuv stops watching the listener until the next
         * uv_accept, i.e. until memory is back and a connection comes. */
        free(hs);
        rsm_log(RSM_LOG_ERROR, "raft-accept-failed", "error=\"no memory\"");
        return;
    }
    transport__hs_open(im, hs);
    hs->next = im->incoming;
    if (im->incoming != NULL)
        im->incoming->prev = hs;
    im->incoming = hs;
    im->n_incoming++;
    if (uv_accept(listener, (uv_stream_t *)hs->tcp) != 0) {
        transport__hs_abort(hs);
        return;
    }
    transport__peer_name(hs);
    rsm_raftauth_init(&hs->auth, im->secret, im->secret_len, im->self_id);
    if (im->n_incoming > MAX_INCOMING) {
        transport__in_refuse(hs, RSM_RAFTAUTH_BUSY, NULL);
        return;
    }
    uv_timer_start(&hs->timer, transport__hs_timeout, HANDSHAKE_TIMEOUT_MS, 0);
    if (im->tls_server != NULL) { /* TLS first; then HELLO inside it */
        hs->step = HS_TLS;
        if (transport__pump_start(hs, NULL) != 0)
            transport__hs_abort(hs);
        return;
    }
    hs->step = HS_HELLO;
    if (transport__hs_read_next(hs) != 0)
        transport__hs_abort(hs);
}

/* Listen on im->bind ourselves. 0 or RAFT_IOERR with errmsg. */
int transport__auth_listen(struct impl *im, char *errmsg, size_t errlen)
{
    struct sockaddr_in sa;
    int rv;

    uv_tcp_init(im->loop, &im->listener);
    im->listener.data = im;
    im->listener_on = true;
    rv = transport__bind_addr(im, &sa);
    if (rv == 0)
        rv = uv_tcp_bind(&im->listener, (const struct sockaddr *)&sa, 0);
    if (rv == 0)
        rv = uv_listen((uv_stream_t *)&im->listener, LISTEN_BACKLOG,
                       transport__on_connection);
    if (rv != 0) {
        snprintf(errmsg, errlen, "listen on %s: %s", im->bind, uv_strerror(rv));
        return RAFT_IOERR;
    }
    return 0;
}

static void transport__listener_closed(uv_handle_t *h)
{
    struct impl *im = h->data;

    im->inner_closed = true;
    transport__maybe_closed(im);
}

/* close() with a secret: stop listening, abort every handshake. */
void transport__auth_close(struct impl *im)
{
    for (struct conn *c = im->pending; c != NULL; c = c->next) {
        if (c->resolving)
            uv_cancel(
                (uv_req_t *)&c->gai); /* else transport__resolved() runs soon */
        else if (c->auth_on)
            transport__hs_abort(&c->hs);
    }
    for (struct hs *hs = im->incoming; hs != NULL; hs = hs->next)
        transport__hs_abort(hs);
    transport__pumps_close(im);
    if (im->listener_on) {
        uv_close((uv_handle_t *)&im->listener, transport__listener_closed);
    } else { /* never listened: still report completion from the loop */
        uv_timer_init(im->loop, &im->closer);
        im->closer.data = im;
        uv_close((uv_handle_t *)&im->closer, transport__listener_closed);
    }
}
