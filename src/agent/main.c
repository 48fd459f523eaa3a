/* main.c - rsm-agent: the daemon. One libuv loop, single-threaded: the Raft
 * node (src/raft/node.c), the client API, signals. This file starts the
 * subsystems and runs the loop; the flags are in flags.c and settings.c,
 * the stop in shutdown.c (agent.h lists the pieces).
 *
 * Every flag can also come from an RSM_* environment variable (the flag
 * wins). A bad flag or value prints one line on stderr and exits 2; a
 * start-up failure (data dir locked, port in use, ...) logs an error and
 * exits 1; SIGTERM/SIGINT stop gracefully (a leader hands leadership over
 * first) and exit 0; SIGHUP re-reads the TLS files (tlsctx.c). */
#include "agent.h"
#include "rsm/err.h"

#include <signal.h>
#include <string.h>

#include <uv.h>

static void agent__on_node_event(void *arg, enum rsm_node_event ev,
                                 const struct rsm_entry *e, int status)
{
    struct agent *a = arg;

    if (ev == RSM_NODE_BECAME_LEADER)
        agent_bench_maybe_start(a);
    if (a->monitor != NULL)
        rsm_monitor_node_event(a->monitor, ev, e, status);
    if (a->api != NULL)
        rsm_api_node_event(a->api, ev, e, status);
    if (a->advertise != NULL)
        rsm_advertise_node_event(a->advertise, ev);
}

static void agent__log_start(const struct agent *a)
{
    const struct rsm_node_config *c = &a->set.node;
    char raft[RSM_ADDR_STRLEN], api[RSM_ADDR_STRLEN], q[512];

    rsm_log(RSM_LOG_INFO, "agent-starting",
            "id=%llu voters=%u raft_bind=%s api_bind=%s data_dir=%s "
            "election_ms=%u heartbeat_ms=%u snapshot_threshold=%u join=%s",
            (unsigned long long)c->id, c->n_peers,
            rsm_addr_format(&c->raft_bind, raft, sizeof raft),
            rsm_addr_format(&a->set.api_bind, api, sizeof api),
            rsm_log_quote(c->data_dir, q, sizeof q), c->election_timeout_ms,
            c->heartbeat_timeout_ms, c->snapshot_threshold,
            c->join ? "true" : "false");
}

/* Log event with the error code rv and its detail err. */
static void agent__log_error(enum rsm_log_level level, const char *event,
                             int rv, const char *err)
{
    char q[2 * RSM_ERRMSG_SIZE];

    rsm_log(level, event, "error=%s detail=%s",
            rsm_log_quote(rsm_strerror(rv), q, sizeof q / 2),
            rsm_log_quote(err, q + sizeof q / 2, sizeof q / 2));
}

/* A subsystem did not start: the agent will exit 1 (the caller winds
 * down what did start). */
static void agent__start_failed(struct agent *a, int rv, const char *err)
{
    agent__log_error(RSM_LOG_ERROR, "start-failed", rv, err);
    a->exit_code = 1;
}

/* The HTTP port, started last: if it fails, everything stops. */
static void agent__start_http(struct agent *a)
{
    struct rsm_http_api_config hc = {.bind = a->set.http_bind};
    char err[RSM_ERRMSG_SIZE];
    int rv;

    if (!a->set.http_on)
        return;
    if (a->set.tls_http) {
        rsm_http_limits_default(&hc.limits);
        hc.limits.tls = a->tls_server;
        hc.limits_set = true;
    }
    rv = rsm_http_api_start(&a->loop, &hc, a->node, &a->http, err, sizeof err);
    if (rv != 0 && !a->set.http_required) {
        agent__log_error(RSM_LOG_WARN, "http-disabled", rv, err);
        return;
    }
    if (rv != 0) {
        agent__start_failed(a, rv, err);
        agent_stop_all(a);
        return;
    }
    rsm_http_api_set_api(a->http, a->api);
    rsm_http_api_set_monitor(a->http, a->monitor);
}

