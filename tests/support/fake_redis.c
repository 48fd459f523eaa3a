/* fake_redis.c - simulated Redis instances (see fake_redis.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "fake_redis.h"

struct rsm_addr mkaddr(const char *text)
{
    struct rsm_addr a;

    memset(&a, 0, sizeof a);
    assert_int_equal(rsm_addr_parse(text, &a, NULL, 0), 0);
    return a;
}

void fake_redis_init(struct fake *f, size_t i, int64_t now)
{
    char text[48];

    memset(f, 0, sizeof *f);
    snprintf(text, sizeof text, "10.0.0.%zu:6379", i + 1);
    f->addr = mkaddr(text);
    f->proc = PROC_UP;
    f->priority = 100;
    f->fo_target = -1;
    f->offset = 1000;
    f->sync_start_ms = -1;
    f->master = -1;
    snprintf(f->run_id, sizeof f->run_id, "run-%zu", i);
    if (i == 0) {
        f->role = RSM_ROLE_MASTER;
    } else {
        f->role = RSM_ROLE_REPLICA;
        f->master = 0;
        f->link_up = true;
        f->linked_once = true;
        f->last_io_ms = now;
        snprintf(f->synced_run_id, sizeof f->synced_run_id, "run-0");
    }
}

int fake_redis_find(const struct fake *f, size_t n, const struct rsm_addr *a)
{
    for (size_t i = 0; i < n; i++) {
        if (rsm_addr_equal(&f[i].addr, a))
            return (int)i;
    }
    return -1;
}

void fake_redis_replicaof(struct fake *r, int m, int64_t now)
{
    /* Redis forgets the link's down time when it becomes a master; one
     * replica re-pointed to another master keeps it */
    if (r->role == RSM_ROLE_MASTER)
        r->linked_once = false;
    r->role = RSM_ROLE_REPLICA;
    r->master = m;
    r->link_up = false;
    r->link_change_ms = now;
    r->sync_start_ms = now;
}

void fake_redis_replicaof_no_one(struct fake *r)
{
    r->role = RSM_ROLE_MASTER;
    r->master = -1;
    r->link_up = false;
    r->sync_start_ms = -1;
    r->lag = 0;
}

/* One replica r of m: a link to a dead or restarted master drops (retried
 * reconnect_ms later); a stopped or loading master leaves the link as it
 * is, with no I/O; a sync completes sync_ms after it started. */
static void replicate(struct fake *r, const struct fake *m, int64_t now,
                      int64_t sync_ms, int64_t reconnect_ms)
{
    if (m->proc == PROC_KILLED || (m->proc == PROC_UP && r->link_up &&
                                   strcmp(r->synced_run_id, m->run_id) != 0)) {
        if (r->link_up) { /* connection closed: reconnect later */
            r->link_up = false;
            r->link_change_ms = now;
        }
        r->sync_start_ms = -1;
        return;
    }
    if (m->proc == PROC_STOPPED || m->loading)
        return;
    if (!r->link_up && r->sync_start_ms < 0 &&
        now - r->link_change_ms >= reconnect_ms)
        r->sync_start_ms = now;
    if (!r->link_up && r->sync_start_ms >= 0 && !m->delays_sync &&
        now - r->sync_start_ms >= sync_ms) {
        r->link_up = true;
        r->linked_once = true;
        r->link_change_ms = now;
        r->sync_start_ms = -1;
        memcpy(r->synced_run_id, m->run_id, sizeof r->synced_run_id);
    }
    if (r->link_up) {
        r->offset = m->offset - r->lag;
        r->last_io_ms = now;
    }
}

void fake_redis_replicate(struct fake *f, size_t n, int64_t now,
                          int64_t sync_ms, int64_t reconnect_ms)
{
    for (size_t i = 0; i < n; i++) {
        struct fake *r = &f[i];

        if (r->proc == PROC_UP && r->role == RSM_ROLE_REPLICA && r->master >= 0)
            replicate(r, &f[r->master], now, sync_ms, reconnect_ms);
    }
}

void fake_redis_info(const struct fake *f, size_t n, int i, int64_t now,
                     const char *version, struct rsm_info *info)
{
    const struct fake *r = &f[i];

    rsm_info_init(info);
    info->role = r->role;
    snprintf(info->run_id, sizeof info->run_id, "%s", r->run_id);
    info->master_repl_offset = r->loading ? 0 : r->offset;
    info->loading = r->loading;
    info->priority = r->priority;
    info->has_priority = true;
    snprintf(info->redis_version, sizeof info->redis_version, "%s",
             version ? version : FAKE_REDIS_VERSION);
    if (r->role == RSM_ROLE_MASTER && r->fo_target >= 0)
        info->failover_state = RSM_FOCMD_WAITING_SYNC;
    if (r->role == RSM_ROLE_REPLICA) {
        info->master = f[r->master].addr;
        info->link_up = r->link_up;
        info->master_last_io_s = r->link_up ? (now - r->last_io_ms) / 1000 : -1;
        info->link_down_since_s = r->link_up || !r->linked_once
                                      ? -1
                                      : (now - r->link_change_ms) / 1000;
        /* waiting for a master that delays the sync is not a transfer */
        info->sync_in_progress =
            r->sync_start_ms >= 0 && !f[r->master].delays_sync;
        info->slave_repl_offset = r->offset;
        return;
    }
    for (size_t j = 0; j < n; j++) {
        const struct fake *o = &f[j];

        if (o->proc == PROC_UP && o->role == RSM_ROLE_REPLICA &&
            o->master == i && o->link_up)
            info->connected_replicas++;
    }
}

void fake_redis_probe(const struct fake *f, size_t n, int i, int64_t now,
                      bool cut, const char *version, struct rsm_probe_result *r)
{
    const struct fake *x = &f[i];

    memset(r, 0, sizeof *r);
    r->time_ms = now;
    if (cut || x->proc == PROC_STOPPED) {
        r->outcome = RSM_PROBE_TIMEOUT;
    } else if (x->proc == PROC_KILLED) {
        r->outcome = RSM_PROBE_REFUSED;
    } else if (x->loading && !x->info_while_loading) {
        r->outcome = RSM_PROBE_ERROR_REPLY;
        r->alive = rsm_detector_alive_error("LOADING Redis is loading");
    } else {
        r->outcome = RSM_PROBE_OK;
        r->has_info = true;
        fake_redis_info(f, n, i, now, version, &r->info);
    }
}
