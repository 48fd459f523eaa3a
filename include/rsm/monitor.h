/* monitor.h - the agent's watch over Redis: probes, the leader loop, and
 * the execution of committed decisions.
 *
 * Every agent probes: the Raft leader sends INFO to every configured
 * instance each probe interval and feeds its detector; a follower only
 * PINGs each group's committed master, so that the leader can ask for its
 * view (rsm_monitor_views(), served by the API as RSM VIEWS). Only the
 * leader, and only once the node reported RSM_NODE_BECAME_LEADER (its
 * barrier committed), asks the planner (src/core/planner) what to do and
 * does it: it proposes entries through the node, and it sends REPLICAOF
 * commands only as plans computed from the committed state say; after a
 * REPLICAOF that succeeded it sends CONFIG REWRITE, like Sentinel, so that
 * a restarted Redis keeps its new role (logged config-rewritten, or
 * config-rewrite-failed: a warning unless Redis runs without a config
 * file). A follower never sends anything to Redis but PING.
 *
 * Managed fencing (fence.h; on unless cfg.fence.enabled is false): the
 * acting leader reads min-replicas-to-write / min-replicas-max-lag of each
 * instance (CONFIG GET, once per Redis process it sees, again every 60 s
 * and after a failed command), sets them as rsm_fence_decide() says (CONFIG
 * SET, then CONFIG REWRITE; only on a change), logs each change as its
 * named event (fence-raised, fence-lowered, fence-reset, fence-adjusted),
 * and sets min-replicas-to-write 0 right before every REPLICAOF NO ONE.
 * A CONFIG refused ("unknown command", NOPERM) or answered unlike Redis is
 * logged once as fence-unavailable and not tried again on that Redis
 * process; other failures are retried after 1 s, doubled up to 64 s.
 *
 * Every plan event is logged as a named event ("+promoted-slave", ...) and
 * passed to the event callback (for pub/sub).
 *
 * Groups come from --monitor (cfg.groups) and from the log: every agent
 * watches a group that SENTINEL MONITOR committed (MonitorGroup) from the
 * moment the entry applies, and stops watching one that SENTINEL REMOVE
 * dropped (its links closed). A --monitor group that SENTINEL REMOVE
 * dropped is not watched again while the flag still names it (logged at
 * start as monitor-flag-removed). A run-time group's instances are its
 * committed members and master, and the replicas the acting leader finds
 * in the master's INFO replication (slaveN:ip=..,port=..; logged and
 * passed to the event callback as "+slave"), which the planner then
 * records through ObserveMaster. When a CompleteFailover is
 * applied, the leader runs the --on-failover hook, if any (hook.h).
 *
 * Ownership: rsm_monitor_start() allocates and copies the configuration
 * (the password too; it is wiped on stop); rsm_monitor_stop() closes every
 * link and timer, stops the hook runner (it waits for the hooks still
 * running, hook.h) and frees the monitor in its callback. */
#ifndef RSM_MONITOR_H
#define RSM_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "rsm/addr.h"
#include "rsm/detector.h"
#include "rsm/identity.h"
#include "rsm/entry.h"
#include "rsm/fence.h"
#include "rsm/hook.h"
#include "rsm/node.h"
#include "rsm/planner.h"
#include "rsm/tls.h"

/* Most groups one agent watches. The monitor allocates what is
 * watched (no per-group cost below it); rsm_monitor_parse_group()
 * refuses a group beyond it, and the monitor watches no run-time group
 * beyond it (logged). */
#define RSM_MAX_GROUPS 4096

struct rsm_monitor;

/* One replication group as configured with --monitor NAME=addr,addr,... */
struct rsm_monitor_group_config {
    char name[RSM_GROUP_NAME_MAX];
    unsigned n_addrs;
    struct rsm_addr addrs[RSM_MAX_MEMBERS];
};

/* Ownership: groups is allocated by rsm_monitor_parse_group() and freed by
 * rsm_monitor_config_free(); a plain struct copy shares it. */
