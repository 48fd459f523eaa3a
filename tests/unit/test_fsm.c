/* test_fsm.c - unit tests for core/fsm: the rules of the replicated state,
 * snapshot and restore, and the scenarios they exist for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsm.pb-c.h"
#include "rsm/codec.h"
#include "rsm/err.h"
#include "rsm/fsm.h"

#define A "10.0.0.1:6379"
#define B "10.0.0.2:6379"
#define C "10.0.0.3:6379"

/* ---- fixture and entry builders ------------------------------------------ */

struct fx {
    struct rsm_fsm fsm;
    struct rsm_entry e; /* the entry being built (large: not on the stack) */
    char reason[RSM_ERRMSG_SIZE];
    int64_t now;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);

    if (f == NULL)
        return -1;
    rsm_fsm_init(&f->fsm);
    f->now = 1000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    rsm_fsm_close(&f->fsm);
    free(f);
    return 0;
}

static void addr(struct rsm_addr *a, const char *text)
{
    memset(a, 0, sizeof *a);
    if (text != NULL)
        assert_int_equal(rsm_addr_parse(text, a, NULL, 0), 0);
}

static struct rsm_entry *start(struct fx *f, enum rsm_entry_kind kind,
                               const char *group)
{
    f->now += 100;
    rsm_entry_init(&f->e, kind, group, f->now);
    return &f->e;
}

/* master NULL: observe the members only (no master seen). */
static struct rsm_entry *observe(struct fx *f, const char *group,
                                 const char *master)
{
    struct rsm_entry *e = start(f, RSM_ENTRY_OBSERVE_MASTER, group);

    addr(&e->master, master);
    snprintf(e->run_id, sizeof e->run_id, "run-%s", master ? master : "-");
    e->n_members = 3;
    addr(&e->members[0], A);
    addr(&e->members[1], B);
    addr(&e->members[2], C);
    return e;
}

static struct rsm_entry *decide_kind(struct fx *f, const char *group,
                                     uint64_t epoch, const char *old,
                                     const char *new_master,
                                     enum rsm_failover_kind kind)
{
    struct rsm_entry *e = start(f, RSM_ENTRY_DECIDE_FAILOVER, group);

    e->epoch = epoch;
    addr(&e->old_master, old);
    addr(&e->master, new_master);
    e->failover_kind = kind;
    e->n_ranked = 1;
    addr(&e->ranking[0].addr, new_master ? new_master : C);
    e->ranking[0].rank = 1;
    e->ranking[0].offset = 900;
    e->ranking[0].priority = 100;
    snprintf(e->reason, sizeof e->reason, "master down");
    e->old_offset = 1000;
    e->new_offset = 900;
    e->decided_by = 1;
    return e;
}

static struct rsm_entry *decide(struct fx *f, const char *group, uint64_t epoch,
                                const char *old, const char *new_master)
{
    return decide_kind(f, group, epoch, old, new_master,
                       RSM_FAILOVER_AUTOMATIC);
}

static struct rsm_entry *progress(struct fx *f, const char *group,
                                  uint64_t epoch, enum rsm_failover_step s)
{
    struct rsm_entry *e = start(f, RSM_ENTRY_FAILOVER_PROGRESS, group);

    e->epoch = epoch;
    e->step = s;
    return e;
}

static struct rsm_entry *complete(struct fx *f, const char *group,
                                  uint64_t epoch)
{
    struct rsm_entry *e = start(f, RSM_ENTRY_COMPLETE_FAILOVER, group);

    e->epoch = epoch;
    e->result = RSM_RESULT_COMPLETED;
    e->data_at_risk = 100;
    return e;
}

static struct rsm_entry *abort_failover(struct fx *f, const char *group,
                                        uint64_t epoch)
{
    struct rsm_entry *e = start(f, RSM_ENTRY_ABORT_FAILOVER, group);

    e->epoch = epoch;
    snprintf(e->reason, sizeof e->reason, "candidate unreachable");
    return e;
}

static struct rsm_entry *set_paused(struct fx *f, const char *group,
                                    bool paused)
{
    struct rsm_entry *e = start(f, RSM_ENTRY_SET_PAUSED, group);

    e->paused = paused;
    return e;
}

/* A deep copy of the state, through snapshot and restore. */
static void clone(const struct rsm_fsm *src, struct rsm_fsm *dst)
{
    void *buf;
    size_t len;

    assert_int_equal(rsm_fsm_snapshot(src, &buf, &len), 0);
    rsm_fsm_init(dst);
    assert_int_equal(rsm_fsm_restore(dst, buf, len, NULL, 0), 0);
    free(buf);
    assert_true(rsm_fsm_equal(src, dst));
}

static void ok(struct fx *f, const struct rsm_entry *e)
{
    uint64_t applied = f->fsm.applied;
    int rv = rsm_fsm_apply(&f->fsm, e, f->reason, sizeof f->reason);

    if (rv != 0)
        fail_msg("%s refused: %s", rsm_entry_kind_str(e->kind), f->reason);
    assert_int_equal(f->fsm.applied, applied + 1);
}

/* The entry is refused with exactly this reason, and nothing but the
 * rejected counter changes. */
static void refused(struct fx *f, const struct rsm_entry *e, const char *reason)
{
    struct rsm_fsm before;
    int rv;

    clone(&f->fsm, &before);
    rv = rsm_fsm_apply(&f->fsm, e, f->reason, sizeof f->reason);
    assert_int_equal(rv, RSM_EREJECTED);
    assert_string_equal(f->reason, reason);
    before.rejected++;
    assert_true(rsm_fsm_equal(&f->fsm, &before));
    rsm_fsm_close(&before);
}

static const struct rsm_group *group(struct fx *f, const char *name)
{
    const struct rsm_group *g = rsm_fsm_group(&f->fsm, name);

    assert_non_null(g);
    return g;
}

static void assert_master(const struct rsm_group *g, const char *text)
{
    struct rsm_addr a;

    addr(&a, text);
    assert_true(g->has_master);
    assert_string_equal(g->master.host, a.host);
    assert_int_equal(g->master.port, a.port);
}

/* A group "g" with master A, and failover epoch 1 (A -> B) in flight. */
static void in_flight(struct fx *f)
{
    ok(f, observe(f, "g", A));
    ok(f, decide(f, "g", 1, A, B));
}

/* ---- ObserveMaster ------------------------------------------------------- */

static void test_observe_creates_group_and_sets_master(void **state)
{
    struct fx *f = *state;
    const struct rsm_group *g;

    assert_null(rsm_fsm_group(&f->fsm, "g"));
    ok(f, observe(f, "g", A));
    g = group(f, "g");
    assert_master(g, A);
    assert_string_equal(g->master_run_id, "run-" A);
    assert_int_equal(g->n_members, 3);
    assert_string_equal(g->members[1].host, "10.0.0.2");
    assert_int_equal(g->epoch, 0);
    assert_false(g->in_flight);
    assert_false(g->paused);
}

static void test_observe_same_master_refreshes_members_and_run_id(void **state)
{
    struct fx *f = *state;
    struct rsm_entry *e;

    ok(f, observe(f, "g", A));
    e = observe(f, "g", A);
    snprintf(e->run_id, sizeof e->run_id, "restarted");
    e->n_members = 2;
    ok(f, e);
    assert_string_equal(group(f, "g")->master_run_id, "restarted");
    assert_int_equal(group(f, "g")->n_members, 2);
}

static void test_observe_other_master_is_rejected(void **state)
{
    struct fx *f = *state;

    ok(f, observe(f, "g", A));
    refused(f, observe(f, "g", B),
            "master changes only through a failover (committed " A
            ", observed " B ")");
    refused(f, observe(f, "g", NULL),
            "master changes only through a failover (committed " A
            ", observed none)");
}

static void test_observe_without_master_records_members_only(void **state)
{
    struct fx *f = *state;
    const struct rsm_group *g;

    ok(f, observe(f, "g", NULL));
    g = group(f, "g");
    assert_false(g->has_master);
    assert_int_equal(g->n_members, 3);
    /* The first master seen is then committed. */
    ok(f, observe(f, "g", B));
    assert_master(group(f, "g"), B);
}

static void test_groups_are_kept_sorted(void **state)
{
    struct fx *f = *state;
    static const char *const names[] = {"m", "b", "z", "a", "mm", "c"};

    for (size_t i = 0; i < 6; i++)
        ok(f, observe(f, names[i], A));
    assert_int_equal(f->fsm.n_groups, 6);
    for (size_t i = 1; i < f->fsm.n_groups; i++)
        assert_true(strcmp(f->fsm.groups[i - 1].name, f->fsm.groups[i].name) <
                    0);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(group(f, names[i])->name, names[i]);
    assert_null(rsm_fsm_group(&f->fsm, "q"));
}

