/* test_sentinel.c - unit tests for io/sentinel: the master given to
 * clients, run ids, views and flags, the events of applied entries (pure
 * functions on a real rsm_fsm), then the reply shapes, written by a RESP
 * server on 127.0.0.1 and read back with hiredis's reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rsm/err.h"
#include "rsm/fsm.h"
#include "sentinel.h"

/* ===================================================================
 * A group's committed state, built through the real FSM
 * =================================================================== */

static struct rsm_addr A(const char *text) {
    struct rsm_addr a;

    assert_int_equal(rsm_addr_parse(text, &a, NULL, 0), 0);
    return a;
}

struct fx {
    struct rsm_fsm fsm;
    struct rsm_entry e; /* the last entry applied */
    struct rsm_sentinel_knobs knobs;
};

static void apply(struct fx *f)
{
    char reason[RSM_ERRMSG_SIZE];

    if (rsm_fsm_apply(&f->fsm, &f->e, reason, sizeof reason) != 0)
        fail_msg("%s refused: %s", rsm_entry_kind_str(f->e.kind), reason);
}

static const struct rsm_group *G(struct fx *f)
{
    return rsm_fsm_group(&f->fsm, "g");
}

/* Master 10.0.0.1:6379, replicas .2 and .3. */
static void observe(struct fx *f)
{
    rsm_entry_init(&f->e, RSM_ENTRY_OBSERVE_MASTER, "g", 1000);
    f->e.master = A("10.0.0.1:6379");
    snprintf(f->e.run_id, sizeof f->e.run_id, "run-a");
    f->e.n_members = 3;
    f->e.members[0] = A("10.0.0.1:6379");
    f->e.members[1] = A("10.0.0.2:6379");
    f->e.members[2] = A("10.0.0.3:6379");
    apply(f);
}

/* Epoch 1: .1 -> .3 */
static void decide(struct fx *f)
{
    rsm_entry_init(&f->e, RSM_ENTRY_DECIDE_FAILOVER, "g", 2000);
    f->e.epoch = 1;
    f->e.old_master = A("10.0.0.1:6379");
    f->e.master = A("10.0.0.3:6379");
    f->e.n_ranked = 1;
    f->e.ranking[0].addr = A("10.0.0.3:6379");
    f->e.ranking[0].rank = 1;
    snprintf(f->e.reason, sizeof f->e.reason, "master down");
    apply(f);
}

static void progress(struct fx *f, enum rsm_failover_step step)
{
    rsm_entry_init(&f->e, RSM_ENTRY_FAILOVER_PROGRESS, "g", 3000);
    f->e.epoch = 1;
    f->e.step = step;
    apply(f);
}

static void complete(struct fx *f)
{
    rsm_entry_init(&f->e, RSM_ENTRY_COMPLETE_FAILOVER, "g", 4000);
    f->e.epoch = 1;
    f->e.result = RSM_RESULT_COMPLETED;
    apply(f);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);

    assert_non_null(f);
    rsm_fsm_init(&f->fsm);
    f->knobs.down_after_ms = 1000;
    f->knobs.failover_timeout_ms = 10000;
    f->knobs.parallel_syncs = 1;
    f->knobs.quorum = 2;
    observe(f);
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

/* ===================================================================
 * The leader's view relayed (rsm_sentinel_view_export / _relay)
 * =================================================================== */

/* The leader's view of g: master .1 down (s_down, o_down 2/2), replica .2
 * linked and read, .3 not watched. */
static void leader_view(struct fx *f, struct rsm_sentinel_view *v)
{
    struct rsm_info info;

    rsm_sentinel_view_init(v, G(f), 3, &f->knobs);
    v->inst[0].watched = v->inst[0].s_down = v->inst[0].disconnected = true;
    v->inst[0].down_ms = v->inst[0].no_reply_ms = 1500;
    v->o_down = true;
    v->o_down_ms = 400;
    v->o_down_votes = v->o_down_quorum = 2;
    rsm_info_init(&info);
    info.role = RSM_ROLE_REPLICA;
    info.master = A("10.0.0.1:6379");
    info.link_up = false;
    info.link_down_since_s = 2;
    info.slave_repl_offset = 99;
    info.unannounced = true;
    snprintf(info.run_id, sizeof info.run_id, "run-b");
    v->inst[1].watched = true;
    v->inst[1].no_reply_ms = 10;
    v->inst[1].has_info = true;
    rsm_info_summarize(&info, &v->inst[1].info);
    v->inst[1].info_age_ms = 50;
    v->inst[1].role_age_ms = 7000;
}

