/* api_command.c - introspection commands of the client port: INFO and
 * ROLE, HELP of each command family, and COMMAND (COUNT, LIST, DOCS,
 * INFO), all read from the command table (api_dispatch.c). */
#include "api_int.h"
#include "events.h"
#include "rsm/cmddoc.h"
#include "sentinel.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* =====================================================================
 * INFO and ROLE
 * ===================================================================== */

/* The "# Sentinel" lines of every group with a master; *out is malloc'd
 * (NULL when there is none). */
static size_t api__sentinel_masters(struct rsm_api *a,
                                    struct rsm_api_sentinel_master **out)
{
    const struct rsm_fsm *fsm = api__fsm_of(a);
    struct rsm_sentinel_view *v = malloc(sizeof *v);
    size_t n = 0;

    *out = fsm && fsm->n_groups ? calloc(fsm->n_groups, sizeof **out) : NULL;
    if (*out == NULL || v == NULL) {
        free(v);
        return 0;
    }
    for (size_t i = 0; i < fsm->n_groups; i++) {
        rsm_events_view(a->events, &fsm->groups[i], v);
        if (!v->has_master)
            continue;
        (*out)[n].name = fsm->groups[i].name;
        (*out)[n].status = rsm_sentinel_status(v);
        (*out)[n].master = v->master;
        (*out)[n].slaves = rsm_sentinel_n_replicas(v);
        n++;
    }
    free(v);
    return n;
}

enum rsm_resp_status api__cmd_info(const struct api_call *x)
{
    struct rsm_node_status st;
    struct rsm_api_server_info si;
    struct rsm_api_sentinel_master *masters = NULL;
    char *text;

    x->a->ops->get_status(x->a->node, &st);
    api__server_info(x->a, &si);
    si.n_masters = api__sentinel_masters(x->a, &masters);
    si.masters = masters;
    text = rsm_api_render_info_sections(
        &st, api__fsm_of(x->a), &si, x->req->argc - 1,
        (const char *const *)(x->req->argv + 1));
    free(masters);
    if (text == NULL) {
        rsm_resp_add_error(x->r, "ERR out of memory");
        return RSM_RESP_DONE;
    }
    rsm_resp_add_verbatim(x->r, "txt", text, strlen(text));
    free(text);
    return RSM_RESP_DONE;
}

enum rsm_resp_status api__cmd_role(const struct api_call *x)
{
    const struct rsm_fsm *fsm = api__fsm_of(x->a);
    size_t n = fsm ? fsm->n_groups : 0;

    rsm_resp_add_array(x->r, 2);
    rsm_resp_add_cstr(x->r, "sentinel");
    rsm_resp_add_array(x->r, (long)n);
    for (size_t i = 0; i < n; i++)
        rsm_resp_add_cstr(x->r, fsm->groups[i].name);
    return RSM_RESP_DONE;
}

/* =====================================================================
 * HELP of a command family
 * ===================================================================== */

/* The usage of c in its family's HELP: its help text without the family
 * word and without the " -- " remark ("(no subcommand)" for the family
 * word alone, as Redis says). */
static void api__help_usage(const struct api_cmd *c, char *buf, size_t len)
{
    const char *h = c->help, *dash = strstr(h, " -- ");
    size_t w = strlen(c->words[0]);
    int n;

    if (strncasecmp(h, c->words[0], w) == 0 && (h[w] == ' ' || h[w] == '\0'))
        h += h[w] == ' ' ? w + 1 : w;
    n = (int)(dash != NULL && dash >= h ? (size_t)(dash - h) : strlen(h));
    snprintf(buf, len, "%.*s", n, n > 0 ? h : "(no subcommand)");
}

/* The description line of c in HELP: its doc (cmddoc.h), else its " -- "
 * remark. */
static void api__help_line(const struct api_cmd *c, char *buf, size_t len)
{
    char name[64];
    const struct rsm_cmddoc *d;
    const char *dash = strstr(c->help, " -- ");

    api__cmd_name(c, api__n_words(c), name, sizeof name);
    d = rsm_cmddoc_find(name);
    snprintf(buf, len, "    %s",
             d != NULL      ? d->summary
             : dash != NULL ? dash + 4
                            : "");
}

/* Is c listed in the HELP of family (its HELP entry comes last, as
 * Redis's own line)? */
static bool api__in_help(const struct api_cmd *c, const char *family)
{
    return strcasecmp(c->words[0], family) == 0 &&
           !(api__n_words(c) == 2 && strcasecmp(c->words[1], "HELP") == 0);
}

/* HELP of a command family in Redis's form: a header line, then every
 * entry's usage with its description indented below, HELP last. */
