/* monitor_groups.c - the groups the monitor watches, as they change at run
 * time: a group opened (at start from --monitor, or when SENTINEL MONITOR
 * commits one), dropped (SENTINEL REMOVE), kept in line with the committed
 * state (monitor_sync_groups), its instances grown by the replicas the
 * acting leader finds in the master's INFO (run-time groups only), and
 * looked up by name.
 *
 * Lifetime of a group: allocated by monitor_group_open(), never moved.
 * Dropping takes it out of m->groups at once (nothing looks it up or
 * iterates it any more), answers its pending request, closes its links
 * and frees it when the last one has closed and no proposal of it is in
 * flight; callbacks that still run for it meanwhile see
 * monitor_group_gone() and touch nothing. */
#include "monitor_int.h"
#include "rsm/err.h"
#include "rsm/log.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Lookup by name
 * ---------------------------------------------------------------------- */

static int monitor__by_name_cmp(const void *a, const void *b)
{
    const struct group *x = *(struct group *const *)a;
    const struct group *y = *(struct group *const *)b;

    return strcmp(x->cfg.name, y->cfg.name);
}

/* bsearch: a name against a group of the index. */
static int monitor__name_cmp(const void *key, const void *elem)
{
    return strcmp(key, (*(struct group *const *)elem)->cfg.name);
}

/* Sorted again only when it is needed after a change: opening thousands
 * of groups at start sorts once. */
static void monitor__sort_by_name(struct rsm_monitor *m)
{
    size_t n = m->cfg.n_groups;

    m->by_name = malloc((n ? n : 1) * sizeof *m->by_name);
    if (m->by_name == NULL)
        return;
    if (n == 0)
        return; /* m->groups may be NULL */
    memcpy(m->by_name, m->groups, n * sizeof *m->by_name);
    qsort(m->by_name, n, sizeof *m->by_name, monitor__by_name_cmp);
}

