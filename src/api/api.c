/* api.c - the agent's client port (see api.h): the API's lifecycle, the
 * state of each client, the node's and the monitor's events, and the
 * helpers every command uses. The table and the commands are in the other
 * api_*.c files (see api_int.h). */
#include "api_int.h"
#include "events.h"
#include "rsm/datadir.h"
#include "rsm/err.h"
#include "rsm/log.h"
#include "sentinel.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* =====================================================================
 * Clients
 * ===================================================================== */

bool api__subscribed(const struct api_client *cl)
{
    return cl->sub != NULL && rsm_pubsub_count(cl->sub) > 0;
}

/* A subscriber is exempt from the idle timeout and has its own output
 * limit; a client with no subscription left is an ordinary one again. */
void api__update_subscriber(struct api_client *cl)
{
    bool on = api__subscribed(cl);

    rsm_resp_client_set_idle_exempt(cl->c, on);
    rsm_resp_client_set_output_limit(cl->c, on ? cl->a->sub_limit : 0);
}

static void api__on_connect(void *arg, struct rsm_resp_client *c)
{
    struct rsm_api *a = arg;
    struct api_client *cl = calloc(1, sizeof *cl);

    if (cl == NULL)
        return; /* api__on_request answers and closes */
    cl->a = a;
    cl->c = c;
    cl->id = ++a->next_client_id;
    a->n_connections++;
    cl->authed = !a->has_pass;
    rsm_resp_client_set_data(c, cl);
}

static void api__on_close(void *arg, struct rsm_resp_client *c)
{
    struct api_client *cl = rsm_resp_client_data(c);

    (void)arg;
    if (cl == NULL)
        return;
    assert(cl->c == c);
    rsm_pubsub_sub_free(cl->sub);
    rsm_resp_client_set_data(c, NULL);
    free(cl);
}

/* =====================================================================
 * Helpers of the commands
 * ===================================================================== */

void api__server_info(struct rsm_api *a, struct rsm_api_server_info *si)
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
void api__not_leader(struct rsm_api *a, struct rsm_resp_reply *r)
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

const struct rsm_fsm *api__fsm_of(const struct rsm_api *a)
{
    return a->ops->fsm(a->node);
}

/* The committed group named argv[i], or NULL after answering Sentinel's
 * error for an unknown one. */
const struct rsm_group *api__group_arg(const struct api_call *x, int i)
{
    const struct rsm_group *g =
        rsm_fsm_group(api__fsm_of(x->a), x->req->argv[i]);

    if (g == NULL)
        rsm_resp_add_error(x->r, "ERR No such master with that name");
    return g;
}

/* =====================================================================
 * Events
 * ===================================================================== */

/* After an entry is applied: store the masters given to clients in the
 * data dir when they changed (masterfile.h). Not while the log is
 * replayed up to what the file already holds. */
static void api__update_masters(struct rsm_api *a)
{
    const struct rsm_fsm *fsm = api__fsm_of(a);
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
        api__update_masters(a);
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
static void api__load_masters(struct rsm_api *a, const char *data_dir)
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
    struct rsm_resp_handlers h = {api__on_request, api__on_connect,
                                  api__on_close, NULL};
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
    api__load_masters(a, cfg->data_dir);
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
static char **api__leaderview_push(void *arg)
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
        rsm_monitor_set_push(m, api__leaderview_push,
                             rsm_events_leaderview_free, a);
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

static void api__finish_stop(void *arg)
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

static void api__on_server_stopped(void *arg)
{
    struct rsm_api *a = arg;

    if (a->events != NULL)
        rsm_events_stop(a->events, api__finish_stop, a);
    else
        api__finish_stop(a);
}

void rsm_api_stop(struct rsm_api *a, rsm_api_stop_cb cb, void *arg)
{
    a->stopping = true;
    a->stop_cb = cb;
    a->stop_arg = arg;
    if (a->monitor != NULL)
        rsm_monitor_set_push(a->monitor, NULL, NULL, NULL);
    a->monitor = NULL;
    api__forward_cancel_all(a);
    rsm_resp_server_stop(a->srv, api__on_server_stopped, a);
}
