/* test_raft_fsm.c - the replicated state on a simulated Raft cluster.
 *
 * Three raft 0.15 servers in raft_fixture (in-memory I/O, simulated time),
 * each driving its own rsm_fsm through the io/raft_fsm adapter. The tests
 * partition, kill and revive servers and check that every replica ends
 * with an identical state (rsm_fsm_equal) and that the epoch rule lets
 * exactly one failover decision through. */
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

#include "rsm/err.h"
#include "rsm/fsm.h"
#include "rsm/log.h"
#include "rsm/node.h"
#include "raft_compat.h"
#include "raft_fsm.h"

#define N             3
#define MAX_PROPOSALS 64
#define A             "10.0.0.1:6379"
#define B             "10.0.0.2:6379"
#define C             "10.0.0.3:6379"

/* What one server's adapter reported, through the observer. */
struct seen {
    unsigned applied, rejected;
    unsigned decide_applied, decide_rejected;
    char decide_reason[RSM_ERRMSG_SIZE];
    struct rsm_addr decided_master; /* new master of the applied decision */
};

struct cluster;

/* One raft_apply and what its callback said. */
struct proposal {
    struct raft_apply req;
    struct cluster *c;
    unsigned server;
    bool done;
    int status;
    int result;
    char reason[RSM_ERRMSG_SIZE];
};

struct cluster {
    struct raft_fixture fx;
    struct rsm_fsm state[N];
    struct raft_fsm fsm[N];
    struct seen seen[N];
    struct proposal proposals[MAX_PROPOSALS];
    unsigned n_proposals;
    int64_t now;
};

/* ---- fixture ------------------------------------------------------------- */

static void observer(void *arg, const struct rsm_raft_fsm_event *ev)
{
    struct seen *s = arg;

    if (ev->type == RSM_RAFT_FSM_APPLIED) {
        s->applied++;
        if (ev->entry->kind == RSM_ENTRY_DECIDE_FAILOVER) {
            s->decide_applied++;
            s->decided_master = ev->entry->master;
        }
    } else if (ev->type == RSM_RAFT_FSM_REJECTED) {
        s->rejected++;
        if (ev->entry->kind == RSM_ENTRY_DECIDE_FAILOVER) {
            s->decide_rejected++;
            snprintf(s->decide_reason, sizeof s->decide_reason, "%s",
                     ev->reason);
        }
    }
}

static int setup(void **state)
{
    struct cluster *c = calloc(1, sizeof *c);
    struct raft_configuration conf;

    if (c == NULL)
        return -1;
    memset(&c->fx, 0, sizeof c->fx);
    if (raft_fixture_initialize(&c->fx) != 0)
        return -1;
    for (unsigned i = 0; i < N; i++) {
        rsm_fsm_init(&c->state[i]);
        if (rsm_raft_fsm_init(&c->fsm[i], &c->state[i], observer,
                              &c->seen[i]) != 0)
            return -1;
        if (raft_fixture_grow(&c->fx, &c->fsm[i]) != 0)
            return -1;
    }
    if (raft_fixture_configuration(&c->fx, N, &conf) != 0)
        return -1;
    if (raft_fixture_bootstrap(&c->fx, &conf) != 0)
        return -1;
    raft_configuration_close(&conf);
    if (raft_fixture_start(&c->fx) != 0)
        return -1;
    c->now = 1700000000000LL;
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct cluster *c = *state;

    /* Closing raft may still fire apply callbacks: the proposals live in
     * *c, freed last. */
    raft_fixture_close(&c->fx);
    for (unsigned i = 0; i < N; i++) {
        rsm_raft_fsm_close(&c->fsm[i]);
        rsm_fsm_close(&c->state[i]);
    }
    free(c);
    return 0;
}

/* ---- proposing ----------------------------------------------------------- */

static void apply_cb(struct raft_apply *req, int status, void *result)
{
    struct proposal *p = req->data;

    p->done = true;
    p->status = status;
    if (status == 0) {
        p->result = rsm_raft_fsm_result(result);
        snprintf(p->reason, sizeof p->reason, "%s",
                 rsm_raft_fsm_reason(&p->c->fsm[p->server], result));
    }
}