struct rsm_monitor_config {
    uint64_t agent_id;
    unsigned n_groups;                       /* <= RSM_MAX_GROUPS */
    unsigned cap_groups;                     /* allocated entries */
    struct rsm_monitor_group_config *groups; /* n_groups, NULL if none */
    uint64_t probe_interval_ms;              /* default 100 */
    uint64_t probe_timeout_ms;               /* 0 = derived from the interval */
    struct rsm_detector_config detector;
    struct rsm_planner_config planner;
    char redis_user[128];     /* "" for none */
    char redis_password[256]; /* "" for none; never logged */
    char agent_password[256]; /* AUTH to the other agents' API (their
                                 --requirepass), "" for none; never
                                 logged */
    struct rsm_addr self_api; /* this agent's own client address as the
                                 others reach it: a member whose address
                                 is this one is never asked */
    /* TLS to Redis (--tls-redis), NULL: plaintext; not owned, outlives
     * the monitor */
    const struct rsm_tls *redis_tls;
    /* TLS to the other agents' client ports (--tls-api: views, leader
     * view pushes, forwarding), NULL: plaintext; not owned */
    const struct rsm_tls *agent_tls;
    /* --on-failover, --hook-timeout-ms, --hook-env */
    struct rsm_hook_config hook;
    /* --fence; max_lag_s from --down-after-ms (rsm_fence_max_lag_s()) */
    struct rsm_fence_config fence;
};

/* Defaults for every knob; no groups (allocates nothing). */
void rsm_monitor_config_init(struct rsm_monitor_config *cfg);

/* Free the groups of cfg and leave it with none (the other knobs stay). */
void rsm_monitor_config_free(struct rsm_monitor_config *cfg);

/* The rules of a group's name, for --monitor and SENTINEL MONITOR: 1 to
 * RSM_GROUP_NAME_MAX - 1 printable characters, no space. 0 or RSM_EINVAL
 * with errmsg. */
int rsm_monitor_check_group_name(const char *name, char *errmsg, size_t errlen);

/* Parse one --monitor value "NAME=host:port,host:port" and append it,
 * growing cfg->groups. RSM_EINVAL with the problem in errmsg (bad name,
 * bad address, duplicate group or address, more than RSM_MAX_MEMBERS
 * instances or RSM_MAX_GROUPS groups), RSM_ENOMEM; cfg is unchanged then. */
int rsm_monitor_parse_group(struct rsm_monitor_config *cfg, const char *text,
                            char *errmsg, size_t errlen);

/* Called for every plan event (after logging it); may be NULL. */
typedef void (*rsm_monitor_event_cb)(void *arg, const char *group,
                                     const char *name, const char *detail);

/* Start watching: cfg is copied (its groups too; the caller keeps and
 * frees its own). */
int rsm_monitor_start(uv_loop_t *loop, const struct rsm_monitor_config *cfg,
                      struct rsm_node *node, rsm_monitor_event_cb event_cb,
                      void *event_arg, struct rsm_monitor **out, char *errmsg,
                      size_t errlen);

/* Forward the node's events (the agent's node observer calls this). */
void rsm_monitor_node_event(struct rsm_monitor *m, enum rsm_node_event ev,
                            const struct rsm_entry *entry, int apply_status);

/* A view's state as RSM VIEWS sends it: rsm_health_state_str(), or
 * "refused" for a SUSPECT whose latest probes were refused connects. */
const char *rsm_monitor_view_state_str(const struct rsm_agent_view *v);

/* This agent's view of each group's committed master, for the leader:
 * fills up to max views (one per group that has a committed master) and
 * returns how many. Being asked is a sign that the leader suspects a
 * master: a follower also probes each committed master now (at most once
 * per probe interval), so that its next answer is fresh. */
size_t rsm_monitor_views(struct rsm_monitor *m, struct rsm_agent_view *views,
                         const char **groups, size_t max);

