/* http_api.c - /healthz, /readyz and /metrics of the agent (see
 * http_api.h). The rendering is pure; the handler gathers its input from
 * the node, the monitor and the API at each request. */
#include "rsm/http_api.h"
#include "rsm/err.h"
#include "rsm/log.h"
#include "rsm/textbuf.h"
#include "rsm/transport.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAG_TIMER_MS 1000

struct rsm_http_api {
    uv_loop_t *loop;
    struct rsm_http_server *srv;
    struct rsm_node *node;
    struct rsm_monitor *monitor;
    struct rsm_api *api;
    uv_timer_t lag_timer;
    uint64_t lag_expected_ns; /* when the timer should fire next */
    double lag_s;             /* latest lag measured */
    uint64_t started_ns;
    unsigned open; /* server + timer still open */
    rsm_http_api_stop_cb stop_cb;
    void *stop_arg;
};

/* ------------------------------------------------------------------------
 * Rendering helpers
 * ---------------------------------------------------------------------- */

/* A label value with \, " and newline escaped (Prometheus text format). */
static const char *http_api__esc(const char *v, char *buf, size_t len)
{
    size_t j = 0;

    for (; *v != '\0' && j + 3 < len; v++) {
        if (*v == '\\' || *v == '"') {
            buf[j++] = '\\';
            buf[j++] = *v;
        } else if (*v == '\n') {
            buf[j++] = '\\';
            buf[j++] = 'n';
        } else {
            buf[j++] = *v;
        }
    }
    buf[j] = '\0';
    return buf;
}

static void http_api__family(struct rsm_textbuf *t, const char *name,
                             const char *type, const char *help)
{
    rsm_textbuf_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                       type);
}

/* A family of one unlabelled integer sample. */
static void http_api__scalar(struct rsm_textbuf *t, const char *name,
                             const char *type, const char *help,
                             unsigned long long v)
{
    http_api__family(t, name, type, help);
    rsm_textbuf_printf(t, "%s %llu\n", name, v);
}

/* ------------------------------------------------------------------------
 * Readiness and metrics (pure)
 * ---------------------------------------------------------------------- */

bool rsm_http_api_ready(const struct rsm_node_status *st, char *why, size_t len)
{
    bool member =
        strcmp(st->state, "leader") == 0 || strcmp(st->state, "follower") == 0;
    bool ready = member && st->has_leader;

    if (why == NULL)
        return ready;
    if (ready)
        snprintf(why, len, "%s, leader %llu, term %llu", st->state,
                 (unsigned long long)st->leader.id,
                 (unsigned long long)st->term);
    else
        snprintf(why, len, "no leader known (%s, term %llu)", st->state,
                 (unsigned long long)st->term);
    return ready;
}

static void http_api__agent_metrics(struct rsm_textbuf *t,
                                    const struct rsm_metrics_input *in)
{
    static const char *const states[] = {"leader", "follower", "candidate",
                                         "unavailable"};
    const struct rsm_node_status *st = in->st;
    char v[128];

    http_api__family(t, "rsm_build_info", "gauge",
                     "Version of this rsm-agent.");
    rsm_textbuf_printf(
        t, "rsm_build_info{version=\"%s\"} 1\n",
        http_api__esc(in->version ? in->version : "", v, sizeof v));
    http_api__scalar(t, "rsm_agent_id", "gauge", "Raft id of this agent.",
                     st->id);
    http_api__family(t, "rsm_uptime_seconds", "gauge",
                     "Seconds since the agent started.");
    rsm_textbuf_printf(t, "rsm_uptime_seconds %.3f\n", in->uptime_s);
    http_api__family(t, "rsm_loop_lag_seconds", "gauge",
                     "How late the event loop ran its latest 1 s timer.");
    rsm_textbuf_printf(t, "rsm_loop_lag_seconds %.6f\n", in->loop_lag_s);
    http_api__family(t, "rsm_raft_state", "gauge",
                     "Raft state of this agent: 1 for the current one.");
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
        rsm_textbuf_printf(t, "rsm_raft_state{state=\"%s\"} %d\n", states[i],
                           strcmp(st->state, states[i]) == 0);
    http_api__scalar(t, "rsm_raft_has_leader", "gauge",
                     "1 when this agent knows a Raft leader.", st->has_leader);
    http_api__scalar(t, "rsm_raft_leader_id", "gauge",
                     "Id of the Raft leader this agent knows, 0 if none.",
                     st->has_leader ? (unsigned long long)st->leader.id : 0ULL);
    http_api__scalar(t, "rsm_raft_term", "gauge", "Current Raft term.",
                     st->term);
    http_api__scalar(t, "rsm_raft_commit_index", "gauge", "Raft commit index.",
                     st->commit_index);
    http_api__scalar(t, "rsm_raft_applied_index", "gauge",
                     "Index of the last entry applied to the state machine.",
                     st->applied_index);
    http_api__scalar(t, "rsm_raft_last_index", "gauge",
                     "Index of the last log entry.", st->last_index);
    http_api__scalar(t, "rsm_raft_leader_changes_total", "counter",
                     "Leader changes seen by this agent since it started.",
                     st->leader_changes);
    http_api__scalar(t, "rsm_raft_members", "gauge",
                     "Members of the Raft configuration.", st->n_members);
}

