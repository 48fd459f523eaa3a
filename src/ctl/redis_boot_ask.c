/* redis_boot_ask.c - `rsmctl redis-boot`: ask every agent for RSM STATUS
 * at once (its own small loop over rsm_redis, with AUTH when the agents
 * need a password), read a boot view out of each answer and decide. */
#include "redis_boot.h"
#include "rsm/log.h"
#include "rsm/redis.h"

#include <assert.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Asking the agents
 * ---------------------------------------------------------------------- */

struct ask {
    struct rsm_redis *link;
    unsigned *left;
    char *json; /* the reply, malloc'd, NULL if none */
    char err[RSM_ERRMSG_SIZE + 64];
};

static void redis_boot__on_status(struct rsm_redis *r,
                                  const struct rsm_redis_result *res, void *arg)
{
    struct ask *a = arg;

    (void)r;
    (*a->left)--;
    if (res->status == 0 && res->reply->type == REDIS_REPLY_STRING) {
        a->json = malloc(res->reply->len + 1);
        if (a->json != NULL) {
            memcpy(a->json, res->reply->str, res->reply->len);
            a->json[res->reply->len] = '\0';
        }
    } else {
        snprintf(a->err, sizeof a->err, "%s",
                 res->errmsg ? res->errmsg : "not a status");
    }
}

/* RSM STATUS of every agent at once. */
static void redis_boot__ask_all(const struct redis_boot_options *o,
                                struct ask *asks)
{
    static const char *const cmd[] = {"RSM", "STATUS"};
    uv_loop_t loop;
    unsigned left = 0;

    memset(asks, 0, sizeof(struct ask) * o->n_agents);
    if (uv_loop_init(&loop) != 0)
        return;
    for (size_t i = 0; i < o->n_agents; i++) {
        struct rsm_redis_config rc = {.addr = o->agents[i]};
        asks[i].left = &left;
        rc.password = o->password[0] ? o->password : NULL;
        rc.connect_timeout_ms = o->timeout_ms;
        rc.tls = o->tls.ctx;
        if (rsm_redis_create(&loop, &rc, &asks[i].link) != 0)
            continue;
        if (rsm_redis_command(asks[i].link, o->timeout_ms,
                              redis_boot__on_status, &asks[i], 2, cmd) == 0)
            left++;
    }
    while (left > 0)
        uv_run(&loop, UV_RUN_ONCE);
    for (size_t i = 0; i < o->n_agents; i++)
        if (asks[i].link != NULL)
            rsm_redis_close(asks[i].link, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}

static bool redis_boot__json_addr(json_t *j, struct rsm_addr *out)
{
    const char *s = json_string_value(j);

    return s != NULL && s[0] != '\0' && rsm_addr_parse(s, out, NULL, 0) == 0;
}

/* A view from one RSM STATUS; false if it is not one. */
static bool redis_boot__parse_view(const char *text, const char *group,
                                   struct rsm_boot_view *v)
{
    json_t *root = json_loads(text, 0, NULL), *groups, *g;
    const char *role;
    size_t i;

    memset(v, 0, sizeof *v);
    if (root == NULL)
        return false;
    role = json_string_value(json_object_get(root, "role"));
    groups = json_object_get(root, "groups");
    if (role == NULL || !json_is_array(groups)) {
        json_decref(root);
        return false;
    }
    v->agent_id = (uint64_t)json_integer_value(json_object_get(root, "id"));
    v->is_leader = strcmp(role, "leader") == 0;
    v->has_leader = json_is_object(json_object_get(root, "leader"));
    v->term = (uint64_t)json_integer_value(json_object_get(root, "term"));
    v->applied_index =
        (uint64_t)json_integer_value(json_object_get(root, "applied_index"));
    json_array_foreach(groups, i, g)
    {
        const char *name = json_string_value(json_object_get(g, "name"));
        json_t *fl = json_object_get(g, "in_flight");
        if (name == NULL || strcmp(name, group) != 0)
            continue;
        v->group_known = true;
        v->has_master =
            redis_boot__json_addr(json_object_get(g, "master"), &v->master);
        v->epoch = (uint64_t)json_integer_value(json_object_get(g, "epoch"));
        v->n_members = (unsigned)json_array_size(json_object_get(g, "members"));
        if (json_is_object(fl)) {
            v->in_flight = true;
            redis_boot__json_addr(json_object_get(fl, "new_master"),
                                  &v->in_flight_new);
        }
    }
    json_decref(root);
    return true;
}

/* One round: the views of the agents that answered, and what to do. */
bool redis_boot_round_decide(const struct redis_boot_options *o, bool data,
                             struct rsm_boot_decision *d, uint64_t *agent)
{
    struct ask asks[REDIS_BOOT_MAX_AGENTS];
    struct rsm_boot_view views[REDIS_BOOT_MAX_AGENTS];
    const struct rsm_boot_view *v;
    size_t n = 0;

    assert(o->n_agents <= REDIS_BOOT_MAX_AGENTS); /* the flags said so */
    redis_boot__ask_all(o, asks);
    for (size_t i = 0; i < o->n_agents; i++) {
        char a[RSM_ADDR_STRLEN], q[2 * sizeof asks[i].err];
        if (asks[i].json != NULL &&
            redis_boot__parse_view(asks[i].json, o->group, &views[n]))
            n++;
        else
            rsm_log(RSM_LOG_DEBUG, "boot-agent-unusable", "agent=%s error=%s",
                    rsm_addr_format(&o->agents[i], a, sizeof a),
                    rsm_log_quote(asks[i].json ? "not a status" : asks[i].err,
                                  q, sizeof q));
        free(asks[i].json);
    }
    v = rsm_boot_pick(views, n);
    if (v == NULL)
        return false;
    *agent = v->agent_id;
    rsm_boot_decide(v, &o->self, data, d);
    return true;
}
