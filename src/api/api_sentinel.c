/* api_sentinel.c - the SENTINEL commands of the client port, answered
 * from the committed state and this agent's view (events.h), shaped like
 * redis-sentinel's (sentinel.h, sentinel_config.h); SENTINEL MONITOR and
 * REMOVE commit groups added and dropped through the log. */
#include "api_int.h"
#include "events.h"
#include "rsm/clock.h"
#include "rsm/err.h"
#include "rsm/log.h"
#include "sentinel.h"
#include "sentinel_config.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* =====================================================================
 * Reading the committed state
 * ===================================================================== */

/* The master the data dir's masters file gives for group `name`, while
 * the file answers (masterfile.h); false otherwise. */
static bool api__stored_master(struct rsm_api *a, const char *name,
                               struct rsm_addr *out)
{
    const struct rsm_fsm *fsm = api__fsm_of(a);
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

enum rsm_resp_status api__cmd_get_master_addr(const struct api_call *x)
{
    const struct rsm_group *g =
        rsm_fsm_group(api__fsm_of(x->a), x->req->argv[2]);
    struct rsm_addr m;

    if (!api__stored_master(x->a, x->req->argv[2], &m) &&
        (g == NULL || !rsm_sentinel_master_addr(g, &m))) {
        rsm_resp_add_array(x->r, -1);
        return RSM_RESP_DONE;
    }
    rsm_resp_add_array(x->r, 2);
    rsm_resp_add_cstr(x->r, m.host);
    rsm_resp_add_bulkf(x->r, "%u", m.port);
    return RSM_RESP_DONE;
}

/* The view of the group named by argv[2] (malloc'd), or NULL with the
 * error answered (no such group, out of memory). */
static struct rsm_sentinel_view *api__view_arg(const struct api_call *x)
{
    const struct rsm_group *g = api__group_arg(x, 2);
    struct rsm_sentinel_view *v;

    if (g == NULL)
        return NULL;
    v = malloc(sizeof *v);
    if (v == NULL) {
        rsm_resp_add_error(x->r, "ERR out of memory");
        return NULL;
    }
    rsm_events_view(x->a->events, g, v);
    return v;
}

enum rsm_resp_status api__cmd_masters(const struct api_call *x)
{
    const struct rsm_fsm *fsm = api__fsm_of(x->a);
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

enum rsm_resp_status api__cmd_master(const struct api_call *x)
{
    struct rsm_sentinel_view *v = api__view_arg(x);

    if (v != NULL && !v->has_master)
        rsm_resp_add_error(x->r, "ERR No such master with that name");
    else if (v != NULL)
        rsm_sentinel_reply_master(x->r, v);
    free(v);
    return RSM_RESP_DONE;
}

enum rsm_resp_status api__cmd_replicas(const struct api_call *x)
{
    struct rsm_sentinel_view *v = api__view_arg(x);

    if (v != NULL)
        rsm_sentinel_reply_replicas(x->r, v);
    free(v);
    return RSM_RESP_DONE;
}

/* The node's status and the knobs of the group named by argv[2]: false
 * with the error answered if there is no such group. */
static bool api__knobs_arg(const struct api_call *x, struct rsm_node_status *st,
                           struct rsm_sentinel_knobs *k)
{
    const struct rsm_group *g = api__group_arg(x, 2);

    if (g == NULL)
        return false;
    x->a->ops->get_status(x->a->node, st);
    rsm_events_knobs(x->a->events, k);
    rsm_sentinel_config_knobs(g, k);
    return true;
}

enum rsm_resp_status api__cmd_sentinels(const struct api_call *x)
{
    struct rsm_node_status st;
    struct rsm_sentinel_knobs k;

    if (!api__knobs_arg(x, &st, &k))
        return RSM_RESP_DONE;
    rsm_sentinel_reply_sentinels(x->r, &st, k.down_after_ms);
    return RSM_RESP_DONE;
}

enum rsm_resp_status api__cmd_myid(const struct api_call *x)
{
    struct rsm_node_status st;
    char id[RSM_SENTINEL_RUNID_LEN + 1];

