/* status.c - `rsmctl status`: what the agent group knows, at a glance.
 *
 * Asks the given agents in turn for `RSM STATUS` until one answers, then
 * asks every member that answer lists (at its API address) for its own
 * view, all at once, so the table shows each agent's role, term and commit
 * index, or that it is unreachable. Then the replicated groups: committed
 * master, failover epoch, the failover in flight, the last one done. */
#include "agentlink.h"
#include "ctl.h"
#include "rsm/node.h"

#include <getopt.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct options {
    bool json;
    uint64_t timeout_ms;
    size_t n;
    struct rsm_addr agents[AGENTLINK_MAX];
};

/* What one member said about itself. */
struct view {
    uint64_t id;
    char api[RSM_ADDR_STRLEN];
    bool reachable;
    json_t *status; /* its RSM STATUS, NULL if none */
    char err[AGENTLINK_ERR_SIZE];
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rsmctl status [options]\n"
            "\n"
            "Ask an agent for the state of the agent group and of the Redis\n"
            "groups it replicates, then ask every agent it lists for its own\n"
            "role, term and commit index. Says which agent answered.\n"
            "\n"
            "options:\n"
            "  --agent HOST:PORT[,...]  agents to ask, in turn, until one\n"
            "                           answers (repeatable; default: "
            "$RSM_AGENT,\n"
            "                           else " AGENTLINK_DEFAULT ")\n"
            "  --json                   print the answer and every agent's "
            "view\n"
            "                           as one JSON object\n"
            "  --timeout-ms N           per agent: connect and reply "
            "(default 1000)\n"
            "  -h, --help               this text\n"
            "\n"
            "exit codes:\n"
            "  0  an agent answered (unreachable agents are shown as such)\n"
            "  1  an agent answered something that is not a status\n"
            "  2  usage error; nothing contacted\n"
            "  3  no agent could be reached\n");
}

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("rsmctl status: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see rsmctl status --help)\n", stderr);
    return RSMCTL_EXIT_USAGE;
}

static int parse_options(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        {"agent", required_argument, NULL, 'a'},
        {"agents", required_argument, NULL, 'a'},
        {"json", no_argument, NULL, 'j'},
        {"timeout-ms", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char err[RSM_ERRMSG_SIZE];
    int c;

    opt->timeout_ms = 1000;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            if (agentlink_parse_agents(optarg, opt->agents, &opt->n, err,
                                       sizeof err) != 0)
                return usage_error("--agent: %s", err);
            break;
        case 'j':
            opt->json = true;
            break;
        case 't':
            if (rsmctl_parse_uint(optarg, 1, 3600000, &opt->timeout_ms) != 0)
                return usage_error("--timeout-ms: '%s' is not 1..3600000",
                                   optarg);
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            return usage_error("bad option");
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (opt->n == 0 &&
        agentlink_default_agents(opt->agents, &opt->n, err, sizeof err) != 0)
        return usage_error("%s", err);
    return 0;
}

/* --- asking --------------------------------------------------------------- */

/* The status JSON in a call's reply, or NULL with why in err. */
static json_t *status_of(const struct agent_call *c, char *err, size_t len)
{
    json_error_t jerr;
    json_t *o;

    if (c->status == RSM_EREPLY) {
        snprintf(err, len, "error reply: %s", c->reply.str);
        return NULL;
    }
    if (c->status != 0) {
        snprintf(err, len, "%s", c->err);
        return NULL;
    }
    if (c->reply.type != REDIS_REPLY_STRING) {
        snprintf(err, len, "not a status reply");
        return NULL;
    }
    o = json_loads(c->reply.str, 0, &jerr);
    if (o == NULL || !json_is_object(o)) {
        json_decref(o);
        snprintf(err, len, "bad status JSON: %s", jerr.text);
        return NULL;
    }
    return o;
}

static const char *const STATUS_ARGV[] = {"RSM", "STATUS"};

/* Ask the agents in turn; the first status wins. Returns it (with the
 * index of the agent in *who) or NULL; *exit_code says why. */
static json_t *first_answer(const struct options *opt, size_t *who,
                            int *exit_code)
{
    char err[AGENTLINK_ERR_SIZE], name[RSM_ADDR_STRLEN];

    *exit_code = RSMCTL_EXIT_UNAVAILABLE;
    for (size_t i = 0; i < opt->n; i++) {
        struct agent_call c = {.addr = opt->agents[i]};
        json_t *o;

        agentlink_call(&c, opt->timeout_ms, 2, STATUS_ARGV);
        o = status_of(&c, err, sizeof err);
        if (c.status == 0 || c.status == RSM_EREPLY)
            *exit_code = RSMCTL_EXIT_FAILED; /* reached, but no status */
        agentlink_calls_free(&c, 1);
        if (o != NULL) {
            *who = i;
            return o;
        }
        fprintf(stderr, "rsmctl status: agent %s: %s\n",
                rsm_addr_format(&opt->agents[i], name, sizeof name), err);
    }
    return NULL;
}

static uint64_t jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    return json_is_string(v) ? json_string_value(v) : "";
}

