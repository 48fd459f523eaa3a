/* planner_decide.c - deciding a failover: anti-flap, the candidates and
 * their ranking (rsm_policy_rank), and the DecideFailover entry, or why
 * none is proposed. */
#include "planner_int.h"
#include "rsm/policy.h"

#include <stdio.h>
#include <string.h>

/* Anti-flap: true (and the plan says why) if a new automatic decision
 * must wait. */
bool planner__held_back(struct ctx *c)
{
    const struct rsm_group *g = c->g;
    const struct rsm_history_item *last;
    int64_t since, hold;
    char a[RSM_ADDR_STRLEN], b[RSM_ADDR_STRLEN];

    if (g == NULL || g->n_history == 0 || g->last_failover_end_ms <= 0)
        return false;
    last = &g->history[(g->n_history - 1) % RSM_HISTORY_MAX];
    since = c->now - g->last_failover_end_ms;
    if (last->result == RSM_RESULT_ABORTED) {
        hold = c->down_after;
        if (since >= hold)
            return false;
        planner__reasonf(
            c,
            "retry held back: failover epoch %llu aborted %lld ms ago, "
            "next attempt in %lld ms",
            (unsigned long long)last->epoch, (long long)since,
            (long long)(hold - since));
        return true;
    }
    hold = c->in->cfg->min_failover_interval_ms;
    if (since >= hold)
        return false;
    planner__reasonf(
        c,
        "flapping: failover epoch %llu (%s -> %s) ended %lld ms ago, "
        "min interval %lld ms",
        (unsigned long long)last->epoch,
        rsm_addr_format(&last->old_master, a, RSM_ADDR_STRLEN),
        rsm_addr_format(&last->new_master, b, RSM_ADDR_STRLEN),
        (long long)since, (long long)hold);
    return true;
}

/* Why an instance cannot be promoted although the policy would see it as
 * reachable; set by planner__build_candidates(), shown instead of the policy's
 * reason. */
typedef char override_reason[RSM_REASON_MAX];

/* The old master restarted empty (run_id changed, offset dropped) and its
 * replicas keep reconnecting to it on their own: a replica that full-syncs
 * from it is wiped, and may be so a few milliseconds before the leader
 * decides. So, after such a restart, a candidate is only judged on an INFO
 * taken after the restart was seen (older ones are kept out: "read before
 * the restart"); a wiped one then shows the empty master's small offset and
 * ranks below every replica that kept its data. */
static const struct rsm_observation *
planner__empty_master(const struct ctx *c, const struct rsm_addr *old_master)
{
    const struct rsm_observation *m =
        old_master ? planner__find_obs(c, old_master) : NULL;

    return m != NULL && m->restarted_empty && m->info != NULL ? m : NULL;
}

/* Read before the empty master's restart was seen? */
static bool planner__read_before_restart(const struct rsm_observation *o,
                                         const struct rsm_observation *empty)
{
    return o->info != NULL && o->info_age_ms >= 0 &&
           (empty->restart_age_ms < 0 ||
            o->info_age_ms > empty->restart_age_ms);
}

/* Candidates: every instance but the old master. Returns how many; fills
 * why[i] ("" if the policy decides) for each. */
static size_t planner__build_candidates(const struct ctx *c,
                                        const struct rsm_addr *old_master,
                                        struct rsm_candidate *cand,
                                        const struct rsm_observation **from,
                                        override_reason *why)
{
    const struct rsm_observation *empty = planner__empty_master(c, old_master);
    size_t n = 0;

    for (size_t i = 0; i < c->in->n_obs; i++) {
        const struct rsm_observation *o = &c->in->obs[i];

        if (old_master != NULL && rsm_addr_equal(&o->addr, old_master))
            continue;
        memset(&cand[n], 0, sizeof cand[n]);
        cand[n].addr = o->addr;
        why[n][0] = '\0';
        if (o->restarted_empty)
            snprintf(why[n], sizeof why[n],
                     "restarted empty (run_id changed, offset dropped)");
        else if (empty != NULL && planner__read_before_restart(o, empty))
            snprintf(why[n], sizeof why[n],
                     "last INFO read %lld ms before the master restarted "
                     "empty",
                     (long long)(o->info_age_ms - empty->restart_age_ms));
        /* Kept out as if unreachable; the reason is rewritten after
         * ranking. */
        cand[n].reachable = o->info != NULL && o->state != RSM_HEALTH_DOWN &&
                            o->state != RSM_HEALTH_UNKNOWN && why[n][0] == '\0';
        cand[n].info = cand[n].reachable ? o->info : NULL;
        cand[n].info_age_ms = o->info_age_ms;
        cand[n].never_synced_seen = o->never_synced_seen;
        from[n] = o;
        n++;
    }
    return n;
}

