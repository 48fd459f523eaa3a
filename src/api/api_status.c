/* api_status.c - RSM STATUS's JSON (rsm_api_render_status, pure): the
 * node's Raft state, the FSM's counters and every group with its
 * in-flight failover and history. */
#include "api_int.h"
#include "rsm/jsonout.h"

#include <jansson.h>

static json_t *api__status_member(const struct rsm_node_status *st,
                                  const struct rsm_member *m, bool *oom)
{
    json_t *o = json_object();

    if (o == NULL) {
        *oom = true;
        return NULL;
    }
    rsm_json_set(o, "id", rsm_json_uint(m->id), oom);
    rsm_json_set(o, "raft", rsm_json_addr(&m->raft), oom);
    rsm_json_set(o, "api", rsm_json_addr(&m->api), oom);
    rsm_json_set(o, "http",
                 m->http.port ? rsm_json_addr(&m->http) : json_null(), oom);
    rsm_json_set(o, "advertised", json_boolean(m->advertised), oom);
    rsm_json_set(o, "voter", json_boolean(m->voter), oom);
    rsm_json_set(o, "leader", json_boolean(api__is_leader_member(st, m)), oom);
    return o;
}

static json_t *api__status_ranking(const struct rsm_entry *d, bool *oom)
{
    json_t *a = json_array();

    for (unsigned i = 0; a && i < d->n_ranked && i < RSM_MAX_RANKED; i++) {
        const struct rsm_ranked *r = &d->ranking[i];
        json_t *o = json_object();
        if (o != NULL) {
            rsm_json_set(o, "addr", rsm_json_addr(&r->addr), oom);
            rsm_json_set(o, "rank", rsm_json_uint(r->rank), oom);
            rsm_json_set(o, "reason", json_string(r->reason), oom);
            rsm_json_set(o, "offset", json_integer(r->offset), oom);
            rsm_json_set(o, "priority", json_integer(r->priority), oom);
        }
        rsm_json_append(a, o, oom);
    }
    return a;
}

static json_t *api__status_in_flight(const struct rsm_group *g, bool *oom)
{
    const struct rsm_entry *d = &g->decision;
    json_t *o;

    if (!g->in_flight)
        return json_null();
    o = json_object();
    if (o == NULL)
        return NULL;
    rsm_json_set(o, "epoch", rsm_json_uint(d->epoch), oom);
    rsm_json_set(o, "kind",
                 json_string(rsm_failover_kind_str(d->failover_kind)), oom);
    rsm_json_set(o, "old_master", rsm_json_addr(&d->old_master), oom);
    rsm_json_set(o, "new_master", rsm_json_addr(&d->master), oom);
    rsm_json_set(o, "decided_at_ms", json_integer(g->decided_at_ms), oom);
    rsm_json_set(o, "decided_by", rsm_json_uint(d->decided_by), oom);
    rsm_json_set(o, "step", json_string(rsm_failover_step_str(g->step)), oom);
    rsm_json_set(o, "reason", json_string(d->reason), oom);
    rsm_json_set(o, "ranking", api__status_ranking(d, oom), oom);
    return o;
}

static json_t *api__status_history_item(const struct rsm_history_item *h,
                                        bool *oom)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    rsm_json_set(o, "epoch", rsm_json_uint(h->epoch), oom);
    rsm_json_set(o, "kind", json_string(rsm_failover_kind_str(h->kind)), oom);
    rsm_json_set(o, "result", json_string(rsm_failover_result_str(h->result)),
                 oom);
    rsm_json_set(o, "old_master", rsm_json_addr(&h->old_master), oom);
    rsm_json_set(o, "new_master", rsm_json_addr(&h->new_master), oom);
    rsm_json_set(o, "decided_at_ms", json_integer(h->decided_at_ms), oom);
    rsm_json_set(o, "ended_at_ms", json_integer(h->ended_at_ms), oom);
    rsm_json_set(o, "old_offset", json_integer(h->old_offset), oom);
    rsm_json_set(o, "new_offset", json_integer(h->new_offset), oom);
    rsm_json_set(o, "data_at_risk", json_integer(h->data_at_risk), oom);
    rsm_json_set(o, "reason", json_string(h->reason), oom);
    return o;
}

