/* test_http_api.c - unit tests for the pure parts of io/http_api: the
 * readiness rule and the /metrics rendering from hand-built inputs (a real
 * FSM fed entries, node status and monitor observations filled by hand).
 * The served endpoints are tested against real agents in
 * tests/integration/test_http_api.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsm/err.h"
#include "rsm/fsm.h"
#include "rsm/http_api.h"
#include "rsm/transport.h"

#define A "10.0.0.1:6379"
#define B "10.0.0.2:6379"
#define C "10.0.0.3:6379"

static void addr(struct rsm_addr *a, const char *text)
{
    char err[RSM_ERRMSG_SIZE];

    assert_int_equal(rsm_addr_parse(text, a, err, sizeof err), 0);
}

static void apply(struct rsm_fsm *fsm, struct rsm_entry *e)
{
    char reason[RSM_REASON_MAX];

    if (rsm_fsm_apply(fsm, e, reason, sizeof reason) != 0)
        fail_msg("apply: %s", reason);
}

/* Group g: master A, then a completed failover A -> B decided at 10 s and
 * ended at 12.5 s; then an aborted one. */
static void build_fsm(struct rsm_fsm *fsm)
{
    struct rsm_entry e;

    rsm_fsm_init(fsm);
    rsm_entry_init(&e, RSM_ENTRY_OBSERVE_MASTER, "g", 1000);
    addr(&e.master, A);
    e.n_members = 3;
    addr(&e.members[0], A);
    addr(&e.members[1], B);
    addr(&e.members[2], C);
    apply(fsm, &e);
    rsm_entry_init(&e, RSM_ENTRY_DECIDE_FAILOVER, "g", 10000);
    e.epoch = 1;
    addr(&e.old_master, A);
    addr(&e.master, B);
    apply(fsm, &e);
    rsm_entry_init(&e, RSM_ENTRY_COMPLETE_FAILOVER, "g", 12500);
    e.epoch = 1;
    apply(fsm, &e);
    rsm_entry_init(&e, RSM_ENTRY_DECIDE_FAILOVER, "g", 20000);
    e.epoch = 2;
    addr(&e.old_master, B);
    addr(&e.master, C);
    apply(fsm, &e);
    rsm_entry_init(&e, RSM_ENTRY_ABORT_FAILOVER, "g", 20500);
    e.epoch = 2;
    apply(fsm, &e);
}

static void node_status(struct rsm_node_status *st, const char *state,
                        bool has_leader)
{
    memset(st, 0, sizeof *st);
    st->id = 2;
    st->state = state;
    st->term = 7;
    st->has_leader = has_leader;
    st->leader.id = 1;
    st->commit_index = 40;
    st->applied_index = 39;
    st->last_index = 41;
    st->leader_changes = 3;
    st->n_members = 3;
}

/* Monitor view of g: B up, A down, C unknown. */
static void mon_group(struct rsm_metrics_monitor_group *m, bool acting)
{
    memset(m, 0, sizeof *m);
    m->status.name = "g";
    m->status.acting = acting;
    m->status.verdict.status = RSM_MASTER_OK;
    m->status.n = 3;
    addr(&m->status.obs[0].addr, A);
    m->status.obs[0].state = RSM_HEALTH_DOWN;
    addr(&m->status.obs[1].addr, B);
    m->status.obs[1].state = RSM_HEALTH_UP;
    addr(&m->status.obs[2].addr, C);
    m->status.obs[2].state = RSM_HEALTH_UNKNOWN;
    m->latency.buckets[0] = 2;                               /* <= 0.25 ms */
    m->latency.buckets[2] = 3;                               /* <= 1 ms */
    m->latency.buckets[RSM_MONITOR_LATENCY_BUCKETS - 1] = 1; /* > 1 s */
    m->latency.count = 6;
    m->latency.sum_ms = 1500;
    m->latency.failed = 4;
}

static char *render(const struct rsm_node_status *st, const struct rsm_fsm *fsm,
                    const struct rsm_metrics_monitor_group *mon, size_t n_mon,
                    const char *version)
{
    struct rsm_metrics_input in;
    char *text;

    memset(&in, 0, sizeof in);
    in.version = version;
    in.uptime_s = 12.5;
    in.st = st;
    in.fsm = fsm;
    in.mon = mon;
    in.n_mon = n_mon;
    in.have_api = true;
    in.api_clients = 5;
    in.http_clients = 1;
    text = rsm_http_api_render_metrics(&in);
    assert_non_null(text);
    return text;
}