/* After a restart of the old master empty, an instance that answers but
 * was last read before the restart will be read again within a probe
 * interval: wait for that reading rather than rank it out (it may hold
 * the most data). Returns the first such instance, or NULL. */
static const struct rsm_observation *
planner__awaited_reading(const struct ctx *c, const struct rsm_addr *old_master)
{
    const struct rsm_observation *empty = planner__empty_master(c, old_master);

    for (size_t i = 0; empty != NULL && i < c->in->n_obs; i++) {
        const struct rsm_observation *o = &c->in->obs[i];

        if (o == empty || o->restarted_empty)
            continue;
        if ((o->state == RSM_HEALTH_UP || o->state == RSM_HEALTH_RESTARTED) &&
            planner__read_before_restart(o, empty))
            return o;
    }
    return NULL;
}

static void planner__fill_ranking(struct rsm_entry *e,
                                  const struct rsm_rank *rank, size_t n,
                                  const struct rsm_candidate *cand,
                                  const struct rsm_observation **from,
                                  const override_reason *why)
{
    e->n_ranked = 0;
    for (size_t i = 0; i < n && i < RSM_MAX_RANKED; i++) {
        struct rsm_ranked *r = &e->ranking[e->n_ranked++];
        const struct rsm_observation *o = from[rank[i].index];

        r->addr = cand[rank[i].index].addr;
        r->rank = rank[i].rank;
        memcpy(r->reason, rank[i].reason, sizeof r->reason);
        if (why[rank[i].index][0] != '\0')
            memcpy(r->reason, why[rank[i].index], sizeof r->reason);
        r->offset = o->info ? rsm_info_offset(o->info) : -1;
        r->priority = o->info ? o->info->priority : -1;
    }
}

/* "a: priority-zero (...); b: unreachable (...)" */
static void planner__explain_exclusions(struct ctx *c,
                                        const struct rsm_entry *e)
{
    char a[RSM_ADDR_STRLEN];

    if (e->n_ranked == 0)
        planner__reason_append(c, "no instance besides the old master");
    for (unsigned i = 0; i < e->n_ranked; i++)
        planner__reason_append(
            c, "%s%s: %s", i ? "; " : "",
            rsm_addr_format(&e->ranking[i].addr, a, RSM_ADDR_STRLEN),
            e->ranking[i].reason);
}

static void planner__policy_config(const struct ctx *c,
                                   const struct rsm_master_verdict *v,
                                   struct rsm_policy_config *pc)
{
    rsm_policy_config_init(pc);
    pc->max_info_age_ms = c->max_info_age;
    pc->master_down_ms = v ? v->down_ms : -1;
    pc->down_after_ms = c->down_after;
    pc->max_lag_bytes = c->in->cfg->max_lag_bytes;
    pc->reference_offset = v ? v->last_offset : -1;
}

/* The operator's override: a forced manual failover, and nothing else. */
static bool planner__forced(const struct ctx *c, enum rsm_failover_kind kind)
{
    return kind == RSM_FAILOVER_MANUAL && c->in->manual_failover &&
           c->in->force;
}

/* A forced manual failover chose a replica that is not synced: say so in
 * the decision, the plan and an event, for whoever reads the history. */
static void planner__forced_not_synced(struct ctx *c, struct rsm_entry *e,
                                       const char *addr, const char *why)
{
    char was[RSM_REASON_MAX];

    /* the new master's address is in the decision itself */
    memcpy(was, e->reason, sizeof was);
    snprintf(e->reason, sizeof e->reason, "%.30s: %.90s", was, why);
    planner__reason_append(c, "; forced: %s %s", addr, why);
    planner__event(c, "+forced-not-synced", "%s %s %s", c->in->group, addr,
                   why);
}

int planner__decide(struct ctx *c, enum rsm_failover_kind kind,
                    const struct rsm_addr *old_master, const char *why)
{
    return planner__decide_to(c, kind, old_master, NULL, why);
}

/* Propose DecideFailover to target (NULL: the best candidate), or say why
 * not. */
