/* monitor_node.c - the node's events: leadership gained (a fresh start
 * of what a follower did not watch) or lost, and applied entries (the
 * --on-failover hook after a CompleteFailover). */
#include "monitor_int.h"
#include "rsm/err.h"
#include "rsm/log.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * The --on-failover hook
 * ---------------------------------------------------------------------- */

/* A CompleteFailover applied on the acting leader: tell the hook of the
 * failover the group's history just recorded. The hook module logs what
 * becomes of it; the monitor does not wait for it. */
static void monitor__run_hook(struct rsm_monitor *m, const struct rsm_entry *e,
                              const struct rsm_group *cg)
{
    const struct rsm_history_item *h;
    struct rsm_hook_event ev;

    if (m->hook == NULL || cg == NULL || cg->n_history == 0)
        return;
    h = &cg->history[cg->n_history - 1];
    ev.group = e->group;
    ev.epoch = e->epoch;
    ev.old_master = h->old_master;
    ev.new_master = h->new_master;
    rsm_hook_run(m->hook, &ev);
}

/* ------------------------------------------------------------------------
 * Node events
 * ---------------------------------------------------------------------- */

/* A follower only watched each committed master: what it knows of the
 * other instances is stale or nothing, and "no reply for a long time" would
 * read as DOWN. A new leader starts those records afresh (UNKNOWN until its
 * first probe), so that nothing is decided on them before it has looked. */
static void monitor__forget_unwatched(struct rsm_monitor *m)
{
    int64_t now = monitor_mono_ms(m);

    for (unsigned i = 0; i < m->cfg.n_groups; i++) {
        struct group *g = m->groups[i];
        const struct rsm_group *cg = monitor_committed(g);
        for (unsigned j = 0; j < g->cfg.n_addrs; j++) {
            if (cg != NULL && cg->has_master &&
                rsm_addr_equal(&cg->master, &g->cfg.addrs[j]))
                continue;
            rsm_detector_init(&g->health[j], &g->cfg.addrs[j], now);
            g->inst[j].fed_probe_sent_ms = -1;
        }
    }
}

/* Every agent watches the groups the log holds: SENTINEL MONITOR and
 * REMOVE add and drop them, and the members a leader recorded for a
 * run-time group are watched here too (a new leader probes them at once). */
static void monitor__follow_groups(struct rsm_monitor *m,
                                   const struct rsm_entry *e)
{
    struct group *g;

    switch (e->kind) {
    case RSM_ENTRY_MONITOR_GROUP:
    case RSM_ENTRY_REMOVE_GROUP:
        monitor_sync_groups(m, true);
        break;
    case RSM_ENTRY_OBSERVE_MASTER:
    case RSM_ENTRY_COMPLETE_FAILOVER:
        g = monitor_group_by_name(m, e->group);
        if (g != NULL && g->added)
            monitor_watch_committed(g);
        break;
    default:
        break;
    }
}

void rsm_monitor_node_event(struct rsm_monitor *m, enum rsm_node_event ev,
                            const struct rsm_entry *entry, int apply_status)
{
    struct group *g;

    if (m == NULL || m->stopping)
        return;
    switch (ev) {
    case RSM_NODE_BECAME_LEADER:
        monitor__forget_unwatched(m);
        monitor_fence_forget_all(m);
        for (unsigned i = 0; i < m->cfg.n_groups; i++)
            memset(&m->groups[i]->pause, 0, sizeof m->groups[i]->pause);
        m->acting = true;
        rsm_log(RSM_LOG_INFO, "leader-acting",
                "groups=%u detail=\"barrier committed, watching Redis\"",
                m->cfg.n_groups);
        monitor_probe_all(m);
        break;
    case RSM_NODE_LOST_LEADERSHIP:
        if (m->acting)
            rsm_log(RSM_LOG_INFO, "leader-stopped-acting", NULL);
        m->acting = false;
        for (unsigned i = 0; i < m->cfg.n_groups; i++) {
            m->groups[i]->last_reason[0] = '\0';
            memset(&m->groups[i]->pause, 0, sizeof m->groups[i]->pause);
            if (!m->groups[i]->manual.proposed) /* else: its proposal
                                                  fails or commits */
                monitor_manual_done(m->groups[i], RSM_ENOTLEADER,
                                    "leadership lost");
        }
        break;
    case RSM_NODE_APPLIED:
        if (entry != NULL && apply_status == 0)
            monitor__follow_groups(m, entry);
        if (entry == NULL || !m->acting)
            break;
        g = monitor_group_by_name(m, entry->group);
        if (g == NULL)
            break;
        if (apply_status == 0 && entry->kind == RSM_ENTRY_COMPLETE_FAILOVER)
            monitor__run_hook(m, entry, monitor_committed(g));
#ifdef RSM_TEST_FAULTS
        /* Test builds: die like a SIGKILL right after a decision commits
         * and before Redis is touched, so that tests can check that the
         * next leader completes the same epoch. */
        if (apply_status == 0 && entry->kind == RSM_ENTRY_DECIDE_FAILOVER &&
            getenv("RSM_FAULT_CRASH_AFTER_DECIDE") != NULL) {
            rsm_log(RSM_LOG_WARN, "fault-crash-after-decide",
                    "group=%s epoch=%llu", entry->group,
                    (unsigned long long)entry->epoch);
            raise(SIGKILL);
        }
#endif
        monitor_mark_dirty(g);
        break;
    default:
        break;
    }
}
