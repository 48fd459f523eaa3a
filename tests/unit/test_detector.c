/* test_detector.c - unit tests for core/detector: per-instance health from
 * probe results and time, and the verdict on a group's master. */
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

#define M          "10.0.0.1:6379"
#define R1         "10.0.0.2:6379"
#define R2         "10.0.0.3:6379"
#define DOWN_AFTER 1000

/* ---- fixture: a master and two replicas, as seen by the leader ----------- */

struct fx {
    struct rsm_detector_config cfg;
    struct rsm_health h[3]; /* master, r1, r2 */
    struct rsm_agent_view views[4];
    size_t n_views;
    int64_t now;
    const char *committed_run_id; /* of the master, NULL none */
    struct rsm_master_verdict v;
};

static struct rsm_addr addr(const char *text)
{
    struct rsm_addr a;

    memset(&a, 0, sizeof a);
    assert_int_equal(rsm_addr_parse(text, &a, NULL, 0), 0);
    return a;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    struct rsm_addr a;

    if (f == NULL)
        return -1;
    rsm_detector_config_init(&f->cfg);
    f->cfg.down_after_ms = DOWN_AFTER;
    f->cfg.quorum = 2;
    f->now = 10000;
    a = addr(M);
    rsm_detector_init(&f->h[0], &a, f->now);
    a = addr(R1);
    rsm_detector_init(&f->h[1], &a, f->now);
    a = addr(R2);
    rsm_detector_init(&f->h[2], &a, f->now);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static void master_info(struct rsm_info *i, const char *run_id, int64_t off)
{
    rsm_info_init(i);
    i->role = RSM_ROLE_MASTER;
    i->master_repl_offset = off;
    snprintf(i->run_id, sizeof i->run_id, "%s", run_id);
}

static void replica_info(struct rsm_info *i, const char *master, bool link_up,
                         int64_t last_io_s, int64_t off)
{
    rsm_info_init(i);
    i->role = RSM_ROLE_REPLICA;
    i->master = addr(master);
    i->link_up = link_up;
    i->master_last_io_s = link_up ? last_io_s : -1;
    i->link_down_since_s = link_up ? -1 : last_io_s;
    i->slave_repl_offset = off;
    i->master_repl_offset = off;
    snprintf(i->run_id, sizeof i->run_id, "rrrr");
}

static void feed_info(struct rsm_health *h, const struct rsm_info *info,
                      int64_t t)
{
    struct rsm_probe_result r;

    memset(&r, 0, sizeof r);
    r.outcome = RSM_PROBE_OK;
    r.has_info = true;
    r.info = *info;
    r.time_ms = t;
    assert_int_equal(rsm_detector_feed(h, &r), 0);
}

static void feed_fail(struct rsm_health *h, enum rsm_probe_outcome o,
                      enum rsm_alive_error alive, int64_t t)
{
    struct rsm_probe_result r;

    memset(&r, 0, sizeof r);
    r.outcome = o;
    r.alive = alive;
    r.time_ms = t;
    assert_int_equal(rsm_detector_feed(h, &r), 0);
}

/* The healthy picture at f->now: master answering, replicas linked with
 * contact 0 s ago. */
static void healthy(struct fx *f)
{
    struct rsm_info i;

    master_info(&i, "aaaa", 5000);
    feed_info(&f->h[0], &i, f->now);
    replica_info(&i, M, true, 0, 5000);
    feed_info(&f->h[1], &i, f->now);
    feed_info(&f->h[2], &i, f->now);
}

/* The master is killed at f->now: from then on it refuses, and the replicas
 * report their link down; probes every 100 ms until `until`. */
static void killed_until(struct fx *f, int64_t until)
{
    struct rsm_info i;
    int64_t t0 = f->now;

    for (int64_t t = t0 + 100; t <= until; t += 100) {
        feed_fail(&f->h[0], RSM_PROBE_REFUSED, RSM_ALIVE_NONE, t);
        replica_info(&i, M, false, (t - t0) / 1000, 5000);
        feed_info(&f->h[1], &i, t);
        feed_info(&f->h[2], &i, t);
    }
    f->now = until;
}

static void add_view(struct fx *f, uint64_t id, const char *master,
                     enum rsm_health_state st, int64_t no_reply, int64_t age)
{
    struct rsm_agent_view *v = &f->views[f->n_views++];

    memset(v, 0, sizeof *v);
    v->agent_id = id;
    v->master = addr(master);
    v->state = st;
    v->no_reply_ms = no_reply;
    v->age_ms = age;
}

/* The state of a copy of h that sent a probe at sent_ms, still awaiting
 * its result at at_ms (h itself is left as it was). */
static enum rsm_health_state state_owing(const struct fx *f,
                                         const struct rsm_health *h,
                                         int64_t sent_ms, int64_t at_ms)
{
    struct rsm_health c = *h;

    rsm_detector_probe_pending(&c, sent_ms);
    return rsm_detector_state(&c, &f->cfg, at_ms);
}

static int run_verdict(struct fx *f)
{
    struct rsm_addr m = addr(M);
    struct rsm_verdict_input in = {
        .master = &m,
        .members = f->h,
        .n_members = 3,
        .views = f->views,
        .n_views = f->n_views,
        .n_agents = 3,
        .cfg = &f->cfg,
        .now_ms = f->now,
        .committed_run_id = f->committed_run_id,
    };
    int rc = rsm_detector_master_verdict(&in, &f->v);

    assert_true(strlen(f->v.reason) > 0);
    return rc;
}

/* ---- per-instance health ------------------------------------------------- */

static void test_fresh_instance_unknown_then_down_without_reply(void **state)
{
    struct fx *f = *state;

    assert_int_equal(rsm_detector_state(&f->h[0], &f->cfg, f->now),
                     RSM_HEALTH_UNKNOWN);
    assert_int_equal(rsm_detector_state(&f->h[0], &f->cfg, f->now + 999),
                     RSM_HEALTH_UNKNOWN);
    assert_int_equal(rsm_detector_state(&f->h[0], &f->cfg, f->now + 1000),
                     RSM_HEALTH_DOWN);
    assert_int_equal(rsm_detector_no_reply_ms(&f->h[0], f->now + 1500), 1500);
}

static void test_up_suspect_down_on_timeouts(void **state)
{
    struct fx *f = *state;
    struct rsm_health *h = &f->h[0];

    healthy(f);
    assert_int_equal(rsm_detector_state(h, &f->cfg, f->now), RSM_HEALTH_UP);
    feed_fail(h, RSM_PROBE_TIMEOUT, RSM_ALIVE_NONE, f->now + 300);
    assert_int_equal(rsm_detector_state(h, &f->cfg, f->now + 300),
                     RSM_HEALTH_SUSPECT);
    assert_int_equal(h->failures, 1);
    feed_fail(h, RSM_PROBE_TIMEOUT, RSM_ALIVE_NONE, f->now + 999);
    assert_int_equal(rsm_detector_state(h, &f->cfg, f->now + 999),
                     RSM_HEALTH_SUSPECT);
    /* down exactly down_after after the last valid reply */
    assert_int_equal(rsm_detector_state(h, &f->cfg, f->now + 1000),
                     RSM_HEALTH_DOWN);
    /* one valid reply and it is up again */
    f->now += 1200;
    healthy(f);
    assert_int_equal(rsm_detector_state(h, &f->cfg, f->now), RSM_HEALTH_UP);
    assert_int_equal(h->failures, 0);
}

static void test_loading_reply_is_alive(void **state)
{
    struct fx *f = *state;
    struct rsm_health *h = &f->h[0];

    healthy(f);
    /* LOADING for far longer than down_after: never down */
    for (int64_t t = f->now + 100; t <= f->now + 5000; t += 100)
        feed_fail(h, RSM_PROBE_ERROR_REPLY, RSM_ALIVE_LOADING, t);
    f->now += 5000;
    assert_int_equal(rsm_detector_state(h, &f->cfg, f->now),
                     RSM_HEALTH_LOADING);
    assert_int_equal(rsm_detector_no_reply_ms(h, f->now), 0);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_OK);
    /* BUSY and MASTERDOWN too: alive, up */
    feed_fail(h, RSM_PROBE_ERROR_REPLY, RSM_ALIVE_BUSY, f->now + 100);
    assert_int_equal(state_owing(f, h, f->now + 1500, f->now + 2000),
                     RSM_HEALTH_DOWN);
    assert_int_equal(rsm_detector_state(h, &f->cfg, f->now + 100),
                     RSM_HEALTH_UP);
    feed_fail(h, RSM_PROBE_ERROR_REPLY, RSM_ALIVE_MASTERDOWN, f->now + 200);
    assert_int_equal(rsm_detector_state(h, &f->cfg, f->now + 200),
                     RSM_HEALTH_UP);
    /* INFO saying loading:1 is loading as well */
    {
        struct rsm_info i;

        master_info(&i, "aaaa", 5000);
        i.loading = true;
        feed_info(h, &i, f->now + 300);
        assert_int_equal(rsm_detector_state(h, &f->cfg, f->now + 300),
                         RSM_HEALTH_LOADING);
    }
}

