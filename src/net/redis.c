/* redis.c - one client link to one Redis endpoint: a libuv TCP stream
 * carrying hiredis's protocol layer, with our own deadlines. This file:
 * the public API, the command queues, failing and the command deadlines;
 * redis_io.c writes commands and reads replies, redis_connect.c resolves,
 * connects and authenticates (the link's struct: redis_int.h).
 *
 * States: IDLE -> RESOLVING -> CONNECTING -> (HANDSHAKE: TLS) -> (AUTH) ->
 * READY. Commands wait
 * in `waiting` until the link is READY, are then written and move to `sent`,
 * whose head is the command the next reply belongs to. Any I/O failure or
 * deadline fails every command of both queues and drops the connection.
 *
 * Deadlines: one timer per link, armed for the earliest deadline of the
 * commands in both queues; when it fires it fails everything if that
 * command is overdue, or re-arms for the new earliest one. (A timer per
 * command cost four timer-heap operations and a handle close per command,
 * a sizeable part of an agent probing a thousand endpoints.)
 *
 * Writes: commands given together (rsm_redis_commands), and everything
 * that waited for the connection, go out in one write.
 *
 * Names (redis_connect.c): a host that is an IP literal is never resolved;
 * a name is resolved again on every connect, in the background.
 *
 * Lifetime: the struct counts what still refers to it (the user until
 * rsm_redis_close, the link timer, the deadline timer, each TCP handle,
 * the name resolution in flight) and is freed when the count drops to
 * zero, always from a libuv close or request callback. Commands never
 * outlive the link: closing it completes them all. */
#include "redis_int.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void redis__on_deadline(uv_timer_t *t);

/* ------------------------------------------------------------------------
 * Queues and reference counting
 * ---------------------------------------------------------------------- */

void redis__queue_push(struct queue *q, struct cmd *c)
{
    c->next = NULL;
    if (q->tail != NULL)
        q->tail->next = c;
    else
        q->head = c;
    q->tail = c;
}

struct cmd *redis__queue_pop(struct queue *q)
{
    struct cmd *c = q->head;

    if (c != NULL) {
        q->head = c->next;
        if (q->head == NULL)
            q->tail = NULL;
        c->next = NULL;
    }
    return c;
}

static void redis__wipe_free(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void redis__unref(struct rsm_redis *r)
{
    assert(r->refs > 0);
    if (--r->refs > 0)
        return;
    if (r->close_cb != NULL)
        r->close_cb(r, r->close_arg);
    free(r->user);
    redis__wipe_free(r->password);
    free(r);
}

/* ------------------------------------------------------------------------
 * Completing commands
 * ---------------------------------------------------------------------- */

static void redis__free_cmd(struct cmd *c)
{
    redisFreeCommand(c->buf);
    free(c);
}

/* Run the callback of c (already out of every queue) and release it. */
void redis__complete(struct cmd *c, int status, const redisReply *reply,
                     const char *msg)
{
    struct rsm_redis_result res = {
        .status = status,
        .reply = reply,
        .errmsg = msg,
        .latency_ms = (uv_hrtime() - c->start_ns) / 1000000u,
    };

    assert(c->next == NULL);

    c->cb(c->r, &res, c->arg);
    redis__free_cmd(c);
}

/* ------------------------------------------------------------------------
 * Dropping the connection
 * ---------------------------------------------------------------------- */

/* Forget the connection and any attempt in progress; queues are kept. A
 * lookup in flight goes on: its answer refreshes the cache. */
static void redis__drop(struct rsm_redis *r)
{
    r->n_cand = r->next_cand = 0;
    if (r->conn != NULL) {
        redis__conn_close(r->conn);
        r->conn = NULL;
    }
    uv_timer_stop(&r->timer);
    r->state = ST_IDLE;
}

/* Fail every queued command with status and the same message, then drop the
 * connection. Only from a libuv callback (or rsm_redis_close): callbacks
 * run right here. They may issue new commands (which start a new
 * connection) or close the link. */
void redis__fail_all(struct rsm_redis *r, int status, const char *fmt, ...)
{
    char msg[MSG_SIZE];
    struct queue q = r->sent;
    struct cmd *c;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    /* sent first, then waiting: the order the commands were issued in */
    if (q.tail != NULL) {
        q.tail->next = r->waiting.head;
        if (r->waiting.tail != NULL)
            q.tail = r->waiting.tail;
    } else {
        q = r->waiting;
    }
    r->sent.head = r->sent.tail = NULL;
    r->waiting.head = r->waiting.tail = NULL;
    r->deferred = 0;
    uv_timer_stop(&r->deadline);
    r->deadline_armed = false;
    redis__drop(r);
    while ((c = redis__queue_pop(&q)) != NULL)
        redis__complete(c, status, NULL, msg);
}

/* Like redis__fail_all, but from inside rsm_redis_command(), where callbacks
 * must not run: drop now, fail from the link timer on the next loop turn. */
void redis__fail_soon(struct rsm_redis *r, int status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->deferred_msg, sizeof r->deferred_msg, fmt, ap);
    va_end(ap);
    redis__drop(r);
    r->deferred = status;
    uv_timer_start(&r->timer, redis__on_link_timer, 0, 0);
}

