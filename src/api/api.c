/* api.c - the agent's command table on the RESP server (see api.h). */
#include "rsm/api.h"
#include "rsm/clock.h"
#include "rsm/cmddoc.h"
#include "rsm/datadir.h"
#include "rsm/entry.h"
#include "rsm/err.h"
#include "events.h"
#include "forward.h"
#include "rsm/identity.h"
#include "rsm/log.h"
#include "rsm/masterfile.h"
#include "rsm/monitor_status.h"
#include "rsm/pubsub.h"
#include "sentinel.h"
#include "sentinel_config.h"
#include "rsm/textbuf.h"

#include <jansson.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

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
    struct forward *forwards;      /* SENTINEL FAILOVER sent on */
    bool stopping;
    rsm_api_stop_cb stop_cb;
    void *stop_arg;
};

/* =====================================================================
 * Rendering helpers (INFO itself is in api_info.c)
 * ===================================================================== */

static bool is_leader_member(const struct rsm_node_status *st,
                             const struct rsm_member *m)
{
    return st->has_leader && st->leader.id == m->id;
}

/* =====================================================================
 * Rendering: RSM STATUS (JSON)
 * ===================================================================== */

/* json_object_set_new() that remembers a failure. */
static void jset(json_t *o, const char *key, json_t *v, bool *oom)
{
    if (v == NULL || json_object_set_new(o, key, v) != 0)
        *oom = true;
}

static void jappend(json_t *a, json_t *v, bool *oom)
{
    if (v == NULL || json_array_append_new(a, v) != 0)
        *oom = true;
}

static json_t *jaddr(const struct rsm_addr *a)
{
    char buf[RSM_ADDR_STRLEN];

    return json_string(rsm_addr_format_or(a, buf, sizeof buf, ""));
}

static json_t *juint(uint64_t v)
{
    return json_integer((json_int_t)v);
}

static json_t *status_member(const struct rsm_node_status *st,
                             const struct rsm_member *m, bool *oom)
{
    json_t *o = json_object();

    if (o == NULL) {
        *oom = true;
        return NULL;
    }
    jset(o, "id", juint(m->id), oom);
    jset(o, "raft", jaddr(&m->raft), oom);
    jset(o, "api", jaddr(&m->api), oom);
    jset(o, "http", m->http.port ? jaddr(&m->http) : json_null(), oom);
    jset(o, "advertised", json_boolean(m->advertised), oom);
    jset(o, "voter", json_boolean(m->voter), oom);
    jset(o, "leader", json_boolean(is_leader_member(st, m)), oom);
    return o;
}

static json_t *status_ranking(const struct rsm_entry *d, bool *oom)
{
    json_t *a = json_array();

    for (unsigned i = 0; a && i < d->n_ranked && i < RSM_MAX_RANKED; i++) {
        const struct rsm_ranked *r = &d->ranking[i];
        json_t *o = json_object();
        if (o != NULL) {
            jset(o, "addr", jaddr(&r->addr), oom);
            jset(o, "rank", juint(r->rank), oom);
            jset(o, "reason", json_string(r->reason), oom);
            jset(o, "offset", json_integer(r->offset), oom);
            jset(o, "priority", json_integer(r->priority), oom);
        }
        jappend(a, o, oom);
    }
    return a;
}

static json_t *status_in_flight(const struct rsm_group *g, bool *oom)
{
    const struct rsm_entry *d = &g->decision;
    json_t *o;

    if (!g->in_flight)
        return json_null();
    o = json_object();
    if (o == NULL)
        return NULL;
    jset(o, "epoch", juint(d->epoch), oom);
    jset(o, "kind", json_string(rsm_failover_kind_str(d->failover_kind)), oom);
    jset(o, "old_master", jaddr(&d->old_master), oom);
    jset(o, "new_master", jaddr(&d->master), oom);
    jset(o, "decided_at_ms", json_integer(g->decided_at_ms), oom);
    jset(o, "decided_by", juint(d->decided_by), oom);
    jset(o, "step", json_string(rsm_failover_step_str(g->step)), oom);
    jset(o, "reason", json_string(d->reason), oom);
    jset(o, "ranking", status_ranking(d, oom), oom);
    return o;
}

static json_t *status_history_item(const struct rsm_history_item *h, bool *oom)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    jset(o, "epoch", juint(h->epoch), oom);
    jset(o, "kind", json_string(rsm_failover_kind_str(h->kind)), oom);
    jset(o, "result", json_string(rsm_failover_result_str(h->result)), oom);
    jset(o, "old_master", jaddr(&h->old_master), oom);
    jset(o, "new_master", jaddr(&h->new_master), oom);
    jset(o, "decided_at_ms", json_integer(h->decided_at_ms), oom);
    jset(o, "ended_at_ms", json_integer(h->ended_at_ms), oom);
    jset(o, "old_offset", json_integer(h->old_offset), oom);
    jset(o, "new_offset", json_integer(h->new_offset), oom);
    jset(o, "data_at_risk", json_integer(h->data_at_risk), oom);
    jset(o, "reason", json_string(h->reason), oom);
    return o;
}

static json_t *status_group(const struct rsm_group *g, bool *oom)
{
    json_t *o = json_object(), *members = json_array(), *history = json_array();

    if (o == NULL || members == NULL || history == NULL) {
        json_decref(o);
        json_decref(members);
        json_decref(history);
        *oom = true;
        return NULL;
    }
    jset(o, "name", json_string(g->name), oom);
    jset(o, "master", g->has_master ? jaddr(&g->master) : json_null(), oom);
    jset(o, "master_run_id", json_string(g->master_run_id), oom);
    jset(o, "epoch", juint(g->epoch), oom);
    jset(o, "paused", json_boolean(g->paused), oom);
    for (unsigned i = 0; i < g->n_members && i < RSM_MAX_MEMBERS; i++)
        jappend(members, jaddr(&g->members[i]), oom);
    jset(o, "members", members, oom);
    jset(o, "in_flight", status_in_flight(g, oom), oom);
    jset(o, "last_failover_end_ms", json_integer(g->last_failover_end_ms), oom);
    for (unsigned i = 0; i < g->n_history && i < RSM_HISTORY_MAX; i++)
        jappend(history, status_history_item(&g->history[i], oom), oom);
    jset(o, "history", history, oom);
    return o;
}

static void status_raft(json_t *o, const struct rsm_node_status *st, bool *oom)
{
    json_t *leader = json_null(), *members = json_array();

    jset(o, "id", juint(st->id), oom);
    jset(o, "role", json_string(st->state ? st->state : "unavailable"), oom);
    jset(o, "term", juint(st->term), oom);
    if (st->has_leader) {
        leader = json_object();
        if (leader != NULL) {
            jset(leader, "id", juint(st->leader.id), oom);
            jset(leader, "raft", jaddr(&st->leader.raft), oom);
            jset(leader, "api", jaddr(&st->leader.api), oom);
        }
    }
    jset(o, "leader", leader, oom);
    jset(o, "commit_index", juint(st->commit_index), oom);
    jset(o, "applied_index", juint(st->applied_index), oom);
    jset(o, "last_index", juint(st->last_index), oom);
    jset(o, "leader_changes", juint(st->leader_changes), oom);
    for (unsigned i = 0; members && i < st->n_members && i < RSM_MAX_AGENTS;
         i++)
        jappend(members, status_member(st, &st->members[i], oom), oom);
    jset(o, "members", members, oom);
}

char *rsm_api_render_status(const struct rsm_node_status *st,
                            const struct rsm_fsm *fsm,
                            const struct rsm_api_server_info *si)
{
    json_t *o = json_object(), *groups = json_array(), *f = json_object();
    bool oom = false;
    char *out = NULL;

    if (o == NULL || groups == NULL || f == NULL) {
        json_decref(groups);
        json_decref(f);
        goto done;
    }
    jset(o, "version", json_string(si->version ? si->version : ""), &oom);
    jset(o, "uptime_s", juint(si->uptime_s), &oom);
    status_raft(o, st, &oom);
    jset(f, "applied", juint(fsm ? fsm->applied : 0), &oom);
    jset(f, "rejected", juint(fsm ? fsm->rejected : 0), &oom);
    jset(o, "fsm", f, &oom);
    jset(o, "cluster_id", json_string(fsm ? fsm->cluster_id : ""), &oom);
    for (size_t i = 0; fsm && i < fsm->n_groups; i++)
        jappend(groups, status_group(&fsm->groups[i], &oom), &oom);
    jset(o, "groups", groups, &oom);
    if (!oom)
        out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
done:
    json_decref(o);
    return out;
}

/* =====================================================================
 * Clients
 * ===================================================================== */

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

static bool subscribed(const struct api_client *cl)
{
    return cl->sub != NULL && rsm_pubsub_count(cl->sub) > 0;
}

/* A subscriber is exempt from the idle timeout and has its own output
 * limit; a client with no subscription left is an ordinary one again. */
static void update_subscriber(struct api_client *cl)
{
    bool on = subscribed(cl);

    rsm_resp_client_set_idle_exempt(cl->c, on);
    rsm_resp_client_set_output_limit(cl->c, on ? cl->a->sub_limit : 0);
}

static void on_connect(void *arg, struct rsm_resp_client *c)
{
    struct rsm_api *a = arg;
    struct api_client *cl = calloc(1, sizeof *cl);

    if (cl == NULL)
        return; /* on_request answers and closes */
    cl->a = a;
    cl->c = c;
    cl->id = ++a->next_client_id;
    a->n_connections++;
    cl->authed = !a->has_pass;
    rsm_resp_client_set_data(c, cl);
}

static void on_close(void *arg, struct rsm_resp_client *c)
{
    struct api_client *cl = rsm_resp_client_data(c);

    (void)arg;
    if (cl == NULL)
        return;
    rsm_pubsub_sub_free(cl->sub);
    rsm_resp_client_set_data(c, NULL);
    free(cl);
}

/* =====================================================================
 * Commands: the table's types and helpers
 * ===================================================================== */

/* One request being answered. */
struct call {
    struct rsm_api *a;
    struct api_client *cl;
    struct rsm_resp_reply *r;
    const struct rsm_resp_request *req;
};

typedef enum rsm_resp_status (*cmd_fn)(const struct call *x);

enum {
    CMD_LEADER = 1 << 0, /* only the leader can do it */
    CMD_NOAUTH = 1 << 1, /* allowed before AUTH */
    CMD_PUBSUB = 1 << 2, /* allowed while subscribed */
};

/* One command: up to three words ("RSM", "MEMBER", "ADD"); the argument
 * counts include the words. */
struct cmd {
    const char *words[3];
    int min_argc, max_argc; /* max -1: no limit */
    unsigned flags;
    const char *help;
    cmd_fn fn;
};

static void server_info(struct rsm_api *a, struct rsm_api_server_info *si)
{
    memset(si, 0, sizeof *si);
    si->version = RSM_VERSION;
    si->uptime_s = (uv_now(a->loop) - a->started_ms) / 1000;
    si->port = rsm_resp_server_port(a->srv);
    si->clients = rsm_resp_server_clients(a->srv);
    si->pubsub_clients = (unsigned)rsm_pubsub_subscribers(a->ps);
    si->max_clients = a->limits.max_clients;
    si->connections_received = a->n_connections;
    si->commands_processed = a->n_commands;
    rsm_api_process_info(si);
}

