/* monitor_fence.c - managed fencing (leader only): fence.h decides, this
 * file reads and sets min-replicas-to-write / min-replicas-max-lag on each
 * instance. */
#include "monitor_int.h"
#include "rsm/err.h"
#include "rsm/log.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Managed fencing (leader only; fence.h decides, this section reads and
 * sets min-replicas-to-write / min-replicas-max-lag)
 * ---------------------------------------------------------------------- */

#define FENCE_RETRY_MS                                                         \
    1000                      /* after a failed read or set, doubled at        \
                                 each failure in a row up to 64 s */
#define FENCE_REREAD_MS 60000 /* read again: an operator may have set them */

/* One read (two CONFIG GETs) or set (one or two CONFIG SETs) in flight on
 * one instance. Freed when its last reply is in. */
struct fence_ctx {
    struct instance *in;
    enum rsm_fence_action action; /* READ or SET */
    struct rsm_fence_decision d;  /* SET: what is set, and why */
    bool promotion;               /* the SET right before REPLICAOF NO ONE */
    unsigned pending;             /* replies still to come */
    int status;                   /* the first failure, 0 none */
    char errmsg[RSM_ERRMSG_SIZE];
    unsigned replies;   /* replies in so far */
    unsigned got;       /* READ: bit k set when values[k] was parsed */
    bool bad_shape;     /* READ: answered, but not with [name, value] */
    unsigned values[2]; /* READ: to_write, max_lag_s */
    char run_id[RSM_RUNID_LEN + 1]; /* of the process asked */
};

/* Forget what was known of every instance's settings (a new leader reads
 * them again). In-flight commands still count in pending. */
void monitor_fence_forget_all(struct rsm_monitor *m)
{
    for (unsigned i = 0; i < m->cfg.n_groups; i++) {
        for (unsigned j = 0; j < m->groups[i]->cfg.n_addrs; j++) {
            struct fence_state *f = &m->groups[i]->inst[j].fence;
            unsigned pending = f->pending;
            memset(f, 0, sizeof *f);
            f->pending = pending;
        }
    }
}

/* A new run_id is a new Redis process, with the settings of its config
 * file: read them again, and try CONFIG again if the last one refused. */
static void monitor__fence_track_process(struct instance *in)
{
    const struct rsm_health *h = &in->g->health[in->index];
    struct fence_state *f = &in->fence;

    if (!h->has_info || h->info.run_id[0] == '\0' ||
        strcmp(f->run_id, h->info.run_id) == 0)
        return;
    snprintf(f->run_id, sizeof f->run_id, "%s", h->info.run_id);
    f->cur.known = false;
    f->unusable = false;
    f->retry_ms = 0;
    f->failures = 0;
}

/* "unknown command" (renamed or disabled CONFIG), NOPERM (ACL), an
 * unknown parameter (a Redis older than 5.0), or a CONFIG GET answered
 * with something else than [name, value] (not a Redis): no use trying
 * again. */
static bool monitor__config_unusable(const struct fence_ctx *ctx)
{
    const char *reply = ctx->errmsg;

    if (ctx->bad_shape)
        return true;
    if (ctx->status != RSM_EREPLY)
        return false;
    return strncmp(reply, "NOPERM", 6) == 0 ||
           strstr(reply, "unknown command") != NULL ||
           strstr(reply, "Unknown option") != NULL ||
           strstr(reply, "Unsupported CONFIG parameter") != NULL ||
           strstr(reply, "unknown parameter") != NULL;
}

static void monitor__fence_failed(struct fence_ctx *ctx)
{
    struct instance *in = ctx->in;
    struct rsm_monitor *m = in->g->m;
    char a[RSM_ADDR_STRLEN], q[RSM_ERRMSG_SIZE + 2];

    rsm_addr_format(&in->g->cfg.addrs[in->index], a, sizeof a);
    rsm_log_quote(ctx->errmsg, q, sizeof q);
    in->fence.cur.known = false; /* a set may have half applied */
    if (monitor__config_unusable(ctx)) {
        if (!in->fence.unusable)
            rsm_log(RSM_LOG_WARN, "fence-unavailable",
                    "group=%s addr=%s error=%s detail=\"min-replicas-* "
                    "left alone on this Redis process\"",
                    in->g->cfg.name, a, q);
        in->fence.unusable = true;
        return;
    }
    in->fence.failures++;
    in->fence.retry_ms =
        monitor_mono_ms(m) +
        ((int64_t)FENCE_RETRY_MS
         << (in->fence.failures < 7 ? in->fence.failures - 1 : 6));
    /* a warning for the first failure in a row, then quieter */
    rsm_log(in->fence.failures == 1 ? RSM_LOG_WARN : RSM_LOG_DEBUG,
            "fence-failed", "group=%s addr=%s step=%s failures=%u error=%s",
            in->g->cfg.name, a,
            ctx->promotion ? "lower-before-promotion"
                           : rsm_fence_action_str(ctx->action),
            in->fence.failures, q);
}

