/* test_info.c - unit tests for core/info.
 *
 * The fixtures in fixtures/info/ are real redis-server 7.0.15 replies
 * captured byte-exact by fixtures/info/capture.sh; the expected values below
 * are the ones in those files (ports, offsets and ids change if they are
 * captured again). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsm/err.h"
#include "rsm/info.h"

#define REPLID "86d9e4488e32dc49c26b3d9490b0574c13ac2d8b"

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

/* A fixture file in a heap buffer of exactly its size (no NUL after it), so
 * that ASan catches any read past len. */
struct blob {
    char *p;
    size_t n;
};

static struct blob load(const char *name)
{
    char path[512];
    struct blob b = {NULL, 0};
    FILE *f;
    long size;

    snprintf(path, sizeof path, "%s/info/%s", RSM_FIXTURES, name);
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    assert_true(size > 0);
    rewind(f);
    b.n = (size_t)size;
    b.p = malloc(b.n);
    assert_non_null(b.p);
    assert_int_equal(fread(b.p, 1, b.n, f), b.n);
    fclose(f);
    return b;
}

/* Parse a fixture into *info (initialised first unless merge). */
static void parse_fixture(const char *name, struct rsm_info *info, bool merge)
{
    struct blob b = load(name);
    char err[RSM_ERRMSG_SIZE] = "";

    if (!merge)
        rsm_info_init(info);
    if (rsm_info_parse(info, b.p, b.n, err, sizeof err) != 0)
        fail_msg("%s: %s", name, err);
    free(b.p);
}

/* Parse a string (copied into an exact-size heap buffer). */
static int parse_str(struct rsm_info *info, const char *text, char *err,
                     size_t errlen)
{
    size_t n = strlen(text);
    char *p = malloc(n ? n : 1);
    int rv;

    assert_non_null(p);
    memcpy(p, text, n);
    rv = rsm_info_parse(info, p, n, err, errlen);
    free(p);
    return rv;
}

static void assert_replica(const struct rsm_info_replica *r, const char *ip,
                           unsigned port, const char *state, int64_t offset,
                           int64_t lag)
{
    assert_string_equal(r->ip, ip);
    assert_int_equal(r->port, port);
    assert_string_equal(r->state, state);
    assert_int_equal(r->offset, offset);
    assert_int_equal(r->lag, lag);
}

/* Field-by-field equality (the struct has padding: no memcmp). */
static void assert_info_equal(const struct rsm_info *a,
                              const struct rsm_info *b)
{
    assert_int_equal(a->role, b->role);
    assert_string_equal(a->master.host, b->master.host);
    assert_int_equal(a->master.port, b->master.port);
    assert_int_equal(a->link_up, b->link_up);
    assert_int_equal(a->master_last_io_s, b->master_last_io_s);
    assert_int_equal(a->link_down_since_s, b->link_down_since_s);
    assert_int_equal(a->sync_in_progress, b->sync_in_progress);
    assert_int_equal(a->slave_repl_offset, b->slave_repl_offset);
    assert_int_equal(a->priority, b->priority);
    assert_int_equal(a->has_priority, b->has_priority);
    assert_int_equal(a->read_only, b->read_only);
    assert_int_equal(a->master_repl_offset, b->master_repl_offset);
    assert_string_equal(a->master_replid, b->master_replid);
    assert_string_equal(a->run_id, b->run_id);
    assert_string_equal(a->redis_version, b->redis_version);
    assert_int_equal(a->loading, b->loading);
    assert_int_equal(a->connected_replicas, b->connected_replicas);
    assert_int_equal(a->failover_state, b->failover_state);
    assert_int_equal(a->n_replicas, b->n_replicas);
    for (unsigned i = 0; i < a->n_replicas; i++)
        assert_replica(&a->replicas[i], b->replicas[i].ip, b->replicas[i].port,
                       b->replicas[i].state, b->replicas[i].offset,
                       b->replicas[i].lag);
}

static void assert_pristine(const struct rsm_info *info)
{
    struct rsm_info fresh;

    rsm_info_init(&fresh);
    assert_info_equal(info, &fresh);
}

/* ------------------------------------------------------------------------
 * Real replies
 * ---------------------------------------------------------------------- */

static void test_init_defaults(void **state)
{
    struct rsm_info info;

    memset(&info, 0x5a, sizeof info);
    rsm_info_init(&info);
    assert_int_equal(info.role, RSM_ROLE_UNKNOWN);
    assert_int_equal(info.master_last_io_s, -1);
    assert_int_equal(info.link_down_since_s, -1);
    assert_int_equal(info.slave_repl_offset, -1);
    assert_int_equal(info.master_repl_offset, -1);
    assert_int_equal(info.priority, 100);
    assert_false(info.has_priority);
    assert_false(info.link_up);
    assert_string_equal(info.master.host, "");
    assert_int_equal(info.master.port, 0);
    assert_string_equal(info.run_id, "");
    assert_int_equal(info.n_replicas, 0);
    assert_int_equal(rsm_info_offset(&info), -1);
}

