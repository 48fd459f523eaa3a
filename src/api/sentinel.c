/* sentinel.c - Sentinel compatibility: a group as redis-sentinel shows it,
 * its replies and events (see sentinel.h). */
#include "sentinel.h"

#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* =====================================================================
 * The master clients are given, ids
 * ===================================================================== */

bool rsm_sentinel_master_addr(const struct rsm_group *g, struct rsm_addr *out)
{
    if (g->in_flight && g->step >= RSM_STEP_PROMOTED &&
        rsm_addr_is_set(&g->decision.master)) {
        *out = g->decision.master;
        return true;
    }
    if (!g->has_master)
        return false;
    *out = g->master;
    return true;
}

/* splitmix64: a fixed, well-mixed function of its input. */
static uint64_t sentinel__mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void rsm_sentinel_run_id(uint64_t agent_id, char *out)
{
    uint64_t h1 = sentinel__mix(agent_id ^ 0x72736d2d6167656eULL),
             h2 = sentinel__mix(h1), h3 = sentinel__mix(h2);
    char buf[3 * 16 + 1];

    snprintf(buf, sizeof buf, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, h1, h2,
             h3);
    memcpy(out, buf, RSM_SENTINEL_RUNID_LEN);
    out[RSM_SENTINEL_RUNID_LEN] = '\0';
}

/* =====================================================================
 * Views
 * ===================================================================== */

static void sentinel__view_add(struct rsm_sentinel_view *v,
                               const struct rsm_addr *a)
{
    if (!rsm_addr_is_set(a) || v->n == sizeof v->inst / sizeof v->inst[0])
        return;
    for (size_t i = 0; i < v->n; i++) {
        if (rsm_addr_equal(&v->inst[i].addr, a))
            return;
    }
    memset(&v->inst[v->n], 0, sizeof v->inst[v->n]);
    v->inst[v->n].addr = *a;
    v->inst[v->n].info_age_ms = -1;
    v->inst[v->n].role_age_ms = -1;
    v->n++;
}

void rsm_sentinel_view_init(struct rsm_sentinel_view *v,
                            const struct rsm_group *g, unsigned n_agents,
                            const struct rsm_sentinel_knobs *knobs)
{
    memset(v, 0, sizeof *v);
    v->g = g;
    v->n_agents = n_agents;
    v->knobs = *knobs;
    v->has_master = rsm_sentinel_master_addr(g, &v->master);
    if (v->has_master)
        sentinel__view_add(v, &v->master);
    for (unsigned i = 0; i < g->n_members && i < RSM_MAX_MEMBERS; i++)
        sentinel__view_add(v, &g->members[i]);
    if (g->has_master)
        sentinel__view_add(v, &g->master);
    if (g->in_flight) {
        sentinel__view_add(v, &g->decision.master);
        sentinel__view_add(v, &g->decision.old_master);
    }
}

struct rsm_sentinel_instance *
rsm_sentinel_view_find(struct rsm_sentinel_view *v, const struct rsm_addr *a)
{
    for (size_t i = 0; i < v->n; i++) {
        if (rsm_addr_equal(&v->inst[i].addr, a))
            return &v->inst[i];
    }
    return NULL;
}

static bool sentinel__is_master(const struct rsm_sentinel_view *v, size_t i)
{
    return v->has_master && i == 0;
}

/* =====================================================================
 * The leader's view relayed (leaderview.h)
 * ===================================================================== */

