/* identity.h - is the agent that answered the one we asked?
 *
 * Agents reach each other's client ports by address, and an address can be
 * wrong: a missing "/apiport" once made a leader ask itself for the views of
 * the two other agents and count its own view three times. So every reply
 * that feeds a decision names the agent that sent it and its cluster id
 * (RSM VIEWS starts with ["agent", id, "cluster", cluster-id]), and the
 * asking agent checks the claim here before it counts anything. Pure. */
#ifndef RSM_IDENTITY_H
#define RSM_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "rsm/addr.h"

#define RSM_IDENTITY_WHY_MAX 192 /* a why[] that holds every sentence */

enum rsm_identity_verdict {
    RSM_IDENTITY_OK = 0,
    RSM_IDENTITY_MISSING,       /* no (or a malformed) identity */
    RSM_IDENTITY_SELF,          /* the asker itself answered */
    RSM_IDENTITY_OTHER_AGENT,   /* another member answered */
    RSM_IDENTITY_OTHER_CLUSTER, /* an agent of another group answered */
    RSM_IDENTITY_ADDR_IS_SELF,  /* the address is the asker's own */
};

/* What an answer claims: agent id (0 = none given) and cluster id ("" =
 * the answering agent does not know its group's yet). */
struct rsm_identity_claim {
    uint64_t agent_id;
    const char *cluster_id;
};

/* Check claim against what was asked: the member `asked`, by agent
 * `self` of cluster `cluster` ("" = this agent does not know it yet: any
 * cluster id is then accepted). Two known cluster ids must be equal. On
 * anything but OK, why (if not NULL) receives a sentence for logs and
 * status, e.g. "answered as agent 1 (this agent): its address points
 * here". */
enum rsm_identity_verdict
rsm_identity_check(const struct rsm_identity_claim *claim, uint64_t asked,
                   uint64_t self, const char *cluster, char *why, size_t len);

/* Before asking: RSM_IDENTITY_ADDR_IS_SELF (with why) if member asked's
 * address peer is this agent's own client address self_api (equal host
 * and port; an empty self_api never matches), else OK. */
enum rsm_identity_verdict
rsm_identity_check_addr(const struct rsm_addr *peer, uint64_t asked,
                        const struct rsm_addr *self_api, char *why, size_t len);

/* "ok", "missing", "self", "other-agent", "other-cluster",
 * "address-is-self" ("unknown" out of range). */
const char *rsm_identity_verdict_str(enum rsm_identity_verdict v);

#endif /* RSM_IDENTITY_H */
