/* events_int.h - what the pieces of the events module share (private to
 * src/api; the interface is events.h).
 *
 *   events.c        publishing (queued, from a 0 ms timer), the node's and
 *                   the monitor's events, lifecycle
 *   events_track.c  per group, what was last published (tracks)
 *   events_view.c   the Sentinel view of a group, and the knobs
 *   events_poll.c   polling the detector: +sdown/-sdown, +odown/-odown
 *   events_relay.c  the leader's view relayed to the followers
 *
 * Ownership: struct rsm_events and its tracks belong to the module
 * (rsm_events_start / rsm_events_stop); names private to it carry the
 * events__ prefix. */
#ifndef RSM_EVENTS_INT_H
#define RSM_EVENTS_INT_H

#include "events.h"
#include "rsm/leaderview.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define POLL_MS      100
#define IDLE_POLL_MS 1000 /* a group nothing happened to: polled anyway */
#define REPEAT_MS    1000 /* same action event, same instance: dropped */
#define PUSH_MS      1000 /* the leader's view is pushed at least this often */
#define N_RECENT     8

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
    bool relay_new; /* a relay since the latest poll */
    /* What the latest poll of the group saw (events__poll_changed). */
    bool polled;
    uint64_t polled_changes; /* rsm_monitor_group_changes() */
    uint64_t polled_applied; /* the node's applied index */
    bool polled_caught_up;
    int64_t polled_ms;
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
    int64_t mon_since;    /* when the monitor was attached */
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

static inline int64_t events__now_ms(const struct rsm_events *ev)
{
    return (int64_t)uv_now(ev->loop);
}

static inline const struct rsm_fsm *events__fsm_of(const struct rsm_events *ev)
{
    return ev->node.fsm(ev->node.node);
}

/* ---- events.c ----------------------------------------------------------- */

/* Queue an event; it is published from the flush timer (never from inside
 * a raft callback). Dropped if out of memory. */
void events__emit(struct rsm_events *ev, const char *channel,
                  const char *payload);

/* ---- events_track.c ----------------------------------------------------- */

/* The track of group `name`, NULL if there is none. */
struct track *events__track_find(struct rsm_events *ev, const char *name);

/* The group's track, created empty if new; NULL if out of memory. */
struct track *events__track_get(struct rsm_events *ev, const char *name);

/* Forget the track of group `name` (SENTINEL REMOVE: a group added
 * again later under the name starts afresh, no +switch-master). */
void events__track_drop(struct rsm_events *ev, const char *name);

/* The instance record of t for address a, NULL if none. */
struct inst_track *events__inst_find(struct track *t, const struct rsm_addr *a);

/* The committed master and the master given to clients: +switch-master
 * when the latter moves (published only if `loud`). */
void events__follow_masters(struct rsm_events *ev, struct track *t,
                            const struct rsm_group *g, bool loud);

/* ---- events_view.c ------------------------------------------------------ */

/* This agent as rsm_leaderview_accept / _fresh see it. */
void events__self_of(const struct rsm_events *ev,
                     const struct rsm_node_status *st,
                     struct rsm_leaderview_self *self);

/* The view of g with gs (the monitor's status of the group, if *has_gs). */
void events__build_view(struct rsm_events *ev, const struct rsm_group *g,
                        struct rsm_sentinel_view *v,
                        struct rsm_monitor_group_status *gs, bool *has_gs);

/* ---- events_poll.c ------------------------------------------------------ */

/* Follow g's masters and publish its detector transitions now. */
void events__poll_group(struct rsm_events *ev, const struct rsm_group *g);

/* events__poll_group(), unless nothing the poll reads has changed since
 * the group's latest poll (its monitor changes, the applied index, a
 * relay, catching up) and that poll is less than IDLE_POLL_MS old. */
void events__poll_changed(struct rsm_events *ev, const struct rsm_group *g,
                          uint64_t applied);

/* Has the node applied its log up to what was committed when a leader was
 * first known (entries up to there are history, not news)? Sets
 * ev->caught_up once. */
void events__check_caught_up(struct rsm_events *ev);

/* Milliseconds until the next poll (on the monitor's anchor). */
uint64_t events__until_next_poll(const struct rsm_events *ev);

/* The poll timer's callback. */
void events__on_poll(uv_timer_t *timer);

#endif /* RSM_EVENTS_INT_H */
