/* codec.c - struct rsm_entry / struct rsm_fsm <-> protobuf (rsm.proto).
 *
 * Encoding points protobuf-c message structs at our fixed buffers (no
 * copies; the structs live on the stack or in one scratch allocation) and
 * packs them. Decoding unpacks with protobuf-c, then copies every field
 * into our fixed buffers, refusing whatever would not fit or is out of
 * range: the bytes come from the network and from disk. */
#include "rsm/codec.h"
#include "rsm/err.h"
#include "rsm/fsm.h"

#include "rsm.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAPSHOT_FORMAT 1

/* ==== encoding ============================================================ */

/* Protobuf-c wants char * for strings it only reads. */
static char *codec__str(const char *s)
{
    return (char *)s;
}

/* An empty address is left out of the message (NULL). */
static Rsm__Addr *codec__enc_addr(Rsm__Addr *msg, const struct rsm_addr *a)
{
    if (a->host[0] == '\0' && a->port == 0)
        return NULL;
    rsm__addr__init(msg);
    msg->host = codec__str(a->host);
    msg->port = a->port;
    return msg;
}

struct addrs_pb {
    Rsm__Addr msg[RSM_MAX_MEMBERS];
    Rsm__Addr *ptr[RSM_MAX_MEMBERS];
};

static Rsm__Addr **codec__enc_addrs(struct addrs_pb *pb,
                                    const struct rsm_addr *a, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        rsm__addr__init(&pb->msg[i]);
        pb->msg[i].host = codec__str(a[i].host);
        pb->msg[i].port = a[i].port;
        pb->ptr[i] = &pb->msg[i];
    }
    return pb->ptr;
}

struct decide_pb {
    Rsm__DecideFailover msg;
    Rsm__Addr old_master, new_master;
    Rsm__Ranked ranked[RSM_MAX_RANKED];
    Rsm__Addr ranked_addr[RSM_MAX_RANKED];
    Rsm__Ranked *ranked_ptr[RSM_MAX_RANKED];
};

/* Steps: the C enum is in the order of the steps, the proto keeps its
 * numbers (STEP_CAUGHT_UP came later as 4). */
static Rsm__FailoverStep codec__enc_step(enum rsm_failover_step s)
{
    switch (s) {
    case RSM_STEP_CAUGHT_UP:
        return RSM__FAILOVER_STEP__STEP_CAUGHT_UP;
    case RSM_STEP_PROMOTED:
        return RSM__FAILOVER_STEP__STEP_PROMOTED;
    case RSM_STEP_REPLICAS_POINTED:
        return RSM__FAILOVER_STEP__STEP_REPLICAS_POINTED;
    case RSM_STEP_OLD_MASTER_DEMOTED:
        return RSM__FAILOVER_STEP__STEP_OLD_MASTER_DEMOTED;
    case RSM_STEP_NONE:
        break;
    }
    return RSM__FAILOVER_STEP__STEP_NONE;
}

static Rsm__DecideFailover *codec__enc_decide(struct decide_pb *pb,
                                              const struct rsm_entry *e)
{
    Rsm__DecideFailover *m = &pb->msg;

    rsm__decide_failover__init(m);
    m->group = codec__str(e->group);
    m->epoch = e->epoch;
    m->old_master = codec__enc_addr(&pb->old_master, &e->old_master);
    m->new_master = codec__enc_addr(&pb->new_master, &e->master);
    for (unsigned i = 0; i < e->n_ranked; i++) {
        const struct rsm_ranked *r = &e->ranking[i];
        Rsm__Ranked *rm = &pb->ranked[i];

        rsm__ranked__init(rm);
        rm->addr = codec__enc_addr(&pb->ranked_addr[i], &r->addr);
        rm->rank = r->rank;
        rm->reason = codec__str(r->reason);
        rm->offset = r->offset;
        rm->priority = r->priority;
        pb->ranked_ptr[i] = rm;
    }
    m->n_ranking = e->n_ranked;
    m->ranking = pb->ranked_ptr;
    m->reason = codec__str(e->reason);
    m->kind = (Rsm__FailoverKind)e->failover_kind;
    m->old_offset = e->old_offset;
    m->new_offset = e->new_offset;
    m->decided_by = e->decided_by;
    m->timeout_ms = e->timeout_ms;
    m->method = (Rsm__SwitchoverMethod)e->switchover_method;
    return m;
}