struct group *monitor_group_by_name(const struct rsm_monitor *m,
                                    const char *name)
{
    /* the index is a cache of m->groups: building it changes nothing
     * the caller sees */
    struct rsm_monitor *mm = (struct rsm_monitor *)m;
    size_t lo = 0, hi = m->cfg.n_groups;

    if (mm->by_name == NULL)
        monitor__sort_by_name(mm);
    if (mm->by_name == NULL) { /* out of memory: look at each */
        for (unsigned i = 0; i < m->cfg.n_groups; i++) {
            if (strcmp(m->groups[i]->cfg.name, name) == 0)
                return m->groups[i];
        }
        return NULL;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(mm->by_name[mid]->cfg.name, name);

        if (c == 0)
            return mm->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The probe turns follow the number of instances (monitor_loop.c). */
static void monitor__instances_changed(struct rsm_monitor *m)
{
    m->n_slices = monitor_slice_count(&m->cfg);
    m->slice %= m->n_slices;
}

static void monitor__groups_changed(struct rsm_monitor *m)
{
    free(m->by_name);
    m->by_name = NULL;
    monitor__instances_changed(m);
}

/* ------------------------------------------------------------------------
 * Opening and freeing a group
 * ---------------------------------------------------------------------- */

/* Link instance j of g to its address (g->cfg.addrs[j]). */
static int monitor__open_instance(struct group *g, unsigned j)
{
    struct rsm_monitor *m = g->m;
    struct rsm_redis_config rc;
    struct instance *in = &g->inst[j];

    assert(j < RSM_MAX_MEMBERS && in->link == NULL);
    memset(in, 0, sizeof *in);
    memset(&rc, 0, sizeof rc);
    rc.addr = g->cfg.addrs[j];
    rc.user = m->cfg.redis_user[0] ? m->cfg.redis_user : NULL;
    rc.password = m->cfg.redis_password[0] ? m->cfg.redis_password : NULL;
    rc.connect_timeout_ms = monitor_probe_timeout(m);
    rc.tls = m->cfg.redis_tls;
    in->g = g;
    in->index = j;
    in->action_done_ms = -1;
    in->fed_probe_sent_ms = -1;
    in->probe_sent_ms = -1;
    in->full_probe_ms = -1;
    rsm_detector_init(&g->health[j], &g->cfg.addrs[j], monitor_mono_ms(m));
    if (rsm_redis_create(m->loop, &rc, &in->link) != 0)
        return RSM_ENOMEM;
    rsm_redis_on_drop(in->link, monitor_on_drop, in);
    return 0;
}

/* Room for one more group in m->groups and m->cfg.groups. */
static int monitor__grow(struct rsm_monitor *m)
{
    unsigned cap;
    struct group **groups;
    struct rsm_monitor_group_config *cfgs;

    if (m->cfg.n_groups < m->cap_groups)
        return 0;
    cap = m->cap_groups ? m->cap_groups * 2 : 8;
    groups = realloc(m->groups, cap * sizeof *groups);
    if (groups == NULL)
        return RSM_ENOMEM;
    m->groups = groups;
    cfgs = realloc(m->cfg.groups, cap * sizeof *cfgs);
    if (cfgs == NULL)
        return RSM_ENOMEM;
    m->cfg.groups = cfgs;
    m->cap_groups = cap;
    m->cfg.cap_groups = cap;
    return 0;
}

void monitor_group_close_links(struct group *g)
{
    struct rsm_monitor *m = g->m;

    for (unsigned j = 0; j < g->cfg.n_addrs; j++) {
        if (g->inst[j].link == NULL)
            continue;
        g->closing++;
        m->pending_close++;
        rsm_redis_close(g->inst[j].link, monitor_instance_link_closed, g);
        g->inst[j].link = NULL;
    }
}

void monitor_group_free(struct group *g)
{
    assert(g->closing == 0);
    free(g);
}

int monitor_group_open(struct rsm_monitor *m,
                       const struct rsm_monitor_group_config *gc, bool added,
                       char *errmsg, size_t errlen)
{
    struct group *g;

    assert(gc->n_addrs <= RSM_MAX_MEMBERS);
    if (monitor__grow(m) != 0 || (g = calloc(1, sizeof *g)) == NULL)
        return rsm_errf(RSM_ENOMEM, errmsg, errlen,
                        "out of memory for %u groups", m->cfg.n_groups + 1);
    g->m = m;
    g->cfg = *gc;
    g->added = added;
    g->check_ms = -1;
    g->busy_until_ms = -1;
    for (unsigned j = 0; j < gc->n_addrs; j++) {
        if (monitor__open_instance(g, j) != 0) {
            monitor_group_close_links(g); /* those opened before j */
            g->dropping = true;
            if (g->closing == 0)
                monitor_group_free(g);
            return rsm_errf(RSM_ENOMEM, errmsg, errlen,
                            "out of memory for Redis links");
        }
    }
    g->pos = m->cfg.n_groups;
    m->groups[g->pos] = g;
    m->cfg.groups[g->pos] = *gc;
    m->cfg.n_groups++;
    monitor__groups_changed(m);
    return 0;
}

static void monitor__maybe_free_dropped(struct group *g)
{
    struct rsm_monitor *m = g->m;

    if (!g->dropping || g->closing > 0 || g->proposing)
        return;
    monitor_group_free(g);
    monitor_maybe_free(m);
}

void monitor_instance_link_closed(struct rsm_redis *r, void *arg)
{
    struct group *g = arg;
    struct rsm_monitor *m = g->m;

    (void)r;
    assert(g->closing > 0 && m->pending_close > 0);
    g->closing--;
    m->pending_close--;
    if (g->dropping)
        monitor__maybe_free_dropped(g);
    else
        monitor_maybe_free(m);
}

bool monitor_group_proposal_done(struct group *g)
{
    if (!g->dropping)
        return false;
    assert(g->m->pending_close > 0); /* the proposal was counted */
    g->m->pending_close--;
    monitor__maybe_free_dropped(g);
    return true;
}

/* Stop watching g: out of m->groups now, freed once its links have
 * closed and its proposal (if any) returned. */
static void monitor__group_drop(struct group *g)
{
    struct rsm_monitor *m = g->m;
    unsigned pos = g->pos;

    assert(!g->dropping && pos < m->cfg.n_groups && m->groups[pos] == g);
    monitor_manual_done(g, RSM_ENOTFOUND, "the group was removed");
    memmove(&m->groups[pos], &m->groups[pos + 1],
            (m->cfg.n_groups - pos - 1) * sizeof *m->groups);
    memmove(&m->cfg.groups[pos], &m->cfg.groups[pos + 1],
            (m->cfg.n_groups - pos - 1) * sizeof *m->cfg.groups);
    m->cfg.n_groups--;
    for (unsigned i = pos; i < m->cfg.n_groups; i++)
        m->groups[i]->pos = i;
    monitor__groups_changed(m);
    g->dropping = true;
    g->dirty = false;
    monitor_group_close_links(g);
    if (g->proposing)
        m->pending_close++; /* monitor_group_proposal_done() */
    monitor__maybe_free_dropped(g);
}

/* ------------------------------------------------------------------------
 * Instances of a run-time group
 * ---------------------------------------------------------------------- */

/* Watch a as one more instance of g (nothing if it is one already, or g
 * is full). true if added. */
static bool monitor__add_instance(struct group *g, const struct rsm_addr *a)
{
    struct rsm_monitor *m = g->m;
    unsigned j = g->cfg.n_addrs;
    char s[RSM_ADDR_STRLEN];

    if (monitor_find_instance(g, a) != NULL)
        return false;
    if (j == RSM_MAX_MEMBERS) {
        rsm_log(RSM_LOG_WARN, "instance-not-watched",
                "group=%s addr=%s detail=\"the group has %d instances "
                "already\"",
                g->cfg.name, rsm_addr_format(a, s, sizeof s), RSM_MAX_MEMBERS);
        return false;
    }
    g->cfg.addrs[j] = *a;
    if (monitor__open_instance(g, j) != 0) {
        memset(&g->cfg.addrs[j], 0, sizeof g->cfg.addrs[j]);
        return false;
    }
    g->cfg.n_addrs++;
    m->cfg.groups[g->pos] = g->cfg;
    monitor__instances_changed(m);
    return true;
}

/* The committed master and members of cg, as instances of g. */
static void monitor__watch_committed(struct group *g,
                                     const struct rsm_group *cg)
{
    assert(g->added && !g->dropping);
    for (unsigned i = 0; i < cg->n_members; i++)
        monitor__add_instance(g, &cg->members[i]);
    if (cg->has_master)
        monitor__add_instance(g, &cg->master);
}

void monitor_watch_committed(struct group *g)
{
    const struct rsm_group *cg = monitor_committed(g);

    if (cg != NULL)
        monitor__watch_committed(g, cg);
}

void monitor_discover_replicas(struct group *g, const struct rsm_info *info)
{
    char a[RSM_ADDR_STRLEN], mst[RSM_ADDR_STRLEN];
    char q[RSM_GROUP_NAME_MAX + 2 * RSM_ADDR_STRLEN + 32];
    const struct rsm_group *cg = monitor_committed(g);
    struct rsm_monitor *m = g->m;

    if (!g->added || cg == NULL || !cg->has_master ||
        info->role != RSM_ROLE_MASTER)
        return;
    rsm_addr_format(&cg->master, mst, sizeof mst);
    for (unsigned i = 0; i < info->n_replicas; i++) {
        const struct rsm_info_replica *r = &info->replicas[i];
        struct rsm_addr ra;

        if (rsm_addr_set(&ra, r->ip, r->port, NULL, 0) != 0 ||
            !monitor__add_instance(g, &ra))
            continue;
        rsm_addr_format(&ra, a, sizeof a);
        snprintf(q, sizeof q, "%s %s discovered from master %s", g->cfg.name, a,
                 mst);
        rsm_log(RSM_LOG_INFO, "+slave", "group=%s addr=%s master=%s",
                g->cfg.name, a, mst);
        if (m->event_cb != NULL)
            m->event_cb(m->event_arg, g->cfg.name, "+slave", q);
        monitor_probe(&g->inst[g->cfg.n_addrs - 1]);
    }
}

/* ------------------------------------------------------------------------
 * Keeping the groups in line with the committed state
 * ---------------------------------------------------------------------- */

/* A run-time group for committed group cg. */
static void monitor__open_added(struct rsm_monitor *m,
                                const struct rsm_group *cg)
{
    struct rsm_monitor_group_config gc;
    char err[RSM_ERRMSG_SIZE], a[RSM_ADDR_STRLEN];
    struct group *g;

    if (m->cfg.n_groups >= RSM_MAX_GROUPS) {
        rsm_log(RSM_LOG_WARN, "monitor-group-not-watched",
                "group=%s detail=\"this agent watches %d groups already\"",
                cg->name, RSM_MAX_GROUPS);
        return;
    }
    memset(&gc, 0, sizeof gc);
    snprintf(gc.name, sizeof gc.name, "%s", cg->name);
    if (monitor_group_open(m, &gc, true, err, sizeof err) != 0) {
        rsm_log(RSM_LOG_ERROR, "monitor-group-not-watched",
                "group=%s error=\"%s\"", cg->name, err);
        return;
    }
    g = m->groups[m->cfg.n_groups - 1];
    monitor__watch_committed(g, cg);
    rsm_log(RSM_LOG_INFO, "monitor-group-added",
            "group=%s master=%s instances=%u quorum=%u detail=\"SENTINEL "
            "MONITOR\"",
            cg->name, rsm_addr_format_or(&cg->master, a, sizeof a, "none"),
            g->cfg.n_addrs, cg->settings.quorum);
    if (m->acting) {
        for (unsigned j = 0; j < g->cfg.n_addrs; j++)
            monitor_probe(&g->inst[j]);
        monitor_mark_dirty(g);
    } else {
        monitor_probe_group(g);
    }
}

/* Does g still belong? Logs why not. */
static bool monitor__keep(struct rsm_monitor *m, const struct rsm_fsm *fsm,
                          const struct group *g)
{
    const struct rsm_group *cg = rsm_fsm_group(fsm, g->cfg.name);

    (void)m;
    if (g->added && (cg == NULL || !cg->added)) {
        rsm_log(RSM_LOG_INFO, "monitor-group-dropped",
                "group=%s detail=\"SENTINEL REMOVE\"", g->cfg.name);
        return false;
    }
    if (!g->added && rsm_fsm_removed(fsm, g->cfg.name)) {
        rsm_log(RSM_LOG_WARN, "monitor-flag-removed",
                "group=%s detail=\"--monitor %s was removed by SENTINEL "
                "REMOVE: not watched (SENTINEL MONITOR adds it again; drop "
                "it from --monitor)\"",
                g->cfg.name, g->cfg.name);
        return false;
    }
    if (!g->added && cg != NULL && cg->added) {
        rsm_log(RSM_LOG_WARN, "monitor-flag-replaced",
                "group=%s detail=\"the group was added by SENTINEL MONITOR: "
                "its committed instances are watched, not --monitor's\"",
                g->cfg.name);
        return false;
    }
    return true;
}

void monitor_sync_groups(struct rsm_monitor *m, bool force)
{
    const struct rsm_fsm *fsm = rsm_node_fsm(m->node);
    struct group **idx;
    size_t n;

    if (m->stopping || fsm == NULL ||
        (!force && fsm->applied == m->synced_applied))
        return;
    m->synced_applied = fsm->applied;
    for (unsigned i = m->cfg.n_groups; i-- > 0;) {
        if (!monitor__keep(m, fsm, m->groups[i]))
            monitor__group_drop(m->groups[i]);
    }
    /* the groups kept, sorted once: each group opened below would make
     * the next lookup sort them all again */
    monitor_group_by_name(m, "");
    idx = m->by_name;
    n = m->cfg.n_groups;
    m->by_name = NULL;
    for (size_t i = 0; i < fsm->n_groups; i++) {
        const struct rsm_group *cg = &fsm->groups[i];
        struct group *g = NULL;

        if (!cg->added)
            continue;
        if (idx != NULL) {
            struct group **hit =
                bsearch(cg->name, idx, n, sizeof *idx, monitor__name_cmp);
            g = hit != NULL ? *hit : NULL;
        } else {
            g = monitor_group_by_name(m, cg->name);
        }
        if (g == NULL)
            monitor__open_added(m, cg);
        else if (g->added)
            monitor__watch_committed(g, cg);
    }
    free(idx);
}
