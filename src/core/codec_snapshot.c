/* codec_snapshot.c - struct rsm_fsm <-> protobuf (rsm.Snapshot): the
 * whole replicated state, format 1. Decoding checks everything the entry
 * decoder checks, and what only a snapshot has (see codec.h). */
#include "codec_int.h"
#include "rsm/codec.h"
#include "rsm/err.h"
#include "rsm/fsm.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAPSHOT_FORMAT 1

/* ==== encoding ============================================================ */

/* Everything one group's message tree needs. */
struct group_pb {
    Rsm__Group msg;
    Rsm__Addr master;
    struct addrs_pb members;
    Rsm__InFlight in_flight;
    struct decide_pb decide;
    Rsm__HistoryItem hist[RSM_HISTORY_MAX];
    Rsm__Addr hist_old[RSM_HISTORY_MAX], hist_new[RSM_HISTORY_MAX];
    Rsm__HistoryItem *hist_ptr[RSM_HISTORY_MAX];
    Rsm__GroupSettings settings;
};

static void codec__enc_history(struct group_pb *pb, unsigned i,
                               const struct rsm_history_item *h)
{
    Rsm__HistoryItem *m = &pb->hist[i];

    rsm__history_item__init(m);
    m->epoch = h->epoch;
    m->kind = (Rsm__FailoverKind)h->kind;
    m->result = (Rsm__FailoverResult)h->result;
    m->old_master = codec__enc_addr(&pb->hist_old[i], &h->old_master);
    m->new_master = codec__enc_addr(&pb->hist_new[i], &h->new_master);
    m->decided_at_ms = h->decided_at_ms;
    m->ended_at_ms = h->ended_at_ms;
    m->old_offset = h->old_offset;
    m->new_offset = h->new_offset;
    m->data_at_risk = h->data_at_risk;
    m->reason = codec__str(h->reason);
    pb->hist_ptr[i] = m;
}

static Rsm__Group *codec__enc_group(struct group_pb *pb,
                                    const struct rsm_group *g)
{
    Rsm__Group *m = &pb->msg;

    assert(g->n_history <= RSM_HISTORY_MAX);
    rsm__group__init(m);
    m->name = codec__str(g->name);
    m->master = g->has_master ? codec__enc_addr(&pb->master, &g->master) : NULL;
    m->master_run_id = codec__str(g->master_run_id);
    m->epoch = g->epoch;
    m->paused = g->paused;
    if (g->in_flight) {
        rsm__in_flight__init(&pb->in_flight);
        pb->in_flight.decision = codec__enc_decide(&pb->decide, &g->decision);
        pb->in_flight.decided_at_ms = g->decided_at_ms;
        pb->in_flight.step = codec__enc_step(g->step);
        m->in_flight = &pb->in_flight;
    }
    for (unsigned i = 0; i < g->n_history; i++)
        codec__enc_history(pb, i, &g->history[i]);
    m->n_history = g->n_history;
    m->history = pb->hist_ptr;
    m->n_members = g->n_members;
    m->members = codec__enc_addrs(&pb->members, g->members, g->n_members);
    m->last_failover_end_ms = g->last_failover_end_ms;
    m->n_ended_by_result = RSM_RESULT_COUNT;
    m->ended_by_result = (uint64_t *)g->ended;
    m->settings = codec__enc_settings(&pb->settings, &g->settings);
    m->added = g->added;
    return m;
}

/* The advertised agents of a snapshot. */
struct agents_pb {
    Rsm__AgentInfo msg[RSM_FSM_MAX_AGENTS];
    Rsm__AgentInfo *ptr[RSM_FSM_MAX_AGENTS];
    Rsm__Addr api[RSM_FSM_MAX_AGENTS], http[RSM_FSM_MAX_AGENTS];
};

