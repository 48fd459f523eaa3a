/* test_policy.c - unit tests for core/policy: exclusions, each step of the
 * order, and randomized checks that the order is a strict weak ordering and
 * that ranking does not depend on the input order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "rsm/policy.h"

/* --- fixtures ---
 * struct rsm_info values are built by hand (what rsm_info_init documents:
 * role unknown, numbers -1, priority 100), so these tests do not depend on
 * the INFO parser. */

static void info_blank(struct rsm_info *info)
{
    memset(info, 0, sizeof *info);
    info->priority = 100;
    info->master_last_io_s = -1;
    info->link_down_since_s = -1;
    info->slave_repl_offset = -1;
    info->master_repl_offset = -1;
}

/* A replica with link up (age = last io) or down (age = down since). */
static void info_replica(struct rsm_info *info, int priority, int64_t offset,
                         bool link_up, int64_t age, const char *run_id)
{
    info_blank(info);
    info->role = RSM_ROLE_REPLICA;
    info->priority = priority;
    info->slave_repl_offset = offset;
    info->master_repl_offset = offset;
    info->link_up = link_up;
    if (link_up)
        info->master_last_io_s = age;
    else
        info->link_down_since_s = age;
    snprintf(info->run_id, sizeof info->run_id, "%s", run_id);
    snprintf(info->master.host, sizeof info->master.host, "10.0.0.1");
    info->master.port = 6379;
}

static void cand(struct rsm_candidate *c, const char *host, uint16_t port,
                 const struct rsm_info *info)
{
    memset(c, 0, sizeof *c);
    snprintf(c->addr.host, sizeof c->addr.host, "%s", host);
    c->addr.port = port;
    c->reachable = info != NULL;
    c->info = info;
    c->info_age_ms = 100;
}

static int sign(int v)
{
    return v < 0 ? -1 : v > 0 ? 1 : 0;
}

/* --- config and names --- */

static void test_config_defaults(void **state)
{
    struct rsm_policy_config cfg;

    memset(&cfg, 0x5a, sizeof cfg);
    rsm_policy_config_init(&cfg);
    assert_int_equal(cfg.max_info_age_ms, 0);
    assert_int_equal(cfg.master_down_ms, -1);
    assert_int_equal(cfg.down_after_ms, 0);
    assert_int_equal(cfg.max_lag_bytes, 0);
    assert_int_equal(cfg.reference_offset, 0);
}

static void test_exclusion_names(void **state)
{
    static const char *const want[] = {
        "none",  "unreachable",        "loading", "priority-zero", "no-offset",
        "stale", "link-down-too-long", "lagging", "not-synced",
    };

    for (int e = RSM_EXCL_NONE; e <= RSM_EXCL_NOT_SYNCED; e++)
        assert_string_equal(rsm_exclusion_str((enum rsm_exclusion)e), want[e]);
    assert_string_equal(rsm_exclusion_str((enum rsm_exclusion)99), "unknown");
}

/* --- exclusions --- */

static void test_eligible_has_empty_reason(void **state)
{
    struct rsm_info info;
    struct rsm_candidate c;
    struct rsm_policy_config cfg;
    char reason[RSM_REASON_MAX] = "junk";

    rsm_policy_config_init(&cfg);
    info_replica(&info, 100, 1000, true, 1, "aaa");
    cand(&c, "10.0.0.2", 6379, &info);
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_NONE);
    assert_string_equal(reason, "");
    /* a NULL reason buffer is allowed */
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, NULL, 0), RSM_EXCL_NONE);
}

static void test_exclude_unreachable(void **state)
{
    struct rsm_info info;
    struct rsm_candidate c;
    struct rsm_policy_config cfg;
    char reason[RSM_REASON_MAX];

    rsm_policy_config_init(&cfg);
    cand(&c, "10.0.0.2", 6379, NULL);
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_UNREACHABLE);
    assert_non_null(strstr(reason, "unreachable"));
    /* an old reply kept around does not make it reachable */
    info_replica(&info, 100, 1000, true, 1, "aaa");
    c.info = &info;
    c.reachable = false;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_UNREACHABLE);
}