/* A group's settings, NULL when none is set (older agents and snapshots
 * have none either). */
static Rsm__GroupSettings *
codec__enc_settings(Rsm__GroupSettings *m, const struct rsm_group_settings *s)
{
    struct rsm_group_settings none = {0};

    if (rsm_groupconf_equal(s, &none))
        return NULL;
    rsm__group_settings__init(m);
    m->down_after_ms = s->down_after_ms;
    m->quorum = s->quorum;
    m->failover_timeout_ms = s->failover_timeout_ms;
    m->parallel_syncs = s->parallel_syncs;
    return m;
}

/* Everything one entry's message tree needs, in one block. */
struct entry_pb {
    Rsm__Entry entry;
    Rsm__ObserveMaster observe;
    Rsm__FailoverProgress progress;
    Rsm__CompleteFailover complete;
    Rsm__AbortFailover abort;
    Rsm__SetPaused paused;
    Rsm__AdvertiseAgent advertise;
    Rsm__SetGroupConfig set_config;
    Rsm__GroupSettings settings;
    Rsm__Addr master;
    Rsm__Addr http;
    struct addrs_pb addrs;
    struct decide_pb decide;
};

static void codec__enc_entry(struct entry_pb *pb, const struct rsm_entry *e)
{
    Rsm__Entry *m = &pb->entry;

    rsm__entry__init(m);
    m->time_ms = e->time_ms;
    switch (e->kind) {
    case RSM_ENTRY_OBSERVE_MASTER:
        rsm__observe_master__init(&pb->observe);
        pb->observe.group = codec__str(e->group);
        pb->observe.master = codec__enc_addr(&pb->master, &e->master);
        pb->observe.run_id = codec__str(e->run_id);
        pb->observe.n_members = e->n_members;
        pb->observe.members =
            codec__enc_addrs(&pb->addrs, e->members, e->n_members);
        m->kind_case = RSM__ENTRY__KIND_OBSERVE_MASTER;
        m->observe_master = &pb->observe;
        break;
    case RSM_ENTRY_DECIDE_FAILOVER:
        m->kind_case = RSM__ENTRY__KIND_DECIDE_FAILOVER;
        m->decide_failover = codec__enc_decide(&pb->decide, e);
        break;
    case RSM_ENTRY_FAILOVER_PROGRESS:
        rsm__failover_progress__init(&pb->progress);
        pb->progress.group = codec__str(e->group);
        pb->progress.epoch = e->epoch;
        pb->progress.step = codec__enc_step(e->step);
        m->kind_case = RSM__ENTRY__KIND_FAILOVER_PROGRESS;
        m->failover_progress = &pb->progress;
        break;
    case RSM_ENTRY_COMPLETE_FAILOVER:
        rsm__complete_failover__init(&pb->complete);
        pb->complete.group = codec__str(e->group);
        pb->complete.epoch = e->epoch;
        pb->complete.result = (Rsm__FailoverResult)e->result;
        pb->complete.n_stragglers = e->n_stragglers;
        pb->complete.stragglers =
            codec__enc_addrs(&pb->addrs, e->stragglers, e->n_stragglers);
        pb->complete.data_at_risk = e->data_at_risk;
        m->kind_case = RSM__ENTRY__KIND_COMPLETE_FAILOVER;
        m->complete_failover = &pb->complete;
        break;
    case RSM_ENTRY_ABORT_FAILOVER:
        rsm__abort_failover__init(&pb->abort);
        pb->abort.group = codec__str(e->group);
        pb->abort.epoch = e->epoch;
        pb->abort.reason = codec__str(e->reason);
        pb->abort.code = (Rsm__AbortCode)e->abort_code;
        m->kind_case = RSM__ENTRY__KIND_ABORT_FAILOVER;
        m->abort_failover = &pb->abort;
        break;
    case RSM_ENTRY_SET_PAUSED:
        rsm__set_paused__init(&pb->paused);
        pb->paused.group = codec__str(e->group);
        pb->paused.paused = e->paused;
        m->kind_case = RSM__ENTRY__KIND_SET_PAUSED;
        m->set_paused = &pb->paused;
        break;
    case RSM_ENTRY_ADVERTISE_AGENT:
        rsm__advertise_agent__init(&pb->advertise);
        pb->advertise.id = e->agent_id;
        pb->advertise.api = codec__enc_addr(&pb->master, &e->api);
        pb->advertise.http = codec__enc_addr(&pb->http, &e->http);
        pb->advertise.cluster_id = codec__str(e->cluster_id);
        m->kind_case = RSM__ENTRY__KIND_ADVERTISE_AGENT;
        m->advertise_agent = &pb->advertise;
        break;
    case RSM_ENTRY_SET_GROUP_CONFIG:
        rsm__set_group_config__init(&pb->set_config);
        pb->set_config.group = codec__str(e->group);
        pb->set_config.settings =
            codec__enc_settings(&pb->settings, &e->settings);
        m->kind_case = RSM__ENTRY__KIND_SET_GROUP_CONFIG;
        m->set_group_config = &pb->set_config;
        break;
    default:
        break; /* refused by rsm_entry_check() before we get here */
    }
}

