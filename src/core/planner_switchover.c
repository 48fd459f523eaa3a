/* planner_switchover.c - a switchover: the operator's request (refused,
 * or decided with its method), and in flight the FAILOVER command
 * method. The pause method is in planner_switchover_pause.c. */
#include "planner_int.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* redis_version "X.Y.Z" at least 6.2: FAILOVER, CLIENT PAUSE WRITE and
 * CLIENT UNPAUSE exist. */
static bool planner__has_switchover_cmds(const struct rsm_info *i)
{
    int major = 0, minor = 0;

    if (sscanf(i->redis_version, "%d.%d", &major, &minor) != 2)
        return false;
    return major > 6 || (major == 6 && minor >= 2);
}

/* The method of a new switchover, and why (into why). */
static enum rsm_switchover_method planner__pick_method(const struct ctx *c,
                                                       const char *master,
                                                       char *why, size_t len)
{
    const char *err = c->in->failover_cmd_error;

    if (c->in->cfg->switchover_method == RSM_SWITCHOVER_PAUSE) {
        snprintf(why, len, "switchover requested (pause method)");
        return RSM_SWITCHOVER_PAUSE;
    }
    if (c->in->failover_cmd == RSM_FAILOVER_CMD_UNUSABLE) {
        snprintf(why, len,
                 "switchover requested (pause method: FAILOVER %s on %.60s)",
                 err != NULL && strncmp(err, "NOPERM", 6) == 0 ? "denied by ACL"
                                                               : "unknown",
                 master);
        return RSM_SWITCHOVER_PAUSE;
    }
    snprintf(why, len, "switchover requested");
    return RSM_SWITCHOVER_FAILOVER_CMD;
}

int64_t planner__switchover_limit(const struct ctx *c, int64_t asked_ms)
{
    return asked_ms > 0 ? asked_ms : c->in->cfg->failover_timeout_ms;
}

/* An operator asked for a switchover (no failover in flight). */
int planner__switchover_requested(struct ctx *c)
{
    const struct rsm_observation *mo = planner__find_obs(c, &c->g->master);
    enum rsm_switchover_method method;
    char a[RSM_ADDR_STRLEN], why[RSM_REASON_MAX];
    int rc;

    assert(c->g->has_master && !c->g->in_flight);
    rsm_addr_format(&c->g->master, a, RSM_ADDR_STRLEN);
    if (c->g->paused) {
        c->out->code = RSM_PLAN_CODE_SWITCHOVER_REFUSED;
        planner__reasonf(c, "switchover refused: group paused");
        return 0;
    }
    if (mo == NULL || !planner__can_command(c, mo) || !planner__is_master(mo)) {
        c->out->code = RSM_PLAN_CODE_SWITCHOVER_REFUSED;
        planner__reasonf(
            c,
            "switchover refused: master %s not answering as role:master "
            "(a failover is what it needs)",
            a);
        return 0;
    }
    if (!planner__has_switchover_cmds(mo->info)) {
        c->out->code = RSM_PLAN_CODE_SWITCHOVER_REFUSED;
        planner__reasonf(
            c,
            "switchover refused: master %s runs Redis %s; before 6.2 "
            "there is no FAILOVER and no CLIENT PAUSE WRITE/UNPAUSE, so "
            "no switchover can be lossless: use a failover (SENTINEL "
            "FAILOVER, rsmctl failover), which may lose the writes not "
            "yet replicated",
            a, mo->info->redis_version);
        return 0;
    }
    method = planner__pick_method(c, a, why, sizeof why);
    if (method == RSM_SWITCHOVER_PAUSE &&
        planner__switchover_limit(c, c->in->switchover_timeout_ms) <=
            PAUSE_MARGIN_MS) {
        c->out->code = RSM_PLAN_CODE_SWITCHOVER_REFUSED;
        planner__reasonf(
            c,
            "switchover refused: the pause method needs a timeout above "
            "%d ms (writes are paused at most that long; the old master "
            "is demoted only with %d ms of pause left)",
            PAUSE_MARGIN_MS, PAUSE_MARGIN_MS);
        return 0;
    }
    rc = planner__decide_to(
        c, RSM_FAILOVER_SWITCHOVER, &c->g->master,
        rsm_addr_is_set(&c->in->switchover_to) ? &c->in->switchover_to : NULL,
        why);
    if (c->out->kind == RSM_PLAN_PROPOSE)
        c->out->entry.switchover_method = method;
    if (c->out->kind == RSM_PLAN_PROPOSE && method == RSM_SWITCHOVER_PAUSE &&
        c->in->failover_cmd == RSM_FAILOVER_CMD_UNUSABLE &&
        c->in->failover_cmd_error != NULL)
        planner__reason_append(c, "; FAILOVER replied: %s",
                               c->in->failover_cmd_error);
    return rc;
}

