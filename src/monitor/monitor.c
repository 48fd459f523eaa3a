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

static int monitor__open_links(struct rsm_monitor *m, char *errmsg,
                               size_t errlen)
{
    int64_t now = monitor_mono_ms(m);

    for (unsigned i = 0; i < m->cfg.n_groups; i++) {
        struct group *g = &m->groups[i];
        g->m = m;
        g->cfg = m->cfg.groups[i];
        for (unsigned j = 0; j < g->cfg.n_addrs; j++) {
            struct rsm_redis_config rc;
            struct instance *in = &g->inst[j];
            memset(&rc, 0, sizeof rc);
            rc.addr = g->cfg.addrs[j];
            rc.user = m->cfg.redis_user[0] ? m->cfg.redis_user : NULL;
            rc.password =
                m->cfg.redis_password[0] ? m->cfg.redis_password : NULL;
            rc.connect_timeout_ms = monitor_probe_timeout(m);
            in->g = g;
            in->index = j;
            in->action_done_ms = -1;
            in->fed_probe_sent_ms = -1;
            rsm_detector_init(&g->health[j], &g->cfg.addrs[j], now);
            if (rsm_redis_create(m->loop, &rc, &in->link) != 0)
                return rsm_errf(RSM_ENOMEM, errmsg, errlen,
                                "out of memory for Redis links");
            rsm_redis_on_drop(in->link, monitor_on_drop, in);
        }
    }
    return 0;
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
    m->cfg.groups = NULL;
    m->cfg.cap_groups = cfg->n_groups;
    m->node = node;
    m->event_cb = event_cb;
    m->event_arg = event_arg;
    m->groups = calloc(cfg->n_groups ? cfg->n_groups : 1, sizeof *m->groups);
    if (cfg->n_groups > 0)
        m->cfg.groups = malloc(cfg->n_groups * sizeof *m->cfg.groups);
    if (m->groups == NULL || (cfg->n_groups > 0 && m->cfg.groups == NULL)) {
        free(m->groups);
        free(m->cfg.groups);
        explicit_bzero(m->cfg.redis_password, sizeof m->cfg.redis_password);
        explicit_bzero(m->cfg.agent_password, sizeof m->cfg.agent_password);
        free(m);
        return rsm_errf(RSM_ENOMEM, errmsg, errlen,
                        "out of memory for %u groups", cfg->n_groups);
    }
    if (cfg->n_groups > 0)
        memcpy(m->cfg.groups, cfg->groups,
               cfg->n_groups * sizeof *m->cfg.groups);
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
    if (rv == 0)
        rv = monitor__open_links(m, errmsg, errlen);
    if (rv != 0) {
        rsm_monitor_stop(m, NULL, NULL);
        return rv;
    }
    m->n_slices = monitor_slice_count(cfg);
    uv_timer_start(&m->tick, monitor_tick_cb, monitor_until_next_turn(m), 0);
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
    *out = m;
    return 0;
}

void monitor_maybe_free(struct rsm_monitor *m)
{
    if (!m->stopping || m->pending_close > 0)
        return;
    explicit_bzero(m->cfg.redis_password, sizeof m->cfg.redis_password);
    explicit_bzero(m->cfg.agent_password, sizeof m->cfg.agent_password);
    if (m->stop_cb != NULL)
        m->stop_cb(m->stop_arg);
    rsm_monitor_config_free(&m->cfg);
    free(m->groups);
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
        monitor_manual_done(&m->groups[i], RSM_ECANCELED,
                            "the agent is stopping");
    m->pending_close += 4;
    uv_close((uv_handle_t *)&m->deadline, monitor__timer_closed);
    uv_close((uv_handle_t *)&m->fast, monitor__timer_closed);
    uv_close((uv_handle_t *)&m->tick, monitor__timer_closed);
    uv_close((uv_handle_t *)&m->kick, monitor__timer_closed);
    for (unsigned i = 0; i < m->cfg.n_groups; i++) {
        struct group *g = &m->groups[i];
        for (unsigned j = 0; j < g->cfg.n_addrs; j++) {
            if (g->inst[j].link == NULL)
                continue;
            m->pending_close++;
            rsm_redis_close(g->inst[j].link, monitor_link_closed, m);
            g->inst[j].link = NULL;
        }
    }
    for (unsigned i = 0; i < m->n_peers; i++)
        monitor_peer_drop(&m->peers[i]);
    if (m->hook != NULL) { /* SIGTERM to running hooks; waits for them */
        m->pending_close++;
        rsm_hook_stop(m->hook, monitor__hook_stopped, m);
        m->hook = NULL;
    }
}
