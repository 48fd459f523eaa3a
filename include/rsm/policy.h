/* policy.h - which instance to promote.
 *
 * Pure ranking of promotion candidates. Each candidate is either excluded
 * (with a reason that status output shows) or eligible; eligible candidates
 * are ordered by rsm_policy_compare(), a strict weak ordering that is total
 * once the final tie-breaks (run_id, then address) apply:
 *   1. lower priority first (priority 0 is never eligible);
 *   2. higher replication offset;
 *   3. more recent contact with the master: a replica whose link is up with
 *      master_last_io_seconds_ago = s has contact age s; one whose link is
 *      down for d seconds has age d; unknown contact ranks last;
 *   4. smaller run_id (case-insensitive), an empty run_id last;
 *   5. smaller address (rsm_addr_compare).
 * Exclusions, checked in this order (the first that applies is reported):
 * unreachable, loading, priority 0, no usable offset, observation older than
 * max_info_age_ms, link down much longer than the master has been down,
 * lag above max_lag_bytes. */
#ifndef RSM_POLICY_H
#define RSM_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsm/addr.h"
#include "rsm/info.h"

enum rsm_exclusion {
    RSM_EXCL_NONE = 0,
    RSM_EXCL_UNREACHABLE,
    RSM_EXCL_LOADING,
    RSM_EXCL_PRIORITY_ZERO,
    RSM_EXCL_NO_OFFSET,
    RSM_EXCL_STALE,
    RSM_EXCL_LINK_DOWN_TOO_LONG,
    RSM_EXCL_LAGGING,
};

/* What we know of one instance. The caller owns everything pointed to. */
struct rsm_candidate {
    struct rsm_addr addr;
    bool reachable;              /* a valid INFO reply was received */
    const struct rsm_info *info; /* NULL when !reachable */
    int64_t info_age_ms;         /* now - time of that reply */
};

/* Knobs; zero/negative disables a rule. */
struct rsm_policy_config {
    int64_t max_info_age_ms;  /* exclude older observations (0 = off) */
    int64_t master_down_ms;   /* how long the master has been down, -1 if
                                 unknown (disables the link-down rule) */
    int64_t down_after_ms;    /* link-down rule: excluded if link down for
                                 more than master_down_ms +
                                 10 * down_after_ms */
    int64_t max_lag_bytes;    /* exclude if reference_offset - offset is
                                 larger (0 = off) */
    int64_t reference_offset; /* e.g. the master's last known offset */
};

#define RSM_REASON_MAX 128

/* One line of a ranking: which candidate, its place, or why it is out. */
struct rsm_rank {
    size_t index;  /* into the candidate array */
    unsigned rank; /* 1 = best; 0 if excluded */
    enum rsm_exclusion excluded;
    char reason[RSM_REASON_MAX]; /* human text, "" if eligible */
};

/* Fill cfg with defaults: everything off, master_down_ms = -1. */
void rsm_policy_config_init(struct rsm_policy_config *cfg);

/* Why c is excluded (RSM_EXCL_NONE if eligible); text in reason. */
enum rsm_exclusion rsm_policy_exclusion(const struct rsm_candidate *c,
                                        const struct rsm_policy_config *cfg,
                                        char *reason, size_t len);

/* <0 if a should be promoted before b, >0 if after, 0 only when a and b
 * are the same instance. Both must be eligible. */
int rsm_policy_compare(const struct rsm_candidate *a,
                       const struct rsm_candidate *b);

/* Rank n candidates into out[n]: eligible ones first, best first, then the
 * excluded ones in input order. Returns the number eligible. The result
 * does not depend on the order of the input (up to the index field). */
size_t rsm_policy_rank(const struct rsm_candidate *c, size_t n,
                       const struct rsm_policy_config *cfg,
                       struct rsm_rank *out);

/* Short name: "unreachable", "priority-zero", ... */
const char *rsm_exclusion_str(enum rsm_exclusion e);

#endif /* RSM_POLICY_H */
