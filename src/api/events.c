/* events.c - Sentinel's events from the committed state, the detector and
 * the leader's actions, and the Sentinel view of a group (see events.h).
 *
 * Per group, a track remembers what was last published: the master given
 * to clients (for +switch-master), the committed master and since when
 * (when a follower started watching it), the o_down state and each
 * instance's s_down state. A transition is published only between two
 * "settled" states: an instance that just started to be watched is taken
 * silently, and one that stops being watched is forgotten silently.
 *
 * While the node replays its log (after a restart, applied index behind
 * the commit index) nothing derived from entries is published: the
 * tracks follow silently, so that subscribers never get a burst of old
 * failovers. */
#include "events.h"
#include "sentinel_config.h"
#include "rsm/err.h"
#include "rsm/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POLL_MS   100
#define REPEAT_MS 1000 /* same action event, same instance: dropped */
#define PUSH_MS   1000 /* the leader's view is pushed at least this often */
#define N_RECENT  8

struct inst_track {
    struct rsm_addr addr;
    bool sdown;
};

struct recent {
    const char *name;
    struct rsm_addr addr;
    int64_t at;
};

struct track {
    char name[RSM_GROUP_NAME_MAX];
    bool seen;       /* still in the FSM at the last poll */
    bool has_master; /* the master given to clients */
    struct rsm_addr master;
    bool has_committed; /* the committed master, and since when */
    struct rsm_addr committed;
    int64_t committed_since;
    bool odown_tracked, odown; /* about odown_addr */
    struct rsm_addr odown_addr;
    size_t n;
    struct inst_track inst[RSM_MAX_MEMBERS + 2];
    struct recent recent[N_RECENT];
    unsigned next_recent;
    /* The acting leader: the shape (rsm_leaderview_shape) of its view at
     * the latest poll, and in the latest push. */
    uint64_t shape, pushed_shape;
    /* A follower: the leader's view of the group (its "g" record and
     * instance lines, malloc'd; NULL if none), who sent it and when. */
    char *relay;
    size_t relay_len;
    struct rsm_leaderview_origin relay_origin;
    int64_t relay_ms;
};

/* A group of the monitor and its index there. */
struct mon_name {
    char name[RSM_GROUP_NAME_MAX];
    size_t index;
};

/* An event waiting to be published. */
struct pending {
    struct pending *next;
    const char *channel; /* static string */
    char payload[RSM_SENTINEL_PAYLOAD_MAX];
};

struct rsm_events {
    uv_loop_t *loop;
    uv_timer_t timer;
    uv_timer_t flush; /* 0 ms: publishes the queue */
    struct pending *head, *tail;
    int closing; /* handles still closing */
    struct rsm_events_node node;
    struct rsm_pubsub *ps;
    struct rsm_monitor *mon;
    int64_t mon_since;          /* when the monitor was attached */
    struct mon_name *mon_names; /* the monitor's groups (fixed at its
                                   start), sorted by name */
    size_t n_mon;
    int64_t acting_since; /* when the node last became the ready leader */
    bool caught_up;       /* applied the log up to catch_up_to */
    uint64_t catch_up_to; /* the commit index when a leader was first
                             known (0: not yet); entries up to it are
                             history, not news */
    struct track *tracks; /* sorted by name */
    size_t n_tracks, cap_tracks;
    struct rsm_leaderview_group *lv; /* scratch for export and relay */
    bool push_due;                   /* a shape changed since the last push */
    int64_t pushed_ms;               /* when the last push was built */
    rsm_events_stop_cb stop_cb;
    void *stop_arg;
};

static int64_t now_ms(const struct rsm_events *ev)
{
    return (int64_t)uv_now(ev->loop);
}

static const struct rsm_fsm *fsm_of(const struct rsm_events *ev)
{
    return ev->node.fsm(ev->node.node);
}

/* ---------------------------------------------------------------------
 * Publishing
 * --------------------------------------------------------------------- */

size_t rsm_events_publish(struct rsm_events *ev, const char *channel,
                          const char *payload)
{
    char q[RSM_SENTINEL_PAYLOAD_MAX + 8];
    size_t n =
        rsm_pubsub_publish(ev->ps, channel, strlen(channel), payload,
                           strlen(payload), rsm_pubsub_deliver_resp, NULL);

    rsm_log(RSM_LOG_INFO, "publish", "channel=%s payload=%s receivers=%zu",
            channel, rsm_log_quote(payload, q, sizeof q), n);
    return n;
}