/* The Raft port: the handshake and connection failures. */
static void http_api__transport_metrics(struct rsm_textbuf *t,
                                        const struct rsm_transport_stats *ts)
{
    static const struct {
        const char *name, *help;
        size_t off;
    } counters[] = {
        {"rsm_raft_auth_refused_total",
         "Incoming Raft connections that failed the handshake.",
         offsetof(struct rsm_transport_stats, auth_refused)},
        {"rsm_raft_auth_failed_total",
         "Outgoing Raft connections that failed the handshake.",
         offsetof(struct rsm_transport_stats, auth_failed)},
        {"rsm_raft_connect_errors_total",
         "Outgoing Raft connects that failed or timed out.",
         offsetof(struct rsm_transport_stats, connect_errors)},
        {"rsm_raft_resolve_errors_total",
         "Raft peer host names that did not resolve.",
         offsetof(struct rsm_transport_stats, resolve_errors)},
        {"rsm_raft_tls_failed_total",
         "Raft connections whose TLS failed (another CA, an expired "
         "certificate, a plaintext peer).",
         offsetof(struct rsm_transport_stats, tls_failed)},
    };

    if (ts == NULL)
        return;
    http_api__scalar(t, "rsm_raft_auth_enabled", "gauge",
                     "1 when Raft connections need the cluster secret.",
                     ts->authenticated);
    http_api__scalar(t, "rsm_raft_tls", "gauge",
                     "1 when every Raft connection is mutual TLS "
                     "(--tls-raft).",
                     ts->tls);
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        uint64_t v;

        memcpy(&v, (const char *)ts + counters[i].off, sizeof v);
        http_api__scalar(t, counters[i].name, "counter", counters[i].help, v);
    }
}

/* The per-group families of the committed state, one family at a time
 * (the text format wants every sample of a family together). */