/* -NOTLEADER <id> <api> / -NOLEADER, for a follower. */
static void not_leader(struct rsm_api *a, struct rsm_resp_reply *r)
{
    struct rsm_node_status st;
    char api[RSM_ADDR_STRLEN];

    a->ops->get_status(a->node, &st);
    if (!st.has_leader || st.leader.id == st.id) {
        rsm_resp_add_error(r, "NOLEADER no leader elected");
        return;
    }
    rsm_resp_add_errorf(r, "NOTLEADER %" PRIu64 " %s", st.leader.id,
                        rsm_addr_format(&st.leader.api, api, sizeof api));
}

static const struct rsm_fsm *fsm_of(const struct rsm_api *a)
{
    return a->ops->fsm(a->node);
}

/* The committed group named argv[i], or NULL after answering Sentinel's
 * error for an unknown one. */
static const struct rsm_group *group_arg(const struct call *x, int i)
{
    const struct rsm_group *g = rsm_fsm_group(fsm_of(x->a), x->req->argv[i]);

    if (g == NULL)
        rsm_resp_add_error(x->r, "ERR No such master with that name");
    return g;
}

/* Same bytes in constant time (for the password). */
static bool same_secret(const char *a, size_t alen, const char *b, size_t blen)
{
    unsigned char diff = alen != blen;

    for (size_t i = 0; i < blen; i++)
        diff |= (unsigned char)(a[i % (alen ? alen : 1)] ^ b[i]);
    return diff == 0 && alen == blen;
}

/* Check user (may be NULL: "default") and password; logs a failure
 * (never the password). Without a configured password, like Redis's
 * "nopass" default user: any password for "default" is good. */
static bool check_password(struct api_client *cl, const char *user,
                           const char *pass, size_t len)
{
    struct rsm_api *a = cl->a;
    bool ok =
        (user == NULL || strcmp(user, "default") == 0) &&
        (!a->has_pass || same_secret(a->requirepass, a->pass_len, pass, len));

    if (!ok)
        rsm_log(RSM_LOG_WARN, "api-auth-failed", "peer=%s client_id=%" PRIu64,
                rsm_resp_client_peer(cl->c), cl->id);
    return ok;
}

/* =====================================================================
 * Commands: connection
 * ===================================================================== */

static enum rsm_resp_status cmd_auth(const struct call *x)
{
    const struct rsm_resp_request *req = x->req;
    int pi = req->argc == 3 ? 2 : 1;

    if (!x->a->has_pass && req->argc == 2) { /* Redis's answer */
        rsm_resp_add_error(x->r,
                           "ERR AUTH <password> called without any password "
                           "configured for the default user. Are you sure "
                           "your configuration is correct?");
        return RSM_RESP_DONE;
    }
    if (!check_password(x->cl, req->argc == 3 ? req->argv[1] : NULL,
                        req->argv[pi], req->argvlen[pi])) {
        rsm_resp_add_error(x->r, "WRONGPASS invalid username-password pair "
                                 "or user is disabled.");
        return RSM_RESP_DONE;
    }
    x->cl->authed = true;
    rsm_resp_add_status(x->r, "OK");
    return RSM_RESP_DONE;
}

/* Client names: printable, no spaces (Redis's rule). */
static bool valid_client_name(const char *s, size_t len)
{
    if (len >= CLIENT_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '!' || s[i] > '~')
            return false;
    }
    return true;
}

static void set_name(struct api_client *cl, const char *s, size_t len)
{
    memcpy(cl->name, s, len);
    cl->name[len] = '\0';
}

static void hello_reply(const struct call *x)
{
    struct rsm_resp_reply *r = x->r;

    rsm_resp_add_array(r, 14);
    rsm_resp_add_kv(r, "server", "rsm-agent");
    rsm_resp_add_kv(r, "version",
                    RSM_API_REDIS_VERSION); /* what clients check */
    rsm_resp_add_cstr(r, "proto");
    rsm_resp_add_int(r, 2);
    rsm_resp_add_cstr(r, "id");
    rsm_resp_add_int(r, (long long)x->cl->id);
    rsm_resp_add_kv(r, "mode", "sentinel");
    rsm_resp_add_kv(r, "role", "master");
    rsm_resp_add_cstr(r, "modules");
    rsm_resp_add_array(r, 0);
}

static enum rsm_resp_status cmd_hello(const struct call *x)
{
    const struct rsm_resp_request *req = x->req;
    const char *name = NULL;
    size_t name_len = 0;
    char *end;
    long v;

    if (req->argc >= 2) {
        v = strtol(req->argv[1], &end, 10);
        if (*end != '\0' || req->argv[1][0] == '\0') {
            rsm_resp_add_error(x->r, "ERR Protocol version is not an integer "
                                     "or out of range");
            return RSM_RESP_DONE;
        }
        if (v != 2) {
            rsm_resp_add_error(x->r, "NOPROTO unsupported protocol version");
            return RSM_RESP_DONE;
        }
    }
    for (int i = 2; i < req->argc; i++) {
        if (strcasecmp(req->argv[i], "AUTH") == 0 && i + 2 < req->argc) {
            if (!check_password(x->cl, req->argv[i + 1], req->argv[i + 2],
                                req->argvlen[i + 2])) {
                rsm_resp_add_error(x->r, "WRONGPASS invalid username-password "
                                         "pair or user is disabled.");
                return RSM_RESP_DONE;
            }
            x->cl->authed = true;
            i += 2;
        } else if (strcasecmp(req->argv[i], "SETNAME") == 0 &&
                   i + 1 < req->argc) {
            name = req->argv[i + 1];
            name_len = req->argvlen[i + 1];
            i++;
        } else {
            rsm_resp_add_errorf(
                x->r, "ERR Syntax error in HELLO option '%.64s'", req->argv[i]);
            return RSM_RESP_DONE;
        }
    }
    if (!x->cl->authed) {
        rsm_resp_add_error(x->r,
                           "NOAUTH HELLO must be called with the client "
                           "already authenticated, otherwise the HELLO "
                           "<proto> AUTH <user> <pass> option can be used to "
                           "authenticate the client and select the RESP "
                           "protocol version at the same time");
        return RSM_RESP_DONE;
    }
    if (name != NULL) {
        if (!valid_client_name(name, name_len)) {
            rsm_resp_add_error(x->r, "ERR Client names cannot contain spaces, "
                                     "newlines or special characters.");
            return RSM_RESP_DONE;
        }
        set_name(x->cl, name, name_len);
    }
    hello_reply(x);
    return RSM_RESP_DONE;
}

static enum rsm_resp_status cmd_ping(const struct call *x)
{
    const struct rsm_resp_request *req = x->req;

    if (subscribed(x->cl)) {
        rsm_resp_add_array(x->r, 2);
        rsm_resp_add_cstr(x->r, "pong");
        if (req->argc == 2)
            rsm_resp_add_bulk(x->r, req->argv[1], req->argvlen[1]);
        else
            rsm_resp_add_cstr(x->r, "");
    } else if (req->argc == 2) {
        rsm_resp_add_bulk(x->r, req->argv[1], req->argvlen[1]);
    } else {
        rsm_resp_add_status(x->r, "PONG");
    }
    return RSM_RESP_DONE;
}

static enum rsm_resp_status cmd_quit(const struct call *x)
{
    rsm_resp_add_status(x->r, "OK");
    rsm_resp_reply_close_after(x->r);
    return RSM_RESP_DONE;
}

static enum rsm_resp_status cmd_reset(const struct call *x)
{
    rsm_pubsub_sub_free(x->cl->sub);
    x->cl->sub = NULL;
    update_subscriber(x->cl);
    x->cl->name[0] = '\0';
    x->cl->authed = !x->a->has_pass;
    rsm_resp_add_status(x->r, "RESET");
    return RSM_RESP_DONE;
}

static enum rsm_resp_status cmd_client_setname(const struct call *x)
{
    if (!valid_client_name(x->req->argv[2], x->req->argvlen[2])) {
        rsm_resp_add_error(x->r, "ERR Client names cannot contain spaces, "
                                 "newlines or special characters.");
        return RSM_RESP_DONE;
    }
    set_name(x->cl, x->req->argv[2], x->req->argvlen[2]);
    rsm_resp_add_status(x->r, "OK");
    return RSM_RESP_DONE;
}

static enum rsm_resp_status cmd_client_getname(const struct call *x)
{
    if (x->cl->name[0] == '\0')
        rsm_resp_add_null(x->r);
    else
        rsm_resp_add_cstr(x->r, x->cl->name);
    return RSM_RESP_DONE;
}

static enum rsm_resp_status cmd_client_id(const struct call *x)
{
    rsm_resp_add_int(x->r, (long long)x->cl->id);
    return RSM_RESP_DONE;
}

/* Client libraries announce themselves (lib-name, lib-ver): accepted and
 * forgotten. */
static enum rsm_resp_status cmd_client_setinfo(const struct call *x)
{
    const char *attr = x->req->argv[2];

    if (strcasecmp(attr, "LIB-NAME") != 0 && strcasecmp(attr, "LIB-VER") != 0) {
        rsm_resp_add_errorf(x->r, "ERR Unrecognized option '%.64s'", attr);
        return RSM_RESP_DONE;
    }
    rsm_resp_add_status(x->r, "OK");
    return RSM_RESP_DONE;
}

/* =====================================================================
 * Commands: introspection
 * ===================================================================== */

/* The "# Sentinel" lines of every group with a master; *out is malloc'd
 * (NULL when there is none). */
static size_t sentinel_masters(struct rsm_api *a,
                               struct rsm_api_sentinel_master **out)
{
    const struct rsm_fsm *fsm = fsm_of(a);
    struct rsm_sentinel_view *v = malloc(sizeof *v);
    size_t n = 0;

    *out = fsm && fsm->n_groups ? calloc(fsm->n_groups, sizeof **out) : NULL;
    if (*out == NULL || v == NULL) {
        free(v);
        return 0;
    }
    for (size_t i = 0; i < fsm->n_groups; i++) {
        rsm_events_view(a->events, &fsm->groups[i], v);
        if (!v->has_master)
            continue;
        (*out)[n].name = fsm->groups[i].name;
        (*out)[n].status = rsm_sentinel_status(v);
        (*out)[n].master = v->master;
        (*out)[n].slaves = rsm_sentinel_n_replicas(v);
        n++;
    }
    free(v);
    return n;
}

static enum rsm_resp_status cmd_info(const struct call *x)
{
    struct rsm_node_status st;
    struct rsm_api_server_info si;
    struct rsm_api_sentinel_master *masters = NULL;
    char *text;

    x->a->ops->get_status(x->a->node, &st);
    server_info(x->a, &si);
    si.n_masters = sentinel_masters(x->a, &masters);
    si.masters = masters;
    text =
        rsm_api_render_info_sections(&st, fsm_of(x->a), &si, x->req->argc - 1,
                                     (const char *const *)(x->req->argv + 1));
    free(masters);
    if (text == NULL) {
        rsm_resp_add_error(x->r, "ERR out of memory");
        return RSM_RESP_DONE;
    }
    rsm_resp_add_verbatim(x->r, "txt", text, strlen(text));
    free(text);
    return RSM_RESP_DONE;
}

static enum rsm_resp_status cmd_role(const struct call *x)
{
    const struct rsm_fsm *fsm = fsm_of(x->a);
    size_t n = fsm ? fsm->n_groups : 0;

