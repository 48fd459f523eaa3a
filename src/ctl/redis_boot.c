/* redis_boot.c - `rsmctl redis-boot`: ask the agents what this Redis must
 * be, then exec redis-server as that (see its --help in redis_boot_opts.c
 * and include/rsm/boot.h).
 *
 * The shell around core/boot: it asks every agent for RSM STATUS at once
 * (its own small loop over rsm_redis, with AUTH when the agents need a
 * password), reads the instance's data files, asks rsm_boot_decide(), and
 * waits, retries or execs. The decision is logged as one logfmt line on
 * stderr (event boot-decision), so it lands in the pod's log.
 *
 * This file: the rounds, the fallback, the state file and the exec;
 * redis_boot.h lists the rest. */
#include "redis_boot.h"
#include "rsm/log.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * State file and exec
 * ---------------------------------------------------------------------- */

static bool redis_boot__read_state(const char *path, struct rsm_addr *master)
{
    FILE *f = fopen(path, "r");
    char line[RSM_ADDR_STRLEN + 16];
    bool ok = false;

    if (f == NULL)
        return false;
    while (!ok && fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, "master ", 7) == 0)
            ok = rsm_addr_parse(line + 7, master, NULL, 0) == 0;
    }
    fclose(f);
    return ok;
}

/* Record who the master was (this instance when it starts as one). */
static void redis_boot__write_state(const char *path,
                                    const struct rsm_addr *master)
{
    char tmp[4200], a[RSM_ADDR_STRLEN], q[4400];
    FILE *f;

    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return; /* the path is too long to have been opened anyway */
    f = fopen(tmp, "w");
    if (f == NULL ||
        fprintf(f, "master %s\n", rsm_addr_format(master, a, sizeof a)) < 0 ||
        fclose(f) != 0 || rename(tmp, path) != 0) {
        rsm_log(RSM_LOG_WARN, "boot-state-not-written", "file=%s error=%s",
                rsm_log_quote(path, q, sizeof q), strerror(errno));
        if (f != NULL)
            unlink(tmp);
    }
}

static int redis_boot__exec(const struct redis_boot_options *o,
                            const struct rsm_boot_decision *d)
{
    char **argv = calloc((size_t)o->redis_argc + 4, sizeof *argv);
    char host[RSM_HOST_MAX], port[8];
    int n = 0;

    /* waiting and giving up never get this far */
    assert(d->action == RSM_BOOT_MASTER || d->action == RSM_BOOT_REPLICA);
    if (argv == NULL)
        return RSMCTL_EXIT_FAILED;
    for (int i = 0; i < o->redis_argc; i++)
        argv[n++] = o->redis_argv[i];
    if (d->action == RSM_BOOT_REPLICA) {
        snprintf(host, sizeof host, "%s", d->master.host);
        snprintf(port, sizeof port, "%u", d->master.port);
        argv[n++] = "--replicaof";
        argv[n++] = host;
        argv[n++] = port;
    }
    argv[n] = NULL;
    if (o->dry_run) {
        printf("%s", rsm_boot_action_str(d->action));
        for (int i = 0; i < n; i++)
            printf(" %s", argv[i]);
        printf("\n");
        fflush(stdout);
        free(argv);
        return RSMCTL_EXIT_OK;
    }
    fflush(NULL);
    execvp(argv[0], argv);
    fprintf(stderr, REDIS_BOOT_PROG ": exec %s: %s\n", argv[0],
            strerror(errno));
    free(argv);
    return RSMCTL_EXIT_FAILED;
}

static void redis_boot__log_decision(const char *event,
                                     const struct rsm_boot_decision *d,
                                     uint64_t agent, const char *data)
{
    char m[RSM_ADDR_STRLEN], q1[2 * RSM_BOOT_REASON_MAX], q2[9000];

    rsm_log(d->action == RSM_BOOT_GIVE_UP ? RSM_LOG_ERROR : RSM_LOG_INFO, event,
            "action=%s master=%s agent=%llu reason=%s data=%s",
            rsm_boot_action_str(d->action),
            d->action == RSM_BOOT_REPLICA
                ? rsm_addr_format(&d->master, m, sizeof m)
                : "-",
            (unsigned long long)agent, rsm_log_quote(d->reason, q1, sizeof q1),
            rsm_log_quote(data, q2, sizeof q2));
}

static uint64_t redis_boot__now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void redis_boot__sleep_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int rsmctl_redis_boot(int argc, char **argv)
{
    struct redis_boot_options o;
    struct redis_boot_files files;
    struct rsm_boot_decision d;
    char state[4200], what[8300], last_reason[RSM_BOOT_REASON_MAX] = "";
    uint64_t start, agent = 0;
    bool data, unusable_logged = false;
    int rv;

    rv = redis_boot_parse_options(argc, argv, &o);
    if (rv != 0)
        return rv;
    rsm_log_setup(RSM_LOG_INFO, RSM_LOG_LOGFMT);
    redis_boot_files_read(&o, &files);
    if (o.state_file != NULL)
        snprintf(state, sizeof state, "%s", o.state_file);
    else
        snprintf(state, sizeof state, "%s/" REDIS_BOOT_STATE_NAME, files.dir);
    data = redis_boot_has_data(&files, what, sizeof what);
    start = redis_boot__now_ms();
    for (;;) {
        if (redis_boot_round_decide(&o, data, &d, &agent)) {
            unusable_logged = false;
            if (d.action != RSM_BOOT_WAIT)
                break;
            if (strcmp(d.reason, last_reason) != 0)
                redis_boot__log_decision("boot-wait", &d, agent, what);
            snprintf(last_reason, sizeof last_reason, "%s", d.reason);
            start = redis_boot__now_ms(); /* the agents answer: no fallback */
        } else {
            if (!unusable_logged)
                rsm_log(RSM_LOG_WARN, "boot-no-agent",
                        "agents=%zu reason=\"no agent that knows a leader "
                        "answered\" fallback_after_ms=%llu",
                        o.n_agents, (unsigned long long)o.wait_ms);
            unusable_logged = true;
            if (o.wait_ms > 0 && redis_boot__now_ms() - start >= o.wait_ms) {
                struct rsm_addr last;
                bool known = redis_boot__read_state(state, &last);
                rsm_boot_fallback(&o.self, known ? &last : NULL, &d);
                redis_boot__log_decision("boot-fallback", &d, 0, what);
                if (d.action == RSM_BOOT_GIVE_UP) {
                    explicit_bzero(o.password, sizeof o.password);
                    tlsflags_free(&o.tls);
                    return RSMCTL_EXIT_UNAVAILABLE;
                }
                break;
            }
        }
        redis_boot__sleep_ms(o.poll_ms);
    }
    explicit_bzero(o.password, sizeof o.password);
    tlsflags_free(&o.tls); /* every link is closed */
    if (agent != 0)
        redis_boot__log_decision("boot-decision", &d, agent, what);
    if (!o.dry_run)
        redis_boot__write_state(state, d.action == RSM_BOOT_REPLICA ? &d.master
                                                                    : &o.self);
    return redis_boot__exec(&o, &d);
}