static void test_exclude_loading(void **state)
{
    struct rsm_info info;
    struct rsm_candidate c;
    struct rsm_policy_config cfg;
    char reason[RSM_REASON_MAX];

    rsm_policy_config_init(&cfg);
    info_replica(&info, 100, 1000, true, 1, "aaa");
    info.loading = true;
    cand(&c, "10.0.0.2", 6379, &info);
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_LOADING);
    assert_non_null(strstr(reason, "loading"));
}

static void test_exclude_priority_zero(void **state)
{
    struct rsm_info info;
    struct rsm_candidate c;
    struct rsm_policy_config cfg;
    char reason[RSM_REASON_MAX];

    rsm_policy_config_init(&cfg);
    info_replica(&info, 0, 999999, true, 0, "aaa");
    cand(&c, "10.0.0.2", 6379, &info);
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_PRIORITY_ZERO);
    assert_string_equal(reason,
                        "priority 0 (replica-priority 0 never promoted)");
    info.priority = -3;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_PRIORITY_ZERO);
    assert_non_null(strstr(reason, "-3"));
    info.priority = 1;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_NONE);
}

static void test_exclude_no_offset(void **state)
{
    struct rsm_info info;
    struct rsm_candidate c;
    struct rsm_policy_config cfg;
    char reason[RSM_REASON_MAX];

    rsm_policy_config_init(&cfg);
    info_replica(&info, 100, -1, true, 1, "aaa");
    info.master_repl_offset = 5000; /* a replica ranks by slave_repl_offset */
    cand(&c, "10.0.0.2", 6379, &info);
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_NO_OFFSET);
    assert_non_null(strstr(reason, "offset"));
    /* unknown role: no offset that means anything */
    info_blank(&info);
    info.slave_repl_offset = 10;
    info.master_repl_offset = 10;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_NO_OFFSET);
    /* a master uses master_repl_offset; 0 is a usable offset */
    info.role = RSM_ROLE_MASTER;
    info.slave_repl_offset = -1;
    info.master_repl_offset = 0;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_NONE);
}

static void test_exclude_stale(void **state)
{
    struct rsm_info info;
    struct rsm_candidate c;
    struct rsm_policy_config cfg;
    char reason[RSM_REASON_MAX];

    rsm_policy_config_init(&cfg);
    info_replica(&info, 100, 1000, true, 1, "aaa");
    cand(&c, "10.0.0.2", 6379, &info);
    c.info_age_ms = 600000;
    /* off by default */
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_NONE);
    cfg.max_info_age_ms = 5000;
    c.info_age_ms = 5000;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_NONE);
    c.info_age_ms = 5001;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_STALE);
    assert_string_equal(reason, "INFO is 5001 ms old (max 5000 ms)");
}

static void test_exclude_link_down_too_long(void **state)
{
    struct rsm_info info;
    struct rsm_candidate c;
    struct rsm_policy_config cfg;
    char reason[RSM_REASON_MAX];

    rsm_policy_config_init(&cfg);
    info_replica(&info, 100, 1000, false, 912, "aaa");
    cand(&c, "10.0.0.2", 6379, &info);
    cfg.down_after_ms = 30000;
    /* master_down_ms unknown (-1): rule off */
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_NONE);
    cfg.master_down_ms = 3000;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_LINK_DOWN_TOO_LONG);
    assert_string_equal(reason,
                        "link to master down for 912 s, master down 3 s");
    /* limit: 3000 + 10 * 30000 ms = 303 s */
    info.link_down_since_s = 303;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_NONE);
    info.link_down_since_s = 304;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_LINK_DOWN_TOO_LONG);
    /* huge values do not overflow into "eligible" */
    info.link_down_since_s = RSM_POLICY_NEVER_LINKED_S - 1;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_LINK_DOWN_TOO_LONG);
    /* beyond: "never up" as Redis < 7.0 says it (now - 0): not synced */
    info.link_down_since_s = INT64_MAX;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_NOT_SYNCED);
    info.link_down_since_s = 912;
    /* down_after_ms 0: rule off */
    cfg.down_after_ms = 0;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_NONE);
    cfg.down_after_ms = INT64_MAX / 2; /* limit not representable: off */
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_NONE);
    /* link up: rule does not apply (down with -1, "never up", is the
     * not-synced rule's: test_exclude_not_synced) */
    cfg.down_after_ms = 30000;
    info_replica(&info, 100, 1000, true, 1, "aaa");
    info.link_down_since_s = 912; /* inconsistent reply: link up wins */
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_NONE);
}

