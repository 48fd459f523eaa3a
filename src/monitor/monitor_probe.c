/* monitor_probe.c - probing the instances: one probe (INFO on the leader,
 * PING on a follower), its result fed to the detector, the latency
 * histogram, the fast re-probe of a failing master, and the crash path's
 * gathering of evidence (monitor__crash_gather). */
#include "monitor_int.h"
#include "rsm/err.h"
#include "rsm/log.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Probing
 * ---------------------------------------------------------------------- */

/* One probe of one instance: INFO persistence, server and replication
 * pipelined (leader), or a PING (follower). Freed when the last reply
 * arrives. */
struct probe {
    struct instance *in;
    unsigned pending;
    int64_t sent_ms;
    uint64_t sent_ns; /* uv_hrtime(), for the latency histogram */
    struct rsm_probe_result res;
    bool failed;
    bool canceled;
};

static enum rsm_probe_outcome monitor__outcome_of(int status)
{
    switch (status) {
    case RSM_ETIMEOUT:
        return RSM_PROBE_TIMEOUT;
    case RSM_EREPLY:
    case RSM_EAUTH:
        return RSM_PROBE_ERROR_REPLY;
    case RSM_EPROTO:
        return RSM_PROBE_BAD_REPLY;
    case RSM_EREFUSED:
        return RSM_PROBE_CONNECT_REFUSED;
    default:
        return RSM_PROBE_REFUSED;
    }
}

/* A probe's link failed (not an error reply): say why, once per distinct
 * reason, so that a link that cannot work (a TLS certificate refused, a
 * plaintext link on a TLS port) is explained without a line per probe. */
static void monitor__log_probe_error(struct instance *in,
                                     const struct rsm_redis_result *res)
{
    char a[RSM_ADDR_STRLEN], q[RSM_ERRMSG_SIZE + 2], err[RSM_ERRMSG_SIZE];

    if (res->status == RSM_EREPLY || res->status == RSM_ECANCELED)
        return;
    monitor_result_errmsg(res, err, sizeof err);
    if (strcmp(err, in->probe_error) == 0)
        return;
    snprintf(in->probe_error, sizeof in->probe_error, "%s", err);
    rsm_addr_format(&in->g->cfg.addrs[in->index], a, sizeof a);
    rsm_log(RSM_LOG_WARN, "probe-error", "group=%s addr=%s error=%s",
            in->g->cfg.name, a, rsm_log_quote(err, q, sizeof q));
}

/* Do two INFO readings of one instance differ in what the planner acts
 * on: role, master, link, sync? (Offsets move all the time.) */
static bool monitor__info_changed(const struct rsm_info *a,
                                  const struct rsm_info *b)
{
    return a->role != b->role || !rsm_addr_equal(&a->master, &b->master) ||
           a->link_up != b->link_up ||
           a->sync_in_progress != b->sync_in_progress ||
           a->loading != b->loading || strcmp(a->run_id, b->run_id) != 0;
}

/* Record the first failure of a probe; later replies do not undo it. */
static void monitor__probe_fail(struct probe *p,
                                const struct rsm_redis_result *res)
{
    if (p->failed)
        return;
    monitor__log_probe_error(p->in, res);
    p->failed = true;
    p->res.outcome = monitor__outcome_of(res->status);
    if (res->status == RSM_EREPLY && res->reply != NULL)
        p->res.alive = rsm_detector_alive_error(res->reply->str);
    if (res->status == RSM_ECANCELED)
        p->canceled = true;
}

static void monitor__probe_take_reply(struct probe *p,
                                      const struct rsm_redis_result *res)
{
    const redisReply *r = res->reply;
    char err[RSM_ERRMSG_SIZE];

    if (res->status != 0) {
        monitor__probe_fail(p, res);
        return;
    }
    if (r->type == REDIS_REPLY_STATUS)
        return; /* PONG */
    if (r->type != REDIS_REPLY_STRING ||
        rsm_info_parse(&p->res.info, r->str, r->len, err, sizeof err) != 0) {
        if (!p->failed) {
            p->failed = true;
            p->res.outcome = RSM_PROBE_BAD_REPLY;
        }
        return;
    }
    p->res.has_info = true;
}

const double rsm_monitor_latency_bounds_ms[RSM_MONITOR_LATENCY_BUCKETS - 1] = {
    0.25, 0.5, 1, 2.5, 5, 10, 20, 50, 100, 250, 1000};