    x->a->ops->get_status(x->a->node, &st);
    rsm_sentinel_run_id(st.id, id);
    rsm_resp_add_cstr(x->r, id);
    return RSM_RESP_DONE;
}

enum rsm_resp_status api__cmd_ckquorum(const struct api_call *x)
{
    struct rsm_node_status st;
    struct rsm_sentinel_knobs k;
    unsigned voters = 0;

    if (!api__knobs_arg(x, &st, &k))
        return RSM_RESP_DONE;
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

/* =====================================================================
 * SENTINEL FAILOVER
 * ===================================================================== */

void api__manual_done(struct rsm_resp_reply *r, int status, const char *errmsg,
                      const char *what, const char *nogood)
{
    switch (status) {
    case 0:
        rsm_resp_add_status(r, "OK");
        break;
    case RSM_ENOCANDIDATE:
        rsm_resp_add_errorf(r, "NOGOODSLAVE %s%s", nogood, errmsg);
        break;
    case RSM_EBUSY:
        rsm_resp_add_error(r, "INPROG Failover already in progress");
        break;
    default:
        rsm_resp_add_errorf(r, "ERR %s not decided: %s", what,
                            errmsg && errmsg[0] ? errmsg
                                                : rsm_strerror(status));
    }
    rsm_resp_reply_end(r);
}

void api__manual_refused(const struct api_call *x, int rv, const char *what)
{
    switch (rv) {
    case RSM_ENOTLEADER:
        api__not_leader(x->a, x->r); /* elected, barrier not committed yet */
        break;
    case RSM_ENOTFOUND:
        rsm_resp_add_error(x->r, "ERR No such master with that name");
        break;
    case RSM_EBUSY:
        rsm_resp_add_error(x->r, "INPROG Failover already in progress");
        break;
    default:
        rsm_resp_add_errorf(x->r, "ERR %s refused: %s", what, rsm_strerror(rv));
    }
}

/* Completion of SENTINEL FAILOVER: arg is the reply (maybe orphaned; the
 * API may be gone: touch nothing else). */
static void api__failover_done(void *arg, int status, const char *errmsg)
{
    api__manual_done(arg, status, errmsg, "failover",
                     "No suitable replica to promote: ");
}

/* Ask the monitor for a manual failover of g (with force, see
 * api__cmd_rsm_failover) and answer once it is decided, or now with why
 * not. */
enum rsm_resp_status api__request_failover(const struct api_call *x,
                                           const struct rsm_group *g,
                                           bool force)
{
    int rv;

    assert(g != NULL);
    if (x->a->monitor == NULL) {
        rsm_resp_add_error(x->r, "ERR this agent does not monitor Redis "
                                 "(no --monitor)");
        return RSM_RESP_DONE;
    }
    rv = rsm_monitor_request_failover(x->a->monitor, g->name, force,
                                      api__failover_done, x->r);
    if (rv == 0)
        return RSM_RESP_PENDING;
    api__manual_refused(x, rv, "failover");
    return RSM_RESP_DONE;
}

enum rsm_resp_status api__cmd_failover(const struct api_call *x)
{
    const struct rsm_group *g = api__group_arg(x, 2);

    if (g == NULL)
        return RSM_RESP_DONE;
    if (!x->a->ops->is_leader(x->a->node))
        return api__forward_failover(x, g);
    return api__request_failover(x, g, false);
}

/* =====================================================================
 * SENTINEL SET / RESET / CONFIG
 * ===================================================================== */

/* The leader proposes e for the client of x (done answers it once
 * committed); a follower passes the request on (what names it in
 * errors). */
static enum rsm_resp_status api__propose_or_forward(const struct api_call *x,
                                                    const struct rsm_entry *e,
                                                    const char *what,
                                                    rsm_node_done_cb done)
{
    if (!x->a->ops->is_leader(x->a->node))
        return api__forward_request(x, what);
    return api__propose_for_client(x, e, done);
}

/* SENTINEL SET / RESET / CONFIG (sentinel_config.h): the leader commits
 * a change through the log, a follower passes the request on. */
static enum rsm_resp_status api__commit_or_forward(void *arg,
                                                   const struct rsm_entry *e)
{
    return api__propose_or_forward(arg, e, "SENTINEL SET", api__committed_done);
}

static void api__sentinel_config_call(const struct api_call *x,
                                      struct rsm_sentinel_config_call *c)
{
    const struct rsm_fsm *fsm = api__fsm_of(x->a);
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
    c->commit = api__commit_or_forward;
    c->arg = (void *)x;
}

enum rsm_resp_status api__cmd_sentinel_set(const struct api_call *x)
{
    struct rsm_sentinel_config_call c;

