/* planner.h - the leader's next step for one monitored group.
 *
 * Pure: rsm_planner_next() looks at the committed state of a group (from
 * the FSM), what the leader currently observes of each configured Redis
 * instance (detector.h), and the verdict on the committed master, and says
 * what to do now: nothing (with the reason), propose one log entry, or send
 * REPLICAOF commands. It keeps no memory between calls: everything it
 * decides follows from the committed state and the observations, so a new
 * leader calling it with the same log gets the same next step and resumes
 * an in-flight failover where the old leader left it.
 *
 * What it plans, in order of precedence:
 *   1. a failover in flight (committed DecideFailover not yet completed or
 *      aborted) is driven step by step, even if the group is paused:
 *        SEND_PROMOTE      REPLICAOF NO ONE to the chosen replica, until it
 *                          reports role:master;
 *        WAIT_PROMOTION    it does: propose FailoverProgress(PROMOTED);
 *        RECONF_SLAVES     REPLICAOF new-master to the other instances, at
 *                          most parallel_syncs of them syncing at once, and
 *                          to the old master at once if it answers; when
 *                          every reachable one is linked to the new master,
 *                          propose FailoverProgress(REPLICAS_POINTED);
 *        DEMOTE_OLD_MASTER REPLICAOF new-master to the old master if it
 *                          answers and is not its replica yet; then propose
 *                          CompleteFailover (stragglers = instances not
 *                          linked to the new master; the old master only if
 *                          it answers and was not demoted).
 *      Before promotion is verified, the failover is aborted (AbortFailover)
 *      when the chosen replica is DOWN or not monitored, restarted empty,
 *      reports an offset below the one it was chosen with (a full sync
 *      replaced its data, e.g. from a master that restarted empty), or
 *      failover_timeout_ms has passed since the decision. After it, a
 *      timeout completes the failover with stragglers instead, and so does
 *      a new master that restarted empty, at once (re-pointing replicas at
 *      it would wipe them; the verdict FAILED_RESTART then decides the
 *      next failover);
 *      A SWITCHOVER decision is driven differently before promotion, by
 *      the method recorded in it (see "Switchover" below);
 *   2. a manual failover requested (input manual_failover) with a master
 *      committed: DecideFailover{MANUAL} to the best replica by the policy
 *      ranking (the master is usually fine: the verdict is not needed and
 *      neither the anti-flap hold nor the paused flag applies), or nothing
 *      with the reason when no replica is eligible; forced (input force),
 *      a replica that never completed a sync with its master is eligible
 *      too, ranked after every synced one (policy allow_not_synced): the
 *      operator's override, never applied to any other decision;
 *   3. paused group: nothing;
 *   4. no committed master (group not in the FSM yet, or none recorded):
 *      once every member has answered or is DOWN (and no master found is
 *      loading or suspect), propose ObserveMaster for the master found
 *      (several: the one most replicas follow with their link up, then the
 *      highest offset, then the smallest address), with the configured
 *      members; with no master at all, and no replica still hearing from
 *      one: first ObserveMaster without a master (the FSM then knows the
 *      group and its members), then a BOOTSTRAP DecideFailover (epoch =
 *      committed epoch + 1) to the best replica, executed as in 1;
 *   5. committed master DOWN or FAILED_RESTART (the verdict): decide an
 *      automatic failover (epoch = committed epoch + 1) to the best replica
 *      by the policy ranking, unless the last failover ended less than
 *      min_failover_interval_ms ago ("flapping", not applied to a master
 *      that restarted empty) or the last attempt aborted less than
 *      down_after_ms ago, or no replica is eligible (reason lists each
 *      exclusion); UNREACHABLE_FROM_AGENT: nothing, with its reason.
 *      After a master restarted empty, its replicas may be wiped by a
 *      sync from it at any moment: a replica is ranked only on an INFO
 *      read after the restart was seen (observation restart_age_ms), and
 *      the decision waits for such a reading of every replica that
 *      answers (UP or RESTARTED) — the shell probes them at once when it
 *      sees the restart;
 *   6. committed master OK and reporting role:master: repair the topology:
 *      an instance claiming role:master that is not the committed master is
 *      made its replica after repoint_grace_ms of being seen so (at once if
 *      it is a former master from the group's history or restarted empty);
 *      a replica following another master is re-pointed after
 *      repoint_grace_ms (at most parallel_syncs syncing at once). With
 *      nothing to repair, propose ObserveMaster for the committed master
 *      when its committed run_id (cleared by every failover) or members
 *      differ from what is observed and configured.
 *
 * Switchover, method FAILOVER_CMD (Redis's coordinated failover):
 *        SEND_PROMOTE      FAILOVER TO target TIMEOUT remaining-ms to the
 *                          old master while it is role:master and the
 *                          target is linked to it (Redis pauses writes,
 *                          waits for the target to have every write, then
 *                          swaps roles, or gives up and resumes at the
 *                          timeout), until the target reports role:master;
 *                          then as in 1 (the old master already follows).
 *      FAILOVER is not re-sent while the old master reports one running
 *      (master_failover_state). It is aborted when the target is not
 *      promoted within the decision's timeout_ms (plus 1 s for Redis's own
 *      timeout to fire), or the target is DOWN, not monitored or restarted
 *      empty: first FAILOVER ABORT to the old master while it reports
 *      waiting-for-sync, then, once it reports no FAILOVER running (or,
 *      not answering, past the deadline + 1 s), AbortFailover: the old
 *      master serves again, no write lost. While it reports
 *      failover-in-progress (roles being swapped) or already follows the
 *      target, the outcome is awaited instead (until timeout_ms + 1 s past
 *      the deadline). Aborted at once too when the shell found FAILOVER
 *      unusable on the old master (input failover_cmd).
 *
 * Switchover, method PAUSE (our own sequence; Redis >= 6.2):
 *        PAUSE_WRITES (step NONE) CLIENT PAUSE WRITE remaining-ms to the
 *                          old master (role:master, target linked to it)
 *                          unless the shell's pause record (input pause)
 *                          says it is paused; then wait, asking for fast
 *                          probes of the target (plan.watch), until the
 *                          target's processed offset reaches the master's
 *                          offset read after the pause: propose
 *                          FailoverProgress(CAUGHT_UP).
 *        SWAP_ROLES (step CAUGHT_UP) in this order, each once the
 *                          previous one is seen in INFO: REPLICAOF target
 *                          to the old master (only while this leader's
 *                          pause holds and the target has its offset; a
 *                          new leader pauses and checks again first), then
 *                          REPLICAOF NO ONE to the target, then CLIENT
 *                          UNPAUSE to the old master, then propose
 *                          FailoverProgress(PROMOTED); then as in 1.
 *      Aborted at step NONE (CLIENT UNPAUSE first when the old master
 *      answers, then AbortFailover) when the target does not catch up
 *      while at least PAUSE_MARGIN_MS (1 s) of the decision's timeout_ms
 *      is left, is DOWN, not monitored or restarted empty, or CLIENT PAUSE
 *      was refused. Rolled back at step CAUGHT_UP, before the target is
 *      seen promoted with the old master as its replica (REPLICAOF NO ONE
 *      to the old master if it is a replica, CLIENT UNPAUSE, then
 *      AbortFailover) when the target is DOWN or restarted empty, both
 *      claim role:master, the old master is not demoted with less than
 *      the margin left, or the target is not promoted by the deadline.
 *      src/core/planner_switchover_pause.c explains why each crash point
 *      is safe.
 *
 * Safety: the only REPLICAOF NO ONE it ever plans is to the new master of
 * the committed in-flight decision, or, rolling back a pause switchover at
 * step CAUGHT_UP, to its old master (which has every write the target
 * has, and clients were never sent to the target); a decision never ranks a
 * priority-0 replica first (policy), and is re-checked here; a DecideFailover
 * is never planned while one is in flight. Everything else re-points instances
 * at the committed master (or at the new master of the committed decision).
 *
 * How the shell uses it (the leader only; followers never act on Redis):
 *   - every probe interval, and again at once after an entry of the group
 *     is applied or after actions complete (probe the instances acted on
 *     first, so that the plan sees the effect), build the observations
 *     (rsm_detector_observe() of each configured instance, in
 *     configuration order) and, when a master is committed, the verdict
 *     (rsm_detector_master_verdict() with the other agents' views), call
 *     rsm_planner_next() and log plan.reason when it changes;
 *   - RSM_PLAN_PROPOSE: propose plan.entry (codec + raft_apply); keep at
 *     most one proposal per group outstanding, skipping PROPOSE plans until
 *     it is applied or fails; touch Redis for the group only as later plans
 *     say (they are computed from the state once the entry is applied);
 *   - RSM_PLAN_REDIS: send every action now (they are independent and
 *     idempotent: re-sending one is harmless, so a plan computed from an
 *     observation older than a command already sent may repeat it; the
 *     shell may skip an action identical to one still in flight);
 *   - log every plan.events[i] (name, detail), publish them to
 *     subscribers. Events come with the proposal or the actions that cause
 *     them, so a repeated action repeats its event;
 *   - plan.watch set: probe that instance again within about 10 ms;
 *   - pause switchovers: keep the pause record (struct rsm_pause_record)
 *     from the replies to CLIENT PAUSE (+ the INFO after it) and CLIENT
 *     UNPAUSE, pass it in input.pause, and drop it whenever this agent
 *     starts or stops acting; pass what it learnt of FAILOVER on the
 *     committed master in input.failover_cmd.
 *
 * Ownership: all structs are plain values owned by the caller; the input
 * points to caller-owned data that need only be valid during the call; the
 * plan holds no pointers except event names, which are static strings.
 * A plan is about 31 KB: keep one per group (or one reused), not many on
 * the stack. */