/* raft_apply len bytes on server i; returns the proposal (index set). */
static struct proposal *propose_bytes(struct cluster *c, unsigned i,
                                      const void *data, size_t len)
{
    struct proposal *p;
    struct raft_buffer buf;
    int rv;

    assert_true(c->n_proposals < MAX_PROPOSALS);
    p = &c->proposals[c->n_proposals++];
    p->c = c;
    p->server = i;
    p->req.data = p;
    buf.len = len;
    buf.base = raft_malloc(len);
    assert_non_null(buf.base);
    memcpy(buf.base, data, len);
    rv = raft_apply(raft_fixture_get(&c->fx, i), &p->req, &buf, 1, apply_cb);
    if (rv != 0)
        fail_msg("raft_apply on server %u: %s", i, raft_strerror(rv));
    return p;
}

/* Entries go to raft the way the node sends them: padded to a multiple
 * of 8 bytes (raft 0.15 reads batches at 8-byte steps). */
static struct proposal *propose(struct cluster *c, unsigned i,
                                const struct rsm_entry *e)
{
    struct proposal *p;
    void *data;
    size_t len;

    assert_int_equal(rsm_node_encode_entry(e, &data, &len), 0);
    assert_int_equal(len % 8, 0);
    p = propose_bytes(c, i, data, len);
    raft_free(data);
    return p;
}

/* Entry builders; each takes the next simulated wall-clock time. */
static struct rsm_entry *entry(struct cluster *c, enum rsm_entry_kind kind,
                               const char *group)
{
    static struct rsm_entry e; /* large; tests are single-threaded */

    c->now += 10;
    rsm_entry_init(&e, kind, group, c->now);
    return &e;
}

static struct rsm_entry *observe(struct cluster *c, const char *group,
                                 const char *master)
{
    struct rsm_entry *e = entry(c, RSM_ENTRY_OBSERVE_MASTER, group);

    assert_int_equal(rsm_addr_parse(master, &e->master, NULL, 0), 0);
    e->n_members = 2;
    assert_int_equal(rsm_addr_parse(A, &e->members[0], NULL, 0), 0);
    assert_int_equal(rsm_addr_parse(B, &e->members[1], NULL, 0), 0);
    return e;
}

static struct rsm_entry *decide(struct cluster *c, uint64_t epoch,
                                const char *old, const char *new_master,
                                uint64_t by)
{
    struct rsm_entry *e = entry(c, RSM_ENTRY_DECIDE_FAILOVER, "g");

    e->epoch = epoch;
    assert_int_equal(rsm_addr_parse(old, &e->old_master, NULL, 0), 0);
    assert_int_equal(rsm_addr_parse(new_master, &e->master, NULL, 0), 0);
    snprintf(e->reason, sizeof e->reason, "master down");
    e->decided_by = by;
    return e;
}

/* ---- stepping and checking ----------------------------------------------- */

static unsigned leader(struct cluster *c)
{
    unsigned l;

    assert_true(raft_fixture_step_until_has_leader(&c->fx, 10000));
    l = raft_fixture_leader_index(&c->fx);
    assert_true(l < N);
    return l;
}

/* Every server has applied index. */
static void wait_applied_all(struct cluster *c, raft_index index)
{
    if (!raft_fixture_step_until_applied(&c->fx, N, index, 20000))
        fail_msg(
            "index %llu not applied everywhere (applied %llu %llu "
            "%llu)",
            (unsigned long long)index,
            (unsigned long long)raft_last_applied(raft_fixture_get(&c->fx, 0)),
            (unsigned long long)raft_last_applied(raft_fixture_get(&c->fx, 1)),
            (unsigned long long)raft_last_applied(raft_fixture_get(&c->fx, 2)));
}

static void assert_all_equal(struct cluster *c)
{
    for (unsigned i = 1; i < N; i++) {
        if (!rsm_fsm_equal(&c->state[0], &c->state[i]))
            fail_msg("state of server %u differs from server 0", i);
    }
}

static void isolate(struct cluster *c, unsigned i)
{
    for (unsigned j = 0; j < N; j++) {
        if (j != i) {
            raft_fixture_disconnect(&c->fx, i, j);
            raft_fixture_disconnect(&c->fx, j, i);
        }
    }
}

static void heal(struct cluster *c, unsigned i)
{
    for (unsigned j = 0; j < N; j++) {
        if (j != i) {
            raft_fixture_reconnect(&c->fx, i, j);
            raft_fixture_reconnect(&c->fx, j, i);
        }
    }
}

