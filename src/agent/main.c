/* main.c - rsm-agent: the daemon. One libuv loop, single-threaded: the Raft
 * node (src/raft/node.c), the client API, signals.
 *
 * Every flag can also come from an RSM_* environment variable (the flag
 * wins). A bad flag or value prints one line on stderr and exits 2; a
 * start-up failure (data dir locked, port in use, ...) logs an error and
 * exits 1; SIGTERM/SIGINT stop gracefully (a leader hands leadership over
 * first) and exit 0. */
#include "rsm/addr.h"
#include "rsm/advertise.h"
#include "rsm/api.h"
#include "rsm/err.h"
#include "rsm/http_api.h"
#include "rsm/hook.h"
#include "rsm/log.h"
#include "rsm/monitor.h"
#include "rsm/node.h"
#include "rsm/raftauth.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <uv.h>

#define PROG       "rsm-agent"
#define EXIT_USAGE 2

/* ---------------------------------------------------------------------------
 * Flags
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

static const struct opt opts[O_COUNT] = {
    [O_ID] = {"id", "RSM_ID", "N", NULL,
              "this agent's id, one of the ids in --peers (required)"},
    [O_PEERS] = {"peers", "RSM_PEERS", "LIST", NULL,
                 "the initial voters, \"1=host:port[/apiport],2=...\": Raft "
                 "address of each agent, optionally its API port (default: "
                 "this agent's); host may be a DNS name (required)"},
    [O_RAFT_BIND] = {"raft-bind", "RSM_RAFT_BIND", "HOST:PORT",
                     "the address of --id in --peers",
                     "where to listen for Raft peers (IPv4; a name is "
                     "resolved at start)"},
    [O_DATA_DIR] = {"data-dir", "RSM_DATA_DIR", "DIR", NULL,
                    "Raft log and snapshots, locked while running "
                    "(required; created if missing)"},
    [O_API_BIND] = {"api-bind", "RSM_API_BIND", "HOST:PORT", "0.0.0.0:26379",
                    "client API (RESP) address"},
    [O_ADVERTISE_API] = {"advertise-api", "RSM_ADVERTISE_API", "HOST:PORT",
                         "--api-bind; its host if 0.0.0.0 is this agent's "
                         "host in --peers",
                         "where the other agents and clients reach this "
                         "agent's client port; committed to the group's "
                         "log, so that no agent guesses it"},
    [O_ADVERTISE_HTTP] = {"advertise-http", "RSM_ADVERTISE_HTTP", "HOST:PORT",
                          "--http-bind, its host as for --advertise-api",
                          "where this agent's HTTP port is reached; "
                          "committed like --advertise-api"},
    [O_HTTP_BIND] = {"http-bind", "RSM_HTTP_BIND", "HOST:PORT|off",
                     "0.0.0.0:26380",
                     "HTTP port: GET /healthz, /readyz, /metrics "
                     "(Prometheus); off: none. Given explicitly, failing "
                     "to listen stops the agent; the default port in use "
                     "only logs a warning"},
    [O_ID_FROM_HOSTNAME] = {"id-from-hostname", "RSM_ID_FROM_HOSTNAME", NULL,
                            "off",
                            "without --id: the id is 1 + the ordinal that "
                            "ends the host name (a StatefulSet pod rsm-0 is "
                            "1); the variable takes 1/true/yes"},
    [O_ELECTION] = {"election-timeout-ms", "RSM_ELECTION_TIMEOUT_MS", "MS",
                    "700",
                    "Raft election timeout (raft waits 1-2x this before "
                    "an election; 700 ms keeps a lost leader replaced "
                    "in about 1.2 s with pre-vote)"},
    [O_HEARTBEAT] = {"heartbeat-timeout-ms", "RSM_HEARTBEAT_TIMEOUT_MS", "MS",
                     "100",
                     "Raft heartbeat interval (below the election "
                     "timeout)"},
    [O_SNAPSHOT] = {"snapshot-threshold", "RSM_SNAPSHOT_THRESHOLD", "N", "1024",
                    "entries between snapshots"},
    [O_JOIN] = {"join", "RSM_JOIN", NULL, "off",
                "never bootstrap: wait to be added to a running group "
                "(RSM MEMBER ADD); the variable takes 1/true/yes"},
    [O_CLUSTER_SECRET_FILE] = {"cluster-secret-file", "RSM_CLUSTER_SECRET_FILE",
                               "FILE", NULL,
                               "the group secret: the content of FILE (one "
                               "trailing newline dropped), 16 to 1024 bytes, "
                               "the same on every agent; or the secret itself "
                               "in the variable RSM_CLUSTER_SECRET (never a "
                               "flag). Every Raft connection then starts with "
                               "a challenge-response on it (HMAC-SHA256) and "
                               "one that fails never reaches Raft. Without "
                               "it, anyone who reaches the Raft port can "
                               "vote and append (a warning is logged). To "
                               "turn it on in a running group, first run "
                               "this version everywhere, then restart the "
                               "agents one at a time with the secret"},
    [O_MONITOR] = {"monitor", "RSM_MONITOR", "NAME=HOST:PORT,...", NULL,
                   "watch a Redis replication group: its name (as clients "
                   "ask Sentinel for it) and every instance, master and "
                   "replicas; repeat the flag for more groups (in the "
                   "variable, separate groups with ';')"},
    [O_DOWN_AFTER] = {"down-after-ms", "RSM_DOWN_AFTER_MS", "MS", "5000",
                      "a master with no valid reply for this long (and "
                      "seen so by a quorum of agents and by no replica) is "
                      "down"},
    [O_PROBE_INTERVAL] = {"probe-interval-ms", "RSM_PROBE_INTERVAL_MS", "MS",
                          "100", "how often every instance is probed"},
    [O_QUORUM] = {"quorum", "RSM_QUORUM", "N", "majority",
                  "agents that must see a master down, the leader "
                  "included"},
    [O_FAILOVER_TIMEOUT] = {"failover-timeout-ms", "RSM_FAILOVER_TIMEOUT_MS",
                            "MS", "60000",
                            "a failover not promoted by then is aborted; "
                            "one promoted but not finished completes with "
                            "stragglers"},
    [O_MIN_FAILOVER_INTERVAL] = {"min-failover-interval-ms",
                                 "RSM_MIN_FAILOVER_INTERVAL_MS", "MS", "60000",
                                 "anti-flap: no automatic failover of a "
                                 "group sooner than this after its last "
                                 "one"},
    [O_PARALLEL_SYNCS] = {"parallel-syncs", "RSM_PARALLEL_SYNCS", "N", "1",
                          "replicas re-pointed (and syncing) at once"},
    [O_REPOINT_GRACE] = {"repoint-grace-ms", "RSM_REPOINT_GRACE_MS", "MS",
                         "5000",
                         "how long an instance may follow the wrong master "
                         "(or claim to be one) before it is re-pointed"},
    [O_SWITCHOVER_METHOD] = {"switchover-method", "RSM_SWITCHOVER_METHOD",
                             "failover|pause", "pause",
                             "how a switchover (RSM SWITCHOVER, rsmctl "
                             "switchover) is carried out on Redis >= "
                             "6.2: pause = CLIENT PAUSE WRITE, wait until "
                             "the target has every write, demote the old "
                             "master, promote the target, CLIENT UNPAUSE "
                             "(writes stall ~20 ms); failover = the "
                             "master's own FAILOVER TO (~1 s: it waits for "
                             "the replica's once-a-second ACK), and pause "
                             "where FAILOVER is renamed away or denied by "
                             "ACL. Redis < 6.2: refused (no lossless "
                             "switchover possible there)"},
    [O_FENCE] = {"fence", "RSM_FENCE", "on|off", "on",
                 "managed fencing: the leader keeps min-replicas-to-write "
                 "(a majority of the instances not seen down, once that "
                 "many replicas are linked) and min-replicas-max-lag "
                 "(--down-after-ms in seconds - 2, at least 1) on each "
                 "master, and min-replicas-to-write 0 on replicas, so that "
                 "a master cut off from its replicas stops taking writes "
                 "by itself; lowered when the agents see the replicas "
                 "down. off: never touch these settings"},
    [O_REDIS_USER] = {"redis-user", "RSM_REDIS_USER", "USER", NULL,
                      "ACL user for AUTH to Redis"},
    [O_REDIS_PASSWORD_FILE] = {"redis-password-file", "RSM_REDIS_PASSWORD_FILE",
                               "FILE", NULL,
                               "Redis password: the first line of FILE; "
                               "or the password itself in the variable "
                               "RSM_REDIS_PASSWORD (never a flag)"},
    [O_ON_FAILOVER] = {"on-failover", "RSM_ON_FAILOVER", "SCRIPT", NULL,
                       "run by the leader when a failover completes, with "
                       "arguments GROUP EPOCH OLD NEW, its output discarded, "
                       "in an environment of only RSM_GROUP, RSM_EPOCH, "
                       "RSM_OLD_MASTER, RSM_NEW_MASTER (as the arguments), "
                       "PATH (the agent's, else " RSM_HOOK_DEFAULT_PATH
                       ") and the --hook-env variables"},
    [O_HOOK_TIMEOUT] = {"hook-timeout-ms", "RSM_HOOK_TIMEOUT_MS", "MS", "30000",
                        "the hook is killed after this long"},
    [O_HOOK_ENV] = {"hook-env", "RSM_HOOK_ENV", "NAME", NULL,
                    "pass the agent's variable NAME (if set) on to the "
                    "--on-failover hook; repeat the flag for more (in the "
                    "variable, separate names with ','). A variable that "
                    "holds a secret (RSM_REDIS_PASSWORD, RSM_REQUIREPASS, "
                    "RSM_CLUSTER_SECRET) is refused"},
    [O_REQUIREPASS_FILE] = {"requirepass-file", "RSM_REQUIREPASS_FILE", "FILE",
                            NULL,
                            "clients of the API must AUTH with the password "
                            "on the first line of FILE; or the password "
                            "itself in the variable RSM_REQUIREPASS (never "
                            "a flag)"},
    [O_MAX_CLIENTS] = {"max-clients", "RSM_MAX_CLIENTS", "N", "1000",
                       "API clients connected at once; more are refused "
                       "with an error"},
    [O_CLIENT_IDLE_TIMEOUT] = {"client-idle-timeout-ms",
                               "RSM_CLIENT_IDLE_TIMEOUT_MS", "MS", "0",
                               "close API clients idle this long (0: never; "
                               "subscribers are exempt)"},
    [O_MAX_REQUEST_BYTES] = {"max-request-bytes", "RSM_MAX_REQUEST_BYTES", "N",
                             "1048576",
                             "largest API request; a bigger one gets an "
                             "error and the connection is closed"},
    [O_SUBSCRIBER_OUTPUT_LIMIT] = {"subscriber-output-limit-bytes",
                                   "RSM_SUBSCRIBER_OUTPUT_LIMIT_BYTES", "N",
                                   "1048576",
                                   "a subscriber with more than this "
                                   "waiting for it is disconnected"},
    [O_LOG_FORMAT] = {"log-format", "RSM_LOG_FORMAT", "logfmt|json", "logfmt",
                      "log line format (stderr)"},
    [O_LOG_LEVEL] = {"log-level", "RSM_LOG_LEVEL", "debug|info|warn|error",
                     "info", "lowest level logged"},
    [O_HELP] = {"help", NULL, NULL, NULL, "show this help and exit"},
    [O_VERSION] = {"version", NULL, NULL, NULL, "print the version and exit"},
};

/* A value and where it came from ("--id" or "RSM_ID"), for messages. */
struct optval {
    const char *val;
    char src[48];
};

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
};

