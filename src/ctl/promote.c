/* promote.c - `rsmctl promote`: the seed tool's one-shot promotion, done
 * safely.
 *
 * Phases, in order, each run to completion on one libuv loop:
 *   probe    INFO replication/server/persistence on every endpoint at once
 *   decide   rsm_topology_decide() on what answered (pure, src/core)
 *   promote  REPLICAOF NO ONE on the chosen replica, then verify role:master
 *   repoint  REPLICAOF <new master> on every other reachable instance
 * Every step is printed when it completes. Nothing is contacted before all
 * of the input (flags, addresses, password file) has been checked.
 *
 * This file: the loop, the probe, the decision; promote.h lists the rest. */
#include "promote.h"
#include "rsm/policy.h"

#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const INFO_SECTIONS[] = {"replication", "server",
                                            "persistence"};
#define N_INFO_SECTIONS (sizeof INFO_SECTIONS / sizeof INFO_SECTIONS[0])

/* ------------------------------------------------------------------------
 * Running commands on the loop
 * ---------------------------------------------------------------------- */

/* Run the loop until every callback of the current phase has run. */
void promote_wait_all(struct promote_run *run)
{
    while (run->pending > 0)
        uv_run(&run->loop, UV_RUN_ONCE);
}

static int promote__create_links(struct promote_run *run)
{
    struct promote_options *opt = run->opt;

    for (size_t i = 0; i < run->n; i++) {
        struct promote_endpoint *ep = &run->ep[i];
        struct rsm_redis_config cfg = {
            .addr = ep->addr,
            .user = opt->user,
            .password = opt->password[0] ? opt->password : NULL,
            .connect_timeout_ms = opt->timeout_ms,
            .tls = opt->tls.ctx,
        };
        int rv = rsm_redis_create(&run->loop, &cfg, &ep->link);
        if (rv != 0)
            return rv;
    }
    return 0;
}

static void promote__close_links(struct promote_run *run)
{
    for (size_t i = 0; i < run->n; i++) {
        if (run->ep[i].link != NULL)
            rsm_redis_close(run->ep[i].link, NULL, NULL);
        run->ep[i].link = NULL;
    }
    uv_run(&run->loop, UV_RUN_DEFAULT);
}

/* ------------------------------------------------------------------------
 * Phase 1: probe
 * ---------------------------------------------------------------------- */

static void promote__probe_failed(struct promote_endpoint *ep, int status,
                                  const char *msg)
{
    if (ep->probe_status == 0) {
        ep->probe_status = status;
        snprintf(ep->probe_err, sizeof ep->probe_err, "%s", msg);
    }
}

static void promote__on_probe(struct rsm_redis *r,
                              const struct rsm_redis_result *res, void *arg)
{
    struct promote_endpoint *ep = arg;
    char err[RSM_ERRMSG_SIZE], msg[PROMOTE_ERR_SIZE];

    assert(ep->run->pending > 0); /* one callback per command sent */
    ep->run->pending--;
    if (res->status != 0) {
        promote__probe_failed(ep, res->status, res->errmsg);
    } else if (res->reply->type != REDIS_REPLY_STRING) {
        snprintf(msg, sizeof msg, "%s: INFO reply is not a string", ep->name);
        promote__probe_failed(ep, RSM_EPROTO, msg);
    } else if (rsm_info_parse(&ep->info, res->reply->str, res->reply->len, err,
                              sizeof err) != 0) {
        snprintf(msg, sizeof msg, "%s: bad INFO reply: %s", ep->name, err);
        promote__probe_failed(ep, RSM_EPARSE, msg);
    }
    ep->answered_at = uv_now(&ep->run->loop);
}

static void promote__probe_all(struct promote_run *run)
{
    for (size_t i = 0; i < run->n; i++) {
        struct promote_endpoint *ep = &run->ep[i];

        rsm_info_init(&ep->info);
        for (size_t k = 0; k < N_INFO_SECTIONS; k++) {
            const char *argv[] = {"INFO", INFO_SECTIONS[k]};
            int rv = rsm_redis_command(ep->link, run->opt->timeout_ms,
                                       promote__on_probe, ep, 2, argv);
            if (rv != 0)
                promote__probe_failed(ep, rv, "cannot send INFO");
            else
                run->pending++;
        }
    }
    promote_wait_all(run);
    for (size_t i = 0; i < run->n; i++) {
        struct promote_endpoint *ep = &run->ep[i];
        struct rsm_candidate *c = &run->cand[i];

        c->addr = ep->addr;
        c->reachable = ep->probe_status == 0;
        c->info = c->reachable ? &ep->info : NULL;
        c->info_age_ms =
            c->reachable ? (int64_t)(uv_now(&run->loop) - ep->answered_at) : 0;
    }
}