/* Answers (valid or "alive" errors) go into the histogram; the rest are
 * counted as failed. */
static void monitor__count_latency(struct rsm_monitor_latency *l,
                                   const struct rsm_probe_result *r,
                                   uint64_t ns)
{
    double ms = (double)ns / 1e6;
    unsigned b = 0;

    if (r->outcome != RSM_PROBE_OK && r->alive == RSM_ALIVE_NONE) {
        l->failed++;
        return;
    }
    while (b < RSM_MONITOR_LATENCY_BUCKETS - 1 &&
           ms > rsm_monitor_latency_bounds_ms[b])
        b++;
    l->buckets[b]++;
    l->count++;
    l->sum_ms += ms;
}

/* The committed master refused a connect (crash evidence, detector.h):
 * gather the rest of the evidence now rather than at the next tick. The
 * leader asks the other agents for their views and probes every other
 * instance that has not reported its link down since the first refusal.
 * Then probe the master again soon: 10 ms after the first failure, then
 * at most every 50 ms, and exactly when the refusals reach
 * crash_confirm_ms. */
static uint64_t monitor__crash_gather(struct instance *in)
{
    struct group *g = in->g;
    struct rsm_monitor *m = g->m;
    const struct rsm_health *h = &g->health[in->index];
    struct rsm_detector_config dc = monitor_group_detector(g);
    int64_t now = monitor_mono_ms(m), confirm_at;

    assert(h->refusals > 0 && h->refused_since_ms >= 0);
    if (m->acting) {
        monitor_ask_peers(m);
        for (unsigned j = 0; j < g->cfg.n_addrs; j++) {
            const struct rsm_health *r = &g->health[j];

            if (j != in->index &&
                (r->info_ms < h->refused_since_ms || r->info.link_up))
                monitor_probe(&g->inst[j]);
        }
    }
    if (h->refusals == 1)
        return 10;
    confirm_at = h->refused_since_ms + dc.crash_confirm_ms;
    if (confirm_at > now && confirm_at - now < 50)
        return (uint64_t)(confirm_at - now);
    return 50;
}

static void monitor__reckon_due(struct instance *in, int64_t sent_ms);

static void monitor__probe_done(struct probe *p)
{
    struct instance *in = p->in;
    struct group *g = in->g;
    struct rsm_monitor *m = g->m;

    assert(in->probing); /* one probe in flight per instance */
    in->probing = false;
    if (p->canceled && !monitor_group_gone(g))
        rsm_detector_probe_pending(&g->health[in->index], -1);
    if (!p->canceled && !monitor_group_gone(g)) {
        g->changes++;
        p->res.time_ms = monitor_mono_ms(m);
        if (p->failed)
            p->res.has_info = false;
        else
            p->res.outcome = RSM_PROBE_OK;
        if (!p->failed)
            in->probe_error[0] = '\0';
        int64_t restarted = g->health[in->index].restarted_at_ms;
        /* A role, master or link seen changing: whatever follows (a
         * failover by someone, a resync) is read at once, then each probe
         * interval for a while, not at the idle rate. */
        bool changed =
            m->acting && p->res.has_info && g->health[in->index].has_info &&
            monitor__info_changed(&g->health[in->index].info, &p->res.info);

        monitor__count_latency(&g->latency, &p->res, uv_hrtime() - p->sent_ns);
        /* results are fed in the order their probes were sent */
        assert(p->sent_ms >= in->fed_probe_sent_ms &&
               p->res.time_ms >= p->sent_ms);
        if (rsm_detector_feed(&g->health[in->index], &p->res) == 0)
            in->fed_probe_sent_ms = p->sent_ms;
        /* a group added by SENTINEL MONITOR learns its replicas from its
         * master's INFO, like Sentinel */
        if (m->acting && p->res.has_info && monitor_is_committed_master(in))
            monitor_discover_replicas(g, &p->res.info);
        /* The committed master restarted: the planner ranks its replicas
         * only on readings taken after that (a replica may just have been
         * wiped by a sync from it), so read them now, not at the tick. */
        if (m->acting && monitor_is_committed_master(in) &&
            g->health[in->index].restarted_at_ms != restarted) {
            for (unsigned j = 0; j < g->cfg.n_addrs; j++) {
                if (j != in->index)
                    monitor_probe(&g->inst[j]);
            }
        }
        if (changed)
            monitor_group_stir(g);
        monitor__reckon_due(in, p->sent_ms);
        if (m->acting)
            monitor_mark_dirty(g);
        /* A master that stops answering may be restarting empty: look
         * again soon rather than at the next tick, so that the leader
         * sees the new run_id before its replicas resync from it. Only
         * until down_after, after which it is DOWN anyway. A refused
         * connect may be a crash: every agent looks again soon, the
         * followers too, so that their views say so (monitor__crash_gather). */
        if (p->failed && monitor_is_committed_master(in) &&
            rsm_detector_no_reply_ms(&g->health[in->index],
                                     monitor_mono_ms(m)) <
                monitor_group_detector(g).down_after_ms) {
            bool refused = g->health[in->index].refusals > 0;
            bool closed = p->res.outcome == RSM_PROBE_REFUSED;

            if (refused && monitor_group_detector(g).crash_confirm_ms > 0) {
                in->fast = true;
                monitor_arm_fast(m, monitor__crash_gather(in));
            } else if (m->acting || (closed && monitor_crash_path_on(g))) {
                in->fast = true;
                monitor_arm_fast(m, 10);
            }
        }
        if (in->reprobe) {
            in->reprobe = false;
            monitor_probe(in);
        }
    }
    free(p);
}

