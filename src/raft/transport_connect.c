/* transport_connect.c - connect requests of raft_uv (transport.h): the
 * member address parsed, the host transport__resolved (skipped for a dotted
 * IPv4 host), then raft_uv_tcp's connect with a deadline, or with a secret our
 * own connect and handshake (transport_hs.c). raft_uv's callback runs
 * exactly once per request; the request is freed once it has run and its
 * handles are closed. */
#include "transport_int.h"
#include "rsm/err.h"
#include "rsm/log.h"

#include <assert.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* An outgoing connection whose sent data stays unacknowledged this long is
 * dropped by the kernel (TCP_USER_TIMEOUT). raft_uv never reads from the
 * connections it opens, so a peer that vanished without a reset (a pod
 * deleted, its IP gone) would otherwise keep the leader writing into a dead
 * socket for the ~15 minutes of TCP retransmissions, never reconnecting and
 * so never resolving the peer's new address. */
#define SEND_USER_TIMEOUT_MS 5000

/* ---------------------------------------------------------------------------
 * Bookkeeping
 * ------------------------------------------------------------------------- */

static void transport__link_conn(struct impl *im, struct conn *c)
{
    c->prev = NULL;
    c->next = im->pending;
    if (im->pending != NULL)
        im->pending->prev = c;
    im->pending = c;
    im->n_pending++;
}

void transport__unlink_conn(struct impl *im, struct conn *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        im->pending = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    assert(im->n_pending > 0);
    im->n_pending--;
}

static void transport__timer_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    struct impl *im = c->im;

    transport__unlink_conn(im, c);
    free(c);
    transport__maybe_closed(im);
}

/* Run raft_uv's callback (once). */
void transport__answer(struct conn *c, uv_stream_t *stream, int status)
{
    struct raft_uv_connect *req = c->req;

    assert(!c->answered); /* raft_uv hears of a request exactly once */
    c->answered = true;
    req->cb(req, stream, status);
}

/* Complete raft_uv's request (unless a timeout already did) and forget
 * it: free it now, or once its timer has closed. */
static void transport__finish(struct conn *c, uv_stream_t *stream, int status)
{
    struct impl *im = c->im;

    if (c->timer_on) {
        uv_timer_stop(&c->timer);
        uv_close((uv_handle_t *)&c->timer, transport__timer_closed);
    } else {
        transport__unlink_conn(im, c);
    }
    if (!c->answered)
        transport__answer(c, stream, status);
    if (!c->timer_on) {
        free(c);
        transport__maybe_closed(im);
    }
}

static struct peer_seen *transport__peer_seen(struct impl *im, raft_id id)
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

static void transport__note_resolved(struct impl *im, const struct conn *c,
                                     const char *ip)
{
    struct peer_seen *p = transport__peer_seen(im, c->id);

    if (p == NULL || (!p->failing && strcmp(p->ip, ip) == 0))
        return;
    rsm_log(RSM_LOG_INFO, "raft-peer-resolved", "peer=%llu host=%s ip=%s",
            (unsigned long long)c->id, c->addr.host, ip);
    p->failing = false;
    snprintf(p->ip, sizeof p->ip, "%s", ip);
}

static void transport__note_unresolved(struct impl *im, const struct conn *c,
                                       const char *why)
{
    struct peer_seen *p = transport__peer_seen(im, c->id);
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

/* An outgoing stream: see SEND_USER_TIMEOUT_MS. */
void transport__set_user_timeout(uv_tcp_t *tcp)
{
    unsigned ms = SEND_USER_TIMEOUT_MS;
    uv_os_fd_t fd;

    if (uv_fileno((uv_handle_t *)tcp, &fd) == 0)
        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms);
}

/* ---------------------------------------------------------------------------
 * Connect
 * ------------------------------------------------------------------------- */

static void transport__stream_closed(uv_handle_t *h)
{
    struct conn *c = h->data;

    raft_free(h);
    transport__finish(c, NULL, RAFT_CANCELED);
}

