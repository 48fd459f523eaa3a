/* node_watch.c - watching raft (see node.c): the poll that turns changes
 * of state, term, leader, configuration and snapshot into log lines and
 * observer events; the barrier a new leader commits before it is ready;
 * the data disk's free room; and raft_io wrapped, to see raft's ticks and
 * messages (and, on raft 0.15, to fix two bugs of its followers there). */
#include "node_int.h"
#include "rsm/datadir.h"
#include "rsm/err.h"
#include "rsm/log.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Free room in the data dir is looked at no more often than this. */
#define DISK_CHECK_MS 200

static void node__barrier_done(struct raft_barrier *req, int status);

struct barrier {
    struct raft_barrier req;
    struct rsm_node *n;
    raft_term term;
    uint64_t started_ns;
};

/* A new leader commits a barrier before it says it is ready. */
static void node__start_barrier(struct rsm_node *n)
{
    struct barrier *b = calloc(1, sizeof *b);
    int rv;

    if (b == NULL)
        return; /* retried on the next poll */
    b->n = n;
    b->term = n->raft.current_term;
    b->started_ns = uv_hrtime();
    b->req.data = b;
    rv = raft_barrier(&n->raft, &b->req, node__barrier_done);
    if (rv != 0) {
        rsm_log(RSM_LOG_WARN, "leader-barrier-failed", "term=%llu error=%s",
                (unsigned long long)b->term, raft_strerror(rv));
        free(b);
        return;
    }
    n->barrier_inflight = true;
}

static void node__barrier_done(struct raft_barrier *req, int status)
{
    struct barrier *b = req->data;
    struct rsm_node *n = b->n;
    double ms = (double)(uv_hrtime() - b->started_ns) / 1e6;

    n->barrier_inflight = false;
    if (n->closing) {
        free(b);
        return;
    }
    if (status != 0) {
        rsm_log(RSM_LOG_WARN, "leader-barrier-failed", "term=%llu error=%s",
                (unsigned long long)b->term, raft_strerror(status));
    } else if (n->raft.state == RAFT_LEADER &&
               n->raft.current_term == b->term && !n->ready) {
        n->ready = true;
        rsm_log(RSM_LOG_INFO, "leader-ready",
                "term=%llu barrier_ms=%.1f applied=%llu",
                (unsigned long long)b->term, ms,
                (unsigned long long)n->raft.last_applied);
        node__emit(n, RSM_NODE_BECAME_LEADER, NULL, 0);
    }
    free(b);
}

static void node__log_members(struct rsm_node *n, const char *event,
                              bool committed)
{
    struct rsm_member ms[RSM_MAX_AGENTS];
    unsigned k = node__config_members(n, ms, RSM_MAX_AGENTS);
    char list[RSM_MAX_AGENTS * (MEMBER_STRLEN + 32)] = "", addr[MEMBER_STRLEN];
    size_t o = 0;

    for (unsigned i = 0; i < k && o < sizeof list; i++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%llu:%s:%s",
                              i ? "," : "", (unsigned long long)ms[i].id,
                              rsm_node_format_member(&ms[i], addr, sizeof addr),
                              ms[i].voter ? "voter" : "non-voter");
    rsm_log(RSM_LOG_INFO, event, "index=%llu committed=%s members=%s",
            (unsigned long long)(committed
                                     ? rsm_raft_conf_committed_index(&n->raft)
                                     : n->raft.configuration_uncommitted_index),
            committed ? "true" : "false", *list ? list : "none");
}

