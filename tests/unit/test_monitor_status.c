/* test_monitor_status.c - unit tests for io/monitor_status: one group's
 * per-instance JSON from hand-made observations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "rsm/monitor_status.h"

struct fixture {
    struct rsm_monitor_group_status gs;
    struct rsm_info info[RSM_MAX_MEMBERS];
};

static void set_addr(struct rsm_addr *a, uint16_t port)
{
    assert_int_equal(rsm_addr_set(a, "127.0.0.1", port, NULL, 0), 0);
}

/* Instance i at port 7000+i: up, with a fresh INFO of the given role. */
static struct rsm_info *add_instance(struct fixture *f, enum rsm_role role)
{
    unsigned i = f->gs.n++;
    struct rsm_observation *ob = &f->gs.obs[i];
    struct rsm_info *info = &f->info[i];

    set_addr(&ob->addr, (uint16_t)(7000 + i));
    ob->state = RSM_HEALTH_UP;
    ob->info = info;
    ob->info_age_ms = 40;
    ob->role_age_ms = 10000;
    ob->no_reply_ms = 40;
    rsm_info_init(info);
    info->role = role;
    return info;
}

/* A replica of 127.0.0.1:master_port at offset, link up. */
static struct rsm_info *add_replica(struct fixture *f, uint16_t master_port,
                                    int64_t offset)
{
    struct rsm_info *info = add_instance(f, RSM_ROLE_REPLICA);

    set_addr(&info->master, master_port);
    info->link_up = true;
    info->master_last_io_s = 1;
    info->slave_repl_offset = offset;
    info->master_repl_offset = offset;
    info->priority = 100;
    info->has_priority = true;
    return info;
}

static int setup(void **state)
{
    struct fixture *f = test_calloc(1, sizeof *f);

    assert_non_null(f);
    f->gs.name = "g1";
    f->gs.last_reason = "master up: nothing to do";
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    test_free(*state);
    return 0;
}

static json_t *instance(json_t *g, size_t i)
{
    json_t *o = json_array_get(json_object_get(g, "instances"), i);

    assert_non_null(o);
    return o;
}

static json_int_t get_int(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static const char *get_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    assert_true(json_is_string(v));
    return json_string_value(v);
}

static void assert_null_field(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    assert_non_null(v); /* present... */
    assert_true(json_is_null(v));
}

static void test_master_and_replicas_with_lag(void **state)
{
    struct fixture *f = *state;
    json_t *g, *m, *r;

    add_instance(f, RSM_ROLE_MASTER)->master_repl_offset = 5000;
    add_replica(f, 7000, 4200); /* behind */
    add_replica(f, 7000, 5100); /* ahead of the master's last INFO */
    f->info[1].priority = 10;
    g = rsm_monitor_group_status_json(&f->gs);
    assert_non_null(g);
    assert_string_equal(get_str(g, "name"), "g1");
    assert_string_equal(get_str(g, "last_reason"), "master up: nothing to do");

    m = instance(g, 0);
    assert_string_equal(get_str(m, "addr"), "127.0.0.1:7000");
    assert_string_equal(get_str(m, "state"), "up");
    assert_string_equal(get_str(m, "role"), "master");
    assert_int_equal(get_int(m, "offset"), 5000);
    assert_null_field(m, "master");
    assert_null_field(m, "link");
    assert_null_field(m, "lag_bytes");
    assert_null_field(m, "priority");
    assert_int_equal(get_int(m, "info_age_ms"), 40);

    r = instance(g, 1);
    assert_string_equal(get_str(r, "role"), "replica");
    assert_string_equal(get_str(r, "master"), "127.0.0.1:7000");
    assert_string_equal(get_str(r, "link"), "up");
    assert_int_equal(get_int(r, "offset"), 4200);
    assert_int_equal(get_int(r, "lag_bytes"), 800);
    assert_int_equal(get_int(r, "priority"), 10);
    assert_int_equal(get_int(r, "last_io_s"), 1);
    assert_false(json_is_true(json_object_get(r, "restarted_empty")));

    assert_int_equal(get_int(instance(g, 2), "lag_bytes"), 0);
    json_decref(g);
}

static void test_no_master_known_means_no_lag(void **state)
{
    struct fixture *f = *state;
    json_t *g, *r;

    add_replica(f, 6999, 100)->link_up = false; /* master not in the group */
    f->info[0].master_last_io_s = -1;
    add_replica(f, 7000, 100); /* its "master" is a replica */
    f->info[1].has_priority = false;
    g = rsm_monitor_group_status_json(&f->gs);
    assert_non_null(g);
    r = instance(g, 0);
    assert_string_equal(get_str(r, "master"), "127.0.0.1:6999");
    assert_string_equal(get_str(r, "link"), "down");
    assert_null_field(r, "lag_bytes");
    assert_null_field(r, "last_io_s");
    r = instance(g, 1);
    assert_null_field(r, "lag_bytes");
    assert_null_field(r, "priority");
    json_decref(g);
}