static void http_api__group_family(struct rsm_textbuf *t,
                                   const struct rsm_group *gr, const char *g,
                                   int which)
{
    static const char *const results[RSM_RESULT_COUNT] = {
        "completed", "completed_with_stragglers", "aborted"};
    char a[2 * RSM_ADDR_STRLEN], addr[RSM_ADDR_STRLEN];
    const struct rsm_history_item *h;

    switch (which) {
    case 0:
        if (gr->has_master)
            rsm_textbuf_printf(
                t, "rsm_group_master{group=\"%s\",master=\"%s\"} 1\n", g,
                http_api__esc(rsm_addr_format(&gr->master, addr, sizeof addr),
                              a, sizeof a));
        break;
    case 1:
        rsm_textbuf_printf(t, "rsm_group_epoch{group=\"%s\"} %llu\n", g,
                           (unsigned long long)gr->epoch);
        break;
    case 2:
        rsm_textbuf_printf(t, "rsm_group_paused{group=\"%s\"} %d\n", g,
                           gr->paused);
        break;
    case 3:
        rsm_textbuf_printf(t, "rsm_group_failover_in_flight{group=\"%s\"} %d\n",
                           g, gr->in_flight);
        break;
    case 4:
        for (int r = 0; r < RSM_RESULT_COUNT; r++)
            rsm_textbuf_printf(
                t,
                "rsm_group_failovers_total{group=\"%s\",result=\"%s\"} "
                "%llu\n",
                g, results[r], (unsigned long long)gr->ended[r]);
        break;
    case 5:
        if (gr->n_history == 0)
            break;
        h = &gr->history[gr->n_history - 1];
        rsm_textbuf_printf(
            t, "rsm_group_last_failover_duration_seconds{group=\"%s\"} %.3f\n",
            g,
            h->ended_at_ms >= h->decided_at_ms
                ? (double)(h->ended_at_ms - h->decided_at_ms) / 1e3
                : 0.0);
        break;
    case 6:
        if (gr->last_failover_end_ms > 0)
            rsm_textbuf_printf(
                t,
                "rsm_group_last_failover_end_timestamp_seconds{group=\"%s\"} "
                "%.3f\n",
                g, (double)gr->last_failover_end_ms / 1e3);
        break;
    }
}

static void http_api__fsm_metrics(struct rsm_textbuf *t,
                                  const struct rsm_fsm *fsm)
{
    static const struct {
        const char *name, *type, *help;
    } fams[] = {
        {"rsm_group_master", "gauge",
         "The committed master of each group (value 1)."},
        {"rsm_group_epoch", "gauge",
         "Failover epoch of each group (decisions taken so far)."},
        {"rsm_group_paused", "gauge",
         "1 while automatic failover of the group is paused."},
        {"rsm_group_failover_in_flight", "gauge",
         "1 while a decided failover of the group has not ended."},
        {"rsm_group_failovers_total", "counter",
         "Failovers ended, by result (replicated: the same on every agent)."},
        {"rsm_group_last_failover_duration_seconds", "gauge",
         "From decision to end of the latest failover in the history."},
        {"rsm_group_last_failover_end_timestamp_seconds", "gauge",
         "Unix time the latest failover of the group ended."},
    };
    char g[2 * RSM_GROUP_NAME_MAX];
    size_t n = fsm ? fsm->n_groups : 0;

    http_api__family(
        t, "rsm_fsm_entries_total", "counter",
        "Replicated log entries applied to the state machine, by result.");
    rsm_textbuf_printf(t, "rsm_fsm_entries_total{result=\"applied\"} %llu\n",
                       fsm ? (unsigned long long)fsm->applied : 0ULL);
    rsm_textbuf_printf(t, "rsm_fsm_entries_total{result=\"rejected\"} %llu\n",
                       fsm ? (unsigned long long)fsm->rejected : 0ULL);
    for (int f = 0; f < (int)(sizeof fams / sizeof fams[0]); f++) {
        http_api__family(t, fams[f].name, fams[f].type, fams[f].help);
        for (size_t i = 0; i < n; i++)
            http_api__group_family(
                t, &fsm->groups[i],
                http_api__esc(fsm->groups[i].name, g, sizeof g), f);
    }
}

/* Instances this agent probes: all when it acts, else the committed
 * master only (a follower never probes the others, so its records of them
 * say nothing). */
static bool http_api__probed(const struct rsm_monitor_group_status *s,
                             const struct rsm_fsm *fsm,
                             const struct rsm_observation *o)
{
    const struct rsm_group *cg;

    if (s->acting)
        return true;
    cg = fsm ? rsm_fsm_group(fsm, s->name) : NULL;
    return cg != NULL && cg->has_master &&
           rsm_addr_equal(&cg->master, &o->addr);
}

