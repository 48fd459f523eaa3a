/* test_boot.c - unit tests for core/boot: which agent's view is trusted,
 * what a starting Redis must be, the fallback without agents, and the RDB
 * content check (on files written by a real redis-server 7.0 and on
 * crafted bytes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsm/boot.h"
#include "rsm/err.h"

#define A "redis-0.redis.ns.svc:6379"
#define B "redis-1.redis.ns.svc:6379"

static struct rsm_addr ad(const char *text)
{
    struct rsm_addr a;
    char err[RSM_ERRMSG_SIZE];

    assert_int_equal(rsm_addr_parse(text, &a, err, sizeof err), 0);
    return a;
}

static struct rsm_boot_view view(uint64_t id, bool leader, uint64_t term,
                                 uint64_t applied)
{
    struct rsm_boot_view v;

    memset(&v, 0, sizeof v);
    v.agent_id = id;
    v.is_leader = leader;
    v.has_leader = true;
    v.term = term;
    v.applied_index = applied;
    v.group_known = true;
    v.has_master = true;
    v.master = ad(A);
    v.epoch = 3;
    v.n_members = 3;
    return v;
}

static void test_pick_prefers_leader_then_most_advanced(void **state)
{
    struct rsm_boot_view v[4];

    (void)state;
    v[0] = view(1, false, 5, 10);
    v[1] = view(2, false, 5, 12);
    v[2] = view(3, false, 6, 1); /* higher term wins over index */
    v[3] = view(4, false, 9, 99);
    v[3].has_leader = false; /* cut off: never trusted */
    assert_ptr_equal(rsm_boot_pick(v, 4), &v[2]);
    v[0].is_leader = true;
    assert_ptr_equal(rsm_boot_pick(v, 4), &v[0]);
    assert_null(rsm_boot_pick(&v[3], 1));
    assert_null(rsm_boot_pick(v, 0));
}

static void test_replica_of_the_committed_master(void **state)
{
    struct rsm_boot_view v = view(1, true, 2, 2);
    struct rsm_addr self = ad(B);
    struct rsm_boot_decision d;

    (void)state;
    rsm_boot_decide(&v, &self, false, &d);
    assert_int_equal(d.action, RSM_BOOT_REPLICA);
    assert_true(rsm_addr_equal(&d.master, &v.master));
    rsm_boot_decide(&v, &self, true, &d); /* data or not */
    assert_int_equal(d.action, RSM_BOOT_REPLICA);
    assert_non_null(strstr(d.reason, "committed master (epoch 3)"));
}

static void test_master_only_with_data(void **state)
{
    struct rsm_boot_view v = view(1, true, 2, 2);
    struct rsm_addr self = ad("REDIS-0.redis.ns.svc:6379"); /* same host */
    struct rsm_boot_decision d;

    (void)state;
    rsm_boot_decide(&v, &self, true, &d);
    assert_int_equal(d.action, RSM_BOOT_MASTER);
    rsm_boot_decide(&v, &self, false, &d);
    assert_int_equal(d.action, RSM_BOOT_WAIT);
    assert_non_null(strstr(d.reason, "waiting for the agents to fail over"));
    v.n_members = 1; /* nobody to wipe */
    rsm_boot_decide(&v, &self, false, &d);
    assert_int_equal(d.action, RSM_BOOT_MASTER);
}

static void test_first_bootstrap_and_in_flight(void **state)
{
    struct rsm_boot_view v = view(1, true, 2, 2);
    struct rsm_addr self = ad(A);
    struct rsm_boot_decision d;

    (void)state;
    v.has_master = false;
    rsm_boot_decide(&v, &self, false, &d);
    assert_int_equal(d.action, RSM_BOOT_MASTER);
    assert_non_null(strstr(d.reason, "first bootstrap"));
    v.group_known = false;
    rsm_boot_decide(&v, &self, false, &d);
    assert_int_equal(d.action, RSM_BOOT_MASTER);
    /* a failover in flight, bootstrap or not: wait for its end */
    v.group_known = v.in_flight = true;
    v.in_flight_new = ad(B);
    rsm_boot_decide(&v, &self, true, &d);
    assert_int_equal(d.action, RSM_BOOT_WAIT);
    assert_non_null(strstr(d.reason, "in flight (new master " B ")"));
    v.has_master = true;
    self = ad(B);
    rsm_boot_decide(&v, &self, true, &d);
    assert_int_equal(d.action, RSM_BOOT_WAIT);
}

