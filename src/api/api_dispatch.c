/* api_dispatch.c - the command table of the client port and its
 * dispatcher: the longest match of the request's words, Redis's errors
 * for unknown commands and wrong arities, then the gates (AUTH, pub/sub
 * mode, leader only) from each entry's flags. */
#include "api_int.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define NOAUTH CMD_NOAUTH
#define PUBSUB CMD_PUBSUB
#define LEADER CMD_LEADER

/* Multi-word entries before the single word they start with (lookup
 * takes the longest match). */
const struct api_cmd api__commands[] = {
    {{"AUTH"}, 2, 3, NOAUTH, "AUTH [default] <password>", api__cmd_auth},
    {{"HELLO"},
     1,
     -1,
     NOAUTH,
     "HELLO [2 [AUTH <user> <pass>] [SETNAME <name>]]",
     api__cmd_hello},
    {{"PING"}, 1, 2, PUBSUB, "PING [message]", api__cmd_ping},
    {{"QUIT"}, 1, -1, NOAUTH | PUBSUB, "QUIT", api__cmd_quit},
    {{"RESET"}, 1, 1, PUBSUB, "RESET", api__cmd_reset},
    {{"CLIENT", "SETNAME"},
     3,
     3,
     0,
     "CLIENT SETNAME <name>",
     api__cmd_client_setname},
    {{"CLIENT", "GETNAME"}, 2, 2, 0, "CLIENT GETNAME", api__cmd_client_getname},
    {{"CLIENT", "ID"}, 2, 2, 0, "CLIENT ID", api__cmd_client_id},
    {{"CLIENT", "SETINFO"},
     4,
     4,
     0,
     "CLIENT SETINFO LIB-NAME|LIB-VER <value>",
     api__cmd_client_setinfo},
    {{"CLIENT", "HELP"}, 2, 2, 0, "CLIENT HELP", api__cmd_help},
    {{"COMMAND", "COUNT"}, 2, 2, 0, "COMMAND COUNT", api__cmd_command_count},
    {{"COMMAND", "LIST"}, 2, -1, 0, "COMMAND LIST", api__cmd_command_list},
    {{"COMMAND", "DOCS"},
     2,
     -1,
     0,
     "COMMAND DOCS [<command> ...]",
     api__cmd_command_docs},
    {{"COMMAND", "INFO"},
     2,
     -1,
     0,
     "COMMAND INFO [<command> ...]",
     api__cmd_command_info},
    {{"COMMAND", "HELP"}, 2, 2, 0, "COMMAND HELP", api__cmd_help},
    {{"COMMAND"}, 1, 1, 0, "COMMAND", api__cmd_command},
    {{"INFO"},
     1,
     -1,
     0,
     "INFO [server|clients|stats|cpu|raft|groups|sentinel|default|all ...]",
     api__cmd_info},
    {{"ROLE"}, 1, 1, 0, "ROLE", api__cmd_role},
    {{"SENTINEL", "GET-MASTER-ADDR-BY-NAME"},
     3,
     3,
     0,
     "SENTINEL GET-MASTER-ADDR-BY-NAME <group>",
     api__cmd_get_master_addr},
    {{"SENTINEL", "MASTERS"}, 2, 2, 0, "SENTINEL MASTERS", api__cmd_masters},
    {{"SENTINEL", "MASTER"},
     3,
     3,
     0,
     "SENTINEL MASTER <group>",
     api__cmd_master},
    {{"SENTINEL", "REPLICAS"},
     3,
     3,
     0,
     "SENTINEL REPLICAS <group>",
     api__cmd_replicas},
    {{"SENTINEL", "SLAVES"},
     3,
     3,
     0,
     "SENTINEL SLAVES <group>",
     api__cmd_replicas},
    {{"SENTINEL", "SENTINELS"},
     3,
     3,
     0,
     "SENTINEL SENTINELS <group> -- the other agents",
     api__cmd_sentinels},
    {{"SENTINEL", "MYID"}, 2, 2, 0, "SENTINEL MYID", api__cmd_myid},
    {{"SENTINEL", "CKQUORUM"},
     3,
     3,
     0,
     "SENTINEL CKQUORUM <group>",
     api__cmd_ckquorum},
    {{"SENTINEL", "FAILOVER"},
     3,
     3,
     0,
     "SENTINEL FAILOVER <group> -- manual failover (a follower sends it on "
     "to the leader)",
     api__cmd_failover},
    {{"SENTINEL", "SET"},
     5,
     -1,
     0,
     "SENTINEL SET <group> <option> <value> [<option> <value> ...]",
     api__cmd_sentinel_set},
    {{"SENTINEL", "RESET"},
     3,
     3,
     0,
     "SENTINEL RESET <pattern>",
     api__cmd_sentinel_reset},
    {{"SENTINEL", "CONFIG"},
     3,
     -1,
     0,
     "SENTINEL CONFIG GET <param> | SET <param> <value>",
     api__cmd_sentinel_config},
    {{"SENTINEL", "MONITOR"},
     6,
     6,
     0,
     "SENTINEL MONITOR <group> <ip> <port> <quorum> -- watch a new group "
     "(through the log)",
     api__cmd_sentinel_monitor},
    {{"SENTINEL", "REMOVE"},
     3,
     3,
     0,
     "SENTINEL REMOVE <group> -- stop watching a group (through the log)",
     api__cmd_sentinel_monitor},
    {{"SENTINEL", "HELP"}, 2, 2, 0, "SENTINEL HELP", api__cmd_help},
    {{"SUBSCRIBE"}, 2, -1, PUBSUB, "SUBSCRIBE <channel> ...", api__cmd_pubsub},
    {{"UNSUBSCRIBE"},
     1,
     -1,
     PUBSUB,
     "UNSUBSCRIBE [<channel> ...]",
     api__cmd_pubsub},
    {{"PSUBSCRIBE"},
     2,
     -1,
     PUBSUB,
     "PSUBSCRIBE <pattern> ...",
     api__cmd_pubsub},
    {{"PUNSUBSCRIBE"},
     1,
     -1,
     PUBSUB,
     "PUNSUBSCRIBE [<pattern> ...]",
     api__cmd_pubsub},
    {{"RSM", "STATUS"}, 2, 2, 0, "RSM STATUS -- JSON status", api__cmd_status},
    {{"RSM", "MEMBERS"}, 2, 2, 0, "RSM MEMBERS", api__cmd_members},
    {{"RSM", "MEMBER", "ADD"},
     5,
     5,
     LEADER,
     "RSM MEMBER ADD <id> <host:port[/apiport]> -- leader only",
     api__cmd_member_add},
    {{"RSM", "MEMBER", "REMOVE"},
     4,
     4,
     LEADER,
     "RSM MEMBER REMOVE <id> -- leader only",
     api__cmd_member_remove},
    {{"RSM", "VIEWS"},
     2,
     2,
     0,
     "RSM VIEWS -- this agent's view of each master",
     api__cmd_views},
    {{"RSM", "LEADERVIEW"},
     3,
     3,
     0,
     "RSM LEADERVIEW <payload> -- the leader's view of the instances, from "
     "the leader",
     api__cmd_leaderview},
    {{"RSM", "ADVERTISE"},
     6,
     6,
     LEADER,
     "RSM ADVERTISE <id> <cluster-id|-> <host:port> <host:port|-> -- where "
     "an agent's client and HTTP ports are, leader only",
     api__cmd_advertise},
    {{"RSM", "HISTORY"},
     2,
     3,
     0,
     "RSM HISTORY [<group>] -- past failovers",
     api__cmd_history},
    {{"RSM", "PAUSE"},
     3,
     3,
     LEADER,
     "RSM PAUSE <group> -- no automatic failover, leader only",
     api__cmd_pause},
    {{"RSM", "RESUME"},
     3,
     3,
     LEADER,
     "RSM RESUME <group> -- leader only",
     api__cmd_resume},
    {{"RSM", "FAILOVER"},
     3,
     4,
     LEADER,
     "RSM FAILOVER <group> [FORCE] -- manual failover; FORCE may promote a "
     "replica that never synced, leader only",
     api__cmd_rsm_failover},
    {{"RSM", "SWITCHOVER"},
     3,
     5,
     LEADER,
     "RSM SWITCHOVER <group> [<host:port>|any] [<timeout-ms>] -- planned, "
     "no write lost, leader only",
     api__cmd_switchover},
    {{"RSM", "HELP"}, 2, 2, 0, "RSM HELP", api__cmd_help},
};