#ifndef RSM_PLANNER_H
#define RSM_PLANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsm/addr.h"
#include "rsm/detector.h"
#include "rsm/entry.h"
#include "rsm/fsm.h"

/* Knobs (one set per group). */
struct rsm_planner_config {
    int64_t down_after_ms;            /* as given to the detector */
    int64_t failover_timeout_ms;      /* from the decision to the end */
    int64_t min_failover_interval_ms; /* anti-flap: since the last end */
    unsigned parallel_syncs;          /* replicas syncing at once (0 = 1) */
    int64_t repoint_grace_ms;         /* before fixing a wrong topology */
    int64_t max_info_age_ms;          /* older INFO is not used: policy
                                         "stale", not counted as linked;
                                         0 = down_after_ms */
    int64_t max_lag_bytes;            /* policy lag rule, 0 = off */
    enum rsm_switchover_method switchover_method; /* preferred; PAUSE is
                                         used anyway when FAILOVER is not
                                         usable on the master */
};

/* Defaults: down_after 5000, failover_timeout 60000, min interval 60000,
 * parallel_syncs 1, repoint_grace 5000, max_info_age 0, max_lag 0,
 * switchover_method PAUSE (measured: writes stall ~20 ms instead of ~900
 * ms with FAILOVER TO, which waits for the replica's once-a-second ACK;
 * scripts/bench-switchover.sh). */
