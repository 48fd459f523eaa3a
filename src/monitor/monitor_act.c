/* monitor_act.c - acting on Redis as plans say (leader only): the
 * REPLICAOF / FAILOVER / CLIENT PAUSE commands, the CONFIG REWRITE after a
 * role change, the pause-switchover record, and the check of the FAILOVER
 * command before a switchover. */
#include "monitor_int.h"
#include "rsm/clock.h"
#include "rsm/err.h"
#include "rsm/log.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Acting on Redis (leader only, as plans say)
 * ---------------------------------------------------------------------- */

/* One action in flight: its command, and for CLIENT PAUSE the INFO
 * replication pipelined right after it. Freed when the last reply is in. */
struct action_ctx {
    struct instance *in;
    struct rsm_redis_action action;
    uint64_t epoch;    /* of the plan that sent it */
    int64_t sent_wall; /* wall clock at send (pause record) */
    unsigned pending;  /* replies still to come */
    int status;        /* of the command (not of the INFO) */
    char errmsg[RSM_ERRMSG_SIZE];
    int64_t offset; /* CLIENT PAUSE: master_repl_offset after it */
};

static bool monitor__same_action(const struct rsm_redis_action *a,
                                 const struct rsm_redis_action *b)
{
    return a->cmd == b->cmd && rsm_addr_equal(&a->addr, &b->addr) &&
           (a->cmd == RSM_CMD_REPLICAOF_NO_ONE ||
            a->cmd == RSM_CMD_FAILOVER_ABORT ||
            a->cmd == RSM_CMD_CLIENT_PAUSE ||
            a->cmd == RSM_CMD_CLIENT_UNPAUSE ||
            rsm_addr_equal(&a->master, &b->master));
}

/* An error reply that says FAILOVER cannot be used here: renamed away or
 * disabled ("ERR unknown command"), or denied by ACL ("NOPERM"). */
static bool monitor__failover_unusable(const char *reply)
{
    return strncmp(reply, "NOPERM", 6) == 0 ||
           strstr(reply, "unknown command") != NULL;
}

static void monitor__record_failover_cmd(struct group *g,
                                         const struct rsm_addr *a,
                                         enum rsm_failover_cmd_use use,
                                         const char *error)
{
    char s[RSM_ADDR_STRLEN], q[RSM_REASON_MAX + 8];

    g->failover_cmd.addr = *a;
    g->failover_cmd.use = use;
    snprintf(g->failover_cmd.error, sizeof g->failover_cmd.error, "%.*s",
             (int)sizeof g->failover_cmd.error - 1, error ? error : "");
    rsm_log(use == RSM_FAILOVER_CMD_UNUSABLE ? RSM_LOG_WARN : RSM_LOG_INFO,
            "failover-cmd", "group=%s addr=%s usable=%s reply=%s", g->cfg.name,
            rsm_addr_format(a, s, sizeof s),
            use == RSM_FAILOVER_CMD_USABLE     ? "yes"
            : use == RSM_FAILOVER_CMD_UNUSABLE ? "no"
                                               : "unknown",
            rsm_log_quote(g->failover_cmd.error, q, sizeof q));
}

/* What the reply to a pause-switchover command means for the record. */
static void monitor__update_pause(struct group *g, const struct action_ctx *ctx)
{
    struct rsm_pause_record *p = &g->pause;
    const struct rsm_redis_action *act = &ctx->action;

    if (ctx->status != 0 && ctx->status != RSM_EREPLY)
        return; /* no answer: it may or may not have run; ask again */
    if (p->epoch != ctx->epoch || !rsm_addr_equal(&p->addr, &act->addr)) {
        memset(p, 0, sizeof *p);
        p->epoch = ctx->epoch;
        p->addr = act->addr;
    }
    if (act->cmd == RSM_CMD_CLIENT_UNPAUSE) {
        p->state = RSM_PAUSE_UNPAUSED;
    } else if (ctx->status == RSM_EREPLY) {
        p->state = RSM_PAUSE_REFUSED;
        snprintf(p->error, sizeof p->error, "%.*s", (int)sizeof p->error - 1,
                 ctx->errmsg);
    } else if (ctx->offset >= 0) {
        p->state = RSM_PAUSE_PAUSED;
        p->offset = ctx->offset;
        p->sent_ms = ctx->sent_wall;
        p->until_ms = ctx->sent_wall + act->timeout_ms;
    }
}

