/* api.h - the agent's client port: its command table on a RESP server.
 *
 * Any agent answers, from its committed state, unless noted. Commands are
 * case-insensitive; unknown commands, unknown subcommands and wrong
 * argument counts get Redis's error texts.
 *
 * Connection
 *   AUTH [default] password   with --requirepass-file, every command but
 *                             AUTH, HELLO and QUIT answers
 *                             "-NOAUTH Authentication required." until the
 *                             client authenticates (a wrong password:
 *                             -WRONGPASS; the password is never logged);
 *                             without a password, "AUTH default any" is
 *                             +OK and "AUTH x" an error, like Redis
 *   HELLO [2 [AUTH user pass] [SETNAME name]]
 *                             the connection's properties as a flat array
 *                             of pairs (server, version, proto 2, id, mode
 *                             "sentinel", role, modules); protocol 3 (or
 *                             anything but 2) is "-NOPROTO unsupported
 *                             protocol version"
 *   PING [message]            +PONG or the message; ["pong", message] when
 *                             subscribed
 *   QUIT                      +OK, then the connection is closed
 *   RESET                     +RESET: unsubscribed, name and
 *                             authentication forgotten
 *   CLIENT SETNAME name | GETNAME | ID | SETINFO attr value | HELP
 *   COMMAND [COUNT | LIST | DOCS [name ...] | INFO [name ...]]
 *                             Redis's shapes, enough for redis-cli and
 *                             client libraries
 * Introspection
 *   INFO [section ...]        "# Server", "# Clients", "# Stats",
 *                             "# CPU", "# Raft", "# Groups",
 *                             "# Sentinel" (see
 *                             rsm_api_render_info_sections)
 *   ROLE                      ["sentinel", [group names]]
 * Sentinel (replies shaped like redis-sentinel's, see sentinel.h)
 *   SENTINEL GET-MASTER-ADDR-BY-NAME name
 *                             [$host, $port] of the master given to
 *                             clients: the committed master, or the
 *                             promoted replica as soon as the promotion of
 *                             an in-flight failover is committed; a null
 *                             array for an unknown group. Right after a
 *                             restart, before the log is applied again,
 *                             from the masters file of the data dir
 *                             (masterfile.h)
 *   SENTINEL MASTERS | MASTER name | REPLICAS name | SLAVES name
 *                             on a follower, with the leader's view of
 *                             the instances while it has a fresh one
 *                             (leaderview.h, events.h); REPLICAS leaves
 *                             out replicas with replica-announced no
 *   SENTINEL SENTINELS name   the other agents of the Raft group
 *   SENTINEL MYID             this agent's run id (rsm_sentinel_run_id)
 *   SENTINEL CKQUORUM name    +OK when a Raft leader is known and the
 *                             quorum is within the agents, else -NOQUORUM
 *   SENTINEL FAILOVER name    a MANUAL failover decided by the planner and
 *                             committed through the log like any other
 *                             (rsm_monitor_request_failover); +OK once the
 *                             decision is committed, -INPROG if one is in
 *                             flight, -NOGOODSLAVE with the reason if no
 *                             replica is eligible. A follower sends it on
 *                             to the leader and relays the answer
 *                             (forward.h), or answers -NOTLEADER when it
 *                             cannot (no monitor, no leader known, or the
 *                             request came from an agent forwarding it)
 *   SENTINEL SET name option value [option value ...]
 *                             down-after-milliseconds, quorum,
 *                             failover-timeout, parallel-syncs through the
 *                             log (SetGroupConfig); +OK once committed; a
 *                             follower checks it, then forwards it like
 *                             FAILOVER. auth-pass and the other options
 *                             this agent refuses: sentinel_config.h
 *   SENTINEL RESET pattern    :<groups matching>, nothing reset
 *                             (sentinel_config.h says why)
 *   SENTINEL CONFIG GET pattern | SET param value
 *                             this agent's global settings
 *                             (globalconf.h)
 *   SENTINEL HELP             Redis's form: usage, description indented
 * Unknown groups: "-ERR No such master with that name".
 * Pub/sub (pubsub.h): SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE. A
 *   subscribed client may only send those, PING, QUIT and RESET; it is
 *   exempt from the idle timeout and dropped when more than
 *   subscriber_output_limit bytes wait for it. Events: see events.h.
 * Ours
 *   RSM STATUS                JSON (see rsm_api_render_status), plus
 *                             "monitor" (monitor_status.h) if a monitor
 *                             is set
 *   RSM MEMBERS               one array per member:
 *                             [:id, $raft-addr, $api-addr, :voter, :leader]
 *   RSM MEMBER ADD id host:port[/apiport]      leader only, +OK once the
 *   RSM MEMBER REMOVE id                       change is committed
 *   RSM VIEWS                 this agent's view of each group's committed
 *                             master, for the leader's quorum: one array
 *                             [$group, $host, :port, $state, :no_reply_ms]
 *   RSM LEADERVIEW payload    the acting leader's view of the instances
 *                             (leaderview.h), pushed to the others: +OK,
 *                             -REFUSED why (not this agent's leader in its
 *                             term), -ERR bad leader view
 *   RSM HISTORY [group]       past failovers, oldest first, of one group or
 *                             of all: an array of flat key/value arrays
 *                             (group, epoch, kind, result, old-master,
 *                             new-master, decided-at-ms, ended-at-ms,
 *                             old-offset, new-offset, data-at-risk,
 *                             reason), every value a bulk string
 *   RSM PAUSE group           leader only: SetPaused through the log (no
 *   RSM RESUME group          automatic failover while paused); +OK once
 *                             committed
 *   RSM HELP                  the list above
 * A command that needs the leader, sent to a follower, is answered
 *   -NOTLEADER <leader-id> <leader-api-host:port>
 * or, when no leader is known, "-NOLEADER no leader elected".
 *
 * The API reaches the node only through struct rsm_api_node_ops, whose
 * members have the signatures of the rsm_node_* functions of node.h:
 * rsm_api_start() passes the real ones, tests pass a fake node.
 *
 * Ownership: rsm_api_start() allocates; rsm_api_stop() closes the server
 * (and every client) and frees the API after its callback; the requirepass
 * copy is wiped then. A request still in progress at stop (membership
 * change, pause, manual failover) keeps only its (orphaned) reply, which
 * its completion frees: the node may call back after the API is gone. */
