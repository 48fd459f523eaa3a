/* info.h - what one Redis instance says about itself.
 *
 * Parses the text of `INFO replication`, `INFO server` (and, if present,
 * `INFO persistence` for `loading`) into a plain struct. Several replies may
 * be parsed into the same struct one after the other: each call only sets the
 * fields it finds. Unknown fields and sections are ignored; a malformed
 * number, a line without ':' or input cut in the middle of a line is an
 * error. Plain value type: no allocation, copy freely. */
#ifndef RSM_INFO_H
#define RSM_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsm/addr.h"

/* Replicas listed per master beyond this are counted, not stored. */
#define RSM_INFO_MAX_REPLICAS 16
#define RSM_RUNID_LEN         40
#define RSM_REPLID_LEN        40

enum rsm_role {
    RSM_ROLE_UNKNOWN = 0,
    RSM_ROLE_MASTER,
    RSM_ROLE_REPLICA,
};

/* One "slaveN:ip=...,port=...,state=...,offset=...,lag=..." line. */
struct rsm_info_replica {
    char ip[48];
    uint16_t port;
    char state[16]; /* "online", "wait_bgsave", "send_bulk", ... */
    int64_t offset;
    int64_t lag; /* seconds, -1 if absent */
};

/* Where a master is in a FAILOVER command it was given (Redis >= 6.2). */
enum rsm_failover_cmd_state {
    RSM_FOCMD_NONE = 0,     /* no-failover, or field absent */
    RSM_FOCMD_WAITING_SYNC, /* waiting-for-sync: writes paused, waiting for
                               the target's offset */
    RSM_FOCMD_IN_PROGRESS,  /* failover-in-progress: PSYNC FAILOVER sent to
                               the target, roles being swapped */
};

struct rsm_info {
    enum rsm_role role;

    /* Replica view of its master (role == RSM_ROLE_REPLICA). */
    struct rsm_addr master;    /* master_host / master_port */
    bool link_up;              /* master_link_status:up */
    int64_t master_last_io_s;  /* -1 if unknown or link down */
    int64_t link_down_since_s; /* -1 if the link is up or unknown */
    bool sync_in_progress;     /* master_sync_in_progress:1 */
    int64_t slave_repl_offset; /* -1 if absent */
    int priority;              /* slave_priority / replica_priority;
                                  100 (Redis default) if absent */
    bool has_priority;         /* the reply carried a priority */
    bool read_only;            /* slave_read_only:1 */
    bool unannounced;          /* replica_announced:0 (Redis >= 6.2: the
                                  replica asks Sentinel not to list it) */

    /* Both roles. */
    int64_t master_repl_offset; /* -1 if absent */
    char master_replid[RSM_REPLID_LEN + 1];
    char run_id[RSM_RUNID_LEN + 1]; /* from INFO server */
    char redis_version[32];         /* from INFO server */
    bool loading;                   /* loading:1 (INFO persistence) */

    /* Master view (role == RSM_ROLE_MASTER). */
    unsigned connected_replicas;                /* connected_slaves: */
    enum rsm_failover_cmd_state failover_state; /* master_failover_state
                                      (Redis >= 6.2; NONE if absent) */
    unsigned n_replicas; /* entries stored in replicas[] */
    struct rsm_info_replica replicas[RSM_INFO_MAX_REPLICAS];
};

/* Reset *info to "nothing known": role unknown, numbers -1, priority 100. */
void rsm_info_init(struct rsm_info *info);

/* Parse one INFO reply (text of len bytes, "\r\n" or "\n" line ends) into
 * *info, which must have been initialised. Returns 0, or RSM_EPARSE /
 * RSM_ETRUNC / RSM_ERANGE with the offending line and field in errmsg. On
 * error *info may hold the fields parsed before the bad line; callers treat
 * the whole observation as invalid. */
int rsm_info_parse(struct rsm_info *info, const char *text, size_t len,
                   char *errmsg, size_t errlen);

/* The replication offset that matters for ranking: slave_repl_offset for a
 * replica, master_repl_offset for a master; -1 if unknown. */
int64_t rsm_info_offset(const struct rsm_info *info);

/* What Sentinel's replies show of an instance's INFO (sentinel.h), small
 * enough to be copied into every view and relayed by the leader to the
 * other agents (leaderview.h). Plain value. */
struct rsm_info_summary {
    enum rsm_role role;
    struct rsm_addr master;    /* a replica's master ("" / 0 if none) */
    bool link_up;              /* a replica's link to its master */
    int64_t link_down_since_s; /* -1 if up or unknown */
    int priority;
    int64_t offset; /* rsm_info_offset(), -1 if unknown */
    bool unannounced;
    char run_id[RSM_RUNID_LEN + 1];
};

/* The summary of info. */
void rsm_info_summarize(const struct rsm_info *info,
                        struct rsm_info_summary *out);

/* "master", "replica" or "unknown". */
const char *rsm_role_str(enum rsm_role role);

#endif /* RSM_INFO_H */
