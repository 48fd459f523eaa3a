/* test_topology.c - unit tests for core/topology: the one-shot decision of
 * `rsmctl promote`, one scenario per test, named after it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsm/err.h"
#include "rsm/topology.h"

/* --- fixture: a group of endpoints ---
 * struct rsm_info values are built by hand (what rsm_info_init documents),
 * so these tests do not depend on the INFO parser. */

#define W_MAX RSM_TOPOLOGY_MAX

struct world {
    struct rsm_info info[W_MAX];
    struct rsm_candidate c[W_MAX];
    size_t n;
    struct rsm_policy_config cfg;
    struct rsm_plan plan;
};

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof *w);

    if (w == NULL)
        return -1;
    rsm_policy_config_init(&w->cfg);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static size_t add(struct world *w, const char *host, bool reachable)
{
    size_t i = w->n++;
    struct rsm_info *info = &w->info[i];
    struct rsm_candidate *c = &w->c[i];

    assert_true(i < W_MAX);
    memset(info, 0, sizeof *info);
    info->priority = 100;
    info->master_last_io_s = -1;
    info->link_down_since_s = -1;
    info->slave_repl_offset = -1;
    info->master_repl_offset = -1;
    /* run ids are 40 characters: keep the host's first 36 */
    snprintf(info->run_id, sizeof info->run_id, "run-%.36s", host);
    memset(c, 0, sizeof *c);
    assert_int_equal(rsm_addr_set(&c->addr, host, 6379, NULL, 0), 0);
    c->reachable = reachable;
    c->info = reachable ? info : NULL;
    c->info_age_ms = 10;
    return i;
}

static size_t add_down(struct world *w, const char *host)
{
    return add(w, host, false);
}

static size_t add_master(struct world *w, const char *host, int64_t offset)
{
    size_t i = add(w, host, true);

    w->info[i].role = RSM_ROLE_MASTER;
    w->info[i].master_repl_offset = offset;
    return i;
}

/* A replica of master_host:6379; link up with last io 1 s, or down 2 s. */
static size_t add_replica(struct world *w, const char *host,
                          const char *master_host, bool link_up, int64_t offset)
{
    size_t i = add(w, host, true);
    struct rsm_info *info = &w->info[i];

    info->role = RSM_ROLE_REPLICA;
    assert_int_equal(rsm_addr_set(&info->master, master_host, 6379, NULL, 0),
                     0);
    info->link_up = link_up;
    if (link_up)
        info->master_last_io_s = 1;
    else
        info->link_down_since_s = 2;
    info->slave_repl_offset = offset;
    info->master_repl_offset = offset;
    return i;
}

/* Master m lists ip:6379 among its connected replicas. */
static void lists_replica(struct world *w, size_t m, const char *ip)
{
    struct rsm_info *info = &w->info[m];
    struct rsm_info_replica *r = &info->replicas[info->n_replicas++];

    snprintf(r->ip, sizeof r->ip, "%s", ip);
    r->port = 6379;
    snprintf(r->state, sizeof r->state, "online");
    info->connected_replicas = info->n_replicas;
}

static struct rsm_plan *decide(struct world *w)
{
    assert_int_equal(rsm_topology_decide(w->c, w->n, &w->cfg, &w->plan), 0);
    assert_int_equal(w->plan.n_ranked, w->n);
    assert_true(strlen(w->plan.reason) > 0);
    return &w->plan;
}

static bool repoints(const struct rsm_plan *p, size_t i)
{
    for (size_t k = 0; k < p->n_repoint; k++) {
        if (p->repoint[k] == i)
            return true;
    }
    return false;
}

static const struct rsm_rank *rank_of(const struct rsm_plan *p, size_t i)
{
    for (size_t k = 0; k < p->n_ranked; k++) {
        if (p->ranking[k].index == i)
            return &p->ranking[k];
    }
    fail_msg("candidate %zu not ranked", i);
    return NULL;
}

