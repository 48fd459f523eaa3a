/* http_conn.c - the protocol core of the HTTP server (see http.h): struct
 * rsm_http_conn turns request bytes into response bytes with
 * libhttp-parser and knows nothing of sockets (the server of http.c runs
 * one per client; the unit tests and the fuzz target drive it directly).
 * Also the limits' defaults, reason phrases and the response helper. */
#include "rsm/http.h"
#include "rsm/err.h"
#include "bytebuf.h"
#include "hexval.h"
#include "http_int.h"

#include <assert.h>
#include <http_parser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rsm_http_limits_default(struct rsm_http_limits *l)
{
    l->max_url_bytes = 2048;
    l->max_header_bytes = 8192;
    l->max_headers = 64;
    l->max_body_bytes = 4096;
    l->max_clients = 64;
    l->max_output_bytes = 8u << 20;
    l->request_timeout_ms = 10000;
    l->tls = NULL;
}

const char *rsm_http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

void rsm_http_response_text(struct rsm_http_response *r, int status,
                            const char *text)
{
    size_t n = strlen(text);

    free(r->body);
    r->body = malloc(n + 1);
    if (r->body == NULL) {
        r->status = 500;
        r->body_len = 0;
        return;
    }
    memcpy(r->body, text, n + 1);
    r->body_len = n;
    r->status = status;
}

/* ------------------------------------------------------------------------
 * Output buffer
 * ---------------------------------------------------------------------- */

#define HTTP_BUF_FIRST 1024 /* first allocation of a buffer */

