/* test_failover_sim.c - the decision core of three agents on a simulated
 * Raft cluster, against simulated Redis instances.
 *
 * Three raft 0.15 servers in raft_fixture (in-memory I/O, simulated time)
 * each drive their own rsm_fsm through the io/raft_fsm adapter. Four fake
 * Redis instances (tests/support/fake_redis.h: 10.0.0.1 master, .2 a
 * priority-0 replica, .3 and .4 replicas) evolve with the same simulated
 * time. Every agent runs what the
 * real leader loop (src/monitor/monitor.c) runs: it probes every instance into
 * its own struct rsm_health; when its raft server is leader and the barrier
 * of its term has committed, it computes the verdict on the committed master
 * with the other agents' views (of those it can reach), calls
 * rsm_planner_next() on its own FSM, proposes at most one entry at a time
 * through raft_apply on its own server, and sends REDIS actions.
 *
 * The model of Redis actions: an action reaches an instance only if its
 * issuer is the leader at that simulated moment (raft state leader, and no
 * leader of a higher term alive) and can reach the instance; actions issued
 * by a deposed leader that does not know it yet are counted and dropped.
 *
 * Every scenario ends healed and checks, on every server: at most one
 * DecideFailover accepted per epoch, identical states (rsm_fsm_equal); and
 * on the fakes: exactly one master, every other instance following it, the
 * priority-0 replica never promoted, at most one instance promoted per
 * epoch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <raft.h>
#include <raft/fixture.h>

#include "rsm/detector.h"
#include "rsm/err.h"
#include "rsm/fsm.h"
#include "rsm/log.h"
#include "rsm/node.h"
#include "rsm/planner.h"
#include "raft_fsm.h"

#include "fake_redis.h"

#define N          3 /* agents = raft servers */
#define NF         4 /* fake Redis instances */
#define GROUP      "cache"
#define TICK       100 /* probe interval, ms */
#define DOWN_AFTER 1000
#define MAX_EPOCH  8
#define MAX_PROPS  256
#define PRIO0      1 /* the fake with replica-priority 0 */

/* ---- agents -------------------------------------------------------------- */

struct world;

struct proposal {
    struct raft_apply req;
    struct world *w;
    unsigned agent;
    enum rsm_entry_kind kind;
    bool done;
    int status; /* raft status */
    int result; /* FSM result when status == 0 */
};

struct agent {
    struct world *w;
    unsigned i;
    struct rsm_health h[NF];
    struct raft_barrier barrier;
    bool barrier_pending;
    raft_term barrier_term;
    bool acting; /* leader and its barrier committed */
    raft_term acting_term;
    bool proposing;         /* one proposal outstanding */
    unsigned executed;      /* actions that reached an instance */
    unsigned stale_actions; /* issued while deposed: dropped */
    char last_reason[RSM_PLAN_REASON_MAX]; /* traced */
};

/* What one server's adapter reported. */
struct seen {
    unsigned decide_ok[MAX_EPOCH];
    uint64_t decided_by[MAX_EPOCH];
};

struct world {
    struct raft_fixture fx;
    struct rsm_fsm state[N];
    struct raft_fsm rfsm[N];
    struct seen seen[N];
    struct agent ag[N];
    struct fake f[NF];
    bool redis_cut[N][NF]; /* agent a cannot reach instance i */
    bool agent_cut[N][N];  /* views of b do not reach a */
    int64_t now;           /* the Redis clock */
    raft_time raft_end;    /* raft runs up to here in the current tick */
    struct rsm_detector_config dcfg;
    struct rsm_planner_config pcfg;
    struct rsm_planner_plan plan; /* scratch, large */
    struct proposal props[MAX_PROPS];
    unsigned n_props;
    struct raft_transfer transfer;
    bool transfer_pending;
    int promoted[MAX_EPOCH]; /* fake promoted in each epoch, -1 */
    unsigned promotions;     /* REPLICAOF NO ONE that changed a role */
    /* scenario hooks */
    int isolate_on_propose;  /* entry kind: isolate the proposer */
    int isolate_on_commit;   /* entry kind: cut the proposer off from
                                the agents once it applied it */
    bool isolate_from_redis; /* ... and from every instance */
    int depose_on_commit;    /* entry kind: the proposer hands leadership
                                over once it applied it */
    int to_depose;           /* set by that hook, done by step() */
    int deposed;             /* agent deposed by the hook, -1 */
    unsigned props_at_isolation;
    int64_t sync_ms; /* a replica's full sync takes this long */
    int isolated;    /* agent isolated by a hook, -1 */
};

