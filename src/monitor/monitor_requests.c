/* monitor_requests.c - what other subsystems ask of the monitor: the
 * peers' and groups' status, the configuration, probe latencies, and the
 * failover and switchover requests (SENTINEL FAILOVER, RSM SWITCHOVER). */
#include "monitor_int.h"
#include "rsm/err.h"
#include "rsm/log.h"

#include <stdio.h>
#include <string.h>

bool rsm_monitor_peer_status(const struct rsm_monitor *m, size_t index,
                             struct rsm_monitor_peer_status *out)
{
    const struct peer *p;

    if (index >= m->n_peers)
        return false;
    p = &m->peers[index];
    out->id = p->id;
    out->api = p->api;
    out->identity = p->identity;
    snprintf(out->problem, sizeof out->problem, "%s", p->problem);
    return true;
}

static void monitor__group_status(const struct group *g,
                                  struct rsm_monitor_group_status *out)
{
    const struct rsm_monitor *m = g->m;
    struct rsm_detector_config dc;
    int64_t now = monitor_mono_ms(m);

    memset(out, 0, sizeof *out);
    out->name = g->cfg.name;
    out->acting = m->acting;
    out->verdict = g->verdict;
    out->verdict_master = g->verdict_master;
    out->last_reason = g->last_reason;
    out->n = g->cfg.n_addrs;
    dc = monitor_group_detector(g);
    for (unsigned i = 0; i < g->cfg.n_addrs; i++)
        rsm_detector_observe(&g->health[i], &dc, now, &out->obs[i]);
}

bool rsm_monitor_group_status(const struct rsm_monitor *m, size_t index,
                              struct rsm_monitor_group_status *out)
{
    if (index >= m->cfg.n_groups)
        return false;
    monitor__group_status(m->groups[index], out);
    return true;
}

bool rsm_monitor_group_status_of(const struct rsm_monitor *m, const char *name,
                                 struct rsm_monitor_group_status *out)
{
    const struct group *g = monitor_group_by_name(m, name);

    if (g == NULL)
        return false;
    monitor__group_status(g, out);
    return true;
}

uint64_t rsm_monitor_group_changes(const struct rsm_monitor *m,
                                   const char *name)
{
    const struct group *g = monitor_group_by_name(m, name);

    return g != NULL ? g->changes : UINT64_MAX;
}

bool rsm_monitor_has_group(const struct rsm_monitor *m, const char *name)
{
    return monitor_group_by_name(m, name) != NULL;
}

const struct rsm_monitor_config *
rsm_monitor_get_config(const struct rsm_monitor *m)
{
    return &m->cfg;
}

/* The checks a failover and a switchover request share: the acting
 * leader, a group with a committed master, nothing in flight or asked
 * for. 0 with *gp and *cgp set, or RSM_ENOTLEADER, RSM_ENOTFOUND or
 * RSM_EBUSY. */
static int monitor__manual_group(struct rsm_monitor *m, const char *group,
                                 struct group **gp,
                                 const struct rsm_group **cgp)
{
    struct group *g;
    const struct rsm_group *cg;

    if (m->stopping || !m->acting)
        return RSM_ENOTLEADER;
    g = monitor_group_by_name(m, group);
    if (g == NULL)
        return RSM_ENOTFOUND;
    cg = monitor_committed(g);
    if (cg == NULL || !cg->has_master)
        return RSM_ENOTFOUND;
    if (cg->in_flight || g->manual.cb != NULL)
        return RSM_EBUSY;
    *gp = g;
    *cgp = cg;
    return 0;
}

int rsm_monitor_request_failover(struct rsm_monitor *m, const char *group,
                                 bool force, rsm_node_done_cb cb, void *arg)
{
    struct group *g;
    const struct rsm_group *cg;
    int rv = monitor__manual_group(m, group, &g, &cg);

    if (rv != 0)
        return rv;
    g->manual.cb = cb;
    g->manual.arg = arg;
    g->manual.proposed = false;
    g->manual.kind = RSM_FAILOVER_MANUAL;
    g->manual.force = force;
    g->manual.asked_ms = monitor_mono_ms(m);
    monitor_group_stir(g); /* plan on fresh readings */
    rsm_log(RSM_LOG_INFO, "manual-failover-requested", "group=%s force=%d",
            group, force ? 1 : 0);
    monitor_mark_dirty(g);
    return 0;
}

int rsm_monitor_request_switchover(struct rsm_monitor *m, const char *group,
                                   const struct rsm_addr *to,
                                   int64_t timeout_ms, rsm_node_done_cb cb,
                                   void *arg)
{
    struct group *g;
    const struct rsm_group *cg;
    char a[RSM_ADDR_STRLEN] = "any";
    int rv = monitor__manual_group(m, group, &g, &cg);

    if (rv != 0)
        return rv;
    if (cg->paused)
        return RSM_EREJECTED;
    memset(&g->manual, 0, sizeof g->manual);
    g->manual.cb = cb;
    g->manual.arg = arg;
    g->manual.kind = RSM_FAILOVER_SWITCHOVER;
    g->manual.asked_ms = monitor_mono_ms(m);
    monitor_group_stir(g); /* plan on fresh readings */
    if (to != NULL) {
        g->manual.to = *to;
        rsm_addr_format(to, a, sizeof a);
    }
    g->manual.timeout_ms = timeout_ms > 0 ? timeout_ms : 0;
    if (m->cfg.planner.switchover_method == RSM_SWITCHOVER_FAILOVER_CMD)
        g->manual.checking = monitor_check_failover_cmd(g, &cg->master);
    rsm_log(RSM_LOG_INFO, "switchover-requested",
            "group=%s to=%s timeout_ms=%lld method=%s%s", group, a,
            (long long)g->manual.timeout_ms,
            rsm_switchover_method_str(m->cfg.planner.switchover_method),
            g->manual.checking ? " checking=FAILOVER" : "");
    monitor_mark_dirty(g);
    return 0;
}

bool rsm_monitor_probe_latency(const struct rsm_monitor *m, size_t index,
                               struct rsm_monitor_latency *out)
{
    if (index >= m->cfg.n_groups)
        return false;
    *out = m->groups[index]->latency;
    return true;
}
