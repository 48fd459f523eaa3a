/* sentinel_config.c - SENTINEL SET, RESET and CONFIG (see
 * sentinel_config.h). */
#include "sentinel_config.h"
#include "rsm/err.h"
#include "rsm/clock.h"
#include "rsm/groupconf.h"
#include "rsm/log.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

void rsm_sentinel_config_knobs(const struct rsm_group *g,
                               struct rsm_sentinel_knobs *k)
{
    const struct rsm_group_settings *s = &g->settings;

    if (s->down_after_ms != 0)
        k->down_after_ms = s->down_after_ms;
    if (s->quorum != 0)
        k->quorum = s->quorum;
    if (s->failover_timeout_ms != 0)
        k->failover_timeout_ms = s->failover_timeout_ms;
    if (s->parallel_syncs != 0)
        k->parallel_syncs = s->parallel_syncs;
}

/* ---- SENTINEL SET -------------------------------------------------------- */

/* The settings of argv[3..]: 0, or an error answered. */
static int
sentinel_config__parse_pairs(const struct rsm_sentinel_config_call *c,
                             struct rsm_group_settings *s)
{
    const struct rsm_resp_request *req = c->req;
    char err[RSM_ERRMSG_SIZE];

    memset(s, 0, sizeof *s);
    for (int i = 3; i < req->argc; i += 2) {
        if (i + 1 >= req->argc) { /* an option without its value */
            rsm_resp_add_errorf(c->r,
                                "ERR Unknown option or number of arguments "
                                "for SENTINEL SET '%.64s'",
                                req->argv[i]);
            return RSM_EINVAL;
        }
        if (rsm_groupconf_parse(s, req->argv[i], req->argv[i + 1], err,
                                sizeof err) != 0) {
            rsm_resp_add_errorf(c->r, "ERR %s", err);
            return RSM_EINVAL;
        }
    }
    return 0;
}

enum rsm_resp_status
rsm_sentinel_config_set(const struct rsm_sentinel_config_call *c)
{
    const char *name = c->req->argv[2];
    struct rsm_group_settings s;
    struct rsm_entry *e;
    enum rsm_resp_status st;

    if (c->fsm == NULL || rsm_fsm_group(c->fsm, name) == NULL) {
        rsm_resp_add_error(c->r, "ERR No such master with that name");
        return RSM_RESP_DONE;
    }
    if (sentinel_config__parse_pairs(c, &s) != 0)
        return RSM_RESP_DONE;
    e = malloc(sizeof *e); /* large: off the stack */
    if (e == NULL) {
        rsm_resp_add_error(c->r, "ERR out of memory");
        return RSM_RESP_DONE;
    }
    rsm_entry_init(e, RSM_ENTRY_SET_GROUP_CONFIG, name, rsm_clock_wall_ms());
    e->settings = s;
    rsm_log(RSM_LOG_INFO, "sentinel-set-requested",
            "group=%s down_after_ms=%lld quorum=%u failover_timeout_ms=%lld "
            "parallel_syncs=%u",
            name, (long long)s.down_after_ms, s.quorum,
            (long long)s.failover_timeout_ms, s.parallel_syncs);
    st = c->commit(c->arg, e);
    free(e);
    return st;
}

/* ---- SENTINEL RESET ------------------------------------------------------ */

enum rsm_resp_status
rsm_sentinel_config_reset(const struct rsm_sentinel_config_call *c)
{
    const char *pattern = c->req->argv[2];
    long long n = 0;

    for (size_t i = 0; c->fsm != NULL && i < c->fsm->n_groups; i++)
        n += fnmatch(pattern, c->fsm->groups[i].name, 0) == 0;
    rsm_resp_add_int(c->r, n);
    return RSM_RESP_DONE;
}

/* ---- SENTINEL CONFIG ----------------------------------------------------- */

static void
sentinel_config__config_get(const struct rsm_sentinel_config_call *c,
                            const char *pattern)
{
    struct rsm_globalconf_pair pairs[RSM_GLOBALCONF_PARAMS];
    size_t n = rsm_globalconf_get(&c->self, pattern, pairs);

    rsm_resp_add_array(c->r, 2 * (long)n);
    for (size_t i = 0; i < n; i++) {
        rsm_resp_add_cstr(c->r, pairs[i].name);
        rsm_resp_add_cstr(c->r, pairs[i].value);
    }
}

static void
sentinel_config__config_set(const struct rsm_sentinel_config_call *c,
                            const char *param, const char *value)
{
    enum rsm_globalconf_action action;
    enum rsm_globalconf_loglevel level = RSM_GLOBALCONF_LOG_INFO;
    char err[RSM_ERRMSG_SIZE];

    if (rsm_globalconf_set(param, value, &action, &level, err, sizeof err) !=
        0) {
        rsm_resp_add_errorf(c->r, "ERR %s", err);
        return;
    }
    if (action == RSM_GLOBALCONF_SET_LOGLEVEL) {
        /* the same numbers (globalconf.h) */
        rsm_log_level_set((enum rsm_log_level)level);
        rsm_log(RSM_LOG_WARN, "config-set", "param=loglevel value=%s", value);
    }
    rsm_resp_add_status(c->r, "OK");
}

enum rsm_resp_status
rsm_sentinel_config_config(const struct rsm_sentinel_config_call *c)
{
    const struct rsm_resp_request *req = c->req;

    if (req->argc == 4 && strcasecmp(req->argv[2], "GET") == 0)
        sentinel_config__config_get(c, req->argv[3]);
    else if (req->argc == 5 && strcasecmp(req->argv[2], "SET") == 0)
        sentinel_config__config_set(c, req->argv[3], req->argv[4]);
    else
        rsm_resp_add_error(c->r, "ERR Only SENTINEL CONFIG GET <option> / "
                                 "SET <option> <value> are supported.");
    return RSM_RESP_DONE;
}