    rsm_resp_add_array(x->r, 2);
    rsm_resp_add_cstr(x->r, "sentinel");
    rsm_resp_add_array(x->r, (long)n);
    for (size_t i = 0; i < n; i++)
        rsm_resp_add_cstr(x->r, fsm->groups[i].name);
    return RSM_RESP_DONE;
}

/* =====================================================================
 * Commands: Sentinel
 * ===================================================================== */

/* The master the data dir's masters file gives for group `name`, while
 * the file answers (masterfile.h); false otherwise. */
static bool stored_master(struct rsm_api *a, const char *name,
                          struct rsm_addr *out)
{
    const struct rsm_fsm *fsm = fsm_of(a);
    const struct rsm_addr *m;
    struct rsm_node_status st;

    if (a->masters.n == 0 || a->caught_up)
        return false;
    a->ops->get_status(a->node, &st);
    a->caught_up = st.has_leader && st.commit_index > 0 &&
                   st.applied_index >= st.commit_index;
    if (!rsm_masterfile_usable(&a->masters, fsm ? fsm->applied : 0,
                               a->caught_up))
        return false;
    m = rsm_masterfile_find(&a->masters, name);
    if (m != NULL)
        *out = *m;
    return m != NULL;
}

static enum rsm_resp_status cmd_get_master_addr(const struct call *x)
{
    const struct rsm_group *g = rsm_fsm_group(fsm_of(x->a), x->req->argv[2]);
    struct rsm_addr m;

    if (!stored_master(x->a, x->req->argv[2], &m) &&
        (g == NULL || !rsm_sentinel_master_addr(g, &m))) {
        rsm_resp_add_array(x->r, -1);
        return RSM_RESP_DONE;
    }
    rsm_resp_add_array(x->r, 2);
    rsm_resp_add_cstr(x->r, m.host);
    rsm_resp_add_bulkf(x->r, "%u", m.port);
    return RSM_RESP_DONE;
}

/* The view of g (malloc'd; NULL and an error answered if out of
 * memory). */
static struct rsm_sentinel_view *view_of(const struct call *x,
                                         const struct rsm_group *g)
{
    struct rsm_sentinel_view *v = malloc(sizeof *v);

    if (v == NULL) {
        rsm_resp_add_error(x->r, "ERR out of memory");
        return NULL;
    }
    rsm_events_view(x->a->events, g, v);
    return v;
}

static enum rsm_resp_status cmd_masters(const struct call *x)
{
    const struct rsm_fsm *fsm = fsm_of(x->a);
    struct rsm_sentinel_view *v;
    long n = 0;

    for (size_t i = 0; fsm && i < fsm->n_groups; i++) {
        struct rsm_addr m;
        n += rsm_sentinel_master_addr(&fsm->groups[i], &m);
    }
    v = malloc(sizeof *v);
    if (v == NULL) {
        rsm_resp_add_error(x->r, "ERR out of memory");
        return RSM_RESP_DONE;
    }
    rsm_resp_add_array(x->r, n);
    for (size_t i = 0; fsm && i < fsm->n_groups; i++) {
        rsm_events_view(x->a->events, &fsm->groups[i], v);
        if (v->has_master)
            rsm_sentinel_reply_master(x->r, v);
    }
    free(v);
    return RSM_RESP_DONE;
}

static enum rsm_resp_status cmd_master(const struct call *x)
{
    const struct rsm_group *g = group_arg(x, 2);
    struct rsm_sentinel_view *v = g ? view_of(x, g) : NULL;

    if (v != NULL && !v->has_master)
        rsm_resp_add_error(x->r, "ERR No such master with that name");
    else if (v != NULL)
        rsm_sentinel_reply_master(x->r, v);
    free(v);
    return RSM_RESP_DONE;
}

static enum rsm_resp_status cmd_replicas(const struct call *x)
{
    const struct rsm_group *g = group_arg(x, 2);
    struct rsm_sentinel_view *v = g ? view_of(x, g) : NULL;

    if (v != NULL)
        rsm_sentinel_reply_replicas(x->r, v);
    free(v);
    return RSM_RESP_DONE;
}

static enum rsm_resp_status cmd_sentinels(const struct call *x)
{
    struct rsm_node_status st;
    struct rsm_sentinel_knobs k;
    const struct rsm_group *g = group_arg(x, 2);

    if (g == NULL)
        return RSM_RESP_DONE;
    x->a->ops->get_status(x->a->node, &st);
    rsm_events_knobs(x->a->events, &k);
    rsm_sentinel_config_knobs(g, &k);
    rsm_sentinel_reply_sentinels(x->r, &st, k.down_after_ms);
    return RSM_RESP_DONE;
}

static enum rsm_resp_status cmd_myid(const struct call *x)
{
    struct rsm_node_status st;
    char id[RSM_SENTINEL_RUNID_LEN + 1];

    x->a->ops->get_status(x->a->node, &st);
    rsm_sentinel_run_id(st.id, id);
    rsm_resp_add_cstr(x->r, id);
    return RSM_RESP_DONE;
}

static enum rsm_resp_status cmd_ckquorum(const struct call *x)
{
    struct rsm_node_status st;
    struct rsm_sentinel_knobs k;
    unsigned voters = 0;
    const struct rsm_group *g = group_arg(x, 2);

    if (g == NULL)
        return RSM_RESP_DONE;
    x->a->ops->get_status(x->a->node, &st);
    rsm_events_knobs(x->a->events, &k);
    rsm_sentinel_config_knobs(g, &k);
    for (unsigned i = 0; i < st.n_members && i < RSM_MAX_AGENTS; i++)
        voters += st.members[i].voter;
    if (!st.has_leader) {
        rsm_resp_add_errorf(x->r,
                            "NOQUORUM %u agents, no Raft leader: failover "
                            "authorization cannot be reached",
                            st.n_members);
    } else if (k.quorum > st.n_members) {
        rsm_resp_add_errorf(x->r,
                            "NOQUORUM quorum %u is above the %u agents of "
                            "the group",
                            k.quorum, st.n_members);
    } else {
        char buf[160];
        snprintf(buf, sizeof buf,
                 "OK %u usable Sentinels (agents, %u voters, leader %" PRIu64
                 "). Quorum and failover authorization can be reached",
                 st.n_members, voters, st.leader.id);
        rsm_resp_add_status(x->r, buf);
    }
    return RSM_RESP_DONE;
}

/* Completion of SENTINEL FAILOVER: arg is the reply (maybe orphaned; the
 * API may be gone: touch nothing else). */
static void failover_done(void *arg, int status, const char *errmsg)
{
    struct rsm_resp_reply *r = arg;

    switch (status) {
    case 0:
        rsm_resp_add_status(r, "OK");
        break;
    case RSM_ENOCANDIDATE:
        rsm_resp_add_errorf(r, "NOGOODSLAVE No suitable replica to promote: %s",
                            errmsg);
        break;
    case RSM_EBUSY:
        rsm_resp_add_error(r, "INPROG Failover already in progress");
        break;
    default:
        rsm_resp_add_errorf(r, "ERR failover not decided: %s",
                            errmsg && errmsg[0] ? errmsg
                                                : rsm_strerror(status));
    }
    rsm_resp_reply_end(r);
}

/* SENTINEL FAILOVER sent on to the leader by a follower (forward.h). */
struct forward {
    struct forward *prev, *next; /* in the API's list */
    struct rsm_api *a;           /* NULL once the API stops */
    struct rsm_resp_reply *r;
    struct rsm_forward *f;
    uint64_t leader_id;
    struct rsm_addr leader_api;
    const char *what; /* in errors: NULL is "failover" */
};

#define FORWARD_TIMEOUT_MS 5000

/* The leader's answer (or why there is none), relayed; the reply may be
 * orphaned. */
static void forwarded(void *arg, struct rsm_forward *f,
                      const struct rsm_redis_result *res)
{
    struct forward *fw = arg;
    char api[RSM_ADDR_STRLEN];

    (void)f;
    if (res->reply != NULL)
        rsm_forward_relay(fw->r, res->reply);
    else
        rsm_resp_add_errorf(fw->r,
                            "ERR %s not forwarded to the leader (agent "
                            "%" PRIu64 " at %s): %s",
                            fw->what ? fw->what : "failover", fw->leader_id,
                            rsm_addr_format(&fw->leader_api, api, sizeof api),
                            res->errmsg ? res->errmsg : "no answer");
    rsm_resp_reply_end(fw->r);
    if (fw->a != NULL) {
        if (fw->prev != NULL)
            fw->prev->next = fw->next;
        else
            fw->a->forwards = fw->next;
        if (fw->next != NULL)
            fw->next->prev = fw->prev;
    }
    free(fw);
}

/* A follower: send argv to the leader and relay its answer (`what` names
 * it in errors; logged as event `event` with `detail`). -NOTLEADER when it
 * cannot: no monitor (no agents' password), no other leader known, the
 * leader's address is this agent's own, or the request came from another
 * agent forwarding it. */
static enum rsm_resp_status forward_argv(const struct call *x, const char *what,
                                         int argc, const char *const *argv,
                                         const char *event, const char *detail)
{
    struct rsm_api *a = x->a;
    const struct rsm_monitor_config *mc;
    struct rsm_forward_config fc;
    struct rsm_node_status st;
    struct forward *fw;
    char api[RSM_ADDR_STRLEN];
    int rv;

    a->ops->get_status(a->node, &st);
    mc = a->monitor != NULL ? rsm_monitor_get_config(a->monitor) : NULL;
    if (mc == NULL || rsm_forward_is_agent(x->cl->name) || !st.has_leader ||
        st.leader.id == st.id ||
        rsm_identity_check_addr(&st.leader.api, st.leader.id, &mc->self_api,
                                NULL, 0) != RSM_IDENTITY_OK) {
        not_leader(a, x->r);
        return RSM_RESP_DONE;
    }
    fw = calloc(1, sizeof *fw);
    if (fw == NULL) {
        rsm_resp_add_error(x->r, "ERR out of memory");
        return RSM_RESP_DONE;
    }
    memset(&fc, 0, sizeof fc);
    fc.to = st.leader.api;
    fc.password = mc->agent_password[0] ? mc->agent_password : NULL;
    fc.agent_id = st.id;
    fc.timeout_ms = FORWARD_TIMEOUT_MS;
    fw->a = a;
    fw->r = x->r;
    fw->leader_id = st.leader.id;
    fw->leader_api = st.leader.api;
    fw->what = what;
    rv = rsm_forward_start(a->loop, &fc, argc, argv, forwarded, fw, &fw->f);
    if (rv != 0) {
        free(fw);
        rsm_resp_add_errorf(x->r, "ERR %s not forwarded: %s", what,
                            rsm_strerror(rv));
        return RSM_RESP_DONE;
    }
    fw->next = a->forwards;
    if (fw->next != NULL)
        fw->next->prev = fw;
    a->forwards = fw;
    rsm_log(RSM_LOG_INFO, event, "%s leader=%" PRIu64 " leader_api=%s", detail,
            st.leader.id, rsm_addr_format(&st.leader.api, api, sizeof api));
    return RSM_RESP_PENDING;
}

/* SENTINEL FAILOVER on a follower goes to the leader, like Sentinel, which
 * takes it anywhere. */
