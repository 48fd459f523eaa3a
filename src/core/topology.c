/* topology.c - what `rsmctl promote` should do with one observation per
 * endpoint. Pure: builds a plan, the caller executes it.
 *
 * Instances whose role is unknown (an INFO reply without a role line) are
 * never acted on: we do not send REPLICAOF to something we cannot place. */
#include "rsm/topology.h"
#include "rsm/err.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* --- helpers --- */

/* Append printf output to plan->reason; a reason cut short ends in "...". */
static void topology__say(struct rsm_plan *plan, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void topology__say(struct rsm_plan *plan, const char *fmt, ...)
{
    size_t size = sizeof plan->reason, used = strlen(plan->reason);
    va_list ap;
    int w;

    if (used + 1 >= size)
        return;
    va_start(ap, fmt);
    w = vsnprintf(plan->reason + used, size - used, fmt, ap);
    va_end(ap);
    if (w > 0 && (size_t)w >= size - used)
        memcpy(plan->reason + size - 4, "...", 4);
}

static bool topology__is_role(const struct rsm_candidate *c, enum rsm_role role)
{
    return c->reachable && c->info != NULL && c->info->role == role;
}

/* Does c already replicate from m? Either c says so (master_host:port is
 * m's address as given) or m lists c among its replicas (m's view uses the
 * IP the replica connected from, which may be what the operator gave). */
static bool topology__follows(const struct rsm_candidate *c,
                              const struct rsm_candidate *m)
{
    const struct rsm_info *mi = m->info;

    if (!topology__is_role(c, RSM_ROLE_REPLICA))
        return false;
    if (rsm_addr_equal(&c->info->master, &m->addr))
        return true;
    for (unsigned i = 0;
         mi != NULL && i < mi->n_replicas && i < RSM_INFO_MAX_REPLICAS; i++) {
        if (mi->replicas[i].port == c->addr.port &&
            strcasecmp(mi->replicas[i].ip, c->addr.host) == 0)
            return true;
    }
    return false;
}

/* Index of the listed endpoint with address a, or -1. */
static long topology__find_addr(const struct rsm_candidate *c, size_t n,
                                const struct rsm_addr *a)
{
    for (size_t i = 0; i < n; i++) {
        if (rsm_addr_equal(&c[i].addr, a))
            return (long)i;
    }
    return -1;
}

/* The same instance listed twice (same address, or two reachable entries
 * with the same run_id, e.g. a name and its IP) would make us re-point a
 * master to itself. */
static int topology__check_distinct(const struct rsm_candidate *c, size_t n,
                                    struct rsm_plan *plan)
{
    char a[RSM_ADDR_STRLEN], b[RSM_ADDR_STRLEN];

    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            const struct rsm_info *x = c[i].info, *y = c[j].info;

            if (rsm_addr_equal(&c[i].addr, &c[j].addr)) {
                topology__say(plan, "%s is listed twice",
                              rsm_addr_format(&c[i].addr, a, RSM_ADDR_STRLEN));
                return RSM_EINVAL;
            }
            if (c[i].reachable && c[j].reachable && x != NULL && y != NULL &&
                x->run_id[0] != '\0' && strcmp(x->run_id, y->run_id) == 0) {
                topology__say(
                    plan, "%s and %s are the same instance (run_id %s)",
                    rsm_addr_format(&c[i].addr, a, RSM_ADDR_STRLEN),
                    rsm_addr_format(&c[j].addr, b, RSM_ADDR_STRLEN), x->run_id);
                return RSM_EINVAL;
            }
        }
    }
    return 0;
}

/* Every reachable instance of known role except the master, that does not
 * already follow it, goes into plan->repoint. */
static void topology__collect_repoint(const struct rsm_candidate *c, size_t n,
                                      struct rsm_plan *plan)
{
    const struct rsm_candidate *m = &c[plan->master];