static void test_master_with_two_replicas(void **state)
{
    struct rsm_info info;

    parse_fixture("master_2replicas.txt", &info, false);
    assert_int_equal(info.role, RSM_ROLE_MASTER);
    assert_int_equal(info.connected_replicas, 2);
    assert_int_equal(info.n_replicas, 2);
    assert_replica(&info.replicas[0], "127.0.0.1", 50315, "online", 799, 0);
    assert_replica(&info.replicas[1], "127.0.0.1", 49479, "online", 799, 1);
    assert_string_equal(info.master_replid, REPLID);
    assert_int_equal(info.master_repl_offset, 799);
    assert_int_equal(rsm_info_offset(&info), 799);
    /* replica-only fields stay unknown on a master */
    assert_int_equal(info.slave_repl_offset, -1);
    assert_false(info.has_priority);
    assert_int_equal(info.priority, 100);
    assert_string_equal(info.master.host, "");
    assert_int_equal(info.master.port, 0);
}

static void test_replica_linked(void **state)
{
    struct rsm_info info;

    parse_fixture("replica_linked.txt", &info, false);
    assert_int_equal(info.role, RSM_ROLE_REPLICA);
    assert_string_equal(info.master.host, "127.0.0.1");
    assert_int_equal(info.master.port, 45673);
    assert_true(info.link_up);
    assert_int_equal(info.master_last_io_s, 3);
    assert_int_equal(info.link_down_since_s, -1);
    assert_false(info.sync_in_progress);
    assert_int_equal(info.slave_repl_offset, 799);
    assert_true(info.has_priority);
    assert_int_equal(info.priority, 100);
    assert_true(info.read_only);
    assert_int_equal(info.master_repl_offset, 799);
    assert_string_equal(info.master_replid, REPLID);
    assert_int_equal(info.connected_replicas, 0);
    assert_int_equal(info.n_replicas, 0);
    assert_int_equal(rsm_info_offset(&info), 799);
}

/* replica-announced no (Redis >= 6.2): Sentinel leaves the replica out of
 * its lists; absent (older Redis) means announced. */
static void test_replica_announced(void **state)
{
    struct rsm_info info;
    char err[RSM_ERRMSG_SIZE];

    (void)state;
    parse_fixture("replica_linked.txt", &info, false);
    assert_false(info.unannounced); /* replica_announced:1 */
    rsm_info_init(&info);
    assert_int_equal(
        parse_str(&info, "replica_announced:0\r\n", err, sizeof err), 0);
    assert_true(info.unannounced);
    assert_int_equal(
        parse_str(&info, "replica_announced:1\r\n", err, sizeof err), 0);
    assert_false(info.unannounced);
    assert_int_equal(
        parse_str(&info, "replica_announced:2\r\n", err, sizeof err),
        RSM_EPARSE);
    rsm_info_init(&info);
    assert_int_equal(parse_str(&info, "role:slave\r\n", err, sizeof err), 0);
    assert_false(info.unannounced);
}

/* What Sentinel's replies show: a replica's link and offset, a master's
 * offset and no master of its own. */
static void test_summary(void **state)
{
    struct rsm_info info;
    struct rsm_info_summary s;
    char err[RSM_ERRMSG_SIZE];

    (void)state;
    parse_fixture("replica_linked.txt", &info, false);
    info.unannounced = true;
    rsm_info_summarize(&info, &s);
    assert_int_equal(s.role, RSM_ROLE_REPLICA);
    assert_string_equal(s.master.host, "127.0.0.1");
    assert_int_equal(s.master.port, 45673);
    assert_true(s.link_up);
    assert_int_equal(s.link_down_since_s, -1);
    assert_int_equal(s.priority, 100);
    assert_int_equal(s.offset, 799);
    assert_true(s.unannounced);
    parse_fixture("replica_link_down.txt", &info, false);
    rsm_info_summarize(&info, &s);
    assert_false(s.link_up);
    assert_int_equal(s.link_down_since_s, info.link_down_since_s);
    rsm_info_init(&info);
    assert_int_equal(parse_str(&info,
                               "role:master\r\nmaster_host:10.0.0.1\r\n"
                               "master_repl_offset:77\r\nrun_id:"
                               "0123456789012345678901234567890123456789\r\n",
                               err, sizeof err),
                     0);
    rsm_info_summarize(&info, &s);
    assert_int_equal(s.role, RSM_ROLE_MASTER);
    assert_int_equal(s.master.port, 0); /* a master has none */
    assert_string_equal(s.master.host, "");
    assert_false(s.link_up);
    assert_int_equal(s.offset, 77);
    assert_string_equal(s.run_id, "0123456789012345678901234567890123456789");
}

