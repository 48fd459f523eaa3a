/* resp_reply.c - the reply builder of the RESP server (resp_server.h):
 * RESP2 values appended to a reply's buffer. A reply that ran out of
 * memory, or whose client has gone (orphaned), takes no more bytes; an
 * out-of-memory reply becomes an error when it is completed. */
#include "resp_int.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rsm_resp_reply *resp__reply_new(struct rsm_resp_client *c)
{
    struct rsm_resp_reply *r;

    assert(!c->closing && (c->head == NULL) == (c->tail == NULL));
    r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->client = c;
    if (c->tail)
        c->tail->next = r;
    else
        c->head = r;
    c->tail = r;
    c->n_pending++;
    return r;
}

void resp__reply_free(struct rsm_resp_reply *r)
{
    free(r->buf);
    free(r);
}

static bool resp__reserve(struct rsm_resp_reply *r, size_t extra)
{
    size_t cap;
    char *n;

    if (r->client == NULL || r->oom)
        return false;
    if (r->len + extra <= r->cap)
        return true;
    cap = r->cap ? r->cap : 64;
    while (cap < r->len + extra)
        cap *= 2;
    n = realloc(r->buf, cap);
    if (n == NULL) {
        r->oom = true;
        return false;
    }
    r->buf = n;
    r->cap = cap;
    return true;
}

static void resp__put(struct rsm_resp_reply *r, const void *buf, size_t len)
{
    if (!resp__reserve(r, len))
        return;
    memcpy(r->buf + r->len, buf, len);
    r->len += len;
}

/* A type byte, text without CR/LF, CRLF. */
static void resp__put_line(struct rsm_resp_reply *r, char type,
                           const char *text)
{
    size_t n = strlen(text);

    if (!resp__reserve(r, n + 3))
        return;
    r->buf[r->len++] = type;
    for (size_t i = 0; i < n; i++)
        r->buf[r->len++] = (text[i] == '\r' || text[i] == '\n') ? ' ' : text[i];
    r->buf[r->len++] = '\r';
    r->buf[r->len++] = '\n';
}

void rsm_resp_add_status(struct rsm_resp_reply *r, const char *text)
{
    resp__put_line(r, '+', text);
}

void rsm_resp_add_error(struct rsm_resp_reply *r, const char *text)
{
    resp__put_line(r, '-', text);
}

void rsm_resp_add_errorf(struct rsm_resp_reply *r, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    resp__put_line(r, '-', buf);
}

void rsm_resp_add_int(struct rsm_resp_reply *r, long long n)
{
    char buf[32];

    snprintf(buf, sizeof buf, "%lld", n);
    resp__put_line(r, ':', buf);
}

void rsm_resp_add_bulk(struct rsm_resp_reply *r, const void *buf, size_t len)
{
    char hdr[32];
    int n = snprintf(hdr, sizeof hdr, "$%zu\r\n", len);

    if (!resp__reserve(r, (size_t)n + len + 2))
        return;
    resp__put(r, hdr, (size_t)n);
    resp__put(r, buf, len);
    resp__put(r, "\r\n", 2);
}

void rsm_resp_add_cstr(struct rsm_resp_reply *r, const char *s)
{
    rsm_resp_add_bulk(r, s, strlen(s));
}

void rsm_resp_add_kv(struct rsm_resp_reply *r, const char *k, const char *v)
{
    rsm_resp_add_cstr(r, k);
    rsm_resp_add_cstr(r, v);
}

void rsm_resp_add_kv_int(struct rsm_resp_reply *r, const char *k, int64_t v)
{
    rsm_resp_add_cstr(r, k);
    rsm_resp_add_bulkf(r, "%" PRId64, v);
}

void rsm_resp_add_bulkf(struct rsm_resp_reply *r, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        r->oom = true;
        return;
    }
    rsm_resp_add_bulk(r, s, (size_t)n);
    free(s);
}

void rsm_resp_add_verbatim(struct rsm_resp_reply *r, const char *format,
                           const char *text, size_t len)
{
    (void)format; /* RESP2 has no verbatim type */
    rsm_resp_add_bulk(r, text, len);
}

void rsm_resp_add_null(struct rsm_resp_reply *r)
{
    resp__put(r, "$-1\r\n", 5);
}

void rsm_resp_add_array(struct rsm_resp_reply *r, long n)
{
    char buf[32];

    snprintf(buf, sizeof buf, "%ld", n < 0 ? -1L : n);
    resp__put_line(r, '*', buf);
}

void rsm_resp_add_raw(struct rsm_resp_reply *r, const void *buf, size_t len)
{
    resp__put(r, buf, len);
}

void rsm_resp_reply_close_after(struct rsm_resp_reply *r)
{
    r->close_after = true;
}

struct rsm_resp_client *rsm_resp_reply_client(const struct rsm_resp_reply *r)
{
    return r->client;
}

void resp__reply_complete(struct rsm_resp_reply *r)
{
    assert(!r->done);
    if (r->oom) {
        free(r->buf);
        r->buf = NULL;
        r->len = r->cap = 0;
        r->oom = false;
        rsm_resp_add_error(r, "ERR out of memory");
    }
    if (r->len == 0)
        rsm_resp_add_error(r, "ERR internal error: empty reply");
    r->done = true;
}