/* "  --flag ARG   text" with text wrapped at 79 columns. */
static void print_wrapped(FILE *out, const char *left, const char *text)
{
    const int indent = 30, width = 79;
    int col;

    col = fprintf(out, "  %s", left);
    if (col >= indent - 1) {
        fputc('\n', out);
        col = 0;
    }
    while (*text) {
        size_t w = strcspn(text, " ");

        if (col > indent && col + 1 + (int)w > width) {
            fputc('\n', out);
            col = 0;
        }
        if (col < indent) {
            col += fprintf(out, "%*s", indent - col, "");
        } else {
            fputc(' ', out);
            col++;
        }
        col += fprintf(out, "%.*s", (int)w, text);
        text += w;
        while (*text == ' ')
            text++;
    }
    fputc('\n', out);
}

static void usage(FILE *out)
{
    char left[64];

    fprintf(out,
            "Usage: " PROG " --id N --peers LIST --data-dir DIR [flags]\n\n"
            "The rsm-agent daemon: one member of the Raft group that "
            "replicates the\nRedis failover state. Every flag can also be "
            "set with the environment\nvariable shown; a flag wins over "
            "its variable.\n\nFlags:\n");
    for (int i = 0; i < O_COUNT; i++) {
        const struct opt *o = &opts[i];

        snprintf(left, sizeof left, "--%s%s%s", o->name, o->arg ? " " : "",
                 o->arg ? o->arg : "");
        print_wrapped(out, left, o->help);
        if (o->env != NULL)
            fprintf(out, "%*s env %s%s%s\n", 29, "", o->env,
                    o->def ? ", default: " : "", o->def ? o->def : "");
    }
    fprintf(out, "\nExit status: 0 after a clean stop (SIGTERM/SIGINT), "
                 "1 if the agent could not\nstart or failed, 2 for a bad "
                 "flag or value.\n");
}

