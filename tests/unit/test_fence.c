/* test_fence.c - unit tests for core/fence: what the leader keeps in
 * min-replicas-to-write / min-replicas-max-lag on each instance. A group
 * of a master and replicas is built by hand (observations and INFO), each
 * test names the scenario it decides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "rsm/err.h"
#include "rsm/fence.h"

#define MAX 8

/* ---- fixture ------------------------------------------------------------- */

/* A group: instance 0 is the committed master, 1..n-1 its replicas; every
 * instance UP, the replicas linked, the master listing them online with
 * lag 0; settings known: the master (1, S), the replicas (0, 10). */
struct group {
    struct rsm_fence_config cfg;
    struct rsm_addr master;
    struct rsm_info info[MAX];
    struct rsm_observation obs[MAX];
    struct rsm_fence_setting cur[MAX];
    struct rsm_fence_input in;
    size_t n;
};

static void set_addr(struct rsm_addr *a, unsigned port)
{
    memset(a, 0, sizeof *a);
    snprintf(a->host, sizeof a->host, "10.0.0.1");
    a->port = (uint16_t)port;
}

static struct group *make(size_t n)
{
    static struct group g;

    memset(&g, 0, sizeof g);
    rsm_fence_config_init(&g.cfg);
    g.cfg.max_lag_s = 1;
    g.n = n;
    set_addr(&g.master, 6379);
    for (size_t i = 0; i < n; i++) {
        struct rsm_info *info = &g.info[i];
        rsm_info_init(info);
        set_addr(&g.obs[i].addr, 6379 + (unsigned)i);
        g.obs[i].state = RSM_HEALTH_UP;
        g.obs[i].info = info;
        g.obs[i].info_age_ms = 50;
        g.obs[i].restart_age_ms = -1;
        if (i == 0) {
            info->role = RSM_ROLE_MASTER;
            g.cur[i] = (struct rsm_fence_setting){true, 1, 1};
            continue;
        }
        info->role = RSM_ROLE_REPLICA;
        info->master = g.master;
        info->link_up = true;
        g.cur[i] = (struct rsm_fence_setting){true, 0, 10};
    }
    /* the master lists every replica online */
    g.info[0].n_replicas = (unsigned)(n - 1);
    for (size_t i = 1; i < n; i++) {
        struct rsm_info_replica *r = &g.info[0].replicas[i - 1];
        snprintf(r->ip, sizeof r->ip, "10.0.0.1");
        r->port = (uint16_t)(6379 + i);
        snprintf(r->state, sizeof r->state, "online");
        r->lag = 0;
    }
    g.in.cfg = &g.cfg;
    g.in.master = &g.master;
    g.in.obs = g.obs;
    g.in.current = g.cur;
    g.in.n = n;
    return &g;
}

/* Replica i (1-based) as the master's INFO lists it. */
static struct rsm_info_replica *listed(struct group *g, size_t i)
{
    return &g->info[0].replicas[i - 1];
}

static void replica_down(struct group *g, size_t i)
{
    g->obs[i].state = RSM_HEALTH_DOWN;
    snprintf(listed(g, i)->state, sizeof listed(g, i)->state, "gone");
}

/* Replica i answers the agents but is cut off from the master: the master
 * no longer lists it online. */
static void replica_cut(struct group *g, size_t i)
{
    g->info[i].link_up = false;
    snprintf(listed(g, i)->state, sizeof listed(g, i)->state, "gone");
}

static struct rsm_fence_decision decide(struct group *g, size_t index)
{
    struct rsm_fence_decision d;

    assert_int_equal(rsm_fence_decide(&g->in, index, &d), 0);
    return d;
}

static void assert_keep(const struct rsm_fence_decision *d, const char *why)
{
    if (d->action != RSM_FENCE_KEEP)
        fail_msg("action %s (%s), expected keep (%s)",
                 rsm_fence_action_str(d->action), d->reason, why);
    if (strstr(d->reason, why) == NULL)
        fail_msg("reason '%s' does not mention '%s'", d->reason, why);
}

