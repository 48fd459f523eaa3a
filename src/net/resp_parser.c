/* resp_parser.c - the request parser of the RESP server (see
 * resp_server.h): bytes in, requests out, no sockets.
 *
 * Two framings share one input stream: a request starting with '*' is a
 * RESP array handed to the reader of resp_reader.h (hiredis's redisReader
 * with object functions of our own, which build an argv and enforce the
 * limits); anything else is an inline line parsed here. The reader owns
 * the bytes given to it, so a pipeline of arrays is parsed without
 * copying; when an array request is followed by an inline one in the same
 * chunk, the leftover bytes are taken back from the reader
 * (resp__reader_unread) and the reader is replaced. */
#include "rsm/resp_server.h"
#include "rsm/err.h"
#include "hexval.h"
#include "bytebuf.h"
#include "resp_reader.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INLINE_MAX (64 * 1024) /* longest inline command line */

struct rsm_resp_parser {
    struct resp_reader *reader;
    bool reader_active;    /* reader holds unparsed bytes or a part */
    uint64_t fed;          /* bytes fed to the current reader */
    uint64_t mark;         /* value of `fed` where the current request
                              started */
    struct rsm_bytebuf in; /* bytes not (yet) given to the reader */
    size_t in_off;
    size_t max_request;
    size_t max_inline;
    unsigned max_args;
    struct resp_req *cur; /* last request returned */
    int failed;           /* sticky error code, 0 if none */
    char failmsg[160];
};

/* A fresh reader in place of the current one (if any). */
static int resp__reader_replace(struct rsm_resp_parser *p)
{
    struct resp_reader *rd = resp__reader_new(p->max_args);

    if (rd == NULL)
        return RSM_ENOMEM;
    resp__reader_free(p->reader);
    p->reader = rd;
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
    if (resp__reader_replace(p) != 0) {
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
    resp__req_free(p->cur);
    resp__reader_free(p->reader);
    free(p->in.data);
    free(p);
}

static int resp__in_append(struct rsm_resp_parser *p, const char *buf,
                           size_t len)
{
    if (p->in_off > 0 && p->in_off == p->in.len)
        p->in_off = p->in.len = 0;
    return rsm_bytebuf_put(&p->in, 256, buf, len);
}

/* Bytes for the reader, counted (p->fed) for the request size limit. */
static int resp__feed_reader(struct rsm_resp_parser *p, const char *buf,
                             size_t len)
{
    if (resp__reader_feed(p->reader, buf, len) != 0)
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
    if (p->reader_active || (p->in_off == p->in.len && buf[0] == '*'))
        return resp__feed_reader(p, buf, len);
    return resp__in_append(p, buf, len);
}

static int resp__fail(struct rsm_resp_parser *p, int code, char *errmsg,
                      size_t errlen, const char *text)
{
    if (!p->failed) {
        p->failed = code;
        snprintf(p->failmsg, sizeof p->failmsg, "%s", text);
    }
    return rsm_errf(p->failed, errmsg, errlen, "%s", p->failmsg);
}

/* --- inline commands ------------------------------------------------- */
static bool resp__is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
           c == '\f';
}

/* Decode one escape after a backslash inside double quotes; returns the
 * number of input bytes used after the backslash. */