/* One-line usage error, exit 2. */
static void __attribute__((noreturn, format(printf, 1, 2)))
bad_usage(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, PROG ": ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see " PROG " --help)\n");
    exit(EXIT_USAGE);
}

static unsigned long parse_number(const struct optval *v, unsigned long min,
                                  unsigned long max)
{
    char *end;
    unsigned long x;

    errno = 0;
    if (v->val[0] < '0' || v->val[0] > '9')
        bad_usage("%s: '%s' is not a number", v->src, v->val);
    x = strtoul(v->val, &end, 10);
    if (*end != '\0')
        bad_usage("%s: '%s' is not a number", v->src, v->val);
    if (errno == ERANGE || x < min || x > max)
        bad_usage("%s: %s is out of range %lu-%lu", v->src, v->val, min, max);
    return x;
}

static bool parse_bool(const struct optval *v)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off", ""};

    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (strcasecmp(v->val, yes[i]) == 0)
            return true;
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (strcasecmp(v->val, no[i]) == 0)
            return false;
    bad_usage("%s: '%s' is not a boolean (1/0, true/false, yes/no)", v->src,
              v->val);
}

/* "on" or "off" (a switch with a value, such as --fence). */
static bool parse_on_off(const struct optval *v)
{
    if (strcmp(v->val, "on") == 0)
        return true;
    if (strcmp(v->val, "off") != 0)
        bad_usage("%s: '%s' is not on or off", v->src, v->val);
    return false;
}

static void parse_addr_opt(const struct optval *v, struct rsm_addr *out)
{
    char err[RSM_ERRMSG_SIZE];

    if (rsm_addr_parse(v->val, out, err, sizeof err) != 0)
        bad_usage("%s: '%s': %s", v->src, v->val, err);
}

/* --monitor may be given several times: every value is kept here. */
static const char *monitor_flags[RSM_MAX_GROUPS + 1];
static unsigned n_monitor_flags;
/* Likewise --hook-env. */
static const char *hook_env_flags[RSM_HOOK_ENV_MAX + 1];
static unsigned n_hook_env_flags;

/* Collect values: environment first, then flags on top. */
static void collect(int argc, char **argv, struct optval vals[O_COUNT])
{
    struct option longopts[O_COUNT + 1];

    memset(vals, 0, sizeof(struct optval) * O_COUNT);
    for (int i = 0; i < O_COUNT; i++) {
        const char *e = opts[i].env ? getenv(opts[i].env) : NULL;

        if (e != NULL) {
            vals[i].val = e;
            snprintf(vals[i].src, sizeof vals[i].src, "%s", opts[i].env);
        }
        longopts[i] = (struct option){
            opts[i].name, opts[i].arg ? required_argument : no_argument, NULL,
            i};
    }
    memset(&longopts[O_COUNT], 0, sizeof longopts[O_COUNT]);
    opterr = 0;
    for (;;) {
        int idx = getopt_long(argc, argv, ":", longopts, NULL);

        if (idx == -1)
            break;
        if (idx == ':')
            bad_usage("flag '%s' needs a value", argv[optind - 1]);
        if (idx == '?')
            bad_usage("unknown flag '%s'", argv[optind - 1]);
        vals[idx].val = opts[idx].arg ? optarg : "1";
        if (idx == O_MONITOR && n_monitor_flags <= RSM_MAX_GROUPS)
            monitor_flags[n_monitor_flags++] = optarg;
        if (idx == O_HOOK_ENV && n_hook_env_flags <= RSM_HOOK_ENV_MAX)
            hook_env_flags[n_hook_env_flags++] = optarg;
        snprintf(vals[idx].src, sizeof vals[idx].src, "--%s", opts[idx].name);
    }
    if (optind < argc)
        bad_usage("unexpected argument '%s'", argv[optind]);
}

static void require(const struct optval vals[O_COUNT], enum opt_id id)
{
    if (vals[id].val == NULL || vals[id].val[0] == '\0')
        bad_usage("--%s is required (or %s)", opts[id].name, opts[id].env);
}

static const struct rsm_member *find_peer(const struct rsm_node_config *c,
                                          uint64_t id)
{
    for (unsigned i = 0; i < c->n_peers; i++)
        if (c->peers[i].id == id)
            return &c->peers[i];
    return NULL;
}

