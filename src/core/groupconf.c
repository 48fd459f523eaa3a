/* groupconf.c - a group's own settings: SENTINEL SET's parsing, the range
 * rules, merging and overlaying them on the flags (see groupconf.h). */
#include "rsm/groupconf.h"
#include "rsm/detector.h"
#include "rsm/err.h"
#include "rsm/planner.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A whole decimal number in [min, max], nothing else around it. */
static bool groupconf__parse_range(const char *s, long long min, long long max,
                                   long long *out)
{
    char *end;
    long long v;

    if (s == NULL || *s == '\0' || *s == ' ' || *s == '+')
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Options of Sentinel's SENTINEL SET that this agent refuses, and why. */
static const struct {
    const char *option;
    const char *why;
} refused[] = {
    {"auth-pass", "the Redis password is not replicated through the log (it "
                  "would sit in clear in every agent's log and snapshots): "
                  "give it to each agent with --redis-password-file or "
                  "RSM_REDIS_PASSWORD"},
    {"auth-user", "the Redis user is set on each agent with --redis-user, "
                  "like its password (--redis-password-file)"},
    {"notification-script",
     "scripts are not set through the port: use --on-failover on each "
     "agent"},
    {"client-reconfig-script",
     "scripts are not set through the port: use --on-failover on each "
     "agent"},
    {"rename-command", "not supported: the agent sends Redis's commands "
                       "under their own names"},
    {"master-reboot-down-after-period",
     "not supported: a restarted master is judged by its run id and "
     "replication offset"},
};

int rsm_groupconf_parse(struct rsm_group_settings *s, const char *option,
                        const char *value, char *errmsg, size_t errlen)
{
    long long v;

    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        if (strcasecmp(option, refused[i].option) == 0)
            return rsm_errf(RSM_EREJECTED, errmsg, errlen,
                            "SENTINEL SET '%s' refused: %s", refused[i].option,
                            refused[i].why);
    }
    if (strcasecmp(option, "down-after-milliseconds") == 0) {
        if (!groupconf__parse_range(value, 1, RSM_GROUPCONF_MS_MAX, &v))
            goto bad_value;
        s->down_after_ms = v;
    } else if (strcasecmp(option, "failover-timeout") == 0) {
        if (!groupconf__parse_range(value, 1, RSM_GROUPCONF_MS_MAX, &v))
            goto bad_value;
        s->failover_timeout_ms = v;
    } else if (strcasecmp(option, "quorum") == 0) {
        if (!groupconf__parse_range(value, 1, RSM_GROUPCONF_QUORUM_MAX, &v))
            goto bad_value;
        s->quorum = (unsigned)v;
    } else if (strcasecmp(option, "parallel-syncs") == 0) {
        if (!groupconf__parse_range(value, 1, RSM_GROUPCONF_SYNCS_MAX, &v))
            goto bad_value;
        s->parallel_syncs = (unsigned)v;
    } else {
        return rsm_errf(RSM_ENOTFOUND, errmsg, errlen,
                        "Unknown option or number of arguments for SENTINEL "
                        "SET '%.64s'",
                        option);
    }
    return 0;
bad_value:
    return rsm_errf(RSM_EINVAL, errmsg, errlen,
                    "Invalid argument '%.64s' for SENTINEL SET '%s'", value,
                    option);
}

static int groupconf__out_of_range(const char *field, long long v,
                                   long long max, char *errmsg, size_t errlen)
{
    return rsm_errf(RSM_EINVAL, errmsg, errlen,
                    "%s: %lld out of range 1-%lld (0: not set)", field, v, max);
}

int rsm_groupconf_check(const struct rsm_group_settings *s, bool need_one,
                        char *errmsg, size_t errlen)
{
    if (s->down_after_ms < 0 || s->down_after_ms > RSM_GROUPCONF_MS_MAX)
        return groupconf__out_of_range("down_after_ms",
                                       (long long)s->down_after_ms,
                                       RSM_GROUPCONF_MS_MAX, errmsg, errlen);
    if (s->failover_timeout_ms < 0 ||
        s->failover_timeout_ms > RSM_GROUPCONF_MS_MAX)
        return groupconf__out_of_range("failover_timeout_ms",
                                       (long long)s->failover_timeout_ms,
                                       RSM_GROUPCONF_MS_MAX, errmsg, errlen);
    if (s->quorum > RSM_GROUPCONF_QUORUM_MAX)
        return groupconf__out_of_range(
            "quorum", s->quorum, RSM_GROUPCONF_QUORUM_MAX, errmsg, errlen);
    if (s->parallel_syncs > RSM_GROUPCONF_SYNCS_MAX)
        return groupconf__out_of_range("parallel_syncs", s->parallel_syncs,
                                       RSM_GROUPCONF_SYNCS_MAX, errmsg, errlen);
    if (need_one && s->down_after_ms == 0 && s->failover_timeout_ms == 0 &&
        s->quorum == 0 && s->parallel_syncs == 0)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "settings: none set");
    return 0;
}

void rsm_groupconf_merge(struct rsm_group_settings *dst,
                         const struct rsm_group_settings *src)
{
    if (src->down_after_ms != 0)
        dst->down_after_ms = src->down_after_ms;
    if (src->quorum != 0)
        dst->quorum = src->quorum;
    if (src->failover_timeout_ms != 0)
        dst->failover_timeout_ms = src->failover_timeout_ms;
    if (src->parallel_syncs != 0)
        dst->parallel_syncs = src->parallel_syncs;
}

void rsm_groupconf_apply(const struct rsm_group_settings *s,
                         struct rsm_detector_config *dc,
                         struct rsm_planner_config *pc)
{
    if (dc != NULL) {
        if (s->down_after_ms != 0)
            dc->down_after_ms = s->down_after_ms;
        if (s->quorum != 0)
            dc->quorum = s->quorum;
    }
    if (pc != NULL) {
        if (s->down_after_ms != 0)
            pc->down_after_ms = s->down_after_ms;
        if (s->failover_timeout_ms != 0)
            pc->failover_timeout_ms = s->failover_timeout_ms;
        if (s->parallel_syncs != 0)
            pc->parallel_syncs = s->parallel_syncs;
    }
}

bool rsm_groupconf_equal(const struct rsm_group_settings *a,
                         const struct rsm_group_settings *b)
{
    return a->down_after_ms == b->down_after_ms && a->quorum == b->quorum &&
           a->failover_timeout_ms == b->failover_timeout_ms &&
           a->parallel_syncs == b->parallel_syncs;
}
