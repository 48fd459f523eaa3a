/* advertise.c - commit this agent's client and HTTP addresses to the log
 * (see advertise.h). */
#include "rsm/advertise.h"
#include "rsm/clock.h"
#include "rsm/err.h"
#include "rsm/fsm.h"
#include "rsm/log.h"
#include "rsm/redis.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define CHECK_MS   1000 /* how often to look while not done */
#define TIMEOUT_MS 2000 /* for RSM ADVERTISE to the leader */

struct rsm_advertise {
    uv_loop_t *loop;
    struct rsm_advertise_config cfg;
    struct rsm_node *node;
    uv_timer_t timer;
    bool ready;     /* leader with its barrier committed */
    bool busy;      /* a proposal or RSM ADVERTISE in flight */
    bool proposing; /* the proposal's callback is still to come */
    bool stopping;
    struct rsm_redis *link;  /* to the leader's client port */
    struct rsm_addr link_to; /* where link goes */
    unsigned closing;        /* handles and links still closing */
    char last_refusal[256];  /* logged once per distinct answer */
    rsm_advertise_stop_cb stop_cb;
    void *stop_arg;
};

static void advertise__check(struct rsm_advertise *a);

void rsm_advertise_default(const struct rsm_addr *bind,
                           const char *fallback_host, struct rsm_addr *out)
{
    const char *h = bind->host;
    bool wild = h[0] == '\0' || strcmp(h, "0.0.0.0") == 0 ||
                strcmp(h, "::") == 0 || strcmp(h, "[::]") == 0;

    *out = *bind;
    if (wild)
        snprintf(out->host, sizeof out->host, "%s", fallback_host);
}

bool rsm_advertise_done(const struct rsm_advertise *a)
{
    const struct rsm_fsm *fsm = rsm_node_fsm(a->node);
    const struct rsm_agent_info *in = rsm_fsm_agent(fsm, a->cfg.id);

    return fsm->cluster_id[0] != '\0' && in != NULL &&
           rsm_addr_equal(&in->api, &a->cfg.api) &&
           rsm_addr_equal(&in->http, &a->cfg.http);
}

/* Log a refusal once per distinct text. */
static void advertise__refused(struct rsm_advertise *a, const char *why)
{
    if (strcmp(why, a->last_refusal) == 0)
        return;
    snprintf(a->last_refusal, sizeof a->last_refusal, "%s", why);
    rsm_log(RSM_LOG_WARN, "advertise-refused", "id=%" PRIu64 " reason=\"%s\"",
            a->cfg.id, why);
}

/* ---- as the leader ------------------------------------------------------ */

