/* resp_reader.c - requests as objects, and hiredis's redisReader with our
 * own object functions, which build a request's argv and enforce the
 * limits (see resp_reader.h for why this is the only file that knows
 * hiredis's reader).
 *
 * What is used of hiredis, the same in 0.14 and 1.x: redisReaderCreate-
 * WithFunctions, redisReaderFeed, redisReaderGetReply, redisReaderFree,
 * redisReaderGetError, the redisReadTask given to the object functions
 * (type, idx, obj, parent, privdata), and the reader's privdata, buf, pos
 * and len fields (resp__reader_new, resp__reader_unread). The table of
 * object functions is filled by name, never by position; what 1.x adds
 * (createDouble, createBool, the RESP3 types, a size_t element count) is
 * compiled only there (HIREDIS_MAJOR).
 *
 * hiredis 1.x also reads RESP3 (double, bool, null, map, set, push, ...):
 * none of it is part of a request, and every such element is refused like
 * Redis refuses a non-bulk element: "expected '$', got '<type byte>'". */
#include "resp_reader.h"
#include "rsm/err.h"

#include <hiredis/hiredis.h>

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct resp_reader {
    redisReader *r;
    unsigned max_args;
    char reason[128]; /* set by the object functions */
};

void resp__req_free(struct resp_req *o)
{
    if (o == NULL)
        return;
    for (int i = 0; i < o->argc; i++)
        free(o->argv ? o->argv[i] : NULL);
    free(o->argv);
    free(o->argvlen);
    free(o);
}

struct resp_req *resp__req_alloc(int argc)
{
    struct resp_req *o = calloc(1, sizeof *o);
    size_t n = argc > 0 ? (size_t)argc : 1;

    if (o == NULL)
        return NULL;
    o->argc = argc;
    o->argv = calloc(n, sizeof *o->argv);
    o->argvlen = calloc(n, sizeof *o->argvlen);
    if (o->argv == NULL || o->argvlen == NULL) {
        resp__req_free(o);
        return NULL;
    }
    return o;
}

static char resp__type_char(int type)
{
    switch (type) {
    case REDIS_REPLY_STATUS:
        return '+';
    case REDIS_REPLY_ERROR:
        return '-';
    case REDIS_REPLY_INTEGER:
        return ':';
    case REDIS_REPLY_ARRAY:
        return '*';
#if HIREDIS_MAJOR >= 1
    case REDIS_REPLY_DOUBLE:
        return ',';
    case REDIS_REPLY_BOOL:
        return '#';
    case REDIS_REPLY_NIL:
        return '_';
    case REDIS_REPLY_MAP:
        return '%';
    case REDIS_REPLY_SET:
        return '~';
    case REDIS_REPLY_ATTR:
        return '|';
    case REDIS_REPLY_PUSH:
        return '>';
    case REDIS_REPLY_BIGNUM:
        return '(';
    case REDIS_REPLY_VERB:
        return '=';
#endif
    default:
        return '?';
    }
}

static void *resp__obj_reject(const redisReadTask *t, int type)
{
    struct resp_reader *rd = t->privdata;

    snprintf(rd->reason, sizeof rd->reason,
             "Protocol error: expected '$', got "
             "'%c'",
             resp__type_char(type));
    return NULL;
}

/* The element count createArray gets: an int in hiredis 0.14, a size_t in
 * 1.x (which refuses negative counts other than -1, the nil array, itself). */
#if HIREDIS_MAJOR >= 1
typedef size_t resp_array_len;
#else
typedef int resp_array_len;
#endif

/* Also called for RESP3 aggregates (map, set, attribute, push: t->type). */
static void *resp__obj_array(const redisReadTask *t, resp_array_len n)
{
    struct resp_reader *rd = t->privdata;
    struct resp_req *o;

    if (t->parent != NULL || t->type != REDIS_REPLY_ARRAY)
        return resp__obj_reject(t, t->type);
    if ((long long)n < 0 || (unsigned long long)n > rd->max_args) {
        snprintf(rd->reason, sizeof rd->reason,
                 "Protocol error: invalid multibulk length");
        return NULL;
    }
    o = resp__req_alloc(n);
    if (o == NULL)
        snprintf(rd->reason, sizeof rd->reason, "out of memory");
    return o;
}

