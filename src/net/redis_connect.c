/* redis_connect.c - getting a Redis link (redis.c) connected: the name
 * lookup, the TCP connect to each address in turn, the TLS handshake
 * (redis_tls.c) when the link has a TLS context, and AUTH when credentials
 * are set. The connect deadline covers all of them.
 *
 * Names: a host that is an IP literal is never resolved. A name is
 * resolved again on every connect, in the background (uv_getaddrinfo, on
 * libuv's thread pool, which raft's disk I/O and the Raft transport share):
 *   - at most one lookup per link is in flight: a connect attempt that gives
 *     up does not abandon it (a lookup the pool already runs cannot be
 *     cancelled, and a name that times out in DNS would otherwise pile one
 *     blocked pool thread per probe onto the pool); the next attempt waits
 *     for the same lookup;
 *   - its answer is cached: an attempt connects to the fresh answer when it
 *     comes within RESOLVE_GRACE_MS, else to the last addresses known (a
 *     live Redis stays reachable while DNS is slow or briefly down);
 *   - a name that does not exist (EAI_NONAME) empties the cache: its old
 *     address is never used again; an attempt with nothing cached fails
 *     with RSM_ERESOLVE at once on such an answer, or at its connect
 *     deadline while the lookup still runs: an unresolvable instance is
 *     reported unreachable within the connect timeout, never waited for. */
#include "redis_int.h"
#include "redis_tls.h"

#include <assert.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long a connect waits for its fresh lookup before it uses the cached
 * addresses (at most half the connect timeout). A healthy resolver answers
 * in a few ms: then the fresh answer is always used. */
#define RESOLVE_GRACE_MS 50

/* ------------------------------------------------------------------------
 * The connection
 * ---------------------------------------------------------------------- */

static void redis__conn_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    struct rsm_redis *r = c->r;

    if (c->reader != NULL)
        redisReaderFree(c->reader);
    redis__tls_free(c);
    free(c);
    redis__unref(r);
}

void redis__conn_close(struct conn *c)
{
    if (!c->closing) {
        c->closing = true;
        uv_close((uv_handle_t *)&c->tcp, redis__conn_closed);
    }
}

static int redis__send_auth(struct rsm_redis *r)
{
    const char *argv[3] = {"AUTH"};
    int argc = 1, len;
    char *buf;

    if (r->user != NULL)
        argv[argc++] = r->user;
    argv[argc++] = r->password;
    len = redisFormatCommandArgv(&buf, argc, argv, NULL);
    if (len < 0)
        return UV_ENOMEM;
    return redis__write_buf(r, buf, (size_t)len, true);
}

/* ------------------------------------------------------------------------
 * Connecting
 * ---------------------------------------------------------------------- */

static void redis__try_connect(struct rsm_redis *r);

