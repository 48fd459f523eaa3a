/* node.h - this agent's Raft node: canonical/raft 0.15 over libuv, the
 * replicated rsm_fsm, a TCP transport that resolves DNS names, the data-dir
 * lock, and graceful shutdown.
 *
 * Peer addresses. `--peers 1=host:port,2=host:port/api,...`: each member's
 * Raft address is "host:raftport", optionally followed by "/apiport", the
 * port of that agent's client API on the same host. The whole string is the
 * member address stored in the Raft configuration, so every agent (and a
 * member added at run time with "RSM MEMBER ADD 4 host:7003/26382") knows
 * where every other agent's API is, and a follower can name the leader's API
 * address in -NOTLEADER replies. Without "/apiport" the API port is assumed
 * to be the same as this agent's (the Kubernetes case: same ports on every
 * pod). The transport strips the suffix and resolves the host with
 * uv_getaddrinfo on every connect (raft 0.15 itself only parses dotted
 * IPv4), so pods that change IP are found again.
 *
 * Ownership: rsm_node_start() allocates; rsm_node_stop() transfers
 * leadership if leader, closes raft and every handle, releases the lock,
 * then calls stop_cb and frees the node. Callbacks run on the loop thread. */
#ifndef RSM_NODE_H
#define RSM_NODE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "rsm/addr.h"
#include "rsm/entry.h"
#include "rsm/fsm.h"

struct rsm_tls;

#define RSM_MAX_AGENTS 16

struct rsm_node;

/* One agent of the group, as configured or as in the Raft configuration. */
struct rsm_member {
    uint64_t id;
    struct rsm_addr raft; /* host:raftport */
    struct rsm_addr api;  /* host:apiport */
    bool api_given;       /* "/apiport" was written: the Raft
                             configuration keeps the address as written */
    bool voter;
    bool advertised;      /* api and http are what the agent itself
                             committed (AdvertiseAgent), not a guess */
    struct rsm_addr http; /* its HTTP port if advertised, else empty */
};

struct rsm_node_config {
    uint64_t id;
    unsigned n_peers; /* including this agent */
    struct rsm_member peers[RSM_MAX_AGENTS];
    struct rsm_addr raft_bind;      /* where to listen for Raft */
    uint16_t api_port;              /* this agent's API port */
    struct rsm_addr advertise_api;  /* where the others reach this agent's
                                       client port (see advertise.h) */
    struct rsm_addr advertise_http; /* and its HTTP port; empty: none */
    const char *data_dir;
    unsigned election_timeout_ms;  /* default 1000 */
    unsigned heartbeat_timeout_ms; /* default 100 */
    unsigned snapshot_threshold;   /* default 1024 entries */
    bool join;                     /* never bootstrap: wait to be
                                      added by the leader */
    /* The group secret (NULL / 0: none): every Raft connection then
     * starts with the handshake of raftauth.h (see transport.h). Copied
     * by rsm_node_start(); the caller may wipe its buffer after. */
    const unsigned char *cluster_secret;
    size_t cluster_secret_len;
    /* Raft over mutual TLS (--tls-raft; both NULL: plaintext): a server
     * context that requires client certificates, and a client context
     * with this agent's certificate. Each peer's certificate must name
     * the host of the member address it claims (see transport.h). Not
     * owned; they outlive the node. */
    struct rsm_tls *raft_tls_server;
    struct rsm_tls *raft_tls_client;
};

/* Parse "1=host:port[/api],2=..." into cfg->peers (api defaults to the host
 * with default_api_port). RSM_EINVAL with the bad item named in errmsg:
 * duplicate id, id 0, bad address, too many. */
int rsm_node_parse_peers(const char *text, uint16_t default_api_port,
                         struct rsm_node_config *cfg, char *errmsg,
                         size_t errlen);

/* Parse one member address "host:port[/api]" into m->raft, m->api and
 * m->api_given; sets m->voter, leaves m->id alone. RSM_EINVAL with errmsg,
 * *m untouched on error. */
int rsm_node_parse_member_addr(const char *text, uint16_t default_api_port,
                               struct rsm_member *m, char *errmsg,
                               size_t errlen);

/* Events the node reports to its owner (logged by the node already). */
enum rsm_node_event {
    RSM_NODE_BECAME_LEADER, /* and the barrier after election committed:
                               the state is safe to act on */
    RSM_NODE_LOST_LEADERSHIP,
    RSM_NODE_LEADER_CHANGED,
    RSM_NODE_APPLIED, /* an entry was applied (or rejected) */
};

/* on_event runs on the loop thread, sometimes from inside raft (an apply
 * or barrier callback): it may propose or call rsm_node_stop(), and must
 * not block. */
struct rsm_node_observer {
    void (*on_event)(void *arg, enum rsm_node_event ev,
                     const struct rsm_entry *entry, int apply_status);
    void *arg;
};

/* A member address as stored in the Raft configuration: "host:raftport",
 * plus "/apiport" if it was given. Returns buf (RSM_ADDR_STRLEN + 8). */
char *rsm_node_format_member(const struct rsm_member *m, char *buf, size_t len);

