/* monitor_loop.c - the leader loop: observations -> verdict -> plan ->
 * act for each dirty group (kick), the groups' checks (a probe turning
 * late, a silence reaching down_after), manual
 * requests answered, and the probe turns (ticks, slices).
 *
 * Time: the detector runs on the loop's monotonic clock (uv_now); the
 * planner gets the wall clock, because it compares it with times recorded
 * in committed entries (decided_at_ms, last_failover_end_ms) that another
 * agent's wall clock wrote. */
#include "monitor_int.h"
#include "rsm/clock.h"
#include "rsm/err.h"
#include "rsm/log.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * The leader loop: observations -> verdict -> plan -> act
 * ---------------------------------------------------------------------- */

static void monitor__emit_events(struct group *g,
                                 const struct rsm_planner_plan *plan)
{
    struct rsm_monitor *m = g->m;
    char q[RSM_PLAN_DETAIL_MAX + 8];

    for (unsigned i = 0; i < plan->n_events; i++) {
        const struct rsm_plan_event *ev = &plan->events[i];
        rsm_log(RSM_LOG_INFO, ev->name, "group=%s epoch=%llu detail=%s",
                g->cfg.name, (unsigned long long)plan->epoch,
                rsm_log_quote(ev->detail, q, sizeof q));
        if (m->event_cb != NULL)
            m->event_cb(m->event_arg, g->cfg.name, ev->name, ev->detail);
    }
}

/* Answer the pending manual request of g, if any. */
void monitor_manual_done(struct group *g, int status, const char *errmsg)
{
    struct manual_request r = g->manual;

    if (r.cb == NULL)
        return;
    memset(&g->manual, 0, sizeof g->manual);
    rsm_log(status == 0 ? RSM_LOG_INFO : RSM_LOG_WARN,
            r.kind == RSM_FAILOVER_SWITCHOVER ? "switchover"
                                              : "manual-failover",
            "group=%s status=%s", g->cfg.name,
            status == 0 ? "decided" : rsm_strerror(status));
    r.cb(r.arg, status, errmsg ? errmsg : "");
}

static void monitor__proposed_cb(void *arg, int status, const char *errmsg)
{
    struct group *g = arg;
    char q[RSM_ERRMSG_SIZE + 2];

    assert(g->proposing); /* one proposal in flight per group */
    g->proposing = false;
    if (monitor_group_proposal_done(g))
        return; /* dropped meanwhile: freed, or once its links close */
    if (g->manual.proposed)
        monitor_manual_done(g, status, errmsg);
    if (status != 0 && status != RSM_EREJECTED)
        rsm_log(RSM_LOG_WARN, "proposal-failed", "group=%s error=%s",
                g->cfg.name, rsm_log_quote(errmsg ? errmsg : "", q, sizeof q));
    if (g->m->stopping)
        monitor_maybe_free(g->m); /* it may have waited for this one */
    else
        monitor_mark_dirty(g);
}

/* The earliest check_ms of the groups has come: evaluate those due, and
 * wait for the next one. */
static void monitor__deadline_cb(uv_timer_t *t)
{
    struct rsm_monitor *m = t->data;
    int64_t now = monitor_mono_ms(m), next = -1;

    m->deadline_ms = -1;
    for (unsigned i = 0; i < m->cfg.n_groups; i++) {
        struct group *g = m->groups[i];

        if (g->check_ms < 0)
            continue;
        if (g->check_ms <= now) {
            g->check_ms = -1;
            monitor_mark_dirty(g);
        } else if (next < 0 || g->check_ms < next) {
            next = g->check_ms;
        }
    }
    if (next >= 0) {
        m->deadline_ms = next;
        uv_timer_start(&m->deadline, monitor__deadline_cb,
                       (uint64_t)(next - now), 0);
    }
}

void monitor_check_at(struct group *g, int64_t at)
{
    struct rsm_monitor *m = g->m;
    int64_t now = monitor_mono_ms(m);

    if (m->stopping)
        return;
    if (at < now)
        at = now;
    if (g->check_ms < 0 || at < g->check_ms)
        g->check_ms = at;
    if (m->deadline_ms >= 0 && m->deadline_ms <= at)
        return;
    m->deadline_ms = at;
    uv_timer_start(&m->deadline, monitor__deadline_cb, (uint64_t)(at - now), 0);
}

