/* transport.c - raft_uv_tcp behind a resolver: DNS names on every connect.
 *
 * A connect request from raft_uv goes through three steps:
 *   1. parse the member address "host:port[/api]" (the suffix is dropped),
 *   2. resolve host with uv_getaddrinfo (skipped for a dotted IPv4 host),
 *   3. hand "ip:port" to raft_uv_tcp's connect, which does TCP + handshake.
 * raft_uv's callback runs exactly once: with the stream, with
 * RAFT_NOCONNECTION (name did not resolve, TCP or handshake failed), or with
 * RAFT_CANCELED once close() started (raft_uv expects CANCELED only then).
 * close() cancels the lookups still queued, closes raft_uv_tcp, and reports
 * completion only when raft_uv_tcp is closed and no request is in flight. */
#include "rsm/transport.h"
#include "rsm/err.h"
#include "rsm/log.h"
#include "rsm/node.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* An outgoing connection whose sent data stays unacknowledged this long is
 * dropped by the kernel (TCP_USER_TIMEOUT). raft_uv never reads from the
 * connections it opens, so a peer that vanished without a reset (a pod
 * deleted, its IP gone) would otherwise keep the leader writing into a dead
 * socket for the ~15 minutes of TCP retransmissions, never reconnecting and
 * so never resolving the peer's new address. */
#define SEND_USER_TIMEOUT_MS 5000
/* raft_uv_tcp's connect has no deadline: a SYN to an address nobody owns
 * any more (a pod moved) is retried by the kernel for minutes, and raft_uv
 * does not try again meanwhile. After this long raft_uv is told the connect
 * failed; it retries, and the retry resolves the name again. The abandoned
 * attempt ends on its own (its stream, if any, is closed). */
#define CONNECT_TIMEOUT_MS 2000

/* "255.255.255.255:65535" */
#define IPPORT_LEN (INET_ADDRSTRLEN + 8)
/* Peers whose resolution we remember for logging (by id). */
#define PEERS_TRACKED (2 * RSM_MAX_AGENTS)

struct conn;

/* What we remember about a peer: log resolution failures and IP changes
 * once, not on every retry. */
struct peer_seen {
    raft_id id;
    bool failing;
    char ip[INET_ADDRSTRLEN];
};

struct impl {
    uv_loop_t *loop;
    struct raft_uv_transport *outer;
    struct raft_uv_transport inner; /* raft_uv_tcp */
    char bind[IPPORT_LEN];
    raft_uv_accept_cb accept_cb;
    struct conn *pending; /* connect requests in flight */
    unsigned n_pending;
    bool closing, inner_closed;
    raft_uv_transport_close_cb close_cb;
    struct rsm_transport_stats stats;
    struct peer_seen peers[PEERS_TRACKED];
};

/* One connect request of raft_uv; freed once its callback ran. */
struct conn {
    struct impl *im;
    struct raft_uv_connect *req; /* raft_uv's request */
    struct raft_uv_connect inner_req;
    uv_getaddrinfo_t gai;
    raft_id id;
    struct rsm_addr addr; /* Raft host:port of the peer */
    bool resolving;
    uv_timer_t timer;     /* CONNECT_TIMEOUT_MS, once connecting */
    bool timer_on;        /* timer initialised: close it before free */
    bool answered;        /* raft_uv's callback has run */
    struct conn *prev, *next;
};

/* ---------------------------------------------------------------------------
 * Bookkeeping
 * ------------------------------------------------------------------------- */

static void link_conn(struct impl *im, struct conn *c)
{
    c->prev = NULL;
    c->next = im->pending;
    if (im->pending != NULL)
        im->pending->prev = c;
    im->pending = c;
    im->n_pending++;
}

static void unlink_conn(struct impl *im, struct conn *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        im->pending = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    im->n_pending--;
}

/* Fire the user's close callback once everything has settled. */
static void maybe_closed(struct impl *im)
{
    raft_uv_transport_close_cb cb = im->close_cb;

    if (!im->closing || !im->inner_closed || im->n_pending > 0 || cb == NULL)
        return;
    im->close_cb = NULL;
    cb(im->outer);
}