static int find_fake(const struct world *w, const struct rsm_addr *a)
{
    return fake_redis_find(w->f, NF, a);
}

static void probe(struct world *w, unsigned a, int i)
{
    struct rsm_probe_result r;

    fake_redis_probe(w->f, NF, i, w->now, w->redis_cut[a][i], NULL, &r);
    assert_int_equal(rsm_detector_feed(&w->ag[a].h[i], &r), 0);
}

/* ---- raft plumbing ------------------------------------------------------- */

static struct raft *server(struct world *w, unsigned i)
{
    return raft_fixture_get(&w->fx, i);
}

static bool is_leader(struct world *w, unsigned i)
{
    return raft_fixture_alive(&w->fx, i) &&
           raft_state(server(w, i)) == RAFT_LEADER;
}

/* The leader at this moment: leader, and no leader of a higher term. */
static bool is_true_leader(struct world *w, unsigned i)
{
    if (!is_leader(w, i))
        return false;
    for (unsigned j = 0; j < N; j++) {
        if (j != i && is_leader(w, j) &&
            server(w, j)->current_term > server(w, i)->current_term)
            return false;
    }
    return true;
}

/* Both directions of every raft link of agent i, and its views. */
static void set_isolated(struct world *w, unsigned i, bool cut)
{
    for (unsigned j = 0; j < N; j++) {
        if (j == i)
            continue;
        if (cut) {
            raft_fixture_disconnect(&w->fx, i, j);
            raft_fixture_disconnect(&w->fx, j, i);
        } else {
            raft_fixture_reconnect(&w->fx, i, j);
            raft_fixture_reconnect(&w->fx, j, i);
        }
        w->agent_cut[i][j] = cut;
        w->agent_cut[j][i] = cut;
    }
}

static void observer(void *arg, const struct rsm_raft_fsm_event *ev)
{
    struct seen *s = arg;

    if (ev->type == RSM_RAFT_FSM_APPLIED &&
        ev->entry->kind == RSM_ENTRY_DECIDE_FAILOVER) {
        assert_true(ev->entry->epoch < MAX_EPOCH);
        s->decide_ok[ev->entry->epoch]++;
        s->decided_by[ev->entry->epoch] = ev->entry->decided_by;
    }
}

static void apply_cb(struct raft_apply *req, int status, void *result)
{
    struct proposal *p = req->data;
    struct world *w = p->w;

    p->done = true;
    p->status = status;
    if (status == 0)
        p->result = rsm_raft_fsm_result(result);
    w->ag[p->agent].proposing = false;
    if (status == 0 && p->result == 0 && (int)p->kind == w->isolate_on_commit &&
        w->isolated < 0) {
        /* cut off from everything before its next turn: it never gets
         * to act on the entry it just committed */
        set_isolated(w, p->agent, true);
        for (int i = 0; i < NF && w->isolate_from_redis; i++)
            w->redis_cut[p->agent][i] = true;
        w->isolated = (int)p->agent;
        w->props_at_isolation = w->n_props;
    }
    if (status == 0 && p->result == 0 && (int)p->kind == w->depose_on_commit &&
        w->deposed < 0)
        w->to_depose = (int)p->agent; /* not from inside raft */
}