int planner__decide_to(struct ctx *c, enum rsm_failover_kind kind,
                       const struct rsm_addr *old_master,
                       const struct rsm_addr *target, const char *why)
{
    const struct rsm_master_verdict *v = old_master ? c->in->verdict : NULL;
    struct rsm_candidate cand[RSM_MAX_MEMBERS];
    const struct rsm_observation *from[RSM_MAX_MEMBERS];
    override_reason why_out[RSM_MAX_MEMBERS];
    struct rsm_rank rank[RSM_MAX_MEMBERS];
    struct rsm_policy_config pc;
    struct rsm_entry *e;
    const struct rsm_observation *best;
    size_t n, eligible;
    char a[RSM_ADDR_STRLEN], b[RSM_ADDR_STRLEN], unsynced[RSM_REASON_MAX];

    best = planner__awaited_reading(c, old_master);
    if (best != NULL) {
        planner__reasonf(c,
                         "%s; waiting for an INFO of %s read after the master "
                         "restarted empty (last read %lld ms ago)",
                         why, rsm_addr_format(&best->addr, a, RSM_ADDR_STRLEN),
                         (long long)best->info_age_ms);
        return 0;
    }
    n = planner__build_candidates(c, old_master, cand, from, why_out);
    planner__policy_config(c, v, &pc);
    pc.allow_not_synced = planner__forced(c, kind);
    eligible = rsm_policy_rank(cand, n, &pc, rank);
    best = eligible > 0 ? from[rank[0].index] : NULL;
    e = planner__propose(c, RSM_ENTRY_DECIDE_FAILOVER);
    planner__fill_ranking(e, rank, n, cand, from, why_out);
    if (target != NULL) {
        best = NULL;
        for (size_t i = 0; i < n; i++) {
            if (rank[i].rank >= 1 &&
                rsm_addr_equal(&cand[rank[i].index].addr, target))
                best = from[rank[i].index];
        }
        if (best == NULL) {
            c->out->code = RSM_PLAN_CODE_NO_GOOD_REPLICA;
            planner__reasonf(c, "%s; target %s not eligible: ", why,
                             rsm_addr_format(target, a, RSM_ADDR_STRLEN));
            for (unsigned i = 0; i < e->n_ranked; i++) {
                if (rsm_addr_equal(&e->ranking[i].addr, target))
                    planner__reason_append(c, "%s", e->ranking[i].reason);
            }
            if (planner__find_obs(c, target) == NULL)
                planner__reason_append(c, "not a configured instance");
            else if (old_master != NULL && rsm_addr_equal(target, old_master))
                planner__reason_append(c, "it is the master");
            rsm_entry_init(&c->out->entry, RSM_ENTRY_NONE, c->in->group,
                           c->now);
            c->out->kind = RSM_PLAN_NONE;
            return 0;
        }
    }
    if (best == NULL || best->info == NULL || best->info->priority <= 0) {
        c->out->code = RSM_PLAN_CODE_NO_GOOD_REPLICA;
        planner__reasonf(c, "%s; no eligible candidate: ", why);
        planner__explain_exclusions(c, e);
        rsm_entry_init(&c->out->entry, RSM_ENTRY_NONE, c->in->group, c->now);
        c->out->kind = RSM_PLAN_NONE;
        return 0;
    }
    e->epoch = (c->g ? c->g->epoch : 0) + 1;
    e->master = best->addr;
    if (old_master != NULL)
        e->old_master = *old_master;
    snprintf(e->reason, sizeof e->reason, "%s", why);
    e->failover_kind = kind;
    e->old_offset = v ? v->last_offset : -1;
    e->new_offset = rsm_info_offset(best->info);
    e->decided_by = c->in->leader_id;
    if (kind == RSM_FAILOVER_SWITCHOVER)
        e->timeout_ms =
            planner__switchover_limit(c, c->in->switchover_timeout_ms);
    c->out->state = RSM_FO_SELECT_SLAVE;
    c->out->epoch = e->epoch;
    rsm_addr_format(&e->master, b, RSM_ADDR_STRLEN);
    if (old_master != NULL)
        rsm_addr_format(old_master, a, RSM_ADDR_STRLEN);
    else
        snprintf(a, sizeof a, "(none)");
    planner__reasonf(c, "decide failover epoch %llu: %s -> %s (%s)",
                     (unsigned long long)e->epoch, a, b, why);
    planner__event(c, "+try-failover", "%s %s epoch %llu: %s", c->in->group, a,
                   (unsigned long long)e->epoch, why);
    planner__event(c, "+failover-state-select-slave", "%s %s", c->in->group, a);
    planner__event(c, "+selected-slave", "%s %s offset %lld priority %d",
                   c->in->group, b, (long long)e->new_offset,
                   best->info->priority);
    if (pc.allow_not_synced &&
        rsm_policy_not_synced(&cand[rank[0].index], unsynced, sizeof unsynced))
        planner__forced_not_synced(c, e, b, unsynced);
    return 0;
}
