/* resp_server.h - a generic RESP (Redis protocol) server on a libuv loop.
 *
 * Listens on one address, accepts clients and turns their bytes into
 * requests: a RESP array of bulk strings (what every Redis client sends,
 * decoded with hiredis's redisReader) or an inline command (one line of
 * space-separated words, what telnet and `redis-cli` pipes send). Each
 * request goes to the owner's handler with argc/argv; the handler answers
 * through a reply object (struct rsm_resp_reply) with the builder functions
 * below, either before it returns or later (asynchronously, e.g. after a
 * Raft commit). Replies always leave in request order: a reply completed
 * early waits behind an older one still pending.
 *
 * Limits (struct rsm_resp_limits): a request above the size or argument
 * limit, or a malformed one, gets "-ERR Protocol error: ..." and the
 * connection is closed once that reply (and every earlier one) is written.
 * A client beyond max_clients gets an error and is closed. A client whose
 * queued output exceeds max_output_bytes is closed (slow consumer). While
 * a client's output or pending replies pile up, its further requests are
 * not read (back-pressure), so a pipelining client cannot grow our memory.
 *
 * Everything runs on the loop thread; no function here may be called from
 * another thread.
 *
 * Ownership: rsm_resp_server_start() allocates the server; every client is
 * owned by it. rsm_resp_server_stop() closes the listener and every client
 * and frees the server after its callback. A reply object is owned by the
 * server until the handler returns RSM_RESP_PENDING; from then on the
 * handler owns it and must call rsm_resp_reply_end() exactly once, even if
 * the client has gone meanwhile (the reply is then "orphaned": writes to it
 * are discarded and end just frees it). A reply never points back to the
 * server, so it may be ended after the server is stopped. */
#ifndef RSM_RESP_SERVER_H
#define RSM_RESP_SERVER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "rsm/addr.h"

struct rsm_tls;

struct rsm_resp_server;
struct rsm_resp_client;
struct rsm_resp_reply;

/* ---------------------------------------------------------------------
 * Limits
 * --------------------------------------------------------------------- */

struct rsm_resp_limits {
    size_t max_request_bytes; /* one whole request (default 1 MiB); an
                                 inline line is also capped at 64 KiB */
    unsigned max_args;        /* arguments per request (default 1024) */
    unsigned max_clients;     /* connected clients (default 1000) */
    size_t max_output_bytes;  /* queued output per client (default 32 MiB)
                                 before the client is dropped */
    unsigned max_pending;     /* replies queued per client before its
                                 reading pauses (default 1024) */
    uint64_t idle_timeout_ms; /* close clients silent for this long and with
                                 nothing pending; 0 = never (default) */
    struct rsm_tls *tls;      /* a server context: TLS on every client
                                 (rsm/tls.h); NULL: plaintext (default).
                                 Not owned; outlives the server */
};

/* Fill *l with the defaults above. */
void rsm_resp_limits_default(struct rsm_resp_limits *l);

/* ---------------------------------------------------------------------
 * Request parser (no sockets: also for tests and fuzzers)
 * --------------------------------------------------------------------- */

struct rsm_resp_parser;

/* One decoded request. argv[i] is argvlen[i] bytes followed by a NUL (the
 * bytes themselves may contain NULs). Valid until the next call on the
 * parser. argc >= 1. */
struct rsm_resp_request {
    int argc;
    char **argv;
    size_t *argvlen;
};

/* Allocate a parser applying limits->max_request_bytes and ->max_args.
 * Returns 0 or RSM_ENOMEM. */
int rsm_resp_parser_create(const struct rsm_resp_limits *limits,
                           struct rsm_resp_parser **out);

void rsm_resp_parser_free(struct rsm_resp_parser *p);

/* Append received bytes. 0, or RSM_ENOMEM. */
int rsm_resp_parser_feed(struct rsm_resp_parser *p, const char *buf,
                         size_t len);

/* Take the next complete request. Returns 0 with *req filled; RSM_ETRUNC
 * when more bytes are needed; RSM_EPROTO (malformed) or RSM_ERANGE (over a
 * limit) or RSM_ENOMEM with the text of the error reply in errmsg (e.g.
 * "Protocol error: invalid multibulk length"). After an error the parser
 * stays failed: the connection must be closed. Empty requests ("*0", an
 * empty line) are skipped, like Redis does. */
int rsm_resp_parser_next(struct rsm_resp_parser *p,
                         struct rsm_resp_request *req, char *errmsg,
                         size_t errlen);

/* ---------------------------------------------------------------------
 * Server
 * --------------------------------------------------------------------- */

/* What a request handler returns. */
enum rsm_resp_status {
    RSM_RESP_DONE = 0,    /* the reply is complete */
    RSM_RESP_PENDING = 1, /* the handler keeps the reply and will call
                             rsm_resp_reply_end() later */
};

struct rsm_resp_handlers {
    /* A request. `req` is valid only during the call; reply is empty and
     * must be filled with exactly one RESP value (an array header plus its
     * elements counts as one) before it is complete. Required. */
    enum rsm_resp_status (*on_request)(void *arg, struct rsm_resp_client *c,
                                       struct rsm_resp_reply *reply,
                                       const struct rsm_resp_request *req);
    /* A client was accepted (optional); e.g. to attach per-client state
     * with rsm_resp_client_set_data(). */
    void (*on_connect)(void *arg, struct rsm_resp_client *c);
    /* A client is being closed (optional): its last chance to drop
     * references to c. Its pending replies are orphaned right after. */
    void (*on_close)(void *arg, struct rsm_resp_client *c);
    void *arg;
};

