/* resp_server.c - a generic RESP server on libuv (see resp_server.h). */
#include "rsm/resp_server.h"
#include "rsm/err.h"
#include "listener.h"
#include "rsm/log.h"

#include <hiredis/hiredis.h>

#include <inttypes.h>
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INLINE_MAX     (64 * 1024)  /* longest inline command line */
#define READ_CHUNK     (64 * 1024)  /* one socket read */
#define OUTPUT_PAUSE   (256 * 1024) /* stop reading requests above this */
#define LISTEN_BACKLOG 511

/* =====================================================================
 * Request parser
 *
 * Two framings share one input stream: a request starting with '*' is a
 * RESP array handed to a hiredis redisReader (with our own object
 * functions, which build an argv and enforce the limits); anything else is
 * an inline line parsed here. The reader owns the bytes given to it, so a
 * pipeline of arrays is parsed without copying; when an array request is
 * followed by an inline one in the same chunk, the leftover bytes are taken
 * back from the reader (its buf/pos/len fields are public in hiredis 0.14
 * and 1.x) and the reader is replaced.
 *
 * hiredis 1.x also reads RESP3 (double, bool, null, map, set, push, ...):
 * none of it is part of a request, and every such element is refused like
 * Redis refuses a non-bulk element: "expected '$', got '<type byte>'".
 * ===================================================================== */

/* One request as built by the reader's object functions. */
struct req_obj {
    int argc;
    char **argv;
    size_t *argvlen;
};

struct rsm_resp_parser {
    redisReader *reader;
    bool reader_active; /* reader holds unparsed bytes or a part */
    uint64_t fed;       /* bytes fed to the current reader */
    uint64_t mark;      /* value of `fed` where the current request
                           started */
    char *in;           /* bytes not (yet) given to the reader */
    size_t in_len, in_off, in_cap;
    size_t max_request;
    size_t max_inline;
    unsigned max_args;
    struct req_obj *cur; /* last request returned */
    int failed;          /* sticky error code, 0 if none */
    char reason[128];    /* set by the object functions */
    char failmsg[160];
};

static void req_free(struct req_obj *o)
{
    if (o == NULL)
        return;
    for (int i = 0; i < o->argc; i++)
        free(o->argv ? o->argv[i] : NULL);
    free(o->argv);
    free(o->argvlen);
    free(o);
}

static struct req_obj *req_alloc(int argc)
{
    struct req_obj *o = calloc(1, sizeof *o);
    size_t n = argc > 0 ? (size_t)argc : 1;

    if (o == NULL)
        return NULL;
    o->argc = argc;
    o->argv = calloc(n, sizeof *o->argv);
    o->argvlen = calloc(n, sizeof *o->argvlen);
    if (o->argv == NULL || o->argvlen == NULL) {
        req_free(o);
        return NULL;
    }
    return o;
}

static char type_char(int type)
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

static void *obj_reject(const redisReadTask *t, int type)
{
    struct rsm_resp_parser *p = t->privdata;

    snprintf(p->reason, sizeof p->reason,
             "Protocol error: expected '$', got "
             "'%c'",
             type_char(type));
    return NULL;
}

/* The element count createArray gets: an int in hiredis 0.14, a size_t in
 * 1.x (which refuses negative counts other than -1, the nil array, itself). */
#if HIREDIS_MAJOR >= 1
typedef size_t array_len;
#else
typedef int array_len;
#endif

/* Also called for RESP3 aggregates (map, set, attribute, push: t->type). */
static void *obj_array(const redisReadTask *t, array_len n)
{
    struct rsm_resp_parser *p = t->privdata;
    struct req_obj *o;

    if (t->parent != NULL || t->type != REDIS_REPLY_ARRAY)
        return obj_reject(t, t->type);
    if ((long long)n < 0 || (unsigned long long)n > p->max_args) {
        snprintf(p->reason, sizeof p->reason,
                 "Protocol error: invalid multibulk length");
        return NULL;
    }
    o = req_alloc(n);
    if (o == NULL)
        snprintf(p->reason, sizeof p->reason, "out of memory");
    return o;
}

static void *obj_string(const redisReadTask *t, char *s, size_t len)
{
    struct rsm_resp_parser *p = t->privdata;
    struct req_obj *o;
    char *copy;

    if (t->parent == NULL || t->type != REDIS_REPLY_STRING)
        return obj_reject(t, t->type);
    o = t->parent->obj;
    if (t->idx < 0 || t->idx >= o->argc)
        return obj_reject(t, t->type); /* cannot happen with hiredis */
    copy = malloc(len + 1);
    if (copy == NULL) {
        snprintf(p->reason, sizeof p->reason, "out of memory");
        return NULL;
    }
    memcpy(copy, s, len);
    copy[len] = '\0';
    o->argv[t->idx] = copy;
    o->argvlen[t->idx] = len;
    return copy;
}