static void test_exclude_lagging(void **state)
{
    struct rsm_info info;
    struct rsm_candidate c;
    struct rsm_policy_config cfg;
    char reason[RSM_REASON_MAX];

    rsm_policy_config_init(&cfg);
    info_replica(&info, 100, 8999, true, 1, "aaa");
    cand(&c, "10.0.0.2", 6379, &info);
    cfg.reference_offset = 10000;
    /* off by default */
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_NONE);
    cfg.max_lag_bytes = 1000;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_LAGGING);
    assert_string_equal(reason, "1001 bytes behind offset 10000 (max 1000)");
    info.slave_repl_offset = 9000;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_NONE);
    /* ahead of the reference is fine */
    info.slave_repl_offset = 20000;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_NONE);
    /* reference unknown: rule off */
    info.slave_repl_offset = 0;
    cfg.reference_offset = -1;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_NONE);
}

/* What Redis 7.0.15 says of a replica that never completed its first sync
 * (its master waiting out repl-diskless-sync-delay, or gone before):
 * link down, master_link_down_since_seconds:-1, offset 1. And of one that
 * synced, then lost its master: link down for N s (offset 0 if nothing
 * was written since: that is no evidence of anything). */
static void test_exclude_not_synced(void **state)
{
    struct rsm_info info;
    struct rsm_candidate c;
    struct rsm_policy_config cfg;
    char reason[RSM_REASON_MAX];

    rsm_policy_config_init(&cfg);
    info_replica(&info, 100, 1, false, -1, "aaa");
    cand(&c, "10.0.0.2", 6379, &info);
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_NOT_SYNCED);
    assert_string_equal(reason,
                        "never completed a sync with the master (link never "
                        "up)");
    assert_true(rsm_policy_not_synced(&c, NULL, 0));
    /* Redis < 7.0: "now - 0" seconds */
    info.link_down_since_s = 1764000000;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_NOT_SYNCED);
    /* synced once, link down 3 s: eligible, whatever its offset */
    info.link_down_since_s = 3;
    info.slave_repl_offset = 0;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_NONE);
    /* a full sync again after that link: it keeps its data until the
     * transfer ends (and a promotion cancels it) */
    info.sync_in_progress = true;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_NONE);
    info.link_down_since_s = -1; /* a first sync */
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_NOT_SYNCED);
    info.sync_in_progress = false;
    info.link_down_since_s = 3;
    /* the caller saw it start following its master, link never up since
     * (a REPLICAOF from one master to another keeps the old link's time) */
    c.never_synced_seen = true;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_NOT_SYNCED);
    assert_string_equal(reason, "never completed a sync with the master (seen "
                                "following it, link never up)");
    /* link up: synced, whatever else is said */
    info.link_up = true;
    info.link_down_since_s = -1;
    info.master_last_io_s = 0;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_NONE);
    /* a master is not a replica of anything */
    info_blank(&info);
    info.role = RSM_ROLE_MASTER;
    info.master_repl_offset = 5;
    assert_false(rsm_policy_not_synced(&c, reason, sizeof reason));
    /* the override: eligible */
    info_replica(&info, 100, 1, false, -1, "aaa");
    c.never_synced_seen = false;
    cfg.allow_not_synced = true;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, reason, sizeof reason),
                     RSM_EXCL_NONE);
    assert_string_equal(reason, "");
}

/* The case: the replica that never synced has the better priority
 * and (its own, stale) higher offset. Normally it is out; forced, it is
 * eligible but ranked after every synced replica, and first only when it
 * is the only one. */
