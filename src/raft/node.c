/* node.c - this agent's Raft node (node.h): the data-dir lock,
 * canonical/raft over the resolving transport, leadership tracking,
 * proposals, membership and the graceful stop. This file: the observer's
 * events, the FSM glue and status; the other parts are listed in
 * node_int.h.
 *
 * raft 0.15 has no state-change callback. A timer (node__poll_cb, node_watch.c)
 * compares raft_state(), the term, the leader, the configuration and the
 * snapshot index with what it saw last and turns differences into log lines and
 * observer events. It runs every POLL_MS, and at once (next loop turn, out
 * of raft's call stack) when a raft tick or received message changed one
 * of them: raft_io's start() is wrapped to see those callbacks. A new leader
 * commits a barrier first (0.15 does not append a no-op on election, so
 * entries of older terms are only known committed after one of its own) and
 * reports RSM_NODE_BECAME_LEADER only when the barrier has been applied.
 *
 * Built against libraft 0.15 or 0.22 (raft_compat.h): the workarounds for
 * 0.15 bugs that need its internals are compiled for 0.15 only; 0.22 fixed
 * those bugs (each one says so). 0.22 appends a no-op on election itself;
 * the barrier is still how this node learns when it may decide. */
#include "node_int.h"
#include "rsm/datadir.h"
#include "rsm/err.h"
#include "rsm/log.h"
#include "raft_fsm.h"
#include "rsm/transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void node__emit(struct rsm_node *n, enum rsm_node_event ev,
                const struct rsm_entry *e, int status)
{
    if (n->obs.on_event != NULL && !n->closing)
        n->obs.on_event(n->obs.arg, ev, e, status);
}

static const char *node__state_name(int state)
{
    switch (state) {
    case RAFT_LEADER:
        return "leader";
    case RAFT_FOLLOWER:
        return "follower";
    case RAFT_CANDIDATE:
        return "candidate";
    default:
        return "unavailable";
    }
}

/* RSM_E* for a raft error code. */

/* Members of the current (possibly uncommitted) configuration. */
unsigned node__config_members(const struct rsm_node *n, struct rsm_member *out,
                              unsigned max)
{
    const struct raft_configuration *c = &n->raft.configuration;
    unsigned k = 0;

    for (unsigned i = 0; i < c->n && k < max; i++) {
        struct rsm_member m;

        memset(&m, 0, sizeof m);
        if (rsm_node_parse_member_addr(c->servers[i].address, n->cfg.api_port,
                                       &m, NULL, 0) != 0)
            continue; /* not one of ours; never written by this agent */
        m.id = c->servers[i].id;
        m.voter = c->servers[i].role == RAFT_VOTER;
        out[k++] = m;
    }
    return k;
}

/* ---------------------------------------------------------------------------
 * The FSM: src/raft/raft_fsm.c drives our rsm_fsm and logs rejected entries
 * and snapshots; we pass its events on.
 * ------------------------------------------------------------------------- */

/* Every applied entry at debug level; a decision at info level, with its
 * old and new master, so that every agent's log records each decision it
 * applied (the chaos suite compares them across agents). */
static void node__log_applied(const struct rsm_entry *e)
{
    char old[RSM_ADDR_STRLEN], new[RSM_ADDR_STRLEN];
    char g[2 * RSM_GROUP_NAME_MAX + 8];

    if (e->kind != RSM_ENTRY_DECIDE_FAILOVER) {
        rsm_log(RSM_LOG_DEBUG, "entry-applied", "kind=%s epoch=%llu",
                rsm_entry_kind_str(e->kind), (unsigned long long)e->epoch);
        return;
    }
    rsm_log(RSM_LOG_INFO, "entry-applied",
            "kind=%s group=%s epoch=%llu old=%s new=%s",
            rsm_entry_kind_str(e->kind), rsm_log_quote(e->group, g, sizeof g),
            (unsigned long long)e->epoch,
            rsm_addr_format(&e->old_master, old, sizeof old),
            rsm_addr_format(&e->master, new, sizeof new));
}

/* The log carries the group's cluster id (AdvertiseAgent): take it, and
 * keep it in the data dir for the next start (the Raft handshake needs it
 * before the log is replayed). A different id in the data dir than in the
 * log means the dir was copied from another group: the log wins, loudly. */
