/* status.c - `rsmctl status`: what the agent group knows, at a glance.
 *
 * Asks the given agents in turn for `RSM STATUS` until one answers, then
 * asks every member that answer lists (at its API address) for its own
 * view, all at once, so the table shows each agent's role, term and commit
 * index, or that it is unreachable. Then each Redis group: the committed
 * master and epoch, every instance as the leader probes it (the "monitor"
 * object of the leader's own status: only the leader sends INFO), the
 * leader's verdict on the master, the failover in flight and the last one.
 *
 * With --watch the same is done every --interval seconds until SIGINT or
 * SIGTERM: redrawn in place on a terminal, one frame after the other
 * otherwise (one JSON object per line with --json).
 *
 * This file: the flags, one shot or --watch; status.h lists the rest. */
#include "status.h"
#include "table.h"

#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG "rsmctl status"

static void status__usage(FILE *out)
{
    fprintf(out,
            "usage: rsmctl status [options]\n"
            "\n"
            "Ask an agent for the state of the agent group and of the Redis\n"
            "groups it replicates, then ask every agent it lists for its own\n"
            "role, term and commit index. For each Redis group: every\n"
            "instance as the leader probes it (role, state, link, offset,\n"
            "lag in bytes behind its master, priority), the leader's verdict\n"
            "on the master, the failover in flight and the last one (when,\n"
            "old -> new, epoch, data at risk). Says which agent answered.\n"
            "\n"
            "options:\n" AGENTLINK_HELP
            "  --json                    print the answer, every agent's view\n"
            "                            and the leader's instances as JSON\n"
            "  -w, --watch               redo it every --interval seconds "
            "until\n"
            "                            Ctrl-C: in place on a terminal, else "
            "one\n"
            "                            frame after the other (one JSON "
            "object\n"
            "                            per line with --json)\n"
            "  -n, --interval S          seconds between frames (default 2)\n"
            "  --timeout-ms N            per agent: connect and reply "
            "(default 1000)\n"
            "  -h, --help                this text\n"
            "\n"
            "Colors only on a terminal (never with NO_COLOR set).\n"
            "\n"
            "exit codes:\n"
            "  0  an agent answered (unreachable agents are shown as such);\n"
            "     --watch: stopped by Ctrl-C\n"
            "  1  an agent answered something that is not a status\n"
            "  2  usage error; nothing contacted\n"
            "  3  no agent could be reached\n"
            "  4  an agent refused the password (or wants one)\n");
}

static int status__parse_options(int argc, char **argv,
                                 struct status_options *opt)
{
    static const struct option longopts[] = {
        AGENTLINK_LONGOPTS,
        {"json", no_argument, NULL, 'j'},
        {"watch", no_argument, NULL, 'w'},
        {"interval", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char err[RSM_ERRMSG_SIZE];
    int c, rv;

    opt->interval_s = 2;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hwn:", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            opt->json = true;
            break;
        case 'w':
            opt->watch = true;
            break;
        case 'n':
            if (rsmctl_parse_uint(optarg, 1, 3600, &opt->interval_s) != 0)
                return rsmctl_usage_error(
                    PROG, "--interval: '%s' is not 1..3600 seconds", optarg);
            break;
        default:
            rv = agentlink_getopt_common(&opt->link, PROG, c, optarg,
                                         status__usage);
            if (rv != 0)
                return rv;
        }
    }
    if (optind < argc)
        return rsmctl_usage_error(PROG, "unexpected argument '%s'",
                                  argv[optind]);
    if (agentlink_finish(&opt->link, 1000, err, sizeof err) != 0)
        return rsmctl_usage_error(PROG, "%s", err);
    return 0;
}

/* --- one shot, or watching
 * ---------------------------------------------------- */