void monitor_on_drop(struct rsm_redis *r, void *arg)
{
    struct instance *in = arg;
    struct rsm_monitor *m = in->g->m;

    assert(in->link == r);
    if (monitor_group_gone(in->g) || !monitor_crash_path_on(in->g) ||
        !monitor_is_committed_master(in))
        return;
    rsm_log(RSM_LOG_DEBUG, "master-link-dropped", "group=%s", in->g->cfg.name);
    in->fast = true;
    monitor_arm_fast(m, 0);
}

bool monitor_is_committed_master(const struct instance *in)
{
    const struct rsm_group *cg = monitor_committed(in->g);

    return cg != NULL && cg->has_master &&
           rsm_addr_equal(&cg->master, &in->g->cfg.addrs[in->index]);
}

static void monitor__fast_cb(uv_timer_t *t)
{
    struct rsm_monitor *m = t->data;

    m->fast_armed = false;
    for (unsigned i = 0; i < m->cfg.n_groups; i++) {
        for (unsigned j = 0; j < m->groups[i]->cfg.n_addrs; j++) {
            struct instance *in = &m->groups[i]->inst[j];
            if (in->fast && (m->acting || monitor_is_committed_master(in))) {
                in->fast = false;
                monitor_probe(in);
            }
        }
    }
}

/* Run monitor__fast_cb in delay_ms, or sooner if it is already due sooner. */
void monitor_arm_fast(struct rsm_monitor *m, uint64_t delay_ms)
{
    uint64_t now = uv_now(m->loop);

    if (m->stopping)
        return;
    if (m->fast_armed && m->fast_due_ms <= now + delay_ms)
        return;
    m->fast_armed = true;
    m->fast_due_ms = now + delay_ms;
    uv_timer_start(&m->fast, monitor__fast_cb, delay_ms, 0);
}

static void monitor__probe_cb(struct rsm_redis *r,
                              const struct rsm_redis_result *res, void *arg)
{
    struct probe *p = arg;

    (void)r;
    assert(r == p->in->link); /* the instance's own link replies */
    monitor__probe_take_reply(p, res);
    if (--p->pending == 0)
        monitor__probe_done(p);
}

/* How often the leader reads INFO server and persistence of an instance
 * that gives no other reason to (a safety refresh; see below). */
#define FULL_PROBE_MS 10000

/* Does this probe of in need INFO server and persistence besides INFO
 * replication? Their fields (run_id, redis_version, loading) change only
 * with a new process, which means a new connection, or while the data set
 * is (re)loaded. So: on a link that will (re)connect, before the first
 * INFO, while the latest INFO says loading, for a replica whose link is
 * down or syncing (it may load an RDB next), and every FULL_PROBE_MS. The
 * other probes read INFO replication only: a third of the commands. */
static bool monitor__needs_full_probe(const struct instance *in, int64_t now)
{
    const struct rsm_health *h = &in->g->health[in->index];
    const struct rsm_info *i = &h->info;

    return !rsm_redis_connected(in->link) || !h->has_info || i->loading ||
           i->run_id[0] == '\0' || in->full_probe_ms < 0 ||
           now - in->full_probe_ms >= FULL_PROBE_MS ||
           (i->role == RSM_ROLE_REPLICA &&
            (!i->link_up || i->sync_in_progress));
}