static void redis__on_connect(uv_connect_t *req, int status)
{
    struct conn *c = req->data;
    struct rsm_redis *r = c->r;
    int rv;

    if (c != r->conn)
        return; /* dropped meanwhile (status is UV_ECANCELED) */
    if (status < 0) {
        r->last_connect_err = status;
        redis__conn_close(c);
        r->conn = NULL;
        r->next_cand++;
        redis__try_connect(r);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    rv = uv_read_start((uv_stream_t *)&c->tcp, redis__on_alloc, redis__on_read);
    if (rv == 0 && r->tls != NULL)
        rv = redis__tls_start(r, c); /* redis__connected once done */
    if (rv != 0)
        redis__fail_all(r, RSM_ECONNECT, "%s: %s", r->name, uv_strerror(rv));
    else if (r->tls == NULL)
        redis__connected(r);
}

void redis__connected(struct rsm_redis *r)
{
    int rv;

    if (r->password == NULL) {
        redis__ready(r);
        return;
    }
    r->state = ST_AUTH;
    rv = redis__send_auth(r);
    if (rv != 0)
        redis__fail_all(r, RSM_ECONNECT, "%s: %s", r->name, uv_strerror(rv));
}

/* Start one TCP connect to cand[next_cand]; 0 or a libuv error. */
static int redis__connect_one(struct rsm_redis *r)
{
    struct conn *c = calloc(1, sizeof *c);
    int rv;

    if (c == NULL)
        return UV_ENOMEM;
    c->r = r;
    c->reader = redisReaderCreate();
    if (c->reader == NULL) {
        free(c);
        return UV_ENOMEM;
    }
    rv = uv_tcp_init(r->loop, &c->tcp);
    if (rv != 0) {
        redisReaderFree(c->reader);
        free(c);
        return rv;
    }
    c->tcp.data = c;
    c->req.data = c;
    r->refs++;
    r->conn = c;
    rv = uv_tcp_connect(&c->req, &c->tcp, &r->cand[r->next_cand].sa,
                        redis__on_connect);
    if (rv != 0) {
        redis__conn_close(c);
        r->conn = NULL;
    }
    return rv;
}

/* Try the candidate addresses from next_cand on, until one connect starts.
 * From callbacks only. */
static void redis__try_connect(struct rsm_redis *r)
{
    int rv;

    r->state = ST_CONNECTING;
    for (; r->next_cand < r->n_cand; r->next_cand++) {
        rv = redis__connect_one(r);
        if (rv == 0)
            return;
        r->last_connect_err = rv;
    }
    redis__fail_all(
        r, r->last_connect_err == UV_ECONNREFUSED ? RSM_EREFUSED : RSM_ECONNECT,
        "%s: cannot connect: %s", r->name, uv_strerror(r->last_connect_err));
}

/* Arm the link timer for the connect deadline (none: stopped). */
static void redis__arm_connect_deadline(struct rsm_redis *r)
{
    uint64_t now = uv_now(r->loop);

    if (r->connect_deadline == UINT64_MAX)
        uv_timer_stop(&r->timer);
    else
        uv_timer_start(
            &r->timer, redis__on_link_timer,
            r->connect_deadline > now ? r->connect_deadline - now : 0, 0);
}

/* The waiting attempt connects to the cached addresses (n_cache > 0). From
 * callbacks only. */
static void redis__connect_cached(struct rsm_redis *r)
{
    memcpy(r->cand, r->cache, r->n_cache * sizeof r->cache[0]);
    r->n_cand = r->n_cache;
    r->next_cand = 0;
    r->last_connect_err = UV_EADDRNOTAVAIL;
    redis__arm_connect_deadline(r);
    redis__try_connect(r);
}

static void redis__on_resolved(uv_getaddrinfo_t *req, int status,
                               struct addrinfo *ai)
{
    struct resolve *res = req->data;
    struct rsm_redis *r = res->r;
    unsigned n = 0;

    free(res);
    r->lookup = NULL;
    if (r->closing || status == UV_ECANCELED) {
        uv_freeaddrinfo(ai);
        redis__unref(r);
        return;
    }
    if (status == 0) {
        for (struct addrinfo *a = ai; a != NULL && n < RESOLVE_MAX;
             a = a->ai_next) {
            if ((a->ai_family == AF_INET || a->ai_family == AF_INET6) &&
                a->ai_addrlen <= sizeof r->cache[0])
                memcpy(&r->cache[n++], a->ai_addr, a->ai_addrlen);
        }
        r->n_cache = n;
    } else if (status == UV_EAI_NONAME || status == UV_EAI_NODATA) {
        r->n_cache = 0; /* the name is gone: so is its old address */
    } /* else a transient failure (EAI_AGAIN...): the cache stays */
    uv_freeaddrinfo(ai);

    if (r->state == ST_RESOLVING) { /* an attempt waits for this answer */
        if (r->n_cache > 0)
            redis__connect_cached(r);
        else
            redis__fail_all(r, RSM_ERESOLVE, "%s: cannot resolve host: %s",
                            r->name,
                            status < 0 ? uv_strerror(status) : "no address");
    }
    redis__unref(r);
}

/* Start the link's lookup; 0 or a libuv error. */
static int redis__start_lookup(struct rsm_redis *r)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
        .ai_flags = AI_NUMERICSERV,
    };
    struct resolve *res = malloc(sizeof *res);
    char port[8];
    int rv;

    if (res == NULL)
        return UV_ENOMEM;
    snprintf(port, sizeof port, "%u", r->addr.port);
    res->r = r;
    res->req.data = res;
    rv = uv_getaddrinfo(r->loop, &res->req, redis__on_resolved, r->addr.host,
                        port, &hints);
    if (rv != 0) {
        free(res);
        return rv;
    }
    r->refs++;
    r->lookup = res;
    return 0;
}

/* From rsm_redis_command: resolve the name again (in the background) and
 * connect. Nothing connects from here (callbacks must not run inside
 * rsm_redis_command): the link timer or the lookup's answer does. */
void redis__start_connect(struct rsm_redis *r)
{
    uint64_t timeout = r->connect_timeout_ms, wait;
    int rv = 0;

    r->state = ST_RESOLVING;
    r->connect_deadline = timeout > 0 ? uv_now(r->loop) + timeout : UINT64_MAX;
    if (!r->numeric && r->lookup == NULL)
        rv = redis__start_lookup(r);
    if (rv != 0 && r->n_cache == 0) {
        redis__fail_soon(r, RSM_ERESOLVE, "%s: cannot resolve host: %s",
                         r->name, uv_strerror(rv));
        return;
    }
    if (r->numeric || rv != 0) {
        wait = 0; /* nothing to wait for: the cache now */
    } else if (r->n_cache > 0) {
        wait = RESOLVE_GRACE_MS;
        if (timeout > 0 && wait > timeout / 2)
            wait = timeout / 2;
    } else {
        redis__arm_connect_deadline(
            r); /* the lookup's answer, or the deadline */
        return;
    }
    uv_timer_start(&r->timer, redis__on_link_timer, wait, 0);
}

void redis__on_link_timer(uv_timer_t *t)
{
    struct rsm_redis *r = t->data;

    if (r->deferred != 0)
        redis__fail_all(r, r->deferred, "%s", r->deferred_msg);
    else if (r->state == ST_RESOLVING && r->n_cache > 0 &&
             uv_now(r->loop) < r->connect_deadline)
        redis__connect_cached(r); /* no fresh answer yet: the last one */
    else if (r->state == ST_RESOLVING)
        redis__fail_all(r, RSM_ERESOLVE,
                        "%s: cannot resolve host: no answer within %" PRIu64
                        " ms",
                        r->name, r->connect_timeout_ms);
    else if (r->state == ST_HANDSHAKE) /* connected, no TLS answer */
        redis__fail_all(r, RSM_ETIMEOUT,
                        "%s: connect timed out after %" PRIu64
                        " ms in the TLS handshake (a plaintext port?)",
                        r->name, r->connect_timeout_ms);
    else
        redis__fail_all(r, RSM_ETIMEOUT,
                        "%s: connect timed out after %" PRIu64 " ms", r->name,
                        r->connect_timeout_ms);
}
