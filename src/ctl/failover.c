/* failover.c - `rsmctl failover|switchover|pause|resume|history`: an operator's
 * hand on the failover of a Redis group.
 *
 * failover, pause and resume are decided through the Raft log, so they go
 * to the leader: sent to a follower they come back as
 * "-NOTLEADER <id> <host:port>" and are sent once more, there
 * (agentlink_ask_leader). failover then waits, by default, until the
 * agents' committed state shows it finished. history reads the committed
 * history (RSM HISTORY) from any agent. */
#include "agentlink.h"
#include "ctl.h"
#include "jfield.h"
#include "table.h"

#include <getopt.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum verb { FAILOVER, PAUSE, RESUME, HISTORY, SWITCHOVER };

static const char *const verb_name[] = {
    [FAILOVER] = "failover", [PAUSE] = "pause",           [RESUME] = "resume",
    [HISTORY] = "history",   [SWITCHOVER] = "switchover",
};

struct options {
    enum verb verb;
    char prog[32]; /* "rsmctl failover" ... */
    bool json;
    bool force; /* failover: RSM FAILOVER GROUP FORCE */
    bool wait;
    uint64_t wait_s;
    const char *group; /* NULL: every group (history only) */
    const char *to;    /* switchover target, NULL: any */
    char timeout[24];  /* switchover deadline in ms, "" default */
    struct agentlink link;
};

/* --- usage -----------------------------------------------------------------
 */

static const char exit_codes[] =
    "exit codes:\n"
    "  0  done\n"
    "  1  refused or failed (the message says why), or not finished in "
    "time\n"
    "  2  usage error; nothing contacted\n"
    "  3  no agent could be reached, or no leader elected\n"
    "  4  an agent refused the password (or wants one)\n";

static void failover__usage(FILE *out, enum verb v)
{
    switch (v) {
    case FAILOVER:
        fprintf(out,
                "usage: rsmctl failover [options] GROUP\n"
                "\n"
                "Ask the agents for a manual failover of GROUP: the leader "
                "decides it\nthrough the Raft log like an automatic one "
                "(best replica promoted,\nthe others re-pointed), even if "
                "the group is paused. Then wait until\nthe committed state "
                "shows it finished, and say old -> new.\n"
                "\n"
                "A replica that never completed a sync with its master "
                "holds none of\nits data: it is never promoted (the "
                "reason is in rsmctl status), unless\n--force is given: "
                "then it may be, if no synced replica is eligible.\n"
                "Everything the master held is then lost, and the master, "
                "if it comes\nback, is made a replica of it (wiped). "
                "Automatic failovers never do this.\n"
                "\n"
                "options:\n" AGENTLINK_HELP
                "  --force                   also consider replicas that "
                "never completed a\n"
                "                            sync (after every synced "
                "one)\n"
                "  --no-wait                 return once the leader took "
                "the request\n"
                "  --wait S                  wait at most S seconds "
                "(default 60)\n"
                "  --timeout-ms N            per agent (default 10000)\n"
                "  -h, --help                this text\n\n%s",
                exit_codes);
        break;
    case SWITCHOVER:
        fprintf(out,
                "usage: rsmctl switchover [options] GROUP\n"
                "\n"
                "Move the master of GROUP to a replica without losing an "
                "acknowledged\nwrite: the leader decides it through the Raft "
                "log (refused while a\nfailover is in flight or the group "
                "is paused; the target must be\neligible: priority > 0, "
                "linked, caught up), then carries it out by the\nagents' "
                "--switchover-method: pause (the default: CLIENT PAUSE WRITE "
                "on the\nmaster until the target has every write, the old "
                "master demoted\nfirst, then the target promoted, writes "
                "resumed) or failover (the\nmaster's own FAILOVER TO). "
                "Redis < 6.2 is refused: no switchover can\nbe lossless "
                "there (use rsmctl failover). If the target is not\n"
                "promoted in time the switchover is aborted and the old "
                "master keeps\nserving. Waits for the result in the "
                "committed history.\n"
                "\n"
                "options:\n" AGENTLINK_HELP
                "  --to HOST:PORT            the replica to promote "
                "(default: the best)\n"
                "  --timeout-ms N            deadline of the switchover "
                "(default: the\n"
                "                            agents' failover timeout)\n"
                "  --no-wait                 return once the leader "
                "decided\n"
                "  --wait S                  wait at most S seconds "
                "(default 60)\n"
                "  -h, --help                this text\n\n%s",
                exit_codes);
        break;
    case PAUSE:
    case RESUME:
        fprintf(out,
                "usage: rsmctl %s [options] GROUP\n"
                "\n"
                "%s\n"
                "(committed through the Raft log: every agent and any later "
                "leader\nabide by it). A manual failover is always "
                "allowed.\n"
                "\n"
                "options:\n" AGENTLINK_HELP
                "  --timeout-ms N            per agent (default 10000)\n"
                "  -h, --help                this text\n\n%s",
                verb_name[v],
                v == PAUSE ? "No automatic failover of GROUP until it is "
                             "resumed"
                           : "Automatic failover of GROUP again, after a "
                             "pause",
                exit_codes);
        break;
    case HISTORY:
        fprintf(out,
                "usage: rsmctl history [options] [GROUP]\n"
                "\n"
                "The failovers the agents committed (oldest first), of "
                "GROUP or of\nevery group: when, old -> new, epoch, kind, "
                "result, data at risk\nand the reason. Any agent answers.\n"
                "\n"
                "options:\n" AGENTLINK_HELP
                "  --json                    print JSON\n"
                "  --timeout-ms N            per agent (default 1000)\n"
                "  -h, --help                this text\n\n%s",
                exit_codes);
        break;
    }
}

