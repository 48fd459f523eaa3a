/* sentinel_config.h - Sentinel's administrative commands on the client
 * port: SENTINEL SET, SENTINEL RESET and SENTINEL CONFIG.
 *
 * The API (api.c) dispatches them here with a narrow view of itself
 * (struct rsm_sentinel_config_call): the committed state, the reply, and
 * how to get a change committed. The rules are in the core
 * (groupconf.h for SET, globalconf.h for CONFIG); this module parses the
 * request, answers what it can at once and hands an entry to commit.
 *
 *   SENTINEL SET <name> <option> <value> [<option> <value> ...]
 *       down-after-milliseconds, quorum, failover-timeout, parallel-syncs:
 *       all the pairs are checked first (one bad pair: its error, nothing
 *       changes; Sentinel applies the pairs before a bad one), then one
 *       SetGroupConfig entry carries them through the log; +OK once it is
 *       committed. A follower passes the request on to the leader (after
 *       checking it: a refused option, auth-pass above all, never leaves
 *       the agent). The monitor of the acting leader uses the group's
 *       settings over the flags (monitor.h); SENTINEL MASTER shows them.
 *   SENTINEL RESET <pattern>
 *       the number of groups whose name matches the glob pattern, as
 *       Sentinel answers; nothing is reset, because nothing here is what
 *       Sentinel's reset forgets: replicas are the instances the group
 *       was configured with (not discovered ones that may have gone), the
 *       other "sentinels" are the Raft members (RSM MEMBER REMOVE forgets
 *       one), and a failover's state is in the log, where an in-flight
 *       failover is resumed or aborted by its timeout, never dropped (a
 *       safety rule). Any agent answers.
 *   SENTINEL CONFIG GET <pattern> | SET <param> <value>
 *       see globalconf.h; answered by the agent asked, nothing through
 *       the log.
 *
 * SENTINEL MONITOR and REMOVE are not here: they commit groups added and
 * dropped (api_sentinel.c).
 *
 * No value is logged but the numbers of SENTINEL SET. */
#ifndef RSM_SENTINEL_CONFIG_H
#define RSM_SENTINEL_CONFIG_H

#include <stdbool.h>

#include "rsm/entry.h"
#include "rsm/fsm.h"
#include "rsm/globalconf.h"
#include "rsm/resp_server.h"
#include "sentinel.h"

/* One request, as the API hands it over. Plain value, pointers borrowed
 * for the call. */
struct rsm_sentinel_config_call {
    const struct rsm_fsm *fsm; /* committed state (NULL: none) */
    struct rsm_resp_reply *r;  /* where to answer */
    const struct rsm_resp_request *req;
    struct rsm_globalconf self; /* this agent's settings, for CONFIG */
    /* Get e committed and answer the client once it is (the leader), or
     * pass the request on to the leader and relay its answer (a
     * follower); returns the reply status. e is only valid during the
     * call. */
    enum rsm_resp_status (*commit)(void *arg, const struct rsm_entry *e);
    void *arg;
};

enum rsm_resp_status
rsm_sentinel_config_set(const struct rsm_sentinel_config_call *c);
enum rsm_resp_status
rsm_sentinel_config_reset(const struct rsm_sentinel_config_call *c);
enum rsm_resp_status
rsm_sentinel_config_config(const struct rsm_sentinel_config_call *c);

/* The knobs Sentinel's replies show for group g: k (the agent's flags)
 * with g's committed settings over them. */
void rsm_sentinel_config_knobs(const struct rsm_group *g,
                               struct rsm_sentinel_knobs *k);

#endif /* RSM_SENTINEL_CONFIG_H */
