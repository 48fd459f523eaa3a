/* transport.c - the Raft transport: DNS names on every connect, and with a
 * secret an authenticated handshake on every connection (transport.h).
 *
 * A connect request from raft_uv goes through three steps:
 *   1. parse the member address "host:port[/api]" (the suffix is dropped),
 *   2. resolve host with uv_getaddrinfo (skipped for a dotted IPv4 host),
 *   3. without a secret: hand "ip:port" to raft_uv_tcp's connect, which does
 *      TCP + its handshake; with a secret: TCP connect ourselves, then HELLO,
 *      CHALLENGE, PROOF (raftauth.h), then hand the stream to raft_uv.
 * raft_uv's callback runs exactly once: with the stream, with
 * RAFT_NOCONNECTION (name did not resolve, TCP or handshake failed or timed
 * out), or with RAFT_CANCELED once close() started (raft_uv expects
 * CANCELED only then). Connecting has a deadline (CONNECT_TIMEOUT_MS), and
 * so has the handshake (HANDSHAKE_TIMEOUT_MS), on both sides.
 *
 * Incoming connections: without a secret raft_uv_tcp's, passed through;
 * with one, ours: accept, then the server side of the handshake, then
 * raft_uv's accept callback with the id and address the peer proved.
 *
 * close() cancels the lookups still queued, stops listening, aborts every
 * handshake in progress (closing its socket; nothing reaches raft_uv) and
 * reports completion only when every handle is closed and no request is in
 * flight. The pieces: see transport_int.h. */
#include "transport_int.h"
#include "rsm/err.h"
#include "rsm/log.h"
#include "raft_compat.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Fire the user's close callback once everything has settled. */
void transport__maybe_closed(struct impl *im)
{
    raft_uv_transport_close_cb cb = im->close_cb;

    if (!im->closing || !im->inner_closed || im->n_pending > 0 ||
        im->n_incoming > 0 || im->n_pumps > 0 || cb == NULL)
        return;
    im->close_cb = NULL;
    cb(im->outer);
}

int transport__bind_addr(const struct impl *im, struct sockaddr_in *sa)
{
    char ip[INET_ADDRSTRLEN];
    unsigned port = 0;

    if (sscanf(im->bind, "%15[0-9.]:%u", ip, &port) != 2 || port > 65535)
        return UV_EINVAL;
    return uv_ip4_addr(ip, (int)port, sa);
}

/* ---------------------------------------------------------------------------
 * Init, listen, close
 * ------------------------------------------------------------------------- */

static int transport__init(struct raft_uv_transport *t, raft_id id,
                           const char *address)
{
    struct impl *im = t->impl;

    if (!im->auth)
        return im->inner.init(&im->inner, id, address);
    if (id != im->self_id) {
        snprintf(t->errmsg, sizeof t->errmsg,
                 "transport: raft id %llu, handshake id %llu",
                 (unsigned long long)id, (unsigned long long)im->self_id);
        return RAFT_INVALID;
    }
    if (strlen(address) > RSM_RAFTAUTH_ADDR_MAX) {
        snprintf(t->errmsg, sizeof t->errmsg,
                 "transport: own address longer than %d characters",
                 RSM_RAFTAUTH_ADDR_MAX);
        return RAFT_INVALID;
    }
    snprintf(im->self_addr, sizeof im->self_addr, "%s", address);
    return 0;
}

static void transport__accepted(struct raft_uv_transport *inner, raft_id id,
                                const char *address, uv_stream_t *stream)
{
    struct impl *im = inner->data;

    im->accept_cb(im->outer, id, address, stream);
}

/* raft_uv_tcp reports a failed bind as RAFT_IOERR without detail: bind a
 * throw-away socket to the same address to learn why. */
