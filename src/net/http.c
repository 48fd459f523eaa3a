/* http.c - a small HTTP/1.1 server (see http.h for the contract).
 *
 * Two layers: struct rsm_http_conn turns request bytes into response bytes
 * with libhttp-parser and knows nothing of sockets; the server accepts
 * clients from an rsm_listener (listener.h) and runs one conn per client,
 * writing what it produces and closing the client when it is done. */
#include "rsm/http.h"
#include "rsm/err.h"
#include "listener.h"
#include "rsm/log.h"

#include <assert.h>
#include <http_parser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LISTEN_BACKLOG 128
#define READ_BUF_SIZE  16384

void rsm_http_limits_default(struct rsm_http_limits *l)
{
    l->max_url_bytes = 2048;
    l->max_header_bytes = 8192;
    l->max_headers = 64;
    l->max_body_bytes = 4096;
    l->max_clients = 64;
    l->max_output_bytes = 8u << 20;
    l->request_timeout_ms = 10000;
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

struct buf {
    char *data;
    size_t len, cap;
};

static int buf_put(struct buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *d;
        while (cap < b->len + n)
            cap *= 2;
        d = realloc(b->data, cap);
        if (d == NULL)
            return RSM_ENOMEM;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int buf_printf(struct buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return RSM_EINVAL; /* only short header lines go through here */
    return buf_put(b, tmp, (size_t)n);
}

/* ------------------------------------------------------------------------
 * Protocol core
 * ---------------------------------------------------------------------- */

struct rsm_http_conn {
    http_parser parser;
    struct rsm_http_limits limits;
    rsm_http_handler handler;
    void *arg;
    struct buf url;      /* request target, NUL-terminated when used */
    size_t header_bytes; /* names + values of the current request */
    unsigned headers;    /* header lines of the current request */
    bool in_value;       /* the last header callback was a value */
    size_t body_bytes;   /* of the current request */
    bool in_request;     /* a request has started */
    int reject;          /* status of a limit hit in a callback, 0 none */
    bool done;           /* no further request will be served */
    bool nomem;
    uint64_t requests;
    struct buf out;
};

static int on_message_begin(http_parser *p)
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

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct rsm_http_conn *c = p->data;

    if (c->url.len + len > c->limits.max_url_bytes) {
        c->reject = 414;
        return -1;
    }
    if (buf_put(&c->url, at, len) != 0) {
        c->nomem = true;
        return -1;
    }
    return 0;
}

static int count_header(struct rsm_http_conn *c, size_t len, bool value)
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

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    (void)at;
    return count_header(p->data, len, false);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    (void)at;
    return count_header(p->data, len, true);
}

static int on_body(http_parser *p, const char *at, size_t len)
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
static void respond(struct rsm_http_conn *c, int status, const char *ctype,
                    const char *extra, const char *body, size_t len, bool head,
                    bool close)
{
    int rv;

    if (close)
        c->done = true;
    rv = buf_printf(&c->out,
                    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                    "Content-Length: %zu\r\nCache-Control: no-store\r\n"
                    "%sConnection: %s\r\n\r\n",
                    status, rsm_http_reason(status), ctype, len,
                    extra ? extra : "", close ? "close" : "keep-alive");
    if (rv == 0 && !head && len > 0)
        rv = buf_put(&c->out, body, len);
    if (rv != 0)
        c->nomem = true;
    c->requests++;
    if (c->out.len > c->limits.max_output_bytes)
        c->done = true; /* the server drops such a client */
}