static void test_not_synced_ranks_last_when_allowed(void **state)
{
    struct rsm_info info[2];
    struct rsm_candidate c[2];
    struct rsm_rank out[2];
    struct rsm_policy_config cfg;

    rsm_policy_config_init(&cfg);
    info_replica(&info[0], 100, 500, false, 2, "aaa"); /* synced */
    info_replica(&info[1], 1, 9999, false, -1, "bbb"); /* never */
    cand(&c[0], "10.0.0.2", 6379, &info[0]);
    cand(&c[1], "10.0.0.3", 6379, &info[1]);
    assert_int_equal(rsm_policy_rank(c, 2, &cfg, out), 1);
    assert_int_equal(out[0].index, 0);
    assert_int_equal(out[1].excluded, RSM_EXCL_NOT_SYNCED);
    cfg.allow_not_synced = true;
    assert_int_equal(rsm_policy_rank(c, 2, &cfg, out), 2);
    assert_int_equal(out[0].index, 0);
    assert_int_equal(out[1].index, 1);
    assert_int_equal(out[1].rank, 2);
    assert_true(rsm_policy_compare(&c[0], &c[1]) < 0);
    assert_true(rsm_policy_compare(&c[1], &c[0]) > 0);
    /* alone, it is the one */
    assert_int_equal(rsm_policy_rank(&c[1], 1, &cfg, out), 1);
    cfg.allow_not_synced = false;
    assert_int_equal(rsm_policy_rank(&c[1], 1, &cfg, out), 0);
}

/* A candidate failing every rule reports the first one in header order;
 * fixing them one by one reveals the next. */
static void test_exclusion_order(void **state)
{
    struct rsm_info info;
    struct rsm_candidate c;
    struct rsm_policy_config cfg;

    rsm_policy_config_init(&cfg);
    cfg.max_info_age_ms = 1000;
    cfg.master_down_ms = 1000;
    cfg.down_after_ms = 1000;
    cfg.max_lag_bytes = 10;
    cfg.reference_offset = 100000;
    info_replica(&info, 0, -1, false, 9999, "aaa");
    info.loading = true;
    cand(&c, "10.0.0.2", 6379, &info);
    c.reachable = false;
    c.info_age_ms = 99999;

    assert_int_equal(rsm_policy_exclusion(&c, &cfg, NULL, 0),
                     RSM_EXCL_UNREACHABLE);
    c.reachable = true;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, NULL, 0), RSM_EXCL_LOADING);
    info.loading = false;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, NULL, 0),
                     RSM_EXCL_PRIORITY_ZERO);
    info.priority = 100;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, NULL, 0),
                     RSM_EXCL_NO_OFFSET);
    info.slave_repl_offset = 5;
    c.never_synced_seen = true;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, NULL, 0), RSM_EXCL_STALE);
    c.info_age_ms = 10;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, NULL, 0),
                     RSM_EXCL_NOT_SYNCED);
    c.never_synced_seen = false;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, NULL, 0),
                     RSM_EXCL_LINK_DOWN_TOO_LONG);
    info.link_down_since_s = 1;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, NULL, 0), RSM_EXCL_LAGGING);
    info.slave_repl_offset = 100000;
    assert_int_equal(rsm_policy_exclusion(&c, &cfg, NULL, 0), RSM_EXCL_NONE);
}

/* --- each step of the order --- */

/* Assert a < b in both directions. */
static void assert_before(const struct rsm_candidate *a,
                          const struct rsm_candidate *b)
{
    assert_true(rsm_policy_compare(a, b) < 0);
    assert_true(rsm_policy_compare(b, a) > 0);
}

static void test_order_priority_first(void **state)
{
    struct rsm_info ia, ib;
    struct rsm_candidate a, b;

    /* lower priority wins over a much higher offset and fresher contact */
    info_replica(&ia, 10, 100, false, 30, "zzz");
    info_replica(&ib, 100, 999999, true, 0, "aaa");
    cand(&a, "10.0.0.9", 6379, &ia);
    cand(&b, "10.0.0.1", 6379, &ib);
    assert_before(&a, &b);
}

static void test_order_offset_second(void **state)
{
    struct rsm_info ia, ib;
    struct rsm_candidate a, b;

    info_replica(&ia, 100, 1100, false, 30, "zzz");
    info_replica(&ib, 100, 1000, true, 0, "aaa");
    cand(&a, "10.0.0.9", 6379, &ia);
    cand(&b, "10.0.0.1", 6379, &ib);
    assert_before(&a, &b);
}

