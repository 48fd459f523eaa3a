/* monitor.c - the monitor's small shared helpers (clock, probe timeout,
 * a group's committed state and effective settings) and its start and
 * stop (see monitor.h for the contract, monitor_int.h for how the files
 * of src/monitor divide the work). */
#include "monitor_int.h"
#include "rsm/err.h"
#include "rsm/groupconf.h"
#include "rsm/log.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Small helpers
 * ---------------------------------------------------------------------- */

int64_t monitor_mono_ms(const struct rsm_monitor *m)
{
    return (int64_t)uv_now(m->loop);
}

uint64_t monitor_probe_timeout(const struct rsm_monitor *m)
{
    uint64_t t = m->cfg.probe_timeout_ms;

    if (t == 0) {
        t = m->cfg.probe_interval_ms * 3;
        if (t < 300)
            t = 300;
    }
    return t;
}

const struct rsm_group *monitor_committed(const struct group *g)
{
    return rsm_fsm_group(rsm_node_fsm(g->m->node), g->cfg.name);
}

/* The detector's and the planner's configuration for g: the agent's
 * flags with the group's committed settings over them (SENTINEL SET,
 * groupconf.h). */
struct rsm_detector_config monitor_group_detector(const struct group *g)
{
    struct rsm_detector_config dc = g->m->cfg.detector;
    const struct rsm_group *cg = monitor_committed(g);

    if (cg != NULL)
        rsm_groupconf_apply(&cg->settings, &dc, NULL);
    /* a reply later than one probe interval makes the instance suspect */
    dc.late_ms = (int64_t)g->m->cfg.probe_interval_ms;
    return dc;
}

/* The crash path (detector.h) is on for g. */
bool monitor_crash_path_on(const struct group *g)
{
    return monitor_group_detector(g).crash_confirm_ms > 0;
}

struct rsm_planner_config monitor_group_planner(const struct group *g)
{
    struct rsm_planner_config pc = g->m->cfg.planner;
    const struct rsm_group *cg = monitor_committed(g);

    if (cg != NULL)
        rsm_groupconf_apply(&cg->settings, NULL, &pc);
    return pc;
}

struct instance *monitor_find_instance(struct group *g,
                                       const struct rsm_addr *a)
{
    for (unsigned i = 0; i < g->cfg.n_addrs; i++) {
        if (rsm_addr_equal(&g->cfg.addrs[i], a))
            return &g->inst[i];
    }
    return NULL;
}

/* The text of a failed command's result: the error reply Redis sent, or
 * the link's own message. */
void monitor_result_errmsg(const struct rsm_redis_result *res, char *buf,
                           size_t len)
{
    if (res->status == RSM_EREPLY && res->reply != NULL)
        snprintf(buf, len, "%.*s", (int)res->reply->len, res->reply->str);
    else
        snprintf(buf, len, "%s",
                 res->errmsg ? res->errmsg : rsm_strerror(res->status));
}

/* ------------------------------------------------------------------------
 * Start and stop
 * ---------------------------------------------------------------------- */

/* Log the groups of --monitor and the fence setting, at start. */
static void monitor__log_start(const struct rsm_monitor_config *cfg)
{
    for (unsigned i = 0; i < cfg->n_groups; i++) {
        char list[RSM_MAX_MEMBERS * RSM_ADDR_STRLEN] = "", a[RSM_ADDR_STRLEN];
        for (unsigned j = 0; j < cfg->groups[i].n_addrs; j++) {
            if (j)
                strcat(list, ",");
            strcat(list,
                   rsm_addr_format(&cfg->groups[i].addrs[j], a, sizeof a));
        }
        rsm_log(RSM_LOG_INFO, "monitor",
                "group=%s instances=%s "
                "down_after_ms=%lld",
                cfg->groups[i].name, list,
                (long long)cfg->detector.down_after_ms);
    }
    if (cfg->fence.enabled)
        rsm_log(RSM_LOG_INFO, "fence-config",
                "fence=on min_replicas_max_lag=%u detail=\"the leader keeps "
                "min-replicas-to-write on each master\"",
                cfg->fence.max_lag_s);
    else
        rsm_log(RSM_LOG_INFO, "fence-config",
                "fence=off detail=\"min-replicas-* left alone\"");
}

