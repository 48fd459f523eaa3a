/* fsm.c - the replicated state: groups, their committed master, failover
 * epochs, the in-flight failover and its history.
 *
 * One function per entry kind, called by fsm__dispatch() once the checks
 * that kinds share have passed (fsm__kinds: the group exists, its
 * failover is in flight); each checks its own rules in a fixed order (the
 * first that fails is the reason given, identical on every replica), then
 * changes the state. Nothing is changed before every check has passed, so
 * a rejected entry leaves the state as it was. */
#include "rsm/fsm.h"
#include "rsm/codec.h"
#include "rsm/err.h"
#include "rsm/sorted.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rsm_fsm_init(struct rsm_fsm *fsm)
{
    memset(fsm, 0, sizeof *fsm);
}

void rsm_fsm_close(struct rsm_fsm *fsm)
{
    free(fsm->groups);
    free(fsm->removed);
    memset(fsm, 0, sizeof *fsm);
}

/* ---- groups (sorted by name, binary search) ------------------------------ */

/* Index of the group, or of where it would be inserted (*found false). */
static size_t fsm__group_index(const struct rsm_fsm *fsm, const char *name,
                               bool *found)
{
    return rsm_sorted_name_index(fsm->groups, fsm->n_groups,
                                 sizeof *fsm->groups,
                                 offsetof(struct rsm_group, name), name, found);
}

static struct rsm_group *fsm__find(struct rsm_fsm *fsm, const char *name)
{
    bool found;
    size_t i = fsm__group_index(fsm, name, &found);

    return found ? &fsm->groups[i] : NULL;
}

const struct rsm_group *rsm_fsm_group(const struct rsm_fsm *fsm,
                                      const char *name)
{
    return fsm__find((struct rsm_fsm *)fsm, name);
}

/* Insert an empty group named name; NULL on ENOMEM. */
static struct rsm_group *fsm__insert(struct rsm_fsm *fsm, const char *name)
{
    bool found;
    size_t i = fsm__group_index(fsm, name, &found);
    struct rsm_group *groups, *g;

    groups = realloc(fsm->groups, (fsm->n_groups + 1) * sizeof *groups);
    if (groups == NULL)
        return NULL;
    fsm->groups = groups;
    memmove(&groups[i + 1], &groups[i], (fsm->n_groups - i) * sizeof *groups);
    fsm->n_groups++;
    g = &groups[i];
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "%s", name);
    rsm_entry_init(&g->decision, RSM_ENTRY_NONE, NULL, 0);
    return g;
}

/* Drop the group at index i (its whole state). */
static void fsm__delete(struct rsm_fsm *fsm, size_t i)
{
    assert(i < fsm->n_groups);
    memmove(&fsm->groups[i], &fsm->groups[i + 1],
            (fsm->n_groups - i - 1) * sizeof *fsm->groups);
    fsm->n_groups--;
}

/* ---- groups removed by SENTINEL REMOVE (sorted names) -------------------- */

/* Index of name in fsm->removed, or where it would be inserted. */
static size_t fsm__removed_index(const struct rsm_fsm *fsm, const char *name,
                                 bool *found)
{
    return rsm_sorted_name_index(fsm->removed, fsm->n_removed,
                                 sizeof *fsm->removed, 0, name, found);
}

bool rsm_fsm_removed(const struct rsm_fsm *fsm, const char *name)
{
    bool found;

    fsm__removed_index(fsm, name, &found);
    return found;
}

/* Remember name as removed; 0 or RSM_ENOMEM. */
static int fsm__removed_add(struct rsm_fsm *fsm, const char *name)
{
    bool found;
    size_t i = fsm__removed_index(fsm, name, &found);
    char(*r)[RSM_GROUP_NAME_MAX];

    if (found)
        return 0;
    r = realloc(fsm->removed, (fsm->n_removed + 1) * sizeof *r);
    if (r == NULL)
        return RSM_ENOMEM;
    fsm->removed = r;
    memmove(&r[i + 1], &r[i], (fsm->n_removed - i) * sizeof *r);
    memset(r[i], 0, sizeof r[i]);
    snprintf(r[i], sizeof r[i], "%s", name);
    fsm->n_removed++;
    return 0;
}

