/* api_sentinel.c - the SENTINEL commands of the client port, answered
 * from the committed state and this agent's view (events.h), shaped like
 * redis-sentinel's (sentinel.h, sentinel_config.h). */
#include "api_int.h"
#include "events.h"
#include "rsm/err.h"
#include "rsm/log.h"
#include "sentinel.h"
#include "sentinel_config.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The view of g (malloc'd; NULL and an error answered if out of
 * memory). */
static struct rsm_sentinel_view *api__view_of(const struct api_call *x,
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
    const struct rsm_group *g = api__group_arg(x, 2);
    struct rsm_sentinel_view *v = g ? api__view_of(x, g) : NULL;

    if (v != NULL && !v->has_master)
        rsm_resp_add_error(x->r, "ERR No such master with that name");
    else if (v != NULL)
        rsm_sentinel_reply_master(x->r, v);
    free(v);
    return RSM_RESP_DONE;
}

enum rsm_resp_status api__cmd_replicas(const struct api_call *x)
{
    const struct rsm_group *g = api__group_arg(x, 2);
    struct rsm_sentinel_view *v = g ? api__view_of(x, g) : NULL;

    if (v != NULL)
        rsm_sentinel_reply_replicas(x->r, v);
    free(v);
    return RSM_RESP_DONE;
}

enum rsm_resp_status api__cmd_sentinels(const struct api_call *x)
{
    struct rsm_node_status st;
    struct rsm_sentinel_knobs k;
    const struct rsm_group *g = api__group_arg(x, 2);

    if (g == NULL)
        return RSM_RESP_DONE;
    x->a->ops->get_status(x->a->node, &st);
    rsm_events_knobs(x->a->events, &k);
    rsm_sentinel_config_knobs(g, &k);
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
    const struct rsm_group *g = api__group_arg(x, 2);

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

/* =====================================================================
 * SENTINEL FAILOVER
 * ===================================================================== */

/* Completion of SENTINEL FAILOVER: arg is the reply (maybe orphaned; the
 * API may be gone: touch nothing else). */
static void api__failover_done(void *arg, int status, const char *errmsg)
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
    switch (rv) {
    case 0:
        return RSM_RESP_PENDING;
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
        rsm_resp_add_errorf(x->r, "ERR failover refused: %s", rsm_strerror(rv));
    }
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
 * SENTINEL SET / RESET / CONFIG / MONITOR
 * ===================================================================== */

/* SENTINEL SET / RESET / CONFIG (sentinel_config.h): the leader commits
 * a change through the log, a follower passes the request on. */
static enum rsm_resp_status api__commit_or_forward(void *arg,
                                                   const struct rsm_entry *e)
{
    const struct api_call *x = arg;

    if (!x->a->ops->is_leader(x->a->node))
        return api__forward_request(x, "SENTINEL SET");
    return api__propose_for_client(x, e);
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

enum rsm_resp_status api__cmd_sentinel_monitor(const struct api_call *x)
{
    struct rsm_sentinel_config_call c;

    api__sentinel_config_call(x, &c);
    return rsm_sentinel_config_monitor(&c);
}