/* ---- DecideFailover: the epoch rule -------------------------------------- */

static void test_decide_applies_next_epoch(void **state)
{
    struct fx *f = *state;
    const struct rsm_group *g;

    ok(f, observe(f, "g", A));
    ok(f, decide(f, "g", 1, A, B));
    g = group(f, "g");
    assert_int_equal(g->epoch, 1);
    assert_true(g->in_flight);
    assert_int_equal(g->decision.epoch, 1);
    assert_string_equal(g->decision.master.host, "10.0.0.2");
    assert_int_equal(g->decision.n_ranked, 1);
    assert_int_equal(g->decided_at_ms, f->now);
    assert_int_equal(g->step, RSM_STEP_NONE);
    assert_master(g, A); /* unchanged until complete */
}

static void test_decide_epoch_must_be_next(void **state)
{
    struct fx *f = *state;

    ok(f, observe(f, "g", A));
    refused(f, decide(f, "g", 0, A, B), "epoch 0 is not next (group epoch 0)");
    refused(f, decide(f, "g", 2, A, B), "epoch 2 is not next (group epoch 0)");
    ok(f, decide(f, "g", 1, A, B));
    ok(f, complete(f, "g", 1));
    refused(f, decide(f, "g", 1, B, C), "epoch 1 is not next (group epoch 1)");
    refused(f, decide(f, "g", 3, B, C), "epoch 3 is not next (group epoch 1)");
    ok(f, decide(f, "g", 2, B, C));
}

static void test_decide_while_in_flight_is_rejected(void **state)
{
    struct fx *f = *state;

    in_flight(f);
    refused(f, decide(f, "g", 2, A, C), "failover epoch 1 in flight");
}

static void test_decide_unknown_group_is_rejected(void **state)
{
    struct fx *f = *state;

    refused(f, decide(f, "nope", 1, A, B), "unknown group 'nope'");
}

static void test_decide_masters_are_checked(void **state)
{
    struct fx *f = *state;

    ok(f, observe(f, "g", A));
    refused(f, decide(f, "g", 1, A, NULL), "decision without a new master");
    refused(f, decide(f, "g", 1, A, A), "new master " A " is the old master");
    refused(f, decide(f, "g", 1, C, B),
            "stale decision: old master " C " is not the committed master " A);
    refused(f, decide(f, "g", 1, NULL, B),
            "stale decision: old master none is not the committed master " A);
    refused(f, decide_kind(f, "g", 1, NULL, B, RSM_FAILOVER_BOOTSTRAP),
            "bootstrap decision but master " A " is committed");
    assert_int_equal(group(f, "g")->epoch, 0);
}

static void test_paused_refuses_automatic_but_not_manual(void **state)
{
    struct fx *f = *state;

    ok(f, observe(f, "g", A));
    ok(f, set_paused(f, "g", true));
    assert_true(group(f, "g")->paused);
    refused(f, decide(f, "g", 1, A, B),
            "group is paused: automatic failover refused");
    ok(f, decide_kind(f, "g", 1, A, B, RSM_FAILOVER_MANUAL));
    ok(f, complete(f, "g", 1));
    ok(f, set_paused(f, "g", false));
    ok(f, decide(f, "g", 2, B, A));
}

static void test_set_paused_unknown_group_is_rejected(void **state)
{
    struct fx *f = *state;

    refused(f, set_paused(f, "g", true), "unknown group 'g'");
}

/* ---- FailoverProgress ---------------------------------------------------- */

static void test_progress_moves_forward_only(void **state)
{
    struct fx *f = *state;

    in_flight(f);
    refused(f, progress(f, "g", 1, RSM_STEP_NONE), "step none is no progress");
    ok(f, progress(f, "g", 1, RSM_STEP_PROMOTED));
    assert_int_equal(group(f, "g")->step, RSM_STEP_PROMOTED);
    refused(f, progress(f, "g", 1, RSM_STEP_PROMOTED),
            "step promoted already recorded");
    ok(f, progress(f, "g", 1, RSM_STEP_OLD_MASTER_DEMOTED)); /* skip ok */
    refused(f, progress(f, "g", 1, RSM_STEP_REPLICAS_POINTED),
            "step replicas-pointed is behind recorded step "
            "old-master-demoted");
    assert_int_equal(group(f, "g")->step, RSM_STEP_OLD_MASTER_DEMOTED);
}

static void test_progress_caught_up_only_for_pause_switchover(void **state)
{
    struct fx *f = *state;
    struct rsm_entry *d;

    in_flight(f); /* an automatic failover */
    refused(f, progress(f, "g", 1, RSM_STEP_CAUGHT_UP),
            "step caught-up is for a pause switchover only");
    ok(f, complete(f, "g", 1));
    d = decide_kind(f, "g", 2, B, A, RSM_FAILOVER_SWITCHOVER);
    ok(f, d);
    refused(f, progress(f, "g", 2, RSM_STEP_CAUGHT_UP),
            "step caught-up is for a pause switchover only");
    ok(f, complete(f, "g", 2));
    d = decide_kind(f, "g", 3, A, B, RSM_FAILOVER_SWITCHOVER);
    d->switchover_method = RSM_SWITCHOVER_PAUSE;
    ok(f, d);
    assert_int_equal(group(f, "g")->decision.switchover_method,
                     RSM_SWITCHOVER_PAUSE);
    ok(f, progress(f, "g", 3, RSM_STEP_CAUGHT_UP));
    assert_int_equal(group(f, "g")->step, RSM_STEP_CAUGHT_UP);
    refused(f, progress(f, "g", 3, RSM_STEP_CAUGHT_UP),
            "step caught-up already recorded");
    ok(f, progress(f, "g", 3, RSM_STEP_PROMOTED));
    refused(f, progress(f, "g", 3, RSM_STEP_CAUGHT_UP),
            "step caught-up is behind recorded step promoted");
}

static void test_progress_needs_the_in_flight_epoch(void **state)
{
    struct fx *f = *state;

    refused(f, progress(f, "g", 1, RSM_STEP_PROMOTED), "unknown group 'g'");
    ok(f, observe(f, "g", A));
    refused(f, progress(f, "g", 1, RSM_STEP_PROMOTED),
            "no failover in flight (epoch 1)");
    ok(f, decide(f, "g", 1, A, B));
    refused(f, progress(f, "g", 2, RSM_STEP_PROMOTED),
            "epoch 2 is not the failover in flight (epoch 1)");
}

/* ---- CompleteFailover / AbortFailover ------------------------------------ */

static void test_complete_commits_new_master_and_history(void **state)
{
    struct fx *f = *state;
    const struct rsm_group *g;
    const struct rsm_history_item *h;
    int64_t decided_at;

    in_flight(f);
    decided_at = f->now;
    ok(f, progress(f, "g", 1, RSM_STEP_PROMOTED));
    ok(f, complete(f, "g", 1));
    g = group(f, "g");
    assert_master(g, B);
    assert_string_equal(g->master_run_id, "");
    assert_false(g->in_flight);
    assert_int_equal(g->step, RSM_STEP_NONE);
    assert_int_equal(g->epoch, 1);
    assert_int_equal(g->last_failover_end_ms, f->now);
    assert_int_equal(g->n_history, 1);
    h = &g->history[0];
    assert_int_equal(h->epoch, 1);
    assert_int_equal(h->kind, RSM_FAILOVER_AUTOMATIC);
    assert_int_equal(h->result, RSM_RESULT_COMPLETED);
    assert_string_equal(h->old_master.host, "10.0.0.1");
    assert_string_equal(h->new_master.host, "10.0.0.2");
    assert_int_equal(h->decided_at_ms, decided_at);
    assert_int_equal(h->ended_at_ms, f->now);
    assert_int_equal(h->old_offset, 1000);
    assert_int_equal(h->new_offset, 900);
    assert_int_equal(h->data_at_risk, 100);
    assert_string_equal(h->reason, "master down");
    /* The new master is now the one observations must match. */
    ok(f, observe(f, "g", B));
    assert_string_equal(group(f, "g")->master_run_id, "run-" B);
}

static void test_complete_needs_the_in_flight_epoch(void **state)
{
    struct fx *f = *state;
    struct rsm_entry *e;

    ok(f, observe(f, "g", A));
    refused(f, complete(f, "g", 1), "no failover in flight (epoch 1)");
    ok(f, decide(f, "g", 1, A, B));
    refused(f, complete(f, "g", 2),
            "epoch 2 is not the failover in flight (epoch 1)");
    e = complete(f, "g", 1);
    e->result = RSM_RESULT_ABORTED;
    refused(f, e, "complete-failover with result aborted: use abort-failover");
}