static void timer_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    struct impl *im = c->im;

    unlink_conn(im, c);
    free(c);
    maybe_closed(im);
}

/* Run raft_uv's callback (once). */
static void answer(struct conn *c, uv_stream_t *stream, int status)
{
    struct raft_uv_connect *req = c->req;

    c->answered = true;
    req->cb(req, stream, status);
}

/* Complete raft_uv's request (unless a timeout already did) and forget
 * it: free it now, or once its timer has closed. */
static void finish(struct conn *c, uv_stream_t *stream, int status)
{
    struct impl *im = c->im;

    if (c->timer_on) {
        uv_timer_stop(&c->timer);
        uv_close((uv_handle_t *)&c->timer, timer_closed);
    } else {
        unlink_conn(im, c);
    }
    if (!c->answered)
        answer(c, stream, status);
    if (!c->timer_on) {
        free(c);
        maybe_closed(im);
    }
}

static struct peer_seen *peer_seen(struct impl *im, raft_id id)
{
    struct peer_seen *free_slot = NULL;

    for (unsigned i = 0; i < PEERS_TRACKED; i++) {
        if (im->peers[i].id == id)
            return &im->peers[i];
        if (im->peers[i].id == 0 && free_slot == NULL)
            free_slot = &im->peers[i];
    }
    if (free_slot != NULL)
        free_slot->id = id;
    return free_slot;
}

static void note_resolved(struct impl *im, const struct conn *c, const char *ip)
{
    struct peer_seen *p = peer_seen(im, c->id);

    if (p == NULL || (!p->failing && strcmp(p->ip, ip) == 0))
        return;
    rsm_log(RSM_LOG_INFO, "raft-peer-resolved", "peer=%llu host=%s ip=%s",
            (unsigned long long)c->id, c->addr.host, ip);
    p->failing = false;
    snprintf(p->ip, sizeof p->ip, "%s", ip);
}

static void note_unresolved(struct impl *im, const struct conn *c,
                            const char *why)
{
    struct peer_seen *p = peer_seen(im, c->id);
    char q[RSM_ERRMSG_SIZE];

    im->stats.resolve_errors++;
    if (p != NULL && p->failing)
        return;
    rsm_log(RSM_LOG_WARN, "raft-resolve-failed", "peer=%llu host=%s error=%s",
            (unsigned long long)c->id, c->addr.host,
            rsm_log_quote(why, q, sizeof q));
    if (p != NULL)
        p->failing = true;
}

/* ---------------------------------------------------------------------------
 * Connect
 * ------------------------------------------------------------------------- */

static void stream_closed(uv_handle_t *h)
{
    struct conn *c = h->data;

    raft_free(h);
    finish(c, NULL, RAFT_CANCELED);
}

static void inner_connected(struct raft_uv_connect *ireq, uv_stream_t *stream,
                            int status)
{
    struct conn *c = ireq->data;
    struct impl *im = c->im;

    if (status == 0 && (im->closing || c->answered)) {
        /* Connected just as we started closing (raft_uv expects CANCELED
         * now), or after the connect timed out: the stream is ours to
         * close. */
        stream->data = c;
        uv_close((uv_handle_t *)stream, stream_closed);
        return;
    }
    if (status != 0 && status != RAFT_CANCELED)
        im->stats.connect_errors++;
    if (status == 0) {
        uv_os_fd_t fd;
        unsigned ms = SEND_USER_TIMEOUT_MS;
        if (uv_fileno((uv_handle_t *)stream, &fd) == 0)
            setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms);
    }
    finish(c, stream, status);
}

static void connect_timeout(uv_timer_t *t)
{
    struct conn *c = t->data;

    if (c->answered)
        return;
    c->im->stats.connect_errors++;
    rsm_log(RSM_LOG_DEBUG, "raft-connect-timeout", "peer=%llu host=%s",
            (unsigned long long)c->id, c->addr.host);
    answer(c, NULL, RAFT_NOCONNECTION);
}

/* Step 3: ask raft_uv_tcp to connect to ip, with a deadline. 0 or a
 * RAFT_* code. */