/* Liveness counts only while a reply is owed: an instance probed seldom
 * is not down because nobody asked; one that owes a reply is suspect once
 * it is late_ms late, and down at its last reply + down_after. */
static void test_silence_counts_only_while_a_reply_is_owed(void **state)
{
    struct fx *f = *state;
    struct rsm_health *h = &f->h[0];
    int64_t t0 = f->now;

    f->cfg.late_ms = 100;
    healthy(f);
    assert_int_equal(rsm_detector_state(h, &f->cfg, t0 + 5 * DOWN_AFTER),
                     RSM_HEALTH_UP);
    rsm_detector_probe_pending(h, t0 + 500);
    rsm_detector_probe_pending(h, t0 + 550); /* the oldest is kept */
    assert_int_equal(h->pending_since_ms, t0 + 500);
    assert_false(rsm_detector_late(h, &f->cfg, t0 + 599));
    assert_int_equal(rsm_detector_state(h, &f->cfg, t0 + 599), RSM_HEALTH_UP);
    assert_true(rsm_detector_late(h, &f->cfg, t0 + 600));
    assert_int_equal(rsm_detector_state(h, &f->cfg, t0 + 600),
                     RSM_HEALTH_SUSPECT);
    assert_int_equal(rsm_detector_state(h, &f->cfg, t0 + DOWN_AFTER - 1),
                     RSM_HEALTH_SUSPECT);
    /* down at the last reply + down_after, not at the probe + down_after */
    assert_int_equal(rsm_detector_state(h, &f->cfg, t0 + DOWN_AFTER),
                     RSM_HEALTH_DOWN);
    /* the reply ends the wait */
    f->now = t0 + DOWN_AFTER + 10;
    healthy(f);
    assert_int_equal(h->pending_since_ms, -1);
    assert_int_equal(rsm_detector_state(h, &f->cfg, f->now + 3 * DOWN_AFTER),
                     RSM_HEALTH_UP);
    /* a canceled probe owes nothing */
    rsm_detector_probe_pending(h, f->now + 100);
    rsm_detector_probe_pending(h, -1);
    assert_int_equal(rsm_detector_state(h, &f->cfg, f->now + 3 * DOWN_AFTER),
                     RSM_HEALTH_UP);
    /* late_ms 0: owed at once */
    f->cfg.late_ms = 0;
    rsm_detector_probe_pending(h, f->now + 100);
    assert_int_equal(rsm_detector_state(h, &f->cfg, f->now + 100),
                     RSM_HEALTH_SUSPECT);
}

/* The leader probes its master every down_after/2: in between the master
 * is OK however long ago its reply was; a probe that is late makes it
 * unreachable at once, and the silence reaching down_after (with a
 * quorum) makes it DOWN, counted from the last reply. */
static void test_late_probe_suspects_master_then_down(void **state)
{
    struct fx *f = *state;
    struct rsm_health *h = &f->h[0];
    int64_t t0 = f->now;

    f->cfg.late_ms = 100;
    f->cfg.quorum = 2;
    healthy(f);
    f->now = t0 + 499;
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_OK);
    rsm_detector_probe_pending(h, t0 + 500);
    f->now = t0 + 599;
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_OK);
    f->now = t0 + 600;
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_UNREACHABLE_FROM_AGENT);
    assert_non_null(strstr(f->v.reason, "probe unanswered for 100 ms"));
    /* the replicas' INFO, read at t0, is too old to say they hear it */
    f->now = t0 + DOWN_AFTER;
    add_view(f, 2, M, RSM_HEALTH_SUSPECT, DOWN_AFTER - 50, 50);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_DOWN);
    assert_int_equal(f->v.down_ms, DOWN_AFTER);
}

/* A follower that PINGs once per down_after reports UP between its
 * PINGs, with a silence near down_after: it neither votes the master
 * down nor, once its silence reaches down_after, vouches for it. */
static void test_slow_follower_view_neither_votes_nor_vouches(void **state)
{
    struct fx *f = *state;
    struct rsm_health h;
    struct rsm_agent_view v;
    struct rsm_info i;
    struct rsm_addr a = addr(M);

    rsm_detector_init(&h, &a, f->now);
    master_info(&i, "aaaa", 5000);
    feed_info(&h, &i, f->now);
    rsm_detector_view(&h, &f->cfg, f->now + DOWN_AFTER + 5, 2, &v);
    assert_int_equal(v.state, RSM_HEALTH_UP);
    assert_int_equal(v.no_reply_ms, DOWN_AFTER + 5);
    /* the leader's master is down; the view counts for nothing */
    f->cfg.quorum = 2;
    killed_until(f, f->now + DOWN_AFTER);
    v.age_ms = 0;
    f->views[f->n_views++] = v;
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_UNREACHABLE_FROM_AGENT);
    assert_non_null(strstr(f->v.reason, "no quorum"));
}