static void test_abort_keeps_master_and_consumes_epoch(void **state)
{
    struct fx *f = *state;
    const struct rsm_group *g;

    in_flight(f);
    refused(f, abort_failover(f, "g", 2),
            "epoch 2 is not the failover in flight (epoch 1)");
    ok(f, abort_failover(f, "g", 1));
    g = group(f, "g");
    assert_master(g, A);
    assert_false(g->in_flight);
    assert_int_equal(g->epoch, 1);
    assert_int_equal(g->n_history, 1);
    assert_int_equal(g->history[0].result, RSM_RESULT_ABORTED);
    assert_string_equal(g->history[0].reason, "candidate unreachable");
    assert_int_equal(g->history[0].data_at_risk, -1);
    assert_int_equal(g->last_failover_end_ms, f->now);
    refused(f, decide(f, "g", 1, A, C), "epoch 1 is not next (group epoch 1)");
    ok(f, decide(f, "g", 2, A, C));
}

static void test_history_is_bounded_oldest_dropped(void **state)
{
    struct fx *f = *state;
    const char *cur = A, *other = B, *tmp;
    const struct rsm_group *g;

    ok(f, observe(f, "g", A));
    for (uint64_t ep = 1; ep <= RSM_HISTORY_MAX + 8; ep++) {
        ok(f, decide(f, "g", ep, cur, other));
        if (ep % 3 == 0) {
            ok(f, abort_failover(f, "g", ep)); /* the master stays */
            continue;
        }
        ok(f, complete(f, "g", ep));
        tmp = cur, cur = other, other = tmp;
    }
    g = group(f, "g");
    assert_int_equal(g->n_history, RSM_HISTORY_MAX);
    assert_int_equal(g->history[0].epoch, 9);
    assert_int_equal(g->history[RSM_HISTORY_MAX - 1].epoch,
                     RSM_HISTORY_MAX + 8);
    for (unsigned i = 1; i < g->n_history; i++)
        assert_int_equal(g->history[i].epoch, g->history[i - 1].epoch + 1);
    /* the counters keep what the history dropped: 40 ended, every third
     * aborted */
    assert_int_equal(g->ended[RSM_RESULT_ABORTED], (RSM_HISTORY_MAX + 8) / 3);
    assert_int_equal(g->ended[RSM_RESULT_COMPLETED],
                     RSM_HISTORY_MAX + 8 - (RSM_HISTORY_MAX + 8) / 3);
    assert_int_equal(g->ended[RSM_RESULT_COMPLETED_WITH_STRAGGLERS], 0);
}

/* ---- malformed entries --------------------------------------------------- */

static void test_malformed_entries_are_rejected(void **state)
{
    struct fx *f = *state;
    struct rsm_entry *e;

    ok(f, observe(f, "g", A));
    e = set_paused(f, "g", true);
    e->kind = (enum rsm_entry_kind)42;
    refused(f, e, "malformed entry: unknown entry kind 42");
    e = set_paused(f, "", true);
    refused(f, e, "malformed entry: group: empty name");
    e = observe(f, "g", A);
    e->n_members = RSM_MAX_MEMBERS + 1;
    refused(f, e, "malformed entry: members: 17 > 16 addresses");
    e = decide(f, "g", 1, A, B);
    e->failover_kind = (enum rsm_failover_kind)8;
    refused(f, e, "malformed entry: kind: bad value 8");
    assert_int_equal(f->fsm.rejected, 4);
}

/* An abort code this agent does not know (a newer agent's) is read as
 * UNSPECIFIED: the abort applies here as on the newer agents, so the
 * state stays the same on every agent. One out of range in a C entry is
 * a bug of this agent: refused as malformed. */
static void test_abort_code_unknown_still_applies(void **state)
{
    struct fx *f = *state;
    Rsm__Entry m = RSM__ENTRY__INIT;
    Rsm__AbortFailover ab = RSM__ABORT_FAILOVER__INIT;
    struct rsm_entry out, *e;
    uint8_t *buf;
    size_t len;

    in_flight(f);
    e = abort_failover(f, "g", 1);
    e->abort_code = (enum rsm_abort_code)(RSM_ABORT_CODE_LAST + 1);
    refused(f, e, "malformed entry: abort code: bad value 6");
    m.time_ms = f->now;
    m.kind_case = RSM__ENTRY__KIND_ABORT_FAILOVER;
    m.abort_failover = &ab;
    ab.group = "g";
    ab.epoch = 1;
    ab.reason = "target gone";
    ab.code = (Rsm__AbortCode)(RSM_ABORT_CODE_LAST + 1);
    len = rsm__entry__get_packed_size(&m);
    buf = malloc(len);
    assert_non_null(buf);
    rsm__entry__pack(&m, buf);
    assert_int_equal(rsm_fsm_apply_bytes(&f->fsm, buf, len, &out, f->reason,
                                         sizeof f->reason),
                     0);
    free(buf);
    assert_int_equal(out.abort_code, RSM_ABORT_UNSPECIFIED);
    assert_false(group(f, "g")->in_flight);
    assert_int_equal(group(f, "g")->history[0].result, RSM_RESULT_ABORTED);
    assert_string_equal(group(f, "g")->history[0].reason, "target gone");
}

static void test_apply_bytes_decodes_and_applies(void **state)
{
    struct fx *f = *state;
    struct rsm_entry out;
    void *buf;
    size_t len;

    assert_int_equal(rsm_codec_encode_entry(observe(f, "g", A), &buf, &len), 0);
    assert_int_equal(rsm_fsm_apply_bytes(&f->fsm, buf, len, &out, f->reason,
                                         sizeof f->reason),
                     0);
    assert_int_equal(out.kind, RSM_ENTRY_OBSERVE_MASTER);
    assert_master(group(f, "g"), A);
    /* Same bytes again: a refresh, accepted. */
    assert_int_equal(rsm_fsm_apply_bytes(&f->fsm, buf, len, NULL, f->reason, 8),
                     0);
    free(buf);
    assert_int_equal(f->fsm.applied, 2);
}

static void test_apply_bytes_garbage_is_rejected_not_fatal(void **state)
{
    struct fx *f = *state;
    struct rsm_fsm before;
    struct rsm_entry out;
    uint8_t junk[64];
    void *buf;
    size_t len;

    ok(f, observe(f, "g", A));
    clone(&f->fsm, &before);
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    out.kind = RSM_ENTRY_SET_PAUSED;
    assert_int_equal(rsm_fsm_apply_bytes(&f->fsm, junk, sizeof junk, &out,
                                         f->reason, sizeof f->reason),
                     RSM_EREJECTED);
    assert_int_equal(out.kind, RSM_ENTRY_NONE);
    assert_non_null(strstr(f->reason, "undecodable entry: "));

    /* A decodable entry that breaks a rule: rejected by the FSM. */
    assert_int_equal(
        rsm_codec_encode_entry(decide(f, "g", 5, A, B), &buf, &len), 0);
    assert_int_equal(rsm_fsm_apply_bytes(&f->fsm, buf, len, &out, f->reason,
                                         sizeof f->reason),
                     RSM_EREJECTED);
    assert_int_equal(out.kind, RSM_ENTRY_DECIDE_FAILOVER);
    assert_string_equal(f->reason, "epoch 5 is not next (group epoch 0)");
    free(buf);

    before.rejected += 2;
    assert_true(rsm_fsm_equal(&f->fsm, &before));
    rsm_fsm_close(&before);
}

static struct rsm_entry *set_config(struct fx *f, const char *group,
                                    int64_t down_after_ms, unsigned quorum)
{
    struct rsm_entry *e = start(f, RSM_ENTRY_SET_GROUP_CONFIG, group);

    e->settings.down_after_ms = down_after_ms;
    e->settings.quorum = quorum;
    return e;
}

/* SENTINEL SET through the log: the group must exist, the values set
 * replace the group's and the others stay; out of range or nothing set is
 * malformed; the settings survive a snapshot and count in equality. */