#ifndef RSM_API_H
#define RSM_API_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "rsm/addr.h"
#include "rsm/fsm.h"
#include "rsm/monitor.h"
#include "rsm/node.h"
#include "rsm/resp_server.h"
#include "rsm/version.h"

#define RSM_API_DEFAULT_PORT 26379

struct rsm_api;

/* What the API needs from the node (see node.h for each contract). */
struct rsm_api_node_ops {
    void (*get_status)(const struct rsm_node *n, struct rsm_node_status *out);
    const struct rsm_fsm *(*fsm)(const struct rsm_node *n);
    bool (*is_leader)(const struct rsm_node *n);
    int (*add_member)(struct rsm_node *n, const struct rsm_member *m,
                      rsm_node_done_cb cb, void *arg);
    int (*remove_member)(struct rsm_node *n, uint64_t id, rsm_node_done_cb cb,
                         void *arg);
    int (*parse_member_addr)(const char *text, uint16_t default_api_port,
                             struct rsm_member *m, char *errmsg, size_t errlen);
    int (*propose)(struct rsm_node *n, const struct rsm_entry *e,
                   rsm_node_done_cb cb, void *arg);
};

#define RSM_API_PASSWORD_MAX             256
#define RSM_API_DEFAULT_SUBSCRIBER_LIMIT (1024 * 1024)

struct rsm_api_config {
    struct rsm_addr bind;          /* host:port to listen on (port 0: any) */
    struct rsm_resp_limits limits; /* rsm_resp_limits_default() if unset */
    bool limits_set;
    char requirepass[RSM_API_PASSWORD_MAX]; /* "" = no authentication */
    size_t subscriber_output_limit;         /* queued bytes before a subscriber
                                               is dropped; 0 = the default above */
    const char *data_dir; /* the node's data dir, for the masters file
                             (masterfile.h); NULL: none. Copied. */
};

/* The node functions of node.h, for rsm_api_start_ops(). */
static inline const struct rsm_api_node_ops *rsm_api_real_node_ops(void)
{
    static const struct rsm_api_node_ops node_ops = {
        rsm_node_get_status, rsm_node_fsm,           rsm_node_is_leader,
        rsm_node_add_member, rsm_node_remove_member, rsm_node_parse_member_addr,
        rsm_node_propose,
    };
    return &node_ops;
}