enum rsm_resp_status api__cmd_help(const struct api_call *x)
{
    const char *family = x->req->argv[0];
    char buf[320];
    long n = 3;

    for (size_t i = 0; i < api__n_commands; i++)
        n += api__in_help(&api__commands[i], family) ? 2 : 0;
    rsm_resp_add_array(x->r, n);
    snprintf(buf, sizeof buf,
             "%.32s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
             family);
    for (char *p = buf; *p != ' '; p++)
        *p = (char)toupper((unsigned char)*p);
    rsm_resp_add_status(x->r, buf);
    for (size_t i = 0; i < api__n_commands; i++) {
        if (!api__in_help(&api__commands[i], family))
            continue;
        api__help_usage(&api__commands[i], buf, sizeof buf);
        rsm_resp_add_status(x->r, buf);
        api__help_line(&api__commands[i], buf, sizeof buf);
        rsm_resp_add_status(x->r, buf);
    }
    rsm_resp_add_status(x->r, "HELP");
    rsm_resp_add_status(x->r, "    Print this help.");
    return RSM_RESP_DONE;
}

/* =====================================================================
 * COMMAND: Redis's introspection, enough for redis-cli and libraries
 * ===================================================================== */

/* Is commands[i] the first entry of its top-level name? */
static bool api__first_of_name(size_t i)
{
    for (size_t k = 0; k < i; k++) {
        if (strcasecmp(api__commands[k].words[0], api__commands[i].words[0]) ==
            0)
            return false;
    }
    return true;
}

static size_t api__n_top_level(void)
{
    size_t n = 0;

    for (size_t i = 0; i < api__n_commands; i++)
        n += api__first_of_name(i);
    return n;
}

/* The entry of top-level command `name` with one word, if any. */
static const struct api_cmd *api__single_word(const char *name)
{
    for (size_t i = 0; i < api__n_commands; i++) {
        if (api__n_words(&api__commands[i]) == 1 &&
            strcasecmp(api__commands[i].words[0], name) == 0)
            return &api__commands[i];
    }
    return NULL;
}

/* Redis's arity: n = exactly n arguments (the name counted), -n = at
 * least n. A command with subcommands is -2. */
static int api__arity_of(const struct api_cmd *c)
{
    const struct api_cmd *one = api__single_word(c->words[0]);

    if (api__n_words(c) > 1 && (one == NULL || one != c))
        return -2;
    return c->min_argc == c->max_argc ? c->min_argc : -c->min_argc;
}

/* One COMMAND INFO item: [name, arity, [flags], first-key, last-key,
 * step, [acl categories], [tips], [key specs], [subcommands]]. */
static void api__command_info_item(struct rsm_resp_reply *r,
                                   const struct api_cmd *c)
{
    char name[64];

    api__cmd_name(c, 1, name, sizeof name);
    rsm_resp_add_array(r, 10);
    rsm_resp_add_cstr(r, name);
    rsm_resp_add_int(r, api__arity_of(c));
    rsm_resp_add_array(r, (c->flags & (CMD_NOAUTH | CMD_PUBSUB)) ? 1 : 0);
    if (c->flags & CMD_NOAUTH)
        rsm_resp_add_status(r, "no_auth");
    else if (c->flags & CMD_PUBSUB)
        rsm_resp_add_status(r, "pubsub");
    rsm_resp_add_int(r, 0);
    rsm_resp_add_int(r, 0);
    rsm_resp_add_int(r, 0);
    for (int i = 0; i < 4; i++)
        rsm_resp_add_array(r, 0);
}

enum rsm_resp_status api__cmd_command(const struct api_call *x)
{
    rsm_resp_add_array(x->r, (long)api__n_top_level());
    for (size_t i = 0; i < api__n_commands; i++) {
        if (api__first_of_name(i))
            api__command_info_item(x->r, &api__commands[i]);
    }
    return RSM_RESP_DONE;
}

enum rsm_resp_status api__cmd_command_count(const struct api_call *x)
{
    rsm_resp_add_int(x->r, (long long)api__n_top_level());
    return RSM_RESP_DONE;
}

enum rsm_resp_status api__cmd_command_list(const struct api_call *x)
{
    char name[64];

    rsm_resp_add_array(x->r, (long)api__n_commands);
    for (size_t i = 0; i < api__n_commands; i++) {
        api__cmd_name(&api__commands[i], api__n_words(&api__commands[i]), name,
                      sizeof name);
        rsm_resp_add_cstr(x->r, name);
    }
    return RSM_RESP_DONE;
}