static void node__watch_state(struct rsm_node *n)
{
    int st = n->raft.state;
    raft_term term = n->raft.current_term;
    bool was_leader = n->state_seen == RAFT_LEADER;

    /* ready is only set for the leader seen (node__barrier_done) */
    assert(!n->ready || was_leader);
    if (st == n->state_seen && (st != RAFT_LEADER || term == n->term_seen)) {
        n->term_seen = term;
        return;
    }
    if (was_leader) {
        rsm_log(RSM_LOG_INFO, "lost-leadership", "term=%llu new_term=%llu",
                (unsigned long long)n->term_seen, (unsigned long long)term);
        n->ready = false;
        node__emit(n, RSM_NODE_LOST_LEADERSHIP, NULL, 0);
    }
    switch (st) {
    case RAFT_LEADER:
        n->ready = false;
        rsm_log(RSM_LOG_INFO, "became-leader", "term=%llu",
                (unsigned long long)term);
        break;
    case RAFT_FOLLOWER:
        rsm_log(RSM_LOG_INFO, "became-follower", "term=%llu",
                (unsigned long long)term);
        break;
    case RAFT_CANDIDATE:
        rsm_log(RSM_LOG_DEBUG, "became-candidate", "term=%llu",
                (unsigned long long)term);
        break;
    default:
        rsm_log(RSM_LOG_WARN, "raft-unavailable", "term=%llu",
                (unsigned long long)term);
        break;
    }
    n->state_seen = st;
    n->term_seen = term;
}

static void node__watch_leader(struct rsm_node *n)
{
    raft_id id;
    const char *addr;

    raft_leader(&n->raft, &id, &addr);
    if (id == n->leader_seen)
        return;
    n->leader_seen = id;
    if (id == 0) {
        rsm_log(RSM_LOG_DEBUG, "leader-unknown", "term=%llu",
                (unsigned long long)n->raft.current_term);
        return;
    }
    n->leader_changes++;
    rsm_log(RSM_LOG_INFO, "leader-changed", "leader=%llu addr=%s term=%llu",
            (unsigned long long)id, addr ? addr : "?",
            (unsigned long long)n->raft.current_term);
    node__emit(n, RSM_NODE_LEADER_CHANGED, NULL, 0);
}

static void node__watch_log(struct rsm_node *n)
{
    const struct raft *r = &n->raft;

    if (rsm_raft_conf_committed_index(r) != n->conf_seen) {
        n->conf_seen = rsm_raft_conf_committed_index(r);
        node__log_members(n, "membership", true);
    }
    if (r->configuration_uncommitted_index != n->conf_uncommitted_seen) {
        n->conf_uncommitted_seen = r->configuration_uncommitted_index;
        if (r->configuration_uncommitted_index != 0)
            node__log_members(n, "membership-change", false);
    }
    if (rsm_raft_snapshot_index(r) != n->snap_seen) {
        n->snap_seen = rsm_raft_snapshot_index(r);
        /* raft_fsm.c logs the snapshot itself; this is where it sits in
         * the log, once stored (taken) or installed (restored). */
        rsm_log(RSM_LOG_INFO,
                n->restored ? "snapshot-installed" : "snapshot-stored",
                "index=%llu term=%llu", (unsigned long long)n->snap_seen,
                (unsigned long long)rsm_raft_snapshot_term(r));
        n->restored = false;
    }
}

static void node__disk_transfer_done(struct raft_transfer *req)
{
    struct rsm_node *n = container_of(req, struct rsm_node, disk_transfer);

    n->disk_transfer_busy = false;
}

/* A leader short of disk hands leadership to the voter most caught up. */
static void node__step_aside(struct rsm_node *n)
{
    raft_id target;
    int rv;

    if (n->disk_transfer_busy)
        return;
    target = node__transfer_target(n);
    if (target == 0) {
        if (n->disk_skip_logged != n->raft.current_term)
            rsm_log(RSM_LOG_ERROR, "leadership-transfer-skipped",
                    "reason=no-reachable-voter cause=data-disk-low "
                    "term=%llu detail=\"leading without deciding\"",
                    (unsigned long long)n->raft.current_term);
        n->disk_skip_logged = n->raft.current_term;
        return;
    }
    memset(&n->disk_transfer, 0, sizeof n->disk_transfer);
    rv = raft_transfer(&n->raft, &n->disk_transfer, target,
                       node__disk_transfer_done);
    if (rv != 0) {
        rsm_log(RSM_LOG_WARN, "leadership-transfer-failed",
                "cause=data-disk-low error=%s", raft_strerror(rv));
        return;
    }
    n->disk_transfer_busy = true;
    rsm_log(RSM_LOG_WARN, "leadership-transfer",
            "to=%llu term=%llu cause=data-disk-low", (unsigned long long)target,
            (unsigned long long)n->raft.current_term);
}

