/* redis.c - one client link to one Redis endpoint: a libuv TCP stream
 * carrying hiredis's protocol layer, with our own deadlines.
 *
 * States: IDLE -> RESOLVING -> CONNECTING -> (AUTH) -> READY. Commands wait
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
 *     reported unreachable within the connect timeout, never waited for.
 *
 * Lifetime: the struct counts what still refers to it (the user until
 * rsm_redis_close, the link timer, the deadline timer, each TCP handle,
 * the name resolution in flight) and is freed when the count drops to
 * zero, always from a libuv close or request callback. Commands never
 * outlive the link: closing it completes them all. */
#include "rsm/redis.h"

#include <assert.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Messages name the address (up to RSM_ADDR_STRLEN) plus some detail. */
#define MSG_SIZE (RSM_ADDR_STRLEN + RSM_ERRMSG_SIZE)
/* Addresses of one name kept (and tried in turn). */
#define RESOLVE_MAX 4
/* How long a connect waits for its fresh lookup before it uses the cached
 * addresses (at most half the connect timeout). A healthy resolver answers
 * in a few ms: then the fresh answer is always used. */
#define RESOLVE_GRACE_MS 50

enum state {
    ST_IDLE = 0,
    ST_RESOLVING,
    ST_CONNECTING,
    ST_AUTH,
    ST_READY,
};

/* One command from rsm_redis_command() to its callback. Owned by the link;
 * freed right after its callback. */
struct cmd {
    struct cmd *next;
    struct rsm_redis *r;
    rsm_redis_cb cb;
    void *arg;
    char *buf; /* RESP text until written (then owned by the write) */
    size_t len;
    uint64_t start_ns;
    uint64_t timeout_ms;
    uint64_t deadline; /* loop time (uv_now) it fails at */
};

struct queue {
    struct cmd *head, *tail;
};

/* One TCP connection attempt. Freed in the handle's close callback. */
struct conn {
    uv_tcp_t tcp;
    uv_connect_t req;
    struct rsm_redis *r;
    redisReader *reader;
    bool closing;
};

/* An IPv4 or IPv6 address (smaller than sockaddr_storage: a link keeps 8). */
union sockaddr_any {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
};

/* The one uv_getaddrinfo of a link in flight (r->lookup). */
struct resolve {
    uv_getaddrinfo_t req;
    struct rsm_redis *r;
};

/* One write in flight; owns the buffer. */
struct wreq {
    uv_write_t req;
    char *buf;
    size_t len;
    bool secret; /* holds the password: wiped before free */
};

struct rsm_redis {
    uv_loop_t *loop;
    struct rsm_addr addr;
    char name[RSM_ADDR_STRLEN];       /* "host:port" for messages */
    char ok_msg[RSM_ADDR_STRLEN + 8]; /* "host:port: ok", made once */
    char *user;
    char *password;
    uint64_t connect_timeout_ms;

    enum state state;
    /* names: see the top of this file */
    bool numeric;           /* an IP literal: cache[0], never resolved */
    struct resolve *lookup; /* in flight (one at most), or NULL */
    union sockaddr_any cache[RESOLVE_MAX]; /* last answer */
    unsigned n_cache;
    union sockaddr_any cand[RESOLVE_MAX]; /* this attempt's addresses */
    unsigned n_cand, next_cand;
    uint64_t connect_deadline; /* loop time; UINT64_MAX: none */
    int last_connect_err;      /* libuv code of the last failed attempt */
    struct conn *conn;
    uv_timer_t timer; /* connect deadline, or a deferred failure */
    int deferred;     /* RSM_E* to fail with when `timer` fires, or 0 */
    char deferred_msg[MSG_SIZE];
    uv_timer_t deadline;  /* the earliest command deadline, or later */
    uint64_t deadline_at; /* loop time it is armed for */
    bool deadline_armed;

    struct queue waiting; /* not written yet */
    struct queue sent;    /* written, replies due in this order */

    unsigned refs;
    bool closing;
    rsm_redis_close_cb close_cb;
    void *close_arg;
    char rbuf[16384];
};

