/* groupconf.h - a group's own failure-detection settings, committed
 * through the log (SENTINEL SET).
 *
 * redis-sentinel keeps down-after-milliseconds, quorum, failover-timeout
 * and parallel-syncs per master and changes them at run time with
 * SENTINEL SET. Here they are part of the replicated state: a
 * SetGroupConfig entry carries the settings it changes, the FSM merges
 * them into the group (so every agent, and an agent restarted from its
 * log or a snapshot, holds the same), and the monitor of the acting
 * leader overlays them on the agent's flags (--down-after-ms, --quorum,
 * --failover-timeout-ms, --parallel-syncs) for that group only.
 *
 * 0 in a field means "not set here": the flag applies. A set value stays
 * until another SENTINEL SET changes it (there is no way back to "the
 * flag"; set the flag's value).
 *
 * What SENTINEL SET also takes and this agent refuses, with why:
 *   auth-pass, auth-user   the Redis password would be replicated in clear
 *                          to every agent's log and snapshots: it comes
 *                          from --redis-password-file / --redis-user on
 *                          each agent instead;
 *   notification-script, client-reconfig-script
 *                          scripts are --on-failover, set per agent;
 *   rename-command, master-reboot-down-after-period
 *                          not supported (the agent sends its commands
 *                          under their own names; a restarted master is
 *                          judged by its run id and offset).
 *
 * Pure: plain values, no allocation. */
#ifndef RSM_GROUPCONF_H
#define RSM_GROUPCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* detector.h and planner.h include entry.h, which includes this: */
struct rsm_detector_config;
struct rsm_planner_config;

/* Ranges of the values (the bounds are allowed). */
#define RSM_GROUPCONF_MS_MAX                                                   \
    86400000                        /* down-after, failover-timeout:           \
                                       a day at most */
#define RSM_GROUPCONF_QUORUM_MAX 16 /* agents (RSM_FSM_MAX_AGENTS) */
#define RSM_GROUPCONF_SYNCS_MAX  16 /* instances (RSM_MAX_MEMBERS) */

/* Plain value; 0 = not set (the agent's flag applies). */
struct rsm_group_settings {
    int64_t down_after_ms;       /* 1..RSM_GROUPCONF_MS_MAX */
    unsigned quorum;             /* 1..RSM_GROUPCONF_QUORUM_MAX */
    int64_t failover_timeout_ms; /* 1..RSM_GROUPCONF_MS_MAX */
    unsigned parallel_syncs;     /* 1..RSM_GROUPCONF_SYNCS_MAX */
};

/* Parse one SENTINEL SET option/value pair (option case-insensitive) into
 * s (other fields untouched). Errors, with the reply text in errmsg
 * (Sentinel's wording where it has one; the value is never echoed for a
 * refused option, which may be a secret):
 *   RSM_EINVAL    a value that is not a whole number in range:
 *                 "Invalid argument '<value>' for SENTINEL SET '<opt>'";
 *   RSM_ENOTFOUND an option Sentinel does not have either:
 *                 "Unknown option or number of arguments for SENTINEL SET
 *                 '<opt>'";
 *   RSM_EREJECTED an option Sentinel has and this agent refuses (see
 *                 above), with why and what to use instead. */
int rsm_groupconf_parse(struct rsm_group_settings *s, const char *option,
                        const char *value, char *errmsg, size_t errlen);

/* The form rule of a SetGroupConfig entry and of a snapshot's settings:
 * every field 0 or in its range; with need_one, at least one set. 0 or
 * RSM_EINVAL naming the field. */
int rsm_groupconf_check(const struct rsm_group_settings *s, bool need_one,
                        char *errmsg, size_t errlen);

/* The fields set in src replace those of dst. */
void rsm_groupconf_merge(struct rsm_group_settings *dst,
                         const struct rsm_group_settings *src);

/* Overlay s on the agent's configuration (copies the caller made of its
 * flags): the detector's down_after_ms and quorum, the planner's
 * down_after_ms, failover_timeout_ms and parallel_syncs. Either pointer
 * may be NULL. */
void rsm_groupconf_apply(const struct rsm_group_settings *s,
                         struct rsm_detector_config *dc,
                         struct rsm_planner_config *pc);

/* true if both hold the same values. */
bool rsm_groupconf_equal(const struct rsm_group_settings *a,
                         const struct rsm_group_settings *b);

#endif /* RSM_GROUPCONF_H */