static void test_export_takes_watched_instances(void **state)
{
    struct fx *f = *state;
    static struct rsm_sentinel_view v;
    static struct rsm_leaderview_group lv;

    leader_view(f, &v);
    rsm_sentinel_view_export(&v, &lv);
    assert_string_equal(lv.name, "g");
    assert_true(rsm_addr_equal(&lv.master, &v.master));
    assert_true(lv.o_down);
    assert_int_equal(lv.o_down_ms, 400);
    assert_int_equal(lv.votes, 2);
    assert_int_equal(lv.quorum, 2);
    assert_int_equal(lv.n, 2); /* .3 is not watched */
    assert_true(lv.inst[0].s_down);
    assert_false(lv.inst[0].has_info);
    assert_true(lv.inst[1].has_info);
    assert_int_equal(lv.inst[1].info.offset, 99);
    assert_true(lv.inst[1].info.unannounced);
}

static void test_relay_lays_the_leaders_view_over_a_followers(void **state)
{
    struct fx *f = *state;
    static struct rsm_sentinel_view lead, mine;
    static struct rsm_leaderview_group lv;
    char flags[128];

    leader_view(f, &lead);
    rsm_sentinel_view_export(&lead, &lv);
    /* a follower watches the master only, and sees it up */
    rsm_sentinel_view_init(&mine, G(f), 3, &f->knobs);
    mine.inst[0].watched = true;
    mine.inst[0].no_reply_ms = 5;
    rsm_sentinel_view_relay(&mine, &lv, 300);
    assert_true(mine.relayed);
    assert_string_equal(rsm_sentinel_flags(&mine, 0, flags, sizeof flags),
                        "master,s_down,o_down,disconnected");
    assert_string_equal(rsm_sentinel_status(&mine), "odown");
    /* times that keep running while down are aged, the others not */
    assert_int_equal(mine.inst[0].down_ms, 1800);
    assert_int_equal(mine.o_down_ms, 700);
    assert_int_equal(mine.inst[1].no_reply_ms, 10);
    assert_int_equal(mine.inst[1].info_age_ms, 350);
    assert_int_equal(mine.inst[1].role_age_ms, 7300);
    assert_true(mine.inst[1].watched && mine.inst[1].has_info);
    assert_int_equal(mine.inst[1].info.link_down_since_s, 2);
    assert_string_equal(mine.inst[1].info.run_id, "run-b");
    assert_false(mine.inst[2].watched); /* the leader did not watch it */
    assert_int_equal(mine.o_down_votes, 2);
}

static void test_relay_of_another_master_keeps_odown_out(void **state)
{
    struct fx *f = *state;
    static struct rsm_sentinel_view lead, mine;
    static struct rsm_leaderview_group lv;
    char flags[128];

    leader_view(f, &lead);
    rsm_sentinel_view_export(&lead, &lv);
    lv.master = A("10.0.0.3:6379"); /* the leader is ahead: another master */
    lv.inst[0].addr = A("10.0.0.9:6379"); /* and an instance unknown here */
    rsm_sentinel_view_init(&mine, G(f), 3, &f->knobs);
    rsm_sentinel_view_relay(&mine, &lv, -5); /* a clock step: age 0 */
    assert_false(mine.o_down);
    assert_string_equal(rsm_sentinel_flags(&mine, 0, flags, sizeof flags),
                        "master");
    assert_int_equal(mine.inst[1].info_age_ms, 50);
    assert_int_equal(mine.n, 3); /* nothing added */
}

/* ===================================================================
 * The master given to clients, run ids
 * =================================================================== */

static void assert_master(struct fx *f, const char *want)
{
    struct rsm_addr m;
    char buf[RSM_ADDR_STRLEN];

    assert_true(rsm_sentinel_master_addr(G(f), &m));
    assert_string_equal(rsm_addr_format(&m, buf, sizeof buf), want);
}