const char *planner__target_lost(const struct rsm_observation *o, const char *a,
                                 enum rsm_abort_code *code, char *why,
                                 size_t len)
{
    if (o == NULL || o->state == RSM_HEALTH_DOWN) {
        *code = RSM_ABORT_UNREACHABLE;
        snprintf(why, len, "%s unreachable", a);
        return "-failover-abort-slave-unreachable";
    }
    if (o->restarted_empty) {
        *code = RSM_ABORT_RESTARTED;
        snprintf(why, len, "%s restarted empty", a);
        return "-failover-abort-slave-restarted";
    }
    return NULL;
}

/* SEND_PROMOTE / WAIT_PROMOTION of a SWITCHOVER: ask the old master for
 * Redis's coordinated FAILOVER TO the target, with a timeout that ends
 * by the decision's deadline (a re-sent one too); see planner.h. */
int planner__switchover_phase(struct ctx *c, const struct flight *f)
{
    const struct rsm_observation *o = f->chosen, *old = f->old;
    int64_t limit = planner__switchover_limit(c, f->d->timeout_ms);
    int64_t left = limit - f->elapsed;
    bool old_seen = planner__usable(c, old);
    enum rsm_failover_cmd_state fs = old_seen && planner__is_master(old)
                                         ? old->info->failover_state
                                         : RSM_FOCMD_NONE;
    bool swapped = old_seen && planner__follows(old, f->new_m);
    const char *ev = NULL;
    enum rsm_abort_code code = RSM_ABORT_UNSPECIFIED;
    char why[RSM_ADDR_STRLEN + 64];
    struct rsm_redis_action *act;
    char a[RSM_ADDR_STRLEN], b[RSM_ADDR_STRLEN];

    assert(f->old_m != NULL); /* a switchover has an old master */
    rsm_addr_format(f->new_m, a, RSM_ADDR_STRLEN);
    rsm_addr_format(f->old_m, b, RSM_ADDR_STRLEN);
    if (planner__usable(c, o) && planner__is_master(o) && !o->restarted_empty)
        return planner__promote_phase(c, f); /* records the promotion */
    c->out->state = RSM_FO_SEND_PROMOTE;
    if (left < -1000) { /* Redis's own FAILOVER timeout has fired */
        ev = "-failover-abort-timeout";
        code = RSM_ABORT_TIMEOUT;
        snprintf(why, sizeof why, "%s not promoted within %lld ms", a,
                 (long long)limit);
    } else {
        ev = planner__target_lost(o, a, &code, why, sizeof why);
        if (ev == NULL && c->in->failover_cmd == RSM_FAILOVER_CMD_UNUSABLE &&
            fs == RSM_FOCMD_NONE && !swapped) {
            ev = "-failover-abort-failover-unusable";
            code = RSM_ABORT_OTHER;
            snprintf(why, sizeof why, "FAILOVER not usable on %s", b);
        }
    }
    if (ev != NULL) {
        bool overdue = left < -1000 - limit;

        if (!overdue && (swapped || fs == RSM_FOCMD_IN_PROGRESS)) {
            planner__reasonf(c,
                             "switchover to %s: %s; roles being swapped by %s: "
                             "waiting for the outcome",
                             a, why, b);
            return 0;
        }
        if (!overdue && fs == RSM_FOCMD_WAITING_SYNC) {
            planner__add_action(c, f->old_m, RSM_CMD_FAILOVER_ABORT, NULL);
            planner__reasonf(c, "switchover to %s: %s; FAILOVER ABORT on %s", a,
                             why, b);
            return 0;
        }
        if (!overdue && !old_seen && left >= -1000) {
            planner__reasonf(
                c,
                "switchover to %s: %s; %s not answering: waiting for "
                "its FAILOVER timeout",
                a, why, b);
            return 0;
        }
        return planner__abort_failover(
            c, f, code, ev, "switchover: %s, %s keeps serving", why, b);
    }
    if (left < 100) {
        planner__reasonf(
            c,
            "switchover to %s: deadline reached, waiting for %s to "
            "resume",
            a, b);
        return 0;
    }
    if (fs != RSM_FOCMD_NONE || swapped) {
        planner__reasonf(
            c, "switchover to %s: FAILOVER running on %s (%lld ms left)", a, b,
            (long long)left);
        return 0;
    }
    if (old == NULL || !planner__can_command(c, old) ||
        !planner__is_master(old) || !planner__linked_to(c, o, f->old_m)) {
        planner__reasonf(
            c,
            "switchover to %s: waiting for %s (role:master, answering) "
            "and %s linked to it",
            a, b, a);
        return 0;
    }
    planner__add_action(c, f->old_m, RSM_CMD_FAILOVER, f->new_m);
    act = &c->out->actions[c->out->n_actions - 1];
    act->timeout_ms = left;
    planner__reasonf(
        c, "switchover: FAILOVER TO %s on %s, %lld ms left (epoch %llu)", a, b,
        (long long)left, (unsigned long long)f->d->epoch);
    planner__event(c, "+failover-state-send-slaveof-noone", "%s %s epoch %llu",
                   c->in->group, a, (unsigned long long)f->d->epoch);
    return 0;
}