static void fsm__removed_drop(struct rsm_fsm *fsm, const char *name)
{
    bool found;
    size_t i = fsm__removed_index(fsm, name, &found);

    if (!found)
        return;
    memmove(&fsm->removed[i], &fsm->removed[i + 1],
            (fsm->n_removed - i - 1) * sizeof *fsm->removed);
    fsm->n_removed--;
}

/* ---- helpers ------------------------------------------------------------- */

/* Copy an address so that the bytes past the NUL are zero: states compare
 * equal whatever garbage the entry carried. */
static void fsm__copy_addr(struct rsm_addr *dst, const struct rsm_addr *src)
{
    memset(dst, 0, sizeof *dst);
    snprintf(dst->host, sizeof dst->host, "%s", src->host);
    dst->port = src->port;
}

static void fsm__copy_str(char *dst, size_t size, const char *src)
{
    memset(dst, 0, size);
    snprintf(dst, size, "%s", src);
}

/* The fields of a DecideFailover that the state keeps, nothing else. */
static void fsm__copy_decision(struct rsm_entry *dst, const struct rsm_entry *e)
{
    rsm_entry_init(dst, RSM_ENTRY_DECIDE_FAILOVER, e->group, e->time_ms);
    dst->epoch = e->epoch;
    fsm__copy_addr(&dst->master, &e->master);
    fsm__copy_addr(&dst->old_master, &e->old_master);
    dst->n_ranked = e->n_ranked;
    for (unsigned i = 0; i < e->n_ranked; i++) {
        const struct rsm_ranked *r = &e->ranking[i];

        fsm__copy_addr(&dst->ranking[i].addr, &r->addr);
        dst->ranking[i].rank = r->rank;
        fsm__copy_str(dst->ranking[i].reason, RSM_REASON_MAX, r->reason);
        dst->ranking[i].offset = r->offset;
        dst->ranking[i].priority = r->priority;
    }
    fsm__copy_str(dst->reason, sizeof dst->reason, e->reason);
    dst->failover_kind = e->failover_kind;
    dst->old_offset = e->old_offset;
    dst->new_offset = e->new_offset;
    dst->decided_by = e->decided_by;
    dst->timeout_ms = e->timeout_ms;
    dst->switchover_method = e->switchover_method;
}

/* ---- ObserveMaster ------------------------------------------------------- */

static void fsm__record_observation(struct rsm_group *g,
                                    const struct rsm_entry *e)
{
    if (rsm_addr_is_set(&e->master)) {
        g->has_master = true;
        fsm__copy_addr(&g->master, &e->master);
        fsm__copy_str(g->master_run_id, sizeof g->master_run_id, e->run_id);
    }
    memset(g->members, 0, sizeof g->members);
    g->n_members = e->n_members;
    for (unsigned i = 0; i < e->n_members; i++)
        fsm__copy_addr(&g->members[i], &e->members[i]);
}

/* Creates the group if absent; sets the master if none is committed; a
 * different master than the committed one is refused (only a failover
 * changes it); the same master refreshes run id and members. An empty
 * master records the members of a group that has no master yet (the
 * BOOTSTRAP case). */
static int fsm__apply_observe(struct rsm_fsm *fsm, struct rsm_group *g,
                              const struct rsm_entry *e, char *reason,
                              size_t len)
{
    char a[RSM_ADDR_STRLEN], b[RSM_ADDR_STRLEN];

    if (rsm_fsm_removed(fsm, e->group))
        return rsm_errf(RSM_EREJECTED, reason, len,
                        "group '%s' was removed by SENTINEL REMOVE", e->group);
    if (g != NULL && g->has_master &&
        (!rsm_addr_is_set(&e->master) ||
         !rsm_addr_equal(&g->master, &e->master)))
        return rsm_errf(RSM_EREJECTED, reason, len,
                        "master changes only through a failover (committed "
                        "%s, observed %s)",
                        rsm_addr_format_or(&g->master, a, sizeof a, "none"),
                        rsm_addr_format_or(&e->master, b, sizeof b, "none"));
    if (g == NULL) {
        g = fsm__insert(fsm, e->group);
        if (g == NULL)
            return RSM_ENOMEM;
    }
    fsm__record_observation(g, e);
    return 0;
}

