/* api.h - the agent's client port: its command table on a RESP server.
 *
 * Commands (case-insensitive, any agent answers unless noted):
 *   PING [message]            +PONG, or the message as a bulk string
 *   INFO [section]            "# Server", "# Raft", "# Groups" sections
 *                             (section: server|raft|groups|all|default)
 *   RSM STATUS                JSON (see rsm_api_render_status)
 *   RSM MEMBERS               one array per member:
 *                             [:id, $raft-addr, $api-addr, :voter, :leader]
 *   RSM MEMBER ADD id host:port[/apiport]      leader only, +OK once the
 *   RSM MEMBER REMOVE id                       change is committed
 *   RSM VIEWS                 this agent's view of each group's committed
 *                             master, for the leader's quorum: one array
 *                             [$group, $host, :port, $state, :no_reply_ms]
 *   SENTINEL GET-MASTER-ADDR-BY-NAME name
 *                             [$host, $port] of the committed master, a
 *                             null array for an unknown group (Sentinel's
 *                             reply, so that clients find the master)
 *   RSM HELP                  the list above
 * A command that needs the leader, sent to a follower, is answered
 *   -NOTLEADER <leader-id> <leader-api-host:port>
 * or, when no leader is known, "-NOLEADER no leader elected". Unknown
 * commands and wrong argument counts get Redis's error texts.
 *
 * The API reaches the node only through struct rsm_api_node_ops, whose
 * members have the signatures of the rsm_node_* functions of node.h:
 * rsm_api_start() passes the real ones, tests pass a fake node.
 *
 * Ownership: rsm_api_start() allocates; rsm_api_stop() closes the server
 * (and every client) and frees the API after its callback. A membership
 * change still in progress at stop keeps only its (orphaned) reply, which
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

#define RSM_VERSION          "0.1.0"
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
};

struct rsm_api_config {
    struct rsm_addr bind;          /* host:port to listen on (port 0: any) */
    struct rsm_resp_limits limits; /* rsm_resp_limits_default() if unset */
    bool limits_set;
};

/* Start the API with any node implementation. Returns 0, or the error of
 * rsm_resp_server_start() (RSM_ERESOLVE, RSM_EIO, RSM_ENOMEM) with errmsg
 * naming the address. */
int rsm_api_start_ops(uv_loop_t *loop, const struct rsm_api_config *cfg,
                      struct rsm_node *node, const struct rsm_api_node_ops *ops,
                      struct rsm_api **out, char *errmsg, size_t errlen);

/* Start the API on `bind` for the real node of node.h (default limits).
 * Inline so that only its callers link the node. */
static inline int rsm_api_start(uv_loop_t *loop, const struct rsm_addr *bind,
                                struct rsm_node *node, struct rsm_api **out,
                                char *errmsg, size_t errlen)
{
    static const struct rsm_api_node_ops node_ops = {
        rsm_node_get_status, rsm_node_fsm,           rsm_node_is_leader,
        rsm_node_add_member, rsm_node_remove_member, rsm_node_parse_member_addr,
    };
    struct rsm_api_config cfg = {.bind = *bind};

    return rsm_api_start_ops(loop, &cfg, node, &node_ops, out, errmsg, errlen);
}

/* Let RSM VIEWS answer from the monitor (NULL: no views). */
void rsm_api_set_monitor(struct rsm_api *a, struct rsm_monitor *m);

/* The port actually listened on. */
uint16_t rsm_api_port(const struct rsm_api *a);

typedef void (*rsm_api_stop_cb)(void *arg);

/* Close the listener and every client, then call cb (may be NULL) from the
 * loop and free a. Call once, before stopping the node. */
void rsm_api_stop(struct rsm_api *a, rsm_api_stop_cb cb, void *arg);

/* ---------------------------------------------------------------------
 * Rendering (pure: no sockets, no node; used by the commands and tests)
 * --------------------------------------------------------------------- */

/* Facts about this process for INFO's "# Server" section and STATUS. */
struct rsm_api_server_info {
    const char *version;
    uint64_t uptime_s;
    uint16_t port;
};

/* INFO text ("# Section\r\nkey:value\r\n...", sections separated by an
 * empty line). section NULL, "", "default", "all" or "everything" gives
 * every section; otherwise one of "server", "raft", "groups"
 * (case-insensitive); an unknown one gives "" like Redis. fsm may be NULL
 * (no groups). Returns a malloc'd string the caller frees, NULL if out of
 * memory.
 *
 * "# Raft": raft_id, raft_role, raft_term, raft_leader_id (0 if none),
 * raft_leader_addr and raft_leader_api ("" if none), raft_commit_index,
 * raft_applied_index, raft_last_index, raft_leader_changes, raft_members,
 * then member<i>:id=..,raft=..,api=..,voter=0|1,leader=0|1.
 * "# Groups": groups, fsm_applied, fsm_rejected, then
 * group<i>:name=..,master=..,epoch=..,paused=0|1,in_flight=0|1. */
char *rsm_api_render_info(const struct rsm_node_status *st,
                          const struct rsm_fsm *fsm,
                          const struct rsm_api_server_info *si,
                          const char *section);

/* RSM STATUS as compact JSON (malloc'd, caller frees; NULL if out of
 * memory):
 *   {"version", "uptime_s", "id", "role", "term",
 *    "leader": {"id","raft","api"} | null,
 *    "commit_index", "applied_index", "last_index", "leader_changes",
 *    "members": [{"id","raft","api","voter","leader"}],
 *    "fsm": {"applied","rejected"},
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