static void test_set_group_config(void **state)
{
    struct fx *f = *state;
    struct rsm_fsm copy;
    struct rsm_group *g;

    refused(f, set_config(f, "g", 2000, 0), "unknown group 'g'");
    ok(f, observe(f, "g", A));
    assert_int_equal(group(f, "g")->settings.down_after_ms, 0);
    ok(f, set_config(f, "g", 2000, 0));
    ok(f, set_config(f, "g", 0, 2));
    assert_int_equal(group(f, "g")->settings.down_after_ms, 2000);
    assert_int_equal(group(f, "g")->settings.quorum, 2);
    assert_int_equal(group(f, "g")->settings.failover_timeout_ms, 0);
    refused(f, set_config(f, "g", 0, 0), "malformed entry: settings: none set");
    refused(f, set_config(f, "g", -5, 0),
            "malformed entry: down_after_ms: -5 out of range 1-86400000 "
            "(0: not set)");
    refused(f, set_config(f, "g", 0, 99),
            "malformed entry: quorum: 99 out of range 1-16 (0: not set)");
    assert_int_equal(group(f, "g")->settings.down_after_ms, 2000);

    clone(&f->fsm, &copy);
    assert_int_equal(rsm_fsm_group(&copy, "g")->settings.down_after_ms, 2000);
    assert_int_equal(rsm_fsm_group(&copy, "g")->settings.quorum, 2);
    assert_true(rsm_fsm_equal(&f->fsm, &copy));
    g = (struct rsm_group *)rsm_fsm_group(&copy, "g");
    g->settings.parallel_syncs = 3;
    assert_false(rsm_fsm_equal(&f->fsm, &copy));
    rsm_fsm_close(&copy);
}

/* ---- MonitorGroup, RemoveGroup: SENTINEL MONITOR / REMOVE ---------------- */

static struct rsm_entry *monitor_group(struct fx *f, const char *group,
                                       const char *master, unsigned quorum)
{
    struct rsm_entry *e = start(f, RSM_ENTRY_MONITOR_GROUP, group);

    addr(&e->master, master);
    e->settings.quorum = quorum;
    return e;
}

static struct rsm_entry *remove_group(struct fx *f, const char *group)
{
    return start(f, RSM_ENTRY_REMOVE_GROUP, group);
}

/* MONITOR adds a group with its master committed, the master as its only
 * member and the quorum as its setting; a second one of the name is
 * refused; the group then lives like any other (observed, failed over). */
static void test_monitor_group_adds_a_group(void **state)
{
    struct fx *f = *state;
    const struct rsm_group *g;

    ok(f, monitor_group(f, "new", A, 2));
    g = group(f, "new");
    assert_master(g, A);
    assert_true(g->added);
    assert_int_equal(g->n_members, 1);
    assert_int_equal(g->settings.quorum, 2);
    assert_int_equal(g->settings.down_after_ms, 0);
    assert_string_equal(g->master_run_id, "");
    assert_int_equal(g->epoch, 0);
    refused(f, monitor_group(f, "new", B, 2),
            "duplicated master name: group 'new' exists");
    ok(f, observe(f, "new", A)); /* the leader's record: run id, members */
    assert_int_equal(group(f, "new")->n_members, 3);
    assert_true(group(f, "new")->added);
    ok(f, decide(f, "new", 1, A, B));
    ok(f, complete(f, "new", 1));
    assert_master(group(f, "new"), B);
    /* a --monitor group's name is taken too */
    ok(f, observe(f, "flag", C));
    refused(f, monitor_group(f, "flag", A, 1),
            "duplicated master name: group 'flag' exists");
    assert_false(group(f, "flag")->added);
}

static void test_monitor_group_malformed(void **state)
{
    struct fx *f = *state;
    struct rsm_entry *e;

    refused(f, monitor_group(f, "g", A, 0),
            "malformed entry: quorum: 0 not in 1..16");
    refused(f, monitor_group(f, "g", A, 17),
            "malformed entry: quorum: 17 not in 1..16");
    refused(f, monitor_group(f, "g", NULL, 2),
            "malformed entry: master: empty address");
    refused(f, monitor_group(f, "bad name", A, 2),
            "malformed entry: group: bad character 0x20 in name");
    e = monitor_group(f, "g", A, 2);
    e->settings.down_after_ms = 5000;
    refused(f, e,
            "malformed entry: settings: only the quorum is given with a "
            "group");
    refused(f, remove_group(f, ""), "malformed entry: group: empty name");
    assert_int_equal(f->fsm.n_groups, 0);
}

/* REMOVE drops a group and its whole state; one added by MONITOR is
 * forgotten, and may be added again afresh. */
static void test_remove_group_drops_it(void **state)
{
    struct fx *f = *state;

    refused(f, remove_group(f, "new"), "unknown group 'new'");
    ok(f, monitor_group(f, "new", A, 2));
    ok(f, observe(f, "other", B));
    ok(f, decide(f, "new", 1, A, B)); /* even in flight */
    ok(f, remove_group(f, "new"));
    assert_null(rsm_fsm_group(&f->fsm, "new"));
    assert_false(rsm_fsm_removed(&f->fsm, "new"));
    assert_int_equal(f->fsm.n_removed, 0);
    assert_non_null(rsm_fsm_group(&f->fsm, "other"));
    refused(f, decide(f, "new", 2, A, B), "unknown group 'new'");
    refused(f, remove_group(f, "new"), "unknown group 'new'");
    ok(f, monitor_group(f, "new", C, 1));
    assert_master(group(f, "new"), C);
    assert_int_equal(group(f, "new")->epoch, 0);
    assert_false(group(f, "new")->in_flight);
}

/* REMOVE of a group that came from --monitor (created by ObserveMaster)
 * is remembered: its ObserveMaster is refused from then on (an agent whose
 * flag still names it does not watch it again), until MONITOR adds it. */
static void test_remove_of_flag_group_is_remembered(void **state)
{
    struct fx *f = *state;
    struct rsm_fsm copy;

    ok(f, observe(f, "flag", A));
    ok(f, observe(f, "keep", B));
    ok(f, remove_group(f, "flag"));
    assert_null(rsm_fsm_group(&f->fsm, "flag"));
    assert_true(rsm_fsm_removed(&f->fsm, "flag"));
    assert_false(rsm_fsm_removed(&f->fsm, "keep"));
    refused(f, observe(f, "flag", A),
            "group 'flag' was removed by SENTINEL REMOVE");
    refused(f, observe(f, "flag", NULL),
            "group 'flag' was removed by SENTINEL REMOVE");
    ok(f, observe(f, "a-flag", C));
    ok(f, remove_group(f, "a-flag"));
    assert_int_equal(f->fsm.n_removed, 2);
    assert_string_equal(f->fsm.removed[0], "a-flag"); /* sorted */
    assert_string_equal(f->fsm.removed[1], "flag");

    /* a snapshot keeps them; equality sees them */
    clone(&f->fsm, &copy);
    assert_true(rsm_fsm_removed(&copy, "flag"));
    assert_int_equal(copy.n_removed, 2);
    copy.n_removed = 1;
    assert_false(rsm_fsm_equal(&f->fsm, &copy));
    copy.n_removed = 2;
    rsm_fsm_close(&copy);

    /* MONITOR adds it again: no longer removed, and now an added group,
     * whose REMOVE is not remembered */
    ok(f, monitor_group(f, "flag", B, 2));
    assert_false(rsm_fsm_removed(&f->fsm, "flag"));
    assert_true(group(f, "flag")->added);
    ok(f, observe(f, "flag", B));
    ok(f, remove_group(f, "flag"));
    assert_false(rsm_fsm_removed(&f->fsm, "flag"));
    assert_int_equal(f->fsm.n_removed, 1);
}

/* Groups added and removed at run time survive a snapshot: an agent
 * restored from it agrees, and goes on alike. */
static void test_snapshot_keeps_added_and_removed_groups(void **state)
{
    struct fx *f = *state;
    struct rsm_fsm copy;
    struct rsm_group *g;

    ok(f, observe(f, "flag", A));
    ok(f, monitor_group(f, "added", B, 3));
    ok(f, observe(f, "gone", C));
    ok(f, remove_group(f, "gone"));
    clone(&f->fsm, &copy);
    assert_true(rsm_fsm_group(&copy, "added")->added);
    assert_false(rsm_fsm_group(&copy, "flag")->added);
    assert_int_equal(rsm_fsm_group(&copy, "added")->settings.quorum, 3);
    assert_true(rsm_fsm_removed(&copy, "gone"));
    g = (struct rsm_group *)rsm_fsm_group(&copy, "added");
    g->added = false;
    assert_false(rsm_fsm_equal(&f->fsm, &copy));
    g->added = true;
    {
        struct rsm_entry *e = observe(f, "gone", C);

        assert_int_equal(rsm_fsm_apply(&copy, e, NULL, 0), RSM_EREJECTED);
        refused(f, e, "group 'gone' was removed by SENTINEL REMOVE");
        e = remove_group(f, "added");
        assert_int_equal(rsm_fsm_apply(&copy, e, NULL, 0), 0);
        ok(f, e);
    }
    assert_true(rsm_fsm_equal(&f->fsm, &copy));
    rsm_fsm_close(&copy);
}