/* A new cluster id: 16 random bytes in hex. */
static int advertise__new_cluster_id(char *out)
{
    unsigned char b[RSM_CLUSTER_ID_LEN / 2];
    int rv = uv_random(NULL, NULL, b, sizeof b, 0, NULL);

    if (rv != 0)
        return rv;
    for (size_t i = 0; i < sizeof b; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 0;
}

static void advertise__release(struct rsm_advertise *a);

static void advertise__proposed(void *arg, int status, const char *errmsg)
{
    struct rsm_advertise *a = arg;

    a->busy = a->proposing = false;
    if (a->stopping) {
        advertise__release(a);
        return;
    }
    if (status != 0)
        advertise__refused(a,
                           errmsg && errmsg[0] ? errmsg : rsm_strerror(status));
}

static void advertise__propose_self(struct rsm_advertise *a)
{
    const struct rsm_fsm *fsm = rsm_node_fsm(a->node);
    struct rsm_entry e;
    int rv;

    rsm_entry_init(&e, RSM_ENTRY_ADVERTISE_AGENT, NULL, rsm_clock_wall_ms());
    e.agent_id = a->cfg.id;
    e.api = a->cfg.api;
    e.http = a->cfg.http;
    if (fsm->cluster_id[0] != '\0')
        memcpy(e.cluster_id, fsm->cluster_id, sizeof e.cluster_id);
    else if (rsm_node_cluster_id(a->node)[0] != '\0')
        memcpy(e.cluster_id, rsm_node_cluster_id(a->node), sizeof e.cluster_id);
    else if (advertise__new_cluster_id(e.cluster_id) != 0)
        return; /* tried again at the next check */
    rsm_log(RSM_LOG_INFO, "advertise", "id=%" PRIu64 " cluster_id=%s",
            a->cfg.id, e.cluster_id);
    rv = rsm_node_propose(a->node, &e, advertise__proposed, a);
    if (rv == 0)
        a->busy = a->proposing = true;
}

/* ---- as a follower ------------------------------------------------------ */

/* Free a stopping a once nothing refers to it any more. */
static void advertise__release(struct rsm_advertise *a)
{
    rsm_advertise_stop_cb cb = a->stop_cb;
    void *cb_arg = a->stop_arg;

    if (!a->stopping || a->closing > 0 || a->proposing)
        return;
    free(a);
    if (cb != NULL)
        cb(cb_arg);
}

static void advertise__link_closed(struct rsm_redis *r, void *arg)
{
    struct rsm_advertise *a = arg;

    (void)r;
    a->closing--;
    advertise__release(a);
}

static void advertise__drop_link(struct rsm_advertise *a)
{
    if (a->link == NULL)
        return;
    a->closing++;
    rsm_redis_close(a->link, advertise__link_closed, a);
    a->link = NULL;
}

static void advertise__answered(struct rsm_redis *r,
                                const struct rsm_redis_result *res, void *arg)
{
    struct rsm_advertise *a = arg;

    (void)r;
    a->busy = false;
    if (a->stopping)
        return;
    if (res->status == RSM_EREPLY && res->reply != NULL)
        advertise__refused(a, res->reply->str);
    else if (res->status != 0)
        advertise__refused(a, res->errmsg);
    /* Advertising is rare: hold no client slot on the leader meanwhile
     * (and a leader that moved is connected to afresh). */
    advertise__drop_link(a);
}

static void advertise__ask_leader(struct rsm_advertise *a,
                                  const struct rsm_member *l)
{
    const char *cid = rsm_node_fsm(a->node)->cluster_id;
    char id[24], api[RSM_ADDR_STRLEN], http[RSM_ADDR_STRLEN];
    const char *argv[6] = {"RSM", "ADVERTISE", id, cid, api, http};

    if (a->link != NULL && !rsm_addr_equal(&a->link_to, &l->api))
        advertise__drop_link(a);
    if (a->link == NULL) {
        struct rsm_redis_config rc;
        memset(&rc, 0, sizeof rc);
        rc.addr = l->api;
        rc.password = a->cfg.agent_password[0] ? a->cfg.agent_password : NULL;
        rc.tls = a->cfg.agent_tls;
        rc.connect_timeout_ms = TIMEOUT_MS;
        if (rsm_redis_create(a->loop, &rc, &a->link) != 0)
            return;
        a->link_to = l->api;
    }
    snprintf(id, sizeof id, "%" PRIu64, a->cfg.id);
    rsm_addr_format(&a->cfg.api, api, sizeof api);
    if (a->cfg.http.port != 0)
        rsm_addr_format(&a->cfg.http, http, sizeof http);
    else
        snprintf(http, sizeof http, "-");
    if (rsm_redis_command(a->link, TIMEOUT_MS, advertise__answered, a, 6,
                          argv) == 0)
        a->busy = true;
}

/* ---- the check ---------------------------------------------------------- */

static void advertise__check(struct rsm_advertise *a)
{
    struct rsm_node_status st;

    if (a->stopping || a->busy)
        return;
    if (rsm_advertise_done(a)) {
        a->last_refusal[0] = '\0';
        advertise__drop_link(a);
        return;
    }
    if (a->ready && rsm_node_is_leader(a->node)) {
        advertise__propose_self(a);
        return;
    }
    if (rsm_node_fsm(a->node)->cluster_id[0] == '\0')
        return; /* the leader advertises first and fixes it */
    rsm_node_get_status(a->node, &st);
    if (st.has_leader && st.leader.id != a->cfg.id)
        advertise__ask_leader(a, &st.leader);
}

static void advertise__timer_cb(uv_timer_t *t)
{
    advertise__check(t->data);
}

void rsm_advertise_node_event(struct rsm_advertise *a, enum rsm_node_event ev)
{
    if (ev == RSM_NODE_BECAME_LEADER)
        a->ready = true;
    else if (ev == RSM_NODE_LOST_LEADERSHIP)
        a->ready = false;
    if (ev != RSM_NODE_APPLIED)
        advertise__check(a);
}

int rsm_advertise_start(uv_loop_t *loop, const struct rsm_advertise_config *cfg,
                        struct rsm_node *node, struct rsm_advertise **out,
                        char *errmsg, size_t errlen)
{
    struct rsm_advertise *a = calloc(1, sizeof *a);

    *out = NULL;
    if (a == NULL)
        return rsm_errf(RSM_ENOMEM, errmsg, errlen, "advertise: no memory");
    a->loop = loop;
    a->cfg = *cfg;
    a->node = node;
    uv_timer_init(loop, &a->timer);
    a->timer.data = a;
    uv_timer_start(&a->timer, advertise__timer_cb, CHECK_MS, CHECK_MS);
    *out = a;
    return 0;
}

static void advertise__timer_closed(uv_handle_t *h)
{
    struct rsm_advertise *a = h->data;

    advertise__link_closed(NULL, a);
}

void rsm_advertise_stop(struct rsm_advertise *a, rsm_advertise_stop_cb cb,
                        void *arg)
{
    if (a->stopping)
        return;
    a->stopping = true;
    a->stop_cb = cb;
    a->stop_arg = arg;
    explicit_bzero(a->cfg.agent_password, sizeof a->cfg.agent_password);
    a->closing++; /* the timer */
    uv_close((uv_handle_t *)&a->timer, advertise__timer_closed);
    advertise__drop_link(a);
}
