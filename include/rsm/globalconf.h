/* globalconf.h - SENTINEL CONFIG GET / SET: Sentinel's global settings
 * and what each means for this agent.
 *
 * redis-sentinel 7 has a few global settings (resolve-hostnames,
 * announce-hostnames, announce-ip, announce-port, sentinel-user,
 * sentinel-pass, and from 7.2 loglevel). Here:
 *   resolve-hostnames    "yes": instances are reached by the names the
 *                        group gives (resolved on every connect); SET yes
 *                        is accepted, no refused
 *   announce-hostnames   "yes": addresses are given to clients as the
 *                        group has them (a name stays a name); likewise
 *   announce-ip,         this agent's client address as committed to the
 *   announce-port        log (AdvertiseAgent, from --advertise-api); SET
 *                        refused: it is fixed at start, so that no agent
 *                        ever guesses another's address
 *   sentinel-user        "": the agents AUTH as the default user
 *   sentinel-pass        never shown ("(hidden)" when set, "" when not);
 *                        SET of either refused: the agents' password is
 *                        --requirepass-file on each agent
 *   loglevel             this agent's log level, in Redis's names
 *                        (debug, notice = info, warning = warn, nothing =
 *                        errors only); SET changes it on this agent only,
 *                        at once (verbose is taken as debug)
 * None of them is committed through the log: each is either fixed by
 * the agents' flags (and the log where it must be the same everywhere) or,
 * like Sentinel's, a setting of the one agent asked.
 *
 * Pure: no I/O, no allocation. */
#ifndef RSM_GLOBALCONF_H
#define RSM_GLOBALCONF_H

#include <stdbool.h>
#include <stddef.h>

#include "rsm/addr.h"

#define RSM_GLOBALCONF_PARAMS    7 /* parameters GET knows */
#define RSM_GLOBALCONF_VALUE_MAX RSM_ADDR_STRLEN

/* Log levels as log.h numbers them (debug 0, info 1, warn 2, error 3). */
enum rsm_globalconf_loglevel {
    RSM_GLOBALCONF_LOG_DEBUG = 0,
    RSM_GLOBALCONF_LOG_INFO,
    RSM_GLOBALCONF_LOG_WARN,
    RSM_GLOBALCONF_LOG_ERROR,
};

/* What this agent has, for GET. Plain value. */
struct rsm_globalconf {
    struct rsm_addr announce; /* its client address as committed; port 0:
                                 not known yet */
    bool agents_password;     /* the agents AUTH to each other */
    enum rsm_globalconf_loglevel log_level;
};

/* One parameter/value pair of a GET reply. */
struct rsm_globalconf_pair {
    const char *name; /* static */
    char value[RSM_GLOBALCONF_VALUE_MAX];
};

/* The parameters whose name matches the glob pattern (case-insensitive,
 * like Sentinel's), in Sentinel's order, into out (room for
 * RSM_GLOBALCONF_PARAMS); returns how many. */
size_t rsm_globalconf_get(const struct rsm_globalconf *c, const char *pattern,
                          struct rsm_globalconf_pair *out);

/* What a SET asks this agent to do once it is accepted. */
enum rsm_globalconf_action {
    RSM_GLOBALCONF_KEEP = 0,     /* the value is what the agent does already */
    RSM_GLOBALCONF_SET_LOGLEVEL, /* *log_level to apply */
};

/* Check SET param value. 0 with *action (and *log_level for
 * SET_LOGLEVEL); else the reply text in errmsg (never the value of
 * sentinel-pass):
 *   RSM_ENOTFOUND  "Invalid argument '<param>' to SENTINEL CONFIG SET"
 *                  (Sentinel's, for a name it does not know);
 *   RSM_EINVAL     "Invalid value '<value>' to SENTINEL CONFIG SET
 *                  '<param>'" (Sentinel's);
 *   RSM_EREJECTED  a value the agent cannot take, with why and what to
 *                  use instead. */
int rsm_globalconf_set(const char *param, const char *value,
                       enum rsm_globalconf_action *action,
                       enum rsm_globalconf_loglevel *log_level, char *errmsg,
                       size_t errlen);

#endif /* RSM_GLOBALCONF_H */