void rsm_sentinel_view_export(const struct rsm_sentinel_view *v,
                              struct rsm_leaderview_group *out)
{
    memset(out, 0, offsetof(struct rsm_leaderview_group, inst));
    snprintf(out->name, sizeof out->name, "%s", v->g->name);
    if (v->has_master)
        out->master = v->master;
    out->o_down = v->o_down;
    out->o_down_ms = v->o_down ? v->o_down_ms : 0;
    out->votes = v->o_down_votes;
    out->quorum = v->o_down_quorum;
    for (size_t i = 0; i < v->n && out->n < RSM_LEADERVIEW_MAX_INSTANCES; i++) {
        const struct rsm_sentinel_instance *in = &v->inst[i];
        struct rsm_leaderview_instance *o = &out->inst[out->n];
        if (!in->watched)
            continue;
        memset(o, 0, sizeof *o);
        o->addr = in->addr;
        o->s_down = in->s_down;
        o->disconnected = in->disconnected;
        o->down_ms = in->down_ms > 0 ? in->down_ms : 0;
        o->no_reply_ms = in->no_reply_ms > 0 ? in->no_reply_ms : 0;
        o->has_info = in->has_info;
        o->info = in->info;
        o->info_age_ms = in->has_info ? in->info_age_ms : -1;
        o->role_age_ms = in->has_info ? in->role_age_ms : -1;
        out->n++;
    }
}

static int64_t sentinel__aged(int64_t t, int64_t age_ms)
{
    return t >= 0 ? t + age_ms : t;
}

void rsm_sentinel_view_relay(struct rsm_sentinel_view *v,
                             const struct rsm_leaderview_group *lv,
                             int64_t age_ms)
{
    if (age_ms < 0)
        age_ms = 0;
    for (unsigned i = 0; i < lv->n && i < RSM_LEADERVIEW_MAX_INSTANCES; i++) {
        const struct rsm_leaderview_instance *o = &lv->inst[i];
        struct rsm_sentinel_instance *in = rsm_sentinel_view_find(v, &o->addr);
        bool down = o->s_down || o->disconnected;
        if (in == NULL)
            continue; /* not (or no longer) in this agent's committed state */
        in->watched = true;
        in->s_down = o->s_down;
        in->disconnected = o->disconnected;
        in->down_ms = down ? sentinel__aged(o->down_ms, age_ms) : o->down_ms;
        in->no_reply_ms =
            down ? sentinel__aged(o->no_reply_ms, age_ms) : o->no_reply_ms;
        in->has_info = o->has_info;
        in->info = o->info;
        in->info_age_ms =
            o->has_info ? sentinel__aged(o->info_age_ms, age_ms) : -1;
        in->role_age_ms =
            o->has_info ? sentinel__aged(o->role_age_ms, age_ms) : -1;
    }
    if (v->has_master && rsm_addr_equal(&lv->master, &v->master)) {
        v->o_down = lv->o_down;
        v->o_down_ms = lv->o_down ? sentinel__aged(lv->o_down_ms, age_ms) : 0;
        v->o_down_votes = lv->votes;
        v->o_down_quorum = lv->quorum;
    }
    v->relayed = true;
}

/* The chosen replica of the failover in flight, before its promotion is
 * committed (after it, it is the master given to clients). */
static bool sentinel__is_promoting(const struct rsm_sentinel_view *v,
                                   const struct rsm_sentinel_instance *in)
{
    const struct rsm_group *g = v->g;

    return g->in_flight && g->step < RSM_STEP_PROMOTED &&
           rsm_addr_equal(&g->decision.master, &in->addr);
}

const char *rsm_sentinel_flags(const struct rsm_sentinel_view *v, size_t i,
                               char *buf, size_t len)
{
    const struct rsm_sentinel_instance *in = &v->inst[i];
    bool master = sentinel__is_master(v, i);

    snprintf(buf, len, "%s%s%s%s%s%s", master ? "master" : "slave",
             in->watched && in->s_down ? ",s_down" : "",
             master && v->o_down ? ",o_down" : "",
             in->watched && in->disconnected ? ",disconnected" : "",
             master && v->g->in_flight ? ",failover_in_progress" : "",
             !master && sentinel__is_promoting(v, in) ? ",promoted" : "");
    return buf;
}

const char *rsm_sentinel_status(const struct rsm_sentinel_view *v)
{
    if (!v->has_master)
        return "ok";
    if (v->o_down)
        return "odown";
    if (v->inst[0].watched && v->inst[0].s_down)
        return "sdown";
    return "ok";
}