static void test_order_contact_third(void **state)
{
    struct rsm_info ia, ib;
    struct rsm_candidate a, b;

    info_blank(&ia);
    info_blank(&ib);
    cand(&a, "10.0.0.9", 6379, &ia);
    cand(&b, "10.0.0.1", 6379, &ib);
    /* link up: smaller master_last_io_seconds_ago first */
    info_replica(&ia, 100, 1000, true, 1, "zzz");
    info_replica(&ib, 100, 1000, true, 5, "aaa");
    assert_before(&a, &b);
    /* link down for 2 s is more recent contact than last io 3 s ago */
    info_replica(&ia, 100, 1000, false, 2, "zzz");
    info_replica(&ib, 100, 1000, true, 3, "aaa");
    assert_before(&a, &b);
    /* known beats unknown, whichever way it is unknown */
    info_replica(&ia, 100, 1000, false, 900, "zzz");
    info_replica(&ib, 100, 1000, true, -1, "aaa");
    assert_before(&a, &b);
    info_replica(&ib, 100, 1000, false, -1, "aaa");
    assert_before(&a, &b);
    /* a master (misconfigured case) has contact age 0 */
    info_blank(&ia);
    ia.role = RSM_ROLE_MASTER;
    ia.master_repl_offset = 1000;
    snprintf(ia.run_id, sizeof ia.run_id, "zzz");
    info_replica(&ib, 100, 1000, true, 1, "aaa");
    assert_before(&a, &b);
    info_replica(&ib, 100, 1000, true, 0, "aaa");
    assert_before(&b, &a); /* tie on age 0: run_id decides */
}

static void test_order_run_id_fourth(void **state)
{
    struct rsm_info ia, ib;
    struct rsm_candidate a, b;

    info_blank(&ia);
    info_blank(&ib);
    cand(&a, "10.0.0.9", 6379, &ia);
    cand(&b, "10.0.0.1", 6379, &ib);
    info_replica(&ia, 100, 1000, true, 1, "abc");
    info_replica(&ib, 100, 1000, true, 1, "ABD");
    assert_before(&a, &b); /* case-insensitive: abc < abd (strcmp: >) */
    info_replica(&ia, 100, 1000, true, 1, "zzz");
    info_replica(&ib, 100, 1000, true, 1, "");
    assert_before(&a, &b); /* empty run_id last */
}

static void test_order_address_last(void **state)
{
    struct rsm_info ia, ib;
    struct rsm_candidate a, b;

    info_replica(&ia, 100, 1000, true, 1, "abc");
    info_replica(&ib, 100, 1000, true, 1, "ABC");
    cand(&a, "10.0.0.1", 6379, &ia);
    cand(&b, "10.0.0.1", 6380, &ib);
    assert_before(&a, &b);
    cand(&b, "10.0.0.10", 6379, &ib);
    assert_before(&a, &b);
    /* the same instance compares equal (run_ids differ only in case) */
    cand(&b, "10.0.0.1", 6379, &ib);
    assert_int_equal(rsm_policy_compare(&a, &b), 0);
    assert_int_equal(rsm_policy_compare(&a, &a), 0);
}

/* --- ranking --- */

static void test_rank_layout(void **state)
{
    struct rsm_info info[5];
    struct rsm_candidate c[5];
    struct rsm_rank out[5];
    struct rsm_policy_config cfg;

    rsm_policy_config_init(&cfg);
    info_replica(&info[0], 0, 5000, true, 0, "a");   /* excluded */
    info_replica(&info[1], 100, 1000, true, 1, "b"); /* 3rd */
    info_replica(&info[2], 100, 1100, true, 1, "c"); /* 2nd */
    info_replica(&info[3], 100, 1100, true, 1, "d"); /* excluded */
    info_replica(&info[4], 50, 10, false, 99, "e");  /* 1st */
    info[3].loading = true;
    for (int i = 0; i < 5; i++) {
        char host[32];
        snprintf(host, sizeof host, "10.0.0.%d", i + 1);
        cand(&c[i], host, 6379, &info[i]);
    }
    assert_int_equal(rsm_policy_rank(c, 5, &cfg, out), 3);
    assert_int_equal(out[0].index, 4);
    assert_int_equal(out[1].index, 2);
    assert_int_equal(out[2].index, 1);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(out[i].rank, i + 1);
        assert_int_equal(out[i].excluded, RSM_EXCL_NONE);
        assert_string_equal(out[i].reason, "");
    }
    /* excluded ones follow in input order */
    assert_int_equal(out[3].index, 0);
    assert_int_equal(out[3].rank, 0);
    assert_int_equal(out[3].excluded, RSM_EXCL_PRIORITY_ZERO);
    assert_non_null(strstr(out[3].reason, "priority 0"));
    assert_int_equal(out[4].index, 3);
    assert_int_equal(out[4].excluded, RSM_EXCL_LOADING);
    assert_int_equal(rsm_policy_rank(c, 0, &cfg, out), 0);
}

