/* planner_failover.c - the in-flight failover, one function per state:
 * promote the chosen replica, re-point the others, demote the old master,
 * complete; or abort (deadline, target lost). A switchover's own steps
 * are in planner_switchover.c and planner_switchover_pause.c. */
#include "planner_int.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>

/* The committed failover in flight, as this call sees it. */
static void planner__flight_init(const struct ctx *c, struct flight *f)
{
    assert(c->g != NULL && c->g->in_flight);
    f->d = &c->g->decision;
    f->new_m = &f->d->master;
    f->old_m = rsm_addr_is_set(&f->d->old_master) ? &f->d->old_master : NULL;
    f->chosen = planner__find_obs(c, f->new_m);
    f->old = f->old_m ? planner__find_obs(c, f->old_m) : NULL;
    f->elapsed = c->now - c->g->decided_at_ms;
    f->timed_out = f->elapsed > c->in->cfg->failover_timeout_ms;
    /* A decision in flight has a target and is of the group's epoch (the
     * FSM and the snapshot decoder refuse any other). */
    assert(rsm_addr_is_set(f->new_m));
    assert(f->d->epoch == c->g->epoch);
}

/* Propose AbortFailover with its code (what io names the event from) and
 * its reason text (for humans). */
int planner__abort_failover(struct ctx *c, const struct flight *f,
                            enum rsm_abort_code code, const char *ev,
                            const char *fmt, ...)
{
    struct rsm_entry *e = planner__propose(c, RSM_ENTRY_ABORT_FAILOVER);
    va_list ap;

    assert(code != RSM_ABORT_UNSPECIFIED); /* only older agents' aborts */
    e->epoch = f->d->epoch;
    e->abort_code = code;
    va_start(ap, fmt);
    vsnprintf(e->reason, sizeof e->reason, fmt, ap);
    va_end(ap);
    planner__reasonf(c, "abort failover epoch %llu: %s",
                     (unsigned long long)f->d->epoch, e->reason);
    planner__event(c, ev, "%s epoch %llu: %s", c->in->group,
                   (unsigned long long)f->d->epoch, e->reason);
    return 0;
}

/* SEND_PROMOTE / WAIT_PROMOTION (committed step NONE). */
int planner__promote_phase(struct ctx *c, const struct flight *f)
{
    const struct rsm_observation *o = f->chosen;
    struct rsm_entry *e;
    char a[RSM_ADDR_STRLEN];

    rsm_addr_format(f->new_m, a, RSM_ADDR_STRLEN);
    if (planner__usable(c, o) && planner__is_master(o) && !o->restarted_empty) {
        c->out->state = RSM_FO_WAIT_PROMOTION;
        e = planner__propose(c, RSM_ENTRY_FAILOVER_PROGRESS);
        e->epoch = f->d->epoch;
        e->step = RSM_STEP_PROMOTED;
        planner__reasonf(c, "%s reports role:master: record the promotion", a);
        planner__event(c, "+promoted-slave", "%s %s epoch %llu", c->in->group,
                       a, (unsigned long long)f->d->epoch);
        planner__event(c, "+failover-state-reconf-slaves", "%s %s",
                       c->in->group, a);
        return 0;
    }
    c->out->state = RSM_FO_SEND_PROMOTE;
    if (f->timed_out)
        return planner__abort_failover(
            c, f, RSM_ABORT_TIMEOUT, "-failover-abort-timeout",
            "promotion of %s not seen within %lld ms", a,
            (long long)c->in->cfg->failover_timeout_ms);
    if (o == NULL || o->state == RSM_HEALTH_DOWN)
        return planner__abort_failover(c, f, RSM_ABORT_UNREACHABLE,
                                       "-failover-abort-slave-unreachable",
                                       "%s unreachable before promotion", a);
    if (o->restarted_empty)
        return planner__abort_failover(
            c, f, RSM_ABORT_RESTARTED, "-failover-abort-slave-restarted",
            "%s restarted empty before promotion", a);
    /* A replica's offset only goes back when a full sync replaces its
     * data (e.g. from a master that restarted empty, after the decision
     * was taken on the earlier reading): promoting it would lose what the
     * decision counted on. */
    if (o->info != NULL && !planner__is_master(o) && f->d->new_offset > 0 &&
        rsm_info_offset(o->info) >= 0 &&
        rsm_info_offset(o->info) < f->d->new_offset)
        return planner__abort_failover(
            c, f, RSM_ABORT_REPLACED_BY_SYNC, "-failover-abort-slave-resynced",
            "%s offset went back from %lld to %lld before "
            "promotion: its data was replaced by a sync",
            a, (long long)f->d->new_offset,
            (long long)rsm_info_offset(o->info));
    if (!planner__can_command(c, o)) {
        planner__reasonf(c, "waiting to promote %s (%s)", a,
                         rsm_health_state_str(o->state));
        return 0;
    }
    planner__add_action(c, f->new_m, RSM_CMD_REPLICAOF_NO_ONE, NULL);
    planner__reasonf(c, "promote %s (epoch %llu)", a,
                     (unsigned long long)f->d->epoch);
    planner__event(c, "+failover-state-send-slaveof-noone", "%s %s epoch %llu",
                   c->in->group, a, (unsigned long long)f->d->epoch);
    return 0;
}