static void barrier_cb(struct raft_barrier *req, int status)
{
    struct agent *ag = req->data;
    struct raft *r = server(ag->w, ag->i);

    ag->barrier_pending = false;
    if (status == 0 && raft_state(r) == RAFT_LEADER &&
        r->current_term == ag->barrier_term) {
        ag->acting = true;
        ag->acting_term = ag->barrier_term;
    }
}

static void transfer_cb(struct raft_transfer *req)
{
    struct world *w = req->data;

    w->transfer_pending = false;
}

/* ---- one agent's turn: what monitor.c evaluate() does -------------------- */

static void check_plan(struct world *w, const struct rsm_group *g)
{
    const struct rsm_planner_plan *p = &w->plan;

    if (p->kind == RSM_PLAN_PROPOSE &&
        p->entry.kind == RSM_ENTRY_DECIDE_FAILOVER) {
        int c = find_fake(w, &p->entry.master);

        assert_true(g == NULL || !g->in_flight);
        assert_true(c >= 0);
        assert_int_not_equal(c, PRIO0);
    }
    for (unsigned k = 0; k < p->n_actions; k++) {
        if (p->actions[k].cmd == RSM_CMD_REPLICAOF_NO_ONE) {
            assert_non_null(g);
            assert_true(g->in_flight);
            assert_true(
                rsm_addr_equal(&p->actions[k].addr, &g->decision.master));
        }
    }
}

/* RSM_TEST_VERBOSE=1: print every plan, to read a scenario. */
static void trace_plan(struct world *w, unsigned a)
{
    const struct rsm_planner_plan *p = &w->plan;
    char x[RSM_ADDR_STRLEN];

    if (getenv("RSM_TEST_VERBOSE") == NULL ||
        strcmp(w->ag[a].last_reason, p->reason) == 0)
        return;
    snprintf(w->ag[a].last_reason, sizeof w->ag[a].last_reason, "%s",
             p->reason);
    printf(
        "t=%5lld agent %u term %llu%s %s [%s] %s\n",
        (long long)(w->now % 100000), a + 1,
        (unsigned long long)raft_fixture_get((struct raft_fixture *)&w->fx, a)
            ->current_term,
        w->ag[a].proposing ? " (proposing)" : "", rsm_plan_kind_str(p->kind),
        rsm_failover_state_str(p->state), p->reason);
    for (unsigned k = 0; k < p->n_actions; k++)
        printf("    -> %s %s\n",
               rsm_addr_format(&p->actions[k].addr, x, sizeof x),
               rsm_redis_cmd_str(p->actions[k].cmd));
}

static void propose(struct world *w, unsigned a, const struct rsm_entry *e)
{
    struct proposal *p;
    struct raft_buffer buf;
    int rv;

    assert_true(w->n_props < MAX_PROPS);
    p = &w->props[w->n_props++];
    memset(p, 0, sizeof *p);
    p->w = w;
    p->agent = a;
    p->kind = e->kind;
    p->req.data = p;
    assert_int_equal(rsm_node_encode_entry(e, &buf.base, &buf.len), 0);
    rv = raft_apply(server(w, a), &p->req, &buf, 1, apply_cb);
    if (rv != 0) { /* as rsm_node_propose: not leader any more */
        raft_free(buf.base);
        w->n_props--;
        return;
    }
    w->ag[a].proposing = true;
    if ((int)e->kind == w->isolate_on_propose && w->isolated < 0) {
        set_isolated(w, a, true);
        w->isolated = (int)a;
        w->props_at_isolation = w->n_props;
    }
}

