/* hook_env.h - what the --on-failover hook is told: its arguments and its
 * environment, built from plain data (the hook itself is run by
 * src/monitor/hook.c).
 *
 * The hook does not inherit the agent's environment, which holds the
 * agent's secrets (RSM_REDIS_PASSWORD, RSM_REQUIREPASS,
 * RSM_CLUSTER_SECRET). Its environment is exactly:
 *   - the event: RSM_GROUP, RSM_EPOCH, RSM_OLD_MASTER, RSM_NEW_MASTER (the
 *     same values as its arguments GROUP EPOCH OLD NEW);
 *   - PATH: the agent's, or RSM_HOOK_DEFAULT_PATH when the agent has none,
 *     so that a script finds its tools (sh, curl, ...);
 *   - each variable the operator listed (--hook-env NAME, RSM_HOOK_ENV),
 *     with the agent's value, when the agent has it (an unset one is left
 *     out).
 * Nothing else: not HOME, LANG or TZ either (a hook that needs them lists
 * them), so that what a hook sees is what its operator wrote down.
 *
 * A list never holds a secret: rsm_hook_env_add() refuses the variables
 * that carry one (rsm_hook_env_is_secret()), and rsm_hook_env_build()
 * leaves them out again should a list hold one anyway. */
#ifndef RSM_HOOK_ENV_H
#define RSM_HOOK_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsm/addr.h"

/* Most variables an operator may list, and the longest name (with the
 * NUL). */
#define RSM_HOOK_ENV_MAX      32
#define RSM_HOOK_ENV_NAME_MAX 64

/* PATH of the hook when the agent has none (execvp's own fallback, without
 * the current directory). */
#define RSM_HOOK_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

/* The variables listed with --hook-env, in order, without duplicates.
 * Plain value type: zero it (or {0}) and fill it with rsm_hook_env_add(). */
struct rsm_hook_env_list {
    unsigned n;
    char names[RSM_HOOK_ENV_MAX][RSM_HOOK_ENV_NAME_MAX];
};

/* One completed failover, as the hook is told of it. Borrowed strings. */
struct rsm_hook_event {
    const char *group;
    uint64_t epoch;
    struct rsm_addr old_master;
    struct rsm_addr new_master;
};

/* The event's fields as text: the hook's arguments after its path, and
 * the values of RSM_GROUP, RSM_EPOCH, RSM_OLD_MASTER, RSM_NEW_MASTER. */
struct rsm_hook_event_text {
    char epoch[24];
    char old_master[RSM_ADDR_STRLEN];
    char new_master[RSM_ADDR_STRLEN];
};

/* Fill t from ev (the group is used as it is). */
void rsm_hook_event_format(const struct rsm_hook_event *ev,
                           struct rsm_hook_event_text *t);

/* True if the variable `name` carries a secret of the agent
 * (RSM_REDIS_PASSWORD, RSM_REQUIREPASS, RSM_CLUSTER_SECRET): never passed
 * to a hook. A new flag that reads a secret from a variable adds that
 * variable here. The variables naming a secret *file* (RSM_*_FILE) hold
 * a path, not a secret, and may be listed. */
bool rsm_hook_env_is_secret(const char *name);

/* Append the names of `text`, one name or several separated by ',' (blanks
 * around a name are ignored), to l. A name already listed, or PATH (always
 * passed), is skipped. RSM_EINVAL, with the name and the reason in errmsg,
 * for: an empty name, a name that is not [A-Za-z_][A-Za-z0-9_]* or longer
 * than RSM_HOOK_ENV_NAME_MAX - 1, a secret (rsm_hook_env_is_secret), a
 * variable the agent sets for the event (RSM_GROUP, ...), more than
 * RSM_HOOK_ENV_MAX names; l is unchanged then. */
int rsm_hook_env_add(struct rsm_hook_env_list *l, const char *text,
                     char *errmsg, size_t errlen);

/* The hook's environment (see the top of this file) from the agent's
 * environment `env` (NULL-terminated "NAME=value" strings, e.g. environ;
 * the first entry of a name counts, as for getenv), the list l and the
 * event. Order: the event's four variables, PATH, then l's variables in
 * l's order. On success *out is a NULL-terminated array whose strings live
 * in the same allocation: one free(*out) releases it. 0 or RSM_ENOMEM
 * (*out untouched). */
int rsm_hook_env_build(char *const *env, const struct rsm_hook_env_list *l,
                       const struct rsm_hook_event *ev, char ***out);

#endif /* RSM_HOOK_ENV_H */
