/* test_planner.c - unit tests for core/planner, driven by a small
 * simulation: fake Redis instances whose INFO evolves with fake time, three
 * agents each feeding its own detector records, the committed state in a
 * real rsm_fsm. Each step advances time by one probe interval, probes, asks
 * the planner, commits what it proposes (re-planning at once, as the shell
 * does after an entry applies) and executes its REPLICAOF commands on the
 * fakes. Every step also checks the safety rules: a proposed entry is well
 * formed and applies; REPLICAOF NO ONE only ever targets the new master of
 * the committed in-flight decision; no decision while one is in flight; at
 * most one instance promoted per epoch; never a priority-0 replica. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsm/detector.h"
#include "rsm/err.h"
#include "rsm/fsm.h"
#include "rsm/planner.h"

#include "fake_redis.h"

#define GROUP      "cache"
#define MAXF       6
#define AGENTS     3
#define TICK       100
#define DOWN_AFTER 1000
#define MAX_EPOCH  8

/* ======================================================================
 * The simulation, on fake Redis instances (tests/support/fake_redis.h)
 * ====================================================================== */

/* A crash of the leader, for the tests of resuming: after it commits an
 * entry of this kind (and step), or executes this command on this
 * instance, it does nothing more. */
struct crash {
    bool armed;
    enum rsm_entry_kind kind; /* RSM_ENTRY_NONE: on a command */
    enum rsm_failover_step step;
    enum rsm_redis_cmd cmd;
    int target;
    bool hit;
};

struct sim {
    int64_t now;
    size_t n;
    struct fake f[MAXF];
    struct rsm_health h[AGENTS][MAXF];
    bool cut[AGENTS][MAXF]; /* agent a cannot reach instance i */
    unsigned leader;
    bool drop_actions; /* the leader dies before touching Redis */
    int64_t sync_ms;
    int64_t reconnect_ms;
    struct rsm_detector_config dcfg;
    struct rsm_planner_config pcfg;
    struct rsm_fsm fsm;
    struct rsm_observation obs[MAXF];
    struct rsm_master_verdict verdict;
    struct rsm_planner_plan plan;
    /* what happened */
    char events[512][48];
    unsigned n_events;
    unsigned decisions_applied;
    int promoted[MAX_EPOCH]; /* index promoted in each epoch, -1 */
    unsigned max_syncing;
    bool state_seen[RSM_FO_SWAP_ROLES + 1];
    struct rsm_entry last_complete; /* the last CompleteFailover applied */
    struct rsm_entry last_abort;    /* the last AbortFailover applied */
    char reason[RSM_ERRMSG_SIZE];
    bool manual;     /* an operator asks for a failover (until decided) */
    bool force;      /* ... forced (rsmctl failover --force) */
    bool switchover; /* an operator asks for a switchover (until decided) */
    struct rsm_addr switchover_to;
    int64_t switchover_timeout_ms;
    const char *version;      /* redis_version of every fake */
    unsigned failover_aborts; /* FAILOVER ABORT executed */
    /* the shell's part in a pause switchover */
    struct rsm_pause_record pause;
    enum rsm_failover_cmd_use failover_cmd;
    char failover_cmd_error[96];
    bool pause_refused; /* CLIENT PAUSE gets an error */
    /* a client writing write_rate bytes a tick to the master it is given */
    int64_t write_rate;
    bool lossless;     /* check: no acknowledged write is ever lost */
    bool one_writable; /* check: never two masters accepting writes */
    unsigned n_cmds;   /* commands executed, in order */
    struct {
        enum rsm_redis_cmd cmd;
        int i;
    } cmds[256];
    struct crash crash;
};

static int find_fake(const struct sim *s, const struct rsm_addr *a)
{
    return fake_redis_find(s->f, s->n, a);
}

/* Become a replica of m (REPLICAOF): the sync starts at once. */
static void fake_follow(struct sim *s, int i, int m)
{
    /* what i acknowledged and m does not have is gone with the resync */
    if (s->lossless && s->f[i].acked_hi > s->f[m].offset)
        fail_msg("acknowledged writes lost: %s acked offset %lld, its new "
                 "master has %lld",
                 s->f[i].addr.host, (long long)s->f[i].acked_hi,
                 (long long)s->f[m].offset);
    fake_redis_replicaof(&s->f[i], m, s->now);
}

static void fake_promote(struct sim *s, int i)
{
    fake_redis_replicaof_no_one(&s->f[i]);
}

static void fake_failover(struct sim *s, int i, int t);

static bool writable(const struct sim *s, int i)
{
    const struct fake *r = &s->f[i];

    return r->proc == PROC_UP && !r->loading && r->role == RSM_ROLE_MASTER &&
           r->paused_until <= s->now;
}

/* The client: writes to the master the agents give (the new master once
 * its promotion is committed, as rsm_sentinel_master_addr()); a write to
 * a paused master waits, and gets READONLY if it turned replica. */
static void client_writes(struct sim *s)
{
    const struct rsm_group *g = rsm_fsm_group(&s->fsm, GROUP);
    const struct rsm_addr *m;
    int i;

    if (s->write_rate == 0 || g == NULL || !g->has_master)
        return;
    m = g->in_flight && g->step >= RSM_STEP_PROMOTED ? &g->decision.master
                                                     : &g->master;
    i = find_fake(s, m);
    if (i < 0 || !writable(s, i))
        return;
    s->f[i].offset += s->write_rate;
    s->f[i].acked_hi = s->f[i].offset;
}

static void check_writable(const struct sim *s)
{
    unsigned n = 0;

    for (size_t i = 0; i < s->n && s->one_writable; i++)
        n += writable(s, (int)i);
    if (n > 1)
        fail_msg("%u masters accept writes at t=%lld", n, (long long)s->now);
}

static void advance(struct sim *s, int64_t ms)
{
    s->now += ms;
    client_writes(s);
    check_writable(s);
    fake_redis_replicate(s->f, s->n, s->now, s->sync_ms, s->reconnect_ms);
    for (size_t i = 0; i < s->n; i++) {
        if (s->f[i].fo_target >= 0 && s->f[i].proc == PROC_UP)
            fake_failover(s, (int)i, s->f[i].fo_target);
    }
}

static void probe(struct sim *s, unsigned a, int i)
{
    struct rsm_probe_result r;

    fake_redis_probe(s->f, s->n, i, s->now, s->cut[a][i], s->version, &r);
    assert_int_equal(rsm_detector_feed(&s->h[a][i], &r), 0);
}

/* ======================================================================
 * The simulated leader
 * ====================================================================== */

static const struct rsm_group *group(const struct sim *s)
{
    return rsm_fsm_group(&s->fsm, GROUP);
}

static void reset_records(struct sim *s, unsigned a)
{
    for (size_t i = 0; i < s->n; i++)
        rsm_detector_init(&s->h[a][i], &s->f[i].addr, s->now);
}

static void compute_verdict(struct sim *s, const struct rsm_group *g)
{
    struct rsm_agent_view views[AGENTS];
    struct rsm_verdict_input in;
    size_t nv = 0;
    int m = find_fake(s, &g->master);

    for (unsigned a = 0; a < AGENTS && m >= 0; a++) {
        if (a != s->leader)
            rsm_detector_view(&s->h[a][m], &s->dcfg, s->now, a + 1,
                              &views[nv++]);
    }
    memset(&in, 0, sizeof in);
    in.master = &g->master;
    in.members = s->h[s->leader];
    in.n_members = s->n;
    in.views = views;
    in.n_views = nv;
    in.n_agents = AGENTS;
    in.cfg = &s->dcfg;
    in.now_ms = s->now;
    in.committed_run_id = g->master_run_id;
    assert_int_equal(rsm_detector_master_verdict(&in, &s->verdict), 0);
}

static void check_plan(struct sim *s, const struct rsm_group *g)
{
    const struct rsm_planner_plan *p = &s->plan;
    char err[RSM_ERRMSG_SIZE];

    assert_true(strlen(p->reason) > 0);
    if (p->kind == RSM_PLAN_PROPOSE) {
        if (rsm_entry_check(&p->entry, err, sizeof err) != 0)
            fail_msg("bad entry: %s", err);
        assert_int_equal(p->n_actions, 0);
    }
    if (p->kind == RSM_PLAN_REDIS)
        assert_true(p->n_actions > 0);
    if (p->kind == RSM_PLAN_PROPOSE &&
        p->entry.kind == RSM_ENTRY_DECIDE_FAILOVER) {
        int c = find_fake(s, &p->entry.master);

        assert_true(g == NULL || !g->in_flight); /* never a second one */
        assert_true(c >= 0);
        assert_true(s->f[c].priority > 0);
    }
    for (unsigned k = 0; k < p->n_actions; k++) {
        const struct rsm_redis_action *a = &p->actions[k];

        if (a->cmd == RSM_CMD_FAILOVER) {
            /* only to the old master, towards the new one, of a committed
             * switchover */
            assert_non_null(g);
            assert_true(g->in_flight);
            assert_int_equal(g->decision.failover_kind,
                             RSM_FAILOVER_SWITCHOVER);
            assert_true(rsm_addr_equal(&a->addr, &g->decision.old_master));
            assert_true(rsm_addr_equal(&a->master, &g->decision.master));
            assert_true(a->timeout_ms >= 100);
            assert_true(a->timeout_ms <= g->decision.timeout_ms);
        } else if (a->cmd == RSM_CMD_FAILOVER_ABORT) {
            assert_non_null(g);
            assert_true(g->in_flight);
            assert_true(rsm_addr_equal(&a->addr, &g->decision.old_master));
        } else if (a->cmd == RSM_CMD_CLIENT_PAUSE ||
                   a->cmd == RSM_CMD_CLIENT_UNPAUSE) {
            /* only to the old master of a committed pause switchover */
            assert_non_null(g);
            assert_true(g->in_flight);
            assert_int_equal(g->decision.switchover_method,
                             RSM_SWITCHOVER_PAUSE);
            assert_true(rsm_addr_equal(&a->addr, &g->decision.old_master));
            if (a->cmd == RSM_CMD_CLIENT_PAUSE) {
                assert_true(a->timeout_ms >= 1000); /* the margin */
                assert_true(a->timeout_ms <= g->decision.timeout_ms);
            }
        } else if (a->cmd == RSM_CMD_REPLICAOF_NO_ONE) {
            assert_non_null(g);
            assert_true(g->in_flight);
            assert_int_equal(g->decision.epoch, g->epoch);
            if (g->decision.failover_kind == RSM_FAILOVER_SWITCHOVER) {
                int old = find_fake(s, &g->decision.old_master);
                int t = find_fake(s, &g->decision.master);

                /* FAILOVER TO swaps roles itself; the pause method
                 * promotes only after the writes were paused, the target
                 * caught up (committed) and the old master demoted to
                 * it, or rolls the old master back */
                assert_int_equal(g->decision.switchover_method,
                                 RSM_SWITCHOVER_PAUSE);
                assert_int_equal(g->step, RSM_STEP_CAUGHT_UP);
                if (rsm_addr_equal(&a->addr, &g->decision.master))
                    assert_true(s->f[old].role == RSM_ROLE_REPLICA &&
                                s->f[old].master == t);
                else
                    assert_true(
                        rsm_addr_equal(&a->addr, &g->decision.old_master));
            } else {
                /* only the new master of the committed decision */
                assert_true(rsm_addr_equal(&a->addr, &g->decision.master));
            }
        } else {
            assert_int_equal(a->cmd, RSM_CMD_REPLICAOF);
            assert_false(rsm_addr_equal(&a->addr, &a->master));
        }
    }
}

/* RSM_TEST_VERBOSE=1: print every plan (to read a scenario). */
static void print_plan(const struct sim *s)
{
    const struct rsm_planner_plan *p = &s->plan;
    char a[RSM_ADDR_STRLEN], b[RSM_ADDR_STRLEN];

    printf("t=%lld %s [%s] %s\n", (long long)(s->now % 100000),
           rsm_plan_kind_str(p->kind), rsm_failover_state_str(p->state),
           p->reason);
    for (unsigned k = 0; k < p->n_actions; k++)
        printf("    %s %s %s\n",
               rsm_addr_format(&p->actions[k].addr, a, sizeof a),
               rsm_redis_cmd_str(p->actions[k].cmd),
               p->actions[k].cmd == RSM_CMD_REPLICAOF
                   ? rsm_addr_format(&p->actions[k].master, b, sizeof b)
                   : "");
    for (unsigned k = 0; k < p->n_events; k++)
        printf("    event %s %s\n", p->events[k].name, p->events[k].detail);
}

static void plan(struct sim *s)
{
    const struct rsm_group *g = group(s);
    struct rsm_planner_input in;

    for (size_t i = 0; i < s->n; i++)
        rsm_detector_observe(&s->h[s->leader][i], &s->dcfg, s->now, &s->obs[i]);
    if (g != NULL && g->has_master)
        compute_verdict(s, g);
    memset(&in, 0, sizeof in);
    in.group = GROUP;
    in.committed = g;
    in.obs = s->obs;
    in.n_obs = s->n;
    in.verdict = g != NULL && g->has_master ? &s->verdict : NULL;
    in.cfg = &s->pcfg;
    in.leader_id = s->leader + 1;
    in.now_ms = s->now;
    in.manual_failover = s->manual;
    in.force = s->force;
    in.switchover = s->switchover;
    in.switchover_to = s->switchover_to;
    in.switchover_timeout_ms = s->switchover_timeout_ms;
    in.pause = &s->pause;
    in.failover_cmd = s->failover_cmd;
    in.failover_cmd_error = s->failover_cmd_error;
    assert_int_equal(rsm_planner_next(&in, &s->plan), 0);
    check_plan(s, g);
    if (getenv("RSM_TEST_VERBOSE") != NULL)
        print_plan(s);
    assert_true(s->plan.state <= RSM_FO_SWAP_ROLES);
    s->state_seen[s->plan.state] = true;
    if (s->plan.state != RSM_FO_NONE)
        assert_int_equal(s->plan.epoch,
                         (g ? g->epoch : 0) +
                             (s->plan.state == RSM_FO_SELECT_SLAVE));
    for (unsigned k = 0; k < s->plan.n_events && s->n_events < 512; k++)
        snprintf(s->events[s->n_events++], sizeof s->events[0], "%s",
                 s->plan.events[k].name);
}