size_t rsm_sentinel_n_replicas(const struct rsm_sentinel_view *v)
{
    return v->has_master ? v->n - 1 : v->n;
}

/* =====================================================================
 * Replies
 * ===================================================================== */

static const char *sentinel__role_of(const struct rsm_sentinel_instance *in,
                                     bool master)
{
    if (in->has_info && in->info.role == RSM_ROLE_MASTER)
        return "master";
    if (in->has_info && in->info.role == RSM_ROLE_REPLICA)
        return "slave";
    return master ? "master" : "slave";
}

/* The run id: what the instance said, else the committed one of the
 * committed master, else "" (not known yet, as Sentinel shows it). */
static const char *sentinel__run_id_of(const struct rsm_sentinel_view *v,
                                       const struct rsm_sentinel_instance *in)
{
    if (in->has_info && in->info.run_id[0] != '\0')
        return in->info.run_id;
    if (v->g->has_master && rsm_addr_equal(&in->addr, &v->g->master))
        return v->g->master_run_id;
    return "";
}

/* Fields common to masters and replicas, after "flags". Counts 2 per
 * pair; returns the number of elements added. */
static long sentinel__ping_fields(struct rsm_resp_reply *r,
                                  const struct rsm_sentinel_view *v,
                                  const struct rsm_sentinel_instance *in)
{
    int64_t ok = in->watched ? in->no_reply_ms : 0;

    rsm_resp_add_kv(r, "link-pending-commands", "0");
    rsm_resp_add_kv(r, "link-refcount", "1");
    rsm_resp_add_kv_int(r, "last-ping-sent",
                        in->watched && in->disconnected ? in->no_reply_ms : 0);
    rsm_resp_add_kv_int(r, "last-ok-ping-reply", ok);
    rsm_resp_add_kv_int(r, "last-ping-reply", ok);
    if (in->watched && in->s_down) {
        rsm_resp_add_kv_int(r, "s-down-time", in->down_ms);
        return 12;
    }
    return 10;
}

static const char *sentinel__failover_state(const struct rsm_group *g)
{
    switch (g->step) {
    case RSM_STEP_NONE:
        return "send_slaveof_noone";
    case RSM_STEP_CAUGHT_UP:
        return "wait_promotion";
    case RSM_STEP_PROMOTED:
        return "reconf_slaves";
    default:
        return "update_config";
    }
}

/* Elements of the master's array: a fixed part plus the optional pairs. */
static long sentinel__master_len(const struct rsm_sentinel_view *v)
{
    const struct rsm_sentinel_instance *in = &v->inst[0];
    long n = 2 * 20;

    if (in->watched && in->s_down)
        n += 2;
    if (v->o_down)
        n += 2;
    if (v->g->in_flight)
        n += 2;
    return n;
}

void rsm_sentinel_reply_master(struct rsm_resp_reply *r,
                               const struct rsm_sentinel_view *v)
{
    const struct rsm_sentinel_instance *in = &v->inst[0];
    char flags[128];

    rsm_resp_add_array(r, sentinel__master_len(v));
    rsm_resp_add_kv(r, "name", v->g->name);
    rsm_resp_add_kv(r, "ip", v->master.host);
    rsm_resp_add_kv_int(r, "port", v->master.port);
    rsm_resp_add_kv(r, "runid", sentinel__run_id_of(v, in));
    rsm_resp_add_kv(r, "flags", rsm_sentinel_flags(v, 0, flags, sizeof flags));
    sentinel__ping_fields(r, v, in);
    if (v->o_down)
        rsm_resp_add_kv_int(r, "o-down-time", v->o_down_ms);
    rsm_resp_add_kv_int(r, "down-after-milliseconds", v->knobs.down_after_ms);
    rsm_resp_add_kv_int(r, "info-refresh",
                        in->info_age_ms >= 0 ? in->info_age_ms : 0);
    rsm_resp_add_kv(r, "role-reported", sentinel__role_of(in, true));
    rsm_resp_add_kv_int(r, "role-reported-time",
                        in->role_age_ms >= 0 ? in->role_age_ms : 0);
    rsm_resp_add_kv_int(r, "config-epoch", (int64_t)v->g->epoch);
    rsm_resp_add_kv_int(r, "num-slaves", (int64_t)rsm_sentinel_n_replicas(v));
    rsm_resp_add_kv_int(r, "num-other-sentinels",
                        v->n_agents > 0 ? v->n_agents - 1 : 0);
    rsm_resp_add_kv_int(r, "quorum", v->knobs.quorum);
    rsm_resp_add_kv_int(r, "failover-timeout", v->knobs.failover_timeout_ms);
    rsm_resp_add_kv_int(r, "parallel-syncs", v->knobs.parallel_syncs);
    if (v->g->in_flight)
        rsm_resp_add_kv(r, "failover-state", sentinel__failover_state(v->g));
}