static void assert_set(const struct rsm_fence_decision *d,
                       enum rsm_fence_change change, unsigned to_write,
                       bool set_to_write, bool set_max_lag)
{
    if (d->action != RSM_FENCE_SET)
        fail_msg("action %s (%s), expected set",
                 rsm_fence_action_str(d->action), d->reason);
    assert_string_equal(rsm_fence_change_event(d->change),
                        rsm_fence_change_event(change));
    assert_true(d->want.known);
    assert_int_equal(d->want.to_write, to_write);
    assert_int_equal(d->set_to_write, set_to_write);
    assert_int_equal(d->set_max_lag, set_max_lag);
    assert_true(d->reason[0] != '\0');
}

/* ---- configuration ------------------------------------------------------- */

static void test_defaults_are_on_with_the_lag_of_5000_ms(void **state)
{
    struct rsm_fence_config cfg;

    (void)state;
    rsm_fence_config_init(&cfg);
    assert_true(cfg.enabled);
    assert_int_equal(cfg.max_lag_s, 3);
}

static void test_max_lag_is_down_after_less_two_seconds(void **state)
{
    (void)state;
    assert_int_equal(rsm_fence_max_lag_s(0), 1);
    assert_int_equal(rsm_fence_max_lag_s(-5), 1);
    assert_int_equal(rsm_fence_max_lag_s(10), 1);
    assert_int_equal(rsm_fence_max_lag_s(1000), 1);
    assert_int_equal(rsm_fence_max_lag_s(3999), 1);
    assert_int_equal(rsm_fence_max_lag_s(4000), 2);
    assert_int_equal(rsm_fence_max_lag_s(5000), 3);
    assert_int_equal(rsm_fence_max_lag_s(30000), 28);
    assert_int_equal(rsm_fence_max_lag_s(86400000), 86398);
    assert_int_equal(rsm_fence_max_lag_s(INT64_MAX), 86400);
}

/* ---- bad input ------------------------------------------------------------
 */

static void test_bad_input_is_refused_and_keeps(void **state)
{
    struct group *g = make(3);
    struct rsm_fence_input in = g->in;
    struct rsm_fence_decision d;

    (void)state;
    assert_int_equal(rsm_fence_decide(NULL, 0, &d), RSM_EINVAL);
    assert_int_equal(d.action, RSM_FENCE_KEEP);
    assert_int_equal(rsm_fence_decide(&in, 3, &d), RSM_EINVAL);
    assert_int_equal(d.action, RSM_FENCE_KEEP);
    in.obs = NULL;
    assert_int_equal(rsm_fence_decide(&in, 0, &d), RSM_EINVAL);
    in = g->in;
    in.current = NULL;
    assert_int_equal(rsm_fence_decide(&in, 0, &d), RSM_EINVAL);
    in = g->in;
    in.cfg = NULL;
    assert_int_equal(rsm_fence_decide(&in, 0, &d), RSM_EINVAL);
    assert_int_equal(rsm_fence_decide(&g->in, 0, NULL), RSM_EINVAL);
}

/* ---- off ------------------------------------------------------------------
 */

static void test_off_never_reads_or_sets(void **state)
{
    struct group *g = make(3);
    struct rsm_fence_decision d;

    (void)state;
    g->cfg.enabled = false;
    g->cur[0].known = false;
    g->cur[1] = (struct rsm_fence_setting){true, 2, 10};
    g->cur[2].to_write = 0;
    replica_down(g, 2);
    for (size_t i = 0; i < 3; i++) {
        d = decide(g, i);
        assert_keep(&d, "fencing is off");
    }
    assert_false(rsm_fence_lower_before_promotion(&g->cfg));
}

/* ---- what is not decided --------------------------------------------------
 */