    api__sentinel_config_call(x, &c);
    return rsm_sentinel_config_set(&c);
}

enum rsm_resp_status api__cmd_sentinel_reset(const struct api_call *x)
{
    struct rsm_sentinel_config_call c;

    api__sentinel_config_call(x, &c);
    return rsm_sentinel_config_reset(&c);
}

enum rsm_resp_status api__cmd_sentinel_config(const struct api_call *x)
{
    struct rsm_sentinel_config_call c;

    api__sentinel_config_call(x, &c);
    return rsm_sentinel_config_config(&c);
}

/* =====================================================================
 * SENTINEL MONITOR / REMOVE: groups added and dropped through the log
 * ===================================================================== */

/* Completion of a MonitorGroup or RemoveGroup proposed for a client: arg
 * is the reply (maybe orphaned: touch nothing else). The FSM's refusals
 * in Sentinel's words where it has them (a MONITOR or REMOVE that raced
 * with another of the same name). */
static void api__group_change_done(void *arg, int status, const char *errmsg)
{
    const char *why = errmsg && errmsg[0] ? errmsg : rsm_strerror(status);
    const char *words = NULL;

    if (status == RSM_EREJECTED &&
        strncmp(why, RSM_FSM_DUPLICATE_GROUP,
                strlen(RSM_FSM_DUPLICATE_GROUP)) == 0)
        words = "ERR Duplicated master name";
    else if (status == RSM_EREJECTED && strncmp(why, "unknown group", 13) == 0)
        words = "ERR No such master with that name";
    if (words == NULL) {
        api__committed_done(arg, status, errmsg); /* +OK, or not committed */
        return;
    }
    rsm_resp_add_error(arg, words);
    rsm_resp_reply_end(arg);
}

/* A whole number as Redis reads one (getLongLongFromObject): optional
 * sign, digits, nothing else. */
static bool api__parse_long(const char *s, long long *out)
{
    char *end;

    if (s[0] == '\0' || s[0] == ' ' || s[0] == '+')
        return false;
    errno = 0;
    *out = strtoll(s, &end, 10);
    return errno == 0 && *end == '\0';
}

/* Is a group named name here already: committed, or watched by this
 * agent's monitor (a --monitor group whose master nobody has recorded
 * yet)? */
static bool api__group_exists(const struct api_call *x, const char *name)
{
    return rsm_fsm_group(api__fsm_of(x->a), name) != NULL ||
           (x->a->monitor != NULL &&
            rsm_monitor_has_group(x->a->monitor, name));
}

/* The checks of SENTINEL MONITOR, in Sentinel's order and words where it
 * has them; 0 with e filled, or -1 with the error answered. */
static int api__parse_monitor(const struct api_call *x, struct rsm_entry *e)
{
    const char *name = x->req->argv[2];
    long long quorum, port;
    char err[RSM_ERRMSG_SIZE];
    size_t watched;

    if (!api__parse_long(x->req->argv[5], &quorum)) {
        rsm_resp_add_error(x->r, "ERR Invalid quorum");
        return -1;
    }
    if (!api__parse_long(x->req->argv[4], &port)) {
        rsm_resp_add_error(x->r, "ERR Invalid port");
        return -1;
    }
    if (quorum <= 0) {
        rsm_resp_add_error(x->r, "ERR Quorum must be 1 or greater.");
        return -1;
    }
    if (quorum > RSM_GROUPCONF_QUORUM_MAX) {
        rsm_resp_add_errorf(x->r,
                            "ERR Invalid quorum: at most %d (the agents of a "
                            "group)",
                            RSM_GROUPCONF_QUORUM_MAX);
        return -1;
    }
    if (port <= 0 || port > 65535) {
        rsm_resp_add_error(x->r, "ERR Invalid port number");
        return -1;
    }
    rsm_entry_init(e, RSM_ENTRY_MONITOR_GROUP, name, rsm_clock_wall_ms());
    if (rsm_addr_set(&e->master, x->req->argv[3], (long)port, NULL, 0) != 0) {
        rsm_resp_add_error(x->r, "ERR Invalid IP address specified");
        return -1;
    }
    if (rsm_monitor_check_group_name(name, err, sizeof err) != 0) {
        rsm_resp_add_errorf(x->r, "ERR Invalid master name: %s", err);
        return -1;
    }
    if (api__group_exists(x, name)) {
        rsm_resp_add_error(x->r, "ERR Duplicated master name");
        return -1;
    }
    watched = x->a->monitor != NULL
                  ? rsm_monitor_get_config(x->a->monitor)->n_groups
                  : 0;
    if (watched >= RSM_MAX_GROUPS) {
        rsm_resp_add_errorf(x->r,
                            "ERR this agent watches %d groups already (at "
                            "most %d)",
                            RSM_MAX_GROUPS, RSM_MAX_GROUPS);
        return -1;
    }
    e->settings.quorum = (unsigned)quorum;
    return 0;
}

/* SENTINEL MONITOR <name> <ip> <port> <quorum>: a MonitorGroup through
 * the log (any agent takes it: a follower checks it, then passes it on);
 * +OK once committed, and every agent watches the group from then on. */
static enum rsm_resp_status api__sentinel_add(const struct api_call *x)
{
    struct rsm_entry *e = malloc(sizeof *e); /* large: off the stack */
    enum rsm_resp_status st = RSM_RESP_DONE;
    char a[RSM_ADDR_STRLEN];