struct stored_arg {
    unsigned i;
    raft_index index;
};

static bool has_stored(struct raft_fixture *f, void *arg)
{
    const struct stored_arg *a = arg;

    return raft_fixture_get(f, a->i)->last_stored >= a->index;
}

struct leader_arg {
    unsigned not_this_one;
    unsigned found;
};

/* A server other than the given one is leader. Checked on the servers
 * themselves: the fixture's own leader detection wants every server that
 * is not saturated to acknowledge the leader, which a partitioned one
 * never does. */
static bool has_other_leader(struct raft_fixture *f, void *arg)
{
    struct leader_arg *a = arg;

    for (unsigned i = 0; i < f->n; i++) {
        if (i != a->not_this_one && raft_fixture_alive(f, i) &&
            raft_state(raft_fixture_get(f, i)) == RAFT_LEADER) {
            a->found = i;
            return true;
        }
    }
    return false;
}

/* Server *arg has stored a snapshot (its log is cut behind it). */
static bool snapshot_stored(struct raft_fixture *f, void *arg)
{
    return rsm_raft_snapshot_index(raft_fixture_get(f, *(unsigned *)arg)) > 0;
}

static unsigned wait_new_leader(struct cluster *c, unsigned old)
{
    struct leader_arg arg = {old, N};

    assert_true(raft_fixture_step_until(&c->fx, has_other_leader, &arg, 20000));
    return arg.found;
}

/* ---- tests --------------------------------------------------------------- */

static void test_three_servers_elect_and_apply_everywhere(void **state)
{
    struct cluster *c = *state;
    unsigned l = leader(c);
    struct proposal *p[6];
    struct rsm_entry *e;
    const struct rsm_group *g;

    p[0] = propose(c, l, observe(c, "g", A));
    p[1] = propose(c, l, decide(c, 1, A, B, l + 1));
    e = entry(c, RSM_ENTRY_FAILOVER_PROGRESS, "g");
    e->epoch = 1;
    e->step = RSM_STEP_PROMOTED;
    p[2] = propose(c, l, e);
    e = entry(c, RSM_ENTRY_COMPLETE_FAILOVER, "g");
    e->epoch = 1;
    e->data_at_risk = 0;
    p[3] = propose(c, l, e);
    p[4] = propose(c, l, decide(c, 5, B, C, l + 1)); /* wrong epoch */
    /* 16 bytes: garbage, but a multiple of 8 like every raft entry */
    p[5] = propose_bytes(c, l, "\xff\xff\xff\xff garbage!!!!", 16);
    wait_applied_all(c, p[5]->req.index);

    for (int i = 0; i < 4; i++) {
        assert_true(p[i]->done);
        assert_int_equal(p[i]->status, 0);
        assert_int_equal(p[i]->result, 0);
        assert_string_equal(p[i]->reason, "");
    }
    assert_int_equal(p[4]->result, RSM_EREJECTED);
    assert_string_equal(p[4]->reason, "epoch 5 is not next (group epoch 1)");
    assert_int_equal(p[5]->result, RSM_EREJECTED);
    assert_non_null(strstr(p[5]->reason, "undecodable entry"));

    assert_all_equal(c);
    for (unsigned i = 0; i < N; i++) {
        struct rsm_raft_fsm_stats st;

        g = rsm_fsm_group(&c->state[i], "g");
        assert_non_null(g);
        assert_string_equal(g->master.host, "10.0.0.2");
        assert_int_equal(g->epoch, 1);
        assert_int_equal(g->n_history, 1);
        assert_int_equal(c->state[i].applied, 4);
        assert_int_equal(c->state[i].rejected, 2);
        rsm_raft_fsm_stats(&c->fsm[i], &st);
        assert_int_equal(st.applied, 4);
        assert_int_equal(st.rejected, 2);
        assert_int_equal(c->seen[i].applied, 4);
        assert_int_equal(c->seen[i].rejected, 2);
    }
}

/* The old leader (term t) gets its decision for epoch 1 onto one follower
 * but cannot commit it; it is partitioned; that follower becomes leader
 * (term > t) and, not having applied it yet, proposes its own decision for
 * epoch 1. The log keeps both: the first applies, the second is refused
 * with the same reason on every server, also on the old leader once it
 * rejoins. */