static void test_fallback(void **state)
{
    struct rsm_addr self = ad(A), other = ad(B);
    struct rsm_boot_decision d;

    (void)state;
    rsm_boot_fallback(&self, NULL, &d);
    assert_int_equal(d.action, RSM_BOOT_GIVE_UP);
    rsm_boot_fallback(&self, &self, &d);
    assert_int_equal(d.action, RSM_BOOT_GIVE_UP);
    rsm_boot_fallback(&self, &other, &d);
    assert_int_equal(d.action, RSM_BOOT_REPLICA);
    assert_true(rsm_addr_equal(&d.master, &other));
    assert_string_equal(rsm_boot_action_str(d.action), "replica");
}

/* ---- RDB content --------------------------------------------------------- */

static size_t load(const char *name, unsigned char *buf, size_t cap)
{
    char path[512];
    FILE *f;
    size_t n;

    snprintf(path, sizeof path, "%s/rdb/%s", RSM_FIXTURES, name);
    f = fopen(path, "rb");
    assert_non_null(f);
    n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void test_rdb_files_of_redis_7(void **state)
{
    unsigned char buf[4096];
    size_t n;

    (void)state;
    n = load("empty-7.0.rdb", buf, sizeof buf);
    assert_int_equal(rsm_boot_rdb_content(buf, n), RSM_RDB_EMPTY);
    n = load("one-key-7.0.rdb", buf, sizeof buf);
    assert_int_equal(rsm_boot_rdb_content(buf, n), RSM_RDB_DATA);
    n = load("function-only-7.0.rdb", buf, sizeof buf);
    assert_int_equal(rsm_boot_rdb_content(buf, n), RSM_RDB_DATA);
    /* every cut of the empty file before its EOF opcode is unreadable */
    n = load("empty-7.0.rdb", buf, sizeof buf);
    for (size_t cut = 0; cut < n - 9; cut++)
        assert_int_equal(rsm_boot_rdb_content(buf, cut), RSM_RDB_UNREADABLE);
}

static void test_rdb_crafted(void **state)
{
    /* aux with a 14-bit length key, an int32 value, an LZF value */
    static const unsigned char lzf[] = {
        'R',  'E',  'D',  'I',  'S',  '0', '0', '1', '1', 0xFA,
        0x40, 0x02, 'a',  'b',  0xC2, 1,   2,   3,   4,   0xFA,
        0x01, 'k',  0xC3, 0x03, 0x05, 'x', 'y', 'z', 0xFF};
    static const unsigned char data[] = {'R', 'E', 'D', 'I',  'S', '0',
                                         '0', '0', '9', 0xFE, 0x00};
    static const unsigned char big[] = {'R',  'E',  'D',  'I',  'S',  '0',
                                        '0',  '1',  '0',  0xFA, 0x80, 0xFF,
                                        0xFF, 0xFF, 0xFF, 'x'};
    static const unsigned char bad_enc[] = {
        'R', 'E', 'D', 'I', 'S', '0', '0', '1', '0', 0xFA, 0xC7, 0x00, 0xFF};

    (void)state;
    assert_int_equal(rsm_boot_rdb_content(lzf, sizeof lzf), RSM_RDB_EMPTY);
    assert_int_equal(rsm_boot_rdb_content(data, sizeof data), RSM_RDB_DATA);
    assert_int_equal(rsm_boot_rdb_content(big, sizeof big), RSM_RDB_UNREADABLE);
    assert_int_equal(rsm_boot_rdb_content(bad_enc, sizeof bad_enc),
                     RSM_RDB_UNREADABLE);
    assert_int_equal(rsm_boot_rdb_content("REDIS00x0\xff", 10),
                     RSM_RDB_UNREADABLE);
    assert_int_equal(rsm_boot_rdb_content("*2\r\n$6\r\nSELECT", 15),
                     RSM_RDB_UNREADABLE);
    assert_int_equal(rsm_boot_rdb_content("", 0), RSM_RDB_UNREADABLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick_prefers_leader_then_most_advanced),
        cmocka_unit_test(test_replica_of_the_committed_master),
        cmocka_unit_test(test_master_only_with_data),
        cmocka_unit_test(test_first_bootstrap_and_in_flight),
        cmocka_unit_test(test_fallback),
        cmocka_unit_test(test_rdb_files_of_redis_7),
        cmocka_unit_test(test_rdb_crafted),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
