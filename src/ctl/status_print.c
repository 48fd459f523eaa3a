/* status_print.c - `rsmctl status` for people: who answered, a table of
 * the agents, then each Redis group (its instances as the leader probes
 * them, the leader's verdict, the failover in flight and the last one),
 * colored on a terminal. */
#include "jfield.h"
#include "status.h"
#include "table.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The element of array whose "name" is name, or NULL. */
static json_t *status__by_name(json_t *array, const char *name)
{
    size_t i;
    json_t *e;

    json_array_foreach(array, i, e)
    {
        if (strcmp(jfield_str(e, "name"), name) == 0)
            return e;
    }
    return NULL;
}

/* "12s ago", "5m ago", "3h ago", "2d ago" for a wall-clock time in ms. */
static const char *status__ago(int64_t ms, char *buf, size_t len)
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
static const char *status__bytes(int64_t v, char *buf, size_t len)
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

static const char *status__num_or_dash(int64_t v, char *buf, size_t len)
{
    if (v < 0)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%" PRId64, v);
    return buf;
}

static enum text_color status__state_color(const char *state)
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

static void status__print_agents(FILE *out, bool color,
                                 const struct status_snapshot *s)
{
    static const char *const header[] = {
        "ID", "API ADDRESS", "ROLE", "TERM", "COMMIT", "LEADER", "STATE"};
    struct table t;

    table_init(&t, 7, header);
    table_flex(&t, 6);
    for (size_t i = 0; i < s->n; i++) {
        const struct status_view *v = &s->views[i];
        char id[24], term[24] = "-", commit[24] = "-", leader[24] = "-";
        char why[300];
        const char *role = "-", *state = "ok";
        json_t *st = v->status;

        snprintf(id, sizeof id, "%" PRIu64, v->id);
        if (st != NULL) {
            json_t *l = json_object_get(st, "leader");
            role = jfield_str(st, "role");
            snprintf(term, sizeof term, "%" PRId64, jfield_int(st, "term"));
            snprintf(commit, sizeof commit, "%" PRId64,
                     jfield_int(st, "commit_index"));
            if (json_is_object(l))
                snprintf(leader, sizeof leader, "%" PRId64,
                         jfield_int(l, "id"));
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
        table_color(&t, 2, status__state_color(role));
        table_color(&t, 6,
                    st != NULL && !v->misconfigured[0] ? TC_GREEN : TC_RED);
    }
    table_print(&t, out, color, "  ");
    table_free(&t);
}

/* --- human output: a Redis group
 * ----------------------------------------------- */

static void status__instance_row(struct table *t, json_t *in, bool is_master)
{
    char off[24], lag[24], prio[24];
    const char *role = jfield_str(in, "role"), *state = jfield_str(in, "state");
    const char *link = jfield_str(in, "link");

    if (strcmp(role, "unknown") == 0)
        role = "-";
    table_row(
        t,
        (const char *const[]){
            jfield_str(in, "addr"), role, state, link[0] ? link : "-",
            status__num_or_dash(jfield_int_or(in, "offset"), off, sizeof off),
            status__bytes(jfield_int_or(in, "lag_bytes"), lag, sizeof lag),
            status__num_or_dash(jfield_int_or(in, "priority"), prio,
                                sizeof prio)});
    if (strcmp(role, "master") == 0)
        table_color(t, 1, is_master ? TC_GREEN : TC_RED);
    table_color(t, 2, status__state_color(state));
    if (strcmp(link, "down") == 0)
        table_color(t, 3, TC_RED);
}

/* Facts that disagree with the committed master, one line each. */
static void status__instance_notes(FILE *out, bool color, json_t *instances,
                                   const char *master)
{
    char line[2 * RSM_ADDR_STRLEN + 64];
    size_t i;
    json_t *in;

    json_array_foreach(instances, i, in)
    {
        const char *addr = jfield_str(in, "addr"),
                   *role = jfield_str(in, "role");
        bool is_master = strcmp(addr, master) == 0;
        line[0] = '\0';
        if (strcmp(jfield_str(in, "state"), "up") != 0)
            continue; /* what it said last may be long gone */
        if (strcmp(role, "replica") == 0 && is_master)
            snprintf(line, sizeof line,
                     "%s is the committed master but reports role replica",
                     addr);
        else if (strcmp(role, "replica") == 0 && master[0] != '\0' &&
                 strcmp(jfield_str(in, "master"), master) != 0)
            snprintf(line, sizeof line, "%s follows %s, not the master", addr,
                     jfield_str(in, "master"));
        else if (strcmp(role, "master") == 0 && !is_master && master[0])
            snprintf(line, sizeof line,
                     "%s reports role master but is not the committed one",
                     addr);
        if (line[0] != '\0')
            text_wrap(out, color, "  Note: ", 0, TC_YELLOW, line);
    }
}

static void status__print_instances(FILE *out, bool color, json_t *g,
                                    json_t *mg, const char *why)
{
    static const char *const header[] = {"INSTANCE", "ROLE", "STATE", "LINK",
                                         "OFFSET",   "LAG",  "PRIO"};
    const char *master = jfield_str(g, "master");
    json_t *instances = json_object_get(mg, "instances"), *in;
    struct table t;
    size_t i;

    table_init(&t, 7, header);
    table_flex(&t, 0);
    if (mg != NULL) {
        json_array_foreach(instances, i, in)
        {
            status__instance_row(&t, in,
                                 strcmp(jfield_str(in, "addr"), master) == 0);
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
        status__instance_notes(out, color, instances, master);
}

static void status__print_verdict(FILE *out, bool color, json_t *mg)
{
    json_t *v = json_object_get(mg, "verdict");
    const char *status = jfield_str(v, "status"),
               *reason = jfield_str(v, "reason");
    const char *last = jfield_str(mg, "last_reason");
    char line[512];

    if (json_is_object(v)) {
        snprintf(line, sizeof line, "%s%s%s", status, reason[0] ? ": " : "",
                 reason);
        text_wrap(out, color, "  Master check: ", 2,
                  status__state_color(status), line);
    }
    if (last[0] != '\0')
        text_wrap(out, color, "  Decision: ", 2, TC_NONE, last);
}

static void status__print_in_flight(FILE *out, bool color, json_t *g)
{
    json_t *f = json_object_get(g, "in_flight");
    char line[1024], ts[32];

    if (!json_is_object(f))
        return;
    snprintf(line, sizeof line,
             "epoch %" PRId64 ", %s, %s -> %s, step %s, decided %s: %s",
             jfield_int(f, "epoch"), jfield_str(f, "kind"),
             jfield_str(f, "old_master"), jfield_str(f, "new_master"),
             jfield_str(f, "step"),
             status__ago(jfield_int(f, "decided_at_ms"), ts, sizeof ts),
             jfield_str(f, "reason"));
    text_wrap(out, color, "  In flight: ", 2, TC_YELLOW, line);
}

static void status__print_last_failover(FILE *out, bool color, json_t *g)
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
    at = jfield_int(h, "ended_at_ms") > 0 ? jfield_int(h, "ended_at_ms")
                                          : jfield_int(h, "decided_at_ms");
    risk = jfield_int_or(h, "data_at_risk");
    result = jfield_str(h, "result");
    if (risk < 0)
        snprintf(riskbuf, sizeof riskbuf, "unknown");
    else
        snprintf(riskbuf, sizeof riskbuf, "%" PRId64 " bytes", risk);
    snprintf(line, sizeof line,
             "%s (%s), %s -> %s, epoch %" PRId64 ", %s, %s, data at risk %s",
             text_when(at, ts, sizeof ts), status__ago(at, rel, sizeof rel),
             jfield_str(h, "old_master"), jfield_str(h, "new_master"),
             jfield_int(h, "epoch"), jfield_str(h, "kind"), result, riskbuf);
    text_wrap(out, color, "  Last failover: ", 2,
              strcmp(result, "completed") == 0 ? TC_NONE : TC_YELLOW, line);
}

/* g: the committed group (NULL if nothing committed yet); mg: the
 * leader's monitor group (NULL if none). */
static void status__print_group(FILE *out, bool color,
                                const struct status_snapshot *s, json_t *g,
                                json_t *mg)
{
    const char *name = g ? jfield_str(g, "name") : jfield_str(mg, "name");
    json_t *master = json_object_get(g, "master");
    char head[RSM_ADDR_STRLEN + 200];

    if (json_is_string(master))
        snprintf(head, sizeof head, "%s: master %s, epoch %" PRId64, name,
                 json_string_value(master), jfield_int(g, "epoch"));
    else
        snprintf(head, sizeof head, "%s: no master recorded yet", name);
    fprintf(out, "\n%sGroup %s%s", text_on(color, TC_BOLD), head,
            text_off(color, TC_BOLD));
    if (json_is_true(json_object_get(g, "paused")))
        fprintf(out, ", %sPAUSED%s (no automatic failover)",
                text_on(color, TC_YELLOW), text_off(color, TC_YELLOW));
    fputc('\n', out);
    status__print_instances(out, color, g, mg,
                            s->monitor == NULL
                                ? s->monitor_why
                                : "the leader does not monitor this group");
    if (mg != NULL)
        status__print_verdict(out, color, mg);
    if (g != NULL) {
        status__print_in_flight(out, color, g);
        status__print_last_failover(out, color, g);
    }
}

static void status__print_groups(FILE *out, bool color,
                                 const struct status_snapshot *s)
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
        status__print_group(out, color, s, g,
                            status__by_name(mgroups, jfield_str(g, "name")));
    }
    json_array_foreach(mgroups, i, g) /* monitored, nothing committed yet */
    {
        if (status__by_name(groups, jfield_str(g, "name")) == NULL)
            status__print_group(out, color, s, NULL, g);
    }
}

void status_print_human(FILE *out, bool color, const struct status_snapshot *s)
{
    char name[RSM_ADDR_STRLEN], line[2 * RSM_ADDR_STRLEN + 96];
    json_t *leader = json_object_get(s->answer, "leader");

    snprintf(line, sizeof line,
             "Answered by agent %" PRId64 " at %s (%s, term %" PRId64 ").",
             jfield_int(s->answer, "id"),
             rsm_addr_format(&s->who, name, sizeof name),
             jfield_str(s->answer, "role"), jfield_int(s->answer, "term"));
    text_wrap(out, color, "", 0, TC_NONE, line);
    if (json_is_object(leader)) {
        snprintf(line, sizeof line, "Leader: agent %" PRId64 " (API %s).",
                 jfield_int(leader, "id"), jfield_str(leader, "api"));
        text_wrap(out, color, "", 0, TC_NONE, line);
    } else
        fprintf(out, "%sLeader: none known.%s\n", text_on(color, TC_RED),
                text_off(color, TC_RED));
    fprintf(out, "\nAgents:\n");
    status__print_agents(out, color, s);
    status__print_groups(out, color, s);
}
