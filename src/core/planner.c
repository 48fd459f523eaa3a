/* planner.c - the leader's next step for one group: record the master,
 * decide a failover, drive a decided one, or repair the topology. Pure.
 *
 * This file is the entry point: it checks the input, builds the context
 * and hands the call to the phase that applies (see planner_int.h for
 * the files of the phases); and the names of the planner's enums. */
#include "planner_int.h"
#include "rsm/err.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

void rsm_planner_config_init(struct rsm_planner_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->down_after_ms = 5000;
    cfg->failover_timeout_ms = 60000;
    cfg->min_failover_interval_ms = 60000;
    cfg->parallel_syncs = 1;
    cfg->repoint_grace_ms = 5000;
    cfg->switchover_method = RSM_SWITCHOVER_PAUSE;
}

/* ======================================================================
 * Entry point
 * ====================================================================== */

static int planner__check_input(const struct rsm_planner_input *in,
                                struct rsm_planner_plan *out)
{
    const char *why = NULL;

    if (in->group == NULL || in->group[0] == '\0')
        why = "no group name";
    else if (strlen(in->group) >= RSM_GROUP_NAME_MAX)
        why = "group name too long";
    else if (in->cfg == NULL)
        why = "no configuration";
    else if (in->obs == NULL && in->n_obs > 0)
        why = "no observations";
    else if (in->n_obs > RSM_MAX_MEMBERS)
        why = "too many instances";
    else if (in->committed != NULL &&
             strcmp(in->committed->name, in->group) != 0)
        why = "committed state of another group";
    if (why == NULL)
        return 0;
    snprintf(out->reason, sizeof out->reason, "invalid input: %s", why);
    return RSM_EINVAL;
}

static int planner__decide_on_verdict(struct ctx *c)
{
    const struct rsm_master_verdict *v = c->in->verdict;
    const struct rsm_addr *m = &c->g->master;

    if (v == NULL) {
        planner__reasonf(c, "no verdict on the master");
        return 0;
    }
    switch (v->status) {
    case RSM_MASTER_OK:
        return planner__steady_state(c);
    case RSM_MASTER_UNREACHABLE_FROM_AGENT:
        planner__reasonf(c, "master unreachable from agent: %s", v->reason);
        return 0;
    case RSM_MASTER_DOWN:
        if (planner__held_back(c))
            return 0;
        return planner__decide(c, RSM_FAILOVER_AUTOMATIC, m, v->reason);
    case RSM_MASTER_FAILED_RESTART:
        return planner__decide(c, RSM_FAILOVER_AUTOMATIC, m, v->reason);
    }
    planner__reasonf(c, "unknown verdict %d", (int)v->status);
    return 0;
}

int rsm_planner_next(const struct rsm_planner_input *in,
                     struct rsm_planner_plan *plan)
{
    struct ctx c;
    int rc;

    assert(plan != NULL);
    memset(plan, 0, sizeof *plan);
    plan->kind = RSM_PLAN_NONE;
    rc = in == NULL ? RSM_EINVAL : planner__check_input(in, plan);
    if (rc != 0) {
        if (in == NULL)
            snprintf(plan->reason, sizeof plan->reason, "invalid input: none");
        return rc;
    }
    memset(&c, 0, sizeof c);
    c.in = in;
    c.g = in->committed;
    c.out = plan;
    c.now = in->now_ms;
    c.down_after = in->cfg->down_after_ms;
    c.max_info_age =
        in->cfg->max_info_age_ms > 0 ? in->cfg->max_info_age_ms : c.down_after;
    c.parallel_syncs =
        in->cfg->parallel_syncs > 0 ? in->cfg->parallel_syncs : 1;
    rsm_entry_init(&plan->entry, RSM_ENTRY_NONE, in->group, c.now);
    if (c.g != NULL && c.g->in_flight)
        return planner__run_failover(&c);
    if (in->manual_failover && c.g != NULL && c.g->has_master)
        return planner__decide(&c, RSM_FAILOVER_MANUAL, &c.g->master,
                               in->force ? "manual failover forced"
                                         : "manual failover requested");
    if (in->switchover && c.g != NULL && c.g->has_master)
        return planner__switchover_requested(&c);
    if (c.g != NULL && c.g->paused) {
        planner__reasonf(&c, "paused");
        return 0;
    }
    if (c.g == NULL || !c.g->has_master)
        return planner__first_start(&c);
    return planner__decide_on_verdict(&c);
}

/* ======================================================================
 * Names
 * ====================================================================== */

const char *rsm_plan_kind_str(enum rsm_plan_kind k)
{
    switch (k) {
    case RSM_PLAN_NONE:
        return "none";
    case RSM_PLAN_PROPOSE:
        return "propose";
    case RSM_PLAN_REDIS:
        return "redis";
    }
    return "invalid";
}

const char *rsm_failover_state_str(enum rsm_failover_state s)
{
    switch (s) {
    case RSM_FO_NONE:
        return "none";
    case RSM_FO_SELECT_SLAVE:
        return "select-slave";
    case RSM_FO_SEND_PROMOTE:
        return "send-promote";
    case RSM_FO_WAIT_PROMOTION:
        return "wait-promotion";
    case RSM_FO_RECONF_SLAVES:
        return "reconf-slaves";
    case RSM_FO_DEMOTE_OLD_MASTER:
        return "demote-old-master";
    case RSM_FO_PAUSE_WRITES:
        return "pause-writes";
    case RSM_FO_SWAP_ROLES:
        return "swap-roles";
    }
    return "invalid";
}

const char *rsm_redis_cmd_str(enum rsm_redis_cmd c)
{
    switch (c) {
    case RSM_CMD_REPLICAOF_NO_ONE:
        return "REPLICAOF NO ONE";
    case RSM_CMD_REPLICAOF:
        return "REPLICAOF";
    case RSM_CMD_FAILOVER:
        return "FAILOVER";
    case RSM_CMD_FAILOVER_ABORT:
        return "FAILOVER ABORT";
    case RSM_CMD_CLIENT_PAUSE:
        return "CLIENT PAUSE";
    case RSM_CMD_CLIENT_UNPAUSE:
        return "CLIENT UNPAUSE";
    }
    return "invalid";
}
