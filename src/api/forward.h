/* forward.h - pass one client request on to another agent's client port
 * and relay the answer.
 *
 * Sentinel takes SENTINEL FAILOVER on any Sentinel; here only the Raft
 * leader can decide, so a follower sends the request on to the leader
 * (the address the leader advertised, see node.h) and gives its client
 * the leader's reply as it is. The forwarding link says who it is first
 * (CLIENT SETNAME RSM_FORWARD_NAME_PREFIX<id>), and an agent never
 * forwards a request that came on such a link: two agents that each take
 * the other for the leader answer -NOTLEADER instead of passing the
 * request back and forth.
 *
 * Each forward has its own link (rsm_redis, with the agents' password),
 * closed once the answer is in.
 *
 * Ownership: rsm_forward_start() allocates; the forward frees itself after
 * its callback has run and its link is closed. rsm_forward_cancel() makes
 * the callback run at once with RSM_ECANCELED (from inside the call). */
#ifndef RSM_FORWARD_H
#define RSM_FORWARD_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "rsm/addr.h"
#include "rsm/redis.h"
#include "rsm/resp_server.h"

#define RSM_FORWARD_NAME_PREFIX "rsm-agent-"

struct rsm_forward;

/* The answer: res as rsm_redis gives it (status 0 or RSM_EREPLY with the
 * reply; another status with errmsg when the leader was not reached or
 * did not answer in time). res->reply is valid during the call only. */
typedef void (*rsm_forward_cb)(void *arg, struct rsm_forward *f,
                               const struct rsm_redis_result *res);

struct rsm_forward_config {
    struct rsm_addr to;
    const char *password;      /* AUTH on the link, NULL for none (copied) */
    uint64_t agent_id;         /* the forwarding agent, in its link's name */
    uint64_t timeout_ms;       /* connect + answer */
    const struct rsm_tls *tls; /* TLS to the leader's client port (the
                                  agents' --tls-api), NULL: plaintext */
};

/* Send argv (argc words) to cfg->to; cb runs exactly once, never from
 * inside this call. 0, or RSM_ENOMEM / RSM_EINVAL (cb not called). */
int rsm_forward_start(uv_loop_t *loop, const struct rsm_forward_config *cfg,
                      int argc, const char *const *argv, rsm_forward_cb cb,
                      void *arg, struct rsm_forward **out);

/* Give up: cb runs now with RSM_ECANCELED (unless it ran already). */
void rsm_forward_cancel(struct rsm_forward *f);

/* Is name (a client's CLIENT SETNAME, may be NULL) a forwarding agent's? */
bool rsm_forward_is_agent(const char *name);

/* Append rep to r as it is (statuses, errors, integers, bulk strings,
 * nils and arrays, nested). */
void rsm_forward_relay(struct rsm_resp_reply *r, const redisReply *rep);

#endif /* RSM_FORWARD_H */