/* Publishing pushes to clients, which may then run their next request
 * (resp_server): never do it from inside a raft callback (an applied
 * entry), where a request that proposes would re-enter raft. Events are
 * queued and published, in order, from a 0 ms timer. */
static void on_flush(uv_timer_t *timer)
{
    struct rsm_events *ev = timer->data;

    while (ev->head != NULL) {
        struct pending *p = ev->head;
        ev->head = p->next;
        if (ev->head == NULL)
            ev->tail = NULL;
        rsm_events_publish(ev, p->channel, p->payload);
        free(p);
    }
}

static void emit(struct rsm_events *ev, const char *channel,
                 const char *payload)
{
    struct pending *p = malloc(sizeof *p);

    if (p == NULL)
        return;
    p->next = NULL;
    p->channel = channel;
    snprintf(p->payload, sizeof p->payload, "%s", payload);
    if (ev->tail != NULL)
        ev->tail->next = p;
    else
        ev->head = p;
    ev->tail = p;
    if (ev->closing == 0)
        uv_timer_start(&ev->flush, on_flush, 0, 0);
}

/* ---------------------------------------------------------------------
 * Tracks
 * --------------------------------------------------------------------- */

/* Where name is in the sorted tracks, or would be inserted. The poll
 * looks up every group every POLL_MS: with hundreds of groups a linear
 * search was a visible part of the agent's CPU. */