static void test_an_instance_not_answering_is_left_alone(void **state)
{
    static const enum rsm_health_state states[] = {
        RSM_HEALTH_UNKNOWN, RSM_HEALTH_SUSPECT, RSM_HEALTH_DOWN,
        RSM_HEALTH_LOADING};
    struct group *g;
    struct rsm_fence_decision d;

    (void)state;
    for (size_t k = 0; k < sizeof states / sizeof states[0]; k++) {
        g = make(3);
        g->cur[0].known = false; /* would be read if it answered */
        g->cur[1] = (struct rsm_fence_setting){true, 1, 1};
        g->obs[0].state = states[k];
        g->obs[1].state = states[k];
        d = decide(g, 0);
        assert_keep(&d, "not answering");
        d = decide(g, 1);
        assert_keep(&d, "not answering");
    }
    g = make(3);
    g->info[0].loading = true; /* INFO says loading:1 */
    d = decide(g, 0);
    assert_keep(&d, "not answering");
    g = make(3);
    g->obs[0].info = NULL; /* PING only */
    d = decide(g, 0);
    assert_keep(&d, "not answering");
    g = make(3);
    g->info[0].role = RSM_ROLE_UNKNOWN;
    d = decide(g, 0);
    assert_keep(&d, "not answering");
}

/* A master that restarted empty is about to be failed over: its setting
 * does not matter, and it must not be touched meanwhile. */
static void test_a_master_restarted_empty_is_left_alone(void **state)
{
    struct group *g = make(3);
    struct rsm_fence_decision d;

    (void)state;
    g->obs[0].state = RSM_HEALTH_RESTARTED;
    g->obs[0].restarted_empty = true;
    g->cur[0] = (struct rsm_fence_setting){true, 0, 10};
    d = decide(g, 0);
    assert_keep(&d, "not answering");
    /* restarted with its data: decided as any master */
    g->obs[0].restarted_empty = false;
    d = decide(g, 0);
    assert_set(&d, RSM_FENCE_RAISED, 1, true, true);
}

static void test_unknown_settings_are_read_first(void **state)
{
    struct group *g = make(3);
    struct rsm_fence_decision d;

    (void)state;
    g->cur[0].known = false;
    g->cur[2].known = false;
    d = decide(g, 0);
    assert_int_equal(d.action, RSM_FENCE_READ);
    d = decide(g, 2);
    assert_int_equal(d.action, RSM_FENCE_READ);
    /* even a rogue master: reading is harmless */
    g->info[2].role = RSM_ROLE_MASTER;
    d = decide(g, 2);
    assert_int_equal(d.action, RSM_FENCE_READ);
}

/* The planner demotes a master that is not the committed one; the fence
 * leaves it as it is (never unfences it). */
static void test_a_rogue_master_is_left_alone(void **state)
{
    struct group *g = make(3);
    struct rsm_fence_decision d;

    (void)state;
    g->info[2].role = RSM_ROLE_MASTER;
    g->cur[2] = (struct rsm_fence_setting){true, 1, 1};
    d = decide(g, 2);
    assert_keep(&d, "not the committed one");
    g->cur[2].to_write = 0;
    d = decide(g, 2);
    assert_keep(&d, "not the committed one");
    /* no master committed yet: nobody is the master */
    g->in.master = NULL;
    d = decide(g, 0);
    assert_keep(&d, "not the committed one");
}

static void
test_nothing_is_decided_for_the_master_during_a_failover(void **state)
{
    struct group *g = make(3);
    struct rsm_fence_decision d;

    (void)state;
    g->in.in_flight = true;
    g->cur[0].to_write = 0; /* would be raised */
    d = decide(g, 0);
    assert_keep(&d, "in flight");
    replica_down(g, 1);
    replica_down(g, 2);
    g->cur[0].to_write = 1; /* would be lowered */
    d = decide(g, 0);
    assert_keep(&d, "in flight");
    /* replicas are still reset */
    g->obs[1].state = RSM_HEALTH_UP;
    g->cur[1].to_write = 1;
    d = decide(g, 1);
    assert_set(&d, RSM_FENCE_RESET, 0, true, false);
}

/* ---- replicas --------------------------------------------------------------
 */

static void test_a_replica_keeps_zero(void **state)
{
    struct group *g = make(3);
    struct rsm_fence_decision d;

    (void)state;
    d = decide(g, 1);
    assert_keep(&d, "replica with min-replicas-to-write 0");
    /* its max-lag is left alone */
    g->cur[1].max_lag_s = 77;
    d = decide(g, 1);
    assert_int_equal(d.action, RSM_FENCE_KEEP);
}

