/* advertise.h - this agent tells its group where its ports are.
 *
 * The others must never guess where an agent's client port is: a guess
 * (the asking agent's own port on the member's host, when "/apiport" is
 * missing from --peers) once made a leader ask itself for every other
 * agent's view. So each agent commits its own client and HTTP addresses to
 * the log (an AdvertiseAgent entry, see fsm.h), and every agent reads them
 * back from there (rsm_node_get_status() prefers them).
 *
 * What it does, checked once a second and at every node event until the
 * log holds this agent's current addresses:
 *   - as the leader (barrier committed): propose AdvertiseAgent itself. The
 *     first one also fixes the group's cluster id: the one in the data dir
 *     if any (an agent upgraded in place keeps its group's), else 16 random
 *     bytes;
 *   - as a follower, once the log has a cluster id: send
 *     `RSM ADVERTISE <id> <cluster-id> <api> <http|->` to the leader's
 *     client port (its advertised one), which commits it. A refusal is
 *     logged once per distinct answer (event advertise-refused) and tried
 *     again later.
 *
 * Ownership: rsm_advertise_start() allocates; rsm_advertise_stop() closes
 * the timer and the link and frees it once they are closed, then calls
 * cb. Callbacks run on the loop thread. */
#ifndef RSM_ADVERTISE_H
#define RSM_ADVERTISE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "rsm/addr.h"
#include "rsm/node.h"

struct rsm_advertise;

struct rsm_advertise_config {
    uint64_t id;
    struct rsm_addr api;             /* this agent's client address, as others
                                        reach it */
    struct rsm_addr http;            /* its HTTP address; empty: none */
    char agent_password[256];        /* AUTH to the leader's client port, "" for
                                        none; never logged, wiped at stop */
    const struct rsm_tls *agent_tls; /* TLS to it (--tls-api), NULL:
                                        plaintext; not owned */
};

/* Start (the node must outlive the stop callback: a proposal in flight
 * is waited for). 0, or RSM_ENOMEM. */
int rsm_advertise_start(uv_loop_t *loop, const struct rsm_advertise_config *cfg,
                        struct rsm_node *node, struct rsm_advertise **out,
                        char *errmsg, size_t errlen);

/* Forward the node's events (leadership, applied entries). */
void rsm_advertise_node_event(struct rsm_advertise *a, enum rsm_node_event ev);

/* true once the log holds this agent's current addresses. */
bool rsm_advertise_done(const struct rsm_advertise *a);

typedef void (*rsm_advertise_stop_cb)(void *arg);
void rsm_advertise_stop(struct rsm_advertise *a, rsm_advertise_stop_cb cb,
                        void *arg);

/* This agent's address for others, from its bind address: the bind host
 * unless it is a wildcard ("0.0.0.0", "::", ""), then fallback_host (the
 * host of its own --peers entry). */
void rsm_advertise_default(const struct rsm_addr *bind,
                           const char *fallback_host, struct rsm_addr *out);

#endif /* RSM_ADVERTISE_H */
