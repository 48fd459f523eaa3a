/* monitor_int.h - what the files of src/monitor share (private to the
 * monitor; the public contract is rsm/monitor.h).
 *
 * The monitor is one object, struct rsm_monitor, allocated by
 * rsm_monitor_start() (monitor.c) and freed once every handle and link it
 * owns has closed (monitor_maybe_free). Each group is allocated on its
 * own and never moves (probes, timers and callbacks keep pointers to it
 * and its instances); m->groups is the array of pointers to the groups
 * watched now, in the order of m->cfg.groups (their configurations, kept
 * alike). Groups are added and dropped at run time (monitor_groups.c); a
 * dropped one leaves m->groups at once and is freed when its links have
 * closed. The peers live in m->peers. The work is divided by concept:
 *   monitor.c          shared helpers; start and stop
 *   monitor_config.c   defaults and --monitor parsing
 *   monitor_groups.c   groups added and dropped at run time (SENTINEL
 *                      MONITOR / REMOVE), replicas discovered
 *   monitor_probe.c    probes, the detector's input, fast re-probes
 *   monitor_views.c    the other agents' views (RSM VIEWS), the peers
 *   monitor_push.c     the leader's view pushed to the peers; own views
 *   monitor_act.c      commands sent to Redis as plans say
 *   monitor_fence.c    managed fencing (min-replicas-*)
 *   monitor_loop.c     verdict -> plan -> act, deadlines, kick, ticks
 *   monitor_node.c     the node's events, the --on-failover hook
 *   monitor_requests.c status getters, failover/switchover requests
 * Every function here runs on the monitor's loop thread. */
#ifndef RSM_MONITOR_INT_H
#define RSM_MONITOR_INT_H

#include "rsm/monitor.h"
#include "rsm/redis.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct group;

/* What the leader knows of one instance's fence settings (fence.h). */
struct fence_state {
    struct rsm_fence_setting cur;   /* as last read or set */
    char run_id[RSM_RUNID_LEN + 1]; /* the Redis process cur is about */
    unsigned pending;               /* reads and sets in flight */
    bool unusable;                  /* CONFIG refused by this process */
    int64_t retry_ms;               /* no new attempt before (loop time) */
    unsigned failures;              /* failed reads and sets in a row */
    int64_t known_ms;               /* when cur was read or set */
};

/* One configured Redis instance: its link and what the detector knows. */
struct instance {
    struct group *g;
    size_t index; /* into g->health */
    struct rsm_redis *link;
    bool probing;                   /* a probe is in flight */
    bool reprobe;                   /* probe again when it ends */
    bool fast;                      /* probe again at the fast timer */
    int64_t probe_sent_ms;          /* of the latest probe sent, -1 */
    int64_t due_ms;                 /* the next probe's turn (loop time):
                                       its period is reckoned when the
                                       latest probe is sent and again when
                                       its result comes */
    int64_t fed_probe_sent_ms;      /* of the latest result fed */
    int64_t full_probe_ms;          /* the latest probe that read INFO
                                       server and persistence too, -1 */
    bool acting;                    /* an action is in flight */
    struct rsm_redis_action action; /* the latest action sent */
    int64_t action_done_ms;         /* when it completed, -1 never */
    struct fence_state fence;       /* leader only */
    /* the link error of the latest failed probe, "" after an answer: a
     * new one is logged (probe-error), a repeated one is not */
    char probe_error[RSM_ERRMSG_SIZE];
};

/* A SENTINEL FAILOVER request waiting for its decision. */
struct manual_request {
    rsm_node_done_cb cb; /* NULL: none */
    void *arg;
    enum rsm_failover_kind kind; /* MANUAL or SWITCHOVER */
    struct rsm_addr to;          /* SWITCHOVER target, port 0: any */
    int64_t timeout_ms;          /* SWITCHOVER, 0: default */
    bool proposed;               /* its DecideFailover is being committed */
    bool checking;               /* SWITCHOVER: waiting for the check of
                                    FAILOVER on the master */
    bool force;                  /* MANUAL: forced (planner input force) */
    int64_t asked_ms;            /* when it came: it is planned on readings
                                    taken after that (loop time) */
};

/* What a "FAILOVER <bad-argument>" (or a FAILOVER TO) told us of the
 * FAILOVER command on one instance. */