static void test_other_error_reply_is_a_failure(void **state)
{
    struct fx *f = *state;
    struct rsm_health *h = &f->h[0];

    healthy(f);
    for (int64_t t = f->now + 100; t <= f->now + 1000; t += 100)
        feed_fail(h, RSM_PROBE_ERROR_REPLY, RSM_ALIVE_NONE, t); /* NOAUTH */
    assert_int_equal(rsm_detector_state(h, &f->cfg, f->now + 1000),
                     RSM_HEALTH_DOWN);
    feed_fail(h, RSM_PROBE_BAD_REPLY, RSM_ALIVE_NONE, f->now + 1100);
    assert_int_equal(h->failures, 11);
}

static void test_alive_error_text(void **state)
{
    assert_int_equal(
        rsm_detector_alive_error("LOADING Redis is loading the dataset"),
        RSM_ALIVE_LOADING);
    assert_int_equal(rsm_detector_alive_error("BUSY Redis is busy running"),
                     RSM_ALIVE_BUSY);
    assert_int_equal(rsm_detector_alive_error("MASTERDOWN Link with MASTER"),
                     RSM_ALIVE_MASTERDOWN);
    assert_int_equal(rsm_detector_alive_error("LOADING"), RSM_ALIVE_LOADING);
    assert_int_equal(rsm_detector_alive_error("BUSYKEY Target key name"),
                     RSM_ALIVE_NONE);
    assert_int_equal(rsm_detector_alive_error("NOAUTH Authentication"),
                     RSM_ALIVE_NONE);
    assert_int_equal(rsm_detector_alive_error("loading"), RSM_ALIVE_NONE);
    assert_int_equal(rsm_detector_alive_error(""), RSM_ALIVE_NONE);
    assert_int_equal(rsm_detector_alive_error(NULL), RSM_ALIVE_NONE);
}

static void test_out_of_order_and_bad_results_ignored(void **state)
{
    struct fx *f = *state;
    struct rsm_health *h = &f->h[0];
    struct rsm_probe_result r;

    healthy(f);
    memset(&r, 0, sizeof r);
    r.outcome = RSM_PROBE_TIMEOUT;
    r.time_ms = f->now - 1;
    assert_int_equal(rsm_detector_feed(h, &r), RSM_EINVAL);
    assert_int_equal(h->failures, 0);
    r.time_ms = f->now + 1;
    r.outcome = (enum rsm_probe_outcome)99;
    assert_int_equal(rsm_detector_feed(h, &r), RSM_EINVAL);
    r.outcome = RSM_PROBE_ERROR_REPLY;
    r.alive = (enum rsm_alive_error) - 1;
    assert_int_equal(rsm_detector_feed(h, &r), RSM_EINVAL);
    assert_int_equal(rsm_detector_state(h, &f->cfg, f->now + 1), RSM_HEALTH_UP);
    /* a PING-only reply is valid but carries no INFO */
    memset(&r, 0, sizeof r);
    r.outcome = RSM_PROBE_OK;
    r.time_ms = f->now + 2;
    assert_int_equal(rsm_detector_feed(h, &r), 0);
    assert_int_equal(h->last_valid_ms, f->now + 2);
    assert_int_equal(h->info_ms, f->now);
}

static void test_restart_with_data_is_not_empty(void **state)
{
    struct fx *f = *state;
    struct rsm_health *h = &f->h[0];
    struct rsm_info i;

    healthy(f);
    master_info(&i, "bbbb", 5000); /* new run_id, offset kept (RDB) */
    feed_info(h, &i, f->now + 100);
    assert_true(h->restarted);
    assert_false(h->restarted_empty);
    assert_string_equal(h->prev_run_id, "aaaa");
    assert_int_equal(h->prev_offset, 5000);
    assert_int_equal(rsm_detector_state(h, &f->cfg, f->now + 100),
                     RSM_HEALTH_RESTARTED);
    /* reported for down_after, then just up */
    feed_info(h, &i, f->now + 1099);
    assert_int_equal(rsm_detector_state(h, &f->cfg, f->now + 1099),
                     RSM_HEALTH_RESTARTED);
    feed_info(h, &i, f->now + 1100);
    assert_int_equal(rsm_detector_state(h, &f->cfg, f->now + 1100),
                     RSM_HEALTH_UP);
    assert_true(h->restarted); /* the record remembers */
    f->now += 1100;
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_OK);
}

static void test_restarted_empty_master_is_failed(void **state)
{
    struct fx *f = *state;
    struct rsm_health *h = &f->h[0];
    struct rsm_info i;

    healthy(f);
    master_info(&i, "cccc", 0); /* new run_id, offset dropped */
    f->now += 100;
    feed_info(h, &i, f->now);
    assert_true(h->restarted_empty);
    assert_int_equal(state_owing(f, h, f->now + 59000, f->now + 60000),
                     RSM_HEALTH_DOWN);
    assert_int_equal(rsm_detector_state(h, &f->cfg, f->now),
                     RSM_HEALTH_RESTARTED);
    /* failed at once: no down_after, no quorum (none of the 2 needed views),
     * even with replicas still linked to it */
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_FAILED_RESTART);
    assert_int_equal(f->v.last_offset, 5000);
    assert_non_null(strstr(f->v.reason, "restarted empty"));
    /* still failed later: sticky while it is a master */
    feed_info(h, &i, f->now + 5000);
    f->now += 5000;
    assert_int_equal(rsm_detector_state(h, &f->cfg, f->now),
                     RSM_HEALTH_RESTARTED);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_FAILED_RESTART);
}

static void test_restarted_empty_cleared_once_resynced(void **state)
{
    struct fx *f = *state;
    struct rsm_health *h = &f->h[0];
    struct rsm_info i;

    healthy(f);
    master_info(&i, "cccc", 0);
    feed_info(h, &i, f->now + 100);
    assert_true(h->restarted_empty);
    /* demoted: a replica whose link is not up yet keeps the flag */
    replica_info(&i, R1, false, 0, 0);
    snprintf(i.run_id, sizeof i.run_id, "cccc");
    feed_info(h, &i, f->now + 200);
    assert_true(h->restarted_empty);
    replica_info(&i, R1, true, 0, 7000);
    snprintf(i.run_id, sizeof i.run_id, "cccc");
    feed_info(h, &i, f->now + 300);
    assert_false(h->restarted_empty);
    assert_int_equal(state_owing(f, h, f->now + 1900, f->now + 2000),
                     RSM_HEALTH_DOWN);
    assert_int_equal(rsm_detector_state(h, &f->cfg, f->now + 300),
                     RSM_HEALTH_RESTARTED); /* the restart is recent */
}