static void test_master_without_offset_means_no_lag(void **state)
{
    struct fixture *f = *state;
    json_t *g;

    add_instance(f, RSM_ROLE_MASTER); /* master_repl_offset -1 */
    add_replica(f, 7000, 100);
    g = rsm_monitor_group_status_json(&f->gs);
    assert_non_null(g);
    assert_null_field(instance(g, 0), "offset");
    assert_null_field(instance(g, 1), "lag_bytes");
    json_decref(g);
}

static void test_instance_without_info_is_all_nulls(void **state)
{
    struct fixture *f = *state;
    struct rsm_observation *ob;
    json_t *g, *o;

    add_instance(f, RSM_ROLE_MASTER);
    ob = &f->gs.obs[0];
    ob->info = NULL;
    ob->info_age_ms = -1;
    ob->state = RSM_HEALTH_DOWN;
    ob->no_reply_ms = 6000;
    ob->restarted_empty = true;
    g = rsm_monitor_group_status_json(&f->gs);
    assert_non_null(g);
    o = instance(g, 0);
    assert_string_equal(get_str(o, "state"), "down");
    assert_string_equal(get_str(o, "role"), "unknown");
    assert_null_field(o, "offset");
    assert_null_field(o, "lag_bytes");
    assert_null_field(o, "info_age_ms");
    assert_int_equal(get_int(o, "no_reply_ms"), 6000);
    assert_true(json_is_true(json_object_get(o, "restarted_empty")));
    json_decref(g);
}

static void test_verdict_only_when_acting(void **state)
{
    struct fixture *f = *state;
    json_t *g, *v;

    add_instance(f, RSM_ROLE_MASTER);
    g = rsm_monitor_group_status_json(&f->gs);
    assert_non_null(g);
    assert_false(json_is_true(json_object_get(g, "acting")));
    assert_null_field(g, "verdict");
    json_decref(g);

    f->gs.acting = true;
    f->gs.verdict.status = RSM_MASTER_UNREACHABLE_FROM_AGENT;
    strcpy(f->gs.verdict.reason, "no reply for 600 ms");
    set_addr(&f->gs.verdict_master, 7000);
    f->gs.verdict.no_reply_ms = 600;
    f->gs.verdict.down_ms = -1;
    f->gs.verdict.votes = 1;
    f->gs.verdict.n_agents = 3;
    f->gs.verdict.quorum = 2;
    g = rsm_monitor_group_status_json(&f->gs);
    assert_non_null(g);
    assert_true(json_is_true(json_object_get(g, "acting")));
    json_decref(g);

    memset(&f->gs.verdict_master, 0, sizeof f->gs.verdict_master);
    g = rsm_monitor_group_status_json(&f->gs); /* no verdict yet */
    assert_non_null(g);
    assert_null_field(json_object_get(g, "verdict"), "master");
    json_decref(g);

    set_addr(&f->gs.verdict_master, 7000);
    g = rsm_monitor_group_status_json(&f->gs);
    assert_non_null(g);
    v = json_object_get(g, "verdict");
    assert_string_equal(get_str(v, "master"), "127.0.0.1:7000");
    assert_string_equal(get_str(v, "status"), "unreachable-from-agent");
    assert_string_equal(get_str(v, "reason"), "no reply for 600 ms");
    assert_int_equal(get_int(v, "no_reply_ms"), 600);
    assert_null_field(v, "down_ms");
    assert_int_equal(get_int(v, "votes"), 1);
    assert_int_equal(get_int(v, "n_agents"), 3);
    assert_int_equal(get_int(v, "quorum"), 2);
    json_decref(g);
}

static void test_empty_group(void **state)
{
    struct fixture *f = *state;
    json_t *g;

    f->gs.last_reason = NULL;
    g = rsm_monitor_group_status_json(&f->gs);
    assert_non_null(g);
    assert_int_equal(json_array_size(json_object_get(g, "instances")), 0);
    assert_string_equal(get_str(g, "last_reason"), "");
    json_decref(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_master_and_replicas_with_lag,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_master_known_means_no_lag,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_master_without_offset_means_no_lag,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_instance_without_info_is_all_nulls,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_verdict_only_when_acting, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_empty_group, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
