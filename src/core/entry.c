/* entry.c - replicated log entries as plain values: init, names, form
 * check. The rules of the state machine are in fsm.c. */
#include "rsm/entry.h"
#include "rsm/err.h"

#include <stdio.h>
#include <string.h>

void rsm_entry_init(struct rsm_entry *e, enum rsm_entry_kind kind,
                    const char *group, int64_t time_ms)
{
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->time_ms = time_ms;
    if (group != NULL)
        snprintf(e->group, sizeof e->group, "%s", group);
    e->old_offset = -1;
    e->new_offset = -1;
    e->data_at_risk = -1;
}

const char *rsm_entry_kind_str(enum rsm_entry_kind k)
{
    switch (k) {
    case RSM_ENTRY_NONE:
        return "none";
    case RSM_ENTRY_OBSERVE_MASTER:
        return "observe-master";
    case RSM_ENTRY_DECIDE_FAILOVER:
        return "decide-failover";
    case RSM_ENTRY_FAILOVER_PROGRESS:
        return "failover-progress";
    case RSM_ENTRY_COMPLETE_FAILOVER:
        return "complete-failover";
    case RSM_ENTRY_ABORT_FAILOVER:
        return "abort-failover";
    case RSM_ENTRY_SET_PAUSED:
        return "set-paused";
    case RSM_ENTRY_ADVERTISE_AGENT:
        return "advertise-agent";
    case RSM_ENTRY_SET_GROUP_CONFIG:
        return "set-group-config";
    case RSM_ENTRY_MONITOR_GROUP:
        return "monitor-group";
    case RSM_ENTRY_REMOVE_GROUP:
        return "remove-group";
    }
    return "unknown";
}

const char *rsm_failover_kind_str(enum rsm_failover_kind k)
{
    switch (k) {
    case RSM_FAILOVER_AUTOMATIC:
        return "automatic";
    case RSM_FAILOVER_MANUAL:
        return "manual";
    case RSM_FAILOVER_SWITCHOVER:
        return "switchover";
    case RSM_FAILOVER_BOOTSTRAP:
        return "bootstrap";
    }
    return "unknown";
}

const char *rsm_failover_step_str(enum rsm_failover_step s)
{
    switch (s) {
    case RSM_STEP_NONE:
        return "none";
    case RSM_STEP_CAUGHT_UP:
        return "caught-up";
    case RSM_STEP_PROMOTED:
        return "promoted";
    case RSM_STEP_REPLICAS_POINTED:
        return "replicas-pointed";
    case RSM_STEP_OLD_MASTER_DEMOTED:
        return "old-master-demoted";
    }
    return "unknown";
}

const char *rsm_switchover_method_str(enum rsm_switchover_method m)
{
    switch (m) {
    case RSM_SWITCHOVER_FAILOVER_CMD:
        return "failover-cmd";
    case RSM_SWITCHOVER_PAUSE:
        return "pause";
    }
    return "unknown";
}

const char *rsm_failover_result_str(enum rsm_failover_result r)
{
    switch (r) {
    case RSM_RESULT_COMPLETED:
        return "completed";
    case RSM_RESULT_COMPLETED_WITH_STRAGGLERS:
        return "completed-with-stragglers";
    case RSM_RESULT_ABORTED:
        return "aborted";
    }
    return "unknown";
}

/* ---- form check ---------------------------------------------------------- */

static int entry__check_str(const char *s, size_t size, const char *field,
                            char *errmsg, size_t errlen)
{
    if (memchr(s, '\0', size) == NULL)
        return rsm_errf(RSM_EINVAL, errmsg, errlen,
                        "%s: not terminated within %zu bytes", field, size);
    return 0;
}

static int entry__check_group(const char *g, char *errmsg, size_t errlen)
{
    int rv = entry__check_str(g, RSM_GROUP_NAME_MAX, "group", errmsg, errlen);

    if (rv != 0)
        return rv;
    if (g[0] == '\0')
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "group: empty name");
    for (const char *p = g; *p; p++) {
        if (*p <= ' ' || *p > '~')
            return rsm_errf(RSM_EINVAL, errmsg, errlen,
                            "group: bad character 0x%02x in name",
                            (unsigned)(unsigned char)*p);
    }
    return 0;
}

