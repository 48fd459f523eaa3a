/* transport.h - the Raft TCP transport of the agent: DNS names on every
 * connect and, with a group secret, an authenticated handshake before
 * libraft sees a byte.
 *
 * canonical/raft 0.15's own TCP transport only understands dotted IPv4
 * "a.b.c.d:port" addresses. Agents are configured with member addresses
 * "host:raftport[/apiport]" (see node.h) where host is usually a DNS name
 * whose IP changes when a pod is rescheduled. On every connect this
 * transport strips the "/apiport" suffix and resolves the host with
 * uv_getaddrinfo (IPv4, first answer). The listening socket binds to the
 * address given at init (a host name is resolved once, there).
 *
 * Without a secret, "ip:port" goes to raft_uv_tcp, which does TCP and its
 * own small handshake (protocol, id, address); incoming connections are
 * raft_uv_tcp's, passed through. Anyone who reaches the port can then send
 * RequestVote or AppendEntries: start-up logs raft-unauthenticated.
 *
 * With a secret (struct rsm_transport_auth), TCP is ours on both sides:
 * every connection runs the raftauth.h handshake (both sides prove the
 * secret; the dialled id, and the cluster ids when both are known, must
 * match) and only then is the stream handed to raft_uv, with the peer's id
 * and address from the handshake (raft_uv_tcp's handshake is not sent:
 * raft_uv itself reads and writes nothing but messages on the stream). A
 * connection that fails is closed, counted (auth_refused incoming,
 * auth_failed outgoing) and logged (raft-auth-refused, raft-auth-failed;
 * once per peer and reason per minute). The two kinds of agents cannot
 * talk to each other: add the secret one agent at a time (a majority keeps
 * talking), after every agent runs a version that has the flag.
 *
 * Ownership: the caller owns the struct raft_uv_transport (embed it, e.g. in
 * the node) and passes it to raft_uv_init(). rsm_transport_init() allocates
 * the implementation (and a copy of the secret); raft_uv calls t->close()
 * while raft_close() runs; once the raft close callback has fired,
 * rsm_transport_destroy() frees what init allocated. All callbacks run on
 * the loop thread. */
#ifndef RSM_TRANSPORT_H
#define RSM_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "rsm/addr.h"

struct rsm_tls;

/* Counters for status, /metrics and tests. */
struct rsm_transport_stats {
    bool authenticated;      /* a secret is configured */
    uint64_t connects;       /* connect requests from raft */
    uint64_t resolve_errors; /* host names that did not resolve */
    uint64_t connect_errors; /* resolved, then TCP failed or timed out
                                (with a secret: or the handshake timed
                                out) */
    uint64_t auth_refused;   /* incoming connections that failed the
                                handshake (nothing reached raft) */
    uint64_t auth_failed;    /* outgoing connections that failed it */
    uint64_t auth_accepted;  /* incoming connections handed to raft */
    bool tls;                /* every connection is mutual TLS */
    uint64_t tls_failed;     /* TLS handshakes that failed (either side:
                                another CA, an expired certificate, a
                                plaintext peer, a certificate that does
                                not name the member) */
};

/* The group secret, TLS, and this agent's identity. The secret is copied
 * at init; cluster_id (may be NULL: always "") is called at every
 * handshake and returns the group's cluster id or "" while unknown.
 *
 * With TLS (both contexts set) every connection is mutual TLS before
 * anything else: the client verifies that the server's certificate names
 * the host of the member address it dialled, the server that the
 * client's certificate names the host of the member address it claims in
 * HELLO (a DNS name or an IP address of the certificate's
 * subjectAltName). Then the handshake runs inside TLS; without a secret
 * it runs with a built-in key: it carries the ids, addresses and cluster
 * ids and proves nothing itself, the certificates do. libraft gets one
 * end of a socketpair per connection; the transport pumps between it and
 * the TLS session on the TCP connection (transport_tls.c). */
struct rsm_transport_auth {
    const unsigned char *secret; /* NULL or secret_len 0: no handshake
                                    (unless TLS) */
    size_t secret_len;
    struct rsm_tls *tls_server; /* NULL: no TLS; requires client
                                   certificates */
    struct rsm_tls *tls_client; /* with this agent's certificate */
    raft_id self_id;            /* must be the id raft_init() is given */
    const char *(*cluster_id)(void *arg);
    void *arg;
};

/* Set up *t as a resolving TCP transport on loop, listening on bind (its
 * host: an IPv4 address, a name resolved now, or "0.0.0.0"), with the
 * handshake if auth has a secret (auth may be NULL). 0, or RSM_ERESOLVE /
 * RSM_EINVAL / RSM_ENOMEM / RSM_ERAFT with errmsg. On error nothing is
 * left to free. Blocking DNS lookup of bind's host if it is a name
 * (start-up only). */
int rsm_transport_init(struct raft_uv_transport *t, uv_loop_t *loop,
                       const struct rsm_addr *bind,
                       const struct rsm_transport_auth *auth, char *errmsg,
                       size_t errlen);

/* Release what rsm_transport_init() allocated. Only after the transport was
 * closed (raft's close callback fired) or was never handed to raft_uv. */
void rsm_transport_destroy(struct raft_uv_transport *t);

/* Read the counters. */
void rsm_transport_get_stats(const struct raft_uv_transport *t,
                             struct rsm_transport_stats *out);

#endif /* RSM_TRANSPORT_H */
