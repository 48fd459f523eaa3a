/* test_node.c - unit tests for the pure parts of io/node: member addresses
 * "host:port[/apiport]" and the peer list "1=host:port,2=...". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <raft.h>

#include "rsm/codec.h"
#include "rsm/err.h"
#include "rsm/node.h"

/* ---------------------------------------------------------------------------
 * rsm_node_parse_member_addr
 * ------------------------------------------------------------------------- */

static void test_member_addr_without_api_port(void **state)
{
    struct rsm_member m;
    char err[RSM_ERRMSG_SIZE];

    memset(&m, 0, sizeof m);
    m.id = 7;
    assert_int_equal(rsm_node_parse_member_addr("rsm-0.rsm.ns.svc:7000", 26379,
                                                &m, err, sizeof err),
                     0);
    assert_string_equal(m.raft.host, "rsm-0.rsm.ns.svc");
    assert_int_equal(m.raft.port, 7000);
    assert_string_equal(m.api.host, "rsm-0.rsm.ns.svc");
    assert_int_equal(m.api.port, 26379);
    assert_false(m.api_given);
    assert_true(m.voter);
    assert_int_equal(m.id, 7); /* untouched */
}

static void test_member_addr_with_api_port(void **state)
{
    struct rsm_member m;
    char buf[RSM_ADDR_STRLEN + 8];

    assert_int_equal(
        rsm_node_parse_member_addr("127.0.0.1:7003/26382", 26379, &m, NULL, 0),
        0);
    assert_string_equal(m.raft.host, "127.0.0.1");
    assert_int_equal(m.raft.port, 7003);
    assert_string_equal(m.api.host, "127.0.0.1");
    assert_int_equal(m.api.port, 26382);
    assert_true(m.api_given);
    assert_string_equal(rsm_node_format_member(&m, buf, sizeof buf),
                        "127.0.0.1:7003/26382");
}

static void test_member_addr_ipv6_and_format_round_trip(void **state)
{
    static const char *const good[] = {
        "[::1]:7000/26379",
        "[fe80::1]:1",
        "localhost:65535/1",
        "a.b-c_d:7000",
    };
    struct rsm_member m, again;
    char buf[RSM_ADDR_STRLEN + 8];

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(
            rsm_node_parse_member_addr(good[i], 26379, &m, NULL, 0), 0);
        assert_string_equal(rsm_node_format_member(&m, buf, sizeof buf),
                            good[i]);
        assert_int_equal(rsm_node_parse_member_addr(buf, 1, &again, NULL, 0),
                         0);
        assert_true(rsm_addr_equal(&m.raft, &again.raft));
        assert_int_equal(m.api_given, again.api_given);
    }
    assert_int_equal(rsm_node_parse_member_addr("[::1]:7000", 5, &m, NULL, 0),
                     0);
    assert_string_equal(m.raft.host, "::1");
    assert_int_equal(m.api.port, 5);
}

static void test_member_addr_errors(void **state)
{
    static const char *const bad[] = {
        "",
        "host",
        "host:",
        ":7000",
        "h:0",
        "h:65536",
        "h:70x",
        "h:7000/",
        "h:7000/0",
        "h:7000/65536",
        "h:7000/x",
        "h:7000/1/2",
        "h:7000/-1",
        "h/1:7000",
        "a b:7000",
        "h:7000/ 1",
        "::1:7000",
        "[::1:7000",
        "h:7000/99999999999999999999",
    };
    struct rsm_member m, before;
    char err[RSM_ERRMSG_SIZE];

    memset(&before, 0xab, sizeof before);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        memcpy(&m, &before, sizeof m);
        assert_int_equal(
            rsm_node_parse_member_addr(bad[i], 26379, &m, err, sizeof err),
            RSM_EINVAL);
        assert_true(strlen(err) > 0);
        assert_memory_equal(&m, &before, sizeof m); /* untouched */
    }
    assert_int_equal(rsm_node_parse_member_addr(NULL, 1, &m, err, sizeof err),
                     RSM_EINVAL);
}