static void test_replica_link_down_after_master_killed(void **state)
{
    struct rsm_info info;

    parse_fixture("replica_link_down.txt", &info, false);
    assert_int_equal(info.role, RSM_ROLE_REPLICA);
    assert_string_equal(info.master.host, "127.0.0.1");
    assert_int_equal(info.master.port, 45673);
    assert_false(info.link_up);
    assert_int_equal(info.master_last_io_s, -1);
    assert_int_equal(info.link_down_since_s, 3);
    assert_false(info.sync_in_progress);
    assert_int_equal(info.slave_repl_offset, 94772);
    assert_int_equal(rsm_info_offset(&info), 94772);
}

static void test_replica_during_initial_sync(void **state)
{
    struct rsm_info info;

    parse_fixture("replica_syncing.txt", &info, false);
    assert_int_equal(info.role, RSM_ROLE_REPLICA);
    assert_true(info.sync_in_progress);
    assert_false(info.link_up);
    assert_int_equal(info.master_last_io_s, -1);
    assert_int_equal(info.link_down_since_s, -1);
    assert_int_equal(info.slave_repl_offset, 1);
    assert_int_equal(info.master_repl_offset, 0);
    assert_string_equal(info.master_replid,
                        "08c9778f19e11190ff2a802c2220635bb6593685");
}

static void test_replica_priority_zero(void **state)
{
    struct rsm_info info;

    parse_fixture("replica_priority0.txt", &info, false);
    assert_int_equal(info.role, RSM_ROLE_REPLICA);
    assert_true(info.has_priority);
    assert_int_equal(info.priority, 0);
    assert_true(info.link_up);
    assert_int_equal(info.slave_repl_offset, 813);
}

static void test_master_while_replica_waits_for_rdb(void **state)
{
    struct rsm_info info;

    parse_fixture("master_syncing.txt", &info, false);
    assert_int_equal(info.connected_replicas, 3);
    assert_int_equal(info.n_replicas, 3);
    assert_replica(&info.replicas[0], "127.0.0.1", 50315, "online", 94758, 1);
    assert_replica(&info.replicas[2], "127.0.0.1", 50739, "wait_bgsave", 0, 0);
    assert_int_equal(info.master_repl_offset, 94758);
}

static void test_master_with_portless_sync_client(void **state)
{
    struct rsm_info info;

    parse_fixture("master_cli_replica.txt", &info, false);
    assert_int_equal(info.n_replicas, 3);
    assert_replica(&info.replicas[2], "127.0.0.1", 0, "online", 0, 1);
}

static void test_server_section(void **state)
{
    struct rsm_info info;

    parse_fixture("server.txt", &info, false);
    assert_string_equal(info.redis_version, "7.0.15");
    assert_string_equal(info.run_id,
                        "9b61fb2ff27a6d9ccc7c3bf242c8e27048a011c6");
    assert_int_equal(info.role, RSM_ROLE_UNKNOWN);
    assert_int_equal(rsm_info_offset(&info), -1);
}

/* master_failover_state (Redis >= 6.2, during FAILOVER TO). */
static void test_master_failover_state(void **state)
{
    static const char *const text[] = {
        "role:master\nmaster_failover_state:no-failover\n",
        "role:master\nmaster_failover_state:waiting-for-sync\n",
        "role:master\nmaster_failover_state:failover-in-progress\n",
    };
    struct rsm_info info;

    (void)state;
    for (int i = 0; i < 3; i++) {
        rsm_info_init(&info);
        assert_int_equal(parse_str(&info, text[i], NULL, 0), 0);
        assert_int_equal(info.failover_state, i);
    }
    rsm_info_init(&info);
    assert_int_equal(info.failover_state, RSM_FOCMD_NONE);
    assert_int_equal(parse_str(&info, "master_failover_state:maybe\n", NULL, 0),
                     RSM_EPARSE);
}

static void test_persistence_loading(void **state)
{
    struct rsm_info info;
    char err[RSM_ERRMSG_SIZE];

    parse_fixture("persistence.txt", &info, false);
    assert_false(info.loading);
    assert_int_equal(parse_str(&info, "loading:1\r\n", err, sizeof err), 0);
    assert_true(info.loading);
}

/* Plain INFO: every default section, including ones we do not know. */
static void test_full_info_of_replica(void **state)
{
    struct rsm_info info;

    parse_fixture("replica_all.txt", &info, false);
    assert_string_equal(info.redis_version, "7.0.15");
    assert_string_equal(info.run_id,
                        "70b4cf9c5afcec58621296eb23dcd857062cbd48");
    assert_false(info.loading);
    assert_int_equal(info.role, RSM_ROLE_REPLICA);
    assert_int_equal(info.master.port, 45673);
    assert_true(info.link_up);
    assert_int_equal(info.slave_repl_offset, 813);
    assert_int_equal(info.master_repl_offset, 813);
}