/* When can g's verdict change with nothing heard: the master's pending
 * probe turning late, its silence reaching down_after (it is DOWN exactly
 * down_after_ms after its last valid reply: evaluate right then rather
 * than at the next turn), and likewise the silence an agent reported in
 * a view that votes once it reaches down_after (detector.h). */
static void monitor__arm_checks(struct group *g, const struct rsm_group *cg,
                                const struct rsm_detector_config *dc,
                                int64_t now)
{
    const struct rsm_master_verdict *v = &g->verdict;
    const struct instance *in = monitor_find_instance(g, &cg->master);
    int64_t d = dc->down_after_ms;

    if (in != NULL && g->health[in->index].pending_since_ms >= 0 &&
        !rsm_detector_late(&g->health[in->index], dc, now))
        monitor_check_at(g,
                         g->health[in->index].pending_since_ms + dc->late_ms);
    if (v->status != RSM_MASTER_UNREACHABLE_FROM_AGENT || v->no_reply_ms < 0)
        return;
    if (v->no_reply_ms < d)
        monitor_check_at(g, now + (d - v->no_reply_ms));
    for (unsigned i = 0; i < g->n_views; i++) {
        const struct rsm_agent_view *w = &g->views[i];
        int64_t at = g->views_ms[i] + (d - w->no_reply_ms);

        if (rsm_addr_equal(&w->master, &cg->master) &&
            (w->state == RSM_HEALTH_SUSPECT || w->state == RSM_HEALTH_DOWN) &&
            at > now)
            monitor_check_at(g, at);
    }
}

static void monitor__compute_verdict(struct group *g,
                                     const struct rsm_group *cg, int64_t now)
{
    struct rsm_agent_view views[RSM_MAX_AGENTS];
    struct rsm_node_status st;
    struct rsm_verdict_input vin;
    struct rsm_detector_config dc = monitor_group_detector(g);

    assert(cg != NULL && cg->has_master); /* a verdict is about a master */
    rsm_node_get_status(g->m->node, &st);
    for (unsigned i = 0; i < g->n_views; i++) {
        views[i] = g->views[i];
        views[i].age_ms = now - g->views_ms[i];
    }
    if (dc.quorum == 0)
        dc.quorum = st.n_members / 2 + 1;
    memset(&vin, 0, sizeof vin);
    vin.master = &cg->master;
    vin.committed_run_id = cg->master_run_id;
    vin.members = g->health;
    vin.n_members = g->cfg.n_addrs;
    vin.views = views;
    vin.n_views = g->n_views;
    vin.n_agents = st.n_members;
    vin.cfg = &dc;
    vin.now_ms = now;
    bool was_crashed =
        g->verdict.crashed && rsm_addr_equal(&g->verdict_master, &cg->master);
    bool was_ok = g->verdict.status == RSM_MASTER_OK;
    char q[RSM_VERDICT_REASON_MAX + 8], a[RSM_ADDR_STRLEN];

    rsm_detector_master_verdict(&vin, &g->verdict);
    g->verdict_master = cg->master;
    /* The master is suspected: the other agents look at it now (asking
     * for their views makes them probe it), and the replicas are read now
     * and then each probe interval, so that a decision ranks them on
     * fresh offsets. */
    if (was_ok && g->verdict.status != RSM_MASTER_OK) {
        monitor_ask_peers(g->m);
        monitor_group_stir(g);
    }
    if (g->verdict.crashed && !was_crashed)
        rsm_log(RSM_LOG_WARN, "master-crashed",
                "group=%s master=%s refused_ms=%lld votes=%u quorum=%u "
                "reason=%s",
                g->cfg.name, rsm_addr_format(&cg->master, a, sizeof a),
                (long long)g->verdict.down_ms, g->verdict.votes,
                g->verdict.quorum,
                rsm_log_quote(g->verdict.reason, q, sizeof q));
    monitor__arm_checks(g, cg, &dc, now);
}

