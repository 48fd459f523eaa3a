/* hook.c - runs the --on-failover hook (see hook.h for the contract, and
 * hook_env.h for what the hook is told). */
#include "rsm/hook.h"
#include "rsm/err.h"
#include "rsm/log.h"

#include <assert.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

/* One hook process: allocated by rsm_hook_run, freed once both its handles
 * are closed. */
struct proc {
    struct rsm_hook *h;
    uv_process_t proc;
    uv_timer_t timer; /* the timeout; not initialized if the spawn failed */
    int open;         /* handles still to close */
    bool exited;
    struct proc *next;
};

struct rsm_hook {
    uv_loop_t *loop;
    struct rsm_hook_config cfg;
    struct proc *procs; /* running or closing */
    unsigned running;
    /* Never started: closed last by rsm_hook_stop, so that the stop
     * callback always runs from the loop, even with no hook running. */
    uv_timer_t last;
    bool stopping;
    rsm_hook_stop_cb stop_cb;
    void *stop_arg;
};

void rsm_hook_config_init(struct rsm_hook_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->timeout_ms = 30000;
}

int rsm_hook_start(uv_loop_t *loop, const struct rsm_hook_config *cfg,
                   struct rsm_hook **out, char *errmsg, size_t errlen)
{
    struct rsm_hook *h = calloc(1, sizeof *h);

    if (h == NULL)
        return rsm_errf(RSM_ENOMEM, errmsg, errlen, "out of memory");
    h->loop = loop;
    h->cfg = *cfg;
    uv_timer_init(loop, &h->last);
    h->last.data = h;
    *out = h;
    return 0;
}

unsigned rsm_hook_running(const struct rsm_hook *h)
{
    return h->running;
}

/* ------------------------------------------------------------------------
 * Stop
 * ---------------------------------------------------------------------- */

static void hook__last_closed(uv_handle_t *handle)
{
    struct rsm_hook *h = handle->data;

    if (h->stop_cb != NULL)
        h->stop_cb(h->stop_arg);
    free(h);
}

/* Stopping and nothing left open but h->last: close it. */
static void hook__maybe_done(struct rsm_hook *h)
{
    if (h->stopping && h->procs == NULL &&
        !uv_is_closing((uv_handle_t *)&h->last))
        uv_close((uv_handle_t *)&h->last, hook__last_closed);
}

void rsm_hook_stop(struct rsm_hook *h, rsm_hook_stop_cb cb, void *arg)
{
    if (h->stopping)
        return;
    h->stopping = true;
    h->stop_cb = cb;
    h->stop_arg = arg;
    for (struct proc *p = h->procs; p != NULL; p = p->next)
        if (p->open == 2 && !p->exited)
            uv_process_kill(&p->proc, SIGTERM);
    hook__maybe_done(h);
}

/* ------------------------------------------------------------------------
 * One process
 * ---------------------------------------------------------------------- */

static void hook__proc_closed(uv_handle_t *handle)
{
    struct proc *p = handle->data;
    struct rsm_hook *h = p->h;

    assert(p->open > 0);
    if (--p->open > 0)
        return;
    for (struct proc **pp = &h->procs; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    free(p);
    hook__maybe_done(h);
}

static void hook__exit_cb(uv_process_t *proc, int64_t status, int sig)
{
    struct proc *p = proc->data;

    if (status == 0 && sig == 0)
        rsm_log(RSM_LOG_INFO, "hook-done", "pid=%d", proc->pid);
    else
        rsm_log(RSM_LOG_WARN, "hook-failed", "pid=%d status=%lld signal=%d",
                proc->pid, (long long)status, sig);
    assert(p->h->running > 0 && !p->exited);
    p->exited = true;
    p->h->running--;
    uv_timer_stop(&p->timer);
    uv_close((uv_handle_t *)&p->proc, hook__proc_closed);
    uv_close((uv_handle_t *)&p->timer, hook__proc_closed);
}

static void hook__timeout_cb(uv_timer_t *t)
{
    struct proc *p = t->data;

    rsm_log(RSM_LOG_WARN, "hook-timeout", "pid=%d", p->proc.pid);
    uv_process_kill(&p->proc, SIGKILL);
}

/* uv_spawn failed: the process handle is initialized all the same and
 * must be closed. */
static int hook__spawn_failed(struct rsm_hook *h, struct proc *p, int uverr)
{
    char q[2 * RSM_HOOK_PATH_MAX];

    rsm_log(RSM_LOG_WARN, "hook-failed", "path=%s error=\"%s\"",
            rsm_log_quote(h->cfg.path, q, sizeof q), uv_strerror(uverr));
    p->open = 1;
    uv_close((uv_handle_t *)&p->proc, hook__proc_closed);
    return RSM_EIO;
}

int rsm_hook_run(struct rsm_hook *h, const struct rsm_hook_event *ev)
{
    struct rsm_hook_event_text t;
    uv_process_options_t opt;
    struct proc *p;
    char **envp = NULL;
    int rv;

    assert(!h->stopping); /* h is gone once stopped */
    if (h->cfg.path[0] == '\0')
        return 0;
    rsm_hook_event_format(ev, &t);
    p = calloc(1, sizeof *p);
    if (p == NULL || rsm_hook_env_build(environ, &h->cfg.env, ev, &envp)) {
        free(p);
        rsm_log(RSM_LOG_WARN, "hook-failed", "error=\"out of memory\"");
        return RSM_ENOMEM;
    }
    char *args[] = {h->cfg.path,  (char *)ev->group, t.epoch,
                    t.old_master, t.new_master,      NULL};
    memset(&opt, 0, sizeof opt);
    opt.file = h->cfg.path;
    opt.args = args;
    opt.env = envp;
    opt.exit_cb = hook__exit_cb;
    opt.stdio_count = 0; /* libuv opens /dev/null for 0, 1 and 2 */
    p->h = h;
    p->proc.data = p;
    p->next = h->procs;
    h->procs = p;
    rv = uv_spawn(h->loop, &p->proc, &opt);
    free(envp); /* the child has its copy */
    if (rv != 0)
        return hook__spawn_failed(h, p, rv);
    rsm_log(RSM_LOG_INFO, "hook-started",
            "pid=%d group=%s epoch=%s old=%s new=%s", p->proc.pid, ev->group,
            t.epoch, t.old_master, t.new_master);
    h->running++;
    p->open = 2;
    uv_timer_init(h->loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, hook__timeout_cb, h->cfg.timeout_ms, 0);
    return 0;
}