/* ---- DecideFailover ------------------------------------------------------ */

static int fsm__check_decide(const struct rsm_group *g,
                             const struct rsm_entry *e, char *reason,
                             size_t len)
{
    char a[RSM_ADDR_STRLEN], b[RSM_ADDR_STRLEN];

    if (e->epoch != g->epoch + 1)
        return rsm_errf(RSM_EREJECTED, reason, len,
                        "epoch %llu is not next (group epoch %llu)",
                        (unsigned long long)e->epoch,
                        (unsigned long long)g->epoch);
    if (g->in_flight)
        return rsm_errf(RSM_EREJECTED, reason, len,
                        "failover epoch %llu in flight",
                        (unsigned long long)g->decision.epoch);
    if (e->failover_kind == RSM_FAILOVER_AUTOMATIC && g->paused)
        return rsm_errf(RSM_EREJECTED, reason, len,
                        "group is paused: automatic failover refused");
    if (!rsm_addr_is_set(&e->master))
        return rsm_errf(RSM_EREJECTED, reason, len,
                        "decision without a new master");
    if (rsm_addr_equal(&e->master, &e->old_master))
        return rsm_errf(RSM_EREJECTED, reason, len,
                        "new master %s is the old master",
                        rsm_addr_format_or(&e->master, a, sizeof a, "none"));
    if (g->has_master && e->failover_kind == RSM_FAILOVER_BOOTSTRAP)
        return rsm_errf(RSM_EREJECTED, reason, len,
                        "bootstrap decision but master %s is "
                        "committed",
                        rsm_addr_format_or(&g->master, a, sizeof a, "none"));
    if (g->has_master && !rsm_addr_equal(&g->master, &e->old_master))
        return rsm_errf(RSM_EREJECTED, reason, len,
                        "stale decision: old master %s is not the committed "
                        "master %s",
                        rsm_addr_format_or(&e->old_master, a, sizeof a, "none"),
                        rsm_addr_format_or(&g->master, b, sizeof b, "none"));
    return 0;
}

static int fsm__apply_decide(struct rsm_fsm *fsm, struct rsm_group *g,
                             const struct rsm_entry *e, char *reason,
                             size_t len)
{
    int rv = fsm__check_decide(g, e, reason, len);

    (void)fsm;
    if (rv != 0)
        return rv;
    g->epoch = e->epoch;
    g->in_flight = true;
    fsm__copy_decision(&g->decision, e);
    g->decided_at_ms = e->time_ms;
    g->step = RSM_STEP_NONE;
    return 0;
}

/* ---- Progress, Complete, Abort: the in-flight failover ------------------- */

/* Is the failover of e->epoch in flight in g? 0, or why not. */
static int fsm__check_in_flight(const struct rsm_group *g,
                                const struct rsm_entry *e, char *reason,
                                size_t len)
{
    if (!g->in_flight)
        return rsm_errf(RSM_EREJECTED, reason, len,
                        "no failover in flight (epoch %llu)",
                        (unsigned long long)e->epoch);
    if (e->epoch != g->decision.epoch)
        return rsm_errf(RSM_EREJECTED, reason, len,
                        "epoch %llu is not the failover in flight (epoch %llu)",
                        (unsigned long long)e->epoch,
                        (unsigned long long)g->decision.epoch);
    return 0;
}

static int fsm__apply_progress(struct rsm_fsm *fsm, struct rsm_group *g,
                               const struct rsm_entry *e, char *reason,
                               size_t len)
{
    (void)fsm;
    if (e->step == RSM_STEP_NONE)
        return rsm_errf(RSM_EREJECTED, reason, len, "step none is no progress");
    if (e->step == g->step)
        return rsm_errf(RSM_EREJECTED, reason, len, "step %s already recorded",
                        rsm_failover_step_str(e->step));
    if (e->step < g->step)
        return rsm_errf(
            RSM_EREJECTED, reason, len, "step %s is behind recorded step %s",
            rsm_failover_step_str(e->step), rsm_failover_step_str(g->step));
    if (e->step == RSM_STEP_CAUGHT_UP &&
        (g->decision.failover_kind != RSM_FAILOVER_SWITCHOVER ||
         g->decision.switchover_method != RSM_SWITCHOVER_PAUSE))
        return rsm_errf(RSM_EREJECTED, reason, len,
                        "step caught-up is for a pause switchover only");
    g->step = e->step;
    return 0;
}