    for (size_t i = 0; i < n; i++) {
        if ((long)i == plan->master || !c[i].reachable || c[i].info == NULL)
            continue;
        if (c[i].info->role == RSM_ROLE_UNKNOWN || topology__follows(&c[i], m))
            continue;
        plan->repoint[plan->n_repoint++] = i;
    }
}

/* " (a, b)", or with from: " (a follows x, b is a master)". */
static void topology__say_repoint_list(const struct rsm_candidate *c, bool from,
                                       struct rsm_plan *plan)
{
    char a[RSM_ADDR_STRLEN], b[RSM_ADDR_STRLEN];

    for (size_t i = 0; i < plan->n_repoint; i++) {
        const struct rsm_candidate *r = &c[plan->repoint[i]];

        topology__say(plan, "%s%s", i == 0 ? " (" : ", ",
                      rsm_addr_format(&r->addr, a, RSM_ADDR_STRLEN));
        if (!from)
            continue;
        if (r->info->role == RSM_ROLE_MASTER)
            topology__say(plan, " is a master");
        else
            topology__say(
                plan, " follows %s",
                rsm_addr_format(&r->info->master, b, RSM_ADDR_STRLEN));
    }
    if (plan->n_repoint > 0)
        topology__say(plan, ")");
}

/* "; 2 unreachable: a, b" and the same for unknown roles. */
static void topology__say_left_out(const struct rsm_candidate *c, size_t n,
                                   struct rsm_plan *plan)
{
    char a[RSM_ADDR_STRLEN];
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        if (!c[i].reachable || c[i].info == NULL)
            topology__say(plan, "%s%s", k++ == 0 ? "; unreachable: " : ", ",
                          rsm_addr_format(&c[i].addr, a, RSM_ADDR_STRLEN));
    }
    k = 0;
    for (size_t i = 0; i < n; i++) {
        if (topology__is_role(&c[i], RSM_ROLE_UNKNOWN))
            topology__say(plan, "%s%s",
                          k++ == 0 ? "; unknown role, left alone: " : ", ",
                          rsm_addr_format(&c[i].addr, a, RSM_ADDR_STRLEN));
    }
}

/* --- the cases --- */

/* Exactly one reachable master m: HEALTHY or REPOINT. */
static void topology__decide_one_master(const struct rsm_candidate *c, size_t n,
                                        size_t m, struct rsm_plan *plan)
{
    char a[RSM_ADDR_STRLEN];
    size_t following = 0, syncing = 0;

    plan->master = (long)m;
    topology__collect_repoint(c, n, plan);
    for (size_t i = 0; i < n; i++) {
        if (i != m && topology__follows(&c[i], &c[m]))
            following++;
    }
    if (plan->n_repoint == 0) {
        plan->verdict = RSM_VERDICT_HEALTHY;
        topology__say(plan, "healthy: master %s, %zu replica%s following it",
                      rsm_addr_format(&c[m].addr, a, RSM_ADDR_STRLEN),
                      following, following == 1 ? "" : "s");
        for (size_t i = 0; i < n; i++) {
            const struct rsm_info *info = c[i].info;

            if (i == m || !topology__follows(&c[i], &c[m]) ||
                (info->link_up && !info->sync_in_progress))
                continue;
            topology__say(plan, "%s%s",
                          syncing++ == 0 ? "; still syncing: " : ", ",
                          rsm_addr_format(&c[i].addr, a, RSM_ADDR_STRLEN));
        }
        topology__say(plan, "; nothing to do");
    } else {
        plan->verdict = RSM_VERDICT_REPOINT;
        topology__say(
            plan,
            "master %s is up; %zu instance%s not following it, re-pointing",
            rsm_addr_format(&c[m].addr, a, RSM_ADDR_STRLEN), plan->n_repoint,
            plan->n_repoint == 1 ? "" : "s");
        topology__say_repoint_list(c, true, plan);
    }
    topology__say_left_out(c, n, plan);
}

/* A reachable replica whose link is up to a master we cannot reach here
 * means that master is alive: promoting would make two masters. Returns its
 * index or -1. */