/* The first line of a password file, without its line end. */
static void read_password_file(const struct optval *v, char *out, size_t len)
{
    FILE *f = fopen(v->val, "r");
    size_t n;

    if (f == NULL)
        bad_usage("%s: cannot read '%s': %s", v->src, v->val, strerror(errno));
    if (fgets(out, (int)len, f) == NULL)
        out[0] = '\0';
    fclose(f);
    n = strcspn(out, "\r\n");
    if (out[n] == '\0' && n == len - 1)
        bad_usage("%s: the password in '%s' is too long", v->src, v->val);
    out[n] = '\0';
    if (n == 0)
        bad_usage("%s: '%s' holds no password", v->src, v->val);
}

/* Refuse a secret of the wrong size; never shows the secret itself. */
static void check_secret_len(const char *src, const char *file, size_t n)
{
    const char *in = file ? " in '" : "", *end = file ? "'" : "";

    if (file == NULL)
        file = "";
    if (n == 0)
        bad_usage("%s: the cluster secret%s%s%s is empty", src, in, file, end);
    if (n < RSM_RAFTAUTH_SECRET_MIN)
        bad_usage("%s: the cluster secret%s%s%s is %zu bytes long, at least "
                  "%d are needed (e.g. head -c 32 /dev/urandom | base64)",
                  src, in, file, end, n, RSM_RAFTAUTH_SECRET_MIN);
    if (n > RSM_RAFTAUTH_SECRET_MAX)
        bad_usage("%s: the cluster secret%s%s%s is longer than %d bytes", src,
                  in, file, end, RSM_RAFTAUTH_SECRET_MAX);
}

/* The whole content of a secret file, read once, one trailing newline
 * ("\n" or "\r\n") dropped. */
static size_t read_secret_file(const struct optval *v, unsigned char *out,
                               size_t cap)
{
    int fd = open(v->val, O_RDONLY | O_CLOEXEC);
    size_t n = 0;
    ssize_t r = 0;

    if (fd < 0)
        bad_usage("%s: cannot read '%s': %s", v->src, v->val, strerror(errno));
    while (n < cap && (r = read(fd, out + n, cap - n)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            close(fd);
            bad_usage("%s: cannot read '%s': %s", v->src, v->val,
                      strerror(errno));
        }
        n += (size_t)r;
    }
    close(fd);
    if (n > 0 && out[n - 1] == '\n' && n <= RSM_RAFTAUTH_SECRET_MAX + 1) {
        n--;
        if (n > 0 && out[n - 1] == '\r')
            n--;
    }
    check_secret_len(v->src, v->val, n);
    return n;
}

/* --cluster-secret-file, else RSM_CLUSTER_SECRET, else none. */
static void parse_cluster_secret(const struct optval *v, struct settings *s)
{
    const char *env = getenv("RSM_CLUSTER_SECRET");
    size_t n = 0;

    if (v[O_CLUSTER_SECRET_FILE].val != NULL) {
        n = read_secret_file(&v[O_CLUSTER_SECRET_FILE], s->cluster_secret,
                             sizeof s->cluster_secret);
    } else if (env != NULL) {
        n = strlen(env);
        check_secret_len("RSM_CLUSTER_SECRET", NULL, n);
        memcpy(s->cluster_secret, env, n);
    }
    s->cluster_secret_len = n;
    s->node.cluster_secret = n > 0 ? s->cluster_secret : NULL;
    s->node.cluster_secret_len = n;
}

static void parse_monitor_list(const struct optval *v, const char *text,
                               struct rsm_monitor_config *mc)
{
    char err[RSM_ERRMSG_SIZE];

    if (rsm_monitor_parse_group(mc, text, err, sizeof err) != 0)
        bad_usage("%s: %s", v->src, err);
}

/* --on-failover and what its hook is told (hook.h, hook_env.h): a
 * --hook-env naming a secret stops the agent here, before anything runs. */
static void parse_hook_settings(struct optval *v, struct rsm_hook_config *hc)
{
    const struct optval *env = &v[O_HOOK_ENV];
    char err[RSM_ERRMSG_SIZE];

    hc->timeout_ms = parse_number(&v[O_HOOK_TIMEOUT], 1, 86400000);
    if (v[O_ON_FAILOVER].val != NULL) {
        if (strlen(v[O_ON_FAILOVER].val) >= sizeof hc->path)
            bad_usage("%s: too long", v[O_ON_FAILOVER].src);
        if (access(v[O_ON_FAILOVER].val, X_OK) != 0)
            bad_usage("%s: '%s' is not an executable file",
                      v[O_ON_FAILOVER].src, v[O_ON_FAILOVER].val);
        strcpy(hc->path, v[O_ON_FAILOVER].val);
    }
    if (n_hook_env_flags > RSM_HOOK_ENV_MAX)
        bad_usage("%s: more than %d variables", env->src, RSM_HOOK_ENV_MAX);
    for (unsigned i = 0; i < n_hook_env_flags; i++)
        if (rsm_hook_env_add(&hc->env, hook_env_flags[i], err, sizeof err))
            bad_usage("%s: %s", env->src, err);
    /* from the variable (no flag given): "" is none */
    if (n_hook_env_flags == 0 && env->val != NULL && env->val[0] != '\0' &&
        rsm_hook_env_add(&hc->env, env->val, err, sizeof err) != 0)
        bad_usage("%s: %s", env->src, err);
}