/* A replica's link to its master, from its own INFO: "ok"/"err" and the
 * time down; "unknown" when this agent has no INFO of it. */
static void sentinel__link_fields(struct rsm_resp_reply *r,
                                  const struct rsm_sentinel_view *v,
                                  const struct rsm_sentinel_instance *in)
{
    const struct rsm_info_summary *i = in->has_info ? &in->info : NULL;
    bool replica = i != NULL && i->role == RSM_ROLE_REPLICA;
    const struct rsm_addr *m = replica ? &i->master : &v->master;

    if (replica) {
        rsm_resp_add_kv_int(r, "master-link-down-time",
                            i->link_up || i->link_down_since_s < 0
                                ? 0
                                : i->link_down_since_s * 1000);
        rsm_resp_add_kv(r, "master-link-status", i->link_up ? "ok" : "err");
    } else {
        rsm_resp_add_kv(r, "master-link-down-time", "0");
        rsm_resp_add_kv(r, "master-link-status", i != NULL ? "err" : "unknown");
    }
    rsm_resp_add_kv(r, "master-host", v->has_master || replica ? m->host : "?");
    rsm_resp_add_kv_int(r, "master-port",
                        v->has_master || replica ? m->port : 0);
    rsm_resp_add_kv_int(r, "slave-priority", i != NULL ? i->priority : -1);
    rsm_resp_add_kv_int(r, "slave-repl-offset",
                        i != NULL && i->offset >= 0 ? i->offset : 0);
}

static void sentinel__reply_replica(struct rsm_resp_reply *r,
                                    const struct rsm_sentinel_view *v,
                                    size_t idx)
{
    const struct rsm_sentinel_instance *in = &v->inst[idx];
    char flags[128], name[RSM_ADDR_STRLEN];

    rsm_resp_add_array(r, in->watched && in->s_down ? 2 * 22 : 2 * 21);
    rsm_resp_add_kv(r, "name", rsm_addr_format(&in->addr, name, sizeof name));
    rsm_resp_add_kv(r, "ip", in->addr.host);
    rsm_resp_add_kv_int(r, "port", in->addr.port);
    rsm_resp_add_kv(r, "runid", sentinel__run_id_of(v, in));
    rsm_resp_add_kv(r, "flags",
                    rsm_sentinel_flags(v, idx, flags, sizeof flags));
    sentinel__ping_fields(r, v, in);
    rsm_resp_add_kv_int(r, "down-after-milliseconds", v->knobs.down_after_ms);
    rsm_resp_add_kv_int(r, "info-refresh",
                        in->info_age_ms >= 0 ? in->info_age_ms : 0);
    rsm_resp_add_kv(r, "role-reported", sentinel__role_of(in, false));
    rsm_resp_add_kv_int(r, "role-reported-time",
                        in->role_age_ms >= 0 ? in->role_age_ms : 0);
    sentinel__link_fields(r, v, in);
    rsm_resp_add_kv(r, "replica-announced", "1");
}

