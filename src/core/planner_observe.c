/* planner_observe.c - reading observations: which instance answers with
 * an INFO recent enough to go by, can take a command, is a master or
 * follows one. */
#include "planner_int.h"

#include <assert.h>

const struct rsm_observation *planner__find_obs(const struct ctx *c,
                                                const struct rsm_addr *addr)
{
    for (size_t i = 0; i < c->in->n_obs; i++) {
        if (rsm_addr_equal(&c->in->obs[i].addr, addr))
            return &c->in->obs[i];
    }
    return NULL;
}

/* Answering, with an INFO recent enough to go by. */
bool planner__usable(const struct ctx *c, const struct rsm_observation *o)
{
    if (o == NULL || o->info == NULL || o->info_age_ms < 0 ||
        o->info_age_ms > c->max_info_age)
        return false;
    return o->state == RSM_HEALTH_UP || o->state == RSM_HEALTH_SUSPECT ||
           o->state == RSM_HEALTH_LOADING || o->state == RSM_HEALTH_RESTARTED;
}

/* Usable and able to take a command now. */
bool planner__can_command(const struct ctx *c, const struct rsm_observation *o)
{
    return planner__usable(c, o) && o->state != RSM_HEALTH_SUSPECT &&
           o->state != RSM_HEALTH_LOADING && !o->info->loading;
}

bool planner__is_master(const struct rsm_observation *o)
{
    assert(o != NULL && o->info != NULL); /* callers check planner__usable() */
    return o->info->role == RSM_ROLE_MASTER;
}

bool planner__follows(const struct rsm_observation *o,
                      const struct rsm_addr *master)
{
    assert(o != NULL && o->info != NULL); /* callers check planner__usable() */
    return o->info->role == RSM_ROLE_REPLICA &&
           rsm_addr_equal(&o->info->master, master);
}

bool planner__linked_to(const struct ctx *c, const struct rsm_observation *o,
                        const struct rsm_addr *master)
{
    return planner__usable(c, o) && planner__follows(o, master) &&
           o->info->link_up && !o->info->sync_in_progress;
}

/* Reachable replica whose link to its master is up with recent contact. */
bool planner__hears_its_master(const struct ctx *c,
                               const struct rsm_observation *o)
{
    const struct rsm_info *i = o->info;

    return planner__usable(c, o) && i->role == RSM_ROLE_REPLICA && i->link_up &&
           i->master_last_io_s >= 0 &&
           i->master_last_io_s * 1000 + o->info_age_ms < c->down_after;
}

bool planner__was_old_master(const struct ctx *c, const struct rsm_addr *addr)
{
    if (c->g == NULL)
        return false;
    for (unsigned i = 0; i < c->g->n_history && i < RSM_HISTORY_MAX; i++) {
        if (rsm_addr_equal(&c->g->history[i].old_master, addr))
            return true;
    }
    return false;
}
