/* agentlink.c - rsmctl's calls to agents (see agentlink.h). */
#include "agentlink.h"
#include "rsm/redis.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

struct pending {
    struct agent_call *call;
    struct rsm_redis *link;
    unsigned *left;
};

/* Deep copy of a hiredis reply; false if out of memory. */
static bool agentlink__reply_copy(struct agent_reply *dst,
                                  const redisReply *src)
{
    memset(dst, 0, sizeof *dst);
    dst->type = src->type;
    dst->integer = src->integer;
    if (src->str != NULL) {
        dst->str = malloc(src->len + 1);
        if (dst->str == NULL)
            return false;
        memcpy(dst->str, src->str, src->len);
        dst->str[src->len] = '\0';
        dst->len = src->len;
    }
    if (src->type == REDIS_REPLY_ARRAY && src->elements > 0) {
        dst->element = calloc(src->elements, sizeof *dst->element);
        if (dst->element == NULL)
            return false;
        dst->elements = src->elements;
        for (size_t i = 0; i < src->elements; i++)
            if (!agentlink__reply_copy(&dst->element[i], src->element[i]))
                return false;
    }
    return true;
}

static void agentlink__reply_free(struct agent_reply *r)
{
    for (size_t i = 0; i < r->elements; i++)
        agentlink__reply_free(&r->element[i]);
    free(r->element);
    free(r->str);
    memset(r, 0, sizeof *r);
}

static void agentlink__on_reply(struct rsm_redis *r,
                                const struct rsm_redis_result *res, void *arg)
{
    struct pending *p = arg;
    struct agent_call *c = p->call;

    (void)r;
    c->status = res->status;
    snprintf(c->err, sizeof c->err, "%s", res->errmsg ? res->errmsg : "");
    if (res->reply != NULL && !agentlink__reply_copy(&c->reply, res->reply)) {
        agentlink__reply_free(&c->reply);
        c->status = RSM_ENOMEM;
        snprintf(c->err, sizeof c->err, "out of memory");
    }
    (*p->left)--;
}

static void agentlink__start_call(uv_loop_t *loop, struct pending *p,
                                  const struct agentlink *l, int argc,
                                  const char *const *argv)
{
    struct agent_call *c = p->call;
    struct rsm_redis_config cfg = {.connect_timeout_ms = l->timeout_ms};
    char name[RSM_ADDR_STRLEN];
    int rv;

    cfg.addr = c->addr;
    cfg.password = l->password[0] != '\0' ? l->password : NULL;
    cfg.tls = l->tls.ctx;
    rv = rsm_redis_create(loop, &cfg, &p->link);
    if (rv == 0)
        rv = rsm_redis_command(p->link, l->timeout_ms, agentlink__on_reply, p,
                               argc, argv);
    if (rv != 0) {
        c->status = rv;
        snprintf(c->err, sizeof c->err, "%s: %s",
                 rsm_addr_format(&c->addr, name, sizeof name),
                 rsm_strerror(rv));
        return;
    }
    (*p->left)++;
}

int agentlink_call_all(const struct agentlink *l, struct agent_call *calls,
                       size_t n, int argc, const char *const *argv)
{
    struct pending *p = calloc(n ? n : 1, sizeof *p);
    unsigned left = 0;
    uv_loop_t loop;

    for (size_t i = 0; i < n; i++) {
        memset(&calls[i].reply, 0, sizeof calls[i].reply);
        calls[i].status = RSM_ENOMEM;
        snprintf(calls[i].err, sizeof calls[i].err, "out of memory");
    }
    if (p == NULL || uv_loop_init(&loop) != 0) {
        free(p);
        return RSM_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        p[i].call = &calls[i];
        p[i].left = &left;
        agentlink__start_call(&loop, &p[i], l, argc, argv);
    }
    while (left > 0)
        uv_run(&loop, UV_RUN_ONCE);
    for (size_t i = 0; i < n; i++)
        if (p[i].link != NULL)
            rsm_redis_close(p[i].link, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    free(p);
    return 0;
}

int agentlink_call(const struct agentlink *l, struct agent_call *call, int argc,
                   const char *const *argv)
{
    int rv = agentlink_call_all(l, call, 1, argc, argv);

    return rv != 0 ? rv : call->status;
}

void agentlink_calls_free(struct agent_call *calls, size_t n)
{
    for (size_t i = 0; i < n; i++)
        agentlink__reply_free(&calls[i].reply);
}

bool agentlink_notleader(const struct agent_call *c, uint64_t *id,
                         struct rsm_addr *api)
{
    char idbuf[24], addr[RSM_ADDR_STRLEN];
    char *end;

    if (c->status != RSM_EREPLY || c->reply.str == NULL ||
        strncmp(c->reply.str, "NOTLEADER ", 10) != 0)
        return false;
    if (sscanf(c->reply.str + 10, "%23s %263s", idbuf, addr) != 2)
        return false;
    *id = strtoull(idbuf, &end, 10);
    if (*end != '\0' || *id == 0)
        return false;
    return rsm_addr_parse(addr, api, NULL, 0) == 0;
}

int agentlink_parse_agents(const char *text, struct rsm_addr *out, size_t *n,
                           char *errmsg, size_t errlen)
{
    char item[RSM_ADDR_STRLEN + 1], err[RSM_ERRMSG_SIZE];
    const char *p = text;

    for (;;) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof item)
            return rsm_errf(RSM_EINVAL, errmsg, errlen,
                            "bad agent address list '%s'", text);
        memcpy(item, p, len);
        item[len] = '\0';
        if (*n >= AGENTLINK_MAX)
            return rsm_errf(RSM_EINVAL, errmsg, errlen, "more than %d agents",
                            AGENTLINK_MAX);
        if (rsm_addr_parse(item, &out[*n], err, sizeof err) != 0)
            return rsm_errf(RSM_EINVAL, errmsg, errlen,
                            "bad agent address '%s': %s", item, err);
        (*n)++;
        if (p[len] == '\0')
            return 0;
        p += len + 1;
    }
}

