/* sentinel.h - Sentinel compatibility: a replication group as
 * redis-sentinel would show it, its replies and its events.
 *
 * Existing Redis clients find the master by asking Sentinel (see
 * shared/reference/FACTS.md): `SENTINEL get-master-addr-by-name`,
 * `SENTINEL MASTERS` (redis-py keeps a master whose flags hold "master"
 * and neither "s_down" nor "o_down"), `SENTINEL REPLICAS`, `SENTINEL
 * SENTINELS`, and the `+switch-master` event. This module turns what an
 * agent knows - the committed state of a group (fsm.h) plus its own
 * observations of the instances - into those replies and events, with
 * Sentinel's shapes: flat arrays of key/value pairs where every value is a
 * bulk string (numbers too), event payloads "master <name> <ip> <port>" or
 * "slave <ip>:<port> <ip> <port> @ <name> <master-ip> <master-port>".
 *
 * The master given to clients (rsm_sentinel_master_addr) is the committed
 * master, or the new master of the failover in flight as soon as its
 * promotion is committed (step >= PROMOTED). The promoted replica takes
 * writes from then on, and the failover can no longer be aborted (the
 * planner completes it, with stragglers if it must), so clients are sent
 * there as early as possible instead of to a dead or demoted master until
 * every replica has been re-pointed. `+switch-master` is published at that
 * same moment (see api.h).
 *
 * Pure: plain structs in, RESP elements appended to a reply (resp_server.h)
 * or strings out; no sockets, no clock. */
#ifndef RSM_SENTINEL_H
#define RSM_SENTINEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsm/addr.h"
#include "rsm/entry.h"
#include "rsm/fsm.h"
#include "rsm/info.h"
#include "rsm/leaderview.h"
#include "rsm/node.h"
#include "rsm/resp_server.h"

#define RSM_SENTINEL_RUNID_LEN 40

/* The master clients are given (see above); false (and *out untouched)
 * if the group has none yet. */
bool rsm_sentinel_master_addr(const struct rsm_group *g, struct rsm_addr *out);

/* Sentinel's run id for an agent: 40 lowercase hex digits derived from
 * the agent id only, so that it is stable across restarts and every agent
 * computes the same one for a member. out has RSM_SENTINEL_RUNID_LEN + 1
 * bytes. */
void rsm_sentinel_run_id(uint64_t agent_id, char *out);

/* Per-group settings shown in the master's fields. */
struct rsm_sentinel_knobs {
    int64_t down_after_ms;
    int64_t failover_timeout_ms;
    unsigned parallel_syncs;
    unsigned quorum;
};

/* What this agent itself knows of one instance. */
struct rsm_sentinel_instance {
    struct rsm_addr addr;
    bool watched;      /* this agent probes it, long enough for its state
                          to mean something; the fields below are only
                          used when true */
    bool s_down;       /* subjectively down: no valid reply for
                          down_after_ms */
    bool disconnected; /* its latest probe failed */
    int64_t down_ms;   /* how long without a valid reply */
    int64_t no_reply_ms;
    bool has_info; /* info is known (a follower only PINGs the master:
                      it knows the others' from the leader's view) */
    struct rsm_info_summary info;     /* of the latest INFO */
    int64_t info_age_ms, role_age_ms; /* -1 unknown */
};

/* A group as this agent sees it. Build it with rsm_sentinel_view_init(),
 * then fill the instances it watches (rsm_sentinel_view_find()) and the
 * leader's verdict. Plain value (about 12 KB): pointers are borrowed and
 * must stay valid while it is used. */
struct rsm_sentinel_view {
    const struct rsm_group *g; /* committed */
    bool has_master;
    struct rsm_addr master; /* rsm_sentinel_master_addr() */
    bool o_down;            /* the leader's verdict: the committed master is
                               down (on the acting leader, or relayed) */
    int64_t o_down_ms;
    unsigned o_down_votes, o_down_quorum; /* of that verdict */
    bool relayed;      /* the leader's view was laid over this agent's own
                          (rsm_sentinel_view_relay) */
    unsigned n_agents; /* agents in the Raft group, this one included */
    struct rsm_sentinel_knobs knobs;
    size_t n; /* the instances: the master first, then every other
                 known address of the group, in order */
    struct rsm_sentinel_instance inst[RSM_MAX_MEMBERS + 2];
};

/* The instances of a group: the master clients are given, the committed
 * members, the committed master and the in-flight decision's old and new
 * masters, each once, nothing watched. */
void rsm_sentinel_view_init(struct rsm_sentinel_view *v,
                            const struct rsm_group *g, unsigned n_agents,
                            const struct rsm_sentinel_knobs *knobs);

/* The instance of v at addr, NULL if it is not one of the group's. */
struct rsm_sentinel_instance *
rsm_sentinel_view_find(struct rsm_sentinel_view *v, const struct rsm_addr *a);

/* The leader's side of relaying (leaderview.h): the watched instances of
 * v and its o_down verdict, into out (named after v's group). */
void rsm_sentinel_view_export(const struct rsm_sentinel_view *v,
                              struct rsm_leaderview_group *out);

/* A follower's side: lay the leader's view lv of v's group, received
 * age_ms ago, over v. Every instance of v that lv holds takes the
 * leader's state (watched); times that keep running while a state lasts
 * (down, no reply, INFO age, o_down) are aged by age_ms. lv's o_down
 * verdict counts only if it is about v's master. Instances lv does not
 * hold keep this agent's own state. Sets v->relayed. */
void rsm_sentinel_view_relay(struct rsm_sentinel_view *v,
                             const struct rsm_leaderview_group *lv,
                             int64_t age_ms);

