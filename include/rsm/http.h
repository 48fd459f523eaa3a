/* http.h - a small HTTP/1.1 server on a libuv loop, for probes and metrics.
 *
 * Requests are parsed with Debian's libhttp-parser (nodejs/http-parser
 * 2.9), never by string matching. Each complete request goes to the
 * owner's handler, which answers synchronously with a status, a content
 * type and a body; responses leave in request order (pipelining works),
 * with Content-Length and no chunking. Only GET and HEAD reach the handler:
 * any other method gets 405 with "Allow: GET, HEAD". HEAD gets the headers
 * of the GET answer without its body.
 *
 * Bad input never reaches the handler. A malformed request gets
 * "400 Bad Request"; a request over a limit gets 414 (URI), 431 (headers)
 * or 413 (body); an Upgrade or CONNECT request gets 400. In every one of
 * these cases the connection is closed once that response (and every
 * earlier one) is written, and nothing after it is read. A client that does
 * not finish a request within request_timeout_ms (counted from the connect
 * or from the end of its previous request) is closed, as is a client whose
 * unwritten output exceeds max_output_bytes. Beyond max_clients a client
 * gets "503 Service Unavailable" and is closed.
 *
 * The protocol logic lives in struct rsm_http_conn, which has no socket
 * (bytes in, bytes out): the server runs one per client, and the unit
 * tests and the fuzz target drive it directly.
 *
 * Ownership: rsm_http_server_start() allocates the server, which owns its
 * clients; rsm_http_server_stop() closes the listener and every client and
 * frees the server after its callback. A response body set by the handler
 * is owned by the server from then on. Everything runs on the loop thread. */
#ifndef RSM_HTTP_H
#define RSM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct rsm_tls;

#include "rsm/addr.h"

/* ---------------------------------------------------------------------
 * Limits
 * --------------------------------------------------------------------- */

struct rsm_http_limits {
    size_t max_url_bytes;        /* request target (default 2048) */
    size_t max_header_bytes;     /* all header names and values, with the
                                    request line (default 8192) */
    unsigned max_headers;        /* header lines (default 64) */
    size_t max_body_bytes;       /* request body, discarded (default 4096) */
    unsigned max_clients;        /* connected clients (default 64) */
    size_t max_output_bytes;     /* unwritten output per client before it is
                                    dropped (default 8 MiB) */
    uint64_t request_timeout_ms; /* see above (default 10000; 0 = none) */
    struct rsm_tls *tls;         /* a server context: HTTPS (rsm/tls.h);
                                    NULL: plaintext (default). Not owned;
                                    outlives the server */
};

/* Fill *l with the defaults above. */
void rsm_http_limits_default(struct rsm_http_limits *l);

/* ---------------------------------------------------------------------
 * Requests and responses
 * --------------------------------------------------------------------- */

/* A request as the handler sees it. Strings are NUL-terminated and valid
 * only during the call. */
struct rsm_http_request {
    const char *method; /* "GET" or "HEAD" */
    bool head;          /* HEAD: the body will not be sent */
    const char *path;   /* decoded from the target: "/metrics"; never
                           empty (an absolute URI gives its path) */
    const char *query;  /* after '?', "" if none */
    unsigned short http_major, http_minor;
};

/* The handler's answer. The server starts it as 200, "text/plain;
 * charset=utf-8", no body. */
struct rsm_http_response {
    int status;               /* 100..599 */
    const char *content_type; /* a static string */
    char *body;               /* malloc'd; the server frees it (NULL: none) */
    size_t body_len;
};

/* Set a copy of text as the body (with status and content type). Out of
 * memory turns the response into 500 with no body. */
void rsm_http_response_text(struct rsm_http_response *r, int status,
                            const char *text);

/* Called once per GET/HEAD request; must fill resp and return. */
typedef void (*rsm_http_handler)(void *arg, const struct rsm_http_request *req,
                                 struct rsm_http_response *resp);

/* The reason phrase of a status code ("Not Found"; "Unknown" if none). */
const char *rsm_http_reason(int status);

/* ---------------------------------------------------------------------
 * Protocol core (no sockets)
 * --------------------------------------------------------------------- */

struct rsm_http_conn;

/* Allocate a connection state. limits NULL: defaults. 0 or RSM_ENOMEM. */
int rsm_http_conn_create(const struct rsm_http_limits *limits,
                         rsm_http_handler handler, void *arg,
                         struct rsm_http_conn **out);

void rsm_http_conn_free(struct rsm_http_conn *c);

/* Feed received bytes; every response they complete is appended to the
 * connection's output (take it with rsm_http_conn_take_output). Returns 0,
 * or RSM_ENOMEM. After the connection is done (see below) bytes are
 * ignored. */
int rsm_http_conn_feed(struct rsm_http_conn *c, const char *buf, size_t len);

/* The peer closed its side (EOF): a request in the middle of its body
 * (one delimited by the end of the connection) is completed, anything else
 * unfinished is dropped. The connection is done afterwards. */
void rsm_http_conn_eof(struct rsm_http_conn *c);

/* Take the bytes produced so far: *buf is malloc'd (the caller frees it),
 * NULL with *len 0 when there are none. */
void rsm_http_conn_take_output(struct rsm_http_conn *c, char **buf,
                               size_t *len);

/* True once no further request will be served: an error response was
 * queued, the last request asked to close (Connection: close, HTTP/1.0
 * without keep-alive), or EOF. Close after writing the output. */
bool rsm_http_conn_done(const struct rsm_http_conn *c);

/* True while a request has started (a byte of it was fed) and not yet
 * completed. */
bool rsm_http_conn_in_request(const struct rsm_http_conn *c);

/* Requests answered on this connection (errors included). */
uint64_t rsm_http_conn_requests(const struct rsm_http_conn *c);

/* ---------------------------------------------------------------------
 * Server
 * --------------------------------------------------------------------- */

struct rsm_http_server;

/* Bind and listen on bind->host:bind->port (a name is resolved once, here;
 * port 0 asks the kernel for one, see rsm_http_server_port). limits NULL:
 * defaults. Returns 0, or RSM_ERESOLVE / RSM_EIO (bind or listen failed,
 * e.g. address in use) / RSM_ENOMEM with errmsg naming the address; on
 * error nothing is left open on the loop. */
int rsm_http_server_start(uv_loop_t *loop, const struct rsm_addr *bind,
                          const struct rsm_http_limits *limits,
                          rsm_http_handler handler, void *arg,
                          struct rsm_http_server **out, char *errmsg,
                          size_t errlen);

/* The port actually listened on. */
uint16_t rsm_http_server_port(const struct rsm_http_server *s);

/* Clients connected now (including ones being closed). */
unsigned rsm_http_server_clients(const struct rsm_http_server *s);

typedef void (*rsm_http_stop_cb)(void *arg);

/* Stop listening, close every client, then call cb (may be NULL) from the
 * loop and free s. Call once. */
void rsm_http_server_stop(struct rsm_http_server *s, rsm_http_stop_cb cb,
                          void *arg);

#endif /* RSM_HTTP_H */
