/* agent.h - rsm-agent's pieces and what they share (private to src/agent).
 *
 *   flags.c     the flag table, --help, usage errors
 *   settings.c  flags and RSM_* variables -> struct settings
 *   secrets.c   password and cluster-secret files
 *   main.c      the daemon: start the subsystems, run the loop
 *   shutdown.c  signals and the orderly stop
 *   tlsctx.c    the TLS contexts: made at start, reloaded on SIGHUP
 *   bench.c     test-only apply benchmark (RSM_BENCH_APPLIES)
 *
 * Every flag can also come from an RSM_* environment variable (the flag
 * wins). A bad flag or value prints one line on stderr and exits 2
 * (agent_bad_usage()). */
#ifndef RSM_AGENT_AGENT_H
#define RSM_AGENT_AGENT_H

#include "rsm/addr.h"
#include "rsm/advertise.h"
#include "rsm/api.h"
#include "rsm/http_api.h"
#include "rsm/log.h"
#include "rsm/monitor.h"
#include "rsm/node.h"
#include "rsm/raftauth.h"
#include "rsm/tls.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <uv.h>

#define PROG       "rsm-agent"
#define EXIT_USAGE 2

/* ---------------------------------------------------------------------------
 * Flags (flags.c)
 * ------------------------------------------------------------------------- */

enum opt_id {
    O_ID,
    O_PEERS,
    O_RAFT_BIND,
    O_DATA_DIR,
    O_API_BIND,
    O_ADVERTISE_API,
    O_ADVERTISE_HTTP,
    O_HTTP_BIND,
    O_ID_FROM_HOSTNAME,
    O_ELECTION,
    O_HEARTBEAT,
    O_SNAPSHOT,
    O_JOIN,
    O_CLUSTER_SECRET_FILE,
    O_MONITOR,
    O_DOWN_AFTER,
    O_CRASH_CONFIRM,
    O_PROBE_INTERVAL,
    O_QUORUM,
    O_FAILOVER_TIMEOUT,
    O_MIN_FAILOVER_INTERVAL,
    O_PARALLEL_SYNCS,
    O_REPOINT_GRACE,
    O_SWITCHOVER_METHOD,
    O_FENCE,
    O_REDIS_USER,
    O_REDIS_PASSWORD_FILE,
    O_TLS_REDIS,
    O_TLS_API,
    O_TLS_HTTP,
    O_TLS_RAFT,
    O_TLS_AUTH_CLIENTS,
    O_TLS_CERT_FILE,
    O_TLS_KEY_FILE,
    O_TLS_CA_CERT_FILE,
    O_TLS_CA_CERT_DIR,
    O_TLS_PROTOCOLS,
    O_TLS_CIPHERSUITES,
    O_ON_FAILOVER,
    O_HOOK_TIMEOUT,
    O_HOOK_ENV,
    O_REQUIREPASS_FILE,
    O_MAX_CLIENTS,
    O_CLIENT_IDLE_TIMEOUT,
    O_MAX_REQUEST_BYTES,
    O_SUBSCRIBER_OUTPUT_LIMIT,
    O_LOG_FORMAT,
    O_LOG_LEVEL,
    O_HELP,
    O_VERSION,
    O_COUNT
};

struct opt {
    const char *name;
    const char *env; /* NULL: flag only */
    const char *arg; /* NULL: no value */
    const char *def; /* shown in --help; NULL: none */
    const char *help;
};

/* Every flag, in --help order, indexed by enum opt_id. */
extern const struct opt agent_opts[O_COUNT];

/* A value and where it came from ("--id" or "RSM_ID"), for messages. */
struct optval {
    const char *val;
    char src[48];
};

/* Everything the flags decide: filled by agent_parse_settings(), held in
 * struct agent; main() frees what mon allocated (rsm_monitor_config_free)
 * once the loop has ended. */