/* Sentinel leaves a replica out of its lists when the replica asks it to
 * (replica-announced no). */
static bool sentinel__announced(const struct rsm_sentinel_instance *in)
{
    return !(in->has_info && in->info.unannounced);
}

void rsm_sentinel_reply_replicas(struct rsm_resp_reply *r,
                                 const struct rsm_sentinel_view *v)
{
    size_t first = v->has_master ? 1 : 0;
    long n = 0;

    for (size_t i = first; i < v->n; i++)
        n += sentinel__announced(&v->inst[i]);
    rsm_resp_add_array(r, n);
    for (size_t i = first; i < v->n; i++) {
        if (sentinel__announced(&v->inst[i]))
            sentinel__reply_replica(r, v, i);
    }
}

void rsm_sentinel_reply_sentinels(struct rsm_resp_reply *r,
                                  const struct rsm_node_status *st,
                                  int64_t down_after_ms)
{
    char runid[RSM_SENTINEL_RUNID_LEN + 1], leader[RSM_SENTINEL_RUNID_LEN + 1];
    long n = 0;

    for (unsigned i = 0; i < st->n_members && i < RSM_MAX_AGENTS; i++)
        n += st->members[i].id != st->id;
    if (st->has_leader)
        rsm_sentinel_run_id(st->leader.id, leader);
    else
        snprintf(leader, sizeof leader, "?");
    rsm_resp_add_array(r, n);
    for (unsigned i = 0; i < st->n_members && i < RSM_MAX_AGENTS; i++) {
        const struct rsm_member *m = &st->members[i];
        if (m->id == st->id)
            continue;
        rsm_sentinel_run_id(m->id, runid);
        rsm_resp_add_array(r, 2 * 15);
        rsm_resp_add_kv(r, "name", runid);
        rsm_resp_add_kv(r, "ip", m->api.host);
        rsm_resp_add_kv_int(r, "port", m->api.port);
        rsm_resp_add_kv(r, "runid", runid);
        rsm_resp_add_kv(r, "flags", "sentinel");
        rsm_resp_add_kv(r, "link-pending-commands", "0");
        rsm_resp_add_kv(r, "link-refcount", "1");
        rsm_resp_add_kv(r, "last-ping-sent", "0");
        rsm_resp_add_kv(r, "last-ok-ping-reply", "0");
        rsm_resp_add_kv(r, "last-ping-reply", "0");
        rsm_resp_add_kv_int(r, "down-after-milliseconds", down_after_ms);
        rsm_resp_add_kv(r, "last-hello-message", "0");
        rsm_resp_add_kv(r, "voted-leader", leader);
        rsm_resp_add_kv_int(r, "voted-leader-epoch", (int64_t)st->term);
        rsm_resp_add_kv(r, "raft-voter", m->voter ? "1" : "0");
    }
}

/* =====================================================================
 * Events
 * ===================================================================== */

void rsm_sentinel_payload_master(char *buf, size_t len, const char *group,
                                 const struct rsm_addr *a)
{
    bool set = rsm_addr_is_set(a);

    snprintf(buf, len, "master %s %s %u", group, set ? a->host : "?",
             set ? a->port : 0u);
}

void rsm_sentinel_payload_slave(char *buf, size_t len, const char *group,
                                const struct rsm_addr *a,
                                const struct rsm_addr *master)
{
    char name[RSM_ADDR_STRLEN];
    bool m = master != NULL && rsm_addr_is_set(master);

    snprintf(buf, len, "slave %s %s %u @ %s %s %u",
             rsm_addr_format(a, name, sizeof name), a->host, a->port, group,
             m ? master->host : "?", m ? master->port : 0u);
}

void rsm_sentinel_payload_switch(char *buf, size_t len, const char *group,
                                 const struct rsm_addr *old_master,
                                 const struct rsm_addr *new_master)
{
    bool set = rsm_addr_is_set(old_master);

    snprintf(buf, len, "%s %s %u %s %u", group, set ? old_master->host : "?",
             set ? old_master->port : 0u, new_master->host, new_master->port);
}

