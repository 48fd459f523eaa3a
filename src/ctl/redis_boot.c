/* redis_boot.c - `rsmctl redis-boot`: ask the agents what this Redis must
 * be, then exec redis-server as that (see usage() and include/rsm/boot.h).
 *
 * The shell around core/boot: it asks every agent for RSM STATUS at once
 * (its own small loop over rsm_redis, with AUTH when the agents need a
 * password), reads the instance's data files, asks rsm_boot_decide(), and
 * waits, retries or execs. The decision is logged as one logfmt line on
 * stderr (event boot-decision), so it lands in the pod's log. */
#include "ctl.h"
#include "rsm/boot.h"
#include "rsm/err.h"
#include "rsm/log.h"
#include "rsm/redis.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROG       "rsmctl redis-boot"
#define MAX_AGENTS 16
#define STATE_NAME "rsm-boot.state"
#define PW_ENV     "RSM_AGENT_PASSWORD"
#define RDB_HEAD   65536 /* bytes of an RDB enough to see past aux fields */

struct options {
    size_t n_agents;
    struct rsm_addr agents[MAX_AGENTS];
    char group[RSM_GROUP_NAME_MAX];
    struct rsm_addr self;
    bool self_set;
    const char *data_dir; /* --data-dir, else from the Redis arguments */
    const char *state_file;
    uint64_t wait_ms, poll_ms, timeout_ms;
    bool dry_run;
    char password[RSMCTL_SECRET_MAX];
    int redis_argc;
    char **redis_argv;
};

/* Where Redis keeps its data, from its arguments (config file, then
 * --options over it). */
struct redis_files {
    char dir[4096];
    char dbfilename[256];
    bool appendonly;
    char appenddirname[256];
    char appendfilename[256];
};

static void usage(FILE *out)
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
            "                            DIR/" STATE_NAME ")\n"
            "  --wait-ms N               fallback after N ms without a usable\n"
            "                            agent (default 60000; 0: never)\n"
            "  --poll-ms N               between two rounds (default 1000)\n"
            "  --timeout-ms N            per agent and round (default 1000)\n"
            "  --password-file FILE      the agents' password (default\n"
            "                            $" PW_ENV ")\n"
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

static int add_agents(struct options *o, const char *text)
{
    char item[RSM_ADDR_STRLEN + 1], err[RSM_ERRMSG_SIZE];
    const char *p = text;

    for (;;) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof item)
            return rsmctl_usage_error(PROG, "bad agent list '%s'", text);
        memcpy(item, p, len);
        item[len] = '\0';
        if (o->n_agents == MAX_AGENTS)
            return rsmctl_usage_error(PROG, "more than %d agents", MAX_AGENTS);
        if (rsm_addr_parse(item, &o->agents[o->n_agents], err, sizeof err))
            return rsmctl_usage_error(PROG, "bad agent address '%s': %s", item,
                                      err);
        o->n_agents++;
        if (p[len] == '\0')
            return 0;
        p += len + 1;
    }
}

static int parse_number(const char *flag, const char *s, uint64_t max,
                        uint64_t *out)
{
    if (rsmctl_parse_uint(s, 0, max, out) != 0)
        return rsmctl_usage_error(PROG, "%s: '%s' is not a number up to %llu",
                                  flag, s, (unsigned long long)max);
    return 0;
}