static void transport__explain_listen_failure(struct impl *im, char *buf,
                                              size_t len)
{
    struct sockaddr_in sa;
    const char *why = "cannot listen";
    int fd, one = 1;

    if (transport__bind_addr(im, &sa) == 0) {
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

static int transport__listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
    struct impl *im = t->impl;
    int rv;

    im->accept_cb = cb;
    if (im->auth)
        return transport__auth_listen(im, t->errmsg, sizeof t->errmsg);
    rv = im->inner.listen(&im->inner, transport__accepted);
    if (rv != 0)
        transport__explain_listen_failure(im, t->errmsg, sizeof t->errmsg);
    return rv;
}

static void transport__inner_closed(struct raft_uv_transport *inner)
{
    struct impl *im = inner->data;

    im->inner_closed = true;
    transport__maybe_closed(im);
}

static void transport__close(struct raft_uv_transport *t,
                             raft_uv_transport_close_cb cb)
{
    struct impl *im = t->impl;

    im->closing = true;
    im->close_cb = cb;
    if (im->auth) {
        transport__auth_close(im);
        return;
    }
    for (struct conn *c = im->pending; c != NULL; c = c->next) {
        if (c->resolving)
            uv_cancel(
                (uv_req_t *)&c->gai); /* else transport__resolved() runs soon */
    }
    im->inner.close(&im->inner, transport__inner_closed);
}

/* Resolve the bind address to "a.b.c.d:port" now (start-up). */
static int transport__resolve_bind(struct impl *im, const struct rsm_addr *bind,
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

/* With TLS and no secret, the handshake (inside TLS) runs with this key:
 * it carries ids, addresses and cluster ids; the certificates are what
 * authenticates (transport.h). */
static const char transport__tls_key[] = "rsm-agent raft over TLS, no secret";

/* Keep a copy of the secret (with TLS and none: the built-in key), the TLS
 * contexts and the identity callbacks. */
static int transport__setup_auth(struct impl *im,
                                 const struct rsm_transport_auth *auth,
                                 char *errmsg, size_t errlen)
{
    bool secret = auth->secret != NULL && auth->secret_len > 0;
    const unsigned char *key =
        secret ? auth->secret : (const unsigned char *)transport__tls_key;
    size_t key_len = secret ? auth->secret_len : sizeof transport__tls_key - 1;

    im->secret = malloc(key_len);
    if (im->secret == NULL)
        return rsm_errf(RSM_ENOMEM, errmsg, errlen, "transport: no memory");
    memcpy(im->secret, key, key_len);
    im->secret_len = key_len;
    im->tls_server = auth->tls_server;
    im->tls_client = auth->tls_client;
    im->stats.tls = im->tls_server != NULL;
    im->self_id = auth->self_id;
    im->cluster_id = auth->cluster_id;
    im->cluster_id_arg = auth->arg;
    im->auth = true;
    im->stats.authenticated = true;
    rsm_log(RSM_LOG_INFO, "raft-authenticated", "bind=%s handshake=%s tls=%s",
            im->bind, secret ? "hmac-sha256" : "ids-only",
            im->stats.tls ? "mutual" : "off");
    return 0;
}

/* Without a secret: raft_uv_tcp, bound to im->bind. */
static int transport__setup_tcp(struct impl *im, char *errmsg, size_t errlen)
{
    int rv;

    im->inner.data = im;
#if !RSM_RAFT_015
    im->inner.version = 1; /* 0.22: raft_uv_tcp_init refuses any other */
#endif
    rv = raft_uv_tcp_init(&im->inner, im->loop);
    if (rv != 0)
        return rsm_errf(RSM_ERAFT, errmsg, errlen, "raft_uv_tcp_init: %s",
                        raft_strerror(rv));
    rv = raft_uv_tcp_set_bind_address(&im->inner, im->bind);
    if (rv != 0) {
        raft_uv_tcp_close(&im->inner);
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "raft bind address %s: %s",
                        im->bind, raft_strerror(rv));
    }
    rsm_log(RSM_LOG_WARN, "raft-unauthenticated",
            "bind=%s detail=\"no cluster secret (--cluster-secret-file): "
            "anyone who reaches this port can take part in the group's "
            "votes and log\"",
            im->bind);
    return 0;
}

int rsm_transport_init(struct raft_uv_transport *t, uv_loop_t *loop,
                       const struct rsm_addr *bind,
                       const struct rsm_transport_auth *auth, char *errmsg,
                       size_t errlen)
{
    struct impl *im;
    int rv;

    im = calloc(1, sizeof *im);
    if (im == NULL)
        return rsm_errf(RSM_ENOMEM, errmsg, errlen, "transport: no memory");
    im->loop = loop;
    im->outer = t;
    rv = transport__resolve_bind(im, bind, errmsg, errlen);
    if (rv != 0)
        goto err_after_alloc;
    if (auth != NULL && ((auth->secret != NULL && auth->secret_len > 0) ||
                         auth->tls_server != NULL))
        rv = transport__setup_auth(im, auth, errmsg, errlen);
    else
        rv = transport__setup_tcp(im, errmsg, errlen);
    if (rv != 0)
        goto err_after_alloc;
    memset(t, 0, sizeof *t);
#if !RSM_RAFT_015
    t->version = 1; /* 0.22: raft_uv_init refuses 0 (none in 0.15) */
#endif
    t->impl = im;
    t->init = transport__init;
    t->listen = transport__listen;
    t->connect = transport__connect;
    t->close = transport__close;
    return 0;

err_after_alloc:
    free(im);
    return rv;
}

void rsm_transport_destroy(struct raft_uv_transport *t)
{
    struct impl *im = t->impl;

    if (im == NULL)
        return;
    if (!im->auth)
        raft_uv_tcp_close(&im->inner);
    if (im->secret != NULL) {
        explicit_bzero(im->secret, im->secret_len);
        free(im->secret);
    }
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