/* Print a snapshot: notes to notes_out (NULL: into out, after the rest). */
static void status__print_snapshot(FILE *out, FILE *notes_out, bool color,
                                   const struct status_options *opt,
                                   const struct status_snapshot *s)
{
    if (notes_out != NULL)
        fputs(s->notes, notes_out);
    if (opt->json) {
        if (s->answer != NULL || opt->watch)
            status_print_json(out, s, opt->watch);
        return;
    }
    if (s->answer != NULL)
        status_print_human(out, color, s);
    else
        fprintf(out, "No agent answered.\n");
    if (notes_out == NULL && s->notes[0] != '\0') {
        fputc('\n', out);
        text_wrap(out, color, "", 0, TC_RED, "Errors:");
        for (const char *p = s->notes; *p != '\0';) {
            size_t n = strcspn(p, "\n");
            char line[AGENTLINK_ERR_SIZE + 128];
            snprintf(line, sizeof line, "%.*s", (int)n, p);
            text_wrap(out, color, "  ", 2, TC_NONE, line);
            p += n + (p[n] == '\n');
        }
    }
}

static volatile sig_atomic_t stop_watching;

static void status__on_stop_signal(int sig)
{
    (void)sig;
    stop_watching = 1;
}

/* Sleep s seconds unless a stop signal comes first. */
static void status__nap(uint64_t s)
{
    for (uint64_t i = 0; i < s * 10 && !stop_watching; i++) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static int status__watch(const struct status_options *opt)
{
    struct sigaction sa;
    bool tty = text_use_color(stdout), color = tty;
    char clock[32];

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = status__on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    while (!stop_watching) {
        struct status_snapshot *s = malloc(sizeof *s);
        char *frame = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&frame, &len);

        if (s == NULL || mem == NULL) {
            free(s);
            if (mem != NULL)
                fclose(mem);
            free(frame);
            fprintf(stderr, "rsmctl status: out of memory\n");
            return RSMCTL_EXIT_FAILED;
        }
        status_snapshot_take(opt, s);
        if (!opt->json)
            fprintf(mem, "%s%s  (every %" PRIu64 " s; Ctrl-C to stop)%s\n\n",
                    text_on(color, TC_DIM),
                    rsmctl_timestamp(clock, sizeof clock), opt->interval_s,
                    text_off(color, TC_DIM));
        status__print_snapshot(mem, NULL, color, opt, s);
        status_snapshot_free(s);
        free(s);
        fclose(mem);
        if (tty && !opt->json)
            fputs("\033[H\033[2J", stdout);
        fwrite(frame, 1, len, stdout);
        if (!tty && !opt->json)
            fputc('\n', stdout);
        fflush(stdout);
        free(frame);
        status__nap(opt->interval_s);
    }
    return RSMCTL_EXIT_OK;
}

int rsmctl_status(int argc, char **argv)
{
    struct status_options opt = {0};
    struct status_snapshot *s;
    int rv = status__parse_options(argc, argv, &opt);

    if (rv != 0)
        return rv < 0 ? RSMCTL_EXIT_OK : rv;
    if (opt.watch) {
        rv = status__watch(&opt);
        agentlink_free(&opt.link);
        return rv;
    }
    s = malloc(sizeof *s);
    if (s == NULL) {
        agentlink_free(&opt.link);
        fprintf(stderr, "rsmctl status: out of memory\n");
        return RSMCTL_EXIT_FAILED;
    }
    status_snapshot_take(&opt, s);
    agentlink_free(&opt.link);
    if (s->answer == NULL) {
        fputs(s->notes, stderr);
        fprintf(stderr, "rsmctl status: no agent answered%s\n",
                s->exit_code == RSMCTL_EXIT_AUTH ? " (authentication failed)"
                                                 : "");
        rv = s->exit_code;
    } else {
        status__print_snapshot(stdout, stderr, text_use_color(stdout), &opt, s);
        rv = RSMCTL_EXIT_OK;
    }
    status_snapshot_free(s);
    free(s);
    return rv;
}