static void monitor__fence_done(struct fence_ctx *ctx)
{
    struct instance *in = ctx->in;
    struct fence_state *f = &in->fence;
    char a[RSM_ADDR_STRLEN], q[RSM_FENCE_REASON_MAX + 8];

    rsm_addr_format(&in->g->cfg.addrs[in->index], a, sizeof a);
    if (ctx->status == 0 && ctx->action == RSM_FENCE_READ && ctx->got != 3) {
        ctx->status = RSM_EPROTO;
        ctx->bad_shape = true;
        snprintf(ctx->errmsg, sizeof ctx->errmsg,
                 "CONFIG GET min-replicas-*: not a [name, value] reply");
    }
    if (ctx->status != 0) {
        monitor__fence_failed(ctx);
        monitor_mark_dirty(in->g);
        return;
    }
    f->failures = 0;
    if (ctx->action == RSM_FENCE_READ) {
        if (strcmp(ctx->run_id, f->run_id) != 0)
            return; /* another process answers now: read again */
        f->cur.known = true;
        f->cur.to_write = ctx->values[0];
        f->cur.max_lag_s = ctx->values[1];
        f->known_ms = monitor_mono_ms(in->g->m);
        rsm_log(RSM_LOG_DEBUG, "fence-read",
                "group=%s addr=%s min_replicas_to_write=%u "
                "min_replicas_max_lag=%u",
                in->g->cfg.name, a, f->cur.to_write, f->cur.max_lag_s);
    } else if (ctx->promotion) {
        /* max-lag was not touched: read both again after the promotion */
        f->cur.known = false;
        rsm_log(RSM_LOG_INFO, rsm_fence_change_event(ctx->d.change),
                "group=%s addr=%s min_replicas_to_write=0 reason=%s",
                in->g->cfg.name, a, rsm_log_quote(ctx->d.reason, q, sizeof q));
        monitor_rewrite_config(in);
    } else {
        f->cur = ctx->d.want;
        f->known_ms = monitor_mono_ms(in->g->m);
        rsm_log(RSM_LOG_INFO, rsm_fence_change_event(ctx->d.change),
                "group=%s addr=%s min_replicas_to_write=%u "
                "min_replicas_max_lag=%u reason=%s",
                in->g->cfg.name, a, f->cur.to_write, f->cur.max_lag_s,
                rsm_log_quote(ctx->d.reason, q, sizeof q));
        monitor_rewrite_config(in);
    }
    monitor_mark_dirty(in->g);
}

/* A CONFIG GET reply is [name, value]; a CONFIG SET reply is +OK. */
static void monitor__fence_cb(struct rsm_redis *r,
                              const struct rsm_redis_result *res, void *arg)
{
    struct fence_ctx *ctx = arg;
    struct instance *in = ctx->in;
    const redisReply *rep = res->reply;
    unsigned k = ctx->replies++;

    (void)r;
    if (ctx->status == 0 && res->status != 0) {
        ctx->status = res->status;
        monitor_result_errmsg(res, ctx->errmsg, sizeof ctx->errmsg);
    } else if (res->status == 0 && ctx->action == RSM_FENCE_READ && k < 2 &&
               rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
               rep->element[1]->type == REDIS_REPLY_STRING) {
        char *end;
        unsigned long v = strtoul(rep->element[1]->str, &end, 10);
        if (*end == '\0' && end != rep->element[1]->str && v <= UINT32_MAX) {
            ctx->values[k] = (unsigned)v;
            ctx->got |= 1u << k;
        }
    }
    assert(ctx->pending > 0);
    if (--ctx->pending > 0)
        return;
    assert(in->fence.pending > 0);
    in->fence.pending--;
    if (ctx->status != RSM_ECANCELED && !monitor_group_gone(in->g))
        monitor__fence_done(ctx);
    free(ctx);
}

static struct fence_ctx *monitor__fence_ctx_new(struct instance *in,
                                                enum rsm_fence_action action)
{
    struct fence_ctx *ctx = calloc(1, sizeof *ctx);

    if (ctx == NULL)
        return NULL;
    ctx->in = in;
    ctx->action = action;
    snprintf(ctx->run_id, sizeof ctx->run_id, "%s", in->fence.run_id);
    return ctx;
}

/* Send n commands for ctx (freed here if they cannot be sent). */
static void monitor__fence_send(struct fence_ctx *ctx, int n, const int *argc,
                                const char *const *const *argv)
{
    struct instance *in = ctx->in;

    if (rsm_redis_commands(in->link, monitor_probe_timeout(in->g->m) * 2,
                           monitor__fence_cb, ctx, n, argc, argv) != 0) {
        free(ctx);
        return;
    }
    ctx->pending = (unsigned)n;
    in->fence.pending++;
}