static int connect_ip(struct conn *c, const char *ip)
{
    struct impl *im = c->im;
    char ipport[IPPORT_LEN];
    int rv;

    snprintf(ipport, sizeof ipport, "%.15s:%u", ip, (unsigned)c->addr.port);
    c->inner_req.data = c;
    rv = im->inner.connect(&im->inner, &c->inner_req, c->id, ipport,
                           inner_connected);
    if (rv == 0) {
        uv_timer_init(im->loop, &c->timer);
        c->timer.data = c;
        c->timer_on = true;
        uv_timer_start(&c->timer, connect_timeout, CONNECT_TIMEOUT_MS, 0);
    }
    return rv;
}

static void resolved(uv_getaddrinfo_t *gai, int status, struct addrinfo *res)
{
    struct conn *c = gai->data;
    struct impl *im = c->im;
    char ip[INET_ADDRSTRLEN];
    int rv;

    c->resolving = false;
    if (im->closing) {
        uv_freeaddrinfo(res);
        finish(c, NULL, RAFT_CANCELED);
        return;
    }
    if (status != 0 || res == NULL || res->ai_family != AF_INET) {
        note_unresolved(im, c, status ? uv_strerror(status) : "no address");
        uv_freeaddrinfo(res);
        finish(c, NULL, RAFT_NOCONNECTION);
        return;
    }
    inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, ip,
              sizeof ip);
    uv_freeaddrinfo(res);
    note_resolved(im, c, ip);
    rv = connect_ip(c, ip);
    if (rv != 0) {
        im->stats.connect_errors++;
        finish(c, NULL, RAFT_NOCONNECTION);
    }
}

static int tr_connect(struct raft_uv_transport *t, struct raft_uv_connect *req,
                      raft_id id, const char *address, raft_uv_connect_cb cb)
{
    struct impl *im = t->impl;
    struct addrinfo hints;
    struct rsm_member m;
    struct in_addr v4;
    struct conn *c;
    char port[8], err[RSM_ERRMSG_SIZE];
    int rv;

    im->stats.connects++;
    if (im->closing)
        return RAFT_CANCELED;
    if (rsm_node_parse_member_addr(address, 0, &m, err, sizeof err) != 0) {
        snprintf(t->errmsg, sizeof t->errmsg,
                 "peer %llu address '%.80s': %.120s", (unsigned long long)id,
                 address, err);
        return RAFT_INVALID;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return RAFT_NOMEM;
    c->im = im;
    c->req = req;
    c->id = id;
    c->addr = m.raft;
    req->cb = cb;

    if (inet_pton(AF_INET, c->addr.host, &v4) == 1) {
        rv = connect_ip(c, c->addr.host);
        if (rv != 0) {
            free(c);
            return rv;
        }
        link_conn(im, c);
        return 0;
    }

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET; /* raft_uv_tcp 0.15 speaks IPv4 only */
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof port, "%u", (unsigned)c->addr.port);
    c->gai.data = c;
    rv =
        uv_getaddrinfo(im->loop, &c->gai, resolved, c->addr.host, port, &hints);
    if (rv != 0) {
        snprintf(t->errmsg, sizeof t->errmsg, "resolve %.180s: %.60s",
                 c->addr.host, uv_strerror(rv));
        free(c);
        return RAFT_NOCONNECTION;
    }
    c->resolving = true;
    link_conn(im, c);
    return 0;
}

/* ---------------------------------------------------------------------------
 * Init, listen, close
 * ------------------------------------------------------------------------- */

static int tr_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
    struct impl *im = t->impl;

    return im->inner.init(&im->inner, id, address);
}

static void accepted(struct raft_uv_transport *inner, raft_id id,
                     const char *address, uv_stream_t *stream)
{
    struct impl *im = inner->data;

    im->accept_cb(im->outer, id, address, stream);
}

/* raft_uv_tcp reports a failed bind as RAFT_IOERR without detail: bind a
 * throw-away socket to the same address to learn why. */
static void explain_listen_failure(struct impl *im, char *buf, size_t len)
{
    struct sockaddr_in sa;
    char ip[INET_ADDRSTRLEN];
    unsigned port = 0;
    const char *why = "cannot listen";
    int fd, one = 1;

    if (sscanf(im->bind, "%15[0-9.]:%u", ip, &port) == 2 &&
        uv_ip4_addr(ip, (int)port, &sa) == 0) {
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0) {
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
                why = strerror(errno);
            close(fd);
        }
    }
    snprintf(buf, len, "listen on %s: %s", im->bind, why);
}