struct failover_cmd_info {
    struct rsm_addr addr;
    enum rsm_failover_cmd_use use;
    char error[RSM_REASON_MAX];
};

struct group {
    struct rsm_monitor *m;
    struct rsm_monitor_group_config cfg;
    struct manual_request manual;
    struct rsm_addr verdict_master; /* what g->verdict is about */
    struct rsm_health health[RSM_MAX_MEMBERS];
    struct instance inst[RSM_MAX_MEMBERS];
    bool proposing; /* an entry is being committed */
    bool dirty;     /* evaluate at the next kick */
    struct rsm_master_verdict verdict;
    char last_reason[RSM_PLAN_REASON_MAX];
    unsigned n_views;
    struct rsm_agent_view views[RSM_MAX_AGENTS]; /* age_ms = 0 */
    int64_t views_ms[RSM_MAX_AGENTS];            /* when received */
    struct rsm_monitor_latency latency;          /* of answered probes */
    struct rsm_pause_record pause;               /* of a pause switchover: the
                                                    acting leader's own, dropped
                                                    when acting starts or stops */
    struct failover_cmd_info failover_cmd;       /* last learnt */
    unsigned check_seq;    /* of the latest FAILOVER check */
    unsigned pos;          /* its index in m->groups and m->cfg.groups */
    bool added;            /* added at run time (SENTINEL MONITOR): its
                              instances are the committed members, the
                              committed master and the replicas the acting
                              leader finds in the master's INFO */
    bool dropping;         /* dropped (SENTINEL REMOVE): out of m->groups,
                              freed once closing is 0 and no proposal of
                              it is in flight */
    unsigned closing;      /* its links still closing */
    int64_t check_ms;      /* evaluate at this loop time even if nothing is
                              heard (a probe turning late, a silence reaching
                              down_after), -1 none; see monitor_check_at */
    int64_t busy_until_ms; /* every instance probed each probe interval
                              until then (a change seen, an action sent) */
    uint64_t changes;      /* bumped by anything that may change what the
                              group's status says: a probe done, a view
                              received, an evaluation asked for (see
                              rsm_monitor_group_changes) */
};

/* Another agent the leader asks for its views. */
struct peer {
    struct rsm_monitor *m;
    uint64_t id;
    struct rsm_addr api;
    struct rsm_redis *link;
    bool asking;
    enum rsm_identity_verdict identity; /* of the latest answer */
    char problem[RSM_IDENTITY_WHY_MAX]; /* why it is not counted, "" */
    bool verified;     /* its latest RSM VIEWS named it, on its current link:
                          the leader's view may be pushed there */
    int64_t verify_ms; /* when it was last asked to name itself for that */
};

struct rsm_monitor {
    uv_loop_t *loop;
    struct rsm_monitor_config cfg;
    struct rsm_node *node;
    rsm_monitor_event_cb event_cb;
    void *event_arg;
    uv_timer_t tick;   /* every probe interval / n_slices */
    unsigned n_slices; /* groups probed in turns, see monitor_slice_count() */
    unsigned slice;    /* the turn of the next tick */
    uv_timer_t kick;   /* 0 ms: evaluate dirty groups */
    bool kick_armed;
    uv_timer_t deadline; /* the earliest of the groups' check_ms */
    uv_timer_t fast;     /* re-probe a failing master soon */
    bool fast_armed;
    uint64_t fast_due_ms;  /* loop time the fast timer fires, if armed */
    int64_t deadline_ms;   /* when it fires, -1 if not armed */
    bool acting;           /* leader with its barrier committed */
    struct group **groups; /* m->cfg.n_groups, cap_groups allocated */
    unsigned cap_groups;
    struct group **by_name;  /* the same, sorted by name (NULL: to be
                                sorted again, monitor_group_by_name) */
    uint64_t synced_applied; /* fsm->applied at the last group sync */
    unsigned n_peers;
    struct peer peers[RSM_MAX_AGENTS];
    rsm_monitor_push_cb push_cb; /* the leader's view for the peers */
    void (*push_free)(char **payloads);
    void *push_arg;
    struct rsm_hook *hook; /* runs --on-failover; NULL once stopping */
    bool stopping;
    unsigned pending_close; /* handles and links still closing */
    rsm_monitor_stop_cb stop_cb;
    void *stop_arg;
};