/* An address is empty (host "" and port 0) or valid; empty only if
 * may_be_empty. */
static int entry__check_addr(const struct rsm_addr *a, bool may_be_empty,
                             const char *field, char *errmsg, size_t errlen)
{
    struct rsm_addr tmp;
    char detail[RSM_ERRMSG_SIZE];

    if (memchr(a->host, '\0', sizeof a->host) == NULL)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "%s: host not terminated",
                        field);
    if (a->host[0] == '\0' && a->port == 0) {
        if (may_be_empty)
            return 0;
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "%s: empty address", field);
    }
    if (rsm_addr_set(&tmp, a->host, a->port, detail, sizeof detail) != 0)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "%s: %s", field, detail);
    return 0;
}

static int entry__check_addrs(const struct rsm_addr *a, unsigned n,
                              const char *field, char *errmsg, size_t errlen)
{
    char name[64];
    int rv;

    if (n > RSM_MAX_MEMBERS)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "%s: %u > %d addresses",
                        field, n, RSM_MAX_MEMBERS);
    for (unsigned i = 0; i < n; i++) {
        snprintf(name, sizeof name, "%s[%u]", field, i);
        rv = entry__check_addr(&a[i], false, name, errmsg, errlen);
        if (rv != 0)
            return rv;
    }
    return 0;
}

static int entry__check_observe(const struct rsm_entry *e, char *errmsg,
                                size_t errlen)
{
    int rv = entry__check_addr(&e->master, true, "master", errmsg, errlen);

    if (rv == 0)
        rv = entry__check_str(e->run_id, sizeof e->run_id, "run_id", errmsg,
                              errlen);
    if (rv == 0)
        rv = entry__check_addrs(e->members, e->n_members, "members", errmsg,
                                errlen);
    return rv;
}

static int entry__check_ranking(const struct rsm_entry *e, char *errmsg,
                                size_t errlen)
{
    char name[64];
    int rv;

    if (e->n_ranked > RSM_MAX_RANKED)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "ranking: %u > %d lines",
                        e->n_ranked, RSM_MAX_RANKED);
    for (unsigned i = 0; i < e->n_ranked; i++) {
        snprintf(name, sizeof name, "ranking[%u].addr", i);
        rv =
            entry__check_addr(&e->ranking[i].addr, false, name, errmsg, errlen);
        if (rv != 0)
            return rv;
        snprintf(name, sizeof name, "ranking[%u].reason", i);
        rv = entry__check_str(e->ranking[i].reason, RSM_REASON_MAX, name,
                              errmsg, errlen);
        if (rv != 0)
            return rv;
    }
    return 0;
}

static int entry__check_decide(const struct rsm_entry *e, char *errmsg,
                               size_t errlen)
{
    int rv =
        entry__check_addr(&e->old_master, true, "old_master", errmsg, errlen);

    if (rv == 0)
        rv = entry__check_addr(&e->master, true, "new_master", errmsg, errlen);
    if (rv == 0)
        rv = entry__check_ranking(e, errmsg, errlen);
    if (rv == 0)
        rv = entry__check_str(e->reason, sizeof e->reason, "reason", errmsg,
                              errlen);
    if (rv == 0 && ((unsigned)e->failover_kind > RSM_FAILOVER_BOOTSTRAP))
        rv = rsm_errf(RSM_EINVAL, errmsg, errlen, "kind: bad value %d",
                      (int)e->failover_kind);
    if (rv == 0 && e->timeout_ms < 0)
        rv = rsm_errf(RSM_EINVAL, errmsg, errlen, "timeout_ms: negative (%lld)",
                      (long long)e->timeout_ms);
    if (rv == 0 && (unsigned)e->switchover_method > RSM_SWITCHOVER_PAUSE)
        rv = rsm_errf(RSM_EINVAL, errmsg, errlen, "method: bad value %d",
                      (int)e->switchover_method);
    if (rv == 0 && e->switchover_method == RSM_SWITCHOVER_PAUSE &&
        e->failover_kind != RSM_FAILOVER_SWITCHOVER)
        rv = rsm_errf(RSM_EINVAL, errmsg, errlen,
                      "method: pause is for a switchover only");
    return rv;
}