static void test_monitor_and_remove_through_bytes(void **state)
{
    struct fx *f = *state;
    struct rsm_entry out;
    void *buf;
    size_t len;

    assert_int_equal(
        rsm_codec_encode_entry(monitor_group(f, "g", A, 2), &buf, &len), 0);
    assert_int_equal(rsm_fsm_apply_bytes(&f->fsm, buf, len, &out, f->reason,
                                         sizeof f->reason),
                     0);
    free(buf);
    assert_int_equal(out.kind, RSM_ENTRY_MONITOR_GROUP);
    assert_master(group(f, "g"), A);
    assert_int_equal(rsm_codec_encode_entry(remove_group(f, "g"), &buf, &len),
                     0);
    assert_int_equal(rsm_fsm_apply_bytes(&f->fsm, buf, len, &out, f->reason,
                                         sizeof f->reason),
                     0);
    free(buf);
    assert_int_equal(out.kind, RSM_ENTRY_REMOVE_GROUP);
    assert_int_equal(f->fsm.n_groups, 0);
}

/* ---- snapshot and restore ------------------------------------------------ */

/* Several groups, one with a failover in flight, history, paused flags. */
static void rich_state(struct fx *f)
{
    ok(f, observe(f, "zeta", A));
    ok(f, observe(f, "alpha", B));
    ok(f, observe(f, "mid", NULL));
    ok(f, decide(f, "alpha", 1, B, C));
    ok(f, complete(f, "alpha", 1));
    ok(f, decide(f, "alpha", 2, C, A));
    ok(f, abort_failover(f, "alpha", 2));
    ok(f, set_paused(f, "alpha", true));
    ok(f, decide_kind(f, "zeta", 1, A, C, RSM_FAILOVER_SWITCHOVER));
    ok(f, progress(f, "zeta", 1, RSM_STEP_REPLICAS_POINTED));
    refused(f, decide(f, "zeta", 1, A, B),
            "epoch 1 is not next (group epoch 1)");
}

static void test_snapshot_restore_round_trip_is_equal(void **state)
{
    struct fx *f = *state;
    struct rsm_fsm copy;
    void *buf, *buf2;
    size_t len, len2;
    char err[RSM_ERRMSG_SIZE] = "";

    rich_state(f);
    assert_int_equal(rsm_fsm_snapshot(&f->fsm, &buf, &len), 0);
    rsm_fsm_init(&copy);
    if (rsm_fsm_restore(&copy, buf, len, err, sizeof err) != 0)
        fail_msg("restore: %s", err);
    assert_true(rsm_fsm_equal(&f->fsm, &copy));
    assert_int_equal(copy.applied, f->fsm.applied);
    assert_int_equal(copy.rejected, 1);
    assert_true(rsm_fsm_group(&copy, "zeta")->in_flight);
    assert_int_equal(rsm_fsm_group(&copy, "alpha")->ended[RSM_RESULT_COMPLETED],
                     1);
    assert_int_equal(rsm_fsm_group(&copy, "alpha")->ended[RSM_RESULT_ABORTED],
                     1);
    assert_int_equal(rsm_fsm_group(&copy, "zeta")->decision.time_ms,
                     rsm_fsm_group(&copy, "zeta")->decided_at_ms);
    /* Deterministic bytes: the restored state snapshots identically. */
    assert_int_equal(rsm_fsm_snapshot(&copy, &buf2, &len2), 0);
    assert_int_equal(len, len2);
    assert_memory_equal(buf, buf2, len);
    free(buf2);
    free(buf);

    /* And the copy goes on exactly like the original. */
    {
        struct rsm_entry *e = complete(f, "zeta", 1);

        assert_int_equal(rsm_fsm_apply(&copy, e, NULL, 0), 0);
        ok(f, e);
        assert_true(rsm_fsm_equal(&f->fsm, &copy));
    }
    rsm_fsm_close(&copy);
}

static void test_snapshot_of_empty_state(void **state)
{
    struct fx *f = *state;
    struct rsm_fsm copy;

    clone(&f->fsm, &copy);
    assert_int_equal(copy.n_groups, 0);
    rsm_fsm_close(&copy);
}

static void test_equal_detects_differences(void **state)
{
    struct fx *f = *state;
    struct rsm_fsm copy;
    struct rsm_group *g;

    rich_state(f);
    clone(&f->fsm, &copy);
    g = (struct rsm_group *)rsm_fsm_group(&copy, "zeta");
    g->step = RSM_STEP_PROMOTED;
    assert_false(rsm_fsm_equal(&f->fsm, &copy));
    g->step = RSM_STEP_REPLICAS_POINTED;
    g->decision.ranking[0].offset++;
    assert_false(rsm_fsm_equal(&f->fsm, &copy));
    g->decision.ranking[0].offset--;
    assert_true(rsm_fsm_equal(&f->fsm, &copy));
    g->ended[RSM_RESULT_COMPLETED_WITH_STRAGGLERS]++;
    assert_false(rsm_fsm_equal(&f->fsm, &copy));
    g->ended[RSM_RESULT_COMPLETED_WITH_STRAGGLERS]--;
    assert_true(rsm_fsm_equal(&f->fsm, &copy));
    g = (struct rsm_group *)rsm_fsm_group(&copy, "alpha");
    g->history[1].reason[0] = 'X';
    assert_false(rsm_fsm_equal(&f->fsm, &copy));
    rsm_fsm_close(&copy);
}

/* The restore must refuse buf and keep the state as it was. */
static void restore_refused(struct fx *f, const void *buf, size_t len,
                            const char *needle)
{
    struct rsm_fsm before;
    char err[RSM_ERRMSG_SIZE] = "";

    clone(&f->fsm, &before);
    assert_int_equal(rsm_fsm_restore(&f->fsm, buf, len, err, sizeof err),
                     RSM_EPARSE);
    if (needle != NULL && strstr(err, needle) == NULL)
        fail_msg("error '%s' does not mention '%s'", err, needle);
    assert_true(rsm_fsm_equal(&f->fsm, &before));
    rsm_fsm_close(&before);
}

static void test_restore_of_garbage_keeps_old_state(void **state)
{
    struct fx *f = *state;
    uint8_t junk[300];
    uint64_t x = 12345;
    void *buf;
    size_t len;

    rich_state(f);
    for (int round = 0; round < 200; round++) {
        size_t n = (size_t)(x % sizeof junk);

        for (size_t i = 0; i < n; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            junk[i] = (uint8_t)(x >> 56);
        }
        {
            struct rsm_fsm before;
            clone(&f->fsm, &before);
            if (rsm_fsm_restore(&f->fsm, junk, n, NULL, 0) != 0)
                assert_true(rsm_fsm_equal(&f->fsm, &before));
            rsm_fsm_close(&before);
        }
        if (f->fsm.n_groups != 3) { /* garbage that decoded: start over */
            rsm_fsm_close(&f->fsm);
            rsm_fsm_init(&f->fsm);
            rich_state(f);
        }
    }

    /* Every proper prefix of a real snapshot. */
    assert_int_equal(rsm_fsm_snapshot(&f->fsm, &buf, &len), 0);
    for (size_t n = 1; n < len; n++) {
        uint8_t *cut = malloc(n);

        memcpy(cut, buf, n);
        {
            struct rsm_fsm before;
            clone(&f->fsm, &before);
            /* A prefix may end on a field boundary and decode; it must
             * never crash, and on refusal the state is kept. */
            if (rsm_fsm_restore(&f->fsm, cut, n, NULL, 0) != 0)
                assert_true(rsm_fsm_equal(&f->fsm, &before));
            else
                assert_int_equal(rsm_fsm_restore(&f->fsm, buf, len, NULL, 0),
                                 0);
            rsm_fsm_close(&before);
        }
        free(cut);
    }
    restore_refused(f, buf, 3, NULL);
    free(buf);
}

/* Pack a hand-made snapshot. */
static void restore_crafted(struct fx *f, Rsm__Snapshot *s, const char *needle)
{
    size_t len = rsm__snapshot__get_packed_size(s);
    uint8_t *buf = malloc(len + 1);

    rsm__snapshot__pack(s, buf);
    restore_refused(f, buf, len, needle);
    free(buf);
}