void monitor_probe(struct instance *in)
{
    static const char *const info_repl[] = {"INFO", "replication"};
    static const char *const info_server[] = {"INFO", "server"};
    static const char *const info_pers[] = {"INFO", "persistence"};
    static const char *const ping[] = {"PING"};
    struct rsm_monitor *m = in->g->m;
    uint64_t timeout = monitor_probe_timeout(m);
    struct probe *p;

    assert(in->index < in->g->cfg.n_addrs && &in->g->inst[in->index] == in);
    if (in->probing) {
        in->reprobe = true;
        return;
    }
    p = calloc(1, sizeof *p);
    if (p == NULL)
        return;
    p->in = in;
    p->sent_ms = monitor_mono_ms(m);
    p->sent_ns = uv_hrtime();
    rsm_info_init(&p->res.info);
    if (m->acting && monitor__needs_full_probe(in, p->sent_ms)) {
        /* one write for the three; persistence first: Redis answers
         * INFO while it loads its data, with master_repl_offset 0 until
         * the end, so loading:0 must be read before the offset is */
        static const char *const *const cmds[] = {info_pers, info_server,
                                                  info_repl};
        static const int argc[] = {2, 2, 2};
        if (rsm_redis_commands(in->link, timeout, monitor__probe_cb, p, 3, argc,
                               cmds) == 0) {
            p->pending = 3;
            in->full_probe_ms = p->sent_ms;
        }
    } else if (m->acting) {
        /* the fields of the other two sections, as last read (the reply
         * sets only the replication fields) */
        const struct rsm_info *last = &in->g->health[in->index].info;

        memcpy(p->res.info.run_id, last->run_id, sizeof last->run_id);
        memcpy(p->res.info.redis_version, last->redis_version,
               sizeof last->redis_version);
        p->res.info.loading = last->loading;
        if (rsm_redis_command(in->link, timeout, monitor__probe_cb, p, 2,
                              info_repl) == 0)
            p->pending = 1;
    } else if (rsm_redis_command(in->link, timeout, monitor__probe_cb, p, 1,
                                 ping) == 0) {
        p->pending++;
    }
    if (p->pending == 0) {
        free(p);
        return;
    }
    in->probing = true;
    in->probe_sent_ms = p->sent_ms;
    monitor__reckon_due(in, p->sent_ms);
    rsm_detector_probe_pending(&in->g->health[in->index], p->sent_ms);
    /* a master that does not answer in time is suspected then, not when
     * the probe times out or the next one is due */
    if (m->acting && monitor_is_committed_master(in))
        monitor_check_at(in->g,
                         p->sent_ms + monitor_group_detector(in->g).late_ms);
}

/* ------------------------------------------------------------------------
 * Probe rates
 *
 * Liveness is the time since the latest valid reply, counted while a
 * probe is owed (detector.h): a hang is DOWN at its last reply +
 * down_after as long as a probe is on its way by then, and the probe
 * period only has to stay below down_after. So the idle rates are low:
 *   acting leader, committed master: INFO replication every down_after/2
 *     (at most 1 s): it doubles as the liveness probe, and leaves half of
 *     down_after for a reply to be late before the silence could count;
 *   acting leader, other instances: INFO replication about once a second
 *     (down_after if shorter): their offsets and links matter only when
 *     deciding, and then they are read at once (monitor_group_stir);
 *   follower, committed master: PING about once a second (down_after if
 *     shorter): its view is asked for only when the leader suspects the
 *     master, and then it looks at once (monitor_probe_masters_asked).
 * A busy group (monitor_group_busy: its master not OK, a failover or a
 * request in flight, a change seen lately) and an instance not settled
 * (not UP, loading, a replica not linked, a role just taken) are probed
 * every probe interval, as before. A probe interval is the floor of every
 * period, and a reply later than one makes the instance suspect.
 * ---------------------------------------------------------------------- */

/* A role this young is not settled yet: a replica that just took it
 * links and syncs next. */
#define ROLE_SETTLE_MS 2000

/* The slowest idle period. */
#define IDLE_MAX_MS 1000

