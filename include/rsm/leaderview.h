/* leaderview.h - the leader's view of the Redis instances, relayed to the
 * other agents.
 *
 * Only the acting leader reads every instance's INFO; a follower only
 * PINGs each group's committed master. So that SENTINEL MASTER(S) and
 * REPLICAS are complete on any agent, the leader pushes what it sees to
 * the followers (RSM LEADERVIEW, see api.h), and a follower answers from
 * it while it is fresh. This module is the pure part: the payload's
 * encoding, and the rules that say whether a follower takes a payload and
 * for how long it uses it.
 *
 * Payload: text, one record per line ("\n"), fields separated by one
 * space (no field holds a space: group names, addresses and run ids are
 * checked printable without spaces where they are read):
 *   rsm-leaderview 1 <leader-id> <term> <cluster-id|->
 *   g <group> <master-addr|-> <o_down 0|1> <o_down_ms> <votes> <quorum> <n>
 *   i <addr> <flags> <down_ms> <no_reply_ms> <info_age_ms> <role_age_ms>
 *     <role m|r|?> <its-master|-> <link_down_since_s> <priority> <offset>
 *     <run_id|->                         (one line; n of them per group)
 * flags: letters of "sdilu" (s_down, disconnected, INFO known, link up,
 * replica_announced:0) or "-" for none. A reader skips fields after the
 * ones it knows and lines of a kind it does not know, so that the format
 * can grow; a malformed known field rejects the whole payload. Times are
 * the leader's, in milliseconds, at the moment it encoded them.
 *
 * A payload is at most RSM_LEADERVIEW_CHUNK_MAX bytes (the leader starts a
 * new one, with its own header, when a group would not fit), well below
 * the client port's request limit; each group sits whole in one payload.
 *
 * Trust: a follower takes a payload only from the leader it knows, in its
 * current term, of its own cluster (rsm_leaderview_accept), and uses it
 * for answers only: nothing relayed feeds a decision. */
#ifndef RSM_LEADERVIEW_H
#define RSM_LEADERVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsm/addr.h"
#include "rsm/entry.h"
#include "rsm/info.h"
#include "rsm/textbuf.h"

#define RSM_LEADERVIEW_VERSION       1
#define RSM_LEADERVIEW_MAX_INSTANCES (RSM_MAX_MEMBERS + 2)
#define RSM_LEADERVIEW_CHUNK_MAX     (256 * 1024)
/* A view is used while younger than this many down-after periods. */
#define RSM_LEADERVIEW_FRESH_FACTOR 2

/* Who sent a payload (its header). */
struct rsm_leaderview_origin {
    uint64_t leader_id;
    uint64_t term;
    char cluster_id[RSM_CLUSTER_ID_LEN + 1]; /* "" if the leader did not
                                                know it */
};

/* One instance as the leader sees it (Sentinel's fields, see
 * sentinel.h). */
struct rsm_leaderview_instance {
    struct rsm_addr addr;
    bool s_down, disconnected;
    int64_t down_ms, no_reply_ms;
    bool has_info; /* info, info_age_ms and role_age_ms are known */
    struct rsm_info_summary info;
    int64_t info_age_ms, role_age_ms; /* -1 if unknown */
};

/* One group as the leader sees it. Plain value (about 12 KB). */
struct rsm_leaderview_group {
    char name[RSM_GROUP_NAME_MAX];
    struct rsm_addr master; /* the master o_down is about; port 0: none */
    bool o_down;
    int64_t o_down_ms;
    unsigned votes, quorum; /* of the o_down verdict */
    unsigned n;
    struct rsm_leaderview_instance inst[RSM_LEADERVIEW_MAX_INSTANCES];
};

/* Append the header line of a payload to t. */
void rsm_leaderview_encode_header(struct rsm_textbuf *t,
                                  const struct rsm_leaderview_origin *o);

/* Append the lines of g to t (at most RSM_LEADERVIEW_MAX_INSTANCES
 * instances are written). */
void rsm_leaderview_encode_group(struct rsm_textbuf *t,
                                 const struct rsm_leaderview_group *g);

/* Read the header at the start of text (len bytes, need not be
 * NUL-terminated) into *o and set *pos after it. 0, or RSM_EPARSE /
 * RSM_ERANGE with the problem in errmsg (an unknown version is
 * RSM_EPARSE). */
int rsm_leaderview_decode_header(const char *text, size_t len, size_t *pos,
                                 struct rsm_leaderview_origin *o, char *errmsg,
                                 size_t errlen);

/* Read the next group at or after *pos (lines of unknown kinds before it
 * are skipped) into *g and set *pos after it; *start (if not NULL) gets
 * the offset of its "g" line. 0, RSM_ENOTFOUND when there is no group
 * left, or RSM_EPARSE / RSM_ERANGE / RSM_ETRUNC (fewer instance lines
 * than announced) with errmsg. */
int rsm_leaderview_decode_group(const char *text, size_t len, size_t *pos,
                                size_t *start, struct rsm_leaderview_group *g,
                                char *errmsg, size_t errlen);

/* A hash of what in g is worth telling the followers at once when it
 * changes: addresses, flags, roles, links, announcements, priorities, run
 * ids and the o_down verdict; not times or offsets (those follow at the
 * leader's regular push). */
uint64_t rsm_leaderview_shape(const struct rsm_leaderview_group *g);

/* What an agent knows of its Raft group when it judges a payload. */
struct rsm_leaderview_self {
    uint64_t id;
    bool has_leader;
    uint64_t leader_id;
    uint64_t term;
    const char *cluster_id; /* "" if unknown */
};

/* Take a payload from o? Only from the leader self knows (not self), in
 * self's current term, of self's cluster when both know theirs. Otherwise
 * false, and why (if not NULL) gets a sentence for the reply ("" when
 * true). */
bool rsm_leaderview_accept(const struct rsm_leaderview_origin *o,
                           const struct rsm_leaderview_self *self, char *why,
                           size_t len);

/* Use a payload from o received at received_ms, at now_ms? While it would
 * still be accepted (same leader, same term) and is younger than
 * RSM_LEADERVIEW_FRESH_FACTOR x down_after_ms: the leader pushes at least
 * every second, so a view that old means the leader no longer reaches
 * this agent, and the agent's own answers are better than a stale
 * picture. */
bool rsm_leaderview_fresh(const struct rsm_leaderview_origin *o,
                          int64_t received_ms,
                          const struct rsm_leaderview_self *self,
                          int64_t now_ms, int64_t down_after_ms);

#endif /* RSM_LEADERVIEW_H */