static Rsm__AgentInfo **codec__enc_agents(struct agents_pb *pb,
                                          const struct rsm_fsm *fsm)
{
    assert(fsm->n_agents <= RSM_FSM_MAX_AGENTS);
    for (unsigned i = 0; i < fsm->n_agents; i++) {
        const struct rsm_agent_info *a = &fsm->agents[i];
        rsm__agent_info__init(&pb->msg[i]);
        pb->msg[i].id = a->id;
        pb->msg[i].api = codec__enc_addr(&pb->api[i], &a->api);
        pb->msg[i].http = codec__enc_addr(&pb->http[i], &a->http);
        pb->ptr[i] = &pb->msg[i];
    }
    return pb->ptr;
}

int rsm_codec_encode_snapshot(const struct rsm_fsm *fsm, void **buf,
                              size_t *len)
{
    Rsm__Snapshot snap = RSM__SNAPSHOT__INIT;
    struct agents_pb apb;
    struct group_pb *pb = NULL;
    Rsm__Group **ptr = NULL;
    char **removed = NULL;
    int rv = RSM_ENOMEM;

    if (fsm->n_groups > 0) {
        pb = calloc(fsm->n_groups, sizeof *pb);
        ptr = calloc(fsm->n_groups, sizeof *ptr);
        if (pb == NULL || ptr == NULL)
            goto out;
    }
    if (fsm->n_removed > 0) {
        removed = calloc(fsm->n_removed, sizeof *removed);
        if (removed == NULL)
            goto out;
    }
    for (size_t i = 0; i < fsm->n_removed; i++)
        removed[i] = codec__str(fsm->removed[i]);
    for (size_t i = 0; i < fsm->n_groups; i++)
        ptr[i] = codec__enc_group(&pb[i], &fsm->groups[i]);
    snap.format = SNAPSHOT_FORMAT;
    snap.n_groups = fsm->n_groups;
    snap.groups = ptr;
    snap.rejected_entries = fsm->rejected;
    snap.applied_entries = fsm->applied;
    snap.cluster_id = codec__str(fsm->cluster_id);
    snap.n_agents = fsm->n_agents;
    snap.agents = codec__enc_agents(&apb, fsm);
    snap.n_removed = fsm->n_removed;
    snap.removed = removed;
    rv = codec__pack(&snap.base, buf, len);
out:
    free(removed);
    free(ptr);
    free(pb);
    return rv;
}

/* ==== decoding ============================================================ */

static int codec__dec_history(struct dec *d, const Rsm__HistoryItem *m,
                              struct rsm_history_item *h, const char *field)
{
    char name[256];
    int kind = 0, result = 0, rv;

    if (m == NULL)
        return codec__bad(d, field, "missing", NULL);
    snprintf(name, sizeof name, "%.200s.old_master", field);
    rv = codec__dec_addr(d, &h->old_master, m->old_master, name);
    snprintf(name, sizeof name, "%.200s.new_master", field);
    if (rv == 0)
        rv = codec__dec_addr(d, &h->new_master, m->new_master, name);
    snprintf(name, sizeof name, "%.200s.reason", field);
    if (rv == 0)
        rv = codec__dec_str(d, h->reason, sizeof h->reason, m->reason, name);
    snprintf(name, sizeof name, "%.200s.kind", field);
    if (rv == 0)
        rv = codec__dec_enum(d, (int)m->kind, RSM_FAILOVER_BOOTSTRAP, name,
                             &kind);
    snprintf(name, sizeof name, "%.200s.result", field);
    if (rv == 0)
        rv = codec__dec_enum(d, (int)m->result, RSM_RESULT_ABORTED, name,
                             &result);
    h->epoch = m->epoch;
    h->kind = (enum rsm_failover_kind)kind;
    h->result = (enum rsm_failover_result)result;
    h->decided_at_ms = m->decided_at_ms;
    h->ended_at_ms = m->ended_at_ms;
    h->old_offset = m->old_offset;
    h->new_offset = m->new_offset;
    h->data_at_risk = m->data_at_risk;
    return rv;
}

/* A history item's addresses and reason pass the same form check as the
 * decision they came from. */