/* Every member's own view; the one that answered is reused. */
static size_t member_views(const struct options *opt, json_t *answer,
                           struct view *views)
{
    json_t *members = json_object_get(answer, "members"), *m;
    struct agent_call calls[RSM_MAX_AGENTS];
    size_t n = 0, ncalls = 0, idx;
    size_t call_of[RSM_MAX_AGENTS];

    json_array_foreach(members, idx, m)
    {
        struct view *v = &views[n];
        if (n == RSM_MAX_AGENTS)
            break;
        memset(v, 0, sizeof *v);
        v->id = jint(m, "id");
        snprintf(v->api, sizeof v->api, "%s", jstr(m, "api"));
        if (v->id == jint(answer, "id")) {
            v->reachable = true;
            v->status = json_incref(answer);
        } else if (rsm_addr_parse(v->api, &calls[ncalls].addr, NULL, 0) == 0) {
            call_of[ncalls++] = n;
        } else {
            snprintf(v->err, sizeof v->err, "no API address");
        }
        n++;
    }
    agentlink_call_all(calls, ncalls, opt->timeout_ms, 2, STATUS_ARGV);
    for (size_t i = 0; i < ncalls; i++) {
        struct view *v = &views[call_of[i]];
        v->status = status_of(&calls[i], v->err, sizeof v->err);
        v->reachable = calls[i].status == 0 || calls[i].status == RSM_EREPLY;
    }
    agentlink_calls_free(calls, ncalls);
    return n;
}

/* --- output ----------------------------------------------------------------
 */

static void print_json(const struct options *opt, size_t who, json_t *answer,
                       const struct view *views, size_t n)
{
    char name[RSM_ADDR_STRLEN];
    json_t *out = json_object(), *agents = json_array();

    json_object_set_new(
        out, "answered_by",
        json_string(rsm_addr_format(&opt->agents[who], name, sizeof name)));
    json_object_set(out, "status", answer);
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_object(), *s = views[i].status;
        json_object_set_new(a, "id", json_integer((json_int_t)views[i].id));
        json_object_set_new(a, "api", json_string(views[i].api));
        json_object_set_new(a, "reachable", json_boolean(views[i].reachable));
        if (s != NULL) {
            json_t *leader = json_object_get(s, "leader");
            json_object_set_new(a, "role", json_string(jstr(s, "role")));
            json_object_set_new(a, "term", json_integer(jint(s, "term")));
            json_object_set_new(a, "commit_index",
                                json_integer(jint(s, "commit_index")));
            json_object_set_new(a, "leader_id",
                                json_is_object(leader)
                                    ? json_integer(jint(leader, "id"))
                                    : json_null());
        } else {
            json_object_set_new(a, "error", json_string(views[i].err));
        }
        json_array_append_new(agents, a);
    }
    json_object_set_new(out, "agents", agents);
    json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(out);
}

static void print_agents(const struct view *views, size_t n)
{
    static const char *const header[] = {
        "ID", "API ADDRESS", "ROLE", "TERM", "COMMIT", "LEADER", "STATE"};
    struct table t;

    table_init(&t, 7, header);
    for (size_t i = 0; i < n; i++) {
        const struct view *v = &views[i];
        char id[24], term[24] = "-", commit[24] = "-", leader[24] = "-";
        const char *role = "-", *state = "ok";
        json_t *s = v->status;

        snprintf(id, sizeof id, "%" PRIu64, v->id);
        if (s != NULL) {
            json_t *l = json_object_get(s, "leader");
            role = jstr(s, "role");
            snprintf(term, sizeof term, "%" PRIu64, jint(s, "term"));
            snprintf(commit, sizeof commit, "%" PRIu64,
                     jint(s, "commit_index"));
            if (json_is_object(l))
                snprintf(leader, sizeof leader, "%" PRIu64, jint(l, "id"));
            else
                snprintf(leader, sizeof leader, "none");
        } else {
            state = v->reachable ? v->err : "unreachable";
        }
        table_row(&t, (const char *const[]){id, v->api, role, term, commit,
                                            leader, state});
    }
    table_print(&t, stdout, "  ");
    table_free(&t);
}

