/* promote_act.c - `rsmctl promote`, phases 2-3: REPLICAOF NO ONE on the
 * chosen replica and a check that it says role:master, then REPLICAOF
 * <new master> on every other reachable instance, all at once. Every step
 * is printed (and recorded for --json) when it completes. */
#include "promote.h"

#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Print and record one finished step. */
static void promote__report_step(struct promote_run *run,
                                 const struct promote_action *a, uint64_t ms)
{
    char ts[32];
    json_t *s = json_object();

    rsmctl_timestamp(ts, sizeof ts);
    if (a->status == 0)
        fprintf(run->human, "%s  %-8s %s  %s: ok (%" PRIu64 " ms)\n", ts,
                a->what, a->ep->name, a->command, ms);
    else
        fprintf(run->human, "%s  %-8s %s  %s: FAILED: %s\n", ts, a->what,
                a->ep->name, a->command, a->err);
    fflush(run->human);
    json_object_set_new(s, "time", json_string(ts));
    json_object_set_new(s, "action", json_string(a->what));
    json_object_set_new(s, "address", json_string(a->ep->name));
    json_object_set_new(s, "command", json_string(a->command));
    json_object_set_new(s, "ok", json_boolean(a->status == 0));
    json_object_set_new(s, "error",
                        a->status ? json_string(a->err) : json_null());
    json_object_set_new(s, "ms", json_integer((json_int_t)ms));
    json_array_append_new(run->steps, s);
}

static void promote__on_action(struct rsm_redis *r,
                               const struct rsm_redis_result *res, void *arg)
{
    struct promote_action *a = arg;
    struct rsm_info info;
    char err[RSM_ERRMSG_SIZE];

    assert(a->run->pending > 0); /* one callback per command sent */
    a->status = res->status;
    if (res->status != 0) {
        snprintf(a->err, sizeof a->err, "%s", res->errmsg);
    } else if (strcmp(a->what, "verify") == 0) {
        rsm_info_init(&info);
        if (res->reply->type != REDIS_REPLY_STRING ||
            rsm_info_parse(&info, res->reply->str, res->reply->len, err,
                           sizeof err) != 0) {
            a->status = RSM_EPARSE;
            snprintf(a->err, sizeof a->err, "%s: bad INFO reply", a->ep->name);
        } else if (info.role != RSM_ROLE_MASTER) {
            a->status = RSM_EREJECTED;
            snprintf(a->err, sizeof a->err, "%s: still reports role %s",
                     a->ep->name, rsm_role_str(info.role));
        }
    }
    if (a->status != 0)
        a->run->failed++;
    promote__report_step(a->run, a, res->latency_ms);
    a->run->pending--;
}

/* Send one action command; its callback reports it. */
static void promote__start_action(struct promote_run *run,
                                  struct promote_action *a,
                                  struct promote_endpoint *ep, const char *what,
                                  int argc, const char *const *argv)
{
    int rv;

    a->run = run;
    a->ep = ep;
    a->what = what;
    a->command[0] = '\0';
    for (int i = 0; i < argc; i++)
        snprintf(a->command + strlen(a->command),
                 sizeof a->command - strlen(a->command), "%s%s", i ? " " : "",
                 argv[i]);
    if (strcmp(what, "verify") == 0)
        snprintf(a->command + strlen(a->command),
                 sizeof a->command - strlen(a->command), " -> role:master");
    rv = rsm_redis_command(ep->link, run->opt->timeout_ms, promote__on_action,
                           a, argc, argv);
    if (rv != 0) {
        a->status = rv;
        snprintf(a->err, sizeof a->err, "%s: cannot send: %s", ep->name,
                 rsm_strerror(rv));
        run->failed++;
        promote__report_step(run, a, 0);
        return;
    }
    run->pending++;
}

/* REPLICAOF NO ONE on the chosen one, then check it says role:master. */
static int promote__master(struct promote_run *run, struct promote_endpoint *m)
{
    static const char *const no_one[] = {"REPLICAOF", "NO", "ONE"};
    static const char *const info[] = {"INFO", "replication"};
    struct promote_action a = {0};

    run->failed = 0;
    promote__start_action(run, &a, m, "promote", 3, no_one);
    promote_wait_all(run);
    if (run->failed == 0) {
        promote__start_action(run, &a, m, "verify", 2, info);
        promote_wait_all(run);
    }
    return run->failed == 0 ? 0 : -1;
}

/* REPLICAOF <master> on every instance of the plan's repoint list, all at
 * once. Returns the number that failed. */
static unsigned promote__repoint_all(struct promote_run *run,
                                     struct promote_endpoint *m,
                                     struct promote_action *acts)
{
    char port[8];
    const char *argv[] = {"REPLICAOF", m->addr.host, port};
    const struct rsm_plan *p = &run->plan;

    snprintf(port, sizeof port, "%u", m->addr.port);
    run->failed = 0;
    for (size_t i = 0; i < p->n_repoint; i++)
        promote__start_action(run, &acts[i], &run->ep[p->repoint[i]], "repoint",
                              3, argv);
    promote_wait_all(run);
    return run->failed;
}

/* What a re-run still has to do, for the failure message. */
static void promote__say_left(struct promote_run *run,
                              const struct promote_action *acts, size_t n,
                              bool all)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        if (!all && acts[i].status == 0)
            continue;
        fprintf(run->human, "%s%s", k++ ? ", " : "",
                run->ep[run->plan.repoint[i]].name);
    }
    if (k == 0)
        fputs("nothing", run->human);
}

/* Carry out the plan. Returns the exit code and sets *result. */
int promote_act(struct promote_run *run, const char **result)
{
    const struct rsm_plan *p = &run->plan;
    struct promote_endpoint *m = &run->ep[p->master];
    struct promote_action acts[RSM_TOPOLOGY_MAX];
    unsigned failed;

    /* only a plan that acts gets here, and it has a master to keep */
    assert(p->master >= 0 && (size_t)p->master < run->n);
    memset(acts, 0, sizeof acts);
    if (p->promote && promote__master(run, m) != 0) {
        fprintf(run->human,
                "failed part-way: could not promote %s; left to do: promote "
                "%s, then re-point ",
                m->name, m->name);
        promote__say_left(run, acts, p->n_repoint, true);
        fputs(" (run the same command again)\n", run->human);
        *result = "failed";
        return RSMCTL_EXIT_FAILED;
    }
    failed = promote__repoint_all(run, m, acts);
    if (failed > 0) {
        fprintf(run->human,
                "failed part-way: %s is master, %u of %zu re-points failed; "
                "left to do: re-point ",
                m->name, failed, p->n_repoint);
        promote__say_left(run, acts, p->n_repoint, false);
        fputs(" (run the same command again)\n", run->human);
        *result = "failed";
        return RSMCTL_EXIT_FAILED;
    }
    fprintf(run->human, "done: %s is master%s; %zu instance%s re-pointed\n",
            m->name, p->promote ? " (promoted)" : "", p->n_repoint,
            p->n_repoint == 1 ? "" : "s");
    *result = "done";
    return RSMCTL_EXIT_OK;
}
