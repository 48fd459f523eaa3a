/* fence.c - managed fencing decisions (see fence.h for the argument). */
#include "rsm/fence.h"
#include "rsm/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void rsm_fence_config_init(struct rsm_fence_config *cfg)
{
    cfg->enabled = true;
    cfg->max_lag_s = rsm_fence_max_lag_s(5000);
}

unsigned rsm_fence_max_lag_s(int64_t down_after_ms)
{
    int64_t s = down_after_ms / 1000 - 2;

    if (s < 1)
        return 1;
    if (s > 86400)
        return 86400;
    return (unsigned)s;
}

static int fence__keep(struct rsm_fence_decision *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* out says KEEP, with the reason. Returns 0. */
static int fence__keep(struct rsm_fence_decision *out, const char *fmt, ...)
{
    va_list ap;

    out->action = RSM_FENCE_KEEP;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof out->reason, fmt, ap);
    va_end(ap);
    return 0;
}

/* Answering with a role this leader can go by: its latest probe got an
 * INFO, it is not loading, and it did not restart empty (the planner
 * treats such a master as failed). */
static bool fence__answering(const struct rsm_observation *o)
{
    return (o->state == RSM_HEALTH_UP || o->state == RSM_HEALTH_RESTARTED) &&
           o->info != NULL && !o->info->loading && !o->restarted_empty &&
           o->info->role != RSM_ROLE_UNKNOWN;
}

/* The replicas a master's INFO lists that Redis counts for
 * min-replicas-to-write with max-lag s: online, ACKed at most s seconds
 * ago (a line without lag, from an old Redis, counts). */
static unsigned fence__good_replicas(const struct rsm_info *info, unsigned s)
{
    unsigned n = 0;

    for (unsigned i = 0; i < info->n_replicas; i++) {
        const struct rsm_info_replica *r = &info->replicas[i];
        if (strcmp(r->state, "online") == 0 &&
            (r->lag < 0 || r->lag <= (int64_t)s))
            n++;
    }
    return n;
}

/* A replica: to_write 0, so that a promotion takes writes at once. */
static int fence__decide_replica(const struct rsm_fence_setting *cur,
                                 struct rsm_fence_decision *out)
{
    if (cur->to_write == 0)
        return fence__keep(out, "replica with min-replicas-to-write 0");
    out->action = RSM_FENCE_SET;
    out->change = RSM_FENCE_RESET;
    out->want = *cur;
    out->want.to_write = 0;
    out->set_to_write = true;
    snprintf(out->reason, sizeof out->reason,
             "replica with min-replicas-to-write %u: 0, so that it takes "
             "writes as soon as it is promoted",
             cur->to_write);
    return 0;
}

/* The committed master, answering as one (see fence.h, "How N moves"). */
static int fence__decide_master(const struct rsm_fence_input *in, size_t index,
                                struct rsm_fence_decision *out)
{
    const struct rsm_fence_setting *cur = &in->current[index];
    unsigned s = in->cfg->max_lag_s, target, n = cur->to_write;
    size_t others = 0;

    for (size_t i = 0; i < in->n; i++) {
        if (i == index)
            continue;
        others++;
        if (in->obs[i].state != RSM_HEALTH_DOWN)
            out->live++;
    }
    out->good = fence__good_replicas(in->obs[index].info, s);
    target = (out->live + 1) / 2;
    if (n > target) {
        n = target;
        out->change = RSM_FENCE_LOWERED;
        snprintf(out->reason, sizeof out->reason,
                 "%zu of %zu other instances down: min-replicas-to-write "
                 "%u -> %u (with the master a majority of the %u not down)",
                 others - out->live, others, cur->to_write, n, out->live + 1);
    } else if (n < target && out->good > n) {
        n = out->good < target ? out->good : target;
        out->change = RSM_FENCE_RAISED;
        snprintf(out->reason, sizeof out->reason,
                 "%u replicas online within %u s: min-replicas-to-write "
                 "%u -> %u (target %u of %u not down)",
                 out->good, s, cur->to_write, n, target, out->live);
    } else if (n > 0 && cur->max_lag_s != s) {
        out->change = RSM_FENCE_ADJUSTED;
        snprintf(out->reason, sizeof out->reason,
                 "min-replicas-max-lag %u -> %u (min-replicas-to-write %u)",
                 cur->max_lag_s, s, n);
    } else if (n < target) {
        return fence__keep(out,
                           "min-replicas-to-write %u, target %u: waiting for "
                           "replicas online within %u s (%u now)",
                           n, target, s, out->good);
    } else {
        return fence__keep(out,
                           "min-replicas-to-write %u, min-replicas-max-lag %u "
                           "(%u of %zu other instances not down)",
                           n, cur->max_lag_s, out->live, others);
    }
    out->action = RSM_FENCE_SET;
    out->want.known = true;
    out->want.to_write = n;
    out->want.max_lag_s = n > 0 ? s : cur->max_lag_s;
    out->set_to_write = n != cur->to_write;
    out->set_max_lag = n > 0 && cur->max_lag_s != s;
    return 0;
}

int rsm_fence_decide(const struct rsm_fence_input *in, size_t index,
                     struct rsm_fence_decision *out)
{
    const struct rsm_observation *o;

    if (out == NULL)
        return RSM_EINVAL;
    memset(out, 0, sizeof *out);
    if (in == NULL || in->cfg == NULL || in->obs == NULL ||
        in->current == NULL || index >= in->n) {
        fence__keep(out, "invalid input");
        return RSM_EINVAL;
    }
    o = &in->obs[index];
    if (!in->cfg->enabled)
        return fence__keep(out, "fencing is off");
    if (!fence__answering(o))
        return fence__keep(out, "not answering with a role");
    if (!in->current[index].known) {
        out->action = RSM_FENCE_READ;
        snprintf(out->reason, sizeof out->reason, "settings not read yet");
        return 0;
    }
    if (o->info->role == RSM_ROLE_REPLICA)
        return fence__decide_replica(&in->current[index], out);
    if (in->master == NULL || !rsm_addr_equal(in->master, &o->addr))
        return fence__keep(out, "a master that is not the committed one");
    if (in->in_flight)
        return fence__keep(out, "a failover is in flight");
    return fence__decide_master(in, index, out);
}

bool rsm_fence_lower_before_promotion(const struct rsm_fence_config *cfg)
{
    return cfg->enabled;
}

const char *rsm_fence_change_event(enum rsm_fence_change c)
{
    switch (c) {
    case RSM_FENCE_RAISED:
        return "fence-raised";
    case RSM_FENCE_LOWERED:
        return "fence-lowered";
    case RSM_FENCE_RESET:
        return "fence-reset";
    case RSM_FENCE_ADJUSTED:
        return "fence-adjusted";
    default:
        return "fence-unchanged";
    }
}

const char *rsm_fence_action_str(enum rsm_fence_action a)
{
    switch (a) {
    case RSM_FENCE_KEEP:
        return "keep";
    case RSM_FENCE_READ:
        return "read";
    case RSM_FENCE_SET:
        return "set";
    }
    return "unknown";
}
