/* transport_int.h - what the files of the Raft transport share: its state
 * (struct impl), connect requests (struct conn), handshakes (struct hs),
 * and the helpers one file defines for another. Private to src/raft.
 *
 *   transport.c         init, listen, close, counters (raft_uv's hooks)
 *   transport_connect.c connect requests: names resolved, raft_uv_tcp's
 *                       connect with a deadline, the answer to raft_uv
 *   transport_hs.c      with a secret: our own TCP, both sides of the
 *                       handshake, the hand-over to raft_uv
 *   transport_authlog.c handshake failures in the log
 *
 * Ownership: see transport.h; the lifetime of each struct is above it. */
#ifndef RSM_RAFT_TRANSPORT_INT_H
#define RSM_RAFT_TRANSPORT_INT_H

#include "rsm/transport.h"
#include "rsm/node.h"
#include "rsm/raftauth.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* raft_uv_tcp's connect has no deadline: a SYN to an address nobody owns
 * any more (a pod moved) is retried by the kernel for minutes, and raft_uv
 * does not try again meanwhile. After this long raft_uv is told the connect
 * failed; it retries, and the retry resolves the name again. The abandoned
 * attempt ends on its own (its stream, if any, is closed). */
#define CONNECT_TIMEOUT_MS 2000

/* Handshake failures remembered for the log (transport_authlog.c). */
#define AUTH_LOG_SLOTS 64

/* "255.255.255.255:65535" */
#define IPPORT_LEN (INET_ADDRSTRLEN + 8)
/* Peers whose resolution we remember for logging (by id). */
#define PEERS_TRACKED (2 * RSM_MAX_AGENTS)

struct conn;
struct hs;
struct pump;

/* What we remember about a peer: log resolution failures and IP changes
 * once, not on every retry. */
struct peer_seen {
    raft_id id;
    bool failing;
    char ip[INET_ADDRSTRLEN];
};

/* A handshake failure logged recently: incoming ones by the peer's IP and
 * claimed id, outgoing ones by the member id. */
struct auth_seen {
    bool used, incoming;
    char ip[INET_ADDRSTRLEN];
    raft_id id;
    enum rsm_raftauth_reason reason, peer_reason;
    uint64_t last_ms;    /* loop time of the line logged */
    unsigned suppressed; /* failures since, not logged */
};

struct impl {
    uv_loop_t *loop;
    struct raft_uv_transport *outer;
    struct raft_uv_transport inner; /* raft_uv_tcp, without a secret */
    char bind[IPPORT_LEN];
    raft_uv_accept_cb accept_cb;
    struct conn *pending; /* connect requests in flight */
    unsigned n_pending;
    bool closing, inner_closed;
    raft_uv_transport_close_cb close_cb;
    struct rsm_transport_stats stats;
    struct peer_seen peers[PEERS_TRACKED];

    /* With a secret (auth): our own listener and handshakes. */
    bool auth;
    unsigned char *secret; /* a copy, cleansed on destroy */
    size_t secret_len;
    raft_id self_id;
    char self_addr[RSM_RAFTAUTH_ADDR_MAX + 1]; /* from raft's init */
    const char *(*cluster_id)(void *arg);
    void *cluster_id_arg;
    uv_tcp_t listener;   /* or, if never listening, closer below */
    uv_timer_t closer;   /* closed at close() when not listening */
    bool listener_on;    /* listener initialised */
    struct hs *incoming; /* handshakes of accepted connections */
    unsigned n_incoming;
    struct auth_seen seen[AUTH_LOG_SLOTS];

    /* With TLS (tls_server set): every connection's pump
     * (transport_tls.c). */
    struct rsm_tls *tls_server, *tls_client;
    struct pump *pumps;
    unsigned n_pumps;
};

/* Steps of a handshake. */
enum hs_step {
    HS_CONNECTING, /* client: TCP connect in flight */
    HS_TLS,        /* either side: the TLS handshake (transport_tls.c) */
    HS_HELLO,      /* client: HELLO sent, CHALLENGE due; server: HELLO due */
    HS_PROOF,      /* client: PROOF being written; server: PROOF due */
};

/* One handshake with a secret, client or server side: our TCP handle (a
 * raft_malloc'd uv_tcp_t, as raft_uv frees the streams it owns with
 * raft_free) and a deadline timer. Freed once both are closed, or, after
 * the stream went to raft_uv, once the timer is closed. Reads take exactly
 * one message at a time, so the bytes after the handshake stay in the
 * socket for raft_uv. */
