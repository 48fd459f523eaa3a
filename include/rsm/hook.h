/* hook.h - the --on-failover hook: the program the acting leader runs when
 * a failover completes (the monitor calls rsm_hook_run() when a
 * CompleteFailover applies).
 *
 * Each rsm_hook_run() starts one process, nothing waits for it:
 *   - program cfg.path, arguments GROUP EPOCH OLD NEW (hook_env.h);
 *   - the environment of rsm_hook_env_build(): the event, PATH and the
 *     variables of cfg.env, never the agent's secrets;
 *   - stdin, stdout and stderr on /dev/null;
 *   - killed with SIGKILL after cfg.timeout_ms.
 * Its life is logged: hook-started (pid and event), then hook-done (exit
 * 0), hook-failed (another exit status or a signal), hook-timeout (killed);
 * a program that cannot be started is logged as hook-failed with the path
 * and the error.
 *
 * Ownership: rsm_hook_start() allocates the runner and copies cfg;
 * rsm_hook_stop() ends it. Every process handle and timer belongs to the
 * runner and is closed with uv_close before the runner is freed. */
#ifndef RSM_HOOK_H
#define RSM_HOOK_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "rsm/hook_env.h"

/* Longest program path, with the NUL. */
#define RSM_HOOK_PATH_MAX 1024

struct rsm_hook;

/* Plain value type: copy freely. */
struct rsm_hook_config {
    char path[RSM_HOOK_PATH_MAX]; /* the program; "" for none */
    uint64_t timeout_ms;          /* default 30000 */
    struct rsm_hook_env_list env; /* --hook-env, none by default */
};

/* Defaults: no program, 30 s, no extra variable. */
void rsm_hook_config_init(struct rsm_hook_config *cfg);

/* A runner for cfg (copied) on loop. 0, or RSM_ENOMEM (errmsg says so). */
int rsm_hook_start(uv_loop_t *loop, const struct rsm_hook_config *cfg,
                   struct rsm_hook **out, char *errmsg, size_t errlen);

/* Start the program for ev (its strings are copied before this returns).
 * 0 once the process runs, or when no program is configured (nothing
 * runs); RSM_ENOMEM; RSM_EIO if the program could not be started (logged
 * as hook-failed). */
int rsm_hook_run(struct rsm_hook *h, const struct rsm_hook_event *ev);

/* Processes started and not yet exited (their handles may still be
 * closing). */
unsigned rsm_hook_running(const struct rsm_hook *h);

/* Called once the runner is gone. */
typedef void (*rsm_hook_stop_cb)(void *arg);

/* Send SIGTERM to every hook still running and wait for each to exit (one
 * that ignores SIGTERM is killed at its timeout, as ever). Then, once
 * every handle is closed, cb (may be NULL) runs from a close callback of
 * the loop, never before rsm_hook_stop() returns, and the runner is freed:
 * h must not be used after this call. */
void rsm_hook_stop(struct rsm_hook *h, rsm_hook_stop_cb cb, void *arg);

#endif /* RSM_HOOK_H */