static void test_two_leaders_propose_same_epoch_only_first_applies(void **state)
{
    struct cluster *c = *state;
    unsigned l = leader(c), f1 = (l + 1) % N, f2 = (l + 2) % N, nl;
    struct proposal *p, *old, *mine;
    struct stored_arg stored;
    raft_term old_term;

    p = propose(c, l, observe(c, "g", A));
    wait_applied_all(c, p->req.index);

    /* f1 receives and stores the old leader's entry, but its replies are
     * lost; f2 hears nothing. */
    raft_fixture_saturate(&c->fx, f1, l);
    raft_fixture_disconnect(&c->fx, l, f2);
    raft_fixture_disconnect(&c->fx, f2, l);
    old_term = raft_fixture_get(&c->fx, l)->current_term;
    old = propose(c, l, decide(c, 1, A, B, l + 1));
    stored.i = f1;
    stored.index = old->req.index;
    assert_true(raft_fixture_step_until(&c->fx, has_stored, &stored, 5000));
    assert_int_equal(raft_fixture_get(&c->fx, l)->commit_index,
                     old->req.index - 1);

    /* Partition the old leader; f1 (the only one with the entry) wins. */
    isolate(c, l);
    raft_fixture_desaturate(&c->fx, f1, l);
    nl = wait_new_leader(c, l);
    assert_int_equal(nl, f1);
    assert_true(raft_fixture_get(&c->fx, nl)->current_term > old_term);
    assert_false(rsm_fsm_group(&c->state[nl], "g")->in_flight);

    /* The new leader proposes epoch 1 too (it read epoch 0). */
    mine = propose(c, nl, decide(c, 1, A, C, nl + 1));
    assert_true(mine->req.index > old->req.index);
    assert_true(
        raft_fixture_step_until_applied(&c->fx, nl, mine->req.index, 10000));
    assert_true(mine->done);
    assert_int_equal(mine->status, 0);
    assert_int_equal(mine->result, RSM_EREJECTED);
    assert_string_equal(mine->reason, "epoch 1 is not next (group epoch 1)");

    /* Heal: the old leader steps down and applies the same log. */
    heal(c, l);
    wait_applied_all(c, mine->req.index);
    assert_all_equal(c);
    for (unsigned i = 0; i < N; i++) {
        const struct rsm_group *g = rsm_fsm_group(&c->state[i], "g");

        assert_int_equal(g->epoch, 1);
        assert_true(g->in_flight);
        assert_string_equal(g->decision.master.host, "10.0.0.2");
        assert_int_equal(c->seen[i].decide_applied, 1);
        assert_int_equal(c->seen[i].decide_rejected, 1);
        assert_string_equal(c->seen[i].decide_reason,
                            "epoch 1 is not next (group epoch 1)");
        assert_string_equal(c->seen[i].decided_master.host, "10.0.0.2");
    }
    (void)f2;
}

/* The old leader is cut off before its decision reaches anyone: the
 * decision is lost, the new leader's decision for the same epoch is the
 * only one ever applied, on every server. */
static void test_partitioned_leader_decision_is_discarded(void **state)
{
    struct cluster *c = *state;
    unsigned l = leader(c), nl;
    struct proposal *p, *old, *mine;

    p = propose(c, l, observe(c, "g", A));
    wait_applied_all(c, p->req.index);

    isolate(c, l);
    old = propose(c, l, decide(c, 1, A, B, l + 1));
    nl = wait_new_leader(c, l);
    mine = propose(c, nl, decide(c, 1, A, C, nl + 1));
    assert_true(
        raft_fixture_step_until_applied(&c->fx, nl, mine->req.index, 10000));
    assert_int_equal(mine->result, 0);

    heal(c, l);
    wait_applied_all(c, mine->req.index);
    assert_true(old->done);
    assert_int_not_equal(old->status, 0); /* never committed */
    assert_all_equal(c);
    for (unsigned i = 0; i < N; i++) {
        const struct rsm_group *g = rsm_fsm_group(&c->state[i], "g");

        assert_string_equal(g->decision.master.host, "10.0.0.3");
        assert_int_equal(c->seen[i].decide_applied, 1);
        assert_int_equal(c->seen[i].decide_rejected, 0);
    }
}