/* Lock the data dir (flock; RSM_ELOCKED names the holder's dir), check the
 * files libraft 0.15 would hang or crash on (rsm_datadir_check: RSM_ETRUNC
 * or RSM_EPARSE naming the file), init raft with the TCP transport,
 * bootstrap on an empty dir (RAFT_CANTBOOTSTRAP on a
 * restart is normal) unless cfg->join, pre-vote on, start. cfg->id must be
 * one of cfg->peers (that entry is this agent's own address). 0 or RSM_E*
 * with errmsg. On error *out is NULL, but closing raft may still need the
 * loop: run it until it returns before uv_loop_close(). */
int rsm_node_start(uv_loop_t *loop, const struct rsm_node_config *cfg,
                   const struct rsm_node_observer *obs, struct rsm_node **out,
                   char *errmsg, size_t errlen);

typedef void (*rsm_node_stop_cb)(void *arg);

/* Graceful stop (see above). From the next loop turn: a leader hands
 * leadership to the most caught-up voter heard from recently and waits for
 * the handover (at most 2 x election timeout); then raft_close, every
 * handle closed, the lock released, cb called, n freed. Pending proposals
 * and membership changes complete with an error. May be called from an
 * observer callback; calls after the first are ignored. */
void rsm_node_stop(struct rsm_node *n, rsm_node_stop_cb cb, void *arg);

/* Snapshot of the node's Raft view for status output. A member's api (and
 * http) address is the one it advertised through the log when it did
 * (member.advertised), else the one of its Raft configuration entry
 * ("/apiport", or this agent's own port on the member's host). */
struct rsm_node_status {
    uint64_t id;
    const char *state; /* "leader", "follower", "candidate",
                          "unavailable" */
    uint64_t term;
    bool has_leader;
    struct rsm_member leader;
    uint64_t commit_index, applied_index, last_index;
    uint64_t leader_changes;
    unsigned n_members;
    struct rsm_member members[RSM_MAX_AGENTS];
};

void rsm_node_get_status(const struct rsm_node *n, struct rsm_node_status *out);

/* The group's cluster id (RSM_CLUSTER_ID_LEN hex digits), or "" while this
 * agent does not know it yet (a new data dir before the entry that carries
 * it was applied). Read from the data dir at start, then kept in step with
 * the log. The pointer stays valid until the node is freed. */
const char *rsm_node_cluster_id(const struct rsm_node *n);

/* The Raft transport's counters (connections, handshake refusals). */
struct rsm_transport_stats;
void rsm_node_transport_stats(const struct rsm_node *n,
                              struct rsm_transport_stats *out);

/* The committed, applied state (read-only). */
const struct rsm_fsm *rsm_node_fsm(const struct rsm_node *n);

/* Loop time (uv_now) of raft's latest tick, 0 before the first, and the
 * tick period raft asked for (its heartbeat interval; 0 before start).
 * Raft ticks leader or not; periodic work that falls in the same loop
 * turns (the monitor's probes) costs an idle agent no wakeup of its own. */
uint64_t rsm_node_tick_ms(const struct rsm_node *n);
uint64_t rsm_node_tick_period_ms(const struct rsm_node *n);

/* Raft state is leader. The barrier of the new term may not have
 * committed yet: act on the state only after RSM_NODE_BECAME_LEADER. */
bool rsm_node_is_leader(const struct rsm_node *n);

/* Completion of an asynchronous request: status 0, or RSM_ENOTLEADER /
 * RSM_EREJECTED / RSM_ERAFT ... with a message. */
typedef void (*rsm_node_done_cb)(void *arg, int status, const char *errmsg);

/* Encode an entry the way raft 0.15 needs it: the protobuf bytes padded to
 * a multiple of 8 bytes with a field protobuf skips (number 2047, reserved
 * in proto/rsm.proto), in a raft_malloc'd buffer (raft_free it unless
 * raft_apply took it). Anything that calls raft_apply must use this: raft
 * 0.15 corrupts batches of entries whose lengths are not multiples of 8.
 * 0, or the codec's error / RSM_ENOMEM. */
int rsm_node_encode_entry(const struct rsm_entry *e, void **buf, size_t *len);

/* Leader only (RSM_ENOTLEADER otherwise, cb not called; RSM_EIO while the
 * data disk has less than RSM_DATADIR_MIN_FREE bytes free: such a leader
 * hands leadership over, see datadir.h). Propose an entry through
 * raft_apply; cb runs after it is committed and applied (status =
 * the FSM result) or failed (RAFT_LEADERSHIPLOST etc. mapped to RSM_ERAFT;
 * such an entry may still commit later). */
int rsm_node_propose(struct rsm_node *n, const struct rsm_entry *e,
                     rsm_node_done_cb cb, void *arg);

/* Leader only: membership changes (raft_add + raft_assign voter /
 * raft_remove). cb runs when the change is committed or failed. A non-zero
 * return (RSM_ENOTLEADER, RSM_EBUSY: a change is in progress, RSM_EEXIST:
 * id or address taken, RSM_ENOTFOUND: no such member, ...) means cb is not
 * called. */
int rsm_node_add_member(struct rsm_node *n, const struct rsm_member *m,
                        rsm_node_done_cb cb, void *arg);
int rsm_node_remove_member(struct rsm_node *n, uint64_t id, rsm_node_done_cb cb,
                           void *arg);

#endif /* RSM_NODE_H */