static size_t resp__unescape(const char *s, const char *end, char *out)
{
    if (s[0] == 'x' && end - s >= 3 && net__hexval(s[1]) >= 0 &&
        net__hexval(s[2]) >= 0) {
        *out = (char)(net__hexval(s[1]) * 16 + net__hexval(s[2]));
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
static long resp__inline_word(const char **sp, const char *end, char *word)
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
        if (!q && resp__is_space(*s))
            break;
        if (q && *s == q) {
            s++;
            if (s != end && !resp__is_space(*s))
                return -1;
            break;
        }
        if (q == '"' && *s == '\\' && s + 1 < end) {
            s += 1 + resp__unescape(s + 1, end, &word[n++]);
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
static int resp__word_add(struct resp_req *o, int *cap, const char *w, size_t n)
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
static int resp__inline_split(struct rsm_resp_parser *p, const char *s,
                              size_t len, struct resp_req **out)
{
    const char *end = s + len;
    char *word = malloc(len + 1);
    struct resp_req *o = calloc(1, sizeof *o);
    int cap = 0, rv = RSM_ENOMEM;

    if (word == NULL || o == NULL)
        goto err;
    for (;;) {
        long n;
        while (s < end && resp__is_space(*s))
            s++;
        if (s == end)
            break;
        if ((unsigned)o->argc >= p->max_args) {
            rv = RSM_ERANGE;
            goto err;
        }
        n = resp__inline_word(&s, end, word);
        if (n < 0) {
            rv = RSM_EPROTO;
            goto err;
        }
        rv = resp__word_add(o, &cap, word, (size_t)n);
        if (rv != 0)
            goto err;
    }
    free(word);
    *out = o;
    return 0;
err:
    free(word);
    resp__req_free(o);
    return rv;
}

/* The parser is at a request boundary with an inline line starting at
 * in[in_off]. */
static int resp__next_inline(struct rsm_resp_parser *p, struct resp_req **out,
                             char *errmsg, size_t errlen)
{
    const char *start = p->in.data + p->in_off;
    size_t avail = p->in.len - p->in_off, n;
    const char *nl = memchr(start, '\n', avail);
    int rv;

    if (nl == NULL) {
        if (avail > p->max_inline)
            return resp__fail(p, RSM_ERANGE, errmsg, errlen,
                              "Protocol error: too big inline request");
        if (p->in_off > 0) { /* keep the partial line at the start */
            memmove(p->in.data, start, avail);
            p->in_off = 0;
            p->in.len = avail;
        }
        return RSM_ETRUNC;
    }
    n = (size_t)(nl - start);
    if (n > p->max_inline)
        return resp__fail(p, RSM_ERANGE, errmsg, errlen,
                          "Protocol error: too big inline request");
    p->in_off += n + 1;
    rv = resp__inline_split(p, start, n, out);
    if (rv == RSM_EPROTO)
        return resp__fail(p, rv, errmsg, errlen,
                          "Protocol error: unbalanced quotes in request");
    if (rv == RSM_ERANGE)
        return resp__fail(p, rv, errmsg, errlen,
                          "Protocol error: invalid multibulk length");
    if (rv != 0)
        return resp__fail(p, rv, errmsg, errlen, "out of memory");
    return 0;
}

/* --- array requests through the reader ------------------------------- */

/* After a complete request: bytes left that start an inline command go
 * back to `in` and the reader is replaced. */
static int resp__after_reply(struct rsm_resp_parser *p)
{
    const char *rest;
    size_t left = resp__reader_unread(p->reader, &rest);

    p->mark = p->fed - left;
    if (left == 0) {
        p->reader_active = false;
        return 0;
    }
    if (rest[0] == '*')
        return 0;
    if (resp__in_append(p, rest, left) != 0)
        return RSM_ENOMEM;
    return resp__reader_replace(p);
}

static int resp__next_array(struct rsm_resp_parser *p, struct resp_req **out,
                            char *errmsg, size_t errlen)
{
    uint64_t start = p->mark, size;
    struct resp_req *obj = NULL;
    char text[160];

    if (resp__reader_next(p->reader, &obj, text, sizeof text) != 0)
        return resp__fail(p, RSM_EPROTO, errmsg, errlen, text);
    /* Bytes of this request so far: everything fed since it started,
     * minus what the reader has not consumed if it is complete. */
    size = p->fed - start;
    if (obj != NULL)
        size -= resp__reader_unread(p->reader, NULL);
    if (size > p->max_request) {
        resp__req_free(obj);
        snprintf(text, sizeof text,
                 "Protocol error: request larger than %zu bytes",
                 p->max_request);
        return resp__fail(p, RSM_ERANGE, errmsg, errlen, text);
    }
    if (obj == NULL)
        return RSM_ETRUNC;
    if (resp__after_reply(p) != 0) {
        resp__req_free(obj);
        return resp__fail(p, RSM_ENOMEM, errmsg, errlen, "out of memory");
    }
    *out = obj;
    return 0;
}

int rsm_resp_parser_next(struct rsm_resp_parser *p,
                         struct rsm_resp_request *req, char *errmsg,
                         size_t errlen)
{
    struct resp_req *o;
    int rv;

    resp__req_free(p->cur);
    p->cur = NULL;
    for (;;) {
        if (p->failed)
            return resp__fail(p, p->failed, errmsg, errlen, "");
        assert(p->in_off <= p->in.len);
        o = NULL;
        if (p->reader_active) {
            rv = resp__next_array(p, &o, errmsg, errlen);
        } else if (p->in_off == p->in.len) {
            p->in_off = p->in.len = 0;
            return RSM_ETRUNC;
        } else if (p->in.data[p->in_off] == '*') {
            /* An array after an inline line: hand the rest over. */
            rv = resp__feed_reader(p, p->in.data + p->in_off,
                                   p->in.len - p->in_off);
            if (rv != 0)
                return resp__fail(p, rv, errmsg, errlen, "out of memory");
            p->in_off = p->in.len = 0;
            continue;
        } else {
            rv = resp__next_inline(p, &o, errmsg, errlen);
        }
        if (rv != 0)
            return rv;
        assert(o != NULL);  /* a request on success, never "more needed" */
        if (o->argc == 0) { /* "*0", "*-1", blank line: skipped */
            resp__req_free(o);
            continue;
        }
        p->cur = o;
        req->argc = o->argc;
        req->argv = o->argv;
        req->argvlen = o->argvlen;
        return 0;
    }
}
