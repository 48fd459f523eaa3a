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
 * otherwise (one JSON object per line with --json). */
#include "agentlink.h"
#include "ctl.h"
#include "rsm/node.h"
#include "table.h"

#include <getopt.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG "rsmctl status"

struct options {
    bool json;
    bool watch;
    uint64_t interval_s;
    struct agentlink link;
};

/* What one member said about itself. */
struct view {
    uint64_t id;
    char api[RSM_ADDR_STRLEN];
    bool reachable;
    json_t *status; /* its RSM STATUS, NULL if none */
    char err[AGENTLINK_ERR_SIZE + 128];
    char misconfigured[256]; /* why this member is not who its address
                                says (identity.h), "" if it is */
};

#define NOTES_MAX 4096

/* One look at the agent group: everything a frame shows. */
struct snapshot {
    json_t *answer;      /* RSM STATUS of the agent that answered, or NULL */
    struct rsm_addr who; /* the address that answered */
    size_t n;
    struct view views[RSM_MAX_AGENTS];
    const struct view *leader; /* the leader's own view, if it answered */
    json_t *monitor;           /* borrowed from leader->status, or NULL */
    char monitor_why[160];     /* why monitor is NULL */
    char notes[NOTES_MAX];     /* what went wrong on the way, lines */
    int exit_code;
};

static void usage(FILE *out)
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

static int parse_options(int argc, char **argv, struct options *opt)
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
            rv = agentlink_getopt_common(&opt->link, PROG, c, optarg, usage);
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

/* --- JSON access ------------------------------------------------------------
 */

static int64_t jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* A number or -1 for null / absent. */
static int64_t jint_or(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    return json_is_string(v) ? json_string_value(v) : "";
}

/* The element of array whose "name" is name, or NULL. */
static json_t *by_name(json_t *array, const char *name)
{
    size_t i;
    json_t *e;

    json_array_foreach(array, i, e)
    {
        if (strcmp(jstr(e, "name"), name) == 0)
            return e;
    }
    return NULL;
}

/* --- asking ------------------------------------------------------------------
 */

