/* planner.c - the leader's next step for one group: record the master,
 * decide a failover, drive a decided one, or repair the topology. Pure. */
#include "rsm/planner.h"
#include "rsm/err.h"
#include "rsm/policy.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Everything one call works with. */
struct ctx {
    const struct rsm_planner_input *in;
    const struct rsm_group *g; /* committed group or NULL */
    struct rsm_planner_plan *out;
    int64_t now;
    int64_t down_after;
    int64_t max_info_age;
    unsigned parallel_syncs;
};

void rsm_planner_config_init(struct rsm_planner_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->down_after_ms = 5000;
    cfg->failover_timeout_ms = 60000;
    cfg->min_failover_interval_ms = 60000;
    cfg->parallel_syncs = 1;
    cfg->repoint_grace_ms = 5000;
    cfg->switchover_method = RSM_SWITCHOVER_PAUSE;
}

/* ======================================================================
 * Building the plan
 * ====================================================================== */

static void planner__vappendf(char *buf, size_t len, const char *fmt,
                              va_list ap)
{
    size_t used = strlen(buf);

    if (used + 1 < len)
        vsnprintf(buf + used, len - used, fmt, ap);
}

static void planner__reasonf(struct ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void planner__reasonf(struct ctx *c, const char *fmt, ...)
{
    va_list ap;

    c->out->reason[0] = '\0';
    va_start(ap, fmt);
    planner__vappendf(c->out->reason, sizeof c->out->reason, fmt, ap);
    va_end(ap);
}

static void planner__reason_append(struct ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void planner__reason_append(struct ctx *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    planner__vappendf(c->out->reason, sizeof c->out->reason, fmt, ap);
    va_end(ap);
}

static void planner__event(struct ctx *c, const char *name, const char *fmt,
                           ...) __attribute__((format(printf, 3, 4)));
static void planner__event(struct ctx *c, const char *name, const char *fmt,
                           ...)
{
    struct rsm_plan_event *e;
    va_list ap;

    if (c->out->n_events >= RSM_PLAN_MAX_EVENTS)
        return;
    e = &c->out->events[c->out->n_events++];
    e->name = name;
    e->detail[0] = '\0';
    va_start(ap, fmt);
    planner__vappendf(e->detail, sizeof e->detail, fmt, ap);
    va_end(ap);
}

static void planner__add_action(struct ctx *c, const struct rsm_addr *addr,
                                enum rsm_redis_cmd cmd,
                                const struct rsm_addr *master)
{
    struct rsm_redis_action *a;

    if (c->out->n_actions >= RSM_MAX_MEMBERS)
        return;
    a = &c->out->actions[c->out->n_actions++];
    memset(a, 0, sizeof *a);
    a->addr = *addr;
    a->cmd = cmd;
    if (master != NULL)
        a->master = *master;
    c->out->kind = RSM_PLAN_REDIS;
}

/* Start a proposal of kind k. */
static struct rsm_entry *planner__propose(struct ctx *c, enum rsm_entry_kind k)
{
    rsm_entry_init(&c->out->entry, k, c->in->group, c->now);
    c->out->kind = RSM_PLAN_PROPOSE;
    return &c->out->entry;
}

/* ======================================================================
 * Reading observations
 * ====================================================================== */

static const struct rsm_observation *
planner__find_obs(const struct ctx *c, const struct rsm_addr *addr)
{
    for (size_t i = 0; i < c->in->n_obs; i++) {
        if (rsm_addr_equal(&c->in->obs[i].addr, addr))
            return &c->in->obs[i];
    }
    return NULL;
}

/* Answering, with an INFO recent enough to go by. */
static bool planner__usable(const struct ctx *c,
                            const struct rsm_observation *o)
{
    if (o == NULL || o->info == NULL || o->info_age_ms < 0 ||
        o->info_age_ms > c->max_info_age)
        return false;
    return o->state == RSM_HEALTH_UP || o->state == RSM_HEALTH_SUSPECT ||
           o->state == RSM_HEALTH_LOADING || o->state == RSM_HEALTH_RESTARTED;
}

/* Usable and able to take a command now. */
static bool planner__can_command(const struct ctx *c,
                                 const struct rsm_observation *o)
{
    return planner__usable(c, o) && o->state != RSM_HEALTH_SUSPECT &&
           o->state != RSM_HEALTH_LOADING && !o->info->loading;
}

static bool planner__is_master(const struct rsm_observation *o)
{
    return o->info->role == RSM_ROLE_MASTER;
}

static bool planner__follows(const struct rsm_observation *o,
                             const struct rsm_addr *master)
{
    return o->info->role == RSM_ROLE_REPLICA &&
           rsm_addr_equal(&o->info->master, master);
}

static bool planner__linked_to(const struct ctx *c,
                               const struct rsm_observation *o,
                               const struct rsm_addr *master)
{
    return planner__usable(c, o) && planner__follows(o, master) &&
           o->info->link_up && !o->info->sync_in_progress;
}

/* Reachable replica whose link to its master is up with recent contact. */
static bool planner__hears_its_master(const struct ctx *c,
                                      const struct rsm_observation *o)
{
    const struct rsm_info *i = o->info;

    return planner__usable(c, o) && i->role == RSM_ROLE_REPLICA && i->link_up &&
           i->master_last_io_s >= 0 &&
           i->master_last_io_s * 1000 + o->info_age_ms < c->down_after;
}

static bool planner__was_old_master(const struct ctx *c,
                                    const struct rsm_addr *addr)
{
    if (c->g == NULL)
        return false;
    for (unsigned i = 0; i < c->g->n_history && i < RSM_HISTORY_MAX; i++) {
        if (rsm_addr_equal(&c->g->history[i].old_master, addr))
            return true;
    }
    return false;
}

/* ======================================================================
 * Deciding a failover
 * ====================================================================== */

/* Anti-flap: true (and the plan says why) if a new automatic decision
 * must wait. */
static bool planner__held_back(struct ctx *c)
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

/* Propose DecideFailover to the best candidate, or say why not. */
static int planner__decide_to(struct ctx *c, enum rsm_failover_kind kind,
                              const struct rsm_addr *old_master,
                              const struct rsm_addr *target, const char *why);

static int planner__decide(struct ctx *c, enum rsm_failover_kind kind,
                           const struct rsm_addr *old_master, const char *why)
{
    return planner__decide_to(c, kind, old_master, NULL, why);
}

/* Propose DecideFailover to target (NULL: the best candidate), or say why
 * not. */
static int planner__decide_to(struct ctx *c, enum rsm_failover_kind kind,
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
        e->timeout_ms = c->in->switchover_timeout_ms > 0
                            ? c->in->switchover_timeout_ms
                            : c->in->cfg->failover_timeout_ms;
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

/* ======================================================================
 * No committed master: first start
 * ====================================================================== */

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
static struct rsm_entry *planner__observe(struct ctx *c,
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

static int planner__first_start(struct ctx *c)
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

/* ======================================================================
 * Steady state: repair the topology around a healthy committed master
 * ====================================================================== */

/* Replicas of m still syncing (pointed at it, link not up yet). */
static unsigned planner__count_syncing(const struct ctx *c,
                                       const struct rsm_addr *m,
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

static int planner__steady_state(struct ctx *c)
{
    const struct rsm_addr *m = &c->g->master;
    const struct rsm_observation *mo = planner__find_obs(c, m);
    unsigned syncing, slots, waiting = 0;
    char a[RSM_ADDR_STRLEN];

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

/* ======================================================================
 * The in-flight failover, one function per state
 * ====================================================================== */

struct flight {
    const struct rsm_entry *d; /* committed decision */
    const struct rsm_addr *new_m;
    const struct rsm_addr *old_m; /* NULL for bootstrap */
    const struct rsm_observation *chosen;
    const struct rsm_observation *old;
    bool timed_out;
    int64_t elapsed;
};

static void planner__flight_init(const struct ctx *c, struct flight *f)
{
    f->d = &c->g->decision;
    f->new_m = &f->d->master;
    f->old_m = rsm_addr_is_set(&f->d->old_master) ? &f->d->old_master : NULL;
    f->chosen = planner__find_obs(c, f->new_m);
    f->old = f->old_m ? planner__find_obs(c, f->old_m) : NULL;
    f->elapsed = c->now - c->g->decided_at_ms;
    f->timed_out = f->elapsed > c->in->cfg->failover_timeout_ms;
}

/* Propose AbortFailover with its code (what io names the event from) and
 * its reason text (for humans). */
static int planner__abort_failover(struct ctx *c, const struct flight *f,
                                   enum rsm_abort_code code, const char *ev,
                                   const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int planner__abort_failover(struct ctx *c, const struct flight *f,
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
static int planner__promote_phase(struct ctx *c, const struct flight *f)
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

/* SEND_PROMOTE / WAIT_PROMOTION of a SWITCHOVER: ask the old master for
 * Redis's coordinated FAILOVER TO the target, with a timeout that ends
 * by the decision's deadline (a re-sent one too); see planner.h. */
static int planner__switchover_phase(struct ctx *c, const struct flight *f)
{
    const struct rsm_observation *o = f->chosen, *old = f->old;
    int64_t limit = f->d->timeout_ms > 0 ? f->d->timeout_ms
                                         : c->in->cfg->failover_timeout_ms;
    int64_t left = limit - f->elapsed;
    bool old_seen = planner__usable(c, old);
    enum rsm_failover_cmd_state fs = old_seen && planner__is_master(old)
                                         ? old->info->failover_state
                                         : RSM_FOCMD_NONE;
    bool swapped = old_seen && planner__follows(old, f->new_m);
    const char *ev = NULL;
    enum rsm_abort_code code = RSM_ABORT_UNSPECIFIED;
    char why[RSM_ADDR_STRLEN + 64];
    struct rsm_redis_action *act;
    char a[RSM_ADDR_STRLEN], b[RSM_ADDR_STRLEN];

    rsm_addr_format(f->new_m, a, RSM_ADDR_STRLEN);
    rsm_addr_format(f->old_m, b, RSM_ADDR_STRLEN);
    if (planner__usable(c, o) && planner__is_master(o) && !o->restarted_empty)
        return planner__promote_phase(c, f); /* records the promotion */
    c->out->state = RSM_FO_SEND_PROMOTE;
    if (left < -1000) { /* Redis's own FAILOVER timeout has fired */
        ev = "-failover-abort-timeout";
        code = RSM_ABORT_TIMEOUT;
        snprintf(why, sizeof why, "%s not promoted within %lld ms", a,
                 (long long)limit);
    } else if (o == NULL || o->state == RSM_HEALTH_DOWN) {
        ev = "-failover-abort-slave-unreachable";
        code = RSM_ABORT_UNREACHABLE;
        snprintf(why, sizeof why, "%s unreachable", a);
    } else if (o->restarted_empty) {
        ev = "-failover-abort-slave-restarted";
        code = RSM_ABORT_RESTARTED;
        snprintf(why, sizeof why, "%s restarted empty", a);
    } else if (c->in->failover_cmd == RSM_FAILOVER_CMD_UNUSABLE &&
               fs == RSM_FOCMD_NONE && !swapped) {
        ev = "-failover-abort-failover-unusable";
        code = RSM_ABORT_OTHER;
        snprintf(why, sizeof why, "FAILOVER not usable on %s", b);
    }
    if (ev != NULL) {
        bool overdue = left < -1000 - limit;

        if (!overdue && (swapped || fs == RSM_FOCMD_IN_PROGRESS)) {
            planner__reasonf(c,
                             "switchover to %s: %s; roles being swapped by %s: "
                             "waiting for the outcome",
                             a, why, b);
            return 0;
        }
        if (!overdue && fs == RSM_FOCMD_WAITING_SYNC) {
            planner__add_action(c, f->old_m, RSM_CMD_FAILOVER_ABORT, NULL);
            planner__reasonf(c, "switchover to %s: %s; FAILOVER ABORT on %s", a,
                             why, b);
            return 0;
        }
        if (!overdue && !old_seen && left >= -1000) {
            planner__reasonf(
                c,
                "switchover to %s: %s; %s not answering: waiting for "
                "its FAILOVER timeout",
                a, why, b);
            return 0;
        }
        return planner__abort_failover(
            c, f, code, ev, "switchover: %s, %s keeps serving", why, b);
    }
    if (left < 100) {
        planner__reasonf(
            c,
            "switchover to %s: deadline reached, waiting for %s to "
            "resume",
            a, b);
        return 0;
    }
    if (fs != RSM_FOCMD_NONE || swapped) {
        planner__reasonf(
            c, "switchover to %s: FAILOVER running on %s (%lld ms left)", a, b,
            (long long)left);
        return 0;
    }
    if (old == NULL || !planner__can_command(c, old) ||
        !planner__is_master(old) || !planner__linked_to(c, o, f->old_m)) {
        planner__reasonf(
            c,
            "switchover to %s: waiting for %s (role:master, answering) "
            "and %s linked to it",
            a, b, a);
        return 0;
    }
    planner__add_action(c, f->old_m, RSM_CMD_FAILOVER, f->new_m);
    act = &c->out->actions[c->out->n_actions - 1];
    act->timeout_ms = left;
    planner__reasonf(
        c, "switchover: FAILOVER TO %s on %s, %lld ms left (epoch %llu)", a, b,
        (long long)left, (unsigned long long)f->d->epoch);
    planner__event(c, "+failover-state-send-slaveof-noone", "%s %s epoch %llu",
                   c->in->group, a, (unsigned long long)f->d->epoch);
    return 0;
}

/* ======================================================================
 * The pause switchover (method PAUSE)
 *
 * Why each crash point is safe. "Acknowledged" means a client got OK for
 * a write; clients write to the master the agents give them, which is the
 * old master until FailoverProgress(PROMOTED) commits. A new leader has
 * no pause record (the shell keeps it in memory only), so it never relies
 * on a pause it did not send and read the offset after itself.
 *
 *  C1 decided, nothing sent: the new leader pauses itself, or aborts (an
 *     UNPAUSE that finds nothing paused is harmless).
 *  C2 old master paused, CAUGHT_UP not committed: no instance was
 *     demoted or promoted; the old master is still the only master. The
 *     new leader pauses again (same deadline) and reads its own offset,
 *     or aborts: CLIENT UNPAUSE, then AbortFailover; if the old master
 *     does not answer, its pause ends by itself at the deadline. Cost:
 *     writes stall until then at worst; none is lost.
 *  C3 CAUGHT_UP committed, old master not demoted: its pause may have
 *     lapsed and writes resumed, so the new leader pauses again, checks
 *     that the target has the new offset, and only then demotes; if it
 *     cannot before the deadline margin, it rolls back (UNPAUSE, abort).
 *  C4 old master demoted (REPLICAOF target), target not promoted: no
 *     instance accepts writes (the old master is a replica, the target
 *     one too). The target has every acknowledged write: it had the
 *     offset read while writes were paused, and the old master accepted
 *     none since. The new leader sees the old master follow the target
 *     and promotes the target. If the target is DOWN or restarted empty,
 *     it rolls back: REPLICAOF NO ONE to the old master (it has all the
 *     target has), UNPAUSE, AbortFailover. If neither answers, the abort
 *     is committed at the deadline; an old master that comes back as a
 *     replica is then judged DOWN by the detector after down_after (it
 *     reports role:replica) and a failover follows: availability lost,
 *     never a write.
 *  C5 target promoted, old master still paused: no client was sent to
 *     the target yet (PROMOTED not committed). The new leader sees both
 *     and sends UNPAUSE, then proposes PROMOTED. If it cannot see the
 *     old master follow the target, it does not commit the promotion (the
 *     old master might be a master again after a half-done rollback): it
 *     waits, and rolls back at the deadline.
 *  C6 UNPAUSE sent, PROMOTED not committed: the old master answers its
 *     queued writes with READONLY (none acknowledged). As C5.
 *  C7 PROMOTED committed: an ordinary failover after promotion (clients
 *     follow +switch-master; the old master already follows the target).
 *  Rollback: REPLICAOF NO ONE to the old master, then UNPAUSE, then
 *     AbortFailover. A crash in between leaves step CAUGHT_UP: the new
 *     leader sees the old master as a master, pauses it again, and either
 *     goes forward (re-checking the offset before demoting) or finishes
 *     the rollback. It never promotes the target while the old master is
 *     a master: both claiming role:master is itself a reason to roll back
 *     (the old master is the one clients use).
 *
 * The remaining assumption: a demoting REPLICAOF reaches the old master
 * while its pause holds. It is sent only with at least PAUSE_MARGIN_MS of
 * the pause left (more than the shell's command timeout); a master frozen
 * (SIGSTOP, swapping) for longer than that between our check and the
 * command could serve writes before the REPLICAOF runs.
 * ====================================================================== */

#define PAUSE_MARGIN_MS 1000

static int64_t planner__switchover_left(const struct ctx *c,
                                        const struct flight *f)
{
    int64_t limit = f->d->timeout_ms > 0 ? f->d->timeout_ms
                                         : c->in->cfg->failover_timeout_ms;

    return limit - f->elapsed;
}

/* The shell's pause record, if it is of this switchover. */
static const struct rsm_pause_record *planner__pause_of(const struct ctx *c,
                                                        const struct flight *f)
{
    const struct rsm_pause_record *p = c->in->pause;

    if (p == NULL || p->epoch != f->d->epoch ||
        !rsm_addr_equal(&p->addr, f->old_m) || p->state == RSM_PAUSE_NONE)
        return NULL;
    return p;
}

/* Writes are paused on the old master now, by this leader, with the
 * offset read after the pause: a PAUSED record, not lapsed, and the old
 * master seen as the same process in the same role since before it was
 * sent (a restart lifts a pause). */
static bool planner__paused_now(const struct ctx *c, const struct flight *f,
                                const struct rsm_pause_record *p)
{
    return p != NULL && p->state == RSM_PAUSE_PAUSED && p->offset >= 0 &&
           c->now < p->until_ms && f->old != NULL &&
           f->old->role_age_ms >= c->now - p->sent_ms;
}

static void planner__send_pause(struct ctx *c, const struct flight *f,
                                int64_t left)
{
    char b[RSM_ADDR_STRLEN];

    planner__add_action(c, f->old_m, RSM_CMD_CLIENT_PAUSE, NULL);
    c->out->actions[c->out->n_actions - 1].timeout_ms = left;
    rsm_addr_format(f->old_m, b, RSM_ADDR_STRLEN);
    planner__reasonf(
        c, "switchover: CLIENT PAUSE WRITE on %s for %lld ms (epoch %llu)", b,
        (long long)left, (unsigned long long)f->d->epoch);
    planner__event(c, "+pause-writes", "%s %s for %lld ms epoch %llu",
                   c->in->group, b, (long long)left,
                   (unsigned long long)f->d->epoch);
}

static void planner__send_unpause(struct ctx *c, const struct flight *f)
{
    char b[RSM_ADDR_STRLEN];

    planner__add_action(c, f->old_m, RSM_CMD_CLIENT_UNPAUSE, NULL);
    planner__event(c, "+unpause-writes", "%s %s epoch %llu", c->in->group,
                   rsm_addr_format(f->old_m, b, RSM_ADDR_STRLEN),
                   (unsigned long long)f->d->epoch);
}

/* The offset the target must have: the one read after the pause, or more
 * if the old master was seen further since (then its pause did not hold:
 * the target must have those writes too). */
static int64_t planner__offset_needed(const struct flight *f,
                                      const struct rsm_pause_record *p)
{
    int64_t seen = f->old && f->old->info ? rsm_info_offset(f->old->info) : -1;

    return seen > p->offset ? seen : p->offset;
}

/* The target, answering and linked to the old master, has offset_needed:
 * every write the old master acknowledged. */
static bool planner__target_caught_up(const struct ctx *c,
                                      const struct flight *f,
                                      const struct rsm_pause_record *p)
{
    const struct rsm_observation *o = f->chosen;

    return planner__can_command(c, o) && planner__linked_to(c, o, f->old_m) &&
           rsm_info_offset(o->info) >= planner__offset_needed(f, p);
}

static void planner__reason_catching_up(struct ctx *c, const struct flight *f,
                                        const struct rsm_pause_record *p,
                                        int64_t left)
{
    char a[RSM_ADDR_STRLEN], b[RSM_ADDR_STRLEN];
    const struct rsm_observation *o = f->chosen;

    planner__reasonf(
        c,
        "switchover: writes paused on %s; waiting for %s to catch up "
        "(offset %lld of %lld, %lld ms left)",
        rsm_addr_format(f->old_m, b, RSM_ADDR_STRLEN),
        rsm_addr_format(f->new_m, a, RSM_ADDR_STRLEN),
        (long long)(o && o->info ? rsm_info_offset(o->info) : -1),
        (long long)planner__offset_needed(f, p), (long long)left);
    c->out->watch = *f->new_m;
}

/* Abort at step NONE: nothing was demoted; lift the pause first. */
static int planner__pause_abort(struct ctx *c, const struct flight *f,
                                const struct rsm_pause_record *p,
                                enum rsm_abort_code code, const char *ev,
                                const char *why)
{
    char b[RSM_ADDR_STRLEN];

    rsm_addr_format(f->old_m, b, RSM_ADDR_STRLEN);
    if (planner__can_command(c, f->old) &&
        (p == NULL ||
         (p->state != RSM_PAUSE_UNPAUSED && p->state != RSM_PAUSE_REFUSED))) {
        planner__send_unpause(c, f);
        planner__reasonf(c, "switchover: %s; CLIENT UNPAUSE on %s, then abort",
                         why, b);
        return 0;
    }
    return planner__abort_failover(c, f, code, ev,
                                   "switchover: %s, %s keeps serving", why, b);
}

/* PAUSE_WRITES (step NONE): pause, wait for the target, record it. */
static int planner__pause_phase(struct ctx *c, const struct flight *f)
{
    const struct rsm_observation *o = f->chosen, *old = f->old;
    const struct rsm_pause_record *p = planner__pause_of(c, f);
    int64_t left = planner__switchover_left(c, f);
    const char *ev = NULL;
    enum rsm_abort_code code = RSM_ABORT_UNSPECIFIED;
    char why[RSM_ADDR_STRLEN + RSM_REASON_MAX + 64];
    struct rsm_entry *e;
    char a[RSM_ADDR_STRLEN], b[RSM_ADDR_STRLEN];

    c->out->state = RSM_FO_PAUSE_WRITES;
    rsm_addr_format(f->new_m, a, RSM_ADDR_STRLEN);
    rsm_addr_format(f->old_m, b, RSM_ADDR_STRLEN);
    if (p != NULL && p->state == RSM_PAUSE_REFUSED) {
        ev = "-failover-abort-pause-refused";
        code = RSM_ABORT_OTHER;
        snprintf(why, sizeof why, "CLIENT PAUSE refused by %s (%.32s)", b,
                 p->error);
    } else if (o == NULL || o->state == RSM_HEALTH_DOWN) {
        ev = "-failover-abort-slave-unreachable";
        code = RSM_ABORT_UNREACHABLE;
        snprintf(why, sizeof why, "%s unreachable", a);
    } else if (o->restarted_empty) {
        ev = "-failover-abort-slave-restarted";
        code = RSM_ABORT_RESTARTED;
        snprintf(why, sizeof why, "%s restarted empty", a);
    } else if (left < PAUSE_MARGIN_MS) {
        ev = "-failover-abort-timeout";
        code = RSM_ABORT_TIMEOUT;
        snprintf(why, sizeof why, "%s not caught up within %lld ms", a,
                 (long long)(left + f->elapsed - PAUSE_MARGIN_MS));
    }
    if (ev != NULL)
        return planner__pause_abort(c, f, p, code, ev, why);
    if (!planner__can_command(c, old) || !planner__is_master(old) ||
        !planner__linked_to(c, o, f->old_m)) {
        planner__reasonf(
            c,
            "switchover to %s: waiting for %s (role:master, answering) "
            "and %s linked to it",
            a, b, a);
        return 0;
    }
    if (!planner__paused_now(c, f, p)) {
        planner__send_pause(c, f, left);
        return 0;
    }
    if (!planner__target_caught_up(c, f, p)) {
        planner__reason_catching_up(c, f, p, left);
        return 0;
    }
    e = planner__propose(c, RSM_ENTRY_FAILOVER_PROGRESS);
    e->epoch = f->d->epoch;
    e->step = RSM_STEP_CAUGHT_UP;
    planner__reasonf(c,
                     "switchover: %s has offset %lld of paused %s: record it",
                     a, (long long)rsm_info_offset(o->info), b);
    planner__event(c, "+caught-up",
                   "%s %s offset %lld, %s paused at %lld epoch %llu",
                   c->in->group, a, (long long)rsm_info_offset(o->info), b,
                   (long long)planner__offset_needed(f, p),
                   (unsigned long long)f->d->epoch);
    return 0;
}

/* Roll back at step CAUGHT_UP: the old master a master again (it has
 * every write the target has), unpaused, then AbortFailover. */
static int planner__rollback(struct ctx *c, const struct flight *f,
                             const struct rsm_pause_record *p,
                             enum rsm_abort_code code, const char *ev,
                             const char *why)
{
    const struct rsm_observation *old = f->old;
    char b[RSM_ADDR_STRLEN];

    rsm_addr_format(f->old_m, b, RSM_ADDR_STRLEN);
    if (planner__can_command(c, old) && !planner__is_master(old)) {
        planner__add_action(c, f->old_m, RSM_CMD_REPLICAOF_NO_ONE, NULL);
        planner__reasonf(c, "switchover: %s; rolling back: %s master again",
                         why, b);
        planner__event(c, "+rollback-old-master", "%s %s epoch %llu: %s",
                       c->in->group, b, (unsigned long long)f->d->epoch, why);
        return 0;
    }
    if (planner__can_command(c, old) &&
        (p == NULL || p->state != RSM_PAUSE_UNPAUSED)) {
        planner__send_unpause(c, f);
        planner__reasonf(
            c, "switchover: %s; rolling back: CLIENT UNPAUSE on %s", why, b);
        return 0;
    }
    return planner__abort_failover(c, f, code, ev,
                                   "switchover: %s, rolled back, %s keeps "
                                   "serving",
                                   why, b);
}

/* Old master still a master at step CAUGHT_UP: demote it, but only while
 * this leader's pause holds and the target has every write. */
static int planner__demote_paused(struct ctx *c, const struct flight *f,
                                  const struct rsm_pause_record *p,
                                  int64_t left)
{
    char a[RSM_ADDR_STRLEN], b[RSM_ADDR_STRLEN];

    if (!planner__paused_now(c, f, p)) {
        planner__send_pause(c, f, left);
        return 0;
    }
    if (!planner__target_caught_up(c, f, p)) {
        planner__reason_catching_up(c, f, p, left);
        return 0;
    }
    planner__add_action(c, f->old_m, RSM_CMD_REPLICAOF, f->new_m);
    rsm_addr_format(f->new_m, a, RSM_ADDR_STRLEN);
    rsm_addr_format(f->old_m, b, RSM_ADDR_STRLEN);
    planner__reasonf(c,
                     "switchover: demote %s first: REPLICAOF %s (epoch %llu)",
                     b, a, (unsigned long long)f->d->epoch);
    planner__event(c, "+convert-to-slave",
                   "%s old master %s now a replica of %s", c->in->group, b, a);
    return 0;
}

/* SWAP_ROLES (step CAUGHT_UP): demote the old master, promote the target,
 * unpause, record the promotion; or roll back. */
static int planner__swap_phase(struct ctx *c, const struct flight *f)
{
    const struct rsm_observation *o = f->chosen, *old = f->old;
    const struct rsm_pause_record *p = planner__pause_of(c, f);
    int64_t left = planner__switchover_left(c, f);
    bool target_master =
        planner__usable(c, o) && planner__is_master(o) && !o->restarted_empty;
    bool old_seen = planner__usable(c, old);
    bool demoted = old_seen && planner__follows(old, f->new_m);
    bool old_master = old_seen && planner__is_master(old);
    char a[RSM_ADDR_STRLEN], b[RSM_ADDR_STRLEN];

    c->out->state = RSM_FO_SWAP_ROLES;
    rsm_addr_format(f->new_m, a, RSM_ADDR_STRLEN);
    rsm_addr_format(f->old_m, b, RSM_ADDR_STRLEN);
    if (target_master && demoted) {
        if (planner__can_command(c, old) &&
            (p == NULL || p->state != RSM_PAUSE_UNPAUSED)) {
            planner__send_unpause(c, f);
            planner__reasonf(c,
                             "switchover: %s promoted, %s its replica: CLIENT "
                             "UNPAUSE on %s",
                             a, b, b);
            return 0;
        }
        return planner__promote_phase(c, f); /* records the promotion */
    }
    if (o == NULL || o->state == RSM_HEALTH_DOWN)
        return planner__rollback(c, f, p, RSM_ABORT_UNREACHABLE,
                                 "-failover-abort-slave-unreachable",
                                 "target unreachable");
    if (o->restarted_empty)
        return planner__rollback(c, f, p, RSM_ABORT_RESTARTED,
                                 "-failover-abort-slave-restarted",
                                 "target restarted empty");
    if (target_master && old_master)
        return planner__rollback(c, f, p, RSM_ABORT_OTHER,
                                 "-failover-abort-roles",
                                 "target and old master both role:master");
    if (demoted) {
        if (planner__can_command(c, o)) {
            planner__add_action(c, f->new_m, RSM_CMD_REPLICAOF_NO_ONE, NULL);
            planner__reasonf(
                c,
                "switchover: %s a replica of %s: promote %s (epoch "
                "%llu)",
                b, a, a, (unsigned long long)f->d->epoch);
            planner__event(c, "+failover-state-send-slaveof-noone",
                           "%s %s epoch %llu", c->in->group, a,
                           (unsigned long long)f->d->epoch);
            return 0;
        }
        if (left < 0)
            return planner__rollback(c, f, p, RSM_ABORT_TIMEOUT,
                                     "-failover-abort-timeout",
                                     "target not promoted by the deadline");
        planner__reasonf(c, "switchover: waiting to promote %s (%s)", a,
                         rsm_health_state_str(o->state));
        return 0;
    }
    if (left < PAUSE_MARGIN_MS)
        return planner__rollback(c, f, p, RSM_ABORT_TIMEOUT,
                                 "-failover-abort-timeout",
                                 "old master not demoted in time");
    if (old_master && planner__can_command(c, old))
        return planner__demote_paused(c, f, p, left);
    planner__reasonf(
        c, "switchover to %s: waiting for %s (%s) to demote it", a, b,
        old == NULL ? "not monitored" : rsm_health_state_str(old->state));
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
        if (f->old_m != NULL && rsm_addr_equal(&o->addr, f->old_m))
            straggler = planner__usable(c, o) && !planner__follows(o, f->new_m);
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

static int planner__run_failover(struct ctx *c)
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

/* ======================================================================
 * Entry point
 * ====================================================================== */

static int planner__check_input(const struct rsm_planner_input *in,
                                struct rsm_planner_plan *out)
{
    const char *why = NULL;

    if (in->group == NULL || in->group[0] == '\0')
        why = "no group name";
    else if (strlen(in->group) >= RSM_GROUP_NAME_MAX)
        why = "group name too long";
    else if (in->cfg == NULL)
        why = "no configuration";
    else if (in->obs == NULL && in->n_obs > 0)
        why = "no observations";
    else if (in->n_obs > RSM_MAX_MEMBERS)
        why = "too many instances";
    else if (in->committed != NULL &&
             strcmp(in->committed->name, in->group) != 0)
        why = "committed state of another group";
    if (why == NULL)
        return 0;
    snprintf(out->reason, sizeof out->reason, "invalid input: %s", why);
    return RSM_EINVAL;
}

/* redis_version "X.Y.Z" at least 6.2: FAILOVER, CLIENT PAUSE WRITE and
 * CLIENT UNPAUSE exist. */
static bool planner__has_switchover_cmds(const struct rsm_info *i)
{
    int major = 0, minor = 0;

    if (sscanf(i->redis_version, "%d.%d", &major, &minor) != 2)
        return false;
    return major > 6 || (major == 6 && minor >= 2);
}

/* The method of a new switchover, and why (into why). */
static enum rsm_switchover_method planner__pick_method(const struct ctx *c,
                                                       const char *master,
                                                       char *why, size_t len)
{
    const char *err = c->in->failover_cmd_error;

    if (c->in->cfg->switchover_method == RSM_SWITCHOVER_PAUSE) {
        snprintf(why, len, "switchover requested (pause method)");
        return RSM_SWITCHOVER_PAUSE;
    }
    if (c->in->failover_cmd == RSM_FAILOVER_CMD_UNUSABLE) {
        snprintf(why, len,
                 "switchover requested (pause method: FAILOVER %s on %.60s)",
                 err != NULL && strncmp(err, "NOPERM", 6) == 0 ? "denied by ACL"
                                                               : "unknown",
                 master);
        return RSM_SWITCHOVER_PAUSE;
    }
    snprintf(why, len, "switchover requested");
    return RSM_SWITCHOVER_FAILOVER_CMD;
}

/* An operator asked for a switchover (no failover in flight). */
static int planner__switchover_requested(struct ctx *c)
{
    const struct rsm_observation *mo = planner__find_obs(c, &c->g->master);
    enum rsm_switchover_method method;
    char a[RSM_ADDR_STRLEN], why[RSM_REASON_MAX];
    int rc;

    rsm_addr_format(&c->g->master, a, RSM_ADDR_STRLEN);
    if (c->g->paused) {
        c->out->code = RSM_PLAN_CODE_SWITCHOVER_REFUSED;
        planner__reasonf(c, "switchover refused: group paused");
        return 0;
    }
    if (mo == NULL || !planner__can_command(c, mo) || !planner__is_master(mo)) {
        c->out->code = RSM_PLAN_CODE_SWITCHOVER_REFUSED;
        planner__reasonf(
            c,
            "switchover refused: master %s not answering as role:master "
            "(a failover is what it needs)",
            a);
        return 0;
    }
    if (!planner__has_switchover_cmds(mo->info)) {
        c->out->code = RSM_PLAN_CODE_SWITCHOVER_REFUSED;
        planner__reasonf(
            c,
            "switchover refused: master %s runs Redis %s; before 6.2 "
            "there is no FAILOVER and no CLIENT PAUSE WRITE/UNPAUSE, so "
            "no switchover can be lossless: use a failover (SENTINEL "
            "FAILOVER, rsmctl failover), which may lose the writes not "
            "yet replicated",
            a, mo->info->redis_version);
        return 0;
    }
    method = planner__pick_method(c, a, why, sizeof why);
    if (method == RSM_SWITCHOVER_PAUSE &&
        (c->in->switchover_timeout_ms > 0
             ? c->in->switchover_timeout_ms
             : c->in->cfg->failover_timeout_ms) <= PAUSE_MARGIN_MS) {
        c->out->code = RSM_PLAN_CODE_SWITCHOVER_REFUSED;
        planner__reasonf(
            c,
            "switchover refused: the pause method needs a timeout above "
            "%d ms (writes are paused at most that long; the old master "
            "is demoted only with %d ms of pause left)",
            PAUSE_MARGIN_MS, PAUSE_MARGIN_MS);
        return 0;
    }
    rc = planner__decide_to(
        c, RSM_FAILOVER_SWITCHOVER, &c->g->master,
        rsm_addr_is_set(&c->in->switchover_to) ? &c->in->switchover_to : NULL,
        why);
    if (c->out->kind == RSM_PLAN_PROPOSE)
        c->out->entry.switchover_method = method;
    if (c->out->kind == RSM_PLAN_PROPOSE && method == RSM_SWITCHOVER_PAUSE &&
        c->in->failover_cmd == RSM_FAILOVER_CMD_UNUSABLE &&
        c->in->failover_cmd_error != NULL)
        planner__reason_append(c, "; FAILOVER replied: %s",
                               c->in->failover_cmd_error);
    return rc;
}

static int planner__decide_on_verdict(struct ctx *c)
{
    const struct rsm_master_verdict *v = c->in->verdict;
    const struct rsm_addr *m = &c->g->master;

    if (v == NULL) {
        planner__reasonf(c, "no verdict on the master");
        return 0;
    }
    switch (v->status) {
    case RSM_MASTER_OK:
        return planner__steady_state(c);
    case RSM_MASTER_UNREACHABLE_FROM_AGENT:
        planner__reasonf(c, "master unreachable from agent: %s", v->reason);
        return 0;
    case RSM_MASTER_DOWN:
        if (planner__held_back(c))
            return 0;
        return planner__decide(c, RSM_FAILOVER_AUTOMATIC, m, v->reason);
    case RSM_MASTER_FAILED_RESTART:
        return planner__decide(c, RSM_FAILOVER_AUTOMATIC, m, v->reason);
    }
    planner__reasonf(c, "unknown verdict %d", (int)v->status);
    return 0;
}

int rsm_planner_next(const struct rsm_planner_input *in,
                     struct rsm_planner_plan *plan)
{
    struct ctx c;
    int rc;

    assert(plan != NULL);
    memset(plan, 0, sizeof *plan);
    plan->kind = RSM_PLAN_NONE;
    rc = in == NULL ? RSM_EINVAL : planner__check_input(in, plan);
    if (rc != 0) {
        if (in == NULL)
            snprintf(plan->reason, sizeof plan->reason, "invalid input: none");
        return rc;
    }
    memset(&c, 0, sizeof c);
    c.in = in;
    c.g = in->committed;
    c.out = plan;
    c.now = in->now_ms;
    c.down_after = in->cfg->down_after_ms;
    c.max_info_age =
        in->cfg->max_info_age_ms > 0 ? in->cfg->max_info_age_ms : c.down_after;
    c.parallel_syncs =
        in->cfg->parallel_syncs > 0 ? in->cfg->parallel_syncs : 1;
    rsm_entry_init(&plan->entry, RSM_ENTRY_NONE, in->group, c.now);
    if (c.g != NULL && c.g->in_flight)
        return planner__run_failover(&c);
    if (in->manual_failover && c.g != NULL && c.g->has_master)
        return planner__decide(&c, RSM_FAILOVER_MANUAL, &c.g->master,
                               in->force ? "manual failover forced"
                                         : "manual failover requested");
    if (in->switchover && c.g != NULL && c.g->has_master)
        return planner__switchover_requested(&c);
    if (c.g != NULL && c.g->paused) {
        planner__reasonf(&c, "paused");
        return 0;
    }
    if (c.g == NULL || !c.g->has_master)
        return planner__first_start(&c);
    return planner__decide_on_verdict(&c);
}

/* ======================================================================
 * Names
 * ====================================================================== */

const char *rsm_plan_kind_str(enum rsm_plan_kind k)
{
    switch (k) {
    case RSM_PLAN_NONE:
        return "none";
    case RSM_PLAN_PROPOSE:
        return "propose";
    case RSM_PLAN_REDIS:
        return "redis";
    }
    return "invalid";
}

const char *rsm_failover_state_str(enum rsm_failover_state s)
{
    switch (s) {
    case RSM_FO_NONE:
        return "none";
    case RSM_FO_SELECT_SLAVE:
        return "select-slave";
    case RSM_FO_SEND_PROMOTE:
        return "send-promote";
    case RSM_FO_WAIT_PROMOTION:
        return "wait-promotion";
    case RSM_FO_RECONF_SLAVES:
        return "reconf-slaves";
    case RSM_FO_DEMOTE_OLD_MASTER:
        return "demote-old-master";
    case RSM_FO_PAUSE_WRITES:
        return "pause-writes";
    case RSM_FO_SWAP_ROLES:
        return "swap-roles";
    }
    return "invalid";
}

const char *rsm_redis_cmd_str(enum rsm_redis_cmd c)
{
    switch (c) {
    case RSM_CMD_REPLICAOF_NO_ONE:
        return "REPLICAOF NO ONE";
    case RSM_CMD_REPLICAOF:
        return "REPLICAOF";
    case RSM_CMD_FAILOVER:
        return "FAILOVER";
    case RSM_CMD_FAILOVER_ABORT:
        return "FAILOVER ABORT";
    case RSM_CMD_CLIENT_PAUSE:
        return "CLIENT PAUSE";
    case RSM_CMD_CLIENT_UNPAUSE:
        return "CLIENT UNPAUSE";
    }
    return "invalid";
}