static enum rsm_resp_status forward_failover(const struct call *x,
                                             const struct rsm_group *g)
{
    const char *argv[] = {"SENTINEL", "FAILOVER", g->name};
    char detail[RSM_GROUP_NAME_MAX + 8];

    snprintf(detail, sizeof detail, "group=%s", g->name);
    return forward_argv(x, "failover", 3, argv, "failover-forwarded", detail);
}

/* A follower: send the client's request as it is to the leader and relay
 * the answer (what names it in errors). */
static enum rsm_resp_status forward_request(const struct call *x,
                                            const char *what)
{
    char detail[160];

    snprintf(detail, sizeof detail, "request=\"%.120s\"", what);
    return forward_argv(x, what, x->req->argc,
                        (const char *const *)x->req->argv, "request-forwarded",
                        detail);
}

static enum rsm_resp_status cmd_failover(const struct call *x)
{
    const struct rsm_group *g = group_arg(x, 2);
    int rv;

    if (g == NULL)
        return RSM_RESP_DONE;
    if (!x->a->ops->is_leader(x->a->node))
        return forward_failover(x, g);
    if (x->a->monitor == NULL) {
        rsm_resp_add_error(x->r, "ERR this agent does not monitor Redis "
                                 "(no --monitor)");
        return RSM_RESP_DONE;
    }
    rv = rsm_monitor_request_failover(x->a->monitor, g->name, false,
                                      failover_done, x->r);
    switch (rv) {
    case 0:
        return RSM_RESP_PENDING;
    case RSM_ENOTLEADER:
        not_leader(x->a, x->r); /* elected, barrier not committed yet */
        break;
    case RSM_ENOTFOUND:
        rsm_resp_add_error(x->r, "ERR No such master with that name");
        break;
    case RSM_EBUSY:
        rsm_resp_add_error(x->r, "INPROG Failover already in progress");
        break;
    default:
        rsm_resp_add_errorf(x->r, "ERR failover refused: %s", rsm_strerror(rv));
    }
    return RSM_RESP_DONE;
}

/* RSM FAILOVER <group> [FORCE]: SENTINEL FAILOVER on the leader, and with
 * FORCE the operator's override: a replica that never completed a sync
 * with its master may be promoted when no synced one is eligible (never
 * for an automatic failover; see planner.h). */
static enum rsm_resp_status cmd_rsm_failover(const struct call *x)
{
    const struct rsm_group *g = group_arg(x, 2);
    bool force = x->req->argc == 4;
    int rv;

    if (g == NULL)
        return RSM_RESP_DONE;
    if (force && strcasecmp(x->req->argv[3], "FORCE") != 0) {
        rsm_resp_add_errorf(x->r,
                            "ERR bad argument '%s': want FORCE or "
                            "nothing",
                            x->req->argv[3]);
        return RSM_RESP_DONE;
    }
    if (x->a->monitor == NULL) {
        rsm_resp_add_error(x->r, "ERR this agent does not monitor Redis "
                                 "(no --monitor)");
        return RSM_RESP_DONE;
    }
    rv = rsm_monitor_request_failover(x->a->monitor, g->name, force,
                                      failover_done, x->r);
    switch (rv) {
    case 0:
        return RSM_RESP_PENDING;
    case RSM_ENOTLEADER:
        not_leader(x->a, x->r); /* elected, barrier not committed yet */
        break;
    case RSM_ENOTFOUND:
        rsm_resp_add_error(x->r, "ERR No such master with that name");
        break;
    case RSM_EBUSY:
        rsm_resp_add_error(x->r, "INPROG Failover already in progress");
        break;
    default:
        rsm_resp_add_errorf(x->r, "ERR failover refused: %s", rsm_strerror(rv));
    }
    return RSM_RESP_DONE;
}

/* Completion of RSM SWITCHOVER (like failover_done). */
static void switchover_done(void *arg, int status, const char *errmsg)
{
    struct rsm_resp_reply *r = arg;

    switch (status) {
    case 0:
        rsm_resp_add_status(r, "OK");
        break;
    case RSM_ENOCANDIDATE:
        rsm_resp_add_errorf(r, "NOGOODSLAVE %s", errmsg);
        break;
    case RSM_EBUSY:
        rsm_resp_add_error(r, "INPROG Failover already in progress");
        break;
    case RSM_EREJECTED:
        rsm_resp_add_errorf(r, "REFUSED %s", errmsg);
        break;
    default:
        rsm_resp_add_errorf(r, "ERR switchover not decided: %s",
                            errmsg && errmsg[0] ? errmsg
                                                : rsm_strerror(status));
    }
    rsm_resp_reply_end(r);
}

/* RSM SWITCHOVER <group> [<host:port>|any] [<timeout-ms>] */
static enum rsm_resp_status cmd_switchover(const struct call *x)
{
    const struct rsm_group *g = group_arg(x, 2);
    struct rsm_addr to;
    bool has_to = false;
    long long timeout_ms = 0;
    char err[RSM_ERRMSG_SIZE];
    int rv;

    if (g == NULL)
        return RSM_RESP_DONE;
    if (x->a->monitor == NULL) {
        rsm_resp_add_error(x->r, "ERR this agent does not monitor Redis "
                                 "(no --monitor)");
        return RSM_RESP_DONE;
    }
    for (int i = 3; i < x->req->argc; i++) {
        const char *s = x->req->argv[i];
        char *end;

        if (i == 3 && strchr(s, ':') != NULL) {
            memset(&to, 0, sizeof to);
            if (rsm_addr_parse(s, &to, err, sizeof err) != 0) {
                rsm_resp_add_errorf(x->r, "ERR bad target '%s': %s", s, err);
                return RSM_RESP_DONE;
            }
            has_to = true;
        } else if (i == 3 && strcasecmp(s, "any") == 0) {
            has_to = false;
        } else {
            errno = 0;
            timeout_ms = strtoll(s, &end, 10);
            if (errno != 0 || end == s || *end != '\0' || timeout_ms < 100 ||
                timeout_ms > 3600000 || i != x->req->argc - 1) {
                rsm_resp_add_errorf(x->r,
                                    "ERR bad argument '%s': want "
                                    "[host:port|any] [timeout-ms 100..3600000]",
                                    s);
                return RSM_RESP_DONE;
            }
        }
    }
    rv = rsm_monitor_request_switchover(x->a->monitor, g->name,
                                        has_to ? &to : NULL, timeout_ms,
                                        switchover_done, x->r);
    switch (rv) {
    case 0:
        return RSM_RESP_PENDING;
    case RSM_ENOTLEADER:
        not_leader(x->a, x->r);
        break;
    case RSM_ENOTFOUND:
        rsm_resp_add_error(x->r, "ERR No such master with that name");
        break;
    case RSM_EBUSY:
        rsm_resp_add_error(x->r, "INPROG Failover already in progress");
        break;
    case RSM_EREJECTED:
        rsm_resp_add_error(x->r, "REFUSED switchover refused: group paused");
        break;
    default:
        rsm_resp_add_errorf(x->r, "ERR switchover refused: %s",
                            rsm_strerror(rv));
    }
    return RSM_RESP_DONE;
}

/* SENTINEL SET / RESET / CONFIG (sentinel_config.h): the leader commits
 * a change through the log, a follower passes the request on. */
static enum rsm_resp_status propose_for_client(const struct call *x,
                                               const struct rsm_entry *e);

static enum rsm_resp_status commit_or_forward(void *arg,
                                              const struct rsm_entry *e)
{
    const struct call *x = arg;

    if (!x->a->ops->is_leader(x->a->node))
        return forward_request(x, "SENTINEL SET");
    return propose_for_client(x, e);
}

static void sentinel_config_call(const struct call *x,
                                 struct rsm_sentinel_config_call *c)
{
    const struct rsm_fsm *fsm = fsm_of(x->a);
    const struct rsm_monitor_config *mc =
        x->a->monitor ? rsm_monitor_get_config(x->a->monitor) : NULL;
    const struct rsm_agent_info *self;
    struct rsm_node_status st;

    memset(c, 0, sizeof *c);
    x->a->ops->get_status(x->a->node, &st);
    c->fsm = fsm;
    c->r = x->r;
    c->req = x->req;
    self = fsm != NULL ? rsm_fsm_agent(fsm, st.id) : NULL;
    if (self != NULL)
        c->self.announce = self->api;
    else if (mc != NULL)
        c->self.announce = mc->self_api;
    c->self.agents_password = mc != NULL && mc->agent_password[0] != '\0';
    c->self.log_level = (enum rsm_globalconf_loglevel)rsm_log_level_get();
    c->commit = commit_or_forward;
    c->arg = (void *)x;
}

static enum rsm_resp_status cmd_sentinel_set(const struct call *x)
{
    struct rsm_sentinel_config_call c;

    sentinel_config_call(x, &c);
    return rsm_sentinel_config_set(&c);
}

static enum rsm_resp_status cmd_sentinel_reset(const struct call *x)
{
    struct rsm_sentinel_config_call c;

    sentinel_config_call(x, &c);
    return rsm_sentinel_config_reset(&c);
}

static enum rsm_resp_status cmd_sentinel_config(const struct call *x)
{
    struct rsm_sentinel_config_call c;

    sentinel_config_call(x, &c);
    return rsm_sentinel_config_config(&c);
}

static enum rsm_resp_status cmd_sentinel_monitor(const struct call *x)
{
    struct rsm_sentinel_config_call c;

    sentinel_config_call(x, &c);
    return rsm_sentinel_config_monitor(&c);
}

/* =====================================================================
 * Commands: pub/sub
 * ===================================================================== */

static enum rsm_resp_status cmd_pubsub(const struct call *x)
{
    struct api_client *cl = x->cl;

    if (cl->sub == NULL) {
        cl->sub = rsm_pubsub_sub_create(x->a->ps, cl->c);
        if (cl->sub == NULL) {
            rsm_resp_add_error(x->r, "ERR out of memory");
            return RSM_RESP_DONE;
        }
    }
    rsm_pubsub_command(cl->sub, x->r, x->req);
    update_subscriber(cl);
    return RSM_RESP_DONE;
}

/* =====================================================================
 * Commands: ours
 * ===================================================================== */

static enum rsm_resp_status cmd_status(const struct call *x)
{
    struct rsm_node_status st;
    struct rsm_api_server_info si;
    char *json;

    x->a->ops->get_status(x->a->node, &st);
    server_info(x->a, &si);
    json = rsm_api_render_status(&st, fsm_of(x->a), &si);
    if (json != NULL && x->a->monitor != NULL)
        json = rsm_monitor_status_attach(json, x->a->monitor);
    if (json == NULL) {
        rsm_resp_add_error(x->r, "ERR out of memory");
        return RSM_RESP_DONE;
    }
    rsm_resp_add_cstr(x->r, json);
    free(json);
    return RSM_RESP_DONE;
}

static enum rsm_resp_status cmd_members(const struct call *x)
{
    struct rsm_node_status st;
    char buf[RSM_ADDR_STRLEN];

    x->a->ops->get_status(x->a->node, &st);
    rsm_resp_add_array(x->r, st.n_members);
    for (unsigned i = 0; i < st.n_members && i < RSM_MAX_AGENTS; i++) {
        const struct rsm_member *m = &st.members[i];
        rsm_resp_add_array(x->r, 5);
        rsm_resp_add_int(x->r, (long long)m->id);
        rsm_resp_add_cstr(x->r,
                          rsm_addr_format_or(&m->raft, buf, sizeof buf, ""));
        rsm_resp_add_cstr(x->r,
                          rsm_addr_format_or(&m->api, buf, sizeof buf, ""));
        rsm_resp_add_int(x->r, m->voter ? 1 : 0);
        rsm_resp_add_int(x->r, is_leader_member(&st, m) ? 1 : 0);
    }
    return RSM_RESP_DONE;
}