static void test_master_moves_at_promotion(void **state)
{
    struct fx *f = *state;
    struct rsm_group none;
    struct rsm_addr m = A("1.2.3.4:5");

    assert_master(f, "10.0.0.1:6379");
    decide(f);
    assert_master(f, "10.0.0.1:6379"); /* not promoted yet */
    progress(f, RSM_STEP_PROMOTED);
    assert_master(f, "10.0.0.3:6379"); /* the promoted replica, at once */
    progress(f, RSM_STEP_REPLICAS_POINTED);
    assert_master(f, "10.0.0.3:6379");
    complete(f);
    assert_master(f, "10.0.0.3:6379");
    memset(&none, 0, sizeof none);
    assert_false(rsm_sentinel_master_addr(&none, &m));
    assert_string_equal(m.host, "1.2.3.4"); /* untouched */
}

static void test_run_ids(void **state)
{
    char a[RSM_SENTINEL_RUNID_LEN + 1], b[RSM_SENTINEL_RUNID_LEN + 1];

    rsm_sentinel_run_id(1, a);
    assert_int_equal(strlen(a), 40);
    assert_int_equal(strspn(a, "0123456789abcdef"), 40);
    rsm_sentinel_run_id(1, b);
    assert_string_equal(a, b); /* stable */
    for (uint64_t id = 2; id < 200; id++) {
        rsm_sentinel_run_id(id, b);
        assert_string_not_equal(a, b);
        /* not even a shared run of 16 digits with agent 1's */
        for (int k = 0; k + 16 <= 40; k += 8) {
            char chunk[17];
            memcpy(chunk, a + k, 16);
            chunk[16] = '\0';
            assert_null(strstr(b, chunk));
        }
    }
    rsm_sentinel_run_id(UINT64_MAX, b);
    assert_int_equal(strlen(b), 40);
}

/* ===================================================================
 * Views, flags
 * =================================================================== */

static void test_view_instances_and_flags(void **state)
{
    struct fx *f = *state;
    struct rsm_sentinel_view v;
    struct rsm_sentinel_instance *in;
    char buf[128];

    rsm_sentinel_view_init(&v, G(f), 3, &f->knobs);
    assert_true(v.has_master);
    assert_int_equal(v.n, 3);
    assert_string_equal(v.inst[0].addr.host, "10.0.0.1");
    assert_int_equal(rsm_sentinel_n_replicas(&v), 2);
    assert_string_equal(rsm_sentinel_flags(&v, 0, buf, sizeof buf), "master");
    assert_string_equal(rsm_sentinel_flags(&v, 1, buf, sizeof buf), "slave");
    assert_string_equal(rsm_sentinel_status(&v), "ok");
    in = rsm_sentinel_view_find(&v, &(struct rsm_addr){"10.0.0.2", 6379});
    assert_ptr_equal(in, &v.inst[1]);
    assert_null(rsm_sentinel_view_find(&v, &(struct rsm_addr){"9.9.9.9", 1}));

    /* s_down and disconnected count only for a watched instance */
    v.inst[0].s_down = true;
    v.inst[0].disconnected = true;
    assert_string_equal(rsm_sentinel_flags(&v, 0, buf, sizeof buf), "master");
    v.inst[0].watched = true;
    assert_string_equal(rsm_sentinel_flags(&v, 0, buf, sizeof buf),
                        "master,s_down,disconnected");
    assert_string_equal(rsm_sentinel_status(&v), "sdown");
    v.o_down = true;
    assert_string_equal(rsm_sentinel_flags(&v, 0, buf, sizeof buf),
                        "master,s_down,o_down,disconnected");
    assert_string_equal(rsm_sentinel_status(&v), "odown");
    v.inst[2].watched = v.inst[2].s_down = true;
    v.o_down = true; /* o_down is the master's only */
    assert_string_equal(rsm_sentinel_flags(&v, 2, buf, sizeof buf),
                        "slave,s_down");

    /* during a failover: the chosen one is "promoted" until its promotion
     * is committed; then it is the master */
    decide(f);
    rsm_sentinel_view_init(&v, G(f), 3, &f->knobs);
    assert_string_equal(v.inst[0].addr.host, "10.0.0.1");
    assert_string_equal(rsm_sentinel_flags(&v, 0, buf, sizeof buf),
                        "master,failover_in_progress");
    in = rsm_sentinel_view_find(&v, &(struct rsm_addr){"10.0.0.3", 6379});
    assert_string_equal(
        rsm_sentinel_flags(&v, (size_t)(in - v.inst), buf, sizeof buf),
        "slave,promoted");
    progress(f, RSM_STEP_PROMOTED);
    rsm_sentinel_view_init(&v, G(f), 3, &f->knobs);
    assert_string_equal(v.inst[0].addr.host, "10.0.0.3");
    assert_string_equal(rsm_sentinel_flags(&v, 0, buf, sizeof buf),
                        "master,failover_in_progress");
    in = rsm_sentinel_view_find(&v, &(struct rsm_addr){"10.0.0.1", 6379});
    assert_string_equal(
        rsm_sentinel_flags(&v, (size_t)(in - v.inst), buf, sizeof buf),
        "slave");
    assert_int_equal(v.n, 3);
    complete(f);
    rsm_sentinel_view_init(&v, G(f), 3, &f->knobs);
    assert_string_equal(rsm_sentinel_flags(&v, 0, buf, sizeof buf), "master");
}

