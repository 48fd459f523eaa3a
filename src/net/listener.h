/* listener.h - a TCP listening socket on a libuv loop, with a limit on the
 * connections it admits: what the RESP server (resp_server.h) and the HTTP
 * server (http.h) share below their protocols.
 *
 * rsm_listener_start() resolves the bind address once (synchronously,
 * uv_getaddrinfo: a name, an IPv4 or IPv6 literal), binds and listens on
 * the first resolved address that works, then hands the socket to libuv.
 * For each incoming connection the owner's callback runs; it allocates its
 * own per-connection struct, with a struct rsm_listener_conn inside, and
 * calls rsm_listener_accept(), which initialises the handle, accepts into
 * it, turns Nagle off, names the peer and adds the connection to the
 * listener's set. Beyond max_conns the connection is still accepted (so
 * that the owner can tell the client why in its own protocol before
 * closing it) and the refusal is logged, at most once a second with the
 * count. A connection stays in the set (and counts) until the owner calls
 * rsm_listener_release() from the close callback of its handle.
 *
 * Log events carry the owner's prefix: "<prefix>-listening",
 * "<prefix>-accept-failed", "<prefix>-client-refused".
 *
 * Ownership: the owner allocates struct rsm_listener (usually inside its
 * server) and keeps it until the close callback of rsm_listener_close()
 * has run and every connection is released; the listening handle itself
 * is allocated here and freed in its own close callback. Each struct
 * rsm_listener_conn is the owner's memory, only linked here. Everything
 * runs on the loop thread. */
#ifndef RSM_LISTENER_H
#define RSM_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "rsm/addr.h"

struct rsm_listener;
struct rsm_tls;
struct rsm_tls_session;

/* An incoming connection is waiting: accept it with rsm_listener_accept()
 * (or return without, and it stays in the backlog, e.g. out of memory). */
typedef void (*rsm_listener_cb)(void *arg, struct rsm_listener *l);

/* The listening handle is closed (rsm_listener_close). */
typedef void (*rsm_listener_close_cb)(void *arg);

/* Room for a peer name: "[ipv6]:port". */
#define RSM_LISTENER_PEER_MAX 64

/* One accepted connection, embedded in the owner's per-connection struct.
 * tcp is the connection's handle; tcp.data is the owner's pointer. The
 * owner reads and writes through the rsm_listener_conn_* calls below, the
 * same as libuv's, which add TLS when the listener has a context. */
struct rsm_listener_conn {
    uv_tcp_t tcp;                     /* first: the handle is the conn */
    char peer[RSM_LISTENER_PEER_MAX]; /* "ip:port", "[ip6]:port", "?" */
    struct rsm_tls_session *tls;      /* NULL: plaintext; private */
    uv_alloc_cb alloc_cb;             /* the owner's, with TLS; private */
    uv_read_cb read_cb;               /* the owner's, with TLS; private */
    struct rsm_listener *owner;       /* private */
    struct rsm_listener_conn *next;   /* the set, read-only: see
                                         rsm_listener_first() */
    struct rsm_listener_conn *prev;   /* private */
};

struct rsm_listener_config {
    const struct rsm_addr *bind; /* host may be a name; port 0: any */
    int backlog;                 /* listen(2) backlog */
    unsigned max_conns;          /* connections admitted at once */
    const char *log_prefix;      /* "api", "http": names the log events */
    struct rsm_tls *tls;         /* a server context: TLS on every
                                    connection; NULL: plaintext. Not
                                    owned; must outlive the listener */
};

/* Fields are private: use the functions below. */
struct rsm_listener {
    uv_loop_t *loop;
    uv_tcp_t *tcp; /* NULL once closing */
    rsm_listener_cb cb;
    void *arg;
    rsm_listener_close_cb close_cb;
    void *close_arg;
    unsigned max_conns;
    struct rsm_listener_conn *first; /* the set */
    unsigned conns;                  /* in the set */
    unsigned refused;                /* refusals since refused_logged_ms */
    uint64_t refused_logged_ms;      /* uv_now() of the last refusal logged */
    unsigned tls_failed;             /* TLS failures since tls_logged_ms */
    uint64_t tls_logged_ms;          /* uv_now() of the last one logged */
    uint16_t port;
    struct rsm_tls *tls;
    char name[RSM_ADDR_STRLEN]; /* the bind address as configured */
    char prefix[16];
};

/* Listen on cfg->bind; cb(arg, l) runs for each incoming connection.
 * Returns 0, or RSM_ERESOLVE (the name did not resolve) / RSM_EIO (bind or
 * listen failed, e.g. address in use) / RSM_ENOMEM, with errmsg
 * "listen <host:port>: <why>". On error the owner has nothing to close:
 * a failed resolve or bind leaves nothing on the loop (the socket is bound
 * before it becomes a libuv handle); only if libuv then refuses the bound
 * socket is a handle left closing, which frees itself: run the loop before
 * uv_loop_close(). */
int rsm_listener_start(struct rsm_listener *l, uv_loop_t *loop,
                       const struct rsm_listener_config *cfg,
                       rsm_listener_cb cb, void *arg, char *errmsg,
                       size_t errlen);

