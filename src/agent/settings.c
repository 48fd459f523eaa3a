/* settings.c - rsm-agent's flags and RSM_* variables turned into struct
 * settings: values collected (environment first, flags on top), defaults
 * filled in, every value checked; a bad one exits 2 with one line. */
#include "agent.h"
#include "rsm/err.h"
#include "rsm/hook.h"
#include "rsm/version.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static unsigned long agent__parse_number(const struct optval *v,
                                         unsigned long min, unsigned long max)
{
    char *end;
    unsigned long x;

    errno = 0;
    if (v->val[0] < '0' || v->val[0] > '9')
        agent_bad_usage("%s: '%s' is not a number", v->src, v->val);
    x = strtoul(v->val, &end, 10);
    if (*end != '\0')
        agent_bad_usage("%s: '%s' is not a number", v->src, v->val);
    if (errno == ERANGE || x < min || x > max)
        agent_bad_usage("%s: %s is out of range %lu-%lu", v->src, v->val, min,
                        max);
    return x;
}

static bool agent__parse_bool(const struct optval *v)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off", ""};

    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (strcasecmp(v->val, yes[i]) == 0)
            return true;
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (strcasecmp(v->val, no[i]) == 0)
            return false;
    agent_bad_usage("%s: '%s' is not a boolean (1/0, true/false, yes/no)",
                    v->src, v->val);
}

/* "on" or "off" (a switch with a value, such as --fence). */
static bool agent__parse_on_off(const struct optval *v)
{
    if (strcmp(v->val, "on") == 0)
        return true;
    if (strcmp(v->val, "off") != 0)
        agent_bad_usage("%s: '%s' is not on or off", v->src, v->val);
    return false;
}

static void agent__parse_addr_opt(const struct optval *v, struct rsm_addr *out)
{
    char err[RSM_ERRMSG_SIZE];

    if (rsm_addr_parse(v->val, out, err, sizeof err) != 0)
        agent_bad_usage("%s: '%s': %s", v->src, v->val, err);
}

/* --monitor may be given several times: every value is kept here. */
static const char *monitor_flags[RSM_MAX_GROUPS + 1];
static unsigned n_monitor_flags;
/* Likewise --hook-env. */
static const char *hook_env_flags[RSM_HOOK_ENV_MAX + 1];
static unsigned n_hook_env_flags;

/* Collect values: environment first, then flags on top. */
static void agent__collect(int argc, char **argv, struct optval vals[O_COUNT])
{
    struct option longopts[O_COUNT + 1];

    memset(vals, 0, sizeof(struct optval) * O_COUNT);
    for (int i = 0; i < O_COUNT; i++) {
        const char *e = agent_opts[i].env ? getenv(agent_opts[i].env) : NULL;

        if (e != NULL) {
            vals[i].val = e;
            snprintf(vals[i].src, sizeof vals[i].src, "%s", agent_opts[i].env);
        }
        longopts[i] = (struct option){
            agent_opts[i].name,
            agent_opts[i].arg ? required_argument : no_argument, NULL, i};
    }
    memset(&longopts[O_COUNT], 0, sizeof longopts[O_COUNT]);
    opterr = 0;
    for (;;) {
        int idx = getopt_long(argc, argv, ":", longopts, NULL);

        if (idx == -1)
            break;
        if (idx == ':')
            agent_bad_usage("flag '%s' needs a value", argv[optind - 1]);
        if (idx == '?')
            agent_bad_usage("unknown flag '%s'", argv[optind - 1]);
        vals[idx].val = agent_opts[idx].arg ? optarg : "1";
        if (idx == O_MONITOR && n_monitor_flags <= RSM_MAX_GROUPS)
            monitor_flags[n_monitor_flags++] = optarg;
        if (idx == O_HOOK_ENV && n_hook_env_flags <= RSM_HOOK_ENV_MAX)
            hook_env_flags[n_hook_env_flags++] = optarg;
        snprintf(vals[idx].src, sizeof vals[idx].src, "--%s",
                 agent_opts[idx].name);
    }
    if (optind < argc)
        agent_bad_usage("unexpected argument '%s'", argv[optind]);
}