static void execute(struct world *w, unsigned a, const struct rsm_group *g,
                    const struct rsm_redis_action *act)
{
    int i = find_fake(w, &act->addr);

    assert_true(i >= 0);
    if (!is_true_leader(w, a)) {
        w->ag[a].stale_actions++;
        return;
    }
    if (w->redis_cut[a][i] || w->f[i].proc == PROC_KILLED)
        return; /* the command fails */
    w->ag[a].executed++;
    if (act->cmd == RSM_CMD_REPLICAOF_NO_ONE) {
        uint64_t e = g->decision.epoch;

        assert_true(e < MAX_EPOCH);
        assert_int_not_equal(i, PRIO0);
        assert_true(w->promoted[e] < 0 || w->promoted[e] == i);
        w->promoted[e] = i;
        if (w->f[i].role != RSM_ROLE_MASTER) {
            w->promotions++;
            fake_redis_replicaof_no_one(&w->f[i]);
        }
    } else {
        int m = find_fake(w, &act->master);

        assert_true(m >= 0);
        if (w->f[i].role != RSM_ROLE_REPLICA || w->f[i].master != m)
            fake_redis_replicaof(&w->f[i], m, w->now);
    }
}

static void verdict(struct world *w, unsigned a, const struct rsm_group *g,
                    struct rsm_master_verdict *out)
{
    struct rsm_agent_view views[N];
    struct rsm_verdict_input in;
    size_t nv = 0;
    int m = find_fake(w, &g->master);

    for (unsigned b = 0; b < N && m >= 0; b++) {
        if (b != a && !w->agent_cut[a][b] && raft_fixture_alive(&w->fx, b))
            rsm_detector_view(&w->ag[b].h[m], &w->dcfg, w->now, b + 1,
                              &views[nv++]);
    }
    memset(&in, 0, sizeof in);
    in.master = &g->master;
    in.members = w->ag[a].h;
    in.n_members = NF;
    in.views = views;
    in.n_views = nv;
    in.n_agents = N;
    in.cfg = &w->dcfg;
    in.now_ms = w->now;
    assert_int_equal(rsm_detector_master_verdict(&in, out), 0);
}

static void agent_turn(struct world *w, unsigned a)
{
    struct agent *ag = &w->ag[a];
    struct raft *r = server(w, a);
    const struct rsm_group *g;
    struct rsm_observation obs[NF];
    struct rsm_master_verdict v;
    struct rsm_planner_input in;

    if (!is_leader(w, a)) {
        if (ag->acting && getenv("RSM_TEST_VERBOSE") != NULL)
            printf("t=%5lld agent %u stops acting\n",
                   (long long)(w->now % 100000), a + 1);
        ag->acting = false; /* RSM_NODE_LOST_LEADERSHIP */
        return;
    }
    if (ag->acting && ag->acting_term != r->current_term)
        ag->acting = false;
    if (!ag->acting) {
        if (!ag->barrier_pending) {
            ag->barrier.data = ag;
            ag->barrier_term = r->current_term;
            if (raft_barrier(r, &ag->barrier, barrier_cb) == 0)
                ag->barrier_pending = true;
        }
        return;
    }
    g = rsm_fsm_group(&w->state[a], GROUP);
    for (int i = 0; i < NF; i++)
        rsm_detector_observe(&ag->h[i], &w->dcfg, w->now, &obs[i]);
    if (g != NULL && g->has_master)
        verdict(w, a, g, &v);
    memset(&in, 0, sizeof in);
    in.group = GROUP;
    in.committed = g;
    in.obs = obs;
    in.n_obs = NF;
    in.verdict = g != NULL && g->has_master ? &v : NULL;
    in.cfg = &w->pcfg;
    in.leader_id = a + 1;
    in.now_ms = w->now;
    assert_int_equal(rsm_planner_next(&in, &w->plan), 0);
    check_plan(w, g);
    trace_plan(w, a);
    if (ag->proposing)
        return;
    if (w->plan.kind == RSM_PLAN_PROPOSE) {
        propose(w, a, &w->plan.entry);
    } else if (w->plan.kind == RSM_PLAN_REDIS) {
        for (unsigned k = 0; k < w->plan.n_actions; k++)
            execute(w, a, g, &w->plan.actions[k]);
    }
}

/* One probe interval: the fakes replicate, every agent probes every
 * instance it can reach, then raft runs for TICK ms, one event at a time,
 * and every agent takes its turn after each event (the real loop plans
 * again as soon as an entry is applied or leadership changes). */