static void fail_all(struct rsm_redis *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail_soon(struct rsm_redis *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void on_link_timer(uv_timer_t *t);
static void on_deadline(uv_timer_t *t);

/* ------------------------------------------------------------------------
 * Queues and reference counting
 * ---------------------------------------------------------------------- */

static void queue_push(struct queue *q, struct cmd *c)
{
    c->next = NULL;
    if (q->tail != NULL)
        q->tail->next = c;
    else
        q->head = c;
    q->tail = c;
}

static struct cmd *queue_pop(struct queue *q)
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

static void wipe_free(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

static void unref(struct rsm_redis *r)
{
    assert(r->refs > 0);
    if (--r->refs > 0)
        return;
    if (r->close_cb != NULL)
        r->close_cb(r, r->close_arg);
    free(r->user);
    wipe_free(r->password);
    free(r);
}

/* ------------------------------------------------------------------------
 * Completing commands
 * ---------------------------------------------------------------------- */

static void free_cmd(struct cmd *c)
{
    redisFreeCommand(c->buf);
    free(c);
}

/* Run the callback of c (already out of every queue) and release it. */
static void complete(struct cmd *c, int status, const redisReply *reply,
                     const char *msg)
{
    struct rsm_redis_result res = {
        .status = status,
        .reply = reply,
        .errmsg = msg,
        .latency_ms = (uv_hrtime() - c->start_ns) / 1000000u,
    };

    c->cb(c->r, &res, c->arg);
    free_cmd(c);
}

/* ------------------------------------------------------------------------
 * Dropping the connection
 * ---------------------------------------------------------------------- */

static void conn_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    struct rsm_redis *r = c->r;

    if (c->reader != NULL)
        redisReaderFree(c->reader);
    free(c);
    unref(r);
}

static void conn_close(struct conn *c)
{
    if (!c->closing) {
        c->closing = true;
        uv_close((uv_handle_t *)&c->tcp, conn_closed);
    }
}

/* Forget the connection and any attempt in progress; queues are kept. A
 * lookup in flight goes on: its answer refreshes the cache. */
static void drop(struct rsm_redis *r)
{
    r->n_cand = r->next_cand = 0;
    if (r->conn != NULL) {
        conn_close(r->conn);
        r->conn = NULL;
    }
    uv_timer_stop(&r->timer);
    r->state = ST_IDLE;
}

/* Fail every queued command with status and the same message, then drop the
 * connection. Only from a libuv callback (or rsm_redis_close): callbacks
 * run right here. They may issue new commands (which start a new
 * connection) or close the link. */
static void fail_all(struct rsm_redis *r, int status, const char *fmt, ...)
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
    drop(r);
    while ((c = queue_pop(&q)) != NULL)
        complete(c, status, NULL, msg);
}

/* Like fail_all, but from inside rsm_redis_command(), where callbacks must
 * not run: drop now, fail from the link timer on the next loop turn. */
static void fail_soon(struct rsm_redis *r, int status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->deferred_msg, sizeof r->deferred_msg, fmt, ap);
    va_end(ap);
    drop(r);
    r->deferred = status;
    uv_timer_start(&r->timer, on_link_timer, 0, 0);
}

/* ------------------------------------------------------------------------
 * Writing
 * ---------------------------------------------------------------------- */

static void on_write(uv_write_t *req, int status)
{
    struct wreq *w = req->data;
    struct conn *c = req->handle->data;
    struct rsm_redis *r = c->r;

    if (w->secret)
        explicit_bzero(w->buf, w->len);
    redisFreeCommand(w->buf);
    free(w);
    if (status < 0 && status != UV_ECANCELED && c == r->conn)
        fail_all(r, RSM_ECONNECT, "%s: write failed: %s", r->name,
                 uv_strerror(status));
}

/* Write buf (taking ownership) on the current connection; 0 or a libuv
 * error, in which case buf is freed. What the socket takes at once is
 * written right here (uv_try_write: no request, no completion pass, no
 * epoll change), only the rest through a uv_write request. */