/* A group name as the agents take it: 1..RSM_GROUP_NAME_MAX-1 printable
 * characters, no space. */
static bool failover__good_group_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= 64)
        return false;
    for (; *s; s++)
        if (*s <= ' ' || *s > '~')
            return false;
    return true;
}

static int failover__parse_options(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        AGENTLINK_LONGOPTS,
        {"json", no_argument, NULL, 'j'},
        {"no-wait", no_argument, NULL, 'N'},
        {"wait", required_argument, NULL, 'W'},
        {"to", required_argument, NULL, 'T'},
        {"force", no_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char err[RSM_ERRMSG_SIZE];
    int c;

    opt->wait = opt->verb == FAILOVER || opt->verb == SWITCHOVER;
    opt->wait_s = 60;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            if (opt->verb != HISTORY)
                return rsmctl_usage_error(opt->prog,
                                          "--json is for history only");
            opt->json = true;
            break;
        case 'N':
        case 'W':
            if (opt->verb != FAILOVER && opt->verb != SWITCHOVER)
                return rsmctl_usage_error(opt->prog,
                                          "--wait / --no-wait are for "
                                          "failover and switchover only");
            opt->wait = c == 'W';
            if (c == 'W' &&
                rsmctl_parse_uint(optarg, 1, 86400, &opt->wait_s) != 0)
                return rsmctl_usage_error(opt->prog,
                                          "--wait: '%s' is not 1..86400 "
                                          "seconds",
                                          optarg);
            break;
        case 'F':
            if (opt->verb != FAILOVER)
                return rsmctl_usage_error(opt->prog,
                                          "--force is for failover only");
            opt->force = true;
            break;
        case 'T': {
            struct rsm_addr a;

            if (opt->verb != SWITCHOVER)
                return rsmctl_usage_error(opt->prog,
                                          "--to is for switchover only");
            if (rsm_addr_parse(optarg, &a, err, sizeof err) != 0)
                return rsmctl_usage_error(opt->prog, "--to: %s", err);
            opt->to = optarg;
            break;
        }
        case 't':
            if (opt->verb == SWITCHOVER) {
                uint64_t ms;

                if (rsmctl_parse_uint(optarg, 100, 3600000, &ms) != 0)
                    return rsmctl_usage_error(opt->prog,
                                              "--timeout-ms: '%s' is not "
                                              "100..3600000",
                                              optarg);
                snprintf(opt->timeout, sizeof opt->timeout, "%" PRIu64, ms);
                break;
            }
            if (agentlink_option(&opt->link, c, optarg, err, sizeof err) != 0)
                return rsmctl_usage_error(opt->prog, "%s", err);
            break;
        case 'h':
            failover__usage(stdout, opt->verb);
            return -1;
        case '?':
            return rsmctl_usage_error(opt->prog, "bad option");
        default:
            if (agentlink_option(&opt->link, c, optarg, err, sizeof err) != 0)
                return rsmctl_usage_error(opt->prog, "%s", err);
        }
    }
    if (optind < argc)
        opt->group = argv[optind++];
    if (optind < argc)
        return rsmctl_usage_error(opt->prog, "unexpected argument '%s'",
                                  argv[optind]);
    if (opt->group == NULL && opt->verb != HISTORY)
        return rsmctl_usage_error(opt->prog, "which group?");
    if (opt->group != NULL && !failover__good_group_name(opt->group))
        return rsmctl_usage_error(opt->prog, "bad group name '%s'", opt->group);
    if (agentlink_finish(&opt->link, opt->verb == HISTORY ? 1000 : 10000, err,
                         sizeof err) != 0)
        return rsmctl_usage_error(opt->prog, "%s", err);
    return 0;
}