static void agent__require(const struct optval vals[O_COUNT], enum opt_id id)
{
    if (vals[id].val == NULL || vals[id].val[0] == '\0')
        agent_bad_usage("--%s is required (or %s)", agent_opts[id].name,
                        agent_opts[id].env);
}

static const struct rsm_member *
agent__find_peer(const struct rsm_node_config *c, uint64_t id)
{
    for (unsigned i = 0; i < c->n_peers; i++)
        if (c->peers[i].id == id)
            return &c->peers[i];
    return NULL;
}

static void agent__parse_monitor_list(const struct optval *v, const char *text,
                                      struct rsm_monitor_config *mc)
{
    char err[RSM_ERRMSG_SIZE];

    if (rsm_monitor_parse_group(mc, text, err, sizeof err) != 0)
        agent_bad_usage("%s: %s", v->src, err);
}

/* --on-failover and what its hook is told (hook.h, hook_env.h): a
 * --hook-env naming a secret stops the agent here, before anything runs. */
static void agent__parse_hook_settings(struct optval *v,
                                       struct rsm_hook_config *hc)
{
    const struct optval *env = &v[O_HOOK_ENV];
    char err[RSM_ERRMSG_SIZE];

    hc->timeout_ms = agent__parse_number(&v[O_HOOK_TIMEOUT], 1, 86400000);
    if (v[O_ON_FAILOVER].val != NULL) {
        if (strlen(v[O_ON_FAILOVER].val) >= sizeof hc->path)
            agent_bad_usage("%s: too long", v[O_ON_FAILOVER].src);
        if (access(v[O_ON_FAILOVER].val, X_OK) != 0)
            agent_bad_usage("%s: '%s' is not an executable file",
                            v[O_ON_FAILOVER].src, v[O_ON_FAILOVER].val);
        strcpy(hc->path, v[O_ON_FAILOVER].val);
    }
    if (n_hook_env_flags > RSM_HOOK_ENV_MAX)
        agent_bad_usage("%s: more than %d variables", env->src,
                        RSM_HOOK_ENV_MAX);
    for (unsigned i = 0; i < n_hook_env_flags; i++)
        if (rsm_hook_env_add(&hc->env, hook_env_flags[i], err, sizeof err))
            agent_bad_usage("%s: %s", env->src, err);
    /* from the variable (no flag given): "" is none */
    if (n_hook_env_flags == 0 && env->val != NULL && env->val[0] != '\0' &&
        rsm_hook_env_add(&hc->env, env->val, err, sizeof err) != 0)
        agent_bad_usage("%s: %s", env->src, err);
}