/* ------------------------------------------------------------------------
 * monitor.c: helpers
 * ---------------------------------------------------------------------- */

/* The loop's monotonic time (uv_now), in ms. */
int64_t monitor_mono_ms(const struct rsm_monitor *m);

/* Timeout of one probe: cfg.probe_timeout_ms, or 3 probe intervals (at
 * least 300 ms) when it is 0. */
uint64_t monitor_probe_timeout(const struct rsm_monitor *m);

/* g is dropped or the monitor stops: a callback still running for it
 * touches nothing but its own context. */
static inline bool monitor_group_gone(const struct group *g)
{
    return g->dropping || g->m->stopping;
}

/* g's committed state (the FSM's), NULL if none yet. */
const struct rsm_group *monitor_committed(const struct group *g);

/* The detector's and the planner's configuration for g: the agent's
 * flags with the group's committed settings over them (SENTINEL SET,
 * groupconf.h). */
struct rsm_detector_config monitor_group_detector(const struct group *g);
struct rsm_planner_config monitor_group_planner(const struct group *g);

/* The crash path (detector.h) is on for g. */
bool monitor_crash_path_on(const struct group *g);

/* The instance of g at address a, NULL if none. */
struct instance *monitor_find_instance(struct group *g,
                                       const struct rsm_addr *a);

/* The text of a failed command's result (status != 0): the error reply
 * Redis sent, or the link's own message, truncated to len. */
void monitor_result_errmsg(const struct rsm_redis_result *res, char *buf,
                           size_t len);

/* Free m if it is stopping and nothing it owns is still closing. */
void monitor_maybe_free(struct rsm_monitor *m);

/* rsm_redis_close callback of the peers' links: arg is the monitor,
 * whose pending_close it counts down (instances' links:
 * monitor_instance_link_closed). */
void monitor_link_closed(struct rsm_redis *r, void *arg);

/* ------------------------------------------------------------------------
 * monitor_probe.c
 * ---------------------------------------------------------------------- */

/* Probe in now (INFO replication, with server and persistence when they
 * may have changed, if acting; else PING); if a probe is in flight, once
 * more when it ends. */
void monitor_probe(struct instance *in);

/* Probe those of g's instances whose period has run out (see
 * monitor__probe_period): all of them on the acting leader, only the
 * committed master on a follower. */
void monitor_probe_group(struct group *g);

/* How long a group stays busy (monitor_group_busy) after a change seen
 * or an action sent. */
#define BUSY_HOLD_MS 3000

/* Something changed in g (a role or link seen changing, the master
 * suspected, an action sent, a request): read every instance now, and
 * each probe interval for a while (busy_until_ms). */
void monitor_group_stir(struct group *g);

/* Is g busy: probed and evaluated each probe interval rather than at
 * the idle rates (its master not OK, a failover or request in flight, a
 * change seen lately)? */
bool monitor_group_busy(const struct group *g, int64_t now);

/* in is g's committed master. */
bool monitor_is_committed_master(const struct instance *in);

/* A follower was asked for its views (RSM VIEWS): the leader suspects a
 * master, so look at each group's master now rather than at the next
 * turn (at most once per probe interval). */
void monitor_probe_masters_asked(struct rsm_monitor *m);

/* Re-probe the instances marked fast in delay_ms, or sooner if the fast
 * timer is already due sooner. */
void monitor_arm_fast(struct rsm_monitor *m, uint64_t delay_ms);

/* The drop callback of every instance link (rsm_redis_on_drop; arg is
 * the struct instance): the committed master's server ended the
 * connection, which a crash does at once, so probe it again now. */
void monitor_on_drop(struct rsm_redis *r, void *arg);

/* ------------------------------------------------------------------------
 * monitor_groups.c
 * ---------------------------------------------------------------------- */

/* The group named name, NULL if not monitored. */
struct group *monitor_group_by_name(const struct rsm_monitor *m,
                                    const char *name);

/* Watch the group gc from now on (added: a run-time group): its instances
 * linked, appended to m->groups. 0 or RSM_ENOMEM (errmsg). */
int monitor_group_open(struct rsm_monitor *m,
                       const struct rsm_monitor_group_config *gc, bool added,
                       char *errmsg, size_t errlen);