/* What the leader knows of another agent it asks for views. */
struct rsm_monitor_peer_status {
    uint64_t id;
    struct rsm_addr api;                /* where it is asked */
    enum rsm_identity_verdict identity; /* of its latest answer (OK before
                                           the first) */
    char problem[RSM_IDENTITY_WHY_MAX]; /* why it is misconfigured, "" */
};

/* The peer at index (0-based) of the leader's list; false past the end. */
bool rsm_monitor_peer_status(const struct rsm_monitor *m, size_t index,
                             struct rsm_monitor_peer_status *out);

/* Where the acting leader gets its view of the instances to push to the
 * other agents (leaderview.h, events.h): once per probe interval it calls
 * cb, which returns NULL (nothing due) or a NULL-terminated array of
 * payloads that the monitor sends as RSM LEADERVIEW <payload> to every
 * peer whose identity checked out (its RSM VIEWS named it: a peer not
 * checked yet is asked RSM VIEWS first), then frees with free_cb. Replies
 * are not waited for; an error (an agent from before RSM LEADERVIEW) is
 * ignored. cb NULL: nothing is pushed. */
typedef char **(*rsm_monitor_push_cb)(void *arg);
void rsm_monitor_set_push(struct rsm_monitor *m, rsm_monitor_push_cb cb,
                          void (*free_cb)(char **payloads), void *arg);

struct rsm_monitor_group_status {
    const char *name;
    bool acting;                       /* this agent is the acting leader */
    struct rsm_master_verdict verdict; /* leader only */
    struct rsm_addr verdict_master;    /* the master the verdict is about
                                          (port 0: no verdict yet); it is
                                          computed at each evaluation, so
                                          just after a failover it may
                                          still be about the old master */
    const char *last_reason;           /* latest plan reason, "" if none */
    unsigned n;
    struct rsm_observation obs[RSM_MAX_MEMBERS];
};
/* Status of one group for status output: the latest verdict, plan reason
 * and per-instance observations. index is the group's place among the
 * groups watched now (rsm_monitor_get_config()->groups). Returns false
 * if the group is unknown. out->name is valid until the groups change
 * (an entry applied). */
bool rsm_monitor_group_status(const struct rsm_monitor *m, size_t index,
                              struct rsm_monitor_group_status *out);

/* The same for the group named name; false if it is not watched. */
bool rsm_monitor_group_status_of(const struct rsm_monitor *m, const char *name,
                                 struct rsm_monitor_group_status *out);

/* A number that changes whenever what rsm_monitor_group_status_of()
 * says of the group named name may have changed for a reason other than
 * time passing (a probe done, a view received, an evaluation asked for,
 * which includes a silence reaching down-after on the acting leader);
 * UINT64_MAX if it is not watched. Lets a poller skip unchanged groups. */
uint64_t rsm_monitor_group_changes(const struct rsm_monitor *m,
                                   const char *name);

/* Is the group named name watched now? */
bool rsm_monitor_has_group(const struct rsm_monitor *m, const char *name);

/* Loop time the probe turns are anchored on: they fall on it plus
 * multiples of their period. When raft's tick period is a multiple of the
 * turn period (the defaults: 100 ms heartbeat, 100 ms probe interval) it
 * is raft's latest tick (rsm_node_tick_ms()), so that heartbeats and
 * probes go out in the same loop turn and their replies tend to come back
 * together; otherwise (or before the first tick) 0: multiples of the
 * period on the loop clock. Either way the turns keep their period. Other
 * periodic work (the events poll) anchors on it too. */
uint64_t rsm_monitor_anchor_ms(const struct rsm_monitor *m);

/* The configuration the monitor runs with (its copy; the password is in
 * it: never log or show it). Its groups are the groups watched now:
 * --monitor's, less those SENTINEL REMOVE dropped, and the run-time ones
 * with their instances so far; they change when entries apply, so keep
 * no pointer into them across loop turns. */
