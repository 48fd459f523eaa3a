/* fake_redis.h - simulated Redis instances for the decision-core tests
 * (tests/unit/test_planner.c, tests/cluster/test_failover_sim.c).
 *
 * A fake is a plain struct that evolves with the test's own fake time: a
 * replica follows a master by index, its link comes up sync_ms after a
 * sync starts (never, while its master delays syncs), drops when its
 * master dies or restarts (a new run id), and is retried reconnect_ms
 * later; a linked replica copies its master's offset (minus a fixed lag).
 * Like Redis 7, a replica whose link was never up since it stopped being
 * a master reports master_link_down_since_seconds -1. Probing a fake gives
 * what the shell would feed the detector: a struct rsm_probe_result with
 * INFO, a timeout, a refused connection or a -LOADING error (or, with
 * info_while_loading, INFO saying loading:1 and offset 0, as Redis answers
 * while it loads an RDB). The tests own the array of fakes and the clock
 * and pass them in; nothing here keeps state.
 *
 * Test support only: failures are cmocka assertions. */
#ifndef RSM_TEST_FAKE_REDIS_H
#define RSM_TEST_FAKE_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsm/addr.h"
#include "rsm/detector.h"
#include "rsm/info.h"

/* redis_version of a fake unless the test says otherwise. */
#define FAKE_REDIS_VERSION "7.0.15"

/* The process of a fake. */
enum proc {
    PROC_UP,
    PROC_KILLED,  /* connections refused, replicas' links drop */
    PROC_STOPPED, /* SIGSTOP: probes time out, links stay as they are */
};

struct fake {
    struct rsm_addr addr;
    enum proc proc;
    bool loading;            /* answers -LOADING */
    bool info_while_loading; /* loading: INFO answers (loading:1, offset
                                0) instead of -LOADING */
    bool delays_sync;        /* as a master: no sync to it completes
                                (repl-diskless-sync-delay) */
    bool deaf;               /* commands to it fail (the tests check this) */
    enum rsm_role role;
    int master; /* index followed, -1 none */
    bool link_up;
    bool linked_once; /* link up since it last was a master */
    int64_t link_change_ms;
    int64_t last_io_ms;
    int64_t sync_start_ms; /* -1: not syncing */
    char synced_run_id[RSM_RUNID_LEN + 1];
    int64_t offset;
    int64_t lag; /* bytes behind its master even when linked */
    int priority;
    char run_id[RSM_RUNID_LEN + 1];
    int fo_target;        /* FAILOVER TO it waiting for sync, -1 none */
    int64_t paused_until; /* CLIENT PAUSE WRITE until then (test_planner) */
    int64_t acked_hi;     /* highest offset it acknowledged a write at */
    bool no_failover_cmd; /* FAILOVER renamed away: "unknown command" */
};

/* An address from "host:port" (asserts that it parses). */
struct rsm_addr mkaddr(const char *text);

/* Instance i of a group whose instance 0 is the master: 10.0.0.<i+1>:6379,
 * run id "run-<i>", priority 100, offset 1000, up; i > 0 is a replica of
 * 0 linked at now. */
void fake_redis_init(struct fake *f, size_t i, int64_t now);

/* Index of the fake at a in f[0..n), -1 if none. */
int fake_redis_find(const struct fake *f, size_t n, const struct rsm_addr *a);

/* REPLICAOF master index m: the sync starts at now. */
void fake_redis_replicaof(struct fake *r, int m, int64_t now);

/* REPLICAOF NO ONE. */
void fake_redis_replicaof_no_one(struct fake *r);

/* Replication of every replica that is up, at now (see above). */
void fake_redis_replicate(struct fake *f, size_t n, int64_t now,
                          int64_t sync_ms, int64_t reconnect_ms);

/* What INFO of f[i] says at now (version NULL: FAKE_REDIS_VERSION). */
void fake_redis_info(const struct fake *f, size_t n, int i, int64_t now,
                     const char *version, struct rsm_info *info);

/* A probe of f[i] at now by an agent that is cut off from it (cut) or
 * not. */
void fake_redis_probe(const struct fake *f, size_t n, int i, int64_t now,
                      bool cut, const char *version,
                      struct rsm_probe_result *r);

#endif /* RSM_TEST_FAKE_REDIS_H */
