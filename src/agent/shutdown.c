/* shutdown.c - rsm-agent's signals and orderly stop: SIGTERM/SIGINT stop
 * every subsystem in order (a leader hands leadership over first), then
 * the loop winds down and main() exits; SIGHUP re-reads the TLS files
 * (tlsctx.c) and stops nothing. */
#include "agent.h"

#include <assert.h>
#include <signal.h>
#include <string.h>

void agent_close_signals(struct agent *a)
{
    uv_close((uv_handle_t *)&a->sigterm, NULL);
    uv_close((uv_handle_t *)&a->sigint, NULL);
    uv_close((uv_handle_t *)&a->sighup, NULL);
}

void agent_node_stopped(void *arg)
{
    struct agent *a = arg;

    a->node = NULL;
    agent_close_signals(a);
}

/* Stop everything that runs, in order; the loop then winds down. */
void agent_stop_all(struct agent *a)
{
    /* once: a second signal only logs; the node runs until it is stopped */
    assert(!a->stopping && a->node != NULL);
    a->stopping = true;
    if (a->http != NULL) /* before the monitor and the API it reads */
        rsm_http_api_stop(a->http, NULL, NULL);
    a->http = NULL;
    if (a->monitor != NULL) { /* first: stop touching Redis */
        if (a->api != NULL)
            rsm_api_set_monitor(a->api, NULL);
        rsm_monitor_stop(a->monitor, NULL, NULL);
    }
    a->monitor = NULL;
    if (a->advertise != NULL)
        rsm_advertise_stop(a->advertise, NULL, NULL);
    a->advertise = NULL;
    explicit_bzero(a->set.adv.agent_password, sizeof a->set.adv.agent_password);
    if (a->api != NULL) /* before the node */
        rsm_api_stop(a->api, NULL, NULL);
    a->api = NULL;
    rsm_node_stop(a->node, agent_node_stopped, a);
}

void agent_on_signal(uv_signal_t *h, int signum)
{
    struct agent *a = h->data;
    const char *name = signum == SIGTERM ? "TERM" : "INT";

    if (a->stopping) {
        rsm_log(RSM_LOG_WARN, "shutdown-in-progress", "signal=%s", name);
        return;
    }
    rsm_log(RSM_LOG_INFO, "shutdown", "signal=%s", name);
    agent_stop_all(a);
}

void agent_on_sighup(uv_signal_t *h, int signum)
{
    struct agent *a = h->data;

    (void)signum;
    rsm_log(RSM_LOG_INFO, "sighup", "action=tls-reload");
    agent_tls_reload(a);
}

void agent_log_leftover(uv_handle_t *h, void *arg)
{
    (void)arg;
    rsm_log(RSM_LOG_ERROR, "loop-handle-left", "type=%s closing=%d",
            uv_handle_type_name(uv_handle_get_type(h)), uv_is_closing(h));
}