static void test_member_addr_too_long(void **state)
{
    char text[600];
    struct rsm_member m;
    char err[RSM_ERRMSG_SIZE];

    memset(text, 'a', sizeof text);
    strcpy(text + sizeof text - 7, ":7000");
    assert_int_equal(rsm_node_parse_member_addr(text, 1, &m, err, sizeof err),
                     RSM_EINVAL);
    assert_non_null(strstr(err, "too long"));
    /* 256 characters of host: one more than a DNS name may have. */
    memset(text, 'a', 256);
    strcpy(text + 256, ":7000");
    assert_int_equal(rsm_node_parse_member_addr(text, 1, &m, err, sizeof err),
                     RSM_EINVAL);
}

/* ---------------------------------------------------------------------------
 * rsm_node_parse_peers
 * ------------------------------------------------------------------------- */

static void test_peers_three(void **state)
{
    struct rsm_node_config cfg;
    char err[RSM_ERRMSG_SIZE];

    memset(&cfg, 0, sizeof cfg);
    assert_int_equal(
        rsm_node_parse_peers("1=rsm-0.rsm:7000,2=10.0.0.2:7000/26390, "
                             "3=[::1]:7002",
                             26379, &cfg, err, sizeof err),
        0);
    assert_int_equal(cfg.n_peers, 3);
    assert_int_equal(cfg.peers[0].id, 1);
    assert_string_equal(cfg.peers[0].raft.host, "rsm-0.rsm");
    assert_int_equal(cfg.peers[0].api.port, 26379);
    assert_false(cfg.peers[0].api_given);
    assert_int_equal(cfg.peers[1].id, 2);
    assert_int_equal(cfg.peers[1].api.port, 26390);
    assert_true(cfg.peers[1].api_given);
    assert_int_equal(cfg.peers[2].id, 3);
    assert_string_equal(cfg.peers[2].raft.host, "::1");
    assert_int_equal(cfg.peers[2].raft.port, 7002);
    for (unsigned i = 0; i < cfg.n_peers; i++)
        assert_true(cfg.peers[i].voter);
}

static void test_peers_one_and_big_ids(void **state)
{
    struct rsm_node_config cfg;

    memset(&cfg, 0, sizeof cfg);
    assert_int_equal(rsm_node_parse_peers("9=h:1", 1, &cfg, NULL, 0), 0);
    assert_int_equal(cfg.n_peers, 1);
    assert_int_equal(cfg.peers[0].id, 9);
    assert_int_equal(
        rsm_node_parse_peers("9223372036854775807=h:1", 1, &cfg, NULL, 0), 0);
    assert_true(cfg.peers[0].id == 9223372036854775807ULL);
}

static void test_peers_max(void **state)
{
    struct rsm_node_config cfg;
    char text[1024] = "", err[RSM_ERRMSG_SIZE];
    size_t o = 0;

    for (int i = 1; i <= RSM_MAX_AGENTS; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "%s%d=h:%d",
                              i > 1 ? "," : "", i, 7000 + i);
    memset(&cfg, 0, sizeof cfg);
    assert_int_equal(rsm_node_parse_peers(text, 1, &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.n_peers, RSM_MAX_AGENTS);
    snprintf(text + o, sizeof text - o, ",99=h:1");
    assert_int_equal(rsm_node_parse_peers(text, 1, &cfg, err, sizeof err),
                     RSM_EINVAL);
    assert_non_null(strstr(err, "more than"));
}

/* Every bad list: RSM_EINVAL, a message that names the problem, and the
 * config left as it was. */
static void test_peers_errors(void **state)
{
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"", "empty peer list"},
        {",", "empty peer at position 1"},
        {"1=h:1,", "empty peer at position 2"},
        {"1=h:1,,2=h:2", "empty peer at position 2"},
        {" ", "empty peer"},
        {"h:1", "expected id=host:port"},
        {"1:h:1", "expected id=host:port"},
        {"=h:1", "positive number"},
        {"x=h:1", "positive number"},
        {"-1=h:1", "positive number"},
        {"1 =h:1", "positive number"},
        {"99999999999999999999=h:1", "positive number"},
        {"0=h:1", "id 0"},
        {"1=", "empty address"},
        {"1=h", "expected host:port"},
        {"1=h:0", "out of range"},
        {"1=h:1/0", "API port"},
        {"1=h:1/x", "API port"},
        {"1=h:1,1=g:2", "duplicate peer id 1"},
        {"1=h:1,2=H:1", "same address"},
        {"1=h:1/5,2=h:1/6", "same address"},
        {"1=a b:1", "bad character"},
    };
    struct rsm_node_config cfg, before;
    char err[RSM_ERRMSG_SIZE];

    memset(&before, 0, sizeof before);
    before.n_peers = 1;
    before.peers[0].id = 42;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(&cfg, &before, sizeof cfg);
        err[0] = '\0';
        assert_int_equal(
            rsm_node_parse_peers(bad[i].text, 1, &cfg, err, sizeof err),
            RSM_EINVAL);
        if (strstr(err, bad[i].want) == NULL)
            fail_msg("'%s': got '%s', want '%s'", bad[i].text, err,
                     bad[i].want);
        assert_memory_equal(&cfg, &before, sizeof cfg);
    }
    assert_int_equal(rsm_node_parse_peers(NULL, 1, &cfg, err, sizeof err),
                     RSM_EINVAL);
}

