/* status_snapshot.c - `rsmctl status`: one look at the agent group. Ask
 * the given agents in turn for RSM STATUS until one answers, then every
 * member that answer lists (at its API address), all at once, and pick
 * the leader's "monitor" object (only the leader probes the instances). */
#include "jfield.h"
#include "status.h"

#include <assert.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static void status__note(struct status_snapshot *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void status__note(struct status_snapshot *s, const char *fmt, ...)
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
static json_t *status__reply_json(const struct agent_call *c, char *err,
                                  size_t len)
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
static void status__first_answer(const struct status_options *opt,
                                 struct status_snapshot *s)
{
    char err[AGENTLINK_ERR_SIZE + 128];
    bool auth = false, reached = false;

    for (size_t i = 0; i < opt->link.n && s->answer == NULL; i++) {
        struct agent_call c = {.addr = opt->link.agents[i]};

        agentlink_call(&opt->link, &c, 2, STATUS_ARGV);
        s->answer = status__reply_json(&c, err, sizeof err);
        auth = auth || agentlink_auth_failed(&c);
        reached = reached || c.status == 0 || c.status == RSM_EREPLY;
        agentlink_calls_free(&c, 1);
        if (s->answer != NULL)
            s->who = opt->link.agents[i];
        else
            status__note(s, "%s", err);
    }
    s->exit_code = s->answer != NULL ? RSMCTL_EXIT_OK
                   : auth            ? RSMCTL_EXIT_AUTH
                   : reached         ? RSMCTL_EXIT_FAILED
                                     : RSMCTL_EXIT_UNAVAILABLE;
}

/* Every member's own view; the one that answered is reused. */
static void status__member_views(const struct status_options *opt,
                                 struct status_snapshot *s)
{
    json_t *members = json_object_get(s->answer, "members"), *m;
    struct agent_call calls[RSM_MAX_AGENTS];
    size_t ncalls = 0, idx;
    size_t call_of[RSM_MAX_AGENTS];

    assert(s->answer != NULL && s->n == 0); /* after the first answer */
    json_array_foreach(members, idx, m)
    {
        struct status_view *v = &s->views[s->n];
        if (s->n == RSM_MAX_AGENTS)
            break;
        memset(v, 0, sizeof *v);
        v->id = (uint64_t)jfield_int(m, "id");
        snprintf(v->api, sizeof v->api, "%s", jfield_str(m, "api"));
        if (v->id == (uint64_t)jfield_int(s->answer, "id")) {
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
        struct status_view *v = &s->views[call_of[i]];
        v->status = status__reply_json(&calls[i], v->err, sizeof v->err);
        v->reachable =
            calls[i].status == 0 || (calls[i].status == RSM_EREPLY &&
                                     !agentlink_auth_failed(&calls[i]));
        if (v->status == NULL)
            status__note(s, "%s", v->err);
    }
    agentlink_calls_free(calls, ncalls);
    for (size_t i = 0; i < s->n; i++) {
        struct status_view *v = &s->views[i];
        uint64_t got =
            v->status ? (uint64_t)jfield_int(v->status, "id") : v->id;
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
static void status__leader_peers(struct status_snapshot *s)
{
    json_t *peers = json_object_get(s->monitor, "peers"), *p;
    size_t idx;

    json_array_foreach(peers, idx, p)
    {
        if (!json_is_true(json_object_get(p, "misconfigured")))
            continue;
        for (size_t i = 0; i < s->n; i++) {
            struct status_view *v = &s->views[i];
            if (v->id == (uint64_t)jfield_int(p, "id") && !v->misconfigured[0])
                snprintf(v->misconfigured, sizeof v->misconfigured,
                         "leader: %s", jfield_str(p, "problem"));
        }
    }
}

/* The leader's view and its "monitor" object (only the leader probes every
 * instance with INFO). */
static void status__leader_monitor(struct status_snapshot *s)
{
    json_t *leader = json_object_get(s->answer, "leader");
    uint64_t id = (uint64_t)jfield_int(leader, "id");

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

void status_snapshot_take(const struct status_options *opt,
                          struct status_snapshot *s)
{
    memset(s, 0, sizeof *s);
    status__first_answer(opt, s);
    if (s->answer == NULL)
        return;
    status__member_views(opt, s);
    status__leader_monitor(s);
    if (s->monitor != NULL)
        status__leader_peers(s);
}

void status_snapshot_free(struct status_snapshot *s)
{
    for (size_t i = 0; i < s->n; i++)
        json_decref(s->views[i].status);
    json_decref(s->answer);
    memset(s, 0, sizeof *s);
}