/* Start the API with any node implementation. Returns 0, or the error of
 * rsm_resp_server_start() (RSM_ERESOLVE, RSM_EIO, RSM_ENOMEM) with errmsg
 * naming the address. */
int rsm_api_start_ops(uv_loop_t *loop, const struct rsm_api_config *cfg,
                      struct rsm_node *node, const struct rsm_api_node_ops *ops,
                      struct rsm_api **out, char *errmsg, size_t errlen);

/* Start the API on `bind` for the real node of node.h (default limits, no
 * password). Inline so that only its callers link the node. */
static inline int rsm_api_start(uv_loop_t *loop, const struct rsm_addr *bind,
                                struct rsm_node *node, struct rsm_api **out,
                                char *errmsg, size_t errlen)
{
    struct rsm_api_config cfg = {.bind = *bind};

    return rsm_api_start_ops(loop, &cfg, node, rsm_api_real_node_ops(), out,
                             errmsg, errlen);
}

/* Answer RSM VIEWS, SENTINEL FAILOVER and the observed fields of the
 * Sentinel replies from the monitor, show what it sees of each instance in
 * RSM STATUS ("monitor"), and publish its events (NULL: none; set NULL
 * before stopping the monitor). */
void rsm_api_set_monitor(struct rsm_api *a, struct rsm_monitor *m);

/* Forward the node's events (the agent's node observer calls this): the
 * events derived from applied entries are published from here. */
void rsm_api_node_event(struct rsm_api *a, enum rsm_node_event ev,
                        const struct rsm_entry *entry, int apply_status);

/* A rsm_monitor_event_cb (arg: the API): publishes the leader's action
 * events. */
void rsm_api_monitor_event(void *arg, const char *group, const char *name,
                           const char *detail);

/* The port actually listened on. */
uint16_t rsm_api_port(const struct rsm_api *a);

/* Clients connected now (including ones being closed). */
unsigned rsm_api_clients(const struct rsm_api *a);

typedef void (*rsm_api_stop_cb)(void *arg);

/* Close the listener and every client, then call cb (may be NULL) from the
 * loop and free a. Call once, before stopping the node. */
void rsm_api_stop(struct rsm_api *a, rsm_api_stop_cb cb, void *arg);

/* ---------------------------------------------------------------------
 * Rendering (pure: no sockets, no node; used by the commands and tests)
 * --------------------------------------------------------------------- */

/* One group in INFO's "# Sentinel" section. */
struct rsm_api_sentinel_master {
    const char *name;
    const char *status; /* "ok", "sdown", "odown" */
    struct rsm_addr master;
    size_t slaves;
};

/* Facts about this process for INFO and STATUS. */
struct rsm_api_server_info {
    const char *version;
    uint64_t uptime_s;
    uint16_t port;
    unsigned clients;        /* "# Clients": connected_clients */
    unsigned pubsub_clients; /* clients subscribed to something */
    unsigned max_clients;
    const struct rsm_api_sentinel_master *masters; /* "# Sentinel": the
                                groups that have a master (may be NULL) */
    size_t n_masters;
    /* Process facts (rsm_api_process_info() fills them; zero: shown as
     * 0 / ""). */
    long process_id;
    char os[96]; /* "Linux 6.1.0 x86_64", as uname gives it */
    /* "# Stats": since the start */
    uint64_t connections_received;
    uint64_t commands_processed;
    /* "# CPU": seconds of CPU time (getrusage): the process, its children
     * (hooks), the main thread */
    double cpu_sys, cpu_user;
    double cpu_sys_children, cpu_user_children;
    double cpu_sys_main, cpu_user_main;
};

/* The Redis version the agent claims in INFO (redis_version) and HELLO:
 * the redis-sentinel release whose replies it reproduces (the captures of
 * shared/reference/ are of 7.0.15). Clients choose commands by it (HELLO,
 * SENTINEL REPLICAS, SENTINEL CONFIG, COMMAND DOCS are all there by 7.0),
 * so it promises no more than the port serves: a higher one (7.2) would
 * send them to commands it lacks, a lower one to older fallbacks. The
 * agent's own version is rsm_version. */
#define RSM_API_REDIS_VERSION "7.0.15"