static void test_peers_error_names_the_item(void **state)
{
    struct rsm_node_config cfg;
    char err[RSM_ERRMSG_SIZE];

    assert_int_equal(rsm_node_parse_peers("1=h:1,2=bad:port,3=h:3", 1, &cfg,
                                          err, sizeof err),
                     RSM_EINVAL);
    assert_non_null(strstr(err, "2=bad:port"));
}

/* ---------------------------------------------------------------------------
 * rsm_node_encode_entry: raft 0.15 needs 8-byte multiples
 * ------------------------------------------------------------------------- */

/* Padded bytes decode to exactly what the unpadded bytes decode to, for
 * every residue of the unpadded length mod 8. */
static void test_encode_entry_pads_to_8_and_decodes_alike(void **state)
{
    bool seen[8] = {false};
    char name[RSM_GROUP_NAME_MAX];

    for (unsigned k = 1; k <= 24; k++) {
        struct rsm_entry e, plain, padded;
        void *enc, *buf;
        size_t n, len;
        char err[RSM_ERRMSG_SIZE];

        memset(name, 'g', k);
        name[k] = '\0';
        rsm_entry_init(&e, RSM_ENTRY_OBSERVE_MASTER, name, 1700000000000);
        assert_int_equal(rsm_addr_set(&e.master, "10.0.0.1", 6379, NULL, 0), 0);
        assert_int_equal(rsm_codec_encode_entry(&e, &enc, &n), 0);
        assert_int_equal(rsm_node_encode_entry(&e, &buf, &len), 0);
        seen[n % 8] = true;
        assert_int_equal(len % 8, 0);
        assert_true(len >= n && len < n + 11);
        assert_memory_equal(buf, enc, n); /* the entry itself, then pad */
        assert_int_equal(
            rsm_codec_decode_entry(enc, n, &plain, err, sizeof err), 0);
        if (rsm_codec_decode_entry(buf, len, &padded, err, sizeof err) != 0)
            fail_msg("padded entry (%zu -> %zu bytes): %s", n, len, err);
        assert_memory_equal(&plain, &padded, sizeof plain);
        assert_string_equal(padded.group, name);
        free(enc);
        raft_free(buf);
    }
    for (int r = 0; r < 8; r++)
        assert_true(seen[r]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_member_addr_without_api_port),
        cmocka_unit_test(test_member_addr_with_api_port),
        cmocka_unit_test(test_member_addr_ipv6_and_format_round_trip),
        cmocka_unit_test(test_member_addr_errors),
        cmocka_unit_test(test_member_addr_too_long),
        cmocka_unit_test(test_peers_three),
        cmocka_unit_test(test_peers_one_and_big_ids),
        cmocka_unit_test(test_peers_max),
        cmocka_unit_test(test_peers_errors),
        cmocka_unit_test(test_peers_error_names_the_item),
        cmocka_unit_test(test_encode_entry_pads_to_8_and_decodes_alike),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