static int check_redis_args(const struct options *o)
{
    for (int i = 1; i < o->redis_argc; i++) {
        const char *a = o->redis_argv[i];
        if (strcasecmp(a, "--replicaof") == 0 ||
            strcasecmp(a, "--slaveof") == 0)
            return rsmctl_usage_error(PROG,
                                      "'%s' in the Redis arguments: redis-boot "
                                      "decides that",
                                      a);
    }
    return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
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
            rv = add_agents(o, optarg);
            break;
        case O_GROUP:
            if (strlen(optarg) == 0 || strlen(optarg) >= sizeof o->group)
                rv = rsmctl_usage_error(PROG, "bad group name '%s'", optarg);
            else
                strcpy(o->group, optarg);
            break;
        case O_SELF:
            if (rsm_addr_parse(optarg, &o->self, err, sizeof err) != 0)
                rv = rsmctl_usage_error(PROG, "--self '%s': %s", optarg, err);
            o->self_set = true;
            break;
        case O_DATA:
            o->data_dir = optarg;
            break;
        case O_STATE:
            o->state_file = optarg;
            break;
        case O_WAIT:
            rv = parse_number("--wait-ms", optarg, 86400000, &o->wait_ms);
            break;
        case O_POLL:
            rv = parse_number("--poll-ms", optarg, 3600000, &o->poll_ms);
            if (rv == 0 && o->poll_ms < 10)
                rv = rsmctl_usage_error(PROG, "--poll-ms: at least 10");
            break;
        case O_TIMEOUT:
            rv = parse_number("--timeout-ms", optarg, 600000, &o->timeout_ms);
            if (rv == 0 && o->timeout_ms == 0)
                rv = rsmctl_usage_error(PROG, "--timeout-ms: at least 1");
            break;
        case O_PW:
            pw_file = optarg;
            break;
        case O_DRY:
            o->dry_run = true;
            break;
        case 'h':
            usage(stdout);
            exit(RSMCTL_EXIT_OK);
        default:
            rv = rsmctl_usage_error(PROG, "unknown or incomplete flag '%s'",
                                    argv[optind - 1]);
        }
    }
    if (rv != 0)
        return rv;
    if (optind >= argc)
        return rsmctl_usage_error(PROG, "no Redis command after --");
    o->redis_argc = argc - optind;
    o->redis_argv = argv + optind;
    if (o->n_agents == 0 && getenv("RSM_AGENT") && *getenv("RSM_AGENT"))
        rv = add_agents(o, getenv("RSM_AGENT"));
    if (rv == 0 && o->n_agents == 0)
        rv = rsmctl_usage_error(PROG, "--agents is required (or RSM_AGENT)");
    if (rv == 0 && o->group[0] == '\0')
        rv = rsmctl_usage_error(PROG, "--group is required");
    if (rv == 0 && !o->self_set)
        rv = rsmctl_usage_error(PROG, "--self is required");
    if (rv == 0 && rsmctl_read_secret(pw_file, PW_ENV, o->password,
                                      sizeof o->password, err, sizeof err) != 0)
        rv = rsmctl_usage_error(PROG, "%s", err);
    if (rv == 0)
        rv = check_redis_args(o);
    return rv;
}

/* ------------------------------------------------------------------------
 * The Redis data files
 * ---------------------------------------------------------------------- */

static void copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src);
}

/* One directive (key and its first value) of a config file or of --key
 * value arguments. */
static void directive(struct redis_files *f, const char *key, const char *val)
{
    if (strcasecmp(key, "dir") == 0)
        copy(f->dir, sizeof f->dir, val);
    else if (strcasecmp(key, "dbfilename") == 0)
        copy(f->dbfilename, sizeof f->dbfilename, val);
    else if (strcasecmp(key, "appendonly") == 0)
        f->appendonly = strcasecmp(val, "yes") == 0;
    else if (strcasecmp(key, "appenddirname") == 0)
        copy(f->appenddirname, sizeof f->appenddirname, val);
    else if (strcasecmp(key, "appendfilename") == 0)
        copy(f->appendfilename, sizeof f->appendfilename, val);
}

/* First word and first value of a config line, quotes removed. */
static void config_line(struct redis_files *f, char *line)
{
    char *key, *val, *save = NULL;

    key = strtok_r(line, " \t\r\n", &save);
    if (key == NULL || key[0] == '#')
        return;
    val = strtok_r(NULL, "\r\n", &save);
    if (val == NULL)
        return;
    while (*val == ' ' || *val == '\t')
        val++;
    if (*val == '"' || *val == '\'') {
        char q = *val++;
        char *end = strchr(val, q);
        if (end != NULL)
            *end = '\0';
    } else {
        val[strcspn(val, " \t")] = '\0';
    }
    directive(f, key, val);
}

