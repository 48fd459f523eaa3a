/* api_forward.c - requests a follower sends on to the leader (SENTINEL
 * FAILOVER, SENTINEL SET / RESET / CONFIG) and whose answer it relays
 * (forward.h); the API keeps the ones in flight to cancel them at stop. */
#include "api_int.h"
#include "forward.h"
#include "rsm/err.h"
#include "rsm/identity.h"
#include "rsm/log.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SENTINEL FAILOVER sent on to the leader by a follower (forward.h). */
struct api_forward {
    struct api_forward *prev, *next; /* in the API's list */
    struct rsm_api *a;               /* NULL once the API stops */
    struct rsm_resp_reply *r;
    struct rsm_forward *f;
    uint64_t leader_id;
    struct rsm_addr leader_api;
    const char *what; /* in errors: NULL is "failover" */
};

#define FORWARD_TIMEOUT_MS 5000

/* The leader's answer (or why there is none), relayed; the reply may be
 * orphaned. */
static void api__forwarded(void *arg, struct rsm_forward *f,
                           const struct rsm_redis_result *res)
{
    struct api_forward *fw = arg;
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
        assert(fw->prev != NULL || fw->a->forwards == fw); /* listed */
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
static enum rsm_resp_status api__forward_argv(const struct api_call *x,
                                              const char *what, int argc,
                                              const char *const *argv,
                                              const char *event,
                                              const char *detail)
{
    struct rsm_api *a = x->a;
    const struct rsm_monitor_config *mc;
    struct rsm_forward_config fc;
    struct rsm_node_status st;
    struct api_forward *fw;
    char api[RSM_ADDR_STRLEN];
    int rv;

    a->ops->get_status(a->node, &st);
    mc = a->monitor != NULL ? rsm_monitor_get_config(a->monitor) : NULL;
    if (mc == NULL || rsm_forward_is_agent(x->cl->name) || !st.has_leader ||
        st.leader.id == st.id ||
        rsm_identity_check_addr(&st.leader.api, st.leader.id, &mc->self_api,
                                NULL, 0) != RSM_IDENTITY_OK) {
        api__not_leader(a, x->r);
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
    fc.tls = mc->agent_tls;
    fc.agent_id = st.id;
    fc.timeout_ms = FORWARD_TIMEOUT_MS;
    fw->a = a;
    fw->r = x->r;
    fw->leader_id = st.leader.id;
    fw->leader_api = st.leader.api;
    fw->what = what;
    rv =
        rsm_forward_start(a->loop, &fc, argc, argv, api__forwarded, fw, &fw->f);
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
enum rsm_resp_status api__forward_failover(const struct api_call *x,
                                           const struct rsm_group *g)
{
    const char *argv[] = {"SENTINEL", "FAILOVER", g->name};
    char detail[RSM_GROUP_NAME_MAX + 8];

    snprintf(detail, sizeof detail, "group=%s", g->name);
    return api__forward_argv(x, "failover", 3, argv, "failover-forwarded",
                             detail);
}

/* A follower: send the client's request as it is to the leader and relay
 * the answer (what names it in errors). */
enum rsm_resp_status api__forward_request(const struct api_call *x,
                                          const char *what)
{
    char detail[160];

    snprintf(detail, sizeof detail, "request=\"%.120s\"", what);
    return api__forward_argv(x, what, x->req->argc,
                             (const char *const *)x->req->argv,
                             "request-forwarded", detail);
}

void api__forward_cancel_all(struct rsm_api *a)
{
    while (a->forwards != NULL) { /* their replies are orphaned anyway */
        struct api_forward *fw = a->forwards;
        a->forwards = fw->next;
        fw->a = NULL;
        rsm_forward_cancel(fw->f);
    }
}
