/* fence.h - managed fencing: the min-replicas-to-write and
 * min-replicas-max-lag the acting leader keeps on each instance of a group.
 *
 * Why. A master cut off from the agents and its replicas (but not from its
 * clients) keeps acknowledging writes after the agents have promoted a
 * replica: every one of them is lost when it is demoted, and until then
 * there are two writable masters. Redis can refuse writes by itself when
 * it has fewer than min-replicas-to-write replicas whose last ACK (sent
 * every second) is at most min-replicas-max-lag seconds old: such a master
 * fences itself, with no agent needed to reach it.
 *
 * What is kept where.
 *   The committed master: to_write = N, max_lag = S.
 *   Replicas: to_write = 0 (max-lag left alone: unused while to_write is
 *   0). A promoted replica then takes writes at once, before any replica
 *   has re-linked to it; its N is raised once they have (below). That is
 *   how the fence never makes a failover unavailable; the shell also sets
 *   to_write 0 right before every REPLICAOF NO ONE
 *   (rsm_fence_lower_before_promotion()).
 *   Any other instance (role:master but not the committed master, not
 *   answering, loading, role unknown): left alone; the planner deals with
 *   a rogue master.
 *
 * S, from down-after. The master refuses writes once no replica ACKed for
 * more than S seconds, checked by Redis once a second on whole seconds:
 * between S - 1 and S + 2 s after it was cut off (the last ACK may precede
 * the cut by up to a second). The agents promote a replica about
 * down-after after the cut. S = down-after in whole seconds - 2 (at least
 * 1, Redis's smallest) puts the refusal before the promotion for any
 * down-after of 3 s or more; at down-after 1000 ms the refusal comes
 * 0-3 s after the cut, about as the promotion does, and the window with
 * two writable masters shrinks to at most ~2 s instead of lasting until
 * the old master is reached again.
 *
 * N: a majority. Let live = the group's other instances the leader does
 * not see DOWN (no valid reply for down-after). The target is
 * T = (live + 1) / 2: the master and T replicas are a majority of the
 * instances not known to be down. With the usual 2 replicas T = 1 (the
 * master stops only when cut off from both); with 4, T = 2, so that a
 * master left with one replica on its side of a partition stops too. A
 * larger N would stop the master at every lagging or re-syncing replica;
 * N = 1 for every size would let a master cut off with a minority keep
 * writing. It is not a proof of a single writer: the agents do not need
 * a majority of Redis instances on their side to promote; it narrows the
 * windows in which two masters take writes.
 *
 * How N moves, from the current value c and the replicas the master's own
 * INFO lists as online with lag <= S ("good", what Redis counts):
 *   - c > T: lowered to T (fence-lowered). With every replica DOWN, T = 0:
 *     a master whose replicas are really gone (the agents see them down,
 *     the master answers) stays writable. Safe: no failover can promote a
 *     replica the agents cannot reach.
 *   - c < T and good > c: raised to min(T, good) (fence-raised): never
 *     beyond what Redis already counts, so raising never refuses a write;
 *     a replica coming back (or re-linking after a promotion) raises it.
 *   - otherwise kept. In particular replicas that answer the agents but
 *     are cut off from the master do not lower it: they can still be
 *     promoted, and a write they miss would be lost then. The master
 *     refuses writes until they are back (or seen down), which is the
 *     fence doing its job.
 * max-lag is set to S whenever N > 0 and it differs (fence-adjusted).
 * Nothing is decided for the committed master while a failover is in
 * flight, or while it does not answer with role:master.
 *
 * The leader decides from its own probes: replicas it alone cannot reach
 * look DOWN to it and lower the fence; that is safe for the reason above
 * as long as it leads, and a new leader reads every setting again.
 *
 * Pure: no I/O, no clock. The shell reads the settings (CONFIG GET) when
 * rsm_fence_decide() says READ, sends the CONFIG SETs (and CONFIG REWRITE)
 * it says SET, and logs the change as the named event
 * rsm_fence_change_event() gives. Every struct is a plain value owned by
 * the caller; nothing is kept beyond a call. */