static void test_view_without_master(void **state)
{
    struct fx *f = *state;
    struct rsm_sentinel_view v;

    rsm_entry_init(&f->e, RSM_ENTRY_OBSERVE_MASTER, "boot", 1000);
    f->e.n_members = 2;
    f->e.members[0] = A("10.0.1.1:6379");
    f->e.members[1] = A("10.0.1.2:6379");
    apply(f);
    rsm_sentinel_view_init(&v, rsm_fsm_group(&f->fsm, "boot"), 3, &f->knobs);
    assert_false(v.has_master);
    assert_int_equal(v.n, 2);
    assert_int_equal(rsm_sentinel_n_replicas(&v), 2);
    assert_string_equal(rsm_sentinel_status(&v), "ok");
}

/* ===================================================================
 * Events
 * =================================================================== */

struct evs {
    struct rsm_sentinel_event ev[RSM_SENTINEL_MAX_EVENTS];
    size_t n;
};

static void events_of(struct fx *f, struct evs *out)
{
    out->n = rsm_sentinel_entry_events(&f->e, G(f), out->ev,
                                       RSM_SENTINEL_MAX_EVENTS);
}

static void assert_event(const struct evs *e, size_t i, const char *name,
                         const char *payload)
{
    assert_true(i < e->n);
    assert_string_equal(e->ev[i].name, name);
    assert_string_equal(e->ev[i].payload, payload);
}

static void test_events_of_a_failover(void **state)
{
    struct fx *f = *state;
    struct evs e;

    events_of(f, &e); /* ObserveMaster: nothing */
    assert_int_equal(e.n, 0);
    decide(f);
    events_of(f, &e);
    assert_int_equal(e.n, 5);
    assert_event(&e, 0, "+new-epoch", "1");
    assert_event(&e, 1, "+try-failover", "master g 10.0.0.1 6379");
    assert_event(&e, 2, "+failover-state-select-slave",
                 "master g 10.0.0.1 6379");
    assert_event(&e, 3, "+selected-slave",
                 "slave 10.0.0.3:6379 10.0.0.3 6379 @ g 10.0.0.1 6379");
    assert_event(&e, 4, "+failover-state-send-slaveof-noone",
                 "slave 10.0.0.3:6379 10.0.0.3 6379 @ g 10.0.0.1 6379");
    progress(f, RSM_STEP_PROMOTED);
    events_of(f, &e);
    assert_int_equal(e.n, 2);
    assert_event(&e, 0, "+promoted-slave",
                 "slave 10.0.0.3:6379 10.0.0.3 6379 @ g 10.0.0.1 6379");
    assert_event(&e, 1, "+failover-state-reconf-slaves",
                 "master g 10.0.0.1 6379");
    progress(f, RSM_STEP_REPLICAS_POINTED);
    events_of(f, &e);
    assert_int_equal(e.n, 1);
    assert_event(&e, 0, "+failover-state-demote-old-master",
                 "master g 10.0.0.1 6379");
    complete(f);
    events_of(f, &e);
    assert_int_equal(e.n, 3);
    assert_event(&e, 0, "+failover-end", "master g 10.0.0.1 6379");
    assert_event(&e, 1, "+slave",
                 "slave 10.0.0.1:6379 10.0.0.1 6379 @ g 10.0.0.3 6379");
    assert_event(&e, 2, "+slave",
                 "slave 10.0.0.2:6379 10.0.0.2 6379 @ g 10.0.0.3 6379");
}

static void expect_abort(struct fx *f, const char *reason,
                         enum rsm_abort_code code, const char *name)
{
    struct evs e;