static void step(struct world *w)
{
    w->raft_end += TICK;
    w->now += TICK;
    fake_redis_replicate(w->f, NF, w->now, w->sync_ms, 1000);
    for (unsigned a = 0; a < N; a++) {
        if (!raft_fixture_alive(&w->fx, a))
            continue;
        for (int i = 0; i < NF; i++)
            probe(w, a, i);
    }
    for (;;) {
        if (w->to_depose >= 0 && !w->transfer_pending) {
            w->transfer.data = w;
            assert_int_equal(raft_transfer(server(w, (unsigned)w->to_depose),
                                           &w->transfer, 0, transfer_cb),
                             0);
            w->transfer_pending = true;
            w->deposed = w->to_depose;
            w->to_depose = -1;
        }
        for (unsigned a = 0; a < N; a++)
            agent_turn(w, a);
        if (raft_fixture_time(&w->fx) >= w->raft_end)
            break;
        raft_fixture_step(&w->fx);
    }
}

static void run_ms(struct world *w, int64_t ms)
{
    for (int64_t t = 0; t < ms; t += TICK)
        step(w);
}

static const struct rsm_group *group_of(struct world *w, unsigned i)
{
    return rsm_fsm_group(&w->state[i], GROUP);
}

static int acting_leader(struct world *w)
{
    for (unsigned a = 0; a < N; a++) {
        if (w->ag[a].acting && is_true_leader(w, a))
            return (int)a;
    }
    return -1;
}

/* Run until pred holds on the world; fail after max_ms. */
static void run_until(struct world *w, bool (*pred)(struct world *),
                      int64_t max_ms, const char *what)
{
    for (int64_t t = 0; t <= max_ms; t += TICK) {
        if (pred(w))
            return;
        step(w);
    }
    fail_msg("%s not reached in %lld ms; last plan: %s", what,
             (long long)max_ms, w->plan.reason);
}

static bool master_committed(struct world *w)
{
    int l = acting_leader(w);
    const struct rsm_group *g = l >= 0 ? group_of(w, (unsigned)l) : NULL;

    return g != NULL && g->has_master;
}

static bool in_flight(struct world *w)
{
    int l = acting_leader(w);
    const struct rsm_group *g = l >= 0 ? group_of(w, (unsigned)l) : NULL;

    return g != NULL && g->in_flight;
}

static bool failover_ended(struct world *w)
{
    int l = acting_leader(w);
    const struct rsm_group *g = l >= 0 ? group_of(w, (unsigned)l) : NULL;

    return g != NULL && !g->in_flight && g->n_history > 0;
}