/* A demoted master (or a replica an operator fenced) is reset to 0, so
 * that it takes writes as soon as it is promoted. */
static void test_a_fenced_replica_is_reset_to_zero(void **state)
{
    struct group *g = make(3);
    struct rsm_fence_decision d;

    (void)state;
    g->cur[2] = (struct rsm_fence_setting){true, 1, 1};
    d = decide(g, 2);
    assert_set(&d, RSM_FENCE_RESET, 0, true, false);
    assert_int_equal(d.want.max_lag_s, 1);
    assert_string_equal(rsm_fence_change_event(d.change), "fence-reset");
    /* the committed master reporting role:replica is a replica too */
    g->info[0].role = RSM_ROLE_REPLICA;
    d = decide(g, 0);
    assert_set(&d, RSM_FENCE_RESET, 0, true, false);
}

/* ---- the committed master -------------------------------------------------
 */

static void test_a_master_with_linked_replicas_is_raised(void **state)
{
    struct group *g = make(3);
    struct rsm_fence_decision d;

    (void)state;
    g->cur[0] = (struct rsm_fence_setting){true, 0, 10}; /* Redis defaults */
    d = decide(g, 0);
    assert_set(&d, RSM_FENCE_RAISED, 1, true, true);
    assert_int_equal(d.want.max_lag_s, 1);
    assert_int_equal(d.good, 2);
    assert_int_equal(d.live, 2);
    assert_string_equal(rsm_fence_change_event(d.change), "fence-raised");
}

static void test_a_fenced_master_is_kept(void **state)
{
    struct group *g = make(3);
    struct rsm_fence_decision d;

    (void)state;
    d = decide(g, 0);
    assert_keep(&d, "min-replicas-to-write 1, min-replicas-max-lag 1");
    /* one replica down: the other one is still a majority with it */
    replica_down(g, 2);
    d = decide(g, 0);
    assert_keep(&d, "min-replicas-to-write 1");
}

static void test_a_lag_other_than_s_is_adjusted(void **state)
{
    struct group *g = make(3);
    struct rsm_fence_decision d;

    (void)state;
    g->cur[0].max_lag_s = 10;
    d = decide(g, 0);
    assert_set(&d, RSM_FENCE_ADJUSTED, 1, false, true);
    assert_int_equal(d.want.max_lag_s, 1);
    /* unfenced, the lag does not matter */
    replica_down(g, 1);
    replica_down(g, 2);
    g->cur[0].to_write = 0;
    d = decide(g, 0);
    assert_int_equal(d.action, RSM_FENCE_KEEP);
}

/* The master is cut off from its replicas, which still answer the agents:
 * the fence stays (Redis refuses writes), for they can be promoted. */
static void test_replicas_cut_from_the_master_keep_the_fence(void **state)
{
    struct group *g = make(3);
    struct rsm_fence_decision d;

    (void)state;
    replica_cut(g, 1);
    replica_cut(g, 2);
    d = decide(g, 0);
    assert_int_equal(d.action, RSM_FENCE_KEEP);
    assert_int_equal(d.good, 0);
    assert_int_equal(d.live, 2);
    /* answering, but not known to the detector yet: not gone either */
    g->obs[1].state = RSM_HEALTH_UNKNOWN;
    g->obs[2].state = RSM_HEALTH_SUSPECT;
    d = decide(g, 0);
    assert_int_equal(d.action, RSM_FENCE_KEEP);
}

/* The scenario: the agents see every replica down while the
 * master answers: lowered, the master stays writable. */
static void test_replicas_really_gone_lower_the_fence(void **state)
{
    struct group *g = make(3);
    struct rsm_fence_decision d;

    (void)state;
    replica_down(g, 1);
    replica_down(g, 2);
    d = decide(g, 0);
    assert_set(&d, RSM_FENCE_LOWERED, 0, true, false);
    assert_int_equal(d.live, 0);
    assert_string_equal(rsm_fence_change_event(d.change), "fence-lowered");
    if (strstr(d.reason, "2 of 2 other instances down") == NULL)
        fail_msg("reason: %s", d.reason);
    /* lowered stays lowered */
    g->cur[0].to_write = 0;
    d = decide(g, 0);
    assert_int_equal(d.action, RSM_FENCE_KEEP);
}