    decide(f);
    rsm_entry_init(&f->e, RSM_ENTRY_ABORT_FAILOVER, "g", 3000);
    f->e.epoch = G(f)->epoch;
    snprintf(f->e.reason, sizeof f->e.reason, "%s", reason);
    f->e.abort_code = code;
    apply(f);
    events_of(f, &e);
    assert_int_equal(e.n, 1);
    assert_event(&e, 0, name, "master g 10.0.0.1 6379");
}

/* The event is named from the abort code the planner sets (planner.c
 * abort_failover), never from the reason text. */
static void test_events_of_aborts(void **state)
{
    struct fx *f = *state;

    /* the planner's reasons (planner.c abort_failover) */
    expect_abort(f, "promotion of 10.0.0.3:6379 not seen within 10000 ms",
                 RSM_ABORT_TIMEOUT, "-failover-abort-timeout");
    /* decide() uses epoch 1: the next ones need their own epochs */
    f->fsm.groups[0].epoch = 0;
    expect_abort(f, "10.0.0.3:6379 unreachable before promotion",
                 RSM_ABORT_UNREACHABLE, "-failover-abort-slave-unreachable");
    f->fsm.groups[0].epoch = 0;
    expect_abort(f, "10.0.0.3:6379 restarted empty before promotion",
                 RSM_ABORT_RESTARTED, "-failover-abort-slave-restarted");
    f->fsm.groups[0].epoch = 0;
    expect_abort(f,
                 "10.0.0.3:6379 offset went back from 500 to 10 before "
                 "promotion: its data was replaced by a sync",
                 RSM_ABORT_REPLACED_BY_SYNC, "-failover-abort-slave-resynced");
    f->fsm.groups[0].epoch = 0;
    /* switchovers, pause method */
    expect_abort(f,
                 "switchover: 10.0.0.3:6379 not caught up within 4000 ms, "
                 "10.0.0.1:6379 keeps serving",
                 RSM_ABORT_TIMEOUT, "-failover-abort-timeout");
    f->fsm.groups[0].epoch = 0;
    expect_abort(f,
                 "switchover: target not promoted by the deadline, rolled "
                 "back, 10.0.0.1:6379 keeps serving",
                 RSM_ABORT_TIMEOUT, "-failover-abort-timeout");
    f->fsm.groups[0].epoch = 0;
    expect_abort(f, "something else", RSM_ABORT_OTHER, "-failover-abort");
}

/* The text does not name the event: a code with a reason that reads like
 * another cause, and an abort with no code (written by an agent older than
 * the code) whose reason the text inference once named. */
static void test_events_of_aborts_code_not_text(void **state)
{
    struct fx *f = *state;

    expect_abort(f, "10.0.0.3:6379 unreachable before promotion",
                 RSM_ABORT_TIMEOUT, "-failover-abort-timeout");
    f->fsm.groups[0].epoch = 0;
    expect_abort(f, "promotion of 10.0.0.3:6379 not seen within 10000 ms",
                 RSM_ABORT_UNSPECIFIED, "-failover-abort");
    f->fsm.groups[0].epoch = 0;
    expect_abort(f, "10.0.0.3:6379 restarted empty before promotion",
                 RSM_ABORT_UNSPECIFIED, "-failover-abort");
    f->fsm.groups[0].epoch = 0;
    expect_abort(f, "", RSM_ABORT_RESTARTED, "-failover-abort-slave-restarted");
}

static void test_events_of_pause_and_bootstrap(void **state)
{
    struct fx *f = *state;
    struct evs e;

    rsm_entry_init(&f->e, RSM_ENTRY_SET_PAUSED, "g", 2000);
    f->e.paused = true;
    apply(f);
    events_of(f, &e);
    assert_int_equal(e.n, 1);
    assert_event(&e, 0, "+rsm-paused", "master g 10.0.0.1 6379");
    f->e.paused = false;
    apply(f);
    events_of(f, &e);
    assert_event(&e, 0, "-rsm-paused", "master g 10.0.0.1 6379");

    /* a bootstrap has no old master: "? 0", never an empty field */
    rsm_entry_init(&f->e, RSM_ENTRY_DECIDE_FAILOVER, "g", 2000);
    f->e.epoch = 1;
    f->e.master = A("10.0.0.3:6379");
    f->e.failover_kind = RSM_FAILOVER_BOOTSTRAP;
    e.n = rsm_sentinel_entry_events(&f->e, NULL, e.ev, 2);
    assert_int_equal(e.n, 2); /* at most max */
    assert_event(&e, 1, "+try-failover", "master g ? 0");
}