/* Sentinel's flags of instance i of v, comma-separated: "master" or
 * "slave", then "s_down", "o_down" (master only), "disconnected",
 * "failover_in_progress" (master, while a failover is in flight),
 * "promoted" (the chosen replica before its promotion is committed).
 * buf of at least 96 bytes. */
const char *rsm_sentinel_flags(const struct rsm_sentinel_view *v, size_t i,
                               char *buf, size_t len);

/* "ok", "sdown" or "odown" for INFO's master<i>:status. */
const char *rsm_sentinel_status(const struct rsm_sentinel_view *v);

/* Number of replicas listed by SENTINEL REPLICAS (every instance but the
 * master). */
size_t rsm_sentinel_n_replicas(const struct rsm_sentinel_view *v);

/* SENTINEL MASTER <name>: one flat array (name, ip, port, runid, flags,
 * link-pending-commands, link-refcount, last-ping-sent,
 * last-ok-ping-reply, last-ping-reply, [s-down-time], [o-down-time],
 * down-after-milliseconds, info-refresh, role-reported,
 * role-reported-time, config-epoch, num-slaves, num-other-sentinels,
 * quorum, failover-timeout, parallel-syncs, [failover-state]). A view
 * without a master answers as Sentinel does for an unknown name: the
 * caller checks has_master first. */
void rsm_sentinel_reply_master(struct rsm_resp_reply *r,
                               const struct rsm_sentinel_view *v);

/* SENTINEL REPLICAS <name>: an array of flat arrays (name "ip:port", ip,
 * port, runid, flags, link and ping fields, role-reported,
 * master-link-down-time, master-link-status, master-host, master-port,
 * slave-priority, slave-repl-offset, replica-announced). Fields this agent
 * does not observe (a follower without a fresh view of the leader only
 * watches the master) are "0", "?" or -1 as documented in the code. A
 * replica whose INFO says replica_announced:0 is left out, as Sentinel
 * does (it still counts in num-slaves and INFO's slaves=). */
void rsm_sentinel_reply_replicas(struct rsm_resp_reply *r,
                                 const struct rsm_sentinel_view *v);

/* SENTINEL SENTINELS <name>: an array of flat arrays, one per other
 * member of st (name = runid, ip and port of its API, flags "sentinel",
 * voted-leader = the Raft leader's run id, voted-leader-epoch = the
 * term). */
void rsm_sentinel_reply_sentinels(struct rsm_resp_reply *r,
                                  const struct rsm_node_status *st,
                                  int64_t down_after_ms);

/* ---------------------------------------------------------------------
 * Events
 * --------------------------------------------------------------------- */

#define RSM_SENTINEL_PAYLOAD_MAX (4 * RSM_ADDR_STRLEN + RSM_GROUP_NAME_MAX)

struct rsm_sentinel_event {
    const char *name; /* static string: the channel */
    char payload[RSM_SENTINEL_PAYLOAD_MAX];
};

/* "master <group> <ip> <port>" ("? 0" for an unset address: no empty
 * field, payloads are split on spaces) */
void rsm_sentinel_payload_master(char *buf, size_t len, const char *group,
                                 const struct rsm_addr *a);

/* "slave <ip>:<port> <ip> <port> @ <group> <master-ip> <master-port>"
 * (master NULL or unset: "? 0"). */
void rsm_sentinel_payload_slave(char *buf, size_t len, const char *group,
                                const struct rsm_addr *a,
                                const struct rsm_addr *master);

/* "+switch-master" payload: "<group> <old-ip> <old-port> <new-ip>
 * <new-port>" (old "? 0" when there was none: a bootstrap). */
void rsm_sentinel_payload_switch(char *buf, size_t len, const char *group,
                                 const struct rsm_addr *old_master,
                                 const struct rsm_addr *new_master);

#define RSM_SENTINEL_MAX_EVENTS (RSM_MAX_MEMBERS + 6)

/* The events of an entry the FSM accepted, from the entry and the group's
 * state after it (g, NULL if the group is gone), Sentinel's names where
 * they exist:
 *   DecideFailover   +new-epoch "<epoch>", +try-failover (old master),
 *                    +failover-state-select-slave, +selected-slave and
 *                    +failover-state-send-slaveof-noone (chosen replica);
 *   Progress         PROMOTED: +promoted-slave, then
 *                    +failover-state-reconf-slaves; REPLICAS_POINTED:
 *                    +failover-state-demote-old-master (ours);
 *   CompleteFailover +failover-end (old master), then +slave for every
 *                    other instance under the new master;
 *   AbortFailover    -failover-abort-timeout, -failover-abort-slave-
 *                    unreachable, -failover-abort-slave-resynced or
 *                    -failover-abort-slave-restarted (from the entry's
 *                    abort code, never its reason text), else
 *                    -failover-abort (code OTHER, or UNSPECIFIED: an
 *                    older agent's abort, which carries no code);
 *   SetPaused        +rsm-paused / -rsm-paused "master ..." (ours);
 *   SetGroupConfig   +set "master <name> <ip> <port> <option> <value>"
 *                    for each setting it changes (down-after-milliseconds,
 *                    quorum, failover-timeout, parallel-syncs, in that
 *                    order), as Sentinel publishes one per pair;
 *   MonitorGroup     +monitor "master <name> <ip> <port> quorum <q>".
 * RemoveGroup's -monitor "master <name> <ip> <port>" names the master the
 * group had, which is gone from g: the events module publishes it from
 * what it last gave clients (events.h).
 * Master payloads name the old master of the failover. +switch-master is
 * not among them: it follows the master given to clients (see api.h).
 * Returns the number of events written (at most max). */
size_t rsm_sentinel_entry_events(const struct rsm_entry *e,
                                 const struct rsm_group *g,
                                 struct rsm_sentinel_event *out, size_t max);

#endif /* RSM_SENTINEL_H */