/* --monitor and the failure-detection knobs. */
static void parse_monitor_settings(struct optval *v, struct settings *s)
{
    struct rsm_monitor_config *mc = &s->mon;
    const char *pw = getenv("RSM_REDIS_PASSWORD");

    rsm_monitor_config_init(mc);
    mc->agent_id = s->node.id;
    if (n_monitor_flags > RSM_MAX_GROUPS)
        bad_usage("--monitor: more than %d groups (one agent watches at "
                  "most %d)",
                  RSM_MAX_GROUPS, RSM_MAX_GROUPS);
    for (unsigned i = 0; i < n_monitor_flags; i++)
        parse_monitor_list(&v[O_MONITOR], monitor_flags[i], mc);
    if (n_monitor_flags == 0 && v[O_MONITOR].val != NULL) {
        /* from the variable: groups separated by ';' */
        char *buf = strdup(v[O_MONITOR].val), *save = NULL;
        if (buf == NULL)
            bad_usage("%s: out of memory", v[O_MONITOR].src);
        for (char *t = strtok_r(buf, ";", &save); t != NULL;
             t = strtok_r(NULL, ";", &save))
            parse_monitor_list(&v[O_MONITOR], t, mc);
        free(buf);
    }
    mc->detector.down_after_ms =
        (int64_t)parse_number(&v[O_DOWN_AFTER], 10, 86400000);
    mc->planner.down_after_ms = mc->detector.down_after_ms;
    mc->fence.enabled = parse_on_off(&v[O_FENCE]);
    mc->fence.max_lag_s = rsm_fence_max_lag_s(mc->detector.down_after_ms);
    mc->probe_interval_ms = parse_number(&v[O_PROBE_INTERVAL], 10, 60000);
    if (strcmp(v[O_QUORUM].val, "majority") != 0)
        mc->detector.quorum =
            (unsigned)parse_number(&v[O_QUORUM], 1, RSM_MAX_AGENTS);
    mc->planner.failover_timeout_ms =
        (int64_t)parse_number(&v[O_FAILOVER_TIMEOUT], 100, 86400000);
    mc->planner.min_failover_interval_ms =
        (int64_t)parse_number(&v[O_MIN_FAILOVER_INTERVAL], 0, 86400000);
    mc->planner.parallel_syncs =
        (unsigned)parse_number(&v[O_PARALLEL_SYNCS], 1, RSM_MAX_MEMBERS);
    mc->planner.repoint_grace_ms =
        (int64_t)parse_number(&v[O_REPOINT_GRACE], 0, 86400000);
    if (strcmp(v[O_SWITCHOVER_METHOD].val, "failover") == 0)
        mc->planner.switchover_method = RSM_SWITCHOVER_FAILOVER_CMD;
    else if (strcmp(v[O_SWITCHOVER_METHOD].val, "pause") == 0)
        mc->planner.switchover_method = RSM_SWITCHOVER_PAUSE;
    else
        bad_usage("%s: '%s' is not failover or pause",
                  v[O_SWITCHOVER_METHOD].src, v[O_SWITCHOVER_METHOD].val);
    if (v[O_REDIS_USER].val != NULL) {
        if (strlen(v[O_REDIS_USER].val) >= sizeof mc->redis_user)
            bad_usage("%s: too long", v[O_REDIS_USER].src);
        strcpy(mc->redis_user, v[O_REDIS_USER].val);
    }
    if (v[O_REDIS_PASSWORD_FILE].val != NULL)
        read_password_file(&v[O_REDIS_PASSWORD_FILE], mc->redis_password,
                           sizeof mc->redis_password);
    else if (pw != NULL && *pw != '\0') {
        if (strlen(pw) >= sizeof mc->redis_password)
            bad_usage("RSM_REDIS_PASSWORD: too long");
        strcpy(mc->redis_password, pw);
    }
    if (mc->redis_user[0] && !mc->redis_password[0])
        bad_usage("%s needs a password (--redis-password-file or "
                  "RSM_REDIS_PASSWORD)",
                  v[O_REDIS_USER].src);
    parse_hook_settings(v, &mc->hook);
}

/* --id-from-hostname: "rsm-2" (or "rsm-2.rsm.ns.svc...") gives id 3. The
 * value lives in a static buffer, like the other values' argv/environ. */
static void id_from_hostname(struct optval *id)
{
    static char buf[24];
    char host[256];
    size_t end, start;
    unsigned long ord;

    if (gethostname(host, sizeof host) != 0)
        bad_usage("--id-from-hostname: gethostname: %s", strerror(errno));
    host[sizeof host - 1] = '\0';
    end = strcspn(host, ".");
    start = end;
    while (start > 0 && host[start - 1] >= '0' && host[start - 1] <= '9')
        start--;
    if (start == end || end - start > 6 || start == 0 || host[start - 1] != '-')
        bad_usage("--id-from-hostname: host name '%s' does not end in "
                  "-<ordinal>",
                  host);
    ord = strtoul(host + start, NULL, 10);
    snprintf(buf, sizeof buf, "%lu", ord + 1);
    id->val = buf;
    snprintf(id->src, sizeof id->src, "--id-from-hostname (%.*s)",
             (int)(end < 20 ? end : 20), host);
}

/* The client port: password and limits. */
static void parse_api_settings(struct optval *v, struct settings *s)
{
    struct rsm_api_config *ac = &s->api;
    const char *pw = getenv("RSM_REQUIREPASS");

    ac->bind = s->api_bind;
    ac->data_dir = s->node.data_dir; /* the masters file (masterfile.h) */
    rsm_resp_limits_default(&ac->limits);
    ac->limits_set = true;
    ac->limits.max_clients =
        (unsigned)parse_number(&v[O_MAX_CLIENTS], 1, 1000000);
    ac->limits.idle_timeout_ms =
        parse_number(&v[O_CLIENT_IDLE_TIMEOUT], 0, 86400000);
    ac->limits.max_request_bytes =
        parse_number(&v[O_MAX_REQUEST_BYTES], 1024, 512UL * 1024 * 1024);
    ac->subscriber_output_limit =
        parse_number(&v[O_SUBSCRIBER_OUTPUT_LIMIT], 1024, 1UL << 30);
    if (v[O_REQUIREPASS_FILE].val != NULL) {
        read_password_file(&v[O_REQUIREPASS_FILE], ac->requirepass,
                           sizeof ac->requirepass);
    } else if (pw != NULL && *pw != '\0') {
        if (strlen(pw) >= sizeof ac->requirepass)
            bad_usage("RSM_REQUIREPASS: too long");
        strcpy(ac->requirepass, pw);
    }
    /* every agent of a group has the same password: the leader uses it to
     * ask the others for their views (RSM VIEWS) */
    snprintf(s->mon.agent_password, sizeof s->mon.agent_password, "%s",
             ac->requirepass);
}

