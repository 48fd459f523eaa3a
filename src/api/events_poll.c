/* events_poll.c - polling the detector every POLL_MS: each group's
 * +sdown/-sdown and +odown/-odown transitions, the acting leader's view
 * shape (for a push), and forgetting groups gone from the FSM. */
#include "events_int.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void events__publish_instance(struct rsm_events *ev, const char *name,
                                     const struct rsm_sentinel_view *v,
                                     size_t i)
{
    char p[RSM_SENTINEL_PAYLOAD_MAX];

    if (v->has_master && i == 0)
        rsm_sentinel_payload_master(p, sizeof p, v->g->name, &v->master);
    else
        rsm_sentinel_payload_slave(p, sizeof p, v->g->name, &v->inst[i].addr,
                                   v->has_master ? &v->master : NULL);
    events__emit(ev, name, p);
}

/* s_down of every watched instance of v: a transition is published; an
 * instance newly watched is published only if it is down already (it is
 * not s_down before it has been watched for down_after_ms: see
 * events__fill_instance); one no longer watched is forgotten. */
static void events__poll_sdown(struct rsm_events *ev, struct track *t,
                               const struct rsm_sentinel_view *v)
{
    struct inst_track old[sizeof t->inst / sizeof t->inst[0]];
    size_t n_old = t->n;

    assert(t->n <= sizeof t->inst / sizeof t->inst[0]);
    memcpy(old, t->inst, n_old * sizeof old[0]); /* not the whole track */
    t->n = 0;
    for (size_t i = 0; i < v->n; i++) {
        const struct rsm_sentinel_instance *in = &v->inst[i];
        const struct inst_track *was = NULL;

        for (size_t j = 0; j < n_old && was == NULL; j++) {
            if (rsm_addr_equal(&old[j].addr, &in->addr))
                was = &old[j];
        }

        if (!in->watched || t->n == sizeof t->inst / sizeof t->inst[0])
            continue;
        if (was == NULL ? in->s_down : was->sdown != in->s_down)
            events__publish_instance(ev, in->s_down ? "+sdown" : "-sdown", v,
                                     i);
        t->inst[t->n].addr = in->addr;
        t->inst[t->n].sdown = in->s_down;
        t->n++;
    }
}

/* o_down of the master of v: the acting leader's verdict, or on a
 * follower the leader's relayed one. */
static void events__poll_odown(struct rsm_events *ev, struct track *t,
                               const struct rsm_sentinel_view *v,
                               const struct rsm_monitor_group_status *gs)
{
    char p[RSM_SENTINEL_PAYLOAD_MAX], tail[40];
    bool judged = gs->acting || v->relayed;

    if (!judged || !v->has_master ||
        (t->odown_tracked && !rsm_addr_equal(&t->odown_addr, &v->master))) {
        /* no verdict here, or another master (a failover moved it): the
         * old state goes silently, like Sentinel's old master instance */
        t->odown_tracked = t->odown = false;
    }
    if (!judged || !v->has_master)
        return;
    t->odown_addr = v->master;
    if (t->odown_tracked && t->odown == v->o_down)
        return;
    if (!t->odown_tracked && !v->o_down) {
        t->odown_tracked = true;
        return;
    }
    rsm_sentinel_payload_master(p, sizeof p, v->g->name, &v->master);
    if (v->o_down) {
        snprintf(tail, sizeof tail, " #quorum %u/%u", v->o_down_votes,
                 v->o_down_quorum);
        strncat(p, tail, sizeof p - strlen(p) - 1);
    }
    events__emit(ev, v->o_down ? "+odown" : "-odown", p);
    t->odown_tracked = true;
    t->odown = v->o_down;
}

