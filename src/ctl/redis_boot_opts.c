/* redis_boot_opts.c - `rsmctl redis-boot`'s --help and flags; a bad flag
 * is a usage error (exit 2) before any agent is asked. */
#include "redis_boot.h"
#include "rsm/err.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PW_ENV "RSM_AGENT_PASSWORD"

static void redis_boot__usage(FILE *out)
{
    fprintf(out,
            "usage: rsmctl redis-boot --agents HOST:PORT[,...] --group NAME\n"
            "                         --self HOST:PORT [options]\n"
            "                         -- redis-server [ARGS...]\n"
            "\n"
            "Run before a Redis server starts (as its container's command):\n"
            "ask the agents what this instance must be, then exec the server\n"
            "with --replicaof <committed master> appended, or as a master.\n"
            "\n"
            "  - another instance is the committed master: replica of it;\n"
            "  - no master committed for the group yet (first bootstrap):\n"
            "    master (the agents then pick one and re-point the others);\n"
            "  - this instance is the committed master: master if its data\n"
            "    dir holds data (an RDB with keys, or an AOF), else it waits\n"
            "    until the agents have failed over and starts as a replica\n"
            "    of the new master: an empty master never wipes its\n"
            "    replicas;\n"
            "  - a failover in flight: wait for its end.\n"
            "Only an agent that knows a Raft leader is believed (the\n"
            "leader's answer first). With no such agent it asks again every\n"
            "--poll-ms; after --wait-ms without one it falls back: replica\n"
            "of the master recorded at the last boot (--state-file) if that\n"
            "is another instance, else exit 3 (the supervisor restarts it\n"
            "and it asks again).\n"
            "\n"
            "options:\n"
            "  --agents HOST:PORT[,...]  the agents' client ports "
            "(repeatable;\n"
            "                            default $RSM_AGENT)\n"
            "  --group NAME              the group, as in the agents' "
            "--monitor\n"
            "  --self HOST:PORT          this instance, exactly as in the\n"
            "                            agents' --monitor\n"
            "  --data-dir DIR            where its RDB/AOF are (default: the\n"
            "                            dir of the Redis arguments or config\n"
            "                            file, else the current directory)\n"
            "  --state-file FILE         last decision (default\n"
            "                            DIR/" REDIS_BOOT_STATE_NAME ")\n"
            "  --wait-ms N               fallback after N ms without a usable\n"
            "                            agent (default 60000; 0: never)\n"
            "  --poll-ms N               between two rounds (default 1000)\n"
            "  --timeout-ms N            per agent and round (default 1000)\n"
            "  --password-file FILE      the agents' password (default\n"
            "                            $" PW_ENV ")\n" TLSFLAGS_HELP
            "  --dry-run                 print the decision and the command,\n"
            "                            do not exec\n"
            "  -h, --help                this text\n"
            "\n"
            "exit codes: none on success (the process becomes redis-server);\n"
            "0 with --dry-run; 2 usage error; 3 fallback found nothing safe;\n"
            "1 exec failed.\n");
}

/* ------------------------------------------------------------------------
 * Options
 * ---------------------------------------------------------------------- */

static int redis_boot__add_agents(struct redis_boot_options *o,
                                  const char *text)
{
    char item[RSM_ADDR_STRLEN + 1], err[RSM_ERRMSG_SIZE];
    const char *p = text;

    for (;;) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof item)
            return rsmctl_usage_error(REDIS_BOOT_PROG, "bad agent list '%s'",
                                      text);
        memcpy(item, p, len);
        item[len] = '\0';
        if (o->n_agents == REDIS_BOOT_MAX_AGENTS)
            return rsmctl_usage_error(REDIS_BOOT_PROG, "more than %d agents",
                                      REDIS_BOOT_MAX_AGENTS);
        if (rsm_addr_parse(item, &o->agents[o->n_agents], err, sizeof err))
            return rsmctl_usage_error(REDIS_BOOT_PROG,
                                      "bad agent address '%s': %s", item, err);
        o->n_agents++;
        if (p[len] == '\0')
            return 0;
        p += len + 1;
    }
}

static int redis_boot__parse_number(const char *flag, const char *s,
                                    uint64_t max, uint64_t *out)
{
    if (rsmctl_parse_uint(s, 0, max, out) != 0)
        return rsmctl_usage_error(REDIS_BOOT_PROG,
                                  "%s: '%s' is not a number up to %llu", flag,
                                  s, (unsigned long long)max);
    return 0;
}

static int redis_boot__check_redis_args(const struct redis_boot_options *o)
{
    for (int i = 1; i < o->redis_argc; i++) {
        const char *a = o->redis_argv[i];
        if (strcasecmp(a, "--replicaof") == 0 ||
            strcasecmp(a, "--slaveof") == 0)
            return rsmctl_usage_error(REDIS_BOOT_PROG,
                                      "'%s' in the Redis arguments: redis-boot "
                                      "decides that",
                                      a);
    }
    return 0;
}