/* Every abort the planner proposes carries a code, and its event agrees
 * with it (the io side names its own event from the code alone). */
static void check_abort_code(const struct rsm_planner_plan *p)
{
    const char *ev = NULL;

    for (unsigned k = 0; k < p->n_events; k++) {
        if (strncmp(p->events[k].name, "-failover-abort", 15) == 0)
            ev = p->events[k].name;
    }
    assert_non_null(ev);
    switch (p->entry.abort_code) {
    case RSM_ABORT_TIMEOUT:
        assert_string_equal(ev, "-failover-abort-timeout");
        break;
    case RSM_ABORT_UNREACHABLE:
        assert_string_equal(ev, "-failover-abort-slave-unreachable");
        break;
    case RSM_ABORT_REPLACED_BY_SYNC:
        assert_string_equal(ev, "-failover-abort-slave-resynced");
        break;
    case RSM_ABORT_RESTARTED:
        assert_string_equal(ev, "-failover-abort-slave-restarted");
        break;
    case RSM_ABORT_OTHER:
        assert_true(strcmp(ev, "-failover-abort-failover-unusable") == 0 ||
                    strcmp(ev, "-failover-abort-pause-refused") == 0 ||
                    strcmp(ev, "-failover-abort-roles") == 0);
        break;
    default:
        fail_msg("abort without a code: %s", p->entry.reason);
    }
}

static void commit(struct sim *s)
{
    int rc =
        rsm_fsm_apply(&s->fsm, &s->plan.entry, s->reason, sizeof s->reason);

    if (rc != 0)
        fail_msg("%s rejected: %s", rsm_entry_kind_str(s->plan.entry.kind),
                 s->reason);
    if (s->plan.entry.kind == RSM_ENTRY_DECIDE_FAILOVER) {
        s->decisions_applied++;
        if (s->plan.entry.failover_kind == RSM_FAILOVER_MANUAL)
            s->manual = false; /* the request is answered */
        if (s->plan.entry.failover_kind == RSM_FAILOVER_SWITCHOVER)
            s->switchover = false;
    }
    if (s->plan.entry.kind == RSM_ENTRY_COMPLETE_FAILOVER)
        s->last_complete = s->plan.entry;
    if (s->plan.entry.kind == RSM_ENTRY_ABORT_FAILOVER) {
        check_abort_code(&s->plan);
        s->last_abort = s->plan.entry;
    }
    if (s->crash.armed && s->crash.kind == s->plan.entry.kind &&
        (s->crash.kind != RSM_ENTRY_FAILOVER_PROGRESS ||
         s->crash.step == s->plan.entry.step))
        s->crash.hit = true;
}

static unsigned count_syncing(const struct sim *s)
{
    unsigned n = 0;

    for (size_t i = 0; i < s->n; i++) {
        if (s->f[i].proc == PROC_UP && s->f[i].role == RSM_ROLE_REPLICA &&
            s->f[i].sync_start_ms >= 0)
            n++;
    }
    return n;
}

/* CLIENT PAUSE t WRITE, and the shell's INFO right after it. */
static void exec_pause(struct sim *s, int i, const struct rsm_redis_action *a)
{
    const struct rsm_group *g = group(s);

    memset(&s->pause, 0, sizeof s->pause);
    s->pause.epoch = g->decision.epoch;
    s->pause.addr = s->f[i].addr;
    if (s->pause_refused) {
        s->pause.state = RSM_PAUSE_REFUSED;
        snprintf(s->pause.error, sizeof s->pause.error,
                 "NOPERM this user has no permissions to run the 'client' "
                 "command");
        return;
    }
    s->f[i].paused_until = s->now + a->timeout_ms;
    s->pause.state = RSM_PAUSE_PAUSED;
    s->pause.offset = s->f[i].role == RSM_ROLE_MASTER ? s->f[i].offset : -1;
    s->pause.sent_ms = s->now;
    s->pause.until_ms = s->now + a->timeout_ms;
}

static void execute(struct sim *s)
{
    const struct rsm_group *g = group(s);

    for (unsigned k = 0; k < s->plan.n_actions && !s->drop_actions; k++) {
        const struct rsm_redis_action *a = &s->plan.actions[k];
        int i = find_fake(s, &a->addr);

        assert_true(i >= 0);
        if (s->f[i].proc != PROC_UP || s->f[i].deaf || s->f[i].loading ||
            s->cut[s->leader][i])
            continue; /* the command fails */
        if (s->n_cmds < 256) {
            s->cmds[s->n_cmds].cmd = a->cmd;
            s->cmds[s->n_cmds++].i = i;
        }
        if (a->cmd == RSM_CMD_CLIENT_PAUSE) {
            exec_pause(s, i, a);
        } else if (a->cmd == RSM_CMD_CLIENT_UNPAUSE) {
            s->f[i].paused_until = 0;
            s->pause.epoch = g->decision.epoch;
            s->pause.addr = s->f[i].addr;
            s->pause.state = RSM_PAUSE_UNPAUSED;
        } else if (a->cmd == RSM_CMD_FAILOVER && s->f[i].no_failover_cmd) {
            /* what the shell does with the error reply */
            s->failover_cmd = RSM_FAILOVER_CMD_UNUSABLE;
            snprintf(s->failover_cmd_error, sizeof s->failover_cmd_error,
                     "ERR unknown command 'FAILOVER'");
        } else if (a->cmd == RSM_CMD_FAILOVER) {
            int t = find_fake(s, &a->master);

            assert_true(t >= 0);
            /* "already in progress" / not a master: an error */
            if (s->f[i].role == RSM_ROLE_MASTER && s->f[i].fo_target < 0)
                fake_failover(s, i, t);
        } else if (a->cmd == RSM_CMD_FAILOVER_ABORT) {
            if (s->f[i].fo_target >= 0)
                s->failover_aborts++;
            s->f[i].fo_target = -1;
        } else if (a->cmd == RSM_CMD_REPLICAOF_NO_ONE) {
            uint64_t e = g->decision.epoch;

            assert_true(e < MAX_EPOCH);
            /* a rolled-back old master is not a promotion */
            if (!rsm_addr_equal(&a->addr, &g->decision.old_master)) {
                assert_true(s->promoted[e] < 0 || s->promoted[e] == i);
                s->promoted[e] = i;
            }
            if (s->f[i].role != RSM_ROLE_MASTER)
                fake_promote(s, i);
        } else {
            int m = find_fake(s, &a->master);

            assert_true(m >= 0);
            /* a master demoted in a pause switchover is paused, and its
             * new master has every write it acknowledged (fake_follow) */
            if (s->lossless && g != NULL && g->in_flight &&
                g->decision.switchover_method == RSM_SWITCHOVER_PAUSE &&
                rsm_addr_equal(&a->addr, &g->decision.old_master) &&
                s->f[i].role == RSM_ROLE_MASTER)
                assert_true(s->f[i].paused_until > s->now);
            if (s->f[i].role != RSM_ROLE_REPLICA || s->f[i].master != m)
                fake_follow(s, i, m);
        }
        if (s->crash.armed && s->crash.kind == RSM_ENTRY_NONE &&
            s->crash.cmd == a->cmd && s->crash.target == i) {
            s->crash.hit = true;
            break;
        }
    }
    if (count_syncing(s) > s->max_syncing)
        s->max_syncing = count_syncing(s);
}

/* Redis's FAILOVER TO t on i: swap once t has every write, else keep
 * waiting (writes paused) until FAILOVER ABORT. */
static void fake_failover(struct sim *s, int i, int t)
{
    const struct rsm_group *g = group(s);

    s->f[i].fo_target = t;
    if (s->f[t].proc != PROC_UP || s->f[t].master != i || !s->f[t].link_up ||
        s->f[t].offset != s->f[i].offset)
        return;
    s->f[i].fo_target = -1;
    s->promoted[g->decision.epoch] = t;
    fake_promote(s, t);
    fake_follow(s, i, t);
}

/* One probe interval. Returns the kind of the last plan. */
static enum rsm_plan_kind step(struct sim *s)
{
    advance(s, TICK);
    for (unsigned a = 0; a < AGENTS; a++) {
        for (size_t i = 0; i < s->n; i++)
            probe(s, a, (int)i);
    }
    for (int k = 0; k < 8 && !s->crash.hit; k++) {
        plan(s);
        if (s->plan.kind == RSM_PLAN_PROPOSE) {
            commit(s);
            continue;
        }
        if (s->plan.kind == RSM_PLAN_REDIS)
            execute(s);
        break;
    }
    return s->plan.kind;
}

static void run(struct sim *s, int steps)
{
    for (int k = 0; k < steps; k++)
        step(s);
}

/* Run until pred holds; fail after max steps. Returns the steps taken. */
static int run_until(struct sim *s, bool (*pred)(const struct sim *), int max)
{
    for (int k = 0; k < max; k++) {
        if (pred(s))
            return k;
        step(s);
    }
    if (!pred(s))
        fail_msg("condition not reached after %d steps; last plan: %s", max,
                 s->plan.reason);
    return max;
}

static bool has_master(const struct sim *s)
{
    const struct rsm_group *g = group(s);

    return g != NULL && g->has_master;
}

static bool in_flight(const struct sim *s)
{
    const struct rsm_group *g = group(s);

    return g != NULL && g->in_flight;
}

static bool promotion_recorded(const struct sim *s)
{
    const struct rsm_group *g = group(s);

    return g != NULL && g->in_flight && g->step >= RSM_STEP_PROMOTED;
}

static bool failover_ended(const struct sim *s)
{
    const struct rsm_group *g = group(s);

    return g != NULL && !g->in_flight && g->n_history > 0;
}

static bool follows_linked(const struct sim *s, int i, int m)
{
    const struct fake *r = &s->f[i];

    return r->proc == PROC_UP && r->role == RSM_ROLE_REPLICA &&
           r->master == m && r->link_up;
}

/* Index of the event named name at or after from, -1 if none. */
static int find_event(const struct sim *s, const char *name, int from)
{
    for (unsigned k = (unsigned)from; k < s->n_events; k++) {
        if (strcmp(s->events[k], name) == 0)
            return (int)k;
    }
    return -1;
}

static unsigned count_event(const struct sim *s, const char *name)
{
    unsigned n = 0;

    for (unsigned k = 0; k < s->n_events; k++)
        n += strcmp(s->events[k], name) == 0;
    return n;
}

/* ======================================================================
 * Fixture: n instances, index 0 master, the others its replicas
 * ====================================================================== */

static struct sim *sim_new(size_t n)
{
    struct sim *s = calloc(1, sizeof *s);

    assert_non_null(s);
    assert_true(n <= MAXF);
    s->now = 1000000;
    s->n = n;
    s->sync_ms = 0;
    s->reconnect_ms = 1000;
    rsm_detector_config_init(&s->dcfg);
    s->dcfg.down_after_ms = DOWN_AFTER;
    s->dcfg.quorum = 2;
    rsm_planner_config_init(&s->pcfg);
    s->pcfg.down_after_ms = DOWN_AFTER;
    s->pcfg.failover_timeout_ms = 10000;
    s->pcfg.min_failover_interval_ms = 30000;
    s->pcfg.parallel_syncs = 1;
    s->pcfg.repoint_grace_ms = 2000;
    /* the tests of Redis's FAILOVER TO; pause_sim() picks the other */
    s->pcfg.switchover_method = RSM_SWITCHOVER_FAILOVER_CMD;
    rsm_fsm_init(&s->fsm);
    for (int e = 0; e < MAX_EPOCH; e++)
        s->promoted[e] = -1;
    for (size_t i = 0; i < n; i++)
        fake_redis_init(&s->f[i], i, s->now);
    for (unsigned a = 0; a < AGENTS; a++)
        reset_records(s, a);
    return s;
}

static int setup(void **state)
{
    *state = NULL;
    return 0;
}

static int teardown(void **state)
{
    struct sim *s = *state;

    if (s != NULL) {
        rsm_fsm_close(&s->fsm);
        free(s);
    }
    return 0;
}

/* A group of n with its master committed by the planner itself. */
static struct sim *booted(void **state, size_t n)
{
    struct sim *s = sim_new(n);

    *state = s;
    run_until(s, has_master, 3);
    assert_true(rsm_addr_equal(&group(s)->master, &s->f[0].addr));
    run(s, 2);
    s->n_events = 0;
    return s;
}

static void kill_fake(struct sim *s, int i)
{
    s->f[i].proc = PROC_KILLED;
}

/* ======================================================================
 * First start
 * ====================================================================== */

static void test_first_start_observes_master(void **state)
{
    struct sim *s = sim_new(3);
    const struct rsm_group *g;

    *state = s;
    step(s);
    g = group(s);
    assert_non_null(g);
    assert_true(g->has_master);
    assert_true(rsm_addr_equal(&g->master, &s->f[0].addr));
    assert_string_equal(g->master_run_id, "run-0");
    assert_int_equal(g->n_members, 3);
    assert_int_equal(g->epoch, 0);
    assert_int_equal(count_event(s, "+observe-master"), 1);
    /* then quiet: nothing to do */
    assert_int_equal(step(s), RSM_PLAN_NONE);
    assert_string_equal(s->plan.reason, "master 10.0.0.1:6379 ok");
}

static void test_first_start_waits_for_every_first_probe(void **state)
{
    struct sim *s = sim_new(3);

    *state = s;
    /* instance 2 does not answer at first (probe timing out) */
    s->cut[0][2] = true;
    step(s);
    assert_null(group(s));
    assert_int_equal(s->plan.kind, RSM_PLAN_NONE);
    assert_string_equal(s->plan.reason,
                        "no master committed; waiting for 10.0.0.3:6379 "
                        "(suspect)");
    s->cut[0][2] = false;
    step(s);
    assert_true(has_master(s));
}