static json_t *api__status_group(const struct rsm_group *g, bool *oom)
{
    json_t *o = json_object(), *members = json_array(), *history = json_array();

    if (o == NULL || members == NULL || history == NULL) {
        json_decref(o);
        json_decref(members);
        json_decref(history);
        *oom = true;
        return NULL;
    }
    rsm_json_set(o, "name", json_string(g->name), oom);
    rsm_json_set(o, "master",
                 g->has_master ? rsm_json_addr(&g->master) : json_null(), oom);
    rsm_json_set(o, "master_run_id", json_string(g->master_run_id), oom);
    rsm_json_set(o, "epoch", rsm_json_uint(g->epoch), oom);
    rsm_json_set(o, "paused", json_boolean(g->paused), oom);
    for (unsigned i = 0; i < g->n_members && i < RSM_MAX_MEMBERS; i++)
        rsm_json_append(members, rsm_json_addr(&g->members[i]), oom);
    rsm_json_set(o, "members", members, oom);
    rsm_json_set(o, "in_flight", api__status_in_flight(g, oom), oom);
    rsm_json_set(o, "last_failover_end_ms",
                 json_integer(g->last_failover_end_ms), oom);
    for (unsigned i = 0; i < g->n_history && i < RSM_HISTORY_MAX; i++)
        rsm_json_append(history, api__status_history_item(&g->history[i], oom),
                        oom);
    rsm_json_set(o, "history", history, oom);
    return o;
}

static void api__status_raft(json_t *o, const struct rsm_node_status *st,
                             bool *oom)
{
    json_t *leader = json_null(), *members = json_array();

    rsm_json_set(o, "id", rsm_json_uint(st->id), oom);
    rsm_json_set(o, "role", json_string(st->state ? st->state : "unavailable"),
                 oom);
    rsm_json_set(o, "term", rsm_json_uint(st->term), oom);
    if (st->has_leader) {
        leader = json_object();
        if (leader != NULL) {
            rsm_json_set(leader, "id", rsm_json_uint(st->leader.id), oom);
            rsm_json_set(leader, "raft", rsm_json_addr(&st->leader.raft), oom);
            rsm_json_set(leader, "api", rsm_json_addr(&st->leader.api), oom);
        }
    }
    rsm_json_set(o, "leader", leader, oom);
    rsm_json_set(o, "commit_index", rsm_json_uint(st->commit_index), oom);
    rsm_json_set(o, "applied_index", rsm_json_uint(st->applied_index), oom);
    rsm_json_set(o, "last_index", rsm_json_uint(st->last_index), oom);
    rsm_json_set(o, "leader_changes", rsm_json_uint(st->leader_changes), oom);
    for (unsigned i = 0; members && i < st->n_members && i < RSM_MAX_AGENTS;
         i++)
        rsm_json_append(members, api__status_member(st, &st->members[i], oom),
                        oom);
    rsm_json_set(o, "members", members, oom);
}

char *rsm_api_render_status(const struct rsm_node_status *st,
                            const struct rsm_fsm *fsm,
                            const struct rsm_api_server_info *si)
{
    json_t *o = json_object(), *groups = json_array(), *f = json_object();
    bool oom = false;
    char *out = NULL;

    if (o == NULL || groups == NULL || f == NULL) {
        json_decref(groups);
        json_decref(f);
        goto done;
    }
    rsm_json_set(o, "version", json_string(si->version ? si->version : ""),
                 &oom);
    rsm_json_set(o, "uptime_s", rsm_json_uint(si->uptime_s), &oom);
    api__status_raft(o, st, &oom);
    rsm_json_set(f, "applied", rsm_json_uint(fsm ? fsm->applied : 0), &oom);
    rsm_json_set(f, "rejected", rsm_json_uint(fsm ? fsm->rejected : 0), &oom);
    rsm_json_set(o, "fsm", f, &oom);
    rsm_json_set(o, "cluster_id", json_string(fsm ? fsm->cluster_id : ""),
                 &oom);
    for (size_t i = 0; fsm && i < fsm->n_groups; i++)
        rsm_json_append(groups, api__status_group(&fsm->groups[i], &oom), &oom);
    rsm_json_set(o, "groups", groups, &oom);
    if (!oom)
        out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
done:
    json_decref(o);
    return out;
}