static void *obj_integer(const redisReadTask *t, long long v)
{
    (void)v;
    return obj_reject(t, REDIS_REPLY_INTEGER);
}

/* "$-1" and "*-1"; in hiredis 1.x also RESP3's "_" (t->type NIL). */
static void *obj_nil(const redisReadTask *t)
{
    struct rsm_resp_parser *p = t->privdata;

    if (t->type == REDIS_REPLY_NIL)
        return obj_reject(t, t->type);
    if (t->parent == NULL) /* "*-1": an empty request */
        return req_alloc(0);
    snprintf(p->reason, sizeof p->reason,
             "Protocol error: invalid bulk length");
    return NULL;
}

/* Only root objects are ever freed by the reader; strings belong to it. */
static void obj_free(void *obj)
{
    req_free(obj);
}

#if HIREDIS_MAJOR >= 1
static void *obj_double(const redisReadTask *t, double d, char *s, size_t len)
{
    (void)d, (void)s, (void)len;
    return obj_reject(t, t->type);
}

static void *obj_bool(const redisReadTask *t, int b)
{
    (void)b;
    return obj_reject(t, t->type);
}
#endif

static redisReplyObjectFunctions request_functions = {
    .createString = obj_string,
    .createArray = obj_array,
    .createInteger = obj_integer,
    .createNil = obj_nil,
#if HIREDIS_MAJOR >= 1
    .createDouble = obj_double,
    .createBool = obj_bool,
#endif
    .freeObject = obj_free,
};

static int reader_new(struct rsm_resp_parser *p)
{
    redisReader *r = redisReaderCreateWithFunctions(&request_functions);

    if (r == NULL)
        return RSM_ENOMEM;
    r->privdata = p;
    if (p->reader != NULL)
        redisReaderFree(p->reader);
    p->reader = r;
    p->reader_active = false;
    p->fed = p->mark = 0;
    return 0;
}

int rsm_resp_parser_create(const struct rsm_resp_limits *limits,
                           struct rsm_resp_parser **out)
{
    struct rsm_resp_limits def;
    struct rsm_resp_parser *p;

    if (limits == NULL) {
        rsm_resp_limits_default(&def);
        limits = &def;
    }
    p = calloc(1, sizeof *p);
    if (p == NULL)
        return RSM_ENOMEM;
    p->max_request = limits->max_request_bytes;
    p->max_inline = p->max_request < INLINE_MAX ? p->max_request : INLINE_MAX;
    p->max_args = limits->max_args;
    if (reader_new(p) != 0) {
        free(p);
        return RSM_ENOMEM;
    }
    *out = p;
    return 0;
}

void rsm_resp_parser_free(struct rsm_resp_parser *p)
{
    if (p == NULL)
        return;
    req_free(p->cur);
    redisReaderFree(p->reader);
    free(p->in);
    free(p);
}

static int in_append(struct rsm_resp_parser *p, const char *buf, size_t len)
{
    if (p->in_off > 0 && p->in_off == p->in_len)
        p->in_off = p->in_len = 0;
    if (p->in_len + len > p->in_cap) {
        size_t cap = p->in_cap ? p->in_cap : 256;
        char *n;
        while (cap < p->in_len + len)
            cap *= 2;
        n = realloc(p->in, cap);
        if (n == NULL)
            return RSM_ENOMEM;
        p->in = n;
        p->in_cap = cap;
    }
    memcpy(p->in + p->in_len, buf, len);
    p->in_len += len;
    return 0;
}

static int reader_feed(struct rsm_resp_parser *p, const char *buf, size_t len)
{
    if (redisReaderFeed(p->reader, buf, len) != REDIS_OK)
        return RSM_ENOMEM;
    p->fed += len;
    p->reader_active = true;
    return 0;
}

int rsm_resp_parser_feed(struct rsm_resp_parser *p, const char *buf, size_t len)
{
    if (len == 0 || p->failed)
        return 0;
    /* The common case: no partial inline line, the next request is an
     * array: straight to the reader. */
    if (p->reader_active || (p->in_off == p->in_len && buf[0] == '*'))
        return reader_feed(p, buf, len);
    return in_append(p, buf, len);
}

