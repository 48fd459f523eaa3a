/* members.c - `rsmctl members`: list, add and remove agents of the Raft
 * group.
 *
 * `list` asks the first agent that answers. `add` and `remove` must reach
 * the leader: sent to a follower they come back as
 * "-NOTLEADER <id> <host:port>" and are sent once more, to that address.
 * The reply comes when the change is committed (or failed). */
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

enum action { LIST, ADD, REMOVE };

struct options {
    bool json;
    bool timeout_set;
    uint64_t timeout_ms;
    size_t n;
    struct rsm_addr agents[AGENTLINK_MAX];
    enum action action;
    const char *id;   /* add, remove */
    const char *addr; /* add */
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rsmctl members [options] [list]\n"
            "       rsmctl members [options] add ID HOST:PORT[/APIPORT]\n"
            "       rsmctl members [options] remove ID\n"
            "\n"
            "List the agents of the Raft group, or add or remove one. A "
            "change is\nsent to the leader (a follower's answer names it "
            "and the change is\nsent there once) and returns when it is "
            "committed. HOST:PORT is the\nnew agent's Raft address; "
            "/APIPORT its client port if it differs\nfrom the other "
            "agents'. Start the new agent with the new peer list.\n"
            "\n"
            "options:\n"
            "  --agent HOST:PORT[,...]  agents to ask, in turn, until one\n"
            "                           answers (repeatable; default: "
            "$RSM_AGENT,\n"
            "                           else " AGENTLINK_DEFAULT ")\n"
            "  --json                   list: print JSON\n"
            "  --timeout-ms N           per agent (default 1000 for list, "
            "15000\n"
            "                           for add/remove: they wait for the "
            "commit)\n"
            "  -h, --help               this text\n"
            "\n"
            "exit codes:\n"
            "  0  done\n"
            "  1  refused or failed (the message says why)\n"
            "  2  usage error; nothing contacted\n"
            "  3  no agent could be reached\n");
}

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("rsmctl members: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see rsmctl members --help)\n", stderr);
    return RSMCTL_EXIT_USAGE;
}

/* The positional words: [list] | add ID ADDR | remove ID, checked here so
 * that nothing is contacted with bad input. */
static int parse_action(int argc, char **argv, struct options *opt)
{
    struct rsm_member m;
    char err[RSM_ERRMSG_SIZE];
    uint64_t id;
    int left = argc - optind;
    const char *verb = left > 0 ? argv[optind] : "list";

    if (strcmp(verb, "list") == 0) {
        opt->action = LIST;
        if (left > 1)
            return usage_error("list takes no arguments");
        return 0;
    }
    if (strcmp(verb, "add") == 0) {
        opt->action = ADD;
        if (left != 3)
            return usage_error("usage: add ID HOST:PORT[/APIPORT]");
    } else if (strcmp(verb, "remove") == 0) {
        opt->action = REMOVE;
        if (left != 2)
            return usage_error("usage: remove ID");
    } else {
        return usage_error("unknown action '%s'", verb);
    }
    opt->id = argv[optind + 1];
    if (rsmctl_parse_uint(opt->id, 1, UINT64_MAX, &id) != 0)
        return usage_error("bad member id '%s' (a number from 1)", opt->id);
    if (opt->action == ADD) {
        opt->addr = argv[optind + 2];
        if (rsm_node_parse_member_addr(opt->addr, 26379, &m, err, sizeof err) !=
            0)
            return usage_error("bad member address '%s': %s", opt->addr, err);
    }
    return 0;
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
    int c, rv;

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
            opt->timeout_set = true;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            return usage_error("bad option");
        }
    }
    rv = parse_action(argc, argv, opt);
    if (rv != 0)
        return rv;
    if (!opt->timeout_set)
        opt->timeout_ms = opt->action == LIST ? 1000 : 15000;
    if (opt->n == 0 &&
        agentlink_default_agents(opt->agents, &opt->n, err, sizeof err) != 0)
        return usage_error("%s", err);
    return 0;
}

/* Send argv to the agents in turn until one is reached (answers anything,
 * error replies included). Returns the index, or -1 if none. */
static long ask_first(const struct options *opt, struct agent_call *c, int argc,
                      const char *const *argv)
{
    for (size_t i = 0; i < opt->n; i++) {
        memset(c, 0, sizeof *c);
        c->addr = opt->agents[i];
        agentlink_call(c, opt->timeout_ms, argc, argv);
        if (c->status == 0 || c->status == RSM_EREPLY)
            return (long)i;
        fprintf(stderr, "rsmctl members: %s\n", c->err);
        agentlink_calls_free(c, 1);
    }
    return -1;
}

/* --- list ------------------------------------------------------------------
 */

static const struct agent_reply *field(const struct agent_reply *m, size_t i,
                                       int type)
{
    if (m->type != REDIS_REPLY_ARRAY || i >= m->elements ||
        m->element[i].type != type)
        return NULL;
    return &m->element[i];
}

