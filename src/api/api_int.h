/* api_int.h - what the pieces of the client port's API share (private to
 * src/api; the public face is rsm/api.h).
 *
 * The API is split by concept:
 *   api.c          the struct's lifecycle, client state, node events and
 *                  the helpers every command uses
 *   api_dispatch.c the command table and the dispatcher (lookup, AUTH,
 *                  pub/sub and leader gates)
 *   api_conn.c     connection commands: AUTH, HELLO, PING, QUIT, RESET,
 *                  CLIENT *, and (P)(UN)SUBSCRIBE
 *   api_command.c  introspection: INFO, ROLE, HELP and COMMAND *
 *   api_sentinel.c SENTINEL *
 *   api_forward.c  requests a follower sends on to the leader
 *   api_rsm.c      RSM *
 *   api_status.c   RSM STATUS's JSON (rsm_api_render_status)
 *   api_info.c     INFO's text (rsm_api_render_info_sections)
 *
 * Names private to the API carry the api__ prefix. */
#ifndef RSM_API_INT_H
#define RSM_API_INT_H

#include "rsm/api.h"
#include "rsm/masterfile.h"
#include "rsm/pubsub.h"
#include "rsm/resp_server.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct api_forward;
struct rsm_events;

/* The API of one agent: rsm_api_start_ops() allocates it, rsm_api_stop()
 * frees it from the loop once the server and the events are closed. */
struct rsm_api {
    uv_loop_t *loop;
    struct rsm_resp_server *srv;
    struct rsm_node *node;
    const struct rsm_api_node_ops *ops;
    struct rsm_monitor *monitor; /* NULL if none */
    struct rsm_pubsub *ps;       /* subscribers of the port */
    struct rsm_events *events;   /* what is published, Sentinel views */
    struct rsm_resp_limits limits;
    char requirepass[RSM_API_PASSWORD_MAX]; /* wiped at stop */
    size_t pass_len;
    bool has_pass;
    size_t sub_limit;              /* output limit of a subscriber */
    uint64_t next_client_id;       /* CLIENT ID */
    uint64_t n_connections;        /* INFO stats: connections accepted */
    uint64_t n_commands;           /* INFO stats: requests answered */
    uint64_t started_ms;           /* uv_now() at start */
    char *data_dir;                /* for the masters file, NULL: none */
    struct rsm_masterfile masters; /* as stored there (masterfile.h) */
    bool caught_up;                /* the node applied up to its leader's
                                      commit index once: the file no
                                      longer answers */
    struct api_forward *forwards;  /* SENTINEL FAILOVER sent on */
    bool stopping;
    rsm_api_stop_cb stop_cb;
    void *stop_arg;
};

/* ---- clients (api.c) ---------------------------------------------------- */

#define CLIENT_NAME_MAX 256

/* Per-connection state, owned by the API: allocated when the client
 * connects, freed when it closes. */
struct api_client {
    struct rsm_api *a;
    struct rsm_resp_client *c;
    uint64_t id;
    bool authed;
    char name[CLIENT_NAME_MAX]; /* "" = none */
    struct rsm_pubsub_sub *sub; /* NULL until the first subscription */
};

/* Has the client at least one subscription? */
bool api__subscribed(const struct api_client *cl);

/* A subscriber is exempt from the idle timeout and has its own output
 * limit; a client with no subscription left is an ordinary one again. */
void api__update_subscriber(struct api_client *cl);

/* ---- the command table (api_dispatch.c) --------------------------------- */

/* One request being answered. */
struct api_call {
    struct rsm_api *a;
    struct api_client *cl;
    struct rsm_resp_reply *r;
    const struct rsm_resp_request *req;
};

typedef enum rsm_resp_status (*api_cmd_fn)(const struct api_call *x);

enum {
    CMD_LEADER = 1 << 0, /* only the leader can do it */
    CMD_NOAUTH = 1 << 1, /* allowed before AUTH */
    CMD_PUBSUB = 1 << 2, /* allowed while subscribed */
};

/* One command: up to three words ("RSM", "MEMBER", "ADD"); the argument
 * counts include the words. */
struct api_cmd {
    const char *words[3];
    int min_argc, max_argc; /* max -1: no limit */
    unsigned flags;
    const char *help;
    api_cmd_fn fn;
};

/* Every command, multi-word entries before the single word they start
 * with. */
extern const struct api_cmd api__commands[];
extern const size_t api__n_commands;

/* How many words c has (1 to 3). */
int api__n_words(const struct api_cmd *c);

/* "rsm|member|add" for the first `words` words of c, lowercase, as Redis
 * names subcommands. */
void api__cmd_name(const struct api_cmd *c, int words, char *buf, size_t len);

/* The resp_server's request handler: find the command, check AUTH,
 * subscription and leadership, run it. */
enum rsm_resp_status api__on_request(void *arg, struct rsm_resp_client *c,
                                     struct rsm_resp_reply *r,
                                     const struct rsm_resp_request *req);

/* ---- helpers of every command (api.c) ----------------------------------- */

/* The facts of INFO and RSM STATUS about this server and process. */
void api__server_info(struct rsm_api *a, struct rsm_api_server_info *si);

/* -NOTLEADER <id> <api> / -NOLEADER, for a follower. */
void api__not_leader(struct rsm_api *a, struct rsm_resp_reply *r);

/* The node's committed state. */
const struct rsm_fsm *api__fsm_of(const struct rsm_api *a);

/* The committed group named argv[i], or NULL after answering Sentinel's
 * error for an unknown one. */
const struct rsm_group *api__group_arg(const struct api_call *x, int i);

/* Is m the leader st knows? */
static inline bool api__is_leader_member(const struct rsm_node_status *st,
                                         const struct rsm_member *m)
{
    return st->has_leader && st->leader.id == m->id;
}