static void test_role_age_tracks_role_and_master(void **state)
{
    struct fx *f = *state;
    struct rsm_health *h = &f->h[1];
    struct rsm_observation o;
    struct rsm_info i;

    replica_info(&i, M, true, 0, 10);
    feed_info(h, &i, f->now);
    replica_info(&i, M, true, 0, 20);
    feed_info(h, &i, f->now + 500);
    rsm_detector_observe(h, &f->cfg, f->now + 600, &o);
    assert_int_equal(o.role_age_ms, 600);
    assert_int_equal(o.info_age_ms, 100);
    assert_ptr_equal(o.info, &h->info);
    assert_int_equal(o.state, RSM_HEALTH_UP);
    replica_info(&i, R2, true, 0, 20); /* now follows another master */
    feed_info(h, &i, f->now + 700);
    rsm_detector_observe(h, &f->cfg, f->now + 800, &o);
    assert_int_equal(o.role_age_ms, 100);
    master_info(&i, "rrrr", 20); /* promoted */
    feed_info(h, &i, f->now + 900);
    rsm_detector_observe(h, &f->cfg, f->now + 900, &o);
    assert_int_equal(o.role_age_ms, 0);
    feed_info(h, &i, f->now + 1900);
    rsm_detector_observe(h, &f->cfg, f->now + 2000, &o);
    assert_int_equal(o.role_age_ms, 1100);
    /* restarted (new process), same role: its claim counts from now */
    master_info(&i, "ssss", 30);
    feed_info(h, &i, f->now + 2100);
    rsm_detector_observe(h, &f->cfg, f->now + 2200, &o);
    assert_int_equal(o.role_age_ms, 100);
    assert_false(o.restarted_empty);
    assert_int_equal(o.restart_age_ms, 100);
}

static void test_restart_age_none_until_run_id_changes(void **state)
{
    struct fx *f = *state;
    struct rsm_health *h = &f->h[0];
    struct rsm_observation o;
    struct rsm_info i;

    master_info(&i, "aaaa", 100);
    feed_info(h, &i, f->now);
    feed_info(h, &i, f->now + 100);
    rsm_detector_observe(h, &f->cfg, f->now + 150, &o);
    assert_int_equal(o.restart_age_ms, -1);
    master_info(&i, "bbbb", 0); /* back empty */
    feed_info(h, &i, f->now + 200);
    rsm_detector_observe(h, &f->cfg, f->now + 450, &o);
    assert_true(o.restarted_empty);
    assert_int_equal(o.restart_age_ms, 250);
    assert_int_equal(o.info_age_ms, 250);
}

/* ---- restarts while loading (issue #14) ---------------------------------- */

/* A master restarted with its data answers INFO while it loads it (Redis
 * serves INFO during the load) with loading:1 and master_repl_offset:0:
 * the offset comes back from the RDB only at the end of the load. */
static void master_loading(struct rsm_info *i, const char *run_id)
{
    master_info(i, run_id, 0);
    i->loading = true;
}

/* The scenario: "restarted empty: offset 112 -> 0" logged, and a
 * failover at once, while the master was still LOADING its 10,000 keys. */
static void test_restart_while_loading_is_not_an_empty_restart(void **state)
{
    struct fx *f = *state;
    struct rsm_health *h = &f->h[0];
    struct rsm_observation o;
    struct rsm_info i;

    healthy(f);
    f->committed_run_id = "aaaa";
    master_loading(&i, "bbbb");
    /* loading for 5 down_afters: never empty, never failed, never down */
    for (int64_t t = 100; t <= 5 * DOWN_AFTER; t += 100) {
        feed_info(h, &i, f->now + t);
        assert_true(h->restarted);
        assert_true(h->empty_pending);
        assert_false(h->restarted_empty);
        assert_int_equal(rsm_detector_state(h, &f->cfg, f->now + t),
                         RSM_HEALTH_LOADING);
    }
    f->now += 5 * DOWN_AFTER;
    rsm_detector_observe(h, &f->cfg, f->now, &o);
    assert_false(o.restarted_empty);
    assert_true(o.empty_pending);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_UNREACHABLE_FROM_AGENT);
    assert_string_equal(f->v.reason,
                        "restarted (run_id aaaa -> bbbb) and loading its "
                        "data set: judged once loaded");
    /* loaded: the offset is back, nothing was lost */
    master_info(&i, "bbbb", 5000);
    f->now += 100;
    feed_info(h, &i, f->now);
    assert_false(h->empty_pending);
    assert_false(h->restarted_empty);
    f->committed_run_id = "bbbb"; /* what the planner then records */
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_OK);
}

/* Judged after the load: an RDB older than what the replicas had is a
 * restart with less data, failed as before. */
static void test_restart_judged_empty_once_loaded_with_less(void **state)
{
    struct fx *f = *state;
    struct rsm_health *h = &f->h[0];
    struct rsm_info i;

    healthy(f);
    master_loading(&i, "bbbb");
    feed_info(h, &i, f->now + 100);
    feed_info(h, &i, f->now + 200);
    assert_false(h->restarted_empty);
    master_info(&i, "bbbb", 4000); /* loaded an old RDB */
    f->now += 300;
    feed_info(h, &i, f->now);
    assert_true(h->restarted_empty);
    assert_false(h->empty_pending);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_FAILED_RESTART);
    assert_string_equal(f->v.reason,
                        "restarted empty: run_id changed, offset 5000 -> "
                        "4000");
}

/* Restarted again before the first load ended: the offset to compare with
 * is still the one from before the first restart, not the loading 0. */
static void test_restart_twice_while_loading_keeps_offset_before(void **state)
{
    struct fx *f = *state;
    struct rsm_health *h = &f->h[0];
    struct rsm_info i;

    healthy(f);
    master_loading(&i, "bbbb");
    feed_info(h, &i, f->now + 100);
    master_loading(&i, "cccc");
    feed_info(h, &i, f->now + 200);
    assert_int_equal(h->prev_offset, 5000);
    assert_string_equal(h->prev_run_id, "bbbb");
    master_info(&i, "cccc", 10); /* "loaded" almost nothing */
    feed_info(h, &i, f->now + 300);
    assert_true(h->restarted_empty);
}

/* A loading master whose latest probes fail is judged like any silent
 * master: down only after down_after, with the quorum; never "restarted
 * empty" on the strength of a loading reply. */
static void test_restart_while_loading_then_silent_needs_quorum(void **state)
{
    struct fx *f = *state;
    struct rsm_health *h = &f->h[0];
    struct rsm_info i;

    healthy(f);
    master_loading(&i, "bbbb");
    feed_info(h, &i, f->now + 100);
    f->now += 100;
    killed_until(f, f->now + DOWN_AFTER);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_UNREACHABLE_FROM_AGENT);
    assert_non_null(strstr(f->v.reason, "no quorum"));
    add_view(f, 2, M, RSM_HEALTH_DOWN, DOWN_AFTER, 0);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_DOWN);
}