static void test_partitioned_follower_catches_up_by_snapshot(void **state)
{
    struct cluster *c = *state;
    unsigned l, f;
    struct proposal *p = NULL;
    struct rsm_raft_fsm_stats st;
    char name[16];

    for (unsigned i = 0; i < N; i++) {
        raft_set_snapshot_threshold(raft_fixture_get(&c->fx, i), 4);
        raft_set_snapshot_trailing(raft_fixture_get(&c->fx, i), 2);
    }
    l = leader(c);
    f = (l + 1) % N;
    isolate(c, f);
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "g%02d", i);
        p = propose(c, l, observe(c, name, i % 2 ? A : B));
    }
    p = propose(c, l, decide(c, 1, A, C, l + 1)); /* no group g: refused */
    assert_true(
        raft_fixture_step_until_applied(&c->fx, l, p->req.index, 10000));
    assert_int_equal(p->result, RSM_EREJECTED);
    /* raft 0.15 snapshots as it applies, 0.22 on the event after, and
     * stores it later still: heal only once the log is cut */
    assert_true(raft_fixture_step_until(&c->fx, snapshot_stored, &l, 10000));
    rsm_raft_fsm_stats(&c->fsm[l], &st);
    assert_true(st.snapshots >= 1);
    assert_int_equal(c->state[f].n_groups, 0);

    heal(c, f);
    wait_applied_all(c, p->req.index);
    rsm_raft_fsm_stats(&c->fsm[f], &st);
    assert_true(st.restores >= 1);
    assert_int_equal(st.restore_failures, 0);
    assert_all_equal(c);
    assert_int_equal(c->state[f].n_groups, 20);
    assert_int_equal(c->state[f].rejected, 1);

    /* Plain replication goes on after the snapshot. */
    p = propose(c, l, observe(c, "late", C));
    wait_applied_all(c, p->req.index);
    assert_all_equal(c);
    assert_non_null(rsm_fsm_group(&c->state[f], "late"));
}

static void test_killed_and_revived_follower_ends_with_same_state(void **state)
{
    struct cluster *c = *state;
    unsigned l = leader(c), f = (l + 2) % N;
    struct proposal *p;

    p = propose(c, l, observe(c, "g", A));
    wait_applied_all(c, p->req.index);
    raft_fixture_kill(&c->fx, f);
    propose(c, l, decide(c, 1, A, B, l + 1));
    p = propose(c, l, observe(c, "h", C));
    assert_true(
        raft_fixture_step_until_applied(&c->fx, l, p->req.index, 10000));
    assert_false(rsm_fsm_equal(&c->state[l], &c->state[f]));

    raft_fixture_revive(&c->fx, f);
    wait_applied_all(c, p->req.index);
    assert_all_equal(c);
    assert_true(rsm_fsm_group(&c->state[f], "g")->in_flight);
}

static void test_killed_and_revived_leader_ends_with_same_state(void **state)
{
    struct cluster *c = *state;
    unsigned l = leader(c), nl;
    struct proposal *p;
    struct rsm_entry *e;

    p = propose(c, l, observe(c, "g", A));
    p = propose(c, l, decide(c, 1, A, B, l + 1));
    wait_applied_all(c, p->req.index);

    raft_fixture_kill(&c->fx, l);
    nl = wait_new_leader(c, l);
    /* The new leader resumes the in-flight failover from the state. */
    assert_true(rsm_fsm_group(&c->state[nl], "g")->in_flight);
    e = entry(c, RSM_ENTRY_COMPLETE_FAILOVER, "g");
    e->epoch = 1;
    p = propose(c, nl, e);
    assert_true(
        raft_fixture_step_until_applied(&c->fx, nl, p->req.index, 10000));
    assert_int_equal(p->result, 0);

    raft_fixture_revive(&c->fx, l);
    wait_applied_all(c, p->req.index);
    assert_all_equal(c);
    assert_string_equal(rsm_fsm_group(&c->state[l], "g")->master.host,
                        "10.0.0.2");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_three_servers_elect_and_apply_everywhere),
        T(test_two_leaders_propose_same_epoch_only_first_applies),
        T(test_partitioned_leader_decision_is_discarded),
        T(test_partitioned_follower_catches_up_by_snapshot),
        T(test_killed_and_revived_follower_ends_with_same_state),
        T(test_killed_and_revived_leader_ends_with_same_state),
    };
#undef T

    /* Rejections are expected here; keep the output to warnings. */
    rsm_log_setup(RSM_LOG_WARN, RSM_LOG_LOGFMT);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