static int entry__check_complete(const struct rsm_entry *e, char *errmsg,
                                 size_t errlen)
{
    if ((unsigned)e->result > RSM_RESULT_ABORTED)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "result: bad value %d",
                        (int)e->result);
    return entry__check_addrs(e->stragglers, e->n_stragglers, "stragglers",
                              errmsg, errlen);
}

/* The codec reads unknown codes as UNSPECIFIED (entry.h): a code out of
 * range here was made by this agent. */
static int entry__check_abort(const struct rsm_entry *e, char *errmsg,
                              size_t errlen)
{
    if ((unsigned)e->abort_code > RSM_ABORT_CODE_LAST)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "abort code: bad value %d",
                        (int)e->abort_code);
    return entry__check_str(e->reason, sizeof e->reason, "reason", errmsg,
                            errlen);
}

/* SENTINEL MONITOR: where the group's master is and its quorum, nothing
 * else of the settings (SENTINEL SET changes them later). */
static int entry__check_monitor(const struct rsm_entry *e, char *errmsg,
                                size_t errlen)
{
    const struct rsm_group_settings *s = &e->settings;
    int rv = entry__check_addr(&e->master, false, "master", errmsg, errlen);

    if (rv != 0)
        return rv;
    if (s->quorum < 1 || s->quorum > RSM_GROUPCONF_QUORUM_MAX)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "quorum: %u not in 1..%d",
                        s->quorum, RSM_GROUPCONF_QUORUM_MAX);
    if (s->down_after_ms != 0 || s->failover_timeout_ms != 0 ||
        s->parallel_syncs != 0)
        return rsm_errf(RSM_EINVAL, errmsg, errlen,
                        "settings: only the quorum is given with a group");
    return 0;
}

bool rsm_cluster_id_valid(const char *s)
{
    size_t i;

    for (i = 0; i < RSM_CLUSTER_ID_LEN; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return s[i] == '\0';
}

static int entry__check_advertise(const struct rsm_entry *e, char *errmsg,
                                  size_t errlen)
{
    int rv = 0;

    if (e->agent_id == 0)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "agent id: 0");
    rv = entry__check_addr(&e->api, false, "api", errmsg, errlen);
    if (rv == 0)
        rv = entry__check_addr(&e->http, true, "http", errmsg, errlen);
    if (rv == 0 && (memchr(e->cluster_id, '\0', sizeof e->cluster_id) == NULL ||
                    !rsm_cluster_id_valid(e->cluster_id)))
        rv = rsm_errf(RSM_EINVAL, errmsg, errlen,
                      "cluster_id: not %d lowercase hex digits",
                      RSM_CLUSTER_ID_LEN);
    return rv;
}

int rsm_entry_check(const struct rsm_entry *e, char *errmsg, size_t errlen)
{
    int rv;

    if (e->kind <= RSM_ENTRY_NONE || e->kind > RSM_ENTRY_KIND_LAST)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "unknown entry kind %d",
                        (int)e->kind);
    if (e->kind == RSM_ENTRY_ADVERTISE_AGENT)
        return entry__check_advertise(e, errmsg, errlen);
    rv = entry__check_group(e->group, errmsg, errlen);
    if (rv != 0)
        return rv;
    switch (e->kind) {
    case RSM_ENTRY_OBSERVE_MASTER:
        return entry__check_observe(e, errmsg, errlen);
    case RSM_ENTRY_DECIDE_FAILOVER:
        return entry__check_decide(e, errmsg, errlen);
    case RSM_ENTRY_FAILOVER_PROGRESS:
        if ((unsigned)e->step > RSM_STEP_OLD_MASTER_DEMOTED)
            return rsm_errf(RSM_EINVAL, errmsg, errlen, "step: bad value %d",
                            (int)e->step);
        return 0;
    case RSM_ENTRY_COMPLETE_FAILOVER:
        return entry__check_complete(e, errmsg, errlen);
    case RSM_ENTRY_ABORT_FAILOVER:
        return entry__check_abort(e, errmsg, errlen);
    case RSM_ENTRY_SET_GROUP_CONFIG:
        return rsm_groupconf_check(&e->settings, true, errmsg, errlen);
    case RSM_ENTRY_MONITOR_GROUP:
        return entry__check_monitor(e, errmsg, errlen);
    default: /* set-paused, remove-group: the group only */
        return 0;
    }
}