/* Pack any message into a fresh malloc'd buffer. */
static int codec__pack(const ProtobufCMessage *m, void **buf, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *out = malloc(n > 0 ? n : 1);

    if (out == NULL)
        return RSM_ENOMEM;
    protobuf_c_message_pack(m, out);
    *buf = out;
    *len = n;
    return 0;
}

int rsm_codec_encode_entry(const struct rsm_entry *e, void **buf, size_t *len)
{
    struct entry_pb *pb;
    int rv;

    if (rsm_entry_check(e, NULL, 0) != 0)
        return RSM_EINVAL;
    pb = malloc(sizeof *pb);
    if (pb == NULL)
        return RSM_ENOMEM;
    codec__enc_entry(pb, e);
    rv = codec__pack(&pb->entry.base, buf, len);
    free(pb);
    return rv;
}

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
    int rv = RSM_ENOMEM;

    if (fsm->n_groups > 0) {
        pb = calloc(fsm->n_groups, sizeof *pb);
        ptr = calloc(fsm->n_groups, sizeof *ptr);
        if (pb == NULL || ptr == NULL)
            goto out;
    }
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
    rv = codec__pack(&snap.base, buf, len);
out:
    free(ptr);
    free(pb);
    return rv;
}

/* ==== decoding ============================================================ */

/* Error buffer and the path of the field being decoded ("decide_failover.
 * ranking[2].addr"), for messages that say where the problem is. */
struct dec {
    char *errmsg;
    size_t errlen;
};

static int codec__bad(struct dec *d, const char *field, const char *fmt,
                      const char *detail)
{
    return rsm_errf(RSM_EPARSE, d->errmsg, d->errlen, "%s: %s%s", field, fmt,
                    detail ? detail : "");
}

static int codec__dec_str(struct dec *d, char *dst, size_t size,
                          const char *src, const char *field)
{
    size_t n = src ? strlen(src) : 0;

    if (n >= size)
        return rsm_errf(RSM_EPARSE, d->errmsg, d->errlen,
                        "%s: %zu bytes, at most %zu allowed", field, n,
                        size - 1);
    if (n > 0)
        memcpy(dst, src, n);
    dst[n] = '\0';
    return 0;
}

static int codec__dec_addr(struct dec *d, struct rsm_addr *dst,
                           const Rsm__Addr *src, const char *field)
{
    char name[256];
    int rv;

    memset(dst, 0, sizeof *dst);
    if (src == NULL)
        return 0;
    snprintf(name, sizeof name, "%.200s.host", field);
    rv = codec__dec_str(d, dst->host, sizeof dst->host, src->host, name);
    if (rv != 0)
        return rv;
    if (src->port > 65535)
        return rsm_errf(RSM_EPARSE, d->errmsg, d->errlen,
                        "%s.port: %u out of range 1-65535", field,
                        (unsigned)src->port);
    if (dst->host[0] != '\0' && src->port == 0)
        return codec__bad(d, field, "port 0 out of range 1-65535", NULL);
    if (dst->host[0] == '\0' && src->port != 0)
        return codec__bad(d, field, "port without a host", NULL);
    dst->port = (uint16_t)src->port;
    return 0;
}