/* Two reasons that differ only in their numbers ("no reply for 201 ms")
 * say the same thing: log a plan only when its shape changes. */
static bool monitor__same_shape(const char *a, const char *b)
{
    for (;;) {
        while (isdigit((unsigned char)*a))
            a++;
        while (isdigit((unsigned char)*b))
            b++;
        if (*a != *b)
            return false;
        if (*a == '\0')
            return true;
        a++;
        b++;
    }
}

/* With a manual request pending: is plan its decision? If not, answer
 * the request: busy (the plan, driving the failover in flight, goes on),
 * no master yet (the plan goes on), or why no replica can be chosen
 * (false: the plan is dropped and the group planned again without the
 * request). */
static bool monitor__manual_planned(struct group *g, const struct rsm_group *cg,
                                    const struct rsm_planner_plan *plan)
{
    if (plan->kind == RSM_PLAN_PROPOSE &&
        plan->entry.kind == RSM_ENTRY_DECIDE_FAILOVER &&
        plan->entry.failover_kind == g->manual.kind)
        return true;
    if (cg != NULL && cg->in_flight) {
        monitor_manual_done(g, RSM_EBUSY, "a failover is already in progress");
        return true;
    }
    if (cg == NULL || !cg->has_master) {
        monitor_manual_done(g, RSM_ENOTFOUND, "no master recorded yet");
        return true;
    }
    /* the code decides the reply; the reason is the text given with it */
    if (g->manual.kind == RSM_FAILOVER_SWITCHOVER &&
        plan->code == RSM_PLAN_CODE_SWITCHOVER_REFUSED)
        monitor_manual_done(g, RSM_EREJECTED, plan->reason);
    else /* NO_GOOD_REPLICA, or NONE (e.g. waiting for a reading) */
        monitor_manual_done(g, RSM_ENOCANDIDATE, plan->reason);
    return false;
}

/* Is a probe of g sent at or after since still on its way? A manual
 * request is planned on the readings taken after it came (idle
 * instances are read only about once a second). */
static bool monitor__reading_since(const struct group *g, int64_t since)
{
    for (unsigned i = 0; i < g->cfg.n_addrs; i++) {
        if (g->inst[i].probing && g->inst[i].probe_sent_ms >= since)
            return true;
    }
    return false;
}