/* A member id (rsm_member_id_parse) from a whole argument. */
static bool api_parse_id(const char *s, uint64_t *out)
{
    return rsm_member_id_parse(s, strlen(s), out) == 0;
}

static bool has_member(const struct rsm_node_status *st, uint64_t id)
{
    for (unsigned i = 0; i < st->n_members && i < RSM_MAX_AGENTS; i++)
        if (st->members[i].id == id)
            return true;
    return false;
}

/* Completion of a membership change: arg is the reply (maybe orphaned,
 * maybe after the API is gone: touch nothing else). */
static void membership_done(void *arg, int status, const char *errmsg)
{
    struct rsm_resp_reply *r = arg;

    if (status == 0)
        rsm_resp_add_status(r, "OK");
    else
        rsm_resp_add_errorf(r, "ERR membership change failed: %s",
                            errmsg && errmsg[0] ? errmsg
                                                : rsm_strerror(status));
    rsm_resp_reply_end(r);
}

/* The node refused to start the change. */
static void membership_refused(struct rsm_api *a, struct rsm_resp_reply *r,
                               int rv)
{
    switch (rv) {
    case RSM_ENOTLEADER:
        not_leader(a, r);
        break;
    case RSM_EBUSY:
        rsm_resp_add_error(r, "ERR a membership change is already in "
                              "progress, try again");
        break;
    case RSM_EEXIST:
        rsm_resp_add_error(r, "ERR member id or address already in use");
        break;
    case RSM_ENOTFOUND:
        rsm_resp_add_error(r, "ERR no such member");
        break;
    default:
        rsm_resp_add_errorf(r, "ERR membership change refused: %s",
                            rsm_strerror(rv));
    }
}

static enum rsm_resp_status cmd_member_add(const struct call *x)
{
    struct rsm_api *a = x->a;
    const struct rsm_resp_request *req = x->req;
    struct rsm_node_status st;
    struct rsm_member m = {0};
    char err[RSM_ERRMSG_SIZE] = "";
    uint64_t id;
    int rv;

    if (!api_parse_id(req->argv[3], &id)) {
        rsm_resp_add_errorf(x->r, "ERR invalid member id '%.64s'",
                            req->argv[3]);
        return RSM_RESP_DONE;
    }
    if (a->ops->parse_member_addr(req->argv[4], rsm_resp_server_port(a->srv),
                                  &m, err, sizeof err) != 0) {
        rsm_resp_add_errorf(x->r, "ERR invalid member address '%.300s': %s",
                            req->argv[4], err);
        return RSM_RESP_DONE;
    }
    m.id = id;
    m.voter = true;
    a->ops->get_status(a->node, &st);
    if (has_member(&st, id)) {
        rsm_resp_add_errorf(x->r, "ERR member %" PRIu64 " already exists", id);
        return RSM_RESP_DONE;
    }
    rsm_log(RSM_LOG_INFO, "member-add-requested", "id=%" PRIu64 " addr=%s", id,
            req->argv[4]);
    rv = a->ops->add_member(a->node, &m, membership_done, x->r);
    if (rv != 0) {
        membership_refused(a, x->r, rv);
        return RSM_RESP_DONE;
    }
    return RSM_RESP_PENDING;
}

static enum rsm_resp_status cmd_member_remove(const struct call *x)
{
    struct rsm_api *a = x->a;
    struct rsm_node_status st;
    uint64_t id;
    int rv;

    if (!api_parse_id(x->req->argv[3], &id)) {
        rsm_resp_add_errorf(x->r, "ERR invalid member id '%.64s'",
                            x->req->argv[3]);
        return RSM_RESP_DONE;
    }
    a->ops->get_status(a->node, &st);
    if (!has_member(&st, id)) {
        rsm_resp_add_errorf(x->r, "ERR no member %" PRIu64, id);
        return RSM_RESP_DONE;
    }
    rsm_log(RSM_LOG_INFO, "member-remove-requested", "id=%" PRIu64, id);
    rv = a->ops->remove_member(a->node, id, membership_done, x->r);
    if (rv != 0) {
        membership_refused(a, x->r, rv);
        return RSM_RESP_DONE;
    }
    return RSM_RESP_PENDING;
}

/* RSM LEADERVIEW <payload>: the acting leader's view of the instances,
 * pushed to every other agent (monitor.c, leaderview.h). Taken only from
 * this agent's leader in its term; +OK, or an error saying why not. */
static enum rsm_resp_status cmd_leaderview(const struct call *x)
{
    char err[RSM_ERRMSG_SIZE];
    int rv = rsm_events_leaderview_take(x->a->events, x->req->argv[2],
                                        x->req->argvlen[2], err, sizeof err);

    if (rv == 0)
        rsm_resp_add_status(x->r, "OK");
    else if (rv == RSM_EREJECTED)
        rsm_resp_add_errorf(x->r, "REFUSED %s", err);
    else
        rsm_resp_add_errorf(x->r, "ERR bad leader view: %s", err);
    return RSM_RESP_DONE;
}

static enum rsm_resp_status cmd_views(const struct call *x)
{
    struct rsm_node_status st;
    struct rsm_agent_view *views = NULL;
    const char **groups = NULL;
    size_t n = 0, max = 0;

    if (x->a->monitor != NULL)
        max = rsm_monitor_get_config(x->a->monitor)->n_groups;
    if (max > 0) {
        views = malloc(max * sizeof *views);
        groups = malloc(max * sizeof *groups);
        if (views == NULL || groups == NULL) {
            free(views);
            free(groups);
            rsm_resp_add_error(x->r, "ERR out of memory");
            return RSM_RESP_DONE;
        }
        n = rsm_monitor_views(x->a->monitor, views, groups, max);
    }
    /* The identity first: the asking leader counts these views only for
     * the member it meant to ask (see monitor.c, views_cb). Leaders from
     * before identities skip an element that is not 5 long. */
    x->a->ops->get_status(x->a->node, &st);
    rsm_resp_add_array(x->r, (long)n + 1);
    rsm_resp_add_array(x->r, 4);
    rsm_resp_add_kv_int(x->r, "agent", (long long)st.id);
    rsm_resp_add_kv(x->r, "cluster", fsm_of(x->a)->cluster_id);
    for (size_t i = 0; i < n; i++) {
        rsm_resp_add_array(x->r, 5);
        rsm_resp_add_cstr(x->r, groups[i]);
        rsm_resp_add_cstr(x->r, views[i].master.host);
        rsm_resp_add_int(x->r, views[i].master.port);
        rsm_resp_add_cstr(x->r, rsm_monitor_view_state_str(&views[i]));
        rsm_resp_add_int(x->r, views[i].no_reply_ms);
    }
    free(views);
    free(groups);
    return RSM_RESP_DONE;
}

static void history_item(struct rsm_resp_reply *r, const struct rsm_group *g,
                         const struct rsm_history_item *h)
{
    char a[RSM_ADDR_STRLEN];

    rsm_resp_add_array(r, 2 * 12);
    rsm_resp_add_kv(r, "group", g->name);
    rsm_resp_add_kv_int(r, "epoch", (long long)h->epoch);
    rsm_resp_add_kv(r, "kind", rsm_failover_kind_str(h->kind));
    rsm_resp_add_kv(r, "result", rsm_failover_result_str(h->result));
    rsm_resp_add_kv(r, "old-master",
                    rsm_addr_format_or(&h->old_master, a, sizeof a, ""));
    rsm_resp_add_kv(r, "new-master",
                    rsm_addr_format_or(&h->new_master, a, sizeof a, ""));
    rsm_resp_add_kv_int(r, "decided-at-ms", h->decided_at_ms);
    rsm_resp_add_kv_int(r, "ended-at-ms", h->ended_at_ms);
    rsm_resp_add_kv_int(r, "old-offset", h->old_offset);
    rsm_resp_add_kv_int(r, "new-offset", h->new_offset);
    rsm_resp_add_kv_int(r, "data-at-risk", h->data_at_risk);
    rsm_resp_add_kv(r, "reason", h->reason);
}

static unsigned n_history(const struct rsm_group *g)
{
    return g->n_history < RSM_HISTORY_MAX ? g->n_history : RSM_HISTORY_MAX;
}

static enum rsm_resp_status cmd_history(const struct call *x)
{
    const struct rsm_fsm *fsm = fsm_of(x->a);
    const struct rsm_group *one = NULL;
    long n = 0;

    if (x->req->argc == 3) {
        one = rsm_fsm_group(fsm, x->req->argv[2]);
        if (one == NULL) {
            rsm_resp_add_errorf(x->r, "ERR no such group '%.64s'",
                                x->req->argv[2]);
            return RSM_RESP_DONE;
        }
    }
    for (size_t i = 0; fsm && i < fsm->n_groups; i++) {
        if (one == NULL || one == &fsm->groups[i])
            n += n_history(&fsm->groups[i]);
    }
    rsm_resp_add_array(x->r, n);
    for (size_t i = 0; fsm && i < fsm->n_groups; i++) {
        const struct rsm_group *g = &fsm->groups[i];
        if (one != NULL && one != g)
            continue;
        for (unsigned k = 0; k < n_history(g); k++)
            history_item(x->r, g, &g->history[k]);
    }
    return RSM_RESP_DONE;
}

/* Completion of an entry proposed for a client (RSM PAUSE/RESUME/
 * ADVERTISE), like membership_done. */
static void committed_done(void *arg, int status, const char *errmsg)
{
    struct rsm_resp_reply *r = arg;

    if (status == 0)
        rsm_resp_add_status(r, "OK");
    else
        rsm_resp_add_errorf(r, "ERR not committed: %s",
                            errmsg && errmsg[0] ? errmsg
                                                : rsm_strerror(status));
    rsm_resp_reply_end(r);
}

/* Propose e for the client of x: answered once committed (or refused
 * now: -NOTLEADER, or why it was not proposed). */
static enum rsm_resp_status propose_for_client(const struct call *x,
                                               const struct rsm_entry *e)
{
    int rv = x->a->ops->propose(x->a->node, e, committed_done, x->r);

    if (rv == RSM_ENOTLEADER) {
        not_leader(x->a, x->r);
        return RSM_RESP_DONE;
    }
    if (rv != 0) {
        rsm_resp_add_errorf(x->r, "ERR not proposed: %s", rsm_strerror(rv));
        return RSM_RESP_DONE;
    }
    return RSM_RESP_PENDING;
}

/* "-" or "" for none, else host:port. */
static bool parse_opt_addr(const char *s, struct rsm_addr *out)
{
    memset(out, 0, sizeof *out);
    return strcmp(s, "-") == 0 || rsm_addr_parse(s, out, NULL, 0) == 0;
}

/* RSM ADVERTISE <id> <cluster-id|-> <api host:port> <http host:port|->:
 * an agent tells the leader where its ports are (src/raft/advertise.c). The
 * leader records it through the log (AdvertiseAgent) for a member of the
 * Raft configuration whose cluster id, if it knows one, is the group's. */
static enum rsm_resp_status cmd_advertise(const struct call *x)
{
    const struct rsm_fsm *fsm = fsm_of(x->a);
    const char *cid = x->req->argv[3];
    struct rsm_node_status st;
    struct rsm_entry e;
    uint64_t id;