static int write_buf(struct rsm_redis *r, char *buf, size_t len, bool secret)
{
    uv_stream_t *s = (uv_stream_t *)&r->conn->tcp;
    uv_buf_t b = uv_buf_init(buf, (unsigned)len);
    struct wreq *w;
    int rv = uv_try_write(s, &b, 1);

    if (rv == (int)len) {
        rv = 0;
        goto out_free_buf;
    }
    if (rv < 0 && rv != UV_EAGAIN)
        goto out_free_buf;
    if (rv > 0) {
        b.base += rv;
        b.len -= (size_t)rv;
    }
    w = malloc(sizeof *w);
    if (w == NULL) {
        rv = UV_ENOMEM;
        goto out_free_buf;
    }
    w->buf = buf;
    w->len = len;
    w->secret = secret;
    w->req.data = w;
    rv = uv_write(&w->req, s, &b, 1, on_write);
    if (rv != 0) {
        free(w);
        goto out_free_buf;
    }
    return 0;

out_free_buf:
    if (secret)
        explicit_bzero(buf, len);
    redisFreeCommand(buf);
    return rv;
}

/* Move every command of q to `sent` and write them in one go (q is left
 * empty). 0 or a libuv error; the commands are in `sent` either way. */
static int write_queue(struct rsm_redis *r, struct queue *q)
{
    size_t len = 0, off = 0;
    struct cmd *c;
    char *buf;

    if (q->head == NULL)
        return 0;
    if (q->head == q->tail) { /* one: its own buffer */
        c = queue_pop(q);
        buf = c->buf;
        c->buf = NULL;
        queue_push(&r->sent, c);
        return write_buf(r, buf, c->len, false);
    }
    for (c = q->head; c != NULL; c = c->next)
        len += c->len;
    buf = malloc(len);
    while ((c = queue_pop(q)) != NULL) {
        if (buf != NULL)
            memcpy(buf + off, c->buf, c->len);
        off += c->len;
        redisFreeCommand(c->buf);
        c->buf = NULL;
        queue_push(&r->sent, c);
    }
    if (buf == NULL)
        return UV_ENOMEM;
    return write_buf(r, buf, len, false);
}

/* The link is usable: write everything that waited for it. From callbacks
 * only. */
static void ready(struct rsm_redis *r)
{
    int rv;

    r->state = ST_READY;
    uv_timer_stop(&r->timer);
    rv = write_queue(r, &r->waiting);
    if (rv != 0)
        fail_all(r, RSM_ECONNECT, "%s: write failed: %s", r->name,
                 uv_strerror(rv));
}

static int send_auth(struct rsm_redis *r)
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
    return write_buf(r, buf, (size_t)len, true);
}

/* ------------------------------------------------------------------------
 * Reading
 * ---------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct conn *c = h->data;

    *buf = uv_buf_init(c->r->rbuf, sizeof c->r->rbuf);
}

/* Hand one reply to whoever waits for it. */
static void dispatch(struct rsm_redis *r, const redisReply *reply)
{
    char msg[MSG_SIZE];
    struct cmd *c;

    if (r->state == ST_AUTH) {
        if (reply->type == REDIS_REPLY_ERROR)
            fail_all(r, RSM_EAUTH, "%s: AUTH refused: %.*s", r->name,
                     (int)reply->len, reply->str);
        else
            ready(r);
        return;
    }
    c = queue_pop(&r->sent);
    if (c == NULL) {
        fail_all(r, RSM_EPROTO, "%s: reply without a command", r->name);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(msg, sizeof msg, "%s: error reply: %.*s", r->name,
                 (int)reply->len, reply->str);
        complete(c, RSM_EREPLY, reply, msg);
    } else {
        complete(c, 0, reply, r->ok_msg);
    }
    /* nothing left to time: no wakeup at a deadline that no longer is */
    if (r->sent.head == NULL && r->waiting.head == NULL && r->deadline_armed) {
        uv_timer_stop(&r->deadline);
        r->deadline_armed = false;
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    struct rsm_redis *r = c->r;
    void *reply;

    if (c != r->conn)
        return;
    if (nread < 0) {
        if (nread == UV_EOF)
            fail_all(r, RSM_ECONNECT, "%s: connection closed by the server",
                     r->name);
        else
            fail_all(r, RSM_ECONNECT, "%s: read failed: %s", r->name,
                     uv_strerror((int)nread));
        return;
    }
    if (redisReaderFeed(c->reader, buf->base, (size_t)nread) != REDIS_OK) {
        fail_all(r, RSM_ENOMEM, "%s: reply buffer: out of memory", r->name);
        return;
    }
    while (c == r->conn) {
        if (redisReaderGetReply(c->reader, &reply) != REDIS_OK) {
            fail_all(r, RSM_EPROTO, "%s: bad reply: %s", r->name,
                     c->reader->errstr);
            return;
        }
        if (reply == NULL)
            break;
        dispatch(r, reply);
        freeReplyObject(reply);
    }
}

/* ------------------------------------------------------------------------
 * Connecting
 * ---------------------------------------------------------------------- */

static void try_connect(struct rsm_redis *r);

static void on_connect(uv_connect_t *req, int status)
{
    struct conn *c = req->data;
    struct rsm_redis *r = c->r;
    int rv;

    if (c != r->conn)
        return; /* dropped meanwhile (status is UV_ECANCELED) */
    if (status < 0) {
        r->last_connect_err = status;
        conn_close(c);
        r->conn = NULL;
        r->next_cand++;
        try_connect(r);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    rv = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rv == 0 && r->password != NULL) {
        r->state = ST_AUTH;
        rv = send_auth(r);
    }
    if (rv != 0) {
        fail_all(r, RSM_ECONNECT, "%s: %s", r->name, uv_strerror(rv));
        return;
    }
    if (r->password == NULL)
        ready(r);
}

/* Start one TCP connect to cand[next_cand]; 0 or a libuv error. */
static int connect_one(struct rsm_redis *r)
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
    rv =
        uv_tcp_connect(&c->req, &c->tcp, &r->cand[r->next_cand].sa, on_connect);
    if (rv != 0) {
        conn_close(c);
        r->conn = NULL;
    }
    return rv;
}