/* Decide, print, act. Returns the exit code and sets *result. */
static int promote__decide_and_act(struct promote_run *run, const char **result)
{
    struct rsm_policy_config cfg;
    const struct rsm_plan *p = &run->plan;
    int rv;

    rsm_policy_config_init(&cfg);
    rv = rsm_topology_decide(run->cand, run->n, &cfg, &run->plan);
    if (!run->opt->json)
        promote_print_table(run);
    if (rv != 0) {
        fprintf(run->human, "decision: none: %s\n", p->reason);
        *result = "refused";
        return RSMCTL_EXIT_UNAVAILABLE;
    }
    fprintf(run->human, "decision: %s: %s\n", rsm_verdict_str(p->verdict),
            promote_skip_word(p->reason, rsm_verdict_str(p->verdict)));
    switch (p->verdict) {
    case RSM_VERDICT_HEALTHY:
        *result = "nothing-to-do";
        return RSMCTL_EXIT_OK;
    case RSM_VERDICT_REPOINT:
    case RSM_VERDICT_PROMOTE:
    case RSM_VERDICT_MISCONFIGURED:
        break;
    default:
        *result = "refused";
        return RSMCTL_EXIT_UNAVAILABLE;
    }
    if (run->opt->dry_run) {
        fprintf(run->human, "dry run: nothing changed\n");
        *result = "dry-run";
        return RSMCTL_EXIT_OK;
    }
    return promote_act(run, result);
}

/* ------------------------------------------------------------------------
 * Entry point
 * ---------------------------------------------------------------------- */

static int promote__run(struct promote_run *run, const char **result)
{
    char ts[32];
    int rv;

    rv = promote__create_links(run);
    if (rv != 0) {
        fprintf(stderr, "rsmctl promote: %s\n", rsm_strerror(rv));
        *result = "failed";
        return RSMCTL_EXIT_FAILED;
    }
    fprintf(run->human, "%s  probing %zu endpoint%s (timeout %" PRIu64 " ms)\n",
            rsmctl_timestamp(ts, sizeof ts), run->n, run->n == 1 ? "" : "s",
            run->opt->timeout_ms);
    promote__probe_all(run);
    return promote__decide_and_act(run, result);
}

int rsmctl_promote(int argc, char **argv)
{
    struct promote_options *opt = calloc(1, sizeof *opt);
    struct promote_run *run = calloc(1, sizeof *run);
    const char *result = "failed";
    int code;

    if (opt == NULL || run == NULL) {
        fprintf(stderr, "rsmctl promote: out of memory\n");
        code = RSMCTL_EXIT_FAILED;
        goto out_free;
    }
    code = promote_parse_options(argc, argv, opt);
    if (code == 0 && opt->srv != NULL)
        code = promote_add_srv_targets(opt);
    if (code != 0) {
        code = code < 0 ? RSMCTL_EXIT_OK : code;
        goto out_free;
    }
    run->opt = opt;
    run->human = opt->json ? stderr : stdout;
    run->n = opt->n;
    run->steps = json_array();
    for (size_t i = 0; i < opt->n; i++) {
        run->ep[i].addr = opt->addrs[i];
        run->ep[i].run = run;
        rsm_addr_format(&opt->addrs[i], run->ep[i].name,
                        sizeof run->ep[i].name);
    }
    uv_loop_init(&run->loop);
    code = promote__run(run, &result);
    promote__close_links(run);
    if (uv_loop_close(&run->loop) != 0)
        fprintf(stderr, "rsmctl promote: warning: handles left open\n");
    if (opt->json)
        promote_print_json(run, result, code);
    json_decref(run->steps);

out_free:
    if (opt != NULL) {
        explicit_bzero(opt->password, sizeof opt->password);
        tlsflags_free(&opt->tls); /* every link is closed */
    }
    free(run);
    free(opt);
    return code;
}