/* One member as [:id, $raft, $api, :voter, :leader]; false if malformed. */
static bool member_fields(const struct agent_reply *m, long long *id,
                          const char **raft, const char **api, bool *voter,
                          bool *leader)
{
    const struct agent_reply *f[5] = {
        field(m, 0, REDIS_REPLY_INTEGER), field(m, 1, REDIS_REPLY_STRING),
        field(m, 2, REDIS_REPLY_STRING), field(m, 3, REDIS_REPLY_INTEGER),
        field(m, 4, REDIS_REPLY_INTEGER)};

    for (int i = 0; i < 5; i++)
        if (f[i] == NULL)
            return false;
    *id = f[0]->integer;
    *raft = f[1]->str;
    *api = f[2]->str;
    *voter = f[3]->integer != 0;
    *leader = f[4]->integer != 0;
    return true;
}

static int print_members(const struct options *opt, const struct agent_reply *r)
{
    static const char *const header[] = {"ID", "RAFT ADDRESS", "API ADDRESS",
                                         "VOTER", "LEADER"};
    json_t *arr = json_array();
    struct table t;

    table_init(&t, 5, header);
    for (size_t i = 0; i < r->elements; i++) {
        long long id;
        const char *raft, *api;
        bool voter, leader;
        char idbuf[24];
        if (!member_fields(&r->element[i], &id, &raft, &api, &voter, &leader)) {
            fprintf(stderr, "rsmctl members: malformed member in reply\n");
            table_free(&t);
            json_decref(arr);
            return RSMCTL_EXIT_FAILED;
        }
        snprintf(idbuf, sizeof idbuf, "%lld", id);
        table_row(&t,
                  (const char *const[]){idbuf, raft, api, voter ? "yes" : "no",
                                        leader ? "*" : ""});
        json_array_append_new(
            arr, json_pack("{sIsssssbsb}", "id", (json_int_t)id, "raft", raft,
                           "api", api, "voter", voter, "leader", leader));
    }
    if (opt->json) {
        json_dumpf(arr, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    } else {
        table_print(&t, stdout, "");
    }
    table_free(&t);
    json_decref(arr);
    return RSMCTL_EXIT_OK;
}

static int list(const struct options *opt)
{
    static const char *const argv[] = {"RSM", "MEMBERS"};
    struct agent_call c;
    int rv;

    if (ask_first(opt, &c, 2, argv) < 0) {
        fprintf(stderr, "rsmctl members: no agent could be reached\n");
        return RSMCTL_EXIT_UNAVAILABLE;
    }
    if (c.status == RSM_EREPLY) {
        fprintf(stderr, "rsmctl members: %s\n", c.reply.str);
        rv = RSMCTL_EXIT_FAILED;
    } else if (c.reply.type != REDIS_REPLY_ARRAY) {
        fprintf(stderr, "rsmctl members: unexpected reply\n");
        rv = RSMCTL_EXIT_FAILED;
    } else {
        rv = print_members(opt, &c.reply);
    }
    agentlink_calls_free(&c, 1);
    return rv;
}

/* --- add / remove ----------------------------------------------------------
 */

static int change(const struct options *opt)
{
    const char *argv[5] = {"RSM", "MEMBER",
                           opt->action == ADD ? "ADD" : "REMOVE", opt->id,
                           opt->addr};
    int argc = opt->action == ADD ? 5 : 4;
    char name[RSM_ADDR_STRLEN], first[RSM_ADDR_STRLEN];
    struct agent_call c;
    struct rsm_addr leader;
    uint64_t leader_id;
    long who = ask_first(opt, &c, argc, argv);
    int rv = RSMCTL_EXIT_OK;

    if (who < 0) {
        fprintf(stderr, "rsmctl members: no agent could be reached\n");
        return RSMCTL_EXIT_UNAVAILABLE;
    }
    rsm_addr_format(&opt->agents[who], name, sizeof name);
    if (agentlink_notleader(&c, &leader_id, &leader)) {
        agentlink_calls_free(&c, 1);
        rsm_addr_format(&leader, name, sizeof name);
        printf("agent at %s is not the leader; sending to leader %" PRIu64
               " at %s\n",
               rsm_addr_format(&opt->agents[who], first, sizeof first),
               leader_id, name);
        memset(&c, 0, sizeof c);
        c.addr = leader;
        agentlink_call(&c, opt->timeout_ms, argc, argv);
    }
    if (c.status == 0) {
        printf("member %s %s (by the leader at %s)\n", opt->id,
               opt->action == ADD ? "added" : "removed", name);
    } else if (c.status == RSM_EREPLY) {
        fprintf(stderr, "rsmctl members: %s refused: %s\n", name, c.reply.str);
        rv = RSMCTL_EXIT_FAILED;
    } else {
        fprintf(stderr, "rsmctl members: %s\n", c.err);
        rv = c.status == RSM_ETIMEOUT ? RSMCTL_EXIT_FAILED
                                      : RSMCTL_EXIT_UNAVAILABLE;
    }
    agentlink_calls_free(&c, 1);
    return rv;
}

int rsmctl_members(int argc, char **argv)
{
    struct options opt = {0};
    int rv = parse_options(argc, argv, &opt);

    if (rv != 0)
        return rv < 0 ? RSMCTL_EXIT_OK : rv;
    return opt.action == LIST ? list(&opt) : change(&opt);
}