/* ---- fixture ------------------------------------------------------------- */

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof *w);
    struct raft_configuration conf;

    if (w == NULL || raft_fixture_initialize(&w->fx) != 0)
        return -1;
    for (unsigned i = 0; i < N; i++) {
        rsm_fsm_init(&w->state[i]);
        if (rsm_raft_fsm_init(&w->rfsm[i], &w->state[i], observer,
                              &w->seen[i]) != 0 ||
            raft_fixture_grow(&w->fx, &w->rfsm[i]) != 0)
            return -1;
    }
    if (raft_fixture_configuration(&w->fx, N, &conf) != 0 ||
        raft_fixture_bootstrap(&w->fx, &conf) != 0)
        return -1;
    raft_configuration_close(&conf);
    if (raft_fixture_start(&w->fx) != 0)
        return -1;

    w->now = 1700000000000LL;
    w->raft_end = raft_fixture_time(&w->fx);
    rsm_detector_config_init(&w->dcfg);
    w->dcfg.down_after_ms = DOWN_AFTER;
    w->dcfg.quorum = N / 2 + 1; /* what monitor.c uses for quorum 0 */
    rsm_planner_config_init(&w->pcfg);
    w->pcfg.down_after_ms = DOWN_AFTER;
    w->pcfg.failover_timeout_ms = 20000;
    w->pcfg.min_failover_interval_ms = 60000;
    w->pcfg.repoint_grace_ms = 2000;
    for (int e = 0; e < MAX_EPOCH; e++)
        w->promoted[e] = -1;
    w->isolate_on_propose = w->isolate_on_commit = -1;
    w->isolated = -1;
    w->depose_on_commit = w->to_depose = w->deposed = -1;
    w->sync_ms = TICK;
    for (int i = 0; i < NF; i++) {
        fake_redis_init(&w->f[i], (size_t)i, w->now);
        w->f[i].priority = i == PRIO0 ? 0 : 100;
        w->f[i].offset = 5000;
    }
    for (unsigned a = 0; a < N; a++) {
        w->ag[a].w = w;
        w->ag[a].i = a;
        for (int i = 0; i < NF; i++)
            rsm_detector_init(&w->ag[a].h[i], &w->f[i].addr, w->now);
    }
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;

    /* Closing raft fires the pending callbacks: they write into *w. */
    raft_fixture_close(&w->fx);
    for (unsigned i = 0; i < N; i++) {
        rsm_raft_fsm_close(&w->rfsm[i]);
        rsm_fsm_close(&w->state[i]);
    }
    free(w);
    return 0;
}

/* A leader acting, the master committed, 1 s of steady state. */
static unsigned boot(struct world *w)
{
    run_until(w, master_committed, 10000, "master committed");
    run_ms(w, 1000);
    assert_int_equal(group_of(w, (unsigned)acting_leader(w))->epoch, 0);
    return (unsigned)acting_leader(w);
}

/* ---- the end-of-scenario checks ------------------------------------------ */

static bool all_applied_same(struct raft_fixture *f, void *arg)
{
    raft_index last = raft_last_applied(raft_fixture_get(f, 0));

    (void)arg;
    for (unsigned i = 1; i < raft_fixture_n(f); i++) {
        if (raft_last_applied(raft_fixture_get(f, i)) != last)
            return false;
    }
    return last > 0;
}

/* Heal everything, let raft settle, then check every invariant. Returns
 * the epoch every server ended with. */
static uint64_t heal_and_check(struct world *w)
{
    int m = -1;

    for (unsigned a = 0; a < N; a++)
        set_isolated(w, a, false);
    memset(w->redis_cut, 0, sizeof w->redis_cut);
    run_ms(w, 3000);
    assert_true(raft_fixture_step_until(&w->fx, all_applied_same, NULL, 5000));

    for (unsigned i = 0; i < N; i++) {
        for (int e = 0; e < MAX_EPOCH; e++) {
            if (w->seen[i].decide_ok[e] > 1)
                fail_msg("server %u accepted %u decisions for epoch %d", i,
                         w->seen[i].decide_ok[e], e);
        }
        if (!rsm_fsm_equal(&w->state[0], &w->state[i]))
            fail_msg("state of server %u differs from server 0", i);
    }
    for (int i = 0; i < NF; i++) {
        if (w->f[i].proc == PROC_KILLED || w->f[i].role != RSM_ROLE_MASTER)
            continue;
        if (m >= 0)
            fail_msg("two masters: fakes %d and %d", m, i);
        m = i;
    }
    assert_true(m >= 0);
    assert_true(rsm_addr_equal(&group_of(w, 0)->master, &w->f[m].addr));
    for (int i = 0; i < NF; i++) {
        if (i != m && w->f[i].proc != PROC_KILLED) {
            assert_int_equal(w->f[i].role, RSM_ROLE_REPLICA);
            assert_int_equal(w->f[i].master, m);
            assert_true(w->f[i].link_up);
        }
    }
    assert_int_not_equal(m, PRIO0);
    for (int e = 0; e < MAX_EPOCH; e++)
        assert_int_not_equal(w->promoted[e], PRIO0);
    return group_of(w, 0)->epoch;
}