static int fail(struct rsm_resp_parser *p, int code, char *errmsg,
                size_t errlen, const char *text)
{
    if (!p->failed) {
        p->failed = code;
        snprintf(p->failmsg, sizeof p->failmsg, "%s", text);
    }
    return rsm_errf(p->failed, errmsg, errlen, "%s", p->failmsg);
}

/* --- inline commands ------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
           c == '\f';
}

/* Decode one escape after a backslash inside double quotes; returns the
 * number of input bytes used after the backslash. */
static size_t unescape(const char *s, const char *end, char *out)
{
    if (s[0] == 'x' && end - s >= 3 && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
        *out = (char)(hexval(s[1]) * 16 + hexval(s[2]));
        return 3;
    }
    switch (s[0]) {
    case 'n':
        *out = '\n';
        break;
    case 'r':
        *out = '\r';
        break;
    case 't':
        *out = '\t';
        break;
    case 'b':
        *out = '\b';
        break;
    case 'a':
        *out = '\a';
        break;
    default:
        *out = s[0];
    }
    return 1;
}

/* Read one word starting at *sp (not a space) into word (room for the
 * whole line). Quotes: "..." with backslash escapes, '...' with \' only;
 * a closing quote must be followed by a space or the end. Returns the
 * length, or -1 for unbalanced quotes. */
static long inline_word(const char **sp, const char *end, char *word)
{
    const char *s = *sp;
    char q = (*s == '"' || *s == '\'') ? *s : 0;
    long n = 0;

    if (q)
        s++;
    for (;;) {
        if (s == end) {
            if (q)
                return -1;
            break;
        }
        if (!q && is_space(*s))
            break;
        if (q && *s == q) {
            s++;
            if (s != end && !is_space(*s))
                return -1;
            break;
        }
        if (q == '"' && *s == '\\' && s + 1 < end) {
            s += 1 + unescape(s + 1, end, &word[n++]);
        } else if (q == '\'' && *s == '\\' && s + 1 < end && s[1] == '\'') {
            word[n++] = '\'';
            s += 2;
        } else {
            word[n++] = *s++;
        }
    }
    *sp = s;
    return n;
}

/* Append one word to o (argv arrays grown by doubling). */
static int word_add(struct req_obj *o, int *cap, const char *w, size_t n)
{
    if (o->argc == *cap) {
        int ncap = *cap ? *cap * 2 : 8;
        char **av = realloc(o->argv, (size_t)ncap * sizeof *av);
        size_t *al;
        if (av == NULL)
            return RSM_ENOMEM;
        o->argv = av;
        al = realloc(o->argvlen, (size_t)ncap * sizeof *al);
        if (al == NULL)
            return RSM_ENOMEM;
        o->argvlen = al;
        *cap = ncap;
    }
    o->argv[o->argc] = malloc(n + 1);
    if (o->argv[o->argc] == NULL)
        return RSM_ENOMEM;
    memcpy(o->argv[o->argc], w, n);
    o->argv[o->argc][n] = '\0';
    o->argvlen[o->argc++] = n;
    return 0;
}

/* Split one line into a request. 0, RSM_EPROTO (quotes), RSM_ERANGE
 * (too many arguments) or RSM_ENOMEM. */
static int inline_split(struct rsm_resp_parser *p, const char *s, size_t len,
                        struct req_obj **out)
{
    const char *end = s + len;
    char *word = malloc(len + 1);
    struct req_obj *o = calloc(1, sizeof *o);
    int cap = 0, rv = RSM_ENOMEM;

    if (word == NULL || o == NULL)
        goto err;
    for (;;) {
        long n;
        while (s < end && is_space(*s))
            s++;
        if (s == end)
            break;
        if ((unsigned)o->argc >= p->max_args) {
            rv = RSM_ERANGE;
            goto err;
        }
        n = inline_word(&s, end, word);
        if (n < 0) {
            rv = RSM_EPROTO;
            goto err;
        }
        rv = word_add(o, &cap, word, (size_t)n);
        if (rv != 0)
            goto err;
    }
    free(word);
    *out = o;
    return 0;
err:
    free(word);
    req_free(o);
    return rv;
}

/* The parser is at a request boundary with an inline line starting at
 * in[in_off]. */