static void monitor__rewrite_cb(struct rsm_redis *r,
                                const struct rsm_redis_result *res, void *arg)
{
    struct instance *in = arg;
    char a[RSM_ADDR_STRLEN], q[RSM_ERRMSG_SIZE + 2], err[RSM_ERRMSG_SIZE];

    (void)r;
    if (res->status == RSM_ECANCELED || monitor_group_gone(in->g))
        return;
    rsm_addr_format(&in->g->cfg.addrs[in->index], a, sizeof a);
    if (res->status == 0) {
        rsm_log(RSM_LOG_INFO, "config-rewritten", "group=%s addr=%s",
                in->g->cfg.name, a);
        return;
    }
    monitor_result_errmsg(res, err, sizeof err);
    /* Started without a config file (or CONFIG disabled): nothing to keep
     * it in; the role then lasts until Redis restarts, as the operator
     * chose. */
    rsm_log(strstr(err, "without a config file") != NULL ? RSM_LOG_DEBUG
                                                         : RSM_LOG_WARN,
            "config-rewrite-failed", "group=%s addr=%s error=%s",
            in->g->cfg.name, a, rsm_log_quote(err, q, sizeof q));
}

/* Like Sentinel: after a role change, have Redis write it to its config
 * file, so that a restart does not bring back the replicaof line of
 * before the failover. */
void monitor_rewrite_config(struct instance *in)
{
    static const char *const argv[] = {"CONFIG", "REWRITE"};

    rsm_redis_command(in->link, monitor_probe_timeout(in->g->m) * 2,
                      monitor__rewrite_cb, in, 2, argv);
}

static void monitor__action_finish(struct action_ctx *ctx)
{
    struct instance *in = ctx->in;
    struct group *g = in->g;
    struct rsm_monitor *m = g->m;
    enum rsm_redis_cmd cmd = ctx->action.cmd;
    char a[RSM_ADDR_STRLEN], q[RSM_ERRMSG_SIZE + 2];

    in->acting = false;
    if (ctx->status == RSM_ECANCELED || monitor_group_gone(g)) {
        free(ctx);
        return;
    }
    in->action_done_ms = monitor_mono_ms(m);
    rsm_addr_format(&ctx->action.addr, a, sizeof a);
    if (cmd == RSM_CMD_CLIENT_PAUSE || cmd == RSM_CMD_CLIENT_UNPAUSE)
        monitor__update_pause(g, ctx);
    if (ctx->status == RSM_EREPLY && cmd == RSM_CMD_FAILOVER &&
        monitor__failover_unusable(ctx->errmsg))
        monitor__record_failover_cmd(g, &ctx->action.addr,
                                     RSM_FAILOVER_CMD_UNUSABLE, ctx->errmsg);
    if (ctx->status != 0 && cmd == RSM_CMD_FAILOVER &&
        strstr(ctx->errmsg, "already in progress") != NULL) {
        /* a re-sent FAILOVER while the first one runs: fine */
    } else if (ctx->status != 0) {
        rsm_log(RSM_LOG_WARN, "redis-command-failed",
                "group=%s addr=%s command=\"%s\" error=%s", g->cfg.name, a,
                rsm_redis_cmd_str(cmd),
                rsm_log_quote(ctx->errmsg, q, sizeof q));
        in->action_done_ms = -1; /* allow an immediate retry */
    } else if (cmd == RSM_CMD_REPLICAOF || cmd == RSM_CMD_REPLICAOF_NO_ONE) {
        monitor_rewrite_config(in);
    } else if (cmd == RSM_CMD_CLIENT_PAUSE) {
        rsm_log(RSM_LOG_INFO, "writes-paused",
                "group=%s addr=%s offset=%lld until_ms=%lld", g->cfg.name, a,
                (long long)g->pause.offset, (long long)g->pause.until_ms);
    }
    free(ctx);
    monitor_probe(in); /* see the effect as soon as possible */
    monitor_mark_dirty(g);
}