static void note(struct snapshot *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note(struct snapshot *s, const char *fmt, ...)
{
    size_t len = strlen(s->notes);
    va_list ap;

    if (len + 2 >= sizeof s->notes)
        return;
    va_start(ap, fmt);
    vsnprintf(s->notes + len, sizeof s->notes - len - 1, fmt, ap);
    va_end(ap);
    len = strlen(s->notes);
    s->notes[len] = '\n';
    s->notes[len + 1] = '\0';
}

/* The status JSON in a call's reply, or NULL with why in err. */
static json_t *status_of(const struct agent_call *c, char *err, size_t len)
{
    json_error_t jerr;
    json_t *o;

    if (c->status != 0) {
        agentlink_describe(c, err, len);
        return NULL;
    }
    if (c->reply.type != REDIS_REPLY_STRING) {
        snprintf(err, len, "not a status reply");
        return NULL;
    }
    o = json_loads(c->reply.str, 0, &jerr);
    if (o == NULL || !json_is_object(o)) {
        json_decref(o);
        snprintf(err, len, "bad status JSON: %s", jerr.text);
        return NULL;
    }
    return o;
}

static const char *const STATUS_ARGV[] = {"RSM", "STATUS"};

/* Ask the agents in turn; the first status wins (s->answer, s->who).
 * Without one, s->exit_code says why: a refused password first, then an
 * agent that answered something else, else nothing reachable. */
static void first_answer(const struct options *opt, struct snapshot *s)
{
    char err[AGENTLINK_ERR_SIZE + 128];
    bool auth = false, reached = false;

    for (size_t i = 0; i < opt->link.n && s->answer == NULL; i++) {
        struct agent_call c = {.addr = opt->link.agents[i]};

        agentlink_call(&opt->link, &c, 2, STATUS_ARGV);
        s->answer = status_of(&c, err, sizeof err);
        auth = auth || agentlink_auth_failed(&c);
        reached = reached || c.status == 0 || c.status == RSM_EREPLY;
        agentlink_calls_free(&c, 1);
        if (s->answer != NULL)
            s->who = opt->link.agents[i];
        else
            note(s, "%s", err);
    }
    s->exit_code = s->answer != NULL ? RSMCTL_EXIT_OK
                   : auth            ? RSMCTL_EXIT_AUTH
                   : reached         ? RSMCTL_EXIT_FAILED
                                     : RSMCTL_EXIT_UNAVAILABLE;
}

/* Every member's own view; the one that answered is reused. */
static void member_views(const struct options *opt, struct snapshot *s)
{
    json_t *members = json_object_get(s->answer, "members"), *m;
    struct agent_call calls[RSM_MAX_AGENTS];
    size_t ncalls = 0, idx;
    size_t call_of[RSM_MAX_AGENTS];

    json_array_foreach(members, idx, m)
    {
        struct view *v = &s->views[s->n];
        if (s->n == RSM_MAX_AGENTS)
            break;
        memset(v, 0, sizeof *v);
        v->id = (uint64_t)jint(m, "id");
        snprintf(v->api, sizeof v->api, "%s", jstr(m, "api"));
        if (v->id == (uint64_t)jint(s->answer, "id")) {
            v->reachable = true;
            v->status = json_incref(s->answer);
        } else if (rsm_addr_parse(v->api, &calls[ncalls].addr, NULL, 0) == 0) {
            call_of[ncalls++] = s->n;
        } else {
            snprintf(v->err, sizeof v->err, "no API address");
        }
        s->n++;
    }
    agentlink_call_all(&opt->link, calls, ncalls, 2, STATUS_ARGV);
    for (size_t i = 0; i < ncalls; i++) {
        struct view *v = &s->views[call_of[i]];
        v->status = status_of(&calls[i], v->err, sizeof v->err);
        v->reachable =
            calls[i].status == 0 || (calls[i].status == RSM_EREPLY &&
                                     !agentlink_auth_failed(&calls[i]));
        if (v->status == NULL)
            note(s, "%s", v->err);
    }
    agentlink_calls_free(calls, ncalls);
    for (size_t i = 0; i < s->n; i++) {
        struct view *v = &s->views[i];
        uint64_t got = v->status ? (uint64_t)jint(v->status, "id") : v->id;
        if (got != v->id) {
            snprintf(v->misconfigured, sizeof v->misconfigured,
                     "its address answers as agent %" PRIu64, got);
            json_decref(v->status);
            v->status = NULL;
        }
    }
}

/* What the leader found wrong with the agents it asks for views (the
 * monitor's "peers", see monitor_status.h). */
static void leader_peers(struct snapshot *s)
{
    json_t *peers = json_object_get(s->monitor, "peers"), *p;
    size_t idx;

    json_array_foreach(peers, idx, p)
    {
        if (!json_is_true(json_object_get(p, "misconfigured")))
            continue;
        for (size_t i = 0; i < s->n; i++) {
            struct view *v = &s->views[i];
            if (v->id == (uint64_t)jint(p, "id") && !v->misconfigured[0])
                snprintf(v->misconfigured, sizeof v->misconfigured,
                         "leader: %s", jstr(p, "problem"));
        }
    }
}

/* The leader's view and its "monitor" object (only the leader probes every
 * instance with INFO). */
static void leader_monitor(struct snapshot *s)
{
    json_t *leader = json_object_get(s->answer, "leader");
    uint64_t id = (uint64_t)jint(leader, "id");

    if (!json_is_object(leader)) {
        snprintf(s->monitor_why, sizeof s->monitor_why,
                 "no agent leader known, so nobody probes the instances");
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        if (s->views[i].id != id)
            continue;
        if (s->views[i].status == NULL) {
            snprintf(s->monitor_why, sizeof s->monitor_why,
                     "the leader (agent %" PRIu64 ") did not answer", id);
            return;
        }
        s->leader = &s->views[i];
        s->monitor = json_object_get(s->views[i].status, "monitor");
        if (!json_is_object(s->monitor)) {
            s->monitor = NULL;
            snprintf(s->monitor_why, sizeof s->monitor_why,
                     "the leader (agent %" PRIu64 ") monitors no instance", id);
        }
        return;
    }
    snprintf(s->monitor_why, sizeof s->monitor_why,
             "the leader (agent %" PRIu64 ") is not among the members", id);
}

static void snapshot_take(const struct options *opt, struct snapshot *s)
{
    memset(s, 0, sizeof *s);
    first_answer(opt, s);
    if (s->answer == NULL)
        return;
    member_views(opt, s);
    leader_monitor(s);
    if (s->monitor != NULL)
        leader_peers(s);
}

static void snapshot_free(struct snapshot *s)
{
    for (size_t i = 0; i < s->n; i++)
        json_decref(s->views[i].status);
    json_decref(s->answer);
    memset(s, 0, sizeof *s);
}

/* --- JSON output
 * -------------------------------------------------------------- */

static json_t *agents_json(const struct snapshot *s)
{
    json_t *agents = json_array();

    for (size_t i = 0; i < s->n; i++) {
        const struct view *v = &s->views[i];
        json_t *a = json_object(), *st = v->status;
        json_object_set_new(a, "id", json_integer((json_int_t)v->id));
        json_object_set_new(a, "api", json_string(v->api));
        json_object_set_new(a, "reachable", json_boolean(v->reachable));
        json_object_set_new(a, "misconfigured",
                            v->misconfigured[0] ? json_string(v->misconfigured)
                                                : json_null());
        if (st != NULL) {
            json_t *leader = json_object_get(st, "leader");
            json_object_set_new(a, "role", json_string(jstr(st, "role")));
            json_object_set_new(a, "term", json_integer(jint(st, "term")));
            json_object_set_new(a, "commit_index",
                                json_integer(jint(st, "commit_index")));
            json_object_set_new(a, "leader_id",
                                json_is_object(leader)
                                    ? json_integer(jint(leader, "id"))
                                    : json_null());
        } else {
            json_object_set_new(a, "error", json_string(v->err));
        }
        json_array_append_new(agents, a);
    }
    return agents;
}

/* The notes as an array of strings. */
static json_t *notes_json(const struct snapshot *s)
{
    json_t *a = json_array();
    const char *p = s->notes;

    while (*p != '\0') {
        size_t n = strcspn(p, "\n");
        json_array_append_new(a, json_stringn(p, n));
        p += n + (p[n] == '\n');
    }
    return a;
}

static void print_json(FILE *out, const struct snapshot *s, bool compact)
{
    char name[RSM_ADDR_STRLEN];
    json_t *o = json_object(), *from = json_null();

    json_object_set_new(
        o, "answered_by",
        s->answer ? json_string(rsm_addr_format(&s->who, name, sizeof name))
                  : json_null());
    json_object_set(o, "status", s->answer ? s->answer : json_null());
    json_object_set_new(o, "agents", agents_json(s));
    if (s->leader != NULL && s->monitor != NULL)
        from = json_pack("{sIss}", "id", (json_int_t)s->leader->id, "api",
                         s->leader->api);
    json_object_set_new(o, "instances_from", from);
    json_object_set(o, "monitor", s->monitor ? s->monitor : json_null());
    json_object_set_new(o, "notes", notes_json(s));
    json_dumpf(o, out,
               (compact ? JSON_COMPACT : JSON_INDENT(2)) | JSON_PRESERVE_ORDER);
    fputc('\n', out);
    json_decref(o);
}

/* --- human output: helpers
 * ---------------------------------------------------- */

/* "2026-11-26 10:00:01" (local time) for a wall-clock time in ms. */
static const char *when(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (ms <= 0 || localtime_r(&t, &tm) == NULL ||
        strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(buf, len, "-");
    return buf;
}

/* "12s ago", "5m ago", "3h ago", "2d ago" for a wall-clock time in ms. */
static const char *ago(int64_t ms, char *buf, size_t len)
{
    int64_t s = (int64_t)time(NULL) - ms / 1000;

    if (s < 0)
        s = 0;
    if (s < 120)
        snprintf(buf, len, "%" PRId64 "s ago", s);
    else if (s < 7200)
        snprintf(buf, len, "%" PRId64 "m ago", s / 60);
    else if (s < 172800)
        snprintf(buf, len, "%" PRId64 "h ago", s / 3600);
    else
        snprintf(buf, len, "%" PRId64 "d ago", s / 86400);
    return buf;
}

/* A byte count for a narrow column: exact below a million, else 1.2M,
 * 3.4G (powers of 1024); "-" for -1 (unknown). */
static const char *bytes(int64_t v, char *buf, size_t len)
{
    if (v < 0)
        snprintf(buf, len, "-");
    else if (v < 1000000)
        snprintf(buf, len, "%" PRId64, v);
    else if (v < (int64_t)1 << 30)
        snprintf(buf, len, "%.1fM", (double)v / (1 << 20));
    else
        snprintf(buf, len, "%.1fG", (double)v / (1 << 30));
    return buf;
}

static const char *num_or_dash(int64_t v, char *buf, size_t len)
{
    if (v < 0)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%" PRId64, v);
    return buf;
}

static enum text_color state_color(const char *state)
{
    if (strcmp(state, "up") == 0 || strcmp(state, "ok") == 0 ||
        strcmp(state, "leader") == 0)
        return TC_GREEN;
    if (strcmp(state, "down") == 0 || strcmp(state, "failed-restart") == 0 ||
        strcmp(state, "unreachable") == 0)
        return TC_RED;
    if (strcmp(state, "unknown") == 0 || strcmp(state, "follower") == 0 ||
        strcmp(state, "-") == 0)
        return TC_NONE;
    return TC_YELLOW; /* suspect, loading, restarted, candidate, ... */
}

/* --- human output: agents
 * ------------------------------------------------------ */

static void print_agents(FILE *out, bool color, const struct snapshot *s)
{
    static const char *const header[] = {
        "ID", "API ADDRESS", "ROLE", "TERM", "COMMIT", "LEADER", "STATE"};
    struct table t;

    table_init(&t, 7, header);
    table_flex(&t, 6);
    for (size_t i = 0; i < s->n; i++) {
        const struct view *v = &s->views[i];
        char id[24], term[24] = "-", commit[24] = "-", leader[24] = "-";
        char why[300];
        const char *role = "-", *state = "ok";
        json_t *st = v->status;

        snprintf(id, sizeof id, "%" PRIu64, v->id);
        if (st != NULL) {
            json_t *l = json_object_get(st, "leader");
            role = jstr(st, "role");
            snprintf(term, sizeof term, "%" PRId64, jint(st, "term"));
            snprintf(commit, sizeof commit, "%" PRId64,
                     jint(st, "commit_index"));
            if (json_is_object(l))
                snprintf(leader, sizeof leader, "%" PRId64, jint(l, "id"));
            else
                snprintf(leader, sizeof leader, "none");
        } else {
            state = v->reachable ? v->err : "unreachable";
        }
        if (v->misconfigured[0]) {
            snprintf(why, sizeof why, "misconfigured: %s", v->misconfigured);
            state = why;
        }
        table_row(&t, (const char *const[]){id, v->api, role, term, commit,
                                            leader, state});
        table_color(&t, 2, state_color(role));
        table_color(&t, 6,
                    st != NULL && !v->misconfigured[0] ? TC_GREEN : TC_RED);
    }
    table_print(&t, out, color, "  ");
    table_free(&t);
}

/* --- human output: a Redis group
 * ----------------------------------------------- */

static void instance_row(struct table *t, json_t *in, bool is_master)
{
    char off[24], lag[24], prio[24];
    const char *role = jstr(in, "role"), *state = jstr(in, "state");
    const char *link = jstr(in, "link");

    if (strcmp(role, "unknown") == 0)
        role = "-";
    table_row(t, (const char *const[]){
                     jstr(in, "addr"), role, state, link[0] ? link : "-",
                     num_or_dash(jint_or(in, "offset"), off, sizeof off),
                     bytes(jint_or(in, "lag_bytes"), lag, sizeof lag),
                     num_or_dash(jint_or(in, "priority"), prio, sizeof prio)});
    if (strcmp(role, "master") == 0)
        table_color(t, 1, is_master ? TC_GREEN : TC_RED);
    table_color(t, 2, state_color(state));
    if (strcmp(link, "down") == 0)
        table_color(t, 3, TC_RED);
}

/* Facts that disagree with the committed master, one line each. */
static void instance_notes(FILE *out, bool color, json_t *instances,
                           const char *master)
{
    char line[2 * RSM_ADDR_STRLEN + 64];
    size_t i;
    json_t *in;

    json_array_foreach(instances, i, in)
    {
        const char *addr = jstr(in, "addr"), *role = jstr(in, "role");
        bool is_master = strcmp(addr, master) == 0;
        line[0] = '\0';
        if (strcmp(jstr(in, "state"), "up") != 0)
            continue; /* what it said last may be long gone */
        if (strcmp(role, "replica") == 0 && is_master)
            snprintf(line, sizeof line,
                     "%s is the committed master but reports role replica",
                     addr);
        else if (strcmp(role, "replica") == 0 && master[0] != '\0' &&
                 strcmp(jstr(in, "master"), master) != 0)
            snprintf(line, sizeof line, "%s follows %s, not the master", addr,
                     jstr(in, "master"));
        else if (strcmp(role, "master") == 0 && !is_master && master[0])
            snprintf(line, sizeof line,
                     "%s reports role master but is not the committed one",
                     addr);
        if (line[0] != '\0')
            text_wrap(out, color, "  Note: ", 0, TC_YELLOW, line);
    }
}

static void print_instances(FILE *out, bool color, json_t *g, json_t *mg,
                            const char *why)
{
    static const char *const header[] = {"INSTANCE", "ROLE", "STATE", "LINK",
                                         "OFFSET",   "LAG",  "PRIO"};
    const char *master = jstr(g, "master");
    json_t *instances = json_object_get(mg, "instances"), *in;
    struct table t;
    size_t i;

    table_init(&t, 7, header);
    table_flex(&t, 0);
    if (mg != NULL) {
        json_array_foreach(instances, i, in)
        {
            instance_row(&t, in, strcmp(jstr(in, "addr"), master) == 0);
        }
    } else {
        json_array_foreach(json_object_get(g, "members"), i, in)
        {
            table_row(&t, (const char *const[]){json_string_value(in), "-", "-",
                                                "-", "-", "-", "-"});
        }
    }
    if (t.rows > 1)
        table_print(&t, out, color, "  ");
    table_free(&t);
    if (mg == NULL)
        text_wrap(out, color, "  No probe data: ", 0, TC_YELLOW, why);
    else
        instance_notes(out, color, instances, master);
}

static void print_verdict(FILE *out, bool color, json_t *mg)
{
    json_t *v = json_object_get(mg, "verdict");
    const char *status = jstr(v, "status"), *reason = jstr(v, "reason");
    const char *last = jstr(mg, "last_reason");
    char line[512];

    if (json_is_object(v)) {
        snprintf(line, sizeof line, "%s%s%s", status, reason[0] ? ": " : "",
                 reason);
        text_wrap(out, color, "  Master check: ", 2, state_color(status), line);
    }
    if (last[0] != '\0')
        text_wrap(out, color, "  Decision: ", 2, TC_NONE, last);
}

static void print_in_flight(FILE *out, bool color, json_t *g)
{
    json_t *f = json_object_get(g, "in_flight");
    char line[1024], ts[32];

    if (!json_is_object(f))
        return;
    snprintf(line, sizeof line,
             "epoch %" PRId64 ", %s, %s -> %s, step %s, decided %s: %s",
             jint(f, "epoch"), jstr(f, "kind"), jstr(f, "old_master"),
             jstr(f, "new_master"), jstr(f, "step"),
             ago(jint(f, "decided_at_ms"), ts, sizeof ts), jstr(f, "reason"));
    text_wrap(out, color, "  In flight: ", 2, TC_YELLOW, line);
}

static void print_last_failover(FILE *out, bool color, json_t *g)
{
    json_t *hist = json_object_get(g, "history");
    json_t *h = json_array_get(hist, json_array_size(hist) - 1);
    int64_t at, risk;
    char line[1024], ts[32], rel[32], riskbuf[48];
    const char *result;

    if (!json_is_object(h)) {
        fprintf(out, "  Last failover: none\n");
        return;
    }
    at = jint(h, "ended_at_ms") > 0 ? jint(h, "ended_at_ms")
                                    : jint(h, "decided_at_ms");
    risk = jint_or(h, "data_at_risk");
    result = jstr(h, "result");
    if (risk < 0)
        snprintf(riskbuf, sizeof riskbuf, "unknown");
    else
        snprintf(riskbuf, sizeof riskbuf, "%" PRId64 " bytes", risk);
    snprintf(line, sizeof line,
             "%s (%s), %s -> %s, epoch %" PRId64 ", %s, %s, data at risk %s",
             when(at, ts, sizeof ts), ago(at, rel, sizeof rel),
             jstr(h, "old_master"), jstr(h, "new_master"), jint(h, "epoch"),
             jstr(h, "kind"), result, riskbuf);
    text_wrap(out, color, "  Last failover: ", 2,
              strcmp(result, "completed") == 0 ? TC_NONE : TC_YELLOW, line);
}

/* g: the committed group (NULL if nothing committed yet); mg: the
 * leader's monitor group (NULL if none). */
static void print_group(FILE *out, bool color, const struct snapshot *s,
                        json_t *g, json_t *mg)
{
    const char *name = g ? jstr(g, "name") : jstr(mg, "name");
    json_t *master = json_object_get(g, "master");
    char head[RSM_ADDR_STRLEN + 200];

    if (json_is_string(master))
        snprintf(head, sizeof head, "%s: master %s, epoch %" PRId64, name,
                 json_string_value(master), jint(g, "epoch"));
    else
        snprintf(head, sizeof head, "%s: no master recorded yet", name);
    fprintf(out, "\n%sGroup %s%s", text_on(color, TC_BOLD), head,
            text_off(color, TC_BOLD));
    if (json_is_true(json_object_get(g, "paused")))
        fprintf(out, ", %sPAUSED%s (no automatic failover)",
                text_on(color, TC_YELLOW), text_off(color, TC_YELLOW));
    fputc('\n', out);
    print_instances(out, color, g, mg,
                    s->monitor == NULL
                        ? s->monitor_why
                        : "the leader does not monitor this group");
    if (mg != NULL)
        print_verdict(out, color, mg);
    if (g != NULL) {
        print_in_flight(out, color, g);
        print_last_failover(out, color, g);
    }
}

static void print_groups(FILE *out, bool color, const struct snapshot *s)
{
    json_t *groups = json_object_get(s->answer, "groups"), *g;
    json_t *mgroups = json_object_get(s->monitor, "groups");
    size_t i;

    if (json_array_size(groups) == 0 && json_array_size(mgroups) == 0) {
        fprintf(out, "\nGroups: none yet\n");
        return;
    }
    if (s->monitor != NULL && s->leader != NULL &&
        s->leader->status != s->answer) {
        char line[RSM_ADDR_STRLEN + 96];
        snprintf(line, sizeof line,
                 "Instances as the leader, agent %" PRIu64 " at %s, sees "
                 "them.",
                 s->leader->id, s->leader->api);
        fputc('\n', out);
        text_wrap(out, color, "", 0, TC_NONE, line);
    }
    json_array_foreach(groups, i, g)
    {
        print_group(out, color, s, g, by_name(mgroups, jstr(g, "name")));
    }
    json_array_foreach(mgroups, i, g) /* monitored, nothing committed yet */
    {
        if (by_name(groups, jstr(g, "name")) == NULL)
            print_group(out, color, s, NULL, g);
    }
}

static void print_human(FILE *out, bool color, const struct snapshot *s)
{
    char name[RSM_ADDR_STRLEN], line[2 * RSM_ADDR_STRLEN + 96];
    json_t *leader = json_object_get(s->answer, "leader");

    snprintf(line, sizeof line,
             "Answered by agent %" PRId64 " at %s (%s, term %" PRId64 ").",
             jint(s->answer, "id"), rsm_addr_format(&s->who, name, sizeof name),
             jstr(s->answer, "role"), jint(s->answer, "term"));
    text_wrap(out, color, "", 0, TC_NONE, line);
    if (json_is_object(leader)) {
        snprintf(line, sizeof line, "Leader: agent %" PRId64 " (API %s).",
                 jint(leader, "id"), jstr(leader, "api"));
        text_wrap(out, color, "", 0, TC_NONE, line);
    } else
        fprintf(out, "%sLeader: none known.%s\n", text_on(color, TC_RED),
                text_off(color, TC_RED));
    fprintf(out, "\nAgents:\n");
    print_agents(out, color, s);
    print_groups(out, color, s);
}

/* --- one shot, or watching
 * ---------------------------------------------------- */

/* Print a snapshot: notes to notes_out (NULL: into out, after the rest). */
static void print_snapshot(FILE *out, FILE *notes_out, bool color,
                           const struct options *opt, const struct snapshot *s)
{
    if (notes_out != NULL)
        fputs(s->notes, notes_out);
    if (opt->json) {
        if (s->answer != NULL || opt->watch)
            print_json(out, s, opt->watch);
        return;
    }
    if (s->answer != NULL)
        print_human(out, color, s);
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

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_watching = 1;
}

/* Sleep s seconds unless a stop signal comes first. */
static void nap(uint64_t s)
{
    for (uint64_t i = 0; i < s * 10 && !stop_watching; i++) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static int watch(const struct options *opt)
{
    struct sigaction sa;
    bool tty = text_use_color(stdout), color = tty;
    char clock[32];

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    while (!stop_watching) {
        struct snapshot *s = malloc(sizeof *s);
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
        snapshot_take(opt, s);
        if (!opt->json)
            fprintf(mem, "%s%s  (every %" PRIu64 " s; Ctrl-C to stop)%s\n\n",
                    text_on(color, TC_DIM),
                    rsmctl_timestamp(clock, sizeof clock), opt->interval_s,
                    text_off(color, TC_DIM));
        print_snapshot(mem, NULL, color, opt, s);
        snapshot_free(s);
        free(s);
        fclose(mem);
        if (tty && !opt->json)
            fputs("\033[H\033[2J", stdout);
        fwrite(frame, 1, len, stdout);
        if (!tty && !opt->json)
            fputc('\n', stdout);
        fflush(stdout);
        free(frame);
        nap(opt->interval_s);
    }
    return RSMCTL_EXIT_OK;
}

int rsmctl_status(int argc, char **argv)
{
    struct options opt = {0};
    struct snapshot *s;
    int rv = parse_options(argc, argv, &opt);

    if (rv != 0)
        return rv < 0 ? RSMCTL_EXIT_OK : rv;
    if (opt.watch) {
        rv = watch(&opt);
        agentlink_wipe(&opt.link);
        return rv;
    }
    s = malloc(sizeof *s);
    if (s == NULL) {
        agentlink_wipe(&opt.link);
        fprintf(stderr, "rsmctl status: out of memory\n");
        return RSMCTL_EXIT_FAILED;
    }
    snapshot_take(&opt, s);
    agentlink_wipe(&opt.link);
    if (s->answer == NULL) {
        fputs(s->notes, stderr);
        fprintf(stderr, "rsmctl status: no agent answered%s\n",
                s->exit_code == RSMCTL_EXIT_AUTH ? " (authentication failed)"
                                                 : "");
        rv = s->exit_code;
    } else {
        print_snapshot(stdout, stderr, text_use_color(stdout), &opt, s);
        rv = RSMCTL_EXIT_OK;
    }
    snapshot_free(s);
    free(s);
    return rv;
}