static int next_inline(struct rsm_resp_parser *p, struct req_obj **out,
                       char *errmsg, size_t errlen)
{
    const char *start = p->in + p->in_off;
    size_t avail = p->in_len - p->in_off, n;
    const char *nl = memchr(start, '\n', avail);
    int rv;

    if (nl == NULL) {
        if (avail > p->max_inline)
            return fail(p, RSM_ERANGE, errmsg, errlen,
                        "Protocol error: too big inline request");
        if (p->in_off > 0) { /* keep the partial line at the start */
            memmove(p->in, start, avail);
            p->in_off = 0;
            p->in_len = avail;
        }
        return RSM_ETRUNC;
    }
    n = (size_t)(nl - start);
    if (n > p->max_inline)
        return fail(p, RSM_ERANGE, errmsg, errlen,
                    "Protocol error: too big inline request");
    p->in_off += n + 1;
    rv = inline_split(p, start, n, out);
    if (rv == RSM_EPROTO)
        return fail(p, rv, errmsg, errlen,
                    "Protocol error: unbalanced quotes in request");
    if (rv == RSM_ERANGE)
        return fail(p, rv, errmsg, errlen,
                    "Protocol error: invalid multibulk length");
    if (rv != 0)
        return fail(p, rv, errmsg, errlen, "out of memory");
    return 0;
}

/* --- array requests through the reader ------------------------------- */

/* After a complete request: bytes left that start an inline command go
 * back to `in` and the reader is replaced. */
static int after_reply(struct rsm_resp_parser *p)
{
    redisReader *r = p->reader;
    size_t left = r->len - r->pos;

    p->mark = p->fed - left;
    if (left == 0) {
        p->reader_active = false;
        return 0;
    }
    if (r->buf[r->pos] == '*')
        return 0;
    if (in_append(p, r->buf + r->pos, left) != 0)
        return RSM_ENOMEM;
    return reader_new(p);
}

static int next_array(struct rsm_resp_parser *p, struct req_obj **out,
                      char *errmsg, size_t errlen)
{
    uint64_t start = p->mark, size;
    void *obj = NULL;
    char text[160];

    p->reason[0] = '\0';
    if (redisReaderGetReply(p->reader, &obj) != REDIS_OK) {
        if (p->reason[0] != '\0')
            snprintf(text, sizeof text, "%s", p->reason);
        else
            snprintf(text, sizeof text, "Protocol error: %s",
                     p->reader->errstr);
        return fail(p, RSM_EPROTO, errmsg, errlen, text);
    }
    /* Bytes of this request so far: everything fed since it started,
     * minus what the reader has not consumed if it is complete. */
    size = p->fed - start;
    if (obj != NULL)
        size -= p->reader->len - p->reader->pos;
    if (size > p->max_request) {
        req_free(obj);
        snprintf(text, sizeof text,
                 "Protocol error: request larger than %zu bytes",
                 p->max_request);
        return fail(p, RSM_ERANGE, errmsg, errlen, text);
    }
    if (obj == NULL)
        return RSM_ETRUNC;
    if (after_reply(p) != 0) {
        req_free(obj);
        return fail(p, RSM_ENOMEM, errmsg, errlen, "out of memory");
    }
    *out = obj;
    return 0;
}

int rsm_resp_parser_next(struct rsm_resp_parser *p,
                         struct rsm_resp_request *req, char *errmsg,
                         size_t errlen)
{
    struct req_obj *o;
    int rv;

    req_free(p->cur);
    p->cur = NULL;
    for (;;) {
        if (p->failed)
            return fail(p, p->failed, errmsg, errlen, "");
        o = NULL;
        if (p->reader_active) {
            rv = next_array(p, &o, errmsg, errlen);
        } else if (p->in_off == p->in_len) {
            p->in_off = p->in_len = 0;
            return RSM_ETRUNC;
        } else if (p->in[p->in_off] == '*') {
            /* An array after an inline line: hand the rest over. */
            rv = reader_feed(p, p->in + p->in_off, p->in_len - p->in_off);
            if (rv != 0)
                return fail(p, rv, errmsg, errlen, "out of memory");
            p->in_off = p->in_len = 0;
            continue;
        } else {
            rv = next_inline(p, &o, errmsg, errlen);
        }
        if (rv != 0)
            return rv;
        if (o->argc == 0) { /* "*0", "*-1", blank line: skipped */
            req_free(o);
            continue;
        }
        p->cur = o;
        req->argc = o->argc;
        req->argv = o->argv;
        req->argvlen = o->argvlen;
        return 0;
    }
}

/* =====================================================================
 * Server and clients
 * ===================================================================== */

struct rsm_resp_reply {
    struct rsm_resp_reply *next;
    struct rsm_resp_client *client; /* NULL once orphaned */
    char *buf;
    size_t len, cap;
    bool done;
    bool oom;
    bool close_after;
};