static void monitor__action_cb(struct rsm_redis *r,
                               const struct rsm_redis_result *res, void *arg)
{
    struct action_ctx *ctx = arg;

    (void)r;
    ctx->status = res->status;
    if (res->status != 0)
        monitor_result_errmsg(res, ctx->errmsg, sizeof ctx->errmsg);
    assert(ctx->pending > 0);
    if (--ctx->pending == 0)
        monitor__action_finish(ctx);
}

/* The INFO replication sent right after CLIENT PAUSE: the offset with
 * writes paused. */
static void monitor__pause_info_cb(struct rsm_redis *r,
                                   const struct rsm_redis_result *res,
                                   void *arg)
{
    struct action_ctx *ctx = arg;
    struct rsm_info info;
    char err[RSM_ERRMSG_SIZE];

    (void)r;
    rsm_info_init(&info);
    if (res->status == 0 && res->reply->type == REDIS_REPLY_STRING &&
        rsm_info_parse(&info, res->reply->str, res->reply->len, err,
                       sizeof err) == 0 &&
        info.role == RSM_ROLE_MASTER)
        ctx->offset = info.master_repl_offset;
    assert(ctx->pending > 0);
    if (--ctx->pending == 0)
        monitor__action_finish(ctx);
}

static void monitor__log_action(struct group *g,
                                const struct rsm_redis_action *act)
{
    char a[RSM_ADDR_STRLEN], to[RSM_ADDR_STRLEN];

    rsm_addr_format(&act->addr, a, sizeof a);
    switch (act->cmd) {
    case RSM_CMD_REPLICAOF:
        rsm_log(RSM_LOG_INFO, "redis-command",
                "group=%s addr=%s command=\"REPLICAOF %s\"", g->cfg.name, a,
                rsm_addr_format(&act->master, to, sizeof to));
        break;
    case RSM_CMD_FAILOVER:
        rsm_log(RSM_LOG_INFO, "redis-command",
                "group=%s addr=%s command=\"FAILOVER TO %s %u TIMEOUT %lld\"",
                g->cfg.name, a, act->master.host, (unsigned)act->master.port,
                (long long)act->timeout_ms);
        break;
    case RSM_CMD_CLIENT_PAUSE:
        rsm_log(RSM_LOG_INFO, "redis-command",
                "group=%s addr=%s command=\"CLIENT PAUSE %lld WRITE\"",
                g->cfg.name, a, (long long)act->timeout_ms);
        break;
    default:
        rsm_log(RSM_LOG_INFO, "redis-command",
                "group=%s addr=%s command=\"%s\"", g->cfg.name, a,
                rsm_redis_cmd_str(act->cmd));
        break;
    }
}

/* The command line of act into argv (buffers from the caller). */
static int monitor__action_argv(const struct rsm_redis_action *act,
                                const char **argv, char *port, size_t port_len,
                                char *ms, size_t ms_len)
{
    snprintf(port, port_len, "%u", act->master.port);
    snprintf(ms, ms_len, "%lld", (long long)act->timeout_ms);
    switch (act->cmd) {
    case RSM_CMD_REPLICAOF_NO_ONE:
        argv[0] = "REPLICAOF", argv[1] = "NO", argv[2] = "ONE";
        return 3;
    case RSM_CMD_REPLICAOF:
        argv[0] = "REPLICAOF", argv[1] = act->master.host, argv[2] = port;
        return 3;
    case RSM_CMD_FAILOVER:
        argv[0] = "FAILOVER", argv[1] = "TO", argv[2] = act->master.host;
        argv[3] = port, argv[4] = "TIMEOUT", argv[5] = ms;
        return 6;
    case RSM_CMD_FAILOVER_ABORT:
        argv[0] = "FAILOVER", argv[1] = "ABORT";
        return 2;
    case RSM_CMD_CLIENT_PAUSE:
        argv[0] = "CLIENT", argv[1] = "PAUSE", argv[2] = ms;
        argv[3] = "WRITE";
        return 4;
    case RSM_CMD_CLIENT_UNPAUSE:
        argv[0] = "CLIENT", argv[1] = "UNPAUSE";
        return 2;
    }
    return 0;
}

