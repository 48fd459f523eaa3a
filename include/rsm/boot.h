/* boot.h - what a Redis instance must be when it starts (`rsmctl
 * redis-boot`): master, replica of the committed master, or wait.
 *
 * Pure: the shell asks the agents (RSM STATUS), reads the instance's data
 * files, and hands both over here; the decisions are functions of that.
 *
 * The rule that matters: a Redis that was the committed master and comes
 * back without its data must never start as a master, because its
 * replicas, still pointed at its address, would resynchronise from it and
 * drop everything. It waits until the agents have failed over (the
 * committed master changed), then starts as a replica of the new master.
 *
 * Decision on the view of the agent to trust (rsm_boot_pick):
 *   group unknown, or no master committed, nothing in flight
 *                                  MASTER  (first bootstrap: the agents'
 *                                           planner then picks one master
 *                                           and re-points the others)
 *   a failover in flight           WAIT    (it ends within the failover
 *                                           timeout either way)
 *   this instance is the committed master and
 *     holds data                   MASTER
 *     is the group's only member   MASTER  (nobody to wipe)
 *     holds no data                WAIT    (for the failover)
 *   another instance is the committed master
 *                                  REPLICA of it
 *
 * Views: only an agent that knows a Raft leader is trusted (an agent cut
 * off from its peers may hold a stale state); the leader's own view wins,
 * else the most advanced follower's (term, then applied index).
 *
 * Without any usable view for longer than the caller's bound, the fallback
 * (rsm_boot_fallback) uses the master recorded at the last successful boot
 * (a state file next to the data): REPLICA of it when it is another
 * instance (a replica never overwrites anyone; the agents re-point it once
 * they are back), else GIVE_UP (exit and let the supervisor retry). */
#ifndef RSM_BOOT_H
#define RSM_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsm/addr.h"
#include "rsm/entry.h"

/* What one agent said (from its RSM STATUS). */
struct rsm_boot_view {
    uint64_t agent_id;
    bool is_leader;  /* role "leader" */
    bool has_leader; /* it knows a leader (itself included) */
    uint64_t term, applied_index;
    bool group_known; /* the group is in its committed state */
    bool has_master;
    struct rsm_addr master; /* committed master */
    uint64_t epoch;
    bool in_flight;
    struct rsm_addr in_flight_new; /* the decision's new master */
    unsigned n_members;            /* instances of the group */
};

enum rsm_boot_action {
    RSM_BOOT_WAIT = 0, /* ask again later */
    RSM_BOOT_MASTER,   /* start as a master */
    RSM_BOOT_REPLICA,  /* start as a replica of `master` */
    RSM_BOOT_GIVE_UP,  /* fallback found nothing safe: exit */
};

#define RSM_BOOT_REASON_MAX 256

struct rsm_boot_decision {
    enum rsm_boot_action action;
    struct rsm_addr master; /* REPLICA: whom to follow */
    char reason[RSM_BOOT_REASON_MAX];
};

/* "wait", "master", "replica", "give-up". */
const char *rsm_boot_action_str(enum rsm_boot_action a);

/* The view to trust among n (see above); NULL if none knows a leader. */
const struct rsm_boot_view *rsm_boot_pick(const struct rsm_boot_view *views,
                                          size_t n);

/* The decision for `self` from view v (see the table above). */
void rsm_boot_decide(const struct rsm_boot_view *v, const struct rsm_addr *self,
                     bool has_data, struct rsm_boot_decision *out);

/* The fallback when no agent could be used for long enough: last_master
 * is the master recorded at the last boot, NULL if none. */
void rsm_boot_fallback(const struct rsm_addr *self,
                       const struct rsm_addr *last_master,
                       struct rsm_boot_decision *out);

/* ---- data files ------------------------------------------------------- */

enum rsm_rdb_content {
    RSM_RDB_EMPTY = 0, /* a valid header and only auxiliary fields before
                          the end: no key, no function */
    RSM_RDB_DATA,      /* a database selector, a key or anything else
                          after the auxiliary fields */
    RSM_RDB_UNREADABLE /* not an RDB file, or cut short before the first
                          opcode that is not an aux field */
};

/* Look at the start of an RDB file (or of an AOF's RDB preamble): "REDIS"
 * + 4 version digits, then opcodes. Only aux fields (0xFA, two RDB
 * strings) are skipped; any other opcode but EOF (0xFF) means data. */
enum rsm_rdb_content rsm_boot_rdb_content(const void *buf, size_t len);

#endif /* RSM_BOOT_H */