static void test_merge_server_replication_persistence(void **state)
{
    struct rsm_info info;

    parse_fixture("server.txt", &info, false);
    parse_fixture("replica_linked.txt", &info, true);
    parse_fixture("persistence.txt", &info, true);
    assert_string_equal(info.run_id,
                        "9b61fb2ff27a6d9ccc7c3bf242c8e27048a011c6");
    assert_string_equal(info.redis_version, "7.0.15");
    assert_int_equal(info.role, RSM_ROLE_REPLICA);
    assert_int_equal(info.slave_repl_offset, 799);
    assert_false(info.loading);

    /* A later reply sets what it carries and leaves the rest. */
    parse_fixture("replica_link_down.txt", &info, true);
    assert_false(info.link_up);
    assert_int_equal(info.link_down_since_s, 3);
    assert_int_equal(info.slave_repl_offset, 94772);
    assert_string_equal(info.run_id,
                        "9b61fb2ff27a6d9ccc7c3bf242c8e27048a011c6");
}

static void test_merge_master_addr_split_over_replies(void **state)
{
    struct rsm_info info;
    char err[RSM_ERRMSG_SIZE];

    rsm_info_init(&info);
    assert_int_equal(parse_str(&info, "master_port:7001\n", err, sizeof err),
                     0);
    assert_int_equal(
        parse_str(&info, "master_host:redis-0.redis\n", err, sizeof err), 0);
    assert_string_equal(info.master.host, "redis-0.redis");
    assert_int_equal(info.master.port, 7001);
    assert_int_equal(parse_str(&info, "master_host:::1\n", err, sizeof err), 0);
    assert_string_equal(info.master.host, "::1");
}

static void test_reparse_overwrites_replica_slots(void **state)
{
    struct rsm_info info;

    parse_fixture("master_2replicas.txt", &info, false);
    parse_fixture("master_syncing.txt", &info, true);
    assert_int_equal(info.n_replicas, 3);
    assert_int_equal(info.replicas[0].offset, 94758);
    parse_fixture("master_2replicas.txt", &info, true);
    assert_int_equal(info.n_replicas, 3); /* slot 2 is not cleared */
    assert_int_equal(info.replicas[0].offset, 799);
}

/* ------------------------------------------------------------------------
 * Format details
 * ---------------------------------------------------------------------- */

static void test_lf_line_ends_parse_the_same(void **state)
{
    static const char *const names[] = {"master_2replicas.txt",
                                        "replica_linked.txt", "replica_all.txt",
                                        "replica_syncing.txt"};

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct blob b = load(names[i]);
        struct rsm_info crlf, lf;
        size_t n = 0;

        parse_fixture(names[i], &crlf, false);
        for (size_t j = 0; j < b.n; j++) {
            if (b.p[j] != '\r')
                b.p[n++] = b.p[j];
        }
        assert_true(n < b.n);
        rsm_info_init(&lf);
        assert_int_equal(rsm_info_parse(&lf, b.p, n, NULL, 0), 0);
        assert_info_equal(&lf, &crlf);
        free(b.p);
    }
}

static void test_unknown_fields_and_sections_ignored(void **state)
{
    struct rsm_info info;
    char err[RSM_ERRMSG_SIZE] = "";
    const char *text = "# Sentinel\r\n"
                       "sentinel_masters:x\r\n"
                       "master_sync_perc:-0.00\r\n"
                       "slave_read_repl_offset:not-a-number\r\n"
                       "slaveX:garbage\r\n"
                       "slave:garbage\r\n"
                       "slaves0:garbage\r\n"
                       "Role:garbage\r\n"
                       ":\r\n"
                       "config_file:\r\n"
                       "executable:/usr/bin/redis-server\r\n"
                       "\r\n"
                       "#\r\n";

    rsm_info_init(&info);
    assert_int_equal(parse_str(&info, text, err, sizeof err), 0);
    assert_pristine(&info);
}

static void test_empty_input(void **state)
{
    struct rsm_info info;

    rsm_info_init(&info);
    assert_int_equal(rsm_info_parse(&info, NULL, 0, NULL, 0), 0);
    assert_int_equal(rsm_info_parse(&info, "\r\n\n\r\n", 5, NULL, 0), 0);
    assert_pristine(&info);
}

/* The parser reads only len bytes: what follows is not looked at. */
static void test_reads_only_len_bytes(void **state)
{
    struct rsm_info info;
    const char text[] = "role:master\r\nrole:bogus\r\n";

    rsm_info_init(&info);
    assert_int_equal(rsm_info_parse(&info, text, 13, NULL, 0), 0);
    assert_int_equal(info.role, RSM_ROLE_MASTER);
    assert_int_equal(rsm_info_parse(&info, text, 12, NULL, 0), RSM_ETRUNC);
}

