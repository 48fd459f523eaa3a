/* hook_env.c - the --on-failover hook's arguments and environment (see
 * hook_env.h for the contract). */
#include "rsm/hook_env.h"
#include "rsm/err.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Variables that carry a secret of the agent. */
static const char *const secrets[] = {
    "RSM_REDIS_PASSWORD", /* --redis-password-file's alternative */
    "RSM_REQUIREPASS",    /* --requirepass-file's alternative */
    "RSM_CLUSTER_SECRET", /* --cluster-secret-file's alternative */
};

/* Variables the agent sets for each event, in the order of the envp. */
enum { EV_GROUP, EV_EPOCH, EV_OLD, EV_NEW, EV_COUNT };
static const char *const event_vars[EV_COUNT] = {
    [EV_GROUP] = "RSM_GROUP",
    [EV_EPOCH] = "RSM_EPOCH",
    [EV_OLD] = "RSM_OLD_MASTER",
    [EV_NEW] = "RSM_NEW_MASTER",
};

void rsm_hook_event_format(const struct rsm_hook_event *ev,
                           struct rsm_hook_event_text *t)
{
    snprintf(t->epoch, sizeof t->epoch, "%llu", (unsigned long long)ev->epoch);
    rsm_addr_format(&ev->old_master, t->old_master, sizeof t->old_master);
    rsm_addr_format(&ev->new_master, t->new_master, sizeof t->new_master);
}

bool rsm_hook_env_is_secret(const char *name)
{
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        if (strcmp(name, secrets[i]) == 0)
            return true;
    return false;
}

static bool hook_env__is_event_var(const char *name)
{
    for (int i = 0; i < EV_COUNT; i++)
        if (strcmp(name, event_vars[i]) == 0)
            return true;
    return false;
}

static bool hook_env__listed(const struct rsm_hook_env_list *l,
                             const char *name)
{
    for (unsigned i = 0; i < l->n; i++)
        if (strcmp(l->names[i], name) == 0)
            return true;
    return false;
}

/* Check one name (already trimmed); 0 or RSM_EINVAL. */
static int hook_env__check_name(const char *name, char *errmsg, size_t errlen)
{
    size_t n = strlen(name);

    if (n == 0)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "empty variable name");
    if (n >= RSM_HOOK_ENV_NAME_MAX)
        return rsm_errf(RSM_EINVAL, errmsg, errlen,
                        "variable name '%.20s...' is longer than %d", name,
                        RSM_HOOK_ENV_NAME_MAX - 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!(isalpha(c) || c == '_' || (i > 0 && isdigit(c))))
            return rsm_errf(RSM_EINVAL, errmsg, errlen,
                            "'%s' is not a variable name ([A-Za-z_]"
                            "[A-Za-z0-9_]*)",
                            name);
    }
    if (rsm_hook_env_is_secret(name))
        return rsm_errf(RSM_EINVAL, errmsg, errlen,
                        "%s holds a secret of the agent and is never "
                        "passed to the hook",
                        name);
    if (hook_env__is_event_var(name))
        return rsm_errf(RSM_EINVAL, errmsg, errlen,
                        "%s is set by the agent for each failover", name);
    return 0;
}

int rsm_hook_env_add(struct rsm_hook_env_list *l, const char *text,
                     char *errmsg, size_t errlen)
{
    struct rsm_hook_env_list out = *l;
    char name[RSM_HOOK_ENV_NAME_MAX + 1];
    const char *p = text;
    int rv;

    for (;;) {
        size_t len = strcspn(p, ",");
        const char *s = p, *e = p + len;

        while (s < e && isblank((unsigned char)*s))
            s++;
        while (e > s && isblank((unsigned char)e[-1]))
            e--;
        /* one byte over the limit is enough for hook_env__check_name()
         * to refuse */
        len = (size_t)(e - s) < sizeof name - 1 ? (size_t)(e - s)
                                                : sizeof name - 1;
        memcpy(name, s, len);
        name[len] = '\0';
        rv = hook_env__check_name(name, errmsg, errlen);
        if (rv != 0)
            return rv;
        if (strcmp(name, "PATH") != 0 && !hook_env__listed(&out, name)) {
            if (out.n == RSM_HOOK_ENV_MAX)
                return rsm_errf(RSM_EINVAL, errmsg, errlen,
                                "more than %d variables for the hook",
                                RSM_HOOK_ENV_MAX);
            memcpy(out.names[out.n++], name, len + 1);
        }
        p += strcspn(p, ",");
        if (*p == '\0')
            break;
        p++;
    }
    *l = out;
    return 0;
}

/* The value of `name` in env (the first entry), or NULL. */
static const char *hook_env__lookup(char *const *env, const char *name)
{
    size_t n = strlen(name);

    for (; env != NULL && *env != NULL; env++)
        if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
            return *env + n + 1;
    return NULL;
}

/* One "NAME=value" to write. */
struct var {
    const char *name, *value;
};

int rsm_hook_env_build(char *const *env, const struct rsm_hook_env_list *l,
                       const struct rsm_hook_event *ev, char ***out)
{
    struct var vars[EV_COUNT + 1 + RSM_HOOK_ENV_MAX];
    struct rsm_hook_event_text t;
    const char *path = hook_env__lookup(env, "PATH");
    size_t n = 0, size;
    char **envp, *p;

    rsm_hook_event_format(ev, &t);
    vars[n++] = (struct var){event_vars[EV_GROUP], ev->group};
    vars[n++] = (struct var){event_vars[EV_EPOCH], t.epoch};
    vars[n++] = (struct var){event_vars[EV_OLD], t.old_master};
    vars[n++] = (struct var){event_vars[EV_NEW], t.new_master};
    vars[n++] = (struct var){"PATH", path ? path : RSM_HOOK_DEFAULT_PATH};
    for (unsigned i = 0; i < l->n && i < RSM_HOOK_ENV_MAX; i++) {
        const char *v = hook_env__lookup(env, l->names[i]);
        /* a secret, an event variable or PATH here is a bug of the
         * caller's: left out all the same */
        if (v == NULL || rsm_hook_env_is_secret(l->names[i]) ||
            hook_env__is_event_var(l->names[i]) ||
            strcmp(l->names[i], "PATH") == 0)
            continue;
        vars[n++] = (struct var){l->names[i], v};
    }
    size = (n + 1) * sizeof *envp;
    for (size_t i = 0; i < n; i++)
        size += strlen(vars[i].name) + 1 + strlen(vars[i].value) + 1;
    envp = malloc(size);
    if (envp == NULL)
        return RSM_ENOMEM;
    p = (char *)(envp + n + 1);
    for (size_t i = 0; i < n; i++) {
        envp[i] = p;
        p += sprintf(p, "%s=%s", vars[i].name, vars[i].value) + 1;
    }
    envp[n] = NULL;
    *out = envp;
    return 0;
}