static void test_restore_refuses_inconsistent_snapshots(void **state)
{
    struct fx *f = *state;
    Rsm__Snapshot s = RSM__SNAPSHOT__INIT;
    Rsm__Group g1 = RSM__GROUP__INIT, g2 = RSM__GROUP__INIT;
    Rsm__Group *gv[2] = {&g1, &g2};
    Rsm__InFlight inf = RSM__IN_FLIGHT__INIT;
    Rsm__DecideFailover d = RSM__DECIDE_FAILOVER__INIT;
    Rsm__Addr nm = RSM__ADDR__INIT;
    Rsm__HistoryItem h = RSM__HISTORY_ITEM__INIT;
    Rsm__HistoryItem *hv[RSM_HISTORY_MAX + 1];

    rich_state(f);
    s.format = 2;
    restore_crafted(f, &s, "unsupported snapshot format 2");

    s.format = 1;
    g1.name = "b";
    g2.name = "a";
    s.n_groups = 2;
    s.groups = gv;
    restore_crafted(f, &s, "groups[1].name: 'a' not sorted after 'b'");
    g2.name = "b";
    restore_crafted(f, &s, "not sorted");
    g2.name = "bad name";
    restore_crafted(f, &s, "groups[1]: group: bad character");

    s.n_groups = 1;
    nm.host = "10.0.0.2";
    nm.port = 6379;
    d.group = "b";
    d.epoch = 3;
    d.new_master = &nm;
    inf.decision = &d;
    g1.epoch = 2;
    g1.in_flight = &inf;
    restore_crafted(f, &s, "not of the group epoch");
    g1.epoch = 3;
    d.group = "other";
    restore_crafted(f, &s, "in-flight decision of another group other");
    d.group = "b";
    d.new_master = NULL;
    restore_crafted(f, &s, "without a new master");
    d.new_master = &nm;
    inf.step = (Rsm__FailoverStep)7;
    restore_crafted(f, &s, "in_flight.step: unknown value 7");
    inf.step = RSM__FAILOVER_STEP__STEP_PROMOTED;
    inf.decision = NULL;
    restore_crafted(f, &s, "in_flight without a decision");
    g1.in_flight = NULL;

    for (int i = 0; i <= RSM_HISTORY_MAX; i++)
        hv[i] = &h;
    g1.n_history = RSM_HISTORY_MAX + 1;
    g1.history = hv;
    restore_crafted(f, &s, "groups[0].history: 33 items");
    g1.n_history = 1;
    h.result = (Rsm__FailoverResult)5;
    restore_crafted(f, &s, "groups[0].history[0].result: unknown value 5");
    h.result = RSM__FAILOVER_RESULT__RESULT_ABORTED;
    nm.port = 0;
    h.new_master = &nm;
    restore_crafted(f, &s, "groups[0].history[0].new_master");

    {
        char *rm[2] = {"z", "y"};

        nm.port = 6379; /* the group is fine: only the names are not */
        s.n_removed = 2;
        s.removed = rm;
        restore_crafted(f, &s, "removed[1]: 'y' not sorted after 'z'");
        rm[1] = "z";
        restore_crafted(f, &s, "not sorted");
        rm[0] = "b"; /* a group of the snapshot */
        restore_crafted(f, &s, "removed[0]: 'b' is a group");
        rm[0] = "bad name";
        restore_crafted(f, &s, "removed[0]: group: bad character");
        s.n_removed = 0;
        s.removed = NULL;
    }

    /* The fixed-up snapshot is accepted: the checks above were the only
     * problems. */
    {
        size_t len;
        uint8_t *buf;

        nm.port = 6379;
        len = rsm__snapshot__get_packed_size(&s);
        buf = malloc(len);
        rsm__snapshot__pack(&s, buf);
        assert_int_equal(rsm_fsm_restore(&f->fsm, buf, len, NULL, 0), 0);
        assert_int_equal(f->fsm.n_groups, 1);
        assert_false(group(f, "b")->has_master);
        assert_int_equal(group(f, "b")->n_history, 1);
        free(buf);
    }
}

/* ---- determinism --------------------------------------------------------- */

static void test_same_entries_give_equal_states(void **state)
{
    struct fx *f = *state, *g = calloc(1, sizeof *g);
    struct rsm_entry *e;

    rsm_fsm_init(&g->fsm);
    g->now = f->now;
    /* Replay on g what f applies, including rejected entries. */
    for (int i = 0; i < 3; i++) {
        const char *name = i == 0 ? "x" : i == 1 ? "a" : "q";

        e = observe(f, name, A);
        rsm_fsm_apply(&g->fsm, e, NULL, 0);
        ok(f, e);
        e = decide(f, name, 1, A, B);
        rsm_fsm_apply(&g->fsm, e, NULL, 0);
        ok(f, e);
        e = decide(f, name, 1, A, C);
        rsm_fsm_apply(&g->fsm, e, NULL, 0);
        rsm_fsm_apply(&f->fsm, e, NULL, 0);
    }
    assert_true(rsm_fsm_equal(&f->fsm, &g->fsm));
    assert_int_equal(g->fsm.rejected, 3);
    rsm_fsm_close(&g->fsm);
    free(g);
}

/* ---- scenarios ----------------------------------------------------------- */

/* Two leaders (old one partitioned, new one elected) both read epoch 0
 * and propose epoch 1: the log orders them, the first applies, the second
 * is refused on every replica. */
static void test_two_leaders_propose_same_epoch_only_first_applies(void **state)
{
    struct fx *f = *state;
    const struct rsm_group *g;

    ok(f, observe(f, "g", A));
    ok(f, decide(f, "g", 1, A, B));     /* old leader, term 2 */
    refused(f, decide(f, "g", 1, A, C), /* new leader, term 3 */
            "epoch 1 is not next (group epoch 1)");
    g = group(f, "g");
    assert_string_equal(g->decision.master.host, "10.0.0.2");
    /* The new leader, once it has read the state, resumes epoch 1. */
    ok(f, progress(f, "g", 1, RSM_STEP_PROMOTED));
    ok(f, complete(f, "g", 1));
    assert_master(group(f, "g"), B);
}

/* A leader dies after promoting; the next one reads the recorded step and
 * continues from there instead of promoting again. */
static void test_kill_leader_between_promote_and_repoint_resumes(void **state)
{
    struct fx *f = *state;

    in_flight(f);
    ok(f, progress(f, "g", 1, RSM_STEP_PROMOTED));
    /* New leader: the in-flight failover is in the state. */
    assert_true(group(f, "g")->in_flight);
    assert_int_equal(group(f, "g")->step, RSM_STEP_PROMOTED);
    /* Its first instinct (promote) is refused, the next step is not. */
    refused(f, progress(f, "g", 1, RSM_STEP_PROMOTED),
            "step promoted already recorded");
    ok(f, progress(f, "g", 1, RSM_STEP_REPLICAS_POINTED));
    ok(f, complete(f, "g", 1));
    assert_master(group(f, "g"), B);
}

/* An old leader that slept through a whole failover proposes the next
 * epoch against the master it remembers: stale, refused. */
static void test_stale_leader_decision_after_completed_failover(void **state)
{
    struct fx *f = *state;

    in_flight(f);
    ok(f, complete(f, "g", 1));
    refused(f, decide(f, "g", 2, A, C),
            "stale decision: old master " A " is not the committed master " B);
    ok(f, decide(f, "g", 2, B, C));
}

/* The old master comes back and is observed as master: the committed
 * master stays the promoted one. */
static void test_returning_old_master_does_not_become_master(void **state)
{
    struct fx *f = *state;

    in_flight(f);
    ok(f, complete(f, "g", 1));
    refused(f, observe(f, "g", A),
            "master changes only through a failover (committed " B
            ", observed " A ")");
    assert_master(group(f, "g"), B);
}

/* A late Complete from a leader that did not see the Abort. */
static void test_complete_after_abort_is_rejected(void **state)
{
    struct fx *f = *state;

    in_flight(f);
    ok(f, abort_failover(f, "g", 1));
    refused(f, complete(f, "g", 1), "no failover in flight (epoch 1)");
    assert_master(group(f, "g"), A);
}

/* First start with no master anywhere: the members are recorded, then a
 * BOOTSTRAP decision picks one. */
static void test_bootstrap_without_any_master(void **state)
{
    struct fx *f = *state;

    ok(f, observe(f, "g", NULL));
    ok(f, decide_kind(f, "g", 1, NULL, B, RSM_FAILOVER_BOOTSTRAP));
    ok(f, complete(f, "g", 1));
    assert_master(group(f, "g"), B);
    assert_int_equal(group(f, "g")->history[0].kind, RSM_FAILOVER_BOOTSTRAP);
}

/* ---- AdvertiseAgent ------------------------------------------------------ */

#define CID   "0123456789abcdef0123456789abcdef"
#define OTHER "fedcba9876543210fedcba9876543210"

/* Agent id says its client port is api and its HTTP port http (NULL:
 * none), in cluster cid. No group. */