/* Close every open link of g's instances; each close is counted in
 * g->closing and m->pending_close until monitor_instance_link_closed. */
void monitor_group_close_links(struct group *g);

/* Free g and everything it holds (its links closed already). */
void monitor_group_free(struct group *g);

/* Make the groups watched match the committed state: run-time groups
 * added or dropped (and their committed members watched), --monitor
 * groups removed by SENTINEL REMOVE dropped. Cheap when nothing was
 * applied since the last call, unless force. */
void monitor_sync_groups(struct rsm_monitor *m, bool force);

/* Watch the committed members and master of run-time group g. */
void monitor_watch_committed(struct group *g);

/* The acting leader read the INFO of g's committed master: watch the
 * replicas it reports that g does not have yet (run-time groups only). */
void monitor_discover_replicas(struct group *g, const struct rsm_info *info);

/* rsm_redis_close callback of every instance link: arg is the group. */
void monitor_instance_link_closed(struct rsm_redis *r, void *arg);

/* A proposal of g returned: free g if it was dropped meanwhile. True if
 * g is gone (freed or being dropped): touch it no more. */
bool monitor_group_proposal_done(struct group *g);

/* ------------------------------------------------------------------------
 * monitor_views.c
 * ---------------------------------------------------------------------- */

/* Close p's link (counted in m->pending_close) and forget its state. */
void monitor_peer_drop(struct peer *p);

/* Make m->peers match the Raft configuration (other members only). */
void monitor_sync_peers(struct rsm_monitor *m);

/* Ask p (or every peer, after syncing them) for its views: RSM VIEWS. */
void monitor_ask_peer(struct rsm_monitor *m, struct peer *p);
void monitor_ask_peers(struct rsm_monitor *m);

/* ------------------------------------------------------------------------
 * monitor_push.c
 * ---------------------------------------------------------------------- */

/* Push the leader's view to every verified peer (rsm_monitor_set_push). */
void monitor_push_views(struct rsm_monitor *m);

/* ------------------------------------------------------------------------
 * monitor_act.c
 * ---------------------------------------------------------------------- */

/* CONFIG REWRITE on in, after a role or fence change (logged). */
void monitor_rewrite_config(struct instance *in);

/* Send act (of the plan of epoch) unless the same is in flight or done
 * and not yet seen by a later probe. */
void monitor_send_action(struct group *g, const struct rsm_redis_action *act,
                         uint64_t epoch);

/* Send "FAILOVER RSM-CHECK" to master; true if sent (the switchover
 * request waits for it: g->manual.checking). */
bool monitor_check_failover_cmd(struct group *g, const struct rsm_addr *master);

/* ------------------------------------------------------------------------
 * monitor_fence.c
 * ---------------------------------------------------------------------- */

/* Forget every instance's known settings (a new leader reads them). */
void monitor_fence_forget_all(struct rsm_monitor *m);

/* min-replicas-to-write 0 on in, sent right before REPLICAOF NO ONE. */
void monitor_fence_before_promotion(struct instance *in);

/* Read or set each instance's settings of g as fence.h decides. */
void monitor_fence_group(struct group *g, const struct rsm_group *cg,
                         const struct rsm_observation *obs);

/* ------------------------------------------------------------------------
 * monitor_loop.c
 * ---------------------------------------------------------------------- */

/* Answer g's pending manual request, if any. */
void monitor_manual_done(struct group *g, int status, const char *errmsg);

/* Evaluate g soon, outside of the current callback. */
void monitor_mark_dirty(struct group *g);

/* Evaluate g at loop time `at` (or now if past) even if nothing is heard
 * meanwhile: when its master's probe turns late, or a silence reaches
 * down_after. The earliest time asked is kept. */
void monitor_check_at(struct group *g, int64_t at);

/* How many turns the groups are probed in (see monitor_loop.c). */
unsigned monitor_slice_count(const struct rsm_monitor_config *cfg);

/* Probe every group now (a new leader looks at once). */
void monitor_probe_all(struct rsm_monitor *m);

/* ms until the next probe turn, and the turn itself (m->tick). */
uint64_t monitor_until_next_turn(const struct rsm_monitor *m);
void monitor_tick_cb(uv_timer_t *t);

#endif /* RSM_MONITOR_INT_H */