int redis_boot_parse_options(int argc, char **argv,
                             struct redis_boot_options *o)
{
    enum {
        O_GROUP = 1,
        O_SELF,
        O_DATA,
        O_STATE,
        O_WAIT,
        O_POLL,
        O_TIMEOUT,
        O_PW,
        O_DRY
    };
    static const struct option longopts[] = {
        {"agents", required_argument, NULL, 'a'},
        {"agent", required_argument, NULL, 'a'},
        {"group", required_argument, NULL, O_GROUP},
        {"self", required_argument, NULL, O_SELF},
        {"data-dir", required_argument, NULL, O_DATA},
        {"state-file", required_argument, NULL, O_STATE},
        {"wait-ms", required_argument, NULL, O_WAIT},
        {"poll-ms", required_argument, NULL, O_POLL},
        {"timeout-ms", required_argument, NULL, O_TIMEOUT},
        {"password-file", required_argument, NULL, O_PW},
        {"dry-run", no_argument, NULL, O_DRY},
        TLSFLAGS_LONGOPTS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *pw_file = NULL;
    char err[RSM_ERRMSG_SIZE];
    int c, rv = 0;

    memset(o, 0, sizeof *o);
    o->wait_ms = 60000;
    o->poll_ms = 1000;
    o->timeout_ms = 1000;
    opterr = 0;
    optind = 1;
    while (rv == 0 &&
           (c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            rv = redis_boot__add_agents(o, optarg);
            break;
        case O_GROUP:
            if (strlen(optarg) == 0 || strlen(optarg) >= sizeof o->group)
                rv = rsmctl_usage_error(REDIS_BOOT_PROG, "bad group name '%s'",
                                        optarg);
            else
                strcpy(o->group, optarg);
            break;
        case O_SELF:
            if (rsm_addr_parse(optarg, &o->self, err, sizeof err) != 0)
                rv = rsmctl_usage_error(REDIS_BOOT_PROG, "--self '%s': %s",
                                        optarg, err);
            o->self_set = true;
            break;
        case O_DATA:
            o->data_dir = optarg;
            break;
        case O_STATE:
            o->state_file = optarg;
            break;
        case O_WAIT:
            rv = redis_boot__parse_number("--wait-ms", optarg, 86400000,
                                          &o->wait_ms);
            break;
        case O_POLL:
            rv = redis_boot__parse_number("--poll-ms", optarg, 3600000,
                                          &o->poll_ms);
            if (rv == 0 && o->poll_ms < 10)
                rv = rsmctl_usage_error(REDIS_BOOT_PROG,
                                        "--poll-ms: at least 10");
            break;
        case O_TIMEOUT:
            rv = redis_boot__parse_number("--timeout-ms", optarg, 600000,
                                          &o->timeout_ms);
            if (rv == 0 && o->timeout_ms == 0)
                rv = rsmctl_usage_error(REDIS_BOOT_PROG,
                                        "--timeout-ms: at least 1");
            break;
        case O_PW:
            pw_file = optarg;
            break;
        case O_DRY:
            o->dry_run = true;
            break;
        case 'h':
            redis_boot__usage(stdout);
            exit(RSMCTL_EXIT_OK);
        default:
            if (c != '?' && c != ':' &&
                tlsflags_option(&o->tls, c, optarg) == 0)
                break;
            rv = rsmctl_usage_error(REDIS_BOOT_PROG,
                                    "unknown or incomplete flag '%s'",
                                    argv[optind - 1]);
        }
    }
    if (rv != 0)
        return rv;
    if (optind >= argc)
        return rsmctl_usage_error(REDIS_BOOT_PROG, "no Redis command after --");
    o->redis_argc = argc - optind;
    o->redis_argv = argv + optind;
    if (o->n_agents == 0 && getenv("RSM_AGENT") && *getenv("RSM_AGENT"))
        rv = redis_boot__add_agents(o, getenv("RSM_AGENT"));
    if (rv == 0 && o->n_agents == 0)
        rv = rsmctl_usage_error(REDIS_BOOT_PROG,
                                "--agents is required (or RSM_AGENT)");
    if (rv == 0 && o->group[0] == '\0')
        rv = rsmctl_usage_error(REDIS_BOOT_PROG, "--group is required");
    if (rv == 0 && !o->self_set)
        rv = rsmctl_usage_error(REDIS_BOOT_PROG, "--self is required");
    if (rv == 0 && rsmctl_read_secret(pw_file, PW_ENV, o->password,
                                      sizeof o->password, err, sizeof err) != 0)
        rv = rsmctl_usage_error(REDIS_BOOT_PROG, "%s", err);
    if (rv == 0 && tlsflags_finish(&o->tls, err, sizeof err) != 0)
        rv = rsmctl_usage_error(REDIS_BOOT_PROG, "%s", err);
    if (rv == 0)
        rv = redis_boot__check_redis_args(o);
    return rv;
}