static struct rsm_entry *advertise(struct fx *f, uint64_t id, const char *api,
                                   const char *http, const char *cid)
{
    struct rsm_entry *e = start(f, RSM_ENTRY_ADVERTISE_AGENT, NULL);

    e->agent_id = id;
    addr(&e->api, api);
    addr(&e->http, http);
    snprintf(e->cluster_id, sizeof e->cluster_id, "%s", cid);
    return e;
}

static const struct rsm_agent_info *agent(struct fx *f, uint64_t id)
{
    const struct rsm_agent_info *a = rsm_fsm_agent(&f->fsm, id);

    if (a == NULL)
        fail_msg("agent %llu not recorded", (unsigned long long)id);
    return a;
}

static void assert_addr_is(const struct rsm_addr *a, const char *text)
{
    struct rsm_addr want;

    addr(&want, text);
    assert_string_equal(a->host, want.host);
    assert_int_equal(a->port, want.port);
}

static void test_advertise_adopts_cluster_id_when_none(void **state)
{
    struct fx *f = *state;
    const struct rsm_agent_info *a;

    assert_string_equal(f->fsm.cluster_id, "");
    assert_null(rsm_fsm_agent(&f->fsm, 1));
    ok(f, advertise(f, 1, "10.0.0.1:7000", "10.0.0.1:8080", CID));
    assert_string_equal(f->fsm.cluster_id, CID);
    assert_int_equal(f->fsm.n_agents, 1);
    a = agent(f, 1);
    assert_int_equal(a->id, 1);
    assert_addr_is(&a->api, "10.0.0.1:7000");
    assert_addr_is(&a->http, "10.0.0.1:8080");
    assert_int_equal(f->fsm.n_groups, 0); /* no group involved */
    /* Another agent of the same cluster joins it. */
    ok(f, advertise(f, 2, "10.0.0.2:7000", NULL, CID));
    assert_string_equal(f->fsm.cluster_id, CID);
    assert_int_equal(f->fsm.n_agents, 2);
    assert_addr_is(&agent(f, 2)->http, NULL);
}

static void test_advertise_again_replaces_the_addresses(void **state)
{
    struct fx *f = *state;
    const struct rsm_agent_info *a;

    ok(f, advertise(f, 1, "10.0.0.1:7000", NULL, CID));
    ok(f, advertise(f, 2, "10.0.0.2:7000", "10.0.0.2:8080", CID));
    ok(f, advertise(f, 2, "rsm-2.rsm.svc:7001", NULL, CID));
    assert_int_equal(f->fsm.n_agents, 2);
    a = agent(f, 2);
    assert_addr_is(&a->api, "rsm-2.rsm.svc:7001");
    assert_addr_is(&a->http, NULL); /* the HTTP port is gone too */
    assert_addr_is(&agent(f, 1)->api, "10.0.0.1:7000");
    assert_string_equal(f->fsm.cluster_id, CID);
}

/* An agent of another group (a copied data dir, a wrong --peers) cannot
 * join this one's log, nor move it to its cluster. */
static void test_advertise_of_another_cluster_is_rejected(void **state)
{
    struct fx *f = *state;

    ok(f, advertise(f, 1, "10.0.0.1:7000", NULL, CID));
    refused(f, advertise(f, 2, "10.0.0.2:7000", NULL, OTHER),
            "agent 2 claims cluster " OTHER ": this group is " CID);
    /* Nor under the id of a recorded agent. */
    refused(f, advertise(f, 1, "10.9.9.9:7000", NULL, OTHER),
            "agent 1 claims cluster " OTHER ": this group is " CID);
    assert_null(rsm_fsm_agent(&f->fsm, 2));
    assert_addr_is(&agent(f, 1)->api, "10.0.0.1:7000");
    assert_string_equal(f->fsm.cluster_id, CID);
}

static void test_agents_are_kept_sorted_by_id(void **state)
{
    struct fx *f = *state;
    static const uint64_t ids[] = {50, 3, 900, 1, 7, UINT64_MAX, 4};
    char api[32];

    for (size_t i = 0; i < 7; i++) {
        snprintf(api, sizeof api, "10.0.0.%u:7000", (unsigned)i + 1);
        ok(f, advertise(f, ids[i], api, NULL, CID));
    }
    assert_int_equal(f->fsm.n_agents, 7);
    for (unsigned i = 1; i < f->fsm.n_agents; i++)
        assert_true(f->fsm.agents[i - 1].id < f->fsm.agents[i].id);
    for (size_t i = 0; i < 7; i++) {
        snprintf(api, sizeof api, "10.0.0.%u:7000", (unsigned)i + 1);
        assert_addr_is(&agent(f, ids[i])->api, api);
    }
    assert_null(rsm_fsm_agent(&f->fsm, 0));
    assert_null(rsm_fsm_agent(&f->fsm, 2));
    assert_null(rsm_fsm_agent(&f->fsm, 51));
    assert_null(rsm_fsm_agent(&f->fsm, UINT64_MAX - 1));
}

static void test_agent_beyond_the_maximum_is_rejected(void **state)
{
    struct fx *f = *state;
    char api[32], why[64];

    /* Even ids 2..32: room for a new one in the middle and at both ends. */
    for (unsigned i = 1; i <= RSM_FSM_MAX_AGENTS; i++) {
        snprintf(api, sizeof api, "10.0.0.%u:7000", i);
        ok(f, advertise(f, 2 * i, api, NULL, CID));
    }
    assert_int_equal(f->fsm.n_agents, RSM_FSM_MAX_AGENTS);
    snprintf(why, sizeof why, "%d agents recorded already", RSM_FSM_MAX_AGENTS);
    refused(f, advertise(f, 1, "10.0.1.1:7000", NULL, CID), why);
    refused(f, advertise(f, 15, "10.0.1.1:7000", NULL, CID), why);
    refused(
        f, advertise(f, 2 * RSM_FSM_MAX_AGENTS + 1, "10.0.1.1:7000", NULL, CID),
        why);
    /* A recorded agent may still move. */
    ok(f, advertise(f, 16, "10.0.2.2:7000", "10.0.2.2:8080", CID));
    assert_addr_is(&agent(f, 16)->api, "10.0.2.2:7000");
    assert_int_equal(f->fsm.n_agents, RSM_FSM_MAX_AGENTS);
    assert_addr_is(&agent(f, 2 * RSM_FSM_MAX_AGENTS)->api, "10.0.0.16:7000");
}

static void test_malformed_advertise_is_rejected(void **state)
{
    struct fx *f = *state;
    static const char *const bad_ids[] = {
        "0123456789abcdef0123456789abcde",  /* 31 digits */
        "0123456789ABCDEF0123456789ABCDEF", /* uppercase */
        "0123456789abcdef0123456789abcdeg", /* not hex */
        "0123456789abcdef 123456789abcdef", /* a space */
        "",                                 /* none */
    };
    const char *const bad_cid =
        "malformed entry: cluster_id: not 32 lowercase hex digits";
    struct rsm_entry *e;

    ok(f, advertise(f, 1, "10.0.0.1:7000", NULL, CID));
    refused(f, advertise(f, 0, "10.0.0.1:7000", NULL, CID),
            "malformed entry: agent id: 0");
    refused(f, advertise(f, 2, NULL, "10.0.0.2:8080", CID),
            "malformed entry: api: empty address");
    e = advertise(f, 2, "10.0.0.2:7000", "10.0.0.2:8080", CID);
    e->http.port = 0;
    refused(f, e, "malformed entry: http: port 0 out of range 1-65535");
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++)
        refused(f, advertise(f, 2, "10.0.0.2:7000", NULL, bad_ids[i]), bad_cid);
    /* 33 digits fill the buffer without a NUL. */
    e = advertise(f, 2, "10.0.0.2:7000", NULL, CID);
    memset(e->cluster_id, 'a', sizeof e->cluster_id);
    refused(f, e, bad_cid);
    assert_int_equal(f->fsm.n_agents, 1);
    assert_int_equal(f->fsm.rejected, 9);
}

/* Before any agent advertised, a malformed one does not fix the cluster. */
static void test_malformed_first_advertise_adopts_nothing(void **state)
{
    struct fx *f = *state;

    refused(f, advertise(f, 1, "10.0.0.1:7000", NULL, "ABC"),
            "malformed entry: cluster_id: not 32 lowercase hex digits");
    assert_string_equal(f->fsm.cluster_id, "");
    assert_int_equal(f->fsm.n_agents, 0);
}

