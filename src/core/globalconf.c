/* globalconf.c - SENTINEL CONFIG GET / SET's parameters (see
 * globalconf.h). */
#include "rsm/globalconf.h"
#include "rsm/err.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Redis's names of the log levels, by enum rsm_globalconf_loglevel. */
static const char *const level_names[] = {"debug", "notice", "warning",
                                          "nothing"};

static void globalconf__value_of(const struct rsm_globalconf *c,
                                 const char *name, char *out, size_t len)
{
    if (strcmp(name, "resolve-hostnames") == 0 ||
        strcmp(name, "announce-hostnames") == 0)
        snprintf(out, len, "yes");
    else if (strcmp(name, "announce-ip") == 0)
        snprintf(out, len, "%s", c->announce.port ? c->announce.host : "");
    else if (strcmp(name, "announce-port") == 0)
        snprintf(out, len, "%u", (unsigned)c->announce.port);
    else if (strcmp(name, "sentinel-pass") == 0)
        snprintf(out, len, "%s", c->agents_password ? "(hidden)" : "");
    else if (strcmp(name, "loglevel") == 0)
        snprintf(out, len, "%s",
                 (unsigned)c->log_level <= RSM_GLOBALCONF_LOG_ERROR
                     ? level_names[c->log_level]
                     : "notice");
    else
        out[0] = '\0'; /* sentinel-user */
}

/* Sentinel's order, then 7.2's loglevel. */
static const char *const params[RSM_GLOBALCONF_PARAMS] = {
    "resolve-hostnames", "announce-hostnames", "announce-ip", "announce-port",
    "sentinel-user",     "sentinel-pass",      "loglevel",
};

size_t rsm_globalconf_get(const struct rsm_globalconf *c, const char *pattern,
                          struct rsm_globalconf_pair *out)
{
    size_t n = 0;

    for (size_t i = 0; i < RSM_GLOBALCONF_PARAMS; i++) {
        if (fnmatch(pattern, params[i], FNM_CASEFOLD) != 0)
            continue;
        out[n].name = params[i];
        globalconf__value_of(c, params[i], out[n].value, sizeof out[n].value);
        n++;
    }
    return n;
}

/* "yes"/"no" (case-insensitive): 1, 0, or -1 for anything else. */
static int globalconf__yes_no(const char *v)
{
    if (strcasecmp(v, "yes") == 0)
        return 1;
    return strcasecmp(v, "no") == 0 ? 0 : -1;
}

static int globalconf__bad_value(const char *param, const char *value,
                                 char *errmsg, size_t errlen)
{
    return rsm_errf(RSM_EINVAL, errmsg, errlen,
                    "Invalid value '%.64s' to SENTINEL CONFIG SET '%s'", value,
                    param);
}

/* resolve-hostnames, announce-hostnames: only "yes" is what the agent
 * does. */
static int globalconf__set_hostnames(const char *param, const char *value,
                                     char *errmsg, size_t errlen)
{
    int v = globalconf__yes_no(value);

    if (v < 0)
        return globalconf__bad_value(param, value, errmsg, errlen);
    if (v == 0)
        return rsm_errf(RSM_EREJECTED, errmsg, errlen,
                        "%s is always yes here: instances are reached and "
                        "given to clients by the address the group has for "
                        "them (a host name is resolved on every connect)",
                        param);
    return 0;
}

static int globalconf__set_loglevel(const char *value,
                                    enum rsm_globalconf_loglevel *level,
                                    char *errmsg, size_t errlen)
{
    if (strcasecmp(value, "verbose") == 0) {
        *level = RSM_GLOBALCONF_LOG_DEBUG;
        return 0;
    }
    for (int i = 0; i <= RSM_GLOBALCONF_LOG_ERROR; i++) {
        if (strcasecmp(value, level_names[i]) == 0) {
            *level = (enum rsm_globalconf_loglevel)i;
            return 0;
        }
    }
    return globalconf__bad_value("loglevel", value, errmsg, errlen);
}

int rsm_globalconf_set(const char *param, const char *value,
                       enum rsm_globalconf_action *action,
                       enum rsm_globalconf_loglevel *log_level, char *errmsg,
                       size_t errlen)
{
    *action = RSM_GLOBALCONF_KEEP;
    if (strcasecmp(param, "resolve-hostnames") == 0)
        return globalconf__set_hostnames("resolve-hostnames", value, errmsg,
                                         errlen);
    if (strcasecmp(param, "announce-hostnames") == 0)
        return globalconf__set_hostnames("announce-hostnames", value, errmsg,
                                         errlen);
    if (strcasecmp(param, "announce-ip") == 0 ||
        strcasecmp(param, "announce-port") == 0)
        return rsm_errf(RSM_EREJECTED, errmsg, errlen,
                        "%s is set with --advertise-api on each agent: the "
                        "address is committed to the log when the agent "
                        "starts, so that no agent guesses another's",
                        strcasecmp(param, "announce-ip") == 0
                            ? "announce-ip"
                            : "announce-port");
    if (strcasecmp(param, "sentinel-user") == 0 ||
        strcasecmp(param, "sentinel-pass") == 0)
        return rsm_errf(RSM_EREJECTED, errmsg, errlen,
                        "the agents authenticate to each other with "
                        "--requirepass-file (RSM_REQUIREPASS) on each "
                        "agent; it is never set through the port");
    if (strcasecmp(param, "loglevel") == 0) {
        int rv = globalconf__set_loglevel(value, log_level, errmsg, errlen);
        if (rv == 0)
            *action = RSM_GLOBALCONF_SET_LOGLEVEL;
        return rv;
    }
    return rsm_errf(RSM_ENOTFOUND, errmsg, errlen,
                    "Invalid argument '%.64s' to SENTINEL CONFIG SET", param);
}