    rsm_entry_init(&e, RSM_ENTRY_ADVERTISE_AGENT, NULL, rsm_clock_wall_ms());
    if (!api_parse_id(x->req->argv[2], &id) ||
        !parse_opt_addr(x->req->argv[4], &e.api) || e.api.port == 0 ||
        !parse_opt_addr(x->req->argv[5], &e.http)) {
        rsm_resp_add_error(x->r, "ERR usage: RSM ADVERTISE <id> "
                                 "<cluster-id|-> <host:port> <host:port|->");
        return RSM_RESP_DONE;
    }
    x->a->ops->get_status(x->a->node, &st);
    if (!has_member(&st, id)) {
        rsm_resp_add_errorf(x->r, "ERR no member %" PRIu64, id);
        return RSM_RESP_DONE;
    }
    if (fsm->cluster_id[0] == '\0') {
        rsm_resp_add_error(x->r, "TRYAGAIN the group has no cluster id yet");
        return RSM_RESP_DONE;
    }
    if (strcmp(cid, "-") != 0 && strcmp(cid, fsm->cluster_id) != 0) {
        rsm_log(RSM_LOG_WARN, "peer-identity-mismatch",
                "id=%" PRIu64 " reason=\"advertised for cluster %.40s, this "
                "group is %s\"",
                id, cid, fsm->cluster_id);
        rsm_resp_add_errorf(x->r, "MISCONFIGURED this group is cluster %s",
                            fsm->cluster_id);
        return RSM_RESP_DONE;
    }
    e.agent_id = id;
    memcpy(e.cluster_id, fsm->cluster_id, sizeof e.cluster_id);
    return propose_for_client(x, &e);
}

static enum rsm_resp_status set_paused(const struct call *x, bool paused)
{
    const char *name = x->req->argv[2];
    struct rsm_entry *e;
    enum rsm_resp_status st;

    if (rsm_fsm_group(fsm_of(x->a), name) == NULL) {
        rsm_resp_add_errorf(x->r, "ERR no such group '%.64s'", name);
        return RSM_RESP_DONE;
    }
    e = malloc(sizeof *e); /* large: off the stack */
    if (e == NULL) {
        rsm_resp_add_error(x->r, "ERR out of memory");
        return RSM_RESP_DONE;
    }
    rsm_entry_init(e, RSM_ENTRY_SET_PAUSED, name, rsm_clock_wall_ms());
    e->paused = paused;
    rsm_log(RSM_LOG_INFO, paused ? "pause-requested" : "resume-requested",
            "group=%s", name);
    st = propose_for_client(x, e);
    free(e);
    return st;
}

static enum rsm_resp_status cmd_pause(const struct call *x)
{
    return set_paused(x, true);
}

static enum rsm_resp_status cmd_resume(const struct call *x)
{
    return set_paused(x, false);
}

/* =====================================================================
 * The table
 * ===================================================================== */

static enum rsm_resp_status cmd_help(const struct call *x);
static enum rsm_resp_status cmd_command(const struct call *x);
static enum rsm_resp_status cmd_command_count(const struct call *x);
static enum rsm_resp_status cmd_command_list(const struct call *x);
static enum rsm_resp_status cmd_command_docs(const struct call *x);
static enum rsm_resp_status cmd_command_info(const struct call *x);

#define NOAUTH CMD_NOAUTH
#define PUBSUB CMD_PUBSUB
#define LEADER CMD_LEADER

/* Multi-word entries before the single word they start with (lookup
 * takes the longest match). */
static const struct cmd commands[] = {
    {{"AUTH"}, 2, 3, NOAUTH, "AUTH [default] <password>", cmd_auth},
    {{"HELLO"},
     1,
     -1,
     NOAUTH,
     "HELLO [2 [AUTH <user> <pass>] [SETNAME <name>]]",
     cmd_hello},
    {{"PING"}, 1, 2, PUBSUB, "PING [message]", cmd_ping},
    {{"QUIT"}, 1, -1, NOAUTH | PUBSUB, "QUIT", cmd_quit},
    {{"RESET"}, 1, 1, PUBSUB, "RESET", cmd_reset},
    {{"CLIENT", "SETNAME"},
     3,
     3,
     0,
     "CLIENT SETNAME <name>",
     cmd_client_setname},
    {{"CLIENT", "GETNAME"}, 2, 2, 0, "CLIENT GETNAME", cmd_client_getname},
    {{"CLIENT", "ID"}, 2, 2, 0, "CLIENT ID", cmd_client_id},
    {{"CLIENT", "SETINFO"},
     4,
     4,
     0,
     "CLIENT SETINFO LIB-NAME|LIB-VER <value>",
     cmd_client_setinfo},
    {{"CLIENT", "HELP"}, 2, 2, 0, "CLIENT HELP", cmd_help},
    {{"COMMAND", "COUNT"}, 2, 2, 0, "COMMAND COUNT", cmd_command_count},
    {{"COMMAND", "LIST"}, 2, -1, 0, "COMMAND LIST", cmd_command_list},
    {{"COMMAND", "DOCS"},
     2,
     -1,
     0,
     "COMMAND DOCS [<command> ...]",
     cmd_command_docs},
    {{"COMMAND", "INFO"},
     2,
     -1,
     0,
     "COMMAND INFO [<command> ...]",
     cmd_command_info},
    {{"COMMAND", "HELP"}, 2, 2, 0, "COMMAND HELP", cmd_help},
    {{"COMMAND"}, 1, 1, 0, "COMMAND", cmd_command},
    {{"INFO"},
     1,
     -1,
     0,
     "INFO [server|clients|stats|cpu|raft|groups|sentinel|default|all ...]",
     cmd_info},
    {{"ROLE"}, 1, 1, 0, "ROLE", cmd_role},
    {{"SENTINEL", "GET-MASTER-ADDR-BY-NAME"},
     3,
     3,
     0,
     "SENTINEL GET-MASTER-ADDR-BY-NAME <group>",
     cmd_get_master_addr},
    {{"SENTINEL", "MASTERS"}, 2, 2, 0, "SENTINEL MASTERS", cmd_masters},
    {{"SENTINEL", "MASTER"}, 3, 3, 0, "SENTINEL MASTER <group>", cmd_master},
    {{"SENTINEL", "REPLICAS"},
     3,
     3,
     0,
     "SENTINEL REPLICAS <group>",
     cmd_replicas},
    {{"SENTINEL", "SLAVES"}, 3, 3, 0, "SENTINEL SLAVES <group>", cmd_replicas},
    {{"SENTINEL", "SENTINELS"},
     3,
     3,
     0,
     "SENTINEL SENTINELS <group> -- the other agents",
     cmd_sentinels},
    {{"SENTINEL", "MYID"}, 2, 2, 0, "SENTINEL MYID", cmd_myid},
    {{"SENTINEL", "CKQUORUM"},
     3,
     3,
     0,
     "SENTINEL CKQUORUM <group>",
     cmd_ckquorum},
    {{"SENTINEL", "FAILOVER"},
     3,
     3,
     0,
     "SENTINEL FAILOVER <group> -- manual failover (a follower sends it on "
     "to the leader)",
     cmd_failover},
    {{"SENTINEL", "SET"},
     5,
     -1,
     0,
     "SENTINEL SET <group> <option> <value> [<option> <value> ...]",
     cmd_sentinel_set},
    {{"SENTINEL", "RESET"},
     3,
     3,
     0,
     "SENTINEL RESET <pattern>",
     cmd_sentinel_reset},
    {{"SENTINEL", "CONFIG"},
     3,
     -1,
     0,
     "SENTINEL CONFIG GET <param> | SET <param> <value>",
     cmd_sentinel_config},
    {{"SENTINEL", "MONITOR"},
     6,
     6,
     0,
     "SENTINEL MONITOR <group> <ip> <port> <quorum> -- not supported yet",
     cmd_sentinel_monitor},
    {{"SENTINEL", "REMOVE"},
     3,
     3,
     0,
     "SENTINEL REMOVE <group> -- not supported yet",
     cmd_sentinel_monitor},
    {{"SENTINEL", "HELP"}, 2, 2, 0, "SENTINEL HELP", cmd_help},
    {{"SUBSCRIBE"}, 2, -1, PUBSUB, "SUBSCRIBE <channel> ...", cmd_pubsub},
    {{"UNSUBSCRIBE"}, 1, -1, PUBSUB, "UNSUBSCRIBE [<channel> ...]", cmd_pubsub},
    {{"PSUBSCRIBE"}, 2, -1, PUBSUB, "PSUBSCRIBE <pattern> ...", cmd_pubsub},
    {{"PUNSUBSCRIBE"},
     1,
     -1,
     PUBSUB,
     "PUNSUBSCRIBE [<pattern> ...]",
     cmd_pubsub},
    {{"RSM", "STATUS"}, 2, 2, 0, "RSM STATUS -- JSON status", cmd_status},
    {{"RSM", "MEMBERS"}, 2, 2, 0, "RSM MEMBERS", cmd_members},
    {{"RSM", "MEMBER", "ADD"},
     5,
     5,
     LEADER,
     "RSM MEMBER ADD <id> <host:port[/apiport]> -- leader only",
     cmd_member_add},
    {{"RSM", "MEMBER", "REMOVE"},
     4,
     4,
     LEADER,
     "RSM MEMBER REMOVE <id> -- leader only",
     cmd_member_remove},
    {{"RSM", "VIEWS"},
     2,
     2,
     0,
     "RSM VIEWS -- this agent's view of each master",
     cmd_views},
    {{"RSM", "LEADERVIEW"},
     3,
     3,
     0,
     "RSM LEADERVIEW <payload> -- the leader's view of the instances, from "
     "the leader",
     cmd_leaderview},
    {{"RSM", "ADVERTISE"},
     6,
     6,
     LEADER,
     "RSM ADVERTISE <id> <cluster-id|-> <host:port> <host:port|-> -- where "
     "an agent's client and HTTP ports are, leader only",
     cmd_advertise},
    {{"RSM", "HISTORY"},
     2,
     3,
     0,
     "RSM HISTORY [<group>] -- past failovers",
     cmd_history},
    {{"RSM", "PAUSE"},
     3,
     3,
     LEADER,
     "RSM PAUSE <group> -- no automatic failover, leader only",
     cmd_pause},
    {{"RSM", "RESUME"},
     3,
     3,
     LEADER,
     "RSM RESUME <group> -- leader only",
     cmd_resume},
    {{"RSM", "FAILOVER"},
     3,
     4,
     LEADER,
     "RSM FAILOVER <group> [FORCE] -- manual failover; FORCE may promote a "
     "replica that never synced, leader only",
     cmd_rsm_failover},
    {{"RSM", "SWITCHOVER"},
     3,
     5,
     LEADER,
     "RSM SWITCHOVER <group> [<host:port>|any] [<timeout-ms>] -- planned, "
     "no write lost, leader only",
     cmd_switchover},
    {{"RSM", "HELP"}, 2, 2, 0, "RSM HELP", cmd_help},
};

#undef NOAUTH
#undef PUBSUB
#undef LEADER

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static int n_words(const struct cmd *c);
static void cmd_name(const struct cmd *c, int words, char *buf, size_t len);

/* The usage of c in its family's HELP: its help text without the family
 * word and without the " -- " remark ("(no subcommand)" for the family
 * word alone, as Redis says). */