static void assert_reason_has(const struct rsm_plan *p, const char *text)
{
    if (strstr(p->reason, text) == NULL)
        fail_msg("reason \"%s\" lacks \"%s\"", p->reason, text);
}

/* --- the seed tool's cases --- */

/* Master gone, three replicas: the one with the highest offset is promoted
 * and the other two re-pointed to it. */
static void test_seed_valid_set_max_offset_chosen(void **state)
{
    struct world *w = *state;
    struct rsm_plan *p;

    add_down(w, "10.0.0.1");
    size_t a = add_replica(w, "10.0.0.2", "10.0.0.1", false, 1000);
    size_t b = add_replica(w, "10.0.0.3", "10.0.0.1", false, 1100);
    size_t c = add_replica(w, "10.0.0.4", "10.0.0.1", false, 900);
    p = decide(w);
    assert_int_equal(p->verdict, RSM_VERDICT_PROMOTE);
    assert_int_equal(p->master, b);
    assert_true(p->promote);
    assert_int_equal(p->n_repoint, 2);
    assert_true(repoints(p, a) && repoints(p, c));
    assert_true(rsm_plan_acts(p));
    assert_int_equal(p->ranking[0].index, b);
    assert_int_equal(p->ranking[1].index, a);
    assert_int_equal(p->ranking[2].index, c);
    assert_int_equal(p->ranking[3].excluded, RSM_EXCL_UNREACHABLE);
    assert_reason_has(p, "no reachable master");
    assert_reason_has(p, "promoting 10.0.0.3:6379");
    assert_reason_has(p, "offset 1100");
    assert_reason_has(p, "unreachable: 10.0.0.1:6379");
}

static void test_empty_input_is_unreachable_nothing_to_do(void **state)
{
    struct world *w = *state;
    struct rsm_plan *p = decide(w);

    assert_int_equal(p->verdict, RSM_VERDICT_UNREACHABLE);
    assert_int_equal(p->master, -1);
    assert_false(p->promote);
    assert_int_equal(p->n_repoint, 0);
    assert_false(rsm_plan_acts(p));
    assert_reason_has(p, "nothing to do");
}

static void test_all_unreachable(void **state)
{
    struct world *w = *state;
    struct rsm_plan *p;

    add_down(w, "10.0.0.1");
    add_down(w, "10.0.0.2");
    p = decide(w);
    assert_int_equal(p->verdict, RSM_VERDICT_UNREACHABLE);
    assert_false(rsm_plan_acts(p));
    assert_reason_has(p, "none of the 2 endpoints");
}

/* One master, replicas following it either by their own master_host or by
 * the master listing them (the replica names the master by DNS name). */
static void test_healthy_master_does_nothing(void **state)
{
    struct world *w = *state;
    struct rsm_plan *p;

    size_t m = add_master(w, "10.0.0.1", 5000);
    add_replica(w, "10.0.0.2", "10.0.0.1", true, 5000);
    add_replica(w, "10.0.0.3", "redis-0.redis", true, 5000);
    lists_replica(w, m, "10.0.0.3");
    p = decide(w);
    assert_int_equal(p->verdict, RSM_VERDICT_HEALTHY);
    assert_int_equal(p->master, m);
    assert_false(p->promote);
    assert_int_equal(p->n_repoint, 0);
    assert_false(rsm_plan_acts(p));
    assert_reason_has(p, "healthy: master 10.0.0.1:6379, 2 replicas");
    assert_reason_has(p, "nothing to do");
    assert_null(strstr(p->reason, "syncing"));
}

