/* promote_opts.c - `rsmctl promote`'s flags: --help, the flags, the
 * host:port arguments and the --srv targets, the Redis password. A bad one
 * is a usage error (exit 2) before anything is contacted. */
#include "promote.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define PROG "rsmctl promote"

static void promote__usage(FILE *out)
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
        "TLS to Redis (Redis's tls-port):\n" TLSFLAGS_HELP
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

static int promote__add_addr(struct promote_options *opt,
                             const struct rsm_addr *a, const char *given)
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
static const char *promote__skip_quoted_prefix(const char *msg,
                                               const char *text)
{
    size_t n = strlen(text);

    if (msg[0] == '\'' && strncmp(msg + 1, text, n) == 0 &&
        strncmp(msg + 1 + n, "': ", 3) == 0)
        return msg + n + 4;
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
    TLSFLAGS_LONGOPTS,
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Returns 0 to go on, -1 after --help, or RSMCTL_EXIT_USAGE. */
static int promote__parse_flags(int argc, char **argv,
                                struct promote_options *opt)
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
            promote__usage(stdout);
            return -1;
        case ':':
            return rsmctl_usage_error(PROG, "option '%s' needs a value",
                                      argv[optind - 1]);
        default:
            if (c != '?' && tlsflags_option(&opt->tls, c, optarg) == 0)
                break;
            return rsmctl_usage_error(PROG, "unknown option '%s'",
                                      argv[optind - 1]);
        }
    }
    return 0;
}

/* Flags, addresses, SRV targets, password: everything checked before any
 * Redis is contacted. Returns 0, -1 after --help, or an exit code. */
int promote_parse_options(int argc, char **argv, struct promote_options *opt)
{
    char err[PROMOTE_ERR_SIZE];
    struct rsm_addr a;
    int rv;

    opt->timeout_ms = 1000;
    rv = promote__parse_flags(argc, argv, opt);
    if (rv != 0)
        return rv;
    for (int i = optind; i < argc; i++) {
        if (rsm_addr_parse(argv[i], &a, err, sizeof err) != 0)
            return rsmctl_usage_error(
                PROG, "bad address '%s': %s", argv[i],
                promote__skip_quoted_prefix(err, argv[i]));
        rv = promote__add_addr(opt, &a, argv[i]);
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
    if (tlsflags_finish(&opt->tls, err, sizeof err) != 0)
        return rsmctl_usage_error(PROG, "%s", err);
    return 0;
}

/* Append the targets of --srv. 0, or an exit code after the message. */
int promote_add_srv_targets(struct promote_options *opt)
{
    struct rsm_addr found[RSM_TOPOLOGY_MAX];
    char err[PROMOTE_ERR_SIZE];
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
        rv = promote__add_addr(opt, &found[i], opt->srv);
        if (rv != 0)
            return rv;
    }
    return 0;
}