/* ------------------------------------------------------------------------
 * Deadlines
 * ---------------------------------------------------------------------- */

/* Have the deadline timer fire at `at` (loop time) or earlier. */
static void redis__arm_deadline(struct rsm_redis *r, uint64_t at)
{
    uint64_t now = uv_now(r->loop);

    if (r->deadline_armed && r->deadline_at <= at)
        return;
    r->deadline_at = at;
    r->deadline_armed = true;
    uv_timer_start(&r->deadline, redis__on_deadline, at > now ? at - now : 0,
                   0);
}

static struct cmd *redis__earliest(struct cmd *best, struct cmd *c)
{
    for (; c != NULL; c = c->next) {
        if (best == NULL || c->deadline < best->deadline)
            best = c;
    }
    return best;
}

static void redis__on_deadline(uv_timer_t *t)
{
    struct rsm_redis *r = t->data;
    struct cmd *c =
        redis__earliest(redis__earliest(NULL, r->sent.head), r->waiting.head);

    r->deadline_armed = false;
    if (c == NULL)
        return;
    if (c->deadline > uv_now(r->loop)) {
        redis__arm_deadline(r, c->deadline);
        return;
    }
    redis__fail_all(r, RSM_ETIMEOUT,
                    "%s: no reply within %" PRIu64 " ms, connection dropped",
                    r->name, c->timeout_ms);
}

/* ------------------------------------------------------------------------
 * Public API
 * ---------------------------------------------------------------------- */

int rsm_redis_create(uv_loop_t *loop, const struct rsm_redis_config *cfg,
                     struct rsm_redis **out)
{
    struct rsm_redis *r = calloc(1, sizeof *r);

    if (r == NULL)
        return RSM_ENOMEM;
    r->loop = loop;
    r->addr = cfg->addr;
    rsm_addr_format(&r->addr, r->name, sizeof r->name);
    snprintf(r->ok_msg, sizeof r->ok_msg, "%s: ok", r->name);
    r->connect_timeout_ms = cfg->connect_timeout_ms;
    r->tls = cfg->tls;
    if (uv_ip4_addr(r->addr.host, r->addr.port, &r->cache[0].in) == 0 ||
        uv_ip6_addr(r->addr.host, r->addr.port, &r->cache[0].in6) == 0) {
        r->numeric = true;
        r->n_cache = 1;
    }
    if (cfg->password != NULL) {
        r->password = strdup(cfg->password);
        if (r->password == NULL)
            goto err_free;
        if (cfg->user != NULL) {
            r->user = strdup(cfg->user);
            if (r->user == NULL)
                goto err_free;
        }
    }
    uv_timer_init(loop, &r->timer);
    r->timer.data = r;
    uv_timer_init(loop, &r->deadline);
    r->deadline.data = r;
    r->refs = 3; /* the user, the link timer, the deadline timer */
    *out = r;
    return 0;

err_free:
    free(r->user);
    redis__wipe_free(r->password);
    free(r);
    return RSM_ENOMEM;
}