static int tr_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
    struct impl *im = t->impl;
    int rv;

    im->accept_cb = cb;
    rv = im->inner.listen(&im->inner, accepted);
    if (rv != 0)
        explain_listen_failure(im, t->errmsg, sizeof t->errmsg);
    return rv;
}

static void inner_closed(struct raft_uv_transport *inner)
{
    struct impl *im = inner->data;

    im->inner_closed = true;
    maybe_closed(im);
}

static void tr_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
    struct impl *im = t->impl;

    im->closing = true;
    im->close_cb = cb;
    for (struct conn *c = im->pending; c != NULL; c = c->next) {
        if (c->resolving)
            uv_cancel((uv_req_t *)&c->gai); /* else resolved() runs soon */
    }
    im->inner.close(&im->inner, inner_closed);
}

/* Resolve the bind address to "a.b.c.d:port" now (start-up). */
static int resolve_bind(struct impl *im, const struct rsm_addr *bind,
                        char *errmsg, size_t errlen)
{
    struct addrinfo hints;
    uv_getaddrinfo_t req;
    struct in_addr v4;
    char ip[INET_ADDRSTRLEN];
    int rv;

    if (inet_pton(AF_INET, bind->host, &v4) == 1) {
        snprintf(im->bind, sizeof im->bind, "%.15s:%u", bind->host,
                 (unsigned)bind->port);
        return 0;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    rv = uv_getaddrinfo(im->loop, &req, NULL, bind->host, NULL, &hints);
    if (rv != 0)
        return rsm_errf(RSM_ERESOLVE, errmsg, errlen,
                        "raft bind host '%s' (IPv4 only): %s", bind->host,
                        uv_strerror(rv));
    inet_ntop(AF_INET, &((struct sockaddr_in *)req.addrinfo->ai_addr)->sin_addr,
              ip, sizeof ip);
    uv_freeaddrinfo(req.addrinfo);
    snprintf(im->bind, sizeof im->bind, "%s:%u", ip, (unsigned)bind->port);
    return 0;
}

int rsm_transport_init(struct raft_uv_transport *t, uv_loop_t *loop,
                       const struct rsm_addr *bind, char *errmsg, size_t errlen)
{
    struct impl *im;
    int rv;

    im = calloc(1, sizeof *im);
    if (im == NULL)
        return rsm_errf(RSM_ENOMEM, errmsg, errlen, "transport: no memory");
    im->loop = loop;
    im->outer = t;
    rv = resolve_bind(im, bind, errmsg, errlen);
    if (rv != 0)
        goto err_after_alloc;
    im->inner.data = im;
    rv = raft_uv_tcp_init(&im->inner, loop);
    if (rv != 0) {
        rv = rsm_errf(RSM_ERAFT, errmsg, errlen, "raft_uv_tcp_init: %s",
                      raft_strerror(rv));
        goto err_after_alloc;
    }
    rv = raft_uv_tcp_set_bind_address(&im->inner, im->bind);
    if (rv != 0) {
        rv = rsm_errf(RSM_EINVAL, errmsg, errlen, "raft bind address %s: %s",
                      im->bind, raft_strerror(rv));
        goto err_after_tcp_init;
    }
    memset(t, 0, sizeof *t);
    t->impl = im;
    t->init = tr_init;
    t->listen = tr_listen;
    t->connect = tr_connect;
    t->close = tr_close;
    return 0;

err_after_tcp_init:
    raft_uv_tcp_close(&im->inner);
err_after_alloc:
    free(im);
    return rv;
}

void rsm_transport_destroy(struct raft_uv_transport *t)
{
    struct impl *im = t->impl;

    if (im == NULL)
        return;
    raft_uv_tcp_close(&im->inner);
    free(im);
    t->impl = NULL;
}

void rsm_transport_get_stats(const struct raft_uv_transport *t,
                             struct rsm_transport_stats *out)
{
    const struct impl *im = t->impl;

    memset(out, 0, sizeof *out);
    if (im != NULL)
        *out = im->stats;
}