/* Fill the process facts of si (pid, OS, CPU times); the rest of si is
 * left as it is. Not pure: reads the process's own usage. */
void rsm_api_process_info(struct rsm_api_server_info *si);

/* INFO text, Redis's shape: each section "# Name\r\nkey:value\r\n..."
 * followed by an empty line ("\r\n"), in a fixed order (Server, Clients,
 * Stats, CPU, Raft, Groups, Sentinel) whatever the order asked. The
 * sections are named by `sections` (n names, case-insensitive): none,
 * "default", "all" or "everything" give every section; names may be
 * combined ("server cpu"), repeated, and an unknown name adds nothing, so
 * that only unknown names give "" (like Redis; redis-sentinel knows the
 * same five of Redis's names as this agent). fsm may be NULL (no groups).
 * Returns a malloc'd string the caller frees, NULL if out of memory.
 *
 * "# Server": redis_version (RSM_API_REDIS_VERSION), redis_mode:sentinel,
 * rsm_version, os, arch_bits, process_id, run_id (this agent's Sentinel
 * run id, rsm_sentinel_run_id), tcp_port, uptime_in_seconds,
 * uptime_in_days.
 * "# Clients": connected_clients, pubsub_clients, maxclients.
 * "# Stats": total_connections_received, total_commands_processed.
 * "# CPU": used_cpu_sys, used_cpu_user, used_cpu_sys_children,
 * used_cpu_user_children, used_cpu_sys_main_thread,
 * used_cpu_user_main_thread (seconds, 6 decimals).
 * "# Raft": raft_id, raft_role, raft_term, raft_leader_id (0 if none),
 * raft_leader_addr and raft_leader_api ("" if none), raft_commit_index,
 * raft_applied_index, raft_last_index, raft_leader_changes, raft_members,
 * then member<i>:id=..,raft=..,api=..,voter=0|1,leader=0|1.
 * "# Groups": groups, fsm_applied, fsm_rejected, then
 * group<i>:name=..,master=..,epoch=..,paused=0|1,in_flight=0|1.
 * "# Sentinel" (Sentinel's): sentinel_masters, sentinel_tilt:0,
 * sentinel_tilt_since_seconds:-1, sentinel_running_scripts:0,
 * sentinel_scripts_queue_length:0, sentinel_simulate_failure_flags:0, then
 * master<i>:name=..,status=ok|sdown|odown,address=host:port,slaves=N,
 * sentinels=<agents, this one included>. */
char *rsm_api_render_info_sections(const struct rsm_node_status *st,
                                   const struct rsm_fsm *fsm,
                                   const struct rsm_api_server_info *si, int n,
                                   const char *const *sections);

/* The same for one section name (NULL or "": every section). */
char *rsm_api_render_info(const struct rsm_node_status *st,
                          const struct rsm_fsm *fsm,
                          const struct rsm_api_server_info *si,
                          const char *section);

/* RSM STATUS as compact JSON (malloc'd, caller frees; NULL if out of
 * memory):
 *   {"version", "uptime_s", "id", "role", "term",
 *    "leader": {"id","raft","api"} | null,
 *    "commit_index", "applied_index", "last_index", "leader_changes",
 *    "members": [{"id","raft","api","http","advertised","voter","leader"}]
 *               (api/http as the member advertised them when "advertised",
 *               else from the Raft configuration; http null if unknown),
 *    "fsm": {"applied","rejected"}, "cluster_id" ("" until committed),
 *    "groups": [{"name", "master": "host:port" | null, "master_run_id",
 *                "epoch", "paused", "members": ["host:port"...],
 *                "in_flight": null | {"epoch","kind","old_master",
 *                    "new_master","decided_at_ms","decided_by","step",
 *                    "reason","ranking":[{"addr","rank","reason","offset",
 *                    "priority"}]},
 *                "last_failover_end_ms",
 *                "history": [{"epoch","kind","result","old_master",
 *                    "new_master","decided_at_ms","ended_at_ms",
 *                    "old_offset","new_offset","data_at_risk","reason"}]}]}
 * Addresses are "host:port" strings ("" when unset); enums are the strings
 * of entry.h (rsm_failover_kind_str ...). fsm may be NULL. */
char *rsm_api_render_status(const struct rsm_node_status *st,
                            const struct rsm_fsm *fsm,
                            const struct rsm_api_server_info *si);

#endif /* RSM_API_H */