    if (e == NULL) {
        rsm_resp_add_error(x->r, "ERR out of memory");
        return RSM_RESP_DONE;
    }
    if (api__parse_monitor(x, e) == 0) {
        rsm_log(RSM_LOG_INFO, "sentinel-monitor-requested",
                "group=%s master=%s quorum=%u", e->group,
                rsm_addr_format(&e->master, a, sizeof a), e->settings.quorum);
        st = api__propose_or_forward(x, e, "SENTINEL MONITOR",
                                     api__group_change_done);
    }
    free(e);
    return st;
}

/* SENTINEL REMOVE <name>: a RemoveGroup through the log, like MONITOR. */
static enum rsm_resp_status api__sentinel_remove(const struct api_call *x)
{
    const struct rsm_group *g = api__group_arg(x, 2);
    struct rsm_entry *e;
    enum rsm_resp_status st;

    if (g == NULL)
        return RSM_RESP_DONE;
    e = malloc(sizeof *e);
    if (e == NULL) {
        rsm_resp_add_error(x->r, "ERR out of memory");
        return RSM_RESP_DONE;
    }
    rsm_entry_init(e, RSM_ENTRY_REMOVE_GROUP, g->name, rsm_clock_wall_ms());
    rsm_log(RSM_LOG_INFO, "sentinel-remove-requested", "group=%s%s", g->name,
            g->added ? "" : " from=--monitor");
    st = api__propose_or_forward(x, e, "SENTINEL REMOVE",
                                 api__group_change_done);
    free(e);
    return st;
}

/* The command table sends both here (api_dispatch.c). */
enum rsm_resp_status api__cmd_sentinel_monitor(const struct api_call *x)
{
    if (strcasecmp(x->req->argv[1], "REMOVE") == 0)
        return api__sentinel_remove(x);
    return api__sentinel_add(x);
}