/* Append to the bounded history, dropping the oldest item when full. */
static void fsm__push_history(struct rsm_group *g,
                              const struct rsm_history_item *h)
{
    if (g->n_history == RSM_HISTORY_MAX) {
        memmove(&g->history[0], &g->history[1],
                (RSM_HISTORY_MAX - 1) * sizeof g->history[0]);
        g->n_history--;
    }
    g->history[g->n_history++] = *h;
}

/* Close the in-flight failover with a history item. */
static void fsm__end_failover(struct rsm_group *g, const struct rsm_entry *e,
                              enum rsm_failover_result result, int64_t at_risk,
                              const char *why)
{
    const struct rsm_entry *d = &g->decision;
    struct rsm_history_item h;

    assert(g->in_flight); /* see fsm__check_in_flight() */
    memset(&h, 0, sizeof h);
    h.epoch = d->epoch;
    h.kind = d->failover_kind;
    h.result = result;
    fsm__copy_addr(&h.old_master, &d->old_master);
    fsm__copy_addr(&h.new_master, &d->master);
    h.decided_at_ms = g->decided_at_ms;
    h.ended_at_ms = e->time_ms;
    h.old_offset = d->old_offset;
    h.new_offset = d->new_offset;
    h.data_at_risk = at_risk;
    fsm__copy_str(h.reason, sizeof h.reason, why);
    fsm__push_history(g, &h);
    if ((unsigned)result < RSM_RESULT_COUNT)
        g->ended[result]++;

    g->last_failover_end_ms = e->time_ms;
    g->in_flight = false;
    rsm_entry_init(&g->decision, RSM_ENTRY_NONE, NULL, 0);
    g->decided_at_ms = 0;
    g->step = RSM_STEP_NONE;
}

static int fsm__apply_complete(struct rsm_fsm *fsm, struct rsm_group *g,
                               const struct rsm_entry *e, char *reason,
                               size_t len)
{
    (void)fsm;
    if (e->result == RSM_RESULT_ABORTED)
        return rsm_errf(RSM_EREJECTED, reason, len,
                        "complete-failover with result aborted: use "
                        "abort-failover");
    g->has_master = true;
    fsm__copy_addr(&g->master, &g->decision.master);
    /* The new master's run id is learnt by the next ObserveMaster. */
    memset(g->master_run_id, 0, sizeof g->master_run_id);
    fsm__end_failover(g, e, e->result, e->data_at_risk, g->decision.reason);
    return 0;
}

/* The master is unchanged and the epoch stays consumed: the next decision
 * takes epoch + 1. last_failover_end_ms is set too, so that a retry can be
 * paced from it. */
static int fsm__apply_abort(struct rsm_fsm *fsm, struct rsm_group *g,
                            const struct rsm_entry *e, char *reason, size_t len)
{
    (void)fsm;
    (void)reason;
    (void)len;
    fsm__end_failover(g, e, RSM_RESULT_ABORTED, -1, e->reason);
    return 0;
}

static int fsm__apply_paused(struct rsm_fsm *fsm, struct rsm_group *g,
                             const struct rsm_entry *e, char *reason,
                             size_t len)
{
    (void)fsm;
    (void)reason;
    (void)len;
    g->paused = e->paused;
    return 0;
}

/* SENTINEL SET: the settings of the entry (in range, checked as its
 * form) replace the group's. */
static int fsm__apply_set_config(struct rsm_fsm *fsm, struct rsm_group *g,
                                 const struct rsm_entry *e, char *reason,
                                 size_t len)
{
    (void)fsm;
    (void)reason;
    (void)len;
    rsm_groupconf_merge(&g->settings, &e->settings);
    return 0;
}

/* ---- MonitorGroup, RemoveGroup: groups added and dropped at run time ---- */