/* --- committed state
 * ---------------------------------------------------------- */

/* RSM STATUS from the first agent of l that gives one, or NULL (reported
 * on stderr unless quiet; *exit_code says why). */
static json_t *failover__get_status(const struct agentlink *l, const char *prog,
                                    bool quiet, int *exit_code)
{
    static const char *const argv[] = {"RSM", "STATUS"};
    struct agent_call c;
    json_t *o = NULL;
    long who;

    if (quiet) {
        for (size_t i = 0; i < l->n && o == NULL; i++) {
            memset(&c, 0, sizeof c);
            c.addr = l->agents[i];
            if (agentlink_call(l, &c, 2, argv) == 0 &&
                c.reply.type == REDIS_REPLY_STRING)
                o = json_loads(c.reply.str, 0, NULL);
            agentlink_calls_free(&c, 1);
        }
        *exit_code = RSMCTL_EXIT_UNAVAILABLE;
        return o;
    }
    who = agentlink_ask_first(l, prog, &c, 2, argv, exit_code);
    if (who < 0) {
        fprintf(stderr, "%s: no agent answered\n", prog);
        return NULL;
    }
    if (c.status == 0 && c.reply.type == REDIS_REPLY_STRING)
        o = json_loads(c.reply.str, 0, NULL);
    if (o == NULL || !json_is_object(o)) {
        fprintf(stderr, "%s: agent sent no status: %s\n", prog,
                c.reply.str ? c.reply.str : "");
        json_decref(o);
        o = NULL;
        *exit_code = RSMCTL_EXIT_FAILED;
    }
    agentlink_calls_free(&c, 1);
    return o;
}

static json_t *failover__find_group(json_t *status, const char *name)
{
    size_t i;
    json_t *g;

    json_array_foreach(json_object_get(status, "groups"), i, g)
    {
        if (strcmp(jfield_str(g, "name"), name) == 0)
            return g;
    }
    return NULL;
}

/* --- failover, pause, resume
 * -------------------------------------------------- */

