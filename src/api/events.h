/* events.h - what an agent publishes to subscribers, and how it sees each
 * group, Sentinel-style.
 *
 * Every agent, leader or follower, publishes Sentinel's events on the
 * pub/sub registry of its client port (pubsub.h) as things change:
 *   - from the entries it applies (the committed state, the same on every
 *     agent): see rsm_sentinel_entry_events() in sentinel.h;
 *   - +switch-master "<name> <old-ip> <old-port> <new-ip> <new-port>"
 *     whenever the master given to clients (rsm_sentinel_master_addr:
 *     the promoted replica as soon as its promotion is committed) changes
 *     from one address to another;
 *   - +sdown / -sdown from its own detector, for the instances it watches
 *     (the acting leader: all of them; a follower: the committed master),
 *     once it has watched them for down_after_ms (a record that was never
 *     probed means nothing);
 *   - +odown "master <name> <ip> <port> #quorum <votes>/<quorum>" / -odown
 *     from the acting leader's verdict on the committed master;
 *   - +convert-to-slave, +slave-reconf-sent, +fix-slave-config from the
 *     acting leader's actions on Redis, and +slave when it discovers a
 *     replica of a group added by SENTINEL MONITOR (the monitor's events,
 *     with the instance as the slave payload); a repeat of the same event
 *     and instance within a second is dropped;
 *   - -monitor "master <name> <ip> <port>" when a SENTINEL REMOVE
 *     applies, naming the master the group was last given out with.
 * Each publication is also logged (event "publish", level info).
 * Detector states are polled (a timer, every 100 ms), not pushed, and once
 * more when a DecideFailover applies, so that +sdown/+odown precede the
 * +try-failover they caused. Events are queued and published from a 0 ms
 * timer, in order: never from inside a raft callback, because a push may
 * let its client's next request run (and propose).
 *
 * It also builds the Sentinel view of a group (rsm_events_view) from the
 * committed state and the monitor's observations, with the same rule for
 * s_down as the events, so that SENTINEL MASTERS and +sdown agree. A
 * follower lays the acting leader's view over its own while it has a
 * fresh one (rsm_events_leaderview_take): its replies, +sdown/-sdown and
 * +odown/-odown then follow the leader's. The acting leader exports its
 * views for that (rsm_events_leaderview_push).
 *
 * Ownership: rsm_events_start() allocates; rsm_events_stop() closes the
 * timer and frees it from the loop. The pub/sub registry, the node and the
 * monitor are borrowed: the registry must outlive it; the monitor is
 * detached with rsm_events_set_monitor(ev, NULL) before it stops. */
#ifndef RSM_EVENTS_H
#define RSM_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "rsm/entry.h"
#include "rsm/fsm.h"
#include "rsm/monitor.h"
#include "rsm/node.h"
#include "rsm/pubsub.h"
#include "sentinel.h"

struct rsm_events;

/* How the events module reads the node (node.h contracts). */
struct rsm_events_node {
    struct rsm_node *node;
    const struct rsm_fsm *(*fsm)(const struct rsm_node *n);
    void (*get_status)(const struct rsm_node *n, struct rsm_node_status *out);
};

/* 0 or RSM_ENOMEM. ps: where to publish. */
int rsm_events_start(uv_loop_t *loop, const struct rsm_events_node *node,
                     struct rsm_pubsub *ps, struct rsm_events **out);

/* The monitor whose observations and actions are used (NULL: none; then
 * no instance is watched, knobs are the defaults). */
void rsm_events_set_monitor(struct rsm_events *ev, struct rsm_monitor *m);

/* Forward the node's events (entries applied, leadership). */
void rsm_events_node_event(struct rsm_events *ev, enum rsm_node_event e,
                           const struct rsm_entry *entry, int apply_status);

/* Forward the monitor's events (a rsm_monitor_event_cb). */
void rsm_events_monitor_event(struct rsm_events *ev, const char *group,
                              const char *name, const char *detail);

/* Fill v for committed group g as this agent sees it. */
void rsm_events_view(struct rsm_events *ev, const struct rsm_group *g,
                     struct rsm_sentinel_view *v);

/* The knobs shown for every group (from the monitor's configuration, or
 * the defaults), quorum resolved against the current members. */
void rsm_events_knobs(const struct rsm_events *ev,
                      struct rsm_sentinel_knobs *out);

/* Publish one event now (also logged), bypassing the queue: not from
 * inside a raft callback. Returns the receivers. */
size_t rsm_events_publish(struct rsm_events *ev, const char *channel,
                          const char *payload);

/* The leader's view, relayed (leaderview.h).
 *
 * The acting leader: the payloads of RSM LEADERVIEW to send to every
 * follower now, or NULL when no push is due. A push is due when the shape
 * of a group's view (rsm_leaderview_shape, computed at each poll) changed
 * since the last push, or PUSH_MS (1 s) after it. Each payload holds whole
 * groups in at most max_bytes (a single group larger than that alone).
 * Returns a NULL-terminated array of NUL-terminated payloads; free it with
 * rsm_events_leaderview_free(). NULL also when out of memory. */
char **rsm_events_leaderview_push(struct rsm_events *ev, size_t max_bytes);
void rsm_events_leaderview_free(char **payloads);

/* A follower: take the payload text (len bytes) that RSM LEADERVIEW
 * carried. 0 when taken: from then on rsm_events_view() lays it over this
 * agent's own view of each group it holds, while it is fresh
 * (rsm_leaderview_fresh); groups this agent has not committed are
 * skipped. RSM_EREJECTED (not from this agent's leader in its term, see
 * rsm_leaderview_accept), RSM_EPARSE / RSM_ERANGE / RSM_ETRUNC (nothing
 * of it kept) or RSM_ENOMEM, with errmsg. */
int rsm_events_leaderview_take(struct rsm_events *ev, const char *text,
                               size_t len, char *errmsg, size_t errlen);

typedef void (*rsm_events_stop_cb)(void *arg);

/* Stop the timer and free ev from the loop, then call cb (may be NULL). */
void rsm_events_stop(struct rsm_events *ev, rsm_events_stop_cb cb, void *arg);

#endif /* RSM_EVENTS_H */
