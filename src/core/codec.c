/* codec.c - struct rsm_entry <-> protobuf (rsm.proto): the log entries.
 *
 * Encoding points protobuf-c message structs at our fixed buffers (no
 * copies; the structs live on the stack or in one scratch allocation) and
 * packs them. Decoding unpacks with protobuf-c, then copies every field
 * into our fixed buffers, refusing whatever would not fit or is out of
 * range: the bytes come from the network and from disk.
 *
 * The fields entries and snapshots share are in codec_field.c, the
 * snapshot (struct rsm_fsm) in codec_snapshot.c. */
#include "codec_int.h"
#include "rsm/codec.h"
#include "rsm/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== encoding ============================================================ */

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
    Rsm__MonitorGroup monitor;
    Rsm__RemoveGroup remove;
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
    case RSM_ENTRY_MONITOR_GROUP:
        rsm__monitor_group__init(&pb->monitor);
        pb->monitor.group = codec__str(e->group);
        pb->monitor.master = codec__enc_addr(&pb->master, &e->master);
        pb->monitor.quorum = e->settings.quorum;
        m->kind_case = RSM__ENTRY__KIND_MONITOR_GROUP;
        m->monitor_group = &pb->monitor;
        break;
    case RSM_ENTRY_REMOVE_GROUP:
        rsm__remove_group__init(&pb->remove);
        pb->remove.group = codec__str(e->group);
        m->kind_case = RSM__ENTRY__KIND_REMOVE_GROUP;
        m->remove_group = &pb->remove;
        break;
    default:
        break; /* refused by rsm_entry_check() before we get here */
    }
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

/* ==== decoding ============================================================ */

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

static int codec__dec_monitor(struct dec *d, const Rsm__MonitorGroup *m,
                              struct rsm_entry *e)
{
    int rv = codec__dec_str(d, e->group, sizeof e->group, m->group,
                            "monitor_group.group");

    if (rv == 0)
        rv = codec__dec_addr(d, &e->master, m->master, "monitor_group.master");
    if (rv == 0 && m->quorum > RSM_GROUPCONF_QUORUM_MAX)
        rv = codec__bad(d, "monitor_group.quorum", "out of range", NULL);
    e->settings.quorum = rv == 0 ? m->quorum : 0;
    return rv;
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
    case RSM__ENTRY__KIND_MONITOR_GROUP:
        e->kind = RSM_ENTRY_MONITOR_GROUP;
        return codec__dec_monitor(d, m->monitor_group, e);
    case RSM__ENTRY__KIND_REMOVE_GROUP:
        e->kind = RSM_ENTRY_REMOVE_GROUP;
        return codec__dec_str(d, e->group, sizeof e->group,
                              m->remove_group->group, "remove_group.group");
    default:
        return rsm_errf(RSM_EPARSE, d->errmsg, d->errlen, "unknown entry kind");
    }
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