static size_t track_pos(const struct rsm_events *ev, const char *name,
                        bool *found)
{
    size_t lo = 0, hi = ev->n_tracks;

    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ev->tracks[mid].name, name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct track *track_find(struct rsm_events *ev, const char *name)
{
    bool found;
    size_t i = track_pos(ev, name, &found);

    return found ? &ev->tracks[i] : NULL;
}

/* The group's track, created empty if new; NULL if out of memory. */
static struct track *track_get(struct rsm_events *ev, const char *name)
{
    bool found;
    size_t i = track_pos(ev, name, &found);
    struct track *t;

    if (found)
        return &ev->tracks[i];
    if (ev->n_tracks == ev->cap_tracks) {
        size_t cap = ev->cap_tracks ? ev->cap_tracks * 2 : 8;
        struct track *n = realloc(ev->tracks, cap * sizeof *n);
        if (n == NULL)
            return NULL;
        ev->tracks = n;
        ev->cap_tracks = cap;
    }
    memmove(&ev->tracks[i + 1], &ev->tracks[i],
            (ev->n_tracks - i) * sizeof *ev->tracks);
    ev->n_tracks++;
    t = &ev->tracks[i];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    return t;
}

static struct inst_track *inst_find(struct track *t, const struct rsm_addr *a)
{
    for (size_t i = 0; i < t->n; i++) {
        if (rsm_addr_equal(&t->inst[i].addr, a))
            return &t->inst[i];
    }
    return NULL;
}

static void inst_forget(struct track *t, const struct rsm_addr *a)
{
    for (size_t i = 0; i < t->n; i++) {
        if (rsm_addr_equal(&t->inst[i].addr, a)) {
            t->inst[i] = t->inst[--t->n];
            return;
        }
    }
}

/* The committed master and the master given to clients: +switch-master
 * when the latter moves (published only if `loud`). */
static void follow_masters(struct rsm_events *ev, struct track *t,
                           const struct rsm_group *g, bool loud)
{
    struct rsm_addr m;
    char p[RSM_SENTINEL_PAYLOAD_MAX];

    if (g->has_master &&
        (!t->has_committed || !rsm_addr_equal(&t->committed, &g->master))) {
        t->has_committed = true;
        t->committed = g->master;
        t->committed_since = now_ms(ev);
        t->odown_tracked = t->odown = false;
    }
    if (!rsm_sentinel_master_addr(g, &m))
        return;
    if (t->has_master && !rsm_addr_equal(&t->master, &m) && loud) {
        rsm_sentinel_payload_switch(p, sizeof p, g->name, &t->master, &m);
        emit(ev, "+switch-master", p);
    }
    if (t->has_master && !rsm_addr_equal(&t->master, &m))
        inst_forget(t, &t->master); /* its role changed: start afresh */
    t->has_master = true;
    t->master = m;
}

/* ---------------------------------------------------------------------
 * Views
 * --------------------------------------------------------------------- */

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

/* The monitor's status of group `name`; false if it does not watch it. */
static bool monitor_status(const struct rsm_events *ev, const char *name,
                           struct rsm_monitor_group_status *gs)
{
    size_t lo = 0, hi = ev->n_mon;

    if (ev->mon == NULL)
        return false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ev->mon_names[mid].name, name);
        if (c == 0)
            return rsm_monitor_group_status(ev->mon, ev->mon_names[mid].index,
                                            gs);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* Since when this agent watches addr of g (-1: it does not). */
static int64_t watched_since(const struct rsm_events *ev, const struct track *t,
                             const struct rsm_monitor_group_status *gs,
                             const struct rsm_group *g,
                             const struct rsm_addr *a)
{
    int64_t since = -1;

    if (g->has_master && rsm_addr_equal(a, &g->master))
        since =
            t != NULL && t->has_committed && rsm_addr_equal(&t->committed, a)
                ? t->committed_since
                : now_ms(ev);
    else if (gs->acting)
        since = ev->acting_since;
    if (since >= 0 && since < ev->mon_since)
        since = ev->mon_since;
    return since;
}

static void fill_instance(const struct rsm_events *ev, const struct track *t,
                          const struct rsm_monitor_group_status *gs,
                          const struct rsm_group *g,
                          const struct rsm_observation *o,
                          struct rsm_sentinel_instance *in, int64_t down_after)
{
    int64_t since = watched_since(ev, t, gs, g, &o->addr);
    bool settled;

    if (since < 0)
        return;
    settled = now_ms(ev) - since >= down_after;
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

static void self_of(const struct rsm_events *ev,
                    const struct rsm_node_status *st,
                    struct rsm_leaderview_self *self)
{
    self->id = st->id;
    self->has_leader = st->has_leader;
    self->leader_id = st->leader.id;
    self->term = st->term;
    self->cluster_id = fsm_of(ev)->cluster_id;
}

/* Lay the leader's view of g over v if this agent has a fresh one
 * (rsm_leaderview_fresh). */
static void relay_view(struct rsm_events *ev, const struct track *t,
                       const struct rsm_node_status *st,
                       struct rsm_sentinel_view *v)
{
    struct rsm_leaderview_self self;
    size_t pos = 0;
    int64_t now = now_ms(ev);

    if (t == NULL || t->relay == NULL || ev->lv == NULL)
        return;
    self_of(ev, st, &self);
    if (!rsm_leaderview_fresh(&t->relay_origin, t->relay_ms, &self, now,
                              v->knobs.down_after_ms))
        return;
    /* checked when it was received: it decodes */
    if (rsm_leaderview_decode_group(t->relay, t->relay_len, &pos, NULL, ev->lv,
                                    NULL, 0) == 0)
        rsm_sentinel_view_relay(v, ev->lv, now - t->relay_ms);
}

/* The view with gs (the monitor's status of the group, if *has_gs). */
static void build_view(struct rsm_events *ev, const struct rsm_group *g,
                       struct rsm_sentinel_view *v,
                       struct rsm_monitor_group_status *gs, bool *has_gs)
{
    struct rsm_sentinel_knobs k;
    struct rsm_node_status st;
    const struct track *t = track_find(ev, g->name);

    rsm_events_knobs(ev, &k);
    rsm_sentinel_config_knobs(g, &k); /* the group's own (SENTINEL SET) */
    ev->node.get_status(ev->node.node, &st);
    rsm_sentinel_view_init(v, g, st.n_members, &k);
    *has_gs = monitor_status(ev, g->name, gs);
    if (!*has_gs) {
        relay_view(ev, t, &st, v);
        return;
    }
    for (unsigned i = 0; i < gs->n && i < RSM_MAX_MEMBERS; i++) {
        struct rsm_sentinel_instance *in =
            rsm_sentinel_view_find(v, &gs->obs[i].addr);
        if (in != NULL)
            fill_instance(ev, t, gs, g, &gs->obs[i], in, k.down_after_ms);
    }
    if (!gs->acting) /* the leader's view, where it has one, over ours */
        relay_view(ev, t, &st, v);
    if (gs->acting && g->has_master && v->has_master &&
        rsm_addr_equal(&v->master, &g->master) &&
        rsm_addr_equal(&gs->verdict_master, &g->master) &&
        (gs->verdict.status == RSM_MASTER_DOWN ||
         gs->verdict.status == RSM_MASTER_FAILED_RESTART)) {
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

    build_view(ev, g, v, &gs, &has_gs);
}

/* ---------------------------------------------------------------------
 * Polling the detector: +sdown/-sdown, +odown/-odown
 * --------------------------------------------------------------------- */

static void publish_instance(struct rsm_events *ev, const char *name,
                             const struct rsm_sentinel_view *v, size_t i)
{
    char p[RSM_SENTINEL_PAYLOAD_MAX];

    if (v->has_master && i == 0)
        rsm_sentinel_payload_master(p, sizeof p, v->g->name, &v->master);
    else
        rsm_sentinel_payload_slave(p, sizeof p, v->g->name, &v->inst[i].addr,
                                   v->has_master ? &v->master : NULL);
    emit(ev, name, p);
}

/* s_down of every watched instance of v: a transition is published; an
 * instance newly watched is published only if it is down already (it is
 * not s_down before it has been watched for down_after_ms: see
 * fill_instance); one no longer watched is forgotten. */
static void poll_sdown(struct rsm_events *ev, struct track *t,
                       const struct rsm_sentinel_view *v)
{
    struct track old = *t;

    t->n = 0;
    for (size_t i = 0; i < v->n; i++) {
        const struct rsm_sentinel_instance *in = &v->inst[i];
        const struct inst_track *was = inst_find(&old, &in->addr);

        if (!in->watched || t->n == sizeof t->inst / sizeof t->inst[0])
            continue;
        if (was == NULL ? in->s_down : was->sdown != in->s_down)
            publish_instance(ev, in->s_down ? "+sdown" : "-sdown", v, i);
        t->inst[t->n].addr = in->addr;
        t->inst[t->n].sdown = in->s_down;
        t->n++;
    }
}

/* o_down of the master of v: the acting leader's verdict, or on a
 * follower the leader's relayed one. */
static void poll_odown(struct rsm_events *ev, struct track *t,
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
    emit(ev, v->o_down ? "+odown" : "-odown", p);
    t->odown_tracked = true;
    t->odown = v->o_down;
}

static void poll_group(struct rsm_events *ev, const struct rsm_group *g)
{
    struct rsm_sentinel_view *v = malloc(sizeof *v);
    struct rsm_monitor_group_status *gs = malloc(sizeof *gs);
    struct track *t = track_get(ev, g->name);
    bool has_gs;

    if (v == NULL || gs == NULL || t == NULL)
        goto done;
    t->seen = true;
    follow_masters(ev, t, g, ev->caught_up);
    build_view(ev, g, v, gs, &has_gs);
    if (has_gs) {
        poll_sdown(ev, t, v);
        poll_odown(ev, t, v, gs);
    }
    if (has_gs && gs->acting && ev->lv != NULL) {
        rsm_sentinel_view_export(v, ev->lv);
        t->shape = rsm_leaderview_shape(ev->lv);
        if (t->shape != t->pushed_shape)
            ev->push_due = true;
    }
done:
    free(v);
    free(gs);
}

static void check_caught_up(struct rsm_events *ev)
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
static uint64_t until_next_poll(const struct rsm_events *ev)
{
    uint64_t now = uv_now(ev->loop);
    uint64_t anchor = ev->mon != NULL ? rsm_monitor_anchor_ms(ev->mon) : 0;

    if (anchor > now)
        anchor = now;
    return POLL_MS - (now - anchor) % POLL_MS;
}

static void on_poll(uv_timer_t *timer)
{
    struct rsm_events *ev = timer->data;
    const struct rsm_fsm *fsm = fsm_of(ev);
    size_t n;

    uv_timer_start(&ev->timer, on_poll, until_next_poll(ev), 0);
    check_caught_up(ev);
    for (size_t i = 0; i < ev->n_tracks; i++)
        ev->tracks[i].seen = false;
    for (size_t i = 0; fsm != NULL && i < fsm->n_groups; i++)
        poll_group(ev, &fsm->groups[i]);
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

/* ---------------------------------------------------------------------
 * The leader's view relayed to the followers (leaderview.h)
 * --------------------------------------------------------------------- */

/* Append one payload (finished t) to the NULL-terminated list *out of *n;
 * false if out of memory. */
static bool add_chunk(char ***out, size_t *n, struct rsm_textbuf *t)
{
    char *text = rsm_textbuf_finish(t);
    char **grown;

    if (text == NULL)
        return false;
    grown = realloc(*out, (*n + 2) * sizeof **out);
    if (grown == NULL) {
        free(text);
        return false;
    }
    grown[(*n)++] = text;
    grown[*n] = NULL;
    *out = grown;
    return true;
}

static void free_chunks(char **chunks)
{
    for (size_t i = 0; chunks != NULL && chunks[i] != NULL; i++)
        free(chunks[i]);
    free(chunks);
}

/* Every group of the FSM as this (acting) agent sees it, in payloads of
 * at most max bytes (a group larger than that alone in its payload). */
static char **build_push(struct rsm_events *ev,
                         const struct rsm_leaderview_origin *o, size_t max)
{
    const struct rsm_fsm *fsm = fsm_of(ev);
    struct rsm_sentinel_view *v = malloc(sizeof *v);
    struct rsm_monitor_group_status *gs = malloc(sizeof *gs);
    struct rsm_textbuf t = {0}, one = {0};
    char **out = NULL;
    size_t n = 0, groups = 0;
    bool ok = v != NULL && gs != NULL;

    for (size_t i = 0; ok && fsm != NULL && i < fsm->n_groups; i++) {
        const struct rsm_group *g = &fsm->groups[i];
        struct track *tr = track_find(ev, g->name);
        bool has_gs;
        build_view(ev, g, v, gs, &has_gs);
        rsm_sentinel_view_export(v, ev->lv);
        rsm_leaderview_encode_group(&one, ev->lv);
        if (tr != NULL)
            tr->pushed_shape = tr->shape = rsm_leaderview_shape(ev->lv);
        if (groups > 0 && t.len + one.len > max) {
            ok = add_chunk(&out, &n, &t);
            groups = 0;
        }
        if (groups++ == 0)
            rsm_leaderview_encode_header(&t, o);
        rsm_textbuf_printf(&t, "%s", one.s != NULL ? one.s : "");
        ok = ok && !one.oom;
        rsm_textbuf_free(&one);
    }
    if (ok && groups > 0)
        ok = add_chunk(&out, &n, &t);
    rsm_textbuf_free(&t);
    rsm_textbuf_free(&one);
    free(v);
    free(gs);
    if (!ok) {
        free_chunks(out);
        return NULL;
    }
    return out;
}

char **rsm_events_leaderview_push(struct rsm_events *ev, size_t max_bytes)
{
    struct rsm_leaderview_origin o;
    struct rsm_node_status st;
    int64_t now = now_ms(ev);

    if (ev->lv == NULL ||
        (!ev->push_due && ev->pushed_ms != 0 && now - ev->pushed_ms < PUSH_MS))
        return NULL;
    ev->node.get_status(ev->node.node, &st);
    memset(&o, 0, sizeof o);
    o.leader_id = st.id;
    o.term = st.term;
    snprintf(o.cluster_id, sizeof o.cluster_id, "%s", fsm_of(ev)->cluster_id);
    ev->push_due = false;
    ev->pushed_ms = now;
    return build_push(ev, &o, max_bytes);
}

void rsm_events_leaderview_free(char **payloads)
{
    free_chunks(payloads);
}

/* Keep the text of one group of a payload, if the group is committed. */
static void keep_relay(struct rsm_events *ev, const char *text, size_t len,
                       const struct rsm_leaderview_origin *o, int64_t now)
{
    struct track *t;
    char *copy;

    if (rsm_fsm_group(fsm_of(ev), ev->lv->name) == NULL)
        return; /* not known here (yet): nothing would show it */
    t = track_get(ev, ev->lv->name);
    copy = malloc(len);
    if (t == NULL || copy == NULL) {
        free(copy);
        return;
    }
    memcpy(copy, text, len);
    free(t->relay);
    t->relay = copy;
    t->relay_len = len;
    t->relay_origin = *o;
    t->relay_ms = now;
}

/* Read every group of text, and keep them if keep. */
static int read_groups(struct rsm_events *ev, const char *text, size_t len,
                       size_t pos, const struct rsm_leaderview_origin *o,
                       bool keep, char *errmsg, size_t errlen)
{
    int64_t now = now_ms(ev);
    size_t start;
    int rv;

    for (;;) {
        rv = rsm_leaderview_decode_group(text, len, &pos, &start, ev->lv,
                                         errmsg, errlen);
        if (rv == RSM_ENOTFOUND)
            return 0;
        if (rv != 0)
            return rv;
        if (keep)
            keep_relay(ev, text + start, pos - start, o, now);
    }
}

int rsm_events_leaderview_take(struct rsm_events *ev, const char *text,
                               size_t len, char *errmsg, size_t errlen)
{
    struct rsm_leaderview_origin o;
    struct rsm_leaderview_self self;
    struct rsm_node_status st;
    char why[RSM_ERRMSG_SIZE];
    size_t pos;
    int rv;

    if (ev->lv == NULL)
        return rsm_errf(RSM_ENOMEM, errmsg, errlen, "out of memory");
    rv = rsm_leaderview_decode_header(text, len, &pos, &o, errmsg, errlen);
    if (rv != 0)
        return rv;
    ev->node.get_status(ev->node.node, &st);
    self_of(ev, &st, &self);
    if (!rsm_leaderview_accept(&o, &self, why, sizeof why))
        return rsm_errf(RSM_EREJECTED, errmsg, errlen, "%s", why);
    /* all or nothing: check every group before keeping any */
    rv = read_groups(ev, text, len, pos, &o, false, errmsg, errlen);
    if (rv == 0)
        rv = read_groups(ev, text, len, pos, &o, true, errmsg, errlen);
    return rv;
}

/* ---------------------------------------------------------------------
 * Node and monitor events
 * --------------------------------------------------------------------- */

static void on_applied(struct rsm_events *ev, const struct rsm_entry *e)
{
    struct rsm_sentinel_event *out;
    const struct rsm_group *g = rsm_fsm_group(fsm_of(ev), e->group);
    struct track *t;
    size_t n;

    check_caught_up(ev);
    /* what the detector says first: +sdown/+odown come before the
     * +try-failover they caused, even within one poll interval */
    if (g != NULL && ev->caught_up && e->kind == RSM_ENTRY_DECIDE_FAILOVER)
        poll_group(ev, g);
    out = calloc(RSM_SENTINEL_MAX_EVENTS, sizeof *out);
    if (out == NULL)
        return;
    n = rsm_sentinel_entry_events(e, g, out, RSM_SENTINEL_MAX_EVENTS);
    for (size_t i = 0; i < n && ev->caught_up; i++)
        emit(ev, out[i].name, out[i].payload);
    free(out);
    t = g != NULL ? track_get(ev, g->name) : NULL;
    if (t != NULL)
        follow_masters(ev, t, g, ev->caught_up);
}

void rsm_events_node_event(struct rsm_events *ev, enum rsm_node_event e,
                           const struct rsm_entry *entry, int apply_status)
{
    switch (e) {
    case RSM_NODE_BECAME_LEADER:
        ev->acting_since = now_ms(ev);
        break;
    case RSM_NODE_APPLIED:
        if (entry != NULL && apply_status == 0)
            on_applied(ev, entry);
        break;
    default:
        break;
    }
}

/* The instance an action event is about: the first word of detail after
 * the group name that is an address ("<group> <addr> ..." or "<group> old
 * master <addr> ..." as the planner writes them). */
static bool detail_instance(const char *detail, struct rsm_addr *out)
{
    char buf[RSM_PLAN_DETAIL_MAX], *save = NULL, *w;
    bool first = true;

    snprintf(buf, sizeof buf, "%s", detail);
    for (w = strtok_r(buf, " ", &save); w != NULL;
         w = strtok_r(NULL, " ", &save)) {
        if (!first && rsm_addr_parse(w, out, NULL, 0) == 0)
            return true;
        first = false;
    }
    return false;
}

/* Was the same event about the same instance published less than
 * REPEAT_MS ago? Records it otherwise. */
static bool repeated(struct rsm_events *ev, struct track *t, const char *name,
                     const struct rsm_addr *a)
{
    int64_t now = now_ms(ev);
    struct recent *r;

    for (unsigned i = 0; i < N_RECENT; i++) {
        r = &t->recent[i];
        if (r->name != NULL && strcmp(r->name, name) == 0 &&
            rsm_addr_equal(&r->addr, a) && now - r->at < REPEAT_MS)
            return true;
    }
    r = &t->recent[t->next_recent++ % N_RECENT];
    r->name = name;
    r->addr = *a;
    r->at = now;
    return false;
}

void rsm_events_monitor_event(struct rsm_events *ev, const char *group,
                              const char *name, const char *detail)
{
    static const char *const actions[] = {
        "+convert-to-slave", "+slave-reconf-sent", "+fix-slave-config"};
    const struct rsm_group *g = rsm_fsm_group(fsm_of(ev), group);
    const char *chan = NULL;
    struct rsm_addr a, m;
    struct track *t;
    char p[RSM_SENTINEL_PAYLOAD_MAX];

    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        if (strcmp(name, actions[i]) == 0)
            chan = actions[i];
    }
    if (chan == NULL || g == NULL || !detail_instance(detail, &a))
        return;
    t = track_get(ev, group);
    if (t == NULL || repeated(ev, t, chan, &a))
        return;
    if (!rsm_sentinel_master_addr(g, &m))
        memset(&m, 0, sizeof m);
    rsm_sentinel_payload_slave(p, sizeof p, group, &a, &m);
    emit(ev, chan, p);
}

/* ---------------------------------------------------------------------
 * Lifecycle
 * --------------------------------------------------------------------- */

int rsm_events_start(uv_loop_t *loop, const struct rsm_events_node *node,
                     struct rsm_pubsub *ps, struct rsm_events **out)
{
    struct rsm_events *ev = calloc(1, sizeof *ev);

    if (ev == NULL)
        return RSM_ENOMEM;
    ev->loop = loop;
    ev->node = *node;
    ev->ps = ps;
    ev->acting_since = now_ms(ev);
    ev->lv = malloc(sizeof *ev->lv); /* NULL: nothing relayed, either way */
    uv_timer_init(loop, &ev->timer);
    uv_timer_init(loop, &ev->flush);
    ev->timer.data = ev;
    ev->flush.data = ev;
    uv_timer_start(&ev->timer, on_poll, until_next_poll(ev), 0);
    *out = ev;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct mon_name *)a)->name,
                  ((const struct mon_name *)b)->name);
}