static void test_number_limits(void **state)
{
    struct rsm_info info;
    char err[RSM_ERRMSG_SIZE];

    rsm_info_init(&info);
    assert_int_equal(parse_str(&info,
                               "master_repl_offset:9223372036854775807\n"
                               "slave_repl_offset:-9223372036854775808\n"
                               "replica_priority:2147483647\n"
                               "connected_slaves:4294967295\n"
                               "master_port:65535\n"
                               "master_last_io_seconds_ago:007\n",
                               err, sizeof err),
                     0);
    assert_int_equal(info.master_repl_offset, INT64_MAX);
    assert_int_equal(info.slave_repl_offset, INT64_MIN);
    assert_int_equal(info.priority, 2147483647);
    assert_int_equal(info.connected_replicas, 4294967295u);
    assert_int_equal(info.master.port, 65535);
    assert_int_equal(info.master_last_io_s, 7);
}

static void test_replica_spellings(void **state)
{
    struct rsm_info info;
    char err[RSM_ERRMSG_SIZE];

    rsm_info_init(&info);
    assert_int_equal(parse_str(&info,
                               "replica_priority:7\nreplica_read_only:1\n", err,
                               sizeof err),
                     0);
    assert_int_equal(info.priority, 7);
    assert_true(info.has_priority);
    assert_true(info.read_only);
    assert_int_equal(parse_str(&info, "slave_read_only:0\nslave_priority:3\n",
                               err, sizeof err),
                     0);
    assert_false(info.read_only);
    assert_int_equal(info.priority, 3);
}

static void test_replica_line_details(void **state)
{
    struct rsm_info info;
    char err[RSM_ERRMSG_SIZE];

    rsm_info_init(&info);
    /* unknown items ignored, any order, lag and offset optional */
    assert_int_equal(parse_str(&info,
                               "slave0:port=6380,x=y,ip=10.0.0.1\n"
                               "slave1:ip=::1,port=6381,state=online,"
                               "offset=5,lag=2,extra=\n",
                               err, sizeof err),
                     0);
    assert_int_equal(info.n_replicas, 2);
    assert_replica(&info.replicas[0], "10.0.0.1", 6380, "", -1, -1);
    assert_replica(&info.replicas[1], "::1", 6381, "online", 5, 2);
}

static void test_more_replicas_than_stored(void **state)
{
    struct rsm_info info;
    char text[64 * 40], err[RSM_ERRMSG_SIZE];
    size_t n = 0;

    n += (size_t)snprintf(text + n, sizeof text - n, "connected_slaves:40\n");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "slave%d:ip=10.0.0.%d,port=%d,state=online,"
                              "offset=1,lag=0\n",
                              i, i, 7000 + i);
    rsm_info_init(&info);
    assert_int_equal(parse_str(&info, text, err, sizeof err), 0);
    assert_int_equal(info.connected_replicas, 40);
    assert_int_equal(info.n_replicas, RSM_INFO_MAX_REPLICAS);
    assert_replica(&info.replicas[RSM_INFO_MAX_REPLICAS - 1], "10.0.0.15", 7015,
                   "online", 1, 0);
    /* lines past the limit are still checked */
    assert_int_equal(
        parse_str(&info, "slave99:ip=1.2.3.4,port=x\n", err, sizeof err),
        RSM_EPARSE);
}

static void test_offset_and_role_str(void **state)
{
    struct rsm_info info;

    rsm_info_init(&info);
    info.slave_repl_offset = 10;
    info.master_repl_offset = 20;
    assert_int_equal(rsm_info_offset(&info), -1);
    info.role = RSM_ROLE_REPLICA;
    assert_int_equal(rsm_info_offset(&info), 10);
    info.role = RSM_ROLE_MASTER;
    assert_int_equal(rsm_info_offset(&info), 20);
    assert_string_equal(rsm_role_str(RSM_ROLE_MASTER), "master");
    assert_string_equal(rsm_role_str(RSM_ROLE_REPLICA), "replica");
    assert_string_equal(rsm_role_str(RSM_ROLE_UNKNOWN), "unknown");
    assert_string_equal(rsm_role_str((enum rsm_role)42), "unknown");
}

/* ------------------------------------------------------------------------
 * Errors
 * ---------------------------------------------------------------------- */

struct bad_case {
    const char *text;
    int code;
    const char *msg; /* expected prefix of errmsg */
};