static int codec__dec_addrs(struct dec *d, struct rsm_addr *dst, unsigned *n,
                            size_t n_src, Rsm__Addr **src, const char *field)
{
    char name[256];
    int rv;

    if (n_src > RSM_MAX_MEMBERS)
        return rsm_errf(RSM_EPARSE, d->errmsg, d->errlen,
                        "%s: %zu addresses, at most %d allowed", field, n_src,
                        RSM_MAX_MEMBERS);
    for (size_t i = 0; i < n_src; i++) {
        snprintf(name, sizeof name, "%.200s[%zu]", field, i);
        if (src[i] == NULL)
            return codec__bad(d, name, "empty address", NULL);
        rv = codec__dec_addr(d, &dst[i], src[i], name);
        if (rv != 0)
            return rv;
    }
    *n = (unsigned)n_src;
    return 0;
}

static int codec__dec_enum(struct dec *d, int v, int max, const char *field,
                           int *out)
{
    if (v < 0 || v > max)
        return rsm_errf(RSM_EPARSE, d->errmsg, d->errlen,
                        "%s: unknown value %d", field, v);
    *out = v;
    return 0;
}

/* A proto step number to the C step. */
static int codec__dec_step(struct dec *d, int v, const char *field,
                           enum rsm_failover_step *out)
{
    switch (v) {
    case RSM__FAILOVER_STEP__STEP_NONE:
        *out = RSM_STEP_NONE;
        return 0;
    case RSM__FAILOVER_STEP__STEP_CAUGHT_UP:
        *out = RSM_STEP_CAUGHT_UP;
        return 0;
    case RSM__FAILOVER_STEP__STEP_PROMOTED:
        *out = RSM_STEP_PROMOTED;
        return 0;
    case RSM__FAILOVER_STEP__STEP_REPLICAS_POINTED:
        *out = RSM_STEP_REPLICAS_POINTED;
        return 0;
    case RSM__FAILOVER_STEP__STEP_OLD_MASTER_DEMOTED:
        *out = RSM_STEP_OLD_MASTER_DEMOTED;
        return 0;
    }
    return rsm_errf(RSM_EPARSE, d->errmsg, d->errlen, "%s: unknown value %d",
                    field, v);
}

static int codec__dec_observe(struct dec *d, const Rsm__ObserveMaster *m,
                              struct rsm_entry *e)
{
    int rv = codec__dec_str(d, e->group, sizeof e->group, m->group,
                            "observe_master.group");

    if (rv == 0)
        rv = codec__dec_addr(d, &e->master, m->master, "observe_master.master");
    if (rv == 0)
        rv = codec__dec_str(d, e->run_id, sizeof e->run_id, m->run_id,
                            "observe_master.run_id");
    if (rv == 0)
        rv = codec__dec_addrs(d, e->members, &e->n_members, m->n_members,
                              m->members, "observe_master.members");
    return rv;
}

static int codec__dec_ranked(struct dec *d, const Rsm__Ranked *m,
                             struct rsm_ranked *r, size_t i)
{
    char name[256];
    int rv;

    snprintf(name, sizeof name, "decide_failover.ranking[%zu]", i);
    if (m == NULL || m->addr == NULL)
        return codec__bad(d, name, "no address", NULL);
    rv = codec__dec_addr(d, &r->addr, m->addr, name);
    if (rv != 0)
        return rv;
    snprintf(name, sizeof name, "decide_failover.ranking[%zu].reason", i);
    rv = codec__dec_str(d, r->reason, sizeof r->reason, m->reason, name);
    if (rv != 0)
        return rv;
    r->rank = m->rank;
    r->offset = m->offset;
    r->priority = m->priority;
    return 0;
}

static int codec__dec_decide(struct dec *d, const Rsm__DecideFailover *m,
                             struct rsm_entry *e)
{
    int kind = 0, method = 0;
    int rv = codec__dec_str(d, e->group, sizeof e->group, m->group,
                            "decide_failover.group");