/* A new leader (its record never saw the old process) finds the master
 * loading under a run_id other than the recorded one: the replicas' higher
 * offsets are no evidence yet (it reads 0 until loaded). */
static void test_new_leader_master_loading_waits_for_the_load(void **state)
{
    struct fx *f = *state;
    struct rsm_info i;

    f->committed_run_id = "aaaa";
    master_loading(&i, "bbbb");
    feed_info(&f->h[0], &i, f->now);
    replica_info(&i, M, false, 2, 5000);
    feed_info(&f->h[1], &i, f->now);
    feed_info(&f->h[2], &i, f->now);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_UNREACHABLE_FROM_AGENT);
    assert_non_null(strstr(f->v.reason, "loading its data set"));
    /* loaded with less than the replicas: as before, failed */
    master_info(&i, "bbbb", 100);
    f->now += 100;
    feed_info(&f->h[0], &i, f->now);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_FAILED_RESTART);
    assert_non_null(strstr(f->v.reason, "less data than its replicas"));
}

/* ---- replicas that never synced (issue #14) ------------------------------ */

static bool never_synced_seen(struct fx *f, int k, int64_t t)
{
    struct rsm_observation o;

    rsm_detector_observe(&f->h[k], &f->cfg, t, &o);
    return o.never_synced_seen;
}

/* Re-pointed from one master to another: Redis keeps the old link's
 * master_link_down_since_seconds, so INFO alone says "synced once". The
 * record, which saw it start following R2, knows its link never came up. */
static void test_replica_seen_repointed_never_linked(void **state)
{
    struct fx *f = *state;
    struct rsm_health *h = &f->h[1];
    struct rsm_info i;
    int64_t t = f->now;

    replica_info(&i, M, false, 30, 5000); /* first INFO: nothing known */
    feed_info(h, &i, t);
    assert_false(never_synced_seen(f, 1, t));
    replica_info(&i, R2, false, 30, 5000); /* now follows R2 */
    feed_info(h, &i, t += 100);
    assert_true(never_synced_seen(f, 1, t));
    for (int k = 0; k < 30; k++) { /* 3 s, link down since 30 s, 31 s... */
        replica_info(&i, R2, false, 30 + (k + 1) / 10, 5000);
        feed_info(h, &i, t += 100);
    }
    assert_true(never_synced_seen(f, 1, t));
    /* linked: synced */
    replica_info(&i, R2, true, 0, 5000);
    feed_info(h, &i, t += 100);
    assert_false(never_synced_seen(f, 1, t));
    replica_info(&i, R2, false, 0, 5000); /* R2 died: still synced */
    feed_info(h, &i, t += 100);
    assert_false(never_synced_seen(f, 1, t));
}

/* The link came up and dropped between two probes: its down time, shorter
 * than the time it has followed R2, shows it (once beyond the rounding of
 * whole seconds). */
static void test_replica_link_up_between_probes_counts_as_synced(void **state)
{
    struct fx *f = *state;
    struct rsm_health *h = &f->h[1];
    struct rsm_info i;
    int64_t t = f->now;

    replica_info(&i, M, true, 0, 5000);
    feed_info(h, &i, t);
    replica_info(&i, R2, false, 40, 5000);
    feed_info(h, &i, t += 100);
    assert_true(never_synced_seen(f, 1, t));
    replica_info(&i, R2, false, 1, 5000); /* down for < 2 s, following 2 s */
    feed_info(h, &i, t += 1900);
    assert_true(never_synced_seen(f, 1, t)); /* not provable yet */
    feed_info(h, &i, t += 400);
    assert_false(never_synced_seen(f, 1, t));
}

/* An empty master re-pointed to R2 (REPLICAOF) syncs and loses R2 within
 * one probe interval (integration.redis_boot kills R2 right after the
 * re-point): no probe saw the link up, but its offset moved from the one
 * it had before following R2, and only R2's stream moves it. */
static void test_replica_offset_moved_counts_as_synced(void **state)
{
    struct fx *f = *state;
    struct rsm_health *h = &f->h[1];
    struct rsm_info i;
    int64_t t = f->now;

    master_info(&i, "rrrr", 0); /* an empty master */
    feed_info(h, &i, t);
    replica_info(&i, R2, false, -1, 0); /* re-pointed, never linked */
    feed_info(h, &i, t += 100);
    assert_true(never_synced_seen(f, 1, t));
    replica_info(&i, R2, false, 0, 7400); /* R2's data, link already down */
    feed_info(h, &i, t += 100);
    assert_false(never_synced_seen(f, 1, t));
}

/* A change seen after a gap (failed probes, or a long silence) may have
 * been followed by a sync the record missed: no evidence. */
static void test_replica_role_change_after_gap_is_no_evidence(void **state)
{
    struct fx *f = *state;
    struct rsm_health *h = &f->h[1];
    struct rsm_info i;
    int64_t t = f->now;

    replica_info(&i, M, true, 0, 5000);
    feed_info(h, &i, t);
    feed_fail(h, RSM_PROBE_TIMEOUT, RSM_ALIVE_NONE, t += 100);
    replica_info(&i, R2, false, 40, 5000);
    feed_info(h, &i, t += 100);
    assert_false(never_synced_seen(f, 1, t));
    replica_info(&i, M, false, 40, 5000);
    feed_info(h, &i, t += 5000); /* back to M after 5 s unwatched */
    assert_false(never_synced_seen(f, 1, t));
    /* a master is not a replica that failed to sync */
    master_info(&i, "rrrr", 5000);
    feed_info(h, &i, t += 100);
    assert_false(never_synced_seen(f, 1, t));
}

/* ---- the verdict --------------------------------------------------------- */

static void test_master_killed_quorum_agrees_down(void **state)
{
    struct fx *f = *state;

    healthy(f);
    killed_until(f, f->now + 1000);
    add_view(f, 2, M, RSM_HEALTH_DOWN, 1050, 30);
    add_view(f, 3, M, RSM_HEALTH_SUSPECT, 900, 30);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_DOWN);
    assert_int_equal(f->v.votes, 2);
    assert_int_equal(f->v.n_agents, 3);
    assert_int_equal(f->v.quorum, 2);
    assert_int_equal(f->v.no_reply_ms, 1000);
    assert_int_equal(f->v.down_ms, 1000);
    assert_int_equal(f->v.last_offset, 5000);
}

static void test_master_killed_not_down_before_down_after(void **state)
{
    struct fx *f = *state;

    healthy(f);
    killed_until(f, f->now + 900);
    add_view(f, 2, M, RSM_HEALTH_DOWN, 1050, 30);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_UNREACHABLE_FROM_AGENT);
    assert_string_equal(f->v.reason,
                        "no reply for 900 ms (down after 1000 ms)");
}