static void monitor__evaluate(struct group *g)
{
    struct rsm_monitor *m = g->m;
    const struct rsm_group *cg = monitor_committed(g);
    struct rsm_observation obs[RSM_MAX_MEMBERS];
    struct rsm_planner_input pin;
    struct rsm_planner_plan plan;
    int64_t now = monitor_mono_ms(m);
    char q[RSM_PLAN_REASON_MAX + 8];
    struct rsm_detector_config dc = monitor_group_detector(g);
    struct rsm_planner_config pc = monitor_group_planner(g);

    if (!m->acting || m->stopping)
        return;
    for (unsigned i = 0; i < g->cfg.n_addrs; i++)
        rsm_detector_observe(&g->health[i], &dc, now, &obs[i]);
    if (cg != NULL && cg->has_master)
        monitor__compute_verdict(g, cg, now);
    monitor_fence_group(g, cg, obs);
    memset(&pin, 0, sizeof pin);
    pin.group = g->cfg.name;
    pin.committed = cg;
    pin.obs = obs;
    pin.n_obs = g->cfg.n_addrs;
    pin.verdict = (cg != NULL && cg->has_master) ? &g->verdict : NULL;
    pin.cfg = &pc;
    pin.leader_id = m->cfg.agent_id;
    pin.now_ms = rsm_clock_wall_ms();
    /* a manual request waits while an entry of the group is being
     * committed: the state it would be judged on is about to change */
    if (cg != NULL && cg->has_master &&
        rsm_addr_equal(&g->failover_cmd.addr, &cg->master)) {
        pin.failover_cmd = g->failover_cmd.use;
        pin.failover_cmd_error = g->failover_cmd.error;
    }
    pin.pause = &g->pause;
    if (g->manual.cb != NULL && !g->manual.proposed && !g->proposing &&
        !g->manual.checking && !monitor__reading_since(g, g->manual.asked_ms)) {
        if (g->manual.kind == RSM_FAILOVER_SWITCHOVER) {
            pin.switchover = true;
            pin.switchover_to = g->manual.to;
            pin.switchover_timeout_ms = g->manual.timeout_ms;
        } else {
            pin.manual_failover = true;
            pin.force = g->manual.force;
        }
    }
    rsm_planner_next(&pin, &plan);
    if ((pin.manual_failover || pin.switchover) &&
        !monitor__manual_planned(g, cg, &plan)) {
        monitor_mark_dirty(g); /* plan again, without the request */
        return;
    }

    if (!monitor__same_shape(plan.reason, g->last_reason)) {
        snprintf(g->last_reason, sizeof g->last_reason, "%s", plan.reason);
        rsm_log(RSM_LOG_INFO, "plan", "group=%s kind=%s state=%s reason=%s",
                g->cfg.name, rsm_plan_kind_str(plan.kind),
                rsm_failover_state_str(plan.state),
                rsm_log_quote(plan.reason, q, sizeof q));
    }
    /* While an entry of the group is on its way to commit, the committed
     * state the plan was computed from is about to change (an abort, a
     * completed step): act on nothing until it has been applied. */
    if (g->proposing)
        return;
    if (plan.kind == RSM_PLAN_PROPOSE) {
        g->proposing = true;
        if (rsm_node_propose(m->node, &plan.entry, monitor__proposed_cb, g) !=
            0) {
            g->proposing = false;
            return;
        }
        if (g->manual.cb != NULL &&
            plan.entry.kind == RSM_ENTRY_DECIDE_FAILOVER &&
            plan.entry.failover_kind == g->manual.kind)
            g->manual.proposed = true;
        rsm_log(RSM_LOG_INFO, "propose", "group=%s entry=%s epoch=%llu",
                g->cfg.name, rsm_entry_kind_str(plan.entry.kind),
                (unsigned long long)plan.entry.epoch);
        monitor__emit_events(g, &plan);
    } else if (plan.kind == RSM_PLAN_REDIS) {
        monitor__emit_events(g, &plan);
        for (unsigned i = 0; i < plan.n_actions; i++)
            monitor_send_action(g, &plan.actions[i], plan.epoch);
    }
    if (plan.watch.port != 0) {
        struct instance *in = monitor_find_instance(g, &plan.watch);
        if (in != NULL) {
            in->fast = true;
            monitor_arm_fast(m, 10);
        }
    }
}

static void monitor__kick_cb(uv_timer_t *t)
{
    struct rsm_monitor *m = t->data;

    m->kick_armed = false;
    for (unsigned i = 0; i < m->cfg.n_groups; i++) {
        if (m->groups[i]->dirty) {
            m->groups[i]->dirty = false;
            monitor__evaluate(m->groups[i]);
        }
    }
}

/* Evaluate g soon, outside of the current callback (never from inside a
 * raft callback: proposing from there would re-enter raft). */
void monitor_mark_dirty(struct group *g)
{
    struct rsm_monitor *m = g->m;

    g->changes++;
    g->dirty = true;
    if (!m->kick_armed && !m->stopping) {
        m->kick_armed = true;
        uv_timer_start(&m->kick, monitor__kick_cb, 0, 0);
    }
}

/* With many instances, sending every probe at once holds the loop for
 * the whole burst, and the replies of the first wait for the last to be
 * sent: probe latency grows with the number of instances. So groups are
 * probed in turns (group i in turn i % n_slices), one turn every
 * interval / n_slices ms, each group still once per interval: about
 * SLICE_PROBES instances per turn, turns at least MIN_SLICE_MS apart, and
 * a whole number of ms each. A small configuration has one turn: one
 * wakeup per interval, as before. */
#define SLICE_PROBES 32
#define MIN_SLICE_MS 10