/* Bind and listen on bind->host:bind->port. The host is resolved once,
 * here (synchronously, uv_getaddrinfo): a name, IPv4 or IPv6 literal; the
 * first resolved address that binds is used. Port 0 asks the kernel for a
 * free port (see rsm_resp_server_port). limits may be NULL for defaults.
 * Returns 0, or RSM_ERESOLVE / RSM_EIO (bind/listen failed, e.g. address
 * in use) / RSM_ENOMEM with errmsg naming the address. A failed resolve or
 * bind leaves nothing open on the loop (the socket is bound before it
 * becomes a libuv handle); only if libuv then refuses the bound socket is
 * a handle left closing: run the loop before uv_loop_close(). */
int rsm_resp_server_start(uv_loop_t *loop, const struct rsm_addr *bind,
                          const struct rsm_resp_limits *limits,
                          const struct rsm_resp_handlers *handlers,
                          struct rsm_resp_server **out, char *errmsg,
                          size_t errlen);

/* The port actually listened on. */
uint16_t rsm_resp_server_port(const struct rsm_resp_server *s);

/* Number of connected clients (including ones being closed). */
unsigned rsm_resp_server_clients(const struct rsm_resp_server *s);

typedef void (*rsm_resp_server_stop_cb)(void *arg);

/* Stop listening, close every client (on_close runs for each, pending
 * replies are orphaned), close every handle, then call cb (may be NULL)
 * from the loop and free the server. Safe to call from a handler. Call
 * once. */
void rsm_resp_server_stop(struct rsm_resp_server *s, rsm_resp_server_stop_cb cb,
                          void *arg);

/* ---------------------------------------------------------------------
 * Clients
 * --------------------------------------------------------------------- */

/* Owner's per-client pointer (NULL at first); the server never touches
 * it. */
void rsm_resp_client_set_data(struct rsm_resp_client *c, void *data);
void *rsm_resp_client_data(const struct rsm_resp_client *c);

/* "host:port" of the peer ("?" if unknown). */
const char *rsm_resp_client_peer(const struct rsm_resp_client *c);

/* Exempt a client from the idle timeout (e.g. a subscriber). */
void rsm_resp_client_set_idle_exempt(struct rsm_resp_client *c, bool on);

/* This client's own limit on queued output (e.g. a lower one for a
 * subscriber, whose pushes are not paced by its requests); 0 restores the
 * server's max_output_bytes. Checked at the next write. */
void rsm_resp_client_set_output_limit(struct rsm_resp_client *c,
                                      size_t max_bytes);

/* A reply not answering any request (e.g. a pub/sub message), queued after
 * every reply already queued for c. The caller fills it and must call
 * rsm_resp_reply_end(). NULL if c is closing or out of memory. */
struct rsm_resp_reply *rsm_resp_client_push(struct rsm_resp_client *c);

/* Close the client now (pending replies are orphaned). */
void rsm_resp_client_close(struct rsm_resp_client *c);

/* ---------------------------------------------------------------------
 * Replies: RESP2 encoding. Each call appends one element. On a reply whose
 * client is gone they do nothing. Out of memory turns the whole reply into
 * "-ERR out of memory".
 * --------------------------------------------------------------------- */

/* "+text": CR and LF in text are replaced by spaces. */
void rsm_resp_add_status(struct rsm_resp_reply *r, const char *text);

/* "-text": text starts with the error code ("ERR ...", "NOTLEADER ...");
 * CR and LF are replaced by spaces. */
void rsm_resp_add_error(struct rsm_resp_reply *r, const char *text);
void rsm_resp_add_errorf(struct rsm_resp_reply *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ":n" */
void rsm_resp_add_int(struct rsm_resp_reply *r, long long n);

/* "$len" + bytes (binary safe). */
void rsm_resp_add_bulk(struct rsm_resp_reply *r, const void *buf, size_t len);
/* A NUL-terminated string as a bulk string. */
void rsm_resp_add_cstr(struct rsm_resp_reply *r, const char *s);
/* A field of a flat map reply (Sentinel's "name", "mymaster", ...): the
 * key and its value as two bulk strings. */
void rsm_resp_add_kv(struct rsm_resp_reply *r, const char *k, const char *v);
void rsm_resp_add_kv_int(struct rsm_resp_reply *r, const char *k, int64_t v);
void rsm_resp_add_bulkf(struct rsm_resp_reply *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Verbatim text (RESP3 "=", format like "txt"): sent as a plain bulk
 * string, which is what Redis sends to RESP2 clients for INFO and the
 * like. */
void rsm_resp_add_verbatim(struct rsm_resp_reply *r, const char *format,
                           const char *text, size_t len);

/* "$-1" (null bulk string). */
void rsm_resp_add_null(struct rsm_resp_reply *r);

/* "*n": the next n elements added belong to the array. n = -1 writes a
 * null array. */
void rsm_resp_add_array(struct rsm_resp_reply *r, long n);

/* Already-encoded RESP bytes, appended as they are. */
void rsm_resp_add_raw(struct rsm_resp_reply *r, const void *buf, size_t len);

/* Close the connection after this reply is written (e.g. QUIT); requests
 * after it are not read. */
void rsm_resp_reply_close_after(struct rsm_resp_reply *r);

/* The client this reply goes to, NULL once it is gone. */
struct rsm_resp_client *rsm_resp_reply_client(const struct rsm_resp_reply *r);

/* Complete a reply the handler kept (RSM_RESP_PENDING) or a push: it is
 * written as soon as every older reply of its client is. Frees r (also
 * for an orphaned reply). */
void rsm_resp_reply_end(struct rsm_resp_reply *r);

#endif /* RSM_RESP_SERVER_H */