static void *resp__obj_string(const redisReadTask *t, char *s, size_t len)
{
    struct resp_reader *rd = t->privdata;
    struct resp_req *o;
    char *copy;

    if (t->parent == NULL || t->type != REDIS_REPLY_STRING)
        return resp__obj_reject(t, t->type);
    o = t->parent->obj;
    if (t->idx < 0 || t->idx >= o->argc)
        return resp__obj_reject(t, t->type); /* cannot happen with hiredis */
    copy = malloc(len + 1);
    if (copy == NULL) {
        snprintf(rd->reason, sizeof rd->reason, "out of memory");
        return NULL;
    }
    memcpy(copy, s, len);
    copy[len] = '\0';
    o->argv[t->idx] = copy;
    o->argvlen[t->idx] = len;
    return copy;
}

static void *resp__obj_integer(const redisReadTask *t, long long v)
{
    (void)v;
    return resp__obj_reject(t, REDIS_REPLY_INTEGER);
}

/* "$-1" and "*-1"; in hiredis 1.x also RESP3's "_" (t->type NIL). */
static void *resp__obj_nil(const redisReadTask *t)
{
    struct resp_reader *rd = t->privdata;

    if (t->type == REDIS_REPLY_NIL)
        return resp__obj_reject(t, t->type);
    if (t->parent == NULL) /* "*-1": an empty request */
        return resp__req_alloc(0);
    snprintf(rd->reason, sizeof rd->reason,
             "Protocol error: invalid bulk length");
    return NULL;
}

/* Only root objects are ever freed by the reader; strings belong to it. */
static void resp__obj_free(void *obj)
{
    resp__req_free(obj);
}

#if HIREDIS_MAJOR >= 1
static void *resp__obj_double(const redisReadTask *t, double d, char *s,
                              size_t len)
{
    (void)d, (void)s, (void)len;
    return resp__obj_reject(t, t->type);
}

static void *resp__obj_bool(const redisReadTask *t, int b)
{
    (void)b;
    return resp__obj_reject(t, t->type);
}
#endif

static redisReplyObjectFunctions resp__request_functions = {
    .createString = resp__obj_string,
    .createArray = resp__obj_array,
    .createInteger = resp__obj_integer,
    .createNil = resp__obj_nil,
#if HIREDIS_MAJOR >= 1
    .createDouble = resp__obj_double,
    .createBool = resp__obj_bool,
#endif
    .freeObject = resp__obj_free,
};

struct resp_reader *resp__reader_new(unsigned max_args)
{
    struct resp_reader *rd = calloc(1, sizeof *rd);

    if (rd == NULL)
        return NULL;
    rd->r = redisReaderCreateWithFunctions(&resp__request_functions);
    if (rd->r == NULL) {
        free(rd);
        return NULL;
    }
    rd->r->privdata = rd;
    rd->max_args = max_args;
    return rd;
}

void resp__reader_free(struct resp_reader *rd)
{
    if (rd == NULL)
        return;
    redisReaderFree(rd->r);
    free(rd);
}

int resp__reader_feed(struct resp_reader *rd, const char *buf, size_t len)
{
    if (redisReaderFeed(rd->r, buf, len) != REDIS_OK)
        return RSM_ENOMEM;
    return 0;
}

int resp__reader_next(struct resp_reader *rd, struct resp_req **out, char *msg,
                      size_t len)
{
    void *obj = NULL;

    rd->reason[0] = '\0';
    if (redisReaderGetReply(rd->r, &obj) != REDIS_OK) {
        if (rd->reason[0] != '\0')
            snprintf(msg, len, "%s", rd->reason);
        else
            snprintf(msg, len, "Protocol error: %s",
                     redisReaderGetError(rd->r));
        return RSM_EPROTO;
    }
    *out = obj;
    return 0;
}

size_t resp__reader_unread(const struct resp_reader *rd, const char **bytes)
{
    const redisReader *r = rd->r;

    assert(r->pos <= r->len);
    if (bytes != NULL)
        *bytes = r->buf + r->pos;
    return r->len - r->pos;
}