int agentlink_default_agents(struct rsm_addr *out, size_t *n, char *errmsg,
                             size_t errlen)
{
    const char *env = getenv("RSM_AGENT");

    if (env != NULL && env[0] != '\0') {
        char err[RSM_ERRMSG_SIZE];
        int rv = agentlink_parse_agents(env, out, n, err, sizeof err);
        if (rv != 0)
            return rsm_errf(rv, errmsg, errlen, "RSM_AGENT: %s", err);
        return 0;
    }
    return agentlink_parse_agents(AGENTLINK_DEFAULT, out, n, errmsg, errlen);
}

/* --- the shared flags ------------------------------------------------------
 */

int agentlink_option(struct agentlink *l, int c, const char *arg, char *errmsg,
                     size_t errlen)
{
    char err[RSM_ERRMSG_SIZE];

    switch (c) {
    case 'a':
        if (agentlink_parse_agents(arg, l->agents, &l->n, err, sizeof err) != 0)
            return rsm_errf(RSM_EINVAL, errmsg, errlen, "--agents: %s", err);
        return 0;
    case 'P':
        l->password_file = arg;
        return 0;
    case 't':
        if (rsmctl_parse_uint(arg, 1, 3600000, &l->timeout_ms) != 0)
            return rsm_errf(RSM_EINVAL, errmsg, errlen,
                            "--timeout-ms: '%s' is not 1..3600000", arg);
        return 0;
    default:
        return tlsflags_option(&l->tls, c, arg);
    }
}

int agentlink_getopt_common(struct agentlink *l, const char *prog, int c,
                            const char *arg, void (*usage)(FILE *out))
{
    char err[RSM_ERRMSG_SIZE];
    int rv;

    if (c == 'h') {
        usage(stdout);
        return -1;
    }
    rv =
        c == '?' ? RSM_ENOTFOUND : agentlink_option(l, c, arg, err, sizeof err);
    if (rv == RSM_ENOTFOUND)
        return rsmctl_usage_error(prog, "bad option");
    if (rv != 0)
        return rsmctl_usage_error(prog, "%s", err);
    return 0;
}

int agentlink_finish(struct agentlink *l, uint64_t default_timeout_ms,
                     char *errmsg, size_t errlen)
{
    char err[RSM_ERRMSG_SIZE];
    int rv;

    if (l->timeout_ms == 0)
        l->timeout_ms = default_timeout_ms;
    if (l->n == 0) {
        rv = agentlink_default_agents(l->agents, &l->n, errmsg, errlen);
        if (rv != 0)
            return rv;
    }
    rv = rsmctl_read_secret(l->password_file, AGENTLINK_PW_ENV, l->password,
                            sizeof l->password, err, sizeof err);
    if (rv != 0)
        return rsm_errf(rv, errmsg, errlen, "%s%s",
                        l->password_file ? "--password-file: " : "", err);
    return tlsflags_finish(&l->tls, errmsg, errlen);
}

void agentlink_wipe(struct agentlink *l)
{
    explicit_bzero(l->password, sizeof l->password);
}

void agentlink_free(struct agentlink *l)
{
    agentlink_wipe(l);
    tlsflags_free(&l->tls);
}

/* --- what a call came to ----------------------------------------------------
 */

bool agentlink_auth_failed(const struct agent_call *c)
{
    if (c->status == RSM_EAUTH)
        return true;
    return c->status == RSM_EREPLY && c->reply.str != NULL &&
           (strncmp(c->reply.str, "NOAUTH", 6) == 0 ||
            strncmp(c->reply.str, "WRONGPASS", 9) == 0);
}