static void test_no_quorum_unreachable_with_reason(void **state)
{
    struct fx *f = *state;

    healthy(f);
    killed_until(f, f->now + 2000);
    add_view(f, 2, M, RSM_HEALTH_SUSPECT, 800, 10);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_UNREACHABLE_FROM_AGENT);
    assert_string_equal(f->v.reason,
                        "no quorum: 1 of 3 agents see it down (quorum 2)");
}

static void test_suspect_view_silent_past_down_after_votes_down(void **state)
{
    struct fx *f = *state;

    healthy(f);
    killed_until(f, f->now + 1000);
    /* 950 ms of silence at report + 60 ms on the way: past down_after. */
    add_view(f, 2, M, RSM_HEALTH_SUSPECT, 950, 60);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_DOWN);
    assert_int_equal(f->v.votes, 2);
}

static void test_suspect_view_too_old_to_extrapolate_no_vote(void **state)
{
    struct fx *f = *state;

    healthy(f);
    killed_until(f, f->now + 1000);
    /* silent long enough, but the view is older than down_after / 4 */
    add_view(f, 2, M, RSM_HEALTH_SUSPECT, 800, DOWN_AFTER / 4 + 1);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_UNREACHABLE_FROM_AGENT);
    assert_int_equal(f->v.votes, 1);
}

static void test_stale_and_foreign_views_ignored(void **state)
{
    struct fx *f = *state;

    healthy(f);
    killed_until(f, f->now + 2000);
    add_view(f, 2, M, RSM_HEALTH_DOWN, 5000, DOWN_AFTER + 1); /* stale */
    add_view(f, 3, R1, RSM_HEALTH_DOWN, 5000, 10);            /* other addr */
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_UNREACHABLE_FROM_AGENT);
    assert_int_equal(f->v.votes, 1);
    /* with a longer view_max_age the first one counts */
    f->cfg.view_max_age_ms = 5000;
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_DOWN);
    assert_int_equal(f->v.votes, 2);
}

static void test_master_unreachable_but_replica_hears_it(void **state)
{
    struct fx *f = *state;
    struct rsm_info i;

    /* The leader is cut off from the master; replicas still hear it. */
    healthy(f);
    for (int64_t t = f->now + 100; t <= f->now + 1200; t += 100) {
        feed_fail(&f->h[0], RSM_PROBE_TIMEOUT, RSM_ALIVE_NONE, t);
        replica_info(&i, M, true, 0, 5000 + t);
        feed_info(&f->h[1], &i, t);
    }
    f->now += 1200;
    add_view(f, 2, M, RSM_HEALTH_DOWN, 1200, 10);
    add_view(f, 3, M, RSM_HEALTH_DOWN, 1200, 10);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_UNREACHABLE_FROM_AGENT);
    assert_string_equal(f->v.reason, "no reply for 1200 ms but replica " R1
                                     " heard from it 0 s ago");
}

static void test_sigstop_replica_contact_ages_out(void **state)
{
    struct fx *f = *state;
    struct rsm_info i;
    int64_t t0;

    /* SIGSTOP: the replicas' links stay up, master_last_io_seconds_ago
     * grows. While it is below down_after it vetoes; then it does not. */
    healthy(f);
    t0 = f->now;
    for (int64_t t = t0 + 100; t <= t0 + 1000; t += 100) {
        feed_fail(&f->h[0], RSM_PROBE_TIMEOUT, RSM_ALIVE_NONE, t);
        replica_info(&i, M, true, (t - 50 - t0) / 1000, 5000);
        feed_info(&f->h[1], &i, t - 50); /* INFO 50 ms old */
        feed_info(&f->h[2], &i, t - 50);
    }
    f->now = t0 + 1000;
    add_view(f, 2, M, RSM_HEALTH_DOWN, 1000, 10);
    /* last INFO (at t0+950) says 0 s: contact < down_after -> alive */
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_UNREACHABLE_FROM_AGENT);
    assert_non_null(strstr(f->v.reason, "heard from it 0 s ago"));
    /* next INFO says 1 s: 1000 + 50 ms >= down_after: no longer evidence */
    replica_info(&i, M, true, 1, 5000);
    feed_info(&f->h[1], &i, t0 + 1050);
    feed_info(&f->h[2], &i, t0 + 1050);
    feed_fail(&f->h[0], RSM_PROBE_TIMEOUT, RSM_ALIVE_NONE, t0 + 1100);
    f->now = t0 + 1100;
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_DOWN);
}

static void test_replica_of_another_master_or_stale_is_no_evidence(void **state)
{
    struct fx *f = *state;
    struct rsm_info i;

    healthy(f);
    killed_until(f, f->now + 1500);
    replica_info(&i, R2, true, 0, 5000); /* hears R2, not M */
    feed_info(&f->h[1], &i, f->now);
    replica_info(&i, M, true, 0, 5000); /* hears M, but INFO too old */
    f->h[2].info = i;
    f->h[2].info_ms = f->now - DOWN_AFTER;
    add_view(f, 2, M, RSM_HEALTH_DOWN, 1500, 10);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_DOWN);
}

static void test_agent_view_alive_vetoes(void **state)
{
    struct fx *f = *state;

    healthy(f);
    killed_until(f, f->now + 1500);
    add_view(f, 2, M, RSM_HEALTH_DOWN, 1500, 10);
    add_view(f, 3, M, RSM_HEALTH_UP, 20, 100);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_UNREACHABLE_FROM_AGENT);
    assert_string_equal(f->v.reason,
                        "no reply for 1500 ms but agent 3 had one 120 ms ago");
    /* an UP view whose reply is older than down_after does not veto */
    f->views[1].no_reply_ms = 950;
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_DOWN);
}

static void
test_master_reporting_replica_role_fails_after_down_after(void **state)
{
    struct fx *f = *state;
    struct rsm_info i;

    healthy(f);
    replica_info(&i, R1, true, 0, 5000); /* someone ran REPLICAOF on it */
    snprintf(i.run_id, sizeof i.run_id, "aaaa");
    feed_info(&f->h[0], &i, f->now + 100);
    f->now += 600;
    feed_info(&f->h[0], &i, f->now);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_UNREACHABLE_FROM_AGENT);
    assert_non_null(strstr(f->v.reason, "reports role:replica of " R1));
    f->now += 500;
    feed_info(&f->h[0], &i, f->now);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_DOWN);
    assert_int_equal(f->v.down_ms, 1000);
}