static const struct bad_case bad_cases[] = {
    /* malformed numbers */
    {"master_repl_offset:12a\r\n", RSM_EPARSE, "line 1: master_repl_offset: "},
    {"role:master\r\nmaster_repl_offset:\r\n", RSM_EPARSE,
     "line 2: master_repl_offset: empty"},
    {"master_repl_offset:-\n", RSM_EPARSE, "line 1: master_repl_offset: "},
    {"master_repl_offset:+5\n", RSM_EPARSE, "line 1: master_repl_offset: "},
    {"master_repl_offset: 5\n", RSM_EPARSE, "line 1: master_repl_offset: "},
    {"master_repl_offset:5 \n", RSM_EPARSE, "line 1: master_repl_offset: "},
    {"master_repl_offset:0x10\n", RSM_EPARSE, "line 1: master_repl_offset: "},
    {"master_repl_offset:1.5\n", RSM_EPARSE, "line 1: master_repl_offset: "},
    {"slave_repl_offset:12\r\r\n", RSM_EPARSE, "line 1: slave_repl_offset: "},
    {"master_last_io_seconds_ago:--1\n", RSM_EPARSE,
     "line 1: master_last_io_seconds_ago: "},
    {"master_sync_in_progress:2\n", RSM_EPARSE,
     "line 1: master_sync_in_progress: "},
    {"loading:\n", RSM_EPARSE, "line 1: loading: "},
    {"master_port:http\n", RSM_EPARSE, "line 1: master_port: "},
    /* numbers out of range */
    {"master_repl_offset:9223372036854775808\n", RSM_ERANGE,
     "line 1: master_repl_offset: "},
    {"master_repl_offset:-9223372036854775809\n", RSM_ERANGE,
     "line 1: master_repl_offset: "},
    {"slave_repl_offset:99999999999999999999999999\n", RSM_ERANGE,
     "line 1: slave_repl_offset: "},
    {"master_port:0\n", RSM_ERANGE, "line 1: master_port: "},
    {"master_port:65536\n", RSM_ERANGE, "line 1: master_port: "},
    {"slave_priority:-1\n", RSM_ERANGE, "line 1: slave_priority: "},
    {"replica_priority:2147483648\n", RSM_ERANGE, "line 1: replica_priority: "},
    {"connected_slaves:-1\n", RSM_ERANGE, "line 1: connected_slaves: "},
    {"connected_slaves:4294967296\n", RSM_ERANGE, "line 1: connected_slaves: "},
    /* a line without ':' */
    {"# Replication\r\nrole:master\r\nbogus line\r\n", RSM_EPARSE,
     "line 3: no ':'"},
    {"role master\n", RSM_EPARSE, "line 1: no ':'"},
    /* cut in the middle of a line */
    {"role:master\r\nmaster_repl_offset:12", RSM_ETRUNC,
     "line 2: master_repl_offset: "},
    {"role:master\r", RSM_ETRUNC, "line 1: role: "},
    {"role:master\r\n\r", RSM_ETRUNC, "line 2: "},
    {"# Replic", RSM_ETRUNC, "line 1: "},
    /* roles, link status */
    {"role:sentinel\n", RSM_EPARSE, "line 1: role: unknown role"},
    {"role:\n", RSM_EPARSE, "line 1: role: "},
    {"role:MASTER\n", RSM_EPARSE, "line 1: role: "},
    {"master_link_status:sideways\n", RSM_EPARSE,
     "line 1: master_link_status: "},
    /* replica lines */
    {"slave0:port=6380,state=online\n", RSM_EPARSE, "line 1: slave0: no ip"},
    {"slave0:ip=10.0.0.1,state=online\n", RSM_EPARSE,
     "line 1: slave0: no port"},
    {"slave0:\n", RSM_EPARSE, "line 1: slave0: "},
    {"slave0:ip=10.0.0.1,port=65536\n", RSM_ERANGE, "line 1: slave0: "},
    {"slave0:ip=10.0.0.1,port=-1\n", RSM_ERANGE, "line 1: slave0: "},
    {"slave0:ip=10.0.0.1,port=63a\n", RSM_EPARSE, "line 1: slave0: "},
    {"slave0:ip=10.0.0.1,port=\n", RSM_EPARSE, "line 1: slave0: "},
    {"slave0:ip=,port=1\n", RSM_EPARSE, "line 1: slave0: "},
    {"slave0:ip=a b,port=1\n", RSM_EPARSE, "line 1: slave0: "},
    {"slave0:ip=10.0.0.1,port=1,\n", RSM_EPARSE, "line 1: slave0: no '='"},
    {"slave0:ip=10.0.0.1;port=1\n", RSM_EPARSE, "line 1: slave0: "},
    {"slave0:ip=10.0.0.1,port=1,offset=x\n", RSM_EPARSE, "line 1: slave0: "},
    {"slave0:ip=10.0.0.1,port=1,lag=99999999999999999999\n", RSM_ERANGE,
     "line 1: slave0: "},
    {"slave0:ip=10.0.0.1,port=1,state=a_very_long_state_name\n", RSM_EPARSE,
     "line 1: slave0: "},
    {"slave1:ip=10.0.0.1,port=1\n", RSM_EPARSE,
     "line 1: slave1: listed before slave0"},
    {"slave99999999999999999999:ip=10.0.0.1,port=1\n", RSM_ERANGE,
     "line 1: slave99999999999999999999: "},
    /* ids, version, host */
    {"run_id:xyz\n", RSM_EPARSE, "line 1: run_id: "},
    {"run_id:" REPLID "0\n", RSM_EPARSE, "line 1: run_id: "},
    {"master_replid:" REPLID "\n"
     "master_replid:86d9e4488e32dc49c26b3d9490b0574c13ac2d8g\n",
     RSM_EPARSE, "line 2: master_replid: "},
    {"redis_version:\n", RSM_EPARSE, "line 1: redis_version: "},
    {"redis_version:7.0.15-with-a-much-too-long-suffix\n", RSM_EPARSE,
     "line 1: redis_version: "},
    {"master_host:\n", RSM_EPARSE, "line 1: master_host: "},
    {"master_host:bad host\n", RSM_EPARSE, "line 1: master_host: "},
    {"master_host:bad/host\n", RSM_EPARSE, "line 1: master_host: "},
};

