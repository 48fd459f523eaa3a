/* api_status.c - RSM STATUS's JSON (rsm_api_render_status, pure): the
 * node's Raft state, the FSM's counters and every group with its
 * in-flight failover and history. */
#include "api_int.h"

#include <jansson.h>

/* json_object_set_new() that remembers a failure. */
static void api__jset(json_t *o, const char *key, json_t *v, bool *oom)
{
    if (v == NULL || json_object_set_new(o, key, v) != 0)
        *oom = true;
}

static void api__jappend(json_t *a, json_t *v, bool *oom)
{
    if (v == NULL || json_array_append_new(a, v) != 0)
        *oom = true;
}

static json_t *api__jaddr(const struct rsm_addr *a)
{
    char buf[RSM_ADDR_STRLEN];

    return json_string(rsm_addr_format_or(a, buf, sizeof buf, ""));
}

static json_t *api__juint(uint64_t v)
{
    return json_integer((json_int_t)v);
}

static json_t *api__status_member(const struct rsm_node_status *st,
                                  const struct rsm_member *m, bool *oom)
{
    json_t *o = json_object();

    if (o == NULL) {
        *oom = true;
        return NULL;
    }
    api__jset(o, "id", api__juint(m->id), oom);
    api__jset(o, "raft", api__jaddr(&m->raft), oom);
    api__jset(o, "api", api__jaddr(&m->api), oom);
    api__jset(o, "http", m->http.port ? api__jaddr(&m->http) : json_null(),
              oom);
    api__jset(o, "advertised", json_boolean(m->advertised), oom);
    api__jset(o, "voter", json_boolean(m->voter), oom);
    api__jset(o, "leader", json_boolean(api__is_leader_member(st, m)), oom);
    return o;
}

static json_t *api__status_ranking(const struct rsm_entry *d, bool *oom)
{
    json_t *a = json_array();

    for (unsigned i = 0; a && i < d->n_ranked && i < RSM_MAX_RANKED; i++) {
        const struct rsm_ranked *r = &d->ranking[i];
        json_t *o = json_object();
        if (o != NULL) {
            api__jset(o, "addr", api__jaddr(&r->addr), oom);
            api__jset(o, "rank", api__juint(r->rank), oom);
            api__jset(o, "reason", json_string(r->reason), oom);
            api__jset(o, "offset", json_integer(r->offset), oom);
            api__jset(o, "priority", json_integer(r->priority), oom);
        }
        api__jappend(a, o, oom);
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
    api__jset(o, "epoch", api__juint(d->epoch), oom);
    api__jset(o, "kind", json_string(rsm_failover_kind_str(d->failover_kind)),
              oom);
    api__jset(o, "old_master", api__jaddr(&d->old_master), oom);
    api__jset(o, "new_master", api__jaddr(&d->master), oom);
    api__jset(o, "decided_at_ms", json_integer(g->decided_at_ms), oom);
    api__jset(o, "decided_by", api__juint(d->decided_by), oom);
    api__jset(o, "step", json_string(rsm_failover_step_str(g->step)), oom);
    api__jset(o, "reason", json_string(d->reason), oom);
    api__jset(o, "ranking", api__status_ranking(d, oom), oom);
    return o;
}

static json_t *api__status_history_item(const struct rsm_history_item *h,
                                        bool *oom)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    api__jset(o, "epoch", api__juint(h->epoch), oom);
    api__jset(o, "kind", json_string(rsm_failover_kind_str(h->kind)), oom);
    api__jset(o, "result", json_string(rsm_failover_result_str(h->result)),
              oom);
    api__jset(o, "old_master", api__jaddr(&h->old_master), oom);
    api__jset(o, "new_master", api__jaddr(&h->new_master), oom);
    api__jset(o, "decided_at_ms", json_integer(h->decided_at_ms), oom);
    api__jset(o, "ended_at_ms", json_integer(h->ended_at_ms), oom);
    api__jset(o, "old_offset", json_integer(h->old_offset), oom);
    api__jset(o, "new_offset", json_integer(h->new_offset), oom);
    api__jset(o, "data_at_risk", json_integer(h->data_at_risk), oom);
    api__jset(o, "reason", json_string(h->reason), oom);
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
    api__jset(o, "name", json_string(g->name), oom);
    api__jset(o, "master", g->has_master ? api__jaddr(&g->master) : json_null(),
              oom);
    api__jset(o, "master_run_id", json_string(g->master_run_id), oom);
    api__jset(o, "epoch", api__juint(g->epoch), oom);
    api__jset(o, "paused", json_boolean(g->paused), oom);
    for (unsigned i = 0; i < g->n_members && i < RSM_MAX_MEMBERS; i++)
        api__jappend(members, api__jaddr(&g->members[i]), oom);
    api__jset(o, "members", members, oom);
    api__jset(o, "in_flight", api__status_in_flight(g, oom), oom);
    api__jset(o, "last_failover_end_ms", json_integer(g->last_failover_end_ms),
              oom);
    for (unsigned i = 0; i < g->n_history && i < RSM_HISTORY_MAX; i++)
        api__jappend(history, api__status_history_item(&g->history[i], oom),
                     oom);
    api__jset(o, "history", history, oom);
    return o;
}

static void api__status_raft(json_t *o, const struct rsm_node_status *st,
                             bool *oom)
{
    json_t *leader = json_null(), *members = json_array();

    api__jset(o, "id", api__juint(st->id), oom);
    api__jset(o, "role", json_string(st->state ? st->state : "unavailable"),
              oom);
    api__jset(o, "term", api__juint(st->term), oom);
    if (st->has_leader) {
        leader = json_object();
        if (leader != NULL) {
            api__jset(leader, "id", api__juint(st->leader.id), oom);
            api__jset(leader, "raft", api__jaddr(&st->leader.raft), oom);
            api__jset(leader, "api", api__jaddr(&st->leader.api), oom);
        }
    }
    api__jset(o, "leader", leader, oom);
    api__jset(o, "commit_index", api__juint(st->commit_index), oom);
    api__jset(o, "applied_index", api__juint(st->applied_index), oom);
    api__jset(o, "last_index", api__juint(st->last_index), oom);
    api__jset(o, "leader_changes", api__juint(st->leader_changes), oom);
    for (unsigned i = 0; members && i < st->n_members && i < RSM_MAX_AGENTS;
         i++)
        api__jappend(members, api__status_member(st, &st->members[i], oom),
                     oom);
    api__jset(o, "members", members, oom);
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
    api__jset(o, "version", json_string(si->version ? si->version : ""), &oom);
    api__jset(o, "uptime_s", api__juint(si->uptime_s), &oom);
    api__status_raft(o, st, &oom);
    api__jset(f, "applied", api__juint(fsm ? fsm->applied : 0), &oom);
    api__jset(f, "rejected", api__juint(fsm ? fsm->rejected : 0), &oom);
    api__jset(o, "fsm", f, &oom);
    api__jset(o, "cluster_id", json_string(fsm ? fsm->cluster_id : ""), &oom);
    for (size_t i = 0; fsm && i < fsm->n_groups; i++)
        api__jappend(groups, api__status_group(&fsm->groups[i], &oom), &oom);
    api__jset(o, "groups", groups, &oom);
    if (!oom)
        out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
done:
    json_decref(o);
    return out;
}