/* SENTINEL SET: one +set per setting changed, Sentinel's payload;
 * SENTINEL MONITOR: +monitor with the quorum; REMOVE: none here (the
 * events module has the master, events.h). */
static void test_events_of_set_monitor_remove(void **state)
{
    struct fx *f = *state;
    struct evs e;

    rsm_entry_init(&f->e, RSM_ENTRY_SET_GROUP_CONFIG, "g", 2000);
    f->e.settings.down_after_ms = 5000;
    f->e.settings.parallel_syncs = 2;
    apply(f);
    events_of(f, &e);
    assert_int_equal(e.n, 2);
    assert_event(&e, 0, "+set",
                 "master g 10.0.0.1 6379 down-after-milliseconds 5000");
    assert_event(&e, 1, "+set", "master g 10.0.0.1 6379 parallel-syncs 2");

    rsm_entry_init(&f->e, RSM_ENTRY_MONITOR_GROUP, "new", 2100);
    f->e.master = A("10.0.0.9:6390");
    f->e.settings.quorum = 2;
    apply(f);
    e.n = rsm_sentinel_entry_events(&f->e, rsm_fsm_group(&f->fsm, "new"), e.ev,
                                    RSM_SENTINEL_MAX_EVENTS);
    assert_int_equal(e.n, 1);
    assert_event(&e, 0, "+monitor", "master new 10.0.0.9 6390 quorum 2");

    rsm_entry_init(&f->e, RSM_ENTRY_REMOVE_GROUP, "new", 2200);
    apply(f);
    e.n = rsm_sentinel_entry_events(&f->e, NULL, e.ev, RSM_SENTINEL_MAX_EVENTS);
    assert_int_equal(e.n, 0);
}

static void test_payloads(void **state)
{
    char buf[RSM_SENTINEL_PAYLOAD_MAX];
    struct rsm_addr a = A("[::1]:7000"), b = A("10.0.0.2:6380"), none;

    memset(&none, 0, sizeof none);
    rsm_sentinel_payload_switch(buf, sizeof buf, "g", &b, &a);
    assert_string_equal(buf, "g 10.0.0.2 6380 ::1 7000");
    rsm_sentinel_payload_switch(buf, sizeof buf, "g", &none, &a);
    assert_string_equal(buf, "g ? 0 ::1 7000");
    rsm_sentinel_payload_slave(buf, sizeof buf, "g", &a, &b);
    assert_string_equal(buf, "slave [::1]:7000 ::1 7000 @ g 10.0.0.2 6380");
    rsm_sentinel_payload_slave(buf, sizeof buf, "g", &b, NULL);
    assert_string_equal(buf, "slave 10.0.0.2:6380 10.0.0.2 6380 @ g ? 0");
    rsm_sentinel_payload_master(buf, sizeof buf, "g", &b);
    assert_string_equal(buf, "master g 10.0.0.2 6380");
}

/* ===================================================================
 * Replies, through a RESP server
 * =================================================================== */

struct srv {
    uv_loop_t loop;
    struct rsm_resp_server *s;
    const struct rsm_sentinel_view *view;
    const struct rsm_node_status *st;
    int fd;
    redisReader *reader;
};

static enum rsm_resp_status handler(void *arg, struct rsm_resp_client *c,
                                    struct rsm_resp_reply *r,
                                    const struct rsm_resp_request *req)
{
    struct srv *s = arg;

    (void)c;
    if (strcmp(req->argv[0], "MASTER") == 0)
        rsm_sentinel_reply_master(r, s->view);
    else if (strcmp(req->argv[0], "REPLICAS") == 0)
        rsm_sentinel_reply_replicas(r, s->view);
    else
        rsm_sentinel_reply_sentinels(r, s->st, 1000);
    return RSM_RESP_DONE;
}

static void srv_start(struct srv *s)
{
    struct rsm_addr a = {.host = "127.0.0.1", .port = 0};
    struct rsm_resp_handlers h = {handler, NULL, NULL, s};
    struct sockaddr_in sa = {.sin_family = AF_INET};
    char err[RSM_ERRMSG_SIZE];

    assert_int_equal(uv_loop_init(&s->loop), 0);
    assert_int_equal(
        rsm_resp_server_start(&s->loop, &a, NULL, &h, &s->s, err, sizeof err),
        0);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_port = htons(rsm_resp_server_port(s->s));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(s->fd, (struct sockaddr *)&sa, sizeof sa), 0);
    s->reader = redisReaderCreate();
}