static void test_first_start_no_master_bootstraps_best_replica(void **state)
{
    struct sim *s = sim_new(3);
    const struct rsm_group *g;

    *state = s;
    kill_fake(s, 0); /* the master never answers: replicas lose their link */
    s->f[2].lag = 50;
    s->f[1].offset = 900;
    s->f[2].offset = 1000;
    /* nothing until the silent one is known to be down */
    run(s, 5);
    assert_null(group(s));
    assert_non_null(strstr(s->plan.reason, "waiting for 10.0.0.1:6379"));
    run_until(s, failover_ended, 40);
    g = group(s);
    assert_true(g->has_master);
    assert_true(rsm_addr_equal(&g->master, &s->f[2].addr)); /* best offset */
    assert_int_equal(g->epoch, 1);
    assert_int_equal(g->history[0].kind, RSM_FAILOVER_BOOTSTRAP);
    /* the dead one is not linked to the new master: a straggler */
    assert_int_equal(g->history[0].result,
                     RSM_RESULT_COMPLETED_WITH_STRAGGLERS);
    assert_int_equal(s->last_complete.n_stragglers, 1);
    assert_true(rsm_addr_equal(&s->last_complete.stragglers[0], &s->f[0].addr));
    assert_int_equal(g->history[0].old_master.port, 0);
    assert_int_equal(g->history[0].data_at_risk, -1);
    assert_int_equal(s->f[2].role, RSM_ROLE_MASTER);
    assert_true(follows_linked(s, 1, 2));
    assert_int_equal(s->promoted[1], 2);
    assert_int_equal(g->n_members, 3);
}

static void test_first_start_replica_hears_master_elsewhere_waits(void **state)
{
    struct sim *s = sim_new(4);

    *state = s;
    /* instance 0 follows 3, which the leader cannot reach: every listed
     * instance the leader sees is a replica, but 3 is alive. */
    fake_promote(s, 3);
    for (int i = 0; i < 3; i++) {
        fake_follow(s, i, 3);
        s->f[i].sync_start_ms = -1;
        s->f[i].link_up = true;
        snprintf(s->f[i].synced_run_id, sizeof s->f[i].synced_run_id, "run-3");
    }
    s->cut[0][3] = true;
    run(s, 15);
    assert_null(group(s));
    assert_int_equal(s->plan.kind, RSM_PLAN_NONE);
    assert_non_null(strstr(s->plan.reason, "not bootstrapping"));
    assert_non_null(strstr(s->plan.reason, "heard from its master "
                                           "10.0.0.4:6379 0 s ago"));
}

static void test_first_start_several_masters_records_most_followed(void **state)
{
    struct sim *s = sim_new(4);
    const struct rsm_group *g;

    *state = s;
    /* 0 has replicas 2, 3; 1 claims master with none (and more data) */
    fake_promote(s, 1);
    s->f[1].offset = 5000;
    step(s);
    g = group(s);
    assert_non_null(g);
    assert_true(rsm_addr_equal(&g->master, &s->f[0].addr));
    /* 1 is a rogue master: made a replica after the grace period */
    run(s, 15);
    assert_int_equal(s->f[1].role, RSM_ROLE_MASTER);
    assert_non_null(strstr(s->plan.reason, "to re-point after grace"));
    run(s, 10);
    assert_true(follows_linked(s, 1, 0));
    assert_int_equal(count_event(s, "+convert-to-slave"), 1);
    assert_int_equal(group(s)->epoch, 0);
}

/* ======================================================================
 * Failovers
 * ====================================================================== */

static void
test_master_killed_quorum_agrees_decides_epoch_plus_one(void **state)
{
    struct sim *s = booted(state, 3);
    const struct rsm_group *g;
    const struct rsm_history_item *h;
    int64_t t0;
    int steps, e;

    s->f[2].lag = 100; /* replica 1 has more data */
    run(s, 2);
    t0 = s->now;
    kill_fake(s, 0);
    /* nothing before down_after */
    run(s, DOWN_AFTER / TICK - 1);
    assert_int_equal(s->decisions_applied, 0);
    assert_non_null(strstr(s->plan.reason, "unreachable from agent"));
    run_until(s, in_flight, 3);
    g = group(s);
    assert_int_equal(g->epoch, 1);
    assert_true(rsm_addr_equal(&g->decision.master, &s->f[1].addr));
    assert_true(rsm_addr_equal(&g->decision.old_master, &s->f[0].addr));
    assert_int_equal(g->decision.old_offset, 1000);
    assert_int_equal(g->decision.new_offset, 1000);
    assert_int_equal(g->decision.decided_by, 1);
    assert_int_equal(g->decision.failover_kind, RSM_FAILOVER_AUTOMATIC);
    assert_int_equal(g->decision.n_ranked, 2);
    assert_int_equal(g->decision.ranking[0].rank, 1);
    assert_int_equal(g->decision.ranking[1].rank, 2);
    assert_true(rsm_addr_equal(&g->decision.ranking[1].addr, &s->f[2].addr));
    assert_int_equal(g->decision.ranking[1].offset, 900);
    assert_non_null(strstr(g->decision.reason, "3 of 3 agents see it down"));
    steps = run_until(s, failover_ended, 20);
    (void)steps;
    g = group(s);
    h = &g->history[0];
    assert_int_equal(g->n_history, 1);
    assert_int_equal(h->epoch, 1);
    assert_int_equal(h->result, RSM_RESULT_COMPLETED);
    assert_true(rsm_addr_equal(&h->new_master, &s->f[1].addr));
    assert_true(rsm_addr_equal(&g->master, &s->f[1].addr));
    assert_int_equal(h->data_at_risk, 0);
    assert_int_equal(s->f[1].role, RSM_ROLE_MASTER);
    assert_true(follows_linked(s, 2, 1));
    assert_int_equal(s->decisions_applied, 1);
    /* every surviving replica linked within down_after + 5 ticks */
    assert_true(s->now - t0 <= DOWN_AFTER + 5 * TICK);
    /* the named steps, in order */
    e = find_event(s, "+try-failover", 0);
    assert_true(e >= 0);
    e = find_event(s, "+selected-slave", e);
    assert_true(e >= 0);
    e = find_event(s, "+failover-state-send-slaveof-noone", e);
    assert_true(e >= 0);
    e = find_event(s, "+promoted-slave", e);
    assert_true(e >= 0);
    e = find_event(s, "+slave-reconf-sent", e);
    assert_true(e >= 0);
    e = find_event(s, "+failover-end", e);
    assert_true(e >= 0);
    assert_true(find_event(s, "+switch-master", e) > e);

    /* afterwards: the new master's run_id is recorded, then quiet */
    run(s, 3);
    assert_string_equal(group(s)->master_run_id, "run-1");
    assert_int_equal(s->plan.kind, RSM_PLAN_NONE);
    run(s, 50);
    assert_int_equal(group(s)->epoch, 1);
}

static void test_switch_master_payload_is_sentinels(void **state)
{
    struct sim *s = booted(state, 2);

    kill_fake(s, 0);
    for (int k = 0; k < 40 && !failover_ended(s); k++) {
        step(s);
        for (unsigned j = 0; j < s->plan.n_events; j++) {
            if (strcmp(s->plan.events[j].name, "+switch-master") == 0)
                assert_string_equal(s->plan.events[j].detail,
                                    "cache 10.0.0.1 6379 10.0.0.2 6379");
        }
    }
    assert_true(failover_ended(s));
    assert_int_equal(count_event(s, "+switch-master"), 1);
}

static void
test_master_unreachable_but_replica_hears_it_no_failover(void **state)
{
    struct sim *s = booted(state, 3);

    /* the leader is cut from the master; the other agents too (so the
     * quorum agrees), but the replicas still hear from it */
    s->cut[0][0] = s->cut[1][0] = true;
    run(s, 30);
    assert_int_equal(s->decisions_applied, 0);
    assert_int_equal(s->plan.kind, RSM_PLAN_NONE);
    assert_non_null(strstr(s->plan.reason, "but replica 10.0.0."));
    assert_non_null(strstr(s->plan.reason, "heard from it 0 s ago"));
    /* and with only the leader cut: no quorum */
    s->cut[1][0] = false;
    run(s, 5);
    assert_int_equal(s->decisions_applied, 0);
}

static void test_leader_cut_from_everything_no_failover(void **state)
{
    struct sim *s = booted(state, 3);

    /* the leader's own links fail; the other agents see a healthy master */
    for (size_t i = 0; i < s->n; i++)
        s->cut[0][i] = true;
    run(s, 30);
    assert_int_equal(s->decisions_applied, 0);
    assert_int_equal(s->plan.kind, RSM_PLAN_NONE);
    assert_non_null(strstr(s->plan.reason, "but agent 2 had one"));
}

static void
test_sigstop_short_nothing_long_failover_old_master_demoted(void **state)
{
    struct sim *s = booted(state, 3);

    s->f[0].proc = PROC_STOPPED;
    run(s, (DOWN_AFTER - 200) / TICK);
    s->f[0].proc = PROC_UP;
    run(s, 20);
    assert_int_equal(s->decisions_applied, 0);
    assert_int_equal(group(s)->epoch, 0);
    /* longer: the replicas' contact ages out, then failover */
    s->f[0].proc = PROC_STOPPED;
    run_until(s, failover_ended, 40);
    assert_int_equal(group(s)->epoch, 1);
    assert_int_equal(group(s)->history[0].result, RSM_RESULT_COMPLETED);
    /* SIGCONT: the old master comes back claiming master: demoted at
     * once (no grace for a former master) */
    s->f[0].proc = PROC_UP;
    run(s, 3);
    assert_int_equal(s->f[0].role, RSM_ROLE_REPLICA);
    assert_int_equal(s->f[0].master, find_fake(s, &group(s)->master));
    assert_int_equal(count_event(s, "+convert-to-slave"), 1);
}

static void test_returning_old_master_demoted(void **state)
{
    struct sim *s = booted(state, 3);
    int64_t back;

    kill_fake(s, 0);
    run_until(s, failover_ended, 40);
    run(s, 5);
    /* it restarts with its data, as a master */
    s->f[0].proc = PROC_UP;
    snprintf(s->f[0].run_id, sizeof s->f[0].run_id, "run-0-again");
    back = s->now;
    run_until(s, failover_ended, 1); /* still ended */
    step(s);
    assert_int_equal(s->plan.kind, RSM_PLAN_REDIS);
    assert_int_equal(s->plan.n_actions, 1);
    assert_true(rsm_addr_equal(&s->plan.actions[0].addr, &s->f[0].addr));
    assert_true(rsm_addr_equal(&s->plan.actions[0].master, &s->f[1].addr));
    assert_string_equal(s->plan.events[0].name, "+convert-to-slave");
    run(s, 2);
    assert_true(follows_linked(s, 0, 1));
    assert_true(s->now - back < s->pcfg.repoint_grace_ms);
    assert_int_equal(group(s)->epoch, 1);
}

static void test_leader_changes_mid_failover_resumes_same_epoch(void **state)
{
    struct sim *s = booted(state, 3);
    const struct rsm_group *g;

    s->f[2].lag = 10;
    run(s, 1);
    kill_fake(s, 0);
    /* the leader dies right after the decision commits, before it
     * touches Redis */
    s->drop_actions = true;
    run_until(s, in_flight, 20);
    step(s); /* it would have sent REPLICAOF NO ONE: dropped */
    assert_int_equal(s->f[1].role, RSM_ROLE_REPLICA);
    /* agent 2 takes over with empty detector records */
    s->leader = 1;
    s->drop_actions = false;
    reset_records(s, 1);
    plan(s); /* before its first probes: nothing known, nothing done */
    assert_int_equal(s->plan.kind, RSM_PLAN_NONE);
    assert_int_equal(s->plan.state, RSM_FO_SEND_PROMOTE);
    assert_non_null(strstr(s->plan.reason, "waiting to promote"));
    step(s);
    assert_int_equal(s->plan.kind, RSM_PLAN_REDIS); /* the same promotion */
    assert_int_equal(s->plan.state, RSM_FO_SEND_PROMOTE);
    assert_int_equal(s->plan.epoch, 1);
    assert_int_equal(s->plan.actions[0].cmd, RSM_CMD_REPLICAOF_NO_ONE);
    assert_true(rsm_addr_equal(&s->plan.actions[0].addr, &s->f[1].addr));
    run_until(s, failover_ended, 20);
    g = group(s);
    assert_int_equal(g->epoch, 1);
    assert_int_equal(g->n_history, 1);
    assert_int_equal(g->history[0].result, RSM_RESULT_COMPLETED);
    assert_true(rsm_addr_equal(&g->master, &s->f[1].addr));
    assert_int_equal(s->decisions_applied, 1);
    assert_int_equal(s->promoted[1], 1);
    assert_true(follows_linked(s, 2, 1));
}

static void test_leader_changes_after_promotion_resumes(void **state)
{
    struct sim *s = booted(state, 4);
    const struct rsm_group *g;

    s->f[2].lag = 10;
    s->f[3].lag = 20;
    s->sync_ms = 300;
    kill_fake(s, 0);
    run_until(s, in_flight, 20);
    run_until(s, promotion_recorded, 10);
    /* new leader (agent 3) just after the promotion was recorded */
    s->leader = 2;
    reset_records(s, 2);
    run_until(s, failover_ended, 30);
    g = group(s);
    assert_int_equal(g->epoch, 1);
    assert_int_equal(s->decisions_applied, 1);
    assert_int_equal(count_event(s, "+promoted-slave"), 1);
    assert_true(follows_linked(s, 2, 1));
    assert_true(follows_linked(s, 3, 1));
}