#ifndef RSM_FENCE_H
#define RSM_FENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsm/addr.h"
#include "rsm/detector.h"

#define RSM_FENCE_REASON_MAX 192

/* --fence on|off and the max-lag to keep. */
struct rsm_fence_config {
    bool enabled;       /* off: never read or touch the settings */
    unsigned max_lag_s; /* S, >= 1 (see rsm_fence_max_lag_s()) */
};

/* Defaults: on, S for the default down-after (5000 ms): 3. */
void rsm_fence_config_init(struct rsm_fence_config *cfg);

/* S for a down-after: whole seconds of down_after_ms minus 2, at least 1
 * (1000 -> 1, 3000 -> 1, 5000 -> 3, 30000 -> 28). */
unsigned rsm_fence_max_lag_s(int64_t down_after_ms);

/* One instance's settings as this leader last read or set them. */
struct rsm_fence_setting {
    bool known;         /* false: never read, or no longer trusted */
    unsigned to_write;  /* min-replicas-to-write */
    unsigned max_lag_s; /* min-replicas-max-lag */
};

enum rsm_fence_action {
    RSM_FENCE_KEEP = 0, /* nothing to do (reason says why) */
    RSM_FENCE_READ,     /* read the settings first (CONFIG GET) */
    RSM_FENCE_SET,      /* set want (CONFIG SET), then CONFIG REWRITE */
};

enum rsm_fence_change {
    RSM_FENCE_NO_CHANGE = 0,
    RSM_FENCE_RAISED,   /* master: to_write up */
    RSM_FENCE_LOWERED,  /* master: to_write down */
    RSM_FENCE_RESET,    /* replica: to_write to 0 */
    RSM_FENCE_ADJUSTED, /* master: max-lag only */
};

struct rsm_fence_decision {
    enum rsm_fence_action action;
    enum rsm_fence_change change;  /* SET only */
    struct rsm_fence_setting want; /* SET: the settings wanted */
    bool set_to_write;             /* SET: send min-replicas-to-write */
    bool set_max_lag;              /* SET: send min-replicas-max-lag
                                      (before to_write) */
    unsigned live;                 /* committed master: other instances
                                      not DOWN */
    unsigned good;                 /* committed master: replicas online
                                      with lag <= S in its INFO */
    char reason[RSM_FENCE_REASON_MAX];
};

/* Everything a decision is made from; the caller owns every pointer,
 * valid during the call only. obs and current have n entries each, one
 * per configured instance of the group, in the same order. */
struct rsm_fence_input {
    const struct rsm_fence_config *cfg;
    const struct rsm_addr *master; /* the committed master, NULL if none */
    bool in_flight;                /* a failover of the group is in flight */
    const struct rsm_observation *obs;
    const struct rsm_fence_setting *current;
    size_t n;
};

/* What to do about instance `index` (see the top of this file). Returns 0,
 * or RSM_EINVAL (out says KEEP) if a pointer is NULL or index >= n. */
int rsm_fence_decide(const struct rsm_fence_input *in, size_t index,
                     struct rsm_fence_decision *out);

/* Right before REPLICAOF NO ONE: true if min-replicas-to-write must be
 * set to 0 first, so that the new master takes writes before its replicas
 * re-link. Whenever fencing is on, whatever this leader believes the
 * replica holds: an operator may have changed it since it was read, and
 * one command per promotion costs nothing. */
bool rsm_fence_lower_before_promotion(const struct rsm_fence_config *cfg);

/* The named event of a change: "fence-raised", "fence-lowered",
 * "fence-reset", "fence-adjusted"; "fence-unchanged" for NO_CHANGE or out
 * of range. */
const char *rsm_fence_change_event(enum rsm_fence_change c);

/* "keep", "read", "set" ("unknown" out of range). */
const char *rsm_fence_action_str(enum rsm_fence_action a);

#endif /* RSM_FENCE_H */
