/* monitor_status.c - the monitor's per-instance view as JSON (see
 * monitor_status.h). */
#include "rsm/monitor_status.h"
#include "rsm/jsonout.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The observation of gs whose address is addr, NULL if none. */
static const struct rsm_observation *
monitor_status__find_obs(const struct rsm_monitor_group_status *gs,
                         const struct rsm_addr *addr)
{
    for (unsigned i = 0; i < gs->n && i < RSM_MAX_MEMBERS; i++)
        if (rsm_addr_equal(&gs->obs[i].addr, addr))
            return &gs->obs[i];
    return NULL;
}

/* Bytes the replica `info` is behind its master, -1 if unknown. */
static int64_t
monitor_status__lag_bytes(const struct rsm_monitor_group_status *gs,
                          const struct rsm_info *info)
{
    const struct rsm_observation *mo;

    if (info->role != RSM_ROLE_REPLICA || info->slave_repl_offset < 0)
        return -1;
    mo = monitor_status__find_obs(gs, &info->master);
    if (mo == NULL || mo->info == NULL || mo->info->role != RSM_ROLE_MASTER ||
        mo->info->master_repl_offset < 0)
        return -1;
    if (mo->info->master_repl_offset <= info->slave_repl_offset)
        return 0;
    return mo->info->master_repl_offset - info->slave_repl_offset;
}

/* The fields that come from INFO; nulls if there is none. */
static void
monitor_status__instance_info(json_t *o,
                              const struct rsm_monitor_group_status *gs,
                              const struct rsm_info *info, bool *oom)
{
    bool replica = info != NULL && info->role == RSM_ROLE_REPLICA;

    rsm_json_set(
        o, "role",
        json_string(rsm_role_str(info ? info->role : RSM_ROLE_UNKNOWN)), oom);
    rsm_json_set(o, "master",
                 replica ? rsm_json_addr(&info->master) : json_null(), oom);
    rsm_json_set(o, "link",
                 replica ? json_string(info->link_up ? "up" : "down")
                         : json_null(),
                 oom);
    rsm_json_set(
        o, "offset",
        info ? rsm_json_int_or_null(rsm_info_offset(info)) : json_null(), oom);
    rsm_json_set(o, "lag_bytes",
                 info
                     ? rsm_json_int_or_null(monitor_status__lag_bytes(gs, info))
                     : json_null(),
                 oom);
    rsm_json_set(o, "priority",
                 replica && info->has_priority ? json_integer(info->priority)
                                               : json_null(),
                 oom);
    rsm_json_set(o, "last_io_s",
                 replica ? rsm_json_int_or_null(info->master_last_io_s)
                         : json_null(),
                 oom);
}

static json_t *
monitor_status__instance_json(const struct rsm_monitor_group_status *gs,
                              const struct rsm_observation *ob, bool *oom)
{
    json_t *o = json_object();

    if (o == NULL) {
        *oom = true;
        return NULL;
    }
    rsm_json_set(o, "addr", rsm_json_addr(&ob->addr), oom);
    rsm_json_set(o, "state", json_string(rsm_health_state_str(ob->state)), oom);
    monitor_status__instance_info(o, gs, ob->info, oom);
    rsm_json_set(o, "info_age_ms",
                 ob->info ? rsm_json_int_or_null(ob->info_age_ms) : json_null(),
                 oom);
    rsm_json_set(o, "no_reply_ms", rsm_json_int_or_null(ob->no_reply_ms), oom);
    rsm_json_set(o, "restarted_empty", json_boolean(ob->restarted_empty), oom);
    return o;
}

