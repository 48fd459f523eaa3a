/* entry.h - one replicated log entry as a plain C value.
 *
 * The in-memory twin of `rsm.Entry` in proto/rsm.proto; src/core/codec
 * converts between the two. Plain value type: fixed-size fields, no
 * pointers, copy freely. Which fields matter depends on `kind` (see each
 * comment); the others are zero. */
#ifndef RSM_ENTRY_H
#define RSM_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsm/addr.h"
#include "rsm/groupconf.h"
#include "rsm/policy.h"

#define RSM_GROUP_NAME_MAX 64 /* including the NUL */
#define RSM_MAX_MEMBERS    16 /* Redis instances per group */
#define RSM_MAX_RANKED     16
/* A group's cluster id: 32 lowercase hex digits (16 random bytes), made
 * by the first leader and committed to the log; "" while unknown. */
#define RSM_CLUSTER_ID_LEN 32

enum rsm_entry_kind {
    RSM_ENTRY_NONE = 0,
    RSM_ENTRY_OBSERVE_MASTER,
    RSM_ENTRY_DECIDE_FAILOVER,
    RSM_ENTRY_FAILOVER_PROGRESS,
    RSM_ENTRY_COMPLETE_FAILOVER,
    RSM_ENTRY_ABORT_FAILOVER,
    RSM_ENTRY_SET_PAUSED,
    RSM_ENTRY_ADVERTISE_AGENT,
    RSM_ENTRY_SET_GROUP_CONFIG, /* SENTINEL SET (groupconf.h) */
    RSM_ENTRY_MONITOR_GROUP,    /* SENTINEL MONITOR: a group added */
    RSM_ENTRY_REMOVE_GROUP,     /* SENTINEL REMOVE: a group dropped */
};
#define RSM_ENTRY_KIND_LAST RSM_ENTRY_REMOVE_GROUP

/* Values of proto enums, mirrored. */
enum rsm_failover_kind {
    RSM_FAILOVER_AUTOMATIC = 0,
    RSM_FAILOVER_MANUAL = 1,
    RSM_FAILOVER_SWITCHOVER = 2,
    RSM_FAILOVER_BOOTSTRAP = 3,
};

/* How a SWITCHOVER is carried out (proto SwitchoverMethod, same values):
 * Redis's FAILOVER TO on the old master, or our own sequence around
 * CLIENT PAUSE WRITE (see planner.h). */
enum rsm_switchover_method {
    RSM_SWITCHOVER_FAILOVER_CMD = 0,
    RSM_SWITCHOVER_PAUSE = 1,
};

/* Steps of a failover in flight, in the order they happen, so that they
 * compare with < and >=. Unlike the enums above, the values are NOT the
 * proto's: STEP_CAUGHT_UP came later and has proto number 4; the codec
 * maps them. */
enum rsm_failover_step {
    RSM_STEP_NONE = 0,
    RSM_STEP_CAUGHT_UP = 1, /* pause switchover: writes paused on the old
                               master and the target seen with all of
                               them; the old master may be demoted */
    RSM_STEP_PROMOTED = 2,
    RSM_STEP_REPLICAS_POINTED = 3,
    RSM_STEP_OLD_MASTER_DEMOTED = 4,
};

enum rsm_failover_result {
    RSM_RESULT_COMPLETED = 0,
    RSM_RESULT_COMPLETED_WITH_STRAGGLERS = 1,
    RSM_RESULT_ABORTED = 2,
};
#define RSM_RESULT_COUNT 3 /* number of results above */

/* Why a failover was aborted (proto AbortCode, same values): the io side
 * names its event from this (src/api/sentinel.c), never from the reason
 * text, which is for humans only. Set by the planner with the text.
 * UNSPECIFIED: no code. Aborts written by agents older than the code carry
 * none, and the codec reads a value this agent does not know as
 * UNSPECIFIED too (refusing it would let agents of two versions apply the
 * log differently); rsm_entry_check() refuses values out of range, which
 * only a bug can produce. */
enum rsm_abort_code {
    RSM_ABORT_UNSPECIFIED = 0,
    RSM_ABORT_TIMEOUT,          /* not promoted / caught up / demoted in
                                   time */
    RSM_ABORT_UNREACHABLE,      /* the chosen replica DOWN or not
                                   monitored */
    RSM_ABORT_REPLACED_BY_SYNC, /* its data replaced by a full sync */
    RSM_ABORT_RESTARTED,        /* it restarted empty */
    RSM_ABORT_OTHER,            /* any other cause (FAILOVER unusable,
                                   CLIENT PAUSE refused, both role:master) */
};
#define RSM_ABORT_CODE_LAST RSM_ABORT_OTHER