static bool redis__args_ok(int argc, const char *const *argv)
{
    if (argc < 1 || argv == NULL)
        return false;
    for (int i = 0; i < argc; i++) {
        if (argv[i] == NULL)
            return false;
    }
    return true;
}

/* A formatted command, not queued yet; NULL when out of memory. */
static struct cmd *redis__new_cmd(struct rsm_redis *r, int argc,
                                  const char *const *argv)
{
    struct cmd *c = calloc(1, sizeof *c);
    int len;

    if (c == NULL)
        return NULL;
    len = redisFormatCommandArgv(&c->buf, argc, (const char **)argv, NULL);
    if (len < 0) {
        free(c);
        return NULL;
    }
    c->len = (size_t)len;
    c->r = r;
    return c;
}

int rsm_redis_commands(struct rsm_redis *r, uint64_t timeout_ms,
                       rsm_redis_cb cb, void *arg, int n, const int *argc,
                       const char *const *const *argv)
{
    struct queue q = {NULL, NULL};
    uint64_t start_ns = uv_hrtime(), deadline;
    struct cmd *c;

    if (r->closing || cb == NULL || n < 1 || argc == NULL || argv == NULL ||
        timeout_ms == 0)
        return RSM_EINVAL;
    for (int i = 0; i < n; i++) {
        if (!redis__args_ok(argc[i], argv[i]))
            return RSM_EINVAL;
    }
    for (int i = 0; i < n; i++) {
        c = redis__new_cmd(r, argc[i], argv[i]);
        if (c == NULL) {
            while ((c = redis__queue_pop(&q)) != NULL)
                redis__free_cmd(c);
            return RSM_ENOMEM;
        }
        redis__queue_push(&q, c);
    }
    uv_update_time(r->loop);
    deadline = uv_now(r->loop) + timeout_ms;
    for (c = q.head; c != NULL; c = c->next) {
        c->cb = cb;
        c->arg = arg;
        c->timeout_ms = timeout_ms;
        c->start_ns = start_ns;
        c->deadline = deadline;
    }
    redis__arm_deadline(r, deadline);

    if (r->state == ST_READY) {
        int rv = redis__write_queue(r, &q);
        if (rv != 0)
            redis__fail_soon(r, RSM_ECONNECT, "%s: write failed: %s", r->name,
                             uv_strerror(rv));
        return 0;
    }
    while ((c = redis__queue_pop(&q)) != NULL)
        redis__queue_push(&r->waiting, c);
    if (r->state == ST_IDLE && r->deferred == 0)
        redis__start_connect(r);
    return 0;
}

int rsm_redis_command(struct rsm_redis *r, uint64_t timeout_ms, rsm_redis_cb cb,
                      void *arg, int argc, const char *const *argv)
{
    return rsm_redis_commands(r, timeout_ms, cb, arg, 1, &argc, &argv);
}

int rsm_redis_connected(const struct rsm_redis *r)
{
    return r->state == ST_READY;
}

const struct rsm_addr *rsm_redis_addr(const struct rsm_redis *r)
{
    return &r->addr;
}

static void redis__link_timer_closed(uv_handle_t *h)
{
    redis__unref(h->data);
}

void rsm_redis_on_drop(struct rsm_redis *r, rsm_redis_drop_cb cb, void *arg)
{
    r->drop_cb = cb;
    r->drop_arg = arg;
}

void rsm_redis_close(struct rsm_redis *r, rsm_redis_close_cb close_cb,
                     void *arg)
{
    assert(!r->closing);
    r->closing = true; /* callbacks below cannot queue new commands */
    r->close_cb = close_cb;
    r->close_arg = arg;
    redis__fail_all(r, RSM_ECANCELED, "%s: link closed", r->name);
    if (r->lookup != NULL) /* still queued: dropped; running: its answer
                            * is discarded (redis__on_resolved) */
        uv_cancel((uv_req_t *)&r->lookup->req);
    uv_close((uv_handle_t *)&r->timer, redis__link_timer_closed);
    uv_close((uv_handle_t *)&r->deadline, redis__link_timer_closed);
    if (r->password != NULL)
        explicit_bzero(r->password, strlen(r->password));
    redis__unref(r);
}
