/* promote.c - `rsmctl promote`: the seed tool's one-shot promotion, done
 * safely.
 *
 * Phases, in order, each run to completion on one libuv loop:
 *   probe    INFO replication/server/persistence on every endpoint at once
 *   decide   rsm_topology_decide() on what answered (pure, src/core)
 *   promote  REPLICAOF NO ONE on the chosen replica, then verify role:master
 *   repoint  REPLICAOF <new master> on every other reachable instance
 * Every step is printed when it completes. Nothing is contacted before all
 * of the input (flags, addresses, password file) has been checked. */
#include "ctl.h"
#include "rsm/err.h"
#include "rsm/info.h"
#include "rsm/policy.h"
#include "rsm/redis.h"
#include "rsm/topology.h"

#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "rsmctl promote"

#define ERR_SIZE (RSM_ADDR_STRLEN + RSM_ERRMSG_SIZE + 64)

struct options {
    bool dry_run;
    bool json;
    const char *srv;
    const char *password_file;
    const char *user;
    uint64_t timeout_ms;
    size_t n;
    struct rsm_addr addrs[RSM_TOPOLOGY_MAX];
    char password[RSMCTL_SECRET_MAX]; /* "" for none; wiped at exit */
};

/* One endpoint: its link, what it said, the result of the last action. */
struct endpoint {
    struct rsm_addr addr;
    char name[RSM_ADDR_STRLEN];
    struct rsm_redis *link;
    struct rsm_info info;
    int probe_status; /* 0, or the first failure of the probe */
    char probe_err[ERR_SIZE];
    uint64_t answered_at; /* uv_now of the last probe reply */
    struct run *run;
};

/* One run of the command. Heap-allocated (it is large); owned by
 * rsmctl_promote(). */
struct run {
    uv_loop_t loop;
    struct options *opt;
    FILE *human; /* stdout, or stderr when --json owns stdout */
    size_t n;
    struct endpoint ep[RSM_TOPOLOGY_MAX];
    struct rsm_candidate cand[RSM_TOPOLOGY_MAX];
    struct rsm_plan plan;
    unsigned pending; /* command callbacks still due */
    unsigned failed;  /* actions that failed in the current phase */
    json_t *steps;
};

/* What one action callback needs. */
struct action {
    struct run *run;
    struct endpoint *ep;
    const char *what; /* "promote", "verify", "repoint" */
    char command[96]; /* for the report: "REPLICAOF NO ONE" */
    int status;
    bool is_master; /* verify: role:master seen */
    char err[ERR_SIZE];
};

static const char *const INFO_SECTIONS[] = {"replication", "server",
                                            "persistence"};
#define N_INFO_SECTIONS (sizeof INFO_SECTIONS / sizeof INFO_SECTIONS[0])

/* ------------------------------------------------------------------------
 * Options
 * ---------------------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: rsmctl promote [options] host:port ...\n"
        "\n"
        "Probe every endpoint, print what each one is, and if the master is\n"
        "gone promote the best replica (REPLICAOF NO ONE, then verify it is\n"
        "master) and re-point every other reachable instance to it. On a\n"
        "healthy set it changes nothing; running it again converges.\n"
        "Hosts: names, IPv4, or [IPv6]. Ranking: lower replica-priority,\n"
        "then higher offset, then most recent contact with the master, then\n"
        "run_id; priority 0 is never promoted.\n"
        "\n"
        "options:\n"
        "  --dry-run             decide and print; change nothing\n"
        "  --json                print the table, decision and steps as JSON\n"
        "                        on stdout (progress goes to stderr)\n"
        "  --srv NAME            add the targets of DNS SRV record NAME\n"
        "  --password-file FILE  AUTH password (first line of FILE); else\n"
        "                        the environment variable RSM_REDIS_PASSWORD\n"
        "  --user USER           ACL user for AUTH (needs a password)\n"
        "  --timeout-ms N        connect and command timeout (default 1000)\n"
        "  -h, --help            this text\n"
        "\n"
        "exit codes:\n"
        "  0  nothing needed, or promotion / re-pointing done\n"
        "  1  attempted and failed part-way (says which instance and what is\n"
        "     left to do; running it again resumes)\n"
        "  2  usage error (bad flag, address, port or password file);\n"
        "     nothing was contacted\n"
        "  3  nothing reachable, no eligible replica, or refusing to act\n"
        "     (a replica still hears from a master that is not reachable)\n");
}

static int add_addr(struct options *opt, const struct rsm_addr *a,
                    const char *given)
{
    char buf[RSM_ADDR_STRLEN];

    for (size_t i = 0; i < opt->n; i++) {
        if (rsm_addr_equal(&opt->addrs[i], a))
            return rsmctl_usage_error(PROG, "address %s given twice",
                                      rsm_addr_format(a, buf, sizeof buf));
    }
    if (opt->n == RSM_TOPOLOGY_MAX)
        return rsmctl_usage_error(PROG,
                                  "too many endpoints at '%s' (at most %d)",
                                  given, RSM_TOPOLOGY_MAX);
    opt->addrs[opt->n++] = *a;
    return 0;
}

/* rsm_addr_parse messages may start with "'<text>': "; we already say it. */
static const char *skip_quoted_prefix(const char *msg, const char *text)
{
    size_t n = strlen(text);

    if (msg[0] == '\'' && strncmp(msg + 1, text, n) == 0 &&
        strncmp(msg + 1 + n, "': ", 3) == 0)
        return msg + n + 4;
    return msg;
}

