/* topology.h - the one-shot decision of `rsmctl promote`.
 *
 * Given one observation per endpoint of a replication group, decide what the
 * seed tool decided, but safely:
 *   - exactly one reachable master and every reachable replica follows it
 *     (master_host:port equal to it, or listed among its connected replicas)
 *     -> HEALTHY, nothing to do (replicas still syncing are reported);
 *   - one reachable master, some replicas follow another address -> REPOINT
 *     those to the master;
 *   - no reachable master -> PROMOTE the best eligible replica (policy
 *     ranking) and re-point every other reachable instance to it, unless a
 *     reachable replica still reports its link up to a master outside the
 *     list, or listed but unreachable from here (then MASTER_ELSEWHERE: the
 *     master is alive, refuse to act);
 *   - several reachable masters -> MISCONFIGURED: the best master by the same
 *     ranking stays master, every other instance is re-pointed to it;
 *   - no eligible replica -> NO_CANDIDATE; nothing reachable -> UNREACHABLE.
 * Instances that already follow the chosen master are not re-pointed;
 * reachable instances whose INFO gave no role are never acted on.
 * Pure: no I/O; the caller executes the plan. */
#ifndef RSM_TOPOLOGY_H
#define RSM_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>

#include "rsm/policy.h"

/* Endpoints per one-shot run. */
#define RSM_TOPOLOGY_MAX 64

enum rsm_verdict {
    RSM_VERDICT_HEALTHY = 0,
    RSM_VERDICT_REPOINT,
    RSM_VERDICT_PROMOTE,
    RSM_VERDICT_MISCONFIGURED,
    RSM_VERDICT_MASTER_ELSEWHERE,
    RSM_VERDICT_NO_CANDIDATE,
    RSM_VERDICT_UNREACHABLE,
};

struct rsm_plan {
    enum rsm_verdict verdict;
    long master;      /* index of the master to keep or promote; -1 */
    bool promote;     /* send REPLICAOF NO ONE to `master` first */
    size_t n_repoint; /* instances to send REPLICAOF <master> */
    size_t repoint[RSM_TOPOLOGY_MAX];
    size_t n_ranked;                           /* entries in ranking[] (== n) */
    struct rsm_rank ranking[RSM_TOPOLOGY_MAX]; /* of the candidates ranked */
    char reason[256];                          /* one line for the operator */
};

/* Decide for n (<= RSM_TOPOLOGY_MAX) endpoints. Returns 0 and fills *plan,
 * or RSM_EINVAL if n is too large or one instance is listed twice (same
 * address, or two reachable entries with the same run_id); then
 * plan->reason says why and the plan does nothing. */
int rsm_topology_decide(const struct rsm_candidate *c, size_t n,
                        const struct rsm_policy_config *cfg,
                        struct rsm_plan *plan);

/* "healthy", "repoint", "promote", ... */
const char *rsm_verdict_str(enum rsm_verdict v);

/* true if the plan changes something on a Redis instance. */
bool rsm_plan_acts(const struct rsm_plan *plan);

#endif /* RSM_TOPOLOGY_H */