static long topology__find_live_master_elsewhere(const struct rsm_candidate *c,
                                                 size_t n)
{
    for (size_t i = 0; i < n; i++) {
        long m;

        if (!topology__is_role(&c[i], RSM_ROLE_REPLICA) || !c[i].info->link_up)
            continue;
        m = topology__find_addr(c, n, &c[i].info->master);
        if (m < 0 || !c[m].reachable || c[m].info == NULL)
            return (long)i;
    }
    return -1;
}

/* Which excluded candidates topology__say_exclusions() lists. */
enum excl_filter { ALL, MASTERS, REACHABLE };

/* lead + "b: priority-zero, c: unreachable" + tail, over the excluded
 * candidates that pass the filter; nothing if none does. The full reasons
 * are in plan->ranking. */
static void topology__say_exclusions(const struct rsm_candidate *c,
                                     enum excl_filter filter, const char *lead,
                                     const char *tail, struct rsm_plan *plan)
{
    char a[RSM_ADDR_STRLEN];
    size_t k = 0;

    for (size_t i = 0; i < plan->n_ranked; i++) {
        const struct rsm_rank *r = &plan->ranking[i];
        const struct rsm_candidate *x = &c[r->index];

        if (r->excluded == RSM_EXCL_NONE ||
            (filter == MASTERS && !topology__is_role(x, RSM_ROLE_MASTER)) ||
            (filter == REACHABLE && r->excluded == RSM_EXCL_UNREACHABLE))
            continue;
        topology__say(plan, "%s%s: %s", k++ == 0 ? lead : ", ",
                      rsm_addr_format(&x->addr, a, RSM_ADDR_STRLEN),
                      rsm_exclusion_str(r->excluded));
    }
    if (k > 0)
        topology__say(plan, "%s", tail);
}

/* No reachable master: MASTER_ELSEWHERE, NO_CANDIDATE or PROMOTE. */
static void topology__decide_no_master(const struct rsm_candidate *c, size_t n,
                                       size_t n_eligible, struct rsm_plan *plan)
{
    char a[RSM_ADDR_STRLEN], b[RSM_ADDR_STRLEN];
    long live = topology__find_live_master_elsewhere(c, n);
    const struct rsm_info *best;

    if (live >= 0) {
        const struct rsm_info *info = c[live].info;

        plan->verdict = RSM_VERDICT_MASTER_ELSEWHERE;
        topology__say(
            plan,
            "no listed master is reachable, but replica %s reports its link "
            "up to master %s (%s): the master is alive, refusing to promote",
            rsm_addr_format(&c[live].addr, a, RSM_ADDR_STRLEN),
            rsm_addr_format(&info->master, b, RSM_ADDR_STRLEN),
            topology__find_addr(c, n, &info->master) < 0
                ? "not in the list"
                : "listed, unreachable here");
        return;
    }
    if (n_eligible == 0) {
        plan->verdict = RSM_VERDICT_NO_CANDIDATE;
        topology__say(plan, "no reachable master and no eligible replica");
        topology__say_exclusions(c, ALL, " (", ")", plan);
        return;
    }
    plan->verdict = RSM_VERDICT_PROMOTE;
    plan->master = (long)plan->ranking[0].index;
    plan->promote = true;
    topology__collect_repoint(c, n, plan);
    best = c[plan->master].info;
    topology__say(
        plan,
        "no reachable master; promoting %s (best of %zu eligible: priority "
        "%d, offset %" PRId64 ")",
        rsm_addr_format(&c[plan->master].addr, a, RSM_ADDR_STRLEN), n_eligible,
        best->priority, best->slave_repl_offset);
    topology__say_exclusions(c, REACHABLE, "; not eligible: ", "", plan);
    topology__say(plan, "; re-pointing %zu instance%s", plan->n_repoint,
                  plan->n_repoint == 1 ? "" : "s");
    topology__say_repoint_list(c, false, plan);
    topology__say_left_out(c, n, plan);
}