    if (rv == 0)
        rv = codec__dec_addr(d, &e->old_master, m->old_master,
                             "decide_failover.old_master");
    if (rv == 0)
        rv = codec__dec_addr(d, &e->master, m->new_master,
                             "decide_failover.new_master");
    if (rv == 0 && m->n_ranking > RSM_MAX_RANKED)
        rv = rsm_errf(RSM_EPARSE, d->errmsg, d->errlen,
                      "decide_failover.ranking: %zu lines, at most %d "
                      "allowed",
                      m->n_ranking, RSM_MAX_RANKED);
    for (size_t i = 0; rv == 0 && i < m->n_ranking; i++)
        rv = codec__dec_ranked(d, m->ranking[i], &e->ranking[i], i);
    if (rv == 0)
        rv = codec__dec_str(d, e->reason, sizeof e->reason, m->reason,
                            "decide_failover.reason");
    if (rv == 0)
        rv = codec__dec_enum(d, (int)m->kind, RSM_FAILOVER_BOOTSTRAP,
                             "decide_failover.kind", &kind);
    if (rv == 0)
        rv = codec__dec_enum(d, (int)m->method, RSM_SWITCHOVER_PAUSE,
                             "decide_failover.method", &method);
    if (rv != 0)
        return rv;
    e->n_ranked = (unsigned)m->n_ranking;
    e->epoch = m->epoch;
    e->failover_kind = (enum rsm_failover_kind)kind;
    e->old_offset = m->old_offset;
    e->new_offset = m->new_offset;
    e->decided_by = m->decided_by;
    e->timeout_ms = m->timeout_ms;
    e->switchover_method = (enum rsm_switchover_method)method;
    return 0;
}

static int codec__dec_progress(struct dec *d, const Rsm__FailoverProgress *m,
                               struct rsm_entry *e)
{
    int rv = codec__dec_str(d, e->group, sizeof e->group, m->group,
                            "failover_progress.group");

    if (rv == 0)
        rv = codec__dec_step(d, (int)m->step, "failover_progress.step",
                             &e->step);
    e->epoch = m->epoch;
    return rv;
}

static int codec__dec_complete(struct dec *d, const Rsm__CompleteFailover *m,
                               struct rsm_entry *e)
{
    int result = 0;
    int rv = codec__dec_str(d, e->group, sizeof e->group, m->group,
                            "complete_failover.group");

    if (rv == 0)
        rv = codec__dec_enum(d, (int)m->result, RSM_RESULT_ABORTED,
                             "complete_failover.result", &result);
    if (rv == 0)
        rv = codec__dec_addrs(d, e->stragglers, &e->n_stragglers,
                              m->n_stragglers, m->stragglers,
                              "complete_failover.stragglers");
    e->epoch = m->epoch;
    e->result = (enum rsm_failover_result)result;
    e->data_at_risk = m->data_at_risk;
    return rv;
}

/* Absent (an older agent's abort) is 0 = UNSPECIFIED. A code this agent
 * does not know (a newer agent's) is read as UNSPECIFIED, not refused:
 * the abort must apply on every agent alike, whatever its version. */
_Static_assert((int)RSM__ABORT_CODE__ABORT_TIMEOUT == RSM_ABORT_TIMEOUT &&
                   (int)RSM__ABORT_CODE__ABORT_UNREACHABLE ==
                       RSM_ABORT_UNREACHABLE &&
                   (int)RSM__ABORT_CODE__ABORT_REPLACED_BY_SYNC ==
                       RSM_ABORT_REPLACED_BY_SYNC &&
                   (int)RSM__ABORT_CODE__ABORT_RESTARTED ==
                       RSM_ABORT_RESTARTED &&
                   (int)RSM__ABORT_CODE__ABORT_OTHER == RSM_ABORT_OTHER,
               "enum rsm_abort_code mirrors proto AbortCode");

static enum rsm_abort_code codec__abort_code(Rsm__AbortCode v)
{
    if ((int)v < 0 || (int)v > RSM_ABORT_CODE_LAST)
        return RSM_ABORT_UNSPECIFIED;
    return (enum rsm_abort_code)v;
}

static int codec__dec_abort(struct dec *d, const Rsm__AbortFailover *m,
                            struct rsm_entry *e)
{
    int rv = codec__dec_str(d, e->group, sizeof e->group, m->group,
                            "abort_failover.group");

    if (rv == 0)
        rv = codec__dec_str(d, e->reason, sizeof e->reason, m->reason,
                            "abort_failover.reason");
    e->epoch = m->epoch;
    e->abort_code = codec__abort_code(m->code);
    return rv;
}

static int codec__dec_advertise(struct dec *d, const Rsm__AdvertiseAgent *m,
                                struct rsm_entry *e)
{
    int rv = codec__dec_addr(d, &e->api, m->api, "advertise_agent.api");