struct rsm_resp_client {
    struct rsm_listener_conn sock; /* sock.tcp.data is the client */
    struct rsm_resp_server *srv;
    struct rsm_resp_parser *parser;
    struct rsm_resp_reply *head, *tail; /* replies not yet written */
    unsigned n_pending;
    unsigned writes; /* uv_write requests in flight */
    bool reading;
    bool in_process;    /* guards process() against re-entry */
    bool draining;      /* no more requests are read */
    bool close_written; /* a closing reply is queued: close when every
                           write is done */
    bool closing;
    bool idle_exempt;
    size_t output_limit;  /* 0: the server's max_output_bytes */
    uint64_t last_active; /* uv_now() of the last read */
    void *data;
};

struct rsm_resp_server {
    uv_loop_t *loop;
    struct rsm_listener listener; /* and its set of clients */
    uv_timer_t idle_timer;
    bool idle_timer_on;
    struct rsm_resp_limits limits;
    struct rsm_resp_handlers h;
    unsigned open_handles; /* listener + timer not yet closed */
    bool stopping;
    rsm_resp_server_stop_cb stop_cb;
    void *stop_arg;
    char rbuf[READ_CHUNK];
};

/* One uv_write of the bytes of one or more replies. */
struct out_write {
    uv_write_t req;
    struct rsm_resp_client *c;
    size_t len;
    char data[];
};

void rsm_resp_limits_default(struct rsm_resp_limits *l)
{
    l->max_request_bytes = 1024 * 1024;
    l->max_args = 1024;
    l->max_clients = 1000;
    l->max_output_bytes = 32 * 1024 * 1024;
    l->max_pending = 1024;
    l->idle_timeout_ms = 0;
}

static void process(struct rsm_resp_client *c);
static void client_close(struct rsm_resp_client *c);

/* --- replies --------------------------------------------------------- */