/* Send argv to the leader; 0 once it said OK (printed by the caller). */
static int failover__to_leader(const struct options *opt, int argc,
                               const char *const *argv, struct rsm_addr *leader)
{
    char name[RSM_ADDR_STRLEN];
    struct agent_call c;
    int rv =
        agentlink_ask_leader(&opt->link, opt->prog, &c, argc, argv, leader);

    if (rv != RSMCTL_EXIT_OK)
        return rv;
    if (c.status != 0) {
        fprintf(stderr, "%s: the leader at %s refused: %s\n", opt->prog,
                rsm_addr_format(leader, name, sizeof name), c.reply.str);
        rv = RSMCTL_EXIT_FAILED;
    }
    agentlink_calls_free(&c, 1);
    return rv;
}

static int failover__pause_resume(const struct options *opt)
{
    const char *argv[] = {"RSM", opt->verb == PAUSE ? "PAUSE" : "RESUME",
                          opt->group};
    char name[RSM_ADDR_STRLEN];
    struct rsm_addr leader;
    int rv = failover__to_leader(opt, 3, argv, &leader);

    if (rv != RSMCTL_EXIT_OK)
        return rv;
    rsm_addr_format(&leader, name, sizeof name);
    if (opt->verb == PAUSE)
        printf("group %s paused: no automatic failover until `rsmctl "
               "resume %s` (by the leader at %s)\n",
               opt->group, opt->group, name);
    else
        printf("group %s resumed: automatic failover on (by the leader at "
               "%s)\n",
               opt->group, name);
    return RSMCTL_EXIT_OK;
}

/* The history item of g with an epoch above `after`, once nothing is in
 * flight; NULL while not there. */
static json_t *failover__finished(json_t *g, int64_t after)
{
    json_t *hist = json_object_get(g, "history"), *h;
    size_t i;

    if (json_is_object(json_object_get(g, "in_flight")))
        return NULL;
    json_array_foreach(hist, i, h)
    {
        if (jfield_int(h, "epoch") > after)
            return h;
    }
    return NULL;
}

/* Poll the committed state (the leader first, then the agents given) until
 * the failover after epoch `after` is finished or wait_s has passed. */
static int failover__wait_done(const struct options *opt,
                               const struct rsm_addr *leader, int64_t after)
{
    struct agentlink l = opt->link;
    struct timespec start, now, pause_ts = {0, 200 * 1000 * 1000};
    int code, rv = RSMCTL_EXIT_FAILED;

    if (l.n == AGENTLINK_MAX)
        l.n--;
    memmove(&l.agents[1], &l.agents[0], l.n * sizeof l.agents[0]);
    l.agents[0] = *leader;
    l.n++;
    l.timeout_ms = 1000;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        json_t *st = failover__get_status(&l, opt->prog, true, &code);
        json_t *h =
            failover__finished(failover__find_group(st, opt->group), after);
        if (h != NULL) {
            const char *result = jfield_str(h, "result");
            int64_t risk = json_is_integer(json_object_get(h, "data_at_risk"))
                               ? jfield_int(h, "data_at_risk")
                               : -1;
            char riskbuf[48] = "unknown";
            if (risk >= 0)
                snprintf(riskbuf, sizeof riskbuf, "%" PRId64 " bytes", risk);
            printf("%s of %s %s: epoch %" PRId64 ", %s -> %s, data "
                   "at risk %s\n",
                   verb_name[opt->verb], opt->group, result,
                   jfield_int(h, "epoch"), jfield_str(h, "old_master"),
                   jfield_str(h, "new_master"), riskbuf);
            rv = strncmp(result, "completed", 9) == 0 ? RSMCTL_EXIT_OK
                                                      : RSMCTL_EXIT_FAILED;
            json_decref(st);
            break;
        }
        json_decref(st);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= (time_t)opt->wait_s) {
            fprintf(stderr,
                    "%s: not finished after %" PRIu64 " s; see rsmctl "
                    "status\n",
                    opt->prog, opt->wait_s);
            break;
        }
        nanosleep(&pause_ts, NULL);
    }
    agentlink_wipe(&l);
    return rv;
}