static void node__sync_cluster_id(struct rsm_node *n)
{
    const char *id = n->state.cluster_id;
    char err[RSM_ERRMSG_SIZE];

    if (id[0] == '\0' || strcmp(id, n->cluster_id) == 0)
        return;
    if (n->cluster_id[0] != '\0')
        rsm_log(RSM_LOG_WARN, "cluster-id-changed", "from=%s to=%s data_dir=%s",
                n->cluster_id, id, n->data_dir);
    else
        rsm_log(RSM_LOG_INFO, "cluster-id-adopted", "cluster_id=%s", id);
    memcpy(n->cluster_id, id, sizeof n->cluster_id);
    if (rsm_datadir_write_cluster_id(n->data_dir, id, err, sizeof err) != 0)
        rsm_log(RSM_LOG_ERROR, "cluster-id-not-stored", "error=\"%s\"", err);
}

static void node__on_fsm_event(void *arg, const struct rsm_raft_fsm_event *ev)
{
    struct rsm_node *n = arg;

    switch (ev->type) {
    case RSM_RAFT_FSM_APPLIED:
        node__log_applied(ev->entry);
        node__sync_cluster_id(n);
        node__emit(n, RSM_NODE_APPLIED, ev->entry, ev->rc);
        break;
    case RSM_RAFT_FSM_REJECTED: /* logged by raft_fsm.c */
        node__emit(n, RSM_NODE_APPLIED, ev->entry, ev->rc);
        break;
    case RSM_RAFT_FSM_RESTORED:
        n->restored = true;
        node__sync_cluster_id(n);
        break;
    default:
        break;
    }
}

int node__fsm_setup(struct rsm_node *n, char *errmsg, size_t errlen)
{
    int rv;

    rsm_fsm_init(&n->state);
    rv = rsm_raft_fsm_init(&n->fsm, &n->state, node__on_fsm_event, n);
    if (rv != 0) {
        rsm_fsm_close(&n->state);
        return rsm_errf(rv, errmsg, errlen, "fsm: %s", rsm_strerror(rv));
    }
    return 0;
}

void node__fsm_teardown(struct rsm_node *n)
{
    rsm_raft_fsm_close(&n->fsm);
    rsm_fsm_close(&n->state);
}

/* ---------------------------------------------------------------------------
 * Status
 * ------------------------------------------------------------------------- */

/* The addresses m advertised through the log replace the configured or
 * guessed ones. */
static void node__use_advertised(const struct rsm_node *n, struct rsm_member *m)
{
    const struct rsm_agent_info *a = rsm_fsm_agent(&n->state, m->id);

    if (a == NULL)
        return;
    m->api = a->api;
    m->http = a->http;
    m->advertised = true;
}

void rsm_node_get_status(const struct rsm_node *n, struct rsm_node_status *out)
{
    struct raft *r = (struct raft *)&n->raft;
    raft_id lid;
    const char *laddr;

    memset(out, 0, sizeof *out);
    out->id = n->cfg.id;
    out->state = n->closing ? "unavailable" : node__state_name(r->state);
    out->term = r->current_term;
    out->commit_index = r->commit_index;
    out->applied_index = raft_last_applied(r);
    out->last_index = raft_last_index(r);
    out->leader_changes = n->leader_changes;
    out->n_members = node__config_members(n, out->members, RSM_MAX_AGENTS);
    for (unsigned i = 0; i < out->n_members; i++)
        node__use_advertised(n, &out->members[i]);
    raft_leader(r, &lid, &laddr);
    if (lid == 0 || n->closing)
        return;
    for (unsigned i = 0; i < out->n_members; i++) {
        if (out->members[i].id == lid) {
            out->has_leader = true;
            out->leader = out->members[i];
            return;
        }
    }
    if (laddr != NULL &&
        rsm_node_parse_member_addr(laddr, n->cfg.api_port, &out->leader, NULL,
                                   0) == 0) {
        out->has_leader = true;
        out->leader.id = lid;
        node__use_advertised(n, &out->leader);
    }
}

const char *rsm_node_cluster_id(const struct rsm_node *n)
{
    return n->cluster_id;
}

void rsm_node_transport_stats(const struct rsm_node *n,
                              struct rsm_transport_stats *out)
{
    rsm_transport_get_stats(&n->transport, out);
}

const struct rsm_fsm *rsm_node_fsm(const struct rsm_node *n)
{
    return &n->state;
}

bool rsm_node_is_leader(const struct rsm_node *n)
{
    return !n->closing && n->raft.state == RAFT_LEADER;
}
