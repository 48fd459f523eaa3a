/* events_view.c - the Sentinel view of a group as this agent sees it
 * (rsm_events_view): the committed state, the monitor's observations and,
 * on a follower, the acting leader's relayed view; and the knobs shown. */
#include "events_int.h"
#include "sentinel_config.h"

#include <string.h>

void rsm_events_knobs(const struct rsm_events *ev,
                      struct rsm_sentinel_knobs *out)
{
    struct rsm_monitor_config def;
    const struct rsm_monitor_config *c;
    struct rsm_node_status st;

    if (ev->mon != NULL) {
        c = rsm_monitor_get_config(ev->mon);
    } else {
        rsm_monitor_config_init(&def);
        c = &def;
    }
    out->down_after_ms = c->detector.down_after_ms;
    out->failover_timeout_ms = c->planner.failover_timeout_ms;
    out->parallel_syncs =
        c->planner.parallel_syncs ? c->planner.parallel_syncs : 1;
    out->quorum = c->detector.quorum;
    if (out->quorum == 0) {
        ev->node.get_status(ev->node.node, &st);
        out->quorum = st.n_members / 2 + 1;
    }
}

/* The monitor's status of group `name`; false if it does not watch it.
 * Looked up by name (the monitor keeps an index): computing every
 * group's observations to find one would cost the API each poll. */
static bool events__monitor_status(const struct rsm_events *ev,
                                   const char *name,
                                   struct rsm_monitor_group_status *gs)
{
    return ev->mon != NULL && rsm_monitor_group_status_of(ev->mon, name, gs);
}

/* Since when this agent watches addr of g (-1: it does not). */
static int64_t events__watched_since(const struct rsm_events *ev,
                                     const struct track *t,
                                     const struct rsm_monitor_group_status *gs,
                                     const struct rsm_group *g,
                                     const struct rsm_addr *a)
{
    int64_t since = -1;

    if (g->has_master && rsm_addr_equal(a, &g->master))
        since =
            t != NULL && t->has_committed && rsm_addr_equal(&t->committed, a)
                ? t->committed_since
                : events__now_ms(ev);
    else if (gs->acting)
        since = ev->acting_since;
    if (since >= 0 && since < ev->mon_since)
        since = ev->mon_since;
    return since;
}

static void events__fill_instance(const struct rsm_events *ev,
                                  const struct track *t,
                                  const struct rsm_monitor_group_status *gs,
                                  const struct rsm_group *g,
                                  const struct rsm_observation *o,
                                  struct rsm_sentinel_instance *in,
                                  int64_t down_after)
{
    int64_t since = events__watched_since(ev, t, gs, g, &o->addr);
    bool settled;

    if (since < 0)
        return;
    settled = events__now_ms(ev) - since >= down_after;
    in->watched = true;
    in->no_reply_ms = o->no_reply_ms;
    in->down_ms = o->no_reply_ms;
    in->has_info = gs->acting && o->info != NULL;
    if (in->has_info)
        rsm_info_summarize(o->info, &in->info);
    in->info_age_ms = in->has_info ? o->info_age_ms : -1;
    in->role_age_ms = in->has_info ? o->role_age_ms : -1;
    in->s_down = settled && o->state == RSM_HEALTH_DOWN;
    in->disconnected = settled && (o->state == RSM_HEALTH_DOWN ||
                                   o->state == RSM_HEALTH_SUSPECT);
}

void events__self_of(const struct rsm_events *ev,
                     const struct rsm_node_status *st,
                     struct rsm_leaderview_self *self)
{
    self->id = st->id;
    self->has_leader = st->has_leader;
    self->leader_id = st->leader.id;
    self->term = st->term;
    self->cluster_id = events__fsm_of(ev)->cluster_id;
}

/* Lay the leader's view of g over v if this agent has a fresh one
 * (rsm_leaderview_fresh). */
static void events__relay_view(struct rsm_events *ev, const struct track *t,
                               const struct rsm_node_status *st,
                               struct rsm_sentinel_view *v)
{
    struct rsm_leaderview_self self;
    size_t pos = 0;
    int64_t now = events__now_ms(ev);

    if (t == NULL || t->relay == NULL || ev->lv == NULL)
        return;
    events__self_of(ev, st, &self);
    if (!rsm_leaderview_fresh(&t->relay_origin, t->relay_ms, &self, now,
                              v->knobs.down_after_ms))
        return;
    /* checked when it was received: it decodes */
    if (rsm_leaderview_decode_group(t->relay, t->relay_len, &pos, NULL, ev->lv,
                                    NULL, 0) == 0)
        rsm_sentinel_view_relay(v, ev->lv, now - t->relay_ms);
}

/* The view with gs (the monitor's status of the group, if *has_gs). */
void events__build_view(struct rsm_events *ev, const struct rsm_group *g,
                        struct rsm_sentinel_view *v,
                        struct rsm_monitor_group_status *gs, bool *has_gs)
{
    struct rsm_sentinel_knobs k;
    struct rsm_node_status st;
    const struct track *t = events__track_find(ev, g->name);

    rsm_events_knobs(ev, &k);
    rsm_sentinel_config_knobs(g, &k); /* the group's own (SENTINEL SET) */
    ev->node.get_status(ev->node.node, &st);
    rsm_sentinel_view_init(v, g, st.n_members, &k);
    *has_gs = events__monitor_status(ev, g->name, gs);
    if (!*has_gs) {
        events__relay_view(ev, t, &st, v);
        return;
    }
    for (unsigned i = 0; i < gs->n && i < RSM_MAX_MEMBERS; i++) {
        struct rsm_sentinel_instance *in =
            rsm_sentinel_view_find(v, &gs->obs[i].addr);
        if (in != NULL)
            events__fill_instance(ev, t, gs, g, &gs->obs[i], in,
                                  k.down_after_ms);
    }
    if (!gs->acting) /* the leader's view, where it has one, over ours */
        events__relay_view(ev, t, &st, v);
    if (gs->acting && g->has_master && v->has_master &&
        rsm_addr_equal(&v->master, &g->master) &&
        rsm_addr_equal(&gs->verdict_master, &g->master) &&
        (gs->verdict.status == RSM_MASTER_DOWN ||
         gs->verdict.status == RSM_MASTER_FAILED_RESTART)) {
        struct rsm_sentinel_instance *m = rsm_sentinel_view_find(v, &g->master);

        /* the crash path decides before down-after: the master is down
         * to this agent too (s_down), not just to the quorum */
        if (gs->verdict.crashed && m != NULL && m->watched) {
            m->s_down = true;
            m->disconnected = true;
        }
        v->o_down = true;
        v->o_down_ms = gs->verdict.down_ms > 0 ? gs->verdict.down_ms : 0;
        v->o_down_votes = gs->verdict.votes;
        v->o_down_quorum = gs->verdict.quorum;
    }
}

void rsm_events_view(struct rsm_events *ev, const struct rsm_group *g,
                     struct rsm_sentinel_view *v)
{
    struct rsm_monitor_group_status gs;
    bool has_gs;

    events__build_view(ev, g, v, &gs, &has_gs);
}
