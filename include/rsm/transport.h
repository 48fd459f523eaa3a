/* transport.h - the Raft TCP transport of the agent: raft_uv_tcp with DNS.
 *
 * canonical/raft 0.15's own TCP transport only understands dotted IPv4
 * "a.b.c.d:port" addresses. Agents are configured with member addresses
 * "host:raftport[/apiport]" (see node.h) where host is usually a DNS name
 * whose IP changes when a pod is rescheduled. This transport wraps
 * raft_uv_tcp: on every connect it strips the "/apiport" suffix, resolves
 * the host with uv_getaddrinfo (IPv4, first answer) and hands "ip:port" to
 * raft_uv_tcp, which does the handshake and the stream. Incoming connections
 * are raft_uv_tcp's, passed through unchanged. The listening socket binds to
 * the address given at init (a host name is resolved once, there).
 *
 * Ownership: the caller owns the struct raft_uv_transport (embed it, e.g. in
 * the node) and passes it to raft_uv_init(). rsm_transport_init() allocates
 * the implementation; raft_uv calls t->close() while raft_close() runs; once
 * the raft close callback has fired, rsm_transport_destroy() frees what init
 * allocated. All callbacks run on the loop thread. */
#ifndef RSM_TRANSPORT_H
#define RSM_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "rsm/addr.h"

/* Counters for status and tests. */
struct rsm_transport_stats {
    uint64_t connects;       /* connect requests from raft */
    uint64_t resolve_errors; /* host names that did not resolve */
    uint64_t connect_errors; /* resolved, then TCP or handshake failed */
};

/* Set up *t as a resolving TCP transport on loop, listening on bind (its
 * host: an IPv4 address, a name resolved now, or "0.0.0.0"). 0, or
 * RSM_ERESOLVE / RSM_EINVAL / RSM_ENOMEM / RSM_ERAFT with errmsg. On error
 * nothing is left to free. Blocking DNS lookup of bind's host if it is a
 * name (start-up only). */
int rsm_transport_init(struct raft_uv_transport *t, uv_loop_t *loop,
                       const struct rsm_addr *bind, char *errmsg,
                       size_t errlen);

/* Release what rsm_transport_init() allocated. Only after the transport was
 * closed (raft's close callback fired) or was never handed to raft_uv. */
void rsm_transport_destroy(struct raft_uv_transport *t);

/* Read the counters. */
void rsm_transport_get_stats(const struct raft_uv_transport *t,
                             struct rsm_transport_stats *out);

#endif /* RSM_TRANSPORT_H */