/* "2026-11-26 10:00:01" (local time) for a wall-clock time in ms. */
static const char *when(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (ms <= 0 || localtime_r(&t, &tm) == NULL ||
        strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(buf, len, "-");
    return buf;
}

static void group_row(struct table *t, json_t *g)
{
    json_t *f = json_object_get(g, "in_flight");
    json_t *hist = json_object_get(g, "history");
    json_t *last = json_array_get(hist, json_array_size(hist) - 1);
    json_t *master = json_object_get(g, "master");
    char name[96], epoch[24], flight[64] = "-", lastf[160] = "-", ts[32];

    snprintf(name, sizeof name, "%s%s", jstr(g, "name"),
             json_is_true(json_object_get(g, "paused")) ? " (paused)" : "");
    snprintf(epoch, sizeof epoch, "%" PRIu64, jint(g, "epoch"));
    if (json_is_object(f))
        snprintf(flight, sizeof flight, "epoch %" PRIu64 " %s -> %s (%s)",
                 jint(f, "epoch"), jstr(f, "old_master"), jstr(f, "new_master"),
                 jstr(f, "step"));
    if (json_is_object(last))
        snprintf(lastf, sizeof lastf, "epoch %" PRIu64 " %s -> %s %s %s",
                 jint(last, "epoch"), jstr(last, "old_master"),
                 jstr(last, "new_master"), jstr(last, "result"),
                 when((int64_t)jint(last, "ended_at_ms"), ts, sizeof ts));
    table_row(t, (const char *const[]){
                     name,
                     json_is_string(master) ? json_string_value(master) : "-",
                     epoch, flight, lastf});
}

static void print_groups(json_t *answer)
{
    static const char *const header[] = {"GROUP", "MASTER", "EPOCH",
                                         "IN FLIGHT", "LAST FAILOVER"};
    json_t *groups = json_object_get(answer, "groups"), *g;
    struct table t;
    size_t i;

    if (json_array_size(groups) == 0) {
        printf("Groups: none yet\n");
        return;
    }
    printf("Groups:\n");
    table_init(&t, 5, header);
    json_array_foreach(groups, i, g)
    {
        group_row(&t, g);
    }
    table_print(&t, stdout, "  ");
    table_free(&t);
}

static void print_human(const struct options *opt, size_t who, json_t *answer,
                        const struct view *views, size_t n)
{
    char name[RSM_ADDR_STRLEN];
    json_t *leader = json_object_get(answer, "leader");

    printf("Answered by agent %" PRIu64 " at %s (%s, term %" PRIu64 ").\n",
           jint(answer, "id"),
           rsm_addr_format(&opt->agents[who], name, sizeof name),
           jstr(answer, "role"), jint(answer, "term"));
    if (json_is_object(leader))
        printf("Leader: agent %" PRIu64 " (API %s).\n", jint(leader, "id"),
               jstr(leader, "api"));
    else
        printf("Leader: none known.\n");
    printf("\nAgents:\n");
    print_agents(views, n);
    printf("\n");
    print_groups(answer);
}

int rsmctl_status(int argc, char **argv)
{
    struct options opt = {0};
    struct view views[RSM_MAX_AGENTS];
    json_t *answer;
    size_t who = 0, n;
    int rv = parse_options(argc, argv, &opt);

    if (rv != 0)
        return rv < 0 ? RSMCTL_EXIT_OK : rv;
    answer = first_answer(&opt, &who, &rv);
    if (answer == NULL) {
        fprintf(stderr, "rsmctl status: no agent answered\n");
        return rv;
    }
    n = member_views(&opt, answer, views);
    if (opt.json)
        print_json(&opt, who, answer, views, n);
    else
        print_human(&opt, who, answer, views, n);
    for (size_t i = 0; i < n; i++)
        json_decref(views[i].status);
    json_decref(answer);
    return RSMCTL_EXIT_OK;
}