static void test_healthy_reports_replicas_still_syncing(void **state)
{
    struct world *w = *state;
    struct rsm_plan *p;

    add_master(w, "10.0.0.1", 5000);
    size_t r = add_replica(w, "10.0.0.2", "10.0.0.1", true, 0);
    w->info[r].sync_in_progress = true;
    add_replica(w, "10.0.0.3", "10.0.0.1", false, 4000);
    add_replica(w, "10.0.0.4", "10.0.0.1", true, 5000);
    add_down(w, "10.0.0.5");
    p = decide(w);
    assert_int_equal(p->verdict, RSM_VERDICT_HEALTHY);
    assert_false(rsm_plan_acts(p));
    assert_reason_has(p, "still syncing: 10.0.0.2:6379, 10.0.0.3:6379;");
    assert_reason_has(p, "unreachable: 10.0.0.5:6379");
}

/* Two masters: the one with offset 1100 stays, the other is re-pointed. */
static void test_misconfigured_two_masters_higher_offset_stays(void **state)
{
    struct world *w = *state;
    struct rsm_plan *p;

    size_t a = add_master(w, "10.0.0.1", 1000);
    size_t b = add_master(w, "10.0.0.2", 1100);
    p = decide(w);
    assert_int_equal(p->verdict, RSM_VERDICT_MISCONFIGURED);
    assert_int_equal(p->master, b);
    assert_false(p->promote);
    assert_int_equal(p->n_repoint, 1);
    assert_int_equal(p->repoint[0], a);
    assert_true(rsm_plan_acts(p));
    assert_reason_has(p, "2 reachable masters; keeping 10.0.0.2:6379");
    assert_reason_has(p, "offset 1100");
    assert_reason_has(p, "(10.0.0.1:6379 is a master)");
}

/* Same, listed the other way round, with replicas on both sides: the
 * replica of the losing master moves, the one of the winner stays. */
static void test_misconfigured_independent_of_order(void **state)
{
    struct world *w = *state;
    struct rsm_plan *p;

    size_t b = add_master(w, "10.0.0.2", 1100);
    size_t a = add_master(w, "10.0.0.1", 1000);
    size_t ra = add_replica(w, "10.0.0.3", "10.0.0.1", true, 1000);
    add_replica(w, "10.0.0.4", "10.0.0.2", true, 1100);
    p = decide(w);
    assert_int_equal(p->verdict, RSM_VERDICT_MISCONFIGURED);
    assert_int_equal(p->master, b);
    assert_int_equal(p->n_repoint, 2);
    assert_true(repoints(p, a) && repoints(p, ra));
}

static void test_misconfigured_no_eligible_master(void **state)
{
    struct world *w = *state;
    struct rsm_plan *p;

    size_t a = add_master(w, "10.0.0.1", 1000);
    size_t b = add_master(w, "10.0.0.2", 1100);
    add_replica(w, "10.0.0.3", "10.0.0.1", true, 1000);
    w->info[a].loading = true;
    w->info[b].master_repl_offset = -1;
    p = decide(w);
    assert_int_equal(p->verdict, RSM_VERDICT_NO_CANDIDATE);
    assert_int_equal(p->master, -1);
    assert_false(rsm_plan_acts(p));
    assert_reason_has(p, "10.0.0.1:6379: loading");
    assert_reason_has(p, "10.0.0.2:6379: no-offset");
}

/* --- promotion --- */

/* Only reachable replicas are re-pointed; unreachable ones are left for the
 * operator (they will be fixed when they come back). */
static void test_master_unreachable_promotes_best_replica(void **state)
{
    struct world *w = *state;
    struct rsm_plan *p;

    add_down(w, "10.0.0.1");
    size_t a = add_replica(w, "10.0.0.2", "10.0.0.1", false, 2000);
    size_t gone = add_down(w, "10.0.0.3");
    size_t b = add_replica(w, "10.0.0.4", "10.0.0.1", false, 1500);
    size_t c = add_replica(w, "10.0.0.5", "10.0.0.1", false, 1500);
    p = decide(w);
    assert_int_equal(p->verdict, RSM_VERDICT_PROMOTE);
    assert_int_equal(p->master, a);
    assert_true(p->promote);
    assert_int_equal(p->n_repoint, 2);
    assert_true(repoints(p, b) && repoints(p, c));
    assert_false(repoints(p, gone) || repoints(p, 0) || repoints(p, a));
    assert_reason_has(p, "re-pointing 2 instances (10.0.0.4:6379, "
                         "10.0.0.5:6379)");
}

