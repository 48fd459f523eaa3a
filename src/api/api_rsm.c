/* api_rsm.c - the RSM commands of the client port: status, members and
 * membership changes, views, history, advertised ports, pause/resume,
 * failover with FORCE and switchover. */
#include "api_int.h"
#include "events.h"
#include "rsm/clock.h"
#include "rsm/err.h"
#include "rsm/log.h"
#include "rsm/monitor_status.h"
#include "rsm/textbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* =====================================================================
 * Status and members
 * ===================================================================== */

enum rsm_resp_status api__cmd_status(const struct api_call *x)
{
    struct rsm_node_status st;
    struct rsm_api_server_info si;
    char *json;

    x->a->ops->get_status(x->a->node, &st);
    api__server_info(x->a, &si);
    json = rsm_api_render_status(&st, api__fsm_of(x->a), &si);
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

enum rsm_resp_status api__cmd_members(const struct api_call *x)
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
        rsm_resp_add_int(x->r, api__is_leader_member(&st, m) ? 1 : 0);
    }
    return RSM_RESP_DONE;
}

/* A member id (rsm_member_id_parse) from a whole argument. */
static bool api__parse_id(const char *s, uint64_t *out)
{
    return rsm_member_id_parse(s, strlen(s), out) == 0;
}

static bool api__has_member(const struct rsm_node_status *st, uint64_t id)
{
    for (unsigned i = 0; i < st->n_members && i < RSM_MAX_AGENTS; i++)
        if (st->members[i].id == id)
            return true;
    return false;
}

/* Completion of something proposed for a client: arg is the reply (maybe
 * orphaned, maybe after the API is gone: touch nothing else); +OK, or
 * "-ERR <failed>: <why>". */
static void api__reply_outcome(void *arg, int status, const char *errmsg,
                               const char *failed)
{
    struct rsm_resp_reply *r = arg;

    if (status == 0)
        rsm_resp_add_status(r, "OK");
    else
        rsm_resp_add_errorf(r, "ERR %s: %s", failed,
                            errmsg && errmsg[0] ? errmsg
                                                : rsm_strerror(status));
    rsm_resp_reply_end(r);
}

/* Completion of a membership change (api__reply_outcome). */
static void api__membership_done(void *arg, int status, const char *errmsg)
{
    api__reply_outcome(arg, status, errmsg, "membership change failed");
}

