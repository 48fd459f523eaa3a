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
static bool reply_copy(struct agent_reply *dst, const redisReply *src)
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
            if (!reply_copy(&dst->element[i], src->element[i]))
                return false;
    }
    return true;
}

static void reply_free(struct agent_reply *r)
{
    for (size_t i = 0; i < r->elements; i++)
        reply_free(&r->element[i]);
    free(r->element);
    free(r->str);
    memset(r, 0, sizeof *r);
}

static void on_reply(struct rsm_redis *r, const struct rsm_redis_result *res,
                     void *arg)
{
    struct pending *p = arg;
    struct agent_call *c = p->call;

    (void)r;
    c->status = res->status;
    snprintf(c->err, sizeof c->err, "%s", res->errmsg ? res->errmsg : "");
    if (res->reply != NULL && !reply_copy(&c->reply, res->reply)) {
        reply_free(&c->reply);
        c->status = RSM_ENOMEM;
        snprintf(c->err, sizeof c->err, "out of memory");
    }
    (*p->left)--;
}

static void start_call(uv_loop_t *loop, struct pending *p, uint64_t timeout_ms,
                       int argc, const char *const *argv)
{
    struct agent_call *c = p->call;
    struct rsm_redis_config cfg = {.connect_timeout_ms = timeout_ms};
    char name[RSM_ADDR_STRLEN];
    int rv;

    cfg.addr = c->addr;
    rv = rsm_redis_create(loop, &cfg, &p->link);
    if (rv == 0)
        rv = rsm_redis_command(p->link, timeout_ms, on_reply, p, argc, argv);
    if (rv != 0) {
        c->status = rv;
        snprintf(c->err, sizeof c->err, "%s: %s",
                 rsm_addr_format(&c->addr, name, sizeof name),
                 rsm_strerror(rv));
        return;
    }
    (*p->left)++;
}

int agentlink_call_all(struct agent_call *calls, size_t n, uint64_t timeout_ms,
                       int argc, const char *const *argv)
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
        start_call(&loop, &p[i], timeout_ms, argc, argv);
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

int agentlink_call(struct agent_call *call, uint64_t timeout_ms, int argc,
                   const char *const *argv)
{
    int rv = agentlink_call_all(call, 1, timeout_ms, argc, argv);

    return rv != 0 ? rv : call->status;
}

void agentlink_calls_free(struct agent_call *calls, size_t n)
{
    for (size_t i = 0; i < n; i++)
        reply_free(&calls[i].reply);
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

/* --- tables -------------------------------------------------------------- */

void table_init(struct table *t, unsigned cols, const char *const *header)
{
    memset(t, 0, sizeof *t);
    assert(cols <= TABLE_MAX_COLS);
    t->cols = cols;
    table_row(t, header);
}

void table_row(struct table *t, const char *const *cells)
{
    char **row;

    if (t->oom)
        return;
    if (t->rows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        char ***cells_n = realloc(t->cells, cap * sizeof *cells_n);
        if (cells_n == NULL) {
            t->oom = true;
            return;
        }
        t->cells = cells_n;
        t->cap = cap;
    }
    row = calloc(t->cols, sizeof *row);
    if (row == NULL) {
        t->oom = true;
        return;
    }
    for (unsigned i = 0; i < t->cols; i++) {
        row[i] = strdup(cells[i] ? cells[i] : "");
        if (row[i] == NULL)
            t->oom = true;
    }
    t->cells[t->rows++] = row;
}

void table_print(const struct table *t, FILE *out, const char *indent)
{
    size_t w[TABLE_MAX_COLS] = {0}, total = 0;
    char *line;

    for (size_t r = 0; r < t->rows; r++)
        for (unsigned c = 0; c < t->cols; c++)
            if (t->cells[r][c] && strlen(t->cells[r][c]) > w[c])
                w[c] = strlen(t->cells[r][c]);
    for (unsigned c = 0; c < t->cols; c++)
        total += w[c] + 2;
    line = malloc(total + 1);
    if (line == NULL)
        return;
    for (size_t r = 0; r < t->rows; r++) {
        size_t o = 0;
        for (unsigned c = 0; c < t->cols; c++)
            o += (size_t)snprintf(line + o, total + 1 - o, "%-*s  ", (int)w[c],
                                  t->cells[r][c] ? t->cells[r][c] : "");
        while (o > 0 && line[o - 1] == ' ')
            o--;
        fprintf(out, "%s%.*s\n", indent, (int)o, line);
    }
    free(line);
}

void table_free(struct table *t)
{
    for (size_t r = 0; r < t->rows; r++) {
        for (unsigned c = 0; c < t->cols; c++)
            free(t->cells[r][c]);
        free(t->cells[r]);
    }
    free(t->cells);
    memset(t, 0, sizeof *t);
}
