/* monitor.c - probes, the leader loop and the execution of committed
 * decisions (see monitor.h for the contract).
 *
 * Time: the detector runs on the loop's monotonic clock (uv_now); the
 * planner gets the wall clock, because it compares it with times recorded
 * in committed entries (decided_at_ms, last_failover_end_ms) that another
 * agent's wall clock wrote. */
#include "rsm/monitor.h"
#include "rsm/clock.h"
#include "rsm/err.h"
#include "rsm/groupconf.h"
#include "rsm/log.h"
#include "rsm/redis.h"

#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

struct group;

/* What the leader knows of one instance's fence settings (fence.h). */
struct fence_state {
    struct rsm_fence_setting cur;   /* as last read or set */
    char run_id[RSM_RUNID_LEN + 1]; /* the Redis process cur is about */
    unsigned pending;               /* reads and sets in flight */
    bool unusable;                  /* CONFIG refused by this process */
    int64_t retry_ms;               /* no new attempt before (loop time) */
    unsigned failures;              /* failed reads and sets in a row */
    int64_t known_ms;               /* when cur was read or set */
};

/* One configured Redis instance: its link and what the detector knows. */
struct instance {
    struct group *g;
    size_t index; /* into g->health */
    struct rsm_redis *link;
    bool probing;                   /* a probe is in flight */
    bool reprobe;                   /* probe again when it ends */
    bool fast;                      /* probe again at the fast timer */
    int64_t probe_sent_ms;          /* of the probe in flight */
    int64_t fed_probe_sent_ms;      /* of the latest result fed */
    bool acting;                    /* an action is in flight */
    struct rsm_redis_action action; /* the latest action sent */
    int64_t action_done_ms;         /* when it completed, -1 never */
    struct fence_state fence;       /* leader only */
};

/* A SENTINEL FAILOVER request waiting for its decision. */
struct manual_request {
    rsm_node_done_cb cb; /* NULL: none */
    void *arg;
    enum rsm_failover_kind kind; /* MANUAL or SWITCHOVER */
    struct rsm_addr to;          /* SWITCHOVER target, port 0: any */
    int64_t timeout_ms;          /* SWITCHOVER, 0: default */
    bool proposed;               /* its DecideFailover is being committed */
    bool checking;               /* SWITCHOVER: waiting for the check of
                                    FAILOVER on the master */
    bool force;                  /* MANUAL: forced (planner input force) */
};

/* What a "FAILOVER <bad-argument>" (or a FAILOVER TO) told us of the
 * FAILOVER command on one instance. */
struct failover_cmd_info {
    struct rsm_addr addr;
    enum rsm_failover_cmd_use use;
    char error[RSM_REASON_MAX];
};

struct group {
    struct rsm_monitor *m;
    struct rsm_monitor_group_config cfg;
    struct manual_request manual;
    struct rsm_addr verdict_master; /* what g->verdict is about */
    struct rsm_health health[RSM_MAX_MEMBERS];
    struct instance inst[RSM_MAX_MEMBERS];
    bool proposing; /* an entry is being committed */
    bool dirty;     /* evaluate at the next kick */
    struct rsm_master_verdict verdict;
    char last_reason[RSM_PLAN_REASON_MAX];
    unsigned n_views;
    struct rsm_agent_view views[RSM_MAX_AGENTS]; /* age_ms = 0 */
    int64_t views_ms[RSM_MAX_AGENTS];            /* when received */
    struct rsm_monitor_latency latency;          /* of answered probes */
    struct rsm_pause_record pause;               /* of a pause switchover: the
                                                    acting leader's own, dropped
                                                    when acting starts or stops */
    struct failover_cmd_info failover_cmd;       /* last learnt */
    unsigned check_seq; /* of the latest FAILOVER check */
};

/* Another agent the leader asks for its views. */
struct peer {
    struct rsm_monitor *m;
    uint64_t id;
    struct rsm_addr api;
    struct rsm_redis *link;
    bool asking;
    enum rsm_identity_verdict identity; /* of the latest answer */
    char problem[RSM_IDENTITY_WHY_MAX]; /* why it is not counted, "" */
    bool verified;     /* its latest RSM VIEWS named it, on its current link:
                          the leader's view may be pushed there */
    int64_t verify_ms; /* when it was last asked to name itself for that */
};

struct rsm_monitor {
    uv_loop_t *loop;
    struct rsm_monitor_config cfg;
    struct rsm_node *node;
    rsm_monitor_event_cb event_cb;
    void *event_arg;
    uv_timer_t tick;   /* every probe interval / n_slices */
    unsigned n_slices; /* groups probed in turns, see slice_count() */
    unsigned slice;    /* the turn of the next tick */
    uv_timer_t kick;   /* 0 ms: evaluate dirty groups */
    bool kick_armed;
    uv_timer_t deadline; /* a master's down_after runs out */
    uv_timer_t fast;     /* re-probe a failing master soon */
    bool fast_armed;
    uint64_t fast_due_ms; /* loop time the fast timer fires, if armed */
    int64_t deadline_ms;  /* when it fires, -1 if not armed */
    bool acting;          /* leader with its barrier committed */
    struct group *groups;
    unsigned n_peers;
    struct peer peers[RSM_MAX_AGENTS];
    rsm_monitor_push_cb push_cb; /* the leader's view for the peers */
    void (*push_free)(char **payloads);
    void *push_arg;
    struct rsm_hook *hook; /* runs --on-failover; NULL once stopping */
    bool stopping;
    unsigned pending_close; /* handles and links still closing */
    rsm_monitor_stop_cb stop_cb;
    void *stop_arg;
};

static void probe(struct instance *in);
static void evaluate(struct group *g);
static void maybe_free(struct rsm_monitor *m);

/* ------------------------------------------------------------------------
 * Configuration
 * ---------------------------------------------------------------------- */

void rsm_monitor_config_init(struct rsm_monitor_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->probe_interval_ms = 100;
    rsm_detector_config_init(&cfg->detector);
    cfg->detector.quorum = 0; /* majority of the agents */
    rsm_planner_config_init(&cfg->planner);
    rsm_hook_config_init(&cfg->hook);
    rsm_fence_config_init(&cfg->fence);
}

void rsm_monitor_config_free(struct rsm_monitor_config *cfg)
{
    free(cfg->groups);
    cfg->groups = NULL;
    cfg->n_groups = 0;
    cfg->cap_groups = 0;
}

/* Room for one more group in cfg->groups, doubling. */
static int grow_groups(struct rsm_monitor_config *cfg)
{
    struct rsm_monitor_group_config *g;
    unsigned cap;

    if (cfg->n_groups < cfg->cap_groups)
        return 0;
    cap = cfg->cap_groups ? cfg->cap_groups * 2 : 4;
    if (cap > RSM_MAX_GROUPS)
        cap = RSM_MAX_GROUPS;
    g = realloc(cfg->groups, cap * sizeof *g);
    if (g == NULL)
        return RSM_ENOMEM;
    cfg->groups = g;
    cfg->cap_groups = cap;
    return 0;
}

static int check_group_name(const char *name, size_t n, char *errmsg,
                            size_t errlen)
{
    if (n == 0)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "empty group name");
    if (n >= RSM_GROUP_NAME_MAX)
        return rsm_errf(RSM_EINVAL, errmsg, errlen,
                        "group name longer than %d characters",
                        RSM_GROUP_NAME_MAX - 1);
    for (size_t i = 0; i < n; i++) {
        if (!isgraph((unsigned char)name[i]))
            return rsm_errf(RSM_EINVAL, errmsg, errlen,
                            "group name must be printable without spaces");
    }
    return 0;
}

int rsm_monitor_parse_group(struct rsm_monitor_config *cfg, const char *text,
                            char *errmsg, size_t errlen)
{
    const char *eq = strchr(text, '=');
    struct rsm_monitor_group_config gc;
    char buf[4096], *save = NULL, *tok;
    int rv;

    if (eq == NULL)
        return rsm_errf(RSM_EINVAL, errmsg, errlen,
                        "'%s': expected NAME=host:port,host:port", text);
    rv = check_group_name(text, (size_t)(eq - text), errmsg, errlen);
    if (rv != 0)
        return rv;
    if (cfg->n_groups >= RSM_MAX_GROUPS)
        return rsm_errf(RSM_EINVAL, errmsg, errlen,
                        "more than %d groups (one agent watches at most %d)",
                        RSM_MAX_GROUPS, RSM_MAX_GROUPS);
    memset(&gc, 0, sizeof gc);
    memcpy(gc.name, text, (size_t)(eq - text));
    for (unsigned i = 0; i < cfg->n_groups; i++) {
        if (strcmp(cfg->groups[i].name, gc.name) == 0)
            return rsm_errf(RSM_EINVAL, errmsg, errlen,
                            "group '%s' given twice", gc.name);
    }
    if (strlen(eq + 1) >= sizeof buf)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "address list too long");
    strcpy(buf, eq + 1);
    for (tok = strtok_r(buf, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        char e[RSM_ERRMSG_SIZE];
        struct rsm_addr a;
        if (gc.n_addrs == RSM_MAX_MEMBERS)
            return rsm_errf(RSM_EINVAL, errmsg, errlen,
                            "group '%s': more than %d instances", gc.name,
                            RSM_MAX_MEMBERS);
        if (rsm_addr_parse(tok, &a, e, sizeof e) != 0)
            return rsm_errf(RSM_EINVAL, errmsg, errlen, "group '%s': %s",
                            gc.name, e);
        for (unsigned i = 0; i < gc.n_addrs; i++) {
            if (rsm_addr_equal(&gc.addrs[i], &a))
                return rsm_errf(RSM_EINVAL, errmsg, errlen,
                                "group '%s': %s listed twice", gc.name, tok);
        }
        gc.addrs[gc.n_addrs++] = a;
    }
    if (gc.n_addrs == 0)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "group '%s': no instances",
                        gc.name);
    if (grow_groups(cfg) != 0)
        return rsm_errf(RSM_ENOMEM, errmsg, errlen,
                        "out of memory for %u groups", cfg->n_groups + 1);
    cfg->groups[cfg->n_groups++] = gc;
    return 0;
}