struct rsm_ranked {
    struct rsm_addr addr;
    unsigned rank; /* 1 = best, 0 = excluded */
    char reason[RSM_REASON_MAX];
    int64_t offset;
    int priority;
};

struct rsm_entry {
    enum rsm_entry_kind kind;
    int64_t time_ms;                /* leader wall clock at proposal */
    char group[RSM_GROUP_NAME_MAX]; /* all kinds */
    uint64_t epoch;                 /* decide, progress, complete,
                                       abort */
    struct rsm_addr master;         /* observe: the master;
                                       decide: the new master;
                                       monitor-group: the master */
    struct rsm_addr old_master;     /* decide */
    char run_id[41];                /* observe */
    unsigned n_members;             /* observe */
    struct rsm_addr members[RSM_MAX_MEMBERS];
    unsigned n_ranked; /* decide */
    struct rsm_ranked ranking[RSM_MAX_RANKED];
    char reason[RSM_REASON_MAX];          /* decide, abort */
    enum rsm_failover_kind failover_kind; /* decide */
    int64_t old_offset, new_offset;       /* decide (-1 unknown) */
    uint64_t decided_by;                  /* decide: leader's agent id */
    int64_t timeout_ms;                   /* decide, SWITCHOVER: the target
                                             must be promoted within this
                                             many ms of the decision, else
                                             abort; 0 = failover_timeout */
    enum rsm_switchover_method switchover_method; /* decide, SWITCHOVER */
    enum rsm_failover_step step;                  /* progress */
    enum rsm_failover_result result;              /* complete */
    enum rsm_abort_code abort_code;               /* abort */
    unsigned n_stragglers;                        /* complete */
    struct rsm_addr stragglers[RSM_MAX_MEMBERS];
    int64_t data_at_risk; /* complete (-1 unknown) */
    bool paused;          /* set-paused */
    uint64_t agent_id;    /* advertise: the agent */
    struct rsm_addr api;  /* advertise: its client port (never empty) */
    struct rsm_addr http; /* advertise: its HTTP port (may be empty) */
    char cluster_id[RSM_CLUSTER_ID_LEN + 1]; /* advertise: never "" */
    struct rsm_group_settings settings;      /* set-group-config: the
                                                settings it changes (0 =
                                                unchanged; one at least);
                                                monitor-group: quorum only */
};

/* true if s is a cluster id: exactly RSM_CLUSTER_ID_LEN lowercase hex
 * digits. */
bool rsm_cluster_id_valid(const char *s);

/* Zero *e and set the "unknown" numbers (-1 offsets). */
void rsm_entry_init(struct rsm_entry *e, enum rsm_entry_kind kind,
                    const char *group, int64_t time_ms);

/* "observe-master", "decide-failover", ..., "set-group-config",
 * "monitor-group", "remove-group" ("unknown" out of range). */
const char *rsm_entry_kind_str(enum rsm_entry_kind k);

/* "automatic", "manual", "switchover", "bootstrap" ("unknown"). */
const char *rsm_failover_kind_str(enum rsm_failover_kind k);

/* "none", "caught-up", "promoted", "replicas-pointed",
 * "old-master-demoted" ("unknown"). */
const char *rsm_failover_step_str(enum rsm_failover_step s);

/* "failover-cmd", "pause" ("unknown"). */
const char *rsm_switchover_method_str(enum rsm_switchover_method m);

/* "completed", "completed-with-stragglers", "aborted" ("unknown"). */
const char *rsm_failover_result_str(enum rsm_failover_result r);

/* Check the form of an entry (not the rules of the FSM): a known kind; for
 * an advertise entry an agent id > 0, a valid api address, an http address
 * empty or valid and a valid cluster id (no group); for the others a group name
 * that is non-empty, NUL-terminated in its buffer and made of printable
 * non-space ASCII (it appears in logs and space-separated pub/sub payloads);
 * every string NUL-terminated in its buffer; the addresses the kind uses either
 * empty (host "" and port 0) or valid (rsm_addr_set rules; members, ranking and
 * stragglers never empty); counts within RSM_MAX_*; enums in range; decide
 * timeout_ms >= 0 and the pause method only for a SWITCHOVER; an abort code
 * within enum rsm_abort_code; for
 * set-group-config the settings in range, one at least (rsm_groupconf_check);
 * for monitor-group a valid master (never empty) and a quorum in
 * 1..RSM_GROUPCONF_QUORUM_MAX (the other settings 0); remove-group: the group
 * name only. 0 or RSM_EINVAL with the field named in errmsg. Fields the kind
 * does not use are not looked at. */
int rsm_entry_check(const struct rsm_entry *e, char *errmsg, size_t errlen);

#endif /* RSM_ENTRY_H */