/* ---- follower to leader (api_forward.c) --------------------------------- */

/* SENTINEL FAILOVER on a follower goes to the leader, like Sentinel, which
 * takes it anywhere. */
enum rsm_resp_status api__forward_failover(const struct api_call *x,
                                           const struct rsm_group *g);

/* A follower: send the client's request as it is to the leader and relay
 * the answer (what names it in errors). */
enum rsm_resp_status api__forward_request(const struct api_call *x,
                                          const char *what);

/* At stop: cancel every request still forwarded (their replies are
 * orphaned anyway). */
void api__forward_cancel_all(struct rsm_api *a);

/* ---- shared by SENTINEL and RSM commands -------------------------------- */

/* Ask the monitor for a manual failover of g (force: a replica that never
 * synced may be promoted) and answer once it is decided, or now with why
 * not. api_sentinel.c. */
enum rsm_resp_status api__request_failover(const struct api_call *x,
                                           const struct rsm_group *g,
                                           bool force);

/* Completion of an entry proposed for a client (arg: the reply, maybe
 * orphaned): +OK once committed, else "-ERR not committed: <why>".
 * api_rsm.c. */
void api__committed_done(void *arg, int status, const char *errmsg);

/* Completion of a manual failover or switchover (r: the reply, maybe
 * orphaned): +OK, NOGOODSLAVE <nogood><errmsg>, INPROG, else "ERR <what>
 * not decided: <why>"; ends the reply. api_sentinel.c. */
void api__manual_done(struct rsm_resp_reply *r, int status, const char *errmsg,
                      const char *what, const char *nogood);

/* Answer a failover or switchover request the monitor refused now (rv of
 * rsm_monitor_request_*: -NOTLEADER, no such master, INPROG, else "ERR
 * <what> refused: <why>"). api_sentinel.c. */
void api__manual_refused(const struct api_call *x, int rv, const char *what);

/* Propose e for the client of x: done (api__committed_done, or one that
 * words some refusals otherwise) answers once committed, with x->r as its
 * arg; or refused now: -NOTLEADER, or why it was not proposed. api_rsm.c. */
enum rsm_resp_status api__propose_for_client(const struct api_call *x,
                                             const struct rsm_entry *e,
                                             rsm_node_done_cb done);

/* ---- the commands ------------------------------------------------------- */

/* api_conn.c */
enum rsm_resp_status api__cmd_auth(const struct api_call *x);
enum rsm_resp_status api__cmd_hello(const struct api_call *x);
enum rsm_resp_status api__cmd_ping(const struct api_call *x);
enum rsm_resp_status api__cmd_quit(const struct api_call *x);
enum rsm_resp_status api__cmd_reset(const struct api_call *x);
enum rsm_resp_status api__cmd_client_setname(const struct api_call *x);
enum rsm_resp_status api__cmd_client_getname(const struct api_call *x);
enum rsm_resp_status api__cmd_client_id(const struct api_call *x);
enum rsm_resp_status api__cmd_client_setinfo(const struct api_call *x);
enum rsm_resp_status api__cmd_pubsub(const struct api_call *x);

/* api_command.c */
enum rsm_resp_status api__cmd_info(const struct api_call *x);
enum rsm_resp_status api__cmd_role(const struct api_call *x);
enum rsm_resp_status api__cmd_help(const struct api_call *x);
enum rsm_resp_status api__cmd_command(const struct api_call *x);
enum rsm_resp_status api__cmd_command_count(const struct api_call *x);
enum rsm_resp_status api__cmd_command_list(const struct api_call *x);
enum rsm_resp_status api__cmd_command_docs(const struct api_call *x);
enum rsm_resp_status api__cmd_command_info(const struct api_call *x);

/* api_sentinel.c */
enum rsm_resp_status api__cmd_get_master_addr(const struct api_call *x);
enum rsm_resp_status api__cmd_masters(const struct api_call *x);
enum rsm_resp_status api__cmd_master(const struct api_call *x);
enum rsm_resp_status api__cmd_replicas(const struct api_call *x);
enum rsm_resp_status api__cmd_sentinels(const struct api_call *x);
enum rsm_resp_status api__cmd_myid(const struct api_call *x);
enum rsm_resp_status api__cmd_ckquorum(const struct api_call *x);
enum rsm_resp_status api__cmd_failover(const struct api_call *x);
enum rsm_resp_status api__cmd_sentinel_set(const struct api_call *x);
enum rsm_resp_status api__cmd_sentinel_reset(const struct api_call *x);
enum rsm_resp_status api__cmd_sentinel_config(const struct api_call *x);
enum rsm_resp_status api__cmd_sentinel_monitor(const struct api_call *x);

/* api_rsm.c */
enum rsm_resp_status api__cmd_status(const struct api_call *x);
enum rsm_resp_status api__cmd_members(const struct api_call *x);
enum rsm_resp_status api__cmd_member_add(const struct api_call *x);
enum rsm_resp_status api__cmd_member_remove(const struct api_call *x);
enum rsm_resp_status api__cmd_leaderview(const struct api_call *x);
enum rsm_resp_status api__cmd_views(const struct api_call *x);
enum rsm_resp_status api__cmd_history(const struct api_call *x);
enum rsm_resp_status api__cmd_advertise(const struct api_call *x);
enum rsm_resp_status api__cmd_pause(const struct api_call *x);
enum rsm_resp_status api__cmd_resume(const struct api_call *x);
enum rsm_resp_status api__cmd_rsm_failover(const struct api_call *x);
enum rsm_resp_status api__cmd_switchover(const struct api_call *x);

#endif /* RSM_API_INT_H */
