/* planner_repair.c - steady state: repair the topology around a healthy
 * committed master. A rogue or returning master is demoted, replicas
 * that follow another master are re-pointed (parallel_syncs at a time,
 * after repoint_grace_ms), a stale record of the master is refreshed. */
#include "planner_int.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* Replicas of m still syncing (pointed at it, link not up yet). */
unsigned planner__count_syncing(const struct ctx *c, const struct rsm_addr *m,
                                const struct rsm_addr *skip)
{
    unsigned n = 0;

    for (size_t i = 0; i < c->in->n_obs; i++) {
        const struct rsm_observation *o = &c->in->obs[i];

        if ((skip != NULL && rsm_addr_equal(&o->addr, skip)) ||
            !planner__usable(c, o))
            continue;
        if (planner__follows(o, m) && !planner__linked_to(c, o, m))
            n++;
    }
    return n;
}

/* One instance that is not the committed master m. */
static void planner__repair_one(struct ctx *c, const struct rsm_observation *o,
                                const struct rsm_addr *m, unsigned *slots,
                                unsigned *waiting)
{
    int64_t grace = c->in->cfg->repoint_grace_ms;
    char a[RSM_ADDR_STRLEN], b[RSM_ADDR_STRLEN], w[RSM_ADDR_STRLEN];

    if (!planner__can_command(c, o) || o->info->role == RSM_ROLE_UNKNOWN ||
        planner__follows(o, m))
        return;
    rsm_addr_format(&o->addr, a, RSM_ADDR_STRLEN);
    rsm_addr_format(m, b, RSM_ADDR_STRLEN);
    if (planner__is_master(o)) {
        bool now = planner__was_old_master(c, &o->addr) || o->restarted_empty;

        if (!now && o->role_age_ms < grace) {
            (*waiting)++;
            return;
        }
        planner__add_action(c, &o->addr, RSM_CMD_REPLICAOF, m);
        planner__event(c, "+convert-to-slave",
                       "%s %s claims role:master%s: now a "
                       "replica of %s",
                       c->in->group, a, now ? " (former master)" : "", b);
        return;
    }
    if (o->role_age_ms < grace || *slots == 0) {
        (*waiting)++;
        return;
    }
    (*slots)--;
    planner__add_action(c, &o->addr, RSM_CMD_REPLICAOF, m);
    planner__event(c, "+fix-slave-config", "%s %s follows %s, re-pointed to %s",
                   c->in->group, a,
                   rsm_addr_format(&o->info->master, w, RSM_ADDR_STRLEN), b);
}

/* Does the committed record of a healthy master need refreshing: its
 * run_id (unknown after a failover, changed by a restart that kept the
 * data) or the configured members? */
static bool planner__record_stale(const struct ctx *c,
                                  const struct rsm_observation *m)
{
    const struct rsm_group *g = c->g;

    /* not before a restart is judged: loading, it reads offset 0 */
    if (m->restarted_empty || m->info->run_id[0] == '\0' || m->info->loading ||
        m->empty_pending)
        return false;
    if (strcmp(g->master_run_id, m->info->run_id) != 0)
        return true;
    if (g->n_members != c->in->n_obs)
        return true;
    for (size_t i = 0; i < c->in->n_obs; i++) {
        if (!rsm_addr_equal(&g->members[i], &c->in->obs[i].addr))
            return true;
    }
    return false;
}

int planner__steady_state(struct ctx *c)
{
    const struct rsm_addr *m = &c->g->master;
    const struct rsm_observation *mo = planner__find_obs(c, m);
    unsigned syncing, slots, waiting = 0;
    char a[RSM_ADDR_STRLEN];

    assert(c->g->has_master && !c->g->in_flight);
    rsm_addr_format(m, a, RSM_ADDR_STRLEN);
    if (!planner__usable(c, mo) || !planner__is_master(mo)) {
        planner__reasonf(c, "master %s %s; not re-pointing anything", a,
                         mo == NULL ? "is not monitored"
                         : !planner__usable(c, mo)
                             ? "has no recent INFO"
                             : "does not report role:master");
        return 0;
    }
    syncing = planner__count_syncing(c, m, NULL);
    slots = syncing < c->parallel_syncs ? c->parallel_syncs - syncing : 0;
    for (size_t i = 0; i < c->in->n_obs; i++) {
        if (!rsm_addr_equal(&c->in->obs[i].addr, m))
            planner__repair_one(c, &c->in->obs[i], m, &slots, &waiting);
    }
    if (c->out->n_actions > 0)
        planner__reasonf(c, "re-point %u instance%s to master %s",
                         c->out->n_actions, c->out->n_actions == 1 ? "" : "s",
                         a);
    else if (planner__record_stale(c, mo)) {
        planner__observe(c, mo);
        planner__reasonf(
            c, "master %s ok; refresh its record (run_id, members)", a);
    } else if (waiting > 0)
        planner__reasonf(c,
                         "master %s ok; %u instance%s to re-point after grace",
                         a, waiting, waiting == 1 ? "" : "s");
    else
        planner__reasonf(c, "master %s ok", a);
    return 0;
}