static void test_priority_zero_top_offset_skipped(void **state)
{
    struct world *w = *state;
    struct rsm_plan *p;

    add_down(w, "10.0.0.1");
    size_t top = add_replica(w, "10.0.0.2", "10.0.0.1", false, 9000);
    size_t next = add_replica(w, "10.0.0.3", "10.0.0.1", false, 8000);
    add_replica(w, "10.0.0.4", "10.0.0.1", false, 7000);
    w->info[top].priority = 0;
    p = decide(w);
    assert_int_equal(p->verdict, RSM_VERDICT_PROMOTE);
    assert_int_equal(p->master, next);
    /* the priority-0 replica still follows the new master */
    assert_true(repoints(p, top));
    assert_int_equal(rank_of(p, top)->rank, 0);
    assert_int_equal(rank_of(p, top)->excluded, RSM_EXCL_PRIORITY_ZERO);
    assert_int_equal(rank_of(p, next)->rank, 1);
    assert_reason_has(p, "not eligible: 10.0.0.2:6379: priority-zero");
}

static void test_all_priority_zero_no_candidate(void **state)
{
    struct world *w = *state;
    struct rsm_plan *p;

    add_down(w, "10.0.0.1");
    size_t a = add_replica(w, "10.0.0.2", "10.0.0.1", false, 9000);
    size_t b = add_replica(w, "10.0.0.3", "10.0.0.1", false, 8000);
    w->info[a].priority = 0;
    w->info[b].priority = 0;
    p = decide(w);
    assert_int_equal(p->verdict, RSM_VERDICT_NO_CANDIDATE);
    assert_int_equal(p->master, -1);
    assert_false(p->promote);
    assert_int_equal(p->n_repoint, 0);
    assert_false(rsm_plan_acts(p));
    assert_reason_has(p, "no eligible replica");
    assert_reason_has(p, "10.0.0.2:6379: priority-zero");
    assert_reason_has(p, "10.0.0.3:6379: priority-zero");
}

/* With the master known to be down 3 s, a replica whose link has been down
 * for 912 s lost touch long before: its higher offset does not count. */
static void test_link_down_too_long_replica_skipped(void **state)
{
    struct world *w = *state;
    struct rsm_plan *p;

    add_down(w, "10.0.0.1");
    size_t old = add_replica(w, "10.0.0.2", "10.0.0.1", false, 9000);
    size_t fresh = add_replica(w, "10.0.0.3", "10.0.0.1", false, 8000);
    w->info[old].link_down_since_s = 912;
    w->cfg.master_down_ms = 3000;
    w->cfg.down_after_ms = 5000;
    p = decide(w);
    assert_int_equal(p->verdict, RSM_VERDICT_PROMOTE);
    assert_int_equal(p->master, fresh);
    assert_int_equal(rank_of(p, old)->excluded, RSM_EXCL_LINK_DOWN_TOO_LONG);
    assert_string_equal(rank_of(p, old)->reason,
                        "link to master down for 912 s, master down 3 s");
}

/* A replica of a replica (chained) already follows the one promoted. */
static void test_promote_keeps_chained_replica(void **state)
{
    struct world *w = *state;
    struct rsm_plan *p;

    add_down(w, "10.0.0.1");
    size_t a = add_replica(w, "10.0.0.2", "10.0.0.1", false, 2000);
    size_t sub = add_replica(w, "10.0.0.3", "10.0.0.2", true, 1900);
    p = decide(w);
    assert_int_equal(p->verdict, RSM_VERDICT_PROMOTE);
    assert_int_equal(p->master, a);
    assert_false(repoints(p, sub));
    assert_int_equal(p->n_repoint, 0);
    assert_true(rsm_plan_acts(p)); /* the promotion itself */
}

