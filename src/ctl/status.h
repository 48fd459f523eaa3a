/* status.h - `rsmctl status`'s pieces and what they share (private to
 * status*.c):
 *
 *   status.c           flags, one shot or --watch, the entry point
 *   status_snapshot.c  asking the agents: one look at the group
 *   status_print.c     the human output of a snapshot
 *   status_json.c      the JSON output of a snapshot
 *
 * Ownership: a struct status_snapshot is the caller's (heap: it is large);
 * status_snapshot_take() fills it, status_snapshot_free() drops the JSON
 * it holds. */
#ifndef RSM_CTL_STATUS_H
#define RSM_CTL_STATUS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "agentlink.h"
#include "ctl.h"
#include "rsm/node.h"

/* The flags of `rsmctl status`. */
struct status_options {
    bool json;
    bool watch;
    uint64_t interval_s;
    struct agentlink link;
};

/* What one member said about itself. */
struct status_view {
    uint64_t id;
    char api[RSM_ADDR_STRLEN];
    bool reachable;
    json_t *status; /* its RSM STATUS, NULL if none */
    char err[AGENTLINK_ERR_SIZE + 128];
    char misconfigured[256]; /* why this member is not who its address
                                says (identity.h), "" if it is */
};

#define STATUS_NOTES_MAX 4096

/* One look at the agent group: everything a frame shows. */
struct status_snapshot {
    json_t *answer;      /* RSM STATUS of the agent that answered, or NULL */
    struct rsm_addr who; /* the address that answered */
    size_t n;
    struct status_view views[RSM_MAX_AGENTS];
    /* the leader's own view, if it answered */
    const struct status_view *leader;
    json_t *monitor;              /* borrowed from leader->status, or NULL */
    char monitor_why[160];        /* why monitor is NULL */
    char notes[STATUS_NOTES_MAX]; /* what went wrong on the way, lines */
    int exit_code;
};

/* Ask opt's agents for RSM STATUS (the first that answers), then every
 * member it lists, all at once; what went wrong is in s->notes and, when
 * nobody answered, s->exit_code. */
void status_snapshot_take(const struct status_options *opt,
                          struct status_snapshot *s);
void status_snapshot_free(struct status_snapshot *s);

/* The snapshot as one JSON object: indented, or on one line (compact). */
void status_print_json(FILE *out, const struct status_snapshot *s,
                       bool compact);

/* The snapshot for people: who answered, the agents, each Redis group. */
void status_print_human(FILE *out, bool color, const struct status_snapshot *s);

#endif /* RSM_CTL_STATUS_H */