static void srv_stop(struct srv *s)
{
    close(s->fd);
    redisReaderFree(s->reader);
    rsm_resp_server_stop(s->s, NULL, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&s->loop), 0);
}

static redisReply *ask(struct srv *s, const char *cmd)
{
    char line[64];
    void *rep = NULL;

    snprintf(line, sizeof line, "%s\r\n", cmd);
    assert_int_equal(send(s->fd, line, strlen(line), 0), (ssize_t)strlen(line));
    for (int i = 0; i < 3000; i++) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        char buf[65536];
        assert_int_equal(redisReaderGetReply(s->reader, &rep), REDIS_OK);
        if (rep != NULL)
            return rep;
        uv_run(&s->loop, UV_RUN_NOWAIT);
        if (poll(&p, 1, 1) == 1) {
            ssize_t n = recv(s->fd, buf, sizeof buf, 0);
            assert_true(n > 0);
            redisReaderFeed(s->reader, buf, (size_t)n);
        }
    }
    fail_msg("no reply to %s", cmd);
    return NULL;
}

/* A flat array of pairs, every value a bulk string: the value of key. */
static const char *field(const redisReply *r, const char *key)
{
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements % 2, 0);
    for (size_t i = 0; i < r->elements; i += 2) {
        assert_int_equal(r->element[i]->type, REDIS_REPLY_STRING);
        assert_int_equal(r->element[i + 1]->type, REDIS_REPLY_STRING);
        if (strcmp(r->element[i]->str, key) == 0)
            return r->element[i + 1]->str;
    }
    return NULL;
}