static void help_usage(const struct cmd *c, char *buf, size_t len)
{
    const char *h = c->help, *dash = strstr(h, " -- ");
    size_t w = strlen(c->words[0]);
    int n;

    if (strncasecmp(h, c->words[0], w) == 0 && (h[w] == ' ' || h[w] == '\0'))
        h += h[w] == ' ' ? w + 1 : w;
    n = (int)(dash != NULL && dash >= h ? (size_t)(dash - h) : strlen(h));
    snprintf(buf, len, "%.*s", n, n > 0 ? h : "(no subcommand)");
}

/* The description line of c in HELP: its doc (cmddoc.h), else its " -- "
 * remark. */
static void help_line(const struct cmd *c, char *buf, size_t len)
{
    char name[64];
    const struct rsm_cmddoc *d;
    const char *dash = strstr(c->help, " -- ");

    cmd_name(c, n_words(c), name, sizeof name);
    d = rsm_cmddoc_find(name);
    snprintf(buf, len, "    %s",
             d != NULL      ? d->summary
             : dash != NULL ? dash + 4
                            : "");
}

/* Is c listed in the HELP of family (its HELP entry comes last, as
 * Redis's own line)? */
static bool in_help(const struct cmd *c, const char *family)
{
    return strcasecmp(c->words[0], family) == 0 &&
           !(n_words(c) == 2 && strcasecmp(c->words[1], "HELP") == 0);
}

/* HELP of a command family in Redis's form: a header line, then every
 * entry's usage with its description indented below, HELP last. */
static enum rsm_resp_status cmd_help(const struct call *x)
{
    const char *family = x->req->argv[0];
    char buf[320];
    long n = 3;

    for (size_t i = 0; i < N_COMMANDS; i++)
        n += in_help(&commands[i], family) ? 2 : 0;
    rsm_resp_add_array(x->r, n);
    snprintf(buf, sizeof buf,
             "%.32s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
             family);
    for (char *p = buf; *p != ' '; p++)
        *p = (char)toupper((unsigned char)*p);
    rsm_resp_add_status(x->r, buf);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (!in_help(&commands[i], family))
            continue;
        help_usage(&commands[i], buf, sizeof buf);
        rsm_resp_add_status(x->r, buf);
        help_line(&commands[i], buf, sizeof buf);
        rsm_resp_add_status(x->r, buf);
    }
    rsm_resp_add_status(x->r, "HELP");
    rsm_resp_add_status(x->r, "    Print this help.");
    return RSM_RESP_DONE;
}

static int n_words(const struct cmd *c)
{
    int n = 0;

    while (n < 3 && c->words[n] != NULL)
        n++;
    return n;
}

/* "rsm|member|add", lowercase, as Redis names subcommands. */
static void cmd_name(const struct cmd *c, int words, char *buf, size_t len)
{
    size_t o = 0;

    buf[0] = '\0';
    for (int i = 0; i < words && o + 1 < len; i++) {
        for (const char *s = c->words[i]; *s && o + 2 < len; s++)
            buf[o++] = (char)((*s >= 'A' && *s <= 'Z') ? *s + 32 : *s);
        if (i + 1 < words && o + 2 < len)
            buf[o++] = '|';
    }
    buf[o] = '\0';
}

/* =====================================================================
 * COMMAND: Redis's introspection, enough for redis-cli and libraries
 * ===================================================================== */

/* Is commands[i] the first entry of its top-level name? */
static bool first_of_name(size_t i)
{
    for (size_t k = 0; k < i; k++) {
        if (strcasecmp(commands[k].words[0], commands[i].words[0]) == 0)
            return false;
    }
    return true;
}

static size_t n_top_level(void)
{
    size_t n = 0;

    for (size_t i = 0; i < N_COMMANDS; i++)
        n += first_of_name(i);
    return n;
}

/* The entry of top-level command `name` with one word, if any. */
static const struct cmd *single_word(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (n_words(&commands[i]) == 1 &&
            strcasecmp(commands[i].words[0], name) == 0)
            return &commands[i];
    }
    return NULL;
}

/* Redis's arity: n = exactly n arguments (the name counted), -n = at
 * least n. A command with subcommands is -2. */
static int arity_of(const struct cmd *c)
{
    const struct cmd *one = single_word(c->words[0]);

    if (n_words(c) > 1 && (one == NULL || one != c))
        return -2;
    return c->min_argc == c->max_argc ? c->min_argc : -c->min_argc;
}

/* One COMMAND INFO item: [name, arity, [flags], first-key, last-key,
 * step, [acl categories], [tips], [key specs], [subcommands]]. */
static void command_info_item(struct rsm_resp_reply *r, const struct cmd *c)
{
    char name[64];

    cmd_name(c, 1, name, sizeof name);
    rsm_resp_add_array(r, 10);
    rsm_resp_add_cstr(r, name);
    rsm_resp_add_int(r, arity_of(c));
    rsm_resp_add_array(r, (c->flags & (CMD_NOAUTH | CMD_PUBSUB)) ? 1 : 0);
    if (c->flags & CMD_NOAUTH)
        rsm_resp_add_status(r, "no_auth");
    else if (c->flags & CMD_PUBSUB)
        rsm_resp_add_status(r, "pubsub");
    rsm_resp_add_int(r, 0);
    rsm_resp_add_int(r, 0);
    rsm_resp_add_int(r, 0);
    for (int i = 0; i < 4; i++)
        rsm_resp_add_array(r, 0);
}

static enum rsm_resp_status cmd_command(const struct call *x)
{
    rsm_resp_add_array(x->r, (long)n_top_level());
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (first_of_name(i))
            command_info_item(x->r, &commands[i]);
    }
    return RSM_RESP_DONE;
}

static enum rsm_resp_status cmd_command_count(const struct call *x)
{
    rsm_resp_add_int(x->r, (long long)n_top_level());
    return RSM_RESP_DONE;
}

static enum rsm_resp_status cmd_command_list(const struct call *x)
{
    char name[64];

    rsm_resp_add_array(x->r, (long)N_COMMANDS);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        cmd_name(&commands[i], n_words(&commands[i]), name, sizeof name);
        rsm_resp_add_cstr(x->r, name);
    }
    return RSM_RESP_DONE;
}

/* The first entry of top-level command name, NULL if unknown. */
static const struct cmd *top_level(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcasecmp(commands[i].words[0], name) == 0)
            return &commands[i];
    }
    return NULL;
}

/* Redis's command group of c's family. */
static const char *doc_group(const struct cmd *c)
{
    static const char *const connection[] = {"AUTH", "HELLO", "PING",
                                             "QUIT", "RESET", "CLIENT"};
    const char *w = c->words[0];

    if (strcasecmp(w, "SENTINEL") == 0)
        return "sentinel";
    if (strcasestr(w, "SUBSCRIBE") != NULL)
        return "pubsub";
    for (size_t i = 0; i < sizeof connection / sizeof *connection; i++) {
        if (strcasecmp(w, connection[i]) == 0)
            return "connection";
    }
    return "server";
}

/* How many entries of c's family have subcommand words. */
static long subcommands_of(const struct cmd *c)
{
    long n = 0;

    for (size_t i = 0; i < N_COMMANDS; i++)
        n += n_words(&commands[i]) > 1 &&
             strcasecmp(commands[i].words[0], c->words[0]) == 0;
    return n;
}

/* One docs map (a flat array of pairs in RESP2): summary, since, group,
 * [complexity], and for a family's top level its [subcommands], each
 * "name|sub" with its own map. */
static void doc_map(struct rsm_resp_reply *r, const struct cmd *c, int words)
{
    char name[64];
    const struct rsm_cmddoc *d;
    long subs = words == 1 ? subcommands_of(c) : 0;

    cmd_name(c, words, name, sizeof name);
    d = rsm_cmddoc_find(name);
    rsm_resp_add_array(r, 6 + (d && d->complexity ? 2 : 0) + (subs ? 2 : 0));
    rsm_resp_add_kv(r, "summary", d != NULL ? d->summary : c->help);
    rsm_resp_add_kv(r, "since", d != NULL ? d->since : "1.0.0");
    rsm_resp_add_kv(r, "group", doc_group(c));
    if (d != NULL && d->complexity != NULL)
        rsm_resp_add_kv(r, "complexity", d->complexity);
    if (subs == 0)
        return;
    rsm_resp_add_cstr(r, "subcommands");
    rsm_resp_add_array(r, 2 * subs);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const struct cmd *s = &commands[i];
        if (n_words(s) < 2 || strcasecmp(s->words[0], c->words[0]) != 0)
            continue;
        cmd_name(s, n_words(s), name, sizeof name);
        rsm_resp_add_cstr(r, name);
        doc_map(r, s, n_words(s));
    }
}

static void command_doc(struct rsm_resp_reply *r, const struct cmd *c)
{
    char name[64];

    cmd_name(c, 1, name, sizeof name);
    rsm_resp_add_cstr(r, name);
    doc_map(r, c, 1);
}

/* A flat array of name, docs pairs (RESP2's form of Redis's map). */
static enum rsm_resp_status cmd_command_docs(const struct call *x)
{
    const struct rsm_resp_request *req = x->req;
    long n = 0;

    if (req->argc == 2) {
        rsm_resp_add_array(x->r, 2 * (long)n_top_level());
        for (size_t i = 0; i < N_COMMANDS; i++) {
            if (first_of_name(i))
                command_doc(x->r, &commands[i]);
        }
        return RSM_RESP_DONE;
    }
    for (int i = 2; i < req->argc; i++)
        n += top_level(req->argv[i]) != NULL;
    rsm_resp_add_array(x->r, 2 * n);
    for (int i = 2; i < req->argc; i++) {
        const struct cmd *c = top_level(req->argv[i]);
        if (c != NULL)
            command_doc(x->r, c);
    }
    return RSM_RESP_DONE;
}

static enum rsm_resp_status cmd_command_info(const struct call *x)
{
    const struct rsm_resp_request *req = x->req;

    if (req->argc == 2)
        return cmd_command(x);
    rsm_resp_add_array(x->r, req->argc - 2);
    for (int i = 2; i < req->argc; i++) {
        const struct cmd *c = top_level(req->argv[i]);
        if (c != NULL)
            command_info_item(x->r, c);
        else
            rsm_resp_add_array(x->r, -1);
    }
    return RSM_RESP_DONE;
}

/* =====================================================================
 * Dispatch
 * ===================================================================== */

/* "ERR unknown command 'x', with args beginning with: 'a' 'b' " */
static void unknown_command(struct rsm_resp_reply *r,
                            const struct rsm_resp_request *req)
{
    char args[256] = "";
    size_t o = 0;

    for (int i = 1; i < req->argc && o < sizeof args - 1; i++) {
        int n = snprintf(args + o, sizeof args - o, "'%.64s' ", req->argv[i]);
        if (n < 0)
            break;
        o += (size_t)n;
    }
    rsm_resp_add_errorf(r,
                        "ERR unknown command '%.128s', with args beginning "
                        "with: %s",
                        req->argv[0], args);
}

/* Does some entry extend c's words (c has subcommands)? */
static bool has_subcommands(const struct cmd *c)
{
    int n = n_words(c);

    for (size_t i = 0; i < N_COMMANDS; i++) {
        const struct cmd *o = &commands[i];
        int k = 0;
        if (n_words(o) <= n)
            continue;
        while (k < n && strcasecmp(o->words[k], c->words[k]) == 0)
            k++;
        if (k == n)
            return true;
    }
    return false;
}