static int failover__request(const struct options *opt)
{
    /* RSM FAILOVER, not SENTINEL FAILOVER: a follower would pass the
     * latter on to the leader itself, and this command says which agent
     * decided and then watches that one */
    const char *argv[5] = {"RSM", "FAILOVER", opt->group, NULL, NULL};
    int argc = 3;
    struct rsm_addr leader;
    char name[RSM_ADDR_STRLEN];
    json_t *st, *g;
    int64_t epoch;
    int rv;

    st = failover__get_status(&opt->link, opt->prog, false, &rv);
    if (st == NULL)
        return rv;
    g = failover__find_group(st, opt->group);
    if (g == NULL) {
        fprintf(stderr, "%s: the agents know no group '%s'\n", opt->prog,
                opt->group);
        json_decref(st);
        return RSMCTL_EXIT_FAILED;
    }
    epoch = jfield_int(g, "epoch");
    json_decref(st);
    if (opt->force)
        argv[argc++] = "FORCE";
    if (opt->verb == SWITCHOVER) {
        argv[0] = "RSM";
        argv[1] = "SWITCHOVER";
        argv[argc++] = opt->to != NULL ? opt->to : "any";
        if (opt->timeout[0] != '\0')
            argv[argc++] = opt->timeout;
    }
    rv = failover__to_leader(opt, argc, argv, &leader);
    if (rv != RSMCTL_EXIT_OK)
        return rv;
    printf("%s of %s requested from the leader at %s\n", verb_name[opt->verb],
           opt->group, rsm_addr_format(&leader, name, sizeof name));
    fflush(stdout);
    if (!opt->wait)
        return RSMCTL_EXIT_OK;
    return failover__wait_done(opt, &leader, epoch);
}

/* --- history
 * ------------------------------------------------------------------- */

static void failover__print_item(bool color, const char *group, json_t *h)
{
    const char *result = jfield_str(h, "result");
    int64_t took =
        jfield_int(h, "ended_at_ms") - jfield_int(h, "decided_at_ms");
    json_t *risk = json_object_get(h, "data_at_risk");
    char ts[32], line[1024], riskbuf[48] = "unknown";
    enum text_color c = strcmp(result, "completed") == 0 ? TC_GREEN
                        : strcmp(result, "aborted") == 0 ? TC_RED
                                                         : TC_YELLOW;

    if (json_is_integer(risk) && json_integer_value(risk) >= 0)
        snprintf(riskbuf, sizeof riskbuf, "%" JSON_INTEGER_FORMAT " bytes",
                 json_integer_value(risk));
    printf(
        "%s%s%s  epoch %" PRId64 "  %s  %s  %s%s%s\n", text_on(color, TC_BOLD),
        group, text_off(color, TC_BOLD), jfield_int(h, "epoch"),
        text_when(jfield_int(h, "decided_at_ms"), ts, sizeof ts),
        jfield_str(h, "kind"), text_on(color, c), result, text_off(color, c));
    snprintf(line, sizeof line, "%s -> %s, data at risk %s, took %.1f s",
             jfield_str(h, "old_master"), jfield_str(h, "new_master"), riskbuf,
             took > 0 ? (double)took / 1000 : 0.0);
    text_wrap(stdout, color, "    ", 0, TC_NONE, line);
    if (jfield_str(h, "reason")[0] != '\0')
        text_wrap(stdout, color, "    reason: ", 2, TC_NONE,
                  jfield_str(h, "reason"));
}

/* One item of RSM HISTORY, a flat array of key/value bulk strings, as a
 * JSON object with the keys of RSM STATUS's history ("old-master" ->
 * "old_master") and numbers as numbers; NULL if malformed. */