/* ------------------------------------------------------------------------
 * Small helpers
 * ---------------------------------------------------------------------- */

static int64_t mono_ms(const struct rsm_monitor *m)
{
    return (int64_t)uv_now(m->loop);
}

static uint64_t probe_timeout(const struct rsm_monitor *m)
{
    uint64_t t = m->cfg.probe_timeout_ms;

    if (t == 0) {
        t = m->cfg.probe_interval_ms * 3;
        if (t < 300)
            t = 300;
    }
    return t;
}

static const struct rsm_group *committed(const struct group *g)
{
    return rsm_fsm_group(rsm_node_fsm(g->m->node), g->cfg.name);
}

/* The detector's and the planner's configuration for g: the agent's
 * flags with the group's committed settings over them (SENTINEL SET,
 * groupconf.h). */
static struct rsm_detector_config group_detector(const struct group *g)
{
    struct rsm_detector_config dc = g->m->cfg.detector;
    const struct rsm_group *cg = committed(g);

    if (cg != NULL)
        rsm_groupconf_apply(&cg->settings, &dc, NULL);
    return dc;
}

/* The crash path (detector.h) is on for g. */
static bool crash_path_on(const struct group *g)
{
    return group_detector(g).crash_confirm_ms > 0;
}

static struct rsm_planner_config group_planner(const struct group *g)
{
    struct rsm_planner_config pc = g->m->cfg.planner;
    const struct rsm_group *cg = committed(g);

    if (cg != NULL)
        rsm_groupconf_apply(&cg->settings, NULL, &pc);
    return pc;
}

static struct instance *find_instance(struct group *g, const struct rsm_addr *a)
{
    for (unsigned i = 0; i < g->cfg.n_addrs; i++) {
        if (rsm_addr_equal(&g->cfg.addrs[i], a))
            return &g->inst[i];
    }
    return NULL;
}

static void mark_dirty(struct group *g);

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

static enum rsm_probe_outcome outcome_of(int status)
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

/* Record the first failure of a probe; later replies do not undo it. */
static void probe_fail(struct probe *p, const struct rsm_redis_result *res)
{
    if (p->failed)
        return;
    p->failed = true;
    p->res.outcome = outcome_of(res->status);
    if (res->status == RSM_EREPLY && res->reply != NULL)
        p->res.alive = rsm_detector_alive_error(res->reply->str);
    if (res->status == RSM_ECANCELED)
        p->canceled = true;
}

static void probe_take_reply(struct probe *p,
                             const struct rsm_redis_result *res)
{
    const redisReply *r = res->reply;
    char err[RSM_ERRMSG_SIZE];

    if (res->status != 0) {
        probe_fail(p, res);
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
static void count_latency(struct rsm_monitor_latency *l,
                          const struct rsm_probe_result *r, uint64_t ns)
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

static bool is_committed_master(const struct instance *in);
static void arm_fast(struct rsm_monitor *m, uint64_t delay_ms);
static void ask_peers(struct rsm_monitor *m);

/* The committed master refused a connect (crash evidence, detector.h):
 * gather the rest of the evidence now rather than at the next tick. The
 * leader asks the other agents for their views and probes every other
 * instance that has not reported its link down since the first refusal.
 * Then probe the master again soon: 10 ms after the first failure, then
 * at most every 50 ms, and exactly when the refusals reach
 * crash_confirm_ms. */
static uint64_t crash_gather(struct instance *in)
{
    struct group *g = in->g;
    struct rsm_monitor *m = g->m;
    const struct rsm_health *h = &g->health[in->index];
    struct rsm_detector_config dc = group_detector(g);
    int64_t now = mono_ms(m), confirm_at;

    assert(h->refusals > 0 && h->refused_since_ms >= 0);
    if (m->acting) {
        ask_peers(m);
        for (unsigned j = 0; j < g->cfg.n_addrs; j++) {
            const struct rsm_health *r = &g->health[j];

            if (j != in->index &&
                (r->info_ms < h->refused_since_ms || r->info.link_up))
                probe(&g->inst[j]);
        }
    }
    if (h->refusals == 1)
        return 10;
    confirm_at = h->refused_since_ms + dc.crash_confirm_ms;
    if (confirm_at > now && confirm_at - now < 50)
        return (uint64_t)(confirm_at - now);
    return 50;
}

static void probe_done(struct probe *p)
{
    struct instance *in = p->in;
    struct group *g = in->g;
    struct rsm_monitor *m = g->m;

    in->probing = false;
    if (!p->canceled && !m->stopping) {
        p->res.time_ms = mono_ms(m);
        if (p->failed)
            p->res.has_info = false;
        else
            p->res.outcome = RSM_PROBE_OK;
        int64_t restarted = g->health[in->index].restarted_at_ms;

        count_latency(&g->latency, &p->res, uv_hrtime() - p->sent_ns);
        if (rsm_detector_feed(&g->health[in->index], &p->res) == 0)
            in->fed_probe_sent_ms = p->sent_ms;
        /* The committed master restarted: the planner ranks its replicas
         * only on readings taken after that (a replica may just have been
         * wiped by a sync from it), so read them now, not at the tick. */
        if (m->acting && is_committed_master(in) &&
            g->health[in->index].restarted_at_ms != restarted) {
            for (unsigned j = 0; j < g->cfg.n_addrs; j++) {
                if (j != in->index)
                    probe(&g->inst[j]);
            }
        }
        if (m->acting)
            mark_dirty(g);
        /* A master that stops answering may be restarting empty: look
         * again soon rather than at the next tick, so that the leader
         * sees the new run_id before its replicas resync from it. Only
         * until down_after, after which it is DOWN anyway. A refused
         * connect may be a crash: every agent looks again soon, the
         * followers too, so that their views say so (crash_gather). */
        if (p->failed && is_committed_master(in) &&
            rsm_detector_no_reply_ms(&g->health[in->index], mono_ms(m)) <
                group_detector(g).down_after_ms) {
            bool refused = g->health[in->index].refusals > 0;
            bool closed = p->res.outcome == RSM_PROBE_REFUSED;

            if (refused && group_detector(g).crash_confirm_ms > 0) {
                in->fast = true;
                arm_fast(m, crash_gather(in));
            } else if (m->acting || (closed && crash_path_on(g))) {
                in->fast = true;
                arm_fast(m, 10);
            }
        }
        if (in->reprobe) {
            in->reprobe = false;
            probe(in);
        }
    }
    free(p);
}

static bool is_committed_master(const struct instance *in)
{
    const struct rsm_group *cg = committed(in->g);

    return cg != NULL && cg->has_master &&
           rsm_addr_equal(&cg->master, &in->g->cfg.addrs[in->index]);
}

static void fast_cb(uv_timer_t *t)
{
    struct rsm_monitor *m = t->data;

    m->fast_armed = false;
    for (unsigned i = 0; i < m->cfg.n_groups; i++) {
        for (unsigned j = 0; j < m->groups[i].cfg.n_addrs; j++) {
            struct instance *in = &m->groups[i].inst[j];
            if (in->fast && (m->acting || is_committed_master(in))) {
                in->fast = false;
                probe(in);
            }
        }
    }
}

/* Run fast_cb in delay_ms, or sooner if it is already due sooner. */
static void arm_fast(struct rsm_monitor *m, uint64_t delay_ms)
{
    uint64_t now = uv_now(m->loop);

    if (m->stopping)
        return;
    if (m->fast_armed && m->fast_due_ms <= now + delay_ms)
        return;
    m->fast_armed = true;
    m->fast_due_ms = now + delay_ms;
    uv_timer_start(&m->fast, fast_cb, delay_ms, 0);
}

static void probe_cb(struct rsm_redis *r, const struct rsm_redis_result *res,
                     void *arg)
{
    struct probe *p = arg;

    (void)r;
    probe_take_reply(p, res);
    if (--p->pending == 0)
        probe_done(p);
}

static void probe(struct instance *in)
{
    static const char *const info_repl[] = {"INFO", "replication"};
    static const char *const info_server[] = {"INFO", "server"};
    static const char *const info_pers[] = {"INFO", "persistence"};
    static const char *const ping[] = {"PING"};
    struct rsm_monitor *m = in->g->m;
    uint64_t timeout = probe_timeout(m);
    struct probe *p;

    if (in->probing) {
        in->reprobe = true;
        return;
    }
    p = calloc(1, sizeof *p);
    if (p == NULL)
        return;
    p->in = in;
    p->sent_ms = mono_ms(m);
    p->sent_ns = uv_hrtime();
    rsm_info_init(&p->res.info);
    if (m->acting) {
        /* one write for the three; persistence first: Redis answers
         * INFO while it loads its data, with master_repl_offset 0 until
         * the end, so loading:0 must be read before the offset is */
        static const char *const *const cmds[] = {info_pers, info_server,
                                                  info_repl};
        static const int argc[] = {2, 2, 2};
        if (rsm_redis_commands(in->link, timeout, probe_cb, p, 3, argc, cmds) ==
            0)
            p->pending = 3;
    } else if (rsm_redis_command(in->link, timeout, probe_cb, p, 1, ping) ==
               0) {
        p->pending++;
    }
    if (p->pending == 0) {
        free(p);
        return;
    }
    in->probing = true;
}

/* Followers only keep a liveness probe on each group's committed master. */
static void probe_group(struct group *g)
{
    const struct rsm_group *cg = committed(g);

    for (unsigned i = 0; i < g->cfg.n_addrs; i++) {
        if (g->m->acting || (cg != NULL && cg->has_master &&
                             rsm_addr_equal(&cg->master, &g->cfg.addrs[i])))
            probe(&g->inst[i]);
    }
}

/* ------------------------------------------------------------------------
 * Views of the other agents (leader only)
 * ---------------------------------------------------------------------- */

static struct group *group_by_name(struct rsm_monitor *m, const char *name)
{
    for (unsigned i = 0; i < m->cfg.n_groups; i++) {
        if (strcmp(m->groups[i].cfg.name, name) == 0)
            return &m->groups[i];
    }
    return NULL;
}

static void store_view(struct group *g, const struct rsm_agent_view *v,
                       int64_t now)
{
    unsigned i;

    for (i = 0; i < g->n_views; i++) {
        if (g->views[i].agent_id == v->agent_id)
            break;
    }
    if (i == g->n_views) {
        if (g->n_views == RSM_MAX_AGENTS)
            return;
        g->n_views++;
    }
    g->views[i] = *v;
    g->views_ms[i] = now;
    if (v->refused)
        mark_dirty(g); /* crash evidence: judge now, not at the tick */
}

/* The state of a view on the wire: the detector's state, except that a
 * SUSPECT whose latest probes were refused connects is sent as "refused"
 * (crash evidence, detector.h). A leader from before the crash path reads
 * "refused" as unknown: no vote, which is what it gave a fresh suspect. */
const char *rsm_monitor_view_state_str(const struct rsm_agent_view *v)
{
    if (v->refused && v->state == RSM_HEALTH_SUSPECT)
        return "refused";
    return rsm_health_state_str(v->state);
}

static enum rsm_health_state state_from_str(const char *s)
{
    for (int st = RSM_HEALTH_UNKNOWN; st <= RSM_HEALTH_RESTARTED; st++) {
        if (strcmp(s, rsm_health_state_str((enum rsm_health_state)st)) == 0)
            return (enum rsm_health_state)st;
    }
    return RSM_HEALTH_UNKNOWN;
}

/* Record what is wrong with a peer (verdict OK: nothing); logged once per
 * change, not at every probe. */
static void peer_judge(struct peer *p, enum rsm_identity_verdict v,
                       const char *why)
{
    char a[RSM_ADDR_STRLEN];

    if (v == p->identity && strcmp(why, p->problem) == 0)
        return;
    p->identity = v;
    snprintf(p->problem, sizeof p->problem, "%s", why);
    if (v == RSM_IDENTITY_OK)
        rsm_log(RSM_LOG_INFO, "peer-identity-ok", "id=%" PRIu64 " api=%s",
                p->id, rsm_addr_format(&p->api, a, sizeof a));
    else
        rsm_log(RSM_LOG_WARN, "peer-identity-mismatch",
                "id=%" PRIu64 " api=%s check=%s reason=\"%s\"", p->id,
                rsm_addr_format(&p->api, a, sizeof a),
                rsm_identity_verdict_str(v), why);
}

/* An integer element of a reply, as RESP integer or bulk digits; 0 if
 * it is neither. */
static uint64_t reply_u64(const redisReply *e)
{
    char *end;
    unsigned long long v;

    if (e->type == REDIS_REPLY_INTEGER)
        return e->integer > 0 ? (uint64_t)e->integer : 0;
    if (e->type != REDIS_REPLY_STRING || e->len == 0 || e->str[0] < '0' ||
        e->str[0] > '9')
        return 0;
    v = strtoull(e->str, &end, 10);
    return *end == '\0' ? v : 0;
}

/* The identity that starts an RSM VIEWS reply: ["agent", id, "cluster",
 * cluster-id]; agent_id 0 if absent or malformed. */
static void views_identity(const redisReply *rep,
                           struct rsm_identity_claim *claim)
{
    const redisReply *h;

    claim->agent_id = 0;
    claim->cluster_id = "";
    if (rep->elements == 0)
        return;
    h = rep->element[0];
    if (h->type != REDIS_REPLY_ARRAY || h->elements != 4 ||
        h->element[0]->type != REDIS_REPLY_STRING ||
        strcmp(h->element[0]->str, "agent") != 0 ||
        h->element[2]->type != REDIS_REPLY_STRING ||
        strcmp(h->element[2]->str, "cluster") != 0 ||
        h->element[3]->type != REDIS_REPLY_STRING)
        return;
    claim->agent_id = reply_u64(h->element[1]);
    claim->cluster_id = h->element[3]->str;
}

/* One [group, host, port, state, no_reply_ms] of an RSM VIEWS reply, for
 * agent id; false if malformed or about a group this agent lacks. */
static bool parse_view(struct rsm_monitor *m, const redisReply *e, uint64_t id,
                       struct group **gp, struct rsm_agent_view *v)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 5 ||
        e->element[0]->type != REDIS_REPLY_STRING ||
        e->element[1]->type != REDIS_REPLY_STRING ||
        e->element[2]->type != REDIS_REPLY_INTEGER ||
        e->element[3]->type != REDIS_REPLY_STRING ||
        e->element[4]->type != REDIS_REPLY_INTEGER)
        return false;
    *gp = group_by_name(m, e->element[0]->str);
    if (*gp == NULL)
        return false;
    memset(v, 0, sizeof *v);
    v->agent_id = id;
    if (rsm_addr_set(&v->master, e->element[1]->str,
                     (long)e->element[2]->integer, NULL, 0) != 0)
        return false;
    v->refused = strcmp(e->element[3]->str, "refused") == 0;
    v->state =
        v->refused ? RSM_HEALTH_SUSPECT : state_from_str(e->element[3]->str);
    v->no_reply_ms = e->element[4]->integer;
    return true;
}