/* SENTINEL MONITOR: a new group whose master is the one given. */
static int fsm__apply_monitor(struct rsm_fsm *fsm, struct rsm_group *g,
                              const struct rsm_entry *e, char *reason,
                              size_t len)
{
    if (g != NULL)
        return rsm_errf(RSM_EREJECTED, reason, len,
                        RSM_FSM_DUPLICATE_GROUP ": group '%s' exists",
                        e->group);
    g = fsm__insert(fsm, e->group);
    if (g == NULL)
        return RSM_ENOMEM;
    g->has_master = true;
    fsm__copy_addr(&g->master, &e->master);
    g->n_members = 1;
    fsm__copy_addr(&g->members[0], &e->master);
    g->settings.quorum = e->settings.quorum;
    g->added = true;
    fsm__removed_drop(fsm, e->group);
    return 0;
}

/* SENTINEL REMOVE: the group goes; a --monitor one is remembered. */
static int fsm__apply_remove(struct rsm_fsm *fsm, struct rsm_group *g,
                             const struct rsm_entry *e, char *reason,
                             size_t len)
{
    if (!g->added) {
        if (fsm->n_removed >= RSM_FSM_MAX_REMOVED)
            return rsm_errf(RSM_EREJECTED, reason, len,
                            "%d removed groups remembered already",
                            RSM_FSM_MAX_REMOVED);
        if (fsm__removed_add(fsm, e->group) != 0)
            return RSM_ENOMEM;
    }
    fsm__delete(fsm, (size_t)(g - fsm->groups));
    return 0;
}

/* ---- agents (sorted by id) ------------------------------------------------
 */

static unsigned fsm__agent_index(const struct rsm_fsm *fsm, uint64_t id)
{
    unsigned i = 0;

    while (i < fsm->n_agents && fsm->agents[i].id < id)
        i++;
    return i;
}

const struct rsm_agent_info *rsm_fsm_agent(const struct rsm_fsm *fsm,
                                           uint64_t id)
{
    unsigned i = fsm__agent_index(fsm, id);

    return i < fsm->n_agents && fsm->agents[i].id == id ? &fsm->agents[i]
                                                        : NULL;
}

static int fsm__apply_advertise(struct rsm_fsm *fsm, struct rsm_group *g,
                                const struct rsm_entry *e, char *reason,
                                size_t len)
{
    unsigned i = fsm__agent_index(fsm, e->agent_id);
    struct rsm_agent_info *a = &fsm->agents[i];

    (void)g;
    if (fsm->cluster_id[0] != '\0' &&
        strcmp(fsm->cluster_id, e->cluster_id) != 0)
        return rsm_errf(RSM_EREJECTED, reason, len,
                        "agent %llu claims cluster %s: this group is %s",
                        (unsigned long long)e->agent_id, e->cluster_id,
                        fsm->cluster_id);
    if (i == fsm->n_agents || a->id != e->agent_id) {
        if (fsm->n_agents == RSM_FSM_MAX_AGENTS)
            return rsm_errf(RSM_EREJECTED, reason, len,
                            "%d agents recorded already", RSM_FSM_MAX_AGENTS);
        memmove(a + 1, a, (fsm->n_agents - i) * sizeof *a);
        fsm->n_agents++;
    }
    a->id = e->agent_id;
    a->api = e->api;
    a->http = e->http;
    memcpy(fsm->cluster_id, e->cluster_id, sizeof fsm->cluster_id);
    return 0;
}

/* ---- entry points -------------------------------------------------------- */

/* What an entry kind needs before its own rules: the group may be absent
 * (ObserveMaster and MonitorGroup look at whether it is), must exist, or
 * must have the failover of the entry's epoch in flight. */
enum fsm__needs { FSM__ANY_GROUP, FSM__GROUP, FSM__IN_FLIGHT };

typedef int (*fsm__apply_fn)(struct rsm_fsm *fsm, struct rsm_group *g,
                             const struct rsm_entry *e, char *reason,
                             size_t len);