static struct rsm_resp_reply *reply_new(struct rsm_resp_client *c)
{
    struct rsm_resp_reply *r = calloc(1, sizeof *r);

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

static void reply_free(struct rsm_resp_reply *r)
{
    free(r->buf);
    free(r);
}

static bool reserve(struct rsm_resp_reply *r, size_t extra)
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

static void put(struct rsm_resp_reply *r, const void *buf, size_t len)
{
    if (!reserve(r, len))
        return;
    memcpy(r->buf + r->len, buf, len);
    r->len += len;
}

/* A type byte, text without CR/LF, CRLF. */
static void put_line(struct rsm_resp_reply *r, char type, const char *text)
{
    size_t n = strlen(text);

    if (!reserve(r, n + 3))
        return;
    r->buf[r->len++] = type;
    for (size_t i = 0; i < n; i++)
        r->buf[r->len++] = (text[i] == '\r' || text[i] == '\n') ? ' ' : text[i];
    r->buf[r->len++] = '\r';
    r->buf[r->len++] = '\n';
}

void rsm_resp_add_status(struct rsm_resp_reply *r, const char *text)
{
    put_line(r, '+', text);
}

void rsm_resp_add_error(struct rsm_resp_reply *r, const char *text)
{
    put_line(r, '-', text);
}

void rsm_resp_add_errorf(struct rsm_resp_reply *r, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    put_line(r, '-', buf);
}

void rsm_resp_add_int(struct rsm_resp_reply *r, long long n)
{
    char buf[32];

    snprintf(buf, sizeof buf, "%lld", n);
    put_line(r, ':', buf);
}

void rsm_resp_add_bulk(struct rsm_resp_reply *r, const void *buf, size_t len)
{
    char hdr[32];
    int n = snprintf(hdr, sizeof hdr, "$%zu\r\n", len);

    if (!reserve(r, (size_t)n + len + 2))
        return;
    put(r, hdr, (size_t)n);
    put(r, buf, len);
    put(r, "\r\n", 2);
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
    put(r, "$-1\r\n", 5);
}

void rsm_resp_add_array(struct rsm_resp_reply *r, long n)
{
    char buf[32];

    snprintf(buf, sizeof buf, "%ld", n < 0 ? -1L : n);
    put_line(r, '*', buf);
}

void rsm_resp_add_raw(struct rsm_resp_reply *r, const void *buf, size_t len)
{
    put(r, buf, len);
}

void rsm_resp_reply_close_after(struct rsm_resp_reply *r)
{
    r->close_after = true;
}

struct rsm_resp_client *rsm_resp_reply_client(const struct rsm_resp_reply *r)
{
    return r->client;
}

/* --- output ---------------------------------------------------------- */

static void on_write(uv_write_t *req, int status)
{
    struct out_write *w = (struct out_write *)req;
    struct rsm_resp_client *c = w->c;

    c->writes--;
    free(w);
    if (c->closing)
        return;
    if (status < 0) {
        rsm_log(RSM_LOG_DEBUG, "api-client-write-failed", "peer=%s err=%s",
                c->sock.peer, uv_strerror(status));
        client_close(c);
        return;
    }
    if (c->close_written && c->writes == 0) {
        client_close(c);
        return;
    }
    process(c);
}

/* Write every complete reply at the head of the queue, in one uv_write. */
static void flush(struct rsm_resp_client *c)
{
    struct rsm_resp_reply *r;
    struct out_write *w;
    size_t total = 0, off = 0;
    uv_buf_t b;

    if (c->closing || c->close_written || c->head == NULL || !c->head->done)
        return;
    for (r = c->head; r != NULL && r->done; r = r->next)
        total += r->len;
    w = malloc(sizeof *w + total);
    if (w == NULL) {
        client_close(c);
        return;
    }
    while (c->head != NULL && c->head->done && !c->close_written) {
        r = c->head;
        memcpy(w->data + off, r->buf, r->len);
        off += r->len;
        c->head = r->next;
        if (c->head == NULL)
            c->tail = NULL;
        c->n_pending--;
        if (r->close_after) /* nothing after a closing reply is sent */
            c->draining = c->close_written = true;
        reply_free(r);
    }
    w->c = c;
    w->len = off;
    b = uv_buf_init(w->data, (unsigned)off);
    if (c->writes == 0) {
        /* Nothing queued: write now. Most replies leave at once, which
         * spares libuv's write request and the epoll changes it makes. */
        int n = uv_try_write((uv_stream_t *)&c->sock.tcp, &b, 1);
        if (n == (int)off) {
            free(w);
            if (c->close_written)
                client_close(c);
            return;
        }
        if (n < 0 && n != UV_EAGAIN && n != UV_ENOSYS) {
            free(w);
            client_close(c);
            return;
        }
        if (n > 0)
            b = uv_buf_init(w->data + n, (unsigned)(off - (size_t)n));
    }
    if (uv_write(&w->req, (uv_stream_t *)&c->sock.tcp, &b, 1, on_write) != 0) {
        free(w);
        client_close(c);
        return;
    }
    c->writes++;
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->sock.tcp) >
        (c->output_limit ? c->output_limit : c->srv->limits.max_output_bytes)) {
        rsm_log(RSM_LOG_WARN, "api-client-dropped",
                "peer=%s reason=output-limit", c->sock.peer);
        client_close(c);
    }
}

/* Mark r complete; an empty reply would leave the client waiting forever,
 * so it becomes an error (a handler bug, but not a hang). */
