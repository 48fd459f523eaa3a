/* node_int.h - what the files of the Raft node share: the node's struct
 * and the helpers one file defines for another. Private to src/raft.
 *
 *   node.c         events to the observer, the FSM glue, status
 *   node_peers.c   member addresses and the peer list
 *   node_start.c   the data-dir lock, start
 *   node_watch.c   watching raft (poll), the leader's barrier, the data
 *                  disk, raft_io wrapped (and raft 0.15's fixes there)
 *   node_stop.c    the graceful stop, the leadership transfer target
 *   node_propose.c proposals and membership changes
 *
 * Ownership: see node.h. Everything runs on the loop thread. */
#ifndef RSM_RAFT_NODE_INT_H
#define RSM_RAFT_NODE_INT_H

#include "rsm/node.h"
#include "raft_compat.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <raft.h>
#include <raft/uv.h>

/* How often raft's state is polled (see node_watch.c). */
#ifndef POLL_MS
#define POLL_MS 250
#endif
/* Log segment size. raft_uv reads a whole open segment into memory on
 * restart and keeps it while any of its entries is in the in-memory log;
 * the 8 MiB default cost ~16 MB of RSS after a crash. Our entries are small
 * (bytes to a few KB); a batch larger than a segment still goes into one
 * (the file grows). */
#ifndef SEGMENT_SIZE
#define SEGMENT_SIZE (64 * 1024)
#endif
/* "host:port/apiport" */
#define MEMBER_STRLEN (RSM_ADDR_STRLEN + 8)

#define container_of(ptr, type, member)                                        \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

struct rsm_node {
    uv_loop_t *loop;
    struct rsm_node_config cfg; /* cfg.data_dir points to data_dir */
    char *data_dir;
    char self_addr[MEMBER_STRLEN];
    char cluster_id[RSM_CLUSTER_ID_LEN + 1]; /* "" while unknown */
    struct rsm_node_observer obs;
    int lock_fd;

    struct rsm_fsm state; /* the replicated state */
    struct raft_fsm fsm;  /* drives state (raft_fsm.h) */
    struct raft_uv_transport transport;
    struct raft_io io;
    struct raft raft;
    /* raft_io->start and the callbacks raft gave it, wrapped (see top). */
    int (*io_start)(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
                    raft_io_recv_cb recv);
    raft_io_tick_cb raft_tick;
    raft_io_recv_cb raft_recv;
    uint64_t tick_ms;        /* loop time of raft's latest tick, 0: none */
    uint64_t tick_period_ms; /* what raft asked io->start for */
#if RSM_RAFT_015
    int (*io_send)(struct raft_io *io, struct raft_io_send *req,
                   const struct raft_message *msg, raft_io_send_cb cb);
    bool in_append;        /* raft is handling an AppendEntries we got */
    raft_index append_end; /* its prev_log_index + n_entries */
#else
    /* When a message last came from whom (loop ms): 0.22 does not show a
     * leader's per-follower progress, transfer_target reads this. */
    struct {
        raft_id id;
        uint64_t ms;
    } heard[RSM_MAX_AGENTS];
#endif
    uv_timer_t poll;
    uv_timer_t stop_timer;
    unsigned handles_open;

    /* What the last poll saw. */
    int state_seen;
    raft_term term_seen;
    raft_id leader_seen;
    raft_index conf_seen, conf_uncommitted_seen, snap_seen;
    bool restored; /* a snapshot was restored since the last poll */
    bool ready;    /* leader and the barrier applied */
    bool barrier_inflight;
    uint64_t leader_changes;

    /* Data disk below RSM_DATADIR_MIN_FREE: no proposals, and a leader
     * hands leadership over (disk_transfer, kept like transfer below). */
    bool disk_low, disk_transfer_busy;
    uint64_t disk_checked_ms;   /* uv_now of the last look */
    raft_term disk_skip_logged; /* term of the last "nobody to hand to" */
    struct raft_transfer disk_transfer;

    /* Stopping. The transfer request stays here until raft is closed:
     * raft 0.15 may touch it after its callback. */
    struct raft_transfer transfer;
    bool stopping, closing;
    rsm_node_stop_cb stop_cb;
    void *stop_arg;
};

/* --- node.c ------------------------------------------------------------ */

/* Tell the observer (not once closing). */
void node__emit(struct rsm_node *n, enum rsm_node_event ev,
                const struct rsm_entry *e, int status);

/* Members of the current (possibly uncommitted) configuration. */
unsigned node__config_members(const struct rsm_node *n, struct rsm_member *out,
                              unsigned max);

/* The replicated state and its raft FSM (raft_fsm.h). 0 or RSM_E* with
 * errmsg; teardown undoes setup. */
int node__fsm_setup(struct rsm_node *n, char *errmsg, size_t errlen);
void node__fsm_teardown(struct rsm_node *n);

/* --- node_watch.c ------------------------------------------------------ */

/* The poll timer's callback (see node_watch.c). */
void node__poll_cb(uv_timer_t *t);

/* raft_io->start wrapped: raft's tick and receive callbacks pass through
 * the node. */
int node__io_start(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
                   raft_io_recv_cb recv);
#if RSM_RAFT_015
/* raft_io->send wrapped (0.15 only: see node_watch.c). */
int node__io_send(struct raft_io *io, struct raft_io_send *req,
                  const struct raft_message *msg, raft_io_send_cb cb);
#else
/* Whether id spoke within the last election timeout. */
bool node__heard_recently(const struct rsm_node *n, raft_id id);
#endif

/* --- node_stop.c ------------------------------------------------------- */

/* Leader only: the voter most likely to win at once (caught up furthest
 * and heard from within the last election timeout); 0 if none. */
raft_id node__transfer_target(struct rsm_node *n);

/* raft_close's callback: close the rest, then free the node. */
void node__raft_closed(struct raft *r);

#endif /* RSM_RAFT_NODE_INT_H */