static const struct {
    enum fsm__needs needs;
    fsm__apply_fn apply;
} fsm__kinds[RSM_ENTRY_KIND_LAST + 1] = {
    [RSM_ENTRY_OBSERVE_MASTER] = {FSM__ANY_GROUP, fsm__apply_observe},
    [RSM_ENTRY_DECIDE_FAILOVER] = {FSM__GROUP, fsm__apply_decide},
    [RSM_ENTRY_FAILOVER_PROGRESS] = {FSM__IN_FLIGHT, fsm__apply_progress},
    [RSM_ENTRY_COMPLETE_FAILOVER] = {FSM__IN_FLIGHT, fsm__apply_complete},
    [RSM_ENTRY_ABORT_FAILOVER] = {FSM__IN_FLIGHT, fsm__apply_abort},
    [RSM_ENTRY_SET_PAUSED] = {FSM__GROUP, fsm__apply_paused},
    [RSM_ENTRY_ADVERTISE_AGENT] = {FSM__ANY_GROUP, fsm__apply_advertise},
    [RSM_ENTRY_SET_GROUP_CONFIG] = {FSM__GROUP, fsm__apply_set_config},
    [RSM_ENTRY_MONITOR_GROUP] = {FSM__ANY_GROUP, fsm__apply_monitor},
    [RSM_ENTRY_REMOVE_GROUP] = {FSM__GROUP, fsm__apply_remove},
};

/* The checks every kind shares, in this order (the first that fails is the
 * reason given): a known kind, the group its needs, then its own rules. */
static int fsm__dispatch(struct rsm_fsm *fsm, const struct rsm_entry *e,
                         char *reason, size_t len)
{
    struct rsm_group *g;
    int rv;

    if ((unsigned)e->kind > RSM_ENTRY_KIND_LAST ||
        fsm__kinds[e->kind].apply == NULL)
        return rsm_errf(RSM_EREJECTED, reason, len, "unknown entry kind %d",
                        (int)e->kind);
    g = fsm__find(fsm, e->group);
    if (g == NULL && fsm__kinds[e->kind].needs != FSM__ANY_GROUP)
        return rsm_errf(RSM_EREJECTED, reason, len, "unknown group '%s'",
                        e->group);
    if (fsm__kinds[e->kind].needs == FSM__IN_FLIGHT) {
        rv = fsm__check_in_flight(g, e, reason, len);
        if (rv != 0)
            return rv;
    }
    return fsm__kinds[e->kind].apply(fsm, g, e, reason, len);
}

int rsm_fsm_apply(struct rsm_fsm *fsm, const struct rsm_entry *e, char *reason,
                  size_t len)
{
    char detail[RSM_ERRMSG_SIZE];
    int rv;

    if (reason != NULL && len > 0)
        reason[0] = '\0';
    if (rsm_entry_check(e, detail, sizeof detail) != 0)
        rv =
            rsm_errf(RSM_EREJECTED, reason, len, "malformed entry: %s", detail);
    else
        rv = fsm__dispatch(fsm, e, reason, len);
    if (rv == 0)
        fsm->applied++;
    else if (rv == RSM_EREJECTED)
        fsm->rejected++;
    return rv;
}

int rsm_fsm_apply_bytes(struct rsm_fsm *fsm, const void *buf, size_t len,
                        struct rsm_entry *out, char *reason, size_t rlen)
{
    struct rsm_entry e;
    char detail[RSM_ERRMSG_SIZE];
    int rv;

    rv = rsm_codec_decode_entry(buf, len, &e, detail, sizeof detail);
    if (rv == RSM_ENOMEM)
        return rv;
    if (out != NULL)
        *out = e; /* kind NONE when undecodable */
    if (rv != 0) {
        fsm->rejected++;
        return rsm_errf(RSM_EREJECTED, reason, rlen, "undecodable entry: %s",
                        detail);
    }
    return rsm_fsm_apply(fsm, &e, reason, rlen);
}

int rsm_fsm_snapshot(const struct rsm_fsm *fsm, void **buf, size_t *len)
{
    return rsm_codec_encode_snapshot(fsm, buf, len);
}

int rsm_fsm_restore(struct rsm_fsm *fsm, const void *buf, size_t len,
                    char *errmsg, size_t errlen)
{
    struct rsm_fsm next;
    int rv;

    rsm_fsm_init(&next);
    rv = rsm_codec_decode_snapshot(buf, len, &next, errmsg, errlen);
    if (rv != 0)
        return rv;
    rsm_fsm_close(fsm);
    *fsm = next;
    return 0;
}