static void redis_files(const struct options *o, struct redis_files *f)
{
    int i = 1;

    memset(f, 0, sizeof *f);
    copy(f->dir, sizeof f->dir, ".");
    copy(f->dbfilename, sizeof f->dbfilename, "dump.rdb");
    copy(f->appenddirname, sizeof f->appenddirname, "appendonlydir");
    copy(f->appendfilename, sizeof f->appendfilename, "appendonly.aof");
    if (o->redis_argc > 1 && strncmp(o->redis_argv[1], "--", 2) != 0) {
        FILE *cf = fopen(o->redis_argv[1], "r");
        char line[4096];
        i = 2;
        if (cf != NULL) {
            while (fgets(line, sizeof line, cf) != NULL)
                config_line(f, line);
            fclose(cf);
        }
    }
    for (; i + 1 < o->redis_argc; i++) {
        if (strncmp(o->redis_argv[i], "--", 2) == 0)
            directive(f, o->redis_argv[i] + 2, o->redis_argv[i + 1]);
    }
    if (o->data_dir != NULL)
        copy(f->dir, sizeof f->dir, o->data_dir);
}

static enum rsm_rdb_content rdb_file(const char *path)
{
    unsigned char *buf = malloc(RDB_HEAD);
    FILE *fp = fopen(path, "rb");
    size_t n = 0;
    enum rsm_rdb_content c = RSM_RDB_UNREADABLE;

    if (buf != NULL && fp != NULL) {
        n = fread(buf, 1, RDB_HEAD, fp);
        c = rsm_boot_rdb_content(buf, n);
    }
    if (fp != NULL)
        fclose(fp);
    free(buf);
    return c;
}

static off_t file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : -1;
}

/* An AOF directory (Redis 7) holds data when a base RDB holds data, or any
 * other base or increment file is not empty. */
static bool aof_dir_has_data(const char *dir, char *what, size_t len)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    bool data = false;

    if (d == NULL)
        return false;
    while (!data && (e = readdir(d)) != NULL) {
        char path[8192];
        size_t nl = strlen(e->d_name);
        if (e->d_name[0] == '.' || strstr(e->d_name, ".manifest") != NULL ||
            (size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >=
                sizeof path)
            continue;
        if (nl > 9 && strcmp(e->d_name + nl - 9, ".base.rdb") == 0)
            data = rdb_file(path) == RSM_RDB_DATA;
        else
            data = file_size(path) > 0;
        if (data)
            snprintf(what, len, "%s", path);
    }
    closedir(d);
    return data;
}

/* Whether the instance would start with data; `what` says why. */
static bool has_data(const struct redis_files *f, char *what, size_t len)
{
    char path[8192];
    enum rsm_rdb_content c;

    if (f->appendonly) {
        snprintf(path, sizeof path, "%s/%s", f->dir, f->appenddirname);
        if (aof_dir_has_data(path, what, len))
            return true;
        snprintf(path, sizeof path, "%s/%s", f->dir, f->appendfilename);
        if (file_size(path) > 0) {
            snprintf(what, len, "%s", path);
            return true;
        }
    }
    snprintf(path, sizeof path, "%s/%s", f->dir, f->dbfilename);
    c = file_size(path) >= 0 ? rdb_file(path) : RSM_RDB_UNREADABLE;
    snprintf(what, len, "%s: %s", path,
             c == RSM_RDB_DATA     ? "holds data"
             : c == RSM_RDB_EMPTY  ? "no keys"
             : file_size(path) < 0 ? "absent"
                                   : "unreadable");
    return c == RSM_RDB_DATA;
}

/* ------------------------------------------------------------------------
 * Asking the agents
 * ---------------------------------------------------------------------- */

struct ask {
    struct rsm_redis *link;
    unsigned *left;
    char *json; /* the reply, malloc'd, NULL if none */
    char err[RSM_ERRMSG_SIZE + 64];
};