void rsm_planner_config_init(struct rsm_planner_config *cfg);

/* What the shell learnt of the FAILOVER command on a master (a harmless
 * "FAILOVER <bad-argument>" before a switchover, or the reply to FAILOVER
 * TO). */
enum rsm_failover_cmd_use {
    RSM_FAILOVER_CMD_UNKNOWN = 0, /* not checked: taken as usable */
    RSM_FAILOVER_CMD_USABLE,
    RSM_FAILOVER_CMD_UNUSABLE, /* "ERR unknown command" (renamed away or
                                  disabled with rename-command) or
                                  "NOPERM" (denied by ACL) */
};

/* The acting leader's record of the CLIENT PAUSE WRITE it sent for a pause
 * switchover. Kept by the shell, never in the log: a new leader starts
 * without one (the shell drops it whenever it stops or starts acting), so
 * it pauses again before it relies on a pause. */
enum rsm_pause_state {
    RSM_PAUSE_NONE = 0, /* nothing answered yet */
    RSM_PAUSE_PAUSED,   /* CLIENT PAUSE answered OK; offset read after */
    RSM_PAUSE_REFUSED,  /* CLIENT PAUSE answered with an error */
    RSM_PAUSE_UNPAUSED, /* CLIENT UNPAUSE answered (OK or an error) */
};

struct rsm_pause_record {
    uint64_t epoch;       /* the switchover it belongs to */
    struct rsm_addr addr; /* the instance paused (its old master) */
    enum rsm_pause_state state;
    int64_t offset;   /* PAUSED: master_repl_offset from INFO sent on the
                         same connection right after CLIENT PAUSE (so read
                         with writes paused); -1 unknown */
    int64_t sent_ms;  /* PAUSED: wall clock when CLIENT PAUSE was sent */
    int64_t until_ms; /* PAUSED: sent_ms + its timeout: the pause lasts at
                         least until then */
    char error[RSM_REASON_MAX]; /* REFUSED: the error reply */
};