    if (rv == 0)
        rv = codec__dec_addr(d, &e->http, m->http, "advertise_agent.http");
    if (rv == 0)
        rv = codec__dec_str(d, e->cluster_id, sizeof e->cluster_id,
                            m->cluster_id, "advertise_agent.cluster_id");
    e->agent_id = m->id;
    return rv;
}

/* Settings as the message has them (absent: none set); their ranges are
 * checked with the entry's or group's form. */
static void codec__dec_settings(const Rsm__GroupSettings *m,
                                struct rsm_group_settings *s)
{
    memset(s, 0, sizeof *s);
    if (m == NULL)
        return;
    s->down_after_ms = m->down_after_ms;
    s->quorum = m->quorum;
    s->failover_timeout_ms = m->failover_timeout_ms;
    s->parallel_syncs = m->parallel_syncs;
}

static int codec__dec_entry(struct dec *d, const Rsm__Entry *m,
                            struct rsm_entry *e)
{
    rsm_entry_init(e, RSM_ENTRY_NONE, NULL, m->time_ms);
    switch (m->kind_case) {
    case RSM__ENTRY__KIND_OBSERVE_MASTER:
        e->kind = RSM_ENTRY_OBSERVE_MASTER;
        return codec__dec_observe(d, m->observe_master, e);
    case RSM__ENTRY__KIND_DECIDE_FAILOVER:
        e->kind = RSM_ENTRY_DECIDE_FAILOVER;
        return codec__dec_decide(d, m->decide_failover, e);
    case RSM__ENTRY__KIND_FAILOVER_PROGRESS:
        e->kind = RSM_ENTRY_FAILOVER_PROGRESS;
        return codec__dec_progress(d, m->failover_progress, e);
    case RSM__ENTRY__KIND_COMPLETE_FAILOVER:
        e->kind = RSM_ENTRY_COMPLETE_FAILOVER;
        return codec__dec_complete(d, m->complete_failover, e);
    case RSM__ENTRY__KIND_ABORT_FAILOVER:
        e->kind = RSM_ENTRY_ABORT_FAILOVER;
        return codec__dec_abort(d, m->abort_failover, e);
    case RSM__ENTRY__KIND_SET_PAUSED:
        e->kind = RSM_ENTRY_SET_PAUSED;
        e->paused = m->set_paused->paused != 0;
        return codec__dec_str(d, e->group, sizeof e->group,
                              m->set_paused->group, "set_paused.group");
    case RSM__ENTRY__KIND_ADVERTISE_AGENT:
        e->kind = RSM_ENTRY_ADVERTISE_AGENT;
        return codec__dec_advertise(d, m->advertise_agent, e);
    case RSM__ENTRY__KIND_SET_GROUP_CONFIG:
        e->kind = RSM_ENTRY_SET_GROUP_CONFIG;
        codec__dec_settings(m->set_group_config->settings, &e->settings);
        return codec__dec_str(d, e->group, sizeof e->group,
                              m->set_group_config->group,
                              "set_group_config.group");
    default:
        return rsm_errf(RSM_EPARSE, d->errmsg, d->errlen, "unknown entry kind");
    }
}

/* The form check of entry.c, as a parse error. */
static int codec__check(struct dec *d, const struct rsm_entry *e,
                        const char *what)
{
    char detail[RSM_ERRMSG_SIZE];

    if (rsm_entry_check(e, detail, sizeof detail) != 0)
        return rsm_errf(RSM_EPARSE, d->errmsg, d->errlen, "%s%s", what, detail);
    return 0;
}

int rsm_codec_decode_entry(const void *buf, size_t len, struct rsm_entry *e,
                           char *errmsg, size_t errlen)
{
    struct dec d = {errmsg, errlen};
    Rsm__Entry *m;
    int rv;

    m = rsm__entry__unpack(NULL, len, buf);
    if (m == NULL) {
        memset(e, 0, sizeof *e);
        return rsm_errf(RSM_EPARSE, errmsg, errlen,
                        "not a valid protobuf Entry (%zu bytes)", len);
    }
    rv = codec__dec_entry(&d, m, e);
    if (rv == 0)
        rv = codec__check(&d, e, "");
    rsm__entry__free_unpacked(m, NULL);
    if (rv != 0)
        memset(e, 0, sizeof *e);
    return rv;
}

/* ---- snapshot ------------------------------------------------------------ */

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