/* The single failover of epoch 1 ended completed, on every server. */
static void assert_one_completed_failover(struct world *w)
{
    for (unsigned i = 0; i < N; i++) {
        const struct rsm_group *g = group_of(w, i);

        assert_int_equal(g->epoch, 1);
        assert_false(g->in_flight);
        assert_int_equal(g->n_history, 1);
        assert_int_not_equal(g->history[0].result, RSM_RESULT_ABORTED);
        assert_int_equal(w->seen[i].decide_ok[1], 1);
    }
    assert_int_equal(w->promotions, 1);
}

/* ---- scenarios ----------------------------------------------------------- */

static void test_master_dies_one_failover_epoch_1(void **state)
{
    struct world *w = *state;

    boot(w);
    w->f[0].proc = PROC_KILLED;
    run_until(w, failover_ended, 15000, "failover ended");
    assert_int_equal(heal_and_check(w), 1);
    assert_one_completed_failover(w);
    assert_true(w->f[0].proc == PROC_KILLED);
}

/* The leader proposes DecideFailover and is cut off at once: the entry
 * never reaches a majority; the next leader decides epoch 1 itself. */
static void test_leader_partitioned_before_decision_commits(void **state)
{
    struct world *w = *state;
    unsigned l = boot(w);

    w->isolate_on_propose = RSM_ENTRY_DECIDE_FAILOVER;
    w->f[0].proc = PROC_KILLED;
    run_until(w, failover_ended, 20000, "failover ended");
    assert_int_equal(w->isolated, (int)l);
    assert_int_not_equal(acting_leader(w), (int)l);
    assert_int_equal(heal_and_check(w), 1);
    assert_one_completed_failover(w);
    /* the decision that applied is the new leader's */
    assert_int_not_equal(w->seen[0].decided_by[1], l + 1);
}

/* The leader's DecideFailover commits and the leader is cut off before it
 * touches Redis: the next leader resumes epoch 1, never decides again. */
static void test_leader_partitioned_after_decision_commits(void **state)
{
    struct world *w = *state;
    unsigned l = boot(w);
    unsigned executed_before;

    w->isolate_on_commit = RSM_ENTRY_DECIDE_FAILOVER;
    w->isolate_from_redis = true;
    w->f[0].proc = PROC_KILLED;
    run_until(w, in_flight, 10000, "decision committed");
    executed_before = w->ag[l].executed;
    run_until(w, failover_ended, 20000, "failover ended");
    assert_int_equal(w->isolated, (int)l);
    assert_int_equal(w->ag[l].executed, executed_before);
    assert_int_equal(heal_and_check(w), 1);
    assert_one_completed_failover(w);
    assert_int_equal(w->seen[0].decided_by[1], l + 1); /* resumed, not
                                                          re-decided */
}

/* The leader hands leadership over (raft_transfer) right after its
 * decision committed; it stays reachable, as a follower. Whoever leads
 * next resumes epoch 1 from the log: one decision, one promotion. */
static void test_leader_deposed_after_decision_commits(void **state)
{
    struct world *w = *state;
    unsigned l = boot(w);

    w->depose_on_commit = RSM_ENTRY_DECIDE_FAILOVER;
    w->f[0].proc = PROC_KILLED;
    run_until(w, failover_ended, 20000, "failover ended");
    assert_int_equal(w->deposed, (int)l);
    assert_int_not_equal(acting_leader(w), (int)l);
    assert_int_equal(heal_and_check(w), 1);
    assert_one_completed_failover(w);
    assert_int_equal(w->seen[0].decided_by[1], l + 1);
}

static bool isolated_stepped_down(struct world *w)
{
    return !is_leader(w, (unsigned)w->isolated);
}

/* The leader is cut off from the other agents (not from Redis) once its
 * promotion is recorded. A long election timeout keeps it leader (it steps
 * down only after that long without a majority), so it goes on planning
 * from its stale state while the others elect a new leader, which finishes
 * the failover. None of its later entries applies, and no action it issues
 * reaches an instance once another leader exists (the model). */