/* Where the others reach this agent (advertise.h). A "/apiport" written
 * for this agent in --peers that is not the port it listens on would send
 * the others somewhere else: refused, naming both flags. */
static void parse_advertise_settings(struct optval *v, struct settings *s,
                                     const struct rsm_member *self)
{
    struct rsm_advertise_config *ad = &s->adv;

    ad->id = s->node.id;
    if (v[O_ADVERTISE_API].val != NULL)
        parse_addr_opt(&v[O_ADVERTISE_API], &ad->api);
    else
        rsm_advertise_default(&s->api_bind, self->raft.host, &ad->api);
    if (v[O_ADVERTISE_HTTP].val != NULL)
        parse_addr_opt(&v[O_ADVERTISE_HTTP], &ad->http);
    else if (s->http_on)
        rsm_advertise_default(&s->http_bind, self->raft.host, &ad->http);
    if (self->api_given && self->api.port != ad->api.port)
        bad_usage("%s gives agent %llu the client port %u, but it serves "
                  "%u (%s): make them agree, or drop \"/%u\" (the agents "
                  "learn each other's ports from the group)",
                  v[O_PEERS].src, (unsigned long long)s->node.id,
                  (unsigned)self->api.port, (unsigned)ad->api.port,
                  v[O_ADVERTISE_API].val != NULL ? v[O_ADVERTISE_API].src
                                                 : v[O_API_BIND].src,
                  (unsigned)self->api.port);
    s->node.advertise_api = ad->api;
    s->node.advertise_http = ad->http;
    s->mon.self_api = ad->api;
    snprintf(ad->agent_password, sizeof ad->agent_password, "%s",
             s->mon.agent_password);
}

static void parse_settings(int argc, char **argv, struct settings *s)
{
    struct optval v[O_COUNT];
    struct rsm_node_config *nc = &s->node;
    const struct rsm_member *self;
    char err[RSM_ERRMSG_SIZE];

    collect(argc, argv, v);
    if (v[O_HELP].val != NULL) {
        usage(stdout);
        exit(0);
    }
    if (v[O_VERSION].val != NULL) {
        printf(PROG " %s\n", RSM_VERSION);
        exit(0);
    }
    memset(s, 0, sizeof *s);
    s->http_required = v[O_HTTP_BIND].val != NULL;
    for (int i = 0; i < O_COUNT; i++) {
        if (v[i].val == NULL && opts[i].def != NULL && opts[i].arg != NULL &&
            i != O_RAFT_BIND && i != O_ADVERTISE_API &&
            i != O_ADVERTISE_HTTP) { /* their defaults are derived */
            v[i].val = opts[i].def;
            snprintf(v[i].src, sizeof v[i].src, "--%s", opts[i].name);
        }
    }
    if (v[O_ID].val == NULL && v[O_ID_FROM_HOSTNAME].val != NULL &&
        parse_bool(&v[O_ID_FROM_HOSTNAME]))
        id_from_hostname(&v[O_ID]);
    require(v, O_ID);
    require(v, O_PEERS);
    require(v, O_DATA_DIR);
    if (rsm_log_level_parse(v[O_LOG_LEVEL].val, &s->log_level) != 0)
        bad_usage("%s: '%s' is not one of debug, info, warn, error",
                  v[O_LOG_LEVEL].src, v[O_LOG_LEVEL].val);
    if (rsm_log_format_parse(v[O_LOG_FORMAT].val, &s->log_format) != 0)
        bad_usage("%s: '%s' is not logfmt or json", v[O_LOG_FORMAT].src,
                  v[O_LOG_FORMAT].val);
    nc->id = parse_number(&v[O_ID], 1, ULONG_MAX);
    parse_addr_opt(&v[O_API_BIND], &s->api_bind);
    s->http_on = strcmp(v[O_HTTP_BIND].val, "off") != 0;
    if (s->http_on)
        parse_addr_opt(&v[O_HTTP_BIND], &s->http_bind);
    nc->api_port = s->api_bind.port;
    if (rsm_node_parse_peers(v[O_PEERS].val, nc->api_port, nc, err,
                             sizeof err) != 0)
        bad_usage("%s: %s", v[O_PEERS].src, err);
    self = find_peer(nc, nc->id);
    if (self == NULL)
        bad_usage("%s: id %llu is not in %s", v[O_ID].src,
                  (unsigned long long)nc->id, v[O_PEERS].src);
    if (v[O_RAFT_BIND].val != NULL) {
        parse_addr_opt(&v[O_RAFT_BIND], &nc->raft_bind);
    } else {
        nc->raft_bind = self->raft;
    }
    nc->data_dir = v[O_DATA_DIR].val;
    nc->election_timeout_ms =
        (unsigned)parse_number(&v[O_ELECTION], 10, 3600000);
    nc->heartbeat_timeout_ms =
        (unsigned)parse_number(&v[O_HEARTBEAT], 1, 3600000);
    if (nc->heartbeat_timeout_ms >= nc->election_timeout_ms)
        bad_usage("%s (%u) must be below %s (%u)", v[O_HEARTBEAT].src,
                  nc->heartbeat_timeout_ms, v[O_ELECTION].src,
                  nc->election_timeout_ms);
    nc->snapshot_threshold =
        (unsigned)parse_number(&v[O_SNAPSHOT], 1, UINT_MAX);
    nc->join = v[O_JOIN].val != NULL ? parse_bool(&v[O_JOIN]) : false;
    parse_cluster_secret(v, s);
    parse_monitor_settings(v, s);
    parse_api_settings(v, s);
    parse_advertise_settings(v, s, self);
}

/* ---------------------------------------------------------------------------
 * The daemon
 * ------------------------------------------------------------------------- */

struct bench;