int rsm_monitor_start(uv_loop_t *loop, const struct rsm_monitor_config *cfg,
                      struct rsm_node *node, rsm_monitor_event_cb event_cb,
                      void *event_arg, struct rsm_monitor **out, char *errmsg,
                      size_t errlen)
{
    struct rsm_monitor *m = calloc(1, sizeof *m);
    int rv;

    if (m == NULL)
        return rsm_errf(RSM_ENOMEM, errmsg, errlen, "out of memory");
    m->loop = loop;
    m->cfg = *cfg;
    m->cfg.groups = NULL; /* the groups watched: monitor_group_open() */
    m->cfg.n_groups = 0;
    m->cfg.cap_groups = 0;
    m->node = node;
    m->event_cb = event_cb;
    m->event_arg = event_arg;
    m->n_slices = 1;
    uv_timer_init(loop, &m->tick);
    uv_timer_init(loop, &m->kick);
    uv_timer_init(loop, &m->deadline);
    uv_timer_init(loop, &m->fast);
    m->fast.data = m;
    m->deadline.data = m;
    m->deadline_ms = -1;
    m->tick.data = m;
    m->kick.data = m;
    rv = rsm_hook_start(loop, &cfg->hook, &m->hook, errmsg, errlen);
    for (unsigned i = 0; rv == 0 && i < cfg->n_groups; i++)
        rv = monitor_group_open(m, &cfg->groups[i], false, errmsg, errlen);
    if (rv != 0) {
        rsm_monitor_stop(m, NULL, NULL);
        return rv;
    }
    monitor__log_start(cfg);
    /* what the log (or a snapshot) already holds: groups added by
     * SENTINEL MONITOR, --monitor groups removed by SENTINEL REMOVE */
    monitor_sync_groups(m, true);
    uv_timer_start(&m->tick, monitor_tick_cb, monitor_until_next_turn(m), 0);
    *out = m;
    return 0;
}

void monitor_maybe_free(struct rsm_monitor *m)
{
    if (!m->stopping || m->pending_close > 0)
        return;
    /* A proposal still in flight calls back with its group (the node,
     * stopping too, cancels it): free nothing before it has. */
    for (unsigned i = 0; i < m->cfg.n_groups; i++) {
        if (m->groups[i]->proposing)
            return;
    }
    explicit_bzero(m->cfg.redis_password, sizeof m->cfg.redis_password);
    explicit_bzero(m->cfg.agent_password, sizeof m->cfg.agent_password);
    if (m->stop_cb != NULL)
        m->stop_cb(m->stop_arg);
    for (unsigned i = 0; i < m->cfg.n_groups; i++)
        monitor_group_free(m->groups[i]);
    rsm_monitor_config_free(&m->cfg);
    free(m->groups);
    free(m->by_name);
    free(m);
}

static void monitor__timer_closed(uv_handle_t *h)
{
    struct rsm_monitor *m = h->data;

    assert(m->pending_close > 0);
    m->pending_close--;
    monitor_maybe_free(m);
}

static void monitor__hook_stopped(void *arg)
{
    struct rsm_monitor *m = arg;

    assert(m->pending_close > 0);
    m->pending_close--;
    monitor_maybe_free(m);
}

void monitor_link_closed(struct rsm_redis *r, void *arg)
{
    struct rsm_monitor *m = arg;

    (void)r;
    assert(m->pending_close > 0);
    m->pending_close--;
    monitor_maybe_free(m);
}

void rsm_monitor_stop(struct rsm_monitor *m, rsm_monitor_stop_cb cb, void *arg)
{
    if (m->stopping)
        return;
    m->stopping = true;
    m->acting = false;
    m->stop_cb = cb;
    m->stop_arg = arg;
    for (unsigned i = 0; i < m->cfg.n_groups; i++)
        monitor_manual_done(m->groups[i], RSM_ECANCELED,
                            "the agent is stopping");
    m->pending_close += 4;
    uv_close((uv_handle_t *)&m->deadline, monitor__timer_closed);
    uv_close((uv_handle_t *)&m->fast, monitor__timer_closed);
    uv_close((uv_handle_t *)&m->tick, monitor__timer_closed);
    uv_close((uv_handle_t *)&m->kick, monitor__timer_closed);
    for (unsigned i = 0; i < m->cfg.n_groups; i++)
        monitor_group_close_links(m->groups[i]);
    for (unsigned i = 0; i < m->n_peers; i++)
        monitor_peer_drop(&m->peers[i]);
    if (m->hook != NULL) { /* SIGTERM to running hooks; waits for them */
        m->pending_close++;
        rsm_hook_stop(m->hook, monitor__hook_stopped, m);
        m->hook = NULL;
    }
}