/* Try the candidate addresses from next_cand on, until one connect starts.
 * From callbacks only. */
static void try_connect(struct rsm_redis *r)
{
    int rv;

    r->state = ST_CONNECTING;
    for (; r->next_cand < r->n_cand; r->next_cand++) {
        rv = connect_one(r);
        if (rv == 0)
            return;
        r->last_connect_err = rv;
    }
    fail_all(r, RSM_ECONNECT, "%s: cannot connect: %s", r->name,
             uv_strerror(r->last_connect_err));
}

/* Arm the link timer for the connect deadline (none: stopped). */
static void arm_connect_deadline(struct rsm_redis *r)
{
    uint64_t now = uv_now(r->loop);

    if (r->connect_deadline == UINT64_MAX)
        uv_timer_stop(&r->timer);
    else
        uv_timer_start(
            &r->timer, on_link_timer,
            r->connect_deadline > now ? r->connect_deadline - now : 0, 0);
}

/* The waiting attempt connects to the cached addresses (n_cache > 0). From
 * callbacks only. */
static void connect_cached(struct rsm_redis *r)
{
    memcpy(r->cand, r->cache, r->n_cache * sizeof r->cache[0]);
    r->n_cand = r->n_cache;
    r->next_cand = 0;
    r->last_connect_err = UV_EADDRNOTAVAIL;
    arm_connect_deadline(r);
    try_connect(r);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *ai)
{
    struct resolve *res = req->data;
    struct rsm_redis *r = res->r;
    unsigned n = 0;

    free(res);
    r->lookup = NULL;
    if (r->closing || status == UV_ECANCELED) {
        uv_freeaddrinfo(ai);
        unref(r);
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
            connect_cached(r);
        else
            fail_all(r, RSM_ERESOLVE, "%s: cannot resolve host: %s", r->name,
                     status < 0 ? uv_strerror(status) : "no address");
    }
    unref(r);
}

/* Start the link's lookup; 0 or a libuv error. */
static int start_lookup(struct rsm_redis *r)
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
    rv = uv_getaddrinfo(r->loop, &res->req, on_resolved, r->addr.host, port,
                        &hints);
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
static void start_connect(struct rsm_redis *r)
{
    uint64_t timeout = r->connect_timeout_ms, wait;
    int rv = 0;

    r->state = ST_RESOLVING;
    r->connect_deadline = timeout > 0 ? uv_now(r->loop) + timeout : UINT64_MAX;
    if (!r->numeric && r->lookup == NULL)
        rv = start_lookup(r);
    if (rv != 0 && r->n_cache == 0) {
        fail_soon(r, RSM_ERESOLVE, "%s: cannot resolve host: %s", r->name,
                  uv_strerror(rv));
        return;
    }
    if (r->numeric || rv != 0) {
        wait = 0; /* nothing to wait for: the cache now */
    } else if (r->n_cache > 0) {
        wait = RESOLVE_GRACE_MS;
        if (timeout > 0 && wait > timeout / 2)
            wait = timeout / 2;
    } else {
        arm_connect_deadline(r); /* the lookup's answer, or the deadline */
        return;
    }
    uv_timer_start(&r->timer, on_link_timer, wait, 0);
}