static void wrong_arity(struct rsm_resp_reply *r, const struct cmd *c, int n)
{
    char name[64];

    cmd_name(c, n, name, sizeof name);
    rsm_resp_add_errorf(r, "ERR wrong number of arguments for '%s' command",
                        name);
}

static void unknown_subcommand(struct rsm_resp_reply *r, const struct cmd *c,
                               const struct rsm_resp_request *req, int k)
{
    rsm_resp_add_errorf(r, "ERR unknown subcommand '%.64s'. Try %s HELP.",
                        req->argv[k], c->words[0]);
}

/* Find the command for req: the entry whose words match the most leading
 * arguments. Or answer the error (unknown command or subcommand, wrong
 * number of arguments) and return NULL. */
static const struct cmd *lookup(struct rsm_resp_reply *r,
                                const struct rsm_resp_request *req)
{
    const struct cmd *full = NULL, *part = NULL;
    int full_n = 0, part_k = 0;
    int first = tolower((unsigned char)req->argv[0][0]);

    for (size_t i = 0; i < N_COMMANDS; i++) {
        const struct cmd *c = &commands[i];
        int n = n_words(c), k = 0;
        if (tolower((unsigned char)c->words[0][0]) != first)
            continue; /* the cheap test first: this is every request */
        while (k < n && k < req->argc &&
               strcasecmp(req->argv[k], c->words[k]) == 0)
            k++;
        if (k == n && n > full_n) {
            full = c;
            full_n = n;
        } else if (k < n && k > part_k) {
            part = c;
            part_k = k;
        }
    }
    if (full != NULL) {
        if (req->argc >= full->min_argc &&
            (full->max_argc < 0 || req->argc <= full->max_argc))
            return full;
        if (req->argc > full_n && has_subcommands(full))
            unknown_subcommand(r, full, req, full_n);
        else
            wrong_arity(r, full, full_n);
        return NULL;
    }
    if (part == NULL)
        unknown_command(r, req);
    else if (req->argc <= part_k)
        wrong_arity(r, part, part_k);
    else
        unknown_subcommand(r, part, req, part_k);
    return NULL;
}

static enum rsm_resp_status on_request(void *arg, struct rsm_resp_client *c,
                                       struct rsm_resp_reply *r,
                                       const struct rsm_resp_request *req)
{
    struct rsm_api *a = arg;
    struct api_client *cl = rsm_resp_client_data(c);
    const struct cmd *cmd;
    struct call x = {a, cl, r, req};

    a->n_commands++;
    if (cl == NULL) { /* its state could not be allocated */
        rsm_resp_add_error(r, "ERR out of memory");
        rsm_resp_reply_close_after(r);
        return RSM_RESP_DONE;
    }
    if (!cl->authed && !(strcasecmp(req->argv[0], "AUTH") == 0 ||
                         strcasecmp(req->argv[0], "HELLO") == 0 ||
                         strcasecmp(req->argv[0], "QUIT") == 0)) {
        rsm_resp_add_error(r, "NOAUTH Authentication required.");
        return RSM_RESP_DONE;
    }
    cmd = lookup(r, req);
    if (cmd == NULL)
        return RSM_RESP_DONE;
    if (subscribed(cl) && !(cmd->flags & CMD_PUBSUB)) {
        rsm_resp_add_errorf(r,
                            "ERR Can't execute '%.64s': only (P|S)SUBSCRIBE / "
                            "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are "
                            "allowed in this context",
                            req->argv[0]);
        return RSM_RESP_DONE;
    }
    if ((cmd->flags & CMD_LEADER) && !a->ops->is_leader(a->node)) {
        not_leader(a, r);
        return RSM_RESP_DONE;
    }
    return cmd->fn(&x);
}

/* =====================================================================
 * Events
 * ===================================================================== */

/* After an entry is applied: store the masters given to clients in the
 * data dir when they changed (masterfile.h). Not while the log is
 * replayed up to what the file already holds. */
static void update_masters(struct rsm_api *a)
{
    const struct rsm_fsm *fsm = fsm_of(a);
    struct rsm_masterfile now;
    struct rsm_addr m;
    char err[RSM_ERRMSG_SIZE];
    bool ok = true;

    if (a->data_dir == NULL || fsm == NULL ||
        fsm->applied <= a->masters.applied)
        return;
    rsm_masterfile_init(&now);
    now.applied = fsm->applied;
    for (size_t i = 0; ok && i < fsm->n_groups; i++) {
        if (rsm_sentinel_master_addr(&fsm->groups[i], &m))
            ok = rsm_masterfile_add(&now, fsm->groups[i].name, &m) == 0;
    }
    rsm_masterfile_sort(&now);
    if (!ok || rsm_masterfile_same(&now, &a->masters)) {
        rsm_masterfile_free(&now);
        return;
    }
    if (rsm_datadir_write_masters(a->data_dir, &now, err, sizeof err) != 0)
        rsm_log(RSM_LOG_WARN, "masters-not-stored", "error=\"%s\"", err);
    rsm_masterfile_free(&a->masters);
    a->masters = now;
}

void rsm_api_node_event(struct rsm_api *a, enum rsm_node_event ev,
                        const struct rsm_entry *entry, int apply_status)
{
    if (a == NULL || a->stopping)
        return;
    rsm_events_node_event(a->events, ev, entry, apply_status);
    if (ev == RSM_NODE_APPLIED && apply_status == 0)
        update_masters(a);
}

void rsm_api_monitor_event(void *arg, const char *group, const char *name,
                           const char *detail)
{
    struct rsm_api *a = arg;

    if (a != NULL && !a->stopping)
        rsm_events_monitor_event(a->events, group, name, detail);
}

/* =====================================================================
 * Lifecycle
 * ===================================================================== */

/* The masters file of data_dir (NULL: none), if there is one: it answers
 * get-master-addr-by-name until the log is applied (masterfile.h). */
static void load_masters(struct rsm_api *a, const char *data_dir)
{
    char err[RSM_ERRMSG_SIZE];
    int rv;

    rsm_masterfile_init(&a->masters);
    if (data_dir == NULL || (a->data_dir = strdup(data_dir)) == NULL)
        return;
    rv = rsm_datadir_read_masters(data_dir, &a->masters, err, sizeof err);
    if (rv == 0)
        rsm_log(RSM_LOG_INFO, "masters-loaded", "groups=%zu applied=%" PRIu64,
                a->masters.n, a->masters.applied);
    else if (rv != RSM_ENOTFOUND)
        rsm_log(RSM_LOG_WARN, "masters-ignored", "error=\"%s\"", err);
}

int rsm_api_start_ops(uv_loop_t *loop, const struct rsm_api_config *cfg,
                      struct rsm_node *node, const struct rsm_api_node_ops *ops,
                      struct rsm_api **out, char *errmsg, size_t errlen)
{
    struct rsm_resp_handlers h = {on_request, on_connect, on_close, NULL};
    struct rsm_events_node en = {node, ops->fsm, ops->get_status};
    struct rsm_api *a = calloc(1, sizeof *a);
    int rv;

    if (a == NULL)
        return rsm_errf(RSM_ENOMEM, errmsg, errlen, "out of memory");
    a->loop = loop;
    a->node = node;
    a->ops = ops;
    a->started_ms = uv_now(loop);
    if (cfg->limits_set)
        a->limits = cfg->limits;
    else
        rsm_resp_limits_default(&a->limits);
    a->pass_len = strnlen(cfg->requirepass, sizeof cfg->requirepass - 1);
    memcpy(a->requirepass, cfg->requirepass, a->pass_len);
    a->has_pass = a->pass_len > 0;
    a->sub_limit = cfg->subscriber_output_limit
                       ? cfg->subscriber_output_limit
                       : RSM_API_DEFAULT_SUBSCRIBER_LIMIT;
    if (rsm_pubsub_create(&a->ps) != 0) {
        rv = rsm_errf(RSM_ENOMEM, errmsg, errlen, "out of memory");
        goto err_free;
    }
    load_masters(a, cfg->data_dir);
    h.arg = a;
    rv = rsm_resp_server_start(loop, &cfg->bind, &a->limits, &h, &a->srv,
                               errmsg, errlen);
    if (rv != 0)
        goto err_after_pubsub;
    if (rsm_events_start(loop, &en, a->ps, &a->events) != 0) {
        /* rare: the server is stopped and a freed from its callback */
        a->stopping = true;
        a->events = NULL;
        rsm_api_stop(a, NULL, NULL);
        return rsm_errf(RSM_ENOMEM, errmsg, errlen, "out of memory");
    }
    *out = a;
    return 0;
err_after_pubsub:
    rsm_pubsub_free(a->ps);
err_free:
    rsm_masterfile_free(&a->masters);
    free(a->data_dir);
    explicit_bzero(a->requirepass, sizeof a->requirepass);
    free(a);
    return rv;
}

/* The acting leader's view for the other agents (rsm_monitor_set_push),
 * in payloads their request limit takes (agents of a group share their
 * settings). */
static char **leaderview_push(void *arg)
{
    struct rsm_api *a = arg;
    size_t max = a->limits.max_request_bytes / 2;

    if (a->stopping || a->events == NULL)
        return NULL;
    return rsm_events_leaderview_push(
        a->events,
        max < RSM_LEADERVIEW_CHUNK_MAX ? max : RSM_LEADERVIEW_CHUNK_MAX);
}

void rsm_api_set_monitor(struct rsm_api *a, struct rsm_monitor *m)
{
    if (a->monitor != NULL && a->monitor != m)
        rsm_monitor_set_push(a->monitor, NULL, NULL, NULL);
    a->monitor = m;
    if (m != NULL)
        rsm_monitor_set_push(m, leaderview_push, rsm_events_leaderview_free, a);
    if (a->events != NULL)
        rsm_events_set_monitor(a->events, m);
}

uint16_t rsm_api_port(const struct rsm_api *a)
{
    return rsm_resp_server_port(a->srv);
}

unsigned rsm_api_clients(const struct rsm_api *a)
{
    return rsm_resp_server_clients(a->srv);
}

static void finish_stop(void *arg)
{
    struct rsm_api *a = arg;

    rsm_masterfile_free(&a->masters);
    free(a->data_dir);
    rsm_pubsub_free(a->ps);
    explicit_bzero(a->requirepass, sizeof a->requirepass);
    if (a->stop_cb)
        a->stop_cb(a->stop_arg);
    free(a);
}

static void on_server_stopped(void *arg)
{
    struct rsm_api *a = arg;

    if (a->events != NULL)
        rsm_events_stop(a->events, finish_stop, a);
    else
        finish_stop(a);
}

void rsm_api_stop(struct rsm_api *a, rsm_api_stop_cb cb, void *arg)
{
    a->stopping = true;
    a->stop_cb = cb;
    a->stop_arg = arg;
    if (a->monitor != NULL)
        rsm_monitor_set_push(a->monitor, NULL, NULL, NULL);
    a->monitor = NULL;
    while (a->forwards != NULL) { /* their replies are orphaned anyway */
        struct forward *fw = a->forwards;
        a->forwards = fw->next;
        fw->a = NULL;
        rsm_forward_cancel(fw->f);
    }
    rsm_resp_server_stop(a->srv, on_server_stopped, a);
}