/* "healthy: x" -> "x" when word is "healthy" (the verdict is printed
 * already). */
static const char *skip_word(const char *msg, const char *word)
{
    size_t n = strlen(word);

    if (strncmp(msg, word, n) == 0 && strncmp(msg + n, ": ", 2) == 0)
        return msg + n + 2;
    return msg;
}

enum { OPT_DRY_RUN = 256, OPT_JSON, OPT_SRV, OPT_PWFILE, OPT_USER, OPT_TMO };

static const struct option long_options[] = {
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"json", no_argument, NULL, OPT_JSON},
    {"srv", required_argument, NULL, OPT_SRV},
    {"password-file", required_argument, NULL, OPT_PWFILE},
    {"user", required_argument, NULL, OPT_USER},
    {"timeout-ms", required_argument, NULL, OPT_TMO},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Returns 0 to go on, -1 after --help, or RSMCTL_EXIT_USAGE. */
static int parse_flags(int argc, char **argv, struct options *opt)
{
    int c;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
        switch (c) {
        case OPT_DRY_RUN:
            opt->dry_run = true;
            break;
        case OPT_JSON:
            opt->json = true;
            break;
        case OPT_SRV:
            opt->srv = optarg;
            break;
        case OPT_PWFILE:
            opt->password_file = optarg;
            break;
        case OPT_USER:
            opt->user = optarg;
            break;
        case OPT_TMO:
            if (rsmctl_parse_uint(optarg, 1, 600000, &opt->timeout_ms) != 0)
                return rsmctl_usage_error(
                    PROG,
                    "--timeout-ms '%s': expected a number of "
                    "milliseconds, 1-600000",
                    optarg);
            break;
        case 'h':
            usage(stdout);
            return -1;
        case ':':
            return rsmctl_usage_error(PROG, "option '%s' needs a value",
                                      argv[optind - 1]);
        default:
            return rsmctl_usage_error(PROG, "unknown option '%s'",
                                      argv[optind - 1]);
        }
    }
    return 0;
}

/* Flags, addresses, SRV targets, password: everything checked before any
 * Redis is contacted. Returns 0, -1 after --help, or an exit code. */
static int parse_options(int argc, char **argv, struct options *opt)
{
    char err[ERR_SIZE];
    struct rsm_addr a;
    int rv;

    opt->timeout_ms = 1000;
    rv = parse_flags(argc, argv, opt);
    if (rv != 0)
        return rv;
    for (int i = optind; i < argc; i++) {
        if (rsm_addr_parse(argv[i], &a, err, sizeof err) != 0)
            return rsmctl_usage_error(PROG, "bad address '%s': %s", argv[i],
                                      skip_quoted_prefix(err, argv[i]));
        rv = add_addr(opt, &a, argv[i]);
        if (rv != 0)
            return rv;
    }
    if (opt->n == 0 && opt->srv == NULL)
        return rsmctl_usage_error(
            PROG, "no endpoints: give host:port arguments or --srv");
    if (opt->srv != NULL && opt->srv[0] == '\0')
        return rsmctl_usage_error(PROG, "--srv needs a non-empty name");
    rv = rsmctl_read_secret(opt->password_file, "RSM_REDIS_PASSWORD",
                            opt->password, sizeof opt->password, err,
                            sizeof err);
    if (rv != 0)
        return rsmctl_usage_error(PROG, "password: %s", err);
    if (opt->user != NULL && opt->password[0] == '\0')
        return rsmctl_usage_error(PROG,
                                  "--user needs a password (--password-file or "
                                  "RSM_REDIS_PASSWORD)");
    return 0;
}