static void monitor__fence_read(struct instance *in)
{
    static const char *const get_n[] = {"CONFIG", "GET",
                                        "min-replicas-to-write"};
    static const char *const get_lag[] = {"CONFIG", "GET",
                                          "min-replicas-max-lag"};
    static const char *const *const argv[] = {get_n, get_lag};
    static const int argc[] = {3, 3};
    struct fence_ctx *ctx = monitor__fence_ctx_new(in, RSM_FENCE_READ);

    if (ctx != NULL)
        monitor__fence_send(ctx, 2, argc, argv);
}

/* CONFIG SET max-lag first (when it changes), then to-write: raised, the
 * fence applies with its lag at once. One parameter per CONFIG SET, which
 * every Redis since 5.0 takes. */
static void monitor__fence_set(struct instance *in,
                               const struct rsm_fence_decision *d,
                               bool promotion)
{
    static const char *const set_n[] = {"CONFIG", "SET",
                                        "min-replicas-to-write", NULL};
    static const char *const set_lag[] = {"CONFIG", "SET",
                                          "min-replicas-max-lag", NULL};
    struct fence_ctx *ctx = monitor__fence_ctx_new(in, RSM_FENCE_SET);
    char n[16], lag[16];
    const char *a_n[4], *a_lag[4];
    const char *const *argv[2];
    int argc[2] = {4, 4}, k = 0;

    if (ctx == NULL)
        return;
    ctx->d = *d;
    ctx->promotion = promotion;
    snprintf(n, sizeof n, "%u", d->want.to_write);
    snprintf(lag, sizeof lag, "%u", d->want.max_lag_s);
    memcpy(a_n, set_n, sizeof a_n);
    memcpy(a_lag, set_lag, sizeof a_lag);
    a_n[3] = n;
    a_lag[3] = lag;
    if (d->set_max_lag)
        argv[k++] = a_lag;
    if (d->set_to_write)
        argv[k++] = a_n;
    if (k == 0) {
        free(ctx);
        return;
    }
    monitor__fence_send(ctx, k, argc, argv);
}

/* Right before REPLICAOF NO ONE on in: min-replicas-to-write 0, on the
 * same link, so that Redis runs it first and the new master takes writes
 * before its replicas re-link. */
void monitor_fence_before_promotion(struct instance *in)
{
    struct rsm_fence_decision d;

    if (in->fence.unusable ||
        !rsm_fence_lower_before_promotion(&in->g->m->cfg.fence))
        return;
    memset(&d, 0, sizeof d);
    d.action = RSM_FENCE_SET;
    d.change = RSM_FENCE_LOWERED;
    d.want.known = true;
    d.want.to_write = 0;
    d.set_to_write = true;
    snprintf(d.reason, sizeof d.reason,
             "promoted: takes writes before its replicas re-link");
    monitor__fence_set(in, &d, true);
}

/* Read or set each instance's settings as fence.h decides. */
void monitor_fence_group(struct group *g, const struct rsm_group *cg,
                         const struct rsm_observation *obs)
{
    struct rsm_monitor *m = g->m;
    struct rsm_fence_setting cur[RSM_MAX_MEMBERS];
    struct rsm_fence_input fin;
    int64_t now = monitor_mono_ms(m);

    if (!m->cfg.fence.enabled)
        return;
    for (unsigned i = 0; i < g->cfg.n_addrs; i++) {
        struct fence_state *f = &g->inst[i].fence;
        monitor__fence_track_process(&g->inst[i]);
        if (f->cur.known && now - f->known_ms >= FENCE_REREAD_MS)
            f->cur.known = false;
        cur[i] = f->cur;
    }
    memset(&fin, 0, sizeof fin);
    fin.cfg = &m->cfg.fence;
    fin.master = (cg != NULL && cg->has_master) ? &cg->master : NULL;
    fin.in_flight = cg != NULL && cg->in_flight;
    fin.obs = obs;
    fin.current = cur;
    fin.n = g->cfg.n_addrs;
    for (unsigned i = 0; i < g->cfg.n_addrs; i++) {
        struct instance *in = &g->inst[i];
        struct rsm_fence_decision d;
        if (in->fence.pending > 0 || in->fence.unusable ||
            now < in->fence.retry_ms || rsm_fence_decide(&fin, i, &d) != 0)
            continue;
        if (d.action == RSM_FENCE_READ)
            monitor__fence_read(in);
        else if (d.action == RSM_FENCE_SET)
            monitor__fence_set(in, &d, false);
    }
}