static void test_verdict_not_monitored_not_probed_invalid(void **state)
{
    struct fx *f = *state;
    struct rsm_addr other = addr("10.9.9.9:6379");
    struct rsm_verdict_input in = {
        .master = &other,
        .members = f->h,
        .n_members = 3,
        .cfg = &f->cfg,
        .now_ms = f->now,
    };

    assert_int_equal(rsm_detector_master_verdict(&in, &f->v), 0);
    assert_int_equal(f->v.status, RSM_MASTER_UNREACHABLE_FROM_AGENT);
    assert_non_null(strstr(f->v.reason, "not among the monitored"));
    assert_int_equal(f->v.n_agents, 1);
    /* nothing fed yet */
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_UNREACHABLE_FROM_AGENT);
    assert_string_equal(f->v.reason, "not probed yet");
    /* bad input */
    in.master = NULL;
    assert_int_equal(rsm_detector_master_verdict(&in, &f->v), RSM_EINVAL);
    assert_int_equal(f->v.status, RSM_MASTER_UNREACHABLE_FROM_AGENT);
    assert_int_equal(rsm_detector_master_verdict(NULL, &f->v), RSM_EINVAL);
    in.master = &other;
    in.n_views = 2; /* views NULL */
    assert_int_equal(rsm_detector_master_verdict(&in, &f->v), RSM_EINVAL);
}

static void test_never_probed_master_goes_down_with_quorum(void **state)
{
    struct fx *f = *state;

    /* nothing ever answered for down_after: down like a silent one */
    f->now += DOWN_AFTER;
    add_view(f, 2, M, RSM_HEALTH_DOWN, DOWN_AFTER, 0);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_DOWN);
    assert_int_equal(f->v.last_offset, -1);
}

static void test_view_helper_and_names(void **state)
{
    struct fx *f = *state;
    struct rsm_agent_view v;

    healthy(f);
    feed_fail(&f->h[0], RSM_PROBE_TIMEOUT, RSM_ALIVE_NONE, f->now + 100);
    rsm_detector_view(&f->h[0], &f->cfg, f->now + 200, 7, &v);
    assert_int_equal(v.agent_id, 7);
    assert_string_equal(v.master.host, "10.0.0.1");
    assert_int_equal(v.state, RSM_HEALTH_SUSPECT);
    assert_int_equal(v.no_reply_ms, 200);
    assert_int_equal(v.age_ms, 0);
    assert_string_equal(rsm_health_state_str(RSM_HEALTH_LOADING), "loading");
    assert_string_equal(rsm_health_state_str((enum rsm_health_state)42),
                        "invalid");
    assert_string_equal(rsm_master_status_str(RSM_MASTER_FAILED_RESTART),
                        "failed-restart");
    assert_string_equal(
        rsm_master_status_str(RSM_MASTER_UNREACHABLE_FROM_AGENT),
        "unreachable-from-agent");
}

/* ---- the crash path --------------------------------------------------- */

/* The master's process dies at f->now: every connect is refused from
 * then on (the leader retries every 50 ms), and the replicas' INFO shows
 * their link down (if replicas_down) until `until`. */
static void crashed_until(struct fx *f, int64_t until, bool replicas_down)
{
    struct rsm_info i;
    int64_t t0 = f->now;

    for (int64_t t = t0 + 50; t <= until; t += 50) {
        feed_fail(&f->h[0], RSM_PROBE_CONNECT_REFUSED, RSM_ALIVE_NONE, t);
        if ((t - t0) % 100 != 0)
            continue;
        replica_info(&i, M, !replicas_down, 0, 5000);
        feed_info(&f->h[1], &i, t);
        feed_info(&f->h[2], &i, t);
    }
    f->now = until;
}

static void add_refused_view(struct fx *f, uint64_t id, int64_t refused_ms,
                             int64_t age)
{
    add_view(f, id, M, RSM_HEALTH_SUSPECT, refused_ms + 50, age);
    f->views[f->n_views - 1].refused = true;
    f->views[f->n_views - 1].refused_ms = refused_ms;
}

static void test_crash_all_evidence_down_before_down_after(void **state)
{
    struct fx *f = *state;

    healthy(f);
    crashed_until(f, f->now + 300, true);
    add_refused_view(f, 2, 200, 20);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_DOWN);
    assert_true(f->v.crashed);
    assert_int_equal(f->v.down_ms, 250); /* first refusal at +50 */
    assert_int_equal(f->v.votes, 2);
    assert_non_null(strstr(f->v.reason, "crashed"));
    assert_true(f->v.no_reply_ms < DOWN_AFTER);
}

static void test_crash_not_before_confirm_time(void **state)
{
    struct fx *f = *state;

    healthy(f);
    crashed_until(f, f->now + 200, true); /* refused for 150 ms */
    add_refused_view(f, 2, 150, 10);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_UNREACHABLE_FROM_AGENT);
    assert_false(f->v.crashed);
}

static void test_crash_refused_on_leader_only_no(void **state)
{
    struct fx *f = *state;

    healthy(f);
    crashed_until(f, f->now + 400, true);
    add_view(f, 2, M, RSM_HEALTH_SUSPECT, 350, 20); /* timing out */
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_UNREACHABLE_FROM_AGENT);
    assert_false(f->v.crashed);
    assert_non_null(strstr(f->v.reason, "1 of 3 agents refused"));
}

static void test_crash_refused_but_replica_still_linked_no(void **state)
{
    struct fx *f = *state;

    healthy(f);
    crashed_until(f, f->now + 400, false); /* replicas keep the link */
    add_refused_view(f, 2, 300, 20);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_UNREACHABLE_FROM_AGENT);
    assert_false(f->v.crashed);
    assert_non_null(strstr(f->v.reason, "reports its link up"));
}

static void test_crash_waits_for_replica_info_since_refusal(void **state)
{
    struct fx *f = *state;
    struct rsm_info i;

    healthy(f);
    crashed_until(f, f->now + 400, true);
    /* r2's last INFO is from before the refusals began, and it was
     * answered since only by a PING (no INFO) */
    rsm_detector_init(&f->h[2], &f->h[2].addr, 9000);
    replica_info(&i, M, true, 0, 5000);
    feed_info(&f->h[2], &i, 10000);
    add_refused_view(f, 2, 300, 20);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_UNREACHABLE_FROM_AGENT);
    assert_non_null(strstr(f->v.reason, "waiting for an INFO of replica"));
}

static void test_crash_unanswering_replica_is_skipped(void **state)
{
    struct fx *f = *state;

    healthy(f);
    crashed_until(f, f->now + 300, true);
    /* r2 stopped answering (probed since, failed): its view is unknown */
    feed_fail(&f->h[2], RSM_PROBE_TIMEOUT, RSM_ALIVE_NONE, f->now);
    add_refused_view(f, 2, 200, 20);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_DOWN);
    assert_true(f->v.crashed);
    assert_non_null(strstr(f->v.reason, "1 replica(s)"));
}