static void reply_complete(struct rsm_resp_reply *r)
{
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

void rsm_resp_reply_end(struct rsm_resp_reply *r)
{
    struct rsm_resp_client *c = r->client;

    if (c == NULL) {
        reply_free(r);
        return;
    }
    reply_complete(r);
    if (r->len == 0 || r->oom) { /* even the error could not be built */
        client_close(c);
        return;
    }
    flush(c);
    process(c);
}

struct rsm_resp_reply *rsm_resp_client_push(struct rsm_resp_client *c)
{
    if (c->closing || c->draining)
        return NULL;
    return reply_new(c);
}

/* --- input ----------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct rsm_resp_client *c = h->data;

    (void)hint;
    *buf = uv_buf_init(c->srv->rbuf, sizeof c->srv->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct rsm_resp_client *c = s->data;

    if (nread == 0)
        return;
    if (nread < 0) {
        if (nread != UV_EOF)
            rsm_log(RSM_LOG_DEBUG, "api-client-read-failed", "peer=%s err=%s",
                    c->sock.peer, uv_strerror((int)nread));
        client_close(c);
        return;
    }
    c->last_active = uv_now(c->srv->loop);
    if (rsm_resp_parser_feed(c->parser, buf->base, (size_t)nread) != 0) {
        client_close(c);
        return;
    }
    process(c);
}

static bool may_take_requests(const struct rsm_resp_client *c)
{
    return !c->closing && !c->draining &&
           c->n_pending < c->srv->limits.max_pending &&
           uv_stream_get_write_queue_size((const uv_stream_t *)&c->sock.tcp) <=
               OUTPUT_PAUSE;
}

static void update_reading(struct rsm_resp_client *c)
{
    bool want = may_take_requests(c);

    if (c->closing || want == c->reading)
        return;
    if (want) {
        if (uv_read_start((uv_stream_t *)&c->sock.tcp, on_alloc, on_read) !=
            0) {
            client_close(c);
            return;
        }
    } else {
        uv_read_stop((uv_stream_t *)&c->sock.tcp);
    }
    c->reading = want;
}

/* A request the parser refused: answer the error, then close. */
static void protocol_error(struct rsm_resp_client *c, const char *msg)
{
    struct rsm_resp_reply *r = reply_new(c);

    rsm_log(RSM_LOG_DEBUG, "api-client-protocol-error", "peer=%s",
            c->sock.peer);
    if (r == NULL) {
        client_close(c);
        return;
    }
    rsm_resp_add_errorf(r, "ERR %s", msg);
    r->close_after = true;
    reply_complete(r);
    c->draining = true;
    flush(c);
}

static void dispatch(struct rsm_resp_client *c,
                     const struct rsm_resp_request *req)
{
    struct rsm_resp_server *s = c->srv;
    struct rsm_resp_reply *r = reply_new(c);

    if (r == NULL) {
        client_close(c);
        return;
    }
    if (s->h.on_request(s->h.arg, c, r, req) == RSM_RESP_DONE) {
        if (r->client == NULL) { /* client closed by the handler */
            reply_free(r);
            return;
        }
        reply_complete(r);
    }
    flush(c);
}

/* Answer every complete request while the client may take more. */
static void process(struct rsm_resp_client *c)
{
    struct rsm_resp_request req;
    char err[RSM_ERRMSG_SIZE];
    int rv;

    if (c->in_process || c->closing)
        return;
    c->in_process = true;
    while (may_take_requests(c)) {
        rv = rsm_resp_parser_next(c->parser, &req, err, sizeof err);
        if (rv == RSM_ETRUNC)
            break;
        if (rv != 0) {
            protocol_error(c, err);
            break;
        }
        dispatch(c, &req);
    }
    c->in_process = false;
    if (c->close_written && c->writes == 0)
        client_close(c);
    else
        update_reading(c);
}

/* --- client lifecycle ------------------------------------------------ */

static void server_maybe_free(struct rsm_resp_server *s)
{
    if (!s->stopping || s->open_handles > 0 ||
        rsm_listener_conns(&s->listener) > 0)
        return;
    if (s->stop_cb)
        s->stop_cb(s->stop_arg);
    free(s);
}

static void on_client_closed(uv_handle_t *h)
{
    struct rsm_resp_client *c = h->data;
    struct rsm_resp_server *s = c->srv;

    rsm_listener_release(&s->listener, &c->sock);
    rsm_resp_parser_free(c->parser);
    free(c);
    server_maybe_free(s);
}

/* Replies already complete are ours to free; pending ones belong to their
 * handler and become orphans. */
static void orphan_replies(struct rsm_resp_client *c)
{
    struct rsm_resp_reply *r = c->head, *next;

    for (; r != NULL; r = next) {
        next = r->next;
        r->next = NULL;
        if (r->done)
            reply_free(r);
        else
            r->client = NULL;
    }
    c->head = c->tail = NULL;
    c->n_pending = 0;
}

static void client_close(struct rsm_resp_client *c)
{
    struct rsm_resp_server *s = c->srv;

    if (c->closing)
        return;
    c->closing = true;
    if (s->h.on_close)
        s->h.on_close(s->h.arg, c);
    orphan_replies(c);
    uv_close((uv_handle_t *)&c->sock.tcp, on_client_closed);
}

void rsm_resp_client_close(struct rsm_resp_client *c)
{
    client_close(c);
}

/* Beyond max_clients (the listener has logged it): one error reply, then
 * close. */
static void refuse(struct rsm_resp_client *c)
{
    struct rsm_resp_reply *r = reply_new(c);

    if (r == NULL) {
        client_close(c);
        return;
    }
    rsm_resp_add_error(r, "ERR max number of clients reached");
    r->close_after = true;
    reply_complete(r);
    c->draining = true;
    flush(c);
}

static void on_connection(void *arg, struct rsm_listener *l)
{
    struct rsm_resp_server *s = arg;
    struct rsm_resp_client *c;
    int rv;

    c = calloc(1, sizeof *c);
    if (c == NULL)
        return; /* the connection stays in the backlog */
    if (rsm_resp_parser_create(&s->limits, &c->parser) != 0) {
        free(c);
        return;
    }
    c->srv = s;
    rv = rsm_listener_accept(l, &c->sock, c);
    if (rv == RSM_EIO) {
        c->closing = true; /* never connected: no on_close */
        uv_close((uv_handle_t *)&c->sock.tcp, on_client_closed);
        return;
    }
    c->last_active = uv_now(s->loop);
    if (rv == RSM_EBUSY) {
        refuse(c);
        return;
    }
    if (s->h.on_connect)
        s->h.on_connect(s->h.arg, c);
    update_reading(c);
}

void rsm_resp_client_set_data(struct rsm_resp_client *c, void *data)
{
    c->data = data;
}

void *rsm_resp_client_data(const struct rsm_resp_client *c)
{
    return c->data;
}

const char *rsm_resp_client_peer(const struct rsm_resp_client *c)
{
    return c->sock.peer;
}

void rsm_resp_client_set_idle_exempt(struct rsm_resp_client *c, bool on)
{
    c->idle_exempt = on;
}

void rsm_resp_client_set_output_limit(struct rsm_resp_client *c,
                                      size_t max_bytes)
{
    c->output_limit = max_bytes;
}

/* --- idle timeout ---------------------------------------------------- */

static void on_idle_timer(uv_timer_t *t)
{
    struct rsm_resp_server *s = t->data;
    uint64_t now = uv_now(s->loop);
    struct rsm_listener_conn *k;

    for (k = rsm_listener_first(&s->listener); k != NULL; k = k->next) {
        struct rsm_resp_client *c = k->tcp.data;
        if (c->closing || c->idle_exempt || c->n_pending > 0)
            continue;
        if (now - c->last_active >= s->limits.idle_timeout_ms) {
            rsm_log(RSM_LOG_DEBUG, "api-client-idle-closed", "peer=%s",
                    c->sock.peer);
            client_close(c);
        }
    }
}

/* --- listening ------------------------------------------------------- */

static void on_listener_closed(void *arg)
{
    struct rsm_resp_server *s = arg;

    s->open_handles--;
    server_maybe_free(s);
}

static void on_timer_closed(uv_handle_t *h)
{
    on_listener_closed(h->data);
}

int rsm_resp_server_start(uv_loop_t *loop, const struct rsm_addr *bind,
                          const struct rsm_resp_limits *limits,
                          const struct rsm_resp_handlers *handlers,
                          struct rsm_resp_server **out, char *errmsg,
                          size_t errlen)
{
    struct rsm_listener_config lc;
    struct rsm_resp_server *s;
    int rv;

    assert(handlers != NULL && handlers->on_request != NULL);
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return rsm_errf(RSM_ENOMEM, errmsg, errlen, "out of memory");
    s->loop = loop;
    s->h = *handlers;
    if (limits)
        s->limits = *limits;
    else
        rsm_resp_limits_default(&s->limits);
    lc.bind = bind;
    lc.backlog = LISTEN_BACKLOG;
    lc.max_conns = s->limits.max_clients;
    lc.log_prefix = "api";
    rv = rsm_listener_start(&s->listener, loop, &lc, on_connection, s, errmsg,
                            errlen);
    if (rv != 0) {
        free(s);
        return rv;
    }
    s->open_handles = 1;
    if (s->limits.idle_timeout_ms > 0) {
        uint64_t every =
            s->limits.idle_timeout_ms < 1000 ? s->limits.idle_timeout_ms : 1000;
        uv_timer_init(loop, &s->idle_timer);
        s->idle_timer.data = s;
        s->idle_timer_on = true;
        s->open_handles++;
        uv_timer_start(&s->idle_timer, on_idle_timer, every, every);
    }
    *out = s;
    return 0;
}

uint16_t rsm_resp_server_port(const struct rsm_resp_server *s)
{
    return rsm_listener_port(&s->listener);
}

unsigned rsm_resp_server_clients(const struct rsm_resp_server *s)
{
    return rsm_listener_conns(&s->listener);
}

void rsm_resp_server_stop(struct rsm_resp_server *s, rsm_resp_server_stop_cb cb,
                          void *arg)
{
    struct rsm_listener_conn *k;

    assert(!s->stopping);
    s->stopping = true;
    s->stop_cb = cb;
    s->stop_arg = arg;
    rsm_listener_close(&s->listener, on_listener_closed, s);
    if (s->idle_timer_on)
        uv_close((uv_handle_t *)&s->idle_timer, on_timer_closed);
    for (k = rsm_listener_first(&s->listener); k != NULL; k = k->next)
        client_close(k->tcp.data);
}