/* The node refused to start the change. */
static void api__membership_refused(struct rsm_api *a, struct rsm_resp_reply *r,
                                    int rv)
{
    switch (rv) {
    case RSM_ENOTLEADER:
        api__not_leader(a, r);
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

enum rsm_resp_status api__cmd_member_add(const struct api_call *x)
{
    struct rsm_api *a = x->a;
    const struct rsm_resp_request *req = x->req;
    struct rsm_node_status st;
    struct rsm_member m = {0};
    char err[RSM_ERRMSG_SIZE] = "";
    uint64_t id;
    int rv;

    if (!api__parse_id(req->argv[3], &id)) {
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
    if (api__has_member(&st, id)) {
        rsm_resp_add_errorf(x->r, "ERR member %" PRIu64 " already exists", id);
        return RSM_RESP_DONE;
    }
    rsm_log(RSM_LOG_INFO, "member-add-requested", "id=%" PRIu64 " addr=%s", id,
            req->argv[4]);
    rv = a->ops->add_member(a->node, &m, api__membership_done, x->r);
    if (rv != 0) {
        api__membership_refused(a, x->r, rv);
        return RSM_RESP_DONE;
    }
    return RSM_RESP_PENDING;
}

enum rsm_resp_status api__cmd_member_remove(const struct api_call *x)
{
    struct rsm_api *a = x->a;
    struct rsm_node_status st;
    uint64_t id;
    int rv;

    if (!api__parse_id(x->req->argv[3], &id)) {
        rsm_resp_add_errorf(x->r, "ERR invalid member id '%.64s'",
                            x->req->argv[3]);
        return RSM_RESP_DONE;
    }
    a->ops->get_status(a->node, &st);
    if (!api__has_member(&st, id)) {
        rsm_resp_add_errorf(x->r, "ERR no member %" PRIu64, id);
        return RSM_RESP_DONE;
    }
    rsm_log(RSM_LOG_INFO, "member-remove-requested", "id=%" PRIu64, id);
    rv = a->ops->remove_member(a->node, id, api__membership_done, x->r);
    if (rv != 0) {
        api__membership_refused(a, x->r, rv);
        return RSM_RESP_DONE;
    }
    return RSM_RESP_PENDING;
}

/* =====================================================================
 * Views and history
 * ===================================================================== */

/* RSM LEADERVIEW <payload>: the acting leader's view of the instances,
 * pushed to every other agent (monitor.c, leaderview.h). Taken only from
 * this agent's leader in its term; +OK, or an error saying why not. */
enum rsm_resp_status api__cmd_leaderview(const struct api_call *x)
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

enum rsm_resp_status api__cmd_views(const struct api_call *x)
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
     * the member it meant to ask (see monitor_views.c, monitor__views_cb).
     * Leaders from before identities skip an element that is not 5 long. */
    x->a->ops->get_status(x->a->node, &st);
    rsm_resp_add_array(x->r, (long)n + 1);
    rsm_resp_add_array(x->r, 4);
    rsm_resp_add_kv_int(x->r, "agent", (long long)st.id);
    rsm_resp_add_kv(x->r, "cluster", api__fsm_of(x->a)->cluster_id);
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

static void api__history_item(struct rsm_resp_reply *r,
                              const struct rsm_group *g,
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

static unsigned api__n_history(const struct rsm_group *g)
{
    return g->n_history < RSM_HISTORY_MAX ? g->n_history : RSM_HISTORY_MAX;
}

enum rsm_resp_status api__cmd_history(const struct api_call *x)
{
    const struct rsm_fsm *fsm = api__fsm_of(x->a);
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
            n += api__n_history(&fsm->groups[i]);
    }
    rsm_resp_add_array(x->r, n);
    for (size_t i = 0; fsm && i < fsm->n_groups; i++) {
        const struct rsm_group *g = &fsm->groups[i];
        if (one != NULL && one != g)
            continue;
        for (unsigned k = 0; k < api__n_history(g); k++)
            api__history_item(x->r, g, &g->history[k]);
    }
    return RSM_RESP_DONE;
}

/* =====================================================================
 * Proposals: advertise, pause, resume
 * ===================================================================== */

/* Completion of an entry proposed for a client (RSM PAUSE/RESUME/
 * ADVERTISE, SENTINEL SET/RESET/CONFIG; api__reply_outcome). */
void api__committed_done(void *arg, int status, const char *errmsg)
{
    api__reply_outcome(arg, status, errmsg, "not committed");
}

/* Propose e for the client of x: done answers once committed (or refused
 * now: -NOTLEADER, or why it was not proposed). */
enum rsm_resp_status api__propose_for_client(const struct api_call *x,
                                             const struct rsm_entry *e,
                                             rsm_node_done_cb done)
{
    int rv = x->a->ops->propose(x->a->node, e, done, x->r);

    if (rv == RSM_ENOTLEADER) {
        api__not_leader(x->a, x->r);
        return RSM_RESP_DONE;
    }
    if (rv != 0) {
        rsm_resp_add_errorf(x->r, "ERR not proposed: %s", rsm_strerror(rv));
        return RSM_RESP_DONE;
    }
    return RSM_RESP_PENDING;
}

/* "-" or "" for none, else host:port. */
static bool api__parse_opt_addr(const char *s, struct rsm_addr *out)
{
    memset(out, 0, sizeof *out);
    return strcmp(s, "-") == 0 || rsm_addr_parse(s, out, NULL, 0) == 0;
}

/* RSM ADVERTISE <id> <cluster-id|-> <api host:port> <http host:port|->:
 * an agent tells the leader where its ports are (src/raft/advertise.c). The
 * leader records it through the log (AdvertiseAgent) for a member of the
 * Raft configuration whose cluster id, if it knows one, is the group's. */
enum rsm_resp_status api__cmd_advertise(const struct api_call *x)
{
    const struct rsm_fsm *fsm = api__fsm_of(x->a);
    const char *cid = x->req->argv[3];
    struct rsm_node_status st;
    struct rsm_entry e;
    uint64_t id;

    rsm_entry_init(&e, RSM_ENTRY_ADVERTISE_AGENT, NULL, rsm_clock_wall_ms());
    if (!api__parse_id(x->req->argv[2], &id) ||
        !api__parse_opt_addr(x->req->argv[4], &e.api) || e.api.port == 0 ||
        !api__parse_opt_addr(x->req->argv[5], &e.http)) {
        rsm_resp_add_error(x->r, "ERR usage: RSM ADVERTISE <id> "
                                 "<cluster-id|-> <host:port> <host:port|->");
        return RSM_RESP_DONE;
    }
    x->a->ops->get_status(x->a->node, &st);
    if (!api__has_member(&st, id)) {
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
    return api__propose_for_client(x, &e, api__committed_done);
}

static enum rsm_resp_status api__set_paused(const struct api_call *x,
                                            bool paused)
{
    const char *name = x->req->argv[2];
    struct rsm_entry *e;
    enum rsm_resp_status st;

    if (rsm_fsm_group(api__fsm_of(x->a), name) == NULL) {
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
    st = api__propose_for_client(x, e, api__committed_done);
    free(e);
    return st;
}

enum rsm_resp_status api__cmd_pause(const struct api_call *x)
{
    return api__set_paused(x, true);
}

enum rsm_resp_status api__cmd_resume(const struct api_call *x)
{
    return api__set_paused(x, false);
}

/* =====================================================================
 * Failover and switchover
 * ===================================================================== */

/* RSM FAILOVER <group> [FORCE]: SENTINEL FAILOVER on the leader, and with
 * FORCE the operator's override: a replica that never completed a sync
 * with its master may be promoted when no synced one is eligible (never
 * for an automatic failover; see planner.h). */
enum rsm_resp_status api__cmd_rsm_failover(const struct api_call *x)
{
    const struct rsm_group *g = api__group_arg(x, 2);
    bool force = x->req->argc == 4;

    if (g == NULL)
        return RSM_RESP_DONE;
    if (force && strcasecmp(x->req->argv[3], "FORCE") != 0) {
        rsm_resp_add_errorf(x->r,
                            "ERR bad argument '%s': want FORCE or "
                            "nothing",
                            x->req->argv[3]);
        return RSM_RESP_DONE;
    }
    return api__request_failover(x, g, force);
}

/* Completion of RSM SWITCHOVER (like api__failover_done; a refusal of
 * the planner is REFUSED). */
static void api__switchover_done(void *arg, int status, const char *errmsg)
{
    struct rsm_resp_reply *r = arg;

    if (status != RSM_EREJECTED) {
        api__manual_done(r, status, errmsg, "switchover", "");
        return;
    }
    rsm_resp_add_errorf(r, "REFUSED %s", errmsg);
    rsm_resp_reply_end(r);
}

/* RSM SWITCHOVER <group> [<host:port>|any] [<timeout-ms>] */
enum rsm_resp_status api__cmd_switchover(const struct api_call *x)
{
    const struct rsm_group *g = api__group_arg(x, 2);
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
                                        api__switchover_done, x->r);
    if (rv == 0)
        return RSM_RESP_PENDING;
    if (rv == RSM_EREJECTED)
        rsm_resp_add_error(x->r, "REFUSED switchover refused: group paused");
    else
        api__manual_refused(x, rv, "switchover");
    return RSM_RESP_DONE;
}