struct events {
    struct rsm_sentinel_event *out;
    size_t n, max;
};

static char *sentinel__ev_add(struct events *ev, const char *name)
{
    assert(ev->n <= ev->max);
    if (ev->n == ev->max)
        return NULL;
    ev->out[ev->n].name = name;
    ev->out[ev->n].payload[0] = '\0';
    return ev->out[ev->n++].payload;
}

static void sentinel__ev_master(struct events *ev, const char *name,
                                const char *group, const struct rsm_addr *a)
{
    char *p = sentinel__ev_add(ev, name);

    if (p != NULL)
        rsm_sentinel_payload_master(p, RSM_SENTINEL_PAYLOAD_MAX, group, a);
}

static void sentinel__ev_slave(struct events *ev, const char *name,
                               const char *group, const struct rsm_addr *a,
                               const struct rsm_addr *master)
{
    char *p = sentinel__ev_add(ev, name);

    if (p != NULL)
        rsm_sentinel_payload_slave(p, RSM_SENTINEL_PAYLOAD_MAX, group, a,
                                   master);
}

static void sentinel__decide_events(struct events *ev,
                                    const struct rsm_entry *e)
{
    char *p = sentinel__ev_add(ev, "+new-epoch");

    if (p != NULL)
        snprintf(p, RSM_SENTINEL_PAYLOAD_MAX, "%" PRIu64, e->epoch);
    sentinel__ev_master(ev, "+try-failover", e->group, &e->old_master);
    sentinel__ev_master(ev, "+failover-state-select-slave", e->group,
                        &e->old_master);
    sentinel__ev_slave(ev, "+selected-slave", e->group, &e->master,
                       &e->old_master);
    sentinel__ev_slave(ev, "+failover-state-send-slaveof-noone", e->group,
                       &e->master, &e->old_master);
}

/* The last history item of g for epoch, NULL if none. */
static const struct rsm_history_item *
sentinel__history_of(const struct rsm_group *g, uint64_t epoch)
{
    if (g == NULL || g->n_history == 0)
        return NULL;
    const struct rsm_history_item *h =
        &g->history[(g->n_history - 1) % RSM_HISTORY_MAX];
    return h->epoch == epoch ? h : NULL;
}

static void sentinel__complete_events(struct events *ev,
                                      const struct rsm_entry *e,
                                      const struct rsm_group *g)
{
    const struct rsm_history_item *h = sentinel__history_of(g, e->epoch);

    if (h == NULL)
        return;
    sentinel__ev_master(ev, "+failover-end", e->group, &h->old_master);
    for (unsigned i = 0; i < g->n_members && i < RSM_MAX_MEMBERS; i++) {
        if (!rsm_addr_equal(&g->members[i], &h->new_master))
            sentinel__ev_slave(ev, "+slave", e->group, &g->members[i],
                               &h->new_master);
    }
}

/* SENTINEL SET: Sentinel publishes "+set <master> <option> <value>" for
 * each pair it applies; the entry holds the settings it changes, one
 * event each, in a fixed order. */
static void sentinel__set_events(struct events *ev, const struct rsm_entry *e,
                                 const struct rsm_group *g)
{
    const struct rsm_group_settings *s = &e->settings;
    const struct {
        const char *option;
        long long value;
    } pairs[] = {
        {"down-after-milliseconds", (long long)s->down_after_ms},
        {"quorum", (long long)s->quorum},
        {"failover-timeout", (long long)s->failover_timeout_ms},
        {"parallel-syncs", (long long)s->parallel_syncs},
    };
    char m[RSM_SENTINEL_PAYLOAD_MAX];

    if (g == NULL)
        return;
    rsm_sentinel_payload_master(m, sizeof m, e->group, &g->master);
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        char *p = pairs[i].value != 0 ? sentinel__ev_add(ev, "+set") : NULL;

        if (p != NULL)
            snprintf(p, RSM_SENTINEL_PAYLOAD_MAX, "%.*s %s %lld",
                     (int)(RSM_SENTINEL_PAYLOAD_MAX - 48), m, pairs[i].option,
                     pairs[i].value);
    }
}