/* The port actually listened on (the kernel's pick for port 0). */
uint16_t rsm_listener_port(const struct rsm_listener *l);

/* The bind address as configured ("host:port"), for messages. */
const char *rsm_listener_name(const struct rsm_listener *l);

/* From the callback: initialise c->tcp on l's loop (tcp.data = data),
 * accept the waiting connection into it and name the peer in c->peer.
 * From now on, whatever the result, c->tcp is an open handle and c is in
 * the set: the owner closes the handle (uv_close) and calls
 * rsm_listener_release() from its close callback. Returns 0 (admitted),
 * RSM_EBUSY (accepted, but beyond max_conns: the refusal is logged; tell
 * the client and close it), or RSM_EIO (accept failed: close it). */
int rsm_listener_accept(struct rsm_listener *l, struct rsm_listener_conn *c,
                        void *data);

/* c's handle has closed: take it out of the set (and free its TLS
 * session). Allowed after rsm_listener_close(). */
void rsm_listener_release(struct rsm_listener *l, struct rsm_listener_conn *c);

/* The set, newest first; follow ->next. A connection may be closed while
 * iterating (it leaves the set only when released, from the loop). */
struct rsm_listener_conn *rsm_listener_first(const struct rsm_listener *l);

/* Connections in the set now (admitted or refused). */
unsigned rsm_listener_conns(const struct rsm_listener *l);

/* Stop listening (no callback runs after this) and close the handle;
 * cb(arg) (may be NULL) runs from the loop once it is closed. Call once,
 * after a successful start. Connections already accepted are the owner's
 * and stay open. */
void rsm_listener_close(struct rsm_listener *l, rsm_listener_close_cb cb,
                        void *arg);

/* Stopping a server built on a listener (resp_server.c, http.c): the
 * server is done once it is stopping, every handle it counts (the
 * listener's, its timers') has closed and every connection is released;
 * then the owner's stop callback runs and the owner frees itself. The
 * owner embeds one, zeroed, and counts its handles in open_handles as it
 * opens them. */
struct rsm_listener_stop {
    unsigned open_handles; /* counted handles not yet closed */
    bool stopping;
    rsm_listener_close_cb cb; /* the owner's stop callback, may be NULL */
    void *arg;
};

/* Start stopping (once): remember cb(arg) and close l, whose close
 * callback closed(owner) should call rsm_listener_stop_closed(). The
 * owner then closes its other handles and its connections. */
void rsm_listener_stop_begin(struct rsm_listener_stop *st,
                             struct rsm_listener *l, rsm_listener_close_cb cb,
                             void *arg, rsm_listener_close_cb closed,
                             void *owner);

/* Is the owner done (see struct rsm_listener_stop)? If so the stop
 * callback has run: the caller frees the owner. Call when a connection is
 * released. */
bool rsm_listener_stop_done(struct rsm_listener_stop *st,
                            const struct rsm_listener *l);

/* A counted handle has closed: rsm_listener_stop_done(). */
bool rsm_listener_stop_closed(struct rsm_listener_stop *st,
                              const struct rsm_listener *l);

/* --- I/O of an accepted connection (listener_io.c) -----------------------
 *
 * Plaintext: exactly libuv's calls on c->tcp. With TLS, the same contract
 * on the plaintext: the handshake runs first, inside the reads; alloc_cb
 * and read_cb get decrypted bytes; read_cb gets UV_EOF at the client's
 * close_notify or EOF and UV_EPROTO when TLS fails (the failure is
 * logged as "tls-failed" with the listener's prefix, the peer and
 * OpenSSL's reason, at most once a second with the count).
 * Differences: a pause (read_stop) takes effect once the bytes of the
 * current socket read are delivered (at most one read, 64 KB); a write
 * before the handshake is done fails with UV_ENOTCONN (a client refused
 * at accept is then closed without a reply); try_write always returns
 * UV_EAGAIN. */

int rsm_listener_conn_read_start(struct rsm_listener_conn *c,
                                 uv_alloc_cb alloc_cb, uv_read_cb read_cb);
int rsm_listener_conn_read_stop(struct rsm_listener_conn *c);
int rsm_listener_conn_write(struct rsm_listener_conn *c, uv_write_t *req,
                            const uv_buf_t bufs[], unsigned nbufs,
                            uv_write_cb cb);
int rsm_listener_conn_try_write(struct rsm_listener_conn *c,
                                const uv_buf_t bufs[], unsigned nbufs);
size_t rsm_listener_conn_write_queue_size(const struct rsm_listener_conn *c);
/* listener_io.c: TLS failed on a connection of l; logged (rate-limited). */
void rsm_listener_tls_failed(struct rsm_listener *l, const char *peer,
                             const char *why);

/* With TLS a close_notify goes out first. */
int rsm_listener_conn_shutdown(struct rsm_listener_conn *c, uv_shutdown_t *req,
                               uv_shutdown_cb cb);

#endif /* RSM_LISTENER_H */