/* Everything a plan is computed from. */
struct rsm_planner_input {
    const char *group;                 /* group name (< RSM_GROUP_NAME_MAX) */
    const struct rsm_group *committed; /* NULL: not in the FSM yet */
    const struct rsm_observation *obs; /* one per configured instance, in
                                          configuration order */
    size_t n_obs;                      /* <= RSM_MAX_MEMBERS */
    const struct rsm_master_verdict *verdict; /* on committed->master; may
                                          be NULL when there is none; not
                                          used while a failover is in
                                          flight */
    const struct rsm_planner_config *cfg;
    uint64_t leader_id;   /* recorded as decided_by */
    int64_t now_ms;       /* leader wall clock (entry time) */
    bool manual_failover; /* an operator asked for a failover (SENTINEL
                             FAILOVER): with a master committed and no
                             failover in flight, decide a MANUAL one now to
                             the best replica, whatever the verdict, the
                             anti-flap hold or the paused flag */
    bool force;           /* with manual_failover: the operator forces
                             it (rsmctl failover --force): a replica not
                             synced with its master may be promoted when
                             no synced one is eligible. Ignored
                             otherwise. */
    bool switchover;      /* an operator asked for a planned switchover
                             (RSM SWITCHOVER): with a master committed that
                             answers as role:master, no failover in flight
                             and the group not paused, decide a SWITCHOVER
                             to switchover_to (or the best replica when its
                             port is 0), which must be ranked eligible by
                             the policy (never priority 0, linked, lag within
                             max_lag_bytes of the master's offset); the
                             master must run Redis >= 6.2. Otherwise
                             nothing, with the reason. manual_failover wins
                             when both are set. The method is
                             cfg->switchover_method, or PAUSE when
                             failover_cmd is UNUSABLE; Redis < 6.2 is
                             refused (no lossless way exists there), and
                             so is a pause switchover whose timeout is not
                             above PAUSE_MARGIN_MS (1 s). */
    struct rsm_addr switchover_to;
    int64_t switchover_timeout_ms;          /* recorded in the decision; 0 = the
                                               failover_timeout_ms */
    enum rsm_failover_cmd_use failover_cmd; /* FAILOVER on the committed
                                      master (the old master of a
                                      switchover in flight) */
    const char *failover_cmd_error; /* UNUSABLE: the error reply, or NULL */
    const struct rsm_pause_record *pause; /* the shell's pause record, or
                                      NULL; used only when it is of the
                                      switchover in flight (its epoch and
                                      old master) */
};

enum rsm_plan_kind {
    RSM_PLAN_NONE = 0, /* nothing to do now: see reason */
    RSM_PLAN_PROPOSE,  /* propose entry */
    RSM_PLAN_REDIS,    /* send actions[] */
};

/* Where the group's failover is, Sentinel-style. */
enum rsm_failover_state {
    RSM_FO_NONE = 0,          /* no failover in flight or being decided */
    RSM_FO_SELECT_SLAVE,      /* deciding: the plan proposes DecideFailover */
    RSM_FO_SEND_PROMOTE,      /* decided; chosen not yet role:master */
    RSM_FO_WAIT_PROMOTION,    /* chosen reports role:master; recording it */
    RSM_FO_RECONF_SLAVES,     /* promoted; re-pointing the others */
    RSM_FO_DEMOTE_OLD_MASTER, /* replicas done; demoting the old master */
    RSM_FO_PAUSE_WRITES,      /* pause switchover, step NONE: pausing
                                 writes, waiting for the target */
    RSM_FO_SWAP_ROLES,        /* pause switchover, step CAUGHT_UP: old
                                 master demoted, target promoted, unpaused
                                 (or rolled back) */
};

enum rsm_redis_cmd {
    RSM_CMD_REPLICAOF_NO_ONE = 1, /* promote */
    RSM_CMD_REPLICAOF,            /* follow `master` */
    RSM_CMD_FAILOVER,             /* FAILOVER TO master.host master.port
                                     TIMEOUT timeout_ms (sent to the old
                                     master of a switchover) */
    RSM_CMD_FAILOVER_ABORT,       /* FAILOVER ABORT (to that old master,
                                     while it waits for the target) */
    RSM_CMD_CLIENT_PAUSE,         /* CLIENT PAUSE timeout_ms WRITE to the
                                     old master of a pause switchover;
                                     the shell reads INFO replication
                                     right after it on the same connection
                                     and keeps the pause record */
    RSM_CMD_CLIENT_UNPAUSE,       /* CLIENT UNPAUSE (to that old master) */
};

