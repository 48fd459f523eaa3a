/* policy.h - which instance to promote.
 *
 * Pure ranking of promotion candidates. Each candidate is either excluded
 * (with a reason that status output shows) or eligible; eligible candidates
 * are ordered by rsm_policy_compare(), a strict weak ordering that is total
 * once the final tie-breaks (run_id, then address) apply:
 *   0. synced before not synced (only matters with allow_not_synced);
 *   1. lower priority first (priority 0 is never eligible);
 *   2. higher replication offset;
 *   3. more recent contact with the master: a replica whose link is up with
 *      master_last_io_seconds_ago = s has contact age s; one whose link is
 *      down for d seconds has age d; unknown contact ranks last;
 *   4. smaller run_id (case-insensitive), an empty run_id last;
 *   5. smaller address (rsm_addr_compare).
 * Exclusions, checked in this order (the first that applies is reported):
 * unreachable, loading, priority 0, no usable offset, observation older than
 * max_info_age_ms, not synced with its master (rsm_policy_not_synced()),
 * link down much longer than the master has been down, lag above
 * max_lag_bytes.
 *
 * A replica that never completed a sync with its master holds none of that
 * master's data (its own, or nothing): promoting it loses everything, and a
 * master coming back with its data would then be wiped by a sync from it.
 * Only an operator may still ask for it (allow_not_synced, a forced manual
 * failover): then it is eligible but ranked after every synced candidate
 * (key 0). */
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
    RSM_EXCL_NOT_SYNCED, /* never completed a sync with its master */
};

/* What we know of one instance. The caller owns everything pointed to. */
struct rsm_candidate {
    struct rsm_addr addr;
    bool reachable;              /* a valid INFO reply was received */
    const struct rsm_info *info; /* NULL when !reachable */
    int64_t info_age_ms;         /* now - time of that reply */
    bool never_synced_seen;      /* the caller watched it begin following
                                    its master and never saw its link up
                                    since (detector.h); INFO alone cannot
                                    show that after a REPLICAOF from one
                                    master to another */
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
    bool allow_not_synced;    /* operator override (forced manual
                                 failover only, never automatic): a
                                 replica not synced with its master is
                                 eligible, ranked after every synced one */
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

/* Redis before 7.0 prints master_link_down_since_seconds as now - 0 for a
 * link that was never up (7.0 prints -1): a value this large (31 years)
 * means "never". */
#define RSM_POLICY_NEVER_LINKED_S 1000000000

/* Is c a replica that never completed a sync with the master it follows?
 * True when its link is down and either INFO shows it,
 * master_link_down_since_seconds -1 (Redis >= 7.0: no link since the
 * process started or last became a replica; also taken when the field is
 * absent) or >= RSM_POLICY_NEVER_LINKED_S (older Redis), or
 * c->never_synced_seen. A linked replica (master_link_status:up) has
 * completed its sync. Not evidence on their own: an offset of 0 or 1 (a
 * replica linked to a master that took no write since reads 0), and
 * master_sync_in_progress:1 after an earlier link (the replica keeps its
 * data until the transfer ends, and a promotion cancels the transfer: it
 * may be the one that kept the data when a master came back with less; a
 * first sync shows -1 as above). The reason, if any, goes to why. */
bool rsm_policy_not_synced(const struct rsm_candidate *c, char *why,
                           size_t len);

/* Why c is excluded (RSM_EXCL_NONE if eligible); text in reason. */
enum rsm_exclusion rsm_policy_exclusion(const struct rsm_candidate *c,
                                        const struct rsm_policy_config *cfg,
                                        char *reason, size_t len);

/* <0 if a should be promoted before b, >0 if after, 0 only when a and b
 * are the same instance. Both must be eligible. A candidate that is not
 * synced (eligible only with allow_not_synced) comes after every synced
 * one, before the keys above. */
int rsm_policy_compare(const struct rsm_candidate *a,
                       const struct rsm_candidate *b);

/* Rank n candidates into out[n]: eligible ones first, best first, then the
 * excluded ones in input order. Returns the number eligible. The result
 * does not depend on the order of the input (up to the index field). */
size_t rsm_policy_rank(const struct rsm_candidate *c, size_t n,
                       const struct rsm_policy_config *cfg,
                       struct rsm_rank *out);

/* Short name: "unreachable", "priority-zero", "not-synced", ... */
const char *rsm_exclusion_str(enum rsm_exclusion e);

#endif /* RSM_POLICY_H */