static void test_every_error_path(void **state)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *c = &bad_cases[i];
        struct rsm_info info;
        char err[RSM_ERRMSG_SIZE] = "";
        int rv;

        rsm_info_init(&info);
        rv = parse_str(&info, c->text, err, sizeof err);
        if (rv != c->code || strncmp(err, c->msg, strlen(c->msg)) != 0)
            fail_msg("case %zu: got %d '%s', want %d '%s...'", i, rv, err,
                     c->code, c->msg);
        /* and without an error buffer */
        rsm_info_init(&info);
        assert_int_equal(parse_str(&info, c->text, NULL, 0), c->code);
        /* and with a tiny one */
        assert_int_equal(parse_str(&info, c->text, err, 4), c->code);
        assert_true(strlen(err) < 4);
    }
}

/* An error in the middle of a real reply names the real line. */
static void test_error_line_number_in_real_reply(void **state)
{
    struct blob b = load("replica_linked.txt");
    struct rsm_info info;
    char err[RSM_ERRMSG_SIZE] = "";
    char *p = NULL;

    /* b.p is not NUL-terminated: no strstr. The field is on line 9. */
    for (size_t i = 0; i + 21 <= b.n; i++) {
        if (memcmp(b.p + i, "slave_repl_offset:799", 21) == 0) {
            p = b.p + i;
            break;
        }
    }
    assert_non_null(p);
    p[19] = 'X';
    rsm_info_init(&info);
    assert_int_equal(rsm_info_parse(&info, b.p, b.n, err, sizeof err),
                     RSM_EPARSE);
    assert_string_equal(err,
                        "line 9: slave_repl_offset: '7X9' is not a number");
    free(b.p);
}

/* ------------------------------------------------------------------------
 * Robustness
 * ---------------------------------------------------------------------- */

static const char *const all_fixtures[] = {
    "master_2replicas.txt", "master_cli_replica.txt", "master_syncing.txt",
    "persistence.txt",      "replica_all.txt",        "replica_link_down.txt",
    "replica_linked.txt",   "replica_priority0.txt",  "replica_syncing.txt",
    "server.txt",
};
#define N_FIXTURES (sizeof all_fixtures / sizeof all_fixtures[0])

/* Whatever was parsed, the struct is well-formed. */
static void assert_sane(const struct rsm_info *info)
{
    assert_true(info->role == RSM_ROLE_UNKNOWN ||
                info->role == RSM_ROLE_MASTER ||
                info->role == RSM_ROLE_REPLICA);
    assert_true(info->n_replicas <= RSM_INFO_MAX_REPLICAS);
    assert_true(info->priority >= 0);
    assert_true(strlen(info->master.host) < sizeof info->master.host);
    assert_true(strlen(info->master_replid) < sizeof info->master_replid);
    assert_true(strlen(info->run_id) < sizeof info->run_id);
    assert_true(strlen(info->redis_version) < sizeof info->redis_version);
    for (unsigned i = 0; i < info->n_replicas; i++) {
        assert_true(strlen(info->replicas[i].ip) > 0);
        assert_true(strlen(info->replicas[i].ip) < sizeof info->replicas[i].ip);
        assert_true(strlen(info->replicas[i].state) <
                    sizeof info->replicas[i].state);
    }
}

static void check_outcome(const struct rsm_info *info, int rv, const char *err)
{
    if (rv == 0) {
        assert_sane(info);
        return;
    }
    assert_true(rv == RSM_EPARSE || rv == RSM_ETRUNC || rv == RSM_ERANGE);
    assert_true(strncmp(err, "line ", 5) == 0);
}

/* Every prefix of a real reply: complete lines parse, a cut line is
 * RSM_ETRUNC. Each prefix sits in a buffer of exactly its size. */