/* The first entry of top-level command name, NULL if unknown. */
static const struct api_cmd *api__top_level(const char *name)
{
    for (size_t i = 0; i < api__n_commands; i++) {
        if (strcasecmp(api__commands[i].words[0], name) == 0)
            return &api__commands[i];
    }
    return NULL;
}

/* Redis's command group of c's family. */
static const char *api__doc_group(const struct api_cmd *c)
{
    static const char *const connection[] = {"AUTH", "HELLO", "PING",
                                             "QUIT", "RESET", "CLIENT"};
    const char *w = c->words[0];

    if (strcasecmp(w, "SENTINEL") == 0)
        return "sentinel";
    if (strcasestr(w, "SUBSCRIBE") != NULL)
        return "pubsub";
    for (size_t i = 0; i < sizeof connection / sizeof *connection; i++) {
        if (strcasecmp(w, connection[i]) == 0)
            return "connection";
    }
    return "server";
}

/* How many entries of c's family have subcommand words. */
static long api__subcommands_of(const struct api_cmd *c)
{
    long n = 0;

    for (size_t i = 0; i < api__n_commands; i++)
        n += api__n_words(&api__commands[i]) > 1 &&
             strcasecmp(api__commands[i].words[0], c->words[0]) == 0;
    return n;
}

/* One docs map (a flat array of pairs in RESP2): summary, since, group,
 * [complexity], and for a family's top level its [subcommands], each
 * "name|sub" with its own map. */
static void api__doc_map(struct rsm_resp_reply *r, const struct api_cmd *c,
                         int words)
{
    char name[64];
    const struct rsm_cmddoc *d;
    long subs = words == 1 ? api__subcommands_of(c) : 0;

    api__cmd_name(c, words, name, sizeof name);
    d = rsm_cmddoc_find(name);
    rsm_resp_add_array(r, 6 + (d && d->complexity ? 2 : 0) + (subs ? 2 : 0));
    rsm_resp_add_kv(r, "summary", d != NULL ? d->summary : c->help);
    rsm_resp_add_kv(r, "since", d != NULL ? d->since : "1.0.0");
    rsm_resp_add_kv(r, "group", api__doc_group(c));
    if (d != NULL && d->complexity != NULL)
        rsm_resp_add_kv(r, "complexity", d->complexity);
    if (subs == 0)
        return;
    rsm_resp_add_cstr(r, "subcommands");
    rsm_resp_add_array(r, 2 * subs);
    for (size_t i = 0; i < api__n_commands; i++) {
        const struct api_cmd *s = &api__commands[i];
        if (api__n_words(s) < 2 || strcasecmp(s->words[0], c->words[0]) != 0)
            continue;
        api__cmd_name(s, api__n_words(s), name, sizeof name);
        rsm_resp_add_cstr(r, name);
        api__doc_map(r, s, api__n_words(s));
    }
}

static void api__command_doc(struct rsm_resp_reply *r, const struct api_cmd *c)
{
    char name[64];

    api__cmd_name(c, 1, name, sizeof name);
    rsm_resp_add_cstr(r, name);
    api__doc_map(r, c, 1);
}

/* A flat array of name, docs pairs (RESP2's form of Redis's map). */
enum rsm_resp_status api__cmd_command_docs(const struct api_call *x)
{
    const struct rsm_resp_request *req = x->req;
    long n = 0;

    if (req->argc == 2) {
        rsm_resp_add_array(x->r, 2 * (long)api__n_top_level());
        for (size_t i = 0; i < api__n_commands; i++) {
            if (api__first_of_name(i))
                api__command_doc(x->r, &api__commands[i]);
        }
        return RSM_RESP_DONE;
    }
    for (int i = 2; i < req->argc; i++)
        n += api__top_level(req->argv[i]) != NULL;
    rsm_resp_add_array(x->r, 2 * n);
    for (int i = 2; i < req->argc; i++) {
        const struct api_cmd *c = api__top_level(req->argv[i]);
        if (c != NULL)
            api__command_doc(x->r, c);
    }
    return RSM_RESP_DONE;
}

enum rsm_resp_status api__cmd_command_info(const struct api_call *x)
{
    const struct rsm_resp_request *req = x->req;

    if (req->argc == 2)
        return api__cmd_command(x);
    rsm_resp_add_array(x->r, req->argc - 2);
    for (int i = 2; i < req->argc; i++) {
        const struct api_cmd *c = api__top_level(req->argv[i]);
        if (c != NULL)
            api__command_info_item(x->r, c);
        else
            rsm_resp_add_array(x->r, -1);
    }
    return RSM_RESP_DONE;
}