static void test_advertise_through_bytes(void **state)
{
    struct fx *f = *state;
    struct rsm_entry out;
    void *buf;
    size_t len;

    assert_int_equal(
        rsm_codec_encode_entry(
            advertise(f, 3, "10.0.0.3:7000", "10.0.0.3:8080", CID), &buf, &len),
        0);
    assert_int_equal(rsm_fsm_apply_bytes(&f->fsm, buf, len, &out, f->reason,
                                         sizeof f->reason),
                     0);
    free(buf);
    assert_int_equal(out.kind, RSM_ENTRY_ADVERTISE_AGENT);
    assert_string_equal(f->fsm.cluster_id, CID);
    assert_addr_is(&agent(f, 3)->http, "10.0.0.3:8080");
}

/* rich_state and three agents, one without an HTTP port. */
static void rich_state_with_agents(struct fx *f)
{
    rich_state(f);
    ok(f, advertise(f, 3, "10.0.0.3:7000", "10.0.0.3:8080", CID));
    ok(f, advertise(f, 1, "10.0.0.1:7000", "10.0.0.1:8080", CID));
    ok(f, advertise(f, 2, "[::2]:7000", NULL, CID));
    refused(f, advertise(f, 4, "10.0.0.4:7000", NULL, OTHER),
            "agent 4 claims cluster " OTHER ": this group is " CID);
}

static void test_equal_sees_cluster_id_and_agents(void **state)
{
    struct fx *f = *state;
    struct rsm_fsm copy;
    struct rsm_agent_info *a;

    rich_state_with_agents(f);
    clone(&f->fsm, &copy);
    copy.cluster_id[31] = '0';
    assert_false(rsm_fsm_equal(&f->fsm, &copy));
    copy.cluster_id[31] = 'f';
    assert_true(rsm_fsm_equal(&f->fsm, &copy));
    a = &copy.agents[2];
    a->http.port++;
    assert_false(rsm_fsm_equal(&f->fsm, &copy));
    a->http.port--;
    a->http.host[0] = 'X';
    assert_false(rsm_fsm_equal(&f->fsm, &copy));
    a->http.host[0] = '1';
    assert_true(rsm_fsm_equal(&f->fsm, &copy));
    a->api.port = 7001;
    assert_false(rsm_fsm_equal(&f->fsm, &copy));
    a->api.port = 7000;
    a->id = 5;
    assert_false(rsm_fsm_equal(&f->fsm, &copy));
    a->id = 3;
    copy.n_agents--;
    assert_false(rsm_fsm_equal(&f->fsm, &copy));
    copy.n_agents++;
    assert_true(rsm_fsm_equal(&f->fsm, &copy));
    rsm_fsm_close(&copy);
}

static void test_snapshot_round_trip_keeps_cluster_and_agents(void **state)
{
    struct fx *f = *state;
    struct rsm_fsm copy;
    void *buf;
    size_t len;
    char err[RSM_ERRMSG_SIZE] = "";

    rich_state_with_agents(f);
    assert_int_equal(rsm_fsm_snapshot(&f->fsm, &buf, &len), 0);
    rsm_fsm_init(&copy);
    if (rsm_fsm_restore(&copy, buf, len, err, sizeof err) != 0)
        fail_msg("restore: %s", err);
    free(buf);
    assert_true(rsm_fsm_equal(&f->fsm, &copy));
    assert_string_equal(copy.cluster_id, CID);
    assert_int_equal(copy.n_agents, 3);
    assert_int_equal(copy.agents[0].id, 1);
    assert_int_equal(copy.agents[1].id, 2);
    assert_string_equal(copy.agents[1].api.host, "::2");
    assert_int_equal(copy.agents[1].http.port, 0);
    assert_string_equal(copy.agents[1].http.host, "");
    assert_string_equal(copy.agents[2].http.host, "10.0.0.3");
    assert_int_equal(copy.agents[2].http.port, 8080);
    /* The copy goes on like the original: its cluster id is fixed. */
    {
        struct rsm_entry *e = advertise(f, 9, "10.0.0.9:7000", NULL, OTHER);

        assert_int_equal(rsm_fsm_apply(&copy, e, NULL, 0), RSM_EREJECTED);
        rsm_fsm_apply(&f->fsm, e, NULL, 0);
        assert_true(rsm_fsm_equal(&f->fsm, &copy));
    }
    rsm_fsm_close(&copy);
}

/* A snapshot of an agent older than AdvertiseAgent has neither field: it
 * restores with no cluster id and no agents, whatever was there before. */
static void test_snapshot_without_agents_restores_none(void **state)
{
    struct fx *f = *state;
    Rsm__Snapshot s = RSM__SNAPSHOT__INIT;
    Rsm__Group g = RSM__GROUP__INIT, *gv[1] = {&g};
    Rsm__Addr m = RSM__ADDR__INIT;
    char err[RSM_ERRMSG_SIZE] = "";
    uint8_t *buf;
    size_t len;

    rich_state_with_agents(f);
    m.host = "10.0.0.1";
    m.port = 6379;
    g.name = "g";
    g.master = &m;
    s.format = 1;
    s.n_groups = 1;
    s.groups = gv;
    s.applied_entries = 7;
    len = rsm__snapshot__get_packed_size(&s);
    buf = malloc(len);
    rsm__snapshot__pack(&s, buf);
    if (rsm_fsm_restore(&f->fsm, buf, len, err, sizeof err) != 0)
        fail_msg("restore: %s", err);
    free(buf);
    assert_string_equal(f->fsm.cluster_id, "");
    assert_int_equal(f->fsm.n_agents, 0);
    assert_null(rsm_fsm_agent(&f->fsm, 1));
    assert_master(group(f, "g"), "10.0.0.1:6379");
    assert_int_equal(f->fsm.applied, 7);
    /* The next AdvertiseAgent fixes the cluster id, any one. */
    ok(f, advertise(f, 1, "10.0.0.1:7000", NULL, OTHER));
    assert_string_equal(f->fsm.cluster_id, OTHER);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_observe_creates_group_and_sets_master),
        T(test_observe_same_master_refreshes_members_and_run_id),
        T(test_observe_other_master_is_rejected),
        T(test_observe_without_master_records_members_only),
        T(test_groups_are_kept_sorted),
        T(test_decide_applies_next_epoch),
        T(test_decide_epoch_must_be_next),
        T(test_decide_while_in_flight_is_rejected),
        T(test_decide_unknown_group_is_rejected),
        T(test_decide_masters_are_checked),
        T(test_paused_refuses_automatic_but_not_manual),
        T(test_set_paused_unknown_group_is_rejected),
        T(test_progress_caught_up_only_for_pause_switchover),
        T(test_progress_moves_forward_only),
        T(test_progress_needs_the_in_flight_epoch),
        T(test_complete_commits_new_master_and_history),
        T(test_complete_needs_the_in_flight_epoch),
        T(test_abort_keeps_master_and_consumes_epoch),
        T(test_abort_code_unknown_still_applies),
        T(test_history_is_bounded_oldest_dropped),
        T(test_malformed_entries_are_rejected),
        T(test_apply_bytes_decodes_and_applies),
        T(test_apply_bytes_garbage_is_rejected_not_fatal),
        T(test_set_group_config),
        T(test_monitor_group_adds_a_group),
        T(test_monitor_group_malformed),
        T(test_remove_group_drops_it),
        T(test_remove_of_flag_group_is_remembered),
        T(test_snapshot_keeps_added_and_removed_groups),
        T(test_monitor_and_remove_through_bytes),
        T(test_snapshot_restore_round_trip_is_equal),
        T(test_snapshot_of_empty_state),
        T(test_equal_detects_differences),
        T(test_restore_of_garbage_keeps_old_state),
        T(test_restore_refuses_inconsistent_snapshots),
        T(test_same_entries_give_equal_states),
        T(test_two_leaders_propose_same_epoch_only_first_applies),
        T(test_kill_leader_between_promote_and_repoint_resumes),
        T(test_stale_leader_decision_after_completed_failover),
        T(test_returning_old_master_does_not_become_master),
        T(test_complete_after_abort_is_rejected),
        T(test_bootstrap_without_any_master),
        T(test_advertise_adopts_cluster_id_when_none),
        T(test_advertise_again_replaces_the_addresses),
        T(test_advertise_of_another_cluster_is_rejected),
        T(test_agents_are_kept_sorted_by_id),
        T(test_agent_beyond_the_maximum_is_rejected),
        T(test_malformed_advertise_is_rejected),
        T(test_malformed_first_advertise_adopts_nothing),
        T(test_advertise_through_bytes),
        T(test_equal_sees_cluster_id_and_agents),
        T(test_snapshot_round_trip_keeps_cluster_and_agents),
        T(test_snapshot_without_agents_restores_none),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