struct settings {
    struct rsm_node_config node;
    struct rsm_monitor_config mon;
    struct rsm_api_config api;
    struct rsm_addr api_bind;
    struct rsm_advertise_config adv;
    bool http_on;
    bool http_required; /* given explicitly: failing to listen is fatal */
    struct rsm_addr http_bind;
    enum rsm_log_level log_level;
    enum rsm_log_format log_format;
    /* --cluster-secret-file / RSM_CLUSTER_SECRET; node.cluster_secret
     * points here; wiped once the node has its copy */
    unsigned char cluster_secret[RSM_RAFTAUTH_SECRET_MAX + 2];
    size_t cluster_secret_len;
    /* --tls-redis, --tls-api, --tls-http, --tls-raft and the --tls-*
     * files (values point into argv or the environment); tlsctx.c builds
     * the contexts from them */
    bool tls_redis;
    bool tls_api;
    bool tls_http;
    bool tls_raft;
    struct rsm_tls_config tls; /* side and auth_clients set per context */
};

/* Print --help to out. */
void agent_usage(FILE *out);

/* One-line usage error "rsm-agent: <message> (see rsm-agent --help)" on
 * stderr, exit 2. */
void agent_bad_usage(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

/* ---------------------------------------------------------------------------
 * Settings (settings.c, secrets.c)
 * ------------------------------------------------------------------------- */

/* Fill *s from the environment and argv; --help and --version print and
 * exit 0, anything bad exits 2 (agent_bad_usage()). */
void agent_parse_settings(int argc, char **argv, struct settings *s);

/* The first line of the password file v->val, without its line end, into
 * out (len bytes); an unreadable, empty or too long file exits 2. */
void agent_read_password_file(const struct optval *v, char *out, size_t len);

/* --cluster-secret-file, else RSM_CLUSTER_SECRET, else none: into
 * s->cluster_secret, with s->node pointing at it; a bad one exits 2. */
void agent_parse_cluster_secret(const struct optval *v, struct settings *s);

/* ---------------------------------------------------------------------------
 * The daemon (main.c, shutdown.c, bench.c)
 * ------------------------------------------------------------------------- */

struct bench;

/* The one agent of the process, on main()'s stack. */
struct agent {
    uv_loop_t loop;
    uv_signal_t sigterm, sigint, sighup;
    struct settings set;
    struct rsm_node *node;
    struct rsm_api *api;
    struct rsm_http_api *http;
    struct rsm_monitor *monitor;
    struct rsm_advertise *advertise;
    bool stopping;
    int exit_code;
    struct bench *bench; /* test-only apply benchmark, usually NULL */
    /* TLS contexts (tlsctx.c), each NULL unless a flag needs it; made
     * before anything starts, freed once the loop has ended (every
     * connection made from them is closed by then) */
    struct rsm_tls *tls_client;      /* --tls-redis, --tls-raft (outgoing) */
    struct rsm_tls *tls_server;      /* --tls-api, --tls-http */
    struct rsm_tls *tls_raft_server; /* --tls-raft: clients must show a
                                        certificate */
};

/* Close the signal handles (the last handles of the loop but the node's). */
void agent_close_signals(struct agent *a);

/* rsm_node_stop()'s callback: the node is gone, the loop may end. */
void agent_node_stopped(void *arg);

/* Stop everything that runs, in order; the loop then winds down. */
void agent_stop_all(struct agent *a);

/* SIGTERM / SIGINT: a graceful stop (a second signal only logs). */
void agent_on_signal(uv_signal_t *h, int signum);

/* SIGHUP: re-read every TLS context's files (agent_tls_reload). */
void agent_on_sighup(uv_signal_t *h, int signum);

/* uv_walk() callback: log a handle left open at exit. */
void agent_log_leftover(uv_handle_t *h, void *arg);

/* Make the TLS contexts the settings ask for and hand them to the
 * subsystems' configs (a->set). 0, or the error (logged as start-failed,
 * naming the file) after freeing what was made: the agent exits 1. */
int agent_tls_create(struct agent *a);

/* Re-read every context's files (SIGHUP): tls-reloaded or, keeping the
 * old context, tls-reload-failed with the reason, per context. */
void agent_tls_reload(struct agent *a);

/* Free the contexts (once the loop has ended). */
void agent_tls_free(struct agent *a);

/* Test-only (RSM_TEST_FAULTS): with RSM_BENCH_APPLIES=N set, start the
 * apply benchmark the first time this agent leads; no-ops otherwise. */
void agent_bench_maybe_start(struct agent *a);
void agent_bench_free(struct agent *a);

#endif /* RSM_AGENT_AGENT_H */
