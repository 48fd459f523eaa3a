/* policy.c - exclusion rules and the promotion order of candidates.
 *
 * The order is lexicographic over a tuple of keys, each compared by a total
 * preorder (priority, offset, contact age, run_id, address), so the whole is
 * a strict weak ordering; the address, unique per instance, makes it total.
 * The seed tool compared master_last_io_seconds_ago directly and read -1 (link
 * down) as "most recent": here unknown contact is its own key, ranked last. */
#include "rsm/policy.h"
#include "rsm/err.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* --- keys --- */

/* Seconds since the candidate last heard from its master, -1 if unknown.
 * A master is its own source of truth: age 0. */
static int64_t policy__contact_age(const struct rsm_info *info)
{
    if (info->role == RSM_ROLE_MASTER)
        return 0;
    if (info->role != RSM_ROLE_REPLICA)
        return -1;
    if (info->link_up)
        return info->master_last_io_s >= 0 ? info->master_last_io_s : -1;
    return info->link_down_since_s >= 0 ? info->link_down_since_s : -1;
}

static int policy__cmp_i64(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

/* Known ages ascending, unknown (-1) after every known one. */
static int policy__cmp_contact(int64_t a, int64_t b)
{
    if ((a < 0) != (b < 0))
        return a < 0 ? 1 : -1;
    return policy__cmp_i64(a, b);
}

/* Case-insensitive ascending, the empty run_id after every other one. */
static int policy__cmp_run_id(const char *a, const char *b)
{
    int c;

    if ((a[0] == '\0') != (b[0] == '\0'))
        return a[0] == '\0' ? 1 : -1;
    c = strcasecmp(a, b);
    return c < 0 ? -1 : c > 0 ? 1 : 0;
}

int rsm_policy_compare(const struct rsm_candidate *a,
                       const struct rsm_candidate *b)
{
    const struct rsm_info *ia = a->info, *ib = b->info;
    int c;

    assert(ia != NULL && ib != NULL);
    c = policy__cmp_i64(rsm_policy_not_synced(a, NULL, 0),
                        rsm_policy_not_synced(b, NULL, 0)); /* synced first */
    if (c != 0)
        return c;
    c = policy__cmp_i64(ia->priority, ib->priority);
    if (c != 0)
        return c;
    c = policy__cmp_i64(rsm_info_offset(ib),
                        rsm_info_offset(ia)); /* higher first */
    if (c != 0)
        return c;
    c = policy__cmp_contact(policy__contact_age(ia), policy__contact_age(ib));
    if (c != 0)
        return c;
    c = policy__cmp_run_id(ia->run_id, ib->run_id);
    if (c != 0)
        return c;
    return rsm_addr_compare(&a->addr, &b->addr);
}

/* --- exclusions --- */

void rsm_policy_config_init(struct rsm_policy_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->master_down_ms = -1;
}

static enum rsm_exclusion policy__exclude(enum rsm_exclusion e, char *reason,
                                          size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum rsm_exclusion policy__exclude(enum rsm_exclusion e, char *reason,
                                          size_t len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    rsm_verrf((int)e, reason, len, fmt, ap);
    va_end(ap);
    return e;
}

/* The link-down rule (Sentinel's): a replica whose link has been down much
 * longer than the master has been down lost contact before the failure and
 * may miss writes the others have. */
static bool policy__link_down_too_long(const struct rsm_info *info,
                                       const struct rsm_policy_config *cfg)
{
    int64_t limit_ms;

    if (cfg->master_down_ms < 0 || cfg->down_after_ms <= 0)
        return false;
    if (info->role != RSM_ROLE_REPLICA || info->link_up ||
        info->link_down_since_s < 0 ||
        info->link_down_since_s >= RSM_POLICY_NEVER_LINKED_S) /* never */
        return false;
    if (cfg->down_after_ms > (INT64_MAX - cfg->master_down_ms) / 10)
        return false; /* limit beyond any time we can represent */
    limit_ms = cfg->master_down_ms + 10 * cfg->down_after_ms;
    /* down_s * 1000 > limit_ms, without overflow for huge down_s */
    return info->link_down_since_s > limit_ms / 1000;
}

bool rsm_policy_not_synced(const struct rsm_candidate *c, char *why, size_t len)
{
    const struct rsm_info *info = c->info;
    const char *text;

    if (info == NULL || info->role != RSM_ROLE_REPLICA || info->link_up)
        return false;
    if (info->link_down_since_s < 0 ||
        info->link_down_since_s >= RSM_POLICY_NEVER_LINKED_S)
        text = "never completed a sync with the master (link never up)";
    else if (c->never_synced_seen)
        text = "never completed a sync with the master (seen following "
               "it, link never up)";
    else
        return false;
    if (why != NULL && len > 0)
        snprintf(why, len, "%s", text);
    return true;
}

static bool policy__lagging(const struct rsm_info *info,
                            const struct rsm_policy_config *cfg, int64_t *lag)
{
    if (cfg->max_lag_bytes <= 0 || cfg->reference_offset < 0)
        return false;
    *lag = cfg->reference_offset - rsm_info_offset(info);
    return *lag > cfg->max_lag_bytes;
}

enum rsm_exclusion rsm_policy_exclusion(const struct rsm_candidate *c,
                                        const struct rsm_policy_config *cfg,
                                        char *reason, size_t len)
{
    const struct rsm_info *info = c->info;
    int64_t lag = 0;

    assert(cfg != NULL);
    if (!c->reachable || info == NULL)
        return policy__exclude(RSM_EXCL_UNREACHABLE, reason, len,
                               "unreachable (no valid INFO reply)");
    if (info->loading)
        return policy__exclude(RSM_EXCL_LOADING, reason, len,
                               "loading its dataset from disk");
    if (info->priority == 0)
        return policy__exclude(
            RSM_EXCL_PRIORITY_ZERO, reason, len,
            "priority 0 (replica-priority 0 never promoted)");
    if (info->priority < 0) /* not something Redis reports; be safe */
        return policy__exclude(RSM_EXCL_PRIORITY_ZERO, reason, len,
                               "priority %d (invalid, never promoted)",
                               info->priority);
    if (rsm_info_offset(info) < 0)
        return policy__exclude(RSM_EXCL_NO_OFFSET, reason, len,
                               "no replication offset in INFO (role %s)",
                               info->role == RSM_ROLE_MASTER    ? "master"
                               : info->role == RSM_ROLE_REPLICA ? "replica"
                                                                : "unknown");
    if (cfg->max_info_age_ms > 0 && c->info_age_ms > cfg->max_info_age_ms)
        return policy__exclude(RSM_EXCL_STALE, reason, len,
                               "INFO is %" PRId64 " ms old (max %" PRId64
                               " ms)",
                               c->info_age_ms, cfg->max_info_age_ms);
    if (!cfg->allow_not_synced && rsm_policy_not_synced(c, reason, len))
        return RSM_EXCL_NOT_SYNCED;
    if (policy__link_down_too_long(info, cfg))
        return policy__exclude(
            RSM_EXCL_LINK_DOWN_TOO_LONG, reason, len,
            "link to master down for %" PRId64 " s, master down %" PRId64 " s",
            info->link_down_since_s, cfg->master_down_ms / 1000);
    if (policy__lagging(info, cfg, &lag))
        return policy__exclude(RSM_EXCL_LAGGING, reason, len,
                               "%" PRId64 " bytes behind offset %" PRId64
                               " (max %" PRId64 ")",
                               lag, cfg->reference_offset, cfg->max_lag_bytes);
    if (reason != NULL && len > 0)
        reason[0] = '\0';
    return RSM_EXCL_NONE;
}

/* --- ranking --- */

/* Insertion sort of out[0..k) by the candidates they point to. Groups are a
 * handful of instances; this needs no allocation and no qsort context. */
static void policy__sort_eligible(const struct rsm_candidate *c,
                                  struct rsm_rank *out, size_t k)
{
    for (size_t i = 1; i < k; i++) {
        size_t idx = out[i].index, j = i;

        while (j > 0 && rsm_policy_compare(&c[idx], &c[out[j - 1].index]) < 0) {
            out[j].index = out[j - 1].index;
            j--;
        }
        out[j].index = idx;
    }
}

size_t rsm_policy_rank(const struct rsm_candidate *c, size_t n,
                       const struct rsm_policy_config *cfg,
                       struct rsm_rank *out)
{
    size_t k = 0, e = 0, x;

    for (size_t i = 0; i < n; i++) {
        if (rsm_policy_exclusion(&c[i], cfg, NULL, 0) == RSM_EXCL_NONE)
            k++;
    }
    x = k;
    for (size_t i = 0; i < n; i++) {
        char reason[RSM_REASON_MAX];
        enum rsm_exclusion ex =
            rsm_policy_exclusion(&c[i], cfg, reason, sizeof reason);
        struct rsm_rank *r = ex == RSM_EXCL_NONE ? &out[e++] : &out[x++];

        r->index = i;
        r->rank = 0;
        r->excluded = ex;
        memcpy(r->reason, reason, sizeof r->reason);
    }
    policy__sort_eligible(c, out, k);
    for (size_t i = 0; i < k; i++)
        out[i].rank = (unsigned)(i + 1);
    return k;
}

const char *rsm_exclusion_str(enum rsm_exclusion e)
{
    switch (e) {
    case RSM_EXCL_NONE:
        return "none";
    case RSM_EXCL_UNREACHABLE:
        return "unreachable";
    case RSM_EXCL_LOADING:
        return "loading";
    case RSM_EXCL_PRIORITY_ZERO:
        return "priority-zero";
    case RSM_EXCL_NO_OFFSET:
        return "no-offset";
    case RSM_EXCL_STALE:
        return "stale";
    case RSM_EXCL_LINK_DOWN_TOO_LONG:
        return "link-down-too-long";
    case RSM_EXCL_LAGGING:
        return "lagging";
    case RSM_EXCL_NOT_SYNCED:
        return "not-synced";
    }
    return "unknown";
}