unsigned monitor_slice_count(const struct rsm_monitor_config *cfg)
{
    uint64_t n = 0, want, most = cfg->probe_interval_ms / MIN_SLICE_MS;

    for (unsigned i = 0; i < cfg->n_groups; i++)
        n += cfg->groups[i].n_addrs;
    /* idle instances are probed about once a second, not each interval
     * (monitor_probe.c): count the probes of one interval at that rate */
    if (cfg->probe_interval_ms < 1000)
        n = (n * cfg->probe_interval_ms + 999) / 1000;
    want = (n + SLICE_PROBES - 1) / SLICE_PROBES;
    if (want > most)
        want = most;
    if (want > cfg->n_groups)
        want = cfg->n_groups;
    while (want > 1 && cfg->probe_interval_ms % want != 0)
        want--;
    return want > 0 ? (unsigned)want : 1;
}

/* The other agents' views count only once this leader has had no valid
 * reply from a committed master (detector.h: the verdict looks at them
 * only then, and only at fresh ones). While every master answers, asking
 * for them each interval would cost every agent a round trip for nothing;
 * from a master's first failed probe on they are asked every interval,
 * long before its down_after_ms runs out. */
static bool monitor__views_needed(const struct rsm_monitor *m)
{
    for (unsigned i = 0; i < m->cfg.n_groups; i++) {
        if (m->groups[i]->verdict.status != RSM_MASTER_OK)
            return true;
    }
    return false;
}

/* Probe every group now (a new leader looks at once). */
void monitor_probe_all(struct rsm_monitor *m)
{
    for (unsigned i = 0; i < m->cfg.n_groups; i++) {
        struct group *g = m->groups[i];

        if (m->acting)
            monitor_group_stir(g);
        else
            monitor_probe_group(g);
    }
    if (m->acting) {
        monitor_ask_peers(m);
        for (unsigned i = 0; i < m->cfg.n_groups; i++)
            monitor_mark_dirty(m->groups[i]);
    }
}

uint64_t rsm_monitor_anchor_ms(const struct rsm_monitor *m)
{
    uint64_t period = m->cfg.probe_interval_ms / m->n_slices;
    uint64_t tick = rsm_node_tick_period_ms(m->node);

    /* every raft tick on the grid of the turns: the grid stays put when
     * the anchor moves from one tick to the next */
    if (tick == 0 || tick % period != 0)
        return 0;
    return rsm_node_tick_ms(m->node);
}

/* Turns fall on the anchor plus multiples of their period (see
 * rsm_monitor_anchor_ms), and so does the events poll (events.c): with
 * the defaults, an idle agent wakes up once for raft's heartbeat, its
 * probes and the poll. Re-armed from the anchor at each turn, so that a
 * late turn or a loop time updated meanwhile (rsm_redis_command does) does
 * not shift it; never later than one period from now. */
uint64_t monitor_until_next_turn(const struct rsm_monitor *m)
{
    uint64_t period = m->cfg.probe_interval_ms / m->n_slices;
    uint64_t now = uv_now(m->loop), anchor = rsm_monitor_anchor_ms(m);

    if (anchor > now)
        anchor = now;
    return period - (now - anchor) % period;
}

void monitor_tick_cb(uv_timer_t *t)
{
    struct rsm_monitor *m = t->data;
    unsigned s;

    /* a snapshot installed from the leader changes groups without an
     * entry applied: look once per interval whether anything changed */
    if (m->slice == 0)
        monitor_sync_groups(m, false);
    s = m->slice;
    uv_timer_start(&m->tick, monitor_tick_cb, monitor_until_next_turn(m), 0);
    m->slice = (s + 1) % m->n_slices;
    for (unsigned i = s; i < m->cfg.n_groups; i += m->n_slices)
        monitor_probe_group(m->groups[i]);
    if (m->acting) {
        if (s == 0 && monitor__views_needed(m))
            monitor_ask_peers(m);
        if (s == 0)
            monitor_push_views(m);
        /* an idle group is evaluated at each of its probe results and
         * its checks (monitor_check_at); a busy one each turn too, for
         * what only time changes (the planner's waits) */
        int64_t now = monitor_mono_ms(m);

        for (unsigned i = s; i < m->cfg.n_groups; i += m->n_slices) {
            if (monitor_group_busy(m->groups[i], now))
                monitor_mark_dirty(m->groups[i]);
        }
    }
}