static void test_no_second_decision_while_in_flight(void **state)
{
    struct sim *s = booted(state, 3);

    kill_fake(s, 0);
    s->drop_actions = true; /* the failover cannot make progress */
    run_until(s, in_flight, 20);
    /* the master stays down all along: still one decision, until the
     * timeout aborts it (check_plan asserts no DecideFailover is planned
     * while one is in flight) */
    run_until(s, failover_ended, s->pcfg.failover_timeout_ms / TICK + 5);
    assert_int_equal(s->decisions_applied, 1);
    assert_int_equal(group(s)->history[0].result, RSM_RESULT_ABORTED);
}

static void test_loading_reply_is_alive(void **state)
{
    struct sim *s = booted(state, 3);

    s->f[0].loading = true; /* e.g. restarted, loading a big RDB */
    run(s, 50);
    assert_int_equal(s->decisions_applied, 0);
    assert_int_equal(s->verdict.status, RSM_MASTER_OK);
    assert_int_equal(s->obs[0].state, RSM_HEALTH_LOADING);
}

static void test_restarted_empty_master_is_failed(void **state)
{
    struct sim *s = booted(state, 3);
    const struct rsm_group *g;
    int64_t data, t0;

    s->f[0].offset += 4000; /* writes */
    s->f[2].lag = 100;
    run(s, 2);
    data = s->f[0].offset;
    /* restarted without its data, before down_after */
    s->f[0].offset = 0;
    snprintf(s->f[0].run_id, sizeof s->f[0].run_id, "run-0-empty");
    t0 = s->now;
    step(s);
    g = group(s);
    assert_true(g->in_flight || g->n_history > 0); /* decided at once */
    run_until(s, failover_ended, 20);
    g = group(s);
    assert_non_null(strstr(g->history[0].reason, "restarted empty"));
    assert_true(rsm_addr_equal(&g->master, &s->f[1].addr));
    assert_int_equal(g->history[0].old_offset, data);
    assert_int_equal(g->history[0].data_at_risk, 0);
    /* the replicas kept the data: no one re-synced from the empty one */
    assert_int_equal(s->f[1].offset, data);
    assert_true(follows_linked(s, 2, 1));
    assert_int_equal(s->f[2].offset, data - 100);
    /* and the empty one was made a replica of the new master */
    assert_int_equal(s->f[0].role, RSM_ROLE_REPLICA);
    assert_int_equal(s->f[0].master, 1);
    assert_true(s->now - t0 < s->reconnect_ms);
    run(s, 5);
    assert_true(follows_linked(s, 0, 1));
    assert_false(s->h[0][0].restarted_empty);
}

/* Replica 1 holds every write, replica 2 is 100 bytes behind; then the
 * master restarts empty. Returns the offset of the data written. */
static int64_t written_then_master_back_empty(struct sim *s)
{
    int64_t data;

    s->f[0].offset += 4000;
    s->f[2].lag = 100; /* replica 1 ranks first on offset */
    run(s, 2);
    data = s->f[0].offset;
    assert_int_equal(s->f[1].offset, data);
    s->f[0].offset = 0;
    snprintf(s->f[0].run_id, sizeof s->f[0].run_id, "run-0-empty");
    return data;
}

/* Replica i full-syncs from the empty master: its data is replaced. */
static void wiped_by_empty_master(struct sim *s, int i)
{
    s->f[i].offset = 0;
    snprintf(s->f[i].synced_run_id, sizeof s->f[i].synced_run_id,
             "run-0-empty");
}

/* The master restarts empty; replica 1 (the one with the most data) full-
 * syncs from it at once and is wiped, 40 ms before the leader sees the
 * restart. Its last reading (from before the wipe) must not be used to
 * rank it: the leader waits for a fresh one and promotes replica 2, which
 * kept the data (chaos seed 3005 lost 595 acknowledged writes this way). */
static void test_empty_master_stale_reading_of_wiped_replica(void **state)
{
    struct sim *s = booted(state, 3);
    const struct rsm_group *g;
    int64_t data = written_then_master_back_empty(s);

    wiped_by_empty_master(s, 1); /* in the same instant */
    /* the leader sees the master's restart before reading the replicas */
    s->now += 40;
    probe(s, s->leader, 0);
    plan(s);
    assert_int_equal(s->plan.kind, RSM_PLAN_NONE);
    assert_non_null(strstr(s->plan.reason, "waiting for an INFO of "
                                           "10.0.0.2:6379 read after the "
                                           "master restarted empty"));
    assert_int_equal(s->plan.code, RSM_PLAN_CODE_NONE); /* only waiting */
    assert_int_equal(s->decisions_applied, 0);
    /* fresh readings: replica 1 shows the empty master's offset */
    run_until(s, failover_ended, 20);
    g = group(s);
    assert_true(rsm_addr_equal(&g->master, &s->f[2].addr));
    assert_int_equal(s->promoted[1], 2);
    assert_int_equal(s->f[2].offset, data - 100);
    run(s, 30);
    assert_true(follows_linked(s, 1, 2)); /* wiped one re-synced from it */
    assert_int_equal(s->f[1].offset, data - 100);
}

/* Decided on a good reading, but the chosen replica is wiped by a sync
 * from the empty master before REPLICAOF NO ONE reaches it: its offset goes
 * back, the decision is aborted and the other replica is promoted. */
static void test_chosen_wiped_before_promotion_aborts(void **state)
{
    struct sim *s = booted(state, 3);
    const struct rsm_group *g;
    int64_t data = written_then_master_back_empty(s);

    s->drop_actions = true; /* decided and committed, nothing sent yet */
    step(s);
    g = group(s);
    assert_true(g->in_flight);
    assert_true(rsm_addr_equal(&g->decision.master, &s->f[1].addr));
    assert_int_equal(g->decision.new_offset, data);
    wiped_by_empty_master(s, 1);
    s->drop_actions = false;
    step(s);
    g = group(s);
    assert_int_equal(g->n_history, 1);
    assert_int_equal(g->history[0].result, RSM_RESULT_ABORTED);
    assert_non_null(strstr(g->history[0].reason, "offset went back"));
    assert_true(find_event(s, "-failover-abort-slave-resynced", 0) >= 0);
    assert_int_equal(s->last_abort.abort_code, RSM_ABORT_REPLACED_BY_SYNC);
    assert_int_equal(s->promoted[1], -1);
    run_until(s, failover_ended, 20);
    g = group(s);
    assert_true(rsm_addr_equal(&g->master, &s->f[2].addr));
    assert_int_equal(s->promoted[2], 2);
    assert_int_equal(s->f[2].offset, data - 100);
}

/* The agent leader and the master go down together (one node); the master
 * comes back empty before the new leader first reads it. The new leader
 * never saw the old process, but the run_id differs from the one in the
 * log and the replicas hold more data: it fails over to the best of them
 * instead of recording the empty process as the master. */
static void test_new_leader_sees_master_restarted_with_less_data(void **state)
{
    struct sim *s = booted(state, 3);
    const struct rsm_group *g;
    int64_t data;

    assert_string_equal(group(s)->master_run_id, "run-0");
    data = written_then_master_back_empty(s);
    s->leader = 1;
    reset_records(s, 1);
    /* only the master answered so far: nothing recorded, nothing done */
    probe(s, 1, 0);
    plan(s);
    assert_int_equal(s->plan.kind, RSM_PLAN_NONE);
    assert_int_equal(s->verdict.status, RSM_MASTER_UNREACHABLE_FROM_AGENT);
    assert_non_null(strstr(s->verdict.reason, "waiting for a first INFO"));
    step(s);
    assert_int_equal(s->decisions_applied, 1);
    g = group(s);
    assert_non_null(strstr(g->decision.reason, "less data than its replicas"));
    run_until(s, failover_ended, 20);
    g = group(s);
    assert_true(rsm_addr_equal(&g->master, &s->f[1].addr));
    assert_int_equal(g->history[0].old_offset, data);
    assert_int_equal(s->f[1].offset, data);
    run(s, 30);
    assert_true(follows_linked(s, 0, 1)); /* the empty one follows it */
    assert_true(follows_linked(s, 2, 1));
}

/* Same new leader, but the master came back with all its data (a new
 * run_id, an offset not below any replica's): nothing happens but the
 * record of its run_id. */
static void test_new_leader_master_restarted_with_its_data(void **state)
{
    struct sim *s = booted(state, 3);

    s->f[0].offset += 4000;
    run(s, 2);
    snprintf(s->f[0].run_id, sizeof s->f[0].run_id, "run-0-aof");
    s->leader = 1;
    reset_records(s, 1);
    run(s, 3);
    assert_int_equal(s->decisions_applied, 0);
    assert_string_equal(group(s)->master_run_id, "run-0-aof");
    assert_int_equal(s->verdict.status, RSM_MASTER_OK);
}

/* Issue #14 item 3: a master restarted with 10,000 keys and a slow load
 * was logged "restarted empty: offset 112 -> 0" and failed over at once
 * while LOADING. Redis answers INFO while it loads, with offset 0 until
 * the RDB is read: the restart is judged once loaded. */
static void test_master_restarted_loading_its_data_is_not_failed(void **state)
{
    struct sim *s = booted(state, 3);
    int64_t data;

    s->f[0].offset += 4000;
    run(s, 2);
    data = s->f[0].offset;
    /* restarted (within down_after) with all its data, loading it */
    snprintf(s->f[0].run_id, sizeof s->f[0].run_id, "run-0-rdb");
    s->f[0].loading = true;
    s->f[0].info_while_loading = true;
    run(s, 5 * DOWN_AFTER / TICK);
    assert_int_equal(s->decisions_applied, 0);
    assert_int_equal(s->obs[0].state, RSM_HEALTH_LOADING);
    assert_int_equal(s->verdict.status, RSM_MASTER_UNREACHABLE_FROM_AGENT);
    assert_non_null(strstr(s->verdict.reason, "loading its data set"));
    assert_false(s->h[0][0].restarted_empty);
    /* not recorded before it is judged */
    assert_string_equal(group(s)->master_run_id, "run-0");
    /* loaded: its offset is back; its replicas sync from it again */
    s->f[0].loading = false;
    run(s, 2 * s->reconnect_ms / TICK);
    assert_int_equal(s->decisions_applied, 0);
    assert_int_equal(s->verdict.status, RSM_MASTER_OK);
    assert_string_equal(group(s)->master_run_id, "run-0-rdb");
    assert_true(rsm_addr_equal(&group(s)->master, &s->f[0].addr));
    assert_true(follows_linked(s, 1, 0));
    assert_true(follows_linked(s, 2, 0));
    assert_int_equal(s->f[1].offset, data);
    assert_int_equal(s->f[2].offset, data);
}

/* The same, but the RDB it loads is older than what its replicas have:
 * once loaded it is judged restarted with less data, and failed over. */
static void test_master_loaded_older_data_fails_over_once_loaded(void **state)
{
    struct sim *s = booted(state, 3);
    const struct rsm_group *g;
    int64_t data;

    s->f[0].offset += 4000;
    s->f[2].lag = 100;
    s->sync_ms = 300; /* a full sync takes a while */
    run(s, 2);
    data = s->f[0].offset;
    snprintf(s->f[0].run_id, sizeof s->f[0].run_id, "run-0-old-rdb");
    s->f[0].offset = data - 500; /* the RDB missed the last writes */
    s->f[0].loading = true;
    s->f[0].info_while_loading = true;
    run(s, 3 * DOWN_AFTER / TICK);
    assert_int_equal(s->decisions_applied, 0);
    s->f[0].loading = false;
    step(s);
    assert_int_equal(s->decisions_applied, 1); /* at once */
    g = group(s);
    assert_non_null(strstr(g->decision.reason, "restarted empty"));
    assert_true(rsm_addr_equal(&g->decision.master, &s->f[1].addr));
    run_until(s, failover_ended, 20);
    assert_int_equal(s->f[1].offset, data);
}

/* Replica i never completed a sync with its master, which delays syncs
 * (Redis: repl-diskless-sync-delay): a fresh instance pointed at it. */
static void never_synced(struct sim *s, int i)
{
    s->f[i].link_up = false;
    s->f[i].linked_once = false;
    s->f[i].offset = 1;
    s->f[i].sync_start_ms = s->now;
    s->f[i].synced_run_id[0] = '\0';
    s->f[s->f[i].master].delays_sync = true;
}

/* Issue #14 item 2: "the agents promoted a replica that had never
 * completed its first sync with the master (offset 1, full sync still
 * waiting for repl-diskless-sync-delay): all data gone". Here it even has
 * the better priority. */
static void test_replica_that_never_synced_is_never_promoted(void **state)
{
    struct sim *s = sim_new(3);
    const struct rsm_group *g;

    *state = s;
    never_synced(s, 2);
    s->f[2].priority = 10;
    run_until(s, has_master, 5);
    run(s, 3);
    kill_fake(s, 0);
    run_until(s, in_flight, 40);
    /* the ranking committed with the decision says why */
    g = group(s);
    assert_int_equal(g->decision.n_ranked, 2);
    assert_int_equal(g->decision.ranking[1].rank, 0);
    assert_true(rsm_addr_equal(&g->decision.ranking[1].addr, &s->f[2].addr));
    assert_string_equal(g->decision.ranking[1].reason,
                        "never completed a sync with the master (link never "
                        "up)");
    run_until(s, failover_ended, 40);
    g = group(s);
    assert_true(rsm_addr_equal(&g->master, &s->f[1].addr));
    assert_int_equal(s->promoted[1], 1);
    assert_int_equal(g->history[0].kind, RSM_FAILOVER_AUTOMATIC);
    /* re-pointed to the new master, it syncs from it */
    run(s, 2 * s->reconnect_ms / TICK);
    assert_true(follows_linked(s, 2, 1));
}

/* Only a replica that never synced is left: no automatic failover, ever,
 * and the plan says why; a manual failover neither; a forced one does. */