static void test_crash_view_with_reply_since_vetoes(void **state)
{
    struct fx *f = *state;

    healthy(f);
    crashed_until(f, f->now + 400, true);
    add_refused_view(f, 2, 300, 20);
    add_view(f, 3, M, RSM_HEALTH_UP, 0, 30); /* agent 3 got a reply */
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_UNREACHABLE_FROM_AGENT);
    assert_non_null(strstr(f->v.reason, "agent 3 had a reply"));
}

static void test_timeouts_only_take_down_after(void **state)
{
    struct fx *f = *state;
    struct rsm_info i;
    int64_t t0;

    healthy(f);
    t0 = f->now;
    for (int64_t t = t0 + 100; t <= t0 + 900; t += 100) {
        feed_fail(&f->h[0], RSM_PROBE_TIMEOUT, RSM_ALIVE_NONE, t);
        replica_info(&i, M, false, 0, 5000);
        feed_info(&f->h[1], &i, t);
        feed_info(&f->h[2], &i, t);
    }
    f->now = t0 + 900;
    add_view(f, 2, M, RSM_HEALTH_SUSPECT, 850, 20);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_UNREACHABLE_FROM_AGENT);
    assert_false(f->v.crashed);
    /* the down-after path, unchanged */
    f->n_views = 0;
    feed_fail(&f->h[0], RSM_PROBE_TIMEOUT, RSM_ALIVE_NONE, t0 + 1000);
    f->now = t0 + 1000;
    add_view(f, 2, M, RSM_HEALTH_DOWN, 1000, 0);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_DOWN);
    assert_false(f->v.crashed);
}

static void test_crash_run_broken_by_timeout_restarts(void **state)
{
    struct fx *f = *state;
    struct rsm_health *h = &f->h[0];

    healthy(f);
    feed_fail(h, RSM_PROBE_CONNECT_REFUSED, RSM_ALIVE_NONE, f->now + 50);
    feed_fail(h, RSM_PROBE_CONNECT_REFUSED, RSM_ALIVE_NONE, f->now + 100);
    assert_int_equal(rsm_detector_refused_ms(h, f->now + 300), 250);
    feed_fail(h, RSM_PROBE_TIMEOUT, RSM_ALIVE_NONE, f->now + 350);
    assert_int_equal(rsm_detector_refused_ms(h, f->now + 350), -1);
    feed_fail(h, RSM_PROBE_CONNECT_REFUSED, RSM_ALIVE_NONE, f->now + 400);
    assert_int_equal(rsm_detector_refused_ms(h, f->now + 500), 100);
    assert_int_equal(h->refusals, 1);
}

static void test_restart_within_confirm_is_no_crash(void **state)
{
    struct fx *f = *state;
    struct rsm_info i;

    healthy(f);
    crashed_until(f, f->now + 150, true);
    /* back with its data (appendonly): a new run id, the same offset */
    master_info(&i, "bbbb", 5000);
    feed_info(&f->h[0], &i, f->now + 50);
    f->now += 400;
    replica_info(&i, M, true, 0, 5000);
    feed_info(&f->h[1], &i, f->now);
    feed_info(&f->h[2], &i, f->now);
    add_refused_view(f, 2, 300, 20);
    assert_int_equal(rsm_detector_refused_ms(&f->h[0], f->now), -1);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_OK);
    assert_false(f->v.crashed);
}

static void test_crash_path_off_with_zero_confirm(void **state)
{
    struct fx *f = *state;

    f->cfg.crash_confirm_ms = 0;
    healthy(f);
    crashed_until(f, f->now + 500, true);
    add_refused_view(f, 2, 400, 20);
    assert_int_equal(run_verdict(f), 0);
    assert_int_equal(f->v.status, RSM_MASTER_UNREACHABLE_FROM_AGENT);
    assert_false(f->v.crashed);
    assert_null(strstr(f->v.reason, "crash"));
}

static void test_view_carries_refusals(void **state)
{
    struct fx *f = *state;
    struct rsm_agent_view v;

    healthy(f);
    rsm_detector_view(&f->h[0], &f->cfg, f->now, 2, &v);
    assert_false(v.refused);
    crashed_until(f, f->now + 300, true);
    rsm_detector_view(&f->h[0], &f->cfg, f->now, 2, &v);
    assert_true(v.refused);
    assert_int_equal(v.refused_ms, 250);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_fresh_instance_unknown_then_down_without_reply),
        T(test_up_suspect_down_on_timeouts),
        T(test_loading_reply_is_alive),
        T(test_silence_counts_only_while_a_reply_is_owed),
        T(test_late_probe_suspects_master_then_down),
        T(test_slow_follower_view_neither_votes_nor_vouches),
        T(test_other_error_reply_is_a_failure),
        T(test_alive_error_text),
        T(test_out_of_order_and_bad_results_ignored),
        T(test_restart_with_data_is_not_empty),
        T(test_restart_age_none_until_run_id_changes),
        T(test_restarted_empty_master_is_failed),
        T(test_restarted_empty_cleared_once_resynced),
        T(test_role_age_tracks_role_and_master),
        T(test_restart_while_loading_is_not_an_empty_restart),
        T(test_restart_judged_empty_once_loaded_with_less),
        T(test_restart_twice_while_loading_keeps_offset_before),
        T(test_restart_while_loading_then_silent_needs_quorum),
        T(test_new_leader_master_loading_waits_for_the_load),
        T(test_replica_seen_repointed_never_linked),
        T(test_replica_link_up_between_probes_counts_as_synced),
        T(test_replica_offset_moved_counts_as_synced),
        T(test_replica_role_change_after_gap_is_no_evidence),
        T(test_master_killed_quorum_agrees_down),
        T(test_master_killed_not_down_before_down_after),
        T(test_no_quorum_unreachable_with_reason),
        T(test_suspect_view_silent_past_down_after_votes_down),
        T(test_suspect_view_too_old_to_extrapolate_no_vote),
        T(test_stale_and_foreign_views_ignored),
        T(test_master_unreachable_but_replica_hears_it),
        T(test_sigstop_replica_contact_ages_out),
        T(test_replica_of_another_master_or_stale_is_no_evidence),
        T(test_agent_view_alive_vetoes),
        T(test_master_reporting_replica_role_fails_after_down_after),
        T(test_verdict_not_monitored_not_probed_invalid),
        T(test_never_probed_master_goes_down_with_quorum),
        T(test_view_helper_and_names),
        T(test_crash_all_evidence_down_before_down_after),
        T(test_crash_not_before_confirm_time),
        T(test_crash_refused_on_leader_only_no),
        T(test_crash_refused_but_replica_still_linked_no),
        T(test_crash_waits_for_replica_info_since_refusal),
        T(test_crash_unanswering_replica_is_skipped),
        T(test_crash_view_with_reply_since_vetoes),
        T(test_timeouts_only_take_down_after),
        T(test_crash_run_broken_by_timeout_restarts),
        T(test_restart_within_confirm_is_no_crash),
        T(test_crash_path_off_with_zero_confirm),
        T(test_view_carries_refusals),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