static void transport__inner_connected(struct raft_uv_connect *ireq,
                                       uv_stream_t *stream, int status)
{
    struct conn *c = ireq->data;
    struct impl *im = c->im;

    if (status == 0 && (im->closing || c->answered)) {
        /* Connected just as we started closing (raft_uv expects CANCELED
         * now), or after the connect timed out: the stream is ours to
         * close. */
        stream->data = c;
        uv_close((uv_handle_t *)stream, transport__stream_closed);
        return;
    }
    if (status != 0 && status != RAFT_CANCELED)
        im->stats.connect_errors++;
    if (status == 0)
        transport__set_user_timeout((uv_tcp_t *)stream);
    transport__finish(c, stream, status);
}

static void transport__connect_timeout(uv_timer_t *t)
{
    struct conn *c = t->data;

    if (c->answered)
        return;
    c->im->stats.connect_errors++;
    rsm_log(RSM_LOG_DEBUG, "raft-connect-timeout", "peer=%llu host=%s",
            (unsigned long long)c->id, c->addr.host);
    transport__answer(c, NULL, RAFT_NOCONNECTION);
}

/* Step 3: ask raft_uv_tcp to connect to ip, with a deadline (or, with a
 * secret, connect and run the handshake ourselves). 0 or a RAFT_* code. */
static int transport__connect_ip(struct conn *c, const char *ip)
{
    struct impl *im = c->im;
    char ipport[IPPORT_LEN];
    int rv;

    if (im->auth)
        return transport__auth_connect(c, ip);
    snprintf(ipport, sizeof ipport, "%.15s:%u", ip, (unsigned)c->addr.port);
    c->inner_req.data = c;
    rv = im->inner.connect(&im->inner, &c->inner_req, c->id, ipport,
                           transport__inner_connected);
    if (rv == 0) {
        uv_timer_init(im->loop, &c->timer);
        c->timer.data = c;
        c->timer_on = true;
        uv_timer_start(&c->timer, transport__connect_timeout,
                       CONNECT_TIMEOUT_MS, 0);
    }
    return rv;
}

static void transport__resolved(uv_getaddrinfo_t *gai, int status,
                                struct addrinfo *res)
{
    struct conn *c = gai->data;
    struct impl *im = c->im;
    char ip[INET_ADDRSTRLEN];
    int rv;

    c->resolving = false;
    if (im->closing) {
        uv_freeaddrinfo(res);
        transport__finish(c, NULL, RAFT_CANCELED);
        return;
    }
    if (status != 0 || res == NULL || res->ai_family != AF_INET) {
        transport__note_unresolved(im, c,
                                   status ? uv_strerror(status) : "no address");
        uv_freeaddrinfo(res);
        transport__finish(c, NULL, RAFT_NOCONNECTION);
        return;
    }
    inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, ip,
              sizeof ip);
    uv_freeaddrinfo(res);
    transport__note_resolved(im, c, ip);
    rv = transport__connect_ip(c, ip);
    if (rv != 0) {
        im->stats.connect_errors++;
        transport__finish(c, NULL, RAFT_NOCONNECTION);
    }
}

int transport__connect(struct raft_uv_transport *t, struct raft_uv_connect *req,
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
        rv = transport__connect_ip(c, c->addr.host);
        if (rv != 0) {
            free(c);
            return rv;
        }
        transport__link_conn(im, c);
        return 0;
    }

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET; /* raft_uv_tcp 0.15 speaks IPv4 only */
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof port, "%u", (unsigned)c->addr.port);
    c->gai.data = c;
    rv = uv_getaddrinfo(im->loop, &c->gai, transport__resolved, c->addr.host,
                        port, &hints);
    if (rv != 0) {
        snprintf(t->errmsg, sizeof t->errmsg, "resolve %.180s: %.60s",
                 c->addr.host, uv_strerror(rv));
        free(c);
        return RAFT_NOCONNECTION;
    }
    c->resolving = true;
    transport__link_conn(im, c);
    return 0;
}