/* RSM VIEWS reply: the answering agent's identity, then an array of
 * [group, host, port, state, no_reply_ms]. Counted only if the identity
 * is the member asked (rsm_identity_check): a wrong address must never
 * turn one agent's view into two votes. */
static void views_cb(struct rsm_redis *r, const struct rsm_redis_result *res,
                     void *arg)
{
    struct peer *p = arg;
    struct rsm_monitor *m = p->m;
    const redisReply *rep = res->reply;
    struct rsm_identity_claim claim;
    char why[RSM_IDENTITY_WHY_MAX];
    enum rsm_identity_verdict v;

    (void)r;
    p->asking = false;
    if (res->status != 0 || m->stopping || rep->type != REDIS_REPLY_ARRAY)
        return;
    views_identity(rep, &claim);
    v = rsm_identity_check(&claim, p->id, m->cfg.agent_id,
                           rsm_node_cluster_id(m->node), why, sizeof why);
    peer_judge(p, v, why);
    p->verified = v == RSM_IDENTITY_OK;
    if (v != RSM_IDENTITY_OK)
        return;
    for (size_t i = 1; i < rep->elements; i++) {
        struct rsm_agent_view view;
        struct group *g;
        if (parse_view(m, rep->element[i], p->id, &g, &view))
            store_view(g, &view, mono_ms(m));
    }
}

static void peer_close_cb(struct rsm_redis *r, void *arg)
{
    struct rsm_monitor *m = arg;

    (void)r;
    m->pending_close--;
    maybe_free(m);
}

static void peer_drop(struct peer *p)
{
    if (p->link != NULL) {
        p->m->pending_close++;
        rsm_redis_close(p->link, peer_close_cb, p->m);
        p->link = NULL;
    }
    p->asking = false;
    p->verified = false;
}

/* Make m->peers match the Raft configuration (other members only). */
static void sync_peers(struct rsm_monitor *m)
{
    struct rsm_node_status st;
    bool keep[RSM_MAX_AGENTS] = {false};

    rsm_node_get_status(m->node, &st);
    for (unsigned i = 0; i < st.n_members; i++) {
        const struct rsm_member *mb = &st.members[i];
        unsigned j;
        if (mb->id == m->cfg.agent_id)
            continue;
        for (j = 0; j < m->n_peers; j++) {
            if (m->peers[j].id == mb->id)
                break;
        }
        if (j == m->n_peers) {
            if (m->n_peers == RSM_MAX_AGENTS)
                continue;
            memset(&m->peers[j], 0, sizeof m->peers[j]);
            m->peers[j].m = m;
            m->peers[j].id = mb->id;
            m->n_peers++;
        }
        if (!rsm_addr_equal(&m->peers[j].api, &mb->api)) {
            peer_drop(&m->peers[j]);
            m->peers[j].identity = RSM_IDENTITY_OK;
            m->peers[j].problem[0] = '\0';
        }
        m->peers[j].api = mb->api;
        keep[j] = true;
    }
    for (unsigned j = 0; j < m->n_peers;) {
        if (!keep[j]) {
            peer_drop(&m->peers[j]);
            m->peers[j] = m->peers[m->n_peers - 1];
            keep[j] = keep[m->n_peers - 1];
            m->n_peers--;
            continue;
        }
        j++;
    }
}

/* The link to p, created if needed; NULL if p's address is this agent's
 * own (judged so) or out of memory. */
static struct rsm_redis *peer_link(struct rsm_monitor *m, struct peer *p)
{
    char why[RSM_IDENTITY_WHY_MAX];
    enum rsm_identity_verdict v;
    struct rsm_redis_config rc;

    v = rsm_identity_check_addr(&p->api, p->id, &m->cfg.self_api, why,
                                sizeof why);
    if (v != RSM_IDENTITY_OK) {
        peer_judge(p, v, why);
        return NULL;
    }
    if (p->link != NULL)
        return p->link;
    memset(&rc, 0, sizeof rc);
    rc.addr = p->api;
    rc.password = m->cfg.agent_password[0] ? m->cfg.agent_password : NULL;
    rc.connect_timeout_ms = probe_timeout(m);
    if (rsm_redis_create(m->loop, &rc, &p->link) != 0)
        p->link = NULL;
    return p->link;
}