static json_t *failover__history_item(const struct agent_reply *r)
{
    static const char *const numbers[] = {
        "epoch",      "decided_at_ms", "ended_at_ms",
        "old_offset", "new_offset",    "data_at_risk",
    };
    json_t *o;

    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0)
        return NULL;
    o = json_object();
    for (size_t i = 0; o != NULL && i < r->elements; i += 2) {
        const struct agent_reply *k = &r->element[i], *v = &r->element[i + 1];
        char key[32];
        bool number = false;
        char *end;
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            k->len >= sizeof key) {
            json_decref(o);
            return NULL;
        }
        for (size_t c = 0; c <= k->len; c++)
            key[c] = k->str[c] == '-' ? '_' : k->str[c];
        for (size_t n = 0; n < sizeof numbers / sizeof numbers[0]; n++)
            number = number || strcmp(key, numbers[n]) == 0;
        if (number) {
            long long x = strtoll(v->str, &end, 10);
            json_object_set_new(o, key,
                                *end == '\0' && v->len > 0 ? json_integer(x)
                                                           : json_null());
        } else {
            json_object_set_new(o, key, json_string(v->str));
        }
    }
    return o;
}

static int failover__history(const struct options *opt)
{
    const char *argv[] = {"RSM", "HISTORY", opt->group};
    bool color = text_use_color(stdout);
    json_t *out = json_array(), *h;
    struct agent_call c;
    size_t i;
    int rv;

    if (agentlink_ask_first(&opt->link, opt->prog, &c, opt->group ? 3 : 2, argv,
                            &rv) < 0) {
        fprintf(stderr, "%s: no agent answered\n", opt->prog);
        json_decref(out);
        return rv;
    }
    rv = RSMCTL_EXIT_OK;
    if (c.status == RSM_EREPLY) {
        fprintf(stderr, "%s: %s\n", opt->prog, c.reply.str);
        rv = RSMCTL_EXIT_FAILED;
    } else if (c.reply.type != REDIS_REPLY_ARRAY) {
        fprintf(stderr, "%s: unexpected reply to RSM HISTORY\n", opt->prog);
        rv = RSMCTL_EXIT_FAILED;
    }
    for (i = 0; rv == RSMCTL_EXIT_OK && i < c.reply.elements; i++) {
        h = failover__history_item(&c.reply.element[i]);
        if (h == NULL) {
            fprintf(stderr, "%s: malformed history item\n", opt->prog);
            rv = RSMCTL_EXIT_FAILED;
        }
        json_array_append_new(out, h);
    }
    agentlink_calls_free(&c, 1);
    if (rv == RSMCTL_EXIT_OK && opt->json) {
        json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    } else if (rv == RSMCTL_EXIT_OK) {
        json_array_foreach(out, i, h)
        {
            failover__print_item(color, jfield_str(h, "group"), h);
        }
        if (json_array_size(out) == 0)
            printf("no failover yet%s%s\n", opt->group ? " of " : "",
                   opt->group ? opt->group : "");
    }
    json_decref(out);
    return rv;
}

/* --- entry points
 * ---------------------------------------------------------------- */

static int failover__run(enum verb v, int argc, char **argv)
{
    struct options opt = {.verb = v};
    int rv;

    snprintf(opt.prog, sizeof opt.prog, "rsmctl %s", verb_name[v]);
    rv = failover__parse_options(argc, argv, &opt);
    if (rv == 0) {
        switch (v) {
        case FAILOVER:
        case SWITCHOVER:
            rv = failover__request(&opt);
            break;
        case PAUSE:
        case RESUME:
            rv = failover__pause_resume(&opt);
            break;
        case HISTORY:
            rv = failover__history(&opt);
            break;
        }
    }
    agentlink_free(&opt.link);
    return rv < 0 ? RSMCTL_EXIT_OK : rv;
}

int rsmctl_failover(int argc, char **argv)
{
    return failover__run(FAILOVER, argc, argv);
}

int rsmctl_switchover(int argc, char **argv)
{
    return failover__run(SWITCHOVER, argc, argv);
}

int rsmctl_pause(int argc, char **argv)
{
    return failover__run(PAUSE, argc, argv);
}

int rsmctl_resume(int argc, char **argv)
{
    return failover__run(RESUME, argc, argv);
}

int rsmctl_history(int argc, char **argv)
{
    return failover__run(HISTORY, argc, argv);
}
