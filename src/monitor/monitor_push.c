/* monitor_push.c - the leader's view pushed to the other agents (RSM
 * LEADERVIEW, see rsm_monitor_set_push), and this agent's own view of
 * each committed master as RSM VIEWS serves it (rsm_monitor_views). */
#include "monitor_int.h"
#include "rsm/err.h"

/* ------------------------------------------------------------------------
 * The leader's view pushed to the other agents (see rsm_monitor_set_push)
 * ---------------------------------------------------------------------- */

/* An error reply (an agent from before RSM LEADERVIEW, or one that does
 * not take it now) changes nothing; a lost link means a new connection,
 * maybe to another process: its identity is checked again first. */
static void monitor__pushed_cb(struct rsm_redis *r,
                               const struct rsm_redis_result *res, void *arg)
{
    struct peer *p = arg;

    (void)r;
    if (res->status != 0 && res->status != RSM_EREPLY)
        p->verified = false;
}

/* A peer not verified is asked this often (a dead agent is not connected
 * to at every turn). */
#define VERIFY_MS 1000

void monitor_push_views(struct rsm_monitor *m)
{
    int64_t now = monitor_mono_ms(m);
    char **payloads;
    bool any = false;

    if (m->push_cb == NULL)
        return;
    monitor_sync_peers(m);
    for (unsigned i = 0; i < m->n_peers; i++) {
        struct peer *p = &m->peers[i];
        if (!p->verified && now - p->verify_ms >= VERIFY_MS) {
            p->verify_ms = now;
            monitor_ask_peer(m, p); /* its identity first */
        }
        any |= p->verified && p->link != NULL;
    }
    if (!any || (payloads = m->push_cb(m->push_arg)) == NULL)
        return;
    for (unsigned i = 0; i < m->n_peers; i++) {
        struct peer *p = &m->peers[i];
        for (size_t k = 0; p->verified && p->link != NULL && payloads[k]; k++) {
            const char *argv[] = {"RSM", "LEADERVIEW", payloads[k]};
            rsm_redis_command(p->link, monitor_probe_timeout(m),
                              monitor__pushed_cb, p, 3, argv);
        }
    }
    m->push_free(payloads);
}

void rsm_monitor_set_push(struct rsm_monitor *m, rsm_monitor_push_cb cb,
                          void (*free_cb)(char **payloads), void *arg)
{
    m->push_cb = cb;
    m->push_free = free_cb;
    m->push_arg = arg;
}

size_t rsm_monitor_views(struct rsm_monitor *m, struct rsm_agent_view *views,
                         const char **groups, size_t max)
{
    int64_t now = monitor_mono_ms(m);
    size_t n = 0;

    /* the leader asks when it suspects a master (or to learn who we are):
     * look now, so that the next answer says how the master is */
    monitor_probe_masters_asked(m);

    for (unsigned i = 0; i < m->cfg.n_groups && n < max; i++) {
        const struct group *g = m->groups[i];
        const struct rsm_group *cg = monitor_committed(g);
        struct rsm_detector_config dc = monitor_group_detector(g);
        if (cg == NULL || !cg->has_master)
            continue;
        for (unsigned j = 0; j < g->cfg.n_addrs; j++) {
            if (!rsm_addr_equal(&g->cfg.addrs[j], &cg->master))
                continue;
            rsm_detector_view(&g->health[j], &dc, now, m->cfg.agent_id,
                              &views[n]);
            groups[n++] = g->cfg.name;
            break;
        }
    }
    return n;
}
