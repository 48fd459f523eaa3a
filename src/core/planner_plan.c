/* planner_plan.c - building the plan of one planner call: its reason,
 * its events, the Redis commands to send and the entry to propose. */
#include "planner_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void planner__vappendf(char *buf, size_t len, const char *fmt,
                              va_list ap)
{
    size_t used = strlen(buf);

    if (used + 1 < len)
        vsnprintf(buf + used, len - used, fmt, ap);
}

void planner__reasonf(struct ctx *c, const char *fmt, ...)
{
    va_list ap;

    c->out->reason[0] = '\0';
    va_start(ap, fmt);
    planner__vappendf(c->out->reason, sizeof c->out->reason, fmt, ap);
    va_end(ap);
}

void planner__reason_append(struct ctx *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    planner__vappendf(c->out->reason, sizeof c->out->reason, fmt, ap);
    va_end(ap);
}

void planner__event(struct ctx *c, const char *name, const char *fmt, ...)
{
    struct rsm_plan_event *e;
    va_list ap;

    if (c->out->n_events >= RSM_PLAN_MAX_EVENTS)
        return;
    e = &c->out->events[c->out->n_events++];
    e->name = name;
    e->detail[0] = '\0';
    va_start(ap, fmt);
    planner__vappendf(e->detail, sizeof e->detail, fmt, ap);
    va_end(ap);
}

void planner__add_action(struct ctx *c, const struct rsm_addr *addr,
                         enum rsm_redis_cmd cmd, const struct rsm_addr *master)
{
    struct rsm_redis_action *a;

    if (c->out->n_actions >= RSM_MAX_MEMBERS)
        return;
    a = &c->out->actions[c->out->n_actions++];
    memset(a, 0, sizeof *a);
    a->addr = *addr;
    a->cmd = cmd;
    if (master != NULL)
        a->master = *master;
    c->out->kind = RSM_PLAN_REDIS;
}

/* Start a proposal of kind k. */
struct rsm_entry *planner__propose(struct ctx *c, enum rsm_entry_kind k)
{
    rsm_entry_init(&c->out->entry, k, c->in->group, c->now);
    c->out->kind = RSM_PLAN_PROPOSE;
    return &c->out->entry;
}
