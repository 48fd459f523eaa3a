/* api.c - the agent's command table on the RESP server (see api.h). */
#include "rsm/api.h"
#include "rsm/entry.h"
#include "rsm/err.h"
#include "rsm/log.h"

#include <jansson.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct rsm_api {
    uv_loop_t *loop;
    struct rsm_resp_server *srv;
    struct rsm_node *node;
    const struct rsm_api_node_ops *ops;
    struct rsm_monitor *monitor; /* for RSM VIEWS; NULL if none */
    uint64_t started_ms;         /* uv_now() at start */
    rsm_api_stop_cb stop_cb;
    void *stop_arg;
};

/* =====================================================================
 * Rendering: INFO
 * ===================================================================== */

/* A growing text buffer; `oom` makes every later append a no-op. */
struct text {
    char *s;
    size_t len, cap;
    bool oom;
};

static void tprintf(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void tprintf(struct text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (t->oom)
        return;
    for (;;) {
        size_t room = t->cap - t->len;
        va_start(ap, fmt);
        n = vsnprintf(t->s ? t->s + t->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->oom = true;
            return;
        }
        if ((size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap * 2 : 512;
        while (cap < t->len + (size_t)n + 1)
            cap *= 2;
        char *s = realloc(t->s, cap);
        if (s == NULL) {
            t->oom = true;
            return;
        }
        t->s = s;
        t->cap = cap;
    }
}

static char *tfinish(struct text *t)
{
    if (t->oom) {
        free(t->s);
        return NULL;
    }
    if (t->s == NULL)
        return strdup("");
    return t->s;
}

/* "host:port", or "" for an unset address (port 0). */
static const char *fmt_addr(const struct rsm_addr *a, char *buf, size_t len)
{
    if (a->port == 0 || a->host[0] == '\0') {
        buf[0] = '\0';
        return buf;
    }
    return rsm_addr_format(a, buf, len);
}

static bool is_leader_member(const struct rsm_node_status *st,
                             const struct rsm_member *m)
{
    return st->has_leader && st->leader.id == m->id;
}

static void info_server(struct text *t, const struct rsm_api_server_info *si)
{
    tprintf(t, "# Server\r\n");
    tprintf(t, "rsm_version:%s\r\n", si->version ? si->version : "");
    tprintf(t, "tcp_port:%u\r\n", si->port);
    tprintf(t, "uptime_in_seconds:%" PRIu64 "\r\n", si->uptime_s);
    tprintf(t, "uptime_in_days:%" PRIu64 "\r\n", si->uptime_s / 86400);
}

static void info_raft(struct text *t, const struct rsm_node_status *st)
{
    char a1[RSM_ADDR_STRLEN], a2[RSM_ADDR_STRLEN];

    tprintf(t, "# Raft\r\n");
    tprintf(t, "raft_id:%" PRIu64 "\r\n", st->id);
    tprintf(t, "raft_role:%s\r\n", st->state ? st->state : "unavailable");
    tprintf(t, "raft_term:%" PRIu64 "\r\n", st->term);
    tprintf(t, "raft_leader_id:%" PRIu64 "\r\n",
            st->has_leader ? st->leader.id : 0);
    tprintf(t, "raft_leader_addr:%s\r\n",
            st->has_leader ? fmt_addr(&st->leader.raft, a1, sizeof a1) : "");
    tprintf(t, "raft_leader_api:%s\r\n",
            st->has_leader ? fmt_addr(&st->leader.api, a2, sizeof a2) : "");
    tprintf(t, "raft_commit_index:%" PRIu64 "\r\n", st->commit_index);
    tprintf(t, "raft_applied_index:%" PRIu64 "\r\n", st->applied_index);
    tprintf(t, "raft_last_index:%" PRIu64 "\r\n", st->last_index);
    tprintf(t, "raft_leader_changes:%" PRIu64 "\r\n", st->leader_changes);
    tprintf(t, "raft_members:%u\r\n", st->n_members);
    for (unsigned i = 0; i < st->n_members && i < RSM_MAX_AGENTS; i++) {
        const struct rsm_member *m = &st->members[i];
        tprintf(t,
                "member%u:id=%" PRIu64 ",raft=%s,api=%s,voter=%d,"
                "leader=%d\r\n",
                i, m->id, fmt_addr(&m->raft, a1, sizeof a1),
                fmt_addr(&m->api, a2, sizeof a2), m->voter ? 1 : 0,
                is_leader_member(st, m) ? 1 : 0);
    }
}

static void info_groups(struct text *t, const struct rsm_fsm *fsm)
{
    char a[RSM_ADDR_STRLEN];
    size_t n = fsm ? fsm->n_groups : 0;

    tprintf(t, "# Groups\r\n");
    tprintf(t, "groups:%zu\r\n", n);
    tprintf(t, "fsm_applied:%" PRIu64 "\r\n", fsm ? fsm->applied : 0);
    tprintf(t, "fsm_rejected:%" PRIu64 "\r\n", fsm ? fsm->rejected : 0);
    for (size_t i = 0; i < n; i++) {
        const struct rsm_group *g = &fsm->groups[i];
        tprintf(t,
                "group%zu:name=%s,master=%s,epoch=%" PRIu64 ",paused=%d,"
                "in_flight=%d\r\n",
                i, g->name,
                g->has_master ? fmt_addr(&g->master, a, sizeof a) : "",
                g->epoch, g->paused ? 1 : 0, g->in_flight ? 1 : 0);
    }
}

char *rsm_api_render_info(const struct rsm_node_status *st,
                          const struct rsm_fsm *fsm,
                          const struct rsm_api_server_info *si,
                          const char *section)
{
    struct text t = {0};
    bool all = section == NULL || section[0] == '\0' ||
               strcasecmp(section, "default") == 0 ||
               strcasecmp(section, "all") == 0 ||
               strcasecmp(section, "everything") == 0;
    bool first = true;

    if (all || strcasecmp(section, "server") == 0) {
        info_server(&t, si);
        first = false;
    }
    if (all || strcasecmp(section, "raft") == 0) {
        if (!first)
            tprintf(&t, "\r\n");
        info_raft(&t, st);
        first = false;
    }
    if (all || strcasecmp(section, "groups") == 0) {
        if (!first)
            tprintf(&t, "\r\n");
        info_groups(&t, fsm);
    }
    return tfinish(&t);
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

    return json_string(fmt_addr(a, buf, sizeof buf));
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
 * Commands
 * ===================================================================== */

typedef enum rsm_resp_status (*cmd_fn)(struct rsm_api *a,
                                       struct rsm_resp_reply *r,
                                       const struct rsm_resp_request *req);

/* One command: up to three words ("RSM", "MEMBER", "ADD"); the argument
 * counts include the words. */
struct cmd {
    const char *words[3];
    int min_argc, max_argc; /* max -1: no limit */
    bool leader;            /* only the leader can do it */
    const char *help;
    cmd_fn fn;
};

static void server_info(const struct rsm_api *a, struct rsm_api_server_info *si)
{
    si->version = RSM_VERSION;
    si->uptime_s = (uv_now(a->loop) - a->started_ms) / 1000;
    si->port = rsm_resp_server_port(a->srv);
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

static enum rsm_resp_status cmd_ping(struct rsm_api *a,
                                     struct rsm_resp_reply *r,
                                     const struct rsm_resp_request *req)
{
    if (req->argc == 2)
        rsm_resp_add_bulk(r, req->argv[1], req->argvlen[1]);
    else
        rsm_resp_add_status(r, "PONG");
    return RSM_RESP_DONE;
}

static enum rsm_resp_status cmd_info(struct rsm_api *a,
                                     struct rsm_resp_reply *r,
                                     const struct rsm_resp_request *req)
{
    struct rsm_node_status st;
    struct rsm_api_server_info si;
    char *text;

    a->ops->get_status(a->node, &st);
    server_info(a, &si);
    text = rsm_api_render_info(&st, a->ops->fsm(a->node), &si,
                               req->argc > 1 ? req->argv[1] : NULL);
    if (text == NULL) {
        rsm_resp_add_error(r, "ERR out of memory");
        return RSM_RESP_DONE;
    }
    rsm_resp_add_verbatim(r, "txt", text, strlen(text));
    free(text);
    return RSM_RESP_DONE;
}

static enum rsm_resp_status cmd_status(struct rsm_api *a,
                                       struct rsm_resp_reply *r,
                                       const struct rsm_resp_request *req)
{
    struct rsm_node_status st;
    struct rsm_api_server_info si;
    char *json;

    a->ops->get_status(a->node, &st);
    server_info(a, &si);
    json = rsm_api_render_status(&st, a->ops->fsm(a->node), &si);
    if (json == NULL) {
        rsm_resp_add_error(r, "ERR out of memory");
        return RSM_RESP_DONE;
    }
    rsm_resp_add_cstr(r, json);
    free(json);
    return RSM_RESP_DONE;
}

static enum rsm_resp_status cmd_members(struct rsm_api *a,
                                        struct rsm_resp_reply *r,
                                        const struct rsm_resp_request *req)
{
    struct rsm_node_status st;
    char buf[RSM_ADDR_STRLEN];

    a->ops->get_status(a->node, &st);
    rsm_resp_add_array(r, st.n_members);
    for (unsigned i = 0; i < st.n_members && i < RSM_MAX_AGENTS; i++) {
        const struct rsm_member *m = &st.members[i];
        rsm_resp_add_array(r, 5);
        rsm_resp_add_int(r, (long long)m->id);
        rsm_resp_add_cstr(r, fmt_addr(&m->raft, buf, sizeof buf));
        rsm_resp_add_cstr(r, fmt_addr(&m->api, buf, sizeof buf));
        rsm_resp_add_int(r, m->voter ? 1 : 0);
        rsm_resp_add_int(r, is_leader_member(&st, m) ? 1 : 0);
    }
    return RSM_RESP_DONE;
}

/* A member id: decimal, 1..UINT64_MAX, nothing else. */
static bool parse_id(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (s[0] < '0' || s[0] > '9')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0)
        return false;
    *out = v;
    return true;
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

static enum rsm_resp_status cmd_member_add(struct rsm_api *a,
                                           struct rsm_resp_reply *r,
                                           const struct rsm_resp_request *req)
{
    struct rsm_node_status st;
    struct rsm_member m = {0};
    char err[RSM_ERRMSG_SIZE] = "";
    uint64_t id;
    int rv;

    if (!parse_id(req->argv[3], &id)) {
        rsm_resp_add_errorf(r, "ERR invalid member id '%s'", req->argv[3]);
        return RSM_RESP_DONE;
    }
    if (a->ops->parse_member_addr(req->argv[4], rsm_resp_server_port(a->srv),
                                  &m, err, sizeof err) != 0) {
        rsm_resp_add_errorf(r, "ERR invalid member address '%s': %s",
                            req->argv[4], err);
        return RSM_RESP_DONE;
    }
    m.id = id;
    m.voter = true;
    a->ops->get_status(a->node, &st);
    if (has_member(&st, id)) {
        rsm_resp_add_errorf(r, "ERR member %" PRIu64 " already exists", id);
        return RSM_RESP_DONE;
    }
    rsm_log(RSM_LOG_INFO, "member-add-requested", "id=%" PRIu64 " addr=%s", id,
            req->argv[4]);
    rv = a->ops->add_member(a->node, &m, membership_done, r);
    if (rv != 0) {
        membership_refused(a, r, rv);
        return RSM_RESP_DONE;
    }
    return RSM_RESP_PENDING;
}

static enum rsm_resp_status
cmd_member_remove(struct rsm_api *a, struct rsm_resp_reply *r,
                  const struct rsm_resp_request *req)
{
    struct rsm_node_status st;
    uint64_t id;
    int rv;

    if (!parse_id(req->argv[3], &id)) {
        rsm_resp_add_errorf(r, "ERR invalid member id '%s'", req->argv[3]);
        return RSM_RESP_DONE;
    }
    a->ops->get_status(a->node, &st);
    if (!has_member(&st, id)) {
        rsm_resp_add_errorf(r, "ERR no member %" PRIu64, id);
        return RSM_RESP_DONE;
    }
    rsm_log(RSM_LOG_INFO, "member-remove-requested", "id=%" PRIu64, id);
    rv = a->ops->remove_member(a->node, id, membership_done, r);
    if (rv != 0) {
        membership_refused(a, r, rv);
        return RSM_RESP_DONE;
    }
    return RSM_RESP_PENDING;
}

static enum rsm_resp_status cmd_help(struct rsm_api *a,
                                     struct rsm_resp_reply *r,
                                     const struct rsm_resp_request *req);

static enum rsm_resp_status cmd_views(struct rsm_api *a,
                                      struct rsm_resp_reply *r,
                                      const struct rsm_resp_request *req)
{
    struct rsm_agent_view views[RSM_MAX_GROUPS];
    const char *groups[RSM_MAX_GROUPS];
    size_t n = 0;

    if (a->monitor != NULL)
        n = rsm_monitor_views(a->monitor, views, groups, RSM_MAX_GROUPS);
    rsm_resp_add_array(r, (long)n);
    for (size_t i = 0; i < n; i++) {
        rsm_resp_add_array(r, 5);
        rsm_resp_add_cstr(r, groups[i]);
        rsm_resp_add_cstr(r, views[i].master.host);
        rsm_resp_add_int(r, views[i].master.port);
        rsm_resp_add_cstr(r, rsm_health_state_str(views[i].state));
        rsm_resp_add_int(r, views[i].no_reply_ms);
    }
    return RSM_RESP_DONE;
}

static enum rsm_resp_status
cmd_get_master_addr(struct rsm_api *a, struct rsm_resp_reply *r,
                    const struct rsm_resp_request *req)
{
    const struct rsm_group *g =
        rsm_fsm_group(a->ops->fsm(a->node), req->argv[2]);

    if (g == NULL || !g->has_master) {
        rsm_resp_add_array(r, -1);
        return RSM_RESP_DONE;
    }
    rsm_resp_add_array(r, 2);
    rsm_resp_add_cstr(r, g->master.host);
    rsm_resp_add_bulkf(r, "%u", g->master.port);
    return RSM_RESP_DONE;
}

static const struct cmd commands[] = {
    {{"PING"}, 1, 2, false, "PING [message]", cmd_ping},
    {{"INFO"}, 1, 2, false, "INFO [server|raft|groups|all]", cmd_info},
    {{"RSM", "STATUS"}, 2, 2, false, "RSM STATUS -- JSON status", cmd_status},
    {{"RSM", "MEMBERS"}, 2, 2, false, "RSM MEMBERS", cmd_members},
    {{"RSM", "MEMBER", "ADD"},
     5,
     5,
     true,
     "RSM MEMBER ADD <id> <host:port[/apiport]> -- leader only",
     cmd_member_add},
    {{"RSM", "MEMBER", "REMOVE"},
     4,
     4,
     true,
     "RSM MEMBER REMOVE <id> -- leader only",
     cmd_member_remove},
    {{"RSM", "VIEWS"},
     2,
     2,
     false,
     "RSM VIEWS -- this agent's view of "
     "each master",
     cmd_views},
    {{"SENTINEL", "GET-MASTER-ADDR-BY-NAME"},
     3,
     3,
     false,
     "SENTINEL GET-MASTER-ADDR-BY-NAME <group>",
     cmd_get_master_addr},
    {{"RSM", "HELP"}, 2, 2, false, "RSM HELP", cmd_help},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static enum rsm_resp_status cmd_help(struct rsm_api *a,
                                     struct rsm_resp_reply *r,
                                     const struct rsm_resp_request *req)
{
    rsm_resp_add_array(r, (long)N_COMMANDS);
    for (size_t i = 0; i < N_COMMANDS; i++)
        rsm_resp_add_status(r, commands[i].help);
    return RSM_RESP_DONE;
}

static int n_words(const struct cmd *c)
{
    int n = 0;

    while (n < 3 && c->words[n] != NULL)
        n++;
    return n;
}

/* "rsm|member|add", lowercase, as Redis names subcommands in errors. */
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

/* "ERR unknown command 'x', with args beginning with: 'a' 'b' " */
static void unknown_command(struct rsm_resp_reply *r,
                            const struct rsm_resp_request *req)
{
    char args[256] = "";
    size_t o = 0;

    for (int i = 1; i < req->argc && o < sizeof args - 1; i++) {
        int n =
            snprintf(args + o, sizeof args - o, "'%.*s' ", 64, req->argv[i]);
        if (n < 0)
            break;
        o += (size_t)n;
    }
    rsm_resp_add_errorf(r,
                        "ERR unknown command '%.*s', with args beginning "
                        "with: %s",
                        128, req->argv[0], args);
}

/* Find the command for req, or answer the error (unknown command or
 * subcommand, wrong number of arguments) and return NULL. */
static const struct cmd *lookup(struct rsm_resp_reply *r,
                                const struct rsm_resp_request *req)
{
    const struct cmd *best = NULL;
    int best_k = 0;
    char name[64];

    for (size_t i = 0; i < N_COMMANDS; i++) {
        const struct cmd *c = &commands[i];
        int n = n_words(c), k = 0;
        while (k < n && k < req->argc &&
               strcasecmp(req->argv[k], c->words[k]) == 0)
            k++;
        if (k == n) {
            if (req->argc >= c->min_argc &&
                (c->max_argc < 0 || req->argc <= c->max_argc))
                return c;
            cmd_name(c, n, name, sizeof name);
            rsm_resp_add_errorf(r,
                                "ERR wrong number of arguments for '%s' "
                                "command",
                                name);
            return NULL;
        }
        if (k > best_k) {
            best = c;
            best_k = k;
        }
    }
    if (best == NULL) {
        unknown_command(r, req);
        return NULL;
    }
    cmd_name(best, best_k, name, sizeof name);
    if (req->argc <= best_k)
        rsm_resp_add_errorf(r, "ERR wrong number of arguments for '%s' command",
                            name);
    else
        rsm_resp_add_errorf(r, "ERR unknown subcommand '%.*s'. Try RSM HELP.",
                            64, req->argv[best_k]);
    return NULL;
}

static enum rsm_resp_status on_request(void *arg, struct rsm_resp_client *c,
                                       struct rsm_resp_reply *r,
                                       const struct rsm_resp_request *req)
{
    struct rsm_api *a = arg;
    const struct cmd *cmd = lookup(r, req);

    (void)c;
    if (cmd == NULL)
        return RSM_RESP_DONE;
    if (cmd->leader && !a->ops->is_leader(a->node)) {
        not_leader(a, r);
        return RSM_RESP_DONE;
    }
    return cmd->fn(a, r, req);
}

/* =====================================================================
 * Lifecycle
 * ===================================================================== */

int rsm_api_start_ops(uv_loop_t *loop, const struct rsm_api_config *cfg,
                      struct rsm_node *node, const struct rsm_api_node_ops *ops,
                      struct rsm_api **out, char *errmsg, size_t errlen)
{
    struct rsm_resp_handlers h = {.on_request = on_request};
    struct rsm_api *a = calloc(1, sizeof *a);
    int rv;

    if (a == NULL)
        return rsm_errf(RSM_ENOMEM, errmsg, errlen, "out of memory");
    a->loop = loop;
    a->node = node;
    a->ops = ops;
    a->started_ms = uv_now(loop);
    h.arg = a;
    rv = rsm_resp_server_start(loop, &cfg->bind,
                               cfg->limits_set ? &cfg->limits : NULL, &h,
                               &a->srv, errmsg, errlen);
    if (rv != 0) {
        free(a);
        return rv;
    }
    *out = a;
    return 0;
}

void rsm_api_set_monitor(struct rsm_api *a, struct rsm_monitor *m)
{
    a->monitor = m;
}

uint16_t rsm_api_port(const struct rsm_api *a)
{
    return rsm_resp_server_port(a->srv);
}

static void on_server_stopped(void *arg)
{
    struct rsm_api *a = arg;

    if (a->stop_cb)
        a->stop_cb(a->stop_arg);
    free(a);
}

void rsm_api_stop(struct rsm_api *a, rsm_api_stop_cb cb, void *arg)
{
    a->stop_cb = cb;
    a->stop_arg = arg;
    rsm_resp_server_stop(a->srv, on_server_stopped, a);
}