static int64_t monitor__idle_period(const struct group *g, bool master)
{
    int64_t d = monitor_group_detector(g).down_after_ms;
    int64_t iv = master ? d / 2 : d;
    int64_t floor = (int64_t)g->m->cfg.probe_interval_ms;

    if (iv > IDLE_MAX_MS)
        iv = IDLE_MAX_MS;
    return iv > floor ? iv : floor;
}

bool monitor_group_busy(const struct group *g, int64_t now)
{
    const struct rsm_group *cg;

    if (g->verdict.status != RSM_MASTER_OK || g->manual.cb != NULL ||
        g->proposing || now < g->busy_until_ms)
        return true;
    cg = monitor_committed(g); /* a lookup: last */
    return cg == NULL || !cg->has_master || cg->in_flight;
}

/* Is the instance in a state that can change on its own soon? */
static bool monitor__unsettled(const struct instance *in, int64_t now)
{
    const struct rsm_health *h = &in->g->health[in->index];
    const struct rsm_info *i = &h->info;

    return !h->has_info || h->failures > 0 || i->loading ||
           h->restarted_empty || h->empty_pending ||
           now - h->role_since_ms < ROLE_SETTLE_MS ||
           (i->role == RSM_ROLE_REPLICA &&
            (!i->link_up || i->sync_in_progress));
}

/* How long after its latest probe the acting leader probes in again. */
static int64_t monitor__probe_period(const struct instance *in, bool busy,
                                     int64_t now)
{
    const struct group *g = in->g;
    struct rsm_detector_config dc = monitor_group_detector(g);
    bool master = monitor_is_committed_master(in);
    int64_t iv = (int64_t)g->m->cfg.probe_interval_ms;

    /* a replica that is gone is looked for at the idle rate, like
     * Sentinel; a master that is gone is the failover's business */
    if (!master &&
        rsm_detector_state(&g->health[in->index], &dc, now) == RSM_HEALTH_DOWN)
        return monitor__idle_period(g, false);
    if (busy || monitor__unsettled(in, now))
        return iv;
    return monitor__idle_period(g, master);
}

/* Turns fall every probe interval: a period that ends a few ms after a
 * turn is taken at that turn, not one interval later. */
#define DUE_SLACK_MS 5

static bool monitor__due(const struct instance *in, int64_t period, int64_t now)
{
    return in->probe_sent_ms < 0 ||
           now - in->probe_sent_ms >= period - DUE_SLACK_MS;
}

/* in's next turn, after a probe sent at sent_ms: reckoned at the send and
 * again when its result is in (the state it brings may shorten it), so
 * that a turn only compares times. A group that turns busy is read at
 * once (monitor_group_stir), which reckons again. */
static void monitor__reckon_due(struct instance *in, int64_t sent_ms)
{
    const struct group *g = in->g;
    int64_t now = monitor_mono_ms(g->m), period;

    if (g->m->acting)
        period = monitor__probe_period(in, monitor_group_busy(g, now), now);
    else
        period = monitor__idle_period(g, false);
    in->due_ms = sent_ms + period - DUE_SLACK_MS;
}

void monitor_probe_group(struct group *g)
{
    int64_t now = monitor_mono_ms(g->m);

    for (unsigned i = 0; i < g->cfg.n_addrs; i++) {
        struct instance *in = &g->inst[i];

        if (in->probing || (in->probe_sent_ms >= 0 && now < in->due_ms))
            continue;
        if (g->m->acting || monitor_is_committed_master(in))
            monitor_probe(in);
    }
}

void monitor_group_stir(struct group *g)
{
    int64_t now = monitor_mono_ms(g->m);

    if (!g->m->acting || monitor_group_gone(g))
        return;
    g->busy_until_ms = now + BUSY_HOLD_MS;
    for (unsigned i = 0; i < g->cfg.n_addrs; i++) {
        /* one just sent reads what there is to read */
        if (g->inst[i].probe_sent_ms != now)
            monitor_probe(&g->inst[i]);
    }
}

void monitor_probe_masters_asked(struct rsm_monitor *m)
{
    int64_t now = monitor_mono_ms(m);

    if (m->acting || m->stopping)
        return;
    for (unsigned i = 0; i < m->cfg.n_groups; i++) {
        struct group *g = m->groups[i];

        for (unsigned j = 0; j < g->cfg.n_addrs; j++) {
            struct instance *in = &g->inst[j];

            if (monitor_is_committed_master(in) && !in->probing &&
                monitor__due(in, (int64_t)m->cfg.probe_interval_ms, now))
                monitor_probe(in);
        }
    }
}