static int codec__check_history(struct dec *d, const struct rsm_history_item *h,
                                const char *group, const char *field)
{
    struct rsm_entry tmp;
    char what[128];

    rsm_entry_init(&tmp, RSM_ENTRY_DECIDE_FAILOVER, group, 0);
    tmp.old_master = h->old_master;
    tmp.master = h->new_master;
    memcpy(tmp.reason, h->reason, sizeof tmp.reason);
    tmp.failover_kind = h->kind;
    snprintf(what, sizeof what, "%s: ", field);
    return codec__check(d, &tmp, what);
}

static int codec__dec_in_flight(struct dec *d, const Rsm__InFlight *m,
                                struct rsm_group *g, const char *field)
{
    enum rsm_failover_step step = RSM_STEP_NONE;
    int rv;

    if (m->decision == NULL)
        return codec__bad(d, field, "in_flight without a decision", NULL);
    rv = codec__dec_decide(d, m->decision, &g->decision);
    if (rv == 0)
        rv = codec__dec_step(d, (int)m->step, "in_flight.step", &step);
    if (rv != 0)
        return rv;
    g->decision.kind = RSM_ENTRY_DECIDE_FAILOVER;
    g->decision.time_ms = m->decided_at_ms;
    g->in_flight = true;
    g->decided_at_ms = m->decided_at_ms;
    g->step = step;
    rv = codec__check(d, &g->decision, "in_flight.decision: ");
    if (rv != 0)
        return rv;
    if (strcmp(g->decision.group, g->name) != 0)
        return codec__bad(d, field, "in-flight decision of another group ",
                          g->decision.group);
    if (g->decision.epoch != g->epoch)
        return codec__bad(d, field,
                          "in-flight decision is not of the group epoch", NULL);
    if (g->decision.master.host[0] == '\0')
        return codec__bad(d, field, "in-flight decision without a new master",
                          NULL);
    if (g->step == RSM_STEP_CAUGHT_UP &&
        g->decision.switchover_method != RSM_SWITCHOVER_PAUSE)
        return codec__bad(d, field, "step caught-up without a pause switchover",
                          NULL);
    return 0;
}

/* The group's name, committed master, run id and members pass the form
 * check of an ObserveMaster entry. */
static int codec__check_group(struct dec *d, const struct rsm_group *g,
                              const char *field)
{
    struct rsm_entry tmp;
    char what[128];

    rsm_entry_init(&tmp, RSM_ENTRY_OBSERVE_MASTER, NULL, 0);
    memcpy(tmp.group, g->name, sizeof tmp.group);
    tmp.master = g->master;
    memcpy(tmp.run_id, g->master_run_id, sizeof tmp.run_id);
    tmp.n_members = g->n_members;
    memcpy(tmp.members, g->members, sizeof tmp.members);
    snprintf(what, sizeof what, "%s: ", field);
    return codec__check(d, &tmp, what);
}

static int codec__dec_group_history(struct dec *d, const Rsm__Group *m,
                                    struct rsm_group *g, const char *field)
{
    char name[256];
    int rv;

    if (m->n_history > RSM_HISTORY_MAX)
        return rsm_errf(RSM_EPARSE, d->errmsg, d->errlen,
                        "%s.history: %zu items, at most %d allowed", field,
                        m->n_history, RSM_HISTORY_MAX);
    for (size_t i = 0; i < m->n_history; i++) {
        snprintf(name, sizeof name, "%.200s.history[%zu]", field, i);
        rv = codec__dec_history(d, m->history[i], &g->history[i], name);
        if (rv == 0)
            rv = codec__check_history(d, &g->history[i], g->name, name);
        if (rv != 0)
            return rv;
    }
    g->n_history = (unsigned)m->n_history;
    return 0;
}

static int codec__dec_group(struct dec *d, const Rsm__Group *m,
                            struct rsm_group *g, const char *field)
{
    char name[256];
    int rv;

