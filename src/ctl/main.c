/* main.c - rsmctl: dispatch to a subcommand. */
#include "ctl.h"
#include "rsm/version.h"

#include <stdio.h>
#include <string.h>

struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

/* One line per subcommand. */
static const struct subcommand subcommands[] = {
    {"promote", rsmctl_promote,
     "one-shot: promote the best replica if the master is gone"},
    {"status", rsmctl_status, "the agent group and its groups at a glance"},
    {"members", rsmctl_members, "list, add or remove agents of the group"},
    {"failover", rsmctl_failover, "manual failover of a Redis group, now"},
    {"switchover", rsmctl_switchover,
     "planned move of a Redis group's master, no write lost"},
    {"pause", rsmctl_pause, "no automatic failover of a Redis group"},
    {"resume", rsmctl_resume, "automatic failover of a Redis group again"},
    {"history", rsmctl_history, "the failovers the agents committed"},
    {"redis-boot", rsmctl_redis_boot, "start Redis as what the agents say"},
};

#define N_SUBCOMMANDS (sizeof subcommands / sizeof subcommands[0])

static void rsmctl__usage(FILE *out)
{
    fprintf(out, "usage: rsmctl <command> [options] ...\n"
                 "       rsmctl <command> --help\n"
                 "       rsmctl --help | --version\n\ncommands:\n");
    for (size_t i = 0; i < N_SUBCOMMANDS; i++)
        fprintf(out, "  %-10s %s\n", subcommands[i].name,
                subcommands[i].summary);
    fprintf(out,
            "\nexit codes:\n"
            "  0  nothing needed, or done\n"
            "  1  attempted and failed part-way (the output says where and "
            "what is left),\n"
            "     or refused by the agents (the message says why)\n"
            "  2  usage error: bad flag, address or file; nothing contacted\n"
            "  3  nothing reachable, no leader elected, no eligible replica, "
            "or\n"
            "     refusing to act\n"
            "  4  an agent refused the password (or wants one)\n"
            "\nAgents: --agents HOST:PORT,... (or $RSM_AGENT), tried in "
            "turn; their\npassword from --password-file FILE or "
            "$RSM_AGENT_PASSWORD. promote's Redis\npassword: "
            "--password-file FILE or $RSM_REDIS_PASSWORD. Never on the "
            "command\nline.\n"
            "\nTLS (agents started with --tls-api on; promote: Redis's "
            "tls-port): --tls,\nwith --cacert FILE (the CAs to verify the "
            "server against; default: the\nsystem's) and, for servers that "
            "want a client certificate, --cert FILE\n--key FILE; or "
            "$RSM_TLS=1, $RSM_TLS_CACERT, $RSM_TLS_CERT, $RSM_TLS_KEY.\n");
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;

    if (cmd == NULL) {
        rsmctl__usage(stderr);
        return RSMCTL_EXIT_USAGE;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
        strcmp(cmd, "help") == 0) {
        rsmctl__usage(stdout);
        return RSMCTL_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("rsmctl %s\n", RSM_VERSION);
        return RSMCTL_EXIT_OK;
    }
    for (size_t i = 0; i < N_SUBCOMMANDS; i++) {
        if (strcmp(cmd, subcommands[i].name) == 0)
            return subcommands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "rsmctl: unknown command '%s' (see rsmctl --help)\n", cmd);
    return RSMCTL_EXIT_USAGE;
}
