/* fsm_equal.c - rsm_fsm_equal(): are two replicated states identical,
 * field by field (e.g. a state and the one its snapshot restores)? */
#include "rsm/fsm.h"

#include <string.h>

/* Exact equality (not rsm_addr_equal's case folding): identical states. */
static bool fsm__addr_same(const struct rsm_addr *a, const struct rsm_addr *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

static bool fsm__addrs_same(const struct rsm_addr *a, const struct rsm_addr *b,
                            unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (!fsm__addr_same(&a[i], &b[i]))
            return false;
    }
    return true;
}

static bool fsm__ranked_same(const struct rsm_ranked *a,
                             const struct rsm_ranked *b)
{
    return fsm__addr_same(&a->addr, &b->addr) && a->rank == b->rank &&
           strcmp(a->reason, b->reason) == 0 && a->offset == b->offset &&
           a->priority == b->priority;
}

static bool fsm__decision_same(const struct rsm_entry *a,
                               const struct rsm_entry *b)
{
    if (a->epoch != b->epoch || strcmp(a->group, b->group) != 0 ||
        !fsm__addr_same(&a->master, &b->master) ||
        !fsm__addr_same(&a->old_master, &b->old_master) ||
        a->n_ranked != b->n_ranked || strcmp(a->reason, b->reason) != 0 ||
        a->failover_kind != b->failover_kind ||
        a->old_offset != b->old_offset || a->new_offset != b->new_offset ||
        a->decided_by != b->decided_by || a->time_ms != b->time_ms ||
        a->timeout_ms != b->timeout_ms ||
        a->switchover_method != b->switchover_method)
        return false;
    for (unsigned i = 0; i < a->n_ranked; i++) {
        if (!fsm__ranked_same(&a->ranking[i], &b->ranking[i]))
            return false;
    }
    return true;
}

static bool fsm__history_same(const struct rsm_history_item *a,
                              const struct rsm_history_item *b)
{
    return a->epoch == b->epoch && a->kind == b->kind &&
           a->result == b->result &&
           fsm__addr_same(&a->old_master, &b->old_master) &&
           fsm__addr_same(&a->new_master, &b->new_master) &&
           a->decided_at_ms == b->decided_at_ms &&
           a->ended_at_ms == b->ended_at_ms && a->old_offset == b->old_offset &&
           a->new_offset == b->new_offset &&
           a->data_at_risk == b->data_at_risk &&
           strcmp(a->reason, b->reason) == 0;
}

static bool fsm__in_flight_same(const struct rsm_group *a,
                                const struct rsm_group *b)
{
    if (a->in_flight != b->in_flight)
        return false;
    if (!a->in_flight)
        return true;
    return fsm__decision_same(&a->decision, &b->decision) &&
           a->decided_at_ms == b->decided_at_ms && a->step == b->step;
}

static bool fsm__group_same(const struct rsm_group *a,
                            const struct rsm_group *b)
{
    if (strcmp(a->name, b->name) != 0 || a->has_master != b->has_master ||
        (a->has_master && !fsm__addr_same(&a->master, &b->master)) ||
        strcmp(a->master_run_id, b->master_run_id) != 0 ||
        a->epoch != b->epoch || a->paused != b->paused ||
        a->n_members != b->n_members ||
        !fsm__addrs_same(a->members, b->members, a->n_members) ||
        !fsm__in_flight_same(a, b) || a->n_history != b->n_history ||
        a->last_failover_end_ms != b->last_failover_end_ms ||
        memcmp(a->ended, b->ended, sizeof a->ended) != 0 ||
        !rsm_groupconf_equal(&a->settings, &b->settings) ||
        a->added != b->added)
        return false;
    for (unsigned i = 0; i < a->n_history; i++) {
        if (!fsm__history_same(&a->history[i], &b->history[i]))
            return false;
    }
    return true;
}

static bool fsm__agents_same(const struct rsm_fsm *a, const struct rsm_fsm *b)
{
    if (strcmp(a->cluster_id, b->cluster_id) != 0 || a->n_agents != b->n_agents)
        return false;
    for (unsigned i = 0; i < a->n_agents; i++) {
        if (a->agents[i].id != b->agents[i].id ||
            !fsm__addr_same(&a->agents[i].api, &b->agents[i].api) ||
            !fsm__addr_same(&a->agents[i].http, &b->agents[i].http))
            return false;
    }
    return true;
}

static bool fsm__removed_same(const struct rsm_fsm *a, const struct rsm_fsm *b)
{
    if (a->n_removed != b->n_removed)
        return false;
    for (size_t i = 0; i < a->n_removed; i++) {
        if (strcmp(a->removed[i], b->removed[i]) != 0)
            return false;
    }
    return true;
}

bool rsm_fsm_equal(const struct rsm_fsm *a, const struct rsm_fsm *b)
{
    if (a->n_groups != b->n_groups || a->applied != b->applied ||
        a->rejected != b->rejected || !fsm__agents_same(a, b) ||
        !fsm__removed_same(a, b))
        return false;
    for (size_t i = 0; i < a->n_groups; i++) {
        if (!fsm__group_same(&a->groups[i], &b->groups[i]))
            return false;
    }
    return true;
}