    if (m == NULL)
        return codec__bad(d, field, "missing", NULL);
    snprintf(name, sizeof name, "%.200s.name", field);
    rv = codec__dec_str(d, g->name, sizeof g->name, m->name, name);
    snprintf(name, sizeof name, "%.200s.master", field);
    if (rv == 0)
        rv = codec__dec_addr(d, &g->master, m->master, name);
    snprintf(name, sizeof name, "%.200s.master_run_id", field);
    if (rv == 0)
        rv = codec__dec_str(d, g->master_run_id, sizeof g->master_run_id,
                            m->master_run_id, name);
    snprintf(name, sizeof name, "%.200s.members", field);
    if (rv == 0)
        rv = codec__dec_addrs(d, g->members, &g->n_members, m->n_members,
                              m->members, name);
    if (rv == 0)
        rv = codec__check_group(d, g, field);
    if (rv != 0)
        return rv;
    g->has_master = g->master.host[0] != '\0';
    g->epoch = m->epoch;
    g->paused = m->paused != 0;
    g->last_failover_end_ms = m->last_failover_end_ms;
    /* a newer agent may count more results: keep the ones we know */
    for (size_t i = 0; i < m->n_ended_by_result && i < RSM_RESULT_COUNT; i++)
        g->ended[i] = m->ended_by_result[i];
    codec__dec_settings(m->settings, &g->settings);
    snprintf(name, sizeof name, "%.200s.settings: ", field);
    if (rsm_groupconf_check(&g->settings, false, NULL, 0) != 0) {
        char detail[RSM_ERRMSG_SIZE];
        rsm_groupconf_check(&g->settings, false, detail, sizeof detail);
        return rsm_errf(RSM_EPARSE, d->errmsg, d->errlen, "%s%s", name, detail);
    }
    g->added = m->added != 0;
    rsm_entry_init(&g->decision, RSM_ENTRY_NONE, NULL, 0);
    if (m->in_flight != NULL) {
        rv = codec__dec_in_flight(d, m->in_flight, g, field);
        if (rv != 0)
            return rv;
    }
    return codec__dec_group_history(d, m, g, field);
}

/* The cluster id and advertised agents (absent in older snapshots). */
static int codec__dec_agents(struct dec *d, const Rsm__Snapshot *m,
                             struct rsm_fsm *out)
{
    char name[64];
    int rv = codec__dec_str(d, out->cluster_id, sizeof out->cluster_id,
                            m->cluster_id, "cluster_id");

    if (rv == 0 && out->cluster_id[0] != '\0' &&
        !rsm_cluster_id_valid(out->cluster_id))
        return codec__bad(d, "cluster_id", "not 32 lowercase hex digits", NULL);
    if (m->n_agents > RSM_FSM_MAX_AGENTS)
        return rsm_errf(RSM_EPARSE, d->errmsg, d->errlen, "agents: %zu > %d",
                        m->n_agents, RSM_FSM_MAX_AGENTS);
    for (size_t i = 0; i < m->n_agents && rv == 0; i++) {
        struct rsm_agent_info *a = &out->agents[i];
        snprintf(name, sizeof name, "agents[%zu].api", i);
        rv = codec__dec_addr(d, &a->api, m->agents[i]->api, name);
        snprintf(name, sizeof name, "agents[%zu].http", i);
        if (rv == 0)
            rv = codec__dec_addr(d, &a->http, m->agents[i]->http, name);
        a->id = m->agents[i]->id;
        if (rv == 0) { /* the form an AdvertiseAgent of it would have */
            struct rsm_entry e;
            snprintf(name, sizeof name, "agents[%zu]: ", i);
            rsm_entry_init(&e, RSM_ENTRY_ADVERTISE_AGENT, NULL, 0);
            e.agent_id = a->id ? a->id : 1; /* id 0 is reported below */
            e.api = a->api;
            e.http = a->http;
            memcpy(e.cluster_id, out->cluster_id, sizeof e.cluster_id);
            rv = codec__check(d, &e, name);
        }
        if (rv == 0 && (a->id == 0 || (i > 0 && a[-1].id >= a->id)))
            rv = rsm_errf(RSM_EPARSE, d->errmsg, d->errlen,
                          "agents[%zu].id: %llu is 0 or not sorted", i,
                          (unsigned long long)a->id);
        out->n_agents = (unsigned)i + 1;
    }
    return rv;
}

