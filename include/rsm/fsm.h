/* fsm.h - the replicated state machine of the agent group.
 *
 * Deterministic: the state after applying a sequence of entries depends on
 * nothing else (no clock, no randomness, no addresses of memory), so every
 * agent that applies the same log holds the same state. Every entry is
 * validated; a bad one (unknown group for a kind that needs one, wrong
 * epoch, failover in flight, malformed bytes) is rejected with a reason and
 * leaves the state unchanged.
 *
 * The rule that makes failovers exclusive: DecideFailover applies only when
 * its epoch == group.epoch + 1 and no failover is in flight (and, for an
 * automatic one, the group is not paused). Complete/Abort/Progress apply only
 * to the in-flight failover of their epoch.
 *
 * The rules per kind (checked in this order; the first that fails is the
 * reason, e.g. "epoch 3 is not next (group epoch 3)"):
 *   ObserveMaster    not a group removed by RemoveGroup (see there);
 *                    creates the group if absent; sets the master if none
 *                    is committed; the committed master again refreshes
 *                    run id and members; any other master (or none) is
 *                    refused: the master changes only through a failover.
 *                    An empty master records the members of a group that
 *                    has no master yet (then BOOTSTRAP decides one).
 *   DecideFailover   group exists; epoch == group.epoch + 1; nothing in
 *                    flight; not AUTOMATIC while paused; a new master that
 *                    is not the old master; BOOTSTRAP only while no master
 *                    is committed; old_master == the committed master when
 *                    there is one (else the decision is stale). Accepted:
 *                    epoch consumed, decision in flight, step NONE.
 *   FailoverProgress the in-flight epoch; the step moves forward only
 *                    (steps may be skipped; a repeat is refused as "step X
 *                    already recorded"); CAUGHT_UP only for a SWITCHOVER
 *                    decided with the pause method.
 *   CompleteFailover the in-flight epoch, result not ABORTED: the new
 *                    master is committed (run id cleared until observed),
 *                    a history item is appended (oldest dropped beyond
 *                    RSM_HISTORY_MAX), ended[result]++,
 *                    last_failover_end_ms = time_ms.
 *   AbortFailover    the in-flight epoch: master unchanged, epoch stays
 *                    consumed, history item RESULT_ABORTED with the abort
 *                    reason, ended[ABORTED]++, last_failover_end_ms =
 *                    time_ms.
 *   SetPaused        group exists.
 *   SetGroupConfig   group exists; the settings it carries replace the
 *                    group's (rsm_groupconf_merge; their ranges are the
 *                    entry's form, rsm_entry_check).
 *   MonitorGroup     no group of that name ("duplicated master name");
 *                    creates it with the master committed, the master
 *                    as its only member, the quorum as its setting and
 *                    `added` set; the name is no longer "removed".
 *   RemoveGroup      group exists; the group and its whole state are
 *                    dropped. A group not `added` (it came from
 *                    --monitor through ObserveMaster) is remembered as
 *                    removed (at most RSM_FSM_MAX_REMOVED names): its
 *                    ObserveMaster is refused from then on, so agents
 *                    whose --monitor still names it agree not to watch
 *                    it, until a MonitorGroup adds it again.
 *   AdvertiseAgent   no group. The cluster id is adopted if none is
 *                    recorded yet, else it must be the recorded one
 *                    ("belongs to cluster X"); the agent's addresses are
 *                    recorded (replacing its earlier ones; at most
 *                    RSM_FSM_MAX_AGENTS agents, a new one beyond is
 *                    refused).
 *
 * Ownership: the caller owns struct rsm_fsm (embed or allocate it), calls
 * rsm_fsm_init() and rsm_fsm_close(); groups are allocated inside. */
#ifndef RSM_FSM_H
#define RSM_FSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsm/entry.h"

#define RSM_HISTORY_MAX 32
/* How the reason of a MonitorGroup refused for an existing group starts
 * (the API answers Sentinel's "Duplicated master name" for it). */
#define RSM_FSM_DUPLICATE_GROUP "duplicated master name"
#define RSM_FSM_MAX_AGENTS      16 /* agents whose addresses are recorded */
#define RSM_FSM_MAX_REMOVED                                                    \
    4096 /* --monitor groups remembered as removed                             \
            (RSM_MAX_GROUPS) */

