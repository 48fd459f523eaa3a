/* test_events.c - unit tests for io/events: when an agent starts to
 * publish the events of the entries it applies.
 *
 * A real rsm_fsm and a real libuv loop; the node is faked (its status is
 * what the test says). Publications are logged (event "publish"), so the
 * test reads them back from stderr, redirected to a file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rsm/err.h"
#include "events.h"
#include "rsm/fsm.h"
#include "rsm/log.h"
#include "rsm/pubsub.h"

/* The fake node: a real FSM, and a Raft status the test controls. */
struct fake {
    struct rsm_fsm fsm;
    uint64_t commit; /* the commit index it reports */
    bool behind;     /* applied = commit - 1 at every look, and the
                        commit index moves on: entries keep coming */
    unsigned looks;  /* get_status calls */
};

static struct fake fk;

static const struct rsm_fsm *fake_fsm(const struct rsm_node *n)
{
    (void)n;
    return &fk.fsm;
}

static void fake_status(const struct rsm_node *n, struct rsm_node_status *out)
{
    (void)n;
    memset(out, 0, sizeof *out);
    out->id = 2;
    out->state = "follower";
    out->has_leader = true;
    out->leader.id = 1;
    fk.looks++;
    if (fk.behind)
        fk.commit++;
    out->commit_index = fk.commit;
    out->applied_index = fk.behind ? fk.commit - 1 : fk.commit;
}

static void apply(struct rsm_entry *e)
{
    char reason[RSM_ERRMSG_SIZE];

    if (rsm_fsm_apply(&fk.fsm, e, reason, sizeof reason) != 0)
        fail_msg("%s refused: %s", rsm_entry_kind_str(e->kind), reason);
}

static struct rsm_addr A(const char *text) {
    struct rsm_addr a;

    assert_int_equal(rsm_addr_parse(text, &a, NULL, 0), 0);
    return a;
}

static void
run_for(uv_loop_t *loop, uint64_t ms)
{
    uint64_t end = uv_now(loop) + ms;

    while (uv_now(loop) < end) {
        uv_run(loop, UV_RUN_ONCE);
        uv_update_time(loop);
    }
}

/* stderr into a temporary file while a test runs. */
struct capture {
    FILE *f;
    int saved;
};

static void capture_start(struct capture *c)
{
    fflush(stderr);
    c->f = tmpfile();
    assert_non_null(c->f);
    c->saved = dup(2);
    assert_true(c->saved >= 0);
    assert_true(dup2(fileno(c->f), 2) >= 0);
}

/* Stop capturing; returns what was written (malloc'd). */
static char *capture_end(struct capture *c)
{
    long n;
    char *text;

    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    n = ftell(c->f);
    text = calloc(1, (size_t)n + 1);
    assert_non_null(text);
    rewind(c->f);
    assert_int_equal(fread(text, 1, (size_t)n, c->f), (size_t)n);
    fclose(c->f);
    return text;
}

/* Group g with master .1, then (while the agent runs) a failover to .2,
 * with the node's status as `behind` says; returns the log. */
static char *failover_seen_by_events(bool behind)
{
    uv_loop_t loop;
    struct rsm_pubsub *ps;
    struct rsm_events *ev;
    struct rsm_events_node node = {NULL, fake_fsm, fake_status};
    struct rsm_entry e;
    struct capture cap;

    memset(&fk, 0, sizeof fk);
    rsm_fsm_init(&fk.fsm);
    fk.commit = 10;
    fk.behind = behind;
    rsm_entry_init(&e, RSM_ENTRY_OBSERVE_MASTER, "g", 1000);
    e.master = A("10.0.0.1:6379");
    e.n_members = 2;
    e.members[0] = A("10.0.0.1:6379");
    e.members[1] = A("10.0.0.2:6379");
    apply(&e);

    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(rsm_pubsub_create(&ps), 0);
    capture_start(&cap);
    assert_int_equal(rsm_events_start(&loop, &node, ps, &ev), 0);
    run_for(&loop, 250); /* a few polls: the master .1 is known */

    rsm_entry_init(&e, RSM_ENTRY_DECIDE_FAILOVER, "g", 2000);
    e.epoch = 1;
    e.old_master = A("10.0.0.1:6379");
    e.master = A("10.0.0.2:6379");
    e.failover_kind = RSM_FAILOVER_MANUAL;
    apply(&e);
    rsm_events_node_event(ev, RSM_NODE_APPLIED, &e, 0);
    rsm_entry_init(&e, RSM_ENTRY_COMPLETE_FAILOVER, "g", 3000);
    e.epoch = 1;
    apply(&e);
    rsm_events_node_event(ev, RSM_NODE_APPLIED, &e, 0);
    run_for(&loop, 250);

    rsm_events_stop(ev, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    rsm_pubsub_free(ps);
    rsm_fsm_close(&fk.fsm);
    return capture_end(&cap);
}

static void test_up_to_date_follower_publishes_the_switch(void **state)
{
    char *log = failover_seen_by_events(false);

    (void)state;
    assert_non_null(strstr(log, "channel=+switch-master"));
    free(log);
}

/* The bug: "caught up" was "applied >= commit" at a look, and a follower
 * whose every look fell while entries were still coming never caught up:
 * it published nothing, ever (a subscriber on it waited in vain for
 * +switch-master). */
static void test_follower_never_idle_still_publishes_the_switch(void **state)
{
    char *log = failover_seen_by_events(true);

    (void)state;
    assert_true(fk.looks > 2);
    assert_non_null(strstr(log, "channel=+switch-master"));
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_up_to_date_follower_publishes_the_switch),
        cmocka_unit_test(test_follower_never_idle_still_publishes_the_switch),
    };

    rsm_log_setup(RSM_LOG_INFO, RSM_LOG_LOGFMT);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
