/* planner_bootstrap.c - no committed master: record the master seen at
 * start-up (ObserveMaster), or, with no master at all, bootstrap one. */
#include "planner_int.h"

#include <stdio.h>

/* Reachable replicas that follow m with their link up. */
static unsigned planner__count_followers(const struct ctx *c,
                                         const struct rsm_observation *m)
{
    unsigned n = 0;

    for (size_t i = 0; i < c->in->n_obs; i++) {
        if (planner__linked_to(c, &c->in->obs[i], &m->addr))
            n++;
    }
    return n;
}

/* Is a a better master to record than b? */
static bool planner__better_master(const struct ctx *c,
                                   const struct rsm_observation *a,
                                   const struct rsm_observation *b)
{
    unsigned fa = planner__count_followers(c, a),
             fb = planner__count_followers(c, b);
    int64_t oa = rsm_info_offset(a->info), ob = rsm_info_offset(b->info);

    if (fa != fb)
        return fa > fb;
    if (oa != ob)
        return oa > ob;
    return rsm_addr_compare(&a->addr, &b->addr) < 0;
}

/* Propose ObserveMaster for m (NULL: no master, record the members only)
 * with the configured members. */
struct rsm_entry *planner__observe(struct ctx *c,
                                   const struct rsm_observation *m)
{
    struct rsm_entry *e = planner__propose(c, RSM_ENTRY_OBSERVE_MASTER);
    char a[RSM_ADDR_STRLEN];

    if (m != NULL) {
        e->master = m->addr;
        snprintf(e->run_id, sizeof e->run_id, "%s", m->info->run_id);
    }
    e->n_members = (unsigned)c->in->n_obs;
    for (size_t i = 0; i < c->in->n_obs; i++)
        e->members[i] = c->in->obs[i].addr;
    if (m != NULL)
        planner__event(c, "+observe-master", "%s %s run_id %s", c->in->group,
                       rsm_addr_format(&m->addr, a, RSM_ADDR_STRLEN),
                       m->info->run_id);
    else
        planner__event(c, "+observe-master", "%s no master, %u members",
                       c->in->group, e->n_members);
    return e;
}

static int planner__observe_master(struct ctx *c,
                                   const struct rsm_observation *m,
                                   unsigned n_masters)
{
    char a[RSM_ADDR_STRLEN];

    planner__observe(c, m);
    planner__reasonf(c, "record master %s (%u instance%s role:master)",
                     rsm_addr_format(&m->addr, a, RSM_ADDR_STRLEN), n_masters,
                     n_masters == 1 ? " claims" : "s claim");
    return 0;
}

int planner__first_start(struct ctx *c)
{
    const struct rsm_observation *best = NULL;
    unsigned n_masters = 0;
    char a[RSM_ADDR_STRLEN], b[RSM_ADDR_STRLEN];

    for (size_t i = 0; i < c->in->n_obs; i++) {
        const struct rsm_observation *o = &c->in->obs[i];

        if (o->state == RSM_HEALTH_UNKNOWN) {
            planner__reasonf(
                c, "no master committed; waiting for a first probe of %s",
                rsm_addr_format(&o->addr, a, RSM_ADDR_STRLEN));
            return 0;
        }
        if (!planner__usable(c, o) && o->state != RSM_HEALTH_DOWN) {
            planner__reasonf(c, "no master committed; waiting for %s (%s)",
                             rsm_addr_format(&o->addr, a, RSM_ADDR_STRLEN),
                             rsm_health_state_str(o->state));
            return 0;
        }
        if (planner__usable(c, o) && planner__is_master(o) &&
            !planner__can_command(c, o)) {
            planner__reasonf(c,
                             "no master committed; waiting for master %s (%s)",
                             rsm_addr_format(&o->addr, a, RSM_ADDR_STRLEN),
                             rsm_health_state_str(o->state));
            return 0;
        }
        if (planner__usable(c, o) && planner__is_master(o)) {
            n_masters++;
            if (best == NULL || planner__better_master(c, o, best))
                best = o;
        }
    }
    if (best != NULL)
        return planner__observe_master(c, best, n_masters);
    for (size_t i = 0; i < c->in->n_obs; i++) {
        const struct rsm_observation *o = &c->in->obs[i];

        if (planner__hears_its_master(c, o)) {
            planner__reasonf(
                c,
                "no master reachable, but replica %s heard from its "
                "master %s %lld s ago: not bootstrapping",
                rsm_addr_format(&o->addr, a, RSM_ADDR_STRLEN),
                rsm_addr_format(&o->info->master, b, RSM_ADDR_STRLEN),
                (long long)o->info->master_last_io_s);
            return 0;
        }
    }
    if (c->g == NULL) {
        /* DecideFailover needs the group in the FSM: create it first. */
        planner__observe(c, NULL);
        planner__reasonf(c,
                         "no master at all: record the group, then bootstrap");
        return 0;
    }
    return planner__decide(c, RSM_FAILOVER_BOOTSTRAP, NULL,
                           "no master at all at first start");
}