static void http_api__instance_metrics(struct rsm_textbuf *t,
                                       const struct rsm_metrics_input *in)
{
    static const enum rsm_health_state states[] = {
        RSM_HEALTH_UNKNOWN, RSM_HEALTH_UP,      RSM_HEALTH_SUSPECT,
        RSM_HEALTH_DOWN,    RSM_HEALTH_LOADING, RSM_HEALTH_RESTARTED};
    char g[2 * RSM_GROUP_NAME_MAX], a[2 * RSM_ADDR_STRLEN],
        addr[RSM_ADDR_STRLEN];

    http_api__family(
        t, "rsm_group_instances", "gauge",
        "Instances of each group by detector state, among those this "
        "agent probes.");
    for (size_t i = 0; i < in->n_mon; i++) {
        const struct rsm_monitor_group_status *s = &in->mon[i].status;
        for (size_t k = 0; k < sizeof states / sizeof states[0]; k++) {
            unsigned count = 0;
            for (unsigned j = 0; j < s->n; j++)
                count += http_api__probed(s, in->fsm, &s->obs[j]) &&
                         s->obs[j].state == states[k];
            rsm_textbuf_printf(
                t, "rsm_group_instances{group=\"%s\",state=\"%s\"} %u\n",
                http_api__esc(s->name, g, sizeof g),
                rsm_health_state_str(states[k]), count);
        }
    }
    http_api__family(t, "rsm_instance_up", "gauge",
                     "1 if the instance answers, 0 if it is suspect or down.");
    for (size_t i = 0; i < in->n_mon; i++) {
        const struct rsm_monitor_group_status *s = &in->mon[i].status;
        for (unsigned j = 0; j < s->n; j++) {
            const struct rsm_observation *o = &s->obs[j];
            if (!http_api__probed(s, in->fsm, o) ||
                o->state == RSM_HEALTH_UNKNOWN)
                continue;
            rsm_textbuf_printf(
                t, "rsm_instance_up{group=\"%s\",instance=\"%s\"} %d\n",
                http_api__esc(s->name, g, sizeof g),
                http_api__esc(rsm_addr_format(&o->addr, addr, sizeof addr), a,
                              sizeof a),
                o->state != RSM_HEALTH_DOWN && o->state != RSM_HEALTH_SUSPECT);
        }
    }
}

static void http_api__verdict_metrics(struct rsm_textbuf *t,
                                      const struct rsm_metrics_input *in)
{
    static const char *const names[] = {"ok", "unreachable_from_agent", "down",
                                        "failed_restart"};
    char g[2 * RSM_GROUP_NAME_MAX];

    http_api__family(
        t, "rsm_group_master_status", "gauge",
        "The acting leader's verdict on each group's master: 1 for the "
        "current one.");
    for (size_t i = 0; i < in->n_mon; i++) {
        const struct rsm_monitor_group_status *s = &in->mon[i].status;
        if (!s->acting)
            continue;
        for (unsigned k = 0; k < sizeof names / sizeof names[0]; k++)
            rsm_textbuf_printf(
                t, "rsm_group_master_status{group=\"%s\",status=\"%s\"} %d\n",
                http_api__esc(s->name, g, sizeof g), names[k],
                (unsigned)s->verdict.status == k);
    }
}

static void http_api__latency_metrics(struct rsm_textbuf *t,
                                      const struct rsm_metrics_input *in)
{
    char g[2 * RSM_GROUP_NAME_MAX];

    http_api__family(t, "rsm_probe_duration_seconds", "histogram",
                     "Latency of the probes of each group that got an answer.");
    for (size_t i = 0; i < in->n_mon; i++) {
        const struct rsm_monitor_latency *l = &in->mon[i].latency;
        uint64_t cum = 0;
        http_api__esc(in->mon[i].status.name, g, sizeof g);
        for (unsigned b = 0; b + 1 < RSM_MONITOR_LATENCY_BUCKETS; b++) {
            cum += l->buckets[b];
            rsm_textbuf_printf(
                t,
                "rsm_probe_duration_seconds_bucket{group=\"%s\",le=\"%g\"} "
                "%llu\n",
                g, rsm_monitor_latency_bounds_ms[b] / 1e3,
                (unsigned long long)cum);
        }
        cum += l->buckets[RSM_MONITOR_LATENCY_BUCKETS - 1];
        rsm_textbuf_printf(
            t,
            "rsm_probe_duration_seconds_bucket{group=\"%s\",le=\"+Inf\"} "
            "%llu\n",
            g, (unsigned long long)cum);
        rsm_textbuf_printf(
            t, "rsm_probe_duration_seconds_sum{group=\"%s\"} %.6f\n", g,
            l->sum_ms / 1e3);
        rsm_textbuf_printf(
            t, "rsm_probe_duration_seconds_count{group=\"%s\"} %llu\n", g,
            (unsigned long long)l->count);
    }
    http_api__family(
        t, "rsm_probe_failures_total", "counter",
        "Probes of each group that got no answer (timeout, refused, bad "
        "reply).");
    for (size_t i = 0; i < in->n_mon; i++)
        rsm_textbuf_printf(t, "rsm_probe_failures_total{group=\"%s\"} %llu\n",
                           http_api__esc(in->mon[i].status.name, g, sizeof g),
                           (unsigned long long)in->mon[i].latency.failed);
}

