/* monitor_status.h - what the monitor sees of each Redis instance, as JSON
 * for RSM STATUS (and so for `rsmctl status`).
 *
 * Only the acting leader probes every instance with INFO; a follower's
 * records hold no INFO (it only PINGs masters), so its instances show a
 * state and nulls. The JSON of one group:
 *
 *   {"name", "acting": bool,
 *    "verdict": {"master", "status", "reason", "no_reply_ms", "down_ms",
 *                "votes", "n_agents", "quorum"} | null (not acting);
 *               "master" is the address the verdict is about (null
 *               before the first one),
 *    "last_reason": "latest plan reason" ("" if none),
 *    "instances": [{"addr", "state", "role", "master", "link", "offset",
 *                   "lag_bytes", "priority", "last_io_s", "info_age_ms",
 *                   "no_reply_ms", "restarted_empty"}]}
 *
 * Per instance, from its latest parsed INFO (which may be old: see
 * info_age_ms; null fields when there is none):
 *   state       rsm_health_state_str() now;
 *   role        "master", "replica" or "unknown";
 *   master      "host:port" a replica follows, null for a master;
 *   link        "up" / "down" for a replica, null for a master;
 *   offset      rsm_info_offset(), null if unknown;
 *   lag_bytes   for a replica: its master's master_repl_offset minus its
 *               own slave_repl_offset (0 if ahead), when its master is an
 *               instance of the group whose INFO shows role master with an
 *               offset; otherwise null. Both offsets are each instance's
 *               latest, taken up to a probe interval apart, so a replica
 *               under write load shows a small lag even when in sync;
 *   priority    replica priority, null for a master or if not reported;
 *   last_io_s   master_last_io_seconds_ago of a replica, null if unknown.
 *
 * Ownership: the json_t results are new references the caller releases
 * with json_decref(); NULL only when out of memory. */
#ifndef RSM_MONITOR_STATUS_H
#define RSM_MONITOR_STATUS_H

#include <jansson.h>

#include "rsm/monitor.h"

/* One group's status as above. Pure: only reads gs (and what its
 * observations point to). */
json_t *
rsm_monitor_group_status_json(const struct rsm_monitor_group_status *gs);

/* {"groups": [one object per configured group, in --monitor order],
 *  "peers": [{"id", "api", "identity", "problem", "misconfigured"}]}: the
 * other agents as this one asks them for views (the leader; a follower's
 * list is empty or stale). */
json_t *rsm_monitor_status_json(const struct rsm_monitor *m);

/* Add the monitor's object as "monitor" to the RSM STATUS JSON text
 * status_json (a JSON object, malloc'd; ownership passes to this
 * function). Returns the new text (malloc'd, the caller frees), or
 * status_json itself unchanged if it cannot be parsed or memory runs out
 * (status output must not be lost over the monitor's part). */
char *rsm_monitor_status_attach(char *status_json, const struct rsm_monitor *m);

#endif /* RSM_MONITOR_STATUS_H */