/* The seed tool sorted by (priority, offset, master_last_io_seconds_ago)
 * only. With priority and offset tied, that was no strict weak ordering:
 * a replica whose link was down read -1 and ranked as the freshest, and
 * replicas tied on all three came out in input order. */
static void test_seed_bug_ties_on_priority_and_offset(void **state)
{
    static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                    {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    struct rsm_info info[3];
    struct rsm_candidate base[3], c[3];
    struct rsm_rank out[3];
    struct rsm_policy_config cfg;

    rsm_policy_config_init(&cfg);
    /* link down 900 s: master_last_io_seconds_ago reads -1 */
    info_replica(&info[0], 100, 1000, false, 900, "aaaa");
    info_replica(&info[1], 100, 1000, true, 1, "cccc");
    info_replica(&info[2], 100, 1000, true, 1, "BBBB");
    cand(&base[0], "10.0.0.1", 6379, &info[0]);
    cand(&base[1], "10.0.0.2", 6379, &info[1]);
    cand(&base[2], "10.0.0.3", 6379, &info[2]);
    assert_true(rsm_policy_compare(&base[1], &base[2]) != 0);
    assert_before(&base[2], &base[1]);
    assert_before(&base[1], &base[0]);
    for (int p = 0; p < 6; p++) {
        for (int i = 0; i < 3; i++)
            c[i] = base[perms[p][i]];
        assert_int_equal(rsm_policy_rank(c, 3, &cfg, out), 3);
        assert_string_equal(c[out[0].index].addr.host, "10.0.0.3");
        assert_string_equal(c[out[1].index].addr.host, "10.0.0.2");
        assert_string_equal(c[out[2].index].addr.host, "10.0.0.1");
    }
}

/* --- randomized properties --- */

#define PROP_SEED 0x5eed2024u
#define PROP_SETS 2000
#define PROP_MAX  9

static uint64_t rng_state;

static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned pick(unsigned n)
{
    return (unsigned)(rng() % n);
}

/* Few distinct values per key, so that ties are the common case. */
static void random_candidate(struct rsm_candidate *c, struct rsm_info *info,
                             bool allow_excluded)
{
    static const char *const run_ids[] = {"", "abc", "ABC", "abd", "b"};
    static const char *const hosts[] = {"h1", "H1", "h2", "a", "h10"};
    static const int64_t ages[] = {-1, 0, 1, 2};
    char host[8];

    if (pick(8) == 0) {
        info_blank(info);
        info->role = RSM_ROLE_MASTER;
        info->master_repl_offset = 100 * pick(3);
    } else {
        info_replica(info, 1 + (int)pick(2), 100 * pick(3), pick(2) == 0,
                     ages[pick(4)], "");
    }
    snprintf(info->run_id, sizeof info->run_id, "%s", run_ids[pick(5)]);
    snprintf(host, sizeof host, "%s", hosts[pick(5)]);
    cand(c, host, (uint16_t)(1 + pick(2)), info);
    c->never_synced_seen = pick(4) == 0; /* key 0 of the order */
    if (allow_excluded && pick(6) == 0) {
        switch (pick(3)) {
        case 0:
            c->reachable = false;
            break;
        case 1:
            info->priority = 0;
            break;
        default:
            info->loading = true;
        }
    }
}

static void check_order_properties(const struct rsm_candidate *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(rsm_policy_compare(&c[i], &c[i]), 0);
        for (size_t j = 0; j < n; j++) {
            int ij = rsm_policy_compare(&c[i], &c[j]);

            /* antisymmetry, and total over distinct instances */
            assert_int_equal(sign(ij), -sign(rsm_policy_compare(&c[j], &c[i])));
            if (!rsm_addr_equal(&c[i].addr, &c[j].addr))
                assert_int_not_equal(ij, 0);
            for (size_t k = 0; k < n; k++) {
                int jk = rsm_policy_compare(&c[j], &c[k]);
                int ik = rsm_policy_compare(&c[i], &c[k]);

                /* transitivity of < and of equivalence */
                if (ij < 0 && jk < 0)
                    assert_true(ik < 0);
                if (ij == 0 && jk == 0)
                    assert_int_equal(ik, 0);
            }
        }
    }
}