char *rsm_http_api_render_metrics(const struct rsm_metrics_input *in)
{
    struct rsm_textbuf t = {0};
    bool acting = false;

    http_api__agent_metrics(&t, in);
    http_api__transport_metrics(&t, in->transport);
    http_api__fsm_metrics(&t, in->fsm);
    for (size_t i = 0; i < in->n_mon; i++)
        acting = acting || in->mon[i].status.acting;
    http_api__family(
        &t, "rsm_monitor_acting", "gauge",
        "1 when this agent is the acting leader (probes and decides).");
    rsm_textbuf_printf(&t, "rsm_monitor_acting %d\n", acting);
    http_api__instance_metrics(&t, in);
    http_api__verdict_metrics(&t, in);
    http_api__latency_metrics(&t, in);
    if (in->have_api) {
        http_api__family(&t, "rsm_api_clients", "gauge",
                         "Clients connected to the client (RESP) port.");
        rsm_textbuf_printf(&t, "rsm_api_clients %u\n", in->api_clients);
    }
    http_api__family(&t, "rsm_http_clients", "gauge",
                     "Clients connected to this HTTP port.");
    rsm_textbuf_printf(&t, "rsm_http_clients %u\n", in->http_clients);
    return rsm_textbuf_finish(&t);
}

/* ------------------------------------------------------------------------
 * The handler
 * ---------------------------------------------------------------------- */

static void http_api__serve_metrics(struct rsm_http_api *h,
                                    struct rsm_http_response *r)
{
    struct rsm_node_status st;
    struct rsm_transport_stats ts;
    struct rsm_metrics_input in;
    struct rsm_metrics_monitor_group *mon = NULL;
    size_t n = 0;

    rsm_node_get_status(h->node, &st);
    memset(&in, 0, sizeof in);
    in.version = RSM_VERSION;
    in.uptime_s = (double)(uv_hrtime() - h->started_ns) / 1e9;
    in.loop_lag_s = h->lag_s;
    in.st = &st;
    in.fsm = rsm_node_fsm(h->node);
    if (h->monitor != NULL) {
        size_t max = rsm_monitor_get_config(h->monitor)->n_groups;
        mon = calloc(max ? max : 1, sizeof *mon);
        if (mon == NULL) {
            rsm_http_response_text(r, 500, "out of memory\n");
            return;
        }
        while (n < max &&
               rsm_monitor_group_status(h->monitor, n, &mon[n].status)) {
            rsm_monitor_probe_latency(h->monitor, n, &mon[n].latency);
            n++;
        }
    }
    in.mon = mon;
    in.n_mon = n;
    in.have_api = h->api != NULL;
    in.api_clients = h->api ? rsm_api_clients(h->api) : 0;
    in.http_clients = rsm_http_server_clients(h->srv);
    rsm_node_transport_stats(h->node, &ts);
    in.transport = &ts;
    r->body = rsm_http_api_render_metrics(&in);
    free(mon);
    if (r->body == NULL) {
        rsm_http_response_text(r, 500, "out of memory\n");
        return;
    }
    r->body_len = strlen(r->body);
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

static void http_api__handle(void *arg, const struct rsm_http_request *req,
                             struct rsm_http_response *r)
{
    struct rsm_http_api *h = arg;
    struct rsm_node_status st;
    char why[160], body[200];