static void respond_error(struct rsm_http_conn *c, int status)
{
    char body[64];
    int n =
        snprintf(body, sizeof body, "%d %s\n", status, rsm_http_reason(status));

    respond(c, status, "text/plain; charset=utf-8", NULL, body, (size_t)n,
            false, true);
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Percent-decode src[0..n) into dst (room for n + 1); false on a bad
 * escape or an encoded NUL. */
static bool decode_path(const char *src, size_t n, char *dst)
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
        hi = hexval(src[i + 1]);
        lo = hexval(src[i + 2]);
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
static bool split_target(const struct buf *url, char *path, char *query)
{
    struct http_parser_url u;
    const char *s = url->data;

    http_parser_url_init(&u);
    if (url->len == 0 || http_parser_parse_url(s, url->len, 0, &u) != 0)
        return false;
    if (u.field_set & (1 << UF_PATH)) {
        if (!decode_path(s + u.field_data[UF_PATH].off,
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

static void dispatch(struct rsm_http_conn *c)
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
    if (!split_target(&c->url, path, query)) {
        respond_error(c, 400);
        goto out;
    }
    if (p->method != HTTP_GET && p->method != HTTP_HEAD) {
        static const char body[] = "405 Method Not Allowed\n";
        respond(c, 405, "text/plain; charset=utf-8", "Allow: GET, HEAD\r\n",
                body, sizeof body - 1, false, !keep);
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
    respond(c, resp.status,
            resp.content_type ? resp.content_type : "text/plain", NULL,
            resp.body, resp.body_len, req.head, !keep);
    free(resp.body);
out:
    free(path);
    free(query);
}

static int on_message_complete(http_parser *p)
{
    struct rsm_http_conn *c = p->data;

    c->in_request = false;
    if (p->upgrade) {
        c->reject = 400; /* no Upgrade, no CONNECT */
        return -1;
    }
    if (buf_put(&c->url, "", 1) != 0) {
        c->nomem = true;
        return -1;
    }
    c->url.len--; /* keep the NUL out of the length */
    dispatch(c);
    if (c->nomem)
        return -1;
    if (c->done)
        http_parser_pause(p, 1); /* nothing after a closing response */
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
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
    http_parser_execute(&c->parser, &settings, buf, len);
    e = HTTP_PARSER_ERRNO(&c->parser);
    if (c->nomem)
        return RSM_ENOMEM;
    if (e == HPE_OK || (e == HPE_PAUSED && c->done))
        return 0;
    /* A parse error, or a limit hit in a callback. */
    c->in_request = false;
    respond_error(c, c->reject                  ? c->reject
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

/* ------------------------------------------------------------------------
 * Server
 * ---------------------------------------------------------------------- */

struct client {
    struct rsm_http_server *srv;
    struct rsm_listener_conn sock; /* sock.tcp.data is the client */
    uv_shutdown_t shutdown;
    struct rsm_http_conn *conn;
    uint64_t deadline; /* loop time the current request must end by */
    uint64_t seen;     /* requests answered when the deadline was set */
    unsigned writes;   /* uv_write requests in flight */
    bool closing, shutting_down;
};

struct write_req {
    uv_write_t req;
    struct client *c;
    char *data;
};

struct rsm_http_server {
    uv_loop_t *loop;
    struct rsm_listener listener; /* and its set of clients */
    uv_timer_t sweep;
    struct rsm_http_limits limits;
    rsm_http_handler handler;
    void *arg;
    unsigned open_handles; /* listener + timer not yet closed */
    bool stopping;
    rsm_http_stop_cb stop_cb;
    void *stop_arg;
};

static void server_maybe_free(struct rsm_http_server *s)
{
    if (!s->stopping || s->open_handles > 0 ||
        rsm_listener_conns(&s->listener) > 0)
        return;
    if (s->stop_cb != NULL)
        s->stop_cb(s->stop_arg);
    free(s);
}

static void on_client_closed(uv_handle_t *h)
{
    struct client *c = h->data;
    struct rsm_http_server *s = c->srv;

    rsm_listener_release(&s->listener, &c->sock);
    rsm_http_conn_free(c->conn);
    free(c);
    server_maybe_free(s);
}

static void client_close(struct client *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_close((uv_handle_t *)&c->sock.tcp, on_client_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    client_close(req->data);
}

/* Once a done client has written everything: FIN, then close. Reading
 * goes on (and is discarded) meanwhile, so that unread request bytes do
 * not turn our close into a reset that loses the response. */
static void maybe_finish(struct client *c)
{
    if (c->closing || c->shutting_down || c->writes > 0 ||
        !rsm_http_conn_done(c->conn))
        return;
    c->shutting_down = true;
    c->shutdown.data = c;
    if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->sock.tcp, on_shutdown) !=
        0)
        client_close(c);
}

static void on_write(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    struct client *c = w->c;

    free(w->data);
    free(w);
    c->writes--;
    if (status != 0) {
        client_close(c);
        return;
    }
    maybe_finish(c);
}

/* Write what the conn produced. */
static void flush(struct client *c)
{
    struct write_req *w;
    uv_buf_t b;
    char *data;
    size_t len;

    rsm_http_conn_take_output(c->conn, &data, &len);
    if (data == NULL)
        return;
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->sock.tcp) + len >
        c->srv->limits.max_output_bytes) {
        rsm_log(RSM_LOG_WARN, "http-client-dropped",
                "peer=%s reason=output-limit", c->sock.peer);
        free(data);
        client_close(c);
        return;
    }
    w = malloc(sizeof *w);
    if (w == NULL) {
        free(data);
        client_close(c);
        return;
    }
    w->c = c;
    w->data = data;
    b = uv_buf_init(data, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&c->sock.tcp, &b, 1, on_write) != 0) {
        free(data);
        free(w);
        client_close(c);
        return;
    }
    c->writes++;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)h;
    (void)hint;
    buf->base = malloc(READ_BUF_SIZE);
    buf->len = buf->base ? READ_BUF_SIZE : 0;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct client *c = st->data;

    if (c->closing || nread == 0) {
        free(buf->base);
        return;
    }
    if (nread < 0) {
        free(buf->base);
        if (nread != UV_EOF) {
            client_close(c);
            return;
        }
        rsm_http_conn_eof(c->conn);
        uv_read_stop(st);
        if (c->writes == 0 && !c->shutting_down)
            client_close(c); /* nothing left to say */
        return;
    }
    if (rsm_http_conn_feed(c->conn, buf->base, (size_t)nread) != 0) {
        free(buf->base);
        client_close(c);
        return;
    }
    free(buf->base);
    if (rsm_http_conn_requests(c->conn) != c->seen) {
        c->seen = rsm_http_conn_requests(c->conn);
        c->deadline = uv_now(c->srv->loop) + c->srv->limits.request_timeout_ms;
    }
    flush(c);
    if (!c->closing)
        maybe_finish(c);
}

/* Beyond max_clients (the listener has logged it): one 503, then close. */
static void refuse(struct client *c)
{
    static const char msg[] = "HTTP/1.1 503 Service Unavailable\r\n"
                              "Content-Type: text/plain; charset=utf-8\r\n"
                              "Content-Length: 20\r\nConnection: close\r\n\r\n"
                              "too many connections";
    rsm_http_conn_eof(c->conn); /* done: nothing will be served */
    if (buf_put(&c->conn->out, msg, sizeof msg - 1) != 0) {
        client_close(c);
        return;
    }
    flush(c);
    if (!c->closing)
        maybe_finish(c);
}

static void on_connection(void *arg, struct rsm_listener *l)
{
    struct rsm_http_server *s = arg;
    struct client *c;
    int rv;

    c = calloc(1, sizeof *c);
    if (c == NULL)
        return; /* stays in the backlog */
    if (rsm_http_conn_create(&s->limits, s->handler, s->arg, &c->conn) != 0) {
        free(c);
        return;
    }
    c->srv = s;
    rv = rsm_listener_accept(l, &c->sock, c);
    if (rv == RSM_EIO) {
        client_close(c);
        return;
    }
    c->deadline = uv_now(s->loop) + s->limits.request_timeout_ms;
    if (uv_read_start((uv_stream_t *)&c->sock.tcp, on_alloc, on_read) != 0) {
        client_close(c);
        return;
    }
    if (rv == RSM_EBUSY)
        refuse(c);
}

/* Close clients past their request deadline. */
static void on_sweep(uv_timer_t *t)
{
    struct rsm_http_server *s = t->data;
    uint64_t now = uv_now(s->loop);
    struct rsm_listener_conn *k;

    for (k = rsm_listener_first(&s->listener); k != NULL; k = k->next) {
        struct client *c = k->tcp.data;
        if (!c->closing && now >= c->deadline) {
            rsm_log(RSM_LOG_DEBUG, "http-client-timeout", "peer=%s",
                    c->sock.peer);
            client_close(c);
        }
    }
}

static void on_listener_closed(void *arg)
{
    struct rsm_http_server *s = arg;

    s->open_handles--;
    server_maybe_free(s);
}

static void on_handle_closed(uv_handle_t *h)
{
    on_listener_closed(h->data);
}

int rsm_http_server_start(uv_loop_t *loop, const struct rsm_addr *bind,
                          const struct rsm_http_limits *limits,
                          rsm_http_handler handler, void *arg,
                          struct rsm_http_server **out, char *errmsg,
                          size_t errlen)
{
    struct rsm_listener_config lc;
    struct rsm_http_server *s;
    char why[RSM_ERRMSG_SIZE];
    uint64_t every;
    int rv;

    assert(handler != NULL);
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return rsm_errf(RSM_ENOMEM, errmsg, errlen, "out of memory");
    s->loop = loop;
    s->handler = handler;
    s->arg = arg;
    if (limits != NULL)
        s->limits = *limits;
    else
        rsm_http_limits_default(&s->limits);
    if (s->limits.request_timeout_ms == 0)
        s->limits.request_timeout_ms = UINT64_MAX / 2;
    lc.bind = bind;
    lc.backlog = LISTEN_BACKLOG;
    lc.max_conns = s->limits.max_clients;
    lc.log_prefix = "http";
    rv = rsm_listener_start(&s->listener, loop, &lc, on_connection, s, why,
                            sizeof why);
    if (rv != 0) {
        free(s);
        return rsm_errf(rv, errmsg, errlen, "http %s", why);
    }
    s->open_handles = 1;
    every = s->limits.request_timeout_ms < 1000 ? s->limits.request_timeout_ms
                                                : 1000;
    uv_timer_init(loop, &s->sweep);
    s->sweep.data = s;
    s->open_handles++;
    uv_timer_start(&s->sweep, on_sweep, every, every);
    *out = s;
    return 0;
}

uint16_t rsm_http_server_port(const struct rsm_http_server *s)
{
    return rsm_listener_port(&s->listener);
}

unsigned rsm_http_server_clients(const struct rsm_http_server *s)
{
    return rsm_listener_conns(&s->listener);
}

void rsm_http_server_stop(struct rsm_http_server *s, rsm_http_stop_cb cb,
                          void *arg)
{
    struct rsm_listener_conn *k;

    assert(!s->stopping);
    s->stopping = true;
    s->stop_cb = cb;
    s->stop_arg = arg;
    rsm_listener_close(&s->listener, on_listener_closed, s);
    uv_close((uv_handle_t *)&s->sweep, on_handle_closed);
    for (k = rsm_listener_first(&s->listener); k != NULL; k = k->next)
        client_close(k->tcp.data);
}
