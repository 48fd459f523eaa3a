/* redis_io.c - the command path of a Redis link (redis.c): commands
 * written (commands given together, and everything that waited for the
 * connection, go out in one write) and replies read with hiredis's
 * redisReader and handed, in order, to the command at the head of `sent`
 * (or, in state AUTH, to the AUTH sent on connect). */
#include "redis_int.h"
#include "redis_tls.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Writing
 * ---------------------------------------------------------------------- */

static void redis__on_write(uv_write_t *req, int status)
{
    struct wreq *w = req->data;
    struct conn *c = req->handle->data;
    struct rsm_redis *r = c->r;

    if (w->secret)
        explicit_bzero(w->buf, w->len);
    redisFreeCommand(w->buf);
    free(w);
    if (status < 0 && status != UV_ECANCELED && c == r->conn)
        redis__fail_all(r, RSM_ECONNECT, "%s: write failed: %s", r->name,
                        uv_strerror(status));
}

/* Write buf (taking ownership) on the socket as it is; 0 or a libuv
 * error, in which case buf is freed. What the socket takes at once is
 * written right here (uv_try_write: no request, no completion pass, no
 * epoll change), only the rest through a uv_write request. */
int redis__write_raw(struct rsm_redis *r, char *buf, size_t len, bool secret)
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
    rv = uv_write(&w->req, s, &b, 1, redis__on_write);
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

int redis__write_buf(struct rsm_redis *r, char *buf, size_t len, bool secret)
{
    if (r->conn->tls != NULL)
        return redis__tls_write(r, buf, len, secret);
    return redis__write_raw(r, buf, len, secret);
}

/* Move every command of q to `sent` and write them in one go (q is left
 * empty). 0 or a libuv error; the commands are in `sent` either way. */
int redis__write_queue(struct rsm_redis *r, struct queue *q)
{
    size_t len = 0, off = 0;
    struct cmd *c;
    char *buf;

    if (q->head == NULL)
        return 0;
    if (q->head == q->tail) { /* one: its own buffer */
        c = redis__queue_pop(q);
        buf = c->buf;
        c->buf = NULL;
        redis__queue_push(&r->sent, c);
        return redis__write_buf(r, buf, c->len, false);
    }
    for (c = q->head; c != NULL; c = c->next)
        len += c->len;
    buf = malloc(len);
    while ((c = redis__queue_pop(q)) != NULL) {
        if (buf != NULL)
            memcpy(buf + off, c->buf, c->len);
        off += c->len;
        redisFreeCommand(c->buf);
        c->buf = NULL;
        redis__queue_push(&r->sent, c);
    }
    if (buf == NULL)
        return UV_ENOMEM;
    return redis__write_buf(r, buf, len, false);
}

/* The link is usable: write everything that waited for it. From callbacks
 * only. */
void redis__ready(struct rsm_redis *r)
{
    int rv;

    r->state = ST_READY;
    uv_timer_stop(&r->timer);
    rv = redis__write_queue(r, &r->waiting);
    if (rv != 0)
        redis__fail_all(r, RSM_ECONNECT, "%s: write failed: %s", r->name,
                        uv_strerror(rv));
}

/* ------------------------------------------------------------------------
 * Reading
 * ---------------------------------------------------------------------- */

void redis__on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct conn *c = h->data;

    *buf = uv_buf_init(c->r->rbuf, sizeof c->r->rbuf);
}

/* Hand one reply to whoever waits for it. */
static void redis__dispatch(struct rsm_redis *r, const redisReply *reply)
{
    char msg[MSG_SIZE];
    struct cmd *c;

    /* replies are read only once connected: AUTH sent, or ready */
    assert(r->state == ST_AUTH || r->state == ST_READY);
    if (r->state == ST_AUTH) {
        if (reply->type == REDIS_REPLY_ERROR)
            redis__fail_all(r, RSM_EAUTH, "%s: AUTH refused: %.*s", r->name,
                            (int)reply->len, reply->str);
        else
            redis__ready(r);
        return;
    }
    c = redis__queue_pop(&r->sent);
    if (c == NULL) {
        redis__fail_all(r, RSM_EPROTO, "%s: reply without a command", r->name);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(msg, sizeof msg, "%s: error reply: %.*s", r->name,
                 (int)reply->len, reply->str);
        redis__complete(c, RSM_EREPLY, reply, msg);
    } else {
        redis__complete(c, 0, reply, r->ok_msg);
    }
    /* nothing left to time: no wakeup at a deadline that no longer is */
    if (r->sent.head == NULL && r->waiting.head == NULL && r->deadline_armed) {
        uv_timer_stop(&r->deadline);
        r->deadline_armed = false;
    }
}

void redis__lost(struct rsm_redis *r, const char *why)
{
    r->refs++; /* the callbacks below may close the link */
    redis__fail_all(r, RSM_ECONNECT, "%s: %s", r->name, why);
    if (r->drop_cb != NULL && !r->closing)
        r->drop_cb(r, r->drop_arg);
    redis__unref(r);
}

void redis__feed(struct rsm_redis *r, struct conn *c, const char *buf,
                 size_t len)
{
    void *reply;

    if (redisReaderFeed(c->reader, buf, len) != REDIS_OK) {
        redis__fail_all(r, RSM_ENOMEM, "%s: reply buffer: out of memory",
                        r->name);
        return;
    }
    while (c == r->conn) {
        if (redisReaderGetReply(c->reader, &reply) != REDIS_OK) {
            redis__fail_all(r, RSM_EPROTO, "%s: bad reply: %s", r->name,
                            c->reader->errstr);
            return;
        }
        if (reply == NULL)
            break;
        redis__dispatch(r, reply);
        freeReplyObject(reply);
    }
}

void redis__on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    struct rsm_redis *r = c->r;
    char why[RSM_ERRMSG_SIZE];

    if (c != r->conn)
        return;
    if (nread < 0) {
        /* a server that drops a link before its first answer may want the
         * other protocol: say so */
        snprintf(why, sizeof why, "%s%s%s",
                 nread == UV_EOF ? "" : "read failed: ",
                 nread == UV_EOF ? "connection closed by the server"
                                 : uv_strerror((int)nread),
                 r->state == ST_HANDSHAKE ? " during the TLS handshake (not "
                                            "a TLS port? see --tls-redis)"
                 : c->got_bytes || c->tls != NULL
                     ? ""
                     : " before any reply (a TLS port? see --tls-redis)");
        redis__lost(r, why);
        return;
    }
    if (nread > 0)
        c->got_bytes = true;
    if (c->tls != NULL) {
        redis__tls_on_read(r, c, buf->base, (size_t)nread);
    } else {
        redis__feed(r, c, buf->base, (size_t)nread);
    }
}