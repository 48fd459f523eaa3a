/* flags.c - rsm-agent's flags: their table (name, variable, default,
 * help), --help, and the one-line usage error every bad value ends in. */
#include "agent.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct opt agent_opts[O_COUNT] = {
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
    [O_CRASH_CONFIRM] = {"crash-confirm-ms", "RSM_CRASH_CONFIRM_MS", "MS",
                         "200",
                         "crash path: a master whose every connect has been "
                         "refused for this long (its process is gone, its "
                         "host answers), refused so by a quorum of agents, "
                         "and whose answering replicas all report their "
                         "link down is failed over without waiting for "
                         "--down-after-ms; silence (a hang, a partition) "
                         "still waits for it. 0: off"},
    [O_PROBE_INTERVAL] = {"probe-interval-ms", "RSM_PROBE_INTERVAL_MS", "MS",
                          "100",
                          "the reaction step: a reply later than this makes "
                          "an instance suspect (the leader then asks the "
                          "other agents and re-reads every instance at "
                          "once), and a busy group (master suspect, failover "
                          "in flight, a change seen) is probed this often. "
                          "Idle, probes are slower: the master every "
                          "min(down-after/2, 1 s), other instances and the "
                          "followers' PINGs every min(down-after, 1 s)"},
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
    [O_TLS_REDIS] = {"tls-redis", "RSM_TLS_REDIS", "on|off", "off",
                     "TLS to every Redis (Redis's tls-port), the server "
                     "verified against the CAs and the address given (its "
                     "IP, or its name)"},
    [O_TLS_API] = {"tls-api", "RSM_TLS_API", "on|off", "off",
                   "TLS on the client port (--api-bind): Sentinel clients "
                   "(redis-py with ssl=True, redis-cli --tls) and rsmctl "
                   "--tls; a client that does not speak TLS is refused. "
                   "Serves --tls-cert-file"},
    [O_TLS_HTTP] = {"tls-http", "RSM_TLS_HTTP", "on|off", "off",
                    "HTTPS on the HTTP port (--http-bind), with "
                    "--tls-cert-file; clients authenticated as "
                    "--tls-auth-clients says"},
    [O_TLS_RAFT] = {"tls-raft", "RSM_TLS_RAFT", "on|off", "off",
                    "mutual TLS between agents on the Raft port: each "
                    "side shows --tls-cert-file and verifies the other's "
                    "against the CAs (--tls-auth-clients does not apply)"},
    [O_TLS_AUTH_CLIENTS] = {"tls-auth-clients", "RSM_TLS_AUTH_CLIENTS",
                            "yes|no|optional", "yes",
                            "on the client and HTTP ports with TLS, like "
                            "Redis's tls-auth-clients: yes, a client must "
                            "show a certificate signed by the CAs; "
                            "optional, one it shows is verified; no, none "
                            "is asked for"},
    [O_TLS_CERT_FILE] = {"tls-cert-file", "RSM_TLS_CERT_FILE", "FILE", NULL,
                         "certificate (PEM, chain) of this agent: served on "
                         "the TLS ports, and shown as a client certificate "
                         "to Redis (needed when Redis has tls-auth-clients "
                         "yes, its default) and to the other agents. "
                         "Re-read with the other files on SIGHUP"},
    [O_TLS_KEY_FILE] = {"tls-key-file", "RSM_TLS_KEY_FILE", "FILE", NULL,
                        "private key (PEM) of --tls-cert-file"},
    [O_TLS_CA_CERT_FILE] = {"tls-ca-cert-file", "RSM_TLS_CA_CERT_FILE", "FILE",
                            NULL,
                            "CA certificates (PEM) the certificates of "
                            "Redis, of the other agents and of clients are "
                            "verified against (neither this nor "
                            "--tls-ca-cert-dir: the system's)"},
    [O_TLS_CA_CERT_DIR] = {"tls-ca-cert-dir", "RSM_TLS_CA_CERT_DIR", "DIR",
                           NULL, "directory of CA certificates (c_rehash)"},
    [O_TLS_PROTOCOLS] = {"tls-protocols", "RSM_TLS_PROTOCOLS", "PROTOCOLS",
                         "TLSv1.2 TLSv1.3",
                         "TLS versions allowed, like Redis's tls-protocols"},
    [O_TLS_CIPHERSUITES] = {"tls-ciphersuites", "RSM_TLS_CIPHERSUITES",
                            "SUITES", NULL,
                            "TLS 1.3 cipher suites (OpenSSL's syntax)"},
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

/* "  --flag ARG   text" with text wrapped at 79 columns. */
static void agent__print_wrapped(FILE *out, const char *left, const char *text)
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

void agent_usage(FILE *out)
{
    char left[64];

    fprintf(out,
            "Usage: " PROG " --id N --peers LIST --data-dir DIR [flags]\n\n"
            "The rsm-agent daemon: one member of the Raft group that "
            "replicates the\nRedis failover state. Every flag can also be "
            "set with the environment\nvariable shown; a flag wins over "
            "its variable.\n\nFlags:\n");
    for (int i = 0; i < O_COUNT; i++) {
        const struct opt *o = &agent_opts[i];

        snprintf(left, sizeof left, "--%s%s%s", o->name, o->arg ? " " : "",
                 o->arg ? o->arg : "");
        agent__print_wrapped(out, left, o->help);
        if (o->env != NULL)
            fprintf(out, "%*s env %s%s%s\n", 29, "", o->env,
                    o->def ? ", default: " : "", o->def ? o->def : "");
    }
    fprintf(out, "\nSignals: SIGTERM/SIGINT stop the agent cleanly; SIGHUP "
                 "re-reads the TLS\ncertificate, key and CA files (a broken "
                 "file keeps the old ones, and says\nwhy in the log).\n"
                 "\nExit status: 0 after a clean stop (SIGTERM/SIGINT), "
                 "1 if the agent could not\nstart or failed, 2 for a bad "
                 "flag or value.\n");
}

/* One-line usage error, exit 2. */
void agent_bad_usage(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, PROG ": ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see " PROG " --help)\n");
    exit(EXIT_USAGE);
}