#undef NOAUTH
#undef PUBSUB
#undef LEADER

const size_t api__n_commands = sizeof api__commands / sizeof api__commands[0];

/* =====================================================================
 * Names of entries
 * ===================================================================== */

int api__n_words(const struct api_cmd *c)
{
    int n = 0;

    while (n < 3 && c->words[n] != NULL)
        n++;
    return n;
}

/* "rsm|member|add", lowercase, as Redis names subcommands. */
void api__cmd_name(const struct api_cmd *c, int words, char *buf, size_t len)
{
    size_t o = 0;

    assert(len > 0 && words >= 1 && words <= api__n_words(c));
    buf[0] = '\0';
    for (int i = 0; i < words && o + 1 < len; i++) {
        for (const char *s = c->words[i]; *s && o + 2 < len; s++)
            buf[o++] = (char)((*s >= 'A' && *s <= 'Z') ? *s + 32 : *s);
        if (i + 1 < words && o + 2 < len)
            buf[o++] = '|';
    }
    buf[o] = '\0';
}

/* =====================================================================
 * Dispatch
 * ===================================================================== */

/* "ERR unknown command 'x', with args beginning with: 'a' 'b' " */
static void api__unknown_command(struct rsm_resp_reply *r,
                                 const struct rsm_resp_request *req)
{
    char args[256] = "";
    size_t o = 0;

    for (int i = 1; i < req->argc && o < sizeof args - 1; i++) {
        int n = snprintf(args + o, sizeof args - o, "'%.64s' ", req->argv[i]);
        if (n < 0)
            break;
        o += (size_t)n;
    }
    rsm_resp_add_errorf(r,
                        "ERR unknown command '%.128s', with args beginning "
                        "with: %s",
                        req->argv[0], args);
}

