/* http_api.h - the agent's HTTP port (--http-bind, default 0.0.0.0:26380):
 * probes for Kubernetes and metrics for Prometheus, on an rsm_http server.
 *
 *   GET /healthz   200 "ok": the event loop is turning (the answer itself
 *                  proves it; the body also gives the loop's lag)
 *   GET /readyz    200 when this agent is in a Raft group with a known
 *                  leader (it is the leader, or a follower that hears from
 *                  one); 503 otherwise (candidate, cut off from its peers,
 *                  shutting down), with the reason in the body
 *   GET /metrics   the Prometheus text format 0.0.4 (see
 *                  rsm_http_api_render_metrics for every family)
 *   GET /          the list above
 * Anything else is 404; bad requests are handled by rsm_http (400 and
 * close). HEAD works on every path.
 *
 * The port only reads: the node's status and committed state, the
 * monitor's observations and probe latencies, and the client API's client
 * count. Nothing here changes anything.
 *
 * Ownership: rsm_http_api_start() allocates; rsm_http_api_stop() stops the
 * server and a timer, then calls its callback and frees the struct. The
 * monitor and API set with the setters must outlive their use: set them
 * back to NULL before stopping them. */
#ifndef RSM_HTTP_API_H
#define RSM_HTTP_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "rsm/addr.h"
#include "rsm/api.h"
#include "rsm/fsm.h"
#include "rsm/http.h"
#include "rsm/monitor.h"
#include "rsm/node.h"

#define RSM_HTTP_API_DEFAULT_PORT 26380

struct rsm_http_api;

struct rsm_http_api_config {
    struct rsm_addr bind;          /* port 0: any */
    struct rsm_http_limits limits; /* rsm_http_limits_default() if unset */
    bool limits_set;
};

/* Listen and serve. Returns 0, or the error of rsm_http_server_start()
 * (RSM_ERESOLVE, RSM_EIO, RSM_ENOMEM) with errmsg naming the address;
 * nothing is left on the loop on error. */
int rsm_http_api_start(uv_loop_t *loop, const struct rsm_http_api_config *cfg,
                       struct rsm_node *node, struct rsm_http_api **out,
                       char *errmsg, size_t errlen);

/* Metrics from the monitor (NULL: none). */
void rsm_http_api_set_monitor(struct rsm_http_api *h, struct rsm_monitor *m);

/* The client API, for its client count (NULL: not reported). */
void rsm_http_api_set_api(struct rsm_http_api *h, struct rsm_api *a);

/* The port actually listened on. */
uint16_t rsm_http_api_port(const struct rsm_http_api *h);

typedef void (*rsm_http_api_stop_cb)(void *arg);

/* Close the server (and every client) and the timer, then call cb (may be
 * NULL) and free h. Call once, before stopping the node. */
void rsm_http_api_stop(struct rsm_http_api *h, rsm_http_api_stop_cb cb,
                       void *arg);

/* ---------------------------------------------------------------------
 * Pure parts (no sockets; used by the handler and the tests)
 * --------------------------------------------------------------------- */

/* Readiness from the node's status: true when the state is leader or
 * follower and a leader is known. why (may be NULL) gets one line either
 * way ("leader 2 term 7", "no leader known (candidate, term 7)"). */
bool rsm_http_api_ready(const struct rsm_node_status *st, char *why,
                        size_t len);

/* What the monitor knows of one configured group. */
struct rsm_metrics_monitor_group {
    struct rsm_monitor_group_status status;
    struct rsm_monitor_latency latency;
};

/* Everything /metrics shows. Pointers may be NULL where noted. */
struct rsm_metrics_input {
    const char *version;
    double uptime_s;
    double loop_lag_s;                /* latest lag of the 1 s timer */
    const struct rsm_node_status *st; /* required */
    const struct rsm_fsm *fsm;        /* NULL: no groups */
    const struct rsm_metrics_monitor_group *mon; /* n_mon of them */
    size_t n_mon;
    bool have_api;
    unsigned api_clients;
    unsigned http_clients;
    /* the Raft transport's counters (transport.h); NULL: not shown */
    const struct rsm_transport_stats *transport;
};

/* The Prometheus text exposition (format 0.0.4), every family with HELP
 * and TYPE, families in this order; label values escaped (\\, \", \n):
 *   rsm_build_info{version}                  gauge 1
 *   rsm_agent_id                             gauge
 *   rsm_uptime_seconds, rsm_loop_lag_seconds gauge
 *   rsm_raft_state{state}                    gauge, 1 for the current one
 *                                            of leader, follower,
 *                                            candidate, unavailable
 *   rsm_raft_has_leader, rsm_raft_leader_id  gauge (0: none)
 *   rsm_raft_term                            gauge
 *   rsm_raft_commit_index, rsm_raft_applied_index, rsm_raft_last_index
 *                                            gauge
 *   rsm_raft_leader_changes_total            counter
 *   rsm_raft_members                         gauge
 *   with transport (the Raft port, transport.h):
 *   rsm_raft_auth_enabled                    gauge: 1 with a cluster
 *                                            secret (the handshake)
 *   rsm_raft_auth_refused_total              counter: incoming Raft
 *                                            connections that failed the
 *                                            handshake (closed, nothing
 *                                            reached Raft)
 *   rsm_raft_auth_failed_total               counter: outgoing ones
 *   rsm_raft_connect_errors_total            counter: outgoing connects
 *                                            that failed or timed out
 *   rsm_raft_resolve_errors_total            counter: peer names that did
 *                                            not resolve
 *   rsm_fsm_entries_total{result}            counter: applied, rejected
 *   per committed group (from the FSM, the same on every agent):
 *   rsm_group_master{group,master}           gauge 1 for the committed
 *                                            master (no sample if none)
 *   rsm_group_epoch{group}                   gauge
 *   rsm_group_paused{group}                  gauge
 *   rsm_group_failover_in_flight{group}      gauge
 *   rsm_group_failovers_total{group,result}  counter: completed,
 *                                            completed_with_stragglers,
 *                                            aborted
 *   rsm_group_last_failover_duration_seconds{group}
 *                                            gauge, decided to ended, of
 *                                            the latest in the history
 *   rsm_group_last_failover_end_timestamp_seconds{group}   gauge
 *   per monitored group (what this agent observes):
 *   rsm_monitor_acting                       gauge: this agent is the
 *                                            acting leader
 *   rsm_group_instances{group,state}         gauge: instances per detector
 *                                            state (unknown, up, suspect,
 *                                            down, loading, restarted); the
 *                                            leader probes every instance,
 *                                            a follower only the committed
 *                                            master, so it counts that one
 *   rsm_instance_up{group,instance}          gauge: 1 answering, 0 down or
 *                                            suspect (instances this agent
 *                                            probes; none while unknown)
 *   rsm_group_master_status{group,status}    gauge, leader only: 1 for the
 *                                            verdict (ok,
 *                                            unreachable_from_agent, down,
 *                                            failed_restart)
 *   rsm_probe_duration_seconds{group}        histogram of answered probes
 *   rsm_probe_failures_total{group}          counter
 *   rsm_api_clients                          gauge (if have_api)
 *   rsm_http_clients                         gauge
 * Returns a malloc'd string (the caller frees), NULL if out of memory. */
char *rsm_http_api_render_metrics(const struct rsm_metrics_input *in);

#endif /* RSM_HTTP_API_H */