static void on_status(struct rsm_redis *r, const struct rsm_redis_result *res,
                      void *arg)
{
    struct ask *a = arg;

    (void)r;
    (*a->left)--;
    if (res->status == 0 && res->reply->type == REDIS_REPLY_STRING) {
        a->json = malloc(res->reply->len + 1);
        if (a->json != NULL) {
            memcpy(a->json, res->reply->str, res->reply->len);
            a->json[res->reply->len] = '\0';
        }
    } else {
        snprintf(a->err, sizeof a->err, "%s",
                 res->errmsg ? res->errmsg : "not a status");
    }
}

/* RSM STATUS of every agent at once. */
static void ask_all(const struct options *o, struct ask *asks)
{
    static const char *const cmd[] = {"RSM", "STATUS"};
    uv_loop_t loop;
    unsigned left = 0;

    memset(asks, 0, sizeof(struct ask) * o->n_agents);
    if (uv_loop_init(&loop) != 0)
        return;
    for (size_t i = 0; i < o->n_agents; i++) {
        struct rsm_redis_config rc = {.addr = o->agents[i]};
        asks[i].left = &left;
        rc.password = o->password[0] ? o->password : NULL;
        rc.connect_timeout_ms = o->timeout_ms;
        if (rsm_redis_create(&loop, &rc, &asks[i].link) != 0)
            continue;
        if (rsm_redis_command(asks[i].link, o->timeout_ms, on_status, &asks[i],
                              2, cmd) == 0)
            left++;
    }
    while (left > 0)
        uv_run(&loop, UV_RUN_ONCE);
    for (size_t i = 0; i < o->n_agents; i++)
        if (asks[i].link != NULL)
            rsm_redis_close(asks[i].link, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}

static bool json_addr(json_t *j, struct rsm_addr *out)
{
    const char *s = json_string_value(j);

    return s != NULL && s[0] != '\0' && rsm_addr_parse(s, out, NULL, 0) == 0;
}

/* A view from one RSM STATUS; false if it is not one. */
static bool parse_view(const char *text, const char *group,
                       struct rsm_boot_view *v)
{
    json_t *root = json_loads(text, 0, NULL), *groups, *g;
    const char *role;
    size_t i;

    memset(v, 0, sizeof *v);
    if (root == NULL)
        return false;
    role = json_string_value(json_object_get(root, "role"));
    groups = json_object_get(root, "groups");
    if (role == NULL || !json_is_array(groups)) {
        json_decref(root);
        return false;
    }
    v->agent_id = (uint64_t)json_integer_value(json_object_get(root, "id"));
    v->is_leader = strcmp(role, "leader") == 0;
    v->has_leader = json_is_object(json_object_get(root, "leader"));
    v->term = (uint64_t)json_integer_value(json_object_get(root, "term"));
    v->applied_index =
        (uint64_t)json_integer_value(json_object_get(root, "applied_index"));
    json_array_foreach(groups, i, g)
    {
        const char *name = json_string_value(json_object_get(g, "name"));
        json_t *fl = json_object_get(g, "in_flight");
        if (name == NULL || strcmp(name, group) != 0)
            continue;
        v->group_known = true;
        v->has_master = json_addr(json_object_get(g, "master"), &v->master);
        v->epoch = (uint64_t)json_integer_value(json_object_get(g, "epoch"));
        v->n_members = (unsigned)json_array_size(json_object_get(g, "members"));
        if (json_is_object(fl)) {
            v->in_flight = true;
            json_addr(json_object_get(fl, "new_master"), &v->in_flight_new);
        }
    }
    json_decref(root);
    return true;
}

/* One round: the views of the agents that answered, and what to do. */
static bool round_decide(const struct options *o, bool data,
                         struct rsm_boot_decision *d, uint64_t *agent)
{
    struct ask asks[MAX_AGENTS];
    struct rsm_boot_view views[MAX_AGENTS];
    const struct rsm_boot_view *v;
    size_t n = 0;

    ask_all(o, asks);
    for (size_t i = 0; i < o->n_agents; i++) {
        char a[RSM_ADDR_STRLEN], q[2 * sizeof asks[i].err];
        if (asks[i].json != NULL &&
            parse_view(asks[i].json, o->group, &views[n]))
            n++;
        else
            rsm_log(RSM_LOG_DEBUG, "boot-agent-unusable", "agent=%s error=%s",
                    rsm_addr_format(&o->agents[i], a, sizeof a),
                    rsm_log_quote(asks[i].json ? "not a status" : asks[i].err,
                                  q, sizeof q));
        free(asks[i].json);
    }
    v = rsm_boot_pick(views, n);
    if (v == NULL)
        return false;
    *agent = v->agent_id;
    rsm_boot_decide(v, &o->self, data, d);
    return true;
}

/* ------------------------------------------------------------------------
 * State file and exec
 * ---------------------------------------------------------------------- */

static bool read_state(const char *path, struct rsm_addr *master)
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
static void write_state(const char *path, const struct rsm_addr *master)
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

static int run(const struct options *o, const struct rsm_boot_decision *d)
{
    char **argv = calloc((size_t)o->redis_argc + 4, sizeof *argv);
    char host[RSM_HOST_MAX], port[8];
    int n = 0;

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
    fprintf(stderr, PROG ": exec %s: %s\n", argv[0], strerror(errno));
    free(argv);
    return RSMCTL_EXIT_FAILED;
}

static void log_decision(const char *event, const struct rsm_boot_decision *d,
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

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int rsmctl_redis_boot(int argc, char **argv)
{
    struct options o;
    struct redis_files files;
    struct rsm_boot_decision d;
    char state[4200], what[8300], last_reason[RSM_BOOT_REASON_MAX] = "";
    uint64_t start, agent = 0;
    bool data, unusable_logged = false;
    int rv;

    rv = parse_options(argc, argv, &o);
    if (rv != 0)
        return rv;
    rsm_log_setup(RSM_LOG_INFO, RSM_LOG_LOGFMT);
    redis_files(&o, &files);
    if (o.state_file != NULL)
        snprintf(state, sizeof state, "%s", o.state_file);
    else
        snprintf(state, sizeof state, "%s/" STATE_NAME, files.dir);
    data = has_data(&files, what, sizeof what);
    start = now_ms();
    for (;;) {
        if (round_decide(&o, data, &d, &agent)) {
            unusable_logged = false;
            if (d.action != RSM_BOOT_WAIT)
                break;
            if (strcmp(d.reason, last_reason) != 0)
                log_decision("boot-wait", &d, agent, what);
            snprintf(last_reason, sizeof last_reason, "%s", d.reason);
            start = now_ms(); /* the agents answer: no fallback */
        } else {
            if (!unusable_logged)
                rsm_log(RSM_LOG_WARN, "boot-no-agent",
                        "agents=%zu reason=\"no agent that knows a leader "
                        "answered\" fallback_after_ms=%llu",
                        o.n_agents, (unsigned long long)o.wait_ms);
            unusable_logged = true;
            if (o.wait_ms > 0 && now_ms() - start >= o.wait_ms) {
                struct rsm_addr last;
                bool known = read_state(state, &last);
                rsm_boot_fallback(&o.self, known ? &last : NULL, &d);
                log_decision("boot-fallback", &d, 0, what);
                if (d.action == RSM_BOOT_GIVE_UP) {
                    explicit_bzero(o.password, sizeof o.password);
                    return RSMCTL_EXIT_UNAVAILABLE;
                }
                break;
            }
        }
        sleep_ms(o.poll_ms);
    }
    explicit_bzero(o.password, sizeof o.password);
    if (agent != 0)
        log_decision("boot-decision", &d, agent, what);
    if (!o.dry_run)
        write_state(state, d.action == RSM_BOOT_REPLICA ? &d.master : &o.self);
    return run(&o, &d);
}