/* Where an agent said its ports are (AdvertiseAgent). */
struct rsm_agent_info {
    uint64_t id;
    struct rsm_addr api;  /* client (RESP) port */
    struct rsm_addr http; /* empty if none */
};

struct rsm_history_item {
    uint64_t epoch;
    enum rsm_failover_kind kind;
    enum rsm_failover_result result;
    struct rsm_addr old_master, new_master;
    int64_t decided_at_ms, ended_at_ms;
    int64_t old_offset, new_offset, data_at_risk;
    char reason[RSM_REASON_MAX];
};

struct rsm_group {
    char name[RSM_GROUP_NAME_MAX];
    bool has_master;
    struct rsm_addr master; /* committed master */
    char master_run_id[41];
    uint64_t epoch; /* last decided failover epoch */
    bool paused;
    unsigned n_members;
    struct rsm_addr members[RSM_MAX_MEMBERS];
    bool in_flight;
    struct rsm_entry decision; /* the DecideFailover in flight */
    int64_t decided_at_ms;
    enum rsm_failover_step step; /* last step recorded */
    unsigned n_history;          /* oldest first */
    struct rsm_history_item history[RSM_HISTORY_MAX];
    int64_t last_failover_end_ms;       /* 0 if never */
    uint64_t ended[RSM_RESULT_COUNT];   /* failovers ended, by result (never
                                           dropped, unlike the history; in
                                           snapshots) */
    struct rsm_group_settings settings; /* SENTINEL SET's (groupconf.h);
                                           0 fields: the agent's flags */
    bool added; /* by SENTINEL MONITOR (MonitorGroup), not --monitor */
};

struct rsm_fsm {
    struct rsm_group *groups; /* sorted by name */
    size_t n_groups;
    uint64_t applied;  /* entries accepted (in snapshots) */
    uint64_t rejected; /* entries rejected (in snapshots) */
    char cluster_id[RSM_CLUSTER_ID_LEN + 1]; /* "" until advertised */
    unsigned n_agents;                       /* sorted by id */
    struct rsm_agent_info agents[RSM_FSM_MAX_AGENTS];
    /* --monitor groups dropped by SENTINEL REMOVE (sorted; malloc'd, NULL
     * when none; in snapshots): not watched, even with the flag. */
    char (*removed)[RSM_GROUP_NAME_MAX];
    size_t n_removed;
};

void rsm_fsm_init(struct rsm_fsm *fsm);
void rsm_fsm_close(struct rsm_fsm *fsm);

/* Apply one entry. Returns 0 if it was accepted (applied++), RSM_EREJECTED
 * with the reason in reason[] otherwise (rejected++), or RSM_ENOMEM (state
 * unchanged, nothing counted: apply it again). reason is "" on success. */
int rsm_fsm_apply(struct rsm_fsm *fsm, const struct rsm_entry *e, char *reason,
                  size_t len);

/* Decode (codec) and apply encoded bytes: a malformed buffer is rejected
 * like a bad entry (RSM_EREJECTED, counted), never a crash. If out is not
 * NULL it receives the decoded entry (kind NONE if undecodable). */
int rsm_fsm_apply_bytes(struct rsm_fsm *fsm, const void *buf, size_t len,
                        struct rsm_entry *out, char *reason, size_t rlen);

/* Serialise the whole state (malloc'd buffer the caller frees). */
int rsm_fsm_snapshot(const struct rsm_fsm *fsm, void **buf, size_t *len);

/* Replace the state with a snapshot. On error (RSM_EPARSE with detail)
 * the old state is kept. */
int rsm_fsm_restore(struct rsm_fsm *fsm, const void *buf, size_t len,
                    char *errmsg, size_t errlen);

/* Lookup; NULL if the group is unknown. Pointers are valid until the next
 * apply/restore/close. */
const struct rsm_group *rsm_fsm_group(const struct rsm_fsm *fsm,
                                      const char *name);

/* true if name is a --monitor group dropped by SENTINEL REMOVE (and not
 * added again since). */
bool rsm_fsm_removed(const struct rsm_fsm *fsm, const char *name);

/* The addresses agent id advertised, or NULL. Valid until the next
 * apply/restore/close. */
const struct rsm_agent_info *rsm_fsm_agent(const struct rsm_fsm *fsm,
                                           uint64_t id);

/* true if both states are identical (for tests and cross-checks). */
bool rsm_fsm_equal(const struct rsm_fsm *a, const struct rsm_fsm *b);

#endif /* RSM_FSM_H */