static void test_only_unsynced_replica_needs_a_forced_failover(void **state)
{
    struct sim *s = sim_new(2);
    const struct rsm_group *g;

    *state = s;
    never_synced(s, 1);
    run_until(s, has_master, 5);
    run(s, 3);
    kill_fake(s, 0);
    s->force = true; /* never applies to an automatic decision */
    run(s, 5 * DOWN_AFTER / TICK);
    assert_int_equal(s->decisions_applied, 0);
    assert_int_equal(s->verdict.status, RSM_MASTER_DOWN);
    assert_non_null(strstr(s->plan.reason, "no eligible candidate: "));
    assert_non_null(strstr(s->plan.reason,
                           "10.0.0.2:6379: never completed a sync with the "
                           "master (link never up)"));
    /* a manual failover is refused for the same reason */
    s->force = false;
    s->manual = true;
    step(s);
    assert_int_equal(s->decisions_applied, 0);
    assert_non_null(strstr(s->plan.reason, "manual failover requested; no "
                                           "eligible candidate: "));
    assert_non_null(strstr(s->plan.reason, "never completed a sync"));
    /* forced: promoted, and the decision says so */
    s->force = true;
    step(s);
    assert_int_equal(s->decisions_applied, 1);
    assert_int_equal(find_event(s, "+forced-not-synced", 0) >= 0, 1);
    g = group(s);
    assert_int_equal(g->decision.failover_kind, RSM_FAILOVER_MANUAL);
    assert_string_equal(g->decision.reason,
                        "manual failover forced: never completed a sync with "
                        "the master (link never up)");
    run_until(s, failover_ended, 40);
    g = group(s);
    assert_true(rsm_addr_equal(&g->master, &s->f[1].addr));
    assert_int_equal(s->f[1].role, RSM_ROLE_MASTER);
}

/* Forced, a synced replica still wins over one that never synced. */
static void test_forced_failover_prefers_a_synced_replica(void **state)
{
    struct sim *s = sim_new(3);

    *state = s;
    never_synced(s, 2);
    s->f[2].priority = 1;
    run_until(s, has_master, 5);
    run(s, 3);
    s->manual = true;
    s->force = true;
    step(s);
    assert_int_equal(s->decisions_applied, 1);
    assert_true(rsm_addr_equal(&group(s)->decision.master, &s->f[1].addr));
    assert_string_equal(group(s)->decision.reason, "manual failover forced");
    assert_int_equal(find_event(s, "+forced-not-synced", 0), -1);
}

/* After a failover the remaining replica is re-pointed from the old master
 * to the new one, which delays its sync; then the new master dies too. The
 * replica's INFO shows its old link's down time (Redis keeps it across a
 * REPLICAOF between masters), but the leader saw it start following the new
 * master and never linked: it holds none of the new master's writes. */
static void test_repointed_replica_never_linked_to_new_master(void **state)
{
    struct sim *s = booted(state, 3);

    s->pcfg.min_failover_interval_ms = 0;
    s->f[2].lag = 100;
    run(s, 2);
    s->f[1].delays_sync = true;
    kill_fake(s, 0);
    run_until(s, failover_ended, 200);
    assert_true(rsm_addr_equal(&group(s)->master, &s->f[1].addr));
    assert_true(s->f[2].master == 1 && !s->f[2].link_up);
    kill_fake(s, 1);
    run(s, 5 * DOWN_AFTER / TICK);
    assert_int_equal(s->decisions_applied, 1);
    assert_int_equal(s->verdict.status, RSM_MASTER_DOWN);
    assert_true(s->obs[2].info->link_down_since_s >= 0);
    assert_non_null(strstr(s->plan.reason,
                           "10.0.0.3:6379: never completed a sync with the "
                           "master (seen following it, link never up)"));
}

static void
test_all_replicas_priority_zero_no_decision_with_reason(void **state)
{
    struct sim *s = booted(state, 3);

    s->f[1].priority = 0;
    s->f[2].priority = 0;
    run(s, 2);
    kill_fake(s, 0);
    run(s, 30);
    assert_int_equal(s->decisions_applied, 0);
    assert_int_equal(group(s)->epoch, 0);
    assert_int_equal(s->plan.kind, RSM_PLAN_NONE);
    assert_non_null(strstr(s->plan.reason, "no eligible candidate: "));
    assert_int_equal(s->plan.code, RSM_PLAN_CODE_NO_GOOD_REPLICA);
    assert_non_null(strstr(s->plan.reason, "10.0.0.2:6379: priority 0"));
    assert_non_null(strstr(s->plan.reason, "10.0.0.3:6379: priority 0"));
    /* one of them becomes eligible: retried, decided */
    s->f[2].priority = 10;
    run_until(s, failover_ended, 20);
    assert_true(rsm_addr_equal(&group(s)->master, &s->f[2].addr));
    assert_int_equal(s->promoted[1], 2);
}

static void test_flapping_held_back(void **state)
{
    struct sim *s = booted(state, 3);
    int64_t ended;

    kill_fake(s, 0);
    run_until(s, failover_ended, 40);
    ended = group(s)->last_failover_end_ms;
    run(s, 5);
    /* the new master fails too, soon after */
    kill_fake(s, 1);
    run(s, 30);
    assert_int_equal(group(s)->epoch, 1);
    assert_int_equal(s->plan.kind, RSM_PLAN_NONE);
    assert_non_null(strstr(s->plan.reason, "flapping: failover epoch 1 "
                                           "(10.0.0.1:6379 -> "
                                           "10.0.0.2:6379) ended"));
    /* once min_failover_interval has passed: decided */
    while (s->now - ended < s->pcfg.min_failover_interval_ms - TICK) {
        step(s);
        assert_int_equal(group(s)->epoch, 1);
    }
    run_until(s, in_flight, 5);
    run_until(s, failover_ended, 20);
    assert_int_equal(group(s)->epoch, 2);
    assert_true(rsm_addr_equal(&group(s)->master, &s->f[2].addr));
}

static void test_rogue_master_demoted_after_grace(void **state)
{
    struct sim *s = booted(state, 3);
    int64_t t0;

    fake_promote(s, 2); /* someone ran REPLICAOF NO ONE on it */
    t0 = s->now;
    while (s->now - t0 < s->pcfg.repoint_grace_ms - TICK) {
        step(s);
        assert_int_equal(s->plan.kind, RSM_PLAN_NONE);
    }
    run(s, 3);
    assert_int_equal(count_event(s, "+convert-to-slave"), 1);
    run(s, 2);
    assert_true(follows_linked(s, 2, 0));
}

static void test_wrong_master_replica_repointed_after_grace(void **state)
{
    struct sim *s = booted(state, 3);
    int64_t t0;

    fake_follow(s, 2, 1); /* chained behind the other replica */
    t0 = s->now;
    while (s->now - t0 < s->pcfg.repoint_grace_ms - TICK) {
        step(s);
        assert_int_equal(s->plan.kind, RSM_PLAN_NONE);
        assert_int_equal(s->f[2].master, 1);
    }
    run(s, 3);
    assert_int_equal(count_event(s, "+fix-slave-config"), 1);
    assert_int_equal(s->f[2].master, 0);
    run(s, 2);
    assert_true(follows_linked(s, 2, 0));
    assert_int_equal(group(s)->epoch, 0);
}

static void test_committed_master_turned_replica_is_not_followed(void **state)
{
    struct sim *s = booted(state, 3);
    int m;

    /* someone swapped roles by hand: 2 master, 0 its replica. Never make
     * 2 a replica of 0 while 0 is a replica (a loop). */
    fake_promote(s, 2);
    fake_follow(s, 0, 2);
    run(s, DOWN_AFTER / TICK - 1);
    assert_int_equal(s->plan.kind, RSM_PLAN_NONE);
    assert_non_null(strstr(s->plan.reason, "role:replica"));
    assert_int_equal(s->f[2].role, RSM_ROLE_MASTER);
    /* after down_after of that, the committed master counts as failed */
    run_until(s, failover_ended, 30);
    assert_int_equal(group(s)->epoch, 1);
    assert_non_null(strstr(group(s)->history[0].reason, "role:replica"));
    m = find_fake(s, &group(s)->master);
    assert_true(m == 1 || m == 2);
    run(s, 5);
    for (int i = 0; i < 3; i++)
        assert_true(i == m || follows_linked(s, i, m));
}

static void test_parallel_syncs_limits_reconfiguration(void **state)
{
    struct sim *s = booted(state, 5);

    s->sync_ms = 500;
    for (int i = 2; i < 5; i++)
        s->f[i].lag = 10 * i;
    run(s, 2);
    kill_fake(s, 0);
    run_until(s, failover_ended, 60);
    assert_int_equal(s->max_syncing, 1);
    for (int i = 2; i < 5; i++)
        assert_true(follows_linked(s, i, 1));
    assert_int_equal(count_event(s, "+slave-reconf-sent"), 3);
    assert_int_equal(group(s)->history[0].result, RSM_RESULT_COMPLETED);
}

static void test_parallel_syncs_two_at_once(void **state)
{
    struct sim *s = booted(state, 5);

    s->sync_ms = 500;
    s->pcfg.parallel_syncs = 2;
    kill_fake(s, 0);
    run_until(s, failover_ended, 60);
    assert_int_equal(s->max_syncing, 2);
    for (int i = 2; i < 5; i++)
        assert_true(follows_linked(s, i, 1));
}

static void test_promotion_timeout_aborts(void **state)
{
    struct sim *s = booted(state, 3);
    const struct rsm_group *g;
    int64_t aborted;

    s->f[1].deaf = true; /* REPLICAOF NO ONE keeps failing */
    s->f[2].lag = 10;
    kill_fake(s, 0);
    run_until(s, in_flight, 20);
    run_until(s, failover_ended, s->pcfg.failover_timeout_ms / TICK + 5);
    g = group(s);
    assert_int_equal(g->history[0].result, RSM_RESULT_ABORTED);
    assert_non_null(strstr(g->history[0].reason, "not seen within"));
    assert_true(rsm_addr_equal(&g->master, &s->f[0].addr));
    assert_int_equal(count_event(s, "-failover-abort-timeout"), 1);
    assert_int_equal(s->last_abort.abort_code, RSM_ABORT_TIMEOUT);
    assert_int_equal(s->promoted[1], -1);
    /* the retry waits down_after, then takes epoch 2 */
    aborted = g->last_failover_end_ms;
    s->f[1].deaf = false;
    step(s);
    assert_non_null(strstr(s->plan.reason, "retry held back"));
    run_until(s, in_flight, 20);
    assert_true(s->now - aborted >= DOWN_AFTER);
    run_until(s, failover_ended, 20);
    g = group(s);
    assert_int_equal(g->epoch, 2);
    assert_int_equal(g->history[1].result, RSM_RESULT_COMPLETED);
    assert_int_equal(s->promoted[2], 1);
}

static void test_chosen_unreachable_before_promotion_aborts(void **state)
{
    struct sim *s = booted(state, 3);
    const struct rsm_group *g;

    s->f[2].lag = 10;
    kill_fake(s, 0);
    s->drop_actions = true;
    run_until(s, in_flight, 20);
    kill_fake(s, 1); /* the chosen one dies before it is promoted */
    s->drop_actions = false;
    run_until(s, failover_ended, 20);
    g = group(s);
    assert_int_equal(g->history[0].result, RSM_RESULT_ABORTED);
    assert_non_null(strstr(g->history[0].reason, "unreachable"));
    assert_int_equal(count_event(s, "-failover-abort-slave-unreachable"), 1);
    assert_int_equal(s->last_abort.abort_code, RSM_ABORT_UNREACHABLE);
    /* next attempt: the other replica */
    run_until(s, in_flight, 20);
    run_until(s, failover_ended, 20);
    g = group(s);
    assert_int_equal(g->epoch, 2);
    assert_true(rsm_addr_equal(&g->master, &s->f[2].addr));
}

static void test_chosen_restarted_empty_before_promotion_aborts(void **state)
{
    struct sim *s = booted(state, 3);
    const struct rsm_group *g;

    s->f[2].lag = 10;
    kill_fake(s, 0);
    s->drop_actions = true;
    run_until(s, in_flight, 20);
    /* the chosen one comes back without its data before it is promoted */
    s->f[1].offset = 0;
    snprintf(s->f[1].run_id, sizeof s->f[1].run_id, "run-1-empty");
    s->drop_actions = false;
    run_until(s, failover_ended, 20);
    g = group(s);
    assert_int_equal(g->history[0].result, RSM_RESULT_ABORTED);
    assert_non_null(strstr(g->history[0].reason, "restarted empty"));
    assert_int_equal(count_event(s, "-failover-abort-slave-restarted"), 1);
    assert_int_equal(s->last_abort.abort_code, RSM_ABORT_RESTARTED);
}

static void test_reconf_timeout_completes_with_stragglers(void **state)
{
    struct sim *s = booted(state, 3);
    const struct rsm_group *g;

    s->f[2].lag = 10;
    s->f[2].deaf = true; /* never takes the REPLICAOF */
    kill_fake(s, 0);
    run_until(s, failover_ended, s->pcfg.failover_timeout_ms / TICK + 20);
    g = group(s);
    assert_int_equal(g->history[0].result,
                     RSM_RESULT_COMPLETED_WITH_STRAGGLERS);
    assert_true(rsm_addr_equal(&g->master, &s->f[1].addr));
    assert_int_equal(count_event(s, "+failover-end-for-timeout"), 1);
    assert_true(g->history[0].ended_at_ms - g->history[0].decided_at_ms >
                s->pcfg.failover_timeout_ms);
}

static void test_dead_replica_is_a_straggler_without_waiting(void **state)
{
    struct sim *s = booted(state, 3);
    const struct rsm_group *g;
    const struct rsm_entry *last = &s->last_complete;

    s->f[2].lag = 10;
    kill_fake(s, 2);
    run(s, 2);
    kill_fake(s, 0);
    run_until(s, failover_ended, 30);
    g = group(s);
    assert_int_equal(g->history[0].result,
                     RSM_RESULT_COMPLETED_WITH_STRAGGLERS);
    assert_int_equal(last->n_stragglers, 1);
    assert_true(rsm_addr_equal(&last->stragglers[0], &s->f[2].addr));
    assert_true(g->history[0].ended_at_ms - g->history[0].decided_at_ms < 1000);
}