/* A replica back and linked raises it again; back but not linked yet
 * does not (raising would refuse writes). */
static void test_a_replica_coming_back_raises_it_again(void **state)
{
    struct group *g = make(3);
    struct rsm_fence_decision d;

    (void)state;
    replica_down(g, 1);
    replica_down(g, 2);
    g->cur[0].to_write = 0;
    g->obs[1].state = RSM_HEALTH_UP; /* answers, not yet in sync */
    snprintf(listed(g, 1)->state, sizeof listed(g, 1)->state, "send_bulk");
    d = decide(g, 0);
    assert_keep(&d, "waiting for replicas online");
    snprintf(listed(g, 1)->state, sizeof listed(g, 1)->state, "online");
    d = decide(g, 0);
    assert_set(&d, RSM_FENCE_RAISED, 1, true, false); /* lag was kept */
}

/* After a promotion: the new master holds 0 and takes writes; raised once
 * a replica has re-linked to it. */
static void test_a_promoted_master_is_raised_once_a_replica_links(void **state)
{
    struct group *g = make(3);
    struct rsm_fence_decision d;

    (void)state;
    g->cur[0] = (struct rsm_fence_setting){true, 0, 0}; /* lowered at
                                                           promotion */
    g->info[0].n_replicas = 0;
    replica_down(g, 2); /* the old master, gone */
    d = decide(g, 0);
    assert_keep(&d, "waiting");
    g->info[0].n_replicas = 1; /* replica 1 re-linked */
    d = decide(g, 0);
    assert_set(&d, RSM_FENCE_RAISED, 1, true, true);
    assert_int_equal(d.want.max_lag_s, 1);
}

static void test_only_replicas_within_max_lag_count(void **state)
{
    struct group *g = make(3);
    struct rsm_fence_decision d;

    (void)state;
    g->cur[0].to_write = 0;
    listed(g, 1)->lag = 2; /* > S = 1 */
    listed(g, 2)->lag = 5;
    d = decide(g, 0);
    assert_int_equal(d.good, 0);
    assert_int_equal(d.action, RSM_FENCE_KEEP);
    listed(g, 2)->lag = 1; /* == S counts */
    d = decide(g, 0);
    assert_int_equal(d.good, 1);
    assert_set(&d, RSM_FENCE_RAISED, 1, true, false);
    listed(g, 2)->lag = -1; /* no lag field: counts */
    d = decide(g, 0);
    assert_int_equal(d.good, 1);
    /* with a larger S the lagging ones count */
    g->cfg.max_lag_s = 5;
    d = decide(g, 0);
    assert_int_equal(d.good, 2);
}

/* Four replicas: the master and two replicas are a majority. */
static void test_a_larger_group_keeps_a_majority(void **state)
{
    struct group *g = make(5);
    struct rsm_fence_decision d;

    (void)state;
    g->cur[0].to_write = 0;
    d = decide(g, 0);
    assert_set(&d, RSM_FENCE_RAISED, 2, true, false);
    /* raised only as far as Redis counts good replicas */
    for (size_t i = 2; i < 5; i++)
        replica_cut(g, i);
    d = decide(g, 0);
    assert_set(&d, RSM_FENCE_RAISED, 1, true, false);
    g->cur[0].to_write = 1;
    d = decide(g, 0);
    assert_keep(&d, "target 2");
    /* three down: the live one and the master are a majority of two */
    g->cur[0].to_write = 2;
    for (size_t i = 2; i < 5; i++)
        replica_down(g, i);
    d = decide(g, 0);
    assert_set(&d, RSM_FENCE_LOWERED, 1, true, false);
    /* two down of four: target (2 + 1) / 2 = 1 */
    g->obs[4].state = RSM_HEALTH_UP;
    d = decide(g, 0);
    assert_set(&d, RSM_FENCE_LOWERED, 1, true, false);
    assert_int_equal(d.live, 2);
}