/* Demote the old master now if it answers and is not a replica of the new
 * one yet. Returns true if an action was added. */
static bool planner__demote_old(struct ctx *c, const struct flight *f)
{
    char a[RSM_ADDR_STRLEN], b[RSM_ADDR_STRLEN];

    if (f->old == NULL || !planner__can_command(c, f->old) ||
        planner__follows(f->old, f->new_m))
        return false;
    planner__add_action(c, f->old_m, RSM_CMD_REPLICAOF, f->new_m);
    planner__event(c, "+convert-to-slave",
                   "%s old master %s now a replica of %s", c->in->group,
                   rsm_addr_format(f->old_m, a, RSM_ADDR_STRLEN),
                   rsm_addr_format(f->new_m, b, RSM_ADDR_STRLEN));
    return true;
}

static bool planner__is_old_or_new(const struct flight *f,
                                   const struct rsm_addr *a)
{
    return rsm_addr_equal(a, f->new_m) ||
           (f->old_m != NULL && rsm_addr_equal(a, f->old_m));
}

/* Propose CompleteFailover with whoever is not linked to the new master. */
static int planner__complete(struct ctx *c, const struct flight *f)
{
    struct rsm_entry *e = planner__propose(c, RSM_ENTRY_COMPLETE_FAILOVER);
    const struct rsm_entry *d = f->d;
    char b[RSM_ADDR_STRLEN];

    e->epoch = d->epoch;
    for (size_t i = 0; i < c->in->n_obs; i++) {
        const struct rsm_observation *o = &c->in->obs[i];
        bool straggler;

        if (rsm_addr_equal(&o->addr, f->new_m))
            continue;
        /* An old master that is silent (its latest probe failed: the
         * crash path completes before down-after) is no straggler: it is
         * re-pointed when it answers again, as a DOWN one is. */
        if (f->old_m != NULL && rsm_addr_equal(&o->addr, f->old_m))
            straggler = planner__usable(c, o) &&
                        o->state != RSM_HEALTH_SUSPECT &&
                        !planner__follows(o, f->new_m);
        else
            straggler = !planner__linked_to(c, o, f->new_m);
        if (straggler && e->n_stragglers < RSM_MAX_MEMBERS)
            e->stragglers[e->n_stragglers++] = o->addr;
    }
    e->result = e->n_stragglers ? RSM_RESULT_COMPLETED_WITH_STRAGGLERS
                                : RSM_RESULT_COMPLETED;
    /* A switchover swaps roles only once the target has every write. */
    e->data_at_risk =
        d->failover_kind == RSM_FAILOVER_SWITCHOVER ? 0
        : d->old_offset >= 0 && d->new_offset >= 0
            ? (d->old_offset > d->new_offset ? d->old_offset - d->new_offset
                                             : 0)
            : -1;
    rsm_addr_format(f->new_m, b, RSM_ADDR_STRLEN);
    planner__reasonf(c,
                     "complete failover epoch %llu: master %s, %u straggler%s",
                     (unsigned long long)d->epoch, b, e->n_stragglers,
                     e->n_stragglers == 1 ? "" : "s");
    if (f->timed_out)
        planner__event(c, "+failover-end-for-timeout",
                       "%s epoch %llu after %lld ms", c->in->group,
                       (unsigned long long)d->epoch, (long long)f->elapsed);
    planner__event(c, "+failover-end", "%s epoch %llu %s", c->in->group,
                   (unsigned long long)d->epoch,
                   e->n_stragglers ? "with stragglers" : "completed");
    if (f->old_m != NULL)
        planner__event(c, "+switch-master", "%s %s %u %s %u", c->in->group,
                       f->old_m->host, (unsigned)f->old_m->port, f->new_m->host,
                       (unsigned)f->new_m->port);
    else
        planner__event(c, "+switch-master", "%s %s %u %s %u", c->in->group, "-",
                       0u, f->new_m->host, (unsigned)f->new_m->port);
    return 0;
}