/* Start the node and the API; on failure leave the loop to wind down. */
static void agent__start(struct agent *a)
{
    struct rsm_node_observer obs = {agent__on_node_event, a};
    char err[RSM_ERRMSG_SIZE], q[2 * RSM_ERRMSG_SIZE];
    int rv;

    agent__log_start(a);
    rv =
        rsm_node_start(&a->loop, &a->set.node, &obs, &a->node, err, sizeof err);
    explicit_bzero(a->set.cluster_secret, sizeof a->set.cluster_secret);
    a->set.node.cluster_secret = NULL;
    if (rv != 0) {
        agent__start_failed(a, rv, err);
        agent_close_signals(a);
        return;
    }
    rv = rsm_api_start_ops(&a->loop, &a->set.api, a->node,
                           rsm_api_real_node_ops(), &a->api, err, sizeof err);
    explicit_bzero(a->set.api.requirepass, sizeof a->set.api.requirepass);
    if (rv != 0) {
        agent__start_failed(a, rv, err);
        a->stopping = true;
        rsm_node_stop(a->node, agent_node_stopped, a);
        return;
    }
    rv =
        rsm_monitor_start(&a->loop, &a->set.mon, a->node, rsm_api_monitor_event,
                          a->api, &a->monitor, err, sizeof err);
    if (rv != 0) {
        agent__start_failed(a, rv, err);
        a->stopping = true;
        rsm_api_stop(a->api, NULL, NULL);
        a->api = NULL;
        rsm_node_stop(a->node, agent_node_stopped, a);
        return;
    }
    rsm_api_set_monitor(a->api, a->monitor);
    /* cannot fail but for memory; the agent then runs on guessed addresses */
    if (rsm_advertise_start(&a->loop, &a->set.adv, a->node, &a->advertise, err,
                            sizeof err) != 0)
        rsm_log(RSM_LOG_ERROR, "advertise-failed", "error=%s",
                rsm_log_quote(err, q, sizeof q));
    agent__start_http(a);
}

int main(int argc, char **argv)
{
    struct agent a;
    int rv;

    memset(&a, 0, sizeof a);
    agent_parse_settings(argc, argv, &a.set);
    rsm_log_setup(a.set.log_level, a.set.log_format);
    signal(SIGPIPE, SIG_IGN);
    rv = uv_loop_init(&a.loop);
    if (rv != 0) {
        rsm_log(RSM_LOG_ERROR, "start-failed", "error=%s", uv_strerror(rv));
        return 1;
    }
    if (agent_tls_create(&a) != 0) { /* logged, naming the file */
        uv_loop_close(&a.loop);
        return 1;
    }
    uv_signal_init(&a.loop, &a.sigterm);
    uv_signal_init(&a.loop, &a.sigint);
    uv_signal_init(&a.loop, &a.sighup);
    a.sigterm.data = a.sigint.data = a.sighup.data = &a;
    uv_signal_start(&a.sigterm, agent_on_signal, SIGTERM);
    uv_signal_start(&a.sigint, agent_on_signal, SIGINT);
    uv_signal_start(&a.sighup, agent_on_sighup, SIGHUP);

    agent__start(&a);
    uv_run(&a.loop, UV_RUN_DEFAULT);
    agent_bench_free(&a);
    rsm_monitor_config_free(&a.set.mon); /* the monitor had its own copy */
    agent_tls_free(&a);                  /* every connection is closed */
    rv = uv_loop_close(&a.loop);
    if (rv != 0) {
        uv_walk(&a.loop, agent_log_leftover, NULL);
        rsm_log(RSM_LOG_ERROR, "loop-not-clean", "error=%s", uv_strerror(rv));
        return 1;
    }
    rsm_log(RSM_LOG_INFO, "agent-exit", "status=%d", a.exit_code);
    return a.exit_code;
}