/* libraft 0.15 keeps leading on a full disk and then crashes on a write it
 * could not make: below RSM_DATADIR_MIN_FREE free bytes this node proposes
 * nothing (rsm_node_propose fails) and, when it leads, steps aside. */
static void node__watch_disk(struct rsm_node *n)
{
    int64_t room;
    bool low;

    if (uv_now(n->loop) - n->disk_checked_ms < DISK_CHECK_MS)
        return;
    n->disk_checked_ms = uv_now(n->loop);
    room = rsm_datadir_free_bytes(n->data_dir);
    low = room >= 0 && room < RSM_DATADIR_MIN_FREE;
    if (low != n->disk_low) {
        n->disk_low = low;
        rsm_log(low ? RSM_LOG_ERROR : RSM_LOG_INFO,
                low ? "data-disk-low" : "data-disk-ok",
                "free_bytes=%lld min_bytes=%d data_dir=%s%s", (long long)room,
                RSM_DATADIR_MIN_FREE, n->data_dir,
                low ? " detail=\"no proposals, leadership handed over\"" : "");
    }
    if (low && n->raft.state == RAFT_LEADER && !n->stopping)
        node__step_aside(n);
}

static bool node__needs_barrier(const struct rsm_node *n)
{
    return n->raft.state == RAFT_LEADER && !n->ready && !n->barrier_inflight &&
           !n->stopping;
}

void node__poll_cb(uv_timer_t *t)
{
    struct rsm_node *n = t->data;

    if (n->closing)
        return;
    node__watch_state(n); /* observers run from here: check closing again */
    if (!n->closing)
        node__watch_leader(n);
    if (!n->closing)
        node__watch_log(n);
    if (!n->closing)
        node__watch_disk(n);
    if (!n->closing && node__needs_barrier(n))
        node__start_barrier(n);
}

/* Cheap: did anything node__poll_cb looks at change since it last ran? */
static bool node__changed(struct rsm_node *n)
{
    const struct raft *r = &n->raft;
    raft_id id;
    const char *addr;

    if (r->state != n->state_seen || r->current_term != n->term_seen ||
        rsm_raft_conf_committed_index(r) != n->conf_seen ||
        r->configuration_uncommitted_index != n->conf_uncommitted_seen ||
        rsm_raft_snapshot_index(r) != n->snap_seen || node__needs_barrier(n))
        return true;
    raft_leader(&n->raft, &id, &addr);
    return id != n->leader_seen;
}

/* After raft handled a tick or a message: run node__poll_cb on the next loop
 * turn if something changed. */
static void node__kick(struct rsm_node *n)
{
    if (!n->closing && node__changed(n))
        uv_timer_start(&n->poll, node__poll_cb, 0, POLL_MS);
}

static void node__io_tick(struct raft_io *io)
{
    struct rsm_node *n = container_of(io, struct rsm_node, io);

    n->tick_ms = uv_now(n->loop);
    n->raft_tick(io);
    node__kick(n);
}

uint64_t rsm_node_tick_ms(const struct rsm_node *n)
{
    return n->tick_ms;
}

uint64_t rsm_node_tick_period_ms(const struct rsm_node *n)
{
    return n->tick_period_ms;
}