/* Several reachable masters: keep the best-ranked one. */
static void topology__decide_many_masters(const struct rsm_candidate *c,
                                          size_t n, size_t n_masters,
                                          size_t n_eligible,
                                          struct rsm_plan *plan)
{
    char a[RSM_ADDR_STRLEN];
    long keep = -1;

    for (size_t i = 0; i < n_eligible && keep < 0; i++) {
        if (topology__is_role(&c[plan->ranking[i].index], RSM_ROLE_MASTER))
            keep = (long)plan->ranking[i].index;
    }
    if (keep < 0) {
        plan->verdict = RSM_VERDICT_NO_CANDIDATE;
        topology__say(plan, "%zu reachable masters and none of them eligible",
                      n_masters);
        topology__say_exclusions(c, MASTERS, " (", ")", plan);
        return;
    }
    plan->verdict = RSM_VERDICT_MISCONFIGURED;
    plan->master = keep;
    topology__collect_repoint(c, n, plan);
    topology__say(
        plan,
        "%zu reachable masters; keeping %s (best ranked: offset %" PRId64
        ") and re-pointing %zu instance%s",
        n_masters, rsm_addr_format(&c[keep].addr, a, RSM_ADDR_STRLEN),
        c[keep].info->master_repl_offset, plan->n_repoint,
        plan->n_repoint == 1 ? "" : "s");
    topology__say_repoint_list(c, true, plan);
    topology__say_left_out(c, n, plan);
}

/* --- public --- */

int rsm_topology_decide(const struct rsm_candidate *c, size_t n,
                        const struct rsm_policy_config *cfg,
                        struct rsm_plan *plan)
{
    size_t n_masters = 0, n_reachable = 0, n_eligible, m = 0;
    int rv;

    assert(cfg != NULL && plan != NULL);
    memset(plan, 0, sizeof *plan);
    plan->verdict = RSM_VERDICT_UNREACHABLE;
    plan->master = -1;
    if (n > RSM_TOPOLOGY_MAX) {
        topology__say(plan, "%zu endpoints, at most %d supported", n,
                      RSM_TOPOLOGY_MAX);
        return RSM_EINVAL;
    }
    rv = topology__check_distinct(c, n, plan);
    if (rv != 0)
        return rv;
    plan->n_ranked = n;
    n_eligible = rsm_policy_rank(c, n, cfg, plan->ranking);
    for (size_t i = 0; i < n; i++) {
        if (c[i].reachable && c[i].info != NULL)
            n_reachable++;
        if (topology__is_role(&c[i], RSM_ROLE_MASTER)) {
            n_masters++;
            m = i;
        }
    }
    if (n_reachable == 0) {
        if (n == 0)
            topology__say(plan, "no endpoints given; nothing to do");
        else
            topology__say(
                plan, "none of the %zu endpoints answered INFO; nothing to do",
                n);
    } else if (n_masters == 1) {
        topology__decide_one_master(c, n, m, plan);
    } else if (n_masters == 0) {
        topology__decide_no_master(c, n, n_eligible, plan);
    } else {
        topology__decide_many_masters(c, n, n_masters, n_eligible, plan);
    }
    return 0;
}

const char *rsm_verdict_str(enum rsm_verdict v)
{
    switch (v) {
    case RSM_VERDICT_HEALTHY:
        return "healthy";
    case RSM_VERDICT_REPOINT:
        return "repoint";
    case RSM_VERDICT_PROMOTE:
        return "promote";
    case RSM_VERDICT_MISCONFIGURED:
        return "misconfigured";
    case RSM_VERDICT_MASTER_ELSEWHERE:
        return "master-elsewhere";
    case RSM_VERDICT_NO_CANDIDATE:
        return "no-candidate";
    case RSM_VERDICT_UNREACHABLE:
        return "unreachable";
    }
    return "unknown";
}

bool rsm_plan_acts(const struct rsm_plan *plan)
{
    return plan->promote || plan->n_repoint > 0;
}