/* --monitor and the failure-detection knobs. */
static void agent__parse_monitor_settings(struct optval *v, struct settings *s)
{
    struct rsm_monitor_config *mc = &s->mon;
    const char *pw = getenv("RSM_REDIS_PASSWORD");

    rsm_monitor_config_init(mc);
    mc->agent_id = s->node.id;
    if (n_monitor_flags > RSM_MAX_GROUPS)
        agent_bad_usage("--monitor: more than %d groups (one agent watches at "
                        "most %d)",
                        RSM_MAX_GROUPS, RSM_MAX_GROUPS);
    for (unsigned i = 0; i < n_monitor_flags; i++)
        agent__parse_monitor_list(&v[O_MONITOR], monitor_flags[i], mc);
    if (n_monitor_flags == 0 && v[O_MONITOR].val != NULL) {
        /* from the variable: groups separated by ';' */
        char *buf = strdup(v[O_MONITOR].val), *save = NULL;
        if (buf == NULL)
            agent_bad_usage("%s: out of memory", v[O_MONITOR].src);
        for (char *t = strtok_r(buf, ";", &save); t != NULL;
             t = strtok_r(NULL, ";", &save))
            agent__parse_monitor_list(&v[O_MONITOR], t, mc);
        free(buf);
    }
    mc->detector.down_after_ms =
        (int64_t)agent__parse_number(&v[O_DOWN_AFTER], 10, 86400000);
    mc->planner.down_after_ms = mc->detector.down_after_ms;
    mc->detector.crash_confirm_ms =
        (int64_t)agent__parse_number(&v[O_CRASH_CONFIRM], 0, 86400000);
    mc->fence.enabled = agent__parse_on_off(&v[O_FENCE]);
    mc->fence.max_lag_s = rsm_fence_max_lag_s(mc->detector.down_after_ms);
    mc->probe_interval_ms =
        agent__parse_number(&v[O_PROBE_INTERVAL], 10, 60000);
    if (strcmp(v[O_QUORUM].val, "majority") != 0)
        mc->detector.quorum =
            (unsigned)agent__parse_number(&v[O_QUORUM], 1, RSM_MAX_AGENTS);
    mc->planner.failover_timeout_ms =
        (int64_t)agent__parse_number(&v[O_FAILOVER_TIMEOUT], 100, 86400000);
    mc->planner.min_failover_interval_ms =
        (int64_t)agent__parse_number(&v[O_MIN_FAILOVER_INTERVAL], 0, 86400000);
    mc->planner.parallel_syncs =
        (unsigned)agent__parse_number(&v[O_PARALLEL_SYNCS], 1, RSM_MAX_MEMBERS);
    mc->planner.repoint_grace_ms =
        (int64_t)agent__parse_number(&v[O_REPOINT_GRACE], 0, 86400000);
    if (strcmp(v[O_SWITCHOVER_METHOD].val, "failover") == 0)
        mc->planner.switchover_method = RSM_SWITCHOVER_FAILOVER_CMD;
    else if (strcmp(v[O_SWITCHOVER_METHOD].val, "pause") == 0)
        mc->planner.switchover_method = RSM_SWITCHOVER_PAUSE;
    else
        agent_bad_usage("%s: '%s' is not failover or pause",
                        v[O_SWITCHOVER_METHOD].src, v[O_SWITCHOVER_METHOD].val);
    if (v[O_REDIS_USER].val != NULL) {
        if (strlen(v[O_REDIS_USER].val) >= sizeof mc->redis_user)
            agent_bad_usage("%s: too long", v[O_REDIS_USER].src);
        strcpy(mc->redis_user, v[O_REDIS_USER].val);
    }
    if (v[O_REDIS_PASSWORD_FILE].val != NULL)
        agent_read_password_file(&v[O_REDIS_PASSWORD_FILE], mc->redis_password,
                                 sizeof mc->redis_password);
    else if (pw != NULL && *pw != '\0') {
        if (strlen(pw) >= sizeof mc->redis_password)
            agent_bad_usage("RSM_REDIS_PASSWORD: too long");
        strcpy(mc->redis_password, pw);
    }
    if (mc->redis_user[0] && !mc->redis_password[0])
        agent_bad_usage("%s needs a password (--redis-password-file or "
                        "RSM_REDIS_PASSWORD)",
                        v[O_REDIS_USER].src);
    agent__parse_hook_settings(v, &mc->hook);
}

/* --tls-auth-clients: Redis's words. */
static enum rsm_tls_auth_clients
agent__parse_auth_clients(const struct optval *v)
{
    if (strcmp(v->val, "yes") == 0)
        return RSM_TLS_AUTH_YES;
    if (strcmp(v->val, "no") == 0)
        return RSM_TLS_AUTH_NO;
    if (strcmp(v->val, "optional") != 0)
        agent_bad_usage("%s: '%s' is not yes, no or optional", v->src, v->val);
    return RSM_TLS_AUTH_OPTIONAL;
}

/* Which links use TLS, and the files every context is made of (the
 * files themselves are checked when the contexts are made: exit 1). */
static void agent__parse_tls_settings(struct optval *v, struct settings *s)
{
    s->tls_redis = agent__parse_on_off(&v[O_TLS_REDIS]);
    s->tls_api = agent__parse_on_off(&v[O_TLS_API]);
    s->tls_http = agent__parse_on_off(&v[O_TLS_HTTP]);
    s->tls_raft = agent__parse_on_off(&v[O_TLS_RAFT]);
    s->tls.auth_clients = agent__parse_auth_clients(&v[O_TLS_AUTH_CLIENTS]);
    if (s->tls_http && !s->http_on)
        agent_bad_usage("%s on needs the HTTP port, but %s is off",
                        v[O_TLS_HTTP].src, v[O_HTTP_BIND].src);
    s->tls.cert_file = v[O_TLS_CERT_FILE].val;
    s->tls.key_file = v[O_TLS_KEY_FILE].val;
    s->tls.ca_file = v[O_TLS_CA_CERT_FILE].val;
    s->tls.ca_dir = v[O_TLS_CA_CERT_DIR].val;
    s->tls.protocols = v[O_TLS_PROTOCOLS].val;
    s->tls.ciphersuites = v[O_TLS_CIPHERSUITES].val;
}