#if RSM_RAFT_015
/* Two bugs of raft 0.15 followers, fixed where messages pass through.
 *
 * A follower whose log ends with entries a deposed leader appended but
 * never committed ("stale" entries) answers an AppendEntries that matches
 * at prev_log_index with
 *  1. last_log_index = its last stored index, stale entries included. The
 *     leader takes that as the follower's match index: it counts the
 *     follower as holding entries it does not have (commits without a real
 *     majority) and, once in pipeline mode, ignores the follower's
 *     rejections forever, so the follower never catches up;
 *  2. commit_index = min(leader_commit, last stored index): it may apply a
 *     stale entry the leader overwrote.
 * Raft's rule is "index of last new entry": prev_log_index + n_entries. So
 * leader_commit is capped at it before raft sees the message, and a
 * success result sent while raft handles that message (the synchronous
 * path; results sent later, after new entries were stored, end at the
 * leader's entries) reports at most it. */
static void node__io_recv(struct raft_io *io, struct raft_message *msg)
{
    struct rsm_node *n = container_of(io, struct rsm_node, io);
    struct raft_append_entries *ae = &msg->append_entries;
    bool append = msg->type == RAFT_IO_APPEND_ENTRIES;

    if (append) {
        n->append_end = ae->prev_log_index + ae->n_entries;
        if (ae->leader_commit > n->append_end)
            ae->leader_commit = n->append_end;
        n->in_append = true;
    }
    n->raft_recv(io, msg);
    n->in_append = false;
    node__kick(n);
}

int node__io_send(struct raft_io *io, struct raft_io_send *req,
                  const struct raft_message *msg, raft_io_send_cb cb)
{
    struct rsm_node *n = container_of(io, struct rsm_node, io);
    struct raft_message fixed;

    if (n->in_append && msg->type == RAFT_IO_APPEND_ENTRIES_RESULT &&
        msg->append_entries_result.rejected == 0 &&
        msg->append_entries_result.last_log_index > n->append_end) {
        /* raft_uv encodes the message before send() returns. */
        fixed = *msg;
        fixed.append_entries_result.last_log_index = n->append_end;
        return n->io_send(io, req, &fixed, cb);
    }
    return n->io_send(io, req, msg, cb);
}
#else
/* Note that id just spoke (a slot of its own, else the stalest one). */
static void node__heard_from(struct rsm_node *n, raft_id id)
{
    unsigned slot = 0;

    for (unsigned i = 0; i < RSM_MAX_AGENTS; i++) {
        if (n->heard[i].id == id) {
            slot = i;
            break;
        }
        if (n->heard[i].ms < n->heard[slot].ms)
            slot = i;
    }
    n->heard[slot].id = id;
    n->heard[slot].ms = uv_now(n->loop);
}

/* Whether id spoke within the last election timeout. */
bool node__heard_recently(const struct rsm_node *n, raft_id id)
{
    for (unsigned i = 0; i < RSM_MAX_AGENTS; i++)
        if (n->heard[i].id == id)
            return uv_now(n->loop) - n->heard[i].ms <
                   n->cfg.election_timeout_ms;
    return false;
}

/* 0.22 follows Raft's rule on both points of the 0.15 workaround above
 * (replicationAppend: commit index min(leader_commit, prev_log_index +
 * n_entries); a success reports prev_log_index + n_entries, at most what
 * is stored): messages only pass through, noting who sent them. */
static void node__io_recv(struct raft_io *io, struct raft_message *msg)
{
    struct rsm_node *n = container_of(io, struct rsm_node, io);

    node__heard_from(n, msg->server_id);
    n->raft_recv(io, msg);
    node__kick(n);
}
#endif

int node__io_start(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
                   raft_io_recv_cb recv)
{
    struct rsm_node *n = container_of(io, struct rsm_node, io);

    n->raft_tick = tick;
    n->raft_recv = recv;
    n->tick_period_ms = msecs;
    return n->io_start(io, msecs, node__io_tick, node__io_recv);
}