static json_t *monitor_status__verdict_json(const struct rsm_master_verdict *v,
                                            const struct rsm_addr *master,
                                            bool *oom)
{
    json_t *o = json_object();

    if (o == NULL) {
        *oom = true;
        return NULL;
    }
    rsm_json_set(o, "master",
                 master->port != 0 ? rsm_json_addr(master) : json_null(), oom);
    rsm_json_set(o, "status", json_string(rsm_master_status_str(v->status)),
                 oom);
    rsm_json_set(o, "reason", json_string(v->reason), oom);
    rsm_json_set(o, "no_reply_ms", rsm_json_int_or_null(v->no_reply_ms), oom);
    rsm_json_set(o, "down_ms", rsm_json_int_or_null(v->down_ms), oom);
    rsm_json_set(o, "votes", json_integer(v->votes), oom);
    rsm_json_set(o, "n_agents", json_integer(v->n_agents), oom);
    rsm_json_set(o, "quorum", json_integer(v->quorum), oom);
    return o;
}

json_t *rsm_monitor_group_status_json(const struct rsm_monitor_group_status *gs)
{
    json_t *o = json_object(), *inst = json_array();
    bool oom = o == NULL || inst == NULL;

    if (oom)
        goto fail;
    rsm_json_set(o, "name", json_string(gs->name ? gs->name : ""), &oom);
    rsm_json_set(o, "acting", json_boolean(gs->acting), &oom);
    rsm_json_set(o, "verdict",
                 gs->acting ? monitor_status__verdict_json(
                                  &gs->verdict, &gs->verdict_master, &oom)
                            : json_null(),
                 &oom);
    rsm_json_set(o, "last_reason",
                 json_string(gs->last_reason ? gs->last_reason : ""), &oom);
    for (unsigned i = 0; i < gs->n && i < RSM_MAX_MEMBERS; i++) {
        json_t *e = monitor_status__instance_json(gs, &gs->obs[i], &oom);
        if (e == NULL || json_array_append_new(inst, e) != 0)
            oom = true;
    }
    rsm_json_set(o, "instances", inst, &oom);
    inst = NULL;
    if (!oom)
        return o;
fail:
    json_decref(inst);
    json_decref(o);
    return NULL;
}

/* The other agents as the leader asks them: {"id", "api", "identity",
 * "problem"}; identity is rsm_identity_verdict_str() of the latest answer,
 * problem "" unless the agent is misconfigured. */
static json_t *monitor_status__peers_json(const struct rsm_monitor *m)
{
    struct rsm_monitor_peer_status ps;
    json_t *a = json_array();

    for (size_t i = 0; a != NULL && rsm_monitor_peer_status(m, i, &ps); i++) {
        json_t *p = json_pack("{sIsosssssb}", "id", (json_int_t)ps.id, "api",
                              rsm_json_addr(&ps.api), "identity",
                              rsm_identity_verdict_str(ps.identity), "problem",
                              ps.problem, "misconfigured",
                              ps.identity != RSM_IDENTITY_OK);
        if (p == NULL || json_array_append_new(a, p) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

json_t *rsm_monitor_status_json(const struct rsm_monitor *m)
{
    struct rsm_monitor_group_status gs;
    json_t *o = json_object(), *groups = json_array();
    bool oom = o == NULL || groups == NULL;

    for (size_t i = 0; !oom && rsm_monitor_group_status(m, i, &gs); i++) {
        json_t *g = rsm_monitor_group_status_json(&gs);
        if (g == NULL || json_array_append_new(groups, g) != 0)
            oom = true;
    }
    if (oom) {
        json_decref(groups);
        json_decref(o);
        return NULL;
    }
    rsm_json_set(o, "groups", groups, &oom); /* takes groups, even on failure */
    if (!oom)
        rsm_json_set(o, "peers", monitor_status__peers_json(m), &oom);
    if (!oom)
        return o;
    json_decref(o);
    return NULL;
}

char *rsm_monitor_status_attach(char *status_json, const struct rsm_monitor *m)
{
    json_t *status = json_loads(status_json, 0, NULL), *mon;
    char *out = NULL;

    if (status == NULL || !json_is_object(status))
        goto done;
    mon = rsm_monitor_status_json(m);
    if (mon == NULL || json_object_set_new(status, "monitor", mon) != 0)
        goto done;
    out = json_dumps(status, JSON_COMPACT | JSON_PRESERVE_ORDER);
done:
    json_decref(status);
    if (out == NULL)
        return status_json;
    free(status_json);
    return out;
}
