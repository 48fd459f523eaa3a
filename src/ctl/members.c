/* members.c - `rsmctl members`: list, add and remove agents of the Raft
 * group.
 *
 * `list` asks the first agent that answers. `add` and `remove` must reach
 * the leader: sent to a follower they come back as
 * "-NOTLEADER <id> <host:port>" and are sent once more, to that address.
 * The reply comes when the change is committed (or failed). */
#include "agentlink.h"
#include "table.h"
#include "ctl.h"
#include "rsm/node.h"

#include <getopt.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "rsmctl members"

enum action { LIST, ADD, REMOVE };

struct options {
    bool json;
    struct agentlink link;
    enum action action;
    const char *id;   /* add, remove */
    const char *addr; /* add */
};

static void members__usage(FILE *out)
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
            "options:\n" AGENTLINK_HELP
            "  --json                    list: print JSON\n"
            "  --timeout-ms N            per agent (default 1000 for list, "
            "15000\n"
            "                            for add/remove: they wait for the "
            "commit)\n"
            "  -h, --help                this text\n"
            "\n"
            "exit codes:\n"
            "  0  done\n"
            "  1  refused or failed (the message says why)\n"
            "  2  usage error; nothing contacted\n"
            "  3  no agent could be reached, or no leader elected\n"
            "  4  an agent refused the password (or wants one)\n");
}

/* The positional words: [list] | add ID ADDR | remove ID, checked here so
 * that nothing is contacted with bad input. */
static int members__parse_action(int argc, char **argv, struct options *opt)
{
    struct rsm_member m;
    char err[RSM_ERRMSG_SIZE];
    uint64_t id;
    int left = argc - optind;
    const char *verb = left > 0 ? argv[optind] : "list";

    if (strcmp(verb, "list") == 0) {
        opt->action = LIST;
        if (left > 1)
            return rsmctl_usage_error(PROG, "list takes no arguments");
        return 0;
    }
    if (strcmp(verb, "add") == 0) {
        opt->action = ADD;
        if (left != 3)
            return rsmctl_usage_error(PROG,
                                      "usage: add ID HOST:PORT[/APIPORT]");
    } else if (strcmp(verb, "remove") == 0) {
        opt->action = REMOVE;
        if (left != 2)
            return rsmctl_usage_error(PROG, "usage: remove ID");
    } else {
        return rsmctl_usage_error(PROG, "unknown action '%s'", verb);
    }
    opt->id = argv[optind + 1];
    if (rsmctl_parse_uint(opt->id, 1, UINT64_MAX, &id) != 0)
        return rsmctl_usage_error(PROG, "bad member id '%s' (a number from 1)",
                                  opt->id);
    if (opt->action == ADD) {
        opt->addr = argv[optind + 2];
        if (rsm_node_parse_member_addr(opt->addr, 26379, &m, err, sizeof err) !=
            0)
            return rsmctl_usage_error(PROG, "bad member address '%s': %s",
                                      opt->addr, err);
    }
    return 0;
}

static int members__parse_options(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        AGENTLINK_LONGOPTS,
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char err[RSM_ERRMSG_SIZE];
    int c, rv;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            opt->json = true;
            break;
        default:
            rv = agentlink_getopt_common(&opt->link, PROG, c, optarg,
                                         members__usage);
            if (rv != 0)
                return rv;
        }
    }
    rv = members__parse_action(argc, argv, opt);
    if (rv != 0)
        return rv;
    if (agentlink_finish(&opt->link, opt->action == LIST ? 1000 : 15000, err,
                         sizeof err) != 0)
        return rsmctl_usage_error(PROG, "%s", err);
    return 0;
}

/* --- list ------------------------------------------------------------------
 */

static const struct agent_reply *members__field(const struct agent_reply *m,
                                                size_t i, int type)
{
    if (m->type != REDIS_REPLY_ARRAY || i >= m->elements ||
        m->element[i].type != type)
        return NULL;
    return &m->element[i];
}

/* One member as [:id, $raft, $api, :voter, :leader]; false if malformed. */
static bool members__member_fields(const struct agent_reply *m, long long *id,
                                   const char **raft, const char **api,
                                   bool *voter, bool *leader)
{
    const struct agent_reply *f[5] = {
        members__field(m, 0, REDIS_REPLY_INTEGER),
        members__field(m, 1, REDIS_REPLY_STRING),
        members__field(m, 2, REDIS_REPLY_STRING),
        members__field(m, 3, REDIS_REPLY_INTEGER),
        members__field(m, 4, REDIS_REPLY_INTEGER)};

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

static int members__print_members(const struct options *opt,
                                  const struct agent_reply *r)
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
        if (!members__member_fields(&r->element[i], &id, &raft, &api, &voter,
                                    &leader)) {
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
        table_print(&t, stdout, text_use_color(stdout), "");
    }
    table_free(&t);
    json_decref(arr);
    return RSMCTL_EXIT_OK;
}

static int members__list(const struct options *opt)
{
    static const char *const argv[] = {"RSM", "MEMBERS"};
    struct agent_call c;
    int rv;

    if (agentlink_ask_first(&opt->link, "rsmctl members", &c, 2, argv, &rv) <
        0) {
        fprintf(stderr, "rsmctl members: no agent answered\n");
        return rv;
    }
    if (c.status == RSM_EREPLY) {
        fprintf(stderr, "rsmctl members: %s\n", c.reply.str);
        rv = RSMCTL_EXIT_FAILED;
    } else if (c.reply.type != REDIS_REPLY_ARRAY) {
        fprintf(stderr, "rsmctl members: unexpected reply\n");
        rv = RSMCTL_EXIT_FAILED;
    } else {
        rv = members__print_members(opt, &c.reply);
    }
    agentlink_calls_free(&c, 1);
    return rv;
}

/* --- add / remove ----------------------------------------------------------
 */

static int members__change(const struct options *opt)
{
    const char *argv[5] = {"RSM", "MEMBER",
                           opt->action == ADD ? "ADD" : "REMOVE", opt->id,
                           opt->addr};
    int argc = opt->action == ADD ? 5 : 4;
    char name[RSM_ADDR_STRLEN];
    struct agent_call c;
    struct rsm_addr who;
    int rv = agentlink_ask_leader(&opt->link, "rsmctl members", &c, argc, argv,
                                  &who);

    if (rv != RSMCTL_EXIT_OK)
        return rv;
    rsm_addr_format(&who, name, sizeof name);
    if (c.status == 0) {
        printf("member %s %s (by the leader at %s)\n", opt->id,
               opt->action == ADD ? "added" : "removed", name);
    } else {
        fprintf(stderr, "rsmctl members: %s refused: %s\n", name, c.reply.str);
        rv = RSMCTL_EXIT_FAILED;
    }
    agentlink_calls_free(&c, 1);
    return rv;
}

int rsmctl_members(int argc, char **argv)
{
    struct options opt = {0};
    int rv = members__parse_options(argc, argv, &opt);

    if (rv == 0)
        rv = opt.action == LIST ? members__list(&opt) : members__change(&opt);
    agentlink_free(&opt.link);
    return rv < 0 ? RSMCTL_EXIT_OK : rv;
}