static void shuffle(struct rsm_candidate *c, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = pick((unsigned)i);
        struct rsm_candidate t = c[i - 1];

        c[i - 1] = c[j];
        c[j] = t;
    }
}

static void test_random_strict_weak_ordering(void **state)
{
    struct rsm_info info[PROP_MAX];
    struct rsm_candidate c[PROP_MAX];

    rng_state = PROP_SEED;
    for (int s = 0; s < PROP_SETS; s++) {
        size_t n = 2 + pick(PROP_MAX - 1);

        for (size_t i = 0; i < n; i++)
            random_candidate(&c[i], &info[i], false);
        check_order_properties(c, n);
    }
}

static void test_random_rank_ignores_input_order(void **state)
{
    struct rsm_info info[PROP_MAX];
    struct rsm_candidate c[PROP_MAX], sh[PROP_MAX];
    struct rsm_rank r1[PROP_MAX], r2[PROP_MAX];
    struct rsm_policy_config cfg;

    rsm_policy_config_init(&cfg);
    rng_state = PROP_SEED + 1;
    for (int s = 0; s < PROP_SETS; s++) {
        size_t n = 1 + pick(PROP_MAX), k1, k2;

        for (size_t i = 0; i < n; i++)
            random_candidate(&c[i], &info[i], true);
        memcpy(sh, c, n * sizeof c[0]);
        shuffle(sh, n);
        k1 = rsm_policy_rank(c, n, &cfg, r1);
        k2 = rsm_policy_rank(sh, n, &cfg, r2);
        assert_int_equal(k1, k2);
        for (size_t i = 0; i < k1; i++) {
            /* same instance at every place, best first */
            assert_true(
                rsm_addr_equal(&c[r1[i].index].addr, &sh[r2[i].index].addr));
            assert_int_equal(
                rsm_policy_compare(&c[r1[i].index], &sh[r2[i].index]), 0);
            if (i > 0)
                assert_true(rsm_policy_compare(&c[r1[i - 1].index],
                                               &c[r1[i].index]) <= 0);
        }
        for (size_t i = k1; i < n; i++) {
            assert_int_equal(r1[i].rank, 0);
            assert_int_not_equal(r1[i].excluded, RSM_EXCL_NONE);
            assert_true(strlen(r1[i].reason) > 0);
            if (i > k1)
                assert_true(r1[i - 1].index < r1[i].index);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_exclusion_names),
        cmocka_unit_test(test_eligible_has_empty_reason),
        cmocka_unit_test(test_exclude_unreachable),
        cmocka_unit_test(test_exclude_loading),
        cmocka_unit_test(test_exclude_priority_zero),
        cmocka_unit_test(test_exclude_no_offset),
        cmocka_unit_test(test_exclude_stale),
        cmocka_unit_test(test_exclude_link_down_too_long),
        cmocka_unit_test(test_exclude_lagging),
        cmocka_unit_test(test_exclude_not_synced),
        cmocka_unit_test(test_not_synced_ranks_last_when_allowed),
        cmocka_unit_test(test_exclusion_order),
        cmocka_unit_test(test_order_priority_first),
        cmocka_unit_test(test_order_offset_second),
        cmocka_unit_test(test_order_contact_third),
        cmocka_unit_test(test_order_run_id_fourth),
        cmocka_unit_test(test_order_address_last),
        cmocka_unit_test(test_rank_layout),
        cmocka_unit_test(test_seed_bug_ties_on_priority_and_offset),
        cmocka_unit_test(test_random_strict_weak_ordering),
        cmocka_unit_test(test_random_rank_ignores_input_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