struct hs {
    struct impl *im;
    struct conn *out;    /* client side: the connect request; NULL: server */
    uv_tcp_t *tcp;       /* the TCP connection, until the pump takes it */
    uv_stream_t *stream; /* what the handshake reads and writes, and what
                            raft_uv gets: tcp, or with TLS the pump's
                            socketpair end (a uv_pipe_t); NULL once
                            handed over */
    struct pump *pump;   /* with TLS, while both live */
    uv_timer_t timer;
    uv_connect_t connect;
    uv_write_t wreq[2];
    unsigned char wbuf[2][RSM_RAFTAUTH_FRAME_MAX];
    unsigned n_writes, n_writing;
    unsigned open;   /* our handles still open (tcp, timer) */
    bool aborting;   /* our handles are closing */
    bool verified;   /* handshake passed: hand over once writes are done */
    bool sync_error; /* uv_tcp_connect failed at once */
    enum hs_step step;
    struct rsm_raftauth auth;
    unsigned char rbuf[RSM_RAFTAUTH_FRAME_MAX];
    size_t have, need;
    char peer[IPPORT_LEN]; /* the other end's "ip:port", for the log */
    char ip[INET_ADDRSTRLEN];
    struct hs *prev, *next; /* server side: impl's incoming list */
};

/* One connect request of raft_uv; freed once its callback ran (and, with a
 * secret, once the handles of its handshake are closed). */
struct conn {
    struct impl *im;
    struct raft_uv_connect *req; /* raft_uv's request */
    struct raft_uv_connect inner_req;
    uv_getaddrinfo_t gai;
    raft_id id;
    struct rsm_addr addr; /* Raft host:port of the peer */
    bool resolving;
    uv_timer_t timer; /* CONNECT_TIMEOUT_MS, once connecting */
    bool timer_on;    /* timer initialised: close it before free */
    bool answered;    /* raft_uv's callback has run */
    bool auth_on;     /* hs below is in use: it frees the conn */
    struct hs hs;
    struct conn *prev, *next;
};

/* --- transport.c --------------------------------------------------- */

/* Fire the user's close callback once everything has settled. */
void transport__maybe_closed(struct impl *im);

/* im->bind ("a.b.c.d:port") as a socket address: 0 or a libuv error. */
int transport__bind_addr(const struct impl *im, struct sockaddr_in *sa);

/* --- transport_connect.c ------------------------------------------- */

/* raft_uv_transport->connect. */
int transport__connect(struct raft_uv_transport *t, struct raft_uv_connect *req,
                       raft_id id, const char *address, raft_uv_connect_cb cb);

/* Take c off im's list of connect requests. */
void transport__unlink_conn(struct impl *im, struct conn *c);

/* Run raft_uv's callback of c (once). */
void transport__answer(struct conn *c, uv_stream_t *stream, int status);

/* An outgoing stream: see SEND_USER_TIMEOUT_MS. */
void transport__set_user_timeout(uv_tcp_t *tcp);

/* --- transport_hs.c ------------------------------------------------ */

/* With a secret: connect to ip:port ourselves, with a deadline, and run
 * the client side of the handshake. 0, or RAFT_NOMEM with nothing to
 * undo; every other failure is reported to raft_uv from the loop. */
int transport__auth_connect(struct conn *c, const char *ip);

/* With a secret: listen on im->bind ourselves. 0 or RAFT_IOERR with
 * errmsg. */
int transport__auth_listen(struct impl *im, char *errmsg, size_t errlen);

/* close() with a secret: stop listening, abort every handshake. */
void transport__auth_close(struct impl *im);

/* --- transport_hs.c, for transport_tls.c --------------------------- */

/* TLS is up on hs's connection: go on with the handshake (inside it). */
void transport__hs_tls_ready(struct hs *hs);

/* TLS failed on hs's connection (why: OpenSSL's reason). */
void transport__hs_tls_failed(struct hs *hs, const char *why);

/* --- transport_tls.c ----------------------------------------------- */

/* With TLS: make hs's connection TLS. The pump takes hs->tcp (connected
 * or accepted) and gives hs->stream the other end of a socketpair;
 * hs->open is unchanged (the stream replaces the TCP handle). A client
 * verifies the server against peer_host. transport__hs_tls_ready() or
 * _failed() runs later, from the loop. 0, or a libuv error with hs->tcp
 * still hs's. */
int transport__pump_start(struct hs *hs, const char *peer_host);

/* hs is done with its pump (handed over or aborting): no callback to hs
 * any more. */
void transport__pump_detach(struct hs *hs);

/* Does the peer's certificate on hs's connection name host? */
bool transport__pump_peer_is(const struct hs *hs, const char *host);

/* close(): close every pump; transport__maybe_closed() waits for them. */
void transport__pumps_close(struct impl *im);

/* --- transport_authlog.c ------------------------------------------- */

/* One raft-auth-refused (incoming) or raft-auth-failed (outgoing) line,
 * unless one like it was logged less than a minute ago. */
void transport__log_auth_failure(struct hs *hs, enum rsm_raftauth_reason r,
                                 const char *why);

#endif /* RSM_RAFT_TRANSPORT_INT_H */