struct agent {
    uv_loop_t loop;
    uv_signal_t sigterm, sigint;
    struct settings set;
    struct rsm_node *node;
    struct rsm_api *api;
    struct rsm_http_api *http;
    struct rsm_monitor *monitor;
    struct rsm_advertise *advertise;
    bool stopping;
    int exit_code;
    struct bench *bench; /* test-only apply benchmark, usually NULL */
};

#ifdef RSM_TEST_FAULTS
/* Test-only: with RSM_BENCH_APPLIES=N in the environment, the first time
 * this agent is the ready leader it proposes N entries one after the other
 * and logs the commit latency (event bench-apply). Used by
 * scripts/bench-raft.sh; not a flag, not in --help. */
struct bench {
    unsigned total, done, errors, rejected;
    uint64_t *lat_ns;
    uint64_t t0;
    bool started;
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static void bench_next(struct agent *a);

static void bench_report(struct bench *b)
{
    unsigned n = b->done;

    qsort(b->lat_ns, n, sizeof b->lat_ns[0], cmp_u64);
    rsm_log(RSM_LOG_INFO, "bench-apply",
            "n=%u errors=%u rejected=%u median_us=%.0f p99_us=%.0f "
            "max_us=%.0f",
            n, b->errors, b->rejected, n ? (double)b->lat_ns[n / 2] / 1e3 : 0.0,
            n ? (double)b->lat_ns[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] /
                    1e3
              : 0.0,
            n ? (double)b->lat_ns[n - 1] / 1e3 : 0.0);
}

static void bench_applied(void *arg, int status, const char *msg)
{
    struct agent *a = arg;
    struct bench *b = a->bench;

    b->lat_ns[b->done++] = uv_hrtime() - b->t0;
    if (status == RSM_EREJECTED)
        b->rejected++;
    else if (status != 0)
        b->errors++;
    (void)msg;
    bench_next(a);
}

static void bench_next(struct agent *a)
{
    struct bench *b = a->bench;
    struct rsm_entry e;

    if (b->done == b->total || a->stopping || a->node == NULL) {
        bench_report(b);
        return;
    }
    rsm_entry_init(&e, RSM_ENTRY_OBSERVE_MASTER, "bench",
                   (int64_t)(uv_now(&a->loop)));
    rsm_addr_set(&e.master, "127.0.0.1", 6379, NULL, 0);
    b->t0 = uv_hrtime();
    if (rsm_node_propose(a->node, &e, bench_applied, a) != 0) {
        b->errors++;
        bench_report(b);
    }
}

static void bench_maybe_start(struct agent *a)
{
    const char *env = getenv("RSM_BENCH_APPLIES");
    long n = env ? strtol(env, NULL, 10) : 0;

    if (a->bench != NULL || n <= 0 || n > 1000000)
        return;
    a->bench = calloc(1, sizeof *a->bench);
    if (a->bench == NULL)
        return;
    a->bench->lat_ns = calloc((size_t)n, sizeof(uint64_t));
    if (a->bench->lat_ns == NULL)
        return;
    a->bench->total = (unsigned)n;
    bench_next(a);
}

static void bench_free(struct agent *a)
{
    if (a->bench != NULL)
        free(a->bench->lat_ns);
    free(a->bench);
    a->bench = NULL;
}
#else
static void bench_maybe_start(struct agent *a)
{
    (void)a;
}

static void bench_free(struct agent *a)
{
    (void)a;
}
#endif

static void on_node_event(void *arg, enum rsm_node_event ev,
                          const struct rsm_entry *e, int status)
{
    struct agent *a = arg;

    if (ev == RSM_NODE_BECAME_LEADER)
        bench_maybe_start(a);
    if (a->monitor != NULL)
        rsm_monitor_node_event(a->monitor, ev, e, status);
    if (a->api != NULL)
        rsm_api_node_event(a->api, ev, e, status);
    if (a->advertise != NULL)
        rsm_advertise_node_event(a->advertise, ev);
}

static void close_signals(struct agent *a)
{
    uv_close((uv_handle_t *)&a->sigterm, NULL);
    uv_close((uv_handle_t *)&a->sigint, NULL);
}

static void node_stopped(void *arg)
{
    struct agent *a = arg;

    a->node = NULL;
    close_signals(a);
}

/* Stop everything that runs, in order; the loop then winds down. */
static void stop_all(struct agent *a)
{
    a->stopping = true;
    if (a->http != NULL) /* before the monitor and the API it reads */
        rsm_http_api_stop(a->http, NULL, NULL);
    a->http = NULL;
    if (a->monitor != NULL) { /* first: stop touching Redis */
        if (a->api != NULL)
            rsm_api_set_monitor(a->api, NULL);
        rsm_monitor_stop(a->monitor, NULL, NULL);
    }
    a->monitor = NULL;
    if (a->advertise != NULL)
        rsm_advertise_stop(a->advertise, NULL, NULL);
    a->advertise = NULL;
    explicit_bzero(a->set.adv.agent_password, sizeof a->set.adv.agent_password);
    if (a->api != NULL) /* before the node */
        rsm_api_stop(a->api, NULL, NULL);
    a->api = NULL;
    rsm_node_stop(a->node, node_stopped, a);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct agent *a = h->data;
    const char *name = signum == SIGTERM ? "TERM" : "INT";

    if (a->stopping) {
        rsm_log(RSM_LOG_WARN, "shutdown-in-progress", "signal=%s", name);
        return;
    }
    rsm_log(RSM_LOG_INFO, "shutdown", "signal=%s", name);
    stop_all(a);
}

static void log_leftover(uv_handle_t *h, void *arg)
{
    (void)arg;
    rsm_log(RSM_LOG_ERROR, "loop-handle-left", "type=%s closing=%d",
            uv_handle_type_name(uv_handle_get_type(h)), uv_is_closing(h));
}

static void log_start(const struct agent *a)
{
    const struct rsm_node_config *c = &a->set.node;
    char raft[RSM_ADDR_STRLEN], api[RSM_ADDR_STRLEN], q[512];

    rsm_log(RSM_LOG_INFO, "agent-starting",
            "id=%llu voters=%u raft_bind=%s api_bind=%s data_dir=%s "
            "election_ms=%u heartbeat_ms=%u snapshot_threshold=%u join=%s",
            (unsigned long long)c->id, c->n_peers,
            rsm_addr_format(&c->raft_bind, raft, sizeof raft),
            rsm_addr_format(&a->set.api_bind, api, sizeof api),
            rsm_log_quote(c->data_dir, q, sizeof q), c->election_timeout_ms,
            c->heartbeat_timeout_ms, c->snapshot_threshold,
            c->join ? "true" : "false");
}

/* The HTTP port, started last: if it fails, everything stops. */
static void start_http(struct agent *a)
{
    struct rsm_http_api_config hc = {.bind = a->set.http_bind};
    char err[RSM_ERRMSG_SIZE], q[2 * RSM_ERRMSG_SIZE];
    int rv;

    if (!a->set.http_on)
        return;
    rv = rsm_http_api_start(&a->loop, &hc, a->node, &a->http, err, sizeof err);
    if (rv != 0 && !a->set.http_required) {
        rsm_log(RSM_LOG_WARN, "http-disabled", "error=%s detail=%s",
                rsm_log_quote(rsm_strerror(rv), q, sizeof q / 2),
                rsm_log_quote(err, q + sizeof q / 2, sizeof q / 2));
        return;
    }
    if (rv != 0) {
        rsm_log(RSM_LOG_ERROR, "start-failed", "error=%s detail=%s",
                rsm_log_quote(rsm_strerror(rv), q, sizeof q / 2),
                rsm_log_quote(err, q + sizeof q / 2, sizeof q / 2));
        a->exit_code = 1;
        stop_all(a);
        return;
    }
    rsm_http_api_set_api(a->http, a->api);
    rsm_http_api_set_monitor(a->http, a->monitor);
}

/* Start the node and the API; on failure leave the loop to wind down. */
static void start(struct agent *a)
{
    struct rsm_node_observer obs = {on_node_event, a};
    char err[RSM_ERRMSG_SIZE], q[2 * RSM_ERRMSG_SIZE];
    int rv;

    log_start(a);
    rv =
        rsm_node_start(&a->loop, &a->set.node, &obs, &a->node, err, sizeof err);
    explicit_bzero(a->set.cluster_secret, sizeof a->set.cluster_secret);
    a->set.node.cluster_secret = NULL;
    if (rv != 0) {
        rsm_log(RSM_LOG_ERROR, "start-failed", "error=%s detail=%s",
                rsm_log_quote(rsm_strerror(rv), q, sizeof q / 2),
                rsm_log_quote(err, q + sizeof q / 2, sizeof q / 2));
        a->exit_code = 1;
        close_signals(a);
        return;
    }
    rv = rsm_api_start_ops(&a->loop, &a->set.api, a->node,
                           rsm_api_real_node_ops(), &a->api, err, sizeof err);
    explicit_bzero(a->set.api.requirepass, sizeof a->set.api.requirepass);
    if (rv != 0) {
        rsm_log(RSM_LOG_ERROR, "start-failed", "error=%s detail=%s",
                rsm_log_quote(rsm_strerror(rv), q, sizeof q / 2),
                rsm_log_quote(err, q + sizeof q / 2, sizeof q / 2));
        a->exit_code = 1;
        a->stopping = true;
        rsm_node_stop(a->node, node_stopped, a);
        return;
    }
    rv =
        rsm_monitor_start(&a->loop, &a->set.mon, a->node, rsm_api_monitor_event,
                          a->api, &a->monitor, err, sizeof err);
    if (rv != 0) {
        rsm_log(RSM_LOG_ERROR, "start-failed", "error=%s detail=%s",
                rsm_log_quote(rsm_strerror(rv), q, sizeof q / 2),
                rsm_log_quote(err, q + sizeof q / 2, sizeof q / 2));
        a->exit_code = 1;
        a->stopping = true;
        rsm_api_stop(a->api, NULL, NULL);
        a->api = NULL;
        rsm_node_stop(a->node, node_stopped, a);
        return;
    }
    rsm_api_set_monitor(a->api, a->monitor);
    /* cannot fail but for memory; the agent then runs on guessed addresses */
    if (rsm_advertise_start(&a->loop, &a->set.adv, a->node, &a->advertise, err,
                            sizeof err) != 0)
        rsm_log(RSM_LOG_ERROR, "advertise-failed", "error=%s",
                rsm_log_quote(err, q, sizeof q));
    start_http(a);
}

int main(int argc, char **argv)
{
    struct agent a;
    int rv;

    memset(&a, 0, sizeof a);
    parse_settings(argc, argv, &a.set);
    rsm_log_setup(a.set.log_level, a.set.log_format);
    signal(SIGPIPE, SIG_IGN);
    rv = uv_loop_init(&a.loop);
    if (rv != 0) {
        rsm_log(RSM_LOG_ERROR, "start-failed", "error=%s", uv_strerror(rv));
        return 1;
    }
    uv_signal_init(&a.loop, &a.sigterm);
    uv_signal_init(&a.loop, &a.sigint);
    a.sigterm.data = a.sigint.data = &a;
    uv_signal_start(&a.sigterm, on_signal, SIGTERM);
    uv_signal_start(&a.sigint, on_signal, SIGINT);

    start(&a);
    uv_run(&a.loop, UV_RUN_DEFAULT);
    bench_free(&a);
    rsm_monitor_config_free(&a.set.mon); /* the monitor had its own copy */
    rv = uv_loop_close(&a.loop);
    if (rv != 0) {
        uv_walk(&a.loop, log_leftover, NULL);
        rsm_log(RSM_LOG_ERROR, "loop-not-clean", "error=%s", uv_strerror(rv));
        return 1;
    }
    rsm_log(RSM_LOG_INFO, "agent-exit", "status=%d", a.exit_code);
    return a.exit_code;
}