static void test_new_master_restarted_empty_stops_reconfiguration(void **state)
{
    struct sim *s = booted(state, 4);
    const struct rsm_group *g;
    int64_t data;
    int m;

    s->sync_ms = 1000;
    s->f[2].lag = 10;
    s->f[3].lag = 20;
    s->f[0].offset += 5000;
    run(s, 2);
    data = s->f[0].offset;
    kill_fake(s, 0);
    run_until(s, promotion_recorded, 20);
    step(s); /* one replica re-pointed, syncing */
    assert_int_equal(count_syncing(s), 1);
    /* the new master crashes and restarts without its data */
    s->f[1].offset = 0;
    snprintf(s->f[1].run_id, sizeof s->f[1].run_id, "run-1-empty");
    step(s);
    g = group(s);
    assert_int_equal(g->n_history, 1);
    assert_int_equal(g->history[0].epoch, 1);
    assert_int_equal(count_event(s, "+slave-reconf-sent"), 1);
    /* decided again at once (no flapping hold for an empty master) */
    assert_true(g->in_flight);
    assert_int_equal(g->epoch, 2);
    assert_non_null(strstr(g->decision.reason, "restarted empty"));
    run_until(s, failover_ended, 30);
    g = group(s);
    m = find_fake(s, &g->master);
    assert_true(m == 2 || m == 3);
    assert_true(s->f[m].offset >= data - 20); /* the data survived */
    run(s, 20);
    assert_true(follows_linked(s, 1, m)); /* the empty one follows it */
}

static void test_data_at_risk_recorded(void **state)
{
    struct sim *s = booted(state, 3);
    const struct rsm_group *g;

    s->f[1].lag = 100;
    s->f[2].lag = 300;
    s->f[0].offset += 1000;
    run(s, 2);
    kill_fake(s, 0);
    run_until(s, failover_ended, 30);
    g = group(s);
    assert_int_equal(g->history[0].old_offset, 2000);
    assert_int_equal(g->history[0].new_offset, 1900);
    assert_int_equal(g->history[0].data_at_risk, 100);
}

static void test_paused_group_holds_back(void **state)
{
    struct sim *s = booted(state, 3);
    struct rsm_entry e;

    rsm_entry_init(&e, RSM_ENTRY_SET_PAUSED, GROUP, s->now);
    e.paused = true;
    assert_int_equal(rsm_fsm_apply(&s->fsm, &e, NULL, 0), 0);
    kill_fake(s, 0);
    run(s, 30);
    assert_int_equal(s->decisions_applied, 0);
    assert_string_equal(s->plan.reason, "paused");
    e.paused = false;
    assert_int_equal(rsm_fsm_apply(&s->fsm, &e, NULL, 0), 0);
    run_until(s, failover_ended, 20);
    assert_int_equal(group(s)->epoch, 1);
}

/* ======================================================================
 * Manual failover (SENTINEL FAILOVER)
 * ====================================================================== */

static void test_manual_failover_of_a_healthy_master(void **state)
{
    struct sim *s = booted(state, 3);
    const struct rsm_group *g;

    s->f[2].lag = 100; /* f[1] is the best replica */
    run(s, 2);
    s->manual = true;
    step(s);
    g = group(s);
    assert_false(s->manual);
    assert_int_equal(s->decisions_applied, 1);
    assert_true(g->in_flight || g->n_history == 1);
    run_until(s, failover_ended, 30);
    g = group(s);
    assert_int_equal(g->history[0].kind, RSM_FAILOVER_MANUAL);
    assert_int_equal(g->history[0].result, RSM_RESULT_COMPLETED);
    assert_string_equal(g->history[0].reason, "manual failover requested");
    assert_true(rsm_addr_equal(&g->master, &s->f[1].addr));
    assert_int_equal(s->promoted[1], 1);
    /* the old master was alive: it is now a replica of the new one */
    run(s, 5);
    assert_true(follows_linked(s, 0, 1));
    assert_true(follows_linked(s, 2, 1));
    /* and nothing else happens afterwards */
    run(s, 20);
    assert_int_equal(s->decisions_applied, 1);
}

static bool second_failover_ended(const struct sim *s)
{
    const struct rsm_group *g = group(s);

    return g != NULL && !g->in_flight && g->n_history == 2;
}

static void test_manual_failover_ignores_pause_and_anti_flap(void **state)
{
    struct sim *s = booted(state, 3);
    struct rsm_entry e;

    s->manual = true;
    run_until(s, failover_ended, 30);
    assert_int_equal(group(s)->epoch, 1);
    rsm_entry_init(&e, RSM_ENTRY_SET_PAUSED, GROUP, s->now);
    e.paused = true;
    assert_int_equal(rsm_fsm_apply(&s->fsm, &e, NULL, 0), 0);
    run(s, 5);
    /* paused, and well within min_failover_interval_ms of the last one */
    s->manual = true;
    run_until(s, second_failover_ended, 30);
    assert_int_equal(group(s)->epoch, 2);
    assert_int_equal(group(s)->history[1].kind, RSM_FAILOVER_MANUAL);
    assert_true(group(s)->paused);
}

static void test_manual_failover_without_candidate_says_why(void **state)
{
    struct sim *s = booted(state, 3);

    s->f[1].priority = 0;
    s->f[2].priority = 0;
    run(s, 2);
    s->manual = true;
    step(s);
    assert_int_equal(s->plan.kind, RSM_PLAN_NONE);
    assert_non_null(strstr(s->plan.reason, "manual failover requested"));
    assert_non_null(strstr(s->plan.reason, "no eligible candidate: "));
    assert_int_equal(s->plan.code, RSM_PLAN_CODE_NO_GOOD_REPLICA);
    assert_int_equal(s->decisions_applied, 0);
    assert_int_equal(group(s)->epoch, 0);
}

static void test_manual_failover_while_in_flight_drives_it(void **state)
{
    struct sim *s = booted(state, 3);

    kill_fake(s, 0);
    run_until(s, in_flight, 30);
    s->drop_actions = true; /* keep it in flight for a while */
    s->manual = true;
    run(s, 3); /* check_plan: no decision planned while one is in flight */
    assert_true(in_flight(s));
    s->manual = false; /* the shell answered the request: busy */
    s->drop_actions = false;
    run_until(s, failover_ended, 30);
    /* still one decision: the request did not start a second one */
    assert_int_equal(s->decisions_applied, 1);
    assert_int_equal(group(s)->history[0].kind, RSM_FAILOVER_AUTOMATIC);
}

/* ======================================================================
 * Switchover (RSM SWITCHOVER)
 * ====================================================================== */

static void test_switchover_to_named_target_uses_failover_cmd(void **state)
{
    struct sim *s = booted(state, 3);
    const struct rsm_group *g;

    s->switchover = true;
    s->switchover_to = s->f[2].addr; /* not the best ranked: f[1] ties */
    s->switchover_timeout_ms = 3000;
    step(s);
    g = group(s);
    assert_false(s->switchover);
    assert_int_equal(g->decision.failover_kind, RSM_FAILOVER_SWITCHOVER);
    assert_int_equal(g->decision.timeout_ms, 3000);
    run_until(s, failover_ended, 30);
    g = group(s);
    assert_int_equal(g->history[0].kind, RSM_FAILOVER_SWITCHOVER);
    assert_int_equal(g->history[0].result, RSM_RESULT_COMPLETED);
    assert_true(rsm_addr_equal(&g->master, &s->f[2].addr));
    assert_int_equal(s->promoted[1], 2);
    assert_int_equal(g->history[0].data_at_risk, 0);
    assert_int_equal(count_event(s, "+switch-master"), 1);
    run(s, 5);
    assert_true(follows_linked(s, 0, 2));
    assert_true(follows_linked(s, 1, 2));
    run(s, 20);
    assert_int_equal(s->decisions_applied, 1);
}

static void test_switchover_back_and_forth(void **state)
{
    struct sim *s = booted(state, 2);

    for (int k = 0; k < 4; k++) {
        s->switchover = true;
        s->switchover_to = s->f[(k + 1) % 2].addr;
        run_until(s, in_flight, 5);
        run_until(s, failover_ended, 30);
        assert_true(rsm_addr_equal(&group(s)->master, &s->f[(k + 1) % 2].addr));
        run(s, 3);
    }
    assert_int_equal(group(s)->epoch, 4);
}

static void test_switchover_target_never_catches_up_aborts(void **state)
{
    struct sim *s = booted(state, 3);
    const struct rsm_group *g;

    s->switchover = true;
    s->switchover_to = s->f[1].addr;
    s->switchover_timeout_ms = 2000;
    s->f[1].lag = 5; /* linked, but never has every write */
    step(s);
    assert_true(in_flight(s));
    run_until(s, failover_ended, 40);
    g = group(s);
    assert_int_equal(g->history[0].result, RSM_RESULT_ABORTED);
    assert_non_null(strstr(g->history[0].reason, "keeps serving"));
    assert_true(rsm_addr_equal(&g->master, &s->f[0].addr));
    assert_int_equal(s->f[0].role, RSM_ROLE_MASTER);
    assert_int_equal(s->promoted[1], -1);
    assert_int_equal(count_event(s, "-failover-abort-timeout"), 1);
    assert_true(g->history[0].ended_at_ms - g->history[0].decided_at_ms >=
                3000); /* 2 s + 1 s for Redis s own timeout */
}

static void test_switchover_target_stops_while_waited_for_aborts(void **state)
{
    struct sim *s = booted(state, 3);
    const struct rsm_group *g;

    s->switchover = true;
    s->switchover_to = s->f[1].addr;
    s->switchover_timeout_ms = 8000;
    s->f[1].lag = 5; /* the FAILOVER waits for it */
    step(s);
    run(s, 3);
    assert_int_equal(s->f[0].fo_target, 1);
    assert_non_null(strstr(s->plan.reason, "FAILOVER running"));
    s->f[1].proc = PROC_STOPPED;
    run_until(s, failover_ended, 40);
    g = group(s);
    assert_int_equal(g->history[0].result, RSM_RESULT_ABORTED);
    assert_non_null(strstr(g->history[0].reason, "unreachable"));
    assert_int_equal(s->failover_aborts, 1);
    assert_int_equal(s->f[0].fo_target, -1); /* writes resumed */
    assert_true(g->history[0].ended_at_ms - g->history[0].decided_at_ms <
                8000); /* before the deadline */
    assert_true(rsm_addr_equal(&g->master, &s->f[0].addr));
    assert_int_equal(s->promoted[1], -1);
}

static void test_switchover_target_stopped_aborts(void **state)
{
    struct sim *s = booted(state, 3);
    const struct rsm_group *g;

    s->switchover = true;
    s->switchover_to = s->f[1].addr;
    s->switchover_timeout_ms = 5000;
    s->drop_actions = true; /* decided; stopped before the FAILOVER */
    step(s);
    assert_true(in_flight(s));
    s->f[1].proc = PROC_STOPPED;
    s->drop_actions = false;
    run_until(s, failover_ended, 80);
    g = group(s);
    assert_int_equal(g->history[0].result, RSM_RESULT_ABORTED);
    assert_true(rsm_addr_equal(&g->master, &s->f[0].addr));
    assert_int_equal(s->f[0].role, RSM_ROLE_MASTER);
    assert_int_equal(s->promoted[1], -1);
}

static void test_switchover_to_priority_zero_refused(void **state)
{
    struct sim *s = booted(state, 3);

    s->f[2].priority = 0;
    run(s, 2);
    s->switchover = true;
    s->switchover_to = s->f[2].addr;
    step(s);
    assert_int_equal(s->plan.kind, RSM_PLAN_NONE);
    assert_non_null(strstr(s->plan.reason, "not eligible"));
    /* not refused: the client hears of no good replica */
    assert_int_equal(s->plan.code, RSM_PLAN_CODE_NO_GOOD_REPLICA);
    assert_int_equal(s->decisions_applied, 0);
}

static void test_switchover_to_lagging_target_refused(void **state)
{
    struct sim *s = booted(state, 3);

    s->pcfg.max_lag_bytes = 100;
    s->f[2].lag = 1000;
    run(s, 2);
    s->switchover = true;
    s->switchover_to = s->f[2].addr;
    step(s);
    assert_int_equal(s->plan.kind, RSM_PLAN_NONE);
    assert_non_null(strstr(s->plan.reason, "not eligible"));
    /* not refused: the client hears of no good replica */
    assert_int_equal(s->plan.code, RSM_PLAN_CODE_NO_GOOD_REPLICA);
    s->switchover_to = s->f[1].addr; /* within the bound: goes */
    step(s);
    assert_int_equal(s->decisions_applied, 1);
}

static void test_switchover_to_master_or_unknown_refused(void **state)
{
    struct sim *s = booted(state, 3);

    s->switchover = true;
    s->switchover_to = s->f[0].addr;
    step(s);
    assert_int_equal(s->plan.kind, RSM_PLAN_NONE);
    assert_non_null(strstr(s->plan.reason, "it is the master"));
    s->switchover_to = mkaddr("10.9.9.9:6379");
    step(s);
    assert_non_null(strstr(s->plan.reason, "not a configured instance"));
    assert_int_equal(s->decisions_applied, 0);
}

static void test_switchover_refused_while_paused(void **state)
{
    struct sim *s = booted(state, 3);
    struct rsm_entry e;

    rsm_entry_init(&e, RSM_ENTRY_SET_PAUSED, GROUP, s->now);
    e.paused = true;
    assert_int_equal(rsm_fsm_apply(&s->fsm, &e, NULL, 0), 0);
    s->switchover = true;
    run(s, 3);
    assert_string_equal(s->plan.reason, "switchover refused: group paused");
    assert_int_equal(s->plan.code, RSM_PLAN_CODE_SWITCHOVER_REFUSED);
    assert_int_equal(s->decisions_applied, 0);
}