static int http__buf_printf(struct rsm_bytebuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int http__buf_printf(struct rsm_bytebuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return RSM_EINVAL; /* only short header lines go through here */
    return rsm_bytebuf_put(b, HTTP_BUF_FIRST, tmp, (size_t)n);
}

/* ------------------------------------------------------------------------
 * Protocol core
 * ---------------------------------------------------------------------- */

struct rsm_http_conn {
    http_parser parser;
    struct rsm_http_limits limits;
    rsm_http_handler handler;
    void *arg;
    struct rsm_bytebuf url; /* request target, NUL-terminated when used */
    size_t header_bytes;    /* names + values of the current request */
    unsigned headers;       /* header lines of the current request */
    bool in_value;          /* the last header callback was a value */
    size_t body_bytes;      /* of the current request */
    bool in_request;        /* a request has started */
    int reject;             /* status of a limit hit in a callback, 0 none */
    bool done;              /* no further request will be served */
    bool nomem;
    uint64_t requests;
    struct rsm_bytebuf out;
};

static int http__on_message_begin(http_parser *p)
{
    struct rsm_http_conn *c = p->data;

    c->in_request = true;
    c->url.len = 0;
    c->header_bytes = 0;
    c->headers = 0;
    c->in_value = false;
    c->body_bytes = 0;
    return 0;
}

static int http__on_url(http_parser *p, const char *at, size_t len)
{
    struct rsm_http_conn *c = p->data;

    if (c->url.len + len > c->limits.max_url_bytes) {
        c->reject = 414;
        return -1;
    }
    if (rsm_bytebuf_put(&c->url, HTTP_BUF_FIRST, at, len) != 0) {
        c->nomem = true;
        return -1;
    }
    return 0;
}

static int http__count_header(struct rsm_http_conn *c, size_t len, bool value)
{
    if (!value && (c->in_value || c->headers == 0))
        c->headers++;
    c->in_value = value;
    c->header_bytes += len;
    if (c->headers > c->limits.max_headers ||
        c->header_bytes + c->url.len > c->limits.max_header_bytes) {
        c->reject = 431;
        return -1;
    }
    return 0;
}

static int http__on_header_field(http_parser *p, const char *at, size_t len)
{
    (void)at;
    return http__count_header(p->data, len, false);
}

static int http__on_header_value(http_parser *p, const char *at, size_t len)
{
    (void)at;
    return http__count_header(p->data, len, true);
}

static int http__on_body(http_parser *p, const char *at, size_t len)
{
    struct rsm_http_conn *c = p->data;

    (void)at;
    c->body_bytes += len;
    if (c->body_bytes > c->limits.max_body_bytes) {
        c->reject = 413;
        return -1;
    }
    return 0;
}

/* Queue a response; close marks the connection done ("Connection:
 * close"). The body is sent unless head. */
static void http__respond(struct rsm_http_conn *c, int status,
                          const char *ctype, const char *extra,
                          const char *body, size_t len, bool head, bool close)
{
    int rv;

    if (close)
        c->done = true;
    rv = http__buf_printf(&c->out,
                          "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                          "Content-Length: %zu\r\nCache-Control: no-store\r\n"
                          "%sConnection: %s\r\n\r\n",
                          status, rsm_http_reason(status), ctype, len,
                          extra ? extra : "", close ? "close" : "keep-alive");
    if (rv == 0 && !head && len > 0)
        rv = rsm_bytebuf_put(&c->out, HTTP_BUF_FIRST, body, len);
    if (rv != 0)
        c->nomem = true;
    c->requests++;
    if (c->out.len > c->limits.max_output_bytes)
        c->done = true; /* the server drops such a client */
}

static void http__respond_error(struct rsm_http_conn *c, int status)
{
    char body[64];
    int n =
        snprintf(body, sizeof body, "%d %s\n", status, rsm_http_reason(status));

    http__respond(c, status, "text/plain; charset=utf-8", NULL, body, (size_t)n,
                  false, true);
}

/* Percent-decode src[0..n) into dst (room for n + 1); false on a bad
 * escape or an encoded NUL. */
static bool http__decode_path(const char *src, size_t n, char *dst)
{
    size_t j = 0;

    for (size_t i = 0; i < n; i++) {
        int hi, lo;

        if (src[i] != '%') {
            dst[j++] = src[i];
            continue;
        }
        if (i + 2 >= n)
            return false;
        hi = net__hexval(src[i + 1]);
        lo = net__hexval(src[i + 2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return false;
        dst[j++] = (char)(hi * 16 + lo);
        i += 2;
    }
    dst[j] = '\0';
    return true;
}

/* Split the target into path and query; false if it is not a valid
 * origin-form or absolute-form target. path and query have room for the
 * whole url. */
static bool http__split_target(const struct rsm_bytebuf *url, char *path,
                               char *query)
{
    struct http_parser_url u;
    const char *s = url->data;

    http_parser_url_init(&u);
    if (url->len == 0 || http_parser_parse_url(s, url->len, 0, &u) != 0)
        return false;
    if (u.field_set & (1 << UF_PATH)) {
        if (!http__decode_path(s + u.field_data[UF_PATH].off,
                               u.field_data[UF_PATH].len, path))
            return false;
    } else {
        strcpy(path, "/");
    }
    query[0] = '\0';
    if (u.field_set & (1 << UF_QUERY)) {
        memcpy(query, s + u.field_data[UF_QUERY].off,
               u.field_data[UF_QUERY].len);
        query[u.field_data[UF_QUERY].len] = '\0';
    }
    return path[0] == '/';
}

static void http__dispatch(struct rsm_http_conn *c)
{
    http_parser *p = &c->parser;
    bool keep = http_should_keep_alive(p) != 0;
    struct rsm_http_request req;
    struct rsm_http_response resp = {200, "text/plain; charset=utf-8", NULL, 0};
    char *path = malloc(c->url.len + 2), *query = malloc(c->url.len + 1);

    if (path == NULL || query == NULL) {
        c->nomem = true;
        goto out;
    }
    if (!http__split_target(&c->url, path, query)) {
        http__respond_error(c, 400);
        goto out;
    }
    if (p->method != HTTP_GET && p->method != HTTP_HEAD) {
        static const char body[] = "405 Method Not Allowed\n";
        http__respond(c, 405, "text/plain; charset=utf-8",
                      "Allow: GET, HEAD\r\n", body, sizeof body - 1, false,
                      !keep);
        goto out;
    }
    req.method = p->method == HTTP_HEAD ? "HEAD" : "GET";
    req.head = p->method == HTTP_HEAD;
    req.path = path;
    req.query = query;
    req.http_major = p->http_major;
    req.http_minor = p->http_minor;
    c->handler(c->arg, &req, &resp);
    if (resp.status < 100 || resp.status > 599)
        resp.status = 500;
    http__respond(c, resp.status,
                  resp.content_type ? resp.content_type : "text/plain", NULL,
                  resp.body, resp.body_len, req.head, !keep);
    free(resp.body);
out:
    free(path);
    free(query);
}

static int http__on_message_complete(http_parser *p)
{
    struct rsm_http_conn *c = p->data;

    c->in_request = false;
    if (p->upgrade) {
        c->reject = 400; /* no Upgrade, no CONNECT */
        return -1;
    }
    if (rsm_bytebuf_put(&c->url, HTTP_BUF_FIRST, "", 1) != 0) {
        c->nomem = true;
        return -1;
    }
    c->url.len--; /* keep the NUL out of the length */
    http__dispatch(c);
    if (c->nomem)
        return -1;
    if (c->done)
        http_parser_pause(p, 1); /* nothing after a closing response */
    return 0;
}

static const http_parser_settings http__settings = {
    .on_message_begin = http__on_message_begin,
    .on_url = http__on_url,
    .on_header_field = http__on_header_field,
    .on_header_value = http__on_header_value,
    .on_body = http__on_body,
    .on_message_complete = http__on_message_complete,
};

int rsm_http_conn_create(const struct rsm_http_limits *limits,
                         rsm_http_handler handler, void *arg,
                         struct rsm_http_conn **out)
{
    struct rsm_http_conn *c = calloc(1, sizeof *c);

    assert(handler != NULL);
    if (c == NULL)
        return RSM_ENOMEM;
    if (limits != NULL)
        c->limits = *limits;
    else
        rsm_http_limits_default(&c->limits);
    c->handler = handler;
    c->arg = arg;
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    *out = c;
    return 0;
}

void rsm_http_conn_free(struct rsm_http_conn *c)
{
    if (c == NULL)
        return;
    free(c->url.data);
    free(c->out.data);
    free(c);
}

int rsm_http_conn_feed(struct rsm_http_conn *c, const char *buf, size_t len)
{
    enum http_errno e;

    if (c->done || len == 0)
        return c->nomem ? RSM_ENOMEM : 0;
    http_parser_execute(&c->parser, &http__settings, buf, len);
    e = HTTP_PARSER_ERRNO(&c->parser);
    if (c->nomem)
        return RSM_ENOMEM;
    if (e == HPE_OK || (e == HPE_PAUSED && c->done))
        return 0;
    /* A parse error, or a limit hit in a callback. */
    c->in_request = false;
    http__respond_error(c, c->reject                  ? c->reject
                           : e == HPE_HEADER_OVERFLOW ? 431
                                                      : 400);
    return c->nomem ? RSM_ENOMEM : 0;
}

void rsm_http_conn_eof(struct rsm_http_conn *c)
{
    c->done = true;
    c->in_request = false;
}

void rsm_http_conn_take_output(struct rsm_http_conn *c, char **buf, size_t *len)
{
    *buf = c->out.data;
    *len = c->out.len;
    if (c->out.len == 0) {
        free(c->out.data);
        *buf = NULL;
    }
    memset(&c->out, 0, sizeof c->out);
}

bool rsm_http_conn_done(const struct rsm_http_conn *c)
{
    return c->done;
}

bool rsm_http_conn_in_request(const struct rsm_http_conn *c)
{
    return c->in_request;
}

uint64_t rsm_http_conn_requests(const struct rsm_http_conn *c)
{
    return c->requests;
}

int http__conn_put_raw(struct rsm_http_conn *c, const void *p, size_t n)
{
    return rsm_bytebuf_put(&c->out, HTTP_BUF_FIRST, p, n);
}