/* ------------------------------------------------------------------------
 * Deadlines
 * ---------------------------------------------------------------------- */

static void on_link_timer(uv_timer_t *t)
{
    struct rsm_redis *r = t->data;

    if (r->deferred != 0)
        fail_all(r, r->deferred, "%s", r->deferred_msg);
    else if (r->state == ST_RESOLVING && r->n_cache > 0 &&
             uv_now(r->loop) < r->connect_deadline)
        connect_cached(r); /* no fresh answer yet: the last one */
    else if (r->state == ST_RESOLVING)
        fail_all(r, RSM_ERESOLVE,
                 "%s: cannot resolve host: no answer within %" PRIu64 " ms",
                 r->name, r->connect_timeout_ms);
    else
        fail_all(r, RSM_ETIMEOUT, "%s: connect timed out after %" PRIu64 " ms",
                 r->name, r->connect_timeout_ms);
}

/* Have the deadline timer fire at `at` (loop time) or earlier. */
static void arm_deadline(struct rsm_redis *r, uint64_t at)
{
    uint64_t now = uv_now(r->loop);

    if (r->deadline_armed && r->deadline_at <= at)
        return;
    r->deadline_at = at;
    r->deadline_armed = true;
    uv_timer_start(&r->deadline, on_deadline, at > now ? at - now : 0, 0);
}

static struct cmd *earliest(struct cmd *best, struct cmd *c)
{
    for (; c != NULL; c = c->next) {
        if (best == NULL || c->deadline < best->deadline)
            best = c;
    }
    return best;
}

static void on_deadline(uv_timer_t *t)
{
    struct rsm_redis *r = t->data;
    struct cmd *c = earliest(earliest(NULL, r->sent.head), r->waiting.head);

    r->deadline_armed = false;
    if (c == NULL)
        return;
    if (c->deadline > uv_now(r->loop)) {
        arm_deadline(r, c->deadline);
        return;
    }
    fail_all(r, RSM_ETIMEOUT,
             "%s: no reply within %" PRIu64 " ms, connection dropped", r->name,
             c->timeout_ms);
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
    wipe_free(r->password);
    free(r);
    return RSM_ENOMEM;
}

static bool args_ok(int argc, const char *const *argv)
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
static struct cmd *new_cmd(struct rsm_redis *r, int argc,
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
        if (!args_ok(argc[i], argv[i]))
            return RSM_EINVAL;
    }
    for (int i = 0; i < n; i++) {
        c = new_cmd(r, argc[i], argv[i]);
        if (c == NULL) {
            while ((c = queue_pop(&q)) != NULL)
                free_cmd(c);
            return RSM_ENOMEM;
        }
        queue_push(&q, c);
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
    arm_deadline(r, deadline);

    if (r->state == ST_READY) {
        int rv = write_queue(r, &q);
        if (rv != 0)
            fail_soon(r, RSM_ECONNECT, "%s: write failed: %s", r->name,
                      uv_strerror(rv));
        return 0;
    }
    while ((c = queue_pop(&q)) != NULL)
        queue_push(&r->waiting, c);
    if (r->state == ST_IDLE && r->deferred == 0)
        start_connect(r);
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

static void link_timer_closed(uv_handle_t *h)
{
    unref(h->data);
}

void rsm_redis_close(struct rsm_redis *r, rsm_redis_close_cb close_cb,
                     void *arg)
{
    assert(!r->closing);
    r->closing = true; /* callbacks below cannot queue new commands */
    r->close_cb = close_cb;
    r->close_arg = arg;
    fail_all(r, RSM_ECANCELED, "%s: link closed", r->name);
    if (r->lookup != NULL) /* still queued: dropped; running: its answer
                            * is discarded (on_resolved) */
        uv_cancel((uv_req_t *)&r->lookup->req);
    uv_close((uv_handle_t *)&r->timer, link_timer_closed);
    uv_close((uv_handle_t *)&r->deadline, link_timer_closed);
    if (r->password != NULL)
        explicit_bzero(r->password, strlen(r->password));
    unref(r);
}