static void test_switchover_while_in_flight_drives_it(void **state)
{
    struct sim *s = booted(state, 3);

    kill_fake(s, 0);
    run_until(s, in_flight, 30);
    s->drop_actions = true;
    s->switchover = true;
    run(s, 3); /* check_plan: no second decision */
    s->switchover = false;
    s->drop_actions = false;
    run_until(s, failover_ended, 30);
    assert_int_equal(s->decisions_applied, 1);
    assert_int_equal(group(s)->history[0].kind, RSM_FAILOVER_AUTOMATIC);
}

static void test_switchover_master_down_refused(void **state)
{
    struct sim *s = booted(state, 3);

    s->pcfg.min_failover_interval_ms = 0;
    s->f[0].proc = PROC_STOPPED;
    s->switchover = true;
    step(s);
    step(s);
    assert_non_null(strstr(s->plan.reason, "not answering as role:master"));
    assert_int_equal(s->plan.code, RSM_PLAN_CODE_SWITCHOVER_REFUSED);
    assert_int_equal(s->decisions_applied, 0);
}

static void test_switchover_old_redis_refused(void **state)
{
    struct sim *s = booted(state, 3);

    s->version = "6.0.16";
    s->pcfg.switchover_method = RSM_SWITCHOVER_PAUSE; /* no way either */
    run(s, 2);
    s->switchover = true;
    step(s);
    assert_non_null(strstr(s->plan.reason, "switchover refused"));
    assert_non_null(strstr(s->plan.reason, "before 6.2"));
    assert_non_null(strstr(s->plan.reason, "no switchover can be lossless"));
    assert_int_equal(s->plan.code, RSM_PLAN_CODE_SWITCHOVER_REFUSED);
    assert_non_null(strstr(s->plan.reason, "use a failover"));
    assert_int_equal(s->decisions_applied, 0);
}

/* ======================================================================
 * Switchover by the pause method
 * ====================================================================== */

/* A leader change: agent a takes over with fresh detector records and,
 * like a new shell, no pause record. */
static void new_leader(struct sim *s, unsigned a)
{
    s->leader = a;
    reset_records(s, a);
    memset(&s->pause, 0, sizeof s->pause);
    memset(&s->crash, 0, sizeof s->crash);
    s->drop_actions = false;
}

/* Booted, a client writing, every check on, the pause method chosen. */
static struct sim *pause_sim(void **state, size_t n)
{
    struct sim *s = booted(state, n);

    s->write_rate = 7;
    s->lossless = true;
    s->one_writable = true;
    s->pcfg.switchover_method = RSM_SWITCHOVER_PAUSE;
    run(s, 2);
    s->n_cmds = 0;
    return s;
}

static void request(struct sim *s, int to, int64_t timeout_ms)
{
    s->switchover = true;
    s->switchover_to = s->f[to].addr;
    s->switchover_timeout_ms = timeout_ms;
}

/* Index of the first command cmd to instance i, -1 if none. */
static int find_cmd(const struct sim *s, enum rsm_redis_cmd cmd, int i)
{
    for (unsigned k = 0; k < s->n_cmds; k++) {
        if (s->cmds[k].cmd == cmd && s->cmds[k].i == i)
            return (int)k;
    }
    return -1;
}

static unsigned count_cmd(const struct sim *s, enum rsm_redis_cmd cmd, int i)
{
    unsigned n = 0;

    for (unsigned k = 0; k < s->n_cmds; k++)
        n += s->cmds[k].cmd == cmd && s->cmds[k].i == i;
    return n;
}

static void assert_switched(struct sim *s, int old, int to)
{
    const struct rsm_group *g = group(s);

    assert_int_equal(g->history[g->n_history - 1].kind,
                     RSM_FAILOVER_SWITCHOVER);
    assert_int_equal(g->history[g->n_history - 1].result, RSM_RESULT_COMPLETED);
    assert_int_equal(g->history[g->n_history - 1].data_at_risk, 0);
    assert_true(rsm_addr_equal(&g->master, &s->f[to].addr));
    run(s, 5);
    assert_true(follows_linked(s, old, to));
    assert_int_equal(s->f[old].paused_until, 0); /* unpaused */
}

static void test_pause_switchover_safe_order(void **state)
{
    struct sim *s = pause_sim(state, 3);
    const struct rsm_group *g;
    int64_t before;

    request(s, 2, 5000);
    step(s);
    g = group(s);
    assert_int_equal(g->decision.switchover_method, RSM_SWITCHOVER_PAUSE);
    assert_non_null(strstr(g->decision.reason, "pause method"));
    run_until(s, failover_ended, 30);
    assert_switched(s, 0, 2);
    assert_int_equal(s->promoted[1], 2);
    /* the order of the commands */
    assert_int_equal(find_cmd(s, RSM_CMD_CLIENT_PAUSE, 0), 0);
    assert_int_equal(find_cmd(s, RSM_CMD_REPLICAOF, 0), 1);
    assert_int_equal(find_cmd(s, RSM_CMD_REPLICAOF_NO_ONE, 2), 2);
    assert_int_equal(find_cmd(s, RSM_CMD_CLIENT_UNPAUSE, 0), 3);
    assert_true(find_cmd(s, RSM_CMD_REPLICAOF, 1) > 3); /* the others last */
    assert_int_equal(count_cmd(s, RSM_CMD_FAILOVER, 0), 0);
    /* each step a named event, in order */
    assert_true(find_event(s, "+pause-writes", 0) >= 0);
    assert_true(find_event(s, "+caught-up", 0) >
                find_event(s, "+pause-writes", 0));
    assert_true(find_event(s, "+convert-to-slave", 0) >
                find_event(s, "+caught-up", 0));
    assert_true(find_event(s, "+failover-state-send-slaveof-noone", 0) >
                find_event(s, "+convert-to-slave", 0));
    assert_true(find_event(s, "+unpause-writes", 0) >
                find_event(s, "+failover-state-send-slaveof-noone", 0));
    assert_true(find_event(s, "+promoted-slave", 0) >
                find_event(s, "+unpause-writes", 0));
    assert_true(s->state_seen[RSM_FO_PAUSE_WRITES]);
    assert_true(s->state_seen[RSM_FO_SWAP_ROLES]);
    /* the client writes to the new master now */
    before = s->f[2].acked_hi;
    run(s, 3);
    assert_true(s->f[2].acked_hi > before);
    assert_int_equal(s->decisions_applied, 1);
}

static void test_pause_switchover_back_and_forth(void **state)
{
    struct sim *s = pause_sim(state, 2);

    for (int k = 0; k < 4; k++) {
        request(s, (k + 1) % 2, 4000);
        run_until(s, in_flight, 5);
        run_until(s, failover_ended, 30);
        assert_switched(s, k % 2, (k + 1) % 2);
    }
    assert_int_equal(group(s)->epoch, 4);
    assert_int_equal(count_event(s, "-failover-abort-timeout"), 0);
}

static void test_pause_switchover_short_timeout_refused(void **state)
{
    struct sim *s = pause_sim(state, 3);

    request(s, 1, 1000); /* no time left once the margin is kept */
    step(s);
    assert_int_equal(s->plan.kind, RSM_PLAN_NONE);
    assert_non_null(strstr(s->plan.reason, "switchover refused: the pause "
                                           "method needs a timeout above"));
    assert_int_equal(s->plan.code, RSM_PLAN_CODE_SWITCHOVER_REFUSED);
    assert_int_equal(s->decisions_applied, 0);
    request(s, 1, 1500);
    step(s);
    assert_int_equal(s->decisions_applied, 1);
}

static void test_pause_method_when_failover_cmd_unusable(void **state)
{
    struct sim *s = booted(state, 3);
    const struct rsm_group *g;

    /* the agent prefers FAILOVER, the shell found it renamed away */
    s->failover_cmd = RSM_FAILOVER_CMD_UNUSABLE;
    snprintf(s->failover_cmd_error, sizeof s->failover_cmd_error,
             "ERR unknown command 'FAILOVER', with args beginning with: ");
    request(s, 1, 5000);
    step(s);
    g = group(s);
    assert_int_equal(g->decision.switchover_method, RSM_SWITCHOVER_PAUSE);
    assert_non_null(strstr(g->decision.reason, "FAILOVER unknown"));
    run_until(s, failover_ended, 30);
    assert_switched(s, 0, 1);
    /* denied by ACL: the same */
    s->failover_cmd = RSM_FAILOVER_CMD_UNUSABLE;
    snprintf(s->failover_cmd_error, sizeof s->failover_cmd_error,
             "NOPERM this user has no permissions to run the 'failover' "
             "command");
    request(s, 0, 5000);
    step(s);
    g = group(s);
    assert_int_equal(g->decision.switchover_method, RSM_SWITCHOVER_PAUSE);
    assert_non_null(strstr(g->decision.reason, "denied by ACL"));
    run_until(s, failover_ended, 30);
    assert_switched(s, 1, 0);
    /* usable: FAILOVER TO as configured */
    s->failover_cmd = RSM_FAILOVER_CMD_USABLE;
    request(s, 1, 5000);
    step(s);
    assert_int_equal(group(s)->decision.switchover_method,
                     RSM_SWITCHOVER_FAILOVER_CMD);
}

static void test_failover_cmd_refused_at_execution_aborts(void **state)
{
    struct sim *s = booted(state, 3);
    const struct rsm_group *g;

    s->f[0].no_failover_cmd = true; /* not known before: decided FAILOVER */
    request(s, 1, 8000);
    step(s);
    assert_int_equal(group(s)->decision.switchover_method,
                     RSM_SWITCHOVER_FAILOVER_CMD);
    run_until(s, failover_ended, 10); /* at once, not at the deadline */
    g = group(s);
    assert_int_equal(g->history[0].result, RSM_RESULT_ABORTED);
    assert_non_null(strstr(g->history[0].reason, "FAILOVER not usable"));
    assert_int_equal(count_event(s, "-failover-abort-failover-unusable"), 1);
    assert_int_equal(s->last_abort.abort_code, RSM_ABORT_OTHER);
    assert_true(rsm_addr_equal(&g->master, &s->f[0].addr));
    /* asked again: the pause method */
    request(s, 1, 8000);
    run_until(s, in_flight, 5);
    assert_int_equal(group(s)->decision.switchover_method,
                     RSM_SWITCHOVER_PAUSE);
    run_until(s, failover_ended, 30);
    assert_switched(s, 0, 1);
}

static void assert_aborted_old_serving(struct sim *s, const char *ev)
{
    const struct rsm_group *g = group(s);
    int64_t before;

    assert_int_equal(g->history[0].result, RSM_RESULT_ABORTED);
    assert_non_null(strstr(g->history[0].reason, "keeps serving"));
    assert_int_equal(count_event(s, ev), 1);
    assert_true(rsm_addr_equal(&g->master, &s->f[0].addr));
    assert_int_equal(s->f[0].role, RSM_ROLE_MASTER);
    assert_int_equal(s->promoted[1], -1);
    assert_true(s->f[0].paused_until <= s->now); /* unpaused */
    before = s->f[0].acked_hi;
    run(s, 2);
    assert_true(s->f[0].acked_hi > before); /* writable again */
}

static void test_pause_target_never_catches_up_aborts(void **state)
{
    struct sim *s = pause_sim(state, 3);
    const struct rsm_group *g;

    s->f[1].lag = 5; /* linked, but never has every write */
    request(s, 1, 3000);
    step(s);
    assert_true(in_flight(s));
    run(s, 3);
    assert_true(s->f[0].paused_until > s->now);
    assert_non_null(strstr(s->plan.reason, "to catch up"));
    run_until(s, failover_ended, 40);
    assert_aborted_old_serving(s, "-failover-abort-timeout");
    g = group(s);
    /* unpaused by the agent before the abort, at the margin before the
     * deadline: not by the pause's own end */
    assert_int_equal(count_cmd(s, RSM_CMD_CLIENT_UNPAUSE, 0), 1);
    assert_true(find_event(s, "+unpause-writes", 0) <
                find_event(s, "-failover-abort-timeout", 0));
    assert_true(g->history[0].ended_at_ms - g->history[0].decided_at_ms <=
                3000 - 1000 + 2 * TICK);
    assert_int_equal(count_cmd(s, RSM_CMD_REPLICAOF, 0), 0);
    assert_int_equal(count_event(s, "+caught-up"), 0);
}

static void test_pause_target_stopped_aborts(void **state)
{
    struct sim *s = pause_sim(state, 3);
    const struct rsm_group *g;

    s->f[1].lag = 5;
    request(s, 1, 8000);
    step(s);
    run(s, 2);
    assert_true(s->f[0].paused_until > s->now);
    s->f[1].proc = PROC_STOPPED; /* SIGSTOP */
    run_until(s, failover_ended, 40);
    assert_aborted_old_serving(s, "-failover-abort-slave-unreachable");
    g = group(s);
    assert_true(g->history[0].ended_at_ms - g->history[0].decided_at_ms <
                8000 - 1000); /* DOWN, not the deadline */
}

static void test_pause_refused_aborts_at_once(void **state)
{
    struct sim *s = pause_sim(state, 3);

    s->pause_refused = true;
    request(s, 1, 8000);
    step(s);
    run_until(s, failover_ended, 5);
    assert_aborted_old_serving(s, "-failover-abort-pause-refused");
    assert_non_null(strstr(group(s)->history[0].reason, "NOPERM"));
    assert_int_equal(count_cmd(s, RSM_CMD_CLIENT_UNPAUSE, 0), 0);
}

static void test_pause_catch_up_after_margin_aborts(void **state)
{
    struct sim *s = pause_sim(state, 3);

    s->f[1].lag = 5;
    request(s, 1, 2500);
    step(s);
    /* catches up with less than the margin left: too late to demote */
    while (s->now - group(s)->decided_at_ms < 2500 - 1000 + 50)
        step(s);
    s->f[1].lag = 0;
    run_until(s, failover_ended, 20);
    assert_aborted_old_serving(s, "-failover-abort-timeout");
    assert_int_equal(count_cmd(s, RSM_CMD_REPLICAOF, 0), 0);
}

static bool crashed(const struct sim *s)
{
    return s->crash.hit;
}