void events__poll_group(struct rsm_events *ev, const struct rsm_group *g)
{
    struct rsm_sentinel_view *v = malloc(sizeof *v);
    struct rsm_monitor_group_status *gs = malloc(sizeof *gs);
    struct track *t = events__track_get(ev, g->name);
    bool has_gs;

    if (v == NULL || gs == NULL || t == NULL)
        goto done;
    t->seen = true;
    events__follow_masters(ev, t, g, ev->caught_up);
    events__build_view(ev, g, v, gs, &has_gs);
    if (has_gs) {
        events__poll_sdown(ev, t, v);
        events__poll_odown(ev, t, v, gs);
    }
    if (has_gs && gs->acting && ev->lv != NULL) {
        rsm_sentinel_view_export(v, ev->lv);
        t->shape = rsm_leaderview_shape(ev->lv);
        if (t->shape != t->pushed_shape)
            ev->push_due = true;
    }
    t->polled = true;
    t->polled_ms = events__now_ms(ev);
    t->relay_new = false;
done:
    free(v);
    free(gs);
}

void events__poll_changed(struct rsm_events *ev, const struct rsm_group *g,
                          uint64_t applied)
{
    uint64_t changes = ev->mon != NULL
                           ? rsm_monitor_group_changes(ev->mon, g->name)
                           : UINT64_MAX;
    struct track *t = events__track_get(ev, g->name);

    if (t == NULL)
        return;
    if (t->polled && changes != UINT64_MAX && changes == t->polled_changes &&
        applied == t->polled_applied && !t->relay_new &&
        ev->caught_up == t->polled_caught_up &&
        events__now_ms(ev) - t->polled_ms < IDLE_POLL_MS) {
        t->seen = true; /* still in the FSM */
        return;
    }
    events__poll_group(ev, g);
    t = events__track_get(ev, g->name); /* the poll may have moved it */
    if (t != NULL) {
        t->polled_changes = changes;
        t->polled_applied = applied;
        t->polled_caught_up = ev->caught_up;
    }
}

void events__check_caught_up(struct rsm_events *ev)
{
    struct rsm_node_status st;

    if (ev->caught_up)
        return;
    ev->node.get_status(ev->node.node, &st);
    if (!st.has_leader)
        return;
    /* A fixed target: "applied >= commit" can stay false at every look
     * while entries keep coming (this is called from inside an apply, and
     * a follower's commit index runs ahead of its disk writes), which once
     * kept a follower silent for good. */
    if (ev->catch_up_to == 0)
        ev->catch_up_to = st.commit_index > 0 ? st.commit_index : 1;
    if (st.applied_index >= ev->catch_up_to ||
        (st.commit_index == 0 && st.applied_index == 0))
        ev->caught_up = true;
}

/* Polls fall on the monitor's anchor plus multiples of POLL_MS, like its
 * probe turns (rsm_monitor_anchor_ms): an idle agent wakes up once for
 * both instead of twice. Re-armed from the anchor each time, so that a
 * late callback or a loop time updated by another callback does not shift
 * it. */
uint64_t events__until_next_poll(const struct rsm_events *ev)
{
    uint64_t now = uv_now(ev->loop);
    uint64_t anchor = ev->mon != NULL ? rsm_monitor_anchor_ms(ev->mon) : 0;

    if (anchor > now)
        anchor = now;
    return POLL_MS - (now - anchor) % POLL_MS;
}

void events__on_poll(uv_timer_t *timer)
{
    struct rsm_events *ev = timer->data;
    const struct rsm_fsm *fsm = events__fsm_of(ev);
    struct rsm_node_status st;
    size_t n;

    uv_timer_start(&ev->timer, events__on_poll, events__until_next_poll(ev), 0);
    events__check_caught_up(ev);
    ev->node.get_status(ev->node.node, &st);
    for (size_t i = 0; i < ev->n_tracks; i++)
        ev->tracks[i].seen = false;
    for (size_t i = 0; fsm != NULL && i < fsm->n_groups; i++)
        events__poll_changed(ev, &fsm->groups[i], st.applied_index);
    n = 0;
    for (size_t i = 0; i < ev->n_tracks; i++) { /* groups gone from the FSM */
        if (ev->tracks[i].seen) {
            if (n != i)
                ev->tracks[n] = ev->tracks[i];
            n++;
        } else {
            free(ev->tracks[i].relay);
        }
    }
    ev->n_tracks = n;
}