/* --- refusing to act --- */

static void
test_replica_linked_to_unlisted_master_is_master_elsewhere(void **state)
{
    struct world *w = *state;
    struct rsm_plan *p;

    add_down(w, "10.0.0.1");
    add_replica(w, "10.0.0.2", "10.0.0.1", false, 2000);
    add_replica(w, "10.0.0.3", "10.9.9.9", true, 1000);
    p = decide(w);
    assert_int_equal(p->verdict, RSM_VERDICT_MASTER_ELSEWHERE);
    assert_int_equal(p->master, -1);
    assert_false(rsm_plan_acts(p));
    assert_reason_has(p, "10.0.0.3:6379 reports its link up to master "
                         "10.9.9.9:6379 (not in the list)");
    assert_reason_has(p, "refusing");
}

/* The listed master does not answer us, but a replica still hears from it:
 * a partition between this tool and the master, not a dead master. */
static void test_replica_linked_to_unreachable_listed_master(void **state)
{
    struct world *w = *state;
    struct rsm_plan *p;

    add_down(w, "10.0.0.1");
    add_replica(w, "10.0.0.2", "10.0.0.1", true, 2000);
    add_replica(w, "10.0.0.3", "10.0.0.1", false, 1000);
    p = decide(w);
    assert_int_equal(p->verdict, RSM_VERDICT_MASTER_ELSEWHERE);
    assert_false(rsm_plan_acts(p));
    assert_reason_has(p, "listed, unreachable here");
}

/* --- re-pointing --- */

static void test_replica_following_other_address_is_repointed(void **state)
{
    struct world *w = *state;
    struct rsm_plan *p;

    size_t m = add_master(w, "10.0.0.1", 5000);
    add_replica(w, "10.0.0.2", "10.0.0.1", true, 5000);
    size_t stray = add_replica(w, "10.0.0.3", "10.0.0.7", false, 3000);
    p = decide(w);
    assert_int_equal(p->verdict, RSM_VERDICT_REPOINT);
    assert_int_equal(p->master, m);
    assert_false(p->promote);
    assert_int_equal(p->n_repoint, 1);
    assert_int_equal(p->repoint[0], stray);
    assert_true(rsm_plan_acts(p));
    assert_reason_has(p, "master 10.0.0.1:6379 is up");
    assert_reason_has(p, "10.0.0.3:6379 follows 10.0.0.7:6379");
}

/* An INFO reply without a role: we cannot place it, so we leave it. */
static void test_unknown_role_is_left_alone(void **state)
{
    struct world *w = *state;
    struct rsm_plan *p;

    add_master(w, "10.0.0.1", 5000);
    size_t odd = add(w, "10.0.0.2", true);
    p = decide(w);
    assert_int_equal(p->verdict, RSM_VERDICT_HEALTHY);
    assert_false(repoints(p, odd));
    assert_reason_has(p, "unknown role, left alone: 10.0.0.2:6379");
}

/* --- bad input --- */

static void test_too_many_endpoints(void **state)
{
    struct world *w = *state;
    struct rsm_candidate many[RSM_TOPOLOGY_MAX + 1];

    memset(many, 0, sizeof many);
    assert_int_equal(
        rsm_topology_decide(many, RSM_TOPOLOGY_MAX + 1, &w->cfg, &w->plan),
        RSM_EINVAL);
    assert_false(rsm_plan_acts(&w->plan));
    assert_reason_has(&w->plan, "65 endpoints");
}