static void run_until_crash(struct sim *s)
{
    run_until(s, crashed, 30);
}

/* The leader crashes at one point of a pause switchover; the next one
 * finishes it from the log, safely (the sim checks lost writes and two
 * writable masters all along). */
static void crash_and_resume(void **state, struct crash c, bool repauses)
{
    struct sim *s = pause_sim(state, 3);
    unsigned pauses;

    s->crash = c;
    s->crash.armed = true;
    request(s, 1, 8000);
    run_until(s, in_flight, 5);
    run_until_crash(s);
    pauses = count_cmd(s, RSM_CMD_CLIENT_PAUSE, 0);
    new_leader(s, 1);
    run_until(s, failover_ended, 40);
    assert_switched(s, 0, 1);
    assert_int_equal(s->decisions_applied, 1);
    assert_int_equal(group(s)->epoch, 1);
    assert_int_equal(s->promoted[1], 1);
    assert_int_equal(count_cmd(s, RSM_CMD_CLIENT_PAUSE, 0) > pauses, repauses);
}

static void test_pause_leader_dies_after_decision(void **state)
{
    crash_and_resume(state, (struct crash){.kind = RSM_ENTRY_DECIDE_FAILOVER},
                     true);
}

static void test_pause_leader_dies_after_pause(void **state)
{
    crash_and_resume(
        state, (struct crash){.cmd = RSM_CMD_CLIENT_PAUSE, .target = 0}, true);
}

static void test_pause_leader_dies_after_caught_up(void **state)
{
    /* the old master not demoted yet: the new leader pauses again and
     * checks the offset before it demotes */
    crash_and_resume(state,
                     (struct crash){.kind = RSM_ENTRY_FAILOVER_PROGRESS,
                                    .step = RSM_STEP_CAUGHT_UP},
                     true);
}

static void test_pause_leader_dies_after_demote(void **state)
{
    crash_and_resume(
        state, (struct crash){.cmd = RSM_CMD_REPLICAOF, .target = 0}, false);
}

static void test_pause_leader_dies_after_promote(void **state)
{
    crash_and_resume(
        state, (struct crash){.cmd = RSM_CMD_REPLICAOF_NO_ONE, .target = 1},
        false);
}

static void test_pause_leader_dies_after_unpause(void **state)
{
    crash_and_resume(state,
                     (struct crash){.cmd = RSM_CMD_CLIENT_UNPAUSE, .target = 0},
                     false);
}

static void test_pause_leader_dies_after_promotion_recorded(void **state)
{
    crash_and_resume(state,
                     (struct crash){.kind = RSM_ENTRY_FAILOVER_PROGRESS,
                                    .step = RSM_STEP_PROMOTED},
                     false);
}

static void test_pause_target_lost_after_demote_rolls_back(void **state)
{
    struct sim *s = pause_sim(state, 3);
    const struct rsm_group *g;
    int64_t before;

    s->crash =
        (struct crash){.armed = true, .cmd = RSM_CMD_REPLICAOF, .target = 0};
    request(s, 1, 8000);
    run_until(s, in_flight, 5);
    run_until_crash(s);
    /* the old master follows the target, which dies before promotion;
     * the same leader carries on */
    memset(&s->crash, 0, sizeof s->crash);
    s->f[1].proc = PROC_KILLED;
    run_until(s, failover_ended, 40);
    g = group(s);
    assert_int_equal(g->history[0].result, RSM_RESULT_ABORTED);
    assert_non_null(strstr(g->history[0].reason, "rolled back"));
    assert_int_equal(count_event(s, "+rollback-old-master"), 1);
    assert_true(rsm_addr_equal(&g->master, &s->f[0].addr));
    assert_int_equal(s->f[0].role, RSM_ROLE_MASTER);
    assert_true(s->f[0].paused_until <= s->now);
    assert_true(find_cmd(s, RSM_CMD_REPLICAOF_NO_ONE, 0) <
                find_cmd(s, RSM_CMD_CLIENT_UNPAUSE, 0));
    assert_int_equal(s->promoted[1], -1);
    before = s->f[0].acked_hi;
    run(s, 2);
    assert_true(s->f[0].acked_hi > before);
}

static void test_pause_rollback_resumed_by_new_leader(void **state)
{
    struct sim *s = pause_sim(state, 3);

    s->crash =
        (struct crash){.armed = true, .cmd = RSM_CMD_REPLICAOF, .target = 0};
    request(s, 1, 8000);
    run_until(s, in_flight, 5);
    run_until_crash(s);
    s->f[1].proc = PROC_KILLED;
    memset(&s->crash, 0, sizeof s->crash);
    /* the leader dies having rolled the old master back, not unpaused */
    s->crash = (struct crash){
        .armed = true, .cmd = RSM_CMD_REPLICAOF_NO_ONE, .target = 0};
    run_until_crash(s);
    assert_int_equal(s->f[0].role, RSM_ROLE_MASTER);
    assert_true(s->f[0].paused_until > s->now);
    new_leader(s, 2);
    run_until(s, failover_ended, 40);
    assert_aborted_old_serving(s, "-failover-abort-slave-unreachable");
}

static void test_pause_old_master_restarted_pauses_again(void **state)
{
    struct sim *s = pause_sim(state, 3);

    s->f[1].lag = 5;
    request(s, 1, 8000);
    step(s);
    run(s, 2);
    assert_true(s->f[0].paused_until > s->now);
    /* the old master restarts with its data: its pause is gone and the
     * client writes again; the leader's record still says paused */
    snprintf(s->f[0].run_id, sizeof s->f[0].run_id, "run-0-again");
    s->f[0].paused_until = 0;
    s->f[1].lag = 0;
    run_until(s, failover_ended, 60);
    assert_switched(s, 0, 1);
    assert_int_equal(count_cmd(s, RSM_CMD_CLIENT_PAUSE, 0), 2);
}

static void test_pause_both_masters_rolls_back(void **state)
{
    struct sim *s = pause_sim(state, 3);
    const struct rsm_group *g;

    s->crash = (struct crash){.armed = true,
                              .kind = RSM_ENTRY_FAILOVER_PROGRESS,
                              .step = RSM_STEP_CAUGHT_UP};
    request(s, 1, 8000);
    run_until(s, in_flight, 5);
    run_until_crash(s);
    memset(&s->crash, 0, sizeof s->crash);
    s->drop_actions = true;
    step(s); /* the demote is lost */
    s->drop_actions = false;
    s->one_writable = false; /* someone else promotes the target */
    fake_promote(s, 1);
    run_until(s, failover_ended, 20);
    g = group(s);
    assert_int_equal(g->history[0].result, RSM_RESULT_ABORTED);
    assert_int_equal(count_event(s, "-failover-abort-roles"), 1);
    assert_int_equal(s->last_abort.abort_code, RSM_ABORT_OTHER);
    assert_true(rsm_addr_equal(&g->master, &s->f[0].addr));
    assert_int_equal(s->f[0].role, RSM_ROLE_MASTER);
    assert_true(s->f[0].paused_until <= s->now);
    assert_int_equal(count_cmd(s, RSM_CMD_REPLICAOF, 0), 0);
}

/* ======================================================================
 * Direct calls
 * ====================================================================== */

static void test_invalid_input(void **state)
{
    struct sim *s = sim_new(2);
    struct rsm_planner_input in;
    struct rsm_group other;

    *state = s;
    memset(&in, 0, sizeof in);
    in.cfg = &s->pcfg;
    in.obs = s->obs;
    in.n_obs = 2;
    assert_int_equal(rsm_planner_next(&in, &s->plan), RSM_EINVAL);
    assert_int_equal(s->plan.kind, RSM_PLAN_NONE);
    assert_string_equal(s->plan.reason, "invalid input: no group name");
    in.group = GROUP;
    in.n_obs = RSM_MAX_MEMBERS + 1;
    assert_int_equal(rsm_planner_next(&in, &s->plan), RSM_EINVAL);
    assert_string_equal(s->plan.reason, "invalid input: too many instances");
    in.n_obs = 2;
    memset(&other, 0, sizeof other);
    snprintf(other.name, sizeof other.name, "other");
    in.committed = &other;
    assert_int_equal(rsm_planner_next(&in, &s->plan), RSM_EINVAL);
    in.committed = NULL;
    in.cfg = NULL;
    assert_int_equal(rsm_planner_next(&in, &s->plan), RSM_EINVAL);
    assert_int_equal(rsm_planner_next(NULL, &s->plan), RSM_EINVAL);
    in.group = "a-name-that-is-far-too-long-for-the-group-name-buffer-of-"
               "the-fsm-really";
    in.cfg = &s->pcfg;
    assert_int_equal(rsm_planner_next(&in, &s->plan), RSM_EINVAL);
}

static void test_names(void **state)
{
    assert_string_equal(rsm_plan_kind_str(RSM_PLAN_REDIS), "redis");
    assert_string_equal(rsm_failover_state_str(RSM_FO_RECONF_SLAVES),
                        "reconf-slaves");
    assert_string_equal(rsm_failover_state_str((enum rsm_failover_state)99),
                        "invalid");
    assert_string_equal(rsm_redis_cmd_str(RSM_CMD_REPLICAOF_NO_ONE),
                        "REPLICAOF NO ONE");
}

static void test_plan_states_during_failover(void **state)
{
    struct sim *s = booted(state, 3);
    s->sync_ms = 200;
    memset(s->state_seen, 0, sizeof s->state_seen);
    kill_fake(s, 0);
    run_until(s, failover_ended, 30);
    for (int k = RSM_FO_SELECT_SLAVE; k <= RSM_FO_DEMOTE_OLD_MASTER; k++)
        assert_true(s->state_seen[k]);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_first_start_observes_master),
        T(test_first_start_waits_for_every_first_probe),
        T(test_first_start_no_master_bootstraps_best_replica),
        T(test_first_start_replica_hears_master_elsewhere_waits),
        T(test_first_start_several_masters_records_most_followed),
        T(test_master_killed_quorum_agrees_decides_epoch_plus_one),
        T(test_switch_master_payload_is_sentinels),
        T(test_master_unreachable_but_replica_hears_it_no_failover),
        T(test_leader_cut_from_everything_no_failover),
        T(test_sigstop_short_nothing_long_failover_old_master_demoted),
        T(test_returning_old_master_demoted),
        T(test_leader_changes_mid_failover_resumes_same_epoch),
        T(test_leader_changes_after_promotion_resumes),
        T(test_no_second_decision_while_in_flight),
        T(test_loading_reply_is_alive),
        T(test_restarted_empty_master_is_failed),
        T(test_empty_master_stale_reading_of_wiped_replica),
        T(test_chosen_wiped_before_promotion_aborts),
        T(test_new_leader_sees_master_restarted_with_less_data),
        T(test_new_leader_master_restarted_with_its_data),
        T(test_master_restarted_loading_its_data_is_not_failed),
        T(test_master_loaded_older_data_fails_over_once_loaded),
        T(test_replica_that_never_synced_is_never_promoted),
        T(test_only_unsynced_replica_needs_a_forced_failover),
        T(test_forced_failover_prefers_a_synced_replica),
        T(test_repointed_replica_never_linked_to_new_master),
        T(test_all_replicas_priority_zero_no_decision_with_reason),
        T(test_flapping_held_back),
        T(test_rogue_master_demoted_after_grace),
        T(test_wrong_master_replica_repointed_after_grace),
        T(test_committed_master_turned_replica_is_not_followed),
        T(test_parallel_syncs_limits_reconfiguration),
        T(test_parallel_syncs_two_at_once),
        T(test_promotion_timeout_aborts),
        T(test_chosen_unreachable_before_promotion_aborts),
        T(test_chosen_restarted_empty_before_promotion_aborts),
        T(test_reconf_timeout_completes_with_stragglers),
        T(test_dead_replica_is_a_straggler_without_waiting),
        T(test_new_master_restarted_empty_stops_reconfiguration),
        T(test_data_at_risk_recorded),
        T(test_paused_group_holds_back),
        T(test_manual_failover_of_a_healthy_master),
        T(test_manual_failover_ignores_pause_and_anti_flap),
        T(test_manual_failover_without_candidate_says_why),
        T(test_manual_failover_while_in_flight_drives_it),
        T(test_switchover_to_named_target_uses_failover_cmd),
        T(test_switchover_back_and_forth),
        T(test_switchover_target_never_catches_up_aborts),
        T(test_switchover_target_stopped_aborts),
        T(test_switchover_target_stops_while_waited_for_aborts),
        T(test_switchover_to_priority_zero_refused),
        T(test_switchover_to_lagging_target_refused),
        T(test_switchover_to_master_or_unknown_refused),
        T(test_switchover_refused_while_paused),
        T(test_switchover_while_in_flight_drives_it),
        T(test_switchover_master_down_refused),
        T(test_switchover_old_redis_refused),
        T(test_pause_switchover_safe_order),
        T(test_pause_switchover_back_and_forth),
        T(test_pause_switchover_short_timeout_refused),
        T(test_pause_method_when_failover_cmd_unusable),
        T(test_failover_cmd_refused_at_execution_aborts),
        T(test_pause_target_never_catches_up_aborts),
        T(test_pause_target_stopped_aborts),
        T(test_pause_refused_aborts_at_once),
        T(test_pause_catch_up_after_margin_aborts),
        T(test_pause_leader_dies_after_decision),
        T(test_pause_leader_dies_after_pause),
        T(test_pause_leader_dies_after_caught_up),
        T(test_pause_leader_dies_after_demote),
        T(test_pause_leader_dies_after_promote),
        T(test_pause_leader_dies_after_unpause),
        T(test_pause_leader_dies_after_promotion_recorded),
        T(test_pause_target_lost_after_demote_rolls_back),
        T(test_pause_rollback_resumed_by_new_leader),
        T(test_pause_old_master_restarted_pauses_again),
        T(test_pause_both_masters_rolls_back),
        T(test_invalid_input),
        T(test_names),
        T(test_plan_states_during_failover),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