static void ask_peer(struct rsm_monitor *m, struct peer *p)
{
    static const char *const argv[] = {"RSM", "VIEWS"};

    if (p->asking || peer_link(m, p) == NULL)
        return;
    if (rsm_redis_command(p->link, probe_timeout(m), views_cb, p, 2, argv) == 0)
        p->asking = true;
}

static void ask_peers(struct rsm_monitor *m)
{
    sync_peers(m);
    for (unsigned i = 0; i < m->n_peers; i++)
        ask_peer(m, &m->peers[i]);
}

/* ------------------------------------------------------------------------
 * The leader's view pushed to the other agents (see rsm_monitor_set_push)
 * ---------------------------------------------------------------------- */

/* An error reply (an agent from before RSM LEADERVIEW, or one that does
 * not take it now) changes nothing; a lost link means a new connection,
 * maybe to another process: its identity is checked again first. */
static void pushed_cb(struct rsm_redis *r, const struct rsm_redis_result *res,
                      void *arg)
{
    struct peer *p = arg;

    (void)r;
    if (res->status != 0 && res->status != RSM_EREPLY)
        p->verified = false;
}

/* A peer not verified is asked this often (a dead agent is not connected
 * to at every turn). */
#define VERIFY_MS 1000

static void push_views(struct rsm_monitor *m)
{
    int64_t now = mono_ms(m);
    char **payloads;
    bool any = false;

    if (m->push_cb == NULL)
        return;
    sync_peers(m);
    for (unsigned i = 0; i < m->n_peers; i++) {
        struct peer *p = &m->peers[i];
        if (!p->verified && now - p->verify_ms >= VERIFY_MS) {
            p->verify_ms = now;
            ask_peer(m, p); /* its identity first */
        }
        any |= p->verified && p->link != NULL;
    }
    if (!any || (payloads = m->push_cb(m->push_arg)) == NULL)
        return;
    for (unsigned i = 0; i < m->n_peers; i++) {
        struct peer *p = &m->peers[i];
        for (size_t k = 0; p->verified && p->link != NULL && payloads[k]; k++) {
            const char *argv[] = {"RSM", "LEADERVIEW", payloads[k]};
            rsm_redis_command(p->link, probe_timeout(m), pushed_cb, p, 3, argv);
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

size_t rsm_monitor_views(const struct rsm_monitor *m,
                         struct rsm_agent_view *views, const char **groups,
                         size_t max)
{
    int64_t now = mono_ms(m);
    size_t n = 0;

    for (unsigned i = 0; i < m->cfg.n_groups && n < max; i++) {
        const struct group *g = &m->groups[i];
        const struct rsm_group *cg = committed(g);
        struct rsm_detector_config dc = group_detector(g);
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

/* ------------------------------------------------------------------------
 * Acting on Redis (leader only, as plans say)
 * ---------------------------------------------------------------------- */

/* One action in flight: its command, and for CLIENT PAUSE the INFO
 * replication pipelined right after it. Freed when the last reply is in. */
struct action_ctx {
    struct instance *in;
    struct rsm_redis_action action;
    uint64_t epoch;    /* of the plan that sent it */
    int64_t sent_wall; /* wall clock at send (pause record) */
    unsigned pending;  /* replies still to come */
    int status;        /* of the command (not of the INFO) */
    char errmsg[RSM_ERRMSG_SIZE];
    int64_t offset; /* CLIENT PAUSE: master_repl_offset after it */
};

static bool same_action(const struct rsm_redis_action *a,
                        const struct rsm_redis_action *b)
{
    return a->cmd == b->cmd && rsm_addr_equal(&a->addr, &b->addr) &&
           (a->cmd == RSM_CMD_REPLICAOF_NO_ONE ||
            a->cmd == RSM_CMD_FAILOVER_ABORT ||
            a->cmd == RSM_CMD_CLIENT_PAUSE ||
            a->cmd == RSM_CMD_CLIENT_UNPAUSE ||
            rsm_addr_equal(&a->master, &b->master));
}

/* An error reply that says FAILOVER cannot be used here: renamed away or
 * disabled ("ERR unknown command"), or denied by ACL ("NOPERM"). */
static bool failover_unusable(const char *reply)
{
    return strncmp(reply, "NOPERM", 6) == 0 ||
           strstr(reply, "unknown command") != NULL;
}

static void record_failover_cmd(struct group *g, const struct rsm_addr *a,
                                enum rsm_failover_cmd_use use,
                                const char *error)
{
    char s[RSM_ADDR_STRLEN], q[RSM_REASON_MAX + 8];

    g->failover_cmd.addr = *a;
    g->failover_cmd.use = use;
    snprintf(g->failover_cmd.error, sizeof g->failover_cmd.error, "%.*s",
             (int)sizeof g->failover_cmd.error - 1, error ? error : "");
    rsm_log(use == RSM_FAILOVER_CMD_UNUSABLE ? RSM_LOG_WARN : RSM_LOG_INFO,
            "failover-cmd", "group=%s addr=%s usable=%s reply=%s", g->cfg.name,
            rsm_addr_format(a, s, sizeof s),
            use == RSM_FAILOVER_CMD_USABLE     ? "yes"
            : use == RSM_FAILOVER_CMD_UNUSABLE ? "no"
                                               : "unknown",
            rsm_log_quote(g->failover_cmd.error, q, sizeof q));
}

/* What the reply to a pause-switchover command means for the record. */
static void update_pause(struct group *g, const struct action_ctx *ctx)
{
    struct rsm_pause_record *p = &g->pause;
    const struct rsm_redis_action *act = &ctx->action;

    if (ctx->status != 0 && ctx->status != RSM_EREPLY)
        return; /* no answer: it may or may not have run; ask again */
    if (p->epoch != ctx->epoch || !rsm_addr_equal(&p->addr, &act->addr)) {
        memset(p, 0, sizeof *p);
        p->epoch = ctx->epoch;
        p->addr = act->addr;
    }
    if (act->cmd == RSM_CMD_CLIENT_UNPAUSE) {
        p->state = RSM_PAUSE_UNPAUSED;
    } else if (ctx->status == RSM_EREPLY) {
        p->state = RSM_PAUSE_REFUSED;
        snprintf(p->error, sizeof p->error, "%.*s", (int)sizeof p->error - 1,
                 ctx->errmsg);
    } else if (ctx->offset >= 0) {
        p->state = RSM_PAUSE_PAUSED;
        p->offset = ctx->offset;
        p->sent_ms = ctx->sent_wall;
        p->until_ms = ctx->sent_wall + act->timeout_ms;
    }
}

static void rewrite_cb(struct rsm_redis *r, const struct rsm_redis_result *res,
                       void *arg)
{
    struct instance *in = arg;
    char a[RSM_ADDR_STRLEN], q[RSM_ERRMSG_SIZE + 2], err[RSM_ERRMSG_SIZE];

    (void)r;
    if (res->status == RSM_ECANCELED || in->g->m->stopping)
        return;
    rsm_addr_format(&in->g->cfg.addrs[in->index], a, sizeof a);
    if (res->status == 0) {
        rsm_log(RSM_LOG_INFO, "config-rewritten", "group=%s addr=%s",
                in->g->cfg.name, a);
        return;
    }
    if (res->status == RSM_EREPLY && res->reply != NULL)
        snprintf(err, sizeof err, "%.*s", (int)res->reply->len,
                 res->reply->str);
    else
        snprintf(err, sizeof err, "%s",
                 res->errmsg ? res->errmsg : rsm_strerror(res->status));
    /* Started without a config file (or CONFIG disabled): nothing to keep
     * it in; the role then lasts until Redis restarts, as the operator
     * chose. */
    rsm_log(strstr(err, "without a config file") != NULL ? RSM_LOG_DEBUG
                                                         : RSM_LOG_WARN,
            "config-rewrite-failed", "group=%s addr=%s error=%s",
            in->g->cfg.name, a, rsm_log_quote(err, q, sizeof q));
}

/* Like Sentinel: after a role change, have Redis write it to its config
 * file, so that a restart does not bring back the replicaof line of
 * before the failover. */
static void rewrite_config(struct instance *in)
{
    static const char *const argv[] = {"CONFIG", "REWRITE"};

    rsm_redis_command(in->link, probe_timeout(in->g->m) * 2, rewrite_cb, in, 2,
                      argv);
}

static void action_finish(struct action_ctx *ctx)
{
    struct instance *in = ctx->in;
    struct group *g = in->g;
    struct rsm_monitor *m = g->m;
    enum rsm_redis_cmd cmd = ctx->action.cmd;
    char a[RSM_ADDR_STRLEN], q[RSM_ERRMSG_SIZE + 2];

    in->acting = false;
    if (ctx->status == RSM_ECANCELED || m->stopping) {
        free(ctx);
        return;
    }
    in->action_done_ms = mono_ms(m);
    rsm_addr_format(&ctx->action.addr, a, sizeof a);
    if (cmd == RSM_CMD_CLIENT_PAUSE || cmd == RSM_CMD_CLIENT_UNPAUSE)
        update_pause(g, ctx);
    if (ctx->status == RSM_EREPLY && cmd == RSM_CMD_FAILOVER &&
        failover_unusable(ctx->errmsg))
        record_failover_cmd(g, &ctx->action.addr, RSM_FAILOVER_CMD_UNUSABLE,
                            ctx->errmsg);
    if (ctx->status != 0 && cmd == RSM_CMD_FAILOVER &&
        strstr(ctx->errmsg, "already in progress") != NULL) {
        /* a re-sent FAILOVER while the first one runs: fine */
    } else if (ctx->status != 0) {
        rsm_log(RSM_LOG_WARN, "redis-command-failed",
                "group=%s addr=%s command=\"%s\" error=%s", g->cfg.name, a,
                rsm_redis_cmd_str(cmd),
                rsm_log_quote(ctx->errmsg, q, sizeof q));
        in->action_done_ms = -1; /* allow an immediate retry */
    } else if (cmd == RSM_CMD_REPLICAOF || cmd == RSM_CMD_REPLICAOF_NO_ONE) {
        rewrite_config(in);
    } else if (cmd == RSM_CMD_CLIENT_PAUSE) {
        rsm_log(RSM_LOG_INFO, "writes-paused",
                "group=%s addr=%s offset=%lld until_ms=%lld", g->cfg.name, a,
                (long long)g->pause.offset, (long long)g->pause.until_ms);
    }
    free(ctx);
    probe(in); /* see the effect as soon as possible */
    mark_dirty(g);
}

static void action_cb(struct rsm_redis *r, const struct rsm_redis_result *res,
                      void *arg)
{
    struct action_ctx *ctx = arg;

    (void)r;
    ctx->status = res->status;
    if (res->status == RSM_EREPLY && res->reply != NULL)
        snprintf(ctx->errmsg, sizeof ctx->errmsg, "%.*s", (int)res->reply->len,
                 res->reply->str);
    else if (res->status != 0)
        snprintf(ctx->errmsg, sizeof ctx->errmsg, "%s",
                 res->errmsg ? res->errmsg : rsm_strerror(res->status));
    if (--ctx->pending == 0)
        action_finish(ctx);
}

/* The INFO replication sent right after CLIENT PAUSE: the offset with
 * writes paused. */
static void pause_info_cb(struct rsm_redis *r,
                          const struct rsm_redis_result *res, void *arg)
{
    struct action_ctx *ctx = arg;
    struct rsm_info info;
    char err[RSM_ERRMSG_SIZE];

    (void)r;
    rsm_info_init(&info);
    if (res->status == 0 && res->reply->type == REDIS_REPLY_STRING &&
        rsm_info_parse(&info, res->reply->str, res->reply->len, err,
                       sizeof err) == 0 &&
        info.role == RSM_ROLE_MASTER)
        ctx->offset = info.master_repl_offset;
    if (--ctx->pending == 0)
        action_finish(ctx);
}

static void log_action(struct group *g, const struct rsm_redis_action *act)
{
    char a[RSM_ADDR_STRLEN], to[RSM_ADDR_STRLEN];

    rsm_addr_format(&act->addr, a, sizeof a);
    switch (act->cmd) {
    case RSM_CMD_REPLICAOF:
        rsm_log(RSM_LOG_INFO, "redis-command",
                "group=%s addr=%s command=\"REPLICAOF %s\"", g->cfg.name, a,
                rsm_addr_format(&act->master, to, sizeof to));
        break;
    case RSM_CMD_FAILOVER:
        rsm_log(RSM_LOG_INFO, "redis-command",
                "group=%s addr=%s command=\"FAILOVER TO %s %u TIMEOUT %lld\"",
                g->cfg.name, a, act->master.host, (unsigned)act->master.port,
                (long long)act->timeout_ms);
        break;
    case RSM_CMD_CLIENT_PAUSE:
        rsm_log(RSM_LOG_INFO, "redis-command",
                "group=%s addr=%s command=\"CLIENT PAUSE %lld WRITE\"",
                g->cfg.name, a, (long long)act->timeout_ms);
        break;
    default:
        rsm_log(RSM_LOG_INFO, "redis-command",
                "group=%s addr=%s command=\"%s\"", g->cfg.name, a,
                rsm_redis_cmd_str(act->cmd));
        break;
    }
}

/* The command line of act into argv (buffers from the caller). */
static int action_argv(const struct rsm_redis_action *act, const char **argv,
                       char *port, size_t port_len, char *ms, size_t ms_len)
{
    snprintf(port, port_len, "%u", act->master.port);
    snprintf(ms, ms_len, "%lld", (long long)act->timeout_ms);
    switch (act->cmd) {
    case RSM_CMD_REPLICAOF_NO_ONE:
        argv[0] = "REPLICAOF", argv[1] = "NO", argv[2] = "ONE";
        return 3;
    case RSM_CMD_REPLICAOF:
        argv[0] = "REPLICAOF", argv[1] = act->master.host, argv[2] = port;
        return 3;
    case RSM_CMD_FAILOVER:
        argv[0] = "FAILOVER", argv[1] = "TO", argv[2] = act->master.host;
        argv[3] = port, argv[4] = "TIMEOUT", argv[5] = ms;
        return 6;
    case RSM_CMD_FAILOVER_ABORT:
        argv[0] = "FAILOVER", argv[1] = "ABORT";
        return 2;
    case RSM_CMD_CLIENT_PAUSE:
        argv[0] = "CLIENT", argv[1] = "PAUSE", argv[2] = ms;
        argv[3] = "WRITE";
        return 4;
    case RSM_CMD_CLIENT_UNPAUSE:
        argv[0] = "CLIENT", argv[1] = "UNPAUSE";
        return 2;
    }
    return 0;
}

static void fence_before_promotion(struct instance *in);

static void send_action(struct group *g, const struct rsm_redis_action *act,
                        uint64_t epoch)
{
    static const char *const info_repl[] = {"INFO", "replication"};
    struct rsm_monitor *m = g->m;
    struct instance *in = find_instance(g, &act->addr);
    struct action_ctx *ctx;
    char port[8], ms[24];
    const char *argv[6];
    int argc;

    if (in == NULL)
        return;
    /* Skip what is in flight, or done and not yet seen by a later probe. */
    if (in->acting && same_action(&in->action, act))
        return;
    if (in->action_done_ms >= 0 && same_action(&in->action, act) &&
        in->fed_probe_sent_ms < in->action_done_ms)
        return;
    argc = action_argv(act, argv, port, sizeof port, ms, sizeof ms);
    ctx = calloc(1, sizeof *ctx);
    if (argc == 0 || ctx == NULL) {
        free(ctx);
        return;
    }
    if (act->cmd == RSM_CMD_REPLICAOF_NO_ONE)
        fence_before_promotion(in); /* sent first, on the same link */
    ctx->in = in;
    ctx->action = *act;
    ctx->epoch = epoch;
    ctx->sent_wall = rsm_clock_wall_ms();
    ctx->offset = -1;
    if (rsm_redis_command(in->link, probe_timeout(m) * 2, action_cb, ctx, argc,
                          argv) != 0) {
        free(ctx);
        return;
    }
    ctx->pending = 1;
    /* Same connection, right after: answered with writes paused. */
    if (act->cmd == RSM_CMD_CLIENT_PAUSE &&
        rsm_redis_command(in->link, probe_timeout(m) * 2, pause_info_cb, ctx, 2,
                          info_repl) == 0)
        ctx->pending++;
    in->acting = true;
    in->action = *act;
    log_action(g, act);
}

/* Before a switchover by FAILOVER TO: ask the master "FAILOVER
 * RSM-CHECK", which every Redis >= 6.2 refuses with a syntax error and
 * without doing anything, while a renamed or disabled FAILOVER gives
 * "unknown command" and an ACL that denies it "NOPERM". */
struct check_ctx {
    struct group *g;
    struct rsm_addr addr;
    unsigned seq;
};

static void check_cb(struct rsm_redis *r, const struct rsm_redis_result *res,
                     void *arg)
{
    struct check_ctx *ctx = arg;
    struct group *g = ctx->g;
    char err[RSM_REASON_MAX] = "";

    (void)r;
    if (res->status == RSM_ECANCELED || g->m->stopping) {
        free(ctx);
        return;
    }
    if (res->status == RSM_EREPLY && res->reply != NULL)
        snprintf(err, sizeof err, "%.*s", (int)res->reply->len,
                 res->reply->str);
    if (res->status == RSM_EREPLY && failover_unusable(err))
        record_failover_cmd(g, &ctx->addr, RSM_FAILOVER_CMD_UNUSABLE, err);
    else if (res->status == RSM_EREPLY || res->status == 0)
        record_failover_cmd(g, &ctx->addr, RSM_FAILOVER_CMD_USABLE, err);
    else
        record_failover_cmd(g, &ctx->addr, RSM_FAILOVER_CMD_UNKNOWN,
                            res->errmsg);
    if (g->check_seq == ctx->seq && g->manual.checking) {
        g->manual.checking = false;
        mark_dirty(g);
    }
    free(ctx);
}

/* Returns true if the check was sent (the request waits for it). */
static bool check_failover_cmd(struct group *g, const struct rsm_addr *master)
{
    static const char *const argv[] = {"FAILOVER", "RSM-CHECK"};
    struct instance *in = find_instance(g, master);
    struct check_ctx *ctx;

    if (in == NULL || (ctx = calloc(1, sizeof *ctx)) == NULL)
        return false;
    ctx->g = g;
    ctx->addr = *master;
    ctx->seq = ++g->check_seq;
    if (rsm_redis_command(in->link, probe_timeout(g->m), check_cb, ctx, 2,
                          argv) != 0) {
        free(ctx);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------------------
 * Managed fencing (leader only; fence.h decides, this section reads and
 * sets min-replicas-to-write / min-replicas-max-lag)
 * ---------------------------------------------------------------------- */

#define FENCE_RETRY_MS                                                         \
    1000                      /* after a failed read or set, doubled at        \
                                 each failure in a row up to 64 s */
#define FENCE_REREAD_MS 60000 /* read again: an operator may have set them */

/* One read (two CONFIG GETs) or set (one or two CONFIG SETs) in flight on
 * one instance. Freed when its last reply is in. */
struct fence_ctx {
    struct instance *in;
    enum rsm_fence_action action; /* READ or SET */
    struct rsm_fence_decision d;  /* SET: what is set, and why */
    bool promotion;               /* the SET right before REPLICAOF NO ONE */
    unsigned pending;             /* replies still to come */
    int status;                   /* the first failure, 0 none */
    char errmsg[RSM_ERRMSG_SIZE];
    unsigned replies;   /* replies in so far */
    unsigned got;       /* READ: bit k set when values[k] was parsed */
    bool bad_shape;     /* READ: answered, but not with [name, value] */
    unsigned values[2]; /* READ: to_write, max_lag_s */
    char run_id[RSM_RUNID_LEN + 1]; /* of the process asked */
};

/* Forget what was known of every instance's settings (a new leader reads
 * them again). In-flight commands still count in pending. */
static void fence_forget_all(struct rsm_monitor *m)
{
    for (unsigned i = 0; i < m->cfg.n_groups; i++) {
        for (unsigned j = 0; j < m->groups[i].cfg.n_addrs; j++) {
            struct fence_state *f = &m->groups[i].inst[j].fence;
            unsigned pending = f->pending;
            memset(f, 0, sizeof *f);
            f->pending = pending;
        }
    }
}

/* A new run_id is a new Redis process, with the settings of its config
 * file: read them again, and try CONFIG again if the last one refused. */
static void fence_track_process(struct instance *in)
{
    const struct rsm_health *h = &in->g->health[in->index];
    struct fence_state *f = &in->fence;

    if (!h->has_info || h->info.run_id[0] == '\0' ||
        strcmp(f->run_id, h->info.run_id) == 0)
        return;
    snprintf(f->run_id, sizeof f->run_id, "%s", h->info.run_id);
    f->cur.known = false;
    f->unusable = false;
    f->retry_ms = 0;
    f->failures = 0;
}

/* "unknown command" (renamed or disabled CONFIG), NOPERM (ACL), an
 * unknown parameter (a Redis older than 5.0), or a CONFIG GET answered
 * with something else than [name, value] (not a Redis): no use trying
 * again. */
static bool config_unusable(const struct fence_ctx *ctx)
{
    const char *reply = ctx->errmsg;

    if (ctx->bad_shape)
        return true;
    if (ctx->status != RSM_EREPLY)
        return false;
    return strncmp(reply, "NOPERM", 6) == 0 ||
           strstr(reply, "unknown command") != NULL ||
           strstr(reply, "Unknown option") != NULL ||
           strstr(reply, "Unsupported CONFIG parameter") != NULL ||
           strstr(reply, "unknown parameter") != NULL;
}

static void fence_failed(struct fence_ctx *ctx)
{
    struct instance *in = ctx->in;
    struct rsm_monitor *m = in->g->m;
    char a[RSM_ADDR_STRLEN], q[RSM_ERRMSG_SIZE + 2];

    rsm_addr_format(&in->g->cfg.addrs[in->index], a, sizeof a);
    rsm_log_quote(ctx->errmsg, q, sizeof q);
    in->fence.cur.known = false; /* a set may have half applied */
    if (config_unusable(ctx)) {
        if (!in->fence.unusable)
            rsm_log(RSM_LOG_WARN, "fence-unavailable",
                    "group=%s addr=%s error=%s detail=\"min-replicas-* "
                    "left alone on this Redis process\"",
                    in->g->cfg.name, a, q);
        in->fence.unusable = true;
        return;
    }
    in->fence.failures++;
    in->fence.retry_ms =
        mono_ms(m) + ((int64_t)FENCE_RETRY_MS
                      << (in->fence.failures < 7 ? in->fence.failures - 1 : 6));
    /* a warning for the first failure in a row, then quieter */
    rsm_log(in->fence.failures == 1 ? RSM_LOG_WARN : RSM_LOG_DEBUG,
            "fence-failed", "group=%s addr=%s step=%s failures=%u error=%s",
            in->g->cfg.name, a,
            ctx->promotion ? "lower-before-promotion"
                           : rsm_fence_action_str(ctx->action),
            in->fence.failures, q);
}

static void fence_done(struct fence_ctx *ctx)
{
    struct instance *in = ctx->in;
    struct fence_state *f = &in->fence;
    char a[RSM_ADDR_STRLEN], q[RSM_FENCE_REASON_MAX + 8];

    rsm_addr_format(&in->g->cfg.addrs[in->index], a, sizeof a);
    if (ctx->status == 0 && ctx->action == RSM_FENCE_READ && ctx->got != 3) {
        ctx->status = RSM_EPROTO;
        ctx->bad_shape = true;
        snprintf(ctx->errmsg, sizeof ctx->errmsg,
                 "CONFIG GET min-replicas-*: not a [name, value] reply");
    }
    if (ctx->status != 0) {
        fence_failed(ctx);
        mark_dirty(in->g);
        return;
    }
    f->failures = 0;
    if (ctx->action == RSM_FENCE_READ) {
        if (strcmp(ctx->run_id, f->run_id) != 0)
            return; /* another process answers now: read again */
        f->cur.known = true;
        f->cur.to_write = ctx->values[0];
        f->cur.max_lag_s = ctx->values[1];
        f->known_ms = mono_ms(in->g->m);
        rsm_log(RSM_LOG_DEBUG, "fence-read",
                "group=%s addr=%s min_replicas_to_write=%u "
                "min_replicas_max_lag=%u",
                in->g->cfg.name, a, f->cur.to_write, f->cur.max_lag_s);
    } else if (ctx->promotion) {
        /* max-lag was not touched: read both again after the promotion */
        f->cur.known = false;
        rsm_log(RSM_LOG_INFO, rsm_fence_change_event(ctx->d.change),
                "group=%s addr=%s min_replicas_to_write=0 reason=%s",
                in->g->cfg.name, a, rsm_log_quote(ctx->d.reason, q, sizeof q));
        rewrite_config(in);
    } else {
        f->cur = ctx->d.want;
        f->known_ms = mono_ms(in->g->m);
        rsm_log(RSM_LOG_INFO, rsm_fence_change_event(ctx->d.change),
                "group=%s addr=%s min_replicas_to_write=%u "
                "min_replicas_max_lag=%u reason=%s",
                in->g->cfg.name, a, f->cur.to_write, f->cur.max_lag_s,
                rsm_log_quote(ctx->d.reason, q, sizeof q));
        rewrite_config(in);
    }
    mark_dirty(in->g);
}

/* A CONFIG GET reply is [name, value]; a CONFIG SET reply is +OK. */
static void fence_cb(struct rsm_redis *r, const struct rsm_redis_result *res,
                     void *arg)
{
    struct fence_ctx *ctx = arg;
    struct instance *in = ctx->in;
    const redisReply *rep = res->reply;
    unsigned k = ctx->replies++;

    (void)r;
    if (ctx->status == 0 && res->status != 0) {
        ctx->status = res->status;
        if (res->status == RSM_EREPLY && rep != NULL)
            snprintf(ctx->errmsg, sizeof ctx->errmsg, "%.*s", (int)rep->len,
                     rep->str);
        else
            snprintf(ctx->errmsg, sizeof ctx->errmsg, "%s",
                     res->errmsg ? res->errmsg : rsm_strerror(res->status));
    } else if (res->status == 0 && ctx->action == RSM_FENCE_READ && k < 2 &&
               rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
               rep->element[1]->type == REDIS_REPLY_STRING) {
        char *end;
        unsigned long v = strtoul(rep->element[1]->str, &end, 10);
        if (*end == '\0' && end != rep->element[1]->str && v <= UINT32_MAX) {
            ctx->values[k] = (unsigned)v;
            ctx->got |= 1u << k;
        }
    }
    if (--ctx->pending > 0)
        return;
    in->fence.pending--;
    if (ctx->status != RSM_ECANCELED && !in->g->m->stopping)
        fence_done(ctx);
    free(ctx);
}

static struct fence_ctx *fence_ctx_new(struct instance *in,
                                       enum rsm_fence_action action)
{
    struct fence_ctx *ctx = calloc(1, sizeof *ctx);

    if (ctx == NULL)
        return NULL;
    ctx->in = in;
    ctx->action = action;
    snprintf(ctx->run_id, sizeof ctx->run_id, "%s", in->fence.run_id);
    return ctx;
}

/* Send n commands for ctx (freed here if they cannot be sent). */
static void fence_send(struct fence_ctx *ctx, int n, const int *argc,
                       const char *const *const *argv)
{
    struct instance *in = ctx->in;

    if (rsm_redis_commands(in->link, probe_timeout(in->g->m) * 2, fence_cb, ctx,
                           n, argc, argv) != 0) {
        free(ctx);
        return;
    }
    ctx->pending = (unsigned)n;
    in->fence.pending++;
}

static void fence_read(struct instance *in)
{
    static const char *const get_n[] = {"CONFIG", "GET",
                                        "min-replicas-to-write"};
    static const char *const get_lag[] = {"CONFIG", "GET",
                                          "min-replicas-max-lag"};
    static const char *const *const argv[] = {get_n, get_lag};
    static const int argc[] = {3, 3};
    struct fence_ctx *ctx = fence_ctx_new(in, RSM_FENCE_READ);

    if (ctx != NULL)
        fence_send(ctx, 2, argc, argv);
}

/* CONFIG SET max-lag first (when it changes), then to-write: raised, the
 * fence applies with its lag at once. One parameter per CONFIG SET, which
 * every Redis since 5.0 takes. */
static void fence_set(struct instance *in, const struct rsm_fence_decision *d,
                      bool promotion)
{
    static const char *const set_n[] = {"CONFIG", "SET",
                                        "min-replicas-to-write", NULL};
    static const char *const set_lag[] = {"CONFIG", "SET",
                                          "min-replicas-max-lag", NULL};
    struct fence_ctx *ctx = fence_ctx_new(in, RSM_FENCE_SET);
    char n[16], lag[16];
    const char *a_n[4], *a_lag[4];
    const char *const *argv[2];
    int argc[2] = {4, 4}, k = 0;

    if (ctx == NULL)
        return;
    ctx->d = *d;
    ctx->promotion = promotion;
    snprintf(n, sizeof n, "%u", d->want.to_write);
    snprintf(lag, sizeof lag, "%u", d->want.max_lag_s);
    memcpy(a_n, set_n, sizeof a_n);
    memcpy(a_lag, set_lag, sizeof a_lag);
    a_n[3] = n;
    a_lag[3] = lag;
    if (d->set_max_lag)
        argv[k++] = a_lag;
    if (d->set_to_write)
        argv[k++] = a_n;
    if (k == 0) {
        free(ctx);
        return;
    }
    fence_send(ctx, k, argc, argv);
}

/* Right before REPLICAOF NO ONE on in: min-replicas-to-write 0, on the
 * same link, so that Redis runs it first and the new master takes writes
 * before its replicas re-link. */
static void fence_before_promotion(struct instance *in)
{
    struct rsm_fence_decision d;

    if (in->fence.unusable ||
        !rsm_fence_lower_before_promotion(&in->g->m->cfg.fence))
        return;
    memset(&d, 0, sizeof d);
    d.action = RSM_FENCE_SET;
    d.change = RSM_FENCE_LOWERED;
    d.want.known = true;
    d.want.to_write = 0;
    d.set_to_write = true;
    snprintf(d.reason, sizeof d.reason,
             "promoted: takes writes before its replicas re-link");
    fence_set(in, &d, true);
}

/* Read or set each instance's settings as fence.h decides. */
static void fence_group(struct group *g, const struct rsm_group *cg,
                        const struct rsm_observation *obs)
{
    struct rsm_monitor *m = g->m;
    struct rsm_fence_setting cur[RSM_MAX_MEMBERS];
    struct rsm_fence_input fin;
    int64_t now = mono_ms(m);

    if (!m->cfg.fence.enabled)
        return;
    for (unsigned i = 0; i < g->cfg.n_addrs; i++) {
        struct fence_state *f = &g->inst[i].fence;
        fence_track_process(&g->inst[i]);
        if (f->cur.known && now - f->known_ms >= FENCE_REREAD_MS)
            f->cur.known = false;
        cur[i] = f->cur;
    }
    memset(&fin, 0, sizeof fin);
    fin.cfg = &m->cfg.fence;
    fin.master = (cg != NULL && cg->has_master) ? &cg->master : NULL;
    fin.in_flight = cg != NULL && cg->in_flight;
    fin.obs = obs;
    fin.current = cur;
    fin.n = g->cfg.n_addrs;
    for (unsigned i = 0; i < g->cfg.n_addrs; i++) {
        struct instance *in = &g->inst[i];
        struct rsm_fence_decision d;
        if (in->fence.pending > 0 || in->fence.unusable ||
            now < in->fence.retry_ms || rsm_fence_decide(&fin, i, &d) != 0)
            continue;
        if (d.action == RSM_FENCE_READ)
            fence_read(in);
        else if (d.action == RSM_FENCE_SET)
            fence_set(in, &d, false);
    }
}

/* ------------------------------------------------------------------------
 * The leader loop: observations -> verdict -> plan -> act
 * ---------------------------------------------------------------------- */

static void emit_events(struct group *g, const struct rsm_planner_plan *plan)
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
static void manual_done(struct group *g, int status, const char *errmsg)
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

static void proposed_cb(void *arg, int status, const char *errmsg)
{
    struct group *g = arg;
    char q[RSM_ERRMSG_SIZE + 2];

    g->proposing = false;
    if (g->manual.proposed)
        manual_done(g, status, errmsg);
    if (status != 0 && status != RSM_EREJECTED)
        rsm_log(RSM_LOG_WARN, "proposal-failed", "group=%s error=%s",
                g->cfg.name, rsm_log_quote(errmsg ? errmsg : "", q, sizeof q));
    if (!g->m->stopping)
        mark_dirty(g);
}

static void deadline_cb(uv_timer_t *t)
{
    struct rsm_monitor *m = t->data;

    m->deadline_ms = -1;
    for (unsigned i = 0; i < m->cfg.n_groups; i++)
        mark_dirty(&m->groups[i]);
}

/* A master that stopped answering is DOWN exactly down_after_ms after its
 * last valid reply: evaluate right then rather than at the next tick. */
static void arm_deadline(struct group *g)
{
    struct rsm_monitor *m = g->m;
    const struct rsm_master_verdict *v = &g->verdict;
    int64_t now = mono_ms(m), at;
    int64_t down_after = group_detector(g).down_after_ms;

    if (v->status != RSM_MASTER_UNREACHABLE_FROM_AGENT || v->no_reply_ms < 0 ||
        v->no_reply_ms >= down_after)
        return;
    at = now + (down_after - v->no_reply_ms);
    if (m->deadline_ms >= 0 && m->deadline_ms <= at && m->deadline_ms > now)
        return;
    m->deadline_ms = at;
    uv_timer_start(&m->deadline, deadline_cb, (uint64_t)(at - now), 0);
}

static void compute_verdict(struct group *g, const struct rsm_group *cg,
                            int64_t now)
{
    struct rsm_agent_view views[RSM_MAX_AGENTS];
    struct rsm_node_status st;
    struct rsm_verdict_input vin;
    struct rsm_detector_config dc = group_detector(g);

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
    char q[RSM_VERDICT_REASON_MAX + 8], a[RSM_ADDR_STRLEN];

    rsm_detector_master_verdict(&vin, &g->verdict);
    g->verdict_master = cg->master;
    if (g->verdict.crashed && !was_crashed)
        rsm_log(RSM_LOG_WARN, "master-crashed",
                "group=%s master=%s refused_ms=%lld votes=%u quorum=%u "
                "reason=%s",
                g->cfg.name, rsm_addr_format(&cg->master, a, sizeof a),
                (long long)g->verdict.down_ms, g->verdict.votes,
                g->verdict.quorum,
                rsm_log_quote(g->verdict.reason, q, sizeof q));
    arm_deadline(g);
}

/* Two reasons that differ only in their numbers ("no reply for 201 ms")
 * say the same thing: log a plan only when its shape changes. */
static bool same_shape(const char *a, const char *b)
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
static bool manual_planned(struct group *g, const struct rsm_group *cg,
                           const struct rsm_planner_plan *plan)
{
    if (plan->kind == RSM_PLAN_PROPOSE &&
        plan->entry.kind == RSM_ENTRY_DECIDE_FAILOVER &&
        plan->entry.failover_kind == g->manual.kind)
        return true;
    if (cg != NULL && cg->in_flight) {
        manual_done(g, RSM_EBUSY, "a failover is already in progress");
        return true;
    }
    if (cg == NULL || !cg->has_master) {
        manual_done(g, RSM_ENOTFOUND, "no master recorded yet");
        return true;
    }
    /* the code decides the reply; the reason is the text given with it */
    if (g->manual.kind == RSM_FAILOVER_SWITCHOVER &&
        plan->code == RSM_PLAN_CODE_SWITCHOVER_REFUSED)
        manual_done(g, RSM_EREJECTED, plan->reason);
    else /* NO_GOOD_REPLICA, or NONE (e.g. waiting for a reading) */
        manual_done(g, RSM_ENOCANDIDATE, plan->reason);
    return false;
}

static void evaluate(struct group *g)
{
    struct rsm_monitor *m = g->m;
    const struct rsm_group *cg = committed(g);
    struct rsm_observation obs[RSM_MAX_MEMBERS];
    struct rsm_planner_input pin;
    struct rsm_planner_plan plan;
    int64_t now = mono_ms(m);
    char q[RSM_PLAN_REASON_MAX + 8];
    struct rsm_detector_config dc = group_detector(g);
    struct rsm_planner_config pc = group_planner(g);

    if (!m->acting || m->stopping)
        return;
    for (unsigned i = 0; i < g->cfg.n_addrs; i++)
        rsm_detector_observe(&g->health[i], &dc, now, &obs[i]);
    if (cg != NULL && cg->has_master)
        compute_verdict(g, cg, now);
    fence_group(g, cg, obs);
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
        !g->manual.checking) {
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
        !manual_planned(g, cg, &plan)) {
        mark_dirty(g); /* plan again, without the request */
        return;
    }

    if (!same_shape(plan.reason, g->last_reason)) {
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
        if (rsm_node_propose(m->node, &plan.entry, proposed_cb, g) != 0) {
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
        emit_events(g, &plan);
    } else if (plan.kind == RSM_PLAN_REDIS) {
        emit_events(g, &plan);
        for (unsigned i = 0; i < plan.n_actions; i++)
            send_action(g, &plan.actions[i], plan.epoch);
    }
    if (plan.watch.port != 0) {
        struct instance *in = find_instance(g, &plan.watch);
        if (in != NULL) {
            in->fast = true;
            arm_fast(m, 10);
        }
    }
}

static void kick_cb(uv_timer_t *t)
{
    struct rsm_monitor *m = t->data;

    m->kick_armed = false;
    for (unsigned i = 0; i < m->cfg.n_groups; i++) {
        if (m->groups[i].dirty) {
            m->groups[i].dirty = false;
            evaluate(&m->groups[i]);
        }
    }
}

/* Evaluate g soon, outside of the current callback (never from inside a
 * raft callback: proposing from there would re-enter raft). */
static void mark_dirty(struct group *g)
{
    struct rsm_monitor *m = g->m;

    g->dirty = true;
    if (!m->kick_armed && !m->stopping) {
        m->kick_armed = true;
        uv_timer_start(&m->kick, kick_cb, 0, 0);
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

static unsigned slice_count(const struct rsm_monitor_config *cfg)
{
    uint64_t n = 0, want, most = cfg->probe_interval_ms / MIN_SLICE_MS;

    for (unsigned i = 0; i < cfg->n_groups; i++)
        n += cfg->groups[i].n_addrs;
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
static bool views_needed(const struct rsm_monitor *m)
{
    for (unsigned i = 0; i < m->cfg.n_groups; i++) {
        if (m->groups[i].verdict.status != RSM_MASTER_OK)
            return true;
    }
    return false;
}

/* Probe every group now (a new leader looks at once). */
static void probe_all(struct rsm_monitor *m)
{
    for (unsigned i = 0; i < m->cfg.n_groups; i++)
        probe_group(&m->groups[i]);
    if (m->acting) {
        ask_peers(m);
        for (unsigned i = 0; i < m->cfg.n_groups; i++)
            mark_dirty(&m->groups[i]);
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
static uint64_t until_next_turn(const struct rsm_monitor *m)
{
    uint64_t period = m->cfg.probe_interval_ms / m->n_slices;
    uint64_t now = uv_now(m->loop), anchor = rsm_monitor_anchor_ms(m);

    if (anchor > now)
        anchor = now;
    return period - (now - anchor) % period;
}

static void tick_cb(uv_timer_t *t)
{
    struct rsm_monitor *m = t->data;
    unsigned s = m->slice;

    uv_timer_start(&m->tick, tick_cb, until_next_turn(m), 0);
    m->slice = (s + 1) % m->n_slices;
    for (unsigned i = s; i < m->cfg.n_groups; i += m->n_slices)
        probe_group(&m->groups[i]);
    if (m->acting) {
        if (s == 0 && views_needed(m))
            ask_peers(m);
        if (s == 0)
            push_views(m);
        for (unsigned i = s; i < m->cfg.n_groups; i += m->n_slices)
            mark_dirty(&m->groups[i]);
    }
}

/* ------------------------------------------------------------------------
 * The --on-failover hook
 * ---------------------------------------------------------------------- */

/* A CompleteFailover applied on the acting leader: tell the hook of the
 * failover the group's history just recorded. The hook module logs what
 * becomes of it; the monitor does not wait for it. */
static void run_hook(struct rsm_monitor *m, const struct rsm_entry *e,
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
static void forget_unwatched(struct rsm_monitor *m)
{
    int64_t now = mono_ms(m);

    for (unsigned i = 0; i < m->cfg.n_groups; i++) {
        struct group *g = &m->groups[i];
        const struct rsm_group *cg = committed(g);
        for (unsigned j = 0; j < g->cfg.n_addrs; j++) {
            if (cg != NULL && cg->has_master &&
                rsm_addr_equal(&cg->master, &g->cfg.addrs[j]))
                continue;
            rsm_detector_init(&g->health[j], &g->cfg.addrs[j], now);
            g->inst[j].fed_probe_sent_ms = -1;
        }
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
        forget_unwatched(m);
        fence_forget_all(m);
        for (unsigned i = 0; i < m->cfg.n_groups; i++)
            memset(&m->groups[i].pause, 0, sizeof m->groups[i].pause);
        m->acting = true;
        rsm_log(RSM_LOG_INFO, "leader-acting",
                "groups=%u detail=\"barrier committed, watching Redis\"",
                m->cfg.n_groups);
        probe_all(m);
        break;
    case RSM_NODE_LOST_LEADERSHIP:
        if (m->acting)
            rsm_log(RSM_LOG_INFO, "leader-stopped-acting", NULL);
        m->acting = false;
        for (unsigned i = 0; i < m->cfg.n_groups; i++) {
            m->groups[i].last_reason[0] = '\0';
            memset(&m->groups[i].pause, 0, sizeof m->groups[i].pause);
            if (!m->groups[i].manual.proposed) /* else: its proposal
                                                  fails or commits */
                manual_done(&m->groups[i], RSM_ENOTLEADER, "leadership lost");
        }
        break;
    case RSM_NODE_APPLIED:
        if (entry == NULL || !m->acting)
            break;
        g = group_by_name(m, entry->group);
        if (g == NULL)
            break;
        if (apply_status == 0 && entry->kind == RSM_ENTRY_COMPLETE_FAILOVER)
            run_hook(m, entry, committed(g));
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
        mark_dirty(g);
        break;
    default:
        break;
    }
}

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

bool rsm_monitor_group_status(const struct rsm_monitor *m, size_t index,
                              struct rsm_monitor_group_status *out)
{
    const struct group *g;
    struct rsm_detector_config dc;
    int64_t now;

    if (index >= m->cfg.n_groups)
        return false;
    g = &m->groups[index];
    now = mono_ms(m);
    memset(out, 0, sizeof *out);
    out->name = g->cfg.name;
    out->acting = m->acting;
    out->verdict = g->verdict;
    out->verdict_master = g->verdict_master;
    out->last_reason = g->last_reason;
    out->n = g->cfg.n_addrs;
    dc = group_detector(g);
    for (unsigned i = 0; i < g->cfg.n_addrs; i++)
        rsm_detector_observe(&g->health[i], &dc, now, &out->obs[i]);
    return true;
}

const struct rsm_monitor_config *
rsm_monitor_get_config(const struct rsm_monitor *m)
{
    return &m->cfg;
}

int rsm_monitor_request_failover(struct rsm_monitor *m, const char *group,
                                 bool force, rsm_node_done_cb cb, void *arg)
{
    struct group *g;
    const struct rsm_group *cg;

    if (m->stopping || !m->acting)
        return RSM_ENOTLEADER;
    g = group_by_name(m, group);
    if (g == NULL)
        return RSM_ENOTFOUND;
    cg = committed(g);
    if (cg == NULL || !cg->has_master)
        return RSM_ENOTFOUND;
    if (cg->in_flight || g->manual.cb != NULL)
        return RSM_EBUSY;
    g->manual.cb = cb;
    g->manual.arg = arg;
    g->manual.proposed = false;
    g->manual.kind = RSM_FAILOVER_MANUAL;
    g->manual.force = force;
    rsm_log(RSM_LOG_INFO, "manual-failover-requested", "group=%s force=%d",
            group, force ? 1 : 0);
    mark_dirty(g);
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

    if (m->stopping || !m->acting)
        return RSM_ENOTLEADER;
    g = group_by_name(m, group);
    if (g == NULL)
        return RSM_ENOTFOUND;
    cg = committed(g);
    if (cg == NULL || !cg->has_master)
        return RSM_ENOTFOUND;
    if (cg->in_flight || g->manual.cb != NULL)
        return RSM_EBUSY;
    if (cg->paused)
        return RSM_EREJECTED;
    memset(&g->manual, 0, sizeof g->manual);
    g->manual.cb = cb;
    g->manual.arg = arg;
    g->manual.kind = RSM_FAILOVER_SWITCHOVER;
    if (to != NULL) {
        g->manual.to = *to;
        rsm_addr_format(to, a, sizeof a);
    }
    g->manual.timeout_ms = timeout_ms > 0 ? timeout_ms : 0;
    if (m->cfg.planner.switchover_method == RSM_SWITCHOVER_FAILOVER_CMD)
        g->manual.checking = check_failover_cmd(g, &cg->master);
    rsm_log(RSM_LOG_INFO, "switchover-requested",
            "group=%s to=%s timeout_ms=%lld method=%s%s", group, a,
            (long long)g->manual.timeout_ms,
            rsm_switchover_method_str(m->cfg.planner.switchover_method),
            g->manual.checking ? " checking=FAILOVER" : "");
    mark_dirty(g);
    return 0;
}

bool rsm_monitor_probe_latency(const struct rsm_monitor *m, size_t index,
                               struct rsm_monitor_latency *out)
{
    if (index >= m->cfg.n_groups)
        return false;
    *out = m->groups[index].latency;
    return true;
}

/* ------------------------------------------------------------------------
 * Start and stop
 * ---------------------------------------------------------------------- */

static int open_links(struct rsm_monitor *m, char *errmsg, size_t errlen)
{
    int64_t now = mono_ms(m);

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
            rc.connect_timeout_ms = probe_timeout(m);
            in->g = g;
            in->index = j;
            in->action_done_ms = -1;
            in->fed_probe_sent_ms = -1;
            rsm_detector_init(&g->health[j], &g->cfg.addrs[j], now);
            if (rsm_redis_create(m->loop, &rc, &in->link) != 0)
                return rsm_errf(RSM_ENOMEM, errmsg, errlen,
                                "out of memory for Redis links");
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
        rv = open_links(m, errmsg, errlen);
    if (rv != 0) {
        rsm_monitor_stop(m, NULL, NULL);
        return rv;
    }
    m->n_slices = slice_count(cfg);
    uv_timer_start(&m->tick, tick_cb, until_next_turn(m), 0);
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

static void maybe_free(struct rsm_monitor *m)
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

static void timer_closed(uv_handle_t *h)
{
    struct rsm_monitor *m = h->data;

    m->pending_close--;
    maybe_free(m);
}

static void hook_stopped(void *arg)
{
    struct rsm_monitor *m = arg;

    m->pending_close--;
    maybe_free(m);
}

static void link_closed(struct rsm_redis *r, void *arg)
{
    struct rsm_monitor *m = arg;

    (void)r;
    m->pending_close--;
    maybe_free(m);
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
        manual_done(&m->groups[i], RSM_ECANCELED, "the agent is stopping");
    m->pending_close += 4;
    uv_close((uv_handle_t *)&m->deadline, timer_closed);
    uv_close((uv_handle_t *)&m->fast, timer_closed);
    uv_close((uv_handle_t *)&m->tick, timer_closed);
    uv_close((uv_handle_t *)&m->kick, timer_closed);
    for (unsigned i = 0; i < m->cfg.n_groups; i++) {
        struct group *g = &m->groups[i];
        for (unsigned j = 0; j < g->cfg.n_addrs; j++) {
            if (g->inst[j].link == NULL)
                continue;
            m->pending_close++;
            rsm_redis_close(g->inst[j].link, link_closed, m);
            g->inst[j].link = NULL;
        }
    }
    for (unsigned i = 0; i < m->n_peers; i++)
        peer_drop(&m->peers[i]);
    if (m->hook != NULL) { /* SIGTERM to running hooks; waits for them */
        m->pending_close++;
        rsm_hook_stop(m->hook, hook_stopped, m);
        m->hook = NULL;
    }
}
