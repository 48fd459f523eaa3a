/* promote_report.c - `rsmctl promote`'s output: the table of what every
 * endpoint is (with its rank, or why it is excluded), and --json. */
#include "promote.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "healthy: x" -> "x" when word is "healthy" (the verdict is printed
 * already). */
const char *promote_skip_word(const char *msg, const char *word)
{
    size_t n = strlen(word);

    if (strncmp(msg, word, n) == 0 && strncmp(msg + n, ": ", 2) == 0)
        return msg + n + 2;
    return msg;
}
/* ------------------------------------------------------------------------
 * The table
 * ---------------------------------------------------------------------- */

#define N_COLS 8

static const char *const col_names[N_COLS] = {
    "ADDRESS", "ROLE", "FOLLOWS", "LINK", "OFFSET", "PRIO", "LAST-IO", "RANK",
};

struct row {
    char col[N_COLS][PROMOTE_ERR_SIZE + 64];
};

static const struct rsm_rank *promote__rank_of(const struct promote_run *run,
                                               size_t i)
{
    for (size_t k = 0; k < run->plan.n_ranked; k++) {
        if (run->plan.ranking[k].index == i)
            return &run->plan.ranking[k];
    }
    return NULL;
}

static void promote__fill_row(const struct promote_run *run, size_t i,
                              struct row *row)
{
    const struct promote_endpoint *ep = &run->ep[i];
    const struct rsm_info *in = &ep->info;
    const struct rsm_rank *rk = promote__rank_of(run, i);
    bool replica = in->role == RSM_ROLE_REPLICA;

    for (int k = 0; k < N_COLS; k++)
        strcpy(row->col[k], "-");
    snprintf(row->col[0], sizeof row->col[0], "%s", ep->name);
    if (ep->probe_status != 0) {
        snprintf(row->col[7], sizeof row->col[7], "excluded: unreachable: %s",
                 promote_skip_word(ep->probe_err, ep->name));
        return;
    }
    snprintf(row->col[1], sizeof row->col[1], "%s", rsm_role_str(in->role));
    if (replica) {
        rsm_addr_format(&in->master, row->col[2], sizeof row->col[2]);
        snprintf(row->col[3], sizeof row->col[3], "%s",
                 in->sync_in_progress ? "sync"
                 : in->link_up        ? "up"
                                      : "down");
        if (in->link_up && in->master_last_io_s >= 0)
            snprintf(row->col[6], sizeof row->col[6], "%" PRId64 "s",
                     in->master_last_io_s);
        else if (in->link_down_since_s >= 0)
            snprintf(row->col[6], sizeof row->col[6], "down %" PRId64 "s",
                     in->link_down_since_s);
    }
    if (rsm_info_offset(in) >= 0)
        snprintf(row->col[4], sizeof row->col[4], "%" PRId64,
                 rsm_info_offset(in));
    if (replica)
        snprintf(row->col[5], sizeof row->col[5], "%d", in->priority);
    if (rk != NULL && rk->rank > 0)
        snprintf(row->col[7], sizeof row->col[7], "#%u", rk->rank);
    else if (rk != NULL && rk->excluded != RSM_EXCL_NONE)
        snprintf(row->col[7], sizeof row->col[7], "excluded: %s",
                 rk->reason[0] ? rk->reason : rsm_exclusion_str(rk->excluded));
}

void promote_print_table(const struct promote_run *run)
{
    struct row *rows = calloc(run->n, sizeof *rows);
    size_t w[N_COLS];

    if (rows == NULL)
        return;
    for (int k = 0; k < N_COLS; k++)
        w[k] = strlen(col_names[k]);
    for (size_t i = 0; i < run->n; i++) {
        promote__fill_row(run, i, &rows[i]);
        for (int k = 0; k < N_COLS; k++)
            if (strlen(rows[i].col[k]) > w[k])
                w[k] = strlen(rows[i].col[k]);
    }
    for (int k = 0; k < N_COLS; k++)
        fprintf(run->human, "%-*s%s", k < N_COLS - 1 ? (int)w[k] : 0,
                col_names[k], k < N_COLS - 1 ? "  " : "\n");
    for (size_t i = 0; i < run->n; i++)
        for (int k = 0; k < N_COLS; k++)
            fprintf(run->human, "%-*s%s", k < N_COLS - 1 ? (int)w[k] : 0,
                    rows[i].col[k], k < N_COLS - 1 ? "  " : "\n");
    free(rows);
}