static void test_partitioned_old_leader_plans_from_stale_state(void **state)
{
    struct world *w = *state;
    unsigned l = boot(w), stale;

    raft_set_election_timeout(server(w, l), 10000);
    w->sync_ms = 1500; /* slow re-pointing: a long RECONF_SLAVES */
    w->isolate_on_commit = RSM_ENTRY_FAILOVER_PROGRESS;
    w->f[0].proc = PROC_KILLED;
    run_until(w, failover_ended, 20000, "failover ended");
    assert_int_equal(w->isolated, (int)l);
    assert_true(is_leader(w, l)); /* still believes it leads */
    assert_true(w->ag[l].acting);
    assert_int_not_equal(acting_leader(w), (int)l);
    run_until(w, isolated_stepped_down, 20000, "old leader stepped down");
    assert_false(w->ag[l].acting);
    stale = w->ag[l].stale_actions;
    assert_int_equal(heal_and_check(w), 1);
    assert_one_completed_failover(w);
    assert_int_equal(w->ag[l].stale_actions, stale); /* none once follower */
    for (unsigned k = w->props_at_isolation; k < w->n_props; k++) {
        const struct proposal *p = &w->props[k];

        if (p->agent == l)
            assert_false(p->done && p->status == 0);
    }
    print_message("stale leader: %u actions dropped, %u executed in all\n",
                  stale, w->ag[l].executed);
}

/* The leader alone loses the master; the other agents and the replicas
 * still hear from it: no failover, ever. */
static void test_leader_cut_from_master_only_no_failover(void **state)
{
    struct world *w = *state;
    unsigned l = boot(w);

    w->redis_cut[l][0] = true;
    run_ms(w, 8000);
    assert_int_equal(acting_leader(w), (int)l);
    assert_false(in_flight(w));
    assert_int_equal(group_of(w, l)->epoch, 0);
    assert_int_equal(heal_and_check(w), 0);
    assert_int_equal(w->promotions, 0);
    assert_int_equal(w->f[0].role, RSM_ROLE_MASTER);
    for (unsigned i = 0; i < N; i++)
        assert_int_equal(w->seen[i].decide_ok[1], 0);
}

/* Leadership is handed over (raft_transfer) every 300 ms from the moment
 * the master dies until the failover has ended: every new leader waits for
 * its barrier, then resumes the same epoch from the committed state. */
static void test_leader_changes_repeatedly_one_epoch(void **state)
{
    struct world *w = *state;
    int prev = (int)boot(w), l;
    unsigned changes = 0;
    int64_t t;

    w->f[0].proc = PROC_KILLED;
    for (t = 0; t < 30000 && !failover_ended(w); t += TICK) {
        l = acting_leader(w);
        if (l >= 0 && l != prev) {
            changes++;
            prev = l;
        }
        if (t % 300 == 0 && l >= 0 && !w->transfer_pending) {
            w->transfer.data = w;
            if (raft_transfer(server(w, (unsigned)l), &w->transfer, 0,
                              transfer_cb) == 0)
                w->transfer_pending = true;
        }
        step(w);
    }
    assert_true(failover_ended(w));
    assert_true(changes >= 4);
    assert_int_equal(heal_and_check(w), 1);
    assert_one_completed_failover(w);
    print_message("%u leader changes during the failover (%lld ms)\n", changes,
                  (long long)t);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_master_dies_one_failover_epoch_1),
        T(test_leader_partitioned_before_decision_commits),
        T(test_leader_partitioned_after_decision_commits),
        T(test_leader_deposed_after_decision_commits),
        T(test_partitioned_old_leader_plans_from_stale_state),
        T(test_leader_cut_from_master_only_no_failover),
        T(test_leader_changes_repeatedly_one_epoch),
    };
#undef T

    rsm_log_setup(RSM_LOG_ERROR, RSM_LOG_LOGFMT);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