const char *agentlink_describe(const struct agent_call *c, char *buf,
                               size_t len)
{
    char name[RSM_ADDR_STRLEN];
    const char *err = c->err;
    size_t n;

    rsm_addr_format(&c->addr, name, sizeof name);
    n = strlen(name);
    if (strncmp(err, name, n) == 0 && strncmp(err + n, ": ", 2) == 0)
        err += n + 2; /* said once is enough */
    if (c->status == RSM_EAUTH)
        snprintf(buf, len,
                 "agent %s refused the password (check --password-file "
                 "or $" AGENTLINK_PW_ENV ")",
                 name);
    else if (agentlink_auth_failed(c))
        snprintf(buf, len,
                 "agent %s requires a password: give --password-file FILE "
                 "or set $" AGENTLINK_PW_ENV,
                 name);
    else if (c->status == RSM_EREPLY)
        snprintf(buf, len, "agent %s: %s", name, c->reply.str);
    else if (c->status == RSM_ECONNECT || c->status == RSM_EREFUSED)
        snprintf(buf, len, "agent %s is down or not listening (%s)", name, err);
    else
        snprintf(buf, len, "agent %s: %s", name, err);
    return buf;
}

/* --- asking -----------------------------------------------------------------
 */

/* agentlink_ask_first(); with `change`, a timeout ends the search with
 * RSMCTL_EXIT_FAILED: the request may have been taken, and must not be
 * sent to a second agent. */
static long agentlink__ask_first(const struct agentlink *l, const char *prog,
                                 struct agent_call *c, int argc,
                                 const char *const *argv, bool change,
                                 int *exit_code)
{
    char what[AGENTLINK_ERR_SIZE + 128];

    *exit_code = RSMCTL_EXIT_UNAVAILABLE;
    for (size_t i = 0; i < l->n; i++) {
        memset(c, 0, sizeof *c);
        c->addr = l->agents[i];
        agentlink_call(l, c, argc, argv);
        if ((c->status == 0 || c->status == RSM_EREPLY) &&
            !agentlink_auth_failed(c))
            return (long)i;
        if (agentlink_auth_failed(c))
            *exit_code = RSMCTL_EXIT_AUTH;
        fprintf(stderr, "%s: %s\n", prog,
                agentlink_describe(c, what, sizeof what));
        agentlink_calls_free(c, 1);
        if (change && c->status == RSM_ETIMEOUT) {
            fprintf(stderr,
                    "%s: the request may or may not have been carried "
                    "out: check with rsmctl status\n",
                    prog);
            *exit_code = RSMCTL_EXIT_FAILED;
            return -1;
        }
    }
    return -1;
}

long agentlink_ask_first(const struct agentlink *l, const char *prog,
                         struct agent_call *c, int argc,
                         const char *const *argv, int *exit_code)
{
    return agentlink__ask_first(l, prog, c, argc, argv, false, exit_code);
}

/* A "-NOLEADER" answer: said on stderr, the reply freed, true. */
static bool agentlink__no_leader(const char *prog, struct agent_call *c,
                                 const struct rsm_addr *who)
{
    char name[RSM_ADDR_STRLEN];

    if (c->status != RSM_EREPLY || strncmp(c->reply.str, "NOLEADER", 8) != 0)
        return false;
    fprintf(stderr,
            "%s: agent %s knows no leader (no agent leader elected right "
            "now): try again\n",
            prog, rsm_addr_format(who, name, sizeof name));
    agentlink_calls_free(c, 1);
    return true;
}

int agentlink_ask_leader(const struct agentlink *l, const char *prog,
                         struct agent_call *c, int argc,
                         const char *const *argv, struct rsm_addr *answered)
{
    char first[RSM_ADDR_STRLEN], name[RSM_ADDR_STRLEN];
    char what[AGENTLINK_ERR_SIZE + 128];
    struct agentlink to_leader;
    struct rsm_addr leader;
    uint64_t leader_id;
    int code;
    long who = agentlink__ask_first(l, prog, c, argc, argv, true, &code);

    if (who < 0) {
        if (code != RSMCTL_EXIT_FAILED)
            fprintf(stderr, "%s: no agent could be reached\n", prog);
        return code;
    }
    *answered = l->agents[who];
    if (agentlink__no_leader(prog, c, answered))
        return RSMCTL_EXIT_UNAVAILABLE;
    if (!agentlink_notleader(c, &leader_id, &leader))
        return RSMCTL_EXIT_OK;
    agentlink_calls_free(c, 1);
    fprintf(stderr,
            "%s: agent at %s is not the leader; sending to leader %" PRIu64
            " at %s\n",
            prog, rsm_addr_format(answered, first, sizeof first), leader_id,
            rsm_addr_format(&leader, name, sizeof name));
    to_leader = *l;
    to_leader.n = 1;
    to_leader.agents[0] = leader;
    who = agentlink__ask_first(&to_leader, prog, c, argc, argv, true, &code);
    agentlink_wipe(&to_leader);
    if (who < 0)
        return code;
    *answered = leader;
    if (agentlink__no_leader(prog, c, answered))
        return RSMCTL_EXIT_UNAVAILABLE;
    if (agentlink_notleader(c, &leader_id, &leader)) {
        fprintf(stderr, "%s: %s\n", prog,
                agentlink_describe(c, what, sizeof what));
        agentlink_calls_free(c, 1);
        return RSMCTL_EXIT_UNAVAILABLE; /* the leadership moved meanwhile */
    }
    return RSMCTL_EXIT_OK;
}