/* Append the targets of --srv. 0, or an exit code after the message. */
static int add_srv_targets(struct options *opt)
{
    struct rsm_addr found[RSM_TOPOLOGY_MAX];
    char err[ERR_SIZE];
    size_t n = 0;
    int rv;

    rv = rsmctl_srv_lookup(opt->srv, found, RSM_TOPOLOGY_MAX, &n, err,
                           sizeof err);
    if (rv == RSM_EINVAL)
        return rsmctl_usage_error(PROG, "%s", err);
    if (rv != 0) {
        fprintf(stderr, "rsmctl promote: %s\n", err);
        return RSMCTL_EXIT_UNAVAILABLE;
    }
    for (size_t i = 0; i < n; i++) {
        bool dup = false;
        for (size_t j = 0; j < opt->n; j++)
            dup = dup || rsm_addr_equal(&opt->addrs[j], &found[i]);
        if (dup)
            continue;
        rv = add_addr(opt, &found[i], opt->srv);
        if (rv != 0)
            return rv;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Running commands on the loop
 * ---------------------------------------------------------------------- */

/* Run the loop until every callback of the current phase has run. */
static void wait_all(struct run *run)
{
    while (run->pending > 0)
        uv_run(&run->loop, UV_RUN_ONCE);
}

static int create_links(struct run *run)
{
    struct options *opt = run->opt;

    for (size_t i = 0; i < run->n; i++) {
        struct endpoint *ep = &run->ep[i];
        struct rsm_redis_config cfg = {
            .addr = ep->addr,
            .user = opt->user,
            .password = opt->password[0] ? opt->password : NULL,
            .connect_timeout_ms = opt->timeout_ms,
        };
        int rv = rsm_redis_create(&run->loop, &cfg, &ep->link);
        if (rv != 0)
            return rv;
    }
    return 0;
}

static void close_links(struct run *run)
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

static void probe_failed(struct endpoint *ep, int status, const char *msg)
{
    if (ep->probe_status == 0) {
        ep->probe_status = status;
        snprintf(ep->probe_err, sizeof ep->probe_err, "%s", msg);
    }
}

static void on_probe(struct rsm_redis *r, const struct rsm_redis_result *res,
                     void *arg)
{
    struct endpoint *ep = arg;
    char err[RSM_ERRMSG_SIZE], msg[ERR_SIZE];

    ep->run->pending--;
    if (res->status != 0) {
        probe_failed(ep, res->status, res->errmsg);
    } else if (res->reply->type != REDIS_REPLY_STRING) {
        snprintf(msg, sizeof msg, "%s: INFO reply is not a string", ep->name);
        probe_failed(ep, RSM_EPROTO, msg);
    } else if (rsm_info_parse(&ep->info, res->reply->str, res->reply->len, err,
                              sizeof err) != 0) {
        snprintf(msg, sizeof msg, "%s: bad INFO reply: %s", ep->name, err);
        probe_failed(ep, RSM_EPARSE, msg);
    }
    ep->answered_at = uv_now(&ep->run->loop);
}

static void probe_all(struct run *run)
{
    for (size_t i = 0; i < run->n; i++) {
        struct endpoint *ep = &run->ep[i];

        rsm_info_init(&ep->info);
        for (size_t k = 0; k < N_INFO_SECTIONS; k++) {
            const char *argv[] = {"INFO", INFO_SECTIONS[k]};
            int rv = rsm_redis_command(ep->link, run->opt->timeout_ms, on_probe,
                                       ep, 2, argv);
            if (rv != 0)
                probe_failed(ep, rv, "cannot send INFO");
            else
                run->pending++;
        }
    }
    wait_all(run);
    for (size_t i = 0; i < run->n; i++) {
        struct endpoint *ep = &run->ep[i];
        struct rsm_candidate *c = &run->cand[i];

        c->addr = ep->addr;
        c->reachable = ep->probe_status == 0;
        c->info = c->reachable ? &ep->info : NULL;
        c->info_age_ms =
            c->reachable ? (int64_t)(uv_now(&run->loop) - ep->answered_at) : 0;
    }
}

/* ------------------------------------------------------------------------
 * The table
 * ---------------------------------------------------------------------- */

#define N_COLS 8

static const char *const col_names[N_COLS] = {
    "ADDRESS", "ROLE", "FOLLOWS", "LINK", "OFFSET", "PRIO", "LAST-IO", "RANK",
};

struct row {
    char col[N_COLS][ERR_SIZE + 64];
};

static const struct rsm_rank *rank_of(const struct run *run, size_t i)
{
    for (size_t k = 0; k < run->plan.n_ranked; k++) {
        if (run->plan.ranking[k].index == i)
            return &run->plan.ranking[k];
    }
    return NULL;
}

static void fill_row(const struct run *run, size_t i, struct row *row)
{
    const struct endpoint *ep = &run->ep[i];
    const struct rsm_info *in = &ep->info;
    const struct rsm_rank *rk = rank_of(run, i);
    bool replica = in->role == RSM_ROLE_REPLICA;

    for (int k = 0; k < N_COLS; k++)
        strcpy(row->col[k], "-");
    snprintf(row->col[0], sizeof row->col[0], "%s", ep->name);
    if (ep->probe_status != 0) {
        snprintf(row->col[7], sizeof row->col[7], "excluded: unreachable: %s",
                 skip_word(ep->probe_err, ep->name));
        return;
    }
    snprintf(row->col[1], sizeof row->col[1], "%s", rsm_role_str(in->role));
    if (replica) {
        rsm_addr_format(&in->master, row->col[2], sizeof row->col[2]);
        snprintf(row->col[3], sizeof row->col[3], "%s",
                 in->sync_in_progress ? "sync"
                 : in->link_up        ? "up"
                                      : "down");
        if (in->link_up && in->master_last_io_s >= 0)
            snprintf(row->col[6], sizeof row->col[6], "%" PRId64 "s",
                     in->master_last_io_s);
        else if (in->link_down_since_s >= 0)
            snprintf(row->col[6], sizeof row->col[6], "down %" PRId64 "s",
                     in->link_down_since_s);
    }
    if (rsm_info_offset(in) >= 0)
        snprintf(row->col[4], sizeof row->col[4], "%" PRId64,
                 rsm_info_offset(in));
    if (replica)
        snprintf(row->col[5], sizeof row->col[5], "%d", in->priority);
    if (rk != NULL && rk->rank > 0)
        snprintf(row->col[7], sizeof row->col[7], "#%u", rk->rank);
    else if (rk != NULL && rk->excluded != RSM_EXCL_NONE)
        snprintf(row->col[7], sizeof row->col[7], "excluded: %s",
                 rk->reason[0] ? rk->reason : rsm_exclusion_str(rk->excluded));
}

static void print_table(const struct run *run)
{
    struct row *rows = calloc(run->n, sizeof *rows);
    size_t w[N_COLS];

    if (rows == NULL)
        return;
    for (int k = 0; k < N_COLS; k++)
        w[k] = strlen(col_names[k]);
    for (size_t i = 0; i < run->n; i++) {
        fill_row(run, i, &rows[i]);
        for (int k = 0; k < N_COLS; k++)
            if (strlen(rows[i].col[k]) > w[k])
                w[k] = strlen(rows[i].col[k]);
    }
    for (int k = 0; k < N_COLS; k++)
        fprintf(run->human, "%-*s%s", k < N_COLS - 1 ? (int)w[k] : 0,
                col_names[k], k < N_COLS - 1 ? "  " : "\n");
    for (size_t i = 0; i < run->n; i++)
        for (int k = 0; k < N_COLS; k++)
            fprintf(run->human, "%-*s%s", k < N_COLS - 1 ? (int)w[k] : 0,
                    rows[i].col[k], k < N_COLS - 1 ? "  " : "\n");
    free(rows);
}

/* ------------------------------------------------------------------------
 * JSON
 * ---------------------------------------------------------------------- */

static json_t *json_addr(const struct rsm_addr *a)
{
    char buf[RSM_ADDR_STRLEN];

    return json_string(rsm_addr_format(a, buf, sizeof buf));
}

static json_t *json_instance(const struct run *run, size_t i)
{
    const struct endpoint *ep = &run->ep[i];
    const struct rsm_info *in = &ep->info;
    const struct rsm_rank *rk = rank_of(run, i);
    bool up = ep->probe_status == 0,
         replica = up && in->role == RSM_ROLE_REPLICA;
    json_t *o = json_object();

    json_object_set_new(o, "address", json_string(ep->name));
    json_object_set_new(o, "reachable", json_boolean(up));
    json_object_set_new(o, "error",
                        up ? json_null() : json_string(ep->probe_err));
    json_object_set_new(o, "role",
                        up ? json_string(rsm_role_str(in->role)) : json_null());
    json_object_set_new(o, "follows",
                        replica ? json_addr(&in->master) : json_null());
    json_object_set_new(o, "link_up",
                        replica ? json_boolean(in->link_up) : json_null());
    json_object_set_new(o, "offset",
                        up && rsm_info_offset(in) >= 0
                            ? json_integer(rsm_info_offset(in))
                            : json_null());
    json_object_set_new(o, "priority",
                        replica ? json_integer(in->priority) : json_null());
    json_object_set_new(o, "last_io_s",
                        replica && in->master_last_io_s >= 0
                            ? json_integer(in->master_last_io_s)
                            : json_null());
    json_object_set_new(o, "link_down_s",
                        replica && in->link_down_since_s >= 0
                            ? json_integer(in->link_down_since_s)
                            : json_null());
    json_object_set_new(o, "run_id",
                        up ? json_string(in->run_id) : json_null());
    json_object_set_new(o, "rank",
                        rk != NULL && rk->rank > 0 ? json_integer(rk->rank)
                                                   : json_null());
    json_object_set_new(o, "excluded",
                        rk != NULL && rk->excluded != RSM_EXCL_NONE
                            ? json_string(rsm_exclusion_str(rk->excluded))
                            : json_null());
    json_object_set_new(o, "reason",
                        !up ? json_string(ep->probe_err)
                        : rk != NULL && rk->reason[0] ? json_string(rk->reason)
                                                      : json_null());
    return o;
}

static void print_json(const struct run *run, const char *result, int code)
{
    const struct rsm_plan *p = &run->plan;
    json_t *root = json_object(), *inst = json_array(), *rep = json_array();

    for (size_t i = 0; i < run->n; i++)
        json_array_append_new(inst, json_instance(run, i));
    for (size_t i = 0; i < p->n_repoint; i++)
        json_array_append_new(rep, json_string(run->ep[p->repoint[i]].name));
    json_object_set_new(root, "verdict",
                        json_string(rsm_verdict_str(p->verdict)));
    json_object_set_new(root, "reason", json_string(p->reason));
    json_object_set_new(root, "master",
                        p->master >= 0 ? json_string(run->ep[p->master].name)
                                       : json_null());
    json_object_set_new(root, "promote", json_boolean(p->promote));
    json_object_set_new(root, "repoint", rep);
    json_object_set_new(root, "dry_run", json_boolean(run->opt->dry_run));
    json_object_set_new(root, "instances", inst);
    json_object_set_new(root, "steps", json_incref(run->steps));
    json_object_set_new(root, "result", json_string(result));
    json_object_set_new(root, "exit_code", json_integer(code));
    json_dumpf(root, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(root);
}

/* ------------------------------------------------------------------------
 * Phases 2-3: act
 * ---------------------------------------------------------------------- */

/* Print and record one finished step. */
static void report_step(struct run *run, const struct action *a, uint64_t ms)
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

static void on_action(struct rsm_redis *r, const struct rsm_redis_result *res,
                      void *arg)
{
    struct action *a = arg;
    struct rsm_info info;
    char err[RSM_ERRMSG_SIZE];

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
    report_step(a->run, a, res->latency_ms);
    a->run->pending--;
}

/* Send one action command; its callback reports it. */
static void start_action(struct run *run, struct action *a, struct endpoint *ep,
                         const char *what, int argc, const char *const *argv)
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
    rv = rsm_redis_command(ep->link, run->opt->timeout_ms, on_action, a, argc,
                           argv);
    if (rv != 0) {
        a->status = rv;
        snprintf(a->err, sizeof a->err, "%s: cannot send: %s", ep->name,
                 rsm_strerror(rv));
        run->failed++;
        report_step(run, a, 0);
        return;
    }
    run->pending++;
}

/* REPLICAOF NO ONE on the chosen one, then check it says role:master. */
static int promote_master(struct run *run, struct endpoint *m)
{
    static const char *const no_one[] = {"REPLICAOF", "NO", "ONE"};
    static const char *const info[] = {"INFO", "replication"};
    struct action a = {0};

    run->failed = 0;
    start_action(run, &a, m, "promote", 3, no_one);
    wait_all(run);
    if (run->failed == 0) {
        start_action(run, &a, m, "verify", 2, info);
        wait_all(run);
    }
    return run->failed == 0 ? 0 : -1;
}

/* REPLICAOF <master> on every instance of the plan's repoint list, all at
 * once. Returns the number that failed. */
static unsigned repoint_all(struct run *run, struct endpoint *m,
                            struct action *acts)
{
    char port[8];
    const char *argv[] = {"REPLICAOF", m->addr.host, port};
    const struct rsm_plan *p = &run->plan;

    snprintf(port, sizeof port, "%u", m->addr.port);
    run->failed = 0;
    for (size_t i = 0; i < p->n_repoint; i++)
        start_action(run, &acts[i], &run->ep[p->repoint[i]], "repoint", 3,
                     argv);
    wait_all(run);
    return run->failed;
}

/* What a re-run still has to do, for the failure message. */
static void say_left(struct run *run, const struct action *acts, size_t n,
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
static int act(struct run *run, const char **result)
{
    const struct rsm_plan *p = &run->plan;
    struct endpoint *m = &run->ep[p->master];
    struct action acts[RSM_TOPOLOGY_MAX];
    unsigned failed;

    memset(acts, 0, sizeof acts);
    if (p->promote && promote_master(run, m) != 0) {
        fprintf(run->human,
                "failed part-way: could not promote %s; left to do: promote "
                "%s, then re-point ",
                m->name, m->name);
        say_left(run, acts, p->n_repoint, true);
        fputs(" (run the same command again)\n", run->human);
        *result = "failed";
        return RSMCTL_EXIT_FAILED;
    }
    failed = repoint_all(run, m, acts);
    if (failed > 0) {
        fprintf(run->human,
                "failed part-way: %s is master, %u of %zu re-points failed; "
                "left to do: re-point ",
                m->name, failed, p->n_repoint);
        say_left(run, acts, p->n_repoint, false);
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

/* Decide, print, act. Returns the exit code and sets *result. */
static int decide_and_act(struct run *run, const char **result)
{
    struct rsm_policy_config cfg;
    const struct rsm_plan *p = &run->plan;
    int rv;

    rsm_policy_config_init(&cfg);
    rv = rsm_topology_decide(run->cand, run->n, &cfg, &run->plan);
    if (!run->opt->json)
        print_table(run);
    if (rv != 0) {
        fprintf(run->human, "decision: none: %s\n", p->reason);
        *result = "refused";
        return RSMCTL_EXIT_UNAVAILABLE;
    }
    fprintf(run->human, "decision: %s: %s\n", rsm_verdict_str(p->verdict),
            skip_word(p->reason, rsm_verdict_str(p->verdict)));
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
    return act(run, result);
}

/* ------------------------------------------------------------------------
 * Entry point
 * ---------------------------------------------------------------------- */

static int run_promote(struct run *run, const char **result)
{
    char ts[32];
    int rv;

    rv = create_links(run);
    if (rv != 0) {
        fprintf(stderr, "rsmctl promote: %s\n", rsm_strerror(rv));
        *result = "failed";
        return RSMCTL_EXIT_FAILED;
    }
    fprintf(run->human, "%s  probing %zu endpoint%s (timeout %" PRIu64 " ms)\n",
            rsmctl_timestamp(ts, sizeof ts), run->n, run->n == 1 ? "" : "s",
            run->opt->timeout_ms);
    probe_all(run);
    return decide_and_act(run, result);
}

int rsmctl_promote(int argc, char **argv)
{
    struct options *opt = calloc(1, sizeof *opt);
    struct run *run = calloc(1, sizeof *run);
    const char *result = "failed";
    int code;

    if (opt == NULL || run == NULL) {
        fprintf(stderr, "rsmctl promote: out of memory\n");
        code = RSMCTL_EXIT_FAILED;
        goto out_free;
    }
    code = parse_options(argc, argv, opt);
    if (code == 0 && opt->srv != NULL)
        code = add_srv_targets(opt);
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
    code = run_promote(run, &result);
    close_links(run);
    if (uv_loop_close(&run->loop) != 0)
        fprintf(stderr, "rsmctl promote: warning: handles left open\n");
    if (opt->json)
        print_json(run, result, code);
    json_decref(run->steps);

out_free:
    if (opt != NULL)
        explicit_bzero(opt->password, sizeof opt->password);
    free(run);
    free(opt);
    return code;
}