/* An operator's larger value is brought down to the target. */
static void test_a_value_above_the_target_is_lowered(void **state)
{
    struct group *g = make(3);
    struct rsm_fence_decision d;

    (void)state;
    g->cur[0] = (struct rsm_fence_setting){true, 3, 10};
    d = decide(g, 0);
    assert_set(&d, RSM_FENCE_LOWERED, 1, true, true);
    assert_int_equal(d.want.max_lag_s, 1);
}

/* A group of one instance: nothing to wait for. */
static void test_a_lone_master_is_never_fenced(void **state)
{
    struct group *g = make(1);
    struct rsm_fence_decision d;

    (void)state;
    d = decide(g, 0);
    assert_set(&d, RSM_FENCE_LOWERED, 0, true, false);
    g->cur[0].to_write = 0;
    d = decide(g, 0);
    assert_int_equal(d.action, RSM_FENCE_KEEP);
}

/* ---- promotion -------------------------------------------------------------
 */

/* Lowered before every promotion, even where this leader believes the
 * replica holds 0 already (an operator may have changed it). */
static void test_lowered_before_every_promotion(void **state)
{
    struct rsm_fence_config cfg;

    (void)state;
    rsm_fence_config_init(&cfg);
    assert_true(rsm_fence_lower_before_promotion(&cfg));
    cfg.enabled = false;
    assert_false(rsm_fence_lower_before_promotion(&cfg));
}

/* ---- names -----------------------------------------------------------------
 */

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(rsm_fence_change_event(RSM_FENCE_ADJUSTED),
                        "fence-adjusted");
    assert_string_equal(rsm_fence_change_event(RSM_FENCE_NO_CHANGE),
                        "fence-unchanged");
    assert_string_equal(rsm_fence_change_event((enum rsm_fence_change)99),
                        "fence-unchanged");
    assert_string_equal(rsm_fence_action_str(RSM_FENCE_KEEP), "keep");
    assert_string_equal(rsm_fence_action_str(RSM_FENCE_READ), "read");
    assert_string_equal(rsm_fence_action_str(RSM_FENCE_SET), "set");
    assert_string_equal(rsm_fence_action_str((enum rsm_fence_action)99),
                        "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_on_with_the_lag_of_5000_ms),
        cmocka_unit_test(test_max_lag_is_down_after_less_two_seconds),
        cmocka_unit_test(test_bad_input_is_refused_and_keeps),
        cmocka_unit_test(test_off_never_reads_or_sets),
        cmocka_unit_test(test_an_instance_not_answering_is_left_alone),
        cmocka_unit_test(test_a_master_restarted_empty_is_left_alone),
        cmocka_unit_test(test_unknown_settings_are_read_first),
        cmocka_unit_test(test_a_rogue_master_is_left_alone),
        cmocka_unit_test(
            test_nothing_is_decided_for_the_master_during_a_failover),
        cmocka_unit_test(test_a_replica_keeps_zero),
        cmocka_unit_test(test_a_fenced_replica_is_reset_to_zero),
        cmocka_unit_test(test_a_master_with_linked_replicas_is_raised),
        cmocka_unit_test(test_a_fenced_master_is_kept),
        cmocka_unit_test(test_a_lag_other_than_s_is_adjusted),
        cmocka_unit_test(test_replicas_cut_from_the_master_keep_the_fence),
        cmocka_unit_test(test_replicas_really_gone_lower_the_fence),
        cmocka_unit_test(test_a_replica_coming_back_raises_it_again),
        cmocka_unit_test(test_a_promoted_master_is_raised_once_a_replica_links),
        cmocka_unit_test(test_only_replicas_within_max_lag_count),
        cmocka_unit_test(test_a_larger_group_keeps_a_majority),
        cmocka_unit_test(test_a_value_above_the_target_is_lowered),
        cmocka_unit_test(test_a_lone_master_is_never_fenced),
        cmocka_unit_test(test_lowered_before_every_promotion),
        cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