static void test_truncate_at_every_length(void **state)
{
    for (size_t f = 0; f < N_FIXTURES; f++) {
        struct blob b = load(all_fixtures[f]);

        for (size_t n = 0; n <= b.n; n++) {
            char *p = malloc(n ? n : 1);
            struct rsm_info info;
            char err[RSM_ERRMSG_SIZE] = "";
            int want = (n == 0 || b.p[n - 1] == '\n') ? 0 : RSM_ETRUNC;
            int rv;

            assert_non_null(p);
            memcpy(p, b.p, n);
            rsm_info_init(&info);
            rv = rsm_info_parse(&info, p, n, err, sizeof err);
            if (rv != want)
                fail_msg("%s cut at %zu: got %d (%s)", all_fixtures[f], n, rv,
                         err);
            check_outcome(&info, rv, err);
            free(p);
        }
        free(b.p);
    }
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Bytes that matter to the grammar, then anything. */
static char mutant_byte(void)
{
    static const char special[] = ":\r\n,=-#09 \0\xff";

    if (rng() % 2)
        return special[rng() % (sizeof special - 1)];
    return (char)(rng() & 0xff);
}

/* Random byte changes, insertions, deletions and cuts of the real replies;
 * under ASan this catches any read past len. */
static void test_mutated_replies_never_crash(void **state)
{
    struct blob fx[N_FIXTURES];
    unsigned outcomes[RSM_E_COUNT] = {0};

    for (size_t f = 0; f < N_FIXTURES; f++)
        fx[f] = load(all_fixtures[f]);
    for (int iter = 0; iter < 20000; iter++) {
        const struct blob *src = &fx[rng() % N_FIXTURES];
        size_t cap = src->n + 8, n = src->n;
        char *p = malloc(cap), *q;
        int edits = 1 + (int)(rng() % 4);
        struct rsm_info info;
        char err[RSM_ERRMSG_SIZE] = "";
        int rv;

        assert_non_null(p);
        memcpy(p, src->p, n);
        for (int e = 0; e < edits; e++) {
            size_t at = rng() % (n + 1);
            switch (rng() % 4) {
            case 0: /* replace */
                if (at < n)
                    p[at] = mutant_byte();
                break;
            case 1: /* insert */
                if (n < cap) {
                    memmove(p + at + 1, p + at, n - at);
                    p[at] = mutant_byte();
                    n++;
                }
                break;
            case 2: /* delete */
                if (at < n) {
                    memmove(p + at, p + at + 1, n - at - 1);
                    n--;
                }
                break;
            default: /* cut */
                n = at;
                break;
            }
        }
        q = malloc(n ? n : 1); /* exact size for ASan */
        assert_non_null(q);
        memcpy(q, p, n);
        rsm_info_init(&info);
        rv = rsm_info_parse(&info, q, n, err, sizeof err);
        check_outcome(&info, rv, err);
        outcomes[rv]++;
        free(q);
        free(p);
    }
    /* the loop really exercised both outcomes and every error kind */
    assert_true(outcomes[0] > 0);
    assert_true(outcomes[RSM_EPARSE] > 0);
    assert_true(outcomes[RSM_ETRUNC] > 0);
    assert_true(outcomes[RSM_ERANGE] > 0);
    for (size_t f = 0; f < N_FIXTURES; f++)
        free(fx[f].p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_defaults),
        cmocka_unit_test(test_master_with_two_replicas),
        cmocka_unit_test(test_replica_linked),
        cmocka_unit_test(test_replica_link_down_after_master_killed),
        cmocka_unit_test(test_replica_during_initial_sync),
        cmocka_unit_test(test_replica_priority_zero),
        cmocka_unit_test(test_master_while_replica_waits_for_rdb),
        cmocka_unit_test(test_master_with_portless_sync_client),
        cmocka_unit_test(test_server_section),
        cmocka_unit_test(test_master_failover_state),
        cmocka_unit_test(test_persistence_loading),
        cmocka_unit_test(test_full_info_of_replica),
        cmocka_unit_test(test_merge_server_replication_persistence),
        cmocka_unit_test(test_merge_master_addr_split_over_replies),
        cmocka_unit_test(test_reparse_overwrites_replica_slots),
        cmocka_unit_test(test_lf_line_ends_parse_the_same),
        cmocka_unit_test(test_unknown_fields_and_sections_ignored),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_reads_only_len_bytes),
        cmocka_unit_test(test_number_limits),
        cmocka_unit_test(test_replica_spellings),
        cmocka_unit_test(test_replica_line_details),
        cmocka_unit_test(test_more_replicas_than_stored),
        cmocka_unit_test(test_offset_and_role_str),
        cmocka_unit_test(test_every_error_path),
        cmocka_unit_test(test_error_line_number_in_real_reply),
        cmocka_unit_test(test_truncate_at_every_length),
        cmocka_unit_test(test_mutated_replies_never_crash),
        cmocka_unit_test(test_replica_announced),
        cmocka_unit_test(test_summary),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
