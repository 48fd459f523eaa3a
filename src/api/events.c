/* events.c - Sentinel's events from the committed state, the detector and
 * the leader's actions (see events.h): publishing, the node's and the
 * monitor's events, and the module's lifecycle.
 *
 * Per group, a track remembers what was last published (events_track.c):
 * the master given to clients (for +switch-master), the committed master
 * and since when (when a follower started watching it), the o_down state
 * and each instance's s_down state. A transition is published only
 * between two "settled" states: an instance that just started to be
 * watched is taken silently, and one that stops being watched is
 * forgotten silently.
 *
 * While the node replays its log (after a restart, applied index behind
 * the commit index) nothing derived from entries is published: the
 * tracks follow silently, so that subscribers never get a burst of old
 * failovers. */
#include "events_int.h"
#include "rsm/err.h"
#include "rsm/log.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* =====================================================================
 * Publishing
 * ===================================================================== */

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
static void events__on_flush(uv_timer_t *timer)
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

void events__emit(struct rsm_events *ev, const char *channel,
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
        uv_timer_start(&ev->flush, events__on_flush, 0, 0);
}

/* =====================================================================
 * Node and monitor events
 * ===================================================================== */

/* SENTINEL REMOVE: -monitor with the master the group was given out
 * with (its state is gone from the FSM), and its track forgotten. */
static void events__on_removed(struct rsm_events *ev, const struct rsm_entry *e)
{
    struct track *t = events__track_find(ev, e->group);
    struct rsm_addr none;
    char p[RSM_SENTINEL_PAYLOAD_MAX];

    memset(&none, 0, sizeof none);
    rsm_sentinel_payload_master(
        p, sizeof p, e->group, t != NULL && t->has_master ? &t->master : &none);
    if (ev->caught_up)
        events__emit(ev, "-monitor", p);
    events__track_drop(ev, e->group);
}

static void events__on_applied(struct rsm_events *ev, const struct rsm_entry *e)
{
    struct rsm_sentinel_event *out;
    const struct rsm_group *g = rsm_fsm_group(events__fsm_of(ev), e->group);
    struct track *t;
    size_t n;

    events__check_caught_up(ev);
    if (e->kind == RSM_ENTRY_REMOVE_GROUP) {
        events__on_removed(ev, e);
        return;
    }
    /* what the detector says first: +sdown/+odown come before the
     * +try-failover they caused, even within one poll interval */
    if (g != NULL && ev->caught_up && e->kind == RSM_ENTRY_DECIDE_FAILOVER)
        events__poll_group(ev, g);
    out = calloc(RSM_SENTINEL_MAX_EVENTS, sizeof *out);
    if (out == NULL)
        return;
    n = rsm_sentinel_entry_events(e, g, out, RSM_SENTINEL_MAX_EVENTS);
    for (size_t i = 0; i < n && ev->caught_up; i++)
        events__emit(ev, out[i].name, out[i].payload);
    free(out);
    t = g != NULL ? events__track_get(ev, g->name) : NULL;
    if (t != NULL)
        events__follow_masters(ev, t, g, ev->caught_up);
}

void rsm_events_node_event(struct rsm_events *ev, enum rsm_node_event e,
                           const struct rsm_entry *entry, int apply_status)
{
    switch (e) {
    case RSM_NODE_BECAME_LEADER:
        ev->acting_since = events__now_ms(ev);
        break;
    case RSM_NODE_APPLIED:
        if (entry != NULL && apply_status == 0)
            events__on_applied(ev, entry);
        break;
    default:
        break;
    }
}

/* The instance an action event is about: the first word of detail after
 * the group name that is an address ("<group> <addr> ..." or "<group> old
 * master <addr> ..." as the planner writes them). */
static bool events__detail_instance(const char *detail, struct rsm_addr *out)
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
static bool events__repeated(struct rsm_events *ev, struct track *t,
                             const char *name, const struct rsm_addr *a)
{
    int64_t now = events__now_ms(ev);
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
        "+convert-to-slave", "+slave-reconf-sent", "+fix-slave-config",
        "+slave"}; /* +slave: a replica discovered (monitor.h) */
    const struct rsm_group *g = rsm_fsm_group(events__fsm_of(ev), group);
    const char *chan = NULL;
    struct rsm_addr a, m;
    struct track *t;
    char p[RSM_SENTINEL_PAYLOAD_MAX];

    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        if (strcmp(name, actions[i]) == 0)
            chan = actions[i];
    }
    if (chan == NULL || g == NULL || !events__detail_instance(detail, &a))
        return;
    t = events__track_get(ev, group);
    if (t == NULL || events__repeated(ev, t, chan, &a))
        return;
    if (!rsm_sentinel_master_addr(g, &m))
        memset(&m, 0, sizeof m);
    rsm_sentinel_payload_slave(p, sizeof p, group, &a, &m);
    events__emit(ev, chan, p);
}

/* =====================================================================
 * Lifecycle
 * ===================================================================== */

int rsm_events_start(uv_loop_t *loop, const struct rsm_events_node *node,
                     struct rsm_pubsub *ps, struct rsm_events **out)
{
    struct rsm_events *ev = calloc(1, sizeof *ev);

    if (ev == NULL)
        return RSM_ENOMEM;
    ev->loop = loop;
    ev->node = *node;
    ev->ps = ps;
    ev->acting_since = events__now_ms(ev);
    ev->lv = malloc(sizeof *ev->lv); /* NULL: nothing relayed, either way */
    uv_timer_init(loop, &ev->timer);
    uv_timer_init(loop, &ev->flush);
    ev->timer.data = ev;
    ev->flush.data = ev;
    uv_timer_start(&ev->timer, events__on_poll, events__until_next_poll(ev), 0);
    *out = ev;
    return 0;
}

void rsm_events_set_monitor(struct rsm_events *ev, struct rsm_monitor *m)
{
    ev->mon = m;
    ev->mon_since = events__now_ms(ev);
}

static void events__on_timer_closed(uv_handle_t *h)
{
    struct rsm_events *ev = h->data;

    assert(ev->closing > 0); /* one call per timer closed */
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
    free(ev->tracks);
    free(ev);
}

void rsm_events_stop(struct rsm_events *ev, rsm_events_stop_cb cb, void *arg)
{
    assert(ev->closing == 0); /* stopped once */
    ev->stop_cb = cb;
    ev->stop_arg = arg;
    ev->mon = NULL;
    ev->closing = 2;
    uv_close((uv_handle_t *)&ev->timer, events__on_timer_closed);
    uv_close((uv_handle_t *)&ev->flush, events__on_timer_closed);
}