static void test_reply_shapes(void **state)
{
    struct fx *f = *state;
    struct srv s = {0};
    struct rsm_sentinel_view v;
    struct rsm_node_status st;
    struct rsm_info info;
    redisReply *r;
    /* Sentinel's fields in its order (captured from redis-sentinel) */
    static const char *const master_keys[] = {"name",
                                              "ip",
                                              "port",
                                              "runid",
                                              "flags",
                                              "link-pending-commands",
                                              "link-refcount",
                                              "last-ping-sent",
                                              "last-ok-ping-reply",
                                              "last-ping-reply",
                                              "down-after-milliseconds",
                                              "info-refresh",
                                              "role-reported",
                                              "role-reported-time",
                                              "config-epoch",
                                              "num-slaves",
                                              "num-other-sentinels",
                                              "quorum",
                                              "failover-timeout",
                                              "parallel-syncs"};

    rsm_sentinel_view_init(&v, G(f), 3, &f->knobs);
    rsm_info_init(&info);
    info.role = RSM_ROLE_REPLICA;
    info.master = A("10.0.0.1:6379");
    info.link_up = true;
    info.priority = 50;
    info.slave_repl_offset = 1234;
    snprintf(info.run_id, sizeof info.run_id, "run-b");
    v.inst[1].watched = true;
    v.inst[1].has_info = true;
    rsm_info_summarize(&info, &v.inst[1].info);
    v.inst[1].no_reply_ms = 12;
    v.inst[1].info_age_ms = 30;
    v.inst[1].role_age_ms = 5000;
    memset(&st, 0, sizeof st);
    st.id = 1;
    st.term = 4;
    st.n_members = 3;
    st.has_leader = true;
    for (unsigned i = 0; i < 3; i++) {
        st.members[i].id = i + 1;
        st.members[i].api = A(i == 0   ? "10.1.0.1:26379"
                              : i == 1 ? "10.1.0.2:26379"
                                       : "10.1.0.3:26379");
        st.members[i].voter = true;
    }
    st.leader = st.members[1];
    s.view = &v;
    s.st = &st;
    srv_start(&s);

    r = ask(&s, "MASTER");
    assert_int_equal(r->elements, 2 * 20);
    for (size_t i = 0; i < 20; i++)
        assert_string_equal(r->element[2 * i]->str, master_keys[i]);
    assert_string_equal(field(r, "name"), "g");
    assert_string_equal(field(r, "ip"), "10.0.0.1");
    assert_string_equal(field(r, "port"), "6379");
    assert_string_equal(field(r, "runid"), "run-a");
    assert_string_equal(field(r, "flags"), "master");
    assert_string_equal(field(r, "num-slaves"), "2");
    assert_string_equal(field(r, "num-other-sentinels"), "2");
    assert_string_equal(field(r, "quorum"), "2");
    assert_string_equal(field(r, "failover-timeout"), "10000");
    freeReplyObject(r);

    /* down and in a failover: the optional fields appear */
    v.inst[0].watched = v.inst[0].s_down = true;
    v.inst[0].down_ms = 1500;
    v.o_down = true;
    v.o_down_ms = 1400;
    decide(f);
    r = ask(&s, "MASTER");
    assert_int_equal(r->elements, 2 * 23);
    assert_string_equal(field(r, "s-down-time"), "1500");
    assert_string_equal(field(r, "o-down-time"), "1400");
    assert_string_equal(field(r, "failover-state"), "send_slaveof_noone");
    assert_string_equal(field(r, "config-epoch"), "1");
    freeReplyObject(r);

    r = ask(&s, "REPLICAS");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    assert_string_equal(field(r->element[0], "name"), "10.0.0.2:6379");
    assert_string_equal(field(r->element[0], "runid"), "run-b");
    assert_string_equal(field(r->element[0], "flags"), "slave");
    assert_string_equal(field(r->element[0], "master-link-status"), "ok");
    assert_string_equal(field(r->element[0], "master-host"), "10.0.0.1");
    assert_string_equal(field(r->element[0], "slave-priority"), "50");
    assert_string_equal(field(r->element[0], "slave-repl-offset"), "1234");
    assert_string_equal(field(r->element[0], "last-ok-ping-reply"), "12");
    assert_string_equal(field(r->element[0], "role-reported-time"), "5000");
    /* not watched here: what the committed state says, the rest unknown */
    assert_string_equal(field(r->element[1], "name"), "10.0.0.3:6379");
    assert_string_equal(field(r->element[1], "flags"), "slave,promoted");
    assert_string_equal(field(r->element[1], "master-link-status"), "unknown");
    assert_string_equal(field(r->element[1], "slave-priority"), "-1");
    freeReplyObject(r);

    /* replica-announced no: left out of REPLICAS, still counted */
    v.inst[1].info.unannounced = true;
    r = ask(&s, "REPLICAS");
    assert_int_equal(r->elements, 1);
    assert_string_equal(field(r->element[0], "name"), "10.0.0.3:6379");
    freeReplyObject(r);
    r = ask(&s, "MASTER");
    assert_string_equal(field(r, "num-slaves"), "2");
    freeReplyObject(r);
    v.inst[1].info.unannounced = false;

    r = ask(&s, "SENTINELS");
    assert_int_equal(r->elements, 2);
    {
        char id2[41], id3[41];
        rsm_sentinel_run_id(2, id2);
        rsm_sentinel_run_id(3, id3);
        assert_string_equal(field(r->element[0], "name"), id2);
        assert_string_equal(field(r->element[0], "runid"), id2);
        assert_string_equal(field(r->element[0], "ip"), "10.1.0.2");
        assert_string_equal(field(r->element[0], "port"), "26379");
        assert_string_equal(field(r->element[0], "flags"), "sentinel");
        assert_string_equal(field(r->element[0], "voted-leader"), id2);
        assert_string_equal(field(r->element[0], "voted-leader-epoch"), "4");
        assert_string_equal(field(r->element[1], "name"), id3);
    }
    freeReplyObject(r);
    st.has_leader = false;
    r = ask(&s, "SENTINELS");
    assert_string_equal(field(r->element[1], "voted-leader"), "?");
    freeReplyObject(r);
    srv_stop(&s);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_master_moves_at_promotion),
        cmocka_unit_test(test_run_ids),
        T(test_view_instances_and_flags),
        T(test_view_without_master),
        T(test_events_of_a_failover),
        T(test_events_of_aborts),
        T(test_events_of_aborts_code_not_text),
        T(test_events_of_pause_and_bootstrap),
        T(test_events_of_set_monitor_remove),
        cmocka_unit_test(test_payloads),
        T(test_reply_shapes),
        T(test_export_takes_watched_instances),
        T(test_relay_lays_the_leaders_view_over_a_followers),
        T(test_relay_of_another_master_keeps_odown_out),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