/* One command for one instance. */
struct rsm_redis_action {
    struct rsm_addr addr; /* where to send it */
    enum rsm_redis_cmd cmd;
    struct rsm_addr master; /* RSM_CMD_REPLICAOF: host and port to follow;
                               RSM_CMD_FAILOVER: the target */
    int64_t timeout_ms;     /* RSM_CMD_FAILOVER, RSM_CMD_CLIENT_PAUSE:
                               > 0 */
};

#define RSM_PLAN_DETAIL_MAX 320

/* A named event for the log and for subscribers. Names are Sentinel's
 * where one exists: +try-failover, +failover-state-select-slave,
 * +selected-slave, +failover-state-send-slaveof-noone, +promoted-slave,
 * +failover-state-reconf-slaves, +slave-reconf-sent, +convert-to-slave,
 * +fix-slave-config, +failover-end-for-timeout, +failover-end,
 * +switch-master, -failover-abort-timeout, and ours: +observe-master,
 * +failover-state-demote-old-master, -failover-abort-slave-unreachable,
 * -failover-abort-slave-restarted, -failover-abort-failover-unusable, and
 * for the pause method +pause-writes, +caught-up, +unpause-writes,
 * +rollback-old-master, -failover-abort-pause-refused,
 * -failover-abort-roles. For +switch-master the detail is
 * Sentinel's payload "<group> <old-ip> <old-port> <new-ip> <new-port>";
 * for the others it is human text starting with the group name. */
struct rsm_plan_event {
    const char *name; /* static string */
    char detail[RSM_PLAN_DETAIL_MAX];
};

/* What the shell must tell apart about a plan, as a value: it acts on
 * this, never on the reason text (for humans: logs, status). */
enum rsm_plan_code {
    RSM_PLAN_CODE_NONE = 0,           /* nothing the shell acts on */
    RSM_PLAN_CODE_SWITCHOVER_REFUSED, /* NONE: the switchover requested
                                         cannot be done (group paused,
                                         master not answering as
                                         role:master, Redis < 6.2, pause
                                         timeout too short): the client is
                                         refused (-REFUSED) */
    RSM_PLAN_CODE_NO_GOOD_REPLICA,    /* NONE: the failover or switchover
                                         has no eligible replica, or the
                                         target asked for is not eligible
                                         (-NOGOODSLAVE) */
};

#define RSM_PLAN_MAX_EVENTS (RSM_MAX_MEMBERS + 4)
#define RSM_PLAN_REASON_MAX 512

/* The next step. Exactly one of: nothing, one entry, some actions. */
struct rsm_planner_plan {
    enum rsm_plan_kind kind;
    enum rsm_failover_state state; /* of the group, when planned */
    uint64_t epoch;                /* failover in flight or decided, else 0 */
    char reason[RSM_PLAN_REASON_MAX]; /* always set: what and why (for
                                         humans: act on code) */
    enum rsm_plan_code code;          /* NONE unless stated above */
    struct rsm_entry entry;           /* RSM_PLAN_PROPOSE */
    unsigned n_actions;               /* RSM_PLAN_REDIS: >= 1 */
    struct rsm_redis_action actions[RSM_MAX_MEMBERS];
    unsigned n_events;
    struct rsm_plan_event events[RSM_PLAN_MAX_EVENTS];
    struct rsm_addr watch; /* port != 0: probe this instance again within
                              about 10 ms, not only at the next tick (a
                              pause switchover waits on its offset while
                              writes are paused) */
};

/* Compute the next step (see the top of this file). plan must not be NULL
 * (it is always filled, reason included). Returns 0, or
 * RSM_EINVAL for bad input (a NULL pointer, no or too long group name,
 * n_obs > RSM_MAX_MEMBERS, committed group of another name): then the plan
 * is NONE with the problem in reason. */
int rsm_planner_next(const struct rsm_planner_input *in,
                     struct rsm_planner_plan *plan);

/* "none", "propose", "redis". */
const char *rsm_plan_kind_str(enum rsm_plan_kind k);
/* "none", "select-slave", "send-promote", "wait-promotion",
 * "reconf-slaves", "demote-old-master", "pause-writes", "swap-roles". */
const char *rsm_failover_state_str(enum rsm_failover_state s);
/* "REPLICAOF NO ONE", "REPLICAOF", "FAILOVER", "FAILOVER ABORT",
 * "CLIENT PAUSE", "CLIENT UNPAUSE". */
const char *rsm_redis_cmd_str(enum rsm_redis_cmd c);

#endif /* RSM_PLANNER_H */
