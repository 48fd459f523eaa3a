/* monitor_config.c - the monitor's configuration: defaults, and the
 * --monitor NAME=host:port,... groups (see monitor.h). */
#include "rsm/monitor.h"
#include "rsm/err.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Configuration
 * ---------------------------------------------------------------------- */

void rsm_monitor_config_init(struct rsm_monitor_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->probe_interval_ms = 100;
    rsm_detector_config_init(&cfg->detector);
    cfg->detector.quorum = 0; /* majority of the agents */
    rsm_planner_config_init(&cfg->planner);
    rsm_hook_config_init(&cfg->hook);
    rsm_fence_config_init(&cfg->fence);
}

void rsm_monitor_config_free(struct rsm_monitor_config *cfg)
{
    free(cfg->groups);
    cfg->groups = NULL;
    cfg->n_groups = 0;
    cfg->cap_groups = 0;
}

/* Room for one more group in cfg->groups, doubling. */
static int monitor__grow_groups(struct rsm_monitor_config *cfg)
{
    struct rsm_monitor_group_config *g;
    unsigned cap;

    if (cfg->n_groups < cfg->cap_groups)
        return 0;
    cap = cfg->cap_groups ? cfg->cap_groups * 2 : 4;
    if (cap > RSM_MAX_GROUPS)
        cap = RSM_MAX_GROUPS;
    g = realloc(cfg->groups, cap * sizeof *g);
    if (g == NULL)
        return RSM_ENOMEM;
    cfg->groups = g;
    cfg->cap_groups = cap;
    return 0;
}

static int monitor__check_group_name(const char *name, size_t n, char *errmsg,
                                     size_t errlen)
{
    if (n == 0)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "empty group name");
    if (n >= RSM_GROUP_NAME_MAX)
        return rsm_errf(RSM_EINVAL, errmsg, errlen,
                        "group name longer than %d characters",
                        RSM_GROUP_NAME_MAX - 1);
    for (size_t i = 0; i < n; i++) {
        if (!isgraph((unsigned char)name[i]))
            return rsm_errf(RSM_EINVAL, errmsg, errlen,
                            "group name must be printable without spaces");
    }
    return 0;
}

int rsm_monitor_check_group_name(const char *name, char *errmsg, size_t errlen)
{
    return monitor__check_group_name(name, strnlen(name, RSM_GROUP_NAME_MAX),
                                     errmsg, errlen);
}

int rsm_monitor_parse_group(struct rsm_monitor_config *cfg, const char *text,
                            char *errmsg, size_t errlen)
{
    const char *eq = strchr(text, '=');
    struct rsm_monitor_group_config gc;
    char buf[4096], *save = NULL, *tok;
    int rv;

    if (eq == NULL)
        return rsm_errf(RSM_EINVAL, errmsg, errlen,
                        "'%s': expected NAME=host:port,host:port", text);
    rv = monitor__check_group_name(text, (size_t)(eq - text), errmsg, errlen);
    if (rv != 0)
        return rv;
    if (cfg->n_groups >= RSM_MAX_GROUPS)
        return rsm_errf(RSM_EINVAL, errmsg, errlen,
                        "more than %d groups (one agent watches at most %d)",
                        RSM_MAX_GROUPS, RSM_MAX_GROUPS);
    memset(&gc, 0, sizeof gc);
    memcpy(gc.name, text, (size_t)(eq - text));
    for (unsigned i = 0; i < cfg->n_groups; i++) {
        if (strcmp(cfg->groups[i].name, gc.name) == 0)
            return rsm_errf(RSM_EINVAL, errmsg, errlen,
                            "group '%s' given twice", gc.name);
    }
    if (strlen(eq + 1) >= sizeof buf)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "address list too long");
    strcpy(buf, eq + 1);
    for (tok = strtok_r(buf, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        char e[RSM_ERRMSG_SIZE];
        struct rsm_addr a;
        if (gc.n_addrs == RSM_MAX_MEMBERS)
            return rsm_errf(RSM_EINVAL, errmsg, errlen,
                            "group '%s': more than %d instances", gc.name,
                            RSM_MAX_MEMBERS);
        if (rsm_addr_parse(tok, &a, e, sizeof e) != 0)
            return rsm_errf(RSM_EINVAL, errmsg, errlen, "group '%s': %s",
                            gc.name, e);
        for (unsigned i = 0; i < gc.n_addrs; i++) {
            if (rsm_addr_equal(&gc.addrs[i], &a))
                return rsm_errf(RSM_EINVAL, errmsg, errlen,
                                "group '%s': %s listed twice", gc.name, tok);
        }
        gc.addrs[gc.n_addrs++] = a;
    }
    if (gc.n_addrs == 0)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "group '%s': no instances",
                        gc.name);
    if (monitor__grow_groups(cfg) != 0)
        return rsm_errf(RSM_ENOMEM, errmsg, errlen,
                        "out of memory for %u groups", cfg->n_groups + 1);
    cfg->groups[cfg->n_groups++] = gc;
    return 0;
}