/* The --monitor groups removed by SENTINEL REMOVE (absent in older
 * snapshots): valid group names, strictly sorted, none a group. */
static int codec__dec_removed(struct dec *d, const Rsm__Snapshot *m,
                              struct rsm_fsm *out)
{
    char name[64];
    int rv;

    if (m->n_removed > RSM_FSM_MAX_REMOVED)
        return rsm_errf(RSM_EPARSE, d->errmsg, d->errlen,
                        "removed: %zu names, at most %d allowed", m->n_removed,
                        RSM_FSM_MAX_REMOVED);
    if (m->n_removed > 0) {
        out->removed = calloc(m->n_removed, sizeof *out->removed);
        if (out->removed == NULL)
            return RSM_ENOMEM;
    }
    for (size_t i = 0; i < m->n_removed; i++) {
        struct rsm_entry e; /* the form a RemoveGroup of it would have */
        snprintf(name, sizeof name, "removed[%zu]", i);
        rv = codec__dec_str(d, out->removed[i], RSM_GROUP_NAME_MAX,
                            m->removed[i], name);
        if (rv != 0)
            return rv;
        rsm_entry_init(&e, RSM_ENTRY_REMOVE_GROUP, out->removed[i], 0);
        snprintf(name, sizeof name, "removed[%zu]: ", i);
        rv = codec__check(d, &e, name);
        if (rv != 0)
            return rv;
        if (i > 0 && strcmp(out->removed[i - 1], out->removed[i]) >= 0)
            return rsm_errf(RSM_EPARSE, d->errmsg, d->errlen,
                            "removed[%zu]: '%s' not sorted after '%s'", i,
                            out->removed[i], out->removed[i - 1]);
        if (rsm_fsm_group(out, out->removed[i]) != NULL)
            return rsm_errf(RSM_EPARSE, d->errmsg, d->errlen,
                            "removed[%zu]: '%s' is a group", i,
                            out->removed[i]);
        out->n_removed = i + 1;
    }
    return 0;
}

static int codec__dec_snapshot(struct dec *d, const Rsm__Snapshot *m,
                               struct rsm_fsm *out)
{
    char name[256];
    int rv;

    if (m->format != SNAPSHOT_FORMAT)
        return rsm_errf(RSM_EPARSE, d->errmsg, d->errlen,
                        "unsupported snapshot format %u", (unsigned)m->format);
    if (m->n_groups > 0) {
        out->groups = calloc(m->n_groups, sizeof *out->groups);
        if (out->groups == NULL)
            return RSM_ENOMEM;
    }
    for (size_t i = 0; i < m->n_groups; i++) {
        snprintf(name, sizeof name, "groups[%zu]", i);
        rv = codec__dec_group(d, m->groups[i], &out->groups[i], name);
        if (rv != 0)
            return rv;
        if (i > 0 && strcmp(out->groups[i - 1].name, out->groups[i].name) >= 0)
            return rsm_errf(RSM_EPARSE, d->errmsg, d->errlen,
                            "%s.name: '%s' not sorted after '%s'", name,
                            out->groups[i].name, out->groups[i - 1].name);
        out->n_groups = i + 1;
    }
    out->rejected = m->rejected_entries;
    out->applied = m->applied_entries;
    rv = codec__dec_removed(d, m, out);
    if (rv != 0)
        return rv;
    return codec__dec_agents(d, m, out);
}

int rsm_codec_decode_snapshot(const void *buf, size_t len, struct rsm_fsm *out,
                              char *errmsg, size_t errlen)
{
    struct dec d = {errmsg, errlen};
    Rsm__Snapshot *m;
    int rv;

    m = rsm__snapshot__unpack(NULL, len, buf);
    if (m == NULL)
        return rsm_errf(RSM_EPARSE, errmsg, errlen,
                        "not a valid protobuf Snapshot (%zu bytes)", len);
    rv = codec__dec_snapshot(&d, m, out);
    rsm__snapshot__free_unpacked(m, NULL);
    if (rv != 0) {
        rsm_fsm_close(out);
        rsm_fsm_init(out);
    }
    return rv;
}