static void has_line(const char *text, const char *line)
{
    char want[512];

    snprintf(want, sizeof want, "\n%s\n", line);
    if (strstr(text, want) == NULL)
        fail_msg("missing line: %s", line);
}

static void lacks(const char *text, const char *what)
{
    if (strstr(text, what) != NULL)
        fail_msg("unexpected: %s", what);
}

/* Every sample's family has one TYPE line, before it, and the samples of
 * a family are together. */
static void check_families(const char *text)
{
    char *copy = strdup(text), *save = NULL, current[128] = "";
    char seen[64][128];
    int n_seen = 0;

    assert_non_null(copy);
    assert_int_equal(text[strlen(text) - 1], '\n');
    for (char *l = strtok_r(copy, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
        char name[128];
        if (strncmp(l, "# TYPE ", 7) == 0) {
            sscanf(l + 7, "%127s", name);
            for (int i = 0; i < n_seen; i++)
                if (strcmp(seen[i], name) == 0)
                    fail_msg("second TYPE for %s", name);
            assert_true(n_seen < 64);
            strcpy(seen[n_seen++], name);
            strcpy(current, name);
            continue;
        }
        if (l[0] == '#')
            continue;
        sscanf(l, "%127[^{ ]", name);
        if (strncmp(name, current, strlen(current)) != 0)
            fail_msg("sample %s outside its family (current %s)", name,
                     current);
    }
    free(copy);
}

static void test_ready_rule(void **state)
{
    struct rsm_node_status st;
    char why[128];

    (void)state;
    node_status(&st, "follower", true);
    assert_true(rsm_http_api_ready(&st, why, sizeof why));
    assert_string_equal(why, "follower, leader 1, term 7");
    node_status(&st, "leader", true);
    assert_true(rsm_http_api_ready(&st, NULL, 0));
    node_status(&st, "follower", false); /* lost its leader */
    assert_false(rsm_http_api_ready(&st, why, sizeof why));
    assert_string_equal(why, "no leader known (follower, term 7)");
    node_status(&st, "candidate", false);
    assert_false(rsm_http_api_ready(&st, why, sizeof why));
    node_status(&st, "unavailable", true); /* shutting down */
    assert_false(rsm_http_api_ready(&st, why, sizeof why));
}

static void test_metrics_of_the_leader(void **state)
{
    struct rsm_node_status st;
    struct rsm_fsm fsm;
    struct rsm_metrics_monitor_group mon;
    char *t;

    (void)state;
    node_status(&st, "leader", true);
    build_fsm(&fsm);
    mon_group(&mon, true);
    t = render(&st, &fsm, &mon, 1, "0.1.0");
    check_families(t);
    has_line(t, "# TYPE rsm_raft_state gauge");
    has_line(t, "rsm_raft_state{state=\"leader\"} 1");
    has_line(t, "rsm_raft_state{state=\"follower\"} 0");
    has_line(t, "rsm_raft_term 7");
    has_line(t, "rsm_raft_commit_index 40");
    has_line(t, "rsm_raft_applied_index 39");
    has_line(t, "rsm_raft_leader_changes_total 3");
    has_line(t, "rsm_fsm_entries_total{result=\"applied\"} 5");
    has_line(t, "rsm_group_master{group=\"g\",master=\"" B "\"} 1");
    has_line(t, "rsm_group_epoch{group=\"g\"} 2");
    has_line(t,
             "rsm_group_failovers_total{group=\"g\",result=\"completed\"} 1");
    has_line(t, "rsm_group_failovers_total{group=\"g\",result=\"aborted\"} 1");
    /* the latest history item is the aborted one: 20.0 s -> 20.5 s */
    has_line(t, "rsm_group_last_failover_duration_seconds{group=\"g\"} 0.500");
    has_line(t, "rsm_group_last_failover_end_timestamp_seconds{group=\"g\"} "
                "20.500");
    has_line(t, "rsm_monitor_acting 1");
    has_line(t, "rsm_group_instances{group=\"g\",state=\"up\"} 1");
    has_line(t, "rsm_group_instances{group=\"g\",state=\"down\"} 1");
    has_line(t, "rsm_group_instances{group=\"g\",state=\"unknown\"} 1");
    has_line(t, "rsm_instance_up{group=\"g\",instance=\"" A "\"} 0");
    has_line(t, "rsm_instance_up{group=\"g\",instance=\"" B "\"} 1");
    lacks(t, "instance=\"" C "\""); /* unknown: no sample */
    has_line(t, "rsm_group_master_status{group=\"g\",status=\"ok\"} 1");
    has_line(t, "rsm_group_master_status{group=\"g\",status=\"down\"} 0");
    has_line(t, "# TYPE rsm_probe_duration_seconds histogram");
    has_line(t, "rsm_probe_duration_seconds_bucket{group=\"g\",le=\"0.00025\"}"
                " 2");
    has_line(t, "rsm_probe_duration_seconds_bucket{group=\"g\",le=\"0.0005\"} "
                "2");
    has_line(t,
             "rsm_probe_duration_seconds_bucket{group=\"g\",le=\"0.001\"} 5");
    has_line(t, "rsm_probe_duration_seconds_bucket{group=\"g\",le=\"1\"} 5");
    has_line(t, "rsm_probe_duration_seconds_bucket{group=\"g\",le=\"+Inf\"} 6");
    has_line(t, "rsm_probe_duration_seconds_sum{group=\"g\"} 1.500000");
    has_line(t, "rsm_probe_duration_seconds_count{group=\"g\"} 6");
    has_line(t, "rsm_probe_failures_total{group=\"g\"} 4");
    has_line(t, "rsm_api_clients 5");
    has_line(t, "rsm_http_clients 1");
    free(t);
    rsm_fsm_close(&fsm);
}

static void test_metrics_of_a_follower(void **state)
{
    struct rsm_node_status st;
    struct rsm_fsm fsm;
    struct rsm_metrics_monitor_group mon;
    char *t;

    (void)state;
    node_status(&st, "follower", true);
    build_fsm(&fsm);
    mon_group(&mon, false);
    t = render(&st, &fsm, &mon, 1, "0.1.0");
    check_families(t);
    has_line(t, "rsm_monitor_acting 0");
    /* a follower only probes the committed master (B) */
    has_line(t, "rsm_group_instances{group=\"g\",state=\"up\"} 1");
    has_line(t, "rsm_group_instances{group=\"g\",state=\"down\"} 0");
    has_line(t, "rsm_group_instances{group=\"g\",state=\"unknown\"} 0");
    has_line(t, "rsm_instance_up{group=\"g\",instance=\"" B "\"} 1");
    lacks(t, "instance=\"" A "\"");
    lacks(t, "rsm_group_master_status{");
    free(t);
    rsm_fsm_close(&fsm);
}

static void test_metrics_without_groups_and_escaping(void **state)
{
    struct rsm_node_status st;
    char *t;

    (void)state;
    node_status(&st, "candidate", false);
    t = render(&st, NULL, NULL, 0, "x\"y\\z\nw");
    check_families(t);
    has_line(t, "rsm_build_info{version=\"x\\\"y\\\\z\\nw\"} 1");
    has_line(t, "rsm_raft_has_leader 0");
    has_line(t, "rsm_raft_leader_id 0");
    has_line(t, "rsm_raft_state{state=\"candidate\"} 1");
    has_line(t, "# TYPE rsm_group_master gauge"); /* families stay */
    lacks(t, "rsm_group_master{");
    lacks(t, "rsm_probe_duration_seconds_bucket");
    free(t);
}

/* The Raft port's counters: shown when given, absent otherwise. */
static void test_metrics_of_the_raft_port(void **state)
{
    struct rsm_transport_stats ts = {.authenticated = true,
                                     .auth_refused = 7,
                                     .auth_failed = 2,
                                     .connect_errors = 3,
                                     .resolve_errors = 1};
    struct rsm_metrics_input in;
    struct rsm_node_status st;
    char *t;

    (void)state;
    node_status(&st, "leader", true);
    memset(&in, 0, sizeof in);
    in.st = &st;
    in.transport = &ts;
    t = rsm_http_api_render_metrics(&in);
    assert_non_null(t);
    check_families(t);
    has_line(t, "rsm_raft_auth_enabled 1");
    has_line(t, "# TYPE rsm_raft_auth_refused_total counter");
    has_line(t, "rsm_raft_auth_refused_total 7");
    has_line(t, "rsm_raft_auth_failed_total 2");
    has_line(t, "rsm_raft_connect_errors_total 3");
    has_line(t, "rsm_raft_resolve_errors_total 1");
    free(t);
    ts.authenticated = false;
    t = rsm_http_api_render_metrics(&in);
    assert_non_null(t);
    has_line(t, "rsm_raft_auth_enabled 0");
    free(t);
    t = render(&st, NULL, NULL, 0, "0.1.0"); /* no transport given */
    lacks(t, "rsm_raft_auth");
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready_rule),
        cmocka_unit_test(test_metrics_of_the_leader),
        cmocka_unit_test(test_metrics_of_a_follower),
        cmocka_unit_test(test_metrics_without_groups_and_escaping),
        cmocka_unit_test(test_metrics_of_the_raft_port),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