static void test_same_address_twice_rejected(void **state)
{
    struct world *w = *state;

    add_master(w, "10.0.0.1", 5000);
    add_master(w, "10.0.0.1", 5000);
    assert_int_equal(rsm_topology_decide(w->c, w->n, &w->cfg, &w->plan),
                     RSM_EINVAL);
    assert_false(rsm_plan_acts(&w->plan));
    assert_reason_has(&w->plan, "10.0.0.1:6379 is listed twice");
}

/* A DNS name and the IP behind it: the same run_id. Without the check this
 * would be "two masters" and the master re-pointed to itself. */
static void test_same_instance_by_run_id_rejected(void **state)
{
    struct world *w = *state;

    size_t a = add_master(w, "redis-0.redis", 5000);
    size_t b = add_master(w, "10.0.0.1", 5000);
    memcpy(w->info[b].run_id, w->info[a].run_id, sizeof w->info[b].run_id);
    assert_int_equal(rsm_topology_decide(w->c, w->n, &w->cfg, &w->plan),
                     RSM_EINVAL);
    assert_false(rsm_plan_acts(&w->plan));
    assert_reason_has(&w->plan, "same instance");
}

/* Many long names: the reason is cut, and says so. */
static void test_long_reason_is_marked_truncated(void **state)
{
    struct world *w = *state;
    struct rsm_plan *p;
    char host[64];

    add_down(w, "old-master.redis.example.svc.cluster.local");
    for (int i = 0; i < 20; i++) {
        snprintf(host, sizeof host, "replica-%02d.redis.example.svc.cluster",
                 i);
        add_replica(w, host, "old-master.redis.example.svc.cluster.local",
                    false, 1000 + i);
    }
    p = decide(w);
    assert_int_equal(p->verdict, RSM_VERDICT_PROMOTE);
    assert_int_equal(p->n_repoint, 19);
    assert_int_equal(strlen(p->reason), sizeof p->reason - 1);
    assert_string_equal(p->reason + sizeof p->reason - 4, "...");
    assert_reason_has(p, "promoting replica-19.redis.example.svc.cluster:6379");
}

/* --- names --- */

static void test_verdict_names_and_plan_acts(void **state)
{
    static const char *const want[] = {
        "healthy",          "repoint",      "promote",    "misconfigured",
        "master-elsewhere", "no-candidate", "unreachable"};
    struct rsm_plan p;

    for (int v = RSM_VERDICT_HEALTHY; v <= RSM_VERDICT_UNREACHABLE; v++)
        assert_string_equal(rsm_verdict_str((enum rsm_verdict)v), want[v]);
    assert_string_equal(rsm_verdict_str((enum rsm_verdict)42), "unknown");
    memset(&p, 0, sizeof p);
    assert_false(rsm_plan_acts(&p));
    p.promote = true;
    assert_true(rsm_plan_acts(&p));
    p.promote = false;
    p.n_repoint = 1;
    assert_true(rsm_plan_acts(&p));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_seed_valid_set_max_offset_chosen),
        T(test_empty_input_is_unreachable_nothing_to_do),
        T(test_all_unreachable),
        T(test_healthy_master_does_nothing),
        T(test_healthy_reports_replicas_still_syncing),
        T(test_misconfigured_two_masters_higher_offset_stays),
        T(test_misconfigured_independent_of_order),
        T(test_misconfigured_no_eligible_master),
        T(test_master_unreachable_promotes_best_replica),
        T(test_priority_zero_top_offset_skipped),
        T(test_all_priority_zero_no_candidate),
        T(test_link_down_too_long_replica_skipped),
        T(test_promote_keeps_chained_replica),
        T(test_replica_linked_to_unlisted_master_is_master_elsewhere),
        T(test_replica_linked_to_unreachable_listed_master),
        T(test_replica_following_other_address_is_repointed),
        T(test_unknown_role_is_left_alone),
        T(test_too_many_endpoints),
        T(test_same_address_twice_rejected),
        T(test_same_instance_by_run_id_rejected),
        T(test_long_reason_is_marked_truncated),
        T(test_verdict_names_and_plan_acts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
