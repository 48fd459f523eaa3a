/* listener.c - a TCP listening socket with a connection limit (see
 * listener.h). */
#include "listener.h"
#include "rsm/err.h"
#include "rsm/log.h"
#include "rsm/tls_session.h"

#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A flood of refusals is logged once per this many ms, with the count. */
#define REFUSED_LOG_EVERY_MS 1000

/* ------------------------------------------------------------------------
 * The listening socket
 * ---------------------------------------------------------------------- */

/* Bind and listen on the first resolved address that works; returns the
 * socket, or -1 with *code and errmsg set. A plain socket (not yet a libuv
 * handle), so that a failure leaves nothing to close on the loop. */
static int listener__listen_socket(uv_loop_t *loop, const struct rsm_addr *a,
                                   int backlog, const char *name, char *errmsg,
                                   size_t errlen, int *code)
{
    uv_getaddrinfo_t req;
    struct addrinfo hints, *ai;
    char port[8];
    int rv, fd = -1, err = 0, one = 1;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(port, sizeof port, "%u", a->port);
    rv = uv_getaddrinfo(loop, &req, NULL, a->host, port, &hints);
    if (rv != 0) {
        *code = rsm_errf(RSM_ERESOLVE, errmsg, errlen, "listen %s: %s", name,
                         uv_strerror(rv));
        return -1;
    }
    for (ai = req.addrinfo; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
            listen(fd, backlog) != 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    uv_freeaddrinfo(req.addrinfo);
    if (fd < 0)
        *code = rsm_errf(RSM_EIO, errmsg, errlen, "listen %s: %s", name,
                         strerror(err ? err : EADDRNOTAVAIL));
    return fd;
}

static uint16_t listener__bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* The handle is heap memory of its own, so that a start that fails after
 * uv_tcp_init leaves the owner nothing to wait for. data is the listener,
 * or NULL when nobody is to be told. */
static void listener__on_closed(uv_handle_t *h)
{
    struct rsm_listener *l = h->data;

    free(h);
    if (l != NULL && l->close_cb != NULL)
        l->close_cb(l->close_arg);
}

/* "<prefix>-<what>" into buf. */
static const char *listener__event(const struct rsm_listener *l,
                                   const char *what, char *buf, size_t len)
{
    snprintf(buf, len, "%s-%s", l->prefix, what);
    return buf;
}

static void listener__on_connection(uv_stream_t *st, int status)
{
    struct rsm_listener *l = st->data;
    char ev[48];

    if (status < 0) {
        rsm_log(RSM_LOG_WARN,
                listener__event(l, "accept-failed", ev, sizeof ev), "err=%s",
                uv_strerror(status));
        return;
    }
    l->cb(l->arg, l);
}

int rsm_listener_start(struct rsm_listener *l, uv_loop_t *loop,
                       const struct rsm_listener_config *cfg,
                       rsm_listener_cb cb, void *arg, char *errmsg,
                       size_t errlen)
{
    char ev[48];
    int fd, code = 0, rv;

    assert(cb != NULL && cfg->bind != NULL && cfg->log_prefix != NULL);
    memset(l, 0, sizeof *l);
    l->loop = loop;
    l->cb = cb;
    l->arg = arg;
    l->max_conns = cfg->max_conns;
    l->tls = cfg->tls;
    snprintf(l->prefix, sizeof l->prefix, "%s", cfg->log_prefix);
    rsm_addr_format(cfg->bind, l->name, sizeof l->name);
    fd = listener__listen_socket(loop, cfg->bind, cfg->backlog, l->name, errmsg,
                                 errlen, &code);
    if (fd < 0)
        return code;
    l->port = listener__bound_port(fd);
    l->tcp = malloc(sizeof *l->tcp);
    if (l->tcp == NULL) {
        close(fd);
        return rsm_errf(RSM_ENOMEM, errmsg, errlen, "listen %s: out of memory",
                        l->name);
    }
    uv_tcp_init(loop, l->tcp);
    l->tcp->data = l;
    rv = uv_tcp_open(l->tcp, fd);
    if (rv != 0)
        close(fd); /* not adopted by the handle */
    else
        rv = uv_listen((uv_stream_t *)l->tcp, cfg->backlog,
                       listener__on_connection);
    if (rv != 0) {
        /* Rare: libuv refused a socket that bound fine. The handle frees
         * itself on the next loop turn; the owner is not told. */
        l->tcp->data = NULL;
        uv_close((uv_handle_t *)l->tcp, listener__on_closed);
        l->tcp = NULL;
        return rsm_errf(RSM_EIO, errmsg, errlen, "listen %s: %s", l->name,
                        uv_strerror(rv));
    }
    rsm_log(RSM_LOG_INFO, listener__event(l, "listening", ev, sizeof ev),
            "bind=%s port=%u", l->name, l->port);
    return 0;
}

uint16_t rsm_listener_port(const struct rsm_listener *l)
{
    return l->port;
}

const char *rsm_listener_name(const struct rsm_listener *l)
{
    return l->name;
}

void rsm_listener_close(struct rsm_listener *l, rsm_listener_close_cb cb,
                        void *arg)
{
    assert(l->tcp != NULL);
    l->close_cb = cb;
    l->close_arg = arg;
    uv_close((uv_handle_t *)l->tcp, listener__on_closed);
    l->tcp = NULL;
}

/* ------------------------------------------------------------------------
 * Connections
 * ---------------------------------------------------------------------- */

static void listener__peer_name(uv_tcp_t *t, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    int sslen = sizeof ss;
    char ip[INET6_ADDRSTRLEN];

    snprintf(buf, len, "?");
    if (uv_tcp_getpeername(t, (struct sockaddr *)&ss, &sslen) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        uv_ip4_name(a, ip, sizeof ip);
        snprintf(buf, len, "%s:%u", ip, ntohs(a->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        uv_ip6_name(a, ip, sizeof ip);
        snprintf(buf, len, "[%s]:%u", ip, ntohs(a->sin6_port));
    }
}

/* Once a second at most, with the number refused since the last line. */
static void listener__log_refused(struct rsm_listener *l, const char *peer)
{
    uint64_t now = uv_now(l->loop);
    char ev[48];

    l->refused++;
    if (l->refused_logged_ms != 0 &&
        now - l->refused_logged_ms < REFUSED_LOG_EVERY_MS)
        return;
    rsm_log(RSM_LOG_WARN, listener__event(l, "client-refused", ev, sizeof ev),
            "peer=%s reason=max-clients max=%u refused=%u", peer, l->max_conns,
            l->refused);
    l->refused_logged_ms = now;
    l->refused = 0;
}

void rsm_listener_tls_failed(struct rsm_listener *l, const char *peer,
                             const char *why)
{
    uint64_t now = uv_now(l->loop);
    char q[RSM_ERRMSG_SIZE + 8];

    l->tls_failed++;
    if (l->tls_logged_ms != 0 && now - l->tls_logged_ms < REFUSED_LOG_EVERY_MS)
        return;
    rsm_log(RSM_LOG_WARN, "tls-failed", "listener=%s peer=%s why=%s count=%u",
            l->prefix, peer, rsm_log_quote(why, q, sizeof q), l->tls_failed);
    l->tls_logged_ms = now;
    l->tls_failed = 0;
}

int rsm_listener_accept(struct rsm_listener *l, struct rsm_listener_conn *c,
                        void *data)
{
    assert(l->tcp != NULL);
    uv_tcp_init(l->loop, &c->tcp);
    c->tcp.data = data;
    c->tls = NULL;
    c->prev = NULL;
    c->next = l->first;
    if (l->first != NULL)
        l->first->prev = c;
    l->first = c;
    l->conns++;
    snprintf(c->peer, sizeof c->peer, "?");
    if (uv_accept((uv_stream_t *)l->tcp, (uv_stream_t *)&c->tcp) != 0)
        return RSM_EIO;
    uv_tcp_nodelay(&c->tcp, 1);
    listener__peer_name(&c->tcp, c->peer, sizeof c->peer);
    c->owner = l;
    if (l->tls != NULL && rsm_tls_session_new(l->tls, NULL, &c->tls) != 0)
        return RSM_EIO; /* out of memory: close it */
    if (l->conns > l->max_conns) {
        listener__log_refused(l, c->peer);
        return RSM_EBUSY;
    }
    return 0;
}

void rsm_listener_release(struct rsm_listener *l, struct rsm_listener_conn *c)
{
    assert(l->conns > 0);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        l->first = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    l->conns--;
    rsm_tls_session_free(c->tls);
    c->tls = NULL;
}

struct rsm_listener_conn *rsm_listener_first(const struct rsm_listener *l)
{
    return l->first;
}

unsigned rsm_listener_conns(const struct rsm_listener *l)
{
    return l->conns;
}

void rsm_listener_stop_begin(struct rsm_listener_stop *st,
                             struct rsm_listener *l, rsm_listener_close_cb cb,
                             void *arg, rsm_listener_close_cb closed,
                             void *owner)
{
    assert(!st->stopping);
    st->stopping = true;
    st->cb = cb;
    st->arg = arg;
    rsm_listener_close(l, closed, owner);
}

bool rsm_listener_stop_done(struct rsm_listener_stop *st,
                            const struct rsm_listener *l)
{
    if (!st->stopping || st->open_handles > 0 || rsm_listener_conns(l) > 0)
        return false;
    if (st->cb != NULL)
        st->cb(st->arg);
    return true;
}

bool rsm_listener_stop_closed(struct rsm_listener_stop *st,
                              const struct rsm_listener *l)
{
    assert(st->open_handles > 0);
    st->open_handles--;
    return rsm_listener_stop_done(st, l);
}