/* Does some entry extend c's words (c has subcommands)? */
static bool api__has_subcommands(const struct api_cmd *c)
{
    int n = api__n_words(c);

    for (size_t i = 0; i < api__n_commands; i++) {
        const struct api_cmd *o = &api__commands[i];
        int k = 0;
        if (api__n_words(o) <= n)
            continue;
        while (k < n && strcasecmp(o->words[k], c->words[k]) == 0)
            k++;
        if (k == n)
            return true;
    }
    return false;
}

static void api__wrong_arity(struct rsm_resp_reply *r, const struct api_cmd *c,
                             int n)
{
    char name[64];

    api__cmd_name(c, n, name, sizeof name);
    rsm_resp_add_errorf(r, "ERR wrong number of arguments for '%s' command",
                        name);
}

static void api__unknown_subcommand(struct rsm_resp_reply *r,
                                    const struct api_cmd *c,
                                    const struct rsm_resp_request *req, int k)
{
    rsm_resp_add_errorf(r, "ERR unknown subcommand '%.64s'. Try %s HELP.",
                        req->argv[k], c->words[0]);
}

/* Find the command for req: the entry whose words match the most leading
 * arguments. Or answer the error (unknown command or subcommand, wrong
 * number of arguments) and return NULL. */
static const struct api_cmd *api__lookup(struct rsm_resp_reply *r,
                                         const struct rsm_resp_request *req)
{
    const struct api_cmd *full = NULL, *part = NULL;
    int full_n = 0, part_k = 0;
    int first = tolower((unsigned char)req->argv[0][0]);

    for (size_t i = 0; i < api__n_commands; i++) {
        const struct api_cmd *c = &api__commands[i];
        int n = api__n_words(c), k = 0;
        if (tolower((unsigned char)c->words[0][0]) != first)
            continue; /* the cheap test first: this is every request */
        while (k < n && k < req->argc &&
               strcasecmp(req->argv[k], c->words[k]) == 0)
            k++;
        if (k == n && n > full_n) {
            full = c;
            full_n = n;
        } else if (k < n && k > part_k) {
            part = c;
            part_k = k;
        }
    }
    if (full != NULL) {
        if (req->argc >= full->min_argc &&
            (full->max_argc < 0 || req->argc <= full->max_argc))
            return full;
        if (req->argc > full_n && api__has_subcommands(full))
            api__unknown_subcommand(r, full, req, full_n);
        else
            api__wrong_arity(r, full, full_n);
        return NULL;
    }
    if (part == NULL)
        api__unknown_command(r, req);
    else if (req->argc <= part_k)
        api__wrong_arity(r, part, part_k);
    else
        api__unknown_subcommand(r, part, req, part_k);
    return NULL;
}

/* May a client that has not authenticated run command `name` (its first
 * word)? Yes when an entry of that name is flagged CMD_NOAUTH; asked
 * before the lookup, so that an unauthenticated client learns nothing
 * about the table but NOAUTH. */
static bool api__allowed_before_auth(const char *name)
{
    for (size_t i = 0; i < api__n_commands; i++) {
        const struct api_cmd *c = &api__commands[i];
        if ((c->flags & CMD_NOAUTH) && strcasecmp(c->words[0], name) == 0)
            return true;
    }
    return false;
}

enum rsm_resp_status api__on_request(void *arg, struct rsm_resp_client *c,
                                     struct rsm_resp_reply *r,
                                     const struct rsm_resp_request *req)
{
    struct rsm_api *a = arg;
    struct api_client *cl = rsm_resp_client_data(c);
    const struct api_cmd *cmd;
    struct api_call x = {a, cl, r, req};

    assert(req->argc >= 1); /* resp_server's contract */
    a->n_commands++;
    if (cl == NULL) { /* its state could not be allocated */
        rsm_resp_add_error(r, "ERR out of memory");
        rsm_resp_reply_close_after(r);
        return RSM_RESP_DONE;
    }
    if (!cl->authed && !api__allowed_before_auth(req->argv[0])) {
        rsm_resp_add_error(r, "NOAUTH Authentication required.");
        return RSM_RESP_DONE;
    }
    cmd = api__lookup(r, req);
    if (cmd == NULL)
        return RSM_RESP_DONE;
    assert(cmd->fn != NULL && req->argc >= cmd->min_argc);
    if (api__subscribed(cl) && !(cmd->flags & CMD_PUBSUB)) {
        rsm_resp_add_errorf(r,
                            "ERR Can't execute '%.64s': only (P|S)SUBSCRIBE / "
                            "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are "
                            "allowed in this context",
                            req->argv[0]);
        return RSM_RESP_DONE;
    }
    if ((cmd->flags & CMD_LEADER) && !a->ops->is_leader(a->node)) {
        api__not_leader(a, r);
        return RSM_RESP_DONE;
    }
    return cmd->fn(&x);
}