void monitor_send_action(struct group *g, const struct rsm_redis_action *act,
                         uint64_t epoch)
{
    static const char *const info_repl[] = {"INFO", "replication"};
    struct rsm_monitor *m = g->m;
    struct instance *in = monitor_find_instance(g, &act->addr);
    struct action_ctx *ctx;
    char port[8], ms[24];
    const char *argv[6];
    int argc;

    assert(in == NULL || in->g == g);
    if (in == NULL)
        return;
    /* Skip what is in flight, or done and not yet seen by a later probe:
     * one sent after the action's reply came, so in a later millisecond
     * (a probe sent in the same one may have gone out before the action
     * and show the state before it). */
    if (in->acting && monitor__same_action(&in->action, act))
        return;
    if (in->action_done_ms >= 0 && monitor__same_action(&in->action, act) &&
        in->fed_probe_sent_ms <= in->action_done_ms)
        return;
    argc = monitor__action_argv(act, argv, port, sizeof port, ms, sizeof ms);
    ctx = calloc(1, sizeof *ctx);
    if (argc == 0 || ctx == NULL) {
        free(ctx);
        return;
    }
    if (act->cmd == RSM_CMD_REPLICAOF_NO_ONE)
        monitor_fence_before_promotion(in); /* sent first, on the same link */
    g->busy_until_ms = monitor_mono_ms(m) + BUSY_HOLD_MS; /* see what it does */
    ctx->in = in;
    ctx->action = *act;
    ctx->epoch = epoch;
    ctx->sent_wall = rsm_clock_wall_ms();
    ctx->offset = -1;
    if (rsm_redis_command(in->link, monitor_probe_timeout(m) * 2,
                          monitor__action_cb, ctx, argc, argv) != 0) {
        free(ctx);
        return;
    }
    ctx->pending = 1;
    /* Same connection, right after: answered with writes paused. */
    if (act->cmd == RSM_CMD_CLIENT_PAUSE &&
        rsm_redis_command(in->link, monitor_probe_timeout(m) * 2,
                          monitor__pause_info_cb, ctx, 2, info_repl) == 0)
        ctx->pending++;
    in->acting = true;
    in->action = *act;
    monitor__log_action(g, act);
}

/* Before a switchover by FAILOVER TO: ask the master "FAILOVER
 * RSM-CHECK", which every Redis >= 6.2 refuses with a syntax error and
 * without doing anything, while a renamed or disabled FAILOVER gives
 * "unknown command" and an ACL that denies it "NOPERM". */
struct check_ctx {
    struct group *g;
    struct rsm_addr addr;
    unsigned seq;
};

static void monitor__check_cb(struct rsm_redis *r,
                              const struct rsm_redis_result *res, void *arg)
{
    struct check_ctx *ctx = arg;
    struct group *g = ctx->g;
    char err[RSM_REASON_MAX] = "";

    (void)r;
    if (res->status == RSM_ECANCELED || monitor_group_gone(g)) {
        free(ctx);
        return;
    }
    if (res->status == RSM_EREPLY && res->reply != NULL)
        snprintf(err, sizeof err, "%.*s", (int)res->reply->len,
                 res->reply->str);
    if (res->status == RSM_EREPLY && monitor__failover_unusable(err))
        monitor__record_failover_cmd(g, &ctx->addr, RSM_FAILOVER_CMD_UNUSABLE,
                                     err);
    else if (res->status == RSM_EREPLY || res->status == 0)
        monitor__record_failover_cmd(g, &ctx->addr, RSM_FAILOVER_CMD_USABLE,
                                     err);
    else
        monitor__record_failover_cmd(g, &ctx->addr, RSM_FAILOVER_CMD_UNKNOWN,
                                     res->errmsg);
    if (g->check_seq == ctx->seq && g->manual.checking) {
        g->manual.checking = false;
        monitor_mark_dirty(g);
    }
    free(ctx);
}

/* Returns true if the check was sent (the request waits for it). */
bool monitor_check_failover_cmd(struct group *g, const struct rsm_addr *master)
{
    static const char *const argv[] = {"FAILOVER", "RSM-CHECK"};
    struct instance *in = monitor_find_instance(g, master);
    struct check_ctx *ctx;

    if (in == NULL || (ctx = calloc(1, sizeof *ctx)) == NULL)
        return false;
    ctx->g = g;
    ctx->addr = *master;
    ctx->seq = ++g->check_seq;
    if (rsm_redis_command(in->link, monitor_probe_timeout(g->m),
                          monitor__check_cb, ctx, 2, argv) != 0) {
        free(ctx);
        return false;
    }
    return true;
}