/* SENTINEL MONITOR: "+monitor master <name> <ip> <port> quorum <q>". */
static void sentinel__monitor_event(struct events *ev,
                                    const struct rsm_entry *e)
{
    char m[RSM_SENTINEL_PAYLOAD_MAX];
    char *p = sentinel__ev_add(ev, "+monitor");

    if (p == NULL)
        return;
    rsm_sentinel_payload_master(m, sizeof m, e->group, &e->master);
    snprintf(p, RSM_SENTINEL_PAYLOAD_MAX, "%.*s quorum %u",
             (int)(RSM_SENTINEL_PAYLOAD_MAX - 16), m, e->settings.quorum);
}

/* The Sentinel event of an abort, from its code (the planner sets it;
 * the reason text is for humans only). Aborts written by agents older
 * than the code carry none (UNSPECIFIED): they get the generic event, as
 * a reason naming none of these causes did when the event was inferred
 * from the text. */
static const char *sentinel__abort_name(enum rsm_abort_code code)
{
    switch (code) {
    case RSM_ABORT_TIMEOUT:
        return "-failover-abort-timeout";
    case RSM_ABORT_UNREACHABLE:
        return "-failover-abort-slave-unreachable";
    case RSM_ABORT_REPLACED_BY_SYNC:
        return "-failover-abort-slave-resynced";
    case RSM_ABORT_RESTARTED:
        return "-failover-abort-slave-restarted";
    case RSM_ABORT_UNSPECIFIED:
    case RSM_ABORT_OTHER:
        break;
    }
    return "-failover-abort";
}

size_t rsm_sentinel_entry_events(const struct rsm_entry *e,
                                 const struct rsm_group *g,
                                 struct rsm_sentinel_event *out, size_t max)
{
    struct events ev = {out, 0, max};
    const struct rsm_history_item *h;

    switch (e->kind) {
    case RSM_ENTRY_DECIDE_FAILOVER:
        sentinel__decide_events(&ev, e);
        break;
    case RSM_ENTRY_FAILOVER_PROGRESS:
        if (g == NULL || !g->in_flight)
            break;
        if (e->step == RSM_STEP_PROMOTED) {
            sentinel__ev_slave(&ev, "+promoted-slave", e->group,
                               &g->decision.master, &g->decision.old_master);
            sentinel__ev_master(&ev, "+failover-state-reconf-slaves", e->group,
                                &g->decision.old_master);
        } else if (e->step == RSM_STEP_REPLICAS_POINTED) {
            sentinel__ev_master(&ev, "+failover-state-demote-old-master",
                                e->group, &g->decision.old_master);
        }
        break;
    case RSM_ENTRY_COMPLETE_FAILOVER:
        sentinel__complete_events(&ev, e, g);
        break;
    case RSM_ENTRY_ABORT_FAILOVER:
        h = sentinel__history_of(g, e->epoch);
        if (h != NULL)
            sentinel__ev_master(&ev, sentinel__abort_name(e->abort_code),
                                e->group, &h->old_master);
        break;
    case RSM_ENTRY_SET_PAUSED:
        if (g != NULL && g->has_master)
            sentinel__ev_master(&ev, e->paused ? "+rsm-paused" : "-rsm-paused",
                                e->group, &g->master);
        break;
    case RSM_ENTRY_SET_GROUP_CONFIG:
        sentinel__set_events(&ev, e, g);
        break;
    case RSM_ENTRY_MONITOR_GROUP:
        sentinel__monitor_event(&ev, e);
        break;
    default: /* REMOVE_GROUP: the caller has the master (see sentinel.h) */
        break;
    }
    return ev.n;
}