/* --id-from-hostname: "rsm-2" (or "rsm-2.rsm.ns.svc...") gives id 3. The
 * value lives in a static buffer, like the other values' argv/environ. */
static void agent__id_from_hostname(struct optval *id)
{
    static char buf[24];
    char host[256];
    size_t end, start;
    unsigned long ord;

    if (gethostname(host, sizeof host) != 0)
        agent_bad_usage("--id-from-hostname: gethostname: %s", strerror(errno));
    host[sizeof host - 1] = '\0';
    end = strcspn(host, ".");
    start = end;
    while (start > 0 && host[start - 1] >= '0' && host[start - 1] <= '9')
        start--;
    if (start == end || end - start > 6 || start == 0 || host[start - 1] != '-')
        agent_bad_usage("--id-from-hostname: host name '%s' does not end in "
                        "-<ordinal>",
                        host);
    ord = strtoul(host + start, NULL, 10);
    snprintf(buf, sizeof buf, "%lu", ord + 1);
    id->val = buf;
    snprintf(id->src, sizeof id->src, "--id-from-hostname (%.*s)",
             (int)(end < 20 ? end : 20), host);
}

/* The client port: password and limits. */
static void agent__parse_api_settings(struct optval *v, struct settings *s)
{
    struct rsm_api_config *ac = &s->api;
    const char *pw = getenv("RSM_REQUIREPASS");

    ac->bind = s->api_bind;
    ac->data_dir = s->node.data_dir; /* the masters file (masterfile.h) */
    rsm_resp_limits_default(&ac->limits);
    ac->limits_set = true;
    ac->limits.max_clients =
        (unsigned)agent__parse_number(&v[O_MAX_CLIENTS], 1, 1000000);
    ac->limits.idle_timeout_ms =
        agent__parse_number(&v[O_CLIENT_IDLE_TIMEOUT], 0, 86400000);
    ac->limits.max_request_bytes =
        agent__parse_number(&v[O_MAX_REQUEST_BYTES], 1024, 512UL * 1024 * 1024);
    ac->subscriber_output_limit =
        agent__parse_number(&v[O_SUBSCRIBER_OUTPUT_LIMIT], 1024, 1UL << 30);
    if (v[O_REQUIREPASS_FILE].val != NULL) {
        agent_read_password_file(&v[O_REQUIREPASS_FILE], ac->requirepass,
                                 sizeof ac->requirepass);
    } else if (pw != NULL && *pw != '\0') {
        if (strlen(pw) >= sizeof ac->requirepass)
            agent_bad_usage("RSM_REQUIREPASS: too long");
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
static void agent__parse_advertise_settings(struct optval *v,
                                            struct settings *s,
                                            const struct rsm_member *self)
{
    struct rsm_advertise_config *ad = &s->adv;

    ad->id = s->node.id;
    if (v[O_ADVERTISE_API].val != NULL)
        agent__parse_addr_opt(&v[O_ADVERTISE_API], &ad->api);
    else
        rsm_advertise_default(&s->api_bind, self->raft.host, &ad->api);
    if (v[O_ADVERTISE_HTTP].val != NULL)
        agent__parse_addr_opt(&v[O_ADVERTISE_HTTP], &ad->http);
    else if (s->http_on)
        rsm_advertise_default(&s->http_bind, self->raft.host, &ad->http);
    if (self->api_given && self->api.port != ad->api.port)
        agent_bad_usage("%s gives agent %llu the client port %u, but it serves "
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

void agent_parse_settings(int argc, char **argv, struct settings *s)
{
    struct optval v[O_COUNT];
    struct rsm_node_config *nc = &s->node;
    const struct rsm_member *self;
    char err[RSM_ERRMSG_SIZE];

    agent__collect(argc, argv, v);
    if (v[O_HELP].val != NULL) {
        agent_usage(stdout);
        exit(0);
    }
    if (v[O_VERSION].val != NULL) {
        printf(PROG " %s\n", RSM_VERSION);
        exit(0);
    }
    memset(s, 0, sizeof *s);
    s->http_required = v[O_HTTP_BIND].val != NULL;
    for (int i = 0; i < O_COUNT; i++) {
        if (v[i].val == NULL && agent_opts[i].def != NULL &&
            agent_opts[i].arg != NULL && i != O_RAFT_BIND &&
            i != O_ADVERTISE_API &&
            i != O_ADVERTISE_HTTP) { /* their defaults are derived */
            v[i].val = agent_opts[i].def;
            snprintf(v[i].src, sizeof v[i].src, "--%s", agent_opts[i].name);
        }
    }
    if (v[O_ID].val == NULL && v[O_ID_FROM_HOSTNAME].val != NULL &&
        agent__parse_bool(&v[O_ID_FROM_HOSTNAME]))
        agent__id_from_hostname(&v[O_ID]);
    agent__require(v, O_ID);
    agent__require(v, O_PEERS);
    agent__require(v, O_DATA_DIR);
    if (rsm_log_level_parse(v[O_LOG_LEVEL].val, &s->log_level) != 0)
        agent_bad_usage("%s: '%s' is not one of debug, info, warn, error",
                        v[O_LOG_LEVEL].src, v[O_LOG_LEVEL].val);
    if (rsm_log_format_parse(v[O_LOG_FORMAT].val, &s->log_format) != 0)
        agent_bad_usage("%s: '%s' is not logfmt or json", v[O_LOG_FORMAT].src,
                        v[O_LOG_FORMAT].val);
    nc->id = agent__parse_number(&v[O_ID], 1, ULONG_MAX);
    agent__parse_addr_opt(&v[O_API_BIND], &s->api_bind);
    s->http_on = strcmp(v[O_HTTP_BIND].val, "off") != 0;
    if (s->http_on)
        agent__parse_addr_opt(&v[O_HTTP_BIND], &s->http_bind);
    nc->api_port = s->api_bind.port;
    if (rsm_node_parse_peers(v[O_PEERS].val, nc->api_port, nc, err,
                             sizeof err) != 0)
        agent_bad_usage("%s: %s", v[O_PEERS].src, err);
    self = agent__find_peer(nc, nc->id);
    if (self == NULL)
        agent_bad_usage("%s: id %llu is not in %s", v[O_ID].src,
                        (unsigned long long)nc->id, v[O_PEERS].src);
    if (v[O_RAFT_BIND].val != NULL) {
        agent__parse_addr_opt(&v[O_RAFT_BIND], &nc->raft_bind);
    } else {
        nc->raft_bind = self->raft;
    }
    nc->data_dir = v[O_DATA_DIR].val;
    nc->election_timeout_ms =
        (unsigned)agent__parse_number(&v[O_ELECTION], 10, 3600000);
    nc->heartbeat_timeout_ms =
        (unsigned)agent__parse_number(&v[O_HEARTBEAT], 1, 3600000);
    if (nc->heartbeat_timeout_ms >= nc->election_timeout_ms)
        agent_bad_usage("%s (%u) must be below %s (%u)", v[O_HEARTBEAT].src,
                        nc->heartbeat_timeout_ms, v[O_ELECTION].src,
                        nc->election_timeout_ms);
    nc->snapshot_threshold =
        (unsigned)agent__parse_number(&v[O_SNAPSHOT], 1, UINT_MAX);
    nc->join = v[O_JOIN].val != NULL ? agent__parse_bool(&v[O_JOIN]) : false;
    agent_parse_cluster_secret(v, s);
    agent__parse_monitor_settings(v, s);
    agent__parse_tls_settings(v, s);
    agent__parse_api_settings(v, s);
    agent__parse_advertise_settings(v, s, self);
}