/* RECONF_SLAVES (committed step PROMOTED). */
static int planner__reconf_phase(struct ctx *c, const struct flight *f)
{
    unsigned syncing = planner__count_syncing(c, f->new_m, f->old_m);
    unsigned slots =
        syncing < c->parallel_syncs ? c->parallel_syncs - syncing : 0;
    unsigned pending = 0;
    struct rsm_entry *e;
    char a[RSM_ADDR_STRLEN], b[RSM_ADDR_STRLEN];

    c->out->state = RSM_FO_RECONF_SLAVES;
    if (f->timed_out)
        return planner__complete(c, f);
    rsm_addr_format(f->new_m, b, RSM_ADDR_STRLEN);
    for (size_t i = 0; i < c->in->n_obs; i++) {
        const struct rsm_observation *o = &c->in->obs[i];

        if (planner__is_old_or_new(f, &o->addr) ||
            !planner__can_command(c, o) || planner__follows(o, f->new_m))
            continue;
        pending++;
        if (slots == 0)
            continue;
        slots--;
        planner__add_action(c, &o->addr, RSM_CMD_REPLICAOF, f->new_m);
        planner__event(c, "+slave-reconf-sent", "%s %s -> %s", c->in->group,
                       rsm_addr_format(&o->addr, a, RSM_ADDR_STRLEN), b);
    }
    planner__demote_old(c, f);
    if (c->out->n_actions > 0) {
        planner__reasonf(
            c,
            "re-point to %s: %u pending, %u syncing (parallel_syncs "
            "%u)",
            b, pending, syncing, c->parallel_syncs);
        return 0;
    }
    if (pending > 0 || syncing > 0) {
        planner__reasonf(c,
                         "waiting: %u replica%s syncing with %s, %u pending "
                         "(parallel_syncs %u)",
                         syncing, syncing == 1 ? "" : "s", b, pending,
                         c->parallel_syncs);
        return 0;
    }
    e = planner__propose(c, RSM_ENTRY_FAILOVER_PROGRESS);
    e->epoch = f->d->epoch;
    e->step = RSM_STEP_REPLICAS_POINTED;
    planner__reasonf(c, "every reachable replica is linked to %s", b);
    planner__event(c, "+failover-state-demote-old-master", "%s epoch %llu",
                   c->in->group, (unsigned long long)f->d->epoch);
    return 0;
}

/* DEMOTE_OLD_MASTER (committed step REPLICAS_POINTED or later). */
static int planner__demote_phase(struct ctx *c, const struct flight *f)
{
    char a[RSM_ADDR_STRLEN];

    c->out->state = RSM_FO_DEMOTE_OLD_MASTER;
    if (f->timed_out || !planner__demote_old(c, f))
        return planner__complete(c, f);
    planner__reasonf(c, "demote old master %s",
                     rsm_addr_format(f->old_m, a, RSM_ADDR_STRLEN));
    return 0;
}

/* The promoted master restarted empty: pointing more replicas at it
 * would wipe them. End this failover now; the verdict on the (now
 * committed) empty master is FAILED_RESTART, which decides the next one
 * at once, among the replicas that still hold the data. */
static int planner__new_master_lost_data(struct ctx *c, const struct flight *f)
{
    char a[RSM_ADDR_STRLEN];

    c->out->state = c->g->step == RSM_STEP_PROMOTED ? RSM_FO_RECONF_SLAVES
                                                    : RSM_FO_DEMOTE_OLD_MASTER;
    planner__complete(c, f);
    planner__reasonf(
        c,
        "complete failover epoch %llu now: new master %s restarted "
        "empty, re-pointing stopped",
        (unsigned long long)f->d->epoch,
        rsm_addr_format(f->new_m, a, RSM_ADDR_STRLEN));
    return 0;
}

int planner__run_failover(struct ctx *c)
{
    struct flight f;

    planner__flight_init(c, &f);
    c->out->epoch = f.d->epoch;
    if (c->g->step >= RSM_STEP_PROMOTED && f.chosen != NULL &&
        f.chosen->restarted_empty)
        return planner__new_master_lost_data(c, &f);
    switch (c->g->step) {
    case RSM_STEP_NONE:
        if (f.d->failover_kind == RSM_FAILOVER_SWITCHOVER && f.old_m != NULL)
            return f.d->switchover_method == RSM_SWITCHOVER_PAUSE
                       ? planner__pause_phase(c, &f)
                       : planner__switchover_phase(c, &f);
        return planner__promote_phase(c, &f);
    case RSM_STEP_CAUGHT_UP:
        if (f.old_m != NULL)
            return planner__swap_phase(c, &f);
        return planner__promote_phase(c, &f);
    case RSM_STEP_PROMOTED:
        return planner__reconf_phase(c, &f);
    case RSM_STEP_REPLICAS_POINTED:
    case RSM_STEP_OLD_MASTER_DEMOTED:
        return planner__demote_phase(c, &f);
    }
    planner__reasonf(c, "failover epoch %llu at unknown step %d",
                     (unsigned long long)f.d->epoch, (int)c->g->step);
    return 0;
}