void rsm_events_set_monitor(struct rsm_events *ev, struct rsm_monitor *m)
{
    const struct rsm_monitor_config *c;

    free(ev->mon_names);
    ev->mon_names = NULL;
    ev->n_mon = 0;
    ev->mon = m;
    ev->mon_since = now_ms(ev);
    if (m == NULL)
        return;
    /* the names once: looking a group up must not compute every group's
     * observations (the API does it for each group on each poll) */
    c = rsm_monitor_get_config(m);
    ev->mon_names =
        calloc(c->n_groups ? c->n_groups : 1, sizeof *ev->mon_names);
    if (ev->mon_names == NULL) {
        ev->mon = NULL; /* no observations rather than a wrong lookup */
        return;
    }
    for (unsigned i = 0; i < c->n_groups; i++) {
        memcpy(ev->mon_names[i].name, c->groups[i].name, RSM_GROUP_NAME_MAX);
        ev->mon_names[i].index = i;
    }
    qsort(ev->mon_names, c->n_groups, sizeof *ev->mon_names, by_name);
    ev->n_mon = c->n_groups;
}

static void on_timer_closed(uv_handle_t *h)
{
    struct rsm_events *ev = h->data;

    if (--ev->closing > 0)
        return;
    while (ev->head != NULL) { /* not published: nobody listens now */
        struct pending *p = ev->head;
        ev->head = p->next;
        free(p);
    }
    if (ev->stop_cb != NULL)
        ev->stop_cb(ev->stop_arg);
    for (size_t i = 0; i < ev->n_tracks; i++)
        free(ev->tracks[i].relay);
    free(ev->lv);
    free(ev->mon_names);
    free(ev->tracks);
    free(ev);
}

void rsm_events_stop(struct rsm_events *ev, rsm_events_stop_cb cb, void *arg)
{
    ev->stop_cb = cb;
    ev->stop_arg = arg;
    ev->mon = NULL;
    ev->closing = 2;
    uv_close((uv_handle_t *)&ev->timer, on_timer_closed);
    uv_close((uv_handle_t *)&ev->flush, on_timer_closed);
}