/* ------------------------------------------------------------------------
 * JSON
 * ---------------------------------------------------------------------- */

static json_t *promote__json_addr(const struct rsm_addr *a)
{
    char buf[RSM_ADDR_STRLEN];

    return json_string(rsm_addr_format(a, buf, sizeof buf));
}

static json_t *promote__json_instance(const struct promote_run *run, size_t i)
{
    const struct promote_endpoint *ep = &run->ep[i];
    const struct rsm_info *in = &ep->info;
    const struct rsm_rank *rk = promote__rank_of(run, i);
    bool up = ep->probe_status == 0,
         replica = up && in->role == RSM_ROLE_REPLICA;
    json_t *o = json_object();

    json_object_set_new(o, "address", json_string(ep->name));
    json_object_set_new(o, "reachable", json_boolean(up));
    json_object_set_new(o, "error",
                        up ? json_null() : json_string(ep->probe_err));
    json_object_set_new(o, "role",
                        up ? json_string(rsm_role_str(in->role)) : json_null());
    json_object_set_new(
        o, "follows", replica ? promote__json_addr(&in->master) : json_null());
    json_object_set_new(o, "link_up",
                        replica ? json_boolean(in->link_up) : json_null());
    json_object_set_new(o, "offset",
                        up && rsm_info_offset(in) >= 0
                            ? json_integer(rsm_info_offset(in))
                            : json_null());
    json_object_set_new(o, "priority",
                        replica ? json_integer(in->priority) : json_null());
    json_object_set_new(o, "last_io_s",
                        replica && in->master_last_io_s >= 0
                            ? json_integer(in->master_last_io_s)
                            : json_null());
    json_object_set_new(o, "link_down_s",
                        replica && in->link_down_since_s >= 0
                            ? json_integer(in->link_down_since_s)
                            : json_null());
    json_object_set_new(o, "run_id",
                        up ? json_string(in->run_id) : json_null());
    json_object_set_new(o, "rank",
                        rk != NULL && rk->rank > 0 ? json_integer(rk->rank)
                                                   : json_null());
    json_object_set_new(o, "excluded",
                        rk != NULL && rk->excluded != RSM_EXCL_NONE
                            ? json_string(rsm_exclusion_str(rk->excluded))
                            : json_null());
    json_object_set_new(o, "reason",
                        !up ? json_string(ep->probe_err)
                        : rk != NULL && rk->reason[0] ? json_string(rk->reason)
                                                      : json_null());
    return o;
}

void promote_print_json(const struct promote_run *run, const char *result,
                        int code)
{
    const struct rsm_plan *p = &run->plan;
    json_t *root = json_object(), *inst = json_array(), *rep = json_array();

    for (size_t i = 0; i < run->n; i++)
        json_array_append_new(inst, promote__json_instance(run, i));
    for (size_t i = 0; i < p->n_repoint; i++)
        json_array_append_new(rep, json_string(run->ep[p->repoint[i]].name));
    json_object_set_new(root, "verdict",
                        json_string(rsm_verdict_str(p->verdict)));
    json_object_set_new(root, "reason", json_string(p->reason));
    json_object_set_new(root, "master",
                        p->master >= 0 ? json_string(run->ep[p->master].name)
                                       : json_null());
    json_object_set_new(root, "promote", json_boolean(p->promote));
    json_object_set_new(root, "repoint", rep);
    json_object_set_new(root, "dry_run", json_boolean(run->opt->dry_run));
    json_object_set_new(root, "instances", inst);
    json_object_set_new(root, "steps", json_incref(run->steps));
    json_object_set_new(root, "result", json_string(result));
    json_object_set_new(root, "exit_code", json_integer(code));
    json_dumpf(root, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(root);
}
