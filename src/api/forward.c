/* forward.c - one client request passed on to another agent (see
 * forward.h). */
#include "forward.h"
#include "rsm/err.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rsm_forward {
    struct rsm_redis *link;
    rsm_forward_cb cb; /* NULL once it ran */
    void *arg;
    unsigned pending; /* replies still to come: the name, then the answer */
};

static void forward__link_closed(struct rsm_redis *r, void *arg)
{
    (void)r;
    free(arg);
}

static void forward__finish(struct rsm_forward *f,
                            const struct rsm_redis_result *res)
{
    rsm_forward_cb cb = f->cb;

    f->cb = NULL;
    if (cb != NULL)
        cb(f->arg, f, res);
}

/* The CLIENT SETNAME reply first (its error, if the link failed, comes
 * again with the answer), then the answer. */
static void forward__replied(struct rsm_redis *r,
                             const struct rsm_redis_result *res, void *arg)
{
    struct rsm_forward *f = arg;

    (void)r;
    assert(f->pending > 0); /* one reply per command sent */
    if (--f->pending > 0)
        return;
    forward__finish(f, res);
    if (f->link != NULL) {
        rsm_redis_close(f->link, forward__link_closed, f);
        f->link = NULL;
    }
}

int rsm_forward_start(uv_loop_t *loop, const struct rsm_forward_config *cfg,
                      int argc, const char *const *argv, rsm_forward_cb cb,
                      void *arg, struct rsm_forward **out)
{
    struct rsm_forward *f = calloc(1, sizeof *f);
    struct rsm_redis_config rc;
    char name[64];
    const char *setname[] = {"CLIENT", "SETNAME", name};
    const char *const *argvs[] = {setname, argv};
    int argcs[] = {3, argc};
    int rv;

    if (f == NULL)
        return RSM_ENOMEM;
    memset(&rc, 0, sizeof rc);
    rc.addr = cfg->to;
    rc.password = cfg->password;
    rc.tls = cfg->tls;
    rc.connect_timeout_ms = cfg->timeout_ms;
    rv = rsm_redis_create(loop, &rc, &f->link);
    if (rv != 0) {
        free(f);
        return rv;
    }
    snprintf(name, sizeof name, RSM_FORWARD_NAME_PREFIX "%" PRIu64,
             cfg->agent_id);
    f->cb = cb;
    f->arg = arg;
    f->pending = 2;
    rv = rsm_redis_commands(f->link, cfg->timeout_ms, forward__replied, f, 2,
                            argcs, argvs);
    if (rv != 0) {
        rsm_redis_close(f->link, forward__link_closed, f);
        return rv;
    }
    *out = f;
    return 0;
}

void rsm_forward_cancel(struct rsm_forward *f)
{
    struct rsm_redis_result res = {RSM_ECANCELED, NULL, "canceled", 0};

    forward__finish(f, &res);
    /* the pending commands end with RSM_ECANCELED, then the link closes
     * and frees f */
    if (f->link != NULL) {
        struct rsm_redis *l = f->link;
        f->link = NULL;
        rsm_redis_close(l, forward__link_closed, f);
    }
}

bool rsm_forward_is_agent(const char *name)
{
    return name != NULL && strncmp(name, RSM_FORWARD_NAME_PREFIX,
                                   strlen(RSM_FORWARD_NAME_PREFIX)) == 0;
}

void rsm_forward_relay(struct rsm_resp_reply *r, const redisReply *rep)
{
    switch (rep->type) {
    case REDIS_REPLY_STATUS:
        rsm_resp_add_status(r, rep->str);
        break;
    case REDIS_REPLY_ERROR:
        rsm_resp_add_error(r, rep->str);
        break;
    case REDIS_REPLY_INTEGER:
        rsm_resp_add_int(r, rep->integer);
        break;
    case REDIS_REPLY_STRING:
        rsm_resp_add_bulk(r, rep->str, rep->len);
        break;
    case REDIS_REPLY_ARRAY:
        rsm_resp_add_array(r, (long)rep->elements);
        for (size_t i = 0; i < rep->elements; i++)
            rsm_forward_relay(r, rep->element[i]);
        break;
    default: /* nil */
        rsm_resp_add_null(r);
        break;
    }
}