const struct rsm_monitor_config *
rsm_monitor_get_config(const struct rsm_monitor *m);

/* Ask for a MANUAL failover of group (SENTINEL FAILOVER, or RSM FAILOVER
 * with FORCE). At its next evaluation of the group (at once, outside this
 * call) the acting leader asks the planner with manual_failover (and
 * force) set and proposes the DecideFailover{MANUAL} it plans; the
 * failover then runs like any other. force: a replica that never completed
 * a sync with its master may be promoted if no synced one is eligible (the
 * operator's override; see planner.h).
 * cb runs exactly once, from the loop, never from inside this call:
 *   0                 the decision is committed;
 *   RSM_ENOCANDIDATE  no eligible replica (errmsg: the planner's reason);
 *   RSM_EBUSY         a failover is in flight;
 *   RSM_EREJECTED / RSM_ERAFT  the proposal failed (errmsg says why);
 *   RSM_ENOTLEADER    leadership was lost before the decision was proposed;
 *   RSM_ECANCELED     the monitor is stopping.
 * Returns 0 when cb will run, or, without calling cb: RSM_ENOTLEADER (not
 * the acting leader), RSM_ENOTFOUND (group not monitored, or no master
 * committed yet), RSM_EBUSY (a failover in flight, or a request for the
 * group already pending). */
int rsm_monitor_request_failover(struct rsm_monitor *m, const char *group,
                                 bool force, rsm_node_done_cb cb, void *arg);

/* Ask for a planned SWITCHOVER of group (RSM SWITCHOVER) to `to` (NULL or
 * port 0: the best replica), to be done within timeout_ms of the decision
 * (<= 0: failover_timeout_ms), by the configured planner.switchover_method
 * (see planner.h). With the FAILOVER_CMD method, the request first waits
 * for "FAILOVER RSM-CHECK" on the master (refused with a syntax error and
 * no effect where FAILOVER is usable): where it answers "unknown command"
 * or "NOPERM", the pause method is used. Like rsm_monitor_request_failover(),
 * and also: cb gets RSM_ENOCANDIDATE when the target is not eligible and
 * RSM_EREJECTED when the planner refuses (paused, master not answering, Redis
 * < 6.2), errmsg saying why; returns RSM_EREJECTED at once for a paused group.
 * cb's 0 means decided, not done: the outcome is in the group's history. */
int rsm_monitor_request_switchover(struct rsm_monitor *m, const char *group,
                                   const struct rsm_addr *to,
                                   int64_t timeout_ms, rsm_node_done_cb cb,
                                   void *arg);

/* Latency of the probes of one group (the leader's INFO probes, a
 * follower's PINGs), from send to the last reply, in milliseconds. Probes
 * that got an answer (a valid reply, or an "alive" error such as LOADING)
 * are counted in buckets[i]: the latency is at most
 * rsm_monitor_latency_bounds_ms[i] and above the bound before it; the last
 * bucket has no upper bound. Counts per bucket are not cumulative. Probes
 * without an answer (timeout, refused, bad reply) are counted in failed. */
#define RSM_MONITOR_LATENCY_BUCKETS 12
extern const double
    rsm_monitor_latency_bounds_ms[RSM_MONITOR_LATENCY_BUCKETS - 1];
struct rsm_monitor_latency {
    uint64_t buckets[RSM_MONITOR_LATENCY_BUCKETS];
    uint64_t count;
    double sum_ms;
    uint64_t failed;
};

/* Group `index` (as rsm_monitor_group_status) since it is watched; false
 * if there is no such group. */
bool rsm_monitor_probe_latency(const struct rsm_monitor *m, size_t index,
                               struct rsm_monitor_latency *out);

typedef void (*rsm_monitor_stop_cb)(void *arg);
void rsm_monitor_stop(struct rsm_monitor *m, rsm_monitor_stop_cb cb, void *arg);

#endif /* RSM_MONITOR_H */