    if (strcmp(req->path, "/healthz") == 0) {
        snprintf(body, sizeof body, "ok (loop lag %.3f s)\n", h->lag_s);
        rsm_http_response_text(r, 200, body);
    } else if (strcmp(req->path, "/readyz") == 0) {
        bool ready;
        rsm_node_get_status(h->node, &st);
        ready = rsm_http_api_ready(&st, why, sizeof why);
        snprintf(body, sizeof body, "%s: %s\n", ready ? "ready" : "not ready",
                 why);
        rsm_http_response_text(r, ready ? 200 : 503, body);
    } else if (strcmp(req->path, "/metrics") == 0) {
        http_api__serve_metrics(h, r);
    } else if (strcmp(req->path, "/") == 0) {
        rsm_http_response_text(r, 200,
                               "rsm-agent: /healthz /readyz /metrics\n");
    } else {
        rsm_http_response_text(r, 404, "404 Not Found\n");
    }
}

/* ------------------------------------------------------------------------
 * Start and stop
 * ---------------------------------------------------------------------- */

static void http_api__on_lag_timer(uv_timer_t *t)
{
    struct rsm_http_api *h = t->data;
    uint64_t now = uv_hrtime();

    h->lag_s = now > h->lag_expected_ns
                   ? (double)(now - h->lag_expected_ns) / 1e9
                   : 0.0;
    h->lag_expected_ns = now + (uint64_t)LAG_TIMER_MS * 1000000;
}

int rsm_http_api_start(uv_loop_t *loop, const struct rsm_http_api_config *cfg,
                       struct rsm_node *node, struct rsm_http_api **out,
                       char *errmsg, size_t errlen)
{
    struct rsm_http_api *h = calloc(1, sizeof *h);
    int rv;

    if (h == NULL)
        return rsm_errf(RSM_ENOMEM, errmsg, errlen, "out of memory");
    h->loop = loop;
    h->node = node;
    h->started_ns = uv_hrtime();
    rv = rsm_http_server_start(loop, &cfg->bind,
                               cfg->limits_set ? &cfg->limits : NULL,
                               http_api__handle, h, &h->srv, errmsg, errlen);
    if (rv != 0) {
        free(h);
        return rv;
    }
    uv_timer_init(loop, &h->lag_timer);
    h->lag_timer.data = h;
    h->lag_expected_ns = uv_hrtime() + (uint64_t)LAG_TIMER_MS * 1000000;
    uv_timer_start(&h->lag_timer, http_api__on_lag_timer, LAG_TIMER_MS,
                   LAG_TIMER_MS);
    h->open = 2;
    *out = h;
    return 0;
}

void rsm_http_api_set_monitor(struct rsm_http_api *h, struct rsm_monitor *m)
{
    h->monitor = m;
}

void rsm_http_api_set_api(struct rsm_http_api *h, struct rsm_api *a)
{
    h->api = a;
}

uint16_t rsm_http_api_port(const struct rsm_http_api *h)
{
    return rsm_http_server_port(h->srv);
}

static void http_api__one_closed(struct rsm_http_api *h)
{
    assert(h->open > 0); /* one call per handle closed */
    if (--h->open > 0)
        return;
    if (h->stop_cb != NULL)
        h->stop_cb(h->stop_arg);
    free(h);
}

static void http_api__server_stopped(void *arg)
{
    http_api__one_closed(arg);
}

static void http_api__timer_closed(uv_handle_t *t)
{
    http_api__one_closed(t->data);
}

void rsm_http_api_stop(struct rsm_http_api *h, rsm_http_api_stop_cb cb,
                       void *arg)
{
    h->stop_cb = cb;
    h->stop_arg = arg;
    h->monitor = NULL;
    h->api = NULL;
    rsm_http_server_stop(h->srv, http_api__server_stopped, h);
    uv_close((uv_handle_t *)&h->lag_timer, http_api__timer_closed);
}
